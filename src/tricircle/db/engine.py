"""Engine and session factory for Tricircle's database (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, a busy timeout and WAL journaling, a
    server database a pool of ``pool_size`` kept connections and ``max_overflow`` more."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def engine_from_conf(database: Any) -> Engine:
    """The engine ``[database]`` of Tricircle's configuration names, with its pool limits."""
    return make_engine(database.connection, database.max_pool_size, database.max_overflow)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def database_unavailable(exc: BaseException) -> bool:
    """True if ``exc`` says the database could not be reached or dropped the connection (a
    server restarting or down, SQLite busy): an outage to wait out, not a bug. The engine's
    pre-ping replaces such connections once the server is back."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)

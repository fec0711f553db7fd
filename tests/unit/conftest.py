"""Database fixtures of the unit tests: every test using ``engine`` runs on SQLite and PostgreSQL.

PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust auth; override the server with
TRICIRCLE_TEST_PG_URL). One throwaway database serves the whole test session and is dropped at
the end; each test migrates it up and back down. Without a server the PostgreSQL cases are
skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod, utcnow

PG_SERVER_URL = os.environ.get(
    "TRICIRCLE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """URL of a PostgreSQL database created for this test session, dropped afterwards."""
    server = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"tricircle_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        server.dispose()
        message = f"PostgreSQL unreachable at {PG_SERVER_URL}: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty database: a temporary SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tricircle.sqlite'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url`` whose schema was made by the Alembic migrations (and is undone)."""
    engine = make_engine(db_url)
    migrations.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        migrations.downgrade(engine)
        engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``."""
    return make_session_factory(engine)


@pytest.fixture
def pod_id(session_factory: sessionmaker[Session]) -> str:
    """The id of a pod ``Pod1`` in ``az1``, for rows that need one."""
    with session_factory.begin() as session:
        pod = Pod(region_name="Pod1", az_name="az1", pod_az_name="pod1-az")
        session.add(pod)
    return pod.pod_id


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@pytest.fixture
def poll() -> Callable[..., object]:
    """``wait_until`` as a fixture: poll a predicate with a deadline, never a bare sleep."""
    return wait_until


class FakeClock:
    """A ``Clock`` that stands still until a test moves it."""

    def __init__(self) -> None:
        self.current = utcnow()

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A hand-moved clock for leases, heartbeats and backoff."""
    return FakeClock()

"""Alembic migrations of Tricircle's database, run from code (``tricircle db upgrade``).

The script directory is this package, so migrations work from an installed wheel too.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = str(Path(__file__).resolve().parent)


def make_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at this package; ``connection`` is handed to ``env.py``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database up to ``revision``."""
    with engine.begin() as connection:
        command.upgrade(make_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema of ``engine``'s database down to ``revision``."""
    with engine.begin() as connection:
        command.downgrade(make_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

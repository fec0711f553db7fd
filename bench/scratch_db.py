"""A throwaway PostgreSQL database, migrated to head, for one benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from tricircle.db import migrations
from tricircle.db.engine import make_engine

DEFAULT_SERVER_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(server_url: str = DEFAULT_SERVER_URL, prefix: str = "bench") -> Iterator[str]:
    """Create ``tricircle_<prefix>_<random>``, migrate it, yield its URL, drop it afterwards."""
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"tricircle_{prefix}_{uuid.uuid4().hex[:10]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

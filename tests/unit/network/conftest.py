"""Fixtures shared by the network unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory


@pytest.fixture
def sessions(tmp_path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite database of this test."""
    engine = make_engine(f"sqlite:///{tmp_path / 'tricircle.sqlite'}")
    migrations.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()

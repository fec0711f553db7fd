"""Small helpers for writing through a Session across SQLite, PostgreSQL and others."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tricircle.db.models import Base

ModelT = TypeVar("ModelT", bound=Base)


def dialect_name(session: Session) -> str:
    """Name of the database dialect behind ``session`` (``sqlite``, ``postgresql``, ...)."""
    return session.get_bind().dialect.name


def insert_unless_conflict(
    session: Session, model: type[ModelT], values: dict[str, Any]
) -> ModelT | None:
    """Insert one row; return it, or None if a unique constraint or index already holds its key.

    SQLite and PostgreSQL use ``INSERT ... ON CONFLICT DO NOTHING`` (the caller's transaction stays
    usable); other databases insert inside a savepoint and roll that back on conflict.
    """
    name = dialect_name(session)
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if name == "sqlite" else postgresql.insert
        statement = dialect_insert(model).values(**values).on_conflict_do_nothing().returning(model)
        return session.scalars(statement).one_or_none()
    try:
        with session.begin_nested():
            return session.scalars(insert(model).values(**values).returning(model)).one()
    except IntegrityError:
        return None

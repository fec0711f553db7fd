"""Queries on the gateway's volume types, their encryption specs, and on where their copies
live in the pods.

Functions take a Session and never commit; callers wrap them in ``with session.begin():``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tricircle.db.models import ResourceRouting, VolumeType, VolumeTypeEncryption
from tricircle.db.routings import ResourceType

RESOURCE_TYPE = ResourceType.VOLUME_TYPE


class VolumeTypeExists(Exception):
    """Another volume type has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Volume Type {name} already exists.")
        self.name = name


def create_volume_type(
    session: Session,
    *,
    name: str,
    description: str | None = None,
    is_public: bool = True,
    extra_specs: dict[str, str] | None = None,
) -> VolumeType:
    """A new volume type; raises VolumeTypeExists if the name is taken."""
    volume_type = VolumeType(
        name=name, description=description, is_public=is_public, extra_specs=extra_specs or {}
    )
    session.add(volume_type)
    _flush_unique(session, VolumeTypeExists(name))
    return volume_type


class EncryptionExists(Exception):
    """The type already has encryption specs."""

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type encryption for type {type_id} already exists.")
        self.type_id = type_id


def list_volume_types(session: Session, *, include_private: bool) -> list[VolumeType]:
    """Volume types by name; private ones only with ``include_private``."""
    statement = select(VolumeType).order_by(VolumeType.name)
    if not include_private:
        statement = statement.where(VolumeType.is_public.is_(True))
    return list(session.scalars(statement))


def find_volume_type(session: Session, name_or_id: str) -> VolumeType | None:
    """The volume type with this ID, else with this name, or None."""
    statement = select(VolumeType).where(
        or_(VolumeType.id == name_or_id, VolumeType.name == name_or_id)
    )
    found = list(session.scalars(statement))
    return next((t for t in found if t.id == name_or_id), found[0] if found else None)


def update_volume_type(session: Session, volume_type: VolumeType, **changes: Any) -> VolumeType:
    """Apply ``changes`` (name, description, is_public, extra_specs); VolumeTypeExists on a
    taken name."""
    for key, value in changes.items():
        setattr(volume_type, key, value)
    _flush_unique(session, VolumeTypeExists(str(changes.get("name"))))
    return volume_type


def bottom_copies(session: Session, type_id: str) -> list[ResourceRouting]:
    """The routings of a type's copies in the pods (complete ones only)."""
    statement = select(ResourceRouting).where(
        ResourceRouting.top_id == type_id,
        ResourceRouting.resource_type == RESOURCE_TYPE,
        ResourceRouting.bottom_id.is_not(None),
    )
    return list(session.scalars(statement))


def top_type_ids(session: Session, pod_id: str, bottom_ids: Collection[str]) -> dict[str, str]:
    """Bottom type ID -> top type ID, for the copies in ``pod_id`` among ``bottom_ids``."""
    if not bottom_ids:
        return {}
    statement = select(ResourceRouting.bottom_id, ResourceRouting.top_id).where(
        ResourceRouting.pod_id == pod_id,
        ResourceRouting.resource_type == RESOURCE_TYPE,
        ResourceRouting.bottom_id.in_(list(bottom_ids)),
    )
    return {bottom_id: top_id for bottom_id, top_id in session.execute(statement)}


def find_encryption(session: Session, type_id: str) -> VolumeTypeEncryption | None:
    """The type's encryption specs, or None."""
    return session.get(VolumeTypeEncryption, type_id)


def create_encryption(session: Session, type_id: str, **fields: Any) -> VolumeTypeEncryption:
    """New encryption specs for the type (provider, control_location, cipher, key_size);
    raises EncryptionExists if it has some."""
    encryption = VolumeTypeEncryption(volume_type_id=type_id, **fields)
    session.add(encryption)
    _flush_unique(session, EncryptionExists(type_id))
    return encryption


def update_encryption(
    session: Session, encryption: VolumeTypeEncryption, **changes: Any
) -> VolumeTypeEncryption:
    """Apply ``changes`` to the type's encryption specs."""
    for key, value in changes.items():
        setattr(encryption, key, value)
    session.flush()
    return encryption


def delete_encryption(session: Session, type_id: str) -> bool:
    """Drop the type's encryption specs; False if it had none."""
    result = session.execute(
        delete(VolumeTypeEncryption).where(VolumeTypeEncryption.volume_type_id == type_id)
    )
    return bool(result.rowcount)


def _flush_unique(session: Session, conflict: Exception) -> None:
    """Flush the pending changes in a savepoint; ``conflict`` is raised (and the savepoint rolled
    back) if a unique constraint refuses them."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise conflict from exc

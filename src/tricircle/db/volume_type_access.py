"""Queries on which projects may use a private volume type at the gateway.

Kept as resource routings of type ``volume_type_access`` in the top pod (no table of their own):
``top_id`` ``type_access:<type ID>:<project ID>``, ``bottom_id`` the project (``project_id`` is
left empty: the row holds nothing of the project's in any pod, quotas must not count it).
Functions take a Session and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tricircle.db import routings
from tricircle.db.models import Pod, ResourceRouting
from tricircle.db.routings import ResourceType

RESOURCE_TYPE = ResourceType.VOLUME_TYPE_ACCESS


def _top_id(type_id: str, project_id: str) -> str:
    return f"type_access:{type_id}:{project_id}"


def projects_with_access(session: Session, type_id: str) -> list[str]:
    """The projects allowed to use the type, in the order they were allowed."""
    statement = (
        select(ResourceRouting.bottom_id)
        .where(
            ResourceRouting.resource_type == RESOURCE_TYPE,
            ResourceRouting.top_id.startswith(f"type_access:{type_id}:", autoescape=True),
        )
        .order_by(ResourceRouting.id)
    )
    return [project_id for project_id in session.scalars(statement) if project_id]


def types_with_access(session: Session, project_id: str) -> set[str]:
    """The private types ``project_id`` may use."""
    statement = select(ResourceRouting.top_id).where(
        ResourceRouting.resource_type == RESOURCE_TYPE,
        ResourceRouting.bottom_id == project_id,
    )
    return {top_id.split(":")[1] for top_id in session.scalars(statement)}


def grant_access(session: Session, type_id: str, project_id: str) -> bool:
    """Allow ``project_id`` to use the type; False if it already may."""
    top_pod = session.scalars(select(Pod).where(Pod.az_name == "")).one()
    lock = routings.lock_routing(
        session,
        top_id=_top_id(type_id, project_id),
        pod_id=top_pod.pod_id,
        project_id="",
        resource_type=RESOURCE_TYPE,
    )
    return lock is not None and routings.fill_bottom_id(session, lock, project_id)


def revoke_access(session: Session, type_id: str, project_id: str) -> bool:
    """Stop ``project_id`` from using the type; False if it could not."""
    result = session.execute(
        delete(ResourceRouting).where(
            ResourceRouting.resource_type == RESOURCE_TYPE,
            ResourceRouting.top_id == _top_id(type_id, project_id),
        )
    )
    return result.rowcount > 0


def revoke_all(session: Session, type_id: str) -> None:
    """Forget every project's access to a type (the type is deleted)."""
    session.execute(
        delete(ResourceRouting).where(
            ResourceRouting.resource_type == RESOURCE_TYPE,
            ResourceRouting.top_id.startswith(f"type_access:{type_id}:", autoescape=True),
        )
    )

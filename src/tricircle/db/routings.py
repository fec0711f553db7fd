"""Queries on resource routings: which bottom resource, in which pod, stands for a top resource.

Functions take a Session and never commit; callers wrap them in ``with session.begin():``.
A routing whose ``bottom_id`` is NULL is a create-once lock held by whoever inserted it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session

from tricircle.db.models import Pod, ResourceRouting, utcnow
from tricircle.db.session import insert_unless_conflict


class ResourceType(StrEnum):
    """What the top ID of a routing names (stored as its value)."""

    NETWORK = "network"
    SUBNET = "subnet"
    PORT = "port"
    SECURITY_GROUP = "security_group"
    ROUTER = "router"
    # The pod a local network lives in: top_id the network, pod_id the top pod, bottom_id the pod.
    LOCAL_NETWORK_HOME = "local_network_home"
    # A tenant's bridge network: top_id "bridge:<project_id>", bottom_id the top bridge network.
    BRIDGE_NETWORK = "bridge_network"
    FLOATINGIP = "floatingip"
    # A copy of a server's port in the pod of a floating IP's external network, when the server
    # runs elsewhere: top_id "shadow:<top port id>", bottom_id the bottom port there.
    SHADOW_PORT = "shadow_port"
    # The top port a floating IP's bottom copy is wired to: top_id "fip:<top floating IP ID>",
    # pod_id the top pod, bottom_id that top port's ID.
    FLOATINGIP_PORT = "floatingip_port"
    SERVER = "server"
    # A top port the Nova gateway made for a server (a ``networks`` uuid entry, an interface
    # attached by net_id): top_id "server_port:<top port ID>", pod_id the server's pod,
    # bottom_id the server ID. Ports a caller passed have none: they outlive the server.
    SERVER_PORT = "server_port"
    # A server group: top_id the top group ID, bottom_id the group in the one pod holding it.
    SERVER_GROUP = "server_group"
    VOLUME = "volume"
    SNAPSHOT = "snapshot"
    FLAVOR = "flavor"
    KEYPAIR = "keypair"
    VOLUME_TYPE = "volume_type"
    # A project allowed to use a private volume type: top_id "type_access:<type ID>:<project ID>",
    # pod_id the top pod, bottom_id the project ID.
    VOLUME_TYPE_ACCESS = "volume_type_access"
    # Cinder objects kept in one home pod (top ID = the home pod's ID, routing top == bottom) and
    # copied into other pods on use (routing top -> the copy's ID there).
    QOS_SPECS = "qos_specs"
    GROUP_TYPE = "group_type"
    # Cinder objects living in one pod under their pod ID (routing top == bottom).
    GROUP = "group"
    GROUP_SNAPSHOT = "group_snapshot"
    TRANSFER = "transfer"
    MESSAGE = "message"


def list_routings(
    session: Session,
    *,
    resource_type: str | None = None,
    project_id: str | None = None,
    pod_id: str | None = None,
    limit: int | None = None,
    marker: int | None = None,
) -> list[ResourceRouting]:
    """Routings matching every given filter, by id ascending, after ``marker`` (last id seen)."""
    statement = select(ResourceRouting).order_by(ResourceRouting.id)
    if resource_type is not None:
        statement = statement.where(ResourceRouting.resource_type == resource_type)
    if project_id is not None:
        statement = statement.where(ResourceRouting.project_id == project_id)
    if pod_id is not None:
        statement = statement.where(ResourceRouting.pod_id == pod_id)
    if marker is not None:
        statement = statement.where(ResourceRouting.id > marker)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def get_routing(session: Session, routing_id: int) -> ResourceRouting | None:
    """The routing with this id, or None."""
    return session.get(ResourceRouting, routing_id)


def delete_routing(session: Session, routing_id: int) -> bool:
    """Delete the routing with this id; True if a row was deleted."""
    result = session.execute(delete(ResourceRouting).where(ResourceRouting.id == routing_id))
    return result.rowcount > 0


def count_routings_for_pod(session: Session, pod_id: str) -> int:
    """How many routings (complete or in flight) point into this pod."""
    statement = select(func.count()).select_from(ResourceRouting)
    return session.scalar(statement.where(ResourceRouting.pod_id == pod_id)) or 0


def find_bottom_id(session: Session, top_id: str, pod_id: str) -> str | None:
    """The bottom id of ``top_id`` in this pod, or None if absent or still being created."""
    statement = select(ResourceRouting.bottom_id).where(
        ResourceRouting.top_id == top_id, ResourceRouting.pod_id == pod_id
    )
    return session.scalar(statement)


def bottom_ids_of(session: Session, top_ids: list[str], pod_id: str) -> dict[str, str]:
    """Top ID -> bottom ID of the complete routings in the pod among ``top_ids``."""
    statement = select(ResourceRouting.top_id, ResourceRouting.bottom_id).where(
        ResourceRouting.top_id.in_(top_ids),
        ResourceRouting.pod_id == pod_id,
        ResourceRouting.bottom_id.is_not(None),
    )
    return {top_id: bottom_id for top_id, bottom_id in session.execute(statement)}


def find_routings_for_bottom(
    session: Session, bottom_id: str, resource_type: ResourceType
) -> list[ResourceRouting]:
    """Every routing of this type naming ``bottom_id``, by id ascending."""
    statement = (
        select(ResourceRouting)
        .where(
            ResourceRouting.bottom_id == bottom_id, ResourceRouting.resource_type == resource_type
        )
        .order_by(ResourceRouting.id)
    )
    return list(session.scalars(statement))


def find_routings_for_top(session: Session, top_id: str) -> list[ResourceRouting]:
    """Every routing of ``top_id``, one per pod, by id ascending."""
    statement = (
        select(ResourceRouting).where(ResourceRouting.top_id == top_id).order_by(ResourceRouting.id)
    )
    return list(session.scalars(statement))


def find_routing(session: Session, top_id: str, pod_id: str) -> ResourceRouting | None:
    """The routing of ``top_id`` in this pod, complete or in flight, or None."""
    statement = select(ResourceRouting).where(
        ResourceRouting.top_id == top_id, ResourceRouting.pod_id == pod_id
    )
    return session.scalars(statement).one_or_none()


def routed_pod(
    session: Session, top_id: str, resource_type: ResourceType, project_id: str | None = None
) -> Pod | None:
    """The pod a complete routing of ``top_id`` names (only ``project_id``'s if given), or None."""
    statement = (
        select(Pod)
        .join(ResourceRouting, ResourceRouting.pod_id == Pod.pod_id)
        .where(
            ResourceRouting.top_id == top_id,
            ResourceRouting.resource_type == resource_type,
            ResourceRouting.bottom_id.is_not(None),
        )
        .order_by(ResourceRouting.id)
        .limit(1)
    )
    if project_id is not None:
        statement = statement.where(ResourceRouting.project_id == project_id)
    return session.scalars(statement).first()


def route_as_itself(
    session: Session, *, top_id: str, pod_id: str, project_id: str, resource_type: ResourceType
) -> bool:
    """Record that ``top_id`` lives in the pod under the same ID; False if it already has a row."""
    lock = lock_routing(
        session, top_id=top_id, pod_id=pod_id, project_id=project_id, resource_type=resource_type
    )
    return lock is not None and fill_bottom_id(session, lock, top_id)


def forget_routing(
    session: Session,
    top_id: str,
    pod_id: str,
    resource_type: ResourceType | None = None,
    *,
    project_id: str | None = None,
) -> None:
    """Delete the routing of ``top_id`` in the pod (of ``resource_type`` and ``project_id`` if
    given)."""
    statement = delete(ResourceRouting).where(
        ResourceRouting.top_id == top_id, ResourceRouting.pod_id == pod_id
    )
    if resource_type is not None:
        statement = statement.where(ResourceRouting.resource_type == resource_type)
    if project_id is not None:
        statement = statement.where(ResourceRouting.project_id == project_id)
    session.execute(statement)


def record_routing(
    session: Session,
    *,
    top_id: str,
    pod_id: str,
    project_id: str,
    resource_type: ResourceType,
    bottom_id: str,
) -> None:
    """Make the routing of ``top_id`` in the pod name ``bottom_id``, inserted or updated."""
    existing = find_routing(session, top_id, pod_id)
    if existing is None:
        lock = lock_routing(
            session,
            top_id=top_id,
            pod_id=pod_id,
            project_id=project_id,
            resource_type=resource_type,
        )
        if lock is not None:
            fill_bottom_id(session, lock, bottom_id)
            return
        existing = find_routing(session, top_id, pod_id)
    if existing is not None:
        existing.bottom_id = bottom_id
        existing.updated_at = utcnow()


def lock_routing(
    session: Session, *, top_id: str, pod_id: str, project_id: str, resource_type: str
) -> ResourceRouting | None:
    """Insert the create-once lock (a routing with NULL bottom_id); None if the row exists."""
    now = utcnow()
    return insert_unless_conflict(
        session,
        ResourceRouting,
        {
            "top_id": top_id,
            "pod_id": pod_id,
            "project_id": project_id,
            "resource_type": resource_type,
            "bottom_id": None,
            "created_at": now,
            "updated_at": now,
        },
    )


def fill_bottom_id(session: Session, lock: ResourceRouting, bottom_id: str) -> bool:
    """Complete a create-once lock; False if the lock is gone or was completed meanwhile."""
    result = session.execute(
        update(ResourceRouting)
        .where(_same_lock(lock), ResourceRouting.bottom_id.is_(None))
        .values(bottom_id=bottom_id, updated_at=utcnow())
    )
    return result.rowcount > 0


def release_routing_lock(session: Session, lock: ResourceRouting) -> bool:
    """Drop a create-once lock that was never completed; False if it is gone or complete."""
    result = session.execute(
        delete(ResourceRouting).where(_same_lock(lock), ResourceRouting.bottom_id.is_(None))
    )
    return result.rowcount > 0


def _same_lock(lock: ResourceRouting) -> ColumnElement[bool]:
    """Match exactly this lock, not a later one that reused its id (SQLite reuses rowids)."""
    return and_(ResourceRouting.id == lock.id, ResourceRouting.created_at == lock.created_at)


def lock_age(routing: ResourceRouting, now: dt.datetime | None = None) -> float:
    """Seconds since a create-once lock was taken."""
    return ((now or utcnow()) - routing.created_at).total_seconds()

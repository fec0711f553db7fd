"""Queries on quotas: limits set on a project's total and on its users' shares, the project's
lock row, reservations
(in flight, and released ones kept for a while), the usage last counted in each pod and the
digests of limits written into the pods.

Functions take a Session and never commit; callers own the transaction. ``lock_project`` must
come first in a transaction that reads usage and records a reservation: it holds the project's
row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite its write takes the database's write
lock), so reservations of one project are decided one at a time by every process.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tricircle.db.models import (
    Pod,
    PodBinding,
    QuotaLimit,
    QuotaPodMirror,
    QuotaProject,
    QuotaReservation,
    QuotaUsageCount,
    QuotaUserLimit,
    ResourceRouting,
    utcnow,
)
from tricircle.db.session import insert_unless_conflict


def _ensure_project(session: Session, project_id: str) -> None:
    now = utcnow()
    insert_unless_conflict(
        session,
        QuotaProject,
        {"project_id": project_id, "created_at": now, "updated_at": now},
    )


def lock_project(session: Session, project_id: str) -> None:
    """Hold the project's quota row until the transaction ends (made if missing)."""
    _ensure_project(session, project_id)
    session.execute(
        update(QuotaProject)
        .where(QuotaProject.project_id == project_id)
        .values(updated_at=utcnow())
    )
    session.execute(
        select(QuotaProject.project_id)
        .where(QuotaProject.project_id == project_id)
        .with_for_update()
    )


def get_limits(session: Session, project_id: str) -> dict[str, int]:
    """The limits set on ``project_id``, by resource (resources left at default are absent)."""
    rows = session.execute(
        select(QuotaLimit.resource, QuotaLimit.hard_limit).where(
            QuotaLimit.project_id == project_id
        )
    )
    return {resource: hard_limit for resource, hard_limit in rows}


def set_limits(session: Session, project_id: str, limits: Mapping[str, int]) -> None:
    """Set (insert or replace) the limits of ``project_id`` for the given resources."""
    _ensure_project(session, project_id)
    existing = {
        row.resource: row
        for row in session.scalars(
            select(QuotaLimit).where(
                QuotaLimit.project_id == project_id, QuotaLimit.resource.in_(list(limits))
            )
        )
    }
    for resource, hard_limit in limits.items():
        if resource in existing:
            existing[resource].hard_limit = hard_limit
        else:
            session.add(QuotaLimit(project_id=project_id, resource=resource, hard_limit=hard_limit))
    session.flush()


def delete_limits(session: Session, project_id: str, resources: Collection[str]) -> None:
    """Forget the limits of ``project_id`` on ``resources``: they return to their defaults."""
    session.execute(
        delete(QuotaLimit).where(
            QuotaLimit.project_id == project_id, QuotaLimit.resource.in_(list(resources))
        )
    )


def get_user_limits(session: Session, project_id: str, user_id: str) -> dict[str, int]:
    """The limits set on ``user_id``'s share of ``project_id``, by resource."""
    rows = session.execute(
        select(QuotaUserLimit.resource, QuotaUserLimit.hard_limit).where(
            QuotaUserLimit.project_id == project_id, QuotaUserLimit.user_id == user_id
        )
    )
    return {resource: hard_limit for resource, hard_limit in rows}


def users_limits(
    session: Session, project_id: str, except_user_id: str | None = None
) -> dict[str, int]:
    """The sum of the limits set on the project's users (but ``except_user_id``), unlimited
    ones left out, by resource."""
    query = select(QuotaUserLimit.resource, func.sum(QuotaUserLimit.hard_limit)).where(
        QuotaUserLimit.project_id == project_id, QuotaUserLimit.hard_limit >= 0
    )
    if except_user_id is not None:
        query = query.where(QuotaUserLimit.user_id != except_user_id)
    rows = session.execute(query.group_by(QuotaUserLimit.resource))
    return {resource: int(total) for resource, total in rows}


def set_user_limits(
    session: Session, project_id: str, user_id: str, limits: Mapping[str, int]
) -> None:
    """Set (insert or replace) limits on ``user_id``'s share of ``project_id``."""
    _ensure_project(session, project_id)
    existing = {
        row.resource: row
        for row in session.scalars(
            select(QuotaUserLimit).where(
                QuotaUserLimit.project_id == project_id,
                QuotaUserLimit.user_id == user_id,
                QuotaUserLimit.resource.in_(list(limits)),
            )
        )
    }
    for resource, hard_limit in limits.items():
        if resource in existing:
            existing[resource].hard_limit = hard_limit
        else:
            session.add(
                QuotaUserLimit(
                    project_id=project_id,
                    user_id=user_id,
                    resource=resource,
                    hard_limit=hard_limit,
                )
            )
    session.flush()


def delete_user_limits(
    session: Session, project_id: str, resources: Collection[str], user_id: str | None = None
) -> None:
    """Forget the limits on ``resources`` set on ``user_id`` (None: every user) in the
    project."""
    query = delete(QuotaUserLimit).where(
        QuotaUserLimit.project_id == project_id, QuotaUserLimit.resource.in_(list(resources))
    )
    if user_id is not None:
        query = query.where(QuotaUserLimit.user_id == user_id)
    session.execute(query)


def add_reservation(
    session: Session,
    project_id: str,
    amounts: Mapping[str, int],
    expires_at: dt.datetime,
    user_id: str | None = None,
) -> str:
    """Record what a create in flight holds (for ``user_id``, if given); its reservation ID."""
    reservation_id = str(uuid.uuid4())
    session.add_all(
        QuotaReservation(
            reservation_id=reservation_id,
            project_id=project_id,
            user_id=user_id,
            resource=resource,
            amount=amount,
            expires_at=expires_at,
        )
        for resource, amount in amounts.items()
        if amount
    )
    session.flush()
    return reservation_id


def pending_amounts(
    session: Session, project_id: str, now: dt.datetime, user_id: str | None = None
) -> dict[str, int]:
    """What the project's (or only ``user_id``'s) reservations in flight (unreleased,
    unexpired) hold, by resource."""
    query = select(QuotaReservation.resource, func.sum(QuotaReservation.amount)).where(
        QuotaReservation.project_id == project_id,
        QuotaReservation.released_at.is_(None),
        QuotaReservation.expires_at > now,
    )
    if user_id is not None:
        query = query.where(QuotaReservation.user_id == user_id)
    rows = session.execute(query.group_by(QuotaReservation.resource))
    return {resource: int(total) for resource, total in rows}


def released_amounts(
    session: Session, project_id: str, since: dt.datetime, user_id: str | None = None
) -> dict[str, int]:
    """What the project's (or only ``user_id``'s) reservations released at or after ``since``
    took, by resource."""
    query = select(QuotaReservation.resource, func.sum(QuotaReservation.amount)).where(
        QuotaReservation.project_id == project_id, QuotaReservation.released_at >= since
    )
    if user_id is not None:
        query = query.where(QuotaReservation.user_id == user_id)
    rows = session.execute(query.group_by(QuotaReservation.resource))
    return {resource: int(total) for resource, total in rows}


def release_reservation(session: Session, reservation_id: str, now: dt.datetime) -> None:
    """Mark a reservation released (its create has returned) at ``now``."""
    session.execute(
        update(QuotaReservation)
        .where(
            QuotaReservation.reservation_id == reservation_id,
            QuotaReservation.released_at.is_(None),
        )
        .values(released_at=now)
    )


def delete_spent_reservations(
    session: Session, project_id: str, now: dt.datetime, released_before: dt.datetime
) -> None:
    """Drop the project's reservations that expired in flight, and those released before
    ``released_before`` (no usage count still in use is that old)."""
    session.execute(
        delete(QuotaReservation).where(
            QuotaReservation.project_id == project_id,
            or_(
                and_(QuotaReservation.released_at.is_(None), QuotaReservation.expires_at <= now),
                QuotaReservation.released_at < released_before,
            ),
        )
    )


@dataclass(frozen=True)
class UsageCount:
    """A project's usage in one pod, and when the count that found it began."""

    usage: dict[str, int]
    counted_at: dt.datetime


def usage_counts(session: Session, project_id: str, service: str) -> dict[str, UsageCount]:
    """The project's last counted usage of ``service``, by pod ID."""
    rows = session.scalars(
        select(QuotaUsageCount).where(
            QuotaUsageCount.project_id == project_id, QuotaUsageCount.service == service
        )
    )
    return {row.pod_id: UsageCount(dict(row.usage), row.counted_at) for row in rows}


def record_usage_count(
    session: Session, project_id: str, pod_id: str, service: str, count: UsageCount
) -> None:
    """Keep ``count`` as the project's usage in the pod unless a count that began later is
    already kept (two processes counting at once)."""
    values = {"project_id": project_id, "pod_id": pod_id, "service": service}
    if (
        insert_unless_conflict(
            session,
            QuotaUsageCount,
            {**values, "usage": count.usage, "counted_at": count.counted_at},
        )
        is None
    ):
        session.execute(
            update(QuotaUsageCount)
            .where(
                QuotaUsageCount.project_id == project_id,
                QuotaUsageCount.pod_id == pod_id,
                QuotaUsageCount.service == service,
                QuotaUsageCount.counted_at < count.counted_at,
            )
            .values(usage=count.usage, counted_at=count.counted_at)
        )


def project_pod_ids(session: Session, project_id: str) -> set[str]:
    """Bottom pods where the project may hold resources: those it is bound to or has routings in.

    The top pod is never one: its routings (bridge networks, local network homes, volume type
    access) hold no server or volume, and its region's endpoints are the gateways themselves, so
    counting usage there would double-count servers and have the Cinder gateway call itself.
    """
    bottom = select(Pod.pod_id).where(Pod.az_name != "")
    bound = select(PodBinding.pod_id).where(
        PodBinding.project_id == project_id, PodBinding.pod_id.in_(bottom)
    )
    routed = (
        select(ResourceRouting.pod_id)
        .where(ResourceRouting.project_id == project_id, ResourceRouting.pod_id.in_(bottom))
        .distinct()
    )
    return set(session.scalars(bound)) | set(session.scalars(routed))


def mirror_digest(session: Session, project_id: str, pod_id: str, service: str) -> str | None:
    """The digest of the limits last written into the pod for this project and service."""
    row = session.get(QuotaPodMirror, (project_id, pod_id, service))
    return None if row is None else row.digest


def record_mirror(
    session: Session, project_id: str, pod_id: str, service: str, digest: str
) -> None:
    """Remember the digest of the limits just written into the pod."""
    now = utcnow()
    values = {"project_id": project_id, "pod_id": pod_id, "service": service, "digest": digest}
    if (
        insert_unless_conflict(
            session, QuotaPodMirror, {**values, "created_at": now, "updated_at": now}
        )
        is None
    ):
        session.execute(
            update(QuotaPodMirror)
            .where(
                QuotaPodMirror.project_id == project_id,
                QuotaPodMirror.pod_id == pod_id,
                QuotaPodMirror.service == service,
            )
            .values(digest=digest, updated_at=now)
        )

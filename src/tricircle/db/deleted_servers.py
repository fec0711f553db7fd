"""Queries on deleted servers: the pod a server lived in, kept for a while after it is gone.

A server's routing is forgotten once its pod no longer has it (the gateway's show, the
``server_ports_cleanup`` job or ``tricircle reconcile``); ``forget_deleted_server`` does that and
keeps the pod in ``deleted_servers`` for ``keep_for`` seconds, dropping what is older. Only the
instance actions of a deleted server read it (``deleted_server_pod``); routings, lists and the
reconcile rules never see it. Functions take a Session and never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tricircle.db import routings
from tricircle.db.models import DeletedServer, Pod, utcnow
from tricircle.db.routings import ResourceType
from tricircle.db.session import insert_unless_conflict


def forget_deleted_server(
    session: Session,
    server_id: str,
    pod_id: str,
    *,
    keep_for: float,
    now: dt.datetime | None = None,
) -> None:
    """Forget the routing of a server its pod no longer has, keeping the pod for ``keep_for``
    seconds (0: not at all); drop what was kept longer than that. Repeating it is harmless."""
    now = now or utcnow()
    routing = routings.find_routing(session, server_id, pod_id)
    if routing is not None and routing.resource_type == ResourceType.SERVER and keep_for > 0:
        insert_unless_conflict(
            session,
            DeletedServer,
            {
                "server_id": server_id,
                "pod_id": pod_id,
                "project_id": routing.project_id,
                "deleted_at": now,
            },
        )
    routings.forget_routing(session, server_id, pod_id, ResourceType.SERVER)
    session.execute(
        delete(DeletedServer).where(DeletedServer.deleted_at < now - dt.timedelta(seconds=keep_for))
    )


def deleted_server_pod(
    session: Session,
    server_id: str,
    *,
    keep_for: float,
    project_id: str | None = None,
    now: dt.datetime | None = None,
) -> Pod | None:
    """The pod deleted server ``server_id`` lived in (only ``project_id``'s if given), if it was
    forgotten less than ``keep_for`` seconds ago; else None."""
    since = (now or utcnow()) - dt.timedelta(seconds=keep_for)
    statement = (
        select(Pod)
        .join(DeletedServer, DeletedServer.pod_id == Pod.pod_id)
        .where(DeletedServer.server_id == server_id, DeletedServer.deleted_at >= since)
    )
    if project_id is not None:
        statement = statement.where(DeletedServer.project_id == project_id)
    return session.scalars(statement).first()

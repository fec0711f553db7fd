"""Routing rows that point at nothing, and create-once locks left empty.

Rules, per routing of a bottom pod (``--pod`` and ``--project`` filter them):
- complete row (bottom_id set) of a network, subnet, port, security group, router, shadow port,
  floating IP, server or volume whose bottom resource the pod answers 404 for: forgotten
  (``routing_forgotten``); for a server the existing ``server_ports_cleanup`` job is queued
  too, so its ports are released as after any server delete, and its pod is kept a while for
  its instance actions (``db.deleted_servers``, a table no rule here reads);
- create-once lock (bottom_id NULL) older than ``stale_after``: filled from the bottom resource
  named after the top ID (``lock_filled``), else dropped (``lock_forgotten``). Servers and
  volumes are looked up by ID (top ID = bottom ID), floating IPs by description. Other types
  (flavors, keypairs, ...) are repaired by create-once itself on their next use.
"""

from __future__ import annotations

from functools import partial

from tricircle import conf
from tricircle.db import deleted_servers, routings
from tricircle.db.models import Pod, ResourceRouting
from tricircle.db.routings import ResourceType
from tricircle.jobs.queue import enqueue_job
from tricircle.network.mirror import tables
from tricircle.network.server_ports import JOB_SERVER_PORTS_CLEANUP
from tricircle.reconcile.context import ReconcileContext, Repair, exists

# resource type -> (service type, path of one bottom resource by ID)
BOTTOM_PATHS: dict[str, tuple[str, str]] = {
    **{
        kind.resource_type: ("network", f"/v2.0/{kind.path}/{{}}") for kind in tables.KINDS.values()
    },
    ResourceType.SERVER: ("compute", "/servers/{}"),
    ResourceType.VOLUME: ("volumev3", "/volumes/{}"),
}


def check(context: ReconcileContext) -> None:
    """Report (and repair) every routing row of the selected pods that points at nothing."""
    for pod in context.pods():
        with context.session_factory() as session:
            rows = routings.list_routings(session, pod_id=pod.pod_id, project_id=context.project_id)
        for row in rows:
            if row.resource_type not in BOTTOM_PATHS:
                continue
            if row.bottom_id is None:
                _check_lock(context, pod, row)
            else:
                _check_bottom(context, pod, row)


def _check_bottom(context: ReconcileContext, pod: Pod, row: ResourceRouting) -> None:
    service_type, path = BOTTOM_PATHS[row.resource_type]
    if exists(context.client(pod, service_type), path.format(row.bottom_id)):
        return

    def forget() -> None:
        with context.session_factory.begin() as session:
            if row.resource_type == ResourceType.SERVER:
                enqueue_job(
                    session,
                    JOB_SERVER_PORTS_CLEANUP,
                    row.top_id,
                    row.project_id,
                    {"pod_id": pod.pod_id},
                )
                deleted_servers.forget_deleted_server(
                    session,
                    row.top_id,
                    pod.pod_id,
                    keep_for=conf.CONF.compute.deleted_server_retention,
                )
            else:
                routings.forget_routing(session, row.top_id, pod.pod_id, row.resource_type)

    context.found(
        Repair(
            "routing_forgotten",
            pod.region_name,
            row.resource_type,
            row.top_id,
            row.bottom_id or "",
            forget,
        )
    )


def _check_lock(context: ReconcileContext, pod: Pod, row: ResourceRouting) -> None:
    if routings.lock_age(row) <= context.stale_after:
        return
    found = _find_by_name(context, pod, row)
    if found is not None:
        context.found(
            Repair(
                "lock_filled",
                pod.region_name,
                row.resource_type,
                row.top_id,
                found,
                partial(_fill, context, row, found),
            )
        )
        return
    context.found(
        Repair(
            "lock_forgotten",
            pod.region_name,
            row.resource_type,
            row.top_id,
            "",
            partial(_release, context, row),
        )
    )


def _find_by_name(context: ReconcileContext, pod: Pod, row: ResourceRouting) -> str | None:
    """The bottom resource create-once would have made for the row's top ID, if the pod has it."""
    if row.resource_type in (ResourceType.SERVER, ResourceType.VOLUME):
        service_type, path = BOTTOM_PATHS[row.resource_type]
        found = exists(context.client(pod, service_type), path.format(row.top_id))
        return row.top_id if found else None
    kind = tables.KINDS[row.resource_type]
    field = "description" if kind is tables.FLOATINGIP else "name"
    found = context.client(pod, "network").get(
        f"/v2.0/{kind.path}", params={field: row.top_id, "fields": "id"}
    )[kind.collection]
    return found[0]["id"] if found else None


def _fill(context: ReconcileContext, row: ResourceRouting, bottom_id: str) -> None:
    with context.session_factory.begin() as session:
        routings.fill_bottom_id(session, row, bottom_id)


def _release(context: ReconcileContext, row: ResourceRouting) -> None:
    with context.session_factory.begin() as session:
        routings.release_routing_lock(session, row)

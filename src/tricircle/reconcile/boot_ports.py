"""Top ports the gateway made for a boot that never finished.

The gateway records each top port it makes for a boot before it asks the pod (a ``server_port``
routing with no server yet) and gives the record to the server once the pod named it; the
``servers`` check gives it to a server it adopts. Rule: a record still without a server after
``stale_after`` whose bottom copy no server holds (no device ID in the pod, or no copy) is a boot
that died before the pod made its server: the port's bottom copy is deleted and forgotten, the top
port deleted and the record dropped (``boot_port_released``). A bottom copy a server holds is
left to the ``servers`` check, which runs first.
"""

from __future__ import annotations

from functools import partial

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants, server_ports
from tricircle.pods.paths import segment
from tricircle.reconcile.context import ReconcileContext, Repair, delete_quietly


def check(context: ReconcileContext) -> None:
    """Release the selected pods' ports made for boots that never finished."""
    for pod in context.pods():
        pending = server_ports.pending_made_ports(context.session_factory, pod, context.project_id)
        for top_port_id, age in pending:
            if age <= context.stale_after or _held_by_a_server(context, pod, top_port_id):
                continue
            context.found(
                Repair(
                    "boot_port_released",
                    pod.region_name,
                    constants.PORT,
                    top_port_id,
                    context.routed_bottom_id(top_port_id, pod) or "",
                    partial(_release, context, pod, top_port_id),
                )
            )


def _held_by_a_server(context: ReconcileContext, pod: Pod, top_port_id: str) -> bool:
    bottom_id = context.routed_bottom_id(top_port_id, pod)
    if bottom_id is None:
        return False
    found = context.client(pod, "network").get(
        "/v2.0/ports", params={"id": bottom_id, "fields": "device_id"}
    )["ports"]
    return bool(found and found[0].get("device_id"))


def _release(context: ReconcileContext, pod: Pod, top_port_id: str) -> None:
    with context.session_factory() as session:
        routed = routings.find_bottom_id(session, top_port_id, pod.pod_id) is not None
    if routed:
        context.mirror.delete_bottom_copy(pod, constants.PORT, top_port_id)
    delete_quietly(context.top, f"/v2.0/ports/{segment(top_port_id)}")
    server_ports.forget_made_ports(context.session_factory, pod, [top_port_id])

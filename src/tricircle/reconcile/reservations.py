"""Reservation ports on the central Neutron for pods where the subnet has no bottom copy.

Each pod holding a copy of a subnet reserves two addresses on the top subnet: its gateway (a top
port named ``tricircle-gateway-<pod ID>``, owner ``network:tricircle_gateway``) and its DHCP
server (``tricircle-dhcp-<pod ID>``, owner ``network:dhcp``, mirrored into the pod); both carry
the top subnet's ID as device ID. Rule: a reservation whose (subnet, pod) has no routing at all
(not even a create-once lock) is released (``reservation_released``): the DHCP port's bottom copy
is deleted and forgotten, then the top port is deleted. Reservations of a pod outside
``--pod`` are left alone; a pod no longer registered has no copies, so its are released.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.mirror.library import DHCP_OWNER
from tricircle.pods.paths import segment
from tricircle.reconcile.context import JSON, ReconcileContext, Repair, delete_quietly

DHCP_PREFIX = "tricircle-dhcp-"
GATEWAY_PREFIX = constants.gateway_port_name("")
RESERVATIONS = ((constants.GATEWAY_PORT_OWNER, GATEWAY_PREFIX), (DHCP_OWNER, DHCP_PREFIX))


def check(context: ReconcileContext) -> None:
    """Release the reservation ports of pods without a copy of their subnet."""
    with context.session_factory() as session:
        pods = {pod.pod_id: pod for pod in session.scalars(select(Pod))}
    for owner, prefix in RESERVATIONS:
        params = {"device_owner": owner}
        if context.project_id is not None:
            params["project_id"] = context.project_id
        for port in context.top.get("/v2.0/ports", params=params)["ports"]:
            name = port.get("name") or ""
            if not name.startswith(prefix):
                continue
            pod_id = name.removeprefix(prefix)
            pod = pods.get(pod_id)
            if pod is not None and context.region_name not in (None, pod.region_name):
                continue
            with context.session_factory() as session:
                if routings.find_routing(session, port["device_id"], pod_id) is not None:
                    continue
            context.found(
                Repair(
                    "reservation_released",
                    pod.region_name if pod else pod_id,
                    constants.PORT,
                    port["id"],
                    port["device_id"],
                    partial(_release, context, pod, port),
                )
            )


def _release(context: ReconcileContext, pod: Pod | None, port: JSON) -> None:
    if pod is not None:
        with context.session_factory() as session:
            bottom_id = routings.find_bottom_id(session, port["id"], pod.pod_id)
        if bottom_id is not None:
            context.mirror.delete_bottom_copy(pod, constants.PORT, port["id"])
    delete_quietly(context.top, f"/v2.0/ports/{segment(port['id'])}")

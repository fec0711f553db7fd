"""Bottom copies of shared_vlan networks whose VLAN is not the top segment's.

Rule: every routed bottom copy of a ``shared_vlan`` top network must be a ``vlan`` network with
the top's physical network and VLAN ID. A copy that differs is reported (``vlan_mismatch``);
it is repaired only when nothing uses it (no port other than DHCP): the copy is deleted (its
subnets' routings go with it) and made again with the top segment (``vlan_recreated``).
Recreating a network with ports would cut its servers off, so that is left to an operator.
"""

from __future__ import annotations

from functools import partial

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.mirror.library import DHCP_OWNER
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment
from tricircle.reconcile.context import JSON, ReconcileContext, Repair

SEGMENT = ("provider:physical_network", "provider:segmentation_id")


def check(context: ReconcileContext) -> None:
    """Report (and, where unused, recreate) copies on the wrong VLAN."""
    top_networks: dict[str, JSON | None] = {}
    for pod in context.pods():
        with context.session_factory() as session:
            rows = routings.list_routings(
                session,
                resource_type=constants.NETWORK,
                pod_id=pod.pod_id,
                project_id=context.project_id,
            )
        for row in rows:
            if row.bottom_id is None:
                continue
            if row.top_id not in top_networks:
                top_networks[row.top_id] = _top_network(context, row.top_id)
            top = top_networks[row.top_id]
            if top is None or top.get("provider:network_type") != constants.TYPE_SHARED_VLAN:
                continue
            bottom = _bottom_network(context, pod, row.bottom_id)
            if bottom is None or all(bottom.get(name) == top.get(name) for name in SEGMENT):
                continue
            ports = context.client(pod, "network").get(
                "/v2.0/ports", params={"network_id": row.bottom_id}
            )["ports"]
            if any(port.get("device_owner") != DHCP_OWNER for port in ports):
                context.found(
                    Repair(
                        "vlan_mismatch",
                        pod.region_name,
                        constants.NETWORK,
                        row.top_id,
                        row.bottom_id,
                    )
                )
                continue
            context.found(
                Repair(
                    "vlan_recreated",
                    pod.region_name,
                    constants.NETWORK,
                    row.top_id,
                    row.bottom_id,
                    partial(_recreate, context, pod, top),
                )
            )


def _top_network(context: ReconcileContext, top_id: str) -> JSON | None:
    try:
        return context.top.get(f"/v2.0/networks/{segment(top_id)}")["network"]
    except PodClientError as exc:
        if exc.status == 404:
            return None
        raise


def _bottom_network(context: ReconcileContext, pod: Pod, bottom_id: str) -> JSON | None:
    try:
        return context.client(pod, "network").get(f"/v2.0/networks/{segment(bottom_id)}")["network"]
    except PodClientError as exc:
        if exc.status == 404:
            return None  # routing_rows forgets it
        raise


def _recreate(context: ReconcileContext, pod: Pod, top: JSON) -> None:
    mirror = context.mirror
    mirror.delete_bottom_copy(pod, constants.NETWORK, top["id"])
    mirror.ensure_bottom_network(pod, top)

"""Bottom servers Tricircle booted but never routed (a gateway that died between the pod's
answer and the routing).

A server's top ID is its bottom ID, so a pod server without a ``server`` routing is either a
user's own (booted directly in the pod) or such an orphan. Tricircle's marker is its ports: the
gateway boots a server only on bottom ports it mirrored, each named after its top port and
recorded in a ``port`` routing of that pod; Nova makes unnamed ports for a boot by network. Rule:
a pod server without routing, with at least one port and every port a routed bottom copy, is
adopted (``server_adopted``): its routing is recorded (top ID = bottom ID, the server's project)
and its top ports are bound to it (device ID and owner), as the boot would have finished; the
ports the gateway recorded as made for the boot become the server's (deleted with it). It is
then visible, and deletable, through RegionOne. Any other server is never touched (a server
booted with no network has no marker and stays invisible: deleting it is the user's call).
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.network import server_ports
from tricircle.pods.paths import segment
from tricircle.reconcile.context import JSON, ReconcileContext, Repair

PAGE = 1000


def check(context: ReconcileContext) -> None:
    """Adopt the selected pods' Tricircle servers that have no routing."""
    for pod in context.pods():
        ports = _ports_by_device(context, pod)
        for server in _servers(context, pod):
            if context.project_id not in (None, server["tenant_id"]):
                continue
            with context.session_factory() as session:
                if routings.find_routings_for_top(session, server["id"]):
                    continue
            top_port_ids = _top_port_ids(context, pod, ports.get(server["id"], []))
            if not top_port_ids:
                continue
            context.found(
                Repair(
                    "server_adopted",
                    pod.region_name,
                    ResourceType.SERVER,
                    server["id"],
                    server["id"],
                    partial(_adopt, context, pod, server, top_port_ids),
                )
            )


def _servers(context: ReconcileContext, pod: Pod) -> list[JSON]:
    """Every server of the pod, of every project."""
    compute = context.client(pod, "compute")
    found: list[JSON] = []
    params: dict[str, str | int] = {"all_tenants": 1, "limit": PAGE}
    while True:
        page = compute.get("/servers/detail", params=params)["servers"]
        found += page
        if len(page) < PAGE:
            return found
        params["marker"] = page[-1]["id"]


def _ports_by_device(context: ReconcileContext, pod: Pod) -> dict[str, list[JSON]]:
    by_device: dict[str, list[JSON]] = defaultdict(list)
    for port in context.client(pod, "network").get("/v2.0/ports")["ports"]:
        if port.get("device_id"):
            by_device[port["device_id"]].append(port)
    return by_device


def _top_port_ids(context: ReconcileContext, pod: Pod, ports: list[JSON]) -> list[str]:
    """The top port of each bottom port, or [] unless every port is a routed bottom copy."""
    top_port_ids = [port.get("name") or "" for port in ports]
    if not ports or any(
        not name or context.routed_bottom_id(name, pod) != port["id"]
        for name, port in zip(top_port_ids, ports, strict=True)
    ):
        return []
    return top_port_ids


def _adopt(context: ReconcileContext, pod: Pod, server: JSON, top_port_ids: list[str]) -> None:
    with context.session_factory.begin() as session:
        routings.route_as_itself(
            session,
            top_id=server["id"],
            pod_id=pod.pod_id,
            project_id=server["tenant_id"],
            resource_type=ResourceType.SERVER,
        )
    server_ports.assign_made_ports(context.session_factory, pod, server["id"], top_port_ids)
    for top_port_id in top_port_ids:
        context.top.put(
            f"/v2.0/ports/{segment(top_port_id)}",
            json={"port": {"device_id": server["id"], "device_owner": f"compute:{pod.az_name}"}},
        )

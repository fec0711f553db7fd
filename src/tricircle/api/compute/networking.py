"""The ``networks`` of a server create, made into bottom ports of the chosen pod.

Each entry (network uuid with an optional fixed IP, or a top port) goes through the cross-pod
networking library: a top port from the central Neutron's IPAM, its bottom network, subnets
(per-pod gateway), security groups and port in the pod. The bottom create then names the bottom
ports. ``none``, ``auto`` and an absent field pass through to the pod unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tricircle.api.errors import BadRequest, Conflict
from tricircle.db.models import Pod
from tricircle.network import mirror as network_mirror
from tricircle.network import server_ports
from tricircle.network.mirror import BottomMirror, ServerPort

LOG = logging.getLogger(__name__)


@dataclass
class NetworkPlan:
    """The bottom ``networks`` value and the server ports made for it in one pod."""

    pod: Pod
    bottom_networks: Any
    server_ports: list[ServerPort] = field(default_factory=list)

    @property
    def top_port_ids(self) -> list[str]:
        """IDs of the top ports of this server."""
        return [server_port.top_port["id"] for server_port in self.server_ports]

    @property
    def made_top_port_ids(self) -> list[str]:
        """IDs of the top ports made for this server (not passed by the caller)."""
        return [
            server_port.top_port["id"]
            for server_port in self.server_ports
            if server_port.top_port_created
        ]


def nova_fault(exc: network_mirror.MirrorError) -> BadRequest | Conflict:
    """The Nova fault for a refusal of the networking library."""
    if isinstance(exc, network_mirror.NetworkNotFound):
        return BadRequest(f"Network {exc.top_id} could not be found.")
    if isinstance(exc, network_mirror.PortNotFound):
        return BadRequest(f"Port id {exc.top_id} could not be found.")
    if isinstance(exc, network_mirror.SecurityGroupNotFound):
        return BadRequest(f"Security group {exc.top_id} not found.")
    if isinstance(exc, network_mirror.PortInUse):
        return Conflict(f"Port {exc.top_port_id} is still in use.")
    if isinstance(exc, network_mirror.NetworkNotInPod):
        return BadRequest(
            f"Network {exc.top_network_id} is not available in the requested availability "
            f"zone: {exc.reason}"
        )
    return BadRequest(str(exc))


def prepare_networks(
    mirror: BottomMirror,
    networks: Any,
    pod: Pod,
    project_id: str,
    security_groups: Sequence[str] | None,
) -> NetworkPlan:
    """Bottom ports for every entry; on any refusal, what was made is undone and a fault raised."""
    plan = NetworkPlan(pod, networks)
    if networks is None or isinstance(networks, str):
        return plan
    bottom_networks = []
    try:
        for entry in networks:
            requested = {key: entry[key] for key in ("uuid", "port", "fixed_ip") if key in entry}
            server_port = mirror.prepare_server_port(pod, project_id, requested, security_groups)
            plan.server_ports.append(server_port)
            bottom_entry = {"port": server_port.bottom_port["id"]}
            if "tag" in entry:
                bottom_entry["tag"] = entry["tag"]
            bottom_networks.append(bottom_entry)
    except network_mirror.MirrorError as exc:
        undo(mirror, plan)
        raise nova_fault(exc) from exc
    except BaseException:
        undo(mirror, plan)
        raise
    plan.bottom_networks = bottom_networks
    try:
        server_ports.record_made_ports(
            mirror.session_factory, pod, project_id, plan.made_top_port_ids
        )
    except BaseException:
        undo(mirror, plan)
        raise
    return plan


def undo(mirror: BottomMirror, plan: NetworkPlan) -> None:
    """Release every server port of the plan, last first, and forget which ones were made;
    failures are logged, not raised."""
    try:
        server_ports.forget_made_ports(mirror.session_factory, plan.pod, plan.made_top_port_ids)
    except Exception:  # noqa: BLE001 - the ports must still be released
        LOG.exception(
            "made-port records not forgotten region=%s top_port_ids=%s",
            plan.pod.region_name,
            plan.made_top_port_ids,
        )
    for server_port in reversed(plan.server_ports):
        try:
            mirror.release_server_port(plan.pod, server_port)
        except Exception:  # noqa: BLE001 - the rest must still be released
            LOG.exception(
                "server port not released region=%s top_port_id=%s",
                plan.pod.region_name,
                server_port.top_port["id"],
            )
    plan.server_ports.clear()


def give_made_ports(mirror: BottomMirror, plan: NetworkPlan, server_id: str) -> None:
    """Give the ports made for the server to it, as soon as the pod named it: they go with it."""
    server_ports.assign_made_ports(
        mirror.session_factory, plan.pod, server_id, plan.made_top_port_ids
    )


def attach_top_ports(mirror: BottomMirror, plan: NetworkPlan, server_id: str, az_name: str) -> None:
    """Mark every top port as the server's (device ID and owner), as Nova does in one cloud."""
    for top_port_id in plan.top_port_ids:
        server_ports.mark_top_port(mirror, top_port_id, server_id, f"compute:{az_name}")


def queue_attach_top_ports(
    mirror: BottomMirror, plan: NetworkPlan, server_id: str, project_id: str
) -> None:
    """Have a job mark every top port as the server's after the boot answered (it saves the boot
    one central Neutron update per port)."""
    if plan.server_ports:
        server_ports.queue_attach(
            mirror.session_factory,
            plan.pod,
            server_id,
            project_id,
            plan.top_port_ids,
            f"compute:{plan.pod.az_name}",
        )

"""Cross-pod L3: one top router becomes a bottom router in each pod its networks reach.

``RouterL3.setup_router`` converges a top router (idempotently, from what the central Neutron and
the routings say): a bottom router in every pod where an attached network has a bottom copy, the
attached bottom subnets as its interfaces (each gateway is the pod's own address), and when the
router spans two pods or more a bridge port per bottom router on the tenant's bridge network;
then ``configure_routes`` gives each bottom router routes to the CIDRs attached only in other
pods, via their bridge IPs. What is no longer wanted is undone: interfaces, bridge ports, bottom
routers, and the tenant's bridge network once no bridge port is left on it. An interface a pod
says its router already holds (a call it carried out late, a concurrent run) is read back and,
when there, taken as attached.

North-south: a top router with an external gateway also has a bottom router in the pod hosting
the external network (the gateway pod), carrying the real gateway: the bottom external network,
the top gateway port's addresses, ``enable_snat``; SNAT thus happens once, there. Every other
pod's bottom router gets a default route via the gateway pod's bridge IP, and the gateway pod's
router already routes to the CIDRs of the other pods. Only the pods' public API is used (router
gateway and extra routes): the pods stay stock Neutron.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tricircle.db import pods as pod_queries
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.mirror import (
    BottomMirror,
    ExternalNetworkNotPlaced,
    NetworkNotFound,
    TopPodNotRegistered,
    tables,
)
from tricircle.network.mirror.library import ROUTER_INTERFACE_OWNER
from tricircle.pods.client import PodClient, PodClientError
from tricircle.pods.create_once import ensure_bottom_resource, forget_bottom_resource
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

JSON = dict[str, Any]
Route = dict[str, str]

DEFAULT_ROUTE = "0.0.0.0/0"  # the bridge network is IPv4
# Neutron's error types when a router already holds what add_router_interface is asked to attach.
ALREADY_ATTACHED = frozenset({"BadRequest", "PortInUse"})


def bridge_port_name(pod_id: str) -> str:
    """Name of the top bridge port of a router's bottom copy in ``pod_id`` (device_id: router)."""
    return f"tricircle-bridge-{pod_id}"


def compute_extra_routes(
    local_cidrs: Mapping[str, set[str]],
    bridge_ips: Mapping[str, str],
    gateway_pod_id: str | None = None,
) -> dict[str, list[Route]]:
    """Each pod's extra routes: CIDRs attached in other pods (not locally), via their bridge IP.

    ``local_cidrs`` maps a pod to the CIDRs attached to its bottom router; ``bridge_ips`` maps a
    pod to its bridge port address. A pod without a bridge address gets no routes; a CIDR attached
    in several other pods goes via the first of them (by pod ID), so the answer is stable. With
    ``gateway_pod_id`` (the pod holding the router's external gateway, with a bridge address)
    every other pod also gets a default route via that pod's bridge IP.
    """
    routes: dict[str, list[Route]] = {}
    for pod_id, own in local_cidrs.items():
        if pod_id not in bridge_ips:
            routes[pod_id] = []
            continue
        via: dict[str, str] = {}
        for other_id in sorted(local_cidrs):
            if other_id == pod_id or other_id not in bridge_ips:
                continue
            for cidr in sorted(local_cidrs[other_id] - own):
                via.setdefault(cidr, bridge_ips[other_id])
        if gateway_pod_id in bridge_ips and gateway_pod_id != pod_id:
            via[DEFAULT_ROUTE] = bridge_ips[gateway_pod_id]
        routes[pod_id] = [
            {"destination": cidr, "nexthop": nexthop} for cidr, nexthop in sorted(via.items())
        ]
    return routes


def same_routes(first: list[Mapping[str, str]], second: list[Mapping[str, str]]) -> bool:
    """True if two route lists hold the same (destination, nexthop) pairs."""

    def pairs(routes: list[Mapping[str, str]]) -> set[tuple[str, str]]:
        return {(route["destination"], route["nexthop"]) for route in routes}

    return pairs(first) == pairs(second)


def same_gateway(current: Mapping[str, Any] | None, wanted: Mapping[str, Any] | None) -> bool:
    """True if a bottom router's ``external_gateway_info`` already is ``wanted`` (None: no gateway).

    The network and SNAT must match; the addresses too, when ``wanted`` names any.
    """
    if not current or not current.get("network_id"):
        return not wanted
    if not wanted:
        return False

    def addresses(info: Mapping[str, Any]) -> set[tuple[str, str]]:
        return {
            (fixed["subnet_id"], fixed["ip_address"])
            for fixed in info.get("external_fixed_ips") or []
        }

    return (
        current["network_id"] == wanted["network_id"]
        and bool(current.get("enable_snat", True)) == bool(wanted.get("enable_snat", True))
        and (not addresses(wanted) or addresses(current) == addresses(wanted))
    )


@dataclass
class PodPlan:
    """What one pod's bottom router should carry: top subnet ID -> bottom subnet ID."""

    pod: Pod
    subnets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayPlan:
    """A top router's real gateway: the pod hosting its external network, and the bottom
    router's ``external_gateway_info`` there (bottom network and subnets, top addresses)."""

    pod: Pod
    info: JSON


class RouterL3:
    """Bottom routers, bridge networks and extra routes of top routers."""

    def __init__(self, mirror: BottomMirror, bridge_cidr: str) -> None:
        self.mirror = mirror
        self.bridge_cidr = bridge_cidr

    @property
    def top(self) -> PodClient:
        """The central Neutron."""
        return self.mirror.top

    # -- convergence ------------------------------------------------------------------------------

    def setup_router(self, router_id: str, project_id: str) -> None:
        """Converge top router ``router_id`` (gone: tear down everything made for it)."""
        top_router = self._top_router(router_id)
        plans: dict[str, PodPlan] = {}
        gateway: GatewayPlan | None = None
        if top_router is not None:
            project_id = top_router["project_id"]
            plans = self._plan(top_router)
            gateway = self._plan_gateway(top_router)
            if gateway is not None:
                plans.setdefault(gateway.pod.pod_id, PodPlan(gateway.pod))
            for plan in plans.values():
                bottom_router_id = self.mirror.ensure_bottom_router(plan.pod, top_router)
                self._attach_subnets(plan, bottom_router_id)
        spans = len(plans) >= 2
        if spans:
            bridge_network, bridge_subnet = self._ensure_bridge(project_id)
            for plan in plans.values():
                self._attach_bridge_port(plan.pod, router_id, bridge_network, bridge_subnet)
        self._converge_gateways(router_id, gateway, set(plans))
        # Routes first: Neutron refuses to remove an interface a route still goes through.
        self.configure_routes(router_id, set(plans) if spans else set())
        for plan in plans.values():
            self._detach_stale_subnets(plan, router_id)
        bridge_network = self._find_bridge_network(project_id)
        if bridge_network is not None:
            for port in self._bridge_ports(bridge_network, router_id):
                pod_id = port["name"].removeprefix(bridge_port_name(""))
                if not spans or pod_id not in plans:
                    self._remove_bridge_port(pod_id, router_id, port)
        for pod, _bottom_id in self.mirror.copies(constants.ROUTER, router_id):
            if pod.pod_id not in plans:
                self._teardown_bottom_router(pod, router_id)
        if bridge_network is not None:
            self._collect_bridge(project_id, bridge_network)
        LOG.info(
            "router converged top_router_id=%s pods=%s",
            router_id,
            ",".join(sorted(plan.pod.region_name for plan in plans.values())) or "none",
        )

    def _top_router(self, router_id: str) -> JSON | None:
        try:
            return self.top.get(f"/v2.0/routers/{segment(router_id)}")["router"]
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise

    def _attached_subnets(self, router_id: str) -> dict[str, str]:
        """Top subnet ID -> top network ID of every interface of the top router."""
        ports = self.top.get(
            "/v2.0/ports", params={"device_id": router_id, "device_owner": ROUTER_INTERFACE_OWNER}
        )["ports"]
        return {
            fixed_ip["subnet_id"]: port["network_id"]
            for port in ports
            for fixed_ip in port["fixed_ips"]
        }

    def _plan(self, top_router: Mapping[str, Any] | None) -> dict[str, PodPlan]:
        """Pod ID -> the bottom subnets its bottom router should carry (made if missing).

        Interfaces on external networks stay on the top: their subnets are not the tenant's. With
        an external gateway, a shared_vlan network (one L2 segment across pods) is also attached
        in the gateway pod: its router then reaches the servers of every pod on that network
        directly, which floating IPs need (their bottom copy lives in the gateway pod).
        """
        plans: dict[str, PodPlan] = {}
        if top_router is None:
            return plans
        placed = self._gateway_network(top_router)
        for top_subnet_id, top_network_id in self._attached_subnets(top_router["id"]).items():
            copies = self.mirror.copies(constants.NETWORK, top_network_id)
            top_network = self.mirror.get_top_network(top_network_id)
            if not copies or tables.is_external(top_network):
                continue
            if placed is not None and _reaches_every_pod(top_network):
                gateway_pod = placed[0]
                if gateway_pod.pod_id not in {pod.pod_id for pod, _id in copies}:
                    bottom_id = self.mirror.ensure_bottom_network(gateway_pod, top_network)
                    copies.append((gateway_pod, bottom_id))
            top_subnet = self.mirror.get_top_subnet(top_subnet_id)
            if top_subnet.get("gateway_ip") is None:
                LOG.warning(
                    "subnet without gateway not routed top_router_id=%s top_subnet_id=%s",
                    top_router["id"],
                    top_subnet_id,
                )
                continue
            for pod, bottom_network_id in copies:
                bottom_subnet_id = self.mirror.ensure_bottom_subnet(
                    pod, top_subnet, bottom_network_id
                )
                plan = plans.setdefault(pod.pod_id, PodPlan(pod))
                plan.subnets[top_subnet_id] = bottom_subnet_id
        return plans

    # -- external gateway -------------------------------------------------------------------------

    def _gateway_network(self, top_router: Mapping[str, Any] | None) -> tuple[Pod, str] | None:
        """(gateway pod, bottom external network ID) of a router with a gateway, else None.

        Raises ExternalNetworkNotPlaced while the external network has no copy yet (its
        setup_external_network job has not run): the job retries.
        """
        info = (top_router or {}).get("external_gateway_info") or {}
        network_id = info.get("network_id")
        if not network_id:
            return None
        copies = self.mirror.copies(constants.NETWORK, network_id)
        if not copies:
            raise ExternalNetworkNotPlaced(network_id)
        return copies[0]

    def _plan_gateway(self, top_router: Mapping[str, Any]) -> GatewayPlan | None:
        """The real gateway of ``top_router`` in the pod of its external network, or None.

        The bottom gateway takes the top gateway port's addresses (the external subnets live in
        that pod only, so the addresses are free there) and the top's ``enable_snat``.
        """
        placed = self._gateway_network(top_router)
        if placed is None:
            return None
        pod, bottom_network_id = placed
        info = top_router["external_gateway_info"]
        fixed_ips = []
        for fixed in info.get("external_fixed_ips") or []:
            bottom_subnet_id = self.mirror.ensure_bottom_external_subnet(
                pod, self.mirror.get_top_subnet(fixed["subnet_id"]), bottom_network_id
            )
            fixed_ips.append({"subnet_id": bottom_subnet_id, "ip_address": fixed["ip_address"]})
        return GatewayPlan(
            pod,
            {
                "network_id": bottom_network_id,
                "enable_snat": info.get("enable_snat", True),
                "external_fixed_ips": fixed_ips,
            },
        )

    def _converge_gateways(
        self, router_id: str, gateway: GatewayPlan | None, kept_pods: set[str]
    ) -> None:
        """Set the real gateway on the gateway pod's bottom router; clear any other kept one's.

        Bottom routers about to be torn down are left alone: their delete takes the gateway.
        """
        for pod, bottom_router_id in self.mirror.copies(constants.ROUTER, router_id):
            if pod.pod_id not in kept_pods:
                continue
            wanted = gateway.info if gateway and gateway.pod.pod_id == pod.pod_id else None
            bottom = self.mirror.bottom(pod)
            current = bottom.get(f"/v2.0/routers/{segment(bottom_router_id)}")["router"]
            if same_gateway(current.get("external_gateway_info"), wanted):
                continue
            bottom.put(
                f"/v2.0/routers/{segment(bottom_router_id)}",
                json={"router": {"external_gateway_info": wanted or {}}},
            )
            LOG.info(
                "bottom gateway %s region=%s bottom_router_id=%s top_router_id=%s "
                "bottom_network_id=%s ips=%s snat=%s",
                "set" if wanted else "cleared",
                pod.region_name,
                bottom_router_id,
                router_id,
                (wanted or {}).get("network_id"),
                [fixed["ip_address"] for fixed in (wanted or {}).get("external_fixed_ips", [])],
                (wanted or {}).get("enable_snat"),
            )

    # -- interfaces -------------------------------------------------------------------------------

    def _interfaces(self, pod: Pod, bottom_router_id: str) -> list[JSON]:
        return self.mirror.bottom(pod).get(
            "/v2.0/ports",
            params={"device_id": bottom_router_id, "device_owner": ROUTER_INTERFACE_OWNER},
        )["ports"]

    def _attach_subnets(self, plan: PodPlan, bottom_router_id: str) -> None:
        """Attach the plan's bottom subnets the bottom router does not hold yet."""
        attached = {
            fixed_ip["subnet_id"]
            for port in self._interfaces(plan.pod, bottom_router_id)
            for fixed_ip in port["fixed_ips"]
        }
        for top_subnet_id, bottom_subnet_id in plan.subnets.items():
            if bottom_subnet_id in attached:
                continue
            interface = {"subnet_id": bottom_subnet_id}
            if self._add_interface(plan.pod, bottom_router_id, interface, top_subnet_id):
                LOG.info(
                    "bottom interface added region=%s bottom_router_id=%s top_subnet_id=%s "
                    "bottom_subnet_id=%s",
                    plan.pod.region_name,
                    bottom_router_id,
                    top_subnet_id,
                    bottom_subnet_id,
                )

    def _add_interface(
        self, pod: Pod, bottom_router_id: str, interface: Mapping[str, str], top_id: str
    ) -> bool:
        """Attach ``interface`` (``{"subnet_id": ...}`` or ``{"port_id": ...}``) to a bottom
        router; False if the router already held it.

        Neutron refuses a second attachment: ``BadRequest`` (400) for a subnet the router already
        has a port on, ``PortInUse`` (409) for a port already attached. Such a refusal counts as
        done only when the router's interfaces, read back, hold the subnet or port: an earlier
        call the pod carried out late, or a concurrent run, attached it. Otherwise it is raised.
        """
        try:
            self.mirror.bottom(pod).put(
                f"/v2.0/routers/{segment(bottom_router_id)}/add_router_interface",
                json=dict(interface),
            )
        except PodClientError as exc:
            if exc.error_type not in ALREADY_ATTACHED or not self._holds_interface(
                pod, bottom_router_id, interface
            ):
                raise
            ((key, bottom_id),) = interface.items()
            LOG.info(
                "bottom interface already attached region=%s bottom_router_id=%s top_id=%s "
                "bottom_%s=%s pod_error=%s",
                pod.region_name,
                bottom_router_id,
                top_id,
                key,
                bottom_id,
                exc.error_type,
            )
            return False
        return True

    def _holds_interface(
        self, pod: Pod, bottom_router_id: str, interface: Mapping[str, str]
    ) -> bool:
        """True if the bottom router's interfaces (read from the pod) hold ``interface``."""
        ports = self._interfaces(pod, bottom_router_id)
        if "port_id" in interface:
            return any(port["id"] == interface["port_id"] for port in ports)
        return any(
            fixed_ip["subnet_id"] == interface["subnet_id"]
            for port in ports
            for fixed_ip in port["fixed_ips"]
        )

    def _detach_stale_subnets(self, plan: PodPlan, router_id: str) -> None:
        """Remove interfaces on subnets no longer attached on the top (bridge port excluded)."""
        with self.mirror.session_factory() as session:
            bottom_router_id = routings.find_bottom_id(session, router_id, plan.pod.pod_id)
        if bottom_router_id is None:
            return
        bottom = self.mirror.bottom(plan.pod)
        wanted = set(plan.subnets.values())
        for port in self._interfaces(plan.pod, bottom_router_id):
            if port["name"]:  # a mirrored port (the bridge port); subnet interfaces have no name
                continue
            for fixed_ip in port["fixed_ips"]:
                if fixed_ip["subnet_id"] in wanted:
                    continue
                _put_quietly(
                    bottom,
                    f"/v2.0/routers/{segment(bottom_router_id)}/remove_router_interface",
                    {"port_id": port["id"]},
                )
                LOG.info(
                    "bottom interface removed region=%s bottom_router_id=%s bottom_subnet_id=%s",
                    plan.pod.region_name,
                    bottom_router_id,
                    fixed_ip["subnet_id"],
                )
                break

    # -- bridge network and ports -----------------------------------------------------------------

    def top_pod_id(self) -> str:
        """The ID of the top pod (Tricircle's region, where the central Neutron is)."""
        return self._top_pod().pod_id

    def _top_pod(self) -> Pod:
        with self.mirror.session_factory() as session:
            top_pod = pod_queries.get_top_pod(session)
        if top_pod is None:
            raise TopPodNotRegistered("the top pod (Tricircle's region) is not registered")
        return top_pod

    def _ensure_bridge(self, project_id: str) -> tuple[JSON, JSON]:
        """The tenant's bridge network and its subnet on the central Neutron, made once.

        A bridge network found without its subnet gets it again: Neutron deletes a network's
        subnets before it refuses the network for a port made meanwhile (``_collect_bridge``
        racing a router being set up), which leaves the network behind without them."""
        network_id = ensure_bottom_resource(
            self.mirror.session_factory,
            top_id=constants.bridge_key(project_id),
            pod_id=self._top_pod().pod_id,
            project_id=project_id,
            resource_type=constants.BRIDGE_NETWORK,
            create=self._create_bridge_network,
            find_by_name=self._find_top_network_by_name,
        )
        network = self.mirror.get_top_network(network_id)
        subnets = self.top.get("/v2.0/subnets", params={"network_id": network_id})["subnets"]
        if not subnets:
            LOG.warning(
                "bridge network without subnet, adding it project_id=%s top_network_id=%s",
                project_id,
                network_id,
            )
            return network, self._create_bridge_subnet(network_id, network["name"])
        return network, subnets[0]

    def _create_bridge_network(self, name: str) -> str:
        """A shared_vlan network of Tricircle's service project with one subnet, no gateway."""
        network = self.top.post(
            "/v2.0/networks", json={"network": {"name": name, "admin_state_up": True}}
        )["network"]
        try:
            self._create_bridge_subnet(network["id"], name)
        except BaseException:
            _delete_quietly(self.top, f"/v2.0/networks/{segment(network['id'])}")
            raise
        LOG.info("bridge network created name=%s top_network_id=%s", name, network["id"])
        return network["id"]

    def _create_bridge_subnet(self, network_id: str, name: str) -> JSON:
        """The bridge network's one subnet: ``bridge_cidr``, no gateway, no DHCP."""
        return self.top.post(
            "/v2.0/subnets",
            json={
                "subnet": {
                    "name": name,
                    "network_id": network_id,
                    "cidr": self.bridge_cidr,
                    "ip_version": 4,
                    "gateway_ip": None,
                    "enable_dhcp": False,
                }
            },
        )["subnet"]

    def _find_top_network_by_name(self, name: str) -> str | None:
        found = self.top.get("/v2.0/networks", params={"name": name, "fields": "id"})["networks"]
        return found[0]["id"] if found else None

    def _find_bridge_network(self, project_id: str) -> JSON | None:
        with self.mirror.session_factory() as session:
            network_id = routings.find_bottom_id(
                session, constants.bridge_key(project_id), self._top_pod().pod_id
            )
        if network_id is None:
            return None
        try:
            return self.mirror.get_top_network(network_id)
        except NetworkNotFound:
            self._forget_bridge(project_id, network_id)
            return None

    def _bridge_ports(self, bridge_network: Mapping[str, Any], router_id: str) -> list[JSON]:
        """The top bridge ports of ``router_id`` (one per pod, named after it)."""
        return self.top.get(
            "/v2.0/ports",
            params={
                "network_id": bridge_network["id"],
                "device_owner": constants.BRIDGE_PORT_OWNER,
                "device_id": router_id,
            },
        )["ports"]

    def _attach_bridge_port(
        self, pod: Pod, router_id: str, bridge_network: JSON, bridge_subnet: JSON
    ) -> None:
        """The router's bridge port for ``pod``, on the top and in the pod, on the bottom router."""
        name = bridge_port_name(pod.pod_id)
        top_port = self.mirror.find_or_create_top_port(
            {
                "network_id": bridge_network["id"],
                "device_owner": constants.BRIDGE_PORT_OWNER,
                "device_id": router_id,
                "name": name,
            },
            {
                "name": name,
                "network_id": bridge_network["id"],
                "device_owner": constants.BRIDGE_PORT_OWNER,
                "device_id": router_id,
                "fixed_ips": [{"subnet_id": bridge_subnet["id"]}],
                "port_security_enabled": False,
            },
        )
        bottom_port = self.mirror.ensure_bottom_port(pod, top_port)
        with self.mirror.session_factory() as session:
            bottom_router_id = routings.find_bottom_id(session, router_id, pod.pod_id)
        if bottom_port["device_id"] == bottom_router_id:
            return
        if not self._add_interface(
            pod, bottom_router_id, {"port_id": bottom_port["id"]}, top_port["id"]
        ):
            return
        LOG.info(
            "bridge port attached region=%s bottom_router_id=%s top_port_id=%s bottom_port_id=%s",
            pod.region_name,
            bottom_router_id,
            top_port["id"],
            bottom_port["id"],
        )

    def _remove_bridge_port(self, pod_id: str, router_id: str, top_port: Mapping[str, Any]) -> None:
        """Detach and delete a bridge port in its pod, then on the top."""
        with self.mirror.session_factory() as session:
            bottom_port_id = routings.find_bottom_id(session, top_port["id"], pod_id)
            bottom_router_id = routings.find_bottom_id(session, router_id, pod_id)
            pod = session.get(Pod, pod_id)
        if pod is not None and bottom_port_id is not None:
            if bottom_router_id is not None:
                _put_quietly(
                    self.mirror.bottom(pod),
                    f"/v2.0/routers/{segment(bottom_router_id)}/remove_router_interface",
                    {"port_id": bottom_port_id},
                )
            self.mirror.delete_bottom_copy(pod, constants.PORT, top_port["id"])
        self.mirror.delete_top_port(top_port["id"])
        LOG.info(
            "bridge port removed pod_id=%s top_router_id=%s top_port_id=%s",
            pod_id,
            router_id,
            top_port["id"],
        )

    def _collect_bridge(self, project_id: str, bridge_network: Mapping[str, Any]) -> None:
        """Delete the tenant's bridge network once no bridge port is left on it."""
        ports = self.top.get(
            "/v2.0/ports",
            params={
                "network_id": bridge_network["id"],
                "device_owner": constants.BRIDGE_PORT_OWNER,
            },
        )["ports"]
        if ports:
            return
        self.mirror.delete_bottom_copies(constants.NETWORK, bridge_network["id"])
        try:
            _delete_quietly(self.top, f"/v2.0/networks/{segment(bridge_network['id'])}")
        except PodClientError as exc:
            if exc.status == 409:  # a bridge port appeared meanwhile: the network stays
                return
            raise
        self._forget_bridge(project_id, bridge_network["id"])

    def _forget_bridge(self, project_id: str, network_id: str) -> None:
        """Remove the bottom copies and the routing of a tenant's deleted bridge network."""
        self.mirror.delete_bottom_copies(constants.NETWORK, network_id)
        forget_bottom_resource(
            self.mirror.session_factory,
            top_id=constants.bridge_key(project_id),
            pod_id=self._top_pod().pod_id,
        )
        LOG.info("bridge network deleted project_id=%s top_network_id=%s", project_id, network_id)

    # -- bottom routers ---------------------------------------------------------------------------

    def _teardown_bottom_router(self, pod: Pod, router_id: str) -> None:
        """Clear routes, remove every interface, delete the bottom router, forget its routing."""
        with self.mirror.session_factory() as session:
            bottom_router_id = routings.find_bottom_id(session, router_id, pod.pod_id)
        if bottom_router_id is None:
            return
        bottom = self.mirror.bottom(pod)
        _put_quietly(
            bottom, f"/v2.0/routers/{segment(bottom_router_id)}", {"router": {"routes": []}}
        )
        for port in self._interfaces(pod, bottom_router_id):
            _put_quietly(
                bottom,
                f"/v2.0/routers/{segment(bottom_router_id)}/remove_router_interface",
                {"port_id": port["id"]},
            )
        self.mirror.delete_bottom_copy(pod, constants.ROUTER, router_id)

    # -- routes -----------------------------------------------------------------------------------

    def configure_routes(self, router_id: str, routed_pods: set[str] | None = None) -> None:
        """Set each bottom router's extra routes from the recorded state of ``router_id``.

        ``routed_pods`` limits which pods take part (default: every pod with a bridge port).
        With an external gateway, pods other than the gateway pod route by default via it.
        """
        for pod, bottom_router_id, current, wanted in self.route_plans(router_id, routed_pods):
            if same_routes(current, wanted):
                continue
            self.mirror.bottom(pod).put(
                f"/v2.0/routers/{segment(bottom_router_id)}", json={"router": {"routes": wanted}}
            )
            LOG.info(
                "bottom routes set region=%s bottom_router_id=%s top_router_id=%s routes=%s",
                pod.region_name,
                bottom_router_id,
                router_id,
                wanted,
            )

    def route_plans(
        self, router_id: str, routed_pods: set[str] | None = None
    ) -> list[tuple[Pod, str, list[JSON], list[Route]]]:
        """(pod, bottom router ID, its current routes, the routes it should have) per bottom
        router of ``router_id``."""
        bottom_routers = self.mirror.copies(constants.ROUTER, router_id)
        if not bottom_routers:
            return []
        top_router = self._top_router(router_id)
        attached = {} if top_router is None else self._attached_subnets(router_id)
        cidrs = {
            top_subnet_id: self.mirror.get_top_subnet(top_subnet_id)["cidr"]
            for top_subnet_id in attached
        }
        local_cidrs: dict[str, set[str]] = {pod.pod_id: set() for pod, _id in bottom_routers}
        for top_subnet_id, cidr in cidrs.items():
            for pod, _bottom_id in self.mirror.copies(constants.SUBNET, top_subnet_id):
                if pod.pod_id in local_cidrs:
                    local_cidrs[pod.pod_id].add(cidr)
        bridge_ips: dict[str, str] = {}
        project_id = top_router["project_id"] if top_router else None
        bridge_network = self._find_bridge_network(project_id) if project_id else None
        if bridge_network is not None:
            for port in self._bridge_ports(bridge_network, router_id):
                pod_id = port["name"].removeprefix(bridge_port_name(""))
                if routed_pods is None or pod_id in routed_pods:
                    bridge_ips[pod_id] = port["fixed_ips"][0]["ip_address"]
        placed = self._gateway_network(top_router)
        wanted = compute_extra_routes(local_cidrs, bridge_ips, placed[0].pod_id if placed else None)
        return [
            (
                pod,
                bottom_router_id,
                self.mirror.bottom(pod)
                .get(f"/v2.0/routers/{segment(bottom_router_id)}")["router"]
                .get("routes", []),
                wanted[pod.pod_id],
            )
            for pod, bottom_router_id in bottom_routers
        ]


def _reaches_every_pod(top_network: Mapping[str, Any]) -> bool:
    """True for a network whose bottom copies share one L2 segment (shared_vlan)."""
    return top_network.get("provider:network_type") == constants.TYPE_SHARED_VLAN


def _delete_quietly(client: PodClient, path: str) -> None:
    """DELETE ``path``; a 404 means it is already gone."""
    try:
        client.delete(path)
    except PodClientError as exc:
        if exc.status != 404:
            raise


def _put_quietly(client: PodClient, path: str, body: JSON) -> None:
    """PUT ``body``; a 404 (already gone or not attached) is fine."""
    try:
        client.put(path, json=body)
    except PodClientError as exc:
        if exc.status != 404:
            raise

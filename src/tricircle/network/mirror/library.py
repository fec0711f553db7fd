"""BottomMirror: copies of top networks, subnets, security groups and ports in one pod.

Every bottom create goes through create-once (the routing row is the lock, the bottom resource is
named after the top ID), with Tricircle's admin credentials, owned by the top resource's project.
Each public call either completes or undoes what it made itself (bottom copies, routings, a top
port it created), so a failure part way leaves nothing half-made in any pod.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tricircle.cache import TtlCache
from tricircle.db import pods as pod_queries
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.jobs import queue
from tricircle.network import constants
from tricircle.network.mirror import errors, pools, tables
from tricircle.network.mirror.tables import Kind
from tricircle.network.mirror.undo import Made, Undo
from tricircle.pods.client import PodClient, PodClientError, PodClients
from tricircle.pods.create_once import ensure_bottom_resource, forget_bottom_resource
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

ROUTER_INTERFACE_OWNER = "network:router_interface"
DHCP_OWNER = "network:dhcp"
RULE_EXISTS = "SecurityGroupRuleExists"  # Neutron's error type for a duplicate rule
# A pod's DHCP agent adopts a port with this device_id instead of allocating an address itself.
RESERVED_DHCP_DEVICE = "reserved_dhcp_port"
TOP_PORT = "top_port"  # Made.resource_type of a top port a call created

JSON = dict[str, Any]


@dataclass(frozen=True)
class ServerPort:
    """A server's port in a pod: the top port, its bottom copy, and what the call made.

    ``made`` lists the bottom copies (and the top port, resource type ``top_port``) created by
    this call, in order; ``BottomMirror.release_server_port`` undoes exactly those.
    """

    top_port: JSON
    bottom_port: JSON
    made: tuple[Made, ...]

    @property
    def top_port_created(self) -> bool:
        """True if the call created the top port (a ``uuid`` request, not a ``port`` one)."""
        return any(made.resource_type == TOP_PORT for made in self.made)


class BottomMirror:
    """Bottom copies of top Neutron resources, made once per (top ID, pod).

    Built from the Tricircle database's session factory, the pod clients (Tricircle's service
    identity, an admin) and the top region's name. Pods are ``tricircle.db.models.Pod`` rows.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        pod_clients: PodClients,
        top_region_name: str = "RegionOne",
        top_networks: TtlCache[str, JSON] | None = None,
    ) -> None:
        """``top_networks`` keeps top networks as read (a gateway's cache: a change on the central
        Neutron is seen once the entry's TTL has passed); by default nothing is kept."""
        self.session_factory = session_factory
        self.pod_clients = pod_clients
        self.top_region_name = top_region_name
        self.top_networks: TtlCache[str, JSON] = (
            TtlCache(1, 0.0) if top_networks is None else top_networks
        )

    # -- the central Neutron ------------------------------------------------------------------

    @property
    def top(self) -> PodClient:
        """The central Neutron."""
        return self.pod_clients.client(self.top_region_name, "network")

    def bottom(self, pod: Pod) -> PodClient:
        """A pod's Neutron."""
        return self.pod_clients.client(pod.region_name, "network")

    def _get_top(
        self, kind: Kind, top_id: str, not_found: type[errors.TopResourceNotFound]
    ) -> JSON:
        try:
            return self.top.get(f"/v2.0/{kind.path}/{segment(top_id)}")[kind.key]
        except PodClientError as exc:
            if exc.status == 404:
                raise not_found(top_id) from exc
            raise

    def get_top_network(self, top_network_id: str) -> JSON:
        """The top network (from ``top_networks`` while fresh; not to be changed by the caller);
        raises NetworkNotFound."""
        return self.top_networks.get_or_load(
            top_network_id,
            lambda: self._get_top(tables.NETWORK, top_network_id, errors.NetworkNotFound),
        )

    def get_top_subnet(self, top_subnet_id: str) -> JSON:
        """The top subnet; raises SubnetNotFound."""
        return self._get_top(tables.SUBNET, top_subnet_id, errors.SubnetNotFound)

    def get_top_port(self, top_port_id: str) -> JSON:
        """The top port; raises PortNotFound."""
        return self._get_top(tables.PORT, top_port_id, errors.PortNotFound)

    def get_top_security_group(self, top_security_group_id: str) -> JSON:
        """The top security group with its rules; raises SecurityGroupNotFound."""
        return self._get_top(
            tables.SECURITY_GROUP, top_security_group_id, errors.SecurityGroupNotFound
        )

    # -- networks -------------------------------------------------------------------------------

    def ensure_bottom_network(self, pod: Pod, top_network: Mapping[str, Any]) -> str:
        """The bottom network of ``top_network`` in ``pod``, created once; its bottom ID.

        shared_vlan: a ``vlan`` network with the top segment's physical network and VLAN ID.
        local: a plain network, only in its home pod (the pod its hints name, else the first pod
        that asks, recorded once). Raises NetworkNotInPod for a pod the network may not use.
        """
        with Undo() as undo:
            return self._ensure_network(pod, top_network, undo)

    def _ensure_network(self, pod: Pod, top_network: Mapping[str, Any], undo: Undo) -> str:
        self._check_hints(pod, top_network)
        if tables.is_external(top_network):
            return self._existing_external_copy(pod, top_network)
        network_type = top_network.get("provider:network_type")
        provider: JSON
        if network_type == constants.TYPE_SHARED_VLAN:
            provider = {
                "provider:network_type": "vlan",
                "provider:physical_network": top_network["provider:physical_network"],
                "provider:segmentation_id": top_network["provider:segmentation_id"],
            }
        elif network_type == constants.TYPE_LOCAL:
            self._claim_local_home(pod, top_network, undo)
            provider = {}
        else:
            raise errors.NetworkNotInPod(
                top_network["id"], pod.region_name, f"network type {network_type} is not mirrored"
            )

        def body(name: str) -> JSON:
            return {
                "name": name,
                "project_id": top_network["project_id"],
                **tables.travel(tables.NETWORK_ATTRIBUTES, top_network),
                **provider,
            }

        bottom_id, _created = self._ensure_copy(
            pod, tables.NETWORK, top_network["id"], top_network["project_id"], body, undo
        )
        return bottom_id

    def _existing_external_copy(self, pod: Pod, top_network: Mapping[str, Any]) -> str:
        """The copy of an external network in ``pod``, made only by the network's own job."""
        with self.session_factory() as session:
            bottom_id = routings.find_bottom_id(session, top_network["id"], pod.pod_id)
        if bottom_id is None:
            raise errors.NetworkNotInPod(
                top_network["id"],
                pod.region_name,
                "an external network is only in the pod that hosts it",
            )
        return bottom_id

    # -- external networks ------------------------------------------------------------------------

    def ensure_bottom_external_network(self, pod: Pod, top_network: Mapping[str, Any]) -> str:
        """The copy of external network ``top_network`` in its pod, made once; its bottom ID.

        The copy is ``router:external`` with the top's provider attributes (a shared_vlan network
        becomes a vlan one with the same physical network and VLAN ID). Raises NetworkNotInPod for
        a pod outside the network's hints or a network type no pod takes.
        """
        self._check_hints(pod, top_network)
        provider = tables.external_provider(top_network)
        if provider is None:
            raise errors.NetworkNotInPod(
                top_network["id"],
                pod.region_name,
                f"an external network of type {top_network.get('provider:network_type')} "
                "cannot be made in a pod",
            )

        def body(name: str) -> JSON:
            return {
                "name": name,
                "project_id": top_network["project_id"],
                "router:external": True,
                "shared": bool(top_network.get("shared")),
                **tables.travel(tables.NETWORK_ATTRIBUTES, top_network),
                **provider,
            }

        with Undo() as undo:
            bottom_id, created = self._ensure_copy(
                pod, tables.NETWORK, top_network["id"], top_network["project_id"], body, undo
            )
        if created:
            LOG.info(
                "external network copied region=%s top_network_id=%s bottom_network_id=%s",
                pod.region_name,
                top_network["id"],
                bottom_id,
            )
        return bottom_id

    def ensure_bottom_external_subnet(
        self, pod: Pod, top_subnet: Mapping[str, Any], bottom_network_id: str
    ) -> str:
        """The copy of an external network's subnet, made once and kept equal to the top; its ID.

        Unlike a tenant subnet it lives in one pod, so it keeps the top gateway and pools. DHCP,
        if the top has it, is turned on once the pod's DHCP port is reserved on the top.
        """
        with Undo() as undo:
            return self._ensure_external_subnet(pod, top_subnet, bottom_network_id, undo)

    def _ensure_external_subnet(
        self, pod: Pod, top_subnet: Mapping[str, Any], bottom_network_id: str, undo: Undo
    ) -> str:
        def body(name: str) -> JSON:
            return {
                "name": name,
                "network_id": bottom_network_id,
                "project_id": top_subnet["project_id"],
                **tables.travel(tables.SUBNET_ATTRIBUTES, top_subnet),
                **{key: top_subnet.get(key) for key in tables.EXTERNAL_SUBNET_MUTABLE},
                "enable_dhcp": False,
            }

        bottom_id, created = self._ensure_copy(
            pod, tables.SUBNET, top_subnet["id"], top_subnet["project_id"], body, undo
        )
        bottom = self.bottom(pod)
        if created:
            if top_subnet.get("enable_dhcp"):
                self._reserve_dhcp_port(pod, top_subnet, bottom_network_id, bottom_id, undo)
                bottom.put(
                    f"/v2.0/subnets/{segment(bottom_id)}", json={"subnet": {"enable_dhcp": True}}
                )
            LOG.info(
                "external subnet copied region=%s top_subnet_id=%s bottom_subnet_id=%s",
                pod.region_name,
                top_subnet["id"],
                bottom_id,
            )
            return bottom_id
        current = bottom.get(f"/v2.0/subnets/{segment(bottom_id)}")["subnet"]
        changed = {
            name: top_subnet.get(name)
            for name in tables.EXTERNAL_SUBNET_MUTABLE
            if not _same_value(name, current.get(name), top_subnet.get(name))
        }
        if changed:
            bottom.put(f"/v2.0/subnets/{segment(bottom_id)}", json={"subnet": changed})
            LOG.info(
                "external subnet updated region=%s top_subnet_id=%s bottom_subnet_id=%s fields=%s",
                pod.region_name,
                top_subnet["id"],
                bottom_id,
                ",".join(sorted(changed)),
            )
        return bottom_id

    def sync_external_network(self, pod: Pod, top_network: Mapping[str, Any]) -> str:
        """Converge an external network's copy in ``pod`` and its subnets' copies; its bottom ID."""
        bottom_network_id = self.ensure_bottom_external_network(pod, top_network)
        top_subnets = self.top.get("/v2.0/subnets", params={"network_id": top_network["id"]})[
            "subnets"
        ]
        for top_subnet in top_subnets:
            self.ensure_bottom_external_subnet(pod, top_subnet, bottom_network_id)
        return bottom_network_id

    @staticmethod
    def _check_hints(pod: Pod, top_network: Mapping[str, Any]) -> None:
        """Refuse a pod whose region and AZ are both outside the network's AZ hints."""
        hints = top_network.get("availability_zone_hints") or []
        if hints and pod.region_name not in hints and pod.az_name not in hints:
            raise errors.NetworkNotInPod(
                top_network["id"],
                pod.region_name,
                f"its availability zone hints are {', '.join(hints)}",
            )

    def _claim_local_home(self, pod: Pod, top_network: Mapping[str, Any], undo: Undo) -> None:
        """Record (once, race-free) the home pod of a local network; refuse any other pod.

        The home is the pod whose region the hints name, else the first pod that asks (inside a
        hinted AZ, if hints name AZs).
        """
        hints = top_network.get("availability_zone_hints") or []
        with self.session_factory() as session:
            top_pod = pod_queries.get_top_pod(session)
            named = [
                candidate.pod_id
                for candidate in pod_queries.list_pods(session)
                if candidate.region_name in hints
            ]
        if top_pod is None:
            raise errors.TopPodNotRegistered("the top pod (Tricircle's region) is not registered")
        wanted = named[0] if named else pod.pod_id
        claimed: list[str] = []

        def claim(_name: str) -> str:
            claimed.append(wanted)
            return wanted

        home = ensure_bottom_resource(
            self.session_factory,
            top_id=top_network["id"],
            pod_id=top_pod.pod_id,
            project_id=top_network["project_id"],
            resource_type=constants.LOCAL_NETWORK_HOME,
            create=claim,
            find_by_name=lambda _name: None,
        )
        if claimed:
            made = Made(self.top_region_name, constants.LOCAL_NETWORK_HOME, top_network["id"])
            undo.push(made, lambda: self.unmake(pod, made))
        if home != pod.pod_id:
            raise errors.NetworkNotInPod(
                top_network["id"], pod.region_name, "it is a local network of another pod"
            )

    # -- subnets and per-pod gateways ------------------------------------------------------------

    def ensure_bottom_subnet(
        self, pod: Pod, top_subnet: Mapping[str, Any], bottom_network_id: str
    ) -> str:
        """The bottom subnet of ``top_subnet`` on ``bottom_network_id``, created once; its ID.

        Its gateway is the pod's own address, reserved by a top port named
        ``gateway_port_name(pod_id)``; its pools are the top pools minus every pod's reserved
        gateway. A new reservation shrinks the other pods' bottom pools too. The copy is made with
        DHCP off and DHCP is turned on once the pod's DHCP port (its address reserved on the top)
        exists: the pod's DHCP agent then adopts that port instead of racing to make its own
        with an address the central IPAM may give to a port in another pod.
        """
        with Undo() as undo:
            return self._ensure_subnet(pod, top_subnet, bottom_network_id, undo)

    def _ensure_subnet(
        self, pod: Pod, top_subnet: Mapping[str, Any], bottom_network_id: str, undo: Undo
    ) -> str:
        def body(name: str) -> JSON:
            gateway_ip = self.reserve_gateway_ip(pod, top_subnet)
            return {
                "name": name,
                "network_id": bottom_network_id,
                "project_id": top_subnet["project_id"],
                "gateway_ip": gateway_ip,
                "allocation_pools": self.bottom_pools(top_subnet),
                **tables.travel(tables.SUBNET_ATTRIBUTES, top_subnet),
                "enable_dhcp": False,
            }

        bottom_id, created = self._ensure_copy(
            pod, tables.SUBNET, top_subnet["id"], top_subnet["project_id"], body, undo
        )
        if created:
            if top_subnet.get("enable_dhcp"):
                self._reserve_dhcp_port(pod, top_subnet, bottom_network_id, bottom_id, undo)
                self.bottom(pod).put(
                    f"/v2.0/subnets/{segment(bottom_id)}", json={"subnet": {"enable_dhcp": True}}
                )
            # Pods that made their copy before our reservation must not hand out our gateway;
            # ours may have been made while another pod reserved its own.
            self.sync_bottom_pools(top_subnet)
            self._enqueue_router_setup(top_subnet)
        return bottom_id

    def _reserve_dhcp_port(
        self,
        pod: Pod,
        top_subnet: Mapping[str, Any],
        bottom_network_id: str,
        bottom_subnet_id: str,
        undo: Undo,
    ) -> None:
        """Reserve the pod's DHCP server address on the top and pre-make its port in the pod.

        Without it the pod's DHCP agent would take an address from the bottom pools that the
        central IPAM may give to a port in another pod.
        """
        name = f"tricircle-dhcp-{pod.pod_id}"
        top_port = self.find_or_create_top_port(
            {
                "name": name,
                "device_owner": DHCP_OWNER,
                "fixed_ips": f"subnet_id={top_subnet['id']}",
            },
            {
                "name": name,
                "network_id": top_subnet["network_id"],
                "project_id": top_subnet["project_id"],
                "device_owner": DHCP_OWNER,
                "device_id": top_subnet["id"],
                "fixed_ips": [{"subnet_id": top_subnet["id"]}],
            },
        )
        address = _address_on(top_port, top_subnet["id"])

        def body(port_name: str) -> JSON:
            return {
                "name": port_name,
                "network_id": bottom_network_id,
                "project_id": top_subnet["project_id"],
                "device_owner": DHCP_OWNER,
                "device_id": RESERVED_DHCP_DEVICE,
                "fixed_ips": [{"subnet_id": bottom_subnet_id, "ip_address": address}],
            }

        self._ensure_copy(pod, tables.PORT, top_port["id"], top_subnet["project_id"], body, undo)
        LOG.info(
            "dhcp address reserved region=%s top_subnet_id=%s top_port_id=%s ip=%s",
            pod.region_name,
            top_subnet["id"],
            top_port["id"],
            address,
        )

    def find_or_create_top_port(self, filters: Mapping[str, str], body: JSON) -> JSON:
        """The first top port matching ``filters``, else a new top port made from ``body``."""
        found = self.top.get("/v2.0/ports", params=dict(filters))["ports"]
        return found[0] if found else self.top.post("/v2.0/ports", json={"port": body})["port"]

    def reserve_gateway_ip(self, pod: Pod, top_subnet: Mapping[str, Any]) -> str | None:
        """The pod's gateway address on ``top_subnet``, reserving it by a top port if needed.

        None when the top subnet has no gateway. Callers hold the (subnet, pod) create-once lock.
        """
        if top_subnet.get("gateway_ip") is None:
            return None
        name = constants.gateway_port_name(pod.pod_id)
        found = self.top.get(
            "/v2.0/ports",
            params={
                "name": name,
                "device_owner": constants.GATEWAY_PORT_OWNER,
                "fixed_ips": f"subnet_id={top_subnet['id']}",
            },
        )["ports"]
        if found:
            return _address_on(found[0], top_subnet["id"])
        port = self.top.post(
            "/v2.0/ports",
            json={
                "port": {
                    "name": name,
                    "network_id": top_subnet["network_id"],
                    "project_id": top_subnet["project_id"],
                    "device_owner": constants.GATEWAY_PORT_OWNER,
                    "device_id": top_subnet["id"],
                    "admin_state_up": False,
                    "fixed_ips": [{"subnet_id": top_subnet["id"]}],
                    "security_groups": [],
                }
            },
        )["port"]
        address = _address_on(port, top_subnet["id"])
        LOG.info(
            "gateway reserved region=%s top_subnet_id=%s top_port_id=%s ip=%s",
            pod.region_name,
            top_subnet["id"],
            port["id"],
            address,
        )
        return address

    def reserved_gateway_ips(self, top_subnet: Mapping[str, Any]) -> list[str]:
        """Every address reserved on ``top_subnet`` as some pod's gateway."""
        ports = self.top.get(
            "/v2.0/ports",
            params={
                "device_owner": constants.GATEWAY_PORT_OWNER,
                "fixed_ips": f"subnet_id={top_subnet['id']}",
            },
        )["ports"]
        return [_address_on(port, top_subnet["id"]) for port in ports]

    def bottom_pools(self, top_subnet: Mapping[str, Any]) -> list[pools.Pool]:
        """The top pools minus every reserved gateway address."""
        return pools.subtract_addresses(
            top_subnet["allocation_pools"], self.reserved_gateway_ips(top_subnet)
        )

    def sync_bottom_pools(self, top_subnet: Mapping[str, Any]) -> list[str]:
        """Bring every pod's bottom copy of ``top_subnet`` to the current pools; regions changed."""
        wanted = self.bottom_pools(top_subnet)
        changed = []
        for pod, bottom_id in self.copies(constants.SUBNET, top_subnet["id"]):
            bottom = self.bottom(pod)
            current = bottom.get(f"/v2.0/subnets/{segment(bottom_id)}")["subnet"][
                "allocation_pools"
            ]
            if pools.normalized(current) == pools.normalized(wanted):
                continue
            bottom.put(
                f"/v2.0/subnets/{segment(bottom_id)}", json={"subnet": {"allocation_pools": wanted}}
            )
            LOG.info(
                "bottom pools updated region=%s top_subnet_id=%s bottom_subnet_id=%s",
                pod.region_name,
                top_subnet["id"],
                bottom_id,
            )
            changed.append(pod.region_name)
        return changed

    def _enqueue_router_setup(self, top_subnet: Mapping[str, Any]) -> None:
        """A subnet copy in a new pod may extend a router: queue setup of its routers."""
        interfaces = self.top.get(
            "/v2.0/ports",
            params={
                "device_owner": ROUTER_INTERFACE_OWNER,
                "fixed_ips": f"subnet_id={top_subnet['id']}",
            },
        )["ports"]
        router_ids = sorted({port["device_id"] for port in interfaces if port["device_id"]})
        if not router_ids:
            return
        with self.session_factory.begin() as session:
            for router_id in router_ids:
                queue.enqueue_job(
                    session,
                    constants.JOB_ROUTER_SETUP,
                    router_id,
                    top_subnet["project_id"],
                    {"router_id": router_id},
                )

    # -- security groups ------------------------------------------------------------------------

    def ensure_bottom_security_group(self, pod: Pod, top_security_group_id: str) -> str:
        """The bottom copy of a top security group, its rules reconciled to the top's; its ID.

        Remote-group rules become one rule per CIDR of the tenant's top subnets.
        """
        with Undo() as undo:
            return self._ensure_security_group(pod, top_security_group_id, undo)

    def _ensure_security_group(self, pod: Pod, top_security_group_id: str, undo: Undo) -> str:
        top_group = self.get_top_security_group(top_security_group_id)
        project_id = top_group["project_id"]

        def body(name: str) -> JSON:
            return {
                "name": name,
                "project_id": project_id,
                **tables.travel(tables.SECURITY_GROUP_ATTRIBUTES, top_group),
            }

        bottom_id, _created = self._ensure_copy(
            pod, tables.SECURITY_GROUP, top_security_group_id, project_id, body, undo
        )
        subnets = self.top.get(
            "/v2.0/subnets", params={"project_id": project_id, "fields": ["cidr", "ip_version"]}
        )["subnets"]
        wanted = tables.bottom_rule_keys(
            top_group["security_group_rules"],
            [(subnet["ip_version"], subnet["cidr"]) for subnet in subnets],
        )
        bottom = self.bottom(pod)
        present = {
            tables.rule_key(rule): rule["id"]
            for rule in bottom.get(
                "/v2.0/security-group-rules", params={"security_group_id": bottom_id}
            )["security_group_rules"]
        }
        for key in set(present) - wanted:
            try:
                bottom.delete(f"/v2.0/security-group-rules/{segment(present[key])}")
            except PodClientError as exc:
                if exc.status != 404:  # 404: a concurrent reconcile of this group removed it
                    raise
        for key in sorted(wanted - set(present), key=repr):
            rule = {
                **tables.rule_body(key),
                "security_group_id": bottom_id,
                "project_id": project_id,
            }
            try:
                bottom.post("/v2.0/security-group-rules", json={"security_group_rule": rule})
            except PodClientError as exc:
                if exc.error_type != RULE_EXISTS:  # a concurrent reconcile of this group made it
                    raise
        return bottom_id

    # -- routers --------------------------------------------------------------------------------

    def ensure_bottom_router(self, pod: Pod, top_router: Mapping[str, Any]) -> str:
        """The bottom copy of ``top_router`` in ``pod`` (no interfaces, no routes); its ID."""

        def body(name: str) -> JSON:
            return {
                "name": name,
                "project_id": top_router["project_id"],
                **tables.travel(tables.ROUTER_ATTRIBUTES, top_router),
            }

        with Undo() as undo:
            bottom_id, _created = self._ensure_copy(
                pod, tables.ROUTER, top_router["id"], top_router["project_id"], body, undo
            )
        return bottom_id

    # -- ports ----------------------------------------------------------------------------------

    def ensure_bottom_port(self, pod: Pod, top_port: Mapping[str, Any]) -> JSON:
        """The bottom copy of ``top_port`` (same fixed IPs and MAC), with its network, subnets and
        security groups ensured first; the bottom port as the pod returns it."""
        with Undo() as undo:
            return self._ensure_port(pod, top_port, undo)

    def _ensure_port(
        self,
        pod: Pod,
        top_port: Mapping[str, Any],
        undo: Undo,
        top_network: Mapping[str, Any] | None = None,
    ) -> JSON:
        """``top_network``, when the caller already read the port's network, saves reading it
        again; a tenant subnet already copied into the pod is not read from the top at all (an
        external subnet's copy is kept equal to the top, so it is always read). A security group
        already copied is taken as it is: ``sync_security_group`` jobs, queued when a rule or a
        subnet of its project changes, keep its rules equal to the top's."""
        if top_network is None:
            top_network = self.get_top_network(top_port["network_id"])
        bottom_network_id = self._ensure_network(pod, top_network, undo)
        external = tables.is_external(top_network)
        ensure_subnet = self._ensure_external_subnet if external else self._ensure_subnet
        bottom_subnet_ids: dict[str, str] = {}
        for fixed_ip in top_port["fixed_ips"]:
            top_subnet_id = fixed_ip["subnet_id"]
            if top_subnet_id in bottom_subnet_ids:
                continue
            routed = None if external else self._routed_copy(pod, top_subnet_id)
            bottom_subnet_ids[top_subnet_id] = routed or ensure_subnet(
                pod, self.get_top_subnet(top_subnet_id), bottom_network_id, undo
            )
        bottom_group_ids = [
            self._routed_copy(pod, group_id) or self._ensure_security_group(pod, group_id, undo)
            for group_id in top_port.get("security_groups") or []
        ]
        made: dict[str, JSON] = {}

        def body(name: str) -> JSON:
            return {
                "name": name,
                "network_id": bottom_network_id,
                "project_id": top_port["project_id"],
                "fixed_ips": [
                    {
                        "subnet_id": bottom_subnet_ids[fixed_ip["subnet_id"]],
                        "ip_address": fixed_ip["ip_address"],
                    }
                    for fixed_ip in top_port["fixed_ips"]
                ],
                "security_groups": bottom_group_ids,
                **tables.travel(tables.PORT_ATTRIBUTES, top_port),
            }

        bottom_id, _created = self._ensure_copy(
            pod, tables.PORT, top_port["id"], top_port["project_id"], body, undo, made
        )
        return made.get("port") or self.bottom(pod).get(f"/v2.0/ports/{segment(bottom_id)}")["port"]

    def prepare_server_port(
        self,
        pod: Pod,
        project_id: str,
        requested: Mapping[str, Any],
        security_groups: Sequence[str] | None = None,
    ) -> ServerPort:
        """The top and bottom port for one entry of a Nova ``networks`` request in ``pod``.

        ``requested`` is ``{"uuid": net}``, ``{"uuid": net, "fixed_ip": ip}`` (a new top port:
        central IPAM gives IP and MAC; ``security_groups`` are names or IDs in ``project_id``,
        default the project's default group) or ``{"port": id}`` (an existing, unbound top port of
        the project). On failure everything made is undone and the error raised: NetworkNotFound,
        PortNotFound, SecurityGroupNotFound, PortInUse, NetworkNotInPod, InvalidNetworkRequest.
        """
        with Undo() as undo:
            if requested.get("port"):
                top_port = self.get_top_port(requested["port"])
                if top_port["project_id"] != project_id:
                    raise errors.PortNotFound(requested["port"])
                if top_port.get("device_id"):
                    raise errors.PortInUse(top_port["id"], top_port["device_id"])
            elif requested.get("uuid"):
                top_network = self.get_top_network(requested["uuid"])
                if top_network["project_id"] != project_id and not top_network.get("shared"):
                    raise errors.NetworkNotFound(requested["uuid"])
                self._ensure_network(pod, top_network, undo)
                top_port = self._create_top_port(
                    project_id, top_network, requested.get("fixed_ip"), security_groups, undo
                )
            else:
                raise errors.InvalidNetworkRequest(
                    f"a network request needs 'uuid' or 'port': {dict(requested)}"
                )
            bottom_port = self._ensure_port(
                pod, top_port, undo, top_network if requested.get("uuid") else None
            )
            return ServerPort(top_port=top_port, bottom_port=bottom_port, made=undo.made)

    def _create_top_port(
        self,
        project_id: str,
        top_network: Mapping[str, Any],
        fixed_ip: str | None,
        security_groups: Sequence[str] | None,
        undo: Undo,
    ) -> JSON:
        body: JSON = {"network_id": top_network["id"], "project_id": project_id}
        if fixed_ip:
            body["fixed_ips"] = [{"ip_address": fixed_ip}]
        if security_groups:
            body["security_groups"] = [
                self._find_top_security_group(project_id, name_or_id)
                for name_or_id in security_groups
            ]
        try:
            top_port = self.top.post("/v2.0/ports", json={"port": body})["port"]
        except PodClientError as exc:
            if exc.status in (400, 409):
                raise errors.InvalidNetworkRequest(exc.pod_message) from exc
            if exc.status == 404:  # deleted since it was read (or cached)
                self.top_networks.forget(top_network["id"])
                raise errors.NetworkNotFound(top_network["id"]) from exc
            raise
        made = Made(self.top_region_name, TOP_PORT, top_port["id"])
        undo.push(made, lambda: self.delete_top_port(made.top_id))
        LOG.info(
            "top port created top_network_id=%s top_port_id=%s project_id=%s",
            top_network["id"],
            top_port["id"],
            project_id,
        )
        return top_port

    def _find_top_security_group(self, project_id: str, name_or_id: str) -> str:
        """The ID of the project's top security group with this ID or name."""
        for field in ("id", "name"):
            found = self.top.get(
                "/v2.0/security-groups",
                params={"project_id": project_id, field: name_or_id, "fields": "id"},
            )["security_groups"]
            if found:
                return found[0]["id"]
        raise errors.SecurityGroupNotFound(name_or_id)

    def release_server_port(self, pod: Pod, server_port: ServerPort) -> None:
        """Undo what ``prepare_server_port`` made (e.g. when the bottom server failed).

        Copies that other ports now use stay. Every step is tried; the first failure is raised.
        """
        failures: list[Exception] = []
        for made in reversed(server_port.made):
            try:
                self.unmake(pod, made)
            except Exception as exc:
                LOG.exception(
                    "release failed region=%s resource_type=%s top_id=%s",
                    made.region_name,
                    made.resource_type,
                    made.top_id,
                )
                failures.append(exc)
        if failures:
            raise failures[0]

    def unmake(self, pod: Pod, made: Made) -> None:
        """Undo one thing a call made: a top port, a local network's home, or a bottom copy.

        A bottom copy the pod still uses (409: ports of other callers on it) is kept, and so is
        the home of a local network that still has its copy.
        """
        if made.resource_type == TOP_PORT:
            self.delete_top_port(made.top_id)
            return
        if made.resource_type == constants.LOCAL_NETWORK_HOME:
            if self.copies(constants.NETWORK, made.top_id):
                return  # the network still has its copy: it keeps its home
            with self.session_factory() as session:
                top_pod = pod_queries.get_top_pod(session)
            if top_pod is not None:
                forget_bottom_resource(
                    self.session_factory, top_id=made.top_id, pod_id=top_pod.pod_id
                )
            return
        try:
            self.delete_bottom_copy(pod, made.resource_type, made.top_id)
        except PodClientError as exc:
            if exc.status != 409:
                raise
            LOG.info(
                "bottom copy kept, in use region=%s resource_type=%s top_id=%s",
                made.region_name,
                made.resource_type,
                made.top_id,
            )

    def delete_top_port(self, top_port_id: str) -> None:
        """Delete a top port (gone already is fine)."""
        _delete_quietly(self.top, f"/v2.0/ports/{segment(top_port_id)}")

    # -- deletes --------------------------------------------------------------------------------

    def delete_bottom_copy(self, pod: Pod, resource_type: str, top_id: str) -> bool:
        """Delete the bottom copy of ``top_id`` in ``pod`` and forget its routing.

        A network takes the routings of its bottom subnets and remaining (DHCP) ports with it.
        Raises PodClientError 409 while the pod still uses the resource (e.g. ports on a
        network); True if a routing was removed.
        """
        kind = tables.KINDS[resource_type]
        with self.session_factory() as session:
            bottom_id = routings.find_bottom_id(session, top_id, pod.pod_id)
        if bottom_id is None:
            return False
        bottom = self.bottom(pod)
        contained: list[str] = []  # top IDs of the subnets and (DHCP) ports going with it
        if kind is tables.NETWORK:
            for member in (tables.SUBNET, tables.PORT):
                contained += [
                    found["name"]
                    for found in bottom.get(
                        f"/v2.0/{member.path}", params={"network_id": bottom_id, "fields": "name"}
                    )[member.collection]
                    if found["name"]
                ]
        _delete_quietly(bottom, f"/v2.0/{kind.path}/{segment(bottom_id)}")
        for contained_top_id in contained:
            forget_bottom_resource(self.session_factory, top_id=contained_top_id, pod_id=pod.pod_id)
        LOG.info(
            "bottom copy deleted region=%s resource_type=%s top_id=%s bottom_id=%s",
            pod.region_name,
            resource_type,
            top_id,
            bottom_id,
        )
        return forget_bottom_resource(self.session_factory, top_id=top_id, pod_id=pod.pod_id)

    def delete_bottom_copies(self, resource_type: str, top_id: str) -> list[str]:
        """Delete every pod's bottom copy of ``top_id``; the regions touched.

        Deleting a network also forgets where a local network lived.
        """
        touched = []
        for pod, _bottom_id in self.copies(resource_type, top_id):
            self.delete_bottom_copy(pod, resource_type, top_id)
            touched.append(pod.region_name)
        if resource_type == constants.NETWORK:
            with self.session_factory.begin() as session:
                for routing in routings.find_routings_for_top(session, top_id):
                    if routing.resource_type == constants.LOCAL_NETWORK_HOME:
                        routings.delete_routing(session, routing.id)
        return touched

    # -- shared machinery -----------------------------------------------------------------------

    def copies(self, resource_type: str, top_id: str) -> list[tuple[Pod, str]]:
        """(pod, bottom ID) of every complete bottom copy of ``top_id`` of this type."""
        with self.session_factory() as session:
            found = [
                (pod_queries.get_pod(session, routing.pod_id), routing.bottom_id)
                for routing in routings.find_routings_for_top(session, top_id)
                if routing.resource_type == resource_type and routing.bottom_id is not None
            ]
        return found

    def _routed_copy(self, pod: Pod, top_id: str) -> str | None:
        """The bottom ID of ``top_id``'s finished copy in ``pod``, None if it has none yet."""
        with self.session_factory() as session:
            return routings.find_bottom_id(session, top_id, pod.pod_id)

    def _ensure_copy(
        self,
        pod: Pod,
        kind: Kind,
        top_id: str,
        project_id: str,
        body: Callable[[str], JSON],
        undo: Undo,
        answer: dict[str, JSON] | None = None,
    ) -> tuple[str, bool]:
        """Create-once the bottom ``kind`` copy of ``top_id``; (bottom ID, made by this call).

        What this call made is pushed on ``undo``; the pod's create answer goes in ``answer``.
        """
        bottom = self.bottom(pod)
        created = False

        def create(name: str) -> str:
            nonlocal created
            made = bottom.post(f"/v2.0/{kind.path}", json={kind.key: body(name)})[kind.key]
            created = True
            if answer is not None:
                answer[kind.key] = made
            return made["id"]

        def find_by_name(name: str) -> str | None:
            found = bottom.get(f"/v2.0/{kind.path}", params={"name": name, "fields": "id"})[
                kind.collection
            ]
            return found[0]["id"] if found else None

        bottom_id = ensure_bottom_resource(
            self.session_factory,
            top_id=top_id,
            pod_id=pod.pod_id,
            project_id=project_id,
            resource_type=kind.resource_type,
            create=create,
            find_by_name=find_by_name,
        )
        if created:
            made = Made(pod.region_name, kind.resource_type, top_id)
            undo.push(made, lambda: self.unmake(pod, made))
        return bottom_id, created


def _address_on(port: Mapping[str, Any], top_subnet_id: str) -> str:
    """The port's address on ``top_subnet_id``."""
    for fixed_ip in port["fixed_ips"]:
        if fixed_ip["subnet_id"] == top_subnet_id:
            return fixed_ip["ip_address"]
    raise errors.MirrorError(f"port {port['id']} has no address on subnet {top_subnet_id}")


def _same_value(name: str, first: Any, second: Any) -> bool:
    """True if a subnet attribute has the same value on both sides (pools and routes unordered)."""
    if name == "allocation_pools":
        return pools.normalized(first or []) == pools.normalized(second or [])
    if name == "host_routes":
        return {(r["destination"], r["nexthop"]) for r in first or []} == {
            (r["destination"], r["nexthop"]) for r in second or []
        }
    return first == second


def _delete_quietly(client: PodClient, path: str) -> None:
    """DELETE ``path``; a 404 means it is already gone."""
    try:
        client.delete(path)
    except PodClientError as exc:
        if exc.status != 404:
            raise

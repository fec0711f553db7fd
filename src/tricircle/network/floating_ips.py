"""Floating IPs: a top floating IP becomes one bottom floating IP in its external network's pod.

The pod hosting the external network (the gateway pod) carries the router's real gateway (see
``l3``), so it also carries every floating IP of that network: the bottom floating IP has the top's
address and is associated there with

- the server port's own bottom copy, when the server runs in the gateway pod;
- otherwise a *shadow port*: a port in the gateway pod on the bottom copy of the server's
  shared_vlan network, holding the server's address (under another MAC, never bound: the pod's
  DHCP server must not answer the real server). The gateway pod's router is attached to that
  network (``l3`` plans it so), so it reaches the server over the shared VLAN: inbound traffic is
  translated once, there, and the server's replies come back through its own pod's router and
  the bridge network to the gateway pod's router, where the translation is undone.

``setup_floatingip`` converges one top floating IP from what the central Neutron says: created,
associated, re-associated to a port in another pod, disassociated (also when its port is deleted)
or deleted. A port no server uses yet is wired when a server takes it (its ``device_id`` changes).
The top port a bottom floating IP serves is recorded (routing ``fip:<id>``), which is
what the central Neutron reports as the floating IP's ``ACTIVE`` status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.jobs.handlers import NotYet
from tricircle.network import constants
from tricircle.network.l3 import RouterL3
from tricircle.network.mirror import ExternalNetworkNotPlaced, PortNotFound
from tricircle.pods.client import PodClientError
from tricircle.pods.create_once import ensure_bottom_resource, forget_bottom_resource
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

JSON = dict[str, Any]


class PortNotPlaced(NotYet):
    """A floating IP's port belongs to a server that has no copy of it in a pod yet."""


class FloatingIPNotWirable(ValueError):
    """A floating IP's port cannot be reached from the external network's pod."""


class FloatingIPs:
    """Bottom floating IPs and shadow ports of top floating IPs."""

    def __init__(self, l3: RouterL3) -> None:
        self.l3 = l3
        self.mirror = l3.mirror

    def setup_floatingip(self, floatingip_id: str) -> None:
        """Converge top floating IP ``floatingip_id`` (gone or unassociated: unwire it)."""
        top_floatingip = self._top_floatingip(floatingip_id)
        if top_floatingip is None or not top_floatingip.get("port_id"):
            self._unwire(floatingip_id)
            return
        placed = self.mirror.copies(constants.NETWORK, top_floatingip["floating_network_id"])
        if not placed:
            raise ExternalNetworkNotPlaced(top_floatingip["floating_network_id"])
        gateway_pod, bottom_network_id = placed[0]
        try:
            top_port = self.mirror.get_top_port(top_floatingip["port_id"])
        except PortNotFound:  # deleted meanwhile: Neutron disassociates, another job follows
            self._unwire(floatingip_id)
            return
        home = self._port_home(top_port["id"])
        if home is None:
            if top_port.get("device_id"):  # its server is being placed: retry shortly
                raise PortNotPlaced(f"port {top_port['id']} of floating IP {floatingip_id}")
            LOG.info(
                "floating IP waits for a server on its port top_floatingip_id=%s top_port_id=%s",
                floatingip_id,
                top_port["id"],
            )
            return
        # The gateway pod's router must exist with its gateway and interfaces first.
        self.l3.setup_router(top_floatingip["router_id"], top_floatingip["project_id"])
        if home.pod_id == gateway_pod.pod_id:
            bottom_port_id = self._bottom_port_id(gateway_pod, top_port["id"])
        else:
            bottom_port_id = self._ensure_shadow_port(gateway_pod, top_port, top_floatingip)
        previous_port = self._wired_port(floatingip_id)
        self._ensure_bottom_floatingip(
            gateway_pod, top_floatingip, bottom_network_id, bottom_port_id
        )
        self._record_wired_port(top_floatingip, top_port["id"])
        if previous_port and previous_port != top_port["id"]:
            self._remove_unused_shadow(gateway_pod, previous_port)
        LOG.info(
            "floating IP wired region=%s top_floatingip_id=%s address=%s top_port_id=%s "
            "bottom_port_id=%s server_region=%s",
            gateway_pod.region_name,
            floatingip_id,
            top_floatingip["floating_ip_address"],
            top_port["id"],
            bottom_port_id,
            home.region_name,
        )

    # -- top state ------------------------------------------------------------------------------

    def _top_floatingip(self, floatingip_id: str) -> JSON | None:
        try:
            return self.mirror.top.get(f"/v2.0/floatingips/{segment(floatingip_id)}")["floatingip"]
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise

    def _port_home(self, top_port_id: str) -> Pod | None:
        """The pod where the port's server runs (its only plain bottom copy), if any yet."""
        copies = self.mirror.copies(constants.PORT, top_port_id)
        return copies[0][0] if copies else None

    def _bottom_port_id(self, pod: Pod, top_port_id: str) -> str:
        with self.mirror.session_factory() as session:
            bottom_id = routings.find_bottom_id(session, top_port_id, pod.pod_id)
        if bottom_id is None:
            raise LookupError(f"port {top_port_id} has no copy in {pod.region_name}")
        return bottom_id

    # -- shadow ports ---------------------------------------------------------------------------

    def _ensure_shadow_port(
        self, pod: Pod, top_port: Mapping[str, Any], top_floatingip: Mapping[str, Any]
    ) -> str:
        """The shadow of ``top_port`` in gateway pod ``pod``, made once; its bottom ID."""
        top_network = self.mirror.get_top_network(top_port["network_id"])
        if top_network.get("provider:network_type") != constants.TYPE_SHARED_VLAN:
            raise FloatingIPNotWirable(
                f"floating IP {top_floatingip['id']}: port {top_port['id']} is on a "
                f"{top_network.get('provider:network_type')} network, which {pod.region_name} "
                "(the external network's pod) does not reach"
            )
        fixed = _ipv4_fixed_ip(top_port, top_floatingip.get("fixed_ip_address"))
        bottom_network_id = self.mirror.ensure_bottom_network(pod, top_network)
        bottom_subnet_id = self.mirror.ensure_bottom_subnet(
            pod, self.mirror.get_top_subnet(fixed["subnet_id"]), bottom_network_id
        )
        bottom = self.mirror.bottom(pod)

        def create(name: str) -> str:
            body = {
                "name": name,
                "network_id": bottom_network_id,
                "project_id": top_port["project_id"],
                "device_owner": constants.SHADOW_PORT_OWNER,
                "device_id": top_port.get("device_id") or "",
                "fixed_ips": [{"subnet_id": bottom_subnet_id, "ip_address": fixed["ip_address"]}],
                "port_security_enabled": False,
            }
            return bottom.post("/v2.0/ports", json={"port": body})["port"]["id"]

        def find_by_name(name: str) -> str | None:
            found = bottom.get("/v2.0/ports", params={"name": name, "fields": "id"})["ports"]
            return found[0]["id"] if found else None

        return ensure_bottom_resource(
            self.mirror.session_factory,
            top_id=constants.shadow_key(top_port["id"]),
            pod_id=pod.pod_id,
            project_id=top_port["project_id"],
            resource_type=constants.SHADOW_PORT,
            create=create,
            find_by_name=find_by_name,
        )

    def _remove_unused_shadow(self, pod: Pod, top_port_id: str) -> None:
        """Delete the shadow of ``top_port_id`` in ``pod`` unless another floating IP serves it."""
        if self._floatingips_wired_to(top_port_id):
            return
        if self.mirror.delete_bottom_copy(
            pod, constants.SHADOW_PORT, constants.shadow_key(top_port_id)
        ):
            LOG.info("shadow port removed region=%s top_port_id=%s", pod.region_name, top_port_id)

    # -- bottom floating IPs --------------------------------------------------------------------

    def _ensure_bottom_floatingip(
        self,
        pod: Pod,
        top_floatingip: Mapping[str, Any],
        bottom_network_id: str,
        bottom_port_id: str,
    ) -> str:
        """The bottom floating IP (the top's address) associated with ``bottom_port_id``."""
        bottom = self.mirror.bottom(pod)
        address = top_floatingip["floating_ip_address"]
        association = {
            "port_id": bottom_port_id,
            "fixed_ip_address": top_floatingip.get("fixed_ip_address"),
        }

        def create(_name: str) -> str:
            body = {
                "floating_network_id": bottom_network_id,
                "floating_ip_address": address,
                "project_id": top_floatingip["project_id"],
                "description": top_floatingip["id"],
                **association,
            }
            return bottom.post("/v2.0/floatingips", json={"floatingip": body})["floatingip"]["id"]

        def find_by_address(_name: str) -> str | None:
            found = bottom.get(
                "/v2.0/floatingips",
                params={"floating_network_id": bottom_network_id, "floating_ip_address": address},
            )["floatingips"]
            return found[0]["id"] if found else None

        bottom_id = ensure_bottom_resource(
            self.mirror.session_factory,
            top_id=top_floatingip["id"],
            pod_id=pod.pod_id,
            project_id=top_floatingip["project_id"],
            resource_type=constants.FLOATINGIP,
            create=create,
            find_by_name=find_by_address,
        )
        current = bottom.get(f"/v2.0/floatingips/{segment(bottom_id)}")["floatingip"]
        if current.get("port_id") != bottom_port_id or (
            association["fixed_ip_address"]
            and current.get("fixed_ip_address") != association["fixed_ip_address"]
        ):
            bottom.put(f"/v2.0/floatingips/{segment(bottom_id)}", json={"floatingip": association})
        return bottom_id

    def _unwire(self, floatingip_id: str) -> None:
        """Delete the bottom floating IP, its record and the shadow port it alone served."""
        previous_port = self._wired_port(floatingip_id)
        copies = self.mirror.copies(constants.FLOATINGIP, floatingip_id)
        for pod, _bottom_id in copies:
            self.mirror.delete_bottom_copy(pod, constants.FLOATINGIP, floatingip_id)
        self._forget_wired_port(floatingip_id)
        if previous_port:
            for pod, _bottom_id in self.mirror.copies(
                constants.SHADOW_PORT, constants.shadow_key(previous_port)
            ):
                self._remove_unused_shadow(pod, previous_port)
        if copies or previous_port:
            LOG.info(
                "floating IP unwired top_floatingip_id=%s top_port_id=%s",
                floatingip_id,
                previous_port,
            )

    # -- the wired port record ------------------------------------------------------------------

    def _wired_port(self, floatingip_id: str) -> str | None:
        with self.mirror.session_factory() as session:
            return routings.find_bottom_id(
                session, constants.floatingip_port_key(floatingip_id), self.l3.top_pod_id()
            )

    def _record_wired_port(self, top_floatingip: Mapping[str, Any], top_port_id: str) -> None:
        with self.mirror.session_factory.begin() as session:
            routings.record_routing(
                session,
                top_id=constants.floatingip_port_key(top_floatingip["id"]),
                pod_id=self.l3.top_pod_id(),
                project_id=top_floatingip["project_id"],
                resource_type=constants.FLOATINGIP_PORT,
                bottom_id=top_port_id,
            )

    def _forget_wired_port(self, floatingip_id: str) -> None:
        forget_bottom_resource(
            self.mirror.session_factory,
            top_id=constants.floatingip_port_key(floatingip_id),
            pod_id=self.l3.top_pod_id(),
        )

    def _floatingips_wired_to(self, top_port_id: str) -> list[str]:
        with self.mirror.session_factory() as session:
            return [
                routing.top_id.removeprefix(constants.floatingip_port_key(""))
                for routing in routings.list_routings(
                    session, resource_type=constants.FLOATINGIP_PORT
                )
                if routing.bottom_id == top_port_id
            ]


def _ipv4_fixed_ip(top_port: Mapping[str, Any], address: str | None) -> JSON:
    """The port's fixed IP a floating IP maps to (``address``, else its one IPv4 address)."""
    for fixed in top_port["fixed_ips"]:
        if (address and fixed["ip_address"] == address) or (
            not address and "." in fixed["ip_address"]
        ):
            return fixed
    raise FloatingIPNotWirable(f"port {top_port['id']} has no IPv4 address {address or ''}")

"""The central Neutron's L3 plugin: Neutron's router plugin with Tricircle's pods as zones.

Registered as ``tricircle_router`` under ``neutron.service_plugins`` and loaded instead of
``router``. Neutron's L3 plugin checks router ``availability_zone_hints`` against its L3 agents,
and the central Neutron has none; here the check and the router's ``availability_zones`` come
from the core plugin (``tricircle_ml2``), which reads Tricircle's pods.

A floating IP lives in the pod of its external network; a local network lives in one pod. So a
floating IP for a port on a local network of another pod is refused (400) before anything is
made. No L3 agent reports a floating IP's status either: a floating IP is ``ACTIVE`` when its bottom
copy serves the port it is associated with now (Tricircle's record of the wired port), else
``DOWN``.
"""

from __future__ import annotations

from typing import Any

from neutron.services.l3_router import l3_router_plugin
from neutron_lib import constants as lib_constants
from neutron_lib import exceptions
from neutron_lib.api.definitions import availability_zone as az_def
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.plugins import directory

from tricircle.db import pods, routings
from tricircle.network import constants, tricircle_db
from tricircle.network.central_plugin import hints_of


class TricircleRouterPlugin(l3_router_plugin.L3RouterPlugin):
    """Routers whose availability zones are Tricircle's pods."""

    def validate_availability_zones(
        self, context: object, resource_type: str, availability_zones: list[str]
    ) -> None:
        """The core plugin's check: each hint names a pod zone or a pod region."""
        directory.get_plugin().validate_availability_zones(
            context, resource_type, availability_zones
        )

    def get_router_availability_zones(self, router: object) -> list[str]:
        """The zones the router's hints name."""
        extra = router["extra_attributes"]  # type: ignore[index]
        stored = extra[az_def.AZ_HINTS] if extra else None
        hints = az_validator.convert_az_string_to_list(stored)
        return directory.get_plugin().zones_of_hints(hints)

    def create_floatingip(self, context: Any, floatingip: dict, **kwargs: Any) -> dict:
        """Neutron's create, after checking the port's network is reachable from the pod of the
        external network."""
        body = floatingip["floatingip"]
        self._check_reach(context, body.get("port_id"), body["floating_network_id"])
        return super().create_floatingip(context, floatingip, **kwargs)

    def update_floatingip(self, context: Any, id: str, floatingip: dict) -> dict:
        """Neutron's update, with the check of ``create_floatingip`` for a new port."""
        port_id = floatingip["floatingip"].get("port_id")
        if port_id:
            current = super().get_floatingip(context, id, ["floating_network_id"])
            self._check_reach(context, port_id, current["floating_network_id"])
        return super().update_floatingip(context, id, floatingip)

    @staticmethod
    def _check_reach(context: Any, port_id: str | None, floating_network_id: str) -> None:
        if not port_id:
            return
        core = directory.get_plugin()
        port = core.get_port(context, port_id)  # another project's port: Neutron's 404
        network = core.get_network(context.elevated(), port["network_id"])
        if network.get("provider:network_type") != constants.TYPE_LOCAL:
            return
        external = core.get_network(context.elevated(), floating_network_id)
        external_region = core.external_network_region(hints_of(external))
        home_region = _local_home_region(network)
        if home_region is not None and home_region != external_region:
            raise exceptions.BadRequest(
                resource="floatingip",
                msg=f"Port {port_id} is on local network {network['id']} of {home_region}; "
                f"floating IPs of external network {floating_network_id} live in "
                f"{external_region} and reach local networks of that pod only.",
            )

    def get_floatingip(self, context: Any, id: str, fields: list[str] | None = None) -> dict:
        """The floating IP, its status from Tricircle's wiring."""
        floatingip = super().get_floatingip(context, id, fields)
        return _with_status([floatingip])[0]

    def get_floatingips(
        self,
        context: Any,
        filters: dict | None = None,
        fields: list[str] | None = None,
        sorts: list | None = None,
        limit: int | None = None,
        marker: str | None = None,
        page_reverse: bool = False,
    ) -> list[dict]:
        """Floating IPs, their statuses from Tricircle's wiring."""
        floatingips = super().get_floatingips(
            context, filters, fields, sorts, limit, marker, page_reverse
        )
        return _with_status(floatingips)


def _local_home_region(network: dict) -> str | None:
    """The region of a local network's pod: where it was placed, else its one region hint."""
    with tricircle_db.sessions()() as session:
        top_pod = pods.get_top_pod(session)
        home_pod_id = (
            routings.find_bottom_id(session, network["id"], top_pod.pod_id) if top_pod else None
        )
        if home_pod_id is not None:
            home = pods.get_pod(session, home_pod_id)
            return home.region_name if home else None
        regions = {pod.region_name for pod in pods.list_pods(session)}
    named = [hint for hint in hints_of(network) if hint in regions]
    return named[0] if len(named) == 1 else None


def _with_status(floatingips: list[dict]) -> list[dict]:
    """Set ``status`` (where shown) to ACTIVE for floating IPs wired to their current port."""
    shown = [fip for fip in floatingips if "status" in fip and "id" in fip]
    if not shown:
        return floatingips
    keys = {constants.floatingip_port_key(fip["id"]): fip for fip in shown}
    with tricircle_db.sessions()() as session:
        top_pod = pods.get_top_pod(session)
        wired = routings.bottom_ids_of(session, list(keys), top_pod.pod_id) if top_pod else {}
    for key, fip in keys.items():
        port_id = fip.get("port_id")
        active = port_id is not None and wired.get(key) == port_id
        fip["status"] = (
            lib_constants.FLOATINGIP_STATUS_ACTIVE
            if active
            else lib_constants.FLOATINGIP_STATUS_DOWN
        )
    return floatingips

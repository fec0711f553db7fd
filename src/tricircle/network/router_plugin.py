"""The central Neutron's L3 plugin: Neutron's router plugin with Tricircle's pods as zones.

Registered as ``tricircle_router`` under ``neutron.service_plugins`` and loaded instead of
``router``. Neutron's L3 plugin checks router ``availability_zone_hints`` against its L3 agents,
and the central Neutron has none; here the check and the router's ``availability_zones`` come
from the core plugin (``tricircle_ml2``), which reads Tricircle's pods.

No L3 agent reports a floating IP's status either: a floating IP is ``ACTIVE`` when its bottom
copy serves the port it is associated with now (Tricircle's record of the wired port), else
``DOWN``.
"""

from __future__ import annotations

from typing import Any

from neutron.services.l3_router import l3_router_plugin
from neutron_lib import constants as lib_constants
from neutron_lib.api.definitions import availability_zone as az_def
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.plugins import directory

from tricircle.db import pods, routings
from tricircle.network import constants, tricircle_db


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

"""The central Neutron's L3 plugin: Neutron's router plugin with Tricircle's pods as zones.

Registered as ``tricircle_router`` under ``neutron.service_plugins`` and loaded instead of
``router``. Neutron's L3 plugin checks router ``availability_zone_hints`` against its L3 agents,
and the central Neutron has none; here the check and the router's ``availability_zones`` come
from the core plugin (``tricircle_ml2``), which reads Tricircle's pods.
"""

from __future__ import annotations

from neutron.services.l3_router import l3_router_plugin
from neutron_lib.api.definitions import availability_zone as az_def
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.plugins import directory


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

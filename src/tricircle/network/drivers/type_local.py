"""Tricircle's ``local`` ML2 type driver: a network that lives in exactly one pod.

The segment carries only its type: no physical network, no VLAN, nothing to allocate. Which pod
the network lives in comes from its ``availability_zone_hints`` (or the first server placed on
it) and is enforced when bottom copies are made, not here. The entry point is named
``tricircle_local`` because Neutron's own driver is registered as ``local`` and ML2 loads type
drivers by entry point name; the network type is still ``local``.
"""

from __future__ import annotations

from neutron_lib import constants, exceptions
from neutron_lib.plugins.ml2 import api


class LocalTypeDriver(api.ML2TypeDriver):
    """Segments of type ``local`` with no physical network or segmentation ID."""

    def get_type(self) -> str:
        """The network type users see and ask for."""
        return constants.TYPE_LOCAL

    def initialize(self) -> None:
        """Nothing to set up."""

    def initialize_network_segment_range_support(self) -> None:
        """No ranges: nothing to do."""

    def update_network_segment_range_allocations(self) -> None:
        """No ranges: nothing to do."""

    def get_network_segment_ranges(self) -> None:
        """Local networks have no ranges."""
        return None

    def is_partial_segment(self, segment: dict) -> bool:
        """A local segment is always complete."""
        return False

    def validate_provider_segment(self, segment: dict) -> None:
        """Refuse a physical network or segmentation ID on a local network."""
        extra = sorted(key for key, value in segment.items() if value and key != api.NETWORK_TYPE)
        if extra:
            raise exceptions.InvalidInput(
                error_message=f"{', '.join(extra)} not allowed for a local network"
            )

    def reserve_provider_segment(
        self, context: object, segment: dict, filters: dict | None = None
    ) -> dict:
        """Nothing to reserve."""
        return {api.NETWORK_TYPE: constants.TYPE_LOCAL}

    def allocate_tenant_segment(self, context: object, filters: dict | None = None) -> dict:
        """Always available."""
        return {api.NETWORK_TYPE: constants.TYPE_LOCAL}

    def release_segment(self, context: object, segment: dict) -> None:
        """Nothing to release."""

    def get_mtu(self, physical_network: str | None = None) -> int:
        """No MTU constraint of its own (0: use the deployment's)."""
        return 0

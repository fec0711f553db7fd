"""The ``shared_vlan`` ML2 type driver: one VLAN per network, the same in every pod.

It is ML2's own VLAN driver with another network type name and another range option: allocation,
the ``ml2_vlan_allocations`` table, its startup sync and its concurrency handling (compare-and-swap
updates and DB retries) are Neutron's. Because the table is keyed by physical network and VLAN ID
only, a server must not load this driver together with ML2's ``vlan`` driver: each one's startup
sync would delete the other's physical networks. The central Neutron loads only ``shared_vlan``.
"""

from __future__ import annotations

import sys

from neutron.plugins.ml2.drivers import type_vlan
from neutron_lib import exceptions
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg
from oslo_log import log

from tricircle.network import opts
from tricircle.network.drivers import segment_input
from tricircle.network.drivers.vlan_ranges import VlanRangeError, parse_vlan_ranges

LOG = log.getLogger(__name__)
TYPE_SHARED_VLAN = "shared_vlan"

opts.register()
segment_input.install()


class SharedVlanTypeDriver(type_vlan.VlanTypeDriver):
    """VLAN segments from ``[tricircle] network_vlan_ranges``, shown as ``shared_vlan``."""

    def get_type(self) -> str:
        """The network type users see and ask for."""
        return TYPE_SHARED_VLAN

    def _parse_network_vlan_ranges(self) -> None:
        """Read the ranges; a bad entry stops the server with a message naming it."""
        try:
            self._network_vlan_ranges = parse_vlan_ranges(cfg.CONF.tricircle.network_vlan_ranges)
        except VlanRangeError as error:
            LOG.critical("[tricircle] %s; service terminated", error)
            sys.exit(f"shared_vlan: [tricircle] {error}")
        LOG.info("shared_vlan ranges: %s", self._network_vlan_ranges)

    def validate_provider_segment(self, segment: dict) -> None:
        """Neutron's VLAN checks, and a VLAN ID that is an integer in a configured range of
        its physical network; InvalidInput (Neutron's 400) otherwise."""
        vlan_id = segment.get(api.SEGMENTATION_ID)
        if vlan_id is not None and not segment_input.is_integer(vlan_id):
            raise exceptions.InvalidInput(error_message=f"'{vlan_id}' is not an integer")
        super().validate_provider_segment(segment)
        if vlan_id is None:
            return
        physical_network = segment[api.PHYSICAL_NETWORK]
        ranges = self._network_vlan_ranges.get(physical_network, [])
        if not any(low <= int(vlan_id) <= high for low, high in ranges):
            allowed = ", ".join(f"{low}-{high}" for low, high in ranges)
            raise exceptions.InvalidInput(
                error_message=f"segmentation_id {vlan_id} is not a VLAN of {physical_network} "
                f"({allowed})"
            )

    def reserve_provider_segment(
        self, context: object, segment: dict, filters: dict | None = None
    ) -> dict:
        """The VLAN asked for (or a free one on the physical network asked for)."""
        return self._as_shared(super().reserve_provider_segment(context, segment, filters))

    def allocate_tenant_segment(self, context: object, filters: dict | None = None) -> dict | None:
        """A free VLAN from the configured ranges, or None when they are exhausted."""
        segment = super().allocate_tenant_segment(context, filters)
        return self._as_shared(segment) if segment else None

    @staticmethod
    def _as_shared(segment: dict) -> dict:
        return {**segment, api.NETWORK_TYPE: TYPE_SHARED_VLAN}

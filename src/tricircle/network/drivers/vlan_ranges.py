"""Parsing of ``[tricircle] network_vlan_ranges`` with errors that name the offending entry."""

from __future__ import annotations

from neutron_lib.plugins import utils as plugin_utils

VlanRanges = dict[str, list[tuple[int, int]]]


class VlanRangeError(ValueError):
    """A configured VLAN range entry does not parse or is out of bounds."""


def parse_vlan_ranges(entries: list[str]) -> VlanRanges:
    """``['physnet:min:max', ...]`` -> ``{physnet: [(min, max), ...]}`` in configuration order.

    Every entry must carry a range: a bare physical network would mean all 4094 VLANs, which no
    shared pool should silently claim.
    """
    ranges: VlanRanges = {}
    for entry in entries:
        entry = entry.strip()
        if entry.count(":") != 2:
            raise VlanRangeError(
                f"network_vlan_ranges entry {entry!r} is not physical_network:vlan_min:vlan_max"
            )
        try:
            physical_network, vlan_range = plugin_utils.parse_network_vlan_range(entry)
        except Exception as error:
            raise VlanRangeError(f"network_vlan_ranges entry {entry!r}: {error}") from error
        ranges.setdefault(physical_network, []).append(vlan_range)
    return ranges

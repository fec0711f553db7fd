"""Options read by Tricircle's ML2 type drivers inside the central Neutron (group ``[tricircle]``).

This module imports nothing of Tricircle's own configuration: it is loaded into a Neutron server,
whose global ``CONF`` already owns groups such as ``[database]``.
"""

from __future__ import annotations

from oslo_config import cfg

GROUP = "tricircle"

shared_vlan_opts = [
    cfg.ListOpt(
        "network_vlan_ranges",
        default=[],
        help="VLANs the pods' physical switches carry, as physical_network:vlan_min:vlan_max "
        "entries; shared_vlan networks get their segment from these ranges, and provider "
        "requests may name any VLAN of a listed physical network.",
    ),
]


def register(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register the ``[tricircle]`` type driver options on ``conf`` (idempotent)."""
    conf.register_opts(shared_vlan_opts, group=GROUP)

"""Options Tricircle adds to the central Neutron's configuration (group ``[tricircle]``).

This module imports nothing of Tricircle's own configuration: it is loaded into a Neutron server,
whose global ``CONF`` already owns groups such as ``[database]``. ``list_opts`` feeds
``oslo-config-generator`` (namespace ``tricircle.network``), which writes
``etc/neutron-tricircle.conf.sample``.
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

plugin_opts = [
    cfg.StrOpt(
        "database_connection",
        default="sqlite:///tricircle.sqlite",
        secret=True,
        help="SQLAlchemy URL of Tricircle's database (the one its admin API and xjob worker "
        "use): the central Neutron's plugins read pods and routings there and enqueue jobs. "
        "Several Neutron API workers write it at once, so use PostgreSQL beyond a trial.",
    ),
    cfg.FloatOpt(
        "pod_cache_seconds",
        default=5.0,
        min=0.0,
        help="How long a Neutron worker reuses the list of pods (its availability zones) "
        "before reading it again; an unknown hint always rereads it once.",
    ),
]

external_network_opts = [
    cfg.StrOpt(
        "default_region_for_external_network",
        help="Region name of the pod that hosts a router:external network created without an "
        "availability_zone_hints entry. Unset, such a network is refused (400): an external "
        "network lives in exactly one pod, named by its hint.",
    ),
]


def register(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register the ``[tricircle]`` options on ``conf`` (idempotent)."""
    conf.register_opts(shared_vlan_opts + plugin_opts + external_network_opts, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The central Neutron's ``[tricircle]`` options, for oslo-config-generator."""
    return [(GROUP, shared_vlan_opts + plugin_opts + external_network_opts)]

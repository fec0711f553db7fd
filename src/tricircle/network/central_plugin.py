"""The central Neutron's core plugin: ML2 whose availability zones are Tricircle's pods.

Registered as ``tricircle_ml2`` under ``neutron.core_plugins``. Besides the zones it enforces one
rule of the ``local`` network type: a local network lives in a single pod, so it may carry at
most one availability-zone hint.
"""

from __future__ import annotations

from neutron.common import utils as neutron_utils
from neutron.plugins.ml2 import plugin as ml2_plugin
from neutron_lib.api import validators
from neutron_lib.api.definitions import network as net_def
from neutron_lib.api.definitions import provider_net
from neutron_lib.exceptions import BadRequest
from oslo_config import cfg

from tricircle.network import constants, tricircle_db
from tricircle.network.availability_zones import PodAvailabilityZoneMixin, PodZoneCache


def requested_network_types(network: dict) -> set[str]:
    """Network types a create request names, through provider attributes or segments."""
    candidates = [network.get(provider_net.NETWORK_TYPE)]
    segments = network.get("segments")
    if validators.is_attr_set(segments):
        candidates += [segment.get(provider_net.NETWORK_TYPE) for segment in segments]
    return {kind for kind in candidates if validators.is_attr_set(kind)}


def check_local_network_hints(network: dict, hints: list[str]) -> None:
    """Refuse a ``local`` network with more than one availability-zone hint (400)."""
    if constants.TYPE_LOCAL in requested_network_types(network) and len(hints) > 1:
        raise BadRequest(
            resource=net_def.RESOURCE_NAME,
            msg=f"A local network lives in exactly one pod: give at most one "
            f"availability_zone_hints entry, not {len(hints)} ({', '.join(hints)}).",
        )


class TricirclePlugin(PodAvailabilityZoneMixin, ml2_plugin.Ml2Plugin):
    """ML2 with Tricircle's pods as availability zones."""

    def __init__(self) -> None:
        self.pod_zones = PodZoneCache(
            tricircle_db.sessions, lambda: cfg.CONF.tricircle.pod_cache_seconds
        )
        super().__init__()

    def _before_create_network(self, context: object, network: dict) -> None:
        """Check a local network's hints before ML2 makes anything (single and bulk creates)."""
        data = network[net_def.RESOURCE_NAME]
        check_local_network_hints(data, neutron_utils.get_az_hints(data))
        super()._before_create_network(context, network)

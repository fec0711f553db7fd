"""The central Neutron's core plugin: ML2 whose availability zones are Tricircle's pods.

Registered as ``tricircle_ml2`` under ``neutron.core_plugins``. Besides the zones it enforces two
placement rules before anything is committed:

- a ``local`` network lives in a single pod, so it may carry at most one availability-zone hint;
- a ``router:external`` network lives in exactly one pod: its one hint names a pod's region or a
  zone of exactly one pod; without a hint it goes to ``[tricircle]
  default_region_for_external_network``, which is then written as its hint. Anything else is
  Neutron's 400 (InvalidInput).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neutron.common import utils as neutron_utils
from neutron.plugins.ml2 import plugin as ml2_plugin
from neutron_lib.api import validators
from neutron_lib.api.definitions import availability_zone as az_def
from neutron_lib.api.definitions import external_net, provider_net
from neutron_lib.api.definitions import network as net_def
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.exceptions import BadRequest, InvalidInput
from oslo_config import cfg
from oslo_log import log

from tricircle.network import constants, tricircle_db
from tricircle.network.availability_zones import PodAvailabilityZoneMixin, PodZoneCache, PodZones

LOG = log.getLogger(__name__)


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


def is_external(network: Mapping[str, Any]) -> bool:
    """True if a network (or a create/update request) says ``router:external`` true."""
    value = network.get(external_net.EXTERNAL)
    return validators.is_attr_set(value) and bool(value)


def hints_of(network: Mapping[str, Any]) -> list[str]:
    """A network's availability-zone hints, whether stored as Neutron's string or as a list."""
    hints = network.get(az_def.AZ_HINTS)
    if isinstance(hints, str):
        return az_validator.convert_az_string_to_list(hints)
    return list(hints) if validators.is_attr_set(hints) and hints else []


def resolve_external_region(hints: list[str], zones: PodZones, default_region: str | None) -> str:
    """The region of the one pod that hosts an external network; InvalidInput (400) otherwise.

    One hint naming a pod's region, or a zone of exactly one pod; no hint: ``default_region``.
    """
    if len(hints) > 1:
        raise InvalidInput(
            error_message=f"An external network lives in exactly one pod: give one "
            f"availability_zone_hints entry, not {len(hints)} ({', '.join(hints)})."
        )
    if hints:
        region = zones.single_region_of(hints[0])
        if region is None:
            raise InvalidInput(
                error_message=f"Availability zone hint {hints[0]} of an external network names "
                f"no single pod: give a pod's region, or a zone that holds exactly one pod."
            )
        return region
    if not default_region:
        raise InvalidInput(
            error_message="An external network needs one availability_zone_hints entry naming "
            "its pod (no default_region_for_external_network is configured)."
        )
    if default_region not in zones.zone_of_region:
        raise InvalidInput(
            error_message=f"The configured default_region_for_external_network {default_region} "
            f"is no pod: give an availability_zone_hints entry naming the network's pod."
        )
    return default_region


class TricirclePlugin(PodAvailabilityZoneMixin, ml2_plugin.Ml2Plugin):
    """ML2 with Tricircle's pods as availability zones."""

    def __init__(self) -> None:
        self.pod_zones = PodZoneCache(
            tricircle_db.sessions, lambda: cfg.CONF.tricircle.pod_cache_seconds
        )
        super().__init__()

    def _before_create_network(self, context: object, network: dict) -> None:
        """Check a local or external network's hints before ML2 makes anything (single and bulk
        creates); an external network without a hint gets its default pod's region as hint."""
        data = network[net_def.RESOURCE_NAME]
        hints = neutron_utils.get_az_hints(data)
        check_local_network_hints(data, hints)
        if is_external(data):
            region = self.external_network_region(hints)
            if not hints:
                data[az_def.AZ_HINTS] = [region]
            LOG.info("external network placed region=%s name=%s", region, data.get("name"))
        super()._before_create_network(context, network)

    def update_network(self, context: Any, id: str, network: dict) -> dict:
        """Refuse (400) turning a network external unless its hints (or the default) name one
        pod (``id`` is the parameter name Neutron passes)."""
        data = network[net_def.RESOURCE_NAME]
        if is_external(data):
            original = self.get_network(context, id)
            if not is_external(original):
                self.external_network_region(hints_of(original))
        return super().update_network(context, id, network)

    def external_network_region(self, hints: list[str]) -> str:
        """The region of the pod hosting an external network with ``hints`` (InvalidInput, 400).

        A failure on cached pods rereads them once, so a pod just registered counts.
        """
        default_region = cfg.CONF.tricircle.default_region_for_external_network
        try:
            return resolve_external_region(hints, self.pod_zones.get(), default_region)
        except InvalidInput:
            return resolve_external_region(hints, self.pod_zones.get(fresh=True), default_region)

"""Availability zones of the central Neutron, taken from Tricircle's pods.

A stock Neutron learns its zones from its agents; the central Neutron has none. Here the zones are
the bottom pods' ``az_name`` values, and a hint may name either a zone or a pod's region (which
stands for that pod's zone). The top pod (empty ``az_name``) is no zone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable

from neutron_lib import exceptions
from neutron_lib.api.definitions import availability_zone as az_def
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.db import utils as db_utils
from neutron_lib.exceptions import availability_zone as az_exc
from oslo_log import log
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import pods

LOG = log.getLogger(__name__)

# Resources whose hints are pods: Tricircle places both networks and routers in pods.
ZONED_RESOURCES = ("network", "router")


class PodsUnavailable(exceptions.ServiceUnavailable):
    """Tricircle's database could not be read, so no zone can be checked (503)."""

    message = "Availability zones are unavailable: Tricircle's pods could not be read."


@dataclasses.dataclass(frozen=True)
class PodZones:
    """One reading of the pods: the zones, and each bottom pod's region -> its zone."""

    zones: frozenset[str]
    zone_of_region: dict[str, str]

    def zone_of(self, hint: str) -> str | None:
        """The zone a hint names (a zone, or a pod's region), or None if it names nothing."""
        if hint in self.zones:
            return hint
        return self.zone_of_region.get(hint)

    def single_region_of(self, hint: str) -> str | None:
        """The one pod's region a hint names: a pod's region, or a zone holding exactly one pod.

        None for a hint naming no pod, or a zone of several pods.
        """
        if hint in self.zone_of_region:
            return hint
        regions = [region for region, zone in self.zone_of_region.items() if zone == hint]
        return regions[0] if len(regions) == 1 else None


def read_pod_zones(session: Session) -> PodZones:
    """The bottom pods' zones and regions as stored in Tricircle's database."""
    bottom = [pod for pod in pods.list_pods(session) if not pod.is_top]
    return PodZones(
        zones=frozenset(pod.az_name for pod in bottom),
        zone_of_region={pod.region_name: pod.az_name for pod in bottom},
    )


class PodZoneCache:
    """The pods' zones, reread at most every ``max_age()`` seconds (or when asked to)."""

    def __init__(
        self,
        sessions: Callable[[], sessionmaker[Session]],
        max_age: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._zones: PodZones | None = None
        self._read_at = 0.0

    def get(self, fresh: bool = False) -> PodZones:
        """The cached zones, read again if stale or if ``fresh``.

        If Tricircle's database fails, a stale reading is still served (it only shows zones),
        unless ``fresh`` was asked (a check that must not pass on old data): then, or with no
        reading at all, PodsUnavailable (503).
        """
        with self._lock:
            now = self._clock()
            if fresh or self._zones is None or now - self._read_at > self._max_age():
                try:
                    with self._sessions()() as session:
                        self._zones = read_pod_zones(session)
                except SQLAlchemyError as error:
                    if fresh or self._zones is None:
                        LOG.error("pods unreadable in Tricircle's database: %s", error)
                        raise PodsUnavailable() from error
                    LOG.warning(
                        "pods unreadable, serving zones read %.0fs ago: %s",
                        now - self._read_at,
                        error,
                    )
                    return self._zones
                self._read_at = now
                LOG.debug("pod zones read: %s", sorted(self._zones.zones))
            return self._zones


def _matches(zone: dict, filters: dict[str, Iterable[str]]) -> bool:
    """Neutron list filters: every filtered attribute holds one of the listed values."""
    return all(zone[key] in values for key, values in filters.items() if key in zone and values)


class PodAvailabilityZoneMixin:
    """Neutron's availability-zone plugin interface answered from Tricircle's pods.

    Mixed in ahead of ML2's agent-based implementation; ``pod_zones`` must be set by the plugin.
    """

    pod_zones: PodZoneCache

    def get_availability_zones(
        self,
        context: object,
        filters: dict | None = None,
        fields: list[str] | None = None,
        sorts: list | None = None,
        limit: int | None = None,
        marker: str | None = None,
        page_reverse: bool = False,
    ) -> list[dict]:
        """One available zone per pod zone and resource (network, router)."""
        # project_id only serves Neutron's policy check, as in Neutron's own implementation.
        zones = [
            {
                "name": name,
                "resource": resource,
                "state": "available",
                "project_id": getattr(context, "project_id", None),
            }
            for name in sorted(self.pod_zones.get().zones)
            for resource in ZONED_RESOURCES
        ]
        return [
            db_utils.resource_fields(zone, fields)
            for zone in zones
            if _matches(zone, filters or {})
        ]

    def validate_availability_zones(
        self, context: object, resource_type: str, availability_zones: list[str]
    ) -> None:
        """Refuse (AvailabilityZoneNotFound) a hint naming neither a pod zone nor a pod region.

        A hint unknown to the cached pods rereads them once, so a pod just registered counts.
        """
        if not availability_zones or resource_type not in ZONED_RESOURCES:
            return
        zones = self.pod_zones.get()
        if any(zones.zone_of(hint) is None for hint in availability_zones):
            zones = self.pod_zones.get(fresh=True)
        for hint in availability_zones:
            if zones.zone_of(hint) is None:
                LOG.info("availability zone hint %s names no pod (%s)", hint, resource_type)
                raise az_exc.AvailabilityZoneNotFound(availability_zone=hint)

    def get_network_availability_zones(self, network: object) -> list[str]:
        """The zones a network's hints name (hints of pods since removed are left out)."""
        stored = network[az_def.AZ_HINTS]  # type: ignore[index]
        return self.zones_of_hints(az_validator.convert_az_string_to_list(stored))

    def zones_of_hints(self, hints: list[str]) -> list[str]:
        """The zones ``hints`` name, sorted, without the ones naming no pod."""
        if not hints:
            return []
        zones = self.pod_zones.get()
        return sorted({zone for zone in map(zones.zone_of, hints) if zone is not None})

"""The pods' Cinder, reached with the caller's own token, and what every pod supports.

All pods share one Keystone, so a bottom volume made with the caller's token belongs to the
caller's project and each pod enforces its own policy on the caller. Endpoints still come from
Tricircle's service session (its catalog and region adapters); only the token sent differs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import exceptions as ksa_exceptions

from tricircle.api.volume.microversions import MIN_VERSION, ApiVersion
from tricircle.pods.client import PodClient, PodClients

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "volumev3"
VERSIONS_TTL = 300.0


@dataclass(frozen=True)
class BottomAnswer:
    """A pod's successful answer: its status and decoded JSON (None when empty)."""

    status: int
    body: Any


class CallerPodClient(PodClient):
    """A pod's volume service called with the caller's token instead of Tricircle's.

    Without a token (the gateway in noauth mode) it calls with Tricircle's own identity.
    """

    def __init__(self, pod_client: PodClient, token: str | None) -> None:
        super().__init__(pod_client.adapter, pod_client.timeout)
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        microversion: str | None = None,
    ) -> BottomAnswer:
        """Send a request as the caller; the pod's status and JSON, or its typed error."""
        response = self.send(
            method, path, json=json, params=params, microversion=microversion, token=self.token
        )
        return BottomAnswer(response.status_code, self._decoded(response))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = None,
    ) -> Any:
        """Send a request as the caller; the decoded JSON answer, or None for an empty one."""
        return self.call(method, path, json=json, params=params, microversion=microversion).body


class VolumePods:
    """The pods' volume services: per-caller clients and the highest common microversion."""

    def __init__(self, pod_clients: PodClients, versions_ttl: float = VERSIONS_TTL) -> None:
        self.pod_clients = pod_clients
        self.versions_ttl = versions_ttl
        self._lock = threading.Lock()
        self._max_versions: dict[str, ApiVersion] = {}
        self._checked_at = float("-inf")

    def service_client(self, region_name: str) -> PodClient:
        """The pod's volume service as Tricircle itself (admin work such as volume types)."""
        return self.pod_clients.client(region_name, SERVICE_TYPE)

    def caller_client(self, region_name: str, token: str | None) -> CallerPodClient:
        """The pod's volume service as the caller; as Tricircle when there is no token (noauth)."""
        return CallerPodClient(self.service_client(region_name), token)

    def max_version(self, region_names: list[str]) -> ApiVersion:
        """The highest microversion every reachable pod in ``region_names`` supports.

        Each pod's range comes from its version document (keystoneauth discovery), remembered for
        ``versions_ttl`` seconds; a pod that cannot be asked is left out and asked again next time.
        """
        with self._lock:
            stale = time.monotonic() - self._checked_at > self.versions_ttl
            missing = [region for region in region_names if region not in self._max_versions]
            if stale or missing:
                for region in region_names if stale else missing:
                    found = self._discover(region)
                    if found is not None:
                        self._max_versions[region] = found
                if stale:
                    self._checked_at = time.monotonic()
            known = [self._max_versions[r] for r in region_names if r in self._max_versions]
        return min(known, default=MIN_VERSION)

    def reachable(self, region_name: str) -> bool:
        """True if the pod's volume service has answered its version document (remembered)."""
        self.max_version([region_name])
        with self._lock:
            return region_name in self._max_versions

    def _discover(self, region_name: str) -> ApiVersion | None:
        """The pod's highest microversion, or None if its version document cannot be read."""
        try:
            data = self.service_client(region_name).adapter.get_endpoint_data()
        except ksa_exceptions.ClientException as exc:
            LOG.warning("volume versions of pod %s unknown: %s", region_name, exc)
            return None
        if data is None or not data.max_microversion:
            LOG.warning("pod %s announces no volume microversions", region_name)
            return None
        major, minor = data.max_microversion
        return ApiVersion(major, minor)

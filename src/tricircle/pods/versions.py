"""The highest microversion each pod's services speak, kept in one cache off the request path.

A pod's maximum comes from keystoneauth's version discovery (``Discover``'s version data and
its ``max_microversion``) at the endpoint Tricircle's catalog names. Only the first look at a
(pod, service) waits for an answer (bounded by ``timeout``); later, an expired entry is served
at once while one background thread refreshes it, so a stopped pod never stalls a request. A pod
that stops answering keeps its last known maximum but is marked unreachable, and is asked again
sooner than a healthy one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from keystoneauth1 import discover, session
from microversion_parse import Version

from tricircle.pods.client import PodClients

LOG = logging.getLogger(__name__)

FAILED_DISCOVERY_TTL = 3.0
_PROJECT_IN_URL = re.compile(r"/[0-9a-f]{32}/?$")


@dataclass(frozen=True)
class PodVersionEntry:
    """What the last discovery of one pod's service found: when, whether it answered, its max."""

    checked_at: float
    reachable: bool
    maximum: Version | None


class PodVersions:
    """Each (pod region, service type)'s maximum microversion, refreshed in the background."""

    def __init__(self, pod_clients: PodClients, ttl: float, timeout: float = 2.0) -> None:
        self.pod_clients = pod_clients
        self.ttl = ttl
        self.timeout = timeout
        self._cache: dict[tuple[str, str], PodVersionEntry] = {}
        self._refreshing: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def maximum(self, region_name: str, service_type: str) -> Version | None:
        """The service's maximum in the pod, or None if it never answered."""
        return self._entry((region_name, service_type)).maximum

    def reachable(self, region_name: str, service_type: str) -> bool:
        """True if the pod's service answered its latest version discovery."""
        return self._entry((region_name, service_type)).reachable

    def _entry(self, key: tuple[str, str]) -> PodVersionEntry:
        with self._lock:
            entry = self._cache.get(key)
            expired = entry is not None and time.monotonic() - entry.checked_at > self._ttl_of(
                entry
            )
            start_refresh = expired and key not in self._refreshing
            if start_refresh:
                self._refreshing.add(key)
        if entry is None:
            return self._refresh(key)
        if start_refresh:
            threading.Thread(target=self._refresh, args=(key,), daemon=True).start()
        return entry

    def _ttl_of(self, entry: PodVersionEntry) -> float:
        """How long an entry is kept: a failed discovery is retried sooner."""
        return self.ttl if entry.reachable else min(self.ttl, FAILED_DISCOVERY_TTL)

    def _refresh(self, key: tuple[str, str]) -> PodVersionEntry:
        found = self._discover(*key)
        with self._lock:
            previous = self._cache.get(key)
            known = found if found is not None else (previous.maximum if previous else None)
            entry = PodVersionEntry(time.monotonic(), found is not None, known)
            self._cache[key] = entry
            self._refreshing.discard(key)
        return entry

    def _discover(self, region_name: str, service_type: str) -> Version | None:
        """The highest ``max_microversion`` of the version data at the catalog's endpoint."""
        try:
            endpoint = self.pod_clients.client(region_name, service_type).endpoint()
            url = _PROJECT_IN_URL.sub("", endpoint)
            # Discover itself, not the session's cached discovery: a pod's answer may change.
            bounded = session.Session(auth=self.pod_clients.session.auth, timeout=self.timeout)
            found = discover.Discover(bounded, url)
            maximums = [
                entry["max_microversion"]
                for entry in found.version_data()
                if entry.get("max_microversion")
            ]
        except Exception as exc:  # noqa: BLE001 - a pod that cannot be asked is reported
            LOG.warning(
                "microversion discovery failed region=%s service=%s error=%s",
                region_name,
                service_type,
                exc,
            )
            return None
        if not maximums:
            LOG.warning("pod %s announces no %s microversions", region_name, service_type)
            return None
        major, minor = max(maximums)[:2]
        return Version(int(major), int(minor))

"""What every gateway view uses: the app's state, the caller, transactions and the pods."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from flask import g, request
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import gateway, policy
from tricircle.api.compute.microversion import Microversion
from tricircle.api.compute.podcalls import Caller, CallerPodCalls
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClients
from tricircle.pods.scheduler import PodScheduler, make_scheduler

LOG = logging.getLogger(__name__)
EXTENSION = gateway.EXTENSION
FAILED_DISCOVERY_TTL = 3.0


@dataclass(frozen=True)
class PodVersionEntry:
    """What the last discovery of one pod found: when, whether it answered, its maximum."""

    checked_at: float
    reachable: bool
    maximum: Microversion | None


class PodVersions:
    """Each pod's maximum compute microversion from its version document, kept for a while.

    Only the first look at a pod waits for its answer (bounded by ``timeout``); later, an expired
    entry is served while one background refresh runs, so a stopped pod never stalls requests.
    A pod that stops answering keeps its last known maximum but is marked unreachable.
    """

    def __init__(self, pod_clients: PodClients, ttl: float, timeout: float = 2.0) -> None:
        self.pod_clients = pod_clients
        self.ttl = ttl
        self.timeout = timeout
        self._cache: dict[str, PodVersionEntry] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def maximum(self, region_name: str) -> Microversion | None:
        """The pod's maximum, or None if it never answered (left out of the minimum)."""
        return self._entry(region_name).maximum

    def reachable(self, region_name: str) -> bool:
        """True if the pod's compute answered its latest version discovery."""
        return self._entry(region_name).reachable

    def _entry(self, region_name: str) -> PodVersionEntry:
        with self._lock:
            entry = self._cache.get(region_name)
            expired = entry is not None and time.monotonic() - entry.checked_at > self._ttl_of(
                entry
            )
            start_refresh = expired and region_name not in self._refreshing
            if start_refresh:
                self._refreshing.add(region_name)
        if entry is None:
            return self._refresh(region_name)
        if start_refresh:
            threading.Thread(target=self._refresh, args=(region_name,), daemon=True).start()
        return entry

    def _ttl_of(self, entry: PodVersionEntry) -> float:
        """How long an entry is kept: a failed discovery is retried sooner."""
        return self.ttl if entry.reachable else min(self.ttl, FAILED_DISCOVERY_TTL)

    def _refresh(self, region_name: str) -> PodVersionEntry:
        found = self._discover(region_name)
        with self._lock:
            previous = self._cache.get(region_name)
            known = found if found is not None else (previous.maximum if previous else None)
            entry = PodVersionEntry(time.monotonic(), found is not None, known)
            self._cache[region_name] = entry
            self._refreshing.discard(region_name)
        return entry

    def _discover(self, region_name: str) -> Microversion | None:
        """The maximum in the pod's v2.1 version document, or None if it did not answer."""
        adapter = self.pod_clients.client(region_name, "compute").adapter
        try:
            response = adapter.request(
                "/", "GET", timeout=(self.timeout, self.timeout), raise_exc=False
            )
            version = response.json()["version"]["version"]
            return Microversion.parse(version)
        except Exception as exc:  # noqa: BLE001 - a pod that cannot be asked is reported
            LOG.warning("microversion discovery failed region=%s error=%s", region_name, exc)
            return None


@dataclass
class ComputeState:
    """Per-app dependencies of the gateway."""

    conf: cfg.ConfigOpts
    session_factory: sessionmaker[Session]
    enforcer: oslo_policy.Enforcer
    pod_clients: PodClients
    pod_versions: PodVersions
    calls: CallerPodCalls = field(init=False)
    scheduler: PodScheduler = field(init=False)
    mirror: BottomMirror = field(init=False)

    def __post_init__(self) -> None:
        self.calls = CallerPodCalls(self.pod_clients)
        self.scheduler = make_scheduler(
            self.conf,
            self.session_factory,
            reachable=lambda pod: self.pod_versions.reachable(pod.region_name),
        )
        self.mirror = BottomMirror(
            self.session_factory, self.pod_clients, self.conf.client.top_region_name
        )


def state() -> ComputeState:
    """The state of the app serving the current request."""
    return gateway.app_state()


def caller() -> Caller:
    """The caller of the current request."""
    context = g.context
    return Caller(
        token=request.headers.get("X-Auth-Token", ""),
        microversion=g.microversion,
        project_id=context.project_id or "",
        user_id=context.user_id or "",
        is_admin="admin" in (context.roles or []),
    )


def authorize(rule: str, target: dict[str, str] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless the caller may do ``rule`` on ``target``."""
    policy.authorize(state().enforcer, rule, g.context, target)


def gateway_url() -> str:
    """The gateway's versioned base URL as the caller reached it, for links."""
    return request.host_url.rstrip("/") + "/v2.1"

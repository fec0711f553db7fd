"""What every gateway view uses: the app's state, the caller, transactions and the pods."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app, g, request
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import policy
from tricircle.api.compute.microversion import Microversion
from tricircle.api.compute.podcalls import Caller, CallerPodCalls
from tricircle.db import pods as pod_queries
from tricircle.db.models import Pod
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClients
from tricircle.pods.scheduler import PodScheduler, make_scheduler

LOG = logging.getLogger(__name__)
EXTENSION = "tricircle.compute"
FAILED_DISCOVERY_TTL = 3.0


class PodVersions:
    """Each pod's maximum compute microversion, from keystoneauth discovery, cached for a while."""

    def __init__(self, pod_clients: PodClients, ttl: float) -> None:
        self.pod_clients = pod_clients
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Microversion | None]] = {}
        self._lock = threading.Lock()

    def maximum(self, region_name: str) -> Microversion | None:
        """The pod's maximum, or None when the pod cannot be asked (left out of the minimum)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(region_name)
        if cached is not None and now - cached[0] < self._ttl_of(cached[1]):
            return cached[1]
        found = self._discover(region_name)
        with self._lock:
            self._cache[region_name] = (now, found)
        return found

    def _ttl_of(self, found: Microversion | None) -> float:
        """How long an answer is kept: a failed discovery is retried sooner."""
        return self.ttl if found is not None else min(self.ttl, FAILED_DISCOVERY_TTL)

    def _discover(self, region_name: str) -> Microversion | None:
        adapter = self.pod_clients.client(region_name, "compute").adapter
        try:
            data = adapter.get_endpoint_data()
        except Exception as exc:  # noqa: BLE001 - a pod that cannot be asked is skipped
            LOG.warning("microversion discovery failed region=%s error=%s", region_name, exc)
            return None
        if data is None or data.max_microversion is None:
            return None
        major, minor = data.max_microversion
        return Microversion(major, minor)


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
            reachable=lambda pod: self.pod_versions.maximum(pod.region_name) is not None,
        )
        self.mirror = BottomMirror(
            self.session_factory, self.pod_clients, self.conf.client.top_region_name
        )


def state() -> ComputeState:
    """The state of the app serving the current request."""
    return current_app.extensions[EXTENSION]


@contextmanager
def transaction() -> Iterator[Session]:
    """A session inside one transaction, committed when the block ends without error."""
    with state().session_factory() as session, session.begin():
        yield session


def bottom_pods() -> list[Pod]:
    """Every bottom pod (not the top one), ordered by region."""
    with transaction() as session:
        return [pod for pod in pod_queries.list_pods(session) if not pod.is_top]


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

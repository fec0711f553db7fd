"""What every view of the Nova gateway uses: the app's state, policy checks and its URL."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import gateway, policy
from tricircle.api.microversions import ApiVersions
from tricircle.api.podcalls import CallerPodCalls
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClients
from tricircle.pods.scheduler import PodScheduler, make_scheduler
from tricircle.pods.versions import PodVersions

EXTENSION = gateway.EXTENSION


@dataclass
class ComputeState:
    """Per-app dependencies of the gateway."""

    conf: cfg.ConfigOpts
    session_factory: sessionmaker[Session]
    enforcer: oslo_policy.Enforcer
    pod_clients: PodClients
    pod_versions: PodVersions
    api_versions: ApiVersions
    calls: CallerPodCalls = field(init=False)
    scheduler: PodScheduler = field(init=False)
    mirror: BottomMirror = field(init=False)

    def __post_init__(self) -> None:
        self.calls = CallerPodCalls(self.pod_clients, self.api_versions.pod_service_type)
        self.scheduler = make_scheduler(
            self.conf,
            self.session_factory,
            reachable=lambda pod: self.pod_versions.reachable(
                pod.region_name, self.api_versions.pod_service_type
            ),
        )
        self.mirror = BottomMirror(
            self.session_factory, self.pod_clients, self.conf.client.top_region_name
        )


def state() -> ComputeState:
    """The state of the app serving the current request."""
    return gateway.app_state()


def authorize(rule: str, target: dict[str, str] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless the caller may do ``rule`` on ``target``."""
    policy.authorize(state().enforcer, rule, g.context, target)


def gateway_url() -> str:
    """The gateway's versioned base URL as the caller reached it, for links."""
    return request.host_url.rstrip("/") + "/v2.1"

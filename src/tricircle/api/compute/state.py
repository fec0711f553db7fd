"""What every view of the Nova gateway uses: the app's state, policy checks and its URL."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request

from tricircle.api import gateway, policy
from tricircle.api.compute import legacy_v2
from tricircle.api.compute.network_names import TopNetworkNames
from tricircle.network.mirror import BottomMirror

EXTENSION = gateway.EXTENSION


@dataclass
class ComputeState(gateway.GatewayState):
    """The Nova gateway's dependencies: the shared ones, the bottom mirror for networks and the
    top network names."""

    mirror: BottomMirror = field(init=False)
    network_names: TopNetworkNames = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        top_region = self.conf.client.top_region_name
        self.network_names = TopNetworkNames(
            self.caches.top_network_names,
            self.caches.recent_networks,
            lambda: self.pod_clients.client(top_region, "network"),
        )
        self.mirror = BottomMirror(
            self.session_factory, self.pod_clients, top_region, self.caches.top_networks
        )


def state() -> ComputeState:
    """The state of the app serving the current request."""
    return gateway.app_state()


def authorize(rule: str, target: dict[str, str] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless the caller may do ``rule`` on ``target``."""
    policy.authorize(state().enforcer, rule, g.context, target)


def gateway_url() -> str:
    """The gateway's versioned base URL as the caller reached it (``/v2`` or ``/v2.1``), for
    links."""
    version = legacy_v2.PREFIX if legacy_v2.is_legacy(request.environ) else "/v2.1"
    return gateway.root_url() + version

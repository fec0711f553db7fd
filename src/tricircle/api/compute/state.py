"""What every view of the Nova gateway uses: the app's state, policy checks and its URL."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request

from tricircle.api import gateway, policy
from tricircle.network.mirror import BottomMirror

EXTENSION = gateway.EXTENSION


@dataclass
class ComputeState(gateway.GatewayState):
    """The Nova gateway's dependencies: the shared ones and the bottom mirror for networks."""

    mirror: BottomMirror = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
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

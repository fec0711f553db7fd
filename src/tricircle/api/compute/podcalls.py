"""Calls to a pod's services as the Nova gateway's caller, at the caller's compute microversion.

A thin layer over ``tricircle.api.podcalls``: the compute microversion travels only to compute
services; errors are the pod clients' typed errors, mapped to Nova's faults at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tricircle.api.compute.microversion import Microversion
from tricircle.api.podcalls import PodAnswer, PodCalls
from tricircle.pods.client import PodClients

COMPUTE = "compute"


@dataclass(frozen=True)
class Caller:
    """Who is calling and how: the token to forward and the negotiated microversion."""

    token: str
    microversion: Microversion
    project_id: str
    user_id: str
    is_admin: bool


class CallerPodCalls:
    """Requests to any pod's service as the caller."""

    def __init__(self, pod_clients: PodClients) -> None:
        self.calls = PodCalls(pod_clients)

    def call(
        self,
        caller: Caller,
        region_name: str,
        method: str,
        path: str,
        *,
        service_type: str = COMPUTE,
        json: Any = None,
        params: Any = None,
        timeout: float | None = None,
    ) -> PodAnswer:
        """Send one request as ``caller``; the pod's answer or its typed error."""
        return self.calls.call(
            caller.token,
            region_name,
            service_type,
            method,
            path,
            json=json,
            params=params,
            microversion=str(caller.microversion) if service_type == COMPUTE else None,
            timeout=timeout,
        )

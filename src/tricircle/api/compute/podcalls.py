"""Calls to a pod's services on behalf of the caller, with the caller's own token.

The endpoint comes from Tricircle's own keystoneauth session (its catalog), the identity from the
caller: the request carries the caller's ``X-Auth-Token`` and ``authenticated=False``, so the pod
sees the caller, checks its own policy and charges the caller's project quota. A pod's 4xx fault
reaches the caller unchanged (it is already in Nova's dialect); 5xx and silence become the
gateway's own faults, naming the pod only in the logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from requests import Response

from tricircle.api.compute.microversion import Microversion
from tricircle.api.errors import ApiFault
from tricircle.pods.client import PodClients, PodServiceNotFound, PodUnreachable

LOG = logging.getLogger(__name__)


class PodFault(ApiFault):
    """A fault answered by a pod (or about a pod), passed to the caller with its status."""

    def __init__(self, code: int, fault_name: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]
        self.fault_name = fault_name  # type: ignore[misc]


class PodClientFault(PodFault):
    """A pod refused the request (4xx): the caller's request is wrong, not the pod."""


def service_unavailable(region_name: str, detail: str) -> PodFault:
    """The fault for a pod that did not answer; the pod is named in the log only."""
    LOG.warning("pod unreachable region=%s detail=%s", region_name, detail)
    return PodFault(503, "serviceUnavailable", "A compute pod is unavailable, try again later.")


@dataclass(frozen=True)
class Caller:
    """Who is calling and how: the token to forward and the negotiated microversion."""

    token: str
    microversion: Microversion
    project_id: str
    user_id: str
    is_admin: bool


@dataclass(frozen=True)
class PodAnswer:
    """A pod's successful answer: status, decoded JSON (None if empty) and headers."""

    status: int
    body: Any
    headers: dict[str, str]


class CallerPodCalls:
    """Requests to any pod's service as the caller."""

    def __init__(self, pod_clients: PodClients) -> None:
        self.pod_clients = pod_clients

    def call(
        self,
        caller: Caller,
        region_name: str,
        method: str,
        path: str,
        *,
        service_type: str = "compute",
        json: Any = None,
        params: Any = None,
        timeout: float | None = None,
    ) -> PodAnswer:
        """Send one request; the pod's answer, or a PodFault for an error or no answer."""
        client = self.pod_clients.client(region_name, service_type)
        microversion = str(caller.microversion) if service_type == "compute" else None
        try:
            response = client.send(
                method,
                path,
                json=json,
                params=params,
                microversion=microversion,
                token=caller.token,
                timeout=timeout,
            )
        except (PodServiceNotFound, PodUnreachable) as exc:
            raise service_unavailable(region_name, str(exc)) from exc
        LOG.info(
            "pod call region=%s service=%s method=%s path=%s status=%s",
            region_name,
            service_type,
            method,
            path,
            response.status_code,
        )
        return _answer(region_name, response)


def _answer(region_name: str, response: Response) -> PodAnswer:
    """The decoded answer, or the fault it carries."""
    status = response.status_code
    body = _json_or_none(response)
    if status >= 500:
        LOG.error("pod failed region=%s status=%s body=%s", region_name, status, response.text)
        raise PodFault(500, "computeFault", "A compute pod failed to complete the request.")
    if status >= 400:
        raise _client_fault(status, body, response.text)
    return PodAnswer(status, body, dict(response.headers))


def _json_or_none(response: Response) -> Any:
    """The JSON body, or None when empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _client_fault(status: int, body: Any, text: str) -> PodClientFault:
    """The pod's own fault ``{"name": {"code", "message"}}``, or a generic one of that status."""
    if isinstance(body, dict) and len(body) == 1:
        name, detail = next(iter(body.items()))
        if isinstance(detail, dict) and isinstance(detail.get("message"), str):
            return PodClientFault(status, name, detail["message"])
        if name == "error" and isinstance(detail, dict):  # Glance/Keystone style
            return PodClientFault(status, _FAULT_NAMES.get(status, "computeFault"), str(detail))
    return PodClientFault(status, _FAULT_NAMES.get(status, "computeFault"), text.strip()[:500])


_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
}

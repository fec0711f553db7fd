"""Calls to a pod's services on behalf of the caller, shared by the Nova and Cinder gateways.

``CallerPodCalls`` sends the caller's token, and the caller's negotiated microversion to the
gateway's own service in the pod only (a Nova call to a pod's Cinder carries none).

The endpoint comes from Tricircle's own keystoneauth session (its catalog); the identity from
the caller: with a token the request carries it as ``X-Auth-Token`` and is sent unauthenticated
by the session, so the pod sees the caller, checks its own policy and charges the caller's
quota; without one (noauth development mode) Tricircle's identity is used. Failures are the
typed errors of ``tricircle.pods.client``, mapped to each API's dialect at the boundary.

Request IDs: a call as the caller carries the caller's global request ID (the one it sent, else
the gateway's own) as ``X-OpenStack-Request-ID``, which the pod logs beside its own request ID;
the pod's own ID (``PodAnswer.request_id``) is logged with every call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tricircle.api.microversions import Microversion
from tricircle.pods.client import PodClients, json_or_none, raise_for_status

LOG = logging.getLogger(__name__)
GLOBAL_REQUEST_ID_HEADER = "X-OpenStack-Request-ID"
POD_REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")


@dataclass(frozen=True)
class Caller:
    """Who is calling and how: the token to forward and the negotiated microversion."""

    token: str
    microversion: Microversion
    project_id: str
    user_id: str
    is_admin: bool
    # Sent to pods as X-OpenStack-Request-ID: the caller's own global ID, else the gateway's.
    global_request_id: str | None = None


@dataclass(frozen=True)
class PodAnswer:
    """A pod's successful answer: status, decoded JSON (None if empty) and headers."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def request_id(self) -> str | None:
        """The ID the pod gave this request (its ``x-openstack-request-id``), if it gave one."""
        return pod_request_id(self.headers)


def pod_request_id(headers: Mapping[str, str]) -> str | None:
    """The pod's own request ID among response ``headers`` (any case), or None."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return next((lowered[name] for name in POD_REQUEST_ID_HEADERS if name in lowered), None)


class PodCalls:
    """Requests to any pod's services as a caller."""

    def __init__(self, pod_clients: PodClients) -> None:
        self.pod_clients = pod_clients

    def call(
        self,
        token: str | None,
        region_name: str,
        service_type: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = None,
        timeout: float | None = None,
    ) -> PodAnswer:
        """Send one request; the pod's answer, or PodClientError, PodServerError,
        PodUnreachable or PodServiceNotFound."""
        client = self.pod_clients.client(region_name, service_type)
        response = client.send(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            microversion=microversion,
            token=token or None,
            timeout=timeout,
        )
        LOG.info(
            "pod call region=%s service=%s method=%s path=%s status=%s pod_request_id=%s",
            region_name,
            service_type,
            method,
            path,
            response.status_code,
            pod_request_id(response.headers),
        )
        raise_for_status(region_name, service_type, response)
        return PodAnswer(response.status_code, json_or_none(response), dict(response.headers))

    def endpoint(self, region_name: str, service_type: str) -> str:
        """The URL of ``service_type`` in ``region_name`` from the catalog."""
        return self.pod_clients.client(region_name, service_type).endpoint()


class CallerPodCalls:
    """Requests to any pod's services as a caller of one gateway (serving ``service_type``)."""

    def __init__(self, pod_clients: PodClients, service_type: str) -> None:
        self.calls = PodCalls(pod_clients)
        self.service_type = service_type

    def call(
        self,
        caller: Caller,
        region_name: str,
        method: str,
        path: str,
        *,
        service_type: str | None = None,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> PodAnswer:
        """Send one request as ``caller`` (to the gateway's own service unless ``service_type``)."""
        target = service_type or self.service_type
        if caller.global_request_id:
            headers = {**(headers or {}), GLOBAL_REQUEST_ID_HEADER: caller.global_request_id}
        return self.calls.call(
            caller.token,
            region_name,
            target,
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            microversion=str(caller.microversion) if target == self.service_type else None,
            timeout=timeout,
        )

    def endpoint(self, region_name: str) -> str:
        """The URL of the gateway's own service in ``region_name``."""
        return self.calls.endpoint(region_name, self.service_type)

"""Calls of the Nova gateway's proxy APIs to the central Neutron in RegionOne, as the caller."""

from __future__ import annotations

from typing import Any

from flask import g

from tricircle.api.compute.state import state
from tricircle.api.errors import ApiFault, NotFound
from tricircle.api.gateway import caller
from tricircle.pods.client import PodClientError

PROXY_REMOVED_AT = "2.36"


class NeutronRefusal(ApiFault):
    """The central Neutron refused a request (4xx): answered with its status in Nova's dialect
    unless the handler maps it as Nova does; ``error_type`` is Neutron's (``OverQuota``...)."""

    def __init__(self, exc: PodClientError) -> None:
        super().__init__(exc.pod_message, code=exc.status)
        self.error_type = exc.error_type


def check_proxy_available() -> None:
    """Nova's proxy APIs (networks, volumes) are gone from microversion 2.36 on (404)."""
    if g.microversion.at_least(PROXY_REMOVED_AT):
        raise NotFound("The resource could not be found.")


def neutron(method: str, path: str, **kwargs: Any) -> Any:
    """The body of the central Neutron's answer to the caller's request; NeutronRefusal on 4xx."""
    app_state = state()
    try:
        answer = app_state.calls.call(
            caller(),
            app_state.conf.client.top_region_name,
            method,
            path,
            service_type="network",
            **kwargs,
        )
    except PodClientError as exc:
        raise NeutronRefusal(exc) from exc
    return answer.body


def neutron_delete(path: str, missing: str) -> None:
    """Delete ``path`` in the central Neutron as the caller; its 404 is Nova's with ``missing``."""
    try:
        neutron("DELETE", path)
    except NeutronRefusal as exc:
        if exc.code == 404:
            raise NotFound(missing) from exc
        raise

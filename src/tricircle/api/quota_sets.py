"""What both gateways' ``os-quota-sets`` and creates share: the quota engine of the app, the
reservation a create holds until the request ends, project IDs checked before use, and the
views of limits with usage.

A create calls ``reserve`` before it makes anything in a pod; the reservation is released when
the request ends, however it ends (the pod has answered, or the create failed and undid itself).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, g

from tricircle.api import gateway
from tricircle.api.errors import BadRequest
from tricircle.db.models import Pod
from tricircle.quotas.engine import Plan, QuotaEngine, Reservation, Usage
from tricircle.quotas.resources import QuotaService

LOG = logging.getLogger(__name__)

_PROJECT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def engine() -> QuotaEngine:
    """The quota engine of the app serving the current request."""
    state: gateway.GatewayState = gateway.app_state()
    return state.quotas


def checked_project_id(project_id: str, message: str) -> str:
    """``project_id`` if it can be a Keystone project ID; else BadRequest(``message``)."""
    if not _PROJECT_ID.match(project_id):
        raise BadRequest(message)
    return project_id


def reserve(
    service: QuotaService, project_id: str, plan: Plan, user_id: str | None = None
) -> Reservation:
    """Reserve what ``plan`` takes from the project's quota (and ``user_id``'s share) until the
    request ends."""
    reservation = engine().reserve(service, project_id, plan, user_id)
    g.setdefault("quota_reservations", []).append(reservation)
    return reservation


def ensure_pod_limits(service: QuotaService, project_id: str, pod: Pod) -> None:
    """The pod's own quota of the project holds the top limits before a create there."""
    engine().ensure_pod_limits(service, project_id, pod)


def _release_reservations(_error: BaseException | None) -> None:
    for reservation in g.pop("quota_reservations", []):
        try:
            engine().release(reservation)
        except Exception:
            LOG.exception(
                "quota reservation %s not released; it expires by itself",
                reservation.reservation_id,
            )


def install(app: Flask) -> None:
    """Release every reservation a request holds when it ends."""
    app.teardown_request(_release_reservations)


def with_usage(usage: Usage, resources: Iterable[str]) -> dict[str, dict[str, int]]:
    """``{resource: {"in_use", "limit", "reserved"}}`` of the listed resources."""
    return {
        resource: {
            "in_use": usage.in_use.get(resource, 0),
            "limit": usage.limits[resource],
            "reserved": usage.reserved.get(resource, 0),
        }
        for resource in resources
    }


def quota_set(values: dict[str, Any], project_id: str | None) -> dict[str, Any]:
    """``{"quota_set": {...}}``, with ``id`` first when given."""
    body = {"id": project_id} if project_id is not None else {}
    return {"quota_set": {**body, **values}}

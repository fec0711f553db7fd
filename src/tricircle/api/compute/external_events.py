"""``os-server-external-events``: each event forwarded to its server's pod, answered per event.

Servers' top IDs are their IDs in their pods; the pod comes from the routing table, else from
asking the pods. Each pod gets its events in one request; every event comes back with the code
its pod gave it (200, 400, 404, 422), an event of a server no pod holds with 404, and one whose
pod did not answer with 422 (not dispatched). The answer is 200 when all succeeded, else 207,
as Nova answers.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.gateway import caller, transaction
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodCallError, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("compute_external_events", __name__)

NAMES = [
    ("2.0", "network-changed"),
    ("2.0", "network-vif-plugged"),
    ("2.0", "network-vif-unplugged"),
    ("2.0", "network-vif-deleted"),
    ("2.51", "volume-extended"),
    ("2.76", "power-update"),
    ("2.82", "accelerator-request-bound"),
    ("2.93", "volume-reimaged"),
]
STATUSES = ["failed", "completed", "in-progress"]


def _schema() -> dict[str, Any]:
    names = [name for since, name in NAMES if caller().microversion.at_least(since)]
    event = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": names},
            "server_uuid": {
                "type": "string",
                "pattern": "^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$",
            },
            "status": {"type": "string", "enum": STATUSES},
            "tag": {"type": "string", "maxLength": 255},
        },
        "required": ["name", "server_uuid"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"events": {"type": "array", "minItems": 1, "items": event}},
        "required": ["events"],
        "additionalProperties": False,
    }


def _server_pod(server_id: str) -> Pod | None:
    with transaction() as session:
        pod = routings.routed_pod(session, server_id, ResourceType.SERVER)
    if pod is not None:
        return pod
    found = admin_pods.find_pod_showing(f"/servers/{segment(server_id)}")
    return None if found is None else found[0]


def _failed(event: dict[str, Any], code: int) -> dict[str, Any]:
    return {**event, "status": "failed", "code": code}


def _dispatch(pod: Pod, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` as ``pod`` answered them, in the same order."""
    try:
        answer = admin_pods.call_pod(
            pod, "POST", "/os-server-external-events", json={"events": events}
        )
    except PodClientError as exc:
        if exc.status == 404:
            return [_failed(event, 404) for event in events]
        raise
    except PodCallError as exc:
        LOG.warning("external events: pod %s failed (%s); not dispatched", pod.region_name, exc)
        return [_failed(event, 422) for event in events]
    answered = answer.body.get("events", []) if isinstance(answer.body, dict) else []
    if len(answered) != len(events):
        return [_failed(event, 422) for event in events]
    return answered


@blueprint.post("/os-server-external-events")
def create_events() -> ResponseReturnValue:
    """Forward each event to its server's pod; per-event codes, 207 when any failed."""
    admin_pods.authorize_nova(policy.EXTERNAL_EVENTS)
    events = validation.validated(request.get_data(), _schema())["events"]
    pods: dict[str, Pod | None] = {}
    for event in events:
        if event["server_uuid"] not in pods:
            pods[event["server_uuid"]] = _server_pod(event["server_uuid"])
    results: list[dict[str, Any] | None] = [None] * len(events)
    by_pod: dict[str, tuple[Pod, list[int]]] = {}
    for index, event in enumerate(events):
        pod = pods[event["server_uuid"]]
        if pod is None:
            results[index] = _failed(event, 404)
        else:
            by_pod.setdefault(pod.pod_id, (pod, []))[1].append(index)
    for pod, indexes in by_pod.values():
        answered = _dispatch(pod, [events[index] for index in indexes])
        for index, event in zip(indexes, answered, strict=True):
            results[index] = event
    status = 200 if all(event and event.get("code") == 200 for event in results) else 207
    response = jsonify({"events": results})
    response.status_code = status
    return response

"""``os-aggregates``: an aggregate lives in one pod, the pod of its availability zone.

A create names ``availability_zone``: the pod whose AZ (Tricircle's, or the pod's own name for
it) it is holds the aggregate, made there with the pod's own AZ name; one no pod or several
pods serve is refused with a 400; without one, the pod of ``[scheduler]
default_availability_zone`` (else the first pod in region order) holds it.
Its top ID is Nova's integer made unique as in ``admin_pods`` (``bottom * 1000 + pod number``),
so every later call finds the pod from the ID alone; the list merges every pod's aggregates.
Hosts added must be the pod's (the pod refuses others with Nova's 404); an update or metadata
naming another pod's AZ is refused (an aggregate never moves between pods).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.compute.state import state
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import caller
from tricircle.db.models import Pod
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_aggregates", __name__)

AZ_KEY = "availability_zone"
_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S(.*\S)?$"}
CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "aggregate": {
            "type": "object",
            "properties": {"name": _NAME, AZ_KEY: {"type": ["string", "null"], **_NAME}},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
    "required": ["aggregate"],
    "additionalProperties": False,
}
ACTIONS = ("add_host", "remove_host", "set_metadata")


def _rule(action: str) -> str:
    return policy.AGGREGATES % action


def _pod_az(pod: Pod) -> str:
    return pod.pod_az_name or pod.az_name


def shown(aggregate: dict[str, Any], pod: Pod, number: int) -> dict[str, Any]:
    """A pod's aggregate with the gateway's ID and RegionOne's AZ name."""
    aggregate = dict(aggregate)
    aggregate["id"] = admin_pods.top_int_id(number, aggregate.get("id"))
    if aggregate.get(AZ_KEY) == _pod_az(pod):
        aggregate[AZ_KEY] = pod.az_name
    metadata = aggregate.get("metadata")
    if isinstance(metadata, dict) and metadata.get(AZ_KEY) == _pod_az(pod):
        aggregate["metadata"] = {**metadata, AZ_KEY: pod.az_name}
    return aggregate


def _pods_of_zone(zone: str) -> list[Pod]:
    return [pod for pod in admin_pods.ordered_pods() if zone in (pod.az_name, pod.pod_az_name)]


def _placement(zone: str | None) -> Pod:
    """The pod a new aggregate in ``zone`` lives in; BadRequest when none or several fit.

    An aggregate without a zone goes to the pod of ``[scheduler] default_availability_zone``,
    else to the first pod in region order.
    """
    if zone is None:
        zone = state().scheduler.default_availability_zone
        if zone is None:
            return admin_pods.ordered_pods()[0]
    pods = _pods_of_zone(zone)
    if len(pods) != 1:
        reason = "no pod serves it" if not pods else "several pods serve it"
        raise BadRequest(
            f"Availability zone {zone} cannot hold an aggregate: {reason}; an aggregate lives "
            "in the one pod of its availability zone."
        )
    return pods[0]


def _zone_in_pod(pod: Pod, zone: Any) -> Any:
    """``zone`` as ``pod``'s Nova names it; BadRequest if it is another pod's."""
    if not isinstance(zone, str) or zone not in {p.az_name for p in admin_pods.ordered_pods()}:
        return _pod_az(pod) if zone == pod.az_name else zone
    if zone != pod.az_name:
        raise BadRequest(
            f"The aggregate lives in availability zone {pod.az_name}; it cannot move to {zone}."
        )
    return _pod_az(pod)


def _not_found(aggregate_id: str) -> NotFound:
    return NotFound(f"Aggregate {aggregate_id} could not be found.")


def _routed(aggregate_id: str) -> tuple[Pod, int, int]:
    decoded = admin_pods.pod_of_int_id(aggregate_id)
    if decoded is None:
        raise _not_found(aggregate_id)
    pod, bottom_id = decoded
    return pod, admin_pods.pod_number(pod), bottom_id


def _call(aggregate_id: str, method: str, suffix: str = "", body: Any = None) -> Response:
    """Send to the aggregate's pod; its answer with the aggregate shown as the gateway's."""
    pod, number, bottom_id = _routed(aggregate_id)
    try:
        answer = admin_pods.call_pod(
            pod, method, f"/os-aggregates/{segment(bottom_id)}{suffix}", json=body
        )
    except PodClientError as exc:
        if exc.status == 404 and exc.pod_message.startswith("Aggregate "):
            raise _not_found(aggregate_id) from exc
        raise
    if not isinstance(answer.body, dict):
        return Response(status=answer.status)
    shown_body = dict(answer.body)
    if isinstance(shown_body.get("aggregate"), dict):
        shown_body["aggregate"] = shown(shown_body["aggregate"], pod, number)
    response = jsonify(shown_body)
    response.status_code = answer.status
    return response


def _body() -> Any:
    return validation.json_document(request.get_data())


@blueprint.get("/os-aggregates")
def list_aggregates() -> ResponseReturnValue:
    """Every pod's aggregates."""
    admin_pods.authorize_nova(_rule("index"))
    answers = admin_pods.ask_every_pod("/os-aggregates", what="aggregates")
    return jsonify(
        {
            "aggregates": [
                shown(aggregate, answer.pod, answer.number)
                for answer in answers
                for aggregate in answer.body["aggregates"]
            ]
        }
    )


@blueprint.post("/os-aggregates")
def create_aggregate() -> ResponseReturnValue:
    """Make an aggregate in the pod of its availability zone."""
    admin_pods.authorize_nova(_rule("create"))
    body = validation.validated(request.get_data(), CREATE_SCHEMA)["aggregate"]
    pod = _placement(body.get(AZ_KEY))
    if body.get(AZ_KEY) is not None:
        body[AZ_KEY] = _pod_az(pod)
    answer = admin_pods.call_pod(pod, "POST", "/os-aggregates", json={"aggregate": body})
    aggregate = shown(answer.body["aggregate"], pod, admin_pods.pod_number(pod))
    response = jsonify({"aggregate": aggregate})
    response.status_code = answer.status
    return response


@blueprint.get("/os-aggregates/<aggregate_id>")
def show_aggregate(aggregate_id: str) -> ResponseReturnValue:
    """One aggregate, from its pod."""
    admin_pods.authorize_nova(_rule("show"))
    return _call(aggregate_id, "GET")


@blueprint.put("/os-aggregates/<aggregate_id>")
def update_aggregate(aggregate_id: str) -> ResponseReturnValue:
    """Rename an aggregate or change its AZ (within its pod)."""
    admin_pods.authorize_nova(_rule("update"))
    body = _body()
    pod, _, _ = _routed(aggregate_id)
    fields = body.get("aggregate") if isinstance(body, dict) else None
    if isinstance(fields, dict) and fields.get(AZ_KEY) is not None:
        body = {**body, "aggregate": {**fields, AZ_KEY: _zone_in_pod(pod, fields[AZ_KEY])}}
    return _call(aggregate_id, "PUT", body=body)


@blueprint.delete("/os-aggregates/<aggregate_id>")
def delete_aggregate(aggregate_id: str) -> ResponseReturnValue:
    """Delete an aggregate in its pod."""
    admin_pods.authorize_nova(_rule("delete"))
    return _call(aggregate_id, "DELETE")


@blueprint.post("/os-aggregates/<aggregate_id>/action")
def aggregate_action(aggregate_id: str) -> ResponseReturnValue:
    """add_host, remove_host or set_metadata, in the aggregate's pod."""
    body = _body()
    action = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    if action not in ACTIONS:
        admin_pods.authorize_nova(_rule("set_metadata"))
        raise BadRequest(
            "Invalid input for field/attribute body. The body must hold exactly one of "
            f"{', '.join(ACTIONS)}."
        )
    admin_pods.authorize_nova(_rule(action))
    if action == "set_metadata":
        metadata = (body[action] or {}).get("metadata") if isinstance(body[action], dict) else None
        if isinstance(metadata, dict) and metadata.get(AZ_KEY) is not None:
            pod, _, _ = _routed(aggregate_id)
            zone = _zone_in_pod(pod, metadata[AZ_KEY])
            body = {action: {**body[action], "metadata": {**metadata, AZ_KEY: zone}}}
    return _call(aggregate_id, "POST", "/action", body)


@blueprint.post("/os-aggregates/<aggregate_id>/images")
def cache_images(aggregate_id: str) -> ResponseReturnValue:
    """Pre-cache images on the aggregate's hosts, in its pod (2.81+)."""
    if not caller().microversion.at_least("2.81"):
        raise admin_pods.method_not_found()
    admin_pods.authorize_nova(_rule("images"))
    return _call(aggregate_id, "POST", "/images", _body())

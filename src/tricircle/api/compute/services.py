"""``os-services`` over every pod: the list merged, each change routed to the owning pod.

The list is every pod's (filters ``host`` and ``binary`` passed on), pods by region name. IDs
before 2.53 are made unique as in ``admin_pods``; from 2.53 they are the pods' UUIDs, found by
asking the pods. Before 2.53 a change names ``host`` and ``binary``: the pod listing that
service gets it; when no pod does, the first pod answers (Nova's own 400 or 404). A service's
``zone`` is shown as Tricircle's AZ of its pod where the pod's own AZ name differs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import caller
from tricircle.db.models import Pod
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_services", __name__)

UUIDS_FROM = "2.53"
FORCE_DOWN_FROM = "2.11"
ACTIONS = ("enable", "disable", "disable-log-reason")


def top_zone(pod: Pod, zone: Any) -> Any:
    """A zone name of ``pod``'s Nova as RegionOne names it."""
    if pod.pod_az_name and zone == pod.pod_az_name:
        return pod.az_name
    return zone


def shown(service: dict[str, Any], pod: Pod, number: int) -> dict[str, Any]:
    """A pod's service with its integer ID made the gateway's and its zone RegionOne's."""
    service = dict(service)
    if "id" in service:
        service["id"] = admin_pods.top_int_id(number, service["id"])
    if "zone" in service:
        service["zone"] = top_zone(pod, service["zone"])
    return service


@blueprint.get("/os-services")
def list_services() -> ResponseReturnValue:
    """Every pod's services (``host`` and ``binary`` filters as Nova's)."""
    admin_pods.authorize_nova(policy.SERVICES % "list")
    answers = admin_pods.ask_every_pod(
        "/os-services", params=list(request.args.items(multi=True)), what="services"
    )
    return jsonify(
        {
            "services": [
                shown(service, answer.pod, answer.number)
                for answer in answers
                for service in answer.body["services"]
            ]
        }
    )


def _pod_listing(params: dict[str, str], match: Any = None) -> tuple[Pod, int] | None:
    """The first pod (and its number) whose services list has one matching."""

    def listed(ask: admin_pods.Asker, pod: Pod) -> bool | None:
        body = ask.shown_or_none(pod, "/os-services", params)
        services = body.get("services", []) if isinstance(body, dict) else []
        return True if [s for s in services if match is None or match(s)] else None

    found = admin_pods.find_pod(listed)
    if found is None:
        return None
    return found[0], admin_pods.pod_number(found[0])


def _forward(pod: Pod, number: int, method: str, path: str, body: Any) -> Response:
    answer = admin_pods.call_pod(pod, method, path, json=body)
    if answer.body is None:
        return Response(status=answer.status)
    shown_body = dict(answer.body)
    if isinstance(shown_body.get("service"), dict):
        shown_body["service"] = shown(shown_body["service"], pod, number)
    response = jsonify(shown_body)
    response.status_code = answer.status
    return response


def _body() -> Any:
    return validation.json_document(request.get_data())


def _update_by_host(action: str) -> Response:
    """Before 2.53: ``PUT /os-services/<action>`` with ``host`` and ``binary``."""
    actions = ACTIONS + (("force-down",) if caller().microversion.at_least(FORCE_DOWN_FROM) else ())
    if action not in actions:
        raise NotFound("Unknown action")
    body = _body()
    host = body.get("host") if isinstance(body, dict) else None
    binary = body.get("binary") if isinstance(body, dict) else None
    found = None
    if isinstance(host, str) and isinstance(binary, str):
        found = _pod_listing({"host": host, "binary": binary})
    if found is None:
        pods = admin_pods.ordered_pods()
        if not pods:
            raise NotFound(f"Could not find binary {binary} on host {host}.")
        found = (pods[0], 1)
    pod, number = found
    return _forward(pod, number, "PUT", f"/os-services/{segment(action)}", body)


def _by_uuid(service_id: str) -> tuple[Pod, int]:
    if not admin_pods.is_uuid(service_id):
        raise BadRequest(f"Invalid uuid {service_id}")
    found = _pod_listing({}, lambda service: service.get("id") == service_id)
    if found is None:
        raise NotFound(f"Service {service_id} could not be found.")
    return found


@blueprint.put("/os-services/<service_id>")
def update_service(service_id: str) -> ResponseReturnValue:
    """Enable, disable or force down a service in its pod."""
    if not caller().microversion.at_least(UUIDS_FROM):
        admin_pods.authorize_nova(policy.SERVICES % "update")
        return _update_by_host(service_id)
    if not admin_pods.is_uuid(service_id):
        raise BadRequest(f"Invalid uuid {service_id}")
    admin_pods.authorize_nova(policy.SERVICES % "update")
    pod, number = _by_uuid(service_id)
    return _forward(pod, number, "PUT", f"/os-services/{segment(service_id)}", _body())


@blueprint.delete("/os-services/<service_id>")
def delete_service(service_id: str) -> ResponseReturnValue:
    """Delete a service in its pod."""
    admin_pods.authorize_nova(policy.SERVICES % "delete")
    if caller().microversion.at_least(UUIDS_FROM):
        pod, _ = _by_uuid(service_id)
        bottom_id = service_id
    else:
        try:
            int(service_id)
        except ValueError as exc:
            raise BadRequest("Invalid input received: id must be an integer") from exc
        decoded = admin_pods.pod_of_int_id(service_id)
        if decoded is None:
            raise NotFound(f"Service {service_id} not found.")
        pod, bottom = decoded
        bottom_id = str(bottom)
    try:
        answer = admin_pods.call_pod(pod, "DELETE", f"/os-services/{segment(bottom_id)}")
    except PodClientError as exc:
        if exc.status == 404:
            raise NotFound(f"Service {service_id} not found.") from exc
        raise
    return Response(status=answer.status)

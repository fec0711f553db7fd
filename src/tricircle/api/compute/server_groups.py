"""Server groups (``os-server-groups``): each group lives in one pod, whose Nova enforces it.

A group is made, when it is created, in the pod where the project's servers without an AZ go
(its binding in ``[scheduler] default_availability_zone``, else the scheduler's choice, then
bound), with the caller's token and microversion, so the pod's Nova checks policy and quota and
answers Nova's own shapes. The gateway gives it a new top ID and records the routing (type
``server_group``, top ID -> the pod's group ID). A boot naming the group in
``os:scheduler_hints`` goes to that pod with the hint translated (``group_hint``); an AZ naming
another pod is refused. Members are server IDs, the same at the top and in the pod.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import placement, policy
from tricircle.api.compute.state import state
from tricircle.api.errors import BadRequest, InvalidField, NotFound
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.api.microversions import Microversion
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.network.mirror.undo import Made, Undo
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_server_groups", __name__)

SERVER_GROUP = ResourceType.SERVER_GROUP
POLICY_FIELD_FROM = "2.64"
SOFT_POLICIES_FROM = "2.15"
UUID_PATTERN = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^(?!\s)[^\x00-\x1f\x7f]*(?<!\s)$",
}
_HARD = ["anti-affinity", "affinity"]
_ALL = [*_HARD, "soft-anti-affinity", "soft-affinity"]


def _schema(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"server_group": {"type": "object", **group}},
        "required": ["server_group"],
        "additionalProperties": False,
    }


def _policies_schema(policies: list[str]) -> dict[str, Any]:
    return _schema(
        {
            "properties": {
                "name": _NAME,
                "policies": {
                    "type": "array",
                    "prefixItems": [{"type": "string", "enum": policies}],
                    "items": False,
                    "minItems": 1,
                    "maxItems": 1,
                },
            },
            "required": ["name", "policies"],
            "additionalProperties": False,
        }
    )


CREATE = _policies_schema(_HARD)
CREATE_V215 = _policies_schema(_ALL)
CREATE_V264 = _schema(
    {
        "properties": {
            "name": _NAME,
            "policy": {"type": "string", "enum": _ALL},
            "rules": {
                "type": "object",
                "properties": {
                    "max_server_per_host": {
                        "type": ["integer", "string"],
                        "pattern": "^[0-9]*$",
                        "minimum": 1,
                        "minLength": 1,
                    }
                },
                "additionalProperties": False,
            },
        },
        "required": ["name", "policy"],
        "additionalProperties": False,
    }
)


def parse_create(raw: bytes, version: Microversion) -> dict[str, Any]:
    """The checked create body at ``version``; Nova's 400 for bad input."""
    if version.at_least(POLICY_FIELD_FROM):
        body = validation.validated(raw, CREATE_V264)
        group = body["server_group"]
        if group.get("rules") and group["policy"] != "anti-affinity":
            raise BadRequest("Only anti-affinity policy supports rules.")
        return body
    return validation.validated(
        raw, CREATE_V215 if version.at_least(SOFT_POLICIES_FROM) else CREATE
    )


def _not_found(group_id: str) -> NotFound:
    return NotFound(f"Instance group {group_id} could not be found.")


def _routing(group_id: str) -> tuple[Pod, str]:
    """The pod and bottom ID of a group the caller may see; Nova's 404 otherwise."""
    who = caller()
    with transaction() as session:
        pod = routings.routed_pod(
            session, group_id, SERVER_GROUP, project_id=None if who.is_admin else who.project_id
        )
        bottom_id = routings.find_bottom_id(session, group_id, pod.pod_id) if pod else None
    if pod is None or bottom_id is None:
        raise _not_found(group_id)
    return pod, bottom_id


def _forget(group_id: str, pod: Pod) -> None:
    with transaction() as session:
        routings.forget_routing(session, group_id, pod.pod_id, SERVER_GROUP)


def _top_view(group: dict[str, Any], top_id: str) -> dict[str, Any]:
    """The pod's group as users see it: its top ID."""
    return {**group, "id": top_id}


def group_hint(hints: dict[str, Any]) -> tuple[Pod, dict[str, Any]] | None:
    """The pod of the groups a boot's scheduler hints name, and the hints translated for it;
    None without a ``group`` hint. Nova's 400 for a group unknown to the caller."""
    named = hints.get("group")
    if named is None:
        return None
    group_ids = [named] if isinstance(named, str) else list(named)
    found: list[tuple[Pod, str]] = []
    for group_id in group_ids:
        try:
            found.append(_routing(group_id))
        except NotFound as exc:
            raise BadRequest(exc.message) from exc
    if len({pod.pod_id for pod, _bottom in found}) > 1:
        raise BadRequest("The server groups named in the scheduler hints are in different pods.")
    bottom_ids = [bottom_id for _pod, bottom_id in found]
    translated = bottom_ids[0] if isinstance(named, str) else bottom_ids
    return found[0][0], {**hints, "group": translated}


@blueprint.post("/os-server-groups")
def create() -> ResponseReturnValue:
    """Make the group in the project's default pod and record its routing."""
    who = caller()
    app_state = state()
    body = parse_create(request.get_data(), who.microversion)
    pod = placement.pod_for_server(app_state.scheduler, who.project_id, None, {})
    answer = app_state.calls.call(who, pod.region_name, "POST", "/os-server-groups", json=body)
    bottom_id = answer.body["server_group"]["id"]
    top_id = str(uuid.uuid4())
    with Undo() as undo:
        undo.push(
            Made(pod.region_name, SERVER_GROUP, bottom_id),
            lambda: app_state.calls.call(
                who, pod.region_name, "DELETE", f"/os-server-groups/{segment(bottom_id)}"
            ),
        )
        with transaction() as session:
            routings.record_routing(
                session,
                top_id=top_id,
                pod_id=pod.pod_id,
                project_id=who.project_id,
                resource_type=SERVER_GROUP,
                bottom_id=bottom_id,
            )
    LOG.info(
        "server group created region=%s top_id=%s bottom_id=%s project_id=%s",
        pod.region_name,
        top_id,
        bottom_id,
        who.project_id,
    )
    response = jsonify({"server_group": _top_view(answer.body["server_group"], top_id)})
    response.status_code = answer.status
    return response


@blueprint.get("/os-server-groups/<group_id>")
def show(group_id: str) -> ResponseReturnValue:
    """One group, from its pod."""
    pod, bottom_id = _routing(group_id)
    try:
        answer = state().calls.call(
            caller(), pod.region_name, "GET", f"/os-server-groups/{segment(bottom_id)}"
        )
    except PodClientError as exc:
        if exc.status == 404:
            _forget(group_id, pod)
            raise _not_found(group_id) from exc
        raise
    return jsonify({"server_group": _top_view(answer.body["server_group"], group_id)})


@blueprint.delete("/os-server-groups/<group_id>")
def delete(group_id: str) -> ResponseReturnValue:
    """Delete the group in its pod, then its routing."""
    pod, bottom_id = _routing(group_id)
    try:
        state().calls.call(
            caller(), pod.region_name, "DELETE", f"/os-server-groups/{segment(bottom_id)}"
        )
    except PodClientError as exc:
        if exc.status != 404:
            raise
        _forget(group_id, pod)
        raise _not_found(group_id) from exc
    _forget(group_id, pod)
    LOG.info("server group deleted region=%s top_id=%s", pod.region_name, group_id)
    return "", 204


def _non_negative(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidField(name, "must be a non-negative integer")
    return int(raw)


@blueprint.get("/os-server-groups")
def list_groups() -> ResponseReturnValue:
    """The caller's groups (every project's with ``all_projects`` for an admin), in creation
    order, read from the pods holding them; ``offset`` and ``limit`` as Nova applies them."""
    who = caller()
    app_state = state()
    all_projects = "all_projects" in request.args and app_state.enforcer.authorize(
        policy.SERVER_GROUPS_ALL_PROJECTS,
        {"project_id": who.project_id},
        g.context,
        do_raise=False,
    )
    offset, limit = _non_negative("offset") or 0, _non_negative("limit")
    with transaction() as session:
        rows = routings.list_routings(
            session,
            resource_type=SERVER_GROUP,
            project_id=None if all_projects else who.project_id,
        )
        top_ids = {(row.pod_id, row.bottom_id): row.top_id for row in rows if row.bottom_id}
    params = {"all_projects": "True"} if all_projects else None
    groups: dict[str, dict[str, Any]] = {}
    for pod in bottom_pods():
        if not any(pod_id == pod.pod_id for pod_id, _bottom in top_ids):
            continue
        answer = app_state.calls.call(
            who, pod.region_name, "GET", "/os-server-groups", params=params
        )
        for group in answer.body["server_groups"]:
            top_id = top_ids.get((pod.pod_id, group["id"]))
            if top_id is not None:
                groups[top_id] = _top_view(group, top_id)
    ordered = [groups[top_id] for top_id in top_ids.values() if top_id in groups]
    ordered = ordered[offset:]
    return jsonify({"server_groups": ordered if limit is None else ordered[:limit]})

"""Volume type access: the projects that may use a private type, kept at the gateway and given
to the type's copies in the pods.

A private type's copy is made private in its pod with the type's projects (``types``), so the
pod's own Cinder, checking the caller's token, allows the same projects; adding or removing a
project here changes every copy that exists. A copy made public before stays public (the pod
answers that access does not apply to it; the gateway still decides who sees the type).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from tricircle.api import gateway, validation
from tricircle.api.volume import common, fanout, policy
from tricircle.api.volume.faults import CinderFault, bad_request, not_found
from tricircle.db import volume_type_access as access_queries
from tricircle.db import volume_types as type_queries
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_type_access", __name__)

_PROJECT = {
    "type": "object",
    "properties": {"project": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["project"],
    "additionalProperties": False,
}
ACCESS_ACTIONS = {
    "addProjectAccess": policy.TYPE_ACCESS_ADD,
    "removeProjectAccess": policy.TYPE_ACCESS_REMOVE,
}
TYPE_ACTION = {
    "type": "object",
    "properties": {action: _PROJECT for action in ACCESS_ACTIONS},
    "minProperties": 1,
    "maxProperties": 1,
}


def _private_type(type_id: str):
    with common.state().session_factory() as session:
        found = type_queries.find_volume_type(session, type_id)
    if found is None:
        raise not_found(f"Volume type {type_id} could not be found.")
    return found


@blueprint.get("/v3/types/<type_id>/os-volume-type-access")
def list_access(type_id: str) -> Response:
    """The projects allowed to use a private type (admin)."""
    fanout.authorize(policy.TYPE_ACCESS_LIST)
    volume_type = _private_type(type_id)
    if volume_type.is_public:
        raise not_found("Access list not available for public volume types.")
    with common.state().session_factory() as session:
        projects = access_queries.projects_with_access(session, volume_type.id)
    return jsonify(
        {
            "volume_type_access": [
                {"volume_type_id": volume_type.id, "project_id": project} for project in projects
            ]
        }
    )


def _in_each_copy(type_id: str, action: str, project_id: str) -> None:
    """The same action on every copy of the type, as Tricircle (a public copy is left as is)."""
    with common.state().session_factory() as session:
        copies = [
            (session.get(Pod, copy.pod_id), copy.bottom_id)
            for copy in type_queries.bottom_copies(session, type_id)
        ]
    for pod, bottom_id in copies:
        client = common.state().service_client(pod.region_name)
        body = {action: {"project": project_id}}
        try:
            client.post(f"/types/{segment(bottom_id)}/action", json=body)
        except PodClientError as exc:
            if exc.status not in (400, 404, 409):
                raise
            LOG.info(
                "type copy %s in pod %s: %s left as is (%s)",
                bottom_id,
                pod.region_name,
                action,
                exc,
            )
        except PodCallError as exc:
            LOG.warning(
                "type copy %s in pod %s not changed (%s): %s",
                bottom_id,
                pod.region_name,
                action,
                exc,
            )


@blueprint.post("/v3/types/<type_id>/action")
def type_action(type_id: str) -> Response:
    """``addProjectAccess`` / ``removeProjectAccess`` (admin) on the type and its copies."""
    document = validation.json_document(request.get_data())
    action = next((a for a in ACCESS_ACTIONS if isinstance(document, dict) and a in document), None)
    if action is None:
        raise bad_request(
            "There is no such action: the body names none of addProjectAccess, removeProjectAccess."
        )
    validation.check(document, TYPE_ACTION)
    fanout.authorize(ACCESS_ACTIONS[action])
    project_id = document[action]["project"]
    volume_type = _private_type(type_id)
    if volume_type.is_public:
        raise bad_request(
            "Invalid volume type: Type access modification is not applicable to public volume type."
        )
    with gateway.transaction() as session:
        if action == "addProjectAccess":
            if not access_queries.grant_access(session, volume_type.id, project_id):
                raise CinderFault(
                    409,
                    f"Volume type access for {volume_type.id} / {project_id} combination "
                    "already exists.",
                )
        elif not access_queries.revoke_access(session, volume_type.id, project_id):
            raise not_found(
                f"Volume type access not found for {volume_type.id} / {project_id} combination."
            )
    _in_each_copy(volume_type.id, action, project_id)
    LOG.info("volume type %s: %s %s", volume_type.id, action, project_id)
    return Response(status=202)

"""``os-assisted-volume-snapshots``: Cinder's calls for hypervisor-assisted snapshots, forwarded to
the pod holding the volume (a volume is attached only to a server of its own pod, whose Nova
finds the attachment by the volume ID).

Operators' API (Nova's rule names; default: the service role or admin). The body is checked with
Nova's schema before any pod is asked; a volume no pod shows is Nova's 400 for a volume without
an attachment, as the pod's Nova answers one it does not hold attached.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy, volume_pods
from tricircle.api.errors import BadRequest, NotFound
from tricircle.db.models import Pod
from tricircle.pods.paths import is_uuid, segment

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_assisted_volume_snapshots", __name__)

PATH = "/os-assisted-volume-snapshots"
_NON_EMPTY = {"type": "string", "minLength": 1}
CREATE = {
    "type": "object",
    "properties": {
        "snapshot": {
            "type": "object",
            "properties": {
                "volume_id": _NON_EMPTY,
                "create_info": {
                    "type": "object",
                    "properties": {
                        "snapshot_id": _NON_EMPTY,
                        "type": {"type": "string", "enum": ["qcow2"]},
                        "new_file": _NON_EMPTY,
                        "id": _NON_EMPTY,
                    },
                    "required": ["snapshot_id", "type", "new_file"],
                    "additionalProperties": False,
                },
            },
            "required": ["volume_id", "create_info"],
            "additionalProperties": False,
        }
    },
    "required": ["snapshot"],
    "additionalProperties": False,
}


def _volume_pod(volume_id: str) -> Pod:
    """The pod holding ``volume_id``; Nova's 400 if no pod shows it to the caller."""
    unknown = BadRequest(f"No volume Block Device Mapping with id {volume_id}.")
    if not is_uuid(volume_id):
        raise unknown
    try:
        return volume_pods.holding_pod(volume_id)
    except NotFound as exc:
        raise unknown from exc


def _delete_info(args: Any) -> tuple[str, str]:
    """The raw ``delete_info`` query value and the volume ID it names; Nova's 400 otherwise."""
    raw = args.get("delete_info")
    if raw is None:
        raise BadRequest("'delete_info'")
    try:
        info = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if not isinstance(info, dict) or "volume_id" not in info:
        raise BadRequest("'volume_id'")
    if not isinstance(info["volume_id"], str):
        raise BadRequest(f"No volume Block Device Mapping with id {info['volume_id']}.")
    return raw, info["volume_id"]


@blueprint.post(PATH)
def create() -> ResponseReturnValue:
    """Ask the volume's pod to snapshot it through its server's hypervisor."""
    admin_pods.authorize_nova(policy.ASSISTED_VOLUME_SNAPSHOTS % "create")
    body = validation.validated(request.get_data(), CREATE)
    volume_id = body["snapshot"]["volume_id"]
    pod = _volume_pod(volume_id)
    answer = admin_pods.call_pod(pod, "POST", PATH, json=body)
    LOG.info(
        "assisted volume snapshot created region=%s volume_id=%s snapshot_id=%s",
        pod.region_name,
        volume_id,
        body["snapshot"]["create_info"]["snapshot_id"],
    )
    response = jsonify(answer.body)
    response.status_code = answer.status
    return response


@blueprint.delete(f"{PATH}/<snapshot_id>")
def delete(snapshot_id: str) -> ResponseReturnValue:
    """Ask the pod of the volume ``delete_info`` names to delete the assisted snapshot."""
    admin_pods.authorize_nova(policy.ASSISTED_VOLUME_SNAPSHOTS % "delete")
    raw, volume_id = _delete_info(request.args)
    pod = _volume_pod(volume_id)
    answer = admin_pods.call_pod(
        pod, "DELETE", f"{PATH}/{segment(snapshot_id)}", params={"delete_info": raw}
    )
    LOG.info(
        "assisted volume snapshot deleted region=%s volume_id=%s snapshot_id=%s",
        pod.region_name,
        volume_id,
        snapshot_id,
    )
    return Response(status=answer.status)

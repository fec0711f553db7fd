"""``POST /v3/volumes/{id}/action``: volume actions forwarded to the volume's pod; those naming a
gateway resource get the pod's copy of it.

``os-retype`` names its ``new_type`` by name or ID, as Cinder accepts it. The type is looked up
among the gateway's top types as Cinder does (elevated: any type, private ones included; an
unknown one is Cinder's 404, after the volume's own 404 as in Cinder), its copy made in the
volume's pod if missing (``types.ensure_in_pod``, kept if the retype then fails, as for a volume
create) and the pod is sent the copy's ID. Every other action is forwarded unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request
from oslo_utils import uuidutils

from tricircle.api import validation
from tricircle.api.volume import common, forwarding, routing, types
from tricircle.api.volume.faults import not_found
from tricircle.db import volume_types as type_queries
from tricircle.db.models import VolumeType
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_actions", __name__)

RETYPE = {
    "type": "object",
    "properties": {
        "os-retype": {
            "type": "object",
            "properties": {
                "new_type": {"type": "string"},
                "migration_policy": {
                    "type": ["string", "null"],
                    "enum": ["on-demand", "never", None],
                },
            },
            "required": ["new_type"],
            "additionalProperties": False,
        }
    },
    "required": ["os-retype"],
    "additionalProperties": False,
}


@blueprint.post("/v3/volumes/<volume_id>/action")
def volume_action(volume_id: str) -> Response:
    """One action on a volume, in its pod (``os-retype`` with the pod's copy of the type)."""
    document = validation.json_document(request.get_data())
    if isinstance(document, dict) and "os-retype" in document:
        return _retype(volume_id, document)
    return forwarding.forward_to_holder(
        volume_id, routing.VOLUME, "POST", f"/volumes/{segment(volume_id)}/action"
    )


def _retype(volume_id: str, document: dict[str, Any]) -> Response:
    """Retype the volume in its pod to the pod's copy of the top type named in the body."""
    validation.check(document, RETYPE)
    retype = document["os-retype"]
    pod = forwarding.holding_pod(volume_id, routing.VOLUME)
    top_type = _retype_target(retype["new_type"])
    bottom_type_id = types.ensure_in_pod(top_type, pod)
    LOG.info(
        "volume %s in pod %s retyped to type %s (%s in the pod)",
        volume_id,
        pod.region_name,
        top_type.id,
        bottom_type_id,
    )
    return forwarding.forward_to_holder(
        volume_id,
        routing.VOLUME,
        "POST",
        f"/volumes/{segment(volume_id)}/action",
        body={"os-retype": {**retype, "new_type": bottom_type_id}},
    )


def _retype_target(name_or_id: str) -> VolumeType:
    """The top type named (ID first, then name); Cinder's 404 in Cinder's words otherwise."""
    with common.state().session_factory() as session:
        found = type_queries.find_volume_type(session, name_or_id)
    if found is not None:
        return found
    if uuidutils.is_uuid_like(name_or_id):
        raise not_found(f"Volume type {name_or_id} could not be found.")
    raise not_found(f"Volume type with name {name_or_id} could not be found.")

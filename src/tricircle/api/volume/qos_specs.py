"""``/v3/qos-specs``: QoS specs kept in a home pod and copied to the pods where their volume
types are (``homed``), all admin-only as in Cinder.

Associating specs with a volume type associates them in every pod that holds a copy of the type
(the home first, where the type is copied if needed, so the home's associations are the whole
truth): the specs are copied there and tied to the type's copy. A type first copied into a pod
after its association does not carry the specs there until associated again.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tricircle.api import gateway
from tricircle.api.podcalls import PodAnswer
from tricircle.api.volume import common, fanout, homed, policy, types
from tricircle.api.volume.faults import bad_request
from tricircle.db import volume_types as type_queries
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("qos_specs", __name__)

QOS = homed.HomedKind(
    collection="qos-specs",
    singular="qos_specs",
    plural="qos_specs",
    resource_type=ResourceType.QOS_SPECS,
    not_found="No such QoS spec {id}.",
    copy_body=lambda home: {
        "name": home["name"],
        "consumer": home.get("consumer") or "back-end",
        **(home.get("specs") or {}),
    },
)
_VALUE = {"type": "string", "maxLength": 255}
QOS_CREATE = common.body_schema(
    "qos_specs",
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
        "consumer": {"enum": ["front-end", "back-end", "both"]},
    },
    required=("name",),
)
QOS_CREATE["properties"]["qos_specs"]["additionalProperties"] = _VALUE
QOS_UPDATE = {
    "type": "object",
    "properties": {
        "qos_specs": {"type": "object", "additionalProperties": _VALUE, "minProperties": 1}
    },
    "required": ["qos_specs"],
}
DELETE_KEYS = {
    "type": "object",
    "properties": {"keys": {"type": "array", "items": _VALUE, "minItems": 1}},
    "required": ["keys"],
}


def _top_associations(associations: list[dict[str, Any]], pod: Pod) -> list[dict[str, Any]]:
    """The home's associations with its type copies shown as the top types."""
    bottom_ids = {a["id"] for a in associations if a.get("association_type") == "volume_type"}
    with common.state().session_factory() as session:
        top_ids = type_queries.top_type_ids(session, pod.pod_id, bottom_ids)
    return [{**a, "id": top_ids.get(a["id"], a["id"])} for a in associations]


@blueprint.post("/v3/qos-specs")
def create_qos_specs() -> Response:
    """QoS specs made in their home pod (admin)."""
    fanout.authorize(policy.QOS_CREATE)
    document = common.json_body("qos_specs", QOS_CREATE)
    pod, answer = homed.create(QOS, document)
    return fanout.reply(pod, _answer(200, answer))


def _answer(status: int, body: Any) -> PodAnswer:
    return PodAnswer(status, body, {})


@blueprint.get("/v3/qos-specs")
def list_qos_specs() -> Response:
    """Every QoS specs the gateway knows (admin)."""
    fanout.authorize(policy.QOS_GET_ALL)
    return jsonify({"qos_specs": homed.list_all(QOS)})


@blueprint.get("/v3/qos-specs/<qos_id>")
def show_qos_specs(qos_id: str) -> Response:
    """QoS specs, from their home (admin)."""
    fanout.authorize(policy.QOS_GET)
    home = homed.home_of(QOS, qos_id)
    return fanout.reply(
        home, _answer(200, homed.call(QOS, home, "GET", f"/qos-specs/{segment(qos_id)}"))
    )


@blueprint.put("/v3/qos-specs/<qos_id>")
def update_qos_specs(qos_id: str) -> Response:
    """Add or change keys (admin), at home and in every copy."""
    fanout.authorize(policy.QOS_UPDATE)
    document = common.json_body("qos_specs", QOS_UPDATE)
    answer = homed.in_home_and_copies(QOS, qos_id, "PUT", body=document)
    return jsonify(answer)


@blueprint.put("/v3/qos-specs/<qos_id>/delete_keys")
def delete_qos_keys(qos_id: str) -> Response:
    """Remove keys (admin), at home and in every copy."""
    fanout.authorize(policy.QOS_UPDATE)
    document = common.json_body("keys", DELETE_KEYS)
    homed.in_home_and_copies(QOS, qos_id, "PUT", "/delete_keys", body=document)
    return Response(status=202)


@blueprint.delete("/v3/qos-specs/<qos_id>")
def delete_qos_specs(qos_id: str) -> Response:
    """Delete QoS specs (admin); associated ones only with ``force`` (the home decides)."""
    fanout.authorize(policy.QOS_DELETE)
    homed.home_of(QOS, qos_id)
    force = request.args.get("force")
    homed.delete(QOS, qos_id, params={"force": force} if force is not None else None)
    return Response(status=202)


@blueprint.get("/v3/qos-specs/<qos_id>/associations")
def list_associations(qos_id: str) -> Response:
    """The volume types the specs are associated with (admin), as top types."""
    fanout.authorize(policy.QOS_GET)
    home = homed.home_of(QOS, qos_id)
    answer = homed.call(QOS, home, "GET", f"/qos-specs/{segment(qos_id)}/associations")
    return jsonify({"qos_associations": _top_associations(answer["qos_associations"], home)})


def _type_copies(type_id: str) -> list[tuple[Pod, str]]:
    with gateway.transaction() as session:
        rows = type_queries.bottom_copies(session, type_id)
        return [(session.get(Pod, row.pod_id), row.bottom_id) for row in rows]


def _asked_type():
    type_id = request.args.get("vol_type_id")
    if not type_id:
        raise bad_request("Volume Type id must not be None.")
    return types.visible_type(type_id)


@blueprint.get("/v3/qos-specs/<qos_id>/associate")
def associate(qos_id: str) -> Response:
    """Associate the specs with a volume type (admin) in every pod holding the type."""
    fanout.authorize(policy.QOS_UPDATE)
    home = homed.home_of(QOS, qos_id)
    volume_type = _asked_type()
    types.ensure_in_pod(volume_type, home)
    for pod, bottom_type_id in _type_copies(volume_type.id):
        bottom_qos_id = homed.ensure_copy(QOS, qos_id, pod)
        homed.call(
            QOS,
            pod,
            "GET",
            f"/qos-specs/{segment(bottom_qos_id)}/associate",
            params={"vol_type_id": bottom_type_id},
        )
    LOG.info("qos specs %s associated with volume type %s", qos_id, volume_type.id)
    return Response(status=202)


@blueprint.get("/v3/qos-specs/<qos_id>/disassociate")
def disassociate(qos_id: str) -> Response:
    """Disassociate the specs from a volume type (admin) wherever both are."""
    fanout.authorize(policy.QOS_UPDATE)
    homed.home_of(QOS, qos_id)
    volume_type = _asked_type()
    qos_copies = {pod.pod_id: copy_id for pod, copy_id in homed.copies(QOS, qos_id)}
    qos_copies[homed.home_of(QOS, qos_id).pod_id] = qos_id
    for pod, bottom_type_id in _type_copies(volume_type.id):
        if pod.pod_id in qos_copies:
            homed.call(
                QOS,
                pod,
                "GET",
                f"/qos-specs/{segment(qos_copies[pod.pod_id])}/disassociate",
                params={"vol_type_id": bottom_type_id},
            )
    return Response(status=202)


@blueprint.get("/v3/qos-specs/<qos_id>/disassociate_all")
def disassociate_all(qos_id: str) -> Response:
    """Disassociate the specs from every volume type (admin), at home and in every copy."""
    fanout.authorize(policy.QOS_UPDATE)
    homed.in_home_and_copies(QOS, qos_id, "GET", "/disassociate_all")
    return Response(status=202)

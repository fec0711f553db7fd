"""``/v3/group_types``: group types and their specs kept in a home pod and copied to the pods
where groups use them (``homed``), as volume types are copied; from microversion 3.11.

Creating, changing and deleting them is admin-only; members see the public ones without their
specs, as in Cinder.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from oslo_utils import strutils

from tricircle.api import validation
from tricircle.api.podcalls import PodAnswer
from tricircle.api.volume import common, fanout, homed, policy
from tricircle.api.volume.faults import bad_request, not_found
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods.paths import segment

blueprint = Blueprint("group_types", __name__)

MICROVERSION = "3.11"
GROUP_TYPE = homed.HomedKind(
    collection="group_types",
    singular="group_type",
    plural="group_types",
    resource_type=ResourceType.GROUP_TYPE,
    not_found="Group type {id} could not be found.",
    copy_body=lambda home: {
        "name": home["name"],
        "description": home.get("description"),
        "is_public": True,
        "group_specs": dict(home.get("group_specs") or {}),
    },
    microversion=MICROVERSION,
)
_SPECS = {
    "type": "object",
    "additionalProperties": {"type": ["string", "null"], "maxLength": 255},
    "propertyNames": {"minLength": 1, "maxLength": 255},
}
_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "is_public": {"type": ["boolean", "string"]},
}
GROUP_TYPE_CREATE = common.body_schema(
    "group_type", {**_FIELDS, "group_specs": _SPECS}, required=("name",)
)
GROUP_TYPE_UPDATE = common.body_schema("group_type", _FIELDS)
GROUP_TYPE_UPDATE["properties"]["group_type"]["minProperties"] = 1
GROUP_SPECS = {"type": "object", "properties": {"group_specs": _SPECS}, "required": ["group_specs"]}


def _require_microversion() -> None:
    fanout.require_microversion(MICROVERSION)


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    if fanout.allowed(policy.GROUP_TYPES_SHOW_SPECS):
        return record
    return {key: value for key, value in record.items() if key != "group_specs"}


def _visible(group_type_id: str) -> tuple[Pod, dict[str, Any]]:
    """The home and record of a group type the caller may see; Cinder's 404 otherwise."""
    home = homed.home_of(GROUP_TYPE, group_type_id)
    record = homed.call(GROUP_TYPE, home, "GET", f"/group_types/{segment(group_type_id)}")[
        "group_type"
    ]
    if not record.get("is_public", True) and not fanout.allowed(policy.GROUP_TYPES_SHOW_SPECS):
        raise not_found(GROUP_TYPE.not_found.format(id=group_type_id))
    return home, record


def visible_group_type(group_type_id: str) -> str:
    """The top ID of a group type the caller may use (by ID or name); Cinder's 404 otherwise."""
    _require_microversion()
    if homed.homes(GROUP_TYPE).get(group_type_id) is None:
        by_name = [r for r in homed.list_all(GROUP_TYPE) if r.get("name") == group_type_id]
        if not by_name:
            raise not_found(GROUP_TYPE.not_found.format(id=group_type_id))
        group_type_id = by_name[0]["id"]
    return _visible(group_type_id)[1]["id"]


@blueprint.post("/v3/group_types")
def create_group_type() -> Response:
    """A group type made in its home pod (admin)."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_CREATE)
    document = common.json_body("group_type", GROUP_TYPE_CREATE)
    pod, answer = homed.create(GROUP_TYPE, document)
    return fanout.reply(pod, PodAnswer(202, answer, {}))


def _public_filter(admin: bool) -> bool | None:
    """Cinder's ``is_public``: members see public types; admins public ones by default, private
    ones with ``false`` and every one with ``none``."""
    raw = request.args.get("is_public")
    if not admin or raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    return strutils.bool_from_string(raw, strict=False)


def _sorted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` in the order of ``sort=key[:dir],...`` (ascending unless ``desc``)."""
    for part in reversed([p for p in request.args.get("sort", "").split(",") if p.strip()]):
        raw_key, _, direction = part.partition(":")
        key = raw_key.strip()
        records = sorted(
            records,
            key=lambda record, k=key: str(record.get(k) or ""),
            reverse=direction.strip().lower() == "desc",
        )
    return records


@blueprint.get("/v3/group_types")
def list_group_types() -> Response:
    """Group types filtered by ``is_public`` (members: public ones only), sorted by ``sort``."""
    _require_microversion()
    wanted = _public_filter(fanout.allowed(policy.GROUP_TYPES_SHOW_SPECS))
    records = homed.list_all(GROUP_TYPE, params={"is_public": "None"})
    shown = [r for r in records if wanted is None or r.get("is_public", True) == wanted]
    return jsonify({"group_types": [_shown(r) for r in _sorted(shown)]})


@blueprint.get("/v3/group_types/default")
def default_group_type() -> Response:
    """The default group type of the first pod, kept there as a homed group type."""
    _require_microversion()
    home = homed.home_pod_for_new()
    answer = homed.call(GROUP_TYPE, home, "GET", "/group_types/default")
    homed.record_home(GROUP_TYPE, answer["group_type"]["id"], home)
    return jsonify({"group_type": _shown(answer["group_type"])})


@blueprint.get("/v3/group_types/<group_type_id>")
def show_group_type(group_type_id: str) -> Response:
    """One group type."""
    _require_microversion()
    return jsonify({"group_type": _shown(_visible(group_type_id)[1])})


@blueprint.put("/v3/group_types/<group_type_id>")
def update_group_type(group_type_id: str) -> Response:
    """Rename, describe or publish a group type (admin), at home and in its copies (which stay
    public)."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_UPDATE)
    document = common.json_body("group_type", GROUP_TYPE_UPDATE)
    home = homed.home_of(GROUP_TYPE, group_type_id)
    copy_change = {k: v for k, v in document["group_type"].items() if k != "is_public"}
    for pod, copy_id in homed.copies(GROUP_TYPE, group_type_id):
        if copy_change:
            homed.call(
                GROUP_TYPE,
                pod,
                "PUT",
                f"/group_types/{segment(copy_id)}",
                body={"group_type": copy_change},
            )
    answer = homed.call(
        GROUP_TYPE, home, "PUT", f"/group_types/{segment(group_type_id)}", body=document
    )
    return jsonify(answer)


@blueprint.delete("/v3/group_types/<group_type_id>")
def delete_group_type(group_type_id: str) -> Response:
    """Delete a group type (admin) with its copies; one still used by groups is refused."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_DELETE)
    homed.delete(GROUP_TYPE, group_type_id)
    return Response(status=202)


@blueprint.get("/v3/group_types/<group_type_id>/group_specs")
def list_group_specs(group_type_id: str) -> Response:
    """A group type's specs (admin)."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_SPECS)
    return jsonify({"group_specs": _visible(group_type_id)[1].get("group_specs") or {}})


@blueprint.post("/v3/group_types/<group_type_id>/group_specs")
def set_group_specs(group_type_id: str) -> ResponseReturnValue:
    """Add or change specs (admin), at home and in every copy."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_SPECS)
    document = common.json_body("group_specs", GROUP_SPECS)
    answer = homed.in_home_and_copies(
        GROUP_TYPE, group_type_id, "POST", "/group_specs", body=document
    )
    return jsonify(answer), 202


@blueprint.get("/v3/group_types/<group_type_id>/group_specs/<key>")
def show_group_spec(group_type_id: str, key: str) -> Response:
    """One spec (admin)."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_SPECS)
    specs = _visible(group_type_id)[1].get("group_specs") or {}
    if key not in specs:
        raise not_found(f"Group Type {group_type_id} has no specs with key {key}.")
    return jsonify({key: specs[key]})


@blueprint.put("/v3/group_types/<group_type_id>/group_specs/<key>")
def update_group_spec(group_type_id: str, key: str) -> Response:
    """Change one spec (admin), at home and in every copy."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_SPECS)
    document = validation.json_document(request.get_data())
    if not isinstance(document, dict) or list(document) != [key]:
        raise bad_request("Request body and URI mismatch")
    validation.check(document, _SPECS)
    homed.in_home_and_copies(
        GROUP_TYPE, group_type_id, "POST", "/group_specs", body={"group_specs": document}
    )
    return jsonify(document)


@blueprint.delete("/v3/group_types/<group_type_id>/group_specs/<key>")
def delete_group_spec(group_type_id: str, key: str) -> Response:
    """Remove one spec (admin), at home and in every copy."""
    _require_microversion()
    fanout.authorize(policy.GROUP_TYPES_SPECS)
    specs = _visible(group_type_id)[1].get("group_specs") or {}
    if key not in specs:
        raise not_found(f"Group Type {group_type_id} has no specs with key {key}.")
    homed.in_home_and_copies(GROUP_TYPE, group_type_id, "DELETE", f"/group_specs/{segment(key)}")
    return Response(status=202)

"""``/v3/types``: volume types kept at the gateway, copied into a pod when a volume there uses one.

A type's copy in a pod is made once (create-once, routing type ``volume_type``) with Tricircle's
own identity, public in the pod (a private type: private, with the projects given access to it,
see ``type_access``), encrypted as the top type is (``type_encryption``) and named as the top
type, so the pod's volumes show the type's name; its pod ID is shown as the top type's ID.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from flask import Blueprint, Response, g, jsonify

from tricircle.api import gateway
from tricircle.api.volume import common, type_encryption
from tricircle.api.volume.faults import CinderFault, bad_request, not_found
from tricircle.api.volume.policy import TYPES_MANAGE, TYPES_SHOW_PRIVATE
from tricircle.db import routings
from tricircle.db import volume_type_access as access_queries
from tricircle.db import volume_types as type_queries
from tricircle.db.models import Pod, VolumeType
from tricircle.pods import create_once
from tricircle.pods.client import PodCallError, PodClient, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_types", __name__)

_SPECS = {"type": "object", "additionalProperties": {"type": "string"}}
_TYPE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    "description": {"type": ["string", "null"]},
    "is_public": {"type": "boolean"},
    "os-volume-type-access:is_public": {"type": "boolean"},
    "extra_specs": _SPECS,
}
TYPE_CREATE = common.body_schema("volume_type", _TYPE_FIELDS, required=("name",))
TYPE_UPDATE = common.body_schema("volume_type", _TYPE_FIELDS)
EXTRA_SPECS = {"type": "object", "properties": {"extra_specs": _SPECS}}
ONE_SPEC = {**_SPECS, "minProperties": 1}


def _allowed(rule: str) -> bool:
    return bool(common.state().enforcer.authorize(rule, {}, g.context, do_raise=False))


def _authorize(rule: str) -> None:
    common.state().enforcer.authorize(rule, {}, g.context, do_raise=True)


def view(volume_type: VolumeType, *, access: bool = True, qos: bool = True) -> dict[str, Any]:
    """A type as Cinder shows it: a create's answer has no ``qos_specs_id``, an update's neither
    that nor the access flag; show and list give admins ``qos_specs_id`` (None: the top type has
    no association; pods hold them)."""
    shown: dict[str, Any] = {
        "id": volume_type.id,
        "name": volume_type.name,
        "description": volume_type.description,
        "is_public": volume_type.is_public,
        "extra_specs": dict(volume_type.extra_specs),
    }
    if access:
        shown["os-volume-type-access:is_public"] = volume_type.is_public
    if qos and _allowed(TYPES_SHOW_PRIVATE):
        shown["qos_specs_id"] = None
    return shown


def visible_type(name_or_id: str, *, by_name_message: bool = False) -> VolumeType:
    """The type the caller may see or use; Cinder's 404 otherwise."""
    with common.state().session_factory() as session:
        found = type_queries.find_volume_type(session, name_or_id)
    if found is None or (
        not found.is_public and not _allowed(TYPES_SHOW_PRIVATE) and not _has_access(found.id)
    ):
        if by_name_message:
            raise not_found(f"Volume type with name {name_or_id} could not be found.")
        raise not_found(f"Volume type {name_or_id} could not be found.")
    return found


def _has_access(type_id: str) -> bool:
    """Whether the caller's project was given access to the private type."""
    with common.state().session_factory() as session:
        return common.project_id() in access_queries.projects_with_access(session, type_id)


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    """The type's fields named in a checked body, as the database keeps them."""
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = body["name"].strip()
    if "description" in body:
        changes["description"] = body["description"]
    for key in ("os-volume-type-access:is_public", "is_public"):
        if key in body:
            changes["is_public"] = body[key]
    if "extra_specs" in body:
        changes["extra_specs"] = body["extra_specs"]
    return changes


@blueprint.get("/v3/types")
def list_types() -> Response:
    """Public types (every type for admins)."""
    with common.state().session_factory() as session:
        admin = _allowed(TYPES_SHOW_PRIVATE)
        found = type_queries.list_volume_types(session, include_private=True)
        granted = set() if admin else access_queries.types_with_access(session, common.project_id())
        found = [t for t in found if admin or t.is_public or t.id in granted]
    return jsonify({"volume_types": [view(t) for t in found]})


@blueprint.get("/v3/types/<type_id>")
def show_type(type_id: str) -> Response:
    """One type."""
    return jsonify({"volume_type": view(visible_type(type_id))})


@blueprint.post("/v3/types")
def create_type() -> Response:
    """Define a type at the gateway (admin); pods get it when a volume first uses it."""
    _authorize(TYPES_MANAGE)
    fields = _changes(common.json_body("volume_type", TYPE_CREATE)["volume_type"])
    try:
        with gateway.transaction() as session:
            created = type_queries.create_volume_type(session, **fields)
    except type_queries.VolumeTypeExists as exc:
        raise CinderFault(409, str(exc)) from exc
    LOG.info("volume type %s (%s) created", created.id, created.name)
    return jsonify({"volume_type": view(created, qos=False)})


@blueprint.put("/v3/types/<type_id>")
def update_type(type_id: str) -> Response:
    """Rename, describe or publish a type (admin); copies in pods keep their first name."""
    _authorize(TYPES_MANAGE)
    changes = _changes(common.json_body("volume_type", TYPE_UPDATE)["volume_type"])
    changes.pop("extra_specs", None)
    try:
        with gateway.transaction() as session:
            found = type_queries.find_volume_type(session, type_id)
            if found is None:
                raise not_found(f"Volume type {type_id} could not be found.")
            updated = type_queries.update_volume_type(session, found, **changes)
    except type_queries.VolumeTypeExists as exc:
        raise CinderFault(409, str(exc)) from exc
    return jsonify({"volume_type": view(updated, access=False, qos=False)})


def _in_each_copy(type_id: str, method: str, suffix: str, body: Any = None) -> None:
    """Apply a change to every copy of a type in the pods, as Tricircle."""
    with common.state().session_factory() as session:
        copies = type_queries.bottom_copies(session, type_id)
        regions = {c.pod_id: session.get(Pod, c.pod_id).region_name for c in copies}
    for copy in copies:
        client = common.state().service_client(regions[copy.pod_id])
        client.request(method, f"/types/{segment(copy.bottom_id)}{suffix}", json=body)


@blueprint.delete("/v3/types/<type_id>")
def delete_type(type_id: str) -> Response:
    """Delete a type (admin) and its copies in the pods; a pod still using it refuses (400)."""
    _authorize(TYPES_MANAGE)
    visible_type(type_id)
    try:
        _in_each_copy(type_id, "DELETE", "")
    except PodClientError as exc:
        raise bad_request(f"Target volume type is still in use: {exc.pod_message}") from exc
    with gateway.transaction() as session:
        for copy in type_queries.bottom_copies(session, type_id):
            routings.delete_routing(session, copy.id)
        access_queries.revoke_all(session, type_id)
        found = type_queries.find_volume_type(session, type_id)
        if found is not None:
            session.delete(found)
    LOG.info("volume type %s deleted with its copies", type_id)
    return Response(status=202)


@blueprint.get("/v3/types/<type_id>/extra_specs")
def list_extra_specs(type_id: str) -> Response:
    """A type's extra specs."""
    return jsonify({"extra_specs": dict(visible_type(type_id).extra_specs)})


@blueprint.post("/v3/types/<type_id>/extra_specs")
def set_extra_specs(type_id: str) -> Response:
    """Add or change extra specs (admin), in the type and its copies."""
    _authorize(TYPES_MANAGE)
    specs = common.json_body("extra_specs", EXTRA_SPECS)["extra_specs"]
    _store_extra_specs(type_id, specs)
    return jsonify({"extra_specs": specs})


def _store_extra_specs(type_id: str, specs: dict[str, str]) -> None:
    """Merge ``specs`` into the type's extra specs, in its copies first."""
    visible_type(type_id)
    _in_each_copy(type_id, "POST", "/extra_specs", {"extra_specs": specs})
    with gateway.transaction() as session:
        found = type_queries.find_volume_type(session, type_id)
        type_queries.update_volume_type(session, found, extra_specs={**found.extra_specs, **specs})


def _missing_spec(type_id: str, key: str) -> CinderFault:
    return not_found(f"Volume Type {type_id} has no extra specs with key {key}.")


@blueprint.get("/v3/types/<type_id>/extra_specs/<key>")
def show_extra_spec(type_id: str, key: str) -> Response:
    """One extra spec, as ``{key: value}``."""
    specs = visible_type(type_id).extra_specs
    if key not in specs:
        raise _missing_spec(type_id, key)
    return jsonify({key: specs[key]})


@blueprint.put("/v3/types/<type_id>/extra_specs/<key>")
def update_extra_spec(type_id: str, key: str) -> Response:
    """Set one extra spec (admin): the body is ``{key: value}`` for the key in the URL."""
    _authorize(TYPES_MANAGE)
    body = common.json_body(key, ONE_SPEC)
    if len(body) > 1:
        raise bad_request("Request body contains too many items.")
    if key not in body:
        raise bad_request("Request body and URI mismatch")
    _store_extra_specs(type_id, body)
    return jsonify(body)


@blueprint.delete("/v3/types/<type_id>/extra_specs/<key>")
def delete_extra_spec(type_id: str, key: str) -> Response:
    """Remove one extra spec (admin), from the type and its copies."""
    _authorize(TYPES_MANAGE)
    if key not in visible_type(type_id).extra_specs:
        raise _missing_spec(type_id, key)
    _in_each_copy(type_id, "DELETE", f"/extra_specs/{segment(key)}")
    with gateway.transaction() as session:
        found = type_queries.find_volume_type(session, type_id)
        remaining = {k: v for k, v in found.extra_specs.items() if k != key}
        type_queries.update_volume_type(session, found, extra_specs=remaining)
    return Response(status=202)


def ensure_in_pod(volume_type: VolumeType, pod: Pod) -> str:
    """The ID of the type's copy in ``pod``, made (once) with Tricircle's identity if missing."""
    client = common.state().service_client(pod.region_name)

    def find_by_name(_top_id: str) -> str | None:
        listed = client.get("/types", params={"is_public": "None"})["volume_types"]
        return next((t["id"] for t in listed if t["name"] == volume_type.name), None)

    def create(_top_id: str) -> str:
        body = {
            "volume_type": {
                "name": volume_type.name,
                "description": volume_type.description,
                "os-volume-type-access:is_public": volume_type.is_public,
                "extra_specs": dict(volume_type.extra_specs),
            }
        }
        try:
            made = client.post("/types", json=body)["volume_type"]["id"]
        except PodClientError as exc:
            found = find_by_name(volume_type.id) if exc.status == 409 else None
            if found is None:
                raise
            return found
        with common.state().session_factory() as session:
            projects = access_queries.projects_with_access(session, volume_type.id)
            encryption = type_queries.find_encryption(session, volume_type.id)
        for project in [] if volume_type.is_public else projects:
            client.post(
                f"/types/{segment(made)}/action", json={"addProjectAccess": {"project": project}}
            )
        if encryption is not None:
            _encrypt_new_copy(client, made, type_encryption.specs_of(encryption), pod)
        return made

    bottom_id = create_once.ensure_bottom_resource(
        common.state().session_factory,
        top_id=volume_type.id,
        pod_id=pod.pod_id,
        project_id="",
        resource_type=type_queries.RESOURCE_TYPE,
        create=create,
        find_by_name=find_by_name,
    )
    common.state().caches.top_type_ids.put_many({(pod.pod_id, bottom_id): volume_type.id})
    LOG.debug("volume type %s is %s in pod %s", volume_type.id, bottom_id, pod.region_name)
    return bottom_id


def _encrypt_new_copy(client: PodClient, bottom_id: str, specs: dict[str, Any], pod: Pod) -> None:
    """Give a copy just made the type's encryption specs; if the pod refuses, the copy is deleted
    (a copy without them must never be used) and the error raised."""
    try:
        type_encryption.set_copy_encryption(client, bottom_id, specs)
    except PodCallError:
        LOG.warning(
            "pod %s refused the encryption of type copy %s; copy deleted",
            pod.region_name,
            bottom_id,
        )
        client.delete(f"/types/{segment(bottom_id)}")
        raise


def with_top_type_ids(records: list[dict], pod: Pod, state: common.VolumeState) -> list[dict]:
    """Volume records with ``volume_type_id`` of a type copy shown as the top type's ID."""
    top_ids = top_type_ids({r.get("volume_type_id") for r in records}, pod, state)
    if not top_ids:
        return records
    return [
        {**r, "volume_type_id": top_ids.get(r.get("volume_type_id")) or r.get("volume_type_id")}
        if "volume_type_id" in r
        else r
        for r in records
    ]


def top_type_ids(
    bottom_ids: Collection[str | None], pod: Pod, state: common.VolumeState
) -> dict[str, str]:
    """Bottom type ID -> top type ID, for the copies in ``pod`` among ``bottom_ids``.

    IDs come from the gateway's ``top_type_ids`` cache, so a warm show or list page asks no
    database after the pod answered. Tenants: keyed by (pod, bottom ID) alone, since the map is
    the same for every project and only translates IDs the pod itself showed the caller.
    Invalidation: a copy's routing exists before any volume of the copy and goes only after its
    pod deleted the copy (which no volume then uses), and this process keeps what it makes
    (``ensure_in_pod``); any other change (a routing edited through the admin API, a pod's own
    type adopted as a copy) is seen within ``[gateway_cache] ttl``.
    """
    keys = {(pod.pod_id, bottom_id) for bottom_id in bottom_ids if bottom_id}
    if not keys:
        return {}
    cache = state.caches.top_type_ids
    known = cache.get_many(keys)
    missing = [bottom_id for _pod_id, bottom_id in keys - known.keys()]
    if missing:
        with state.session_factory() as session:
            found = type_queries.top_type_ids(session, pod.pod_id, missing)
        read = {(pod.pod_id, bottom_id): found.get(bottom_id) for bottom_id in missing}
        cache.put_many(read)
        known = {**known, **read}
    return {bottom_id: top_id for (_pod_id, bottom_id), top_id in known.items() if top_id}

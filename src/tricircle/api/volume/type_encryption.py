"""``/v3/types/{type_id}/encryption``: a volume type's encryption specs, kept at the gateway with
the type (``volume_type_encryptions``) and copied into every pod's copy of the type.

Admin only (Cinder's ``volume_extension:volume_type_encryption:*`` rules). A create, update or
delete is made in every copy first, as Tricircle, then at the gateway: a pod whose volumes use
its copy refuses (Cinder's 400 ``... Volume type in use.``, passed through), and the copies
already changed are put back as they were, so nothing is left half-made. A copy made later
(``types.ensure_in_pod``) gets the specs when it is made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, g, jsonify

from tricircle.api import gateway
from tricircle.api.volume import common
from tricircle.api.volume.faults import CinderFault, bad_request, not_found
from tricircle.api.volume.policy import (
    ENCRYPTION_CREATE,
    ENCRYPTION_DELETE,
    ENCRYPTION_GET,
    ENCRYPTION_UPDATE,
)
from tricircle.db import volume_types as type_queries
from tricircle.db.models import Pod, VolumeType, VolumeTypeEncryption
from tricircle.pods.client import PodCallError, PodClient
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_type_encryption", __name__)

SPEC_FIELDS = ("provider", "control_location", "cipher", "key_size")
_FIELDS = {
    "key_size": {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 2147483647},
            {"type": "string", "pattern": "^[0-9]{1,10}$"},
            {"type": "null"},
        ]
    },
    "provider": {"type": "string", "maxLength": 255, "pattern": "^[^\x00]*$"},
    "control_location": {"enum": ["front-end", "back-end"]},
    "cipher": {"type": ["string", "null"], "maxLength": 255, "pattern": "^[^\x00]*$"},
}
ENCRYPTION_CREATE_BODY = common.body_schema(
    "encryption", _FIELDS, required=("provider", "control_location")
)
ENCRYPTION_UPDATE_BODY = common.body_schema("encryption", _FIELDS)


def _authorize(rule: str) -> None:
    """Cinder's 403 unless the caller passes ``rule``."""
    common.state().enforcer.authorize(rule, {}, g.context, do_raise=True)


def _top_type(type_id: str) -> VolumeType:
    """The top type with this ID; Cinder's 404 otherwise."""
    with common.state().session_factory() as session:
        found = session.get(VolumeType, type_id)
    if found is None:
        raise not_found(f"Volume type {type_id} could not be found.")
    return found


def _missing(type_id: str) -> CinderFault:
    return not_found(f"Volume type encryption for type {type_id} does not exist.")


def _stored(type_id: str) -> VolumeTypeEncryption | None:
    with common.state().session_factory() as session:
        return type_queries.find_encryption(session, type_id)


def specs_of(encryption: VolumeTypeEncryption) -> dict[str, Any]:
    """The specs a pod's copy is given (``encryption`` of Cinder's create body)."""
    return {field: getattr(encryption, field) for field in SPEC_FIELDS}


def view(encryption: VolumeTypeEncryption) -> dict[str, Any]:
    """The specs as Cinder shows them (every column of its record)."""
    return {
        "volume_type_id": encryption.volume_type_id,
        "encryption_id": encryption.encryption_id,
        **specs_of(encryption),
        "deleted": False,
        "created_at": encryption.created_at.isoformat(timespec="microseconds"),
        "updated_at": encryption.updated_at.isoformat(timespec="microseconds"),
        "deleted_at": None,
    }


def _asked(body: Mapping[str, Any]) -> dict[str, Any]:
    """The known fields of a checked body, ``key_size`` as an integer (others ignored, as
    Cinder keeps no more)."""
    asked = {field: body[field] for field in SPEC_FIELDS if field in body}
    if asked.get("key_size") is not None:
        asked["key_size"] = int(asked["key_size"])
    return asked


def set_copy_encryption(
    client: PodClient, bottom_type_id: str, specs: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Make the copy's encryption ``specs`` (none if None); return what it had before."""
    path = f"/types/{segment(bottom_type_id)}/encryption"
    current = client.get(path) or None
    before = {field: current.get(field) for field in SPEC_FIELDS} if current else None
    if specs is None:
        if current:
            client.delete(f"{path}/{segment(str(current['encryption_id']))}")
    elif current:
        client.put(f"{path}/{segment(str(current['encryption_id']))}", json={"encryption": specs})
    else:
        client.post(path, json={"encryption": dict(specs)})
    return before


def _in_every_copy(type_id: str, specs: Mapping[str, Any] | None) -> None:
    """Give every copy of the type ``specs``, pod by pod in region order; on a pod's refusal or
    failure put back the copies already changed (each failing undo logged) and raise."""
    state = common.state()
    with state.session_factory() as session:
        copies = [
            (session.get(Pod, copy.pod_id), copy.bottom_id)
            for copy in type_queries.bottom_copies(session, type_id)
        ]
    done: list[tuple[Pod, str, dict[str, Any] | None]] = []
    for pod, bottom_id in sorted(copies, key=lambda copy: copy[0].region_name):
        try:
            before = set_copy_encryption(state.service_client(pod.region_name), bottom_id, specs)
        except PodCallError:
            LOG.info(
                "pod %s refused encryption of type %s (%s)", pod.region_name, type_id, bottom_id
            )
            for done_pod, done_id, previous in reversed(done):
                _put_back(done_pod, done_id, previous, type_id)
            raise
        done.append((pod, bottom_id, before))
        LOG.info(
            "encryption of type %s set in pod %s on its copy %s",
            type_id,
            pod.region_name,
            bottom_id,
        )


def _put_back(pod: Pod, bottom_id: str, previous: dict[str, Any] | None, type_id: str) -> None:
    """Undo: the copy's encryption as it was; a failure is logged, never raised."""
    try:
        set_copy_encryption(common.state().service_client(pod.region_name), bottom_id, previous)
    except PodCallError as exc:
        LOG.warning(
            "could not put back encryption of type %s on copy %s in pod %s: %s",
            type_id,
            bottom_id,
            pod.region_name,
            exc,
        )


@blueprint.get("/v3/types/<type_id>/encryption")
def show_encryption(type_id: str) -> Response:
    """The type's encryption specs; ``{}`` when it has none."""
    _authorize(ENCRYPTION_GET)
    _top_type(type_id)
    stored = _stored(type_id)
    return jsonify(view(stored) if stored is not None else {})


@blueprint.get("/v3/types/<type_id>/encryption/<key>")
def show_encryption_item(type_id: str, key: str) -> Response:
    """One field of the type's encryption specs, as ``{key: value}``."""
    _authorize(ENCRYPTION_GET)
    _top_type(type_id)
    stored = _stored(type_id)
    shown = view(stored) if stored is not None else {}
    if key not in shown:
        raise _missing(type_id)
    return jsonify({key: shown[key]})


@blueprint.post("/v3/types/<type_id>/encryption")
def create_encryption(type_id: str) -> Response:
    """Encrypt the type (and its copies); Cinder's 400 if it already is."""
    _authorize(ENCRYPTION_CREATE)
    asked = _asked(common.json_body("encryption", ENCRYPTION_CREATE_BODY)["encryption"])
    _top_type(type_id)
    if _stored(type_id) is not None:
        raise bad_request(str(type_queries.EncryptionExists(type_id)))
    specs = {"cipher": None, "key_size": None, **asked}
    _in_every_copy(type_id, specs)
    try:
        with gateway.transaction() as session:
            created = type_queries.create_encryption(session, type_id, **specs)
            shown = {**asked, "volume_type_id": type_id, "encryption_id": created.encryption_id}
    except type_queries.EncryptionExists as exc:
        stored = _stored(type_id)
        _in_every_copy(type_id, specs_of(stored) if stored is not None else None)
        raise bad_request(str(exc)) from exc
    LOG.info("volume type %s encrypted (%s)", type_id, shown["encryption_id"])
    return jsonify({"encryption": shown})


@blueprint.put("/v3/types/<type_id>/encryption/<encryption_id>")
def update_encryption(type_id: str, encryption_id: str) -> Response:
    """Change the type's encryption specs (and its copies'); Cinder's 404 if it has none."""
    _authorize(ENCRYPTION_UPDATE)
    asked = _asked(common.json_body("encryption", ENCRYPTION_UPDATE_BODY)["encryption"])
    _top_type(type_id)
    stored = _stored(type_id)
    if stored is None:
        raise _missing(type_id)
    _in_every_copy(type_id, {**specs_of(stored), **asked})
    with gateway.transaction() as session:
        found = type_queries.find_encryption(session, type_id)
        if found is not None:
            type_queries.update_encryption(session, found, **asked)
    LOG.info("encryption %s of volume type %s updated", encryption_id, type_id)
    return jsonify({"encryption": asked})


@blueprint.delete("/v3/types/<type_id>/encryption/<encryption_id>")
def delete_encryption(type_id: str, encryption_id: str) -> Response:
    """Stop encrypting the type (and its copies); Cinder's 404 if it has no specs."""
    _authorize(ENCRYPTION_DELETE)
    if _stored(type_id) is None:
        raise _missing(type_id)
    _in_every_copy(type_id, None)
    with gateway.transaction() as session:
        type_queries.delete_encryption(session, type_id)
    LOG.info("encryption %s of volume type %s deleted", encryption_id, type_id)
    return Response(status=202)

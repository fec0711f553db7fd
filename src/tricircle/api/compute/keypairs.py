"""Keypairs, stored at the gateway per user; made for the user in a pod when a server needs one.

Public keys are imported, or (before microversion 2.92, as Nova does) generated, ssh or x509
(``key_material.py``): the private key is returned once and never stored. From 2.10 an admin
names the user whose keypairs are addressed (``user_id`` in the create body, else the query).
A create is held to the user's ``key_pairs`` limit in the caller's project (Nova's 403 over it).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import quota_sets, validation
from tricircle.api.compute import key_material, policy
from tricircle.api.compute.state import authorize, state
from tricircle.api.errors import InvalidField
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.db import routings
from tricircle.db.compute import (
    count_keypairs,
    create_keypair,
    delete_keypair,
    get_keypair,
    list_keypairs,
)
from tricircle.db.models import Keypair, utcnow
from tricircle.pods.client import PodCallError
from tricircle.pods.paths import segment
from tricircle.quotas.checks import check_key_pairs
from tricircle.quotas.resources import COMPUTE

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_keypairs", __name__)

IMPORT_ONLY_FROM = "2.92"
_NAME = re.compile(r"^[a-zA-Z0-9 _\-.@]{1,255}$")


def keypair_view(keypair: Keypair, full: bool) -> dict[str, Any]:
    """A keypair at the caller's microversion; ``full`` for show and create."""
    view: dict[str, Any] = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
    }
    if g.microversion.at_least("2.2"):
        view["type"] = keypair.type
    if full:
        view["user_id"] = keypair.user_id
    if full and request.method == "GET":
        stamp = keypair.created_at.isoformat(timespec="microseconds")
        view.update({"id": keypair.id, "created_at": stamp, "updated_at": None, "deleted": False})
        view["deleted_at"] = None
    return view


def _user_id() -> str:
    """The user whose keypairs are addressed: the caller, or ``user_id`` for an admin (2.10)."""
    asked = request.args.get("user_id")
    who = caller()
    if asked and asked != who.user_id and g.microversion.at_least("2.10"):
        authorize(policy.KEYPAIR_OTHER_USER)
        return asked
    return who.user_id


@blueprint.get("/os-keypairs")
def list_all() -> ResponseReturnValue:
    """The user's keypairs."""
    with transaction() as session:
        keypairs = list_keypairs(session, _user_id())
    return jsonify({"keypairs": [{"keypair": keypair_view(kp, False)} for kp in keypairs]})


@blueprint.get("/os-keypairs/<name>")
def show(name: str) -> ResponseReturnValue:
    """One keypair."""
    with transaction() as session:
        keypair = get_keypair(session, _user_id(), name)
    return jsonify({"keypair": keypair_view(keypair, True)})


@dataclass(frozen=True)
class KeypairRequest:
    """A create body, checked: ``public_key`` None asks for a generated keypair."""

    name: str
    public_key: str | None
    key_type: str
    user_id: str | None


def _fields_allowed() -> set[str]:
    """The create body's fields at the caller's microversion (Nova's schemas)."""
    allowed = {"name", "public_key"}
    if g.microversion.at_least("2.2"):
        allowed.add("type")
    if g.microversion.at_least("2.10"):
        allowed.add("user_id")
    return allowed


def _parse(raw: bytes) -> KeypairRequest:
    """A create body, checked; 400 naming the field."""
    document = validation.json_document(raw)
    body = document.get("keypair") if isinstance(document, dict) else None
    if not isinstance(body, dict):
        raise InvalidField("keypair", "must be a JSON object")
    unknown = set(body) - _fields_allowed()
    if unknown:
        raise InvalidField(sorted(unknown)[0], "unknown field")
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name) or not name.strip():
        raise InvalidField("name", "must be 1-255 letters, digits, spaces, '_', '-', '.', '@'")
    key_type = body.get("type", key_material.SSH)
    if key_type not in key_material.KEY_TYPES:
        raise InvalidField("type", f"must be one of {', '.join(key_material.KEY_TYPES)}")
    user_id = body.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not 1 <= len(user_id) <= 255):
        raise InvalidField("user_id", "must be a string of 1-255 characters")
    public_key = body.get("public_key")
    if public_key is None:
        return KeypairRequest(name, None, key_type, user_id)
    if not isinstance(public_key, str) or not public_key.strip():
        raise InvalidField("public_key", "must be a non-empty string")
    return KeypairRequest(name, public_key.strip(), key_type, user_id)


def _owner(asked: str | None) -> str:
    """The user a keypair is created for: the caller, or ``user_id`` for an admin (2.10)."""
    who = caller()
    if asked is None or asked == who.user_id:
        return who.user_id
    authorize(policy.KEYPAIR_OTHER_USER)
    return asked


@blueprint.post("/os-keypairs")
def create() -> ResponseReturnValue:
    """Import a public key, or (before 2.92) generate a keypair, for the caller or (2.10, admin)
    the user named in the body."""
    asked = _parse(request.get_data())
    user_id = _owner(asked.user_id)
    if asked.public_key is not None:
        material = key_material.imported(asked.public_key, asked.key_type)
    elif g.microversion.at_least(IMPORT_ONLY_FROM):
        raise InvalidField("public_key", "is required")
    else:
        material = key_material.generated(asked.key_type, user_id)
    keypair = Keypair(
        user_id=user_id,
        name=asked.name,
        type=asked.key_type,
        public_key=material.public_key,
        fingerprint=material.fingerprint,
        created_at=utcnow(),
    )
    limit = quota_sets.engine().user_limit(COMPUTE, caller().project_id, user_id, "key_pairs")
    with transaction() as session:
        create_keypair(session, keypair)
        check_key_pairs(limit, count_keypairs(session, user_id))
    status = 201 if g.microversion.at_least("2.2") else 200
    view = keypair_view(keypair, True)
    if material.private_key is not None:
        view["private_key"] = material.private_key
    return jsonify({"keypair": view}), status


@blueprint.delete("/os-keypairs/<name>")
def delete(name: str) -> ResponseReturnValue:
    """Remove a keypair at the gateway and from every pod it was made in."""
    who = caller()
    with transaction() as session:
        keypair = get_keypair(session, _user_id(), name)
        copies = routings.find_routings_for_top(session, f"keypair-{keypair.id}")
        delete_keypair(session, keypair)
        for routing in copies:
            routings.delete_routing(session, routing.id)
    regions = {pod.pod_id: pod.region_name for pod in bottom_pods()}
    for routing in copies:
        region = regions.get(routing.pod_id)
        if region is None:
            continue
        try:
            state().calls.call(who, region, "DELETE", f"/os-keypairs/{segment(name)}")
        except PodCallError as exc:
            LOG.warning("bottom keypair not deleted region=%s name=%s error=%s", region, name, exc)
    return "", 204 if g.microversion.at_least("2.2") else 202

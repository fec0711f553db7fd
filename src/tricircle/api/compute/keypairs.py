"""Keypairs, stored at the gateway per user; made for the user in a pod when a server needs one.

Public keys are imported, or (ssh keys before microversion 2.92, as Nova does) generated: the
private key is returned once and never stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import struct
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import policy
from tricircle.api.compute.state import authorize, state
from tricircle.api.errors import BadRequest, InvalidField
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.db import routings
from tricircle.db.compute import (
    create_keypair,
    delete_keypair,
    get_keypair,
    list_keypairs,
)
from tricircle.db.models import Keypair, utcnow
from tricircle.pods.client import PodCallError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_keypairs", __name__)

KEY_TYPES = ("ssh", "x509")
IMPORT_ONLY_FROM = "2.92"
GENERATED_KEY_BITS = 2048
_NAME = re.compile(r"^[a-zA-Z0-9 _\-.@]{1,255}$")


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key (``aa:bb:...``); BadRequest if invalid."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded_type = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError) as exc:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from exc
    if embedded_type != parts[0]:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


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


def _parse(raw: bytes) -> tuple[str, str | None, str]:
    """Name, public key (None: generate one) and type from a create body; 400 naming the field."""
    document = validation.json_document(raw)
    body = document.get("keypair") if isinstance(document, dict) else None
    if not isinstance(body, dict):
        raise InvalidField("keypair", "must be a JSON object")
    unknown = set(body) - {"name", "public_key", "type", "user_id"}
    if unknown:
        raise InvalidField(sorted(unknown)[0], "unknown field")
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name) or not name.strip():
        raise InvalidField("name", "must be 1-255 letters, digits, spaces, '_', '-', '.', '@'")
    key_type = body.get("type", "ssh")
    if key_type not in KEY_TYPES:
        raise InvalidField("type", f"must be one of {', '.join(KEY_TYPES)}")
    public_key = body.get("public_key")
    if public_key is None:
        return name, None, key_type
    if not isinstance(public_key, str) or not public_key.strip():
        raise InvalidField("public_key", "must be a non-empty string")
    return name, public_key.strip(), key_type


def generate_ssh_key() -> tuple[str, str]:
    """A new RSA key: (OpenSSH public key, PEM private key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    private_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{public_key} Generated-by-Tricircle", private_key


@blueprint.post("/os-keypairs")
def create() -> ResponseReturnValue:
    """Import a public key for the caller, or (before 2.92, ssh keys) generate one."""
    name, public_key, key_type = _parse(request.get_data())
    private_key = None
    if public_key is None:
        if g.microversion.at_least(IMPORT_ONLY_FROM) or key_type != "ssh":
            raise InvalidField("public_key", "is required")
        public_key, private_key = generate_ssh_key()
    keypair = Keypair(
        user_id=caller().user_id,
        name=name,
        type=key_type,
        public_key=public_key,
        fingerprint=fingerprint(public_key),
        created_at=utcnow(),
    )
    with transaction() as session:
        create_keypair(session, keypair)
    status = 201 if g.microversion.at_least("2.2") else 200
    view = keypair_view(keypair, True)
    if private_key is not None:
        view["private_key"] = private_key
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

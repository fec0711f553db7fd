"""Server volume attachments (``os-volume_attachments``), forwarded to the server's pod.

Servers and volumes keep their pod IDs as top IDs, so the pod's answers need no translation.
An attach (or a swap to a new volume) first finds the volume's pod (``volume_pods``) and refuses,
with Nova's 400 and before any pod is asked to change anything, a volume of another pod: the
pod's Nova can attach only volumes of its own Cinder.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from tricircle.api.compute import servers, volume_pods
from tricircle.api.errors import InvalidField
from tricircle.api.gateway import caller
from tricircle.api.microversions import Microversion
from tricircle.api.validation import json_object
from tricircle.db.models import Pod
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_volume_attachments", __name__)

KEY = "volumeAttachment"
TAGS_FROM = "2.49"
DELETE_ON_TERMINATION_FROM = "2.79"
UPDATE_FIELDS_FROM = "2.85"
_DEVICE = re.compile(r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")
_TAG_MAX = 60


def _volume_id(value: Any) -> str:
    """The volume ID in its canonical form; InvalidField if it is not a UUID."""
    if not isinstance(value, str):
        raise InvalidField("volumeId", "is required: a volume UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidField("volumeId", f"{value} is not a valid UUID") from exc


def _attachment(raw: bytes) -> dict[str, Any]:
    """The ``volumeAttachment`` object of the body; InvalidField if missing or not an object."""
    attachment = json_object(raw).get(KEY)
    if not isinstance(attachment, dict):
        raise InvalidField(KEY, "is required and must be a JSON object")
    return attachment


def parse_attach(raw: bytes, version: Microversion) -> dict[str, Any]:
    """The checked attach body, with the volume ID in canonical form.

    Nova's schema at ``version``: ``volumeId`` (UUID), ``device`` (``/dev/vdb`` or null), ``tag``
    from 2.49, ``delete_on_termination`` from 2.79, nothing else.
    """
    attachment = dict(_attachment(raw))
    allowed = {"volumeId", "device"}
    if version.at_least(TAGS_FROM):
        allowed.add("tag")
    if version.at_least(DELETE_ON_TERMINATION_FROM):
        allowed.add("delete_on_termination")
    unknown = sorted(set(attachment) - allowed)
    if unknown:
        raise InvalidField(KEY, f"additional properties are not allowed ({', '.join(unknown)})")
    attachment["volumeId"] = _volume_id(attachment.get("volumeId"))
    device = attachment.get("device")
    if device is not None and (not isinstance(device, str) or not _DEVICE.match(device)):
        raise InvalidField("device", "must be a device name like /dev/vdb, or null")
    tag = attachment.get("tag")
    if "tag" in attachment and (
        not isinstance(tag, str) or len(tag) > _TAG_MAX or "/" in tag or "," in tag
    ):
        raise InvalidField("tag", f"must be at most {_TAG_MAX} characters without '/' or ','")
    if "delete_on_termination" in attachment and not isinstance(
        attachment["delete_on_termination"], bool
    ):
        raise InvalidField("delete_on_termination", "must be a boolean")
    return {KEY: attachment}


def parse_update(raw: bytes) -> dict[str, Any]:
    """The checked update (swap) body; the pod checks the fields allowed at the microversion."""
    attachment = dict(_attachment(raw))
    attachment["volumeId"] = _volume_id(attachment.get("volumeId"))
    return {KEY: attachment}


def _check_volume(server_id: str, volume_id: str) -> Pod:
    """The server's pod, once ``volume_id`` is known to live there too."""
    server_pod = servers.server_pod(server_id)
    volume_pod = volume_pods.holding_pod(volume_id)
    try:
        volume_pods.check_same_pod(server_id, server_pod, volume_id, volume_pod)
    except volume_pods.OtherPod:
        LOG.info(
            "volume attach refused server_region=%s server_id=%s volume_region=%s volume_id=%s",
            server_pod.region_name,
            server_id,
            volume_pod.region_name,
            volume_id,
        )
        raise
    return server_pod


@blueprint.get("/servers/<server_id>/os-volume_attachments")
def list_attachments(server_id: str) -> ResponseReturnValue:
    """The server's volume attachments, from its pod."""
    pod = servers.server_pod(server_id)
    return servers.forward(pod, "GET", f"/servers/{segment(server_id)}/os-volume_attachments")


@blueprint.post("/servers/<server_id>/os-volume_attachments")
def attach(server_id: str) -> ResponseReturnValue:
    """Attach a volume of the server's own pod; Nova's 400 for a volume of another pod."""
    body = parse_attach(request.get_data(), caller().microversion)
    volume_id = body[KEY]["volumeId"]
    pod = _check_volume(server_id, volume_id)
    response = servers.forward(
        pod, "POST", f"/servers/{segment(server_id)}/os-volume_attachments", body
    )
    LOG.info(
        "volume attached region=%s server_id=%s volume_id=%s status=%s",
        pod.region_name,
        server_id,
        volume_id,
        response.status_code,
    )
    return response


@blueprint.get("/servers/<server_id>/os-volume_attachments/<volume_id>")
def show_attachment(server_id: str, volume_id: str) -> ResponseReturnValue:
    """One attachment of the server, from its pod."""
    pod = servers.server_pod(server_id)
    return servers.forward(
        pod, "GET", f"/servers/{segment(server_id)}/os-volume_attachments/{segment(volume_id)}"
    )


@blueprint.put("/servers/<server_id>/os-volume_attachments/<volume_id>")
def update_attachment(server_id: str, volume_id: str) -> ResponseReturnValue:
    """Swap the volume for another of the server's pod, or update the attachment (2.85)."""
    body = parse_update(request.get_data())
    new_volume_id = body[KEY]["volumeId"]
    if new_volume_id == volume_id:
        pod = servers.server_pod(server_id)
    else:
        pod = _check_volume(server_id, new_volume_id)
    path = f"/servers/{segment(server_id)}/os-volume_attachments/{segment(volume_id)}"
    response = servers.forward(pod, "PUT", path, body)
    LOG.info(
        "volume attachment updated region=%s server_id=%s volume_id=%s new_volume_id=%s",
        pod.region_name,
        server_id,
        volume_id,
        new_volume_id,
    )
    return response


@blueprint.delete("/servers/<server_id>/os-volume_attachments/<volume_id>")
def detach(server_id: str, volume_id: str) -> ResponseReturnValue:
    """Detach a volume from the server, in its pod."""
    pod = servers.server_pod(server_id)
    path = f"/servers/{segment(server_id)}/os-volume_attachments/{segment(volume_id)}"
    response = servers.forward(pod, "DELETE", path)
    LOG.info(
        "volume detached region=%s server_id=%s volume_id=%s status=%s",
        pod.region_name,
        server_id,
        volume_id,
        response.status_code,
    )
    return response

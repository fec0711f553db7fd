"""Volume transfers (``/v3/volume-transfers`` from 3.55, ``/v3/os-volume-transfer``): both ends
in the volume's pod.

A transfer is made in its volume's pod and keeps the pod's ID (routing top == bottom, so the
accepting project, which cannot see the transfer, still reaches it). Accepting it first reserves
the volume at the top for the accepting project and writes that project's limits into the pod;
afterwards the volume's routing belongs to the accepting project (its quota counts that pod).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tricircle.api import gateway, quota_sets
from tricircle.api.volume import common, fanout, forwarding, quotas, routing
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError
from tricircle.pods.paths import segment
from tricircle.quotas.checks import volume_plan
from tricircle.quotas.resources import VOLUME

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_transfers", __name__)

NEW_API = "3.55"
COLLECTIONS = ("volume-transfers", "os-volume-transfer")
TRANSFER_CREATE = common.body_schema(
    "transfer",
    {
        "volume_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "name": common.NAME,
        "no_snapshots": {"type": ["boolean", "string"]},
    },
    required=("volume_id",),
)
TRANSFER_ACCEPT = common.body_schema(
    "accept", {"auth_key": {"type": "string", "minLength": 1, "maxLength": 255}}, ("auth_key",)
)


def _collection(collection: str) -> str:
    """The collection asked for; 404 for the new API below 3.55."""
    if collection == "volume-transfers":
        fanout.require_microversion(NEW_API)
    return collection


def create_transfer(collection: str) -> Response:
    """A transfer of a volume, made in the volume's pod."""
    collection = _collection(collection)
    document = common.json_body("transfer", TRANSFER_CREATE)
    pod = forwarding.holding_pod(document["transfer"]["volume_id"], routing.VOLUME)
    answer = common.forward(pod.region_name, "POST", f"/{collection}", body=document)
    created = answer.body["transfer"]
    routing.record(created["id"], pod, common.project_id(), routing.TRANSFER)
    LOG.info(
        "transfer %s of volume %s made in pod %s",
        created["id"],
        created.get("volume_id"),
        pod.region_name,
    )
    return fanout.reply(pod, answer)


def _list(collection: str, detailed: bool) -> Response:
    collection = _collection(collection)
    suffix = "/detail" if detailed else ""
    replies = fanout.ask_every_pod("GET", f"/{collection}{suffix}", params=request.args.to_dict())
    return jsonify({"transfers": fanout.merged(replies, "transfers")})


def list_transfers(collection: str) -> Response:
    """The caller's transfers in every pod."""
    return _list(collection, False)


def list_transfers_detail(collection: str) -> Response:
    """The caller's transfers in every pod, in full."""
    return _list(collection, True)


def transfer(collection: str, transfer_id: str) -> Response:
    """Show or delete a transfer in its pod."""
    collection = _collection(collection)
    pod = forwarding.holding_pod(transfer_id, routing.TRANSFER)
    answer = common.forward(
        pod.region_name, request.method, f"/{collection}/{segment(transfer_id)}"
    )
    if request.method == "DELETE":
        routing.forget(transfer_id, pod, routing.TRANSFER)
    return fanout.reply(pod, answer)


def _volume_size(pod: Pod, transfer_id: str) -> tuple[str | None, int]:
    """The transferred volume and its size, read in the pod as Tricircle (0 if unknown)."""
    client = common.state().service_client(pod.region_name)
    try:
        volume_id = client.get(f"/os-volume-transfer/{segment(transfer_id)}")["transfer"][
            "volume_id"
        ]
        return volume_id, int(client.get(f"/volumes/{segment(volume_id)}")["volume"]["size"])
    except PodCallError as exc:
        LOG.warning(
            "transfer %s: its volume not read in pod %s: %s", transfer_id, pod.region_name, exc
        )
        return None, 0


def _volume_now_of(volume_id: str, pod: Pod, project_id: str) -> None:
    """The volume's routing belongs to the accepting project."""
    with gateway.transaction() as session:
        row = routings.find_routing(session, volume_id, pod.pod_id)
        if row is not None:
            row.project_id = project_id


def accept_transfer(collection: str, transfer_id: str) -> Response:
    """Accept a transfer in its pod, as the accepting project (quota reserved first)."""
    collection = _collection(collection)
    document = common.json_body("accept", TRANSFER_ACCEPT)
    pod = forwarding.holding_pod(transfer_id, routing.TRANSFER)
    volume_id, size = _volume_size(pod, transfer_id)
    project_id = common.project_id()
    quota_sets.reserve(VOLUME, project_id, volume_plan(size))
    quotas.ensure_pod_limits(pod)
    answer = common.forward(
        pod.region_name, "POST", f"/{collection}/{segment(transfer_id)}/accept", body=document
    )
    accepted: dict[str, Any] = (answer.body or {}).get("transfer") or {}
    volume_id = accepted.get("volume_id") or volume_id
    if volume_id:
        _volume_now_of(volume_id, pod, project_id)
    routing.forget(transfer_id, pod, routing.TRANSFER)
    LOG.info("transfer %s of volume %s accepted by project %s", transfer_id, volume_id, project_id)
    return fanout.reply(pod, answer)


_ROUTES = (
    ("", create_transfer, ["POST"]),
    ("", list_transfers, ["GET"]),
    ("/detail", list_transfers_detail, ["GET"]),
    ("/<transfer_id>", transfer, ["GET", "DELETE"]),
    ("/<transfer_id>/accept", accept_transfer, ["POST"]),
)
for _collection_name in COLLECTIONS:
    for _suffix, _view, _methods in _ROUTES:
        blueprint.add_url_rule(
            f"/v3/{_collection_name}{_suffix}",
            f"{_view.__name__}_{_collection_name}",
            _view,
            methods=_methods,
            defaults={"collection": _collection_name},
        )

"""Nova's volume proxies (< 2.36): ``os-volumes`` and ``os-snapshots`` in Nova's shapes.

Every call goes, as the caller, to the block-storage service of Tricircle's own region: the
Cinder gateway, reached like any region's service through the pod clients (as a stock Nova in
RegionOne reaches its region's Cinder). So a volume made here is placed in the pod of its AZ,
routed, typed and counted in the project's quota exactly as one made through the block-storage
API. An in-process call is not possible today: the Cinder gateway's create steps (quota,
scheduler, type copies, routing, undo) read the Cinder app's own state, policy and dialect.

The Cinder gateway is asked at its base microversion (3.0); its faults are mapped as Nova's
Cinder driver maps Cinder's: not found 404, bad input 400, over quota 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import policy
from tricircle.api.compute.central_neutron import check_proxy_available
from tricircle.api.compute.state import authorize, state
from tricircle.api.errors import BadRequest, Forbidden, InvalidField, NotFound
from tricircle.api.gateway import caller
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import UnsafeId, segment

blueprint = Blueprint("compute_proxy_volumes", __name__)

VOLUME_SERVICE = "volumev3"
VOLUME_CREATE = {
    "type": "object",
    "properties": {
        "volume": {
            "type": "object",
            "properties": {
                "volume_type": {"type": "string"},
                "metadata": {"type": "object"},
                "snapshot_id": {"type": "string"},
                "size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
                "availability_zone": {"type": "string"},
                "display_name": {"type": "string"},
                "display_description": {"type": "string"},
            },
            "required": ["size"],
            "additionalProperties": False,
        }
    },
    "required": ["volume"],
    "additionalProperties": False,
}
SNAPSHOT_CREATE = {
    "type": "object",
    "properties": {
        "snapshot": {
            "type": "object",
            "properties": {
                "volume_id": {"type": "string"},
                "force": validation.BOOLEAN,
                "display_name": {"type": "string"},
                "display_description": {"type": "string"},
            },
            "required": ["volume_id"],
            "additionalProperties": False,
        }
    },
    "required": ["snapshot"],
    "additionalProperties": False,
}
# Nova's os-volumes fields and the Cinder create fields they become.
_VOLUME_FIELDS = {
    "volume_type": "volume_type",
    "metadata": "metadata",
    "snapshot_id": "snapshot_id",
    "availability_zone": "availability_zone",
    "display_name": "name",
    "display_description": "description",
}
_NOT_FOUND = {
    "volumes": "Volume {id} could not be found.",
    "snapshots": "Snapshot {id} could not be found.",
}


def _cinder(method: str, path: str, **kwargs: Any) -> Any:
    """The body of the region's block-storage answer to the caller's request.

    A refusal over quota (Cinder's 413) is Nova's 403; other refusals pass with their status.
    """
    app_state = state()
    try:
        answer = app_state.calls.call(
            caller(),
            app_state.conf.client.top_region_name,
            method,
            path,
            service_type=VOLUME_SERVICE,
            **kwargs,
        )
    except PodClientError as exc:
        if exc.status == 413:
            raise Forbidden(exc.pod_message) from exc
        raise
    return answer.body


def _one(collection: str, top_id: str, method: str = "GET") -> Any:
    """``method`` on one volume or snapshot; Nova's 404 naming it when the region has none."""
    missing = NotFound(_NOT_FOUND[collection].format(id=top_id))
    try:
        path = f"/{collection}/{segment(top_id)}"
    except UnsafeId as exc:
        raise missing from exc
    try:
        return _cinder(method, path)
    except PodClientError as exc:
        if exc.status == 404:
            raise missing from exc
        raise


def _limited(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` cut by the request's ``offset`` and ``limit`` as Nova cuts a list (a limit
    of 0, or none, is the maximum page)."""
    bounds = []
    for name in ("offset", "limit"):
        raw = request.args.get(name, "0")
        if not raw.isdigit():
            raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}.")
        bounds.append(int(raw))
    offset, limit = bounds
    limit = min(limit or validation.MAX_LIMIT, validation.MAX_LIMIT)
    return records[offset : offset + limit]


def _all(collection: str) -> list[dict[str, Any]]:
    """Every volume or snapshot the caller sees in the region, page after page."""
    records: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    while True:
        body = _cinder("GET", f"/{collection}/detail", params=params)
        page = body.get(collection, [])
        records.extend(page)
        if not page or not body.get(f"{collection}_links"):
            return records
        params = {"marker": page[-1]["id"]}


def volume_view(volume: dict[str, Any]) -> dict[str, Any]:
    """A Cinder volume in Nova's proxy shape (its first attachment only, as Nova shows it)."""
    attachments: list[dict[str, Any]] = [{}]
    if volume.get("attachments"):
        first = volume["attachments"][0]
        attachment = {"id": volume["id"], "volumeId": volume["id"], "serverId": first["server_id"]}
        if first.get("device"):
            attachment["device"] = first["device"]
        attachments = [attachment]
    return {
        "id": volume["id"],
        "status": volume.get("status"),
        "size": volume.get("size"),
        "availabilityZone": volume.get("availability_zone"),
        "createdAt": volume.get("created_at"),
        "attachments": attachments,
        "displayName": volume.get("name"),
        "displayDescription": volume.get("description"),
        "volumeType": volume.get("volume_type"),
        "snapshotId": volume.get("snapshot_id"),
        "metadata": volume.get("metadata") or {},
    }


def snapshot_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A Cinder snapshot in Nova's proxy shape (``size`` is the snapshot's volume size)."""
    return {
        "id": snapshot["id"],
        "volumeId": snapshot.get("volume_id"),
        "status": snapshot.get("status"),
        "size": snapshot.get("size"),
        "createdAt": snapshot.get("created_at"),
        "displayName": snapshot.get("name"),
        "displayDescription": snapshot.get("description"),
    }


def _list_volumes(action: str) -> ResponseReturnValue:
    """The caller's volumes in Nova's shape, cut as Nova cuts them; ``action`` names the rule."""
    check_proxy_available()
    authorize(policy.VOLUMES % action)
    return jsonify({"volumes": [volume_view(v) for v in _limited(_all("volumes"))]})


@blueprint.get("/os-volumes")
def list_volumes() -> ResponseReturnValue:
    """The caller's volumes."""
    return _list_volumes("list")


@blueprint.get("/os-volumes/detail")
def list_volumes_detail() -> ResponseReturnValue:
    """The caller's volumes (the same view as the list, as in Nova)."""
    return _list_volumes("detail")


@blueprint.get("/os-volumes/<volume_id>")
def show_volume(volume_id: str) -> ResponseReturnValue:
    """One volume."""
    check_proxy_available()
    authorize(policy.VOLUMES % "show")
    return jsonify({"volume": volume_view(_one("volumes", volume_id)["volume"])})


def _size(value: int | str) -> int:
    """The checked size in GiB: an integer of at least 1 (``"0"`` passes Nova's schema only)."""
    size = int(value)
    if size < 1:
        raise InvalidField("size", f"{value} is less than the minimum of 1")
    return size


@blueprint.post("/os-volumes")
def create_volume() -> ResponseReturnValue:
    """Create a volume through the region's block storage (pod of its AZ, quota, routing)."""
    check_proxy_available()
    asked = validation.validated(request.get_data(), VOLUME_CREATE)["volume"]
    authorize(policy.VOLUMES % "create")
    volume = {"size": _size(asked["size"])}
    volume.update((_VOLUME_FIELDS[key], value) for key, value in asked.items() if key != "size")
    if "snapshot_id" in asked:
        _one("snapshots", asked["snapshot_id"])
    made = _cinder("POST", "/volumes", json={"volume": volume})["volume"]
    response = jsonify({"volume": volume_view(made)})
    response.headers["Location"] = f"{request.base_url}/{made['id']}"
    return response


@blueprint.delete("/os-volumes/<volume_id>")
def delete_volume(volume_id: str) -> ResponseReturnValue:
    """Delete a volume in its pod."""
    check_proxy_available()
    authorize(policy.VOLUMES % "delete")
    _one("volumes", volume_id, "DELETE")
    return "", 202


def _list_snapshots(action: str) -> ResponseReturnValue:
    """The caller's snapshots in Nova's shape, cut as Nova cuts them; ``action`` names the rule."""
    check_proxy_available()
    authorize(policy.VOLUMES % f"snapshots:{action}")
    return jsonify({"snapshots": [snapshot_view(s) for s in _limited(_all("snapshots"))]})


@blueprint.get("/os-snapshots")
def list_snapshots() -> ResponseReturnValue:
    """The caller's snapshots."""
    return _list_snapshots("list")


@blueprint.get("/os-snapshots/detail")
def list_snapshots_detail() -> ResponseReturnValue:
    """The caller's snapshots (the same view as the list, as in Nova)."""
    return _list_snapshots("detail")


@blueprint.get("/os-snapshots/<snapshot_id>")
def show_snapshot(snapshot_id: str) -> ResponseReturnValue:
    """One snapshot."""
    check_proxy_available()
    authorize(policy.VOLUMES % "snapshots:show")
    return jsonify({"snapshot": snapshot_view(_one("snapshots", snapshot_id)["snapshot"])})


@blueprint.post("/os-snapshots")
def create_snapshot() -> ResponseReturnValue:
    """Snapshot a volume in its pod (``force`` for an attached one)."""
    check_proxy_available()
    asked = validation.validated(request.get_data(), SNAPSHOT_CREATE)["snapshot"]
    authorize(policy.VOLUMES % "snapshots:create")
    snapshot = {
        "volume_id": asked["volume_id"],
        "force": validation.body_boolean("force", asked.get("force", False)),
        "name": asked.get("display_name"),
        "description": asked.get("display_description"),
    }
    try:
        made = _cinder("POST", "/snapshots", json={"snapshot": snapshot})["snapshot"]
    except PodClientError as exc:
        if exc.status == 404:
            raise NotFound(_NOT_FOUND["volumes"].format(id=asked["volume_id"])) from exc
        raise
    return jsonify({"snapshot": snapshot_view(made)})


@blueprint.delete("/os-snapshots/<snapshot_id>")
def delete_snapshot(snapshot_id: str) -> ResponseReturnValue:
    """Delete a snapshot in its pod."""
    check_proxy_available()
    authorize(policy.VOLUMES % "snapshots:delete")
    _one("snapshots", snapshot_id, "DELETE")
    return "", 202

"""``/v3/groups`` and ``/v3/group_snapshots``: a group lives in one pod with its volumes.

A new group goes to the pod the scheduler gives the project in the asked AZ (its binding, as
volumes), a group made from a source to the source's pod; its group type and volume types are
copied there and it keeps the pod's ID (routing top == bottom). Volumes added to a group must be
in its pod (else Cinder's 400), and a volume created in a group goes to the group's pod
(``volumes``). A group snapshot is made in its group's pod. Lists are merged over the pods (a
pod that does not answer is left out); records show the top type IDs.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tricircle.api import validation
from tricircle.api.volume import (
    common,
    fanout,
    forwarding,
    group_types,
    homed,
    quotas,
    routing,
    types,
)
from tricircle.api.volume.faults import CinderFault, bad_request
from tricircle.db import volume_types as type_queries
from tricircle.db.models import Pod
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment
from tricircle.pods.scheduler import PlacementRequest

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_groups", __name__)

GROUPS = "3.13"
GROUPS_FROM_SOURCE = "3.14"
GROUP_SNAPSHOTS = "3.14"
_IDS = {"type": ["string", "null"], "maxLength": 65535}
GROUP_CREATE = common.body_schema(
    "group",
    {
        "name": common.NAME,
        "description": common.NAME,
        "group_type": {"type": "string", "minLength": 1, "maxLength": 255},
        "volume_types": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        "availability_zone": common.OPTIONAL_STRING,
    },
    required=("group_type", "volume_types"),
)
GROUP_UPDATE = common.body_schema(
    "group",
    {
        "name": common.NAME,
        "description": common.NAME,
        "add_volumes": _IDS,
        "remove_volumes": _IDS,
    },
)
GROUP_FROM_SOURCE = common.body_schema(
    "create-from-src",
    {
        "name": common.NAME,
        "description": common.NAME,
        "group_snapshot_id": common.OPTIONAL_STRING,
        "source_group_id": common.OPTIONAL_STRING,
    },
)
GROUP_SNAPSHOT_CREATE = common.body_schema(
    "group_snapshot",
    {
        "group_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "name": common.NAME,
        "description": common.NAME,
    },
    required=("group_id",),
)


def _top_ids(record: dict[str, Any], pod: Pod) -> dict[str, Any]:
    """A group or group snapshot of ``pod`` with its type copies shown as the top types."""
    record = dict(record)
    if isinstance(record.get("volume_types"), list):
        with common.state().session_factory() as session:
            top = type_queries.top_type_ids(session, pod.pod_id, set(record["volume_types"]))
        record["volume_types"] = [top.get(t, t) for t in record["volume_types"]]
    for key in ("group_type", "group_type_id"):
        if isinstance(record.get(key), str):
            record[key] = homed.top_id_of(group_types.GROUP_TYPE, pod, record[key])
    return record


def _shown(document: Any, pod: Pod) -> Any:
    """An answer about one group or group snapshot, as users see it."""
    if isinstance(document, dict):
        return {
            key: _top_ids(value, pod) if key in ("group", "group_snapshot") else value
            for key, value in document.items()
        }
    return document


def _reply_in(pod: Pod, method: str, path: str, body: Any = None) -> Response:
    answer = common.forward(
        pod.region_name, method, path, body=body, params=request.args.to_dict() or None
    )
    return fanout.reply(pod, answer, _shown)


def _merged_list(collection: str, detailed: bool) -> Response:
    replies = fanout.ask_every_pod("GET", f"/{collection}/detail", params=request.args.to_dict())
    records = sorted(
        fanout.merged(replies, collection, _top_ids),
        key=lambda record: record.get("created_at") or "",
        reverse=True,
    )
    if not detailed:
        records = [{"id": r["id"], "name": r.get("name")} for r in records]
    return jsonify({collection: records})


def _group_pod(group: dict[str, Any]) -> Pod:
    """The pod of a new group: the project's pod in the asked AZ."""
    placement = common.state().scheduler.select_pod(
        PlacementRequest(
            project_id=common.project_id(),
            availability_zone=group.get("availability_zone") or None,
            resource_type=routing.GROUP,
            demand={},
        )
    )
    return placement.pod


@blueprint.post("/v3/groups")
def create_group() -> Response:
    """A group in the pod of its AZ, with its group type and volume types copied there."""
    fanout.require_microversion(GROUPS)
    group = common.json_body("group", GROUP_CREATE)["group"]
    top_group_type = group_types.visible_group_type(group["group_type"])
    top_volume_types = [types.visible_type(t) for t in group["volume_types"]]
    pod = _group_pod(group)
    quotas.ensure_pod_limits(pod)
    bottom = {
        **group,
        "group_type": homed.ensure_copy(group_types.GROUP_TYPE, top_group_type, pod),
        "volume_types": [types.ensure_in_pod(t, pod) for t in top_volume_types],
    }
    bottom.pop("availability_zone", None)
    if pod.pod_az_name:
        bottom["availability_zone"] = pod.pod_az_name
    answer = common.forward(pod.region_name, "POST", "/groups", body={"group": bottom})
    created = answer.body["group"]
    routing.record(created["id"], pod, common.project_id(), routing.GROUP)
    LOG.info("group %s created in pod %s", created["id"], pod.region_name)
    return fanout.reply(pod, answer, _shown)


@blueprint.post("/v3/groups/action")
def create_group_from_source() -> Response:
    """``create-from-src``: a group made in the pod of its source group or group snapshot."""
    fanout.require_microversion(GROUPS_FROM_SOURCE)
    document = common.json_body("create-from-src", GROUP_FROM_SOURCE)
    source = document["create-from-src"]
    if bool(source.get("group_snapshot_id")) == bool(source.get("source_group_id")):
        raise bad_request(
            "Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must be "
            "provided to create group from source."
        )
    if source.get("group_snapshot_id"):
        pod = forwarding.holding_pod(source["group_snapshot_id"], routing.GROUP_SNAPSHOT)
    else:
        pod = forwarding.holding_pod(source["source_group_id"], routing.GROUP)
    quotas.ensure_pod_limits(pod)
    answer = common.forward(pod.region_name, "POST", "/groups/action", body=document)
    created = answer.body["group"]
    routing.record(created["id"], pod, common.project_id(), routing.GROUP)
    return fanout.reply(pod, answer, _shown)


@blueprint.get("/v3/groups")
def list_groups() -> Response:
    """The caller's groups in every pod."""
    fanout.require_microversion(GROUPS)
    return _merged_list("groups", False)


@blueprint.get("/v3/groups/detail")
def list_groups_detail() -> Response:
    """The caller's groups in every pod, in full."""
    fanout.require_microversion(GROUPS)
    return _merged_list("groups", True)


@blueprint.get("/v3/groups/<group_id>")
def show_group(group_id: str) -> Response:
    """One group, from its pod."""
    fanout.require_microversion(GROUPS)
    pod = forwarding.holding_pod(group_id, routing.GROUP)
    try:
        return _reply_in(pod, "GET", f"/groups/{segment(group_id)}")
    except PodClientError as exc:
        if exc.status == 404:
            routing.forget_if_owned(group_id, pod, routing.GROUP)
        raise


def _check_volumes_in(pod: Pod, group_id: str, volume_ids: str | None) -> None:
    """Every volume to add is in the group's pod; Cinder's 400 otherwise."""
    for volume_id in filter(None, (v.strip() for v in (volume_ids or "").split(","))):
        try:
            volume_pod = forwarding.holding_pod(volume_id, routing.VOLUME)
        except CinderFault as exc:
            raise bad_request(
                f"Invalid volume: Cannot add volume {volume_id} to group {group_id} because "
                "volume cannot be found."
            ) from exc
        if volume_pod.pod_id != pod.pod_id:
            raise bad_request(
                f"Invalid volume: Cannot add volume {volume_id} to group {group_id} because it "
                f"is in availability zone {volume_pod.az_name}, not the group's "
                f"{pod.az_name} (a group and its volumes are in one pod)."
            )


@blueprint.put("/v3/groups/<group_id>")
def update_group(group_id: str) -> Response:
    """Rename a group, add volumes of its pod to it or remove some."""
    fanout.require_microversion(GROUPS)
    document = common.json_body("group", GROUP_UPDATE)
    pod = forwarding.holding_pod(group_id, routing.GROUP)
    _check_volumes_in(pod, group_id, document["group"].get("add_volumes"))
    return _reply_in(pod, "PUT", f"/groups/{segment(group_id)}", document)


@blueprint.post("/v3/groups/<group_id>/action")
def group_action(group_id: str) -> Response:
    """Delete, reset the status of or replicate a group, in its pod."""
    fanout.require_microversion(GROUPS)
    pod = forwarding.holding_pod(group_id, routing.GROUP)
    body = validation.json_document(request.get_data())
    return _reply_in(pod, "POST", f"/groups/{segment(group_id)}/action", body)


@blueprint.post("/v3/group_snapshots")
def create_group_snapshot() -> Response:
    """A group snapshot, made in its group's pod."""
    fanout.require_microversion(GROUP_SNAPSHOTS)
    document = common.json_body("group_snapshot", GROUP_SNAPSHOT_CREATE)
    pod = forwarding.holding_pod(document["group_snapshot"]["group_id"], routing.GROUP)
    answer = common.forward(pod.region_name, "POST", "/group_snapshots", body=document)
    created = answer.body["group_snapshot"]
    routing.record(created["id"], pod, common.project_id(), routing.GROUP_SNAPSHOT)
    LOG.info("group snapshot %s created in pod %s", created["id"], pod.region_name)
    return fanout.reply(pod, answer, _shown)


@blueprint.get("/v3/group_snapshots")
def list_group_snapshots() -> Response:
    """The caller's group snapshots in every pod."""
    fanout.require_microversion(GROUP_SNAPSHOTS)
    return _merged_list("group_snapshots", False)


@blueprint.get("/v3/group_snapshots/detail")
def list_group_snapshots_detail() -> Response:
    """The caller's group snapshots in every pod, in full."""
    fanout.require_microversion(GROUP_SNAPSHOTS)
    return _merged_list("group_snapshots", True)


@blueprint.route("/v3/group_snapshots/<snapshot_id>", methods=["GET", "DELETE"])
def group_snapshot(snapshot_id: str) -> Response:
    """Show or delete a group snapshot in its pod."""
    fanout.require_microversion(GROUP_SNAPSHOTS)
    pod = forwarding.holding_pod(snapshot_id, routing.GROUP_SNAPSHOT)
    try:
        return _reply_in(pod, request.method, f"/group_snapshots/{segment(snapshot_id)}")
    except PodClientError as exc:
        if exc.status == 404 and request.method == "GET":
            routing.forget_if_owned(snapshot_id, pod, routing.GROUP_SNAPSHOT)
        raise


@blueprint.post("/v3/group_snapshots/<snapshot_id>/action")
def group_snapshot_action(snapshot_id: str) -> Response:
    """Reset a group snapshot's status, in its pod."""
    fanout.require_microversion(GROUP_SNAPSHOTS)
    pod = forwarding.holding_pod(snapshot_id, routing.GROUP_SNAPSHOT)
    body = validation.json_document(request.get_data())
    return _reply_in(pod, "POST", f"/group_snapshots/{segment(snapshot_id)}/action", body)

"""``/v3/snapshots``: a snapshot is made in its volume's pod; lists merged across pods."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request

from tricircle.api import gateway
from tricircle.api.json_bodies import json_response
from tricircle.api.volume import common, forwarding, listing, quotas, routing
from tricircle.api.volume.faults import not_found
from tricircle.pods.paths import segment, subpath

LOG = logging.getLogger(__name__)

blueprint = Blueprint("snapshots", __name__)

SNAPSHOT_CREATE = common.body_schema(
    "snapshot",
    {
        "volume_id": common.OPTIONAL_UUID,
        **{field: common.NAME for field in ("name", "description", "display_name")},
        "force": {"type": ["boolean", "string"]},
        "metadata": common.METADATA,
    },
    required=("volume_id",),
)


@blueprint.post("/v3/snapshots")
def create_snapshot() -> Response:
    """Snapshot a volume in the pod that holds it and remember where the snapshot is; a null
    ``volume_id`` names no volume (Cinder's 404, as Cinder looks it up)."""
    document = common.json_body("snapshot", SNAPSHOT_CREATE)
    volume_id = document["snapshot"]["volume_id"]
    if volume_id is None:
        raise not_found("Volume None could not be found.")
    pod = forwarding.holding_pod(volume_id, routing.VOLUME)
    quotas.reserve_snapshot(volume_id)
    quotas.ensure_pod_limits(pod)
    answer = common.forward(pod.region_name, "POST", "/snapshots", body=document)
    created = answer.body["snapshot"]
    routing.record(created["id"], pod, common.project_id(), routing.SNAPSHOT)
    LOG.info(
        "snapshot %s of volume %s created in pod %s", created["id"], volume_id, pod.region_name
    )
    return json_response({"snapshot": forwarding.top_view(created, pod)}, answer.status)


def _list(detailed: bool) -> Response:
    records, links = listing.list_across_pods("snapshots", routing.SNAPSHOT)
    if not detailed:
        keep = (
            "id",
            "created_at",
            "updated_at",
            "name",
            "description",
            "volume_id",
            "status",
            "size",
            "metadata",
        )
        records = [{key: record.get(key) for key in keep} for record in records]
    body: dict[str, Any] = {"snapshots": records}
    if links:
        body["snapshots_links"] = links
    return json_response(body)


gateway.route_lists(blueprint, "/v3/snapshots", _list)


@blueprint.route("/v3/snapshots/<snapshot_id>", methods=["GET", "PUT", "DELETE"])
def snapshot(snapshot_id: str) -> Response:
    """Show, update or delete a snapshot in its pod."""
    return forwarding.forward_to_holder(
        snapshot_id,
        routing.SNAPSHOT,
        request.method,
        f"/snapshots/{segment(snapshot_id)}",
        forget_if_gone=request.method == "GET",
    )


@blueprint.route(
    "/v3/snapshots/<snapshot_id>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"]
)
def snapshot_subresource(snapshot_id: str, rest: str) -> Response:
    """Snapshot actions and metadata, in the snapshot's pod."""
    return forwarding.forward_to_holder(
        snapshot_id,
        routing.SNAPSHOT,
        request.method,
        f"/snapshots/{segment(snapshot_id)}/{subpath(rest)}",
    )

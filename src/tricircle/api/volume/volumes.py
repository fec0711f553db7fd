"""``/v3/volumes``: create in the pod the scheduler picks, list across pods, the rest forwarded.

A new volume goes to the pod of its source (snapshot or volume) or, otherwise, to the pod the
scheduler gives the project in the asked AZ (its binding, shared with servers, so a server and its
volumes meet in one pod); the pod's own AZ name is used at the bottom. Its top ID is the pod's ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request

from tricircle.api import gateway
from tricircle.api.json_bodies import json_response
from tricircle.api.podcalls import PodAnswer
from tricircle.api.volume import common, forwarding, listing, quotas, routing, types
from tricircle.api.volume.faults import bad_request, invalid_field
from tricircle.db.models import Pod, VolumeType
from tricircle.network.mirror.undo import Made, Step, run_steps
from tricircle.pods.paths import segment, subpath
from tricircle.pods.scheduler import PlacementRequest

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volumes", __name__)

MAX_SIZE = 2147483647
_TEXT_FIELDS = ("name", "description", "display_name", "display_description")
VOLUME_CREATE = common.body_schema(
    "volume",
    {
        "size": {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
                {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
                {"type": "null"},
            ]
        },
        **{field: common.NAME for field in _TEXT_FIELDS},
        "volume_type": common.OPTIONAL_STRING,
        "availability_zone": common.OPTIONAL_STRING,
        "snapshot_id": common.OPTIONAL_UUID,
        "source_volid": common.OPTIONAL_UUID,
        "group_id": common.OPTIONAL_UUID,
        "metadata": common.METADATA,
    },
    siblings={"OS-SCH-HNT:scheduler_hints": {"type": ["object", "null"]}},
)
VOLUME_UPDATE = common.body_schema(
    "volume", {**{field: common.NAME for field in _TEXT_FIELDS}, "metadata": common.METADATA}
)


def _check_size(volume: dict[str, Any]) -> None:
    """A size is needed unless the volume is made from a snapshot, a volume or a backup."""
    from_source = any(volume.get(key) for key in ("snapshot_id", "source_volid", "backup_id"))
    if volume.get("size") is None and not from_source:
        raise invalid_field("size", None, "None is not of type 'integer', 'string'")


def _pod_for_new_volume(volume: dict[str, Any], size: int) -> Pod:
    """The pod of the volume's source or group, else the project's pod in the asked AZ."""
    az_name = volume.get("availability_zone") or None
    sources = (
        ("snapshot_id", routing.SNAPSHOT),
        ("source_volid", routing.VOLUME),
        ("group_id", routing.GROUP),
    )
    for key, resource_type in sources:
        if volume.get(key):
            pod = forwarding.holding_pod(volume[key], resource_type)
            if az_name is not None and az_name != pod.az_name:
                raise bad_request(
                    f"Availability zone '{az_name}' is invalid: the source {volume[key]} is in "
                    f"'{pod.az_name}'."
                )
            return pod
    placement = common.state().scheduler.select_pod(
        PlacementRequest(
            project_id=common.project_id(),
            availability_zone=az_name,
            resource_type=routing.VOLUME,
            demand={"size": size},
        )
    )
    return placement.pod


@dataclass
class VolumeCreate:
    """What a volume create knows as its steps run: the request, then the pod and the volume
    (each set by the step that finds it)."""

    document: dict[str, Any]
    top_type: VolumeType | None = None
    bottom_volume: dict[str, Any] = field(default_factory=dict)
    pod: Pod = field(init=False)
    answer: PodAnswer = field(init=False)

    @property
    def volume(self) -> dict[str, Any]:
        """The ``volume`` object asked for."""
        return self.document["volume"]

    @property
    def created(self) -> dict[str, Any]:
        """The volume as the pod made it."""
        return self.answer.body["volume"]


def _choose_pod(create: VolumeCreate) -> None:
    """The pod of the volume's source or AZ, and the create body for it (the pod's AZ)."""
    volume = create.volume
    if volume.get("volume_type"):
        create.top_type = types.visible_type(volume["volume_type"], by_name_message=True)
    create.pod = _pod_for_new_volume(volume, int(volume.get("size") or 0))
    create.bottom_volume = {
        key: value for key, value in volume.items() if key != "availability_zone"
    }
    if create.pod.pod_az_name:
        create.bottom_volume["availability_zone"] = create.pod.pod_az_name


def _copy_type(create: VolumeCreate) -> None:
    """The type's copy in the pod (kept on failure: later volumes of the type share it)."""
    if create.top_type is not None:
        create.bottom_volume["volume_type"] = types.ensure_in_pod(create.top_type, create.pod)


def _create_in_pod(create: VolumeCreate) -> Made:
    """The bottom volume, made by the pod's Cinder as the caller."""
    body = {**create.document, "volume": create.bottom_volume}
    create.answer = common.forward(create.pod.region_name, "POST", "/volumes", body=body)
    return Made(create.pod.region_name, routing.VOLUME, create.created["id"])


def _delete_in_pod(_create: VolumeCreate, made: Made) -> None:
    """Undo: delete the bottom volume this request made."""
    common.forward(made.region_name, "DELETE", f"/volumes/{segment(made.top_id)}")


def _record_routing(create: VolumeCreate) -> Made:
    """The routing of the new volume: top ID = bottom ID, in its pod."""
    routing.record(create.created["id"], create.pod, common.project_id(), routing.VOLUME)
    return Made(create.pod.region_name, "volume_routing", create.created["id"])


def _forget_routing(create: VolumeCreate, _made: Made) -> None:
    """Undo: drop the routing this request recorded."""
    routing.forget(create.created["id"], create.pod, routing.VOLUME)


def _show(create: VolumeCreate) -> None:
    """The created volume as users see it (top AZ, top type IDs)."""
    shown = forwarding.top_document({"volume": create.created}, create.pod, common.state())
    create.answer = PodAnswer(create.answer.status, shown, create.answer.headers)


CREATE_STEPS: tuple[Step[VolumeCreate], ...] = (
    Step("reserve the quota", lambda create: quotas.reserve_volume(create.volume)),
    Step("choose the pod", _choose_pod),
    Step("write the pod's quota", lambda create: quotas.ensure_pod_limits(create.pod)),
    Step("copy the volume type", _copy_type),
    Step("create the bottom volume", _create_in_pod, _delete_in_pod),
    Step("record the routing", _record_routing, _forget_routing),
    Step("show the volume", _show),
)


@blueprint.post("/v3/volumes")
def create_volume() -> Response:
    """Create the volume in its pod and remember where it is (``CREATE_STEPS``); a failing step
    undoes what the earlier ones made."""
    create = VolumeCreate(common.json_body("volume", VOLUME_CREATE))
    _check_size(create.volume)
    run_steps(CREATE_STEPS, create)
    LOG.info(
        "volume %s created in pod %s (AZ %s) for project %s",
        create.created["id"],
        create.pod.region_name,
        create.pod.az_name,
        common.project_id(),
    )
    return json_response(create.answer.body, create.answer.status)


def _list(detailed: bool) -> Response:
    records, links = listing.list_across_pods("volumes", routing.VOLUME)
    if not detailed:
        records = [
            {"id": record["id"], "name": record.get("name"), "links": record.get("links", [])}
            for record in records
        ]
    body: dict[str, Any] = {"volumes": records}
    if links:
        body["volumes_links"] = links
    return json_response(body)


gateway.route_lists(blueprint, "/v3/volumes", _list)


@blueprint.get("/v3/volumes/<volume_id>")
def show_volume(volume_id: str) -> Response:
    """One volume, read from its pod."""
    return forwarding.forward_to_holder(
        volume_id, routing.VOLUME, "GET", f"/volumes/{segment(volume_id)}", forget_if_gone=True
    )


@blueprint.put("/v3/volumes/<volume_id>")
def update_volume(volume_id: str) -> Response:
    """Rename, describe or tag a volume in its pod."""
    body = common.json_body("volume", VOLUME_UPDATE)
    return forwarding.forward_to_holder(
        volume_id, routing.VOLUME, "PUT", f"/volumes/{segment(volume_id)}", body=body
    )


@blueprint.delete("/v3/volumes/<volume_id>")
def delete_volume(volume_id: str) -> Response:
    """Delete a volume in its pod (the routing goes once the pod no longer knows it)."""
    return forwarding.forward_to_holder(
        volume_id, routing.VOLUME, "DELETE", f"/volumes/{segment(volume_id)}"
    )


@blueprint.route("/v3/volumes/<volume_id>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def volume_subresource(volume_id: str, rest: str) -> Response:
    """Actions (extend, bootable, reset status, force delete, ...) and metadata, in the pod."""
    return forwarding.forward_to_holder(
        volume_id, routing.VOLUME, request.method, f"/volumes/{segment(volume_id)}/{subpath(rest)}"
    )

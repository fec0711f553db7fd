"""Images from the shared Glance of Tricircle's region, in Nova's image-proxy shape.

List (Nova's filters translated to Glance v2 as Nova does), show and delete answer below 2.36,
image metadata (Glance's extra properties, changed by JSON patch) below 2.39; from there on
Nova's 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import gateway, quota_sets, validation
from tricircle.api.compute.state import gateway_url, state
from tricircle.api.errors import BadRequest, Forbidden, NotFound
from tricircle.api.gateway import caller
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import UnsafeId, segment
from tricircle.quotas.resources import COMPUTE

blueprint = Blueprint("compute_images", __name__)

PROXY_REMOVED_AT = "2.36"
METADATA_REMOVED_AT = "2.39"
JSON_PATCH = "application/openstack-images-v2.1-json-patch"
# Nova's list filters and the Glance v2 filters they become ("server" and "type" are properties).
LIST_FILTERS = {
    "name": "name",
    "status": "status",
    "changes-since": "updated_at",
    "server": "instance_uuid",
    "type": "image_type",
    "minRam": "min_ram",
    "minDisk": "min_disk",
    "limit": "limit",
    "marker": "marker",
}
METADATA = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
ALL_METADATA = {
    "type": "object",
    "properties": {"metadata": METADATA},
    "required": ["metadata"],
    "additionalProperties": False,
}
ONE_ITEM = {
    "type": "object",
    "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}},
    "required": ["meta"],
    "additionalProperties": False,
}
_IMAGE_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "min_ram",
    "min_disk",
    "size",
    "visibility",
    "protected",
    "owner",
    "checksum",
    "disk_format",
    "container_format",
    "tags",
    "file",
    "schema",
    "self",
    "os_hash_algo",
    "os_hash_value",
    "virtual_size",
    "direct_url",
    "locations",
    "stores",
    "os_hidden",
}


def find_image(image_ref: str) -> dict[str, Any]:
    """The image ``image_ref`` (an ID or a URL ending in one) as the caller sees it in Glance.

    Raises BadRequest with Nova's message when it does not exist or is not visible.
    """
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        answer = state().calls.call(
            caller(), _top_region(), "GET", f"/v2/images/{segment(image_id)}", service_type="image"
        )
    except PodClientError as exc:
        if exc.status in (400, 404):
            raise BadRequest(f"Image {image_id} could not be found.") from exc
        raise
    return answer.body


def _top_region() -> str:
    return state().conf.client.top_region_name


def _links(image_id: str) -> list[dict[str, str]]:
    root = request.host_url.rstrip("/")
    return [
        {"rel": "self", "href": f"{gateway_url()}/images/{image_id}"},
        {"rel": "bookmark", "href": f"{root}/images/{image_id}"},
    ]


def image_view(image: dict[str, Any], detail: bool) -> dict[str, Any]:
    """A Glance v2 image in Nova's proxy shape."""
    view: dict[str, Any] = {"id": image["id"], "name": image.get("name")}
    if detail:
        status = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING"}.get(
            image.get("status", ""), "ERROR" if image.get("status") == "killed" else "DELETED"
        )
        view.update(
            {
                "minRam": image.get("min_ram", 0),
                "minDisk": image.get("min_disk", 0),
                "progress": 100 if status == "ACTIVE" else 0,
                "status": status,
                "created": image.get("created_at"),
                "updated": image.get("updated_at"),
                "metadata": properties(image),
                "OS-EXT-IMG-SIZE:size": image.get("size"),
            }
        )
    view["links"] = _links(image["id"])
    return view


def _check_available(removed_at: str = PROXY_REMOVED_AT) -> None:
    """Nova's 404 from microversion ``removed_at`` on, where the proxy is gone."""
    if g.microversion.at_least(removed_at):
        raise NotFound("The resource could not be found.")


def _image_path(image_id: str) -> str:
    """The Glance path of ``image_id``; Nova's 404 for an ID no image can have."""
    try:
        return f"/v2/images/{segment(image_id)}"
    except UnsafeId as exc:
        raise NotFound("Image not found.") from exc


def _glance(method: str, path: str, **kwargs: Any) -> Any:
    """The body of Glance's answer to the caller's request."""
    return (
        state()
        .calls.call(caller(), _top_region(), method, path, service_type="image", **kwargs)
        .body
    )


def _list_params() -> dict[str, str]:
    """Nova's list filters (and ``property-<name>``) as Glance v2 filters, as Nova sends them."""
    params = {
        glance_name: request.args[name]
        for name, glance_name in LIST_FILTERS.items()
        if name in request.args
    }
    params.update(
        (name.removeprefix("property-"), value)
        for name, value in request.args.items()
        if name.startswith("property-") and name != "property-"
    )
    if "instance_uuid" in params:
        params["instance_uuid"] = params["instance_uuid"].rsplit("/", 1)[-1]
    if "status" in params:
        params["status"] = params["status"].lower()
    if "updated_at" in params:
        params["updated_at"] = "gte:" + params["updated_at"]
    limit = params.get("limit")
    if limit is not None and not (limit.isdigit() and int(limit) >= 1):
        raise BadRequest(f"Invalid input for query parameters limit. Value: {limit}.")
    return params


def _list(detail: bool) -> ResponseReturnValue:
    _check_available()
    try:
        body = _glance("GET", "/v2/images", params=_list_params())
    except PodClientError as exc:
        if exc.status in (400, 404):
            raise BadRequest(exc.pod_message) from exc
        raise
    return jsonify({"images": [image_view(image, detail) for image in body.get("images", [])]})


gateway.route_lists(blueprint, "/images", _list)


@blueprint.get("/images/<image_id>")
def show(image_id: str) -> ResponseReturnValue:
    """One image."""
    _check_available()
    return jsonify({"image": image_view(_image(image_id), detail=True)})


@blueprint.delete("/images/<image_id>")
def delete(image_id: str) -> ResponseReturnValue:
    """Delete an image from Glance."""
    _check_available()
    try:
        _glance("DELETE", _image_path(image_id))
    except PodClientError as exc:
        if exc.status in (400, 404):
            raise NotFound("Image not found.") from exc
        if exc.status == 403:
            raise Forbidden("You are not allowed to delete the image.") from exc
        raise
    return "", 204


def _image(image_id: str) -> dict[str, Any]:
    """The image as the caller sees it in Glance; Nova's 404 if it does not."""
    try:
        return _glance("GET", _image_path(image_id))
    except PodClientError as exc:
        if exc.status in (400, 404):
            raise NotFound("Image not found.") from exc
        raise


def properties(image: dict[str, Any]) -> dict[str, Any]:
    """An image's metadata as Nova shows it: Glance's extra properties."""
    return {key: value for key, value in image.items() if key not in _IMAGE_KEYS}


def _metadata_image(image_id: str) -> dict[str, Any]:
    _check_available(METADATA_REMOVED_AT)
    return _image(image_id)


def _set_properties(image_id: str, current: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Make the image's extra properties ``wanted`` by one JSON patch (within the quota)."""
    limit = quota_sets.engine().limits(COMPUTE, caller().project_id)["metadata_items"]
    if 0 <= limit < len(wanted):
        raise Forbidden("Image metadata limit exceeded")
    changes = [{"op": "remove", "path": _pointer(key)} for key in current if key not in wanted] + [
        {"op": "add", "path": _pointer(key), "value": value}
        for key, value in wanted.items()
        if current.get(key) != value
    ]
    if not changes:
        return
    try:
        _glance("PATCH", _image_path(image_id), json=changes, headers={"Content-Type": JSON_PATCH})
    except PodClientError as exc:
        if exc.status == 404:
            raise NotFound("Image not found.") from exc
        raise


def _pointer(key: str) -> str:
    """The JSON pointer of the property ``key``."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


@blueprint.get("/images/<image_id>/metadata")
def list_metadata(image_id: str) -> ResponseReturnValue:
    """An image's metadata."""
    return jsonify({"metadata": properties(_metadata_image(image_id))})


@blueprint.post("/images/<image_id>/metadata")
def add_metadata(image_id: str) -> ResponseReturnValue:
    """Add or change some metadata items; all of them answered."""
    body = validation.validated(request.get_data(), ALL_METADATA)
    current = properties(_metadata_image(image_id))
    wanted = {**current, **body["metadata"]}
    _set_properties(image_id, current, wanted)
    return jsonify({"metadata": wanted})


@blueprint.put("/images/<image_id>/metadata")
def replace_metadata(image_id: str) -> ResponseReturnValue:
    """Replace all metadata items."""
    body = validation.validated(request.get_data(), ALL_METADATA)
    current = properties(_metadata_image(image_id))
    _set_properties(image_id, current, body["metadata"])
    return jsonify({"metadata": body["metadata"]})


@blueprint.get("/images/<image_id>/metadata/<key>")
def show_metadata_item(image_id: str, key: str) -> ResponseReturnValue:
    """One metadata item."""
    current = properties(_metadata_image(image_id))
    if key not in current:
        raise NotFound("The resource could not be found.")
    return jsonify({"meta": {key: current[key]}})


@blueprint.put("/images/<image_id>/metadata/<key>")
def set_metadata_item(image_id: str, key: str) -> ResponseReturnValue:
    """Set one metadata item (the body names the same key)."""
    body = validation.validated(request.get_data(), ONE_ITEM)
    if key not in body["meta"]:
        raise BadRequest("Request body and URI mismatch")
    current = properties(_metadata_image(image_id))
    _set_properties(image_id, current, {**current, key: body["meta"][key]})
    return jsonify({"meta": body["meta"]})


@blueprint.delete("/images/<image_id>/metadata/<key>")
def delete_metadata_item(image_id: str, key: str) -> ResponseReturnValue:
    """Remove one metadata item."""
    current = properties(_metadata_image(image_id))
    if key not in current:
        raise NotFound("Invalid metadata key")
    _set_properties(image_id, current, {k: v for k, v in current.items() if k != key})
    return "", 204

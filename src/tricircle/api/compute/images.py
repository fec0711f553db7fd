"""Images from the shared Glance of Tricircle's region, in Nova's image-proxy shape (< 2.36)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import gateway
from tricircle.api.compute.state import gateway_url, state
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import caller
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_images", __name__)

PROXY_REMOVED_AT = "2.36"
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
                "metadata": {k: v for k, v in image.items() if k not in _IMAGE_KEYS},
                "OS-EXT-IMG-SIZE:size": image.get("size"),
            }
        )
    view["links"] = _links(image["id"])
    return view


def _check_proxy_available() -> None:
    """The image proxy is gone from microversion 2.36 on (Nova answers 404)."""
    if g.microversion.at_least(PROXY_REMOVED_AT):
        raise NotFound("The resource could not be found.")


def _list(detail: bool) -> ResponseReturnValue:
    _check_proxy_available()
    params = {key: request.args[key] for key in ("limit", "marker", "name") if key in request.args}
    answer = state().calls.call(
        caller(), _top_region(), "GET", "/v2/images", service_type="image", params=params
    )
    images = answer.body.get("images", [])
    return jsonify({"images": [image_view(image, detail) for image in images]})


gateway.route_lists(blueprint, "/images", _list)


@blueprint.get("/images/<image_id>")
def show(image_id: str) -> ResponseReturnValue:
    """One image."""
    _check_proxy_available()
    try:
        image = find_image(image_id)
    except BadRequest as exc:
        raise NotFound("Image not found.") from exc
    return jsonify({"image": image_view(image, detail=True)})

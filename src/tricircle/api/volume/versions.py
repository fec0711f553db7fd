"""The version documents: ``GET /`` (300, every version) and ``GET /v3`` (the v3 version).

The maximum microversion announced is the highest one every pod supports, so a client that asks
for ``latest`` gets a version each pod can serve.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from tricircle.api import gateway
from tricircle.api.volume import common

blueprint = Blueprint("volume_versions", __name__)

UPDATED = "2025-09-01T00:00:00Z"
MEDIA_TYPES = [
    {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
]


def _v3() -> dict:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(gateway.served_maximum()),
        "min_version": str(common.state().api_versions.minimum),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{request.host_url}v3/"}],
        "media-types": MEDIA_TYPES,
    }


@blueprint.get("/")
def all_versions() -> tuple[Response, int]:
    """Every API version (Cinder answers 300 Multiple Choices here)."""
    return jsonify({"versions": [_v3()]}), 300


@blueprint.get("/v3")
@blueprint.get("/v3/")
def v3_version() -> Response:
    """The v3 API's version document."""
    return jsonify({"versions": [_v3()]})

"""Version documents: ``GET /`` (every version) and ``GET /v2.1`` (the one served)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api.compute.state import state
from tricircle.api.gateway import served_maximum

blueprint = Blueprint("compute_versions", __name__)

UPDATED = "2013-07-23T11:33:21Z"


def version_document(href: str) -> dict[str, Any]:
    """The v2.1 version entry with its self link ``href``."""
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(served_maximum()),
        "min_version": str(state().api_versions.minimum),
        "updated": UPDATED,
        "links": [
            {"rel": "self", "href": href},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


@blueprint.get("/")
def list_versions() -> ResponseReturnValue:
    """Every API version (only v2.1), as Nova's root document."""
    document = version_document(request.host_url.rstrip("/") + "/v2.1/")
    return jsonify({"versions": [document]})


@blueprint.get("/v2.1")
@blueprint.get("/v2.1/")
def show_version() -> ResponseReturnValue:
    """The v2.1 version document."""
    return jsonify({"version": version_document(request.host_url.rstrip("/") + "/v2.1/")})

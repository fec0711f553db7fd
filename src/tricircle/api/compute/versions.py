"""Version documents: ``GET /`` (every version), ``GET /v2`` and ``GET /v2.1`` (one each).

As Nova's: v2.0 (``SUPPORTED``, no microversions: the v2.1 API at its minimum, see
``legacy_v2``) is listed first, then v2.1 (``CURRENT``, its microversion range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api.compute import legacy_v2
from tricircle.api.compute.state import state
from tricircle.api.gateway import served_maximum

blueprint = Blueprint("compute_versions", __name__)


@dataclass(frozen=True)
class ApiVersion:
    """One version of the API as the documents show it: its ID, path, status and media type."""

    id: str
    path: str
    status: str
    updated: str
    media_version: str
    microversions: bool


V2 = ApiVersion("v2.0", "/v2/", "SUPPORTED", "2011-01-21T11:33:21Z", "2", False)
V21 = ApiVersion("v2.1", "/v2.1/", "CURRENT", "2013-07-23T11:33:21Z", "2.1", True)


def _entry(version: ApiVersion) -> dict[str, Any]:
    """The fields the list and the single document share; microversions only for v2.1."""
    return {
        "id": version.id,
        "status": version.status,
        "version": str(served_maximum()) if version.microversions else "",
        "min_version": str(state().api_versions.minimum) if version.microversions else "",
        "updated": version.updated,
        "links": [{"rel": "self", "href": request.host_url.rstrip("/") + version.path}],
    }


def version_document(version: ApiVersion) -> dict[str, Any]:
    """The single-version document of ``version``: its links and media types too."""
    document = _entry(version)
    document["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}
    )
    document["media-types"] = [
        {
            "base": "application/json",
            "type": f"application/vnd.openstack.compute+json;version={version.media_version}",
        }
    ]
    return document


@blueprint.get("/")
def list_versions() -> ResponseReturnValue:
    """Every API version, v2.0 first, as Nova's root document."""
    return jsonify({"versions": [_entry(V2), _entry(V21)]})


@blueprint.get("/v2")
@blueprint.get("/v2/")
def show_v2() -> ResponseReturnValue:
    """The v2.0 version document."""
    return jsonify({"version": version_document(V2)})


@blueprint.get("/v2.1")
@blueprint.get("/v2.1/")
def show_version() -> ResponseReturnValue:
    """The v2.1 version document (v2.0's for ``/v2/<project_id>/``, served here)."""
    legacy = legacy_v2.is_legacy(request.environ)
    return jsonify({"version": version_document(V2 if legacy else V21)})

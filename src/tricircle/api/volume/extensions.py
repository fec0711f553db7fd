"""``/v3/extensions``: the API extensions of the pods' Cinder (a list fixed by each release).

The list is the union over the pods by alias, in pod order (so a pod of a newer release adds
its own), each extension as the first pod that lists it shows it; one extension is taken from
that list (no pod is sent the caller's alias), else Cinder's 404. Pods are asked as the caller;
one that fails or is late is left out and logged (``fanout``).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from tricircle.api.volume import fanout
from tricircle.api.volume.faults import not_found

blueprint = Blueprint("volume_extensions", __name__)


def _extensions() -> dict[str, dict]:
    """Every pod's extensions by alias, the first pod's of each alias kept."""
    merged: dict[str, dict] = {}
    for reply in fanout.ask_every_pod("GET", "/extensions"):
        for extension in (reply.body or {}).get("extensions") or []:
            if isinstance(extension, dict) and isinstance(extension.get("alias"), str):
                merged.setdefault(extension["alias"], extension)
    return merged


@blueprint.get("/v3/extensions")
def list_extensions() -> Response:
    """The union of the pods' extensions."""
    return jsonify({"extensions": list(_extensions().values())})


@blueprint.get("/v3/extensions/<alias>")
def show_extension(alias: str) -> Response:
    """One extension by alias; Cinder's 404 when no pod lists it."""
    found = _extensions().get(alias)
    if found is None:
        raise not_found("The resource could not be found.")
    return jsonify({"extension": found})

"""``/extensions``: the API extensions Nova still lists (deprecated, no microversion removes it).

Every pod runs Nova, whose list is fixed by its release: the list is the union over the pods by
alias, in pod order (so a pod of a newer release adds its own); one extension is the first
pod's that shows it, else Nova's 404.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from tricircle.api.compute import admin_pods
from tricircle.api.errors import NotFound
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_extensions", __name__)


@blueprint.get("/extensions")
def list_extensions() -> ResponseReturnValue:
    """Every pod's extensions, each alias once."""
    merged: dict[str, dict] = {}
    for answer in admin_pods.ask_every_pod("/extensions", what="extension list"):
        for extension in answer.body.get("extensions", []):
            merged.setdefault(extension.get("alias"), extension)
    return jsonify({"extensions": list(merged.values())})


@blueprint.get("/extensions/<alias>")
def show_extension(alias: str) -> ResponseReturnValue:
    """One extension, as the first pod that has it shows it."""
    found = admin_pods.find_pod_showing(f"/extensions/{segment(alias)}")
    if found is None:
        raise NotFound(f"Extension {alias} could not be found.")
    return jsonify(found[1])

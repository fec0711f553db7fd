"""``POST /servers/{id}/action``: every action forwarded to the server's pod as the caller.

start/stop, reboot, pause/unpause, suspend/resume, lock/unlock, shelve/unshelve, resize and its
confirm/revert, rebuild, createImage, os-getConsoleOutput and the rest go to the pod at the
caller's microversion; the pod checks the body and the state. A resize first makes the target
flavor exist in the pod. ``forceDelete`` also forgets the
server's routing and queues its port cleanup, as a delete does.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from tricircle.api.compute import bottom, servers
from tricircle.api.compute.server_requests import json_object
from tricircle.api.compute.state import state
from tricircle.api.errors import BadRequest, InvalidField
from tricircle.api.gateway import caller, transaction
from tricircle.db.compute import FlavorNotFound, get_flavor
from tricircle.db.models import Pod

blueprint = Blueprint("compute_server_actions", __name__)

DELETING_ACTIONS = ("forceDelete",)


@blueprint.post("/servers/<server_id>/action")
def act(server_id: str) -> ResponseReturnValue:
    """Run one action on a server in its pod."""
    body = json_object(request.get_data())
    if len(body) != 1:
        raise BadRequest("The action body must hold exactly one action.")
    (action,) = body
    if action in DELETING_ACTIONS:
        return servers.delete_server(server_id, body)
    pod = servers.server_pod(server_id)
    if action == "resize":
        _ensure_resize_flavor(pod, body["resize"])
    return servers.forward(pod, "POST", f"/servers/{server_id}/action", json=body)


def _ensure_resize_flavor(pod: Pod, resize: object) -> None:
    """Make the target flavor of a resize exist in the server's pod; 400 if unknown."""
    flavor_ref = resize.get("flavorRef") if isinstance(resize, dict) else None
    if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool):
        raise InvalidField("resize.flavorRef", "is required")
    who = caller()
    flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    with transaction() as session:
        try:
            flavor = get_flavor(session, flavor_id, None if who.is_admin else who.project_id)
        except FlavorNotFound as exc:
            raise BadRequest(exc.message) from exc
    bottom.ensure_bottom_flavor(state(), pod, flavor, who.project_id)

"""``POST /servers/{id}/action``: every action forwarded to the server's pod as the caller.

start/stop, reboot, pause/unpause, suspend/resume, lock/unlock, shelve/unshelve, resize and its
confirm/revert, rebuild, createImage, os-getConsoleOutput and the rest go to the pod at the
caller's microversion; the pod checks the body and the state. A resize first makes the target
flavor exist in the pod, a rebuild with a ``key_name`` (2.54) the caller's keypair.
``forceDelete`` also forgets the server's routing and queues its port cleanup, as a delete does.
``addSecurityGroup`` and ``removeSecurityGroup`` change the server's ports at the top and in the
pod; ``addFloatingIp`` and ``removeFloatingIp`` its floating IPs in the central Neutron.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import bottom, proxy_floating_ips, proxy_security_groups, servers
from tricircle.api.compute.state import state
from tricircle.api.errors import BadRequest
from tricircle.api.gateway import caller, transaction
from tricircle.db.compute import FlavorNotFound, KeypairNotFound, get_flavor, get_keypair
from tricircle.db.models import Pod
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_server_actions", __name__)

DELETING_ACTIONS = ("forceDelete",)
SECURITY_GROUP_ACTIONS = ("addSecurityGroup", "removeSecurityGroup")
FLOATING_IP_ACTIONS = ("addFloatingIp", "removeFloatingIp")
# One action a request, its arguments an object or null; the pod checks each action's own schema.
ACTION = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": {"type": ["object", "null"]},
    "properties": {
        "resize": {
            "type": "object",
            "properties": {"flavorRef": {"type": ["string", "integer"], "minLength": 1}},
            "required": ["flavorRef"],
        }
    },
}


@blueprint.post("/servers/<server_id>/action")
def act(server_id: str) -> ResponseReturnValue:
    """Run one action on a server in its pod."""
    body = validation.validated(request.get_data(), ACTION)
    (action,) = body
    if action in DELETING_ACTIONS:
        return servers.delete_server(server_id, body)
    if action in SECURITY_GROUP_ACTIONS:
        return proxy_security_groups.change_server_groups(server_id, action, body[action])
    if action in FLOATING_IP_ACTIONS:
        return proxy_floating_ips.change_server_floating_ip(server_id, action, body[action])
    pod = servers.server_pod(server_id)
    if action == "resize":
        _ensure_resize_flavor(pod, body["resize"])
    if (
        action == "rebuild"
        and isinstance(body["rebuild"], dict)
        and body["rebuild"].get("key_name")
    ):
        _ensure_rebuild_keypair(pod, body["rebuild"]["key_name"])
    return servers.forward(pod, "POST", f"/servers/{segment(server_id)}/action", json=body)


def _ensure_resize_flavor(pod: Pod, resize: dict[str, Any]) -> None:
    """Make the target flavor of a resize exist in the server's pod; 400 if unknown."""
    who = caller()
    flavor_id = str(resize["flavorRef"]).rstrip("/").rsplit("/", 1)[-1]
    with transaction() as session:
        try:
            flavor = get_flavor(session, flavor_id, None if who.is_admin else who.project_id)
        except FlavorNotFound as exc:
            raise BadRequest(exc.message) from exc
    bottom.ensure_bottom_flavor(state(), pod, flavor, who.project_id)


def _ensure_rebuild_keypair(pod: Pod, key_name: Any) -> None:
    """Make the caller's keypair ``key_name`` exist in the server's pod; Nova's 400 if the
    caller has none of that name."""
    who = caller()
    if not isinstance(key_name, str):
        return  # the pod's schema answers Nova's 400
    with transaction() as session:
        try:
            keypair = get_keypair(session, who.user_id, key_name)
        except KeypairNotFound as exc:
            raise BadRequest("Invalid key_name provided.") from exc
    bottom.ensure_bottom_keypair(state(), state().calls, who, pod, keypair)

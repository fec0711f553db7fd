"""``os-hosts`` over every pod, for the microversions that still have it (before 2.43).

The list is every pod's (``zone`` passed on, pods by region name); a host is found by asking the
pods at once, and what is asked of it (show, update, reboot, shutdown, startup) goes to its pod.
From 2.43 every path is Nova's bare 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.compute.services import top_zone
from tricircle.api.errors import NotFound
from tricircle.api.gateway import caller
from tricircle.db.models import Pod
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_hosts", __name__)

REMOVED_FROM = "2.43"
POWER_ACTIONS = {"reboot": "reboot", "shutdown": "shutdown", "startup": "start"}


def _check(action: str) -> None:
    if caller().microversion.at_least(REMOVED_FROM):
        raise admin_pods.method_not_found()
    admin_pods.authorize_nova(policy.HOSTS % action)


def _host_pod(host_name: str) -> tuple[Pod, Any]:
    """The pod holding ``host_name`` and its answer to ``GET /os-hosts/<host_name>``."""
    found = admin_pods.find_pod_showing(f"/os-hosts/{segment(host_name)}")
    if found is None:
        raise NotFound(f"Compute host {host_name} could not be found.")
    return found


@blueprint.get("/os-hosts")
def list_hosts() -> ResponseReturnValue:
    """Every pod's hosts with their services and zones."""
    _check("list")
    answers = admin_pods.ask_every_pod(
        "/os-hosts", params=list(request.args.items(multi=True)), what="hosts"
    )
    hosts = []
    for answer in answers:
        for host in answer.body["hosts"]:
            hosts.append({**host, "zone": top_zone(answer.pod, host.get("zone"))})
    return jsonify({"hosts": hosts})


@blueprint.get("/os-hosts/<host_name>")
def show_host(host_name: str) -> ResponseReturnValue:
    """A host's resources, from its pod."""
    _check("show")
    return jsonify(_host_pod(host_name)[1])


@blueprint.put("/os-hosts/<host_name>")
def update_host(host_name: str) -> ResponseReturnValue:
    """Enable, disable or set maintenance mode on a host, in its pod."""
    _check("update")
    body = validation.json_document(request.get_data())
    pod, _ = _host_pod(host_name)
    return jsonify(
        admin_pods.call_pod(pod, "PUT", f"/os-hosts/{segment(host_name)}", json=body).body
    )


@blueprint.get("/os-hosts/<host_name>/<action>")
def host_power_action(host_name: str, action: str) -> ResponseReturnValue:
    """Reboot, shut down or start a host, in its pod."""
    if action not in POWER_ACTIONS:
        raise NotFound(admin_pods.NO_SUCH_METHOD)
    _check(POWER_ACTIONS[action])
    pod, _ = _host_pod(host_name)
    return jsonify(
        admin_pods.call_pod(pod, "GET", f"/os-hosts/{segment(host_name)}/{segment(action)}").body
    )

"""The operator's views of the whole cloud: ``os-hosts``, ``os-services`` and
``scheduler-stats/get_pools`` merged over the pods, a service change sent to the pod owning it.

Hosts in the pods say their pod (the lab's ``pod1-cinder``, ``pod1-cinder@fake#fake``), so they
stay unique once merged (pods must name their hosts apart); a change names its host and goes to
the pod that lists a service on that host (on the backend ``host@backend`` for
``cinder-volume``). Zones are shown as the top AZs.
Every call is admin-only, checked here first (Cinder's rules) and again by each pod.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tricircle.api import gateway, validation
from tricircle.api.volume import common, fanout, policy
from tricircle.api.volume.faults import bad_request, not_found
from tricircle.db.models import Pod
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("volume_admin_views", __name__)

_HOST = {"type": "string", "minLength": 1, "maxLength": 255}
SERVICE_CHANGE = {
    "type": "object",
    "properties": {
        "host": _HOST,
        "binary": {"type": "string", "minLength": 1, "maxLength": 255},
        "service": {"type": "string", "maxLength": 255},
        "disabled_reason": {"type": ["string", "null"], "maxLength": 255},
        "cluster": {"type": ["string", "null"]},
        "backend_id": {"type": ["string", "null"]},
        "level": {"type": ["string", "null"]},
        "prefix": {"type": ["string", "null"]},
        "server": {"type": ["string", "null"]},
    },
}
# The action in the URL -> the rule that allows it (and whether it names one host).
SERVICE_ACTIONS = {
    "enable": policy.SERVICES_UPDATE,
    "disable": policy.SERVICES_UPDATE,
    "disable-log-reason": policy.SERVICES_UPDATE,
    "freeze": policy.FREEZE_HOST,
    "thaw": policy.THAW_HOST,
    "failover_host": policy.FAILOVER_HOST,
    "failover": policy.FAILOVER_HOST,
    "set-log": policy.SERVICES_UPDATE,
    "get-log": policy.SERVICES_INDEX,
}
_LOG_ACTIONS = ("set-log", "get-log")
# Replication actions: Cinder answers an unknown host with 400 (invalid input), not 404.
_REPLICATION_ACTIONS = ("freeze", "thaw", "failover_host", "failover")


def _with_top_zone(record: dict[str, Any], pod: Pod) -> dict[str, Any]:
    """A host or service record with the pod's AZ name shown as the top AZ."""
    if record.get("zone") == pod.pod_az_name and pod.pod_az_name:
        return {**record, "zone": pod.az_name}
    return record


def _pod_zone(zone: str | None) -> list[Pod] | None:
    """The pods serving the top AZ ``zone`` (None: every pod)."""
    if not zone:
        return None
    return [pod for pod in gateway.bottom_pods() if pod.az_name == zone]


def _host_part(host: str) -> str:
    """``host`` without its ``@backend`` and ``#pool``."""
    return host.split("#", 1)[0].split("@", 1)[0]


def owning_pod(host: str, *, unknown_is_invalid: bool = False) -> Pod:
    """The pod with a service on ``host`` (or on its ``host@backend``); Cinder's 404 if none
    (400 with ``unknown_is_invalid``)."""
    for reply in fanout.ask_every_pod("GET", "/os-services"):
        hosts = {service.get("host") for service in reply.body.get("services") or []}
        if host in hosts or _host_part(host) in {_host_part(h or "") for h in hosts}:
            return reply.pod
    if unknown_is_invalid:
        raise bad_request(f"Invalid input received: Host {host} could not be found.")
    raise not_found(f"Host {host} could not be found.")


@blueprint.get("/v3/os-hosts")
def list_hosts() -> Response:
    """The hosts of every pod (``zone`` a top AZ)."""
    fanout.authorize(policy.HOSTS)
    zone = request.args.get("zone")
    pods = _pod_zone(zone)
    replies = fanout.ask_every_pod("GET", "/os-hosts", pods=pods)
    return jsonify({"hosts": fanout.merged(replies, "hosts", _with_top_zone)})


@blueprint.get("/v3/os-hosts/<host>")
def show_host(host: str) -> Response:
    """A host's volume usage, from its pod."""
    fanout.authorize(policy.HOSTS)
    pod = owning_pod(host)
    return fanout.reply(pod, common.forward(pod.region_name, "GET", f"/os-hosts/{segment(host)}"))


@blueprint.get("/v3/os-services")
def list_services() -> Response:
    """The services of every pod, filtered by ``host`` and ``binary`` in each pod."""
    fanout.authorize(policy.SERVICES_INDEX)
    params = {key: request.args[key] for key in ("host", "binary") if key in request.args}
    replies = fanout.ask_every_pod("GET", "/os-services", params=params)
    return jsonify({"services": fanout.merged(replies, "services", _with_top_zone)})


@blueprint.put("/v3/os-services/<action>")
def change_service(action: str) -> Response:
    """Enable, disable, freeze, thaw, fail over a service or backend in the pod owning its
    host; log levels in the host's pod, or in every pod without a host."""
    if action not in SERVICE_ACTIONS:
        raise not_found("Unknown action")
    fanout.authorize(SERVICE_ACTIONS[action])
    body = validation.json_document(request.get_data())
    if not isinstance(body, dict):
        raise bad_request("Invalid input received: the body must be an object.")
    validation.check(body, SERVICE_CHANGE)
    host = body.get("host")
    if not host:
        if action in _LOG_ACTIONS:
            replies = fanout.ask_every_pod("PUT", f"/os-services/{segment(action)}", body=body)
            if action == "set-log":
                return Response(status=202)
            return jsonify({"log_levels": fanout.merged(replies, "log_levels")})
        raise bad_request("Missing required element 'host' in request body.")
    pod = owning_pod(host, unknown_is_invalid=action in _REPLICATION_ACTIONS)
    answer = common.forward(pod.region_name, "PUT", f"/os-services/{segment(action)}", body=body)
    LOG.info("os-services %s of host %s sent to pod %s", action, host, pod.region_name)
    return fanout.reply(pod, answer)


@blueprint.get("/v3/capabilities/<host_name>")
def show_capabilities(host_name: str) -> Response:
    """A backend's capabilities, from the pod owning its host."""
    fanout.authorize(policy.CAPABILITIES)
    pod = owning_pod(host_name)
    answer = common.forward(pod.region_name, "GET", f"/capabilities/{segment(host_name)}")
    return fanout.reply(pod, answer)


@blueprint.get("/v3/scheduler-stats/get_pools")
def get_pools() -> Response:
    """The storage pools of every pod (``detail=true``: with their capabilities)."""
    fanout.authorize(policy.GET_POOLS)
    detail = request.args.get("detail", "false")
    if detail.strip().lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
        raise bad_request(f"Invalid value '{detail}' for detail")
    replies = fanout.ask_every_pod(
        "GET", "/scheduler-stats/get_pools", params=request.args.to_dict()
    )
    return jsonify({"pools": fanout.merged(replies, "pools")})

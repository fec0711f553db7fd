"""Server interfaces (``os-interface``): attached through the cross-pod networking library.

An attach makes (or takes) the top port on the central Neutron and its bottom copy in the
server's pod, then asks the pod's Nova to attach the bottom port. Answers name top IDs only:
bottom port, network and subnet IDs are translated through the routing table. A detach removes
the bottom copy through a job, once the pod has detached it, and then, as Nova does, deletes a
top port the attach made for a network or unbinds a port the caller passed
(``tricircle.network.server_ports``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from tricircle.api.compute import networking, servers
from tricircle.api.compute.state import state
from tricircle.api.errors import InvalidField, NotFound
from tricircle.api.gateway import caller, transaction
from tricircle.api.validation import json_object
from tricircle.db import routings
from tricircle.db.models import Pod, ResourceRouting
from tricircle.jobs.queue import enqueue_job
from tricircle.network import server_ports
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_interfaces", __name__)

KEY = "interfaceAttachment"


def _top_ids(pod: Pod, bottom_ids: set[str]) -> dict[str, str]:
    """Bottom ID -> top ID for the given bottom resources of ``pod``."""
    if not bottom_ids:
        return {}
    with transaction() as session:
        rows = session.execute(
            select(ResourceRouting.bottom_id, ResourceRouting.top_id).where(
                ResourceRouting.pod_id == pod.pod_id, ResourceRouting.bottom_id.in_(bottom_ids)
            )
        )
        return {bottom_id: top_id for bottom_id, top_id in rows}


def top_view(pod: Pod, attachment: dict[str, Any]) -> dict[str, Any]:
    """An interface attachment with top port, network and subnet IDs."""
    ips = attachment.get("fixed_ips") or []
    bottom_ids = {attachment.get("port_id"), attachment.get("net_id")} | {
        ip.get("subnet_id") for ip in ips
    }
    top = _top_ids(pod, {value for value in bottom_ids if value})
    shown = dict(attachment)
    for key in ("port_id", "net_id"):
        if shown.get(key) in top:
            shown[key] = top[shown[key]]
    shown["fixed_ips"] = [
        {**ip, "subnet_id": top.get(ip.get("subnet_id"), ip.get("subnet_id"))} for ip in ips
    ]
    return shown


def _bottom_port_id(pod: Pod, top_port_id: str) -> str:
    """The bottom copy of a top port in ``pod``; Nova's 404 if it has none."""
    with transaction() as session:
        bottom_id = routings.find_bottom_id(session, top_port_id, pod.pod_id)
    if bottom_id is None:
        raise NotFound(f"Port {top_port_id} is not attached")
    return bottom_id


@blueprint.get("/servers/<server_id>/os-interface")
def list_interfaces(server_id: str) -> ResponseReturnValue:
    """The server's interfaces, with top IDs."""
    pod = servers.server_pod(server_id)
    answer = state().calls.call(
        caller(), pod.region_name, "GET", f"/servers/{segment(server_id)}/os-interface"
    )
    attachments = [top_view(pod, item) for item in answer.body["interfaceAttachments"]]
    return jsonify({"interfaceAttachments": attachments})


@blueprint.get("/servers/<server_id>/os-interface/<port_id>")
def show_interface(server_id: str, port_id: str) -> ResponseReturnValue:
    """One interface, by its top port ID."""
    pod = servers.server_pod(server_id)
    bottom_id = _bottom_port_id(pod, port_id)
    answer = state().calls.call(
        caller(),
        pod.region_name,
        "GET",
        f"/servers/{segment(server_id)}/os-interface/{segment(bottom_id)}",
    )
    return jsonify({KEY: top_view(pod, answer.body[KEY])})


def _requested(body: dict[str, Any]) -> dict[str, str]:
    """The ``networks`` entry for an attach body (net_id with one fixed IP, or port_id)."""
    attachment = body.get(KEY)
    if not isinstance(attachment, dict):
        raise InvalidField(KEY, "must be a JSON object")
    if attachment.get("port_id"):
        return {"port": str(attachment["port_id"])}
    if not attachment.get("net_id"):
        raise InvalidField(KEY, "needs net_id or port_id")
    requested = {"uuid": str(attachment["net_id"])}
    fixed_ips = attachment.get("fixed_ips") or []
    if fixed_ips:
        requested["fixed_ip"] = str(fixed_ips[0].get("ip_address", ""))
    return requested


@blueprint.post("/servers/<server_id>/os-interface")
def attach_interface(server_id: str) -> ResponseReturnValue:
    """Attach a top network or port: bottom copy made first, undone if the pod refuses."""
    pod = servers.server_pod(server_id)
    body = json_object(request.get_data())
    requested = _requested(body)
    who = caller()
    app_state = state()
    plan = networking.prepare_networks(app_state.mirror, [requested], pod, who.project_id, None)
    bottom_body = {KEY: {"port_id": plan.server_ports[0].bottom_port["id"]}}
    if "tag" in body[KEY]:
        bottom_body[KEY]["tag"] = body[KEY]["tag"]
    try:
        answer = app_state.calls.call(
            who,
            pod.region_name,
            "POST",
            f"/servers/{segment(server_id)}/os-interface",
            json=bottom_body,
        )
        networking.give_made_ports(app_state.mirror, plan, server_id)
        networking.attach_top_ports(app_state.mirror, plan, server_id, pod.az_name)
    except BaseException:
        networking.undo(app_state.mirror, plan)
        raise
    LOG.info(
        "interface attached region=%s server_id=%s top_port_ids=%s",
        pod.region_name,
        server_id,
        plan.top_port_ids,
    )
    response = jsonify({KEY: top_view(pod, answer.body[KEY])})
    response.status_code = answer.status
    return response


@blueprint.delete("/servers/<server_id>/os-interface/<port_id>")
def detach_interface(server_id: str, port_id: str) -> ResponseReturnValue:
    """Detach by top port ID; the bottom copy goes, the top port is deleted or unbound."""
    pod = servers.server_pod(server_id)
    bottom_id = _bottom_port_id(pod, port_id)
    app_state = state()
    app_state.calls.call(
        caller(),
        pod.region_name,
        "DELETE",
        f"/servers/{segment(server_id)}/os-interface/{segment(bottom_id)}",
    )
    with transaction() as session:
        enqueue_job(
            session,
            server_ports.JOB_INTERFACE_DETACH,
            port_id,
            caller().project_id,
            {"pod_id": pod.pod_id, "server_id": server_id},
        )
    LOG.info(
        "interface detached region=%s server_id=%s top_port_id=%s",
        pod.region_name,
        server_id,
        port_id,
    )
    return "", 202

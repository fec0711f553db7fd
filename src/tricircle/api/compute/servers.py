"""Servers: create in a pod, show, update, delete, and sub-resources forwarded to the pod.

A server lives in one pod (the pod of the volumes it boots from, else the scheduler's choice in
the asked AZ); its top ID is the bottom ID and a routing row (resource_type ``server``) says
which pod. Every call reaches the pod with the caller's token and microversion.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import gateway, quota_sets, validation
from tricircle.api.compute import (
    bottom,
    images,
    networking,
    placement,
    server_groups,
    server_list,
    volume_pods,
)
from tricircle.api.compute.server_list import UNKNOWN_RECORDS_FROM
from tricircle.api.compute.server_requests import ServerCreate, parse_server_create
from tricircle.api.compute.state import gateway_url, state
from tricircle.api.compute.views import (
    ViewContext,
    rewrite_href,
    rewrite_links,
    server_view,
    top_addresses,
    unknown_server,
)
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.api.json_bodies import json_response
from tricircle.api.podcalls import PodAnswer
from tricircle.db import deleted_servers, routings
from tricircle.db.compute import FlavorNotFound, KeypairNotFound, get_flavor, get_keypair
from tricircle.db.models import Flavor, Pod
from tricircle.db.routings import ResourceType
from tricircle.jobs.queue import enqueue_job
from tricircle.network import server_ports
from tricircle.network.mirror.undo import Made, Undo
from tricircle.pods.client import POD_FAILURES, PodClientError
from tricircle.pods.paths import segment, subpath
from tricircle.quotas.checks import servers_plan
from tricircle.quotas.resources import COMPUTE

LOG = logging.getLogger(__name__)
blueprint = Blueprint("compute_servers", __name__)

SERVER = ResourceType.SERVER
DELETED_ACTIONS_FROM = "2.21"
SERVER_UPDATE = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
                "description": {"type": ["string", "null"], "maxLength": 255},
                "hostname": {"type": "string", "minLength": 1, "maxLength": 63},
            },
        }
    },
    "required": ["server"],
    "additionalProperties": False,
}


def view_context() -> ViewContext:
    """The gateway's URLs, AZ names and top network names for rewriting pod answers."""
    if "view_context" not in g:
        names: dict[str, str | None] = {}

        def top_network_names(bottom_names: Collection[str]) -> dict[str, str | None]:
            unknown = [name for name in bottom_names if name not in names]
            if unknown:
                names.update(state().network_names.lookup(unknown))
            return names

        g.view_context = ViewContext(
            versioned_url=gateway_url(),
            bookmark_url=gateway.root_url(),
            az_by_pod_az={pod.pod_az_name: pod.az_name for pod in bottom_pods()},
            top_network_names=top_network_names,
        )
    return g.view_context


def server_pod(server_id: str) -> Pod:
    """The pod holding ``server_id``; Nova's 404 if unknown or not the caller's.

    Cached by ``gateway.routed_pod`` (per project). Invalidation: a server never changes pod; a
    server gone from its pod is forgotten here when this worker sees the pod's 404, and other
    workers keep sending to its pod (which answers 404 again) for at most ``[gateway_cache] ttl``.
    """
    pod = gateway.routed_pod(server_id, SERVER, owner_only=True)
    if pod is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return pod


def forward(pod: Pod, method: str, path: str, json: Any = None) -> Response:
    """Send the request to the pod as the caller; the pod's answer with gateway links, under
    the pod's request ID (``gateway.answer_as_pod``: an action is recorded under it).

    Reads wait for the pod ``[compute] show_deadline``; writes get the client's read timeout.
    """
    app_state = state()
    answer = app_state.calls.call(
        caller(),
        pod.region_name,
        method,
        path,
        json=json,
        params=request.args.to_dict(flat=False),
        timeout=app_state.conf.compute.show_deadline if method == "GET" else None,
    )
    gateway.answer_as_pod(pod.region_name, answer.request_id)
    if answer.body is None:
        empty = Response(status=answer.status)
        if "Location" in answer.headers:
            empty.headers["Location"] = rewrite_href(
                answer.headers["Location"], "self", view_context()
            )
        return empty
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("server"), dict):
        body = {**body, "server": server_view(body["server"], view_context())}
    elif isinstance(body, dict) and isinstance(body.get("addresses"), dict):
        body = {**body, "addresses": top_addresses(body["addresses"], view_context())}
    else:
        body = rewrite_links(body, view_context())
    return json_response(body, answer.status)


def _asked_az(asked: str | None) -> str | None:
    """The Tricircle AZ asked for (``az`` or ``az:host``); None lets the scheduler choose."""
    if asked:
        return asked.split(":", 1)[0] or None
    return None


def _bottom_server(request_body: ServerCreate, pod: Pod, plan: networking.NetworkPlan) -> dict:
    """The create body for the pod: its own AZ, bottom ports, security groups left to ports."""
    bottom_server = dict(request_body.server)
    bottom_server.pop("availability_zone", None)
    if pod.pod_az_name:
        bottom_server["availability_zone"] = pod.pod_az_name
    if plan.server_ports:
        bottom_server["networks"] = plan.bottom_networks
        bottom_server.pop("security_groups", None)
    return bottom_server


def _security_group_names(server: dict) -> list[str] | None:
    """The names of the groups asked for (the create schema checked their shape)."""
    groups = server.get("security_groups")
    return None if groups is None else [group["name"] for group in groups]


def _pod_for(
    request_body: ServerCreate, project_id: str, flavor: Flavor, group_pod: Pod | None
) -> Pod:
    """The pod of the server's group or volumes if it names any, else the scheduler's choice."""
    asked_az = _asked_az(request_body.availability_zone)
    volume_pod = volume_pods.pod_of_sources(request_body.volume_sources)
    if group_pod is not None:
        if asked_az is not None and asked_az != group_pod.az_name:
            raise BadRequest(
                f"The server group is in availability zone {group_pod.az_name}, not in the "
                f"requested {asked_az}."
            )
        if volume_pod is not None and volume_pod.pod_id != group_pod.pod_id:
            raise BadRequest("The server group and the volumes are in different pods.")
        return group_pod
    if volume_pod is not None:
        volume_pods.check_asked_zone(asked_az, volume_pod)
        return volume_pod
    demand = {"vcpus": flavor.vcpus, "ram": flavor.ram, "disk": flavor.disk}
    return placement.pod_for_server(state().scheduler, project_id, asked_az, demand)


@blueprint.post("/servers")
def create() -> ResponseReturnValue:
    """Boot a server in the pod of its volumes or of the asked AZ; nothing left if a step fails.

    Steps: the bottom flavor and keypair (kept, shared by later boots), the server's ports (released
    if the bottom create fails), the bottom servers, their routings, and a job that marks the top
    ports as theirs.
    Each step after the bottom create pushes its undo; on failure every undo runs, last first,
    a failing one logged and the others still run. Several servers (``min_count``/``max_count``)
    go in one bottom create, or, when they name networks, in one bottom create each with its
    own ports: a failure of any undoes them all.
    """
    who = caller()
    app_state = state()
    request_body = parse_server_create(request.get_data(), who.microversion, is_admin=who.is_admin)
    security_groups = _security_group_names(request_body.server)
    visible_to = None if who.is_admin else who.project_id
    with transaction() as session:
        try:
            flavor = get_flavor(session, request_body.flavor_id, visible_to)
        except FlavorNotFound as exc:
            raise BadRequest(exc.message) from exc
        keypair = None
        if request_body.key_name is not None:
            try:
                keypair = get_keypair(session, who.user_id, request_body.key_name)
            except KeypairNotFound as exc:
                raise BadRequest("Invalid key_name provided.") from exc
    if request_body.image_ref is not None:
        images.find_image(request_body.image_ref)
    grouped = server_groups.group_hint(request_body.scheduler_hints or {})
    min_count = int(request_body.server.get("min_count", 1))
    quota_plan = servers_plan(flavor.vcpus, flavor.ram, min_count, request_body.max_count)
    reservation = quota_sets.reserve(COMPUTE, who.project_id, quota_plan, who.user_id)
    allowed = reservation.amounts["instances"]
    pod = _pod_for(request_body, who.project_id, flavor, grouped[0] if grouped else None)
    quota_sets.ensure_pod_limits(COMPUTE, who.project_id, pod)
    bottom.ensure_bottom_flavor(app_state, pod, flavor, who.project_id)
    if keypair is not None:
        bottom.ensure_bottom_keypair(app_state, app_state.calls, who, pod, keypair)
    count = min(allowed, request_body.max_count)
    with Undo() as undo:
        if isinstance(request_body.networks, list) and count > 1:
            # Nova boots several servers on one port each only if it makes the ports itself:
            # the gateway makes them (one per server and entry) and boots each server alone.
            batches = [
                _one_of_several(request_body, index, count, undo, pod, security_groups, grouped)
                for index in range(count)
            ]
        else:
            overrides: dict[str, Any] = {}
            if allowed < request_body.max_count:
                overrides["max_count"] = allowed
            if request_body.by_reservation:
                overrides["return_reservation_id"] = True
            batches = [
                _boot_batch(
                    request_body,
                    overrides,
                    request_body.by_reservation,
                    undo,
                    pod,
                    security_groups,
                    grouped,
                )
            ]
    server_ids = [server_id for batch in batches for server_id in batch.server_ids]
    first = batches[0]
    LOG.info(
        "servers created region=%s server_ids=%s project_id=%s az=%s top_port_ids=%s "
        "pod_request_ids=%s",
        pod.region_name,
        server_ids,
        who.project_id,
        pod.az_name,
        [port_id for batch in batches for port_id in batch.plan.top_port_ids],
        [batch.answer.request_id for batch in batches],
    )
    gateway.answer_as_pod(pod.region_name, first.answer.request_id)
    if request_body.return_reservation_id:
        response = jsonify({"reservation_id": first.answer.body["reservation_id"]})
    elif first.by_reservation:
        response = jsonify({"server": _created_view(server_ids[0])})
    else:
        response = jsonify({"server": rewrite_links(first.answer.body["server"], view_context())})
    response.status_code = first.answer.status
    response.headers["Location"] = f"{gateway_url()}/servers/{server_ids[0]}"
    return response


@dataclass(frozen=True)
class Batch:
    """One create request the pod answered: its answer, the servers it made, their ports."""

    answer: PodAnswer
    by_reservation: bool
    server_ids: list[str]
    plan: networking.NetworkPlan


def _one_of_several(
    request_body: ServerCreate,
    index: int,
    count: int,
    undo: Undo,
    pod: Pod,
    security_groups: list[str] | None,
    grouped: tuple[Pod, dict] | None,
) -> Batch:
    """Server ``index`` of ``count`` booted alone, named as Nova names it (``name-N``)."""
    overrides: dict[str, Any] = {
        "name": f"{request_body.name}-{index + 1}",
        "min_count": None,
        "max_count": None,
        "return_reservation_id": request_body.return_reservation_id or None,
    }
    return _boot_batch(
        request_body,
        overrides,
        request_body.return_reservation_id,
        undo,
        pod,
        security_groups,
        grouped,
    )


def _boot_batch(
    request_body: ServerCreate,
    overrides: dict[str, Any],
    by_reservation: bool,
    undo: Undo,
    pod: Pod,
    security_groups: list[str] | None,
    grouped: tuple[Pod, dict] | None,
) -> Batch:
    """One bottom create (``overrides`` set on the server, None removing a field): its ports
    made first and released if the pod refuses; then each server routed and its ports given to
    it, every step's undo pushed on ``undo``."""
    who = caller()
    app_state = state()
    plan = networking.prepare_networks(
        app_state.mirror, request_body.networks, pod, who.project_id, security_groups
    )
    bottom_server = _bottom_server(request_body, pod, plan)
    for key, value in overrides.items():
        if value is None:
            bottom_server.pop(key, None)
        else:
            bottom_server[key] = value
    try:
        answer = app_state.calls.call(
            who,
            pod.region_name,
            "POST",
            "/servers",
            json=_bottom_request(request_body, bottom_server, grouped),
            timeout=app_state.conf.compute.boot_timeout,
        )
        if by_reservation:
            server_ids = _reserved_servers(pod, answer.body["reservation_id"])
        else:
            server_ids = [answer.body["server"]["id"]]
    except BaseException:
        networking.undo(app_state.mirror, plan)
        raise
    # Once a bottom server holds the ports, a job releases them after the pod let go.
    if plan.server_ports:
        undo.push(
            Made(pod.region_name, "server_ports", server_ids[0]),
            partial(_queue_port_cleanup, server_ids[0], pod, who.project_id),
        )
    for server_id in server_ids:
        undo.push(
            Made(pod.region_name, SERVER, server_id),
            partial(_delete_bottom_server, server_id, pod),
        )
    networking.give_made_ports(app_state.mirror, plan, server_ids[0])
    for server_id in server_ids:
        _record_server(server_id, pod, who.project_id)
        undo.push(
            Made(pod.region_name, "server_routing", server_id),
            partial(_forget_server, server_id, pod),
        )
    networking.queue_attach_top_ports(app_state.mirror, plan, server_ids[0], who.project_id)
    return Batch(answer, by_reservation, server_ids, plan)


def _bottom_request(
    request_body: ServerCreate, bottom_server: dict, grouped: tuple[Pod, dict] | None
) -> dict[str, Any]:
    """The pod's create request: the server, and its scheduler hints with bottom group IDs."""
    document: dict[str, Any] = {"server": bottom_server}
    if request_body.hints_key is not None:
        hints = grouped[1] if grouped else request_body.scheduler_hints
        document[request_body.hints_key] = hints
    return document


def _reserved_servers(pod: Pod, reservation_id: str) -> list[str]:
    """IDs of the servers one multiple create made in ``pod``, oldest first."""
    answer = state().calls.call(
        caller(),
        pod.region_name,
        "GET",
        "/servers",
        params={"reservation_id": reservation_id, "sort_key": "created_at", "sort_dir": "asc"},
    )
    server_ids = [server["id"] for server in answer.body["servers"]]
    if not server_ids:
        raise RuntimeError(f"no server of reservation {reservation_id} in {pod.region_name}")
    return server_ids


def _created_view(server_id: str) -> dict[str, Any]:
    """The create answer naming the first server of a multiple create."""
    return {
        "id": server_id,
        "links": [
            {"rel": "self", "href": f"{gateway_url()}/servers/{server_id}"},
            {"rel": "bookmark", "href": f"{gateway.root_url()}/servers/{server_id}"},
        ],
        "OS-DCF:diskConfig": "MANUAL",
    }


def _record_server(server_id: str, pod: Pod, project_id: str) -> None:
    """The routing of a new server: top ID = bottom ID, in ``pod``."""
    with transaction() as session:
        if not routings.route_as_itself(
            session,
            top_id=server_id,
            pod_id=pod.pod_id,
            project_id=project_id,
            resource_type=SERVER,
        ):
            raise RuntimeError(f"server {server_id} is already routed")


def _delete_bottom_server(server_id: str, pod: Pod) -> None:
    """Delete a bottom server this request made (undo of a boot)."""
    state().calls.call(caller(), pod.region_name, "DELETE", f"/servers/{segment(server_id)}")


def _forget_server(server_id: str, pod: Pod) -> None:
    """Remove the server's routing in ``pod``, and its pod from this worker's cache."""
    with transaction() as session:
        routings.forget_routing(session, server_id, pod.pod_id, SERVER)
    gateway.forget_routed_pod(server_id, SERVER)


def _queue_port_cleanup(server_id: str, pod: Pod, project_id: str) -> None:
    """Queue the backstop that releases the server's ports and routing once the pod let go."""
    with transaction() as session:
        enqueue_job(
            session,
            server_ports.JOB_SERVER_PORTS_CLEANUP,
            server_id,
            project_id,
            {"pod_id": pod.pod_id},
        )


def _list(detail: bool) -> ResponseReturnValue:
    """Servers of every pod, merged: IDs, names and links, or in full."""
    return server_list.list_servers(detail=detail, view=view_context())


gateway.route_lists(blueprint, "/servers", _list)


@blueprint.get("/servers/<server_id>")
def show(server_id: str) -> ResponseReturnValue:
    """One server, from its pod; from 2.69 an UNKNOWN record while its pod does not answer.

    When the pod no longer has the server, its ports are released and its routing forgotten
    before the 404 is answered: a client that waits for the 404 finds the ports gone too.
    """
    pod = server_pod(server_id)
    try:
        return forward(pod, "GET", f"/servers/{segment(server_id)}")
    except PodClientError as exc:
        if exc.status == 404:
            _server_gone(server_id, pod)
        raise
    except POD_FAILURES:
        if not caller().microversion.at_least(UNKNOWN_RECORDS_FROM):
            raise
    with transaction() as session:
        routing = routings.find_routing(session, server_id, pod.pod_id)
        created = routing.created_at if routing is not None else None
    stamp = created.isoformat(timespec="seconds") + "Z" if created is not None else None
    record = unknown_server(
        server_id, caller().project_id, stamp, pod.az_name, True, view_context()
    )
    return jsonify({"server": record})


def _server_gone(server_id: str, pod: Pod) -> None:
    """Release the ports of a server its pod no longer has, then forget its routing (its pod
    kept a while for its instance actions)."""
    released = server_ports.release_server_ports(state().mirror, pod, server_id)
    with transaction() as session:
        deleted_servers.forget_deleted_server(
            session, server_id, pod.pod_id, keep_for=state().conf.compute.deleted_server_retention
        )
    gateway.forget_routed_pod(server_id, SERVER)
    LOG.info(
        "server gone region=%s server_id=%s released_top_port_ids=%s",
        pod.region_name,
        server_id,
        released,
    )


@blueprint.put("/servers/<server_id>")
def update(server_id: str) -> ResponseReturnValue:
    """Rename or redescribe a server in its pod."""
    body = validation.validated(request.get_data(), SERVER_UPDATE)
    return forward(server_pod(server_id), "PUT", f"/servers/{segment(server_id)}", json=body)


def delete_server(server_id: str, action_body: dict | None = None) -> Response:
    """Delete (or force-delete) the bottom server and queue the backstop of its release.

    The routing stays until the pod no longer has the server: the show that first sees the
    pod's 404 (or else the job) releases the server's ports and forgets the routing.
    """
    pod = server_pod(server_id)
    if action_body is None:
        response = forward(pod, "DELETE", f"/servers/{segment(server_id)}")
    else:
        response = forward(pod, "POST", f"/servers/{segment(server_id)}/action", json=action_body)
    _queue_port_cleanup(server_id, pod, caller().project_id)
    LOG.info("server delete sent region=%s server_id=%s", pod.region_name, server_id)
    return response


@blueprint.delete("/servers/<server_id>")
def delete(server_id: str) -> ResponseReturnValue:
    """Delete a server."""
    return delete_server(server_id)


def _addresses_on_network(server_id: str, network_label: str) -> ResponseReturnValue:
    """``GET /servers/{id}/ips/{label}``: the server's addresses on the network the caller
    knows as ``label`` (its top name, as ``addresses`` shows it; the pod names the bottom copy
    after the top ID, so the pod's whole ``ips`` is read and renamed, then picked from)."""
    pod = server_pod(server_id)
    answer = state().calls.call(
        caller(),
        pod.region_name,
        "GET",
        f"/servers/{segment(server_id)}/ips",
        timeout=state().conf.compute.show_deadline,
    )
    addresses = top_addresses(answer.body.get("addresses") or {}, view_context())
    if network_label not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return jsonify({network_label: addresses[network_label]})


@blueprint.route(
    "/servers/<server_id>/<any(metadata, ips, tags, 'os-instance-actions', 'os-server-password', "
    "diagnostics, topology, migrations):resource>",
    methods=["GET", "PUT", "POST", "DELETE"],
)
@blueprint.route(
    "/servers/<server_id>/<any(metadata, ips, tags, 'os-instance-actions', migrations):resource>"
    "/<path:rest>",
    methods=["GET", "PUT", "POST", "DELETE"],
)
def sub_resource(server_id: str, resource: str, rest: str | None = None) -> ResponseReturnValue:
    """Server metadata, tags, actions log, addresses and the like, forwarded to the pod."""
    if resource == "ips" and rest is not None and request.method == "GET":
        return _addresses_on_network(server_id, rest)
    path = f"/servers/{segment(server_id)}/{resource}" + (f"/{subpath(rest)}" if rest else "")
    raw = request.get_data()
    body = validation.json_object(raw) if raw and request.method in ("PUT", "POST") else None
    if resource == "os-instance-actions":
        return forward(_actions_pod(server_id), request.method, path, json=body)
    return forward(server_pod(server_id), request.method, path, json=body)


def _actions_pod(server_id: str) -> Pod:
    """The pod holding the actions of ``server_id``: its server's, or from 2.21 (Nova lists
    the actions of a deleted server) the pod of a server deleted less than ``[compute]
    deleted_server_retention`` ago; Nova's 404 otherwise."""
    try:
        return server_pod(server_id)
    except NotFound:
        if not caller().microversion.at_least(DELETED_ACTIONS_FROM):
            raise
        with transaction() as session:
            pod = deleted_servers.deleted_server_pod(
                session,
                server_id,
                keep_for=state().conf.compute.deleted_server_retention,
                project_id=None if caller().is_admin else caller().project_id,
            )
    if pod is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return pod

"""Calls on one existing volume or snapshot, forwarded to the pod that holds it.

The pod answers with its own status and body (links moved to the gateway, its AZ shown as the
top AZ); a pod that no longer knows the resource makes the gateway forget its routing. A resource
the gateway has no routing for (made in a pod directly, or its routing lost) is looked for in
every pod, as the caller, and its routing recorded when one pod has it: what lists show (they
come from the pods) can always be shown.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, request

from tricircle.api import gateway, validation
from tricircle.api.json_bodies import json_response
from tricircle.api.volume import common, routing, types
from tricircle.api.volume.faults import not_found
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import search
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

NOT_FOUND_MESSAGES = {
    routing.VOLUME: "Volume {id} could not be found.",
    routing.SNAPSHOT: "Snapshot {id} could not be found.",
    routing.GROUP: "Group {id} could not be found.",
    routing.GROUP_SNAPSHOT: "GroupSnapshot {id} could not be found.",
    routing.TRANSFER: "Transfer {id} could not be found.",
    routing.MESSAGE: "Message {id} could not be found.",
}


COLLECTIONS = {
    routing.VOLUME: "volumes",
    routing.SNAPSHOT: "snapshots",
    routing.GROUP: "groups",
    routing.GROUP_SNAPSHOT: "group_snapshots",
    routing.TRANSFER: "os-volume-transfer",
    routing.MESSAGE: "messages",
}


def holding_pod(top_id: str, resource_type: ResourceType) -> Pod:
    """The pod of ``top_id``; Cinder's 404 if neither a routing nor any pod knows it."""
    pod = routing.pod_of(top_id, resource_type) or _search_pods(top_id, resource_type)
    if pod is None:
        raise not_found(NOT_FOUND_MESSAGES[resource_type].format(id=top_id))
    return pod


def _search_pods(top_id: str, resource_type: ResourceType) -> Pod | None:
    """The pod that shows ``top_id`` to the caller, asked in parallel; its routing recorded."""
    state = common.state()
    who = gateway.caller()
    path = f"/{COLLECTIONS[resource_type]}/{segment(top_id)}"
    pods = gateway.bottom_pods()

    def has_it(pod: Pod) -> bool | None:
        try:
            state.calls.call(who, pod.region_name, "GET", path)
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise
        return True

    found = search.find_holder(state.pod_pool, pods, has_it, state.conf.volume_api.list_timeout)
    if found is None:
        return None
    pod = found[0]
    routing.record(top_id, pod, common.project_id(), resource_type)
    LOG.info(
        "%s %s found in pod %s without a routing; routing recorded",
        resource_type,
        top_id,
        pod.region_name,
    )
    return pod


def top_view(document: Any, pod: Pod) -> Any:
    """A pod's document as users see it: the pod's own AZ name replaced by the top AZ."""
    if isinstance(document, dict):
        return {
            key: (
                pod.az_name
                if key == "availability_zone" and value == pod.pod_az_name
                else top_view(value, pod)
            )
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [top_view(item, pod) for item in document]
    return document


def top_document(document: Any, pod: Pod, state: common.VolumeState) -> Any:
    """A pod's answer as users see it: top AZ, and type copies' IDs as the top types' IDs."""
    document = top_view(document, pod)
    if isinstance(document, dict):
        if isinstance(document.get("volume"), dict):
            document["volume"] = types.with_top_type_ids([document["volume"]], pod, state)[0]
        if isinstance(document.get("volumes"), list):
            document["volumes"] = types.with_top_type_ids(document["volumes"], pod, state)
    return document


def forward_to_holder(
    top_id: str,
    resource_type: ResourceType,
    method: str,
    path: str,
    *,
    forget_if_gone: bool = False,
    body: Any = None,
) -> Response:
    """Forward the current request on ``top_id`` to its pod and answer as the pod did.

    ``body`` is the checked body to send, else the request's own JSON (for POST and PUT). With
    ``forget_if_gone`` (a show), the pod's 404 also drops the routing (``forget_if_owned``).
    Warm (the pod cached), this asks no database and makes exactly one pod call.
    """
    pod = holding_pod(top_id, resource_type)
    if body is None and method in ("POST", "PUT"):
        body = validation.json_document(request.get_data())
    try:
        answer = common.forward(
            pod.region_name, method, path, body=body, params=request.args.to_dict()
        )
    except PodClientError as exc:
        if exc.status == 404 and forget_if_gone:
            routing.forget_if_owned(top_id, pod, resource_type)
            LOG.info(
                "%s %s not in pod %s for project %s; its routing dropped if the project's",
                resource_type,
                top_id,
                pod.region_name,
                common.project_id(),
            )
        raise
    LOG.info(
        "%s %s %s forwarded to pod %s: %s",
        method,
        resource_type,
        top_id,
        pod.region_name,
        answer.status,
    )
    if answer.body is None:
        return Response(status=answer.status)
    return json_response(top_document(answer.body, pod, common.state()), answer.status)

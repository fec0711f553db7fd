"""Which pod holds a volume (or snapshot) named to the Nova gateway, and the one-pod rule.

A server can use only volumes of its own pod: the pods' Nova and Cinder know nothing of each
other. The Cinder gateway keeps a volume's pod ID as its top ID and records a routing row
(resource_type ``volume`` or ``snapshot``, top ID = bottom ID). A volume without a routing (made in
a pod directly) is looked for in every pod, as the caller, and its routing recorded when found.
Every lookup reads the volume from its pod with the caller's token, so a volume the caller may
not see is Nova's 404 in every case and the gateway never tells where it lives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from tricircle.api.compute.state import ComputeState, state
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import bottom_pods, caller, transaction
from tricircle.api.podcalls import Caller
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import search
from tricircle.pods.client import PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

VOLUME = ResourceType.VOLUME
SNAPSHOT = ResourceType.SNAPSHOT
VOLUME_SERVICE = "volumev3"
_COLLECTIONS = {VOLUME: "volumes", SNAPSHOT: "snapshots"}
_NOT_FOUND = {
    VOLUME: "Volume {id} could not be found.",
    SNAPSHOT: "Snapshot {id} could not be found.",
}
_PROJECT_FIELDS = {
    VOLUME: "os-vol-tenant-attr:tenant_id",
    SNAPSHOT: "os-extended-snapshot-attributes:project_id",
}


class OtherPod(BadRequest):
    """The volume lives in another pod than the server (Nova's 400): nothing was asked of a pod."""


def _routed_pod(top_id: str, resource_type: ResourceType) -> Pod | None:
    """The pod the routing table names for ``top_id``, or None."""
    with transaction() as session:
        return routings.routed_pod(session, top_id, resource_type)


def _shown_in(
    app_state: ComputeState, who: Caller, pod: Pod, *, top_id: str, resource_type: ResourceType
) -> dict | None:
    """The resource as ``pod``'s Cinder shows it to ``who``, or None if it does not."""
    try:
        answer = app_state.calls.call(
            who,
            pod.region_name,
            "GET",
            f"/{_COLLECTIONS[resource_type]}/{segment(top_id)}",
            service_type=VOLUME_SERVICE,
            timeout=app_state.conf.compute.list_deadline,
        )
    except PodClientError as exc:
        if exc.status == 404:
            return None
        raise
    return answer.body.get(resource_type) if isinstance(answer.body, dict) else None


def _search_pods(top_id: str, resource_type: ResourceType) -> Pod | None:
    """The pod whose Cinder shows ``top_id`` to the caller (asked in parallel), routing recorded."""
    app_state = state()
    who = caller()
    found = search.find_holder(
        app_state.pod_pool,
        bottom_pods(),
        partial(_shown_in, app_state, who, top_id=top_id, resource_type=resource_type),
        app_state.conf.compute.list_deadline,
    )
    if found is None:
        return None
    pod, record = found
    with transaction() as session:
        routings.route_as_itself(
            session,
            top_id=top_id,
            pod_id=pod.pod_id,
            project_id=record.get(_PROJECT_FIELDS[resource_type]) or who.project_id,
            resource_type=resource_type,
        )
    LOG.info(
        "%s found without a routing region=%s top_id=%s; routing recorded",
        resource_type,
        pod.region_name,
        top_id,
    )
    return pod


def holding_pod(top_id: str, resource_type: ResourceType = VOLUME) -> Pod:
    """The pod whose Cinder holds ``top_id`` and shows it to the caller; Nova's 404 if none."""
    pod = _routed_pod(top_id, resource_type)
    if pod is None:
        pod = _search_pods(top_id, resource_type)
    elif _shown_in(state(), caller(), pod, top_id=top_id, resource_type=resource_type) is None:
        pod = None
    if pod is None:
        raise NotFound(_NOT_FOUND[resource_type].format(id=top_id))
    return pod


def check_same_pod(server_id: str, server_pod: Pod, volume_id: str, volume_pod: Pod) -> None:
    """OtherPod (Nova's 400) unless the volume lives in the server's pod."""
    if volume_pod.pod_id == server_pod.pod_id:
        return
    if volume_pod.az_name != server_pod.az_name:
        where = (
            f"is in availability zone {volume_pod.az_name} and server {server_id} in "
            f"{server_pod.az_name}"
        )
    else:
        where = (
            f"and server {server_id} are in different pods of availability zone "
            f"{server_pod.az_name}"
        )
    raise OtherPod(
        f"Volume {volume_id} {where}: a server can use only volumes of its own availability "
        "zone and pod."
    )


def pod_of_sources(sources: Iterable[tuple[str, str]]) -> Pod | None:
    """The one pod holding every (resource_type, id) a server boots from; None if there are none.

    Nova's 404 for an unknown one, 400 when they live in different pods.
    """
    found: list[tuple[str, Pod]] = [
        (top_id, holding_pod(top_id, resource_type)) for resource_type, top_id in sources
    ]
    if not found:
        return None
    first_id, first_pod = found[0]
    for top_id, pod in found[1:]:
        if pod.pod_id != first_pod.pod_id:
            raise OtherPod(
                f"Block devices {first_id} ({first_pod.az_name}) and {top_id} ({pod.az_name}) "
                "live in different pods: one server can use only volumes of one pod."
            )
    return first_pod


def check_asked_zone(asked_az: str | None, pod: Pod) -> None:
    """OtherPod (400) if the server is asked for another AZ than its volumes' pod."""
    if asked_az is not None and asked_az != pod.az_name:
        raise OtherPod(
            f"The server's volumes are in availability zone {pod.az_name}, not in the requested "
            f"{asked_az}: a server can use only volumes of its own availability zone."
        )

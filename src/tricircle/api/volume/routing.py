"""Which pod holds a top volume, snapshot, group, group snapshot, transfer or message: resource
routings whose top ID is the bottom ID.

The gateway keeps the pod's own ID for these, so one routing row per resource
(top_id == bottom_id) is all that later calls need to find the pod. Lookups go through the
gateway's ``routed_pods`` cache (``gateway.routed_pod``): keyed by the caller's project (None for
admins), not filtered by it, since every call then made in the pod carries the caller's token
and the pod's Cinder decides what the caller may see (a transfer's accepting project reaches a
transfer it does not own). Invalidation: a routing this process records or forgets is kept or
dropped here at once; one recorded, dropped or moved through any other process is seen within
``[gateway_cache] ttl``, a resource deleted in its pod at once (the pod answers 404).
"""

from __future__ import annotations

from tricircle.api import gateway
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType

VOLUME = ResourceType.VOLUME
SNAPSHOT = ResourceType.SNAPSHOT
GROUP = ResourceType.GROUP
GROUP_SNAPSHOT = ResourceType.GROUP_SNAPSHOT
TRANSFER = ResourceType.TRANSFER
MESSAGE = ResourceType.MESSAGE


def pod_of(top_id: str, resource_type: ResourceType) -> Pod | None:
    """The pod holding ``top_id`` of ``resource_type``, or None if the gateway knows none."""
    return gateway.routed_pod(top_id, resource_type, owner_only=False)


def record(top_id: str, pod: Pod, project_id: str, resource_type: ResourceType) -> None:
    """Remember that ``top_id`` (also its bottom ID) lives in ``pod``."""
    with gateway.transaction() as session:
        routings.route_as_itself(
            session,
            top_id=top_id,
            pod_id=pod.pod_id,
            project_id=project_id,
            resource_type=resource_type,
        )
    gateway.remember_routed_pod(top_id, resource_type, pod)


def forget(
    top_id: str, pod: Pod, resource_type: ResourceType, *, project_id: str | None = None
) -> None:
    """Drop the routing of ``top_id`` in ``pod`` (only ``project_id``'s if given): its bottom
    resource is gone."""
    with gateway.transaction() as session:
        routings.forget_routing(session, top_id, pod.pod_id, resource_type, project_id=project_id)
    gateway.forget_routed_pod(top_id, resource_type)


def forget_if_owned(top_id: str, pod: Pod, resource_type: ResourceType) -> None:
    """``forget`` after the pod answered 404 to the caller: an admin's 404 means gone, another
    caller's only that it is not the caller's (another project's routing is kept)."""
    who = gateway.caller()
    forget(top_id, pod, resource_type, project_id=None if who.is_admin else who.project_id)

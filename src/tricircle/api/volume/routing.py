"""Which pod holds a top volume, snapshot, group, group snapshot, transfer or message: resource
routings whose top ID is the bottom ID.

The gateway keeps the pod's own ID for these, so one routing row per resource
(top_id == bottom_id) is all that later calls need to find the pod.
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
    with gateway.transaction() as session:
        return routings.routed_pod(session, top_id, resource_type)


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


def forget(top_id: str, pod: Pod) -> None:
    """Drop the routing of ``top_id`` in ``pod`` (its bottom resource is gone)."""
    with gateway.transaction() as session:
        routings.forget_routing(session, top_id, pod.pod_id)

"""Which pod holds a top volume or snapshot: resource routings whose top ID is the bottom ID.

The gateway keeps the pod's own ID for volumes and snapshots, so one routing row per resource
(top_id == bottom_id) is all that later calls need to find the pod.
"""

from __future__ import annotations

from tricircle.api.volume import common
from tricircle.db import pods as pod_queries
from tricircle.db import routings
from tricircle.db.models import Pod

VOLUME = "volume"
SNAPSHOT = "snapshot"


def pod_of(top_id: str, resource_type: str) -> Pod | None:
    """The pod holding ``top_id`` of ``resource_type``, or None if the gateway knows none."""
    with common.state().session_factory() as session:
        for routing in routings.find_routings_for_top(session, top_id):
            if routing.resource_type == resource_type and routing.bottom_id is not None:
                return pod_queries.get_pod(session, routing.pod_id)
    return None


def record(top_id: str, pod: Pod, project_id: str, resource_type: str) -> None:
    """Remember that ``top_id`` (also its bottom ID) lives in ``pod``."""
    with common.transaction() as session:
        lock = routings.lock_routing(
            session,
            top_id=top_id,
            pod_id=pod.pod_id,
            project_id=project_id,
            resource_type=resource_type,
        )
        if lock is not None:
            routings.fill_bottom_id(session, lock, top_id)


def forget(top_id: str, pod: Pod) -> None:
    """Drop the routing of ``top_id`` in ``pod`` (its bottom resource is gone)."""
    with common.transaction() as session:
        routing = routings.find_routing(session, top_id, pod.pod_id)
        if routing is not None:
            routings.delete_routing(session, routing.id)

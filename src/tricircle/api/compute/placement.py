"""Which pod a new server goes to, through Tricircle's pod scheduler, in Nova's words on failure.

The scheduler honours the project's binding in the AZ, else filters (enabled, reachable: the
pod's compute answered version discovery) and weighs the pods, then binds the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tricircle.api.errors import BadRequest
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods.scheduler import (
    NoValidPod,
    PlacementRequest,
    PodScheduler,
    UnknownAvailabilityZone,
)

SERVER = ResourceType.SERVER


class AvailabilityZoneNotAvailable(BadRequest):
    """The AZ names no pod (Nova's 400 for an unknown zone)."""

    def __init__(self) -> None:
        super().__init__("The requested availability zone is not available")


def pod_for_server(
    scheduler: PodScheduler, project_id: str, az_name: str | None, demand: Mapping[str, Any]
) -> Pod:
    """The pod for a server of ``project_id`` in ``az_name`` (None: default or any), bound."""
    request = PlacementRequest(
        project_id=project_id, availability_zone=az_name, resource_type=SERVER, demand=demand
    )
    try:
        return scheduler.select_pod(request).pod
    except UnknownAvailabilityZone as exc:
        raise AvailabilityZoneNotAvailable() from exc
    except NoValidPod as exc:
        raise BadRequest(
            "No pod can take this server now in the requested availability zone."
        ) from exc

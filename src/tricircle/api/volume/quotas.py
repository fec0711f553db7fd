"""The quota a volume or snapshot create takes, reserved before anything is made in a pod."""

from __future__ import annotations

from typing import Any

from tricircle.api import quota_sets
from tricircle.api.volume import common, forwarding, routing
from tricircle.db.models import Pod
from tricircle.pods.paths import segment
from tricircle.quotas.checks import snapshot_plan, volume_plan
from tricircle.quotas.resources import VOLUME


def _size_of(top_id: str, resource_type: routing.ResourceType) -> int:
    """The size of a volume or snapshot, read from its pod as the caller."""
    pod = forwarding.holding_pod(top_id, resource_type)
    path = f"/{resource_type}s/{segment(top_id)}"
    return int(common.forward(pod.region_name, "GET", path).body[resource_type]["size"])


def reserve_volume(volume: dict[str, Any]) -> None:
    """Reserve one volume and its size (given, else its source's) for the caller's project."""
    size = int(volume.get("size") or 0)
    if not size:
        for key, resource_type in (
            ("snapshot_id", routing.SNAPSHOT),
            ("source_volid", routing.VOLUME),
        ):
            if volume.get(key):
                size = _size_of(volume[key], resource_type)
    quota_sets.reserve(VOLUME, common.project_id(), volume_plan(size))


def reserve_snapshot(volume_id: str) -> None:
    """Reserve one snapshot and its volume's size for the caller's project."""
    size = _size_of(volume_id, routing.VOLUME)
    quota_sets.reserve(VOLUME, common.project_id(), snapshot_plan(size))


def ensure_pod_limits(pod: Pod) -> None:
    """The pod's own volume quota of the caller's project holds the top limits."""
    quota_sets.ensure_pod_limits(VOLUME, common.project_id(), pod)

"""A pod's own quota of a project, written so that it never refuses before the top limit does.

Each pod gets the project's top limits (its usage is part of the total, so a create the top
allows fits the pod too). Nova takes them with ``force``; Cinder refuses a limit below what the
pod already holds, so a Cinder limit is raised to the pod's usage where that is higher (the top
refuses those creates first anyway). Writes use Tricircle's own (admin) identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from tricircle.pods.client import PodClient
from tricircle.pods.paths import segment
from tricircle.quotas.resources import QuotaService


def digest(limits: Mapping[str, int]) -> str:
    """A stable digest of the limits written into a pod."""
    return hashlib.sha256(json.dumps(dict(sorted(limits.items()))).encode()).hexdigest()


def mirrored_limits(service: QuotaService, limits: Mapping[str, int]) -> dict[str, int]:
    """The part of a project's top limits written into the pods."""
    return {resource: limits[resource] for resource in service.mirrored}


def write_pod_limits(
    client: PodClient, service: QuotaService, project_id: str, limits: Mapping[str, int]
) -> None:
    """Set the project's quota in one pod's service to ``limits``."""
    values: dict[str, int | bool] = dict(limits)
    if service.pod_force:
        values["force"] = True
    else:
        held = client.get(f"/os-quota-sets/{segment(project_id)}", params={"usage": "true"})[
            "quota_set"
        ]
        for resource, limit in limits.items():
            usage = held.get(resource)
            if limit != -1 and isinstance(usage, dict):
                values[resource] = max(limit, int(usage["in_use"]) + int(usage["reserved"]))
    client.put(f"/os-quota-sets/{segment(project_id)}", json={"quota_set": values})

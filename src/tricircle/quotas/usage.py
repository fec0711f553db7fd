"""A project's usage, counted in the pods that may hold its resources, with Tricircle's identity.

Why the pods and not Tricircle's own records: a server or volume deleted straight in a pod, one
that failed or was resized there, is seen at the next count, and nothing in Tricircle's database
can drift. Compute usage is the project's servers as the pod's Nova lists them (build requests
included, so a server counts as soon as its create has returned, unlike Nova's own ``in_use``
which counts cell records only), with VCPUs and RAM from the embedded flavor (microversion
2.47), the servers of one user of the project when a user's share is counted; volume usage is
the pod's Cinder quota usage (``in_use`` + ``reserved``, committed before
its create returns). Pods are asked in parallel on the process's pod-call pool. What to do with
a pod that did not report, and how long a count is reused, is the engine's (``engine.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError, PodClient, PodClients
from tricircle.pods.fanout import PodCallPool
from tricircle.pods.paths import segment
from tricircle.quotas.resources import COMPUTE, VOLUME, QuotaService

SERVER_FLAVOR_MICROVERSION = "2.47"
PAGE = 1000

Counter = Callable[[PodClient, str], dict[str, int]]
UserCounter = Callable[[PodClient, str, str], dict[str, int]]


class UsageUnknown(Exception):
    """A pod that may hold the project's resources did not report its usage."""

    def __init__(self, region_name: str, reason: str) -> None:
        super().__init__(f"usage in {region_name} unknown: {reason}")
        self.region_name = region_name


def count_servers(client: PodClient, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Instances, cores and RAM of the project's servers (only ``user_id``'s, if given) in one
    pod."""
    totals = {"instances": 0, "cores": 0, "ram": 0}
    params: dict[str, str | int] = {"all_tenants": 1, "project_id": project_id, "limit": PAGE}
    if user_id is not None:
        params["user_id"] = user_id
    while True:
        servers = client.get(
            "/servers/detail", params=params, microversion=SERVER_FLAVOR_MICROVERSION
        )["servers"]
        for server in servers:
            flavor = server.get("flavor") or {}
            totals["instances"] += 1
            totals["cores"] += int(flavor.get("vcpus", 0))
            totals["ram"] += int(flavor.get("ram", 0))
        if len(servers) < PAGE:
            return totals
        params = {**params, "marker": servers[-1]["id"]}


def count_volume_usage(client: PodClient, project_id: str) -> dict[str, int]:
    """The project's volume quota usage in one pod (in use plus reserved)."""
    quota_set = client.get(f"/os-quota-sets/{segment(project_id)}", params={"usage": "true"})[
        "quota_set"
    ]
    return {
        resource: int(value.get("in_use", 0)) + int(value.get("reserved", 0))
        for resource, value in quota_set.items()
        if resource in VOLUME.counted and isinstance(value, dict)
    }


COUNTERS: dict[str, Counter] = {COMPUTE.name: count_servers, VOLUME.name: count_volume_usage}
USER_COUNTERS: dict[str, UserCounter] = {COMPUTE.name: count_servers}


def count_pods(
    pool: PodCallPool,
    pod_clients: PodClients,
    pods: Sequence[Pod],
    service: QuotaService,
    project_id: str,
    timeout: float,
    user_id: str | None = None,
) -> dict[str, dict[str, int] | UsageUnknown]:
    """The project's (or only ``user_id``'s, in a service with per-user quotas) usage of
    ``service``'s counted resources in each pod, by pod ID, or the UsageUnknown of a pod that
    failed or did not answer within ``timeout`` seconds (an error other than a pod call's is
    raised)."""
    if not pods:
        return {}

    def count(pod: Pod) -> dict[str, int]:
        client = pod_clients.client(pod.region_name, service.pod_service_type)
        if user_id is None:
            return COUNTERS[service.name](client, project_id)
        return USER_COUNTERS[service.name](client, project_id, user_id)

    counted: dict[str, dict[str, int] | UsageUnknown] = {}
    for outcome in pool.call_each(count, pods, timeout):
        pod = outcome.item
        if outcome.in_time and outcome.error is None:
            counted[pod.pod_id] = outcome.result() or {}
            continue
        if outcome.error is not None and not isinstance(outcome.error, PodCallError):
            raise outcome.error
        reason = str(outcome.error) if outcome.error else f"no answer within {timeout} s"
        unknown = UsageUnknown(pod.region_name, reason)
        unknown.__cause__ = outcome.error
        counted[pod.pod_id] = unknown
    return counted

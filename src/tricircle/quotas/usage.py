"""A project's usage, counted in the pods that may hold its resources, with Tricircle's identity.

Why the pods and not Tricircle's own records: a server or volume deleted straight in a pod, one
that failed or was resized there, is seen at once, and nothing in Tricircle's database can drift.
Compute usage is the project's servers as the pod's Nova lists them (build requests included, so
a server counts as soon as its create has returned, unlike Nova's own ``in_use`` which counts
cell records only), with VCPUs and RAM from the embedded flavor (microversion 2.47); volume
usage is the pod's Cinder quota usage (``in_use`` + ``reserved``, committed before its create
returns). Pods are asked in parallel on the process's pod-call pool. What a pod reported is
kept in a ``LastUsage`` (per process, bounded, for ``[quota] usage_fallback_age``); a pod that
cannot answer counts with its last report if there is one that young, else the usage is
unknown. A pod whose API does not answer takes no new resources through it, so its last report
bounds its usage, short of deletes made since (counted too high: the safe side).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from tricircle.cache import TtlCache
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError, PodClient, PodClients
from tricircle.pods.fanout import PodCallPool
from tricircle.pods.paths import segment
from tricircle.quotas.resources import COMPUTE, VOLUME, QuotaService

LOG = logging.getLogger(__name__)

SERVER_FLAVOR_MICROVERSION = "2.47"
PAGE = 1000

Counter = Callable[[PodClient, str], dict[str, int]]


class UsageUnknown(Exception):
    """A pod that may hold the project's resources did not report its usage."""

    def __init__(self, region_name: str, reason: str) -> None:
        super().__init__(f"usage in {region_name} unknown: {reason}")
        self.region_name = region_name


def count_servers(client: PodClient, project_id: str) -> dict[str, int]:
    """Instances, cores and RAM of the project's servers in one pod."""
    totals = {"instances": 0, "cores": 0, "ram": 0}
    params: dict[str, str | int] = {"all_tenants": 1, "project_id": project_id, "limit": PAGE}
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


# (pod region, service name, project ID) -> that project's usage there, as last reported.
LastUsage = TtlCache[tuple[str, str, str], dict[str, int]]


def last_usage(max_entries: int, max_age: float) -> LastUsage:
    """An empty memory of pods' reports, each used for ``max_age`` seconds at most."""
    return TtlCache(max_entries, max_age)


def count_usage(
    pool: PodCallPool,
    pod_clients: PodClients,
    pods: Sequence[Pod],
    service: QuotaService,
    project_id: str,
    timeout: float,
    last: LastUsage,
) -> dict[str, int]:
    """The project's usage of ``service``'s counted resources, summed over ``pods``; raises
    UsageUnknown if a pod fails or has not answered within ``timeout`` seconds and ``last``
    holds no report of it."""
    totals = dict.fromkeys(service.counted, 0)
    if not pods:
        return totals
    counter = COUNTERS[service.name]

    def count(pod: Pod) -> dict[str, int]:
        return counter(pod_clients.client(pod.region_name, service.pod_service_type), project_id)

    for outcome in pool.call_each(count, pods, timeout):
        key = (outcome.item.region_name, service.name, project_id)
        if outcome.in_time and outcome.error is None:
            reported = outcome.result() or {}
            last.put_many({key: reported})
        else:
            reported = _last_report(last, key, outcome.error, timeout)
        for resource, amount in reported.items():
            totals[resource] = totals.get(resource, 0) + amount
    return totals


def _last_report(
    last: LastUsage, key: tuple[str, str, str], error: BaseException | None, timeout: float
) -> dict[str, int]:
    """The pod's last report, for a pod that did not report now; else UsageUnknown."""
    region_name = key[0]
    if error is not None and not isinstance(error, PodCallError):
        raise error
    reason = str(error) if error is not None else f"no answer within {timeout} s"
    found = last.get_many([key])
    if key not in found:
        raise UsageUnknown(region_name, reason) from error
    LOG.warning(
        "usage counted from the last report region=%s service=%s project_id=%s reason=%s",
        region_name,
        key[1],
        key[2],
        reason,
    )
    return found[key]

"""``os-hypervisors`` over every pod: one cloud's hypervisors, host names as the pods give them.

Lists are the pods' lists one after the other (pods by region name, each in its own order);
pages (2.33+) run through that chain: a marker names its pod, which is asked natively after it,
then the following pods from their start. IDs before 2.53 are Nova's integers made unique by
``admin_pods`` (``bottom * 1000 + pod number``, the embedded ``service.id`` likewise); from 2.53
they are the pods' UUIDs, routed back by asking the pods. Statistics (before 2.88) are the pods'
own, summed. A pod that fails or misses the deadline is left out of a merged view and logged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api.compute import admin_pods, policy
from tricircle.api.compute.state import gateway_url
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.gateway import caller
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

blueprint = Blueprint("compute_hypervisors", __name__)

PAGING_FROM = "2.33"
UUIDS_FROM = "2.53"
NO_STATISTICS_FROM = "2.88"
STATISTICS_KEYS = (
    "count",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
)


def _rule(action: str) -> str:
    return policy.HYPERVISORS % action


def _at_least(version: str) -> bool:
    return caller().microversion.at_least(version)


def shown(hypervisor: dict[str, Any], number: int) -> dict[str, Any]:
    """A pod's hypervisor with its integer IDs (and its service's) made the gateway's."""
    hypervisor = dict(hypervisor)
    hypervisor["id"] = admin_pods.top_int_id(number, hypervisor.get("id"))
    service = hypervisor.get("service")
    if isinstance(service, dict):
        hypervisor["service"] = {**service, "id": admin_pods.top_int_id(number, service.get("id"))}
    return hypervisor


def _not_found(hypervisor_id: str) -> NotFound:
    return NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


def _no_match(pattern: str) -> NotFound:
    return NotFound(f"No hypervisor matching '{pattern}' could be found.")


def _passed_args(*dropped: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.args.items(multi=True) if k not in dropped]


def _marker_pod(marker: str) -> tuple[Pod, str]:
    """The pod holding the marker hypervisor and its ID there; 400 as Nova if none."""
    if _at_least(UUIDS_FROM):
        found = None
        if admin_pods.is_uuid(marker):
            found = admin_pods.find_pod_showing(f"/os-hypervisors/{segment(marker)}")
        if found is not None:
            return found[0], marker
    else:
        decoded = admin_pods.pod_of_int_id(marker)
        if decoded is not None:
            return decoded[0], str(decoded[1])
    raise BadRequest(f"marker [{marker}] not found")


def _paged(path: str, limit: int | None, marker: str | None) -> tuple[list[dict], bool]:
    """A page of the pods' hypervisors chained in pod order; and whether it is full."""
    pods = admin_pods.ordered_pods()
    start = 0
    bottom_marker = None
    if marker is not None:
        marker_pod, bottom_marker = _marker_pod(marker)
        start = [pod.pod_id for pod in pods].index(marker_pod.pod_id)
    params = _passed_args("limit", "marker")
    records: list[dict] = []
    for number, pod in list(enumerate(pods, 1))[start:]:
        asked = list(params)
        if limit is not None:
            asked.append(("limit", str(limit - len(records))))
        if pod.pod_id == pods[start].pod_id and bottom_marker is not None:
            asked.append(("marker", bottom_marker))
        try:
            body = admin_pods.call_pod(pod, "GET", path, params=asked).body
        except PodClientError:
            raise
        except PodCallError as exc:
            LOG.warning("hypervisors: pod %s failed (%s); left out", pod.region_name, exc)
            continue
        records += [shown(item, number) for item in body["hypervisors"]]
        if limit is not None and len(records) >= limit:
            return records[:limit], True
    return records, False


def _list(detail: bool) -> ResponseReturnValue:
    admin_pods.authorize_nova(_rule("list-detail" if detail else "list"))
    path = "/os-hypervisors/detail" if detail else "/os-hypervisors"
    pattern = request.args.get("hypervisor_hostname_pattern") if _at_least(UUIDS_FROM) else None
    paging = _at_least(PAGING_FROM)
    limit_arg = request.args.get("limit") if paging else None
    marker = request.args.get("marker") if paging else None
    if pattern is not None:
        if limit_arg is not None or marker:
            raise BadRequest(
                "Paging over hypervisors with the hypervisor_hostname_pattern query parameter "
                "is not supported."
            )
        answers = admin_pods.ask_every_pod(
            path, params=_passed_args(), missing_ok=True, what="hypervisor search"
        )
        found = [shown(h, a.number) for a in answers for h in a.body["hypervisors"]]
        if not found:
            raise _no_match(pattern)
        return jsonify({"hypervisors": found})
    if limit_arg is None and marker is None:
        answers = admin_pods.ask_every_pod(path, params=_passed_args(), what="hypervisors")
        return jsonify(
            {"hypervisors": [shown(h, a.number) for a in answers for h in a.body["hypervisors"]]}
        )
    limit = _limit(limit_arg)
    records, full = _paged(path, limit, marker)
    body: dict[str, Any] = {"hypervisors": records}
    if full and records:
        suffix = "/detail" if detail else ""
        href = f"{gateway_url()}/os-hypervisors{suffix}?limit={limit}&marker={records[-1]['id']}"
        body["hypervisors_links"] = [{"rel": "next", "href": href}]
    return jsonify(body)


def _limit(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError as exc:
        raise BadRequest(
            f"Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match "
            "'^[0-9]*$'"
        ) from exc
    if limit < 0:
        raise BadRequest(
            f"Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match "
            "'^[0-9]*$'"
        )
    return limit


@blueprint.get("/os-hypervisors")
def list_hypervisors() -> ResponseReturnValue:
    """Every pod's hypervisors (id, hostname, state, status)."""
    return _list(False)


@blueprint.get("/os-hypervisors/detail")
def list_hypervisors_detail() -> ResponseReturnValue:
    """Every pod's hypervisors in full."""
    return _list(True)


@blueprint.get("/os-hypervisors/statistics")
def hypervisor_statistics() -> ResponseReturnValue:
    """The pods' statistics summed: the capacity of the whole cloud (before 2.88)."""
    if _at_least(NO_STATISTICS_FROM):
        raise admin_pods.method_not_found()
    admin_pods.authorize_nova(_rule("statistics"))
    totals = dict.fromkeys(STATISTICS_KEYS, 0)
    for answer in admin_pods.ask_every_pod("/os-hypervisors/statistics", what="statistics"):
        for key, value in answer.body["hypervisor_statistics"].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    return jsonify({"hypervisor_statistics": totals})


def _routed(hypervisor_id: str) -> tuple[Pod, int, str]:
    """The pod, its number and the pod's own ID of a hypervisor the caller names."""
    if _at_least(UUIDS_FROM):
        if not admin_pods.is_uuid(hypervisor_id):
            raise BadRequest(f"Invalid uuid {hypervisor_id}")
        found = admin_pods.find_pod_showing(f"/os-hypervisors/{segment(hypervisor_id)}")
        if found is None:
            raise _not_found(hypervisor_id)
        pod = found[0]
        return pod, admin_pods.pod_number(pod), hypervisor_id
    decoded = admin_pods.pod_of_int_id(hypervisor_id)
    if decoded is None:
        raise _not_found(hypervisor_id)
    pod, bottom_id = decoded
    return pod, admin_pods.pod_number(pod), str(bottom_id)


def _routed_get(hypervisor_id: str, suffix: str) -> ResponseReturnValue:
    pod, number, bottom_id = _routed(hypervisor_id)
    try:
        answer = admin_pods.call_pod(
            pod, "GET", f"/os-hypervisors/{segment(bottom_id)}{suffix}", params=_passed_args()
        )
    except PodClientError as exc:
        if exc.status == 404:
            raise _not_found(hypervisor_id) from exc
        raise
    return jsonify({"hypervisor": shown(answer.body["hypervisor"], number)})


@blueprint.get("/os-hypervisors/<hypervisor_id>")
def show_hypervisor(hypervisor_id: str) -> ResponseReturnValue:
    """One hypervisor, from its pod."""
    admin_pods.authorize_nova(_rule("show"))
    return _routed_get(hypervisor_id, "")


@blueprint.get("/os-hypervisors/<hypervisor_id>/uptime")
def hypervisor_uptime(hypervisor_id: str) -> ResponseReturnValue:
    """One hypervisor's uptime, from its pod (before 2.88)."""
    if _at_least(NO_STATISTICS_FROM):
        raise admin_pods.method_not_found()
    admin_pods.authorize_nova(_rule("uptime"))
    return _routed_get(hypervisor_id, "/uptime")


def _search(pattern: str, action: str) -> ResponseReturnValue:
    if _at_least(UUIDS_FROM):
        raise admin_pods.method_not_found()
    admin_pods.authorize_nova(_rule(action))
    suffix = "servers" if action == "servers" else "search"
    answers = admin_pods.ask_every_pod(
        f"/os-hypervisors/{segment(pattern)}/{suffix}", missing_ok=True, what=f"hypervisor {suffix}"
    )
    found = [shown(h, a.number) for a in answers for h in a.body["hypervisors"]]
    if not found:
        raise _no_match(pattern)
    return jsonify({"hypervisors": found})


@blueprint.get("/os-hypervisors/<pattern>/search")
def search_hypervisors(pattern: str) -> ResponseReturnValue:
    """Hypervisors whose host name matches ``pattern`` in any pod (before 2.53)."""
    return _search(pattern, "search")


@blueprint.get("/os-hypervisors/<pattern>/servers")
def hypervisor_servers(pattern: str) -> ResponseReturnValue:
    """Matching hypervisors with their servers, in any pod (before 2.53)."""
    return _search(pattern, "servers")

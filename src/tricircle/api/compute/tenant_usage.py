"""``os-simple-tenant-usage`` over every pod: each project's usage summed over the pods.

A project's totals (hours, vCPU, memory and disk usage) are the pods' totals added; its
``server_usages`` (``detailed``) the pods' put together. Pages (2.40+, ``limit`` and a server
UUID as ``marker``) run over the pods one after the other (by region name), each paged natively
over its servers: the marker's pod (the routing table, else the pods asked) continues after it,
the following pods from their start, and a pod's own next link ends the page with its marker.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tricircle.api import validation
from tricircle.api.compute import admin_pods, policy
from tricircle.api.errors import BadRequest
from tricircle.api.gateway import caller, transaction
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import lister
from tricircle.pods.client import PodCallError, PodClientError
from tricircle.pods.paths import segment

blueprint = Blueprint("compute_tenant_usage", __name__)

PAGING_FROM = "2.40"
TOTALS = ("total_hours", "total_local_gb_usage", "total_vcpus_usage", "total_memory_mb_usage")
_TRUE = ("1", "true", "True", "yes", "on", "t", "y")


def merged(usages: list[dict[str, Any]], detailed: bool) -> list[dict[str, Any]]:
    """One usage per project from the pods' usages (empty ones skipped)."""
    by_project: dict[str, dict[str, Any]] = {}
    for usage in usages:
        if not usage:
            continue
        project = by_project.get(usage["tenant_id"])
        if project is None:
            by_project[usage["tenant_id"]] = {
                **usage,
                "server_usages": list(usage.get("server_usages", [])),
            }
            continue
        for key in TOTALS:
            project[key] = project.get(key, 0) + usage.get(key, 0)
        project["server_usages"] += usage.get("server_usages", [])
    result = list(by_project.values())
    if not detailed:
        for project in result:
            project.pop("server_usages", None)
    return result


def _marker_pod(marker: str) -> Pod:
    with transaction() as session:
        pod = routings.routed_pod(session, marker, ResourceType.SERVER)
    if pod is not None:
        return pod
    found = admin_pods.find_pod_showing(f"/servers/{segment(marker)}")
    if found is None:
        raise BadRequest(f"Marker {marker} could not be found.")
    return found[0]


def _next_marker(body: dict[str, Any], links_key: str) -> str | None:
    for link in body.get(links_key, []):
        if link.get("rel") == "next":
            values = parse_qs(urlsplit(link.get("href", "")).query).get("marker")
            if values:
                return values[-1]
    return None


def _chained(path: str, key: str, params: list[tuple[str, str]]) -> tuple[list[Any], str | None]:
    """The pods' answers (``key``) of one page chained over the pods, and the next marker."""
    limit = validation.parse_limit(request.args, minimum=0)
    marker = request.args.get("marker")
    pods = admin_pods.ordered_pods()
    start = 0
    if marker is not None:
        marker_pod = _marker_pod(marker)
        start = [pod.pod_id for pod in pods].index(marker_pod.pod_id)
    links_key = f"{key}_links"
    found: list[Any] = []
    remaining = limit
    for index, pod in list(enumerate(pods))[start:]:
        if remaining <= 0:
            break
        asked = [*params, ("limit", str(remaining))]
        if index == start and marker is not None:
            asked.append(("marker", marker))
        try:
            body = admin_pods.call_pod(pod, "GET", path, params=asked).body
        except PodClientError:
            raise
        except PodCallError:
            continue
        usage = body.get(key)
        found += usage if isinstance(usage, list) else [usage]
        next_marker = _next_marker(body, links_key)
        if next_marker is not None:
            return found, next_marker
        usages = usage if isinstance(usage, list) else [usage]
        remaining -= sum(len(u.get("server_usages", [])) for u in usages if u)
    return found, None


def _link(marker: str) -> list[dict[str, str]]:
    return [{"rel": "next", "href": lister.next_link(request.url, marker)}]


def _params(detailed: bool) -> list[tuple[str, str]]:
    params = [
        (k, v)
        for k, v in request.args.items(multi=True)
        if k not in ("limit", "marker", "detailed")
    ]
    return params + ([("detailed", "1")] if detailed else [])


@blueprint.get("/os-simple-tenant-usage")
def list_usages() -> ResponseReturnValue:
    """Every project's usage in the period, summed over the pods (admin)."""
    admin_pods.authorize_nova(policy.USAGE_LIST)
    detailed = request.args.get("detailed", "0") in _TRUE
    paging = caller().microversion.at_least(PAGING_FROM)
    if paging and ("limit" in request.args or "marker" in request.args):
        usages, next_marker = _chained("/os-simple-tenant-usage", "tenant_usages", _params(True))
        body: dict[str, Any] = {"tenant_usages": merged(usages, detailed)}
        if next_marker is not None:
            body["tenant_usages_links"] = _link(next_marker)
        return jsonify(body)
    answers = admin_pods.ask_every_pod(
        "/os-simple-tenant-usage", params=_params(detailed), what="tenant usage"
    )
    usages = [usage for answer in answers for usage in answer.body["tenant_usages"]]
    return jsonify({"tenant_usages": merged(usages, detailed)})


@blueprint.get("/os-simple-tenant-usage/<tenant_id>")
def show_usage(tenant_id: str) -> ResponseReturnValue:
    """One project's usage in the period, summed over the pods (its members or admin)."""
    admin_pods.authorize_nova(policy.USAGE_SHOW, {"project_id": tenant_id})
    path = f"/os-simple-tenant-usage/{segment(tenant_id)}"
    paging = caller().microversion.at_least(PAGING_FROM)
    if paging and ("limit" in request.args or "marker" in request.args):
        usages, next_marker = _chained(path, "tenant_usage", _params(False))
        shown = merged(usages, True)
        body: dict[str, Any] = {"tenant_usage": shown[0] if shown else {}}
        if next_marker is not None:
            body["tenant_usage_links"] = _link(next_marker)
        return jsonify(body)
    answers = admin_pods.ask_every_pod(path, params=_params(False), what="tenant usage")
    shown = merged([answer.body["tenant_usage"] for answer in answers], True)
    return jsonify({"tenant_usage": shown[0] if shown else {}})

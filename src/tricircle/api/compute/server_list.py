"""``GET /servers`` and ``/servers/detail`` over every pod: fan out, merge-sort, paginate.

Each pod is asked in parallel, with the caller's token, filters and sort keys, for its servers
in the gateway's order (the sort keys, then ``uuid``). The answers are merged on those keys, the
page is cut at ``limit`` after the marker, and ``servers_links`` gets a next link when the page
is full. A pod that has not answered by the deadline is reported: at microversion 2.69 and later
its servers known to the routing table come back as ``UNKNOWN`` records, below that they are
left out and the omission is logged. The list never waits past the deadline for one pod.

Pod timestamps in answers have one-second precision while pods sort on finer ones, so a pod's
answer is read past the page boundary until the coarse sort values change, then sorted locally.
"""

from __future__ import annotations

import functools
import heapq
import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request

from tricircle.api.compute.podcalls import Caller, CallerPodCalls, PodFault
from tricircle.api.compute.state import bottom_pods, caller, state, transaction
from tricircle.api.compute.views import ViewContext, server_view, unknown_server
from tricircle.api.errors import BadRequest, InvalidField
from tricircle.db import routings
from tricircle.db.models import Pod

LOG = logging.getLogger(__name__)

MAX_LIMIT = 1000
UNKNOWN_RECORDS_FROM = "2.69"
# Nova sort keys -> the field of a detailed server carrying the value.
SORT_FIELDS = {
    "uuid": "id",
    "display_name": "name",
    "created_at": "created",
    "updated_at": "updated",
    "launched_at": "OS-SRV-USG:launched_at",
    "terminated_at": "OS-SRV-USG:terminated_at",
    "vm_state": "OS-EXT-STS:vm_state",
    "task_state": "OS-EXT-STS:task_state",
    "power_state": "OS-EXT-STS:power_state",
    "availability_zone": "OS-EXT-AZ:availability_zone",
    "host": "OS-EXT-SRV-ATTR:host",
    "hostname": "OS-EXT-SRV-ATTR:hostname",
    "key_name": "key_name",
    "user_id": "user_id",
    "project_id": "tenant_id",
    "locked": "locked",
    "display_description": "description",
    "access_ip_v4": "accessIPv4",
    "access_ip_v6": "accessIPv6",
    "config_drive": "config_drive",
}
_RESERVED = {"limit", "marker", "sort_key", "sort_dir"}
_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pod-list")


@dataclass(frozen=True)
class SortSpec:
    """The sort keys (Nova names) and directions, always ending with ``uuid``."""

    keys: tuple[tuple[str, str], ...]

    @classmethod
    def from_args(cls, sort_keys: list[str], sort_dirs: list[str]) -> SortSpec:
        """Nova's rules: default ``created_at`` desc; ``id`` means ``uuid``; uuid always last."""
        for direction in sort_dirs:
            if direction not in ("asc", "desc"):
                raise InvalidField("sort_dir", "must be asc or desc")
        if len(sort_dirs) > len(sort_keys):
            raise BadRequest("The number of sort_keys and sort_dirs must be the same.")
        default_dir = sort_dirs[0] if sort_dirs else "desc"
        keys: list[tuple[str, str]] = []
        for index, key in enumerate(sort_keys):
            name = "uuid" if key == "id" else key
            if name not in SORT_FIELDS:
                raise InvalidField("sort_key", f"{key} is not a supported sort key")
            keys.append((name, sort_dirs[index] if index < len(sort_dirs) else default_dir))
        if not keys:
            keys.append(("created_at", default_dir))
        if all(name != "uuid" for name, _ in keys):
            keys.append(("uuid", keys[0][1]))
        return cls(tuple(keys))

    def params(self) -> list[tuple[str, str]]:
        """The sort query parameters for a pod."""
        result: list[tuple[str, str]] = []
        for name, direction in self.keys:
            result += [("sort_key", name), ("sort_dir", direction)]
        return result

    def compare(self, left: dict[str, Any], right: dict[str, Any]) -> int:
        """-1, 0 or 1: ``left`` before, tied with, or after ``right``."""
        for name, direction in self.keys:
            order = _compare_values(left.get(SORT_FIELDS[name]), right.get(SORT_FIELDS[name]))
            if order:
                return order if direction == "asc" else -order
        return 0

    def coarse(self, server: dict[str, Any]) -> tuple:
        """The sort values without the final uuid (what a page boundary must not split)."""
        return tuple(repr(server.get(SORT_FIELDS[name])) for name, _ in self.keys[:-1])


def _compare_values(left: Any, right: Any) -> int:
    """Order two sort values; None first, mixed types by their text."""
    if left == right:
        return 0
    if left is None:
        return -1
    if right is None:
        return 1
    try:
        return -1 if left < right else 1
    except TypeError:
        return -1 if str(left) < str(right) else 1


def _limit(args: Any) -> int:
    raw = args.get("limit")
    if raw is None:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise InvalidField("limit", "must be an integer") from exc
    if limit < 0:
        raise InvalidField("limit", "must be >= 0")
    return min(limit, MAX_LIMIT)


@dataclass
class PodQuery:
    """One pod's part of a list: who asks, with which filters, after which marker server."""

    calls: CallerPodCalls
    who: Caller
    filters: list[tuple[str, str]]
    sort: SortSpec
    limit: int
    after: dict[str, Any] | None
    deadline: float


def fetch_pod(query: PodQuery, pod: Pod) -> list[dict[str, Any]]:
    """The pod's first ``limit`` servers after the marker (and any tied with the last)."""
    key = functools.cmp_to_key(query.sort.compare)
    collected: list[dict[str, Any]] = []
    pod_marker: str | None = None
    page_size = max(query.limit, 1) + 1
    while True:
        params = [*query.filters, *query.sort.params(), ("limit", str(page_size))]
        if pod_marker is not None:
            params.append(("marker", pod_marker))
        remaining = query.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(pod.region_name)
        answer = query.calls.call(
            query.who, pod.region_name, "GET", "/servers/detail", params=params, timeout=remaining
        )
        page = answer.body.get("servers", [])
        for server in page:
            if query.after is None or query.sort.compare(server, query.after) > 0:
                collected.append(server)
        if len(page) < page_size:
            break
        pod_marker = page[-1]["id"]
        boundary = collected[query.limit - 1] if len(collected) > query.limit else None
        if boundary is not None and query.sort.coarse(page[-1]) != query.sort.coarse(boundary):
            break
    collected.sort(key=key)
    return collected


def _marker_server(calls: CallerPodCalls, who: Caller, marker: str) -> dict[str, Any]:
    """The marker server as its pod shows it (for its sort values); 400 if unknown."""
    with transaction() as session:
        found = [
            routing
            for routing in routings.find_routings_for_top(session, marker)
            if routing.resource_type == "server" and routing.bottom_id
        ]
        pod_id = found[0].pod_id if found else None
    pods = {pod.pod_id: pod for pod in bottom_pods()}
    if pod_id is None or pod_id not in pods:
        raise BadRequest(f"marker [{marker}] not found")
    try:
        answer = calls.call(who, pods[pod_id].region_name, "GET", f"/servers/{marker}")
    except PodFault as exc:
        if exc.code == 404:
            raise BadRequest(f"marker [{marker}] not found") from exc
        raise
    return answer.body["server"]


def _unknown_records(pods: list[Pod], who: Caller, detail: bool, view: ViewContext) -> list:
    """UNKNOWN records of the servers routed to pods that did not answer."""
    all_projects = who.is_admin and request.args.get("all_tenants") not in (None, "0", "false")
    records = []
    with transaction() as session:
        for pod in pods:
            for routing in routings.list_routings(
                session,
                resource_type="server",
                pod_id=pod.pod_id,
                project_id=None if all_projects else who.project_id,
            ):
                records.append(
                    unknown_server(
                        routing.top_id,
                        routing.project_id,
                        routing.created_at.isoformat(timespec="seconds") + "Z",
                        pod.az_name,
                        detail,
                        view,
                    )
                )
    return records


def merge(
    pages: dict[str, list[dict[str, Any]]], sort: SortSpec, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` servers of every pod's sorted page, in the gateway's order."""
    key = functools.cmp_to_key(sort.compare)
    merged = heapq.merge(*pages.values(), key=key)
    return [server for _, server in zip(range(limit), merged, strict=False)]


def list_servers(detail: bool, view: ViewContext) -> Response:
    """The merged list for the current request."""
    args = request.args
    who = caller()
    app_state = state()
    sort = SortSpec.from_args(args.getlist("sort_key"), args.getlist("sort_dir"))
    limit = _limit(args)
    marker = args.get("marker")
    after = _marker_server(app_state.calls, who, marker) if marker else None
    filters = [(name, value) for name, value in args.items(multi=True) if name not in _RESERVED]
    deadline = time.monotonic() + app_state.conf.compute.list_deadline
    query = PodQuery(app_state.calls, who, filters, sort, limit, after, deadline)
    pods = bottom_pods()
    futures = {_executor.submit(fetch_pod, query, pod): pod for pod in pods} if limit else {}
    wait(futures, timeout=max(deadline - time.monotonic(), 0))
    pages: dict[str, list[dict[str, Any]]] = {}
    down: list[Pod] = []
    for future, pod in futures.items():
        if not future.done():
            down.append(pod)
            continue
        error = future.exception()
        if isinstance(error, PodFault) and error.code < 500:
            raise error
        if error is not None:
            down.append(pod)
            continue
        pages[pod.region_name] = future.result()
    servers = merge(pages, sort, limit)
    rendered = [_render(server, detail, view) for server in servers]
    if down:
        regions = ", ".join(pod.region_name for pod in down)
        if who.microversion.at_least(UNKNOWN_RECORDS_FROM) and marker is None:
            rendered += _unknown_records(down, who, detail, view)[: max(limit - len(rendered), 0)]
            LOG.warning("server list: pods down, UNKNOWN records returned pods=%s", regions)
        else:
            LOG.warning("server list: pods down, their servers left out pods=%s", regions)
    body: dict[str, Any] = {"servers": rendered}
    if limit and len(servers) == limit:
        query_args = [(name, value) for name, value in args.items(multi=True) if name != "marker"]
        query_args.append(("marker", servers[-1]["id"]))
        href = f"{view.versioned_url}/servers{'/detail' if detail else ''}?{urlencode(query_args)}"
        body["servers_links"] = [{"rel": "next", "href": href}]
    return jsonify(body)


def _render(server: dict[str, Any], detail: bool, view: ViewContext) -> dict[str, Any]:
    """A detailed pod server as the caller sees it in this list."""
    shown = server_view(server, view)
    if detail:
        return shown
    return {"id": shown["id"], "name": shown.get("name"), "links": shown.get("links", [])}

"""``GET /servers`` and ``/servers/detail`` over every pod, through the cross-pod lister.

The lister (``tricircle.pods.lister``) does the fan-out with a deadline, the heap merge on the
sort keys plus ``uuid``, the marker translation and next-page detection; the hooks below say how
to ask one pod for servers (with the caller's token, filters and microversion), where a marker
server lives (the routing table) and what a server of an unavailable pod looks like (``UNKNOWN``
records from the routing table, shown from microversion 2.69 on; below it the servers are left
out and the omission is logged). A filter naming a flavor is translated per pod to the pod's copy
of the top flavor (``tricircle.pods.filters``); a pod without a copy has no server of that flavor
and is not asked. Images need no translation: every pod uses the one shared Glance, so an image's
ID is the same everywhere; Nova's list has no filter naming a network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent import futures
from typing import Any, ClassVar

from flask import Response, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import MultiDict

from tricircle.api import validation
from tricircle.api.compute.state import state
from tricircle.api.compute.views import ViewContext, server_view, unknown_server
from tricircle.api.errors import BadRequest, InvalidField
from tricircle.api.gateway import ALL_PROJECTS, bottom_pods, caller, list_scope
from tricircle.api.json_bodies import json_response
from tricircle.api.podcalls import Caller, CallerPodCalls
from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import filters, lister
from tricircle.pods.client import PodClientError, PodServiceNotFound, PodUnreachable
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

SERVER = ResourceType.SERVER
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
# The caller's query parameters (repeatable, in order) travel to each pod under this filter.
FILTER_PAIRS = "pairs"
# Filters naming a top resource that each pod knows by its own copy's ID.
TOP_ID_FILTERS = {"flavor": ResourceType.FLAVOR}


class ServerListHooks(lister.ListHooks):
    """How the lister reaches servers in pods, for one caller's request."""

    resource = "servers"
    id_key: ClassVar[str] = "id"
    id_sort_key: ClassVar[str] = "uuid"
    sort_fields: ClassVar[Mapping[str, str]] = SORT_FIELDS
    fatal_errors: ClassVar[tuple[type[Exception], ...]] = (PodClientError,)
    silent_errors: ClassVar[tuple[type[Exception], ...]] = (PodUnreachable, PodServiceNotFound)
    coarse_keys: ClassVar[frozenset[str]] = frozenset(lister.TIMESTAMP_KEYS)

    def __init__(
        self,
        calls: CallerPodCalls,
        who: Caller,
        session_factory: sessionmaker[Session],
        view: ViewContext,
        all_projects: bool,
        timeout: float,
    ) -> None:
        self.calls = calls
        self.who = who
        self.session_factory = session_factory
        self.view = view
        self.all_projects = all_projects
        self.timeout = timeout
        self.top_id_filters = filters.TopIdFilters(session_factory, TOP_ID_FILTERS)

    def pod_filters(self, pod: Pod, query_filters: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The caller's filters with top flavor IDs made ``pod``'s; None if it has no copy."""
        pairs = self.top_id_filters.for_pod(pod, query_filters[FILTER_PAIRS])
        return None if pairs is None else {FILTER_PAIRS: pairs}

    def fetch_page(self, pod: Pod, query: lister.PodQuery) -> Sequence[dict[str, Any]]:
        """The pod's detailed servers, sorted as asked, after a native marker."""
        params = list(query.filters[FILTER_PAIRS])
        for key in query.sort_keys:
            params += [("sort_key", key.name), ("sort_dir", key.direction)]
        params.append(("limit", str(query.limit)))
        if query.marker is not None:
            params.append(("marker", query.marker))
        answer = self.calls.call(
            self.who, pod.region_name, "GET", "/servers/detail", params=params, timeout=self.timeout
        )
        return answer.body["servers"]

    def find_marker_pod(self, marker: str) -> Pod | None:
        """The pod the routing table names for the marker server."""
        with self.session_factory() as session:
            return routings.routed_pod(session, marker, SERVER)

    def fetch_record(self, pod: Pod, record_id: str) -> dict[str, Any] | None:
        """The marker server as its pod shows it, or None if the pod no longer has it."""
        try:
            answer = self.calls.call(
                self.who,
                pod.region_name,
                "GET",
                f"/servers/{segment(record_id)}",
                timeout=self.timeout,
            )
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise
        return answer.body["server"]

    def unknown_records(self, pod: Pod, query: lister.PodQuery) -> Sequence[dict[str, Any]]:
        """UNKNOWN records of the caller's servers routed to ``pod`` (created = routing time)."""
        with self.session_factory() as session:
            rows = routings.list_routings(
                session,
                resource_type=SERVER,
                pod_id=pod.pod_id,
                project_id=None if self.all_projects else self.who.project_id,
            )
        return [
            unknown_server(
                row.top_id,
                row.project_id,
                row.created_at.isoformat(timespec="seconds") + "Z",
                pod.az_name,
                True,
                self.view,
            )
            for row in rows
        ]


def sort_keys(args: MultiDict[str, str]) -> tuple[lister.SortKey, ...]:
    """Nova's sort parameters (``id`` meaning ``uuid``), completed with Nova's defaults."""
    names = ["uuid" if key == "id" else key for key in args.getlist("sort_key")]
    for name in names:
        if name not in SORT_FIELDS:
            raise InvalidField("sort_key", f"{name} is not a supported sort key")
    try:
        return lister.complete_sort_keys(
            names, args.getlist("sort_dir"), default_keys=("created_at", "uuid")
        )
    except lister.InvalidSort as exc:
        raise BadRequest(str(exc)) from exc


def list_servers(detail: bool, view: ViewContext) -> Response:
    """One page of the caller's servers over every pod, with ``servers_links``."""
    args = request.args
    who = caller()
    app_state = state()
    deadline = app_state.conf.compute.list_deadline
    all_projects = who.is_admin and args.get("all_tenants") not in (None, "0", "false", "False")
    hooks = ServerListHooks(
        app_state.calls, who, app_state.session_factory, view, all_projects, deadline
    )
    pairs = [
        (name, value)
        for name, value in args.items(multi=True)
        if name not in validation.PAGING_PARAMS
    ]
    unknown = who.microversion.at_least(UNKNOWN_RECORDS_FROM)
    page = validation.parse_page(args)
    scope = ALL_PROJECTS if all_projects else who.project_id
    prefetch = app_state.network_names.prefetch(scope)
    try:
        result = lister.CrossPodLister(
            hooks, app_state.pod_pool, continuations=app_state.caches.list_continuations
        ).list(
            bottom_pods(),
            sort_keys=sort_keys(args),
            limit=page.limit,
            timeout=deadline,
            marker=page.marker,
            filters={FILTER_PAIRS: pairs},
            include_unknown=unknown,
            scope=list_scope(who),
        )
    except lister.MarkerNotFound as exc:
        raise BadRequest(str(exc)) from exc
    for missing in result.unavailable:
        LOG.warning(
            "server list: pod %s %s (%s), its servers %s",
            missing.pod.region_name,
            missing.reason,
            missing.detail,
            "shown as UNKNOWN" if unknown else "left out",
        )
    if prefetch is not None:
        futures.wait([prefetch], timeout=deadline)
    shown_networks = {name for server in result.records for name in server.get("addresses") or {}}
    view.top_network_names(shown_networks)
    app_state.network_names.remember(scope, shown_networks)
    body: dict[str, Any] = {"servers": [_render(s, detail, view) for s in result.records]}
    if result.has_next and result.next_marker is not None:
        body["servers_links"] = [
            {"rel": "next", "href": lister.next_link(request.url, result.next_marker)}
        ]
    return json_response(body)


def _render(server: dict[str, Any], detail: bool, view: ViewContext) -> dict[str, Any]:
    """A pod's detailed server (or a placeholder) as the caller sees it in this list."""
    if server.get("status") == "UNKNOWN" and "flavor" not in server:
        return server if detail else {key: server[key] for key in ("id", "status", "links")}
    shown = server_view(server, view)
    if detail:
        return shown
    return {"id": shown["id"], "name": shown.get("name"), "links": shown.get("links", [])}

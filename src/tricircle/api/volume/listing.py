"""Volumes and snapshots listed across pods with the generic CrossPodLister.

The hooks ask a pod's Cinder for a sorted page of ``/<collection>/detail`` as the caller, find a
marker's pod in the routing table and read the marker's record from it. A pod that fails or does
not answer within ``[volume_api] list_timeout`` is left out and logged (Cinder's records have no
``UNKNOWN`` placeholder form); a pod's 400 (a bad filter or sort key) is the caller's 400.
A marker no pod knows is Cinder's 404 for the resource. Pages carry Cinder's next link whenever
they are full (``len == limit``), so a last page that is exactly full links to an empty one.
``offset`` skips that many records of the merged, sorted stream (after the marker, if any): the
lister reads ``offset + limit`` records from each pod, so ``offset`` is bounded by MAX_OFFSET.
A filter naming a volume type (``volume_type_id``, an admin's filter) is translated per pod to
the pod's copy of the top type (``tricircle.pods.filters``); a pod without a copy holds no volume
of that type and is not asked.
Each page is made what users see on the pool's thread as it arrives, one copy per record (top
AZ, top type IDs from the gateway's cache, links to the gateway), and the merged page is encoded
by orjson (``json_bodies``): warm, nothing but the pods is asked, and nothing after they answered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import request

from tricircle.api import gateway, validation
from tricircle.api.volume import common, forwarding, routing, types
from tricircle.api.volume.faults import bad_request, not_found
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import filters, lister
from tricircle.pods.client import PodClientError, PodServiceNotFound, PodUnreachable
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

PAGING_PARAMS = validation.PAGING_PARAMS | {"offset", "sort"}
# The deepest offset served: each pod is read for offset + limit records.
MAX_OFFSET = 10000
# Filters naming a top resource that each pod knows by its own copy's ID.
TOP_ID_FILTERS = {"volume_type_id": ResourceType.VOLUME_TYPE}


class BottomBadRequest(Exception):
    """A pod refused the list itself (400): the caller's filters or sort are wrong."""


@dataclass(frozen=True)
class ListRequest:
    """What the caller asked: filters for the pods, sort keys, page size and marker."""

    filters: dict[str, str]
    sort_keys: tuple[lister.SortKey, ...]
    limit: int
    marker: str | None
    offset: int = 0


def parse_list_request() -> ListRequest:
    """The list parameters of the current request, refused with Cinder's 400 when invalid."""
    args = request.args
    page = validation.parse_page(args)
    return ListRequest(
        filters={key: value for key, value in args.items() if key not in PAGING_PARAMS},
        sort_keys=_sort_keys(args.get("sort"), page),
        limit=page.limit,
        marker=page.marker,
        offset=_offset(args.get("offset")),
    )


def _offset(raw: str | None) -> int:
    """``offset`` as Cinder checks it (an integer, at least 0), at most MAX_OFFSET."""
    if raw is None:
        return 0
    try:
        offset = int(raw)
    except ValueError as exc:
        raise bad_request("offset must be an integer") from exc
    if offset < 0:
        raise bad_request("offset must be >= 0")
    if offset > MAX_OFFSET:
        raise bad_request(f"offset must be <= {MAX_OFFSET}")
    return offset


def _sort_keys(sort: str | None, page: validation.Page) -> tuple[lister.SortKey, ...]:
    """``sort=k1:asc,k2`` or ``sort_key``/``sort_dir`` (Cinder's rules; default newest first)."""
    if sort and (page.sort_keys or page.sort_dirs):
        raise bad_request(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with "
            "the 'sort' parameter."
        )
    keys: list[str] = []
    directions: list[str] = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            keys.append(key.strip())
            directions.append((direction or "desc").strip().lower())
    elif page.sort_keys:
        keys = page.sort_keys
        directions = [direction.lower() for direction in page.sort_dirs]
    if any(not key for key in keys):
        raise bad_request("Invalid sort key: an empty key was given")
    try:
        return lister.complete_sort_keys(keys, directions)
    except lister.InvalidSort as exc:
        raise bad_request(str(exc)) from exc


class CinderListHooks(lister.ListHooks):
    """How to page one collection of the pods' Cinder, as the caller, from worker threads."""

    fatal_errors = (BottomBadRequest,)
    silent_errors = (PodUnreachable, PodServiceNotFound)

    def __init__(self, collection: str, resource_type: ResourceType) -> None:
        self.resource = self.collection = collection
        self.resource_type = resource_type
        self.state = common.state()
        self.who = gateway.caller()
        self.top_root = gateway.root_url()
        self.top_id_filters = filters.TopIdFilters(self.state.session_factory, TOP_ID_FILTERS)

    def pod_filters(self, pod: Pod, query_filters: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The caller's filters with top type IDs made ``pod``'s; None if it has no copy."""
        pairs = self.top_id_filters.for_pod(pod, list(query_filters.items()))
        return None if pairs is None else dict(pairs)

    def _get(self, pod: Pod, path: str, params: dict[str, Any] | None = None) -> Any:
        """The pod's answer to ``GET path`` as the caller; its 400 is BottomBadRequest."""
        try:
            return self.state.calls.call(self.who, pod.region_name, "GET", path, params=params).body
        except PodClientError as exc:
            if exc.status == 400:
                raise BottomBadRequest(exc.pod_message) from exc
            raise

    def fetch_page(self, pod: Pod, query: lister.PodQuery) -> Sequence[lister.Record]:
        params: dict[str, Any] = {
            **query.filters,
            "sort": ",".join(f"{key.name}:{key.direction}" for key in query.sort_keys),
            "limit": query.limit,
        }
        if query.marker is not None:
            params["marker"] = query.marker
        records = self._get(pod, f"/{self.collection}/detail", params)[self.collection]
        return self._top_records(pod, records)

    def find_marker_pod(self, marker: str) -> Pod | None:
        return routing.pod_of(marker, self.resource_type)

    def fetch_record(self, pod: Pod, record_id: str) -> lister.Record | None:
        try:
            body = self._get(pod, f"/{self.collection}/{segment(record_id)}")
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise
        return self._top_records(pod, [next(iter(body.values()))])[0]

    def _top_records(self, pod: Pod, records: list[Any]) -> list[Any]:
        """``pod``'s records as users see them, each copied once: its AZ (when the pod's own)
        shown as the top AZ, its type copy's ID as the top type's, its ``links`` moved to the
        gateway. Only these fields are rewritten (Cinder's records carry no nested link or AZ);
        what is not a record is left for the lister to refuse."""
        shown = [dict(record) if isinstance(record, dict) else record for record in records]
        found = [record for record in shown if isinstance(record, dict)]
        type_ids = types.top_type_ids({r.get("volume_type_id") for r in found}, pod, self.state)
        endpoint = self.state.calls.endpoint(pod.region_name)
        links = common.links_to_gateway([r.get("links") for r in found], endpoint, self.top_root)
        pod_az_name, top_az_name = pod.pod_az_name, pod.az_name
        for record, record_links in zip(found, links, strict=True):
            if record.get("availability_zone") == pod_az_name:
                record["availability_zone"] = top_az_name
            if record.get("volume_type_id") in type_ids:
                record["volume_type_id"] = type_ids[record["volume_type_id"]]
            if record_links is not None:
                record["links"] = record_links
        return shown


def list_across_pods(collection: str, resource_type: ResourceType) -> tuple[list[dict], list[dict]]:
    """One page of the caller's ``collection`` from every pod, and its ``*_links``."""
    listing = parse_list_request()
    pods = gateway.bottom_pods()
    hooks = CinderListHooks(collection, resource_type)
    state = common.state()
    try:
        result = lister.CrossPodLister(
            hooks, state.pod_pool, continuations=state.caches.list_continuations
        ).list(
            pods,
            sort_keys=listing.sort_keys,
            limit=listing.offset + listing.limit,
            timeout=state.conf.volume_api.list_timeout,
            marker=listing.marker,
            filters=listing.filters,
            scope=gateway.list_scope(hooks.who),
        )
    except lister.MarkerNotFound as exc:
        message = forwarding.NOT_FOUND_MESSAGES[resource_type].format(id=exc.marker)
        raise not_found(message) from exc
    except BottomBadRequest as exc:
        raise bad_request(str(exc)) from exc
    for unavailable in result.unavailable:
        LOG.warning(
            "%s list left out pod %s (%s: %s)",
            collection,
            unavailable.pod.region_name,
            unavailable.reason,
            unavailable.detail,
        )
    records = result.records[listing.offset :]
    links = []
    if records and len(records) >= listing.limit:
        marker = str(records[-1][hooks.id_key])
        links = [{"rel": "next", "href": lister.next_link(request.url, marker)}]
    return records, links

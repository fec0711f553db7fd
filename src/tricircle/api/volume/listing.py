"""Volumes and snapshots listed across pods: asked in parallel, merge-sorted, paged by marker.

Every pod is asked for its detailed list (filters and sort passed through) within one deadline; a
pod that fails or does not answer in time is left out and logged, never failing the whole list.
The pods' sorted answers are merged on the sort keys plus ``id``, then the page after ``marker``
(a top ID) of ``limit`` items is cut, with a ``next`` link when more remain.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import g, request

from tricircle.api.volume import common
from tricircle.api.volume.faults import bad_request
from tricircle.db.models import Pod
from tricircle.pods.client import PodCallError

LOG = logging.getLogger(__name__)

DEFAULT_SORT = [("created_at", "desc"), ("id", "desc")]
MAX_LIMIT = 1000
PAGING_PARAMS = ("limit", "marker", "offset", "sort", "sort_key", "sort_dir")


@dataclass(frozen=True)
class ListRequest:
    """What the caller asked: filters for the pods, sort keys, page size and marker."""

    filters: dict[str, str]
    sort: list[tuple[str, str]]
    limit: int
    marker: str | None


def parse_list_request() -> ListRequest:
    """The list parameters of the current request, refused with Cinder's 400 when invalid."""
    args = request.args
    limit_text = args.get("limit")
    limit = MAX_LIMIT
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError as exc:
            raise bad_request("limit param must be an integer") from exc
        if limit < 0:
            raise bad_request("limit param must be positive")
        limit = min(limit, MAX_LIMIT)
    return ListRequest(
        filters={key: value for key, value in args.items() if key not in PAGING_PARAMS},
        sort=_sort_keys(args.get("sort"), args.get("sort_key"), args.get("sort_dir")),
        limit=limit,
        marker=args.get("marker"),
    )


def _sort_keys(
    sort: str | None, sort_key: str | None, sort_dir: str | None
) -> list[tuple[str, str]]:
    """``sort=k1:asc,k2`` or ``sort_key``/``sort_dir`` as (key, direction), ``id`` last."""
    if sort and (sort_key or sort_dir):
        raise bad_request(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with "
            "the 'sort' parameter."
        )
    keys: list[tuple[str, str]] = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key.strip(), (direction or "desc").strip().lower()))
    elif sort_key:
        keys.append((sort_key, (sort_dir or "desc").lower()))
    else:
        keys = list(DEFAULT_SORT)
    for key, direction in keys:
        if not key or direction not in ("asc", "desc"):
            raise bad_request(f"Invalid sort key or direction: {key}:{direction}")
    if all(key != "id" for key, _ in keys):
        keys.append(("id", keys[-1][1]))
    return keys


def _compare(sort: list[tuple[str, str]]) -> Callable[[dict, dict], int]:
    """A comparison of two records on the sort keys (None sorts before any value)."""

    def compare(left: dict, right: dict) -> int:
        for key, direction in sort:
            a, b = left.get(key), right.get(key)
            if a == b:
                continue
            if a is None or b is None:
                order = -1 if a is None else 1
            elif type(a) is type(b):
                order = -1 if a < b else 1
            else:
                order = -1 if str(a) < str(b) else 1
            return order if direction == "asc" else -order
        return 0

    return compare


def fetch_from_pods(
    pods: list[Pod], path: str, collection: str, params: dict[str, str], deadline: float
) -> list[tuple[Pod, dict]]:
    """Every record of ``collection`` from each pod that answers within ``deadline`` seconds."""
    token = request.headers.get("X-Auth-Token")
    microversion = str(g.api_version)
    state = common.state()
    top_root = common.gateway_root()

    def ask(pod: Pod) -> list[dict]:
        client = state.pods.caller_client(pod.region_name, token)
        answer = client.call("GET", path, params=params, microversion=microversion)
        return common.links_to_gateway(answer.body, client, top_root)[collection]

    pool = ThreadPoolExecutor(max_workers=max(1, len(pods)))
    try:
        futures = {pool.submit(ask, pod): pod for pod in pods}
        done, late = wait(futures, timeout=deadline)
        records: list[tuple[Pod, dict]] = []
        for future, pod in futures.items():
            if future in late:
                LOG.warning(
                    "pod %s did not list %s within %.1fs; left out",
                    pod.region_name,
                    collection,
                    deadline,
                )
                continue
            try:
                records += [(pod, record) for record in future.result()]
            except PodCallError as exc:
                LOG.warning(
                    "pod %s could not list %s: %s; left out", pod.region_name, collection, exc
                )
        return records
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def page(
    records: list[tuple[Pod, dict]], listing: ListRequest, collection: str
) -> tuple[list[tuple[Pod, dict]], list[dict[str, str]]]:
    """The merged, sorted page after the marker, and its ``*_links`` (a next link if more)."""
    key = functools.cmp_to_key(_compare(listing.sort))
    ordered = sorted(records, key=lambda pair: key(pair[1]))
    start = 0
    if listing.marker is not None:
        positions = [
            i for i, (_, record) in enumerate(ordered) if record.get("id") == listing.marker
        ]
        if not positions:
            raise bad_request(f"Marker {listing.marker} could not be found.")
        start = positions[0] + 1
    chosen = ordered[start : start + listing.limit]
    links: list[dict[str, str]] = []
    if chosen and start + listing.limit < len(ordered):
        query = request.args.to_dict()
        query["marker"] = chosen[-1][1]["id"]
        links = [{"rel": "next", "href": f"{request.base_url}?{urlencode(query)}"}]
    return chosen, links

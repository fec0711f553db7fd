"""Sorting, merging and per-pod paging of the cross-pod server list."""

from __future__ import annotations

import time

import pytest

from tricircle.api.compute import server_list
from tricircle.api.compute.microversion import Microversion
from tricircle.api.compute.podcalls import Caller, PodAnswer
from tricircle.api.compute.server_list import PodQuery, SortSpec
from tricircle.api.errors import BadRequest
from tricircle.db.models import Pod

WHO = Caller("token", Microversion(2, 1), "p1", "u1", False)


def test_default_sort_is_created_at_then_uuid_descending():
    assert SortSpec.from_args([], []).keys == (("created_at", "desc"), ("uuid", "desc"))
    assert SortSpec.from_args(["display_name"], ["asc"]).keys == (
        ("display_name", "asc"),
        ("uuid", "asc"),
    )
    assert SortSpec.from_args(["id"], ["asc"]).keys == (("uuid", "asc"),)


def test_bad_sort_parameters_are_400():
    with pytest.raises(BadRequest):
        SortSpec.from_args(["nonsense"], [])
    with pytest.raises(BadRequest):
        SortSpec.from_args(["display_name"], ["sideways"])
    with pytest.raises(BadRequest):
        SortSpec.from_args([], ["asc"])


def test_merge_interleaves_pods_in_order_and_cuts_at_limit():
    sort = SortSpec.from_args(["display_name"], ["asc"])
    pages = {
        "Pod1": [{"id": "a", "name": "vm1"}, {"id": "c", "name": "vm3"}],
        "Pod2": [{"id": "b", "name": "vm2"}, {"id": "d", "name": "vm3"}, {"id": "e", "name": "x"}],
    }
    merged = server_list.merge(pages, sort, 4)
    assert [server["id"] for server in merged] == ["a", "b", "c", "d"]


def test_none_sorts_first_and_mixed_types_do_not_fail():
    sort = SortSpec.from_args(["task_state"], ["asc"])
    servers = [
        {"id": "1", "OS-EXT-STS:task_state": "spawning"},
        {"id": "2", "OS-EXT-STS:task_state": None},
    ]
    assert sorted(servers, key=server_list.functools.cmp_to_key(sort.compare))[0]["id"] == "2"


class FakeCalls:
    """A pod serving ``servers`` in the pod's own order with marker paging."""

    def __init__(self, servers: list[dict]) -> None:
        self.servers = servers
        self.requests: list[dict] = []

    def call(self, who, region_name, method, path, *, params=None, timeout=None, **_kw):
        query = dict(params)
        self.requests.append(query)
        start = 0
        if "marker" in query:
            start = [server["id"] for server in self.servers].index(query["marker"]) + 1
        page = self.servers[start : start + int(query["limit"])]
        return PodAnswer(200, {"servers": page}, {})


def _query(calls, limit, after=None, sort=None) -> PodQuery:
    return PodQuery(
        calls,  # type: ignore[arg-type]
        WHO,
        [],
        sort or SortSpec.from_args([], []),
        limit,
        after,
        time.monotonic() + 5,
    )


def test_a_page_is_read_past_its_boundary_while_timestamps_tie():
    # The pod sorts on sub-second timestamps; its answer shows seconds, so ids look unsorted.
    servers = [
        {"id": "a", "created": "2026-11-25T00:00:02Z"},
        {"id": "c", "created": "2026-11-25T00:00:01Z"},
        {"id": "b", "created": "2026-11-25T00:00:01Z"},
        {"id": "d", "created": "2026-11-25T00:00:01Z"},
        {"id": "z", "created": "2026-11-25T00:00:00Z"},
    ]
    calls = FakeCalls(servers)
    got = server_list.fetch_pod(_query(calls, 2), Pod(region_name="Pod1"))
    assert [server["id"] for server in got[:4]] == ["a", "d", "c", "b"]
    assert len(calls.requests) >= 2


def test_servers_up_to_the_marker_are_skipped():
    sort = SortSpec.from_args(["display_name"], ["asc"])
    servers = [{"id": str(i), "name": f"vm{i}"} for i in range(6)]
    calls = FakeCalls(servers)
    got = server_list.fetch_pod(
        _query(calls, 2, after={"id": "2", "name": "vm2"}, sort=sort), Pod(region_name="Pod1")
    )
    assert [server["id"] for server in got[:2]] == ["3", "4"]

"""The cross-pod lister against fake pods: merge order, markers, pages, slow and failing pods."""

from __future__ import annotations

import datetime as dt
import functools
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tricircle.cache import TtlCache
from tricircle.db.models import Pod
from tricircle.pods import lister
from tricircle.pods.fanout import PodCallPool
from tricircle.pods.lister import (
    CrossPodLister,
    ListHooks,
    MarkerNotFound,
    PodFailed,
    PodQuery,
    SortKey,
    complete_sort_keys,
    next_link,
)

NAMES = ["alpha", "beta", "gamma", None]
POOL = PodCallPool(16)


class PodDown(Exception):
    """A fake pod's 5xx."""


class BadFilter(Exception):
    """A fake pod's 400."""


def compare_like_postgresql(left: dict, right: dict, sort_keys: Sequence[SortKey]) -> int:
    """How a pod's PostgreSQL orders two records: NULL above every value."""
    for key in sort_keys:
        a, b = left.get(key.name), right.get(key.name)
        if a == b:
            continue
        if a is None or b is None:
            result = 1 if a is None else -1
        else:
            result = 1 if a > b else -1
        return -result if key.descending else result
    return 0


def pod_sorted(records: list[dict], sort_keys: Sequence[SortKey]) -> list[dict]:
    compare = functools.partial(compare_like_postgresql, sort_keys=sort_keys)
    return sorted(records, key=functools.cmp_to_key(compare))


class FakeHooks(ListHooks):
    """Pods as in-memory record lists that sort and page like Nova does."""

    fatal_errors = (BadFilter,)

    def __init__(self, records_by_pod: dict[str, list[dict]]) -> None:
        self.records_by_pod = records_by_pod
        self.pods = {pod_id: make_pod(pod_id) for pod_id in records_by_pod}
        self.slow: dict[str, threading.Event] = {}
        self.failing: set[str] = set()
        self.calls: list[tuple[str, int, str | None]] = []
        self.placeholders: dict[str, list[dict]] = {}
        self.record_fetches = 0

    def fetch_page(self, pod: Pod, query: PodQuery) -> list[dict]:
        self.calls.append((pod.region_name, query.limit, query.marker))
        self.last_query = query
        if pod.pod_id in self.slow:
            self.slow[pod.pod_id].wait(30)
        if pod.pod_id in self.failing:
            raise PodDown(f"{pod.region_name} answered 500")
        if query.filters.get("bad"):
            raise BadFilter("unknown filter")
        records = pod_sorted(self.records_by_pod[pod.pod_id], query.sort_keys)
        if query.marker is not None:
            ids = [record[self.id_sort_key] for record in records]
            records = records[ids.index(query.marker) + 1 :]
        return [dict(record) for record in records[: query.limit]]

    def find_marker_pod(self, marker: str) -> Pod | None:
        for pod_id, records in self.records_by_pod.items():
            if any(record["id"] == marker for record in records):
                return self.pods[pod_id]
        for pod_id, placeholders in self.placeholders.items():
            if any(record["id"] == marker for record in placeholders):
                return self.pods[pod_id]
        return None

    def fetch_record(self, pod: Pod, record_id: str) -> dict | None:
        self.record_fetches += 1
        if pod.pod_id in self.slow:
            self.slow[pod.pod_id].wait(30)
        if pod.pod_id in self.failing:
            raise PodDown(f"{pod.region_name} answered 500")
        found = [r for r in self.records_by_pod[pod.pod_id] if r["id"] == record_id]
        return dict(found[0]) if found else None

    def unknown_records(self, pod: Pod, query: PodQuery) -> list[dict]:
        return self.placeholders.get(pod.pod_id, [])


def make_pod(pod_id: str) -> Pod:
    return Pod(pod_id=pod_id, region_name=pod_id, az_name="az1", is_enabled=True)


def make_records(pod_id: str, count: int, seed: int) -> list[dict]:
    chooser = random.Random(seed)
    return [
        {
            "id": f"{pod_id}-{index:03d}",
            "name": chooser.choice(NAMES),
            "size": chooser.randint(1, 3),
            "created_at": f"2026-11-2{chooser.randint(0, 2)}T00:00:0{chooser.randint(0, 9)}Z",
        }
        for index in range(count)
    ]


@pytest.fixture
def hooks():
    fake = FakeHooks(
        {
            "Pod1": make_records("Pod1", 13, seed=1),
            "Pod2": make_records("Pod2", 7, seed=2),
            "Pod3": make_records("Pod3", 0, seed=3),
            "Pod4": make_records("Pod4", 21, seed=4),
        }
    )
    yield fake
    for event in fake.slow.values():
        event.set()


def all_pods(hooks: FakeHooks) -> list[Pod]:
    return list(hooks.pods.values())


def everything(hooks: FakeHooks, sort_keys: Sequence[SortKey]) -> list[str]:
    """What one big pod holding every record would list."""
    union = [record for records in hooks.records_by_pod.values() for record in records]
    return [record["id"] for record in pod_sorted(union, sort_keys)]


def all_pages(hooks: FakeHooks, sort_keys, limit: int, **kwargs: Any) -> list[list[str]]:
    """Follow next markers from the first page to the last."""
    pages, marker = [], None
    for _ in range(100):
        result = CrossPodLister(hooks, POOL, **kwargs).list(
            all_pods(hooks), sort_keys=sort_keys, limit=limit, marker=marker, timeout=5
        )
        pages.append([record["id"] for record in result.records])
        assert result.unavailable == ()
        if not result.has_next:
            assert result.next_marker is None
            return pages
        assert result.next_marker == result.records[-1]["id"]
        marker = result.next_marker
    pytest.fail("pagination did not end")


SORTS = [
    complete_sort_keys([], []),
    complete_sort_keys(["name"], ["asc"]),
    complete_sort_keys(["name", "size"], ["desc", "asc"]),
    complete_sort_keys(["size", "name", "created_at"], ["asc", "desc", "asc"]),
    (SortKey("id"),),
]


@pytest.mark.parametrize("sort_keys", SORTS, ids=lambda keys: ",".join(k.name for k in keys))
def test_merge_matches_one_big_sorted_list(hooks, sort_keys):
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=1000, timeout=5
    )
    assert [record["id"] for record in result.records] == everything(hooks, sort_keys)
    assert not result.has_next and result.next_marker is None
    assert len(hooks.calls) == 4, "one request per pod when the limit covers everything"


@pytest.mark.parametrize("sort_keys", SORTS, ids=lambda keys: ",".join(k.name for k in keys))
@pytest.mark.parametrize("limit", [1, 2, 5, 7, 41])
def test_pages_concatenate_to_the_whole_list(hooks, sort_keys, limit):
    pages = all_pages(hooks, sort_keys, limit)
    assert [record_id for page in pages for record_id in page] == everything(hooks, sort_keys)
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit, "no empty last page: next-page detection is exact"


def test_small_pod_pages_are_followed(hooks):
    sort_keys = complete_sort_keys(["name"], ["desc"])
    pages = all_pages(hooks, sort_keys, 10, page_size=3)
    assert [record_id for page in pages for record_id in page] == everything(hooks, sort_keys)
    assert max(size for _, size, _ in hooks.calls) == 3


def test_id_is_appended_in_the_first_direction():
    records = {
        "Pod1": [{"id": "b", "size": 1}, {"id": "c", "size": 1}],
        "Pod2": [{"id": "a", "size": 1}],
    }
    fake = FakeHooks(records)
    result = CrossPodLister(fake, POOL).list(
        all_pods(fake), sort_keys=[SortKey("size", descending=True)], limit=10, timeout=5
    )
    assert [record["id"] for record in result.records] == ["c", "b", "a"]
    assert fake.last_query.sort_keys == (SortKey("size", True), SortKey("id", True))


def test_marker_in_each_pod_continues_right_after_it(hooks):
    sort_keys = complete_sort_keys(["name", "size"], ["asc", "desc"])
    expected = everything(hooks, sort_keys)
    for pod_id in ("Pod1", "Pod2", "Pod4"):
        marker = hooks.records_by_pod[pod_id][3]["id"]
        result = CrossPodLister(hooks, POOL).list(
            all_pods(hooks), sort_keys=sort_keys, limit=5, marker=marker, timeout=5
        )
        start = expected.index(marker) + 1
        assert [r["id"] for r in result.records] == expected[start : start + 5], pod_id
        native = [call for call in hooks.calls if call[2] == marker]
        assert [call[0] for call in native] == [pod_id], "only its own pod gets the marker"
        hooks.calls.clear()


def test_deep_marker_pages_other_pods_in_growing_pages(hooks):
    sort_keys = (SortKey("id"),)
    marker = "Pod4-019"
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=1, marker=marker, timeout=5
    )
    assert [r["id"] for r in result.records] == ["Pod4-020"]
    assert not result.has_next
    pod4_calls = [call for call in hooks.calls if call[0] == "Pod4"]
    assert pod4_calls == [("Pod4", 2, marker)]
    # Every Pod1 record sorts before the marker: paged through in doubling pages, then dropped.
    assert [size for pod, size, _ in hooks.calls if pod == "Pod1"] == [2, 4, 8]
    assert hooks.record_fetches == 1

    hooks.calls.clear()
    marker = "Pod1-012"
    sort_keys = (SortKey("id", descending=True),)
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=2, marker=marker, timeout=5
    )
    assert [r["id"] for r in result.records] == ["Pod1-011", "Pod1-010"]
    # Pod4 sorts entirely before Pod1-012 in this order: its 21 records paged through in
    # pages of 3, 6, 12, and a last one that comes back short.
    assert [size for pod, size, _ in hooks.calls if pod == "Pod4"] == [3, 6, 12, 24]


def test_unknown_marker_is_marker_not_found(hooks):
    with pytest.raises(MarkerNotFound, match=r"marker \[nope\] not found"):
        CrossPodLister(hooks, POOL).list(
            all_pods(hooks), sort_keys=SORTS[0], limit=5, marker="nope", timeout=5
        )


def test_marker_its_pod_no_longer_has_is_marker_not_found(hooks):
    class Forgetful(FakeHooks):
        def fetch_record(self, pod, record_id):
            return None

    forgetful = Forgetful(hooks.records_by_pod)
    with pytest.raises(MarkerNotFound):
        CrossPodLister(forgetful, POOL).list(
            all_pods(forgetful), sort_keys=SORTS[0], limit=5, marker="Pod1-001", timeout=5
        )


def test_slow_pod_is_reported_and_does_not_stall_the_list(hooks):
    hooks.slow["Pod4"] = threading.Event()
    started = time.monotonic()
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=SORTS[1], limit=100, timeout=0.3
    )
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 + 0.2, f"took {elapsed:.2f}s"
    without_pod4 = [i for i in everything(hooks, SORTS[1]) if not i.startswith("Pod4")]
    assert [r["id"] for r in result.records] == without_pod4
    assert [(u.pod.region_name, u.reason) for u in result.unavailable] == [("Pod4", "timeout")]
    assert [pod.region_name for pod in result.timed_out] == ["Pod4"]


def test_slow_pod_placeholders_are_merged_when_asked(hooks):
    hooks.slow["Pod2"] = threading.Event()
    hooks.placeholders["Pod2"] = [
        {"id": "Pod2-x1", "status": "UNKNOWN", "created_at": "2026-11-20T00:00:00Z"},
        {"id": "Pod2-x0", "status": "UNKNOWN", "created_at": "2026-11-23T00:00:00+00:00"},
    ]
    sort_keys = complete_sort_keys([], [])  # created_at desc, id desc
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=100, timeout=0.3, include_unknown=True
    )
    ids = [r["id"] for r in result.records]
    assert ids[0] == "Pod2-x0" and ids[-1] == "Pod2-x1", ids
    assert not any(i.startswith("Pod2-0") for i in ids)
    assert len(ids) == 13 + 21 + 2


def test_failing_pod_is_reported_as_error(hooks):
    hooks.failing.add("Pod1")
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=SORTS[0], limit=100, timeout=5, include_unknown=True
    )
    assert len(result.records) == 7 + 21
    assert [(u.pod.region_name, u.reason) for u in result.unavailable] == [("Pod1", "error")]
    assert "Pod1 answered 500" in result.unavailable[0].detail


def test_failing_pod_fails_a_list_without_placeholders(hooks):
    """A pod's 5xx is never an empty success: without UNKNOWN records the list fails."""
    hooks.failing.add("Pod1")
    with pytest.raises(PodFailed) as raised:
        CrossPodLister(hooks, POOL).list(all_pods(hooks), sort_keys=SORTS[0], limit=100, timeout=5)
    assert raised.value.region_name == "Pod1"


def test_fatal_error_of_a_pod_is_raised(hooks):
    with pytest.raises(BadFilter):
        CrossPodLister(hooks, POOL).list(
            all_pods(hooks), sort_keys=SORTS[0], limit=10, timeout=5, filters={"bad": True}
        )


def test_pod_failing_while_paged_keeps_what_it_gave(hooks):
    class FailsSecondTime(FakeHooks):
        def fetch_page(self, pod, query):
            if pod.pod_id == "Pod4" and query.marker is not None:
                raise PodDown("Pod4 went away")
            return super().fetch_page(pod, query)

    fake = FailsSecondTime(hooks.records_by_pod)
    sort_keys = (SortKey("id"),)
    result = CrossPodLister(fake, POOL, page_size=4).list(
        all_pods(fake), sort_keys=sort_keys, limit=100, timeout=5, include_unknown=True
    )
    ids = [r["id"] for r in result.records]
    assert [i for i in ids if i.startswith("Pod4")] == [f"Pod4-00{n}" for n in range(4)]
    assert len(ids) == 13 + 7 + 4
    assert [(u.pod.region_name, u.reason) for u in result.unavailable] == [("Pod4", "error")]


@pytest.mark.parametrize("trouble", ["failing", "slow"])
def test_marker_in_an_unavailable_pod_is_placed_by_its_placeholder(hooks, trouble):
    if trouble == "failing":
        hooks.failing.add("Pod2")
    else:
        hooks.slow["Pod2"] = threading.Event()
    hooks.placeholders["Pod2"] = [
        {"id": "Pod2-003", "created_at": "2026-11-21T00:00:05Z"},
        {"id": "Pod2-004", "created_at": "2026-11-21T00:00:03Z"},
    ]
    sort_keys = complete_sort_keys([], [])
    started = time.monotonic()
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks),
        sort_keys=sort_keys,
        limit=100,
        marker="Pod2-003",
        timeout=0.3,
        include_unknown=True,
    )
    assert time.monotonic() - started < 0.5
    marker_position = ("2026-11-21T00:00:05Z", "Pod2-003")
    others = [
        record
        for pod_id in ("Pod1", "Pod4")
        for record in hooks.records_by_pod[pod_id]
        if (record["created_at"], record["id"]) < marker_position
    ]
    expected = [r["id"] for r in pod_sorted([*others, hooks.placeholders["Pod2"][1]], sort_keys)]
    assert [r["id"] for r in result.records] == expected


def test_marker_in_a_failing_pod_without_placeholder_fails_the_list(hooks):
    hooks.failing.add("Pod2")
    with pytest.raises(PodFailed):
        CrossPodLister(hooks, POOL).list(
            all_pods(hooks), sort_keys=SORTS[0], limit=5, marker="Pod2-001", timeout=5
        )


def test_limit_zero_asks_no_pod(hooks):
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=SORTS[0], limit=0, timeout=5
    )
    assert (result.records, result.has_next, hooks.calls) == ([], False, [])


def test_no_pods_is_an_empty_list(hooks):
    result = CrossPodLister(hooks, POOL).list([], sort_keys=SORTS[0], limit=5, timeout=5)
    assert (result.records, result.has_next) == ([], False)


def test_nulls_sort_like_the_pods_database():
    records = {
        "Pod1": [{"id": "a", "name": None}, {"id": "b", "name": "x"}],
        "Pod2": [{"id": "c", "name": "y"}],
    }
    fake = FakeHooks(records)
    ascending = CrossPodLister(fake, POOL).list(
        all_pods(fake), sort_keys=[SortKey("name")], limit=5, timeout=5
    )
    assert [r["id"] for r in ascending.records] == ["b", "c", "a"]


def test_timestamps_in_different_forms_compare_as_times():
    class Hooks(FakeHooks):
        pass

    fake = Hooks({})
    assert fake.sort_value("created_at", "2026-11-25T01:00:00Z") == fake.sort_value(
        "created_at", "2026-11-25T02:00:00.000000+01:00"
    )
    assert fake.sort_value("created_at", "not a time") == "not a time"
    assert fake.sort_value("name", "2026-11-25T01:00:00Z") == "2026-11-25T01:00:00Z"


def test_complete_sort_keys_follows_nova():
    assert complete_sort_keys([], []) == (
        SortKey("created_at", True),
        SortKey("id", True),
    )
    assert complete_sort_keys(["name", "size"], ["asc"]) == (
        SortKey("name"),
        SortKey("size"),
        SortKey("created_at"),
        SortKey("id"),
    )
    assert complete_sort_keys(["id", "name"], []) == (
        SortKey("id", True),
        SortKey("name", True),
        SortKey("created_at", True),
    )
    with pytest.raises(lister.InvalidSort, match="exceeds"):
        complete_sort_keys(["name"], ["asc", "desc"])
    with pytest.raises(lister.InvalidSort, match="sideways"):
        complete_sort_keys(["name"], ["sideways"])
    assert SortKey("name", True).direction == "desc"


def test_next_link_replaces_only_the_marker():
    url = "http://gw/v2.1/servers/detail?limit=2&sort_key=name&marker=old&sort_key=id"
    assert next_link(url, "new") == (
        "http://gw/v2.1/servers/detail?limit=2&sort_key=name&sort_key=id&marker=new"
    )
    assert next_link("http://gw/v3/p/volumes", "m 1") == "http://gw/v3/p/volumes?marker=m+1"


class FinerPodHooks(FakeHooks):
    """Pods that sort ``created_at`` by a finer hidden value than the one they show (Nova)."""

    coarse_keys = frozenset({"created_at"})

    def fetch_page(self, pod: Pod, query: PodQuery) -> list[dict]:
        fine = [{**r, "created_at": r["_fine"]} for r in self.records_by_pod[pod.pod_id]]
        ordered = [r["id"] for r in pod_sorted(fine, query.sort_keys)]
        if query.marker is not None:
            ordered = ordered[ordered.index(query.marker) + 1 :]
        by_id = {r["id"]: r for r in self.records_by_pod[pod.pod_id]}
        self.calls.append((pod.region_name, query.limit, query.marker))
        return [dict(by_id[record_id]) for record_id in ordered[: query.limit]]


def records_with_fine_times(pod_id: str, count: int, seed: int) -> list[dict]:
    chooser = random.Random(seed)
    records = []
    for index in range(count):
        second = chooser.randint(0, 2)
        records.append(
            {
                "id": f"{pod_id}-{index:03d}",
                "name": chooser.choice(["a", "b"]),
                "created_at": f"2026-11-25T00:00:0{second}Z",
                "_fine": f"2026-11-25T00:00:0{second}.{chooser.randint(0, 999999):06d}",
            }
        )
    return records


def finer_pods(hooks_class: type[FakeHooks]) -> FakeHooks:
    return hooks_class(
        {
            "Pod1": records_with_fine_times("Pod1", 9, seed=11),
            "Pod2": records_with_fine_times("Pod2", 6, seed=12),
            "Pod3": records_with_fine_times("Pod3", 11, seed=13),
        }
    )


COARSE_SORTS = [
    complete_sort_keys([], []),
    complete_sort_keys(["created_at"], ["asc"]),
    complete_sort_keys(["created_at", "name"], ["desc", "asc"]),
    complete_sort_keys(["name", "created_at"], ["asc", "desc"]),
]


@pytest.mark.parametrize("sort_keys", COARSE_SORTS, ids=lambda ks: ",".join(k.name for k in ks))
@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 8])
def test_pods_sorting_finer_than_they_show_still_page_exactly(sort_keys, limit):
    hooks = finer_pods(FinerPodHooks)
    pages = all_pages(hooks, sort_keys, limit, page_size=4)
    assert [record_id for page in pages for record_id in page] == everything(hooks, sort_keys)


def test_without_coarse_keys_such_pods_would_lose_or_repeat_records():
    class Unaware(FinerPodHooks):
        coarse_keys = frozenset()

    hooks = finer_pods(Unaware)
    broken = [
        (sort_keys, limit)
        for sort_keys in COARSE_SORTS
        for limit in (1, 2, 3, 4, 5, 8)
        if [i for page in all_pages(hooks, sort_keys, limit, page_size=4) for i in page]
        != everything(hooks, sort_keys)
    ]
    assert broken, "the fake pods must exercise the finer-order case"


class NovaLikeHooks(FakeHooks):
    """Sort keys named as Nova names them, records shaped as Nova shows them."""

    id_sort_key = "uuid"
    sort_fields = {"display_name": "name", "created_at": "created"}
    shown = {"uuid": "id", "display_name": "name", "created_at": "created"}

    def fetch_page(self, pod: Pod, query: PodQuery) -> list[dict]:
        return [
            {self.shown[key]: value for key, value in record.items()}
            for record in super().fetch_page(pod, query)
        ]

    def fetch_record(self, pod: Pod, record_id: str) -> dict | None:
        for record in self.records_by_pod[pod.pod_id]:
            if record["uuid"] == record_id:
                return {self.shown[key]: value for key, value in record.items()}
        return None

    def find_marker_pod(self, marker: str) -> Pod | None:
        for pod_id, records in self.records_by_pod.items():
            if any(record["uuid"] == marker for record in records):
                return self.pods[pod_id]
        return None


def test_sort_keys_named_unlike_the_record_fields():
    chooser = random.Random(5)
    hooks = NovaLikeHooks(
        {
            pod_id: [
                {
                    "uuid": f"{pod_id}-{index}",
                    "display_name": chooser.choice("xyz"),
                    "created_at": f"2026-11-25T00:00:0{chooser.randint(0, 3)}Z",
                }
                for index in range(count)
            ]
            for pod_id, count in (("Pod1", 8), ("Pod2", 5))
        }
    )
    sort_keys = complete_sort_keys(["display_name"], ["asc"], default_keys=("created_at", "uuid"))
    union = [r for records in hooks.records_by_pod.values() for r in records]
    expected = [r["uuid"] for r in pod_sorted(union, sort_keys)]
    pages, marker = [], None
    while True:
        result = CrossPodLister(hooks, POOL).list(
            all_pods(hooks), sort_keys=sort_keys, limit=3, marker=marker, timeout=5
        )
        pages += [r["id"] for r in result.records]
        assert result.unavailable == ()
        if not result.has_next:
            break
        marker = result.next_marker
    assert pages == expected
    assert hooks.last_query.sort_keys[-1] == SortKey("uuid")


def test_pods_drained_by_a_deep_marker_are_refetched_in_one_round(monkeypatch):
    same_names = {
        pod_id: [{"id": f"{pod_id}-{n:03d}", "name": f"n{n:03d}"} for n in range(300)]
        for pod_id in ("Pod1", "Pod2", "Pod3", "Pod4")
    }
    hooks = FakeHooks(same_names)
    rounds: list[list[str]] = []
    fetch_round = lister._ListRun._fetch_round

    def counting(self, streams):
        rounds.append([stream.pod.region_name for stream in streams])
        return fetch_round(self, streams)

    monkeypatch.setattr(lister._ListRun, "_fetch_round", counting)
    sort_keys = complete_sort_keys(["name"], ["asc"], default_keys=("id",))
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=40, marker="Pod4-049", timeout=5
    )
    assert [r["id"] for r in result.records][:5] == [
        "Pod1-050",
        "Pod2-050",
        "Pod3-050",
        "Pod4-050",
        "Pod1-051",
    ]
    assert len(result.records) == 40 and result.has_next
    # Pod4 pages natively past its marker; the others, drained by it, are asked again together.
    assert rounds == [["Pod1", "Pod2", "Pod3", "Pod4"], ["Pod1", "Pod2", "Pod3"]]


def test_pod_answering_records_without_ids_is_an_error_not_a_failed_list(hooks):
    class Garbled(FakeHooks):
        def fetch_page(self, pod, query):
            if pod.pod_id == "Pod2":
                return [{"name": "no id"}, "not a record"]
            return super().fetch_page(pod, query)

    garbled = Garbled(hooks.records_by_pod)
    result = CrossPodLister(garbled, POOL).list(
        all_pods(garbled), sort_keys=SORTS[0], limit=100, timeout=5, include_unknown=True
    )
    assert len(result.records) == 13 + 21
    assert [(u.pod.region_name, u.reason) for u in result.unavailable] == [("Pod2", "error")]
    assert "malformed page" in result.unavailable[0].detail


@pytest.mark.parametrize("seed", range(40))
def test_random_pods_sorts_and_pages(seed):
    """Any pods, sort and page sizes: following next markers lists exactly the sorted union."""
    chooser = random.Random(seed)
    records_by_pod = {}
    for pod_number in range(chooser.randint(1, 4)):
        pod_id = f"Pod{pod_number}"
        records = records_with_fine_times(pod_id, chooser.randint(0, 25), seed * 10 + pod_number)
        for record in records:
            record["name"] = chooser.choice(["a", "b", None])
            record["size"] = chooser.randint(1, 2)
        records_by_pod[pod_id] = records
    hooks = FinerPodHooks(records_by_pod)
    names = chooser.sample(["name", "size", "created_at"], chooser.randint(0, 3))
    directions = [chooser.choice(["asc", "desc"]) for _ in names]
    sort_keys = complete_sort_keys(names, directions)
    pages = all_pages(hooks, sort_keys, chooser.randint(1, 9), page_size=chooser.randint(2, 8))
    assert [i for page in pages for i in page] == everything(hooks, sort_keys), sort_keys


SORT_VALUES = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_infinity=True),
    st.sampled_from(["", "a", "b", "ab", "2026-11-25T01:00:00Z", "2026-11-25T00:59:59Z"]),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(SORT_VALUES, SORT_VALUES), min_size=2, max_size=8),
    st.lists(st.booleans(), min_size=2, max_size=2),
    st.booleans(),
)
def test_native_sort_keys_order_as_the_comparison_does(pairs, descending, nulls_first):
    """Positions compare and sort natively (C tuples) exactly as ``_Order.compare`` does:
    any directions, nulls either side, mixed types and NaN included."""

    class Hooks(FakeHooks):
        pass

    Hooks.nulls_first = nulls_first
    Hooks.sort_fields = {"created_at": "created"}
    keys = (SortKey("created_at", descending[0]), SortKey("name", descending[1]))
    order = lister._Order(keys, Hooks({}))
    positions = [order.position({"created": a, "name": b}) for a, b in pairs]
    assert order.native == (descending[0] == descending[1])
    for left in positions:
        for right in positions:
            assert left.compare(right) == order.compare(left.values, right.values)
    entries = [(position, {"at": index}) for index, position in enumerate(positions)]
    by_values = functools.cmp_to_key(lambda a, b: order.compare(a[0].values, b[0].values))
    expected = [record["at"] for _, record in sorted(entries, key=by_values)]
    assert [record["at"] for _, record in order.sorted(entries)] == expected


def test_positions_use_the_hooks_own_sort_value():
    class CaselessHooks(FakeHooks):
        def sort_value(self, key: str, value: Any) -> Any:
            return value.lower() if key == "name" and isinstance(value, str) else value

    records = {"Pod1": [{"id": "a", "name": "B"}], "Pod2": [{"id": "b", "name": "a"}]}
    fake = CaselessHooks(records)
    result = CrossPodLister(fake, POOL).list(
        all_pods(fake), sort_keys=[SortKey("name")], limit=5, timeout=5
    )
    assert [r["id"] for r in result.records] == ["b", "a"]
    default = lister._Order((SortKey("created_at"), SortKey("name")), FakeHooks({}))
    assert default.position({"created_at": "2026-11-25T01:00:00Z", "name": "x"}).values == (
        dt.datetime(2026, 11, 25, 1),
        "x",
    )


class SlowMarkerHooks(FakeHooks):
    """The marker's record answers only once ``released`` is set."""

    def __init__(self, records_by_pod: dict[str, list[dict]]) -> None:
        super().__init__(records_by_pod)
        self.released = threading.Event()

    def fetch_record(self, pod: Pod, record_id: str) -> dict | None:
        self.released.wait(5)
        return super().fetch_record(pod, record_id)


def test_a_marker_only_its_own_pod_lists_around_is_not_waited_for():
    hooks = SlowMarkerHooks({"Pod1": make_records("Pod1", 12, seed=5), "Pod2": [], "Pod3": []})
    sort_keys = complete_sort_keys([], [])
    marker = everything(hooks, sort_keys)[4]
    started = time.monotonic()
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=20, marker=marker, timeout=5
    )
    elapsed = time.monotonic() - started
    hooks.released.set()
    assert [r["id"] for r in result.records] == everything(hooks, sort_keys)[5:]
    assert elapsed < 2, f"waited {elapsed:.2f}s for the marker's record"


def test_a_marker_is_placed_by_its_record_when_other_pods_list_around_it():
    hooks = SlowMarkerHooks(
        {"Pod1": make_records("Pod1", 12, seed=5), "Pod2": make_records("Pod2", 7, seed=6)}
    )
    hooks.released.set()
    sort_keys = complete_sort_keys([], [])
    expected = everything(hooks, sort_keys)
    marker = hooks.records_by_pod["Pod1"][4]["id"]
    result = CrossPodLister(hooks, POOL).list(
        all_pods(hooks), sort_keys=sort_keys, limit=30, marker=marker, timeout=5
    )
    assert [r["id"] for r in result.records] == expected[expected.index(marker) + 1 :]
    assert hooks.record_fetches == 1


def continuation_cache(clock: Callable[[], float] = time.monotonic) -> lister.Continuations:
    return TtlCache(1024, 5.0, clock)


def follow_to_empty(
    hooks: FakeHooks, sort_keys, limit: int, *, scope: str = "project-a", **kwargs: Any
) -> list[lister.ListResult]:
    """Pages as clients ask them: each with the last ID of the one before, until one is empty."""
    results, marker = [], None
    for _ in range(100):
        result = CrossPodLister(hooks, POOL, **kwargs).list(
            all_pods(hooks), sort_keys=sort_keys, limit=limit, marker=marker, timeout=5, scope=scope
        )
        results.append(result)
        if not result.records:
            return results
        marker = result.records[-1]["id"]
    pytest.fail("pagination did not end")


def test_closing_request_after_a_complete_listing_asks_no_pod(hooks):
    cache = continuation_cache()
    sort_keys = complete_sort_keys([], [])
    results = follow_to_empty(hooks, sort_keys, 41, continuations=cache)
    assert [r["id"] for r in results[0].records] == everything(hooks, sort_keys)
    assert len(results) == 2 and not results[0].has_next
    assert len(hooks.calls) == 4, "the closing request asked no pod"
    assert hooks.record_fetches == 0, "nor read the marker's record"
    assert (results[1].records, results[1].has_next, results[1].next_marker) == ([], False, None)


def test_closing_request_looks_up_no_marker_pod(hooks):
    class NoRoutings(FakeHooks):
        def find_marker_pod(self, marker: str) -> Pod | None:
            raise AssertionError("the marker's pod was looked up")

    fake = NoRoutings(hooks.records_by_pod)
    cache = continuation_cache()
    results = follow_to_empty(fake, SORTS[1], 100, continuations=cache)
    assert [len(result.records) for result in results] == [41, 0]


def test_a_pod_with_records_left_is_still_asked_and_others_are_not(hooks):
    cache = continuation_cache()

    def page(marker: str | None) -> lister.ListResult:
        hooks.calls.clear()
        return CrossPodLister(hooks, POOL, continuations=cache).list(
            all_pods(hooks),
            sort_keys=(SortKey("id"),),
            limit=20,
            marker=marker,
            timeout=5,
            scope="project-a",
        )

    first = page(None)
    assert first.records[-1]["id"] == "Pod2-006" and first.has_next
    second = page("Pod2-006")
    assert [r["id"] for r in second.records] == [f"Pod4-{n:03d}" for n in range(20)]
    # Pod1 and Pod2 gave all they hold on the first page, Pod3 nothing: only Pod4 is asked.
    assert hooks.calls == [("Pod4", 21, None)] and hooks.record_fetches == 0
    third = page("Pod4-019")
    assert [r["id"] for r in third.records] == ["Pod4-020"] and not third.has_next
    assert hooks.calls == [("Pod4", 21, "Pod4-019")], "the marker's pod paged natively"


@pytest.mark.parametrize("coarse", [False, True], ids=["fine", "coarse"])
@pytest.mark.parametrize("seed", range(30))
def test_continued_pages_equal_pages_listed_afresh(seed, coarse):
    """Any pods, sorts and page sizes, fine or coarse keys: every page a cached lister gives
    (pods known to hold nothing after the marker not asked, no marker read) is the page a
    lister without continuations gives for the same marker."""
    chooser = random.Random(seed)
    records_by_pod = {}
    for pod_number in range(chooser.randint(1, 4)):
        pod_id = f"Pod{pod_number}"
        count, pod_seed = chooser.randint(0, 20), seed * 10 + pod_number
        if coarse:
            records = records_with_fine_times(pod_id, count, pod_seed)
        else:
            records = make_records(pod_id, count, pod_seed)
        for record in records:
            record["name"] = chooser.choice(["a", "b", None])
            record["size"] = chooser.randint(1, 2)
        records_by_pod[pod_id] = records
    hooks_class = FinerPodHooks if coarse else FakeHooks
    cached_hooks, fresh_hooks = hooks_class(records_by_pod), hooks_class(records_by_pod)
    names = chooser.sample(["name", "size", "created_at"], chooser.randint(0, 3))
    sort_keys = complete_sort_keys(names, [chooser.choice(["asc", "desc"]) for _ in names])
    limit, page_size = chooser.randint(1, 9), chooser.randint(2, 8)
    cached = follow_to_empty(
        cached_hooks, sort_keys, limit, page_size=page_size, continuations=continuation_cache()
    )
    markers = [None] + [result.records[-1]["id"] for result in cached[:-1]]
    for marker, result in zip(markers, cached, strict=True):
        fresh = CrossPodLister(fresh_hooks, POOL, page_size=page_size).list(
            all_pods(fresh_hooks), sort_keys=sort_keys, limit=limit, marker=marker, timeout=5
        )
        assert [r["id"] for r in result.records] == [r["id"] for r in fresh.records], marker
        assert result.has_next == fresh.has_next
    listed = [r["id"] for result in cached for r in result.records]
    assert listed == everything(cached_hooks, sort_keys)
    assert cached_hooks.record_fetches == 0
    assert len(cached_hooks.calls) <= len(fresh_hooks.calls)


def test_another_scope_misses(hooks):
    cache = continuation_cache()
    follow_to_empty(hooks, SORTS[0], 100, continuations=cache, scope="project-a")
    hooks.calls.clear()
    other = CrossPodLister(hooks, POOL, continuations=cache).list(
        all_pods(hooks),
        sort_keys=SORTS[0],
        limit=100,
        marker=everything(hooks, SORTS[0])[-1],
        timeout=5,
        scope="project-b",
    )
    assert other.records == []
    assert len(hooks.calls) == 4 and hooks.record_fetches == 1


def test_a_list_without_scope_keeps_nothing(hooks):
    cache = continuation_cache()
    CrossPodLister(hooks, POOL, continuations=cache).list(
        all_pods(hooks), sort_keys=SORTS[0], limit=100, timeout=5
    )
    assert len(cache) == 0


def test_an_expired_continuation_misses(hooks):
    now = [100.0]
    cache = continuation_cache(lambda: now[0])
    first = CrossPodLister(hooks, POOL, continuations=cache).list(
        all_pods(hooks), sort_keys=SORTS[0], limit=100, timeout=5, scope="project-a"
    )
    now[0] += 5.0
    hooks.calls.clear()
    CrossPodLister(hooks, POOL, continuations=cache).list(
        all_pods(hooks),
        sort_keys=SORTS[0],
        limit=100,
        marker=first.records[-1]["id"],
        timeout=5,
        scope="project-a",
    )
    assert len(hooks.calls) == 4 and hooks.record_fetches == 1


@pytest.mark.parametrize("trouble", ["failing", "slow"])
def test_nothing_is_kept_when_a_pod_was_unavailable(hooks, trouble):
    if trouble == "failing":
        hooks.failing.add("Pod2")
    else:
        hooks.slow["Pod2"] = threading.Event()
    cache = continuation_cache()
    result = CrossPodLister(hooks, POOL, continuations=cache).list(
        all_pods(hooks),
        sort_keys=SORTS[0],
        limit=100,
        timeout=0.3,
        include_unknown=True,
        scope="project-a",
    )
    assert result.unavailable and result.records
    assert len(cache) == 0

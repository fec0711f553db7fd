"""The shared pod-call pool: bounded threads for every request, each request's own deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from tricircle.db.models import Pod
from tricircle.pods.fanout import PodCallPool, shared_pool
from tricircle.pods.lister import CrossPodLister, ListHooks, PodQuery, Record, complete_sort_keys

SORT_KEYS = complete_sort_keys(["name"], ["asc"])
SLACK = 0.5  # what a loaded machine may add to a deadline before a call returns


class Gate:
    """Calls that wait at a gate until the test opens it; counts how many wait at once."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0
        self.threads: set[str] = set()
        self.changed = threading.Condition(self._lock)

    def enter(self) -> None:
        with self._lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()
        self.opened.wait(5)
        with self._lock:
            self.waiting -= 1

    def wait_for_waiting(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.waiting >= count, timeout=5), self.waiting


class GatedHooks(ListHooks):
    """Pods of three records each; pods named in ``gated`` answer only once the gate opens."""

    def __init__(self, pod_names: Sequence[str], gate: Gate, gated: Sequence[str] = ()) -> None:
        self.pods = [Pod(pod_id=name, region_name=name) for name in pod_names]
        self.gate = gate
        self.gated = set(gated)
        self.fetched: list[str] = []

    def fetch_page(self, pod: Pod, query: PodQuery) -> list[Record]:
        self.fetched.append(pod.region_name)
        if pod.region_name in self.gated:
            self.gate.enter()
        records = [
            {"id": f"{pod.region_name}-{n}", "name": f"{pod.region_name}-{n}"} for n in "abc"
        ]
        return records[: query.limit]

    def find_marker_pod(self, marker: str) -> Pod | None:
        return None

    def fetch_record(self, pod: Pod, record_id: str) -> Record | None:
        return None


@pytest.fixture
def gate() -> Iterator[Gate]:
    opened = Gate()
    yield opened
    opened.opened.set()


def in_thread(target, *args) -> tuple[threading.Thread, list]:  # noqa: ANN001 - any callable
    """Run ``target(*args)`` in a new thread; its result lands in the returned list."""
    results: list = []
    thread = threading.Thread(target=lambda: results.append(target(*args)), daemon=True)
    thread.start()
    return thread, results


def test_one_pool_per_size_is_shared_by_the_process():
    assert shared_pool(3) is shared_pool(3)
    assert shared_pool(3) is not shared_pool(4)
    assert shared_pool(3).workers == 3


def test_concurrent_requests_never_use_more_threads_than_the_pool(gate):
    """Three lists over six pods each, at once, on a pool of four: four calls run at a time,
    on four threads, and every list still gets every pod once the pods answer."""
    pool = PodCallPool(4)
    hooks = GatedHooks([f"Pod{n}" for n in range(6)], gate, gated=[f"Pod{n}" for n in range(6)])
    lister = CrossPodLister(hooks, pool)
    requests = [
        in_thread(lambda: lister.list(hooks.pods, sort_keys=SORT_KEYS, limit=100, timeout=5))
        for _ in range(3)
    ]
    gate.wait_for_waiting(4)
    with gate.changed:  # no fifth call starts while four wait
        assert not gate.changed.wait_for(lambda: gate.waiting > 4, timeout=0.05)
    gate.opened.set()
    for thread, _ in requests:
        thread.join(5)
    assert gate.most_waiting == 4
    assert len(gate.threads) == 4
    assert all(name.startswith("tricircle-pod") for name in gate.threads)
    for _, [result] in requests:
        assert len(result.records) == 18 and not result.unavailable


def test_deadline_holds_when_the_pool_is_saturated(gate):
    """Another request's calls hold every thread: a list returns at its own deadline with its
    pods reported late, and its queued calls are cancelled, never run afterwards."""
    pool = PodCallPool(2)
    busy = GatedHooks(["Slow1", "Slow2"], gate, gated=["Slow1", "Slow2"])
    other, _ = in_thread(
        lambda: CrossPodLister(busy, pool).list(busy.pods, sort_keys=SORT_KEYS, limit=9, timeout=5)
    )
    gate.wait_for_waiting(2)
    hooks = GatedHooks(["Pod1", "Pod2", "Pod3"], gate)

    started = time.monotonic()
    result = CrossPodLister(hooks, pool).list(
        hooks.pods, sort_keys=SORT_KEYS, limit=9, timeout=0.05
    )
    elapsed = time.monotonic() - started

    assert elapsed < 0.05 + SLACK
    assert result.records == []
    assert [(u.pod.region_name, u.reason) for u in result.unavailable] == [
        ("Pod1", "timeout"),
        ("Pod2", "timeout"),
        ("Pod3", "timeout"),
    ]
    gate.opened.set()
    other.join(5)
    after = pool.call_each(lambda n: n, [1, 2], timeout=5)  # the pool's queue has drained
    assert [outcome.value for outcome in after] == [1, 2]
    assert hooks.fetched == []


def test_a_slow_pod_of_one_request_does_not_delay_another(gate):
    """A request waiting for its slow pod holds one thread; another request over fast pods is
    answered in full at once, while the first still waits."""
    pool = PodCallPool(4)
    slow = GatedHooks(["Slow", "Pod1"], gate, gated=["Slow"])
    waiting, _ = in_thread(
        lambda: CrossPodLister(slow, pool).list(slow.pods, sort_keys=SORT_KEYS, limit=9, timeout=5)
    )
    gate.wait_for_waiting(1)
    fast = GatedHooks(["Pod1", "Pod2", "Pod3"], gate)

    started = time.monotonic()
    result = CrossPodLister(fast, pool).list(fast.pods, sort_keys=SORT_KEYS, limit=9, timeout=1)
    elapsed = time.monotonic() - started

    assert len(result.records) == 9 and not result.unavailable
    assert elapsed < SLACK
    assert waiting.is_alive()


def test_call_each_reports_each_item_in_order(gate):
    """Values, errors and late calls, one outcome per item in the items' order."""
    pool = PodCallPool(3)

    def call(item: str) -> str:
        if item == "late":
            gate.enter()
        if item == "fails":
            raise ValueError("pod failed")
        return item.upper()

    outcomes = pool.call_each(call, ["ok", "fails", "late"], timeout=0.05)

    assert [(o.item, o.in_time, o.value) for o in outcomes] == [
        ("ok", True, "OK"),
        ("fails", True, None),
        ("late", False, None),
    ]
    assert isinstance(outcomes[1].error, ValueError)
    with pytest.raises(ValueError):
        outcomes[1].result()

"""Create-once: one bottom resource per (top_id, pod), however many callers race for it."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from tricircle.db import routings
from tricircle.db.models import ResourceRouting
from tricircle.pods.create_once import (
    CreateOnceTimeout,
    ensure_bottom_resource,
    forget_bottom_resource,
)

CALLERS = 24


class FakePod:
    """A pod's resources by name; ``create`` is slow (so races overlap) and may fail at first."""

    def __init__(self, create_seconds: float = 0.2, failures: int = 0) -> None:
        self.create_seconds = create_seconds
        self.failures = failures
        self.resources: dict[str, list[str]] = {}
        self.create_calls = 0
        self._lock = threading.Lock()
        self._slow = threading.Event()

    def create(self, name: str) -> str:
        with self._lock:
            self.create_calls += 1
            fail = self.failures > 0
            self.failures -= fail
        self._slow.wait(self.create_seconds)
        if fail:
            raise RuntimeError(f"pod refused to create {name}")
        bottom_id = f"bottom-{uuid.uuid4()}"
        with self._lock:
            self.resources.setdefault(name, []).append(bottom_id)
        return bottom_id

    def find_by_name(self, name: str) -> str | None:
        with self._lock:
            found = self.resources.get(name)
        return found[0] if found else None


def ensure(session_factory, pod_id: str, fake: FakePod, top_id: str = "net-1", **extra) -> str:
    return ensure_bottom_resource(
        session_factory,
        top_id=top_id,
        pod_id=pod_id,
        project_id="project-1",
        resource_type="network",
        create=fake.create,
        find_by_name=fake.find_by_name,
        **extra,
    )


def routing_rows(session_factory, top_id: str = "net-1") -> list[ResourceRouting]:
    with session_factory() as session:
        return routings.find_routings_for_top(session, top_id)


def age_lock(session_factory, seconds: float) -> None:
    """Make every routing look ``seconds`` older (a holder that died that long ago)."""
    with session_factory.begin() as session:
        for routing in session.scalars(select(ResourceRouting)):
            routing.created_at -= dt.timedelta(seconds=seconds)


def take_lock(session_factory, pod_id: str, top_id: str = "net-1") -> ResourceRouting:
    with session_factory.begin() as session:
        return routings.lock_routing(
            session, top_id=top_id, pod_id=pod_id, project_id="project-1", resource_type="network"
        )


def test_first_call_creates_and_records(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    bottom_id = ensure(session_factory, pod_id, fake)
    assert fake.resources == {"net-1": [bottom_id]}
    assert [row.bottom_id for row in routing_rows(session_factory)] == [bottom_id]
    assert ensure(session_factory, pod_id, fake) == bottom_id
    assert fake.create_calls == 1


def test_a_recorded_copy_is_answered_without_trying_the_lock(session_factory, pod_id, monkeypatch):
    fake = FakePod(create_seconds=0)
    bottom_id = ensure(session_factory, pod_id, fake)

    def no_lock(*_args, **_kwargs):
        raise AssertionError("the lock was tried for a resource already recorded")

    monkeypatch.setattr(routings, "lock_routing", no_lock)
    assert ensure(session_factory, pod_id, fake) == bottom_id
    assert fake.create_calls == 1


def test_racing_callers_create_exactly_once(session_factory, pod_id):
    fake = FakePod(create_seconds=0.2)
    start = threading.Barrier(CALLERS)

    def call(_: int) -> str:
        start.wait()
        return ensure(session_factory, pod_id, fake)

    with ThreadPoolExecutor(CALLERS) as pool:
        results = list(pool.map(call, range(CALLERS)))
    assert fake.create_calls == 1
    assert len(fake.resources["net-1"]) == 1
    assert set(results) == {fake.resources["net-1"][0]}
    assert [row.bottom_id for row in routing_rows(session_factory)] == [results[0]]


def test_stale_lock_is_filled_from_the_resource_found_by_name(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    fake.resources["net-1"] = ["bottom-made-by-a-dead-caller"]
    take_lock(session_factory, pod_id)
    age_lock(session_factory, 120)
    assert ensure(session_factory, pod_id, fake, stale_after=60) == "bottom-made-by-a-dead-caller"
    assert fake.create_calls == 0
    assert [row.bottom_id for row in routing_rows(session_factory)] == [
        "bottom-made-by-a-dead-caller"
    ]


def test_stale_lock_without_resource_is_dropped_and_retried(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    take_lock(session_factory, pod_id)
    age_lock(session_factory, 120)
    bottom_id = ensure(session_factory, pod_id, fake, stale_after=60)
    assert fake.create_calls == 1
    assert [row.bottom_id for row in routing_rows(session_factory)] == [bottom_id]


def test_fresh_lock_makes_callers_wait_until_the_deadline(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    take_lock(session_factory, pod_id)
    with pytest.raises(CreateOnceTimeout):
        ensure(session_factory, pod_id, fake, stale_after=60, timeout=0.3)
    assert fake.create_calls == 0


def test_failed_create_leaves_no_routing(session_factory, pod_id):
    fake = FakePod(create_seconds=0, failures=1)
    with pytest.raises(RuntimeError, match="refused"):
        ensure(session_factory, pod_id, fake)
    assert routing_rows(session_factory) == []
    bottom_id = ensure(session_factory, pod_id, fake)
    assert [row.bottom_id for row in routing_rows(session_factory)] == [bottom_id]


def test_waiters_take_over_after_the_creator_fails(session_factory, pod_id):
    fake = FakePod(create_seconds=0.1, failures=1)
    start = threading.Barrier(8)

    def call(_: int) -> str | Exception:
        start.wait()
        try:
            return ensure(session_factory, pod_id, fake)
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    errors = [result for result in results if isinstance(result, Exception)]
    bottom_ids = {result for result in results if isinstance(result, str)}
    assert len(errors) == 1 and fake.create_calls == 2
    assert bottom_ids == set(fake.resources["net-1"]) and len(bottom_ids) == 1
    assert [row.bottom_id for row in routing_rows(session_factory)] == list(bottom_ids)


def test_one_resource_per_pod_and_top(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    first = ensure(session_factory, pod_id, fake, top_id="net-1")
    second = ensure(session_factory, pod_id, fake, top_id="net-2")
    assert first != second and fake.create_calls == 2


def test_forget_bottom_resource(session_factory, pod_id):
    fake = FakePod(create_seconds=0)
    ensure(session_factory, pod_id, fake)
    assert forget_bottom_resource(session_factory, top_id="net-1", pod_id=pod_id)
    assert not forget_bottom_resource(session_factory, top_id="net-1", pod_id=pod_id)
    assert routing_rows(session_factory) == []


def test_racing_repairers_of_a_stale_lock_create_once(session_factory, pod_id):
    fake = FakePod(create_seconds=0.1)
    take_lock(session_factory, pod_id)
    age_lock(session_factory, 120)
    start = threading.Barrier(16)

    def call(_: int) -> str:
        start.wait()
        return ensure(session_factory, pod_id, fake, stale_after=60)

    with ThreadPoolExecutor(16) as pool:
        results = set(pool.map(call, range(16)))
    assert fake.create_calls == 1
    assert results == set(fake.resources["net-1"])

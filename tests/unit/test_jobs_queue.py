"""The job queue: coalescing enqueue, atomic leased claims, fencing, backoff.

Leases and retry times are read on the ``clock`` fixture, moved by hand: no test waits.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from tricircle.db import jobs
from tricircle.db.models import Job, JobStatus
from tricircle.jobs import queue
from tricircle.jobs.clock import SYSTEM_CLOCK, Clock


def enqueue(
    session_factory,
    resource_id: str = "router-1",
    job_type: str = "router_setup",
    clock: Clock = SYSTEM_CLOCK,
) -> Job:
    with session_factory.begin() as session:
        return queue.enqueue_job(
            session, job_type, resource_id, "project-1", {"n": resource_id}, clock=clock
        )


def test_enqueue_coalesces_pending_duplicates(session_factory):
    with session_factory.begin() as session:
        first = queue.enqueue_job(session, "router_setup", "router-1", "p", {"v": 1})
        again = queue.enqueue_job(session, "router_setup", "router-1", "p", {"v": 2})
        other_type = queue.enqueue_job(session, "configure_routes", "router-1", "p")
    later = enqueue(session_factory)
    assert again.id == first.id == later.id
    assert other_type.id != first.id
    with session_factory() as session:
        assert jobs.get_job(session, first.id).payload == {"v": 1}
        assert len(jobs.list_jobs(session)) == 2


def test_enqueue_after_claim_queues_a_new_job(session_factory):
    first = enqueue(session_factory)
    claimed = queue.claim_next_job(session_factory, "w", lease_seconds=60)
    assert claimed.id == first.id
    second = enqueue(session_factory)
    assert second.id != first.id and second.status == JobStatus.NEW


def test_enqueue_rolls_back_with_the_callers_transaction(session_factory):
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        queue.enqueue_job(session, "router_setup", "router-1", "p")
        raise RuntimeError("API request failed")
    with session_factory() as session:
        assert jobs.list_jobs(session) == []


def test_claim_takes_due_jobs_oldest_first_and_leases_them(session_factory, clock):
    first = enqueue(session_factory, "r1", clock=clock)
    second = enqueue(session_factory, "r2", clock=clock)
    claimed = queue.claim_next_job(session_factory, "w", lease_seconds=30, clock=clock)
    assert claimed.id == first.id
    assert claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    assert claimed.lease_until == clock.now() + dt.timedelta(seconds=30)
    assert queue.claim_next_job(session_factory, "w", lease_seconds=30, clock=clock).id == second.id
    assert queue.claim_next_job(session_factory, "w", lease_seconds=30, clock=clock) is None


def test_success_is_recorded_with_a_log_line(session_factory):
    job = enqueue(session_factory)
    claimed = queue.claim_next_job(session_factory, "w", lease_seconds=30)
    assert queue.finish_job(session_factory, claimed, None, backoff_base=1, backoff_max=10)
    with session_factory() as session:
        done = jobs.get_job(session, job.id)
        logs = jobs.list_job_logs(session, job.id)
    assert done.status == JobStatus.SUCCESS and done.lease_until is None
    assert [(log.status, log.attempt) for log in logs] == [(JobStatus.SUCCESS, 1)]
    assert queue.claim_next_job(session_factory, "w", lease_seconds=30) is None


def test_backoff_grows_exponentially_up_to_the_cap(session_factory, clock):
    job = enqueue(session_factory, clock=clock)
    delays = []
    for _ in range(4):
        claimed = queue.claim_next_job(session_factory, "w", lease_seconds=30, clock=clock)
        assert claimed is not None and claimed.id == job.id
        queue.finish_job(
            session_factory, claimed, "pod down", backoff_base=10, backoff_max=35, clock=clock
        )
        with session_factory() as session:
            failed = jobs.get_job(session, job.id)
        assert failed.status == JobStatus.FAILED and failed.last_error == "pod down"
        delay = (failed.run_after - clock.now()).total_seconds()
        delays.append(delay)
        clock.advance(delay - 0.001)
        assert queue.claim_next_job(session_factory, "w", lease_seconds=30, clock=clock) is None
        clock.advance(0.001)
    assert delays == [10, 20, 35, 35]
    with session_factory() as session:
        logs = jobs.list_job_logs(session, job.id)
    assert [log.attempt for log in logs] == [1, 2, 3, 4]
    assert {log.status for log in logs} == {JobStatus.FAILED}


def test_backoff_delay_values():
    assert [queue.backoff_delay(n, 2, 600) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert queue.backoff_delay(20, 2, 600) == 600


def test_killed_worker_job_is_retaken_after_its_lease(session_factory, clock):
    job = enqueue(session_factory, clock=clock)
    dead = queue.claim_next_job(session_factory, "dead-worker", lease_seconds=60, clock=clock)
    assert dead.id == job.id
    clock.advance(60)
    assert queue.claim_next_job(session_factory, "live-worker", 30, clock=clock) is None
    clock.advance(0.001)
    retaken = queue.claim_next_job(session_factory, "live-worker", 30, clock=clock)
    assert retaken.id == job.id and retaken.attempts == 2
    assert not queue.finish_job(session_factory, dead, None, backoff_base=1, backoff_max=10)
    assert queue.finish_job(session_factory, retaken, None, backoff_base=1, backoff_max=10)
    with session_factory() as session:
        logs = jobs.list_job_logs(session, job.id)
    assert [(log.attempt, log.status) for log in logs] == [(2, JobStatus.SUCCESS)]


def test_lease_extension_keeps_a_live_worker_job(session_factory, clock):
    enqueue(session_factory, clock=clock)
    claimed = queue.claim_next_job(session_factory, "w", lease_seconds=10, clock=clock)
    clock.advance(9)
    assert queue.extend_lease(session_factory, claimed, lease_seconds=10, clock=clock)
    with session_factory() as session:
        assert session.scalar(select(Job.lease_until)) == clock.now() + dt.timedelta(seconds=10)
    clock.advance(10)
    assert queue.claim_next_job(session_factory, "thief", lease_seconds=30, clock=clock) is None
    clock.advance(0.001)
    assert queue.claim_next_job(session_factory, "thief", 30, clock=clock).id == claimed.id
    assert not queue.extend_lease(session_factory, claimed, lease_seconds=10, clock=clock)


def test_jobs_of_one_resource_do_not_run_concurrently(session_factory):
    enqueue(session_factory, "router-1")
    running = queue.claim_next_job(session_factory, "w1", lease_seconds=30)
    follow_up = enqueue(session_factory, "router-1")
    other = enqueue(session_factory, "router-2")
    assert queue.claim_next_job(session_factory, "w2", lease_seconds=30).id == other.id
    assert queue.claim_next_job(session_factory, "w2", lease_seconds=30) is None
    queue.finish_job(session_factory, running, None, backoff_base=1, backoff_max=10)
    assert queue.claim_next_job(session_factory, "w2", lease_seconds=30).id == follow_up.id


def test_two_workers_never_run_the_same_job(session_factory):
    total = 150
    with session_factory.begin() as session:
        for n in range(total):
            queue.enqueue_job(session, "noop", f"resource-{n}", "project-1")
    runs: Counter[str] = Counter()
    runs_lock = threading.Lock()
    start = threading.Barrier(2)

    def work(worker_id: str) -> None:
        start.wait()
        while job := queue.claim_next_job(session_factory, worker_id, lease_seconds=60):
            with runs_lock:
                runs[job.id] += 1
            queue.finish_job(session_factory, job, None, backoff_base=1, backoff_max=10)

    workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert len(runs) == total and set(runs.values()) == {1}
    with session_factory() as session:
        assert {job.status for job in jobs.list_jobs(session)} == {JobStatus.SUCCESS}

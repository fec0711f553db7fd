"""Jobs of one resource never run at once, whatever their type and however many claimers race.

Leases are read on the ``clock`` fixture, moved by hand: no test waits.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from tricircle.db import jobs, migrations
from tricircle.db.models import Job, JobStatus
from tricircle.jobs import queue
from tricircle.jobs.clock import Clock


def enqueue(session_factory, job_type: str, resource_id: str, clock: Clock) -> Job:
    with session_factory.begin() as session:
        return queue.enqueue_job(session, job_type, resource_id, "project-1", clock=clock)


def claim(session_factory, worker_id: str, clock: Clock) -> Job | None:
    return queue.claim_next_job(session_factory, worker_id, lease_seconds=30, clock=clock)


def finish(session_factory, job: Job, clock: Clock, error: str | None = None) -> None:
    assert queue.finish_job(session_factory, job, error, backoff_base=0, backoff_max=0, clock=clock)


def test_jobs_of_one_router_wait_whatever_their_type_while_other_routers_run(
    session_factory, clock
):
    setup = enqueue(session_factory, "router_setup", "router-1", clock)
    running = claim(session_factory, "w1", clock)
    assert running.id == setup.id
    routes = enqueue(session_factory, "configure_routes", "router-1", clock)
    again = enqueue(session_factory, "router_setup", "router-1", clock)
    assert enqueue(session_factory, "router_setup", "router-1", clock).id == again.id, (
        "a pending duplicate no longer coalesces"
    )
    other = enqueue(session_factory, "router_setup", "router-2", clock)
    assert claim(session_factory, "w2", clock).id == other.id
    assert claim(session_factory, "w2", clock) is None, "router-1 ran twice at once"
    finish(session_factory, running, clock)
    follow_up = claim(session_factory, "w2", clock)
    assert follow_up.id in {routes.id, again.id}
    assert claim(session_factory, "w1", clock) is None, "router-1 ran twice at once"
    finish(session_factory, follow_up, clock)
    assert claim(session_factory, "w1", clock).id in {routes.id, again.id} - {follow_up.id}


def test_an_expired_lease_is_retaken_and_holds_its_resource_until_it_ends(session_factory, clock):
    dead = enqueue(session_factory, "router_setup", "router-1", clock)
    lost = claim(session_factory, "dead-worker", clock)
    waiting = enqueue(session_factory, "configure_routes", "router-1", clock)
    clock.advance(30.001)
    retaken = claim(session_factory, "live-worker", clock)
    assert retaken.id == dead.id and retaken.attempts == lost.attempts + 1
    assert claim(session_factory, "live-worker", clock) is None, "router-1 ran twice at once"
    finish(session_factory, retaken, clock)
    assert claim(session_factory, "live-worker", clock).id == waiting.id


def test_the_database_refuses_a_second_running_job_of_one_resource(session_factory, clock):
    enqueue(session_factory, "router_setup", "router-1", clock)
    claim(session_factory, "w1", clock)
    second = enqueue(session_factory, "configure_routes", "router-1", clock)
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.execute(update(Job).where(Job.id == second.id).values(status=JobStatus.RUNNING))


def test_a_claim_refused_by_the_index_claims_again(session_factory, clock, monkeypatch):
    job = enqueue(session_factory, "router_setup", "router-1", clock)
    claim_once = queue._claim_once
    refusals = []

    def lose_the_first_race(*args: object) -> Job | None:
        if not refusals:
            refusals.append(True)
            raise IntegrityError("UPDATE jobs", {}, Exception("uq_jobs_running_resource"))
        return claim_once(*args)

    monkeypatch.setattr(queue, "_claim_once", lose_the_first_race)
    assert claim(session_factory, "w1", clock).id == job.id
    assert refusals == [True]


def test_racing_claimers_never_hold_one_router_twice(session_factory, clock):
    routers = [f"router-{n}" for n in range(4)]
    for router in routers:  # per router: a failed job due again, and two new ones
        enqueue(session_factory, "router_setup", router, clock)
    for job in [claim(session_factory, "setup", clock) for _router in routers]:
        finish(session_factory, job, clock, "pod down")
    for router in routers:
        enqueue(session_factory, "router_setup", router, clock)
        enqueue(session_factory, "configure_routes", router, clock)
    total = 3 * len(routers)
    held: dict[str, str] = {}
    overlaps: list[str] = []
    most_held = 0
    finished = 0
    state = threading.Lock()
    start = threading.Barrier(3)

    def take(worker_id: str) -> Job | None:
        nonlocal most_held
        job = claim(session_factory, worker_id, clock)
        if job is not None:
            with state:
                if job.resource_id in held:
                    overlaps.append(f"{job.resource_id}: {held[job.resource_id]} and {worker_id}")
                held[job.resource_id] = worker_id
                most_held = max(most_held, len(held))
        return job

    def work(worker_id: str) -> None:
        nonlocal finished
        start.wait()
        while True:
            with state:
                if finished == total or overlaps:
                    return
            first = take(worker_id)
            second = take(worker_id) if first is not None else None  # two held at once
            for job in (first, second):
                if job is None:
                    continue
                with state:  # released before the database frees the resource
                    del held[job.resource_id]
                    finished += 1
                finish(session_factory, job, clock)

    workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert not any(thread.is_alive() for thread in workers), "claimers did not finish"
    assert overlaps == []
    assert most_held >= 2, "jobs of different routers never ran at once"
    with session_factory() as session:
        statuses = [job.status for job in jobs.list_jobs(session)]
    assert len(statuses) == total and set(statuses) == {JobStatus.SUCCESS}


def test_0006_keeps_one_running_job_per_resource(engine):
    migrations.downgrade(engine, "0005")
    with engine.begin() as connection:
        for job_id, resource_id in [("job-a", "router-1"), ("job-b", "router-1"), ("job-c", "r2")]:
            connection.execute(
                text(
                    "INSERT INTO jobs (id, type, resource_id, project_id, status, attempts,"
                    " run_after, lease_until, created_at, updated_at) VALUES (:id, 'router_setup',"
                    " :resource_id, 'p', 'running', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": job_id, "resource_id": resource_id},
            )
    migrations.upgrade(engine, "0006")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, status, lease_until FROM jobs ORDER BY id")
        ).all()
    assert [(row.id, row.status) for row in rows] == [
        ("job-a", "failed"),
        ("job-b", "running"),
        ("job-c", "running"),
    ]
    assert rows[0].lease_until is None

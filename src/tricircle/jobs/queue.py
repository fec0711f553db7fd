"""The job queue in the database: enqueue (coalescing), claim (leased), finish (with backoff).

A claim increments ``attempts``; the pair (job id, attempts) is the claim's fencing token, so a
worker whose lease expired and whose job was retaken cannot record a stale outcome. Jobs of one
resource (of any type: ``router_setup`` and ``configure_routes`` of a router) never run at once:
a claim passes over a job while another job of its resource is running, and the unique index
``uq_jobs_running_resource`` refuses the claim that lost a race for one. Every timestamp written
or compared comes from a ``Clock`` (the system's by default).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from tricircle.db.jobs import find_pending_job
from tricircle.db.models import Job, JobLog, JobStatus, new_uuid
from tricircle.db.session import insert_unless_conflict
from tricircle.jobs.clock import SYSTEM_CLOCK, Clock

LOG = logging.getLogger(__name__)

ENQUEUE_ATTEMPTS = 10
CLAIM_ATTEMPTS = 10


def enqueue_job(
    session: Session,
    job_type: str,
    resource_id: str,
    project_id: str,
    payload: dict[str, Any] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    delay: float = 0.0,
) -> Job:
    """Queue a job in the caller's transaction, due ``delay`` seconds from now, or return the job
    already pending for it.

    At most one job per (type, resource_id) waits as ``new``; a second enqueue returns that job
    unchanged (its payload is kept). A job already running does not absorb the enqueue: the new
    job runs after it, so changes made after the running job read its inputs are not lost.
    """
    for _ in range(ENQUEUE_ATTEMPTS):
        now = clock.now()
        job = insert_unless_conflict(
            session,
            Job,
            {
                "id": new_uuid(),
                "type": job_type,
                "resource_id": resource_id,
                "project_id": project_id,
                "payload": payload,
                "status": JobStatus.NEW,
                "attempts": 0,
                "run_after": now + dt.timedelta(seconds=delay),
                "created_at": now,
                "updated_at": now,
            },
        )
        if job is not None:
            LOG.info("job enqueued job_id=%s type=%s resource=%s", job.id, job_type, resource_id)
            return job
        pending = find_pending_job(session, job_type, resource_id)
        if pending is not None:
            LOG.debug(
                "job coalesced job_id=%s type=%s resource=%s", pending.id, job_type, resource_id
            )
            return pending
    raise RuntimeError(f"could not enqueue type={job_type} resource={resource_id}: queue churn")


def _claim_statement(due: Callable[[type[Job]], ColumnElement[bool]]) -> UpdateBase:
    """``UPDATE`` leasing the first job matching ``due`` whose resource runs no other job.

    A running job whose lease expired still holds its resource: it is retaken itself (expired
    leases are claimed first), so nothing else of that resource runs beside a slow worker. Built
    once with bind parameters ``now`` and ``lease_until``, so claims reuse the compiled SQL.
    """
    candidate = aliased(Job)
    running = aliased(Job)
    now = bindparam("now", type_=DateTime)
    busy = (
        select(running.id)
        .where(
            running.resource_id == candidate.resource_id,
            running.status == JobStatus.RUNNING,
            running.id != candidate.id,
        )
        .exists()
    )
    next_id = (
        select(candidate.id)
        .where(due(candidate), ~busy)
        .order_by(candidate.run_after)
        .limit(1)
        .with_for_update(skip_locked=True, of=candidate)
        .scalar_subquery()
    )
    return (
        update(Job)
        .where(Job.id == next_id)
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            lease_until=bindparam("lease_until", type_=DateTime),
            updated_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )


# Expired leases first (their work is oldest), then new or failed jobs whose run_after passed.
CLAIM_STATEMENTS = (
    _claim_statement(
        lambda job: and_(job.status == JobStatus.RUNNING, job.lease_until < bindparam("now"))
    ),
    _claim_statement(
        lambda job: and_(
            job.status.in_([JobStatus.NEW, JobStatus.FAILED]), job.run_after <= bindparam("now")
        )
    ),
)


def claim_next_job(
    session_factory: sessionmaker[Session],
    worker_id: str,
    lease_seconds: float,
    clock: Clock = SYSTEM_CLOCK,
) -> Job | None:
    """Atomically take the next due job for ``worker_id``, leased for ``lease_seconds``; or None.

    Due means: ``running`` with an expired lease (taken first), else ``new`` or ``failed`` with
    run_after passed, earliest run_after first. A job is skipped while another job of the same
    resource is running. Each claim is one statement, ``UPDATE ... WHERE id = (SELECT ... FOR
    UPDATE SKIP LOCKED)`` on PostgreSQL; SQLite runs writers one at a time, so the same statement
    is atomic there. On PostgreSQL two claims may each pick a job of one resource before either
    commits: ``uq_jobs_running_resource`` refuses the second, which claims again and then sees
    the first.
    """
    for _ in range(CLAIM_ATTEMPTS):
        try:
            job = _claim_once(session_factory, lease_seconds, clock)
        except IntegrityError:
            LOG.info("job claim lost a race for a resource, claiming again worker=%s", worker_id)
            continue
        if job is not None:
            LOG.info(
                "job claimed job_id=%s type=%s resource=%s attempt=%s worker=%s",
                job.id,
                job.type,
                job.resource_id,
                job.attempts,
                worker_id,
            )
        return job
    return None


def _claim_once(
    session_factory: sessionmaker[Session], lease_seconds: float, clock: Clock
) -> Job | None:
    """One claim transaction: the first job ``CLAIM_STATEMENTS`` lease, or None."""
    now = clock.now()
    params = {"now": now, "lease_until": now + dt.timedelta(seconds=lease_seconds)}
    with session_factory.begin() as session:
        for statement in CLAIM_STATEMENTS:
            job = session.scalars(statement, params).one_or_none()
            if job is not None:
                return job
    return None


def backoff_delay(attempt: int, backoff_base: float, backoff_max: float) -> float:
    """Seconds to wait before retrying after failed attempt number ``attempt`` (1-based)."""
    return min(backoff_max, backoff_base * 2 ** max(attempt - 1, 0))


def finish_job(
    session_factory: sessionmaker[Session],
    job: Job,
    error: str | None,
    backoff_base: float,
    backoff_max: float,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Record the outcome of the claim ``job``: success, or failure retried after a backoff.

    Writes one JobLog line. Returns False (recording nothing) if the claim was lost, i.e. the
    lease expired and the job was retaken or requeued meanwhile.
    """
    now = clock.now()
    if error is None:
        values: dict[str, Any] = {"status": JobStatus.SUCCESS, "last_error": None}
    else:
        delay = backoff_delay(job.attempts, backoff_base, backoff_max)
        values = {
            "status": JobStatus.FAILED,
            "last_error": error,
            "run_after": now + dt.timedelta(seconds=delay),
        }
    record = (
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.attempts == job.attempts)
        .values(lease_until=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    fields = (job.id, job.type, job.resource_id, job.attempts)
    with session_factory.begin() as session:
        if session.execute(record).rowcount == 0:
            LOG.warning("job claim lost job_id=%s type=%s resource=%s attempt=%s", *fields)
            return False
        session.add(
            JobLog(
                job_id=job.id,
                type=job.type,
                resource_id=job.resource_id,
                status=values["status"],
                attempt=job.attempts,
                error=error,
                created_at=now,
            )
        )
    if error is None:
        LOG.info("job succeeded job_id=%s type=%s resource=%s attempt=%s", *fields)
    else:
        LOG.warning(
            "job failed job_id=%s type=%s resource=%s attempt=%s retry_in=%.1fs error=%s",
            *fields,
            delay,
            error,
        )
    return True


def extend_lease(
    session_factory: sessionmaker[Session],
    job: Job,
    lease_seconds: float,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Push the lease of the claim ``job`` to ``lease_seconds`` from now; False if it was lost."""
    now = clock.now()
    statement = (
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.attempts == job.attempts)
        .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    with session_factory.begin() as session:
        return session.execute(statement).rowcount > 0

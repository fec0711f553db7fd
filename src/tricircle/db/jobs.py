"""Queries on jobs and their log: what is queued, what ran, and putting a job back in the queue.

Functions take a Session and never commit; callers wrap them in ``with session.begin():``.
Claiming and finishing jobs lives in ``tricircle.jobs.queue``.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from tricircle.db.models import Job, JobLog, JobStatus, utcnow
from tricircle.db.session import dialect_name


class MarkerNotFound(LookupError):
    """A list marker names no existing job."""


def list_jobs(
    session: Session,
    *,
    job_type: str | None = None,
    status: JobStatus | str | None = None,
    project_id: str | None = None,
    resource_id: str | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> list[Job]:
    """Jobs matching every given filter, oldest first (created_at, then id), after ``marker``.

    Raises MarkerNotFound if ``marker`` is not the id of a job.
    """
    statement = select(Job).order_by(Job.created_at, Job.id)
    if job_type is not None:
        statement = statement.where(Job.type == job_type)
    if status is not None:
        statement = statement.where(Job.status == JobStatus(status))
    if project_id is not None:
        statement = statement.where(Job.project_id == project_id)
    if resource_id is not None:
        statement = statement.where(Job.resource_id == resource_id)
    if marker is not None:
        last = session.get(Job, marker)
        if last is None:
            raise MarkerNotFound(marker)
        statement = statement.where(
            or_(
                Job.created_at > last.created_at,
                and_(Job.created_at == last.created_at, Job.id > last.id),
            )
        )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def get_job(session: Session, job_id: str) -> Job | None:
    """The job with this id, or None."""
    return session.get(Job, job_id)


def find_pending_job(session: Session, job_type: str, resource_id: str) -> Job | None:
    """The job of this type for this resource still waiting as ``new``, if any (at most one)."""
    statement = select(Job).where(
        Job.type == job_type, Job.resource_id == resource_id, Job.status == JobStatus.NEW
    )
    return session.scalars(statement).one_or_none()


def redo_job(session: Session, job_id: str) -> Job | None:
    """Queue a job to run again now; None if there is no such job.

    A finished or failed job goes back to ``new`` with run_after now, unless another job of the
    same type is already pending for that resource: that pending job is returned (made due now)
    instead. A ``new`` job is made due now; a ``running`` job is returned unchanged (its lease
    decides when it is retaken).
    """
    job = session.get(Job, job_id)
    if job is None or job.status == JobStatus.RUNNING:
        return job
    now = utcnow()
    if job.status != JobStatus.NEW:
        pending = find_pending_job(session, job.type, job.resource_id)
        if pending is None and _requeue(session, job):
            pending = job
        if pending is None:
            pending = find_pending_job(session, job.type, job.resource_id)
        if pending is None:
            return None
        job = pending
    session.execute(update(Job).where(Job.id == job.id).values(run_after=now, updated_at=now))
    session.refresh(job)
    return job


def _requeue(session: Session, job: Job) -> bool:
    """Set ``job`` back to new; False if a concurrent enqueue made another job pending first."""
    other = aliased(Job)
    pending_exists = (
        select(other.id)
        .where(
            other.type == job.type,
            other.resource_id == job.resource_id,
            other.status == JobStatus.NEW,
        )
        .exists()
    )
    statement = (
        update(Job)
        .where(Job.id == job.id, Job.status == job.status, ~pending_exists)
        .values(status=JobStatus.NEW, lease_until=None, updated_at=utcnow())
    )
    if dialect_name(session) == "sqlite":  # one statement, and SQLite runs writers one at a time
        return session.execute(statement).rowcount > 0
    try:
        with session.begin_nested():
            return session.execute(statement).rowcount > 0
    except IntegrityError:
        return False


def list_job_logs(session: Session, job_id: str) -> list[JobLog]:
    """Every finished attempt of a job, oldest first."""
    statement = select(JobLog).where(JobLog.job_id == job_id).order_by(JobLog.id)
    return list(session.scalars(statement))

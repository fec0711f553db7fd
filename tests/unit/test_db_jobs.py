"""Queries on jobs and job logs: listing, paging, redo."""

from __future__ import annotations

import datetime as dt

import pytest

from tricircle.db import jobs
from tricircle.db.models import Job, JobLog, JobStatus, utcnow
from tricircle.jobs.queue import enqueue_job

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def add_job(session_factory, job_id: str, created_at: dt.datetime, **fields: object) -> None:
    values = {"type": "router_setup", "resource_id": job_id, "project_id": "p1"} | fields
    with session_factory.begin() as session:
        session.add(Job(id=job_id, created_at=created_at, updated_at=created_at, **values))


@pytest.fixture
def sample(session_factory) -> list[str]:
    """Five jobs; b and a share a created_at (ties break on id), in stable order a, b, c, d, e."""
    add_job(session_factory, "c", T0 + dt.timedelta(seconds=2), status=JobStatus.FAILED)
    add_job(session_factory, "b", T0 + dt.timedelta(seconds=1), project_id="p2")
    add_job(session_factory, "a", T0 + dt.timedelta(seconds=1))
    add_job(session_factory, "e", T0 + dt.timedelta(seconds=4), type="configure_routes")
    add_job(session_factory, "d", T0 + dt.timedelta(seconds=3), status=JobStatus.SUCCESS)
    return ["a", "b", "c", "d", "e"]


def test_list_jobs_in_stable_order(session_factory, sample):
    with session_factory() as session:
        assert [job.id for job in jobs.list_jobs(session)] == sample


def test_list_jobs_filters(session_factory, sample):
    with session_factory() as session:
        assert [job.id for job in jobs.list_jobs(session, status="failed")] == ["c"]
        assert [job.id for job in jobs.list_jobs(session, status=JobStatus.NEW)] == ["a", "b", "e"]
        assert [job.id for job in jobs.list_jobs(session, project_id="p2")] == ["b"]
        assert [job.id for job in jobs.list_jobs(session, job_type="configure_routes")] == ["e"]
        assert [job.id for job in jobs.list_jobs(session, resource_id="d")] == ["d"]


def test_list_jobs_pages_with_marker(session_factory, sample):
    seen: list[str] = []
    marker = None
    with session_factory() as session:
        while page := jobs.list_jobs(session, limit=2, marker=marker):
            seen.extend(job.id for job in page)
            marker = page[-1].id
    assert seen == sample


def test_list_jobs_unknown_marker(session_factory, sample):
    with session_factory() as session, pytest.raises(jobs.MarkerNotFound):
        jobs.list_jobs(session, marker="nope")


def test_get_job(session_factory, sample):
    with session_factory() as session:
        assert jobs.get_job(session, "c").status == JobStatus.FAILED
        assert jobs.get_job(session, "nope") is None


def test_redo_failed_job_makes_it_new_and_due(session_factory):
    later = utcnow() + dt.timedelta(hours=1)
    add_job(session_factory, "f", T0, status=JobStatus.FAILED, run_after=later, attempts=3)
    before = utcnow()
    with session_factory.begin() as session:
        job = jobs.redo_job(session, "f")
    assert job.id == "f" and job.status == JobStatus.NEW
    assert job.run_after >= before - dt.timedelta(seconds=1) and job.run_after < later
    assert job.attempts == 3


def test_redo_returns_the_job_already_pending_for_the_resource(session_factory):
    add_job(session_factory, "done", T0, resource_id="router-1", status=JobStatus.SUCCESS)
    with session_factory.begin() as session:
        pending = enqueue_job(session, "router_setup", "router-1", "p1")
    with session_factory.begin() as session:
        job = jobs.redo_job(session, "done")
    assert job.id == pending.id
    with session_factory() as session:
        assert jobs.get_job(session, "done").status == JobStatus.SUCCESS


def test_redo_leaves_running_jobs_and_reports_missing(session_factory):
    add_job(session_factory, "r", T0, status=JobStatus.RUNNING, attempts=1)
    with session_factory.begin() as session:
        assert jobs.redo_job(session, "r").status == JobStatus.RUNNING
        assert jobs.redo_job(session, "missing") is None


def test_list_job_logs_oldest_first(session_factory):
    add_job(session_factory, "j", T0, status=JobStatus.SUCCESS, attempts=2)
    with session_factory.begin() as session:
        for attempt, status in ((1, JobStatus.FAILED), (2, JobStatus.SUCCESS)):
            session.add(
                JobLog(
                    job_id="j", type="router_setup", resource_id="j", status=status,
                    attempt=attempt, error="boom" if status == JobStatus.FAILED else None,
                )
            )  # fmt: skip
    with session_factory() as session:
        logs = jobs.list_job_logs(session, "j")
    assert [(log.attempt, log.status, log.error) for log in logs] == [
        (1, JobStatus.FAILED, "boom"),
        (2, JobStatus.SUCCESS, None),
    ]

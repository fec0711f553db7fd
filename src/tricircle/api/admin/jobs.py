"""``/v1.0/jobs``: the asynchronous work queue, for inspection and repair."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from tricircle.api import validation
from tricircle.api.admin.common import authorize, next_links, timestamp
from tricircle.api.errors import InvalidField, NotFound
from tricircle.api.gateway import transaction
from tricircle.api.validation import Field
from tricircle.db import jobs
from tricircle.db.models import Job, JobStatus
from tricircle.jobs import queue

blueprint = Blueprint("jobs", __name__)

FILTERS = {
    "type": validation.non_empty,
    "status": validation.one_of({status.value for status in JobStatus}),
    "project_id": validation.non_empty,
    "resource_id": validation.non_empty,
}
JOB_FIELDS = {
    "type": Field(required=True, allow_empty=False, max_length=64),
    "resource_id": Field(required=True, allow_empty=False, max_length=127),
    "project_id": Field(allow_empty=False),
    "payload": Field(kind=dict),
}
Body = tuple[dict[str, Any], int]


def job_view(job: Job) -> dict[str, Any]:
    """The API form of a job."""
    return {
        "id": job.id,
        "type": job.type,
        "resource_id": job.resource_id,
        "project_id": job.project_id,
        "payload": job.payload,
        "status": JobStatus(job.status).value,
        "attempts": job.attempts,
        "run_after": timestamp(job.run_after),
        "lease_until": timestamp(job.lease_until),
        "last_error": job.last_error,
        "created_at": timestamp(job.created_at),
        "updated_at": timestamp(job.updated_at),
    }


@blueprint.post("/jobs")
def create_job() -> Body:
    """Queue a job; the project defaults to the caller's."""
    authorize("tricircle:jobs:create")
    fields = validation.parse_body(request.get_data(), "job", JOB_FIELDS)
    project_id = fields.get("project_id") or g.context.project_id
    if not project_id:
        raise InvalidField("job.project_id", "is required when the token has no project")
    with transaction() as session:
        job = queue.enqueue_job(
            session, fields["type"], fields["resource_id"], project_id, fields.get("payload")
        )
    return {"job": job_view(job)}, 202


@blueprint.get("/jobs")
def list_jobs() -> Body:
    """Jobs, filtered, one page at a time."""
    authorize("tricircle:jobs:list")
    filters = validation.parse_filters(request.args, FILTERS, paginated=True)
    limit = validation.parse_limit(request.args)
    marker = request.args.get("marker")
    with transaction() as session:
        try:
            page = jobs.list_jobs(
                session,
                job_type=filters.get("type"),
                status=filters.get("status"),
                project_id=filters.get("project_id"),
                resource_id=filters.get("resource_id"),
                limit=limit,
                marker=marker,
            )
        except jobs.MarkerNotFound as exc:
            raise InvalidField("marker", f"job {marker} could not be found") from exc
        return {
            "jobs": [job_view(job) for job in page],
            "jobs_links": next_links(page, limit, lambda job: job.id),
        }, 200


@blueprint.get("/jobs/<job_id>")
def show_job(job_id: str) -> Body:
    """One job."""
    authorize("tricircle:jobs:show")
    with transaction() as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            raise NotFound(f"Job {job_id} could not be found.")
        return {"job": job_view(job)}, 200


@blueprint.put("/jobs/<job_id>/redo")
def redo_job(job_id: str) -> Body:
    """Queue a job to run again now."""
    authorize("tricircle:jobs:redo")
    with transaction() as session:
        job = jobs.redo_job(session, job_id)
        if job is None:
            raise NotFound(f"Job {job_id} could not be found.")
        return {"job": job_view(job)}, 200

"""Subcommands of the jobs part: ``tricircle xjob`` and ``tricircle job list``."""

from __future__ import annotations

import argparse

from tricircle import conf, logs
from tricircle.db import jobs
from tricircle.db.engine import engine_from_conf, make_session_factory
from tricircle.db.models import Job, JobStatus
from tricircle.jobs.worker import build_worker

LIST_COLUMNS = ("id", "type", "resource_id", "project_id", "status", "attempts", "run_after")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``xjob`` and ``job list``."""
    xjob_parser = subparsers.add_parser("xjob", help="Run the job worker until SIGTERM.")
    xjob_parser.add_argument("--workers", type=int, help="Worker threads ([xjob] workers).")
    xjob_parser.set_defaults(handler=run_xjob)

    job_parser = subparsers.add_parser("job", help="Inspect the job queue.")
    job_commands = job_parser.add_subparsers(dest="job_command", required=True)
    list_parser = job_commands.add_parser("list", help="List jobs, oldest first.")
    list_parser.add_argument("--type", dest="job_type", help="Only jobs of this type.")
    list_parser.add_argument("--status", choices=[status.value for status in JobStatus])
    list_parser.add_argument("--project-id", help="Only jobs of this project.")
    list_parser.add_argument("--resource-id", help="Only jobs for this resource.")
    list_parser.add_argument("--limit", type=int, help="At most this many jobs.")
    list_parser.add_argument("--marker", help="Start after this job id.")
    list_parser.set_defaults(handler=list_jobs)


def run_xjob(args: argparse.Namespace) -> int:
    """Serve the job queue of the [database] connection."""
    logs.configure_service()
    config = conf.load(args.config_file)
    worker = build_worker(config)
    if args.workers:
        worker.threads = args.workers
    worker.run()
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    """Print the jobs of the [database] connection as a table."""
    config = conf.load(args.config_file)
    session_factory = make_session_factory(engine_from_conf(config.database))
    with session_factory.begin() as session:
        try:
            found = jobs.list_jobs(
                session,
                job_type=args.job_type,
                status=args.status,
                project_id=args.project_id,
                resource_id=args.resource_id,
                limit=args.limit,
                marker=args.marker,
            )
        except jobs.MarkerNotFound:
            print(f"no job {args.marker}")
            return 1
    print(format_table(found))
    return 0


def format_table(found: list[Job]) -> str:
    """Jobs as a plain-text table with one column per LIST_COLUMNS entry."""
    rows = [[_cell(getattr(job, column)) for column in LIST_COLUMNS] for job in found]
    widths = [
        max(len(cell) for cell in column) for column in zip(LIST_COLUMNS, *rows, strict=False)
    ]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(LIST_COLUMNS), *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A value as table text (datetimes to the second)."""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)

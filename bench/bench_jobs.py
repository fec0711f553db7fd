"""Job throughput on PostgreSQL: N workers drain a queue of trivial jobs; jobs/s per N.

Each run enqueues ``--jobs`` jobs, then N worker threads (or processes) claim, run a no-op
handler and finish until the queue is empty. Every job must run exactly once.

    .venv/bin/python bench/bench_jobs.py --jobs 2000 --workers 1,2,4 [--processes]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scratch_db import DEFAULT_SERVER_URL, scratch_database
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Job, JobLog, JobStatus
from tricircle.jobs.handlers import JobContext
from tricircle.jobs.queue import enqueue_job
from tricircle.jobs.worker import Worker


def noop(context: JobContext, job: Job) -> None:
    """The trivial handler: the benchmark measures the queue, not the work."""


def fill_queue(session_factory: sessionmaker[Session], count: int) -> None:
    """Enqueue ``count`` jobs for distinct resources, 500 per transaction."""
    for start in range(0, count, 500):
        with session_factory.begin() as session:
            for n in range(start, min(start + 500, count)):
                enqueue_job(session, "noop", f"resource-{n}", "bench-project")


def drain(session_factory: sessionmaker[Session], worker_id: str) -> None:
    """Run jobs until none is due."""
    worker = Worker(session_factory, handlers={"noop": noop}, worker_id=worker_id)
    while worker.run_once(worker_id):
        pass


def drain_in_process(url: str, worker_id: str) -> None:
    """``drain`` in a child process, with its own engine."""
    drain(make_session_factory(make_engine(url)), worker_id)


def run(url: str, jobs: int, workers: int, processes: bool) -> dict[str, float]:
    """One measurement on a fresh queue: seconds, jobs/s and how many jobs ran twice."""
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    with session_factory.begin() as session:
        session.query(JobLog).delete()
        session.query(Job).delete()
    fill_queue(session_factory, jobs)
    if processes:
        context = multiprocessing.get_context("spawn")
        runners = [
            context.Process(target=drain_in_process, args=(url, f"p{n}")) for n in range(workers)
        ]
    else:
        runners = [
            threading.Thread(target=drain, args=(session_factory, f"t{n}")) for n in range(workers)
        ]
    started = time.perf_counter()
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    seconds = time.perf_counter() - started
    with session_factory() as session:
        done = session.scalar(select(func.count()).where(Job.status == JobStatus.SUCCESS))
        logs = session.scalar(select(func.count()).select_from(JobLog))
    engine.dispose()
    if done != jobs:
        raise SystemExit(f"only {done} of {jobs} jobs succeeded")
    return {"seconds": seconds, "jobs_per_s": jobs / seconds, "ran_twice": logs - jobs}


def main() -> None:
    """Parse options, run each worker count on one scratch database, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help="Comma-separated worker counts.")
    parser.add_argument("--processes", action="store_true", help="Workers are processes.")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    mode = "processes" if args.processes else "threads"
    print(f"{'workers':>7}  {'mode':<9}  {'jobs':>5}  {'seconds':>7}  {'jobs/s':>7}  ran twice")
    with scratch_database(args.server_url, "bench_jobs") as url:
        for workers in (int(n) for n in args.workers.split(",")):
            result = run(url, args.jobs, workers, args.processes)
            print(
                f"{workers:>7}  {mode:<9}  {args.jobs:>5}  {result['seconds']:>7.2f}  "
                f"{result['jobs_per_s']:>7.0f}  {result['ran_twice']:>9}"
            )


if __name__ == "__main__":
    main()

"""Leases under real time: a worker's heartbeat must keep a thief off its running jobs.

The unit tests drive leases with a hand-moved clock; this checks the same race on the machine's
clock. A worker runs ``--jobs`` slow jobs (``--hold`` seconds each) with a short ``--lease``
(heartbeat every third of it); once all run, a thief thread tries to claim every 10 ms.
``stolen`` counts jobs the thief took: 0 unless the heartbeat was starved for 2/3 of a lease.

    .venv/bin/python bench/bench_job_leases.py --jobs 4 --hold 3 --lease 0.3
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scratch_db import DEFAULT_SERVER_URL, scratch_database
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Job, JobStatus
from tricircle.jobs import queue
from tricircle.jobs.worker import Worker


def running_jobs(session_factory: sessionmaker[Session]) -> int:
    """How many jobs are running."""
    with session_factory() as session:
        return session.scalar(select(func.count()).where(Job.status == JobStatus.RUNNING)) or 0


def main() -> None:
    """Parse options, run the race once on a scratch database, print one result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--hold", type=float, default=3.0, help="Seconds each job runs.")
    parser.add_argument("--lease", type=float, default=0.3, help="Lease seconds.")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with scratch_database(args.server_url, "bench_leases") as url:
        engine = make_engine(url)
        session_factory = make_session_factory(engine)
        with session_factory.begin() as session:
            for n in range(args.jobs):
                queue.enqueue_job(session, "slow", f"resource-{n}", "bench-project")
        worker = Worker(
            session_factory,
            threads=args.jobs,
            poll_interval=0.01,
            lease_seconds=args.lease,
            handlers={"slow": lambda context, job: time.sleep(args.hold)},
        )
        stolen: list[str] = []
        done = threading.Event()

        def steal() -> None:
            while not done.is_set():
                job = queue.claim_next_job(session_factory, "thief", lease_seconds=600)
                if job is not None:
                    stolen.append(job.id)
                done.wait(0.01)

        thief = threading.Thread(target=steal)
        worker.start()
        while running_jobs(session_factory) < args.jobs:
            time.sleep(0.01)
        thief.start()
        started = time.perf_counter()
        time.sleep(args.hold * 1.5)
        done.set()
        thief.join()
        worker.stop(timeout=args.hold * 2)
        seconds = time.perf_counter() - started
        engine.dispose()
    print(f"jobs={args.jobs} hold={args.hold}s lease={args.lease}s seconds={seconds:.1f}")
    print(f"stolen={len(stolen)}")


if __name__ == "__main__":
    main()

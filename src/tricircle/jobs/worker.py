"""The xjob worker: N threads claim jobs, run their handlers and record the outcome.

Periodic jobs (type -> interval) are queued when the worker starts and again, one interval
later, each time one succeeds (a failed one is retried with backoff first).

``build_worker()`` makes a worker from the configuration (for embedding); ``Worker.run()``
serves until SIGTERM or SIGINT, then lets running jobs finish. A heartbeat keeps the leases of
running jobs alive, so only a dead worker's jobs are retaken.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db.engine import database_unavailable, engine_from_conf, make_session_factory
from tricircle.db.models import Job
from tricircle.jobs import queue
from tricircle.jobs.clock import SYSTEM_CLOCK, Clock
from tricircle.jobs.handlers import (
    Handler,
    JobContext,
    NotYet,
    find_handler,
    load_handler_modules,
)
from tricircle.pods.client import PodUnreachable

LOG = logging.getLogger(__name__)

PERIODIC = "periodic"  # resource_id of periodic jobs


class Worker:
    """A pool of threads working the job queue of one database."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        threads: int = 1,
        poll_interval: float = 1.0,
        lease_seconds: float = 300,
        backoff_base: float = 2.0,
        backoff_max: float = 600.0,
        handlers: dict[str, Handler] | None = None,
        worker_id: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        periodic: dict[str, float] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.threads = threads
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.handlers = handlers
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        self.periodic = periodic or {}
        self.stopping = threading.Event()
        self._stopped = threading.Event()
        self._running: dict[str, Job] = {}
        self._running_lock = threading.Lock()
        self._pool: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None

    def run_once(self, thread_id: str | None = None) -> bool:
        """Claim and run one due job; False if none was due."""
        thread_id = thread_id or self.worker_id
        job = queue.claim_next_job(self.session_factory, thread_id, self.lease_seconds, self.clock)
        if job is None:
            return False
        with self._running_lock:
            self._running[job.id] = job
        try:
            error = self._run_handler(job, thread_id)
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)
        finished = queue.finish_job(
            self.session_factory, job, error, self.backoff_base, self.backoff_max, self.clock
        )
        if finished and error is None and job.type in self.periodic:
            self._queue_periodic(job.type, self.periodic[job.type])
        return True

    def _queue_periodic(self, job_type: str, delay: float) -> None:
        """Queue the next run of a periodic job (coalesced with one already pending)."""
        with self.session_factory.begin() as session:
            queue.enqueue_job(session, job_type, PERIODIC, "", clock=self.clock, delay=delay)

    def _run_handler(self, job: Job, thread_id: str) -> str | None:
        """Run the job's handler; the error text on failure, else None."""
        context = JobContext(self.session_factory, thread_id, self.stopping)
        try:
            find_handler(job.type, self.handlers)(context, job)
        except Exception as exc:
            waiting = _waiting_for(exc)
            if waiting is None:
                LOG.exception(
                    "job handler raised job_id=%s type=%s resource=%s attempt=%s",
                    job.id,
                    job.type,
                    job.resource_id,
                    job.attempts,
                )
            else:
                level, what = waiting
                LOG.log(
                    level,
                    "job waits for %s job_id=%s type=%s resource=%s attempt=%s reason=%s",
                    what,
                    job.id,
                    job.type,
                    job.resource_id,
                    job.attempts,
                    exc,
                )
            return f"{type(exc).__name__}: {exc}"
        return None

    def _serve(self, thread_id: str) -> None:
        """One pool thread: work while jobs are due, sleep between empty polls, until stopping."""
        while not self.stopping.is_set():
            try:
                worked = self.run_once(thread_id)
            except Exception as exc:
                if not database_unavailable(exc):
                    LOG.exception("job queue failed worker=%s", thread_id)
                else:
                    LOG.warning("job queue unavailable worker=%s error=%s", thread_id, exc)
                worked = False
            if not worked:
                self.stopping.wait(self.poll_interval)

    def extend_leases(self) -> None:
        """One heartbeat: extend the lease of every job this worker is running."""
        with self._running_lock:
            running = list(self._running.values())
        for job in running:
            try:
                queue.extend_lease(self.session_factory, job, self.lease_seconds, self.clock)
            except Exception as exc:
                if not database_unavailable(exc):
                    LOG.exception("lease not extended job_id=%s type=%s", job.id, job.type)
                else:
                    LOG.warning(
                        "lease not extended job_id=%s type=%s error=%s", job.id, job.type, exc
                    )

    def _keep_leases(self) -> None:
        """A heartbeat every third of a lease, until the pool is stopped."""
        while not self._stopped.wait(self.lease_seconds / 3):
            self.extend_leases()

    def start(self) -> None:
        """Queue the periodic jobs, start the pool threads and the lease heartbeat."""
        for job_type in self.periodic:
            self._queue_periodic(job_type, 0.0)
        self.stopping.clear()
        self._stopped.clear()
        self._pool = [
            threading.Thread(
                target=self._serve, args=(f"{self.worker_id}/{n}",), name=f"xjob-{n}", daemon=True
            )
            for n in range(self.threads)
        ]
        self._heartbeat = threading.Thread(target=self._keep_leases, name="xjob-lease", daemon=True)
        for thread in [*self._pool, self._heartbeat]:
            thread.start()
        LOG.info("xjob started worker=%s threads=%s", self.worker_id, self.threads)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the threads to stop after their current job and wait for them."""
        self.stopping.set()
        for thread in self._pool:
            thread.join(timeout)
        self._stopped.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout)
        LOG.info("xjob stopped worker=%s", self.worker_id)

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (main thread only), then stop gracefully."""

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            LOG.info("xjob stopping worker=%s signal=%s", self.worker_id, signum)
            self.stopping.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            while not self.stopping.wait(1.0):
                pass
            self.stop()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def build_worker(
    conf: cfg.ConfigOpts, session_factory: sessionmaker[Session] | None = None
) -> Worker:
    """A worker configured from ``[xjob]`` over ``[database] connection`` (or the given factory)."""
    if session_factory is None:
        session_factory = make_session_factory(engine_from_conf(conf.database))
    return Worker(
        session_factory,
        threads=conf.xjob.workers,
        poll_interval=conf.xjob.poll_interval,
        lease_seconds=conf.xjob.lease_seconds,
        backoff_base=conf.xjob.backoff_base,
        backoff_max=conf.xjob.backoff_max,
        handlers=load_handler_modules(),
        periodic={"reconcile": interval} if (interval := conf.xjob.reconcile_interval) else None,
    )


def _waiting_for(exc: Exception) -> tuple[int, str] | None:
    """What a failed job waits for and how loud to say so, if its failure is an operating state
    rather than a bug (one line, no traceback, retried later); None for anything else."""
    if isinstance(exc, NotYet):
        return logging.INFO, "its turn"
    if isinstance(exc, PodUnreachable):
        return logging.WARNING, f"a pod region={exc.region_name}"
    if database_unavailable(exc):
        return logging.WARNING, "the database"
    return None

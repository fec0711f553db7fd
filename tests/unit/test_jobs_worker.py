"""The xjob worker, its handler registry and the ``tricircle xjob`` / ``job list`` commands."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from oslo_config import cfg
from sqlalchemy import exc as sa_exc

from tricircle import cli
from tricircle import conf as tricircle_conf
from tricircle.db import jobs
from tricircle.db.models import JobStatus
from tricircle.jobs import handlers, queue
from tricircle.jobs.clock import SYSTEM_CLOCK, Clock
from tricircle.jobs.handlers import JobContext, handler
from tricircle.jobs.worker import Worker, build_worker
from tricircle.pods.client import PodUnreachable


def enqueue(session_factory, job_type: str, resource_id: str, clock: Clock = SYSTEM_CLOCK) -> str:
    with session_factory.begin() as session:
        return queue.enqueue_job(session, job_type, resource_id, "project-1", clock=clock).id


def job_status(session_factory, job_id: str) -> JobStatus:
    with session_factory() as session:
        return jobs.get_job(session, job_id).status


def make_worker(session_factory, registry, **options) -> Worker:
    settings = {"threads": 2, "poll_interval": 0.02, "lease_seconds": 30, "backoff_base": 60}
    return Worker(session_factory, handlers=registry, **(settings | options))


def test_handler_decorator_registers_once():
    @handler("test_registry_job")
    def first(context: JobContext, job) -> None:
        return None

    try:
        assert handlers.find_handler("test_registry_job") is first
        with pytest.raises(ValueError, match="already handled"):
            handler("test_registry_job")(lambda context, job: None)
    finally:
        del handlers.HANDLERS["test_registry_job"]
    with pytest.raises(handlers.UnknownJobType):
        handlers.find_handler("test_registry_job")


def test_worker_runs_jobs_and_records_failures(session_factory, poll):
    seen: list[tuple[str, str]] = []
    seen_lock = threading.Lock()

    def record(context: JobContext, job) -> None:
        with seen_lock:
            seen.append((job.resource_id, context.worker_id))

    def explode(context: JobContext, job) -> None:
        raise RuntimeError(f"pod unreachable for {job.resource_id}")

    registry = {"record": record, "explode": explode}
    ok_ids = [enqueue(session_factory, "record", f"r{n}") for n in range(10)]
    bad_id = enqueue(session_factory, "explode", "router-9")
    unknown_id = enqueue(session_factory, "nobody_handles_this", "router-9")
    worker = make_worker(session_factory, registry)
    worker.start()
    try:
        poll(
            lambda: (
                all(job_status(session_factory, i) != JobStatus.NEW for i in ok_ids)
                and job_status(session_factory, bad_id) == JobStatus.FAILED
                and job_status(session_factory, unknown_id) == JobStatus.FAILED
            ),
            what="all jobs to run",
        )
    finally:
        worker.stop(timeout=10)
    assert {resource for resource, _ in seen} == {f"r{n}" for n in range(10)}
    assert {job_status(session_factory, i) for i in ok_ids} == {JobStatus.SUCCESS}
    with session_factory() as session:
        assert "pod unreachable for router-9" in jobs.get_job(session, bad_id).last_error
        assert "UnknownJobType" in jobs.get_job(session, unknown_id).last_error


def test_stop_lets_the_running_job_finish(session_factory, poll):
    started = threading.Event()
    release = threading.Event()

    def slow(context: JobContext, job) -> None:
        started.set()
        release.wait(10)

    job_id = enqueue(session_factory, "slow", "router-1")
    worker = make_worker(session_factory, {"slow": slow}, threads=1)
    worker.start()
    assert started.wait(10)
    stopper = threading.Thread(target=worker.stop, kwargs={"timeout": 10})
    stopper.start()
    poll(worker.stopping.is_set, what="stop to be requested")
    assert job_status(session_factory, job_id) == JobStatus.RUNNING
    release.set()
    stopper.join(10)
    assert job_status(session_factory, job_id) == JobStatus.SUCCESS


def test_heartbeat_extends_leases_of_running_jobs(session_factory, clock, poll):
    release = threading.Event()
    job_id = enqueue(session_factory, "slow", "router-1", clock)
    worker = make_worker(
        session_factory, {"slow": lambda context, job: release.wait(10)}, clock=clock
    )
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    try:
        poll(lambda: job_status(session_factory, job_id) == JobStatus.RUNNING, what="claim")
        for _ in range(3):
            clock.advance(20)
            worker.extend_leases()
            clock.advance(20)
            assert queue.claim_next_job(session_factory, "thief", 30, clock=clock) is None
        clock.advance(10.001)
        assert queue.claim_next_job(session_factory, "thief", 30, clock=clock).id == job_id
    finally:
        release.set()
        runner.join(10)
    with session_factory() as session:
        assert jobs.get_job(session, job_id).attempts == 2


def test_sigterm_stops_run_gracefully(session_factory):
    done = threading.Event()
    job_id = enqueue(session_factory, "mark", "router-1")
    worker = make_worker(session_factory, {"mark": lambda context, job: done.set()})
    timer = threading.Thread(target=lambda: done.wait(10) and os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    worker.run()
    timer.join(10)
    assert worker.stopping.is_set()
    assert job_status(session_factory, job_id) == JobStatus.SUCCESS
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_build_worker_reads_the_xjob_options(db_url):
    config = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        config.register_opts(opts, group=group)
    config([], project="tricircle", default_config_files=[])
    config.set_override("connection", db_url, group="database")
    config.set_override("workers", 3, group="xjob")
    config.set_override("lease_seconds", 42, group="xjob")
    worker = build_worker(config)
    assert (worker.threads, worker.lease_seconds) == (3, 42)
    worker.session_factory.kw["bind"].dispose()


def test_cli_job_list_prints_a_table(session_factory, engine, tmp_path, capsys):
    first = enqueue(session_factory, "router_setup", "router-1")
    enqueue(session_factory, "configure_routes", "router-1")
    config_file = tmp_path / "tricircle.conf"
    url = engine.url.render_as_string(hide_password=False)
    config_file.write_text(f"[database]\nconnection = {url}\n")
    assert cli.main(["--config-file", str(config_file), "job", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["id", "type", "resource_id", "project_id", "status"]
    assert lines[2].split()[:5] == [first, "router_setup", "router-1", "project-1", "new"]
    assert len(lines) == 4
    argv = ["--config-file", str(config_file), "job", "list", "--type", "configure_routes"]
    assert cli.main(argv) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_worker_logs_a_job_that_waits_without_a_traceback(session_factory, poll, caplog):
    def wait(context: JobContext, job) -> None:
        raise handlers.NotYet(f"server {job.resource_id} still in its pod")

    job_id = enqueue(session_factory, "wait", "server-7")
    worker = make_worker(session_factory, {"wait": wait})
    with caplog.at_level("INFO", logger="tricircle.jobs.worker"):
        worker.start()
        try:
            poll(lambda: job_status(session_factory, job_id) != JobStatus.NEW, what="job run")
        finally:
            worker.stop(timeout=10)
    with session_factory() as session:
        job = jobs.get_job(session, job_id)
    assert "NotYet: server server-7 still in its pod" in job.last_error
    waits = [r for r in caplog.records if "job waits" in r.getMessage()]
    assert waits and all(r.levelname == "INFO" and r.exc_info is None for r in waits)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_pod_that_is_down_fails_the_job_with_one_warning_and_no_traceback(
    session_factory, caplog
):
    def call_pod(context: JobContext, job) -> None:
        raise PodUnreachable("Pod2", "network", "connection refused")

    job_id = enqueue(session_factory, "call_pod", "router-1")
    worker = make_worker(session_factory, {"call_pod": call_pod})
    with caplog.at_level("INFO", logger="tricircle.jobs.worker"):
        assert worker.run_once()
    with session_factory() as session:
        job = jobs.get_job(session, job_id)
    assert job.status == JobStatus.FAILED
    assert job.last_error == "PodUnreachable: network in Pod2: connection refused"
    (record,) = [r for r in caplog.records if r.name == "tricircle.jobs.worker"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "region=Pod2" in record.getMessage() and f"job_id={job_id}" in record.getMessage()


def test_a_database_outage_is_waited_out_with_warnings_and_no_traceback(
    session_factory, monkeypatch, caplog
):
    def lose_database(context: JobContext, job) -> None:
        raise sa_exc.OperationalError("UPDATE jobs", {}, Exception("server closed the connection"))

    job_id = enqueue(session_factory, "lose_database", "router-1")
    worker = make_worker(session_factory, {"lose_database": lose_database})
    with caplog.at_level("INFO", logger="tricircle.jobs.worker"):
        assert worker.run_once()

        def claim_then_stop(*_args) -> None:
            worker.stopping.set()
            lose_database(None, None)

        monkeypatch.setattr(queue, "claim_next_job", claim_then_stop)
        worker._serve("thread-1")
    with session_factory() as session:
        assert jobs.get_job(session, job_id).status == JobStatus.FAILED
    records = [r for r in caplog.records if r.name == "tricircle.jobs.worker"]
    assert [r.levelname for r in records] == ["WARNING", "WARNING"]
    assert all(r.exc_info is None for r in records)
    assert "job waits for the database" in records[0].getMessage()
    assert "job queue unavailable" in records[1].getMessage()


def test_periodic_job_is_queued_at_start_and_again_after_each_success(session_factory, clock):
    runs: list[str] = []
    worker = make_worker(
        session_factory, {"tick": lambda context, job: runs.append(job.id)}, clock=clock
    )
    worker.periodic = {"tick": 60}
    worker._queue_periodic("tick", 0.0)
    worker._queue_periodic("tick", 0.0)  # a second worker starting: coalesced
    assert worker.run_once() and len(runs) == 1
    assert not worker.run_once()
    clock.advance(60)
    assert worker.run_once() and len(runs) == 2
    with session_factory() as session:
        assert [job.status for job in jobs.list_jobs(session, job_type="tick")] == [
            JobStatus.SUCCESS,
            JobStatus.SUCCESS,
            JobStatus.NEW,
        ]

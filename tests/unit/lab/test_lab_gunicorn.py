"""The lab's gunicorn command line, read by gunicorn's own parser: every URL Tricircle's APIs
refuse by ``[request] max_url_length`` reaches them (their JSON 414, not gunicorn's HTML),
gunicorn's request line and header limits stay bounded, and Tricircle's APIs (only they) run the
worker answering gunicorn's own parsing errors in JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser

from tricircle import conf as tricircle_conf
from tricircle.api.gunicorn_worker import JsonErrorWorker
from tricircle.lab import backends, compute_gateway, processes, services
from tricircle.lab.layout import LabLayout

MAX_URL_LENGTH = {opt.name: opt.default for opt in tricircle_conf.request_opts}["max_url_length"]
ARGV = services.gunicorn_argv_for(
    "tricircle-api", "tricircle.api.wsgi:admin_application()", 19999, threads=4
)


def parse(argv: list[str], head: str) -> Request:
    """The request gunicorn, started with ``argv``, reads from ``head`` (line and headers)."""
    assert Path(argv[0]).name == "gunicorn"
    config = Config()
    for name, value in vars(config.parser().parse_args(argv[1:])).items():
        if value is not None and name != "args":
            config.set(name, value)
    return next(RequestParser(config, iter([head.encode("latin-1")]), ("127.0.0.1", 0)))


def request(line: str, **headers: str) -> str:
    fields = "".join(f"{name}: {value}\r\n" for name, value in {"Host": "x", **headers}.items())
    return f"{line}\r\n{fields}\r\n"


def test_a_url_just_over_the_apis_limit_reaches_the_api():
    url = "/v1.0/pods?region_name=" + "x" * MAX_URL_LENGTH
    assert parse(ARGV, request(f"DELETE {url} HTTP/1.1")).query.startswith("region_name=")


def test_the_request_line_stays_bounded():
    with pytest.raises(LimitRequestLine):
        parse(ARGV, request(f"GET /?q={'x' * 8190} HTTP/1.1"))


def test_a_token_header_fits_and_a_huge_header_is_refused():
    token = "gAAAAA" + "x" * 250
    parsed = parse(ARGV, request("GET / HTTP/1.1", **{"X-Auth-Token": token}))
    assert ("X-AUTH-TOKEN", token) in parsed.headers
    with pytest.raises(LimitRequestHeaders):
        parse(ARGV, request("GET / HTTP/1.1", **{"X-Auth-Token": "x" * 8190}))


def worker_class(argv: list[str]) -> str | None:
    """The ``--worker-class`` of gunicorn command line ``argv``, if any."""
    return argv[argv.index("--worker-class") + 1] if "--worker-class" in argv else None


def test_tricircles_apis_run_the_json_error_worker_and_openstacks_services_do_not(
    tmp_path, monkeypatch
):
    started: dict[str, list[str]] = {}
    monkeypatch.setattr(
        processes, "start", lambda _layout, name, argv, env: started.update({name: argv})
    )
    monkeypatch.setattr(processes, "run", lambda *_args: None)
    monkeypatch.setattr(processes, "wait_for_http", lambda *_args: None)
    monkeypatch.setattr(backends, "recreate_databases", lambda _names, port: None)
    monkeypatch.setattr(compute_gateway, "define_flavor", lambda _layout: None)
    layout = LabLayout(root=tmp_path, pods=1, base_port=22000)
    conf = services.start_tricircle(layout, lambda *_args: None)
    services.start_volume_gateway(layout, conf, lambda *_args: None)
    compute_gateway.start(layout, conf, lambda *_args: None, services.tricircle_argv_for)
    apis = {"tricircle-api", "tricircle-volume-api", compute_gateway.PROCESS}
    path = f"{JsonErrorWorker.__module__}.{JsonErrorWorker.__name__}"
    assert {name: worker_class(started[name]) for name in apis} == dict.fromkeys(apis, path)
    assert worker_class(services.gunicorn_argv("keystone", "keystone", 22001)) is None


def test_workers_keep_their_heartbeat_file_in_memory():
    parsed = vars(Config().parser().parse_args(ARGV[1:]))
    assert parsed["worker_tmp_dir"] == ("/dev/shm" if Path("/dev/shm").is_dir() else None)

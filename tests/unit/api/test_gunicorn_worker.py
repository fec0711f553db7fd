"""gunicorn's own request-parsing errors (414, 431, 400) answered by ``JsonErrorWorker`` in the
served API's JSON shape: in-process through gunicorn's parser for each dialect, then end to end
through a real gunicorn on 127.0.0.1 started with the lab's command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.http.parser import RequestParser

from tricircle.api import errors
from tricircle.api.compute.faults import NOVA
from tricircle.api.gunicorn_worker import JsonErrorWorker
from tricircle.api.volume.faults import CINDER
from tricircle.lab import services

SRC = Path(__file__).resolve().parents[3] / "src"
LONG_LINE = f"GET /v2.1/servers?name={'x' * 9000} HTTP/1.1"
HUGE_HEADER = {"X-Auth-Token": "x" * 10000}
DIALECTS = {"compute": NOVA, "volume": CINDER, "admin": errors.ADMIN}
# (fault name in Nova's and Cinder's dialect, in the admin API's) by status: as their apps name it.
FAULT_NAMES = {400: ("badRequest", "badRequest"), 414: ("computeFault", "serverError")}
FAULT_NAMES[431] = FAULT_NAMES[414]

TINY_APP = """
from flask import Flask

from tricircle.api.compute.faults import NOVA

app = Flask(__name__)
NOVA.register(app)


@app.get("/")
def index():
    return {"served": True}
"""


def request(line: str, **headers: str) -> bytes:
    fields = "".join(f"{name}: {value}\r\n" for name, value in {"Host": "x", **headers}.items())
    return f"{line}\r\n{fields}\r\n".encode("latin-1")


def lab_config() -> Config:
    """gunicorn's settings from the lab's command line for Tricircle's APIs."""
    argv = services.tricircle_argv_for("tricircle-api", "app:app", 19999, threads=4)
    config = Config()
    for name, value in vars(config.parser().parse_args(argv[1:])).items():
        if value is not None and name != "args":
            config.set(name, value)
    return config


def parse_error(config: Config, raw: bytes) -> Exception:
    """The exception gunicorn's parser raises reading ``raw``."""
    with pytest.raises(Exception) as raised:
        next(RequestParser(config, iter([raw]), ("127.0.0.1", 0)))
    return raised.value


def answer_of(app: Flask, exc: Exception) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers and body ``JsonErrorWorker`` writes for ``exc`` serving ``app``."""
    config = lab_config()
    worker = JsonErrorWorker(0, os.getpid(), [], None, 30, config, Logger(config))
    worker.wsgi = app
    server, client = socket.socketpair()
    try:
        worker.handle_error(None, server, ("127.0.0.1", 4242), exc)
        server.close()
        return split_response(read_all(client))
    finally:
        worker.tmp.close()
        client.close()


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def split_response(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    headers = dict(field.split(": ", 1) for field in fields)
    return status, headers, body


def app_in(dialect: errors.Dialect) -> Flask:
    app = Flask(f"app_{dialect.name}")
    dialect.register(app)
    return app


def assert_json_fault(answer: tuple[str, dict[str, str], bytes], code: int, name: str) -> None:
    status, headers, body = answer
    assert status.startswith(f"HTTP/1.1 {code} "), answer
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    ((fault_name, fault),) = json.loads(body).items()
    assert fault_name == name and fault["code"] == code, body
    assert "xxxx" not in fault["message"] and len(fault["message"]) < 80, fault


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (request(LONG_LINE), 414),
        (request("GET / HTTP/1.1", **HUGE_HEADER), 431),
        (request("GET / HTTP/1.1", **{f"X-Header-{n}": "x" for n in range(101)}), 431),
        (request("\x01garbage"), 400),
        (request("GET / HTTP/1.1", **{"Bad Name": "x"}), 400),
    ],
    ids=["long-line", "huge-header", "too-many-headers", "garbage-line", "bad-header-name"],
)
def test_parse_errors_are_json_in_each_apis_shape(dialect, raw, code):
    answer = answer_of(app_in(DIALECTS[dialect]), parse_error(lab_config(), raw))
    name = FAULT_NAMES[code][dialect == "admin"]
    assert_json_fault(answer, code, name)


def test_an_app_without_a_dialect_gets_gunicorns_own_answer():
    status, headers, _ = answer_of(Flask("plain"), parse_error(lab_config(), request(LONG_LINE)))
    assert status.startswith("HTTP/1.1 414 ") and headers["Content-Type"] == "text/html"


def test_a_bad_header_from_the_app_is_still_gunicorns_500():
    status, headers, _ = answer_of(app_in(NOVA), InvalidResponseHeader("X-Bad\r\n"))
    assert status.startswith("HTTP/1.1 500 ") and headers["Content-Type"] == "text/html"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def exchange(port: int, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """The answer to ``raw`` sent on a new connection to 127.0.0.1:``port``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        return split_response(read_all(sock))


@pytest.fixture(scope="module")
def served_port(tmp_path_factory) -> Iterator[int]:
    """A real gunicorn, on the lab's command line for Tricircle's APIs, serving a tiny app in
    Nova's dialect on a free loopback port; stopped afterwards."""
    folder = tmp_path_factory.mktemp("tiny_app")
    (folder / "tiny_app.py").write_text(TINY_APP)
    port = free_port()
    argv = services.tricircle_argv_for("test-worker", "tiny_app:app", port)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(SRC)])}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *argv[1:]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not listen within 30 s"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()


def test_a_real_gunicorn_answers_its_parse_errors_in_json(served_port):
    assert_json_fault(exchange(served_port, request(LONG_LINE)), 414, "computeFault")
    huge = request("GET / HTTP/1.1", **HUGE_HEADER)
    assert_json_fault(exchange(served_port, huge), 431, "computeFault")
    assert_json_fault(exchange(served_port, request("garbage")), 400, "badRequest")


def test_a_real_gunicorn_passes_a_normal_request_to_the_app(served_port):
    status, _, body = exchange(served_port, request("GET / HTTP/1.1", Connection="close"))
    assert status == "HTTP/1.1 200 OK" and json.loads(body) == {"served": True}

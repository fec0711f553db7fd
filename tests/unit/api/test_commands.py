"""``tricircle api`` serving the admin API, and ``tricircle pod`` calling it over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug import serving

from tricircle import cli
from tricircle.api import commands as api_commands
from tricircle.conf import CONF
from tricircle.db import migrations
from tricircle.db.engine import make_engine

OS_VARIABLES = ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_REGION_NAME")


@pytest.fixture
def admin_api_url(tmp_path, monkeypatch) -> Iterator[str]:
    """``tricircle api`` in a thread, noauth, on a migrated SQLite file; its URL."""
    database = f"sqlite:///{tmp_path / 'tricircle.sqlite'}"
    engine = make_engine(database)
    migrations.upgrade(engine)
    engine.dispose()
    config = tmp_path / "tricircle.conf"
    config.write_text(f"[database]\nconnection = {database}\n[api]\nauth_strategy = noauth\n")
    servers: list[serving.BaseWSGIServer] = []
    started = threading.Event()

    def make_server(*args, **kwargs) -> serving.BaseWSGIServer:
        servers.append(serving.make_server(*args, **kwargs))
        started.set()
        return servers[0]

    monkeypatch.setattr(api_commands, "make_server", make_server)
    argv = ["--config-file", str(config), "api", "--port", "0"]
    thread = threading.Thread(target=cli.main, args=(argv,), daemon=True)
    thread.start()
    assert started.wait(10), "tricircle api did not start"
    for name in OS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield f"http://127.0.0.1:{servers[0].server_port}"
    servers[0].shutdown()
    thread.join(10)
    CONF.clear()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``tricircle``; its exit code, stdout and stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


def test_pod_add_list_delete_over_noauth(admin_api_url, capsys):
    code, out, _ = run(
        capsys,
        *("pod", "--os-endpoint", admin_api_url, "add", "--region-name", "Pod1"),
        *("--az-name", "az1", "--pod-az-name", "nova", "--dc-name", "dc1"),
    )
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["pod_id", "region_name", "az_name", "pod_az_name", "dc_name"]
    pod_id, *fields = row.split()
    assert fields == ["Pod1", "az1", "nova", "dc1"]

    code, out, _ = run(capsys, "pod", "--os-endpoint", f"{admin_api_url}/v1.0/", "list")
    assert code == 0
    assert pod_id in out

    code, out, _ = run(capsys, "pod", "--os-endpoint", admin_api_url, "delete", pod_id)
    assert (code, out.strip()) == (0, f"Deleted pod {pod_id}")
    code, out, _ = run(capsys, "pod", "--os-endpoint", admin_api_url, "list")
    assert pod_id not in out


def test_api_faults_are_printed_with_exit_code_1(admin_api_url, capsys):
    code, _, err = run(capsys, "pod", "--os-endpoint", admin_api_url, "delete", "no-such-pod")
    assert code == 1
    assert "HTTP 404" in err and "no-such-pod" in err


def test_pod_command_needs_an_endpoint_or_credentials(capsys, monkeypatch):
    for name in OS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "pod", "list")
    assert code == 1
    assert "OS_AUTH_URL" in err


class FakeKeystone(ThreadingHTTPServer):
    """Issues a token whose catalog has the admin API as service type ``tricircle``."""

    daemon_threads = True

    def __init__(self, admin_api_url: str) -> None:
        super().__init__(("127.0.0.1", 0), FakeKeystoneHandler)
        self.admin_api_url = admin_api_url
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v3"


class FakeKeystoneHandler(BaseHTTPRequestHandler):
    server: FakeKeystone

    def log_message(self, *_args: object) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        endpoint = {"interface": "public", "region": "RegionOne", "region_id": "RegionOne"}
        token = {
            "methods": ["password"],
            "expires_at": "2999-01-01T00:00:00Z",
            "user": {"id": "u", "name": "admin", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p", "name": "admin", "domain": {"id": "default", "name": "D"}},
            "roles": [{"id": "r", "name": "admin"}],
            "catalog": [
                {
                    "type": "tricircle",
                    "name": "tricircle",
                    "id": "t",
                    "endpoints": [{**endpoint, "url": self.server.admin_api_url}],
                }
            ],
        }
        data = json.dumps({"token": token}).encode()
        self.send_response(201)
        self.send_header("X-Subject-Token", "token")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_pod_list_finds_the_api_in_the_catalog(admin_api_url, capsys, monkeypatch):
    keystone = FakeKeystone(admin_api_url)
    thread = threading.Thread(target=keystone.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        environ = {
            "OS_AUTH_URL": keystone.url,
            "OS_USERNAME": "admin",
            "OS_PASSWORD": "secret",
            "OS_PROJECT_NAME": "admin",
            "OS_REGION_NAME": "RegionOne",
        }
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        code, out, err = run(capsys, "pod", "list")
        # noauth API without identity headers: the catalog led the call there, policy refused it
        assert code == 1
        assert "HTTP 403" in err
    finally:
        keystone.shutdown()
        keystone.server_close()

"""Faults the lab injects, on real child processes (no services): kill, pause, restart."""

from __future__ import annotations

import http.server
import signal
import sys
import time

import pytest

from tricircle.lab import faults, processes
from tricircle.lab.layout import LabLayout

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, wanted: str) -> str:
    deadline = time.monotonic() + 10
    while _state(pid) != wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    return _state(pid)


def test_ready_url_names_each_http_service_and_nothing_else(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    assert faults.ready_url(layout, "tricircle-compute-api") == "http://127.0.0.1:22004/"
    assert faults.ready_url(layout, "central-neutron") == "http://127.0.0.1:22003/"
    assert faults.ready_url(layout, "pod2-nova-api") == "http://127.0.0.1:22202/v2.1"
    assert faults.ready_url(layout, "pod1-neutron") == "http://127.0.0.1:22100"
    assert faults.ready_url(layout, "pod1-cinder-api") == "http://127.0.0.1:22103/v3"
    for name in ("tricircle-xjob", "pod1-nova-compute", "pod1-neutron-rpc", "pod3-nova-api"):
        assert faults.ready_url(layout, name) is None


def test_a_paused_process_resumes_after_the_block(tmp_path):
    layout = LabLayout(root=tmp_path)
    pid = processes.start(layout, "sleeper", SLEEPER)
    try:
        with faults.paused(layout, "sleeper"):
            assert _wait_state(pid, "T") == "T"
        assert _wait_state(pid, "S") == "S"
    finally:
        processes.stop_all(layout, grace=5)
    with pytest.raises(processes.LabError, match="not running"):
        faults.send(layout, "sleeper", signal.SIGCONT)


def test_stop_waits_for_the_port_and_restart_for_the_answer(tmp_path, monkeypatch):
    layout = LabLayout(root=tmp_path)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler) as s:
        port = s.server_address[1]
    server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}/"
    monkeypatch.setattr(faults, "ready_url", lambda _layout, _name: url)
    processes.start(layout, "web", server, cwd=tmp_path)
    try:
        processes.wait_for_http(layout, "web", url, timeout=20)
        faults.stop(layout, "web", port=port)
        assert not processes.alive(layout, "web") and not processes.port_in_use(port)
        faults.restart(layout, "web")
        assert processes.alive(layout, "web") and processes.port_in_use(port)
    finally:
        processes.stop_all(layout, grace=5)

"""The lab starts, finds and stops exactly its own processes (real child processes, no services)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time

import pytest

from tricircle.lab import processes
from tricircle.lab.layout import LabLayout

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# A parent that starts a child of its own: stopping must take the whole process group.
FORKER = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
    "'import time; time.sleep(60)']); time.sleep(60)",
]


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def test_stop_all_stops_every_started_process_and_its_children(tmp_path):
    layout = LabLayout(root=tmp_path)
    first = processes.start(layout, "first", SLEEPER)
    second = processes.start(layout, "second", FORKER)
    assert processes.alive(layout, "first") and processes.alive(layout, "second")
    stopped = processes.stop_all(layout, grace=5)
    assert stopped == ["first", "second"]
    assert group_members(first) == [] and group_members(second) == []
    assert processes.recorded(layout) == {}
    assert processes.survivors(layout) == []


def _printed(layout: LabLayout, name: str, text: str, times: int) -> int:
    """How often ``text`` is in the log of ``name`` once it is there ``times`` times (10 s)."""
    log = processes.log_path(layout, name)
    deadline = time.monotonic() + 10
    while log.read_text().count(text) < times and time.monotonic() < deadline:
        time.sleep(0.05)
    return log.read_text().count(text)


def test_a_killed_process_is_relaunched_as_it_was_first_started(tmp_path):
    layout = LabLayout(root=tmp_path)
    printer = [
        sys.executable,
        "-c",
        "import os, time; print(os.environ['WHO'], flush=True); time.sleep(60)",
    ]
    first = processes.start(layout, "printer", printer, env={"WHO": "first-start"})
    assert _printed(layout, "printer", "first-start", 1) == 1
    with pytest.raises(processes.LabError, match="still running"):
        processes.relaunch(layout, "printer")
    processes.kill(layout, "printer", signal.SIGKILL, timeout=10)
    assert group_members(first) == [] and not processes.alive(layout, "printer")
    second = processes.relaunch(layout, "printer")
    try:
        assert second != first and processes.alive(layout, "printer")
        assert _printed(layout, "printer", "first-start", 2) == 2
    finally:
        processes.stop_all(layout, grace=5)
    assert not list(layout.pid_dir.iterdir())


def test_relaunch_refuses_a_process_the_lab_never_started(tmp_path):
    with pytest.raises(processes.LabError, match="never started"):
        processes.relaunch(LabLayout(root=tmp_path), "stranger")


def test_survivors_finds_marked_processes_even_outside_their_group(tmp_path):
    layout = LabLayout(root=tmp_path)
    pid = processes.start(layout, "first", SLEEPER)
    other_lab = LabLayout(root=tmp_path / "other")
    assert processes.survivors(layout) == [pid]
    assert processes.survivors(other_lab) == []
    processes.stop_all(layout, grace=5)
    assert processes.survivors(layout) == []


def test_a_reused_pid_is_not_taken_for_ours(tmp_path):
    layout = LabLayout(root=tmp_path)
    layout.pid_dir.mkdir(parents=True)
    (layout.pid_dir / "ghost.pid").write_text(f"{os.getpid()} 1\n")
    assert processes.recorded(layout) == {"ghost": None}
    assert processes.stop_all(layout) == []


def test_wait_for_http_names_the_log_when_the_process_dies(tmp_path):
    layout = LabLayout(root=tmp_path)
    processes.start(layout, "quitter", [sys.executable, "-c", "print('bye')"])
    with pytest.raises(processes.LabError, match=r"quitter exited .*quitter\.log"):
        processes.wait_for_http(layout, "quitter", "http://127.0.0.1:9/", timeout=10)


def test_run_reports_the_failing_command_and_log(tmp_path):
    layout = LabLayout(root=tmp_path)
    with pytest.raises(processes.LabError, match=r"setup: .* exited 3; see .*setup\.log"):
        processes.run(layout, "setup", [sys.executable, "-c", "import sys; sys.exit(3)"])


def test_port_in_use():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert processes.port_in_use(port)
    assert not processes.port_in_use(port)


def test_stop_all_stops_the_last_named_after_the_others(tmp_path):
    layout = LabLayout(root=tmp_path)
    order = tmp_path / "order"

    def stopper(name: str) -> list[str]:
        trap = f'trap "echo {name} >> {order}; exit 0" TERM'
        return ["sh", "-c", f"{trap}; touch {tmp_path / name}; while :; do sleep 0.1; done"]

    processes.start(layout, "backend", stopper("backend"))
    processes.start(layout, "client", stopper("client"))
    deadline = time.monotonic() + 10
    while not all((tmp_path / n).exists() for n in ("backend", "client")):
        assert time.monotonic() < deadline, "the processes never set their traps"
        time.sleep(0.05)
    assert processes.stop_all(layout, grace=5, last=["backend"]) == ["backend", "client"]
    assert order.read_text().split() == ["client", "backend"]
    assert processes.survivors(layout) == []

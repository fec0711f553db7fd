"""Start, find and stop the lab's own processes.

Every process is started in a session of its own, with its output in ``logs/<name>.log``, its PID
and start time in ``pids/<name>.pid`` and how it was launched in ``pids/<name>.launch.json``.
``stop_all`` signals exactly those process groups, so the lab never touches a process it did not
start (PIDs are checked against their recorded start time). ``kill`` and ``relaunch`` take one
process down and start it again as it was first started (fault-injection tests, ``lab kill``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from tricircle.lab.layout import HOST, LabLayout

LOG = logging.getLogger(__name__)
MARKER = "TRICIRCLE_LAB_ROOT"


class LabError(RuntimeError):
    """A lab step failed; the message names the service and, where there is one, its log."""


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (to tell a PID from a reused one), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


# While the lab starts, processes other than the favoured ones (Keystone, which every other
# service waits for) run at this niceness, so that on a small machine the one everybody waits for
# gets the CPU first; ``end_favour`` gives every process normal priority again.
STARTUP_NICENESS = 10
_favoured: set[str] | None = None
_favour_lock = threading.Lock()


def favour(names: set[str]) -> None:
    """From now on, start every process not in ``names`` at ``STARTUP_NICENESS``."""
    global _favoured
    with _favour_lock:
        _favoured = set(names)


def end_favour(layout: LabLayout) -> None:
    """Start processes at normal priority again, and give it back to every running one."""
    global _favoured
    with _favour_lock:
        _favoured = None
        for pid in recorded(layout).values():
            if pid is not None:
                with contextlib.suppress(OSError):  # the group may have just ended
                    os.setpriority(os.PRIO_PGRP, pid, 0)


def start(
    layout: LabLayout,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached as process ``name``; returns its PID."""
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    layout.pid_dir.mkdir(parents=True, exist_ok=True)
    log_path = layout.log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), MARKER: str(layout.root)},
            cwd=cwd,
            start_new_session=True,
        )
    with _favour_lock:
        if _favoured is not None and name not in _favoured:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid, STARTUP_NICENESS)
    launch = {"argv": list(argv), "env": dict(env or {}), "cwd": str(cwd) if cwd else None}
    _write_aside(layout.pid_dir / f"{name}.launch.json", json.dumps(launch))
    _write_aside(layout.pid_dir / f"{name}.pid", f"{process.pid} {_start_time(process.pid)}\n")
    LOG.debug("started process=%s pid=%d log=%s", name, process.pid, log_path)
    return process.pid


def _write_aside(path: Path, text: str) -> None:
    """Write ``path`` whole: other threads read the pid files while processes start."""
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(text)
    partial.rename(path)


def kill(
    layout: LabLayout, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 15.0
) -> None:
    """Send ``sig`` to the process group of ``name`` and wait until the whole group is gone."""
    pid = recorded(layout).get(name)
    if pid is None:
        return
    signal_group(pid, sig)
    deadline = time.monotonic() + timeout
    while _group_alive(pid):
        if time.monotonic() > deadline:
            raise LabError(f"{name} still running {timeout:.0f}s after {sig.name}")
        time.sleep(0.05)
    _reap(pid)


def relaunch(layout: LabLayout, name: str) -> int:
    """Start ``name`` again exactly as it was first started; returns its PID."""
    if alive(layout, name):
        raise LabError(f"{name} is still running")
    spec = layout.pid_dir / f"{name}.launch.json"
    if not spec.exists():
        raise LabError(f"{name} was never started by this lab")
    launch = json.loads(spec.read_text())
    cwd = Path(launch["cwd"]) if launch["cwd"] else None
    return start(layout, name, launch["argv"], env=launch["env"], cwd=cwd)


def tool_path_env() -> dict[str, str]:
    """``PATH`` for processes that run the data plane's tools (``ip``, ``dnsmasq``,
    ``privsep-helper``, ``dhclient``): the venv's scripts, then the system's ``sbin`` folders."""
    venv = str(Path(sys.executable).parent)
    system = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    current = [part for part in os.environ.get("PATH", "").split(":") if part]
    ordered = dict.fromkeys([venv, *system, *current])
    return {"PATH": ":".join(ordered)}


def recorded(layout: LabLayout) -> dict[str, int | None]:
    """Every process the lab recorded: name -> PID if still running, else None."""
    result: dict[str, int | None] = {}
    if not layout.pid_dir.exists():
        return result
    for pid_file in sorted(layout.pid_dir.glob("*.pid")):
        pid_text, _, started = pid_file.read_text().strip().partition(" ")
        pid = int(pid_text)
        result[pid_file.stem] = pid if _start_time(pid) == started else None
    return result


def alive(layout: LabLayout, name: str) -> bool:
    """True if the lab's process ``name`` is running."""
    return recorded(layout).get(name) is not None


def stop_all(layout: LabLayout, grace: float = 10.0, last: Collection[str] = ()) -> list[str]:
    """Stop every process the lab started (TERM, KILL after ``grace`` s), those named in
    ``last`` once the others are gone (backends the others talk to until they exit); returns
    their names."""
    running = {name: pid for name, pid in recorded(layout).items() if pid is not None}
    first = {name: pid for name, pid in running.items() if name not in last}
    for group in (first, {name: running[name] for name in running.keys() - first.keys()}):
        _stop_groups(list(group.values()), grace)
    for pid_file in layout.pid_dir.glob("*.pid") if layout.pid_dir.exists() else []:
        pid_file.unlink()
        pid_file.with_name(f"{pid_file.stem}.launch.json").unlink(missing_ok=True)
    return sorted(running)


def _stop_groups(pids: list[int], grace: float) -> None:
    """TERM each process group, KILL what still runs after ``grace`` s, and reap them."""
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _group_alive(pid):
            signal_group(pid, signal.SIGKILL)
    for pid in pids:
        _reap(pid)


def survivors(layout: LabLayout) -> list[int]:
    """PIDs of live processes started by this lab (marked in their environment), if any."""
    marker = f"{MARKER}={layout.root}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        pid = int(environ.parent.name)
        try:
            if pid != os.getpid() and marker in environ.read_bytes().split(b"\0"):
                if _start_time(pid) is not None:
                    found.append(pid)
        except OSError:
            continue
    return found


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid``, if it still exists."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` is alive (zombies excluded)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_in_use(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def wait_for_http(layout: LabLayout, name: str, url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers below 500; fail early, naming the log, if ``name`` dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except (urllib.error.URLError, OSError):
            pass
        if not alive(layout, name):
            raise LabError(f"{name} exited before answering {url}; see {log_path(layout, name)}")
        if time.monotonic() > deadline:
            raise LabError(
                f"{name} did not answer {url} within {timeout:.0f}s; see {log_path(layout, name)}"
            )
        time.sleep(0.2)


def log_path(layout: LabLayout, name: str) -> Path:
    """The log file of the lab's process ``name``."""
    return layout.log_dir / f"{name}.log"


def run(
    layout: LabLayout,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> str:
    """Run a setup command to completion, output appended to ``logs/<name>.log``; returns stdout."""
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    with open(log_path(layout, name), "a") as log:
        log.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise LabError(
            f"{name}: `{' '.join(argv[:3])} ...` exited {result.returncode}; "
            f"see {log_path(layout, name)}"
        )
    return result.stdout

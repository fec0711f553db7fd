"""Faults the lab injects: take one of its processes down (a signal) and start it again.

``lab up`` builds every service from fresh state; here a process is only killed, paused or
restarted on the configuration and state it already has, as a crash or an operator's restart
would. Services answering HTTP are waited for until they answer again.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator

from tricircle.lab import broker, processes, tricircle_postgres
from tricircle.lab.layout import HOST, LabLayout

_POD_SERVICES = {
    "neutron": "neutron",
    "nova-api": "nova",
    "cinder-api": "cinder",
    "placement": "placement",
}
_SHARED_SERVICES = {
    "keystone": "keystone",
    "glance": "glance",
    "tricircle-api": "tricircle",
    "central-neutron": "central_neutron",
    "tricircle-compute-api": "compute_gateway",
    "tricircle-volume-api": "volume_gateway",
}


def ready_url(layout: LabLayout, name: str) -> str | None:
    """The URL that answers once the lab's HTTP service ``name`` is up; None for other processes."""
    if name in _SHARED_SERVICES:
        return f"http://{HOST}:{layout.port(_SHARED_SERVICES[name])}/"
    for pod in layout.pod_layouts:
        service = name.removeprefix(f"{pod.name}-")
        if service != name and service in _POD_SERVICES:
            return pod.url(_POD_SERVICES[service])
    return None


def stop(
    layout: LabLayout,
    name: str,
    sig: signal.Signals = signal.SIGTERM,
    port: int | None = None,
    timeout: float = 15.0,
) -> None:
    """Take ``name`` down with ``sig`` (its whole process group); wait until ``port`` is closed."""
    processes.kill(layout, name, sig, timeout)
    deadline = time.monotonic() + timeout
    while port is not None and processes.port_in_use(port):
        if time.monotonic() > deadline:
            raise processes.LabError(f"port {port} of {name} still open {timeout:.0f}s after stop")
        time.sleep(0.1)


def restart(layout: LabLayout, name: str) -> None:
    """Start ``name`` again as it was first started; wait until an HTTP service answers, or
    Tricircle's PostgreSQL or the pods' broker takes connections."""
    if not processes.alive(layout, name):
        processes.relaunch(layout, name)
    if name == tricircle_postgres.PROCESS:
        tricircle_postgres.wait_ready(layout)
        return
    if name == broker.PROCESS:
        broker.wait_ready(layout)
        return
    url = ready_url(layout, name)
    if url is not None:
        processes.wait_for_http(layout, name, url)


def send(layout: LabLayout, name: str, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group of ``name`` (STOP pauses it, CONT resumes it)."""
    pid = processes.recorded(layout).get(name)
    if pid is None:
        raise processes.LabError(f"{name} is not running")
    processes.signal_group(pid, sig)


@contextlib.contextmanager
def paused(layout: LabLayout, name: str) -> Iterator[None]:
    """``name`` frozen (SIGSTOP to its process group) for the block, then resumed."""
    send(layout, name, signal.SIGSTOP)
    try:
        yield
    finally:
        send(layout, name, signal.SIGCONT)

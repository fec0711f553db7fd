"""Take one pod's Neutron down and bring it back, keeping its database (fault-injection tests).

``lab up`` builds a pod's Neutron from a fresh database; here the server is only stopped and
restarted on the same configuration and state, as an operator restarting a pod would do.
"""

from __future__ import annotations

import os
import signal
import time

from tricircle.lab import processes, services
from tricircle.lab.layout import LabLayout, PodLayout


def neutron_process(pod: PodLayout) -> str:
    """The lab's process name of a pod's Neutron."""
    return f"{pod.name}-neutron"


def stop_pod_neutron(layout: LabLayout, pod: PodLayout, timeout: float = 15.0) -> None:
    """Stop the pod's Neutron (TERM to its process group) and wait until its port is closed."""
    name = neutron_process(pod)
    pid = processes.recorded(layout).get(name)
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while processes.alive(layout, name) or processes.port_in_use(pod.port("neutron")):
        if time.monotonic() > deadline:
            raise processes.LabError(f"{name} still running {timeout:.0f}s after SIGTERM")
        time.sleep(0.1)


def start_pod_neutron(layout: LabLayout, pod: PodLayout) -> None:
    """Start the pod's Neutron again on its existing configuration and database."""
    name = neutron_process(pod)
    if processes.alive(layout, name):
        return
    conf = pod.dir / "neutron" / "neutron.conf"
    processes.start(
        layout,
        name,
        services.gunicorn_argv(name, "neutron", pod.port("neutron")),
        env={"OS_NEUTRON_CONFIG_DIR": str(conf.parent), "OS_NEUTRON_CONFIG_FILES": conf.name},
    )
    processes.wait_for_http(layout, name, pod.url("neutron"))

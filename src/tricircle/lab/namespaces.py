"""Network namespaces of the lab's data plane: listing, running in, and removing them.

The lab names its own namespaces with its prefix (guests, the outside host). The pods' L3 and DHCP
agents name theirs ``qrouter-<id>`` and ``qdhcp-<id>``; those belong to this lab when they hold an
interface of the lab's Open vSwitch, or when nothing is left in them (their switch died with a
crashed lab). Removing a namespace first kills every process inside it (dnsmasq, dhclient, a
guest's commands), since those run in sessions of their own that ``lab down`` never started.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence

from tricircle.lab.layout import LabLayout

LOG = logging.getLogger(__name__)
AGENT_PREFIXES = ("qrouter-", "qdhcp-", "snat-", "fip-")


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip`` with ``args``; returns its output."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def all_namespaces() -> list[str]:
    """Every named network namespace on the machine."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def exists(namespace: str) -> bool:
    """True if the named namespace exists."""
    return os.path.exists(f"/var/run/netns/{namespace}")


def links(namespace: str) -> list[str]:
    """Names of the network devices in ``namespace`` (empty if it cannot be read)."""
    result = subprocess.run(
        ["ip", "-n", namespace, "-o", "link", "show"], capture_output=True, text=True, check=False
    )
    return [line.split(":")[1].strip().split("@")[0] for line in result.stdout.splitlines()]


def machine_links() -> set[str]:
    """Names of the network devices in the machine's own namespace."""
    output = ip("-o", "link", "show")
    return {line.split(":")[1].strip().split("@")[0] for line in output.splitlines()}


def ping_argv(address: str, count: int = 3) -> list[str]:
    """A quick ping of ``address``: ``count`` probes 0.3 s apart, each waiting 1 s at most."""
    return ["ping", "-c", str(count), "-W", "1", "-i", "0.3", address]


def received(ping_output: str) -> int:
    """How many replies a ping's output reports (0 if it reports none)."""
    found = re.search(r"(\d+) received", ping_output)
    return int(found.group(1)) if found else 0


def create(namespace: str) -> None:
    """Make ``namespace`` (if missing) with its loopback up."""
    if not exists(namespace):
        ip("netns", "add", namespace)
    ip("-n", namespace, "link", "set", "lo", "up")


def exec_argv(namespace: str, command: Sequence[str]) -> list[str]:
    """The command line running ``command`` inside ``namespace``."""
    return ["ip", "netns", "exec", namespace, *command]


def remove(namespace: str) -> None:
    """Kill every process inside ``namespace``, then delete it."""
    for _ in range(50):
        pids = [int(pid) for pid in ip("netns", "pids", namespace, check=False).split()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    ip("netns", "delete", namespace, check=False)
    LOG.debug("removed namespace=%s", namespace)


def lab_namespaces(layout: LabLayout, ovs_interfaces: set[str]) -> list[str]:
    """The namespaces of this lab: its own prefix, and agents' ones on its switch or left empty."""
    found = []
    for namespace in all_namespaces():
        if namespace.startswith(layout.namespace_prefix):
            found.append(namespace)
        elif namespace.startswith(AGENT_PREFIXES):
            devices = set(links(namespace)) - {"lo"}
            if not devices or devices & ovs_interfaces:
                found.append(namespace)
    return found


def remove_lab_namespaces(layout: LabLayout, ovs_interfaces: set[str]) -> list[str]:
    """Remove every namespace of this lab; returns their names."""
    removed = lab_namespaces(layout, ovs_interfaces)
    for namespace in removed:
        remove(namespace)
    return removed

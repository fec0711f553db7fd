"""The lab's own Open vSwitch: its ``ovsdb-server`` and ``ovs-vswitchd`` and the physical wiring.

Everything lives under ``<state>/ovs`` (database, sockets, pid files); the machine's own Open
vSwitch service, if any, is never used. The kernel has no Open vSwitch module, so every bridge uses
the userspace datapath (``datapath_type=netdev``), which also carries 802.1Q tags the kernel cannot.

Wiring (the "datacenter"): each pod has a bridge for ``physnet1`` (its OVS agent patches it to the
pod's integration bridge); every pod's physnet bridge is patched, as a trunk, into one lab switch
bridge, so a VLAN on ``physnet1`` reaches every pod, as the pods' physical switches would carry it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tricircle.lab import namespaces, processes
from tricircle.lab.layout import LabLayout

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
DATAPATH = "netdev"


def env(layout: LabLayout) -> dict[str, str]:
    """Environment pointing every OVS tool at the lab's own directories."""
    directory = str(layout.ovs_dir)
    return {
        "OVS_RUNDIR": directory,
        "OVS_LOGDIR": directory,
        "OVS_DBDIR": directory,
        "OVS_SYSCONFDIR": directory,
    }


def vsctl(layout: LabLayout, *args: str) -> str:
    """Run ``ovs-vsctl`` against the lab's database; returns its output."""
    argv = ["ovs-vsctl", f"--db=unix:{layout.ovsdb_socket}", "--timeout=10", *args]
    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **env(layout)}, check=False
    )
    if result.returncode != 0:
        raise processes.LabError(f"ovs-vsctl {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result.stdout


def start(layout: LabLayout) -> None:
    """Start the lab's OVSDB server and switch daemon, then wire the pods' physnet bridges."""
    if not shutil.which("ovs-vswitchd") or not SCHEMA.exists():
        raise processes.LabError(
            "openvswitch: ovs-vswitchd is not installed; run the README's setup (tools/setup.sh)"
        )
    directory = layout.ovs_dir
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "conf.db"
    if not database.exists():
        subprocess.run(["ovsdb-tool", "create", str(database), str(SCHEMA)], check=True)
    ovs_env = env(layout)
    processes.start(
        layout,
        "ovsdb-server",
        [
            "ovsdb-server",
            str(database),
            f"--remote=punix:{layout.ovsdb_socket}",
            f"--unixctl={directory / 'ovsdb-server.ctl'}",
            f"--pidfile={directory / 'ovsdb-server.pid'}",
            "-vconsole:warn",
        ],
        env=ovs_env,
    )
    _wait_for_socket(layout, "ovsdb-server", layout.ovsdb_socket)
    vsctl(layout, "--no-wait", "init")
    processes.start(
        layout,
        "ovs-vswitchd",
        [
            "ovs-vswitchd",
            f"unix:{layout.ovsdb_socket}",
            f"--unixctl={directory / 'ovs-vswitchd.ctl'}",
            f"--pidfile={directory / 'ovs-vswitchd.pid'}",
            "-vconsole:warn",
        ],
        env=ovs_env,
    )
    _wait_for_socket(layout, "ovs-vswitchd", directory / "ovs-vswitchd.ctl")
    _wire(layout)


def _wire(layout: LabLayout) -> None:
    """The lab's two switches and each pod's bridges patched into them: the physnet1 bridge into
    the switch (a trunk: every VLAN reaches every pod) and the external bridge into the outside
    switch (each pod's uplink)."""
    commands = _bridge_commands(layout.switch_bridge) + _bridge_commands(layout.outside_bridge)
    for pod in layout.pod_layouts:
        commands += _bridge_commands(pod.physnet_bridge)
        commands += _patch_commands(pod.physnet_bridge, layout.switch_bridge, pod.index)
        commands += _bridge_commands(pod.external_bridge)
        commands += _patch_commands(pod.external_bridge, layout.outside_bridge, pod.index)
    vsctl(layout, *commands[1:])


def _bridge_commands(bridge: str) -> list[str]:
    """``ovs-vsctl`` commands making ``bridge`` on the userspace datapath (each led by ``--``)."""
    return ["--", "--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge,
            f"datapath_type={DATAPATH}"]  # fmt: skip


def _patch_commands(bridge: str, switch: str, index: int) -> list[str]:
    """``ovs-vsctl`` commands joining ``bridge`` to ``switch`` by a pair of patch ports."""
    to_switch, from_switch = f"{bridge}-sw", f"{switch}-{index}"
    commands: list[str] = []
    for port, owner, peer in ((to_switch, bridge, from_switch), (from_switch, switch, to_switch)):
        commands += ["--", "--may-exist", "add-port", owner, port]
        commands += ["--", "set", "Interface", port, "type=patch", f"options:peer={peer}"]
    return commands


def stop(layout: LabLayout) -> None:
    """Ask the lab's switch daemon to exit and remove its datapath and ports (their tap devices
    outlive a plain TERM)."""
    control = layout.ovs_dir / "ovs-vswitchd.ctl"
    if control.exists():
        subprocess.run(
            ["ovs-appctl", "-t", str(control), "--timeout=10", "exit", "--cleanup"],
            capture_output=True,
            check=False,
        )


def remove_leftover_devices(layout: LabLayout, names: set[str]) -> list[str]:
    """Delete devices the lab's switch left in the machine's namespace: ``names`` (its interfaces,
    read while it ran) and its bridges, plus the userspace datapath's own ``ovs-netdev`` when no
    switch daemon runs on the machine at all. Returns what was deleted."""
    wanted = names | _bridges(layout)
    if subprocess.run(["pgrep", "-x", "ovs-vswitchd"], capture_output=True).returncode != 0:
        wanted.add("ovs-netdev")
    present = namespaces.machine_links()
    deleted = sorted(wanted & present)
    for name in deleted:
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)
    return deleted


def leftover_bridges(layout: LabLayout) -> list[str]:
    """The lab's bridges still present as devices in the machine's namespace."""
    return sorted(_bridges(layout) & namespaces.machine_links())


def _bridges(layout: LabLayout) -> set[str]:
    bridges = {layout.switch_bridge, layout.outside_bridge}
    for pod in layout.pod_layouts:
        bridges |= {pod.integration_bridge, pod.physnet_bridge, pod.external_bridge}
    return bridges


def interface_names(layout: LabLayout) -> set[str]:
    """Names of every interface on the lab's bridges (empty if its OVSDB does not answer)."""
    if not layout.ovsdb_socket.exists():
        return set()
    try:
        output = vsctl(layout, "--bare", "--columns=name", "list", "Interface")
    except processes.LabError:
        return set()
    return {line.strip() for line in output.splitlines() if line.strip()}


def _wait_for_socket(layout: LabLayout, name: str, socket: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not socket.exists():
        if not processes.alive(layout, name):
            raise processes.LabError(f"{name} exited; see {processes.log_path(layout, name)}")
        if time.monotonic() > deadline:
            raise processes.LabError(
                f"{name} made no {socket} within {timeout:.0f}s; "
                f"see {processes.log_path(layout, name)}"
            )
        time.sleep(0.1)

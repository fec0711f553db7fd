"""Guests: a server of the lab is a network namespace with one veth per port, configured by DHCP.

The hypervisor side of each veth (``tap<port id prefix>``, the name Nova gives the VIF) stays in the
machine's namespace with no address (IPv6 off, so not even a link-local one) and is added to the
pod's integration bridge by os-vif; the guest side (``eth<n>``) holds the port's MAC inside the
guest's namespace and gets its address, gateway and routes from the pod's DHCP agent through
``dhclient``, whose hook (``tricircle-lab-dhcp-hook``) applies them inside the namespace only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tricircle.lab import namespaces
from tricircle.lab.layout import LabLayout

DHCP_HOOK = Path(sys.executable).parent / "tricircle-lab-dhcp-hook"


class GuestError(RuntimeError):
    """A guest could not be found or wired."""


def state_dir(layout: LabLayout, server_id: str) -> Path:
    """Where a guest keeps its DHCP leases and pid files."""
    return layout.root / "guests" / server_id


def interfaces(layout: LabLayout, server_id: str) -> list[str]:
    """The guest's own interfaces (``eth<n>``), in order."""
    namespace = layout.guest_namespace(server_id)
    return sorted(name for name in namespaces.links(namespace) if name.startswith("eth"))


def plug(layout: LabLayout, server_id: str, host_name: str, mac: str, mtu: int) -> str:
    """Give the guest a new interface with ``mac``, paired with ``host_name`` on the hypervisor
    side (left down for os-vif to add to the bridge); returns the guest's interface name."""
    namespace = layout.guest_namespace(server_id)
    namespaces.create(namespace)
    if host_name in namespaces.machine_links():
        namespaces.ip("link", "delete", host_name, check=False)
    used = set(interfaces(layout, server_id))
    guest_name = next(f"eth{n}" for n in range(64) if f"eth{n}" not in used)
    namespaces.ip(
        "link", "add", host_name, "mtu", str(mtu), "type", "veth",
        "peer", "name", guest_name, "netns", namespace,
    )  # fmt: skip
    Path(f"/proc/sys/net/ipv6/conf/{host_name}/disable_ipv6").write_text("1\n")
    namespaces.ip("link", "set", host_name, "up")
    namespaces.ip("-n", namespace, "link", "set", guest_name, "address", mac, "mtu", str(mtu))
    # A veth leaves TCP and UDP checksums for the "hardware" to fill in; the userspace switch
    # never does, and its conntrack would find every such packet invalid. Checksum in software.
    subprocess.run(
        namespaces.exec_argv(namespace, ["ethtool", "-K", guest_name, "tx", "off"]),
        capture_output=True,
        check=True,
    )
    namespaces.ip("-n", namespace, "link", "set", guest_name, "up")
    return guest_name


def guest_interface(layout: LabLayout, server_id: str, mac: str) -> str | None:
    """The guest's interface holding ``mac``, if any."""
    namespace = layout.guest_namespace(server_id)
    for name in interfaces(layout, server_id):
        output = namespaces.ip("-n", namespace, "-o", "link", "show", name, check=False)
        if mac.lower() in output.lower():
            return name
    return None


# The guest's DHCP client asks for what the hook applies, and keeps asking every few seconds
# for ten minutes, as a cloud image's client does at boot: with dhclient's defaults (a backoff
# growing to two minutes, giving up after 60 s for five minutes), a pod whose DHCP server or port
# wiring is late on a loaded machine left the guest without an address for minutes.
DHCP_CLIENT_CONF = """\
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, routers, interface-mtu, rfc3442-classless-static-routes;
initial-interval 1;
backoff-cutoff 4;
timeout 600;
retry 5;
"""


def start_dhcp(layout: LabLayout, server_id: str, guest_name: str) -> None:
    """Run a DHCP client for ``guest_name`` inside the guest, in the background, as a VM's OS
    would at boot; it logs every exchange to ``dhclient-<interface>.log`` in the guest's state."""
    directory = state_dir(layout, server_id)
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "dhclient.conf"
    conf.write_text(DHCP_CLIENT_CONF)
    command = [
        "dhclient", "-d", "-v", "-4",
        "-cf", str(conf),
        "-sf", str(DHCP_HOOK),
        "-pf", str(directory / f"dhclient-{guest_name}.pid"),
        "-lf", str(directory / f"dhclient-{guest_name}.leases"),
        guest_name,
    ]  # fmt: skip
    with open(directory / f"dhclient-{guest_name}.log", "ab") as log:
        subprocess.Popen(
            namespaces.exec_argv(layout.guest_namespace(server_id), command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def unplug(layout: LabLayout, server_id: str, guest_name: str) -> None:
    """Remove one interface (and its DHCP client) from a guest."""
    namespace = layout.guest_namespace(server_id)
    pid_file = state_dir(layout, server_id) / f"dhclient-{guest_name}.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], capture_output=True, check=False)
        pid_file.unlink()
    namespaces.ip("-n", namespace, "link", "delete", guest_name, check=False)


def remove(layout: LabLayout, server_id: str) -> None:
    """Remove the whole guest: its processes, interfaces (both veth ends) and namespace; its
    logs move to ``.lab/logs/guests/<server>-<name>``."""
    namespace = layout.guest_namespace(server_id)
    if namespaces.exists(namespace):
        namespaces.remove(namespace)
    directory = state_dir(layout, server_id)
    kept = layout.log_dir / "guests"
    for path in directory.glob("*") if directory.exists() else []:
        if path.suffix == ".log":  # the DHCP client's exchanges outlive the guest, for diagnosis
            kept.mkdir(parents=True, exist_ok=True)
            path.replace(kept / f"{server_id}-{path.name}")
        else:
            path.unlink()
    if directory.exists():
        directory.rmdir()


def console_log(layout: LabLayout, server_id: str) -> str:
    """What the guest's serial console shows, as a booted VM's does: its boot lines, then each
    interface's DHCP client log (of the running guest, else the logs a removed one left), then
    a login prompt. Nova cuts it to the ``length`` a caller asks for."""
    directory = state_dir(layout, server_id)
    logs = sorted(directory.glob("dhclient-*.log")) if directory.exists() else []
    if not logs:
        logs = sorted((layout.log_dir / "guests").glob(f"{server_id}-dhclient-*.log"))
    lines = [
        f"[    0.000000] tricircle lab guest {server_id}",
        f"[    0.000000] network namespace {layout.guest_namespace(server_id)}",
        "[    0.000000] console: serial console enabled",
        f"[    0.100000] {len(logs)} network interface(s) with a DHCP client",
        "Starting network: asking each interface's address by DHCP",
    ]
    for log in logs:
        lines.append(f"--- {log.name} ---")
        lines.extend(log.read_text(errors="replace").splitlines())
    lines.extend(["", f"lab-guest-{server_id[:8]} login: "])
    return "\n".join(lines)


def command_argv(layout: LabLayout, server_id: str, command: list[str]) -> list[str]:
    """The command line running ``command`` in server ``server_id``'s guest."""
    namespace = layout.guest_namespace(server_id)
    if not namespaces.exists(namespace):
        raise GuestError(f"server {server_id} has no running guest in the lab in {layout.root}")
    return namespaces.exec_argv(namespace, command)


def run(
    layout: LabLayout, server_id: str, command: list[str], timeout: float = 30
) -> subprocess.CompletedProcess:
    """Run ``command`` in server ``server_id``'s guest; its exit status, output and errors."""
    return subprocess.run(
        command_argv(layout, server_id, command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ping_replies(layout: LabLayout, server_id: str, address: str, count: int = 3) -> int:
    """How many of ``count`` pings from the guest to ``address`` were answered."""
    return namespaces.received(run(layout, server_id, namespaces.ping_argv(address, count)).stdout)


def address(layout: LabLayout, server_id: str, guest_name: str = "eth0") -> str | None:
    """The IPv4 address an interface of the guest holds (from DHCP), if any."""
    output = run(layout, server_id, ["ip", "-4", "-o", "addr", "show", "dev", guest_name]).stdout
    found = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", output)
    return found.group(1) if found else None

"""The outside host: the lab's internet, beyond every pod's external network.

A network namespace joined by a veth to the lab's outside switch, into which each pod's external
bridge is patched. It holds ``172.24.<3+i>.1`` for pod ``i``: the gateway of the external subnet
the lab plans in that pod, as devstack's host is for its ``public`` network. The machine's own
namespace keeps no address in those ranges: the veth's switch side has none (IPv6 off too).
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path

from tricircle.lab import identity, namespaces, openvswitch, processes, services
from tricircle.lab.layout import PUBLIC_NETWORK, LabLayout
from tricircle.lab.services import Progress

INTERFACE = "eth0"


def switch_port(layout: LabLayout) -> str:
    """The veth end on the outside switch (a device of the machine's namespace)."""
    return f"{layout.outside_bridge}h"


def start(layout: LabLayout) -> None:
    """Make the outside host on the outside switch with every pod's uplink gateway address."""
    namespace = layout.outside_namespace
    namespaces.create(namespace)
    port = switch_port(layout)
    if port not in namespaces.machine_links():
        namespaces.ip(
            "link", "add", port, "type", "veth", "peer", "name", INTERFACE, "netns", namespace
        )
    Path(f"/proc/sys/net/ipv6/conf/{port}/disable_ipv6").write_text("1\n")
    namespaces.ip("link", "set", port, "up")
    openvswitch.vsctl(layout, "--may-exist", "add-port", layout.outside_bridge, port)
    # The userspace switch never fills in checksums a veth leaves to "hardware" (see guests).
    subprocess.run(
        namespaces.exec_argv(namespace, ["ethtool", "-K", INTERFACE, "tx", "off"]),
        capture_output=True,
        check=True,
    )
    for pod in layout.pod_layouts:
        prefix_length = pod.outside_cidr.split("/")[1]
        namespaces.ip(
            "-n", namespace, "addr", "replace", f"{pod.outside_gateway}/{prefix_length}",
            "dev", INTERFACE,
        )  # fmt: skip
    namespaces.ip("-n", namespace, "link", "set", INTERFACE, "up")


def command_argv(layout: LabLayout, command: list[str]) -> list[str]:
    """The command line running ``command`` in the outside host."""
    return namespaces.exec_argv(layout.outside_namespace, command)


def run(layout: LabLayout, command: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    """Run ``command`` in the outside host; its exit status, output and errors."""
    return subprocess.run(
        command_argv(layout, command), capture_output=True, text=True, timeout=timeout, check=False
    )


def ping_replies(layout: LabLayout, address: str, count: int = 3) -> int:
    """How many of ``count`` pings from the outside host to ``address`` were answered."""
    return namespaces.received(run(layout, namespaces.ping_argv(address, count)).stdout)


def make_public_network(layout: LabLayout, progress: Progress, timeout: float = 90.0) -> str:
    """The admin's ``public`` external network on RegionOne, placed in Pod1 (flat on Pod1's
    external physnet, devstack's 172.24.4.0/24 with the outside host as gateway, no DHCP), as an
    operator would make it; returns its ID once Tricircle has copied it and its subnet to Pod1."""
    pod = layout.pod_layouts[0]
    session = identity.admin_session(layout)
    top = services.central_neutron_url(layout)
    network = session.post(
        f"{top}/v2.0/networks",
        json={
            "network": {
                "name": PUBLIC_NETWORK,
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": pod.external_physnet,
                "availability_zone_hints": [pod.region],
            }
        },
    ).json()["network"]
    first = ipaddress.ip_network(pod.outside_cidr)
    subnet = session.post(
        f"{top}/v2.0/subnets",
        json={
            "subnet": {
                "name": f"{PUBLIC_NETWORK}-subnet",
                "network_id": network["id"],
                "ip_version": 4,
                "cidr": pod.outside_cidr,
                "gateway_ip": pod.outside_gateway,
                "allocation_pools": [{"start": str(first[10]), "end": str(first[250])}],
                "enable_dhcp": False,
            }
        },
    ).json()["subnet"]
    deadline = time.monotonic() + timeout
    while True:
        copies = session.get(
            f"{pod.url('neutron')}/v2.0/subnets", params={"name": subnet["id"]}
        ).json()["subnets"]
        if copies:
            break
        if time.monotonic() > deadline:
            raise processes.LabError(
                f"{PUBLIC_NETWORK} ({network['id']}) not copied to {pod.region} within "
                f"{timeout:.0f}s; see the tricircle-xjob log"
            )
        time.sleep(0.5)
    progress("outside", f"{PUBLIC_NETWORK} {pod.outside_cidr} in {pod.region} ({network['id']})")
    return network["id"]

"""``tricircle-lab-dhcp-hook``: dhclient's script for the lab's guests.

dhclient runs inside a guest's namespace and calls this hook with the lease in its environment
(``reason``, ``interface``, ``new_ip_address``, ``new_subnet_mask``, ``new_routers``,
``new_rfc3442_classless_static_routes``, ``new_interface_mtu``). The hook applies the address and
routes to that interface with ``ip``, inside the namespace only. Unlike Debian's own script it
never writes ``/etc/resolv.conf`` or the host name, which belong to the machine.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections.abc import Mapping

BOUND = {"BOUND", "RENEW", "REBIND", "REBOOT"}
RELEASED = {"EXPIRE", "FAIL", "RELEASE", "STOP"}


def classless_routes(value: str) -> list[tuple[str, str]]:
    """(destination CIDR, next hop) pairs from dhclient's option 121 form:
    ``"24 10 20 0 100 0 0 85 0 10 10 0 1"`` is 10.20.0.0/24 via 100.0.0.85 and default via
    10.10.0.1 (a prefix length, its significant octets, then four octets of the router)."""
    octets = [int(part) for part in value.split()]
    routes = []
    while octets:
        width = octets.pop(0)
        significant = (width + 7) // 8
        destination = octets[:significant] + [0] * (4 - significant)
        router = octets[significant : significant + 4]
        del octets[: significant + 4]
        network = ipaddress.IPv4Network((".".join(map(str, destination)), width))
        routes.append((str(network), ".".join(map(str, router))))
    return routes


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], capture_output=True, check=False)


def apply(lease: Mapping[str, str]) -> int:
    """Apply one dhclient event; returns the hook's exit status."""
    reason = lease.get("reason", "")
    device = lease.get("interface", "")
    if reason == "PREINIT":
        _ip("link", "set", device, "up")
        return 0
    if reason in RELEASED:
        _ip("-4", "addr", "flush", "dev", device)
        return 0
    if reason not in BOUND:
        return 1 if reason == "TIMEOUT" else 0
    address = lease["new_ip_address"]
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{lease['new_subnet_mask']}").prefixlen
    if lease.get("old_ip_address") not in (None, "", address):
        _ip("-4", "addr", "flush", "dev", device)
    if lease.get("new_interface_mtu"):
        _ip("link", "set", device, "mtu", lease["new_interface_mtu"])
    _ip("-4", "addr", "replace", f"{address}/{prefix}", "dev", device)
    routes = classless_routes(lease.get("new_rfc3442_classless_static_routes", ""))
    if not routes and lease.get("new_routers"):
        routes = [("default", lease["new_routers"].split()[0])]
    for destination, router in routes:
        if router == "0.0.0.0":
            _ip("-4", "route", "replace", destination, "dev", device)
        else:
            _ip("-4", "route", "replace", destination, "via", router, "dev", device)
    return 0


def main() -> int:
    """Entry point called by dhclient."""
    return apply(os.environ)


if __name__ == "__main__":
    sys.exit(main())

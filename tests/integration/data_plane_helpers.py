"""Helpers of the data-plane tests: commands inside guests, pings and TCP between them."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from keystoneauth1 import adapter

from tricircle.lab import guests
from tricircle.lab.layout import LabLayout

# A one-connection TCP service for a guest: answers "<its own address> got <what it received>".
ECHO_SERVER = """
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", int(sys.argv[1])))
listener.listen(1)
print("listening", flush=True)
while True:
    connection, peer = listener.accept()
    data = connection.recv(1024)
    connection.sendall(connection.getsockname()[0].encode() + b" got " + data)
    connection.close()
"""

# A TCP client for a guest: sends argv[3], prints the answer; exit 1 if it cannot connect.
ECHO_CLIENT = """
import socket, sys
try:
    connection = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
except OSError as error:
    print(f"no connection: {error}")
    sys.exit(1)
connection.sendall(sys.argv[3].encode())
print(connection.recv(1024).decode())
"""


def in_guest(
    lab: LabLayout, server_id: str, *command: str, timeout: float = 30
) -> subprocess.CompletedProcess:
    """Run ``command`` inside a server's guest (as ``tricircle lab guest`` does)."""
    return guests.run(lab, server_id, list(command), timeout)


def default_gateway(lab: LabLayout, server_id: str) -> str | None:
    """The guest's default gateway, if it has one."""
    output = in_guest(lab, server_id, "ip", "-4", "route", "show", "default").stdout
    found = re.search(r"default via (\S+)", output)
    return found.group(1) if found else None


def start_echo_server(lab: LabLayout, server_id: str, port: int) -> subprocess.Popen:
    """A TCP echo service on ``port`` in the guest, running until the guest goes."""
    process = subprocess.Popen(
        guests.command_argv(lab, server_id, [sys.executable, "-c", ECHO_SERVER, str(port)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "listening"
    return process


def tcp_exchange(lab: LabLayout, server_id: str, address: str, port: int, message: str) -> str:
    """Connect from the server's guest to ``address:port``, send ``message``; the answer, or ""
    when no connection could be made."""
    result = in_guest(
        lab, server_id, sys.executable, "-c", ECHO_CLIENT, address, str(port), message
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def top_address(server: Any, network_name: str) -> str:
    """The server's fixed IPv4 address on ``network_name`` as RegionOne reports it."""
    return next(a["addr"] for a in server.addresses[network_name] if a["version"] == 4)


def bottom_subnet(
    pod_api: Callable[[str, str], adapter.Adapter], region: str, top_subnet_id: str
) -> dict:
    """The pod's copy of a top subnet (bottom resources are named after their top ID)."""
    network = pod_api(region, "network")
    subnets = network.get("/v2.0/subnets", params={"name": top_subnet_id}).json()["subnets"]
    assert len(subnets) == 1, f"{region}: copies of subnet {top_subnet_id}: {subnets}"
    return subnets[0]

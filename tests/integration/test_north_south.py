"""North-south: the outside world reaches servers in any pod, and they reach it, by packets.

The lab's ``public`` network (172.24.4.0/24) lives in Pod1; the outside host (``tricircle lab
outside``) holds its gateway 172.24.4.1. As the demo member on RegionOne only: a router with its
gateway on ``public`` joins a shared_vlan network with a server in az1 and one in az2. Proof:

- the az2 server without a floating IP reaches the outside host, which sees the router's gateway
  address as the source (SNAT happens once, in Pod1);
- the outside host pings the floating IPs of both servers, and a TCP service in the az2 guest
  answers through its floating IP; the floating IPs are ACTIVE on RegionOne once wired;
- disassociated, the floating IP stops answering; associated to the server in the other pod, it
  reaches that server (its own address echoed back);
- a second external network in Pod2 (``one uplink per site``) serves a router of its own;
- bad input is refused in Neutron's shape with nothing made in any pod;
- clearing the gateway and deleting the router leave no bottom router, floating IP or shadow port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from compute_gateway_helpers import boot, connect
from data_plane_helpers import start_echo_server, top_address
from openstack import exceptions as sdk_exceptions

from tricircle.lab import guests, outside
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, PUBLIC_NETWORK

pytestmark = pytest.mark.integration

OPENSTACK = str(Path(sys.executable).parent / "openstack")
PREFIX = "ns"
ECHO_PORT = 7070
OUTSIDE_PORT = 7171

# A one-connection-at-a-time TCP service for the outside host: answers "<peer address>".
PEER_ECHO = """
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", int(sys.argv[1])))
listener.listen(4)
print("listening", flush=True)
while True:
    connection, peer = listener.accept()
    connection.sendall(peer[0].encode())
    connection.close()
"""

# A TCP client: prints what the service at argv[1]:argv[2] sends first; exit 1 without answer.
READ_CLIENT = """
import socket, sys
try:
    connection = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    connection.sendall(b"hello")
    print(connection.recv(1024).decode())
except OSError as error:
    print(f"no answer: {error}")
    sys.exit(1)
"""


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    cloud = connect(compute_lab, DEMO_USER, DEMO_PROJECT)
    yield cloud
    cloud.close()


@pytest.fixture(scope="module")
def admin_cloud(compute_lab):
    cloud = connect(compute_lab, "admin", "admin")
    yield cloud
    cloud.close()


@pytest.fixture(scope="module")
def uplink(compute_lab, demo_cloud, wait_until) -> Iterator[SimpleNamespace]:
    """A router with its gateway on ``public``, a shared_vlan network on it, a server in az1 and
    one in az2 (guests addressed by DHCP), a security group open to the outside."""
    cloud = demo_cloud
    made = SimpleNamespace(servers={}, floating_ips=[], router=None, network=None, group=None)
    made.public = cloud.network.find_network(PUBLIC_NETWORK)
    assert made.public is not None, "the lab makes the public network"
    try:
        made.network = cloud.network.create_network(name=f"{PREFIX}-net")
        made.subnet = cloud.network.create_subnet(
            network_id=made.network.id, name=f"{PREFIX}-net", cidr="10.51.0.0/24", ip_version=4
        )
        made.router = cloud.network.create_router(
            name=f"{PREFIX}-router", external_gateway_info={"network_id": made.public.id}
        )
        cloud.network.add_interface_to_router(made.router, subnet_id=made.subnet.id)
        made.group = cloud.network.create_security_group(name=f"{PREFIX}-open")
        for protocol in ("icmp", "tcp"):
            cloud.network.create_security_group_rule(
                security_group_id=made.group.id,
                direction="ingress",
                protocol=protocol,
                remote_ip_prefix="0.0.0.0/0",
            )
        for name, az in (("az1", "az1"), ("az2", "az2")):
            made.servers[name] = boot(
                cloud,
                f"{PREFIX}-{name}",
                az,
                [{"uuid": made.network.id}],
                wait=False,
                security_groups=[{"name": made.group.name}],
            )
        for name, server in made.servers.items():
            made.servers[name] = cloud.compute.wait_for_server(server, wait=180)
        for name, server in made.servers.items():
            expected = top_address(server, made.network.name)
            wait_until(
                lambda s=server, a=expected: guests.address(compute_lab, s.id) == a,
                60,
                f"guest of {name} ({server.id}) to hold {expected} by DHCP",
            )
        made.router = cloud.network.get_router(made.router.id)
        made.gateway_ip = made.router.external_gateway_info["external_fixed_ips"][0]["ip_address"]
        yield made
    finally:
        _delete_everything(cloud, made)


def _delete_everything(cloud, made: SimpleNamespace) -> None:
    for floating_ip in made.floating_ips:
        cloud.network.delete_ip(floating_ip, ignore_missing=True)
    for server in made.servers.values():
        cloud.compute.delete_server(server, ignore_missing=True)
    for server in made.servers.values():
        cloud.compute.wait_for_delete(server, wait=120)
    if made.router is not None:
        try:
            cloud.network.remove_interface_from_router(made.router, subnet_id=made.subnet.id)
        except sdk_exceptions.SDKException:
            pass
        cloud.network.delete_router(made.router, ignore_missing=True)
    if made.network is not None:
        deadline = time.monotonic() + 60
        while not _deleted(cloud, made.network) and time.monotonic() < deadline:
            time.sleep(1)  # the ports of the deleted servers are still going
    if made.group is not None:
        cloud.network.delete_security_group(made.group, ignore_missing=True)


def _port_of(cloud, server) -> object:
    return next(iter(cloud.network.ports(device_id=server.id)))


def _wait_active(cloud, floating_ip, wait_until) -> None:
    wait_until(
        lambda: cloud.network.get_ip(floating_ip.id).status == "ACTIVE",
        60,
        f"floating IP {floating_ip.floating_ip_address} ({floating_ip.id}) to be ACTIVE",
    )


def _outside_read(lab, address: str, port: int) -> str:
    """What a TCP service at ``address:port`` sends the outside host ("" without answer)."""
    result = outside.run(lab, [sys.executable, "-c", READ_CLIENT, address, str(port)])
    return result.stdout.strip() if result.returncode == 0 else ""


def test_the_public_network_lives_in_pod1_only(uplink, pod_api):
    names = {
        region: {
            n["name"] for n in pod_api(region, "network").get("/v2.0/networks").json()["networks"]
        }
        for region in ("Pod1", "Pod2")
    }
    assert uplink.public.id in names["Pod1"]
    assert uplink.public.id not in names["Pod2"]


def test_a_server_without_floating_ip_reaches_the_outside_host_through_snat(
    compute_lab, uplink, wait_until
):
    service = subprocess.Popen(
        outside.command_argv(compute_lab, [sys.executable, "-c", PEER_ECHO, str(OUTSIDE_PORT)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "listening"
        server = uplink.servers["az2"]
        gateway = compute_lab.pod_layouts[0].outside_gateway
        wait_until(  # the routers converge in jobs after the boot
            lambda: guests.ping_replies(compute_lab, server.id, gateway) >= 2,
            60,
            f"the az2 server {server.id} to ping the outside host {gateway}",
        )
        result = guests.run(
            compute_lab,
            server.id,
            [sys.executable, "-c", READ_CLIENT, gateway, str(OUTSIDE_PORT)],
        )
        assert result.stdout.strip() == uplink.gateway_ip, result.stdout
    finally:
        service.kill()
        service.wait()


def test_the_outside_host_reaches_floating_ips_of_servers_in_both_pods(
    compute_lab, uplink, demo_cloud, wait_until
):
    cloud = demo_cloud
    for name in ("az2", "az1"):
        port = _port_of(cloud, uplink.servers[name])
        floating_ip = cloud.network.create_ip(floating_network_id=uplink.public.id, port_id=port.id)
        uplink.floating_ips.append(floating_ip)
        _wait_active(cloud, floating_ip, wait_until)
        wait_until(
            lambda a=floating_ip.floating_ip_address: outside.ping_replies(compute_lab, a) == 3,
            30,
            f"outside host to ping {floating_ip.floating_ip_address} of the {name} server",
        )
    server = uplink.servers["az2"]
    echo = start_echo_server(compute_lab, server.id, ECHO_PORT)
    try:
        answer = _outside_read(compute_lab, uplink.floating_ips[0].floating_ip_address, ECHO_PORT)
        assert answer == f"{top_address(server, uplink.network.name)} got hello"
    finally:
        echo.kill()
        echo.wait()


def test_a_floating_ip_moves_to_a_server_in_the_other_pod(
    compute_lab, uplink, demo_cloud, pod_api, wait_until
):
    cloud = demo_cloud
    moving, on_az1 = uplink.floating_ips
    cloud.network.delete_ip(on_az1)
    uplink.floating_ips.remove(on_az1)
    address = moving.floating_ip_address
    cloud.network.update_ip(moving, port_id=None)
    wait_until(
        lambda: outside.ping_replies(compute_lab, address, count=2) == 0,
        30,
        f"{address} to stop answering once disassociated",
    )
    assert cloud.network.get_ip(moving.id).status == "DOWN"
    target = uplink.servers["az1"]
    cloud.network.update_ip(moving, port_id=_port_of(cloud, target).id)
    _wait_active(cloud, moving, wait_until)
    echo = start_echo_server(compute_lab, target.id, ECHO_PORT)
    try:
        wait_until(
            lambda: (
                _outside_read(compute_lab, address, ECHO_PORT)
                == f"{top_address(target, uplink.network.name)} got hello"
            ),
            30,
            f"{address} to reach the az1 server",
        )
    finally:
        echo.kill()
        echo.wait()
    pod1 = pod_api("Pod1", "network")
    wait_until(
        lambda: (
            not [
                port
                for port in pod1.get("/v2.0/ports").json()["ports"]
                if port["name"].startswith("shadow:")
            ]
        ),
        30,
        "the az2 server's shadow port to leave Pod1 once no floating IP serves it",
    )


def test_the_cli_creates_and_adds_a_floating_ip(compute_lab, uplink, demo_cloud, wait_until):
    env = {
        **os.environ,
        **compute_lab.admin_auth(),
        "OS_USERNAME": DEMO_USER,
        "OS_PASSWORD": PASSWORD,
        "OS_PROJECT_NAME": DEMO_PROJECT,
    }
    created = subprocess.run(
        [OPENSTACK, "floating", "ip", "create", PUBLIC_NETWORK, "-f", "value", "-c", "id",
         "-c", "floating_ip_address"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    address, floating_ip_id = created.stdout.split()[:2]
    uplink.floating_ips.append(demo_cloud.network.get_ip(floating_ip_id))
    server = uplink.servers["az2"]
    added = subprocess.run(
        [OPENSTACK, "server", "add", "floating", "ip", server.id, address],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    _wait_active(demo_cloud, uplink.floating_ips[-1], wait_until)
    wait_until(
        lambda: outside.ping_replies(compute_lab, address) == 3,
        30,
        f"outside host to ping {address} added by the CLI",
    )


def test_bad_input_is_refused_with_nothing_made_in_any_pod(
    uplink, demo_cloud, admin_cloud, pod_api
):
    def bottom_floating_ips() -> int:
        return sum(
            len(pod_api(region, "network").get("/v2.0/floatingips").json()["floatingips"])
            for region in ("Pod1", "Pod2")
        )

    before = bottom_floating_ips()
    foreign = admin_cloud.network.create_network(name=f"{PREFIX}-admin-only")
    try:
        admin_cloud.network.create_subnet(
            network_id=foreign.id, cidr="10.52.0.0/24", ip_version=4, name=f"{PREFIX}-admin-only"
        )
        foreign_port = admin_cloud.network.create_port(network_id=foreign.id)
        with pytest.raises(sdk_exceptions.NotFoundException):
            demo_cloud.network.create_ip(
                floating_network_id=uplink.public.id, port_id=foreign_port.id
            )
        lonely = demo_cloud.network.create_network(name=f"{PREFIX}-lonely")
        try:
            demo_cloud.network.create_subnet(
                network_id=lonely.id, cidr="10.53.0.0/24", ip_version=4, name=f"{PREFIX}-lonely"
            )
            lonely_port = demo_cloud.network.create_port(network_id=lonely.id)
            with pytest.raises(sdk_exceptions.NotFoundException):  # no router reaches it
                demo_cloud.network.create_ip(
                    floating_network_id=uplink.public.id, port_id=lonely_port.id
                )
            with pytest.raises(sdk_exceptions.BadRequestException):
                demo_cloud.network.update_router(
                    uplink.router, external_gateway_info={"network_id": lonely.id}
                )
        finally:
            for port in demo_cloud.network.ports(network_id=lonely.id):
                demo_cloud.network.delete_port(port)
            demo_cloud.network.delete_network(lonely, ignore_missing=True)
        local = admin_cloud.network.create_network(
            name=f"{PREFIX}-local-pod2",
            project_id=demo_cloud.current_project_id,
            provider_network_type="local",
            availability_zone_hints=["Pod2"],
        )
        try:
            local_subnet = demo_cloud.network.create_subnet(
                network_id=local.id, cidr="10.55.0.0/24", ip_version=4, name=f"{PREFIX}-local"
            )
            demo_cloud.network.add_interface_to_router(uplink.router, subnet_id=local_subnet.id)
            local_port = demo_cloud.network.create_port(network_id=local.id)
            with pytest.raises(sdk_exceptions.BadRequestException, match="local network"):
                demo_cloud.network.create_ip(
                    floating_network_id=uplink.public.id, port_id=local_port.id
                )
            demo_cloud.network.delete_port(local_port)
            demo_cloud.network.remove_interface_from_router(
                uplink.router, subnet_id=local_subnet.id
            )
        finally:
            admin_cloud.network.delete_network(local, ignore_missing=True)
    finally:
        for port in admin_cloud.network.ports(network_id=foreign.id):
            admin_cloud.network.delete_port(port)
        admin_cloud.network.delete_network(foreign, ignore_missing=True)
    assert bottom_floating_ips() == before


def test_a_second_external_network_in_pod2_serves_a_router_of_its_own(
    compute_lab, uplink, demo_cloud, admin_cloud, pod_api, wait_until
):
    pod2 = compute_lab.pod_layouts[1]
    uplink2 = admin_cloud.network.create_network(
        name=f"{PREFIX}-public2",
        is_router_external=True,
        provider_network_type="flat",
        provider_physical_network=pod2.external_physnet,
        availability_zone_hints=[pod2.region],
    )
    made: dict = {}
    try:
        admin_cloud.network.create_subnet(
            network_id=uplink2.id,
            cidr=pod2.outside_cidr,
            gateway_ip=pod2.outside_gateway,
            ip_version=4,
            is_dhcp_enabled=False,
            name=f"{PREFIX}-public2",
        )
        made["network"] = demo_cloud.network.create_network(name=f"{PREFIX}-net2")
        subnet = demo_cloud.network.create_subnet(
            network_id=made["network"].id, cidr="10.54.0.0/24", ip_version=4, name=f"{PREFIX}-net2"
        )
        made["router"] = demo_cloud.network.create_router(
            name=f"{PREFIX}-router2", external_gateway_info={"network_id": uplink2.id}
        )
        demo_cloud.network.add_interface_to_router(made["router"], subnet_id=subnet.id)
        server = boot(
            demo_cloud,
            f"{PREFIX}-pod1-via-pod2",
            "az1",
            [{"uuid": made["network"].id}],
            security_groups=[{"name": uplink.group.name}],
        )
        made["server"] = server
        wait_until(
            lambda: (
                guests.address(compute_lab, server.id) == top_address(server, made["network"].name)
            ),
            60,
            f"guest of {server.id} to be addressed by DHCP",
        )
        made["ip"] = demo_cloud.network.create_ip(
            floating_network_id=uplink2.id, port_id=_port_of(demo_cloud, server).id
        )
        _wait_active(demo_cloud, made["ip"], wait_until)
        address = made["ip"].floating_ip_address
        assert address.startswith(pod2.outside_cidr.rsplit(".", 2)[0])
        wait_until(
            lambda: outside.ping_replies(compute_lab, address) == 3,
            30,
            f"outside host to ping {address} (external network in Pod2, server in Pod1)",
        )
        pod1_fips = pod_api("Pod1", "network").get("/v2.0/floatingips").json()["floatingips"]
        assert address not in {fip["floating_ip_address"] for fip in pod1_fips}
    finally:
        if "ip" in made:
            demo_cloud.network.delete_ip(made["ip"])
        if "server" in made:
            demo_cloud.compute.delete_server(made["server"])
            demo_cloud.compute.wait_for_delete(made["server"], wait=120)
        if "router" in made:
            demo_cloud.network.update_router(made["router"], external_gateway_info={})
            for port in demo_cloud.network.ports(
                device_id=made["router"].id, device_owner="network:router_interface"
            ):
                demo_cloud.network.remove_interface_from_router(made["router"], port_id=port.id)
            demo_cloud.network.delete_router(made["router"])
        if "network" in made:
            wait_until(
                lambda: _deleted(demo_cloud, made["network"]), 60, "the tenant network to go"
            )
        admin_cloud.network.delete_network(uplink2)


def _deleted(cloud, network) -> bool:
    try:
        cloud.network.delete_network(network, ignore_missing=True)
    except sdk_exceptions.ConflictException:
        return False
    return True


def test_clearing_the_gateway_and_deleting_the_router_leave_nothing_in_any_pod(
    uplink, demo_cloud, pod_api, wait_until
):
    cloud = demo_cloud
    floating_ip_ids = [floating_ip.id for floating_ip in uplink.floating_ips]
    for floating_ip in uplink.floating_ips:
        cloud.network.delete_ip(floating_ip)
    uplink.floating_ips.clear()
    cloud.network.update_router(uplink.router, external_gateway_info={})
    cloud.network.remove_interface_from_router(uplink.router, subnet_id=uplink.subnet.id)
    cloud.network.delete_router(uplink.router)
    router_id = uplink.router.id
    uplink.router = None

    def left_in_pods() -> list[str]:
        left = []
        for region in ("Pod1", "Pod2"):
            network = pod_api(region, "network")
            for router in network.get("/v2.0/routers").json()["routers"]:
                if router["name"] == router_id:
                    left.append(f"{region} router {router['id']}")
            for fip in network.get("/v2.0/floatingips").json()["floatingips"]:
                if fip["description"] in floating_ip_ids:
                    left.append(f"{region} floating IP {fip['floating_ip_address']}")
            for port in network.get("/v2.0/ports").json()["ports"]:
                if port["name"].startswith("shadow:"):
                    left.append(f"{region} shadow port {port['id']}")
        return left

    wait_until(lambda: not left_in_pods(), 90, "bottom routers, floating IPs, shadow ports gone")

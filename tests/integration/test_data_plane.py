"""The data plane: packets between servers in different pods, as a user would check them.

Everything is made through RegionOne only (openstacksdk as the demo member); the proof is read
back with packets from inside the guests (``tricircle lab guest``) and from the pods' own APIs:

- L2: two servers on one shared_vlan network in az1 and az2 take their top address and their own
  pod's gateway by DHCP, ping each other and exchange bytes over TCP both ways; a server on another
  shared_vlan network (another VLAN) with overlapping addresses reaches neither;
- L3: servers on two networks in two pods joined by one top router ping each other through the
  bottom routers and the bridge network; removing one interface cuts them, re-adding restores;
- security groups: a group allowing ICMP but not TCP 8080 lets pings through and stops TCP, until
  a rule added at the top reaches the pod's firewall;
- deleting everything leaves no guest, OVS port, bottom network, port or router in any pod.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from compute_gateway_helpers import boot, connect
from data_plane_helpers import (
    bottom_subnet,
    default_gateway,
    start_echo_server,
    tcp_exchange,
    top_address,
)

from tricircle.lab import guests, namespaces, openvswitch
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER

pytestmark = pytest.mark.integration

PREFIX = "dp"
SG_BOUND_SECONDS = 30
OTHER_FIXED_IP = "10.41.0.250"


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    cloud = connect(compute_lab, DEMO_USER, DEMO_PROJECT)
    yield cloud
    cloud.close()


def _network(cloud, name: str, cidr: str):
    network = cloud.network.create_network(name=f"{PREFIX}-{name}")
    subnet = cloud.network.create_subnet(
        network_id=network.id, name=f"{PREFIX}-{name}", cidr=cidr, ip_version=4
    )
    return network, subnet


@pytest.fixture(scope="module")
def fabric(compute_lab, demo_cloud, wait_until) -> Iterator[SimpleNamespace]:
    """Networks, a router, a security group and five servers across both pods, all ACTIVE with
    their guests addressed by DHCP."""
    cloud = demo_cloud
    made = SimpleNamespace(servers={}, networks={}, subnets={}, router=None, group=None)
    try:
        for name, cidr in (
            ("l2", "10.41.0.0/24"),
            ("other", "10.41.0.0/24"),
            ("a", "10.42.0.0/24"),
            ("b", "10.43.0.0/24"),
        ):
            made.networks[name], made.subnets[name] = _network(cloud, name, cidr)
        made.router = cloud.network.create_router(name=f"{PREFIX}-router")
        for name in ("a", "b"):
            cloud.network.add_interface_to_router(made.router, subnet_id=made.subnets[name].id)
        made.group = cloud.network.create_security_group(name=f"{PREFIX}-icmp-only")
        cloud.network.create_security_group_rule(
            security_group_id=made.group.id, direction="ingress", protocol="icmp"
        )
        plans = {
            "l2_a": ("az1", "l2", {}),
            "l2_b": ("az2", "l2", {}),
            "other": ("az2", "other", {}),
            "l3_a": ("az1", "a", {}),
            "l3_b": ("az2", "b", {"security_groups": [{"name": made.group.name}]}),
        }
        for name, (az, network, extra) in plans.items():
            requested = {"uuid": made.networks[network].id}
            if name == "other":
                requested["fixed_ip"] = OTHER_FIXED_IP
            made.servers[name] = boot(
                cloud, f"{PREFIX}-{name}", az, [requested], wait=False, **extra
            )
        for name, server in made.servers.items():
            made.servers[name] = cloud.compute.wait_for_server(server, wait=180)
        for name, server in made.servers.items():
            expected = top_address(server, made.networks[plans[name][1]].name)
            wait_until(
                lambda s=server, a=expected: guests.address(compute_lab, s.id) == a,
                60,
                f"guest of {name} ({server.id}) to hold {expected} by DHCP",
            )
        yield made
    finally:
        _delete_everything(cloud, made)


def _delete_everything(cloud, made: SimpleNamespace) -> None:
    for server in made.servers.values():
        cloud.compute.delete_server(server, ignore_missing=True)
    for server in made.servers.values():
        cloud.compute.wait_for_delete(server, wait=120)
    if made.router is not None:
        for name in ("a", "b"):
            if name in made.subnets:
                try:
                    cloud.network.remove_interface_from_router(
                        made.router, subnet_id=made.subnets[name].id
                    )
                except Exception:  # noqa: BLE001  (already removed by a test or never added)
                    pass
        cloud.network.delete_router(made.router, ignore_missing=True)
    for network in made.networks.values():
        deadline = time.monotonic() + 60
        while cloud.network.find_network(network.id) is not None:
            try:
                cloud.network.delete_network(network, ignore_missing=True)
            except Exception:  # noqa: BLE001  (ports of a deleted server still going)
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    if made.group is not None:
        cloud.network.delete_security_group(made.group, ignore_missing=True)


def test_l2_guests_take_their_address_and_their_own_pods_gateway_by_dhcp(
    compute_lab, fabric, pod_api
):
    subnet_id = fabric.subnets["l2"].id
    gateways = {}
    for name, region in (("l2_a", "Pod1"), ("l2_b", "Pod2")):
        server = fabric.servers[name]
        expected_gateway = bottom_subnet(pod_api, region, subnet_id)["gateway_ip"]
        assert default_gateway(compute_lab, server.id) == expected_gateway, (
            f"{region}: guest of {server.id} should route via its pod's gateway {expected_gateway}"
        )
        gateways[region] = expected_gateway
    assert gateways["Pod1"] != gateways["Pod2"]


def test_l2_servers_in_two_pods_ping_and_talk_tcp_both_ways(compute_lab, fabric):
    first, second = fabric.servers["l2_a"], fabric.servers["l2_b"]
    first_ip, second_ip = top_address(first, "dp-l2"), top_address(second, "dp-l2")
    assert guests.ping_replies(compute_lab, first.id, second_ip) == 3, (
        f"az1 {first_ip} -> az2 {second_ip}"
    )
    assert guests.ping_replies(compute_lab, second.id, first_ip) == 3, (
        f"az2 {second_ip} -> az1 {first_ip}"
    )
    for server, peer, peer_ip in ((first, second, second_ip), (second, first, first_ip)):
        echo = start_echo_server(compute_lab, peer.id, 7001)
        try:
            answer = tcp_exchange(compute_lab, server.id, peer_ip, 7001, f"hello-from-{server.id}")
        finally:
            echo.kill()
            echo.wait()
        assert answer == f"{peer_ip} got hello-from-{server.id}"


def test_a_server_on_another_vlan_with_overlapping_addresses_cannot_reach_them(
    compute_lab, fabric, pod_api
):
    l2_network = pod_api("Pod2", "network").get(
        "/v2.0/networks", params={"name": fabric.networks["l2"].id}
    )
    other_network = pod_api("Pod2", "network").get(
        "/v2.0/networks", params={"name": fabric.networks["other"].id}
    )
    vlans = {
        network.json()["networks"][0]["provider:segmentation_id"]
        for network in (l2_network, other_network)
    }
    assert len(vlans) == 2, f"both networks on one VLAN: {vlans}"
    other = fabric.servers["other"]
    assert top_address(other, "dp-other") == OTHER_FIXED_IP
    for name in ("l2_a", "l2_b"):
        address = top_address(fabric.servers[name], "dp-l2")
        assert guests.ping_replies(compute_lab, other.id, address) == 0, (
            f"{OTHER_FIXED_IP} reached {address}"
        )


def test_l3_servers_in_two_pods_talk_through_the_router_and_only_while_attached(
    compute_lab, fabric, demo_cloud, wait_until
):
    source, target = fabric.servers["l3_a"], fabric.servers["l3_b"]
    target_ip = top_address(target, "dp-b")
    source_ip = top_address(source, "dp-a")

    def answered() -> bool:
        return guests.ping_replies(compute_lab, source.id, target_ip, count=1) == 1

    wait_until(answered, 90, f"az1 {source_ip} -> az2 {target_ip} through the router")
    assert guests.ping_replies(compute_lab, source.id, target_ip) == 3
    assert guests.ping_replies(compute_lab, target.id, source_ip) == 3
    demo_cloud.network.remove_interface_from_router(fabric.router, subnet_id=fabric.subnets["b"].id)
    wait_until(
        lambda: guests.ping_replies(compute_lab, source.id, target_ip, count=2) == 0,
        60,
        f"{target_ip} to be cut off once its network left the router",
    )
    demo_cloud.network.add_interface_to_router(fabric.router, subnet_id=fabric.subnets["b"].id)
    wait_until(answered, 90, f"{target_ip} to be reachable again after re-adding the interface")


def test_security_group_rules_reach_the_pods_firewall(compute_lab, fabric, demo_cloud, wait_until):
    source, target = fabric.servers["l3_a"], fabric.servers["l3_b"]
    target_ip = top_address(target, "dp-b")
    wait_until(
        lambda: guests.ping_replies(compute_lab, source.id, target_ip, count=1) == 1,
        90,
        f"ICMP to {target_ip}, allowed by its group",
    )
    echo = start_echo_server(compute_lab, target.id, 8080)
    try:
        assert tcp_exchange(compute_lab, source.id, target_ip, 8080, "early") == "", (
            "TCP 8080 passed a group that allows only ICMP"
        )
        added = time.monotonic()
        demo_cloud.network.create_security_group_rule(
            security_group_id=fabric.group.id,
            direction="ingress",
            protocol="tcp",
            port_range_min=8080,
            port_range_max=8080,
        )
        wait_until(
            lambda: (
                tcp_exchange(compute_lab, source.id, target_ip, 8080, "late")
                == f"{target_ip} got late"
            ),
            SG_BOUND_SECONDS,
            f"TCP 8080 to {target_ip} within {SG_BOUND_SECONDS}s of the rule",
        )
        assert time.monotonic() - added <= SG_BOUND_SECONDS + 5
    finally:
        echo.kill()
        echo.wait()


def test_deleting_everything_leaves_nothing_in_any_pod(
    compute_lab, fabric, demo_cloud, pod_api, wait_until
):
    server_ids = [server.id for server in fabric.servers.values()]
    top_ids = [network.id for network in fabric.networks.values()] + [fabric.router.id]
    _delete_everything(demo_cloud, fabric)
    fabric.servers.clear()
    for server_id in server_ids:
        assert not namespaces.exists(compute_lab.guest_namespace(server_id)), server_id
    plugged = openvswitch.vsctl(
        compute_lab, "--bare", "--columns=external_ids", "list", "Interface"
    )
    assert not [server_id for server_id in server_ids if server_id in plugged]

    def left_in_pods() -> list[str]:
        left = []
        for region in ("Pod1", "Pod2"):
            network = pod_api(region, "network")
            for collection in ("networks", "routers"):
                for item in network.get(f"/v2.0/{collection}").json()[collection]:
                    if item["name"] in top_ids:
                        left.append(f"{region} {collection} {item['id']} ({item['name']})")
            for port in network.get("/v2.0/ports").json()["ports"]:
                if port["device_id"] in server_ids:
                    left.append(f"{region} port {port['id']} of server {port['device_id']}")
        return left

    wait_until(lambda: not left_in_pods(), 90, "bottom copies to be deleted in every pod")

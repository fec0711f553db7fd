"""Bottom mirroring on the lab: one shared_vlan network, ports in Pod1 and Pod2 (issue 4).

Everything is read back from each pod's own Neutron: the segment, the per-pod gateways and pools,
the ports' IPs and MACs; and a failure part way leaves nothing in the pod nor in the routings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cross_pod_helpers import lab_pod
from keystoneauth1 import adapter, session

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.lab.layout import TOP_REGION
from tricircle.network import constants
from tricircle.network.mirror import BottomMirror, NetworkNotFound, NetworkNotInPod, tables
from tricircle.network.mirror.pools import address_in_pools

pytestmark = pytest.mark.integration

PodApi = Callable[[str, str], adapter.Adapter]


@pytest.fixture
def central(demo_session: session.Session) -> adapter.Adapter:
    """The demo tenant's adapter to the central Neutron."""
    return adapter.Adapter(
        demo_session, service_type="network", region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def top_network(
    central: adapter.Adapter, mirror: BottomMirror, admin_session: session.Session
) -> Iterator[dict]:
    """A demo shared_vlan network with subnet 10.40.0.0/24; every copy and port goes after."""
    name = f"test-mirror-{uuid.uuid4().hex[:8]}"
    network = central.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
    subnet = central.post(
        "/v2.0/subnets",
        json={
            "subnet": {
                "name": name,
                "network_id": network["id"],
                "cidr": "10.40.0.0/24",
                "ip_version": 4,
                "dns_nameservers": ["10.40.0.53"],
            }
        },
    ).json()["subnet"]
    yield {"network": network, "subnet": subnet}
    for port in mirror.top.get("/v2.0/ports", params={"network_id": network["id"]})["ports"]:
        mirror.delete_bottom_copies(constants.PORT, port["id"])
        mirror.delete_top_port(port["id"])
    mirror.delete_bottom_copies(constants.NETWORK, network["id"])
    central.delete(f"/v2.0/networks/{network['id']}", raise_exc=False)
    groups = central.get("/v2.0/security-groups").json()["security_groups"]
    for group in groups:
        if group["name"].startswith("test-mirror-web-"):
            mirror.delete_bottom_copies(constants.SECURITY_GROUP, group["id"])
            central.delete(f"/v2.0/security-groups/{group['id']}", raise_exc=False)


def test_ports_in_two_pods_share_the_vlan_with_per_pod_gateways(
    mirror: BottomMirror,
    central: adapter.Adapter,
    top_network: dict,
    pod_api: PodApi,
    demo_session: session.Session,
) -> None:
    project_id = demo_session.get_project_id()
    network, subnet = top_network["network"], top_network["subnet"]
    top_segment = mirror.get_top_network(network["id"])
    assert top_segment["provider:network_type"] == constants.TYPE_SHARED_VLAN
    group = web_group(central)
    made = {}
    for region in ("Pod1", "Pod2"):
        pod = lab_pod(mirror.session_factory, region)
        made[region] = mirror.prepare_server_port(
            pod, project_id, {"uuid": network["id"]}, security_groups=[group["name"]]
        )
        assert made[region].top_port_created

    bottom_subnets = {}
    for region, server_port in made.items():
        neutron = pod_api(region, "network")
        bottom_port = neutron.get(f"/v2.0/ports/{server_port.bottom_port['id']}").json()["port"]
        bottom_network = neutron.get(f"/v2.0/networks/{bottom_port['network_id']}").json()[
            "network"
        ]
        assert bottom_network["provider:network_type"] == "vlan", region
        assert (
            bottom_network["provider:physical_network"],
            bottom_network["provider:segmentation_id"],
        ) == (
            top_segment["provider:physical_network"],
            top_segment["provider:segmentation_id"],
        ), region
        assert bottom_network["name"] == network["id"]
        top_port = server_port.top_port
        assert bottom_port["mac_address"] == top_port["mac_address"], region
        assert [ip["ip_address"] for ip in bottom_port["fixed_ips"]] == [
            ip["ip_address"] for ip in top_port["fixed_ips"]
        ], region
        bottom_subnet_id = bottom_port["fixed_ips"][0]["subnet_id"]
        bottom_subnets[region] = neutron.get(f"/v2.0/subnets/{bottom_subnet_id}").json()["subnet"]
        assert bottom_subnets[region]["cidr"] == subnet["cidr"]
        assert bottom_subnets[region]["dns_nameservers"] == ["10.40.0.53"]

    # The group travels with the port, its remote-group rule as one rule per tenant CIDR.
    neutron = pod_api("Pod1", "network")
    bottom_groups = neutron.get("/v2.0/security-groups", params={"name": group["id"]}).json()
    assert [g["id"] for g in bottom_groups["security_groups"]] == made["Pod1"].bottom_port[
        "security_groups"
    ]
    rules = bottom_groups["security_groups"][0]["security_group_rules"]
    assert all(rule["remote_group_id"] is None for rule in rules)
    http = {r["remote_ip_prefix"] for r in rules if r["port_range_min"] == 80}
    assert subnet["cidr"] in http
    egress = [r for r in rules if r["direction"] == "egress"]
    assert [(r["ethertype"], r["remote_ip_prefix"]) for r in egress] == [("IPv4", None)]

    pod1, pod2 = bottom_subnets["Pod1"], bottom_subnets["Pod2"]
    assert pod1["gateway_ip"] and pod2["gateway_ip"]
    assert pod1["gateway_ip"] != pod2["gateway_ip"]
    for own, other in ((pod1, pod2), (pod2, pod1)):
        assert not address_in_pools(own["gateway_ip"], own["allocation_pools"])
        assert not address_in_pools(own["gateway_ip"], other["allocation_pools"]), (
            f"gateway {own['gateway_ip']} inside pools {other['allocation_pools']}"
        )
    reserved = sorted(mirror.reserved_gateway_ips(subnet))
    assert reserved == sorted([pod1["gateway_ip"], pod2["gateway_ip"]])

    # Releasing both ports removes every copy this test made: the pods are empty again.
    for region, server_port in made.items():
        mirror.release_server_port(lab_pod(mirror.session_factory, region), server_port)
        neutron = pod_api(region, "network")
        names = [n["name"] for n in neutron.get("/v2.0/networks").json()["networks"]]
        assert network["id"] not in names, region
    with mirror.session_factory() as session:
        assert routings.find_routings_for_top(session, network["id"]) == []


def web_group(central: adapter.Adapter) -> dict:
    """A demo security group: HTTP from its own members, IPv4 egress; removed with its network."""
    group = central.post(
        "/v2.0/security-groups",
        json={"security_group": {"name": f"test-mirror-web-{uuid.uuid4().hex[:8]}"}},
    ).json()["security_group"]
    egress_v6 = [
        rule["id"]
        for rule in group["security_group_rules"]
        if rule["direction"] == "egress" and rule["ethertype"] == "IPv6"
    ]
    for rule_id in egress_v6:
        central.delete(f"/v2.0/security-group-rules/{rule_id}")
    central.post(
        "/v2.0/security-group-rules",
        json={
            "security_group_rule": {
                "security_group_id": group["id"],
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 80,
                "port_range_max": 80,
                "remote_group_id": group["id"],
            }
        },
    )
    return group


def test_failure_part_way_leaves_nothing_behind(
    mirror: BottomMirror,
    top_network: dict,
    pod_api: PodApi,
    demo_session: session.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bottom port's create fails after the network and subnet copies were made."""
    network, subnet = top_network["network"], top_network["subnet"]
    pod = lab_pod(mirror.session_factory, "Pod2")
    ensure_copy = mirror._ensure_copy

    def broken(pod: Pod, kind: tables.Kind, *args: Any, **kwargs: Any) -> tuple[str, bool]:
        if kind is tables.PORT:
            raise RuntimeError("injected failure")
        return ensure_copy(pod, kind, *args, **kwargs)

    monkeypatch.setattr(mirror, "_ensure_copy", broken)
    with pytest.raises(RuntimeError, match="injected"):
        mirror.prepare_server_port(pod, demo_session.get_project_id(), {"uuid": network["id"]})

    neutron = pod_api("Pod2", "network")
    assert neutron.get("/v2.0/networks", params={"name": network["id"]}).json()["networks"] == []
    assert neutron.get("/v2.0/subnets", params={"name": subnet["id"]}).json()["subnets"] == []
    with mirror.session_factory() as session:
        assert routings.find_routings_for_top(session, network["id"]) == []
        assert routings.find_routings_for_top(session, subnet["id"]) == []
    ports = mirror.top.get("/v2.0/ports", params={"network_id": network["id"], "device_owner": ""})[
        "ports"
    ]
    assert ports == [], "the top port made by the failed call is still there"


def test_unknown_network_and_local_network_of_another_pod(
    mirror: BottomMirror, central: adapter.Adapter, demo_session: session.Session
) -> None:
    project_id = demo_session.get_project_id()
    pod1 = lab_pod(mirror.session_factory, "Pod1")
    pod2 = lab_pod(mirror.session_factory, "Pod2")
    with pytest.raises(NetworkNotFound):
        mirror.prepare_server_port(pod1, project_id, {"uuid": str(uuid.uuid4())})

    body = {"network": {"name": "test-mirror-local", "availability_zone_hints": ["Pod1"]}}
    admin_body = {**body["network"], "provider:network_type": constants.TYPE_LOCAL}
    admin_body["project_id"] = project_id
    local = mirror.top.post("/v2.0/networks", json={"network": admin_body})["network"]
    try:
        assert mirror.ensure_bottom_network(pod1, local)
        with pytest.raises(NetworkNotInPod):
            mirror.ensure_bottom_network(pod2, local)
    finally:
        mirror.delete_bottom_copies(constants.NETWORK, local["id"])
        central.delete(f"/v2.0/networks/{local['id']}", raise_exc=False)


def test_deleting_top_resources_removes_their_bottom_copies_and_frees_the_vlan(
    mirror: BottomMirror,
    central: adapter.Adapter,
    pod_api: PodApi,
    demo_session: session.Session,
    wait_until: Callable[[Callable[[], object], float, str], object],
) -> None:
    """Top deletes on the central Neutron queue ``delete_bottom`` jobs; the worker runs them."""
    project_id = demo_session.get_project_id()
    network = central.post(
        "/v2.0/networks", json={"network": {"name": f"test-delete-{uuid.uuid4().hex[:8]}"}}
    ).json()["network"]
    subnet = central.post(
        "/v2.0/subnets",
        json={"subnet": {"network_id": network["id"], "cidr": "10.43.0.0/24", "ip_version": 4}},
    ).json()["subnet"]
    segment = mirror.get_top_network(network["id"])
    made = {
        region: mirror.prepare_server_port(
            lab_pod(mirror.session_factory, region), project_id, {"uuid": network["id"]}
        )
        for region in ("Pod1", "Pod2")
    }

    def copies(region: str, kind: str, top_id: str) -> list:
        answer = pod_api(region, "network").get(f"/v2.0/{kind}", params={"name": top_id})
        return answer.json()[kind]

    top_port = made["Pod1"].top_port
    central.delete(f"/v2.0/ports/{top_port['id']}")
    wait_until(
        lambda: copies("Pod1", "ports", top_port["id"]) == [], 60, "Pod1's bottom port deleted"
    )
    central.delete(f"/v2.0/ports/{made['Pod2'].top_port['id']}")
    central.delete(f"/v2.0/networks/{network['id']}")

    def all_gone() -> bool:
        with mirror.session_factory() as session:
            left = routings.find_routings_for_top(session, network["id"])
            left += routings.find_routings_for_top(session, subnet["id"])
        return not left and all(
            copies(region, "networks", network["id"]) == []
            and copies(region, "subnets", subnet["id"]) == []
            for region in ("Pod1", "Pod2")
        )

    wait_until(all_gone, 60, "bottom networks, subnets and their routings deleted")
    # The VLAN went back to the pool: a provider network may take it again.
    again = mirror.top.post(
        "/v2.0/networks",
        json={
            "network": {
                "name": "test-delete-vlan-again",
                "provider:network_type": constants.TYPE_SHARED_VLAN,
                "provider:physical_network": segment["provider:physical_network"],
                "provider:segmentation_id": segment["provider:segmentation_id"],
            }
        },
    )["network"]
    mirror.top.delete(f"/v2.0/networks/{again['id']}")


def test_concurrent_ports_in_two_pods_make_one_copy_and_one_gateway_per_pod(
    mirror: BottomMirror, top_network: dict, pod_api: PodApi, demo_session: session.Session
) -> None:
    """Four boots at once (two per pod) race for the network, subnet and gateway copies."""
    network, subnet = top_network["network"], top_network["subnet"]
    project_id = demo_session.get_project_id()
    regions = ["Pod1", "Pod2"] * 2
    pods = {region: lab_pod(mirror.session_factory, region) for region in set(regions)}
    with ThreadPoolExecutor(max_workers=len(regions)) as pool:
        made = list(
            pool.map(
                lambda region: mirror.prepare_server_port(
                    pods[region], project_id, {"uuid": network["id"]}
                ),
                regions,
            )
        )
    assert len({server_port.top_port["id"] for server_port in made}) == len(regions)
    gateways = {}
    for region in pods:
        neutron = pod_api(region, "network")
        networks = neutron.get("/v2.0/networks", params={"name": network["id"]}).json()
        subnets = neutron.get("/v2.0/subnets", params={"name": subnet["id"]}).json()["subnets"]
        assert len(networks["networks"]) == 1 and len(subnets) == 1, region
        ports = neutron.get(
            "/v2.0/ports", params={"network_id": networks["networks"][0]["id"]}
        ).json()["ports"]
        owners = sorted(port["device_owner"] for port in ports)
        assert owners == [""] * regions.count(region) + ["network:dhcp"], region
        gateways[region] = subnets[0]
    assert sorted(mirror.reserved_gateway_ips(subnet)) == sorted(
        copy["gateway_ip"] for copy in gateways.values()
    )
    for region, copy in gateways.items():
        for other in gateways.values():
            assert not address_in_pools(other["gateway_ip"], copy["allocation_pools"]), region

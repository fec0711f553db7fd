"""The Nova API gateway with openstacksdk on RegionOne only: boots in each AZ on one shared_vlan
network, delete cleanup, lists across pods, bad input, a stopped pod."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from compute_gateway_helpers import (
    boot,
    connect,
    delete_all,
    elapsed,
    fault,
    gateway,
    image_id,
    pod_servers,
    routed_servers,
)

from tricircle.lab import processes
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER
from tricircle.network.constants import GATEWAY_PORT_OWNER

pytestmark = pytest.mark.integration

V2_37 = {"OpenStack-API-Version": "compute 2.37"}


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="module")
def shared_network(demo_cloud):
    """A tenant network (shared_vlan) with one subnet on the central Neutron."""
    network = demo_cloud.network.create_network(name=f"gw-net-{uuid.uuid4().hex[:6]}")
    subnet = demo_cloud.network.create_subnet(
        network_id=network.id, cidr="10.77.0.0/24", ip_version=4
    )
    yield network, subnet
    demo_cloud.network.delete_subnet(subnet, ignore_missing=True)
    demo_cloud.network.delete_network(network, ignore_missing=True)


def test_version_documents_and_microversion_faults(compute_lab, demo_session):
    api = gateway(demo_session)
    version = api.get("/", raise_exc=False).json()["version"]
    assert version["id"] == "v2.1" and version["min_version"] == "2.1"
    maximum = version["version"]
    answer = api.get("/flavors", headers={"OpenStack-API-Version": f"compute {maximum}"})
    assert answer.headers["OpenStack-API-Version"] == f"compute {maximum}"
    too_high = api.get(
        "/flavors", headers={"OpenStack-API-Version": "compute 2.999"}, raise_exc=False
    )
    assert "is not supported by the API" in fault(too_high, 406, "computeFault")
    malformed = api.get(
        "/flavors", headers={"OpenStack-API-Version": "compute 2.x"}, raise_exc=False
    )
    assert "invalid format" in fault(malformed, 400, "badRequest")


def test_boot_in_each_az_on_one_shared_vlan_network_then_delete_cleans_up(
    compute_lab, demo_cloud, shared_network, pod_api, admin_session, wait_until
):
    network, _subnet = shared_network
    servers = [
        boot(demo_cloud, f"gw-boot-{az}", az, networks=[{"uuid": network.id}])
        for az in ("az1", "az2")
    ]
    try:
        top_network = pod_api("RegionOne", "network").get(f"/v2.0/networks/{network.id}").json()
        top_vlan = top_network["network"]["provider:segmentation_id"]
        for server, region, az in zip(servers, ("Pod1", "Pod2"), ("az1", "az2"), strict=True):
            assert server.status == "ACTIVE" and server.availability_zone == az
            assert list(server.addresses) == [network.name], server.addresses
            bottom = pod_api(region, "compute").get(f"/servers/{server.id}").json()["server"]
            assert bottom["status"] == "ACTIVE", f"{region} {server.id}"
            bottom_networks = (
                pod_api(region, "network")
                .get("/v2.0/networks", params={"name": network.id})
                .json()["networks"]
            )
            assert [
                (n["provider:network_type"], n["provider:segmentation_id"]) for n in bottom_networks
            ] == [("vlan", top_vlan)], f"{region}: bottom copy of {network.id}"
            addresses = [entry["addr"] for entry in server.addresses[network.name]]
            bottom_ports = (
                pod_api(region, "network")
                .get("/v2.0/ports", params={"device_id": server.id})
                .json()["ports"]
            )
            assert [port["fixed_ips"][0]["ip_address"] for port in bottom_ports] == addresses
        assert {s.id for s in servers} <= routed_servers(admin_session, compute_lab)
    finally:
        delete_all(demo_cloud, servers)
    central = pod_api("RegionOne", "network")

    def cleaned() -> bool:
        for server, region in zip(servers, ("Pod1", "Pod2"), strict=True):
            for api in (pod_api(region, "network"), central):
                if api.get("/v2.0/ports", params={"device_id": server.id}).json()["ports"]:
                    return False
        return not {s.id for s in servers} & routed_servers(admin_session, compute_lab)

    wait_until(cleaned, 90, "bottom and top ports and routings of the deleted servers to go")


@pytest.fixture(scope="module")
def four_servers(demo_cloud):
    """Two servers in each AZ (no network), deleted afterwards."""
    names = ["gw-list-b", "gw-list-d", "gw-list-a", "gw-list-c"]
    azs = ["az1", "az1", "az2", "az2"]
    servers = [boot(demo_cloud, name, az, wait=False) for name, az in zip(names, azs, strict=True)]
    servers = [demo_cloud.compute.wait_for_server(server, wait=180) for server in servers]
    yield servers
    delete_all(demo_cloud, servers)


def _name_key(server: dict) -> tuple[str, str]:
    return (server["name"], server["id"])


def test_list_sort_and_pagination_across_pods_match_the_pods(
    demo_cloud, demo_session, four_servers, pod_api
):
    project_id = demo_session.get_project_id()
    direct = [
        server
        for region in ("Pod1", "Pod2")
        for server in pod_servers(pod_api, region, project_id=project_id)
    ]
    expected = [server["id"] for server in sorted(direct, key=_name_key)]
    listed = demo_cloud.compute.servers(
        details=True, sort_key="display_name", sort_dir="asc", limit=2
    )
    assert [server.id for server in listed] == expected
    descending = demo_cloud.compute.servers(sort_key="display_name", sort_dir="desc", limit=3)
    assert [server.id for server in descending] == expected[::-1]

    api = gateway(demo_session)
    page = api.get("/servers?sort_key=display_name&sort_dir=asc&limit=2").json()
    assert [server["id"] for server in page["servers"]] == expected[:2]
    next_href = page["servers_links"][0]["href"]
    assert next_href.startswith(api.get_endpoint()) and f"marker={expected[1]}" in next_href
    default_order = [server["created"] for server in api.get("/servers/detail").json()["servers"]]
    assert default_order == sorted(default_order, reverse=True)
    mine = {s.id for s in four_servers}
    filtered = api.get("/servers", params={"name": "gw-list-[ab]"}).json()["servers"]
    assert {s["id"] for s in filtered} == {
        s.id for s in four_servers if s.name in ("gw-list-a", "gw-list-b")
    }
    assert mine <= {s["id"] for s in api.get("/servers").json()["servers"]}


def _snapshot(pod_api, admin_session, lab) -> dict[str, object]:
    """Servers, networks, subnets and ports in every pod and on the central Neutron, and server
    routings. The central Neutron's per-pod gateway and DHCP address reservations are left out:
    the networking library keeps them for reuse once a pod was chosen for a subnet (and
    ``tricircle reconcile`` releases those of pods that never got the subnet)."""
    found: dict[str, object] = {"routings": routed_servers(admin_session, lab)}
    for region in ("RegionOne", "Pod1", "Pod2"):
        network = pod_api(region, "network")
        for kind in ("ports", "networks", "subnets"):
            items = network.get(f"/v2.0/{kind}").json()[kind]
            found[f"{region} {kind}"] = sorted(
                item["id"]
                for item in items
                if item.get("device_owner") != GATEWAY_PORT_OWNER
                and not item.get("name", "").startswith("tricircle-dhcp-")
            )
    for region in ("Pod1", "Pod2"):
        found[f"{region} servers"] = sorted(s["id"] for s in pod_servers(pod_api, region))
    return found


def test_bad_input_answers_nova_faults_and_creates_nothing(
    compute_lab, demo_cloud, demo_session, shared_network, pod_api, admin_session, wait_until
):
    network, _subnet = shared_network
    image = image_id(demo_cloud)
    local = (
        pod_api("RegionOne", "network")
        .post(
            "/v2.0/networks",
            json={
                "network": {
                    "name": "gw-local",
                    "provider:network_type": "local",
                    "availability_zone_hints": ["az1"],
                    "project_id": demo_session.get_project_id(),
                }
            },
        )
        .json()["network"]
    )
    pod_api("RegionOne", "network").post(
        "/v2.0/subnets",
        json={
            "subnet": {
                "network_id": local["id"],
                "cidr": "10.78.0.0/24",
                "ip_version": 4,
                "project_id": demo_session.get_project_id(),
            }
        },
    )
    home = boot(demo_cloud, "gw-local-home", "az1", networks=[{"uuid": local["id"]}])
    try:
        _check_bad_input(compute_lab, demo_session, image, network, local, pod_api, admin_session)
    finally:
        delete_all(demo_cloud, [home])
        central = pod_api("RegionOne", "network")

        def local_deleted() -> bool:
            return central.delete(f"/v2.0/networks/{local['id']}", raise_exc=False).ok

        wait_until(local_deleted, 60, f"local network {local['id']} to be deletable")


def _check_bad_input(lab, demo_session, image, network, local, pod_api, admin_session) -> None:
    """Each bad create gets its fault; pods, central Neutron and routings are unchanged."""
    api = gateway(demo_session)
    before = _snapshot(pod_api, admin_session, lab)

    def server(**fields: object) -> dict:
        body = {"name": "gw-bad", "flavorRef": "1", "imageRef": image, "networks": "none"}
        return {"server": {**body, **fields}}

    cases = [
        (server(availability_zone="nowhere"), V2_37, 400, "badRequest", "availability zone"),
        (server(flavorRef="no-such-flavor"), V2_37, 400, "badRequest", "no-such-flavor"),
        (server(imageRef=str(uuid.uuid4())), V2_37, 400, "badRequest", "Image"),
        (server(networks=[{"uuid": str(uuid.uuid4())}]), V2_37, 400, "badRequest", "Network"),
        (
            server(availability_zone="az2", networks=[{"uuid": local["id"]}]),
            V2_37,
            400,
            "badRequest",
            local["id"],
        ),
        (server(name=""), V2_37, 400, "badRequest", "name"),
        (server(), {"OpenStack-API-Version": "compute 2.999"}, 406, "computeFault", "2.999"),
        (server(), {"OpenStack-API-Version": "compute two"}, 400, "badRequest", "invalid format"),
        (
            server(networks=[{"uuid": network.id}], key_name="nokey"),
            V2_37,
            400,
            "badRequest",
            "key_name",
        ),
        # Refused by the pod's Nova after the ports were made: they must be undone.
        (
            server(
                availability_zone="az2", networks=[{"uuid": network.id}], accessIPv4="999.1.1.1"
            ),
            V2_37,
            400,
            "badRequest",
            "accessIPv4",
        ),
    ]
    for body, headers, status, name, fragment in cases:
        answer = api.post("/servers", json=body, headers=headers, raise_exc=False)
        assert fragment in fault(answer, status, name), body
    malformed = api.post(
        "/servers",
        data="{not json",
        headers={**V2_37, "Content-Type": "application/json"},
        raise_exc=False,
    )
    fault(malformed, 400, "badRequest")
    assert _snapshot(pod_api, admin_session, lab) == before


def _pod_group(lab, name: str) -> int:
    pid = processes.recorded(lab).get(name)
    assert pid, f"{name} is not running"
    return pid


def test_a_stopped_pod_does_not_stall_lists(compute_lab, demo_session, four_servers):
    api = gateway(demo_session)
    deadline = 5.0
    pod2 = {s.id for s in four_servers if s.availability_zone == "az2"}
    pod1 = {s.id for s in four_servers} - pod2
    group = _pod_group(compute_lab, "pod2-nova-api")
    os.killpg(group, signal.SIGSTOP)
    try:
        started = time.monotonic()
        new = api.get("/servers/detail", headers={"OpenStack-API-Version": "compute 2.69"}).json()
        assert elapsed(started) < deadline + 3
        by_id = {server["id"]: server for server in new["servers"]}
        assert pod1 <= set(by_id) and all(by_id[i]["status"] == "ACTIVE" for i in pod1)
        assert pod2 <= set(by_id) and all(by_id[i]["status"] == "UNKNOWN" for i in pod2)
        started = time.monotonic()
        old = api.get("/servers", headers={"OpenStack-API-Version": "compute 2.68"}).json()
        assert elapsed(started) < deadline + 3
        shown = {server["id"] for server in old["servers"]}
        assert pod1 <= shown and not pod2 & shown
        one = api.get(
            f"/servers/{next(iter(pod2))}", headers={"OpenStack-API-Version": "compute 2.69"}
        )
        assert one.json()["server"]["status"] == "UNKNOWN"
    finally:
        os.killpg(group, signal.SIGCONT)


def test_several_servers_in_one_request_are_all_routed(
    compute_lab, demo_cloud, demo_session, admin_session, wait_until
):
    api = gateway(demo_session)
    body = {
        "server": {
            "name": "gw-multi",
            "flavorRef": "1",
            "imageRef": image_id(demo_cloud),
            "networks": "none",
            "availability_zone": "az2",
            "min_count": 2,
            "max_count": 2,
            "return_reservation_id": True,
        }
    }
    reservation = api.post("/servers", json=body, headers=V2_37).json()["reservation_id"]
    listed = api.get("/servers", params={"reservation_id": reservation}).json()["servers"]
    servers = [demo_cloud.compute.get_server(server["id"]) for server in listed]
    try:
        assert len(servers) == 2
        assert {s.id for s in servers} <= routed_servers(admin_session, compute_lab)
        for server in servers:
            active = demo_cloud.compute.wait_for_server(server, wait=180)
            assert active.availability_zone == "az2"
    finally:
        delete_all(demo_cloud, servers)
    # openstacksdk may stop waiting at a DELETED record, before the pod's 404 that (or else the
    # cleanup job) forgets the routing.
    wait_until(
        lambda: not {s.id for s in servers} & routed_servers(admin_session, compute_lab),
        60,
        "the deleted servers' routings forgotten",
    )


def test_interfaces_attach_and_detach_through_the_networking_library(
    demo_cloud, demo_session, shared_network, pod_api, wait_until
):
    network, subnet = shared_network
    server = boot(demo_cloud, "gw-iface", "az1")
    api = gateway(demo_session)
    try:
        attached = api.post(
            f"/servers/{server.id}/os-interface",
            json={"interfaceAttachment": {"net_id": network.id}},
        ).json()["interfaceAttachment"]
        assert attached["net_id"] == network.id
        assert attached["fixed_ips"][0]["subnet_id"] == subnet.id
        top_port = pod_api("RegionOne", "network").get(f"/v2.0/ports/{attached['port_id']}").json()
        assert top_port["port"]["device_id"] == server.id
        listed = api.get(f"/servers/{server.id}/os-interface").json()["interfaceAttachments"]
        assert [item["port_id"] for item in listed] == [attached["port_id"]]
        bottom = pod_api("Pod1", "network").get("/v2.0/ports", params={"device_id": server.id})
        assert [p["mac_address"] for p in bottom.json()["ports"]] == [attached["mac_addr"]]
        api.delete(f"/servers/{server.id}/os-interface/{attached['port_id']}")
        top_ports = pod_api("RegionOne", "network")

        def deleted() -> bool:
            answer = top_ports.get(f"/v2.0/ports/{attached['port_id']}", raise_exc=False)
            return answer.status_code == 404

        # Nova deletes a port it made for a net_id attach when the interface is detached.
        wait_until(deleted, 60, f"top port {attached['port_id']} to be deleted")
        assert api.get(f"/servers/{server.id}/os-interface").json()["interfaceAttachments"] == []
        bottom_copies = pod_api("Pod1", "network").get(
            "/v2.0/ports", params={"name": attached["port_id"]}
        )
        assert bottom_copies.json()["ports"] == []
    finally:
        delete_all(demo_cloud, [server])

"""BottomMirror against an in-memory Neutron per region, on a SQLite Tricircle database."""

from __future__ import annotations

from typing import Any

import pytest
from fake_neutron import FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.cache import TtlCache
from tricircle.db import jobs as job_queries
from tricircle.db import routings
from tricircle.db.models import Pod, ResourceRouting
from tricircle.network import constants
from tricircle.network.mirror import (
    BottomMirror,
    InvalidNetworkRequest,
    NetworkNotFound,
    NetworkNotInPod,
    PortInUse,
    PortNotFound,
)
from tricircle.network.mirror.pools import address_in_pools
from tricircle.pods.client import PodClientError

PROJECT = "tenant"


@pytest.fixture
def pods(sessions: sessionmaker[Session]) -> dict[str, Pod]:
    with sessions.begin() as session:
        made = {
            region: Pod(region_name=region, az_name=az, pod_az_name=az)
            for region, az in (("RegionOne", ""), ("Pod1", "az1"), ("Pod2", "az2"), ("Pod3", "az1"))
        }
        session.add_all(made.values())
    return made


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients("RegionOne", "Pod1", "Pod2", "Pod3")


@pytest.fixture
def mirror(sessions: sessionmaker[Session], clients: FakeClients, pods: dict) -> BottomMirror:
    return BottomMirror(sessions, clients, "RegionOne")  # type: ignore[arg-type]


def top_network(clients: FakeClients, **attributes: object) -> tuple[dict, dict]:
    top = clients.neutrons["RegionOne"]
    segment = {
        "provider:network_type": constants.TYPE_SHARED_VLAN,
        "provider:physical_network": "physnet1",
        "provider:segmentation_id": 2000,
    }
    if attributes.get("provider:network_type") == constants.TYPE_LOCAL:
        segment = {}
    body = {"project_id": PROJECT, **segment, **attributes}
    network = top.post("/v2.0/networks", json={"network": body})["network"]
    subnet = top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.0.0.0/24", "project_id": PROJECT}
        },
    )["subnet"]
    return network, subnet


def all_routings(sessions: sessionmaker[Session]) -> list[ResourceRouting]:
    with sessions() as session:
        return routings.list_routings(session)


def test_shared_vlan_ports_get_the_segment_and_per_pod_gateways(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, subnet = top_network(clients)
    for region in ("Pod1", "Pod2"):
        mirror.prepare_server_port(pods[region], PROJECT, {"uuid": network["id"]})
    bottom = {}
    for region in ("Pod1", "Pod2"):
        neutron = clients.neutrons[region]
        (bottom_network,) = neutron.data["networks"].values()
        assert bottom_network["provider:network_type"] == "vlan"
        assert bottom_network["provider:segmentation_id"] == 2000
        assert bottom_network["name"] == network["id"]
        assert bottom_network["project_id"] == PROJECT
        (bottom[region],) = neutron.data["subnets"].values()
    gateways = {region: subnet_copy["gateway_ip"] for region, subnet_copy in bottom.items()}
    assert len(set(gateways.values())) == 2
    assert subnet["gateway_ip"] not in gateways.values()
    for region, subnet_copy in bottom.items():
        for gateway in gateways.values():
            assert not address_in_pools(gateway, subnet_copy["allocation_pools"]), region


def test_a_later_port_on_a_mirrored_network_reads_the_top_network_once_and_no_subnet(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, _subnet = top_network(clients)
    mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    top, bottom = clients.neutrons["RegionOne"], clients.neutrons["Pod1"]
    top.calls.clear()
    bottom.calls.clear()
    server_port = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    assert top.calls.count(("GET", "networks")) == 1
    assert ("GET", "subnets") not in top.calls
    assert bottom.calls == [("POST", "ports")]
    assert server_port.bottom_port["network_id"] in bottom.data["networks"]


def test_a_later_port_takes_a_copied_security_group_as_it_is(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    """Rules of a group already in the pod are kept equal by sync_security_group jobs."""
    network, _subnet = top_network(clients)
    top, bottom = clients.neutrons["RegionOne"], clients.neutrons["Pod1"]
    group = top.post("/v2.0/security-groups", json={"security_group": {"project_id": PROJECT}})[
        "security_group"
    ]
    first = mirror.prepare_server_port(
        pods["Pod1"], PROJECT, {"uuid": network["id"]}, [group["id"]]
    )
    top.calls.clear()
    bottom.calls.clear()
    later = mirror.prepare_server_port(
        pods["Pod1"], PROJECT, {"uuid": network["id"]}, [group["id"]]
    )
    assert ("GET", "security-groups") in top.calls  # the request's group, found by ID
    assert ("GET", "subnets") not in top.calls
    assert bottom.calls == [("POST", "ports")]
    assert later.bottom_port["security_groups"] == first.bottom_port["security_groups"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_gateway_mirror_reads_a_top_network_once_per_ttl_and_checks_each_caller(
    sessions: sessionmaker[Session], clients: FakeClients, pods: dict
) -> None:
    clock = Clock()
    mirror = BottomMirror(sessions, clients, "RegionOne", TtlCache(10, 5.0, clock))  # type: ignore[arg-type]
    network, _subnet = top_network(clients)
    top = clients.neutrons["RegionOne"]
    mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    top.calls.clear()
    mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    assert ("GET", "networks") not in top.calls
    with pytest.raises(NetworkNotFound):  # cached, yet another project's private network
        mirror.prepare_server_port(pods["Pod1"], "other-tenant", {"uuid": network["id"]})
    top.data["networks"][network["id"]]["shared"] = True
    clock.now = 5.0
    mirror.prepare_server_port(pods["Pod1"], "other-tenant", {"uuid": network["id"]})
    assert top.calls.count(("GET", "networks")) == 1


def test_a_network_deleted_since_it_was_cached_is_not_found_and_forgotten(
    sessions: sessionmaker[Session],
    clients: FakeClients,
    pods: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache: TtlCache[str, Any] = TtlCache(10, 5.0)
    mirror = BottomMirror(sessions, clients, "RegionOne", cache)  # type: ignore[arg-type]
    network, _subnet = top_network(clients)
    mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    top = clients.neutrons["RegionOne"]

    def network_gone(path: str, json: Any = None, **_: Any) -> Any:
        raise PodClientError("RegionOne", "network", 404, f"Network {network['id']} not found")

    monkeypatch.setattr(top, "post", network_gone)
    with pytest.raises(NetworkNotFound):
        mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    assert cache.get_many([network["id"]]) == {}


def test_failure_part_way_undoes_the_copies_routings_and_top_port(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _subnet = top_network(clients)
    clients.neutrons["Pod2"].fail_on.add(("POST", "ports"))
    with pytest.raises(Exception, match="injected"):
        mirror.prepare_server_port(pods["Pod2"], PROJECT, {"uuid": network["id"]})
    pod2 = clients.neutrons["Pod2"].data
    assert pod2["networks"] == {} and pod2["subnets"] == {} and pod2["ports"] == {}
    assert all_routings(sessions) == []
    top_ports = clients.neutrons["RegionOne"].data["ports"].values()
    assert sorted(port["device_owner"] for port in top_ports) == [
        "network:dhcp",  # the reservations stay for the next attempt
        constants.GATEWAY_PORT_OWNER,
    ]


def test_local_network_lives_in_the_first_pod_that_asks(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _subnet = top_network(clients, **{"provider:network_type": "local"})
    assert mirror.ensure_bottom_network(pods["Pod2"], network)
    assert "provider:network_type" not in next(
        iter(clients.neutrons["Pod2"].data["networks"].values())
    )
    with pytest.raises(NetworkNotInPod, match="local network of another pod"):
        mirror.ensure_bottom_network(pods["Pod1"], network)
    mirror.delete_bottom_copies(constants.NETWORK, network["id"])
    assert all_routings(sessions) == []


def test_hints_name_the_home_pod_or_its_az(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    by_region, _ = top_network(
        clients, **{"provider:network_type": "local", "availability_zone_hints": ["Pod3"]}
    )
    with pytest.raises(NetworkNotInPod, match="hints"):
        mirror.ensure_bottom_network(pods["Pod2"], by_region)
    with pytest.raises(NetworkNotInPod, match="hints"):
        mirror.ensure_bottom_network(pods["Pod1"], by_region)  # in az1 like Pod3, not named
    assert mirror.ensure_bottom_network(pods["Pod3"], by_region)

    shared_in_az1, _ = top_network(clients, availability_zone_hints=["az1"])
    assert mirror.ensure_bottom_network(pods["Pod1"], shared_in_az1)
    assert mirror.ensure_bottom_network(pods["Pod3"], shared_in_az1)
    with pytest.raises(NetworkNotInPod):
        mirror.ensure_bottom_network(pods["Pod2"], shared_in_az1)


def test_a_failed_first_claim_of_a_local_network_is_released(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _ = top_network(clients, **{"provider:network_type": "local"})
    clients.neutrons["Pod1"].fail_on.add(("POST", "networks"))
    with pytest.raises(Exception, match="injected"):
        mirror.ensure_bottom_network(pods["Pod1"], network)
    assert all_routings(sessions) == []
    assert mirror.ensure_bottom_network(pods["Pod2"], network)


def test_security_group_rules_follow_the_top(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    top = clients.neutrons["RegionOne"]
    top_network(clients)
    group = top.post("/v2.0/security-groups", json={"security_group": {"project_id": PROJECT}})[
        "security_group"
    ]
    rules = [
        {"direction": "ingress", "remote_group_id": group["id"], "protocol": "tcp"},
        {"direction": "egress"},
    ]
    made = [
        top.post(
            "/v2.0/security-group-rules",
            json={"security_group_rule": {"security_group_id": group["id"], **rule}},
        )["security_group_rule"]
        for rule in rules
    ]
    bottom_id = mirror.ensure_bottom_security_group(pods["Pod1"], group["id"])
    pod1 = clients.neutrons["Pod1"]

    def bottom_rules() -> set[tuple]:
        return {
            (rule["direction"], rule["protocol"], rule["remote_ip_prefix"])
            for rule in pod1.data["security-group-rules"].values()
            if rule["security_group_id"] == bottom_id
        }

    assert bottom_rules() == {("ingress", "tcp", "10.0.0.0/24"), ("egress", None, None)}
    top.delete(f"/v2.0/security-group-rules/{made[1]['id']}")
    assert mirror.ensure_bottom_security_group(pods["Pod1"], group["id"]) == bottom_id
    assert bottom_rules() == {("ingress", "tcp", "10.0.0.0/24")}


def test_security_group_rules_made_meanwhile_by_another_boot_are_kept(
    mirror: BottomMirror, clients: FakeClients, pods: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two boots reconcile one group at once: the second sees no rules, then its posts meet 409."""
    top = clients.neutrons["RegionOne"]
    top_network(clients)
    group = top.post("/v2.0/security-groups", json={"security_group": {"project_id": PROJECT}})[
        "security_group"
    ]
    top.post(
        "/v2.0/security-group-rules",
        json={"security_group_rule": {"security_group_id": group["id"], "direction": "egress"}},
    )
    bottom_id = mirror.ensure_bottom_security_group(pods["Pod1"], group["id"])
    pod1 = clients.neutrons["Pod1"]
    read = pod1.get

    def stale_rules(path: str, params: dict | None = None, **kwargs: Any) -> Any:
        if path == "/v2.0/security-group-rules":
            return {"security_group_rules": []}
        return read(path, params, **kwargs)

    monkeypatch.setattr(pod1, "get", stale_rules)
    assert mirror.ensure_bottom_security_group(pods["Pod1"], group["id"]) == bottom_id
    rules = [
        rule
        for rule in pod1.data["security-group-rules"].values()
        if rule["security_group_id"] == bottom_id
    ]
    assert [rule["direction"] for rule in rules] == ["egress"]


def test_server_port_requests_are_checked(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, _ = top_network(clients)
    top = clients.neutrons["RegionOne"]
    with pytest.raises(NetworkNotFound):
        mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": "missing"})
    with pytest.raises(NetworkNotFound):
        mirror.prepare_server_port(pods["Pod1"], "someone-else", {"uuid": network["id"]})
    with pytest.raises(InvalidNetworkRequest):
        mirror.prepare_server_port(pods["Pod1"], PROJECT, {})
    port = top.post(
        "/v2.0/ports", json={"port": {"network_id": network["id"], "project_id": PROJECT}}
    )["port"]
    with pytest.raises(PortNotFound):
        mirror.prepare_server_port(pods["Pod1"], "someone-else", {"port": port["id"]})
    top.put(f"/v2.0/ports/{port['id']}", json={"port": {"device_id": "server-1"}})
    with pytest.raises(PortInUse):
        mirror.prepare_server_port(pods["Pod1"], PROJECT, {"port": port["id"]})
    top.put(f"/v2.0/ports/{port['id']}", json={"port": {"device_id": ""}})
    made = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"port": port["id"]})
    assert not made.top_port_created
    assert made.bottom_port["mac_address"] == port["mac_address"]
    assert made.bottom_port["fixed_ips"][0]["ip_address"] == port["fixed_ips"][0]["ip_address"]


def test_release_undoes_exactly_what_was_made(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _ = top_network(clients)
    first = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    second = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    assert [made.resource_type for made in second.made] == ["top_port", constants.PORT]
    mirror.release_server_port(pods["Pod1"], second)
    pod1 = clients.neutrons["Pod1"].data
    assert sorted(port["device_id"] for port in pod1["ports"].values()) == [
        "",
        "reserved_dhcp_port",
    ]
    assert first.bottom_port["id"] in pod1["ports"]
    assert second.top_port["id"] not in clients.neutrons["RegionOne"].data["ports"]
    mirror.release_server_port(pods["Pod1"], first)
    assert pod1["networks"] == {} and pod1["subnets"] == {}
    assert all_routings(sessions) == []


def test_a_new_subnet_copy_queues_setup_of_its_routers(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, subnet = top_network(clients)
    top = clients.neutrons["RegionOne"]
    top.post(
        "/v2.0/ports",
        json={
            "port": {
                "network_id": network["id"],
                "device_owner": "network:router_interface",
                "device_id": "router-a",
                "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}],
            }
        },
    )
    mirror.prepare_server_port(pods["Pod2"], PROJECT, {"uuid": network["id"]})
    with sessions() as session:
        queued = job_queries.list_jobs(session, job_type=constants.JOB_ROUTER_SETUP)
    assert [(job.resource_id, job.payload) for job in queued] == [
        ("router-a", {"router_id": "router-a"})
    ]


def test_releasing_one_of_two_ports_on_a_local_network_keeps_copy_and_home(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _ = top_network(clients, **{"provider:network_type": "local"})
    first = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    second = mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    mirror.release_server_port(pods["Pod1"], first)  # made the network: in use, kept
    assert len(clients.neutrons["Pod1"].data["networks"]) == 1
    with pytest.raises(NetworkNotInPod):
        mirror.ensure_bottom_network(pods["Pod2"], network)
    mirror.release_server_port(pods["Pod1"], second)
    assert [r.resource_type for r in all_routings(sessions)] == [
        constants.LOCAL_NETWORK_HOME,
        constants.NETWORK,
        constants.SUBNET,
    ]


def test_each_pod_gets_a_dhcp_port_on_an_address_reserved_on_the_top(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, subnet = top_network(clients)
    for region in ("Pod1", "Pod2"):
        mirror.prepare_server_port(pods[region], PROJECT, {"uuid": network["id"]})
    top_ports = clients.neutrons["RegionOne"].data["ports"].values()
    reserved = {
        port["name"]: port["fixed_ips"][0]["ip_address"]
        for port in top_ports
        if port["device_owner"] == "network:dhcp"
    }
    assert len(reserved) == 2
    for region in ("Pod1", "Pod2"):
        (dhcp,) = [
            port
            for port in clients.neutrons[region].data["ports"].values()
            if port["device_owner"] == "network:dhcp"
        ]
        assert dhcp["device_id"] == "reserved_dhcp_port"
        assert (
            dhcp["fixed_ips"][0]["ip_address"] == reserved[f"tricircle-dhcp-{pods[region].pod_id}"]
        )

    quiet, _ = top_network(clients)
    top = clients.neutrons["RegionOne"]
    no_dhcp = top.post(
        "/v2.0/subnets",
        json={
            "subnet": {
                "network_id": quiet["id"],
                "cidr": "10.8.0.0/24",
                "project_id": PROJECT,
                "enable_dhcp": False,
            }
        },
    )["subnet"]
    bottom_network_id = mirror.ensure_bottom_network(pods["Pod1"], quiet)
    mirror.ensure_bottom_subnet(pods["Pod1"], no_dhcp, bottom_network_id)
    assert not [
        port
        for port in top.data["ports"].values()
        if port["network_id"] == quiet["id"] and port["device_owner"] == "network:dhcp"
    ]


def test_a_bottom_subnet_turns_dhcp_on_only_once_its_dhcp_port_exists(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, _subnet = top_network(clients)
    pod = clients.neutrons["Pod1"]
    dhcp_seen_while: list[bool] = []
    post = pod.post

    def watching_post(path: str, json: Any = None, **kwargs: Any) -> Any:
        if path.endswith("/ports") and json["port"].get("device_owner") == "network:dhcp":
            dhcp_seen_while.extend(s["enable_dhcp"] for s in pod.data["subnets"].values())
        return post(path, json, **kwargs)

    pod.post = watching_post  # type: ignore[method-assign]
    mirror.prepare_server_port(pods["Pod1"], PROJECT, {"uuid": network["id"]})
    assert dhcp_seen_while == [False]
    assert [s["enable_dhcp"] for s in pod.data["subnets"].values()] == [True]

"""RouterL3 against an in-memory Neutron per region: convergence, idempotence and undo."""

from __future__ import annotations

import pytest
from fake_neutron import FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.l3 import RouterL3
from tricircle.network.mirror import BottomMirror

PROJECT = "tenant"
CIDRS = {"Pod1": "10.1.0.0/24", "Pod2": "10.2.0.0/24"}


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients("RegionOne", "Pod1", "Pod2")


@pytest.fixture
def l3(sessions: sessionmaker[Session], clients: FakeClients) -> RouterL3:
    with sessions.begin() as session:
        for region, az in (("RegionOne", ""), ("Pod1", "az1"), ("Pod2", "az2")):
            session.add(Pod(region_name=region, az_name=az, pod_az_name=az))
    mirror = BottomMirror(sessions, clients, "RegionOne")  # type: ignore[arg-type]
    return RouterL3(mirror, "100.0.0.0/9")


@pytest.fixture
def router(l3: RouterL3, clients: FakeClients, sessions: sessionmaker[Session]) -> dict:
    """A top router with one interface per pod's network; each network has a port in its pod."""
    top = clients.neutrons["RegionOne"]
    router = top.post("/v2.0/routers", json={"router": {"project_id": PROJECT}})["router"]
    for region, cidr in CIDRS.items():
        network = top.post("/v2.0/networks", json={"network": {"project_id": PROJECT}})["network"]
        subnet = top.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": cidr, "project_id": PROJECT}},
        )["subnet"]
        with sessions() as session:
            pod = session.query(Pod).filter_by(region_name=region).one()
        l3.mirror.prepare_server_port(pod, PROJECT, {"uuid": network["id"]})
        top.post(
            "/v2.0/ports",
            json={
                "port": {
                    "network_id": network["id"],
                    "project_id": PROJECT,
                    "device_owner": "network:router_interface",
                    "device_id": router["id"],
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}],
                }
            },
        )
    return router


def bottom_router(clients: FakeClients, region: str) -> dict | None:
    found = list(clients.neutrons[region].data["routers"].values())
    return found[0] if found else None


def router_ports(clients: FakeClients, region: str, bottom_router_id: str) -> list[dict]:
    return [
        port
        for port in clients.neutrons[region].data["ports"].values()
        if port["device_id"] == bottom_router_id
    ]


def test_setup_spans_two_pods_with_bridge_and_routes_and_is_idempotent(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    l3.setup_router(router["id"], PROJECT)
    bridge_ips = {}
    for region in CIDRS:
        bottom = bottom_router(clients, region)
        assert bottom is not None and bottom["name"] == router["id"]
        ports = router_ports(clients, region, bottom["id"])
        assert len(ports) == 2, region
        (bridge,) = [port for port in ports if port["name"]]
        bridge_ips[region] = bridge["fixed_ips"][0]["ip_address"]
    for region, other in (("Pod1", "Pod2"), ("Pod2", "Pod1")):
        bottom = bottom_router(clients, region)
        assert bottom is not None
        assert bottom["routes"] == [{"destination": CIDRS[other], "nexthop": bridge_ips[other]}]

    writes_before = [
        call for neutron in clients.neutrons.values() for call in neutron.calls if call[0] != "GET"
    ]
    l3.setup_router(router["id"], PROJECT)
    writes_after = [
        call for neutron in clients.neutrons.values() for call in neutron.calls if call[0] != "GET"
    ]
    assert writes_after == writes_before, "a second run changed something"


def test_removing_an_interface_then_the_router_undoes_everything(
    l3: RouterL3, clients: FakeClients, router: dict, sessions: sessionmaker[Session]
) -> None:
    l3.setup_router(router["id"], PROJECT)
    top = clients.neutrons["RegionOne"]
    interfaces = [
        port
        for port in top.data["ports"].values()
        if port["device_owner"] == "network:router_interface"
    ]
    pod2_subnet = next(
        port for port in interfaces if port["fixed_ips"][0]["ip_address"].startswith("10.2.")
    )
    del top.data["ports"][pod2_subnet["id"]]
    l3.setup_router(router["id"], PROJECT)
    assert bottom_router(clients, "Pod2") is None
    pod1 = bottom_router(clients, "Pod1")
    assert pod1 is not None and pod1["routes"] == []
    assert len(router_ports(clients, "Pod1", pod1["id"])) == 1
    assert not [
        port
        for port in top.data["ports"].values()
        if port["device_owner"] == constants.BRIDGE_PORT_OWNER
    ]
    with sessions() as session:
        assert routings.find_routings_for_top(session, constants.bridge_key(PROJECT)) == []

    for port in interfaces:
        top.data["ports"].pop(port["id"], None)
    del top.data["routers"][router["id"]]
    l3.setup_router(router["id"], PROJECT)
    assert bottom_router(clients, "Pod1") is None
    with sessions() as session:
        assert routings.find_routings_for_top(session, router["id"]) == []


def test_a_pod_failing_part_way_converges_on_the_next_run(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    clients.neutrons["Pod2"].fail_on.add(("PUT", "routers"))
    with pytest.raises(Exception, match="injected"):
        l3.setup_router(router["id"], PROJECT)
    clients.neutrons["Pod2"].fail_on.clear()
    l3.setup_router(router["id"], PROJECT)
    for region in CIDRS:
        bottom = bottom_router(clients, region)
        assert bottom is not None and len(bottom["routes"]) == 1, region

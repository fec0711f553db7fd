"""RouterL3 against an in-memory Neutron per region: convergence, idempotence and undo."""

from __future__ import annotations

import pytest
from fake_neutron import CIDRS, PROJECT, FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.l3 import RouterL3, same_routes
from tricircle.network.mirror import ExternalNetworkNotPlaced


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


def test_a_bridge_network_left_without_its_subnet_gets_it_again(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    """Neutron deletes a network's subnets before refusing the network for a bridge port made
    meanwhile: the next setup of a router of the tenant adds the subnet back and converges."""
    bridge_network, bridge_subnet = l3._ensure_bridge(PROJECT)
    top = clients.neutrons["RegionOne"]
    del top.data["subnets"][bridge_subnet["id"]]
    l3.setup_router(router["id"], PROJECT)
    (subnet,) = [
        subnet
        for subnet in top.data["subnets"].values()
        if subnet["network_id"] == bridge_network["id"]
    ]
    assert (subnet["cidr"], subnet["gateway_ip"]) == (bridge_subnet["cidr"], None)
    for region, other in (("Pod1", "Pod2"), ("Pod2", "Pod1")):
        bottom = bottom_router(clients, region)
        assert bottom is not None
        assert bottom["routes"] == [
            {"destination": CIDRS[other], "nexthop": bridge_ip(clients, other)}
        ]


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


# -- north-south: the external gateway ------------------------------------------------------------

EXTERNAL_CIDR = "172.24.4.0/24"


def place_external_network(l3: RouterL3, clients: FakeClients, region: str) -> tuple[dict, dict]:
    """A flat external network hinted to ``region``, copied there as its job would."""
    top = clients.neutrons["RegionOne"]
    network = top.post(
        "/v2.0/networks",
        json={
            "network": {
                "project_id": "admin",
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": "extnet",
                "availability_zone_hints": [region],
            }
        },
    )["network"]
    subnet = top.post(
        "/v2.0/subnets",
        json={
            "subnet": {
                "network_id": network["id"],
                "cidr": EXTERNAL_CIDR,
                "gateway_ip": "172.24.4.1",
                "enable_dhcp": False,
                "project_id": "admin",
            }
        },
    )["subnet"]
    l3.mirror.sync_external_network(pod_of(l3, region), network)
    return network, subnet


def pod_of(l3: RouterL3, region: str) -> Pod:
    with l3.mirror.session_factory() as session:
        return session.query(Pod).filter_by(region_name=region).one()


def set_top_gateway(
    clients: FakeClients, router: dict, network: dict, subnet: dict, enable_snat: bool = True
) -> str:
    """The central Neutron's side of a gateway set: a gateway port and external_gateway_info."""
    top = clients.neutrons["RegionOne"]
    port = top.post(
        "/v2.0/ports",
        json={
            "port": {
                "network_id": network["id"],
                "device_owner": "network:router_gateway",
                "device_id": router["id"],
                "fixed_ips": [{"subnet_id": subnet["id"]}],
            }
        },
    )["port"]
    top.data["routers"][router["id"]]["external_gateway_info"] = {
        "network_id": network["id"],
        "enable_snat": enable_snat,
        "external_fixed_ips": port["fixed_ips"],
    }
    return port["fixed_ips"][0]["ip_address"]


def bridge_ip(clients: FakeClients, region: str) -> str:
    bottom = bottom_router(clients, region)
    assert bottom is not None, region
    (bridge,) = [port for port in router_ports(clients, region, bottom["id"]) if port["name"]]
    return bridge["fixed_ips"][0]["ip_address"]


def bottom_external_ids(clients: FakeClients, region: str) -> tuple[str, str]:
    neutron = clients.neutrons[region]
    (network,) = [n for n in neutron.data["networks"].values() if n.get("router:external")]
    (subnet,) = [s for s in neutron.data["subnets"].values() if s["network_id"] == network["id"]]
    return network["id"], subnet["id"]


@pytest.mark.parametrize(("gateway_region", "other"), [("Pod1", "Pod2"), ("Pod2", "Pod1")])
def test_the_gateway_pod_holds_the_real_gateway_and_the_others_route_by_default_to_it(
    l3: RouterL3, clients: FakeClients, router: dict, gateway_region: str, other: str
) -> None:
    network, subnet = place_external_network(l3, clients, gateway_region)
    address = set_top_gateway(clients, router, network, subnet)
    l3.setup_router(router["id"], PROJECT)

    gateway_router = bottom_router(clients, gateway_region)
    assert gateway_router is not None
    bottom_network_id, bottom_subnet_id = bottom_external_ids(clients, gateway_region)
    assert gateway_router["external_gateway_info"] == {
        "network_id": bottom_network_id,
        "enable_snat": True,
        "external_fixed_ips": [{"subnet_id": bottom_subnet_id, "ip_address": address}],
    }
    other_router = bottom_router(clients, other)
    assert other_router is not None
    assert not other_router.get("external_gateway_info")
    assert same_routes(
        other_router["routes"],
        [
            {"destination": CIDRS[gateway_region], "nexthop": bridge_ip(clients, gateway_region)},
            {"destination": "0.0.0.0/0", "nexthop": bridge_ip(clients, gateway_region)},
        ],
    )
    # The other pod's shared_vlan network is attached in the gateway pod too: no route needed.
    assert gateway_router["routes"] == []
    attached = {
        fixed["ip_address"].rsplit(".", 1)[0]
        for port in router_ports(clients, gateway_region, gateway_router["id"])
        for fixed in port["fixed_ips"]
    }
    assert CIDRS[other].rsplit(".", 1)[0] in attached

    before = [call for neutron in clients.neutrons.values() for call in neutron.calls]
    l3.setup_router(router["id"], PROJECT)
    after = [call for neutron in clients.neutrons.values() for call in neutron.calls]
    assert [c for c in after if c[0] != "GET"] == [c for c in before if c[0] != "GET"]


def test_a_gateway_pod_without_servers_gets_a_router_with_gateway_bridge_and_the_network(
    l3: RouterL3, clients: FakeClients, router: dict, sessions: sessionmaker[Session]
) -> None:
    top = clients.neutrons["RegionOne"]
    for port in list(top.data["ports"].values()):
        if port["device_owner"] == "network:router_interface" and port["fixed_ips"][0][
            "ip_address"
        ].startswith("10.1."):
            del top.data["ports"][port["id"]]
    network, subnet = place_external_network(l3, clients, "Pod1")
    set_top_gateway(clients, router, network, subnet)
    l3.setup_router(router["id"], PROJECT)

    pod1 = bottom_router(clients, "Pod1")
    assert pod1 is not None and pod1["external_gateway_info"]["network_id"]
    addresses = sorted(
        port["fixed_ips"][0]["ip_address"] for port in router_ports(clients, "Pod1", pod1["id"])
    )
    # Its bridge port, and Pod2's shared_vlan network attached in the gateway pod as well.
    assert bridge_ip(clients, "Pod1") in addresses and len(addresses) == 2
    assert pod1["routes"] == []
    pod2 = bottom_router(clients, "Pod2")
    assert pod2 is not None
    assert pod2["routes"] == [{"destination": "0.0.0.0/0", "nexthop": bridge_ip(clients, "Pod1")}]

    top.data["routers"][router["id"]]["external_gateway_info"] = None
    l3.setup_router(router["id"], PROJECT)
    pod1 = bottom_router(clients, "Pod1")
    assert pod1 is not None and not pod1.get("external_gateway_info"), "gateway cleared"
    pod2 = bottom_router(clients, "Pod2")
    assert pod2 is not None and pod2["routes"] == []

    top.data["routers"].pop(router["id"])
    l3.setup_router(router["id"], PROJECT)
    assert bottom_router(clients, "Pod1") is None and bottom_router(clients, "Pod2") is None
    owners = {port["device_owner"] for port in top.data["ports"].values()}
    assert constants.BRIDGE_PORT_OWNER not in owners
    with sessions() as session:
        assert routings.find_routings_for_top(session, constants.bridge_key(PROJECT)) == []


def test_gateway_updates_and_clearing_reach_the_gateway_pod(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    network, subnet = place_external_network(l3, clients, "Pod1")
    set_top_gateway(clients, router, network, subnet)
    l3.setup_router(router["id"], PROJECT)
    top = clients.neutrons["RegionOne"]
    info = top.data["routers"][router["id"]]["external_gateway_info"]
    info["enable_snat"] = False
    info["external_fixed_ips"] = [{"subnet_id": subnet["id"], "ip_address": "172.24.4.99"}]
    l3.setup_router(router["id"], PROJECT)
    pod1 = bottom_router(clients, "Pod1")
    assert pod1 is not None
    assert pod1["external_gateway_info"]["enable_snat"] is False
    assert pod1["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "172.24.4.99"

    top.data["routers"][router["id"]]["external_gateway_info"] = None
    l3.setup_router(router["id"], PROJECT)
    pod1 = bottom_router(clients, "Pod1")
    pod2 = bottom_router(clients, "Pod2")
    assert pod1 is not None and pod2 is not None
    assert not pod1["external_gateway_info"]
    assert pod2["routes"] == [{"destination": CIDRS["Pod1"], "nexthop": bridge_ip(clients, "Pod1")}]


def test_a_gateway_waits_for_its_external_network_copy(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    top = clients.neutrons["RegionOne"]
    network = top.post(
        "/v2.0/networks",
        json={"network": {"router:external": True, "provider:network_type": "flat"}},
    )["network"]
    subnet = top.post(
        "/v2.0/subnets", json={"subnet": {"network_id": network["id"], "cidr": EXTERNAL_CIDR}}
    )["subnet"]
    set_top_gateway(clients, router, network, subnet)
    with pytest.raises(ExternalNetworkNotPlaced):
        l3.setup_router(router["id"], PROJECT)
    l3.mirror.sync_external_network(pod_of(l3, "Pod2"), network)
    l3.setup_router(router["id"], PROJECT)
    pod2 = bottom_router(clients, "Pod2")
    assert pod2 is not None and pod2["external_gateway_info"]["network_id"]


def test_deleting_a_router_with_a_gateway_leaves_nothing_in_any_pod(
    l3: RouterL3, clients: FakeClients, router: dict, sessions: sessionmaker[Session]
) -> None:
    network, subnet = place_external_network(l3, clients, "Pod1")
    set_top_gateway(clients, router, network, subnet)
    l3.setup_router(router["id"], PROJECT)
    top = clients.neutrons["RegionOne"]
    for port in list(top.data["ports"].values()):
        if port["device_id"] == router["id"]:
            del top.data["ports"][port["id"]]
    del top.data["routers"][router["id"]]
    l3.setup_router(router["id"], PROJECT)
    for region in CIDRS:
        assert bottom_router(clients, region) is None, region
    with sessions() as session:
        assert routings.find_routings_for_top(session, router["id"]) == []

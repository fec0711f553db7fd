"""FloatingIPs against an in-memory Neutron per region: the bottom floating IP lives in the pod of
the external network, on the server's own port there or on a shadow port, and follows the top."""

from __future__ import annotations

import pytest
from fake_neutron import CIDRS, PROJECT, FakeClients
from sqlalchemy.orm import Session, sessionmaker
from test_l3_router import place_external_network, set_top_gateway

from tricircle.db import routings
from tricircle.db.models import Pod
from tricircle.network import constants
from tricircle.network.floating_ips import FloatingIPNotWirable, FloatingIPs, PortNotPlaced
from tricircle.network.l3 import RouterL3

ADDRESS = "172.24.4.50"


@pytest.fixture
def floating_ips(l3: RouterL3) -> FloatingIPs:
    return FloatingIPs(l3)


@pytest.fixture
def public(l3: RouterL3, clients: FakeClients, router: dict) -> dict:
    """The external network in Pod1, the router's gateway on it."""
    network, subnet = place_external_network(l3, clients, "Pod1")
    set_top_gateway(clients, router, network, subnet)
    return network


def server_port(clients: FakeClients, region: str) -> dict:
    """The top port of the server the ``router`` fixture placed in ``region``."""
    top = clients.neutrons["RegionOne"]
    prefix = CIDRS[region].rsplit(".", 1)[0]
    (port,) = [
        port
        for port in top.data["ports"].values()
        if not port.get("device_owner") and port["fixed_ips"][0]["ip_address"].startswith(prefix)
    ]
    return port


def top_floatingip(clients: FakeClients, public: dict, router: dict, port: dict | None) -> dict:
    body = {
        "project_id": PROJECT,
        "floating_network_id": public["id"],
        "floating_ip_address": ADDRESS,
        "router_id": router["id"],
        "port_id": port["id"] if port else None,
        "fixed_ip_address": port["fixed_ips"][0]["ip_address"] if port else None,
    }
    top = clients.neutrons["RegionOne"]
    return top.post("/v2.0/floatingips", json={"floatingip": body})["floatingip"]


def pod1_floatingips(clients: FakeClients) -> list[dict]:
    return list(clients.neutrons["Pod1"].data["floatingips"].values())


def shadow_ports(clients: FakeClients, region: str = "Pod1") -> list[dict]:
    return [
        port
        for port in clients.neutrons[region].data["ports"].values()
        if port["name"].startswith("shadow:")
    ]


def wired_port(sessions: sessionmaker[Session], floatingip_id: str) -> str | None:
    with sessions() as session:
        top_pod = session.query(Pod).filter_by(region_name="RegionOne").one()
        return routings.find_bottom_id(
            session, constants.floatingip_port_key(floatingip_id), top_pod.pod_id
        )


def test_a_server_in_another_pod_is_reached_through_a_shadow_port_in_the_gateway_pod(
    floating_ips,
    clients,
    public,
    router,
    sessions,
) -> None:
    port = server_port(clients, "Pod2")
    floatingip = top_floatingip(clients, public, router, port)
    floating_ips.setup_floatingip(floatingip["id"])

    (bottom,) = pod1_floatingips(clients)
    (shadow,) = shadow_ports(clients)
    assert bottom["floating_ip_address"] == ADDRESS
    assert bottom["port_id"] == shadow["id"]
    assert shadow["fixed_ips"][0]["ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert shadow["mac_address"] != port["mac_address"], "the pod's DHCP must not answer it"
    assert shadow["device_owner"] == constants.SHADOW_PORT_OWNER
    assert not clients.neutrons["Pod2"].data["floatingips"]
    assert wired_port(sessions, floatingip["id"]) == port["id"]

    before = [call for neutron in clients.neutrons.values() for call in neutron.calls]
    floating_ips.setup_floatingip(floatingip["id"])
    after = [call for neutron in clients.neutrons.values() for call in neutron.calls]
    assert [c for c in after if c[0] != "GET"] == [c for c in before if c[0] != "GET"]


def test_a_server_in_the_gateway_pod_is_reached_on_its_own_port(
    floating_ips,
    clients,
    public,
    router,
    sessions,
) -> None:
    port = server_port(clients, "Pod1")
    floatingip = top_floatingip(clients, public, router, port)
    floating_ips.setup_floatingip(floatingip["id"])

    (bottom,) = pod1_floatingips(clients)
    own = clients.neutrons["Pod1"].data["ports"][bottom["port_id"]]
    assert own["name"] == port["id"]
    assert not shadow_ports(clients)


def test_moving_to_the_other_pod_and_disassociating_remove_what_was_made(
    floating_ips,
    clients,
    public,
    router,
    sessions,
) -> None:
    in_pod2, in_pod1 = server_port(clients, "Pod2"), server_port(clients, "Pod1")
    floatingip = top_floatingip(clients, public, router, in_pod2)
    floating_ips.setup_floatingip(floatingip["id"])
    assert shadow_ports(clients)

    top = clients.neutrons["RegionOne"].data["floatingips"][floatingip["id"]]
    top.update(port_id=in_pod1["id"], fixed_ip_address=in_pod1["fixed_ips"][0]["ip_address"])
    floating_ips.setup_floatingip(floatingip["id"])
    (bottom,) = pod1_floatingips(clients)
    assert clients.neutrons["Pod1"].data["ports"][bottom["port_id"]]["name"] == in_pod1["id"]
    assert not shadow_ports(clients), "the shadow nobody serves is gone"
    assert wired_port(sessions, floatingip["id"]) == in_pod1["id"]

    top.update(port_id=None, fixed_ip_address=None)
    floating_ips.setup_floatingip(floatingip["id"])
    assert not pod1_floatingips(clients)
    assert wired_port(sessions, floatingip["id"]) is None

    top.update(port_id=in_pod2["id"], fixed_ip_address=in_pod2["fixed_ips"][0]["ip_address"])
    floating_ips.setup_floatingip(floatingip["id"])
    del clients.neutrons["RegionOne"].data["floatingips"][floatingip["id"]]
    floating_ips.setup_floatingip(floatingip["id"])
    assert not pod1_floatingips(clients) and not shadow_ports(clients)
    with sessions() as session:
        assert routings.find_routings_for_top(session, floatingip["id"]) == []


def test_a_port_not_yet_placed_waits_or_retries(
    floating_ips,
    clients,
    public,
    router,
) -> None:
    top = clients.neutrons["RegionOne"]
    network_id = server_port(clients, "Pod2")["network_id"]
    port = top.post(
        "/v2.0/ports", json={"port": {"network_id": network_id, "project_id": PROJECT}}
    )["port"]
    floatingip = top_floatingip(clients, public, router, port)
    floating_ips.setup_floatingip(floatingip["id"])  # no server on it: nothing to do yet
    assert not pod1_floatingips(clients)
    top.data["ports"][port["id"]]["device_id"] = "a-server-being-booted"
    with pytest.raises(PortNotPlaced):
        floating_ips.setup_floatingip(floatingip["id"])
    assert not pod1_floatingips(clients)


def test_a_local_network_of_another_pod_is_not_wired(
    floating_ips,
    clients,
    public,
    router,
) -> None:
    port = server_port(clients, "Pod2")
    top = clients.neutrons["RegionOne"]
    top.data["networks"][port["network_id"]]["provider:network_type"] = constants.TYPE_LOCAL
    floatingip = top_floatingip(clients, public, router, port)
    with pytest.raises(FloatingIPNotWirable):
        floating_ips.setup_floatingip(floatingip["id"])
    assert not pod1_floatingips(clients) and not shadow_ports(clients)


def test_a_port_deleted_before_the_job_runs_unwires_the_floating_ip(
    floating_ips, clients, public, router
) -> None:
    port = server_port(clients, "Pod2")
    floatingip = top_floatingip(clients, public, router, port)
    floating_ips.setup_floatingip(floatingip["id"])
    assert pod1_floatingips(clients)
    del clients.neutrons["RegionOne"].data["ports"][port["id"]]
    floating_ips.setup_floatingip(floatingip["id"])
    assert not pod1_floatingips(clients) and not shadow_ports(clients)

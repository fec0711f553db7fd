"""RouterL3 when a pod says its router already holds an interface: a call the pod carried out
late (the worker was killed while it was in flight) or a concurrent run attached it first."""

from __future__ import annotations

import pytest
from fake_neutron import CIDRS, PROJECT, FakeClients, FakeNeutron

from tricircle.network.l3 import RouterL3
from tricircle.pods.client import PodClientError


def land_first(neutron: FakeNeutron, key: str) -> list[int]:
    """Make the next add_router_interface by ``key`` (subnet_id, port_id) find the same call
    carried out just before it; returns a list that receives the index of the refused call's
    successor in ``neutron.calls``."""
    marks: list[int] = []

    def landed_late(router_id: str, body: dict) -> None:
        if key not in body:
            return
        neutron.before_add_interface = None
        neutron.put(f"/v2.0/routers/{router_id}/add_router_interface", json=body)
        marks.append(len(neutron.calls))

    neutron.before_add_interface = landed_late
    return marks


def assert_converged(clients: FakeClients) -> None:
    """Each pod: one bottom router with its subnet interface, its bridge port and one route."""
    for region in CIDRS:
        neutron = clients.neutrons[region]
        (bottom,) = neutron.data["routers"].values()
        ports = [
            port for port in neutron.data["ports"].values() if port["device_id"] == bottom["id"]
        ]
        subnets = [fixed["subnet_id"] for port in ports for fixed in port["fixed_ips"]]
        assert len(ports) == 2 and len(set(subnets)) == 2, f"{region}: {ports}"
        assert len(bottom["routes"]) == 1, f"{region}: {bottom['routes']}"


def test_a_subnet_interface_that_landed_late_counts_as_attached(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    pod2 = clients.neutrons["Pod2"]
    marks = land_first(pod2, "subnet_id")
    l3.setup_router(router["id"], PROJECT)
    assert marks, "Pod2 never saw the subnet's add_router_interface"
    assert pod2.calls[marks[0]] == ("GET", "ports"), "the 400 was not read back"
    assert_converged(clients)


def test_a_bridge_port_attached_by_a_concurrent_run_counts_as_attached(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    pod1 = clients.neutrons["Pod1"]
    marks = land_first(pod1, "port_id")
    l3.setup_router(router["id"], PROJECT)
    assert marks, "Pod1 never saw the bridge port's add_router_interface"
    assert pod1.calls[marks[0]] == ("GET", "ports"), "the 409 was not read back"
    assert_converged(clients)


def test_a_refusal_the_router_does_not_bear_out_is_raised(
    l3: RouterL3, clients: FakeClients, router: dict
) -> None:
    pod2 = clients.neutrons["Pod2"]

    def refuse(router_id: str, body: dict) -> None:
        message = f"Router already has a port on subnet {body.get('subnet_id')}"
        raise PodClientError("Pod2", "network", 400, message, "NeutronError", "BadRequest")

    pod2.before_add_interface = refuse
    with pytest.raises(PodClientError, match="already has a port"):
        l3.setup_router(router["id"], PROJECT)
    pod2.before_add_interface = None
    l3.setup_router(router["id"], PROJECT)
    assert_converged(clients)

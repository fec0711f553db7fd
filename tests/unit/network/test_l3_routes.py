"""Route computation of cross-pod L3 and the registration of the network job handlers."""

from __future__ import annotations

from tricircle.jobs.handlers import HANDLER_MODULES, load_handler_modules
from tricircle.network import constants
from tricircle.network.l3 import bridge_port_name, compute_extra_routes, same_gateway, same_routes


def test_each_pod_routes_to_the_cidrs_attached_only_elsewhere_via_their_bridge_ip() -> None:
    local = {"pod1": {"10.1.0.0/24"}, "pod2": {"10.2.0.0/24", "10.3.0.0/24"}}
    bridge = {"pod1": "100.0.0.5", "pod2": "100.0.0.9"}
    assert compute_extra_routes(local, bridge) == {
        "pod1": [
            {"destination": "10.2.0.0/24", "nexthop": "100.0.0.9"},
            {"destination": "10.3.0.0/24", "nexthop": "100.0.0.9"},
        ],
        "pod2": [{"destination": "10.1.0.0/24", "nexthop": "100.0.0.5"}],
    }


def test_a_cidr_attached_locally_too_is_not_routed_and_shared_cidrs_pick_one_pod() -> None:
    shared = "10.9.0.0/24"  # a shared_vlan network with copies in every pod
    local = {"a": {shared}, "b": {shared, "10.2.0.0/24"}, "c": {"10.3.0.0/24", "10.2.0.0/24"}}
    bridge = {"a": "100.0.0.1", "b": "100.0.0.2", "c": "100.0.0.3"}
    routes = compute_extra_routes(local, bridge)
    assert routes["a"] == [
        {"destination": "10.2.0.0/24", "nexthop": "100.0.0.2"},
        {"destination": "10.3.0.0/24", "nexthop": "100.0.0.3"},
    ]
    assert routes["b"] == [{"destination": "10.3.0.0/24", "nexthop": "100.0.0.3"}]
    assert routes["c"] == [{"destination": shared, "nexthop": "100.0.0.1"}]


def test_pods_without_a_bridge_port_get_and_give_no_routes() -> None:
    local = {"pod1": {"10.1.0.0/24"}, "pod2": {"10.2.0.0/24"}}
    assert compute_extra_routes(local, {}) == {"pod1": [], "pod2": []}
    assert compute_extra_routes(local, {"pod1": "100.0.0.5"}) == {"pod1": [], "pod2": []}


def test_pods_other_than_the_gateway_pod_route_by_default_to_its_bridge_ip() -> None:
    local = {"gw": set(), "pod2": {"10.2.0.0/24"}, "pod3": {"10.3.0.0/24"}}
    bridge = {"gw": "100.0.0.1", "pod2": "100.0.0.2", "pod3": "100.0.0.3"}
    routes = compute_extra_routes(local, bridge, gateway_pod_id="gw")
    assert routes["gw"] == [
        {"destination": "10.2.0.0/24", "nexthop": "100.0.0.2"},
        {"destination": "10.3.0.0/24", "nexthop": "100.0.0.3"},
    ]
    assert routes["pod2"] == [
        {"destination": "0.0.0.0/0", "nexthop": "100.0.0.1"},
        {"destination": "10.3.0.0/24", "nexthop": "100.0.0.3"},
    ]
    assert compute_extra_routes(local, {"pod2": "100.0.0.2"}, gateway_pod_id="gw")["pod2"] == []


def test_same_gateway_compares_network_snat_and_addresses() -> None:
    wanted = {
        "network_id": "ext",
        "enable_snat": True,
        "external_fixed_ips": [{"subnet_id": "s", "ip_address": "172.24.4.10"}],
    }
    assert same_gateway(None, None) and same_gateway({}, None)
    assert not same_gateway(None, wanted) and not same_gateway(wanted, None)
    assert same_gateway(dict(wanted), wanted)
    assert not same_gateway({**wanted, "enable_snat": False}, wanted)
    assert not same_gateway({**wanted, "network_id": "other"}, wanted)
    moved = {**wanted, "external_fixed_ips": [{"subnet_id": "s", "ip_address": "172.24.4.11"}]}
    assert not same_gateway(moved, wanted)
    assert same_gateway(moved, {**wanted, "external_fixed_ips": []})


def test_same_routes_ignores_order() -> None:
    first = [
        {"destination": "10.1.0.0/24", "nexthop": "1.1.1.1"},
        {"destination": "10.2.0.0/24", "nexthop": "1.1.1.2"},
    ]
    assert same_routes(first, list(reversed(first)))
    assert not same_routes(first, first[:1])


def test_bridge_port_names_carry_the_pod_id() -> None:
    assert bridge_port_name("pod-x").removeprefix(bridge_port_name("")) == "pod-x"


def test_the_worker_loads_the_network_handlers() -> None:
    assert "tricircle.network.jobs" in HANDLER_MODULES
    handlers = load_handler_modules()
    for job_type in (
        constants.JOB_ROUTER_SETUP,
        constants.JOB_CONFIGURE_ROUTES,
        constants.JOB_DELETE_BOTTOM,
    ):
        assert job_type in handlers

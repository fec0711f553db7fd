"""``GET /servers/{id}/ips/{label}`` takes the label the gateway shows: the top network's name."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer

SERVER = "44444444-5555-6666-7777-888888888888"
TOP_NETWORK_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ADDRESSES = [{"version": 4, "addr": "10.10.0.5"}]


class AddressedNova:
    """Pod1's Nova as the caller: the server on the bottom copy named after the top ID."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def call(self, who, region_name, method, path, **_kw):
        self.paths.append(path)
        return PodAnswer(200, {"addresses": {TOP_NETWORK_ID: ADDRESSES}}, {})


class Names:
    """The central Neutron's names: the top network is ``private``."""

    def lookup(self, names):
        return {name: "private" for name in names if name == TOP_NETWORK_ID}


@pytest.fixture
def nova(compute_app, route_servers) -> AddressedNova:
    route_servers({"Pod1": [{"id": SERVER}]})
    app_state = compute_app.extensions[EXTENSION]
    app_state.calls = AddressedNova()
    app_state.network_names = Names()
    return app_state.calls


def test_addresses_by_the_top_network_name(compute_member, nova):
    answer = compute_member.get(f"/v2.1/servers/{SERVER}/ips/private")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"private": ADDRESSES}
    assert nova.paths == [f"/servers/{SERVER}/ips"]


def test_all_addresses_keyed_by_top_names(compute_member, nova):
    assert compute_member.get(f"/v2.1/servers/{SERVER}/ips").get_json() == {
        "addresses": {"private": ADDRESSES}
    }


@pytest.mark.parametrize("label", [TOP_NETWORK_ID, "public"])
def test_a_network_the_server_is_not_on_is_novas_404(compute_member, nova, label):
    answer = compute_member.get(f"/v2.1/servers/{SERVER}/ips/{label}")
    assert_fault(answer, 404, "itemNotFound", "Instance is not a member of specified network")

"""Nova's os-networks and os-tenant-networks proxies over a fake central Neutron."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.proxy_networks import ADMIN_FIELDS, GONE, NETWORK_FIELDS
from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

NETWORK = "dddddddd-0000-0000-0000-000000000001"
PUBLIC = "eeeeeeee-0000-0000-0000-000000000001"
UNKNOWN = "dddddddd-0000-0000-0000-000000000009"
V2_36 = {"OpenStack-API-Version": "compute 2.36"}


class FakeNeutron:
    """RegionOne's Neutron: the caller's network and the shared external one."""

    def __init__(self) -> None:
        self.networks = {
            NETWORK: {"id": NETWORK, "name": "private", "mtu": 1450, "shared": False},
            PUBLIC: {"id": PUBLIC, "name": "public", "mtu": 1500, "router:external": True},
        }
        self.requests: list[tuple[str, str]] = []

    def call(self, who, region_name, method, path, *, service_type="compute", **kwargs):
        assert (region_name, service_type, method) == ("RegionOne", "network", "GET")
        self.requests.append((method, path))
        if path == "/v2.0/networks":
            return PodAnswer(200, {"networks": list(self.networks.values())}, {})
        network_id = path.rsplit("/", 1)[-1]
        if network_id not in self.networks:
            raise PodClientError("RegionOne", "network", 404, "Network not found", None)
        return PodAnswer(200, {"network": self.networks[network_id]}, {})


@pytest.fixture
def neutron(compute_app) -> FakeNeutron:
    fake = FakeNeutron()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_os_networks_in_novas_shape_admin_fields_for_admins(compute_member, compute_admin, neutron):
    member_view = compute_member.get("/v2.1/os-networks").get_json()["networks"]
    assert member_view[0] == {**dict.fromkeys(NETWORK_FIELDS), "id": NETWORK, "label": "private"}
    assert list(member_view[0]) == list(NETWORK_FIELDS)
    assert [network["label"] for network in member_view] == ["private", "public"]
    admin_view = compute_admin.get(f"/v2.1/os-networks/{PUBLIC}").get_json()["network"]
    assert list(admin_view) == list(NETWORK_FIELDS + ADMIN_FIELDS)
    assert (admin_view["id"], admin_view["label"], admin_view["mtu"]) == (PUBLIC, "public", None)


def test_os_tenant_networks_in_novas_shape(compute_member, neutron):
    listed = compute_member.get("/v2.1/os-tenant-networks").get_json()["networks"]
    assert listed == [
        {"id": NETWORK, "cidr": "None", "label": "private"},
        {"id": PUBLIC, "cidr": "None", "label": "public"},
    ]
    shown = compute_member.get(f"/v2.1/os-tenant-networks/{NETWORK}").get_json()
    assert shown == {"network": listed[0]}


@pytest.mark.parametrize("collection", ["os-networks", "os-tenant-networks"])
def test_unknown_networks_are_novas_404(compute_member, neutron, collection):
    for network_id in (UNKNOWN, "not-an-id"):
        answer = compute_member.get(f"/v2.1/{collection}/{network_id}")
        assert_fault(answer, 404, "itemNotFound", "Network not found")


@pytest.mark.parametrize(
    "path", ["/v2.1/os-networks", f"/v2.1/os-networks/{NETWORK}", "/v2.1/os-tenant-networks"]
)
def test_gone_from_2_36_as_in_nova(compute_member, neutron, path):
    assert_fault(compute_member.get(path, headers=V2_36), 404, "itemNotFound")
    assert neutron.requests == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2.1/os-networks", {"network": {"label": "x"}}),
        ("POST", "/v2.1/os-networks/add", {"id": NETWORK}),
        ("DELETE", f"/v2.1/os-networks/{NETWORK}", None),
        ("POST", f"/v2.1/os-networks/{NETWORK}/action", {"disassociate": None}),
        ("POST", f"/v2.1/os-networks/{NETWORK}/action", {"associate_host": "h"}),
        ("POST", "/v2.1/os-tenant-networks", {"network": {"label": "x"}}),
        ("DELETE", f"/v2.1/os-tenant-networks/{NETWORK}", None),
    ],
)
def test_nova_network_only_apis_are_410_at_every_version(
    compute_admin, neutron, method, path, body
):
    for headers in ({}, V2_36):
        answer = compute_admin.request(method, path, json=body, headers=headers)
        assert_fault(answer, 410, "computeFault", GONE)
    assert neutron.requests == []


def test_an_unknown_network_action_is_novas_400(compute_admin, neutron):
    answer = compute_admin.post(f"/v2.1/os-networks/{NETWORK}/action", json={"reboot": None})
    assert_fault(answer, 400, "badRequest", "There is no such action: reboot")


def test_an_operator_can_close_os_networks_to_members(
    admin_conf, compute_member, compute_admin, neutron
):
    with open(admin_conf.api.policy_file, "w") as rules:
        rules.write('"os_compute_api:os-networks:list": "role:admin"\n')
    assert_fault(compute_member.get("/v2.1/os-networks"), 403, "forbidden")
    assert compute_admin.get("/v2.1/os-networks").status_code == 200
    assert compute_member.get("/v2.1/os-tenant-networks").status_code == 200

"""Nova's floating-IP proxy over a fake central Neutron: pools, allocation, association."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "11111111-1111-1111-1111-111111111111"
PUBLIC = "eeeeeeee-0000-0000-0000-000000000001"
FIP = "ffffffff-0000-0000-0000-000000000001"


class FakeNeutron:
    """RegionOne's Neutron: one external network, the server's port, floating IPs made."""

    def __init__(self) -> None:
        self.floatingips: dict[str, dict] = {}
        self.port = {
            "id": "port-1",
            "device_id": SERVER,
            "fixed_ips": [{"ip_address": "10.0.0.5"}, {"ip_address": "fd00::5"}],
        }
        self.requests: list[tuple[str, str, object]] = []

    def call(self, who, region_name, method, path, *, service_type="compute", **kwargs):
        assert (region_name, service_type) == ("RegionOne", "network")
        body, params = kwargs.get("json"), kwargs.get("params") or {}
        self.requests.append((method, path, body))
        if path == "/v2.0/networks":
            assert params["router:external"] == "True"
            public = {"id": PUBLIC, "name": "public"}
            wanted = params.get("name") in (None, "public")
            return PodAnswer(200, {"networks": [public] if wanted else []}, {})
        if path == "/v2.0/ports":
            return PodAnswer(200, {"ports": [self.port]}, {})
        if path == "/v2.0/floatingips" and method == "POST":
            made = {
                "id": FIP,
                "floating_ip_address": "172.24.4.10",
                "floating_network_id": body["floatingip"]["floating_network_id"],
                "fixed_ip_address": None,
                "port_id": None,
                "port_details": None,
            }
            self.floatingips[FIP] = made
            return PodAnswer(201, {"floatingip": made}, {})
        if path == "/v2.0/floatingips":
            found = [
                fip
                for fip in self.floatingips.values()
                if params.get("floating_ip_address") in (None, fip["floating_ip_address"])
            ]
            return PodAnswer(200, {"floatingips": found}, {})
        fip_id = path.rsplit("/", 1)[-1]
        if fip_id not in self.floatingips:
            raise PodClientError("RegionOne", "network", 404, "Floating IP not found")
        if method == "DELETE":
            del self.floatingips[fip_id]
            return PodAnswer(204, None, {})
        if method == "PUT":
            fip = self.floatingips[fip_id]
            fip.update(body["floatingip"])
            fip["port_details"] = {"device_id": SERVER} if fip["port_id"] else None
        return PodAnswer(200, {"floatingip": self.floatingips[fip_id]}, {})


@pytest.fixture
def fake_neutron(compute_app, route_servers) -> FakeNeutron:
    route_servers({"Pod1": [{"id": SERVER}]})
    fake = FakeNeutron()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_pools_and_a_floating_ip_allocated_associated_and_released(compute_member, fake_neutron):
    pools = compute_member.get("/v2.1/os-floating-ip-pools").get_json()
    assert pools == {"floating_ip_pools": [{"name": "public"}]}
    made = compute_member.post("/v2.1/os-floating-ips", json={"pool": "public"})
    assert made.get_json() == {
        "floating_ip": {
            "id": FIP,
            "ip": "172.24.4.10",
            "fixed_ip": None,
            "instance_id": None,
            "pool": "public",
        }
    }
    action = f"/v2.1/servers/{SERVER}/action"
    added = compute_member.post(action, json={"addFloatingIp": {"address": "172.24.4.10"}})
    assert added.status_code == 202, added.get_json()
    assert fake_neutron.requests[-1][2] == {
        "floatingip": {"port_id": "port-1", "fixed_ip_address": "10.0.0.5"}
    }
    shown = compute_member.get(f"/v2.1/os-floating-ips/{FIP}").get_json()["floating_ip"]
    assert (shown["instance_id"], shown["fixed_ip"]) == (SERVER, "10.0.0.5")
    listed = compute_member.get("/v2.1/os-floating-ips").get_json()["floating_ips"]
    assert [fip["id"] for fip in listed] == [FIP]
    removed = compute_member.post(action, json={"removeFloatingIp": {"address": "172.24.4.10"}})
    assert removed.status_code == 202
    again = compute_member.post(action, json={"removeFloatingIp": {"address": "172.24.4.10"}})
    assert_fault(again, 409, "conflictingRequest", "is not associated with instance")
    assert compute_member.delete(f"/v2.1/os-floating-ips/{FIP}").status_code == 202


def test_novas_faults(compute_member, fake_neutron):
    unknown_pool = compute_member.post("/v2.1/os-floating-ips", json={"pool": "nope"})
    assert_fault(unknown_pool, 404, "itemNotFound", "Floating IP pool not found.")
    for fip_id in ("nope", "ffffffff-0000-0000-0000-000000000009"):
        missing = compute_member.get(f"/v2.1/os-floating-ips/{fip_id}")
        assert_fault(missing, 404, "itemNotFound", f"Floating IP not found for ID {fip_id}")
        assert_fault(compute_member.delete(f"/v2.1/os-floating-ips/{fip_id}"), 404, "itemNotFound")
    bad = compute_member.post("/v2.1/os-floating-ips", json={"pool": 5})
    assert_fault(bad, 400, "badRequest")
    action = f"/v2.1/servers/{SERVER}/action"
    no_ip = compute_member.post(action, json={"addFloatingIp": {"address": "172.24.4.99"}})
    assert_fault(no_ip, 404, "itemNotFound", "floating IP not found")
    gone = {"OpenStack-API-Version": "compute 2.36"}
    assert_fault(compute_member.get("/v2.1/os-floating-ips", headers=gone), 404, "itemNotFound")
    late = {"OpenStack-API-Version": "compute 2.44"}
    removed = compute_member.post(action, json={"addFloatingIp": {"address": "x"}}, headers=late)
    assert_fault(removed, 404, "itemNotFound")

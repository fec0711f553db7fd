"""Nova's security-group proxy over a fake central Neutron: shapes, Nova's checks and faults."""

from __future__ import annotations

import uuid

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "11111111-1111-1111-1111-111111111111"
DEFAULT = "aaaaaaaa-0000-0000-0000-000000000001"
WEB = "aaaaaaaa-0000-0000-0000-000000000002"
V2_36 = {"OpenStack-API-Version": "compute 2.36"}


def _refusal(status: int, message: str, error_type: str | None = None) -> PodClientError:
    return PodClientError("RegionOne", "network", status, message, "NeutronError", error_type)


class FakeNeutron:
    """RegionOne's Neutron: the demo project's groups and the server's one port."""

    def __init__(self) -> None:
        self.groups = {
            DEFAULT: self._group(DEFAULT, "default"),
            WEB: self._group(WEB, "web"),
        }
        self.groups[DEFAULT]["security_group_rules"].append(
            self._rule(DEFAULT, remote_group_id=DEFAULT, ethertype="IPv4")
        )
        self.ports = [{"id": "port-1", "device_id": SERVER, "security_groups": [DEFAULT]}]
        self.requests: list[tuple[str, str, object]] = []

    @staticmethod
    def _group(group_id: str, name: str) -> dict:
        egress = {"id": str(uuid.uuid4()), "direction": "egress", "security_group_id": group_id}
        return {
            "id": group_id,
            "name": name,
            "description": "",
            "tenant_id": "demo-project",
            "security_group_rules": [egress],
        }

    @staticmethod
    def _rule(group_id: str, **fields: object) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "direction": "ingress",
            "security_group_id": group_id,
            "protocol": None,
            "port_range_min": None,
            "port_range_max": None,
            "remote_ip_prefix": None,
            "remote_group_id": None,
            **fields,
        }

    def call(self, who, region_name, method, path, *, service_type="compute", **kwargs):
        assert (region_name, service_type) == ("RegionOne", "network")
        body, params = kwargs.get("json"), kwargs.get("params") or {}
        self.requests.append((method, path, body))
        parts = path.split("/")[2:]
        if parts == ["security-groups"] and method == "GET":
            found = list(self.groups.values())
            for key in ("id", "name"):
                if key in params:
                    wanted = params[key] if isinstance(params[key], list) else [params[key]]
                    found = [group for group in found if group[key] in wanted]
            return PodAnswer(200, {"security_groups": found}, {})
        if parts == ["security-groups"]:
            made = self._group(str(uuid.uuid4()), body["security_group"]["name"])
            self.groups[made["id"]] = made
            return PodAnswer(201, {"security_group": made}, {})
        if parts[0] == "security-groups":
            if parts[1] not in self.groups:
                raise _refusal(404, "Security group not found")
            if method == "DELETE":
                if self.groups[parts[1]]["name"] == "default":
                    raise _refusal(409, "Insufficient rights for removing default security group.")
                del self.groups[parts[1]]
                return PodAnswer(204, None, {})
            if method == "PUT":
                self.groups[parts[1]].update(body["security_group"])
            return PodAnswer(200, {"security_group": self.groups[parts[1]]}, {})
        if parts == ["security-group-rules"]:
            fields = body["security_group_rule"]
            made = self._rule(fields["security_group_id"], **fields)
            self.groups[fields["security_group_id"]]["security_group_rules"].append(made)
            return PodAnswer(201, {"security_group_rule": made}, {})
        if parts[0] == "security-group-rules":
            raise _refusal(404, "Security group rule not found")
        if parts == ["ports"]:
            mine = [port for port in self.ports if port["device_id"] == params["device_id"]]
            return PodAnswer(200, {"ports": mine}, {})
        if parts[0] == "ports" and method == "PUT":
            self.ports[0].update(body["port"])
            return PodAnswer(200, {"port": self.ports[0]}, {})
        raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture
def fake_neutron(compute_app, route_servers) -> FakeNeutron:
    route_servers({"Pod1": [{"id": SERVER}]})
    fake = FakeNeutron()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_groups_are_listed_and_shown_in_novas_shape(compute_member, fake_neutron):
    listed = compute_member.get("/v2.1/os-security-groups").get_json()["security_groups"]
    assert [group["name"] for group in listed] == ["default", "web"]
    (rule,) = listed[0]["rules"]
    assert rule | {"id": None} == {
        "id": None,
        "parent_group_id": DEFAULT,
        "ip_protocol": None,
        "from_port": None,
        "to_port": None,
        "group": {"name": "default", "tenant_id": "demo-project"},
        "ip_range": {},
    }
    assert fake_neutron.requests[0][0:2] == ("GET", "/v2.0/security-groups")
    shown = compute_member.get(f"/v2.1/os-security-groups/{WEB}").get_json()["security_group"]
    assert shown == {
        "id": WEB,
        "name": "web",
        "description": "",
        "tenant_id": "demo-project",
        "rules": [],
    }
    assert_fault(compute_member.get("/v2.1/os-security-groups", headers=V2_36), 404, "itemNotFound")


def test_create_update_and_delete_a_group(compute_member, fake_neutron):
    made = compute_member.post(
        "/v2.1/os-security-groups", json={"security_group": {"name": "db", "description": "d"}}
    )
    group_id = made.get_json()["security_group"]["id"]
    assert made.get_json()["security_group"]["rules"] == []
    renamed = compute_member.put(
        f"/v2.1/os-security-groups/{group_id}",
        json={"security_group": {"name": "db2", "description": "e"}},
    )
    assert renamed.get_json()["security_group"]["name"] == "db2"
    assert compute_member.delete(f"/v2.1/os-security-groups/{group_id}").status_code == 202
    gone = compute_member.get(f"/v2.1/os-security-groups/{group_id}")
    assert_fault(gone, 404, "itemNotFound", f"Security group {group_id} not found.")
    default = compute_member.delete(f"/v2.1/os-security-groups/{DEFAULT}")
    assert_fault(default, 400, "badRequest", "default security group")


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [
        ("get", "/v2.1/os-security-groups/not-a-uuid", None, "should be uuid"),
        ("delete", "/v2.1/os-security-groups/not-a-uuid", None, "should be uuid"),
        ("post", "/v2.1/os-security-groups", {"security_group": {"name": "x"}}, "description"),
        (
            "post",
            "/v2.1/os-security-groups",
            {"security_group": {"name": "x" * 256, "description": ""}},
            "name",
        ),
        ("get", "/v2.1/os-security-groups?limit=x", None, "limit"),
    ],
)
def test_bad_group_requests_are_nova_400(
    compute_member, fake_neutron, method, path, body, fragment
):
    answer = (
        getattr(compute_member, method)(path, json=body)
        if body
        else getattr(compute_member, method)(path)
    )
    assert_fault(answer, 400, "badRequest", fragment)


def _rule(compute_member, **rule):
    return compute_member.post(
        "/v2.1/os-security-group-rules",
        json={"security_group_rule": {"parent_group_id": WEB, **rule}},
    )


def test_a_cidr_rule_is_made_as_nova_makes_it_and_a_duplicate_is_400(compute_member, fake_neutron):
    made = _rule(compute_member, ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/8")
    assert made.status_code == 200, made.get_json()
    shown = made.get_json()["security_group_rule"]
    assert shown["ip_range"] == {"cidr": "10.0.0.0/8"} and shown["group"] == {}
    assert (shown["ip_protocol"], shown["from_port"], shown["to_port"]) == ("tcp", 22, 22)
    assert fake_neutron.requests[-1][2] == {
        "security_group_rule": {
            "direction": "ingress",
            "remote_ip_prefix": "10.0.0.0/8",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": 22,
            "port_range_max": 22,
            "security_group_id": WEB,
        }
    }
    again = _rule(compute_member, ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/8")
    assert_fault(again, 400, "badRequest", "This rule already exists")
    icmp = _rule(compute_member, ip_protocol="icmp", from_port=-1, to_port=-1, group_id=DEFAULT)
    assert icmp.get_json()["security_group_rule"]["group"] == {
        "name": "default",
        "tenant_id": "demo-project",
    }


@pytest.mark.parametrize(
    ("rule", "code", "fragment"),
    [
        ({"ip_protocol": "tcp", "from_port": 22, "to_port": 21}, 400, "cannot be greater"),
        ({"ip_protocol": "tcp", "from_port": 0, "to_port": 22}, 400, "between 1-65535"),
        ({"ip_protocol": "udp", "from_port": "a", "to_port": 22}, 400, "must be integers"),
        ({"ip_protocol": "icmp", "from_port": 256, "to_port": 0}, 400, "type:code"),
        ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, 400, "Invalid IP protocol"),
        ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0"}, 400, "valid"),
        ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "1.2.3.4/0"}, 400, "prefix"),
        ({"cidr": "10.0.0.0/8"}, 400, "Not enough parameters"),
        ({"parent_group_id": "nope"}, 400, "parent_group_id"),
        ({"group_id": "nope", "ip_protocol": "tcp"}, 400, "group_id"),
        ({"parent_group_id": str(uuid.uuid4())}, 404, "not found"),
        ({"group_id": str(uuid.uuid4()), "ip_protocol": "tcp"}, 404, "not found"),
    ],
)
def test_bad_rules_are_novas_faults(compute_member, fake_neutron, rule, code, fragment):
    answer = _rule(compute_member, **rule)
    assert_fault(answer, code, "badRequest" if code == 400 else "itemNotFound", fragment)
    assert [r for r in fake_neutron.requests if r[0] == "POST"] == []


def test_deleting_rules(compute_member, fake_neutron):
    missing = compute_member.delete(f"/v2.1/os-security-group-rules/{uuid.uuid4()}")
    assert_fault(missing, 404, "itemNotFound")
    assert_fault(compute_member.delete("/v2.1/os-security-group-rules/x"), 400, "badRequest")


def test_a_servers_groups_and_adding_and_removing_one(compute_member, fake_neutron, monkeypatch):
    listed = compute_member.get(f"/v2.1/servers/{SERVER}/os-security-groups").get_json()
    assert [group["id"] for group in listed["security_groups"]] == [DEFAULT]
    path = f"/v2.1/servers/{SERVER}/action"
    added = compute_member.post(path, json={"addSecurityGroup": {"name": "web"}})
    assert added.status_code == 202, added.get_json()
    assert fake_neutron.ports[0]["security_groups"] == [DEFAULT, WEB]
    removed = compute_member.post(path, json={"removeSecurityGroup": {"name": WEB}})
    assert removed.status_code == 202
    assert fake_neutron.ports[0]["security_groups"] == [DEFAULT]
    again = compute_member.post(path, json={"removeSecurityGroup": {"name": "web"}})
    assert_fault(again, 404, "itemNotFound", "not associated")
    unknown = compute_member.post(path, json={"addSecurityGroup": {"name": "nope"}})
    assert_fault(unknown, 404, "itemNotFound", "is not found for project demo-project")
    for arguments, fragment in (({}, "not specified"), ({"name": " "}, "cannot be empty")):
        bad = compute_member.post(path, json={"addSecurityGroup": arguments})
        assert_fault(bad, 400, "badRequest", fragment)
    other = compute_member.get(f"/v2.1/servers/{uuid.uuid4()}/os-security-groups")
    assert_fault(other, 404, "itemNotFound")

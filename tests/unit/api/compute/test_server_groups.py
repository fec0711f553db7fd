"""Server groups: one pod holds each group; bad input refused before any pod; boot hints."""

from __future__ import annotations

import uuid

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

V264 = {"OpenStack-API-Version": "compute 2.64"}


class FakeNova:
    """Pods' server groups and server creates, in memory."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, dict]] = {"Pod1": {}, "Pod2": {}}
        self.requests: list[tuple[str, str, str, object]] = []

    def call(self, who, region_name, method, path, *, json=None, service_type=None, **_kw):
        self.requests.append((region_name, method, path, json))
        groups = self.groups[region_name] if region_name in self.groups else {}
        if service_type == "image":
            return PodAnswer(200, {"id": path.rsplit("/", 1)[-1]}, {})
        if path == "/servers":
            return PodAnswer(202, {"server": {"id": str(uuid.uuid4()), "links": []}}, {})
        if path == "/os-server-groups" and method == "POST":
            group = {**json["server_group"], "id": str(uuid.uuid4()), "members": []}
            groups[group["id"]] = group
            return PodAnswer(200, {"server_group": group}, {})
        if path == "/os-server-groups":
            return PodAnswer(200, {"server_groups": list(groups.values())}, {})
        group_id = path.rsplit("/", 1)[-1]
        if group_id not in groups:
            raise PodClientError(region_name, "compute", 404, "not found")
        if method == "DELETE":
            del groups[group_id]
            return PodAnswer(204, None, {})
        return PodAnswer(200, {"server_group": groups[group_id]}, {})


@pytest.fixture
def nova(compute_app, compute_admin, monkeypatch):
    created = compute_admin.post(
        "/v2.1/flavors", json={"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "1"}}
    )
    assert created.status_code == 200
    fake = FakeNova()
    compute_app.extensions[EXTENSION].calls = fake
    monkeypatch.setattr(
        "tricircle.api.compute.servers.bottom.ensure_bottom_flavor", lambda *args: None
    )
    return fake


def _create(client, headers=None, **group):
    body = {"server_group": {"name": "g", "policies": ["anti-affinity"], **group}}
    return client.post("/v2.1/os-server-groups", json=body, headers=headers or {})


def _bottom_region(nova: FakeNova) -> str:
    (region,) = [region for region, groups in nova.groups.items() if groups]
    return region


def test_a_group_lives_in_one_pod_under_a_top_id(compute_member, nova):
    answer = _create(compute_member)
    assert answer.status_code == 200
    group = answer.get_json()["server_group"]
    region = _bottom_region(nova)
    (bottom_id,) = nova.groups[region]
    assert group["id"] != bottom_id and group["policies"] == ["anti-affinity"]
    shown = compute_member.get(f"/v2.1/os-server-groups/{group['id']}").get_json()
    assert shown["server_group"]["id"] == group["id"]
    listed = compute_member.get("/v2.1/os-server-groups").get_json()["server_groups"]
    assert [item["id"] for item in listed] == [group["id"]]
    assert compute_member.delete(f"/v2.1/os-server-groups/{group['id']}").status_code == 204
    assert nova.groups[region] == {}
    assert_fault(compute_member.get(f"/v2.1/os-server-groups/{group['id']}"), 404, "itemNotFound")


def test_policy_and_rules_from_2_64(compute_member, nova):
    body = {
        "server_group": {
            "name": "g",
            "policy": "anti-affinity",
            "rules": {"max_server_per_host": 2},
        }
    }
    answer = compute_member.post("/v2.1/os-server-groups", json=body, headers=V264)
    assert answer.status_code == 200
    assert answer.get_json()["server_group"]["rules"] == {"max_server_per_host": 2}


@pytest.mark.parametrize(
    ("body", "headers", "fragment"),
    [
        ({"server_group": {"name": "g", "policies": ["nonsense"]}}, {}, "policies"),
        ({"server_group": {"name": "g", "policies": ["soft-affinity"]}}, {}, "policies"),
        ({"server_group": {"name": " g", "policies": ["affinity"]}}, {}, "name"),
        ({"server_group": {"name": "", "policies": ["affinity"]}}, {}, "name"),
        ({"server_group": {"name": "g", "policies": ["affinity", "affinity"]}}, {}, "policies"),
        ({"server_group": {"name": "g"}}, {}, "policies"),
        ({"server_group": {"name": "g", "policy": "affinity"}}, {}, "policies"),
        ({"server_group": {"name": "g", "policies": ["affinity"]}}, V264, "policy"),
        (
            {
                "server_group": {
                    "name": "g",
                    "policy": "affinity",
                    "rules": {"max_server_per_host": 2},
                }
            },
            V264,
            "Only anti-affinity policy supports rules.",
        ),
        ({"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"x": 1}}}, V264, "x"),
        ({"server_group": {"name": "g", "policy": "weird"}}, V264, "policy"),
        ({"group": {}}, {}, "server_group"),
    ],
)
def test_bad_input_is_nova_400_and_reaches_no_pod(compute_member, nova, body, headers, fragment):
    answer = compute_member.post("/v2.1/os-server-groups", json=body, headers=headers)
    assert_fault(answer, 400, "badRequest", fragment)
    assert nova.requests == []


def test_soft_policies_from_2_15(compute_member, nova):
    answer = _create(
        compute_member, {"OpenStack-API-Version": "compute 2.15"}, policies=["soft-affinity"]
    )
    assert answer.status_code == 200


def test_another_projects_group_is_404_and_listed_only_for_admins(
    compute_member, compute_admin, nova
):
    group = _create(compute_admin).get_json()["server_group"]
    assert_fault(compute_member.get(f"/v2.1/os-server-groups/{group['id']}"), 404, "itemNotFound")
    assert_fault(
        compute_member.delete(f"/v2.1/os-server-groups/{group['id']}"), 404, "itemNotFound"
    )
    mine = compute_member.get("/v2.1/os-server-groups?all_projects=True").get_json()
    assert mine == {"server_groups": []}
    every = compute_admin.get("/v2.1/os-server-groups?all_projects=True").get_json()
    assert [item["id"] for item in every["server_groups"]] == [group["id"]]


def _boot(client, hints=None, az=None):
    server = {"name": "vm", "flavorRef": "1", "imageRef": str(uuid.uuid4())}
    if az:
        server["availability_zone"] = az
    body = {"server": server}
    if hints is not None:
        body["os:scheduler_hints"] = hints
    return client.post("/v2.1/servers", json=body)


def test_a_boot_in_a_group_goes_to_its_pod_with_the_bottom_group(compute_member, nova):
    group = _create(compute_member).get_json()["server_group"]
    region = _bottom_region(nova)
    (bottom_id,) = nova.groups[region]
    assert _boot(compute_member, {"group": group["id"]}).status_code == 202
    (create,) = [request for request in nova.requests if request[2] == "/servers"]
    assert create[0] == region
    assert create[3]["os:scheduler_hints"] == {"group": bottom_id}
    az = {"Pod1": "az1", "Pod2": "az2"}[region]
    assert _boot(compute_member, {"group": group["id"]}, az=az).status_code == 202


def test_a_boot_naming_another_zone_or_an_unknown_group_is_400_in_no_pod(
    compute_member, compute_admin, nova
):
    group = _create(compute_member).get_json()["server_group"]
    other = {"Pod1": "az2", "Pod2": "az1"}[_bottom_region(nova)]
    assert_fault(_boot(compute_member, {"group": group["id"]}, az=other), 400, "badRequest", other)
    unknown = str(uuid.uuid4())
    assert_fault(
        _boot(compute_member, {"group": unknown}),
        400,
        "badRequest",
        f"Instance group {unknown} could not be found.",
    )
    foreign = _create(compute_admin).get_json()["server_group"]
    assert_fault(_boot(compute_member, {"group": foreign["id"]}), 400, "badRequest")
    assert_fault(_boot(compute_member, {"group": "not-a-uuid"}), 400, "badRequest", "group")
    assert not [request for request in nova.requests if request[2] == "/servers"]

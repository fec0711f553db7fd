"""os-hosts, os-services, get_pools, user messages, quota classes and volume type access."""

from __future__ import annotations

import pytest
from fake_admin_cinder import admin_pods


@pytest.fixture
def fake_pods(session_factory):
    """The pods with the admin APIs."""
    return admin_pods(session_factory)


V33 = {"OpenStack-API-Version": "volume 3.3"}
ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}


def _forbidden(response, rule: str) -> None:
    assert response.status_code == 403, response.get_json()
    assert response.get_json() == {
        "forbidden": {"code": 403, "message": f"Policy doesn't allow {rule} to be performed."}
    }


def test_services_of_both_pods_are_listed_with_top_zones(client, fake_pods):
    services = client.get("/v3/os-services", headers=ADMIN).get_json()["services"]
    assert {(s["host"], s["zone"]) for s in services} == {
        ("Pod1-cinder", "az1"),
        ("Pod1-cinder@fake", "az1"),
        ("Pod2-cinder", "az2"),
        ("Pod2-cinder@fake", "az2"),
    }


def test_service_filters_reach_each_pod(client, fake_pods):
    response = client.get(
        "/v3/os-services?binary=cinder-volume&host=Pod2-cinder@fake", headers=ADMIN
    )
    assert [s["host"] for s in response.get_json()["services"]] == ["Pod2-cinder@fake"]


def test_a_pod_that_does_not_answer_is_left_out(client, fake_pods):
    fake_pods.pods["Pod2"].down = True
    services = client.get("/v3/os-services", headers=ADMIN).get_json()["services"]
    assert {s["zone"] for s in services} == {"az1"}
    pools = client.get("/v3/scheduler-stats/get_pools?detail=true", headers=ADMIN).get_json()
    assert pools == {"pools": [{"name": "Pod1-cinder@fake#fake"}]}


def test_disable_goes_to_the_owning_pod_only(client, fake_pods):
    body = {"host": "Pod2-cinder@fake", "binary": "cinder-volume", "disabled_reason": "test"}
    response = client.put("/v3/os-services/disable-log-reason", json=body, headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    assert fake_pods.pods["Pod2"].services[1]["status"] == "disabled"
    assert fake_pods.pods["Pod1"].services[1]["status"] == "enabled"
    assert not [c for c in fake_pods.pods["Pod1"].calls if c[0] == "PUT"]
    client.put("/v3/os-services/enable", json=body | {"disabled_reason": None}, headers=ADMIN)
    assert fake_pods.pods["Pod2"].services[1]["status"] == "enabled"


def test_service_change_bad_input(client, fake_pods):
    unknown = client.put("/v3/os-services/enable", json={"host": "nowhere"}, headers=ADMIN)
    assert unknown.status_code == 404
    assert unknown.get_json()["itemNotFound"]["message"] == "Host nowhere could not be found."
    missing = client.put("/v3/os-services/disable", json={"binary": "x"}, headers=ADMIN)
    assert missing.status_code == 400
    assert "host" in missing.get_json()["badRequest"]["message"]
    wrong_type = client.put("/v3/os-services/disable", json={"host": 5}, headers=ADMIN)
    assert wrong_type.status_code == 400
    assert client.put("/v3/os-services/explode", json={}, headers=ADMIN).status_code == 404
    frozen = client.put("/v3/os-services/freeze", json={"host": "nowhere"}, headers=ADMIN)
    assert frozen.status_code == 400
    assert "Host nowhere could not be found" in frozen.get_json()["badRequest"]["message"]


def test_capabilities_come_from_the_pod_owning_the_host(client, fake_pods):
    shown = client.get("/v3/capabilities/Pod2-cinder@fake", headers=ADMIN)
    assert shown.status_code == 200, shown.get_json()
    assert [c[1] for c in fake_pods.pods["Pod2"].calls if c[1].startswith("/capabilities")] == [
        "/capabilities/Pod2-cinder%40fake"
    ]
    assert client.get("/v3/capabilities/nowhere", headers=ADMIN).status_code == 404
    _forbidden(client.get("/v3/capabilities/Pod2-cinder@fake"), "volume_extension:capabilities")


def test_admin_views_are_admin_only(client, fake_pods):
    _forbidden(client.get("/v3/os-services"), "volume_extension:services:index")
    _forbidden(client.get("/v3/os-hosts"), "volume_extension:hosts")
    _forbidden(
        client.put("/v3/os-services/disable", json={"host": "Pod1-cinder"}),
        "volume_extension:services:update",
    )
    _forbidden(client.put("/v3/os-services/freeze", json={"host": "x"}), "volume:freeze_host")
    _forbidden(
        client.get("/v3/scheduler-stats/get_pools"),
        "scheduler_extension:scheduler_stats:get_pools",
    )
    _forbidden(client.get("/v3/os-quota-class-sets/default"), "volume_extension:quota_classes:get")
    assert not any(pod.calls for pod in fake_pods.pods.values())


def test_hosts_merged_and_shown_from_their_pod(client, fake_pods):
    hosts = client.get("/v3/os-hosts", headers=ADMIN).get_json()["hosts"]
    assert {(h["host_name"], h["zone"]) for h in hosts} == {
        ("Pod1-cinder", "az1"),
        ("Pod2-cinder", "az2"),
    }
    only_az2 = client.get("/v3/os-hosts?zone=az2", headers=ADMIN).get_json()["hosts"]
    assert [h["host_name"] for h in only_az2] == ["Pod2-cinder"]
    shown = client.get("/v3/os-hosts/Pod1-cinder", headers=ADMIN)
    assert shown.get_json() == {"host": [{"resource": {"host": "Pod1-cinder"}}]}
    assert ("GET", "/os-hosts/Pod1-cinder") in [c[:2] for c in fake_pods.pods["Pod1"].calls]
    assert client.get("/v3/os-hosts/ghost", headers=ADMIN).status_code == 404


def test_pools_of_both_pods(client, fake_pods):
    pools = client.get("/v3/scheduler-stats/get_pools?detail=true", headers=ADMIN).get_json()
    assert sorted(p["name"] for p in pools["pools"]) == [
        "Pod1-cinder@fake#fake",
        "Pod2-cinder@fake#fake",
    ]
    bad = client.get("/v3/scheduler-stats/get_pools?detail=maybe", headers=ADMIN)
    assert bad.status_code == 400


def test_messages_merged_and_routed(client, fake_pods):
    first = fake_pods.pods["Pod1"].add("messages", {"created_at": "2026-01-01T00:00:00"})
    second = fake_pods.pods["Pod2"].add("messages", {"created_at": "2026-01-02T00:00:00"})
    listed = client.get("/v3/messages", headers=V33).get_json()["messages"]
    assert [m["id"] for m in listed] == [second["id"], first["id"]]
    assert (
        client.get(f"/v3/messages/{first['id']}", headers=V33).get_json()["message"]["id"]
        == first["id"]
    )
    assert client.delete(f"/v3/messages/{second['id']}", headers=V33).status_code == 202
    assert second["id"] not in fake_pods.pods["Pod2"].objects["messages"]
    missing = client.get("/v3/messages/0b7c4c5e-0000-0000-0000-000000000000", headers=V33)
    assert missing.status_code == 404
    assert missing.get_json()["itemNotFound"]["message"].startswith("Message ")
    assert client.get("/v3/messages").status_code == 404  # before 3.3


def test_default_quota_class_is_the_defaults_of_every_project(client, fake_pods):
    shown = client.get("/v3/os-quota-class-sets/default", headers=ADMIN).get_json()
    assert shown["quota_class_set"]["id"] == "default"
    volumes = shown["quota_class_set"]["volumes"]
    updated = client.put(
        "/v3/os-quota-class-sets/default",
        json={"quota_class_set": {"volumes": volumes + 1}},
        headers=ADMIN,
    )
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["quota_class_set"]["volumes"] == volumes + 1
    defaults = client.get("/v3/os-quota-sets/someone/defaults", headers=ADMIN).get_json()
    assert defaults["quota_set"]["volumes"] == volumes + 1
    limits = client.get("/v3/os-quota-sets/someone", headers=ADMIN).get_json()
    assert limits["quota_set"]["volumes"] == volumes + 1


def test_per_type_quota_class_keys(client, fake_pods):
    client.post("/v3/types", json={"volume_type": {"name": "gold"}}, headers=ADMIN)
    body = {"quota_class_set": {"volumes_gold": 3, "gigabytes": 50}}
    updated = client.put("/v3/os-quota-class-sets/default", json=body, headers=ADMIN).get_json()
    assert (
        updated["quota_class_set"]["volumes_gold"],
        updated["quota_class_set"]["gigabytes"],
    ) == (3, 50)
    assert updated["quota_class_set"]["snapshots_gold"] == -1
    defaults = client.get("/v3/os-quota-sets/someone/defaults", headers=ADMIN).get_json()
    assert defaults["quota_set"]["volumes_gold"] == 3


def test_quota_class_bad_input(client, fake_pods):
    for body in (
        {"quota_class_set": {"bogus": 1}},
        {"quota_class_set": {"volumes": "many"}},
        {"quota_class_set": {"volumes": -2}},
        {"quota_class_set": {"volumes": True}},
        {"other": {}},
    ):
        response = client.put("/v3/os-quota-class-sets/default", json=body, headers=ADMIN)
        assert response.status_code == 400, body
        assert "badRequest" in response.get_json()
    _forbidden(
        client.put("/v3/os-quota-class-sets/default", json={"quota_class_set": {"volumes": 1}}),
        "volume_extension:quota_classes:update",
    )


def _private_type(client) -> dict:
    body = {"volume_type": {"name": "secret", "os-volume-type-access:is_public": False}}
    return client.post("/v3/types", json=body, headers=ADMIN).get_json()["volume_type"]


def test_type_access_lets_a_project_use_a_private_type(client, fake_pods):
    secret = _private_type(client)
    assert client.get(f"/v3/types/{secret['id']}").status_code == 404
    grant = {"addProjectAccess": {"project": "demo-project"}}
    response = client.post(f"/v3/types/{secret['id']}/action", json=grant, headers=ADMIN)
    assert response.status_code == 202
    listed = client.get(f"/v3/types/{secret['id']}/os-volume-type-access", headers=ADMIN)
    assert listed.get_json() == {
        "volume_type_access": [{"volume_type_id": secret["id"], "project_id": "demo-project"}]
    }
    assert client.get(f"/v3/types/{secret['id']}").status_code == 200
    assert [t["name"] for t in client.get("/v3/types").get_json()["volume_types"]] == ["secret"]
    made = client.post(
        "/v3/volumes",
        json={"volume": {"size": 1, "volume_type": "secret", "availability_zone": "az1"}},
    )
    assert made.status_code == 202, made.get_json()
    (copy,) = fake_pods.pods["Pod1"].types.values()
    assert copy["os-volume-type-access:is_public"] is False
    assert fake_pods.pods["Pod1"].type_access[copy["id"]] == ["demo-project"]
    revoke = {"removeProjectAccess": {"project": "demo-project"}}
    assert (
        client.post(f"/v3/types/{secret['id']}/action", json=revoke, headers=ADMIN).status_code
        == 202
    )
    assert fake_pods.pods["Pod1"].type_access[copy["id"]] == []
    assert client.get(f"/v3/types/{secret['id']}").status_code == 404


def test_type_access_bad_input(client, fake_pods):
    secret = _private_type(client)
    public = client.post("/v3/types", json={"volume_type": {"name": "open"}}, headers=ADMIN)
    public_id = public.get_json()["volume_type"]["id"]
    grant = {"addProjectAccess": {"project": "p1"}}
    assert (
        client.post(f"/v3/types/{secret['id']}/action", json=grant, headers=ADMIN).status_code
        == 202
    )
    again = client.post(f"/v3/types/{secret['id']}/action", json=grant, headers=ADMIN)
    assert again.status_code == 409
    assert "already exists" in again.get_json()["conflictingRequest"]["message"]
    not_granted = {"removeProjectAccess": {"project": "p2"}}
    gone = client.post(f"/v3/types/{secret['id']}/action", json=not_granted, headers=ADMIN)
    assert gone.status_code == 404
    on_public = client.post(f"/v3/types/{public_id}/action", json=grant, headers=ADMIN)
    assert on_public.status_code == 400
    assert (
        client.get(f"/v3/types/{public_id}/os-volume-type-access", headers=ADMIN).status_code == 404
    )
    no_project = client.post(
        f"/v3/types/{secret['id']}/action", json={"addProjectAccess": {}}, headers=ADMIN
    )
    assert no_project.status_code == 400
    unknown = client.post("/v3/types/nope/action", json=grant, headers=ADMIN)
    assert unknown.status_code == 404
    assert (
        client.post(f"/v3/types/{secret['id']}/action", json={"x": {}}, headers=ADMIN).status_code
        == 400
    )
    _forbidden(
        client.post(f"/v3/types/{secret['id']}/action", json=grant),
        "volume_extension:volume_type_access:addProjectAccess",
    )
    _forbidden(
        client.get(f"/v3/types/{secret['id']}/os-volume-type-access"),
        "volume_extension:volume_type_access:get_all_for_type",
    )

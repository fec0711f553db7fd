"""QoS specs and group types (kept in a home pod, copied on use), groups and group snapshots
(in one pod), volume transfers (in the volume's pod)."""

from __future__ import annotations

import pytest
from fake_admin_cinder import admin_pods

ADMIN = {
    "X-Project-Id": "admin-project",
    "X-User-Id": "admin-user",
    "X-Roles": "admin",
    "OpenStack-API-Version": "volume 3.55",
}
V355 = {"OpenStack-API-Version": "volume 3.55"}
OTHER = {
    "X-Project-Id": "other-project",
    "X-User-Id": "other-user",
    "X-Roles": "member",
    "OpenStack-API-Version": "volume 3.55",
}


@pytest.fixture
def fake_pods(session_factory):
    """The pods with the admin APIs."""
    return admin_pods(session_factory)


def _forbidden(response, rule: str) -> None:
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["forbidden"]["message"] == (
        f"Policy doesn't allow {rule} to be performed."
    )


def _type(client, name: str = "gold") -> dict:
    body = {"volume_type": {"name": name}}
    return client.post("/v3/types", json=body, headers=ADMIN).get_json()["volume_type"]


def _group_type(client, name: str = "gt") -> dict:
    body = {
        "group_type": {
            "name": name,
            "group_specs": {"consistent_group_snapshot_enabled": "<is> False"},
        }
    }
    response = client.post("/v3/group_types", json=body, headers=ADMIN)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["group_type"]


def _qos(client) -> dict:
    body = {"qos_specs": {"name": "fast", "consumer": "back-end", "read_iops_sec": "100"}}
    response = client.post("/v3/qos-specs", json=body, headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["qos_specs"]


def test_qos_specs_live_in_the_first_pod_and_follow_their_types(client, fake_pods):
    qos = _qos(client)
    assert qos["id"] in fake_pods.pods["Pod1"].objects["qos-specs"]
    assert [
        q["id"] for q in client.get("/v3/qos-specs", headers=ADMIN).get_json()["qos_specs"]
    ] == [qos["id"]]
    assert client.get(f"/v3/qos-specs/{qos['id']}", headers=ADMIN).status_code == 200
    gold = _type(client)
    client.post(
        "/v3/volumes",
        json={"volume": {"size": 1, "volume_type": "gold", "availability_zone": "az2"}},
    )
    response = client.get(
        f"/v3/qos-specs/{qos['id']}/associate?vol_type_id={gold['id']}", headers=ADMIN
    )
    assert response.status_code == 202
    (pod2_copy,) = fake_pods.pods["Pod2"].objects["qos-specs"].values()
    assert (pod2_copy["name"], pod2_copy["specs"]) == ("fast", {"read_iops_sec": "100"})
    (pod2_type,) = fake_pods.pods["Pod2"].types
    assert pod2_copy["types"] == [pod2_type]
    associations = client.get(f"/v3/qos-specs/{qos['id']}/associations", headers=ADMIN).get_json()
    assert [a["id"] for a in associations["qos_associations"]] == [gold["id"]]
    update = client.put(
        f"/v3/qos-specs/{qos['id']}", json={"qos_specs": {"write_iops_sec": "5"}}, headers=ADMIN
    )
    assert update.status_code == 200
    assert pod2_copy["specs"] == {"read_iops_sec": "100", "write_iops_sec": "5"}
    client.get(f"/v3/qos-specs/{qos['id']}/disassociate?vol_type_id={gold['id']}", headers=ADMIN)
    assert pod2_copy["types"] == []
    assert client.delete(f"/v3/qos-specs/{qos['id']}", headers=ADMIN).status_code == 202
    assert (
        not fake_pods.pods["Pod1"].objects["qos-specs"]
        and not fake_pods.pods["Pod2"].objects["qos-specs"]
    )
    assert client.get(f"/v3/qos-specs/{qos['id']}", headers=ADMIN).status_code == 404


def test_qos_specs_bad_input_and_policy(client, fake_pods):
    for body in (
        {"qos_specs": {}},
        {"qos_specs": {"name": ""}},
        {"qos": {"name": "x"}},
        {"qos_specs": {"name": "x", "k": 1}},
    ):
        response = client.post("/v3/qos-specs", json=body, headers=ADMIN)
        assert response.status_code == 400, body
        assert "badRequest" in response.get_json()
    missing = client.get("/v3/qos-specs/nope", headers=ADMIN)
    assert missing.get_json() == {
        "itemNotFound": {"code": 404, "message": "No such QoS spec nope."}
    }
    qos = _qos(client)
    assert client.get(f"/v3/qos-specs/{qos['id']}/associate", headers=ADMIN).status_code == 400
    assert (
        client.get(
            f"/v3/qos-specs/{qos['id']}/associate?vol_type_id=nope", headers=ADMIN
        ).status_code
        == 404
    )
    _forbidden(client.get("/v3/qos-specs"), "volume_extension:qos_specs_manage:get_all")
    _forbidden(
        client.post("/v3/qos-specs", json={"qos_specs": {"name": "x"}}),
        "volume_extension:qos_specs_manage:create",
    )
    _forbidden(
        client.delete(f"/v3/qos-specs/{qos['id']}"), "volume_extension:qos_specs_manage:delete"
    )


def test_group_types_and_specs(client, fake_pods):
    group_type = _group_type(client)
    member_view = client.get("/v3/group_types", headers=V355).get_json()["group_types"]
    assert [(t["id"], "group_specs" in t) for t in member_view] == [(group_type["id"], False)]
    specs = client.get(f"/v3/group_types/{group_type['id']}/group_specs", headers=ADMIN).get_json()
    assert specs == {"group_specs": {"consistent_group_snapshot_enabled": "<is> False"}}
    added = client.post(
        f"/v3/group_types/{group_type['id']}/group_specs",
        json={"group_specs": {"k": "v"}},
        headers=ADMIN,
    )
    assert added.status_code == 202
    assert client.get(
        f"/v3/group_types/{group_type['id']}/group_specs/k", headers=ADMIN
    ).get_json() == {"k": "v"}
    assert (
        client.delete(
            f"/v3/group_types/{group_type['id']}/group_specs/k", headers=ADMIN
        ).status_code
        == 202
    )
    missing = client.get(f"/v3/group_types/{group_type['id']}/group_specs/k", headers=ADMIN)
    assert missing.status_code == 404
    renamed = client.put(
        f"/v3/group_types/{group_type['id']}", json={"group_type": {"name": "gt2"}}, headers=ADMIN
    )
    assert renamed.status_code == 200
    assert client.delete(f"/v3/group_types/{group_type['id']}", headers=ADMIN).status_code == 202
    assert client.get(f"/v3/group_types/{group_type['id']}", headers=V355).status_code == 404


def test_group_types_bad_input_policy_and_microversion(client, fake_pods):
    assert client.post("/v3/group_types", json={"group_type": {}}, headers=ADMIN).status_code == 400
    assert (
        client.post(
            "/v3/group_types", json={"group_type": {"name": " "}}, headers=ADMIN
        ).status_code
        == 400
    )
    assert (
        client.get(
            "/v3/group_types", headers=ADMIN | {"OpenStack-API-Version": "volume 3.10"}
        ).status_code
        == 404
    )
    _forbidden(
        client.post("/v3/group_types", json={"group_type": {"name": "x"}}, headers=V355),
        "group:group_types:create",
    )
    group_type = _group_type(client)
    _forbidden(
        client.delete(f"/v3/group_types/{group_type['id']}", headers=V355),
        "group:group_types:delete",
    )
    _forbidden(
        client.get(f"/v3/group_types/{group_type['id']}/group_specs", headers=V355),
        "group:group_types_specs",
    )
    private = client.post(
        "/v3/group_types",
        json={"group_type": {"name": "hidden", "is_public": False}},
        headers=ADMIN,
    )
    assert (
        client.get(
            f"/v3/group_types/{private.get_json()['group_type']['id']}", headers=V355
        ).status_code
        == 404
    )


def _group(client, az: str = "az2") -> dict:
    _type(client)
    group_type = _group_type(client)
    body = {
        "group": {
            "name": "g",
            "group_type": group_type["id"],
            "volume_types": ["gold"],
            "availability_zone": az,
        }
    }
    response = client.post("/v3/groups", json=body, headers=V355)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["group"]


def test_group_lives_in_the_pod_of_its_az(client, fake_pods):
    group = _group(client, "az2")
    bottom = fake_pods.pods["Pod2"].objects["groups"][group["id"]]
    assert bottom["availability_zone"] == "nova-az2"
    (bottom_group_type,) = fake_pods.pods["Pod2"].objects["group_types"]
    assert bottom["group_type"] == bottom_group_type
    assert group["group_type"] != bottom_group_type and group["availability_zone"] == "az2"
    gold = client.get("/v3/types/gold").get_json()["volume_type"]
    assert group["volume_types"] == [gold["id"]]
    volume = client.post(
        "/v3/volumes",
        json={"volume": {"size": 1, "volume_type": "gold", "group_id": group["id"]}},
        headers=V355,
    ).get_json()["volume"]
    assert volume["id"] in fake_pods.pods["Pod2"].volumes
    shown = client.get(f"/v3/groups/{group['id']}", headers=V355).get_json()["group"]
    assert shown["volume_types"] == [gold["id"]]
    listed = client.get("/v3/groups/detail", headers=V355).get_json()["groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    in_az1 = client.post(
        "/v3/volumes", json={"volume": {"size": 1, "availability_zone": "az1"}}
    ).get_json()["volume"]
    wrong_pod = client.put(
        f"/v3/groups/{group['id']}", json={"group": {"add_volumes": in_az1["id"]}}, headers=V355
    )
    assert wrong_pod.status_code == 400
    assert "one pod" in wrong_pod.get_json()["badRequest"]["message"]
    right = client.put(
        f"/v3/groups/{group['id']}", json={"group": {"add_volumes": volume["id"]}}, headers=V355
    )
    assert right.status_code == 202
    snapshot = client.post(
        "/v3/group_snapshots", json={"group_snapshot": {"group_id": group["id"]}}, headers=V355
    )
    assert snapshot.status_code == 202, snapshot.get_json()
    snapshot_id = snapshot.get_json()["group_snapshot"]["id"]
    assert snapshot_id in fake_pods.pods["Pod2"].objects["group_snapshots"]
    assert client.get(f"/v3/group_snapshots/{snapshot_id}", headers=V355).status_code == 200
    assert client.delete(f"/v3/group_snapshots/{snapshot_id}", headers=V355).status_code == 202
    deleted = client.post(
        f"/v3/groups/{group['id']}/action", json={"delete": {"delete-volumes": True}}, headers=V355
    )
    assert deleted.status_code == 202
    assert client.get(f"/v3/groups/{group['id']}", headers=V355).status_code == 404


def test_group_bad_input(client, fake_pods):
    _type(client)
    group_type = _group_type(client)
    for body in (
        {"group": {"group_type": group_type["id"]}},
        {"group": {"group_type": group_type["id"], "volume_types": []}},
        {"group": {"volume_types": ["gold"]}},
        {"groups": {}},
    ):
        response = client.post("/v3/groups", json=body, headers=V355)
        assert response.status_code == 400, body
    unknown_type = {"group": {"group_type": group_type["id"], "volume_types": ["silver"]}}
    assert client.post("/v3/groups", json=unknown_type, headers=V355).status_code == 404
    unknown_group_type = {"group": {"group_type": "nope", "volume_types": ["gold"]}}
    response = client.post("/v3/groups", json=unknown_group_type, headers=V355)
    assert response.get_json() == {
        "itemNotFound": {"code": 404, "message": "Group type nope could not be found."}
    }
    assert client.get("/v3/groups/nope", headers=V355).status_code == 404
    assert (
        client.get("/v3/groups", headers={"OpenStack-API-Version": "volume 3.12"}).status_code
        == 404
    )
    no_group = client.post("/v3/group_snapshots", json={"group_snapshot": {}}, headers=V355)
    assert no_group.status_code == 400


def test_transfer_between_projects_stays_in_the_volume_pod(client, fake_pods):
    volume = client.post(
        "/v3/volumes", json={"volume": {"size": 1, "availability_zone": "az2"}}
    ).get_json()["volume"]
    made = client.post(
        "/v3/volume-transfers",
        json={"transfer": {"volume_id": volume["id"], "name": "t"}},
        headers=V355,
    )
    assert made.status_code == 202, made.get_json()
    transfer = made.get_json()["transfer"]
    assert transfer["id"] in fake_pods.pods["Pod2"].objects["os-volume-transfer"]
    listed = client.get("/v3/volume-transfers/detail", headers=V355).get_json()["transfers"]
    assert [t["id"] for t in listed] == [transfer["id"]]
    accept = {"accept": {"auth_key": "secret"}}
    accepted = client.post(
        f"/v3/volume-transfers/{transfer['id']}/accept", json=accept, headers=OTHER
    )
    assert accepted.status_code == 202, accepted.get_json()
    assert fake_pods.pods["Pod2"].accepted == [(transfer["id"], "secret")]
    assert "other-project" in fake_pods.pods["Pod2"].quotas
    old_api = client.post("/v3/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}})
    assert old_api.status_code == 202


def test_transfer_bad_input(client, fake_pods):
    assert (
        client.post("/v3/volume-transfers", json={"transfer": {}}, headers=V355).status_code == 400
    )
    missing = client.post(
        "/v3/volume-transfers", json={"transfer": {"volume_id": "nope"}}, headers=V355
    )
    assert missing.status_code == 404
    assert (
        client.get(
            "/v3/volume-transfers", headers={"OpenStack-API-Version": "volume 3.54"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v3/volume-transfers/nope/accept", json={"accept": {"auth_key": "k"}}, headers=V355
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v3/volume-transfers/nope/accept", json={"accept": {}}, headers=V355
        ).status_code
        == 400
    )


def test_lists_leave_out_a_pod_that_does_not_answer(client, fake_pods):
    group = _group(client, "az1")
    fake_pods.pods["Pod2"].add("groups", {"name": "elsewhere"})
    fake_pods.pods["Pod2"].down = True
    listed = client.get("/v3/groups", headers=V355).get_json()["groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    assert client.get("/v3/volume-transfers", headers=V355).get_json() == {"transfers": []}


def test_a_group_type_in_use_at_home_keeps_its_copies(client, fake_pods):
    group = _group(client, "az2")
    group_type_id = group["group_type"]
    (copy_id,) = fake_pods.pods["Pod2"].objects["group_types"]
    home = fake_pods.pods["Pod1"]
    refuse = home.call

    def in_use(method, path, **kwargs):
        if method == "DELETE" and path == f"/group_types/{group_type_id}":
            home._fail(
                400,
                f"Group Type {group_type_id} deletion is not allowed with groups present "
                "with the type.",
            )
        return refuse(method, path, **kwargs)

    home.call = in_use
    response = client.delete(f"/v3/group_types/{group_type_id}", headers=ADMIN)
    assert response.status_code == 400
    assert "not allowed" in response.get_json()["badRequest"]["message"]
    assert copy_id in fake_pods.pods["Pod2"].objects["group_types"]
    assert client.get(f"/v3/group_types/{group_type_id}", headers=V355).status_code == 200


def test_group_type_list_filters_on_is_public_and_sorts(client, fake_pods):
    public = _group_type(client, "a-public")
    body = {"group_type": {"name": "b-private", "is_public": False}}
    private = client.post("/v3/group_types", json=body, headers=ADMIN).get_json()["group_type"]

    def names(query: str, headers: dict) -> list[str]:
        listed = client.get(f"/v3/group_types{query}", headers=headers).get_json()["group_types"]
        return [t["name"] for t in listed]

    admin = {**ADMIN, **V355}
    assert names("?is_public=None&sort=name:asc", admin) == ["a-public", "b-private"]
    assert names("?is_public=None&sort=name:desc", admin) == ["b-private", "a-public"]
    assert names("?is_public=false", admin) == [private["name"]]
    assert names("", admin) == [public["name"]]
    assert names("?is_public=None", V355) == [public["name"]]

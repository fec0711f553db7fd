"""Volume types: defined at the gateway by admins, copied once into a pod on first use."""

from __future__ import annotations

ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}


def _make_type(client, name: str = "gold", **fields) -> dict:
    body = {"volume_type": {"name": name, "extra_specs": {"tier": "1"}, **fields}}
    response = client.post("/v3/types", json=body, headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["volume_type"]


def _volume(client, **fields):
    return client.post("/v3/volumes", json={"volume": {"size": 1, **fields}})


def test_member_may_not_define_types(client):
    response = client.post("/v3/types", json={"volume_type": {"name": "gold"}})
    assert response.status_code == 403
    assert response.get_json()["forbidden"]["code"] == 403


def test_duplicate_type_name_is_409(client):
    _make_type(client)
    response = client.post("/v3/types", json={"volume_type": {"name": "gold"}}, headers=ADMIN)
    assert response.status_code == 409
    assert "already exists" in response.get_json()["conflictingRequest"]["message"]


def test_type_is_copied_once_into_each_pod_that_uses_it(client, fake_pods):
    gold = _make_type(client)
    assert not fake_pods.pods["Pod1"].types
    first = _volume(client, volume_type="gold", availability_zone="az1").get_json()["volume"]
    _volume(client, volume_type=gold["id"], availability_zone="az1")
    (copy,) = fake_pods.pods["Pod1"].types.values()
    assert (copy["name"], copy["extra_specs"]) == ("gold", {"tier": "1"})
    assert fake_pods.pods["Pod1"].volumes[first["id"]]["volume_type"] == copy["id"]
    assert first["volume_type_id"] == gold["id"]
    assert not fake_pods.pods["Pod2"].types
    _volume(client, volume_type="gold", availability_zone="az2")
    assert len(fake_pods.pods["Pod2"].types) == 1
    shown = client.get(f"/v3/volumes/{first['id']}").get_json()["volume"]
    assert shown["volume_type_id"] == gold["id"]


def test_unknown_type_is_404_and_reaches_no_pod(client, fake_pods):
    response = _volume(client, volume_type="silver", availability_zone="az1")
    assert response.status_code == 404
    message = response.get_json()["itemNotFound"]["message"]
    assert message == "Volume type with name silver could not be found."
    assert not any(pod.calls for pod in fake_pods.pods.values())


def test_private_type_is_hidden_from_members(client):
    secret = _make_type(client, "secret", is_public=False)
    assert client.get(f"/v3/types/{secret['id']}").status_code == 404
    assert [t["name"] for t in client.get("/v3/types").get_json()["volume_types"]] == []
    admin_list = client.get("/v3/types", headers=ADMIN).get_json()["volume_types"]
    assert [t["name"] for t in admin_list] == ["secret"]
    assert _volume(client, volume_type="secret", availability_zone="az1").status_code == 404


def test_delete_type_removes_its_copies(client, fake_pods):
    gold = _make_type(client)
    volume = _volume(client, volume_type="gold", availability_zone="az1").get_json()["volume"]
    del fake_pods.pods["Pod1"].volumes[volume["id"]]
    assert client.delete(f"/v3/types/{gold['id']}", headers=ADMIN).status_code == 202
    assert not fake_pods.pods["Pod1"].types
    assert client.get(f"/v3/types/{gold['id']}").status_code == 404


def test_extra_specs_reach_the_copies(client, fake_pods):
    gold = _make_type(client)
    _volume(client, volume_type="gold", availability_zone="az1")
    response = client.post(
        f"/v3/types/{gold['id']}/extra_specs", json={"extra_specs": {"x": "y"}}, headers=ADMIN
    )
    assert response.get_json() == {"extra_specs": {"x": "y"}}
    specs = client.get(f"/v3/types/{gold['id']}/extra_specs", headers=ADMIN).get_json()
    assert specs == {"extra_specs": {"tier": "1", "x": "y"}}
    (copy_id,) = fake_pods.pods["Pod1"].types
    assert ("POST", f"/types/{copy_id}/extra_specs") in [
        call[:2] for call in fake_pods.pods["Pod1"].calls
    ]


def test_a_type_filter_names_each_pods_copy_and_skips_pods_without_one(client, fake_pods):
    gold = _make_type(client)
    made = _volume(client, volume_type="gold", availability_zone="az1").get_json()["volume"]
    _volume(client, availability_zone="az2")
    (copy_id,) = fake_pods.pods["Pod1"].types
    listed = client.get(f"/v3/volumes/detail?volume_type_id={gold['id']}", headers=ADMIN)
    assert listed.status_code == 200
    assert [volume["id"] for volume in listed.get_json()["volumes"]] == [made["id"]]
    assert fake_pods.pods["Pod1"].list_params[-1]["volume_type_id"] == copy_id
    assert fake_pods.pods["Pod2"].list_params == []


def test_answers_have_cinders_keys_per_call(client):
    """Create: no qos_specs_id; update: no access flag either; show: both, for admins."""
    made = _make_type(client)
    assert "qos_specs_id" not in made and made["os-volume-type-access:is_public"] is True
    updated = client.put(
        f"/v3/types/{made['id']}", json={"volume_type": {"description": "d"}}, headers=ADMIN
    ).get_json()["volume_type"]
    assert not {"qos_specs_id", "os-volume-type-access:is_public"} & set(updated)
    shown = client.get(f"/v3/types/{made['id']}", headers=ADMIN).get_json()["volume_type"]
    assert shown["qos_specs_id"] is None and shown["os-volume-type-access:is_public"] is True
    assert "qos_specs_id" not in client.get(f"/v3/types/{made['id']}").get_json()["volume_type"]


def test_one_extra_spec_is_shown_and_set_by_its_key(client, fake_pods):
    gold = _make_type(client)
    url = f"/v3/types/{gold['id']}/extra_specs"
    assert client.get(f"{url}/tier", headers=ADMIN).get_json() == {"tier": "1"}
    assert client.get(f"{url}/nope", headers=ADMIN).status_code == 404
    updated = client.put(f"{url}/tier", json={"tier": "2"}, headers=ADMIN)
    assert updated.status_code == 200 and updated.get_json() == {"tier": "2"}
    assert client.get(f"{url}/tier", headers=ADMIN).get_json() == {"tier": "2"}
    for body in ({"other": "2"}, {"tier": "2", "more": "3"}, {}):
        assert client.put(f"{url}/tier", json=body, headers=ADMIN).status_code == 400
    assert client.put(f"{url}/tier", json={"tier": "3"}).status_code == 403
    assert (
        client.put("/v3/types/missing/extra_specs/k", json={"k": "v"}, headers=ADMIN).status_code
        == 404
    )

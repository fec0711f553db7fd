"""``os-retype`` through the gateway: the top type, by name or ID, sent as the pod's copy."""

from __future__ import annotations

import pytest

ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}
UNKNOWN_ID = "7d2bd33c-8b6e-4f43-9a3b-4e0dbd7a2c11"


def _make_type(client, name: str, **fields) -> dict:
    body = {"volume_type": {"name": name, **fields}}
    response = client.post("/v3/types", json=body, headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["volume_type"]


def _volume(client, **fields) -> dict:
    body = {"volume": {"size": 1, "availability_zone": "az2", **fields}}
    return client.post("/v3/volumes", json=body).get_json()["volume"]


def _retypes_sent(pod) -> list[dict]:
    return [
        call[2]["os-retype"]
        for call in pod.calls
        if call[0] == "POST" and call[1].endswith("/action") and "os-retype" in (call[2] or {})
    ]


@pytest.mark.parametrize("named_by", ["name", "id"])
def test_retype_sends_the_pods_copy_made_on_demand(client, fake_pods, named_by):
    _make_type(client, "volume-type-1")
    target = _make_type(client, "volume-type-2", extra_specs={"tier": "2"})
    volume = _volume(client, volume_type="volume-type-1")
    pod2 = fake_pods.pods["Pod2"]
    action = {"os-retype": {"new_type": target[named_by], "migration_policy": "never"}}
    response = client.post(f"/v3/volumes/{volume['id']}/action", json=action)
    assert response.status_code == 202, response.get_json()
    (copy,) = [t for t in pod2.types.values() if t["name"] == "volume-type-2"]
    assert copy["extra_specs"] == {"tier": "2"}
    assert _retypes_sent(pod2) == [{"new_type": copy["id"], "migration_policy": "never"}]
    assert not fake_pods.pods["Pod1"].types


def test_retype_reuses_an_existing_copy(client, fake_pods):
    _make_type(client, "volume-type-2")
    _volume(client, volume_type="volume-type-2")
    volume = _volume(client)
    action = {"os-retype": {"new_type": "volume-type-2"}}
    assert client.post(f"/v3/volumes/{volume['id']}/action", json=action).status_code == 202
    pod2 = fake_pods.pods["Pod2"]
    (copy,) = pod2.types.values()
    assert _retypes_sent(pod2) == [{"new_type": copy["id"]}]


def test_a_member_may_retype_to_a_private_type_as_cinder_looks_it_up_elevated(client, fake_pods):
    _make_type(client, "secret", is_public=False)
    volume = _volume(client)
    action = {"os-retype": {"new_type": "secret"}}
    assert client.post(f"/v3/volumes/{volume['id']}/action", json=action).status_code == 202


@pytest.mark.parametrize(
    ("new_type", "message"),
    [
        ("volume-type-9", "Volume type with name volume-type-9 could not be found."),
        (UNKNOWN_ID, f"Volume type {UNKNOWN_ID} could not be found."),
    ],
)
def test_an_unknown_type_is_cinders_404_and_sends_nothing(client, fake_pods, new_type, message):
    volume = _volume(client)
    action = {"os-retype": {"new_type": new_type}}
    response = client.post(f"/v3/volumes/{volume['id']}/action", json=action)
    assert response.status_code == 404
    assert response.get_json() == {"itemNotFound": {"code": 404, "message": message}}
    assert not _retypes_sent(fake_pods.pods["Pod2"])
    assert not fake_pods.pods["Pod2"].types


def test_an_unknown_volume_is_its_404_first(client, fake_pods):
    action = {"os-retype": {"new_type": "volume-type-9"}}
    response = client.post(f"/v3/volumes/{UNKNOWN_ID}/action", json=action)
    assert response.status_code == 404
    assert response.get_json()["itemNotFound"]["message"] == (
        f"Volume {UNKNOWN_ID} could not be found."
    )


@pytest.mark.parametrize(
    ("retype", "field"),
    [
        ({}, "new_type"),
        ({"new_type": 5}, "new_type"),
        ({"new_type": "gold", "migration_policy": "always"}, "migration_policy"),
        ({"new_type": "gold", "extra": 1}, "os-retype"),
        ("gold", "os-retype"),
    ],
)
def test_a_malformed_retype_is_400_and_sends_nothing(client, fake_pods, retype, field):
    _make_type(client, "gold")
    volume = _volume(client)
    response = client.post(f"/v3/volumes/{volume['id']}/action", json={"os-retype": retype})
    assert response.status_code == 400
    assert field in response.get_json()["badRequest"]["message"]
    assert not _retypes_sent(fake_pods.pods["Pod2"])


def test_other_actions_are_forwarded_unchanged(client, fake_pods):
    volume = _volume(client)
    action = {"os-extend": {"new_size": 2}}
    assert client.post(f"/v3/volumes/{volume['id']}/action", json=action).status_code == 202
    assert ("POST", f"/volumes/{volume['id']}/action", action) in [
        call[:3] for call in fake_pods.pods["Pod2"].calls
    ]

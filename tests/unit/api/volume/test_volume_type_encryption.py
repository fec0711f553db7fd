"""``/v3/types/{id}/encryption``: kept with the top type, copied into each pod's copy of it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tricircle.db.models import VolumeTypeEncryption

ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}
LUKS = {
    "provider": "LuksEncryptor",
    "key_size": 256,
    "cipher": "aes-xts-plain64",
    "control_location": "front-end",
}
UNKNOWN_ID = "7d2bd33c-8b6e-4f43-9a3b-4e0dbd7a2c11"


def _make_type(client, name: str = "secure") -> dict:
    response = client.post("/v3/types", json={"volume_type": {"name": name}}, headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["volume_type"]


def _encrypt(client, type_id: str, **fields):
    return client.post(
        f"/v3/types/{type_id}/encryption", json={"encryption": fields}, headers=ADMIN
    )


def _volume(client, type_name: str, az: str) -> dict:
    body = {"volume": {"size": 1, "volume_type": type_name, "availability_zone": az}}
    return client.post("/v3/volumes", json=body).get_json()["volume"]


def _copy_id(pod) -> str:
    (copy_id,) = pod.types
    return copy_id


def test_create_show_update_item_delete_as_tempest_does(client):
    type_id = _make_type(client)["id"]
    created = _encrypt(client, type_id, **LUKS)
    assert created.status_code == 200, created.get_json()
    encryption = created.get_json()["encryption"]
    assert encryption == {
        **LUKS,
        "volume_type_id": type_id,
        "encryption_id": encryption["encryption_id"],
    }
    shown = client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json()
    assert {key: shown[key] for key in LUKS} == LUKS
    assert (shown["volume_type_id"], shown["encryption_id"]) == (
        type_id,
        encryption["encryption_id"],
    )
    assert (shown["deleted"], shown["deleted_at"]) == (False, None)
    assert set(shown) == {
        *LUKS,
        "volume_type_id",
        "encryption_id",
        "deleted",
        "created_at",
        "updated_at",
        "deleted_at",
    }
    changes = {"key_size": 128, "provider": "SomeProvider", "control_location": "back-end"}
    path = f"/v3/types/{type_id}/encryption/{encryption['encryption_id']}"
    updated = client.put(path, json={"encryption": changes}, headers=ADMIN)
    assert (updated.status_code, updated.get_json()) == (200, {"encryption": changes})
    shown = client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json()
    assert {key: shown[key] for key in LUKS} == {**LUKS, **changes}
    item = client.get(f"/v3/types/{type_id}/encryption/cipher", headers=ADMIN)
    assert item.get_json() == {"cipher": "aes-xts-plain64"}
    assert client.delete(path, headers=ADMIN).status_code == 202
    assert client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json() == {}


def test_a_string_key_size_is_kept_as_an_integer(client):
    type_id = _make_type(client)["id"]
    created = _encrypt(client, type_id, provider="p", control_location="front-end", key_size="512")
    assert created.get_json()["encryption"]["key_size"] == 512
    shown = client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json()
    assert (shown["key_size"], shown["cipher"]) == (512, None)


def test_existing_copies_get_the_specs_and_new_copies_are_made_with_them(client, fake_pods):
    _make_type(client)
    _volume(client, "secure", "az1")
    pod1, pod2 = fake_pods.pods["Pod1"], fake_pods.pods["Pod2"]
    copy1 = _copy_id(pod1)
    pod1.volumes.clear()
    type_id = client.get("/v3/types", headers=ADMIN).get_json()["volume_types"][0]["id"]
    assert _encrypt(client, type_id, **LUKS).status_code == 200
    assert {key: pod1.encryptions[copy1][key] for key in LUKS} == LUKS
    _volume(client, "secure", "az2")
    assert {key: pod2.encryptions[_copy_id(pod2)][key] for key in LUKS} == LUKS
    changes = {"cipher": "aes-cbc-essiv"}
    pod2.volumes.clear()
    client.put(f"/v3/types/{type_id}/encryption/any", json={"encryption": changes}, headers=ADMIN)
    assert pod1.encryptions[copy1]["cipher"] == pod2.encryptions[_copy_id(pod2)]["cipher"]
    assert pod1.encryptions[copy1]["cipher"] == "aes-cbc-essiv"
    assert client.delete(f"/v3/types/{type_id}/encryption/any", headers=ADMIN).status_code == 202
    assert not pod1.encryptions and not pod2.encryptions


def test_a_type_in_use_in_one_pod_is_cinders_400_and_nothing_is_left_half_made(
    client, fake_pods, session_factory
):
    _make_type(client)
    _volume(client, "secure", "az1")
    _volume(client, "secure", "az2")
    pod1, pod2 = fake_pods.pods["Pod1"], fake_pods.pods["Pod2"]
    pod1.volumes.clear()
    type_id = client.get("/v3/types", headers=ADMIN).get_json()["volume_types"][0]["id"]
    response = _encrypt(client, type_id, **LUKS)
    assert response.status_code == 400
    assert response.get_json()["badRequest"]["message"] == (
        "Cannot create encryption specs. Volume type in use."
    )
    assert not pod1.encryptions and not pod2.encryptions
    with session_factory() as session:
        assert session.scalars(select(VolumeTypeEncryption)).first() is None


def test_an_update_refused_by_one_pod_puts_the_other_copies_back(client, fake_pods):
    _make_type(client)
    _volume(client, "secure", "az1")
    _volume(client, "secure", "az2")
    pod1, pod2 = fake_pods.pods["Pod1"], fake_pods.pods["Pod2"]
    pod1.volumes.clear()
    pod2_volumes = dict(pod2.volumes)
    pod2.volumes.clear()
    type_id = client.get("/v3/types", headers=ADMIN).get_json()["volume_types"][0]["id"]
    assert _encrypt(client, type_id, **LUKS).status_code == 200
    pod2.volumes.update(pod2_volumes)
    response = client.put(
        f"/v3/types/{type_id}/encryption/any", json={"encryption": {"key_size": 64}}, headers=ADMIN
    )
    assert response.status_code == 400
    assert "Volume type in use." in response.get_json()["badRequest"]["message"]
    put_to_pod1 = [c[2] for c in pod1.calls if c[0] == "PUT" and "/encryption/" in c[1]]
    assert put_to_pod1[0]["encryption"]["key_size"] == 64
    assert pod1.encryptions[_copy_id(pod1)]["key_size"] == 256
    shown = client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json()
    assert shown["key_size"] == 256
    response = client.delete(f"/v3/types/{type_id}/encryption/any", headers=ADMIN)
    assert response.status_code == 400
    assert pod1.encryptions[_copy_id(pod1)]["provider"] == "LuksEncryptor"


def test_a_second_create_is_cinders_400(client):
    type_id = _make_type(client)["id"]
    _encrypt(client, type_id, **LUKS)
    response = _encrypt(client, type_id, **LUKS)
    assert response.status_code == 400
    assert response.get_json()["badRequest"]["message"] == (
        f"Volume type encryption for type {type_id} already exists."
    )


def test_missing_specs_and_types_are_cinders_404(client):
    type_id = _make_type(client)["id"]
    assert client.get(f"/v3/types/{type_id}/encryption", headers=ADMIN).get_json() == {}
    missing = f"Volume type encryption for type {type_id} does not exist."
    for method, path, body in [
        ("GET", f"/v3/types/{type_id}/encryption/cipher", None),
        ("PUT", f"/v3/types/{type_id}/encryption/x", {"encryption": {"cipher": "c"}}),
        ("DELETE", f"/v3/types/{type_id}/encryption/x", None),
    ]:
        response = client.open(path, method=method, json=body, headers=ADMIN)
        assert response.status_code == 404
        assert response.get_json()["itemNotFound"]["message"] == missing
    _encrypt(client, type_id, **LUKS)
    response = client.get(f"/v3/types/{type_id}/encryption/nope", headers=ADMIN)
    assert response.status_code == 404
    for method in ("GET", "POST"):
        response = client.open(
            f"/v3/types/{UNKNOWN_ID}/encryption",
            method=method,
            json={"encryption": LUKS},
            headers=ADMIN,
        )
        assert response.status_code == 404
        assert response.get_json()["itemNotFound"]["message"] == (
            f"Volume type {UNKNOWN_ID} could not be found."
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"control_location": "front-end"}, "provider"),
        ({"provider": "p"}, "control_location"),
        ({"provider": "p", "control_location": "middle"}, "control_location"),
        ({"provider": 5, "control_location": "front-end"}, "provider"),
        ({"provider": "p", "control_location": "front-end", "key_size": -1}, "key_size"),
        ({"provider": "p", "control_location": "front-end", "key_size": "big"}, "key_size"),
        ({"provider": "p", "control_location": "front-end", "cipher": "x" * 256}, "cipher"),
    ],
)
def test_bad_specs_are_400_and_reach_no_pod(client, fake_pods, fields, field):
    _make_type(client)
    _volume(client, "secure", "az1")
    fake_pods.pods["Pod1"].volumes.clear()
    type_id = client.get("/v3/types", headers=ADMIN).get_json()["volume_types"][0]["id"]
    response = _encrypt(client, type_id, **fields)
    assert response.status_code == 400
    assert field in response.get_json()["badRequest"]["message"]
    assert not fake_pods.pods["Pod1"].encryptions


def test_a_body_without_encryption_is_400(client):
    type_id = _make_type(client)["id"]
    response = client.post(f"/v3/types/{type_id}/encryption", json={"x": {}}, headers=ADMIN)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", ""), ("GET", "/cipher"), ("PUT", "/x"), ("DELETE", "/x")],
)
def test_members_are_refused_with_cinders_403(client, method, suffix):
    type_id = _make_type(client)["id"]
    response = client.open(
        f"/v3/types/{type_id}/encryption{suffix}", method=method, json={"encryption": LUKS}
    )
    assert response.status_code == 403
    assert response.get_json()["forbidden"]["code"] == 403


def test_deleting_the_type_drops_its_specs(client, session_factory):
    type_id = _make_type(client)["id"]
    _encrypt(client, type_id, **LUKS)
    assert client.delete(f"/v3/types/{type_id}", headers=ADMIN).status_code == 202
    with session_factory() as session:
        assert session.scalars(select(VolumeTypeEncryption)).first() is None


def test_a_new_copy_the_pod_will_not_encrypt_is_deleted_and_the_volume_not_made(
    client, fake_pods, monkeypatch
):
    type_id = _make_type(client)["id"]
    _encrypt(client, type_id, **LUKS)
    pod2 = fake_pods.pods["Pod2"]

    def refuse(method, type_copy_id, json):
        if method == "GET":
            return type(pod2)._encryption(pod2, method, type_copy_id, json)
        pod2._fail(400, "Invalid encryption provider.")

    monkeypatch.setattr(pod2, "_encryption", refuse)
    body = {"volume": {"size": 1, "volume_type": "secure", "availability_zone": "az2"}}
    response = client.post("/v3/volumes", json=body)
    assert response.status_code == 400
    assert response.get_json()["badRequest"]["message"] == "Invalid encryption provider."
    assert not pod2.types and not pod2.volumes

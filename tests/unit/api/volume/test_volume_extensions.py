"""``/v3/extensions``: the union of the pods' lists by alias, in pod order."""

from __future__ import annotations

import pytest


def _extension(alias: str, name: str, updated: str = "2013-01-01T00:00:00+00:00") -> dict:
    return {
        "alias": alias,
        "name": name,
        "description": f"{name}.",
        "links": [],
        "updated": updated,
    }


@pytest.fixture
def listed(fake_pods):
    fake_pods.pods["Pod1"].extensions = [
        _extension("os-hosts", "Hosts"),
        _extension("encryption", "VolumeTypeEncryption", "2013-07-01T00:00:00+00:00"),
    ]
    fake_pods.pods["Pod2"].extensions = [
        _extension("encryption", "VolumeTypeEncryption", "2099-01-01T00:00:00+00:00"),
        _extension("os-newer", "Newer"),
        {"name": "no alias"},
    ]
    return fake_pods


@pytest.mark.parametrize("path", ["/v3/extensions", "/v3/demo-project/extensions"])
def test_list_is_the_union_by_alias_in_pod_order(client, listed, path):
    path = path.replace("demo-project", "0123456789abcdef0123456789abcdef")
    response = client.get(path)
    assert response.status_code == 200
    extensions = response.get_json()["extensions"]
    assert [e["alias"] for e in extensions] == ["os-hosts", "encryption", "os-newer"]
    assert extensions[1]["updated"] == "2013-07-01T00:00:00+00:00"
    assert "Hosts" in [e["name"] for e in extensions]


def test_a_down_pod_is_left_out(client, listed):
    listed.pods["Pod1"].down = True
    extensions = client.get("/v3/extensions").get_json()["extensions"]
    assert [e["alias"] for e in extensions] == ["encryption", "os-newer"]


def test_one_extension_is_the_first_pods(client, listed):
    response = client.get("/v3/extensions/encryption")
    assert response.status_code == 200
    assert response.get_json()["extension"]["updated"] == "2013-07-01T00:00:00+00:00"
    assert client.get("/v3/extensions/os-newer").get_json()["extension"]["name"] == "Newer"


@pytest.mark.parametrize("alias", ["os-missing", "..", "a%2Fb"])
def test_an_unknown_alias_is_cinders_404_and_reaches_no_pod_url(client, listed, alias):
    response = client.get(f"/v3/extensions/{alias}")
    assert response.status_code == 404
    assert response.get_json()["itemNotFound"]["code"] == 404
    paths = {call[1] for pod in listed.pods.values() for call in pod.calls}
    assert paths <= {"/extensions"}

"""Snapshots in their volume's pod, and the volume summary added up over the pods."""

from __future__ import annotations


def _volume_in(client, az: str) -> dict:
    return client.post(
        "/v3/volumes", json={"volume": {"size": 1, "availability_zone": az}}
    ).get_json()["volume"]


def test_snapshot_is_made_in_the_volume_pod_and_listed_from_it(client, fake_pods):
    volume = _volume_in(client, "az2")
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert response.status_code == 202
    snapshot = response.get_json()["snapshot"]
    assert snapshot["id"] in fake_pods.pods["Pod2"].records["snapshots"]
    assert not fake_pods.pods["Pod1"].records["snapshots"]
    shown = client.get(f"/v3/snapshots/{snapshot['id']}").get_json()["snapshot"]
    assert shown["volume_id"] == volume["id"]
    listed = client.get("/v3/snapshots").get_json()["snapshots"]
    assert [s["id"] for s in listed] == [snapshot["id"]]
    assert client.delete(f"/v3/snapshots/{snapshot['id']}").status_code == 202
    assert not fake_pods.pods["Pod2"].records["snapshots"]


def test_snapshot_of_an_unknown_volume_is_404_and_creates_nothing(client, fake_pods):
    response = client.post(
        "/v3/snapshots", json={"snapshot": {"volume_id": "9e1f0c55-0000-4000-8000-000000000000"}}
    )
    assert response.status_code == 404
    assert "could not be found" in response.get_json()["itemNotFound"]["message"]
    assert {call[0] for pod in fake_pods.pods.values() for call in pod.calls} == {"GET"}


def test_snapshot_without_volume_is_400(client):
    response = client.post("/v3/snapshots", json={"snapshot": {"name": "x"}})
    assert response.status_code == 400
    assert "volume_id" in response.get_json()["badRequest"]["message"]


def test_volume_summary_adds_up_over_pods(client):
    for az, size, tier in (("az1", 1, "gold"), ("az2", 3, "silver"), ("az2", 2, "gold")):
        client.post(
            "/v3/volumes",
            json={"volume": {"size": size, "availability_zone": az, "metadata": {"tier": tier}}},
        )
    headers = {"OpenStack-API-Version": "volume 3.36"}
    summary = client.get("/v3/volumes/summary", headers=headers).get_json()["volume-summary"]
    assert summary == {"total_size": 6, "total_count": 3, "metadata": {"tier": ["gold", "silver"]}}


def test_volume_summary_needs_3_12(client):
    response = client.get("/v3/volumes/summary")
    assert response.status_code == 404
    assert "API version 3.0 is not supported" in response.get_json()["itemNotFound"]["message"]

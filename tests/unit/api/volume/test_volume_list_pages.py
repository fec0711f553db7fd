"""Pages of merged volume and snapshot lists: Cinder's next links, ``offset``, unknown markers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


def _volumes(client, count: int) -> list[dict]:
    return [
        client.post(
            "/v3/volumes",
            json={"volume": {"size": 1, "name": f"v{i}", "availability_zone": f"az{1 + i % 2}"}},
        ).get_json()["volume"]
        for i in range(count)
    ]


def _snapshots(client, count: int) -> list[dict]:
    return [
        client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}}).get_json()[
            "snapshot"
        ]
        for volume in _volumes(client, count)
    ]


def _follow(client, path: str, collection: str) -> list[list[str]]:
    """The IDs of every page reached from ``path`` through its next links."""
    pages = []
    while path:
        body = client.get(path).get_json()
        pages.append([record["id"] for record in body[collection]])
        links = [link["href"] for link in body.get(f"{collection}_links", [])]
        path = links[0].replace("http://localhost", "") if links else ""
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("path", ["/v3/volumes", "/v3/volumes/detail"])
def test_every_full_page_links_on_so_the_last_full_one_links_to_an_empty_page(client, path):
    created = _volumes(client, 3)
    pages = _follow(client, f"{path}?limit=1", "volumes")
    assert pages == [[v["id"]] for v in reversed(created)] + [[]]


def test_next_link_keeps_the_query_and_names_the_last_record(client):
    created = _volumes(client, 3)
    body = client.get("/v3/volumes/detail?limit=2&sort=name:asc").get_json()
    link = urlsplit(body["volumes_links"][0]["href"])
    assert link.path == "/v3/volumes/detail"
    assert parse_qs(link.query) == {
        "limit": ["2"],
        "sort": ["name:asc"],
        "marker": [created[1]["id"]],
    }


def test_a_page_shorter_than_the_limit_has_no_link(client):
    _volumes(client, 2)
    assert "volumes_links" not in client.get("/v3/volumes?limit=3").get_json()
    assert "volumes_links" not in client.get("/v3/volumes").get_json()


def test_offset_skips_records_of_the_merged_stream(client):
    created = _volumes(client, 5)
    names = sorted(volume["name"] for volume in created)
    body = client.get("/v3/volumes/detail?sort=name:asc&offset=2&limit=2").get_json()
    assert [v["name"] for v in body["volumes"]] == names[2:4]
    assert "offset=2" in body["volumes_links"][0]["href"]
    assert client.get("/v3/volumes?offset=4&limit=3").get_json()["volumes"] != []
    assert client.get("/v3/volumes?offset=5").get_json() == {"volumes": []}


def test_offset_after_a_marker_skips_past_the_marker(client):
    created = _volumes(client, 5)
    by_name = sorted(created, key=lambda volume: volume["name"])
    path = f"/v3/volumes?sort=name:asc&marker={by_name[0]['id']}&offset=1&limit=2"
    assert [v["id"] for v in client.get(path).get_json()["volumes"]] == [
        by_name[2]["id"],
        by_name[3]["id"],
    ]


def test_snapshot_offset_as_tempest_asks_it(client):
    _snapshots(client, 3)
    body = client.get("/v3/snapshots?offset=2&limit=3").get_json()
    assert len(body["snapshots"]) == 1
    assert "snapshots_links" not in body


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        ("x", "offset must be an integer"),
        ("1.5", "offset must be an integer"),
        ("-1", "offset must be >= 0"),
        ("10001", "offset must be <= 10000"),
    ],
)
def test_a_bad_offset_is_cinders_400_and_asks_no_pod(client, fake_pods, offset, message):
    response = client.get(f"/v3/snapshots?offset={offset}")
    assert response.status_code == 400
    assert response.get_json()["badRequest"]["message"] == message
    assert not any(pod.list_params for pod in fake_pods.pods.values())


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v3/snapshots?marker={marker}", "Snapshot {marker} could not be found."),
        ("/v3/snapshots/detail?marker={marker}", "Snapshot {marker} could not be found."),
        ("/v3/volumes/detail?marker={marker}", "Volume {marker} could not be found."),
    ],
)
def test_an_unknown_marker_is_cinders_404(client, path, message):
    marker = "0e01c2c6-17fe-4ce4-b325-0224d74f41ef"
    response = client.get(path.format(marker=marker))
    assert response.status_code == 404
    assert response.get_json() == {
        "itemNotFound": {"code": 404, "message": message.format(marker=marker)}
    }


def test_snapshot_of_a_null_volume_is_cinders_404_and_reaches_no_pod(client, fake_pods):
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": None, "name": "s"}})
    assert response.status_code == 404
    assert response.get_json() == {
        "itemNotFound": {"code": 404, "message": "Volume None could not be found."}
    }
    assert not any(pod.calls for pod in fake_pods.pods.values())


@pytest.mark.parametrize("volume_id", [5, "not-a-uuid", ["x"]])
def test_snapshot_of_a_malformed_volume_id_is_still_400(client, volume_id):
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume_id}})
    assert response.status_code == 400
    assert "volume_id" in response.get_json()["badRequest"]["message"]

"""Volumes through the gateway: placed by AZ, bad input refused before any pod, merged lists."""

from __future__ import annotations

import pytest
from fake_pods import FakeCinder
from flask import request
from sqlalchemy import select

from tricircle.api import gateway
from tricircle.api.microversions import Microversion
from tricircle.db.models import Pod, ResourceRouting


def _create(client, **volume):
    return client.post("/v3/volumes", json={"volume": {"size": 1, **volume}})


def test_create_lands_in_the_az_pod_with_the_pod_az_and_keeps_the_id(
    client, fake_pods, session_factory
):
    response = _create(client, name="data", availability_zone="az2")
    assert response.status_code == 202
    volume = response.get_json()["volume"]
    assert volume["availability_zone"] == "az2"
    assert volume["links"][0]["href"].startswith("http://localhost/v3/volumes/")
    bottom = fake_pods.pods["Pod2"].volumes[volume["id"]]
    assert bottom["availability_zone"] == "nova-az2"
    assert not fake_pods.pods["Pod1"].volumes
    with session_factory() as session:
        routing = session.scalars(select(ResourceRouting)).one()
    assert (routing.top_id, routing.bottom_id, routing.resource_type) == (
        volume["id"],
        volume["id"],
        "volume",
    )
    assert routing.project_id == "demo-project"
    shown = client.get(f"/v3/volumes/{volume['id']}").get_json()["volume"]
    assert (shown["name"], shown["availability_zone"]) == ("data", "az2")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"volume": {"size": 0}}, "0 is less than the minimum of 1"),
        ({"volume": {"size": 2**40}}, "is greater than the maximum of 2147483647"),
        ({"volume": {"size": "big"}}, "'big' does not match"),
        ({"volume": {}}, "None is not of type"),
        (
            {"volume": {"size": 1, "availability_zone": "az9"}},
            "Availability zone 'az9' is invalid.",
        ),
        ({"volume": {"size": 1, "name": 5}}, "is not of type 'string'"),
        ({"volume": "x"}, "is not of type 'object'"),
        ({"snapshot": {}}, "Missing required element 'volume' in request body."),
    ],
)
def test_bad_create_is_400_and_reaches_no_pod(client, fake_pods, session_factory, body, fragment):
    response = client.post("/v3/volumes", json=body)
    assert response.status_code == 400
    fault = response.get_json()["badRequest"]
    assert fault["code"] == 400
    assert fragment in fault["message"]
    assert not any(call[0] == "POST" for pod in fake_pods.pods.values() for call in pod.calls)
    with session_factory() as session:
        assert session.scalars(select(ResourceRouting)).first() is None


def test_malformed_json_is_400(client, fake_pods):
    response = client.post("/v3/volumes", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["badRequest"]["message"] == "Malformed request body"


def test_pod_refusal_passes_through_and_drops_the_routing(client, fake_pods, session_factory):
    volume = _create(client, availability_zone="az1").get_json()["volume"]
    del fake_pods.pods["Pod1"].volumes[volume["id"]]
    response = client.get(f"/v3/volumes/{volume['id']}")
    assert response.status_code == 404
    assert "could not be found" in response.get_json()["itemNotFound"]["message"]
    with session_factory() as session:
        assert session.scalars(select(ResourceRouting)).first() is None


def test_volume_without_routing_is_found_in_its_pod_and_routed(client, fake_pods, session_factory):
    answer = fake_pods.pods["Pod2"].call("POST", "/volumes", json={"volume": {"size": 1}})
    volume_id = answer.body["volume"]["id"]
    response = client.get(f"/v3/volumes/{volume_id}")
    assert response.status_code == 200
    with session_factory() as session:
        routing = session.scalars(select(ResourceRouting)).one()
    assert (routing.top_id, routing.resource_type) == (volume_id, "volume")
    assert client.get(f"/v3/volumes/{volume_id}").status_code == 200
    pod1_gets = [c for c in fake_pods.pods["Pod1"].calls if c[0] == "GET"]
    assert len(pod1_gets) == 1


def test_actions_and_delete_go_to_the_holding_pod(client, fake_pods):
    volume = _create(client, availability_zone="az2").get_json()["volume"]
    action = {"os-extend": {"new_size": 2}}
    assert client.post(f"/v3/volumes/{volume['id']}/action", json=action).status_code == 202
    assert ("POST", f"/volumes/{volume['id']}/action", action) in [
        call[:3] for call in fake_pods.pods["Pod2"].calls
    ]
    assert client.delete(f"/v3/volumes/{volume['id']}").status_code == 202
    assert not fake_pods.pods["Pod2"].volumes


def test_forwarded_answers_are_json_as_the_pod_sent_it_non_ascii_as_utf8(client):
    created = _create(client, availability_zone="az1", name="caf\u00e9")
    volume = created.get_json()["volume"]
    shown = client.get(f"/v3/volumes/{volume['id']}")
    for response in (created, shown):
        assert response.mimetype == "application/json"
        assert '"name":"caf\u00e9"'.encode() in response.get_data()
        assert response.get_data().endswith(b"\n")
    assert shown.get_json()["volume"]["availability_zone"] == "az1"


def test_links_point_at_the_gateway_by_the_name_each_caller_used(client):
    volume = _create(client, availability_zone="az1").get_json()["volume"]
    for base_url in ("http://cinder.example:8776", "https://xn--caf-dma.example", "http://[::1]"):
        shown = client.get(f"/v3/volumes/{volume['id']}", base_url=base_url).get_json()
        [link] = shown["volume"]["links"]
        with client.application.test_request_context("/v3/volumes", base_url=base_url):
            assert link["href"] == f"{request.host_url}v3/volumes/{volume['id']}"


def test_the_gateways_root_urls_kept_are_bounded(volume_app):
    for number in range(gateway.ROOTS_KEPT * 2):
        with volume_app.test_request_context("/v3", base_url=f"http://host{number}.example"):
            assert gateway.root_url() == f"http://host{number}.example"
    assert gateway._root_url.cache_info().currsize <= gateway.ROOTS_KEPT


def test_list_merges_pods_sorted_with_marker_pages(client, fake_pods):
    created = [
        _create(client, name=f"v{i}", availability_zone=f"az{1 + i % 2}").get_json()["volume"]
        for i in range(5)
    ]
    names = sorted(v["name"] for v in created)
    first = client.get("/v3/volumes/detail?sort=name:asc&limit=2").get_json()
    assert [v["name"] for v in first["volumes"]] == names[:2]
    assert {v["availability_zone"] for v in first["volumes"]} <= {"az1", "az2"}
    next_link = first["volumes_links"][0]["href"]
    assert "marker=" in next_link
    second = client.get(next_link.replace("http://localhost", "")).get_json()
    assert [v["name"] for v in second["volumes"]] == names[2:4]
    last = client.get(
        f"/v3/volumes?sort=name:asc&limit=2&marker={second['volumes'][-1]['id']}"
    ).get_json()
    assert [v["name"] for v in last["volumes"]] == names[4:]
    assert set(last["volumes"][0]) == {"id", "name", "links"}
    assert "volumes_links" not in last


def test_listed_records_are_shown_as_the_top_while_the_pods_keep_theirs(client, fake_pods):
    volume = _create(client, name="data", availability_zone="az2").get_json()["volume"]
    marker = _create(client, name="later", availability_zone="az1").get_json()["volume"]
    for path in ("/v3/volumes/detail", f"/v3/volumes/detail?marker={marker['id']}"):
        listed = client.get(path)
        assert listed.mimetype == "application/json"
        shown = next(v for v in listed.get_json()["volumes"] if v["id"] == volume["id"])
        assert shown["availability_zone"] == "az2"
        assert shown["links"] == [
            {"rel": "self", "href": f"http://localhost/v3/volumes/{volume['id']}"}
        ]
    bottom = fake_pods.pods["Pod2"].volumes[volume["id"]]
    assert bottom["availability_zone"] == "nova-az2"
    assert bottom["links"][0]["href"] == f"http://pod2.example:8776/v3/volumes/{volume['id']}"


def test_default_order_is_newest_first(client):
    created = [
        _create(client, availability_zone=f"az{1 + i % 2}").get_json()["volume"] for i in range(3)
    ]
    listed = client.get("/v3/volumes/detail").get_json()["volumes"]
    assert [v["id"] for v in listed] == [v["id"] for v in reversed(created)]


def test_a_down_pod_is_left_out_of_lists(client, fake_pods):
    kept = _create(client, availability_zone="az1").get_json()["volume"]
    _create(client, availability_zone="az2")
    fake_pods.pods["Pod2"].down = True
    listed = client.get("/v3/volumes/detail").get_json()["volumes"]
    assert [v["id"] for v in listed] == [kept["id"]]


def test_a_failing_pod_fails_lists_never_an_empty_success(client, fake_pods):
    _create(client, availability_zone="az1")
    fake_pods.pods["Pod1"].broken = True
    response = client.get("/v3/volumes/detail")
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["serviceUnavailable"]["code"] == 503


def test_unknown_marker_is_cinders_404(client):
    response = client.get("/v3/volumes?marker=nope")
    assert response.status_code == 404
    assert response.get_json()["itemNotFound"]["message"] == "Volume nope could not be found."


def test_volume_from_a_snapshot_goes_to_the_snapshot_pod(client, fake_pods):
    source = _create(client, availability_zone="az2").get_json()["volume"]
    snapshot = client.post(
        "/v3/snapshots", json={"snapshot": {"volume_id": source["id"]}}
    ).get_json()["snapshot"]
    response = client.post(
        "/v3/volumes", json={"volume": {"snapshot_id": snapshot["id"], "size": None}}
    )
    assert response.status_code == 202
    assert response.get_json()["volume"]["id"] in fake_pods.pods["Pod2"].volumes


def test_clone_in_another_az_than_its_source_is_400(client, fake_pods):
    source = _create(client, availability_zone="az2").get_json()["volume"]
    response = _create(client, source_volid=source["id"], availability_zone="az1")
    assert response.status_code == 400
    assert "'az2'" in response.get_json()["badRequest"]["message"]
    assert len(fake_pods.pods["Pod2"].volumes) == 1


def test_a_pod_whose_cinder_is_down_gets_no_new_binding(client, fake_pods, session_factory):
    with session_factory.begin() as session:
        session.add(Pod(region_name="Pod3", az_name="az2", pod_az_name="nova-az3"))
    fake_pods.pods["Pod3"] = FakeCinder("Pod3", Microversion(3, 70))
    fake_pods.pods["Pod2"].down = True
    volume = _create(client, availability_zone="az2").get_json()["volume"]
    assert volume["id"] in fake_pods.pods["Pod3"].volumes


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"volume": {"name": 7}}, "'name'"),
        ({"volume": {"metadata": {"k": 1}}}, "'metadata'"),
        ({"snapshot": {}}, "Missing required element 'volume'"),
    ],
)
def test_bad_update_is_400_and_reaches_no_pod(client, fake_pods, body, fragment):
    volume = _create(client, availability_zone="az1").get_json()["volume"]
    response = client.put(f"/v3/volumes/{volume['id']}", json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["badRequest"]["message"]
    assert not any(
        call[:1] == ("PUT",) and call[1].startswith("/volumes")
        for call in fake_pods.pods["Pod1"].calls
    )


@pytest.mark.parametrize("limit", ["-1", "x", "1.5"])
def test_a_negative_or_non_integer_limit_is_400(client, limit):
    response = client.get(f"/v3/volumes/detail?limit={limit}")
    assert response.status_code == 400
    assert "'limit'" in response.get_json()["badRequest"]["message"]

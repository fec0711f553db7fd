"""Version documents, microversion negotiation and Cinder's fault shapes at the gateway."""

from __future__ import annotations

import pytest
from fake_pods import FakeCinder

from tricircle.api.microversions import Microversion
from tricircle.db.models import Pod


def test_root_lists_v3_up_to_the_lowest_pod_maximum(client):
    response = client.get("/", environ_base={})
    assert response.status_code == 300
    (version,) = response.get_json()["versions"]
    assert (version["id"], version["min_version"], version["version"]) == ("v3.0", "3.0", "3.70")
    assert version["links"][0]["href"].endswith("/v3/")


def test_v3_document_needs_no_token(client):
    response = client.get("/v3")
    assert response.status_code == 200
    assert response.get_json()["versions"][0]["version"] == "3.70"


@pytest.mark.parametrize(
    ("asked", "served"),
    [(None, "3.0"), ("volume 3.27", "3.27"), ("volume latest", "3.70"), ("compute 2.9", "3.0")],
)
def test_microversion_is_negotiated_and_sent_to_the_pod(client, fake_pods, asked, served):
    headers = {"OpenStack-API-Version": asked} if asked else {}
    response = client.get("/v3/volumes/detail", headers=headers)
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == f"volume {served}"
    assert response.headers["Vary"] == "OpenStack-API-Version"
    assert {call[3] for pod in fake_pods.pods.values() for call in pod.calls} == {served}


def test_microversion_above_every_pod_is_406_compute_fault(client, fake_pods):
    response = client.get("/v3/volumes", headers={"OpenStack-API-Version": "volume 3.71"})
    assert response.status_code == 406
    fault = response.get_json()["computeFault"]
    assert fault["code"] == 406
    assert "Minimum is 3.0 and maximum is 3.70" in fault["message"]
    assert not any(pod.calls for pod in fake_pods.pods.values())


@pytest.mark.parametrize("text", ["3.x", "3", "v3.1", "3.01"])
def test_malformed_microversion_is_400(client, text):
    response = client.get("/v3/volumes", headers={"OpenStack-API-Version": f"volume {text}"})
    assert response.status_code == 400
    assert "is of invalid format" in response.get_json()["badRequest"]["message"]


def test_unknown_volume_is_item_not_found(client):
    response = client.get("/v3/volumes/8b7b7f5e-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.get_json() == {
        "itemNotFound": {
            "code": 404,
            "message": "Volume 8b7b7f5e-0000-4000-8000-000000000000 could not be found.",
        }
    }


def test_project_id_in_the_url_is_accepted(client):
    response = client.get("/v3/0123456789abcdef0123456789abcdef/volumes")
    assert response.status_code == 200
    assert response.get_json() == {"volumes": []}


def test_availability_zones_are_tricircle_azs(client, fake_pods, session_factory):
    fake_pods.pods["Pod3"] = FakeCinder("Pod3", Microversion(3, 71))
    with session_factory.begin() as session:
        session.add(Pod(region_name="Pod3", az_name="az2", pod_az_name="x", is_enabled=False))
    zones = client.get("/v3/os-availability-zone").get_json()["availabilityZoneInfo"]
    assert zones == [
        {"zoneName": "az1", "zoneState": {"available": True}},
        {"zoneName": "az2", "zoneState": {"available": True}},
    ]


def test_responses_carry_a_request_id_and_only_api_responses_a_version(client):
    api = client.get("/v3/volumes")
    assert api.headers["x-openstack-request-id"].startswith("req-")
    assert api.headers["OpenStack-API-Version"] == "volume 3.0"
    assert api.headers["Vary"] == "OpenStack-API-Version"
    document = client.get("/v3")
    assert document.headers["x-openstack-request-id"].startswith("req-")
    assert "OpenStack-API-Version" not in document.headers


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_empty_volume_id_is_404_not_the_collection(client, fake_pods, method):
    response = client.open("/v3/volumes/", method=method, json={"volume": {}})
    assert response.status_code == 404
    assert response.get_json()["itemNotFound"]["code"] == 404
    assert client.get("/v3/volumes").status_code == 200

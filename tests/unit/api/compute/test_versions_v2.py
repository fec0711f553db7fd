"""The root version document lists v2.0 then v2.1, and ``/v2`` serves v2.1 at its minimum."""

from __future__ import annotations

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer

SERVER = "33333333-4444-5555-6666-777777777777"


def test_root_lists_v2_0_then_v2_1(compute_member):
    versions = compute_member.get("/").get_json()["versions"]
    assert [(v["id"], v["status"]) for v in versions] == [
        ("v2.0", "SUPPORTED"),
        ("v2.1", "CURRENT"),
    ]
    assert (versions[0]["version"], versions[0]["min_version"]) == ("", "")
    assert versions[0]["links"] == [{"rel": "self", "href": "http://localhost/v2/"}]


def test_every_self_link_of_the_root_is_followable_without_a_token(compute_app):
    client = compute_app.test_client()
    for listed in client.get("/").get_json()["versions"]:
        (self_link,) = [link for link in listed["links"] if link["rel"] == "self"]
        shown = client.get(self_link["href"])
        assert shown.status_code == 200, self_link
        document = shown.get_json()["version"]
        assert document["id"] == listed["id"]
        assert [link for link in document["links"] if link["rel"] == "self"] == [self_link]


def test_v2_document_has_no_microversions(compute_member):
    document = compute_member.get("/v2").get_json()["version"]
    assert (document["id"], document["version"], document["min_version"]) == ("v2.0", "", "")
    assert document["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2"


class RecordingNova:
    """Pod1's Nova as the caller, recording the microversion of each call."""

    def __init__(self) -> None:
        self.microversions: list[str] = []

    def call(self, who, region_name, method, path, **_kw):
        self.microversions.append(str(who.microversion))
        server = {
            "id": SERVER,
            "links": [{"rel": "self", "href": f"http://pod1/v2.1/servers/{SERVER}"}],
        }
        return PodAnswer(200, {"server": server}, {})


def test_v2_paths_are_v2_1_at_its_minimum_with_v2_links(compute_app, compute_member, route_servers):
    route_servers({"Pod1": [{"id": SERVER}]})
    nova = RecordingNova()
    compute_app.extensions[EXTENSION].calls = nova
    answer = compute_member.get(
        f"/v2/servers/{SERVER}", headers={"OpenStack-API-Version": "compute 2.50"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert nova.microversions == ["2.1"]
    assert (
        answer.get_json()["server"]["links"][0]["href"] == f"http://localhost/v2/servers/{SERVER}"
    )
    assert "OpenStack-API-Version" not in answer.headers
    assert "X-OpenStack-Nova-API-Version" not in answer.headers


def test_v2_with_a_project_in_the_path(compute_member):
    answer = compute_member.get("/v2/demo-project/os-availability-zone")
    # The project form needs a project ID shaped as Keystone's; a name is a 404 like Nova's.
    assert answer.status_code == 404
    listed = compute_member.get("/v2/os-availability-zone")
    assert listed.status_code == 200, listed.get_data(as_text=True)

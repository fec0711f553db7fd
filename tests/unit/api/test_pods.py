"""``/v1.0/pods``: create, list, show, update, delete, and every way they refuse."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault


def test_create_show_list_delete_pod(admin, make_pod):
    top = make_pod("RegionOne", az_name="")
    pod = make_pod("Pod1", az_name="az1", pod_az_name="nova", dc_name="dc1")
    assert pod["region_name"] == "Pod1"
    assert (pod["az_name"], pod["pod_az_name"], pod["dc_name"]) == ("az1", "nova", "dc1")

    shown = admin.get(f"/v1.0/pods/{pod['pod_id']}")
    assert shown.status_code == 200
    assert shown.get_json() == {"pod": pod}

    listed = admin.get("/v1.0/pods").get_json()["pods"]
    assert [p["region_name"] for p in listed] == ["Pod1", "RegionOne"]
    assert top in listed

    assert admin.delete(f"/v1.0/pods/{pod['pod_id']}").status_code == 204
    assert_fault(admin.get(f"/v1.0/pods/{pod['pod_id']}"), 404, "itemNotFound", pod["pod_id"])
    assert_fault(admin.delete(f"/v1.0/pods/{pod['pod_id']}"), 404, "itemNotFound")


def test_optional_fields_default_to_empty(admin):
    response = admin.post("/v1.0/pods", json={"pod": {"region_name": "RegionOne"}})
    assert response.status_code == 201
    pod = response.get_json()["pod"]
    assert (pod["az_name"], pod["pod_az_name"], pod["dc_name"]) == ("", "", "")
    assert pod["is_enabled"] is True


def test_pod_can_be_created_disabled(make_pod):
    assert make_pod("Pod1", is_enabled=False)["is_enabled"] is False


def test_disable_and_enable_a_pod(admin, make_pod):
    pod = make_pod("Pod1", dc_name="dc1")
    response = admin.put(f"/v1.0/pods/{pod['pod_id']}", json={"pod": {"is_enabled": False}})
    assert response.status_code == 200
    assert response.get_json() == {"pod": {**pod, "is_enabled": False}}
    assert admin.get(f"/v1.0/pods/{pod['pod_id']}").get_json()["pod"]["is_enabled"] is False
    response = admin.put(f"/v1.0/pods/{pod['pod_id']}", json={"pod": {"is_enabled": True}})
    assert response.get_json() == {"pod": pod}


def test_update_of_a_missing_pod_is_not_found(admin):
    response = admin.put("/v1.0/pods/no-such-pod", json={"pod": {"is_enabled": False}})
    assert_fault(response, 404, "itemNotFound", "no-such-pod")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pod": {}}, "pod.is_enabled"),
        ({"pod": {"is_enabled": "false"}}, "pod.is_enabled"),
        ({"pod": {"is_enabled": 0}}, "pod.is_enabled"),
        ({"pod": {"is_enabled": None}}, "pod.is_enabled"),
        ({"pod": {"is_enabled": False, "az_name": "az2"}}, "pod.az_name"),
        ({"pod": {"is_enabled": False, "region_name": "Pod9"}}, "pod.region_name"),
        ({"pod": True}, "'pod'"),
    ],
)
def test_invalid_update_names_the_field_and_changes_nothing(admin, make_pod, body, field):
    pod = make_pod("Pod1")
    assert_fault(admin.put(f"/v1.0/pods/{pod['pod_id']}", json=body), 400, "badRequest", field)
    assert admin.get(f"/v1.0/pods/{pod['pod_id']}").get_json() == {"pod": pod}


def test_member_may_not_update_a_pod(admin, member, make_pod):
    pod = make_pod("Pod1")
    response = member.put(f"/v1.0/pods/{pod['pod_id']}", json={"pod": {"is_enabled": False}})
    assert_fault(response, 403, "forbidden")
    assert admin.get(f"/v1.0/pods/{pod['pod_id']}").get_json()["pod"]["is_enabled"] is True


def test_list_filters_by_az_and_region(admin, make_pod):
    make_pod("Pod1", az_name="az1")
    make_pod("Pod2", az_name="az2")
    make_pod("Pod3", az_name="az1")
    in_az1 = admin.get("/v1.0/pods?az_name=az1").get_json()["pods"]
    assert [p["region_name"] for p in in_az1] == ["Pod1", "Pod3"]
    by_region = admin.get("/v1.0/pods?region_name=Pod2").get_json()["pods"]
    assert [p["az_name"] for p in by_region] == ["az2"]


def test_second_top_pod_is_a_conflict(admin, make_pod):
    make_pod("RegionOne", az_name="")
    response = admin.post("/v1.0/pods", json={"pod": {"region_name": "RegionTwo"}})
    assert_fault(response, 409, "conflictingRequest", "top pod")


def test_duplicate_region_is_a_conflict(admin, make_pod):
    make_pod("Pod1")
    response = admin.post("/v1.0/pods", json={"pod": {"region_name": "Pod1", "az_name": "az9"}})
    assert_fault(response, 409, "conflictingRequest", "Pod1")


def test_pod_with_routings_cannot_be_deleted(admin, make_pod, add_routings):
    pod = make_pod("Pod1")
    add_routings(pod["pod_id"], 2)
    response = admin.delete(f"/v1.0/pods/{pod['pod_id']}")
    assert_fault(response, 409, "conflictingRequest", pod["pod_id"], "2 resource routing")
    assert admin.get(f"/v1.0/pods/{pod['pod_id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pod": {}}, "pod.region_name"),
        ({"pod": {"region_name": ""}}, "pod.region_name"),
        ({"pod": {"region_name": "   "}}, "pod.region_name"),
        ({"pod": {"region_name": 7}}, "pod.region_name"),
        ({"pod": {"region_name": None}}, "pod.region_name"),
        ({"pod": {"region_name": "x" * 256}}, "pod.region_name"),
        ({"pod": {"region_name": "Pod1", "az_name": ["az1"]}}, "pod.az_name"),
        ({"pod": {"region_name": "Pod1", "dc_name": 1.5}}, "pod.dc_name"),
        ({"pod": {"region_name": "Pod1", "is_enabled": "yes"}}, "pod.is_enabled"),
        ({"pod": {"region_name": "Pod1", "pod_id": "chosen"}}, "pod.pod_id"),
        ({"pod": "Pod1"}, "'pod'"),
        ({"pods": {"region_name": "Pod1"}}, "'pod'"),
        ({"pod": {"region_name": "Pod1"}, "extra": 1}, "'extra'"),
        ([{"pod": {"region_name": "Pod1"}}], "'pod'"),
    ],
)
def test_invalid_pod_body_names_the_field(admin, body, field):
    response = admin.post("/v1.0/pods", json=body)
    assert_fault(response, 400, "badRequest", field)
    assert admin.get("/v1.0/pods").get_json() == {"pods": []}


@pytest.mark.parametrize("raw", [b"{", b"", b"not json", b'{"pod": }', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(admin, raw):
    response = admin.post("/v1.0/pods", data=raw, content_type="application/json")
    assert_fault(response, 400, "badRequest", "Malformed request body")


def test_unknown_query_parameter_is_a_bad_request(admin):
    assert_fault(admin.get("/v1.0/pods?colour=red"), 400, "badRequest", "'colour'")
    assert_fault(admin.get("/v1.0/pods?az_name=a&az_name=b"), 400, "badRequest", "'az_name'")

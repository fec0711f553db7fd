"""``/v1.0/bindings`` and the binding queries behind them."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.db import pods


def create_binding(admin, project_id: str, pod_id: str):
    body = {"pod_binding": {"project_id": project_id, "pod_id": pod_id}}
    return admin.post("/v1.0/bindings", json=body)


def test_create_show_list_delete_binding(admin, make_pod):
    pod = make_pod("Pod1")
    response = create_binding(admin, "p1", pod["pod_id"])
    assert response.status_code == 201
    binding = response.get_json()["pod_binding"]
    assert (binding["project_id"], binding["pod_id"]) == ("p1", pod["pod_id"])
    assert binding["created_at"]

    shown = admin.get(f"/v1.0/bindings/{binding['id']}")
    assert shown.get_json() == {"pod_binding": binding}
    assert admin.get("/v1.0/bindings").get_json() == {"pod_bindings": [binding]}

    assert admin.delete(f"/v1.0/bindings/{binding['id']}").status_code == 204
    assert_fault(admin.get(f"/v1.0/bindings/{binding['id']}"), 404, "itemNotFound", binding["id"])
    assert_fault(admin.delete(f"/v1.0/bindings/{binding['id']}"), 404, "itemNotFound")


def test_list_filters_by_project_and_pod(admin, make_pod):
    pod1, pod2 = make_pod("Pod1"), make_pod("Pod2", az_name="az2")
    for project_id, pod in [("p1", pod1), ("p1", pod2), ("p2", pod1)]:
        assert create_binding(admin, project_id, pod["pod_id"]).status_code == 201
    of_p1 = admin.get("/v1.0/bindings?project_id=p1").get_json()["pod_bindings"]
    assert sorted(b["pod_id"] for b in of_p1) == sorted([pod1["pod_id"], pod2["pod_id"]])
    in_pod1 = admin.get(f"/v1.0/bindings?pod_id={pod1['pod_id']}").get_json()["pod_bindings"]
    assert sorted(b["project_id"] for b in in_pod1) == ["p1", "p2"]


def test_duplicate_binding_is_a_conflict(admin, make_pod):
    pod = make_pod("Pod1")
    assert create_binding(admin, "p1", pod["pod_id"]).status_code == 201
    assert_fault(create_binding(admin, "p1", pod["pod_id"]), 409, "conflictingRequest", "p1")


def test_binding_to_a_missing_or_top_pod_is_a_bad_request(admin, make_pod):
    assert_fault(create_binding(admin, "p1", "no-such-pod"), 400, "badRequest", "pod_id")
    top = make_pod("RegionOne", az_name="")
    assert_fault(create_binding(admin, "p1", top["pod_id"]), 400, "badRequest", "pod_id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pod_binding": {"pod_id": "x"}}, "pod_binding.project_id"),
        ({"pod_binding": {"project_id": "p1"}}, "pod_binding.pod_id"),
        ({"pod_binding": {"project_id": 1, "pod_id": "x"}}, "pod_binding.project_id"),
        ({"pod_binding": {"project_id": "p1", "pod_id": "x" * 37}}, "pod_binding.pod_id"),
        ({"pod_binding": {"project_id": "p1", "pod_id": "x", "az": "a"}}, "pod_binding.az"),
    ],
)
def test_invalid_binding_body_names_the_field(admin, body, field):
    assert_fault(admin.post("/v1.0/bindings", json=body), 400, "badRequest", field)


def test_deleting_a_pod_removes_its_bindings(admin, make_pod):
    pod = make_pod("Pod1")
    binding = create_binding(admin, "p1", pod["pod_id"]).get_json()["pod_binding"]
    assert admin.delete(f"/v1.0/pods/{pod['pod_id']}").status_code == 204
    assert admin.get(f"/v1.0/bindings/{binding['id']}").status_code == 404


def test_find_binding_picks_the_pod_in_the_az(session_factory, make_pod):
    pod1, pod2 = make_pod("Pod1", az_name="az1"), make_pod("Pod2", az_name="az2")
    with session_factory() as session, session.begin():
        pods.create_binding(session, project_id="p1", pod_id=pod1["pod_id"])
        pods.create_binding(session, project_id="p1", pod_id=pod2["pod_id"])
    with session_factory() as session, session.begin():
        assert pods.find_binding(session, "p1", "az2").pod_id == pod2["pod_id"]
        assert pods.find_binding(session, "p1", "az1").pod_id == pod1["pod_id"]
        assert pods.find_binding(session, "p1", "az3") is None
        assert pods.find_binding(session, "p2", "az1") is None
        assert pods.get_pod_by_region(session, "Pod2").pod_id == pod2["pod_id"]
        assert pods.get_top_pod(session) is None

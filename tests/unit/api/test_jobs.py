"""``/v1.0/jobs``: queue, list with filters and next links, show, redo."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.db.models import JobStatus


def create_job(admin, **fields):
    return admin.post("/v1.0/jobs", json={"job": fields})


def test_create_show_and_list_job(admin):
    response = create_job(
        admin, type="router_setup", resource_id="router-1", payload={"pod_id": "pod-1"}
    )
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert (job["type"], job["resource_id"], job["status"]) == ("router_setup", "router-1", "new")
    assert job["project_id"] == "admin-project"
    assert job["payload"] == {"pod_id": "pod-1"}
    assert job["attempts"] == 0
    assert admin.get(f"/v1.0/jobs/{job['id']}").get_json() == {"job": job}
    assert admin.get("/v1.0/jobs").get_json() == {"jobs": [job], "jobs_links": []}


def test_pending_job_absorbs_a_second_create(admin):
    first = create_job(admin, type="router_setup", resource_id="r1", project_id="p1")
    second = create_job(admin, type="router_setup", resource_id="r1", project_id="p1")
    assert first.get_json()["job"]["id"] == second.get_json()["job"]["id"]


def test_filters(admin, set_job_status):
    made = {
        name: create_job(admin, type=job_type, resource_id=resource, project_id=project).get_json()[
            "job"
        ]["id"]
        for name, job_type, resource, project in [
            ("setup_r1", "router_setup", "r1", "p1"),
            ("setup_r2", "router_setup", "r2", "p2"),
            ("routes_r1", "configure_routes", "r1", "p1"),
        ]
    }
    set_job_status(made["setup_r2"], JobStatus.FAILED)

    def ids(query: str) -> set[str]:
        return {j["id"] for j in admin.get(f"/v1.0/jobs?{query}").get_json()["jobs"]}

    assert ids("type=router_setup") == {made["setup_r1"], made["setup_r2"]}
    assert ids("status=failed") == {made["setup_r2"]}
    assert ids("status=new&project_id=p1") == {made["setup_r1"], made["routes_r1"]}
    assert ids("resource_id=r1&type=configure_routes") == {made["routes_r1"]}


def test_pages_follow_next_links(admin):
    created = [
        create_job(admin, type="router_setup", resource_id=f"r{i}").get_json()["job"]["id"]
        for i in range(5)
    ]
    seen, url, pages = [], "/v1.0/jobs?limit=2&type=router_setup", 0
    while url:
        body = admin.get(url).get_json()
        seen += [job["id"] for job in body["jobs"]]
        pages += 1
        url = body["jobs_links"][0]["href"] if body["jobs_links"] else ""
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_redo_requeues_a_failed_job(admin, set_job_status):
    job = create_job(admin, type="router_setup", resource_id="r1").get_json()["job"]
    set_job_status(job["id"], JobStatus.FAILED)
    response = admin.put(f"/v1.0/jobs/{job['id']}/redo")
    assert response.status_code == 200
    assert response.get_json()["job"]["id"] == job["id"]
    assert response.get_json()["job"]["status"] == "new"


def test_missing_job_is_not_found(admin):
    assert_fault(admin.get("/v1.0/jobs/nope"), 404, "itemNotFound", "nope")
    assert_fault(admin.put("/v1.0/jobs/nope/redo"), 404, "itemNotFound", "nope")


def test_job_needs_a_project(admin):
    body = {"job": {"type": "router_setup", "resource_id": "r1"}}
    response = admin.post("/v1.0/jobs", json=body, headers={"X-Project-Id": ""})
    assert_fault(response, 400, "badRequest", "job.project_id")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resource_id": "r1"}, "job.type"),
        ({"type": "router_setup"}, "job.resource_id"),
        ({"type": "router_setup", "resource_id": "r1", "payload": [1]}, "job.payload"),
        ({"type": "router_setup", "resource_id": "r1", "payload": "x"}, "job.payload"),
        ({"type": "t" * 65, "resource_id": "r1"}, "job.type"),
        ({"type": "router_setup", "resource_id": "r1", "status": "new"}, "job.status"),
    ],
)
def test_invalid_job_body_names_the_field(admin, fields, field):
    assert_fault(create_job(admin, **fields), 400, "badRequest", field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "'status'"),
        ("limit=0", "'limit'"),
        ("limit=x", "'limit'"),
        ("marker=no-such-job", "'marker'"),
        ("kind=x", "'kind'"),
    ],
)
def test_bad_query_is_a_bad_request(admin, query, field):
    assert_fault(admin.get(f"/v1.0/jobs?{query}"), 400, "badRequest", field)

"""``/v1.0/routings``: filtered, paginated listing with next links, show and delete."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from admin_api_helpers import assert_fault


def follow_pages(admin, url: str) -> tuple[list[dict], int]:
    """Every routing reachable from ``url`` through next links, and the number of pages read."""
    routings, pages = [], 0
    while url:
        body = admin.get(url).get_json()
        routings += body["routings"]
        pages += 1
        links = body["routings_links"]
        url = links[0]["href"] if links else ""
        if links:
            assert links[0]["rel"] == "next"
    return routings, pages


def test_list_show_delete_routing(admin, make_pod, add_routings):
    pod = make_pod("Pod1")
    first, second = add_routings(pod["pod_id"], 2)
    body = admin.get("/v1.0/routings").get_json()
    assert [r["id"] for r in body["routings"]] == [first, second]
    assert body["routings_links"] == []
    routing = body["routings"][0]
    assert routing["pod_id"] == pod["pod_id"]
    assert (routing["top_id"], routing["bottom_id"]) == ("top-network-p1-0", "bottom-0")
    assert admin.get(f"/v1.0/routings/{first}").get_json() == {"routing": routing}

    assert admin.delete(f"/v1.0/routings/{first}").status_code == 204
    assert_fault(admin.get(f"/v1.0/routings/{first}"), 404, "itemNotFound", str(first))
    assert_fault(admin.delete(f"/v1.0/routings/{first}"), 404, "itemNotFound", str(first))
    assert_fault(admin.get("/v1.0/routings/not-a-number"), 404, "itemNotFound")


def test_filters(admin, make_pod, add_routings):
    pod1, pod2 = make_pod("Pod1"), make_pod("Pod2", az_name="az2")
    networks = add_routings(pod1["pod_id"], 2, resource_type="network", project_id="p1")
    ports = add_routings(pod2["pod_id"], 2, resource_type="port", project_id="p1")
    other = add_routings(pod1["pod_id"], 1, resource_type="port", project_id="p2")

    def ids(query: str) -> list[int]:
        return [r["id"] for r in admin.get(f"/v1.0/routings?{query}").get_json()["routings"]]

    assert ids("resource_type=port") == ports + other
    assert ids(f"pod_id={pod1['pod_id']}") == networks + other
    assert ids("project_id=p2") == other
    assert ids(f"resource_type=port&project_id=p1&pod_id={pod2['pod_id']}") == ports


def test_pages_follow_next_links_and_keep_filters(admin, make_pod, add_routings):
    pod = make_pod("Pod1")
    ports = add_routings(pod["pod_id"], 7, resource_type="port")
    add_routings(pod["pod_id"], 3, resource_type="network")
    routings, pages = follow_pages(admin, "/v1.0/routings?resource_type=port&limit=3")
    assert [r["id"] for r in routings] == ports
    assert pages == 3

    first_page = admin.get("/v1.0/routings?resource_type=port&limit=3").get_json()
    href = urlsplit(first_page["routings_links"][0]["href"])
    assert href.path == "/v1.0/routings"
    assert parse_qs(href.query) == {
        "resource_type": ["port"],
        "limit": ["3"],
        "marker": [str(ports[2])],
    }


def test_exact_last_page_has_one_empty_follow_up(admin, make_pod, add_routings):
    pod = make_pod("Pod1")
    ids = add_routings(pod["pod_id"], 4)
    routings, pages = follow_pages(admin, "/v1.0/routings?limit=2")
    assert [r["id"] for r in routings] == ids
    assert pages == 3


def test_marker_starts_after_the_given_routing(admin, make_pod, add_routings):
    pod = make_pod("Pod1")
    ids = add_routings(pod["pod_id"], 4)
    body = admin.get(f"/v1.0/routings?marker={ids[1]}").get_json()
    assert [r["id"] for r in body["routings"]] == ids[2:]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "'limit'"),
        ("limit=-2", "'limit'"),
        ("limit=ten", "'limit'"),
        ("limit=", "'limit'"),
        ("marker=abc", "'marker'"),
        ("marker=999999", "'marker'"),
        ("resource_type=", "'resource_type'"),
        ("top_id=x", "'top_id'"),
    ],
)
def test_bad_query_is_a_bad_request(admin, query, field):
    assert_fault(admin.get(f"/v1.0/routings?{query}"), 400, "badRequest", field)

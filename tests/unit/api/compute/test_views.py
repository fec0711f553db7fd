"""Rewriting a pod's server document into the gateway's view."""

from __future__ import annotations

from tricircle.api.compute import views

TOP_NETWORK_ID = "5e1f1b8c-2f5e-4a55-9d7b-0c1b2a3d4e5f"
VIEW = views.ViewContext(
    versioned_url="http://gw:8774/v2.1",
    bookmark_url="http://gw:8774",
    az_by_pod_az={"pod1-az": "az1"},
    top_network_names=lambda names: {TOP_NETWORK_ID: "shared-net"},
)


def test_links_point_at_the_gateway():
    server = {
        "id": "s1",
        "links": [
            {"rel": "self", "href": "http://127.0.0.1:20102/v2.1/servers/s1"},
            {"rel": "bookmark", "href": "http://127.0.0.1:20102/servers/s1"},
        ],
        "flavor": {"id": "1", "links": [{"rel": "bookmark", "href": "http://p/flavors/1"}]},
    }
    shown = views.server_view(server, VIEW)
    assert [link["href"] for link in shown["links"]] == [
        "http://gw:8774/v2.1/servers/s1",
        "http://gw:8774/servers/s1",
    ]
    assert shown["flavor"]["links"][0]["href"] == "http://gw:8774/flavors/1"


def test_pod_az_and_bottom_network_names_are_replaced():
    server = {
        "OS-EXT-AZ:availability_zone": "pod1-az",
        "addresses": {TOP_NETWORK_ID: [{"addr": "10.0.0.5"}], "pod-local": [{"addr": "1.1.1.1"}]},
    }
    shown = views.server_view(server, VIEW)
    assert shown["OS-EXT-AZ:availability_zone"] == "az1"
    assert shown["addresses"] == {
        "shared-net": [{"addr": "10.0.0.5"}],
        "pod-local": [{"addr": "1.1.1.1"}],
    }
    assert server["OS-EXT-AZ:availability_zone"] == "pod1-az"


def test_unknown_records_follow_nova_2_69():
    short = views.unknown_server("s1", "p1", "2026-11-25T00:00:00Z", "az2", False, VIEW)
    assert set(short) == {"id", "status", "links"} and short["status"] == "UNKNOWN"
    detail = views.unknown_server("s1", "p1", "2026-11-25T00:00:00Z", "az2", True, VIEW)
    assert detail["tenant_id"] == "p1" and detail["OS-EXT-AZ:availability_zone"] == "az2"


def test_a_snapshot_location_points_at_the_gateway():
    location = "http://127.0.0.1:18102/v2.1/images/0f6b2a4e-1111-4a22-8b33-9c44d55e66f7"
    assert views.rewrite_href(location, "self", VIEW) == (
        "http://gw:8774/v2.1/images/0f6b2a4e-1111-4a22-8b33-9c44d55e66f7"
    )


def test_image_links_point_at_the_gateway_and_the_pods_document_is_left_as_it_was():
    link = {"rel": "bookmark", "href": "http://127.0.0.1:20102/images/i1"}
    server = {
        "id": "s1",
        "image": {"id": "i1", "links": [link]},
        "metadata": {"links": "a user's value"},
        "addresses": {"pod-local": [{"addr": "1.1.1.1"}]},
    }
    shown = views.server_view(server, VIEW)
    assert shown["image"] == {"id": "i1", "links": [{**link, "href": "http://gw:8774/images/i1"}]}
    assert shown["metadata"] == {"links": "a user's value"}
    assert server["image"]["links"] == [link]
    assert link["href"] == "http://127.0.0.1:20102/images/i1"

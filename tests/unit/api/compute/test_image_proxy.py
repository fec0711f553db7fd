"""The image proxy below 2.36 and image metadata below 2.39, against a fake shared Glance."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

IMAGE = "0f6b2a4e-1111-4a22-8b33-9c44d55e66f7"
V2_36 = {"OpenStack-API-Version": "compute 2.36"}
V2_38 = {"OpenStack-API-Version": "compute 2.38"}
V2_39 = {"OpenStack-API-Version": "compute 2.39"}


class FakeGlance:
    """RegionOne's Glance: one image with two extra properties; every request recorded."""

    def __init__(self) -> None:
        self.image = {"id": IMAGE, "name": "cirros", "status": "active", "kernel": "k", "ram": "1"}
        self.requests: list[tuple[str, str, object, object, object]] = []

    def call(self, who, region_name, method, path, *, service_type="compute", **kwargs):
        assert (region_name, service_type) == ("RegionOne", "image")
        self.requests.append((method, path, kwargs.get("params"), kwargs.get("json"), kwargs))
        if path == "/v2/images":
            return PodAnswer(200, {"images": [self.image]}, {})
        if path != f"/v2/images/{IMAGE}":
            raise PodClientError("RegionOne", "image", 404, "No image found", None)
        if method == "DELETE":
            return PodAnswer(204, None, {})
        if method == "PATCH":
            for change in kwargs["json"]:
                key = change["path"][1:]
                if change["op"] == "remove":
                    del self.image[key]
                else:
                    self.image[key] = change["value"]
        return PodAnswer(200, dict(self.image), {})

    def patches(self) -> list[tuple[object, str]]:
        return [(r[3], r[4]["headers"]["Content-Type"]) for r in self.requests if r[0] == "PATCH"]


@pytest.fixture
def glance(compute_app) -> FakeGlance:
    fake = FakeGlance()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_list_filters_become_glance_v2_filters_as_nova_sends_them(compute_member, glance):
    listed = compute_member.get(
        "/v2.1/images/detail?server=http://gw/v2.1/servers/abc&type=snapshot&status=ACTIVE"
        "&changes-since=2024-01-01T00:00:00Z&minRam=64&minDisk=1&name=cirros&limit=5&marker=m"
        "&property-os_distro=cirros&bogus=1"
    )
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["images"][0]["metadata"] == {"kernel": "k", "ram": "1"}
    assert glance.requests[-1][2] == {
        "instance_uuid": "abc",
        "image_type": "snapshot",
        "status": "active",
        "updated_at": "gte:2024-01-01T00:00:00Z",
        "min_ram": "64",
        "min_disk": "1",
        "name": "cirros",
        "limit": "5",
        "marker": "m",
        "os_distro": "cirros",
    }


@pytest.mark.parametrize("limit", ["0", "-1", "x"])
def test_a_bad_limit_is_nova_400(compute_member, glance, limit):
    assert_fault(compute_member.get(f"/v2.1/images?limit={limit}"), 400, "badRequest", "limit")
    assert glance.requests == []


def test_delete_answers_204_and_unknown_or_invalid_ids_404(compute_member, glance):
    assert compute_member.delete(f"/v2.1/images/{IMAGE}").status_code == 204
    assert glance.requests[-1][:2] == ("DELETE", f"/v2/images/{IMAGE}")
    for image_id in ("nope", "..", "%2E%2E"):
        missing = compute_member.delete(f"/v2.1/images/{image_id}")
        assert_fault(missing, 404, "itemNotFound", "Image not found.")


def test_the_proxy_is_gone_from_2_36_and_metadata_from_2_39(compute_member, glance):
    for path in (f"/v2.1/images/{IMAGE}", "/v2.1/images/detail"):
        assert_fault(compute_member.get(path, headers=V2_36), 404, "itemNotFound")
    assert compute_member.delete(f"/v2.1/images/{IMAGE}", headers=V2_36).status_code == 404
    shown = compute_member.get(f"/v2.1/images/{IMAGE}/metadata", headers=V2_38)
    assert shown.get_json() == {"metadata": {"kernel": "k", "ram": "1"}}
    gone = compute_member.get(f"/v2.1/images/{IMAGE}/metadata", headers=V2_39)
    assert_fault(gone, 404, "itemNotFound")


def test_metadata_changes_are_json_patches_of_the_image(compute_member, glance):
    path = f"/v2.1/images/{IMAGE}/metadata"
    added = compute_member.post(path, json={"metadata": {"ram": "2", "os_type": "linux"}})
    assert added.get_json() == {"metadata": {"kernel": "k", "ram": "2", "os_type": "linux"}}
    replaced = compute_member.put(path, json={"metadata": {"kernel": "k2"}})
    assert replaced.get_json() == {"metadata": {"kernel": "k2"}}
    item = compute_member.put(f"{path}/arch", json={"meta": {"arch": "x86_64"}})
    assert item.get_json() == {"meta": {"arch": "x86_64"}}
    assert compute_member.get(f"{path}/arch").get_json() == {"meta": {"arch": "x86_64"}}
    assert compute_member.delete(f"{path}/kernel").status_code == 204
    assert compute_member.get(path).get_json() == {"metadata": {"arch": "x86_64"}}
    patch = "application/openstack-images-v2.1-json-patch"
    assert glance.patches() == [
        (
            [
                {"op": "add", "path": "/ram", "value": "2"},
                {"op": "add", "path": "/os_type", "value": "linux"},
            ],
            patch,
        ),
        (
            [
                {"op": "remove", "path": "/ram"},
                {"op": "remove", "path": "/os_type"},
                {"op": "add", "path": "/kernel", "value": "k2"},
            ],
            patch,
        ),
        ([{"op": "add", "path": "/arch", "value": "x86_64"}], patch),
        ([{"op": "remove", "path": "/kernel"}], patch),
    ]


def test_bad_metadata_is_nova_400_and_unknown_items_404(compute_member, glance):
    path = f"/v2.1/images/{IMAGE}/metadata"
    for body in (
        {"metadata": {"a/b": "x"}},
        {"metadata": {"k": "x" * 256}},
        {"metadata": {"k": 1}},
        {"metadata": []},
        {"meta": {"k": "v"}},
    ):
        assert_fault(compute_member.post(path, json=body), 400, "badRequest")
    mismatch = compute_member.put(f"{path}/a", json={"meta": {"b": "v"}})
    assert_fault(mismatch, 400, "badRequest", "Request body and URI mismatch")
    two = compute_member.put(f"{path}/a", json={"meta": {"a": "v", "b": "w"}})
    assert_fault(two, 400, "badRequest")
    assert_fault(compute_member.get(f"{path}/nope"), 404, "itemNotFound")
    assert_fault(compute_member.delete(f"{path}/nope"), 404, "itemNotFound", "Invalid metadata key")
    unknown = compute_member.get("/v2.1/images/nope/metadata")
    assert_fault(unknown, 404, "itemNotFound", "Image not found.")
    assert glance.patches() == []


def test_metadata_over_the_quota_is_nova_403(compute_member, glance, admin_conf):
    admin_conf.set_override("metadata_items", 3, group="quota")
    path = f"/v2.1/images/{IMAGE}/metadata"
    assert compute_member.post(path, json={"metadata": {"a": "1"}}).status_code == 200
    over = compute_member.post(path, json={"metadata": {"b": "1"}})
    assert_fault(over, 403, "forbidden", "Image metadata limit exceeded")
    assert len(glance.patches()) == 1

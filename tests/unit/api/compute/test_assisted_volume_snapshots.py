"""``os-assisted-volume-snapshots``: forwarded to the volume's pod, admins only, Nova's 400s."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import ResourceRouting
from tricircle.pods.client import PodClientError

VOLUME_POD2 = "bbbbbbbb-0000-0000-0000-000000000002"
NOWHERE = "eeeeeeee-0000-0000-0000-000000000005"
SNAPSHOT = "5a1b2c3d-0000-0000-0000-00000000000a"
PATH = "/v2.1/os-assisted-volume-snapshots"


class FakeCalls:
    """Pod2's Cinder shows VOLUME_POD2; every Nova accepts the snapshot calls."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, str, object, object]] = []
        self.lock = threading.Lock()

    def call(
        self, who, region_name, method, path, *, service_type="compute", json=None, **kw
    ) -> PodAnswer:
        with self.lock:
            self.requests.append((region_name, service_type, method, path, json, kw.get("params")))
        if service_type == "volumev3":
            volume_id = path.rsplit("/", 1)[-1]
            if region_name != "Pod2" or volume_id != VOLUME_POD2:
                raise PodClientError(region_name, service_type, 404, "not found", "itemNotFound")
            return PodAnswer(200, {"volume": {"id": volume_id}}, {})
        if method == "POST":
            snapshot = json["snapshot"]
            made = {"id": snapshot["create_info"]["snapshot_id"], "volumeId": snapshot["volume_id"]}
            return PodAnswer(200, {"snapshot": made}, {})
        return PodAnswer(204, None, {})

    def changes(self) -> list[tuple[str, str, str, object]]:
        return [(r, m, p, params) for r, s, m, p, _j, params in self.requests if s == "compute"]


@pytest.fixture
def fake_calls(compute_app, session_factory, pods) -> FakeCalls:
    with session_factory.begin() as session:
        session.add(
            ResourceRouting(
                top_id=VOLUME_POD2,
                bottom_id=VOLUME_POD2,
                pod_id=pods["Pod2"].pod_id,
                project_id="demo-project",
                resource_type="volume",
            )
        )
    fake = FakeCalls()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def create_body(volume_id: str = VOLUME_POD2, **create_info: object) -> dict:
    info = {"snapshot_id": SNAPSHOT, "type": "qcow2", "new_file": "new_file", **create_info}
    return {"snapshot": {"volume_id": volume_id, "create_info": info}}


def test_create_and_delete_go_to_the_volumes_pod(compute_admin, fake_calls):
    created = compute_admin.post(PATH, json=create_body())
    assert created.status_code == 200, created.get_json()
    assert created.get_json() == {"snapshot": {"id": SNAPSHOT, "volumeId": VOLUME_POD2}}
    delete_info = json.dumps({"volume_id": VOLUME_POD2})
    deleted = compute_admin.delete(f"{PATH}/{SNAPSHOT}?delete_info={quote(delete_info)}")
    assert deleted.status_code == 204
    assert fake_calls.changes() == [
        ("Pod2", "POST", "/os-assisted-volume-snapshots", None),
        ("Pod2", "DELETE", f"{PATH[5:]}/{SNAPSHOT}", {"delete_info": delete_info}),
    ]
    assert fake_calls.requests[1][4] == create_body()


def test_members_are_refused(compute_member, fake_calls):
    assert_fault(compute_member.post(PATH, json=create_body()), 403, "forbidden")
    delete_info = quote(json.dumps({"volume_id": VOLUME_POD2}))
    assert_fault(
        compute_member.delete(f"{PATH}/{SNAPSHOT}?delete_info={delete_info}"), 403, "forbidden"
    )
    assert fake_calls.requests == []


@pytest.mark.parametrize(
    "body",
    [
        create_body(type="raw"),
        create_body(new_file=""),
        create_body(bogus=1),
        {"snapshot": {"volume_id": VOLUME_POD2}},
        {"snapshot": {"create_info": create_body()["snapshot"]["create_info"]}},
    ],
)
def test_bad_bodies_are_400_before_any_pod_is_asked(compute_admin, fake_calls, body):
    assert_fault(compute_admin.post(PATH, json=body), 400, "badRequest")
    assert fake_calls.requests == []


@pytest.mark.parametrize("volume_id", [NOWHERE, "not-a-uuid"])
def test_a_volume_no_pod_shows_is_novas_400(compute_admin, fake_calls, volume_id):
    refused = compute_admin.post(PATH, json=create_body(volume_id=volume_id))
    assert_fault(refused, 400, "badRequest", f"No volume Block Device Mapping with id {volume_id}")
    assert fake_calls.changes() == []


@pytest.mark.parametrize(
    "query",
    ["", "?delete_info=not-json", f"?delete_info={quote(json.dumps({'id': 1}))}"],
)
def test_a_delete_without_a_usable_delete_info_is_400(compute_admin, fake_calls, query):
    assert_fault(compute_admin.delete(f"{PATH}/{SNAPSHOT}{query}"), 400, "badRequest")
    assert fake_calls.changes() == []

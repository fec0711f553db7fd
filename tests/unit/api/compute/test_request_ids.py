"""A call forwarded to one pod is answered under the pod's request ID (the ID Nova records
instance actions under); the pod gets the gateway's as its global request ID; both are logged."""

from __future__ import annotations

import logging
import uuid

import pytest

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "55555555-6666-7777-8888-999999999999"
POD_REQUEST_ID = "req-11111111-2222-3333-4444-555555555555"
CALLER_GLOBAL_ID = "req-99999999-8888-7777-6666-555555555555"


class RecordingNova:
    """Pod1's Nova as the caller: answers under POD_REQUEST_ID, records the global IDs sent."""

    def __init__(self) -> None:
        self.global_ids: list[str | None] = []
        self.refuse = False

    def call(self, who, region_name, method, path, *, service_type=None, **_kw):
        self.global_ids.append(who.global_request_id)
        if self.refuse:
            raise PodClientError(region_name, "compute", 409, "locked")
        headers = {"X-OpenStack-Request-ID": POD_REQUEST_ID}
        if service_type == "image":
            return PodAnswer(200, {"id": path.rsplit("/", 1)[-1]}, headers)
        if path == "/servers" and method == "POST":
            return PodAnswer(202, {"server": {"id": SERVER, "links": []}}, headers)
        return PodAnswer(202, None, headers)


@pytest.fixture
def nova(compute_app, route_servers) -> RecordingNova:
    route_servers({"Pod1": [{"id": SERVER}]})
    fake = RecordingNova()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_an_action_is_answered_under_the_pods_request_id(compute_member, nova, caplog):
    with caplog.at_level(logging.INFO, logger="tricircle.api.compute.access"):
        answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json={"reboot": None})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.headers["x-compute-request-id"] == POD_REQUEST_ID
    assert answer.headers["x-openstack-request-id"] == POD_REQUEST_ID
    (gateway_id,) = nova.global_ids
    assert gateway_id.startswith("req-") and gateway_id != POD_REQUEST_ID
    (line,) = [record.getMessage() for record in caplog.records if "status=" in record.getMessage()]
    assert f"request_id={gateway_id}" in line
    assert f"pod=Pod1 pod_request_id={POD_REQUEST_ID}" in line


def test_the_callers_global_request_id_reaches_the_pod(compute_member, nova):
    compute_member.post(
        f"/v2.1/servers/{SERVER}/action",
        json={"reboot": None},
        headers={"X-OpenStack-Request-ID": CALLER_GLOBAL_ID},
    )
    assert nova.global_ids == [CALLER_GLOBAL_ID]


def test_a_refused_call_keeps_the_gateways_request_id(compute_member, nova):
    nova.refuse = True
    answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json={"reboot": None})
    assert answer.status_code == 409
    assert answer.headers["x-compute-request-id"] == nova.global_ids[0]


def test_a_call_answered_by_the_gateway_keeps_its_own_id(compute_member, nova):
    answer = compute_member.get("/v2.1/os-availability-zone")
    assert answer.headers["x-compute-request-id"] == answer.headers["x-openstack-request-id"]
    assert answer.headers["x-compute-request-id"] != POD_REQUEST_ID


def test_a_boot_is_answered_under_the_request_id_of_the_pods_create(
    compute_app, compute_admin, compute_member, monkeypatch
):
    flavor = {"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "1"}}
    assert compute_admin.post("/v2.1/flavors", json=flavor).status_code == 200
    fake = RecordingNova()
    compute_app.extensions[EXTENSION].calls = fake
    monkeypatch.setattr(
        "tricircle.api.compute.servers.bottom.ensure_bottom_flavor", lambda *args: None
    )
    server = {"name": "vm", "flavorRef": "1", "imageRef": str(uuid.uuid4())}
    answer = compute_member.post("/v2.1/servers", json={"server": server})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.headers["x-compute-request-id"] == POD_REQUEST_ID

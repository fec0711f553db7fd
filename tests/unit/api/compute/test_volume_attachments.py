"""Volume attachments and boot from volume at the Nova gateway: body checks and the one-pod rule."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from admin_api_helpers import assert_fault
from sqlalchemy import select

from tricircle.api.compute import servers, volume_pods
from tricircle.api.compute.server_requests import parse_server_create
from tricircle.api.compute.state import EXTENSION
from tricircle.api.compute.volume_attachments import parse_attach, parse_update
from tricircle.api.errors import BadRequest
from tricircle.api.microversions import Microversion
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import Pod, ResourceRouting
from tricircle.pods.client import PodClientError

V2_1 = Microversion(2, 1)
V2_49 = Microversion(2, 49)
V2_79 = Microversion(2, 79)
SERVER = "11111111-1111-1111-1111-111111111111"
VOLUME_POD1 = "aaaaaaaa-0000-0000-0000-000000000001"
VOLUME_POD2 = "bbbbbbbb-0000-0000-0000-000000000002"
UNROUTED_POD2 = "cccccccc-0000-0000-0000-000000000003"
HIDDEN_POD1 = "dddddddd-0000-0000-0000-000000000004"
NOWHERE = "eeeeeeee-0000-0000-0000-000000000005"
V2_37 = {"OpenStack-API-Version": "compute 2.37"}


def attach_body(**attachment: object) -> bytes:
    return json.dumps({"volumeAttachment": {"volumeId": VOLUME_POD1, **attachment}}).encode()


def test_a_valid_attach_body_is_read_with_a_canonical_volume_id():
    parsed = parse_attach(attach_body(volumeId=VOLUME_POD1.replace("-", "").upper()), V2_1)
    assert parsed == {"volumeAttachment": {"volumeId": VOLUME_POD1}}
    tagged = parse_attach(attach_body(device="/dev/vdb", tag="data"), V2_49)
    assert tagged["volumeAttachment"]["tag"] == "data"
    assert parse_attach(attach_body(tag=""), V2_49)["volumeAttachment"]["tag"] == ""
    kept = parse_attach(attach_body(delete_on_termination=True, device=None), V2_79)
    assert kept["volumeAttachment"]["delete_on_termination"] is True


@pytest.mark.parametrize(
    ("raw", "version", "fragment"),
    [
        (b"{not json", V2_1, "Malformed request body"),
        (b"[]", V2_1, "must be a JSON object"),
        (json.dumps({"volumeAttachment": []}).encode(), V2_79, "'volumeAttachment'"),
        (json.dumps({"volumeAttachment": {}}).encode(), V2_79, "'volumeId'"),
        (attach_body(volumeId="not-a-uuid"), V2_1, "'volumeId'"),
        (attach_body(volumeId=5), V2_1, "'volumeId'"),
        (attach_body(device="vdb"), V2_1, "'device'"),
        (attach_body(tag="data"), V2_1, "tag"),
        (attach_body(tag="a/b"), V2_49, "'tag'"),
        (attach_body(tag="x" * 61), V2_49, "'tag'"),
        (attach_body(delete_on_termination=True), V2_49, "delete_on_termination"),
        (attach_body(delete_on_termination="yes"), V2_79, "'delete_on_termination'"),
        (attach_body(bogus=1), V2_79, "bogus"),
    ],
)
def test_bad_attach_bodies_are_refused_naming_the_field(raw, version, fragment):
    with pytest.raises(BadRequest) as raised:
        parse_attach(raw, version)
    assert raised.value.code == 400
    assert fragment in raised.value.message


def test_an_update_needs_a_volume_id():
    assert parse_update(attach_body(delete_on_termination=False))["volumeAttachment"] == {
        "volumeId": VOLUME_POD1,
        "delete_on_termination": False,
    }
    with pytest.raises(BadRequest):
        parse_update(json.dumps({"volumeAttachment": {"device": "/dev/vdb"}}).encode())


def _pod(region: str, az: str) -> Pod:
    return Pod(pod_id=f"id-{region}", region_name=region, az_name=az)


def test_same_pod_passes_and_other_pods_are_refused_naming_the_zones():
    pod1, pod2, pod3 = _pod("Pod1", "az1"), _pod("Pod2", "az2"), _pod("Pod3", "az1")
    volume_pods.check_same_pod(SERVER, pod1, VOLUME_POD1, pod1)
    with pytest.raises(volume_pods.OtherPod) as other_zone:
        volume_pods.check_same_pod(SERVER, pod1, VOLUME_POD2, pod2)
    assert other_zone.value.code == 400
    assert f"Volume {VOLUME_POD2} is in availability zone az2" in other_zone.value.message
    assert f"server {SERVER} in az1" in other_zone.value.message
    with pytest.raises(volume_pods.OtherPod) as same_zone:
        volume_pods.check_same_pod(SERVER, pod1, VOLUME_POD1, pod3)
    assert "different pods of availability zone az1" in same_zone.value.message
    volume_pods.check_asked_zone(None, pod1)
    volume_pods.check_asked_zone("az1", pod1)
    with pytest.raises(volume_pods.OtherPod, match="not in the requested az2"):
        volume_pods.check_asked_zone("az2", pod1)


def server_body(**server: object) -> bytes:
    return json.dumps({"server": {"name": "vm", "flavorRef": "1", **server}}).encode()


def test_block_devices_name_the_volumes_and_snapshots_to_route():
    parsed = parse_server_create(
        server_body(
            imageRef="",
            block_device_mapping_v2=[
                {"source_type": "volume", "uuid": "v1", "boot_index": 0},
                {"source_type": "snapshot", "uuid": "s1", "destination_type": "volume"},
                {"source_type": "blank", "destination_type": "local", "boot_index": -1},
                {"source_type": "volume", "uuid": "v1"},
            ],
        ),
        V2_1,
    )
    assert parsed.image_ref is None
    assert parsed.volume_sources == (("volume", "v1"), ("snapshot", "s1"))
    legacy = parse_server_create(
        server_body(block_device_mapping=[{"volume_id": "v2", "device_name": "vda"}]), V2_1
    )
    assert legacy.volume_sources == (("volume", "v2"),) and legacy.image_ref is None
    plain = parse_server_create(server_body(imageRef="img"), V2_1)
    assert plain.volume_sources == ()


@pytest.mark.parametrize(
    ("server", "fragment"),
    [
        ({"block_device_mapping_v2": {"uuid": "v"}}, "must be a list"),
        ({"block_device_mapping_v2": ["v"]}, "entries must be objects"),
        ({"block_device_mapping_v2": [{"source_type": "volume", "boot_index": 0}]}, "uuid"),
        ({"block_device_mapping": [{"volume_id": 7}]}, "volume_id"),
        ({"imageRef": "", "block_device_mapping_v2": []}, "'imageRef'"),
    ],
)
def test_bad_block_devices_are_refused(server, fragment):
    with pytest.raises(BadRequest) as raised:
        parse_server_create(server_body(**server), V2_1)
    assert fragment in raised.value.message


class FakeCalls:
    """Pods' Nova and Cinder in memory: which volumes each Cinder shows, answers of Nova."""

    def __init__(self, volumes: dict[str, set[str]]) -> None:
        self.volumes = volumes
        self.requests: list[tuple[str, str, str, str, object]] = []
        self.lock = threading.Lock()

    def call(self, who, region_name, method, path, *, service_type="compute", json=None, **_kw):
        with self.lock:
            self.requests.append((region_name, service_type, method, path, json))
        if service_type == "volumev3":
            volume_id = path.rsplit("/", 1)[-1]
            if volume_id not in self.volumes.get(region_name, set()):
                raise PodClientError(
                    region_name, service_type, 404, f"Volume {volume_id} not found", "itemNotFound"
                )
            record = {"id": volume_id, "os-vol-tenant-attr:tenant_id": "demo-project"}
            return PodAnswer(200, {"volume": record}, {})
        if method == "POST" and path == "/servers":
            return PodAnswer(202, {"server": {"id": "booted-" + region_name, "links": []}}, {})
        if method == "DELETE":
            return PodAnswer(202, None, {})
        volume_id = (json or {}).get("volumeAttachment", {}).get("volumeId", VOLUME_POD1)
        attachment = {"id": volume_id, "volumeId": volume_id, "serverId": SERVER}
        if method == "GET" and path.endswith("os-volume_attachments"):
            return PodAnswer(200, {"volumeAttachments": [attachment]}, {})
        return PodAnswer(200, {"volumeAttachment": attachment}, {})

    def changes(self) -> list[tuple[str, str, str]]:
        """Every request that is not a read."""
        return [(r, m, p) for r, _s, m, p, _j in self.requests if m != "GET"]


def _route(session, top_id: str, pod: Pod, resource_type: str) -> None:
    session.add(
        ResourceRouting(
            top_id=top_id,
            bottom_id=top_id,
            pod_id=pod.pod_id,
            project_id="demo-project",
            resource_type=resource_type,
        )
    )


@pytest.fixture
def fake_calls(compute_app, session_factory, pods) -> FakeCalls:
    with session_factory.begin() as session:
        _route(session, SERVER, pods["Pod1"], "server")
        _route(session, VOLUME_POD1, pods["Pod1"], "volume")
        _route(session, HIDDEN_POD1, pods["Pod1"], "volume")
        _route(session, VOLUME_POD2, pods["Pod2"], "volume")
    fake = FakeCalls({"Pod1": {VOLUME_POD1}, "Pod2": {VOLUME_POD2, UNROUTED_POD2}})
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def _attach(client, volume_id: str):
    return client.post(
        f"/v2.1/servers/{SERVER}/os-volume_attachments",
        json={"volumeAttachment": {"volumeId": volume_id}},
    )


def test_a_volume_of_the_servers_pod_is_attached_there(compute_member, fake_calls):
    attached = _attach(compute_member, VOLUME_POD1)
    assert attached.status_code == 200, attached.get_json()
    assert attached.get_json()["volumeAttachment"]["volumeId"] == VOLUME_POD1
    assert fake_calls.changes() == [("Pod1", "POST", f"/servers/{SERVER}/os-volume_attachments")]
    assert fake_calls.requests[-1][4] == {"volumeAttachment": {"volumeId": VOLUME_POD1}}


def test_a_volume_of_another_pod_is_refused_and_nothing_changes(compute_member, fake_calls):
    assert_fault(_attach(compute_member, VOLUME_POD2), 400, "badRequest", VOLUME_POD2, "az2", "az1")
    assert fake_calls.changes() == []


def test_an_unrouted_volume_is_looked_for_in_every_pod(compute_member, fake_calls, session_factory):
    assert_fault(_attach(compute_member, UNROUTED_POD2), 400, "badRequest", "az2")
    with session_factory() as session:
        routed = session.scalars(
            select(ResourceRouting).where(ResourceRouting.top_id == UNROUTED_POD2)
        ).all()
    assert [(row.resource_type, row.bottom_id) for row in routed] == [("volume", UNROUTED_POD2)]
    assert fake_calls.changes() == []


@pytest.mark.parametrize("volume_id", [NOWHERE, HIDDEN_POD1])
def test_unknown_or_unseen_volumes_are_nova_404(compute_member, fake_calls, volume_id):
    assert_fault(
        _attach(compute_member, volume_id),
        404,
        "itemNotFound",
        f"Volume {volume_id} could not be found.",
    )
    assert fake_calls.changes() == []


def test_list_show_detach_and_swap_go_to_the_servers_pod(compute_member, fake_calls):
    base = f"/v2.1/servers/{SERVER}/os-volume_attachments"
    listed = compute_member.get(f"{base}?limit=1").get_json()["volumeAttachments"]
    assert [item["volumeId"] for item in listed] == [VOLUME_POD1]
    assert compute_member.get(f"{base}/{VOLUME_POD1}").status_code == 200
    swap = {"volumeAttachment": {"volumeId": VOLUME_POD2}}
    assert_fault(compute_member.put(f"{base}/{VOLUME_POD1}", json=swap), 400, "badRequest", "az2")
    assert compute_member.delete(f"{base}/{VOLUME_POD1}").status_code == 202
    assert fake_calls.changes() == [
        ("Pod1", "DELETE", f"/servers/{SERVER}/os-volume_attachments/{VOLUME_POD1}")
    ]
    assert {request[0] for request in fake_calls.requests if request[1] == "compute"} == {"Pod1"}


def test_attachments_of_an_unknown_server_are_404(compute_member, fake_calls):
    base = f"/v2.1/servers/{uuid.uuid4()}/os-volume_attachments"
    assert_fault(compute_member.get(base), 404, "itemNotFound")
    attach = {"volumeAttachment": {"volumeId": VOLUME_POD1}}
    assert_fault(compute_member.post(base, json=attach), 404, "itemNotFound")
    assert fake_calls.changes() == []


@pytest.fixture
def bootable(compute_admin, fake_calls, monkeypatch) -> FakeCalls:
    """A flavor at the gateway; bottom flavors taken as made."""
    created = compute_admin.post(
        "/v2.1/flavors", json={"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "1"}}
    )
    assert created.status_code == 200
    monkeypatch.setattr(servers.bottom, "ensure_bottom_flavor", lambda *args: None)
    return fake_calls


def _boot(client, *volume_ids: str, **server: object):
    mappings = [
        {"source_type": "volume", "destination_type": "volume", "uuid": vid, "boot_index": i}
        for i, vid in enumerate(volume_ids)
    ]
    body = {"name": "bfv", "flavorRef": "1", "networks": "none", **server}
    body["block_device_mapping_v2"] = mappings
    return client.post("/v2.1/servers", json={"server": body}, headers=V2_37)


def test_boot_from_volume_lands_in_the_volumes_pod(compute_member, bootable):
    booted = _boot(compute_member, VOLUME_POD2)
    assert booted.status_code == 202, booted.get_json()
    assert booted.get_json()["server"]["id"] == "booted-Pod2"
    assert bootable.changes() == [("Pod2", "POST", "/servers")]
    sent = bootable.requests[-1][4]["server"]
    assert sent["availability_zone"] == "pod2-az"
    assert sent["block_device_mapping_v2"][0]["uuid"] == VOLUME_POD2


@pytest.mark.parametrize(
    ("volume_ids", "server", "code", "fragment"),
    [
        ((VOLUME_POD2,), {"availability_zone": "az1"}, 400, "not in the requested az1"),
        ((VOLUME_POD1, VOLUME_POD2), {}, 400, "different pods"),
        ((NOWHERE,), {}, 404, f"Volume {NOWHERE} could not be found."),
    ],
)
def test_boot_from_volume_refusals_change_nothing(
    compute_member, bootable, volume_ids, server, code, fragment
):
    refused = _boot(compute_member, *volume_ids, **server)
    assert_fault(refused, code, "badRequest" if code == 400 else "itemNotFound", fragment)
    assert bootable.changes() == []

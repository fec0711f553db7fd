"""Volumes on servers through RegionOne only (Nova and Cinder gateways), read back from the pods."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import openstack
import pytest
from compute_gateway_helpers import (
    FLAVOR_ID,
    boot,
    connect,
    delete_all,
    fault,
    gateway,
    pod_servers,
)

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, LabLayout, PodLayout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_cloud(compute_lab: LabLayout) -> openstack.connection.Connection:
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="module")
def two_pods(compute_lab: LabLayout) -> tuple[PodLayout, PodLayout]:
    if compute_lab.pods < 2:
        pytest.skip("cross-pod checks need two pods")
    return compute_lab.pod_layouts[0], compute_lab.pod_layouts[1]


@pytest.fixture(scope="module")
def server_az1(demo_cloud, two_pods) -> Iterator[Any]:
    """An ACTIVE server booted through the gateway in the first pod's AZ."""
    server = boot(demo_cloud, f"vol-host-{uuid.uuid4().hex[:6]}", two_pods[0].az)
    try:
        yield server
    finally:
        delete_all(demo_cloud, [server])


@pytest.fixture
def make_volume(demo_cloud) -> Iterator[Callable[[PodLayout], Any]]:
    """``make_volume(pod)``: an available 1 GiB volume made through RegionOne in the pod's AZ."""
    made: list[Any] = []

    def make(pod: PodLayout) -> Any:
        volume = demo_cloud.block_storage.create_volume(
            size=1, name=f"vol-{uuid.uuid4().hex[:6]}", availability_zone=pod.az
        )
        made.append(volume)
        return demo_cloud.block_storage.wait_for_status(
            volume, "available", failures=["error"], wait=60
        )

    yield make
    for volume in made:
        demo_cloud.block_storage.wait_for_status(volume, "available", failures=["error"], wait=120)
        demo_cloud.block_storage.delete_volume(volume, ignore_missing=True)
    for volume in made:
        demo_cloud.block_storage.wait_for_delete(volume, wait=60)


def _in_pod(pod_api, pod: PodLayout, volume_id: str) -> dict:
    """The volume as the pod's own Cinder holds it."""
    return pod_api(pod.region, "volumev3").get(f"/volumes/{volume_id}").json()["volume"]


def _status_is(pod_api, pod: PodLayout, volume_id: str, wanted: str) -> Callable[[], bool]:
    def check() -> bool:
        status = _in_pod(pod_api, pod, volume_id)["status"]
        assert status not in ("error", "error_attaching", "error_detaching"), status
        return status == wanted

    return check


def test_volume_attaches_to_a_server_of_its_pod_and_detaches(
    demo_cloud, two_pods, server_az1, make_volume, pod_api, wait_until
):
    pod1 = two_pods[0]
    volume = make_volume(pod1)
    attachment = demo_cloud.compute.create_volume_attachment(server_az1, volume)
    assert attachment.volume_id == volume.id
    wait_until(
        _status_is(pod_api, pod1, volume.id, "in-use"), 60, f"{volume.id} in-use in {pod1.region}"
    )
    in_pod = _in_pod(pod_api, pod1, volume.id)
    assert [a["server_id"] for a in in_pod["attachments"]] == [server_az1.id]
    listed = list(demo_cloud.compute.volume_attachments(server_az1))
    assert [item.volume_id for item in listed] == [volume.id]
    shown = demo_cloud.compute.get_volume_attachment(server_az1, volume.id)
    assert shown.device == in_pod["attachments"][0]["device"]
    demo_cloud.compute.delete_volume_attachment(server_az1, volume)
    wait_until(
        _status_is(pod_api, pod1, volume.id, "available"),
        60,
        f"{volume.id} detached in {pod1.region}",
    )
    assert _in_pod(pod_api, pod1, volume.id)["attachments"] == []
    assert list(demo_cloud.compute.volume_attachments(server_az1)) == []


def test_a_volume_of_another_pod_is_refused_and_both_pods_are_unchanged(
    demo_cloud, demo_session, two_pods, server_az1, make_volume, pod_api
):
    pod1, pod2 = two_pods
    volume = make_volume(pod2)
    api = gateway(demo_session)
    refused = api.post(
        f"/servers/{server_az1.id}/os-volume_attachments",
        json={"volumeAttachment": {"volumeId": volume.id}},
        raise_exc=False,
    )
    message = fault(refused, 400, "badRequest")
    assert volume.id in message and pod2.az in message and pod1.az in message
    with pytest.raises(openstack.exceptions.BadRequestException):
        demo_cloud.compute.create_volume_attachment(server_az1, volume)
    in_pod2 = _in_pod(pod_api, pod2, volume.id)
    assert (in_pod2["status"], in_pod2["attachments"]) == ("available", [])
    pod1_attachments = pod_api(pod1.region, "compute").get(
        f"/servers/{server_az1.id}/os-volume_attachments"
    )
    assert pod1_attachments.json()["volumeAttachments"] == []


def test_boot_from_volume_lands_in_the_volumes_pod(
    demo_cloud, demo_session, two_pods, make_volume, pod_api, wait_until
):
    pod1, pod2 = two_pods
    volume = make_volume(pod2)
    demo_cloud.block_storage.set_volume_bootable_status(volume, True)
    mapping = [
        {
            "boot_index": 0,
            "uuid": volume.id,
            "source_type": "volume",
            "destination_type": "volume",
            "delete_on_termination": False,
        }
    ]
    name = f"bfv-{uuid.uuid4().hex[:6]}"
    api = gateway(demo_session)
    wrong_zone = api.post(
        "/servers",
        json={
            "server": {
                "name": name,
                "flavorRef": FLAVOR_ID,
                "networks": "none",
                "availability_zone": pod1.az,
                "block_device_mapping_v2": mapping,
            }
        },
        headers={"OpenStack-API-Version": "compute 2.37"},
        raise_exc=False,
    )
    assert pod2.az in fault(wrong_zone, 400, "badRequest")
    assert pod_servers(pod_api, pod1.region, name=name) == []
    server = demo_cloud.compute.create_server(
        name=name, flavor_id=FLAVOR_ID, networks="none", block_device_mapping=mapping
    )
    try:
        server = demo_cloud.compute.wait_for_server(server, wait=180)
        assert server.availability_zone == pod2.az
        assert [s["id"] for s in pod_servers(pod_api, pod2.region, name=name)] == [server.id]
        assert pod_servers(pod_api, pod1.region, name=name) == []
        wait_until(
            _status_is(pod_api, pod2, volume.id, "in-use"),
            60,
            f"{volume.id} in-use in {pod2.region}",
        )
        attached = _in_pod(pod_api, pod2, volume.id)["attachments"]
        assert [a["server_id"] for a in attached] == [server.id]
    finally:
        delete_all(demo_cloud, [server])
        wait_until(
            lambda: _in_pod(pod_api, pod2, volume.id)["attachments"] == [],
            120,
            f"{volume.id} detached from the deleted server in {pod2.region}",
        )

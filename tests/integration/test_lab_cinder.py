"""Each pod's real Cinder, straight through the pod's own APIs: volumes, and attach to Nova."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from keystoneauth1 import exceptions as ks_exceptions

from tricircle.lab.layout import FLAVOR, IMAGE, TOP_REGION, LabLayout, PodLayout

pytestmark = pytest.mark.integration


def _pod(lab: LabLayout, index: int) -> PodLayout:
    if index > lab.pods:
        pytest.skip(f"the lab runs {lab.pods} pod(s); Pod{index} is not there")
    return lab.pod_layouts[index - 1]


def _volume_status(volume_api, volume_id: str, region: str) -> str:
    volume = volume_api.get(f"/volumes/{volume_id}").json()["volume"]
    assert volume["status"] != "error", f"{region}: volume {volume_id} went to error"
    return volume["status"]


@pytest.fixture
def pod_server(compute_lab: LabLayout, pod_api, wait_until, request) -> Iterator[tuple]:
    """(pod, server id): an ACTIVE server on a fresh network in Pod<request.param>."""
    pod = _pod(compute_lab, request.param)
    network_api = pod_api(pod.region, "network")
    compute_api = pod_api(pod.region, "compute")
    network = network_api.post(
        "/v2.0/networks", json={"network": {"name": f"cinder-{uuid.uuid4().hex[:8]}"}}
    ).json()["network"]
    network_api.post(
        "/v2.0/subnets",
        json={"subnet": {"network_id": network["id"], "ip_version": 4, "cidr": "10.9.0.0/24"}},
    )
    image_api = pod_api(TOP_REGION, "image")
    image_id = image_api.get("/v2/images", params={"name": IMAGE}).json()["images"][0]["id"]
    flavor_id = next(
        f["id"] for f in compute_api.get("/flavors").json()["flavors"] if f["name"] == FLAVOR
    )
    server = compute_api.post(
        "/servers",
        json={
            "server": {
                "name": "cinder-attach",
                "imageRef": image_id,
                "flavorRef": flavor_id,
                "networks": [{"uuid": network["id"]}],
                "availability_zone": pod.az,
            }
        },
    ).json()["server"]

    def active() -> bool:
        status = compute_api.get(f"/servers/{server['id']}").json()["server"]["status"]
        assert status != "ERROR", f"{pod.region}: server {server['id']} ERROR"
        return status == "ACTIVE"

    try:
        wait_until(active, 120, f"server {server['id']} ACTIVE in {pod.region}")
        yield pod, server["id"]
    finally:
        compute_api.delete(f"/servers/{server['id']}")

        def gone() -> bool:
            try:
                compute_api.get(f"/servers/{server['id']}")
            except ks_exceptions.NotFound:
                return True
            return False

        wait_until(gone, 60, f"server {server['id']} deleted in {pod.region}")
        network_api.delete(f"/v2.0/networks/{network['id']}")


@pytest.mark.parametrize("pod_server", [1, 2], indirect=True, ids=["Pod1", "Pod2"])
def test_volume_attaches_to_a_server_of_its_pod(pod_server, pod_api, wait_until):
    pod, server_id = pod_server
    volume_api = pod_api(pod.region, "volumev3")
    compute_api = pod_api(pod.region, "compute")
    volume = volume_api.post(
        "/volumes", json={"volume": {"size": 1, "name": f"attach-{uuid.uuid4().hex[:8]}"}}
    ).json()["volume"]
    volume_id = volume["id"]
    try:
        assert volume["availability_zone"] == pod.az
        wait_until(
            lambda: _volume_status(volume_api, volume_id, pod.region) == "available",
            60,
            f"volume {volume_id} available in {pod.region}",
        )
        compute_api.post(
            f"/servers/{server_id}/os-volume_attachments",
            json={"volumeAttachment": {"volumeId": volume_id}},
        )
        wait_until(
            lambda: _volume_status(volume_api, volume_id, pod.region) == "in-use",
            60,
            f"volume {volume_id} in-use on server {server_id} in {pod.region}",
        )
        attachments = volume_api.get(f"/volumes/{volume_id}").json()["volume"]["attachments"]
        assert [a["server_id"] for a in attachments] == [server_id]
        compute_api.delete(f"/servers/{server_id}/os-volume_attachments/{volume_id}")
        wait_until(
            lambda: _volume_status(volume_api, volume_id, pod.region) == "available",
            60,
            f"volume {volume_id} detached from server {server_id} in {pod.region}",
        )
    finally:
        volume_api.delete(f"/volumes/{volume_id}")

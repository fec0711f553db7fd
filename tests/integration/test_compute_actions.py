"""Server actions, keypairs, flavors and limits through the Nova gateway (openstacksdk)."""

from __future__ import annotations

import time
import uuid

import pytest
from compute_gateway_helpers import (
    FLAVOR_ID,
    boot,
    connect,
    delete_all,
    fault,
    gateway,
    routed_servers,
)
from keystoneauth1 import adapter

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, IMAGE

pytestmark = pytest.mark.integration

PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhZ6J1V9Lrb+fGlBvT4fQpnBLBu8Gp3yZgq1vLuJ8GR gw@lab"
)


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="module")
def admin_cloud(compute_lab):
    return connect(compute_lab, "admin", "admin")


@pytest.fixture(scope="module")
def bigger_flavor(admin_cloud):
    """A flavor defined only at the gateway (no pod has it yet)."""
    flavor = admin_cloud.compute.create_flavor(
        name=f"gw-resize-{uuid.uuid4().hex[:6]}", ram=1024, vcpus=1, disk=1
    )
    yield flavor
    admin_cloud.compute.delete_flavor(flavor, ignore_missing=True)


@pytest.fixture(scope="module")
def server(demo_cloud):
    booted = boot(demo_cloud, "gw-actions", "az1")
    yield booted
    delete_all(demo_cloud, [booted])


def _wait(cloud, server, status: str):
    """The server once it shows ``status`` with no task running (read through the gateway)."""
    cloud.compute.wait_for_server(server, status=status, wait=180)
    deadline = time.monotonic() + 120
    while True:
        current = cloud.compute.get_server(server)
        if current.status == status and current.task_state is None:
            return current
        assert time.monotonic() < deadline, f"{server.id} stuck in {current.task_state}"
        time.sleep(0.5)


def test_every_action_is_forwarded_to_the_pod(
    compute_lab, demo_cloud, server, bigger_flavor, pod_api, demo_session, admin_session, wait_until
):
    compute = demo_cloud.compute

    def in_pod() -> dict:
        return (
            pod_api("Pod1", "compute")
            .get(f"/servers/{server.id}", headers={"OpenStack-API-Version": "compute 2.73"})
            .json()["server"]
        )

    compute.stop_server(server)
    _wait(demo_cloud, server, "SHUTOFF")
    assert in_pod()["status"] == "SHUTOFF"
    compute.start_server(server)
    _wait(demo_cloud, server, "ACTIVE")
    compute.reboot_server(server, "HARD")
    _wait(demo_cloud, server, "ACTIVE")
    for stop, start, held in (
        (compute.pause_server, compute.unpause_server, "PAUSED"),
        (compute.suspend_server, compute.resume_server, "SUSPENDED"),
    ):
        stop(server)
        _wait(demo_cloud, server, held)
        assert in_pod()["status"] == held
        start(server)
        _wait(demo_cloud, server, "ACTIVE")
    compute.lock_server(server, locked_reason="testing")
    assert in_pod()["locked"] is True and in_pod()["locked_reason"] == "testing"
    compute.unlock_server(server)
    assert in_pod()["locked"] is False

    compute.shelve_server(server)
    shelved = _wait(demo_cloud, server, "SHELVED_OFFLOADED")
    assert shelved.status == "SHELVED_OFFLOADED"
    compute.unshelve_server(server)
    _wait(demo_cloud, server, "ACTIVE")

    compute.resize_server(server, bigger_flavor.id)
    _wait(demo_cloud, server, "VERIFY_RESIZE")
    compute.confirm_server_resize(server)
    resized = _wait(demo_cloud, server, "ACTIVE")
    assert resized.flavor.name == bigger_flavor.name
    compute.resize_server(server, "1")
    _wait(demo_cloud, server, "VERIFY_RESIZE")
    compute.revert_server_resize(server)
    reverted = _wait(demo_cloud, server, "ACTIVE")
    assert reverted.flavor.name == bigger_flavor.name

    image = demo_cloud.image.find_image(IMAGE, ignore_missing=False)
    compute.rebuild_server(server, image=image.id, name="gw-actions-rebuilt")
    rebuilt = _wait(demo_cloud, server, "ACTIVE")
    assert rebuilt.name == "gw-actions-rebuilt" and in_pod()["name"] == "gw-actions-rebuilt"

    # The fake virt driver uploads no data: the snapshot exists in Glance but never turns active.
    snapshot = compute.create_server_image(server, name="gw-snapshot")
    try:
        assert demo_cloud.image.get_image(snapshot.id).name == "gw-snapshot"
        _wait(demo_cloud, server, "ACTIVE")
    finally:
        demo_cloud.image.delete_image(snapshot.id, ignore_missing=True)
    output = compute.get_server_console_output(server)
    assert isinstance(output["output"], str)

    api = gateway(demo_session)
    unknown = api.post(f"/servers/{server.id}/action", json={"fly": {}}, raise_exc=False)
    assert unknown.status_code == 400
    attachments = api.get(f"/servers/{server.id}/os-volume_attachments")
    assert attachments.json() == {"volumeAttachments": []}
    attach = api.post(
        f"/servers/{server.id}/os-volume_attachments",
        json={"volumeAttachment": {"volumeId": str(uuid.uuid4())}},
        raise_exc=False,
    )
    assert "could not be found" in fault(attach, 404, "itemNotFound")

    forced = api.post(f"/servers/{server.id}/action", json={"forceDelete": None})
    assert forced.status_code == 202
    wait_until(
        lambda: api.get(f"/servers/{server.id}", raise_exc=False).status_code == 404,
        60,
        f"GET 404 for force-deleted server {server.id}",
    )
    assert "could not be found" in fault(
        api.get(f"/servers/{server.id}", raise_exc=False), 404, "itemNotFound"
    )
    assert server.id not in routed_servers(admin_session, compute_lab)
    assert (
        pod_api("Pod1", "compute").get(f"/servers/{server.id}", raise_exc=False).status_code == 404
    )


def test_keypair_and_flavor_are_made_in_the_pod_on_first_use(
    demo_cloud, demo_session, bigger_flavor, pod_api
):
    name = f"gw-key-{uuid.uuid4().hex[:6]}"
    keypair = demo_cloud.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
    pod2 = adapter.Adapter(demo_session, service_type="compute", region_name="Pod2")
    try:
        server = demo_cloud.compute.create_server(
            name="gw-keyed",
            image_id=demo_cloud.image.find_image(IMAGE, ignore_missing=False).id,
            flavor_id=bigger_flavor.id,
            networks="none",
            availability_zone="az2",
            key_name=name,
        )
        server = demo_cloud.compute.wait_for_server(server, wait=180)
        try:
            bottom_flavor = pod_api("Pod2", "compute").get(f"/flavors/{bigger_flavor.id}").json()
            assert bottom_flavor["flavor"]["ram"] == 1024
            pod_keys = pod2.get(f"/os-keypairs/{name}").json()["keypair"]
            assert pod_keys["fingerprint"] == keypair.fingerprint
            assert demo_cloud.compute.get_server(server).key_name == name
        finally:
            delete_all(demo_cloud, [server])
    finally:
        demo_cloud.compute.delete_keypair(keypair, ignore_missing=True)


def test_limits_show_the_top_quota_and_the_usage_summed_over_the_pods(
    demo_cloud, demo_session, pod_api
):
    project_id = demo_session.get_project_id()
    absolute = gateway(demo_session).get("/limits").json()["limits"]["absolute"]
    pods = [
        adapter.Adapter(demo_session, service_type="compute", region_name=region)
        .get("/limits")
        .json()["limits"]["absolute"]
        for region in ("Pod1", "Pod2")
    ]
    assert absolute["totalInstancesUsed"] == sum(pod["totalInstancesUsed"] for pod in pods)
    assert absolute["totalCoresUsed"] == sum(pod["totalCoresUsed"] for pod in pods)
    quotas = demo_cloud.compute.get_quota_set(project_id)
    assert absolute["maxTotalInstances"] == quotas.instances
    assert absolute["maxTotalCores"] == quotas.cores


def test_a_snapshot_becomes_active_and_boots_in_the_other_pod(demo_cloud):
    server = boot(demo_cloud, "gw-snapshot-source", "az1")
    image_id = demo_cloud.compute.create_server_image(
        server, name=f"gw-snap-{uuid.uuid4().hex[:6]}", wait=False
    ).id
    try:
        image = demo_cloud.image.wait_for_status(
            demo_cloud.image.get_image(image_id), status="active", wait=120
        )
        assert image.size > 0
        booted = demo_cloud.compute.create_server(
            name="gw-from-snapshot",
            image_id=image_id,
            flavor_id=FLAVOR_ID,
            networks="none",
            availability_zone="az2",
        )
        try:
            booted = demo_cloud.compute.wait_for_server(booted, wait=180)
            assert booted.availability_zone == "az2"
            assert booted.image.id == image_id
        finally:
            delete_all(demo_cloud, [booted])
    finally:
        delete_all(demo_cloud, [server])
        demo_cloud.image.delete_image(image_id, ignore_missing=True)

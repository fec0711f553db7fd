"""The lab is real: Keystone tokens, provider VLANs in a pod, servers ACTIVE in each pod."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest
from keystoneauth1 import exceptions as ks_exceptions

from tricircle.lab import lab as lab_control
from tricircle.lab.layout import FLAVOR, IMAGE, TOP_REGION, VLAN_PHYSNET, LabLayout

pytestmark = pytest.mark.integration


def test_keystone_issues_tokens_with_every_region(
    compute_lab: LabLayout, admin_session, demo_session
):
    lab = compute_lab
    assert admin_session.get_token()
    assert demo_session.get_token()
    access = admin_session.auth.get_access(admin_session)
    regions = {
        (entry["type"], endpoint["region_id"])
        for entry in access.service_catalog.catalog
        for endpoint in entry["endpoints"]
    }
    assert ("identity", TOP_REGION) in regions
    assert ("image", TOP_REGION) in regions
    for pod in lab.pod_layouts:
        for service_type in ("compute", "network", "placement"):
            assert (service_type, pod.region) in regions, (service_type, pod.region)


def test_demo_member_is_not_admin(lab: LabLayout, demo_session):
    roles = demo_session.auth.get_access(demo_session).role_names
    assert "member" in roles
    assert "admin" not in roles


def test_vlan_network_with_segmentation_id_150_in_pod1(pod_api):
    network_api = pod_api("Pod1", "network")
    name = f"lab-test-{uuid.uuid4().hex[:8]}"
    body = {
        "network": {
            "name": name,
            "provider:network_type": "vlan",
            "provider:physical_network": VLAN_PHYSNET,
            "provider:segmentation_id": 150,
        }
    }
    network = network_api.post("/v2.0/networks", json=body).json()["network"]
    try:
        read_back = network_api.get(f"/v2.0/networks/{network['id']}").json()["network"]
        assert read_back["provider:network_type"] == "vlan"
        assert read_back["provider:physical_network"] == VLAN_PHYSNET
        assert read_back["provider:segmentation_id"] == 150
        with pytest.raises(ks_exceptions.Conflict):
            network_api.post("/v2.0/networks", json=body)
    finally:
        network_api.delete(f"/v2.0/networks/{network['id']}")


@pytest.mark.parametrize("region", ["Pod1", "Pod2"])
def test_server_boots_active_with_bound_port(compute_lab: LabLayout, pod_api, wait_until, region):
    lab = compute_lab
    pod = next(p for p in lab.pod_layouts if p.region == region)
    network_api = pod_api(region, "network")
    compute_api = pod_api(region, "compute")
    image_api = pod_api(TOP_REGION, "image")
    network = network_api.post(
        "/v2.0/networks", json={"network": {"name": f"boot-{uuid.uuid4().hex[:8]}"}}
    ).json()["network"]
    try:
        network_api.post(
            "/v2.0/subnets",
            json={
                "subnet": {"network_id": network["id"], "ip_version": 4, "cidr": "192.168.77.0/24"}
            },
        )
        image_id = image_api.get("/v2/images", params={"name": IMAGE}).json()["images"][0]["id"]
        flavors = compute_api.get("/flavors").json()["flavors"]
        server = compute_api.post(
            "/servers",
            json={
                "server": {
                    "name": "lab-test",
                    "imageRef": image_id,
                    "flavorRef": next(f["id"] for f in flavors if f["name"] == FLAVOR),
                    "networks": [{"uuid": network["id"]}],
                    "availability_zone": pod.az,
                }
            },
        ).json()["server"]

        def active() -> dict | None:
            detail = compute_api.get(f"/servers/{server['id']}").json()["server"]
            assert detail["status"] != "ERROR", f"{region}: server {server['id']} ERROR"
            return detail if detail["status"] == "ACTIVE" else None

        detail = wait_until(active, 120, f"server {server['id']} ACTIVE in {region}")
        assert detail["OS-EXT-AZ:availability_zone"] == pod.az
        ports = network_api.get("/v2.0/ports", params={"device_id": server["id"]}).json()["ports"]
        assert len(ports) == 1, f"{region}: ports of {server['id']}: {ports}"
        assert ports[0]["status"] == "ACTIVE"
        assert ports[0]["binding:vif_type"] == "ovs"
        assert ports[0]["device_owner"] == f"compute:{pod.az}"
        compute_api.delete(f"/servers/{server['id']}")

        def gone() -> bool:
            try:
                compute_api.get(f"/servers/{server['id']}")
            except ks_exceptions.NotFound:
                return True
            return False

        wait_until(gone, 60, f"server {server['id']} deleted in {region}")
    finally:
        wait_until(
            lambda: (
                not network_api.get(
                    "/v2.0/ports",
                    params={"network_id": network["id"], "device_owner": "compute:" + pod.az},
                ).json()["ports"]
            ),
            30,
            f"ports of network {network['id']} released in {region}",
        )
        network_api.delete(f"/v2.0/networks/{network['id']}")


def test_second_up_changes_nothing(lab: LabLayout):
    before = lab_control.status(lab)
    command = [sys.executable, "-m", "tricircle.cli", "lab", "--dir", str(lab.root), "up"]
    command += ["--base-port", str(lab.base_port)]
    command += [] if lab.compute else ["--network-only"]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    assert "nothing changed" in result.stdout
    assert [row.pid for row in lab_control.status(lab)] == [row.pid for row in before]


def test_taken_port_is_named(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tricircle.cli",
                "lab",
                "--dir",
                str(tmp_path / "lab"),
                "up",
                "--pods",
                "1",
                "--base-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} (keystone)" in result.stderr
    assert "already in use" in result.stderr

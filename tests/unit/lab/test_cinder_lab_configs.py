"""Each pod's Cinder in the lab: configuration, catalog entries, processes, without starting it."""

from __future__ import annotations

import configparser
import sys

from tricircle.lab import configs, lab
from tricircle.lab.layout import SERVICE_USERS, TOP_REGION, LabLayout


def _cinder_conf(tmp_path, layout: LabLayout, index: int) -> configparser.RawConfigParser:
    pod = layout.pod_layouts[index]
    parser = configparser.RawConfigParser()
    parser.read(configs.write_ini(tmp_path / "cinder.conf", configs.pod_cinder(layout, pod)))
    return parser


def test_pod_cinder_lands_volumes_in_the_pod_az(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    cinder = _cinder_conf(tmp_path, layout, 1)
    pod = layout.pod_layouts[1]
    assert cinder.get("DEFAULT", "storage_availability_zone") == "az2"
    assert cinder.get("DEFAULT", "default_availability_zone") == "az2"
    assert cinder.get("DEFAULT", "enabled_backends") == "fake"
    assert cinder.get("DEFAULT", "transport_url").endswith(f"/{pod.vhost}")
    assert cinder.get("database", "connection").endswith("/tclab22000_pod2_cinder")
    assert cinder.get("nova", "region_name") == "Pod2"
    assert cinder.get("keystone_authtoken", "username") == "cinder"


def test_pod_volumes_are_files_of_the_lab_driver_in_the_pod_state(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    cinder = _cinder_conf(tmp_path, layout, 1)
    assert cinder.get("DEFAULT", "enabled_backends") == "fake"
    assert cinder.get("fake", "volume_driver") == "tricircle.lab.volume_driver.LabVolumeDriver"
    assert cinder.get("fake", "lab_volumes_dir") == str(
        layout.pod_layouts[1].dir / "cinder" / "volumes"
    )


def test_cinder_privsep_daemons_start_without_sudo(tmp_path):
    """Cinder's and os-brick's privsep contexts run the venv's helper (the lab runs as root)."""
    cinder = _cinder_conf(tmp_path, LabLayout(root=tmp_path, pods=1, base_port=22000), 0)
    helper = f"{sys.prefix}/bin/privsep-helper"
    assert cinder.get("cinder_sys_admin", "helper_command") == helper
    assert cinder.get("privsep_osbrick", "helper_command") == helper


def test_volume_service_repeats_its_capabilities_soon_after_start(tmp_path):
    """A first publish lost before the scheduler listens is repeated within seconds, not minutes."""
    cinder = _cinder_conf(tmp_path, LabLayout(root=tmp_path, pods=1, base_port=22000), 0)
    assert cinder.getint("DEFAULT", "periodic_fuzzy_delay") == 0
    assert cinder.getint("DEFAULT", "periodic_interval") <= 10


def test_cinder_is_a_service_user_and_nova_reaches_the_pod_cinder(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2)
    pod = layout.pod_layouts[0]
    assert "cinder" in SERVICE_USERS
    nova = configparser.RawConfigParser()
    nova.read(configs.write_ini(tmp_path / "nova.conf", configs.pod_nova(layout, pod)))
    assert nova.get("cinder", "os_region_name") == "Pod1"
    assert nova.get("service_user", "send_service_user_token") == "true"


def test_catalog_has_each_pod_cinder_as_volumev3_and_block_storage(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2)
    entries = {(e.service_type, e.region): e.url for e in lab.catalog(layout)}
    for pod in layout.pod_layouts:
        assert entries[("volumev3", pod.region)] == pod.url("cinder")
        assert entries[("block-storage", pod.region)] == pod.url("cinder")
    assert pod.url("cinder").endswith("/v3")
    assert entries[("volumev3", TOP_REGION)] == layout.volume_gateway_url
    assert entries[("block-storage", TOP_REGION)] == layout.volume_gateway_url


def test_cinder_processes_and_ports_belong_to_a_compute_lab_only(tmp_path):
    full = LabLayout(root=tmp_path, pods=2)
    assert {"pod2-cinder-volume", "tricircle-volume-api"} <= set(lab.expected_processes(full))
    assert lab.ports(full)[full.port("volume_gateway")] == "volume_gateway"
    assert lab.ports(full)[full.pod_layouts[1].port("cinder")] == "pod2-cinder"
    network_only = LabLayout(root=tmp_path, pods=2, compute=False)
    assert not any("cinder" in name for name in lab.expected_processes(network_only))
    assert not any("cinder" in name for name in lab.ports(network_only).values())
    assert not any(e.service_type == "volumev3" for e in lab.catalog(network_only))

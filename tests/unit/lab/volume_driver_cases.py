"""The lab's volume driver keeps volumes and snapshots as sparse files, images go in and out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cinder import context, objects
from cinder.privsep import sys_admin_pctxt
from cinder.volume import configuration, driver
from oslo_config import cfg
from oslo_utils import units

from tricircle.lab import volume_driver

CONF = cfg.CONF
GROUP = "lab_volume_driver_test"
IMAGE_BYTES = b"lab image\n" * 100_000
CONTEXT = context.RequestContext(user_id="demo", project_id="demo", is_admin=False)


@pytest.fixture
def lab_driver(tmp_path: Path) -> Iterator[volume_driver.LabVolumeDriver]:
    """The driver on a temp folder; Cinder's privileged calls run in this process."""
    objects.register_all()
    lab = volume_driver.LabVolumeDriver(
        configuration=configuration.Configuration(driver.volume_opts, config_group=GROUP)
    )
    CONF.set_override("lab_volumes_dir", str(tmp_path / "volumes"), group=GROUP)
    CONF.set_override("image_conversion_dir", str(tmp_path / "conversion"))
    sys_admin_pctxt.set_client_mode(False)
    lab.do_setup(None)
    try:
        yield lab
    finally:
        sys_admin_pctxt.set_client_mode(True)
        CONF.clear_override("image_conversion_dir")
        CONF.clear_override("lab_volumes_dir", group=GROUP)


def _volume(size: int) -> objects.Volume:
    return objects.Volume(
        id=str(uuid.uuid4()),
        _name_id=None,
        size=size,
        volume_type=objects.VolumeType(extra_specs={}),
        glance_metadata={},
    )


def _file(lab: volume_driver.LabVolumeDriver, volume: objects.Volume) -> Path:
    return Path(lab.local_path(volume))


def _allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


class FakeImageService:
    """The parts of Cinder's Glance image service that image_utils uses."""

    def __init__(self) -> None:
        self.temp_images = None
        self.images: dict[str, bytes] = {}
        self.formats: dict[str, str] = {}

    def add(self, image_id: str, disk_format: str, data: bytes = b"") -> dict[str, Any]:
        self.images[image_id], self.formats[image_id] = data, disk_format
        return self.show(None, image_id)

    def show(self, context: Any, image_id: str) -> dict[str, Any]:
        return {
            "id": image_id,
            "disk_format": self.formats[image_id],
            "container_format": "bare",
            "size": len(self.images[image_id]),
        }

    def download(self, context: Any, image_id: str, data: Any) -> None:
        data.write(self.images[image_id])

    def update(self, context: Any, image_id: str, meta: dict, data: Any, **kwargs: Any) -> None:
        self.images[image_id] = data.read()


def test_a_volume_is_a_sparse_file_of_its_size_that_grows_and_goes(lab_driver):
    volume = _volume(1)
    lab_driver.create_volume(volume)
    path = _file(lab_driver, volume)
    assert path.parent == lab_driver.volumes_dir
    assert path.stat().st_size == units.Gi
    assert _allocated(path) < units.Mi
    lab_driver.extend_volume(volume, 2)
    assert path.stat().st_size == 2 * units.Gi
    lab_driver.delete_volume(volume)
    assert not path.exists()
    lab_driver.delete_volume(volume)


def test_the_backend_reports_the_fake_drivers_capacity(lab_driver):
    """The pod's scheduler keeps placing volumes on the one pool."""
    (pool,) = lab_driver.get_volume_stats(refresh=True)["pools"]
    assert pool["free_capacity_gb"] == pool["total_capacity_gb"] == "infinite"
    assert pool["pool_name"] == "fake"


def test_clones_and_snapshots_copy_the_bytes_and_take_their_own_size(lab_driver):
    source = _volume(1)
    lab_driver.create_volume(source)
    with open(_file(lab_driver, source), "r+b") as handle:
        handle.seek(5 * units.Mi)
        handle.write(b"payload")
    clone = _volume(2)
    lab_driver.create_cloned_volume(clone, source)
    snapshot = objects.Snapshot(id=str(uuid.uuid4()), volume_size=1)
    snapshot.volume = source
    lab_driver.create_snapshot(snapshot)
    with open(_file(lab_driver, source), "r+b") as handle:
        handle.seek(5 * units.Mi)
        handle.write(b"changed")
    restored = _volume(1)
    lab_driver.create_volume_from_snapshot(restored, snapshot)
    for volume, size in ((clone, 2), (restored, 1)):
        path = _file(lab_driver, volume)
        assert path.stat().st_size == size * units.Gi
        assert _allocated(path) < 2 * units.Mi
        with open(path, "rb") as handle:
            handle.seek(5 * units.Mi)
            assert handle.read(7) == b"payload"
    lab_driver.delete_snapshot(snapshot)
    assert sorted(p.name for p in lab_driver.volumes_dir.iterdir()) == sorted(
        v.name for v in (source, clone, restored)
    )


def test_an_image_written_to_a_volume_and_uploaded_back_keeps_its_bytes(lab_driver):
    images = FakeImageService()
    images.add("raw-image", "raw", IMAGE_BYTES)
    volume = _volume(1)
    lab_driver.create_volume(volume)
    lab_driver.copy_image_to_volume(CONTEXT, volume, images, "raw-image")
    path = _file(lab_driver, volume)
    assert path.stat().st_size == units.Gi
    with open(path, "rb") as handle:
        assert handle.read(len(IMAGE_BYTES) + 1) == IMAGE_BYTES + b"\0"

    lab_driver.copy_volume_to_image(CONTEXT, volume, images, images.add("upload", "raw"))
    assert len(images.images["upload"]) == units.Gi
    assert images.images["upload"].startswith(IMAGE_BYTES)


def test_a_volume_uploads_as_qcow2(lab_driver):
    images = FakeImageService()
    volume = _volume(1)
    lab_driver.create_volume(volume)
    lab_driver.copy_volume_to_image(CONTEXT, volume, images, images.add("upload", "qcow2"))
    assert images.images["upload"][:4] == b"QFI\xfb"

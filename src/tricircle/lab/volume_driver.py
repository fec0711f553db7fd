"""The lab's Cinder volume driver: Cinder's fake driver whose volumes hold data in files.

Loaded by the pods' cinder-volume (``volume_driver = tricircle.lab.volume_driver.LabVolumeDriver``).
Stats, exports and attachments are the fake driver's (the lab's Nova attaches nothing for real);
in addition each volume is a sparse file of the volume's size in ``lab_volumes_dir`` (its
``local_path``) and each snapshot a sparse copy of its volume's file beside it. So images written
to a volume, and volumes uploaded as images, carry their bytes, through Cinder's own image_utils
and ``qemu-img``.

cinder-volume runs as root in the lab: nothing here asks for a root helper (``run_as_root`` is
off); the privsep daemon Cinder's image code still starts runs the venv's ``privsep-helper``
directly (``helper_command`` in ``configs.pod_cinder``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cinder.image import image_utils
from cinder.tests import fake_driver
from cinder.volume import volume_utils
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import units

LOG = logging.getLogger(__name__)

lab_volume_opts = [
    cfg.StrOpt(
        "lab_volumes_dir",
        default="$state_path/volumes",
        help="Folder of the lab's volume and snapshot files.",
    ),
]


class LabVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    """Fake volume backend whose volumes and snapshots are sparse files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(lab_volume_opts)

    @property
    def volumes_dir(self) -> Path:
        """The folder holding this backend's files."""
        return Path(self.configuration.lab_volumes_dir)

    def do_setup(self, context: Any) -> None:
        """Set up as the fake driver does, and make the files' folder."""
        super().do_setup(context)
        self.volumes_dir.mkdir(parents=True, exist_ok=True)

    def local_path(self, volume: Any, vg: Any = None) -> str:
        """The volume's file."""
        return str(self.volumes_dir / volume["name"])

    def _snapshot_path(self, snapshot: Any) -> Path:
        return self.volumes_dir / snapshot["name"]

    def create_volume(self, volume: Any) -> dict[str, Any] | None:
        """Create as the fake driver does, plus an empty sparse file of the volume's size."""
        model_update = super().create_volume(volume)
        path = Path(self.local_path(volume))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(volume["size"] * units.Gi)
        LOG.info("Volume %s: file %s of %d GiB", volume["id"], path, volume["size"])
        return model_update

    def delete_volume(self, volume: Any) -> None:
        """Remove the volume's file (gone already is fine)."""
        super().delete_volume(volume)
        Path(self.local_path(volume)).unlink(missing_ok=True)

    def extend_volume(self, volume: Any, new_size: int) -> None:
        """Grow the volume's file to ``new_size`` GiB."""
        os.truncate(self.local_path(volume), new_size * units.Gi)

    def create_cloned_volume(self, volume: Any, src_vref: Any) -> None:
        """The source volume's file copied, grown to the new volume's size."""
        self._copy(Path(self.local_path(src_vref)), volume)

    def create_snapshot(self, snapshot: Any) -> None:
        """A sparse copy of the volume's file."""
        _copy_sparse(Path(self.local_path(snapshot.volume)), self._snapshot_path(snapshot))

    def delete_snapshot(self, snapshot: Any) -> None:
        """Remove the snapshot's file (gone already is fine)."""
        self._snapshot_path(snapshot).unlink(missing_ok=True)

    def create_volume_from_snapshot(self, volume: Any, snapshot: Any) -> None:
        """The snapshot's file copied, grown to the new volume's size."""
        self._copy(self._snapshot_path(snapshot), volume)

    def revert_to_snapshot(self, context: Any, volume: Any, snapshot: Any) -> None:
        """The volume's file replaced by a copy of the snapshot's."""
        self._copy(self._snapshot_path(snapshot), volume)

    def copy_image_to_volume(
        self,
        context: Any,
        volume: Any,
        image_service: Any,
        image_id: str,
        disable_sparse: bool = False,
    ) -> None:
        """Write the image, converted to raw, into the volume's file."""
        path = self.local_path(volume)
        image_utils.fetch_to_raw(
            context,
            image_service,
            image_id,
            path,
            self.configuration.volume_dd_blocksize,
            size=volume["size"],
            run_as_root=False,
            disable_sparse=disable_sparse,
        )
        # qemu-img writes a file of the image's size: the volume keeps its own.
        _grow(Path(path), volume["size"])

    def copy_volume_to_image(
        self, context: Any, volume: Any, image_service: Any, image_meta: dict[str, Any]
    ) -> None:
        """Upload the volume's file as the image, in the image's disk format."""
        volume_utils.upload_volume(
            context, image_service, image_meta, self.local_path(volume), volume, run_as_root=False
        )

    def _copy(self, source: Path, volume: Any) -> None:
        target = Path(self.local_path(volume))
        _copy_sparse(source, target)
        _grow(target, volume["size"])


def _copy_sparse(source: Path, target: Path) -> None:
    """Copy a file keeping its holes."""
    processutils.execute("cp", "--sparse=always", str(source), str(target))


def _grow(path: Path, size_gb: int) -> None:
    """Make the file at least ``size_gb`` GiB long."""
    if path.stat().st_size < size_gb * units.Gi:
        os.truncate(path, size_gb * units.Gi)

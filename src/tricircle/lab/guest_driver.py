"""The lab's Nova virt driver: Nova's fake driver whose servers are real network guests.

Loaded by the pods' nova-compute (``compute_driver = tricircle.lab.guest_driver.LabGuestDriver``).
Everything Nova tracks (power state, resources, volumes) is the fake driver's; in addition each
running server is a network namespace (``lab.guests``) with one interface per port, plugged the
way a hypervisor plugs a VM: os-vif's OVS plugin adds the hypervisor side to the pod's integration
bridge with ``iface-id``, ``attached-mac`` and ``vm-uuid``, so the pod's OVS agent wires it and
Neutron reports the port ACTIVE; the guest then asks the pod's DHCP agent for its address.

Like a real hypervisor's driver, spawn and power-on wait (up to ``vif_plugging_timeout``) for
Neutron's ``network-vif-plugged`` event of each port that was down, so a server turns ACTIVE once
its ports are wired, not before; a timeout fails the boot only with ``vif_plugging_is_fatal``.

Spawn and power-on plug and start the guest; power-off, shelve and destroy take it away (its
namespace, veths and OVS ports); reboot keeps it; interface attach and detach plug and unplug one
port. The console output is the guest's boot lines and DHCP client log. Runs inside
nova-compute, which the lab starts as root with ``TRICIRCLE_LAB_ROOT`` set.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import os_vif
from nova import exception
from nova.compute import task_states
from nova.image import glance
from nova.network import os_vif_util
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

from tricircle.lab import guests
from tricircle.lab.layout import LabLayout
from tricircle.lab.processes import MARKER

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
DEFAULT_MTU = 1500


class LabGuestDriver(fake.FakeDriverWithoutFakeNodes):
    """Fake compute whose running servers are namespaces on the pod's integration bridge."""

    def __init__(self, virtapi: Any, read_only: bool = False) -> None:
        super().__init__(virtapi, read_only)
        layout = LabLayout.load(Path(os.environ[MARKER]))
        if layout is None:
            raise RuntimeError(f"no lab recorded in {os.environ[MARKER]}")
        self._layout = layout
        self._lock = threading.Lock()
        self._plugged: dict[str, dict[str, Any]] = {}
        os_vif.initialize()

    def spawn(
        self,
        context: Any,
        instance: Any,
        image_meta: Any,
        injected_files: Any,
        admin_password: Any,
        allocations: Any,
        network_info: Any = None,
        block_device_info: Any = None,
        power_on: bool = True,
        accel_info: Any = None,
    ) -> None:
        """Spawn as the fake driver does, then start the guest if powered on."""
        super().spawn(
            context,
            instance,
            image_meta,
            injected_files,
            admin_password,
            allocations,
            network_info,
            block_device_info,
            power_on,
            accel_info,
        )
        if power_on:
            self._start_guest(instance, network_info or [])

    def destroy(
        self,
        context: Any,
        instance: Any,
        network_info: Any,
        block_device_info: Any = None,
        destroy_disks: bool = True,
        destroy_secrets: bool = True,
    ) -> None:
        """Take the guest away, then forget the server as the fake driver does."""
        self._stop_guest(instance, network_info or [])
        super().destroy(
            context, instance, network_info, block_device_info, destroy_disks, destroy_secrets
        )

    def get_host_uptime(self) -> str:
        """The host's ``uptime`` line, as Nova's libvirt driver answers it (the fake has none)."""
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()

    def get_console_output(self, context: Any, instance: Any) -> bytes:
        """The guest's console: its boot lines and DHCP client log (the fake's is 3 lines)."""
        return guests.console_log(self._layout, instance.uuid).encode("ascii", "replace")

    def power_off(self, instance: Any, timeout: int = 0, retry_interval: int = 0) -> None:
        """Power off: the guest and its ports go away, as a stopped VM's taps do."""
        super().power_off(instance, timeout, retry_interval)
        self._stop_guest(instance, [])

    def power_on(
        self,
        context: Any,
        instance: Any,
        network_info: Any,
        block_device_info: Any = None,
        accel_info: Any = None,
        share_info: Any = None,
    ) -> None:
        """Power on: the guest comes back with every port plugged again."""
        super().power_on(context, instance, network_info, block_device_info, accel_info, share_info)
        self._start_guest(instance, network_info or [])

    def attach_interface(self, context: Any, instance: Any, image_meta: Any, vif: Any) -> None:
        """Attach one port to a running guest."""
        super().attach_interface(context, instance, image_meta, vif)
        if instance.uuid in self._plugged:
            self._plug(instance, vif)

    def detach_interface(self, context: Any, instance: Any, vif: Any) -> None:
        """Detach one port from the guest."""
        super().detach_interface(context, instance, vif)
        self._unplug(instance, vif)

    def snapshot(self, context: Any, instance: Any, image_id: str, update_task_state: Any) -> None:
        """Upload the server's disk as the snapshot image, as a hypervisor does: the lab's disk
        is the image the server booted from, so its bytes are copied from Glance."""
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        image_api = glance.API()
        source = image_api.get(context, instance.image_ref) if instance.image_ref else {}
        metadata = {
            "status": "active",
            "name": image_api.get(context, image_id)["name"],
            "disk_format": source.get("disk_format") or "raw",
            "container_format": source.get("container_format") or "bare",
            "properties": {"image_location": "snapshot", "owner_id": instance.project_id},
        }
        with tempfile.TemporaryDirectory() as scratch:
            disk = Path(scratch) / "disk"
            if instance.image_ref:
                image_api.download(context, instance.image_ref, dest_path=str(disk))
            else:
                disk.write_bytes(b"")
            update_task_state(
                task_state=task_states.IMAGE_UPLOADING,
                expected_state=task_states.IMAGE_PENDING_UPLOAD,
            )
            with disk.open("rb") as data:
                image_api.update(context, image_id, metadata, data, purge_props=False)
        LOG.info("snapshot uploaded server=%s image=%s", instance.uuid, image_id)

    def _start_guest(self, instance: Any, network_info: Any) -> None:
        with self._lock:
            self._plugged.setdefault(instance.uuid, {})
        events = [
            ("network-vif-plugged", vif["id"])
            for vif in network_info
            if vif.get("active", True) is False
        ]
        timeout = CONF.vif_plugging_timeout
        try:
            with self.virtapi.wait_for_instance_event(
                instance,
                events if timeout else [],
                timeout=timeout,
                error_callback=self._neutron_failed,
            ):
                for vif in network_info:
                    self._plug(instance, vif)
        except exception.InstanceEventTimeout:
            if CONF.vif_plugging_is_fatal:
                self._stop_guest(instance, network_info)
                raise exception.VirtualInterfaceCreateException() from None
        LOG.info("guest started", instance=instance)

    @staticmethod
    def _neutron_failed(event_name: str, instance: Any) -> None:
        LOG.error("Neutron reported failure of %s", event_name, instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    def _stop_guest(self, instance: Any, network_info: Any) -> None:
        with self._lock:
            plugged = self._plugged.pop(instance.uuid, {})
        for vif in network_info:
            plugged.setdefault(vif["id"], vif)
        for vif in plugged.values():
            self._unplug_from_bridge(instance, vif)
        guests.remove(self._layout, instance.uuid)
        LOG.info("guest removed", instance=instance)

    def _plug(self, instance: Any, vif: Any) -> None:
        mtu = (vif.get("network") or {}).get("meta", {}).get("mtu") or DEFAULT_MTU
        guest_name = guests.plug(
            self._layout, instance.uuid, vif["devname"], vif["address"], int(mtu)
        )
        os_vif_vif = os_vif_util.nova_to_osvif_vif(vif)
        os_vif_vif.port_profile.create_port = True
        os_vif.plug(os_vif_vif, os_vif_util.nova_to_osvif_instance(instance))
        guests.start_dhcp(self._layout, instance.uuid, guest_name)
        with self._lock:
            self._plugged.setdefault(instance.uuid, {})[vif["id"]] = vif
        LOG.info(
            "port plugged port_id=%s mac=%s bridge_port=%s guest_interface=%s",
            vif["id"],
            vif["address"],
            vif["devname"],
            guest_name,
            instance=instance,
        )

    def _unplug(self, instance: Any, vif: Any) -> None:
        guest_name = guests.guest_interface(self._layout, instance.uuid, vif["address"])
        if guest_name is not None:
            guests.unplug(self._layout, instance.uuid, guest_name)
        self._unplug_from_bridge(instance, vif)
        with self._lock:
            self._plugged.get(instance.uuid, {}).pop(vif["id"], None)

    def _unplug_from_bridge(self, instance: Any, vif: Any) -> None:
        os_vif.unplug(
            os_vif_util.nova_to_osvif_vif(vif), os_vif_util.nova_to_osvif_instance(instance)
        )
        LOG.info("port unplugged port_id=%s", vif["id"], instance=instance)

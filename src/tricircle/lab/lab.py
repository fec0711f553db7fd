"""Bring the whole lab up, report on it, and take it down.

``up`` is idempotent: a lab whose every process runs and every endpoint answers is left alone. A
cold ``up`` starts from fresh databases, so every lab begins empty. Steps that do not depend on each
other run in parallel threads; each prints one progress line with the time since ``up`` began.
Until Keystone holds the lab's identities and catalog, every other process runs at a lower CPU
priority: they all wait for Keystone anyway, and on two cores they would starve it.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from tricircle.lab import (
    backends,
    broker,
    compute_gateway,
    identity,
    namespaces,
    openvswitch,
    outside,
    processes,
    services,
    tricircle_postgres,
)
from tricircle.lab.identity import Endpoint
from tricircle.lab.layout import HOST, SERVICE_USERS, TOP_REGION, LabLayout


@dataclasses.dataclass
class ServiceStatus:
    """One line of ``lab status``."""

    name: str
    pid: int | None
    rss_mb: float
    pss_mb: float


class ProgressPrinter:
    """Thread-safe progress lines: ``[  12.3s] service  message``."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._start = time.monotonic()
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, service: str, message: str) -> None:
        with self._lock:
            elapsed = time.monotonic() - self._start
            print(f"[{elapsed:6.1f}s] {service:<16} {message}", file=self._out, flush=True)

    @property
    def elapsed(self) -> float:
        """Seconds since the printer was made."""
        return time.monotonic() - self._start


def catalog(layout: LabLayout) -> list[Endpoint]:
    """Every endpoint the lab registers (Keystone's own comes from bootstrap).

    The shared Keystone and Glance are listed in every pod's region too, so stock clients (and
    Rally) pointed at one pod find identity and images there.
    """
    endpoints = [
        Endpoint("image", "glance", TOP_REGION, layout.glance_url),
        Endpoint("tricircle", "tricircle", TOP_REGION, layout.admin_api_url),
        Endpoint("network", "neutron", TOP_REGION, services.central_neutron_url(layout)),
    ]
    for pod in layout.pod_layouts:
        endpoints += [
            Endpoint("network", "neutron", pod.region, pod.url("neutron")),
            Endpoint("image", "glance", pod.region, layout.glance_url),
            Endpoint("identity", "keystone", pod.region, layout.keystone_url),
        ]
        if layout.compute:
            endpoints += [
                Endpoint("compute", "nova", pod.region, pod.url("nova")),
                Endpoint("placement", "placement", pod.region, pod.url("placement")),
            ]
    return endpoints + compute_gateway.endpoints(layout) + volume_catalog(layout)


def volume_catalog(layout: LabLayout) -> list[Endpoint]:
    """The Cinder gateway in RegionOne and each pod's Cinder in its region, as ``volumev3`` and
    ``block-storage`` (none in a network-only lab).

    Both types name one service each, so one Keystone service of a type holds every region.
    """
    if not layout.compute:
        return []
    urls = [(TOP_REGION, layout.volume_gateway_url)]
    urls += [(pod.region, pod.url("cinder")) for pod in layout.pod_layouts]
    return [
        Endpoint(service_type, name, region, url)
        for region, url in urls
        for service_type, name in (("volumev3", "cinderv3"), ("block-storage", "cinder"))
    ]


def expected_processes(layout: LabLayout) -> list[str]:
    """Names of every long-running process of a complete lab."""
    names = [
        "keystone",
        "glance",
        broker.PROCESS,
        tricircle_postgres.PROCESS,
        "tricircle-api",
        *services.XJOB_PROCESSES,
        "central-neutron",
    ]
    if layout.compute:
        names += ["ovsdb-server", "ovs-vswitchd"]
    for pod in layout.pod_layouts:
        names.append(f"{pod.name}-neutron")
        if not layout.compute:
            continue
        names += [f"{pod.name}-neutron-rpc"]
        names += [f"{pod.name}-{agent}" for agent in services.AGENTS]
        names += [
            f"{pod.name}-placement",
            f"{pod.name}-nova-conductor",
            f"{pod.name}-nova-scheduler",
            f"{pod.name}-nova-compute",
            f"{pod.name}-nova-api",
        ]
    return names + compute_gateway.process_names(layout) + volume_processes(layout)


def volume_processes(layout: LabLayout) -> list[str]:
    """Names of the volume services' processes: the gateway and each pod's Cinder."""
    if not layout.compute:
        return []
    return ["tricircle-volume-api"] + [
        f"{pod.name}-cinder-{binary}"
        for pod in layout.pod_layouts
        for binary in ("scheduler", "volume", "api")
    ]


def ports(layout: LabLayout) -> dict[int, str]:
    """Every loopback port the lab listens on -> the service on it."""
    used = {
        layout.port(service): service
        for service in (
            "keystone",
            "glance",
            "tricircle",
            "central_neutron",
            "tricircle_database",
            "rabbitmq",
            "rabbitmq_distribution",
        )
    }
    for pod in layout.pod_layouts:
        for service in (
            ("neutron", "placement", "nova", "openflow") if layout.compute else ("neutron",)
        ):
            used[pod.port(service)] = f"{pod.name}-{service}"
    return used | compute_gateway.ports(layout) | volume_ports(layout)


def volume_ports(layout: LabLayout) -> dict[int, str]:
    """Loopback ports of the volume services -> the service on each."""
    if not layout.compute:
        return {}
    used = {layout.port("volume_gateway"): "volume_gateway"}
    return used | {pod.port("cinder"): f"{pod.name}-cinder" for pod in layout.pod_layouts}


def is_running(layout: LabLayout) -> bool:
    """True if every process of the lab runs."""
    running = processes.recorded(layout)
    return all(running.get(name) for name in expected_processes(layout))


def up(layout: LabLayout, out: TextIO = sys.stdout) -> bool:
    """Start the lab unless it already runs; returns True if it started anything."""
    saved = LabLayout.load(layout.root)
    if saved is not None and saved == layout and is_running(layout):
        print(
            f"lab already running in {layout.root} ({layout.pods} pods): nothing changed", file=out
        )
        return False
    if saved is not None and any(processes.recorded(saved).values()):
        stopped = processes.stop_all(saved)
        print(
            f"lab was partly running or set up differently; stopped {', '.join(stopped)}", file=out
        )
    busy = {port: name for port, name in ports(layout).items() if processes.port_in_use(port)}
    if busy:
        described = ", ".join(f"{HOST}:{port} ({name})" for port, name in sorted(busy.items()))
        raise processes.LabError(
            f"port already in use: {described}; stop what holds it or pick another --base-port"
        )
    left = remove_data_plane(saved or layout)
    if left:
        print(f"removed namespaces left by an earlier lab: {', '.join(left)}", file=out)
    _reset_state(layout)
    layout.save()
    progress = ProgressPrinter(out)
    progress("lab", f"starting {layout.pods} pods in {layout.root}")
    processes.favour({"keystone"})
    try:
        _start_everything(layout, progress)
    except BaseException:
        processes.stop_all(layout)
        raise
    finally:
        processes.end_favour(layout)
    progress("lab", f"ready in {progress.elapsed:.1f}s; `tricircle lab env` prints credentials")
    return True


def _reset_state(layout: LabLayout) -> None:
    """Remove the previous lab's data but keep the schema templates."""
    layout.root.mkdir(parents=True, exist_ok=True)
    for child in layout.root.iterdir():
        if child.name in ("templates",) or child.name.startswith("started-"):
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _start_everything(layout: LabLayout, progress: ProgressPrinter) -> None:
    pods = layout.pod_layouts
    with ThreadPoolExecutor(max_workers=5 + 5 * len(pods)) as pool:

        def after(waits: list[Future], step: Callable[[], object]) -> Future:
            def run() -> object:
                for wait in waits:
                    wait.result()
                return step()

            return pool.submit(run)

        def prepare_backends() -> None:
            how_pg = backends.ensure_postgres(layout)
            tricircle_postgres.start(layout)
            progress(
                "backends",
                f"the machine's postgresql {how_pg}; Tricircle's own PostgreSQL on "
                f"{HOST}:{layout.port('tricircle_database')}",
            )

        def start_broker() -> None:
            broker.start(layout)
            progress("rabbitmq", f"the pods' broker on {HOST}:{layout.port('rabbitmq')}")

        def register() -> None:
            identity.register_identities(layout, SERVICE_USERS)
            identity.register_catalog(layout, catalog(layout))
            processes.end_favour(layout)
            progress("keystone", "regions, endpoints, service users and demo tenant registered")

        backend_ready = pool.submit(prepare_backends)
        broker_ready = pool.submit(start_broker)

        def start_switch() -> None:
            if layout.compute:
                openvswitch.start(layout)
                outside.start(layout)
                progress("openvswitch", "ready, outside host on the outside switch")

        switch_ready = pool.submit(start_switch)
        keystone_ready = pool.submit(services.start_keystone, layout, progress)
        catalog_ready = after([keystone_ready], register)
        glance_ready = pool.submit(services.start_glance, layout, progress)
        image_ready = after(
            [glance_ready, catalog_ready], lambda: services.upload_image(layout, progress)
        )
        tricircle_ready = after(
            [catalog_ready, backend_ready], lambda: services.start_tricircle(layout, progress)
        )
        pods_registered = after([tricircle_ready], lambda: services.register_pods(layout, progress))
        central_neutron = after(
            [backend_ready], lambda: services.start_central_neutron(layout, progress)
        )
        work: list[Future] = [
            tricircle_ready,
            pods_registered,
            backend_ready,
            broker_ready,
            keystone_ready,
            catalog_ready,
            glance_ready,
            image_ready,
            central_neutron,
        ]
        pod_neutrons: list[Future] = []
        for pod in pods:
            neutron = after(
                [backend_ready, broker_ready],
                lambda pod=pod: services.start_pod_neutron(layout, pod, progress),
            )
            pod_neutrons.append(neutron)
            work.append(neutron)
            if not layout.compute:
                continue
            agents = after(
                [switch_ready, neutron], lambda pod=pod: services.start_pod_agents(layout, pod)
            )
            agents_alive = after(
                [agents, catalog_ready],
                lambda pod=pod: services.wait_pod_agents(layout, pod, progress),
            )
            work += [agents, agents_alive]
            placement = pool.submit(services.start_pod_placement, layout, pod, progress)
            nova_conf = after(
                [backend_ready], lambda pod=pod: services.prepare_pod_nova(layout, pod, progress)
            )
            nova = after(
                [nova_conf, catalog_ready, placement, neutron],
                lambda pod=pod, conf=nova_conf: services.start_pod_nova(
                    layout, pod, conf.result(), progress
                ),
            )
            work += [placement, nova_conf, nova]
            cinder_conf = after(
                [backend_ready], lambda pod=pod: services.prepare_pod_cinder(layout, pod, progress)
            )
            cinder = after(
                [cinder_conf, catalog_ready, broker_ready],
                lambda pod=pod, conf=cinder_conf: services.start_pod_cinder(
                    layout, pod, conf.result(), progress
                ),
            )
            work += [cinder_conf, cinder]
        if layout.compute:
            work.append(
                after(
                    [central_neutron, pods_registered, switch_ready, pod_neutrons[0]],
                    lambda: outside.make_public_network(layout, progress),
                )
            )
            work.append(
                after(
                    [tricircle_ready],
                    lambda: services.start_volume_gateway(
                        layout, tricircle_ready.result(), progress
                    ),
                )
            )
        if layout.compute:
            work.append(
                after(
                    [pods_registered, *work],
                    lambda: compute_gateway.start(
                        layout, tricircle_ready.result(), progress, services.tricircle_argv_for
                    ),
                )
            )
        for future in work:
            future.result()


# The lab's own broker and database server: stopped after the services using them, which would
# otherwise log their loss while they shut down.
BACKEND_PROCESSES = (broker.PROCESS, tricircle_postgres.PROCESS)


def down(layout: LabLayout) -> list[str]:
    """Stop every process the lab started, remove its namespaces, and stop any backend it
    started itself."""
    ovs_interfaces = openvswitch.interface_names(layout)
    openvswitch.stop(layout)
    stopped = processes.stop_all(layout, last=BACKEND_PROCESSES)
    namespaces.remove_lab_namespaces(layout, ovs_interfaces)
    openvswitch.remove_leftover_devices(layout, ovs_interfaces)
    tricircle_postgres.remove(layout)
    return stopped + backends.stop_started_backends(layout)


def remove_data_plane(layout: LabLayout) -> list[str]:
    """Remove the namespaces (and the processes inside them) an earlier run of this lab left,
    once its processes are stopped; returns their names."""
    ovs_interfaces = openvswitch.interface_names(layout)
    removed = namespaces.remove_lab_namespaces(layout, ovs_interfaces)
    openvswitch.remove_leftover_devices(layout, ovs_interfaces)
    return removed


def leftovers(layout: LabLayout) -> list[str]:
    """What of this lab still runs or exists after ``down``: processes and namespaces."""
    left = [f"process {pid}" for pid in processes.survivors(layout)]
    return left + [f"namespace {name}" for name in namespaces.lab_namespaces(layout, set())]


def status(layout: LabLayout) -> list[ServiceStatus]:
    """Each expected process: PID if running, memory of its process group."""
    running = processes.recorded(layout)
    rows = []
    for name in expected_processes(layout):
        rss_mb, pss_mb = _group_memory_mb(running.get(name))
        rows.append(ServiceStatus(name, running.get(name), rss_mb, pss_mb))
    return rows


def _group_memory_mb(pgid: int | None) -> tuple[float, float]:
    """Resident and proportional memory, in MiB, of every process in group ``pgid``.

    RSS counts pages a forked worker shares with its parent twice; PSS splits each shared page
    among its sharers, so PSS summed over the lab is what the lab really holds.
    """
    if pgid is None:
        return 0.0, 0.0
    rss_kb = pss_kb = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss_kb += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss_kb += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return rss_kb / 1024, pss_kb / 1024

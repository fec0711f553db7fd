"""How each of the lab's services is prepared and started.

Schemas are built once into templates (SQLite files under ``<state>/templates`` and PostgreSQL
template databases) and copied for every ``lab up``, so a cold start costs file copies instead of
migrations. Every function here does one service's work and reports progress; ``lab.py`` decides
the order and what runs in parallel.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from keystoneauth1 import exceptions as ks_exceptions

from tricircle.lab import backends, configs, identity, openvswitch, processes
from tricircle.lab.layout import (
    DB_PREFIX,
    FLAVOR,
    HOST,
    IMAGE,
    PASSWORD,
    TOP_REGION,
    LabLayout,
    PodLayout,
)

BIN = Path(sys.executable).parent
SHARED_MEMORY = Path("/dev/shm")
JSON_ERROR_WORKER = "tricircle.api.gunicorn_worker.JsonErrorWorker"
NOVA_VERSION = "34"
Progress = Callable[[str, str], None]

_template_lock = threading.Lock()


# Two job workers share the queue (leases decide who runs what), as a production deployment would.
XJOB_PROCESSES = ("tricircle-xjob", "tricircle-xjob-2")


def gunicorn_argv(
    name: str, service: str, port: int, threads: int = 1, workers: int = 1
) -> list[str]:
    """Command line serving the OpenStack ``service``'s WSGI app on 127.0.0.1:``port``."""
    return gunicorn_argv_for(
        name, f"tricircle.lab.wsgi:application({service!r})", port, threads, workers
    )


def gunicorn_argv_for(
    name: str, app: str, port: int, threads: int = 1, workers: int = 1
) -> list[str]:
    """Command line serving WSGI app ``app`` (gunicorn syntax) on 127.0.0.1:``port``.

    Idle client connections are kept for 75 s: with gunicorn's default of 2 s, a client reusing
    a pooled connection about 2 s later (openstacksdk polls every 2 s) races the server closing
    it and sees a reset or ``RemoteDisconnected``. The request line may be as long as gunicorn
    allows when bounded (8190 bytes), so Tricircle's APIs refuse a long URL themselves
    ([request] max_url_length) in their JSON shape; 0 (unlimited) is not used, as gunicorn
    then buffers any line whole, in time quadratic in its length. A header field may be 8190
    bytes (gunicorn's and Apache's default; a Keystone token is about 250). Each worker's
    heartbeat file, touched on every loop of the worker, lives in /dev/shm (where the machine
    has it), not on disk.
    """
    return [
        str(BIN / "gunicorn"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "300",
        "--graceful-timeout",
        "3",
        *(["--worker-tmp-dir", str(SHARED_MEMORY)] if SHARED_MEMORY.is_dir() else []),
        "--keep-alive",
        "75",
        "--limit-request-line",
        "8190",
        "--limit-request-field_size",
        "8190",
        "--name",
        f"lab-{name}",
        app,
    ]


def tricircle_argv_for(
    name: str, app: str, port: int, threads: int = 1, workers: int = 1
) -> list[str]:
    """``gunicorn_argv_for`` for one of Tricircle's APIs: its worker answers gunicorn's own
    request-parsing errors (a line over 8190 bytes, a header too large) in the API's JSON."""
    *options, app_spec = gunicorn_argv_for(name, app, port, threads, workers)
    return [*options, "--worker-class", JSON_ERROR_WORKER, app_spec]


def _sqlite_from_template(
    layout: LabLayout, template: str, target: Path, build: Callable[[Path], None]
) -> None:
    """Copy SQLite template ``template`` to ``target``, building the template if missing."""
    template_path = layout.root / "templates" / template
    with _template_lock:
        if not template_path.exists():
            template_path.parent.mkdir(parents=True, exist_ok=True)
            partial = template_path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            build(partial)
            partial.rename(template_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_path, target)


def start_keystone(layout: LabLayout, progress: Progress) -> None:
    """Keystone on SQLite with fernet tokens, bootstrapped with region RegionOne.

    The database after ``db_sync`` and ``bootstrap`` and the fernet and credential keys are made
    once per base port into the lab's templates, so a cold start only copies them: Keystone
    gates everything else, and each ``keystone-manage`` run costs seconds of CPU.
    """
    state = layout.root / "keystone"
    configs.write_ini(state / "keystone.conf", configs.keystone(layout))
    keys = layout.root / "templates" / f"keystone-{layout.base_port}-keys"

    def build(path: Path) -> None:
        build_conf = configs.keystone(layout)
        build_conf["database"]["connection"] = f"sqlite:///{path}"
        for section, directory in (
            ("fernet_tokens", "fernet-keys"),
            ("credential", "credential-keys"),
        ):
            shutil.rmtree(keys / directory, ignore_errors=True)
            build_conf[section]["key_repository"] = str(keys / directory)
        build_file = configs.write_ini(path.with_suffix(".conf"), build_conf)
        manage = [str(BIN / "keystone-manage"), "--config-file", str(build_file)]
        processes.run(layout, "keystone-setup", [*manage, "db_sync"])
        for command in ("fernet_setup", "credential_setup"):
            processes.run(
                layout,
                "keystone-setup",
                [*manage, command, "--keystone-user", "root", "--keystone-group", "root"],
            )
        processes.run(
            layout,
            "keystone-setup",
            [
                *manage,
                "bootstrap",
                "--bootstrap-password",
                PASSWORD,
                "--bootstrap-region-id",
                TOP_REGION,
                "--bootstrap-public-url",
                layout.keystone_url,
                "--bootstrap-internal-url",
                layout.keystone_url,
                "--bootstrap-admin-url",
                layout.keystone_url,
            ],
        )

    _sqlite_from_template(
        layout, f"keystone-{layout.base_port}.sqlite", state / "keystone.sqlite", build
    )
    for directory in ("fernet-keys", "credential-keys"):
        shutil.copytree(keys / directory, state / directory, dirs_exist_ok=True)
    processes.start(
        layout,
        "keystone",
        # One thread: SQLite answers "database is locked" at once (no busy wait) when two
        # threads' transactions both upgrade to writes, and every password login writes.
        gunicorn_argv("keystone", "keystone", layout.port("keystone"), threads=1),
        env={"OS_KEYSTONE_CONFIG_DIR": str(state), "OS_KEYSTONE_CONFIG_FILES": "keystone.conf"},
    )
    processes.wait_for_http(layout, "keystone", layout.keystone_url)
    progress("keystone", f"answering at {layout.keystone_url}")


def start_glance(layout: LabLayout, progress: Progress) -> None:
    """The one Glance all pods share (file store, SQLite)."""
    state = layout.root / "glance"
    conf = configs.write_ini(state / "glance-api.conf", configs.glance(layout))

    def build(path: Path) -> None:
        build_conf = configs.glance(layout)
        build_conf["database"]["connection"] = f"sqlite:///{path}"
        build_file = configs.write_ini(path.with_suffix(".conf"), build_conf)
        processes.run(
            layout,
            "glance-setup",
            [str(BIN / "glance-manage"), "--config-file", str(build_file), "db_sync"],
        )

    _sqlite_from_template(layout, "glance.sqlite", state / "glance.sqlite", build)
    shutil.copyfile(
        configs.VENV_ETC / "glance" / "glance-api-paste.ini", state / "glance-api-paste.ini"
    )
    processes.start(
        layout,
        "glance",
        gunicorn_argv("glance", "glance", layout.port("glance"), threads=1),
        env={"OS_GLANCE_CONFIG_DIR": str(conf.parent)},
    )
    processes.wait_for_http(layout, "glance", f"{layout.glance_url}/versions")
    progress("glance", f"answering at {layout.glance_url}")


def upload_image(layout: LabLayout, progress: Progress) -> str:
    """Upload the tiny public raw image all pods boot from; returns its ID."""
    session = identity.admin_session(layout)
    url = f"{layout.glance_url}/v2/images"
    image = session.post(
        url,
        json={
            "name": IMAGE,
            "disk_format": "raw",
            "container_format": "bare",
            "visibility": "public",
        },
    ).json()
    session.put(
        f"{url}/{image['id']}/file",
        data=b"\0" * (1 << 20),
        headers={"Content-Type": "application/octet-stream"},
    )
    progress("glance", f"image {IMAGE} uploaded ({image['id']})")
    return image["id"]


def _create_neutron_tables(url: str) -> None:
    """Neutron's tables and seed data (``lab.neutron_schema``) in the database at ``url``."""
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "tricircle.lab.neutron_schema", url], check=True, capture_output=True
    )


def _neutron_template() -> str:
    """A PostgreSQL template database with Neutron's tables, built once (for the central Neutron
    and every pod's)."""
    major = metadata.version("neutron").split(".")[0]
    template = f"{DB_PREFIX}_tpl_neutron{major}_sgrules"
    with _template_lock:
        if template in backends.existing_databases(DB_PREFIX):
            return template
        building = f"{template}_build"
        backends.recreate_databases([building])
        _create_neutron_tables(f"{configs.POSTGRES_URL}/{building}")
        backends.copy_databases([(building, template)])
        backends.drop_databases([building])
    return template


def central_neutron_url(layout: LabLayout) -> str:
    """URL of the central Neutron (service type ``network`` in RegionOne)."""
    return f"http://{HOST}:{layout.port('central_neutron')}"


def start_central_neutron(layout: LabLayout, progress: Progress) -> None:
    """The central Neutron of region RegionOne: shared_vlan and local, PostgreSQL, 3 workers.

    Each worker serves one request at a time: Neutron 29 publishes its policy enforcer before
    registering the rules, so a second thread arriving during the first request is refused by
    policy (seen as 403 ``create_network is disallowed`` under 64 concurrent creates).
    """
    state = layout.root / "central-neutron"
    conf = configs.write_ini(state / "neutron.conf", configs.central_neutron(layout))
    database = f"{layout.db_prefix}_central_neutron"
    backends.copy_databases([(_neutron_template(), database)])
    processes.start(
        layout,
        "central-neutron",
        gunicorn_argv(
            "central-neutron", "neutron", layout.port("central_neutron"), threads=1, workers=3
        ),
        env={"OS_NEUTRON_CONFIG_DIR": str(conf.parent), "OS_NEUTRON_CONFIG_FILES": conf.name},
    )
    processes.wait_for_http(layout, "central-neutron", central_neutron_url(layout), timeout=120)
    progress("central-neutron", f"answering at {central_neutron_url(layout)} (PostgreSQL)")


def start_pod_neutron(layout: LabLayout, pod: PodLayout, progress: Progress) -> None:
    """A pod's stock Neutron: the API and, where the lab has a data plane, its RPC server."""
    state = pod.dir / "neutron"
    conf = configs.write_ini(state / "neutron.conf", configs.pod_neutron(layout, pod))
    backends.copy_databases([(_neutron_template(), pod.neutron_database)])
    name = f"{pod.name}-neutron"
    processes.start(
        layout,
        name,
        gunicorn_argv(name, "neutron", pod.port("neutron")),
        env={"OS_NEUTRON_CONFIG_DIR": str(conf.parent), "OS_NEUTRON_CONFIG_FILES": conf.name},
    )
    if layout.compute:
        processes.start(
            layout,
            f"{pod.name}-neutron-rpc",
            [
                sys.executable,
                "-m",
                "tricircle.lab.neutron_agent",
                "neutron-rpc-server",
                "--config-file",
                str(conf),
            ],
            env=DATA_PLANE_ENV,
        )
    processes.wait_for_http(layout, name, pod.url("neutron"))
    progress(f"{pod.name}/neutron", f"answering at {pod.url('neutron')} (PostgreSQL)")


# glibc gives each thread of a process its own malloc arenas; two are plenty for these mostly
# idle, many-threaded services and keep each one's memory flat.
DATA_PLANE_ENV = {"MALLOC_ARENA_MAX": "2"}
AGENTS = {
    "ovs-agent": "neutron-openvswitch-agent",
    "dhcp-agent": "neutron-dhcp-agent",
    "l3-agent": "neutron-l3-agent",
}


def start_pod_agents(layout: LabLayout, pod: PodLayout) -> None:
    """Start the pod's OVS, DHCP and L3 agents on host ``pod<i>-compute``."""
    state = pod.dir / "neutron"
    conf = state / "neutron.conf"
    agents_conf = configs.write_ini(state / "agents.ini", configs.pod_agents(layout, pod))
    (state / "dnsmasq.conf").write_text(configs.DNSMASQ_CONF)
    for name, binary in AGENTS.items():
        processes.start(
            layout,
            f"{pod.name}-{name}",
            [sys.executable, "-m", "tricircle.lab.neutron_agent", binary]
            + ["--config-file", str(conf), "--config-file", str(agents_conf)],
            env={**DATA_PLANE_ENV, **processes.tool_path_env(), **openvswitch.env(layout)},
        )


def wait_pod_agents(layout: LabLayout, pod: PodLayout, progress: Progress) -> None:
    """Return once the pod's Neutron sees its three agents alive (ports on its host can then be
    bound and served by DHCP)."""
    _wait_agents_alive(layout, pod)
    progress(f"{pod.name}/agents", f"OVS, DHCP and L3 agents alive on {pod.host}")


def _wait_agents_alive(layout: LabLayout, pod: PodLayout, timeout: float = 120.0) -> None:
    """Wait until the pod's Neutron lists every agent of ``pod.host`` as alive."""
    deadline = time.monotonic() + timeout
    session = identity.admin_session(layout)
    url = f"{pod.url('neutron')}/v2.0/agents"
    alive: set[str] = set()
    while time.monotonic() < deadline:
        try:
            agents = session.get(url, params={"host": pod.host}).json()["agents"]
        except ks_exceptions.ClientException:
            agents = []
        alive = {agent["binary"] for agent in agents if agent["alive"]}
        if alive >= set(AGENTS.values()):
            return
        for name in AGENTS:
            if not processes.alive(layout, f"{pod.name}-{name}"):
                log = processes.log_path(layout, f"{pod.name}-{name}")
                raise processes.LabError(f"{pod.name}-{name} exited; see {log}")
        time.sleep(0.5)
    missing = ", ".join(sorted(set(AGENTS.values()) - alive))
    raise processes.LabError(
        f"{pod.name}: agents not alive within {timeout:.0f}s: {missing}; "
        f"see {processes.log_path(layout, pod.name + '-ovs-agent')} and the other agents' logs"
    )


def start_pod_placement(layout: LabLayout, pod: PodLayout, progress: Progress) -> None:
    """A pod's Placement."""
    state = pod.dir / "placement"
    conf = configs.write_ini(state / "placement.conf", configs.pod_placement(layout, pod))

    def build(path: Path) -> None:
        build_conf = configs.pod_placement(layout, pod)
        build_conf["placement_database"]["connection"] = f"sqlite:///{path}"
        build_dir = path.parent / "placement-build"
        configs.write_ini(build_dir / "placement.conf", build_conf)
        processes.run(
            layout,
            "placement-setup",
            [str(BIN / "placement-manage"), "--config-dir", str(build_dir), "db", "sync"],
        )

    _sqlite_from_template(layout, "placement.sqlite", state / "placement.sqlite", build)
    name = f"{pod.name}-placement"
    processes.start(
        layout,
        name,
        gunicorn_argv(name, "placement", pod.port("placement")),
        env={"OS_PLACEMENT_CONFIG_DIR": str(conf.parent)},
    )
    processes.wait_for_http(layout, name, pod.url("placement"))
    progress(f"{pod.name}/placement", f"answering at {pod.url('placement')}")


CELL0_DATABASE = "{scheme}://{username}@{hostname}:{port}/{path}_cell0"
CELL1_DATABASE = "{scheme}://{username}@{hostname}:{port}/{path}"
CELL1_TRANSPORT = "{scheme}://{username}:{password}@{hostname}:{port}/{path}"


def _nova_templates(layout: LabLayout) -> tuple[str, str]:
    """PostgreSQL template databases with Nova's API and cell schemas, built once.

    The API template already maps cell0 and cell1, with Nova's URL templates instead of URLs:
    each pod's Nova fills them from its own ``[database] connection`` and ``transport_url``,
    so one template serves every pod and a cold start runs no ``nova-manage``.
    """
    api_template = f"{DB_PREFIX}_tpl_nova{NOVA_VERSION}_api_mapped"
    cell_template = f"{DB_PREFIX}_tpl_nova{NOVA_VERSION}_cell"
    with _template_lock:
        if {api_template, cell_template} <= backends.existing_databases(DB_PREFIX):
            return api_template, cell_template
        building = [f"{api_template}_build", f"{cell_template}_build"]
        backends.recreate_databases(building)
        pod = layout.pod_layouts[0]
        build_conf = configs.pod_nova(layout, pod)
        build_conf["api_database"]["connection"] = f"{configs.POSTGRES_URL}/{building[0]}"
        build_conf["database"]["connection"] = f"{configs.POSTGRES_URL}/{building[1]}"
        conf = configs.write_ini(layout.root / "templates" / "nova-build.conf", build_conf)
        manage = [str(BIN / "nova-manage"), "--config-file", str(conf)]
        processes.run(layout, "nova-setup", [*manage, "api_db", "sync"])
        processes.run(layout, "nova-setup", [*manage, "db", "sync", "--local_cell"])
        processes.run(
            layout,
            "nova-setup",
            [*manage, "cell_v2", "map_cell0", "--database_connection", CELL0_DATABASE],
        )
        processes.run(
            layout,
            "nova-setup",
            [
                *manage,
                "cell_v2",
                "create_cell",
                "--name",
                "cell1",
                "--database_connection",
                CELL1_DATABASE,
                "--transport-url",
                CELL1_TRANSPORT,
            ],
        )
        backends.copy_databases([(building[0], api_template), (building[1], cell_template)])
        backends.drop_databases(building)
    return api_template, cell_template


def prepare_pod_nova(layout: LabLayout, pod: PodLayout, progress: Progress) -> Path:
    """Fresh Nova databases (from the templates, cells already mapped); returns nova.conf."""
    state = pod.dir / "nova"
    etc = state / "etc"
    conf = configs.write_ini(etc / "nova.conf", configs.pod_nova(layout, pod))
    shutil.copyfile(configs.VENV_ETC / "nova" / "api-paste.ini", etc / "api-paste.ini")
    api_template, cell_template = _nova_templates(layout)
    backends.copy_databases(
        [
            (api_template, pod.database("api")),
            (cell_template, pod.database("cell0")),
            (cell_template, pod.database("cell1")),
        ]
    )
    progress(f"{pod.name}/nova", "databases ready, cells mapped")
    return conf


def start_pod_nova(layout: LabLayout, pod: PodLayout, conf: Path, progress: Progress) -> None:
    """A pod's Nova services; returns once a server can be scheduled to its compute host."""
    for binary in ("conductor", "scheduler"):
        processes.start(
            layout,
            f"{pod.name}-nova-{binary}",
            [str(BIN / f"nova-{binary}"), "--config-file", str(conf)],
        )
    processes.start(
        layout,
        f"{pod.name}-nova-compute",
        [sys.executable, "-m", "tricircle.lab.nova_compute", "--config-file", str(conf)],
        env={**processes.tool_path_env(), **openvswitch.env(layout)},
    )
    name = f"{pod.name}-nova-api"
    processes.start(
        layout,
        name,
        gunicorn_argv(name, "nova", pod.port("nova"), threads=4),
        env={
            "OS_NOVA_CONFIG_DIR": str(conf.parent),
            "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf",
        },
    )
    processes.wait_for_http(layout, name, f"http://{HOST}:{pod.port('nova')}/")
    session = identity.admin_session(layout)
    compute = pod.url("nova")
    session.post(
        f"{compute}/flavors",
        json={"flavor": {"name": FLAVOR, "id": "1", "ram": 512, "vcpus": 1, "disk": 1}},
    )
    _wait_compute_up(layout, pod, session, compute)
    _wait_host_mapped(layout, pod)
    progress(f"{pod.name}/nova", f"compute host up in {pod.az}, answering at {compute}")


def _wait_compute_up(
    layout: LabLayout, pod: PodLayout, session: object, compute: str, timeout: float = 90.0
) -> None:
    """Wait until the pod's nova-compute service reports itself up."""
    deadline = time.monotonic() + timeout
    name = f"{pod.name}-nova-compute"
    while time.monotonic() < deadline:
        try:
            services = session.get(  # type: ignore[attr-defined]
                f"{compute}/os-services", params={"binary": "nova-compute"}
            ).json()["services"]
        except ks_exceptions.ClientException:
            services = []
        if any(s["state"] == "up" for s in services):
            return
        if not processes.alive(layout, name):
            raise processes.LabError(f"{name} exited; see {processes.log_path(layout, name)}")
        time.sleep(0.5)
    raise processes.LabError(
        f"{name} did not report up within {timeout:.0f}s; see {processes.log_path(layout, name)}"
    )


def _wait_host_mapped(layout: LabLayout, pod: PodLayout, timeout: float = 60.0) -> None:
    """Wait until the pod's scheduler has mapped its compute host to cell1.

    The scheduler discovers new hosts every few seconds (``discover_hosts_in_cells_interval``),
    so no ``nova-manage cell_v2 discover_hosts`` run is needed; boots fail until it has.
    """
    deadline = time.monotonic() + timeout
    while not backends.host_mapped(pod.database("api"), pod.host):
        if time.monotonic() > deadline:
            raise processes.LabError(
                f"{pod.name}'s scheduler did not map {pod.host} within {timeout:.0f}s; see "
                f"{processes.log_path(layout, f'{pod.name}-nova-scheduler')}"
            )
        time.sleep(0.5)


def start_tricircle(layout: LabLayout, progress: Progress) -> Path:
    """Tricircle's database (fresh, on the lab's own PostgreSQL server), admin API and job
    workers; returns its config.

    The database is shared with the central Neutron's plugins, which read pods and queue jobs.
    """
    state = layout.root / "tricircle"
    conf = configs.write_ini(state / "tricircle.conf", configs.tricircle(layout))
    tricircle = [str(BIN / "tricircle"), "--config-file", str(conf)]
    backends.recreate_databases(
        [configs.tricircle_database(layout)], port=layout.port("tricircle_database")
    )
    processes.run(layout, "tricircle-setup", [*tricircle, "db", "upgrade"])
    env = {"TRICIRCLE_CONFIG_FILES": str(conf)}
    processes.start(
        layout,
        "tricircle-api",
        tricircle_argv_for(
            "tricircle-api", "tricircle.api.wsgi:admin_application()", layout.port("tricircle"), 4
        ),
        env=env,
    )
    for name in XJOB_PROCESSES:
        processes.start(layout, name, [*tricircle, "xjob"], env=env)
    processes.wait_for_http(layout, "tricircle-api", layout.admin_api_url)
    workers = len(XJOB_PROCESSES)
    progress("tricircle", f"admin API answering at {layout.admin_api_url}, {workers} xjob workers")
    return conf


def register_pods(layout: LabLayout, progress: Progress) -> None:
    """The top pod (RegionOne) and Pod<i> in AZ az<i>, through the admin API (idempotent)."""
    session = identity.admin_session(layout)
    url = f"{layout.admin_api_url}/pods"
    known = {pod["region_name"] for pod in session.get(url).json()["pods"]}
    wanted = [{"region_name": TOP_REGION, "az_name": "", "pod_az_name": "", "dc_name": "lab"}]
    wanted += [
        {"region_name": pod.region, "az_name": pod.az, "pod_az_name": pod.az, "dc_name": "lab"}
        for pod in layout.pod_layouts
    ]
    for pod in wanted:
        if pod["region_name"] not in known:
            session.post(url, json={"pod": pod})
    progress("tricircle", f"pods registered: {', '.join(p['region_name'] for p in wanted)}")


def _cinder_template(layout: LabLayout) -> str:
    """A PostgreSQL template database with Cinder's schema, built once per Cinder release."""
    major = metadata.version("cinder").split(".")[0]
    template = f"{DB_PREFIX}_tpl_cinder{major}"
    with _template_lock:
        if template in backends.existing_databases(DB_PREFIX):
            return template
        building = f"{template}_build"
        backends.recreate_databases([building])
        build_conf = configs.pod_cinder(layout, layout.pod_layouts[0])
        build_conf["database"]["connection"] = f"{configs.POSTGRES_URL}/{building}"
        conf = configs.write_ini(layout.root / "templates" / "cinder-build.conf", build_conf)
        processes.run(
            layout,
            "cinder-setup",
            [str(BIN / "cinder-manage"), "--config-file", str(conf), "db", "sync"],
        )
        backends.copy_databases([(building, template)])
        backends.drop_databases([building])
    return template


def prepare_pod_cinder(layout: LabLayout, pod: PodLayout, progress: Progress) -> Path:
    """A fresh Cinder database (from the template) and cinder.conf; returns cinder.conf."""
    conf = configs.write_ini(pod.dir / "cinder" / "cinder.conf", configs.pod_cinder(layout, pod))
    backends.copy_databases([(_cinder_template(layout), pod.cinder_database)])
    progress(f"{pod.name}/cinder", "database ready")
    return conf


def start_pod_cinder(layout: LabLayout, pod: PodLayout, conf: Path, progress: Progress) -> None:
    """A pod's Cinder; returns once its scheduler knows the fake backend (volumes can land)."""
    for binary in ("scheduler", "volume"):
        processes.start(
            layout,
            f"{pod.name}-cinder-{binary}",
            [str(BIN / f"cinder-{binary}"), "--config-file", str(conf)],
        )
    name = f"{pod.name}-cinder-api"
    processes.start(
        layout,
        name,
        gunicorn_argv(name, "cinder", pod.port("cinder"), threads=4),
        env={"TRICIRCLE_LAB_ARGS": f"--config-file {conf}"},
    )
    processes.wait_for_http(layout, name, f"http://{HOST}:{pod.port('cinder')}/")
    _wait_volume_backend(layout, pod)
    progress(f"{pod.name}/cinder", f"backend up in {pod.az}, answering at {pod.url('cinder')}")


def _wait_volume_backend(layout: LabLayout, pod: PodLayout, timeout: float = 90.0) -> None:
    """Wait until the pod's cinder-scheduler lists the fake backend's pool."""
    deadline = time.monotonic() + timeout
    session = identity.admin_session(layout)
    url = f"{pod.url('cinder')}/scheduler-stats/get_pools"
    while time.monotonic() < deadline:
        try:
            pools = session.get(url).json()["pools"]
        except ks_exceptions.ClientException:
            pools = []
        if pools:
            return
        for binary in ("scheduler", "volume"):
            name = f"{pod.name}-cinder-{binary}"
            if not processes.alive(layout, name):
                raise processes.LabError(f"{name} exited; see {processes.log_path(layout, name)}")
        time.sleep(0.5)
    raise processes.LabError(
        f"{pod.name}-cinder-scheduler knew no volume backend within {timeout:.0f}s; "
        f"see {processes.log_path(layout, f'{pod.name}-cinder-volume')}"
    )


def start_volume_gateway(layout: LabLayout, conf: Path, progress: Progress) -> None:
    """Tricircle's Cinder API gateway (``tricircle-volume-api``) on Tricircle's config."""
    name = "tricircle-volume-api"
    argv = tricircle_argv_for(
        name,
        "tricircle.api.volume.wsgi:volume_application()",
        layout.port("volume_gateway"),
        threads=4,
        workers=2,
    )
    processes.start(
        layout,
        name,
        argv,
        env={"TRICIRCLE_CONFIG_FILES": str(conf)},
    )
    processes.wait_for_http(layout, name, layout.volume_gateway_url)
    progress("tricircle", f"volume gateway answering at {layout.volume_gateway_url}")

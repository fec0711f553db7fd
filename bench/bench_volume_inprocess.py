"""What the Cinder gateway adds to a volume show, in process, with no lab: before/after in one run.

One worker process builds the gateway as production does, from a config file: the real
``tricircle.api.volume.app`` behind keystonemiddleware's ``auth_token`` (its in-memory token
cache), oslo.policy, Tricircle's keystoneauth pod clients and a SQLite database holding the pods
and the volume's routing. The services around it are tiny HTTP/1.1 servers on 127.0.0.1 (one
thread per connection, TCP_NODELAY): a fake Keystone (version discovery, password tokens, token
validation, with a lab-sized catalog) and a fake Cinder answering one volume as Cinder shows it.

The worker times ``GET /v3/{project}/volumes/{id}`` (microversion 3.0, the demo member's token)
``--shows`` times, alternating: through the gateway app (a WSGI call in the same process; the
caller's own HTTP hop to the gateway, gunicorn's work, is not counted) and straight to the fake
Cinder over a kept-alive ``http.client`` connection. ``added`` is the gateway's p50 minus the
pod's: the gateway's own work plus its call to the pod through requests and keystoneauth.
``gateway CPU`` is the p50 CPU time of the calling thread per gateway show (all of the gateway's
work, none of the fake Cinder's), steadier than wall time on a busy machine. With ``--gunicorn``
the gateway is served as the lab serves it instead (``volume_application()`` under gunicorn, one
worker of 4 threads, Tricircle's worker class) and called over HTTP like the pod: the hop is
counted, the CPU is not measured.

With ``--src`` given twice or more, each source tree runs in its own worker process
(``PYTHONPATH=<src>``), ``--pairs`` times, in alternating order, so a before/after is measured
on the same machine at the same time (Tricircle is imported in the workers only):

    .venv/bin/python bench/bench_volume_inprocess.py --src /work/main/src --src src --pairs 6
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import logging
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fake_cinder import volume_record

HOST = "127.0.0.1"
SERVICE_TOKEN = "service-token-" + "s" * 40
USER_TOKEN = "user-token-" + "u" * 40
SERVICE_PROJECT = uuid.uuid4().hex
DEMO_PROJECT = uuid.uuid4().hex
DEMO_USER = uuid.uuid4().hex
VOLUME_ID = str(uuid.uuid4())
PASSWORD = "bench-secret"  # noqa: S105 - the fake Keystone's only password
# A lab's catalog: RegionOne's services and, per pod, the pod's own (what a token carries).
TOP_SERVICES = ("identity", "image", "tricircle", "network", "compute", "volumev3", "block-storage")
POD_SERVICES = ("network", "placement", "compute", "volumev3", "block-storage", "image")


class QuietServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 whose connections send small answers at once."""

    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler answering JSON; subclasses say what to answer."""

    protocol_version = "HTTP/1.1"

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Send ``body`` as JSON with ``status`` and ``headers``."""
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)

    def read_body(self) -> bytes:
        """The request body (Content-Length bytes)."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Silence: a log line per call would be timed too."""


def catalog(keystone_url: str, cinder_url: str, pods: int) -> list[dict[str, Any]]:
    """A v3 catalog shaped like the lab's; Pod1's volumev3 is the fake Cinder."""
    entries: list[dict[str, Any]] = []
    regions = [("RegionOne", TOP_SERVICES)] + [
        (f"Pod{i}", POD_SERVICES) for i in range(1, pods + 1)
    ]
    for region, services in regions:
        for service in services:
            if service == "identity":
                url = keystone_url
            elif region == "Pod1" and service == "volumev3":
                url = cinder_url
            else:
                url = f"http://{HOST}:1/{region.lower()}/{service}"
            entries.append(
                {
                    "id": uuid.uuid4().hex,
                    "type": service,
                    "name": service,
                    "endpoints": [
                        {
                            "id": uuid.uuid4().hex,
                            "interface": interface,
                            "region": region,
                            "region_id": region,
                            "url": url,
                        }
                        for interface in ("public", "internal", "admin")
                    ],
                }
            )
    return entries


def token_body(
    user_id: str, project_id: str, roles: list[str], entries: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """A Keystone v3 token document valid for a day, with ``entries`` as its catalog if given."""
    domain = {"id": "default", "name": "Default"}
    token: dict[str, Any] = {
        "methods": ["password"],
        "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + 86400)),
        "issued_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "user": {"id": user_id, "name": user_id, "domain": domain, "password_expires_at": None},
        "project": {"id": project_id, "name": project_id, "domain": domain},
        "roles": [{"id": uuid.uuid5(uuid.NAMESPACE_DNS, role).hex, "name": role} for role in roles],
        "audit_ids": [uuid.uuid4().hex[:22]],
        "is_domain": False,
    }
    if entries is not None:
        token["catalog"] = entries
    return {"token": token}


def keystone_handler(keystone_url: str, entries: list[dict[str, Any]]) -> type[JsonHandler]:
    """Keystone's version documents, password tokens (the service user) and token validation."""
    version = {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{keystone_url}/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }

    class FakeKeystone(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the base's naming
            path = self.path.split("?")[0].rstrip("/")
            if path == "":
                self.answer(300, {"versions": {"values": [version]}})
            elif path == "/v3":
                self.answer(200, {"version": version})
            elif path == "/v3/auth/tokens" and self.headers["X-Subject-Token"] == USER_TOKEN:
                listed = None if "nocatalog" in self.path else entries
                body = token_body(DEMO_USER, DEMO_PROJECT, ["member", "reader"], listed)
                self.answer(200, body, {"X-Subject-Token": USER_TOKEN})
            else:
                self.answer(404, {"error": {"code": 404, "message": "not here"}})

        def do_POST(self) -> None:  # noqa: N802 - the base's naming
            self.read_body()
            body = token_body("tricircle", SERVICE_PROJECT, ["admin", "service"], entries)
            self.answer(201, body, {"X-Subject-Token": SERVICE_TOKEN})

    return FakeKeystone


def volume_document(cinder_url: str) -> dict[str, Any]:
    """One available volume as Cinder shows it at 3.0."""
    link = f"{cinder_url}/{DEMO_PROJECT}/volumes/{VOLUME_ID}"
    record = volume_record(
        VOLUME_ID,
        name="bench-volume",
        availability_zone="nova-az1",
        created_at="2026-11-26T20:00:00.000000",
        updated_at="2026-11-26T20:00:01.000000",
        href=link,
        bookmark_href=link.replace("/v3/", "/"),
        user_id=DEMO_USER,
    )
    return {"volume": {**record, "os-vol-tenant-attr:tenant_id": DEMO_PROJECT}}


def cinder_handler(cinder_url: str) -> type[JsonHandler]:
    """Cinder's version document and the one volume, for any caller."""
    versions = {
        "versions": [
            {
                "id": "v3.0",
                "status": "CURRENT",
                "version": "3.71",
                "min_version": "3.0",
                "updated": "2023-08-31T00:00:00Z",
                "links": [{"rel": "self", "href": f"{cinder_url}/"}],
            }
        ]
    }
    volume = volume_document(cinder_url)

    class FakeCinder(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the base's naming
            path = self.path.split("?")[0].rstrip("/")
            if path in ("", "/v3"):
                self.answer(300 if path == "" else 200, versions)
            elif path.endswith(f"/volumes/{VOLUME_ID}"):
                self.answer(200, volume, {"x-openstack-request-id": "req-" + str(uuid.uuid4())})
            else:
                self.answer(404, {"itemNotFound": {"code": 404, "message": "not here"}})

    return FakeCinder


@contextmanager
def serving(make_handler: Callable[[str], type[JsonHandler]]) -> Iterator[str]:
    """A QuietServer on a free port answering with ``make_handler(root URL)``; yields the URL."""
    server = QuietServer((HOST, 0), JsonHandler)
    root = f"http://{HOST}:{server.server_address[1]}"
    server.RequestHandlerClass = make_handler(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()


def write_config(folder: Path, keystone_url: str) -> Path:
    """``tricircle.conf`` for the gateway: SQLite, Keystone auth, the service user for pods."""
    identity = (
        f"auth_url = {keystone_url}\nusername = tricircle\npassword = {PASSWORD}\n"
        "project_name = service\nuser_domain_name = Default\nproject_domain_name = Default\n"
    )
    path = folder / "tricircle.conf"
    path.write_text(
        f"[database]\nconnection = sqlite:///{folder / 'tricircle.sqlite'}\n"
        f"[api]\nauth_strategy = keystone\npolicy_file = {folder / 'policy.yaml'}\n"
        f"[keystone_authtoken]\nwww_authenticate_uri = {keystone_url}\nauth_type = password\n"
        f"memcached_servers =\nservice_token_roles_required = true\ninterface = public\n{identity}"
        f"[client]\n{identity}"
    )
    return path


def seed_database(url: str) -> None:
    """Tricircle's schema, RegionOne and Pod1 (az1), and the volume's routing to Pod1."""
    from tricircle.db import migrations, routings
    from tricircle.db.engine import make_engine, make_session_factory
    from tricircle.db.models import Pod
    from tricircle.db.routings import ResourceType

    engine = make_engine(url)
    migrations.upgrade(engine)
    with make_session_factory(engine).begin() as session:
        session.add(Pod(region_name="RegionOne", az_name="", pod_az_name=""))
        pod = Pod(region_name="Pod1", az_name="az1", pod_az_name="nova-az1")
        session.add(pod)
        session.flush()
        routings.route_as_itself(
            session,
            top_id=VOLUME_ID,
            pod_id=pod.pod_id,
            project_id=DEMO_PROJECT,
            resource_type=ResourceType.VOLUME,
        )
    engine.dispose()


def gateway_show(app: Any) -> Callable[[], None]:
    """A call of the gateway app's volume show as a WSGI server would make it (checked 200)."""
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(
        path=f"/v3/{DEMO_PROJECT}/volumes/{VOLUME_ID}",
        base_url="http://127.0.0.1:8776",
        headers={"X-Auth-Token": USER_TOKEN, "Accept": "application/json"},
    ).get_environ()
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    def show() -> None:
        environ = {**base, "wsgi.input": io.BytesIO(b"")}
        answer = app(environ, start_response)
        body = b"".join(answer)
        getattr(answer, "close", lambda: None)()
        if not statuses.pop().startswith("200"):
            raise RuntimeError(f"gateway answered {body[:300]!r}")

    return show


def http_show(root: str, path: str) -> Callable[[], None]:
    """A GET of ``path`` on one kept-alive connection to ``root``, with the demo member's token
    (checked 200)."""
    connection = http.client.HTTPConnection(root.removeprefix("http://"))
    headers = {"X-Auth-Token": USER_TOKEN, "Accept": "application/json"}

    def show() -> None:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{root} answered {body[:300]!r}")

    return show


@contextmanager
def gunicorn_serving(config: Path, log: Path) -> Iterator[str]:
    """The gateway's WSGI entry point under gunicorn as the lab runs it (one worker, 4 threads,
    Tricircle's worker class) on a free port; yields its root URL once it accepts connections."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"{HOST}:{port}"]
    command += ["--workers", "1", "--threads", "4", "--keep-alive", "75"]
    command += ["--worker-class", "tricircle.api.gunicorn_worker.JsonErrorWorker"]
    command += ["tricircle.api.volume.wsgi:volume_application()"]
    env = {**os.environ, "TRICIRCLE_CONFIG_FILES": str(config)}
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        f"gunicorn did not start: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield f"http://{HOST}:{port}"
    finally:
        server.terminate()
        server.wait()


def measure(shows: int, warmup: int, pods: int, gunicorn: bool) -> dict[str, list[float]]:
    """Milliseconds of each volume show through the gateway and straight to the pod: wall time
    (``gateway``, ``pod``) and, with the gateway in process, the calling thread's CPU time per
    gateway show (``gateway_cpu``: steadier on a busy machine; the fake services' threads are
    not in it)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-vshow-") as folder,
        serving(lambda root: cinder_handler(f"{root}/v3")) as cinder_root,
        serving(
            lambda root: keystone_handler(
                f"{root}/v3", catalog(f"{root}/v3", f"{cinder_root}/v3", pods)
            )
        ) as keystone_root,
        ExitStack() as stack,
    ):
        from tricircle import conf
        from tricircle.api.volume.app import create_app

        config = write_config(Path(folder), f"{keystone_root}/v3")
        # As the gateway's WSGI entry point logs (INFO), to a file instead of stderr.
        logging.basicConfig(level=logging.INFO, filename=Path(folder) / "gateway.log")
        loaded = conf.load([str(config)])
        seed_database(loaded.database.connection)
        if gunicorn:
            gateway_root = stack.enter_context(
                gunicorn_serving(config, Path(folder) / "gunicorn.log")
            )
            through_gateway = http_show(gateway_root, f"/v3/{DEMO_PROJECT}/volumes/{VOLUME_ID}")
        else:
            through_gateway = gateway_show(create_app(loaded))
        paths = {
            "gateway": through_gateway,
            "pod": http_show(cinder_root, f"/v3/volumes/{VOLUME_ID}"),
        }
        for _ in range(warmup):
            for show in paths.values():
                show()
        timings: dict[str, list[float]] = {"gateway": [], "pod": [], "gateway_cpu": []}
        for _ in range(shows):
            for name, show in paths.items():
                started, started_cpu = time.perf_counter(), time.thread_time()
                show()
                if name == "gateway" and not gunicorn:
                    timings["gateway_cpu"].append((time.thread_time() - started_cpu) * 1000)
                timings[name].append((time.perf_counter() - started) * 1000)
        return timings


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(timings: dict[str, list[float]]) -> dict[str, float]:
    """p50/p95 of both paths, the gateway's added p50 and its CPU p50, in ms."""
    gateway, pod = timings["gateway"], timings["pod"]
    return {
        "gateway_p50": statistics.median(gateway),
        "gateway_p95": percentile(gateway, 0.95),
        "pod_p50": statistics.median(pod),
        "pod_p95": percentile(pod, 0.95),
        "added_p50": statistics.median(gateway) - statistics.median(pod),
        "gateway_cpu_p50": statistics.median(timings["gateway_cpu"] or [math.nan]),
    }


def run_worker(src: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """One worker process on source tree ``src``; its timings."""
    command = [sys.executable, __file__, "--worker", "--shows", str(args.shows)]
    command += ["--warmup", str(args.warmup), "--pods", str(args.pods)]
    command += ["--gunicorn"] if args.gunicorn else []
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"worker on {src} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout)


def compare(args: argparse.Namespace) -> None:
    """Workers on every ``--src``, ``--pairs`` rounds in alternating order; a table per tree."""
    pooled: dict[str, dict[str, list[float]]] = {src: {} for src in args.src}
    added: dict[str, list[float]] = {src: [] for src in args.src}
    for round_number in range(args.pairs):
        order = args.src if round_number % 2 == 0 else list(reversed(args.src))
        for src in order:
            timings = run_worker(src, args)
            added[src].append(summary(timings)["added_p50"])
            for name, values in timings.items():
                pooled[src].setdefault(name, []).extend(values)
            print(f"round {round_number + 1} {src}: added p50 {added[src][-1]:.2f} ms", flush=True)
    print()
    print("| source | shows | gateway p50 | p95 | pod p50 | p95 | added p50 | gateway CPU | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for src in args.src:
        figures = summary(pooled[src])
        runs = ", ".join(f"{value:.2f}" for value in added[src])
        cpu = "-" if math.isnan(figures["gateway_cpu_p50"]) else f"{figures['gateway_cpu_p50']:.2f}"
        print(
            f"| {src} | {len(pooled[src]['gateway'])} | {figures['gateway_p50']:.2f} | "
            f"{figures['gateway_p95']:.2f} | {figures['pod_p50']:.2f} | {figures['pod_p95']:.2f} "
            f"| {figures['added_p50']:.2f} | {cpu} | {runs} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", action="append", default=[], help="a source tree (repeat)")
    parser.add_argument("--pairs", type=int, default=6, help="worker runs per source tree")
    parser.add_argument("--shows", type=int, default=400, help="timed shows per path per run")
    parser.add_argument("--warmup", type=int, default=50, help="untimed shows per path first")
    parser.add_argument("--pods", type=int, default=2, help="pods in the token's catalog")
    parser.add_argument(
        "--gunicorn", action="store_true", help="serve the gateway by gunicorn, as the lab does"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.shows, args.warmup, args.pods, args.gunicorn)))
    elif args.src:
        compare(args)
    else:
        timings = measure(args.shows, args.warmup, args.pods, args.gunicorn)
        print(json.dumps({key: round(value, 3) for key, value in summary(timings).items()}))


if __name__ == "__main__":
    main()

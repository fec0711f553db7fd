"""Volume list latency through the Cinder gateway in process vs the slowest pod alone.

The gateway app runs in process (noauth, a throwaway SQLite database) and calls its pods over
real HTTP (keystoneauth, requests) on 127.0.0.1: each pod is a small threaded HTTP server
answering ``/volumes/detail`` after ``--latency-ms`` with ``--per-pod`` detailed volumes shaped
like Cinder's at 3.71 (their type a copy of a top type, so type IDs are translated). The pod
alone is timed through the same keystoneauth session, as bench_volume.py times it on the lab.

Shown per layout: gateway and slowest-pod p50, the gateway's CPU time per request, and what one
warm list costs beyond the pods' pages: database statements and pod calls. ``--profile N``
prints the cProfile of N warm requests instead (sorted by cumulative time).

    .venv/bin/python bench/bench_volume_lists.py --per-pod 10 --rounds 200
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pstats
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from keystoneauth1 import adapter, session
from oslo_config import cfg
from sqlalchemy import Engine, event

from fake_cinder import volume_record
from tricircle import conf as tricircle_conf
from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.volume.app import create_app
from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod, ResourceRouting, VolumeType
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodClients

PROJECT = "bench-project"
HEADERS = {"X-Project-Id": PROJECT, "X-User-Id": "bench", "X-Roles": "member"}
URL = "/v3/volumes/detail?limit=1000"
TOP_TYPE = "top-type-0000-0000-0000-000000000000"


def volume(region: str, endpoint: str, index: int, bottom_type: str) -> dict[str, Any]:
    """A detailed volume of Cinder's 3.71 shape as a project member sees it."""
    volume_id = f"{region.lower()}-{index:04d}-0000-0000-000000000000"
    link = f"{endpoint}/{PROJECT}/volumes/{volume_id}"
    record = volume_record(
        volume_id,
        name=f"bench-{index:04d}",
        availability_zone=f"{region}-az",
        created_at=f"2026-11-25T00:{index // 60:02d}:{index % 60:02d}.000000",
        updated_at="2026-11-25T01:00:00.000000",
        href=link,
        bookmark_href=link,
        user_id="bench",
    )
    return {
        **record,
        "volume_type_id": bottom_type,
        "group_id": None,
        "provider_id": None,
        "service_uuid": "5c0e3b8b-0000-0000-0000-000000000000",
        "shared_targets": False,
        "cluster_name": None,
        "consumes_quota": True,
    }


class PodServer:
    """One pod's Cinder over HTTP in a process of its own (so it takes none of the gateway's
    GIL): sorted pages of pre-encoded volumes after a latency; ``/hits`` counts the pages."""

    def __init__(self, region: str, per_pod: int, latency: float) -> None:
        self.region = region
        self.bottom_type = f"{region.lower()}-type"
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_serve, args=(child, region, per_pod, latency, self.bottom_type), daemon=True
        )
        self.process.start()
        self.endpoint = f"http://127.0.0.1:{parent.recv()}/v3"

    @property
    def hits(self) -> int:
        """Pages served so far."""
        with urllib.request.urlopen(f"{self.endpoint}/hits") as answer:
            return int(answer.read())

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


def _serve(pipe: Any, region: str, per_pod: int, latency: float, bottom_type: str) -> None:
    """A pod's HTTP server (the child process's whole life)."""
    hits = 0
    texts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            nonlocal hits
            parts = urlsplit(self.path)
            if parts.path.endswith("/hits"):
                body = str(hits).encode()
            else:
                hits += 1
                time.sleep(latency)
                limit = int(parse_qs(parts.query).get("limit", ["1000"])[0])
                body = f'{{"volumes": [{",".join(texts[:limit])}]}}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-openstack-request-id", "req-pod")
            self.send_header("OpenStack-API-Version", "volume 3.71")
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    endpoint = f"http://127.0.0.1:{httpd.server_port}/v3"
    records = [volume(region, endpoint, index, bottom_type) for index in range(per_pod)]
    records.sort(key=lambda v: (v["created_at"], v["id"]), reverse=True)
    texts.extend(json.dumps(record) for record in records)
    pipe.send(httpd.server_port)
    httpd.serve_forever()


class LocalPods(PodClients):
    """Pod clients reaching each PodServer through keystoneauth, endpoints given, not looked up."""

    def __init__(self, servers: dict[str, PodServer]) -> None:
        super().__init__(session.Session(), connect_timeout=2, read_timeout=10)
        self.servers = servers

    def endpoint_override(self, region_name: str, service_type: str) -> str:
        """The PodServer's endpoint, whatever the service."""
        return self.servers[region_name].endpoint

    def reachable(self, region_name: str, service_type: str) -> bool:
        return True

    def maximum(self, region_name: str, service_type: str) -> Microversion:
        return Microversion(3, 71)


def make_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    conf.set_override("auth_strategy", "noauth", group="api")
    return conf


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def seed(session_factory: Any, servers: dict[str, PodServer]) -> None:
    """RegionOne, the pods, a top volume type and its copy in every pod."""
    with session_factory.begin() as db:
        db.add(Pod(region_name="RegionOne", az_name="", pod_az_name=""))
        db.add(VolumeType(id=TOP_TYPE, name="lvmdriver-1"))
        for index, (region, server) in enumerate(servers.items(), 1):
            pod = Pod(region_name=region, az_name=f"az{index}", pod_az_name=f"{region}-az")
            db.add(pod)
            db.flush()
            db.add(
                ResourceRouting(
                    top_id=TOP_TYPE,
                    bottom_id=server.bottom_type,
                    pod_id=pod.pod_id,
                    project_id="tricircle",
                    resource_type=ResourceType.VOLUME_TYPE,
                )
            )


def timed(client: FlaskClient, direct: adapter.Adapter, rounds: int) -> tuple[list, list, list]:
    """Gateway wall ms, gateway CPU ms, slowest pod wall ms, ``rounds`` each, interleaved."""
    through, cpu, alone = [], [], []
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        answer = client.get(URL, headers=HEADERS)
        through.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        started = time.perf_counter()
        direct.get("/volumes/detail", params={"limit": "1000"}, raise_exc=True).json()
        alone.append((time.perf_counter() - started) * 1000)
    return through, cpu, alone


def run(args: argparse.Namespace, pods: int, holding: int) -> None:
    latency = args.latency_ms / 1000
    servers = {
        f"Pod{index}": PodServer(f"Pod{index}", args.per_pod if index <= holding else 0, latency)
        for index in range(1, pods + 1)
    }
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'bench.sqlite'}")
        migrations.upgrade(engine)
        session_factory = make_session_factory(engine)
        seed(session_factory, servers)
        local = LocalPods(servers)
        app = create_app(make_conf(), Overrides(session_factory, local, local))
        client = app.test_client()
        listed = client.get(URL, headers=HEADERS).get_json()["volumes"]
        assert len(listed) == args.per_pod * holding, len(listed)
        assert all(v["volume_type_id"] == TOP_TYPE for v in listed)
        hits = sum(server.hits for server in servers.values())
        with counted_statements(engine) as statements:
            client.get(URL, headers=HEADERS)
        calls = sum(server.hits for server in servers.values()) - hits
        direct = adapter.Adapter(session.Session(), endpoint_override=servers["Pod1"].endpoint)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.profile):
                client.get(URL, headers=HEADERS)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        else:
            timed(client, direct, 20)
            through, cpu, alone = timed(client, direct, args.rounds)
            g50, s50 = statistics.median(through), statistics.median(alone)
            print(
                f"| {args.per_pod * holding} | {holding} of {pods} | {g50:.2f} | {s50:.2f} |"
                f" {g50 - s50:.2f} | {g50 / s50:.2f} | {statistics.median(cpu):.2f} |"
                f" {len(statements)} | {calls} |",
                flush=True,
            )
        engine.dispose()
    for server in servers.values():
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-pod", type=int, default=10)
    parser.add_argument("--pods", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--profile", type=int, default=0, help="profile this many requests")
    parser.add_argument("--top", type=int, default=45, help="profile lines shown")
    args = parser.parse_args()
    if not args.profile:
        print(
            "| volumes | pods holding them | gateway p50 ms | slowest pod p50 ms | overhead ms |"
            " ratio p50 | CPU p50 ms | SQL / warm list | pod calls / warm list |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for holding in range(1, args.pods + 1):
        run(args, args.pods, holding)


if __name__ == "__main__":
    main()

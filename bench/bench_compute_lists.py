"""Server list latency through the Nova gateway over many pods vs the slowest pod alone.

The gateway app runs in process (noauth, a throwaway SQLite database) with fake pods: each pod
answers a ``/servers/detail`` page after ``--latency-ms`` (the slowest pod a further
``--slowest-extra-ms``) from ``--per-pod`` detailed server documents shaped like Nova's; with
``--json`` as JSON text decoded on the calling pool thread, as a real answer is (without, the
records themselves, as the figures before it were made). The fake pods hold a pool thread for
their latency, as a blocking HTTP call does, but open no connection. The figures are the
gateway's own cost (Flask, the pod-call pool, the cross-pod lister, view rewriting, and with
``--json`` decoding) over the slowest pod; bench_compute.py measures the same path on the lab.

Timed: the first page (``limit=1000``, Nova's default maximum; more servers than that leave a
next link). Checked once per size, untimed: following the next links lists every server once.
Also shown: the process's CPU time per request (every thread's; steadier than wall time on a
shared machine), the threads of the gateway's pod-call pool after the run (``[gateway]
pod_call_workers``, ``--workers``) and the Python memory one first-page request allocates at its
peak (tracemalloc, a separate request).

    .venv/bin/python bench/bench_compute_lists.py --pods 4,16,64,128 --per-pod 50 --rounds 30
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from flask.testing import FlaskClient
from oslo_config import cfg

from tricircle import conf as tricircle_conf
from tricircle.api.compute.app import create_app
from tricircle.api.compute.state import EXTENSION
from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.podcalls import PodAnswer
from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod, ResourceRouting
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodClients
from tricircle.pods.versions import PodVersions

HEADERS = {"X-Project-Id": "bench", "X-User-Id": "bench", "X-Roles": "member"}
FIRST_PAGE = 1000


class FixedVersions(PodVersions):
    def __init__(self) -> None:
        pass

    def maximum(self, region_name: str, service_type: str) -> Microversion | None:
        return Microversion(2, 100)

    def reachable(self, region_name: str, service_type: str) -> bool:
        return True


def server(region: str, index: int) -> dict:
    """A detailed server document of Nova's shape (about the size of a real one)."""
    server_id = f"{region.lower()}-{index:04d}-0000-0000-000000000000"
    return {
        "id": server_id,
        "name": f"bench-{(index * 7919) % 1000:04d}",
        "status": "ACTIVE",
        "tenant_id": "bench",
        "user_id": "bench",
        "metadata": {},
        "hostId": "a" * 56,
        "image": {"id": "img", "links": [{"rel": "bookmark", "href": "http://pod/images/img"}]},
        "flavor": {
            "vcpus": 1,
            "ram": 512,
            "disk": 1,
            "ephemeral": 0,
            "swap": 0,
            "original_name": "m1.tiny",
            "extra_specs": {},
        },
        "created": f"2026-11-25T00:{index // 60:02d}:{index % 60:02d}Z",
        "updated": "2026-11-25T01:00:00Z",
        "addresses": {},
        "accessIPv4": "",
        "accessIPv6": "",
        "links": [
            {"rel": "self", "href": f"http://pod:8774/v2.1/servers/{server_id}"},
            {"rel": "bookmark", "href": f"http://pod:8774/servers/{server_id}"},
        ],
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": f"{region}-az",
        "config_drive": "",
        "key_name": None,
        "OS-SRV-USG:launched_at": "2026-11-25T00:00:03.000000",
        "OS-SRV-USG:terminated_at": None,
        "security_groups": [{"name": "default"}],
        "OS-EXT-STS:task_state": None,
        "OS-EXT-STS:vm_state": "active",
        "OS-EXT-STS:power_state": 1,
        "os-extended-volumes:volumes_attached": [],
        "locked": False,
        "description": None,
        "tags": [],
        "trusted_image_certificates": None,
        "server_groups": [],
        "locked_reason": None,
    }


class LatencyPods:
    """Pods answering sorted pages after a fixed latency (the slowest one later still); with
    ``decode``, as JSON text decoded by the caller, else as the records themselves."""

    def __init__(
        self,
        regions: list[str],
        per_pod: int,
        latency: float,
        slowest: str,
        extra: float,
        decode: bool,
    ):
        self.latency = {region: latency + (extra if region == slowest else 0) for region in regions}
        self.decode = decode
        self.records = {
            region: sorted(
                (server(region, index) for index in range(per_pod)),
                key=lambda s: (s["created"], s["id"]),
                reverse=True,
            )
            for region in regions
        }
        self.texts = {
            region: [json.dumps(record) for record in records]
            for region, records in self.records.items()
        }

    def call(
        self,
        who: object,
        region_name: str,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        timeout: float | None = None,
        **_kw: object,
    ) -> PodAnswer:
        time.sleep(self.latency[region_name])
        ids = [s["id"] for s in self.records[region_name]]
        if path != "/servers/detail":  # the marker server
            index = ids.index(path.rsplit("/", 1)[-1])
            return self._answer("server", region_name, index, index + 1)
        query = dict(params or [])
        start = ids.index(query["marker"]) + 1 if "marker" in query else 0
        return self._answer("servers", region_name, start, start + int(query["limit"]))

    def _answer(self, key: str, region_name: str, start: int, end: int) -> PodAnswer:
        """Records ``start:end`` of the pod under ``key`` (one record for ``server``)."""
        if not self.decode:
            records = self.records[region_name][start:end]
            return PodAnswer(200, {key: records[0] if key == "server" else records}, {})
        listed = ",".join(self.texts[region_name][start:end])
        text = f'{{"{key}": {listed if key == "server" else f"[{listed}]"}}}'
        return PodAnswer(200, json.loads(text), {})


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def make_conf(workers: int | None = None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    conf.set_override("auth_strategy", "noauth", group="api")
    if workers is not None:
        conf.set_override("pod_call_workers", workers, group="gateway")
    return conf


def listed_by_paging(client: FlaskClient, url: str) -> list[str]:
    """Every server ID, following ``servers_links`` from ``url``."""
    ids: list[str] = []
    while url:
        body = client.get(url, headers=HEADERS).get_json()
        ids += [server["id"] for server in body["servers"]]
        links = [link["href"] for link in body.get("servers_links", []) if link["rel"] == "next"]
        url = links[0].removeprefix("http://localhost") if links else ""
    return ids


def peak_request_bytes(client: FlaskClient, url: str) -> int:
    """Python memory one request allocates at its peak, above what was held before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        client.get(url, headers=HEADERS)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def pool_threads() -> int:
    """Live threads of the gateway's pod-call pool."""
    return sum(thread.name.startswith("tricircle-pod") for thread in threading.enumerate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", default="4,16,64,128")
    parser.add_argument("--per-pod", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--slowest-extra-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, help="[gateway] pod_call_workers (its default)")
    parser.add_argument(
        "--json", action="store_true", help="pods answer JSON text, decoded on the pool's threads"
    )
    args = parser.parse_args()
    print(
        "| pods | servers | listed | gateway p50 ms | gateway p95 ms | slowest pod p50 ms"
        " | overhead p50 ms | ratio p50 | CPU p50 ms | pool threads | peak KiB / request |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count in (int(value) for value in args.pods.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            engine = make_engine(f"sqlite:///{Path(scratch) / 'bench.sqlite'}")
            migrations.upgrade(engine)
            session_factory = make_session_factory(engine)
            regions = [f"Pod{index}" for index in range(1, count + 1)]
            pods = LatencyPods(
                regions,
                args.per_pod,
                args.latency_ms / 1000,
                regions[-1],
                args.slowest_extra_ms / 1000,
                args.json,
            )
            with session_factory.begin() as session:
                session.add(Pod(region_name="RegionOne", az_name=""))
                bottom_pods = [
                    Pod(region_name=region, az_name=f"az{index}", pod_az_name=f"{region}-az")
                    for index, region in enumerate(regions, 1)
                ]
                session.add_all(bottom_pods)
                session.flush()
                session.add_all(  # where a next link's marker server lives
                    ResourceRouting(
                        top_id=record["id"],
                        bottom_id=record["id"],
                        pod_id=pod.pod_id,
                        project_id="bench",
                        resource_type=ResourceType.SERVER,
                    )
                    for pod in bottom_pods
                    for record in pods.records[pod.region_name]
                )
            clients = PodClients(None, connect_timeout=1, read_timeout=1)  # type: ignore[arg-type]
            conf = make_conf(args.workers)
            app = create_app(conf, Overrides(session_factory, clients, FixedVersions()))
            app.extensions[EXTENSION].calls = pods
            client = app.test_client()
            url = f"/v2.1/servers/detail?limit={FIRST_PAGE}"
            listed = len(client.get(url, headers=HEADERS).get_json()["servers"])
            assert listed == min(count * args.per_pod, FIRST_PAGE), listed
            every = [s for records in pods.records.values() for s in records]
            every.sort(key=lambda s: (s["created"], s["id"]), reverse=True)
            assert listed_by_paging(client, url) == [s["id"] for s in every]
            through, alone, cpu = [], [], []
            for _ in range(args.rounds):
                started, cpu_started = time.perf_counter(), time.process_time()
                client.get(url, headers=HEADERS)
                through.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                started = time.perf_counter()
                params = [("limit", str(FIRST_PAGE + 1))]
                pods.call(None, regions[-1], "GET", "/servers/detail", params=params)
                alone.append((time.perf_counter() - started) * 1000)
            peak = max(peak_request_bytes(client, url) for _ in range(3))
            threads = pool_threads()
            engine.dispose()
        g50, g95 = percentiles(through)
        s50, _ = percentiles(alone)
        print(
            f"| {count} | {count * args.per_pod} | {listed} | {g50:.1f} | {g95:.1f} | {s50:.1f} |"
            f" {g50 - s50:.1f} | {g50 / s50:.2f} | {statistics.median(cpu):.1f} | {threads} |"
            f" {peak // 1024} |",
            flush=True,
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\nprocess peak RSS {rss} MiB")


if __name__ == "__main__":
    main()

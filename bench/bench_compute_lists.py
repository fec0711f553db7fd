"""Server list latency through the Nova gateway over 1, 2 and 4 pods vs the slowest pod alone.

The gateway app runs in process (noauth, a throwaway SQLite database) with fake pods: each pod
answers a ``/servers/detail`` page after ``--latency-ms`` (the slowest pod a further
``--slowest-extra-ms``) from ``--per-pod`` detailed server documents shaped like Nova's. The
figures are the gateway's own cost (Flask, the cross-pod lister, view rewriting) over the slowest
pod; bench_compute.py measures the same path on the real lab.

    .venv/bin/python bench/bench_compute_lists.py --pods 1,2,4 --per-pod 50 --rounds 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from oslo_config import cfg

from tricircle import conf as tricircle_conf
from tricircle.api.compute.app import create_app
from tricircle.api.compute.state import EXTENSION
from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.podcalls import PodAnswer
from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod
from tricircle.pods.client import PodClients
from tricircle.pods.versions import PodVersions

HEADERS = {"X-Project-Id": "bench", "X-User-Id": "bench", "X-Roles": "member"}


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
    """Pods answering sorted pages after a fixed latency (the slowest one later still)."""

    def __init__(
        self, regions: list[str], per_pod: int, latency: float, slowest: str, extra: float
    ):
        self.latency = {region: latency + (extra if region == slowest else 0) for region in regions}
        self.records = {
            region: sorted(
                (server(region, index) for index in range(per_pod)),
                key=lambda s: (s["created"], s["id"]),
                reverse=True,
            )
            for region in regions
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
        query = dict(params or [])
        records = self.records[region_name]
        if "marker" in query:
            records = records[[s["id"] for s in records].index(query["marker"]) + 1 :]
        return PodAnswer(200, {"servers": records[: int(query["limit"])]}, {})


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def make_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    conf.set_override("auth_strategy", "noauth", group="api")
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", default="1,2,4")
    parser.add_argument("--per-pod", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--slowest-extra-ms", type=float, default=20.0)
    args = parser.parse_args()
    print(
        "| pods | servers | gateway p50 ms | gateway p95 ms | slowest pod p50 ms | overhead p50 ms"
        " | ratio p50 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count in (int(value) for value in args.pods.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            engine = make_engine(f"sqlite:///{Path(scratch) / 'bench.sqlite'}")
            migrations.upgrade(engine)
            session_factory = make_session_factory(engine)
            regions = [f"Pod{index}" for index in range(1, count + 1)]
            with session_factory.begin() as session:
                session.add(Pod(region_name="RegionOne", az_name=""))
                session.add_all(
                    Pod(region_name=region, az_name=f"az{index}", pod_az_name=f"{region}-az")
                    for index, region in enumerate(regions, 1)
                )
            clients = PodClients(None, connect_timeout=1, read_timeout=1)  # type: ignore[arg-type]
            app = create_app(make_conf(), Overrides(session_factory, clients, FixedVersions()))
            pods = LatencyPods(
                regions,
                args.per_pod,
                args.latency_ms / 1000,
                regions[-1],
                args.slowest_extra_ms / 1000,
            )
            app.extensions[EXTENSION].calls = pods
            client = app.test_client()
            url = "/v2.1/servers/detail?limit=1000"
            assert (
                len(client.get(url, headers=HEADERS).get_json()["servers"]) == count * args.per_pod
            )
            through, alone = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                client.get(url, headers=HEADERS)
                through.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                pods.call(None, regions[-1], "GET", "/servers/detail", params=[("limit", "1001")])
                alone.append((time.perf_counter() - started) * 1000)
            engine.dispose()
        g50, g95 = percentiles(through)
        s50, _ = percentiles(alone)
        print(
            f"| {count} | {count * args.per_pod} | {g50:.1f} | {g95:.1f} | {s50:.1f} |"
            f" {g50 - s50:.1f} | {g50 / s50:.2f} |"
        )


if __name__ == "__main__":
    main()

"""Soak on a running lab: mixed calls by several clients while one pod's Nova API keeps dying.

``--clients`` threads, as the demo user through RegionOne, loop over a seeded mix for
``--minutes``: boot a server (az1 or az2, on a network of the central Neutron), list
``/servers/detail`` (2.69), show and delete one of their servers, add or remove their own
subnet on a shared router (the central Neutron; ``router_setup`` jobs follow). Every
``--kill-every`` seconds Pod2's Nova API is SIGKILLed, left down ``--down-seconds`` and started
again (``tricircle.lab.faults``). Each call is recorded with what it touches (``Pod1``, ``Pod2``,
``all`` for lists, ``central`` for routers) and whether it overlapped a window where Pod2's Nova
was down (kill to answering again, plus ``--grace`` seconds). At the end every server is deleted
and ``tricircle reconcile --dry-run`` counts what drifted (goal: nothing).

    .venv/bin/python bench/bench_soak.py --dir .lab --minutes 10 --clients 8 --kill-every 120
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from keystoneauth1 import adapter, session
from keystoneauth1 import exceptions as ks_exceptions

from bench_compute import compute, demo_session, lab_image_id
from tricircle.lab import faults
from tricircle.lab.layout import TOP_REGION, LabLayout

KILLED = "pod2-nova-api"
KILLED_REGION = "Pod2"
AZ_REGION = {"az1": "Pod1", "az2": "Pod2"}
MIX = (("boot", 25), ("list", 35), ("show", 20), ("delete", 10), ("router", 10))
MAX_SERVERS = 2


@dataclass
class Call:
    """One request: what it did, what it touched, when, how long, how it ended."""

    op: str
    touches: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection reset, timeout)


@dataclass
class Soak:
    """Shared state of one run: the calls, the down windows, the servers left to delete."""

    calls: list[Call] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)  # server ID -> az
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


def timed_call(
    soak: Soak, op: str, touches: str, request: Callable[[], requests.Response]
) -> requests.Response | None:
    """Run ``request`` (returns a keystoneauth response); record it; the response or None."""
    started = time.monotonic()
    try:
        response = request()
        status = response.status_code
    except (ks_exceptions.ConnectFailure, ks_exceptions.RequestTimeout):
        response, status = None, 0
    soak.record(Call(op, touches, started, time.monotonic(), status))
    return response


def client_loop(
    soak: Soak,
    index: int,
    user: session.Session,
    network_id: str,
    subnet_id: str,
    router_id: str,
    image: str,
    seed: int,
) -> None:
    """One client: the seeded mix until the soak stops."""
    rng = random.Random(seed + index)
    api = compute(user, TOP_REGION)
    neutron = adapter.Adapter(user, service_type="network", region_name=TOP_REGION)
    mine: list[tuple[str, str]] = []
    attached = False
    ops, weights = zip(*MIX, strict=True)
    while not soak.stop.is_set():
        op = rng.choices(ops, weights)[0]
        if op == "boot" and len(mine) < MAX_SERVERS:
            az = rng.choice(("az1", "az2"))
            body = {
                "server": {
                    "name": f"soak-{index}-{uuid.uuid4().hex[:6]}",
                    "flavorRef": "1",
                    "imageRef": image,
                    "availability_zone": az,
                    "networks": [{"uuid": network_id}],
                }
            }
            answer = timed_call(
                soak,
                "boot",
                AZ_REGION[az],
                lambda b=body: api.post("/servers", json=b, raise_exc=False),
            )
            if answer is not None and answer.status_code == 202:
                server_id = answer.json()["server"]["id"]
                mine.append((server_id, az))
                with soak.lock:
                    soak.servers[server_id] = az
        elif op == "list":
            timed_call(
                soak,
                "list",
                "all",
                lambda: api.get(
                    "/servers/detail",
                    headers={"OpenStack-API-Version": "compute 2.69"},
                    raise_exc=False,
                ),
            )
        elif op == "show" and mine:
            server_id, az = rng.choice(mine)
            timed_call(
                soak,
                "show",
                AZ_REGION[az],
                lambda s=server_id: api.get(f"/servers/{s}", raise_exc=False),
            )
        elif op == "delete" and mine:
            server_id, az = mine[0]
            answer = timed_call(
                soak,
                "delete",
                AZ_REGION[az],
                lambda s=server_id: api.delete(f"/servers/{s}", raise_exc=False),
            )
            if answer is not None and answer.status_code in (204, 404):
                mine.pop(0)
        elif op == "router":
            action = "remove_router_interface" if attached else "add_router_interface"
            answer = timed_call(
                soak,
                "router",
                "central",
                lambda a=action: neutron.put(
                    f"/v2.0/routers/{router_id}/{a}", json={"subnet_id": subnet_id}, raise_exc=False
                ),
            )
            if answer is not None and answer.status_code == 200:
                attached = not attached


def killer(soak: Soak, layout: LabLayout, every: float, down: float, grace: float) -> None:
    """Every ``every`` s: SIGKILL Pod2's Nova API, wait ``down`` s, restart it; record windows."""
    while not soak.stop.wait(every):
        started = time.monotonic()
        faults.stop(layout, KILLED, signal.SIGKILL)
        time.sleep(down)
        faults.restart(layout, KILLED)
        soak.windows.append((started, time.monotonic() + grace))
        print(f"  {KILLED} down {time.monotonic() - started:.1f}s", flush=True)


def overlaps(call: Call, windows: list[tuple[float, float]]) -> bool:
    return any(call.started < end and call.ended > start for start, end in windows)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def setup(user: session.Session, clients: int, tag: str) -> tuple[adapter.Adapter, dict]:
    """A shared network for boots, one subnet per client for router changes, one router."""
    neutron = adapter.Adapter(user, service_type="network", region_name=TOP_REGION)
    made: dict = {"networks": [], "subnets": []}

    def network(name: str, cidr: str) -> tuple[str, str]:
        net = neutron.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
        sub = {"network_id": net["id"], "cidr": cidr, "ip_version": 4}
        subnet = neutron.post("/v2.0/subnets", json={"subnet": sub}).json()["subnet"]
        made["networks"].append(net["id"])
        made["subnets"].append(subnet["id"])
        return net["id"], subnet["id"]

    made["boot_network"], _ = network(f"soak-{tag}", "10.240.0.0/20")
    made["client_subnets"] = [
        network(f"soak-{tag}-{i}", f"10.241.{i}.0/24")[1] for i in range(clients)
    ]
    router = neutron.post("/v2.0/routers", json={"router": {"name": f"soak-{tag}"}}).json()
    made["router"] = router["router"]["id"]
    return neutron, made


def teardown(soak: Soak, user: session.Session, neutron: adapter.Adapter, made: dict) -> None:
    """Delete every server the soak made, then the router and networks."""
    api = compute(user, TOP_REGION)
    for server_id in list(soak.servers):
        api.delete(f"/servers/{server_id}", raise_exc=False)
    deadline = time.monotonic() + 300
    for server_id in list(soak.servers):
        while time.monotonic() < deadline:
            if api.get(f"/servers/{server_id}", raise_exc=False).status_code == 404:
                break
            time.sleep(1)
    for subnet_id in made["client_subnets"]:
        neutron.put(
            f"/v2.0/routers/{made['router']}/remove_router_interface",
            json={"subnet_id": subnet_id},
            raise_exc=False,
        )
    neutron.delete(f"/v2.0/routers/{made['router']}", raise_exc=False)
    for network_id in made["networks"]:
        while time.monotonic() < deadline:
            if neutron.delete(f"/v2.0/networks/{network_id}", raise_exc=False).status_code in (
                204,
                404,
            ):
                break
            time.sleep(2)


def reconcile_findings(layout: LabLayout, project_id: str) -> list[str]:
    """``tricircle reconcile --dry-run`` for the demo project: its summary lines."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tricircle.cli",
            "--config-file",
            str(layout.root / "tricircle" / "tricircle.conf"),
            "reconcile",
            "--dry-run",
            "--project",
            project_id,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return result.stdout.strip().splitlines()


def report(soak: Soak, findings: list[str], duration: float) -> dict:
    """Per op: count, p50/p99 ms, 5xx and no-answer counts inside and outside the windows."""
    rows = {}
    by_op: dict[str, list[Call]] = collections.defaultdict(list)
    for call in soak.calls:
        by_op[call.op].append(call)
    for op, calls in sorted(by_op.items()):
        latencies = [(c.ended - c.started) * 1000 for c in calls]
        failed = [c for c in calls if c.status >= 500 or c.status == 0]
        rows[op] = {
            "calls": len(calls),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "5xx_in_windows": sum(overlaps(c, soak.windows) for c in failed),
            "5xx_outside_windows": sum(not overlaps(c, soak.windows) for c in failed),
            "5xx_not_touching_pod2": sum(c.touches in ("Pod1", "central") for c in failed),
        }
    statuses = collections.Counter(c.status for c in soak.calls)
    return {
        "seconds": round(duration),
        "calls": len(soak.calls),
        "kills": len(soak.windows),
        "down_seconds": [round(end - start, 1) for start, end in soak.windows],
        "statuses": dict(sorted(statuses.items())),
        "ops": rows,
        "reconcile_dry_run": findings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(".lab"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-every", type=float, default=120.0)
    parser.add_argument("--down-seconds", type=float, default=20.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    layout = LabLayout.load(args.dir.resolve())
    if layout is None:
        parser.error(f"no lab in {args.dir}; start one with `tricircle lab up`")
    user = demo_session(layout)
    image = lab_image_id(layout)
    tag = uuid.uuid4().hex[:6]
    neutron, made = setup(user, args.clients, tag)
    soak = Soak()
    threads = [
        threading.Thread(
            target=client_loop,
            args=(soak, i, user, made["boot_network"], made["client_subnets"][i], made["router"]),
            kwargs={"image": image, "seed": args.seed},
            daemon=True,
        )
        for i in range(args.clients)
    ]
    kill_thread = threading.Thread(
        target=killer,
        args=(soak, layout, args.kill_every, args.down_seconds, args.grace),
        daemon=True,
    )
    started = time.monotonic()
    for thread in [*threads, kill_thread]:
        thread.start()
    soak.stop.wait(args.minutes * 60)
    soak.stop.set()
    for thread in threads:
        thread.join(300)
    kill_thread.join(300)
    faults.restart(layout, KILLED)
    duration = time.monotonic() - started
    teardown(soak, user, neutron, made)
    findings = reconcile_findings(layout, user.get_project_id())
    print(json.dumps(report(soak, findings, duration), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

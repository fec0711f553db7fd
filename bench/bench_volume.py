"""Volume create and show through the Cinder gateway (RegionOne) vs straight to the pod.

Runs against a lab that is up (``tricircle lab up``), as the demo member with a token fetched
beforehand. Each round creates one volume in the pod's AZ (timed to the 202), waits until it is
available (not timed), shows it ``--shows`` times (each timed), deletes it and waits until it is
gone, so the project's quota is never reached. Rounds alternate between the gateway and the pod.

    .venv/bin/python bench/bench_volume.py --dir .lab --rounds 10 --shows 10

``--part lists`` instead times ``GET /volumes/detail?limit=1000`` through the gateway against
the slowest pod alone, calls interleaved, with ``--per-pod`` volumes made directly in the first
pod, then in every pod (the gateway lists from the pods; no routing is needed to list):

    .venv/bin/python bench/bench_volume.py --dir .lab --part lists --per-pod 10 --rounds 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from keystoneauth1 import adapter, session
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.identity import v3

from bench_compute import list_row, list_table_header
from tricircle.lab import identity
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, TOP_REGION, LabLayout

MICROVERSION = "3.0"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def one_round(volumes: adapter.Adapter, az: str, shows: int) -> tuple[float, list[float]]:
    """Create (timed), wait, show ``shows`` times (timed), delete; seconds of each call."""
    started = time.perf_counter()
    volume = volumes.post(
        "/volumes", json={"volume": {"size": 1, "availability_zone": az, "name": "bench"}}
    ).json()["volume"]
    create_seconds = time.perf_counter() - started
    path = f"/volumes/{volume['id']}"

    def status() -> str:
        return volumes.get(path).json()["volume"]["status"]

    wait_for(lambda: status() == "available", 60, f"volume {volume['id']} available")
    show_seconds = []
    for _ in range(shows):
        started = time.perf_counter()
        volumes.get(path)
        show_seconds.append(time.perf_counter() - started)
    volumes.delete(path)

    def gone() -> bool:
        try:
            volumes.get(path)
        except ks_exceptions.NotFound:
            return True
        return False

    wait_for(gone, 60, f"volume {volume['id']} deleted")
    return create_seconds, show_seconds


LIST_PREFIX = "bench-vlist-"


def volumes_api(user: session.Session, region: str) -> adapter.Adapter:
    """Cinder v3 of ``region`` as ``user`` at the bench's microversion."""
    return adapter.Adapter(
        user, service_type="volumev3", region_name=region, default_microversion=MICROVERSION
    )


def p50_p95(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of ``samples`` (seconds) in ms."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def make_volumes(user: session.Session, region: str, az: str, count: int) -> None:
    """``count`` 1 GiB volumes made directly in the pod, waited until available."""
    volumes = volumes_api(user, region)

    def one(index: int) -> str:
        body = {"volume": {"size": 1, "availability_zone": az, "name": f"{LIST_PREFIX}{index:03d}"}}
        return volumes.post("/volumes", json=body).json()["volume"]["id"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = set(pool.map(one, range(count)))

    def available() -> bool:
        listed = volumes.get("/volumes/detail", params={"limit": "1000"}).json()["volumes"]
        return sum(v["id"] in made and v["status"] == "available" for v in listed) == count

    wait_for(available, 300, f"{count} volumes available in {region}")


def bench_lists(layout: LabLayout, user: session.Session, args: argparse.Namespace) -> None:
    """Lists over 1..N pods holding ``--per-pod`` volumes each, gateway vs the slowest pod."""
    admin = identity.admin_session(layout)
    project_id = user.get_project_id()
    pods = layout.pod_layouts
    quota = {"quota_set": {"volumes": 4 * args.per_pod, "gigabytes": 8 * args.per_pod}}
    for pod in pods:
        volumes_api(admin, pod.region).put(f"/os-quota-sets/{project_id}", json=quota)
    gateway = volumes_api(user, TOP_REGION)
    query = {"limit": "1000"}
    print(list_table_header("volumes"))
    holding: list[str] = []
    try:
        for pod in pods:
            make_volumes(user, pod.region, pod.az, args.per_pod)
            holding.append(pod.region)
            through: list[float] = []
            direct: dict[str, list[float]] = {region: [] for region in holding}
            for _ in range(args.rounds):
                for api, samples in [(gateway, through)] + [
                    (volumes_api(user, region), direct[region]) for region in holding
                ]:
                    started = time.perf_counter()
                    api.get("/volumes/detail", params=query)
                    samples.append(time.perf_counter() - started)
            slowest = max(direct.values(), key=statistics.median)
            listed = args.per_pod * len(holding)
            gateway_ms, slowest_ms = p50_p95(through), p50_p95(slowest)
            print(list_row(listed, len(holding), len(pods), gateway_ms, slowest_ms))
    finally:
        for pod in pods:
            volumes = volumes_api(user, pod.region)
            listed = volumes.get("/volumes", params={"limit": "1000"}).json()["volumes"]
            for volume in listed:
                if (volume.get("name") or "").startswith(LIST_PREFIX):
                    volumes.delete(f"/volumes/{volume['id']}", raise_exc=False)


def main() -> None:
    """Run the rounds and print one line per (operation, path) and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".lab"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--shows", type=int, default=10)
    parser.add_argument("--pod", type=int, default=1, help="index of the pod (default 1)")
    parser.add_argument("--part", choices=("calls", "lists"), default="calls")
    parser.add_argument("--per-pod", type=int, default=10, help="volumes per pod (lists)")
    args = parser.parse_args()
    layout = LabLayout.load(args.dir.resolve())
    if layout is None:
        raise SystemExit(f"no lab in {args.dir}")
    pod = layout.pod_layouts[args.pod - 1]
    auth = v3.Password(
        auth_url=layout.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=DEMO_PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    demo = session.Session(auth=auth)
    demo.get_token()
    if args.part == "lists":
        bench_lists(layout, demo, args)
        return
    paths = {
        "gateway": adapter.Adapter(
            demo, service_type="volumev3", region_name=TOP_REGION, default_microversion=MICROVERSION
        ),
        "pod": adapter.Adapter(
            demo, service_type="volumev3", region_name=pod.region, default_microversion=MICROVERSION
        ),
    }
    for volumes in paths.values():
        one_round(volumes, pod.az, 1)
    creates: dict[str, list[float]] = {name: [] for name in paths}
    shows: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, volumes in paths.items():
            create_seconds, show_seconds = one_round(volumes, pod.az, args.shows)
            creates[name].append(create_seconds)
            shows[name] += show_seconds
    print(f"{'operation':<10}{'path':<9}{'calls':>6}{'p50 ms':>9}{'mean ms':>9}{'max ms':>9}")
    for operation, figures in (("create", creates), ("show", shows)):
        for name, seconds in figures.items():
            print(
                f"{operation:<10}{name:<9}{len(seconds):>6}"
                f"{statistics.median(seconds) * 1000:>9.1f}"
                f"{statistics.mean(seconds) * 1000:>9.1f}{max(seconds) * 1000:>9.1f}"
            )
    for operation, figures in (("create", creates), ("show", shows)):
        ratio = statistics.median(figures["gateway"]) / statistics.median(figures["pod"])
        print(f"{operation}: gateway / pod (p50) = {ratio:.2f}")


if __name__ == "__main__":
    main()

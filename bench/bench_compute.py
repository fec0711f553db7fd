"""The Nova gateway's cost over a pod's own Nova, measured on a running lab (real services).

As the demo user (token fetched once): ``GET /servers/{id}`` of an ACTIVE server on one network of
the central Neutron (gateway and pod calls alternating), and ``POST /servers`` (no network, timed
to the 202), through RegionOne's gateway and directly to Pod1's Nova; then list latency of
``GET /servers/detail`` through the gateway with ``--per-pod`` servers in Pod1 only and in every
pod, against the slowest pod listed directly. The list servers are booted straight in the pods
(the gateway lists from the pods; no routing is needed to list) and deleted at the end.

    .venv/bin/python bench/bench_compute.py --dir .lab --rounds 50 --creates 8 --per-pod 50
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3

from tricircle.lab import identity
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, IMAGE, PASSWORD, TOP_REGION, LabLayout

MICROVERSION = "2.79"
# A p50 and a p95, in ms.
Figures = tuple[float, float]


def demo_session(layout: LabLayout) -> session.Session:
    auth = v3.Password(
        auth_url=layout.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=DEMO_PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth, timeout=120)


def compute(user: session.Session, region: str) -> adapter.Adapter:
    return adapter.Adapter(
        user,
        service_type="compute",
        region_name=region,
        interface="public",
        default_microversion=MICROVERSION,
    )


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    """Milliseconds of each of ``rounds`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def interleaved(
    first: Callable[[], object], second: Callable[[], object], rounds: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of ``rounds`` calls of each, alternating, so both see the same load."""
    pairs = [(timed(first, 1)[0], timed(second, 1)[0]) for _ in range(rounds)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def central_network(user: session.Session) -> tuple[adapter.Adapter, str]:
    """A fresh network with one subnet on the central Neutron; the adapter and its ID."""
    neutron = adapter.Adapter(
        user, service_type="network", region_name=TOP_REGION, interface="public"
    )
    network = neutron.post("/v2.0/networks", json={"network": {"name": "bench-show"}}).json()
    network_id = network["network"]["id"]
    subnet = {"network_id": network_id, "ip_version": 4, "cidr": "10.250.0.0/24"}
    neutron.post("/v2.0/subnets", json={"subnet": subnet})
    return neutron, network_id


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def row(label: str, gateway: list[float], pod: list[float]) -> str:
    g50, g95 = p50_p95(gateway)
    d50, d95 = p50_p95(pod)
    return f"| {label} | {g50:.1f} | {g95:.1f} | {d50:.1f} | {d95:.1f} | {g50 / d50:.2f} |"


def list_table_header(noun: str) -> str:
    """The header of a list table (``noun``: what is listed), the rows being ``list_row``'s."""
    return (
        f"| {noun} | pods holding them | gateway p50 ms | gateway p95 ms | slowest pod p50 ms |"
        " slowest pod p95 ms | ratio p50 |\n|---:|---:|---:|---:|---:|---:|---:|"
    )


def list_row(listed: int, holding: int, pods: int, gateway: Figures, slowest: Figures) -> str:
    """A list table's row: ``listed`` records in ``holding`` of ``pods`` pods, p50 and p95 in ms
    through the gateway and of the slowest pod listed alone, and the ratio of the p50s."""
    (g50, g95), (s50, s95) = gateway, slowest
    return (
        f"| {listed} | {holding} of {pods} | {g50:.1f} | {g95:.1f} | {s50:.1f} | {s95:.1f} |"
        f" {g50 / s50:.2f} |"
    )


def lab_image_id(layout: LabLayout) -> str:
    """ID of the lab's image in its one Glance."""
    images = identity.admin_session(layout).get(
        f"{layout.glance_url}/v2/images", params={"name": IMAGE}
    )
    return images.json()["images"][0]["id"]


def boot_body(name: str, image_id: str, az: str, networks: object = "none") -> dict:
    return {
        "server": {
            "name": name,
            "imageRef": image_id,
            "flavorRef": "1",
            "networks": networks,
            "availability_zone": az,
        }
    }


def wait_gone(api: adapter.Adapter, server_ids: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for server_id in server_ids:
        while api.get(f"/servers/{server_id}", raise_exc=False).status_code != 404:
            if time.monotonic() > deadline:
                raise TimeoutError(f"server {server_id} still present")
            time.sleep(0.3)


def bench_show_and_create(
    layout: LabLayout, user: session.Session, args: argparse.Namespace
) -> None:
    gateway = compute(user, TOP_REGION)
    pod = compute(user, "Pod1")
    image_id = lab_image_id(layout)
    neutron, network_id = central_network(user)
    body = boot_body("bench-show", image_id, "az1", [{"uuid": network_id}])
    server_id = gateway.post("/servers", json=body).json()["server"]["id"]
    try:
        deadline = time.monotonic() + 180
        while gateway.get(f"/servers/{server_id}").json()["server"]["status"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"server {server_id} not ACTIVE")
            time.sleep(1)
        pod.get(f"/servers/{server_id}")
        shows = interleaved(
            lambda: gateway.get(f"/servers/{server_id}"),
            lambda: pod.get(f"/servers/{server_id}"),
            args.rounds,
        )
    finally:
        gateway.delete(f"/servers/{server_id}")
        wait_gone(gateway, [server_id])
        neutron.delete(f"/v2.0/networks/{network_id}")
    creates: dict[str, list[float]] = {"gateway": [], "pod": []}
    for index in range(args.creates):
        for label, api in (("gateway", gateway), ("pod", pod)):
            body = boot_body(f"bench-create-{label}-{index}", image_id, "az1")
            started = time.perf_counter()
            created = api.post("/servers", json=body).json()["server"]["id"]
            creates[label].append((time.perf_counter() - started) * 1000)
            api.delete(f"/servers/{created}")
            wait_gone(pod, [created])
    print("| call | gateway p50 ms | gateway p95 ms | pod p50 ms | pod p95 ms | ratio p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row(f"GET /servers/{{id}}, one network, interleaved ({args.rounds}x)", *shows))
    print(row(f"POST /servers ({args.creates}x)", creates["gateway"], creates["pod"]))


def boot_many(user: session.Session, region: str, az: str, image_id: str, count: int) -> list[str]:
    api = compute(user, region)

    def one(index: int) -> str:
        body = boot_body(f"bench-list-{region}-{index:03d}", image_id, az)
        return api.post("/servers", json=body).json()["server"]["id"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(count)))


def bench_lists(layout: LabLayout, user: session.Session, args: argparse.Namespace) -> None:
    admin = identity.admin_session(layout)
    image_id = lab_image_id(layout)
    project_id = user.get_project_id()
    pods = layout.pod_layouts
    for pod in pods:
        quota = {"quota_set": {"instances": 4 * args.per_pod, "cores": 4 * args.per_pod}}
        admin_compute = adapter.Adapter(admin, service_type="compute", region_name=pod.region)
        admin_compute.put(f"/os-quota-sets/{project_id}", json=quota)
    gateway = compute(user, TOP_REGION)
    booted: dict[str, list[str]] = {}
    query = {"limit": "1000"}
    print(list_table_header("servers"))
    try:
        for holding in range(1, len(pods) + 1):
            pod = pods[holding - 1]
            booted[pod.region] = boot_many(user, pod.region, pod.az, image_id, args.per_pod)
            wait_listed(gateway, sum(len(ids) for ids in booted.values()))
            through = timed(lambda: gateway.get("/servers/detail", params=query), args.rounds)
            direct = {
                region: timed(
                    lambda region=region: compute(user, region).get(
                        "/servers/detail", params=query
                    ),
                    args.rounds,
                )
                for region in booted
            }
            slowest = max(direct.values(), key=lambda samples: statistics.median(samples))
            total = sum(len(ids) for ids in booted.values())
            print(list_row(total, holding, len(pods), p50_p95(through), p50_p95(slowest)))
    finally:
        for pod in pods:
            api = compute(user, pod.region)
            leftovers = api.get("/servers", params={"name": "bench-list-"}).json()["servers"]
            for server in leftovers:
                api.delete(f"/servers/{server['id']}", raise_exc=False)


def wait_listed(gateway: adapter.Adapter, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        servers = gateway.get("/servers/detail", params={"limit": "1000"}).json()["servers"]
        bench = [s for s in servers if s["name"].startswith("bench-list-")]
        if len(bench) >= count and all(s["status"] == "ACTIVE" for s in bench):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(bench)} of {count} list servers ACTIVE")
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".lab"))
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--creates", type=int, default=8)
    parser.add_argument("--per-pod", type=int, default=50)
    parser.add_argument("--part", choices=("all", "calls", "lists"), default="all")
    args = parser.parse_args()
    layout = LabLayout.load(args.dir.resolve())
    if layout is None:
        raise SystemExit(f"no lab in {args.dir}")
    user = demo_session(layout)
    if args.part in ("all", "calls"):
        bench_show_and_create(layout, user, args)
        print()
    if args.part in ("all", "lists"):
        bench_lists(layout, user, args)


if __name__ == "__main__":
    main()

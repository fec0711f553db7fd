"""Scale-out of the Nova gateway: requests per second with 1, 2 and 4 gunicorn workers.

On a running lab, a second gateway is served on a spare port (the lab's ``tricircle.conf``: the
same PostgreSQL, pods and Keystone) with ``--workers N --threads 4``, one N after the other.
``--clients`` threads (one token, kept-alive connections) call ``GET /servers/{id}`` of one ACTIVE
server in Pod1 for ``--seconds``; the same load straight to Pod1's Nova is the baseline, measured
before each gateway run so both see the same machine. Printed: requests per second, p50, and the
ratios to one worker and to the pod.

    .venv/bin/python bench/bench_gateway_workers.py --dir .lab --workers 1,2,4 --clients 16
"""

from __future__ import annotations

import argparse
import signal
import statistics
import threading
import time
from pathlib import Path

import requests

from bench_compute import boot_body, compute, demo_session, lab_image_id
from tricircle.lab import processes
from tricircle.lab.layout import TOP_REGION, LabLayout
from tricircle.lab.services import tricircle_argv_for

SPARE_PORT_OFFSET = 50  # <base>+50 is no lab service's port
MICROVERSION = "compute 2.79"


def load(url: str, token: str, clients: int, seconds: float) -> tuple[float, float, int]:
    """``clients`` threads GET ``url`` for ``seconds``: (requests/s, p50 ms, non-200 answers)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        with requests.Session() as http:
            http.headers.update({"X-Auth-Token": token, "OpenStack-API-Version": MICROVERSION})
            while time.monotonic() < stop:
                started = time.perf_counter()
                answer = http.get(url, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    failures[0] += answer.status_code != 200

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / seconds, statistics.median(latencies), failures[0]


def serve_gateway(layout: LabLayout, workers: int) -> str:
    """Start a second gateway with ``workers`` workers; its base URL once it answers."""
    name = f"bench-gateway-{workers}w"
    port = layout.base_port + SPARE_PORT_OFFSET
    argv = tricircle_argv_for(name, "tricircle.api.wsgi:compute_application()", port, 4, workers)
    conf = layout.root / "tricircle" / "tricircle.conf"
    processes.start(layout, name, argv, env={"TRICIRCLE_CONFIG_FILES": str(conf)})
    url = f"http://127.0.0.1:{port}"
    processes.wait_for_http(layout, name, url + "/")
    return url + "/v2.1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(".lab"))
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    layout = LabLayout.load(args.dir.resolve())
    if layout is None:
        parser.error(f"no lab in {args.dir}; start one with `tricircle lab up`")
    user = demo_session(layout)
    token = user.get_token()
    gateway = compute(user, TOP_REGION)
    body = boot_body("bench-workers", lab_image_id(layout), "az1")
    server_id = gateway.post("/servers", json=body).json()["server"]["id"]
    pod_url = compute(user, "Pod1").get_endpoint()
    results: dict[int, tuple[float, float, int, float]] = {}
    try:
        deadline = time.monotonic() + 180
        while gateway.get(f"/servers/{server_id}").json()["server"]["status"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise SystemExit("the bench server did not become ACTIVE within 180 s")
            time.sleep(1)
        for workers in [int(value) for value in args.workers.split(",")]:
            pod_rps, _, _ = load(
                f"{pod_url}/servers/{server_id}", token, args.clients, args.seconds
            )
            url = serve_gateway(layout, workers)
            try:
                load(f"{url}/servers/{server_id}", token, args.clients, 2)  # warm every worker
                rps, p50, failed = load(
                    f"{url}/servers/{server_id}", token, args.clients, args.seconds
                )
            finally:
                name = f"bench-gateway-{workers}w"
                processes.kill(layout, name, signal.SIGTERM)
            results[workers] = (rps, p50, failed, pod_rps)
            print(
                f"workers={workers} gateway {rps:.1f} req/s p50 {p50:.1f} ms ({failed} not 200); "
                f"Pod1's Nova alone {pod_rps:.1f} req/s",
                flush=True,
            )
    finally:
        gateway.delete(f"/servers/{server_id}", raise_exc=False)
    one = results[min(results)][0]
    print("\n| workers | gateway req/s | p50 ms | vs 1 worker | vs Pod1's Nova alone |")
    print("|---|---|---|---|---|")
    for workers, (rps, p50, _failed, pod_rps) in sorted(results.items()):
        print(f"| {workers} | {rps:.1f} | {p50:.1f} | {rps / one:.2f}x | {rps / pod_rps:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

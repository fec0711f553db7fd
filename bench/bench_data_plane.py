"""Time from ``POST /servers`` to the first cross-pod ping reply, on a running lab's data plane.

As the demo user: one shared_vlan network (``bench-dp``) and a "pinger" server in az1. Then
one warm-up boot in az2 through RegionOne (it mirrors the network into Pod2; later boots find
it there), then ``--rounds`` times, interleaved: boot a server in az2 through RegionOne's Nova
gateway, and, as
the baseline, the same boot made directly in Pod2's Nova on the network's bottom copy
(``networks: [{"uuid": bottom network, "fixed_ip": an address held on the top}]``, the pod's
copy of the default security group). Each is timed from the POST to its 202, to
ACTIVE and to the first reply of a ping sent every 0.2 s from the pinger's guest in Pod1 (L2 over
the shared VLAN, across pods), then deleted. Prints medians and the gateway/baseline ratios.

    .venv/bin/python bench/bench_data_plane.py --dir .lab --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from keystoneauth1 import adapter, session

from bench_compute import compute, demo_session
from tricircle.lab import guests, identity
from tricircle.lab.layout import IMAGE, TOP_REGION, LabLayout

NETWORK = ("bench-dp", "10.77.0.0/24")


def network_api(user: session.Session, region: str) -> adapter.Adapter:
    return adapter.Adapter(user, service_type="network", region_name=region, interface="public")


def ensure_network(central: adapter.Adapter) -> dict:
    name, cidr = NETWORK
    found = central.get("/v2.0/networks", params={"name": name}).json()["networks"]
    if found:
        return found[0]
    network = central.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
    central.post(
        "/v2.0/subnets",
        json={"subnet": {"network_id": network["id"], "cidr": cidr, "ip_version": 4}},
    )
    return network


def wait_active(nova: adapter.Adapter, server_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = nova.get(f"/servers/{server_id}").json()["server"]
        if server["status"] == "ACTIVE":
            return server
        if server["status"] == "ERROR":
            raise RuntimeError(f"server {server_id} went to ERROR")
        time.sleep(0.2)
    raise RuntimeError(f"server {server_id} not ACTIVE within {timeout:.0f}s")


def wait_gone(nova: adapter.Adapter, server_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while nova.get(f"/servers/{server_id}", raise_exc=False).status_code != 404:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server {server_id} not gone within {timeout:.0f}s")
        time.sleep(0.3)


def first_reply(layout: LabLayout, pinger_id: str, address: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while guests.ping_replies(layout, pinger_id, address, count=1) != 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no reply from {address} within {timeout:.0f}s")
        time.sleep(0.2)


def ipv4(server: dict) -> str:
    return next(
        entry["addr"]
        for entries in server["addresses"].values()
        for entry in entries
        if entry["version"] == 4
    )


def timed_boot(
    layout: LabLayout, nova: adapter.Adapter, body: dict, pinger_id: str
) -> tuple[float, float, float]:
    """(seconds to the POST's answer, to ACTIVE, to the first ping reply) of one boot; the
    server is deleted."""
    started = time.monotonic()
    server_id = nova.post("/servers", json=body).json()["server"]["id"]
    answered = time.monotonic() - started
    try:
        server = wait_active(nova, server_id)
        active = time.monotonic() - started
        first_reply(layout, pinger_id, ipv4(server))
        return answered, active, time.monotonic() - started
    finally:
        nova.delete(f"/servers/{server_id}")
        wait_gone(nova, server_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".lab"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    layout = LabLayout.load(args.dir.resolve())
    if layout is None or layout.pods < 2:
        raise SystemExit(f"no lab with two pods in {args.dir}")
    user = demo_session(layout)
    gateway, pod2 = compute(user, TOP_REGION), compute(user, "Pod2")
    central = network_api(user, TOP_REGION)
    network = ensure_network(central)
    default_group = central.get("/v2.0/security-groups", params={"name": "default"}).json()[
        "security_groups"
    ][0]
    image_id = (
        adapter.Adapter(user, service_type="image", region_name=TOP_REGION)
        .get("/v2/images", params={"name": IMAGE})
        .json()["images"][0]["id"]
    )

    def body(name: str, az: str, network_id: str) -> dict:
        return {
            "server": {
                "name": name,
                "imageRef": image_id,
                "flavorRef": "1",
                "networks": [{"uuid": network_id}],
                "availability_zone": az,
            }
        }

    pinger = wait_active(
        gateway,
        gateway.post("/servers", json=body("bench-dp-pinger", "az1", network["id"])).json()[
            "server"
        ]["id"],
    )
    first_reply(layout, pinger["id"], ipv4(pinger))
    admin_network = network_api(identity.admin_session(layout), "Pod2")
    samples: dict[str, list[tuple[float, float, float]]] = {"gateway": [], "pod": []}
    try:
        timed_boot(layout, gateway, body("bench-dp-warmup", "az2", network["id"]), pinger["id"])
        for round_number in range(args.rounds):
            samples["gateway"].append(
                timed_boot(
                    layout,
                    gateway,
                    body(f"bench-dp-{round_number}", "az2", network["id"]),
                    pinger["id"],
                )
            )
            bottom = admin_network.get("/v2.0/networks", params={"name": network["id"]}).json()
            # An address from the central IPAM (a top port held for the round) so that the pod's
            # own IPAM cannot hand out one already used in the other pod.
            held = central.post(
                "/v2.0/ports", json={"port": {"network_id": network["id"], "name": "bench-dp"}}
            ).json()["port"]
            direct = body(f"bench-dp-direct-{round_number}", "az2", bottom["networks"][0]["id"])
            direct["server"]["networks"][0]["fixed_ip"] = held["fixed_ips"][0]["ip_address"]
            # The pod's copy of the top default group (named after its top ID) lets the pinger
            # in; the pod's own default group admits only its own members.
            direct["server"]["security_groups"] = [{"name": default_group["id"]}]
            try:
                samples["pod"].append(timed_boot(layout, pod2, direct, pinger["id"]))
            finally:
                central.delete(f"/v2.0/ports/{held['id']}")
    finally:
        gateway.delete(f"/servers/{pinger['id']}")
    median: Callable[[list[float]], float] = statistics.median
    print(f"{args.rounds} rounds, az1 pinger -> new az2 server on {NETWORK[0]} (median)")
    print("| boot | POST answered, ms | to ACTIVE, s | to first cross-pod ping reply, s |")
    print("|---|---|---|---|")
    medians = {
        name: [median([sample[index] for sample in samples[name]]) for index in range(3)]
        for name in samples
    }
    for label, name in (("through RegionOne", "gateway"), ("directly in Pod2", "pod")):
        answered, active, reply = medians[name]
        print(f"| {label} | {answered * 1000:.1f} | {active:.2f} | {reply:.2f} |")
    ratios = [
        gateway / pod for gateway, pod in zip(medians["gateway"], medians["pod"], strict=True)
    ]
    print(
        "ratios, gateway / pod: POST {:.2f}x, to ACTIVE {:.2f}x, to first reply {:.2f}x".format(
            *ratios
        )
    )


if __name__ == "__main__":
    main()

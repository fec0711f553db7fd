"""The lab's demo: one server booted directly in each pod, on a VLAN network, and where it landed.

This is today's main job; later the same scenario runs through Tricircle's gateway instead.
Every call goes to the pod's own endpoints, found in the catalog by region, with the admin's token.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import TextIO

from keystoneauth1 import adapter

from tricircle.lab import identity
from tricircle.lab.layout import FLAVOR, IMAGE, TOP_REGION, VLAN_PHYSNET, LabLayout, PodLayout

DEMO_VLAN = 110


@dataclasses.dataclass(frozen=True)
class Landing:
    """Where one demo server landed."""

    pod: str
    server_id: str
    status: str
    availability_zone: str
    host: str
    addresses: dict[str, list[str]]
    segmentation_id: int


class PodAPI:
    """The admin's adapters to one pod's compute and network services."""

    def __init__(self, layout: LabLayout, pod: PodLayout) -> None:
        session = identity.admin_session(layout)
        self.compute = adapter.Adapter(
            session, service_type="compute", region_name=pod.region, interface="public"
        )
        self.network = adapter.Adapter(
            session, service_type="network", region_name=pod.region, interface="public"
        )
        self.image = adapter.Adapter(
            session, service_type="image", region_name=TOP_REGION, interface="public"
        )


def ensure_demo_network(api: PodAPI, name: str, cidr: str) -> dict:
    """The pod's VLAN network ``name`` with one subnet, created if missing."""
    found = api.network.get("/v2.0/networks", params={"name": name}).json()["networks"]
    if found:
        return found[0]
    network = api.network.post(
        "/v2.0/networks",
        json={
            "network": {
                "name": name,
                "provider:network_type": "vlan",
                "provider:physical_network": VLAN_PHYSNET,
                "provider:segmentation_id": DEMO_VLAN,
            }
        },
    ).json()["network"]
    api.network.post(
        "/v2.0/subnets",
        json={"subnet": {"network_id": network["id"], "ip_version": 4, "cidr": cidr}},
    )
    return network


def boot(api: PodAPI, pod: PodLayout, network: dict, timeout: float = 120.0) -> Landing:
    """Boot ``demo-<pod>`` on ``network`` and wait for ACTIVE (or fail naming the pod)."""
    images = api.image.get("/v2/images", params={"name": IMAGE}).json()["images"]
    flavors = api.compute.get("/flavors").json()["flavors"]
    flavor_id = next(f["id"] for f in flavors if f["name"] == FLAVOR)
    server = api.compute.post(
        "/servers",
        json={
            "server": {
                "name": f"demo-{pod.name}",
                "imageRef": images[0]["id"],
                "flavorRef": flavor_id,
                "networks": [{"uuid": network["id"]}],
                "availability_zone": pod.az,
            }
        },
    ).json()["server"]
    deadline = time.monotonic() + timeout
    while True:
        detail = api.compute.get(
            f"/servers/{server['id']}", headers={"OpenStack-API-Version": "compute 2.47"}
        ).json()["server"]
        if detail["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if detail["status"] != "ACTIVE":
        raise RuntimeError(f"{pod.region}: server {server['id']} is {detail['status']}")
    return Landing(
        pod=pod.region,
        server_id=server["id"],
        status=detail["status"],
        availability_zone=detail["OS-EXT-AZ:availability_zone"],
        host=detail["OS-EXT-SRV-ATTR:host"],
        addresses={net: [a["addr"] for a in addrs] for net, addrs in detail["addresses"].items()},
        segmentation_id=network["provider:segmentation_id"],
    )


def run(layout: LabLayout, out: TextIO = sys.stdout) -> list[Landing]:
    """Boot one server in every pod and print where each landed."""
    landings = []
    for pod in layout.pod_layouts:
        api = PodAPI(layout, pod)
        network = ensure_demo_network(api, "demo-vlan", f"10.{pod.index}.0.0/24")
        landing = boot(api, pod, network)
        landings.append(landing)
        print(
            f"{landing.pod}: server {landing.server_id} {landing.status} in "
            f"{landing.availability_zone} on host {landing.host}, "
            f"addresses {landing.addresses}, VLAN {landing.segmentation_id}",
            file=out,
            flush=True,
        )
    return landings

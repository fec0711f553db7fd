"""The lab's demo, through Tricircle with a stock client on region RegionOne only.

As the demo user, openstacksdk makes one shared_vlan network and a second network on the central
Neutron, joins them with one router, and boots through the Nova gateway a server in ``az1`` and
one in ``az2`` on the shared network, and one more on the second network in the last pod; it
makes a volume in ``az1`` through RegionOne's block-storage (the Cinder gateway) and attaches it
to the server in ``az1`` through the Nova gateway. The proof is then read from the pods' own APIs
with the admin's token: both bottom copies of the shared network are VLANs with the top network's
physical network and VLAN ID, the first pod's Cinder has the volume in-use on that server, and
each pod got a bottom router for the top router, with routes to the other pods' networks.
Then packets: from inside the ``az1`` server's guest, pings to the ``az2`` server over the shared
VLAN (L2) and to the server on the second network through the router (L3). Last, north-south: the
router gets its gateway on the lab's ``public`` network (in Pod1), the ``az2`` server a floating
IP, and the outside host pings it.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any, TextIO

import openstack
from keystoneauth1 import adapter

from tricircle.lab import guests, identity, outside
from tricircle.lab.layout import (
    DEMO_PROJECT,
    DEMO_USER,
    FLAVOR,
    IMAGE,
    PASSWORD,
    PUBLIC_NETWORK,
    TOP_REGION,
    LabLayout,
    PodLayout,
)

SHARED_NETWORK = ("demo-shared", "10.10.0.0/24")
VOLUME = "demo-volume"
SECOND_NETWORK = ("demo-second", "10.20.0.0/24")
ROUTER = "demo-router"


@dataclasses.dataclass(frozen=True)
class Landing:
    """Where one demo server landed, and its network as the pod holds it."""

    pod: str
    server_id: str
    status: str
    availability_zone: str
    addresses: dict[str, list[str]]
    network_type: str
    physical_network: str
    segmentation_id: int


def demo_cloud(layout: LabLayout) -> openstack.connection.Connection:
    """openstacksdk as the demo user, on RegionOne only."""
    return openstack.connect(
        auth_url=layout.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=DEMO_PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=TOP_REGION,
    )


def ensure_network(cloud: openstack.connection.Connection, name: str, cidr: str) -> Any:
    """The demo's network ``name`` with one subnet, created on the central Neutron if missing."""
    network = cloud.network.find_network(name, ignore_missing=True)
    if network is None:
        network = cloud.network.create_network(name=name)
    if not list(cloud.network.subnets(network_id=network.id)):
        cloud.network.create_subnet(network_id=network.id, cidr=cidr, ip_version=4, name=name)
    return network


def ensure_router(cloud: openstack.connection.Connection, networks: list[Any]) -> Any:
    """The demo router, with an interface on every network's subnet."""
    router = cloud.network.find_router(ROUTER, ignore_missing=True)
    if router is None:
        router = cloud.network.create_router(name=ROUTER)
    attached = {
        port.fixed_ips[0]["subnet_id"]
        for port in cloud.network.ports(device_id=router.id)
        if port.fixed_ips
    }
    for network in networks:
        for subnet in cloud.network.subnets(network_id=network.id):
            if subnet.id not in attached:
                cloud.network.add_interface_to_router(router, subnet_id=subnet.id)
    return router


def ensure_server(
    cloud: openstack.connection.Connection,
    name: str,
    pod: PodLayout,
    network: Any,
    timeout: float = 180.0,
) -> Any:
    """Server ``name`` booted through the gateway in the pod's AZ on ``network``, ACTIVE."""
    server = cloud.compute.find_server(name, ignore_missing=True)
    if server is None:
        server = cloud.compute.create_server(
            name=name,
            image_id=cloud.image.find_image(IMAGE, ignore_missing=False).id,
            flavor_id=cloud.compute.find_flavor(FLAVOR, ignore_missing=False).id,
            networks=[{"uuid": network.id}],
            availability_zone=pod.az,
        )
    server = cloud.compute.wait_for_server(server, wait=timeout)
    if server.status != "ACTIVE":
        raise RuntimeError(f"{pod.region}: server {server.id} is {server.status}")
    return server


def ensure_attached_volume(
    cloud: openstack.connection.Connection, pod: PodLayout, server: Any, timeout: float = 120.0
) -> Any:
    """Volume ``demo-volume`` made in the pod's AZ through RegionOne, attached to ``server``."""
    block_storage = cloud.block_storage
    volume = block_storage.find_volume(VOLUME, ignore_missing=True)
    if volume is None:
        volume = block_storage.create_volume(size=1, name=VOLUME, availability_zone=pod.az)
    if volume.status != "in-use":
        volume = block_storage.wait_for_status(
            volume, "available", failures=["error"], wait=timeout
        )
        cloud.compute.create_volume_attachment(server, volume)
    return block_storage.wait_for_status(volume, "in-use", failures=["error"], wait=timeout)


def _pod_volume(layout: LabLayout, pod: PodLayout, volume_id: str) -> dict:
    """The volume as the pod's own Cinder holds it, read as the admin."""
    volume = adapter.Adapter(
        identity.admin_session(layout), service_type="volumev3", region_name=pod.region
    )
    return volume.get(f"/volumes/{volume_id}").json()["volume"]


def show_attached_volume(
    layout: LabLayout,
    cloud: openstack.connection.Connection,
    pod: PodLayout,
    server: Any,
    out: TextIO,
) -> None:
    """Attach the demo volume to ``server`` and print it as the pod's own Cinder holds it."""
    volume = ensure_attached_volume(cloud, pod, server)
    in_pod = _pod_volume(layout, pod, volume.id)
    attached = {a["server_id"]: a["device"] for a in in_pod["attachments"]}
    on_server = (
        f"attached to server {server.id} as {attached[server.id]}"
        if server.id in attached
        else f"NOT attached to server {server.id} (attachments {attached})"
    )
    print(
        f"{pod.region}: volume {volume.id} {in_pod['status']} in "
        f"{in_pod['availability_zone']}, {on_server}; read from the pod's Cinder",
        file=out,
        flush=True,
    )


def _pod_network(layout: LabLayout, pod: PodLayout, top_network_id: str) -> dict:
    """The pod's bottom copy of a top network (named after the top ID), read as the admin."""
    network = adapter.Adapter(
        identity.admin_session(layout), service_type="network", region_name=pod.region
    )
    found = network.get("/v2.0/networks", params={"name": top_network_id}).json()["networks"]
    if len(found) != 1:
        raise RuntimeError(f"{pod.region}: {len(found)} bottom copies of {top_network_id}")
    return found[0]


def bottom_routers(layout: LabLayout, top_router_id: str, timeout: float = 90.0) -> dict[str, Any]:
    """Region -> the bottom router of the top router, once the router jobs made one per pod."""
    session = identity.admin_session(layout)
    deadline = time.monotonic() + timeout
    while True:
        rows = session.get(
            f"{layout.admin_api_url}/routings", params={"resource_type": "router"}
        ).json()["routings"]
        pods = {pod["pod_id"]: pod["region_name"] for pod in _pods(layout)}
        found = {
            pods[row["pod_id"]]: row["bottom_id"]
            for row in rows
            if row["top_id"] == top_router_id and row["bottom_id"]
        }
        if len(found) == layout.pods or time.monotonic() > deadline:
            break
        time.sleep(1)
    routers = {}
    for region, bottom_id in sorted(found.items()):
        network = adapter.Adapter(session, service_type="network", region_name=region)
        routers[region] = network.get(f"/v2.0/routers/{bottom_id}").json()["router"]
    return routers


def _top_ipv4(server: Any) -> str:
    return next(
        entry["addr"]
        for entries in server.addresses.values()
        for entry in entries
        if entry["version"] == 4
    )


def ping_proof(
    layout: LabLayout, source: Any, target: Any, timeout: float = 90.0
) -> tuple[str, str, int]:
    """Ping ``target`` from ``source``'s guest once both guests hold their addresses and the
    path answers (router jobs may still be converging), then 3 more; (source IP, target IP,
    replies of the 3)."""
    source_ip, target_ip = _top_ipv4(source), _top_ipv4(target)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = all(
            guests.address(layout, server.id) == ip
            for server, ip in ((source, source_ip), (target, target_ip))
        )
        if ready and guests.ping_replies(layout, source.id, target_ip, count=1) == 1:
            break
        time.sleep(1)
    return source_ip, target_ip, guests.ping_replies(layout, source.id, target_ip)


def _pods(layout: LabLayout) -> list[dict]:
    session = identity.admin_session(layout)
    return session.get(f"{layout.admin_api_url}/pods").json()["pods"]


def run(layout: LabLayout, out: TextIO = sys.stdout) -> list[Landing]:
    """Run the scenario and print where each server landed, its VLAN in each pod, the routers."""
    cloud = demo_cloud(layout)
    shared = ensure_network(cloud, *SHARED_NETWORK)
    second = ensure_network(cloud, *SECOND_NETWORK)
    router = ensure_router(cloud, [shared, second])
    print(f"RegionOne: network {shared.name} ({shared.id}), router {router.name}", file=out)
    landings = []
    servers = []
    for pod in layout.pod_layouts[:2]:
        server = ensure_server(cloud, f"demo-{pod.az}", pod, shared)
        servers.append(server)
        bottom = _pod_network(layout, pod, shared.id)
        landing = Landing(
            pod=pod.region,
            server_id=server.id,
            status=server.status,
            availability_zone=server.availability_zone,
            addresses={
                net: [entry["addr"] for entry in entries]
                for net, entries in server.addresses.items()
            },
            network_type=bottom["provider:network_type"],
            physical_network=bottom["provider:physical_network"],
            segmentation_id=bottom["provider:segmentation_id"],
        )
        landings.append(landing)
        print(
            f"{landing.pod}: server {landing.server_id} {landing.status} in "
            f"{landing.availability_zone}, addresses {landing.addresses}; the pod's Neutron has "
            f"{shared.name} as {landing.network_type} {landing.physical_network}:"
            f"{landing.segmentation_id}",
            file=out,
            flush=True,
        )
        if pod.region == layout.pod_layouts[0].region:
            show_attached_volume(layout, cloud, pod, server, out)
    last_pod = layout.pod_layouts[min(layout.pods, 2) - 1]
    other = ensure_server(cloud, f"demo-{second.name}", last_pod, second)
    print(
        f"{last_pod.region}: server {other.id} {other.status} on {second.name} "
        f"{ {net: [e['addr'] for e in entries] for net, entries in other.addresses.items()} }",
        file=out,
    )
    vlans = {landing.segmentation_id for landing in landings}
    print(f"same VLAN in every pod: {vlans.pop() if len(vlans) == 1 else 'NO'}", file=out)
    for region, bottom_router in bottom_routers(layout, router.id).items():
        routes = [f"{r['destination']} via {r['nexthop']}" for r in bottom_router.get("routes", [])]
        print(f"{region}: bottom router {bottom_router['id']} routes {routes}", file=out)
    if len(servers) == 2:
        source_ip, target_ip, answered = ping_proof(layout, servers[0], servers[1])
        print(
            f"az1 server {source_ip} -> az2 server {target_ip}: {answered}/3 replies "
            f"(L2, VLAN {landings[0].segmentation_id})",
            file=out,
        )
    source_ip, target_ip, answered = ping_proof(layout, servers[0], other)
    print(
        f"az1 server {source_ip} -> {last_pod.region} server {target_ip} on {second.name}: "
        f"{answered}/3 replies (L3 through {router.name} and the bridge network)",
        file=out,
    )
    address, answered = floating_ip_proof(layout, cloud, router, servers[-1])
    print(
        f"outside -> floating IP {address} of the {servers[-1].availability_zone} server: "
        f"{answered}/3 replies ({PUBLIC_NETWORK} in {layout.pod_layouts[0].region})",
        file=out,
    )
    return landings


def floating_ip_proof(
    layout: LabLayout,
    cloud: openstack.connection.Connection,
    router: Any,
    server: Any,
    timeout: float = 90.0,
) -> tuple[str, int]:
    """Give ``router`` its gateway on ``public`` and ``server`` a floating IP, open ICMP from
    anywhere in the project's default group, then ping the floating IP from the outside host
    once it answers; (the floating IP, replies of 3)."""
    public = cloud.network.find_network(PUBLIC_NETWORK)
    if not router.external_gateway_info:
        cloud.network.update_router(router, external_gateway_info={"network_id": public.id})
    group = next(
        iter(cloud.network.security_groups(name="default", project_id=cloud.current_project_id))
    )
    if not any(
        rule["protocol"] == "icmp" and rule["direction"] == "ingress"
        for rule in group.security_group_rules
    ):
        cloud.network.create_security_group_rule(
            security_group_id=group.id,
            direction="ingress",
            protocol="icmp",
            remote_ip_prefix="0.0.0.0/0",
        )
    port = next(iter(cloud.network.ports(device_id=server.id)))
    found = list(cloud.network.ips(port_id=port.id))
    floating_ip = (
        found[0]
        if found
        else cloud.network.create_ip(floating_network_id=public.id, port_id=port.id)
    )
    address = floating_ip.floating_ip_address
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and outside.ping_replies(layout, address, count=1) != 1:
        time.sleep(1)
    return address, outside.ping_replies(layout, address)

"""Nova's contracts through RegionOne: delete then network delete, flavor filters across pods,
server groups placed in one pod. openstacksdk on RegionOne; read-backs from the pods' own Nova."""

from __future__ import annotations

import uuid

import pytest
from compute_gateway_helpers import (
    FLAVOR_ID,
    boot,
    connect,
    delete_all,
    fault,
    gateway,
    image_id,
)

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER

pytestmark = pytest.mark.integration

V2_64 = {"OpenStack-API-Version": "compute 2.64"}


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="module")
def admin_cloud(compute_lab):
    return connect(compute_lab, "admin", "admin")


def _gone(cloud, server_id: str) -> bool:
    return cloud.compute.find_server(server_id, ignore_missing=True) is None


def test_sdk_teardown_deletes_the_network_on_the_first_try(demo_cloud, wait_until):
    network = demo_cloud.network.create_network(name=f"contract-{uuid.uuid4().hex[:6]}")
    demo_cloud.network.create_subnet(network_id=network.id, cidr="10.78.0.0/24", ip_version=4)
    passed = demo_cloud.network.create_port(network_id=network.id, name="caller-port")
    server = boot(
        demo_cloud, "contract-vm", "az1", networks=[{"uuid": network.id}, {"port": passed.id}]
    )
    made = [p.id for p in demo_cloud.network.ports(device_id=server.id) if p.id != passed.id]
    assert len(made) == 1, f"server {server.id}: ports {made}"
    demo_cloud.compute.delete_server(server)
    wait_until(lambda: _gone(demo_cloud, server.id), 120, f"GET 404 for server {server.id}")
    assert demo_cloud.network.find_port(made[0], ignore_missing=True) is None, made[0]
    kept = demo_cloud.network.get_port(passed.id)
    assert (kept.device_id, kept.device_owner) == ("", ""), kept
    assert server.id not in [s.id for s in demo_cloud.compute.servers()]
    demo_cloud.network.delete_port(passed)
    demo_cloud.network.delete_network(network)  # first try: no NetworkInUse
    assert demo_cloud.network.find_network(network.id, ignore_missing=True) is None


@pytest.fixture(scope="module")
def small_flavor(admin_cloud):
    flavor = admin_cloud.compute.create_flavor(
        name=f"contract-{uuid.uuid4().hex[:6]}", ram=256, vcpus=1, disk=1
    )
    yield flavor
    admin_cloud.compute.delete_flavor(flavor, ignore_missing=True)


def test_a_flavor_filter_lists_exactly_the_servers_of_that_flavor(demo_cloud, small_flavor):
    tiny = boot(demo_cloud, "contract-tiny", "az1")
    small = demo_cloud.compute.create_server(
        name="contract-small",
        image_id=image_id(demo_cloud),
        flavor_id=small_flavor.id,
        networks="none",
        availability_zone="az2",
    )
    try:
        for flavor_id, expected in ((FLAVOR_ID, tiny.id), (small_flavor.id, small.id)):
            for details in (False, True):
                listed = {
                    s.id for s in demo_cloud.compute.servers(details=details, flavor=flavor_id)
                }
                assert expected in listed, f"flavor {flavor_id}: {listed}"
                other = small.id if expected == tiny.id else tiny.id
                assert other not in listed, f"flavor {flavor_id} lists {other}: {listed}"
    finally:
        delete_all(demo_cloud, [tiny, small])


def _pod_of(pod_api, server_id: str) -> str:
    for region in ("Pod1", "Pod2"):
        answer = pod_api(region, "compute").get(f"/servers/{server_id}", raise_exc=False)
        if answer.status_code == 200:
            return region
    raise AssertionError(f"server {server_id} in no pod")


@pytest.mark.parametrize("policy", ["anti-affinity", "affinity"])
def test_members_of_a_group_land_in_its_pod(demo_cloud, demo_session, pod_api, policy):
    api = gateway(demo_session)
    group = api.post(
        "/os-server-groups",
        json={"server_group": {"name": f"contract-{policy}", "policy": policy}},
        headers=V2_64,
    ).json()["server_group"]
    assert group["policy"] == policy
    hints = {"group": group["id"]}
    members = [
        boot(demo_cloud, f"contract-{policy}-{i}", None, scheduler_hints=hints, wait=False)
        for i in range(2)
    ]
    try:
        regions = {_pod_of(pod_api, member.id) for member in members}
        assert len(regions) == 1, f"group {group['id']}: members in {regions}"
        shown = api.get(f"/os-server-groups/{group['id']}", headers=V2_64).json()["server_group"]
        assert set(shown["members"]) == {member.id for member in members}, shown
        listed = api.get("/os-server-groups").json()["server_groups"]
        assert group["id"] in [item["id"] for item in listed]
    finally:
        delete_all(demo_cloud, members)
        assert api.delete(f"/os-server-groups/{group['id']}").status_code == 204
    fault(api.get(f"/os-server-groups/{group['id']}", raise_exc=False), 404, "itemNotFound")


def _pod_groups(pod_api) -> dict[str, int]:
    return {
        region: len(
            pod_api(region, "compute")
            .get("/os-server-groups", params={"all_projects": "True"})
            .json()["server_groups"]
        )
        for region in ("Pod1", "Pod2")
    }


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"server_group": {"name": "g", "policies": ["nonsense"]}}, {}),
        ({"server_group": {"name": " g", "policy": "affinity"}}, V2_64),
        (
            {
                "server_group": {
                    "name": "g",
                    "policy": "affinity",
                    "rules": {"max_server_per_host": 2},
                }
            },
            V2_64,
        ),
    ],
)
def test_a_bad_group_is_nova_400_with_nothing_made(demo_session, pod_api, body, headers):
    before = _pod_groups(pod_api)
    answer = gateway(demo_session).post(
        "/os-server-groups", json=body, headers=headers, raise_exc=False
    )
    fault(answer, 400, "badRequest")
    assert _pod_groups(pod_api) == before


def test_a_boot_naming_an_unknown_group_is_nova_400(demo_cloud, demo_session, pod_api):
    unknown = str(uuid.uuid4())
    server = {"name": "g", "flavorRef": FLAVOR_ID, "imageRef": image_id(demo_cloud)}
    answer = gateway(demo_session).post(
        "/servers",
        json={"server": {**server, "networks": "none"}, "os:scheduler_hints": {"group": unknown}},
        headers={"OpenStack-API-Version": "compute 2.37"},
        raise_exc=False,
    )
    assert unknown in fault(answer, 400, "badRequest")
    assert not [s for s in demo_cloud.compute.servers(name="^g$")]

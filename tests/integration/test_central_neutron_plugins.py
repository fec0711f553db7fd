"""The central Neutron's Tricircle plugins in the lab: zones from pods, jobs from events.

Pods: RegionOne (top), Pod1 in az1, Pod2 in az2. Jobs are read through the admin API; their
handlers belong to the xjob worker, so only the job rows are checked here, not their outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from keystoneauth1 import adapter, session
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.lab import configs
from tricircle.lab.layout import TOP_REGION, LabLayout
from tricircle.network import constants

pytestmark = pytest.mark.integration


@pytest.fixture
def central(admin_session: session.Session) -> adapter.Adapter:
    """The admin's adapter to the central Neutron."""
    return adapter.Adapter(
        admin_session, service_type="network", region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def admin_api(admin_session: session.Session) -> adapter.Adapter:
    """The admin's adapter to Tricircle's admin API."""
    return adapter.Adapter(
        admin_session, service_type="tricircle", region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def tricircle_sessions(lab: LabLayout) -> Iterator[sessionmaker[Session]]:
    """Sessions on the lab's Tricircle database (to plant routing rows the API cannot make)."""
    engine = make_engine(configs.tricircle_database_url(lab))
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def name() -> str:
    """A name unique to this test, for everything it creates."""
    return f"test-plugins-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cleanup(central: adapter.Adapter) -> Iterator[Callable[[str], None]]:
    """``cleanup(path)``: DELETE ``path`` on the central Neutron after the test (last first)."""
    paths: list[str] = []
    yield paths.append
    for path in reversed(paths):
        central.delete(path, raise_exc=False)


def create(central: adapter.Adapter, cleanup: Callable, kind: str, **attributes: object) -> dict:
    """Create one ``kind`` (network, subnet, port, router) on the central Neutron, to clean up."""
    response = central.post(f"/v2.0/{kind}s", json={kind: attributes})
    created = response.json()[kind]
    cleanup(f"/v2.0/{kind}s/{created['id']}")
    return created


def networks_named(central: adapter.Adapter, name: str) -> list[dict]:
    return central.get("/v2.0/networks", params={"name": name}).json()["networks"]


def jobs_of(admin_api: adapter.Adapter, job_type: str, resource_id: str) -> list[dict]:
    params = {"type": job_type, "resource_id": resource_id}
    return admin_api.get("/jobs", params=params).json()["jobs"]


def test_zones_are_the_pods_zones(central):
    zones = central.get("/v2.0/availability_zones").json()["availability_zones"]
    network_zones = {zone["name"] for zone in zones if zone["resource"] == "network"}
    assert network_zones == {"az1", "az2"}
    assert all(zone["state"] == "available" for zone in zones)


@pytest.mark.parametrize(("hint", "zone"), [("az1", "az1"), ("Pod2", "az2")])
def test_network_hint_names_a_zone_or_a_pod(central, cleanup, name, hint, zone):
    network = create(central, cleanup, "network", name=name, availability_zone_hints=[hint])
    assert network["availability_zone_hints"] == [hint]
    shown = central.get(f"/v2.0/networks/{network['id']}").json()["network"]
    assert shown["availability_zone_hints"] == [hint]
    assert shown["availability_zones"] == [zone], f"network {network['id']}"
    (listed,) = networks_named(central, name)
    assert listed["availability_zones"] == [zone]


def test_unknown_hint_is_refused_and_nothing_is_made(central, name):
    response = central.post(
        "/v2.0/networks",
        json={"network": {"name": name, "availability_zone_hints": ["az1", "az-nowhere"]}},
        raise_exc=False,
    )
    assert response.status_code == 404, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "AvailabilityZoneNotFound"
    assert "az-nowhere" in error["message"]
    assert networks_named(central, name) == []


def test_local_network_takes_one_hint(central, cleanup, name):
    local = {"name": name, "provider:network_type": "local"}
    response = central.post(
        "/v2.0/networks",
        json={"network": {**local, "availability_zone_hints": ["az1", "az2"]}},
        raise_exc=False,
    )
    assert response.status_code == 400, response.text
    assert "local network lives in exactly one pod" in response.json()["NeutronError"]["message"]
    assert networks_named(central, name) == []
    network = create(central, cleanup, "network", **local, availability_zone_hints=["Pod1"])
    assert network["availability_zones"] == ["az1"]


def test_bulk_create_with_a_two_hint_local_network_makes_nothing(central, name):
    response = central.post(
        "/v2.0/networks",
        json={
            "networks": [
                {"name": name, "availability_zone_hints": ["az1", "az2"]},
                {
                    "name": name,
                    "provider:network_type": "local",
                    "availability_zone_hints": ["az1", "az2"],
                },
            ]
        },
        raise_exc=False,
    )
    assert response.status_code == 400, response.text
    assert networks_named(central, name) == []


def test_router_interface_changes_queue_router_setup(central, admin_api, cleanup, name, wait_until):
    network = create(central, cleanup, "network", name=name)
    subnet = create(
        central, cleanup, "subnet", network_id=network["id"], cidr="10.71.0.0/24", ip_version=4
    )
    router = create(central, cleanup, "router", name=name)
    router_id = router["id"]
    interface = {"subnet_id": subnet["id"]}
    central.put(f"/v2.0/routers/{router_id}/add_router_interface", json=interface)

    (job,) = wait_until(
        lambda: jobs_of(admin_api, constants.JOB_ROUTER_SETUP, router_id),
        30,
        f"router_setup job for router {router_id}",
    )
    assert job["project_id"] == router["project_id"]
    assert job["payload"] == {"router_id": router_id}

    # A job still waiting absorbs the next event; once the worker took it, a new one is queued.
    wait_until(
        lambda: jobs_of(admin_api, constants.JOB_ROUTER_SETUP, router_id)[0]["status"] != "new",
        30,
        f"worker to claim router_setup job {job['id']}",
    )
    central.put(f"/v2.0/routers/{router_id}/remove_router_interface", json=interface)
    after_remove = wait_until(
        lambda: [
            queued
            for queued in jobs_of(admin_api, constants.JOB_ROUTER_SETUP, router_id)
            if queued["id"] != job["id"]
        ],
        30,
        f"router_setup job after removing the interface of router {router_id}",
    )
    assert [queued["project_id"] for queued in after_remove] == [router["project_id"]]


def test_subnet_held_only_by_gateway_port_is_deleted_with_it(central, cleanup, name):
    network = create(central, cleanup, "network", name=name)
    subnet = create(
        central, cleanup, "subnet", network_id=network["id"], cidr="10.72.0.0/24", ip_version=4
    )
    gateway = create(
        central,
        cleanup,
        "port",
        network_id=network["id"],
        name=constants.gateway_port_name("pod-under-test"),
        device_owner=constants.GATEWAY_PORT_OWNER,
        fixed_ips=[{"subnet_id": subnet["id"]}],
    )
    response = central.delete(f"/v2.0/subnets/{subnet['id']}", raise_exc=False)
    assert response.status_code == 204, response.text
    gone = central.get(f"/v2.0/ports/{gateway['id']}", raise_exc=False)
    assert gone.status_code == 404, f"gateway port {gateway['id']} survived its subnet"


def test_subnet_in_use_keeps_its_gateway_port(central, cleanup, name):
    network = create(central, cleanup, "network", name=name)
    subnet = create(
        central, cleanup, "subnet", network_id=network["id"], cidr="10.73.0.0/24", ip_version=4
    )
    fixed_ips = [{"subnet_id": subnet["id"]}]
    gateway = create(
        central,
        cleanup,
        "port",
        network_id=network["id"],
        device_owner=constants.GATEWAY_PORT_OWNER,
        fixed_ips=fixed_ips,
    )
    create(central, cleanup, "port", network_id=network["id"], fixed_ips=fixed_ips)
    response = central.delete(f"/v2.0/subnets/{subnet['id']}", raise_exc=False)
    assert response.status_code == 409, response.text
    kept = central.get(f"/v2.0/ports/{gateway['id']}", raise_exc=False)
    assert kept.status_code == 200, f"gateway port {gateway['id']} lost to a refused delete"


def test_network_held_only_by_gateway_ports_is_deleted_with_them(central, cleanup, name):
    network = create(central, cleanup, "network", name=name)
    gateways = []
    for index in range(2):
        subnet = create(
            central,
            cleanup,
            "subnet",
            network_id=network["id"],
            cidr=f"10.74.{index}.0/24",
            ip_version=4,
        )
        gateways.append(
            create(
                central,
                cleanup,
                "port",
                network_id=network["id"],
                device_owner=constants.GATEWAY_PORT_OWNER,
                fixed_ips=[{"subnet_id": subnet["id"]}],
            )
        )
    response = central.delete(f"/v2.0/networks/{network['id']}", raise_exc=False)
    assert response.status_code == 204, response.text
    for gateway in gateways:
        assert central.get(f"/v2.0/ports/{gateway['id']}", raise_exc=False).status_code == 404


def test_deleting_a_routed_network_queues_delete_bottom(
    central, admin_api, tricircle_sessions, cleanup, name, wait_until
):
    network = create(central, cleanup, "network", name=name)
    network_id = network["id"]
    (pod1,) = admin_api.get("/pods", params={"region_name": "Pod1"}).json()["pods"]
    with tricircle_sessions.begin() as session:
        lock = routings.lock_routing(
            session,
            top_id=network_id,
            pod_id=pod1["pod_id"],
            project_id=network["project_id"],
            resource_type=constants.NETWORK,
        )
        routings.fill_bottom_id(session, lock, f"bottom-of-{network_id}")
    try:
        central.delete(f"/v2.0/networks/{network_id}")
        (job,) = wait_until(
            lambda: jobs_of(admin_api, constants.JOB_DELETE_BOTTOM, network_id),
            30,
            f"delete_bottom job for network {network_id}",
        )
        assert job["project_id"] == network["project_id"]
        assert job["payload"] == {
            "resource_type": constants.NETWORK,
            "project_id": network["project_id"],
        }
    finally:
        with tricircle_sessions.begin() as session:
            for routing in routings.find_routings_for_top(session, network_id):
                routings.delete_routing(session, routing.id)


def test_deleting_an_unrouted_network_queues_nothing(central, admin_api, cleanup, name):
    network = create(central, cleanup, "network", name=name)
    central.delete(f"/v2.0/networks/{network['id']}")
    assert jobs_of(admin_api, constants.JOB_DELETE_BOTTOM, network["id"]) == []


@pytest.mark.parametrize(("hint", "zone"), [("az2", "az2"), ("Pod1", "az1")])
def test_router_hint_names_a_zone_or_a_pod(central, cleanup, name, hint, zone):
    router = create(central, cleanup, "router", name=name, availability_zone_hints=[hint])
    shown = central.get(f"/v2.0/routers/{router['id']}").json()["router"]
    assert shown["availability_zone_hints"] == [hint]
    assert shown["availability_zones"] == [zone], f"router {router['id']}"


def test_router_with_unknown_hint_is_refused(central, name):
    response = central.post(
        "/v2.0/routers",
        json={"router": {"name": name, "availability_zone_hints": ["az-nowhere"]}},
        raise_exc=False,
    )
    assert response.status_code == 404, response.text
    assert response.json()["NeutronError"]["type"] == "AvailabilityZoneNotFound"
    assert central.get("/v2.0/routers", params={"name": name}).json()["routers"] == []


def test_concurrent_interface_adds_on_every_worker_each_queue_one_job(
    central, admin_api, cleanup, name, wait_until
):
    count = 8  # Neutron allows a project 10 routers by default
    network = create(central, cleanup, "network", name=name)
    pairs = []
    for index in range(count):
        subnet = create(
            central,
            cleanup,
            "subnet",
            network_id=network["id"],
            cidr=f"10.75.{index}.0/24",
            ip_version=4,
        )
        router = create(central, cleanup, "router", name=f"{name}-{index}")
        pairs.append((router["id"], subnet["id"]))

    def add(pair: tuple[str, str]) -> int:
        router_id, subnet_id = pair
        path = f"/v2.0/routers/{router_id}/add_router_interface"
        return central.put(path, json={"subnet_id": subnet_id}, raise_exc=False).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        assert list(pool.map(add, pairs)) == [200] * count
    for router_id, _ in pairs:
        jobs = wait_until(
            lambda router_id=router_id: jobs_of(admin_api, constants.JOB_ROUTER_SETUP, router_id),
            30,
            f"router_setup job for router {router_id}",
        )
        assert len(jobs) == 1, f"router {router_id}: {jobs}"
    for router_id, subnet_id in pairs:
        central.put(
            f"/v2.0/routers/{router_id}/remove_router_interface", json={"subnet_id": subnet_id}
        )

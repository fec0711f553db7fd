"""Reconciliation over the fake Neutrons (and a tiny fake Nova): every kind of drift is found,
reported without change by a dry run, repaired by a real run, and gone in a second run."""

from __future__ import annotations

import uuid

import pytest
from fake_neutron import PROJECT, FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import deleted_servers, jobs, routings
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.network import constants, server_ports
from tricircle.network.l3 import RouterL3
from tricircle.pods.client import PodClientError
from tricircle.reconcile.context import ReconcileContext
from tricircle.reconcile.run import reconcile

BRIDGE_CIDR = "100.0.0.0/9"


class FakeNova:
    """Just the server reads reconciliation makes."""

    def __init__(self, region_name: str) -> None:
        self.region_name = region_name
        self.servers: dict[str, dict] = {}

    def get(self, path: str, params: dict | None = None, **_: object) -> dict:
        if path == "/servers/detail":
            return {"servers": list(self.servers.values())}
        server_id = path.removeprefix("/servers/")
        if server_id not in self.servers:
            raise PodClientError(self.region_name, "compute", 404, "not found")
        return {"server": self.servers[server_id]}


class Clients(FakeClients):
    """The fake Neutrons plus one FakeNova per pod."""

    def __init__(self, *regions: str) -> None:
        super().__init__(*regions)
        self.novas = {region: FakeNova(region) for region in regions}

    def client(self, region_name: str, service_type: str):  # type: ignore[override]
        if service_type == "compute":
            return self.novas[region_name]
        return super().client(region_name, service_type)


@pytest.fixture
def clients() -> Clients:
    return Clients("RegionOne", "Pod1", "Pod2")


def pod(sessions: sessionmaker[Session], region: str) -> Pod:
    with sessions() as session:
        return session.query(Pod).filter_by(region_name=region).one()


def run(sessions, clients, **options) -> list[str]:
    context = ReconcileContext(sessions, clients, "RegionOne", stale_after=0, **options)
    return reconcile(context, BRIDGE_CIDR)


def runs(sessions, clients, expected: list[str]) -> None:
    """A dry run and a real run report ``expected``; a second real run reports nothing."""
    assert run(sessions, clients, dry_run=True) == expected
    assert run(sessions, clients) == expected
    assert run(sessions, clients) == []


def top_network(clients: Clients) -> dict:
    top = clients.neutrons["RegionOne"]
    return top.post("/v2.0/networks", json={"network": {"project_id": PROJECT}})["network"]


def test_no_drift_reports_nothing(l3: RouterL3, sessions, clients):
    network = top_network(clients)
    l3.mirror.ensure_bottom_network(pod(sessions, "Pod1"), network)
    assert run(sessions, clients) == []


def test_unrouted_copy_of_a_live_top_is_adopted(l3: RouterL3, sessions, clients):
    network = top_network(clients)
    pod1 = pod(sessions, "Pod1")
    bottom_id = l3.mirror.ensure_bottom_network(pod1, network)
    with sessions.begin() as session:
        routings.forget_routing(session, network["id"], pod1.pod_id)
    assert run(sessions, clients, dry_run=True) == ["bottom_adopted: 1"]
    with sessions() as session:
        assert routings.find_bottom_id(session, network["id"], pod1.pod_id) is None
    assert run(sessions, clients) == ["bottom_adopted: 1"]
    with sessions() as session:
        assert routings.find_bottom_id(session, network["id"], pod1.pod_id) == bottom_id
    assert run(sessions, clients) == []


def test_copy_on_another_vlan_is_not_adopted(l3: RouterL3, sessions, clients):
    network = top_network(clients)
    bottom = clients.neutrons["Pod1"]
    bottom.post(
        "/v2.0/networks",
        json={
            "network": {
                "name": network["id"],
                "project_id": PROJECT,
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 4000,
            }
        },
    )
    for _ in range(2):
        assert run(sessions, clients) == ["bottom_unmatched: 1"]


def test_copy_whose_top_is_gone_is_deleted_and_users_own_are_kept(l3, sessions, clients):
    bottom = clients.neutrons["Pod1"]
    gone = bottom.post(
        "/v2.0/networks", json={"network": {"name": str(uuid.uuid4()), "project_id": PROJECT}}
    )["network"]
    bottom.post(
        "/v2.0/subnets",
        json={
            "subnet": {"name": str(uuid.uuid4()), "network_id": gone["id"], "cidr": "10.9.0.0/24"}
        },
    )
    mine = bottom.post("/v2.0/networks", json={"network": {"name": "mine"}})["network"]
    unnamed = bottom.post("/v2.0/ports", json={"port": {"network_id": mine["id"]}})["port"]
    runs(sessions, clients, ["bottom_deleted: 2"])
    assert set(bottom.data["networks"]) == {mine["id"]}
    assert set(bottom.data["ports"]) == {unnamed["id"]}


def test_routing_of_a_deleted_bottom_port_is_forgotten(l3: RouterL3, sessions, clients):
    network = top_network(clients)
    top = clients.neutrons["RegionOne"]
    top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.5.0.0/24", "project_id": PROJECT}
        },
    )
    pod1 = pod(sessions, "Pod1")
    server_port = l3.mirror.prepare_server_port(pod1, PROJECT, {"uuid": network["id"]})
    clients.neutrons["Pod1"].delete(f"/v2.0/ports/{server_port.bottom_port['id']}")
    runs(sessions, clients, ["routing_forgotten: 1"])
    with sessions() as session:
        assert routings.find_routing(session, server_port.top_port["id"], pod1.pod_id) is None


def test_empty_create_once_locks_are_filled_by_name_or_forgotten(l3, sessions, clients):
    pod1 = pod(sessions, "Pod1")
    made, missing = top_network(clients), top_network(clients)
    bottom = clients.neutrons["Pod1"]
    segment = {key: value for key, value in made.items() if key.startswith("provider:")}
    body = {"name": made["id"], "project_id": PROJECT, **segment}
    bottom_id = bottom.post("/v2.0/networks", json={"network": body})["network"]["id"]
    with sessions.begin() as session:
        for network in (made, missing):
            routings.lock_routing(
                session,
                top_id=network["id"],
                pod_id=pod1.pod_id,
                project_id=PROJECT,
                resource_type=ResourceType.NETWORK,
            )
    runs(sessions, clients, ["lock_filled: 1", "lock_forgotten: 1"])
    with sessions() as session:
        assert routings.find_bottom_id(session, made["id"], pod1.pod_id) == bottom_id
        assert routings.find_routing(session, missing["id"], pod1.pod_id) is None


def test_orphan_server_on_tricircle_ports_is_adopted_a_users_is_not(l3, sessions, clients):
    network = top_network(clients)
    top = clients.neutrons["RegionOne"]
    top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.6.0.0/24", "project_id": PROJECT}
        },
    )
    pod1 = pod(sessions, "Pod1")
    server_port = l3.mirror.prepare_server_port(pod1, PROJECT, {"uuid": network["id"]})
    server_ports.record_made_ports(sessions, pod1, PROJECT, [server_port.top_port["id"]])
    orphan_id, users_id = str(uuid.uuid4()), str(uuid.uuid4())
    bottom = clients.neutrons["Pod1"]
    bottom.put(
        f"/v2.0/ports/{server_port.bottom_port['id']}", json={"port": {"device_id": orphan_id}}
    )
    users_port = bottom.post(
        "/v2.0/ports",
        json={"port": {"network_id": server_port.bottom_port["network_id"], "device_id": users_id}},
    )["port"]
    for server_id in (orphan_id, users_id):
        clients.novas["Pod1"].servers[server_id] = {"id": server_id, "tenant_id": PROJECT}
    runs(sessions, clients, ["server_adopted: 1"])
    with sessions() as session:
        assert routings.find_bottom_id(session, orphan_id, pod1.pod_id) == orphan_id
        assert routings.find_routings_for_top(session, users_id) == []
    assert top.data["ports"][server_port.top_port["id"]]["device_id"] == orphan_id
    assert users_port["id"] in bottom.data["ports"]
    # The port the gateway made for the boot goes with the adopted server.
    assert server_ports.made_port_ids(sessions, orphan_id) == [server_port.top_port["id"]]


def test_ports_made_for_a_boot_that_never_reached_the_pod_are_released(l3, sessions, clients):
    network = top_network(clients)
    top = clients.neutrons["RegionOne"]
    top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.7.0.0/24", "project_id": PROJECT}
        },
    )
    pod1 = pod(sessions, "Pod1")
    lost, booting = (
        l3.mirror.prepare_server_port(pod1, PROJECT, {"uuid": network["id"]}) for _ in range(2)
    )
    made = [lost.top_port["id"], booting.top_port["id"]]
    server_ports.record_made_ports(sessions, pod1, PROJECT, made)
    bottom = clients.neutrons["Pod1"]
    # A boot the pod is working on: its server already holds the port (adopted, if ever, by the
    # servers check once the server shows up), so its port is not released.
    bottom.put(
        f"/v2.0/ports/{booting.bottom_port['id']}", json={"port": {"device_id": "in-flight"}}
    )
    runs(sessions, clients, ["boot_port_released: 1"])
    assert lost.top_port["id"] not in top.data["ports"]
    assert lost.bottom_port["id"] not in bottom.data["ports"]
    assert booting.top_port["id"] in top.data["ports"]
    assert server_ports.pending_made_ports(sessions, pod1, None) == [
        (booting.top_port["id"], pytest.approx(0, abs=60))
    ]
    with sessions() as session:
        assert routings.find_routing(session, lost.top_port["id"], pod1.pod_id) is None


def test_gone_server_routing_is_forgotten_and_its_ports_released_by_a_job(l3, sessions, clients):
    pod1 = pod(sessions, "Pod1")
    server_id = str(uuid.uuid4())
    with sessions.begin() as session:
        routings.route_as_itself(
            session,
            top_id=server_id,
            pod_id=pod1.pod_id,
            project_id=PROJECT,
            resource_type=ResourceType.SERVER,
        )
    runs(sessions, clients, ["routing_forgotten: 1"])
    with sessions() as session:
        queued = jobs.list_jobs(session, job_type="server_ports_cleanup")
    assert [(job.resource_id, job.payload) for job in queued] == [
        (server_id, {"pod_id": pod1.pod_id})
    ]
    with sessions() as session:
        kept = deleted_servers.deleted_server_pod(session, server_id, keep_for=60)
    assert kept is not None and kept.pod_id == pod1.pod_id
    runs(sessions, clients, [])


def test_reservation_of_a_pod_without_the_subnet_is_released(l3, sessions, clients):
    network = top_network(clients)
    top = clients.neutrons["RegionOne"]
    subnet = top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.7.0.0/24", "project_id": PROJECT}
        },
    )["subnet"]
    pod1, pod2 = pod(sessions, "Pod1"), pod(sessions, "Pod2")
    l3.mirror.prepare_server_port(pod1, PROJECT, {"uuid": network["id"]})
    l3.mirror.reserve_gateway_ip(pod2, subnet)  # as a boot in Pod2 that died before its copy
    runs(sessions, clients, ["reservation_released: 1"])
    names = {port["name"] for port in top.data["ports"].values()}
    assert constants.gateway_port_name(pod1.pod_id) in names
    assert constants.gateway_port_name(pod2.pod_id) not in names


def test_wrong_vlan_is_recreated_when_unused_and_reported_when_used(l3, sessions, clients):
    unused, used = top_network(clients), top_network(clients)
    top = clients.neutrons["RegionOne"]
    top.post(
        "/v2.0/subnets",
        json={"subnet": {"network_id": used["id"], "cidr": "10.8.0.0/24", "project_id": PROJECT}},
    )
    pod1 = pod(sessions, "Pod1")
    unused_bottom = l3.mirror.ensure_bottom_network(pod1, unused)
    used_port = l3.mirror.prepare_server_port(pod1, PROJECT, {"uuid": used["id"]})
    bottom = clients.neutrons["Pod1"]
    for bottom_id in (unused_bottom, used_port.bottom_port["network_id"]):
        bottom.data["networks"][bottom_id]["provider:segmentation_id"] = 3999
    assert run(sessions, clients, dry_run=True) == ["vlan_mismatch: 1", "vlan_recreated: 1"]
    assert run(sessions, clients) == ["vlan_mismatch: 1", "vlan_recreated: 1"]
    assert run(sessions, clients) == ["vlan_mismatch: 1"]
    with sessions() as session:
        recreated = routings.find_bottom_id(session, unused["id"], pod1.pod_id)
    assert recreated != unused_bottom
    expected = unused["provider:segmentation_id"]
    assert bottom.data["networks"][recreated]["provider:segmentation_id"] == expected


def test_drifted_routes_queue_the_router_job(l3: RouterL3, router, sessions, clients):
    l3.setup_router(router["id"], PROJECT)
    assert run(sessions, clients) == []
    pod1 = pod(sessions, "Pod1")
    with sessions() as session:
        bottom_id = routings.find_bottom_id(session, router["id"], pod1.pod_id)
    clients.neutrons["Pod1"].data["routers"][bottom_id]["routes"] = []
    assert run(sessions, clients, dry_run=True) == ["routes_differ: 1"]
    assert run(sessions, clients) == ["routes_differ: 1"]
    with sessions() as session:
        queued = jobs.list_jobs(session, job_type=constants.JOB_ROUTER_SETUP)
    assert [job.resource_id for job in queued] == [router["id"]]


def test_filters_limit_the_pods_and_projects(l3, sessions, clients):
    clients.neutrons["Pod2"].post(
        "/v2.0/networks", json={"network": {"name": str(uuid.uuid4()), "project_id": PROJECT}}
    )
    assert run(sessions, clients, region_name="Pod1") == []
    assert run(sessions, clients, project_id="someone-else") == []
    assert run(sessions, clients, region_name="Pod2", dry_run=True) == ["bottom_deleted: 1"]

"""External networks: one copy in the pod that hosts them, made by setup_external_network."""

from __future__ import annotations

import threading

import pytest
from fake_neutron import FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import Job, Pod
from tricircle.jobs.handlers import JobContext, NotYet, load_handler_modules
from tricircle.network import constants
from tricircle.network import jobs as network_jobs
from tricircle.network.l3 import RouterL3
from tricircle.network.mirror import BottomMirror, NetworkNotInPod
from tricircle.pods.client import PodClientError

ADMIN = "admin-project"
TENANT = "tenant"
EXTERNAL_CIDR = "172.24.4.0/24"


@pytest.fixture
def pods(sessions: sessionmaker[Session]) -> dict[str, Pod]:
    with sessions.begin() as session:
        made = {
            region: Pod(region_name=region, az_name=az, pod_az_name=az)
            for region, az in (("RegionOne", ""), ("Pod1", "az1"), ("Pod2", "az2"))
        }
        session.add_all(made.values())
    return made


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients("RegionOne", "Pod1", "Pod2")


@pytest.fixture
def mirror(sessions: sessionmaker[Session], clients: FakeClients, pods: dict) -> BottomMirror:
    return BottomMirror(sessions, clients, "RegionOne")  # type: ignore[arg-type]


def external_network(clients: FakeClients, **attributes: object) -> tuple[dict, dict]:
    """A flat external network on physnet extnet hinted to Pod1, with one subnet."""
    top = clients.neutrons["RegionOne"]
    body = {
        "name": "public",
        "project_id": ADMIN,
        "router:external": True,
        "provider:network_type": "flat",
        "provider:physical_network": "extnet",
        "availability_zone_hints": ["Pod1"],
        **attributes,
    }
    network = top.post("/v2.0/networks", json={"network": body})["network"]
    subnet = top.post(
        "/v2.0/subnets",
        json={
            "subnet": {
                "network_id": network["id"],
                "cidr": EXTERNAL_CIDR,
                "gateway_ip": "172.24.4.1",
                "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.200"}],
                "enable_dhcp": False,
                "project_id": ADMIN,
            }
        },
    )["subnet"]
    return network, subnet


def writes(clients: FakeClients) -> list[tuple[str, str]]:
    calls = [call for neutron in clients.neutrons.values() for call in neutron.calls]
    return [call for call in calls if call[0] != "GET"]


def test_the_copy_keeps_provider_attributes_gateway_and_pools_and_is_idempotent(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, subnet = external_network(clients)
    bottom_network_id = mirror.sync_external_network(pods["Pod1"], network)
    pod1 = clients.neutrons["Pod1"]
    bottom_network = pod1.data["networks"][bottom_network_id]
    assert bottom_network["name"] == network["id"]
    assert bottom_network["router:external"] is True
    assert bottom_network["provider:network_type"] == "flat"
    assert bottom_network["provider:physical_network"] == "extnet"
    assert "provider:segmentation_id" not in bottom_network
    (bottom_subnet,) = pod1.data["subnets"].values()
    assert bottom_subnet["name"] == subnet["id"]
    assert bottom_subnet["network_id"] == bottom_network_id
    assert (bottom_subnet["cidr"], bottom_subnet["gateway_ip"]) == (EXTERNAL_CIDR, "172.24.4.1")
    assert bottom_subnet["allocation_pools"] == subnet["allocation_pools"]
    assert bottom_subnet["enable_dhcp"] is False
    assert not clients.neutrons["RegionOne"].data["ports"], "no per-pod gateway reserved"
    assert not clients.neutrons["Pod2"].data["networks"]

    before = writes(clients)
    mirror.sync_external_network(pods["Pod1"], network)
    assert writes(clients) == before, "a second run changed something"


def test_a_shared_vlan_external_network_becomes_a_vlan_with_its_segment(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, _subnet = external_network(
        clients,
        **{
            "provider:network_type": constants.TYPE_SHARED_VLAN,
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 2100,
        },
    )
    bottom_network_id = mirror.sync_external_network(pods["Pod1"], network)
    bottom_network = clients.neutrons["Pod1"].data["networks"][bottom_network_id]
    assert (
        bottom_network["provider:network_type"],
        bottom_network["provider:physical_network"],
        bottom_network["provider:segmentation_id"],
    ) == ("vlan", "physnet1", 2100)


def test_a_pod_outside_the_hint_gets_no_copy(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _subnet = external_network(clients)
    with pytest.raises(NetworkNotInPod, match="Pod2.*hints are Pod1"):
        mirror.sync_external_network(pods["Pod2"], network)
    assert not clients.neutrons["Pod2"].data["networks"]
    with sessions() as session:
        assert routings.list_routings(session) == []


def test_subnet_changes_on_the_top_reach_the_copy(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, subnet = external_network(clients)
    mirror.sync_external_network(pods["Pod1"], network)
    top_subnet = clients.neutrons["RegionOne"].data["subnets"][subnet["id"]]
    top_subnet["allocation_pools"] = [{"start": "172.24.4.50", "end": "172.24.4.60"}]
    top_subnet["dns_nameservers"] = ["172.24.4.1"]
    mirror.sync_external_network(pods["Pod1"], network)
    (bottom_subnet,) = clients.neutrons["Pod1"].data["subnets"].values()
    assert bottom_subnet["allocation_pools"] == top_subnet["allocation_pools"]
    assert bottom_subnet["dns_nameservers"] == ["172.24.4.1"]


def test_dhcp_on_an_external_subnet_comes_after_its_reserved_port(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, subnet = external_network(clients)
    clients.neutrons["RegionOne"].data["subnets"][subnet["id"]]["enable_dhcp"] = True
    mirror.sync_external_network(pods["Pod1"], network)
    (top_dhcp,) = clients.neutrons["RegionOne"].data["ports"].values()
    (bottom_dhcp,) = clients.neutrons["Pod1"].data["ports"].values()
    assert bottom_dhcp["fixed_ips"][0]["ip_address"] == top_dhcp["fixed_ips"][0]["ip_address"]
    (bottom_subnet,) = clients.neutrons["Pod1"].data["subnets"].values()
    assert bottom_subnet["enable_dhcp"] is True


def test_a_server_port_on_an_external_network_only_in_its_pod(
    mirror: BottomMirror, clients: FakeClients, pods: dict
) -> None:
    network, _subnet = external_network(clients, shared=True)
    with pytest.raises(NetworkNotInPod, match="only in the pod that hosts it"):
        mirror.prepare_server_port(pods["Pod1"], TENANT, {"uuid": network["id"]})
    mirror.sync_external_network(pods["Pod1"], network)
    made = mirror.prepare_server_port(pods["Pod1"], TENANT, {"uuid": network["id"]})
    top_address = made.top_port["fixed_ips"][0]["ip_address"]
    assert made.bottom_port["fixed_ips"][0]["ip_address"] == top_address
    top_owners = {p["device_owner"] for p in clients.neutrons["RegionOne"].data["ports"].values()}
    assert constants.GATEWAY_PORT_OWNER not in top_owners
    with pytest.raises(NetworkNotInPod, match="hints are Pod1"):
        mirror.prepare_server_port(pods["Pod2"], TENANT, {"uuid": network["id"]})
    clients.neutrons["RegionOne"].data["networks"][network["id"]]["availability_zone_hints"] = []
    with pytest.raises(NetworkNotInPod, match="only in the pod that hosts it"):
        mirror.prepare_server_port(pods["Pod2"], TENANT, {"uuid": network["id"]})
    assert not clients.neutrons["Pod2"].data["networks"]


def test_deleting_the_top_network_removes_the_copy(
    mirror: BottomMirror, clients: FakeClients, pods: dict, sessions: sessionmaker[Session]
) -> None:
    network, _subnet = external_network(clients)
    mirror.sync_external_network(pods["Pod1"], network)
    assert mirror.delete_bottom_copies(constants.NETWORK, network["id"]) == ["Pod1"]
    assert not clients.neutrons["Pod1"].data["networks"]
    assert not clients.neutrons["Pod1"].data["subnets"]
    with sessions() as session:
        assert routings.list_routings(session) == []


# -- the job --------------------------------------------------------------------------------------


@pytest.fixture
def run_job(sessions: sessionmaker[Session], mirror: BottomMirror, monkeypatch):
    """Runs the setup_external_network handler on the fakes."""
    l3 = RouterL3(mirror, "100.0.0.0/9")
    monkeypatch.setattr(network_jobs, "router_l3", lambda session_factory: l3)
    context = JobContext(sessions, "worker-1", threading.Event())

    def run(network_id: str, region_name: str) -> None:
        job = Job(
            id=1,
            type=constants.JOB_SETUP_EXTERNAL_NETWORK,
            resource_id=network_id,
            project_id=ADMIN,
            payload={"network_id": network_id, "region_name": region_name},
        )
        network_jobs.setup_external_network(context, job)

    return run


def test_the_job_copies_the_network_into_the_payloads_pod(
    run_job, clients: FakeClients, sessions: sessionmaker[Session], pods: dict
) -> None:
    network, subnet = external_network(clients)
    run_job(network["id"], "Pod1")
    with sessions() as session:
        assert routings.find_bottom_id(session, network["id"], pods["Pod1"].pod_id)
        assert routings.find_bottom_id(session, subnet["id"], pods["Pod1"].pod_id)


def test_the_job_fails_for_an_unknown_pod_and_ends_for_a_gone_network(
    run_job, clients: FakeClients
) -> None:
    network, _subnet = external_network(clients)
    with pytest.raises(network_jobs.PodNotRegistered, match="Pod9"):
        run_job(network["id"], "Pod9")
    run_job("net-gone", "Pod1")
    clients.neutrons["RegionOne"].data["networks"][network["id"]]["router:external"] = False
    run_job(network["id"], "Pod1")
    assert not clients.neutrons["Pod1"].data["networks"]


def test_the_worker_loads_the_external_network_handler() -> None:
    assert constants.JOB_SETUP_EXTERNAL_NETWORK in load_handler_modules()


def test_delete_bottom_waits_while_the_pod_still_holds_ports(
    sessions: sessionmaker[Session], mirror: BottomMirror, monkeypatch
) -> None:
    def refuse(resource_type: str, top_id: str) -> list[str]:
        raise PodClientError("Pod2", "network", 409, "One or more ports are still in use")

    monkeypatch.setattr(mirror, "delete_bottom_copies", refuse)
    monkeypatch.setattr(
        network_jobs, "router_l3", lambda session_factory: RouterL3(mirror, "100.0.0.0/9")
    )
    job = Job(
        id=2,
        type=constants.JOB_DELETE_BOTTOM,
        resource_id="net-1",
        project_id=TENANT,
        payload={"resource_type": constants.NETWORK},
    )
    with pytest.raises(network_jobs.BottomStillInUse) as raised:
        network_jobs.delete_bottom(JobContext(sessions, "worker-1", threading.Event()), job)
    assert isinstance(raised.value, NotYet)
    assert "still in use" in str(raised.value)

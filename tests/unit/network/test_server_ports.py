"""A server's ports released as Nova does: ports the gateway made deleted, the caller's unbound."""

from __future__ import annotations

import threading

import pytest
from fake_neutron import PROJECT, FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import deleted_servers, routings
from tricircle.db.models import Job, Pod
from tricircle.db.routings import ResourceType
from tricircle.jobs.handlers import JobContext
from tricircle.network import server_ports
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClientError

SERVER = "11111111-2222-3333-4444-555555555555"


class FakeCompute:
    """A pod's Nova as Tricircle's service identity sees it: the server is there or not."""

    def __init__(self) -> None:
        self.present = True

    def get(self, path: str, **_kw: object) -> dict:
        if not self.present:
            raise PodClientError("Pod1", "compute", 404, f"{path} not found")
        return {"server": {"id": SERVER}}


class Clients(FakeClients):
    """Neutrons per region and Pod1's Nova."""

    def __init__(self) -> None:
        super().__init__("RegionOne", "Pod1", "Pod2")
        self.compute = FakeCompute()

    def client(self, region_name: str, service_type: str):  # type: ignore[override]
        if service_type == "compute":
            return self.compute
        return super().client(region_name, service_type)


@pytest.fixture
def clients() -> Clients:
    return Clients()


@pytest.fixture
def mirror(sessions: sessionmaker[Session], clients: Clients) -> BottomMirror:
    with sessions.begin() as session:
        for region, az in (("RegionOne", ""), ("Pod1", "az1"), ("Pod2", "az2")):
            session.add(Pod(region_name=region, az_name=az, pod_az_name=az))
    return BottomMirror(sessions, clients, "RegionOne")  # type: ignore[arg-type]


@pytest.fixture
def pod1(sessions: sessionmaker[Session]) -> Pod:
    with sessions() as session:
        return session.query(Pod).filter_by(region_name="Pod1").one()


@pytest.fixture
def booted(mirror: BottomMirror, clients: Clients, pod1: Pod) -> dict[str, str]:
    """A server in Pod1 with a port made for a network and a port its caller passed."""
    top = clients.neutrons["RegionOne"]
    network = top.post("/v2.0/networks", json={"network": {"project_id": PROJECT}})["network"]
    top.post(
        "/v2.0/subnets",
        json={
            "subnet": {"network_id": network["id"], "cidr": "10.5.0.0/24", "project_id": PROJECT}
        },
    )
    caller_port = top.post(
        "/v2.0/ports", json={"port": {"network_id": network["id"], "project_id": PROJECT}}
    )["port"]
    made = mirror.prepare_server_port(pod1, PROJECT, {"uuid": network["id"]})
    passed = mirror.prepare_server_port(pod1, PROJECT, {"port": caller_port["id"]})
    assert made.top_port_created and not passed.top_port_created
    server_ports.record_made_ports(mirror.session_factory, pod1, PROJECT, [made.top_port["id"]])
    assert server_ports.made_port_ids(mirror.session_factory, SERVER) == []
    assert server_ports.assign_made_ports(
        mirror.session_factory, pod1, SERVER, [made.top_port["id"], passed.top_port["id"]]
    ) == [made.top_port["id"]]
    for server_port in (made, passed):
        top.put(
            f"/v2.0/ports/{server_port.top_port['id']}",
            json={
                "port": {
                    "device_id": SERVER,
                    "device_owner": "compute:az1",
                    "binding:host_id": "pod1-compute",
                }
            },
        )
    with mirror.session_factory.begin() as session:
        routings.route_as_itself(
            session,
            top_id=SERVER,
            pod_id=pod1.pod_id,
            project_id=PROJECT,
            resource_type=ResourceType.SERVER,
        )
    return {"made": made.top_port["id"], "passed": caller_port["id"], "network": network["id"]}


def _bottom_ports(clients: Clients) -> set[str]:
    return {port["name"] for port in clients.neutrons["Pod1"].data["ports"].values()}


def test_made_ports_are_deleted_and_passed_ports_unbound(mirror, clients, pod1, booted):
    assert server_ports.made_port_ids(mirror.session_factory, SERVER) == [booted["made"]]
    released = server_ports.release_server_ports(mirror, pod1, SERVER)
    assert released == sorted([booted["made"], booted["passed"]])
    top_ports = clients.neutrons["RegionOne"].data["ports"]
    assert booted["made"] not in top_ports
    kept = top_ports[booted["passed"]]
    assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == ("", "", "")
    assert not {booted["made"], booted["passed"]} & _bottom_ports(clients)
    assert server_ports.made_port_ids(mirror.session_factory, SERVER) == []
    with mirror.session_factory() as session:
        assert routings.find_bottom_id(session, booted["passed"], pod1.pod_id) is None


def test_a_second_release_changes_nothing(mirror, clients, pod1, booted):
    server_ports.release_server_ports(mirror, pod1, SERVER)
    top = clients.neutrons["RegionOne"]
    before = {port_id: dict(port) for port_id, port in top.data["ports"].items()}
    assert server_ports.release_server_ports(mirror, pod1, SERVER) == []
    assert top.data["ports"] == before


def test_a_release_interrupted_before_the_top_delete_finishes_later(mirror, clients, pod1, booted):
    clients.neutrons["RegionOne"].fail_on.add(("DELETE", "ports"))
    with pytest.raises(Exception, match="injected"):
        server_ports.release_server_ports(mirror, pod1, SERVER)
    clients.neutrons["RegionOne"].fail_on.clear()
    assert server_ports.made_port_ids(mirror.session_factory, SERVER) == [booted["made"]]
    server_ports.release_server_ports(mirror, pod1, SERVER)
    assert booted["made"] not in clients.neutrons["RegionOne"].data["ports"]


def test_a_port_rebound_to_another_server_is_left_alone(mirror, clients, pod1, booted):
    top = clients.neutrons["RegionOne"]
    top.data["ports"][booted["passed"]]["device_id"] = "other-server"
    server_ports.unbind_top_port(mirror, booted["passed"], SERVER)
    assert top.data["ports"][booted["passed"]]["device_id"] == "other-server"
    server_ports.unbind_top_port(mirror, "port-gone", SERVER)


def _job(job_type: str, resource_id: str, payload: dict) -> Job:
    return Job(type=job_type, resource_id=resource_id, project_id=PROJECT, payload=payload)


def test_the_backstop_job_waits_for_the_pod_then_releases_and_forgets_the_server(
    sessions, mirror, clients, pod1, booted, monkeypatch
):
    monkeypatch.setattr(server_ports, "_pod_clients", lambda: clients)
    context = JobContext(sessions, "worker-1", threading.Event())
    job = _job(server_ports.JOB_SERVER_PORTS_CLEANUP, SERVER, {"pod_id": pod1.pod_id})
    with pytest.raises(server_ports.ServerStillPresent):
        server_ports.cleanup_server_ports(context, job)
    assert booted["made"] in clients.neutrons["RegionOne"].data["ports"]
    clients.compute.present = False
    server_ports.cleanup_server_ports(context, job)
    server_ports.cleanup_server_ports(context, job)
    assert booted["made"] not in clients.neutrons["RegionOne"].data["ports"]
    assert clients.neutrons["RegionOne"].data["ports"][booted["passed"]]["device_id"] == ""
    with sessions() as session:
        assert routings.routed_pod(session, SERVER, ResourceType.SERVER) is None
        kept = deleted_servers.deleted_server_pod(session, SERVER, keep_for=60)
        assert kept is not None and kept.pod_id == pod1.pod_id


@pytest.mark.parametrize("kind", ["made", "passed"])
def test_an_interface_detach_deletes_a_made_port_and_unbinds_a_passed_one(
    sessions, mirror, clients, pod1, booted, monkeypatch, kind
):
    monkeypatch.setattr(server_ports, "_pod_clients", lambda: clients)
    context = JobContext(sessions, "worker-1", threading.Event())
    top_port_id = booted[kind]
    with sessions() as session:
        bottom_id = routings.find_bottom_id(session, top_port_id, pod1.pod_id)
    bottom = clients.neutrons["Pod1"].data["ports"][bottom_id]
    bottom["device_id"] = SERVER
    job = _job(
        server_ports.JOB_INTERFACE_DETACH,
        top_port_id,
        {"pod_id": pod1.pod_id, "server_id": SERVER},
    )
    with pytest.raises(server_ports.PortStillAttached):
        server_ports.finish_interface_detach(context, job)
    bottom["device_id"] = ""
    server_ports.finish_interface_detach(context, job)
    assert bottom_id not in clients.neutrons["Pod1"].data["ports"]
    top_ports = clients.neutrons["RegionOne"].data["ports"]
    if kind == "made":
        assert top_port_id not in top_ports
    else:
        assert top_ports[top_port_id]["device_id"] == ""
    with sessions() as session:
        assert routings.find_bottom_id(session, top_port_id, pod1.pod_id) is None


def _attach_job(pod1: Pod, top_port_ids: list[str]) -> Job:
    payload = {"pod_id": pod1.pod_id, "top_port_ids": top_port_ids, "device_owner": "compute:az1"}
    return _job(server_ports.JOB_SERVER_PORTS_ATTACH, SERVER, payload)


@pytest.fixture
def unmarked(clients: Clients, booted: dict[str, str]) -> dict[str, dict]:
    """The booted server's top ports as the boot leaves them, before the attach job ran."""
    ports = clients.neutrons["RegionOne"].data["ports"]
    for kind in ("made", "passed"):
        ports[booted[kind]].update(device_id="", device_owner="")
    return {kind: ports[booted[kind]] for kind in ("made", "passed")}


@pytest.fixture
def job_context(sessions, clients, mirror, monkeypatch) -> JobContext:
    monkeypatch.setattr(server_ports, "_pod_clients", lambda: clients)
    return JobContext(sessions, "worker-1", threading.Event())


def test_the_attach_job_marks_each_port_as_the_servers_once(
    job_context, pod1, booted, unmarked, clients
):
    job = _attach_job(pod1, [booted["made"], booted["passed"]])
    server_ports.attach_server_ports(job_context, job)
    for port in unmarked.values():
        assert (port["device_id"], port["device_owner"]) == (SERVER, "compute:az1")
    puts = [call for call in clients.neutrons["RegionOne"].calls if call[0] == "PUT"]
    server_ports.attach_server_ports(job_context, job)
    assert [call for call in clients.neutrons["RegionOne"].calls if call[0] == "PUT"] == puts


def test_the_attach_job_marks_nothing_for_a_server_no_longer_routed(
    job_context, sessions, pod1, booted, unmarked
):
    with sessions.begin() as session:
        routings.forget_routing(session, SERVER, pod1.pod_id, ResourceType.SERVER)
    server_ports.attach_server_ports(job_context, _attach_job(pod1, [booted["made"]]))
    assert unmarked["made"]["device_id"] == ""


def test_the_attach_job_leaves_a_port_another_device_holds_and_skips_a_gone_one(
    job_context, pod1, booted, unmarked
):
    unmarked["passed"]["device_id"] = "other-server"
    job = _attach_job(pod1, ["port-gone", booted["passed"], booted["made"]])
    server_ports.attach_server_ports(job_context, job)
    assert unmarked["passed"]["device_id"] == "other-server"
    assert unmarked["made"]["device_id"] == SERVER


def test_a_server_deleted_while_the_attach_job_runs_has_its_ports_unbound_again(
    job_context, sessions, pod1, booted, unmarked, monkeypatch
):
    mark = server_ports.mark_top_port

    def mark_then_deleted(*args: object) -> None:
        mark(*args)
        with sessions.begin() as session:  # the delete's release ran before this mark
            routings.forget_routing(session, SERVER, pod1.pod_id, ResourceType.SERVER)

    monkeypatch.setattr(server_ports, "mark_top_port", mark_then_deleted)
    server_ports.attach_server_ports(job_context, _attach_job(pod1, [booted["passed"]]))
    assert (unmarked["passed"]["device_id"], unmarked["passed"]["device_owner"]) == ("", "")

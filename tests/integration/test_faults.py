"""Faults the lab injects into running pods and Tricircle's own processes, each with a time bound.

Every test kills or freezes a real process (``tricircle.lab.faults``), checks what users see
meanwhile, starts the process again and reads the outcome back from the pods and the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy
from compute_gateway_helpers import (
    FLAVOR_ID,
    boot,
    connect,
    delete_all,
    elapsed,
    fault,
    gateway,
    image_id,
    wait_active,
)
from cross_pod_helpers import lab_conf, lab_pod, reconcile, reconcile_counts
from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exceptions

from tricircle.db import jobs, routings
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Job, JobStatus
from tricircle.lab import faults
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER

pytestmark = pytest.mark.integration

V2_69 = {"OpenStack-API-Version": "compute 2.69"}
V2_68 = {"OpenStack-API-Version": "compute 2.68"}


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="module")
def network(demo_cloud, wait_until):
    """A tenant network with one subnet on the central Neutron, deleted once servers let go."""
    made = demo_cloud.network.create_network(name=f"fault-net-{uuid.uuid4().hex[:6]}")
    subnet = demo_cloud.network.create_subnet(network_id=made.id, cidr="10.78.0.0/24", ip_version=4)
    yield made
    wait_until(
        lambda: (
            not [
                port
                for port in demo_cloud.network.ports(network_id=made.id)
                if port.device_owner.startswith("compute:")
            ]
        ),
        120,
        "the deleted servers' ports released",
    )
    demo_cloud.network.delete_subnet(subnet, ignore_missing=True)
    demo_cloud.network.delete_network(made, ignore_missing=True)


def boot_body(cloud: Any, name: str, az: str, network_id: str) -> dict[str, Any]:
    """The body of a boot through the gateway on one network in ``az``."""
    return {
        "server": {
            "name": name,
            "flavorRef": FLAVOR_ID,
            "imageRef": image_id(cloud),
            "availability_zone": az,
            "networks": [{"uuid": network_id}],
        }
    }


def test_a_killed_pod_nova_api_leaves_the_other_pod_listed_until_it_is_back(
    compute_lab, demo_cloud, demo_session
):
    """Bound: each list answers within 10 s while Pod2's Nova API is dead."""
    servers = [boot(demo_cloud, f"fault-list-{az}", az, wait=False) for az in ("az1", "az2")]
    servers = [demo_cloud.compute.wait_for_server(server, wait=180) for server in servers]
    in_pod1, in_pod2 = servers[0].id, servers[1].id
    api = gateway(demo_session)
    try:
        faults.stop(compute_lab, "pod2-nova-api", signal.SIGKILL)
        try:
            started = time.monotonic()
            listed = api.get("/servers/detail", headers=V2_69).json()["servers"]
            assert elapsed(started) < 10
            by_id = {server["id"]: server["status"] for server in listed}
            assert by_id.get(in_pod1) == "ACTIVE" and by_id.get(in_pod2) == "UNKNOWN", by_id
            started = time.monotonic()
            older = {s["id"] for s in api.get("/servers", headers=V2_68).json()["servers"]}
            assert elapsed(started) < 10
            assert in_pod1 in older and in_pod2 not in older
        finally:
            faults.restart(compute_lab, "pod2-nova-api")
        listed = api.get("/servers/detail", headers=V2_69).json()["servers"]
        by_id = {server["id"]: server["status"] for server in listed}
        assert by_id.get(in_pod1) == "ACTIVE" and by_id.get(in_pod2) == "ACTIVE", by_id
    finally:
        delete_all(demo_cloud, servers)


def test_a_boot_while_the_pod_neutron_is_dead_is_503_and_leaves_nothing(
    compute_lab, demo_cloud, demo_session, network, pod_api
):
    """Bound: the refused boot answers within 30 s; the same boot succeeds once Neutron is back."""
    api = gateway(demo_session)
    name = f"fault-boot-{uuid.uuid4().hex[:6]}"
    body = boot_body(demo_cloud, name, "az2", network.id)
    central = pod_api("RegionOne", "network")
    ports_before = {
        p["id"] for p in central.get(f"/v2.0/ports?network_id={network.id}").json()["ports"]
    }
    faults.stop(
        compute_lab, "pod2-neutron", signal.SIGKILL, port=compute_lab.pod_layouts[1].port("neutron")
    )
    try:
        started = time.monotonic()
        refused = api.post("/servers", json=body, raise_exc=False)
        assert elapsed(started) < 30
        fault(refused, 503, "serviceUnavailable")
        ports_after = {
            p["id"] for p in central.get(f"/v2.0/ports?network_id={network.id}").json()["ports"]
        }
        assert ports_after == ports_before, "the boot's top port must be released"
        for region in ("Pod1", "Pod2"):
            made = pod_api(region, "compute").get(
                "/servers", params={"all_tenants": "1", "name": name}
            )
            assert made.json()["servers"] == [], region
    finally:
        faults.restart(compute_lab, "pod2-neutron")
    made = api.post("/servers", json=body).json()["server"]
    server = demo_cloud.compute.wait_for_server(demo_cloud.compute.get_server(made["id"]), wait=180)
    try:
        assert server.availability_zone == "az2" and list(server.addresses) == [network.name]
    finally:
        delete_all(demo_cloud, [server])


HOLD_SERVER_ROUTING = """
CREATE FUNCTION fault_hold_server_routing() RETURNS trigger AS $$
BEGIN
    IF NEW.resource_type = 'server' THEN PERFORM pg_sleep(300); END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER fault_hold_server_routing BEFORE INSERT ON resource_routings
    FOR EACH ROW EXECUTE FUNCTION fault_hold_server_routing();
"""
HELD_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
)
RELEASE_SERVER_ROUTING = """
DROP TRIGGER IF EXISTS fault_hold_server_routing ON resource_routings;
DROP FUNCTION IF EXISTS fault_hold_server_routing();
"""


@contextlib.contextmanager
def server_routings_held(engine: sqlalchemy.Engine) -> Iterator[Callable[[], list[int]]]:
    """Every server routing insert held in Tricircle's database (a trigger) for the block.

    Yields a probe listing the database backends being held; on exit they are terminated (their
    client is gone by then, or its transaction is aborted) and the trigger removed.
    """

    def held() -> list[int]:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sqlalchemy.text(HELD_BACKENDS))]

    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(HOLD_SERVER_ROUTING))
    try:
        yield held
    finally:
        with engine.begin() as connection:
            for pid in held():
                connection.execute(sqlalchemy.text(f"SELECT pg_terminate_backend({int(pid)})"))
            connection.execute(sqlalchemy.text(RELEASE_SERVER_ROUTING))


def test_gateway_killed_after_the_pod_accepted_a_boot_leaves_an_orphan_reconcile_adopts(
    compute_lab, demo_cloud, demo_session, network, pod_api, mirror, wait_until
):
    """Bound: the orphan is adopted by one `tricircle reconcile` run after the gateway restarts.

    The gateway is SIGKILLed between the pod's answer to the boot and the routing's commit (the
    routing insert is held in the database meanwhile): the pod has a server nothing routes.
    """
    api = gateway(demo_session)
    name = f"fault-orphan-{uuid.uuid4().hex[:6]}"
    body = boot_body(demo_cloud, name, "az2", network.id)
    pod2 = lab_pod(mirror.session_factory, "Pod2")
    engine = make_engine(lab_conf(compute_lab).database.connection)
    answers: list[object] = []

    def boot_through_the_gateway() -> None:
        try:
            answers.append(api.post("/servers", json=body, raise_exc=False))
        except ks_exceptions.ConnectionError as error:  # the gateway died under the request
            answers.append(error)

    with server_routings_held(engine) as held:
        booting = threading.Thread(target=boot_through_the_gateway)
        booting.start()
        try:
            wait_until(held, 60, "the gateway's server routing insert held after the pod's answer")
            faults.stop(compute_lab, "tricircle-compute-api", signal.SIGKILL)
        finally:
            booting.join(30)
    assert not booting.is_alive()
    (answer,) = answers
    assert getattr(answer, "status_code", None) != 202, "the killed gateway answered the boot"
    faults.restart(compute_lab, "tricircle-compute-api")
    in_pod = pod_api("Pod2", "compute").get("/servers", params={"all_tenants": "1", "name": name})
    (orphan,) = in_pod.json()["servers"]
    server_id = orphan["id"]
    try:
        with mirror.session_factory() as session:
            assert routings.find_routing(session, server_id, pod2.pod_id) is None
        project_id = demo_session.get_project_id()
        found = reconcile_counts(reconcile(compute_lab, project_id, "--pod", "Pod2", "--dry-run"))
        assert found.get("server_adopted") == 1, found
        assert reconcile_counts(reconcile(compute_lab, project_id, "--pod", "Pod2")) == found
        with mirror.session_factory() as session:
            assert routings.find_bottom_id(session, server_id, pod2.pod_id) == server_id
        assert "server_adopted" not in reconcile_counts(
            reconcile(compute_lab, project_id, "--pod", "Pod2")
        )
        server = demo_cloud.compute.wait_for_server(demo_cloud.compute.get_server(server_id))
        assert server.availability_zone == "az2" and list(server.addresses) == [network.name]
        central = pod_api("RegionOne", "network")
        top_ports = central.get("/v2.0/ports", params={"device_id": server_id}).json()["ports"]
        bottom_ports = (
            pod_api("Pod2", "network")
            .get("/v2.0/ports", params={"device_id": server_id})
            .json()["ports"]
        )
        assert len(top_ports) == 1 and len(bottom_ports) == 1, (top_ports, bottom_ports)
        named = api.get("/servers", params={"name": name}).json()["servers"]
        assert [s["id"] for s in named] == [server_id], "no duplicate through RegionOne"
    finally:
        delete_all(demo_cloud, [demo_cloud.compute.get_server(server_id)])
    # The gateway recorded the port as made for the boot before asking the pod: it goes with the
    # adopted server, top and bottom (no orphan port).
    (top_port,) = top_ports
    wait_until(
        lambda: central.get(f"/v2.0/ports/{top_port['id']}", raise_exc=False).status_code == 404,
        120,
        "the adopted server's top port deleted with it",
    )
    assert (
        pod_api("Pod2", "network")
        .get("/v2.0/ports", params={"name": top_port["id"]})
        .json()["ports"]
        == []
    )


def test_a_disabled_pod_takes_no_new_project_and_keeps_serving_its_servers(
    compute_lab, demo_cloud, demo_session, admin_session, project
):
    """Bound: the disabled pod's server stops and starts within 120 s each."""
    admin = adapter.Adapter(admin_session, endpoint_override=compute_lab.admin_api_url)
    pods = admin.get("/pods").json()["pods"]
    pod2_id = next(pod["pod_id"] for pod in pods if pod["region_name"] == "Pod2")
    server = boot(demo_cloud, "fault-disabled", "az2")
    api = gateway(demo_session)
    admin.put(f"/pods/{pod2_id}", json={"pod": {"is_enabled": False}})
    try:
        listed = {s["id"] for s in api.get("/servers").json()["servers"]}
        assert server.id in listed
        for action, status in (("os-stop", "SHUTOFF"), ("os-start", "ACTIVE")):
            api.post(f"/servers/{server.id}/action", json={action: None})
            demo_cloud.compute.wait_for_server(server, status=status, wait=120)
        newcomer = connect(compute_lab, DEMO_USER, project["name"])
        refused = gateway(newcomer.session).post(
            "/servers",
            json={
                "server": {
                    "name": "fault-newcomer",
                    "flavorRef": "1",
                    "imageRef": image_id(demo_cloud),
                    "availability_zone": "az2",
                    "networks": "none",
                }
            },
            headers={"OpenStack-API-Version": "compute 2.37"},
            raise_exc=False,
        )
        assert "availability zone" in fault(refused, 400, "badRequest")
        bindings = admin.get("/bindings", params={"project_id": project["id"]}).json()
        assert all(b["pod_id"] != pod2_id for b in bindings["pod_bindings"]), bindings
    finally:
        admin.put(f"/pods/{pod2_id}", json={"pod": {"is_enabled": True}})
        delete_all(demo_cloud, [server])


DATABASE_DOWN_SECONDS = 5.0
DATABASE_GRACE_SECONDS = 5.0
LOAD_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Answer:
    """One call made under load: what, when (monotonic) and its HTTP status."""

    what: str
    started: float
    ended: float
    status: int


def run_under_load(
    calls: dict[str, Callable[[], int]], seconds: float, fault_at: float, fault: Callable[[], None]
) -> list[Answer]:
    """Each call of ``calls`` repeated in its own thread for ``seconds``; ``fault`` runs in this
    thread ``fault_at`` seconds in. Returns every answer."""
    answers: list[Answer] = []
    lock = threading.Lock()
    ends = time.monotonic() + seconds

    def repeat(what: str, call: Callable[[], int]) -> None:
        while time.monotonic() < ends:
            started = time.monotonic()
            try:
                status = call()
            except ks_exceptions.ConnectionError:
                status = 0
            with lock:
                answers.append(Answer(what, started, time.monotonic(), status))

    threads = [threading.Thread(target=repeat, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    try:
        threading.Event().wait(fault_at)  # the load runs alone first
        fault()
    finally:
        for thread in threads:
            thread.join(seconds + 120)
    assert not any(thread.is_alive() for thread in threads)
    return answers


def router_jobs(engine: sqlalchemy.Engine, router_id: str) -> list[Job]:
    """Every job Tricircle's database holds for ``router_id``."""
    with make_session_factory(engine)() as session:
        return jobs.list_jobs(session, resource_id=router_id)


def jobs_done(engine: sqlalchemy.Engine, resource_id: str) -> bool:
    """True if every job of ``resource_id`` has succeeded."""
    return all(job.status == JobStatus.SUCCESS for job in router_jobs(engine, resource_id))


def bottom_router_on(pod_network: adapter.Adapter, top_router_id: str, top_subnet_id: str) -> bool:
    """True if the pod's copy of the top router has an interface on the pod's copy of the top
    subnet (it may also have one on the bridge network)."""
    subnets = pod_network.get("/v2.0/subnets", params={"name": top_subnet_id}).json()["subnets"]
    copies = pod_network.get("/v2.0/routers", params={"name": top_router_id}).json()["routers"]
    ports = [
        port
        for copy in copies
        for port in pod_network.get("/v2.0/ports", params={"device_id": copy["id"]}).json()["ports"]
        if port["device_owner"] == "network:router_interface"
    ]
    held = {ip["subnet_id"] for port in ports for ip in port["fixed_ips"]}
    return len(subnets) == 1 and subnets[0]["id"] in held


def test_tricircles_database_restarted_under_load_answers_503_meanwhile_and_loses_no_job(
    compute_lab, demo_cloud, demo_session, network, pod_api, wait_until, tmp_path
):
    """Bound: 60 s of boots, deletes, lists and router interface changes by three clients while
    Tricircle's PostgreSQL is shut down (fast shutdown) for 5 s and started again. No call answers
    500; a 503 only for calls made while it was down or within 5 s after it took connections
    again; every router job finishes within 120 s and Pod1's bottom router converges. A boot cut
    by the outage after it made its ports (its undo needs the database too) leaves them to
    reconciliation: once the load is over, a reconcile that counts anything older than 1 s as
    left behind cleans up, and a second finds nothing."""
    boot(demo_cloud, f"fault-db-anchor-{uuid.uuid4().hex[:6]}", "az1", [{"uuid": network.id}])
    subnet_id = next(demo_cloud.network.subnets(network_id=network.id)).id
    router = demo_cloud.network.create_router(name=f"fault-db-{uuid.uuid4().hex[:6]}")
    api = gateway(demo_session)
    neutron = adapter.Adapter(
        demo_session, service_type="network", region_name="RegionOne", interface="public"
    )
    interface = {"subnet_id": subnet_id}
    attached = {"now": False}

    def boot_and_delete() -> int:
        """A boot, its delete, and reads until it is gone: the first unexpected status, else
        the delete's (the project's quota stays free for the next boot)."""
        name = f"fault-db-{uuid.uuid4().hex[:6]}"
        body = boot_body(demo_cloud, name, "az1", network.id)
        answer = api.post("/servers", json=body, raise_exc=False)
        if answer.status_code != 202:
            return answer.status_code
        server_id = answer.json()["server"]["id"]
        deleted = api.delete(f"/servers/{server_id}", raise_exc=False).status_code
        if deleted != 204:
            return deleted
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = api.get(f"/servers/{server_id}", raise_exc=False).status_code
            if shown == 404:
                return deleted
            if shown != 200:
                return shown
            threading.Event().wait(0.5)
        return 408

    def list_servers() -> int:
        return api.get("/servers/detail", raise_exc=False).status_code

    def change_interface() -> int:
        action = "remove_router_interface" if attached["now"] else "add_router_interface"
        answer = neutron.put(f"/v2.0/routers/{router.id}/{action}", json=interface, raise_exc=False)
        if answer.status_code == 200:
            attached["now"] = not attached["now"]
        return answer.status_code

    window: dict[str, float] = {}

    def restart_database() -> None:
        window["down"] = time.monotonic()
        faults.stop(
            compute_lab,
            "tricircle-postgres",
            signal.SIGINT,
            port=compute_lab.port("tricircle_database"),
        )
        threading.Event().wait(DATABASE_DOWN_SECONDS)  # the outage lasts this long
        faults.restart(compute_lab, "tricircle-postgres")
        window["up"] = time.monotonic()

    try:
        answers = run_under_load(
            {"boot": boot_and_delete, "list": list_servers, "router": change_interface},
            LOAD_SECONDS,
            15.0,
            restart_database,
        )
        failed = [a for a in answers if a.status >= 500 and a.status != 503 or a.status == 0]
        assert not failed, failed
        late = window["up"] + DATABASE_GRACE_SECONDS
        refused = [a for a in answers if a.status == 503]
        assert all(a.started < late and a.ended > window["down"] for a in refused), refused
        after = [a for a in answers if a.started >= late]
        assert {a.what for a in after} == {"boot", "list", "router"}, "every client ran after"
        assert all(a.status < 400 for a in after), after
        if not attached["now"]:
            assert change_interface() == 200
        engine = make_engine(lab_conf(compute_lab).database.connection)
        wait_until(lambda: jobs_done(engine, router.id), 120, "every job of the router finished")
        wait_until(
            lambda: bottom_router_on(pod_api("Pod1", "network"), router.id, subnet_id),
            60,
            "Pod1's bottom router on the subnet",
        )
        project_id = demo_session.get_project_id()
        no_boot_in_flight = tmp_path / "stale-after-1s.conf"
        no_boot_in_flight.write_text("[xjob]\nreconcile_stale_after = 1\n")
        reconcile(compute_lab, project_id, extra_config=no_boot_in_flight)
        assert reconcile_counts(reconcile(compute_lab, project_id, "--dry-run")) == {}
    finally:
        if attached["now"]:
            neutron.put(f"/v2.0/routers/{router.id}/remove_router_interface", json=interface)
        left = [s for s in demo_cloud.compute.servers() if s.name.startswith("fault-db-")]
        delete_all(demo_cloud, left)
        demo_cloud.network.delete_router(router, ignore_missing=True)


BROKER_DOWN_SECONDS = 5.0


def computes_up(pod_compute: adapter.Adapter) -> bool:
    """True if every nova-compute service of the pod reports itself up (its heartbeat goes over
    the broker, so a restart leaves it down until the pod has reconnected)."""
    services = pod_compute.get("/os-services", params={"binary": "nova-compute"}).json()
    return all(service["state"] == "up" for service in services["services"])


def agents_alive(pod_network: adapter.Adapter) -> bool:
    """True if every Neutron agent of the pod is alive (its state reports ride the broker too;
    a port binds only on a host whose OVS agent is alive)."""
    agents = pod_network.get("/v2.0/agents").json()["agents"]
    return bool(agents) and all(agent["alive"] for agent in agents)


def ports_settled(pod_network: adapter.Adapter) -> bool:
    """True if every port the pod's agents wired is ACTIVE: an agent whose report of wired ports
    was lost across the broker restart waits out the RPC timeout (60 s) and a backoff before it
    reports again, and wires no new port meanwhile (a boot then times out on its VIF)."""
    ports = pod_network.get("/v2.0/ports").json()["ports"]
    wired = [
        p for p in ports if p.get("binding:vif_type") not in (None, "unbound", "binding_failed")
    ]
    return all(port["status"] == "ACTIVE" for port in wired)


def test_the_pods_broker_restarted_leaves_pods_working_and_a_job_queued_meanwhile_done(
    compute_lab, demo_cloud, network, pod_api, wait_until
):
    """Bound: the pods' RabbitMQ node is stopped for 5 s and started again; within 240 s of the
    restart every pod's nova-compute and Neutron agents report alive again, a router job queued
    while it was down has finished, Pod1's bottom router has the interface, every port the pods'
    agents wired is ACTIVE (their reports went through again), and a server booted
    through RegionOne in each pod is ACTIVE (every pod's Nova, Neutron agents and scheduler
    reconnected)."""
    boot(demo_cloud, f"fault-mq-anchor-{uuid.uuid4().hex[:6]}", "az1", [{"uuid": network.id}])
    subnet_id = next(demo_cloud.network.subnets(network_id=network.id)).id
    router = demo_cloud.network.create_router(name=f"fault-mq-{uuid.uuid4().hex[:6]}")
    engine = make_engine(lab_conf(compute_lab).database.connection)
    try:
        faults.stop(
            compute_lab, "rabbitmq", signal.SIGTERM, port=compute_lab.port("rabbitmq"), timeout=60
        )
        try:
            demo_cloud.network.add_interface_to_router(router, subnet_id=subnet_id)
            threading.Event().wait(BROKER_DOWN_SECONDS)  # the outage lasts this long
        finally:
            faults.restart(compute_lab, "rabbitmq")
        restarted = time.monotonic()
        wait_until(
            lambda: all(
                computes_up(pod_api(pod.region, "compute"))
                and agents_alive(pod_api(pod.region, "network"))
                for pod in compute_lab.pod_layouts
            ),
            240,
            "every pod's nova-compute and Neutron agents reporting alive again",
        )
        assert router_jobs(engine, router.id), "the interface change queued a job"
        wait_until(lambda: jobs_done(engine, router.id), 240, "the router's jobs finished")
        assert bottom_router_on(pod_api("Pod1", "network"), router.id, subnet_id)
        wait_until(
            lambda: all(
                ports_settled(pod_api(pod.region, "network")) for pod in compute_lab.pod_layouts
            ),
            240,
            "every port the pods' agents wired ACTIVE",
        )
        servers = [
            boot(demo_cloud, f"fault-mq-{az}", az, [{"uuid": network.id}], wait=False)
            for az in ("az1", "az2")
        ]
        for server in servers:
            remaining = max(1.0, 240 - elapsed(restarted))
            assert wait_active(demo_cloud, server, remaining).status == "ACTIVE"
    finally:
        with contextlib.suppress(Exception):
            demo_cloud.network.remove_interface_from_router(router, subnet_id=subnet_id)
        left = [s for s in demo_cloud.compute.servers() if s.name.startswith("fault-mq-")]
        delete_all(demo_cloud, left)
        demo_cloud.network.delete_router(router, ignore_missing=True)

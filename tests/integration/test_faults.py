"""Faults the lab injects into running pods and Tricircle's own processes, each with a time bound.

Every test kills or freezes a real process (``tricircle.lab.faults``), checks what users see
meanwhile, starts the process again and reads the outcome back from the pods and the database.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy
from compute_gateway_helpers import boot, connect, delete_all, elapsed, fault, gateway, image_id
from cross_pod_helpers import lab_conf, lab_pod, reconcile, reconcile_counts
from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exceptions

from tricircle.db import routings
from tricircle.db.engine import make_engine
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
    body = {
        "server": {
            "name": name,
            "flavorRef": "1",
            "imageRef": image_id(demo_cloud),
            "availability_zone": "az2",
            "networks": [{"uuid": network.id}],
        }
    }
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
    body = {
        "server": {
            "name": name,
            "flavorRef": "1",
            "imageRef": image_id(demo_cloud),
            "availability_zone": "az2",
            "networks": [{"uuid": network.id}],
        }
    }
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

"""Cross-pod L3 on the lab: two tenant networks in Pod1 and Pod2 joined by one top router.

The router interfaces are added on the central Neutron; its Tricircle service plugin queues
``router_setup`` and the lab's xjob worker runs it. Everything is read back from the pods.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from cross_pod_helpers import lab_pod
from keystoneauth1 import adapter, session

from tricircle.db import jobs as job_queries
from tricircle.db import routings
from tricircle.db.models import JobStatus
from tricircle.lab import faults
from tricircle.lab.layout import TOP_REGION, LabLayout
from tricircle.lab.services import XJOB_PROCESSES
from tricircle.network import constants
from tricircle.network.mirror import BottomMirror

pytestmark = pytest.mark.integration

PodApi = Callable[[str, str], adapter.Adapter]
WaitUntil = Callable[[Callable[[], object], float, str], object]
CIDRS = {"Pod1": "10.51.0.0/24", "Pod2": "10.52.0.0/24"}


@dataclass
class Topology:
    router_id: str
    subnets: dict[str, dict]  # region -> top subnet
    project_id: str


@pytest.fixture
def central(demo_session: session.Session) -> adapter.Adapter:
    return adapter.Adapter(
        demo_session, service_type="network", region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def topology(
    central: adapter.Adapter,
    mirror: BottomMirror,
    demo_session: session.Session,
    pod_api: PodApi,
    wait_until: WaitUntil,
) -> Iterator[Topology]:
    """One demo network per pod, each with a port mirrored there, and a router (no interfaces)."""
    project_id = demo_session.get_project_id()
    tag = uuid.uuid4().hex[:8]
    subnets, networks, server_ports = {}, [], []
    for region, cidr in CIDRS.items():
        network = central.post(
            "/v2.0/networks", json={"network": {"name": f"test-l3-{tag}-{region}"}}
        ).json()["network"]
        networks.append(network["id"])
        subnets[region] = central.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": cidr, "ip_version": 4}},
        ).json()["subnet"]
        pod = lab_pod(mirror.session_factory, region)
        server_ports.append(
            (pod, mirror.prepare_server_port(pod, project_id, {"uuid": network["id"]}))
        )
    router = central.post("/v2.0/routers", json={"router": {"name": f"test-l3-{tag}"}}).json()[
        "router"
    ]
    yield Topology(router["id"], subnets, project_id)
    for subnet in subnets.values():
        central.put(
            f"/v2.0/routers/{router['id']}/remove_router_interface",
            json={"subnet_id": subnet["id"]},
            raise_exc=False,
        )
    central.delete(f"/v2.0/routers/{router['id']}", raise_exc=False)
    wait_until(
        lambda: all(bottom_router(pod_api, region, router["id"]) is None for region in CIDRS),
        60,
        "bottom routers gone after the top router was deleted",
    )
    for pod, server_port in server_ports:
        mirror.release_server_port(pod, server_port)
    for network_id in networks:
        central.delete(f"/v2.0/networks/{network_id}", raise_exc=False)


def bottom_router(pod_api: PodApi, region: str, router_id: str) -> dict | None:
    routers = pod_api(region, "network").get("/v2.0/routers", params={"name": router_id})
    found = routers.json()["routers"]
    return found[0] if found else None


def interfaces(pod_api: PodApi, region: str, bottom_router_id: str) -> list[dict]:
    return (
        pod_api(region, "network")
        .get(
            "/v2.0/ports",
            params={"device_id": bottom_router_id, "device_owner": "network:router_interface"},
        )
        .json()["ports"]
    )


def cross_pod_state(pod_api: PodApi, router_id: str) -> dict[str, dict] | None:
    """Per pod: bottom router routes, bridge IP and interface count, once both routers exist."""
    state = {}
    for region in CIDRS:
        router = bottom_router(pod_api, region, router_id)
        if router is None:
            return None
        ports = interfaces(pod_api, region, router["id"])
        bridge = [port for port in ports if port["name"]]  # the mirrored bridge port
        if len(bridge) != 1:
            return None
        state[region] = {
            "routes": router["routes"],
            "bridge_ip": bridge[0]["fixed_ips"][0]["ip_address"],
            "interfaces": len(ports),
        }
    return state


def routes_converged(pod_api: PodApi, router_id: str) -> dict[str, dict] | None:
    state = cross_pod_state(pod_api, router_id)
    if state is None:
        return None
    for region, other in (("Pod1", "Pod2"), ("Pod2", "Pod1")):
        wanted = [{"destination": CIDRS[other], "nexthop": state[other]["bridge_ip"]}]
        if state[region]["routes"] != wanted:
            return None
    return state


def add_interfaces(central: adapter.Adapter, topology: Topology, regions: list[str]) -> None:
    for region in regions:
        central.put(
            f"/v2.0/routers/{topology.router_id}/add_router_interface",
            json={"subnet_id": topology.subnets[region]["id"]},
        )


def test_router_joins_two_pods_over_the_bridge_and_is_undone(
    central: adapter.Adapter,
    topology: Topology,
    pod_api: PodApi,
    wait_until: WaitUntil,
    mirror: BottomMirror,
) -> None:
    add_interfaces(central, topology, ["Pod1", "Pod2"])
    state = wait_until(
        lambda: routes_converged(pod_api, topology.router_id), 60, "bottom routers and routes"
    )
    assert isinstance(state, dict)
    assert state["Pod1"]["bridge_ip"] != state["Pod2"]["bridge_ip"]
    for region in CIDRS:
        assert state[region]["interfaces"] == 2, f"{region}: own subnet + bridge port"
        router = bottom_router(pod_api, region, topology.router_id)
        assert router is not None
        gateway = {
            fixed_ip["ip_address"]
            for port in interfaces(pod_api, region, router["id"])
            if not port["name"]
            for fixed_ip in port["fixed_ips"]
        }
        bottom_subnet = (
            pod_api(region, "network")
            .get("/v2.0/subnets", params={"name": topology.subnets[region]["id"]})
            .json()["subnets"][0]
        )
        assert gateway == {bottom_subnet["gateway_ip"]}, f"{region}: per-pod gateway interface"
    with mirror.session_factory() as session:
        bridge = routings.find_routings_for_top(session, constants.bridge_key(topology.project_id))
    assert len(bridge) == 1 and bridge[0].bottom_id

    # Removing Pod2's interface leaves Pod1 alone: no bridge, no route, no router in Pod2.
    central.put(
        f"/v2.0/routers/{topology.router_id}/remove_router_interface",
        json={"subnet_id": topology.subnets["Pod2"]["id"]},
    )

    def pod2_undone() -> bool:
        pod1 = bottom_router(pod_api, "Pod1", topology.router_id)
        with mirror.session_factory() as session:
            bridge = routings.find_routings_for_top(
                session, constants.bridge_key(topology.project_id)
            )
        return (
            bottom_router(pod_api, "Pod2", topology.router_id) is None
            and pod1 is not None
            and pod1["routes"] == []
            and len(interfaces(pod_api, "Pod1", pod1["id"])) == 1
            and not bridge
        )

    wait_until(
        pod2_undone, 60, "Pod2's bottom router, bridge ports, bridge network and routes removed"
    )

    # Deleting the top router (after its last interface) removes Pod1's bottom router.
    central.put(
        f"/v2.0/routers/{topology.router_id}/remove_router_interface",
        json={"subnet_id": topology.subnets["Pod1"]["id"]},
    )
    central.delete(f"/v2.0/routers/{topology.router_id}")
    wait_until(
        lambda: bottom_router(pod_api, "Pod1", topology.router_id) is None,
        60,
        "Pod1's bottom router deleted",
    )


def test_pod_down_while_the_job_runs_is_retried_until_it_is_back(
    lab: LabLayout,
    central: adapter.Adapter,
    topology: Topology,
    pod_api: PodApi,
    wait_until: WaitUntil,
    mirror: BottomMirror,
) -> None:
    pod2 = next(pod for pod in lab.pod_layouts if pod.region == "Pod2")
    faults.stop(lab, f"{pod2.name}-neutron", port=pod2.port("neutron"))
    try:
        add_interfaces(central, topology, ["Pod1", "Pod2"])

        def failed_attempt() -> bool:
            with mirror.session_factory() as session:
                found = job_queries.list_jobs(session, resource_id=topology.router_id)
            return any(job.status == JobStatus.FAILED and job.attempts >= 1 for job in found)

        wait_until(failed_attempt, 60, "router_setup failing while Pod2's Neutron is down")
    finally:
        faults.restart(lab, f"{pod2.name}-neutron")
    wait_until(
        lambda: routes_converged(pod_api, topology.router_id), 90, "routes after Pod2 came back"
    )

    def retried_job_succeeded() -> bool:
        with mirror.session_factory() as session:
            found = job_queries.list_jobs(session, resource_id=topology.router_id)
        return any(job.status == JobStatus.SUCCESS and job.attempts >= 2 for job in found)

    wait_until(retried_job_succeeded, 60, "the failed router_setup job succeeding on a retry")


def test_worker_killed_in_the_middle_of_router_setup_finishes_it_after_restart(
    lab: LabLayout,
    central: adapter.Adapter,
    topology: Topology,
    pod_api: PodApi,
    wait_until: WaitUntil,
    mirror: BottomMirror,
) -> None:
    """Bound: the job is done within 150 s of the workers' restart: the lease (15 s), then the
    create-once lock the killed worker left on the bottom router, judged stale after 60 s and
    filled from the router the resumed pod made by name (no duplicate), then one run.

    Pod2's Neutron is frozen so that the job is surely running, blocked on a call to it, when
    every job worker is SIGKILLed; nothing finishes it until a restarted worker retakes it once
    its lease ran out.
    """
    pod2 = next(pod for pod in lab.pod_layouts if pod.region == "Pod2")

    def router_jobs() -> list:
        with mirror.session_factory() as session:
            return job_queries.list_jobs(
                session, resource_id=topology.router_id, job_type="router_setup"
            )

    with faults.paused(lab, f"{pod2.name}-neutron"):
        add_interfaces(central, topology, ["Pod1", "Pod2"])
        wait_until(
            lambda: any(job.status == JobStatus.RUNNING for job in router_jobs()),
            60,
            "router_setup running (blocked on Pod2's frozen Neutron)",
        )
        for name in XJOB_PROCESSES:
            faults.stop(lab, name, signal.SIGKILL)
    running = [job.id for job in router_jobs() if job.status == JobStatus.RUNNING]
    assert running, "the killed worker's job must still be marked running"
    restarted = time.monotonic()
    for name in XJOB_PROCESSES:
        faults.restart(lab, name)
    state = wait_until(
        lambda: routes_converged(pod_api, topology.router_id), 150, "routes after the restart"
    )
    assert all(state[region]["interfaces"] == 2 for region in CIDRS), state
    for region in CIDRS:
        routers = pod_api(region, "network").get(
            "/v2.0/routers", params={"name": topology.router_id}
        )
        assert len(routers.json()["routers"]) == 1, f"one bottom router in {region}"

    def killed_jobs_done() -> bool:
        done = {job.id: job for job in router_jobs() if job.status == JobStatus.SUCCESS}
        return all(job_id in done and done[job_id].attempts >= 2 for job_id in running)

    wait_until(killed_jobs_done, 150 - (time.monotonic() - restarted), "the killed job retaken")

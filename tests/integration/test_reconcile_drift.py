"""``tricircle reconcile`` on the lab: drift seeded directly in the pods and Tricircle's database
is reported by a dry run (nothing changed), repaired by a real run, and gone in a second run.

Seeded, in the demo project: a server booted through RegionOne whose routing is then deleted
(what a gateway killed between the pod's answer and the routing leaves: a pod server on
Tricircle's ports, no routing); a port routing whose bottom port is deleted in Pod1; a create-once
lock for a network in Pod2 left empty for an hour. Time bound: about 3 minutes (one boot).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from compute_gateway_helpers import boot, connect, delete_all
from cross_pod_helpers import lab_pod, reconcile
from cross_pod_helpers import reconcile_counts as counts
from sqlalchemy import update

from tricircle.db import routings
from tricircle.db.models import ResourceRouting, utcnow
from tricircle.db.routings import ResourceType
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_cloud(compute_lab):
    return connect(compute_lab, DEMO_USER, DEMO_PROJECT)


def test_reconcile_reports_repairs_and_then_finds_nothing(
    compute_lab, demo_cloud, mirror, pod_api, wait_until
):
    sessions = mirror.session_factory
    pod1, pod2 = lab_pod(sessions, "Pod1"), lab_pod(sessions, "Pod2")
    project_id = demo_cloud.current_project_id
    network = demo_cloud.network.create_network(name=f"reconcile-{uuid.uuid4().hex[:8]}")
    demo_cloud.network.create_subnet(network_id=network.id, cidr="10.77.0.0/24", ip_version=4)
    server = boot(demo_cloud, "reconcile-orphan", "az1", networks=[{"uuid": network.id}])
    lost = None
    try:
        # 1. the orphan server: its routing gone, the pod's server on Tricircle's ports kept
        with sessions.begin() as session:
            routings.forget_routing(session, server.id, pod1.pod_id, ResourceType.SERVER)
        # 2. a port routing whose bottom port is deleted directly in Pod1
        lost = mirror.prepare_server_port(pod1, project_id, {"uuid": network.id})
        pod_api("Pod1", "network").delete(f"/v2.0/ports/{lost.bottom_port['id']}")
        # 3. a create-once lock for the network in Pod2, left empty for an hour
        with sessions.begin() as session:
            lock = routings.lock_routing(
                session,
                top_id=network.id,
                pod_id=pod2.pod_id,
                project_id=project_id,
                resource_type=ResourceType.NETWORK,
            )
            session.execute(
                update(ResourceRouting)
                .where(ResourceRouting.id == lock.id)
                .values(created_at=utcnow() - dt.timedelta(hours=1))
            )
        # Gone through RegionOne once the gateway's cache of the server's pod expires (5 s).
        wait_until(
            lambda: demo_cloud.compute.find_server(server.id, ignore_missing=True) is None,
            15,
            "the unrouted server unknown to the gateway",
        )

        found = counts(reconcile(compute_lab, project_id, "--dry-run"))
        assert found.get("server_adopted", 0) >= 1, found
        assert found.get("routing_forgotten", 0) >= 1, found
        assert found.get("lock_forgotten", 0) >= 1, found
        with sessions() as session:  # the dry run changed nothing
            assert routings.find_routing(session, server.id, pod1.pod_id) is None
            assert routings.find_routing(session, lost.top_port["id"], pod1.pod_id) is not None
            assert routings.find_routing(session, network.id, pod2.pod_id) is not None

        assert counts(reconcile(compute_lab, project_id)) == found
        with sessions() as session:
            assert routings.find_bottom_id(session, server.id, pod1.pod_id) == server.id
            assert routings.find_routing(session, lost.top_port["id"], pod1.pod_id) is None
            assert routings.find_routing(session, network.id, pod2.pod_id) is None
        adopted = demo_cloud.compute.find_server(server.id, ignore_missing=True)
        assert adopted is not None, f"server {server.id} not visible through RegionOne"
        bound = demo_cloud.network.ports(device_id=server.id)
        assert [port.device_id for port in bound] == [server.id]

        assert reconcile(compute_lab, project_id) == ["nothing found"]
    finally:
        if lost is not None:
            mirror.delete_top_port(lost.top_port["id"])
        delete_all(demo_cloud, [server])
        wait_until(
            lambda: not list(demo_cloud.network.ports(device_id=server.id)),
            120,
            f"ports of server {server.id} released",
        )
        demo_cloud.network.delete_network(network, ignore_missing=True)

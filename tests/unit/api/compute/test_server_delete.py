"""Nova's delete contract: once a show answers 404, the server's ports are released."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault
from sqlalchemy import select

from tricircle.api.compute import servers
from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.db import routings
from tricircle.db.models import Job
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodClientError, PodUnreachable

SERVER = "22222222-3333-4444-5555-666666666666"


class FakeNova:
    """Pod1's Nova as the caller: the server is there until ``gone``."""

    def __init__(self) -> None:
        self.gone = False
        self.requests: list[tuple[str, str]] = []

    def call(self, who, region_name, method, path, **_kw):
        self.requests.append((method, path))
        if method == "DELETE":
            return PodAnswer(204, None, {})
        if self.gone:
            raise PodClientError(region_name, "compute", 404, f"Instance {SERVER} not found")
        return PodAnswer(200, {"server": {"id": SERVER, "status": "ACTIVE", "links": []}}, {})


@pytest.fixture
def routed(compute_app, session_factory, pods, monkeypatch):
    with session_factory.begin() as session:
        routings.route_as_itself(
            session,
            top_id=SERVER,
            pod_id=pods["Pod1"].pod_id,
            project_id="demo-project",
            resource_type=ResourceType.SERVER,
        )
    nova = FakeNova()
    compute_app.extensions[EXTENSION].calls = nova
    released: list[tuple[str, str]] = []

    def release(mirror, pod, server_id):
        released.append((pod.region_name, server_id))
        return ["top-port"]

    monkeypatch.setattr(servers.server_ports, "release_server_ports", release)
    return nova, released


def _routed(session_factory) -> bool:
    with session_factory() as session:
        return routings.routed_pod(session, SERVER, ResourceType.SERVER) is not None


def test_delete_keeps_the_routing_and_queues_the_backstop(compute_member, routed, session_factory):
    nova, released = routed
    assert compute_member.delete(f"/v2.1/servers/{SERVER}").status_code == 204
    assert _routed(session_factory) and released == []
    with session_factory() as session:
        jobs = [(job.type, job.resource_id) for job in session.scalars(select(Job))]
    assert jobs == [("server_ports_cleanup", SERVER)]
    assert compute_member.get(f"/v2.1/servers/{SERVER}").status_code == 200


def test_the_first_404_releases_the_ports_then_forgets_the_server(
    compute_member, routed, session_factory
):
    nova, released = routed
    compute_member.delete(f"/v2.1/servers/{SERVER}")
    nova.gone = True
    answer = compute_member.get(f"/v2.1/servers/{SERVER}")
    assert_fault(answer, 404, "itemNotFound", SERVER)
    assert released == [("Pod1", SERVER)] and not _routed(session_factory)
    again = compute_member.get(f"/v2.1/servers/{SERVER}")
    assert_fault(again, 404, "itemNotFound", f"Instance {SERVER} could not be found.")
    assert released == [("Pod1", SERVER)]


def test_no_404_while_the_ports_cannot_be_released(
    compute_member, routed, session_factory, monkeypatch
):
    nova, _released = routed
    nova.gone = True

    def fail(mirror, pod, server_id):
        raise PodUnreachable("RegionOne", "network", "connection refused")

    monkeypatch.setattr(servers.server_ports, "release_server_ports", fail)
    assert_fault(compute_member.get(f"/v2.1/servers/{SERVER}"), 503, "serviceUnavailable")
    assert _routed(session_factory)

"""A boot whose pod fails part way: Nova's faults, and nothing of the request left behind."""

from __future__ import annotations

import logging
import uuid

import pytest
from admin_api_helpers import assert_fault
from sqlalchemy import select

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import Job, ResourceRouting
from tricircle.network import server_ports
from tricircle.network.mirror import ServerPort
from tricircle.network.mirror.library import TOP_PORT
from tricircle.network.mirror.undo import Made
from tricircle.pods.client import PodServerError, PodUnreachable

NETWORKS = [{"uuid": str(uuid.uuid4())}, {"uuid": str(uuid.uuid4())}]
BOOTED = "99999999-9999-9999-9999-999999999999"


class FakeCalls:
    """The pods' Nova (and Glance) as the caller; chosen calls fail."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.failing: dict[tuple[str, str], Exception] = {}

    def call(self, who, region_name, method, path, *, service_type="compute", **_kw):
        self.requests.append((region_name, method, path))
        for (failing_method, prefix), error in self.failing.items():
            if method == failing_method and path.startswith(prefix):
                raise error
        if service_type == "image":
            return PodAnswer(200, {"id": path.rsplit("/", 1)[-1]}, {})
        if method == "POST" and path == "/servers":
            return PodAnswer(202, {"server": {"id": BOOTED, "links": []}}, {})
        return PodAnswer(204, None, {})


class FakeMirror:
    """Server ports made and released in memory; the nth prepare may fail."""

    def __init__(self) -> None:
        self.prepared: list[str] = []
        self.released: list[str] = []
        self.fail_at: int | None = None

    def prepare_server_port(self, pod, project_id, requested, security_groups) -> ServerPort:
        if self.fail_at == len(self.prepared):
            raise PodUnreachable(pod.region_name, "network", "connection refused")
        top_id = f"top-port-{len(self.prepared)}"
        self.prepared.append(top_id)
        made = (Made("RegionOne", TOP_PORT, top_id),)  # a top port made for the boot
        return ServerPort({"id": top_id}, {"id": f"bottom-{top_id}"}, made)

    def release_server_port(self, pod, server_port: ServerPort) -> None:
        self.released.append(server_port.top_port["id"])


class DownClients:
    """Tricircle's own pod clients, every pod down."""

    def client(self, region_name: str, service_type: str):
        return self

    def get(self, path: str, **_kw):
        raise PodUnreachable("Pod1", "compute", "connection refused")

    post = put = get


@pytest.fixture
def boot(compute_app, compute_admin, monkeypatch):
    created = compute_admin.post(
        "/v2.1/flavors", json={"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "1"}}
    )
    assert created.status_code == 200
    app_state = compute_app.extensions[EXTENSION]
    app_state.calls = FakeCalls()
    app_state.mirror = FakeMirror()
    app_state.mirror.session_factory = app_state.session_factory
    monkeypatch.setattr(
        "tricircle.api.compute.servers.bottom.ensure_bottom_flavor", lambda *args: None
    )
    return app_state


def _boot(client, networks=None):
    server = {"name": "vm", "flavorRef": "1", "imageRef": str(uuid.uuid4())}
    server["availability_zone"] = "az1"
    if networks is not None:
        server["networks"] = networks
    return client.post("/v2.1/servers", json={"server": server})


def _routings(session_factory) -> list[tuple[str, str]]:
    with session_factory() as session:
        rows = session.scalars(select(ResourceRouting)).all()
        return [(row.resource_type, row.top_id) for row in rows]


def _jobs(session_factory) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [(job.type, job.resource_id) for job in session.scalars(select(Job)).all()]


def test_a_pod_down_during_the_flavor_copy_is_nova_503(
    compute_member, boot, session_factory, monkeypatch
):
    monkeypatch.undo()
    boot.pod_clients = DownClients()
    answer = _boot(compute_member, NETWORKS)
    assert_fault(answer, 503, "serviceUnavailable", "unavailable")
    assert "Pod1" not in answer.get_data(as_text=True)
    assert boot.mirror.prepared == [] and boot.calls.requests[-1][1] == "GET"
    assert [kind for kind, _id in _routings(session_factory)] == []


def test_a_pod_down_during_mirroring_is_nova_503_with_the_ports_released(
    compute_member, boot, session_factory
):
    boot.mirror.fail_at = 1
    assert_fault(_boot(compute_member, NETWORKS), 503, "serviceUnavailable")
    assert boot.mirror.released == ["top-port-0"]
    assert ("Pod1", "POST", "/servers") not in boot.calls.requests
    assert _routings(session_factory) == [] and _jobs(session_factory) == []


def test_a_pod_down_during_the_server_create_is_nova_503_with_nothing_left(
    compute_member, boot, session_factory
):
    boot.calls.failing[("POST", "/servers")] = PodUnreachable("Pod1", "compute", "reset")
    assert_fault(_boot(compute_member, NETWORKS), 503, "serviceUnavailable")
    assert boot.mirror.released == ["top-port-1", "top-port-0"]
    assert _routings(session_factory) == [] and _jobs(session_factory) == []


def test_a_pod_failing_the_server_create_is_nova_500_compute_fault(compute_member, boot):
    boot.calls.failing[("POST", "/servers")] = PodServerError("Pod1", "compute", 500, "db down")
    message = assert_fault(_boot(compute_member), 500, "computeFault")
    assert "db down" not in message and "Pod1" not in message


def test_a_failing_undo_step_does_not_stop_the_others(
    compute_member, boot, session_factory, caplog, monkeypatch
):
    def queue_down(*_args: object) -> None:
        raise RuntimeError("job queue down")

    monkeypatch.setattr(server_ports, "queue_attach", queue_down)  # the last step fails
    boot.calls.failing[("DELETE", "/servers/")] = PodUnreachable("Pod1", "compute", "refused")
    with caplog.at_level(logging.ERROR, logger="tricircle.network.mirror.undo"):
        assert_fault(_boot(compute_member, NETWORKS), 500, "computeFault")
    assert ("Pod1", "DELETE", f"/servers/{BOOTED}") in boot.calls.requests
    assert "undo failed region=Pod1 resource_type=server" in caplog.text
    # The made ports stay the server's: the cleanup job deletes them once the pod let go.
    assert _routings(session_factory) == [
        ("server_port", "server_port:top-port-0"),
        ("server_port", "server_port:top-port-1"),
    ]
    assert _jobs(session_factory) == [("server_ports_cleanup", BOOTED)]
    assert boot.mirror.released == []

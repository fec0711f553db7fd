"""Several servers in one create: ``max_count`` from ``min_count``, one bottom create with no
network entries, one bottom create per server (its own ports, Nova's ``-N`` name) with them."""

from __future__ import annotations

import uuid

import pytest
from admin_api_helpers import assert_fault
from sqlalchemy import select

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import Job, ResourceRouting
from tricircle.network.mirror import ServerPort
from tricircle.network.mirror.library import TOP_PORT
from tricircle.network.mirror.undo import Made
from tricircle.pods.client import PodServerError

NETWORK = str(uuid.uuid4())
V2_37 = {"OpenStack-API-Version": "compute 2.37"}


class FakeCalls:
    """The pods' Nova: each create makes its servers (``max_count`` or ``min_count`` of them)
    under one reservation; the nth create may fail."""

    def __init__(self) -> None:
        self.creates: list[dict] = []
        self.deleted: list[str] = []
        self.reservations: dict[str, list[str]] = {}
        self.fail_create_at: int | None = None

    def call(self, who, region_name, method, path, *, json=None, params=None, **_kw):
        if method == "POST" and path == "/servers":
            if self.fail_create_at == len(self.creates):
                raise PodServerError(region_name, "compute", 500, "boom")
            server = json["server"]
            self.creates.append(server)
            made = [
                str(uuid.uuid4())
                for _ in range(int(server.get("max_count", server.get("min_count", 1))))
            ]
            reservation = f"r-{len(self.creates)}"
            self.reservations[reservation] = made
            if server.get("return_reservation_id") or len(made) > 1:
                return PodAnswer(202, {"reservation_id": reservation}, {})
            return PodAnswer(202, {"server": {"id": made[0], "links": []}}, {})
        if method == "GET" and path == "/servers":
            ids = self.reservations[params["reservation_id"]]
            return PodAnswer(200, {"servers": [{"id": server_id} for server_id in ids]}, {})
        if method == "DELETE":
            self.deleted.append(path.rsplit("/", 1)[-1])
        if path.startswith("/images/"):
            return PodAnswer(200, {"id": path.rsplit("/", 1)[-1]}, {})
        return PodAnswer(204, None, {})


class FakeTop:
    def __init__(self) -> None:
        self.puts: list[tuple[str, object]] = []

    def put(self, path: str, json: object = None) -> None:
        self.puts.append((path, json))


class FakeMirror:
    """Server ports made and released in memory."""

    def __init__(self) -> None:
        self.top = FakeTop()
        self.prepared: list[str] = []
        self.released: list[str] = []

    def prepare_server_port(self, pod, project_id, requested, security_groups) -> ServerPort:
        top_id = f"top-port-{len(self.prepared)}"
        self.prepared.append(top_id)
        made = (Made("RegionOne", TOP_PORT, top_id),)
        return ServerPort({"id": top_id}, {"id": f"bottom-{top_id}"}, made)

    def release_server_port(self, pod, server_port: ServerPort) -> None:
        self.released.append(server_port.top_port["id"])


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


def _boot(client, **server: object):
    body = {"name": "vm", "flavorRef": "1", "imageRef": str(uuid.uuid4()), **server}
    return client.post("/v2.1/servers", json={"server": body}, headers=V2_37)


def _jobs(session_factory, job_type: str) -> list[Job]:
    with session_factory() as session:
        return list(session.scalars(select(Job).where(Job.type == job_type)))


def _routed(session_factory) -> list[str]:
    with session_factory() as session:
        rows = session.scalars(
            select(ResourceRouting).where(ResourceRouting.resource_type == "server")
        ).all()
        return [row.top_id for row in rows]


def test_min_count_alone_makes_that_many_in_one_bottom_create(
    compute_member, boot, session_factory
):
    answer = _boot(compute_member, min_count=3, networks="auto")
    assert answer.status_code == 202, answer.get_json()
    assert "reservation_id" not in answer.get_json()
    assert len(boot.calls.creates) == 1
    assert boot.calls.creates[0]["min_count"] == 3
    made = boot.calls.reservations["r-1"]
    assert answer.get_json()["server"]["id"] == made[0]
    assert sorted(_routed(session_factory)) == sorted(made)


def test_a_network_entry_gets_one_port_and_one_bottom_create_per_server(
    compute_member, boot, session_factory
):
    answer = _boot(compute_member, min_count=2, networks=[{"uuid": NETWORK}])
    assert answer.status_code == 202, answer.get_json()
    creates = boot.calls.creates
    assert [create["name"] for create in creates] == ["vm-1", "vm-2"]
    assert [create["networks"] for create in creates] == [
        [{"port": "bottom-top-port-0"}],
        [{"port": "bottom-top-port-1"}],
    ]
    assert not any("min_count" in create or "max_count" in create for create in creates)
    made = [ids[0] for ids in boot.calls.reservations.values()]
    assert answer.get_json()["server"]["id"] == made[0]
    assert sorted(_routed(session_factory)) == sorted(made)
    attach_jobs = {
        job.resource_id: job.payload["top_port_ids"]
        for job in _jobs(session_factory, "server_ports_attach")
    }
    assert attach_jobs == {made[0]: ["top-port-0"], made[1]: ["top-port-1"]}
    assert boot.mirror.top.puts == []  # the boot answers before the top ports are marked


def test_return_reservation_id_answers_it_and_routes_every_server(
    compute_member, boot, session_factory
):
    answer = _boot(
        compute_member,
        min_count=1,
        max_count=2,
        return_reservation_id=True,
        networks=[{"uuid": NETWORK}],
    )
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json() == {"reservation_id": "r-1"}
    assert [create["name"] for create in boot.calls.creates] == ["vm-1", "vm-2"]
    made = [ids[0] for ids in boot.calls.reservations.values()]
    assert sorted(_routed(session_factory)) == sorted(made)


def test_a_failed_second_server_undoes_the_first_and_every_port(
    compute_member, boot, session_factory
):
    boot.calls.fail_create_at = 1
    answer = _boot(compute_member, min_count=2, networks=[{"uuid": NETWORK}])
    assert answer.status_code >= 500
    first = boot.calls.reservations["r-1"][0]
    assert boot.calls.deleted == [first]
    assert boot.mirror.released == ["top-port-1"]  # the first's port goes with its server (job)
    assert _routed(session_factory) == []


@pytest.mark.parametrize(
    ("server", "fragment"),
    [
        ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
        ({"min_count": "x"}, "min_count"),
        ({"max_count": 0}, "max_count"),
        (
            {"min_count": 2, "networks": [{"port": str(uuid.uuid4())}]},
            "Unable to launch multiple instances with a single configured port ID",
        ),
    ],
)
def test_refusals_make_nothing(compute_member, boot, session_factory, server, fragment):
    body = {"networks": "none", **server}
    assert_fault(_boot(compute_member, **body), 400, "badRequest", fragment)
    assert boot.calls.creates == [] and boot.mirror.prepared == []
    assert _routed(session_factory) == []

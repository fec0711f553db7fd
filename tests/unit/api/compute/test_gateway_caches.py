"""The Nova gateway's caches: top network names, pods and server routings, by an injected clock."""

from __future__ import annotations

import threading

import pytest
from admin_api_helpers import ADMIN_HEADERS, MEMBER_HEADERS, Caller

from tricircle.api.compute.app import create_app
from tricircle.api.gateway import EXTENSION, Overrides
from tricircle.api.podcalls import PodAnswer
from tricircle.db import pods as pod_queries
from tricircle.db.models import Pod

NET_A = "0a0a0a0a-0000-4000-8000-00000000000a"
NET_B = "0b0b0b0b-0000-4000-8000-00000000000b"
OTHER_HEADERS = {**MEMBER_HEADERS, "X-Project-Id": "other-project", "X-User-Id": "other-user"}
TTL = 5.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeCentralNeutron:
    """The central Neutron's network names; records each call; ``called`` once one was made."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.calls: list[tuple[str, dict]] = []
        self.called = threading.Event()

    def get(self, path: str, params: dict | None = None, **_kw: object) -> dict:
        self.calls.append((path, params or {}))
        self.called.set()
        wanted = (params or {}).get("id", [])
        return {"networks": [{"id": i, "name": self.names[i]} for i in wanted if i in self.names]}


class FakeNovas:
    """Pods' Novas answering from memory; each answer notes whether names were read before."""

    def __init__(self, servers: dict[str, list[dict]], neutron: FakeCentralNeutron) -> None:
        self.servers = servers
        self.neutron = neutron
        self.wait_for_names = False
        self.names_read_first: list[bool] = []

    def call(self, who, region_name, method, path, *, params=None, timeout=None, **_kw):
        if self.wait_for_names:
            self.names_read_first.append(self.neutron.called.wait(2.0))
        records = self.servers[region_name]
        if path == "/servers/detail":
            return PodAnswer(200, {"servers": records}, {})
        wanted = path.rsplit("/", 1)[-1]
        return PodAnswer(200, {"server": next(s for s in records if s["id"] == wanted)}, {})


def _server(server_id: str, *networks: str) -> dict:
    return {
        "id": server_id,
        "name": f"vm-{server_id}",
        "created": "2026-11-25T00:00:00Z",
        "status": "ACTIVE",
        "flavor": {},
        "addresses": {network: [{"addr": "10.0.0.5"}] for network in networks},
        "links": [],
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def neutron() -> FakeCentralNeutron:
    return FakeCentralNeutron({NET_A: "net-a", NET_B: "net-b"})


@pytest.fixture
def app(admin_conf, session_factory, pod_versions, admin_pods, route_servers, clock, neutron):
    admin_conf.set_override("ttl", TTL, group="gateway_cache")
    app = create_app(admin_conf, Overrides(session_factory, admin_pods, pod_versions, clock))
    servers = {
        "Pod1": [_server("s1", NET_A, NET_B), _server("s3", NET_A)],
        "Pod2": [_server("s2", NET_B, "pod-local")],
    }
    route_servers(servers)
    state = app.extensions[EXTENSION]
    state.calls = FakeNovas(servers, neutron)
    state.network_names.top = lambda: neutron
    return app


@pytest.fixture
def member(app) -> Caller:
    return Caller(app.test_client(), MEMBER_HEADERS)


def _addresses(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["server"]["addresses"]


def test_a_second_show_within_the_ttl_asks_the_central_neutron_nothing(member, neutron):
    assert set(_addresses(member.get("/v2.1/servers/s1"))) == {"net-a", "net-b"}
    assert neutron.calls == [
        ("/v2.0/networks", {"id": sorted([NET_A, NET_B]), "fields": ["id", "name"]})
    ]
    assert set(_addresses(member.get("/v2.1/servers/s1"))) == {"net-a", "net-b"}
    assert len(neutron.calls) == 1


def test_a_rename_is_seen_once_the_ttl_passed(member, neutron, clock):
    assert "net-a" in _addresses(member.get("/v2.1/servers/s3"))
    neutron.names[NET_A] = "renamed"
    clock.now += TTL - 0.1
    assert "net-a" in _addresses(member.get("/v2.1/servers/s3"))
    clock.now += 0.1
    assert "renamed" in _addresses(member.get("/v2.1/servers/s3"))
    assert len(neutron.calls) == 2


def test_a_server_pod_found_for_one_tenant_serves_no_other(app, member):
    assert member.get("/v2.1/servers/s1").status_code == 200
    other = Caller(app.test_client(), OTHER_HEADERS)
    assert other.get("/v2.1/servers/s1").status_code == 404
    assert Caller(app.test_client(), ADMIN_HEADERS).get("/v2.1/servers/s1").status_code == 200
    assert member.get("/v2.1/servers/s1").status_code == 200


def test_a_list_reads_every_name_in_one_call_then_none_within_the_ttl(member, neutron):
    for _ in range(2):
        shown = member.get("/v2.1/servers/detail").get_json()["servers"]
        assert {name for server in shown for name in server["addresses"]} == {
            "net-a",
            "net-b",
            "pod-local",
        }
    assert len(neutron.calls) == 1
    assert neutron.calls[0][1]["id"] == sorted([NET_A, NET_B])


def test_an_expired_list_reads_names_while_the_pods_answer(app, member, neutron, clock):
    member.get("/v2.1/servers/detail")
    neutron.names[NET_B] = "renamed"
    neutron.called.clear()
    clock.now += TTL
    novas = app.extensions[EXTENSION].calls
    novas.wait_for_names = True
    shown = member.get("/v2.1/servers/detail").get_json()["servers"]
    assert {name for server in shown for name in server["addresses"]} == {
        "net-a",
        "renamed",
        "pod-local",
    }
    assert novas.names_read_first == [True, True]
    assert len(neutron.calls) == 2


def test_pods_are_read_once_per_ttl_and_a_new_pod_is_seen_after_it(
    member, session_factory, clock, monkeypatch
):
    reads: list[int] = []
    list_pods = pod_queries.list_pods

    def counted(session):
        reads.append(1)
        return list_pods(session)

    monkeypatch.setattr(pod_queries, "list_pods", counted)
    member.get("/v2.1/servers/detail")
    member.get("/v2.1/os-availability-zone")
    assert len(reads) == 1
    with session_factory.begin() as session:
        session.add(Pod(region_name="Pod3", az_name="az3", pod_az_name="pod3-az"))
    zones = member.get("/v2.1/os-availability-zone").get_json()["availabilityZoneInfo"]
    assert "az3" not in {zone["zoneName"] for zone in zones}
    clock.now += TTL
    zones = member.get("/v2.1/os-availability-zone").get_json()["availabilityZoneInfo"]
    assert "az3" in {zone["zoneName"] for zone in zones}
    assert len(reads) == 2

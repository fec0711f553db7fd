"""Fixtures of the Nova gateway unit tests: the app in noauth mode, pods with set versions."""

from __future__ import annotations

import uuid

import pytest
from admin_api_helpers import ADMIN_HEADERS, MEMBER_HEADERS, Caller
from flask import Flask
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api.compute.app import create_app
from tricircle.api.compute.state import EXTENSION
from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import Pod, ResourceRouting
from tricircle.pods.client import PodClients, PodUnreachable
from tricircle.pods.versions import PodVersions


class FakeAdminNova:
    """One pod's Nova as Tricircle's own identity sees it: the servers it lists (by project,
    with their flavor) and the project quotas written into it; anything else is the real
    client's."""

    def __init__(self, region_name: str, fallback: object) -> None:
        self.region_name = region_name
        self.fallback = fallback
        self.servers: list[dict] = []
        self.quotas: dict[str, dict] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise PodUnreachable(self.region_name, "compute", "connection refused")

    def get(self, path: str, params: dict | None = None, **kwargs: object) -> object:
        if path != "/servers/detail":
            return self.fallback.get(path, params=params, **kwargs)
        self._check()
        assert kwargs.get("microversion") == "2.47"
        mine = [
            s
            for s in self.servers
            if s["tenant_id"] == params["project_id"]
            and params.get("user_id", s.get("user_id")) == s.get("user_id")
        ]
        after = [s["id"] for s in mine].index(params["marker"]) + 1 if "marker" in params else 0
        return {"servers": mine[after : after + int(params["limit"])]}

    def put(self, path: str, json: object = None, **kwargs: object) -> object:
        if not path.startswith("/os-quota-sets/"):
            return self.fallback.put(path, json=json, **kwargs)
        self._check()
        self.quotas[path.rsplit("/", 1)[-1]] = json["quota_set"]
        return json

    def __getattr__(self, name: str) -> object:
        return getattr(self.fallback, name)


class FakeAdminPods(PodClients):
    """Tricircle's own pod clients, with each pod's Nova a FakeAdminNova."""

    def __init__(self) -> None:
        super().__init__(None, connect_timeout=1, read_timeout=1)  # type: ignore[arg-type]
        self.novas: dict[str, FakeAdminNova] = {}

    def client(self, region_name: str, service_type: str):
        real = super().client(region_name, service_type)
        if service_type != "compute":
            return real
        if region_name not in self.novas:
            self.novas[region_name] = FakeAdminNova(region_name, real)
        return self.novas[region_name]


class FixedPodVersions(PodVersions):
    """Pod maximums set by the test instead of discovered."""

    def __init__(self, maximums: dict[str, Microversion | None]) -> None:
        self.maximums = maximums

    def maximum(self, region_name: str, service_type: str) -> Microversion | None:
        return self.maximums.get(region_name)

    def reachable(self, region_name: str, service_type: str) -> bool:
        return self.maximums.get(region_name) is not None


@pytest.fixture
def pod_versions() -> FixedPodVersions:
    return FixedPodVersions({"Pod1": Microversion(2, 104), "Pod2": Microversion(2, 96)})


@pytest.fixture
def pods(session_factory: sessionmaker[Session]) -> dict[str, Pod]:
    """The top pod and Pod1/Pod2 in az1/az2 (pod AZs pod1-az/pod2-az)."""
    with session_factory.begin() as session:
        made = {
            "RegionOne": Pod(region_name="RegionOne", az_name=""),
            "Pod1": Pod(region_name="Pod1", az_name="az1", pod_az_name="pod1-az"),
            "Pod2": Pod(region_name="Pod2", az_name="az2", pod_az_name="pod2-az"),
        }
        session.add_all(made.values())
    return made


@pytest.fixture
def route_servers(session_factory: sessionmaker[Session], pods: dict[str, Pod]):
    """Record server routings (top ID = bottom ID) of ``demo-project`` in each region's pod."""

    def route(servers: dict[str, list[dict]]) -> None:
        with session_factory.begin() as session:
            for region, records in servers.items():
                for record in records:
                    session.add(
                        ResourceRouting(
                            top_id=record["id"],
                            bottom_id=record["id"],
                            pod_id=pods[region].pod_id,
                            project_id="demo-project",
                            resource_type="server",
                        )
                    )

    return route


@pytest.fixture
def admin_pods() -> FakeAdminPods:
    return FakeAdminPods()


@pytest.fixture
def compute_app(
    admin_conf: cfg.ConfigOpts,
    session_factory: sessionmaker[Session],
    pod_versions: FixedPodVersions,
    pods: dict[str, Pod],
    admin_pods: FakeAdminPods,
) -> Flask:
    return create_app(admin_conf, Overrides(session_factory, admin_pods, pod_versions))


@pytest.fixture
def compute_admin(compute_app: Flask) -> Caller:
    return Caller(compute_app.test_client(), ADMIN_HEADERS)


@pytest.fixture
def compute_member(compute_app: Flask) -> Caller:
    return Caller(compute_app.test_client(), MEMBER_HEADERS)


class BootCalls:
    """The pods' Nova as the caller: a boot makes one server (listed to Tricircle's identity)."""

    def __init__(self, admin_pods) -> None:
        self.admin_pods = admin_pods
        self.creates: list[dict] = []
        self.reserved: list[str] = []

    def call(self, who, region_name, method, path, *, service_type="compute", json=None, **_kw):
        if service_type == "image":
            return PodAnswer(200, {"id": path.rsplit("/", 1)[-1]}, {})
        if method == "POST" and path == "/servers":
            self.creates.append(json["server"])
            nova = self.admin_pods.client(region_name, "compute")
            made = [str(uuid.uuid4()) for _ in range(int(json["server"].get("max_count", 1)))]
            for server_id in made:
                flavor = {"vcpus": 2, "ram": 64}
                nova.servers.append(
                    {
                        "id": server_id,
                        "tenant_id": who.project_id,
                        "user_id": who.user_id,
                        "flavor": flavor,
                    }
                )
            self.reserved = made
            if json["server"].get("return_reservation_id"):
                return PodAnswer(202, {"reservation_id": "r-1"}, {})
            return PodAnswer(202, {"server": {"id": made[0], "links": []}}, {})
        if method == "GET" and path == "/servers":
            return PodAnswer(
                200, {"servers": [{"id": server_id} for server_id in self.reserved]}, {}
            )
        return PodAnswer(204, None, {})


@pytest.fixture
def boots(compute_app, compute_admin, admin_pods, monkeypatch):
    created = compute_admin.post(
        "/v2.1/flavors", json={"flavor": {"name": "f", "ram": 64, "vcpus": 2, "disk": 1, "id": "1"}}
    )
    assert created.status_code == 200
    calls = BootCalls(admin_pods)
    compute_app.extensions[EXTENSION].calls = calls
    monkeypatch.setattr(
        "tricircle.api.compute.servers.bottom.ensure_bottom_flavor", lambda *a: None
    )
    return calls

"""The volume show's warm path: no database query and one pod call; what the caches may keep.

Each app stands for one gateway worker (its own caches) over the shared database and fake pods;
time is a clock the tests move by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fake_pods import FakeCinder, FakeVolumePods
from flask import Flask
from flask.testing import FlaskClient
from oslo_config import cfg
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.volume.app import create_app
from tricircle.db.models import Pod, ResourceRouting
from tricircle.pods.client import PodClientError

TTL = 5.0
ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}
OTHER = {"X-Project-Id": "other-project", "X-User-Id": "other-user", "X-Roles": "member"}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class OwnedCinder(FakeCinder):
    """A pod's Cinder that shows a volume only to its owner's token (``owners``, the project
    that made it) or an admin's, as Cinder does; the tests' callers send ``token-<project>``."""

    def __init__(self, region_name: str, max_version: Microversion) -> None:
        super().__init__(region_name, max_version)
        self.owners: dict[str, str] = {}

    def send(self, method: str, path: str, *, json: Any = None, **kwargs: Any) -> Any:
        parts = path.strip("/").split("/")
        project = str(kwargs.get("token")).removeprefix("token-")
        shown_to_others = project == ADMIN["X-Project-Id"] or parts[1:] == ["detail"]
        if parts[0] == "volumes" and len(parts) == 2 and not shown_to_others:
            if self.owners.get(parts[1], project) != project:
                self.calls.append((method, path, json, kwargs.get("microversion")))
                raise PodClientError(self.region_name, "volumev3", 404, "Volume not found.")
        response = super().send(method, path, json=json, **kwargs)
        if method == "POST" and parts == ["volumes"]:
            self.owners[response.json()["volume"]["id"]] = project
        return response


@pytest.fixture
def fake_pods(session_factory: sessionmaker[Session]) -> FakeVolumePods:
    """Pod1 (az1) and Pod2 (az2) whose Cinder checks ownership; RegionOne as the top pod."""
    with session_factory.begin() as session:
        session.add(Pod(region_name="RegionOne", az_name="", pod_az_name=""))
        session.add(Pod(region_name="Pod1", az_name="az1", pod_az_name="nova-az1"))
        session.add(Pod(region_name="Pod2", az_name="az2", pod_az_name="nova-az2"))
    return FakeVolumePods(
        {
            "Pod1": OwnedCinder("Pod1", Microversion(3, 71)),
            "Pod2": OwnedCinder("Pod2", Microversion(3, 70)),
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(
    admin_conf: cfg.ConfigOpts,
    session_factory: sessionmaker[Session],
    fake_pods: FakeVolumePods,
    clock: Clock,
) -> Callable[[], Flask]:
    """Makes one gateway worker: an app with caches of its own, on the shared clock."""
    admin_conf.set_override("ttl", TTL, group="gateway_cache")

    def make() -> Flask:
        return create_app(admin_conf, Overrides(session_factory, fake_pods, fake_pods, clock))

    return make


def _client(app: Flask, headers: dict[str, str] | None = None) -> FlaskClient:
    """A client of ``app`` as the demo member, or as ``headers`` say, with its token."""
    identity = headers or {"X-Project-Id": "demo-project", "X-User-Id": "demo-user"}
    identity = {"X-Roles": "member", **identity}
    client = app.test_client()
    client.environ_base.update(
        {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in identity.items()}
    )
    client.environ_base["HTTP_X_AUTH_TOKEN"] = f"token-{identity['X-Project-Id']}"
    return client


class Counts:
    """The statements sent to the database and the calls made to the pods while it is open."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.pod_calls: list[tuple[str, str]] = []


@pytest.fixture
def count(engine: Engine, fake_pods: FakeVolumePods) -> Callable[[], Any]:
    """``with count() as seen:`` records the database statements and pod calls of the block."""

    @contextmanager
    def counting() -> Iterator[Counts]:
        seen = Counts()
        before = {name: len(pod.calls) for name, pod in fake_pods.pods.items()}

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", record)
            for name, pod in fake_pods.pods.items():
                seen.pod_calls += [(name, call[1]) for call in pod.calls[before[name] :]]

    return counting


def _typed_volume(app: Flask, az: str = "az1") -> dict:
    """A volume of the top type ``gold`` (copied into the pod) made through ``app``."""
    admin = _client(app, ADMIN)
    made = admin.post("/v3/types", json={"volume_type": {"name": "gold"}})
    assert made.status_code == 200, made.get_json()
    body = {"volume": {"size": 1, "availability_zone": az, "volume_type": "gold"}}
    created = _client(app).post("/v3/volumes", json=body)
    assert created.status_code == 202, created.get_json()
    return {**created.get_json()["volume"], "gold": made.get_json()["volume_type"]["id"]}


def _routing_reads(seen: Counts) -> list[str]:
    """The statements that read routings (the volume's pod, type IDs); the pods list aside."""
    return [
        sql
        for sql in seen.statements
        if "FROM resource_routings" in sql or "JOIN resource_routings" in sql
    ]


def _show(client: FlaskClient, volume_id: str) -> Any:
    return client.get(f"/v3/volumes/{volume_id}")


def test_a_warm_show_asks_no_database_and_makes_one_pod_call(worker, count):
    app = worker()
    volume = _typed_volume(app)
    member = _client(app)
    with count() as seen:
        shown = _show(member, volume["id"])
    assert shown.status_code == 200, shown.get_json()
    assert shown.get_json()["volume"]["volume_type_id"] == volume["gold"]
    assert shown.get_json()["volume"]["availability_zone"] == "az1"
    assert seen.statements == []
    assert seen.pod_calls == [("Pod1", f"/volumes/{volume['id']}")]


def test_a_cold_show_reads_the_routing_and_the_type_once(worker, count, clock):
    volume = _typed_volume(worker())
    other_worker = _client(worker())
    with count() as cold:
        shown = _show(other_worker, volume["id"]).get_json()["volume"]
    assert shown["volume_type_id"] == volume["gold"]
    assert len(_routing_reads(cold)) == 2, cold.statements
    assert cold.pod_calls == [("Pod1", f"/volumes/{volume['id']}")]
    with count() as warm:
        assert _show(other_worker, volume["id"]).status_code == 200
    assert (warm.statements, len(warm.pod_calls)) == ([], 1)
    clock.now += TTL
    with count() as expired:
        assert (
            _show(other_worker, volume["id"]).get_json()["volume"]["volume_type_id"]
            == (volume["gold"])
        )
    assert len(_routing_reads(expired)) == 2, expired.statements


def test_a_warm_detail_list_asks_no_database_after_the_pods(worker, count):
    app = worker()
    volume = _typed_volume(app)
    member = _client(app)
    assert member.get("/v3/volumes/detail").status_code == 200
    with count() as seen:
        listed = member.get("/v3/volumes/detail").get_json()["volumes"]
    assert [(v["id"], v["volume_type_id"]) for v in listed] == [(volume["id"], volume["gold"])]
    assert seen.statements == []
    assert sorted(name for name, _path in seen.pod_calls) == ["Pod1", "Pod2"]


def test_a_volume_deleted_through_another_worker_is_404_at_once(worker, fake_pods, session_factory):
    first, second = worker(), worker()
    volume = _typed_volume(first)
    assert _show(_client(first), volume["id"]).status_code == 200
    assert _client(second).delete(f"/v3/volumes/{volume['id']}").status_code == 202
    assert volume["id"] not in fake_pods.pods["Pod1"].volumes
    gone = _show(_client(first), volume["id"])
    assert gone.status_code == 404, f"volume {volume['id']} still shown by a warm worker"
    with session_factory() as session:
        assert session.scalars(select(ResourceRouting).filter_by(top_id=volume["id"])).all() == []


def test_a_routing_moved_to_another_pod_is_followed_once_the_ttl_passed(
    worker, fake_pods, session_factory, clock
):
    app = worker()
    volume = _typed_volume(app)
    member = _client(app)
    assert _show(member, volume["id"]).status_code == 200
    pod1, pod2 = fake_pods.pods["Pod1"], fake_pods.pods["Pod2"]
    pod2.volumes[volume["id"]] = {**pod1.volumes[volume["id"]], "availability_zone": "nova-az2"}
    pod2.owners[volume["id"]] = "demo-project"
    with session_factory.begin() as session:
        pod2_id = session.scalars(select(Pod.pod_id).filter_by(region_name="Pod2")).one()
        session.execute(
            update(ResourceRouting).filter_by(top_id=volume["id"]).values(pod_id=pod2_id)
        )
    clock.now += TTL - 0.1
    assert _show(member, volume["id"]).get_json()["volume"]["availability_zone"] == "az1"
    clock.now += 0.1
    shown = _show(member, volume["id"])
    assert shown.get_json()["volume"]["availability_zone"] == "az2", (
        f"volume {volume['id']} still read from Pod1 after the TTL"
    )
    assert pod2.calls[-1][1] == f"/volumes/{volume['id']}"


def test_one_projects_cached_pod_serves_no_other_project(worker, fake_pods, count, session_factory):
    app = worker()
    volume = _typed_volume(app)
    assert _show(_client(app), volume["id"]).status_code == 200
    other = _client(app, OTHER)
    with count() as seen:
        refused = _show(other, volume["id"])
    assert refused.status_code == 404
    assert _routing_reads(seen), "another project's show was answered from the owner's cached pod"
    with session_factory() as session:
        routing = session.scalars(select(ResourceRouting).filter_by(top_id=volume["id"])).one()
    assert routing.project_id == "demo-project"
    with count() as owner:
        assert _show(_client(app), volume["id"]).status_code == 200
    assert owner.statements == []


def test_a_transferred_volume_is_the_new_owners_at_once(worker, fake_pods, session_factory):
    first, second = worker(), worker()
    volume = _typed_volume(first)
    assert _show(_client(first), volume["id"]).status_code == 200
    fake_pods.pods["Pod1"].owners[volume["id"]] = "other-project"
    with session_factory.begin() as session:
        session.execute(
            update(ResourceRouting)
            .filter_by(top_id=volume["id"])
            .values(project_id="other-project")
        )
    assert _show(_client(first), volume["id"]).status_code == 404
    for app in (first, second):
        assert _show(_client(app, OTHER), volume["id"]).status_code == 200
    with session_factory() as session:
        routing = session.scalars(select(ResourceRouting).filter_by(top_id=volume["id"])).one()
    assert routing.project_id == "other-project"


def test_an_admin_is_cached_apart_from_the_owner(worker, count):
    app = worker()
    volume = _typed_volume(app)
    assert _show(_client(app), volume["id"]).status_code == 200
    admin = _client(app, ADMIN)
    with count() as cold:
        assert _show(admin, volume["id"]).status_code == 200
    assert _routing_reads(cold)
    with count() as warm:
        assert _show(admin, volume["id"]).status_code == 200
    assert warm.statements == []


def _closing_request(app: Flask) -> str:
    """A volume in each pod and the demo member's full first page of them: the path of its
    next link (the request clients close a listing with)."""
    _typed_volume(app, "az1")
    body = {"volume": {"size": 1, "availability_zone": "az2"}}
    assert _client(app).post("/v3/volumes", json=body).status_code == 202
    page = _client(app).get("/v3/volumes/detail?limit=2").get_json()
    assert len(page["volumes"]) == 2
    return page["volumes_links"][0]["href"].replace("http://localhost", "")


def test_the_closing_list_request_asks_no_pod_and_no_database(worker, count, clock):
    app = worker()
    closing = _closing_request(app)
    member = _client(app)
    with count() as seen:
        answer = member.get(closing)
    assert answer.get_json() == {"volumes": []}
    assert (seen.statements, seen.pod_calls) == ([], [])
    clock.now += TTL
    with count() as expired:
        assert member.get(closing).get_json() == {"volumes": []}
    assert sorted(name for name, _path in expired.pod_calls) == ["Pod1", "Pod1", "Pod2"]


def test_another_projects_closing_request_is_not_answered_from_the_owners_list(worker, count):
    app = worker()
    closing = _closing_request(app)
    with count() as seen:
        answer = _client(app, OTHER).get(closing)
    assert answer.status_code == 404, answer.get_json()
    assert _routing_reads(seen), "another project's request was answered from the owner's list"

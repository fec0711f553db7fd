"""Usage counts reused by creates: within `[quota] usage_reuse_age` a create asks no pod, yet
never misses a create made through Tricircle (any process on the same database), and counts
afresh before refusing or cutting a request near the limit. Time is a clock the tests move."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tricircle import conf as tricircle_conf
from tricircle.db import quotas as quota_queries
from tricircle.db.models import Pod, PodBinding, QuotaReservation, ResourceRouting, utcnow
from tricircle.pods.client import PodUnreachable
from tricircle.pods.fanout import PodCallPool, shared_pool
from tricircle.quotas.checks import TooManyInstances, servers_plan
from tricircle.quotas.engine import QuotaEngine, Usage
from tricircle.quotas.resources import COMPUTE
from tricircle.quotas.usage import UsageUnknown

PROJECT = "project-a"
OTHER_PROJECT = "project-b"
REGIONS = ("Pod1", "Pod2")


class CountingNova:
    """One pod's Nova as the quota counter sees it: servers by project, each list recorded."""

    def __init__(self, region_name: str) -> None:
        self.region_name = region_name
        self.servers: list[dict] = []
        self.lists: list[str] = []
        self.down = False

    def get(self, path: str, params: dict, **_kwargs: object) -> dict:
        assert path == "/servers/detail"
        if self.down:
            raise PodUnreachable(self.region_name, "compute", "connection refused")
        self.lists.append(params["project_id"])
        mine = [s for s in self.servers if s["tenant_id"] == params["project_id"]]
        return {"servers": mine}


class CountingPods:
    """Tricircle's pod clients: one CountingNova per region."""

    def __init__(self) -> None:
        self.novas = {region: CountingNova(region) for region in REGIONS}

    def client(self, region_name: str, service_type: str) -> CountingNova:
        assert service_type == "compute"
        return self.novas[region_name]

    def lists(self, project_id: str = PROJECT) -> int:
        return sum(nova.lists.count(project_id) for nova in self.novas.values())


@pytest.fixture
def quota_conf() -> Iterator[cfg.ConfigOpts]:
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    yield conf
    conf.reset()


@pytest.fixture
def pods(session_factory: sessionmaker[Session]) -> dict[str, Pod]:
    """Pod1 and Pod2, both projects bound to each."""
    with session_factory.begin() as session:
        made = {
            region: Pod(region_name=region, az_name=f"az{i}", pod_az_name=f"pod{i}-az")
            for i, region in enumerate(REGIONS, start=1)
        }
        session.add_all(made.values())
        session.flush()
        for project_id in (PROJECT, OTHER_PROJECT):
            for pod in made.values():
                session.add(
                    PodBinding(project_id=project_id, pod_id=pod.pod_id, az_name=pod.az_name)
                )
    return made


@pytest.fixture
def counting_pods(pods: dict[str, Pod]) -> CountingPods:
    return CountingPods()


class TickingClock:
    """UTC time that moves 1 ms at every reading (as real time would between two steps) and
    as far as a test moves it."""

    def __init__(self) -> None:
        self.current = utcnow()

    def now(self) -> dt.datetime:
        self.current += dt.timedelta(milliseconds=1)
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


@pytest.fixture
def ticking_clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def engine_a(quota_conf, session_factory, counting_pods, ticking_clock) -> QuotaEngine:
    return QuotaEngine(quota_conf, session_factory, counting_pods, shared_pool(4), ticking_clock)


@pytest.fixture
def engine_b(quota_conf, session_factory, counting_pods, ticking_clock) -> QuotaEngine:
    """A second gateway process: its own engine and pool on the same database and pods."""
    return QuotaEngine(quota_conf, session_factory, counting_pods, PodCallPool(2), ticking_clock)


def _limit(session_factory, project_id: str = PROJECT, **limits: int) -> None:
    with session_factory.begin() as session:
        quota_queries.set_limits(session, project_id, limits)


@dataclass(frozen=True)
class Boot:
    """How many servers a boot made, and the usage its quota decision rested on."""

    made: int
    seen: Usage


def _boot(
    engine: QuotaEngine,
    pods: CountingPods,
    region: str = "Pod1",
    project_id: str = PROJECT,
    max_count: int = 1,
) -> Boot:
    """Reserve, make the servers in the pod, release: as the Nova gateway does."""
    seen: list[Usage] = []
    plan = servers_plan(1, 64, 1, max_count)

    def watched(usage: Usage) -> dict[str, int]:
        seen.append(usage)
        return dict(plan(usage))

    reservation = engine.reserve(COMPUTE, project_id, watched)
    made = reservation.amounts["instances"]
    for _ in range(made):
        pods.novas[region].servers.append(
            {"id": str(uuid.uuid4()), "tenant_id": project_id, "flavor": {"vcpus": 1, "ram": 64}}
        )
    engine.release(reservation)
    return Boot(made, seen[-1])


def test_a_second_create_within_the_bound_asks_no_pod(engine_a, counting_pods):
    _boot(engine_a, counting_pods)
    assert counting_pods.lists() == 2  # Pod1 and Pod2 counted once
    _boot(engine_a, counting_pods, "Pod2")
    _boot(engine_a, counting_pods)
    assert _boot(engine_a, counting_pods).seen.used("instances") == 3
    assert counting_pods.lists() == 2


def test_a_create_through_another_process_is_counted(engine_a, engine_b, counting_pods):
    _boot(engine_b, counting_pods)  # engine_b's count (0 servers) is kept in the database
    _boot(engine_a, counting_pods)
    _boot(engine_a, counting_pods, "Pod2")
    assert _boot(engine_b, counting_pods).seen.used("instances") == 3
    assert counting_pods.lists() == 2


def test_a_create_in_flight_in_another_process_is_counted(engine_a, engine_b, counting_pods):
    _boot(engine_a, counting_pods)
    in_flight = engine_a.reserve(COMPUTE, PROJECT, servers_plan(1, 64, 1, 1))
    seen = _boot(engine_b, counting_pods).seen
    assert (seen.in_use["instances"], seen.reserved["instances"]) == (1, 1)
    engine_a.release(in_flight)
    assert counting_pods.lists() == 2


def test_near_the_limit_a_fresh_count_sees_a_delete_made_in_the_pod(
    engine_a, counting_pods, session_factory
):
    _limit(session_factory, instances=2)
    _boot(engine_a, counting_pods)
    _boot(engine_a, counting_pods, "Pod2")  # 1 + 1 of 2 leaves no room for as much again
    assert counting_pods.lists() == 4
    counting_pods.novas["Pod2"].servers.clear()  # deleted straight in the pod
    boot = _boot(engine_a, counting_pods)  # the estimate says 2 of 2: counted afresh
    assert boot.made == 1 and boot.seen.used("instances") == 1
    assert counting_pods.lists() == 6
    with pytest.raises(TooManyInstances, match="already used 2 of 2"):
        _boot(engine_a, counting_pods)
    assert counting_pods.lists() == 8


def test_a_request_cut_to_what_fits_is_cut_on_a_fresh_count(
    engine_a, counting_pods, session_factory
):
    _limit(session_factory, instances=5)
    _boot(engine_a, counting_pods, max_count=3)
    counting_pods.novas["Pod1"].servers.clear()
    assert _boot(engine_a, counting_pods, max_count=5).made == 5


def test_the_bound_expires(engine_a, counting_pods, ticking_clock):
    _boot(engine_a, counting_pods)
    ticking_clock.advance(29.9)
    _boot(engine_a, counting_pods)
    assert counting_pods.lists() == 2
    ticking_clock.advance(0.1)  # the first count is 30 s old now
    _boot(engine_a, counting_pods)
    assert counting_pods.lists() == 4
    assert _boot(engine_a, counting_pods).seen.used("instances") == 3


def test_no_project_reuses_another_s_counts(engine_a, counting_pods):
    _boot(engine_a, counting_pods)
    assert _boot(engine_a, counting_pods, project_id=OTHER_PROJECT).seen.used("instances") == 0
    assert counting_pods.lists(OTHER_PROJECT) == 2
    assert _boot(engine_a, counting_pods).seen.used("instances") == 1
    assert _boot(engine_a, counting_pods, project_id=OTHER_PROJECT).seen.used("instances") == 1
    assert counting_pods.lists() == 2 and counting_pods.lists(OTHER_PROJECT) == 2


def test_zero_counts_every_pod_on_every_create(engine_a, counting_pods, quota_conf):
    quota_conf.set_override("usage_reuse_age", 0.0, group="quota")
    for lists in (2, 4, 6):
        _boot(engine_a, counting_pods)
        assert counting_pods.lists() == lists


def test_the_bound_never_exceeds_the_reservation_expiry(
    engine_a, counting_pods, quota_conf, ticking_clock
):
    quota_conf.set_override("usage_reuse_age", 120.0, group="quota")
    quota_conf.set_override("reservation_expire", 60, group="quota")
    _boot(engine_a, counting_pods)
    ticking_clock.advance(60)
    _boot(engine_a, counting_pods)
    assert counting_pods.lists() == 4


def test_displays_always_count_afresh(engine_a, counting_pods):
    _boot(engine_a, counting_pods)
    counting_pods.novas["Pod1"].servers.clear()
    assert engine_a.usage(COMPUTE, PROJECT).in_use["instances"] == 0
    assert counting_pods.lists() == 4


def test_the_top_pod_is_never_counted(engine_a, counting_pods, session_factory):
    """A project's routings in the top pod (its bridge network) name no pod to count: RegionOne's
    endpoints are the gateways themselves (the Cinder gateway would call itself)."""
    with session_factory.begin() as session:
        top = Pod(region_name="RegionOne", az_name="")
        session.add(top)
        session.flush()
        session.add(
            ResourceRouting(
                top_id=f"bridge:{PROJECT}",
                bottom_id=str(uuid.uuid4()),
                pod_id=top.pod_id,
                project_id=PROJECT,
                resource_type="bridge_network",
            )
        )
    with session_factory() as session:
        assert top.pod_id not in quota_queries.project_pod_ids(session, PROJECT)
    _boot(engine_a, counting_pods)
    assert engine_a.usage(COMPUTE, PROJECT).in_use["instances"] == 1


def test_a_pod_that_cannot_report_counts_its_last_count_and_the_creates_since(
    engine_a, engine_b, counting_pods, ticking_clock
):
    _boot(engine_b, counting_pods)
    _boot(engine_a, counting_pods)
    ticking_clock.advance(60)  # past the reuse bound, within [quota] usage_fallback_age (600 s)
    counting_pods.novas["Pod1"].down = True
    assert _boot(engine_a, counting_pods).seen.used("instances") == 2
    ticking_clock.advance(600)
    with pytest.raises(UsageUnknown, match="Pod1"):
        _boot(engine_a, counting_pods)


def test_released_reservations_go_once_no_count_needs_them(
    engine_a, counting_pods, session_factory, ticking_clock
):
    _boot(engine_a, counting_pods)
    ticking_clock.advance(600)  # [quota] usage_fallback_age, the longer bound
    _boot(engine_a, counting_pods)
    with session_factory() as session:
        kept = {row.reservation_id for row in session.scalars(select(QuotaReservation))}
    assert len(kept) == 1

"""The pod scheduler: bindings first, filters, the spreading weigher, race-safe binding."""

from __future__ import annotations

import logging
import threading

import pytest
from oslo_config import cfg

from tricircle import conf as tricircle_conf
from tricircle.db import pods
from tricircle.db.models import Pod
from tricircle.pods import scheduler
from tricircle.pods.fanout import PodCallPool
from tricircle.pods.scheduler import (
    NoValidPod,
    PlacementRequest,
    PodScheduler,
    UnknownAvailabilityZone,
)

POOL = PodCallPool(8)


@pytest.fixture
def add_pod(session_factory):
    """Register a pod straight in the database and return it."""

    def add(region_name: str, az_name: str = "az1", is_enabled: bool = True) -> Pod:
        with session_factory.begin() as session:
            pod = pods.create_pod(session, region_name=region_name, az_name=az_name)
            pod.is_enabled = is_enabled
        return pod

    return add


@pytest.fixture
def bind(session_factory):
    def bind_to(project_id: str, pod: Pod) -> None:
        with session_factory.begin() as session:
            pods.create_binding(session, project_id=project_id, pod_id=pod.pod_id)

    return bind_to


@pytest.fixture
def conf():
    """A private ConfigOpts with Tricircle's options."""
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    yield conf
    conf.reset()


def bound_regions(session_factory, project_id: str) -> list[str]:
    with session_factory() as session:
        return sorted(
            pods.get_pod(session, binding.pod_id).region_name
            for binding in pods.list_bindings(session, project_id=project_id)
        )


def test_first_request_binds_the_least_used_pod(conf, session_factory, add_pod, bind):
    pod1, _pod2 = add_pod("Pod1"), add_pod("Pod2")
    add_pod("RegionOne", az_name="")
    bind("other", pod1)
    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL)

    placement = placer.select_pod(PlacementRequest("p1", "az1"))

    assert (placement.pod.region_name, placement.az_name) == ("Pod2", "az1")
    assert placement.newly_bound
    assert bound_regions(session_factory, "p1") == ["Pod2"]
    again = placer.select_pod(PlacementRequest("p1", "az1", resource_type="volume"))
    assert (again.pod.pod_id, again.binding_id) == (placement.pod.pod_id, placement.binding_id)
    assert not again.newly_bound


def test_equal_weights_go_to_the_first_region_name(conf, session_factory, add_pod):
    for region in ("Pod3", "Pod1", "Pod2"):
        add_pod(region)
    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL)
    assert placer.select_pod(PlacementRequest("p1", "az1")).pod.region_name == "Pod1"


def test_existing_binding_wins_even_on_a_disabled_pod(conf, session_factory, add_pod, bind):
    pod1 = add_pod("Pod1", is_enabled=False)
    add_pod("Pod2")
    bind("p1", pod1)
    placement = scheduler.make_scheduler(conf, session_factory, pool=POOL).select_pod(
        PlacementRequest("p1", "az1")
    )
    assert placement.pod.region_name == "Pod1"
    assert not placement.newly_bound


def test_disabled_unreachable_and_full_pods_are_filtered_out(
    conf, session_factory, add_pod, caplog
):
    add_pod("Pod1", is_enabled=False)
    add_pod("Pod2")
    add_pod("Pod3")
    add_pod("Pod4")
    asked: list[tuple[str, dict]] = []

    def reachable(pod: Pod) -> bool:
        if pod.region_name == "Pod3":
            raise ConnectionError("down")
        return True

    def has_capacity(pod: Pod, request: PlacementRequest) -> bool:
        asked.append((pod.region_name, dict(request.demand)))
        return pod.region_name != "Pod2"

    placer = scheduler.make_scheduler(
        conf, session_factory, pool=POOL, reachable=reachable, has_capacity=has_capacity
    )
    caplog.set_level(logging.INFO, logger="tricircle.pods.scheduler")
    placement = placer.select_pod(PlacementRequest("p1", "az1", demand={"vcpus": 2}))

    assert placement.pod.region_name == "Pod4"
    assert asked == [("Pod2", {"vcpus": 2}), ("Pod4", {"vcpus": 2})]
    assert "Pod Pod1 filtered out by EnabledFilter" in caplog.text
    assert "Pod Pod3 filtered out by ReachableFilter" in caplog.text
    assert "Pod Pod2 filtered out by CapacityFilter" in caplog.text
    assert "Chose pod Pod4" in caplog.text


def test_no_eligible_pod_is_no_valid_pod_and_binds_nothing(conf, session_factory, add_pod):
    add_pod("Pod1", is_enabled=False)
    add_pod("Pod2")
    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL, reachable=lambda pod: False)
    with pytest.raises(NoValidPod) as raised:
        placer.select_pod(PlacementRequest("p1", "az1"))
    assert raised.value.reasons == {"Pod1": "EnabledFilter", "Pod2": "ReachableFilter"}
    assert "az1" in str(raised.value) and "Pod2: ReachableFilter" in str(raised.value)
    assert bound_regions(session_factory, "p1") == []


@pytest.mark.parametrize("az_name", ["az9", ""])
def test_unknown_az_is_refused(conf, session_factory, add_pod, az_name):
    add_pod("RegionOne", az_name="")
    add_pod("Pod1")
    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL)
    with pytest.raises(UnknownAvailabilityZone) as raised:
        placer.select_pod(PlacementRequest("p1", az_name))
    assert raised.value.az_name == az_name
    assert bound_regions(session_factory, "p1") == []


def test_no_az_uses_the_configured_default(conf, session_factory, add_pod):
    add_pod("Pod1", az_name="az1")
    add_pod("Pod2", az_name="az2")
    conf.set_override("default_availability_zone", "az2", group="scheduler")
    placement = scheduler.make_scheduler(conf, session_factory, pool=POOL).select_pod(
        PlacementRequest("p1")
    )
    assert (placement.pod.region_name, placement.az_name) == ("Pod2", "az2")


def test_unknown_default_az_is_refused(conf, session_factory, add_pod):
    add_pod("Pod1")
    conf.set_override("default_availability_zone", "gone", group="scheduler")
    with pytest.raises(UnknownAvailabilityZone):
        scheduler.make_scheduler(conf, session_factory, pool=POOL).select_pod(
            PlacementRequest("p1")
        )


def test_no_az_and_no_default_is_the_first_pods_az_for_every_project(
    conf, session_factory, add_pod, bind
):
    """No AZ goes to one AZ for everyone (the first pod's in region order), even where the
    spreading weigher would prefer the other AZ and the project has a binding elsewhere."""
    pod1 = add_pod("Pod1", az_name="az1", is_enabled=False)
    pod2 = add_pod("Pod2", az_name="az2")
    add_pod("Pod3", az_name="az1")
    add_pod("RegionOne", az_name="")
    bind("busy", pod1)
    bind("p2", pod2)
    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL)

    first = placer.select_pod(PlacementRequest("p1"))
    assert (first.pod.region_name, first.az_name) == ("Pod3", "az1")
    volume = placer.select_pod(PlacementRequest("p1", resource_type="volume"))
    assert (volume.binding_id, volume.newly_bound) == (first.binding_id, False)

    assert placer.select_pod(PlacementRequest("p2")).az_name == "az1"
    assert bound_regions(session_factory, "p2") == ["Pod2", "Pod3"]


def test_no_az_without_any_bottom_pod_is_refused(conf, session_factory, add_pod):
    add_pod("RegionOne", az_name="")
    with pytest.raises(UnknownAvailabilityZone):
        scheduler.make_scheduler(conf, session_factory, pool=POOL).select_pod(
            PlacementRequest("p1")
        )


def test_concurrent_first_creates_without_az_bind_one_az(session_factory, add_pod):
    """Each racer's weigher prefers a pod of another AZ; no AZ still means one AZ, one binding."""
    add_pod("Pod1", az_name="az1")
    add_pod("Pod2", az_name="az2")
    barrier = threading.Barrier(2, timeout=10)

    class PreferOne(scheduler.PodWeigher):
        name = "PreferOne"

        def __init__(self, region_name: str) -> None:
            super().__init__()
            self.region_name = region_name

        def weigh(self, candidates, request):
            barrier.wait()
            return [float(pod.region_name == self.region_name) for pod in candidates]

    placements: list[scheduler.Placement] = []

    def race(region_name: str) -> None:
        placer = PodScheduler(
            session_factory,
            pool=POOL,
            filters=[scheduler.EnabledFilter()],
            weighers=[PreferOne(region_name)],
        )
        placements.append(placer.select_pod(PlacementRequest("p1")))

    threads = [threading.Thread(target=race, args=(region,)) for region in ("Pod1", "Pod2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [p.pod.region_name for p in placements] == ["Pod1", "Pod1"]
    assert bound_regions(session_factory, "p1") == ["Pod1"]


def test_concurrent_first_creates_end_on_one_binding(session_factory, add_pod):
    """Each racer's weigher prefers a different pod; the database lets only one binding in."""
    add_pod("Pod1")
    add_pod("Pod2")
    barrier = threading.Barrier(2, timeout=10)

    class PreferOne(scheduler.PodWeigher):
        name = "PreferOne"

        def __init__(self, region_name: str) -> None:
            super().__init__()
            self.region_name = region_name

        def weigh(self, candidates, request):
            barrier.wait()  # both racers have read "no binding" and chosen before either binds
            return [float(pod.region_name == self.region_name) for pod in candidates]

    placements: dict[str, scheduler.Placement] = {}
    errors: list[BaseException] = []

    def race(region_name: str) -> None:
        placer = PodScheduler(
            session_factory,
            pool=POOL,
            filters=[scheduler.EnabledFilter()],
            weighers=[PreferOne(region_name)],
        )
        try:
            placements[region_name] = placer.select_pod(PlacementRequest("p1", "az1"))
        except BaseException as exc:  # reported below with the racer's name
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(region,)) for region in ("Pod1", "Pod2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert {p.pod.pod_id for p in placements.values()} == {
        p.pod.pod_id for p in placements.values() if p.newly_bound
    }
    assert len({p.binding_id for p in placements.values()}) == 1
    assert sorted(p.newly_bound for p in placements.values()) == [False, True]
    assert len(bound_regions(session_factory, "p1")) == 1


def test_weighers_are_normalised_and_scaled(session_factory, add_pod):
    for region in ("Pod1", "Pod2", "Pod3"):
        add_pod(region)

    class Fixed(scheduler.PodWeigher):
        name = "Fixed"

        def __init__(self, weights: dict[str, float], multiplier: float) -> None:
            super().__init__(multiplier)
            self.weights = weights

        def weigh(self, candidates, request):
            return [self.weights[pod.region_name] for pod in candidates]

    # Raw 1000 vs 0 counts as much as raw 2 vs 1 once normalised; the multiplier decides.
    big = Fixed({"Pod1": 1000.0, "Pod2": 0.0, "Pod3": 0.0}, multiplier=1.0)
    small = Fixed({"Pod1": 1.0, "Pod2": 2.0, "Pod3": 1.0}, multiplier=2.0)
    placer = PodScheduler(session_factory, pool=POOL, filters=[], weighers=[big, small])
    assert placer.select_pod(PlacementRequest("p1", "az1")).pod.region_name == "Pod2"


def test_second_binding_in_one_az_is_a_conflict(session_factory, add_pod, bind):
    pod1, pod2 = add_pod("Pod1"), add_pod("Pod2")
    bind("p1", pod1)
    with pytest.raises(pods.PodConflict, match="already bound to pod"):
        bind("p1", pod2)
    with session_factory.begin() as session:
        binding, created = pods.bind_project(session, project_id="p1", pod=pod2)
    assert (binding.pod_id, binding.az_name, created) == (pod1.pod_id, "az1", False)


def test_top_pod_cannot_be_bound(session_factory, add_pod):
    top = add_pod("RegionOne", az_name="")
    with pytest.raises(pods.InvalidBinding), session_factory.begin() as session:
        pods.bind_project(session, project_id="p1", pod=top)


def test_pods_are_asked_in_parallel(conf, session_factory, add_pod):
    for region in ("Pod1", "Pod2", "Pod3"):
        add_pod(region)
    everyone_asked = threading.Barrier(3, timeout=5)

    def reachable(pod: Pod) -> bool:
        everyone_asked.wait()  # only returns once all three pods are being asked at once
        return True

    placer = scheduler.make_scheduler(conf, session_factory, pool=POOL, reachable=reachable)
    assert placer.select_pod(PlacementRequest("p1", "az1")).pod.region_name == "Pod1"

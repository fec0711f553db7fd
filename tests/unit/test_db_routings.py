"""Queries on resource routings."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tricircle.db import routings
from tricircle.db.models import Pod, ResourceRouting


@pytest.fixture
def second_pod_id(session_factory) -> str:
    with session_factory.begin() as session:
        pod = Pod(region_name="Pod2", az_name="az2", pod_az_name="pod2-az")
        session.add(pod)
    return pod.pod_id


@pytest.fixture
def sample(session_factory, pod_id, second_pod_id) -> list[ResourceRouting]:
    """Five routings: networks and ports of two projects in two pods, one still in flight."""
    rows = [
        ResourceRouting(
            top_id="net-a", bottom_id="b-net-a1", pod_id=pod_id, project_id="p1",
            resource_type="network",
        ),
        ResourceRouting(
            top_id="net-a", bottom_id="b-net-a2", pod_id=second_pod_id, project_id="p1",
            resource_type="network",
        ),
        ResourceRouting(
            top_id="port-1", bottom_id="b-port-1", pod_id=pod_id, project_id="p1",
            resource_type="port",
        ),
        ResourceRouting(
            top_id="net-b", bottom_id="b-net-b", pod_id=pod_id, project_id="p2",
            resource_type="network",
        ),
        ResourceRouting(
            top_id="port-2", bottom_id=None, pod_id=second_pod_id, project_id="p2",
            resource_type="port",
        ),
    ]  # fmt: skip
    with session_factory.begin() as session:
        session.add_all(rows)
    return rows


def test_list_routings_filters_and_orders_by_id(session_factory, sample, pod_id):
    with session_factory() as session:
        everything = routings.list_routings(session)
        assert [row.id for row in everything] == sorted(row.id for row in sample)
        networks = routings.list_routings(session, resource_type="network", project_id="p1")
        assert [row.bottom_id for row in networks] == ["b-net-a1", "b-net-a2"]
        in_pod = routings.list_routings(session, pod_id=pod_id)
        assert {row.top_id for row in in_pod} == {"net-a", "port-1", "net-b"}


def test_list_routings_pages_with_marker_and_limit(session_factory, sample):
    with session_factory() as session:
        seen: list[int] = []
        marker = None
        while page := routings.list_routings(session, limit=2, marker=marker):
            assert len(page) <= 2
            seen.extend(row.id for row in page)
            marker = page[-1].id
    assert seen == [row.id for row in sample]


def test_get_and_delete_routing(session_factory, sample):
    target = sample[2].id
    with session_factory.begin() as session:
        assert routings.get_routing(session, target).top_id == "port-1"
        assert routings.delete_routing(session, target)
        assert not routings.delete_routing(session, target)
    with session_factory() as session:
        assert routings.get_routing(session, target) is None


def test_count_routings_for_pod(session_factory, sample, pod_id, second_pod_id):
    with session_factory() as session:
        assert routings.count_routings_for_pod(session, pod_id) == 3
        assert routings.count_routings_for_pod(session, second_pod_id) == 2
        assert routings.count_routings_for_pod(session, "no-such-pod") == 0


def test_find_bottom_id_ignores_routings_in_flight(session_factory, sample, pod_id, second_pod_id):
    with session_factory() as session:
        assert routings.find_bottom_id(session, "net-a", second_pod_id) == "b-net-a2"
        assert routings.find_bottom_id(session, "port-2", second_pod_id) is None
        assert routings.find_bottom_id(session, "net-b", second_pod_id) is None


def test_find_routings_for_top(session_factory, sample):
    with session_factory() as session:
        found = routings.find_routings_for_top(session, "net-a")
    assert [row.bottom_id for row in found] == ["b-net-a1", "b-net-a2"]


def test_one_routing_per_top_and_pod(session_factory, sample, pod_id):
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            ResourceRouting(
                top_id="net-a", bottom_id="other", pod_id=pod_id, project_id="p1",
                resource_type="network",
            )
        )  # fmt: skip


def test_lock_fill_and_release(session_factory, pod_id):
    lock_fields = {"top_id": "r1", "pod_id": pod_id, "project_id": "p", "resource_type": "router"}
    with session_factory.begin() as session:
        lock = routings.lock_routing(session, **lock_fields)
        assert lock is not None and lock.bottom_id is None
        assert routings.lock_routing(session, **lock_fields) is None
    with session_factory.begin() as session:
        assert routings.fill_bottom_id(session, lock, "b-r1")
        assert not routings.fill_bottom_id(session, lock, "b-other")
        assert not routings.release_routing_lock(session, lock)
        assert routings.find_bottom_id(session, "r1", pod_id) == "b-r1"


def test_routed_pod_names_the_pod_of_a_complete_routing_of_that_type(
    session_factory, sample, pod_id, second_pod_id
):
    with session_factory() as session:
        found = routings.routed_pod(session, "net-b", routings.ResourceType.NETWORK)
        assert found is not None and found.pod_id == pod_id
        assert routings.routed_pod(session, "net-b", routings.ResourceType.PORT) is None
        assert routings.routed_pod(session, "net-b", "network", project_id="p1") is None
        assert routings.routed_pod(session, "port-2", routings.ResourceType.PORT) is None


def test_a_resource_routed_as_itself_is_found_then_forgotten(session_factory, second_pod_id):
    volume = routings.ResourceType.VOLUME
    with session_factory.begin() as session:
        assert routings.route_as_itself(
            session, top_id="vol-1", pod_id=second_pod_id, project_id="p1", resource_type=volume
        )
        assert not routings.route_as_itself(
            session, top_id="vol-1", pod_id=second_pod_id, project_id="p1", resource_type=volume
        )
    with session_factory.begin() as session:
        assert routings.find_bottom_id(session, "vol-1", second_pod_id) == "vol-1"
        assert routings.routed_pod(session, "vol-1", volume).pod_id == second_pod_id
        routings.forget_routing(session, "vol-1", second_pod_id, routings.ResourceType.SERVER)
        assert routings.routed_pod(session, "vol-1", volume) is not None
        routings.forget_routing(session, "vol-1", second_pod_id, volume, project_id="p2")
        assert routings.routed_pod(session, "vol-1", volume) is not None
        routings.forget_routing(session, "vol-1", second_pod_id)
        assert routings.routed_pod(session, "vol-1", volume) is None

"""Top IDs in list filters made each pod's own."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tricircle.db.models import Pod, ResourceRouting
from tricircle.db.routings import ResourceType
from tricircle.pods.filters import TopIdFilters

NAMED = {"flavor": ResourceType.FLAVOR}


def add_routings(
    session_factory: sessionmaker[Session],
    pod_id: str,
    *routes: tuple[str, str | None, ResourceType],
) -> None:
    """Routings of project p1 to ``pod_id``, one per (top ID, bottom ID, resource type)."""
    with session_factory.begin() as session:
        for top_id, bottom_id, resource_type in routes:
            session.add(
                ResourceRouting(
                    top_id=top_id,
                    bottom_id=bottom_id,
                    pod_id=pod_id,
                    project_id="p1",
                    resource_type=resource_type,
                )
            )


def test_a_top_flavor_becomes_the_pods_copy_and_a_pod_without_one_is_left_out(
    session_factory, pod_id
):
    add_routings(session_factory, pod_id, ("top-flavor", "pod1-flavor", ResourceType.FLAVOR))
    filters = TopIdFilters(session_factory, NAMED)
    pairs = [("name", "web"), ("flavor", "top-flavor")]
    assert filters.for_pod(Pod(pod_id=pod_id), pairs) == [
        ("name", "web"),
        ("flavor", "pod1-flavor"),
    ]
    assert filters.for_pod(Pod(pod_id="another-pod"), pairs) is None


def test_filters_naming_no_top_resource_pass_without_the_database():
    def no_database():
        raise AssertionError("the database was opened")

    filters = TopIdFilters(no_database, NAMED)  # type: ignore[arg-type]
    pairs = [("name", "web"), ("status", "ACTIVE")]
    assert filters.for_pod(Pod(pod_id="any"), pairs) == pairs
    assert filters.for_pod(Pod(pod_id="any"), []) == []


def test_the_routings_are_read_once_per_list_whatever_the_pods(session_factory, pod_id):
    add_routings(session_factory, pod_id, ("top-flavor", "pod1-flavor", ResourceType.FLAVOR))
    opened = []

    def counted_sessions():
        opened.append(1)
        return session_factory()

    filters = TopIdFilters(counted_sessions, NAMED)  # type: ignore[arg-type]
    pairs = [("flavor", "top-flavor")]
    answers = [filters.for_pod(Pod(pod_id=pod), pairs) for pod in (pod_id, "pod-2", "pod-3")]
    assert answers == [[("flavor", "pod1-flavor")], None, None]
    assert len(opened) == 1


def test_a_copy_of_another_type_or_still_in_flight_matches_nothing(session_factory, pod_id):
    add_routings(
        session_factory,
        pod_id,
        ("top-flavor", None, ResourceType.FLAVOR),
        ("top-network", "pod1-network", ResourceType.NETWORK),
    )
    filters = TopIdFilters(session_factory, NAMED)
    assert filters.for_pod(Pod(pod_id=pod_id), [("flavor", "top-flavor")]) is None
    assert filters.for_pod(Pod(pod_id=pod_id), [("flavor", "top-network")]) is None

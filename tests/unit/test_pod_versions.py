"""Pod microversions: keystoneauth discovery, cached, refreshed in the background, per service."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from keystoneauth1 import exceptions as ksa_exceptions
from microversion_parse import Version

from tricircle.pods import versions as pod_versions
from tricircle.pods.versions import PodVersions

ENDPOINTS = {
    "compute": "http://pod1.example:8774/v2.1",
    "volumev3": "http://pod1.example:8776/v3/0123456789abcdef0123456789abcdef",
}


class FakeDiscovery:
    """Version data as keystoneauth's Discover gives it, per URL; None when the pod is down."""

    def __init__(self) -> None:
        self.maximums: dict[str, tuple[int, int] | None] = {
            "http://pod1.example:8774/v2.1": (2, 96),
            "http://pod1.example:8776/v3": (3, 71),
        }
        self.asked: list[str] = []

    def __call__(self, session, url, authenticated=None):
        self.asked.append(url)
        assert session.timeout == 2.0
        maximum = self.maximums[url]
        if maximum is None:
            raise ksa_exceptions.ConnectTimeout("pod stopped")
        data = [{"max_microversion": None}, {"max_microversion": maximum}]
        return SimpleNamespace(version_data=lambda: data)


@pytest.fixture
def discovery(monkeypatch) -> FakeDiscovery:
    fake = FakeDiscovery()
    monkeypatch.setattr(pod_versions.discover, "Discover", fake)
    return fake


def _clients() -> SimpleNamespace:
    return SimpleNamespace(
        session=SimpleNamespace(auth=None),
        client=lambda region, service_type: SimpleNamespace(
            endpoint=lambda: ENDPOINTS[service_type]
        ),
    )


def test_first_look_asks_and_later_looks_use_the_cache(discovery):
    versions = PodVersions(_clients(), ttl=60)  # type: ignore[arg-type]
    assert versions.maximum("Pod1", "compute") == Version(2, 96)
    assert versions.reachable("Pod1", "compute")
    assert versions.maximum("Pod1", "compute") == Version(2, 96)
    assert discovery.asked == ["http://pod1.example:8774/v2.1"]


def test_each_service_has_its_own_entry_and_project_ids_are_dropped(discovery):
    versions = PodVersions(_clients(), ttl=60)  # type: ignore[arg-type]
    assert versions.maximum("Pod1", "volumev3") == Version(3, 71)
    assert versions.maximum("Pod1", "compute") == Version(2, 96)
    assert discovery.asked[0] == "http://pod1.example:8776/v3"


def test_a_stopped_pod_keeps_its_maximum_but_is_unreachable(discovery, poll):
    versions = PodVersions(_clients(), ttl=0)  # type: ignore[arg-type]
    assert versions.maximum("Pod1", "compute") == Version(2, 96)
    discovery.maximums["http://pod1.example:8774/v2.1"] = None
    assert versions.maximum("Pod1", "compute") == Version(2, 96)  # stale entry served at once
    poll(lambda: not versions.reachable("Pod1", "compute"), what="the background refresh")
    assert versions.maximum("Pod1", "compute") == Version(2, 96)


def test_a_pod_that_answers_again_is_reachable_again(discovery, poll):
    discovery.maximums["http://pod1.example:8776/v3"] = None
    versions = PodVersions(_clients(), ttl=0)  # type: ignore[arg-type]
    assert not versions.reachable("Pod1", "volumev3")
    discovery.maximums["http://pod1.example:8776/v3"] = (3, 70)
    poll(lambda: versions.reachable("Pod1", "volumev3"), what="the background refresh")
    assert versions.maximum("Pod1", "volumev3") == Version(3, 70)


def test_a_pod_never_reached_has_no_maximum(discovery):
    discovery.maximums["http://pod1.example:8774/v2.1"] = None
    versions = PodVersions(_clients(), ttl=60)  # type: ignore[arg-type]
    assert versions.maximum("Pod1", "compute") is None
    assert not versions.reachable("Pod1", "compute")

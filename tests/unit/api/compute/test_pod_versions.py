"""Pod microversion discovery: cached, refreshed in the background, bounded when a pod is down."""

from __future__ import annotations

from types import SimpleNamespace

from keystoneauth1 import exceptions as ksa_exceptions

from tricircle.api.compute.microversion import Microversion
from tricircle.api.compute.state import PodVersions


class FakeAdapter:
    def __init__(self) -> None:
        self.version: str | None = "2.96"
        self.calls = 0

    def request(self, path, method, **kwargs):
        self.calls += 1
        assert (path, method) == ("/", "GET") and kwargs["timeout"] == (2.0, 2.0)
        if self.version is None:
            raise ksa_exceptions.ConnectTimeout("pod stopped")
        return SimpleNamespace(json=lambda: {"version": {"version": self.version}})


class FakeClients:
    def __init__(self) -> None:
        self.adapter = FakeAdapter()

    def client(self, region_name, service_type):
        return SimpleNamespace(adapter=self.adapter)


def test_first_look_asks_and_later_looks_use_the_cache(poll):
    clients = FakeClients()
    versions = PodVersions(clients, ttl=60)  # type: ignore[arg-type]
    assert versions.maximum("Pod1") == Microversion(2, 96)
    assert versions.reachable("Pod1")
    assert versions.maximum("Pod1") == Microversion(2, 96)
    assert clients.adapter.calls == 1


def test_a_stopped_pod_keeps_its_maximum_but_is_unreachable(poll):
    clients = FakeClients()
    versions = PodVersions(clients, ttl=0)  # type: ignore[arg-type]
    assert versions.maximum("Pod1") == Microversion(2, 96)
    clients.adapter.version = None
    assert versions.maximum("Pod1") == Microversion(2, 96)  # stale entry served at once
    poll(lambda: not versions.reachable("Pod1"), what="the background refresh")
    assert versions.maximum("Pod1") == Microversion(2, 96)


def test_a_pod_never_reached_has_no_maximum():
    clients = FakeClients()
    clients.adapter.version = None
    versions = PodVersions(clients, ttl=60)  # type: ignore[arg-type]
    assert versions.maximum("Pod1") is None and not versions.reachable("Pod1")

"""The pods' Cinder as the caller (the caller's token, Tricircle's catalog) and their versions."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from keystoneauth1 import exceptions as ksa_exceptions

from tricircle.api.volume.bottom import CallerPodClient, VolumePods
from tricircle.api.volume.microversions import ApiVersion
from tricircle.pods.client import PodClient, PodClientError


class StubAdapter:
    """Records what a keystoneauth Adapter was asked; answers ``status`` with ``body``."""

    region_name = "Pod1"
    service_type = "volumev3"

    def __init__(self, status: int = 200, body: bytes = b'{"volume": {"id": "v"}}') -> None:
        self.status, self.body = status, body
        self.requests: list[dict[str, Any]] = []
        self.max_microversion: tuple[int, int] | None = (3, 71)
        self.discoveries = 0

    def request(self, path: str, method: str, **kwargs: Any) -> SimpleNamespace:
        self.requests.append({"path": path, "method": method, **kwargs})
        return SimpleNamespace(
            status_code=self.status,
            content=self.body,
            json=lambda: json.loads(self.body),
            text=self.body.decode(),
            reason="",
        )

    def get_endpoint_data(self) -> SimpleNamespace:
        self.discoveries += 1
        if self.max_microversion is None:
            raise ksa_exceptions.ConnectFailure("refused")
        return SimpleNamespace(max_microversion=self.max_microversion)


def test_caller_token_replaces_tricircle_identity():
    stub = StubAdapter(status=202)
    client = CallerPodClient(PodClient(stub, (1.0, 2.0)), "caller-token")
    answer = client.call("POST", "/volumes", json={"volume": {}}, microversion="3.60")
    assert (answer.status, answer.body) == (202, {"volume": {"id": "v"}})
    sent = stub.requests[0]
    assert sent["headers"] == {"X-Auth-Token": "caller-token"}
    assert sent["authenticated"] is False
    assert sent["microversion"] == "3.60"


def test_without_token_tricircle_identity_is_used():
    stub = StubAdapter()
    CallerPodClient(PodClient(stub, (1.0, 2.0)), None).call("GET", "/volumes/v")
    assert stub.requests[0]["headers"] == {}
    assert stub.requests[0]["authenticated"] is None


def test_pod_refusal_is_a_typed_error():
    stub = StubAdapter(status=404, body=b'{"itemNotFound": {"code": 404, "message": "gone"}}')
    with pytest.raises(PodClientError) as raised:
        CallerPodClient(PodClient(stub, (1.0, 2.0)), "t").call("GET", "/volumes/v")
    assert (raised.value.status, raised.value.pod_message) == (404, "gone")


def test_max_version_is_the_lowest_pod_maximum_and_is_remembered():
    stubs = {"Pod1": StubAdapter(), "Pod2": StubAdapter()}
    stubs["Pod2"].max_microversion = (3, 64)
    clients = SimpleNamespace(client=lambda region, _type: SimpleNamespace(adapter=stubs[region]))
    pods = VolumePods(clients)  # type: ignore[arg-type]
    assert pods.max_version(["Pod1", "Pod2"]) == ApiVersion(3, 64)
    assert pods.max_version(["Pod1", "Pod2"]) == ApiVersion(3, 64)
    assert [stubs[r].discoveries for r in ("Pod1", "Pod2")] == [1, 1]


def test_unreachable_pod_is_left_out_and_asked_again():
    stubs = {"Pod1": StubAdapter(), "Pod2": StubAdapter()}
    stubs["Pod2"].max_microversion = None
    clients = SimpleNamespace(client=lambda region, _type: SimpleNamespace(adapter=stubs[region]))
    pods = VolumePods(clients)  # type: ignore[arg-type]
    assert pods.max_version(["Pod1", "Pod2"]) == ApiVersion(3, 71)
    stubs["Pod2"].max_microversion = (3, 50)
    assert pods.max_version(["Pod1", "Pod2"]) == ApiVersion(3, 50)


def test_reachable_means_the_version_document_answered():
    stubs = {"Pod1": StubAdapter(), "Pod2": StubAdapter()}
    stubs["Pod2"].max_microversion = None
    clients = SimpleNamespace(client=lambda region, _type: SimpleNamespace(adapter=stubs[region]))
    pods = VolumePods(clients)  # type: ignore[arg-type]
    assert pods.reachable("Pod1")
    assert not pods.reachable("Pod2")

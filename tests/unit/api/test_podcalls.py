"""Calls to a pod as the caller: the caller's token, Tricircle's catalog, the gateway's version."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from tricircle.api.microversions import Microversion
from tricircle.api.podcalls import Caller, CallerPodCalls, PodAnswer
from tricircle.pods.client import PodClient, PodClientError


class StubAdapter:
    """Records what a keystoneauth Adapter was asked; answers ``status`` with ``body``."""

    region_name = "Pod1"
    service_type = "volumev3"

    def __init__(self, status: int = 200, body: bytes = b'{"volume": {"id": "v"}}') -> None:
        self.status, self.body = status, body
        self.requests: list[dict[str, Any]] = []

    def get_endpoint(self) -> str:
        return "http://pod1.example:8776/v3"

    def request(self, path: str, method: str, **kwargs: Any) -> SimpleNamespace:
        self.requests.append({"path": path, "method": method, **kwargs})
        return SimpleNamespace(
            status_code=self.status,
            content=self.body,
            json=lambda: json.loads(self.body),
            text=self.body.decode(),
            reason="",
            headers={},
        )


class StubClients:
    """PodClients over one StubAdapter, recording the service types asked for."""

    def __init__(self, stub: StubAdapter) -> None:
        self.stub = stub
        self.service_types: list[str] = []

    def client(self, region_name: str, service_type: str) -> PodClient:
        self.service_types.append(service_type)
        return PodClient(self.stub, (1.0, 2.0))  # type: ignore[arg-type]


def _calls(stub: StubAdapter) -> CallerPodCalls:
    return CallerPodCalls(StubClients(stub), "volumev3")  # type: ignore[arg-type]


def _caller(token: str) -> Caller:
    return Caller(token, Microversion(3, 60), "project", "user", is_admin=False)


def test_caller_token_replaces_tricircle_identity():
    stub = StubAdapter(status=202)
    answer = _calls(stub).call(_caller("caller-token"), "Pod1", "POST", "/volumes", json={})
    assert (answer.status, answer.body) == (202, {"volume": {"id": "v"}})
    sent = stub.requests[0]
    assert sent["headers"] == {"X-Auth-Token": "caller-token"}
    assert sent["authenticated"] is False
    assert sent["microversion"] == "3.60"


def test_without_token_tricircle_identity_is_used():
    stub = StubAdapter()
    _calls(stub).call(_caller(""), "Pod1", "GET", "/volumes/v")
    assert stub.requests[0]["headers"] == {}
    assert stub.requests[0]["authenticated"] is None


def test_pod_refusal_is_a_typed_error():
    stub = StubAdapter(status=404, body=b'{"itemNotFound": {"code": 404, "message": "gone"}}')
    with pytest.raises(PodClientError) as raised:
        _calls(stub).call(_caller("t"), "Pod1", "GET", "/volumes/v")
    assert (raised.value.status, raised.value.pod_message) == (404, "gone")


def test_the_microversion_goes_only_to_the_gateways_own_service():
    stub = StubAdapter()
    calls = _calls(stub)
    calls.call(_caller("t"), "Pod1", "GET", "/v2.0/ports", service_type="network")
    assert stub.requests[0]["microversion"] is None
    assert calls.calls.pod_clients.service_types == ["network"]


def test_idempotent_calls_retry_a_reset_connection_or_a_proxy_error_and_writes_do_not():
    stub = StubAdapter()
    calls = _calls(stub)
    for method in ("GET", "PUT", "DELETE", "POST"):
        calls.call(_caller("t"), "Pod1", method, "/volumes/v")
    assert [sent["connect_retries"] for sent in stub.requests] == [1, 1, 1, 0]
    assert [sent["status_code_retries"] for sent in stub.requests] == [1, 1, 1, 0]
    assert stub.requests[0]["retriable_status_codes"] == [502, 503, 504]
    calls.call(_caller("t"), "Pod1", "GET", "/volumes/v", timeout=5.0)
    assert stub.requests[-1]["connect_retries"] == stub.requests[-1]["status_code_retries"] == 0


def test_the_callers_global_request_id_is_sent_and_the_pods_own_id_read():
    stub = StubAdapter()
    who = Caller("t", Microversion(3, 60), "project", "user", False, "req-global")
    _calls(stub).call(who, "Pod1", "GET", "/volumes/v")
    assert stub.requests[0]["headers"]["X-OpenStack-Request-ID"] == "req-global"
    answer = PodAnswer(200, None, {"X-Compute-Request-Id": "req-c", "X-OpenStack-Request-ID": "r"})
    assert answer.request_id == "r"
    assert PodAnswer(200, None, {"x-compute-request-id": "req-c"}).request_id == "req-c"
    assert PodAnswer(200, None, {}).request_id is None

"""A volume create whose pod fails: Cinder's faults, and nothing of the request left behind."""

from __future__ import annotations

import logging

from sqlalchemy import select

from tricircle.api.volume import forwarding, routing, types
from tricircle.db.models import ResourceRouting
from tricircle.pods.client import PodServerError, PodUnreachable


def _create(client):
    return client.post("/v3/volumes", json={"volume": {"size": 1, "availability_zone": "az1"}})


def _fault(response, code: int, name: str) -> str:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == [name] and body[name]["code"] == code
    return body[name]["message"]


def _routings(session_factory) -> list[ResourceRouting]:
    with session_factory() as session:
        return list(session.scalars(select(ResourceRouting)).all())


def _failing_on(cinder, method: str, path: str, error: Exception) -> None:
    original = cinder.call

    def call(called_method, called_path, **kwargs):
        if (called_method, called_path.split("/")[1]) == (method, path):
            cinder.calls.append((called_method, called_path, kwargs.get("json"), None))
            raise error
        return original(called_method, called_path, **kwargs)

    cinder.call = call


def test_a_pod_down_during_the_volume_create_is_cinder_503(client, fake_pods, session_factory):
    pod1 = fake_pods.pods["Pod1"]
    _failing_on(pod1, "POST", "volumes", PodUnreachable("Pod1", "volumev3", "connection reset"))
    message = _fault(_create(client), 503, "serviceUnavailable")
    assert "unavailable" in message
    assert pod1.volumes == {} and _routings(session_factory) == []


def test_a_pod_failing_the_volume_create_is_cinder_500(client, fake_pods, session_factory):
    _failing_on(
        fake_pods.pods["Pod1"], "POST", "volumes", PodServerError("Pod1", "volumev3", 500, "x")
    )
    _fault(_create(client), 500, "computeFault")
    assert _routings(session_factory) == []


def test_an_unrecorded_volume_is_deleted_and_a_failing_delete_is_logged(
    client, fake_pods, session_factory, monkeypatch, caplog
):
    pod1 = fake_pods.pods["Pod1"]

    def no_routing(*_args):
        raise PodUnreachable("RegionOne", "database", "gone")

    monkeypatch.setattr(routing, "record", no_routing)
    _fault(_create(client), 503, "serviceUnavailable")
    deletes = [path for method, path, _json, _version in pod1.calls if method == "DELETE"]
    assert len(deletes) == 1 and pod1.volumes == {}
    _failing_on(pod1, "DELETE", "volumes", PodUnreachable("Pod1", "volumev3", "refused"))
    with caplog.at_level(logging.ERROR, logger="tricircle.network.mirror.undo"):
        _fault(_create(client), 503, "serviceUnavailable")
    assert "undo failed region=Pod1 resource_type=volume" in caplog.text
    assert _routings(session_factory) == []


def test_a_pod_down_during_the_type_copy_is_cinder_503_with_nothing_made(
    client, fake_pods, session_factory, monkeypatch
):
    def pod_down(*_args):
        raise PodUnreachable("Pod1", "volumev3", "connection refused")

    monkeypatch.setattr(types, "visible_type", lambda *_args, **_kwargs: object())
    monkeypatch.setattr(types, "ensure_in_pod", pod_down)
    body = {"volume": {"size": 1, "availability_zone": "az1", "volume_type": "gold"}}
    _fault(client.post("/v3/volumes", json=body), 503, "serviceUnavailable")
    pod1 = fake_pods.pods["Pod1"]
    assert not any(method == "POST" for method, *_rest in pod1.calls)
    assert pod1.volumes == {} and _routings(session_factory) == []


def test_a_failing_undo_step_does_not_stop_the_others(
    client, fake_pods, session_factory, monkeypatch, caplog
):
    def show_fails(*_args):
        raise PodUnreachable("RegionOne", "database", "gone")

    def forget_fails(*_args):
        raise RuntimeError("database gone")

    monkeypatch.setattr(forwarding, "top_document", show_fails)
    monkeypatch.setattr(routing, "forget", forget_fails)
    with caplog.at_level(logging.ERROR, logger="tricircle.network.mirror.undo"):
        _fault(_create(client), 503, "serviceUnavailable")
    assert "undo failed region=Pod1 resource_type=volume_routing" in caplog.text
    pod1 = fake_pods.pods["Pod1"]
    volume_calls = [call for call in pod1.calls if not call[1].startswith("/os-quota-sets")]
    assert [method for method, *_rest in volume_calls] == ["POST", "DELETE"]
    assert pod1.volumes == {}

"""A deleted server's pod is kept a bounded time after its routing is forgotten, per project."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tricircle.db import deleted_servers, routings
from tricircle.db.models import DeletedServer
from tricircle.db.routings import ResourceType

SERVER = "77777777-8888-9999-aaaa-bbbbbbbbbbbb"
DAY = 24 * 3600.0
NOW = dt.datetime(2026, 11, 27, 12, 0, 0)


def _route(session_factory, pod_id: str, server_id: str = SERVER) -> None:
    with session_factory.begin() as session:
        routings.route_as_itself(
            session,
            top_id=server_id,
            pod_id=pod_id,
            project_id="demo-project",
            resource_type=ResourceType.SERVER,
        )


def _forget(session_factory, pod_id: str, server_id: str = SERVER, **kwargs) -> None:
    with session_factory.begin() as session:
        deleted_servers.forget_deleted_server(
            session, server_id, pod_id, keep_for=kwargs.pop("keep_for", DAY), **kwargs
        )


def _pod(session_factory, **kwargs):
    with session_factory() as session:
        pod = deleted_servers.deleted_server_pod(session, SERVER, keep_for=DAY, **kwargs)
        return pod.pod_id if pod is not None else None


def test_the_routing_goes_and_the_pod_is_kept_for_its_project(session_factory, pod_id):
    _route(session_factory, pod_id)
    _forget(session_factory, pod_id, now=NOW)
    _forget(session_factory, pod_id, now=NOW)  # the job after the show: nothing more
    with session_factory() as session:
        assert routings.routed_pod(session, SERVER, ResourceType.SERVER) is None
    assert _pod(session_factory, now=NOW + dt.timedelta(hours=1)) == pod_id
    assert _pod(session_factory, project_id="demo-project", now=NOW) == pod_id
    assert _pod(session_factory, project_id="other-project", now=NOW) is None


def test_the_pod_is_forgotten_after_the_retention(session_factory, pod_id):
    _route(session_factory, pod_id)
    _forget(session_factory, pod_id, now=NOW)
    assert _pod(session_factory, now=NOW + dt.timedelta(days=1, seconds=1)) is None
    later = "88888888-9999-aaaa-bbbb-cccccccccccc"
    _route(session_factory, pod_id, later)
    _forget(session_factory, pod_id, later, now=NOW + dt.timedelta(days=2))
    with session_factory() as session:
        kept = session.scalars(select(DeletedServer.server_id)).all()
    assert kept == [later]


def test_no_retention_keeps_nothing(session_factory, pod_id):
    _route(session_factory, pod_id)
    _forget(session_factory, pod_id, keep_for=0)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DeletedServer)) == 0
        assert routings.routed_pod(session, SERVER, ResourceType.SERVER) is None

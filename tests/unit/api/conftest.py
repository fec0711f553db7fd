"""Fixtures of the admin API tests: an app in noauth mode on the ``session_factory`` database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from admin_api_helpers import ADMIN_HEADERS, MEMBER_HEADERS, Caller
from flask import Flask
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle import conf as tricircle_conf
from tricircle.api.admin.app import create_app
from tricircle.db.models import Job, JobStatus, ResourceRouting


@pytest.fixture
def admin_conf(tmp_path) -> Iterator[cfg.ConfigOpts]:
    """A private ConfigOpts with Tricircle's options, noauth, and a policy file path in tmp."""
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    conf.set_override("auth_strategy", "noauth", group="api")
    conf.set_override("policy_file", str(tmp_path / "policy.yaml"), group="api")
    yield conf
    conf.reset()


@pytest.fixture
def app(admin_conf: cfg.ConfigOpts, session_factory: sessionmaker[Session]) -> Flask:
    return create_app(admin_conf, session_factory)


@pytest.fixture
def admin(app: Flask) -> Caller:
    return Caller(app.test_client(), ADMIN_HEADERS)


@pytest.fixture
def member(app: Flask) -> Caller:
    return Caller(app.test_client(), MEMBER_HEADERS)


@pytest.fixture
def make_pod(admin: Caller):
    """Create a pod through the API and return its body."""

    def make(region_name: str, az_name: str = "az1", **extra: str) -> dict[str, str]:
        body = {"pod": {"region_name": region_name, "az_name": az_name, **extra}}
        response = admin.post("/v1.0/pods", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["pod"]

    return make


@pytest.fixture
def add_routings(session_factory: sessionmaker[Session]):
    """Insert routings straight into the database; return their ids."""

    def add(pod_id: str, count: int, resource_type: str = "network", project_id: str = "p1"):
        with session_factory() as session, session.begin():
            rows = [
                ResourceRouting(
                    top_id=f"top-{resource_type}-{project_id}-{index}",
                    bottom_id=f"bottom-{index}",
                    pod_id=pod_id,
                    project_id=project_id,
                    resource_type=resource_type,
                )
                for index in range(count)
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    return add


@pytest.fixture
def set_job_status(session_factory: sessionmaker[Session]):
    """Force a job's status, as a worker would leave it."""

    def set_status(job_id: str, status: JobStatus) -> None:
        with session_factory() as session, session.begin():
            session.get(Job, job_id).status = status

    return set_status

"""Fixtures of the Nova gateway unit tests: the app in noauth mode, pods with set versions."""

from __future__ import annotations

import pytest
from admin_api_helpers import ADMIN_HEADERS, MEMBER_HEADERS, Caller
from flask import Flask
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api.compute.app import create_app
from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.db.models import Pod
from tricircle.pods.client import PodClients
from tricircle.pods.versions import PodVersions


class FixedPodVersions(PodVersions):
    """Pod maximums set by the test instead of discovered."""

    def __init__(self, maximums: dict[str, Microversion | None]) -> None:
        self.maximums = maximums

    def maximum(self, region_name: str, service_type: str) -> Microversion | None:
        return self.maximums.get(region_name)

    def reachable(self, region_name: str, service_type: str) -> bool:
        return self.maximums.get(region_name) is not None


@pytest.fixture
def pod_versions() -> FixedPodVersions:
    return FixedPodVersions({"Pod1": Microversion(2, 104), "Pod2": Microversion(2, 96)})


@pytest.fixture
def pods(session_factory: sessionmaker[Session]) -> dict[str, Pod]:
    """The top pod and Pod1/Pod2 in az1/az2 (pod AZs pod1-az/pod2-az)."""
    with session_factory.begin() as session:
        made = {
            "RegionOne": Pod(region_name="RegionOne", az_name=""),
            "Pod1": Pod(region_name="Pod1", az_name="az1", pod_az_name="pod1-az"),
            "Pod2": Pod(region_name="Pod2", az_name="az2", pod_az_name="pod2-az"),
        }
        session.add_all(made.values())
    return made


@pytest.fixture
def compute_app(
    admin_conf: cfg.ConfigOpts,
    session_factory: sessionmaker[Session],
    pod_versions: FixedPodVersions,
    pods: dict[str, Pod],
) -> Flask:
    pod_clients = PodClients(None, connect_timeout=1, read_timeout=1)  # type: ignore[arg-type]
    return create_app(admin_conf, Overrides(session_factory, pod_clients, pod_versions))


@pytest.fixture
def compute_admin(compute_app: Flask) -> Caller:
    return Caller(compute_app.test_client(), ADMIN_HEADERS)


@pytest.fixture
def compute_member(compute_app: Flask) -> Caller:
    return Caller(compute_app.test_client(), MEMBER_HEADERS)

"""Fixtures of the Cinder gateway tests: the app in noauth mode over two fake pods."""

from __future__ import annotations

import pytest
from fake_pods import FakeCinder, FakeVolumePods
from flask import Flask
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api.gateway import Overrides
from tricircle.api.microversions import Microversion
from tricircle.api.volume.app import create_app
from tricircle.db.models import Pod


@pytest.fixture
def fake_pods(session_factory: sessionmaker[Session]) -> FakeVolumePods:
    """Pod1 (az1, max 3.71) and Pod2 (az2, max 3.70) registered; RegionOne as the top pod."""
    with session_factory.begin() as session:
        session.add(Pod(region_name="RegionOne", az_name="", pod_az_name=""))
        session.add(Pod(region_name="Pod1", az_name="az1", pod_az_name="nova-az1"))
        session.add(Pod(region_name="Pod2", az_name="az2", pod_az_name="nova-az2"))
    return FakeVolumePods(
        {
            "Pod1": FakeCinder("Pod1", Microversion(3, 71)),
            "Pod2": FakeCinder("Pod2", Microversion(3, 70)),
        }
    )


@pytest.fixture
def volume_app(
    admin_conf: cfg.ConfigOpts, session_factory: sessionmaker[Session], fake_pods: FakeVolumePods
) -> Flask:
    return create_app(admin_conf, Overrides(session_factory, fake_pods, fake_pods))


@pytest.fixture
def client(volume_app: Flask):
    """A demo member's client (noauth identity headers)."""
    test_client = volume_app.test_client()
    test_client.environ_base.update(
        {
            "HTTP_X_PROJECT_ID": "demo-project",
            "HTTP_X_USER_ID": "demo-user",
            "HTTP_X_ROLES": "member",
        }
    )
    return test_client

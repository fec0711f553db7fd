"""Fixtures shared by the network unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_neutron import CIDRS, PROJECT, FakeClients
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import migrations
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.db.models import Pod
from tricircle.network.l3 import RouterL3
from tricircle.network.mirror import BottomMirror


@pytest.fixture
def sessions(tmp_path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite database of this test."""
    engine = make_engine(f"sqlite:///{tmp_path / 'tricircle.sqlite'}")
    migrations.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients("RegionOne", "Pod1", "Pod2")


@pytest.fixture
def l3(sessions: sessionmaker[Session], clients: FakeClients) -> RouterL3:
    with sessions.begin() as session:
        for region, az in (("RegionOne", ""), ("Pod1", "az1"), ("Pod2", "az2")):
            session.add(Pod(region_name=region, az_name=az, pod_az_name=az))
    mirror = BottomMirror(sessions, clients, "RegionOne")  # type: ignore[arg-type]
    return RouterL3(mirror, "100.0.0.0/9")


@pytest.fixture
def router(l3: RouterL3, clients: FakeClients, sessions: sessionmaker[Session]) -> dict:
    """A top router with one interface per pod's network; each network has a port in its pod."""
    top = clients.neutrons["RegionOne"]
    router = top.post("/v2.0/routers", json={"router": {"project_id": PROJECT}})["router"]
    for region, cidr in CIDRS.items():
        network = top.post("/v2.0/networks", json={"network": {"project_id": PROJECT}})["network"]
        subnet = top.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": cidr, "project_id": PROJECT}},
        )["subnet"]
        with sessions() as session:
            pod = session.query(Pod).filter_by(region_name=region).one()
        l3.mirror.prepare_server_port(pod, PROJECT, {"uuid": network["id"]})
        top.post(
            "/v2.0/ports",
            json={
                "port": {
                    "network_id": network["id"],
                    "project_id": PROJECT,
                    "device_owner": "network:router_interface",
                    "device_id": router["id"],
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}],
                }
            },
        )
    return router

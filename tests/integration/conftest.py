"""Fixtures over the local lab of real OpenStack services.

The lab is brought up once per test session (reused if it already runs) in ``$TRICIRCLE_LAB_DIR``
(default ``.lab``) and taken down at the end only if this session started it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cross_pod_helpers import lab_mirror
from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3

from tricircle.lab import lab as lab_control
from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, TOP_REGION, LabLayout
from tricircle.network.mirror import BottomMirror

pytestmark = pytest.mark.integration


def _password_session(layout: LabLayout, user: str, project: str) -> session.Session:
    auth = v3.Password(
        auth_url=layout.keystone_url,
        username=user,
        password=PASSWORD,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth, timeout=60)


@pytest.fixture(scope="session")
def lab() -> Iterator[LabLayout]:
    """The running lab (two pods), started for this session if needed.

    TRICIRCLE_LAB_PODS=1 (development only, ignored in CI) brings up one pod instead of two.
    TRICIRCLE_LAB_NETWORK_ONLY=1 (development only) brings up a lab without Nova and Placement;
    tests that need them then skip through the ``compute_lab`` fixture.
    """
    root = Path(os.environ.get("TRICIRCLE_LAB_DIR", ".lab")).resolve()
    base_port = int(os.environ.get("TRICIRCLE_LAB_BASE_PORT", "18000"))
    compute = os.environ.get("TRICIRCLE_LAB_NETWORK_ONLY") != "1" or os.environ.get("CI") == "true"
    pods = 2 if os.environ.get("CI") == "true" else int(os.environ.get("TRICIRCLE_LAB_PODS", "2"))
    layout = LabLayout(root=root, pods=pods, base_port=base_port, compute=compute)
    started = lab_control.up(layout)
    yield layout
    if started and os.environ.get("TRICIRCLE_KEEP_LAB") != "1":
        lab_control.down(layout)


@pytest.fixture(scope="session")
def compute_lab(lab: LabLayout) -> LabLayout:
    """The lab, if it runs each pod's Nova; skips the test on a network-only lab."""
    if not lab.compute:
        pytest.skip("network-only lab (TRICIRCLE_LAB_NETWORK_ONLY=1): no Nova in the pods")
    return lab


@pytest.fixture(scope="session")
def admin_session(lab: LabLayout) -> session.Session:
    """The cloud admin, project ``admin``."""
    return _password_session(lab, "admin", "admin")


@pytest.fixture(scope="session")
def demo_session(lab: LabLayout) -> session.Session:
    """The demo member, project ``demo``."""
    return _password_session(lab, DEMO_USER, DEMO_PROJECT)


@pytest.fixture(scope="session")
def pod_api(admin_session: session.Session) -> Callable[[str, str], adapter.Adapter]:
    """``pod_api(region, service_type)``: the admin's adapter to one pod's service."""

    def make(region: str, service_type: str) -> adapter.Adapter:
        return adapter.Adapter(
            admin_session, service_type=service_type, region_name=region, interface="public"
        )

    return make


def _wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def wait_until() -> Callable[[Callable[[], object], float, str], object]:
    """``wait_until(predicate, timeout, what)``: poll with a deadline, never a bare sleep."""
    return _wait_until


@pytest.fixture(scope="module")
def mirror(lab: LabLayout) -> Iterator[BottomMirror]:
    """The mirroring library over the lab, as Tricircle's processes build it."""
    mirror = lab_mirror(lab)
    yield mirror
    mirror.session_factory.kw["bind"].dispose()  # give the shared PostgreSQL its connections back


@pytest.fixture
def project(compute_lab: LabLayout, admin_session: session.Session) -> Iterator[dict[str, str]]:
    """A fresh project with the demo user as member; gone with its quotas at teardown."""
    identity = adapter.Adapter(admin_session, service_type="identity", interface="public")
    name = f"test-{uuid.uuid4().hex[:8]}"
    made = identity.post("/projects", json={"project": {"name": name, "domain_id": "default"}})
    project_id = made.json()["project"]["id"]
    user_id = identity.get("/users", params={"name": DEMO_USER}).json()["users"][0]["id"]
    role_id = identity.get("/roles", params={"name": "member"}).json()["roles"][0]["id"]
    identity.put(f"/projects/{project_id}/users/{user_id}/roles/{role_id}")
    try:
        yield {"id": project_id, "name": name}
    finally:
        for service_type in ("compute", "volumev3"):
            adapter.Adapter(
                admin_session, service_type=service_type, region_name=TOP_REGION, interface="public"
            ).delete(f"/os-quota-sets/{project_id}", raise_exc=False)
        identity.delete(f"/projects/{project_id}", raise_exc=False)

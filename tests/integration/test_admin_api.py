"""The admin API in the lab, behind Keystone: admins manage pods, members get 403, no token 401."""

from __future__ import annotations

import uuid

import pytest
from keystoneauth1 import session

pytestmark = pytest.mark.integration


def api_url(lab, path: str) -> str:
    """``path`` under the lab's admin API ``/v1.0``."""
    base = lab.admin_api_url.rstrip("/")
    if not base.endswith("/v1.0"):
        base += "/v1.0"
    return f"{base}/{path}"


def keystone_url(lab, path: str) -> str:
    """``path`` under the lab's Keystone ``/v3``."""
    return f"{lab.keystone_url.rstrip('/')}/{path}"


def test_admin_creates_lists_and_deletes_a_pod(lab, admin_session):
    region = f"ItestPod-{uuid.uuid4().hex[:8]}"
    admin_session.post(keystone_url(lab, "regions"), json={"region": {"id": region}})
    body = {"pod": {"region_name": region, "az_name": f"itest-az-{region}", "dc_name": "itest"}}
    try:
        created = admin_session.post(api_url(lab, "pods"), json=body, raise_exc=False)
        assert created.status_code == 201, created.text
        pod = created.json()["pod"]
        _check_and_delete(lab, admin_session, pod, region)
    finally:
        admin_session.delete(keystone_url(lab, f"regions/{region}"), raise_exc=False)


def test_a_region_keystone_does_not_know_is_refused(lab, admin_session):
    body = {"pod": {"region_name": f"NoSuchRegion-{uuid.uuid4().hex[:8]}", "az_name": "itest"}}
    created = admin_session.post(api_url(lab, "pods"), json=body, raise_exc=False)
    assert created.status_code == 400, created.text
    assert "region" in created.json()["badRequest"]["message"]


def _check_and_delete(lab, admin_session, pod: dict, region: str) -> None:
    try:
        assert pod["region_name"] == region
        listed = admin_session.get(api_url(lab, "pods")).json()["pods"]
        assert pod in listed, f"pod {pod['pod_id']} ({region}) missing from {listed}"
        shown = admin_session.get(api_url(lab, f"pods/{pod['pod_id']}")).json()
        assert shown == {"pod": pod}
    finally:
        deleted = admin_session.delete(api_url(lab, f"pods/{pod['pod_id']}"), raise_exc=False)
    assert deleted.status_code == 204, deleted.text
    gone = admin_session.get(api_url(lab, f"pods/{pod['pod_id']}"), raise_exc=False)
    assert gone.status_code == 404, gone.text
    assert gone.json()["itemNotFound"]["code"] == 404


def test_member_is_forbidden(lab, demo_session):
    listed = demo_session.get(api_url(lab, "pods"), raise_exc=False)
    assert listed.status_code == 403, listed.text
    assert "forbidden" in listed.json()
    body = {"pod": {"region_name": f"ItestDenied-{uuid.uuid4().hex[:8]}", "az_name": "itest"}}
    created = demo_session.post(api_url(lab, "pods"), json=body, raise_exc=False)
    assert created.status_code == 403, created.text


def test_request_without_token_is_unauthorized(lab):
    response = session.Session().get(api_url(lab, "pods"), raise_exc=False, timeout=10)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")

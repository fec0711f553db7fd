"""The Cinder operator's views through RegionOne over both pods, checked against each pod's own
API: services and pools merged, a service disabled in its pod only, a group and a volume in it
in az1, a volume transferred between projects, volume type access, and non-admins refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3

from tricircle.lab import backends
from tricircle.lab.layout import DEMO_USER, PASSWORD, TOP_REGION, LabLayout

pytestmark = pytest.mark.integration

MICROVERSION = "3.55"
Api = Callable[..., adapter.Adapter]


def _volume_api(user_session: session.Session, region: str = TOP_REGION) -> adapter.Adapter:
    return adapter.Adapter(
        user_session,
        service_type="volumev3",
        region_name=region,
        interface="public",
        default_microversion=MICROVERSION,
    )


@pytest.fixture(scope="module")
def top_admin(admin_session: session.Session) -> adapter.Adapter:
    """The admin's Cinder in RegionOne (3.55)."""
    return _volume_api(admin_session)


@pytest.fixture(scope="module")
def top_demo(demo_session: session.Session) -> adapter.Adapter:
    """The demo member's Cinder in RegionOne (3.55)."""
    return _volume_api(demo_session)


@pytest.fixture(scope="module")
def pod_admin(admin_session: session.Session) -> Callable[[str], adapter.Adapter]:
    """``pod_admin(region)``: the admin's Cinder in one pod, directly (3.55)."""
    return lambda region: _volume_api(admin_session, region)


def _pods(lab: LabLayout) -> list:
    if lab.pods < 2:
        pytest.skip("these views are checked over two pods")
    return lab.pod_layouts[:2]


def _wait_status(api: adapter.Adapter, path: str, key: str, wait_until, status: str) -> dict:
    def reached() -> dict | None:
        record = api.get(path).json()[key]
        if record["status"] == "error":
            pytest.fail(f"{key} {path} went to error")
        return record if record["status"] == status else None

    return wait_until(reached, 90, f"{key} {path} {status}")


def _services(api: adapter.Adapter) -> list[dict]:
    return api.get("/os-services").json()["services"]


def test_services_and_pools_of_both_pods(compute_lab, top_admin, pod_admin):
    pods = _pods(compute_lab)
    merged = {(s["host"], s["binary"]) for s in _services(top_admin)}
    pools = {p["name"] for p in top_admin.get("/scheduler-stats/get_pools").json()["pools"]}
    for pod in pods:
        own = {(s["host"], s["binary"]) for s in _services(pod_admin(pod.region))}
        assert own and own <= merged, f"services of {pod.region} missing: {own - merged}"
        assert "cinder-volume" in {binary for _, binary in own}, f"no cinder-volume in {pod.region}"
        own_pools = {
            p["name"]
            for p in pod_admin(pod.region).get("/scheduler-stats/get_pools").json()["pools"]
        }
        assert own_pools and own_pools <= pools, f"pools of {pod.region} missing"
    by_host = top_admin.get("/os-services", params={"binary": "cinder-volume"}).json()["services"]
    assert {s["binary"] for s in by_host} == {"cinder-volume"}
    hosts = {h["host_name"] for h in top_admin.get("/os-hosts").json()["hosts"]}
    assert all(any(h.startswith(f"{pod.name}-") for h in hosts) for pod in pods), hosts


def test_volume_service_disabled_in_its_pod_only(compute_lab, top_admin, pod_admin):
    """Disabled through RegionOne, the scheduler service of one pod only.

    The scheduler, not the volume service: Cinder 29's ``os-services/enable`` answers "enabled"
    without clearing the flag, so a disabled volume service would stay disabled and refuse every
    later volume in the pod; the lab restores the flag in the pod's own database.
    """
    first, second = _pods(compute_lab)
    binary = "cinder-scheduler"
    service = next(s for s in _services(pod_admin(first.region)) if s["binary"] == binary)
    change = {"host": service["host"], "binary": binary}
    try:
        answer = top_admin.put(
            "/os-services/disable-log-reason", json={**change, "disabled_reason": "tricircle test"}
        )
        assert answer.json()["status"] == "disabled"
        in_first = _services(pod_admin(first.region))
        assert next(s for s in in_first if s["host"] == service["host"])["status"] == "disabled"
        in_second = _services(pod_admin(second.region))
        assert all(s["status"] == "enabled" for s in in_second if s["binary"] == binary), (
            f"a {binary} of {second.region} was disabled: {in_second}"
        )
        enabled = top_admin.put("/os-services/enable", json=change).json()
        assert (enabled["host"], enabled["status"]) == (service["host"], "enabled")
    finally:
        backends.enable_cinder_service(first.cinder_database, service["host"], binary)


def test_group_with_a_volume_in_az1(compute_lab, top_admin, top_demo, pod_admin, wait_until):
    first = _pods(compute_lab)[0]
    suffix = uuid.uuid4().hex[:8]
    volume_type = top_admin.post("/types", json={"volume_type": {"name": f"grp-{suffix}"}}).json()[
        "volume_type"
    ]
    group_type = top_admin.post(
        "/group_types", json={"group_type": {"name": f"grp-{suffix}"}}
    ).json()["group_type"]
    group_id = None
    try:
        body = {
            "group": {
                "name": f"group-{suffix}",
                "group_type": group_type["id"],
                "volume_types": [volume_type["id"]],
                "availability_zone": first.az,
            }
        }
        group_id = top_demo.post("/groups", json=body).json()["group"]["id"]
        group = _wait_status(top_demo, f"/groups/{group_id}", "group", wait_until, "available")
        assert group["volume_types"] == [volume_type["id"]]
        assert group["group_type"] == group_type["id"]
        in_pod = pod_admin(first.region).get(f"/groups/{group_id}").json()["group"]
        assert in_pod["availability_zone"] == first.az, f"group {group_id} in {first.region}"
        volume = top_demo.post(
            "/volumes",
            json={"volume": {"size": 1, "volume_type": volume_type["id"], "group_id": group_id}},
        ).json()["volume"]
        _wait_status(top_demo, f"/volumes/{volume['id']}", "volume", wait_until, "available")
        in_pod = pod_admin(first.region).get(f"/volumes/{volume['id']}").json()["volume"]
        assert in_pod["group_id"] == group_id, f"volume {volume['id']} in {first.region}"
        assert group_id in {g["id"] for g in top_demo.get("/groups/detail").json()["groups"]}
    finally:
        if group_id is not None:
            top_demo.post(
                f"/groups/{group_id}/action",
                json={"delete": {"delete-volumes": True}},
                raise_exc=False,
            )
            wait_until(
                lambda: top_demo.get(f"/groups/{group_id}", raise_exc=False).status_code == 404,
                90,
                f"group {group_id} deleted in {first.region}",
            )
        top_admin.delete(f"/group_types/{group_type['id']}", raise_exc=False)
        top_admin.delete(f"/types/{volume_type['id']}", raise_exc=False)


def _session_in(lab: LabLayout, project_name: str) -> session.Session:
    auth = v3.Password(
        auth_url=lab.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=project_name,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth, timeout=60)


def test_transfer_between_projects(compute_lab, project, top_demo, pod_admin, wait_until):
    first = _pods(compute_lab)[0]
    receiver = _volume_api(_session_in(compute_lab, project["name"]))
    volume = top_demo.post(
        "/volumes", json={"volume": {"size": 1, "availability_zone": first.az}}
    ).json()["volume"]
    owner = top_demo
    try:
        _wait_status(top_demo, f"/volumes/{volume['id']}", "volume", wait_until, "available")
        transfer = top_demo.post(
            "/volume-transfers", json={"transfer": {"volume_id": volume["id"], "name": "t"}}
        ).json()["transfer"]
        listed = top_demo.get("/volume-transfers").json()["transfers"]
        assert transfer["id"] in {t["id"] for t in listed}
        receiver.post(
            f"/volume-transfers/{transfer['id']}/accept",
            json={"accept": {"auth_key": transfer["auth_key"]}},
        )
        owner = receiver
        in_pod = pod_admin(first.region).get(f"/volumes/{volume['id']}").json()["volume"]
        tenant = in_pod["os-vol-tenant-attr:tenant_id"]
        assert tenant == project["id"], f"volume {volume['id']} in {first.region} still {tenant}'s"
        assert receiver.get(f"/volumes/{volume['id']}").json()["volume"]["id"] == volume["id"]
        assert volume["id"] in {v["id"] for v in receiver.get("/volumes").json()["volumes"]}
        assert volume["id"] not in {v["id"] for v in top_demo.get("/volumes").json()["volumes"]}
    finally:
        owner.delete(f"/volumes/{volume['id']}", raise_exc=False)
        wait_until(
            lambda: (
                pod_admin(first.region).get(f"/volumes/{volume['id']}", raise_exc=False).status_code
                == 404
            ),
            90,
            f"volume {volume['id']} deleted in {first.region}",
        )


def test_private_type_access(compute_lab, top_admin, top_demo, pod_admin, demo_session, wait_until):
    second = _pods(compute_lab)[1]
    demo_project = demo_session.get_project_id()
    body = {"volume_type": {"name": f"private-{uuid.uuid4().hex[:8]}", "is_public": False}}
    volume_type = top_admin.post("/types", json=body).json()["volume_type"]
    volume_id = None
    try:
        assert top_demo.get(f"/types/{volume_type['id']}", raise_exc=False).status_code == 404
        top_admin.post(
            f"/types/{volume_type['id']}/action",
            json={"addProjectAccess": {"project": demo_project}},
        )
        access = top_admin.get(f"/types/{volume_type['id']}/os-volume-type-access").json()
        assert [a["project_id"] for a in access["volume_type_access"]] == [demo_project]
        assert top_demo.get(f"/types/{volume_type['id']}").status_code == 200
        volume_id = top_demo.post(
            "/volumes",
            json={
                "volume": {
                    "size": 1,
                    "volume_type": volume_type["name"],
                    "availability_zone": second.az,
                }
            },
        ).json()["volume"]["id"]
        _wait_status(top_demo, f"/volumes/{volume_id}", "volume", wait_until, "available")
        copies = pod_admin(second.region).get("/types", params={"is_public": "None"}).json()
        copy = next(t for t in copies["volume_types"] if t["name"] == volume_type["name"])
        in_pod = pod_admin(second.region).get(f"/types/{copy['id']}/os-volume-type-access").json()
        assert [a["project_id"] for a in in_pod["volume_type_access"]] == [demo_project], (
            f"type copy {copy['id']} in {second.region}"
        )
        top_admin.post(
            f"/types/{volume_type['id']}/action",
            json={"removeProjectAccess": {"project": demo_project}},
        )
        assert top_demo.get(f"/types/{volume_type['id']}", raise_exc=False).status_code == 404
    finally:
        if volume_id is not None:
            top_demo.delete(f"/volumes/{volume_id}", raise_exc=False)
            wait_until(
                lambda: top_demo.get(f"/volumes/{volume_id}", raise_exc=False).status_code == 404,
                90,
                f"volume {volume_id} deleted in {second.region}",
            )
        top_admin.delete(f"/types/{volume_type['id']}", raise_exc=False)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/os-services"),
        ("GET", "/os-hosts"),
        ("GET", "/scheduler-stats/get_pools"),
        ("GET", "/os-quota-class-sets/default"),
        ("GET", "/qos-specs"),
        ("POST", "/group_types"),
    ],
)
def test_non_admin_is_refused(compute_lab, top_demo, method, path):
    body = {"group_type": {"name": "nope"}} if method == "POST" else None
    answer = top_demo.request(path, method, json=body, raise_exc=False)
    assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text}"
    assert answer.json()["forbidden"]["code"] == 403

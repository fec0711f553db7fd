"""Quotas on a project's total over every pod, set once on RegionOne, through stock clients.

Every test works in a project of its own (made here, the demo user its member), so no quota
leaks into other modules: its limits are deleted, its servers and volumes removed and the
project deleted at teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openstack
import pytest
from compute_gateway_helpers import FLAVOR_ID, boot, delete_all, fault, image_id, pod_servers
from cross_pod_helpers import lab_mirror, lab_pod
from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3
from sqlalchemy import delete

from tricircle.db.models import ResourceRouting
from tricircle.lab.layout import DEMO_USER, PASSWORD, TOP_REGION, LabLayout

pytestmark = pytest.mark.integration

OPENSTACK = str(Path(sys.executable).parent / "openstack")
PODS = ("Pod1", "Pod2")
# ``"networks": "none"`` is accepted from 2.37.
NETWORKS_NONE_MICROVERSION = {"OpenStack-API-Version": "compute 2.37"}


def _top(user_session: session.Session, service_type: str) -> adapter.Adapter:
    return adapter.Adapter(
        user_session, service_type=service_type, region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def member(
    compute_lab: LabLayout, project: dict[str, str]
) -> Iterator[openstack.connection.Connection]:
    """openstacksdk as the demo user in the test's project, on RegionOne only; its servers and
    volumes deleted at teardown."""
    cloud = openstack.connect(
        auth_url=compute_lab.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=project["name"],
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=TOP_REGION,
    )
    try:
        yield cloud
    finally:
        delete_all(cloud, list(cloud.compute.servers()))
        for volume in cloud.block_storage.volumes():
            if volume.status == "creating":  # Cinder refuses to delete it until it is made
                cloud.block_storage.wait_for_status(volume, "available", ["error"], wait=120)
            cloud.block_storage.delete_volume(volume, ignore_missing=True)
        for volume in cloud.block_storage.volumes():
            cloud.block_storage.wait_for_delete(volume, wait=120)


@pytest.fixture
def cli(compute_lab: LabLayout) -> Callable[..., object]:
    """``openstack <args>`` as the cloud admin on RegionOne; its JSON output when ``output``."""
    env = {**os.environ, **compute_lab.admin_auth()}

    def run(*args: str, output: bool = True) -> object:
        formatting = ["-f", "json"] if output else []
        done = subprocess.run(
            [OPENSTACK, *args, *formatting], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


def _servers_in_pods(pod_api, project_id: str) -> dict[str, int]:
    return {region: len(pod_servers(pod_api, region, project_id=project_id)) for region in PODS}


def _member_session(lab: LabLayout, project_name: str) -> session.Session:
    auth = v3.Password(
        auth_url=lab.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=project_name,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth, timeout=120)


def test_quota_set_show_and_delete_through_the_cli(cli, project):
    cli(
        "quota",
        "set",
        "--instances",
        "5",
        "--cores",
        "10",
        "--volumes",
        "4",
        "--gigabytes",
        "40",
        project["id"],
        output=False,
    )
    shown = cli("quota", "show", project["id"])
    values = {row["Resource"]: row["Limit"] for row in shown} if isinstance(shown, list) else shown
    assert values["instances"] == 5 and values["cores"] == 10
    assert values["volumes"] == 4 and values["gigabytes"] == 40
    cli("quota", "delete", project["id"], output=False)
    shown = cli("quota", "show", project["id"])
    values = {row["Resource"]: row["Limit"] for row in shown} if isinstance(shown, list) else shown
    defaults = cli("quota", "show", "--default", project["id"])
    if isinstance(defaults, list):
        defaults = {row["Resource"]: row["Limit"] for row in defaults}
    assert (values["instances"], values["volumes"]) == (defaults["instances"], defaults["volumes"])
    assert (values["instances"], values["volumes"]) != (5, 4)


def test_boots_over_the_limit_are_nova_403_and_nothing_is_made(
    compute_lab, admin_session, project, member, pod_api
):
    _top(admin_session, "compute").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 2}}
    )
    boot(member, "gw-quota-1", "az1")
    boot(member, "gw-quota-2", "az2")
    before = _servers_in_pods(pod_api, project["id"])
    assert before == {"Pod1": 1, "Pod2": 1}
    refused = _top(_member_session(compute_lab, project["name"]), "compute").post(
        "/servers",
        json={
            "server": {
                "name": "gw-quota-3",
                "imageRef": image_id(member),
                "flavorRef": FLAVOR_ID,
                "networks": "none",
                "availability_zone": "az1",
            }
        },
        headers=NETWORKS_NONE_MICROVERSION,
        raise_exc=False,
    )
    message = fault(refused, 403, "forbidden")
    assert message == "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    assert _servers_in_pods(pod_api, project["id"]) == before


def test_ten_concurrent_boots_against_five_leave_exactly_five(
    compute_lab, admin_session, project, member, pod_api
):
    _top(admin_session, "compute").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 5}}
    )
    image = image_id(member)
    gateway = _top(_member_session(compute_lab, project["name"]), "compute")

    def create(index: int) -> int:
        body = {
            "server": {
                "name": f"gw-quota-race-{index}",
                "imageRef": image,
                "flavorRef": FLAVOR_ID,
                "networks": "none",
                "availability_zone": f"az{1 + index % 2}",
            }
        }
        answer = gateway.post(
            "/servers", json=body, headers=NETWORKS_NONE_MICROVERSION, raise_exc=False
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(create, range(10)))
    assert statuses == [202] * 5 + [403] * 5, statuses
    assert sum(_servers_in_pods(pod_api, project["id"]).values()) == 5


def test_volumes_over_quota_are_cinder_413(compute_lab, admin_session, project, member, pod_api):
    _top(admin_session, "volumev3").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"volumes": 2, "gigabytes": 3}}
    )
    member.block_storage.create_volume(size=1, availability_zone="az1")
    member.block_storage.create_volume(size=1, availability_zone="az2")
    volumes = _top(_member_session(compute_lab, project["name"]), "volumev3")
    refused = volumes.post(
        "/volumes", json={"volume": {"size": 1, "availability_zone": "az1"}}, raise_exc=False
    )
    assert refused.status_code == 413, refused.text
    assert "VolumeLimitExceeded" in refused.json()["overLimit"]["message"]
    _top(admin_session, "volumev3").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"volumes": 5}}
    )
    refused = volumes.post(
        "/volumes", json={"volume": {"size": 2, "availability_zone": "az2"}}, raise_exc=False
    )
    assert refused.status_code == 413, refused.text
    assert "VolumeSizeExceedsAvailableQuota" in refused.json()["overLimit"]["message"]
    in_pods = 0
    for region in PODS:
        listed = pod_api(region, "volumev3").get(
            "/volumes", params={"all_tenants": 1, "project_id": project["id"]}
        )
        in_pods += len(listed.json()["volumes"])
    assert in_pods == 2


def test_limits_show_top_limits_and_summed_usage(compute_lab, admin_session, project, member):
    _top(admin_session, "compute").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 5}}
    )
    boot(member, "gw-quota-a", "az1")
    boot(member, "gw-quota-b", "az2")
    absolute = member.compute.get_limits().absolute
    assert absolute.instances == 5 and absolute.instances_used == 2
    detail = _top(admin_session, "compute").get(f"/os-quota-sets/{project['id']}/detail")
    assert detail.json()["quota_set"]["instances"]["in_use"] == 2


@pytest.mark.parametrize(
    ("service_type", "body", "status"),
    [
        ("compute", {"instances": -2}, 400),
        ("compute", {"instances": "x"}, 400),
        ("compute", {"bogus": 1}, 400),
        ("volumev3", {"volumes": -2}, 400),
        ("volumev3", {"bogus": 1}, 400),
    ],
)
def test_bad_quota_input_is_400(admin_session, project, service_type, body, status):
    answer = _top(admin_session, service_type).put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": body}, raise_exc=False
    )
    assert answer.status_code == status, answer.text
    assert list(answer.json()) == ["badRequest"]


def test_a_limit_below_usage_is_400_unless_forced(admin_session, project, member):
    boot(member, "gw-quota-u1", "az1", wait=False)
    boot(member, "gw-quota-u2", "az2", wait=False)
    compute = _top(admin_session, "compute")
    answer = compute.put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 1}}, raise_exc=False
    )
    assert "must be greater than or equal to already used and reserved 2" in fault(
        answer, 400, "badRequest"
    )
    forced = compute.put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 1, "force": True}}
    )
    assert forced.json()["quota_set"]["instances"] == 1


def test_members_may_not_set_quotas(compute_lab, project):
    member_session = _member_session(compute_lab, project["name"])
    answer = _top(member_session, "compute").put(
        f"/os-quota-sets/{project['id']}", json={"quota_set": {"instances": 50}}, raise_exc=False
    )
    assert answer.status_code == 403


def test_a_routing_in_the_top_region_leaves_usage_counted_in_the_pods_alone(
    compute_lab, admin_session, project, member
):
    """A project whose router spans pods has its bridge network routed in the top region. Usage
    is still counted in the pods alone: once the Cinder gateway asked RegionOne, i.e. itself,
    and answered 503 after 10 s; the Nova gateway counted each server twice."""
    sessions = lab_mirror(compute_lab).session_factory
    top = lab_pod(sessions, TOP_REGION)
    with sessions.begin() as session:
        session.add(
            ResourceRouting(
                top_id=f"test-bridge-{project['id']}",
                bottom_id=str(uuid.uuid4()),
                pod_id=top.pod_id,
                project_id=project["id"],
                resource_type="bridge_network",
            )
        )
    try:
        member.block_storage.create_volume(size=1, availability_zone="az1")
        boot(member, "gw-quota-top", "az1")
        volumes = _top(admin_session, "volumev3").get(
            f"/os-quota-sets/{project['id']}", params={"usage": "true"}, timeout=5
        )
        assert volumes.json()["quota_set"]["volumes"]["in_use"] == 1
        servers = _top(admin_session, "compute").get(
            f"/os-quota-sets/{project['id']}/detail", timeout=5
        )
        assert servers.json()["quota_set"]["instances"]["in_use"] == 1
    finally:
        with sessions.begin() as session:
            session.execute(
                delete(ResourceRouting).where(
                    ResourceRouting.top_id == f"test-bridge-{project['id']}"
                )
            )

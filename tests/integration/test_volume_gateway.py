"""The Cinder gateway in RegionOne through stock clients, checked against the pods' own APIs."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import openstack
import pytest
from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exceptions

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, TOP_REGION, LabLayout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_cloud(compute_lab: LabLayout) -> openstack.connection.Connection:
    """openstacksdk as the demo member, pointed at RegionOne only."""
    return openstack.connect(
        auth_url=compute_lab.keystone_url,
        username=DEMO_USER,
        password=PASSWORD,
        project_name=DEMO_PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=TOP_REGION,
    )


@pytest.fixture(scope="module")
def demo_volume_api(demo_session) -> Callable[[str], adapter.Adapter]:
    """``demo_volume_api(region)``: the demo member's raw volumev3 adapter in one region."""
    return lambda region: adapter.Adapter(
        demo_session, service_type="volumev3", region_name=region, interface="public"
    )


def _pod_volumes(lab: LabLayout, demo_volume_api) -> dict[str, dict]:
    """Every volume of the demo project, read from each pod directly: id -> (region, record)."""
    found = {}
    for pod in lab.pod_layouts:
        records = demo_volume_api(pod.region).get("/volumes/detail").json()["volumes"]
        found.update({record["id"]: {**record, "region": pod.region} for record in records})
    return found


@pytest.mark.parametrize("index", [1, 2], ids=["az1", "az2"])
def test_volume_lifecycle_in_each_az(compute_lab, demo_cloud, demo_volume_api, wait_until, index):
    if index > compute_lab.pods:
        pytest.skip(f"the lab runs {compute_lab.pods} pod(s)")
    pod = compute_lab.pod_layouts[index - 1]
    block_storage = demo_cloud.block_storage
    volume = block_storage.create_volume(
        size=1, name=f"life-{uuid.uuid4().hex[:6]}", availability_zone=pod.az
    )
    try:
        volume = block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        assert volume.availability_zone == pod.az
        in_pod = demo_volume_api(pod.region).get(f"/volumes/{volume.id}").json()["volume"]
        assert (in_pod["status"], in_pod["availability_zone"]) == ("available", pod.az)
        block_storage.update_volume(volume, name="renamed", description="through RegionOne")
        block_storage.set_volume_metadata(volume, purpose="test")
        block_storage.set_volume_bootable_status(volume, True)
        block_storage.extend_volume(volume, 2)
        wait_until(
            lambda: block_storage.get_volume(volume.id).size == 2,
            60,
            f"volume {volume.id} extended to 2 GiB in {pod.region}",
        )
        volume = block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        in_pod = demo_volume_api(pod.region).get(f"/volumes/{volume.id}").json()["volume"]
        assert in_pod["name"] == "renamed"
        assert in_pod["size"] == 2
        assert in_pod["bootable"] == "true"
        assert in_pod["metadata"] == {"purpose": "test"}
        assert volume.id in {v.id for v in block_storage.volumes()}
    finally:
        block_storage.delete_volume(volume, ignore_missing=True)
    block_storage.wait_for_delete(volume, wait=60)
    with pytest.raises(ks_exceptions.NotFound):
        demo_volume_api(pod.region).get(f"/volumes/{volume.id}")


def test_list_across_pods_is_the_sorted_union_of_the_pods(
    compute_lab, demo_cloud, demo_volume_api, wait_until
):
    block_storage = demo_cloud.block_storage
    created = [
        block_storage.create_volume(
            size=1, name=f"list-{i}-{uuid.uuid4().hex[:4]}", availability_zone=pod.az
        )
        for i, pod in enumerate(compute_lab.pod_layouts * 3)
    ]
    try:
        for volume in created:
            block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        in_pods = _pod_volumes(compute_lab, demo_volume_api)
        expected = sorted(in_pods.values(), key=lambda v: (v["name"] or "", v["id"]))
        gateway = demo_volume_api(TOP_REGION)
        listed, url, pages = [], "/volumes/detail?sort=name:asc,id:asc&limit=2", 0
        while url:
            page = gateway.get(url).json()
            pages += 1
            listed += page["volumes"]
            links = page.get("volumes_links", [])
            url = links[0]["href"] if links else None
        assert [v["id"] for v in listed] == [v["id"] for v in expected]
        # As Cinder does, a full page links on, so a full last page is followed by an empty one.
        assert pages == len(expected) // 2 + 1
        for volume in listed:
            region = in_pods[volume["id"]]["region"]
            assert volume["availability_zone"] == next(
                p.az for p in compute_lab.pod_layouts if p.region == region
            )
        newest_first = [v.id for v in block_storage.volumes()]
        assert newest_first == [
            v["id"]
            for v in sorted(
                in_pods.values(), key=lambda v: (v["created_at"], v["id"]), reverse=True
            )
        ]
    finally:
        for volume in created:
            block_storage.delete_volume(volume, ignore_missing=True)
        for volume in created:
            block_storage.wait_for_delete(volume, wait=60)


@pytest.mark.parametrize(
    ("body", "headers", "status", "fault", "fragment"),
    [
        ({"volume": {"size": 1, "availability_zone": "nowhere"}}, {}, 400, "badRequest", "nowhere"),
        ({"volume": {"size": 0}}, {}, 400, "badRequest", "minimum of 1"),
        ({"volume": {"size": 10**12}}, {}, 400, "badRequest", "maximum"),
        (
            {"volume": {"size": 1, "volume_type": "no-such-type"}},
            {},
            404,
            "itemNotFound",
            "no-such-type",
        ),
        (b"{size: 1", {}, 400, "badRequest", "Malformed request body"),
        (
            {"volume": {"size": 1}},
            {"OpenStack-API-Version": "volume 3.999"},
            406,
            "computeFault",
            "3.999",
        ),
        (
            {"volume": {"size": 1}},
            {"OpenStack-API-Version": "volume 3.x"},
            400,
            "badRequest",
            "3.x",
        ),
    ],
    ids=["unknown-az", "size-0", "size-huge", "unknown-type", "malformed", "mv-406", "mv-400"],
)
def test_bad_create_answers_like_cinder_and_creates_nothing(
    compute_lab, demo_volume_api, body, headers, status, fault, fragment
):
    before = set(_pod_volumes(compute_lab, demo_volume_api))
    gateway = demo_volume_api(TOP_REGION)
    kwargs = {"data": body, "headers": {**headers, "Content-Type": "application/json"}}
    if isinstance(body, dict):
        kwargs = {"json": body, "headers": headers}
    response = gateway.post("/volumes", raise_exc=False, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()[fault]
    assert error["code"] == status
    assert fragment in error["message"]
    assert set(_pod_volumes(compute_lab, demo_volume_api)) == before


def test_snapshot_lives_in_its_volume_pod(compute_lab, demo_cloud, demo_volume_api):
    pod = compute_lab.pod_layouts[-1]
    block_storage = demo_cloud.block_storage
    volume = block_storage.create_volume(size=1, name="snap-source", availability_zone=pod.az)
    try:
        block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        snapshot = block_storage.create_snapshot(volume_id=volume.id, name="snap")
        snapshot = block_storage.wait_for_status(snapshot, "available", failures=["error"], wait=60)
        in_pod = demo_volume_api(pod.region).get(f"/snapshots/{snapshot.id}").json()["snapshot"]
        assert (in_pod["volume_id"], in_pod["status"]) == (volume.id, "available")
        assert snapshot.id in {s.id for s in block_storage.snapshots()}
        block_storage.delete_snapshot(snapshot)
        block_storage.wait_for_delete(snapshot, wait=60)
        with pytest.raises(ks_exceptions.NotFound):
            demo_volume_api(pod.region).get(f"/snapshots/{snapshot.id}")
    finally:
        block_storage.delete_volume(volume, ignore_missing=True)
        block_storage.wait_for_delete(volume, wait=60)


def test_limits_show_the_top_quota_and_the_usage_summed_over_the_pods(compute_lab, demo_volume_api):
    def absolute(region: str) -> dict:
        return demo_volume_api(region).get("/limits").json()["limits"]["absolute"]

    in_pods = [absolute(pod.region) for pod in compute_lab.pod_layouts]
    top = absolute(TOP_REGION)
    for key in ("totalVolumesUsed", "totalGigabytesUsed"):
        assert top[key] == sum(limits[key] for limits in in_pods), key
    project_id = demo_volume_api(TOP_REGION).get_project_id()
    quota_set = demo_volume_api(TOP_REGION).get(f"/os-quota-sets/{project_id}").json()
    assert top["maxTotalVolumes"] == quota_set["quota_set"]["volumes"]
    assert top["maxTotalVolumeGigabytes"] == quota_set["quota_set"]["gigabytes"]


def test_volume_type_defined_at_the_gateway_reaches_the_pod_on_first_use(
    compute_lab, demo_cloud, demo_volume_api, pod_api
):
    admin_cloud = openstack.connect(
        auth_url=compute_lab.keystone_url,
        username="admin",
        password=PASSWORD,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=TOP_REGION,
    )
    pod = compute_lab.pod_layouts[0]
    name = f"gold-{uuid.uuid4().hex[:6]}"
    volume_type = admin_cloud.block_storage.create_type(
        name=name, extra_specs={"volume_backend_name": "fake"}
    )
    pod_types = pod_api(pod.region, "volumev3")
    try:
        listed = pod_types.get("/types").json()["volume_types"]
        assert name not in {t["name"] for t in listed}
        block_storage = demo_cloud.block_storage
        volume = block_storage.create_volume(
            size=1, volume_type=name, availability_zone=pod.az, name="typed"
        )
        try:
            volume = block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
            assert volume.volume_type == name
            in_pod = demo_volume_api(pod.region).get(f"/volumes/{volume.id}").json()["volume"]
            assert in_pod["volume_type"] == name
            copies = [
                t for t in pod_types.get("/types").json()["volume_types"] if t["name"] == name
            ]
            assert len(copies) == 1
            assert copies[0]["extra_specs"] == {"volume_backend_name": "fake"}
        finally:
            block_storage.delete_volume(volume, ignore_missing=True)
            block_storage.wait_for_delete(volume, wait=60)
    finally:
        admin_cloud.block_storage.delete_type(volume_type)
    listed = pod_types.get("/types").json()["volume_types"]
    assert name not in {t["name"] for t in listed}


def test_admin_resets_status_and_force_deletes_through_the_gateway(
    compute_lab, demo_cloud, demo_volume_api, pod_api, wait_until
):
    pod = compute_lab.pod_layouts[0]
    volume = demo_cloud.block_storage.create_volume(size=1, availability_zone=pod.az)
    demo_cloud.block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
    admin_gateway = pod_api(TOP_REGION, "volumev3")
    member_gateway = demo_volume_api(TOP_REGION)
    reset = {"os-reset_status": {"status": "error"}}
    refused = member_gateway.post(f"/volumes/{volume.id}/action", json=reset, raise_exc=False)
    assert refused.status_code == 403
    assert refused.json()["forbidden"]["code"] == 403
    admin_gateway.post(f"/volumes/{volume.id}/action", json=reset)
    in_pod = demo_volume_api(pod.region).get(f"/volumes/{volume.id}").json()["volume"]
    assert in_pod["status"] == "error"
    admin_gateway.post(f"/volumes/{volume.id}/action", json={"os-force_delete": {}})

    def gone() -> bool:
        try:
            demo_volume_api(pod.region).get(f"/volumes/{volume.id}")
        except ks_exceptions.NotFound:
            return True
        return False

    wait_until(gone, 60, f"volume {volume.id} force-deleted in {pod.region}")
    missing = member_gateway.get(f"/volumes/{volume.id}", raise_exc=False)
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["code"] == 404


def test_volume_made_in_a_pod_directly_is_listed_and_shown_by_the_gateway(
    compute_lab, demo_volume_api, wait_until
):
    pod = compute_lab.pod_layouts[-1]
    in_pod = demo_volume_api(pod.region)
    volume = in_pod.post("/volumes", json={"volume": {"size": 1, "name": "direct"}}).json()[
        "volume"
    ]
    gateway = demo_volume_api(TOP_REGION)
    try:
        listed = gateway.get("/volumes").json()["volumes"]
        assert volume["id"] in {v["id"] for v in listed}
        shown = gateway.get(f"/volumes/{volume['id']}").json()["volume"]
        assert (shown["name"], shown["availability_zone"]) == ("direct", pod.az)
    finally:
        wait_until(
            lambda: in_pod.get(f"/volumes/{volume['id']}").json()["volume"]["status"] != "creating",
            60,
            f"volume {volume['id']} created in {pod.region}",
        )
        in_pod.delete(f"/volumes/{volume['id']}")

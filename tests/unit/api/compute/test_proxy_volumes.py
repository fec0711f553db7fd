"""Nova's os-volumes and os-snapshots proxies over a fake block storage of RegionOne."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "11111111-1111-1111-1111-111111111111"
VOLUME = "aaaaaaaa-0000-0000-0000-000000000001"
SNAPSHOT = "bbbbbbbb-0000-0000-0000-000000000001"
UNKNOWN = "cccccccc-0000-0000-0000-000000000009"
V2_35 = {"OpenStack-API-Version": "compute 2.35"}
V2_36 = {"OpenStack-API-Version": "compute 2.36"}
PAGE = 2


class FakeBlockStorage:
    """RegionOne's block storage (the Cinder gateway) at 3.0: volumes and snapshots by ID, lists
    in pages of PAGE with next links; every request recorded."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict]] = {"volumes": {}, "snapshots": {}}
        self.requests: list[tuple[str, str, object, object]] = []
        self.over_quota = False

    def add_volume(self, volume_id: str, **fields: object) -> dict:
        volume = {
            "id": volume_id,
            "status": "available",
            "size": 1,
            "availability_zone": "az1",
            "created_at": "2026-11-26T10:00:00.000000",
            "attachments": [],
            "name": "vol",
            "description": None,
            "volume_type": "lvm",
            "snapshot_id": None,
            "metadata": {},
            "bootable": "false",
            **fields,
        }
        self.records["volumes"][volume_id] = volume
        return volume

    def call(self, who, region_name, method, path, *, service_type="compute", **kwargs):
        assert (region_name, service_type) == ("RegionOne", "volumev3")
        body, params = kwargs.get("json"), kwargs.get("params") or {}
        self.requests.append((method, path, body, params))
        collection, _, rest = path.strip("/").partition("/")
        records = self.records[collection]
        if rest == "detail":
            found = sorted(records.values(), key=lambda record: record["id"])
            if "marker" in params:
                found = [r for r in found if r["id"] > params["marker"]]
            answer = {collection: found[:PAGE]}
            if len(found) > PAGE:
                answer[f"{collection}_links"] = [{"rel": "next", "href": "http://gw/next"}]
            return PodAnswer(200, answer, {})
        if method == "POST":
            return self._create(collection, body)
        if rest not in records:
            raise PodClientError("RegionOne", "volumev3", 404, "not found", "itemNotFound")
        if method == "DELETE":
            del records[rest]
            return PodAnswer(202, None, {})
        return PodAnswer(200, {collection[:-1]: records[rest]}, {})

    def _create(self, collection: str, body: dict) -> PodAnswer:
        if self.over_quota:
            message = "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded"
            raise PodClientError("RegionOne", "volumev3", 413, message, "overLimit")
        if collection == "volumes":
            asked = body["volume"]
            made = self.add_volume(
                VOLUME,
                size=asked["size"],
                name=asked.get("name"),
                description=asked.get("description"),
                availability_zone=asked.get("availability_zone", "az1"),
                metadata=asked.get("metadata", {}),
                snapshot_id=asked.get("snapshot_id"),
                status="creating",
            )
            return PodAnswer(202, {"volume": made}, {})
        asked = body["snapshot"]
        if asked["volume_id"] not in self.records["volumes"]:
            raise PodClientError("RegionOne", "volumev3", 404, "Volume not found", "itemNotFound")
        made = {
            "id": SNAPSHOT,
            "volume_id": asked["volume_id"],
            "status": "creating",
            "size": 1,
            "created_at": "2026-11-26T11:00:00.000000",
            "name": asked["name"],
            "description": asked["description"],
            "metadata": {},
        }
        self.records["snapshots"][SNAPSHOT] = made
        return PodAnswer(202, {"snapshot": made}, {})


@pytest.fixture
def block_storage(compute_app) -> FakeBlockStorage:
    fake = FakeBlockStorage()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_a_volume_made_shown_listed_and_deleted_in_novas_shape(compute_member, block_storage):
    made = compute_member.post(
        "/v2.1/os-volumes",
        json={
            "volume": {
                "size": "1",
                "availability_zone": "az2",
                "display_name": "data",
                "display_description": "for tests",
                "metadata": {"kind": "scratch"},
                "volume_type": "lvm",
            }
        },
    )
    assert made.status_code == 200, made.get_json()
    assert made.headers["Location"] == f"http://localhost/v2.1/os-volumes/{VOLUME}"
    assert block_storage.requests[-1][2] == {
        "volume": {
            "size": 1,
            "availability_zone": "az2",
            "name": "data",
            "description": "for tests",
            "metadata": {"kind": "scratch"},
            "volume_type": "lvm",
        }
    }
    assert made.get_json() == {
        "volume": {
            "id": VOLUME,
            "status": "creating",
            "size": 1,
            "availabilityZone": "az2",
            "createdAt": "2026-11-26T10:00:00.000000",
            "attachments": [{}],
            "displayName": "data",
            "displayDescription": "for tests",
            "volumeType": "lvm",
            "snapshotId": None,
            "metadata": {"kind": "scratch"},
        }
    }
    shown = compute_member.get(f"/v2.1/os-volumes/{VOLUME}").get_json()["volume"]
    assert shown == made.get_json()["volume"]
    listed = compute_member.get("/v2.1/os-volumes").get_json()["volumes"]
    assert listed == [shown]
    deleted = compute_member.delete(f"/v2.1/os-volumes/{VOLUME}")
    assert (deleted.status_code, deleted.get_data()) == (202, b"")
    assert block_storage.requests[-1][:2] == ("DELETE", f"/volumes/{VOLUME}")


def test_an_attached_volume_shows_its_first_server(compute_member, block_storage):
    attachments = [
        {"server_id": SERVER, "device": "/dev/vdb", "attachment_id": "x", "volume_id": VOLUME},
        {"server_id": UNKNOWN, "device": "/dev/vdc", "attachment_id": "y", "volume_id": VOLUME},
    ]
    block_storage.add_volume(VOLUME, status="in-use", attachments=attachments)
    shown = compute_member.get(f"/v2.1/os-volumes/{VOLUME}").get_json()["volume"]
    assert shown["attachments"] == [
        {"id": VOLUME, "volumeId": VOLUME, "serverId": SERVER, "device": "/dev/vdb"}
    ]


def test_lists_follow_the_pages_and_cut_by_offset_and_limit(compute_member, block_storage):
    ids = [f"aaaaaaaa-0000-0000-0000-00000000000{n}" for n in range(1, 6)]
    for volume_id in ids:
        block_storage.add_volume(volume_id)
    every = compute_member.get("/v2.1/os-volumes/detail").get_json()["volumes"]
    assert [volume["id"] for volume in every] == ids
    assert [params for *_, params in block_storage.requests] == [
        {},
        {"marker": ids[1]},
        {"marker": ids[3]},
    ]
    cut = compute_member.get("/v2.1/os-volumes?offset=1&limit=2").get_json()["volumes"]
    assert [volume["id"] for volume in cut] == ids[1:3]
    assert len(compute_member.get("/v2.1/os-volumes?limit=0").get_json()["volumes"]) == 5
    for bad in ("limit=-1", "offset=x"):
        assert_fault(compute_member.get(f"/v2.1/os-volumes?{bad}"), 400, "badRequest")


@pytest.mark.parametrize(
    "volume",
    [
        {"display_name": "no size"},
        {"size": "#$%"},
        {"size": ""},
        {"size": "0"},
        {"size": 0},
        {"size": 1.5},
        {"size": 1, "name": "not nova's field"},
        {"size": 1, "display_name": 5},
    ],
)
def test_bad_volume_input_is_novas_400_before_block_storage_is_asked(
    compute_member, block_storage, volume
):
    answer = compute_member.post("/v2.1/os-volumes", json={"volume": volume})
    assert_fault(answer, 400, "badRequest")
    assert block_storage.requests == []


def test_block_storage_refusals_in_novas_dialect(compute_member, block_storage):
    for path in (f"/v2.1/os-volumes/{UNKNOWN}", "/v2.1/os-volumes/x"):
        assert_fault(compute_member.get(path), 404, "itemNotFound", "could not be found")
    gone = compute_member.delete(f"/v2.1/os-volumes/{UNKNOWN}")
    assert_fault(gone, 404, "itemNotFound", f"Volume {UNKNOWN} could not be found.")
    from_snapshot = compute_member.post(
        "/v2.1/os-volumes", json={"volume": {"size": 1, "snapshot_id": UNKNOWN}}
    )
    assert_fault(from_snapshot, 404, "itemNotFound", f"Snapshot {UNKNOWN} could not be found.")
    block_storage.over_quota = True
    over = compute_member.post("/v2.1/os-volumes", json={"volume": {"size": 1}})
    assert_fault(over, 403, "forbidden", "VolumeLimitExceeded")


def test_a_snapshot_made_shown_listed_and_deleted_in_novas_shape(compute_member, block_storage):
    block_storage.add_volume(VOLUME)
    made = compute_member.post(
        "/v2.1/os-snapshots",
        json={"snapshot": {"volume_id": VOLUME, "force": "True", "display_name": "snap"}},
    )
    assert made.status_code == 200, made.get_json()
    assert block_storage.requests[-1][2] == {
        "snapshot": {"volume_id": VOLUME, "force": True, "name": "snap", "description": None}
    }
    expected = {
        "id": SNAPSHOT,
        "volumeId": VOLUME,
        "status": "creating",
        "size": 1,
        "createdAt": "2026-11-26T11:00:00.000000",
        "displayName": "snap",
        "displayDescription": None,
    }
    assert made.get_json() == {"snapshot": expected}
    assert compute_member.get(f"/v2.1/os-snapshots/{SNAPSHOT}").get_json() == {"snapshot": expected}
    for path in ("/v2.1/os-snapshots", "/v2.1/os-snapshots/detail"):
        assert compute_member.get(path).get_json() == {"snapshots": [expected]}
    assert compute_member.delete(f"/v2.1/os-snapshots/{SNAPSHOT}").status_code == 202
    missing = compute_member.get(f"/v2.1/os-snapshots/{SNAPSHOT}")
    assert_fault(missing, 404, "itemNotFound", f"Snapshot {SNAPSHOT} could not be found.")


def test_bad_snapshot_input_and_unknown_volume(compute_member, block_storage):
    for snapshot in ({}, {"volume_id": VOLUME, "force": "maybe"}, {"volume_id": 5}):
        answer = compute_member.post("/v2.1/os-snapshots", json={"snapshot": snapshot})
        assert_fault(answer, 400, "badRequest")
    assert block_storage.requests == []
    unknown = compute_member.post("/v2.1/os-snapshots", json={"snapshot": {"volume_id": UNKNOWN}})
    assert_fault(unknown, 404, "itemNotFound", f"Volume {UNKNOWN} could not be found.")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2.1/os-volumes"),
        ("GET", "/v2.1/os-volumes/detail"),
        ("GET", f"/v2.1/os-volumes/{VOLUME}"),
        ("POST", "/v2.1/os-volumes"),
        ("DELETE", f"/v2.1/os-volumes/{VOLUME}"),
        ("GET", "/v2.1/os-snapshots"),
        ("GET", "/v2.1/os-snapshots/detail"),
        ("GET", f"/v2.1/os-snapshots/{SNAPSHOT}"),
        ("POST", "/v2.1/os-snapshots"),
        ("DELETE", f"/v2.1/os-snapshots/{SNAPSHOT}"),
    ],
)
def test_gone_from_2_36_as_in_nova(compute_member, block_storage, method, path):
    body = {"volume": {"size": 1}} if "volumes" in path else {"snapshot": {"volume_id": VOLUME}}
    answer = compute_member.request(method, path, headers=V2_36, json=body)
    assert_fault(answer, 404, "itemNotFound")
    assert block_storage.requests == []


def test_members_and_admins_pass_novas_default_rules(compute_member, compute_admin, block_storage):
    block_storage.add_volume(VOLUME)
    for caller in (compute_member, compute_admin):
        assert caller.get("/v2.1/os-volumes", headers=V2_35).status_code == 200
        assert caller.get(f"/v2.1/os-volumes/{VOLUME}").status_code == 200
        assert caller.get("/v2.1/os-snapshots").status_code == 200


def test_an_operator_can_close_a_rule(admin_conf, compute_member, compute_admin, block_storage):
    policy_file = admin_conf.api.policy_file
    with open(policy_file, "w") as rules:
        rules.write('"os_compute_api:os-volumes:create": "role:admin"\n')
    refused = compute_member.post("/v2.1/os-volumes", json={"volume": {"size": 1}})
    assert_fault(refused, 403, "forbidden")
    assert block_storage.requests == []
    allowed = compute_admin.post("/v2.1/os-volumes", json={"volume": {"size": 1}})
    assert allowed.status_code == 200

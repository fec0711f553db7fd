"""Quotas on a project's total over every pod, through the Cinder gateway: 413 overLimit before
anything is made, os-quota-sets in Cinder's shapes."""

from __future__ import annotations

import pytest

PROJECT = "demo-project"
ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "admin", "X-Roles": "admin"}


def _set(client, headers=ADMIN, **limits):
    return client.put(f"/v3/os-quota-sets/{PROJECT}", json={"quota_set": limits}, headers=headers)


def _volume(client, az="az1", size=1):
    return client.post("/v3/volumes", json={"volume": {"size": size, "availability_zone": az}})


def _made(fake_pods) -> int:
    return sum(len(pod.volumes) for pod in fake_pods.pods.values())


def test_volumes_over_quota_are_413_over_limit_and_make_nothing(client, fake_pods):
    assert _set(client, volumes=2).status_code == 200
    assert _volume(client, "az1").status_code == 202
    assert _volume(client, "az2").status_code == 202
    refused = _volume(client, "az1")
    assert refused.status_code == 413 and refused.headers["Retry-After"] == "0"
    assert refused.get_json() == {
        "overLimit": {
            "code": 413,
            "message": "VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded "
            "for quota 'volumes'.",
            "retryAfter": "0",
        }
    }
    assert _made(fake_pods) == 2


def test_gigabytes_and_per_volume_size(client, fake_pods):
    _set(client, gigabytes=5, per_volume_gigabytes=4)
    assert _volume(client, size=3).status_code == 202
    refused = _volume(client, size=3).get_json()["overLimit"]["message"]
    assert refused == (
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
        "gigabytes quota. Requested 3G, quota is 5G and 3G has been consumed."
    )
    too_big = _volume(client, size=5).get_json()["overLimit"]["message"]
    assert "Requested volume size 5G is larger than maximum allowed limit 4G." in too_big
    assert _made(fake_pods) == 1


def test_snapshots_count_against_snapshots(client, fake_pods):
    _set(client, snapshots=1)
    volume = _volume(client).get_json()["volume"]
    body = {"snapshot": {"volume_id": volume["id"]}}
    assert client.post("/v3/snapshots", json=body).status_code == 202
    refused = client.post("/v3/snapshots", json=body)
    assert refused.status_code == 413
    assert (
        "SnapshotLimitExceeded: Maximum number of snapshots allowed (1)"
        in (refused.get_json()["overLimit"]["message"])
    )


def test_show_with_usage_defaults_limits_and_delete(client, fake_pods):
    _set(client, volumes=4, gigabytes=40)
    _volume(client, "az1", 2)
    _volume(client, "az2", 3)
    shown = client.get(f"/v3/os-quota-sets/{PROJECT}?usage=true").get_json()["quota_set"]
    assert shown["id"] == PROJECT
    assert shown["volumes"] == {"in_use": 2, "limit": 4, "reserved": 0}
    assert shown["gigabytes"] == {"in_use": 5, "limit": 40, "reserved": 0}
    absolute = client.get("/v3/limits").get_json()["limits"]["absolute"]
    assert absolute["maxTotalVolumes"] == 4 and absolute["totalVolumesUsed"] == 2
    assert absolute["totalGigabytesUsed"] == 5
    defaults = client.get(f"/v3/os-quota-sets/{PROJECT}/defaults").get_json()["quota_set"]
    assert defaults["volumes"] == 10 and defaults["gigabytes"] == 1000
    assert client.delete(f"/v3/os-quota-sets/{PROJECT}", headers=ADMIN).status_code == 200
    assert client.get(f"/v3/os-quota-sets/{PROJECT}").get_json()["quota_set"]["volumes"] == 10


def test_pods_get_the_top_limits(client, fake_pods):
    _set(client, volumes=4)
    _volume(client, "az2")
    assert fake_pods.pods["Pod2"].quotas[PROJECT]["volumes"] == 4


@pytest.mark.parametrize(
    ("limits", "fragment"),
    [
        ({"volumes": -2}, "volumes must be >= -1"),
        ({"volumes": "x"}, "volumes must be an integer"),
        ({"bogus": 1}, "Bad key(s) in quota set: bogus"),
    ],
)
def test_bad_input_is_cinder_400(client, limits, fragment):
    response = _set(client, **limits)
    assert response.status_code == 400
    assert fragment in response.get_json()["badRequest"]["message"]


def test_a_limit_below_usage_is_400(client, fake_pods):
    _volume(client)
    _volume(client)
    response = _set(client, volumes=1)
    assert response.status_code == 400
    assert (
        "Current usage is 2 and the requested limit is 1."
        in (response.get_json()["badRequest"]["message"])
    )


def test_members_may_not_write_quotas(client):
    assert _set(client, headers={}, volumes=1).status_code == 403
    assert client.get("/v3/os-quota-sets/other-project").status_code == 403

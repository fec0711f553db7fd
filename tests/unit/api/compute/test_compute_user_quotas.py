"""Per-user quotas through the Nova gateway (``os-quota-sets/{project}?user_id=``): a user's
share of the project, in Nova's shapes and rules, enforced on boots and key pairs."""

from __future__ import annotations

from admin_api_helpers import assert_fault
from test_quotas import PROJECT, _boot, _set

USER = "demo-user"
URL = f"/v2.1/os-quota-sets/{PROJECT}?user_id={USER}"


def _set_user(admin, headers: dict | None = None, user: str = USER, **limits):
    return admin.put(
        f"/v2.1/os-quota-sets/{PROJECT}?user_id={user}",
        json={"quota_set": limits},
        headers=headers or {},
    )


def test_a_user_s_limits_fall_back_to_the_project_s(compute_admin):
    assert _set(compute_admin, ram=5120).status_code == 200
    updated = _set_user(compute_admin, ram="2048")
    assert updated.status_code == 200, updated.get_json()
    assert "id" not in updated.get_json()["quota_set"]
    assert updated.get_json()["quota_set"]["ram"] == 2048
    shown = compute_admin.get(URL).get_json()["quota_set"]
    assert shown["id"] == PROJECT and shown["ram"] == 2048 and shown["instances"] == 10
    project = compute_admin.get(f"/v2.1/os-quota-sets/{PROJECT}").get_json()["quota_set"]
    assert project["ram"] == 5120
    for version in ("2.36", "2.57"):
        headers = {"OpenStack-API-Version": f"compute {version}"}
        assert _set_user(compute_admin, headers, ram=1024).status_code == 200
        assert compute_admin.get(URL, headers=headers).get_json()["quota_set"]["ram"] == 1024
    assert compute_admin.delete(URL).status_code == 202
    assert compute_admin.get(URL).get_json()["quota_set"]["ram"] == 5120


def test_a_user_limit_above_what_the_project_leaves_is_400_unless_forced(compute_admin):
    _set(compute_admin, instances=5)
    assert_fault(
        _set_user(compute_admin, instances=6),
        400,
        "badRequest",
        "Quota limit 6 for instances must be less than or equal to 5.",
    )
    assert _set_user(compute_admin, user="other-user", instances=3).status_code == 200
    assert_fault(
        _set_user(compute_admin, instances=3), 400, "badRequest", "less than or equal to 2"
    )
    assert_fault(_set_user(compute_admin, instances=-1), 400, "badRequest", "-1")
    assert _set_user(compute_admin, instances=2).status_code == 200
    assert _set_user(compute_admin, instances=9, force=True).status_code == 200
    assert compute_admin.get(URL).get_json()["quota_set"]["instances"] == 9


def test_a_project_limit_below_its_users_limits_is_400(compute_admin):
    _set(compute_admin, cores=10)
    _set_user(compute_admin, cores=6)
    assert_fault(
        _set(compute_admin, cores=5),
        400,
        "badRequest",
        "Quota limit 5 for cores must be greater than or equal to already used and reserved 6.",
    )
    assert compute_admin.delete(f"/v2.1/os-quota-sets/{PROJECT}").status_code == 202
    assert compute_admin.get(URL).get_json()["quota_set"]["cores"] == 20


def test_bad_user_quota_input_is_400_and_writes_are_admin_only(compute_admin, compute_member):
    for limits, fragment in (({"ram": -2}, "ram"), ({"ram": "x"}, "ram"), ({"bogus": 1}, "bogus")):
        assert_fault(_set_user(compute_admin, **limits), 400, "badRequest", fragment)
    assert_fault(_set_user(compute_member, ram=1), 403, "forbidden")
    assert compute_member.delete(URL).status_code == 403
    assert compute_admin.get(URL).get_json()["quota_set"]["ram"] == 51200


def test_boots_are_held_to_the_user_s_share(compute_admin, compute_member, boots):
    _set(compute_admin, instances=5)
    assert _set_user(compute_admin, instances=1).status_code == 200
    assert _boot(compute_member).status_code == 202
    assert_fault(
        _boot(compute_member),
        403,
        "forbidden",
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances",
    )
    detail = compute_admin.get(f"/v2.1/os-quota-sets/{PROJECT}/detail?user_id={USER}").get_json()
    assert detail["quota_set"]["instances"] == {"in_use": 1, "limit": 1, "reserved": 0}
    assert detail["quota_set"]["cores"]["in_use"] == 2
    other = compute_admin.get(f"/v2.1/os-quota-sets/{PROJECT}/detail?user_id=other").get_json()
    assert other["quota_set"]["instances"]["in_use"] == 0
    assert_fault(_set_user(compute_admin, cores=1), 400, "badRequest", "already used")
    _set_user(compute_admin, instances=3)
    assert _boot(compute_member, min_count=1, max_count=5).status_code == 202
    assert boots.creates[-1]["max_count"] == 2
    assert len(boots.creates) == 2


def test_key_pairs_are_held_to_the_user_s_limit(compute_admin, compute_member):
    _set_user(compute_admin, key_pairs=1)
    first = compute_member.post("/v2.1/os-keypairs", json={"keypair": {"name": "a"}})
    assert first.status_code == 200
    refused = compute_member.post("/v2.1/os-keypairs", json={"keypair": {"name": "b"}})
    assert_fault(refused, 403, "forbidden", "Quota exceeded, too many key pairs.")
    assert [
        k["keypair"]["name"] for k in compute_member.get("/v2.1/os-keypairs").get_json()["keypairs"]
    ] == ["a"]
    _set(compute_admin, key_pairs=0, force=True)
    refused = compute_member.post("/v2.1/os-keypairs", json={"keypair": {"name": "c"}})
    assert_fault(refused, 403, "forbidden", "too many key pairs")

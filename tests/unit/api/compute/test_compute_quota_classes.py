"""Quota classes through the Nova gateway: Nova's shapes per microversion, admin only, and the
``default`` class as every project's defaults (shown and enforced)."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault
from test_quotas import PROJECT, _boot

DEFAULT = "/v2.1/os-quota-class-sets/default"
V2_50 = {"OpenStack-API-Version": "compute 2.50"}
V2_57 = {"OpenStack-API-Version": "compute 2.57"}


def _update(client, body: dict, headers: dict | None = None, name: str = "default"):
    return client.put(
        f"/v2.1/os-quota-class-sets/{name}", json={"quota_class_set": body}, headers=headers or {}
    )


def test_default_class_shows_the_defaults_in_novas_shapes(compute_admin):
    shown = compute_admin.get(DEFAULT).get_json()["quota_class_set"]
    assert shown["id"] == "default" and shown["instances"] == 10 and shown["ram"] == 51200
    assert "floating_ips" in shown and "injected_files" in shown
    assert "server_groups" not in shown and "server_group_members" not in shown
    at_250 = compute_admin.get(DEFAULT, headers=V2_50).get_json()["quota_class_set"]
    assert at_250["server_groups"] == 10 and "floating_ips" not in at_250
    assert "injected_files" in at_250
    at_257 = compute_admin.get(DEFAULT, headers=V2_57).get_json()["quota_class_set"]
    assert "injected_files" not in at_257 and "server_group_members" in at_257


def test_every_shown_value_can_be_raised_as_tempest_does(compute_admin):
    for headers in ({}, V2_57):
        shown = compute_admin.get(DEFAULT, headers=headers).get_json()["quota_class_set"]
        shown.pop("id")
        raised = {resource: limit + 100 for resource, limit in shown.items()}
        updated = _update(compute_admin, raised, headers)
        assert updated.status_code == 200, updated.get_json()
        assert "id" not in updated.get_json()["quota_class_set"]
        assert updated.get_json()["quota_class_set"] == raised
        again = compute_admin.get(DEFAULT, headers=headers).get_json()["quota_class_set"]
        assert again == {"id": "default", **raised}


def test_the_default_class_is_every_project_s_default_and_enforced(
    compute_admin, compute_member, boots
):
    assert _update(compute_admin, {"instances": 1, "server_groups": 4}).status_code == 200
    defaults = compute_member.get(f"/v2.1/os-quota-sets/{PROJECT}/defaults").get_json()
    assert defaults["quota_set"]["instances"] == 1
    assert defaults["quota_set"]["server_groups"] == 4
    assert (
        compute_member.get(f"/v2.1/os-quota-sets/{PROJECT}").get_json()["quota_set"]["instances"]
        == 1
    )
    assert _boot(compute_member).status_code == 202
    assert_fault(_boot(compute_member), 403, "forbidden", "already used 1 of 1 instances")


def test_other_classes_are_kept_and_change_nothing(compute_admin):
    assert _update(compute_admin, {"cores": 7}, name="gold").status_code == 200
    gold = compute_admin.get("/v2.1/os-quota-class-sets/gold").get_json()["quota_class_set"]
    assert gold["id"] == "gold" and gold["cores"] == 7 and gold["instances"] == 10
    unknown = compute_admin.get("/v2.1/os-quota-class-sets/never-set").get_json()
    assert unknown["quota_class_set"]["cores"] == 20
    assert compute_admin.get(DEFAULT).get_json()["quota_class_set"]["cores"] == 20


def test_quota_classes_are_admin_only(compute_member):
    assert_fault(compute_member.get(DEFAULT), 403, "forbidden")
    assert_fault(_update(compute_member, {"cores": 1}), 403, "forbidden")


@pytest.mark.parametrize(
    ("body", "headers", "fragment"),
    [
        ({"cores": -2}, {}, "cores"),
        ({"cores": "many"}, {}, "cores"),
        ({"bogus": 1}, {}, "bogus"),
        ({"force": True}, {}, "force"),
        ({"floating_ips": 1}, V2_50, "floating_ips"),
        ({"injected_files": 1}, V2_57, "injected_files"),
    ],
)
def test_bad_class_input_is_nova_400(compute_admin, body, headers, fragment):
    assert_fault(_update(compute_admin, body, headers), 400, "badRequest", fragment)
    assert compute_admin.get(DEFAULT).get_json()["quota_class_set"]["cores"] == 20


def test_a_class_name_over_255_characters_is_400(compute_admin):
    assert_fault(_update(compute_admin, {"cores": 1}, name="c" * 256), 400, "badRequest", "255")

"""Flavors, keypairs and availability zones held by the gateway itself."""

from __future__ import annotations

from admin_api_helpers import assert_fault

from tricircle.api.compute.key_material import ssh_fingerprint, x509_fingerprint

PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhZ6J1V9Lrb+fGlBvT4fQpnBLBu8Gp3yZgq1vLuJ8GR test@lab"
)
V2_61 = {"OpenStack-API-Version": "compute 2.61"}


def _flavor(**extra: object) -> dict:
    return {"flavor": {"name": "m1.small", "ram": 2048, "vcpus": 1, "disk": 20, **extra}}


def test_admin_defines_a_flavor_that_members_see(compute_admin, compute_member):
    created = compute_admin.post("/v2.1/flavors", json=_flavor(id="42"), headers=V2_61)
    assert created.status_code == 200, created.get_json()
    shown = compute_member.get("/v2.1/flavors/42", headers=V2_61).get_json()["flavor"]
    assert (shown["ram"], shown["vcpus"], shown["disk"], shown["extra_specs"]) == (2048, 1, 20, {})
    assert shown["links"][0]["href"].endswith("/v2.1/flavors/42")
    listed = compute_member.get("/v2.1/flavors").get_json()["flavors"]
    assert [flavor["id"] for flavor in listed] == ["42"]
    assert set(listed[0]) == {"id", "name", "links"}


def test_members_may_not_define_flavors(compute_member):
    assert_fault(compute_member.post("/v2.1/flavors", json=_flavor()), 403, "forbidden")


def test_flavor_input_is_checked(compute_admin):
    assert_fault(compute_admin.post("/v2.1/flavors", json=_flavor(ram=0)), 400, "badRequest")
    assert_fault(compute_admin.post("/v2.1/flavors", data="{"), 400, "badRequest", "Malformed")
    compute_admin.post("/v2.1/flavors", json=_flavor(id="7"))
    assert_fault(
        compute_admin.post("/v2.1/flavors", json=_flavor(id="7")), 409, "conflictingRequest"
    )
    assert_fault(compute_admin.get("/v2.1/flavors/nope"), 404, "itemNotFound", "nope")


def test_flavor_ids_and_public_flags_take_novas_spellings(compute_admin):
    """A number ID is kept as its text, no ID means a UUID, 'true'/'False' strings are booleans."""
    made = compute_admin.post("/v2.1/flavors", json=_flavor(id=101)).get_json()["flavor"]
    assert made["id"] == "101"
    made = compute_admin.post("/v2.1/flavors", json=_flavor(id=None, name="n")).get_json()["flavor"]
    assert len(made["id"]) == 36
    private = _flavor(id="s", name="s", **{"os-flavor-access:is_public": "False"})
    made = compute_admin.post("/v2.1/flavors", json=private).get_json()["flavor"]
    assert made["os-flavor-access:is_public"] is False
    for bad in ({"id": "a/b"}, {"id": " lead"}, {"id": True}, {"os-flavor-access:is_public": "x"}):
        assert_fault(compute_admin.post("/v2.1/flavors", json=_flavor(**bad)), 400, "badRequest")


def test_private_flavors_need_access(compute_admin, compute_member):
    compute_admin.post(
        "/v2.1/flavors", json=_flavor(id="p", **{"os-flavor-access:is_public": False})
    )
    assert_fault(compute_member.get("/v2.1/flavors/p"), 404, "itemNotFound")
    granted = compute_admin.post(
        "/v2.1/flavors/p/action", json={"addTenantAccess": {"tenant": "demo-project"}}
    )
    assert granted.get_json()["flavor_access"] == [{"flavor_id": "p", "tenant_id": "demo-project"}]
    assert compute_member.get("/v2.1/flavors/p").status_code == 200


def test_extra_specs_round_trip(compute_admin):
    compute_admin.post("/v2.1/flavors", json=_flavor(id="x"))
    compute_admin.post("/v2.1/flavors/x/os-extra_specs", json={"extra_specs": {"hw:cpu": "1"}})
    assert compute_admin.get("/v2.1/flavors/x/os-extra_specs/hw:cpu").get_json() == {"hw:cpu": "1"}
    assert compute_admin.delete("/v2.1/flavors/x/os-extra_specs/hw:cpu").status_code == 200
    assert compute_admin.get("/v2.1/flavors/x/os-extra_specs").get_json() == {"extra_specs": {}}
    assert compute_admin.delete("/v2.1/flavors/x").status_code == 202


def test_keypairs_are_imported_per_user(compute_member, compute_admin):
    body = {"keypair": {"name": "k1", "public_key": PUBLIC_KEY}}
    created = compute_member.post(
        "/v2.1/os-keypairs", json=body, headers={"OpenStack-API-Version": "compute 2.2"}
    )
    assert created.status_code == 201
    assert created.get_json()["keypair"]["fingerprint"] == ssh_fingerprint(PUBLIC_KEY)
    assert created.get_json()["keypair"]["type"] == "ssh"
    listed = compute_member.get("/v2.1/os-keypairs").get_json()["keypairs"]
    assert [entry["keypair"]["name"] for entry in listed] == ["k1"]
    assert compute_admin.get("/v2.1/os-keypairs").get_json()["keypairs"] == []
    assert_fault(compute_member.post("/v2.1/os-keypairs", json=body), 409, "conflictingRequest")


def test_keypairs_are_generated_before_2_92(compute_member):
    created = compute_member.post("/v2.1/os-keypairs", json={"keypair": {"name": "gen"}})
    keypair = created.get_json()["keypair"]
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keypair["fingerprint"] == ssh_fingerprint(keypair["public_key"])
    shown = compute_member.get("/v2.1/os-keypairs/gen").get_json()["keypair"]
    assert "private_key" not in shown and shown["public_key"] == keypair["public_key"]


def test_bad_keypairs_are_refused(compute_member):
    bad_key = {"keypair": {"name": "k", "public_key": "ssh-rsa notbase64!"}}
    assert_fault(compute_member.post("/v2.1/os-keypairs", json=bad_key), 400, "badRequest")
    generated = {"keypair": {"name": "k"}}
    import_only = {"OpenStack-API-Version": "compute 2.92"}
    response = compute_member.post("/v2.1/os-keypairs", json=generated, headers=import_only)
    assert_fault(response, 400, "badRequest", "public_key")
    assert_fault(compute_member.get("/v2.1/os-keypairs/none"), 404, "itemNotFound")


V2_2 = {"OpenStack-API-Version": "compute 2.2"}
V2_10 = {"OpenStack-API-Version": "compute 2.10"}


def test_x509_keypairs_are_generated_and_imported(compute_member):
    created = compute_member.post(
        "/v2.1/os-keypairs", json={"keypair": {"name": "cert", "type": "x509"}}, headers=V2_2
    )
    assert created.status_code == 201, created.get_json()
    keypair = created.get_json()["keypair"]
    assert keypair["type"] == "x509" and keypair["private_key"]
    assert keypair["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert keypair["fingerprint"] == x509_fingerprint(keypair["public_key"])
    shown = compute_member.get("/v2.1/os-keypairs/cert", headers=V2_2).get_json()["keypair"]
    assert shown["type"] == "x509" and "private_key" not in shown
    again = {"name": "cert2", "type": "x509", "public_key": keypair["public_key"]}
    imported = compute_member.post("/v2.1/os-keypairs", json={"keypair": again}, headers=V2_2)
    assert imported.get_json()["keypair"]["fingerprint"] == keypair["fingerprint"]
    bad = {"name": "cert3", "type": "x509", "public_key": "not a certificate"}
    response = compute_member.post("/v2.1/os-keypairs", json={"keypair": bad}, headers=V2_2)
    assert_fault(response, 400, "badRequest", "X509")


def test_keypair_fields_follow_the_microversion(compute_member):
    typed = {"keypair": {"name": "k", "type": "ssh"}}
    assert_fault(compute_member.post("/v2.1/os-keypairs", json=typed), 400, "badRequest", "type")
    owned = {"keypair": {"name": "k", "user_id": "demo-user"}}
    response = compute_member.post("/v2.1/os-keypairs", json=owned, headers=V2_2)
    assert_fault(response, 400, "badRequest", "user_id")
    assert compute_member.get("/v2.1/os-keypairs").get_json()["keypairs"] == []


def test_admin_manages_keypairs_of_another_user(compute_admin, compute_member):
    body = {"keypair": {"name": "theirs", "type": "ssh", "user_id": "demo-user"}}
    created = compute_admin.post("/v2.1/os-keypairs", json=body, headers=V2_10)
    assert created.status_code == 201 and created.get_json()["keypair"]["user_id"] == "demo-user"
    shown = compute_admin.get("/v2.1/os-keypairs/theirs?user_id=demo-user", headers=V2_10)
    assert shown.get_json()["keypair"]["user_id"] == "demo-user"
    assert [
        k["keypair"]["name"] for k in compute_member.get("/v2.1/os-keypairs").get_json()["keypairs"]
    ] == ["theirs"]
    assert compute_admin.get("/v2.1/os-keypairs", headers=V2_10).get_json()["keypairs"] == []
    listed = compute_admin.get("/v2.1/os-keypairs?user_id=demo-user", headers=V2_10).get_json()
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["theirs"]
    deleted = compute_admin.delete("/v2.1/os-keypairs/theirs?user_id=demo-user", headers=V2_10)
    assert deleted.status_code == 204
    assert compute_member.get("/v2.1/os-keypairs").get_json()["keypairs"] == []


def test_members_may_not_make_keypairs_for_others(compute_member):
    body = {"keypair": {"name": "k", "user_id": "admin-user"}}
    response = compute_member.post("/v2.1/os-keypairs", json=body, headers=V2_10)
    assert_fault(response, 403, "forbidden")
    mine = {"keypair": {"name": "k", "user_id": "demo-user"}}
    assert compute_member.post("/v2.1/os-keypairs", json=mine, headers=V2_10).status_code == 201


def test_availability_zones_come_from_pods(compute_member, compute_admin):
    zones = compute_member.get("/v2.1/os-availability-zone").get_json()["availabilityZoneInfo"]
    assert [zone["zoneName"] for zone in zones] == ["az1", "az2"]
    assert_fault(compute_member.get("/v2.1/os-availability-zone/detail"), 403, "forbidden")
    detail = compute_admin.get("/v2.1/os-availability-zone/detail").get_json()
    assert "Pod1" in detail["availabilityZoneInfo"][0]["hosts"]


def test_unknown_paths_and_methods_are_nova_faults(compute_member):
    assert_fault(compute_member.get("/v2.1/nothing-here"), 404, "itemNotFound")
    assert_fault(compute_member.request("PATCH", "/v2.1/flavors"), 405, "badMethod")


def test_bad_update_and_action_bodies_are_nova_400(compute_member):
    server = "/v2.1/servers/9e1f0c55-0000-4000-8000-000000000000"
    assert_fault(
        compute_member.put(server, json={"server": {"name": ""}}), 400, "badRequest", "'name'"
    )
    assert_fault(compute_member.put(server, json={"servers": {}}), 400, "badRequest", "'server'")
    two = {"pause": None, "unpause": None}
    assert_fault(compute_member.post(f"{server}/action", json=two), 400, "badRequest", "")
    resize = {"resize": {}}
    assert_fault(
        compute_member.post(f"{server}/action", json=resize), 400, "badRequest", "flavorRef"
    )


def test_a_negative_or_non_integer_limit_is_nova_400(compute_member):
    for limit in ("-1", "x"):
        response = compute_member.get(f"/v2.1/servers?limit={limit}")
        assert_fault(response, 400, "badRequest", "'limit'")


def test_an_empty_id_is_404_not_the_collection(compute_member):
    for method, path in (("DELETE", "/v2.1/images/"), ("GET", "/v2.1/os-security-groups/")):
        assert_fault(compute_member.request(method, path), 404, "itemNotFound")
    assert compute_member.get("/v2.1/flavors").status_code == 200

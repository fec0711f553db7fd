"""Policy (403 for non-admins, overridable by file), auth_token wiring (401), fault bodies, logs."""

from __future__ import annotations

import logging

import pytest
from admin_api_helpers import assert_fault
from keystonemiddleware import opts as auth_token_opts
from oslo_config import cfg
from sqlalchemy import exc as sa_exc

from tricircle import conf as tricircle_conf
from tricircle.api import auth, errors, policy
from tricircle.api.admin.app import create_app
from tricircle.api.gateway import REQUEST_ID_HEADER

ENDPOINTS = [
    ("POST", "/v1.0/pods", {"pod": {"region_name": "Pod1", "az_name": "az1"}}),
    ("GET", "/v1.0/pods", None),
    ("GET", "/v1.0/pods/some-pod", None),
    ("PUT", "/v1.0/pods/some-pod", {"pod": {"is_enabled": False}}),
    ("DELETE", "/v1.0/pods/some-pod", None),
    ("POST", "/v1.0/bindings", {"pod_binding": {"project_id": "p1", "pod_id": "x"}}),
    ("GET", "/v1.0/bindings", None),
    ("GET", "/v1.0/bindings/some-binding", None),
    ("DELETE", "/v1.0/bindings/some-binding", None),
    ("GET", "/v1.0/routings", None),
    ("GET", "/v1.0/routings/1", None),
    ("DELETE", "/v1.0/routings/1", None),
    ("POST", "/v1.0/jobs", {"job": {"type": "router_setup", "resource_id": "r1"}}),
    ("GET", "/v1.0/jobs", None),
    ("GET", "/v1.0/jobs/some-job", None),
    ("PUT", "/v1.0/jobs/some-job/redo", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_member_is_forbidden_everywhere(member, method, path, body):
    response = member.request(method, path, json=body)
    assert_fault(response, 403, "forbidden")


def test_caller_without_identity_is_forbidden(app):
    assert_fault(app.test_client().get("/v1.0/pods"), 403, "forbidden")


def test_every_rule_guards_one_endpoint():
    names = {rule.name for rule in policy.list_rules()}
    assert names - {policy.ADMIN_API} == {
        f"tricircle:{resource}:{action}"
        for resource, actions in {
            "pods": ("create", "list", "show", "update", "delete"),
            "bindings": ("create", "list", "show", "delete"),
            "routings": ("list", "show", "delete"),
            "jobs": ("create", "list", "show", "redo"),
        }.items()
        for action in actions
    }
    assert len(ENDPOINTS) == len(names) - 1


def test_policy_file_can_open_a_rule_to_members(admin_conf, session_factory, tmp_path, member):
    (tmp_path / "policy.yaml").write_text('"tricircle:pods:list": "role:member"\n')
    client_app = create_app(admin_conf, session_factory)
    member.client = client_app.test_client()
    assert member.get("/v1.0/pods").status_code == 200
    assert_fault(member.post("/v1.0/pods", json=ENDPOINTS[0][2]), 403, "forbidden")


def test_keystone_mode_answers_401_without_a_token(admin_conf, session_factory):
    for group, opts in auth_token_opts.list_auth_token_opts():
        admin_conf.register_opts(opts, group=group)
    admin_conf.set_override("auth_strategy", "keystone", group="api")
    uri = "http://keystone.invalid/identity/v3"
    admin_conf.set_override("www_authenticate_uri", uri, group="keystone_authtoken")
    app = create_app(admin_conf, session_factory)
    response = app.test_client().get(
        "/v1.0/pods", headers={"X-Roles": "admin", "X-Project-Id": "spoofed"}
    )
    assert response.status_code == 401
    assert uri in response.headers["WWW-Authenticate"]


def _no_app(environ, start_response):
    raise AssertionError("not called")


def test_keystone_mode_validates_tokens_without_their_service_catalog(admin_conf):
    admin_conf.set_override("auth_strategy", "keystone", group="api")
    auth.wrap_with_auth(_no_app, admin_conf)
    assert admin_conf.keystone_authtoken.include_service_catalog is False


def test_a_config_file_can_still_ask_for_the_service_catalog(tmp_path):
    config = tmp_path / "tricircle.conf"
    config.write_text("[keystone_authtoken]\ninclude_service_catalog = true\n")
    conf = cfg.ConfigOpts()
    conf.register_opts(tricircle_conf.api_opts, group="api")
    conf([], project="tricircle", default_config_files=[str(config)])
    auth.wrap_with_auth(_no_app, conf)
    assert conf.keystone_authtoken.include_service_catalog is True


def test_unknown_path_and_method_answer_faults(admin):
    assert_fault(admin.get("/v1.0/nothing-here"), 404, "itemNotFound")
    assert_fault(admin.put("/v1.0/pods"), 405, "badMethod")


def test_unexpected_error_is_a_500_without_internals(admin, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret database detail")

    monkeypatch.setattr("tricircle.db.pods.list_pods", explode)
    message = assert_fault(admin.get("/v1.0/pods"), 500, "serverError")
    assert "secret" not in message


def test_database_outage_is_a_503_to_try_again(admin, monkeypatch, caplog):
    def refuse(*_args, **_kwargs):
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("tricircle.db.pods.list_pods", refuse)
    with caplog.at_level("WARNING", logger="tricircle.api.errors"):
        message = assert_fault(admin.get("/v1.0/pods"), 503, "serviceUnavailable")
    assert message == errors.DATABASE_UNAVAILABLE
    assert not [r for r in caplog.records if r.exc_info is not None]


def test_fault_for_maps_framework_errors():
    assert isinstance(errors.fault_for(errors.Conflict("x")), errors.Conflict)
    assert errors.fault_for(ValueError("x")).code == 500


def test_each_request_is_logged_with_its_id(admin, caplog):
    with caplog.at_level(logging.INFO, logger="tricircle.api.admin.access"):
        response = admin.get("/v1.0/pods")
    request_id = response.headers[REQUEST_ID_HEADER]
    assert request_id.startswith("req-")
    [record] = [r for r in caplog.records if r.name == "tricircle.api.admin.access"]
    assert record.tricircle == {
        "request_id": request_id,
        "method": "GET",
        "path": "/v1.0/pods",
        "status": 200,
        "duration_ms": record.tricircle["duration_ms"],
        "project_id": "admin-project",
        "user_id": "admin-user",
        "remote_addr": "127.0.0.1",
    }
    assert f"request_id={request_id}" in record.getMessage()
    assert "status=200" in record.getMessage()


@pytest.mark.parametrize(
    "path",
    ["/v1.0/pods/a%00b", "/v1.0/pods?az_name=%00", "/v1.0/jobs?marker=%00", "/v1.0/jobs/%00/redo"],
)
def test_nul_in_the_url_is_a_bad_request(admin, path):
    assert_fault(admin.get(path), 400, "badRequest", "NUL")


def test_nul_in_a_body_string_names_the_field(admin):
    response = admin.post("/v1.0/pods", json={"pod": {"region_name": "Pod\u00001"}})
    assert_fault(response, 400, "badRequest", "pod.region_name", "NUL")

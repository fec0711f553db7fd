"""Bad input on the admin API: every answer a 4xx in its shape, nothing stored.

The named tests are the examples of issue 15; the Hypothesis tests (fixed seed) throw generated
hostile bodies at the routes that create.
"""

from __future__ import annotations

import json

import pytest
from admin_api_helpers import (
    ADMIN_HEADERS,
    BrokenChunks,
    Caller,
    assert_fault,
    post_chunked,
    url_of_length,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tricircle.api.admin.app import create_app

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN_FAULTS = {
    400: "badRequest",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    414: "serverError",
    415: "badMediaType",
}


def assert_admin_4xx(response) -> None:
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, text
    body = response.get_json()
    assert isinstance(body, dict) and len(body) == 1, text
    ((name, fault),) = body.items()
    assert name == ADMIN_FAULTS[response.status_code], body
    assert fault["code"] == response.status_code


@pytest.fixture
def keystone_admin(admin_conf, session_factory) -> Caller:
    """The admin API of a cloud whose Keystone knows RegionOne, Pod1 and Pod2."""
    regions = frozenset({"RegionOne", "Pod1", "Pod2"})
    app = create_app(admin_conf, session_factory, keystone_regions=lambda: regions)
    return Caller(app.test_client(), ADMIN_HEADERS)


def test_a_pod_of_a_region_keystone_does_not_know_is_400(keystone_admin):
    response = keystone_admin.post("/v1.0/pods", json={"pod": {"region_name": "NoSuchRegion"}})
    assert_fault(response, 400, "badRequest", "NoSuchRegion")
    assert keystone_admin.get("/v1.0/pods").get_json()["pods"] == []


def test_a_pod_of_a_known_region_is_created(keystone_admin):
    response = keystone_admin.post("/v1.0/pods", json={"pod": {"region_name": "Pod1"}})
    assert response.status_code == 201, response.get_json()


def test_deeply_nested_body_is_a_4xx_in_shape(admin):
    raw = b"[" * 100_000 + b"]" * 100_000
    assert_fault(
        admin.post("/v1.0/pods", data=raw, content_type="application/json"), 413, "overLimit"
    )
    raw = b"{" + b'"a":{' * 15_000 + b"}" * 15_001
    response = admin.post("/v1.0/pods", data=raw, content_type="application/json")
    assert_fault(response, 400, "badRequest")


def test_a_chunked_body_over_the_limit_is_413_in_shape(app, admin_conf):
    limit = admin_conf.request.max_body_bytes
    body = json.dumps({"pod": {"region_name": "x" * limit}}).encode()
    assert_fault(post_chunked(app, "/v1.0/pods", body, ADMIN_HEADERS), 413, "overLimit", "large")
    padded = json.dumps({"pod": {"region_name": "Pod1"}}).encode().ljust(limit + 1)
    assert_fault(post_chunked(app, "/v1.0/pods", padded, ADMIN_HEADERS), 413, "overLimit")


def test_an_undecodable_chunked_body_is_400_in_shape(app):
    response = post_chunked(app, "/v1.0/pods", BrokenChunks(), ADMIN_HEADERS)
    assert_fault(response, 400, "badRequest", "chunked")


def test_a_chunked_body_at_the_limit_is_read_whole(app, admin_conf):
    body = json.dumps({"pod": {"region_name": "Pod1"}}).encode()
    padded = body.ljust(admin_conf.request.max_body_bytes)
    response = post_chunked(app, "/v1.0/pods", padded, ADMIN_HEADERS)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["pod"]["region_name"] == "Pod1"


def test_nul_in_a_region_is_400(admin):
    response = admin.post("/v1.0/pods", json={"pod": {"region_name": "Pod\u00001"}})
    assert_fault(response, 400, "badRequest", "NUL")


def test_url_over_the_limit_is_414_in_shape(admin, admin_conf):
    limit = admin_conf.request.max_url_length
    response = admin.get(url_of_length("/v1.0/pods?region_name=", limit + 1))
    assert_fault(response, 414, "serverError", f"URL is {limit + 1} ", f"at most {limit} ")
    assert_fault(admin.get("/nowhere?x=" + "x" * limit), 414, "serverError")


def test_url_at_the_limit_is_served(admin, admin_conf):
    url = url_of_length("/v1.0/pods?region_name=", admin_conf.request.max_url_length)
    response = admin.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"pods": []}


def test_the_url_limit_is_read_from_the_request_options(admin_conf, session_factory):
    admin_conf.set_override("max_url_length", 256, group="request")
    admin = Caller(create_app(admin_conf, session_factory).test_client(), ADMIN_HEADERS)
    assert admin.get(url_of_length("/v1.0/pods?region_name=", 256)).status_code == 200
    response = admin.get(url_of_length("/v1.0/pods?region_name=", 257))
    assert_fault(response, 414, "serverError", "at most 256 ")


@pytest.mark.parametrize(
    ("method", "path", "code", "name"),
    [
        ("GET", "/v1.0/nothing", 404, "itemNotFound"),
        ("GET", "/", 404, "itemNotFound"),
        ("PATCH", "/v1.0/pods", 405, "badMethod"),
    ],
)
def test_framework_errors_are_in_the_admin_shape(admin, method, path, code, name):
    assert_fault(admin.request(method, path), code, name)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    resource=st.sampled_from([("pods", "pod"), ("bindings", "pod_binding")]),
    field=st.sampled_from(["region_name", "az_name", "is_enabled", "project_id", "pod_id", "x"]),
    value=JSON_VALUES,
)
def test_fuzz_create_fields(admin, resource, field, value):
    collection, key = resource
    response = admin.post(f"/v1.0/{collection}", json={key: {field: value}})
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert_admin_4xx(response)


@FUZZ
@given(raw=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzz_raw_bodies(admin, raw):
    for path in ("/v1.0/pods", "/v1.0/bindings"):
        response = admin.post(path, data=raw, content_type="application/json")
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        assert_admin_4xx(response)


@FUZZ
@given(item_id=st.text(min_size=1, max_size=40))
def test_fuzz_item_ids(admin, item_id):
    from urllib.parse import quote

    for collection in ("pods", "bindings", "routings", "jobs"):
        for method in ("GET", "PUT", "DELETE"):
            response = admin.request(
                method, f"/v1.0/{collection}/{quote(item_id, safe='')}", json={"pod": {}}
            )
            assert response.status_code < 500, response.get_data(as_text=True)
            if response.status_code >= 400:
                assert_admin_4xx(response)

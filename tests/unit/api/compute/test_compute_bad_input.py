"""Bad input on the Nova gateway: every answer a 4xx in Nova's shape, nothing asked of a pod.

The named tests are the examples of issue 15; the Hypothesis tests (fixed seed) throw generated
hostile bodies, IDs and headers at the routes.
"""

from __future__ import annotations

import json

import pytest
from admin_api_helpers import (
    MEMBER_HEADERS,
    BrokenChunks,
    assert_fault,
    post_chunked,
    url_of_length,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NET = "6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11"
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOVA_FAULTS = {
    400: "badRequest",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "computeFault",
    409: "conflictingRequest",
    413: "overLimit",
    414: "computeFault",
    415: "badMediaType",
}


def boot(**server: object) -> dict:
    return {
        "server": {"name": "vm", "flavorRef": "1", "imageRef": "img", "networks": "none", **server}
    }


def assert_nova_4xx(response) -> None:
    """A 4xx whose body is one Nova fault naming its code."""
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict) and len(body) == 1, response.get_data(as_text=True)
    ((name, fault),) = body.items()
    assert name == NOVA_FAULTS[response.status_code], body
    assert fault["code"] == response.status_code and isinstance(fault["message"], str)


@pytest.fixture
def pod_calls(admin_pods, monkeypatch):
    """Every path sent to a pod by the gateway (none are expected)."""
    sent: list[str] = []

    def refuse(self, method, path, **kwargs):
        sent.append(path)
        raise AssertionError(f"a pod was called: {method} {path}")

    from tricircle.pods.client import PodClient

    monkeypatch.setattr(PodClient, "send", refuse)
    return sent


def post_boot(caller, body: object, microversion: str = "2.37"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return caller.post(
        "/v2.1/servers",
        data=raw,
        content_type="application/json",
        headers={"OpenStack-API-Version": f"compute {microversion}"},
    )


def test_nul_in_availability_zone_is_400(compute_member, pod_calls):
    assert_fault(post_boot(compute_member, boot(availability_zone="az1\u0000")), 400, "badRequest")


@pytest.mark.parametrize(
    "uuid", [f"{NET}?fields=id", "../ports", f"../networks/{NET}", f"{NET}/", f"{NET}#x"]
)
def test_network_uuid_that_is_not_a_uuid_is_400(compute_member, pod_calls, uuid):
    response = post_boot(compute_member, boot(networks=[{"uuid": uuid}]))
    assert_fault(response, 400, "badRequest", "Bad networks format")
    assert pod_calls == []


def test_deeply_nested_body_is_a_4xx_in_shape(compute_member, pod_calls):
    """100,000 deep is over the body limit (413); 50,000 deep fits and is refused (400)."""
    raw = b"[" * 100_000 + b"]" * 100_000
    assert_fault(post_boot(compute_member, raw), 413, "overLimit")
    raw = b"[" * 50_000 + b"]" * 50_000
    assert_fault(post_boot(compute_member, raw), 400, "badRequest", "Malformed request body")


def test_nesting_above_the_limit_is_400(compute_member, pod_calls):
    deep: object = "x"
    for _ in range(70):
        deep = {"k": deep}
    assert_fault(post_boot(compute_member, boot(metadata=deep)), 400, "badRequest", "nested")


def test_forced_host_by_a_member_is_403(compute_member, pod_calls):
    response = post_boot(compute_member, boot(availability_zone="az1:nosuchhost"))
    assert_fault(response, 403, "forbidden", "create:forced_host")


def test_unparsable_zone_is_400(compute_admin, pod_calls):
    response = post_boot(compute_admin, boot(availability_zone="a:b:c:d"))
    assert_fault(response, 400, "badRequest", "availability_zone")


@pytest.mark.parametrize(
    ("body", "microversion"),
    [
        ({**boot(), "bogus": 1}, "2.37"),
        (boot(bogus=1), "2.37"),
        (boot(description="d"), "2.18"),
        (boot(hostname="h"), "2.89"),
        (boot(personality=[]), "2.57"),
    ],
)
def test_unknown_keys_at_the_microversion_are_400(compute_member, pod_calls, body, microversion):
    response = post_boot(compute_member, body, microversion)
    assert_fault(response, 400, "badRequest", "Additional properties")


@pytest.mark.parametrize(
    "hints",
    [
        {"group": "not-a-uuid"},
        {"different_host": 5},
        {"same_host": ["x"]},
        {"cidr": "10.0.0.0/8"},
        {"build_near_host_ip": "x"},
        "x",
    ],
)
def test_malformed_scheduler_hints_are_400(compute_member, pod_calls, hints):
    body = {**boot(), "os:scheduler_hints": hints}
    assert_fault(post_boot(compute_member, body), 400, "badRequest")


def test_content_type_that_is_not_json_is_415(compute_member, pod_calls):
    response = compute_member.post(
        "/v2.1/servers", data=json.dumps(boot()), content_type="garbage/garbage"
    )
    assert_fault(response, 415, "badMediaType", "Unsupported Content-Type")


def test_empty_legacy_microversion_header_is_400(compute_member):
    response = compute_member.get("/v2.1/flavors", headers={"X-OpenStack-Nova-API-Version": ""})
    assert_fault(response, 400, "badRequest", "invalid format")


def test_body_over_the_limit_is_413_in_shape(compute_member, pod_calls):
    response = post_boot(compute_member, boot(metadata={"k": "v" * 200_000}))
    assert_fault(response, 413, "overLimit", "too large")


def test_chunked_body_over_the_limit_is_413_in_shape(compute_app, pod_calls):
    body = json.dumps(boot(metadata={"k": "v" * 200_000})).encode()
    response = post_chunked(compute_app, "/v2.1/servers", body, MEMBER_HEADERS)
    assert_fault(response, 413, "overLimit", "too large")


def test_undecodable_chunked_body_is_400_in_shape(compute_app, pod_calls):
    response = post_chunked(compute_app, "/v2.1/servers", BrokenChunks(), MEMBER_HEADERS)
    assert_fault(response, 400, "badRequest", "chunked")


def test_url_over_the_limit_is_414_in_shape(compute_member, admin_conf):
    limit = admin_conf.request.max_url_length
    response = compute_member.get(url_of_length("/v2.1/flavors?name=", limit + 1))
    assert_fault(response, 414, "computeFault", f"URL is {limit + 1} ", f"at most {limit} ")
    assert_fault(compute_member.get("/nowhere?x=" + "x" * limit), 414, "computeFault")


def test_url_at_the_limit_is_served(compute_member, admin_conf):
    url = url_of_length("/v2.1/flavors?name=", admin_conf.request.max_url_length)
    response = compute_member.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "flavors" in response.get_json()


@pytest.mark.parametrize(
    ("method", "path", "code", "name"),
    [
        ("GET", "/v2.1/no-such-collection", 404, "itemNotFound"),
        ("GET", "/nowhere", 404, "itemNotFound"),
        ("PATCH", "/v2.1/servers", 405, "badMethod"),
    ],
)
def test_framework_errors_are_in_nova_shape(compute_member, method, path, code, name):
    assert_fault(compute_member.request(method, path), code, name)


def test_versions_answer_without_a_token(compute_app):
    client = compute_app.test_client()
    assert [v["id"] for v in client.get("/").get_json()["versions"]] == ["v2.0", "v2.1"]
    assert client.get("/v2.1").get_json()["version"]["id"] == "v2.1"


def test_project_id_in_the_url_is_served_as_without(compute_member):
    with_project = compute_member.get("/v2.1/0123456789abcdef0123456789abcdef/flavors")
    assert_fault(with_project, 400, "badRequest", "doesn't match Context's project_id")
    mine = {**MEMBER_HEADERS, "X-Project-Id": "0123456789abcdef0123456789abcdef"}
    response = compute_member.client.get(
        "/v2.1/0123456789abcdef0123456789abcdef/flavors", headers=mine
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "flavors" in response.get_json()


HOSTILE_IDS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["..", ".", "../ports", "%2e%2e", "a?b=c", "a#b", "a/", "%00", "%2F"]),
)


@FUZZ
@given(
    server_id=HOSTILE_IDS,
    suffix=st.sampled_from(
        ["", "/action", "/metadata/k", "/os-interface", "/os-volume_attachments"]
    ),
)
def test_fuzz_server_ids_never_reach_a_pod(compute_member, pod_calls, server_id, suffix):
    from urllib.parse import quote

    path = f"/v2.1/servers/{quote(server_id, safe='')}{suffix}"
    for method in ("GET", "DELETE", "POST", "PUT"):
        response = compute_member.request(method, path, json={"x": 1})
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert_nova_4xx(response)
    assert pod_calls == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
SERVER_FIELDS = st.sampled_from(
    [
        "name",
        "flavorRef",
        "imageRef",
        "availability_zone",
        "networks",
        "key_name",
        "metadata",
        "min_count",
        "max_count",
        "security_groups",
        "block_device_mapping_v2",
        "bogus",
        "host",
    ]
)


@FUZZ
@given(
    field=SERVER_FIELDS,
    value=JSON_VALUES,
    microversion=st.sampled_from(["2.1", "2.37", "2.74", "2.100"]),
)
def test_fuzz_server_create_fields(compute_member, pod_calls, field, value, microversion):
    response = post_boot(compute_member, boot(**{field: value}), microversion)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert_nova_4xx(response)
    assert pod_calls == []


@FUZZ
@given(raw=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzz_raw_bodies(compute_member, pod_calls, raw):
    for path in ("/v2.1/servers", "/v2.1/os-keypairs", "/v2.1/flavors", "/v2.1/os-server-groups"):
        response = compute_member.post(path, data=raw, content_type="application/json")
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        assert_nova_4xx(response)


@FUZZ
@given(
    name=st.sampled_from(
        [
            "OpenStack-API-Version",
            "X-OpenStack-Nova-API-Version",
            "Content-Type",
            "X-Auth-Token",
            "Accept",
        ]
    ),
    value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
def test_fuzz_headers(compute_admin, name, value):
    response = compute_admin.get("/v2.1/flavors", headers={name: value})
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert_nova_4xx(response)

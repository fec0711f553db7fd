"""Bad input on the Cinder gateway: every answer a 4xx in Cinder's shape, nothing made in a pod.

The named tests are the examples of issue 15; the Hypothesis tests (fixed seed) throw generated
hostile bodies and IDs at the routes.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from admin_api_helpers import MEMBER_HEADERS, post_chunked, url_of_length
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CINDER_FAULTS = {
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


def assert_cinder_4xx(response, code: int | None = None) -> str:
    """A 4xx (``code`` if given) whose body is one Cinder fault; its message."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, text
    assert code is None or response.status_code == code, text
    body = response.get_json()
    assert isinstance(body, dict) and len(body) == 1, text
    ((name, fault),) = body.items()
    assert name == CINDER_FAULTS[response.status_code], body
    assert fault["code"] == response.status_code
    return fault["message"]


def made(fake_pods) -> int:
    """How many volumes and snapshots every pod holds."""
    return sum(
        len(pod.records[collection])
        for pod in fake_pods.pods.values()
        for collection in ("volumes", "snapshots")
    )


def create(client, **volume: object):
    return client.post("/v3/volumes", json={"volume": {"size": 1, **volume}})


def test_size_that_only_int_reads_as_a_digit_is_400(client, fake_pods):
    assert "size" in assert_cinder_4xx(create(client, size="²"), 400)
    assert made(fake_pods) == 0


@pytest.mark.parametrize("field", ["snapshot_id", "source_volid"])
def test_source_ids_of_the_wrong_json_type_are_400(client, fake_pods, field):
    assert field in assert_cinder_4xx(create(client, **{field: 5}), 400)
    assert field in assert_cinder_4xx(create(client, **{field: "../volumes"}), 400)
    assert made(fake_pods) == 0


def test_nul_in_the_path_is_400(client, fake_pods):
    assert_cinder_4xx(client.get("/v3/volumes/%00"), 400)
    assert all(not pod.calls for pod in fake_pods.pods.values())


def test_nul_in_a_list_filter_is_400_not_an_empty_list(client, fake_pods):
    assert_cinder_4xx(client.get("/v3/volumes/detail?name=%00"), 400)


def test_nul_in_a_name_is_400(client, fake_pods):
    assert_cinder_4xx(create(client, name="a\u0000b"), 400)
    assert made(fake_pods) == 0


def test_deeply_nested_body_is_a_4xx_in_shape(client, fake_pods):
    raw = b"[" * 100_000 + b"]" * 100_000
    assert_cinder_4xx(client.post("/v3/volumes", data=raw, content_type="application/json"), 413)
    raw = b"[" * 50_000 + b"]" * 50_000
    response = client.post("/v3/volumes", data=raw, content_type="application/json")
    assert_cinder_4xx(response, 400)


def test_content_type_that_is_not_json_is_415(client, fake_pods):
    response = client.post("/v3/volumes", data=b"{}", content_type="garbage/garbage")
    assert_cinder_4xx(response, 415)


def test_chunked_body_over_the_limit_is_413_in_shape(volume_app, fake_pods):
    body = json.dumps({"volume": {"size": 1, "description": "x" * 200_000}}).encode()
    assert_cinder_4xx(post_chunked(volume_app, "/v3/volumes", body, MEMBER_HEADERS), 413)
    assert made(fake_pods) == 0


def test_url_over_the_limit_is_414_in_shape(client, admin_conf, fake_pods):
    limit = admin_conf.request.max_url_length
    message = assert_cinder_4xx(client.get(url_of_length("/v3/volumes?name=", limit + 1)), 414)
    assert f"URL is {limit + 1} " in message and f"at most {limit} " in message
    assert_cinder_4xx(client.get("/nowhere?x=" + "x" * limit), 414)
    assert all(not pod.calls for pod in fake_pods.pods.values())


def test_url_at_the_limit_is_served(client, admin_conf):
    response = client.get(url_of_length("/v3/volumes?name=", admin_conf.request.max_url_length))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"volumes": []}


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("GET", "/v3/nothing-here", 404), ("GET", "/v9", 404), ("PATCH", "/v3/volumes", 405)],
)
def test_framework_errors_are_in_cinder_shape(client, method, path, code):
    assert_cinder_4xx(client.open(path, method=method), code)


def test_versions_answer_without_a_token(volume_app):
    client = volume_app.test_client()
    assert client.get("/").status_code == 300
    assert client.get("/v3").get_json()["versions"][0]["id"] == "v3.0"


HOSTILE_IDS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["..", ".", "../snapshots", "a?b=c", "a#b", "a/", "%2F", "5"]),
)


@FUZZ
@given(
    volume_id=HOSTILE_IDS,
    suffix=st.sampled_from(["", "/action", "/metadata", "/metadata/k"]),
    collection=st.sampled_from(["volumes", "snapshots"]),
)
def test_fuzz_ids_reach_pods_only_as_one_quoted_segment(
    client, fake_pods, volume_id, suffix, collection
):
    path = f"/v3/{collection}/{quote(volume_id, safe='')}{suffix}"
    for method in ("GET", "DELETE", "POST", "PUT"):
        response = client.open(path, method=method, json={"x": 1})
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert_cinder_4xx(response)
    for pod in fake_pods.pods.values():
        for _, sent, _, _ in pod.calls:
            parts = sent.strip("/").split("/")
            assert ".." not in parts and "?" not in sent and "#" not in sent, sent


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
VOLUME_FIELDS = st.sampled_from(
    [
        "size",
        "name",
        "description",
        "volume_type",
        "availability_zone",
        "snapshot_id",
        "source_volid",
        "metadata",
        "bogus",
    ]
)


@FUZZ
@given(field=VOLUME_FIELDS, value=JSON_VALUES)
def test_fuzz_volume_create_fields(client, fake_pods, field, value):
    before = made(fake_pods)
    response = create(client, **{field: value})
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert_cinder_4xx(response)
        assert made(fake_pods) == before


@FUZZ
@given(raw=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzz_raw_bodies(client, fake_pods, raw):
    for path in ("/v3/volumes", "/v3/snapshots", "/v3/types"):
        response = client.post(path, data=raw, content_type="application/json")
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        assert_cinder_4xx(response)


def test_unknown_keys_beside_the_volume_are_400(client, fake_pods):
    response = client.post("/v3/volumes", json={"volume": {"size": 1}, "bogus": 1})
    assert "bogus" in assert_cinder_4xx(response, 400)
    assert made(fake_pods) == 0

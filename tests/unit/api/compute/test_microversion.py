"""Microversion parsing and negotiation, and how the gateway answers them."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute import microversion
from tricircle.api.compute.microversion import Microversion, NotAcceptable
from tricircle.api.errors import BadRequest

MAX = Microversion(2, 96)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"OpenStack-API-Version": "compute 2.60"}, "2.60"),
        ({"OpenStack-API-Version": "volume 3.1, compute latest"}, "latest"),
        ({"OpenStack-API-Version": "volume 3.1"}, None),
        ({"X-OpenStack-Nova-API-Version": "2.10"}, "2.10"),
        ({}, None),
    ],
)
def test_requested_reads_either_header(headers, expected):
    assert microversion.requested(headers) == expected


def test_negotiate_defaults_to_the_minimum_and_latest_to_the_maximum():
    assert microversion.negotiate(None, MAX) == Microversion(2, 1)
    assert microversion.negotiate("latest", MAX) == MAX
    assert microversion.negotiate("2.60", MAX) == Microversion(2, 60)


@pytest.mark.parametrize("asked", ["2.97", "3.0", "2.0", "1.1"])
def test_negotiate_refuses_versions_out_of_range(asked):
    with pytest.raises(NotAcceptable) as raised:
        microversion.negotiate(asked, MAX)
    assert raised.value.code == 406
    assert "Minimum is 2.1 and maximum is 2.96" in raised.value.message


@pytest.mark.parametrize("asked", ["2", "2.x", "02.1", "2.01", "abc", "2.1.1"])
def test_negotiate_refuses_malformed_versions(asked):
    with pytest.raises(BadRequest, match="is of invalid format"):
        microversion.negotiate(asked, MAX)


def test_versions_compare_numerically():
    assert Microversion.parse("2.10") > Microversion.parse("2.9")
    assert microversion.lowest(Microversion(2, 100), [MAX, Microversion(2, 104)]) == MAX
    assert Microversion(2, 69).at_least("2.69") and not Microversion(2, 68).at_least("2.69")


def test_version_documents_advertise_the_lowest_pod_maximum(compute_member):
    root = compute_member.get("/")
    assert root.status_code == 200
    (version,) = root.get_json()["versions"]
    assert (version["id"], version["version"], version["min_version"]) == ("v2.1", "2.96", "2.1")
    assert version["links"][0]["href"].endswith("/v2.1/")
    assert compute_member.get("/v2.1").get_json()["version"]["version"] == "2.96"


def test_unreachable_pods_do_not_lower_the_maximum(compute_member, pod_versions):
    pod_versions.maximums["Pod2"] = None
    assert compute_member.get("/v2.1/").get_json()["version"]["version"] == "2.100"


def test_responses_carry_the_version_served(compute_member):
    response = compute_member.get(
        "/v2.1/os-availability-zone", headers={"OpenStack-API-Version": "compute 2.50"}
    )
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == "compute 2.50"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.50"
    assert "OpenStack-API-Version" in response.headers["Vary"]


def test_too_high_a_version_is_nova_406(compute_member):
    response = compute_member.get(
        "/v2.1/flavors", headers={"OpenStack-API-Version": "compute 2.97"}
    )
    assert_fault(response, 406, "computeFault", "Version 2.97 is not supported by the API")


def test_malformed_version_is_nova_400(compute_member):
    response = compute_member.get("/v2.1/flavors", headers={"X-OpenStack-Nova-API-Version": "2.x"})
    assert_fault(response, 400, "badRequest", "API Version String 2.x is of invalid format")

"""Microversion parsing and negotiation, and how the gateway answers them."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault
from werkzeug.datastructures import Headers

from tricircle.api.errors import BadRequest
from tricircle.api.microversions import COMPUTE, VOLUME, Microversion, NotAcceptable

MAX = Microversion(2, 96)
LEGACY = "X-OpenStack-Nova-API-Version"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"OpenStack-API-Version": "compute 2.60"}, Microversion(2, 60)),
        ({"OpenStack-API-Version": "volume 3.1, compute latest"}, MAX),
        ({"OpenStack-API-Version": "volume 3.1"}, Microversion(2, 1)),
        ({LEGACY: "2.10"}, Microversion(2, 10)),
        ({"OpenStack-API-Version": "compute 2.20", LEGACY: "2.10"}, Microversion(2, 20)),
        ({}, Microversion(2, 1)),
    ],
)
def test_either_header_is_read_and_none_means_the_minimum(headers, expected):
    assert COMPUTE.negotiate(headers, MAX) == expected


def test_the_volume_rules_read_only_the_volume_service():
    headers = {"OpenStack-API-Version": "compute 2.60, volume 3.50", LEGACY: "2.10"}
    assert VOLUME.negotiate(headers, Microversion(3, 70)) == Microversion(3, 50)
    assert VOLUME.negotiate({LEGACY: "3.5"}, Microversion(3, 70)) == Microversion(3, 0)
    assert VOLUME.response_headers(Microversion(3, 50)) == {
        "OpenStack-API-Version": "volume 3.50",
        "Vary": "OpenStack-API-Version",
    }


@pytest.mark.parametrize("asked", ["2.97", "3.0", "2.0", "1.1"])
def test_negotiate_refuses_versions_out_of_range(asked):
    with pytest.raises(NotAcceptable) as raised:
        COMPUTE.negotiate({LEGACY: asked}, MAX)
    assert raised.value.code == 406
    assert "Minimum is 2.1 and maximum is 2.96" in raised.value.message


@pytest.mark.parametrize("asked", ["2", "2.x", "02.1", "2.01", "abc", "2.1.1", "-2.1"])
def test_negotiate_refuses_malformed_versions(asked):
    with pytest.raises(BadRequest, match="is of invalid format"):
        COMPUTE.negotiate({"OpenStack-API-Version": f"compute {asked}"}, MAX)


def test_versions_compare_numerically_and_the_maximum_is_the_lowest_known():
    assert Microversion.parse("2.10") > Microversion.parse("2.9")
    assert COMPUTE.served_maximum([MAX, (2, 104), None]) == MAX
    assert COMPUTE.capped("2.90").served_maximum([MAX]) == Microversion(2, 90)
    assert COMPUTE.served_maximum([None]) == Microversion(2, 100)
    assert Microversion(2, 69).at_least("2.69") and not Microversion(2, 68).at_least("2.69")


def test_version_documents_advertise_the_lowest_pod_maximum(compute_member):
    root = compute_member.get("/")
    assert root.status_code == 200
    _v2, version = root.get_json()["versions"]
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


def test_responses_carry_the_request_id_in_both_of_novas_headers(compute_member):
    response = compute_member.get("/v2.1/os-availability-zone")
    request_id = response.headers["x-openstack-request-id"]
    assert request_id.startswith("req-")
    assert response.headers["x-compute-request-id"] == request_id


class ByNameOnly(Headers):
    """Request headers that may be read by name only, never copied whole."""

    def __iter__(self):
        raise AssertionError("every header was copied")


def test_negotiation_reads_the_version_headers_by_name_in_any_case():
    headers = ByNameOnly({"openstack-api-version": "compute 2.60", "X-Auth-Token": "t"})
    assert COMPUTE.negotiate(headers, MAX) == Microversion(2, 60)
    legacy = ByNameOnly({LEGACY.lower(): "2.10"})
    assert COMPUTE.negotiate(legacy, MAX) == Microversion(2, 10)
    assert VOLUME.negotiate(ByNameOnly({"Accept": "application/json"}), MAX) == Microversion(3, 0)

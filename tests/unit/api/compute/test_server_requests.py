"""Checks of server create bodies before anything is made."""

from __future__ import annotations

import json

import pytest

from tricircle.api.compute.server_requests import parse_server_create
from tricircle.api.errors import BadRequest
from tricircle.api.microversions import Microversion

V2_1 = Microversion(2, 1)
V2_37 = Microversion(2, 37)
NET = "6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11"


def body(**server: object) -> bytes:
    return json.dumps(
        {"server": {"name": "vm", "flavorRef": "1", "imageRef": "img", **server}}
    ).encode()


def test_a_valid_body_is_read():
    parsed = parse_server_create(
        body(availability_zone="az1", networks=[{"uuid": NET}], key_name="k"), V2_37
    )
    assert (parsed.flavor_id, parsed.image_ref, parsed.availability_zone) == ("1", "img", "az1")
    assert parsed.networks == [{"uuid": NET}] and parsed.key_name == "k"


def test_several_servers_go_by_reservation():
    parsed = parse_server_create(body(min_count=2, max_count=3, networks="none"), V2_37)
    assert parsed.max_count == 3 and parsed.by_reservation
    assert parse_server_create(body(return_reservation_id=True), V2_1).by_reservation
    assert not parse_server_create(body(), V2_1).by_reservation


def test_max_count_defaults_to_min_count_and_networks_may_be_shared_by_several():
    parsed = parse_server_create(body(min_count=3, networks=[{"uuid": NET}]), V2_37)
    assert parsed.max_count == 3 and parsed.by_reservation
    assert parse_server_create(body(min_count="2", max_count="4"), V2_1).max_count == 4


def test_references_may_be_urls():
    parsed = parse_server_create(
        body(flavorRef="http://gw/flavors/42", imageRef="http://glance/images/abc"), V2_1
    )
    assert (parsed.flavor_id, parsed.image_ref) == ("42", "abc")


@pytest.mark.parametrize(
    ("raw", "version", "fragment"),
    [
        (b"{not json", V2_1, "Malformed request body"),
        (b"[]", V2_1, "must be a JSON object"),
        (json.dumps({"servers": {}}).encode(), V2_1, "'server'"),
        (body(name=""), V2_1, "'name'"),
        (body(flavorRef=None), V2_1, "'flavorRef'"),
        (body(imageRef=None), V2_1, "'imageRef'"),
        (body(), V2_37, "'networks'"),
        (body(networks="none"), V2_1, "'networks'"),
        (body(networks="all"), V2_37, "'networks'"),
        (body(networks=[{"fixed_ip": "10.0.0.1"}]), V2_37, "'networks'"),
        (body(networks=[{"uuid": "n", "bogus": 1}]), V2_37, "'networks'"),
        (body(metadata={"a": 1}), V2_1, "'metadata'"),
        (body(max_count=3, networks=[{"port": NET}]), V2_37, "a single configured port ID"),
        (body(min_count=2, networks=[{"uuid": NET, "fixed_ip": "10.0.0.5"}]), V2_37, "fixed_ip"),
        (body(min_count=3, max_count=2), V2_1, "min_count must be <= max_count"),
        (body(min_count=3, max_count=1), V2_1, "min_count must be <= max_count"),
        (body(min_count=0), V2_1, "min_count"),
        (body(min_count="0"), V2_1, "min_count"),
        (body(max_count=0), V2_1, "max_count"),
        (body(min_count="two"), V2_1, "min_count"),
        (body(min_count=1.5), V2_1, "min_count"),
        (body(max_count="2.5"), V2_1, "max_count"),
        (body(max_count=True), V2_1, "max_count"),
        (body(return_reservation_id="yes"), V2_1, "return_reservation_id"),
        (body(availability_zone=5), V2_1, "'availability_zone'"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(raw, version, fragment):
    with pytest.raises(BadRequest) as raised:
        parse_server_create(raw, version)
    assert raised.value.code == 400
    assert fragment in raised.value.message

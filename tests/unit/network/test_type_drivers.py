"""The shared_vlan and local ML2 type drivers, without a database: allocation is ML2's, stubbed."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points

import pytest
from neutron.conf import common as neutron_common
from neutron.conf.plugins.ml2 import config as ml2_config
from neutron_lib import exceptions
from neutron_lib.api import validators
from neutron_lib.api.definitions import provider_net
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg

from tricircle.network.drivers.type_local import LocalTypeDriver
from tricircle.network.drivers.type_shared_vlan import SharedVlanTypeDriver
from tricircle.network.drivers.vlan_ranges import VlanRangeError, parse_vlan_ranges

ml2_config.register_ml2_plugin_opts()
cfg.CONF.register_opts(neutron_common.core_opts)


@pytest.fixture
def vlan_ranges() -> Iterator[Callable]:
    def configure(*entries: str) -> None:
        cfg.CONF.set_override("network_vlan_ranges", list(entries), group="tricircle")

    yield configure
    cfg.CONF.clear_override("network_vlan_ranges", group="tricircle")


class StubAllocations:
    """Stands in for ML2's allocation queries: hands out ``free`` VLANs on physnet1, then none."""

    def __init__(self, free: list[int]) -> None:
        self.free = free
        self.asked: list[dict] = []

    def partially(self, context, **filters):
        self.asked.append(filters)
        if not self.free:
            return None
        return types.SimpleNamespace(physical_network="physnet1", vlan_id=self.free.pop(0))

    def fully(self, context, **filters):
        self.asked.append(filters)
        return types.SimpleNamespace(**filters)


def make_driver(free: list[int]) -> tuple[SharedVlanTypeDriver, StubAllocations]:
    driver = SharedVlanTypeDriver()
    stub = StubAllocations(free)
    driver.allocate_partially_specified_segment = stub.partially
    driver.allocate_fully_specified_segment = stub.fully
    return driver, stub


def test_ranges_parse_in_order():
    assert parse_vlan_ranges(["physnet1:2000:2063", "physnet2:10:20", "physnet1:3000:3000"]) == {
        "physnet1": [(2000, 2063), (3000, 3000)],
        "physnet2": [(10, 20)],
    }
    assert parse_vlan_ranges([]) == {}


@pytest.mark.parametrize(
    "entry", ["physnet1", "physnet1:2000", "physnet1:a:10", "physnet1:20:10", "physnet1:1:4095"]
)
def test_bad_range_is_named(entry):
    with pytest.raises(VlanRangeError, match=entry):
        parse_vlan_ranges(["physnet2:1:2", entry])


def test_bad_range_stops_the_server(vlan_ranges):
    vlan_ranges("physnet1:2000:2063", "physnet1:2063:2000")
    with pytest.raises(SystemExit, match="physnet1:2063:2000"):
        SharedVlanTypeDriver()


def test_tenant_segment_is_shared_vlan(vlan_ranges):
    vlan_ranges("physnet1:2000:2063")
    driver, _ = make_driver([2042])
    assert driver.get_type() == "shared_vlan"
    segment = driver.allocate_tenant_segment(None)
    assert segment[api.NETWORK_TYPE] == "shared_vlan"
    assert (segment[api.PHYSICAL_NETWORK], segment[api.SEGMENTATION_ID]) == ("physnet1", 2042)


def test_exhausted_range_gives_no_segment(vlan_ranges):
    vlan_ranges("physnet1:2000:2063")
    driver, _ = make_driver([])
    assert driver.allocate_tenant_segment(None) is None
    with pytest.raises(exceptions.NoNetworkAvailable):
        driver.reserve_provider_segment(None, {api.PHYSICAL_NETWORK: "physnet1"})


def test_provider_request_gets_exactly_its_vlan(vlan_ranges):
    vlan_ranges("physnet1:2000:2063")
    driver, stub = make_driver([])
    wanted = {
        api.NETWORK_TYPE: "shared_vlan",
        api.PHYSICAL_NETWORK: "physnet1",
        api.SEGMENTATION_ID: 2010,
    }
    driver.validate_provider_segment(wanted)
    segment = driver.reserve_provider_segment(None, wanted)
    assert stub.asked == [{"physical_network": "physnet1", "vlan_id": 2010}]
    assert (segment[api.NETWORK_TYPE], segment[api.SEGMENTATION_ID]) == ("shared_vlan", 2010)


@pytest.mark.parametrize("vlan_id", [1.5, True, "1.5", "x", [], 1, 3000, 4094, 0, -1, 99999])
def test_provider_vlan_must_be_an_integer_in_the_configured_range(vlan_ranges, vlan_id):
    vlan_ranges("physnet1:2000:2063")
    driver, _ = make_driver([])
    with pytest.raises(exceptions.InvalidInput):
        driver.validate_provider_segment(
            {
                api.NETWORK_TYPE: "shared_vlan",
                api.PHYSICAL_NETWORK: "physnet1",
                api.SEGMENTATION_ID: vlan_id,
            }
        )


def test_neutron_api_no_longer_rounds_a_segmentation_id():
    attribute = provider_net.RESOURCE_ATTRIBUTE_MAP["networks"][provider_net.SEGMENTATION_ID]
    convert = attribute["convert_to"]
    assert convert(2001) == 2001 and convert("2001") == 2001
    for vlan_id in (1.5, True, "true", "2000.0", None):
        with pytest.raises(exceptions.InvalidInput):
            convert(vlan_id)


@pytest.mark.parametrize(
    ("segments", "refused"),
    [
        ("x", True),
        (["x"], True),
        ([{"provider:segmentation_id": 1.5}], True),
        ([{"provider:segmentation_id": True}], True),
        (
            [
                {
                    "provider:network_type": "shared_vlan",
                    "provider:physical_network": "physnet1",
                    "provider:segmentation_id": 2001,
                }
            ],
            False,
        ),
    ],
)
def test_network_segments_are_checked_before_neutron_reads_them(segments, refused):
    message = validators.validators["type:network_segments"](segments)
    assert bool(message) is refused, message


def test_provider_request_on_unknown_physnet_is_refused(vlan_ranges):
    vlan_ranges("physnet1:2000:2063")
    driver, _ = make_driver([])
    with pytest.raises(exceptions.InvalidInput, match="physnet9"):
        driver.validate_provider_segment(
            {api.NETWORK_TYPE: "shared_vlan", api.PHYSICAL_NETWORK: "physnet9"}
        )


def test_local_has_no_physnet_or_vlan():
    driver = LocalTypeDriver()
    assert driver.get_type() == "local"
    assert driver.allocate_tenant_segment(None) == {api.NETWORK_TYPE: "local"}
    assert driver.reserve_provider_segment(None, {api.NETWORK_TYPE: "local"}) == {
        api.NETWORK_TYPE: "local"
    }
    with pytest.raises(exceptions.InvalidInput, match="physical_network"):
        driver.validate_provider_segment(
            {api.NETWORK_TYPE: "local", api.PHYSICAL_NETWORK: "physnet1"}
        )


def test_registered_for_ml2_by_name():
    found = {ep.name: ep.load() for ep in entry_points(group="neutron.ml2.type_drivers")}
    assert found["shared_vlan"] is SharedVlanTypeDriver
    assert found["tricircle_local"] is LocalTypeDriver
    assert found["local"] is not LocalTypeDriver

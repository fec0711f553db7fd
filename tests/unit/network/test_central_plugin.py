"""The central core plugin: availability zones from Tricircle's pods, local network hints."""

from __future__ import annotations

import types
from importlib.metadata import entry_points

import pytest
from neutron.plugins.ml2.plugin import Ml2Plugin
from neutron.services.l3_router.l3_router_plugin import L3RouterPlugin
from neutron_lib import constants as lib_constants
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.exceptions import BadRequest
from neutron_lib.exceptions.availability_zone import AvailabilityZoneNotFound

from tricircle.db import pods
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.lab import configs
from tricircle.lab.layout import LabLayout
from tricircle.network import router_plugin
from tricircle.network.availability_zones import (
    PodAvailabilityZoneMixin,
    PodsUnavailable,
    PodZoneCache,
)
from tricircle.network.central_plugin import (
    TricirclePlugin,
    check_local_network_hints,
    requested_network_types,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingSessions:
    """Wraps a session factory, counting how often the pods are read."""

    def __init__(self, factory) -> None:
        self.factory = factory
        self.reads = 0

    def __call__(self):
        self.reads += 1
        return self.factory


class ZonePlugin(PodAvailabilityZoneMixin):
    def __init__(self, cache: PodZoneCache) -> None:
        self.pod_zones = cache


@pytest.fixture
def registered(session_factory):
    """The lab's pods: the top pod, Pod1 in az1, Pod2 and Pod3 in az2."""
    with session_factory.begin() as session:
        pods.create_pod(session, region_name="RegionOne")
        pods.create_pod(session, region_name="Pod1", az_name="az1")
        pods.create_pod(session, region_name="Pod2", az_name="az2")
        pods.create_pod(session, region_name="Pod3", az_name="az2")
    return session_factory


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(registered) -> CountingSessions:
    return CountingSessions(registered)


@pytest.fixture
def plugin(sessions, clock) -> ZonePlugin:
    return ZonePlugin(PodZoneCache(sessions, lambda: 5.0, clock))


def test_zones_are_the_bottom_pods_zones_for_networks_and_routers(plugin):
    context = types.SimpleNamespace(project_id="p1")
    listed = plugin.get_availability_zones(context)
    assert [(z["name"], z["resource"], z["state"]) for z in listed] == [
        ("az1", "network", "available"),
        ("az1", "router", "available"),
        ("az2", "network", "available"),
        ("az2", "router", "available"),
    ]
    assert "" not in {zone["name"] for zone in listed}


def test_zone_list_honours_filters_and_fields(plugin):
    context = types.SimpleNamespace(project_id="p1")
    listed = plugin.get_availability_zones(
        context, filters={"resource": ["network"], "name": ["az2"]}, fields=["name"]
    )
    assert listed == [{"name": "az2"}]


@pytest.mark.parametrize("hints", [["az1"], ["Pod2"], ["az1", "Pod3"]])
def test_hints_naming_a_zone_or_a_pod_region_validate(plugin, hints):
    plugin.validate_availability_zones(None, "network", hints)
    plugin.validate_availability_zones(None, "router", hints)


@pytest.mark.parametrize("hint", ["az9", "RegionOne", ""])
def test_unknown_hint_is_neutrons_not_found(plugin, hint):
    with pytest.raises(AvailabilityZoneNotFound) as raised:
        plugin.validate_availability_zones(None, "network", ["az1", hint])
    assert f"AvailabilityZone {hint} could not be found" in str(raised.value)


def test_other_resource_types_are_not_checked(plugin, sessions):
    plugin.validate_availability_zones(None, "port", ["anything"])
    assert sessions.reads == 0


def test_pods_are_cached_and_reread_when_stale(plugin, sessions, clock):
    plugin.validate_availability_zones(None, "network", ["az1"])
    plugin.get_availability_zones(types.SimpleNamespace(project_id="p"))
    assert sessions.reads == 1
    clock.now = 6.0
    plugin.validate_availability_zones(None, "network", ["az1"])
    assert sessions.reads == 2


def test_a_pod_registered_meanwhile_is_found_at_once(plugin, registered, sessions):
    plugin.validate_availability_zones(None, "network", ["az1"])
    with registered.begin() as session:
        pods.create_pod(session, region_name="Pod4", az_name="az4")
    plugin.validate_availability_zones(None, "network", ["az4"])
    assert sessions.reads == 2


def network_with_hints(hints: list[str]) -> dict:
    """A network row as Neutron stores it: hints as a JSON list."""
    return {"availability_zone_hints": az_validator.convert_az_list_to_string(hints)}


def test_network_zones_come_from_its_hints(plugin):
    zones = plugin.get_network_availability_zones
    assert zones(network_with_hints(["Pod2", "az1"])) == ["az1", "az2"]
    assert zones(network_with_hints([])) == []
    assert zones(network_with_hints(["gone"])) == []


def test_requested_types_come_from_provider_attributes_or_segments():
    unset = lib_constants.ATTR_NOT_SPECIFIED
    assert requested_network_types({"provider:network_type": "local"}) == {"local"}
    assert requested_network_types({"provider:network_type": unset, "segments": unset}) == set()
    segments = [{"provider:network_type": "local"}, {"provider:network_type": "shared_vlan"}]
    assert requested_network_types({"segments": segments}) == {"local", "shared_vlan"}


def test_local_network_takes_at_most_one_hint():
    check_local_network_hints({"provider:network_type": "local"}, ["az1"])
    check_local_network_hints({"provider:network_type": "shared_vlan"}, ["az1", "az2"])
    with pytest.raises(BadRequest, match="exactly one pod.*not 2 \\(az1, az2\\)"):
        check_local_network_hints({"provider:network_type": "local"}, ["az1", "az2"])


def test_core_plugin_is_ml2_with_pod_zones_by_entry_point():
    (entry,) = entry_points(group="neutron.core_plugins", name="tricircle_ml2")
    plugin_class = entry.load()
    assert plugin_class is TricirclePlugin
    assert issubclass(plugin_class, Ml2Plugin)
    for method in (
        "get_availability_zones",
        "validate_availability_zones",
        "get_network_availability_zones",
    ):
        assert getattr(plugin_class, method) is getattr(PodAvailabilityZoneMixin, method)


def test_lab_central_neutron_loads_the_plugins_on_tricircles_database(tmp_path):
    layout = LabLayout(root=tmp_path, base_port=19000)
    neutron = configs.central_neutron(layout)
    assert neutron["DEFAULT"]["core_plugin"] == "tricircle_ml2"
    assert neutron["DEFAULT"]["service_plugins"].split(",") == ["tricircle_router", "tricircle"]
    url = neutron["tricircle"]["database_connection"]
    assert url == configs.tricircle(layout)["database"]["connection"]
    assert url.startswith("postgresql") and url.endswith("/tclab19000_tricircle")


def test_router_plugin_takes_zones_from_the_core_plugin(monkeypatch, plugin):
    monkeypatch.setattr(router_plugin.directory, "get_plugin", lambda: plugin)
    routers = router_plugin.TricircleRouterPlugin
    hinted = {"extra_attributes": {"availability_zone_hints": '["Pod1", "az2"]'}}
    assert routers.get_router_availability_zones(None, hinted) == ["az1", "az2"]
    assert routers.get_router_availability_zones(None, {"extra_attributes": None}) == []
    routers.validate_availability_zones(None, None, "router", ["Pod2"])
    with pytest.raises(AvailabilityZoneNotFound):
        routers.validate_availability_zones(None, None, "router", ["az9"])


def test_router_plugin_is_neutrons_l3_plugin_by_entry_point():
    (entry,) = entry_points(group="neutron.service_plugins", name="tricircle_router")
    assert entry.load() is router_plugin.TricircleRouterPlugin
    assert issubclass(router_plugin.TricircleRouterPlugin, L3RouterPlugin)


def broken_sessions(tmp_path):
    """A session factory on a database that cannot be opened."""
    missing = tmp_path / "no-such-dir" / "tricircle.sqlite"
    return make_session_factory(make_engine(f"sqlite:///{missing}"))


def test_database_failure_serves_stale_zones_but_refuses_checks(plugin, sessions, clock, tmp_path):
    plugin.validate_availability_zones(None, "network", ["az1"])
    sessions.factory = broken_sessions(tmp_path)
    clock.now = 60.0
    assert plugin.zones_of_hints(["Pod1"]) == ["az1"]
    plugin.validate_availability_zones(None, "network", ["az2"])
    with pytest.raises(PodsUnavailable) as raised:
        plugin.validate_availability_zones(None, "network", ["az4"])
    assert raised.value.msg.startswith("Availability zones are unavailable")


def test_database_failure_with_no_reading_is_unavailable(tmp_path, clock):
    cache = PodZoneCache(lambda: broken_sessions(tmp_path), lambda: 5.0, clock)
    with pytest.raises(PodsUnavailable):
        ZonePlugin(cache).get_availability_zones(types.SimpleNamespace(project_id="p"))

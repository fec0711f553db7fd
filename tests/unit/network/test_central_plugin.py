"""The central core plugin: availability zones from Tricircle's pods, local network hints."""

from __future__ import annotations

import types
from importlib.metadata import entry_points

import pytest
from neutron.conf import common as neutron_common_conf
from neutron.plugins.ml2.plugin import Ml2Plugin
from neutron.services.l3_router.l3_router_plugin import L3RouterPlugin
from neutron_lib import constants as lib_constants
from neutron_lib.api.validators import availability_zone as az_validator
from neutron_lib.exceptions import BadRequest, InvalidInput
from neutron_lib.exceptions.availability_zone import AvailabilityZoneNotFound
from oslo_config import cfg

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
    hints_of,
    is_external,
    requested_network_types,
    resolve_external_region,
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


# -- external networks ------------------------------------------------------------------------


@pytest.fixture
def default_region():
    """Sets ``[tricircle] default_region_for_external_network`` for one test."""

    def set_default(region: str | None) -> None:
        cfg.CONF.set_override("default_region_for_external_network", region, group="tricircle")

    yield set_default
    cfg.CONF.clear_override("default_region_for_external_network", group="tricircle")


@pytest.fixture
def core(sessions, clock, monkeypatch):
    """The core plugin without ML2's start-up: pod zones, and ML2's own hooks recorded."""
    if "default_availability_zones" not in cfg.CONF:
        neutron_common_conf.register_core_common_config_opts()
    plugin = TricirclePlugin.__new__(TricirclePlugin)
    plugin.pod_zones = PodZoneCache(sessions, lambda: 5.0, clock)
    plugin.ml2_calls = []
    monkeypatch.setattr(
        Ml2Plugin,
        "_before_create_network",
        lambda self, context, network: self.ml2_calls.append(("create", network)),
    )
    monkeypatch.setattr(
        Ml2Plugin,
        "update_network",
        lambda self, context, id, network: self.ml2_calls.append(("update", id, network)),
    )
    return plugin


@pytest.mark.parametrize(
    ("hints", "region"), [(["Pod1"], "Pod1"), (["az1"], "Pod1"), (["Pod3"], "Pod3")]
)
def test_an_external_network_hint_names_one_pod_by_region_or_single_pod_zone(plugin, hints, region):
    assert resolve_external_region(hints, plugin.pod_zones.get(), None) == region


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        (["Pod1", "Pod2"], "exactly one pod: give one availability_zone_hints entry, not 2"),
        (["az2"], "az2 of an external network names no single pod"),
        (["az9"], "az9 of an external network names no single pod"),
        (["RegionOne"], "RegionOne of an external network names no single pod"),
        ([], "no default_region_for_external_network is configured"),
    ],
)
def test_external_network_hints_naming_no_single_pod_are_invalid_input(plugin, hints, message):
    with pytest.raises(InvalidInput, match=message):
        resolve_external_region(hints, plugin.pod_zones.get(), None)


def test_an_external_network_without_hint_goes_to_the_default_region(plugin):
    zones = plugin.pod_zones.get()
    assert resolve_external_region([], zones, "Pod2") == "Pod2"
    with pytest.raises(InvalidInput, match="default_region_for_external_network Pod9 is no pod"):
        resolve_external_region([], zones, "Pod9")


def test_invalid_input_is_neutrons_400():
    assert issubclass(InvalidInput, BadRequest)


def external_request(**attributes) -> dict:
    unset = lib_constants.ATTR_NOT_SPECIFIED
    return {
        "network": {
            "name": "public",
            "router:external": True,
            "provider:network_type": "flat",
            "segments": unset,
            **attributes,
        }
    }


def test_an_external_network_without_hint_gets_the_default_region_as_hint(core, default_region):
    default_region("Pod2")
    request = external_request()
    core._before_create_network(None, request)
    assert request["network"]["availability_zone_hints"] == ["Pod2"]
    assert core.ml2_calls == [("create", request)]


def test_an_external_network_keeps_its_one_hint(core, default_region):
    default_region("Pod2")
    request = external_request(availability_zone_hints=["az1"])
    core._before_create_network(None, request)
    assert request["network"]["availability_zone_hints"] == ["az1"]


@pytest.mark.parametrize("hints", [["Pod1", "Pod2"], ["az9"], ["az2"], []])
def test_an_external_network_naming_no_single_pod_is_refused_before_ml2(core, hints):
    request = external_request(availability_zone_hints=hints)
    with pytest.raises(InvalidInput):
        core._before_create_network(None, request)
    assert core.ml2_calls == []


def test_an_internal_network_needs_no_placement(core):
    request = external_request(**{"router:external": lib_constants.ATTR_NOT_SPECIFIED})
    core._before_create_network(None, request)
    assert "availability_zone_hints" not in request["network"]
    assert core.ml2_calls == [("create", request)]


def test_a_pod_registered_meanwhile_hosts_external_networks_at_once(core, registered):
    core.external_network_region(["az1"])
    with registered.begin() as session:
        pods.create_pod(session, region_name="Pod4", az_name="az4")
    assert core.external_network_region(["az4"]) == "Pod4"


def stored_network(external: bool, hints: list[str]) -> dict:
    return {"id": "n1", "router:external": external, "availability_zone_hints": hints}


def test_turning_a_network_external_needs_hints_naming_one_pod(core, monkeypatch):
    monkeypatch.setattr(core, "get_network", lambda context, id: stored_network(False, []))
    request = {"network": {"router:external": True}}
    with pytest.raises(InvalidInput, match="needs one availability_zone_hints entry"):
        core.update_network(None, "n1", request)
    assert core.ml2_calls == []
    monkeypatch.setattr(core, "get_network", lambda context, id: stored_network(False, ["Pod1"]))
    core.update_network(None, "n1", request)
    assert core.ml2_calls == [("update", "n1", request)]


def test_other_network_updates_are_ml2s(core, monkeypatch):
    monkeypatch.setattr(core, "get_network", lambda context, id: stored_network(True, []))
    core.update_network(None, "n1", {"network": {"router:external": True, "name": "x"}})
    core.update_network(None, "n1", {"network": {"name": "y"}})
    assert [call[0] for call in core.ml2_calls] == ["update", "update"]


def test_hints_read_as_stored_or_as_listed():
    assert hints_of({"availability_zone_hints": '["Pod1"]'}) == ["Pod1"]
    assert hints_of({"availability_zone_hints": ["az1"]}) == ["az1"]
    assert hints_of({"availability_zone_hints": lib_constants.ATTR_NOT_SPECIFIED}) == []
    assert hints_of({}) == []
    assert is_external({"router:external": True})
    assert not is_external({"router:external": lib_constants.ATTR_NOT_SPECIFIED})

"""The ``tricircle`` service plugin: events become committed jobs; gateway ports go first."""

from __future__ import annotations

import copy
from importlib.metadata import entry_points

import pytest
from neutron_lib import constants as lib_constants
from neutron_lib import exceptions
from neutron_lib.callbacks import events, resources
from sqlalchemy.exc import OperationalError

from tricircle.db import jobs, routings
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.network import constants, service_plugin
from tricircle.network.service_plugin import TricircleServicePlugin

ROUTER = "11111111-1111-1111-1111-111111111111"
NETWORK = "22222222-2222-2222-2222-222222222222"
SUBNET = "33333333-3333-3333-3333-333333333333"
GROUP = "44444444-4444-4444-4444-444444444444"
OTHER_GROUP = "55555555-5555-5555-5555-555555555555"
EXTERNAL = {
    "id": "66666666-6666-6666-6666-666666666666",
    "project_id": "admin",
    "router:external": True,
    "availability_zone_hints": ["az1"],
}


class FakeCorePlugin:
    """Ports, one subnet and deletes, as the central Neutron's core plugin answers them."""

    def __init__(self, ports: list[dict], subnet: dict | None = None) -> None:
        self.ports = ports
        self.subnet = subnet or {"id": SUBNET, "ipv6_address_mode": None, "ipv6_ra_mode": None}
        self.deleted: list[str] = []
        self.guarded: list[bool] = []

    def get_subnet(self, context, subnet_id):
        assert subnet_id == self.subnet["id"]
        return self.subnet

    def get_ports(self, context, filters, fields):
        assert context.is_admin
        if "network_id" in filters:
            return [p for p in self.ports if p["network_id"] in filters["network_id"]]
        wanted = filters["fixed_ips"]["subnet_id"]
        return [p for p in self.ports if p["subnet_id"] in wanted]

    def get_security_group(self, context, group_id, fields):
        assert context.is_admin
        return {"id": group_id, "project_id": "p5"}

    def get_security_groups(self, context, filters, fields):
        assert context.is_admin
        return [{"id": g} for g in (GROUP, OTHER_GROUP) if filters["project_id"] == ["p5"]]

    def get_network(self, context, network_id):
        assert context.is_admin
        return EXTERNAL if network_id == EXTERNAL["id"] else {**EXTERNAL, "router:external": False}

    def external_network_region(self, hints):
        if hints != ["az1"]:
            raise exceptions.InvalidInput(error_message=f"no single pod: {hints}")
        return "Pod1"

    def delete_port(self, context, port_id):
        self.guarded.append(getattr(context, "GUARD_TRANSACTION", True))
        if port_id == "vanished":
            raise exceptions.PortNotFound(port_id=port_id)
        self.deleted.append(port_id)


def port(port_id: str, owner: str) -> dict:
    return {"id": port_id, "device_owner": owner, "network_id": NETWORK, "subnet_id": SUBNET}


@pytest.fixture
def plugin(session_factory) -> TricircleServicePlugin:
    plugin = TricircleServicePlugin()
    plugin.sessions = lambda: session_factory
    return plugin


class FakeContext:
    """The part of Neutron's request context the plugin uses (Neutron's own needs policy)."""

    def __init__(self, is_admin: bool = False) -> None:
        self.is_admin = is_admin

    def elevated(self) -> FakeContext:
        elevated = copy.copy(self)
        elevated.is_admin = True
        return elevated


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def core(monkeypatch):
    def install(*ports: dict, subnet: dict | None = None) -> FakeCorePlugin:
        fake = FakeCorePlugin(list(ports), subnet)
        monkeypatch.setattr(service_plugin.directory, "get_plugin", lambda: fake)
        return fake

    return install


def all_jobs(session_factory):
    with session_factory() as session:
        return [(j.type, j.resource_id, j.project_id, j.payload) for j in jobs.list_jobs(session)]


def payload(context, resource_id: str, state: dict) -> events.DBEventPayload:
    return events.DBEventPayload(context, resource_id=resource_id, states=(state,))


@pytest.mark.parametrize(
    ("resource", "event"),
    [
        (resources.ROUTER_INTERFACE, events.AFTER_CREATE),
        (resources.ROUTER_INTERFACE, events.AFTER_DELETE),
        (resources.ROUTER, events.AFTER_DELETE),
    ],
)
def test_router_events_queue_router_setup(plugin, session_factory, context, resource, event):
    plugin.router_changed(resource, event, None, payload(context, ROUTER, {"project_id": "p9"}))
    assert all_jobs(session_factory) == [
        (constants.JOB_ROUTER_SETUP, ROUTER, "p9", {"router_id": ROUTER})
    ]


def test_router_events_coalesce_while_the_job_waits(plugin, session_factory, context):
    for event in (events.AFTER_CREATE, events.AFTER_DELETE):
        plugin.router_changed(
            resources.ROUTER_INTERFACE, event, None, payload(context, ROUTER, {"project_id": "p"})
        )
    assert len(all_jobs(session_factory)) == 1


@pytest.mark.parametrize(
    ("resource", "resource_type"),
    [
        (resources.NETWORK, constants.NETWORK),
        (resources.SUBNET, constants.SUBNET),
        (resources.PORT, constants.PORT),
        (resources.SECURITY_GROUP, constants.SECURITY_GROUP),
    ],
)
def test_delete_of_a_routed_resource_queues_delete_bottom(
    plugin, session_factory, pod_id, context, resource, resource_type
):
    with session_factory.begin() as session:
        routings.lock_routing(
            session, top_id=NETWORK, pod_id=pod_id, project_id="p2", resource_type=resource_type
        )
    plugin.top_resource_deleted(
        resource, events.AFTER_DELETE, None, payload(context, NETWORK, {"project_id": "p2"})
    )
    assert all_jobs(session_factory) == [
        (
            constants.JOB_DELETE_BOTTOM,
            NETWORK,
            "p2",
            {"resource_type": resource_type, "project_id": "p2"},
        )
    ]


def test_delete_of_an_unrouted_resource_queues_nothing(plugin, session_factory, context):
    plugin.top_resource_deleted(
        resources.PORT, events.AFTER_DELETE, None, payload(context, NETWORK, {"project_id": "p"})
    )
    assert all_jobs(session_factory) == []


def route_group(session_factory, pod_id, group_id: str = GROUP) -> None:
    with session_factory.begin() as session:
        routings.lock_routing(
            session,
            top_id=group_id,
            pod_id=pod_id,
            project_id="p5",
            resource_type=constants.SECURITY_GROUP,
        )


def sync_job(group_id: str = GROUP) -> tuple:
    return (constants.JOB_SYNC_SECURITY_GROUP, group_id, "p5", {"security_group_id": group_id})


def test_a_rule_created_in_a_copied_group_queues_its_sync(
    plugin, session_factory, pod_id, context, core
):
    core()
    route_group(session_factory, pod_id)
    rule = {"id": "r1", "security_group_id": GROUP, "project_id": "p5"}
    plugin.rule_created(
        resources.SECURITY_GROUP_RULE, events.AFTER_CREATE, None, payload(context, "r1", rule)
    )
    assert all_jobs(session_factory) == [sync_job()]


def test_a_rule_deleted_from_a_copied_group_queues_its_sync(
    plugin, session_factory, pod_id, context, core
):
    core()
    route_group(session_factory, pod_id)
    deleted = events.DBEventPayload(
        context, resource_id="r1", metadata={"security_group_id": GROUP}
    )
    plugin.rule_deleted(resources.SECURITY_GROUP_RULE, events.AFTER_DELETE, None, deleted)
    assert all_jobs(session_factory) == [sync_job()]


def test_a_rule_of_a_group_never_copied_queues_nothing(plugin, session_factory, context, core):
    core()
    rule = {"id": "r1", "security_group_id": GROUP, "project_id": "p5"}
    plugin.rule_created(
        resources.SECURITY_GROUP_RULE, events.AFTER_CREATE, None, payload(context, "r1", rule)
    )
    assert all_jobs(session_factory) == []


@pytest.mark.parametrize("event", [events.AFTER_CREATE, events.AFTER_DELETE])
def test_a_subnet_change_syncs_the_projects_copied_groups(
    plugin, session_factory, pod_id, context, core, event
):
    core()
    route_group(session_factory, pod_id)
    plugin.subnet_changed(
        resources.SUBNET, event, None, payload(context, SUBNET, {"project_id": "p5"})
    )
    assert all_jobs(session_factory) == [sync_job()]


def gateway(network_id: str = EXTERNAL["id"], snat: bool = True, ip: str = "172.24.4.10") -> dict:
    return {
        "network_id": network_id,
        "enable_snat": snat,
        "external_fixed_ips": [{"subnet_id": SUBNET, "ip_address": ip}],
    }


def router_state(gateway_info: dict | None) -> dict:
    return {"id": ROUTER, "project_id": "p9", "external_gateway_info": gateway_info}


def router_setup_job() -> tuple:
    return (constants.JOB_ROUTER_SETUP, ROUTER, "p9", {"router_id": ROUTER})


def test_a_router_created_with_a_gateway_queues_router_setup(plugin, session_factory, context):
    created = payload(context, ROUTER, router_state(gateway()))
    plugin.router_gateway_changed(resources.ROUTER, events.AFTER_CREATE, None, created)
    assert all_jobs(session_factory) == [router_setup_job()]


def test_a_router_created_without_a_gateway_queues_nothing(plugin, session_factory, context):
    plugin.router_gateway_changed(
        resources.ROUTER, events.AFTER_CREATE, None, payload(context, ROUTER, router_state(None))
    )
    assert all_jobs(session_factory) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, gateway()),
        (gateway(), None),
        (gateway(), gateway(snat=False)),
        (gateway(), gateway(ip="172.24.4.11")),
        (gateway(), gateway(network_id=NETWORK)),
    ],
    ids=["set", "cleared", "snat", "fixed-ips", "network"],
)
def test_a_gateway_change_queues_router_setup(plugin, session_factory, context, before, after):
    update = events.DBEventPayload(
        context, resource_id=ROUTER, states=(router_state(before), router_state(after))
    )
    plugin.router_gateway_changed(resources.ROUTER, events.AFTER_UPDATE, None, update)
    assert all_jobs(session_factory) == [router_setup_job()]


def test_a_router_update_leaving_the_gateway_queues_nothing(plugin, session_factory, context):
    update = events.DBEventPayload(
        context,
        resource_id=ROUTER,
        states=(router_state(gateway()), {**router_state(gateway()), "name": "renamed"}),
    )
    plugin.router_gateway_changed(resources.ROUTER, events.AFTER_UPDATE, None, update)
    assert all_jobs(session_factory) == []


def external_job() -> tuple:
    network_id = EXTERNAL["id"]
    return (
        constants.JOB_SETUP_EXTERNAL_NETWORK,
        network_id,
        "admin",
        {"network_id": network_id, "region_name": "Pod1"},
    )


@pytest.mark.parametrize("event", [events.AFTER_CREATE, events.AFTER_UPDATE])
def test_an_external_network_queues_its_setup_in_its_pod(
    plugin, session_factory, context, core, event
):
    core()
    plugin.network_changed(
        resources.NETWORK, event, None, payload(context, EXTERNAL["id"], EXTERNAL)
    )
    assert all_jobs(session_factory) == [external_job()]


def test_an_internal_network_queues_no_setup(plugin, session_factory, context, core):
    core()
    internal = {**EXTERNAL, "router:external": False}
    plugin.network_changed(
        resources.NETWORK, events.AFTER_CREATE, None, payload(context, NETWORK, internal)
    )
    assert all_jobs(session_factory) == []


def test_an_external_network_placed_nowhere_is_logged_not_queued(
    plugin, session_factory, context, core, caplog
):
    core()
    nowhere = {**EXTERNAL, "availability_zone_hints": []}
    plugin.network_changed(
        resources.NETWORK, events.AFTER_UPDATE, None, payload(context, EXTERNAL["id"], nowhere)
    )
    assert all_jobs(session_factory) == []
    assert "external network placed nowhere" in caplog.text


@pytest.mark.parametrize("event", [events.AFTER_CREATE, events.AFTER_UPDATE])
def test_a_subnet_of_an_external_network_queues_the_networks_setup(
    plugin, session_factory, context, core, event
):
    core()
    subnet = {"id": SUBNET, "network_id": EXTERNAL["id"], "project_id": "admin"}
    plugin.external_subnet_changed(resources.SUBNET, event, None, payload(context, SUBNET, subnet))
    assert all_jobs(session_factory) == [external_job()]


def test_a_subnet_of_an_internal_network_queues_no_setup(plugin, session_factory, context, core):
    core()
    subnet = {"id": SUBNET, "network_id": NETWORK, "project_id": "p5"}
    plugin.external_subnet_changed(
        resources.SUBNET, events.AFTER_CREATE, None, payload(context, SUBNET, subnet)
    )
    assert all_jobs(session_factory) == []


def test_a_database_that_stays_away_fails_the_call(context, tmp_path, monkeypatch):
    monkeypatch.setattr(service_plugin, "ENQUEUE_PATIENCE", 0.0)
    plugin = TricircleServicePlugin()
    missing = tmp_path / "no-such-dir" / "tricircle.sqlite"
    plugin.sessions = lambda: make_session_factory(make_engine(f"sqlite:///{missing}"))
    with pytest.raises(OperationalError, match="unable to open database"):
        plugin.router_changed(
            resources.ROUTER,
            events.AFTER_DELETE,
            None,
            payload(context, ROUTER, {"project_id": "p"}),
        )


def test_a_job_waits_for_a_restarting_database_and_is_queued(
    plugin, session_factory, context, monkeypatch
):
    pauses: list[float] = []
    monkeypatch.setattr(service_plugin.time, "sleep", pauses.append)
    refusals = iter([True, True, False])

    class Restarting:
        """Sessions whose first two transactions find the server down."""

        def begin(self):
            if next(refusals):
                raise OperationalError("BEGIN", {}, Exception("the database system is starting up"))
            return session_factory.begin()

    plugin.sessions = Restarting
    plugin.router_changed(
        resources.ROUTER, events.AFTER_DELETE, None, payload(context, ROUTER, {"project_id": "p"})
    )
    assert pauses == [0.25, 0.5]
    assert [resource_id for _type, resource_id, *_rest in all_jobs(session_factory)] == [ROUTER]


def _delete_subnet(plugin, context) -> None:
    """Send the plugin the core plugin's BEFORE_DELETE event of SUBNET."""
    plugin.subnet_deleting(
        resources.SUBNET,
        events.BEFORE_DELETE,
        None,
        events.DBEventPayload(context, resource_id=SUBNET),
    )


def test_subnet_delete_removes_its_gateway_ports_inside_the_transaction(plugin, core, context):
    fake = core(
        port("gw1", constants.GATEWAY_PORT_OWNER),
        port("dhcp", lib_constants.DEVICE_OWNER_DHCP),
        port("vanished", constants.GATEWAY_PORT_OWNER),
    )
    _delete_subnet(plugin, context)
    assert fake.deleted == ["gw1"]
    assert fake.guarded == [False, False]
    assert getattr(context, "GUARD_TRANSACTION", True) is True


@pytest.mark.parametrize("blocker", [lib_constants.DEVICE_OWNER_ROUTER_INTF, "compute:nova", ""])
def test_subnet_still_in_use_keeps_its_gateway_ports(plugin, core, context, blocker):
    fake = core(port("gw1", constants.GATEWAY_PORT_OWNER), port("user", blocker))
    _delete_subnet(plugin, context)
    assert fake.deleted == []


def test_auto_address_subnet_lets_user_ports_go_but_not_router_ports(plugin, core, context):
    slaac = {"id": SUBNET, "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}
    fake = core(port("gw1", constants.GATEWAY_PORT_OWNER), port("vm", "compute:nova"), subnet=slaac)
    _delete_subnet(plugin, context)
    assert fake.deleted == ["gw1"]


def test_network_delete_removes_its_gateway_ports(plugin, core, context):
    fake = core(
        port("gw1", constants.GATEWAY_PORT_OWNER),
        port("gw2", constants.GATEWAY_PORT_OWNER),
        port("dhcp", lib_constants.DEVICE_OWNER_DHCP),
    )
    plugin.network_deleting(
        resources.NETWORK,
        events.BEFORE_DELETE,
        None,
        events.DBEventPayload(context, resource_id=NETWORK),
    )
    assert fake.deleted == ["gw1", "gw2"]


def test_network_still_in_use_keeps_its_gateway_ports(plugin, core, context):
    fake = core(port("gw1", constants.GATEWAY_PORT_OWNER), port("vm", "compute:nova"))
    plugin.network_deleting(
        resources.NETWORK,
        events.BEFORE_DELETE,
        None,
        events.DBEventPayload(context, resource_id=NETWORK),
    )
    assert fake.deleted == []


def test_service_plugin_is_registered_by_entry_point():
    (entry,) = entry_points(group="neutron.service_plugins", name="tricircle")
    assert entry.load() is TricircleServicePlugin
    assert TricircleServicePlugin().get_plugin_type() == "tricircle"


FLOATINGIP = "77777777-7777-7777-7777-777777777777"
PORT = "88888888-8888-8888-8888-888888888888"


def floatingip_state(port_id: str | None) -> dict:
    return {"id": FLOATINGIP, "project_id": "p9", "port_id": port_id, "fixed_ip_address": None}


def floatingip_job() -> tuple:
    return (constants.JOB_FLOATINGIP_SETUP, FLOATINGIP, "p9", {"floatingip_id": FLOATINGIP})


@pytest.mark.parametrize(
    ("event", "states", "queued"),
    [
        (events.AFTER_CREATE, (floatingip_state(PORT),), True),
        (events.AFTER_CREATE, (floatingip_state(None),), False),
        (events.AFTER_UPDATE, (floatingip_state(None), floatingip_state(PORT)), True),
        (events.AFTER_UPDATE, (floatingip_state(PORT), floatingip_state(None)), True),
        (events.AFTER_UPDATE, (floatingip_state(PORT), floatingip_state(PORT)), False),
    ],
    ids=["created-with-port", "created-alone", "associated", "disassociated", "renamed"],
)
def test_floating_ip_events_queue_its_setup(
    plugin, session_factory, context, event, states, queued
):
    update = events.DBEventPayload(context, resource_id=FLOATINGIP, states=states)
    plugin.floatingip_changed(resources.FLOATING_IP, event, None, update)
    assert all_jobs(session_factory) == ([floatingip_job()] if queued else [])


def test_a_floating_ip_deleted_queues_its_setup_only_once_wired(
    plugin, session_factory, context, pod_id
):
    deleted = payload(context, FLOATINGIP, floatingip_state(PORT))
    plugin.floatingip_changed(resources.FLOATING_IP, events.AFTER_DELETE, None, deleted)
    assert all_jobs(session_factory) == []
    with session_factory.begin() as session:
        routings.lock_routing(
            session, top_id=FLOATINGIP, pod_id=pod_id, project_id="p9", resource_type="floatingip"
        )
    plugin.floatingip_changed(resources.FLOATING_IP, events.AFTER_DELETE, None, deleted)
    assert all_jobs(session_factory) == [floatingip_job()]


def test_a_port_taken_by_a_server_queues_its_floating_ips(
    plugin, session_factory, context, monkeypatch
):
    class FakeL3:
        def get_floatingips(self, context, filters, fields):
            assert context.is_admin and filters == {"port_id": [PORT]}
            return [{"id": FLOATINGIP}]

    monkeypatch.setattr(service_plugin.directory, "get_plugin", lambda *alias: FakeL3())
    before = {"id": PORT, "project_id": "p9", "device_id": ""}
    taken = events.DBEventPayload(
        context, resource_id=PORT, states=(before, {**before, "device_id": "server-1"})
    )
    plugin.port_taken(resources.PORT, events.AFTER_UPDATE, None, taken)
    assert all_jobs(session_factory) == [floatingip_job()]
    renamed = events.DBEventPayload(
        context, resource_id=PORT, states=(before, {**before, "name": "renamed"})
    )
    plugin.port_taken(resources.PORT, events.AFTER_UPDATE, None, renamed)
    assert len(all_jobs(session_factory)) == 1

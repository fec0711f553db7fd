"""The central Neutron's ``tricircle`` service plugin: Neutron events become Tricircle jobs.

Subscribed to Neutron's callbacks, it commits one job row per event in Tricircle's database
(``enqueue_job`` coalesces a job still waiting for the same resource):

- a router interface added or removed, a router deleted, a router created with an external
  gateway or whose external gateway changed (set, updated, cleared): ``router_setup``;
- an external network created or updated, a subnet of one created or updated:
  ``setup_external_network`` with the region of the pod that hosts it;
- a floating IP created with a port, associated, disassociated (also by its port's delete) or
  deleted once it has a bottom copy, and each floating IP of a port a server takes or leaves:
  ``floatingip_setup``;
- a network, subnet or port deleted that has bottom copies (resource routings): ``delete_bottom``;
- a security-group rule created or deleted, for a group with bottom copies, and a subnet created
  or deleted (remote-group rules become one rule per CIDR of the project's subnets), for each of
  the project's groups with bottom copies: ``sync_security_group``.

It also removes Tricircle's gateway reservation ports (one per pod and subnet) just before their
subnet or network is deleted, which Neutron would otherwise refuse as in use. Only when nothing
else holds the subnet or network: a delete that Neutron refuses anyway keeps its reservations.
"""

from __future__ import annotations

import time
from typing import Any

from neutron.common import _constants as neutron_constants
from neutron.common import ipv6_utils
from neutron_lib import constants as lib_constants
from neutron_lib import exceptions
from neutron_lib.api.definitions import l3 as l3_def
from neutron_lib.callbacks import events, registry, resources
from neutron_lib.plugins import constants as plugin_constants
from neutron_lib.plugins import directory
from neutron_lib.services import base as service_base
from oslo_log import log
from sqlalchemy.exc import SQLAlchemyError

from tricircle.db import routings
from tricircle.db.engine import database_unavailable
from tricircle.jobs.queue import enqueue_job
from tricircle.network import constants, tricircle_db
from tricircle.network.central_plugin import hints_of, is_external

LOG = log.getLogger(__name__)

PLUGIN_TYPE = "tricircle"
# Seconds a job's commit waits for Tricircle's database to come back (a server restart).
ENQUEUE_PATIENCE = 30.0
DELETED_RESOURCE_TYPES = {
    resources.NETWORK: constants.NETWORK,
    resources.SUBNET: constants.SUBNET,
    resources.PORT: constants.PORT,
    resources.SECURITY_GROUP: constants.SECURITY_GROUP,
}
# Ports that never stop a delete: Neutron's auto-deleted ones and Tricircle's reservations.
NON_BLOCKING_OWNERS = {*neutron_constants.AUTO_DELETE_PORT_OWNERS, constants.GATEWAY_PORT_OWNER}


@registry.has_registry_receivers
class TricircleServicePlugin(service_base.ServicePluginBase):
    """Turns router and delete events of the central Neutron into Tricircle jobs."""

    supported_extension_aliases: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.sessions = tricircle_db.sessions

    def get_plugin_type(self) -> str:
        """Neutron's key for this plugin."""
        return PLUGIN_TYPE

    def get_plugin_description(self) -> str:
        """One line for Neutron's plugin list."""
        return "Tricircle: jobs for cross-pod routers and bottom copies"

    @registry.receives(resources.ROUTER_INTERFACE, [events.AFTER_CREATE, events.AFTER_DELETE])
    @registry.receives(resources.ROUTER, [events.AFTER_DELETE])
    def router_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``router_setup`` for the top router whose interfaces or existence changed.

        The state is the router's dict or its Neutron DB model; both answer ``["project_id"]``.
        """
        router_id = payload.resource_id
        self._enqueue(
            constants.JOB_ROUTER_SETUP,
            router_id,
            payload.latest_state["project_id"],
            {"router_id": router_id},
            cause=f"{resource} {event}",
        )

    @registry.receives(resources.ROUTER, [events.AFTER_CREATE, events.AFTER_UPDATE])
    def router_gateway_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``router_setup`` for a router created with a gateway, or whose gateway changed.

        AFTER_CREATE carries the new router; AFTER_UPDATE the original and the updated one.
        """
        router = payload.latest_state
        before = payload.states[0] if len(payload.states) > 1 else {}
        gateway = router.get(l3_def.EXTERNAL_GW_INFO)
        if gateway == before.get(l3_def.EXTERNAL_GW_INFO):
            return
        self._enqueue(
            constants.JOB_ROUTER_SETUP,
            payload.resource_id,
            router["project_id"],
            {"router_id": payload.resource_id},
            cause=f"{resource} {event} (gateway {'set' if gateway else 'cleared'})",
        )

    @registry.receives(
        resources.FLOATING_IP, [events.AFTER_CREATE, events.AFTER_UPDATE, events.AFTER_DELETE]
    )
    def floatingip_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``floatingip_setup`` for a floating IP created, (dis)associated or deleted
        (also when Neutron disassociates it because its port was deleted)."""
        floatingip = payload.latest_state
        if event == events.AFTER_UPDATE and len(payload.states) > 1:
            before = payload.states[0]
            if before.get("port_id") == floatingip.get("port_id") and before.get(
                "fixed_ip_address"
            ) == floatingip.get("fixed_ip_address"):
                return
        if event == events.AFTER_CREATE and not floatingip.get("port_id"):
            return
        self._enqueue(
            constants.JOB_FLOATINGIP_SETUP,
            payload.resource_id,
            floatingip["project_id"],
            {"floatingip_id": payload.resource_id},
            cause=f"{resource} {event}",
            only_if_routed=event == events.AFTER_DELETE,
        )

    @registry.receives(resources.PORT, [events.AFTER_UPDATE])
    def port_taken(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``floatingip_setup`` for each floating IP of a port a server just took or left
        (its ``device_id`` changed)."""
        port = payload.latest_state
        before = payload.states[0] if len(payload.states) > 1 else {}
        if before.get("device_id") == port.get("device_id"):
            return
        floatingips = directory.get_plugin(plugin_constants.L3).get_floatingips(
            payload.context.elevated(), filters={"port_id": [port["id"]]}, fields=["id"]
        )
        for floatingip in floatingips:
            self._enqueue(
                constants.JOB_FLOATINGIP_SETUP,
                floatingip["id"],
                port["project_id"],
                {"floatingip_id": floatingip["id"]},
                cause=f"{resource} {event} (device_id {port.get('device_id') or 'cleared'})",
            )

    @registry.receives(resources.NETWORK, [events.AFTER_CREATE, events.AFTER_UPDATE])
    def network_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``setup_external_network`` for an external network created or updated."""
        network = payload.latest_state
        if is_external(network):
            self._enqueue_external_network(network, resource, event)

    @registry.receives(resources.SUBNET, [events.AFTER_CREATE, events.AFTER_UPDATE])
    def external_subnet_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``setup_external_network`` for the network of a subnet created or updated on an
        external network."""
        subnet = payload.latest_state
        network = directory.get_plugin().get_network(
            payload.context.elevated(), subnet["network_id"]
        )
        if is_external(network):
            self._enqueue_external_network(network, resource, event)

    def _enqueue_external_network(self, network: dict, resource: str, event: str) -> None:
        try:
            region_name = directory.get_plugin().external_network_region(hints_of(network))
        except exceptions.InvalidInput as error:
            LOG.error(
                "external network placed nowhere after %s %s top_network_id=%s: %s",
                resource,
                event,
                network["id"],
                error,
            )
            return
        self._enqueue(
            constants.JOB_SETUP_EXTERNAL_NETWORK,
            network["id"],
            network["project_id"],
            {"network_id": network["id"], "region_name": region_name},
            cause=f"{resource} {event}",
        )

    @registry.receives(resources.NETWORK, [events.AFTER_DELETE])
    @registry.receives(resources.SUBNET, [events.AFTER_DELETE])
    @registry.receives(resources.PORT, [events.AFTER_DELETE])
    @registry.receives(resources.SECURITY_GROUP, [events.AFTER_DELETE])
    def top_resource_deleted(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``delete_bottom`` for a deleted top resource that has bottom copies."""
        project_id = payload.latest_state["project_id"]
        self._enqueue(
            constants.JOB_DELETE_BOTTOM,
            payload.resource_id,
            project_id,
            {"resource_type": DELETED_RESOURCE_TYPES[resource], "project_id": project_id},
            cause=f"{resource} {event}",
            only_if_routed=True,
        )

    @registry.receives(resources.SECURITY_GROUP_RULE, [events.AFTER_CREATE])
    def rule_created(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``sync_security_group`` for the new rule's group, if it has bottom copies."""
        rule = payload.latest_state
        self._enqueue_group_sync(rule["security_group_id"], rule["project_id"], resource, event)

    @registry.receives(resources.SECURITY_GROUP_RULE, [events.AFTER_DELETE])
    def rule_deleted(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``sync_security_group`` for the deleted rule's group, if it has bottom copies."""
        group_id = payload.metadata["security_group_id"]
        group = directory.get_plugin().get_security_group(
            payload.context.elevated(), group_id, fields=["project_id"]
        )
        self._enqueue_group_sync(group_id, group["project_id"], resource, event)

    @registry.receives(resources.SUBNET, [events.AFTER_CREATE, events.AFTER_DELETE])
    def subnet_changed(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Queue ``sync_security_group`` for each of the subnet's project's groups that has
        bottom copies: their remote-group rules name the project's CIDRs."""
        project_id = payload.latest_state["project_id"]
        groups = directory.get_plugin().get_security_groups(
            payload.context.elevated(), filters={"project_id": [project_id]}, fields=["id"]
        )
        for group in groups:
            self._enqueue_group_sync(group["id"], project_id, resource, event)

    def _enqueue_group_sync(
        self, group_id: str, project_id: str, resource: str, event: str
    ) -> None:
        self._enqueue(
            constants.JOB_SYNC_SECURITY_GROUP,
            group_id,
            project_id,
            {"security_group_id": group_id},
            cause=f"{resource} {event}",
            only_if_routed=True,
        )

    def _enqueue(
        self,
        job_type: str,
        resource_id: str,
        project_id: str,
        payload: dict,
        cause: str,
        only_if_routed: bool = False,
    ) -> None:
        """Commit one job; with ``only_if_routed``, only if ``resource_id`` has routings.

        While Tricircle's database is unreachable (a restart), the commit is tried again for up
        to ``ENQUEUE_PATIENCE`` seconds, holding the Neutron call that caused it; after that the
        error is raised and logged (reconcile repairs what the job would have done)."""
        deadline = time.monotonic() + ENQUEUE_PATIENCE
        pause = 0.25
        while True:
            try:
                with self.sessions().begin() as session:
                    if only_if_routed and not routings.find_routings_for_top(session, resource_id):
                        return
                    job = enqueue_job(session, job_type, resource_id, project_id, payload)
                break
            except SQLAlchemyError as exc:
                if database_unavailable(exc) and time.monotonic() + pause < deadline:
                    LOG.warning(
                        "%s waits for Tricircle's database after %s resource=%s error=%s",
                        job_type,
                        cause,
                        resource_id,
                        exc,
                    )
                    time.sleep(pause)
                    pause = min(pause * 2, 4.0)
                    continue
                LOG.exception(
                    "%s not queued after %s: Tricircle's database failed resource=%s project=%s",
                    job_type,
                    cause,
                    resource_id,
                    project_id,
                )
                raise
        LOG.info(
            "%s queued after %s job_id=%s resource=%s project=%s",
            job_type,
            cause,
            job.id,
            resource_id,
            project_id,
        )

    @registry.receives(resources.NETWORK, [events.BEFORE_DELETE])
    def network_deleting(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Remove the network's gateway reservations, unless another port keeps it in use.

        Neutron publishes this before its own in-use check and outside any transaction, so the
        ports go through the core plugin's normal delete.
        """
        context = payload.context.elevated()
        core = directory.get_plugin()
        network_id = payload.resource_id
        ports = core.get_ports(
            context, filters={"network_id": [network_id]}, fields=["id", "device_owner"]
        )
        if any(port["device_owner"] not in NON_BLOCKING_OWNERS for port in ports):
            return
        self._delete_gateway_ports(core, context, ports, f"network {network_id}")

    @registry.receives(resources.SUBNET, [events.BEFORE_DELETE])
    def subnet_deleting(
        self, resource: str, event: str, trigger: object, payload: events.DBEventPayload
    ) -> None:
        """Remove the subnet's gateway reservations, unless another port keeps it in use.

        Neutron publishes this inside the subnet delete's transaction (subnet row locked), before
        it checks for ports. Like Neutron's own router delete, the ports are deleted inside that
        transaction with the transaction guard lifted, so they go if and only if the subnet goes.
        """
        core = directory.get_plugin()
        subnet_id = payload.resource_id
        guard = getattr(payload.context, "GUARD_TRANSACTION", True)
        payload.context.GUARD_TRANSACTION = False
        try:
            context = payload.context.elevated()
            subnet = core.get_subnet(context, subnet_id)
            ports = core.get_ports(
                context,
                filters={"fixed_ips": {"subnet_id": [subnet_id]}},
                fields=["id", "device_owner"],
            )
            user_ports_block = not ipv6_utils.is_auto_address_subnet(subnet)
            for port in ports:
                owner = port["device_owner"]
                if owner in lib_constants.ROUTER_INTERFACE_OWNERS or (
                    user_ports_block and owner not in NON_BLOCKING_OWNERS
                ):
                    return
            self._delete_gateway_ports(core, context, ports, f"subnet {subnet_id}")
        finally:
            payload.context.GUARD_TRANSACTION = guard

    @staticmethod
    def _delete_gateway_ports(core: Any, context: Any, ports: list[dict], holder: str) -> None:
        for port in ports:
            if port["device_owner"] != constants.GATEWAY_PORT_OWNER:
                continue
            try:
                core.delete_port(context, port["id"])
            except exceptions.PortNotFound:
                continue
            LOG.info("gateway port %s deleted before %s", port["id"], holder)

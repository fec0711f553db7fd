"""A server's ports on the central Neutron and in its pod, released once the pod let go.

Nova deletes the ports it made for a server and unbinds the ports the caller passed. The Nova
gateway keeps that contract for the top ports it makes (a top port on the central Neutron
mirrored as a bottom port): at boot, and when an interface is attached by network, it records
each port it made (routing type ``server_port``) before it asks the pod, with no server yet
(bottom ID NULL), and gives the record to the server once the pod answered; ports the caller
passed get no record. A record still pending is a boot that never finished: reconciliation gives
it to the server it adopts, or releases the port when no server holds it. One
release, used by the gateway's show (the pod answers 404), by the backstop job queued on delete
and by the interface detach job, deletes the bottom copy of every port, then deletes a recorded
top port and forgets its record, or unbinds the caller's top port (device and binding cleared).
Every step is idempotent, so the show path and the job may both run, in any order.

A boot answers before its top ports are marked as the server's (device ID and owner): a job
queued with the server's routing does it, usually within a second, well before the pod's
nova-compute makes the server ACTIVE. It marks nothing for a server no longer routed, and unbinds
what it marked if the server's routing went while it ran (a delete racing it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tricircle import conf
from tricircle.db import deleted_servers, routings
from tricircle.db import pods as pod_queries
from tricircle.db.models import Job, Pod
from tricircle.db.routings import ResourceType
from tricircle.jobs.handlers import JobContext, NotYet, handler
from tricircle.jobs.queue import enqueue_job
from tricircle.network import constants
from tricircle.network.mirror import BottomMirror, PortNotFound
from tricircle.pods.client import PodClientError, PodClients
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

JOB_SERVER_PORTS_CLEANUP = "server_ports_cleanup"
JOB_INTERFACE_DETACH = "server_interface_detach"
JOB_SERVER_PORTS_ATTACH = "server_ports_attach"
SERVER_PORT = ResourceType.SERVER_PORT
_MADE_PREFIX = "server_port:"

_clients: PodClients | None = None
_clients_lock = threading.Lock()


class ServerStillPresent(NotYet):
    """The pod still shows the deleted server; the job is retried later."""


class PortStillAttached(NotYet):
    """The pod has not finished detaching the port; the job is retried later."""


def record_made_ports(
    session_factory: sessionmaker[Session],
    pod: Pod,
    project_id: str,
    top_port_ids: Iterable[str],
) -> None:
    """Record the top ports the gateway made for a boot, before the pod is asked (no server)."""
    with session_factory.begin() as session:
        for top_port_id in top_port_ids:
            routings.lock_routing(
                session,
                top_id=_MADE_PREFIX + top_port_id,
                pod_id=pod.pod_id,
                project_id=project_id,
                resource_type=SERVER_PORT,
            )


def assign_made_ports(
    session_factory: sessionmaker[Session], pod: Pod, server_id: str, top_port_ids: Iterable[str]
) -> list[str]:
    """Give the pending records of these top ports to ``server_id``; the top port IDs given."""
    assigned = []
    with session_factory.begin() as session:
        for top_port_id in top_port_ids:
            record = routings.find_routing(session, _MADE_PREFIX + top_port_id, pod.pod_id)
            if record is not None and record.bottom_id is None:
                if routings.fill_bottom_id(session, record, server_id):
                    assigned.append(top_port_id)
    return assigned


def forget_made_ports(
    session_factory: sessionmaker[Session], pod: Pod, top_port_ids: Iterable[str]
) -> None:
    """Drop the records of these top ports (a boot undone: the ports are released with it)."""
    with session_factory.begin() as session:
        for top_port_id in top_port_ids:
            routings.forget_routing(session, _MADE_PREFIX + top_port_id, pod.pod_id, SERVER_PORT)


def pending_made_ports(
    session_factory: sessionmaker[Session], pod: Pod, project_id: str | None
) -> list[tuple[str, float]]:
    """Top ports made for a boot whose server is not known yet, with the record's age in s."""
    with session_factory() as session:
        rows = routings.list_routings(
            session, pod_id=pod.pod_id, project_id=project_id, resource_type=SERVER_PORT
        )
    return [
        (row.top_id.removeprefix(_MADE_PREFIX), routings.lock_age(row))
        for row in rows
        if row.bottom_id is None
    ]


def made_port_ids(session_factory: sessionmaker[Session], server_id: str) -> list[str]:
    """IDs of the top ports the gateway made for ``server_id`` and has not released yet."""
    with session_factory() as session:
        rows = routings.find_routings_for_bottom(session, server_id, SERVER_PORT)
    return sorted(row.top_id.removeprefix(_MADE_PREFIX) for row in rows)


def attached_port_ids(mirror: BottomMirror, server_id: str) -> list[str]:
    """IDs of the top ports bound to ``server_id`` (device ID = server ID)."""
    ports = mirror.top.get("/v2.0/ports", params={"device_id": server_id, "fields": "id"})["ports"]
    return sorted(port["id"] for port in ports)


def release_server_ports(mirror: BottomMirror, pod: Pod, server_id: str) -> list[str]:
    """Release every port of a server the pod no longer has; the top port IDs released."""
    made = made_port_ids(mirror.session_factory, server_id)
    top_port_ids = sorted(set(attached_port_ids(mirror, server_id)) | set(made))
    for top_port_id in top_port_ids:
        release_port(mirror, pod, server_id, top_port_id)
    return top_port_ids


def release_port(mirror: BottomMirror, pod: Pod, server_id: str, top_port_id: str) -> None:
    """Delete the port's bottom copy in ``pod``; then delete the top port if the gateway made
    it for ``server_id``, else unbind it (the caller's port stays, as in Nova)."""
    mirror.delete_bottom_copy(pod, constants.PORT, top_port_id)
    made = _MADE_PREFIX + top_port_id
    with mirror.session_factory() as session:
        record = routings.find_routing(session, made, pod.pod_id)
    if record is not None and record.bottom_id == server_id:
        mirror.delete_top_port(top_port_id)
        with mirror.session_factory.begin() as session:
            routings.forget_routing(session, made, pod.pod_id, SERVER_PORT)
        outcome = "deleted"
    else:
        unbind_top_port(mirror, top_port_id, server_id)
        outcome = "unbound"
    LOG.info(
        "server port %s region=%s server_id=%s top_port_id=%s",
        outcome,
        pod.region_name,
        server_id,
        top_port_id,
    )


def queue_attach(
    session_factory: sessionmaker[Session],
    pod: Pod,
    server_id: str,
    project_id: str,
    top_port_ids: Iterable[str],
    device_owner: str,
) -> None:
    """Queue the job that marks these top ports as ``server_id``'s (``device_owner``, e.g.
    ``compute:az1``), as Nova's compute does in one cloud."""
    with session_factory.begin() as session:
        enqueue_job(
            session,
            JOB_SERVER_PORTS_ATTACH,
            server_id,
            project_id,
            {
                "pod_id": pod.pod_id,
                "top_port_ids": list(top_port_ids),
                "device_owner": device_owner,
            },
        )


def attach_top_port(
    mirror: BottomMirror, top_port_id: str, server_id: str, device_owner: str
) -> bool:
    """Mark a top port as ``server_id``'s unless it is gone or another device holds it; True if
    the port is now the server's."""
    try:
        port = mirror.get_top_port(top_port_id)
    except PortNotFound:
        return False
    if port.get("device_id") == server_id:
        return True
    if port.get("device_id"):
        LOG.warning(
            "top port held by another device, not attached top_port_id=%s server_id=%s "
            "device_id=%s",
            top_port_id,
            server_id,
            port["device_id"],
        )
        return False
    mark_top_port(mirror, top_port_id, server_id, device_owner)
    return True


def mark_top_port(
    mirror: BottomMirror, top_port_id: str, server_id: str, device_owner: str
) -> None:
    """Set a top port's device ID and owner to ``server_id``'s."""
    mirror.top.put(
        f"/v2.0/ports/{segment(top_port_id)}",
        json={"port": {"device_id": server_id, "device_owner": device_owner}},
    )


def unbind_top_port(mirror: BottomMirror, top_port_id: str, server_id: str) -> None:
    """Clear the device and binding of a top port still bound to ``server_id`` (gone is fine)."""
    try:
        port = mirror.get_top_port(top_port_id)
    except PortNotFound:
        return
    if port.get("device_id") != server_id:
        return
    body: dict[str, Any] = {"device_id": "", "device_owner": ""}
    if port.get("binding:host_id"):
        body["binding:host_id"] = ""
    if port.get("binding:profile"):
        body["binding:profile"] = {}
    mirror.top.put(f"/v2.0/ports/{segment(top_port_id)}", json={"port": body})


def _pod_clients() -> PodClients:
    """Clients with Tricircle's identity from the worker's configuration, made once."""
    global _clients
    with _clients_lock:
        if _clients is None:
            _clients = PodClients.from_conf(conf.CONF)
        return _clients


def _payload_pod(context: JobContext, payload: Mapping[str, Any]) -> Pod:
    """The pod the job's payload names by ``pod_id``."""
    with context.session_factory() as session:
        return pod_queries.get_pod(session, payload["pod_id"])


def _mirror(context: JobContext, clients: PodClients) -> BottomMirror:
    """The bottom mirror of the central Neutron, on the job's database."""
    return BottomMirror(context.session_factory, clients, conf.CONF.client.top_region_name)


@handler(JOB_SERVER_PORTS_CLEANUP)
def cleanup_server_ports(context: JobContext, job: Job) -> None:
    """Backstop of a server delete: once the pod no longer has the server, release its ports
    and forget its routing (the gateway's show does the same when it sees the pod's 404)."""
    pod = _payload_pod(context, job.payload or {})
    clients = _pod_clients()
    try:
        clients.client(pod.region_name, "compute").get(f"/servers/{segment(job.resource_id)}")
    except PodClientError as exc:
        if exc.status != 404:
            raise
    else:
        raise ServerStillPresent(f"server {job.resource_id} still present in {pod.region_name}")
    release_server_ports(_mirror(context, clients), pod, job.resource_id)
    with context.session_factory.begin() as session:
        deleted_servers.forget_deleted_server(
            session,
            job.resource_id,
            pod.pod_id,
            keep_for=conf.CONF.compute.deleted_server_retention,
        )


def _server_routed(context: JobContext, server_id: str, pod: Pod) -> bool:
    """True while the gateway routes ``server_id`` to ``pod`` (not deleted, not undone)."""
    with context.session_factory() as session:
        return routings.find_bottom_id(session, server_id, pod.pod_id) is not None


@handler(JOB_SERVER_PORTS_ATTACH)
def attach_server_ports(context: JobContext, job: Job) -> None:
    """Mark a new server's top ports as its own; nothing for a server already gone, and what it
    marked is unbound again if the server went meanwhile."""
    payload = job.payload or {}
    pod = _payload_pod(context, payload)
    server_id = job.resource_id
    if not _server_routed(context, server_id, pod):
        LOG.info(
            "server gone, its ports not attached region=%s server_id=%s", pod.region_name, server_id
        )
        return
    mirror = _mirror(context, _pod_clients())
    attached = [
        top_port_id
        for top_port_id in payload["top_port_ids"]
        if attach_top_port(mirror, top_port_id, server_id, payload["device_owner"])
    ]
    if not _server_routed(context, server_id, pod):
        for top_port_id in attached:
            unbind_top_port(mirror, top_port_id, server_id)
        attached = []
    LOG.info(
        "server ports attached region=%s server_id=%s top_port_ids=%s",
        pod.region_name,
        server_id,
        attached,
    )


@handler(JOB_INTERFACE_DETACH)
def finish_interface_detach(context: JobContext, job: Job) -> None:
    """Once the pod detached the bottom port, release the port (deleted if the gateway made it,
    else unbound)."""
    payload = job.payload or {}
    pod = _payload_pod(context, payload)
    server_id = payload["server_id"]
    mirror = _mirror(context, _pod_clients())
    for made_pod, bottom_port_id in mirror.copies(constants.PORT, job.resource_id):
        if made_pod.pod_id != pod.pod_id:
            continue
        try:
            port = mirror.bottom(pod).get(f"/v2.0/ports/{segment(bottom_port_id)}")["port"]
        except PodClientError as exc:
            if exc.status != 404:
                raise
        else:
            if port.get("device_id") == server_id:
                raise PortStillAttached(f"port {bottom_port_id} still on {server_id}")
    release_port(mirror, pod, server_id, job.resource_id)

"""Jobs removing the ports Tricircle made for a server (Nova gateway) once the pod lets go.

Nova deletes the ports it made itself; a port made by the cross-pod networking library (a top
port on the central Neutron mirrored as a bottom port) outlives the server, so one job removes
the bottom copy, the top port and the routing once the bottom server is gone; another removes the
bottom copy of a detached interface and frees its top port once the pod has detached it. The
handlers are idempotent and raise (to be retried) while the pod still holds on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from tricircle import conf
from tricircle.db import pods as pod_queries
from tricircle.db.models import Job, Pod
from tricircle.jobs.handlers import JobContext, handler
from tricircle.network import constants
from tricircle.network.mirror import BottomMirror
from tricircle.pods.client import PodClientError, PodClients

LOG = logging.getLogger(__name__)

JOB_SERVER_PORTS_CLEANUP = "server_ports_cleanup"
JOB_INTERFACE_DETACH = "server_interface_detach"

_clients: PodClients | None = None
_clients_lock = threading.Lock()


class ServerStillPresent(RuntimeError):
    """The pod still shows the deleted server; the job is retried later."""


class PortStillAttached(RuntimeError):
    """The pod has not finished detaching the port; the job is retried later."""


def top_port_ids(pod_clients: PodClients, top_region_name: str, server_id: str) -> list[str]:
    """IDs of the top ports the gateway marked as the server's (device ID = server ID)."""
    network = pod_clients.client(top_region_name, "network")
    ports = network.get("/v2.0/ports", params={"device_id": server_id, "fields": "id"})["ports"]
    return sorted(port["id"] for port in ports)


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
    """Delete the bottom copies and the top ports of a deleted server's ports."""
    payload = job.payload or {}
    pod = _payload_pod(context, payload)
    clients = _pod_clients()
    try:
        clients.client(pod.region_name, "compute").get(f"/servers/{job.resource_id}")
    except PodClientError as exc:
        if exc.status != 404:
            raise
    else:
        raise ServerStillPresent(f"server {job.resource_id} still present in {pod.region_name}")
    mirror = _mirror(context, clients)
    for top_port_id in payload.get("top_port_ids", []):
        mirror.delete_bottom_copy(pod, constants.PORT, top_port_id)
        mirror.delete_top_port(top_port_id)
        LOG.info(
            "server port removed region=%s server_id=%s top_port_id=%s",
            pod.region_name,
            job.resource_id,
            top_port_id,
        )


@handler(JOB_INTERFACE_DETACH)
def finish_interface_detach(context: JobContext, job: Job) -> None:
    """Once the pod detached the bottom port, delete it and free the top port."""
    payload = job.payload or {}
    pod = _payload_pod(context, payload)
    clients = _pod_clients()
    mirror = _mirror(context, clients)
    for made_pod, bottom_port_id in mirror.copies(constants.PORT, job.resource_id):
        if made_pod.pod_id != pod.pod_id:
            continue
        try:
            port = mirror.bottom(pod).get(f"/v2.0/ports/{bottom_port_id}")["port"]
        except PodClientError as exc:
            if exc.status != 404:
                raise
        else:
            if port.get("device_id") == payload["server_id"]:
                raise PortStillAttached(f"port {bottom_port_id} still on {payload['server_id']}")
        mirror.delete_bottom_copy(pod, constants.PORT, job.resource_id)
    mirror.top.put(
        f"/v2.0/ports/{job.resource_id}", json={"port": {"device_id": "", "device_owner": ""}}
    )
    LOG.info(
        "interface detach finished region=%s server_id=%s top_port_id=%s",
        pod.region_name,
        payload["server_id"],
        job.resource_id,
    )

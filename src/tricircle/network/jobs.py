"""Job handlers of cross-pod networking, run by the xjob worker (``server_ports`` registers the
handlers of the ports made for servers).

Each handler builds (once per database) the mirroring library and the L3 service from the
worker's configuration: Tricircle's service identity in ``[client]``, ``[network] bridge_cidr``.
Handlers are idempotent and raise on failure; the worker retries them with backoff.
"""

from __future__ import annotations

import logging
import threading

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle import conf as tricircle_conf  # noqa: F401  (registers the options read below)
from tricircle.db import pods
from tricircle.db.models import Job
from tricircle.jobs.handlers import JobContext, NotYet, handler
from tricircle.network import constants, server_ports  # noqa: F401  (registers its jobs)
from tricircle.network.floating_ips import FloatingIPs
from tricircle.network.l3 import RouterL3
from tricircle.network.mirror import BottomMirror, errors, tables
from tricircle.pods.client import PodClientError, PodClients

LOG = logging.getLogger(__name__)

DELETABLE = (constants.NETWORK, constants.SUBNET, constants.PORT, constants.SECURITY_GROUP)

_services: dict[int, RouterL3] = {}
_services_lock = threading.Lock()


def router_l3(session_factory: sessionmaker[Session], conf: cfg.ConfigOpts = cfg.CONF) -> RouterL3:
    """The L3 service (and its mirroring library) over ``session_factory``, made once."""
    with _services_lock:
        key = id(session_factory)
        if key not in _services:
            mirror = BottomMirror(
                session_factory, PodClients.from_conf(conf), conf.client.top_region_name
            )
            _services[key] = RouterL3(mirror, conf.network.bridge_cidr)
        return _services[key]


def _router_id(job: Job) -> str:
    return (job.payload or {}).get("router_id") or job.resource_id


@handler(constants.JOB_ROUTER_SETUP)
def router_setup(context: JobContext, job: Job) -> None:
    """Converge one top router: bottom routers, interfaces, bridge ports, routes."""
    router_l3(context.session_factory).setup_router(_router_id(job), job.project_id)


@handler(constants.JOB_CONFIGURE_ROUTES)
def configure_routes(context: JobContext, job: Job) -> None:
    """Set the extra routes of one top router's bottom routers."""
    router_l3(context.session_factory).configure_routes(_router_id(job))


@handler(constants.JOB_DELETE_BOTTOM)
def delete_bottom(context: JobContext, job: Job) -> None:
    """Delete every pod's bottom copy of a deleted top network, subnet, port or group."""
    resource_type = (job.payload or {}).get("resource_type")
    if resource_type not in DELETABLE:
        raise ValueError(f"job {job.id}: cannot delete bottom copies of {resource_type!r}")
    mirror = router_l3(context.session_factory).mirror
    try:
        regions = mirror.delete_bottom_copies(resource_type, job.resource_id)
    except PodClientError as exc:
        if exc.status != 409:
            raise
        raise BottomStillInUse(f"{resource_type} {job.resource_id}: {exc.pod_message}") from exc
    LOG.info(
        "bottom copies deleted resource_type=%s top_id=%s regions=%s",
        resource_type,
        job.resource_id,
        ",".join(regions) or "none",
    )


@handler(constants.JOB_SYNC_SECURITY_GROUP)
def sync_security_group(context: JobContext, job: Job) -> None:
    """Reconcile every pod's copy of a top security group with the top group's rules."""
    mirror = router_l3(context.session_factory).mirror
    for pod, bottom_id in mirror.copies(constants.SECURITY_GROUP, job.resource_id):
        try:
            mirror.ensure_bottom_security_group(pod, job.resource_id)
        except errors.SecurityGroupNotFound:
            LOG.info("top security group gone; delete_bottom removes it top_id=%s", job.resource_id)
            return
        LOG.info(
            "security group rules synced pod=%s top_id=%s bottom_id=%s",
            pod.region_name,
            job.resource_id,
            bottom_id,
        )


class BottomStillInUse(NotYet):
    """A pod refuses to delete a bottom copy while its own ports (a server's, DHCP's) still go."""


class PodNotRegistered(LookupError):
    """A job names a pod region that is not (or no longer) registered."""


@handler(constants.JOB_SETUP_EXTERNAL_NETWORK)
def setup_external_network(context: JobContext, job: Job) -> None:
    """Copy an external network and its subnets into the pod that hosts it (payload region)."""
    region_name = (job.payload or {}).get("region_name")
    with context.session_factory() as session:
        pod = pods.get_pod_by_region(session, region_name) if region_name else None
    if pod is None:
        raise PodNotRegistered(f"job {job.id}: no pod has region {region_name!r}")
    mirror = router_l3(context.session_factory).mirror
    try:
        top_network = mirror.get_top_network(job.resource_id)
    except errors.NetworkNotFound:
        LOG.info("external network gone; delete_bottom removes it top_id=%s", job.resource_id)
        return
    if not tables.is_external(top_network):
        LOG.info(
            "network no longer external, left as is region=%s top_id=%s",
            region_name,
            job.resource_id,
        )
        return
    bottom_id = mirror.sync_external_network(pod, top_network)
    LOG.info(
        "external network converged region=%s top_network_id=%s bottom_network_id=%s",
        region_name,
        job.resource_id,
        bottom_id,
    )


@handler(constants.JOB_FLOATINGIP_SETUP)
def floatingip_setup(context: JobContext, job: Job) -> None:
    """Converge one top floating IP: its bottom copy and shadow port in the gateway pod."""
    FloatingIPs(router_l3(context.session_factory)).setup_floatingip(job.resource_id)

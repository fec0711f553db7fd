"""One reconciliation pass: every check, in an order where each sees the previous repairs."""

from __future__ import annotations

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.pods.client import PodClients
from tricircle.reconcile import (
    boot_ports,
    neutron_orphans,
    reservations,
    routes,
    routing_rows,
    servers,
    vlans,
)
from tricircle.reconcile.context import ReconcileContext


def reconcile(context: ReconcileContext, bridge_cidr: str) -> list[str]:
    """Run every check; the summary, one line per kind of drift found."""
    routing_rows.check(context)
    neutron_orphans.check(context)
    servers.check(context)
    boot_ports.check(context)
    reservations.check(context)
    vlans.check(context)
    routes.check(context, bridge_cidr)
    return context.summary()


def context_from_conf(
    conf: cfg.ConfigOpts,
    session_factory: sessionmaker[Session],
    *,
    dry_run: bool = False,
    region_name: str | None = None,
    project_id: str | None = None,
) -> ReconcileContext:
    """A context with Tricircle's service identity (``[client]``) and ``[xjob]`` lock timeout."""
    return ReconcileContext(
        session_factory,
        PodClients.from_conf(conf),
        conf.client.top_region_name,
        dry_run=dry_run,
        region_name=region_name,
        project_id=project_id,
        stale_after=conf.xjob.reconcile_stale_after,
    )

"""Bottom routers whose extra routes are not what the top routers imply.

Rule: for every top router with a bottom copy in a selected pod, the routes the L3 service would
set (CIDRs attached in other pods via their bridge addresses, a default route towards the gateway
pod) are compared with each copy's routes, in any order. A router with a copy that differs gets
the existing ``router_setup`` job (``routes_differ``), which converges its interfaces, bridge
ports and routes.
"""

from __future__ import annotations

from functools import partial

from tricircle.db import routings
from tricircle.jobs.queue import enqueue_job
from tricircle.network import constants
from tricircle.network.l3 import RouterL3, same_routes
from tricircle.reconcile.context import ReconcileContext, Repair


def check(context: ReconcileContext, bridge_cidr: str) -> None:
    """Queue ``router_setup`` for each router whose bottom routes drifted."""
    l3 = RouterL3(context.mirror, bridge_cidr)
    pods = {pod.pod_id for pod in context.pods()}
    with context.session_factory() as session:
        rows = routings.list_routings(
            session, resource_type=constants.ROUTER, project_id=context.project_id
        )
    routers = {row.top_id: row.project_id for row in rows if row.pod_id in pods and row.bottom_id}
    for router_id, project_id in sorted(routers.items()):
        for pod, bottom_id, current, wanted in l3.route_plans(router_id):
            if pod.pod_id in pods and not same_routes(current, wanted):
                context.found(
                    Repair(
                        "routes_differ",
                        pod.region_name,
                        constants.ROUTER,
                        router_id,
                        bottom_id,
                        partial(_enqueue, context, router_id, project_id),
                    )
                )
                break


def _enqueue(context: ReconcileContext, router_id: str, project_id: str) -> None:
    with context.session_factory.begin() as session:
        enqueue_job(session, constants.JOB_ROUTER_SETUP, router_id, project_id)

"""The periodic ``reconcile`` job: one full pass, repairing, every ``[xjob] reconcile_interval``.

The worker queues it at start and again each time it succeeds (see ``Worker.periodic``).
"""

from __future__ import annotations

import logging

from oslo_config import cfg

from tricircle import conf as tricircle_conf  # noqa: F401  (registers the options read below)
from tricircle.db.models import Job
from tricircle.jobs.handlers import JobContext, handler
from tricircle.reconcile.run import context_from_conf, reconcile

LOG = logging.getLogger(__name__)

JOB_RECONCILE = "reconcile"


@handler(JOB_RECONCILE)
def reconcile_job(context: JobContext, job: Job) -> None:
    """Reconcile every pod and log the summary."""
    lines = reconcile(
        context_from_conf(cfg.CONF, context.session_factory), cfg.CONF.network.bridge_cidr
    )
    LOG.info("reconcile done job_id=%s found=%s", job.id, "; ".join(lines) or "nothing")

"""Faults of the Nova gateway, in Nova's dialect: ``{"itemNotFound": {"code": 404, ...}}``.

Nova names a fault by its status and calls every other one ``computeFault``. A pod that does not
answer is Nova's 503 and a pod's failure its 500, both naming the pod only in the logs. A boot
over quota is Nova's 403 ``forbidden`` with Nova's message.
"""

from __future__ import annotations

from tricircle.api.errors import (
    BadRequest,
    Conflict,
    Dialect,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from tricircle.db import compute as compute_queries
from tricircle.quotas import checks, engine, usage

UNAVAILABLE = "A compute pod is unavailable, try again later."


def _below_usage(exc: engine.QuotaBelowUsage) -> BadRequest:
    return BadRequest(
        f"Quota limit {exc.limit} for {exc.resource} must be greater than or equal to already "
        f"used and reserved {exc.used}."
    )


def _above_project(exc: engine.QuotaAboveProject) -> BadRequest:
    return BadRequest(
        f"Quota limit {exc.limit} for {exc.resource} must be less than or equal to {exc.maximum}."
    )


NOVA = Dialect(
    name="Nova gateway",
    generic_fault="computeFault",
    unexpected="The server could not complete the request.",
    unavailable=UNAVAILABLE,
    failed="A compute pod failed to complete the request.",
    translations=(
        (compute_queries.NotFoundError, lambda exc: NotFound(exc.message)),
        (compute_queries.ConflictError, lambda exc: Conflict(exc.message)),
        (checks.OverQuota, lambda exc: Forbidden(exc.message)),
        (engine.QuotaBelowUsage, _below_usage),
        (engine.QuotaAboveProject, _above_project),
        (usage.UsageUnknown, lambda exc: ServiceUnavailable(UNAVAILABLE)),
    ),
)

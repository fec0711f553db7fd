"""Faults of the Nova gateway, in Nova's dialect: ``{"itemNotFound": {"code": 404, ...}}``.

Nova names a fault by its status and calls every other one ``computeFault``. A pod that does not
answer is Nova's 503 and a pod's failure its 500, both naming the pod only in the logs.
"""

from __future__ import annotations

from tricircle.api.errors import Conflict, Dialect, NotFound
from tricircle.db import compute as compute_queries

NOVA = Dialect(
    name="Nova gateway",
    generic_fault="computeFault",
    unexpected="The server could not complete the request.",
    unavailable="A compute pod is unavailable, try again later.",
    failed="A compute pod failed to complete the request.",
    translations=(
        (compute_queries.NotFoundError, lambda exc: NotFound(exc.message)),
        (compute_queries.ConflictError, lambda exc: Conflict(exc.message)),
    ),
)

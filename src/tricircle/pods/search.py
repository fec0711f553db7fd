"""The one fan-out search for a resource the routing table does not know: ask every pod at once.

Used for IDs made in a pod directly (or whose routing was lost): each pod is asked in parallel
with a deadline; the first pod (in the given order) whose answer is not None holds it. A pod
that fails or does not answer in time is taken as not holding it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from tricircle.db.models import Pod
from tricircle.pods.fanout import PodCallPool

LOG = logging.getLogger(__name__)

Found = TypeVar("Found")


def find_holder(
    pool: PodCallPool,
    pods: Sequence[Pod],
    shown_in: Callable[[Pod], Found | None],
    timeout: float,
) -> tuple[Pod, Found] | None:
    """The first pod whose ``shown_in(pod)`` (called on ``pool``) is not None, with that
    answer; None if no pod."""
    for outcome in pool.call_each(shown_in, pods, timeout):
        pod = outcome.item
        if not outcome.in_time:
            LOG.warning("search: pod %s did not answer in time", pod.region_name)
        elif outcome.error is not None:
            LOG.warning("search: pod %s failed: %s", pod.region_name, outcome.error)
        elif outcome.value is not None:
            return pod, outcome.value
    return None

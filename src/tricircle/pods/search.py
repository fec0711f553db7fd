"""The one fan-out search for a resource the routing table does not know: ask every pod at once.

Used for IDs made in a pod directly (or whose routing was lost): each pod is asked in parallel
with a deadline; the first pod (in the given order) whose answer is not None holds it. A pod
that fails or does not answer in time is taken as not holding it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import TypeVar

from tricircle.db.models import Pod

LOG = logging.getLogger(__name__)

Found = TypeVar("Found")


def find_holder(
    pods: Sequence[Pod], shown_in: Callable[[Pod], Found | None], timeout: float
) -> tuple[Pod, Found] | None:
    """The first pod whose ``shown_in(pod)`` is not None, with that answer; None if no pod."""
    if not pods:
        return None
    pool = futures.ThreadPoolExecutor(max_workers=len(pods))
    try:
        asked = {pool.submit(shown_in, pod): pod for pod in pods}
        futures.wait(asked, timeout=timeout)
        for future, pod in asked.items():
            if not future.done():
                LOG.warning("search: pod %s did not answer in time", pod.region_name)
            elif future.exception() is not None:
                LOG.warning("search: pod %s failed: %s", pod.region_name, future.exception())
            elif future.result() is not None:
                return pod, future.result()
        return None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

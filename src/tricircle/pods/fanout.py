"""One bounded pool of threads for calls to pods, shared by every request of a process.

A request that asks several pods at once (a cross-pod list, the search for an unrouted ID, an
admin view merged from every pod, a quota count, the scheduler's filters) submits one call per
pod here and waits until its own deadline. The pool bounds the process's threads for pod calls
whatever the number of pods and concurrent requests (``[gateway] pod_call_workers``); calls beyond
it queue in submission order. A request's calls still queued at its deadline are cancelled, never
run: a request never waits past its own deadline for another request's slow pods, and leaves no
queued work behind. A call already running at the deadline keeps its thread until its pod answers
or the call's own timeout (the list deadline for list pages, ``[client] read_timeout`` else).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[Item, T]):
    """How one call of ``PodCallPool.call_each`` ended: ``in_time`` with ``value`` or ``error``,
    or not (it was still queued or running at the deadline)."""

    item: Item
    in_time: bool
    value: T | None = None
    error: BaseException | None = None

    def result(self) -> T | None:
        """``value``; raises ``error`` if the call failed (None when it was not in time)."""
        if self.error is not None:
            raise self.error
        return self.value


def answered(future: futures.Future[Any]) -> bool:
    """Whether a call submitted to the pool ran to its end (a cancelled one never ran)."""
    return future.done() and not future.cancelled()


class PodCallPool:
    """A bounded pool of threads calling pods, with waits bounded by each request's deadline."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="tricircle-pod"
        )

    def submit(self, call: Callable[..., T], *args: Any) -> futures.Future[T]:
        """Queue ``call(*args)``; it runs on one of the pool's threads when one is free."""
        return self._executor.submit(call, *args)

    def wait(self, calls: Iterable[futures.Future[Any]], deadline: float | None) -> None:
        """Wait until every call is done or ``deadline`` (``time.monotonic()``; None: no
        deadline) has passed; calls not started by then are cancelled."""
        calls = list(calls)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        futures.wait(calls, timeout=timeout)
        for call in calls:
            call.cancel()  # only a call still queued is cancelled

    def call_each(
        self, call: Callable[[Item], T], items: Sequence[Item], timeout: float | None
    ) -> list[Outcome[Item, T]]:
        """``call(item)`` for every item at once, waited for at most ``timeout`` seconds (None:
        until all are done); one outcome per item, in the items' order."""
        deadline = None if timeout is None else time.monotonic() + timeout
        submitted = [(item, self.submit(call, item)) for item in items]
        self.wait([future for _, future in submitted], deadline)
        outcomes: list[Outcome[Item, T]] = []
        for item, future in submitted:
            if not answered(future):
                outcomes.append(Outcome(item, in_time=False))
            elif future.exception() is not None:
                outcomes.append(Outcome(item, in_time=True, error=future.exception()))
            else:
                outcomes.append(Outcome(item, in_time=True, value=future.result()))
        return outcomes


@functools.cache
def shared_pool(workers: int) -> PodCallPool:
    """The process's pool of ``workers`` threads: every caller asking for that size shares it
    (a process configured once has exactly one)."""
    return PodCallPool(workers)

"""Registry of job handlers: ``@handler("router_setup")`` maps a job type to a callable.

A handler is called as ``handler(context, job)``; it must be idempotent (a job may run again
after a crash or a lost lease) and signals failure by raising: ``NotYet`` when what it waits for
(a server to go, a port to detach) has not happened yet, anything else when something went wrong.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tricircle.db.models import Job


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its job: the database, who runs it, and the stop signal."""

    session_factory: sessionmaker[Session]
    worker_id: str
    stopping: threading.Event


Handler = Callable[[JobContext, Job], None]

HANDLERS: dict[str, Handler] = {}

# Modules whose import registers handlers (each layer registers its own jobs there); the worker
# imports them before it starts.
HANDLER_MODULES: tuple[str, ...] = ("tricircle.network.jobs", "tricircle.reconcile.jobs")


class NotYet(Exception):
    """The job waits for something a pod has not finished yet; it is retried without alarm."""


class UnknownJobType(LookupError):
    """No handler is registered for a job's type."""


def handler(job_type: str) -> Callable[[Handler], Handler]:
    """Register the decorated callable as the handler of ``job_type`` (one per type)."""

    def register(function: Handler) -> Handler:
        existing = HANDLERS.get(job_type)
        if existing is not None and existing is not function:
            raise ValueError(f"job type {job_type!r} already handled by {existing!r}")
        HANDLERS[job_type] = function
        return function

    return register


def find_handler(job_type: str, registry: dict[str, Handler] | None = None) -> Handler:
    """The handler of ``job_type`` in ``registry`` (default: the global one)."""
    try:
        return (HANDLERS if registry is None else registry)[job_type]
    except KeyError:
        raise UnknownJobType(job_type) from None


def load_handler_modules(modules: tuple[str, ...] = HANDLER_MODULES) -> dict[str, Handler]:
    """Import the modules that register handlers; return the global registry."""
    for name in modules:
        importlib.import_module(name)
    return HANDLERS

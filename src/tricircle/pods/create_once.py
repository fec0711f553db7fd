"""Create a bottom resource exactly once per (top_id, pod), however many callers race for it.

The routing row is the lock: whoever inserts it (bottom_id NULL, unique on top_id + pod_id)
creates the bottom resource, named after the top ID, and fills bottom_id. Everyone else polls
until bottom_id appears. A lock left empty past ``stale_after`` (its holder died) is repaired:
the bottom resource is looked up by name and recorded, or, if it does not exist, the lock is
dropped and the race starts again. A failed create releases the lock, so no routing ever points
at nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import routings
from tricircle.db.models import ResourceRouting

LOG = logging.getLogger(__name__)

FIRST_POLL_DELAY = 0.01
MAX_POLL_DELAY = 0.5


class CreateOnceTimeout(TimeoutError):
    """Another caller held the create-once lock for longer than this caller would wait."""


def ensure_bottom_resource(
    session_factory: sessionmaker[Session],
    *,
    top_id: str,
    pod_id: str,
    project_id: str,
    resource_type: str,
    create: Callable[[str], str],
    find_by_name: Callable[[str], str | None],
    stale_after: float = 60,
    timeout: float | None = None,
) -> str:
    """The bottom id of ``top_id`` in ``pod_id``, creating the bottom resource if nobody has.

    ``create(name)`` makes the bottom resource called ``name`` (the top ID) and returns its id;
    ``find_by_name(name)`` returns the id of an existing one, or None. Waiting for another caller
    gives up with CreateOnceTimeout after ``timeout`` seconds (default: twice ``stale_after``).
    If ``create`` raises, the lock is released and the exception propagates.
    """
    with session_factory.begin() as session:
        routed = routings.find_bottom_id(session, top_id, pod_id)
    if routed is not None:
        return routed  # the common case once a copy exists: one read, no lock attempt
    deadline = time.monotonic() + (2 * stale_after if timeout is None else timeout)
    delay = FIRST_POLL_DELAY
    fields = f"top_id={top_id} pod_id={pod_id} resource_type={resource_type}"
    while True:
        with session_factory.begin() as session:
            lock = routings.lock_routing(
                session,
                top_id=top_id,
                pod_id=pod_id,
                project_id=project_id,
                resource_type=resource_type,
            )
        if lock is not None:
            return _create_holding_lock(session_factory, lock, create, fields)

        with session_factory.begin() as session:
            routing = routings.find_routing(session, top_id, pod_id)
        if routing is None:
            continue  # the holder released its lock: race again at once
        if routing.bottom_id is not None:
            return routing.bottom_id
        if routings.lock_age(routing) > stale_after:
            repaired = _repair_stale_lock(session_factory, routing, find_by_name, fields)
            if repaired is not None:
                return repaired
            continue
        if time.monotonic() >= deadline:
            raise CreateOnceTimeout(f"create-once lock still held: {fields}")
        time.sleep(delay)
        delay = min(delay * 2, MAX_POLL_DELAY)


def _create_holding_lock(
    session_factory: sessionmaker[Session],
    lock: ResourceRouting,
    create: Callable[[str], str],
    fields: str,
) -> str:
    """Create the bottom resource under our lock and record it; release the lock on failure."""
    try:
        bottom_id = create(lock.top_id)
    except BaseException:
        with session_factory.begin() as session:
            routings.release_routing_lock(session, lock)
        LOG.warning("bottom create failed, lock released %s", fields)
        raise
    with session_factory.begin() as session:
        if routings.fill_bottom_id(session, lock, bottom_id):
            LOG.info("bottom resource created %s bottom_id=%s", fields, bottom_id)
            return bottom_id
        # Our lock was judged stale meanwhile: record what we made unless another id is recorded.
        current = routings.find_routing(session, lock.top_id, lock.pod_id) or routings.lock_routing(
            session,
            top_id=lock.top_id,
            pod_id=lock.pod_id,
            project_id=lock.project_id,
            resource_type=lock.resource_type,
        )
        if current is not None and current.bottom_id is None:
            routings.fill_bottom_id(session, current, bottom_id)
            LOG.warning(
                "bottom resource recorded after lock takeover %s bottom_id=%s", fields, bottom_id
            )
            return bottom_id
    recorded = current.bottom_id if current is not None else None
    LOG.warning(
        "bottom resource created after its lock was taken over %s bottom_id=%s recorded=%s",
        fields,
        bottom_id,
        recorded,
    )
    return recorded or bottom_id


def _repair_stale_lock(
    session_factory: sessionmaker[Session],
    routing: ResourceRouting,
    find_by_name: Callable[[str], str | None],
    fields: str,
) -> str | None:
    """Fill a stale lock from the bottom resource named after the top ID, or drop the lock.

    Returns the bottom id once recorded (by us or a concurrent repairer), None to race again.
    """
    found = find_by_name(routing.top_id)
    with session_factory.begin() as session:
        if found is not None:
            routings.fill_bottom_id(session, routing, found)
            LOG.warning("stale create-once lock filled by name %s bottom_id=%s", fields, found)
        else:
            routings.release_routing_lock(session, routing)
            LOG.warning("stale create-once lock dropped %s", fields)
            return None
        current = routings.find_routing(session, routing.top_id, routing.pod_id)
    return current.bottom_id if current is not None else None


def forget_bottom_resource(
    session_factory: sessionmaker[Session], *, top_id: str, pod_id: str
) -> bool:
    """Remove the routing of ``top_id`` in ``pod_id`` after its bottom resource was deleted."""
    with session_factory.begin() as session:
        routing = routings.find_routing(session, top_id, pod_id)
        return routing is not None and routings.delete_routing(session, routing.id)

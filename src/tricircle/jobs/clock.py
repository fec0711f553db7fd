"""The time the job queue reads: leases, heartbeats and backoff are measured on a ``Clock``.

``SYSTEM_CLOCK`` is the machine's UTC time (what every timestamp column stores); tests pass a
clock they move by hand, so lease expiry and retry times never depend on how busy the machine is.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from tricircle.db.models import utcnow


class Clock(Protocol):
    """A source of "now" for the queue and the worker."""

    def now(self) -> dt.datetime:
        """Now, in UTC, without tzinfo."""
        ...


class SystemClock:
    """The machine's own UTC time."""

    def now(self) -> dt.datetime:
        """``utcnow()``."""
        return utcnow()


SYSTEM_CLOCK: Clock = SystemClock()

"""What every admin API view uses: the app's state, transactions, policy checks, links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import g, request
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import gateway, policy
from tricircle.pods.regions import RegionsReader

EXTENSION = gateway.EXTENSION

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class AdminState:
    """Per-app dependencies: configuration, database sessions, the policy enforcer and the
    reader of Keystone's regions (None: a new pod's region is not checked)."""

    conf: cfg.ConfigOpts
    session_factory: sessionmaker[Session]
    enforcer: oslo_policy.Enforcer
    keystone_regions: RegionsReader | None = None


def state() -> AdminState:
    """The state of the app serving the current request."""
    return gateway.app_state()


def authorize(rule: str) -> None:
    """Raise PolicyNotAuthorized (403) unless the caller may do ``rule``."""
    policy.authorize(state().enforcer, rule, g.context)


def timestamp(value: dt.datetime | None) -> str | None:
    """A stored UTC datetime in ISO 8601 form."""
    return value.isoformat(timespec="seconds") if value is not None else None


def next_links(
    items: Sequence[ItemT], limit: int, marker_of: Callable[[ItemT], Any]
) -> list[dict[str, str]]:
    """The OpenStack ``*_links`` of a page: a ``next`` link when the page is full."""
    if not items or len(items) < limit:
        return []
    query = request.args.to_dict()
    query["marker"] = str(marker_of(items[-1]))
    return [{"rel": "next", "href": f"{request.base_url}?{urlencode(query)}"}]

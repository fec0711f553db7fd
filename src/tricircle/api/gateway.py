"""What every API app shares: its state, transactions, the bottom pods and the request hooks.

Each app keeps its dependencies (configuration, database sessions, policy, pods) in one object
under ``EXTENSION``; the hooks give every request an ID (answered in ``request_id_headers``),
the caller's context, URL checks, and one structured access-log line.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import auth, validation
from tricircle.db import pods as pod_queries
from tricircle.db.models import Pod

EXTENSION = "tricircle.api"
REQUEST_ID_HEADER = "X-OpenStack-Request-ID"


class AppState(Protocol):
    """What every app's state has: its database sessions."""

    session_factory: sessionmaker[Session]


def app_state() -> Any:
    """The state of the app serving the current request (each API types its own)."""
    return current_app.extensions[EXTENSION]


@contextmanager
def transaction() -> Iterator[Session]:
    """A session inside one transaction, committed when the block ends without error."""
    state: AppState = app_state()
    with state.session_factory() as session, session.begin():
        yield session


def bottom_pods() -> list[Pod]:
    """Every bottom pod (not the top one, RegionOne), ordered by region."""
    with transaction() as session:
        return [pod for pod in pod_queries.list_pods(session) if not pod.is_top]


def install_request_hooks(
    app: Flask,
    access_log: logging.Logger,
    *,
    request_id_headers: Sequence[str] = (REQUEST_ID_HEADER,),
    on_start: Callable[[], None] | None = None,
    on_finish: Callable[[Response], None] | None = None,
) -> None:
    """Hooks run around every request of ``app``; ``on_start`` may set ``g.microversion``."""

    def start() -> None:
        g.started = time.monotonic()
        g.request_id = f"req-{uuid.uuid4()}"
        g.context = auth.request_context(request.environ, g.request_id)
        validation.check_url(request.path, request.args)
        if on_start is not None:
            on_start()

    def finish(response: Response) -> Response:
        for header in request_id_headers:
            response.headers[header] = g.request_id
        if on_finish is not None:
            on_finish(response)
        fields = {
            "request_id": g.request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - g.started) * 1000, 1),
            "project_id": g.context.project_id,
            "user_id": g.context.user_id,
            "remote_addr": request.remote_addr,
        }
        if "microversion" in g:
            fields["microversion"] = str(g.microversion)
        access_log.info(
            " ".join(f"{key}=%({key})s" for key in fields), fields, extra={"tricircle": fields}
        )
        return response

    app.before_request(start)
    app.after_request(finish)

"""``/v2``: Nova's v2.0 API, served as v2.1 at its minimum microversion.

Nova still serves ``/v2`` (its v2-compatible mode: the v2.1 API with microversions ignored), and
lists it first in its root document. The gateway does the same cheaply: a request under
``/v2/`` is rewritten to ``/v2.1/`` with any microversion header dropped (so 2.1 is
negotiated), marked so that links point back under ``/v2``, and answered without the
microversion headers. ``/v2`` and ``/v2/`` themselves are the v2.0 version document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tricircle.api.microversions import COMPUTE, STANDARD_HEADER

PREFIX = "/v2"
ENVIRON_KEY = "tricircle.compute.legacy_v2"
VERSION_PATHS = frozenset({PREFIX, PREFIX + "/"})
_DROPPED_HEADERS = frozenset(
    name.lower() for name in (STANDARD_HEADER, *COMPUTE.legacy_headers, "Vary")
)
_MICROVERSION_ENVIRON = tuple(
    "HTTP_" + name.upper().replace("-", "_") for name in (STANDARD_HEADER, *COMPUTE.legacy_headers)
)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_legacy(environ: dict[str, Any]) -> bool:
    """True for a request that reached the gateway under ``/v2/``."""
    return bool(environ.get(ENVIRON_KEY))


def serve_v2_as_v21(wsgi_app: WsgiApp, api_prefix: str) -> WsgiApp:
    """``wsgi_app`` also answering ``/v2/...`` as ``<api_prefix>/...`` without microversions."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX + "/") or path in VERSION_PATHS:
            return wsgi_app(environ, start_response)
        environ["PATH_INFO"] = api_prefix + path[len(PREFIX) :]
        environ[ENVIRON_KEY] = True
        for key in _MICROVERSION_ENVIRON:
            environ.pop(key, None)

        def start_without_versions(status: str, headers: list, *args: Any) -> Any:
            kept = [
                (name, value) for name, value in headers if name.lower() not in _DROPPED_HEADERS
            ]
            return start_response(status, kept, *args)

        return wsgi_app(environ, start_without_versions)

    return dispatch

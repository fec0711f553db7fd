"""gunicorn's threaded worker answering its own request-parsing errors in the API's JSON shape.

gunicorn reads the request line and headers before the app runs and refuses a line over
``--limit-request-line`` (414), a header field over ``--limit-request-field_size`` or too many
fields (431), malformed HTTP (400) and an unknown transfer coding or expectation (501, 417) in
HTML. ``JsonErrorWorker`` answers those as the served app would, ``{"<faultName>": {"code": ...,
"message": ...}}`` in the dialect the app registered (``errors.dialect_of``), with a short fixed
message that never repeats the input. Anything else, and an app without a dialect, gets
gunicorn's own answer. Serve the APIs with
``gunicorn --worker-class tricircle.api.gunicorn_worker.JsonErrorWorker ...``.
"""

from __future__ import annotations

import json
import socket
from http import HTTPStatus

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from tricircle.api.errors import ApiFault, dialect_of

# gunicorn's parsing errors answered in JSON: status and message, first match wins.
PARSE_ERRORS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], int, str], ...] = (
    (http_errors.LimitRequestLine, 414, "The request line is too long."),
    (http_errors.LimitRequestHeaders, 431, "The request header fields are too large or too many."),
    (http_errors.UnsupportedTransferCoding, 501, "The transfer coding is not supported."),
    (http_errors.ExpectationFailed, 417, "The expectation is not supported."),
    (
        (
            http_errors.InvalidRequestLine,
            http_errors.InvalidRequestMethod,
            http_errors.InvalidHTTPVersion,
            http_errors.InvalidHeader,
            http_errors.InvalidHeaderName,
            http_errors.ObsoleteFolding,
            http_errors.InvalidSchemeHeaders,
            http_errors.InvalidProxyLine,
            http_errors.InvalidChunkSize,
            http_errors.ChunkMissingTerminator,
            http_errors.InvalidChunkExtension,
        ),
        400,
        "The request is not valid HTTP.",
    ),
)


def parse_error_fault(exc: Exception) -> ApiFault | None:
    """The fault answered for gunicorn's parsing error ``exc``; None for anything else."""
    if isinstance(exc, http_errors.InvalidResponseHeader | http_errors.InvalidResponseHeaderName):
        return None  # a header the app sent (an InvalidHeader): gunicorn's 500, not the client's
    for exception_types, code, message in PARSE_ERRORS:
        if isinstance(exc, exception_types):
            return ApiFault(message, code=code)
    return None


class JsonErrorWorker(ThreadWorker):
    """gthread worker whose request-parsing errors are JSON in the served app's dialect."""

    def handle_error(
        self, req: object, client: socket.socket, addr: tuple[str, int] | None, exc: Exception
    ) -> None:
        """Answer a parsing error as the app's fault and close; else as gunicorn does."""
        fault = parse_error_fault(exc)
        dialect = dialect_of(self.wsgi)
        if fault is None or dialect is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %.200s", (addr or ("",))[0], exc)
        body = json.dumps(dialect.body(fault)).encode()
        head = (
            f"HTTP/1.1 {fault.code} {HTTPStatus(fault.code).phrase}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except OSError:
            self.log.debug("Failed to send error message.")

"""Limits every API puts on a request before a view reads it: URL length, body size, media type.

Answered as the API's own faults (414, 413, 415), so a hostile request never reaches a view, the
database or a pod and never gets the WSGI server's HTML. A body sent without Content-Length
(chunked) is read into memory here, at most one byte past the limit, so its size is known before a
view reads it. ``[request]`` sets the limits; the
JSON nesting depth is checked where bodies are decoded (``validation``),
from the app's ``JSON_DEPTH_CONFIG``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import Request
from oslo_config import cfg

from tricircle.api.errors import ApiFault, BadRequest, UnsupportedMediaType

# Content types that need no check: none given, or the WSGI servers' default.
_UNTYPED = frozenset({"", "text/plain"})


# A refused body up to this size is read before the 413 is answered (a bigger one is not).
DRAINED_AT_MOST = 16 * 1024 * 1024


class UriTooLong(ApiFault):
    """The path and query string are longer than the API accepts."""

    code = 414


class RequestTooLarge(ApiFault):
    """The body is larger than the API reads."""

    code = 413


@dataclass(frozen=True)
class RequestLimits:
    """What one API accepts: URL length, body size and (gateways) its JSON media types."""

    max_url_length: int
    max_body_bytes: int
    max_json_depth: int
    media_types: frozenset[str] = frozenset()

    @classmethod
    def from_conf(
        cls, conf: cfg.ConfigOpts, media_types: frozenset[str] = frozenset()
    ) -> RequestLimits:
        """The limits of ``[request]``; ``media_types`` empty: any Content-Type is read."""
        limits = conf.request
        return cls(limits.max_url_length, limits.max_body_bytes, limits.max_json_depth, media_types)

    def check(self, request: Request) -> None:
        """UriTooLong, RequestTooLarge or UnsupportedMediaType if ``request`` breaks a limit."""
        environ = request.environ
        url_length = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
        if url_length > self.max_url_length:
            raise UriTooLong(
                f"The URL is {url_length} characters long; at most {self.max_url_length} are "
                "accepted."
            )
        streamed = request.content_length is None and bool(environ.get("wsgi.input_terminated"))
        length = (
            _buffer_streamed_body(environ, self.max_body_bytes)
            if streamed
            else request.content_length
        )
        if length is not None and length > self.max_body_bytes:
            _discard_body(environ["wsgi.input"], DRAINED_AT_MOST if streamed else length)
            raise RequestTooLarge(
                f"Request is too large: at most {self.max_body_bytes} bytes are accepted."
            )
        if self.media_types and request.mimetype not in _UNTYPED | self.media_types:
            raise UnsupportedMediaType("Unsupported Content-Type")


def _buffer_streamed_body(environ: dict[str, Any], max_bytes: int) -> int:
    """Length of a body sent without Content-Length (chunked), read up to ``max_bytes + 1``
    bytes; one that fits becomes the request's input, from memory (werkzeug would otherwise cut
    a longer one silently at ``MAX_CONTENT_LENGTH``)."""
    stream = environ["wsgi.input"]
    body = bytearray()
    while len(body) <= max_bytes:
        try:
            chunk = stream.read(min(65536, max_bytes + 1 - len(body)))
        except Exception as exc:  # noqa: BLE001 - the WSGI server's own decoding error
            # (gunicorn raises its ParseException subclasses for a bad chunk size or trailer)
            raise BadRequest("The request body is not valid chunked encoding.") from exc
        if not chunk:
            environ["wsgi.input"] = io.BytesIO(body)
            break
        body += chunk
    return len(body)


def _discard_body(stream: BinaryIO, length: int) -> None:
    """Read and drop the rest of a refused body, up to ``length`` bytes if at most
    ``DRAINED_AT_MOST``, so the client, still sending it, reads the answer instead of a reset
    connection; a larger one is not read."""
    if length > DRAINED_AT_MOST:
        return
    left = length
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


def json_media_types(service: str) -> frozenset[str]:
    """The media types Nova and Cinder read: JSON and their own ``vnd.openstack`` form."""
    return frozenset({"application/json", f"application/vnd.openstack.{service}+json"})

"""Errors mapped once, at the boundary, in each API's dialect.

Handlers raise an ApiFault, a Tricircle exception or a pod client's typed error; a ``Dialect``
(admin here, Nova's and Cinder's beside their gateways) maps anything raised to the fault its
callers expect, ``{"itemNotFound": {"code": 404, "message": ...}}`` and the like: a pod that does
not answer, or fails a list, is 503, a pod's own failure a 500 with the dialect's generic fault
name, a pod's refusal (4xx) passed through with its status and message. Tricircle's own
database unreachable (a restart, an outage) is also 503: the caller may try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify
from oslo_policy import policy as oslo_policy
from werkzeug.exceptions import HTTPException

from tricircle.db import pods
from tricircle.db.engine import database_unavailable
from tricircle.pods import client as pod_client
from tricircle.pods import lister, paths

LOG = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The service's database is unavailable at the moment; try again later."


class ApiFault(Exception):
    """An error answered to the caller with ``code``; its name comes from the API's dialect.

    A subclass may fix ``fault_name``; otherwise the dialect names the fault by its code.
    """

    code: int = 500
    fault_name: str | None = None
    extra: Mapping[str, str] = {}
    headers: Mapping[str, str] = {}

    def __init__(self, message: str, *, code: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if name is not None:
            self.fault_name = name


class BadRequest(ApiFault):
    """Malformed or invalid input; the message names the offending field."""

    code = 400


class InvalidField(BadRequest):
    """One field of the body or query string has a bad value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid input for field '{field}': {reason}")
        self.field = field


class Unauthorized(ApiFault):
    """No valid identity."""

    code = 401


class Forbidden(ApiFault):
    """The caller's roles do not allow this action."""

    code = 403


class NotFound(ApiFault):
    """The addressed resource does not exist."""

    code = 404


class MethodNotAllowed(ApiFault):
    """The resource exists but not with this HTTP method."""

    code = 405


class Conflict(ApiFault):
    """The request clashes with the current state (duplicate, resource in use)."""

    code = 409


class UnsupportedMediaType(ApiFault):
    """The body is not JSON."""

    code = 415


class ServiceUnavailable(ApiFault):
    """A pod needed for the request did not answer; the caller may try again."""

    code = 503


FAULT_NAMES: Mapping[int, str] = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

# Where ``Dialect.register`` leaves the dialect in ``Flask.extensions``.
_EXTENSION = "tricircle.error_dialect"

_BY_EXCEPTION: tuple[tuple[type[Exception], type[ApiFault]], ...] = (
    (pods.PodNotFound, NotFound),
    (pods.BindingNotFound, NotFound),
    (pods.PodConflict, Conflict),
    (pods.InvalidBinding, BadRequest),
    (paths.UnsafeId, BadRequest),
    (oslo_policy.PolicyNotAuthorized, Forbidden),
)


@dataclass(frozen=True)
class Dialect:
    """How one API answers errors: fault names by status, its generic fault and its wording.

    ``unavailable`` and ``failed`` are the messages for a pod that did not answer and for a
    pod's own failure (``{region}`` may name the pod); ``translations`` map the API's own
    exceptions before the shared rules apply.
    """

    name: str
    generic_fault: str
    unexpected: str
    unavailable: str
    failed: str
    fault_names: Mapping[int, str] = field(default_factory=lambda: dict(FAULT_NAMES))
    translations: tuple[tuple[type[Exception], Callable[[Any], ApiFault]], ...] = ()

    def fault_for(self, exc: Exception) -> ApiFault:
        """The fault answered for ``exc``; anything unknown is a 500 that shows no internals."""
        if isinstance(exc, ApiFault):
            return exc
        for exception_type, translate in self.translations:
            if isinstance(exc, exception_type):
                return translate(exc)
        for exception_type, fault_type in _BY_EXCEPTION:
            if isinstance(exc, exception_type):
                return fault_type(str(exc))
        if database_unavailable(exc):
            return ServiceUnavailable(DATABASE_UNAVAILABLE)
        if isinstance(
            exc, pod_client.PodUnreachable | pod_client.PodServiceNotFound | lister.PodFailed
        ):
            return ServiceUnavailable(self.unavailable.format(region=exc.region_name))
        if isinstance(exc, pod_client.PodServerError):
            LOG.error("%s: pod failed region=%s: %s", self.name, exc.region_name, exc)
            return ApiFault(self.failed.format(region=exc.region_name))
        if isinstance(exc, pod_client.PodClientError):
            return ApiFault(exc.pod_message, code=exc.status, name=exc.fault_name)
        if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
            return ApiFault(exc.description or exc.name, code=exc.code)
        return ApiFault(self.unexpected)

    def body(self, fault: ApiFault) -> dict[str, dict[str, int | str]]:
        """The JSON body of ``fault`` in this dialect."""
        name = fault.fault_name or self.fault_names.get(fault.code, self.generic_fault)
        return {name: {"code": fault.code, "message": fault.message, **fault.extra}}

    def response(self, fault: ApiFault) -> Response:
        """The JSON response of ``fault``."""
        response = jsonify(self.body(fault))
        response.status_code = fault.code
        response.headers.update(fault.headers)
        return response

    def register(self, app: Flask) -> None:
        """Answer every exception a view of ``app`` raises with its fault in this dialect, and
        name this dialect as ``app``'s (``dialect_of``)."""
        app.extensions[_EXTENSION] = self

        @app.errorhandler(Exception)
        def _handle(exc: Exception) -> Response:
            fault = self.fault_for(exc)
            if fault.code == 503:
                LOG.warning("%s: unavailable (%s): %s", self.name, type(exc).__name__, exc)
            elif fault.code == 500 and not isinstance(exc, pod_client.PodServerError):
                LOG.exception("%s: unexpected error answering a request", self.name)
            return self.response(fault)


def dialect_of(app: object) -> Dialect | None:
    """The dialect registered on the WSGI app ``app``, if it is a Flask app that has one."""
    extensions = getattr(app, "extensions", None)
    return extensions.get(_EXTENSION) if isinstance(extensions, dict) else None


ADMIN = Dialect(
    name="admin API",
    generic_fault="serverError",
    unexpected="The server could not complete the request.",
    unavailable="A pod is unavailable, try again later.",
    failed="A pod failed to complete the request.",
)


def fault_for(exc: Exception) -> ApiFault:
    """The admin API's fault for ``exc``."""
    return ADMIN.fault_for(exc)

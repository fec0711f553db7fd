"""Faults of the admin API, in Nova's dialect: ``{"itemNotFound": {"code": 404, "message": ...}}``.

Handlers raise (an ApiFault or a Tricircle exception); ``fault_for`` maps anything raised to the
fault the caller sees, and ``register_error_handlers`` makes Flask answer with its JSON body.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from flask import Flask, Response, jsonify
from oslo_policy import policy as oslo_policy
from werkzeug.exceptions import HTTPException

from tricircle.db import pods

LOG = logging.getLogger(__name__)


class ApiFault(Exception):
    """An error answered to the caller with ``code`` and a fault name."""

    code: ClassVar[int] = 500
    fault_name: ClassVar[str] = "serverError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, dict[str, int | str]]:
        """The JSON body of this fault."""
        return {self.fault_name: {"code": self.code, "message": self.message}}


class BadRequest(ApiFault):
    """Malformed or invalid input; the message names the offending field."""

    code = 400
    fault_name = "badRequest"


class InvalidField(BadRequest):
    """One field of the body or query string has a bad value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid input for field '{field}': {reason}")
        self.field = field


class Unauthorized(ApiFault):
    """No valid identity."""

    code = 401
    fault_name = "unauthorized"


class Forbidden(ApiFault):
    """The caller's roles do not allow this action."""

    code = 403
    fault_name = "forbidden"


class NotFound(ApiFault):
    """The addressed resource does not exist."""

    code = 404
    fault_name = "itemNotFound"


class MethodNotAllowed(ApiFault):
    """The resource exists but not with this HTTP method."""

    code = 405
    fault_name = "badMethod"


class Conflict(ApiFault):
    """The request clashes with the current state (duplicate, resource in use)."""

    code = 409
    fault_name = "conflictingRequest"


class UnsupportedMediaType(ApiFault):
    """The body is not JSON."""

    code = 415
    fault_name = "badMediaType"


_BY_HTTP_CODE: dict[int, type[ApiFault]] = {
    fault.code: fault
    for fault in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        UnsupportedMediaType,
    )
}

_BY_EXCEPTION: tuple[tuple[type[Exception], type[ApiFault]], ...] = (
    (pods.PodNotFound, NotFound),
    (pods.BindingNotFound, NotFound),
    (pods.PodConflict, Conflict),
    (pods.InvalidBinding, BadRequest),
    (oslo_policy.PolicyNotAuthorized, Forbidden),
)


def fault_for(exc: Exception) -> ApiFault:
    """The fault to answer for ``exc``; anything unknown is a 500 with no internals shown."""
    if isinstance(exc, ApiFault):
        return exc
    for exception_type, fault_type in _BY_EXCEPTION:
        if isinstance(exc, exception_type):
            return fault_type(str(exc))
    if isinstance(exc, HTTPException) and exc.code in _BY_HTTP_CODE:
        return _BY_HTTP_CODE[exc.code](exc.description or exc.name)
    return ApiFault("The server could not complete the request.")


def fault_response(fault: ApiFault) -> Response:
    """The JSON response for a fault."""
    response = jsonify(fault.body())
    response.status_code = fault.code
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every exception raised by a view with its fault body."""

    @app.errorhandler(Exception)
    def _handle(exc: Exception) -> Response:
        fault = fault_for(exc)
        if fault.code >= 500:
            LOG.exception("Unexpected error answering a request")
        return fault_response(fault)

"""Faults of the Cinder gateway, in Cinder's dialect: ``{"<name>": {"code": ..., "message": ...}}``.

Cinder names a fault by its status (``badRequest``, ``itemNotFound``, ``overLimit``, ...) and calls
every other one ``computeFault`` (406 included). Handlers raise; ``fault_for`` maps what they raise,
including a pod's own refusal (its status and message pass through), to the answer.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from oslo_policy import policy as oslo_policy
from werkzeug.exceptions import HTTPException

from tricircle.api.errors import ApiFault
from tricircle.pods import client as pod_client
from tricircle.pods import scheduler

LOG = logging.getLogger(__name__)

UNEXPECTED = "The server has either erred or is incapable of performing the request."
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}


class CinderFault(ApiFault):
    """A fault with any status, named as Cinder names it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.status = code

    def body(self) -> dict[str, dict[str, int | str]]:
        """The JSON body of this fault."""
        name = FAULT_NAMES.get(self.status, "computeFault")
        return {name: {"code": self.status, "message": self.message}}


def bad_request(message: str) -> CinderFault:
    """400: the request is malformed or asks for something impossible."""
    return CinderFault(400, message)


def not_found(message: str) -> CinderFault:
    """404: the addressed resource does not exist (for this caller)."""
    return CinderFault(404, message)


def invalid_field(field: str, value: object, reason: str) -> CinderFault:
    """400 worded like Cinder's schema validation."""
    return bad_request(f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


def fault_for(exc: Exception) -> CinderFault:
    """The fault answered for ``exc``; anything unknown is a 500 that shows no internals."""
    if isinstance(exc, CinderFault):
        return exc
    if isinstance(exc, pod_client.PodHttpError):
        if exc.status >= 500:
            return CinderFault(500, f"The volume service in {exc.region_name} failed.")
        return CinderFault(exc.status, exc.pod_message)
    if isinstance(exc, pod_client.PodUnreachable | pod_client.PodServiceNotFound):
        return CinderFault(503, f"The volume service in {exc.region_name} is unavailable.")
    if isinstance(exc, scheduler.UnknownAvailabilityZone):
        return bad_request(f"Availability zone '{exc.az_name}' is invalid.")
    if isinstance(exc, scheduler.SchedulerError):
        return bad_request(str(exc))
    if isinstance(exc, oslo_policy.PolicyNotAuthorized):
        return CinderFault(403, str(exc))
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        return CinderFault(exc.code, exc.description or exc.name)
    return CinderFault(500, UNEXPECTED)


def fault_response(fault: CinderFault) -> Response:
    """The JSON response of a fault."""
    response = jsonify(fault.body())
    response.status_code = fault.status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every exception a view raises with its Cinder fault."""

    @app.errorhandler(Exception)
    def _handle(exc: Exception) -> Response:
        fault = fault_for(exc)
        if fault.status >= 500:
            LOG.exception("Unexpected error answering a volume API request")
        return fault_response(fault)

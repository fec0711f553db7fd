"""Faults of the Cinder gateway, in Cinder's dialect: ``{"<name>": {"code": ..., "message": ...}}``.

Cinder names a fault by its status (``badRequest``, ``itemNotFound``, ``overLimit``, ...) and calls
every other one ``computeFault`` (406 included). Handlers raise; ``CINDER`` maps what they raise,
including a pod's own refusal (its status and message pass through), to the answer.
"""

from __future__ import annotations

from tricircle.api.errors import FAULT_NAMES, ApiFault, Dialect
from tricircle.pods import scheduler
from tricircle.quotas import checks, engine, usage

UNEXPECTED = "The server has either erred or is incapable of performing the request."


class CinderFault(ApiFault):
    """A fault with any status, named as Cinder names it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, code=code)


class OverLimit(CinderFault):
    """413 ``overLimit`` as Cinder answers its QuotaError family: the exception's name before
    its message, ``retryAfter`` and ``Retry-After`` 0."""

    extra = {"retryAfter": "0"}
    headers = {"Retry-After": "0"}

    def __init__(self, exc: checks.CinderOverQuota) -> None:
        super().__init__(413, f"{type(exc).__name__}: {exc.message}")


def _below_usage(exc: engine.QuotaBelowUsage) -> CinderFault:
    return bad_request(
        f"Quota {exc.resource} limit must be equal or greater than existing resources. "
        f"Current usage is {exc.used} and the requested limit is {exc.limit}."
    )


def bad_request(message: str) -> CinderFault:
    """400: the request is malformed or asks for something impossible."""
    return CinderFault(400, message)


def not_found(message: str) -> CinderFault:
    """404: the addressed resource does not exist (for this caller)."""
    return CinderFault(404, message)


def invalid_field(field: str, value: object, reason: str) -> CinderFault:
    """400 worded like Cinder's schema validation."""
    return bad_request(f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


CINDER = Dialect(
    name="Cinder gateway",
    generic_fault="computeFault",
    unexpected=UNEXPECTED,
    unavailable="The volume service in {region} is unavailable.",
    failed="The volume service in {region} failed.",
    fault_names={code: name for code, name in FAULT_NAMES.items() if code != 429},
    translations=(
        (
            scheduler.UnknownAvailabilityZone,
            lambda exc: bad_request(f"Availability zone '{exc.az_name}' is invalid."),
        ),
        (scheduler.SchedulerError, lambda exc: bad_request(str(exc))),
        (checks.CinderOverQuota, OverLimit),
        (engine.QuotaBelowUsage, _below_usage),
        (
            usage.UsageUnknown,
            lambda exc: CinderFault(
                503, f"The volume service in {exc.region_name} is unavailable."
            ),
        ),
    ),
)

"""Which pod a new server or volume goes to: the project's binding in the AZ, else a scheduled one.

Shaped like Nova's scheduler: small filters (one question each: is the pod enabled, reachable,
able to take this request) and weighers (one preference each, normalised to 0..1 and scaled by a
multiplier), then the best pod by total weight, ties broken by region name. The chosen pod is
bound to the project in its AZ through the database's unique (project, AZ), so two first
creates racing in one AZ end on one binding and both land on its pod.

A request naming no AZ goes to one AZ for every project, as Cinder's ``default_availability_zone``
does: ``[scheduler] default_availability_zone``, else the AZ of the first bottom pod in region
order (disabled pods included, so disabling a pod never moves the default; an operator moves it
by setting the option). What a project makes without an AZ therefore always lands in its one
binding of that AZ, whatever it made elsewhere with an AZ named; two first requests racing bind
one AZ, never two; and a volume and a server made without AZ share a pod whenever that AZ has one
pod (a server can use only volumes of its own pod), even when two projects made them (an admin's
volume attached to a member's server).

Filters that ask a pod something (reachable, capacity) are callables from the caller, who knows
how to reach the pod; they run outside any database transaction.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import pods
from tricircle.db.models import Pod
from tricircle.pods.fanout import PodCallPool

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlacementRequest:
    """What is being placed, for which project, in which AZ.

    ``availability_zone`` None means the default AZ (the module's docstring says which); the top
    pod's empty AZ is no AZ a project may ask for. ``demand`` is free-form for capacity filters,
    e.g. ``{"vcpus": 1, "ram": 512, "disk": 1}`` for a server or ``{"size": 10}`` for a volume.
    """

    project_id: str
    availability_zone: str | None = None
    resource_type: str = "server"
    demand: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """The pod chosen, the AZ it serves, and whether this request made the project's binding."""

    pod: Pod
    az_name: str
    binding_id: str
    newly_bound: bool


class SchedulerError(Exception):
    """Base of the scheduler's refusals; gateways answer them as 400 in their dialect."""


class UnknownAvailabilityZone(SchedulerError, LookupError):
    """No bottom pod serves this AZ."""

    def __init__(self, az_name: str) -> None:
        super().__init__(f"The requested availability zone {az_name!r} is not available.")
        self.az_name = az_name


class NoValidPod(SchedulerError):
    """Every candidate pod was filtered out; ``reasons`` maps region name to the refusing filter."""

    def __init__(self, az_name: str | None, reasons: Mapping[str, str]) -> None:
        where = f"availability zone {az_name!r}" if az_name else "any availability zone"
        detail = ", ".join(f"{region}: {name}" for region, name in sorted(reasons.items()))
        super().__init__(f"No valid pod was found in {where} ({detail or 'no pods'}).")
        self.az_name = az_name
        self.reasons = dict(reasons)


class PodFilter(abc.ABC):
    """One yes/no question about a candidate pod; ``asks_pod`` filters run for all candidates
    at once (each may wait for a pod's answer)."""

    name: ClassVar[str]
    asks_pod: ClassVar[bool] = False

    @abc.abstractmethod
    def passes(self, pod: Pod, request: PlacementRequest) -> bool:
        """True if ``pod`` may take ``request``."""


class EnabledFilter(PodFilter):
    """Only pods an operator has not disabled."""

    name = "EnabledFilter"

    def passes(self, pod: Pod, request: PlacementRequest) -> bool:
        return pod.is_enabled


class ReachableFilter(PodFilter):
    """Only pods ``reachable(pod)`` vouches for; an exception from it counts as unreachable."""

    name = "ReachableFilter"
    asks_pod = True

    def __init__(self, reachable: Callable[[Pod], bool]) -> None:
        self._reachable = reachable

    def passes(self, pod: Pod, request: PlacementRequest) -> bool:
        try:
            return bool(self._reachable(pod))
        except Exception:
            LOG.warning("Reachability check of pod %s failed", pod.region_name, exc_info=True)
            return False


class CapacityFilter(PodFilter):
    """Only pods where ``has_capacity(pod, request)`` holds; an exception counts as no room."""

    name = "CapacityFilter"
    asks_pod = True

    def __init__(self, has_capacity: Callable[[Pod, PlacementRequest], bool]) -> None:
        self._has_capacity = has_capacity

    def passes(self, pod: Pod, request: PlacementRequest) -> bool:
        try:
            return bool(self._has_capacity(pod, request))
        except Exception:
            LOG.warning("Capacity check of pod %s failed", pod.region_name, exc_info=True)
            return False


class PodWeigher(abc.ABC):
    """One preference among pods that passed the filters: a raw weight each, higher is better."""

    name: ClassVar[str]

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    @abc.abstractmethod
    def weigh(self, candidates: Sequence[Pod], request: PlacementRequest) -> list[float]:
        """Raw weights of ``candidates``, in their order."""


class FewestBindingsWeigher(PodWeigher):
    """Spread projects: the fewer projects bound to a pod, the heavier it weighs."""

    name = "FewestBindingsWeigher"

    def __init__(self, session_factory: sessionmaker[Session], multiplier: float = 1.0) -> None:
        super().__init__(multiplier)
        self._session_factory = session_factory

    def weigh(self, candidates: Sequence[Pod], request: PlacementRequest) -> list[float]:
        with self._session_factory() as session:
            counts = pods.count_bindings_by_pod(session, [pod.pod_id for pod in candidates])
        return [-float(counts[pod.pod_id]) for pod in candidates]


def _normalised(weights: Sequence[float]) -> list[float]:
    """``weights`` scaled to 0..1 (all 0 when they are equal), as Nova's weighers are."""
    low, high = min(weights), max(weights)
    if high == low:
        return [0.0 for _ in weights]
    return [(weight - low) / (high - low) for weight in weights]


class PodScheduler:
    """Picks and binds the pod of a new server or volume; filters that ask pods ask them on
    ``pool``."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        pool: PodCallPool,
        filters: Sequence[PodFilter],
        weighers: Sequence[PodWeigher],
        default_availability_zone: str | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.pool = pool
        self.filters = list(filters)
        self.weighers = list(weighers)
        self.default_availability_zone = default_availability_zone or None

    def select_pod(self, request: PlacementRequest) -> Placement:
        """The pod for ``request``: the project's binding in the AZ, else the best pod, now bound.

        Raises UnknownAvailabilityZone or NoValidPod. With no AZ asked, the default AZ (see the
        module's docstring).
        """
        with self._session_factory() as session:
            az_name = request.availability_zone
            if az_name is None:
                az_name = self.default_zone(session)
            binding = pods.find_binding(session, request.project_id, az_name)
            if binding is not None:
                pod = pods.get_pod(session, binding.pod_id)
                LOG.debug(
                    "Project %s is bound to pod %s in AZ %s",
                    request.project_id,
                    pod.region_name,
                    binding.az_name,
                )
                return Placement(pod, binding.az_name, binding.id, newly_bound=False)
            candidates = self._candidates(session, az_name)
        chosen = self._best(self._filtered(candidates, request, az_name), request)
        with self._session_factory() as session, session.begin():
            binding, created = pods.bind_project(session, project_id=request.project_id, pod=chosen)
            bound_pod_id, binding_id, bound_az = binding.pod_id, binding.id, binding.az_name
        if bound_pod_id == chosen.pod_id:
            pod = chosen
        else:
            with self._session_factory() as session:
                pod = pods.get_pod(session, bound_pod_id)
        if created:
            LOG.info(
                "Bound project %s to pod %s in AZ %s",
                request.project_id,
                pod.region_name,
                pod.az_name,
            )
        else:
            LOG.info(
                "Project %s was bound to pod %s in AZ %s meanwhile; using it",
                request.project_id,
                pod.region_name,
                pod.az_name,
            )
        return Placement(pod, bound_az, binding_id, newly_bound=created)

    def default_zone(self, session: Session) -> str:
        """The AZ of requests naming none: the configured one, else the first bottom pod's
        (region order); UnknownAvailabilityZone if there is no bottom pod."""
        if self.default_availability_zone is not None:
            return self.default_availability_zone
        first = next((pod for pod in pods.list_pods(session) if not pod.is_top), None)
        if first is None:
            raise UnknownAvailabilityZone("")
        return first.az_name

    @staticmethod
    def _candidates(session: Session, az_name: str) -> list[Pod]:
        """Bottom pods of ``az_name``; raises UnknownAvailabilityZone if there are none."""
        found = [pod for pod in pods.list_pods(session, az_name=az_name) if not pod.is_top]
        if not found:
            raise UnknownAvailabilityZone(az_name)
        return found

    def _filtered(
        self, candidates: list[Pod], request: PlacementRequest, az_name: str
    ) -> list[Pod]:
        """Candidates every filter passes (cheap filters first); raises NoValidPod if none."""
        reasons: dict[str, str] = {}
        remaining = candidates
        for pod_filter in self.filters:
            kept = []
            for pod, passed in zip(
                remaining, self._answers(pod_filter, remaining, request), strict=True
            ):
                if passed:
                    kept.append(pod)
                else:
                    reasons[pod.region_name] = pod_filter.name
                    LOG.info(
                        "Pod %s filtered out by %s for project %s",
                        pod.region_name,
                        pod_filter.name,
                        request.project_id,
                    )
            remaining = kept
        if not remaining:
            raise NoValidPod(az_name, reasons)
        return remaining

    def _answers(
        self, pod_filter: PodFilter, candidates: list[Pod], request: PlacementRequest
    ) -> list[bool]:
        """``pod_filter``'s verdict on each candidate; pods asked in parallel if it asks them."""
        if not pod_filter.asks_pod or len(candidates) < 2:
            return [pod_filter.passes(pod, request) for pod in candidates]
        outcomes = self.pool.call_each(
            lambda pod: pod_filter.passes(pod, request), candidates, timeout=None
        )
        return [bool(outcome.result()) for outcome in outcomes]

    def _best(self, candidates: list[Pod], request: PlacementRequest) -> Pod:
        """The heaviest candidate; equal weights go to the first region name."""
        totals = [0.0 for _ in candidates]
        for weigher in self.weighers:
            weights = _normalised(weigher.weigh(candidates, request))
            totals = [
                total + weigher.multiplier * w for total, w in zip(totals, weights, strict=True)
            ]
        ranked = sorted(
            zip(candidates, totals, strict=True), key=lambda pair: (-pair[1], pair[0].region_name)
        )
        chosen, weight = ranked[0]
        LOG.info(
            "Chose pod %s (weight %.3f) for project %s among %s",
            chosen.region_name,
            weight,
            request.project_id,
            ", ".join(f"{pod.region_name}={total:.3f}" for pod, total in ranked),
        )
        return chosen


def make_scheduler(
    conf: cfg.ConfigOpts,
    session_factory: sessionmaker[Session],
    *,
    pool: PodCallPool,
    reachable: Callable[[Pod], bool] | None = None,
    has_capacity: Callable[[Pod, PlacementRequest], bool] | None = None,
) -> PodScheduler:
    """The standard scheduler: enabled, then reachable and capacity when given; spread projects.

    ``[scheduler] default_availability_zone`` is the AZ of requests that name none (unset: the
    first bottom pod's).
    """
    filters: list[PodFilter] = [EnabledFilter()]
    if reachable is not None:
        filters.append(ReachableFilter(reachable))
    if has_capacity is not None:
        filters.append(CapacityFilter(has_capacity))
    return PodScheduler(
        session_factory,
        pool=pool,
        filters=filters,
        weighers=[FewestBindingsWeigher(session_factory)],
        default_availability_zone=conf.scheduler.default_availability_zone,
    )

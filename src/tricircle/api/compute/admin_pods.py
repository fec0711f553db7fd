"""What the operator's admin views across pods share: Nova's policy check, asking every pod at
once with a deadline, finding the one pod holding something, and integer IDs that name their pod.

Pods are asked as the caller (its token and microversion). A pod that fails or does not answer
within ``[compute] list_deadline`` is left out of a merged view and logged, as the cross-pod
lister does; a pod's refusal of the request itself (4xx) is the caller's answer.

Integer IDs (hypervisors and services before 2.53, aggregates, migrations) collide across pods;
the gateway shows ``bottom_id * POD_SLOTS + pod_number``, the pod number being the pod's place
(from 1) among the bottom pods ordered by region name: Pod1's hypervisor 1 is 1001, Pod2's 1002.
An ID names its pod by arithmetic alone (no routing row, so a pod can still be removed); the
numbers hold while the set of pods does not change its order (a pod registered later under a
region name sorting before existing ones renumbers them). UUIDs (hypervisors and services from
2.53) are unique already and are found by asking the pods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from oslo_policy import policy as oslo_policy
from oslo_utils import uuidutils

from tricircle.api.compute.state import authorize, state
from tricircle.api.errors import Forbidden, NotFound
from tricircle.api.gateway import bottom_pods, caller
from tricircle.api.podcalls import Caller, CallerPodCalls, PodAnswer
from tricircle.db.models import Pod
from tricircle.pods import search
from tricircle.pods.client import PodCallError, PodClientError

LOG = logging.getLogger(__name__)

POD_SLOTS = 1000
# Nova's answer to a method its microversion does not have: a bare 404.
NO_SUCH_METHOD = "The resource could not be found."
Found = TypeVar("Found")


def authorize_nova(rule: str, target: dict[str, str] | None = None) -> None:
    """Nova's 403 (``Policy doesn't allow ... to be performed.``) unless the caller may."""
    try:
        authorize(rule, target if target is not None else {})
    except oslo_policy.PolicyNotAuthorized as exc:
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.") from exc


def method_not_found() -> NotFound:
    """Nova's 404 for a path its negotiated microversion does not serve."""
    return NotFound(NO_SUCH_METHOD)


def ordered_pods() -> list[Pod]:
    """The bottom pods by region name: the order of merged views and of pod numbers."""
    return sorted(bottom_pods(), key=lambda pod: pod.region_name)


def pod_number(pod: Pod) -> int:
    """``pod``'s number (from 1) in the order of ``ordered_pods``."""
    return [item.pod_id for item in ordered_pods()].index(pod.pod_id) + 1


@dataclass(frozen=True)
class PodBody:
    """One pod's answer in a merged view: the pod, its number and the decoded JSON."""

    pod: Pod
    number: int
    body: Any


@dataclass(frozen=True)
class Asker:
    """The calls of one request, usable on worker threads (no request context needed)."""

    calls: CallerPodCalls
    who: Caller
    deadline: float

    def call(
        self, pod: Pod, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> PodAnswer:
        """One request to ``pod``'s Nova as the caller, within the deadline for reads."""
        return self.calls.call(
            self.who,
            pod.region_name,
            method,
            path,
            json=json,
            params=params,
            timeout=self.deadline if method == "GET" else None,
        )

    def shown_or_none(self, pod: Pod, path: str, params: Any = None) -> Any:
        """The body of ``GET path`` in ``pod``, or None on the pod's 404 (or 400)."""
        try:
            return self.call(pod, "GET", path, params=params).body
        except PodClientError as exc:
            if exc.status in (400, 404):
                return None
            raise


def asker() -> Asker:
    """The pod calls of the current request."""
    app_state = state()
    return Asker(app_state.calls, caller(), app_state.conf.compute.list_deadline)


def call_pod(
    pod: Pod, method: str, path: str, *, json: Any = None, params: Any = None
) -> PodAnswer:
    """One request to ``pod``'s Nova as the caller, within the deadline for reads."""
    return asker().call(pod, method, path, json=json, params=params)


def ask_every_pod(
    path: str, *, params: Any = None, missing_ok: bool = False, what: str = ""
) -> list[PodBody]:
    """``GET path`` of every pod at once, the answers in pod order.

    A pod that fails or misses the deadline is left out and logged; a pod's 404 is left out
    when ``missing_ok`` (nothing of it matched); any other refusal (4xx) is raised.
    """
    ask = asker()
    outcomes = state().pod_pool.call_each(
        lambda pod: ask.call(pod, "GET", path, params=params), ordered_pods(), ask.deadline
    )
    answers = []
    for number, outcome in enumerate(outcomes, 1):
        pod, error = outcome.item, outcome.error
        if not outcome.in_time:
            LOG.warning(
                "%s: pod %s did not answer in time; left out", what or path, pod.region_name
            )
            continue
        if isinstance(error, PodClientError):
            if missing_ok and error.status == 404:
                continue
            raise error
        if error is not None:
            if not isinstance(error, PodCallError):
                raise error
            LOG.warning("%s: pod %s failed (%s); left out", what or path, pod.region_name, error)
            continue
        answers.append(PodBody(pod, number, outcome.value.body))
    return answers


def find_pod(shown_in: Callable[[Asker, Pod], Found | None]) -> tuple[Pod, Found] | None:
    """The first pod (in pod order) whose ``shown_in(asker, pod)`` is not None, asked at once."""
    ask = asker()
    return search.find_holder(
        state().pod_pool, ordered_pods(), lambda pod: shown_in(ask, pod), ask.deadline
    )


def find_pod_showing(path: str, params: Any = None) -> tuple[Pod, Any] | None:
    """The first pod whose ``GET path`` answers, with its answer."""
    return find_pod(lambda ask, pod: ask.shown_or_none(pod, path, params))


# Integer IDs.


def top_int_id(number: int, bottom_id: Any) -> Any:
    """The ID the gateway shows for ``bottom_id`` of pod ``number`` (non-integers unchanged)."""
    if isinstance(bottom_id, bool) or not isinstance(bottom_id, int):
        return bottom_id
    return bottom_id * POD_SLOTS + number


def pod_of_int_id(top_id: str) -> tuple[Pod, int] | None:
    """The pod and bottom ID an integer top ID names, or None if it names none."""
    try:
        value = int(str(top_id).strip())
    except ValueError:
        return None
    if value <= 0:
        return None
    bottom_id, number = divmod(value, POD_SLOTS)
    pods = ordered_pods()
    if bottom_id == 0 or not 1 <= number <= len(pods):
        return None
    return pods[number - 1], bottom_id


def is_uuid(value: str) -> bool:
    """True if ``value`` looks like a UUID, as Nova checks it."""
    return uuidutils.is_uuid_like(value)


def first(sequence: Sequence[Found]) -> Found | None:
    """The first item, or None."""
    return sequence[0] if sequence else None

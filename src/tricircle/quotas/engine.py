"""The quota engine: a project's limits, its usage, reservations of creates, and the limits
written into the pods.

Limits live in Tricircle's database (``[quota]`` gives the defaults). A create reserves what it
will take before anything is made in a pod: in one transaction holding the project's lock row,
the usage is found (below), the reservations in flight are added, the caller's plan decides (or
refuses) what to take, and a reservation row records it. The reservation is released once the
pod's create has returned: from then on the pod counts the new resource itself. Holding the lock
while deciding is what makes concurrent creates of one project, in any number of gateway
processes, never exceed the limit; projects do not wait for each other (on PostgreSQL).
Changing a limit below the usage is refused unless forced, under the same lock.

**A user's share** (Nova's per-user quotas, the service's ``per_user`` resources): limits set
on one user of a project, each falling back to the project's limit. Setting one is refused
(unless forced) above what the project's limit leaves after its other users' limits, or below
the user's usage; a project's limit is refused below the sum of its users' limits. A create
for a user with a limit set on a counted resource is decided on the project's usage, then on
the user's (that user's resources counted in the pods now, with the user's reservations), and
takes the smaller of the two takes (plans take in proportion to one count, so the smaller take
fits both). Key pairs are per user in Nova: ``user_limit`` gives the limit they are held to.

**Usage counts and their reuse.** Every count of a project in a pod (``usage.py``) is kept in
the database (``quota_usage_counts``, one row per project, pod and service, shared by every
gateway process) with the time the count began; released reservations keep their release time.
A pod's count then holds every create whose reservation was released before that time (its pod
had answered before the count asked). So, for a count no older than ``[quota] usage_reuse_age``
(and ``reservation_expire``, after which a create in flight stops being counted):

    usage = the pods' last counts + reservations released since the oldest of those counts
            + reservations in flight

never misses a create made through Tricircle, by any process; a delete made since only counts
too high, the safe side. What it can miss, for the bound at most: creates and resizes made
straight in a pod and resizes through the gateway (they hold no reservation). A create whose
plan refuses on such an estimate, or that would leave less room than it takes (Nova's
``max_count`` cut to what fits), counts every pod afresh and decides again, so nobody is
refused, or given fewer servers, on a stale count. Displays (``os-quota-sets``, limits) and
limit updates always count afresh. A pod that cannot report counts with its last count if no
older than ``[quota] usage_fallback_age``, with the reservations released since added the same
way. Released reservations are deleted once older than both bounds. Counts are keyed by
project: one project's usage is never another's. Times come from one ``Clock`` (UTC): gateway
hosts must agree on the time far closer than the bound, as for reservation expiry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db import pods as pod_queries
from tricircle.db import quotas as quota_queries
from tricircle.db.models import Pod
from tricircle.db.quotas import UsageCount
from tricircle.jobs.clock import SYSTEM_CLOCK, Clock
from tricircle.pods.client import PodCallError, PodClients
from tricircle.pods.fanout import PodCallPool
from tricircle.quotas import mirror
from tricircle.quotas.resources import QuotaService
from tricircle.quotas.usage import UsageUnknown, count_pods

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    """A project's limits with what its pods hold and what creates in flight have reserved."""

    limits: dict[str, int]
    in_use: dict[str, int]
    reserved: dict[str, int]

    def used(self, resource: str) -> int:
        """Held in the pods plus reserved."""
        return self.in_use.get(resource, 0) + self.reserved.get(resource, 0)

    def headroom(self, resource: str) -> int | None:
        """What may still be taken (never negative); None when unlimited."""
        limit = self.limits[resource]
        return None if limit < 0 else max(limit - self.used(resource), 0)

    def overs(self, amounts: Mapping[str, int]) -> list[str]:
        """The resources ``amounts`` would take over their limit, sorted."""
        return sorted(
            resource
            for resource, amount in amounts.items()
            if amount > 0
            and self.limits[resource] >= 0
            and self.used(resource) + amount > self.limits[resource]
        )


@dataclass(frozen=True)
class Reservation:
    """What one create holds until it is released."""

    reservation_id: str
    project_id: str
    amounts: dict[str, int]


class QuotaBelowUsage(Exception):
    """A new limit is below what the project uses (and the update is not forced)."""

    def __init__(self, resource: str, limit: int, used: int) -> None:
        super().__init__(f"limit {limit} for {resource} is below its usage {used}")
        self.resource = resource
        self.limit = limit
        self.used = used


class QuotaAboveProject(Exception):
    """A user's limit above what the project's limit leaves for it (and not forced)."""

    def __init__(self, resource: str, limit: int, maximum: int) -> None:
        super().__init__(f"limit {limit} for {resource} is above the project's {maximum}")
        self.resource = resource
        self.limit = limit
        self.maximum = maximum


Plan = Callable[[Usage], Mapping[str, int]]


DEFAULT_CLASS = "default"


def class_key(class_name: str) -> str:
    """Where a quota class's limits are kept: as a project no Keystone ID can be."""
    return f"class:{class_name}"


class QuotaEngine:
    """Limits, usage, reservations and pod mirrors of every project, for every service."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        session_factory: sessionmaker[Session],
        pod_clients: PodClients,
        pool: PodCallPool,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.conf = conf
        self.session_factory = session_factory
        self.pod_clients = pod_clients
        self.pool = pool
        self.clock = clock

    def defaults(self, service: QuotaService) -> dict[str, int]:
        """The defaults of ``service``'s resources: the ``default`` quota class's limits where
        set, else ``[quota]``'s."""
        with self.session_factory() as session:
            return self._defaults(session, service)

    def _defaults(self, session: Session, service: QuotaService) -> dict[str, int]:
        configured = {resource: self.conf.quota[resource] for resource in service.resources}
        set_on_class = quota_queries.get_limits(session, class_key(DEFAULT_CLASS))
        return {
            **configured,
            **{r: limit for r, limit in set_on_class.items() if r in service.resources},
        }

    def class_limits(
        self, service: QuotaService, class_name: str, extra: Callable[[str], bool] | None = None
    ) -> dict[str, int]:
        """A quota class's limits over the defaults, with the other limits set on it that
        ``extra`` accepts (Cinder's per-volume-type ``volumes_<type>``); only the ``default``
        class changes what projects get."""
        with self.session_factory() as session:
            set_on_class = quota_queries.get_limits(session, class_key(class_name))
            defaults = self._defaults(session, service)
        return {
            **defaults,
            **{
                resource: limit
                for resource, limit in set_on_class.items()
                if resource in service.resources or (extra is not None and extra(resource))
            },
        }

    def update_class_limits(
        self, service: QuotaService, class_name: str, limits: Mapping[str, int]
    ) -> dict[str, int]:
        """Set limits on a quota class; its limits after (those set now included). Projects'
        pods get new defaults before their next create there (their mirrors' digests differ)."""
        with self.session_factory() as session, session.begin():
            quota_queries.set_limits(session, class_key(class_name), limits)
        return self.class_limits(service, class_name, lambda resource: resource in limits)

    def _limits(self, session: Session, service: QuotaService, project_id: str) -> dict[str, int]:
        return {
            **self._defaults(session, service),
            **{
                resource: limit
                for resource, limit in quota_queries.get_limits(session, project_id).items()
                if resource in service.resources
            },
        }

    def limits(self, service: QuotaService, project_id: str) -> dict[str, int]:
        """The project's limits: those set on it, else the defaults."""
        with self.session_factory() as session:
            return self._limits(session, service, project_id)

    def _user_limits(
        self, session: Session, service: QuotaService, project_id: str, user_id: str
    ) -> dict[str, int]:
        set_on_user = quota_queries.get_user_limits(session, project_id, user_id)
        return {
            **self._limits(session, service, project_id),
            **{r: limit for r, limit in set_on_user.items() if r in service.per_user},
        }

    def user_limits(self, service: QuotaService, project_id: str, user_id: str) -> dict[str, int]:
        """A user's limits within the project: those set on the user, else the project's."""
        with self.session_factory() as session:
            return self._user_limits(session, service, project_id, user_id)

    def user_limit(
        self, service: QuotaService, project_id: str, user_id: str, resource: str
    ) -> int:
        """The limit a per-user resource (Nova's key pairs) is held to for ``user_id``: the
        tighter of the project's and the user's (-1 unlimited)."""
        with self.session_factory() as session:
            limits = (
                self._limits(session, service, project_id)[resource],
                self._user_limits(session, service, project_id, user_id)[resource],
            )
        bounded = [limit for limit in limits if limit >= 0]
        return min(bounded) if bounded else -1

    def _user_usage(
        self, session: Session, service: QuotaService, project_id: str, user_id: str
    ) -> Usage:
        """A user's limits, its resources in the project's pods counted now, and its
        reservations. Raises UsageUnknown."""
        limits = self._user_limits(session, service, project_id, user_id)
        started = self.clock.now()
        counted = count_pods(
            self.pool,
            self.pod_clients,
            self._project_pods(session, project_id),
            service,
            project_id,
            self.conf.quota.usage_timeout,
            user_id=user_id,
        )
        in_use = dict.fromkeys(service.counted, 0)
        released = quota_queries.released_amounts(session, project_id, started, user_id)
        for found in [*counted.values(), released]:
            if isinstance(found, UsageUnknown):
                raise found
            for resource, amount in found.items():
                in_use[resource] = in_use.get(resource, 0) + amount
        pending = quota_queries.pending_amounts(session, project_id, self.clock.now(), user_id)
        return Usage(limits, in_use, {r: pending.get(r, 0) for r in service.counted})

    def user_usage(self, service: QuotaService, project_id: str, user_id: str) -> Usage:
        """A user's limits and usage within the project (raises UsageUnknown)."""
        with self.session_factory() as session, session.begin():
            return self._user_usage(session, service, project_id, user_id)

    def update_user_limits(
        self,
        service: QuotaService,
        project_id: str,
        user_id: str,
        limits: Mapping[str, int],
        *,
        force: bool,
    ) -> dict[str, int]:
        """Set limits on a user's share of the project; the user's limits after. Unless
        ``force``, a limit above what the project leaves raises QuotaAboveProject, one below
        the user's usage QuotaBelowUsage, and nothing changes. A resource without per-user
        limits is set on the project, as Nova does."""
        per_user = {r: limit for r, limit in limits.items() if r in service.per_user}
        project_wide = {r: limit for r, limit in limits.items() if r not in service.per_user}
        with self.session_factory() as session, session.begin():
            quota_queries.lock_project(session, project_id)
            if not force:
                self._check_user_limits(session, service, project_id, user_id, per_user)
            if project_wide:
                quota_queries.set_limits(session, project_id, project_wide)
            quota_queries.set_user_limits(session, project_id, user_id, per_user)
            return self._user_limits(session, service, project_id, user_id)

    def _check_user_limits(
        self,
        session: Session,
        service: QuotaService,
        project_id: str,
        user_id: str,
        limits: Mapping[str, int],
    ) -> None:
        """Nova's settable range of a user's limits: at most the project's limit less its other
        users' limits, at least the user's usage."""
        project_limits = self._limits(session, service, project_id)
        others = quota_queries.users_limits(session, project_id, except_user_id=user_id)
        for resource, limit in limits.items():
            if project_limits[resource] < 0:
                continue
            maximum = project_limits[resource] - others.get(resource, 0)
            if limit < 0 or limit > maximum:
                raise QuotaAboveProject(resource, limit, maximum)
        if any(limits.get(resource, -1) >= 0 for resource in service.counted):
            usage = self._user_usage(session, service, project_id, user_id)
            for resource in service.counted:
                if 0 <= limits.get(resource, -1) < usage.used(resource):
                    raise QuotaBelowUsage(resource, limits[resource], usage.used(resource))

    def reset_user_limits(self, service: QuotaService, project_id: str, user_id: str) -> None:
        """Forget the limits set on a user's share: they return to the project's."""
        with self.session_factory() as session, session.begin():
            quota_queries.delete_user_limits(session, project_id, service.per_user, user_id)

    def _reuse_age(self) -> dt.timedelta:
        """How old a kept count a create may reuse (zero: none)."""
        quota = self.conf.quota
        return dt.timedelta(seconds=min(quota.usage_reuse_age, quota.reservation_expire))

    def _usage(self, session: Session, service: QuotaService, project_id: str) -> Usage:
        """Limits, pod usage (every pod counted now) and reservations, read in ``session``.
        Raises UsageUnknown."""
        limits = self._limits(session, service, project_id)
        if all(limits[resource] < 0 for resource in service.counted):
            return self._tally(session, service, project_id, limits, {})
        counts, _ = self._pod_counts(
            session, service, project_id, self._project_pods(session, project_id)
        )
        return self._tally(session, service, project_id, limits, counts)

    def _pod_counts(
        self,
        session: Session,
        service: QuotaService,
        project_id: str,
        pods: list[Pod],
        reuse_age: dt.timedelta = dt.timedelta(0),
    ) -> tuple[dict[str, UsageCount], list[Pod]]:
        """One count per pod, by pod ID: its kept count if younger than ``reuse_age``, else
        counted now (and kept), else its kept count if within the fallback age; and the pods
        whose kept count was reused. Raises UsageUnknown."""
        kept = quota_queries.usage_counts(session, project_id, service.name)
        now = self.clock.now()
        reused = [
            pod
            for pod in pods
            if pod.pod_id in kept and now - kept[pod.pod_id].counted_at < reuse_age
        ]
        counts = {pod.pod_id: kept[pod.pod_id] for pod in reused}
        to_count = [pod for pod in pods if pod.pod_id not in counts]
        counted = count_pods(
            self.pool,
            self.pod_clients,
            to_count,
            service,
            project_id,
            self.conf.quota.usage_timeout,
        )
        for pod in to_count:
            found = counted[pod.pod_id]
            if isinstance(found, UsageUnknown):
                counts[pod.pod_id] = self._fallback(
                    found, kept.get(pod.pod_id), service, project_id
                )
                continue
            count = UsageCount(found, now)
            quota_queries.record_usage_count(session, project_id, pod.pod_id, service.name, count)
            counts[pod.pod_id] = count
        return counts, reused

    def _fallback(
        self,
        unknown: UsageUnknown,
        last: UsageCount | None,
        service: QuotaService,
        project_id: str,
    ) -> UsageCount:
        """The last count of a pod that did not report now, if young enough; else raises
        ``unknown``."""
        fallback_age = dt.timedelta(seconds=self.conf.quota.usage_fallback_age)
        if last is None or self.clock.now() - last.counted_at >= fallback_age:
            raise unknown
        LOG.warning(
            "usage counted from the last report region=%s service=%s project_id=%s "
            "counted_at=%s reason=%s",
            unknown.region_name,
            service.name,
            project_id,
            last.counted_at.isoformat(),
            unknown.__cause__ or unknown,
        )
        return last

    def _tally(
        self,
        session: Session,
        service: QuotaService,
        project_id: str,
        limits: dict[str, int],
        counts: Mapping[str, UsageCount],
    ) -> Usage:
        """The usage from the pods' counts: their sum plus the reservations released since
        the oldest of them began, and the reservations in flight."""
        in_use = dict.fromkeys(service.counted, 0)
        taken_since: dict[str, int] = {}
        if counts:
            oldest = min(count.counted_at for count in counts.values())
            taken_since = quota_queries.released_amounts(session, project_id, oldest)
        for usage in [*(count.usage for count in counts.values()), taken_since]:
            for resource, amount in usage.items():
                in_use[resource] = in_use.get(resource, 0) + amount
        pending = quota_queries.pending_amounts(session, project_id, self.clock.now())
        return Usage(limits, in_use, {r: pending.get(r, 0) for r in service.counted})

    @staticmethod
    def _project_pods(session: Session, project_id: str) -> list[Pod]:
        """The bottom pods the project may use (``project_pod_ids`` never names the top)."""
        pod_ids = quota_queries.project_pod_ids(session, project_id)
        return [pod for pod in pod_queries.list_pods(session) if pod.pod_id in pod_ids]

    def usage(self, service: QuotaService, project_id: str) -> Usage:
        """The project's limits and usage, every pod counted now (raises UsageUnknown)."""
        with self.session_factory() as session, session.begin():
            return self._usage(session, service, project_id)

    def reserve(
        self, service: QuotaService, project_id: str, plan: Plan, user_id: str | None = None
    ) -> Reservation:
        """Reserve what ``plan`` decides from the project's usage (and ``user_id``'s, when a
        limit on a counted resource is set on that user), under the project's lock.

        ``plan`` raises to refuse (nothing is recorded); a refusal, or a take leaving less room
        than itself, on reused counts is decided again on counts made now. Raises UsageUnknown
        if a pod cannot report its usage.
        """
        now = self.clock.now()
        quota = self.conf.quota
        keep_released = max(self._reuse_age(), dt.timedelta(seconds=quota.usage_fallback_age))
        with self.session_factory() as session, session.begin():
            quota_queries.lock_project(session, project_id)
            quota_queries.delete_spent_reservations(
                session, project_id, now, released_before=now - keep_released
            )
            amounts = self._decide(session, service, project_id, plan)
            if user_id is not None:
                amounts = self._decide_for_user(
                    session, service, project_id, user_id, plan, amounts
                )
            expires_at = now + dt.timedelta(seconds=quota.reservation_expire)
            reservation_id = quota_queries.add_reservation(
                session, project_id, amounts, expires_at, user_id
            )
        LOG.info(
            "quota reserved project_id=%s reservation_id=%s amounts=%s",
            project_id,
            reservation_id,
            amounts,
        )
        return Reservation(reservation_id, project_id, amounts)

    def _decide(
        self, session: Session, service: QuotaService, project_id: str, plan: Plan
    ) -> dict[str, int]:
        """What ``plan`` takes: from reused counts when it fits in them twice over, else from
        those pods counted now."""
        limits = self._limits(session, service, project_id)
        if all(limits[resource] < 0 for resource in service.counted):
            return dict(plan(self._tally(session, service, project_id, limits, {})))
        pods = self._project_pods(session, project_id)
        counts, reused = self._pod_counts(session, service, project_id, pods, self._reuse_age())
        usage = self._tally(session, service, project_id, limits, counts)
        if not reused:
            return dict(plan(usage))
        try:
            amounts = dict(plan(usage))
        except Exception:  # a refusal resting on reused counts: count those pods again
            amounts = None
        if amounts is not None and not usage.overs({r: 2 * a for r, a in amounts.items()}):
            return amounts
        LOG.info("quota near the limit on reused counts, counting project_id=%s", project_id)
        counts.update(self._pod_counts(session, service, project_id, reused)[0])
        return dict(plan(self._tally(session, service, project_id, limits, counts)))

    def _decide_for_user(
        self,
        session: Session,
        service: QuotaService,
        project_id: str,
        user_id: str,
        plan: Plan,
        amounts: dict[str, int],
    ) -> dict[str, int]:
        """``amounts`` (the project's take), or the user's smaller take when a limit on a
        counted resource is set on the user (``plan`` refuses over the user's limits)."""
        set_on_user = quota_queries.get_user_limits(session, project_id, user_id)
        if not any(resource in set_on_user for resource in service.counted):
            return amounts
        taken = plan(self._user_usage(session, service, project_id, user_id))
        return {
            resource: min(amount, taken.get(resource, amount))
            for resource, amount in amounts.items()
        }

    def release(self, reservation: Reservation) -> None:
        """Release a reservation: its create has returned (kept, with the time, for counts
        made before it)."""
        with self.session_factory() as session, session.begin():
            quota_queries.release_reservation(session, reservation.reservation_id, self.clock.now())

    def update_limits(
        self,
        service: QuotaService,
        project_id: str,
        limits: Mapping[str, int],
        *,
        force: bool,
    ) -> dict[str, int]:
        """Set limits on the project's total; the project's limits after. Unless ``force``,
        a limit below the usage, or below the sum of its users' limits, raises QuotaBelowUsage
        and nothing changes. The pods the
        project uses get the new limits (a pod that fails gets them before its next create).
        """
        with self.session_factory() as session, session.begin():
            quota_queries.lock_project(session, project_id)
            if not force:
                users = quota_queries.users_limits(session, project_id)
                for resource, limit in limits.items():
                    if 0 <= limit < users.get(resource, 0):
                        raise QuotaBelowUsage(resource, limit, users[resource])
            if not force and any(limits.get(r, -1) >= 0 for r in service.counted):
                usage = self._usage(session, service, project_id)
                for resource in service.counted:
                    limit = limits.get(resource, -1)
                    if 0 <= limit < usage.used(resource):
                        raise QuotaBelowUsage(resource, limit, usage.used(resource))
            quota_queries.set_limits(session, project_id, limits)
            updated = self._limits(session, service, project_id)
            pods = self._project_pods(session, project_id)
        self._mirror_everywhere(service, project_id, pods, updated)
        return updated

    def reset_limits(self, service: QuotaService, project_id: str) -> None:
        """Forget the limits set on the project and on its users: they return to their
        defaults, in the pods too."""
        with self.session_factory() as session, session.begin():
            quota_queries.delete_limits(session, project_id, service.resources)
            quota_queries.delete_user_limits(session, project_id, service.per_user)
            pods = self._project_pods(session, project_id)
        self._mirror_everywhere(service, project_id, pods, self.defaults(service))

    def _mirror_everywhere(
        self, service: QuotaService, project_id: str, pods: list[Pod], limits: Mapping[str, int]
    ) -> None:
        for pod in pods:
            self._write_pod(service, project_id, pod, mirror.mirrored_limits(service, limits))

    def ensure_pod_limits(self, service: QuotaService, project_id: str, pod: Pod) -> None:
        """Make the pod's own quota of the project hold the top limits before a create there
        (written only when they changed since the last write)."""
        wanted = mirror.mirrored_limits(service, self.limits(service, project_id))
        with self.session_factory() as session:
            current = quota_queries.mirror_digest(session, project_id, pod.pod_id, service.name)
        if current != mirror.digest(wanted):
            self._write_pod(service, project_id, pod, wanted)

    def _write_pod(
        self, service: QuotaService, project_id: str, pod: Pod, limits: Mapping[str, int]
    ) -> None:
        """Write the limits into one pod and remember them; a failure is logged (the next
        create in that pod tries again)."""
        client = self.pod_clients.client(pod.region_name, service.pod_service_type)
        try:
            mirror.write_pod_limits(client, service, project_id, limits)
        except PodCallError as exc:
            LOG.warning(
                "quota of project %s not written in pod %s (%s): %s",
                project_id,
                pod.region_name,
                service.name,
                exc,
            )
            return
        with self.session_factory() as session, session.begin():
            quota_queries.record_mirror(
                session, project_id, pod.pod_id, service.name, mirror.digest(limits)
            )

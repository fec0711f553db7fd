"""The quota engine: a project's limits, its usage, reservations of creates in flight, and the
limits written into the pods.

Limits live in Tricircle's database (``[quota]`` gives the defaults). A create reserves what it
will take before anything is made in a pod: in one transaction holding the project's lock row,
the usage is counted in the pods (``usage.py``), the pending reservations are added, the
caller's plan decides (or refuses) what to take, and a reservation row records it. The
reservation is released once the pod's create has returned: the pods then count the new
resource themselves. Holding the lock while counting is what makes concurrent creates of one
project, in any number of gateway processes, never exceed the limit; projects do not wait for
each other (on PostgreSQL). Changing a limit below the usage is refused unless forced, under
the same lock.
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
from tricircle.db.models import Pod, utcnow
from tricircle.pods.client import PodCallError, PodClients
from tricircle.pods.fanout import PodCallPool
from tricircle.quotas import mirror
from tricircle.quotas.resources import QuotaService
from tricircle.quotas.usage import LastUsage, count_usage

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
        last: LastUsage,
    ) -> None:
        self.conf = conf
        self.session_factory = session_factory
        self.pod_clients = pod_clients
        self.pool = pool
        self.last = last

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

    def _usage(self, session: Session, service: QuotaService, project_id: str) -> Usage:
        """Limits, pod usage and pending reservations, read in ``session``."""
        now = utcnow()
        limits = self._limits(session, service, project_id)
        reserved = quota_queries.reserved_amounts(session, project_id, now)
        if all(limits[resource] < 0 for resource in service.counted):
            in_use = dict.fromkeys(service.counted, 0)
        else:
            in_use = count_usage(
                self.pool,
                self.pod_clients,
                self._project_pods(session, project_id),
                service,
                project_id,
                self.conf.quota.usage_timeout,
                self.last,
            )
        return Usage(limits, in_use, {r: reserved.get(r, 0) for r in service.counted})

    @staticmethod
    def _project_pods(session: Session, project_id: str) -> list[Pod]:
        pod_ids = quota_queries.project_pod_ids(session, project_id)
        return [pod for pod in pod_queries.list_pods(session) if pod.pod_id in pod_ids]

    def usage(self, service: QuotaService, project_id: str) -> Usage:
        """The project's limits and usage now (raises UsageUnknown)."""
        with self.session_factory() as session:
            return self._usage(session, service, project_id)

    def reserve(self, service: QuotaService, project_id: str, plan: Plan) -> Reservation:
        """Reserve what ``plan`` decides from the project's usage, under the project's lock.

        ``plan`` raises to refuse (nothing is recorded); raises UsageUnknown if a pod cannot
        report its usage.
        """
        now = utcnow()
        with self.session_factory() as session, session.begin():
            quota_queries.lock_project(session, project_id)
            quota_queries.delete_expired_reservations(session, project_id, now)
            amounts = {k: v for k, v in plan(self._usage(session, service, project_id)).items()}
            expires_at = now + dt.timedelta(seconds=self.conf.quota.reservation_expire)
            reservation_id = quota_queries.add_reservation(session, project_id, amounts, expires_at)
        LOG.info(
            "quota reserved project_id=%s reservation_id=%s amounts=%s",
            project_id,
            reservation_id,
            amounts,
        )
        return Reservation(reservation_id, project_id, amounts)

    def release(self, reservation: Reservation) -> None:
        """Release a reservation: its create has returned."""
        with self.session_factory() as session, session.begin():
            quota_queries.delete_reservation(session, reservation.reservation_id)

    def update_limits(
        self,
        service: QuotaService,
        project_id: str,
        limits: Mapping[str, int],
        *,
        force: bool,
    ) -> dict[str, int]:
        """Set limits on the project's total; the project's limits after. Unless ``force``,
        a limit below the usage raises QuotaBelowUsage and nothing changes. The pods the
        project uses get the new limits (a pod that fails gets them before its next create).
        """
        with self.session_factory() as session, session.begin():
            quota_queries.lock_project(session, project_id)
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
        """Forget the limits set on the project: they return to their defaults, in the pods
        too."""
        with self.session_factory() as session, session.begin():
            quota_queries.delete_limits(session, project_id, service.resources)
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

"""Queries on pods and pod bindings.

Every function takes a Session and never commits: callers own the transaction
(``with session.begin():``). Uniqueness is enforced by the database; the checks done here
first only exist to give a precise error.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tricircle.db import routings
from tricircle.db.models import Pod, PodBinding
from tricircle.db.session import insert_unless_conflict


class PodError(Exception):
    """Base of the errors raised by pod and binding queries."""


class PodNotFound(PodError, LookupError):
    """No pod has this ID or region."""

    def __init__(self, pod_id: str) -> None:
        super().__init__(f"Pod {pod_id} could not be found.")
        self.pod_id = pod_id


class BindingNotFound(PodError, LookupError):
    """No pod binding has this ID."""

    def __init__(self, binding_id: str) -> None:
        super().__init__(f"Pod binding {binding_id} could not be found.")
        self.binding_id = binding_id


class PodConflict(PodError):
    """The change clashes with existing pods or bindings (duplicate, or still in use)."""


class InvalidBinding(PodError, ValueError):
    """The binding names a pod it cannot use (missing, or the top pod)."""


def _flush(session: Session, conflict_message: str) -> None:
    """Flush pending rows, turning a unique-constraint violation into PodConflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise PodConflict(conflict_message) from exc


def create_pod(
    session: Session,
    *,
    region_name: str,
    az_name: str = "",
    pod_az_name: str = "",
    dc_name: str = "",
    is_enabled: bool = True,
) -> Pod:
    """Add a pod; an empty ``az_name`` makes it the top pod, of which there is only one."""
    if get_pod_by_region(session, region_name) is not None:
        raise PodConflict(f"A pod with region_name {region_name} already exists.")
    if az_name == "" and get_top_pod(session) is not None:
        raise PodConflict("The top pod (empty az_name) already exists.")
    pod = Pod(
        region_name=region_name,
        az_name=az_name,
        pod_az_name=pod_az_name,
        dc_name=dc_name,
        is_enabled=is_enabled,
    )
    session.add(pod)
    _flush(session, f"Pod {region_name} clashes with an existing pod.")
    return pod


def list_pods(
    session: Session, *, az_name: str | None = None, region_name: str | None = None
) -> list[Pod]:
    """Pods, optionally only those in one AZ or region, ordered by region name."""
    query = select(Pod).order_by(Pod.region_name)
    if az_name is not None:
        query = query.where(Pod.az_name == az_name)
    if region_name is not None:
        query = query.where(Pod.region_name == region_name)
    return list(session.scalars(query))


def get_pod(session: Session, pod_id: str) -> Pod:
    """The pod with this ID; raises PodNotFound."""
    pod = session.get(Pod, pod_id)
    if pod is None:
        raise PodNotFound(pod_id)
    return pod


def get_pod_by_region(session: Session, region_name: str) -> Pod | None:
    """The pod serving this Keystone region, if any."""
    return session.scalars(select(Pod).where(Pod.region_name == region_name)).one_or_none()


def get_top_pod(session: Session) -> Pod | None:
    """Tricircle's own pod (empty az_name), if registered."""
    return session.scalars(select(Pod).where(Pod.az_name == "")).one_or_none()


def update_pod(session: Session, pod_id: str, *, is_enabled: bool | None = None) -> Pod:
    """Change what may change of a pod (whether new bindings may choose it); raises PodNotFound."""
    pod = get_pod(session, pod_id)
    if is_enabled is not None:
        pod.is_enabled = is_enabled
    session.flush()
    return pod


def delete_pod(session: Session, pod_id: str) -> None:
    """Remove a pod and its bindings; raises PodNotFound, or PodConflict while routings use it.

    The foreign key from routings also stops the delete (as PodConflict) if one slips in meanwhile.
    """
    pod = get_pod(session, pod_id)
    in_use = routings.count_routings_for_pod(session, pod_id)
    if in_use:
        raise PodConflict(f"Pod {pod_id} still has {in_use} resource routing(s).")
    session.execute(delete(PodBinding).where(PodBinding.pod_id == pod_id))
    session.delete(pod)
    _flush(session, f"Pod {pod_id} is still in use.")


def _bindable_pod(session: Session, pod_id: str) -> Pod:
    """The bottom pod a project may bind to; raises InvalidBinding."""
    pod = session.get(Pod, pod_id)
    if pod is None:
        raise InvalidBinding(f"Invalid pod_id {pod_id}: no such pod.")
    if pod.is_top:
        raise InvalidBinding(f"Invalid pod_id {pod_id}: projects bind to bottom pods, not the top.")
    return pod


def create_binding(session: Session, *, project_id: str, pod_id: str) -> PodBinding:
    """Bind a project to a bottom pod; one binding per (project, AZ)."""
    pod = _bindable_pod(session, pod_id)
    existing = find_binding(session, project_id, pod.az_name)
    if existing is not None:
        raise PodConflict(
            f"Project {project_id} is already bound to pod {existing.pod_id} in AZ {pod.az_name}."
        )
    binding = PodBinding(project_id=project_id, pod_id=pod_id, az_name=pod.az_name)
    session.add(binding)
    _flush(session, f"Project {project_id} is already bound to a pod in AZ {pod.az_name}.")
    return binding


def bind_project(session: Session, *, project_id: str, pod: Pod) -> tuple[PodBinding, bool]:
    """The project's binding in the pod's AZ, and True if this call made it (to ``pod``).

    Safe against concurrent callers: the unique (project_id, az_name) lets one insert win and
    every other caller gets the winner's binding, whichever pod it names. The insert reads
    nothing first, so call it first thing in a fresh transaction: SQLite then never refuses the
    write on a stale snapshot.
    """
    if pod.is_top:
        raise InvalidBinding(
            f"Invalid pod {pod.pod_id}: projects bind to bottom pods, not the top."
        )
    values = {"project_id": project_id, "pod_id": pod.pod_id, "az_name": pod.az_name}
    inserted = insert_unless_conflict(session, PodBinding, values)
    if inserted is not None:
        return inserted, True
    existing = find_binding(session, project_id, pod.az_name)
    if existing is None:
        raise PodConflict(f"Project {project_id} could not be bound in AZ {pod.az_name}.")
    return existing, False


def count_bindings_by_pod(session: Session, pod_ids: Collection[str]) -> dict[str, int]:
    """How many projects are bound to each of these pods (0 for a pod without bindings)."""
    query = (
        select(PodBinding.pod_id, func.count())
        .where(PodBinding.pod_id.in_(list(pod_ids)))
        .group_by(PodBinding.pod_id)
    )
    counts = dict.fromkeys(pod_ids, 0)
    counts.update({pod_id: count for pod_id, count in session.execute(query)})
    return counts


def list_bindings(
    session: Session, *, project_id: str | None = None, pod_id: str | None = None
) -> list[PodBinding]:
    """Bindings, optionally of one project or one pod, oldest first."""
    query = select(PodBinding).order_by(PodBinding.created_at, PodBinding.id)
    if project_id is not None:
        query = query.where(PodBinding.project_id == project_id)
    if pod_id is not None:
        query = query.where(PodBinding.pod_id == pod_id)
    return list(session.scalars(query))


def get_binding(session: Session, binding_id: str) -> PodBinding:
    """The binding with this ID; raises BindingNotFound."""
    binding = session.get(PodBinding, binding_id)
    if binding is None:
        raise BindingNotFound(binding_id)
    return binding


def delete_binding(session: Session, binding_id: str) -> None:
    """Remove a binding; raises BindingNotFound."""
    session.delete(get_binding(session, binding_id))
    session.flush()


def find_binding(session: Session, project_id: str, az_name: str) -> PodBinding | None:
    """The project's binding to a pod in this AZ (there is at most one), if any."""
    query = select(PodBinding).where(
        PodBinding.project_id == project_id, PodBinding.az_name == az_name
    )
    return session.scalars(query).one_or_none()

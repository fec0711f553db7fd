"""SQLAlchemy 2.0 models of Tricircle's database.

One aggregate per table group: pods and their bindings, resource routings, jobs and their log.
Queries live beside the models in ``pods.py``, ``routings.py`` and ``jobs.py``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_uuid() -> str:
    """A fresh UUID4 as the canonical 36-character string."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (the form every column stores)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of every Tricircle table."""


class TimestampMixin:
    """``created_at`` and ``updated_at`` kept by the database layer."""

    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Pod(Base):
    """One OpenStack cloud (a Keystone region) managed by Tricircle; the top pod has az_name ''.

    ``az_name`` never changes once set (bindings copy it). A pod that is not ``is_enabled`` keeps
    serving the projects already bound to it but is never chosen for a new binding.
    """

    __tablename__ = "pods"
    __table_args__ = (
        Index(
            "uq_pods_top_pod",
            "az_name",
            unique=True,
            sqlite_where=text("az_name = ''"),
            postgresql_where=text("az_name = ''"),
        ),
    )

    pod_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    region_name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    az_name: Mapped[str] = mapped_column(String(255), nullable=False, default="", index=True)
    pod_az_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    dc_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    is_enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )

    @property
    def is_top(self) -> bool:
        """True for Tricircle's own region."""
        return self.az_name == ""


class PodBinding(TimestampMixin, Base):
    """A project bound to a pod, so that its servers and volumes in that AZ land together.

    ``az_name`` is the pod's, copied so that the database itself allows one binding per project
    and AZ: two first creates racing in one AZ end on the same pod.
    """

    __tablename__ = "pod_bindings"
    __table_args__ = (
        UniqueConstraint("project_id", "pod_id", name="uq_pod_bindings_project_pod"),
        UniqueConstraint("project_id", "az_name", name="uq_pod_bindings_project_az"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    pod_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("pods.pod_id", ondelete="CASCADE"), nullable=False
    )
    az_name: Mapped[str] = mapped_column(String(255), nullable=False)


class ResourceRouting(TimestampMixin, Base):
    """Top ID -> bottom ID in one pod. An empty bottom_id marks a create in flight (the lock)."""

    __tablename__ = "resource_routings"
    __table_args__ = (
        UniqueConstraint("top_id", "pod_id", name="uq_resource_routings_top_pod"),
        Index("ix_resource_routings_bottom", "bottom_id", "pod_id"),
        Index("ix_resource_routings_project_type", "project_id", "resource_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    top_id: Mapped[str] = mapped_column(String(127), nullable=False, index=True)
    bottom_id: Mapped[str | None] = mapped_column(String(127), nullable=True)
    pod_id: Mapped[str] = mapped_column(String(36), ForeignKey("pods.pod_id"), nullable=False)
    project_id: Mapped[str] = mapped_column(String(255), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(64), nullable=False)


class JobStatus(enum.StrEnum):
    """Life cycle of a job: new -> running -> success | failed (failed jobs are retried)."""

    NEW = "new"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class Job(TimestampMixin, Base):
    """Durable asynchronous work, claimed by one worker at a time.

    At most one job per (type, resource_id) waits as ``new``: a second enqueue coalesces into it.
    At most one job per resource_id, of any type, is ``running``. ``lease_until`` is set when a
    worker claims the job; a running job past it is taken again.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_pending_resource",
            "type",
            "resource_id",
            unique=True,
            sqlite_where=text("status = 'new'"),
            postgresql_where=text("status = 'new'"),
        ),
        Index(
            "uq_jobs_running_resource",
            "resource_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index(
            "ix_jobs_due",
            "run_after",
            sqlite_where=text("status IN ('new', 'failed')"),
            postgresql_where=text("status IN ('new', 'failed')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(127), nullable=False)
    project_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=JobStatus.NEW,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    run_after: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, default=utcnow, server_default=func.current_timestamp()
    )
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class JobLog(Base):
    """One line per finished attempt of a job: what ran, how it ended, when."""

    __tablename__ = "job_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(127), nullable=False)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Flavor(TimestampMixin, Base):
    """A flavor defined at the Nova gateway; made with the same ID in a pod on first use there."""

    __tablename__ = "flavors"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    ram: Mapped[int] = mapped_column(Integer, nullable=False)
    vcpus: Mapped[int] = mapped_column(Integer, nullable=False)
    disk: Mapped[int] = mapped_column(Integer, nullable=False)
    ephemeral: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    swap: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra_specs: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class FlavorAccess(Base):
    """A project allowed to use a private flavor."""

    __tablename__ = "flavor_access"

    flavor_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("flavors.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class Keypair(TimestampMixin, Base):
    """A user's keypair stored at the Nova gateway; made for the user in a pod on first use."""

    __tablename__ = "keypairs"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_keypairs_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False, default="ssh")
    fingerprint: Mapped[str] = mapped_column(String(255), nullable=False)
    public_key: Mapped[str] = mapped_column(Text, nullable=False)


class VolumeType(TimestampMixin, Base):
    """A volume type defined at the gateway; made to exist in a pod when a volume there uses it.

    Its copy in a pod is found through a resource routing of type ``volume_type``.
    """

    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    extra_specs: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class VolumeTypeEncryption(TimestampMixin, Base):
    """A volume type's encryption specs (Cinder's ``/types/{id}/encryption``), at most one per
    type; copied with the type into every pod that holds a copy of it."""

    __tablename__ = "volume_type_encryptions"

    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    encryption_id: Mapped[str] = mapped_column(String(36), nullable=False, default=new_uuid)
    provider: Mapped[str] = mapped_column(String(255), nullable=False)
    control_location: Mapped[str] = mapped_column(String(255), nullable=False)
    cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_size: Mapped[int | None] = mapped_column(Integer, nullable=True)


class QuotaProject(TimestampMixin, Base):
    """A project whose quotas Tricircle enforces; its row is the lock that serialises the
    project's reservations (``SELECT ... FOR UPDATE``) across every gateway process."""

    __tablename__ = "quota_projects"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class QuotaLimit(TimestampMixin, Base):
    """A limit set on a project's total over every pod (``-1`` is unlimited); a resource with
    no row takes its ``[quota]`` default."""

    __tablename__ = "quota_limits"
    __table_args__ = (
        UniqueConstraint("project_id", "resource", name="uq_quota_limits_project_resource"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("quota_projects.project_id", ondelete="CASCADE"), nullable=False
    )
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int] = mapped_column(Integer, nullable=False)


class QuotaUserLimit(TimestampMixin, Base):
    """A limit set on one user's share of a project (Nova's per-user quotas); a resource with
    no row takes the project's limit."""

    __tablename__ = "quota_user_limits"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "user_id", "resource", name="uq_quota_user_limits_project_user_resource"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("quota_projects.project_id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(String(255), nullable=False)
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int] = mapped_column(Integer, nullable=False)


class QuotaReservation(Base):
    """What a create holds: while in flight (``released_at`` empty) until ``expires_at`` (a
    gateway that died mid-create); once its pod has answered, it is kept with ``released_at`` so
    a usage count older than that release adds it (see ``quotas/engine.py``)."""

    __tablename__ = "quota_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    project_id: Mapped[str] = mapped_column(
        String(255),
        ForeignKey("quota_projects.project_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class QuotaUsageCount(Base):
    """A project's usage of one service last counted in one pod, with the time the count
    began: what creates reuse for ``[quota] usage_reuse_age`` and what a pod that cannot report
    counts with for ``[quota] usage_fallback_age``. Shared by every gateway process."""

    __tablename__ = "quota_usage_counts"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    pod_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("pods.pod_id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    usage: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)
    counted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class QuotaPodMirror(TimestampMixin, Base):
    """The limits last written into one pod's own quota of a project for one service, as a
    digest: a create in that pod rewrites them first when they differ from the top's."""

    __tablename__ = "quota_pod_mirrors"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    pod_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("pods.pod_id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)


class DeletedServer(Base):
    """The pod a deleted server lived in, kept ``[compute] deleted_server_retention`` after its
    routing is forgotten, only to reach the pod for the server's instance actions (Nova lists
    them for a deleted server from microversion 2.21). Not a routing: nothing else reads it."""

    __tablename__ = "deleted_servers"

    server_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    pod_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("pods.pod_id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(String(255), nullable=False)
    deleted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)

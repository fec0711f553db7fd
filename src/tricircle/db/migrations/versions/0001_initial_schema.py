"""Initial schema: pods, pod bindings, resource routings, jobs and job logs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JOB_STATUSES = ("new", "running", "success", "failed")
# Shared by jobs and job_logs: created once explicitly, never by create_table.
job_status = postgresql.ENUM(*JOB_STATUSES, name="job_status", create_type=False)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    """Create every table of models.py as of this revision."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(*JOB_STATUSES, name="job_status").create(bind, checkfirst=True)

    op.create_table(
        "pods",
        sa.Column("pod_id", sa.String(36), primary_key=True),
        sa.Column("region_name", sa.String(255), nullable=False, unique=True),
        sa.Column("az_name", sa.String(255), nullable=False),
        sa.Column("pod_az_name", sa.String(255), nullable=False),
        sa.Column("dc_name", sa.String(255), nullable=False),
    )
    op.create_index("ix_pods_az_name", "pods", ["az_name"])
    op.create_index(
        "uq_pods_top_pod",
        "pods",
        ["az_name"],
        unique=True,
        sqlite_where=sa.text("az_name = ''"),
        postgresql_where=sa.text("az_name = ''"),
    )

    op.create_table(
        "pod_bindings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column(
            "pod_id",
            sa.String(36),
            sa.ForeignKey("pods.pod_id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_timestamps(),
        sa.UniqueConstraint("project_id", "pod_id", name="uq_pod_bindings_project_pod"),
    )
    op.create_index("ix_pod_bindings_project_id", "pod_bindings", ["project_id"])

    op.create_table(
        "resource_routings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("top_id", sa.String(127), nullable=False),
        sa.Column("bottom_id", sa.String(127), nullable=True),
        sa.Column("pod_id", sa.String(36), sa.ForeignKey("pods.pod_id"), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("top_id", "pod_id", name="uq_resource_routings_top_pod"),
    )
    op.create_index("ix_resource_routings_top_id", "resource_routings", ["top_id"])
    op.create_index("ix_resource_routings_bottom", "resource_routings", ["bottom_id", "pod_id"])
    op.create_index(
        "ix_resource_routings_project_type", "resource_routings", ["project_id", "resource_type"]
    )

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(127), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", job_status, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "run_after",
            sa.DateTime(),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_jobs_project_id", "jobs", ["project_id"])
    op.create_index("ix_jobs_status_run_after", "jobs", ["status", "run_after"])
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["run_after"],
        sqlite_where=sa.text("status IN ('new', 'failed')"),
        postgresql_where=sa.text("status IN ('new', 'failed')"),
    )
    op.create_index(
        "uq_jobs_pending_resource",
        "jobs",
        ["type", "resource_id"],
        unique=True,
        sqlite_where=sa.text("status = 'new'"),
        postgresql_where=sa.text("status = 'new'"),
    )

    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(127), nullable=False),
        sa.Column("status", job_status, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_job_logs_job_id", "job_logs", ["job_id"])


def downgrade() -> None:
    """Drop every table (and the job_status type on PostgreSQL)."""
    for table in ("job_logs", "jobs", "resource_routings", "pod_bindings", "pods"):
        op.drop_table(table)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(name="job_status").drop(bind, checkfirst=True)

"""At most one job per resource runs at a time: a unique index on running jobs' resource_id.

Where several jobs of one resource were running, the one with the greatest id keeps running and
the others go back to ``failed``, due at once: their run_after already passed when they were
claimed (handlers are idempotent; their workers' outcomes are refused as lost claims).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

jobs = sa.table(
    "jobs",
    sa.column("id", sa.String),
    sa.column("resource_id", sa.String),
    sa.column("status", sa.String),
    sa.column("lease_until", sa.DateTime),
    sa.column("last_error", sa.Text),
)


def upgrade() -> None:
    """Requeue all but one running job per resource, then add ``uq_jobs_running_resource``."""
    other = jobs.alias("other")
    another_runs = (
        sa.select(other.c.id)
        .where(
            other.c.status == "running",
            other.c.resource_id == jobs.c.resource_id,
            other.c.id > jobs.c.id,
        )
        .exists()
    )
    op.execute(
        jobs.update()
        .where(jobs.c.status == "running", another_runs)
        .values(
            status="failed",
            lease_until=None,
            last_error="another job of this resource was running",
        )
    )
    op.create_index(
        "uq_jobs_running_resource",
        "jobs",
        ["resource_id"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    """Drop ``uq_jobs_running_resource``."""
    op.drop_index("uq_jobs_running_resource", table_name="jobs")

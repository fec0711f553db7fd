"""Quota usage counts kept per project, pod and service; released reservations kept with their
release time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add quota_usage_counts and quota_reservations.released_at."""
    op.create_table(
        "quota_usage_counts",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column(
            "pod_id",
            sa.String(36),
            sa.ForeignKey("pods.pod_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("usage", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=False),
    )
    op.add_column("quota_reservations", sa.Column("released_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop released reservations (0005 deletes a reservation on release), then the column and
    the counts."""
    reservations = sa.table("quota_reservations", sa.column("released_at", sa.DateTime()))
    op.execute(reservations.delete().where(reservations.c.released_at.is_not(None)))
    # A plain ALTER (SQLite 3.35+), as 0002 drops pods.is_enabled.
    op.drop_column("quota_reservations", "released_at")
    op.drop_table("quota_usage_counts")

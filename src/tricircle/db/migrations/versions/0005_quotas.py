"""Quotas over every pod: limits, the per-project lock row, reservations, pod mirrors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    """Add quota_projects, quota_limits, quota_reservations and quota_pod_mirrors."""
    op.create_table(
        "quota_projects",
        sa.Column("project_id", sa.String(255), primary_key=True),
        *_timestamps(),
    )
    op.create_table(
        "quota_limits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.String(255),
            sa.ForeignKey("quota_projects.project_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("project_id", "resource", name="uq_quota_limits_project_resource"),
    )
    op.create_table(
        "quota_reservations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column(
            "project_id",
            sa.String(255),
            sa.ForeignKey("quota_projects.project_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_quota_reservations_reservation_id", "quota_reservations", ["reservation_id"]
    )
    op.create_index("ix_quota_reservations_project_id", "quota_reservations", ["project_id"])
    op.create_table(
        "quota_pod_mirrors",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column(
            "pod_id",
            sa.String(36),
            sa.ForeignKey("pods.pod_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        *_timestamps(),
    )


def downgrade() -> None:
    """Drop the quota tables."""
    op.drop_table("quota_pod_mirrors")
    op.drop_index("ix_quota_reservations_project_id", "quota_reservations")
    op.drop_index("ix_quota_reservations_reservation_id", "quota_reservations")
    op.drop_table("quota_reservations")
    op.drop_table("quota_limits")
    op.drop_table("quota_projects")

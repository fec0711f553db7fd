"""Per-user quota limits within a project (Nova's ``os-quota-sets?user_id=``), and the user a
reservation was made for.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add quota_user_limits and quota_reservations.user_id."""
    op.create_table(
        "quota_user_limits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.String(255),
            sa.ForeignKey("quota_projects.project_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "project_id", "user_id", "resource", name="uq_quota_user_limits_project_user_resource"
        ),
    )
    op.add_column("quota_reservations", sa.Column("user_id", sa.String(255), nullable=True))


def downgrade() -> None:
    """Drop the column (a plain ALTER, SQLite 3.35+, as 0007) and the table."""
    op.drop_column("quota_reservations", "user_id")
    op.drop_table("quota_user_limits")

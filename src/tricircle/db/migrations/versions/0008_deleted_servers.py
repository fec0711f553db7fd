"""The pods of deleted servers, kept for a while to reach their instance actions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add deleted_servers."""
    op.create_table(
        "deleted_servers",
        sa.Column("server_id", sa.String(255), primary_key=True),
        sa.Column(
            "pod_id",
            sa.String(36),
            sa.ForeignKey("pods.pod_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_deleted_servers_deleted_at", "deleted_servers", ["deleted_at"])


def downgrade() -> None:
    """Drop deleted_servers."""
    op.drop_index("ix_deleted_servers_deleted_at", table_name="deleted_servers")
    op.drop_table("deleted_servers")

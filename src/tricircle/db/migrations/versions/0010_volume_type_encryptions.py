"""Encryption specs of the gateway's volume types.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the volume_type_encryptions table."""
    op.create_table(
        "volume_type_encryptions",
        sa.Column(
            "volume_type_id",
            sa.String(36),
            sa.ForeignKey("volume_types.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("encryption_id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("control_location", sa.String(255), nullable=False),
        sa.Column("cipher", sa.String(255), nullable=True),
        sa.Column("key_size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the volume_type_encryptions table."""
    op.drop_table("volume_type_encryptions")

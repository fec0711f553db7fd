"""Pods can be disabled; a project has at most one binding per AZ.

``pods.is_enabled`` (true for existing pods). ``pod_bindings.az_name`` is filled from the bound
pod; where a project was bound to several pods of one AZ, the oldest binding is kept and the
others are removed (a binding only steers new placements, no resource points at it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

pods = sa.table("pods", sa.column("pod_id", sa.String), sa.column("az_name", sa.String))
bindings = sa.table(
    "pod_bindings",
    sa.column("id", sa.String),
    sa.column("project_id", sa.String),
    sa.column("pod_id", sa.String),
    sa.column("az_name", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _remove_duplicate_bindings() -> None:
    """Keep only the oldest binding of each (project, AZ) (ties: smallest id)."""
    older = bindings.alias("older")
    has_older = (
        sa.select(sa.literal(1))
        .where(
            older.c.project_id == bindings.c.project_id,
            older.c.az_name == bindings.c.az_name,
            sa.or_(
                older.c.created_at < bindings.c.created_at,
                sa.and_(older.c.created_at == bindings.c.created_at, older.c.id < bindings.c.id),
            ),
        )
        .exists()
    )
    op.execute(bindings.delete().where(has_older))


def upgrade() -> None:
    """Add pods.is_enabled and pod_bindings.az_name with its unique (project_id, az_name)."""
    op.add_column(
        "pods",
        sa.Column("is_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "pod_bindings",
        sa.Column("az_name", sa.String(255), nullable=False, server_default=""),
    )
    pod_az = sa.select(pods.c.az_name).where(pods.c.pod_id == bindings.c.pod_id).scalar_subquery()
    op.execute(bindings.update().values(az_name=pod_az))
    _remove_duplicate_bindings()
    with op.batch_alter_table("pod_bindings") as batch:
        batch.alter_column("az_name", existing_type=sa.String(255), server_default=None)
        batch.create_unique_constraint("uq_pod_bindings_project_az", ["project_id", "az_name"])


def downgrade() -> None:
    """Drop the binding AZ and the pod switch."""
    with op.batch_alter_table("pod_bindings") as batch:
        batch.drop_constraint("uq_pod_bindings_project_az", type_="unique")
        batch.drop_column("az_name")
    # A plain ALTER (SQLite 3.35+): a batch copy of pods would trip the routings' foreign key.
    op.drop_column("pods", "is_enabled")

"""application grants remember who gave them; pushed groups may carry an application

A grant's `granted_by` names its source (`main_contact`, `support`, `identity_provider`; empty for
grants made before this revision). `group_applications` maps a group of an account to an
application: the group's members have the application while they are members.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_by", sa.String(length=32), nullable=True))
    op.create_table(
        "group_applications",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_group_applications_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_applications_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "application_id", name=op.f("pk_group_applications")),
    )
    with op.batch_alter_table("group_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_applications_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("group_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_applications_application_id"))
    op.drop_table("group_applications")
    with op.batch_alter_table("application_grants", schema=None) as batch_op:
        batch_op.drop_column("granted_by")

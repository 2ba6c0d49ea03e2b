"""case-folded primary email and its Manage Users sort index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("primary_email_ci", sa.String(length=320), nullable=False, server_default="")
        )
    # The address User.primary_email picks: the primary one, else the first; value_ci is already
    # case-folded.
    op.execute(
        "UPDATE users SET primary_email_ci = coalesce(("
        "SELECT e.value_ci FROM user_emails e WHERE e.user_id = users.id "
        "ORDER BY e.\"primary\" DESC, e.position LIMIT 1), '')"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_users_account_primary_email",
            ["account_id", "active", "primary_email_ci", "user_name_ci"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_account_primary_email")
        batch_op.drop_column("primary_email_ci")

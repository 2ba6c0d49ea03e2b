"""case-folded names and the Manage Users sort indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_users_account_given_name": [
        "account_id",
        "active",
        "given_name_ci",
        "family_name_ci",
        "user_name_ci",
    ],
    "ix_users_account_family_name": [
        "account_id",
        "active",
        "family_name_ci",
        "given_name_ci",
        "user_name_ci",
    ],
    "ix_users_account_user_name": ["account_id", "active", "user_name_ci"],
    "ix_users_account_profile": ["account_id", "active", "profile", "user_name_ci"],
    "ix_users_account_last_login": ["account_id", "active", "last_login_at", "user_name_ci"],
}


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("given_name_ci", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("family_name_ci", sa.String(length=255), nullable=False, server_default="")
        )
    # SQL lower() stands in for Python's casefold for the rows already there.
    op.execute(
        "UPDATE users SET given_name_ci = lower(coalesce(given_name, '')), "
        "family_name_ci = lower(coalesce(family_name, ''))"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column("family_name_ci")
        batch_op.drop_column("given_name_ci")

"""drop ix_users_account_active, a prefix of the Manage Users sort indexes

Every query it served is served by ix_users_account_user_name (account_id, active,
user_name_ci), a larger index: counting an account's inactive users reads more index pages (at
200,000 users, 321 instead of 25, a fraction of a millisecond). In exchange every user written
pays for one index entry fewer (#3's creates).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_account_active")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_account_active", ["account_id", "active"], unique=False)

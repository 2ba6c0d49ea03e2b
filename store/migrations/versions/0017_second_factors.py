"""Second factors: authenticator apps, recovery codes, who must use them, clients requiring them

`totp_factors` keeps each person's authenticator app (one per person: the RFC 6238 secret, when a
code confirmed it, the last time step accepted), `recovery_codes` the SHA-256 of their single-use
recovery codes. `accounts.mfa_policy` says who in an account must use a second factor
(`optional`, `main_contacts`, `everyone`), `deployment_settings` holds support's switch requiring
one of everybody (`mfa_required`), and `oauth_clients.require_mfa` marks the applications whose
sign-in needs a second factor. Existing accounts are optional, existing clients require none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from store.db import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_totp_factors_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_totp_factors"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_recovery_codes_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recovery_codes"),
        sa.UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_id"),
    )
    op.create_table(
        "deployment_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", Json, nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_deployment_settings"),
    )
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(
            sa.Column("mfa_policy", sa.String(16), nullable=False, server_default="optional")
        )
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("require_mfa", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("require_mfa")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("mfa_policy")
    op.drop_table("deployment_settings")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")

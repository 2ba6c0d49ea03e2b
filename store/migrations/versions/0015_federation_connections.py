"""Accounts connect their organization's OpenID provider for sign-in

`federation_connections` holds one upstream provider per account (issuer, client, the claim that
identifies a person and the user attribute it links to, whether it is required and whether it
creates users at first sign-in); `federation_domains` the email domains that belong to it (one
owner each); `federation_logins` the sign-ins sent upstream and not back yet (state, nonce, PKCE
verifier), consumed by the callback.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("issuer", sa.String(length=1024), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.String(length=1024), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=False),
        sa.Column("link_by", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("create_users", sa.Boolean(), nullable=False),
        sa.Column("created_at", store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_federation_connections_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_connections")),
        sa.UniqueConstraint("account_id", name=op.f("uq_federation_connections_account_id")),
    )
    op.create_table(
        "federation_domains",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["federation_connections.id"],
            name=op.f("fk_federation_domains_connection_id_federation_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_federation_domains")),
    )
    op.create_index(
        op.f("ix_federation_domains_connection_id"), "federation_domains", ["connection_id"]
    )
    op.create_table(
        "federation_logins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        sa.Column("created_at", store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["federation_connections.id"],
            name=op.f("fk_federation_logins_connection_id_federation_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_federation_logins")),
    )
    op.create_index(
        op.f("ix_federation_logins_connection_id"), "federation_logins", ["connection_id"]
    )
    op.create_index(op.f("ix_federation_logins_expires_at"), "federation_logins", ["expires_at"])


def downgrade() -> None:
    op.drop_table("federation_logins")
    op.drop_table("federation_domains")
    op.drop_table("federation_connections")

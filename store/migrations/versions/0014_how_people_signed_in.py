"""SSO sessions and authorization codes remember how the person signed in

`amr` holds the authentication methods of RFC 8176 (`pwd`, `otp`, `hwk`, `swk`, `mfa`, ...),
space-separated, and `acr` the assurance level reached; ID tokens carry both. Sessions also keep the
browser's user agent and address, which the person sees on their list of signed-in browsers.
Sessions and codes made before this revision were all signed in with a password.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sso_sessions") as batch_op:
        batch_op.add_column(sa.Column("amr", sa.String(128), nullable=False, server_default="pwd"))
        batch_op.add_column(sa.Column("acr", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(512), nullable=True))
        batch_op.add_column(sa.Column("ip_address", sa.String(64), nullable=True))
    with op.batch_alter_table("oauth_codes") as batch_op:
        batch_op.add_column(sa.Column("amr", sa.String(128), nullable=False, server_default="pwd"))
        batch_op.add_column(sa.Column("acr", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_codes") as batch_op:
        batch_op.drop_column("acr")
        batch_op.drop_column("amr")
    with op.batch_alter_table("sso_sessions") as batch_op:
        batch_op.drop_column("ip_address")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("acr")
        batch_op.drop_column("amr")

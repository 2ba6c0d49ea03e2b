"""CSC access requests name the organization; vetted people get the CSC application

A request for Client Support Center access now carries the organization and customer number the
person gave, so support can tell who they are. Access given by support's vetting (an approved
request, or a CSC login verified at registration) is now a grant of the `csc` application, which
the CSC's sign-in checks: people vetted before this revision get that grant now, when the
application is registered (not people No Longer at Account, whose grants ended).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import store.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

requests = sa.table(
    "csc_access_requests",
    sa.column("user_id", sa.Uuid()),
    sa.column("decision", sa.String()),
)
applications = sa.table("applications", sa.column("id", sa.Uuid()), sa.column("key", sa.String()))
users = sa.table(
    "users", sa.column("id", sa.Uuid()), sa.column("no_longer_at_account", sa.Boolean())
)
grants = sa.table(
    "application_grants",
    sa.column("user_id", sa.Uuid()),
    sa.column("application_id", sa.Uuid()),
    sa.column("created_at", store.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("csc_access_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("customer_number", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    csc = connection.scalar(sa.select(applications.c.id).where(applications.c.key == "csc"))
    if csc is None:
        return
    left = sa.select(users.c.id).where(users.c.no_longer_at_account.is_(True))
    vetted = (
        sa.select(requests.c.user_id)
        .where(requests.c.decision.in_(["approved", "verified"]), requests.c.user_id.not_in(left))
        .distinct()
    )
    held = sa.select(grants.c.user_id).where(grants.c.application_id == csc)
    moment = datetime.now(UTC)
    for (user_id,) in connection.execute(vetted.where(requests.c.user_id.not_in(held))):
        connection.execute(
            grants.insert().values(user_id=user_id, application_id=csc, created_at=moment)
        )


def downgrade() -> None:
    with op.batch_alter_table("csc_access_requests", schema=None) as batch_op:
        batch_op.drop_column("customer_number")
        batch_op.drop_column("organization")

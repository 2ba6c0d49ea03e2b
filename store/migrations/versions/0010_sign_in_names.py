"""sign-in names: each userName and primary address reaches one user

A name typed at sign-in (a userName, or the address of a user's primary email, case-folded) is
held in `sign_in_names` once, by the user it reaches (SPEC §1 Users: sign-in names are
unambiguous). Until now two users could share an address (two accounts' identity providers
pushing it), and a userName could be someone else's address (a guest registering with it), so
a login could reach either person.

Existing rows are kept as they are; nothing is deleted or rewritten. Where a name is contested,
one user holds it, chosen in this order:

1. the user whose verified primary address it is (the owner of a proven address wins, so a
   username taken from someone's address stops signing anyone in with it);
2. the user whose userName it is;
3. the user whose primary address it is, not verified yet;

and among equals the user created first. The others keep their userName and emails unchanged,
but that name no longer signs them in (and an address they do not hold is not `email_verified`
in their claims); each such user gets an audit event `user.sign_in_name_withheld` naming the
name, so support can find them and rename them or change their address. They still sign in with
their other name when they hold it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
VERIFIED_ADDRESS, USER_NAME, UNVERIFIED_ADDRESS = 0, 1, 2

users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("account_id", sa.Uuid()),
    sa.column("user_name_ci", sa.String()),
    sa.column("primary_email_ci", sa.String()),
    sa.column("email_verified", sa.Boolean()),
    sa.column("created_at", store.db.UTCDateTime(timezone=True)),
)
sign_in_names = sa.table(
    "sign_in_names", sa.column("name_ci", sa.String()), sa.column("user_id", sa.Uuid())
)
audit_events = sa.table(
    "audit_events",
    sa.column("at", store.db.UTCDateTime(timezone=True)),
    sa.column("actor_type", sa.String()),
    sa.column("actor_id", sa.String()),
    sa.column("actor_label", sa.String()),
    sa.column("door", sa.String()),
    sa.column("action", sa.String()),
    sa.column("account_id", sa.Uuid()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column(
        "changes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    ),
)


def upgrade() -> None:
    op.create_table(
        "sign_in_names",
        sa.Column("name_ci", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_in_names_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name_ci", name=op.f("pk_sign_in_names")),
    )
    with op.batch_alter_table("sign_in_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_names_user_id"), ["user_id"], unique=False)
    _fill(op.get_bind())


def _fill(conn: sa.Connection) -> None:
    """Give each name to its one holder (the order of the docstring); record who lost one."""
    best: dict[str, tuple[int, datetime, str, uuid.UUID]] = {}
    accounts: dict[uuid.UUID, uuid.UUID | None] = {}
    wanted: list[tuple[str, uuid.UUID]] = []
    found = conn.execute(
        sa.select(
            users.c.id,
            users.c.account_id,
            users.c.user_name_ci,
            users.c.primary_email_ci,
            users.c.email_verified,
            users.c.created_at,
        )
    )
    for user_id, account_id, user_name, address, verified, created in found:
        accounts[user_id] = account_id
        claims = {user_name: USER_NAME}
        if address:
            rank = VERIFIED_ADDRESS if verified else UNVERIFIED_ADDRESS
            claims[address] = min(rank, claims.get(address, rank))
        for name, rank in claims.items():
            wanted.append((name, user_id))
            mine = (rank, created, str(user_id), user_id)
            if name not in best or mine < best[name]:
                best[name] = mine
    rows = [{"name_ci": name, "user_id": held[3]} for name, held in best.items()]
    for start in range(0, len(rows), BATCH):
        conn.execute(sign_in_names.insert(), rows[start : start + BATCH])
    moment = datetime.now(UTC)
    withheld = [
        {
            "at": moment,
            "actor_type": "system",
            "actor_id": None,
            "actor_label": "migration 0008",
            "door": "system",
            "action": "user.sign_in_name_withheld",
            "account_id": accounts[user_id],
            "target_type": "user",
            "target_id": str(user_id),
            "changes": {"name": name, "held_by": str(best[name][3])},
        }
        for name, user_id in wanted
        if best[name][3] != user_id
    ]
    for start in range(0, len(withheld), BATCH):
        conn.execute(audit_events.insert(), withheld[start : start + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("sign_in_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_names_user_id"))
    op.drop_table("sign_in_names")

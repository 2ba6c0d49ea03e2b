"""provisioning tokens remember the person who minted them

A token minted in the console works only while its maker counts as a main contact (SPEC §1 Users,
"No Longer at Account": the tokens they minted end). `minted_by_user_id` names that person; tokens
the operator made (the command line, the demo) name nobody.

Existing tokens get the person from the audit event of their creation (`credential.created` by a
user or support staff in the console). A live token whose maker is no longer a main contact today
(flagged "No Longer at Account", deactivated, no longer of a main profile, or deleted) is revoked
now, with an audit event `credential.revoked` saying why; support staff's tokens stay. Nothing is
deleted.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAIN_PROFILES = ("main", "optimization_main")

credentials = sa.table(
    "provisioning_credentials",
    sa.column("id", sa.Uuid()),
    sa.column("account_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("minted_by_user_id", sa.Uuid()),
    sa.column("revoked_at", store.db.UTCDateTime(timezone=True)),
)
users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("active", sa.Boolean()),
    sa.column("profile", sa.String()),
    sa.column("no_longer_at_account", sa.Boolean()),
    sa.column("is_support", sa.Boolean()),
    sa.column("account_id", sa.Uuid()),
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
    with op.batch_alter_table("provisioning_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("minted_by_user_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_provisioning_credentials_minted_by_user_id"),
            ["minted_by_user_id"],
            unique=False,
        )
    conn = op.get_bind()
    _name_the_makers(conn)
    _revoke_what_former_main_contacts_minted(conn)


def _name_the_makers(conn: sa.Connection) -> None:
    created = conn.execute(
        sa.select(audit_events.c.target_id, audit_events.c.actor_id).where(
            audit_events.c.action == "credential.created",
            audit_events.c.actor_type.in_(("user", "support")),
            audit_events.c.actor_id.is_not(None),
        )
    ).all()
    for credential_id, person_id in created:
        try:
            ids = uuid.UUID(credential_id), uuid.UUID(person_id)
        except ValueError:
            continue
        conn.execute(
            credentials.update().where(credentials.c.id == ids[0]).values(minted_by_user_id=ids[1])
        )


def _revoke_what_former_main_contacts_minted(conn: sa.Connection) -> None:
    makers = users.alias("maker")
    still_main = sa.exists().where(
        makers.c.id == credentials.c.minted_by_user_id,
        sa.or_(
            makers.c.is_support.is_(True),
            sa.and_(
                makers.c.active.is_(True),
                makers.c.profile.in_(MAIN_PROFILES),
                makers.c.no_longer_at_account.is_(False),
                makers.c.account_id.is_not(None),
            ),
        ),
    )
    ended = conn.execute(
        sa.select(credentials.c.id, credentials.c.account_id, credentials.c.name).where(
            credentials.c.minted_by_user_id.is_not(None),
            credentials.c.revoked_at.is_(None),
            ~still_main,
        )
    ).all()
    moment = datetime.now(UTC)
    for credential_id, account_id, name in ended:
        conn.execute(
            credentials.update().where(credentials.c.id == credential_id).values(revoked_at=moment)
        )
        conn.execute(
            audit_events.insert().values(
                at=moment,
                actor_type="system",
                actor_id=None,
                actor_label="migration 0009",
                door="system",
                action="credential.revoked",
                account_id=account_id,
                target_type="credential",
                target_id=str(credential_id),
                changes={"name": name, "reason": "its maker is no longer a main contact"},
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("provisioning_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_credentials_minted_by_user_id"))
        batch_op.drop_column("minted_by_user_id")

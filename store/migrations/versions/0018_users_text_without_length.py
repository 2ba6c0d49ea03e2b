"""Users' text columns without their length on PostgreSQL

PostgreSQL estimates the rows of a table it has not counted (a new customer's, right after the
first import) from the table's size and the width of a row, and takes each VARCHAR(255) for 516
bytes: users' 29 columns so declared came to 11 KB a row, more than a page, so that a users table
of any size was planned as one row. Declared as VARCHAR, each counts 32 bytes. The lengths are
still checked by `store.validation`, as on SQLite, which never checked them. Changing VARCHAR(n)
to VARCHAR rewrites nothing. SQLite is left as it is.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LENGTHS = {
    "user_name": 255,
    "user_name_ci": 255,
    "external_id": 255,
    "given_name": 255,
    "family_name": 255,
    "given_name_ci": 255,
    "family_name_ci": 255,
    "primary_email_ci": 320,
    "middle_name": 255,
    "honorific_prefix": 64,
    "honorific_suffix": 64,
    "formatted_name": 512,
    "display_name": 255,
    "nick_name": 255,
    "title": 255,
    "user_type": 64,
    "preferred_language": 64,
    "locale": 64,
    "timezone": 64,
    "profile_url": 1024,
    "employee_number": 64,
    "cost_center": 255,
    "organization": 255,
    "division": 255,
    "department": 255,
    "profile": 32,
    "preferred_contact_method": 16,
    "managed_by": 32,
    "password_hash": 255,
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.batch_alter_table("users") as batch:
        for column, length in LENGTHS.items():
            batch.alter_column(column, type_=sa.String(), existing_type=sa.String(length))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.batch_alter_table("users") as batch:
        for column, length in LENGTHS.items():
            batch.alter_column(column, type_=sa.String(length), existing_type=sa.String())

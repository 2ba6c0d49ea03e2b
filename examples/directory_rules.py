"""The directory's rules in action, in-process, on a throw-away SQLite database.

    python examples/directory_rules.py

Creates an enterprise account (which comes with its twelve contact roles), a main contact and a
colleague, then shows what the store refuses and why: the same refusals SCIM, OIDC and the console
will report in their own formats.
"""

from __future__ import annotations

import tempfile

from store import accounts, migrate, new_users, users
from store.actors import Actor, Door
from store.db import Database
from store.errors import DomainError


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/example.db")
        migrate.upgrade(db)
        operator = Actor.system(Door.CLI, "example")
        with db.transaction() as tx:
            account = accounts.create_account(
                tx, operator, name="Example Clinic", kind="enterprise"
            )
            main_contact = new_users.create_user(
                tx, operator, account_id=account.id, user_name="mae.main", profile="main"
            )
            colleague = new_users.create_user(
                tx, operator, account_id=account.id, user_name="cole.league"
            )
            print(
                f"{account.name}: contact roles",
                ", ".join(sorted(accounts.contact_role_groups(tx, account.id))),
            )
            print(f"{colleague.user_name} got the default profile {colleague.profile!r}")
        console = Actor.for_user(main_contact, Door.PORTAL)
        attempts = {
            "main contact makes a colleague main": lambda tx: users.set_profile(
                tx, console, colleague.id, "main"
            ),
            "support deactivates the last main contact": lambda tx: users.deactivate(
                tx, operator, main_contact.id
            ),
            "a second user named MAE.MAIN": lambda tx: new_users.create_user(
                tx, operator, account_id=account.id, user_name="MAE.MAIN"
            ),
        }
        for label, attempt in attempts.items():
            try:
                with db.transaction() as tx:
                    attempt(tx)
            except DomainError as refusal:
                print(f"refused ({type(refusal).__name__}): {label}: {refusal}")
        db.dispose()


if __name__ == "__main__":
    main()

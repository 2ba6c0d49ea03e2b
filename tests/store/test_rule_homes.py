"""Each rule of SPEC §1 that several doors apply, asked of its one home in `store`."""

from __future__ import annotations

from typing import Any

import pytest

from store import rules, users
from store.actors import Actor, ActorType, Door
from store.errors import Forbidden


class TestWhoAddsOfficeUsers:
    """SPEC §1 Accounts: the users of an office account come from the Office product."""

    def test_only_the_office_product_and_the_operator_add_them(
        self, db: Any, make_account: Any, make_user: Any, operator: Actor, support: Actor
    ) -> None:
        office = make_account(kind="office")
        main = make_user(office, "office.main", profile="main")
        product = Actor(ActorType.CREDENTIAL, "token office", Door.SCIM, "c1", office.id, True)
        assert rules.new_users_refused(product, office.kind) is None
        assert rules.new_users_refused(operator, office.kind) is None
        for person in (Actor.for_user(main, Door.PORTAL), support):
            refusal = rules.new_users_refused(person, office.kind) or ""
            assert "created in NextGen Office" in refusal
            with db.transaction() as tx, pytest.raises(Forbidden, match="NextGen Office"):
                users.create_user(tx, person, account_id=office.id, user_name="off.new")

    def test_other_accounts_take_users_from_their_managers(
        self, make_account: Any, support: Actor, enterprise: Any
    ) -> None:
        assert rules.new_users_refused(enterprise.actor, enterprise.account.kind) is None
        assert rules.new_users_refused(support, "reseller") is None

"""Provisioning tokens: shown once, stored hashed, scoped to one account, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import credentials
from store.actors import ActorType
from store.errors import Forbidden, InvalidInput, NotFound
from store.models.sign_in import ProvisioningCredential


def test_token_is_stored_only_as_a_hash_and_authenticates(db, enterprise, operator):
    with db.transaction() as tx:
        credential, secret = credentials.create_credential(
            tx, operator, account_id=enterprise.account.id, name="okta"
        )
    assert secret.startswith("rc_") and len(secret) > 40
    with db.transaction(write=False) as tx:
        stored = tx.scalar(select(ProvisioningCredential))
        assert secret not in (stored.token_hash, stored.token_hint)
        assert stored.last_used_at is None
    with db.transaction() as tx:
        found = credentials.authenticate(tx, secret)
        actor = credentials.actor(found)
        assert credentials.authenticate(tx, secret + "x") is None
    assert (actor.type, actor.account_id) == (ActorType.CREDENTIAL, enterprise.account.id)
    with db.transaction(write=False) as tx:
        assert tx.get(ProvisioningCredential, credential.id).last_used_at is not None


def test_revoked_token_no_longer_authenticates(db, enterprise):
    with db.transaction() as tx:
        credential, secret = credentials.create_credential(
            tx, enterprise.actor, account_id=enterprise.account.id, name="entra"
        )
    with db.transaction() as tx:
        credentials.revoke_credential(tx, enterprise.actor, credential.id)
    with db.transaction() as tx:
        assert credentials.authenticate(tx, secret) is None


def test_support_token_addresses_every_account(db, operator, enterprise):
    with db.transaction() as tx:
        _, secret = credentials.create_credential(tx, operator, account_id=None, name="support")
    with db.transaction() as tx:
        actor = credentials.actor(credentials.authenticate(tx, secret))
    assert actor.privileged
    with db.transaction() as tx, pytest.raises(Forbidden):
        credentials.create_credential(tx, enterprise.actor, account_id=None, name="mine")


def test_tokens_of_another_account_are_out_of_reach(db, enterprise, make_account, operator):
    other = make_account()
    with db.transaction() as tx:
        theirs, _ = credentials.create_credential(tx, operator, account_id=other.id, name="x")
    with db.transaction() as tx, pytest.raises(NotFound):
        credentials.revoke_credential(tx, enterprise.actor, theirs.id)
    with db.transaction() as tx, pytest.raises(NotFound):
        credentials.create_credential(tx, enterprise.actor, account_id=other.id, name="y")
    with db.transaction() as tx, pytest.raises(NotFound):
        credentials.credentials_of(tx, enterprise.actor, other.id)


@pytest.mark.parametrize("name", ["\ufeff", "okta\u202etxt.exe", "ok\u200bta"])
def test_a_tokens_name_with_invisible_characters_is_refused(db, enterprise, name):
    """A name of a zero-width character looks empty, and a right-to-left override shows a name
    backwards in the console's list of tokens."""
    with db.transaction() as tx, pytest.raises(InvalidInput, match="invisible"):
        credentials.create_credential(
            tx, enterprise.actor, account_id=enterprise.account.id, name=name
        )

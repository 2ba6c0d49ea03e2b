"""A provisioning token's reads of one user in one statement (store.listing.*_for_token) give
what finding the credential and then reading the user give, with the same scope."""

from __future__ import annotations

import uuid

import pytest

from store import credentials, listing, new_users
from store.errors import NotFound


@pytest.fixture
def people(db, enterprise, make_account, make_user, make_token, operator):
    """Two accounts' users, a support user, and tokens: the account's, a support one, a revoked
    one."""
    other = make_account(name="Other Co")
    ours = make_user(enterprise.account, "ann.ours", emails=[{"value": "ann@ours.example"}])
    theirs = make_user(other, "bob.theirs")
    with db.transaction() as tx:
        staff = new_users.create_support_user(
            tx, operator, user_name="sam.support", email="sam@vendor.example"
        )
        revoked, revoked_token = credentials.create_credential(
            tx, operator, account_id=enterprise.account.id, name="old"
        )
    with db.transaction() as tx:
        credentials.revoke_credential(tx, operator, revoked.id)
    tokens = {
        "ours": make_token(enterprise.account),
        "support": make_token(None, "support"),
        "revoked": revoked_token,
    }
    return {"ours": ours, "theirs": theirs, "staff": staff, "tokens": tokens}


def expected(db, token, read):
    """What the two separate reads give: (credential, view), or None for a dead token."""
    with db.reading() as tx:
        credential = credentials.find_live(tx, token)
        if credential is None:
            return None
        return credential, shown(read(tx, credentials.actor(credential)))


def shown(view):
    """What a view shows (its user row may carry more columns than the view's own)."""
    if view is None:
        return None
    user = {column.name: getattr(view.user, column.name) for column in listing.SHOWN_COLUMNS}
    return user, view.emails, view.phone_numbers, view.groups, view.application_keys


def combined(found):
    return None if found is None else (found[0], shown(found[1]))


def test_by_id_is_find_live_then_user_view(db, people):
    for token_name in ("ours", "support"):
        token = people["tokens"][token_name]
        for who in ("ours", "theirs", "staff"):
            user_id = people[who].id
            try:
                want = expected(db, token, lambda tx, a, u=user_id: listing.user_view(tx, a, u))
            except NotFound:
                with db.reading() as tx, pytest.raises(NotFound):
                    listing.user_view_for_token(tx, token, user_id)
                continue
            with db.reading() as tx:
                assert combined(listing.user_view_for_token(tx, token, user_id)) == want


def test_by_id_scope(db, people):
    """The account's token sees its own users only; support sees every account's."""
    with db.reading() as tx:
        credential, view = listing.user_view_for_token(
            tx, people["tokens"]["ours"], people["ours"].id
        )
        assert (view.user.user_name, [e.value for e in view.emails]) == (
            "ann.ours",
            ["ann@ours.example"],
        )
        assert credential.name == "okta"
        with pytest.raises(NotFound):
            listing.user_view_for_token(tx, people["tokens"]["ours"], people["theirs"].id)
        with pytest.raises(NotFound):
            listing.user_view_for_token(tx, people["tokens"]["ours"], uuid.uuid4())
        _, view = listing.user_view_for_token(tx, people["tokens"]["support"], people["theirs"].id)
        assert view.user.user_name == "bob.theirs"


def test_by_name_is_find_live_then_user_view_by_name(db, people):
    names = ("ANN.OURS", "bob.theirs", "sam.support", "nobody")
    for token_name in ("ours", "support"):
        token = people["tokens"][token_name]
        for name in names:
            want = expected(db, token, lambda tx, a, n=name: listing.user_view_by_name(tx, a, n))
            with db.reading() as tx:
                assert combined(listing.user_view_by_name_for_token(tx, token, name)) == want
    with db.reading() as tx:
        assert (
            listing.user_view_by_name_for_token(tx, people["tokens"]["ours"], "bob.theirs")[1]
            is None
        )
        assert (
            listing.user_view_by_name_for_token(tx, people["tokens"]["support"], "bob.theirs")[
                1
            ].user.user_name
            == "bob.theirs"
        )


def test_a_dead_token_reads_nothing(db, people):
    for token in (people["tokens"]["revoked"], "rc_unknown"):
        with db.reading() as tx:
            assert listing.user_view_for_token(tx, token, people["ours"].id) is None
            assert listing.user_view_by_name_for_token(tx, token, "ann.ours") is None

"""`rollcall client create --require-mfa`, `rollcall client update` and `rollcall mfa`, run as
the operator runs them: their output and exit status, and what the database then says."""

from __future__ import annotations

from store import clients, mfa, mfa_policy
from store.models.directory import Account
from tests.authenticator_app import enrol
from tests.serving import run


def test_a_client_is_registered_as_requiring_mfa_and_changed_later(db, database_url):
    result = run(
        database_url,
        "client",
        "create",
        "--name",
        "Client Support Center",
        "--redirect-uri",
        "https://csc.example.test/callback",
        "--require-mfa",
    )
    assert result.returncode == 0, result.stderr
    client_id = result.stdout.split("client_id: ", 1)[1].split()[0]
    assert "requires MFA" in run(database_url, "client", "list").stdout
    with db.transaction(write=False) as tx:
        assert clients.client_named(tx, client_id).require_mfa

    result = run(database_url, "client", "update", client_id, "--no-require-mfa")
    assert result.returncode == 0, result.stderr
    assert "does not require a second factor" in result.stdout
    with db.transaction(write=False) as tx:
        assert not clients.client_named(tx, client_id).require_mfa

    nothing = run(database_url, "client", "update", client_id)
    assert nothing.returncode != 0 and "--require-mfa" in nothing.stderr
    unknown = run(database_url, "client", "update", "nobody", "--require-mfa")
    assert unknown.returncode == 1 and "No client 'nobody'" in unknown.stderr


def test_the_operator_sets_policies_and_resets_factors(db, database_url, enterprise, make_user):
    person = make_user(enterprise.account, "pat.person", password="harbor willow sixty two")
    enrol(db, person)
    result = run(database_url, "mfa", "policy", enterprise.account.name, "everyone")
    assert result.returncode == 0, result.stderr
    assert "Required for everyone in the account" in result.stdout
    assert run(database_url, "mfa", "everywhere", "on").returncode == 0
    with db.transaction(write=False) as tx:
        assert mfa_policy.required_everywhere(tx)
        assert tx.get(Account, enterprise.account.id).mfa_policy == "everyone"

    result = run(database_url, "mfa", "reset", "pat.person@example.test")
    assert result.returncode == 0, result.stderr
    assert "pat.person: second factors reset" in result.stdout
    with db.transaction(write=False) as tx:
        assert mfa.methods_of(tx, person) == set()
    unknown = run(database_url, "mfa", "reset", "nobody")
    assert unknown.returncode == 1 and "No user signs in as 'nobody'" in unknown.stderr

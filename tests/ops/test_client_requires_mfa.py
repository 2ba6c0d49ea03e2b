"""`rollcall client create --require-mfa` and `rollcall client update`, run as the operator runs
them: a real process, its output and exit status, and what the database then says."""

from __future__ import annotations

import pytest

from store import clients
from tests.serving import run

pytestmark = pytest.mark.slow  # `rollcall` runs as a process


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

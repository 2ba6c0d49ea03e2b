"""`rollcall federation create|list|test|delete` as an operator runs it (issue 21)."""

from __future__ import annotations

from tests.serving import run
from tests.upstream import tiny_provider

SECRET = "client-secret-from-okta-0123456789"


def rollcall(database_url: str, *args: str) -> tuple[int, str]:
    done = run(database_url, *args)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_connect_list_test_and_delete(db: object, database_url: str) -> None:
    assert rollcall(database_url, "account", "create", "Acme Health")[0] == 0
    with tiny_provider() as op:
        code, out = rollcall(
            database_url, "federation", "create", "--account", "acme health",
            "--issuer", op.issuer, "--client-id", "rollcall", "--client-secret", SECRET,
            "--claim", "oid", "--domain", "acme.example", "--required",
        )  # fmt: skip
        assert code == 0, out
        assert "redirect URI to register at the provider: " in out
        assert out.endswith("/signin/federated/callback")

        code, out = rollcall(database_url, "federation", "list")
        assert code == 0 and "Acme Health" in out and "oid -> externalId" in out
        assert "acme.example" in out and "required" in out
        assert SECRET not in out and "clie…" in out

        code, out = rollcall(database_url, "federation", "test", "--account", "Acme Health")
        assert code == 0, out
        assert out.startswith(f"ok {op.issuer}: 1 key(s)")

        op.issuer = op.issuer.replace("127.0.0.1", "localhost")  # discovery names another
        code, out = rollcall(database_url, "federation", "test", "--account", "Acme Health")
        assert code == 1 and len(out.splitlines()) == 1
        assert "names the issuer" in out

    code, out = rollcall(database_url, "federation", "test", "--account", "Acme Health")
    assert code == 1 and len(out.splitlines()) == 1 and "Cannot reach" in out

    code, out = rollcall(database_url, "federation", "delete", "--account", "Acme Health")
    assert code == 0, out
    code, out = rollcall(database_url, "federation", "test", "--account", "Acme Health")
    assert code == 1 and "has no sign-in connection" in out

    code, out = rollcall(
        database_url, "federation", "create", "--account", "Acme Health",
        "--issuer", "http://idp.example", "--client-id", "x", "--client-secret", "y",
    )  # fmt: skip
    assert code == 1 and "https URL" in out

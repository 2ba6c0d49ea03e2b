"""The runnable examples keep running."""

import subprocess
import sys
from pathlib import Path

import pytest

from store import accounts, credentials
from tests.serving import served

pytestmark = pytest.mark.slow  # the examples run as processes, some against a served Rollcall

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_directory_rules_example_shows_each_refusal():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "directory_rules.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "default profile 'client'" in result.stdout
    assert result.stdout.count("refused (") == 3
    assert "last active main contact" in result.stdout


@pytest.mark.parametrize("script", ["okta_style.py", "entra_style.py"])
def test_identity_provider_runs_complete_against_a_served_rollcall(db, operator, tmp_path, script):
    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Contoso", kind="enterprise")
        _, token = credentials.create_credential(tx, operator, account_id=account.id, name="idp")
    with served(db.url, tmp_path) as base:
        result = subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "scim" / script),
                "--token",
                token,
                "--base-url",
                f"{base}/scim/v2",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("done:")


def test_the_example_application_shows_a_refused_sign_in():
    """Rollcall refuses a person without access to the application and sends them back with
    `error=access_denied`: the example says so (before, it answered 500)."""
    from tests.live import example_application

    app = example_application("http://127.0.0.1:9", "example-icd10", "unused")
    answer = app.test_client().get(
        "/callback?error=access_denied&error_description=No+access+to+ICD-10&state=s"
    )
    assert answer.status_code == 403
    assert "Rollcall did not sign you in: No access to ICD-10" in answer.get_data(as_text=True)

"""Launch addresses with the command line: set when the client is created, or later with
`rollcall application launch`; a bad address is refused in one line."""

from __future__ import annotations

from click.testing import CliRunner

from rollcall.cli import main
from store import applications


def _run(database_url, *args):
    return CliRunner().invoke(main, ["--database", database_url, *args])


def _launch_url(db, key):
    with db.transaction(write=False) as tx:
        return applications.application_by_key(tx, key).launch_url


def test_set_when_the_client_is_created_and_later(db, database_url):
    created = _run(
        database_url,
        "client",
        "create",
        "--name",
        "NG Share",
        "--redirect-uri",
        "https://share.example.test/callback",
        "--launch-url",
        "https://share.example.test/",
    )
    assert created.exit_code == 0, created.output
    assert _launch_url(db, "ng_share") == "https://share.example.test/"
    moved = _run(database_url, "application", "launch", "ng_share", "https://share.example.test/go")
    assert moved.exit_code == 0, moved.output
    assert "ng_share: https://share.example.test/go" in moved.output
    assert _launch_url(db, "ng_share") == "https://share.example.test/go"
    listed = _run(database_url, "application", "list")
    assert "ng_share  granted  NG Share  https://share.example.test/go" in listed.output
    cleared = _run(database_url, "application", "launch", "ng_share")
    assert cleared.exit_code == 0 and _launch_url(db, "ng_share") is None


def test_a_bad_address_or_key_is_refused(db, database_url):
    _run(
        database_url,
        "client",
        "create",
        "--name",
        "NG Share",
        "--redirect-uri",
        "https://s.test/cb",
    )
    plain = _run(database_url, "application", "launch", "ng_share", "http://share.example.test/")
    assert plain.exit_code != 0 and "must use https" in plain.output
    unknown = _run(database_url, "application", "launch", "nowhere", "https://x.test/")
    assert unknown.exit_code != 0 and "No application 'nowhere'" in unknown.output
    orphan = _run(
        database_url,
        "client",
        "create",
        "--name",
        "Site",
        "--access",
        "everyone",
        "--redirect-uri",
        "https://site.test/cb",
        "--launch-url",
        "https://site.test/",
    )
    assert orphan.exit_code != 0 and "launch address is an application's" in orphan.output

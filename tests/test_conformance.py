"""The public SCIM conformance checker (scim2-tester) against a running Rollcall."""

from __future__ import annotations

import os
import subprocess
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from store import accounts, applications, credentials
from tests.test_cli import free_port, wait_for


def test_scim2_tester_reports_no_failures(db, operator, tmp_path):
    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Conformance", kind="enterprise")
        for key, name in [("icd10", "ICD-10"), ("ng_share", "NG Share")]:
            applications.ensure_application(tx, operator, key=key, name=name)
        _, token = credentials.create_credential(tx, operator, account_id=account.id, name="t")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    log = (tmp_path / "server.log").open("w")  # a pipe nobody reads would fill and block
    server = subprocess.Popen(
        [sys.executable, "-m", "rollcall", "--database", db.url, "serve", "--port", str(port)],
        stdout=log,
        stderr=log,
        text=True,
        env=env,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        base = f"http://127.0.0.1:{port}/scim/v2"
        with Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            results = check_server(SyncSCIMClient(http))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    failures = [f"{r.title}: {r.reason}" for r in results if r.status not in (Status.SUCCESS,)]
    assert len(results) > 100
    assert failures == []

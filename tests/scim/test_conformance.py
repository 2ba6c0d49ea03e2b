"""The public SCIM conformance checker (scim2-tester) against a running Rollcall."""

from __future__ import annotations

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from store import accounts, applications, credentials
from tests.serving import served

pytestmark = pytest.mark.slow  # scim2-tester's whole run against a served Rollcall


def test_scim2_tester_reports_no_failures(db, operator, tmp_path):
    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Conformance", kind="enterprise")
        for key, name in [("icd10", "ICD-10"), ("ng_share", "NG Share"), ("ng_store", "NG Store")]:
            applications.ensure_application(tx, operator, key=key, name=name)
        _, token = credentials.create_credential(tx, operator, account_id=account.id, name="t")
    with served(db.url, tmp_path) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with Client(base_url=f"{base}/scim/v2", headers=headers) as http:
            results = check_server(SyncSCIMClient(http))
    failures = [f"{r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]
    assert len(results) > 100
    assert failures == []

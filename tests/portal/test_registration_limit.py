"""The registration limit counts attempts, not forms sent back for their own mistakes; a clinic
behind one address registers ten people in an hour; the limit's page says how long to wait
(issue #20)."""

from __future__ import annotations

import re
from typing import Any

from tests.pages import submit

PASSWORD = "clinic staff pass phrase 2026"
CLINIC = "10.20.30.40"


def registration(i: int) -> dict[str, str]:
    return {
        "choice": "guest",
        "given_name": f"Staff{i}",
        "family_name": "Clinic",
        "email": f"staff{i}@clinic.test",
        "user_name": f"clinic.staff{i}",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }


def test_forms_sent_back_are_no_attempts_and_ten_people_register(app: Any) -> None:
    client = app.test_client()
    for i in range(25):  # passwords that differ: the form sends it back, nothing is tried
        mistyped = registration(i) | {"confirm": "something else entirely"}
        assert submit(client, "/register", mistyped, ip=CLINIC).status_code == 400
    for i in range(10):
        registered = submit(client, "/register", registration(i), ip=CLINIC)
        assert registered.status_code == 200, registered.text


def test_the_limit_says_how_long_to_wait(app: Any) -> None:
    client = app.test_client()
    answers = [submit(client, "/register", registration(i), ip=CLINIC) for i in range(21)]
    assert [a.status_code for a in answers[:20]] == [200] * 20
    refused = answers[20]
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3500 < wait <= 3601
    assert re.search(r"Wait\s+60 minutes, then try again", refused.text)

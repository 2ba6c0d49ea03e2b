"""The New User form explains each profile with the guide's permission chart (issue #20)."""

from __future__ import annotations

import re

from tests.pages import Console


def chart_rows(text: str) -> dict[str, list[str]]:
    chart = text.split('id="profile-chart"', 1)[1].split("</details>", 1)[0]
    head = re.findall(r'<th scope="col">([^<]+)</th>', chart)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', chart)
    table = {"Tab": head[1:]}
    for label, cells in rows:
        table[label.split(":")[0]] = re.findall(r"<td>([^<]*)</td>", cells)
    return table


def test_new_user_shows_what_each_profile_of_the_account_permits(main_console, enterprise):
    page = main_console.get(f"/accounts/{enterprise.account.id}/users/new")
    assert page.status_code == 200
    table = chart_rows(page.text)
    assert table["Tab"] == [
        "Main Client Community User",
        "Client Community User",
        "Knowledge Community User",
        "Read-Only Community User",
    ]
    assert table["My Account"] == ["Yes", "", "", ""]
    assert table["Cases"] == ["Yes", "Yes", "", "View only"]
    assert table["Knowledge"] == ["Yes"] * 4


def test_an_optimization_only_account_sees_its_two_profiles(app, db, make_account, make_user):
    account = make_account(kind="optimization_only")
    main = make_user(account, "opt.main", profile="optimization_main")
    page = Console(app, db, main).get(f"/accounts/{account.id}/users/new")
    table = chart_rows(page.text)
    assert table["Tab"] == [
        "Optimization Only Main Community User",
        "Optimization Only Community User",
    ]
    assert table["My Account"] == ["Yes", ""]

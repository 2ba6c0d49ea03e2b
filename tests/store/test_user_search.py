"""The Manage Users table's store side: paging counts, every sort read from either end, prefix
search, tenancy, inactive matches, the quarterly review and the CSV export."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Uuid, column, insert, select, table, text, update

from store import accounts, exports, migrate, outbox, reviews, self_service, user_search, users
from store.actors import Actor, Door
from store.db import now
from store.errors import Forbidden, NotFound
from store.models.directory import Account, User, UserEmail

PASSWORD = "a long enough pass phrase"

NAMES = ["Ada", "bob", "Cleo", "dora", "Émile", "Finn", "gus", "", "Hal", "ida", "Jo", "kai"]


@pytest.fixture
def crowd(db, enterprise, make_user):
    """The enterprise account with 36 more users: names with mixed case, blanks and repeats,
    sign-ins on some, a few inactive."""
    made = []
    for i in range(36):
        given = NAMES[i % len(NAMES)]
        made.append(
            make_user(
                enterprise.account,
                f"u{i:02d}.{given or 'blank'}",
                given_name=given or None,
                family_name=NAMES[(i * 5) % len(NAMES)] or None,
                emails=[{"value": f"{given or 'x'}{i}@Example.test", "primary": True}],
            )
        )
    with db.transaction() as tx:
        for i, user in enumerate(made[:10]):
            tx.execute(
                update(User).where(User.id == user.id).values(last_login_at=now() - timedelta(i))
            )
        for user in made[30:]:
            users.deactivate(tx, enterprise.actor, user.id)
    return made


def page(db, actor, account, **options):
    with db.transaction(write=False) as tx:
        return user_search.page_of_users(tx, actor, account.id, **options)


def all_names(db, actor, account, **options):
    """Every user of the list, read page by page."""
    first = page(db, actor, account, per_page=5, **options)
    names = []
    for number in range(1, first.pages + 1):
        names += [
            u.user_name for u in page(db, actor, account, per_page=5, page=number, **options).users
        ]
    return names


def test_counts_and_clamped_pages(db, enterprise, crowd):
    first = page(db, enterprise.actor, enterprise.account, per_page=5)
    assert (first.total, first.pages, first.first, first.last) == (31, 7, 1, 5)
    last = page(db, enterprise.actor, enterprise.account, per_page=5, page=99)
    assert (last.page, last.first, last.last, len(last.users)) == (7, 31, 31, 1)
    assert page(db, enterprise.actor, enterprise.account, page=-3).page == 1
    inactive = page(db, enterprise.actor, enterprise.account, active=False)
    assert inactive.total == 6 and all(not u.active for u in inactive.users)
    empty = page(db, enterprise.actor, enterprise.account, search="nobody-at-all")
    assert (empty.total, empty.pages, empty.first, empty.last) == (0, 1, 0, 0)


SORT_KEYS = {
    "first_name": lambda u: (u.given_name_ci, u.family_name_ci, u.user_name_ci),
    "last_name": lambda u: (u.family_name_ci, u.given_name_ci, u.user_name_ci),
    "email": lambda u: (u.primary_email.casefold(), u.user_name_ci),
    "user_name": lambda u: (u.user_name_ci,),
    "profile": lambda u: (u.profile, u.user_name_ci),
    # Never signed in: after every date, on both databases.
    "last_login": lambda u: (
        u.last_login_at is None,
        u.last_login_at.timestamp() if u.last_login_at else 0,
        u.user_name_ci,
    ),
}


def active_users(db, account):
    with db.transaction(write=False) as tx:
        found = tx.scalars(
            select(User).where(User.account_id == account.id, User.active.is_(True))
        ).all()
        for user in found:
            _ = user.emails
        return found


def test_every_sort_pages_without_gaps_from_either_end(db, enterprise, crowd):
    """Pages past the middle are read backwards: together the pages are the whole order."""
    for sort in user_search.SORTS:
        for descending in (False, True):
            check_sort(db, enterprise, sort, descending)


def check_sort(db, enterprise, sort, descending):
    names = all_names(db, enterprise.actor, enterprise.account, sort=sort, descending=descending)
    assert len(names) == len(set(names)) == 31
    expected = sorted(active_users(db, enterprise.account), key=SORT_KEYS[sort])
    assert names == [u.user_name for u in (expected[::-1] if descending else expected)]
    if sort == "last_login":
        signed_in = names[-10:] if descending else names[:10]  # u00..u09 signed in
        assert {n.split(".")[0] for n in signed_in} == {f"u{i:02d}" for i in range(10)}


def matches(user, search):
    fields = [user.given_name_ci, user.family_name_ci, user.user_name_ci]
    fields += [e.value.casefold() for e in user.emails]
    return all(any(f.startswith(word) for f in fields) for word in search.casefold().split())


SEARCHES = [
    "ADA",
    "émile",
    "u01",
    "bob13@example",
    "ada fin",
    "bob fin",
    "FINN u1 b",
    "da",
    "%",
    "_",
    "KAI  jo",
]


def test_search_matches_word_starts_of_names_email_and_username(db, enterprise, crowd):
    for search in SEARCHES:
        check_search(db, enterprise, search)


def check_search(db, enterprise, search):
    result = page(db, enterprise.actor, enterprise.account, search=search, per_page=100)
    expected = {u.user_name for u in active_users(db, enterprise.account) if matches(u, search)}
    assert {u.user_name for u in result.users} == expected
    assert result.total == len(expected)
    if search in ("ADA", "u01", "bob13@example", "émile", "bob fin", "FINN u1 b"):
        assert expected


def test_search_of_inactive_users(db, enterprise, crowd):
    result = page(db, enterprise.actor, enterprise.account, search="gus", active=False)
    assert [u.user_name for u in result.users] == ["u30.gus"]


def test_other_accounts_and_plain_users_are_refused(
    db, enterprise, make_account, make_user, support
):
    other = make_account()
    with db.transaction(write=False) as tx, pytest.raises(NotFound):
        user_search.page_of_users(tx, enterprise.actor, other.id)
    client = make_user(enterprise.account, "plain.client")
    with db.transaction(write=False) as tx, pytest.raises(Forbidden):
        user_search.page_of_users(tx, Actor.for_user(client, Door.PORTAL), enterprise.account.id)
    with db.transaction(write=False) as tx:
        assert user_search.page_of_users(tx, support, other.id).total == 0
    with db.transaction(write=False) as tx, pytest.raises(Forbidden):
        user_search.find_users(tx, enterprise.actor, "main")


def test_inactive_matches_find_the_same_address(db, enterprise, crowd):
    with db.transaction(write=False) as tx:
        matches = user_search.inactive_matches(
            tx, enterprise.actor, enterprise.account.id, "GUS30@example.TEST "
        )
        assert [u.user_name for u in matches] == ["u30.gus"]
        assert (
            user_search.inactive_matches(
                tx, enterprise.actor, enterprise.account.id, "ada0@example.test"
            )
            == []
        )


def test_inactive_matches_find_the_same_first_and_last_name(db, enterprise, make_user, operator):
    """The guide's inactive list has people with no address: the name finds them too."""
    nameless = make_user(enterprise.account, "ines.old", given_name="Inès", family_name="Oldham")
    namesake = make_user(enterprise.account, "ines.active", given_name="Ines", family_name="Oldham")
    with db.transaction() as tx:
        users.deactivate(tx, operator, nameless.id)
    with db.transaction(write=False) as tx:

        def found(email: str = "", **name: str) -> list[str]:
            return [
                u.user_name
                for u in user_search.inactive_matches(
                    tx, enterprise.actor, enterprise.account.id, email, **name
                )
            ]

        assert found("new@example.test", given_name=" INÈS", family_name="oldham") == ["ines.old"]
        assert found(given_name="Ines", family_name="Oldham") == []  # another first name
        assert found(family_name="Oldham") == []  # a last name alone offers nobody
        assert namesake.active


def test_review_is_due_after_90_days(db, enterprise, crowd):
    with db.transaction(write=False) as tx:
        state = reviews.review_state(tx, enterprise.actor, enterprise.account.id)
    assert state.due and state.last_reviewed_at is None
    assert state.dormant_users == 31 - 10 + 0  # ten signed in within days; the rest never
    with db.transaction() as tx:
        accounts.mark_reviewed(tx, enterprise.actor, enterprise.account.id)
    with db.transaction() as tx:
        account = tx.get(Account, enterprise.account.id)
        assert not reviews.is_due(account)
        assert reviews.is_due(account, at=now() + timedelta(days=91))


def test_csv_export_lists_everyone_with_roles_applications_and_sign_in(
    db, enterprise, make_user, operator
):
    from store.applications import ensure_application

    with db.transaction() as tx:
        ensure_application(tx, operator, key="icd10", name="ICD-10")
    make_user(
        enterprise.account,
        "formula.person",
        given_name="=HYPERLINK(1)",
        family_name="Person",
        applications=["icd10"],
        contact_roles=["IT Receiver", "Super User"],
    )
    rows = list(exports.users_csv_rows(db, enterprise.actor, enterprise.account.id))
    assert rows[0][0] == "Username" and len(rows) == 3
    person = next(r for r in rows if r[0] == "formula.person")
    assert person[1] == "'=HYPERLINK(1)"
    assert person[4] == "Client Community User"
    assert person[7] == "IT Receiver; Super User" and person[8] == "ICD-10" and person[9] == "Never"


SORT_INDEXES: dict[str, str | tuple[str, ...]] = {
    "first_name": "ix_users_account_given_name",
    "last_name": "ix_users_account_family_name",
    "email": "ix_users_account_primary_email",
    # On few rows PostgreSQL may walk the unique userName index instead: also in order.
    "user_name": ("ix_users_account_user_name", "uq_users_user_name_ci"),
    "profile": "ix_users_account_profile",
    "last_login": "ix_users_account_last_login",
}


@pytest.mark.parametrize("reverse", [False, True], ids=["ascending", "reversed"])
@pytest.mark.parametrize("sort", SORT_INDEXES)
def test_deep_pages_are_read_from_the_sort_index(db, enterprise, crowd, sort, reverse):
    """The page's userNames come from the index of its order, not from sorting the table."""
    active = True
    query = (
        select(User.user_name_ci)
        .where(User.account_id == enterprise.account.id, User.active == active)
        .order_by(*user_search.sort_order(sort, reverse=reverse))
        .offset(10)
        .limit(5)
    )
    with db.engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if db.dialect == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            conn.execute(text("SET enable_sort = off"))
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
        else:
            plan = "\n".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
    indexes = SORT_INDEXES[sort]
    assert any(index in plan for index in ([indexes] if isinstance(indexes, str) else indexes))
    assert "Sort" not in plan and "TEMP B-TREE" not in plan


def primary_email_key(db, user_id):
    with db.transaction(write=False) as tx:
        return tx.get(User, user_id).primary_email_ci


def test_the_email_sort_key_follows_every_change_of_emails(db, enterprise, scim, make_user):
    """SCIM create, PATCH and PUT, a confirmed change of address and the console all keep the
    case-folded primary address the email sort reads."""
    created = scim.create_user(
        "kim",
        emails=[
            {"value": "Kim@Home.test", "type": "home"},
            {"value": "KIM@Work.test", "type": "work", "primary": True},
        ],
    )
    kim = uuid.UUID(created["id"])
    assert primary_email_key(db, kim) == "kim@work.test"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": 'emails[type eq "work"].primary', "value": False},
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
        ],
    }
    assert scim.patch(f"/Users/{kim}", patch).status_code == 200
    assert primary_email_key(db, kim) == "kim@home.test"
    put = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kim"}
    assert scim.put(f"/Users/{kim}", put).status_code == 200
    assert primary_email_key(db, kim) == ""

    lee = make_user(enterprise.account, "lee", password=PASSWORD)
    assert primary_email_key(db, lee.id) == "lee@example.test"
    with db.transaction() as tx:
        self_service.request_email_change(tx, lee.id, "Lee@New.test", PASSWORD)
        token = next(
            m.payload["link"].rsplit("/", 1)[1]
            for m in outbox.pending(tx)
            if m.payload["template"] == "email_change_confirm"
        )
    with db.transaction() as tx:
        self_service.confirm_email_change(tx, token)
    assert primary_email_key(db, lee.id) == "lee@new.test"
    with db.transaction() as tx:
        users.update_user(tx, enterprise.actor, lee.id, {"emails": [{"value": "a@LEE.test"}]})
    assert primary_email_key(db, lee.id) == "a@lee.test"

    by_email = page(db, enterprise.actor, enterprise.account, sort="email", per_page=100)
    assert [u.user_name for u in by_email.users] == ["kim", "lee", "main.contact"]


def test_migration_0006_fills_the_email_sort_key_from_existing_emails(unmigrated):
    """Users already there when the column arrives get their primary (else first) address."""
    database = unmigrated
    migrate.upgrade(database, "0005")
    ids = [uuid.uuid4() for _ in range(3)]
    old_users = table(
        "users",
        *(column(n) for n in ("user_name", "user_name_ci", "addresses")),
        *(column(n) for n in ("other_attributes", "active", "is_support")),
        *(column(n) for n in ("no_longer_at_account", "preferred_contact_method")),
        *(column(n) for n in ("email_verified", "failed_logins", "version")),
        *(column(n) for n in ("created_at", "modified_at")),
        column("id", Uuid),
    )
    emails = UserEmail.__table__
    with database.engine.begin() as conn:
        for i, user_id in enumerate(ids):
            conn.execute(
                insert(old_users).values(
                    id=user_id,
                    user_name=f"old{i}",
                    user_name_ci=f"old{i}",
                    addresses="[]",
                    other_attributes="{}",
                    active=True,
                    is_support=False,
                    no_longer_at_account=False,
                    preferred_contact_method="email",
                    email_verified=False,
                    failed_logins=0,
                    version=1,
                    created_at=now(),
                    modified_at=now(),
                )
            )
        rows = [
            (ids[0], 0, "First@Zero.test", False),
            (ids[0], 1, "Primary@Zero.test", True),
            (ids[1], 0, "Only@One.test", False),
        ]
        for user_id, position, value, primary in rows:
            conn.execute(
                insert(emails).values(
                    user_id=user_id,
                    position=position,
                    value=value,
                    value_ci=value.casefold(),
                    primary=primary,
                )
            )
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        keys = dict(conn.execute(select(User.user_name, User.primary_email_ci)).all())
    assert keys == {"old0": "primary@zero.test", "old1": "only@one.test", "old2": ""}

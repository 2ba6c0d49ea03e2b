"""The Client Support Center (CSC) side of registration (SPEC §2, FAQ 2-4).

Registrants who already use the CSC prove it with their CSC username and password, checked by a
verifier; the default one reads a local table that support fills from a CSV export
(`rollcall csc import`). Registrants who want CSC access leave a request that support decides
within 72 hours, with what support needs to tell who they are (organization, customer number);
the person is mailed the decision.

Access to the CSC comes from that vetting alone (SPEC §1 Applications): a verified login or an
approved request grants the `csc` application, which the CSC's single sign-on checks as it checks
every application.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Protocol

from sqlalchemy import exists, select

from store import audit, membership, outbox, passwords, rules
from store.actors import Actor
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.models.csc import CscAccessRequest, CscDirectoryEntry
from store.models.directory import Application, ApplicationGrant, User, fold
from store.validation import clean_email, clean_text

DECISION_DUE = timedelta(hours=72)
APPROVED = "approved"
REJECTED = "rejected"
VERIFIED = "verified"  # the registrant proved a CSC login: access without a decision
APPLICATION = "csc"  # the Client Support Center's key (one of rules.VETTED_APPLICATIONS)


@dataclass(frozen=True)
class CscIdentity:
    user_name: str
    email: str | None = None


class CscVerifier(Protocol):
    """Checks a CSC login; None when the username is unknown or the password wrong."""

    def verify(self, tx: Tx, user_name: str, password: str) -> CscIdentity | None: ...


class LocalDirectory:
    """The default verifier: the `csc_directory` table."""

    def verify(self, tx: Tx, user_name: str, password: str) -> CscIdentity | None:
        entry = tx.get(CscDirectoryEntry, fold(user_name.strip())) if user_name.strip() else None
        known = entry.password_hash if entry else passwords.dummy_hash()
        if not passwords.verify_password(known, password):
            return None
        if entry is None:
            return None
        return CscIdentity(entry.user_name, entry.email)


def import_csv(tx: Tx, actor: Actor, source: IO[str]) -> tuple[int, int]:
    """Load CSC logins from CSV with the columns username, password (or password_hash: an
    Argon2 hash) and optionally email; returns (added, updated). Plain passwords are hashed."""
    if not actor.privileged:
        raise Forbidden("Only support staff can import the Client Support Center directory.")
    reader = csv.DictReader(source)
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    if "username" not in columns or not columns & {"password", "password_hash"}:
        raise InvalidInput("The CSV needs the columns username and password (or password_hash).")
    added = updated = 0
    for line, row in enumerate(_rows(reader), start=2):
        user_name = clean_text(
            CscDirectoryEntry, "user_name", row.get("username"), label="username"
        )
        if user_name is None:
            raise InvalidInput(f"Line {line}: the username is empty.")
        if row.get("password_hash"):
            if not row["password_hash"].startswith("$argon2"):
                raise InvalidInput(f"Line {line}: password_hash must be an Argon2 hash.")
            hashed = row["password_hash"]
        elif row.get("password"):
            hashed = passwords.hash_password(row["password"])
        else:
            raise InvalidInput(f"Line {line}: no password for {user_name}.")
        email = clean_email(row["email"], "email") if row.get("email") else None
        entry = tx.get(CscDirectoryEntry, fold(user_name))
        if entry is None:
            tx.add(
                CscDirectoryEntry(
                    user_name_ci=fold(user_name),
                    user_name=user_name,
                    password_hash=hashed,
                    email=email,
                )
            )
            added += 1
        else:
            entry.user_name, entry.password_hash, entry.email = user_name, hashed, email
            entry.imported_at = now()
            updated += 1
    audit.record(
        tx,
        actor,
        "csc.directory_imported",
        target_type="csc_directory",
        target_id="-",
        account_id=None,
        changes={"added": added, "updated": updated},
    )
    return added, updated


def _rows(reader: csv.DictReader[str]) -> Iterable[dict[str, str]]:
    for row in reader:
        yield {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}


def record_verified(tx: Tx, user: User, identity: CscIdentity) -> CscAccessRequest:
    """A registrant who proved a CSC login has CSC access from the start."""
    moment = now()
    request = CscAccessRequest(
        user_id=user.id,
        created_at=moment,
        decided_at=moment,
        decision=VERIFIED,
        decided_by="csc directory",
        note=f"Verified Client Support Center login {identity.user_name}.",
    )
    tx.add(request)
    grant_access(tx, user)
    return request


def request_details(
    organization: str | None, customer_number: str | None
) -> tuple[str | None, str | None]:
    """What a request tells support about the person, checked: the organization is required,
    as support verifies the person against it; the customer number helps when known."""
    return (
        clean_text(
            CscAccessRequest, "organization", organization, required=True, label="Organization"
        ),
        clean_text(CscAccessRequest, "customer_number", customer_number, label="Customer number"),
    )


def request_access(
    tx: Tx, user: User, *, organization: str | None, customer_number: str | None = None
) -> CscAccessRequest:
    """Leave a request for support to decide within 72 hours."""
    organization, customer_number = request_details(organization, customer_number)
    request = CscAccessRequest(
        user_id=user.id,
        created_at=now(),
        organization=organization,
        customer_number=customer_number,
    )
    tx.add(request)
    return request


def grant_access(tx: Tx, user: User) -> None:
    """Grant the CSC application to a vetted person (when the application is registered).
    Support's vetting, not the account's kind, decides it: guests may hold it."""
    application = tx.scalar(select(Application).where(Application.key == APPLICATION))
    if application is not None and application not in user.applications:
        user.applications.append(application)
        user.modified_at = now()


def grant_to_the_vetted(tx: Tx, application: Application) -> int:
    """When the CSC application is registered after people were vetted, they get it now (the
    same as migration 0013 does for those vetted before it), except people No Longer at
    Account, whose grants ended; returns how many."""
    vetted = select(CscAccessRequest.user_id).where(
        CscAccessRequest.decision.in_([APPROVED, VERIFIED])
    )
    held = select(ApplicationGrant.user_id).where(ApplicationGrant.application_id == application.id)
    people = tx.scalars(
        select(User.id).where(
            User.id.in_(vetted), User.id.not_in(held), User.no_longer_at_account.is_(False)
        )
    ).all()
    for user_id in people:
        tx.add(ApplicationGrant(user_id=user_id, application_id=application.id))
    tx.flush()
    return len(people)


def has_access(tx: Tx, user: User) -> bool:
    """Whether the person may open the CSC: the grant its sign-in checks (which "No Longer at
    Account" ends, as it ends every application of theirs), or, while no CSC application is
    registered, an approved request or a verified login."""
    application = tx.scalar(select(Application.id).where(Application.key == APPLICATION))
    if application is not None:
        granted = select(ApplicationGrant.user_id).where(
            ApplicationGrant.user_id == user.id, ApplicationGrant.application_id == application
        )
        return tx.scalar(select(exists(granted))) or False
    vetted = select(CscAccessRequest.id).where(
        CscAccessRequest.user_id == user.id,
        CscAccessRequest.decision.in_([APPROVED, VERIFIED]),
    )
    return tx.scalar(select(exists(vetted))) or False


def standing(tx: Tx, user: User) -> str | None:
    """Where the person's CSC access stands, for their profile and support: granted, requested
    (waiting for support), rejected, or None (no access, no request pending)."""
    if has_access(tx, user):
        return "granted"
    latest = tx.execute(
        select(CscAccessRequest.decided_at, CscAccessRequest.decision)
        .where(CscAccessRequest.user_id == user.id)
        .order_by(CscAccessRequest.created_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    if latest.decided_at is None:
        return "requested"
    return "rejected" if latest.decision == REJECTED else None


def open_requests(tx: Tx) -> Sequence[tuple[CscAccessRequest, User]]:
    """Undecided requests, oldest first, with their users."""
    query = (
        select(CscAccessRequest, User)
        .join(User, User.id == CscAccessRequest.user_id)
        .where(CscAccessRequest.decided_at.is_(None))
        .order_by(CscAccessRequest.created_at)
    )
    return [(r, u) for r, u in tx.execute(query).all()]


def is_overdue(request: CscAccessRequest) -> bool:
    return request.decided_at is None and now() - request.created_at > DECISION_DUE


def overdue(tx: Tx) -> Sequence[tuple[CscAccessRequest, User]]:
    """Undecided requests older than 72 hours."""
    query = (
        select(CscAccessRequest, User)
        .join(User, User.id == CscAccessRequest.user_id)
        .where(
            CscAccessRequest.decided_at.is_(None),
            CscAccessRequest.created_at < now() - DECISION_DUE,
        )
        .order_by(CscAccessRequest.created_at)
    )
    return [(r, u) for r, u in tx.execute(query).all()]


def decide(
    tx: Tx,
    actor: Actor,
    request_id: uuid.UUID,
    *,
    approve: bool,
    note: str | None = None,
    account_id: uuid.UUID | None = None,
) -> CscAccessRequest:
    """Support approves (granting the CSC, and attaching the person to `account_id` when named)
    or rejects, saying why; the person is mailed the decision."""
    if not actor.privileged:
        raise Forbidden("Only support staff decide Client Support Center access requests.")
    request = tx.get(CscAccessRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("No such access request.")
    if request.decided_at is not None:
        raise Conflict(f"This request was already decided ({request.decision}).")
    note = clean_text(CscAccessRequest, "note", note)
    if not approve and not note:
        raise InvalidInput(
            "Say why the request is rejected: the person is mailed it.", field="note"
        )
    if not approve and account_id is not None:
        raise InvalidInput("Only an approved request attaches the person to an account.")
    user = tx.get(User, request.user_id)
    assert user is not None
    if approve and user.no_longer_at_account:
        rules.check_nothing_given_to_leaver(actor, user.user_name, applications=[APPLICATION])
    if approve and account_id is not None:
        user = membership.attach_to_account(tx, actor, user.id, account_id)
    request.decided_at = now()
    request.decision = APPROVED if approve else REJECTED
    request.decided_by = actor.label
    request.note = note
    if approve:
        grant_access(tx, user)
    audit.record(
        tx,
        actor,
        f"csc.access_{request.decision}",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"request": str(request.id), "note": request.note},
    )
    outbox.enqueue_email(
        tx, user, "csc_access_decision", decision=request.decision, note=request.note
    )
    return request

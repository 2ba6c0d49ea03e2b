"""Password hashing (Argon2id) and the minimum policy every door applies."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from store.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024
# The shortest password an identity provider may push: NIST SP 800-63B's floor for any policy.
PUSHED_MIN_LENGTH = 8

# Argon2id's costs by name. "cheap" makes a hash in microseconds instead of about a tenth of a
# second, for test suites that hash hundreds of passwords; rollcall.settings refuses it in
# production, and the hashes still verify under either (their costs are written in them).
COSTS = {
    "standard": PasswordHasher(),  # argon2-cffi's default, RFC 9106's low-memory choice
    "cheap": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}

_hasher = COSTS["standard"]


def use_cost(name: str) -> None:
    """Hash new passwords at the costs named (a key of COSTS), for the whole process."""
    global _hasher
    if name not in COSTS:
        raise ValueError(f"Unknown password hashing cost {name!r}; known: {', '.join(COSTS)}.")
    _hasher = COSTS[name]


def check_policy(password: str, user_name: str | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_LENGTH} characters long.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"The password must be at most {MAX_LENGTH} characters long.", field="password"
        )
    if user_name and len(user_name) >= 3 and user_name.casefold() in password.casefold():
        raise InvalidInput("The password must not contain the username.", field="password")
    if is_common(password):
        raise InvalidInput(
            "That password is too common and easy to guess; choose another one "
            "(a few unrelated words make a good password).",
            field="password",
        )


def check_pushed(password: str) -> None:
    """A password an identity provider pushes (Okta's password sync) was chosen under that
    provider's own policy; refusing it would refuse the whole user, so only what no policy may
    allow is refused here."""
    if not PUSHED_MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"The password must be {PUSHED_MIN_LENGTH} to {MAX_LENGTH} characters long.",
            field="password",
        )


_RUNS = (
    "0123456789012345678901234567890 9876543210987654321098765432109876 abcdefghijklmnopqrstuvwxyz"
)
_PADDING = string.digits + string.punctuation + string.whitespace


def is_common(password: str) -> bool:
    """A password of the shipped common list, a common one with digits or symbols around it
    ("Password123!"), or one made of one or two characters ("aaaaaaaaaaaa")."""
    folded = password.casefold()
    if len(set(folded)) <= 2 or folded in _RUNS:
        return True
    common = _common_passwords()
    core = folded.strip(_PADDING)
    return folded in common or (len(core) >= 4 and core in common)


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("store").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """A hash of no one's password, at the current costs: verifying a password against it when
    there is no user takes as long as when there is one."""
    return _dummy_hash(_hasher)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a real password, only spent time")

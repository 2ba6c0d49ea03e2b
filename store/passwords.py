"""Password hashing (Argon2id) and the minimum policy every door applies."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from store.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()


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

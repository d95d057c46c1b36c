"""Passwords (argon2id via argon2-cffi) and random tokens (stored as SHA-256 hashes)."""

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106's low-memory profile: t=3, m=64 MiB, p=4).
DEFAULT_HASHER = PasswordHasher()

_hasher = DEFAULT_HASHER

# Verified against when the username is unknown, so a login takes as long either way.
_dummy_hash = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash new passwords with another hasher from now on. Only the tests call this: a full
    argon2 hash per login would cost them minutes. Verifying reads the parameters from the
    stored hash, so hashes of either hasher still verify."""
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

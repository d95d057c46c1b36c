"""Passwords (argon2id via argon2-cffi; zxcvbn says whether one is too easy to guess) and
random tokens (stored as SHA-256 hashes)."""

import hashlib
import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

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


# zxcvbn (Dropbox's estimator, maintained on PyPI) knows the common passwords of the big leaks,
# names, English words, dates, keyboard walks, repeats and l33t; it scores 0-4 by how many
# guesses a password takes. 3 means at least 10^8, far beyond what login throttling lets
# anyone try; below it a password is refused.
STRONG_ENOUGH = 3
# zxcvbn refuses input longer than this (its cost grows with the length). A password is at
# least as strong as its first 72 characters, so those decide.
_ZXCVBN_LENGTH = 72
# Words anyone would try first here, that zxcvbn's English lists lack.
SITE_WORDS = ("sagsgang", "kommune", "kodeord", "adgangskode", "password", "velkommen",
              "sommer", "vinter", "efterår", "forår", "januar", "december")


def too_easy(password: str, hints: Iterable[str] = ()) -> bool:
    """Whether the password is quickly guessed: a common one, or built from a word, a name,
    a pattern, or one of `hints` (the user's own name, username, email; the organisation)."""
    words = {part.lower() for hint in (*hints, *SITE_WORDS)
             for part in [hint, *re.split(r"[\W_]+", hint or "")] if len(part) > 1}
    result = zxcvbn(password[:_ZXCVBN_LENGTH], user_inputs=sorted(words))
    return result["score"] < STRONG_ENOUGH


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from zxcvbn import zxcvbn

_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; a longer password is judged by its start.
_DUMMY_HASH: str | None = None


def _hasher() -> PasswordHasher:
    ext = current_app.extensions
    if "panel_hasher" not in ext:
        cfg = current_app.config
        kwargs = {}
        if "ARGON2_TIME_COST" in cfg:
            kwargs["time_cost"] = cfg["ARGON2_TIME_COST"]
        if "ARGON2_MEMORY_COST" in cfg:
            kwargs["memory_cost"] = cfg["ARGON2_MEMORY_COST"]
        ext["panel_hasher"] = PasswordHasher(**kwargs)
    return ext["panel_hasher"]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an account without a password never matches.

    An unknown account still spends the time of one verification, so response times do not
    tell whether an account exists.
    """
    global _DUMMY_HASH
    if not password_hash:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = _hasher().hash("not-a-real-password-just-for-timing")
        password_hash = _DUMMY_HASH
        try:
            _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def password_problems(password: str, *, user_inputs: list[str] | None = None) -> list[str]:
    """Why ``password`` may not be used (an empty list when it may).

    12 characters at least, up to 1024; common and easily guessed passwords are refused
    (zxcvbn's dictionaries of common passwords, names and keyboard patterns).
    """
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(f"Use at least {cfg['PASSWORD_MIN_LENGTH']} characters.")
        return problems
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        problems.append(f"Use at most {cfg['PASSWORD_MAX_LENGTH']} characters.")
        return problems
    inputs = [s for s in (user_inputs or []) if s]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)
    if result["score"] < 3:
        warning = result["feedback"].get("warning") or "This password is too easy to guess."
        hint = " ".join(result["feedback"].get("suggestions") or [])
        problems.append(f"{warning} {hint}".strip())
    return problems

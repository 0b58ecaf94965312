"""Personal API tokens: make, find, touch and revoke. Flush and audit, never commit.

A token is ``pnl_`` followed by 43 URL-safe random characters (256 bits). Only its SHA-256
is stored, with a short display prefix (``pnl_Ab3dE7xY``) so that people can tell their tokens
apart; the token itself is shown once, when it is made, and cannot be recovered afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from panel.accounts import operations as account_operations
from panel.accounts.models import ApiToken, TokenRefusal, User
from panel.core import audit
from panel.core.db import db, utcnow

TOKEN_PREFIX = "pnl_"  # noqa: S105 - a public marker that starts every token, not a secret
#: How many leading characters of a token are kept to show it (fits ``ApiToken.prefix``).
DISPLAY_LENGTH = 12
#: The longest token name (``ApiToken.name``).
MAX_NAME = 100
#: Live tokens one person may hold at once; a leaked laptop should not mean fifty keys.
MAX_ACTIVE_TOKENS = 20
#: ``last_used_at`` is written at most this often per token (a write per request is waste).
TOUCH_EVERY = timedelta(seconds=60)
#: A token is ``pnl_`` and 43 URL-safe characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128
#: The longest life a token may be given (the default is the ``API_TOKEN_DAYS`` setting).
MAX_DAYS = 365


class TokenError(ValueError):
    """A token change that is not allowed; the message is shown to the person."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: the row, and the secret that is shown once and never stored."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def clean_name(name: str | None) -> str:
    """A token name without surrounding spaces; refuses empty, overlong and control characters."""
    name = " ".join((name or "").split())
    if not name:
        raise TokenError("Give the token a name, e.g. the script or machine that will use it.")
    if len(name) > MAX_NAME:
        raise TokenError(f"A token name can be at most {MAX_NAME} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise TokenError("A token name cannot contain control characters.")
    return name


def default_days() -> int:
    """How long a new token lives unless told otherwise (``API_TOKEN_DAYS``, 90 by default)."""
    return int(current_app.config["API_TOKEN_DAYS"])


def clean_days(days: int | str | None) -> int:
    """A token's life in whole days, 1 to :data:`MAX_DAYS`; None means the default."""
    if days is None or (isinstance(days, str) and not days.strip()):
        return default_days()
    try:
        value = int(days)
    except (TypeError, ValueError):
        raise TokenError("A token's life is a whole number of days.") from None
    if not 1 <= value <= MAX_DAYS:
        raise TokenError(f"A token can live from 1 to {MAX_DAYS} days.")
    return value


def active_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first (for the account page; expired
    ones are listed too, marked, until they are revoked)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def create_token(
    user: User, name: str | None, *, by: User | None, days: int | str | None = None
) -> NewToken:
    """Make a token for ``user`` that expires after ``days`` (default ``API_TOKEN_DAYS``).
    ``by`` is who asked (the user, or None from the command line)."""
    if not user.active:
        raise TokenError("This account is deactivated: it cannot have API tokens.")
    if user.lacks_required_totp:
        raise TokenError(
            "This account's roles need two-factor authentication, which is not set up yet: "
            "sign in to Panel in a browser and enrol first."
        )
    name = clean_name(name)
    days = clean_days(days)
    account_operations.lock_account(
        user
    )  # no interleaving with a revocation of all the user's tokens
    now = utcnow()
    live = db.session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    if live >= MAX_ACTIVE_TOKENS:
        raise TokenError(
            f"You already have {MAX_ACTIVE_TOKENS} API tokens. Revoke one you no longer use first."
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:DISPLAY_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.created",
        object_type="api_token",
        object_id=token.id,
        actor=by,
        details={
            "user_id": user.id,
            "name": name,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return NewToken(token, secret)


def revoke_token(token: ApiToken, *, by: User | None) -> None:
    """Revoke a token; it is refused from the next request on, in every process."""
    account_operations.revoke_api_token(token, by=by, reason="revoked")


def find_token(secret: str) -> ApiToken | None:
    """The stored token for ``secret`` (usable or not), or None when there is none."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_token(secret))
        .options(joinedload(ApiToken.user))
    )


def find_usable_token(secret: str) -> tuple[ApiToken | None, TokenRefusal | None]:
    """``(token, None)`` when ``secret`` may authenticate a request now, else ``(None, why)``;
    ``why`` is None for an unknown token (callers answer it as they answer a revoked one)."""
    token = find_token(secret)
    if token is None:
        return None, None
    why = token.refusal(utcnow())
    return (token, None) if why is None else (None, why)


def touch(token: ApiToken) -> bool:
    """Record that the token was used, at most once per :data:`TOUCH_EVERY`; True when written."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    token.last_used_at = now
    db.session.flush()
    return True

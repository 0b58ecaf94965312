"""Per-account login throttling, shared by every app process through the database.

The key is an HMAC of the normalised e-mail that was typed, whether or not an account with
that e-mail exists, so a lock-out reveals nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from panel.accounts.models import LoginThrottle, normalise_email
from panel.core.db import db, utcnow


def throttle_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _row(email: str, *, lock: bool = False) -> LoginThrottle | None:
    stmt = select(LoginThrottle).where(LoginThrottle.key == throttle_key(email))
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def locked_until(email: str) -> datetime | None:
    """When the lock-out on this account name ends, or None if it is not locked."""
    row = _row(email)
    if row and row.locked_until and row.locked_until > utcnow():
        return row.locked_until
    return None


def register_failure(email: str) -> bool:
    """Count a failed login; returns True when this failure locked the account name."""
    cfg = current_app.config
    now = utcnow()
    row = _row(email, lock=True)
    if row is None:
        row = LoginThrottle(key=throttle_key(email), failures=0, window_started_at=now)
        db.session.add(row)
    if now - row.window_started_at > cfg["LOGIN_FAILURE_WINDOW"]:
        row.failures = 0
        row.window_started_at = now
    row.failures += 1
    if row.failures >= cfg["LOGIN_MAX_FAILURES"]:
        row.locked_until = now + cfg["LOGIN_LOCKOUT"]
        row.failures = 0
        row.window_started_at = now
        db.session.flush()
        return True
    db.session.flush()
    return False


def clear(email: str) -> None:
    """Forget failures after a successful login."""
    row = _row(email)
    if row is not None:
        db.session.delete(row)

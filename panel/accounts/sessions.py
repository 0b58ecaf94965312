"""Server-side sessions: the cookie carries a random token, the database decides.

Flask-Login keeps the token (``User.get_id``) in Flask's signed cookie; the user loader looks
the token's hash up in ``user_sessions`` and refuses revoked, idle or too old sessions. Because
the state is in the database, an ended session is refused by every app process at once, and a
replayed cookie from before a logout is useless.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import select, update

from panel.accounts.models import User, UserSession
from panel.core.db import db, utcnow

# Touching last_seen_at on every request would write on every page view; once a minute is
# plenty against a 30-minute idle timeout.
_TOUCH_EVERY = timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Create a session row for ``user`` and return its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:255],
        )
    )
    db.session.flush()
    user._session_token = token
    return token


def load_session_user(token: str) -> User | None:
    """The user of a live session, or None when the session has ended for any reason."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    if now - row.created_at > cfg["SESSION_ABSOLUTE_TIMEOUT"]:
        _end(row, "absolute_timeout")
        return None
    if now - row.last_seen_at > cfg["SESSION_IDLE_TIMEOUT"]:
        _end(row, "idle_timeout")
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        _end(row, "deactivated")
        return None
    if user.lacks_required_totp:
        # A role that needs two-factor authentication was given during this session: sign in
        # again, which takes the user through enrolment.
        _end(row, "second_factor_required")
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        # The loader runs before the view (login_required), so this commits nothing else.
        db.session.commit()
    user._session_token = token
    user.current_session = row
    return user


def _end(row: UserSession, reason: str) -> None:
    row.revoked_at = utcnow()
    row.revoked_reason = reason
    db.session.commit()


def end_session(token: str | None, reason: str = "logout") -> None:
    """End one session (logout)."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )


def end_all_sessions(user: User, reason: str, *, keep_token: str | None = None) -> int:
    """End every live session of ``user`` (password change, deactivation); returns how many."""
    stmt = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != token_hash(keep_token))
    result = db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))
    return result.rowcount or 0

"""What ``core.purge`` (:mod:`panel.core.purge`) removes from accounts: password reset and
invitation links used or expired over ``PURGE_TEMP_HOURS`` ago, and API tokens revoked or
expired more than ``PURGE_API_TOKENS_DAYS`` ago (until then the account page lists them,
marked)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_

from panel.accounts.models import ApiToken, PasswordResetToken
from panel.core.db import db
from panel.core.purge import purger, temp_age


@purger("password_reset_tokens")
def purge_reset_tokens(now: datetime) -> int:
    cutoff = now - temp_age()
    result = db.session.execute(
        delete(PasswordResetToken)
        .where(or_(PasswordResetToken.expires_at < cutoff, PasswordResetToken.used_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


@purger("api_tokens")
def purge_api_tokens(now: datetime) -> int:
    cutoff = now - timedelta(days=int(current_app.config.get("PURGE_API_TOKENS_DAYS", 90)))
    result = db.session.execute(
        delete(ApiToken)
        .where(or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

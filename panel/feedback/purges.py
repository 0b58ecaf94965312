"""What ``core.purge`` (:mod:`panel.core.purge`) removes from feedback: family sessions that
ended or expired over a day ago, except each code's newest (the family page says when the
previous visit began)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select

from panel.core.db import db
from panel.core.purge import purger
from panel.feedback.models import FamilySession

GRACE = timedelta(days=1)


@purger("family_sessions")
def purge_family_sessions(now: datetime) -> int:
    cutoff = now - GRACE
    newest = select(func.max(FamilySession.id)).group_by(FamilySession.code_id)
    result = db.session.execute(
        delete(FamilySession)
        .where(
            or_(FamilySession.expires_at < cutoff, FamilySession.ended_at < cutoff),
            FamilySession.id.not_in(newest.scalar_subquery()),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

"""Guest access: an external or international expert the panel asks about one case.

The expert holds an account with no panel role (made from an e-mail invitation, or an
existing one) and a :class:`CaseGuestAccess` row: read-only access to that one case until
``expires_at``, unless revoked earlier. ``Case.can_view`` honours a current row (and nothing
else does: no other case, no comments, no actions). Grants and revocations are audited by the
operations that make them (``panel.meetings.guests``); the expert's reads are audited like
everybody's (``case.viewed``, ``images.viewed`` ...).

This module belongs to ``cases`` (``Case.can_view`` asks it); it imports no other domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import User
from panel.core.db import UTCDateTime, db, utcnow

if TYPE_CHECKING:
    from panel.cases.models import Case


class CaseGuestAccess(db.Model):
    """One expert's time-limited, revocable access to one case."""

    __tablename__ = "case_guest_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The meeting the expert was asked for (the attendance record lists them as a guest).
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"), index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id], lazy="select")
    case: Mapped[Case] = relationship(lazy="select")

    audit_type = "case_guest_access"

    def is_current(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (now or utcnow()) < self.expires_at

    @property
    def last_day(self):
        """The last UK day of access (access ends at midnight after it)."""
        from datetime import timedelta

        from panel.core.uktime import to_uk

        return to_uk(self.expires_at - timedelta(seconds=1)).date()

    @property
    def state(self) -> str:
        """``active``, ``revoked`` or ``expired`` (for the pages)."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_current() else "expired"


def current_guest_access(case_id: int, user_id: int, now: datetime | None = None):
    """The user's current (not revoked, not expired) access row to the case, or None."""
    return db.session.scalar(
        select(CaseGuestAccess)
        .where(
            CaseGuestAccess.case_id == case_id,
            CaseGuestAccess.user_id == user_id,
            CaseGuestAccess.revoked_at.is_(None),
            CaseGuestAccess.expires_at > (now or utcnow()),
        )
        .order_by(CaseGuestAccess.expires_at.desc())
        .limit(1)
    )


def guest_case_ids(user_id: int, now: datetime | None = None) -> list[int]:
    """The cases ``user_id`` currently has guest access to (their home page lists them)."""
    return list(
        db.session.scalars(
            select(CaseGuestAccess.case_id).where(
                CaseGuestAccess.user_id == user_id,
                CaseGuestAccess.revoked_at.is_(None),
                CaseGuestAccess.expires_at > (now or utcnow()),
            )
        )
    )

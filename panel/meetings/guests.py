"""External experts invited to advise on one case of a meeting's agenda.

The panel "will sometimes ask for advice from experts around the world" (the families'
factsheet). A coordinator invites an expert by e-mail, for one case on the agenda: an account
with no panel role is made (an invitation to choose a password is e-mailed) or an existing one
is used, and a :class:`~panel.cases.guests.CaseGuestAccess` row gives read-only access to that
case until the end of the chosen (UK) day. ``Case.can_view`` honours it; nothing else does.
Grants and revocations are audited on the case; the expert's reads are audited as everyone's.
Every function flushes and audits; none commits.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.accounts import operations as accounts
from panel.accounts.models import User, normalise_email
from panel.cases.guests import CaseGuestAccess, current_guest_access
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed, Refused
from panel.core.notify import notify
from panel.core.uktime import from_uk, to_uk, uk_today
from panel.core.web import path_for
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting

#: Access lasts to the end of this many days from today unless the coordinator picks a date.
DEFAULT_DAYS = 14
MAX_DAYS = 90
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def default_until() -> date:
    return uk_today() + timedelta(days=DEFAULT_DAYS)


def _expiry(until: date | None):
    """The UTC instant access ends: the end of ``until`` (UK time)."""
    if until is None:
        raise Refused("Choose the last day of access.", "until")
    today = uk_today()
    if until < today:
        raise Refused("The last day of access cannot be in the past.", "until")
    if until > today + timedelta(days=MAX_DAYS):
        raise Refused(f"Guest access lasts at most {MAX_DAYS} days.", "until")
    return from_uk(until + timedelta(days=1), time(0, 0))


def _expert_account(email: str, name: str, item: AgendaItem, by: User) -> tuple[User, bool]:
    """The expert's account (made, with an invitation, if there is none) and whether it is new."""
    email = normalise_email(email or "")
    if not _EMAIL.match(email) or len(email) > 255:
        raise Refused("Enter the expert's e-mail address.", "email")
    user = User.by_email(email)
    if user is None:
        name = " ".join((name or "").split())
        if not name or len(name) > 200:
            raise Refused("Enter the expert's name (they have no Panel account yet).", "name")
        user = accounts.create_user(email=email, name=name, by=by)
        accounts.issue_reset_link(user, invitation=True, by=by)
        return user, True
    case = item.case
    if not user.active:
        raise Refused(f"The account of {user.email} is deactivated.", "email")
    if user.is_admin or user.panel_roles:
        raise Refused(
            f"{user.name} holds a role in Panel (admin or panel role): guest access is for "
            "experts outside the panels.",
            "email",
        )
    if case.is_referrer(user):
        raise Refused(
            f"{user.name} is a referrer of {case.reference} and already sees it.", "email"
        )
    return user, False


def invite_expert(
    meeting: Meeting,
    item: AgendaItem,
    *,
    email: str,
    name: str,
    until: date | None,
    by: User,
) -> CaseGuestAccess:
    """Give an external expert read-only access to the case of ``item`` until the end of
    ``until`` (UK), for ``meeting``. Coordinators of the panel, while the meeting is open."""
    if not meeting.can_invite_guests(by):
        if not meeting.can_manage(by):
            raise NotAllowed("Only the panel's coordinators invite experts.")
        raise Refused("This meeting is closed or cancelled: no more guests can be invited.")
    if item.meeting_id != meeting.id or item.outcome_status in (
        ItemOutcome.REMOVED,
        ItemOutcome.CANCELLED,
    ):
        raise Refused("That case is not on this agenda.")
    case = item.case
    if not case.is_coordinated_by(by):  # referred on to another panel since
        raise Refused(f"{case.reference} is no longer with this panel.")
    expires_at = _expiry(until)
    user, created = _expert_account(email, name, item, by)
    existing = None if created else current_guest_access(case.id, user.id)
    if existing is not None:
        raise Refused(
            f"{user.name} already has access to {case.reference} until "
            f"{to_uk(existing.expires_at):%-d %b %Y}. Revoke it first to change the date.",
            "email",
        )
    grant = CaseGuestAccess(
        case_id=case.id,
        user_id=user.id,
        user=user,
        meeting_id=meeting.id,
        granted_by_id=by.id,
        granted_at=utcnow(),
        expires_at=expires_at,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "case.guest_access_granted",
        obj=case,
        actor=by,
        details={
            "access_id": grant.id,
            "user_id": user.id,
            "email": user.email,
            "meeting_id": meeting.id,
            "expires_at": expires_at.isoformat(),
            "new_account": created,
        },
    )
    last_day = to_uk(expires_at - timedelta(seconds=1))
    notify(
        [user],
        panel_id=case.panel_id,
        kind="case.guest_access",
        text=(
            f"The {meeting.panel.name} asks for your advice on {case.reference} "
            f"(read-only access until {last_day:%-d %b %Y})"
        ),
        link=path_for("cases.show", ref=case.reference),
    )
    return grant


def revoke_access(grant: CaseGuestAccess, *, by: User) -> CaseGuestAccess:
    """End an expert's access now (the case's panel coordinators)."""
    from panel.cases.models import Case

    case = db.session.get(Case, grant.case_id)
    if case is None or not case.is_coordinated_by(by):
        raise NotAllowed("Only the panel's coordinators revoke guest access.")
    if grant.revoked_at is not None:
        raise Refused(f"The access of {grant.user.name} was already revoked.")
    was_current = grant.is_current()
    grant.revoked_at = utcnow()
    grant.revoked_by_id = by.id
    db.session.flush()
    audit.record(
        "case.guest_access_revoked",
        obj=case,
        actor=by,
        details={
            "access_id": grant.id,
            "user_id": grant.user_id,
            "email": grant.user.email,
            "had_expired": not was_current,
        },
    )
    return grant


def meeting_guest_access(meeting: Meeting) -> list[CaseGuestAccess]:
    """Every expert access given for this meeting, newest first (with their users)."""
    return list(
        db.session.scalars(
            select(CaseGuestAccess)
            .where(CaseGuestAccess.meeting_id == meeting.id)
            .options(joinedload(CaseGuestAccess.case))
            .order_by(CaseGuestAccess.granted_at.desc(), CaseGuestAccess.id.desc())
        )
    )

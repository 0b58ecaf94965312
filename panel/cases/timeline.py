"""The case timeline: one chronological thread of what happened to a case.

:func:`record_event` writes an entry in the caller's transaction (the workflow calls it for
every transition; a few hand-offs that change no state call it directly). Who may read an
entry is stored with it (``audience``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.accounts.models import PanelRoleKind
from panel.cases.models import Case, CaseEvent
from panel.core.db import db, utcnow

#: Who may read an entry: the case's referrers, the panel's members and chairs, its coordinators.
EVERYONE = ("referrer", "panel", "coordinator")
REFERRER_AND_COORDINATOR = ("referrer", "coordinator")
PANEL_ONLY = ("panel", "coordinator")


def record_event(
    case: Case,
    kind: str,
    *,
    by: Any | None,
    text: str | None = None,
    audience: tuple[str, ...] = EVERYONE,
    details: dict[str, Any] | None = None,
) -> CaseEvent:
    """Add an entry to ``case``'s timeline (flushed, not committed)."""
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        at=utcnow(),
        by_id=getattr(by, "id", None),
        text=text,
        audience=",".join(audience),
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event


def audiences_of(case: Case, user: Any) -> set[str]:
    """The audiences ``user`` belongs to on ``case``: ``referrer`` (its creator and
    co-referrers), ``panel`` (a member or chair of its panel, once submitted), ``coordinator``
    (a coordinator of its panel, once submitted). Empty for everyone else, admins included:
    they manage people, not cases."""
    out: set[str] = set()
    if case.is_referrer(user):
        out.add("referrer")
    if case.submitted_at is not None:
        roles = case.panel_roles(user)
        if roles & {PanelRoleKind.MEMBER, PanelRoleKind.CHAIR}:
            out.add("panel")
        if PanelRoleKind.COORDINATOR in roles:
            out.add("coordinator")
    return out


def events_for(case: Case, user: Any) -> list[CaseEvent]:
    """``case``'s timeline as ``user`` may read it, oldest first: the entries whose audience
    includes one of the viewer's (:func:`audiences_of`). One query (who wrote each entry is
    joined); none at all for someone with no audience on the case."""
    audiences = audiences_of(case, user)
    if not audiences:
        return []
    events = db.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .options(joinedload(CaseEvent.by))
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    return [e for e in events if e.audiences & audiences]

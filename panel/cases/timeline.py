"""The case timeline: one chronological thread of what happened to a case.

:func:`record_event` writes an entry in the caller's transaction (the workflow calls it for
every transition; a few hand-offs that change no state call it directly). Who may read an
entry is stored with it (``audience``).
"""

from __future__ import annotations

from typing import Any

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

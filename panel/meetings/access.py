"""Who may do what with meetings and the panel's work on a case. Refusals follow DESIGN.md:
404 for objects the user may not know exist, 403 for actions on objects they can see."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from panel.accounts.models import PanelRoleKind, User
from panel.core.db import db
from panel.meetings.models import AgendaItem, Attendance, Meeting


def roles(user: User, panel_id: int) -> set[PanelRoleKind]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return user.roles_on(panel_id)


def on_panel(user: User, panel_id: int) -> bool:
    """Holds any role on the panel (member, chair or coordinator)."""
    return bool(roles(user, panel_id))


def meeting_page_options() -> tuple:
    """Loader options for a meeting shown with its agenda and attendance (the meeting page,
    presentation mode, minutes, the agenda PDF, the calendar file): the panel, every agenda
    item with its case, every attendance row with its person; four statements whatever the
    size of the agenda. ``AgendaItem.case`` and ``Attendance.user`` load lazily by default."""
    return (
        joinedload(Meeting.panel),
        selectinload(Meeting.items).joinedload(AgendaItem.case),
        selectinload(Meeting.attendance).joinedload(Attendance.user),
    )


def load_meeting_or_404(meeting_id: int, user: User, check: str = "can_view") -> Meeting:
    """The meeting if ``user`` holds a role on its panel (``Meeting.can_view``; else 404); if
    they may see it but ``check`` (e.g. "can_manage") fails, 403. Loaded with
    :func:`meeting_page_options`."""
    meeting = db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id).options(*meeting_page_options())
    )
    if meeting is None or not meeting.can_view(user):
        abort(404)
    if check != "can_view" and not getattr(meeting, check)(user):
        abort(403)
    return meeting

"""Who may do what with meetings and the panel's work on a case. Refusals follow DESIGN.md:
404 for objects the user may not know exist, 403 for actions on objects they can see."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from panel.accounts.models import PanelRoleKind, User
from panel.core.db import db
from panel.meetings.models import Meeting


def roles(user: User, panel_id: int) -> set[PanelRoleKind]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return user.roles_on(panel_id)


def is_coordinator(user: User, panel_id: int) -> bool:
    return PanelRoleKind.COORDINATOR in roles(user, panel_id)


def is_chair(user: User, panel_id: int) -> bool:
    return PanelRoleKind.CHAIR in roles(user, panel_id)


def on_panel(user: User, panel_id: int) -> bool:
    return bool(roles(user, panel_id))


def load_meeting_or_404(meeting_id: int, user: User, *, coordinator: bool = False) -> Meeting:
    """The meeting if ``user`` holds a role on its panel (else 404); with ``coordinator=True``
    someone on the panel who is not its coordinator gets 403."""
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id))
    if meeting is None or not on_panel(user, meeting.panel_id):
        abort(404)
    if coordinator and not is_coordinator(user, meeting.panel_id):
        abort(403)
    return meeting

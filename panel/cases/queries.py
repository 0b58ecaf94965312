"""Read helpers for cases, with explicit loader options (no N+1 queries on list pages)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from panel.accounts.models import PanelRoleKind, User
from panel.cases.models import Case, CaseReferrer, CaseStatus
from panel.core.db import db


def case_row_options() -> tuple:
    """What a case page or a case list shows of each case: its panel, referring centre, creator,
    questions and co-referrers (with their users)."""
    return (
        joinedload(Case.panel),
        joinedload(Case.referring_centre),
        joinedload(Case.created_by),
        selectinload(Case.questions),
        selectinload(Case.co_referrers).joinedload(CaseReferrer.user),
    )


def load_case_or_404(reference: str, user: User, check: str = "can_view") -> Case:
    """The case with ``reference`` if ``user`` may see it, else 404; if they may see it but
    ``check`` (e.g. "can_edit") fails, 403."""
    case = db.session.scalar(
        select(Case).where(Case.reference == reference.upper()).options(*case_row_options())
    )
    if case is None or not case.can_view(user):
        abort(404)
    if check != "can_view" and not getattr(case, check)(user):
        abort(403)
    return case


def visible_cases_stmt(user: User):
    """A SELECT of every case ``user`` may see (referrer's own and co-referred; the panels'
    submitted cases for members, chairs and coordinators)."""
    conditions = []
    if user.is_referrer:
        co = select(CaseReferrer.case_id).where(CaseReferrer.user_id == user.id)
        conditions.append(or_(Case.created_by_id == user.id, Case.id.in_(co)))
    panel_ids = user.panel_ids()
    if panel_ids:
        conditions.append((Case.panel_id.in_(panel_ids)) & (Case.submitted_at.is_not(None)))
    if not conditions:
        return select(Case).where(False)
    return select(Case).where(or_(*conditions)).options(*case_row_options())


def referrer_cases_stmt(user: User):
    """The referrer's own and co-referred cases, newest change first."""
    co = select(CaseReferrer.case_id).where(CaseReferrer.user_id == user.id)
    return (
        select(Case)
        .where(or_(Case.created_by_id == user.id, Case.id.in_(co)))
        .options(*case_row_options())
        .order_by(Case.updated_at.desc())
    )


def coordinator_queue_stmt(user: User):
    """Submitted cases (and those waiting on the referrer) of the panels ``user`` coordinates,
    the longest-waiting first."""
    panel_ids = user.panel_ids(PanelRoleKind.COORDINATOR)
    return (
        select(Case)
        .where(
            Case.panel_id.in_(panel_ids),
            Case.status.in_([CaseStatus.SUBMITTED, CaseStatus.INFO_REQUESTED]),
        )
        .options(*case_row_options())
        .order_by(Case.urgency.desc(), Case.submitted_at.asc())
    )


def review_cases_stmt(user: User):
    """Cases of the panels where ``user`` is a member or chair that are before or at discussion."""
    panel_ids = user.panel_ids(PanelRoleKind.MEMBER, PanelRoleKind.CHAIR)
    return (
        select(Case)
        .where(
            Case.panel_id.in_(panel_ids),
            Case.status.in_(
                [
                    CaseStatus.SUBMITTED,
                    CaseStatus.SCHEDULED,
                    CaseStatus.DISCUSSED,
                    CaseStatus.RECOMMENDATION,
                ]
            ),
        )
        .options(*case_row_options())
        .order_by(Case.urgency.desc(), Case.submitted_at.asc())
    )

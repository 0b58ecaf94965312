"""Triage: the coordinator's work queue, urgency, and referring a case on to another panel.

The queue lists the submitted cases (and those waiting on the referrer) of the panels a
coordinator coordinates, with how long each has waited and what is still incomplete: missing
fields, trial criteria that cannot be decided on what the referral says, images held back for
review. It runs a fixed number of SQL queries however long it is (aggregates are correlated
subqueries; collections are ``selectin`` loads; trial matching is pure Python over the compiled
registry).

Every change here is an operation: it checks who may do it, validates, changes rows, writes the
audit entry and notifies; it flushes but never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from panel.accounts.models import Panel, PanelRoleKind, User
from panel.caseformat import convert, schema, v2
from panel.cases import workflow
from panel.cases.models import Case, CaseStatus
from panel.cases.operations import to_document
from panel.cases.permissions import REFERABLE_STATES
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.meetings.models import (
    CaseTransfer,
    Meeting,
    MeetingStatus,
    VirtualReview,
    VirtualReviewStatus,
)
from panel.meetings.operations import pending_item_for
from panel.privacy.guard import guard_texts

#: Optional fields the panel nearly always needs to give advice: shown as "missing" in triage
#: when empty (they do not stop a submission; the required ones do).
#: (panel-case/1 paths: a module's are read only where the module applies to the tumour.)
RECOMMENDED_FIELDS: tuple[str, ...] = (
    "diagnosis.inss_stage",
    "diagnosis.histology",
    "biology.segmental.del_1p36",
    "biology.segmental.del_11q",
    "biology.segmental.gain_17q",
    "treatment.prior_hdc",
    "treatment.prior_anti_gd2",
    "treatment.prior_mibg_therapy",
    "response.end_induction.overall",
    "response.current.overall",
    "fitness.life_expectancy_months",
    "fitness.organ_function_adequate",
)

#: Statuses a coordinator triages (the queue) and from which a case may be referred on.
QUEUE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.INFO_REQUESTED)
REFERABLE = REFERABLE_STATES  # Case.can_refer_on
MAX_REASON = 2000


# --------------------------------------------------------------------------- helpers
def field_label(path: str) -> str:
    """The human label of a field path (list items by their list's label)."""
    return v2.label_v2(path)


def humanise_wait(delta: timedelta) -> str:
    """``"3 days"``, ``"5 hours"``, ``"under an hour"``, ``"4 weeks"``."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, days = seconds // 3600, seconds // 86400
    if hours < 1:
        return "under an hour"
    if days < 1:
        return "1 hour" if hours == 1 else f"{hours} hours"
    if days < 21:
        return "1 day" if days == 1 else f"{days} days"
    weeks = days // 7
    return f"{weeks} weeks"


def missing_fields(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, label) of the required fields still missing (possible while information is
    requested) and of the recommended fields left empty."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for problem in v2.missing_for_submit_v2(doc):
        if problem.field not in seen:
            seen.add(problem.field)
            out.append((problem.field, field_label(problem.field)))
    modules = {m.name for m in v2.modules_for(doc)}
    for old in RECOMMENDED_FIELDS:
        path = convert.V1_TO_V2.get(old, old)
        if path.startswith("modules.") and path.split(".")[1] not in modules:
            continue
        value = schema.get_path(doc, path)
        if path not in seen and (value is None or (isinstance(value, str) and not value.strip())):
            seen.add(path)
            out.append((path, field_label(path)))
    return out


def upcoming_meetings_for(panel_ids: set[int] | list[int]) -> list[Meeting]:
    """Planned or published meetings still to come of the given panels, soonest first (helper
    A's ``upcoming_meetings`` when available; the same query otherwise)."""
    panel_ids = list(panel_ids)
    if not panel_ids:
        return []
    try:
        from panel.meetings.operations import upcoming_meetings  # written by another area
    except ImportError:
        upcoming_meetings = None
    if upcoming_meetings is not None:
        return list(upcoming_meetings(panel_ids))
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.panel_id.in_(panel_ids),
                Meeting.status.in_([MeetingStatus.PLANNED, MeetingStatus.PUBLISHED]),
                Meeting.starts_at >= utcnow(),
            )
            .options(joinedload(Meeting.panel))
            .order_by(Meeting.starts_at)
        )
    )


def agenda_url(meeting_id: int) -> str:
    """Where the "schedule" form posts (the agenda endpoint of the meetings area)."""
    try:
        return url_for("meetings.add_item", meeting_id=meeting_id)
    except Exception:  # noqa: BLE001 - the endpoint lives in another module; same path either way
        return f"/meetings/{meeting_id}/agenda"


# --------------------------------------------------------------------------- the queue
@dataclass
class TriageRow:
    """One case in the coordinator's queue, with everything the row shows."""

    case: Case
    waited: timedelta
    waited_label: str
    missing: list[tuple[str, str]] = field(default_factory=list)
    unknown_criteria: list[str] = field(default_factory=list)
    held_images: int = 0
    info_open: bool = False
    questions: int = 0
    review_open: bool = False
    transfers: int = 0
    meetings: list[Meeting] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return self.case.urgency == "urgent"

    @property
    def rolled_over(self) -> bool:
        return bool(self.case.rolled_over)

    @property
    def status(self) -> CaseStatus:
        return self.case.status

    @property
    def panel(self) -> Panel:
        return self.case.panel

    @property
    def missing_count(self) -> int:
        return len(self.missing)

    @property
    def unknown_count(self) -> int:
        return len(self.unknown_criteria)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unknown_criteria and not self.held_images

    @property
    def wait_level(self) -> str:
        """``ok`` / ``long`` (two weeks or more) / ``overdue`` (four weeks or more)."""
        days = self.waited.days
        return "overdue" if days >= 28 else "long" if days >= 14 else "ok"


def triage_stmt(panel_ids: set[int] | list[int]):
    """The queue's one SELECT: cases with their held-back image count, open-review flag and
    number of transfers as correlated subqueries."""
    from panel.imaging.models import FileStatus, StoredFile

    held = (
        select(func.count(StoredFile.id))
        .where(StoredFile.case_id == Case.id, StoredFile.status == FileStatus.HELD_BACK)
        .correlate(Case)
        .scalar_subquery()
    )
    review_open = (
        exists()
        .where(VirtualReview.case_id == Case.id, VirtualReview.status == VirtualReviewStatus.OPEN)
        .correlate(Case)
    )
    transfers = (
        select(func.count(CaseTransfer.id))
        .where(CaseTransfer.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    return (
        select(
            Case, held.label("held"), review_open.label("review_open"), transfers.label("transfers")
        )
        .where(Case.panel_id.in_(list(panel_ids)), Case.status.in_(QUEUE_STATUSES))
        .options(
            joinedload(Case.panel),
            joinedload(Case.referring_centre),
            selectinload(Case.questions),
            selectinload(Case.information_requests),
        )
        .order_by((Case.urgency == "urgent").desc(), Case.submitted_at.asc(), Case.id.asc())
    )


#: Rows shown at once: a real queue is a few dozen cases; a backlog shows its head.
QUEUE_LIMIT = 50


def queue_totals(user: User, panel_ids: set[int] | None = None) -> tuple[int, int]:
    """(cases in the queue, of which urgent) for the panels ``user`` coordinates: one query."""
    coordinated = user.panel_ids(PanelRoleKind.COORDINATOR)
    if panel_ids is not None:
        coordinated &= set(panel_ids)
    if not coordinated:
        return 0, 0
    total, urgent = db.session.execute(
        select(func.count(Case.id), func.count(Case.id).filter(Case.urgency == "urgent")).where(
            Case.panel_id.in_(list(coordinated)), Case.status.in_(QUEUE_STATUSES)
        )
    ).one()
    return int(total or 0), int(urgent or 0)


def _unknown_criteria(case: Case, registry: Any, centres: Any) -> list[str]:
    """Labels of the unknown criteria of the open trials the case may fit ("possible")."""
    from panel.trials import engine
    from panel.trials.matching import case_data

    try:
        matches = engine.match_case(case_data(case), registry.trials, centres)
    except Exception:  # noqa: BLE001 - the queue must show even if matching fails on a case
        return []
    out: list[str] = []
    for m in matches:
        if m.verdict != engine.POSSIBLE:
            continue
        out.extend(f"{m.trial_id}: {mi.label}" for mi in m.missing)
    return out


def triage_rows(
    user: User, panel_ids: set[int] | None = None, limit: int | None = QUEUE_LIMIT
) -> list[TriageRow]:
    """The queue of the panels ``user`` coordinates (optionally only ``panel_ids`` of them):
    urgent cases first, then the longest waiting. A fixed number of queries."""
    coordinated = (
        user.panel_ids(PanelRoleKind.COORDINATOR)
        if getattr(user, "is_authenticated", False)
        else set()
    )
    if panel_ids is not None:
        coordinated &= set(panel_ids)
    if not coordinated:
        return []
    stmt = triage_stmt(coordinated)
    if limit is not None:
        stmt = stmt.limit(limit)
    result = db.session.execute(stmt).all()
    if not result:
        return []
    from panel.trials.matching import centre_index, current_registry

    registry, centres = current_registry(), centre_index()
    meetings = upcoming_meetings_for(coordinated)
    by_panel: dict[int, list[Meeting]] = {}
    for m in meetings:
        by_panel.setdefault(m.panel_id, []).append(m)
    now = utcnow()
    rows: list[TriageRow] = []
    for case, held, review_open, transfers in result:
        waited = now - (case.submitted_at or case.created_at)
        rows.append(
            TriageRow(
                case=case,
                waited=waited,
                waited_label=humanise_wait(waited),
                missing=missing_fields(to_document(case)),
                unknown_criteria=_unknown_criteria(case, registry, centres),
                held_images=int(held or 0),
                info_open=any(r.answered_at is None for r in case.information_requests),
                questions=len(case.questions),
                review_open=bool(review_open),
                transfers=int(transfers or 0),
                meetings=by_panel.get(case.panel_id, []),
            )
        )
    rows.sort(key=lambda r: (not r.urgent, -r.waited.total_seconds(), r.case.id))
    return rows


# --------------------------------------------------------------------------- urgency
def set_urgency(case: Case, urgent: bool, *, by: User, reason: str = "") -> Case:
    """A coordinator of the case's panel marks it urgent (for a virtual review or an early
    meeting) or routine again."""
    if not case.can_set_urgency(by):
        if case.submitted_at is not None and case.is_coordinated_by(by):
            raise Conflict("The urgency can only change before the panel has discussed the case.")
        raise NotAllowed("Only the panel's coordinator can change a case's urgency.")
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise Refused("The reason can be at most 500 characters.", "reason")
    if reason:
        guard_texts([("reason", reason)])
    new = "urgent" if urgent else "routine"
    previous = case.urgency or "routine"
    if new == previous:
        return case
    if not urgent and db.session.scalar(
        select(VirtualReview.id).where(
            VirtualReview.case_id == case.id, VirtualReview.status == VirtualReviewStatus.OPEN
        )
    ):
        raise Conflict(
            "A virtual review is open on this case: cancel it before marking the case routine."
        )
    now = utcnow()
    case.urgency = new
    data = dict(case.data or {})
    data["urgency"] = new
    case.data = data
    case.triaged_at = case.triaged_at or now
    case.updated_at = now
    db.session.flush()
    audit.record(
        "case.urgency",
        obj=case,
        actor=by,
        details={"from": previous, "to": new, "reason": reason},
        clinical=bool(reason),
    )
    return case


# --------------------------------------------------------------------------- refer on
def referable_panels(case: Case) -> list[Panel]:
    """The panels a case may be referred on to: every panel but its own that takes the case's
    tumour type (``Case.can_go_to``)."""
    return [
        p
        for p in db.session.scalars(
            select(Panel).where(Panel.id != case.panel_id).order_by(Panel.scope, Panel.code)
        )
        if case.can_go_to(p)
    ]


def refer_on(case: Case, to_panel: Panel, *, reason: str, by: User) -> CaseTransfer:
    """Refer a case on to another panel (e.g. NAP -> the regional ECMC panel for an
    early-phase trial). The case keeps its reference, record and history; it joins the new
    panel's triage queue and leaves the old panel's view. Both panels' trails show the move."""
    allowed = case.can_refer_on(by)
    if not allowed and (case.submitted_at is None or not case.is_coordinated_by(by)):
        raise NotAllowed("Only the coordinator of the case's panel can refer it on.")
    item = pending_item_for(case)
    if item is not None:
        raise Conflict(
            "This case is on the agenda of an upcoming meeting: take it off the agenda before "
            "referring it on to another panel."
        )
    if not allowed:
        raise Conflict(f"A case that is {case.status.label.lower()} cannot be referred on.")
    if to_panel is None or to_panel.id == case.panel_id:
        raise Refused("Choose another panel to refer the case on to.", "panel")
    refusal = to_panel.refusal_for(case)
    if refusal:
        raise Refused(refusal, "panel")
    reason = (reason or "").strip()
    if not reason:
        raise Refused("Give the reason for referring the case on.", "reason")
    if len(reason) > MAX_REASON:
        raise Refused(f"The reason can be at most {MAX_REASON} characters.", "reason")
    guard_texts([("reason", reason)])

    from panel.meetings import review as review_ops

    open_review = db.session.scalar(
        select(VirtualReview).where(
            VirtualReview.case_id == case.id, VirtualReview.status == VirtualReviewStatus.OPEN
        )
    )
    if open_review is not None:
        review_ops.cancel_review(open_review, by=by, why="referred on")

    old_panel = case.panel
    old_panel_id = case.panel_id
    now = utcnow()
    previous = case.status
    workflow.check(case, "refer_on", by=by)  # before the case changes panel
    transfer = CaseTransfer(
        case_id=case.id,
        from_panel_id=old_panel_id,
        to_panel_id=to_panel.id,
        reason=reason,
        by_id=by.id,
        at=now,
    )
    db.session.add(transfer)
    case.panel_id = to_panel.id
    case.panel = to_panel
    data = dict(case.data or {})
    data["panel"] = to_panel.code
    case.data = data
    # Questions still open with the referrer stay open: the new panel waits for the same answers.
    keeps_questions = (
        case.status == CaseStatus.INFO_REQUESTED and case.open_information_request is not None
    )
    target = CaseStatus.INFO_REQUESTED if keeps_questions else CaseStatus.SUBMITTED
    case.triaged_at = case.triaged_at or now
    db.session.flush()
    details = {
        "from_panel": old_panel.code,
        "to_panel": to_panel.code,
        "transfer_id": transfer.id,
        "from": previous.value,
        "to": target.value,
        "reason": reason,
    }
    workflow.apply(
        case,
        "refer_on",
        by=by,
        text=reason,
        details=details,
        checked=True,
        target=target,
        audit_panel_id=old_panel_id,
        clinical=True,
        from_panel=old_panel.code,
    )
    audit.record(
        "case.received", obj=case, actor=by, panel_id=to_panel.id, details=details, clinical=True
    )
    return transfer


def transfers_of(case: Case) -> list[CaseTransfer]:
    """The case's moves between panels, oldest first."""
    return list(
        db.session.scalars(
            select(CaseTransfer)
            .where(CaseTransfer.case_id == case.id)
            .options(
                joinedload(CaseTransfer.from_panel),
                joinedload(CaseTransfer.to_panel),
                joinedload(CaseTransfer.by),
            )
            .order_by(CaseTransfer.at, CaseTransfer.id)
        )
    )


def when_label(dt: datetime | None, short: bool = False) -> str:
    """A UK-time label for the screens (``short``: without the year, for selects)."""
    from panel.core.uktime import uk_label

    if dt is None:
        return "\u2014"
    return uk_label(dt, "%a %-d %b, %H:%M") if short else uk_label(dt)

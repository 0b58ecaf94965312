"""Minutes typed while the meeting runs, the outcome of each case, and amendments once the
meeting is closed. Operations flush and audit; they never commit.

Two coordinators may type into the same item at once (one shares the screen, one takes notes).
Every save names the version it was based on (``expected_version``); the save is a single
conditional ``UPDATE ... WHERE minutes_version = expected``, so of two saves based on the same
version exactly one wins, even in two processes at the same instant. The other gets
:class:`MinutesConflict`, which carries the text now stored (and who saved it, and when) so the
screen can show both texts side by side: nothing typed is ever lost.

Audit of autosaves (``minutes.saved``): the editor saves every couple of seconds while someone
types, so not every save is an audit entry. An entry is written when

* the item's minutes are saved for the first time, or
* the person saving is not the person who saved the previous version, or
* ten minutes or more have passed since the last ``minutes.saved`` entry for this item.

Each entry records the version range it covers (``from_version`` .. ``version``). The texts
themselves stay out of the audit details (they are clinical); the item keeps the latest text and,
after the meeting is closed, every change is a numbered :class:`MinutesAmendment` with both texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, select, update

from panel.accounts.models import User
from panel.cases import workflow
from panel.cases.models import CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.models import AuditEntry
from panel.core.uktime import to_uk, uk_label
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus, MinutesAmendment
from panel.privacy.guard import guard_texts

#: An autosave by the same person within this time of the last audited save is not audited again.
AUDIT_COALESCE = timedelta(minutes=10)
#: Longest minutes text accepted (a generous page or two of notes per case).
MAX_TEXT = 20_000


def uk_hm(moment: datetime | None) -> str:
    """``16:32``: the UK wall-clock time of a save, for "Saved 16:32"."""
    return to_uk(moment).strftime("%H:%M") if moment is not None else ""


@dataclass
class CurrentMinutes:
    """The minutes as stored when a save was refused."""

    discussion: str
    outcome: str
    version: int
    by: str
    at: datetime | None

    def to_dict(self) -> dict:
        return {
            "discussion": self.discussion,
            "outcome": self.outcome,
            "version": self.version,
            "by": self.by,
            "at": self.at.isoformat() if self.at else None,
            "at_uk": uk_hm(self.at),
        }


class MinutesConflict(Conflict):
    """Someone else saved these minutes since this editor loaded them. Nothing was saved;
    ``current`` is what is stored now."""

    def __init__(self, current: CurrentMinutes):
        self.current = current
        when = uk_hm(current.at) or "just now"
        super().__init__(
            f"{current.by} saved these minutes at {when} while you were typing. Your text was not "
            "saved and is kept below: merge the two and save again."
        )


# --------------------------------------------------------------------------- checks
def _check_open(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refused("This meeting was cancelled: it has no minutes.")
    if meeting.is_closed:
        raise Refused(
            "The meeting is closed and its minutes are locked. To change them, record an amendment with a reason."
        )


def _check_item_open(item: AgendaItem) -> None:
    if item.outcome_status not in (ItemOutcome.PENDING, ItemOutcome.DISCUSSED):
        raise Refused("This case is no longer on the agenda: its minutes cannot be written.")


def _clean(text: str | None, label: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise Refused(
            f"The {label} is too long ({len(text)} characters; at most {MAX_TEXT}).", label
        )
    return text


def current_minutes(item: AgendaItem) -> CurrentMinutes:
    by = item.minutes_updated_by
    return CurrentMinutes(
        discussion=item.discussion or "",
        outcome=item.outcome or "",
        version=item.minutes_version or 0,
        by=by.name if by is not None else "Another coordinator",
        at=item.minutes_updated_at,
    )


# --------------------------------------------------------------------------- saving
def _last_audited_save(item: AgendaItem) -> AuditEntry | None:
    """The latest ``minutes.saved`` entry of this item (entries are on the case; a case is on
    few agendas, so the last handful of its entries is enough)."""
    rows = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "minutes.saved",
            AuditEntry.object_type == "case",
            AuditEntry.object_id == item.case.reference,
        )
        .order_by(AuditEntry.id.desc())
        .limit(10)
    )
    return next((e for e in rows if (e.details or {}).get("item") == item.id), None)


def save_minutes(
    item: AgendaItem, *, discussion: str, outcome: str, expected_version: int, by: User
) -> AgendaItem:
    """Save the discussion and outcome of one agenda item while the meeting is open.

    Refused when the meeting is closed (amend instead) or cancelled, when the item was taken off
    the agenda, when the text holds a patient identifier, and (:class:`MinutesConflict`) when
    someone saved a newer version since ``expected_version``."""
    meeting = item.meeting
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators write the minutes.")
    _check_open(meeting)
    _check_item_open(item)
    discussion = _clean(discussion, "discussion")
    outcome = _clean(outcome, "outcome")
    guard_texts([("discussion", discussion), ("outcome", outcome)])

    previous_by = item.minutes_updated_by_id
    previous_version = item.minutes_version or 0
    if expected_version != previous_version:
        raise MinutesConflict(current_minutes(item))
    if discussion == (item.discussion or "") and outcome == (item.outcome or ""):
        return item  # nothing changed (e.g. an autosave after focus moved): no new version

    now = utcnow()
    result = db.session.execute(
        update(AgendaItem)
        .where(AgendaItem.id == item.id, AgendaItem.minutes_version == expected_version)
        .values(
            discussion=discussion,
            outcome=outcome,
            minutes_version=expected_version + 1,
            minutes_updated_at=now,
            minutes_updated_by_id=by.id,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(item)
    if result.rowcount != 1:  # another process saved between our read and our write
        raise MinutesConflict(current_minutes(item))

    last = _last_audited_save(item) if previous_version and previous_by == by.id else None
    if (
        previous_version == 0
        or previous_by != by.id
        or last is None
        or now - last.at >= AUDIT_COALESCE
    ):
        audit.record(
            "minutes.saved",
            obj=item.case,
            actor=by,
            details={
                "meeting": meeting.id,
                "item": item.id,
                "from_version": ((last.details or {}).get("version", 0) + 1)
                if last is not None
                else previous_version + 1,
                "version": item.minutes_version,
            },
        )
    return item


# --------------------------------------------------------------------------- outcome
def record_outcome(item: AgendaItem, *, by: User) -> AgendaItem:
    """Mark a case as discussed at this meeting: needs the quorum and a written outcome. The
    case moves to *discussed*; the coordinators are told the recommendation can be drafted and
    the referrers that the panel has discussed the case (no clinical text in either)."""
    meeting = item.meeting
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators write the minutes.")
    _check_open(meeting)
    if item.outcome_status == ItemOutcome.DISCUSSED:
        raise Refused("This case is already marked as discussed.")
    if item.outcome_status != ItemOutcome.PENDING:
        raise Refused("This case is no longer on the agenda.")
    case = item.case
    if case.status not in (CaseStatus.SCHEDULED, CaseStatus.DISCUSSED):
        raise Refused(
            f"{case.reference} is {case.status.label.lower()}: it cannot be marked as discussed."
        )
    if not meeting.has_started():
        # Say so, with the meeting's date, rather than ask for an attendance that cannot be
        # recorded before the start (issue 14, fault 3).
        problem = workflow.refusal(case, "discuss", by=by, meeting=meeting)
        if problem is not None:
            raise problem
    if not meeting.quorum_met:
        raise Refused(
            f"The quorum is not met: {meeting.voting_attendance} of {meeting.panel.quorum} members or chairs "
            "recorded as attending. Record the attendance first."
        )
    if not (item.outcome or "").strip():
        raise Refused("Write the outcome before marking the case as discussed.", "outcome")

    problem = workflow.refusal(case, "discuss", by=by, meeting=meeting)
    if problem is not None:
        raise problem
    now = utcnow()
    item.outcome_status = ItemOutcome.DISCUSSED
    item.discussed_at = now
    previous = case.status
    if case.discussed_at is None:
        case.discussed_at = now
    workflow.apply(
        case,
        "discuss",
        by=by,
        details={
            "meeting": meeting.id,
            "item": item.id,
            "status": [previous.value, CaseStatus.DISCUSSED.value],
        },
        meeting=meeting,
        when=uk_label(meeting.starts_at, "%a %-d %b %Y"),
        minutes_link=url_for("meetings.minutes", meeting_id=meeting.id, item_id=item.id),
    )
    return item


def reopen_outcome(item: AgendaItem, *, by: User) -> AgendaItem:
    """Undo "Mark as discussed" while the meeting is still open: the item is pending again and
    the case back to *scheduled* (refused once the case has moved on, e.g. a recommendation)."""
    meeting = item.meeting
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators write the minutes.")
    _check_open(meeting)
    if item.outcome_status != ItemOutcome.DISCUSSED:
        raise Refused("This case is not marked as discussed.")
    case = item.case
    if case.status != CaseStatus.DISCUSSED:
        raise Refused(
            f"{case.reference} has moved on ({case.status.label.lower()}): the discussion cannot be reopened."
        )
    if case.discussed_at is not None and case.discussed_at == item.discussed_at:
        case.discussed_at = None  # set by this discussion: the case has not been discussed yet
    item.outcome_status = ItemOutcome.PENDING
    item.discussed_at = None
    workflow.apply(
        case,
        "reopen_discussion",
        by=by,
        details={"meeting": meeting.id, "item": item.id, "status": ["discussed", "scheduled"]},
    )
    return item


# --------------------------------------------------------------------------- amendments
def amend_minutes(
    item: AgendaItem, *, discussion: str, outcome: str, reason: str, by: User
) -> MinutesAmendment:
    """Change the minutes of a closed meeting: a numbered amendment with the reason, both
    texts before and after, who and when."""
    meeting = item.meeting
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators write the minutes.")
    if not meeting.is_closed:
        raise Refused("The meeting is still open: edit the minutes directly.")
    if item.outcome_status == ItemOutcome.REMOVED:
        raise Refused("This case was taken off the agenda: it has no minutes.")
    discussion = _clean(discussion, "discussion")
    outcome = _clean(outcome, "outcome")
    reason = _clean(reason, "reason")
    if not reason:
        raise Refused("Give the reason for the amendment.", "reason")
    guard_texts([("discussion", discussion), ("outcome", outcome), ("reason", reason)])
    if discussion == (item.discussion or "") and outcome == (item.outcome or ""):
        raise Refused("Nothing was changed: edit the discussion or the outcome to amend them.")

    number = (
        db.session.scalar(
            select(func.max(MinutesAmendment.number)).where(MinutesAmendment.item_id == item.id)
        )
        or 0
    ) + 1
    now = utcnow()
    amendment = MinutesAmendment(
        item_id=item.id,
        number=number,
        reason=reason,
        discussion_before=item.discussion or "",
        discussion_after=discussion,
        outcome_before=item.outcome or "",
        outcome_after=outcome,
        by_id=by.id,
        at=now,
    )
    db.session.add(amendment)
    changed = [
        f
        for f, old, new in (
            ("discussion", item.discussion or "", discussion),
            ("outcome", item.outcome or "", outcome),
        )
        if old != new
    ]
    item.discussion = discussion
    item.outcome = outcome
    item.minutes_version = (item.minutes_version or 0) + 1
    item.minutes_updated_at = now
    item.minutes_updated_by_id = by.id
    db.session.flush()
    audit.record(
        "minutes.amended",
        obj=item.case,
        actor=by,
        details={"meeting": meeting.id, "item": item.id, "amendment": number, "fields": changed},
    )
    return amendment

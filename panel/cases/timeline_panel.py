"""The case page's timeline card: the entries of :func:`panel.cases.timeline.events_for`, each
with a label, an icon and what it says (questions, a reply, what changed at a resubmission).

The card renders whatever :class:`~panel.cases.models.CaseEvent` rows exist: a kind it does not
know gets a readable label from its name, so a new kind never breaks the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from panel.cases import operations
from panel.cases.forms import problem_label
from panel.cases.models import Case, CaseEvent, CaseRevision
from panel.cases.timeline import audiences_of, events_for
from panel.core.db import db


@dataclass(frozen=True)
class Kind:
    """How one kind of entry looks: its label, a Bootstrap icon and a tone (a colour)."""

    label: str
    icon: str
    tone: str = "neutral"  # neutral, primary, info, warning, success, danger


#: Every kind the workflow writes (and a few spellings of them), with its label and icon.
KINDS: dict[str, Kind] = {
    # the referral
    "created": Kind("Referral started", "file-earmark-plus"),
    "submitted": Kind("Referral submitted", "send", "primary"),
    "resubmitted": Kind("Referral resubmitted", "arrow-repeat", "primary"),
    "information_requested": Kind("Information requested", "question-circle", "warning"),
    "information_answered": Kind("Referrer's reply", "reply", "info"),
    "withdrawn": Kind("Referral withdrawn", "x-circle", "danger"),
    "co_referrer_added": Kind("Co-referrer added", "person-plus"),
    # triage and scheduling
    "triaged": Kind("Triaged", "funnel", "primary"),
    "urgency_changed": Kind("Urgency changed", "exclamation-triangle", "warning"),
    "urgency_set": Kind("Urgency changed", "exclamation-triangle", "warning"),
    "scheduled": Kind("Scheduled for a meeting", "calendar-event", "primary"),
    "unscheduled": Kind("Taken off the agenda", "calendar-x"),
    "removed_from_agenda": Kind("Taken off the agenda", "calendar-x"),
    "moved": Kind("Moved to another meeting", "calendar2-week"),
    "rolled_over": Kind("Not discussed: back to triage", "arrow-return-left", "warning"),
    "not_discussed": Kind("Not discussed at the meeting", "arrow-return-left", "warning"),
    "referred_on": Kind("Referred on to another panel", "box-arrow-right", "info"),
    "review_opened": Kind("Urgent virtual review opened", "lightning-charge", "warning"),
    "review_vote": Kind("Virtual review vote", "hand-thumbs-up"),
    "review_cancelled": Kind("Virtual review cancelled", "slash-circle"),
    "review_concluded": Kind("Virtual review concluded", "lightning-charge", "success"),
    "review_decided": Kind("Virtual review concluded", "lightning-charge", "success"),
    # the meeting
    "discussed": Kind("Discussed by the panel", "people", "primary"),
    "outcome_recorded": Kind("Outcome recorded", "clipboard-check", "primary"),
    "outcome_reopened": Kind("Outcome reopened", "arrow-counterclockwise", "warning"),
    "minutes_amended": Kind("Minutes amended", "pencil"),
    # the recommendation and letters
    "recommendation_started": Kind("Recommendation started", "pencil-square"),
    "approved": Kind("Recommendation approved", "patch-check", "success"),
    "recommendation_approved": Kind("Recommendation approved", "patch-check", "success"),
    "amended": Kind("Recommendation amended", "pencil", "warning"),
    "recommendation_amended": Kind("Recommendation amended", "pencil", "warning"),
    "suggested_trial_closed": Kind(
        "Suggested trial no longer recruiting", "exclamation-octagon", "danger"
    ),
    "feedback_sent": Kind("Feedback sent", "envelope-check", "success"),
    "letter_sent": Kind("Letter sent", "envelope-check", "success"),
    "letters_sent": Kind("Letters sent", "envelope-check", "success"),
    "family_informed": Kind("Family informed", "house-heart", "success"),
    "study_opt_out": Kind("Family opted out of the study", "clipboard-x"),
    "study_opt_in": Kind("Family included in the study", "clipboard-check"),
    "family_code_created": Kind("Family access code made", "key"),
    "family_question": Kind("Question from the family", "chat-heart", "info"),
    "family_question_answered": Kind("Answer to the family", "chat-quote", "success"),
    "family_answered": Kind("Answer to the family", "chat-quote", "success"),
    "family_answer": Kind("Answer to the family", "chat-quote", "success"),
    "closed": Kind("Case closed", "archive"),
    # the screening log (outcomes)
    "trial_referral_step": Kind("Screening log", "signpost-split", "info"),
    "trial_referral_step_withdrawn": Kind(
        "Screening log: step withdrawn", "arrow-counterclockwise", "warning"
    ),
    "reopened": Kind("Case reopened", "arrow-counterclockwise", "warning"),
}

#: Who else read an entry that not everyone on the case may read (shown beside it).
AUDIENCE_NOTES = {
    frozenset({"referrer", "coordinator"}): "Referrer and coordinators",
    frozenset({"panel", "coordinator"}): "Panel only",
    frozenset({"coordinator"}): "Coordinators only",
    frozenset({"referrer"}): "Referrers only",
    frozenset({"referrer", "panel"}): "Referrer and panel members",
}
EVERYONE = frozenset({"referrer", "panel", "coordinator"})


def kind_of(name: str) -> Kind:
    """The look of ``name``; an unknown kind reads as its words ("rolled_back" -> "Rolled back")."""
    known = KINDS.get(name)
    if known is not None:
        return known
    words = name.replace("_", " ").replace(".", " ").strip() or "Entry"
    return Kind(words[0].upper() + words[1:], "dot")


@dataclass(frozen=True)
class Change:
    """One field that changed between two submissions."""

    field: str
    label: str
    old: Any
    new: Any


@dataclass
class Entry:
    """One entry of the timeline, ready for the template."""

    event: CaseEvent
    kind: Kind
    by: str | None
    questions: list[str] = field(default_factory=list)
    revision: int | None = None
    version: int | None = None
    changes: list[Change] | None = None  # resubmissions, for those who may see versions
    replies_to: datetime | None = None  # a reply: when its request was made
    audience_note: str | None = None

    @property
    def name(self) -> str:
        return self.event.kind

    @property
    def text(self) -> str | None:
        return self.event.text


@dataclass
class CaseTimeline:
    """What the timeline card shows."""

    entries: list[Entry]
    can_see_versions: bool
    is_referrer: bool


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _questions(event: CaseEvent) -> list[str]:
    details = event.details or {}
    questions = details.get("questions")
    if isinstance(questions, list) and all(isinstance(q, str) for q in questions):
        return list(questions)
    return [line for line in (event.text or "").splitlines() if line.strip()]


def submission_changes(case: Case, events: list[CaseEvent]) -> dict[int, list[Change]]:
    """What changed at each resubmission among ``events`` (by revision number), against the
    submission before it. One query, and none when there is no resubmission."""
    wanted = {
        n
        for e in events
        if e.kind == "resubmitted" and (n := _int((e.details or {}).get("revision")))
    }
    if not wanted:
        return {}
    revisions = db.session.execute(
        select(CaseRevision.number, CaseRevision.document)
        .where(
            CaseRevision.case_id == case.id,
            CaseRevision.reason.in_(("submitted", "resubmitted")),
        )
        .order_by(CaseRevision.number)
    ).all()
    out: dict[int, list[Change]] = {}
    previous = None
    for number, document in revisions:
        if number in wanted and previous is not None:
            out[number] = [
                Change(path, problem_label(path), old, new)
                for path, old, new in operations.field_diff(previous, document)
            ]
        previous = document
    return out


def case_timeline(case: Case, user: Any) -> CaseTimeline | None:
    """The timeline of ``case`` as ``user`` may read it, or None for someone with no audience on
    the case (an admin: no card at all)."""
    audiences = audiences_of(case, user)
    if not audiences:
        return None
    events = events_for(case, user)
    can_see_versions = case.can_see_revisions(user)
    changes = submission_changes(case, events) if can_see_versions else {}
    requested_at = {
        _int((e.details or {}).get("request")): e.at
        for e in events
        if e.kind == "information_requested"
    }
    entries = []
    for event in events:
        details = event.details or {}
        revision = _int(details.get("revision"))
        audience = frozenset(event.audiences)
        entries.append(
            Entry(
                event=event,
                kind=kind_of(event.kind),
                by=event.by.name if event.by is not None else None,
                questions=_questions(event) if event.kind == "information_requested" else [],
                revision=revision,
                version=_int(details.get("version")),
                changes=changes.get(revision) if event.kind == "resubmitted" else None,
                replies_to=(
                    requested_at.get(_int(details.get("request")))
                    if event.kind == "information_answered"
                    else None
                ),
                audience_note=None if audience >= EVERYONE else AUDIENCE_NOTES.get(audience),
            )
        )
    return CaseTimeline(entries, can_see_versions, case.is_referrer(user))


def timeline_panel(case: Case, user: Any, state: dict) -> CaseTimeline | None:
    """The case page's timeline card (registered by :func:`panel.cases.init_app`)."""
    return case_timeline(case, user)

"""Sending the panel's feedback, the family being informed, closing the case, and the
turnaround timestamps.

The coordinator sends the approved letters: the case moves to ``feedback_sent``, the follow-up
clocks start and the referrers are told (bell + e-mail, no clinical content: the reference and a
link). The referrer reads both letters in Panel, marks the family as informed, and the case can
be closed. Every step is audited; operations flush and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from panel.accounts.models import User
from panel.cases import workflow
from panel.cases.models import Case, CaseStatus
from panel.cases.needs import communication_needs
from panel.core import signals
from panel.core.db import utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.feedback.models import Recommendation, plain_words_message
from panel.meetings.discussion import discussion_of

#: After sending, the referrers may read the letters; before, only the panel's people.
SENT_STATES = {CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED}


def feedback_sent(case: Case) -> bool:
    return case.feedback_sent_at is not None and case.status in SENT_STATES


def stamp_sent(rec: Recommendation, now) -> None:
    """What sending sets on the record that its letters print: the sending moment and the
    follow-up actions' due dates (the clocks start). ``documents.prerender_letters`` applies it
    in a savepoint it rolls back, to print the letters as they would be sent today."""
    case = rec.case
    case.feedback_sent_at = case.feedback_sent_at or now
    for action in rec.follow_ups:
        if action.due_at is None and action.done_at is None:
            action.due_at = now + timedelta(days=max(int(action.due_in_days or 0), 0))


def send_feedback(rec: Recommendation, *, by: User, translation_arranged: bool = False) -> Case:
    """Recommendation -> feedback sent: stamps the case, starts the follow-up clocks and tells
    the referrers that the feedback is ready (no clinical content in the message). Refused
    while a suggested trial has no words for families (``Case.can_send_feedback`` asks
    ``Recommendation.trials_without_plain_words``: they may have been cleared since approval).

    When the family's recorded language is not English (``cases/needs.py``) the coordinator
    must confirm that a translation is arranged or not needed (``translation_arranged``):
    refused otherwise, and the confirmation is in the audit entry of the sending."""
    case = rec.case
    if not case.can_send_feedback(by):
        if not case.is_coordinated_by(by):
            raise NotAllowed("Only the panel's coordinator can send the feedback.")
        if case.status in SENT_STATES or case.feedback_sent_at is not None:
            raise Conflict("The feedback for this case has already been sent.")
        if not rec.is_approved:
            raise Refused(
                "The chair has to approve the recommendation before the feedback can be sent."
            )
        missing = rec.trials_without_plain_words()
        if missing and case.status == CaseStatus.RECOMMENDATION:
            raise Refused(plain_words_message(missing, by, "sent"), "trials")
        raise Refused(f"The feedback cannot be sent while the case is {case.status.label.lower()}.")
    needs = communication_needs(case)
    if needs.translation_needed and not translation_arranged:
        raise Refused(
            f"The family's language is {needs.language_label}. Arrange a translated copy of the "
            "family letter (or decide it is not needed), then tick “Translation arranged or not "
            "needed” and send again."
        )
    discussion = discussion_of(case)
    workflow.check(case, "send_feedback", by=by, discussion=discussion)
    now = utcnow()
    stamp_sent(rec, now)
    workflow.apply(
        case,
        "send_feedback",
        by=by,
        details={
            "recommendation_version": rec.version,
            "amendments": len(rec.applied_amendments),
            "follow_ups": len(rec.follow_ups),
            "communication_needs": needs.summary,
            "family_layouts": list(needs.letter_layouts),
            "translation_arranged": translation_arranged if needs.translation_needed else None,
        },
        checked=True,
    )
    # The letters are rendered once, now, and served as stored from then on.
    from panel.feedback.documents import issue_letters

    issue_letters(rec, by=by)
    signals.send(signals.feedback_was_sent, case=case, by=by, sent_at=case.feedback_sent_at)
    return case


def mark_family_informed(case: Case, *, by: User) -> Case:
    """A referrer records that the family has been told about the panel's advice."""
    if not case.can_mark_family_informed(by):
        if not case.is_referrer(by):
            raise NotAllowed("Only the referring team can mark the family as informed.")
        if case.family_informed_at is not None:
            return case  # a double click records it once
        raise Refused(
            "The family can be marked as informed once the panel's feedback has been sent."
        )
    workflow.check(case, "family_informed", by=by)
    case.family_informed_at = case.updated_at = utcnow()
    workflow.apply(
        case, "family_informed", by=by, details={"status": case.status.value}, checked=True
    )
    return case


def close_case(case: Case, *, by: User) -> Case:
    """Feedback sent -> closed, by the referrer or the panel's coordinator."""
    if not case.can_close(by):
        if case.status == CaseStatus.CLOSED:
            raise Conflict("The case is already closed.")
        if not case.is_referrer_or_coordinator(by):
            raise NotAllowed(
                "Only the referring team or the panel's coordinator can close the case."
            )
        raise Refused("A case can be closed once the panel's feedback has been sent.")
    case.closed_at = case.closed_at or utcnow()
    workflow.apply(
        case, "close", by=by, details={"family_informed": case.family_informed_at is not None}
    )
    return case


TURNAROUND_STEPS = [
    ("Submitted", "submitted_at"),
    ("Triaged", "triaged_at"),
    ("Scheduled", "scheduled_at"),
    ("Discussed", "discussed_at"),
    ("Approved", "approved_at"),
    ("Feedback sent", "feedback_sent_at"),
    ("Family informed", "family_informed_at"),
    ("Closed", "closed_at"),
]


def turnaround(case: Case) -> list[tuple[str, datetime | None]]:
    """Each step of the case's road with the moment it was first reached (None: not yet)."""
    return [(label, getattr(case, attr)) for label, attr in TURNAROUND_STEPS]

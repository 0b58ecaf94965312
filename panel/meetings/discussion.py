"""Where and how a case was discussed: what the workflow's ``discussed`` precondition reads
before a recommendation is approved or the feedback sent (``panel.cases.workflow``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from panel.core.db import db
from panel.meetings.models import (
    AgendaItem,
    ItemOutcome,
    Meeting,
    VirtualReview,
    VirtualReviewStatus,
)


@dataclass
class Discussion:
    #: The meetings at which the case was marked discussed.
    meetings: list[Meeting] = field(default_factory=list)
    #: Whether an urgent virtual review of the case was agreed.
    review_agreed: bool = False


def discussion_of(case) -> Discussion:
    """The case's discussions: at meetings (items marked discussed) and by virtual review."""
    meetings = list(
        db.session.scalars(
            select(Meeting)
            .join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
            .where(
                AgendaItem.case_id == case.id, AgendaItem.outcome_status == ItemOutcome.DISCUSSED
            )
        )
    )
    agreed = db.session.scalar(
        select(VirtualReview.id)
        .where(VirtualReview.case_id == case.id, VirtualReview.status == VirtualReviewStatus.AGREED)
        .limit(1)
    )
    return Discussion(meetings=meetings, review_agreed=agreed is not None)

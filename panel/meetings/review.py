"""Urgent virtual review: an urgent case decided without a meeting.

The coordinator proposes the outcome; the panel's chairs and members record whether they
agree. Once at least one chair and at least two other members agree, the review is agreed and
the case counts as discussed (as if at a meeting). Every step is audited; operations flush but
never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from panel.accounts.models import PanelRoleKind, User
from panel.cases import workflow
from panel.cases.models import Case, CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.meetings.models import VirtualReview, VirtualReviewStatus, VirtualReviewVote
from panel.privacy.guard import guard_texts

#: Agreement needed: this many chairs and this many other (non-chair) members.
CHAIRS_NEEDED = 1
MEMBERS_NEEDED = 2
MAX_PROPOSAL = 4000
MAX_NOTE = 2000


@dataclass(frozen=True)
class Progress:
    chairs: int
    members: int
    disagree: int

    @property
    def chair_ok(self) -> bool:
        return self.chairs >= CHAIRS_NEEDED

    @property
    def members_ok(self) -> bool:
        return self.members >= MEMBERS_NEEDED

    @property
    def agreed(self) -> bool:
        return self.chair_ok and self.members_ok

    @property
    def label(self) -> str:
        chair = "chair \u2713" if self.chair_ok else "chair awaited"
        return f"{chair}, members {min(self.members, MEMBERS_NEEDED)} of {MEMBERS_NEEDED}"


def progress(review: VirtualReview) -> Progress:
    """How far the review is from agreement: agreeing chairs, agreeing non-chair members."""
    agree = [v for v in review.votes if v.agrees]
    return Progress(
        chairs=sum(1 for v in agree if v.as_chair),
        members=sum(1 for v in agree if not v.as_chair),
        disagree=sum(1 for v in review.votes if not v.agrees),
    )


def open_review_of(case: Case) -> VirtualReview | None:
    return db.session.scalar(
        select(VirtualReview)
        .where(VirtualReview.case_id == case.id, VirtualReview.status == VirtualReviewStatus.OPEN)
        .options(selectinload(VirtualReview.votes).joinedload(VirtualReviewVote.user))
    )


def open_review(case: Case, *, proposal: str, by: User) -> VirtualReview:
    """The coordinator opens a virtual review of an urgent submitted case with a proposed
    outcome; the panel's chairs and members are asked for their agreement."""
    if not case.can_open_review(by):
        if not case.is_coordinated_by(by):
            raise NotAllowed("Only the panel's coordinator can open a virtual review.")
        if case.urgency != "urgent":
            raise Conflict(
                "Only an urgent case can be reviewed without a meeting: mark it urgent first."
            )
        raise Conflict("A virtual review needs a submitted case that is not on a meeting's agenda.")
    if open_review_of(case) is not None:
        raise Conflict("A virtual review is already open on this case.")
    proposal = (proposal or "").strip()
    if not proposal:
        raise Refused("Write the proposed outcome the panel is asked to agree to.", "proposal")
    if len(proposal) > MAX_PROPOSAL:
        raise Refused(f"The proposal can be at most {MAX_PROPOSAL} characters.", "proposal")
    guard_texts([("proposal", proposal)])
    review = VirtualReview(
        case_id=case.id, proposal=proposal, opened_by_id=by.id, opened_at=utcnow()
    )
    review.case = case
    db.session.add(review)
    case.triaged_at = case.triaged_at or review.opened_at
    db.session.flush()
    workflow.apply(
        case,
        "open_review",
        by=by,
        text=proposal,
        details={"review_id": review.id, "proposal": proposal},
        clinical=True,
    )
    return review


def vote(review: VirtualReview, *, agrees: bool, note: str = "", by: User) -> VirtualReviewVote:
    """A chair or member records agreement (or not) once; the review is agreed (and the case
    discussed) as soon as a chair and two other members agree."""
    case = review.case
    roles = case.panel_roles(by)
    if not review.can_vote(by):
        if not review.is_voter(by):
            raise NotAllowed("Only the panel's chairs and members take part in a virtual review.")
        if review.status != VirtualReviewStatus.OPEN:
            raise Conflict("This virtual review is closed.")
        raise Conflict("You have already recorded your view on this review.")
    if case.status != CaseStatus.SUBMITTED:
        raise Conflict(
            f"The case is {case.status.label.lower()} now: the coordinator should cancel this review."
        )
    already = "You have already recorded your view on this review."
    if any(v.user_id == by.id for v in review.votes) or db.session.scalar(
        select(VirtualReviewVote.id).where(
            VirtualReviewVote.review_id == review.id, VirtualReviewVote.user_id == by.id
        )
    ):
        raise Conflict(already)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Refused(f"The note can be at most {MAX_NOTE} characters.", "note")
    if note:
        guard_texts([("note", note)])
    ballot = VirtualReviewVote(
        review_id=review.id,
        user_id=by.id,
        as_chair=PanelRoleKind.CHAIR in roles,
        agrees=bool(agrees),
        note=note,
        at=utcnow(),
    )
    ballot.user = by
    try:
        with db.session.begin_nested():  # a double click racing itself: the second is a conflict
            review.votes.append(ballot)
            db.session.flush()
    except IntegrityError as exc:
        if ballot in review.votes:
            review.votes.remove(ballot)
        raise Conflict(already) from exc
    audit.record(
        "case.virtual_review_vote",
        obj=case,
        actor=by,
        details={
            "review_id": review.id,
            "agrees": bool(agrees),
            "as_chair": ballot.as_chair,
            "note": note,
        },
        clinical=bool(note),
    )
    if progress(review).agreed:
        _conclude(review, by=by)
    return ballot


def _conclude(review: VirtualReview, *, by: User) -> None:
    case = review.case
    now = utcnow()
    review.status = VirtualReviewStatus.AGREED
    review.decided_at = now
    previous = case.status
    case.discussed_at = case.discussed_at or now
    p = progress(review)
    workflow.apply(
        case,
        "review_agreed",
        by=by,
        details={
            "review_id": review.id,
            "chairs": p.chairs,
            "members": p.members,
            "disagree": p.disagree,
        },
    )
    audit.record(
        "case.discussed",
        obj=case,
        actor=by,
        details={
            "via": "virtual review",
            "review_id": review.id,
            "from": previous.value,
            "to": "discussed",
        },
    )


def cancel_review(review: VirtualReview, *, by: User, why: str = "") -> VirtualReview:
    """The coordinator withdraws an open virtual review (e.g. to discuss the case at a
    meeting instead)."""
    case = review.case
    if not review.can_manage(by):
        raise NotAllowed("Only the panel's coordinator can cancel a virtual review.")
    if review.status != VirtualReviewStatus.OPEN:
        raise Conflict("This virtual review is not open.")
    review.status = VirtualReviewStatus.CANCELLED
    review.decided_at = utcnow()
    db.session.flush()
    workflow.apply(
        case,
        "cancel_review",
        by=by,
        text=why or None,
        details={"review_id": review.id, "why": why},
        voters=[v.user for v in review.votes],
    )
    return review


def reviews_of(case: Case) -> list[VirtualReview]:
    """Every virtual review of the case, newest first."""
    return list(
        db.session.scalars(
            select(VirtualReview)
            .where(VirtualReview.case_id == case.id)
            .options(selectinload(VirtualReview.votes).joinedload(VirtualReviewVote.user))
            .order_by(VirtualReview.opened_at.desc(), VirtualReview.id.desc())
        )
    )


def open_reviews_for(user: User) -> list[VirtualReview]:
    """Open reviews on the panels where ``user`` holds any role, oldest first."""
    panel_ids = user.panel_ids() if getattr(user, "is_authenticated", False) else set()
    if not panel_ids:
        return []
    return list(
        db.session.scalars(
            select(VirtualReview)
            .join(Case, Case.id == VirtualReview.case_id)
            .where(
                VirtualReview.status == VirtualReviewStatus.OPEN, Case.panel_id.in_(list(panel_ids))
            )
            .options(contains_eager(VirtualReview.case))
            .order_by(VirtualReview.opened_at.asc(), VirtualReview.id.asc())
        )
    )

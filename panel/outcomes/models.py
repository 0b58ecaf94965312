"""The screening log and the follow-up outcome checks.

A :class:`TrialReferral` is one trial suggested to one case in an approved record, with the
stage it has reached; each :class:`TrialReferralStep` is one recorded step (dated, with who
recorded it and when). An :class:`OutcomeCheck` is one follow-up reminder to the referrer (3, 6
or 12 months after feedback was sent) and, once answered, the short outcome form's answers."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import User
from panel.cases.models import Case
from panel.core.db import UTCDateTime, db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.uktime import uk_date

if TYPE_CHECKING:
    from collections.abc import Mapping


class ReferralStage(enum.StrEnum):
    """Where a suggested trial stands for a case. ``suggested`` is the start (no step yet);
    ``referred`` and ``screened`` are steps on the way; the last four are outcomes."""

    SUGGESTED = "suggested"
    REFERRED = "referred"  # referred to the trial team
    SCREENED = "screened"
    ENROLLED = "enrolled"
    SCREEN_FAILED = "screen_failed"
    DECLINED = "declined"  # declined by the family
    NOT_PURSUED = "not_pursued"


#: The stages that end the road of a referral.
OUTCOME_STAGES = frozenset(
    {
        ReferralStage.ENROLLED,
        ReferralStage.SCREEN_FAILED,
        ReferralStage.DECLINED,
        ReferralStage.NOT_PURSUED,
    }
)

STAGE_LABELS = {
    ReferralStage.SUGGESTED: "Suggested",
    ReferralStage.REFERRED: "Referred to the trial team",
    ReferralStage.SCREENED: "Screened",
    ReferralStage.ENROLLED: "Enrolled",
    ReferralStage.SCREEN_FAILED: "Screen-failed",
    ReferralStage.DECLINED: "Declined by the family",
    ReferralStage.NOT_PURSUED: "Not pursued",
}

#: Why screening failed (value -> label); "other" needs text.
SCREEN_FAIL_REASONS = {
    "eligibility_disease": "Disease did not meet the criteria (evaluability, sites, response)",
    "eligibility_prior_treatment": "Prior treatment excluded the child",
    "organ_function": "Organ function or blood counts",
    "performance_status": "Performance status",
    "age": "Age",
    "progression": "Progressed before enrolment",
    "slot_unavailable": "No slot or cohort available",
    "other": "Other (say why)",
}

#: Why a suggested trial was not pursued (value -> label); "other" needs text.
NOT_PURSUED_REASONS = {
    "trial_closed": "Trial closed or not recruiting at the site",
    "other_treatment": "Another treatment chosen",
    "clinical_change": "Child's condition changed",
    "travel": "Distance or travel",
    "family_choice": "Family preferred not to",
    "other": "Other (say why)",
}


#: The screening log's road: which steps may follow each stage. The outcomes have none (they
#: are final; a mistaken last step is withdrawn instead, see ``can_withdraw_last_step``).
NEXT_STEPS: dict[ReferralStage, tuple[ReferralStage, ...]] = {
    ReferralStage.SUGGESTED: (
        ReferralStage.REFERRED,
        ReferralStage.DECLINED,
        ReferralStage.NOT_PURSUED,
    ),
    ReferralStage.REFERRED: (
        ReferralStage.SCREENED,
        ReferralStage.DECLINED,
        ReferralStage.NOT_PURSUED,
    ),
    ReferralStage.SCREENED: (
        ReferralStage.ENROLLED,
        ReferralStage.SCREEN_FAILED,
        ReferralStage.DECLINED,
        ReferralStage.NOT_PURSUED,
    ),
    ReferralStage.ENROLLED: (),
    ReferralStage.SCREEN_FAILED: (),
    ReferralStage.DECLINED: (),
    ReferralStage.NOT_PURSUED: (),
}

#: The steps that need a reason from a short list (value -> label); "other" needs a note.
STEP_REASONS: dict[ReferralStage, dict[str, str]] = {
    ReferralStage.SCREEN_FAILED: SCREEN_FAIL_REASONS,
    ReferralStage.NOT_PURSUED: NOT_PURSUED_REASONS,
}

#: Every step that can be recorded (all stages but the start).
STEPS = tuple(s for s in ReferralStage if s is not ReferralStage.SUGGESTED)

#: The longest note on a step.
MAX_NOTE = 1000


def stage_label(value: str) -> str:
    """The label of a stage or step value ('' for none; an unknown value as it is)."""
    try:
        return STAGE_LABELS[ReferralStage(value)]
    except ValueError:
        return value


def reason_label(step: str, reason: str) -> str:
    """The label of a step's reason ('' for none)."""
    try:
        reasons = STEP_REASONS.get(ReferralStage(step), {})
    except ValueError:
        reasons = {}
    return reasons.get(reason, reason)


def parse_step(value: object) -> ReferralStage:
    """A step value sent by a form or the API as a :class:`ReferralStage` other than
    ``suggested``; :class:`Refused` (field ``step``) for anything else."""
    try:
        step = ReferralStage(str(value or "").strip())
    except ValueError:
        step = None
    if step is None or step is ReferralStage.SUGGESTED:
        raise Refused(f"Choose a step: one of {', '.join(s.value for s in STEPS)}.", "step")
    return step


class TrialReferral(db.Model):
    """One trial suggested to one case, and how far it got. ``stage`` is the last recorded
    step's stage (``suggested`` before any); ``trial_title`` is the title as suggested."""

    __tablename__ = "trial_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    trial_code: Mapped[str] = mapped_column(String(64))
    trial_title: Mapped[str] = mapped_column(String(300), default="")
    stage: Mapped[str] = mapped_column(String(24), default=ReferralStage.SUGGESTED.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    steps: Mapped[list[TrialReferralStep]] = relationship(
        back_populates="referral",
        order_by="(TrialReferralStep.occurred_on, TrialReferralStep.id)",
        cascade="all, delete-orphan",
        lazy="select",
    )

    __table_args__ = (
        UniqueConstraint("case_id", "trial_code"),
        Index("ix_trial_referrals_trial_code_stage", "trial_code", "stage"),
    )
    __mapper_args__ = {"version_id_col": version}

    # No backref: the case's rules never ask about referrals (cases does not import outcomes).
    case: Mapped[Case] = relationship(lazy="select")

    audit_type = "trial_referral"

    @property
    def audit_id(self) -> str:
        """Audit entries name the case (the trial code is in their details)."""
        return self.case.reference

    @property
    def audit_panel_id(self) -> int:
        return self.case.panel_id

    @property
    def is_finished(self) -> bool:
        return self.stage in OUTCOME_STAGES

    @property
    def stage_label(self) -> str:
        return stage_label(self.stage)

    @property
    def last_step(self) -> TrialReferralStep | None:
        return self.steps[-1] if self.steps else None

    # ------------------------------------------------------------------ the rules
    def allowed_next_steps(self) -> tuple[ReferralStage, ...]:
        """The steps that may follow the stage reached (none after an outcome)."""
        return allowed_after(self.stage)

    def check_next_step(
        self,
        step: ReferralStage,
        occurred_on: date,
        reason: str,
        note: str,
        *,
        approved_on: date,
        today: date,
    ) -> tuple[str, str]:
        """Refuse a next step that does not fit; return the (reason, note) to store.

        * the step must follow the stage reached (:data:`NEXT_STEPS`); after an outcome,
          :class:`Conflict` (withdraw the last step first);
        * the day is not in the future (``today``, UK), not before the record's approval day
          (``approved_on``, UK) and not before the previous step's day;
        * screen-failed and not pursued need a reason from their short list ("other" needs a
          note); the other steps take no reason;
        * the note is at most :data:`MAX_NOTE` characters (its identifiers are the operation's
          business: ``guard_texts``)."""
        return check_step(
            self.stage,
            step,
            occurred_on,
            reason,
            note,
            approved_on=approved_on,
            today=today,
            previous_on=self.last_step.occurred_on if self.last_step else None,
        )

    def can_withdraw_last_step(self, user: User) -> bool:
        """The person who recorded the last step, or a coordinator of the case's panel, may
        withdraw it (a mistake), while they may still record steps on the case."""
        last = self.last_step
        if last is None or not self.case.can_record_trial_referral(user):
            return False
        return last.recorded_by_id == user.id or self.case.is_coordinated_by(user)


def allowed_after(stage: str) -> tuple[ReferralStage, ...]:
    """The steps that may follow ``stage`` (a stage value; unknown: none)."""
    try:
        return NEXT_STEPS[ReferralStage(stage)]
    except ValueError:
        return ()


def check_step(
    stage: str,
    step: ReferralStage,
    occurred_on: date,
    reason: str,
    note: str,
    *,
    approved_on: date,
    today: date,
    previous_on: date | None = None,
) -> tuple[str, str]:
    """The rules of :meth:`TrialReferral.check_next_step`, for a referral at ``stage`` (also
    before its row exists: ``suggested``)."""
    allowed = allowed_after(stage)
    if step not in allowed:
        label = stage_label(stage).lower()
        if not allowed:
            raise Conflict(
                f"This trial's screening log has an outcome already ({label}). If the last "
                "step was a mistake, withdraw it first.",
                "step",
            )
        raise Refused(
            f"{stage_label(step)} cannot follow {label}; the next step can be "
            + " or ".join(stage_label(s).lower() for s in allowed)
            + ".",
            "step",
        )
    if not isinstance(occurred_on, date):
        raise Refused("Give the day it happened.", "on")
    if occurred_on > today:
        raise Refused("The day cannot be in the future.", "on")
    if occurred_on < approved_on:
        raise Refused(
            f"The day cannot be before the recommendation was approved ({approved_on:%-d %b %Y}).",
            "on",
        )
    if previous_on is not None and occurred_on < previous_on:
        raise Refused(
            f"The day cannot be before the previous step ({previous_on:%-d %b %Y}).", "on"
        )
    reason = (reason or "").strip()
    note = (note or "").strip()
    reasons: Mapping[str, str] = STEP_REASONS.get(step, {})
    if reasons:
        if reason not in reasons:
            raise Refused(
                f"Choose a reason for {stage_label(step).lower()} from the list.", "reason"
            )
        if reason == "other" and not note:
            raise Refused('Say why in the note (the reason is "other").', "note")
    elif reason:
        raise Refused(f"{stage_label(step)} takes no reason.", "reason")
    if len(note) > MAX_NOTE:
        raise Refused(f"The note can be at most {MAX_NOTE} characters.", "note")
    return reason, note


class TrialReferralStep(db.Model):
    """One step of the screening log: what happened (``step``, a :class:`ReferralStage` other
    than ``suggested``), on which day (``occurred_on``), why (``reason``, a key of
    ``SCREEN_FAIL_REASONS`` / ``NOT_PURSUED_REASONS``, plus ``note``), who recorded it and when."""

    __tablename__ = "trial_referral_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("trial_referrals.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(24))
    occurred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    referral: Mapped[TrialReferral] = relationship(back_populates="steps")
    recorded_by: Mapped[User | None] = relationship(lazy="select")

    @property
    def label(self) -> str:
        return stage_label(self.step)

    @property
    def reason_label(self) -> str:
        return reason_label(self.step, self.reason)


#: When the referrer is asked how the child is doing, in months after feedback was sent.
OUTCOME_CHECK_MONTHS = (3, 6, 12)

DISEASE_STATUSES = {
    "no_evidence_of_disease": "No evidence of disease",
    "stable": "Stable disease",
    "responding": "Responding to treatment",
    "progressing": "Progressing",
    "died": "Died",
    "lost_to_follow_up": "Not known (lost to follow-up)",
}

RESPONSES = {
    "CR": "Complete response",
    "PR": "Partial response",
    "MR": "Minor response",
    "SD": "Stable disease",
    "PD": "Progressive disease",
    "not_assessed": "Not assessed",
}

ADVICE_FOLLOWED = {"yes": "Yes", "partly": "Partly", "no": "No"}
#: The answers to "was the advice followed?" that need a reason ("why").
ADVICE_NEEDS_REASON = frozenset({"partly", "no"})


class OutcomeCheck(db.Model):
    """One follow-up reminder to the referrer, ``months`` after feedback was sent, and its
    answer. Rows are made when feedback is sent (``due_at``); the reminder job sets
    ``reminded_at`` once; answering sets the form's fields and ``answered_at``/``answered_by``."""

    __tablename__ = "outcome_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    months: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disease_status: Mapped[str] = mapped_column(String(32), default="")
    response: Mapped[str] = mapped_column(String(16), default="")
    advice_followed: Mapped[str] = mapped_column(String(8), default="")
    advice_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    answered_by: Mapped[User | None] = relationship(lazy="select")
    case: Mapped[Case] = relationship(lazy="select")

    __table_args__ = (UniqueConstraint("case_id", "months"),)
    __mapper_args__ = {"version_id_col": version}

    audit_type = "outcome_check"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def label(self) -> str:
        """ "3-month check" (what people read; no clinical content)."""
        return f"{self.months}-month check"

    def is_due(self, now: datetime | None = None) -> bool:
        """A check may be answered from its due date, or from its reminder if that came first
        (a reminder sent early by hand, or the date moved)."""
        now = now or utcnow()
        return self.reminded_at is not None or self.due_at <= now

    def refusal(self, user: User, now: datetime | None = None) -> Refused | None:
        """Why ``user`` may not answer (or correct) this check now, or None. The people are the
        case's (:meth:`Case.can_answer_outcome_check`: its referrers and its panel's
        coordinators, once the feedback was sent); the moment is the check's own: due, or
        reminded. An answered check may be corrected by the same people."""
        if not self.case.can_answer_outcome_check(user):
            return NotAllowed(
                "Only the case's referrers, or a coordinator of its panel on their behalf, "
                "record the follow-up outcome."
            )
        if not self.is_answered and not self.is_due(now):
            return Conflict(
                f"The {self.label} is not due yet: it can be answered from {uk_date(self.due_at)}."
            )
        return None

    def can_answer(self, user: User, now: datetime | None = None) -> bool:
        """May ``user`` answer (or correct) this check now? (:meth:`refusal` is None)."""
        return self.refusal(user, now) is None

    @property
    def disease_status_label(self) -> str:
        return DISEASE_STATUSES.get(self.disease_status, self.disease_status)

    @property
    def response_label(self) -> str:
        return RESPONSES.get(self.response, self.response)

    @property
    def advice_followed_label(self) -> str:
        return ADVICE_FOLLOWED.get(self.advice_followed, self.advice_followed)

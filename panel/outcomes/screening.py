"""The screening log as people read it: one row per trial suggested in the case's approved
record (and per trial that has a log but was taken out of the record by an amendment), with
its stage, its steps and what the reader may do next.

One query loads every referral of the case with its steps and who recorded them, so the case
page, its form and the API cost the same however many trials and steps there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from panel.cases.models import Case
from panel.core.db import db
from panel.core.uktime import to_uk
from panel.feedback.models import trial_rows
from panel.outcomes.models import (
    ReferralStage,
    TrialReferral,
    TrialReferralStep,
    allowed_after,
    stage_label,
)


def approved_record(case: Case) -> Any | None:
    """The case's record if the chair has approved it (else None)."""
    rec = getattr(case, "recommendation", None)
    return rec if rec is not None and rec.is_approved else None


def suggested_trials(case: Case) -> dict[str, str]:
    """``{code: title}`` of the trials suggested in the case's approved record, in its order
    (empty before approval). A pending amendment does not count until a chair approves it."""
    rec = approved_record(case)
    return dict(trial_rows(rec.trials)) if rec is not None else {}


def approval_day(case: Case) -> date | None:
    """The UK day the record was approved: no step of the log can be dated before it."""
    rec = approved_record(case)
    if rec is None or rec.approved_at is None:
        return None
    return to_uk(rec.approved_at).date()


def referrals_of(case: Case) -> dict[str, TrialReferral]:
    """The case's referrals by trial code, with their steps and who recorded them (two
    queries, whatever their number)."""
    rows = db.session.scalars(
        select(TrialReferral)
        .where(TrialReferral.case_id == case.id)
        .options(selectinload(TrialReferral.steps).joinedload(TrialReferralStep.recorded_by))
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        # The rules ask the case: give each row the one already loaded (no query, no change).
        set_committed_value(row, "case", case)
    return {r.trial_code: r for r in rows}


@dataclass
class LogRow:
    """One trial of the screening log, for a reader."""

    code: str
    title: str
    suggested: bool  # still in the approved record
    referral: TrialReferral | None
    can_record: bool = False
    can_withdraw: bool = False
    allowed: tuple[ReferralStage, ...] = field(default_factory=tuple)

    @property
    def stage(self) -> str:
        return self.referral.stage if self.referral is not None else ReferralStage.SUGGESTED.value

    @property
    def stage_label(self) -> str:
        return stage_label(self.stage)

    @property
    def steps(self) -> list[TrialReferralStep]:
        return list(self.referral.steps) if self.referral is not None else []

    @property
    def version(self) -> int:
        """The referral's version (0 before its first step), for the optimistic check."""
        return self.referral.version if self.referral is not None else 0

    @property
    def is_finished(self) -> bool:
        return self.referral is not None and self.referral.is_finished


def screening_log(case: Case, user: Any) -> list[LogRow]:
    """The rows ``user`` reads (empty when they may not read the log): the approved record's
    trials first, in its order, then trials with a log that the record no longer suggests."""
    if not case.can_view_trial_referrals(user):
        return []
    suggested = suggested_trials(case)
    referrals = referrals_of(case)
    may_record = case.can_record_trial_referral(user)
    rows = []
    for code, title in suggested.items():
        referral = referrals.get(code)
        allowed = allowed_after(referral.stage if referral else ReferralStage.SUGGESTED)
        rows.append(
            LogRow(
                code=code,
                title=title,
                suggested=True,
                referral=referral,
                can_record=may_record and bool(allowed),
                can_withdraw=referral is not None and referral.can_withdraw_last_step(user),
                allowed=allowed if may_record else (),
            )
        )
    for code, referral in referrals.items():
        if code not in suggested:
            rows.append(
                LogRow(
                    code=code,
                    title=referral.trial_title or code,
                    suggested=False,
                    referral=referral,
                    can_withdraw=referral.can_withdraw_last_step(user),
                )
            )
    return rows

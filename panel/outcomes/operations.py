"""The screening log's changes: recording a step for a suggested trial, and withdrawing a
mistaken last step.

Each function asks the case's rules (``Case.can_record_trial_referral``) and the referral's
(``TrialReferral.check_next_step``, ``can_withdraw_last_step``), guards the note against
patient identifiers, changes rows, flushes, writes an audit entry and a timeline entry, and
tells the other side (the panel's coordinators when a referrer acts, the referrers when a
coordinator does). None commits (the view does).

Audit entries and notifications carry no free text: the trial code, the step, its day and the
reason's key (never the note).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from panel.accounts.models import PanelRoleKind, User
from panel.accounts.queries import panel_people
from panel.cases.models import Case
from panel.cases.timeline import EVERYONE, PANEL_ONLY, record_event
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.uktime import uk_date, uk_today
from panel.core.web import path_for
from panel.outcomes.models import (
    ReferralStage,
    TrialReferral,
    TrialReferralStep,
    check_step,
    parse_step,
    reason_label,
    stage_label,
)
from panel.outcomes.screening import approval_day, suggested_trials
from panel.privacy.guard import guard_texts

__all__ = ["record_step", "withdraw_last_step", "Refused", "NotAllowed", "Conflict"]

#: Where the case page shows the log (the link of every notification).
ANCHOR = "screening-log"

STALE = (
    "Someone else changed this trial's screening log while you were looking at it. Reload the "
    "page to see it; nothing was saved."
)


# --------------------------------------------------------------------------- checks
def _check_may_record(case: Case, by: User) -> None:
    """``NotAllowed`` for someone who never records on this case; ``Conflict`` for the right
    people at the wrong moment."""
    if case.can_record_trial_referral(by):
        return
    coordinator, referrer = case.is_coordinated_by(by), case.is_referrer(by)
    if not (coordinator or referrer):
        raise NotAllowed(
            "Only the panel's coordinators and the case's referrers record the screening log."
        )
    if case.status.value == "withdrawn":
        raise Conflict("The case was withdrawn: its screening log can no longer change.")
    if not _record_is_approved(case):
        raise Conflict("The screening log starts once the chair has approved the recommendation.")
    raise Conflict("The referrers record the screening log once the letters have been sent.")


def _record_is_approved(case: Case) -> bool:
    rec = getattr(case, "recommendation", None)
    return rec is not None and rec.is_approved


def _trial(case: Case, trial_code: Any) -> tuple[str, str]:
    """(code, title) of a trial of the approved record; ``Refused`` (field ``trial``) else."""
    code = str(trial_code or "").strip()
    suggested = suggested_trials(case)
    if code not in suggested:
        raise Refused("This trial is not suggested in the approved recommendation.", "trial")
    return code, suggested[code]


def _referral(case: Case, code: str) -> TrialReferral | None:
    referral = db.session.scalar(
        select(TrialReferral)
        .where(TrialReferral.case_id == case.id, TrialReferral.trial_code == code)
        .options(selectinload(TrialReferral.steps))
        .execution_options(populate_existing=True)
    )
    if referral is not None:
        set_committed_value(referral, "case", case)
    return referral


def _check_version(referral: TrialReferral | None, expected_version: int | None) -> None:
    """The version the person saw (0: no step yet) must still be the referral's."""
    if expected_version is None:
        return
    current = referral.version if referral is not None else 0
    if int(expected_version) != current:
        raise Conflict(STALE)


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(STALE) from None


# --------------------------------------------------------------------------- effects
def _step_text(code: str, step: str, on: date, reason: str) -> str:
    why = reason_label(step, reason)
    return f"{code}: {stage_label(step)}{f' ({why})' if why else ''}, {uk_date(on)}"


def _tell_the_other_side(case: Case, by: User, kind: str) -> None:
    """A referrer acted: the panel's coordinators are told. A coordinator acted: the
    referrers, once they can read the log (after the letters). No clinical text: the
    reference and a link to the log."""
    if case.is_coordinated_by(by):
        if case.feedback_sent_at is None:
            return
        people = case_referrers(case)
    else:
        people = panel_people(case.panel_id, PanelRoleKind.COORDINATOR)
    notify(
        people,
        panel_id=case.panel_id,
        kind=kind,
        text=f"Screening log of {case.reference} updated",
        link=path_for("cases.show", ref=case.reference, _anchor=ANCHOR),
        exclude=by,
        case_ref=case.reference,
    )


def _audience(case: Case) -> tuple[str, ...]:
    """Everyone on the case once the letters are sent; before, the referrers do not read the
    log yet, so the panel only."""
    return EVERYONE if case.feedback_sent_at is not None else PANEL_ONLY


# --------------------------------------------------------------------------- operations
def record_step(
    case: Case,
    trial_code: str,
    step: str | ReferralStage,
    occurred_on: date | None,
    reason: str = "",
    note: str = "",
    *,
    by: User,
    expected_version: int | None = None,
) -> TrialReferral:
    """Record that ``step`` happened on ``occurred_on`` for a trial of the case's approved
    record (the referral row is made at its first step). ``expected_version`` is the
    referral's version the person saw (0 before any step); a change since is a
    :class:`Conflict`, as is a concurrent first step."""
    _check_may_record(case, by)
    code, title = _trial(case, trial_code)
    step = parse_step(step)
    referral = _referral(case, code)
    _check_version(referral, expected_version)
    if not isinstance(occurred_on, date):
        raise Refused("Give the day it happened.", "on")
    approved_on = approval_day(case) or occurred_on
    stage = referral.stage if referral is not None else ReferralStage.SUGGESTED.value
    if referral is not None:
        reason, note = referral.check_next_step(
            step, occurred_on, reason, note, approved_on=approved_on, today=uk_today()
        )
    else:
        reason, note = check_step(
            stage, step, occurred_on, reason, note, approved_on=approved_on, today=uk_today()
        )
    if note:
        guard_texts([("note", note)])

    now = utcnow()
    row = TrialReferralStep(
        step=step.value,
        occurred_on=occurred_on,
        reason=reason,
        note=note,
        recorded_by_id=by.id,
        recorded_at=now,
    )
    if referral is None:
        # The row is made at the first step; two first steps at once: one wins, one Conflict.
        referral = TrialReferral(
            case_id=case.id,
            trial_code=code,
            trial_title=title,
            stage=step.value,
            created_at=now,
            updated_at=now,
            steps=[row],
        )
        set_committed_value(referral, "case", case)
        try:
            with db.session.begin_nested():
                db.session.add(referral)
                db.session.flush()
        except IntegrityError:
            raise Conflict(STALE) from None
    else:
        referral.steps.append(row)
        referral.stage = step.value
        referral.updated_at = now
        _flush()
    details = {
        "trial": code,
        "step": step.value,
        "on": occurred_on.isoformat(),
        "reason": reason or None,
        "note": bool(note),
        "stage": [stage, step.value],
    }
    audit.record("trial_referral.step_recorded", obj=referral, actor=by, details=details)
    record_event(
        case,
        "trial_referral_step",
        by=by,
        text=_step_text(code, step.value, occurred_on, reason),
        audience=_audience(case),
        details={k: details[k] for k in ("trial", "step", "on", "reason")},
    )
    _tell_the_other_side(case, by, "trial_referral.step_recorded")
    return referral


def withdraw_last_step(
    case: Case, trial_code: str, *, by: User, expected_version: int | None = None
) -> TrialReferral:
    """Take back the last step of a trial's log (a mistake): by the person who recorded it or
    a coordinator of the panel. The referral goes back to the stage before it (``suggested``
    when it was the only step; the row stays). Audited, with the step withdrawn."""
    _check_may_record(case, by)
    code = str(trial_code or "").strip()
    referral = _referral(case, code) if code else None
    if referral is None or referral.last_step is None:
        raise Refused("No step of this trial's screening log can be withdrawn.", "trial")
    if not referral.can_withdraw_last_step(by):
        raise NotAllowed(
            "Only the person who recorded the last step, or a coordinator of the panel, can "
            "withdraw it."
        )
    _check_version(referral, expected_version)
    last = referral.last_step
    before = referral.stage
    referral.steps.remove(last)
    referral.stage = referral.steps[-1].step if referral.steps else ReferralStage.SUGGESTED.value
    referral.updated_at = utcnow()
    _flush()
    details = {
        "trial": code,
        "step": last.step,
        "on": last.occurred_on.isoformat(),
        "reason": last.reason or None,
        "recorded_by": last.recorded_by_id,
        "stage": [before, referral.stage],
    }
    audit.record("trial_referral.step_withdrawn", obj=referral, actor=by, details=details)
    record_event(
        case,
        "trial_referral_step_withdrawn",
        by=by,
        text=f"{code}: {stage_label(last.step)} of {uk_date(last.occurred_on)} withdrawn",
        audience=_audience(case),
        details={k: details[k] for k in ("trial", "step", "on")},
    )
    _tell_the_other_side(case, by, "trial_referral.step_withdrawn")
    return referral

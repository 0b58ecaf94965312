"""Follow-up outcome checks: 3, 6 and 12 months after the feedback was sent, the referrers are
asked a short outcome form (current status, response, was the advice followed and why).

* :func:`schedule_checks` makes the three rows when feedback is sent (subscribed to
  :data:`panel.core.signals.feedback_was_sent` in ``outcomes.init_app``, so it runs in the
  sending's own transaction); :func:`backfill_checks` makes them for cases sent before.
* :func:`send_reminders` (``flask --app panel send-outcome-reminders``) tells the referrers of
  each due, unanswered, not yet reminded check, once: the row is claimed by a conditional UPDATE
  on ``reminded_at IS NULL``, so two runs at the same time never both send.
* :func:`answer_check` records (or corrects) the answers, by a referrer or by a coordinator of
  the panel on their behalf. Who and when: :meth:`OutcomeCheck.refusal` and
  :meth:`Case.can_answer_outcome_check`.

Operations flush and never commit (the reminder command commits per check). No bell or e-mail
carries clinical content: they name the case reference and which check.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from panel.accounts.models import PanelRoleKind, User
from panel.accounts.queries import panel_people
from panel.cases.models import Case, CaseReferrer, CaseStatus
from panel.cases.timeline import REFERRER_AND_COORDINATOR, record_event
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, Refused
from panel.core.notify import case_referrers, notify
from panel.core.web import path_for
from panel.outcomes.models import (
    ADVICE_FOLLOWED,
    ADVICE_NEEDS_REASON,
    DISEASE_STATUSES,
    OUTCOME_CHECK_MONTHS,
    RESPONSES,
    OutcomeCheck,
)
from panel.privacy.guard import guard_texts

#: The case states in which checks are asked (after sending; a closed case is still followed up).
FOLLOWED_UP_STATES = (CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED)
#: The longest "why" (a few sentences).
MAX_NOTE = 2000
#: The answer fields, in the form's order.
ANSWER_FIELDS = ("disease_status", "response", "advice_followed", "advice_note")


# --------------------------------------------------------------------------- dates
def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months, same time of day; a day the target month
    lacks becomes its last day (31 Aug + 6 months = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --------------------------------------------------------------------------- scheduling
def schedule_checks(
    case: Case, *, sent_at: datetime | None = None, by: User | None = None
) -> list[OutcomeCheck]:
    """Make the case's missing checks (3, 6 and 12 months after ``sent_at``, by default the
    case's ``feedback_sent_at``); idempotent: months that have a row are left alone. Returns
    the rows made (flushed)."""
    sent_at = sent_at or case.feedback_sent_at
    if sent_at is None:
        return []
    have = set(
        db.session.scalars(select(OutcomeCheck.months).where(OutcomeCheck.case_id == case.id))
    )
    made = [
        OutcomeCheck(case_id=case.id, months=m, due_at=add_months(sent_at, m))
        for m in OUTCOME_CHECK_MONTHS
        if m not in have
    ]
    if not made:
        return []
    db.session.add_all(made)
    db.session.flush()
    audit.record(
        "outcome_checks.scheduled",
        obj=case,
        actor=by,
        actor_label=None if by is not None else "system",
        details={"months": [c.months for c in made], "due": [c.due_at.isoformat() for c in made]},
    )
    return made


def on_feedback_sent(
    _app: Any, *, case: Case, by: User | None = None, sent_at=None, **_: Any
) -> None:
    """The receiver of :data:`panel.core.signals.feedback_was_sent` (connected per app)."""
    schedule_checks(case, sent_at=sent_at, by=by)


def backfill_checks() -> list[str]:
    """Make the checks of every case sent before checks existed (sent or closed, no rows).
    Returns their references."""
    missing = db.session.scalars(
        select(Case)
        .where(
            Case.feedback_sent_at.is_not(None),
            Case.status.in_(FOLLOWED_UP_STATES),
            ~select(OutcomeCheck.id).where(OutcomeCheck.case_id == Case.id).exists(),
        )
        .order_by(Case.id)
    ).all()
    for case in missing:
        schedule_checks(case)
    return [c.reference for c in missing]


# --------------------------------------------------------------------------- reading
def checks_for(case: Case) -> list[OutcomeCheck]:
    """The case's checks, 3 months first (one query, who answered joined)."""
    return list(
        db.session.scalars(
            select(OutcomeCheck)
            .where(OutcomeCheck.case_id == case.id)
            # Who answered is shown by name: their roles are not needed (no extra query).
            .options(joinedload(OutcomeCheck.answered_by).lazyload(User.panel_roles))
            .order_by(OutcomeCheck.months)
        ).unique()
    )


def check_of(case: Case, months: int) -> OutcomeCheck | None:
    """The case's check at ``months``, or None."""
    check = db.session.scalar(
        select(OutcomeCheck).where(OutcomeCheck.case_id == case.id, OutcomeCheck.months == months)
    )
    if check is not None:
        set_committed_value(check, "case", case)  # already loaded: the rules read it
    return check


def _due(now: datetime):
    return or_(OutcomeCheck.due_at <= now, OutcomeCheck.reminded_at.is_not(None))


def due_for(user: User, *, now: datetime | None = None, limit: int = 50) -> list[OutcomeCheck]:
    """The unanswered, due checks of the cases ``user`` referred (created or co-referred),
    oldest due first: the home page's "Outcome forms due". One query."""
    if not getattr(user, "is_referrer", False):
        return []
    now = now or utcnow()
    co_referred = select(CaseReferrer.case_id).where(CaseReferrer.user_id == user.id)
    return list(
        db.session.scalars(
            select(OutcomeCheck)
            .join(OutcomeCheck.case)
            .where(
                or_(Case.created_by_id == user.id, Case.id.in_(co_referred)),
                Case.status.in_(FOLLOWED_UP_STATES),
                OutcomeCheck.answered_at.is_(None),
                _due(now),
            )
            .options(contains_eager(OutcomeCheck.case))
            .order_by(OutcomeCheck.due_at, OutcomeCheck.id)
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- reminders
@dataclass
class ReminderRun:
    """What one run of the reminder command did."""

    scheduled: list[str] = field(default_factory=list)  # cases whose checks were backfilled
    reminded: list[tuple[str, int]] = field(default_factory=list)  # (reference, months)
    skipped: int = 0  # claimed by another run in the meantime
    people: int = 0  # bell items made

    def summary(self) -> str:
        done = ", ".join(f"{ref} ({m} months)" for ref, m in self.reminded)
        lines = [
            f"{len(self.reminded)} outcome reminder(s) sent to {self.people} person(s)"
            + (f": {done}" if done else ".")
        ]
        if self.scheduled:
            lines.append(
                f"Checks made for {len(self.scheduled)} case(s) sent before: "
                + ", ".join(self.scheduled)
            )
        if self.skipped:
            lines.append(f"{self.skipped} already reminded by another run.")
        return "\n".join(lines)


def reminders_due(now: datetime) -> list[int]:
    """The ids of the checks to remind now: due, unanswered, not yet reminded, of a case that
    was sent and not withdrawn."""
    return list(
        db.session.scalars(
            select(OutcomeCheck.id)
            .join(OutcomeCheck.case)
            .where(
                OutcomeCheck.due_at <= now,
                OutcomeCheck.answered_at.is_(None),
                OutcomeCheck.reminded_at.is_(None),
                Case.status.in_(FOLLOWED_UP_STATES),
                Case.feedback_sent_at.is_not(None),
            )
            .order_by(OutcomeCheck.due_at, OutcomeCheck.id)
        )
    )


def remind(check_id: int, *, now: datetime) -> int | None:
    """Claim one check and tell its case's referrers (bell + e-mail, no clinical content, a
    link to the form); audit and timeline. Returns how many people were told, or None when
    another run claimed it first (or it was answered meanwhile). Flushes, never commits."""
    claimed = db.session.execute(
        update(OutcomeCheck)
        .where(
            OutcomeCheck.id == check_id,
            OutcomeCheck.reminded_at.is_(None),
            OutcomeCheck.answered_at.is_(None),
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    check = db.session.get(OutcomeCheck, check_id)
    db.session.refresh(check)
    case = check.case
    told = notify(
        case_referrers(case),
        panel_id=case.panel_id,
        kind="outcome_check.due",
        text=f"The {check.label} for case {case.reference} is due: please complete the short "
        "follow-up form in Panel.",
        link=path_for("outcomes.answer_check", ref=case.reference, months=check.months),
        case_ref=case.reference,
    )
    audit.record(
        "outcome_check.reminded",
        obj=case,
        actor_label="system",
        details={"months": check.months, "told": len(told)},
    )
    record_event(
        case,
        "outcome_check_reminded",
        by=None,
        text=f"The referrers were reminded of the {check.label}.",
        audience=REFERRER_AND_COORDINATOR,
        details={"months": check.months},
    )
    return len(told)


def send_reminders(now: datetime | None = None, *, commit: bool = True) -> ReminderRun:
    """The reminder command's work: backfill the checks of cases sent before, then remind every
    due check once. With ``commit`` each check is committed on its own (a failure later leaves
    the earlier reminders sent and recorded)."""
    now = now or utcnow()
    run = ReminderRun()
    run.scheduled = backfill_checks()
    if commit:
        db.session.commit()
    for check_id in reminders_due(now):
        told = remind(check_id, now=now)
        if told is None:
            run.skipped += 1
        else:
            check = db.session.get(OutcomeCheck, check_id)
            run.reminded.append((check.case.reference, check.months))
            run.people += told
        if commit:
            db.session.commit()
    return run


# --------------------------------------------------------------------------- answering
def _clean(data: dict[str, Any]) -> dict[str, str]:
    """The answers, checked against the value sets (field errors as :class:`Refused`)."""
    values = {
        k: (data.get(k) or "").strip() if isinstance(data.get(k), str) else data.get(k)
        for k in ANSWER_FIELDS
    }
    for name, allowed in (
        ("disease_status", DISEASE_STATUSES),
        ("response", RESPONSES),
        ("advice_followed", ADVICE_FOLLOWED),
    ):
        if not isinstance(values[name], str) or values[name] not in allowed:
            raise Refused(f"{name}: choose one of {', '.join(allowed)}.", name)
    note = values["advice_note"] or ""
    if not isinstance(note, str):
        raise Refused("advice_note: write the reason as text.", "advice_note")
    if values["advice_followed"] in ADVICE_NEEDS_REASON and not note:
        raise Refused(
            "advice_note: say why the advice was "
            + ("only partly" if values["advice_followed"] == "partly" else "not")
            + " followed.",
            "advice_note",
        )
    if len(note) > MAX_NOTE:
        raise Refused(f"advice_note: at most {MAX_NOTE} characters.", "advice_note")
    values["advice_note"] = note
    return values


def answer_check(
    check: OutcomeCheck,
    data: dict[str, Any],
    *,
    by: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> OutcomeCheck:
    """Record the outcome form's answers (or correct them): by the case's referrers, or by a
    coordinator of its panel on their behalf (audited as the coordinator), once the check is
    due. ``expected_version`` is the version the form was read at: a check answered or
    corrected by someone else since is a :class:`Conflict`. The reason goes through the
    identifier guard. Audited (clinical), on the timeline; the panel's coordinators are told
    (bell only, no clinical content)."""
    now = now or utcnow()
    problem = check.refusal(by, now)
    if problem is not None:
        raise problem
    if expected_version is not None and int(expected_version) != check.version:
        raise Conflict(
            f"Someone else saved the {check.label} while you were filling it in. Reload to see "
            "their answers; yours were not saved."
        )
    values = _clean(data)
    guard_texts([("advice_note", values["advice_note"])])
    case = check.case
    correcting = check.is_answered
    before = {k: getattr(check, k) for k in ANSWER_FIELDS}
    for k, v in values.items():
        setattr(check, k, v)
    if not correcting:
        check.answered_at = now
    check.answered_by_id = by.id
    db.session.flush()  # the version column guards against a concurrent save (StaleDataError)
    on_behalf = not case.is_referrer(by)
    audit.record(
        "outcome_check.corrected" if correcting else "outcome_check.answered",
        obj=case,
        actor=by,
        details={
            "months": check.months,
            "version": check.version,
            "on_behalf_of_referrer": on_behalf,
            "changes": audit.diff(before, values),
        },
        clinical=True,
    )
    record_event(
        case,
        "outcome_check_corrected" if correcting else "outcome_check_answered",
        by=by,
        text=(
            f"{check.label.capitalize()}: {check.disease_status_label}; response "
            f"{check.response_label.lower()}; advice followed: {check.advice_followed_label.lower()}"
            + (f" ({check.advice_note})" if check.advice_note else "")
            + "."
        ),
        details={"months": check.months, "on_behalf": on_behalf},
    )
    notify(
        panel_people(case.panel_id, PanelRoleKind.COORDINATOR),
        panel_id=case.panel_id,
        kind="outcome_check.answered",
        text=f"The {check.label} for case {case.reference} was "
        + ("corrected." if correcting else "answered."),
        link=path_for("cases.show", ref=case.reference, _anchor="outcome-checks"),
        exclude=by,
        email=False,
        case_ref=case.reference,
    )
    return check

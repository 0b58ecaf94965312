"""Helpers for the follow-up outcome check tests (tests/outcomes/test_outcome_checks*.py):
cases whose feedback was sent, really (through the operations) or quickly (the status and
stamp set directly, then the checks scheduled as sending would)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.data import answers_for, discussed_at_meeting, full_record_data


def approved_record(db_session, case, coordinator, chair):
    """``case`` (submitted) discussed, its record written by ``coordinator`` with no trial
    and approved by ``chair``: ready to send. Returns the recommendation."""
    from panel.feedback import operations

    discussed_at_meeting(db_session, case)
    rec = operations.start_recommendation(case, by=coordinator)
    data = full_record_data(
        categories=["further_investigations"], trials=[], answers=answers_for(case)
    )
    operations.save_record(rec, data, by=coordinator, expected_version=rec.version)
    operations.approve(rec, by=chair, expected_version=rec.version)
    db_session.commit()
    return rec


def mark_sent(db_session, case, *, sent_at: datetime | None = None, schedule: bool = True):
    """Mark ``case`` (submitted) as sent ``sent_at`` (default: 100 days ago, so its 3-month
    check is due and the others are not) and, unless ``schedule`` is false, make its checks as
    sending does. Nobody is told. Returns the case."""
    from panel.cases.models import CaseStatus
    from panel.core.db import utcnow
    from panel.outcomes.checks import schedule_checks

    case.status = CaseStatus.FEEDBACK_SENT
    case.feedback_sent_at = sent_at or utcnow() - timedelta(days=100)
    db_session.flush()
    if schedule:
        schedule_checks(case)
    db_session.commit()
    return case


def checks_of(db_session, case) -> dict[int, object]:
    """The case's checks by months, fresh from the database."""
    from sqlalchemy import select

    from panel.outcomes.models import OutcomeCheck

    db_session.expire_all()
    rows = db_session.scalars(select(OutcomeCheck).where(OutcomeCheck.case_id == case.id))
    return {c.months: c for c in rows}


def answers(**overrides) -> dict[str, str]:
    """A complete, valid answer to the outcome form."""
    return {
        "disease_status": "responding",
        "response": "PR",
        "advice_followed": "partly",
        "advice_note": "Started the advised treatment but the trial slot was not available.",
        **overrides,
    }

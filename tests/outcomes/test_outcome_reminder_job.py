"""``outcomes.remind``: the follow-up reminders as an hourly job (panel/outcomes/jobs.py), eager
on both backends: it reminds a due check once, however often it runs, and its result is counts
only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.core import jobs
from panel.core.db import utcnow
from panel.core.models import Job, OutboxMail
from panel.outcomes.jobs import REMIND
from tests.support.outcome_checks import checks_of, mark_sent


@pytest.fixture
def sent(people, make_case, db_session):
    case = make_case(people["referrer"], submit=True)
    return mark_sent(db_session, case)


def _run(db_session, key: str) -> Job:
    job = jobs.enqueue(REMIND, key)
    db_session.commit()
    db_session.refresh(job)
    return job


def test_the_hourly_reminder_job_reminds_a_due_check_once(app, people, sent, db_session):
    assert jobs.schedule()[REMIND] == timedelta(hours=1)
    job = _run(db_session, "outcomes.remind@1")
    assert job.state == "done", job.last_error
    assert job.result == {"reminded": 1, "people": 1, "backfilled": 0, "skipped": 0}
    assert sent.reference not in str(job.result)
    assert checks_of(db_session, sent)[3].reminded_at is not None
    mails = db_session.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == people["referrer"].email)
    ).all()
    assert len(mails) == 1

    # The next hour's job (or the same one delivered twice) reminds nobody again.
    again = _run(db_session, "outcomes.remind@2")
    assert again.result["reminded"] == 0
    assert jobs.run(job.id) == "skipped"
    assert (
        len(
            db_session.scalars(
                select(OutboxMail).where(OutboxMail.to_addr == people["referrer"].email)
            ).all()
        )
        == 1
    )


def test_two_workers_asking_in_the_same_hour_make_one_job(app, db_session):
    now = utcnow().replace(minute=5)
    first = {j.kind: j.id for j in jobs.enqueue_due(now)}
    second = {j.kind: j.id for j in jobs.enqueue_due(now + timedelta(minutes=30))}
    assert first[REMIND] == second[REMIND]

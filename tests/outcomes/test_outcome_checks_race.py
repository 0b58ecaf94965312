"""Two reminder runs at once (two cron hosts, or a slow run overlapping the next): through real
threads, real connections and real commits on a fresh database, does each due check's
referrer get exactly one reminder?"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.db import database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD, example

RUNS = 4


@pytest.fixture
def race_app(backend, tmp_path):
    """A new, migrated database for this test alone."""
    app = make_app(database_url(backend, tmp_path, "panel_test_race_outcome"), tmp_path / "st")
    migrate_and_seed(app)
    yield app
    from panel.core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_parallel_reminder_runs_send_each_reminder_once(race_app, backend):
    app = race_app
    from panel.accounts import operations as account_ops
    from panel.accounts.models import Centre
    from panel.cases import operations as case_ops
    from panel.cases.models import CaseStatus
    from panel.core.db import db, utcnow
    from panel.core.models import AuditEntry, OutboxMail
    from panel.outcomes import checks

    with app.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
        referrer = account_ops.create_user(
            email="race.outcome@nhs.example.org",
            name="Dr Race",
            centre_id=centre.id,
            is_referrer=True,
            password=TEST_PASSWORD,
        )
        refs = []
        for _ in range(3):
            case = case_ops.create_case(example(), by=referrer).case
            case_ops.submit_case(case, by=referrer)
            case.status = CaseStatus.FEEDBACK_SENT
            case.feedback_sent_at = utcnow() - timedelta(days=200)  # 3 and 6 months due
            db.session.flush()
            checks.schedule_checks(case)
            refs.append(case.reference)
        db.session.execute(OutboxMail.__table__.delete())
        db.session.commit()
        email = referrer.email

    # On PostgreSQL every run reads the due checks before any claims one (the real race);
    # SQLite's writers queue on the database lock, so there the runs follow one another.
    all_read = threading.Barrier(RUNS, timeout=30) if backend == "postgresql" else None
    start = threading.Barrier(RUNS, timeout=30)
    results: list = [None] * RUNS
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with app.app_context():
                start.wait()
                now = utcnow()
                due = checks.reminders_due(now)
                if all_read is not None:
                    db.session.commit()  # hold no transaction while the others read
                    all_read.wait()
                claimed = 0
                for check_id in due:
                    if checks.remind(check_id, now=now) is not None:
                        claimed += 1
                    db.session.commit()
                results[i] = (len(due), claimed)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            start.abort()
            if all_read is not None:
                all_read.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(claimed for _, claimed in results) == 6  # 3 cases x (3 and 6 months)
    if backend == "postgresql":
        assert all(seen == 6 for seen, _ in results)  # every run saw them all due
    with app.app_context():
        mails = db.session.scalar(
            select(func.count()).select_from(OutboxMail).where(OutboxMail.to_addr == email)
        )
        entries = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "outcome_check.reminded")
        )
        assert (mails, entries) == (6, 6)
        from panel.core.audit import verify_chain

        assert verify_chain()[1] is None

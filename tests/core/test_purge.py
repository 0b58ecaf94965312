"""``core.purge`` (panel/core/purge.py): temporary files, family sessions and sign-in links
nothing needs any more, daily; audited with counts only; a second run removes nothing.
Eager, on both backends."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import func, select

from panel.core import jobs
from panel.core.db import utcnow
from panel.core.models import AuditEntry, Job
from panel.core.purge import PURGE, purge
from panel.core.storage import get_storage


def _count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def _family_sessions(db_session, case, coordinator):
    from panel.feedback.models import FamilyAccessCode, FamilySession

    now = utcnow()
    code = FamilyAccessCode(
        case_id=case.id,
        code_hash=os.urandom(16).hex(),
        hint="ABCD",
        created_by_id=coordinator.id,
        expires_at=now + timedelta(days=30),
    )
    db_session.add(code)
    db_session.flush()
    rows = {
        "expired_long_ago": FamilySession(
            token_hash=os.urandom(16).hex(),
            code_id=code.id,
            created_at=now - timedelta(days=5),
            expires_at=now - timedelta(days=5) + timedelta(hours=2),
        ),
        "ended_long_ago": FamilySession(
            token_hash=os.urandom(16).hex(),
            code_id=code.id,
            created_at=now - timedelta(days=3),
            expires_at=now - timedelta(days=3) + timedelta(hours=2),
            ended_at=now - timedelta(days=3),
        ),
        # The code's newest session stays (the family page says when the last visit began).
        "newest_expired": FamilySession(
            token_hash=os.urandom(16).hex(),
            code_id=code.id,
            created_at=now - timedelta(days=2),
            expires_at=now - timedelta(days=2) + timedelta(hours=2),
        ),
    }
    for row in rows.values():
        db_session.add(row)
        db_session.flush()
    return rows


def test_the_purge_job_removes_what_is_expired_and_keeps_the_rest(
    app, db_session, people, make_case, make_user
):
    from panel.accounts.models import ApiToken, PasswordResetToken
    from panel.feedback.models import FamilySession

    now = utcnow()
    storage = get_storage()
    old = storage.temp_file(".dcm")
    fresh = storage.temp_file(".zip")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))

    case = make_case(people["referrer"])
    sessions = _family_sessions(db_session, case, people["nap_coordinator"])
    user = people["referrer"]
    for expires, used in (
        (now - timedelta(days=2), None),  # expired: goes
        (now + timedelta(days=1), now - timedelta(days=2)),  # used long ago: goes
        (now + timedelta(hours=20), None),  # still valid: stays
    ):
        db_session.add(
            PasswordResetToken(
                token_hash=os.urandom(16).hex(), user_id=user.id, expires_at=expires, used_at=used
            )
        )
    for name, expires, revoked in (
        ("expired long ago", now - timedelta(days=120), None),
        ("revoked long ago", now + timedelta(days=10), now - timedelta(days=100)),
        ("expired last week", now - timedelta(days=7), None),  # still shown, marked: stays
        ("in use", now + timedelta(days=30), None),
    ):
        db_session.add(
            ApiToken(
                user_id=user.id,
                name=name,
                token_hash=os.urandom(16).hex(),
                prefix="pnl_x",
                expires_at=expires,
                revoked_at=revoked,
            )
        )
    db_session.commit()
    before_sessions = _count(db_session, FamilySession)

    job = jobs.enqueue(PURGE, "core.purge@test")
    db_session.commit()
    db_session.refresh(job)
    assert job.state == "done", job.last_error
    assert job.result["temp_files"] >= 1
    assert job.result["family_sessions"] == 2
    assert job.result["password_reset_tokens"] == 2
    assert job.result["api_tokens"] == 2
    assert not old.exists() and fresh.exists()
    assert _count(db_session, FamilySession) == before_sessions - 2
    assert db_session.get(FamilySession, sessions["newest_expired"].id) is not None
    assert set(db_session.scalars(select(ApiToken.name).where(ApiToken.user_id == user.id))) == {
        "expired last week",
        "in use",
    }
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "core.purged").order_by(AuditEntry.id.desc())
    )
    assert entry.details == job.result  # counts only
    assert all(isinstance(v, int) for v in entry.details.values())

    # Twice is harmless: nothing left to remove.
    again = purge()
    assert again["family_sessions"] == 0 and again["password_reset_tokens"] == 0
    assert again["api_tokens"] == 0 and again["temp_files"] == 0
    fresh.unlink()


def test_the_purge_is_scheduled_daily_once_per_day(app, db_session):
    assert jobs.schedule()[PURGE] == timedelta(days=1)
    now = utcnow().replace(hour=1)
    a = {j.kind: j.id for j in jobs.enqueue_due(now)}
    b = {j.kind: j.id for j in jobs.enqueue_due(now + timedelta(hours=3))}
    assert a[PURGE] == b[PURGE]
    assert db_session.get(Job, a[PURGE]).state == "done"


def test_finished_jobs_go_after_a_month_and_failed_ones_stay(app, db_session):
    from panel.core.purge import purge_finished_jobs

    now = utcnow()
    rows = {
        "old done": Job(
            key="t:old-done", kind="core.purge", state="done", finished_at=now - timedelta(days=31)
        ),
        "new done": Job(
            key="t:new-done", kind="core.purge", state="done", finished_at=now - timedelta(days=2)
        ),
        "old failed": Job(
            key="t:old-failed",
            kind="core.purge",
            state="failed",
            finished_at=now - timedelta(days=60),
        ),
        "queued": Job(
            key="t:queued", kind="core.purge", state="queued", run_after=now + timedelta(days=1)
        ),
    }
    db_session.add_all(rows.values())
    db_session.flush()
    assert purge_finished_jobs(now) >= 1
    left = set(db_session.scalars(select(Job.key).where(Job.key.like("t:%"))))
    assert left == {"t:new-done", "t:old-failed", "t:queued"}
    assert purge_finished_jobs(now) == 0

"""The trial registry's jobs (panel/trials/jobs.py): re-matching after a save, and the daily
sync, eager (the suite's default) on both backends; the sync against the recorded registries
of ``test_sync.py`` (a local HTTP server), never the internet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from panel.core import jobs
from panel.core.db import utcnow
from panel.core.models import Job
from panel.trials.models import CaseTrialMatch, Trial, TrialNewMatch


def _trial(db_session, code: str) -> Trial:
    db_session.expire_all()
    return db_session.scalar(select(Trial).where(Trial.code == code))


def _jobs(db_session, kind: str) -> list[Job]:
    return list(db_session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))


def test_saving_a_trial_asks_for_a_rematch_job_that_runs_after_the_commit(
    app, db_session, people, trials_loaded, make_case
):
    """The save itself evaluates no case: it writes a keyed ``trials.rematch`` job, which runs
    once the save's transaction has committed, and the case's verdict appears then."""
    from panel.trials.registry import update_trial

    case = make_case(people["referrer"])
    crisp = _trial(db_session, "CRISP")
    update_trial(
        crisp, {"status": "closed"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    update_trial(
        crisp, {"status": "open"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    # Saved, not committed: the job is asked for, no case has been evaluated.
    [job] = [j for j in _jobs(db_session, "trials.rematch") if j.state == "queued"]
    assert job.key == f"trials.rematch:{crisp.id}:v{crisp.version}"
    assert job.payload == {"trial_id": crisp.id, "version": crisp.version, "announce": True}
    assert db_session.scalar(select(func.count()).select_from(TrialNewMatch)) == 0
    db_session.commit()
    db_session.refresh(job)
    assert job.state == "done" and job.result == {"newly_matching": 1}
    news = db_session.scalars(select(TrialNewMatch)).all()
    assert [(n.case_id, n.verdict, n.reason) for n in news] == [(case.id, "eligible", "opened")]

    # The same work asked again is the same job; run again by hand it adds nothing.
    assert jobs.enqueue("trials.rematch", job.key, job.payload).id == job.id
    from panel.trials.jobs import rematch

    rematch(job)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(TrialNewMatch)) == 1
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(CaseTrialMatch)
            .where(CaseTrialMatch.case_id == case.id, CaseTrialMatch.trial_code == "CRISP")
        )
        == 1
    )


def test_closing_a_trial_withdraws_it_at_once_without_a_job(
    app, db_session, people, trials_loaded, make_case
):
    from panel.trials.registry import update_trial

    make_case(people["referrer"])
    crisp = _trial(db_session, "CRISP")
    before = len(_jobs(db_session, "trials.rematch"))
    update_trial(
        crisp, {"status": "closed"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.flush()
    assert len(_jobs(db_session, "trials.rematch")) == before
    verdicts = set(
        db_session.scalars(
            select(CaseTrialMatch.verdict).where(CaseTrialMatch.trial_code == "CRISP")
        )
    )
    assert verdicts <= {"not_open"}
    db_session.commit()


def test_an_older_rematch_job_leaves_the_last_word_to_the_newer_one(
    app, db_session, people, trials_loaded, make_case
):
    """Two saves before the first job ran (a worker busy elsewhere): the first job sees a later
    one and does nothing; the later one evaluates the trial as it is now."""
    from panel.trials.jobs import rematch, rematch_key

    crisp = _trial(db_session, "CRISP")
    old = Job(key=rematch_key(crisp.id, 1), kind="trials.rematch", payload={})
    old.payload = {"trial_id": crisp.id, "version": 1, "announce": True}
    newer = jobs.enqueue(
        "trials.rematch", rematch_key(crisp.id, 999), {"trial_id": crisp.id, "version": 999}
    )
    assert rematch(old) == {"skipped": "a later version is re-matched"}
    db_session.rollback()
    assert newer.id is not None


def test_the_daily_sync_job_syncs_from_the_recorded_registries_once_per_day(
    app,
    db_session,
    loaded,
    registry_server,
    monkeypatch,
):
    """The scheduled ``trials.sync`` job does what ``sync-trials`` does; two workers asking in
    the same day make one job; the next day's job, with nothing changed, changes nothing."""
    from panel.trials.jobs import SYNC

    monkeypatch.setitem(app.config, "JOBS_SCHEDULE_OFF", "")
    assert jobs.schedule()[SYNC] == timedelta(days=1)
    registry_server.study("NCT03363373", "NCT03363373-completed.json")
    now = utcnow().replace(hour=12)  # +1 second stays in the same day
    first = {j.kind: j for j in jobs.enqueue_due(now)}
    again = {j.kind: j for j in jobs.enqueue_due(now + timedelta(seconds=1))}
    assert first[SYNC].id == again[SYNC].id
    job = db_session.get(Job, first[SYNC].id)
    db_session.refresh(job)
    assert job.state == "done", job.last_error
    assert job.result["changed"] == 1 and job.result["trials"] >= 1
    assert _trial(db_session, "NAXITAMAB-201").status.value == "closed"

    tomorrow = {j.kind: j for j in jobs.enqueue_due(now + timedelta(days=1))}
    job2 = db_session.get(Job, tomorrow[SYNC].id)
    db_session.refresh(job2)
    assert job2.id != job.id and job2.state == "done" and job2.result["changed"] == 0
    assert registry_server.hits  # it asked the replay server, not the internet


def test_the_sync_is_not_scheduled_where_it_is_switched_off(app, db_session):
    assert "trials.sync" in jobs.scheduled_off()
    made = jobs.enqueue_due(utcnow())
    assert "trials.sync" not in {j.kind for j in made}

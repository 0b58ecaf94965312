"""The job queue's mechanics (panel/core/jobs.py), in each of its three modes.

Eager (the suite's default) on both backends through the usual fixtures; in-process
(Dramatiq's in-memory broker and a worker thread) and broker (real Redis and
``panel.core.worker.run_worker`` threads) on their own databases, since their workers commit
on connections of their own.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select, update

from panel.core import jobs
from panel.core.db import db, utcnow
from panel.core.models import Job
from tests.support.db import database_url, dispose, drop_database, make_app, migrate_and_seed

RAN: Counter[str] = Counter()
QUOTED = "Ellie Smith 943 476 5919"  # what a failing handler's exception text might quote
# The app's own scheduled jobs (e.g. mail.sweep) run on these workers too: count only ours.
TESTS = Job.kind.like("test.%")
FAILS_LEFT: dict[str, int] = {}


@jobs.handler("test.count", max_attempts=3)
def _count(job: Job):
    name = job.payload["name"]
    if FAILS_LEFT.get(name, 0) > 0:
        FAILS_LEFT[name] -= 1
        raise RuntimeError("a failure whose text quotes data: " + QUOTED)
    RAN[name] += 1
    return {"ran": RAN[name]}


@jobs.handler("test.slow", max_attempts=2)
def _slow(job: Job):
    time.sleep(job.payload.get("seconds", 0.05))
    RAN[job.payload["name"]] += 1


@jobs.handler("test.refuse", max_attempts=1)
def _refuse(job: Job):
    raise jobs.JobError("The file could not be read.")


@jobs.handler("test.tick")
def _tick(job: Job):
    RAN["tick"] += 1


@jobs.handler("test.taken_over", max_attempts=2)
def _taken_over(job: Job):
    # While this attempt runs, another worker takes the job over (this one's heartbeat went
    # stale): its claim, committed by that other process.
    db.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(worker="elsewhere:1:1", attempts=Job.attempts + 1)
    )
    db.session.commit()
    RAN[job.payload["name"]] += 1
    if job.payload.get("fail"):
        raise RuntimeError("failed after losing the job")
    return {"ran": 1}


@pytest.fixture(autouse=True)
def _reset():
    RAN.clear()
    FAILS_LEFT.clear()


def _name() -> str:
    return uuid.uuid4().hex[:10]


# --------------------------------------------------------------------------- eager
def test_a_job_runs_when_its_transaction_commits_and_never_when_it_rolls_back(app, db_session):
    kept, dropped = _name(), _name()
    jobs.enqueue("test.count", f"t:{kept}", {"name": kept})
    assert RAN[kept] == 0  # not before the commit
    db_session.commit()
    assert RAN[kept] == 1
    job = db_session.scalar(select(Job).where(Job.key == f"t:{kept}"))
    assert job.state == "done" and job.attempts == 1 and job.result == {"ran": 1}

    jobs.enqueue("test.count", f"t:{dropped}", {"name": dropped})
    db_session.rollback()
    db_session.commit()
    assert RAN[dropped] == 0
    assert db_session.scalar(select(Job).where(Job.key == f"t:{dropped}")) is None


def test_the_same_key_is_one_job_that_runs_once(app, db_session):
    name = _name()
    first = jobs.enqueue("test.count", f"t:{name}", {"name": name})
    second = jobs.enqueue("test.count", f"t:{name}", {"name": name})
    assert first.id == second.id
    db_session.commit()
    again = jobs.enqueue("test.count", f"t:{name}", {"name": name})
    db_session.commit()
    assert again.id == first.id and RAN[name] == 1
    # a message delivered twice: the second claim finds the job done
    assert jobs.run(first.id) == "skipped" and RAN[name] == 1


def test_failures_retry_then_land_in_the_dead_letter_list_without_their_text(app, db_session):
    flaky, broken = _name(), _name()
    FAILS_LEFT[flaky] = 2
    FAILS_LEFT[broken] = 99
    jobs.enqueue("test.count", f"t:{flaky}", {"name": flaky})
    jobs.enqueue("test.count", f"t:{broken}", {"name": broken})
    db_session.commit()
    ok = db_session.scalar(select(Job).where(Job.key == f"t:{flaky}"))
    dead = db_session.scalar(select(Job).where(Job.key == f"t:{broken}"))
    assert ok.state == "done" and ok.attempts == 3 and RAN[flaky] == 1
    assert dead.state == "failed" and dead.attempts == 3
    assert dead.last_error == "RuntimeError (details are in the worker's log)"
    assert "Ellie" not in (dead.last_error or "") and "943" not in (dead.last_error or "")
    # Panel's own messages are kept as written
    jobs.enqueue("test.refuse", f"t:{_name()}")
    db_session.commit()
    refused = db_session.scalar(select(Job).where(Job.kind == "test.refuse"))
    assert refused.state == "failed" and refused.last_error == "The file could not be read."
    # an admin retries the dead job: it runs afresh
    FAILS_LEFT[broken] = 0
    jobs.retry_failed(dead)
    db_session.commit()
    db_session.refresh(dead)
    assert dead.state == "done" and RAN[broken] == 1


def test_backoff_doubles_and_is_capped():
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert jobs.backoff(30) == jobs.MAX_BACKOFF


def test_a_group_counts_its_children_and_closes_when_all_have_finished(app, db_session):
    names = [_name() for _ in range(3)]
    FAILS_LEFT[names[2]] = 99
    parent = jobs.group(f"g:{_name()}", total=3)
    for n in names:
        jobs.enqueue("test.count", f"t:{n}", {"name": n}, parent=parent)
    db_session.commit()
    db_session.refresh(parent)
    assert (parent.state, parent.done, parent.failed, parent.total) == ("done", 2, 1, 3)
    assert parent.as_json()["state"] == "done"
    empty = jobs.group(f"g:{_name()}", total=0)
    db_session.commit()
    assert empty.state == "done"


def test_a_claim_is_won_once(app, db_session):
    job = jobs.enqueue("test.count", f"t:{_name()}", {"name": "x"}, delay=timedelta(hours=1))
    db_session.commit()  # not due: nobody may claim it yet
    assert jobs.claim(job.id) is False
    db_session.execute(update(Job).where(Job.id == job.id).values(run_after=utcnow()))
    db_session.commit()
    assert jobs.claim(job.id) is True
    assert jobs.claim(job.id) is False  # running, heartbeat fresh
    db_session.execute(
        update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(hours=1))
    )
    db_session.commit()
    assert jobs.claim(job.id) is True  # its worker is gone: taken over


@pytest.mark.parametrize("fail", [False, True])
def test_an_attempt_whose_job_was_taken_over_writes_nothing(app, db_session, fail):
    """A worker that was only slow (not dead) finishes after another took its job over: it
    counts nothing in the group and leaves the row to the worker that holds it now, so a file
    is never stored, counted or audited twice."""
    name = _name()
    parent = jobs.group(f"g:{name}", total=1)
    job = jobs.enqueue(
        "test.taken_over",
        f"t:{name}",
        {"name": name, "fail": fail},
        parent=parent,
        delay=timedelta(hours=1),
    )
    db_session.commit()
    db_session.execute(update(Job).where(Job.id == job.id).values(run_after=utcnow()))
    db_session.commit()
    assert jobs.run(job.id) == "lost" and RAN[name] == 1
    db_session.refresh(job)
    db_session.refresh(parent)
    assert (job.state, job.worker, job.attempts, job.result) == (
        "running",
        "elsewhere:1:1",
        2,
        None,
    )
    assert (parent.state, parent.done, parent.failed) == ("running", 0, 0)


def test_a_workers_housekeeping_keeps_its_own_running_jobs_alive(app, db_session):
    """Only a silent process's jobs go stale, however long a job takes."""
    stale = utcnow() - timedelta(hours=1)
    here = jobs.worker_name()
    for key, worker in (("t:here", here), ("t:dead", "gone-host:1:1")):
        db_session.add(
            Job(
                key=f"{key}:{_name()}",
                kind="test.tick",
                state="running",
                attempts=1,
                worker=worker,
                heartbeat_at=stale,
                max_attempts=3,
            )
        )
    db_session.commit()
    assert jobs.keep_alive() == 1
    rows = dict(db_session.execute(select(Job.worker, Job.heartbeat_at).where(TESTS)).all())
    assert rows[here] > utcnow() - timedelta(minutes=1)
    assert rows["gone-host:1:1"] < utcnow() - timedelta(minutes=30)
    assert (
        jobs.claim(db_session.scalar(select(Job.id).where(Job.worker == "gone-host:1:1"))) is True
    )  # the dead one's is taken over; this process's is not
    assert jobs.claim(db_session.scalar(select(Job.id).where(Job.worker == here))) is False


def test_unknown_kinds_are_refused(app, db_session):
    with pytest.raises(ValueError):
        jobs.enqueue("no.such.kind", "k")


def test_health_reports_the_queue(client):
    body = client.get("/healthz").get_json()
    assert body["queue"] == {"mode": "eager", "broker": "in-process", "workers": 0}


# --------------------------------------------------------------------------- in-process
@pytest.fixture
def fresh_db(backend, tmp_path):
    url = database_url(backend, tmp_path, f"panel_test_jobs_{uuid.uuid4().hex[:8]}")
    yield url
    drop_database(url)


def _wait(app, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if predicate():
                return
        time.sleep(0.05)
    with app.app_context():
        states = Counter(db.session.scalars(select(Job.state)))
        errors = Counter(db.session.scalars(select(Job.last_error)))
    raise AssertionError(f"timed out waiting for the jobs: {dict(states)} {dict(errors)}")


def _wait_done(app, n: int) -> None:
    """Wait until ``n`` of the tests' own jobs are done (the real schedule adds others)."""

    def done() -> bool:
        return (
            db.session.scalar(
                select(func.count()).select_from(Job).where(Job.state == "done", TESTS)
            )
            == n
        )

    _wait(app, done)


def test_in_process_mode_runs_jobs_on_a_thread_after_the_commit(fresh_db, tmp_path):
    app = make_app(fresh_db, tmp_path / "storage", JOBS_MODE="inprocess")
    migrate_and_seed(app)
    names = [_name() for _ in range(10)]
    try:
        with app.app_context():
            for n in names:
                jobs.enqueue("test.count", f"t:{n}", {"name": n})
            db.session.commit()
        jobs.queue(app).join()
        _wait_done(app, 10)
        assert all(RAN[n] == 1 for n in names)
        with app.app_context():
            assert jobs.health()["broker"] == "in-process"
    finally:
        jobs.queue(app).stop()
        dispose(app)


def test_in_process_mode_runs_the_schedule(fresh_db, tmp_path):
    """``make run`` has no worker: its job thread asks for the schedule's due jobs (once per
    period, however often it looks) and runs them."""
    app = make_app(
        fresh_db,
        tmp_path / "storage",
        JOBS_MODE="inprocess",
        JOBS_INPROCESS_SCHEDULE=True,
        JOBS_INPROCESS_SWEEP_SECONDS=0.2,
    )
    migrate_and_seed(app)
    try:
        jobs.queue(app).start_inprocess_worker()

        def purged() -> bool:
            return bool(
                db.session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.kind == "core.purge", Job.state == "done")
                )
            )

        _wait(app, purged)
        time.sleep(0.6)  # several more rounds of housekeeping
        with app.app_context():
            kinds = db.session.scalars(select(Job.kind).where(Job.kind == "core.purge")).all()
            assert kinds == ["core.purge"]  # one per day, however many rounds ask
            assert "trials.sync" not in db.session.scalars(select(Job.kind)).all()  # off in tests
    finally:
        jobs.queue(app).stop()
        dispose(app)


# --------------------------------------------------------------------------- broker (Redis)
REDIS_URL = os.environ.get("PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def broker_app(fresh_db, tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running")
    namespace = f"panel-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        fresh_db,
        tmp_path / "storage",
        JOBS_MODE="broker",
        QUEUE_URL=REDIS_URL,
        JOBS_NAMESPACE=namespace,
        JOBS_STALE_SECONDS=2,
        JOBS_REPUBLISH_SECONDS=1,
    )
    migrate_and_seed(app)
    yield app
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    dispose(app)


def _start_workers(app, n):
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=__import__("panel.core.worker", fromlist=["run_worker"]).run_worker,
            args=(app,),
            kwargs={"threads": 2, "housekeeping_seconds": 0.5, "stop": stop},
            daemon=True,
        )
        for _ in range(n)
    ]
    for t in threads:
        t.start()
    return stop, threads


def test_two_workers_on_redis_run_every_job_once(broker_app):
    app = broker_app
    names = [_name() for _ in range(40)]
    with app.app_context():
        for n in names:
            jobs.enqueue("test.slow", f"t:{n}", {"name": n, "seconds": 0.01})
        db.session.commit()
        assert jobs.queue(app).backlog() == 40
    stop, threads = _start_workers(app, 2)
    try:
        _wait_done(app, 40)
        assert all(RAN[n] == 1 for n in names)
        with app.app_context():
            workers = set(db.session.scalars(select(Job.worker).where(TESTS)))
            health = jobs.health()
        assert health["broker"] == "ok" and health["workers"] >= 1
        assert len(workers) >= 2  # the work was shared
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_healthz_says_degraded_but_stays_up_while_no_worker_is_alive(broker_app):
    """Broker mode with no worker: the pages work (200, so a load balancer keeps the host),
    the status says degraded and why; with a worker's heartbeat it is ok, with its age."""
    client = broker_app.test_client()
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "degraded"
    assert body["problem"] == "no worker"
    assert body["queue"]["workers"] == 0 and body["queue"]["heartbeat_age_seconds"] is None
    with broker_app.app_context():
        jobs.worker_heartbeat("test-host:1:1", ttl_seconds=30)
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and "problem" not in body
    assert body["queue"]["workers"] == 1 and 0 <= body["queue"]["heartbeat_age_seconds"] < 5
    broker_app.config["JOBS_WORKER_STALE_SECONDS"] = -1  # as if the heartbeat were old
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["problem"] == "worker heartbeat stale"


def test_a_lost_publish_and_a_dead_workers_job_are_swept_up(broker_app):
    app = broker_app
    lost, orphan = _name(), _name()
    with app.app_context():
        # committed, but its process died before publishing: a row and no message
        db.session.add(
            Job(
                key=f"t:{lost}",
                kind="test.count",
                payload={"name": lost},
                max_attempts=3,
                run_after=utcnow() - timedelta(seconds=5),
                created_at=utcnow() - timedelta(seconds=5),
            )
        )
        # claimed by a worker that was killed: running, heartbeat stale
        db.session.add(
            Job(
                key=f"t:{orphan}",
                kind="test.count",
                payload={"name": orphan},
                max_attempts=3,
                state="running",
                attempts=1,
                heartbeat_at=utcnow() - timedelta(seconds=30),
                created_at=utcnow() - timedelta(seconds=30),
            )
        )
        db.session.commit()
    stop, threads = _start_workers(app, 1)
    try:
        _wait_done(app, 2)
        assert RAN[lost] == 1 and RAN[orphan] == 1
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_scheduled_jobs_are_asked_for_once_per_period_however_many_ask(app, db_session):
    jobs.every("test.tick", timedelta(hours=1))
    try:
        now = utcnow().replace(minute=5)  # +1 minute must stay in the same hour
        ticks = lambda made: {j.id for j in made if j.kind == "test.tick"}  # noqa: E731
        first = ticks(jobs.enqueue_due(now))
        second = ticks(jobs.enqueue_due(now + timedelta(minutes=1)))
        assert first == second and len(first) == 1
        later = ticks(jobs.enqueue_due(now + timedelta(hours=1, minutes=1)))
        assert later.isdisjoint(first)
    finally:
        jobs._SCHEDULE.pop("test.tick", None)


@pytest.mark.multiprocess
def test_the_worker_command_runs_says_it_is_alive_and_stops(backend, tmp_path):
    from tests.support import workers

    if not workers.redis_up():
        pytest.skip("Redis is not running")
    url = database_url(backend, tmp_path, f"panel_test_jobs_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    dispose(app)
    env = workers.stack_env(url, tmp_path / "storage")
    procs = workers.start_workers(env, 2, log_dir=tmp_path)
    try:
        assert workers.live_workers(env) == 2
        probe = make_app(
            url,
            tmp_path / "storage",
            JOBS_MODE="broker",
            QUEUE_URL=workers.REDIS_URL,
            JOBS_NAMESPACE=env["PANEL_JOBS_NAMESPACE"],
        )
        resp = probe.test_client().get("/healthz")
        body = resp.get_json()
        age = body["queue"].pop("heartbeat_age_seconds")
        assert body["queue"] == {"mode": "broker", "broker": "ok", "workers": 2}
        assert 0 <= age < 30 and body["status"] == "ok" and resp.status_code == 200
        dispose(probe)
    finally:
        workers.stop_workers(procs)
        workers.clear_namespace(env)
        drop_database(url)
    assert all(p.returncode == 0 for p in procs)
    assert b"Panel worker stopped." in (tmp_path / "worker-0.log").read_bytes()


def test_the_worker_command_explains_that_no_queue_is_configured(app):
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code != 0 and "No queue is configured" in result.output


def test_a_job_asked_for_again_after_it_waited_unclaimed_is_published_again(app, db_session):
    """Its first asker died before publishing it (or with its in-process queue)."""
    name = _name()
    long_ago = utcnow() - timedelta(minutes=5)
    db_session.add(
        Job(
            key=f"t:{name}",
            kind="test.count",
            payload={"name": name},
            max_attempts=3,
            run_after=long_ago,
            created_at=long_ago,
        )
    )
    db_session.commit()
    assert RAN[name] == 0  # nobody published it
    again = jobs.enqueue("test.count", f"t:{name}", {"name": name})
    db_session.commit()
    db_session.refresh(again)
    assert RAN[name] == 1 and again.state == "done"
    # a job asked for again soon after it was made is not published twice
    fresh = _name()
    jobs.enqueue("test.count", f"t:{fresh}", {"name": fresh}, delay=timedelta(hours=1))
    db_session.commit()
    jobs.enqueue("test.count", f"t:{fresh}", {"name": fresh})
    assert not db_session.info.get("panel_jobs_pending")


def test_a_failure_is_logged_by_kind_and_place_never_by_its_text(app, db_session, caplog):
    name = _name()
    FAILS_LEFT[name] = 99
    with caplog.at_level("WARNING", logger="panel.core.jobs"):
        jobs.enqueue("test.count", f"t:{name}", {"name": name})
        db_session.commit()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "test_jobs.py" in logged
    assert "Ellie" not in logged and "943 476" not in logged
    assert not any(r.exc_info for r in caplog.records)

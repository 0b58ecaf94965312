"""E-mail from the outbox on the job queue (panel/core/mail.py): one job per e-mail, asked for
in the action's transaction; every sender claims its rows atomically, so no e-mail goes out
twice, whether a job runs twice, two threads claim at once, or two worker processes share 200.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from panel.core import jobs
from panel.core import mail as outbox
from panel.core.db import db, utcnow
from panel.core.models import Job, OutboxMail
from tests.support.db import database_url, dispose, drop_database, make_app, migrate_and_seed
from tests.support.mail import MailGuard
from tests.support.web import free_port, post_form


@pytest.fixture
def smtp(app, smtp_server):
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    yield smtp_server
    app.config.update(saved)


def _mail_jobs(session, mail):
    return session.scalars(
        select(Job).where(Job.kind == "mail.send", Job.key.like(f"mail:{mail.id}:%"))
    ).all()


def test_an_email_is_a_job_asked_for_in_the_actions_transaction(app, db_session, smtp):
    """Is the mail sent by its job once the action commits, and never if it rolls back?"""
    kept = outbox.queue_mail("kept@nhs.example", "[Panel] kept", "x")
    db_session.commit()
    assert [m["To"] for m in smtp.messages] == ["kept@nhs.example"]
    [job] = _mail_jobs(db_session, kept)
    assert job.key == outbox.mail_key(kept) and job.state == "done"
    assert job.result == {"outcome": "sent"} and job.payload == {"outbox_id": kept.id}
    db_session.refresh(kept)
    assert kept.sent_at is not None and kept.attempts == 1 and kept.last_error is None
    assert smtp.messages[0]["Message-ID"] == outbox.message_id(kept)

    outbox.queue_mail("dropped@nhs.example", "[Panel] dropped", "x")
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(OutboxMail)) == 1
    assert len(smtp.messages) == 1


def test_a_job_run_again_or_asked_again_never_sends_twice(app, db_session, smtp):
    mail = outbox.queue_mail("once@nhs.example", "[Panel] once", "x")
    db_session.commit()
    [job] = _mail_jobs(db_session, mail)
    # The same message delivered again (the job queued again, as after a lost acknowledgement).
    db_session.execute(update(Job).where(Job.id == job.id).values(state="queued"))
    db_session.commit()
    assert jobs.run(job.id) == "ran"
    db_session.refresh(job)
    assert job.result == {"outcome": "not due or taken"}
    # Asking for it again by its key returns the first job, which does not run again.
    assert jobs.enqueue("mail.send", outbox.mail_key(mail), {"outbox_id": mail.id}).id == job.id
    db_session.commit()
    # A direct sender (send-mail) finds nothing due either.
    assert outbox.send_queued_mail() == (0, 0)
    assert len(smtp.messages) == 1


def test_a_claim_is_won_once_and_runs_out_when_its_sender_died(app, db_session):
    app.config["MAIL_CLAIM_SECONDS"] = 600
    rows = [OutboxMail(to_addr=f"c{i}@nhs.example", subject="s", body="b") for i in range(3)]
    db_session.add_all(rows)
    db_session.commit()
    ids = [r.id for r in rows]
    assert outbox.claim(ids) == ids
    assert outbox.claim(ids) == []  # held: nobody else gets them
    db_session.expire_all()
    assert all(r.attempts == 1 and r.next_attempt_at > utcnow() for r in rows)
    # The sender died (no sent_at, no error); once the lease has run out the row is due again.
    db_session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == ids[0])
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db_session.commit()
    assert outbox.claim(ids) == [ids[0]]
    # Given-up rows and sent rows are never claimed.
    db_session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(ids[1:]))
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db_session.execute(
        update(OutboxMail).where(OutboxMail.id == ids[1]).values(attempts=outbox.MAX_ATTEMPTS)
    )
    db_session.execute(update(OutboxMail).where(OutboxMail.id == ids[2]).values(sent_at=utcnow()))
    db_session.commit()
    assert outbox.claim(ids) == []


def test_a_failure_is_kept_and_its_retry_asked_for_with_back_off(app, db_session, smtp):
    closed = free_port()
    MailGuard.allowed.add(("127.0.0.1", closed))
    app.config["SMTP_PORT"] = closed
    try:
        mail = outbox.queue_mail("later@nhs.example", "[Panel] later", "x")
        db_session.commit()
    finally:
        MailGuard.allowed.discard(("127.0.0.1", closed))
    db_session.refresh(mail)
    assert mail.sent_at is None and mail.attempts == 1 and "Connection" in mail.last_error
    assert mail.next_attempt_at > utcnow() + timedelta(minutes=1)
    first, retry = sorted(_mail_jobs(db_session, mail), key=lambda j: j.id)
    assert first.result == {"outcome": "failed"}
    assert retry.state == "queued" and retry.run_after >= mail.next_attempt_at - timedelta(
        seconds=1
    )
    assert retry.key == outbox._retry_key(mail.id, 1, mail.next_attempt_at)

    # The sweep asks for the same job (same key), not a second one; once the retry is due
    # and the server is back, it is sent.
    app.config["SMTP_PORT"] = smtp.port
    db_session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail.id)
        .values(next_attempt_at=utcnow() - timedelta(minutes=2))
    )
    db_session.execute(update(Job).where(Job.id == retry.id).values(run_after=utcnow()))
    db_session.commit()
    db_session.refresh(mail)
    assert jobs.run(retry.id) == "ran"
    assert [m["To"] for m in smtp.messages] == ["later@nhs.example"]
    db_session.refresh(mail)
    assert mail.sent_at is not None and mail.last_error is None and mail.attempts == 2


def test_a_fault_of_our_own_is_kept_by_its_kind_only(app, db_session, smtp, monkeypatch):
    def broken(mail):
        raise ValueError(f"could not encode {mail.subject}: Ellie Smith 943 476 5919")

    monkeypatch.setattr(outbox, "_send_one", broken)
    mail = outbox.queue_mail("odd@nhs.example", "[Panel] odd", "x")
    db_session.commit()
    db_session.refresh(mail)
    assert mail.sent_at is None and mail.attempts == 1
    assert mail.last_error == "ValueError (details are in the log)"
    assert smtp.messages == []


def test_the_last_failure_gives_up_and_the_outbox_page_shows_it(
    app, db_session, client, people, login
):
    closed = free_port()
    MailGuard.allowed.add(("127.0.0.1", closed))
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=closed)
    try:
        mail = OutboxMail(
            to_addr="never@nhs.example",
            subject="[Panel] never",
            body="x",
            attempts=outbox.MAX_ATTEMPTS - 1,
        )
        db_session.add(mail)
        db_session.commit()
        assert outbox.send_queued_mail() == (0, 1)
    finally:
        MailGuard.allowed.discard(("127.0.0.1", closed))
        app.config.update(saved)
    db_session.refresh(mail)
    assert mail.attempts == outbox.MAX_ATTEMPTS and mail.sent_at is None
    assert not [j for j in _mail_jobs(db_session, mail) if j.state == "queued"]  # no more
    assert outbox.claim([mail.id]) == []
    login(client, people["admin"])
    html = client.get("/outbox").get_data(as_text=True)
    assert "never@nhs.example" in html and "Gave up" in html and "Connection" in html


def test_send_now_leaves_a_row_being_sent_to_its_sender(
    app, db_session, client, people, login, smtp
):
    """A claimed row (attempt counted, no error yet) shows as being sent, and "Send now" does
    not hand it to a second sender; a failed row beside it is sent."""
    in_flight = OutboxMail(to_addr="flight@nhs.example", subject="[Panel] flight", body="x")
    failed = OutboxMail(
        to_addr="failed@nhs.example",
        subject="[Panel] failed",
        body="x",
        attempts=2,
        last_error="SMTPServerDisconnected: gone",
        next_attempt_at=utcnow() + timedelta(minutes=3),
    )
    db_session.add_all([in_flight, failed])
    db_session.commit()
    assert outbox.claim([in_flight.id]) == [in_flight.id]
    login(client, people["admin"])
    assert "Being sent" in client.get("/outbox").get_data(as_text=True)
    assert post_form(app, client, "/outbox/retry").status_code == 302
    assert [m["To"] for m in smtp.messages] == ["failed@nhs.example"]
    db_session.refresh(in_flight)
    assert in_flight.sent_at is None and in_flight.next_attempt_at > utcnow()


def test_without_a_mail_server_mail_stays_queued_and_the_sweep_sends_it_later(
    app, db_session, smtp_server
):
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST=None)
    try:
        mail = outbox.queue_mail("held@nhs.example", "[Panel] held", "x")
        db_session.commit()
        db_session.refresh(mail)
        assert mail.sent_at is None and mail.attempts == 0
        [job] = _mail_jobs(db_session, mail)
        assert job.result == {"outcome": "no mail server: kept in the outbox"}
        assert outbox._sweep_job(job) == {"asked": 0}

        # A server is configured; the row has waited past the sweep's grace.
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
        db_session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail.id)
            .values(next_attempt_at=utcnow() - outbox.SWEEP_GRACE - timedelta(seconds=1))
        )
        db_session.commit()
        sweep = jobs.enqueue("mail.sweep", f"mail.sweep@test-{uuid.uuid4().hex}")
        db_session.commit()  # eager: the sweep runs, asks for the mail's job, which sends it
        db_session.refresh(sweep)
        assert sweep.result == {"asked": 1}
        assert [m["To"] for m in smtp_server.messages] == ["held@nhs.example"]
        db_session.refresh(mail)
        assert mail.sent_at is not None
    finally:
        app.config.update(saved)


def test_the_sweep_is_on_the_schedule():
    assert jobs.schedule()["mail.sweep"] == outbox.SWEEP_PERIOD


# --------------------------------------------------------------------------- concurrency
@pytest.fixture
def own_db(backend, tmp_path):
    url = database_url(backend, tmp_path, f"panel_test_mail_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    yield app
    dispose(app)
    drop_database(url)


def test_two_sessions_claiming_the_same_rows_at_once_take_each_row_once(own_db):
    """Two threads, each with its own connection, claim batches of the same 300 due rows at
    the same moment (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time)."""
    app = own_db
    with app.app_context():
        db.session.add_all(
            OutboxMail(to_addr=f"r{i}@nhs.example", subject="s", body="b") for i in range(300)
        )
        db.session.commit()
        all_ids = set(db.session.scalars(select(OutboxMail.id)))
    won: list[list[int]] = [[], []]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def claimer(i):
        try:
            with app.app_context():
                start.wait()
                while batch := outbox.claim(limit=7):
                    assert len(batch) <= 7
                    won[i].extend(batch)
                    time.sleep(0.002)  # let the other claimer in between batches
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert set(won[0]).isdisjoint(won[1])
    assert sorted(won[0] + won[1]) == sorted(all_ids)
    assert won[0] and won[1]  # both took part
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMail.attempts))) == {1}


def test_in_process_mode_sends_on_its_worker_thread(backend, tmp_path, smtp_server):
    """``make run`` (no Redis): the web process's own worker thread sends the mail."""
    url = database_url(backend, tmp_path, f"panel_test_mail_{uuid.uuid4().hex[:8]}")
    app = make_app(
        url,
        tmp_path / "storage",
        JOBS_MODE="inprocess",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
    )
    migrate_and_seed(app)
    try:
        with app.app_context():
            outbox.queue_mail("thread@nhs.example", "[Panel] thread", "x")
            db.session.commit()
        jobs.queue(app).join()
        deadline = time.monotonic() + 20
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m["To"] for m in smtp_server.messages] == ["thread@nhs.example"]
        with app.app_context():
            assert db.session.scalar(select(OutboxMail.sent_at)) is not None
    finally:
        jobs.queue(app).stop()
        dispose(app)
        drop_database(url)


# --------------------------------------------------------------------------- real workers
@pytest.mark.multiprocess
def test_two_worker_processes_deliver_200_emails_exactly_once(
    backend, tmp_path, smtp_server, record_property
):
    """200 outbox e-mails, 2 ``flask --app panel worker`` processes (and this process sending
    directly, as ``send-mail`` would, at the same time) and the local SMTP server: exactly
    200 delivered, one per outbox row."""
    from tests.support import workers

    if not workers.redis_up():
        pytest.skip("Redis is not running")
    url = database_url(backend, tmp_path, f"panel_test_mail_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    dispose(app)
    smtp_env = {"PANEL_SMTP_HOST": "127.0.0.1", "PANEL_SMTP_PORT": str(smtp_server.port)}
    env = workers.stack_env(url, tmp_path / "storage", **smtp_env)
    procs = workers.start_workers(env, 2, log_dir=tmp_path)
    web = make_app(
        url,
        tmp_path / "storage",
        JOBS_MODE="broker",
        QUEUE_URL=workers.REDIS_URL,
        JOBS_NAMESPACE=env["PANEL_JOBS_NAMESPACE"],
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
    )
    try:
        began = time.monotonic()
        with web.app_context():
            for i in range(200):
                outbox.queue_mail(f"member{i}@nhs.example", f"[Panel] Message {i}", "x")
            db.session.commit()  # published now: the workers start sending
            direct = 0
            for _ in range(5):  # a send-mail run competing with the workers
                direct += outbox.send_queued_mail(limit=5)[0]
        deadline = time.monotonic() + 120
        while len(smtp_server.messages) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        took = time.monotonic() - began
        time.sleep(1.5)  # anything sent twice would arrive now
        record_property("seconds_for_200", round(took, 2))
        print(f"\n200 e-mails on {backend} with 2 workers: {took:.2f} s ({direct} sent directly)")
        ids = [m["Message-ID"] for m in smtp_server.messages]
        assert len(ids) == 200, f"{len(ids)} delivered"
        assert len(set(ids)) == 200
        assert sorted(m["To"] for m in smtp_server.messages) == sorted(
            f"member{i}@nhs.example" for i in range(200)
        )
        with web.app_context():
            assert (
                db.session.scalar(
                    select(func.count()).select_from(OutboxMail).where(OutboxMail.sent_at.is_(None))
                )
                == 0
            )
            assert set(db.session.scalars(select(OutboxMail.attempts))) == {1}
            senders = {
                job.worker
                for job in db.session.scalars(select(Job).where(Job.kind == "mail.send"))
                if job.result == {"outcome": "sent"}
            }
        assert len({s.rsplit(":", 1)[0] for s in senders}) == 2  # both processes sent mail
    finally:
        workers.stop_workers(procs)
        workers.clear_namespace(env)
        dispose(web)
        drop_database(url)

"""E-mail through an outbox table, sent by the job queue with each row claimed atomically.

* **Queued in the action's transaction.** :func:`queue_mail` adds the outbox row and a
  ``mail.send`` job keyed ``mail:<outbox id>`` in the caller's transaction, so the mail exists,
  and is published to the queue, only if the action commits.
* **Claimed, so sent by one process.** Whoever sends (a worker's job, ``send-mail``, the
  coordinators' "Send now") first *claims* the row with one conditional ``UPDATE`` that counts
  the attempt and leases the row (``next_attempt_at`` moves ``MAIL_CLAIM_SECONDS`` ahead, ten
  minutes by default). On PostgreSQL the claim picks its rows with ``FOR UPDATE SKIP
  LOCKED``, so two senders take disjoint rows without waiting; on SQLite the one writer at
  a time (``BEGIN IMMEDIATE``) makes the claim atomic. A row is claimed only while unsent, due
  and under ``MAX_ATTEMPTS``, so a job delivered twice, or a retried job, finds nothing to
  claim. A claim whose sender died runs out after the lease and the row is due again. A
  claimed row has no ``last_error`` (the claim clears it): "Send now" leaves it alone.
* **Sent, then marked at once.** ``sent_at`` is committed straight after the SMTP server
  accepted the message. SMTP and the database cannot commit together, so one window is left:
  a process killed (or a database failing) after the server accepted the message and before
  ``sent_at`` commits sends that mail again when the lease runs out (at least once, never
  silently lost). The ``Message-ID`` is derived from the outbox row, so such a duplicate is
  recognisable.
* **Failures retry with back-off, then stay as given up.** A failed attempt stores its error
  (SMTP's own text: addresses at most, no clinical content) and the next attempt's time
  (2, 4, 8 ... minutes), and asks for the job of that attempt; after ``MAX_ATTEMPTS`` the row
  stays unsent: the outbox page (``/outbox``) lists it with its error for coordinators and
  admins, who can send it again. ``mail.sweep`` (every five minutes, on the workers'
  schedule) asks for a job for any row that is due and was missed. A failure that is not the
  server's (a fault of Panel's own) is stored by its kind only, never its text.

Without ``PANEL_SMTP_HOST`` nothing is claimed: mail stays queued (and visible to
coordinators) until a server is configured. E-mails carry no clinical content: a case
reference and a link at most.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import and_, select, update

from panel.core import jobs
from panel.core.db import db, utcnow
from panel.core.models import Job, OutboxMail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SWEEP_PERIOD = timedelta(minutes=5)
SWEEP_GRACE = timedelta(minutes=1)  # a due row's own job has this long before the sweep asks


def queue_mail(to_addr: str, subject: str, body: str, *, panel_id: int | None = None) -> OutboxMail:
    """Add a message to the outbox, and the job that sends it, in the current transaction
    (``panel_id``: the panel whose case or meeting it is about, so only that panel's
    coordinators see it if it fails)."""
    mail = OutboxMail(to_addr=to_addr, subject=subject, body=body, panel_id=panel_id)
    db.session.add(mail)
    db.session.flush()
    jobs.enqueue("mail.send", mail_key(mail), {"outbox_id": mail.id})
    return mail


def mail_key(mail: OutboxMail) -> str:
    """The first job's key: the row's id and creation time (SQLite hands a deleted last row's
    id out again, so the id alone could name an older row's job)."""
    return f"mail:{mail.id}:{mail.created_at.strftime('%Y%m%dT%H%M%S%f')}"


# --------------------------------------------------------------------------- claiming
def _lease() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("MAIL_CLAIM_SECONDS", 600)))


def _due(now):
    return and_(
        OutboxMail.sent_at.is_(None),
        OutboxMail.attempts < MAX_ATTEMPTS,
        OutboxMail.next_attempt_at <= now,
    )


def claim(ids: list[int] | None = None, *, limit: int = 50) -> list[int]:
    """Claim due outbox rows for this process (``ids``: only these) and commit; returns the
    ids won. The rows are picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL: two
    claimers skip each other's rows instead of waiting; SQLite has no row locks, but every
    transaction here starts with ``BEGIN IMMEDIATE``, so one claimer at a time), then taken by
    a conditional ``UPDATE ... RETURNING`` in the same transaction: each row is won once.

    (Not one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)``: PostgreSQL
    may run such a subquery more than once, and with SKIP LOCKED each run can pick other rows,
    so far more than ``n`` rows were taken.)"""
    now = utcnow()
    pick = select(OutboxMail.id).where(_due(now))
    if ids is not None:
        pick = pick.where(OutboxMail.id.in_(ids))
    picked = db.session.scalars(
        pick.order_by(OutboxMail.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    won: list[int] = []
    if picked:
        won = db.session.scalars(
            update(OutboxMail)
            .where(OutboxMail.id.in_(picked), _due(now))
            # No error while in flight: how "Send now" tells a claimed row from a failed one.
            .values(
                attempts=OutboxMail.attempts + 1, next_attempt_at=now + _lease(), last_error=None
            )
            .returning(OutboxMail.id)
            .execution_options(synchronize_session=False)
        ).all()
    db.session.commit()
    return sorted(won)


# --------------------------------------------------------------------------- sending
def message_id(mail: OutboxMail) -> str:
    """The same for every attempt at one outbox row (a duplicate shows as one)."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "panel.local"
    return f"<panel-outbox-{mail.id}.{int(mail.created_at.timestamp())}@{domain}>"


def _send_one(mail: OutboxMail) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id(mail)
    msg.set_content(mail.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
        smtp.send_message(msg)


def _retry_key(mail_id: int, attempts: int, due_at) -> str:
    """One key per (row, attempt, due time): a failure and the sweep ask for the same job."""
    return f"mail:{mail_id}:retry:{attempts}:{int(due_at.timestamp())}"


def deliver(mail_id: int) -> str:
    """Send one claimed row and commit the outcome at once: ``sent`` or ``failed`` (the
    error stored, the next attempt scheduled and its job asked for)."""
    mail = db.session.get(OutboxMail, mail_id)
    db.session.refresh(mail)
    try:
        _send_one(mail)
    except Exception as exc:  # noqa: BLE001 - every failure is kept on the row and retried
        if isinstance(exc, OSError | smtplib.SMTPException):
            mail.last_error = f"{type(exc).__name__}: {exc}"[:500]  # the server's words
        else:  # a fault of ours: its text could quote the message, so only its kind
            log.exception("mail %s could not be built or sent", mail.id)
            mail.last_error = f"{type(exc).__name__} (details are in the log)"
        mail.next_attempt_at = utcnow() + timedelta(minutes=2 ** min(mail.attempts, 8))
        if mail.attempts < MAX_ATTEMPTS:
            jobs.enqueue(
                "mail.send",
                _retry_key(mail.id, mail.attempts, mail.next_attempt_at),
                {"outbox_id": mail.id},
                delay=mail.next_attempt_at - utcnow(),
            )
        db.session.commit()
        log.warning("mail %s not sent (attempt %s): %s", mail.id, mail.attempts, type(exc).__name__)
        return "failed"
    # Straight after the server accepted it: the window for a duplicate is this commit.
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id)
        .values(sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return "sent"


def send_queued_mail(limit: int = 50) -> tuple[int, int]:
    """Claim what is due in the outbox and send it from this process (``send-mail``, "Send
    now"); returns (sent, failed). Rows another process holds are skipped, not waited for.

    Without ``PANEL_SMTP_HOST`` mail stays queued (and is visible to coordinators), which is
    what a machine without a mail server needs.
    """
    if not current_app.config.get("SMTP_HOST"):
        return 0, 0
    sent = failed = 0
    for mail_id in claim(limit=limit):
        if deliver(mail_id) == "sent":
            sent += 1
        else:
            failed += 1
    return sent, failed


def send_soon(ids) -> int:
    """Ask for a ``mail.send`` job for each of these rows that is due ("Send now" on the
    outbox page): the workers send them, not the request. Returns how many were asked for."""
    rows = db.session.execute(
        select(OutboxMail.id, OutboxMail.attempts, OutboxMail.next_attempt_at)
        .where(OutboxMail.id.in_(ids), _due(utcnow()))
        .order_by(OutboxMail.id)
    ).all()
    for mail_id, attempts, due_at in rows:
        jobs.enqueue("mail.send", _retry_key(mail_id, attempts, due_at), {"outbox_id": mail_id})
    return len(rows)


# --------------------------------------------------------------------------- jobs
@jobs.handler("mail.send", max_attempts=3)
def _send_job(job: Job) -> dict:
    """One attempt at one outbox row, if it can still be claimed (a job run twice, or one
    whose row another sender took, finds nothing to do)."""
    if not current_app.config.get("SMTP_HOST"):
        return {"outcome": "no mail server: kept in the outbox"}
    mail_id = int(job.payload["outbox_id"])
    if not claim([mail_id], limit=1):
        return {"outcome": "not due or taken"}
    return {"outcome": deliver(mail_id)}


@jobs.handler("mail.sweep", max_attempts=1)
def _sweep_job(job: Job) -> dict:
    """Ask for a job for each due row that has waited past the grace (a retry whose job was
    lost, a claim that ran out, mail queued before a server was configured)."""
    if not current_app.config.get("SMTP_HOST"):
        return {"asked": 0}
    rows = db.session.execute(
        select(OutboxMail.id, OutboxMail.attempts, OutboxMail.next_attempt_at)
        .where(_due(utcnow() - SWEEP_GRACE))
        .order_by(OutboxMail.id)
        .limit(500)
    ).all()
    for mail_id, attempts, due_at in rows:
        jobs.enqueue("mail.send", _retry_key(mail_id, attempts, due_at), {"outbox_id": mail_id})
    return {"asked": len(rows)}


jobs.every("mail.sweep", SWEEP_PERIOD)

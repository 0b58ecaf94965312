"""E-mail through an outbox table: queued inside the action's transaction, sent after commit.

Sending never blocks or breaks the action that caused it: a failure is stored on the row with
its error and retried with back-off (``flask --app panel send-mail`` or the next request that
sends mail). E-mails carry no clinical content: a case reference and a link at most.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select

from panel.core.db import db, utcnow
from panel.core.models import OutboxMail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def queue_mail(to_addr: str, subject: str, body: str, *, panel_id: int | None = None) -> OutboxMail:
    """Add a message to the outbox in the current transaction (``panel_id``: the panel whose
    case or meeting it is about, so only that panel's coordinators see it if it fails)."""
    mail = OutboxMail(to_addr=to_addr, subject=subject, body=body, panel_id=panel_id)
    db.session.add(mail)
    db.session.flush()
    return mail


def _send_one(mail: OutboxMail) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
        smtp.send_message(msg)


def send_queued_mail(limit: int = 50) -> tuple[int, int]:
    """Send what is due in the outbox; returns (sent, failed). Commits its own bookkeeping.

    Without ``PANEL_SMTP_HOST`` mail stays queued (and is visible to coordinators), which is
    what a machine without a mail server needs.
    """
    if not current_app.config.get("SMTP_HOST"):
        return 0, 0
    now = utcnow()
    due = db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < MAX_ATTEMPTS)
        .where(or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now))
        .order_by(OutboxMail.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    for mail in due:
        mail.attempts += 1
        try:
            _send_one(mail)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
            mail.next_attempt_at = utcnow() + timedelta(minutes=2 ** min(mail.attempts, 8))
            log.warning(
                "mail %s not sent (attempt %s): %s", mail.id, mail.attempts, type(exc).__name__
            )
        else:
            sent += 1
            mail.sent_at = utcnow()
            mail.last_error = None
        db.session.commit()
    return sent, failed

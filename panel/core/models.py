"""Shared mechanics' tables: the audit trail, the mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.core.db import UTCDateTime, db, utcnow


class AuditEntry(db.Model):
    """One row of the append-only, hash-chained audit trail.

    ``entry_hash`` is SHA-256 over the previous row's hash and this row's canonical content,
    so editing or deleting any row breaks the chain from that row on (``flask audit-verify``).
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(255), default="system")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    panel_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    clinical: Mapped[bool] = mapped_column(default=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)


class OutboxMail(db.Model):
    """An e-mail waiting to be sent. Written in the same transaction as the action that caused
    it, sent after the commit; failures stay here with their error and are retried."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The panel whose case or meeting the mail is about (None: account mail such as a password
    # reset). Coordinators see the failing mail of their own panels only; admins see all.
    panel_id: Mapped[int | None] = mapped_column(Integer)


class AuditChainHead(db.Model):
    """A single row holding the audit chain's last sequence number and hash.

    Updating it first takes a row lock (PostgreSQL) or the write lock (SQLite), so concurrent
    writers from several processes append to the chain one after the other and never fork it.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class Notification(db.Model):
    """An in-app notification (the bell). Like the e-mails, it carries no clinical content:
    a short text naming the case reference or meeting, and a link."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(500), default="")
    #: The case it is about, by reference (core does not know cases), or None.
    case_ref: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),)


class Job(db.Model):
    """One piece of background work (:mod:`panel.core.jobs`): written in the transaction that
    asks for it, published to the queue after that transaction commits, claimed by one worker.

    ``key`` makes a job idempotent: asking twice for the same work (a retried request, a
    scheduler on two machines) finds the first row. ``payload`` holds ids and flags only, never
    clinical text; ``last_error`` the failure's kind and a message written by Panel, never an
    exception's text (which may quote data). ``done``/``total`` is the progress people see: a
    group job (an upload) counts its child jobs as they finish.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(String(120))
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    audit_type = "job"

    def can_view(self, user) -> bool:
        """Who may follow a job (``GET /api/v1/jobs/{id}``). A domain that owns a kind of group
        job says who may follow it and its children (:func:`panel.core.jobs.access_rule`; an
        upload's: those who may see the upload, ``Case.can_see_upload``); other case work (PDFs,
        re-matching) nobody from outside; any other job, the person who asked for it and admins
        (a job holds ids and counts, never clinical content)."""
        if not getattr(user, "is_authenticated", False):
            return False
        group = self
        if self.kind != "group" and self.parent_id is not None:
            group = db.session.get(Job, self.parent_id) or self
        from panel.core.jobs import access_rules  # the domains' rules (core imports none)

        for rule in access_rules():
            verdict = rule(group, user)
            if verdict is not None:
                return verdict
        if self.case_id is not None:
            return False  # other case work (PDFs, re-matching) is not followed from outside
        return self.created_by_id == user.id or bool(getattr(user, "is_admin", False))

    def as_json(self) -> dict:
        """What ``GET /api/v1/jobs/{id}`` and the progress bars show."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "failed": self.failed,
            "total": self.total,
            "result": self.result or {},
            "error": self.last_error if self.state == "failed" else None,
        }

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

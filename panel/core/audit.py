"""The audit trail: who did what, when, to which object, from where.

Every state change calls :func:`record` inside the same transaction as the change itself, so
an action and its audit entry are committed (or rolled back) together. Reading clinical content
(a case page, a letter, revisions, images, the API's case) calls :func:`record_read`, whose
entries are written after the response has been sent, in a short transaction of their own, in
the same chain. Entries are chained by hash; :func:`verify_chain` walks the chain and names the
first row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import after_this_request, current_app, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import select, update

from panel.core.db import db, utcnow
from panel.core.models import AuditChainHead, AuditEntry

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64

#: Actions that record a read (written by :func:`record_read`); the audit browser hides them
#: unless asked to show them.
READ_ACTIONS = frozenset(
    {
        "case.viewed",  # the case page; the API's GET of a case (details: via)
        "case.revisions_viewed",  # the revisions page
        "case.matches_viewed",  # the trial suggestions (page of their own, API)
        "case.timeline_viewed",  # the case timeline through the API (the page: case.viewed)
        "letter.viewed",  # a letter as HTML, by staff or by the family (details: kind)
        "images.viewed",  # a series (viewer, frames, thumbnails) or a document preview
    }
)


def _canonical(entry: Any) -> bytes:
    payload = {
        "id": entry.id,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "panel_id": entry.panel_id,
        "ip": entry.ip,
        "details": entry.details,
        "clinical": bool(entry.clinical),
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(entry: Any) -> str:
    """The SHA-256 that chains ``entry`` to its predecessor."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose values differ, as ``{field: [old, new]}``."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def _current_actor():
    if not has_request_context():
        return None
    try:
        user = current_user._get_current_object()
    except Exception:  # noqa: BLE001 - no login manager in this context
        return None
    return user if getattr(user, "is_authenticated", False) else None


def record(
    action: str,
    *,
    obj: Any = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    actor: Any = None,
    actor_label: str | None = None,
    panel_id: int | None = None,
    details: dict[str, Any] | None = None,
    clinical: bool = False,
) -> AuditEntry:
    """Append an entry to the audit trail in the current transaction (flushed, not committed).

    ``obj`` may be any model with an ``audit_type`` attribute and an ``id``; the actor defaults
    to the logged-in user. ``clinical`` marks entries whose details carry clinical content,
    which admins (who see no clinical content) do not see.
    """
    object_type, object_id, panel_id = _object(obj, object_type, object_id, panel_id)
    if actor is None:
        actor = _current_actor()
    if actor_label is None:
        actor_label = actor.email if actor is not None else "system"
    return _append(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label,
        object_type=object_type,
        object_id=object_id,
        panel_id=panel_id,
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
        clinical=clinical,
    )


def _object(obj: Any, object_type: str | None, object_id: Any, panel_id: int | None):
    """(object_type, object_id, panel_id) of an entry, taken from ``obj`` where not given."""
    if obj is not None:
        object_type = object_type or getattr(obj, "audit_type", type(obj).__name__.lower())
        object_id = object_id if object_id is not None else getattr(obj, "audit_id", obj.id)
        if panel_id is None:
            panel_id = getattr(obj, "audit_panel_id", None)
    return object_type, str(object_id) if object_id is not None else None, panel_id


def _append(
    *,
    action: str,
    actor_id: int | None,
    actor_label: str,
    object_type: str | None,
    object_id: str | None,
    panel_id: int | None,
    ip: str | None,
    details: dict[str, Any],
    clinical: bool,
) -> AuditEntry:
    """Append one entry at the end of the chain, in the current transaction (flushed)."""
    session = db.session
    # Take the chain's lock first: on PostgreSQL a row lock, on SQLite the database write lock.
    # One statement claims the next number and reads the previous hash (RETURNING: SQLite 3.35+).
    head = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_seq=AuditChainHead.last_seq + 1)
        .returning(AuditChainHead.last_seq, AuditChainHead.last_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if head is None:
        session.add(AuditChainHead(id=1, last_seq=1, last_hash=GENESIS_HASH))
        session.flush()
        head = session.execute(
            select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
        ).one()

    entry = AuditEntry(
        id=head.last_seq,
        at=utcnow(),
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        panel_id=panel_id,
        ip=ip,
        details=details,
        clinical=clinical,
        prev_hash=head.last_hash,
    )
    entry.entry_hash = compute_hash(entry)
    session.add(entry)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_hash=entry.entry_hash)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return entry


# --------------------------------------------------------------------------- reads
_PENDING = "_audit_pending_reads"
#: The Flask session keeps digests of the reads already recorded "once per session" (a few
#: bytes each, no identifiers); the oldest are forgotten past this many.
_SEEN_KEY = "_audit_seen"
_SEEN_MAX = 32


def record_read(
    action: str,
    *,
    obj: Any,
    actor: Any = None,
    actor_label: str | None = None,
    details: dict[str, Any] | None = None,
    clinical: bool = False,
    once_per_session: str | None = None,
) -> None:
    """Record that someone read ``obj`` (a case page, a letter, a series ...): the one helper
    every view that shows clinical content calls, after its access checks.

    Within a request nothing is written now: the entry (actor, address, object and panel taken
    now) is written after the response has been sent, in its own short transaction at the end
    of the same chain, so a page never waits for the chain's lock. It is written only when the
    response is a success (2xx): a refusal or an error records no read. A failure to write it
    is logged (without identifiers) and never reaches the user.

    ``once_per_session``: a key (e.g. a series UID) under which the read is recorded only once
    per server-side sign-in session (a viewer and its many frame requests: one entry).
    Outside a request (command line) the entry is written at once, in the current transaction.
    """
    if not has_request_context():
        record(
            action,
            obj=obj,
            actor=actor,
            actor_label=actor_label,
            details=details,
            clinical=clinical,
        )
        return
    if actor is None:
        actor = _current_actor()
    object_type, object_id, panel_id = _object(obj, None, None, None)
    seen = None
    if once_per_session is not None:
        seen = _session_digest(actor, action, object_id, once_per_session)
        if seen is not None and seen in (session.get(_SEEN_KEY) or ()):
            return
    pending = g.get(_PENDING)
    if pending is None:
        pending = g.setdefault(_PENDING, [])
        after_this_request(_write_after_response)
    if seen is not None and any(p[1] == seen for p in pending):
        return
    pending.append(
        (
            {
                "action": action,
                "actor_id": actor.id if actor is not None else None,
                "actor_label": actor_label or (actor.email if actor is not None else "system"),
                "object_type": object_type,
                "object_id": object_id,
                "panel_id": panel_id,
                "ip": request.remote_addr,
                "details": details or {},
                "clinical": clinical,
            },
            seen,
        )
    )


def _session_digest(actor: Any, action: str, object_id: str | None, key: str) -> str | None:
    """A short digest naming (sign-in session, action, object, key), or None without a
    server-side session (API tokens, the family): then every read is recorded."""
    row = getattr(actor, "current_session", None)
    if row is None or getattr(row, "id", None) is None:
        return None
    raw = f"{row.id}\0{action}\0{object_id}\0{key}".encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def _write_after_response(response):
    pending = g.pop(_PENDING, None) or []
    if not pending or not 200 <= response.status_code < 300:
        return response
    digests = [d for _, d in pending if d is not None]
    if digests:
        known = [d for d in (session.get(_SEEN_KEY) or []) if d not in digests]
        session[_SEEN_KEY] = (known + digests)[-_SEEN_MAX:]
    response.call_on_close(
        partial(_write_reads, current_app._get_current_object(), [e for e, _ in pending])
    )
    return response


def _write_reads(app, entries: list[dict[str, Any]]) -> None:
    """Append the read entries in one short transaction of their own (after the response)."""
    with app.app_context():
        try:
            for entry in entries:
                _append(**entry)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - a read must never fail because of its audit entry
            # Actions and the error type only: no case references, users or addresses.
            log.error(
                "read audit entries not written (%s): %s",
                ", ".join(sorted({e["action"] for e in entries})),
                type(exc).__name__,
            )
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 - the connection may be gone
                log.warning("rollback after a failed read audit entry failed")


@dataclass
class ChainProblem:
    entry_id: int
    reason: str


def verify_chain(batch_size: int = 5000) -> tuple[int, ChainProblem | None]:
    """Walk the whole chain in id order. Returns (rows checked, first problem or None)."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    for entry in _iter_entries(batch_size):
        if entry.id != expected_id:
            return checked, ChainProblem(expected_id, f"row {expected_id} is missing")
        if entry.prev_hash != expected_prev:
            return checked, ChainProblem(entry.id, "does not follow the previous row")
        if compute_hash(entry) != entry.entry_hash:
            return checked, ChainProblem(entry.id, "its content was changed after it was written")
        expected_prev = entry.entry_hash
        expected_id += 1
        checked += 1
    head = db.session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return checked, ChainProblem(checked + 1, "rows at the end of the trail were removed")
    return checked, None


def _iter_entries(batch_size: int) -> Iterator[Any]:
    """Rows as plain tuples (not ORM objects), so a long trail does not fill the session."""
    table = AuditEntry.__table__
    last_id = 0
    while True:
        rows = db.session.execute(
            select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id

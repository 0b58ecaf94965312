"""The audit trail: who did what, when, to which object, from where.

Every state change calls :func:`record` inside the same transaction as the change itself, so
an action and its audit entry are committed (or rolled back) together. Entries are chained by
hash; :func:`verify_chain` walks the chain and names the first row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, update

from panel.core.db import db, utcnow
from panel.core.models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64


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
    if obj is not None:
        object_type = object_type or getattr(obj, "audit_type", type(obj).__name__.lower())
        object_id = object_id if object_id is not None else getattr(obj, "audit_id", obj.id)
        if panel_id is None:
            panel_id = getattr(obj, "audit_panel_id", None)
    if actor is None:
        actor = _current_actor()
    if actor_label is None:
        actor_label = actor.email if actor is not None else "system"
    ip = request.remote_addr if has_request_context() else None

    session = db.session
    # Take the chain's lock first: on PostgreSQL a row lock, on SQLite the database write lock.
    result = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_seq=AuditChainHead.last_seq + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        session.add(AuditChainHead(id=1, last_seq=1, last_hash=GENESIS_HASH))
        session.flush()
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one()

    entry = AuditEntry(
        id=head.last_seq,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        panel_id=panel_id,
        ip=ip,
        details=details or {},
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

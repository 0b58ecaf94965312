"""Notifications: in-app (the bell) and by e-mail, in one call.

Both carry no clinical content: the text names a case reference or a meeting and the link
points into Panel, where access is checked as usual. The e-mail goes through the outbox in
the action's own transaction, with the job that sends it (:mod:`panel.core.mail`): a worker
sends it once the action has committed, so a slow or broken mail server never delays or breaks
the action; failures stay in the outbox, are retried and are shown to coordinators.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from panel.core.db import db, utcnow
from panel.core.mail import queue_mail
from panel.core.models import Notification
from panel.core.web import external_url


def notify(
    users: Iterable[Any],
    *,
    panel_id: int | None,
    kind: str,
    text: str,
    link: str,
    exclude: Any | None = None,
    email: bool = True,
    case_ref: str | None = None,
) -> list[Notification]:
    """Tell each (distinct, active) user about something: a bell item and, unless ``email`` is
        false, an e-mail with the same text and an absolute link. ``exclude`` is usually the person
        who did the thing. ``panel_id`` is the panel the thing belongs to (a case's or a meeting's):
        the outbox shows that panel's coordinators the mail. ``case_ref`` is the reference of the case
    it is about (kept on the bell item), if any. Never put clinical content in ``text``.

        ``users`` are :class:`~panel.accounts.models.User` rows (core does not import accounts)."""
    seen: set[int] = set()
    made: list[Notification] = []
    for user in users:
        if (
            user is None
            or user.id in seen
            or not user.active
            or (exclude is not None and user.id == exclude.id)
        ):
            continue
        seen.add(user.id)
        note = Notification(
            user_id=user.id, kind=kind, text=text[:300], link=link, case_ref=case_ref
        )
        db.session.add(note)
        made.append(note)
        if email:
            queue_mail(
                user.email,
                f"[Panel] {text[:200]}",
                f"{text}\n\nOpen it in Panel: {external_url(link)}\n\n"
                "This message contains no clinical details. Sign in to Panel to read them.\n",
                panel_id=panel_id,
            )
    db.session.flush()
    return made


def case_referrers(case) -> list[Any]:
    """The case's creator and co-referrers."""
    return [case.created_by, *(r.user for r in case.co_referrers)]


def unread_count(user: Any) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(user: Any, ids: Iterable[int] | None = None) -> None:
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    db.session.execute(stmt.values(read_at=utcnow()))

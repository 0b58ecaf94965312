"""The in-app notifications (the bell in the navigation bar and its list) and, for
coordinators and admins, the mail outbox: e-mails not sent yet, with their errors.

Neither carries clinical content: notification texts and e-mail subjects name a case reference
or a meeting, and link into Panel where access is checked as usual.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, update

from panel.core import audit
from panel.core.auth import roles_required, signed_in_user
from panel.core.db import db, utcnow
from panel.core.mail import MAX_ATTEMPTS, send_soon
from panel.core.models import Notification, OutboxMail
from panel.core.notify import mark_read, unread_count
from panel.core.views import COORDINATOR
from panel.core.web import safe_next

bp = Blueprint("notifications", __name__)

LATEST = 100
OUTBOX_ROWS = 200


_user = signed_in_user


@bp.app_template_global()
def unread_notifications() -> int:
    """The signed-in user's unread notifications (one COUNT query per request; 0 when signed out)."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = unread_count(_user())
    return g.unread_notifications


def is_local_link(link: str | None) -> bool:
    """Only paths inside Panel: "/cases/NB-..." yes; "//host", "/\\host", "https://..." no."""
    return safe_next(link) is not None


@bp.route("/notifications")
@login_required
def index():
    items = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(LATEST)
    ).all()
    return render_template(
        "core/notifications.html", items=items, unread=sum(1 for n in items if n.read_at is None)
    )


@bp.route("/notifications/<int:id>/open", methods=["POST"])
@login_required
def open(id: int):  # noqa: A001 - the endpoint's name is part of the URL map ("notifications.open")
    """Mark one notification read and follow its link (only a path inside Panel)."""
    note = db.session.get(Notification, id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.commit()
    if is_local_link(note.link):
        return redirect(note.link)
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    mark_read(_user())
    db.session.commit()
    flash("All notifications marked as read.", "success")
    return redirect(url_for("notifications.index"))


# --------------------------------------------------------------------------- outbox
def _pending_stmt():
    """Unsent mail this user may see: admins all of it; coordinators the mail about their own
    panels' cases and meetings (not other panels', not account mail)."""
    stmt = select(OutboxMail).where(OutboxMail.sent_at.is_(None))
    user = _user()
    if not user.is_admin:
        stmt = stmt.where(OutboxMail.panel_id.in_(list(user.panel_ids(COORDINATOR))))
    return stmt


@bp.route("/outbox")
@roles_required("is_coordinator", "is_admin")
def outbox():
    """E-mails not sent yet: queued, failing (retried with back-off) and given up."""
    rows = db.session.scalars(
        _pending_stmt()
        .order_by(
            OutboxMail.last_error.is_(None), OutboxMail.created_at.desc(), OutboxMail.id.desc()
        )
        .limit(OUTBOX_ROWS)
    ).all()
    return render_template(
        "core/outbox.html",
        rows=rows,
        now=utcnow(),
        max_attempts=MAX_ATTEMPTS,
        smtp_configured=bool(current_app.config.get("SMTP_HOST")),
    )


@bp.route("/outbox/retry", methods=["POST"])
@roles_required("is_coordinator", "is_admin")
def retry_outbox():
    """Send what is waiting now: failed e-mails are due again at once (those that had given up
    get one more attempt)."""
    now = utcnow()
    # Failed rows carry their error; a row being sent right now (claimed: attempts counted, no
    # error yet) is left to its sender, so "Send now" never sends it a second time.
    failed = OutboxMail.last_error.is_not(None)
    visible = _pending_stmt().with_only_columns(OutboxMail.id).scalar_subquery()
    db.session.execute(
        update(OutboxMail).where(OutboxMail.id.in_(visible), failed).values(next_attempt_at=now)
    )
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(visible), OutboxMail.attempts >= MAX_ATTEMPTS)
        .values(attempts=MAX_ATTEMPTS - 1)
    )
    audit.record("mail.retry_requested", actor=_user())
    if not current_app.config.get("SMTP_HOST"):
        db.session.commit()
        flash(
            "No mail server is configured (PANEL_SMTP_HOST): e-mails stay in the outbox.", "warning"
        )
        return redirect(url_for("notifications.outbox"))
    # The background workers send them (each row claimed, so never twice), not this request.
    asked = send_soon(db.session.scalars(_pending_stmt().with_only_columns(OutboxMail.id)).all())
    db.session.commit()
    flash(
        f"{asked} e-mail{'s are' if asked != 1 else ' is'} being sent now; this page shows "
        "any that fail again.",
        "success",
    )
    return redirect(url_for("notifications.outbox"))

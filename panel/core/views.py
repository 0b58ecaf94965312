"""The home page for each role, the health check and the audit trail browser."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select, text

from panel.core import audit
from panel.core.auth import roles_required
from panel.core.db import db
from panel.core.models import AuditEntry, OutboxMail
from panel.core.web import page_arg

bp = Blueprint("core", __name__)

#: Panels coordinated by a user: ``user.panel_ids(COORDINATOR)`` (the value of
#: ``PanelRoleKind.COORDINATOR``; core does not import accounts).
COORDINATOR = "coordinator"

#: What each domain adds to the home page: ``fn(user) -> dict`` of template variables,
#: registered with :func:`home_section` (accounts: the admin's counts; cases: the case lists).
HOME_SECTIONS: list[Callable[[object], dict]] = []


def home_section(fn: Callable[[object], dict]) -> Callable[[object], dict]:
    """Register ``fn(user)`` as a part of the home page (core imports no domain)."""
    if fn not in HOME_SECTIONS:
        HOME_SECTIONS.append(fn)
    return fn


AUDIT_PAGE = 50
#: Cases listed on a home page (most recent or longest waiting first); triage has the full queue.
HOME_LIST = 50


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers. No authentication and no data."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    from panel.core.jobs import health, worker_problem

    queue = health()
    body = {"status": "ok", "database": "ok", "queue": queue}
    problem = worker_problem(queue)
    if problem:
        # Still 200: the pages work and a load balancer must keep sending requests here;
        # background work waits (for the broker, or for a worker). Monitoring alerts on it.
        body["status"] = "degraded"
        body["problem"] = problem
    return jsonify(body)


@bp.route("/")
@login_required
def home():
    ctx: dict = {}
    if current_user.is_coordinator or current_user.is_admin:
        failing = (
            select(func.count())
            .select_from(OutboxMail)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.last_error.is_not(None))
        )
        if not current_user.is_admin:  # coordinators: their own panels' mail only
            failing = failing.where(
                OutboxMail.panel_id.in_(list(current_user.panel_ids(COORDINATOR)))
            )
        ctx["mail_failing"] = db.session.scalar(failing)
    user = current_user._get_current_object()
    for section in HOME_SECTIONS:
        ctx.update(section(user))
    return render_template("core/home.html", **ctx)


@bp.route("/audit")
@roles_required("is_coordinator", "is_admin")
def audit_trail():
    """Coordinators see their panels' entries and their own; admins see all entries but not
    the details of clinical ones. Reads (who viewed a case, a letter, images) are left out
    unless asked for (``reads=1``, or an action filter naming a read action)."""
    page = page_arg()
    action = (request.args.get("action") or "").strip()
    obj = (request.args.get("object") or "").strip()
    actor = (request.args.get("actor") or "").strip().lower()
    reads = request.args.get("reads") == "1" or action in audit.READ_ACTIONS
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    coordinated = current_user.panel_ids(COORDINATOR)
    if not current_user.is_admin:
        stmt = stmt.where(
            or_(
                AuditEntry.panel_id.in_(coordinated),
                AuditEntry.actor_id == current_user.id,
            )
        )
    if action:
        stmt = stmt.where(AuditEntry.action.like(f"{action}%"))
    if obj:
        typ, _, oid = obj.partition(":")
        stmt = stmt.where(AuditEntry.object_type == typ)
        if oid:
            stmt = stmt.where(AuditEntry.object_id == oid)
    if actor:
        stmt = stmt.where(AuditEntry.actor_label.like(f"%{actor}%"))
    if not reads:
        stmt = stmt.where(AuditEntry.action.not_in(audit.READ_ACTIONS))
    rows = db.session.scalars(stmt.limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE)).all()
    has_next = len(rows) > AUDIT_PAGE
    audit.record(
        "audit.viewed",
        details={"page": page, "action": action, "object": obj, "actor": actor, "reads": reads},
    )
    db.session.commit()
    return render_template(
        "core/audit.html",
        rows=rows[:AUDIT_PAGE],
        page=page,
        has_next=has_next,
        action=action,
        obj=obj,
        actor=actor,
        reads=reads,
        clinical_panels=coordinated,
        read_actions=audit.READ_ACTIONS,
    )

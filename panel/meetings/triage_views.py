"""Triage pages: the coordinator's queue, urgency, referring a case on to another panel, and
the triage box on the case page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from panel.accounts.models import Panel, PanelRoleKind
from panel.cases.models import Case
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import IdentifiersFound, Refused
from panel.core.web import attempt, forbidding, int_arg, safe_next
from panel.meetings import bp, operations, triage
from panel.meetings.forms import ReferOnForm
from panel.privacy.guard import identifiers_message

_user = signed_in_user


def _back(case: Case, anchor: str | None = "triage") -> str:
    return safe_next(request.form.get("next")) or url_for(
        "cases.show", ref=case.reference, _anchor=anchor
    )


# --------------------------------------------------------------------------- the queue
@bp.route("/triage", endpoint="triage")
@login_required
def triage_queue():
    """The work queue of the panels the user coordinates."""
    user = _user()
    coordinated = user.panel_ids(PanelRoleKind.COORDINATOR)
    if not coordinated:
        abort(403)
    panels = list(
        db.session.scalars(
            select(Panel).where(Panel.id.in_(list(coordinated))).order_by(Panel.code)
        )
    )
    chosen = (request.args.get("panel") or "").strip().upper()
    selected = next((p for p in panels if p.code == chosen), None)
    only = {selected.id} if selected else None
    rows = triage.triage_rows(user, only)
    total, urgent = triage.queue_totals(user, only)
    counts = {
        "total": total,
        "shown": len(rows),
        "urgent": urgent,
        "waiting_referrer": sum(1 for r in rows if r.info_open),
        "incomplete": sum(1 for r in rows if not r.complete),
        "long": sum(1 for r in rows if r.wait_level != "ok"),
    }
    return render_template(
        "meetings/triage.html",
        rows=rows,
        panels=panels,
        selected=selected,
        counts=counts,
        next_url=request.full_path.rstrip("?"),
    )


@bp.route("/triage/schedule", methods=["POST"])
@login_required
def triage_schedule():
    """The queue's "schedule" form names the meeting in a select; hand the same POST (307 keeps
    the method and body) to that meeting's agenda, which checks and adds the case."""
    if not _user().panel_ids(PanelRoleKind.COORDINATOR):
        abort(403)
    meeting_id = int_arg(request.form, "meeting")
    if not meeting_id:
        flash("Choose a meeting.", "danger")
        return redirect(safe_next(request.form.get("next")) or url_for("meetings.triage"))
    return redirect(triage.agenda_url(meeting_id), code=307)


# --------------------------------------------------------------------------- urgency
@bp.route("/cases/<ref>/urgency", methods=["POST"])
@login_required
def set_urgency(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    urgent = request.form.get("urgent") == "1"
    # case.can_set_urgency, asked by the operation: 403 for anyone who may not set it at all,
    # a message for the panel's coordinator once the case has been discussed.
    return attempt(
        forbidding(
            lambda: triage.set_urgency(case, urgent, by=user, reason=request.form.get("reason", ""))
        ),
        target=_back(case),
        success=f"{case.reference} is now {'urgent' if urgent else 'routine'}.",
    )


# --------------------------------------------------------------------------- refer on
@bp.route("/cases/<ref>/refer-on", methods=["GET", "POST"])
@login_required
def refer_on(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    if not case.is_coordinated_by(
        user
    ):  # the page is the coordinators'; Case.can_refer_on says when
        abort(403)
    targets = triage.referable_panels(case)
    form = ReferOnForm()
    form.panel.choices = [(0, "Choose a panel…")] + [
        (p.id, f"{p.code} · {p.name}") for p in targets
    ]
    blocked = None
    if operations.pending_item_for(case) is not None:
        blocked = "This case is on the agenda of an upcoming meeting: take it off the agenda before referring it on."
    elif case.status not in triage.REFERABLE:
        blocked = f"A case that is {case.status.label.lower()} cannot be referred on."
    status = 200
    if form.validate_on_submit():
        # A panel not offered (it does not take the case) is refused by the operation, with why.
        to_panel = db.session.get(Panel, form.panel.data) if 0 < form.panel.data < 2**31 else None
        try:
            if to_panel is None:
                raise Refused("Choose another panel to refer the case on to.", "panel")
            triage.refer_on(case, to_panel, reason=form.reason.data, by=user)
        except Refused as exc:
            db.session.rollback()
            status = exc.status
            if isinstance(exc, IdentifiersFound):
                form.reason.errors = [
                    identifiers_message(
                        exc.findings, what="Not referred on", again="Remove it and try again"
                    )
                ]
            else:
                (form.panel if exc.field == "panel" else form.reason).errors = [exc.message]
            case = load_case_or_404(ref, user)
        else:
            db.session.commit()
            flash(
                f"{case.reference} has been referred on to {to_panel.code}. Its coordinators have been told.",
                "success",
            )
            return redirect(url_for("meetings.triage"))
    elif request.method == "POST":
        status = 422
        if form.panel.data == 0 and not form.panel.errors:
            form.panel.errors = ["Choose a panel."]
    return render_template(
        "meetings/refer_on.html",
        case=case,
        form=form,
        blocked=blocked,
        history=triage.transfers_of(case),
    ), status


# --------------------------------------------------------------------------- case page box
def case_triage(case: Case) -> dict | None:
    """What the triage box on the case page shows to this user, or None to show nothing:
    coordinators of the case's panel get the controls; anyone who sees the case sees where it
    was referred from."""
    user = _user()
    if not getattr(user, "is_authenticated", False) or not case.can_view(user):
        return None
    history = triage.transfers_of(case) if case.submitted_at is not None else []
    coordinator = case.is_coordinated_by(user) and case.submitted_at is not None
    if not coordinator and not history:
        return None
    ctx: dict = {"history": history, "coordinator": coordinator, "meetings": [], "pending": None}
    if coordinator:
        ctx["pending"] = operations.pending_item_for(case)
        if case.status.value == "submitted" and ctx["pending"] is None:
            ctx["meetings"] = triage.upcoming_meetings_for({case.panel_id})
        ctx["can_refer"] = case.can_refer_on(user) and ctx["pending"] is None
        ctx["can_urgency"] = case.can_set_urgency(user)
    return ctx


@bp.app_template_global()
def triage_agenda_url(meeting_id: int) -> str:
    """Where a "schedule" form posts for a meeting."""
    return triage.agenda_url(meeting_id)


@bp.app_template_global()
def triage_when(dt, short: bool = False) -> str:
    """A UK-time label ("Thu 3 Dec 2026, 16:00 GMT"; ``short``: "Thu 3 Dec, 16:00 GMT")."""
    return triage.when_label(dt, short)

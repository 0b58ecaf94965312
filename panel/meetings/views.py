"""Meeting pages: the list, planning a meeting, the agenda (add, order, time, remove, publish),
attendance and quorum, closing, the calendar file and the agenda as PDF; plus the agenda box
on the case page.

Who may use what:
* list, agenda page, agenda PDF: anyone holding a role on the meeting's panel (members and
  chairs read only); anyone else, referrers and admins included: 404;
* planning, agenda changes, publishing, attendance, closing: the panel's coordinators (others
  on the panel: 403);
* the ``.ics`` file: the panel's people, and the referrers of a case listed on the published
  agenda (who see only their own case references); anyone else: 404.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.accounts.models import Panel, PanelRoleKind
from panel.accounts.queries import panel_people
from panel.cases.models import Case
from panel.core.auth import signed_in_user
from panel.core.db import db, utcnow
from panel.core.errors import Refused
from panel.core.uktime import to_uk, uk_label
from panel.core.views import home_section
from panel.core.web import attempt, external_url, int_arg, refusal_message, safe_next
from panel.meetings import bp, operations
from panel.meetings.access import load_meeting_or_404, meeting_page_options, on_panel
from panel.meetings.forms import EditMeetingForm, MeetingForm
from panel.meetings.ics import meeting_calendar
from panel.meetings.models import AgendaItem, Meeting, MeetingStatus
from panel.meetings.pdf import agenda_summaries

_user = signed_in_user


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _safe_next(value: str | None) -> str | None:
    """A local path to go back to (``/triage``), never another site."""
    if value and ":" in value.split("?", 1)[0]:
        return None
    return safe_next(value)


def _attempt(
    meeting: Meeting,
    action,
    *,
    success: str | None = None,
    anchor: str | None = None,
    next_url: str | None = None,
):
    """Run an operation, commit, and go back to the agenda (or ``next_url``); a refusal rolls
    back and is shown as a message."""
    return attempt(
        action,
        target=next_url or url_for("meetings.show", meeting_id=meeting.id, _anchor=anchor),
        success=success,
    )


def _item(meeting: Meeting, item_id: int) -> AgendaItem:
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None:
        abort(404)
    return item


def _panel_people_rows(meeting: Meeting) -> list[dict]:
    """The panel's people for the attendance list, chairs first, then members, coordinators."""
    order = {"chair": 0, "member": 1, "coordinator": 2}
    rows = []
    for person in panel_people(meeting.panel_id):
        role = operations.attendance_role(person, meeting.panel_id)
        rows.append({"user": person, "role": role})
    rows.sort(key=lambda r: (order.get(r["role"], 9), r["user"].name.lower()))
    return rows


# --------------------------------------------------------------------------- list
@bp.route("/meetings")
@login_required
def index():
    user = _user()
    panel_ids = user.panel_ids()
    if not panel_ids:
        abort(404)
    meetings = list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.panel_id.in_(panel_ids))
            .options(joinedload(Meeting.panel))
            .order_by(Meeting.starts_at.desc())
            .limit(200)
        )
    )
    now = utcnow()
    # A cancelled meeting still to come stays in "coming up", marked cancelled.
    upcoming = sorted(
        (
            m
            for m in meetings
            if (m.is_open or m.status == MeetingStatus.CANCELLED) and m.ends_at > now
        ),
        key=lambda m: m.starts_at,
    )
    past = [m for m in meetings if m not in upcoming]
    coordinated = user.panel_ids(PanelRoleKind.COORDINATOR)
    return render_template(
        "meetings/index.html",
        upcoming=upcoming,
        past=past,
        can_plan=bool(coordinated),
        coordinated=coordinated,
        uk_label=uk_label,
    )


# --------------------------------------------------------------------------- plan / edit
def _zone_hint() -> str:
    return "UK time (GMT in winter, BST in summer)"


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new():
    user = _user()
    coordinated = user.panel_ids(PanelRoleKind.COORDINATOR)
    if not coordinated:
        abort(404 if not user.panel_ids() else 403)
    panels = list(
        db.session.scalars(
            select(Panel).where(Panel.id.in_(coordinated)).order_by(Panel.scope, Panel.code)
        )
    )
    form = MeetingForm()
    form.panel_id.choices = [(p.id, f"{p.name} ({p.code})") for p in panels]
    if request.method == "GET" and int_arg(request.args, "panel") in coordinated:
        form.panel_id.data = int_arg(request.args, "panel")
    status = 200
    if form.validate_on_submit():
        panel = next(p for p in panels if p.id == form.panel_id.data)
        try:
            meeting = operations.create_meeting(
                panel,
                day=form.day.data,
                at=form.at.data,
                duration_minutes=form.duration_minutes.data,
                video_link=form.video_link.data or "",
                title=form.title.data or "",
                by=user,
            )
        except Refused as exc:
            db.session.rollback()
            _field_error(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash(
                f"Meeting planned for {uk_label(meeting.starts_at)}. Now add cases to its agenda.",
                "success",
            )
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "meetings/form.html",
        form=form,
        meeting=None,
        panels=panels,
        zone_hint=_zone_hint(),
    ), status


def _field_error(form, exc: Refused) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    message = refusal_message(exc)
    if field is not None:
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    else:
        flash(message, "danger")


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    if meeting.status in (MeetingStatus.CLOSED, MeetingStatus.CANCELLED):
        flash(
            f"This meeting is {'closed' if meeting.is_closed else 'cancelled'} and can no longer change.",
            "warning",
        )
        return redirect(url_for("meetings.show", meeting_id=meeting.id))
    form = EditMeetingForm()
    status = 200
    if request.method == "GET":
        local = to_uk(meeting.starts_at)
        form.day.data, form.at.data = local.date(), local.time().replace(tzinfo=None)
        form.duration_minutes.data = meeting.duration_minutes
        form.video_link.data, form.title.data = meeting.video_link, meeting.title
        form.version.data = str(meeting.version)
    elif form.validate_on_submit():
        try:
            operations.update_meeting(
                meeting,
                day=form.day.data,
                at=form.at.data,
                duration_minutes=form.duration_minutes.data,
                video_link=form.video_link.data or "",
                title=form.title.data or "",
                by=user,
                expected_version=int(form.version.data)
                if (form.version.data or "").isdigit()
                else None,
            )
        except Refused as exc:
            db.session.rollback()
            _field_error(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash("Meeting updated.", "success")
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    else:
        status = 422
    return render_template(
        "meetings/form.html",
        form=form,
        meeting=meeting,
        panels=[meeting.panel],
        zone_hint=_zone_hint(),
    ), status


# --------------------------------------------------------------------------- the agenda page
@bp.route("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user)
    coordinator = meeting.can_manage(user)
    editable = coordinator and meeting.status in operations.OPEN_STATUSES
    now = utcnow()
    items = meeting.active_items
    attending = {a.user_id: a for a in meeting.attendance}
    guest_rows = operations.guest_candidates(meeting) if coordinator else {}
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        items=items,
        slots=operations.slot_times(meeting),
        summaries=agenda_summaries(items, user),
        viewer=user,
        coordinator=coordinator,
        editable=editable,
        over=meeting.ends_at <= now,
        started=meeting.starts_at <= now,
        candidates=operations.cases_to_schedule(meeting)
        if editable and meeting.ends_at > now
        else [],
        people=_panel_people_rows(meeting) if coordinator else [],
        attending=attending,
        apologising={a.user_id for a in meeting.apologies},
        guest_rows=sorted(guest_rows.values(), key=lambda r: (r["role"], r["user"].name.lower())),
        guest_access=_guest_access(meeting) if coordinator else [],
        default_until=_default_until(),
        centres=operations.presenting_centres(items),
        can_record_attendance=meeting.can_record_attendance(user, now),
        can_record_apologies=meeting.can_record_apologies(user),
        can_cancel=meeting.can_cancel(user),
        can_invite=meeting.can_invite_guests(user),
        next_meeting=operations.next_meeting_after(meeting) if editable else None,
        uk_label=uk_label,
        to_uk=to_uk,
        present_url=_present_url(meeting),
    )


def _guest_access(meeting: Meeting):
    from panel.meetings.guests import meeting_guest_access

    return meeting_guest_access(meeting)


def _default_until():
    from panel.meetings.guests import default_until

    return default_until()


def _present_url(meeting: Meeting) -> str | None:
    if "meetings.present" in current_app.view_functions:
        return url_for("meetings.present", meeting_id=meeting.id)
    return None


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@login_required
def add_item(meeting_id: int):
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    next_url = _safe_next(request.form.get("next"))
    reference = (request.form.get("case") or "").strip().upper()
    case = db.session.scalar(select(Case).where(Case.reference == reference)) if reference else None
    minutes = request.form.get("minutes") or 15

    def add():
        if case is None or not case.can_view(user):
            raise Refused(
                f"There is no case {reference or '(none chosen)'} for this panel."
                if reference
                else "Choose a case to add.",
                "case",
            )
        operations.add_case(meeting, case, by=user, minutes=minutes)

    return _attempt(
        meeting,
        add,
        anchor="agenda",
        next_url=next_url,
        success=f"{reference} added to the agenda of the {operations.meeting_label(meeting)}.",
    )


@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>/move", methods=["POST"])
@login_required
def move_item(meeting_id: int, item_id: int):
    meeting = load_meeting_or_404(meeting_id, _user(), check="can_manage")
    item = _item(meeting, item_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    return _attempt(
        meeting,
        lambda: operations.move_item(item, -1 if direction == "up" else 1, by=_user()),
        anchor=f"item-{item.id}",
    )


@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>/remove", methods=["POST"])
@login_required
def remove_item(meeting_id: int, item_id: int):
    meeting = load_meeting_or_404(meeting_id, _user(), check="can_manage")
    item = _item(meeting, item_id)
    reference = item.case.reference
    return _attempt(
        meeting,
        lambda: operations.remove_case(item, by=_user()),
        anchor="agenda",
        success=f"{reference} was taken off the agenda and is back in triage.",
    )


@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>/time", methods=["POST"])
@login_required
def item_minutes(meeting_id: int, item_id: int):
    meeting = load_meeting_or_404(meeting_id, _user(), check="can_manage")
    item = _item(meeting, item_id)
    return _attempt(
        meeting,
        lambda: operations.set_item_minutes(item, request.form.get("minutes"), by=_user()),
        anchor=f"item-{item.id}",
    )


@bp.route("/meetings/<int:meeting_id>/reorder", methods=["POST"])
@login_required
def reorder(meeting_id: int):
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    raw = request.form.get("order", "")
    ids = [x.strip() for x in raw.split(",") if x.strip()]
    if not _wants_json():
        return _attempt(
            meeting,
            lambda: operations.reorder(meeting, ids, by=user),
            anchor="agenda",
            success="Agenda order saved.",
        )
    try:
        operations.reorder(meeting, ids, by=user)
    except Refused as exc:
        db.session.rollback()
        return jsonify({"error": refusal_message(exc)}), exc.status
    db.session.commit()
    slots = operations.slot_times(meeting)
    return jsonify(
        {
            "ok": True,
            "order": [i.id for i in meeting.active_items],
            "slots": {str(k): f"{to_uk(v):%H:%M}" for k, v in slots.items()},
        }
    )


@bp.route("/meetings/<int:meeting_id>/publish", methods=["POST"])
@login_required
def publish(meeting_id: int):
    meeting = load_meeting_or_404(meeting_id, _user(), check="can_manage")
    again = meeting.status == MeetingStatus.PUBLISHED
    return _attempt(
        meeting,
        lambda: operations.publish(meeting, by=_user()),
        success=(
            "Agenda published again: the panel and the referrers have been told about the changes."
            if again
            else "Agenda published: the panel and the referrers of the listed cases have been told."
        ),
    )


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@login_required
def attendance(meeting_id: int):
    """Attendance (once the meeting has started), guests and apologies, from one form: each
    person of the panel is "attended", "apologies" or not recorded."""
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    ids = request.form.getlist("attendee")
    guests = request.form.getlist("guest")
    # The form says it carries the apologies (so an older form leaves them as they are).
    apologies = request.form.getlist("apology") if request.form.get("with_apologies") else None
    # "attendee-<id>" radios: attended / apologies / none.
    for key, value in request.form.items():
        if key.startswith("presence-"):
            person = key.removeprefix("presence-")
            if value == "attended":
                ids.append(person)
            elif value == "apologies":
                apologies = [*(apologies or []), person]

    def record():
        operations.set_attendance(meeting, ids, guests=guests, apologies=apologies, by=user)
        if not meeting.has_started():
            flash(f"Apologies saved: {len(meeting.apologies)}.", "success")
            return
        state = (
            "quorum reached"
            if meeting.quorum_met
            else f"no quorum ({meeting.voting_attendance} of {meeting.panel.quorum})"
        )
        message = f"Attendance saved: {len(meeting.panel_attendance)} attending, {state}."
        if meeting.guests:
            message += f" Guests: {len(meeting.guests)}."
        if meeting.apologies:
            message += f" Apologies: {len(meeting.apologies)}."
        flash(message, "success" if meeting.quorum_met else "warning")

    return _attempt(meeting, record, anchor="attendance")


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["POST"])
@login_required
def cancel(meeting_id: int):
    """Cancel the meeting (``Meeting.can_cancel``; a reason is required)."""
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    reason = request.form.get("reason", "")
    return _attempt(
        meeting,
        lambda: operations.cancel_meeting(meeting, reason=reason, by=user),
        success=(
            "Meeting cancelled. Its cases are back in triage; the panel and the referrers have "
            "been told."
        ),
    )


@bp.route("/meetings/<int:meeting_id>/guests", methods=["POST"])
@login_required
def invite_guest(meeting_id: int):
    """Invite an external expert to the case of one agenda item (form field ``item``;
    read-only access until a date)."""
    from panel.meetings import guests

    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    item = _item(meeting, int_arg(request.form, "item") or 0)
    until = _date_arg(request.form.get("until"))
    email = request.form.get("email", "")
    reference = item.case.reference

    def invite():
        grant = guests.invite_expert(
            meeting, item, email=email, name=request.form.get("name", ""), until=until, by=user
        )
        flash(
            f"{grant.user.name} can read {reference} until the end of "
            f"{grant.last_day:%-d %b %Y} (UK time); "
            "they have been e-mailed.",
            "success",
        )

    return _attempt(meeting, invite, anchor="guests")


@bp.route("/meetings/<int:meeting_id>/guests/<int:access_id>/revoke", methods=["POST"])
@login_required
def revoke_guest(meeting_id: int, access_id: int):
    """End an invited expert's access to their case now."""
    from panel.cases.guests import CaseGuestAccess
    from panel.meetings import guests

    user = _user()
    meeting = load_meeting_or_404(meeting_id, user, check="can_manage")
    grant = db.session.get(CaseGuestAccess, access_id)
    if grant is None or grant.meeting_id != meeting.id:
        abort(404)
    name = grant.user.name
    return _attempt(
        meeting,
        lambda: guests.revoke_access(grant, by=user),
        anchor="guests",
        success=f"The access of {name} has been revoked.",
    )


def _date_arg(value: str | None):
    from datetime import date

    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@bp.route("/meetings/<int:meeting_id>/close", methods=["POST"])
@login_required
def close(meeting_id: int):
    meeting = load_meeting_or_404(meeting_id, _user(), check="can_manage")

    def do_close():
        pending = len(operations.pending_items(meeting))
        operations.close_meeting(meeting, by=_user())
        if pending:
            flash(
                f"Meeting closed. {pending} case{'s' if pending != 1 else ''} not discussed "
                f"{'were' if pending != 1 else 'was'} rolled over.",
                "success",
            )
        else:
            flash("Meeting closed.", "success")

    return _attempt(meeting, do_close)


# --------------------------------------------------------------------------- files
def _referrer_cases_on(meeting: Meeting, user) -> list[Case]:
    if meeting.status != MeetingStatus.PUBLISHED or not getattr(user, "is_referrer", False):
        return []
    return [i.case for i in meeting.active_items if i.case.is_referrer(user)]


@bp.route("/meetings/<int:meeting_id>.ics")
@login_required
def ics(meeting_id: int):
    user = _user()
    meeting = db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id).options(*meeting_page_options())
    )
    if meeting is None:
        abort(404)
    if on_panel(user, meeting.panel_id):
        listed = meeting.active_items
        link = external_url("meetings.show", meeting_id=meeting.id)
    else:
        own = _referrer_cases_on(meeting, user)
        if not own:
            abort(404)
        listed = [i for i in meeting.active_items if i.case in own]
        link = external_url("cases.show", ref=own[0].reference)
    # Each case with the centre presenting it (references and centre names: no clinical content).
    centres = operations.presenting_centres(listed)
    references = [
        f"{i.case.reference} ({centres[i.id]})" if i.id in centres else i.case.reference
        for i in listed
    ]
    body = meeting_calendar(meeting, base_url=external_url("/"), references=references, link=link)
    day = to_uk(meeting.starts_at)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="panel-{meeting.panel.code.lower()}-{day:%Y-%m-%d}.ics"',
        },
    )


@bp.route("/meetings/<int:meeting_id>/agenda.pdf", methods=["GET", "POST"])
@login_required
def agenda_pdf(meeting_id: int):
    """The agenda as the viewer may see it, printed by a ``pdf.render`` job (the preparing
    page until it is ready; a POST tries a failed job again)."""
    from panel.core import pdf
    from panel.meetings.pdf import agenda_html

    user = _user()
    meeting = load_meeting_or_404(meeting_id, user)
    day = to_uk(meeting.starts_at)
    name = f"agenda-{meeting.panel.code.lower()}-{day:%Y-%m-%d}.pdf"
    prepared = pdf.prepare(agenda_html(meeting, user), label="agenda", user_id=user.id)

    def stream(data: bytes) -> Response:
        return Response(
            data,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    return pdf.respond(
        prepared,
        stream,
        title="Meeting agenda",
        back=url_for("meetings.show", meeting_id=meeting.id),
    )


# --------------------------------------------------------------------------- case page box
def _may_see_agenda_box(case: Case, item: AgendaItem | None = None) -> str | None:
    """ "panel" for the case's panel people, "referrer" for its referrers, else None."""
    user = _user()
    if not getattr(user, "is_authenticated", False) or not case.can_view(user):
        return None
    if on_panel(user, case.panel_id):
        return "panel"
    if case.is_referrer(user):
        return "referrer"
    return None


def case_agenda_item(case: Case) -> AgendaItem | None:
    """The agenda item the case waits on, if this user may know about it (referrers only once
    the agenda is published)."""
    who = _may_see_agenda_box(case)
    if who is None or case.status.value not in ("scheduled", "submitted"):
        return None
    item = operations.pending_item_for(case)
    if item is None or item.meeting.status not in operations.OPEN_STATUSES:
        return None
    if who == "referrer" and item.meeting.status != MeetingStatus.PUBLISHED:
        return None
    return item


def case_last_rollover(case: Case) -> AgendaItem | None:
    """The item at which the case was last not reached, while it still waits (rolled over to
    a later agenda or back in triage); None once it has been discussed."""
    if case.status.value not in ("scheduled", "submitted") or _may_see_agenda_box(case) is None:
        return None
    if case.status.value == "submitted" and not case.rolled_over:
        return None
    return operations.last_rollover(case)


def agenda_slot_label(item: AgendaItem) -> str:
    """``16:30`` (UK time) for the planned start of an item."""
    at = operations.slot_times(item.meeting).get(item.id)
    return f"{to_uk(at):%H:%M}" if at else ""


@bp.app_template_global()
def meeting_when(moment) -> str:
    """``Thu 3 Dec 2026, 16:00 GMT``."""
    return uk_label(moment)


def agenda_status_panel(case: Case, user, state) -> dict | None:
    """The case page's agenda box: the item the case waits on (with its planned start and
    whether the user may open the agenda), else its last roll-over; None to show nothing."""
    item = case_agenda_item(case)
    if item is not None:
        return {
            "item": item,
            "slot_label": agenda_slot_label(item),
            "last_roll": None,
            "on_panel": on_panel(user, item.meeting.panel_id),
        }
    last_roll = case_last_rollover(case)
    if last_roll is None:
        return None
    return {"item": None, "slot_label": "", "last_roll": last_roll, "on_panel": False}


# --------------------------------------------------------------------------- home page
@home_section
def guest_home(user) -> dict:
    """An invited expert's home page: the cases they may read now, with the end of access.
    Nothing (and no query) for admins and the panels' people."""
    from panel.cases.guests import CaseGuestAccess

    if user.is_admin or user.panel_ids():
        return {}
    rows = db.session.scalars(
        select(CaseGuestAccess)
        .where(
            CaseGuestAccess.user_id == user.id,
            CaseGuestAccess.revoked_at.is_(None),
            CaseGuestAccess.expires_at > utcnow(),
        )
        .options(joinedload(CaseGuestAccess.case).joinedload(Case.panel))
        .order_by(CaseGuestAccess.expires_at)
    ).all()
    return {"guest_access": [g for g in rows if g.case.can_view(user)]}

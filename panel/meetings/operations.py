"""Meetings and their agendas: create and move a meeting, put cases on the agenda, order them,
publish the agenda, record who attended and close the meeting (rolling over what was not
discussed). Every function checks who may act, flushes and writes the audit trail; none commits.

Times are taken in UK time and stored in UTC (``panel.core.uktime``); the hour the clocks skip
in March and the hour they repeat in October are refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from panel.accounts.models import Panel, PanelRoleKind, User
from panel.accounts.queries import panel_people
from panel.cases import workflow
from panel.cases.models import Case, CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.uktime import UKTimeError, from_uk, uk_label
from panel.core.web import path_for
from panel.meetings import access
from panel.meetings.models import (
    AgendaItem,
    Apology,
    Attendance,
    ItemOutcome,
    Meeting,
    MeetingStatus,
)
from panel.privacy.guard import guard_texts

MIN_DURATION, MAX_DURATION = 15, 8 * 60
MIN_ITEM_MINUTES, MAX_ITEM_MINUTES = 1, 120
OPEN_STATUSES = (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s<>\"']*$", re.IGNORECASE)


# --------------------------------------------------------------------------- helpers
def meeting_label(meeting: Meeting) -> str:
    """``NAP meeting Thu 3 Dec 2026, 16:00 GMT``: no clinical content, safe for e-mail."""
    return f"{meeting.panel.code} meeting {uk_label(meeting.starts_at)}"


def _require_open(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.CLOSED:
        raise Refused("This meeting is closed; its agenda can no longer change.")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refused("This meeting was cancelled.")


def _require_not_over(meeting: Meeting) -> None:
    if meeting.ends_at <= utcnow():
        raise Refused("This meeting has already taken place; plan a new one instead.")


def _starts_at(day: date, at: time) -> datetime:
    if day is None or at is None:
        raise Refused("Enter the date and the start time (UK time).", "day")
    try:
        moment = from_uk(day, at)
    except UKTimeError as exc:
        raise Refused(str(exc), "at") from exc
    if moment <= utcnow():
        raise Refused(
            f"{uk_label(moment)} is in the past. A meeting must start in the future.", "day"
        )
    return moment


def _clean_details(title: str, video_link: str, duration_minutes: int) -> tuple[str, str, int]:
    title = " ".join((title or "").split())[:200]
    video_link = (video_link or "").strip()
    if video_link and (len(video_link) > 500 or not _URL.match(video_link)):
        raise Refused("The video link must be a web address starting with https://", "video_link")
    try:
        duration = int(duration_minutes)
    except (TypeError, ValueError) as exc:
        raise Refused("Enter the length of the meeting in minutes.", "duration_minutes") from exc
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise Refused(
            f"A meeting lasts between {MIN_DURATION} minutes and {MAX_DURATION // 60} hours.",
            "duration_minutes",
        )
    if title:
        guard_texts([("title", title)])
    return title, video_link, duration


def _snapshot(meeting: Meeting) -> dict:
    return {
        "starts_at": meeting.starts_at.isoformat() if meeting.starts_at else None,
        "duration_minutes": meeting.duration_minutes,
        "video_link": meeting.video_link,
        "title": meeting.title,
    }


# --------------------------------------------------------------------------- meetings
def create_meeting(
    panel: Panel,
    *,
    day: date,
    at: time,
    duration_minutes: int,
    video_link: str,
    title: str,
    by: User,
) -> Meeting:
    """Plan a meeting of ``panel`` at a UK wall-clock time (coordinators of that panel only)."""
    if not by.coordinates(panel.id):
        raise NotAllowed("Only the panel's coordinators plan its meetings.")
    starts_at = _starts_at(day, at)
    title, video_link, duration = _clean_details(title, video_link, duration_minutes)
    meeting = Meeting(
        panel_id=panel.id,
        panel=panel,
        title=title,
        starts_at=starts_at,
        duration_minutes=duration,
        video_link=video_link,
        status=MeetingStatus.PLANNED,
        created_by_id=by.id,
    )
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting.created", obj=meeting, actor=by, details=_snapshot(meeting))
    return meeting


def update_meeting(
    meeting: Meeting,
    *,
    day: date,
    at: time,
    duration_minutes: int,
    video_link: str,
    title: str,
    by: User,
    expected_version: int | None,
) -> Meeting:
    """Change the time, length, link or title. A stale form (``expected_version``) is refused
    with :class:`Conflict`; a published meeting's calendar event gets a new SEQUENCE and the
    panel is told when the time changes."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators change its meetings.")
    _require_open(meeting)
    if expected_version is not None and int(expected_version) != meeting.version:
        raise Conflict(
            "Someone else changed this meeting while you were editing it. Reload to see their changes; "
            "yours were not saved."
        )
    if day is None or at is None:
        raise Refused("Enter the date and the start time (UK time).", "day")
    try:
        wanted = from_uk(day, at)
    except UKTimeError as exc:
        raise Refused(str(exc), "at") from exc
    # An unchanged start may already be in the past (fixing the link during the meeting).
    new_start = meeting.starts_at if wanted == meeting.starts_at else _starts_at(day, at)
    title, video_link, duration = _clean_details(title, video_link, duration_minutes)
    before = _snapshot(meeting)
    moved = new_start != meeting.starts_at
    meeting.starts_at, meeting.duration_minutes = new_start, duration
    meeting.video_link, meeting.title = video_link, title
    changes = audit.diff(before, _snapshot(meeting))
    if not changes:
        return meeting
    if meeting.status == MeetingStatus.PUBLISHED:
        meeting.sequence = (meeting.sequence or 0) + 1
    db.session.flush()
    audit.record("meeting.updated", obj=meeting, actor=by, details={"changes": changes})
    if moved and meeting.status == MeetingStatus.PUBLISHED:
        notify(
            panel_people(meeting.panel_id),
            panel_id=meeting.panel_id,
            kind="meeting.moved",
            text=f"Meeting moved: {meeting_label(meeting)}",
            link=path_for("meetings.show", meeting_id=meeting.id),
            exclude=by,
        )
        for item in pending_items(meeting):
            notify(
                case_referrers(item.case),
                panel_id=item.case.panel_id,
                kind="meeting.moved",
                text=f"{item.case.reference} is now on the agenda of the {meeting_label(meeting)}",
                link=path_for("cases.show", ref=item.case.reference),
                exclude=by,
                case_ref=item.case.reference,
            )
    return meeting


def upcoming_meetings(panel_ids: Iterable[int], limit: int | None = 12) -> list[Meeting]:
    """Planned or published meetings of these panels that start in the future, soonest first
    (the next ``limit``: what a "schedule on" picker offers). Agendas are not loaded."""
    ids = list(panel_ids)
    if not ids:
        return []
    stmt = (
        select(Meeting)
        .where(
            Meeting.panel_id.in_(ids),
            Meeting.status.in_(OPEN_STATUSES),
            Meeting.starts_at > utcnow(),
        )
        .options(joinedload(Meeting.panel), lazyload(Meeting.items), lazyload(Meeting.attendance))
        .order_by(Meeting.starts_at)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def pending_items(meeting: Meeting) -> list[AgendaItem]:
    return [i for i in meeting.active_items if i.outcome_status == ItemOutcome.PENDING]


def pending_item_for(case: Case) -> AgendaItem | None:
    """The agenda item the case is waiting on, if any (at most one: a unique index says so)."""
    return db.session.scalar(
        select(AgendaItem).where(
            AgendaItem.case_id == case.id, AgendaItem.outcome_status == ItemOutcome.PENDING
        )
    )


def slot_times(meeting: Meeting) -> dict[int, datetime]:
    """The planned start (UTC) of each item on the agenda: the meeting start plus the minutes
    allotted to the items before it."""
    out: dict[int, datetime] = {}
    at = meeting.starts_at
    for item in _agenda(meeting):
        out[item.id] = at
        at = at + timedelta(minutes=item.minutes_allotted or 0)
    return out


def presenting_centres(items: Iterable[AgendaItem]) -> dict[int, str]:
    """The centre presenting each item's case (its referring centre), by item id, in one
    query. Centre names are not clinical content."""
    from panel.accounts.models import Centre

    items = list(items)
    ids = {i.case.referring_centre_id for i in items if i.case.referring_centre_id}
    if not ids:
        return {}
    names = dict(db.session.execute(select(Centre.id, Centre.name).where(Centre.id.in_(ids))).all())
    return {
        i.id: names[i.case.referring_centre_id]
        for i in items
        if i.case.referring_centre_id in names
    }


def _check_minutes(minutes) -> int:
    try:
        value = int(minutes)
    except (TypeError, ValueError) as exc:
        raise Refused("Enter the minutes for the case as a number.", "minutes") from exc
    if not MIN_ITEM_MINUTES <= value <= MAX_ITEM_MINUTES:
        raise Refused(
            f"Give a case between {MIN_ITEM_MINUTES} and {MAX_ITEM_MINUTES} minutes.", "minutes"
        )
    return value


def _agenda(meeting: Meeting) -> list[AgendaItem]:
    """The active items in their current order (positions may have changed since loading)."""
    return sorted(meeting.active_items, key=lambda i: (i.position, i.id or 0))


def _renumber(meeting: Meeting, items: list[AgendaItem]) -> None:
    for n, item in enumerate(items):
        item.position = n
    # Keep the loaded collection in the new order too (it is sorted by position on loading).
    meeting.items.sort(
        key=lambda i: (i.outcome_status == ItemOutcome.REMOVED, i.position, i.id or 0)
    )


def _in_savepoint(case: Case, change) -> None:
    """Make an agenda change and flush it inside a savepoint, so the database's own refusal
    (the unique partial index: one pending item per case) turns into a message instead of a
    broken transaction. Pending changes are flushed before the savepoint starts."""
    db.session.flush()
    try:
        with db.session.begin_nested():
            change()
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{case.reference} is already on an agenda; reload the page.") from exc


def add_case(meeting: Meeting, case: Case, *, by: User, minutes: int = 15) -> AgendaItem:
    """Put a submitted case of the meeting's panel at the end of the agenda. A case waits on
    one agenda at a time: scheduling it twice is a :class:`Conflict` naming the other meeting."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators put cases on the agenda.")
    _require_open(meeting)
    _require_not_over(meeting)
    minutes = _check_minutes(minutes)
    if case.panel_id != meeting.panel_id:
        raise Refused(
            f"{case.reference} belongs to another panel; it cannot go on this agenda.", "case"
        )
    existing = pending_item_for(case)
    if existing is not None:
        where = (
            "this agenda"
            if existing.meeting_id == meeting.id
            else f"the agenda of the {meeting_label(existing.meeting)}"
        )
        raise Conflict(f"{case.reference} is already on {where}. Take it off there first.", "case")
    if case.status != CaseStatus.SUBMITTED:
        raise Refused(
            f"{case.reference} is {case.status_label.lower()}; only submitted cases can go on an agenda.",
            "case",
        )
    position = max((i.position for i in meeting.active_items), default=-1) + 1
    holder: list[AgendaItem] = []

    def put_on_agenda():
        # The same case may have been taken off this agenda earlier: put that item back.
        item = next((i for i in meeting.items if i.case_id == case.id), None)
        if item is None:
            item = AgendaItem(meeting=meeting, case_id=case.id, case=case)
            db.session.add(item)
        item.position, item.minutes_allotted = position, minutes
        item.outcome_status, item.rolled_over_from_id = ItemOutcome.PENDING, None
        item.added_by_id, item.added_at = by.id, utcnow()
        now = utcnow()
        case.scheduled_at = case.scheduled_at or now
        case.triaged_at = case.triaged_at or now
        case.rolled_over = False
        case.updated_at = now
        holder.append(item)

    _in_savepoint(case, put_on_agenda)
    item = holder[0]
    workflow.apply(
        case,
        "schedule",
        by=by,
        details={
            "meeting_id": meeting.id,
            "starts_at": meeting.starts_at.isoformat(),
            "minutes": minutes,
        },
        meeting=meeting,
        meeting_label=meeting_label(meeting),
        published=meeting.status == MeetingStatus.PUBLISHED,
    )
    return item


def _item_action_checks(item: AgendaItem, by: User) -> Meeting:
    meeting = item.meeting
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators change the agenda.")
    _require_open(meeting)
    if item.outcome_status == ItemOutcome.REMOVED:
        raise Refused(f"{item.case.reference} is no longer on this agenda.")
    return meeting


def remove_case(item: AgendaItem, *, by: User) -> None:
    """Take a case off the agenda before it is discussed; it goes back to triage (submitted)."""
    meeting = _item_action_checks(item, by)
    if item.outcome_status != ItemOutcome.PENDING:
        raise Refused(f"{item.case.reference} has already been discussed at this meeting.")
    case = item.case
    item.outcome_status = ItemOutcome.REMOVED
    _renumber(meeting, _agenda(meeting))
    db.session.flush()
    details = {"meeting_id": meeting.id}
    if case.status == CaseStatus.SCHEDULED:
        workflow.apply(
            case,
            "unschedule",
            by=by,
            details=details,
            meeting=meeting,
            meeting_label=meeting_label(meeting),
            published=meeting.status == MeetingStatus.PUBLISHED,
        )
    else:  # e.g. withdrawn while on the agenda: the item goes, the case's state stays
        audit.record("case.unscheduled", obj=case, actor=by, details=details)


def move_item(item: AgendaItem, delta: int, *, by: User) -> None:
    """Move an item up (``delta`` < 0) or down the agenda by one place."""
    meeting = _item_action_checks(item, by)
    items = _agenda(meeting)
    index = items.index(item)
    target = index + (1 if delta > 0 else -1)
    if delta == 0 or not 0 <= target < len(items):
        return
    items[index], items[target] = items[target], items[index]
    _renumber(meeting, items)
    db.session.flush()
    audit.record(
        "meeting.agenda_reordered",
        obj=meeting,
        actor=by,
        details={"order": [i.case.reference for i in items]},
    )


def reorder(meeting: Meeting, item_ids: list[int], *, by: User) -> None:
    """Put the agenda in the given order; ``item_ids`` must be exactly the items on it."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators change the agenda.")
    _require_open(meeting)
    items = {i.id: i for i in meeting.active_items}
    try:
        ids = [int(x) for x in item_ids]
    except (TypeError, ValueError) as exc:
        raise Refused("The new order could not be read.") from exc
    if len(ids) != len(items) or set(ids) != set(items):
        raise Conflict(
            "The agenda changed while you were reordering it. Reload the page and try again."
        )
    ordered = [items[i] for i in ids]
    _renumber(meeting, ordered)
    db.session.flush()
    audit.record(
        "meeting.agenda_reordered",
        obj=meeting,
        actor=by,
        details={"order": [i.case.reference for i in ordered]},
    )


def set_item_minutes(item: AgendaItem, minutes: int, *, by: User) -> None:
    """Change the time allotted to one case (1 to 120 minutes)."""
    meeting = _item_action_checks(item, by)
    value = _check_minutes(minutes)
    if value == item.minutes_allotted:
        return
    before = item.minutes_allotted
    item.minutes_allotted = value
    db.session.flush()
    audit.record(
        "meeting.item_minutes",
        obj=meeting,
        actor=by,
        details={"case": item.case.reference, "minutes": [before, value]},
    )


def publish(meeting: Meeting, *, by: User) -> Meeting:
    """Publish (or re-publish) the agenda: the panel's people and the referrers of the listed
    cases are told, by bell and e-mail, with no clinical content."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators publish the agenda.")
    _require_open(meeting)
    _require_not_over(meeting)
    listed = pending_items(meeting)
    if not listed:
        raise Refused("Put at least one case on the agenda before publishing it.")
    again = meeting.status == MeetingStatus.PUBLISHED
    meeting.status = MeetingStatus.PUBLISHED
    meeting.published_at = utcnow()
    meeting.sequence = (meeting.sequence or 0) + 1
    db.session.flush()
    audit.record(
        "meeting.published",
        obj=meeting,
        actor=by,
        details={
            "cases": [i.case.reference for i in listed],
            "sequence": meeting.sequence,
            "republished": again,
        },
    )
    label = meeting_label(meeting)
    notify(
        panel_people(meeting.panel_id),
        panel_id=meeting.panel_id,
        kind="meeting.published",
        text=f"Agenda {'updated' if again else 'published'}: {label}",
        link=path_for("meetings.show", meeting_id=meeting.id),
        exclude=by,
    )
    for item in listed:
        notify(
            case_referrers(item.case),
            panel_id=item.case.panel_id,
            kind="case.scheduled",
            text=f"{item.case.reference} is on the agenda of the {label}",
            link=path_for("cases.show", ref=item.case.reference),
            exclude=by,
            case_ref=item.case.reference,
        )
    return meeting


def attendance_role(user: User, panel_id: int) -> str | None:
    roles = access.roles(user, panel_id)
    if PanelRoleKind.CHAIR in roles:
        return "chair"
    if PanelRoleKind.MEMBER in roles:
        return "member"
    if PanelRoleKind.COORDINATOR in roles:
        return "coordinator"
    return None


def guest_candidates(meeting: Meeting) -> dict[int, dict]:
    """Who may be recorded as a guest of the meeting, by user id: the referrers presenting a
    case on the agenda (``role`` "referrer") and the experts invited to one of its cases
    (``role`` "expert", access not revoked). Each with the references they came for. The
    panel's own people are never guests."""
    from panel.cases.guests import CaseGuestAccess

    out: dict[int, dict] = {}
    items = [i for i in meeting.active_items if i.outcome_status != ItemOutcome.CANCELLED]
    for item in items:
        for person in case_referrers(item.case):
            if person is None or access.roles(person, meeting.panel_id):
                continue
            row = out.setdefault(person.id, {"user": person, "role": "referrer", "cases": []})
            row["cases"].append(item.case.reference)
    case_ids = {i.case_id: i.case for i in items}
    if case_ids:
        rows = db.session.scalars(
            select(CaseGuestAccess).where(
                CaseGuestAccess.case_id.in_(list(case_ids)),
                CaseGuestAccess.meeting_id == meeting.id,
                CaseGuestAccess.revoked_at.is_(None),
            )
        )
        for grant in rows:
            if grant.user_id in out or access.roles(grant.user, meeting.panel_id):
                continue
            out[grant.user_id] = {
                "user": grant.user,
                "role": "expert",
                "cases": [case_ids[grant.case_id].reference],
            }
    return out


def _ids(values: Iterable | None, what: str) -> set[int]:
    try:
        return {int(v) for v in values or ()}
    except (TypeError, ValueError) as exc:
        raise Refused(f"The {what} list could not be read.") from exc


def set_attendance(
    meeting: Meeting,
    user_ids: Iterable[int],
    *,
    by: User,
    guests: Iterable[int] | None = None,
    apologies: Iterable[int] | None = None,
) -> Meeting:
    """Record the meeting's attendance: who of the panel attended (each with the role they
    attended in), which guests attended (presenting referrers and invited experts, never in
    the quorum) and, when ``apologies`` is given, who sent apologies (recorded apart, not
    attending). The quorum is the number of attending members and chairs (``panel.quorum``).

    Attendance is recorded once the meeting has started (UK time; ``Meeting.can_record_attendance``);
    apologies may be recorded before (``Meeting.can_record_apologies``)."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators record attendance.")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Refused("This meeting was cancelled.")
    if meeting.status == MeetingStatus.CLOSED:
        raise Refused("This meeting is closed; its attendance can no longer change.")
    wanted = _ids(user_ids, "attendance")
    wanted_guests = _ids(guests, "guest")
    sorry = _ids(apologies, "apologies") if apologies is not None else None
    started = meeting.can_record_attendance(by)
    if (wanted or wanted_guests) and not started:
        raise Refused(
            "Attendance can be recorded once the meeting has started "
            f"({uk_label(meeting.starts_at)}). Apologies can be recorded before."
        )
    people = {u.id: u for u in panel_people(meeting.panel_id)}
    if (wanted | (sorry or set())) - set(people):
        raise Refused(
            "Only the panel's members, chairs and coordinators can be recorded as attending "
            "or sending apologies."
        )
    if sorry is not None and wanted & sorry:
        names = ", ".join(sorted(people[i].name for i in wanted & sorry))
        raise Refused(f"{names}: recorded as attending, so not as sending apologies.")
    candidates = guest_candidates(meeting) if started else {}
    if wanted_guests - set(candidates):
        raise Refused(
            "Guests are the referrers presenting a case on this agenda and the experts invited "
            "to one of its cases."
        )
    now = utcnow()
    if started:
        current = {a.user_id: a for a in meeting.attendance}
        keep = wanted | wanted_guests
        for user_id, row in list(current.items()):
            if user_id not in keep:
                meeting.attendance.remove(row)
        roles = {u: attendance_role(people[u], meeting.panel_id) for u in wanted}
        roles.update({u: candidates[u]["role"] for u in wanted_guests})
        users = {
            **{u: people[u] for u in wanted},
            **{u: candidates[u]["user"] for u in wanted_guests},
        }
        for user_id, role in roles.items():
            row = current.get(user_id)
            if row is None:
                meeting.attendance.append(
                    Attendance(
                        user_id=user_id,
                        user=users[user_id],
                        role=role,
                        recorded_by_id=by.id,
                        recorded_at=now,
                    )
                )
            elif row.role != role:
                row.role = role
    if sorry is not None:
        had = {a.user_id: a for a in meeting.apologies}
        for user_id, row in list(had.items()):
            if user_id not in sorry:
                meeting.apologies.remove(row)
        for user_id in sorry - set(had):
            meeting.apologies.append(
                Apology(
                    user_id=user_id, user=people[user_id], recorded_by_id=by.id, recorded_at=now
                )
            )
    db.session.flush()
    details = {
        "attending": len(meeting.panel_attendance),
        "voting": meeting.voting_attendance,
        "quorum": meeting.panel.quorum,
        "quorum_met": meeting.quorum_met,
        "guests": sorted(a.user_id for a in meeting.guests),
    }
    if sorry is not None:
        details["apologies"] = sorted(sorry)
    audit.record("meeting.attendance", obj=meeting, actor=by, details=details)
    return meeting


def next_meeting_after(meeting: Meeting) -> Meeting | None:
    """The panel's next planned or published meeting after this one (still to come)."""
    return db.session.scalar(
        select(Meeting)
        .where(
            Meeting.panel_id == meeting.panel_id,
            Meeting.id != meeting.id,
            Meeting.status.in_(OPEN_STATUSES),
            Meeting.starts_at > meeting.starts_at,
            Meeting.starts_at > utcnow(),
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )


def close_meeting(meeting: Meeting, *, by: User) -> Meeting:
    """Close a meeting that has started. Cases not discussed roll over to the panel's next
    meeting (flagged), or, when none is planned, go back to triage with ``rolled_over`` set."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators close meetings.")
    _require_open(meeting)
    if meeting.starts_at > utcnow():
        raise Refused("This meeting has not started yet; it can be closed once it has taken place.")
    leftover = pending_items(meeting)
    for item in leftover:
        item.outcome_status = ItemOutcome.NOT_DISCUSSED
    db.session.flush()  # free the cases for another agenda (unique pending index)
    target = next_meeting_after(meeting) if leftover else None
    rolled, triaged = [], []
    label = meeting_label(meeting)
    for item in leftover:
        case = item.case
        if case.status != CaseStatus.SCHEDULED:  # e.g. withdrawn while on the agenda
            continue
        if target is not None:

            def roll(case=case, item=item):
                new = next((i for i in target.items if i.case_id == case.id), None)
                if new is None:
                    new = AgendaItem(meeting=target, case_id=case.id, case=case)
                    db.session.add(new)
                new.position = (
                    max((i.position for i in target.active_items if i is not new), default=-1) + 1
                )
                new.minutes_allotted = item.minutes_allotted
                new.outcome_status = ItemOutcome.PENDING
                new.rolled_over_from_id = item.id
                new.added_by_id, new.added_at = by.id, utcnow()
                case.updated_at = utcnow()

            _in_savepoint(case, roll)
            rolled.append(case.reference)
            workflow.apply(
                case,
                "rolled_over",
                by=by,
                details={"from_meeting": meeting.id, "to_meeting": target.id},
                meeting=meeting,
                meeting_label=label,
                next_meeting=target,
                next_meeting_label=meeting_label(target),
            )
        else:
            case.rolled_over = True
            triaged.append(case.reference)
            workflow.apply(
                case,
                "returned_to_triage",
                by=by,
                details={"from_meeting": meeting.id, "reason": "not discussed"},
                meeting=meeting,
                meeting_label=label,
            )
    meeting.status = MeetingStatus.CLOSED
    meeting.closed_at = utcnow()
    meeting.closed_by_id = by.id
    db.session.flush()
    audit.record(
        "meeting.closed",
        obj=meeting,
        actor=by,
        details={
            "not_discussed": [i.case.reference for i in leftover],
            "rolled_over_to": target.id if target and rolled else None,
            "rolled_over": rolled,
            "back_to_triage": triaged,
            "quorum_met": meeting.quorum_met,
            "voting_attendance": meeting.voting_attendance,
        },
    )
    return meeting


MAX_REASON = 1000


def cancel_meeting(meeting: Meeting, *, reason: str, by: User) -> Meeting:
    """Cancel an open meeting at which nothing has been discussed (``Meeting.can_cancel``).
    Its waiting cases go back to triage (submitted; their items marked ``cancelled``); the
    panel's people and the referrers of those cases are told, by bell and e-mail, with no
    clinical content (the reason stays in Panel). A cancelled meeting accepts no change."""
    if not meeting.can_manage(by):
        raise NotAllowed("Only the panel's coordinators cancel its meetings.")
    _require_open(meeting)
    if not meeting.can_cancel(by):
        raise Refused(
            "Cases have already been discussed at this meeting: it took place, so close it "
            "instead of cancelling it."
        )
    reason = " ".join((reason or "").split())
    if not reason:
        raise Refused("Give the reason for cancelling the meeting.", "reason")
    if len(reason) > MAX_REASON:
        raise Refused(f"Keep the reason under {MAX_REASON} characters.", "reason")
    guard_texts([("reason", reason)])
    waiting = pending_items(meeting)
    for item in waiting:
        item.outcome_status = ItemOutcome.CANCELLED
    returned = [i.case for i in waiting if i.case.status == CaseStatus.SCHEDULED]
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancelled_at = utcnow()
    meeting.cancelled_by_id = by.id
    meeting.cancel_reason = reason
    meeting.sequence = (meeting.sequence or 0) + 1  # calendars replace the event
    db.session.flush()
    label = meeting_label(meeting)
    for case in returned:  # back to triage, its referrers told (the workflow's row)
        workflow.apply(
            case,
            "meeting_cancelled",
            by=by,
            details={"meeting_id": meeting.id, "reason": "meeting cancelled"},
            meeting=meeting,
            meeting_label=label,
        )
    audit.record(
        "meeting.cancelled",
        obj=meeting,
        actor=by,
        details={
            "reason": reason,
            "back_to_triage": [c.reference for c in returned],
            "agenda": [i.case.reference for i in waiting],
        },
    )
    notify(
        panel_people(meeting.panel_id),
        panel_id=meeting.panel_id,
        kind="meeting.cancelled",
        text=f"Meeting cancelled: {label}",
        link=path_for("meetings.show", meeting_id=meeting.id),
        exclude=by,
    )
    return meeting


def last_rollover(case: Case) -> AgendaItem | None:
    """The most recent agenda item at which the case was not discussed (the meeting closed)."""
    return db.session.scalar(
        select(AgendaItem)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id == case.id, AgendaItem.outcome_status == ItemOutcome.NOT_DISCUSSED
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )


def cases_to_schedule(meeting: Meeting) -> list[Case]:
    """The panel's submitted cases that wait on no agenda, longest-waiting (and urgent) first."""
    pending = select(AgendaItem.case_id).where(AgendaItem.outcome_status == ItemOutcome.PENDING)
    return list(
        db.session.scalars(
            select(Case)
            .where(
                Case.panel_id == meeting.panel_id,
                Case.status == CaseStatus.SUBMITTED,
                Case.id.not_in(pending),
            )
            .order_by(Case.urgency.desc(), Case.rolled_over.desc(), Case.submitted_at.asc())
            .limit(50)  # the picker lists the head of the queue; triage has the rest
        )
    )


__all__ = [
    "Refused",
    "Conflict",
    "NotAllowed",
    "add_case",
    "attendance_role",
    "cancel_meeting",
    "cases_to_schedule",
    "close_meeting",
    "create_meeting",
    "guest_candidates",
    "last_rollover",
    "meeting_label",
    "move_item",
    "next_meeting_after",
    "pending_item_for",
    "pending_items",
    "presenting_centres",
    "publish",
    "remove_case",
    "reorder",
    "set_attendance",
    "set_item_minutes",
    "slot_times",
    "update_meeting",
    "upcoming_meetings",
]

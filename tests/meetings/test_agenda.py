"""The agenda: adding cases (and refusing a case twice), ordering by buttons and by drag,
minutes per case and slot times, removing, publishing with notifications and e-mail."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from panel.cases.models import CaseStatus
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.core.uktime import to_uk, uk_today
from panel.meetings import operations as ops
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus
from tests.support.data import WINTER_DAY, audit_actions, move_to_past, plan
from tests.support.mail import MailGuard
from tests.support.web import free_port, post_form

CLINICAL_BITS = ("F1174L", "ALK-inhibitor", "salvage chemotherapy", "Metastatic relapse", "adrenal")


# --------------------------------------------------------------------------- adding
def test_add_a_case_schedules_it(staff, db_session, meeting, submitted):
    """Is the case scheduled, its turnaround times set once, and the change audited?"""
    case = submitted[0]
    item = ops.add_case(meeting, case, by=staff["nap_coordinator"], minutes=25)
    db_session.commit()
    assert (
        item.position == 0
        and item.minutes_allotted == 25
        and item.outcome_status == ItemOutcome.PENDING
    )
    assert case.status == CaseStatus.SCHEDULED and case.scheduled_at and case.triaged_at
    first_scheduled = case.scheduled_at
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "case.scheduled"))
    assert entry.object_id == case.reference and entry.details["meeting_id"] == meeting.id
    # Off and on again: the first scheduling time is kept.
    ops.remove_case(item, by=staff["nap_coordinator"])
    db_session.commit()
    assert case.status == CaseStatus.SUBMITTED and item.outcome_status == ItemOutcome.REMOVED
    assert "case.unscheduled" in audit_actions(db_session, "case", case.reference)
    again = ops.add_case(meeting, case, by=staff["nap_coordinator"])
    db_session.commit()
    assert again.id == item.id and again.outcome_status == ItemOutcome.PENDING
    assert case.scheduled_at == first_scheduled


def test_a_case_scheduled_twice_is_refused(staff, db_session, meeting, submitted):
    """Same meeting or another: is the second scheduling refused, naming the meeting?"""
    coord = staff["nap_coordinator"]
    other = plan(db_session, coord, day=WINTER_DAY)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    with pytest.raises(Conflict, match="already on this agenda"):
        ops.add_case(meeting, submitted[0], by=coord)
    with pytest.raises(Conflict) as exc:
        ops.add_case(other, submitted[0], by=coord)
    assert f"the agenda of the {ops.meeting_label(meeting)}" in exc.value.message
    assert submitted[0].reference in exc.value.message
    db_session.rollback()
    assert len(other.active_items) == 0


def test_the_database_refuses_a_second_pending_item(staff, db_session, meeting, submitted):
    """Does the unique partial index back the check up (two processes at once)?"""
    coord = staff["nap_coordinator"]
    other = plan(db_session, coord, day=WINTER_DAY)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    with pytest.raises(IntegrityError):
        with db_session.begin_nested():
            db_session.add(AgendaItem(meeting_id=other.id, case_id=submitted[0].id, position=0))
            db_session.flush()


def test_the_operation_turns_the_index_refusal_into_a_conflict(
    staff, db_session, meeting, submitted, monkeypatch
):
    """If the check is raced (another process added it a moment ago), is it still a clear Conflict?"""
    coord = staff["nap_coordinator"]
    other = plan(db_session, coord, day=WINTER_DAY)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    submitted[0].status = CaseStatus.SUBMITTED  # as if read before the other process committed
    monkeypatch.setattr(ops, "pending_item_for", lambda case: None)
    with pytest.raises(Conflict, match="already on an agenda"):
        ops.add_case(other, submitted[0], by=coord)
    db_session.rollback()


def test_case_of_another_panel_or_not_submitted_is_refused(staff, db_session, meeting, make_case):
    coord = staff["nap_coordinator"]
    north_doc = json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "case-example-alk.json").read_text()
    )
    north_doc["panel"] = "ECMC-NORTH"
    north_case = make_case(staff["referrer"], doc=north_doc, submit=True)
    with pytest.raises(Refused, match="belongs to another panel"):
        ops.add_case(meeting, north_case, by=coord)
    draft = make_case(staff["referrer"])
    with pytest.raises(Refused, match="only submitted cases"):
        ops.add_case(meeting, draft, by=coord)
    with pytest.raises(NotAllowed):
        ops.add_case(meeting, draft, by=staff["nap_member"])
    with pytest.raises(NotAllowed):
        ops.add_case(meeting, draft, by=staff["north_coordinator"])


@pytest.mark.parametrize("minutes", [0, 121, "x"])
def test_minutes_out_of_range_are_refused(staff, db_session, meeting, submitted, minutes):
    with pytest.raises(Refused, match="minutes"):
        ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"], minutes=minutes)


def test_no_cases_added_to_a_meeting_that_took_place(staff, db_session, meeting, submitted):
    move_to_past(db_session, meeting, hours=5)
    with pytest.raises(Refused, match="already taken place"):
        ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])


# --------------------------------------------------------------------------- order and time
def test_order_minutes_and_slot_times(staff, db_session, meeting, submitted):
    """Do the buttons and the drag order change positions, and are slot times cumulative?"""
    coord = staff["nap_coordinator"]
    a, b, c = (
        ops.add_case(meeting, case, by=coord, minutes=m)
        for case, m in zip(submitted, (20, 15, 30), strict=True)
    )
    db_session.commit()
    slots = ops.slot_times(meeting)
    assert [slots[i.id] - meeting.starts_at for i in (a, b, c)] == [
        timedelta(0),
        timedelta(minutes=20),
        timedelta(minutes=35),
    ]
    ops.move_item(c, -1, by=coord)
    assert [i.id for i in meeting.active_items] == [a.id, c.id, b.id]
    ops.move_item(a, -1, by=coord)  # already first: nothing happens
    ops.move_item(b, 1, by=coord)  # already last
    assert [i.id for i in meeting.active_items] == [a.id, c.id, b.id]
    ops.reorder(meeting, [b.id, a.id, c.id], by=coord)
    db_session.commit()
    db_session.expire_all()
    meeting_again = db_session.get(Meeting, meeting.id)
    assert [i.id for i in meeting_again.active_items] == [b.id, a.id, c.id]
    ops.set_item_minutes(db_session.get(AgendaItem, b.id), 45, by=coord)
    slots = ops.slot_times(meeting_again)
    assert slots[a.id] - meeting_again.starts_at == timedelta(minutes=45)
    assert slots[c.id] - meeting_again.starts_at == timedelta(minutes=65)
    actions = audit_actions(db_session, "meeting", meeting.id)
    assert "meeting.agenda_reordered" in actions and "meeting.item_minutes" in actions


def test_reorder_must_name_exactly_the_agenda(staff, db_session, meeting, submitted):
    coord = staff["nap_coordinator"]
    a, b = (ops.add_case(meeting, case, by=coord) for case in submitted[:2])
    db_session.commit()
    for bad in ([a.id], [a.id, b.id, b.id + 100], [a.id, a.id], ["x", "y"]):
        with pytest.raises(Refused):
            ops.reorder(meeting, bad, by=coord)
    with pytest.raises(Refused):
        ops.set_item_minutes(a, 500, by=coord)


def test_agenda_changes_through_the_page(app, client, staff, login, db_session, meeting, submitted):
    """Add by reference, move with the buttons, set minutes, remove: all through forms."""
    coord = staff["nap_coordinator"]
    login(client, coord)
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    for case in submitted:
        assert f'<option value="{case.reference}"' in page
    for case in submitted:
        resp = post_form(
            app,
            client,
            f"/meetings/{meeting.id}/agenda",
            {"case": case.reference.lower(), "minutes": "10"},
        )
        assert resp.status_code == 302 and resp.headers["Location"].endswith(
            f"/meetings/{meeting.id}#agenda"
        )
    items = list(
        db_session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position)
        )
    )
    assert [i.case_id for i in items] == [c.id for c in submitted]
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Every submitted case of NAP is already on an agenda" in page
    assert f"{to_uk(meeting.starts_at + timedelta(minutes=20)):%H:%M}" in page  # third slot
    # Scheduling twice through the page: a clear message, nothing changed.
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/agenda", {"case": submitted[0].reference}
    )
    assert "is already on this agenda" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )
    resp = post_form(app, client, f"/meetings/{meeting.id}/agenda", {"case": "NB-1999-0042"})
    assert "There is no case NB-1999-0042" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )
    assert (
        post_form(
            app, client, f"/meetings/{meeting.id}/items/{items[2].id}/move", {"direction": "up"}
        ).status_code
        == 302
    )
    assert (
        post_form(
            app, client, f"/meetings/{meeting.id}/items/{items[0].id}/time", {"minutes": "40"}
        ).status_code
        == 302
    )
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/items/{items[0].id}/time", {"minutes": "0"}
    )
    assert "between 1 and 120 minutes" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )
    assert (
        post_form(
            app,
            client,
            f"/meetings/{meeting.id}/items/{items[1].id}/move",
            {"direction": "sideways"},
        ).status_code
        == 400
    )
    assert (
        post_form(app, client, f"/meetings/{meeting.id}/items/{items[1].id}/remove", {}).status_code
        == 302
    )
    db_session.expire_all()
    m = db_session.get(Meeting, meeting.id)
    assert [i.case_id for i in m.active_items] == [submitted[0].id, submitted[2].id]
    assert m.active_items[0].minutes_allotted == 40
    assert submitted[1].status == CaseStatus.SUBMITTED
    # An item of another meeting is not found here.
    other = plan(db_session, coord, day=WINTER_DAY)
    assert (
        post_form(app, client, f"/meetings/{other.id}/items/{items[0].id}/remove", {}).status_code
        == 404
    )


def test_add_returns_to_a_local_next_page_only(
    app, client, staff, login, db_session, meeting, submitted
):
    login(client, staff["nap_coordinator"])
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/agenda",
        {"case": submitted[0].reference, "next": "/triage"},
    )
    assert resp.headers["Location"].endswith("/triage")
    for evil in (
        "https://evil.example.com/",
        "//evil.example.com/x",
        "/\\evil.example.com",
        "javascript:alert(1)",
    ):
        resp = post_form(
            app,
            client,
            f"/meetings/{meeting.id}/agenda",
            {"case": submitted[1].reference, "next": evil},
        )
        assert (
            "evil" not in resp.headers["Location"] and "javascript" not in resp.headers["Location"]
        )
        assert resp.headers["Location"].endswith(f"/meetings/{meeting.id}#agenda")


def test_drag_reorder_answers_json(app, client, staff, login, db_session, meeting, submitted):
    """Does the drag-and-drop endpoint save the order and send back the new slot times, and
    refuse (409) an order that no longer matches the agenda?"""
    coord = staff["nap_coordinator"]
    a, b, c = (ops.add_case(meeting, case, by=coord, minutes=10) for case in submitted)
    db_session.commit()
    login(client, coord)
    headers = {"Accept": "application/json"}
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/reorder",
        {"order": f"{c.id},{a.id},{b.id}"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["order"] == [c.id, a.id, b.id]
    start = to_uk(meeting.starts_at)
    assert data["slots"][str(c.id)] == f"{start:%H:%M}"
    assert data["slots"][str(b.id)] == f"{start + timedelta(minutes=20):%H:%M}"
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/reorder", {"order": f"{c.id},{a.id}"}, headers=headers
    )
    assert resp.status_code == 409 and "Reload" in resp.get_json()["error"]
    # Without JSON (no script): a redirect back to the agenda.
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/reorder", {"order": f"{a.id},{b.id},{c.id}"}
    )
    assert resp.status_code == 302
    db_session.expire_all()
    assert [i.id for i in db_session.get(Meeting, meeting.id).active_items] == [a.id, b.id, c.id]


# --------------------------------------------------------------------------- publishing
def _notes(db_session, user):
    return list(db_session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_publish_notifies_the_panel_and_the_referrers(staff, db_session, meeting, submitted):
    """Are members, chairs and other coordinators told (link to the meeting), the referrers of
    the listed cases told (link to the case), and nobody else?"""
    coord = staff["nap_coordinator"]
    empty = plan(db_session, coord, day=WINTER_DAY)
    with pytest.raises(Refused, match="at least one case"):  # nothing to publish yet
        ops.publish(empty, by=coord)
    db_session.rollback()
    ops.add_case(meeting, submitted[0], by=coord)
    ops.publish(meeting, by=coord)
    db_session.commit()
    assert (
        meeting.status == MeetingStatus.PUBLISHED and meeting.published_at and meeting.sequence == 1
    )
    label = ops.meeting_label(meeting)
    for who in ("nap_member", "nap_chair", "nap_member2"):
        notes = _notes(db_session, staff[who])
        assert [n.text for n in notes] == [f"Agenda published: {label}"]
        assert notes[0].link == f"/meetings/{meeting.id}"
    referrer_notes = _notes(db_session, staff["referrer"])
    assert [n.text for n in referrer_notes] == [
        f"{submitted[0].reference} is on the agenda of the {label}"
    ]
    assert referrer_notes[0].link == f"/cases/{submitted[0].reference}"
    for who in ("nap_coordinator", "north_member", "north_coordinator", "other_referrer", "admin"):
        assert _notes(db_session, staff[who]) == []
    assert "meeting.published" in audit_actions(db_session, "meeting", meeting.id)
    # Adding a case to a published agenda tells that case's referrer at once; re-publishing
    # bumps the calendar sequence and says "updated".
    ops.add_case(meeting, submitted[1], by=coord)
    db_session.commit()
    assert len(_notes(db_session, staff["referrer"])) == 2
    ops.publish(meeting, by=coord)
    db_session.commit()
    assert meeting.sequence == 2
    assert f"Agenda updated: {label}" in [n.text for n in _notes(db_session, staff["nap_member"])]


def test_publish_refused_for_past_or_by_members(staff, db_session, meeting, submitted):
    ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    db_session.commit()
    with pytest.raises(NotAllowed):
        ops.publish(meeting, by=staff["nap_chair"])
    move_to_past(db_session, meeting, hours=5)
    with pytest.raises(Refused, match="already taken place"):
        ops.publish(meeting, by=staff["nap_coordinator"])


@pytest.fixture
def smtp_config(app):
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}

    def configure(port):
        app.config["SMTP_HOST"] = "127.0.0.1"
        app.config["SMTP_PORT"] = port

    yield configure
    app.config.update(saved)


def test_publish_sends_real_emails_without_clinical_text(
    app, client, staff, login, db_session, meeting, submitted, smtp_server, smtp_config
):
    """Do real e-mails arrive (sent by their jobs), carrying only a reference or meeting and a link?"""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    smtp_config(smtp_server.port)
    login(client, coord)
    resp = post_form(app, client, f"/meetings/{meeting.id}/publish", {})
    assert resp.status_code == 302
    resp.close()
    to = {m["To"]: m for m in smtp_server.messages}
    for who in ("nap_member", "nap_chair", "nap_member2", "nap_member3", "referrer"):
        assert staff[who].email in to, who
    assert staff["north_member"].email not in to and coord.email not in to
    referrer_mail = to[staff["referrer"].email]
    body = referrer_mail.get_payload(decode=True).decode()
    assert submitted[0].reference in referrer_mail["Subject"]
    assert f"https://panel.test.example/cases/{submitted[0].reference}" in body
    member_body = to[staff["nap_member"].email].get_payload(decode=True).decode()
    assert f"https://panel.test.example/meetings/{meeting.id}" in member_body
    for message in smtp_server.messages:
        text = message["Subject"] + message.get_payload(decode=True).decode()
        for bit in CLINICAL_BITS:
            assert bit not in text


def test_publish_succeeds_with_the_mail_server_down(
    app, client, staff, login, db_session, meeting, submitted, smtp_config
):
    """With the SMTP server unreachable, is the agenda still published and the failure kept?"""
    ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    db_session.commit()
    closed = free_port()
    MailGuard.allowed.add(("127.0.0.1", closed))
    try:
        smtp_config(closed)
        login(client, staff["nap_coordinator"])
        resp = post_form(app, client, f"/meetings/{meeting.id}/publish", {})
        assert resp.status_code == 302
        resp.close()
    finally:
        MailGuard.allowed.discard(("127.0.0.1", closed))
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.PUBLISHED
    mails = list(db_session.scalars(select(OutboxMail)))
    assert mails and all(m.sent_at is None for m in mails)
    assert any(m.last_error for m in mails)
    assert all(m.next_attempt_at > utcnow() for m in mails if m.attempts)


# --------------------------------------------------------------------------- the case page
def test_case_page_shows_the_agenda_slot(app, client, staff, login, db_session, meeting, submitted):
    """Panel people see the slot on the case page at once; the referrer only once published,
    with a calendar link; someone else sees nothing."""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[1], by=coord, minutes=30)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    ref = submitted[0].reference
    slot = f"{to_uk(meeting.starts_at + timedelta(minutes=30)):%H:%M}"
    login(client, staff["nap_member"])
    html = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert "On the agenda of the" in html and f"(around {slot})" in html and "Draft agenda" in html
    assert f"/meetings/{meeting.id}#item-" in html
    ref_client = app.test_client()
    login(ref_client, staff["referrer"])
    assert "On the agenda of the" not in ref_client.get(f"/cases/{ref}").get_data(as_text=True)
    ops.publish(meeting, by=coord)
    db_session.commit()
    html = ref_client.get(f"/cases/{ref}").get_data(as_text=True)
    assert "On the agenda of the" in html and f"/meetings/{meeting.id}.ics" in html
    assert f'href="/meetings/{meeting.id}#' not in html  # no link to the agenda page for referrers


def test_rolled_over_flag_on_the_next_agenda_and_case_page(
    app, client, staff, login, db_session, meeting, submitted
):
    coord = staff["nap_coordinator"]
    following = plan(db_session, coord, day=WINTER_DAY)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    login(client, coord)
    html = client.get(f"/meetings/{following.id}").get_data(as_text=True)
    assert 'data-testid="rolled-over"' in html
    page = client.get(f"/cases/{submitted[0].reference}").get_data(as_text=True)
    assert "Rolled over from the meeting on" in page


def test_agenda_page_query_count_does_not_grow(
    app, client, staff, login, db_session, meeting, make_case, count_queries
):
    coord = staff["nap_coordinator"]
    login(client, coord)

    def page_queries():
        with count_queries() as n:
            assert client.get(f"/meetings/{meeting.id}").status_code == 200
        return n.count

    ops.add_case(meeting, make_case(staff["referrer"], submit=True), by=coord)
    db_session.commit()
    few = page_queries()
    for _ in range(5):
        ops.add_case(meeting, make_case(staff["referrer"], submit=True), by=coord)
    db_session.commit()
    assert page_queries() <= few + 1


@pytest.mark.parametrize(
    "page", ["/meetings/{id}", "/meetings/{id}/present/1", "/meetings/{id}.ics"]
)
def test_meeting_pages_load_agenda_cases_and_attendees_in_flat_queries(
    app, client, staff, login, db_session, meeting, make_case, count_queries, page
):
    """AgendaItem.case and Attendance.user load lazily by default (issue 13): the meeting
    loaders ask for them explicitly, so more cases and attendees add no statement."""
    coord = staff["nap_coordinator"]
    login(client, coord)
    url = page.format(id=meeting.id)

    def page_queries():
        db_session.expire_all()
        with count_queries() as n:
            assert client.get(url).status_code == 200
        return n.count

    ops.add_case(meeting, make_case(staff["referrer"], submit=True), by=coord)
    meeting.starts_at = utcnow() - timedelta(minutes=10)  # attendance once it has started
    ops.set_attendance(meeting, [staff["nap_chair"].id], by=coord)
    db_session.commit()
    few = page_queries()
    for _ in range(4):
        ops.add_case(meeting, make_case(staff["referrer"], submit=True), by=coord)
    everyone = ("nap_chair", "nap_member", "nap_member2", "nap_member3")
    ops.set_attendance(meeting, [staff[k].id for k in everyone], by=coord)
    db_session.commit()
    assert page_queries() <= few


def test_db_unchanged_by_refused_add(app, client, staff, login, db_session, meeting, submitted):
    """A refused add leaves the case as it was (the operation's changes are rolled back)."""
    coord = staff["nap_coordinator"]
    other = plan(db_session, coord, day=uk_today() + timedelta(days=50))
    ops.add_case(other, submitted[0], by=coord)
    db_session.commit()
    login(client, coord)
    post_form(app, client, f"/meetings/{meeting.id}/agenda", {"case": submitted[0].reference})
    db_session.expire_all()
    assert db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)) is None

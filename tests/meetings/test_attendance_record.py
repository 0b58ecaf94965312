"""The attendance record (issue 14): attendance only once the meeting has started (UK time),
apologies recorded apart from attendance, guests (presenting referrers, invited experts), and
the presenting centre of each case on the agenda, the agenda PDF and the calendar file."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from panel.core.db import utcnow
from panel.core.errors import Refused
from panel.core.models import AuditEntry
from panel.meetings import guests as guest_ops
from panel.meetings import operations as ops
from panel.meetings.models import Apology, Attendance
from tests.support.data import move_to_past
from tests.support.web import post_form


def _count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- not before the start
def test_attendance_before_the_start_is_refused_by_the_rule_and_the_operation(
    staff, db_session, meeting
):
    """Is attendance for a meeting that has not started refused (the 6 Dec attendance for a
    17 Dec meeting), with the rule on the meeting deciding to the second?"""
    coord = staff["nap_coordinator"]
    assert not meeting.can_record_attendance(coord)
    assert not meeting.can_record_attendance(coord, now=meeting.starts_at - timedelta(seconds=1))
    assert meeting.can_record_attendance(coord, now=meeting.starts_at)
    assert not meeting.can_record_attendance(staff["nap_member"], now=meeting.starts_at)
    with pytest.raises(Refused, match="once the meeting has started"):
        ops.set_attendance(meeting, [staff["nap_member"].id], by=coord)
    db_session.rollback()
    assert _count(db_session, Attendance) == 0
    move_to_past(db_session, meeting, hours=0)  # it starts now
    ops.set_attendance(meeting, [staff["nap_member"].id], by=coord)
    db_session.commit()
    assert [a.user_id for a in meeting.attendance] == [staff["nap_member"].id]


def test_attendance_form_before_the_start(app, client, staff, login, db_session, meeting):
    """Does the page say attendance waits for the start (the "attended" choices disabled), and
    does a forged POST change nothing but show the message?"""
    login(client, staff["nap_coordinator"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="attendance-not-yet"' in html and "Save apologies" in html
    member = staff["nap_member"].id
    assert f'name="presence-{member}" value="attended" id="att-{member}" aria-label' in html
    assert html.split(f'id="att-{member}"', 1)[1].split(">", 1)[0].strip().endswith("disabled")
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/attendance", {f"presence-{member}": "attended"}
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Attendance can be recorded once the meeting has started" in page
    assert _count(db_session, Attendance) == 0
    move_to_past(db_session, meeting)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="attendance-not-yet"' not in html and "Save attendance" in html
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/attendance", {f"presence-{member}": "attended"}
    )
    assert _count(db_session, Attendance) == 1


# --------------------------------------------------------------------------- apologies
def test_apologies_are_recorded_apart_and_do_not_count(
    app, client, staff, login, db_session, meeting
):
    """Can apologies be given before the meeting, kept apart from attendance (no quorum), and
    is a person both attending and apologising refused?"""
    coord = staff["nap_coordinator"]
    chair, member = staff["nap_chair"], staff["nap_member"]
    login(client, coord)
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/attendance",
        {"with_apologies": "1", f"presence-{chair.id}": "apologies"},
    )
    assert resp.status_code == 302
    assert "Apologies saved: 1" in client.get(resp.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert [a.user_id for a in meeting.apologies] == [chair.id]
    assert meeting.attendance == [] and meeting.voting_attendance == 0
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "meeting.attendance")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.details["apologies"] == [chair.id]
    move_to_past(db_session, meeting)
    with pytest.raises(Refused, match="not as sending apologies"):
        ops.set_attendance(meeting, [chair.id], apologies=[chair.id], by=coord)
    db_session.rollback()
    ops.set_attendance(
        meeting,
        [member.id, staff["nap_member2"].id, staff["nap_member3"].id],
        apologies=[chair.id],
        by=coord,
    )
    db_session.commit()
    assert meeting.voting_attendance == 3 and meeting.quorum_met
    assert _count(db_session, Apology) == 1
    # Apologies come only from the panel's people.
    with pytest.raises(Refused, match="Only the panel's"):
        ops.set_attendance(meeting, [], apologies=[staff["north_member"].id], by=coord)
    db_session.rollback()
    # The record shows them apart once the meeting is closed.
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    record = html.split('data-testid="attendance-record"', 1)[1]
    apologies = html.split('data-testid="apologies-record"', 1)[1]
    assert chair.name not in record.split("</ul>", 1)[0]
    assert chair.name in apologies.split("</div>", 1)[0]


# --------------------------------------------------------------------------- guests
def test_guests_are_presenting_referrers_and_invited_experts(
    app, client, staff, login, db_session, meeting, submitted, make_user
):
    """Are the referrer presenting a case and an expert invited to it recorded as guests (not
    in the quorum, shown on the page and the PDF), and is anyone else refused as a guest?"""
    coord = staff["nap_coordinator"]
    referrer = staff["referrer"]
    item = ops.add_case(meeting, submitted[0], by=coord)
    expert = make_user(name="Prof Abroad")
    guest_ops.invite_expert(
        meeting, item, email=expert.email, name="", until=guest_ops.default_until(), by=coord
    )
    db_session.commit()
    move_to_past(db_session, meeting)
    candidates = ops.guest_candidates(meeting)
    assert candidates[referrer.id]["role"] == "referrer"
    assert candidates[referrer.id]["cases"] == [submitted[0].reference]
    assert candidates[expert.id]["role"] == "expert"
    assert staff["nap_member"].id not in candidates
    with pytest.raises(Refused, match="Guests are"):
        ops.set_attendance(meeting, [], guests=[staff["other_referrer"].id], by=coord)
    db_session.rollback()
    login(client, coord)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="guest-choices"' in html and "Prof Abroad" in html
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/attendance",
        {
            "with_apologies": "1",
            f"presence-{staff['nap_member'].id}": "attended",
            "guest": [str(referrer.id), str(expert.id)],
        },
    )
    assert resp.status_code == 302
    assert "Guests: 2." in client.get(resp.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    roles = {a.user_id: a.role for a in meeting.attendance}
    assert roles == {staff["nap_member"].id: "member", referrer.id: "referrer", expert.id: "expert"}
    assert meeting.voting_attendance == 1 and len(meeting.guests) == 2
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    guests_html = html.split('data-testid="guests-record"', 1)[1].split("</div>", 1)[0]
    assert referrer.name in guests_html and "Presenting referrer" in guests_html
    assert "Prof Abroad" in guests_html and "Invited expert" in guests_html
    text = _pdf_text(client.get(f"/meetings/{meeting.id}/agenda.pdf").data)
    assert "Guests:" in text and "Prof Abroad (invited expert)" in text


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


# --------------------------------------------------------------------------- presenting centre
def test_agenda_names_the_presenting_centre(
    app, client, staff, login, db_session, meeting, submitted
):
    """Does each case on the agenda name its referring centre: on the page, in the PDF and in
    the calendar file (with no clinical content there)?"""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[0], by=coord)
    ops.publish(meeting, by=coord)
    db_session.commit()
    centre = submitted[0].referring_centre.name
    login(client, staff["nap_member"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="presenting-centre"' in html and str(escape(centre)) in html
    assert centre.split()[0] in _pdf_text(client.get(f"/meetings/{meeting.id}/agenda.pdf").data)
    present = client.get(f"/meetings/{meeting.id}/present/1").get_data(as_text=True)
    assert 'data-testid="present-centre"' in present and str(escape(centre)) in present
    cal = Calendar.from_ical(client.get(f"/meetings/{meeting.id}.ics").data)
    event = next(c for c in cal.walk() if c.name == "VEVENT")
    description = str(event["description"])
    assert f"{submitted[0].reference} ({centre})" in description
    for bit in ("F1174L", "ALK", "relapse", "MYCN"):
        assert bit not in description
    # The referrer's own calendar file names it too.
    other = app.test_client()
    login(other, staff["referrer"])
    cal = Calendar.from_ical(other.get(f"/meetings/{meeting.id}.ics").data)
    event = next(c for c in cal.walk() if c.name == "VEVENT")
    assert f"({centre})" in str(event["description"])
    assert utcnow() < meeting.starts_at


# --------------------------------------------------------------------------- one rule, three places
MOMENTS = ("before_start", "started", "closed", "cancelled")


def _meeting_at(moment: str, db_session, coord):
    from tests.support.data import plan

    meeting = plan(db_session, coord)
    if moment != "before_start":
        move_to_past(db_session, meeting)
    if moment == "closed":
        ops.close_meeting(meeting, by=coord)
    elif moment == "cancelled":
        ops.cancel_meeting(meeting, reason="Clash", by=coord)
    db_session.commit()
    return meeting


def _operation_acts(db_session, action) -> bool:
    savepoint = db_session.begin_nested()
    try:
        action()
    except Refused:
        acted = False
    else:
        acted = True
    savepoint.rollback()
    return acted


@pytest.mark.parametrize("moment", MOMENTS)
def test_attendance_and_cancel_rules_agree_with_operation_view_and_page(
    app, staff, login, db_session, moment
):
    """For each role and moment of a meeting, do ``Meeting.can_record_attendance`` and
    ``Meeting.can_cancel``, the operations, the views (a POST) and the page's controls give
    the same answer?"""
    coord, member = staff["nap_coordinator"], staff["nap_member"]
    roles = ("nap_coordinator", "nap_member", "nap_chair", "north_coordinator")
    clients = {}
    for who in roles:
        clients[who] = app.test_client()
        login(clients[who], staff[who])
    wrong = []
    for who in roles:
        user, client = staff[who], clients[who]
        meeting = _meeting_at(moment, db_session, coord)
        url = f"/meetings/{meeting.id}"
        # Attendance.
        rule = meeting.can_record_attendance(user)
        operation = _operation_acts(
            db_session, lambda m=meeting, u=user: ops.set_attendance(m, [member.id], by=u)
        )
        html = client.get(url).get_data(as_text=True)
        radio = re.search(rf'<input[^>]*id="att-{member.id}"[^>]*>', html)
        page = radio is not None and "disabled" not in radio.group(0)
        post_form(app, client, f"{url}/attendance", {f"presence-{member.id}": "attended"})
        db_session.expire_all()
        view = any(a.user_id == member.id for a in meeting.attendance)
        if not rule == operation == page == view:
            wrong.append(("attendance", who, moment, rule, operation, page, view))
        # Cancelling.
        rule = meeting.can_cancel(user)
        operation = _operation_acts(
            db_session, lambda m=meeting, u=user: ops.cancel_meeting(m, reason="Clash", by=u)
        )
        page = 'data-testid="cancel-card"' in client.get(url).get_data(as_text=True)
        was = meeting.status
        post_form(app, client, f"{url}/cancel", {"reason": "Clash"})
        db_session.expire_all()
        view = was != meeting.status
        if not rule == operation == page == view:
            wrong.append(("cancel", who, moment, rule, operation, page, view))
    assert not wrong, "\n".join(map(str, wrong))

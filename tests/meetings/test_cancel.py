"""Cancelling a meeting (issue 14): coordinators of the panel, with a reason, not once cases
were discussed nor when closed. Its waiting cases go back to triage (items marked), the panel's
people and the referrers are told without clinical content, all audited; a cancelled meeting
shows as cancelled and accepts no further change."""

from __future__ import annotations

from datetime import time

import pytest
from icalendar import Calendar
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.errors import NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.meetings import guests as guest_ops
from panel.meetings import operations as ops
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus
from tests.support.data import WINTER_DAY, audit_actions, move_to_past
from tests.support.web import post_form

CLINICAL = ("F1174L", "ALK", "MYCN", "relapse", "neuroblastoma", "Chair away")


def test_cancel_returns_cases_to_triage_and_tells_the_people_affected(
    staff, db_session, meeting, submitted, make_user
):
    """Do the scheduled cases go back to triage (submitted, items marked cancelled), are the
    panel's members, chairs and the referrers told in the app and by e-mail without clinical
    content or the reason, and is everything audited?"""
    coord = staff["nap_coordinator"]
    first = ops.add_case(meeting, submitted[0], by=coord)
    second = ops.add_case(meeting, submitted[1], by=coord)
    ops.publish(meeting, by=coord)
    db_session.commit()
    sent_before = {m.id for m in db_session.scalars(select(OutboxMail))}
    ops.cancel_meeting(meeting, reason="  Chair away,   no quorum possible ", by=coord)
    db_session.commit()
    db_session.expire_all()
    cancelled = db_session.get(Meeting, meeting.id)
    assert cancelled.status == MeetingStatus.CANCELLED and cancelled.is_cancelled
    assert cancelled.cancelled_by_id == coord.id and cancelled.cancelled_at is not None
    assert cancelled.cancel_reason == "Chair away, no quorum possible"
    for item, case in ((first, submitted[0]), (second, submitted[1])):
        assert db_session.get(AgendaItem, item.id).outcome_status == ItemOutcome.CANCELLED
        assert case.status == CaseStatus.SUBMITTED
        assert "case.unscheduled" in audit_actions(db_session, "case", case.reference)
        assert ops.pending_item_for(case) is None
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting.cancelled"))
    assert entry.details["reason"] == "Chair away, no quorum possible"
    assert entry.details["back_to_triage"] == [submitted[0].reference, submitted[1].reference]
    # Told: the panel's members and chairs (not the coordinator who did it) and the referrer.
    notes = list(
        db_session.scalars(select(Notification).where(Notification.kind == "meeting.cancelled"))
    )
    told = {n.user_id for n in notes}
    assert {staff["nap_member"].id, staff["nap_chair"].id, staff["referrer"].id} <= told
    assert coord.id not in told and staff["north_member"].id not in told
    mails = [m for m in db_session.scalars(select(OutboxMail)) if m.id not in sent_before]
    addresses = {m.to_addr for m in mails}
    assert {staff["nap_member"].email, staff["referrer"].email} <= addresses
    for text in [n.text for n in notes] + [m.subject + m.body for m in mails]:
        assert "cancelled" in text
        for bit in CLINICAL:
            assert bit not in text
    referrer_note = next(n for n in notes if n.user_id == staff["referrer"].id)
    assert (
        submitted[0].reference in referrer_note.text or submitted[1].reference in referrer_note.text
    )
    # The cases can go on another agenda.
    later = ops.create_meeting(
        meeting.panel,
        day=WINTER_DAY,
        at=time(16, 0),
        duration_minutes=60,
        video_link="",
        title="",
        by=coord,
    )
    ops.add_case(later, submitted[0], by=coord)
    assert submitted[0].status == CaseStatus.SCHEDULED


def test_cancel_needs_a_reason_the_coordinator_and_an_open_undiscussed_meeting(
    staff, db_session, meeting, submitted
):
    coord = staff["nap_coordinator"]
    item = ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    with pytest.raises(Refused, match="reason"):
        ops.cancel_meeting(meeting, reason="   ", by=coord)
    with pytest.raises(NotAllowed):
        ops.cancel_meeting(meeting, reason="Clash", by=staff["nap_member"])
    with pytest.raises(NotAllowed):
        ops.cancel_meeting(meeting, reason="Clash", by=staff["north_coordinator"])
    assert not meeting.can_cancel(staff["nap_chair"]) and meeting.can_cancel(coord)
    # Once a case has been discussed the meeting took place: close it instead.
    item.outcome_status = ItemOutcome.DISCUSSED
    db_session.commit()
    assert not meeting.can_cancel(coord)
    with pytest.raises(Refused, match="close it"):
        ops.cancel_meeting(meeting, reason="Clash", by=coord)
    db_session.rollback()
    item.outcome_status = ItemOutcome.PENDING
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    assert not meeting.can_cancel(coord)
    with pytest.raises(Refused, match="closed"):
        ops.cancel_meeting(meeting, reason="Clash", by=coord)


def test_cancelled_meeting_accepts_no_further_change(
    app, client, staff, login, db_session, meeting, submitted
):
    """Are agenda changes, publishing, attendance, apologies, experts, editing and a second
    cancel refused, and does the page, the PDF and the calendar show it as cancelled?"""
    coord = staff["nap_coordinator"]
    item = ops.add_case(meeting, submitted[0], by=coord)
    ops.publish(meeting, by=coord)
    ops.cancel_meeting(meeting, reason="Clash with a national meeting", by=coord)
    db_session.commit()
    for action in (
        lambda: ops.add_case(meeting, submitted[1], by=coord),
        lambda: ops.publish(meeting, by=coord),
        lambda: ops.set_attendance(meeting, [], apologies=[staff["nap_chair"].id], by=coord),
        lambda: ops.cancel_meeting(meeting, reason="Again", by=coord),
        lambda: ops.remove_case(item, by=coord),
        lambda: guest_ops.invite_expert(
            meeting, item, email="x@example.org", name="X", until=None, by=coord
        ),
    ):
        with pytest.raises(Refused):
            action()
        db_session.rollback()
    assert not meeting.can_record_apologies(coord) and not meeting.can_invite_guests(coord)
    login(client, coord)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="cancelled-banner"' in html and "Clash with a national meeting" in html
    assert 'data-testid="item-cancelled"' in html
    for control in ("cancel-card", "attendance-form", "invite-form", "add-case", "close-card"):
        assert f'data-testid="{control}"' not in html, control
    assert "Publish again" not in html
    resp = post_form(app, client, f"/meetings/{meeting.id}/cancel", {"reason": "Again"})
    assert resp.status_code == 302
    assert "cancelled" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 302
    cal = Calendar.from_ical(client.get(f"/meetings/{meeting.id}.ics").data)
    event = next(c for c in cal.walk() if c.name == "VEVENT")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
    assert client.get(f"/meetings/{meeting.id}/agenda.pdf").status_code == 200
    # Still listed as coming up, marked cancelled.
    listing = client.get("/meetings").get_data(as_text=True)
    coming = listing.split('data-testid="upcoming-meetings"', 1)[1].split("</section>", 1)[0]
    assert f'/meetings/{meeting.id}"' in coming and "Cancelled" in coming
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).cancel_reason == "Clash with a national meeting"


def test_cancel_through_the_page(app, client, staff, login, db_session, meeting, submitted):
    """Does the coordinator's form cancel, members get 403, another panel 404, and is a missing
    reason a message?"""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    url = f"/meetings/{meeting.id}/cancel"
    login(client, staff["nap_member"])
    assert 'data-testid="cancel-card"' not in client.get(f"/meetings/{meeting.id}").get_data(
        as_text=True
    )
    assert post_form(app, client, url, {"reason": "x"}).status_code == 403
    other = app.test_client()
    login(other, staff["north_coordinator"])
    assert post_form(app, other, url, {"reason": "x"}).status_code == 404
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.PLANNED
    coordinator = app.test_client()
    login(coordinator, coord)
    assert 'data-testid="cancel-card"' in coordinator.get(f"/meetings/{meeting.id}").get_data(
        as_text=True
    )
    resp = post_form(app, coordinator, url, {"reason": ""})
    page = coordinator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Give the reason" in page
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.PLANNED
    resp = post_form(app, coordinator, url, {"reason": "The chair is ill"})
    page = coordinator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Meeting cancelled." in page and 'data-testid="cancelled-banner"' in page
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.CANCELLED
    assert submitted[0].status == CaseStatus.SUBMITTED
    # The case page no longer shows it waiting on that agenda.
    case_page = coordinator.get(f"/cases/{submitted[0].reference}").get_data(as_text=True)
    assert 'data-testid="agenda-status"' not in case_page


def test_cancel_reason_with_an_identifier_is_refused(staff, db_session, meeting):
    from panel.core.errors import IdentifiersFound

    with pytest.raises(IdentifiersFound):
        ops.cancel_meeting(
            meeting, reason="Family of NHS number 943 476 5919 asked", by=staff["nap_coordinator"]
        )

"""Meetings: UK time in and UTC stored (clocks changes refused), planning and changing a
meeting, who sees which meeting, attendance and quorum, closing with roll-over."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.models import AuditEntry
from panel.core.uktime import uk_today
from panel.meetings import operations as ops
from panel.meetings.models import AgendaItem, Attendance, ItemOutcome, Meeting, MeetingStatus
from tests.support.data import (
    FUTURE_YEAR,
    MARCH_CHANGE,
    OCTOBER_CHANGE,
    SUMMER_DAY,
    WINTER_DAY,
    audit_actions,
    move_to_past,
    panel,
    plan,
)
from tests.support.web import post_form


# --------------------------------------------------------------------------- UK time
def test_winter_and_summer_times_are_stored_in_utc(staff, db_session):
    """Is 16:00 UK time stored as 16:00 UTC in winter (GMT) and 15:00 UTC in summer (BST)?"""
    winter = plan(db_session, staff["nap_coordinator"], day=WINTER_DAY)
    summer = plan(db_session, staff["nap_coordinator"], day=SUMMER_DAY)
    db_session.expire_all()
    assert db_session.get(Meeting, winter.id).starts_at == datetime(
        FUTURE_YEAR, 12, 3, 16, 0, tzinfo=UTC
    )
    assert db_session.get(Meeting, summer.id).starts_at == datetime(
        FUTURE_YEAR, 6, 11, 15, 0, tzinfo=UTC
    )
    assert ops.meeting_label(winter).endswith("16:00 GMT")
    assert ops.meeting_label(summer).endswith("16:00 BST")


@pytest.mark.parametrize(
    ("day", "words"), [(MARCH_CHANGE, "does not exist"), (OCTOBER_CHANGE, "happens twice")]
)
def test_clocks_change_hour_is_refused_with_a_message(staff, db_session, day, words):
    """Is 01:30 on the day the clocks change refused (March: skipped; October: repeated)?"""
    with pytest.raises(Refused) as exc:
        ops.create_meeting(
            panel(db_session),
            day=day,
            at=time(1, 30),
            duration_minutes=60,
            video_link="",
            title="",
            by=staff["nap_coordinator"],
        )
    assert words in exc.value.message and "clocks" in exc.value.message
    db_session.rollback()
    # Just outside the hour is fine, and stored on the right side of the change.
    ok = plan(db_session, staff["nap_coordinator"], day=day, at=time(3, 0))
    assert ok.starts_at == datetime(
        day.year, day.month, day.day, 2 if day.month == 3 else 3, 0, tzinfo=UTC
    )


def test_clocks_change_hour_refused_on_the_form(app, client, staff, login, db_session):
    """Does the form show the clocks-change message and keep what was typed?"""
    login(client, staff["nap_coordinator"])
    nap = panel(db_session)
    resp = post_form(
        app,
        client,
        "/meetings/new",
        {
            "panel_id": nap.id,
            "day": MARCH_CHANGE.isoformat(),
            "at": "01:30",
            "duration_minutes": "90",
            "video_link": "https://meet.example.org/x",
            "title": "Spring review",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "does not exist in the UK" in html
    assert 'value="Spring review"' in html and 'value="https://meet.example.org/x"' in html
    assert db_session.scalar(select(Meeting)) is None


def test_meeting_in_the_past_is_refused(staff, db_session):
    with pytest.raises(Refused, match="in the past"):
        ops.create_meeting(
            panel(db_session),
            day=uk_today() - timedelta(days=1),
            at=time(10, 0),
            duration_minutes=60,
            video_link="",
            title="",
            by=staff["nap_coordinator"],
        )


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "meet.example.org", "https://exa mple.org"])
def test_video_link_must_be_a_web_address(staff, db_session, bad):
    with pytest.raises(Refused, match="video link"):
        ops.create_meeting(
            panel(db_session),
            day=WINTER_DAY,
            at=time(10, 0),
            duration_minutes=60,
            video_link=bad,
            title="",
            by=staff["nap_coordinator"],
        )


@pytest.mark.parametrize(
    "who", ["nap_member", "nap_chair", "north_coordinator", "referrer", "admin"]
)
def test_only_the_panels_coordinator_plans_its_meetings(staff, db_session, who):
    with pytest.raises(NotAllowed):
        ops.create_meeting(
            panel(db_session),
            day=WINTER_DAY,
            at=time(10, 0),
            duration_minutes=60,
            video_link="",
            title="",
            by=staff[who],
        )


def test_plan_a_meeting_through_the_form(app, client, staff, login, db_session):
    """Does the coordinator see only the panels they coordinate, with the zone and quorum shown,
    and is the meeting planned in UTC and audited?"""
    login(client, staff["nap_coordinator"])
    page = client.get("/meetings/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    nap, north = panel(db_session), panel(db_session, "ECMC-NORTH")
    assert f'value="{nap.id}"' in html and f'value="{north.id}"' not in html
    assert "UK time" in html and "quorum is 3" in html
    resp = post_form(
        app,
        client,
        "/meetings/new",
        {
            "panel_id": nap.id,
            "day": SUMMER_DAY.isoformat(),
            "at": "17:30",
            "duration_minutes": "90",
            "video_link": "https://meet.example.org/nap",
            "title": "June panel",
        },
    )
    assert resp.status_code == 302
    meeting = db_session.scalar(select(Meeting))
    assert resp.headers["Location"].endswith(f"/meetings/{meeting.id}")
    assert meeting.starts_at == datetime(FUTURE_YEAR, 6, 11, 16, 30, tzinfo=UTC)
    assert meeting.status == MeetingStatus.PLANNED and meeting.title == "June panel"
    assert "meeting.created" in audit_actions(db_session, "meeting", meeting.id)
    # Another panel's id in the form is not a choice.
    resp = post_form(
        app,
        client,
        "/meetings/new",
        {
            "panel_id": north.id,
            "day": SUMMER_DAY.isoformat(),
            "at": "17:30",
            "duration_minutes": "90",
        },
    )
    assert resp.status_code == 422
    assert db_session.scalar(select(Meeting).where(Meeting.panel_id == north.id)) is None


def test_title_with_patient_identifier_is_refused(staff, db_session):
    from panel.core.errors import IdentifiersFound

    with pytest.raises(IdentifiersFound):
        ops.create_meeting(
            panel(db_session),
            day=WINTER_DAY,
            at=time(10, 0),
            duration_minutes=60,
            video_link="",
            title="Discuss NHS number 943 476 5919",
            by=staff["nap_coordinator"],
        )


def test_new_meeting_page_refusals(app, client, staff, login):
    login(client, staff["nap_member"])
    assert client.get("/meetings/new").status_code == 403
    client = app.test_client()
    login(client, staff["referrer"])
    assert client.get("/meetings/new").status_code == 404


def test_update_meeting_with_stale_version_is_a_conflict(staff, db_session, meeting):
    """Two coordinators editing the same meeting: does the second save get a conflict?"""
    stale = meeting.version
    ops.update_meeting(
        meeting,
        day=WINTER_DAY,
        at=time(9, 0),
        duration_minutes=90,
        video_link="https://a.example.org",
        title="",
        by=staff["nap_coordinator"],
        expected_version=stale,
    )
    db_session.commit()
    assert meeting.starts_at == datetime(FUTURE_YEAR, 12, 3, 9, 0, tzinfo=UTC)
    with pytest.raises(Conflict):
        ops.update_meeting(
            meeting,
            day=WINTER_DAY,
            at=time(10, 0),
            duration_minutes=90,
            video_link="",
            title="",
            by=staff["nap_coordinator"],
            expected_version=stale,
        )
    db_session.rollback()
    assert "meeting.updated" in audit_actions(db_session, "meeting", meeting.id)


def test_edit_form_round_trips_uk_time(app, client, staff, login, db_session):
    """Does the edit form show the UK time (BST in summer) and save changes with the version?"""
    meeting = plan(db_session, staff["nap_coordinator"], day=SUMMER_DAY, at=time(16, 0))
    login(client, staff["nap_coordinator"])
    html = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="16:00"' in html and f'value="{SUMMER_DAY.isoformat()}"' in html
    old_version = meeting.version
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/edit",
        {
            "day": SUMMER_DAY.isoformat(),
            "at": "16:15",
            "duration_minutes": "60",
            "video_link": "https://meet.example.org/new",
            "title": "",
            "version": str(old_version),
        },
    )
    assert resp.status_code == 302
    db_session.expire_all()
    moved = db_session.get(Meeting, meeting.id)
    assert (
        moved.starts_at == datetime(FUTURE_YEAR, 6, 11, 15, 15, tzinfo=UTC)
        and moved.duration_minutes == 60
    )
    # The same stale version again: 409 and nothing changed.
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/edit",
        {
            "day": SUMMER_DAY.isoformat(),
            "at": "18:00",
            "duration_minutes": "60",
            "video_link": "",
            "title": "",
            "version": str(old_version),
        },
    )
    assert resp.status_code == 409 and "Someone else changed this meeting" in resp.get_data(
        as_text=True
    )
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).starts_at == datetime(
        FUTURE_YEAR, 6, 11, 15, 15, tzinfo=UTC
    )


def test_closed_meeting_cannot_be_changed(staff, db_session, meeting):
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=staff["nap_coordinator"])
    db_session.commit()
    with pytest.raises(Refused, match="closed"):
        ops.update_meeting(
            meeting,
            day=WINTER_DAY,
            at=time(9, 0),
            duration_minutes=60,
            video_link="",
            title="",
            by=staff["nap_coordinator"],
            expected_version=meeting.version,
        )


def test_upcoming_meetings_soonest_first(staff, db_session):
    later = plan(db_session, staff["nap_coordinator"], day=uk_today() + timedelta(days=40))
    sooner = plan(db_session, staff["nap_coordinator"], day=uk_today() + timedelta(days=10))
    past = plan(db_session, staff["nap_coordinator"], day=uk_today() + timedelta(days=5))
    move_to_past(db_session, past)
    north = plan(db_session, staff["north_coordinator"], code="ECMC-NORTH")
    nap = panel(db_session)
    assert [m.id for m in ops.upcoming_meetings([nap.id])] == [sooner.id, later.id]
    assert {m.id for m in ops.upcoming_meetings([nap.id, north.panel_id])} == {
        sooner.id,
        later.id,
        north.id,
    }
    assert ops.upcoming_meetings([]) == []


# --------------------------------------------------------------------------- who sees what
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nap_coordinator", 200),
        ("nap_member", 200),
        ("nap_chair", 200),
        ("north_coordinator", 404),
        ("north_member", 404),
        ("referrer", 404),
        ("admin", 404),
    ],
)
def test_who_opens_a_meeting(app, client, staff, login, meeting, who, status):
    """Does a meeting page answer 404 to anyone without a role on its panel?"""
    login(client, staff[who])
    assert client.get(f"/meetings/{meeting.id}").status_code == status
    assert client.get(f"/meetings/{meeting.id}/agenda.pdf").status_code == status
    assert client.get(f"/meetings/{meeting.id}.ics").status_code == status
    assert client.get(f"/meetings/{meeting.id + 999}").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(app, client, meeting):
    for url in (
        "/meetings",
        f"/meetings/{meeting.id}",
        f"/meetings/{meeting.id}.ics",
        f"/meetings/{meeting.id}/agenda.pdf",
        "/meetings/new",
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_members_see_the_agenda_read_only(
    app, client, staff, login, meeting, submitted, db_session
):
    ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    db_session.commit()
    login(client, staff["nap_member"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert submitted[0].reference in html
    assert (
        "Publish the agenda" not in html
        and "Add to agenda" not in html
        and "Save attendance" not in html
    )
    assert "agenda.js" not in html
    client = app.test_client()
    login(client, staff["nap_coordinator"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Publish the agenda" in html and "Add to agenda" in html and "Save apologies" in html
    assert "agenda.js" in html and "/present" in html


COORDINATOR_POSTS = [
    ("agenda", {"case": "NB-2000-0001"}),
    ("items/{item}/move", {"direction": "up"}),
    ("items/{item}/remove", {}),
    ("items/{item}/time", {"minutes": "20"}),
    ("reorder", {"order": "{item}"}),
    ("publish", {}),
    ("attendance", {}),
    ("close", {}),
    ("edit", {}),
    ("cancel", {"reason": "Clash"}),
    ("guests", {"item": "{item}", "email": "expert@example.org", "name": "Dr Expert"}),
]


@pytest.mark.parametrize(("path", "data"), COORDINATOR_POSTS)
def test_coordinator_actions_refused_to_others(
    app, client, staff, login, meeting, submitted, db_session, path, data
):
    """Is every agenda action 403 for the panel's own members and 404 for another panel's?"""
    item = ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    db_session.commit()
    url = f"/meetings/{meeting.id}/" + path.format(item=item.id)
    payload = {k: v.format(item=item.id) for k, v in data.items()}
    login(client, staff["nap_member"])
    assert post_form(app, client, url, payload).status_code == 403
    client = app.test_client()
    login(client, staff["north_coordinator"])
    assert post_form(app, client, url, payload).status_code == 404
    db_session.expire_all()
    assert db_session.get(AgendaItem, item.id).outcome_status == ItemOutcome.PENDING
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.PLANNED


def test_meetings_list(app, client, staff, login, db_session):
    """Does the list show the user's panels' meetings only, with "New meeting" for coordinators,
    and answer 404 to people on no panel?"""
    nap_meeting = plan(db_session, staff["nap_coordinator"], day=WINTER_DAY)
    old = plan(db_session, staff["nap_coordinator"])
    move_to_past(db_session, old, hours=72)
    north_meeting = plan(db_session, staff["north_coordinator"], code="ECMC-NORTH")
    login(client, staff["nap_member"])
    html = client.get("/meetings").get_data(as_text=True)
    assert f'/meetings/{nap_meeting.id}"' in html and f'/meetings/{old.id}"' in html
    assert f'/meetings/{north_meeting.id}"' not in html
    assert "New meeting" not in html and "16:00 GMT" in html
    client = app.test_client()
    login(client, staff["nap_coordinator"])
    assert "New meeting" in client.get("/meetings").get_data(as_text=True)
    for who in ("referrer", "admin"):
        client = app.test_client()
        login(client, staff[who])
        assert client.get("/meetings").status_code == 404


# --------------------------------------------------------------------------- attendance
def test_attendance_and_quorum(staff, db_session, meeting):
    """Are roles recorded (chair, member, coordinator) and does only members+chairs count?"""
    coord = staff["nap_coordinator"]
    move_to_past(db_session, meeting)
    ops.set_attendance(
        meeting, [staff["nap_member"].id, staff["nap_member2"].id, coord.id], by=coord
    )
    db_session.commit()
    roles = {a.user_id: a.role for a in meeting.attendance}
    assert roles == {
        staff["nap_member"].id: "member",
        staff["nap_member2"].id: "member",
        coord.id: "coordinator",
    }
    assert meeting.voting_attendance == 2 and not meeting.quorum_met
    ops.set_attendance(
        meeting, [staff["nap_member"].id, staff["nap_member2"].id, staff["nap_chair"].id], by=coord
    )
    db_session.commit()
    assert {a.role for a in meeting.attendance} == {"member", "chair"}
    assert meeting.voting_attendance == 3 and meeting.quorum_met
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "meeting.attendance")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.details == {
        "attending": 3,
        "voting": 3,
        "quorum": 3,
        "quorum_met": True,
        "guests": [],
    }


def test_quorum_is_configurable_per_panel(staff, db_session, meeting):
    move_to_past(db_session, meeting)
    panel(db_session).quorum = 1
    db_session.commit()
    ops.set_attendance(meeting, [staff["nap_member"].id], by=staff["nap_coordinator"])
    assert meeting.quorum_met


def test_attendance_refuses_people_of_other_panels(staff, db_session, meeting):
    move_to_past(db_session, meeting)
    with pytest.raises(Refused, match="Only the panel's"):
        ops.set_attendance(meeting, [staff["north_member"].id], by=staff["nap_coordinator"])
    with pytest.raises(Refused):
        ops.set_attendance(meeting, ["x"], by=staff["nap_coordinator"])
    with pytest.raises(NotAllowed):
        ops.set_attendance(meeting, [staff["nap_member"].id], by=staff["nap_chair"])


def test_attendance_form(app, client, staff, login, meeting, db_session):
    move_to_past(db_session, meeting)
    login(client, staff["nap_coordinator"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert staff["nap_chair"].name in html and staff["north_member"].name not in html
    ids = [staff["nap_member"].id, staff["nap_member2"].id, staff["nap_chair"].id]
    resp = post_form(
        app, client, f"/meetings/{meeting.id}/attendance", {"attendee": [str(i) for i in ids]}
    )
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "quorum reached" in html and "Quorum: 3 of 3" in html
    assert (
        db_session.scalar(
            select(Attendance).where(Attendance.user_id == staff["nap_chair"].id)
        ).role
        == "chair"
    )


# --------------------------------------------------------------------------- closing
def test_close_rolls_undiscussed_cases_over_to_the_next_meeting(
    staff, db_session, meeting, submitted
):
    """Do cases not discussed move to the panel's next meeting, flagged, still scheduled?"""
    coord = staff["nap_coordinator"]
    following = plan(db_session, coord, day=uk_today() + timedelta(days=60))
    later_still = plan(db_session, coord, day=uk_today() + timedelta(days=90))
    first = ops.add_case(meeting, submitted[0], by=coord, minutes=20)
    second = ops.add_case(meeting, submitted[1], by=coord)
    db_session.commit()
    # The minutes helper marks one as discussed; the other is not reached.
    first.outcome_status = ItemOutcome.DISCUSSED
    submitted[0].status = CaseStatus.DISCUSSED
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    db_session.expire_all()
    closed = db_session.get(Meeting, meeting.id)
    assert (
        closed.status == MeetingStatus.CLOSED
        and closed.closed_by_id == coord.id
        and closed.closed_at
    )
    assert db_session.get(AgendaItem, second.id).outcome_status == ItemOutcome.NOT_DISCUSSED
    assert db_session.get(AgendaItem, first.id).outcome_status == ItemOutcome.DISCUSSED
    moved = db_session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == following.id))
    assert (
        moved.case_id == submitted[1].id
        and moved.rolled_over_from_id == second.id
        and moved.is_rolled_over
    )
    assert moved.outcome_status == ItemOutcome.PENDING
    assert (
        db_session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == later_still.id)) is None
    )
    case = moved.case
    assert case.status == CaseStatus.SCHEDULED and not case.rolled_over
    assert "case.rolled_over" in audit_actions(db_session, "case", case.reference)
    assert "meeting.closed" in audit_actions(db_session, "meeting", meeting.id)
    # A closed meeting's agenda no longer changes.
    with pytest.raises(Refused, match="closed"):
        ops.add_case(closed, submitted[2], by=coord)


def test_close_without_a_next_meeting_returns_cases_to_triage(
    app, client, staff, login, db_session, meeting, submitted
):
    """With no later meeting, does an undiscussed case go back to triage, flagged rolled over,
    and show so on its page and in the "add a case" list of the next meeting?"""
    coord = staff["nap_coordinator"]
    item = ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    move_to_past(db_session, meeting)
    login(client, coord)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "No later meeting is planned" in html
    resp = post_form(app, client, f"/meetings/{meeting.id}/close", {})
    assert resp.status_code == 302
    db_session.expire_all()
    case = db_session.get(AgendaItem, item.id).case
    assert case.status == CaseStatus.SUBMITTED and case.rolled_over
    assert "case.returned_to_triage" in audit_actions(db_session, "case", case.reference)
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="rolled-over"' in page and "Not reached at the NAP meeting" in page
    # Scheduling it again clears the flag.
    nxt = plan(db_session, coord, day=WINTER_DAY)
    assert "rolled over" in client.get(f"/meetings/{nxt.id}").get_data(as_text=True)
    ops.add_case(nxt, case, by=coord)
    db_session.commit()
    assert not case.rolled_over and case.status == CaseStatus.SCHEDULED


def test_a_meeting_cannot_close_before_it_starts(staff, db_session, meeting):
    with pytest.raises(Refused, match="not started"):
        ops.close_meeting(meeting, by=staff["nap_coordinator"])
    with pytest.raises(NotAllowed):
        ops.close_meeting(meeting, by=staff["nap_member"])


def test_withdrawn_case_is_not_rolled_over(staff, db_session, meeting, submitted):
    from panel.cases import operations as case_ops

    coord = staff["nap_coordinator"]
    following = plan(db_session, coord, day=WINTER_DAY)
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    case_ops.withdraw_case(submitted[0], by=staff["referrer"])
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    assert following.active_items == []
    assert submitted[0].status == CaseStatus.WITHDRAWN

"""The calendar file (icalendar, UTC across clocks changes) and the agenda PDF (WeasyPrint)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from panel.meetings import operations as ops
from panel.meetings.models import Attendance
from tests.support.data import (
    FUTURE_YEAR,
    MARCH_CHANGE,
    OCTOBER_CHANGE,
    SUMMER_DAY,
    WINTER_DAY,
    plan,
)


def event_of(resp):
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/calendar"
    assert (
        "attachment" in resp.headers["Content-Disposition"]
        and ".ics" in resp.headers["Content-Disposition"]
    )
    cal = Calendar.from_ical(resp.data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize(
    ("day", "utc_hour", "zone"),
    [
        (WINTER_DAY, 16, "GMT"),
        (SUMMER_DAY, 15, "BST"),
        (MARCH_CHANGE, 15, "BST"),  # the afternoon after the clocks go forward
        (OCTOBER_CHANGE, 16, "GMT"),  # the afternoon after they go back
    ],
)
def test_calendar_times_are_utc_across_clocks_changes(
    app, client, staff, login, db_session, day, utc_hour, zone
):
    """Is 16:00 UK time written as the right UTC instant (with a Z) on both sides of a change?"""
    m = plan(db_session, staff["nap_coordinator"], day=day, at=time(16, 0), minutes=90)
    login(client, staff["nap_member"])
    resp = client.get(f"/meetings/{m.id}.ics")
    event = event_of(resp)
    start = event.decoded("dtstart")
    assert start == datetime(day.year, day.month, day.day, utc_hour, 0, tzinfo=UTC)
    assert start.utcoffset().total_seconds() == 0
    assert (event.decoded("dtend") - start).total_seconds() == 90 * 60
    raw = resp.data.decode()
    assert f"DTSTART:{day:%Y%m%d}T{utc_hour:02d}0000Z" in raw
    assert ops.meeting_label(m).endswith(zone)


def test_calendar_event_contents(app, client, staff, login, db_session, meeting, submitted):
    """UID stable per meeting, SEQUENCE rising with each publication, summary, link, and only
    case references in the description."""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[0], by=coord)
    ops.add_case(meeting, submitted[1], by=coord)
    ops.publish(meeting, by=coord)
    db_session.commit()
    login(client, staff["nap_member"])
    first = event_of(client.get(f"/meetings/{meeting.id}.ics"))
    assert str(first["summary"]) == f"{meeting.panel.name} meeting"
    assert (
        str(first["location"]) == "https://meet.example.org/nap"
        and str(first["url"]) == "https://meet.example.org/nap"
    )
    description = str(first["description"])
    assert submitted[0].reference in description and submitted[1].reference in description
    assert f"https://panel.test.example/meetings/{meeting.id}" in description
    for bit in ("F1174L", "ALK", "relapse", "adrenal", "trial"):
        assert bit not in description
    assert int(first["sequence"]) == 1
    ops.publish(meeting, by=coord)
    db_session.commit()
    second = event_of(client.get(f"/meetings/{meeting.id}.ics"))
    assert str(second["uid"]) == str(first["uid"]) == f"meeting-{meeting.id}@panel.test.example"
    assert int(second["sequence"]) == 2


def test_calendar_links_use_panel_base_url(
    app, client, staff, login, db_session, meeting, submitted, monkeypatch
):
    """With PANEL_BASE_URL on port 5077 (as `make run PORT=5077` sets it), do the calendar's
    link and UID use it (never the request's host, never port 5000)?"""
    monkeypatch.setitem(app.config, "BASE_URL", "http://127.0.0.1:5077")
    ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    ops.publish(meeting, by=staff["nap_coordinator"])
    db_session.commit()
    login(client, staff["nap_member"])
    resp = client.get(f"/meetings/{meeting.id}.ics", base_url="http://localhost:9999")
    event = event_of(resp)
    assert str(event["description"]).endswith(
        f"Agenda in Panel: http://127.0.0.1:5077/meetings/{meeting.id}"
    )
    assert str(event["uid"]) == f"meeting-{meeting.id}@127.0.0.1"
    assert b":5000" not in resp.data and b"9999" not in resp.data


def test_referrer_gets_the_calendar_of_a_published_meeting_listing_their_case(
    app, client, staff, login, db_session, meeting, submitted, make_user, make_case
):
    """404 on the meeting page always; 200 on the .ics once the agenda listing their case is
    published, with only their own references; other referrers 404."""
    coord = staff["nap_coordinator"]
    colleague = make_user(referrer_at="LEEDS", name="Dr Colleague")
    theirs = make_case(colleague, submit=True)
    ops.add_case(meeting, submitted[0], by=coord)
    ops.add_case(meeting, theirs, by=coord)
    db_session.commit()
    login(client, staff["referrer"])
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}.ics").status_code == 404  # not published yet
    ops.publish(meeting, by=coord)
    db_session.commit()
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}/agenda.pdf").status_code == 404
    event = event_of(client.get(f"/meetings/{meeting.id}.ics"))
    description = str(event["description"])
    assert submitted[0].reference in description and theirs.reference not in description
    assert f"https://panel.test.example/cases/{submitted[0].reference}" in description
    other = app.test_client()
    login(other, staff["other_referrer"])
    assert other.get(f"/meetings/{meeting.id}.ics").status_code == 404
    # Taken off the agenda: the referrer no longer gets the calendar.
    item = next(i for i in meeting.active_items if i.case_id == submitted[0].id)
    ops.remove_case(item, by=coord)
    db_session.commit()
    assert client.get(f"/meetings/{meeting.id}.ics").status_code == 404


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_agenda_pdf(app, client, staff, login, db_session, meeting, submitted, tmp_path):
    """Is the agenda a real A4 PDF with the panel, UK time with zone, slots, references, age,
    disease status, key biology, the parents' question count and the rolled-over flag?"""
    coord = staff["nap_coordinator"]
    ops.add_case(meeting, submitted[0], by=coord, minutes=20)
    ops.add_case(meeting, submitted[1], by=coord, minutes=25)
    # Recorded as at the meeting (attendance waits for the start; the slots need 16:00).
    for person, role in ((staff["nap_member"], "member"), (staff["nap_chair"], "chair")):
        meeting.attendance.append(Attendance(user_id=person.id, user=person, role=role))
    db_session.commit()
    login(client, staff["nap_chair"])
    resp = client.get(f"/meetings/{meeting.id}/agenda.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    (tmp_path / "agenda.pdf").write_bytes(resp.data)  # kept for a look (pdftoppm -png)
    reader = PdfReader(io.BytesIO(resp.data))
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2  # A4
    text = _pdf_text(resp.data)
    assert meeting.panel.name in text
    assert submitted[0].reference in text and submitted[1].reference in text
    zone = ops.meeting_label(meeting).split()[-1]
    assert "16:00" in text and "16:20" in text and f"{zone} (UK time)" in text
    assert "4 y 4 m" in text and "Relapsed" in text and "Amplified" in text and "F1174L" in text
    assert "not met" in text  # two attending of a quorum of three


def test_agenda_pdf_shows_the_rolled_over_flag(
    app, client, staff, login, db_session, meeting, submitted
):
    from tests.support.data import move_to_past

    coord = staff["nap_coordinator"]
    following = plan(db_session, coord, day=date(FUTURE_YEAR, 1, 14))
    ops.add_case(meeting, submitted[0], by=coord)
    db_session.commit()
    move_to_past(db_session, meeting)
    ops.close_meeting(meeting, by=coord)
    db_session.commit()
    login(client, coord)
    resp = client.get(f"/meetings/{following.id}/agenda.pdf")
    text = _pdf_text(resp.data)
    assert submitted[0].reference in text and "Rolled over" in text


def test_agenda_pdf_reaches_no_network_and_no_file_outside_static(
    app, client, staff, login, db_session, meeting, submitted, monkeypatch
):
    """Does the agenda PDF use the letters' static-only fetcher: an image on another host is
    never requested, and a file outside the static folder is never read?"""
    import socket
    import threading

    import panel.core.pdf as core_pdf
    import panel.meetings.pdf as agenda_pdf

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    connections: list[object] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            connections.append(conn)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    refused: list[str] = []
    real_fetcher = core_pdf.static_only_fetcher

    def watching_fetcher(root):
        fetcher = real_fetcher(root)
        original = fetcher.fetch

        def fetch(url, headers=None):
            try:
                return original(url, headers)
            except ValueError:
                refused.append(url)
                raise

        fetcher.fetch = fetch
        return fetcher

    monkeypatch.setattr(core_pdf, "static_only_fetcher", watching_fetcher)
    real_render = agenda_pdf.render_template

    def render_with_outside_links(*args, **kwargs):
        html = real_render(*args, **kwargs)
        return html.replace(
            "</body>",
            f'<img src="http://127.0.0.1:{port}/x.png"><img src="file:///etc/hostname"></body>',
        )

    monkeypatch.setattr(agenda_pdf, "render_template", render_with_outside_links)
    ops.add_case(meeting, submitted[0], by=staff["nap_coordinator"])
    db_session.commit()
    login(client, staff["nap_chair"])
    try:
        resp = client.get(f"/meetings/{meeting.id}/agenda.pdf")
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert connections == []
    assert f"http://127.0.0.1:{port}/x.png" in refused and "file:///etc/hostname" in refused

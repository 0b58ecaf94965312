"""The meeting as an iCalendar event (RFC 5545), made with the ``icalendar`` library.

Times are written in UTC (``...Z``), so calendar clients place the meeting right on both sides
of a clocks change. The UID is stable per meeting and SEQUENCE rises on every (re)publication,
so an updated file replaces the event instead of adding a second one. The description lists
case references only: no clinical content travels in a calendar.
"""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from panel.core.db import utcnow
from panel.meetings.models import Meeting, MeetingStatus

PRODID = "-//Panel//Neuroblastoma advisory panels//EN"


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "panel.local"


def meeting_uid(meeting: Meeting, base_url: str) -> str:
    return f"meeting-{meeting.id}@{_host(base_url)}"


def meeting_calendar(meeting: Meeting, *, base_url: str, references: list[str], link: str) -> bytes:
    """An ``.ics`` file with one VEVENT for ``meeting``. ``references`` are the case references
    this reader may see; ``link`` is the absolute address of the meeting (or case), built by
    :func:`panel.core.web.external_url` from ``PANEL_BASE_URL`` like every link read outside
    Panel. ``base_url`` (``PANEL_BASE_URL``) gives the UID its host."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")

    event = Event()
    event.add("uid", meeting_uid(meeting, base_url))
    event.add("dtstamp", utcnow().astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", meeting.sequence or 0)
    event.add("summary", f"{meeting.panel.name} meeting")
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    if meeting.video_link:
        event.add("location", meeting.video_link)
        event.add("url", meeting.video_link)
    lines = []
    if meeting.title:
        lines.append(meeting.title)
    if references:
        lines.append("Cases: " + ", ".join(references))
    else:
        lines.append("No cases on the agenda yet.")
    if meeting.video_link:
        lines.append(f"Join: {meeting.video_link}")
    lines.append(f"Agenda in Panel: {link}")
    event.add("description", "\n".join(lines))
    cal.add_component(event)
    return cal.to_ical()

"""Numbers in query strings and form fields that no column can hold: a page, a refusal or a
400, never a 500 (PostgreSQL: "integer out of range" / "bigint out of range")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import CaseStatus
from panel.core.db import utcnow
from panel.meetings.models import AgendaItem, Meeting, MeetingStatus
from tests.support.web import post_form

HUGE = "99999999999999999999"
OVER_BIGINT = str(2**63)


@pytest.mark.parametrize("number", [HUGE, OVER_BIGINT, str(2**31)])
def test_huge_page_numbers_show_a_page(app, client, db_session, people, login, number):
    """Do ?page= values beyond any range give an ordinary page (the first) on the audit
    browser and the admin's people list?"""
    login(client, people["admin"])
    assert client.get(f"/admin/users?page={number}").status_code == 200
    assert client.get(f"/audit?page={number}").status_code == 200
    assert client.get("/audit?page=-5").status_code == 200


@pytest.mark.parametrize("number", [HUGE, str(2**31)])
def test_huge_numbers_in_meeting_forms(app, client, db_session, people, make_case, login, number):
    """Do a huge panel on the new-meeting page, a huge meeting in the triage "schedule" form, a
    huge reply-to comment id and a huge minutes version answer without a 500?"""
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    case = make_case(people["referrer"], submit=True)
    case.status = CaseStatus.SCHEDULED
    meeting = Meeting(
        panel_id=nap.id,
        title="NAP December",
        starts_at=utcnow() + timedelta(hours=1),
        status=MeetingStatus.PUBLISHED,
    )
    db_session.add(meeting)
    db_session.flush()
    item = AgendaItem(meeting_id=meeting.id, case_id=case.id, position=1)
    db_session.add(item)
    db_session.commit()
    login(client, people["nap_coordinator"])

    assert client.get(f"/meetings/new?panel={number}").status_code == 200
    resp = post_form(app, client, "/triage/schedule", {"case": case.reference, "meeting": number})
    assert resp.status_code in (302, 303, 307)
    resp = post_form(
        app, client, f"/cases/{case.reference}/comments", {"body": "Reply.", "parent_id": number}
    )
    assert resp.status_code < 500
    resp = post_form(
        app,
        client,
        f"/meetings/{meeting.id}/items/{item.id}/minutes",
        {"discussion": "x", "outcome": "", "version": number},
    )
    assert resp.status_code == 400

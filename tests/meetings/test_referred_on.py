"""After a refer-on, the old panel's meeting pages keep the case's place on the agenda but show
its reference alone: no clinical summary, no link (``Case.can_view`` decides, in one place)."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import CaseStatus
from panel.meetings import operations as ops
from panel.meetings import triage
from panel.meetings.models import ItemOutcome

SUMMARY = ("4 y 4 m", "Relapsed", "Amplified", "F1174L")


@pytest.fixture
def referred(db_session, staff, meeting, submitted):
    """Two cases discussed at a NAP meeting; the first then referred on to ECMC-NORTH."""
    coord = staff["nap_coordinator"]
    gone, kept = submitted[0], submitted[1]
    for case in (gone, kept):
        item = ops.add_case(meeting, case, by=coord)
        item.outcome_status = ItemOutcome.DISCUSSED
        case.status = CaseStatus.DISCUSSED
    db_session.commit()
    north = db_session.scalar(select(Panel).where(Panel.code == "ECMC-NORTH"))
    triage.refer_on(gone, north, reason="Early-phase trial in the North", by=coord)
    db_session.commit()
    return gone, kept


@pytest.mark.parametrize("who", ["nap_member", "nap_chair", "nap_coordinator"])
def test_meeting_page_shows_a_referred_on_case_as_its_reference_alone(
    app, client, staff, login, meeting, referred, who
):
    """Does the old panel's agenda page show the referred-on case's reference without its age,
    status, MYCN, ALK, urgency or a link, while the case still with the panel keeps them?"""
    gone, kept = referred
    login(client, staff[who])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert gone.reference in html and kept.reference in html
    assert f'href="/cases/{gone.reference}"' not in html
    assert f'href="/cases/{kept.reference}"' in html
    assert html.count('data-testid="agenda-summary"') == 1
    assert 'data-testid="agenda-not-shown"' in html
    for fact in SUMMARY:
        assert html.count(fact) == 1, fact  # the kept case's summary only


def test_agenda_pdf_is_rendered_for_its_reader(app, client, staff, login, meeting, referred):
    """Does the agenda PDF (rendered for the signed-in reader) leave out the referred-on case's
    summary, and keep the other case's?"""
    gone, kept = referred
    login(client, staff["nap_chair"])
    resp = client.get(f"/meetings/{meeting.id}/agenda.pdf")
    assert resp.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert gone.reference in text and kept.reference in text
    assert "No longer with this panel" in text
    for fact in SUMMARY:
        assert len(re.findall(re.escape(fact), text)) == 1, fact


def test_presentation_shows_a_referred_on_case_as_its_reference_alone(
    app, client, staff, login, meeting, referred
):
    """Does presentation mode keep the referred-on case's place (so the arrows still work) but
    show nothing of it beyond the reference?"""
    gone, kept = referred
    login(client, staff["nap_coordinator"])
    first = client.get(f"/meetings/{meeting.id}/present/1")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert gone.reference in html and 'data-testid="present-not-shown"' in html
    assert (
        'data-testid="present-summary"' not in html and 'data-testid="present-question"' not in html
    )
    for fact in ("Amplified", "F1174L", gone.data["clinical_question"][:30]):
        assert fact not in html, fact
    assert f"/cases/{gone.reference}" not in html and "/minutes" not in html
    second = client.get(f"/meetings/{meeting.id}/present/2").get_data(as_text=True)
    assert (
        kept.reference in second
        and 'data-testid="present-summary"' in second
        and "Amplified" in second
    )


def test_the_new_panel_still_sees_the_whole_case(app, client, staff, login, referred):
    gone, _ = referred
    login(client, staff["north_coordinator"])
    assert client.get(f"/cases/{gone.reference}").status_code == 200


def test_minutes_navigation_does_not_link_to_a_referred_on_case(
    app, client, staff, login, meeting, referred
):
    """Does the minutes page of the next case name the referred-on one without a link to its
    minutes (which would be a 404)?"""
    gone, kept = referred
    items = {i.case_id: i for i in meeting.active_items}
    login(client, staff["nap_coordinator"])
    resp = client.get(f"/meetings/{meeting.id}/items/{items[kept.id].id}/minutes")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert gone.reference in html
    assert f"/meetings/{meeting.id}/items/{items[gone.id].id}" not in html
    assert (
        client.get(f"/meetings/{meeting.id}/items/{items[gone.id].id}/minutes").status_code == 404
    )

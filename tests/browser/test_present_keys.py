"""Presentation mode's keys in the browser: Esc leaves for the meeting page (issue 14)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.journeys import (
    COORDINATOR,
    REFERRER,
    demo_document,
    in_app,
    new_meeting,
    new_submitted_case,
    prepare,
    sign_in,
    user,
)

pytestmark = pytest.mark.browser


def test_escape_leaves_presentation_mode(page, live_server):
    from panel.core.db import db
    from panel.meetings import operations

    with in_app(live_server):
        meeting = new_meeting("NAP", 9, "Esc check")
        case = new_submitted_case(REFERRER, demo_document("alk"))
        operations.add_case(meeting, case, by=user(COORDINATOR))
        db.session.commit()
        meeting_id, ref = meeting.id, case.reference

    prepare(page)
    sign_in(page, live_server, COORDINATOR)
    page.goto(f"{live_server.url}/meetings/{meeting_id}/present")
    expect(page.get_by_test_id("present-ref")).to_have_text(ref)
    # Arrow keys still move (nothing to the right of the only case) and do not leave.
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("present-ref")).to_have_text(ref)
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(rf"/meetings/{meeting_id}$"))
    expect(page.get_by_test_id("present-link")).to_be_visible()

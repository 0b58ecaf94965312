"""The case timeline in the browser: the coordinator asks, the referrer replies and resubmits,
and the coordinator still reads the questions and the reply on the case page; screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.journeys import (
    COORDINATOR,
    REFERRER,
    demo_document,
    in_app,
    new_submitted_case,
    other_person,
    prepare,
    shots_dir,
    sign_in,
    user,
)

pytestmark = pytest.mark.browser

QUESTION = "What is the current bone marrow result?"
REPLY = "Bone marrow 10% infiltrated at relapse; trephine confirms."


def test_the_reply_stays_on_the_timeline_after_resubmission(
    page, browser, live_server, artifacts_dir, backend
):
    from panel.cases import operations
    from panel.core.db import db

    shots = shots_dir(artifacts_dir)
    with in_app(live_server):
        ref = new_submitted_case(REFERRER, demo_document("alk")).reference
        db.session.commit()

    prepare(page)
    sign_in(page, live_server, COORDINATOR)
    page.goto(f"{live_server.url}/cases/{ref}")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_test_id("timeline-entry")).to_have_count(1)
    page.get_by_placeholder("One question per line").fill(QUESTION)
    page.get_by_role("button", name="Send back to the referrer").click()
    expect(page.get_by_test_id("status")).to_have_text("Information requested")
    expect(timeline.get_by_test_id("timeline-questions")).to_contain_text(QUESTION)

    with other_person(browser, live_server, REFERRER) as referrer_page:
        referrer_page.goto(f"{live_server.url}/cases/{ref}")
        referrer_page.get_by_label("Your reply to the panel").fill(REPLY)
        referrer_page.get_by_role("button", name="Save reply").click()
        expect(referrer_page.get_by_test_id("timeline-reply")).to_contain_text(REPLY)

    with in_app(live_server):
        from panel.cases.models import Case

        case = db.session.query(Case).filter_by(reference=ref).one()
        doc = operations.to_document(case)
        doc["clinical_question"] = doc["clinical_question"] + " Marrow result now added."
        operations.update_case(case, doc, by=user(REFERRER), expected_version=None)
        operations.submit_case(case, by=user(REFERRER))
        db.session.commit()

    page.reload()
    expect(page.get_by_test_id("information-request")).to_have_count(0)  # the request is closed
    expect(timeline.get_by_test_id("timeline-entry")).to_have_count(4)
    expect(timeline.get_by_test_id("timeline-questions")).to_contain_text(QUESTION)
    expect(timeline.get_by_test_id("timeline-reply")).to_contain_text(REPLY)
    timeline.get_by_text("What changed since the previous submission").click()
    expect(timeline.get_by_test_id("timeline-diff")).to_contain_text("Marrow result now added.")
    timeline.screenshot(path=str(shots / f"{backend}-case-timeline.png"))
    page.screenshot(path=str(shots / f"{backend}-case-page-with-timeline.png"), full_page=True)

"""Issue #14, done when: a browser journey walks the whole road of one new case, with a meeting
in the future and one in the past, through the real pages as each role would.

The referrer submits a fresh copy of the ALK demo case (a draft made with the app's operations,
submitted from the referral form); the coordinator is told under the bell, asks for
information; the referrer is told, replies and resubmits; the coordinator reads the questions
and the reply on the case timeline (fault 1). The case goes on a meeting in the future:
attendance and "mark as discussed" are refused with the meeting's date (fault 3). Once the
meeting lies in the past, attendance, minutes and "discussed" are accepted. The draft
recommendation starts from the minutes (fault 7); marked ready, it reaches the chair under the
bell and under "Awaiting my approval" on the home page; the chair approves; the coordinator
sends; the referrer is told, reads the letters and makes a family code; the family reads the
letter and asks a question, which shows as "sent to the panel on DATE", never "did not answer"
(fault 4); the stored letters (the letters API, each download checked against its SHA-256,
and the PDFs the pages serve) are the same before and after the question.
Screenshots: {backend}-road-*.png."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import expect

from tests.support.journeys import (
    CHAIR,
    COORDINATOR,
    MEMBERS,
    REFERRER,
    demo_document,
    expect_flash,
    in_app,
    new_meeting,
    other_person,
    prepare,
    shots_dir,
    sign_in,
    user,
)

pytestmark = pytest.mark.browser

QUESTION = "Please add the bone marrow result at relapse."
REPLY = "Bone marrow 10% infiltrated at relapse; the trephine confirms it."
DISCUSSION = "Relapse with an ALK mutation; the panel weighed a targeted trial against salvage."
OUTCOME = "Recommend the ALK inhibitor trial; salvage chemotherapy only if it cannot start soon."
CLINICIAN_ANSWER = "Clinician answer {n}: the panel explains its reasoning in the letter."
FAMILY_ANSWER = "Plain answer {n}: your child's doctor will explain what this means for you."
FAMILY_QUESTION = "How long would each treatment visit take, and can we stay together on the ward?"


def _draft_case(live_server) -> str:
    """A draft copy of the ALK demo case, made by the referrer (the form fills are covered by
    the referral form journey; here the referrer submits it from the form)."""
    from panel.cases import operations as case_ops
    from panel.core.db import db

    with in_app(live_server):
        case = case_ops.create_case(demo_document("alk"), by=user(REFERRER)).case
        db.session.commit()
        return case.reference


def _future_meeting(live_server) -> tuple[int, str]:
    """A NAP meeting eleven days ahead; its id and its start as the app writes it (UK time)."""
    from panel.core.db import db
    from panel.core.uktime import uk_label

    with in_app(live_server):
        meeting = new_meeting("NAP", 11, "NAP meeting for the whole road")
        db.session.commit()
        return meeting.id, uk_label(meeting.starts_at)


def _move_to_past(live_server, meeting_id: int) -> str:
    """The meeting took place: it started two hours ago (as the clock would have it)."""
    from datetime import timedelta

    from panel.core.db import db, utcnow
    from panel.core.uktime import uk_label
    from panel.meetings.models import Meeting

    with in_app(live_server):
        meeting = db.session.get(Meeting, meeting_id)
        meeting.starts_at = utcnow() - timedelta(hours=2)
        db.session.commit()
        return uk_label(meeting.starts_at)


def _item_and_members(live_server, meeting_id: int, ref: str) -> tuple[int, list[int]]:
    from panel.accounts.queries import panel_people
    from panel.core.db import db
    from panel.meetings.models import Meeting

    with in_app(live_server):
        meeting = db.session.get(Meeting, meeting_id)
        item = next(i for i in meeting.items if i.case.reference == ref)
        voting = [p.id for p in panel_people(meeting.panel_id) if p.name in MEMBERS]
        return item.id, voting


def _bell_says(page, text: str) -> None:
    expect(page.get_by_test_id("bell-count")).to_be_visible()
    page.get_by_test_id("bell").click()
    expect(page.get_by_test_id("notifications")).to_contain_text(text)


def _sha256(page, url: str) -> str:
    response = page.request.get(url)
    assert response.status == 200, (url, response.status)
    assert response.headers["content-type"] == "application/pdf"
    body = response.body()
    assert body.startswith(b"%PDF")
    return hashlib.sha256(body).hexdigest()


def _api_token(live_server, email: str) -> str:
    from panel.api.tokens import create_token
    from panel.core.db import db

    with in_app(live_server):
        secret = create_token(user(email), "whole road journey", by=user(email)).secret
        db.session.commit()
        return secret


def _stored_letters(page, base: str, ref: str, token: str) -> list[dict]:
    """``GET /api/v1/cases/{ref}/letters``, each download checked against its SHA-256."""
    auth = {"Authorization": f"Bearer {token}"}
    listed = page.request.get(f"{base}/api/v1/cases/{ref}/letters", headers=auth)
    assert listed.status == 200, listed.text()
    letters = listed.json()["letters"]
    for doc in letters:
        body = page.request.get(base + doc["url"], headers=auth).body()
        assert hashlib.sha256(body).hexdigest() == doc["sha256"], doc
    return letters


def test_one_case_walks_the_whole_road(page, browser, live_server, artifacts_dir, backend):
    shots = shots_dir(artifacts_dir)

    def shoot(p, name: str, full_page: bool = True) -> None:
        p.screenshot(path=str(shots / f"{backend}-road-{name}.png"), full_page=full_page)

    prepare(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    ref = _draft_case(live_server)
    case_url = f"{base}/cases/{ref}"

    # 1. The referrer submits the referral from the form.
    with other_person(browser, live_server, REFERRER) as aisha:
        aisha.goto(f"{case_url}/edit")
        aisha.get_by_test_id("save-submit").click()
        expect(aisha).to_have_url(case_url)
        expect(aisha.get_by_test_id("status")).to_have_text("Submitted")

    # 2. The coordinator is told under the bell (the hand-off), and asks for information.
    sign_in(page, live_server, COORDINATOR)
    _bell_says(page, f"New referral {ref} submitted to NAP: it is in your triage queue.")
    page.goto(case_url)
    page.get_by_placeholder("One question per line").fill(QUESTION)
    page.get_by_role("button", name="Send back to the referrer").click()
    expect(page.get_by_test_id("status")).to_have_text("Information requested")

    # ... the referrer is told, replies and resubmits.
    with other_person(browser, live_server, REFERRER) as aisha:
        _bell_says(aisha, f"The panel's coordinator has questions about your referral {ref}.")
        aisha.goto(case_url)
        expect(aisha.get_by_test_id("information-request")).to_contain_text(QUESTION)
        aisha.get_by_label("Your reply to the panel").fill(REPLY)
        aisha.get_by_role("button", name="Save reply").click()
        expect(aisha.get_by_test_id("timeline-reply")).to_contain_text(REPLY)
        shoot(aisha, "referrer-reply")
        aisha.goto(f"{case_url}/edit")
        aisha.get_by_test_id("save-submit").click()
        expect(aisha).to_have_url(case_url)
        expect(aisha.get_by_test_id("status")).to_have_text("Submitted")

    # ... the coordinator is told of the reply and of the resubmission, and reads both the
    # request and the reply on the case timeline (fault 1).
    _bell_says(page, f"The referring team replied to your questions about {ref}.")
    expect(page.get_by_test_id("notifications")).to_contain_text(
        f"{ref} was resubmitted after your information request: it is back in triage."
    )
    page.goto(case_url)
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_test_id("timeline-questions")).to_contain_text(QUESTION)
    expect(timeline.get_by_test_id("timeline-reply")).to_contain_text(REPLY)
    shoot(page, "coordinator-timeline")

    # 3. A meeting in the future: the case goes on its agenda from the triage queue.
    meeting_id, future_label = _future_meeting(live_server)
    page.goto(base + "/triage")
    row = page.locator(f'[data-testid="triage-row"][data-ref="{ref}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("schedule-select").select_option(str(meeting_id))
    row.get_by_role("button", name="Schedule").click()
    expect_flash(page, f"{ref} added to the agenda")
    meeting_url = f"{base}/meetings/{meeting_id}"
    item_id, voting = _item_and_members(live_server, meeting_id, ref)

    # Attendance is refused before the meeting starts, naming its date (fault 3): the page says
    # so, and a posted attendance (as a stale form would send) is refused with the date.
    page.goto(meeting_url)
    expect(page.get_by_test_id("attendance-not-yet")).to_contain_text(future_label)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(
        f"{meeting_url}/attendance", form={"csrf_token": token, "attendee": str(voting[0])}
    )
    assert refused.status == 200  # back on the agenda, with the refusal
    answer = refused.text()
    assert f"Attendance can be recorded once the meeting has started ({future_label})" in answer, (
        "attendance before the meeting's start was not refused with its date"
    )
    assert "Attendance saved" not in answer

    # ... and so is "mark as discussed": the minutes are kept, the case is not discussed.
    minutes_url = f"{meeting_url}/items/{item_id}/minutes"
    page.goto(minutes_url)
    page.get_by_label("Discussion").fill(DISCUSSION)
    page.get_by_label("Outcome").fill(OUTCOME)
    page.get_by_role("button", name="Save and mark as discussed").click()
    expect_flash(
        page,
        f"The meeting has not started yet ({future_label}): {ref} can be marked as discussed",
    )
    expect(page.get_by_test_id("item-status")).to_have_text("Not yet discussed")
    shoot(page, "future-meeting-refused")
    page.goto(case_url)
    expect(page.get_by_test_id("status")).not_to_have_text("Discussed")

    # 4. The meeting now lies in the past: attendance, minutes and "discussed" are accepted.
    past_label = _move_to_past(live_server, meeting_id)
    assert past_label != future_label
    page.goto(meeting_url)
    expect(page.get_by_test_id("attendance-not-yet")).to_have_count(0)
    attendance = page.get_by_test_id("attendance")
    for name in MEMBERS:
        attendance.get_by_label(f"{name} attended").check()
    attendance.get_by_role("button", name="Save attendance").click()
    expect_flash(page, "Attendance saved: 3 attending, quorum reached")
    page.goto(minutes_url)
    expect(page.get_by_label("Outcome")).to_have_value(OUTCOME)
    page.get_by_role("button", name="Save and mark as discussed").click()
    expect_flash(page, f"{ref} marked as discussed")
    expect(page.get_by_test_id("item-status")).to_have_text("Discussed")

    # 5. The recommendation starts from the minutes (fault 7).
    page.goto(case_url)
    expect(page.get_by_test_id("status")).to_have_text("Discussed")
    page.get_by_test_id("start-record").click()
    expect_flash(page, "Draft recommendation started")
    form = page.get_by_test_id("record-form")
    rationale = form.get_by_label("Rationale")
    expect(rationale).to_have_value(re.compile(re.escape(OUTCOME)))
    expect(rationale).to_have_value(re.compile(re.escape(DISCUSSION)))
    form.get_by_role("checkbox", name="Refer to a clinical trial", exact=True).check()
    form.get_by_label("Order of “Refer to a clinical trial”").fill("1")
    form.get_by_label("Majority").check()
    clinician = form.locator('textarea[name$="-clinician"]')
    family = form.locator('textarea[name$="-family"]')
    expect(clinician).to_have_count(3)
    for n in range(3):
        clinician.nth(n).fill(CLINICIAN_ANSWER.format(n=n + 1))
        family.nth(n).fill(FAMILY_ANSWER.format(n=n + 1))
    shoot(page, "record-prefilled")
    form.get_by_test_id("save-ready").click()
    expect(page.get_by_test_id("ready-banner")).to_be_visible()
    expect(page.get_by_test_id("record-status")).to_have_text("Draft")

    # ... the chair is told under the bell, finds it on the home page, and approves.
    with other_person(browser, live_server, CHAIR) as helen:
        _bell_says(helen, f"The draft recommendation for {ref} is ready for your approval.")
        helen.goto(base + "/")
        awaiting = helen.get_by_test_id("awaiting-approval")
        expect(awaiting).to_contain_text(ref)
        shoot(helen, "chair-home")
        awaiting.get_by_role("link", name=ref).click()
        # The chair may edit the draft too: the form, with the prefilled rationale.
        expect(helen.get_by_label("Rationale")).to_have_value(re.compile(re.escape(OUTCOME)))
        helen.get_by_test_id("approve").click()
        expect_flash(helen, "approved and is now locked")
        expect(helen.get_by_test_id("record-status")).to_have_text("Approved")

    # 6. The coordinator sends the feedback.
    page.goto(case_url)
    page.get_by_role("button", name="Send feedback").click()
    expect_flash(page, "The feedback has been sent")
    expect(page.get_by_test_id("status")).to_have_text(re.compile("Feedback sent", re.I))

    # ... the referrer is told, reads the letters (their stored PDFs hashed) and makes a code.
    with other_person(browser, live_server, REFERRER) as aisha:
        _bell_says(aisha, f"The panel's feedback on case {ref} is ready to read in Panel.")
        aisha.goto(case_url)
        banner = aisha.get_by_test_id("feedback-banner")
        banner.get_by_role("link", name="Clinician letter").click()
        expect(aisha.locator(".letter-sheet")).to_contain_text(CLINICIAN_ANSWER.format(n=1))
        shoot(aisha, "clinician-letter")
        clinician_pdf = base + aisha.get_by_test_id("download-pdf").get_attribute("href")
        aisha.get_by_role("link", name="Family letter").click()
        expect(aisha.locator(".letter-sheet")).to_contain_text(FAMILY_ANSWER.format(n=1))
        family_pdf = base + aisha.get_by_test_id("download-pdf").get_attribute("href")
        before = {url: _sha256(aisha, url) for url in (clinician_pdf, family_pdf)}
        # The letters were stored when sent, and the pages serve exactly those bytes.
        token = _api_token(live_server, REFERRER)
        stored = _stored_letters(aisha, base, ref, token)
        pdfs = {d["kind"]: d["sha256"] for d in stored if d["format"] == "pdf"}
        assert pdfs == {
            "clinician_letter": before[clinician_pdf],
            "family_letter": before[family_pdf],
        }, stored

        aisha.goto(case_url)
        aisha.get_by_test_id("family-code-create").click()
        expect(aisha.get_by_test_id("family-code-sheet")).to_be_visible()
        label = aisha.get_by_test_id("family-code").get_attribute("aria-label")
        code = label.removeprefix("Access code ").strip()

    # 7. The family (no login) reads the letter and asks a follow-up question.
    with other_person(browser, live_server, None) as family_page:
        family_page.goto(base + "/family")
        family_page.get_by_label("Your access code").fill(code)
        family_page.get_by_role("button", name="Open the letter").click()
        letter = family_page.get_by_test_id("family-letter")
        expect(letter).to_contain_text(FAMILY_ANSWER.format(n=1))
        family_page.get_by_label("Your question").fill(FAMILY_QUESTION)
        family_page.get_by_role("button", name="Send my question").click()
        expect_flash(family_page, "Your question has been sent")
        pending = family_page.get_by_test_id("question-pending")
        expect(pending).to_contain_text(re.compile(r"sent to the panel on \d{1,2} \w+ \d{4}"))
        expect(family_page.locator("body")).not_to_contain_text("did not answer")
        expect(letter).to_contain_text(FAMILY_ANSWER.format(n=1))
        shoot(family_page, "family-after-question")

    # 8. The stored letters did not change: same bytes before and after the question (fault 4).
    with other_person(browser, live_server, REFERRER) as aisha:
        after = {url: _sha256(aisha, url) for url in (clinician_pdf, family_pdf)}
        # A question the panel has not answered yet adds no document and rewrites none.
        assert _stored_letters(aisha, base, ref, token) == stored
        aisha.goto(case_url)
        expect(aisha.get_by_test_id("questions")).to_contain_text(FAMILY_QUESTION)
    assert after == before

    assert not errors, errors

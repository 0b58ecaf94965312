"""Issue #7, done when: draft -> approve -> send -> family code -> family letter, in the browser.

The discussed case is set up with the app's operations in the live server's process (a fresh
copy of the ALK demo case with its three parents' questions, on a meeting of its own, so the
demo meeting of the meeting journey is untouched). Then: the coordinator drafts the record and
cannot approve it; the chair approves; the coordinator sends; the referrer reads both letters,
downloads the PDF, makes a family code and marks the family informed; the family opens the
letter with the code (no login) and sends a question; a wrong code is refused.
Screenshots: {backend}-feedback-record, -feedback-clinician-letter, -feedback-family-code,
-feedback-family-letter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.journeys import (
    CHAIR,
    COORDINATOR,
    REFERRER,
    demo_document,
    discuss,
    expect_flash,
    in_app,
    new_meeting,
    new_submitted_case,
    other_person,
    prepare,
    shots_dir,
    sign_in,
)

pytestmark = pytest.mark.browser

RATIONALE = (
    "The relapse carries an ALK change: a targeted trial offers the best chance of a response."
)
CLINICIAN_ANSWER = (
    "Clinician answer {n}: the panel discussed this and explains its reasoning in the letter."
)
FAMILY_ANSWER = (
    "Plain answer {n}: your child's doctor will explain what this means for your family."
)
FAMILY_QUESTION = "How long would each treatment visit take, and can we stay together on the ward?"


def _discussed_case(live_server) -> str:
    from panel.core.db import db

    with in_app(live_server):
        case = new_submitted_case(REFERRER, demo_document("alk"))
        meeting = new_meeting("NAP", 23, "Extra NAP meeting for the feedback journey")
        discuss(
            meeting,
            case,
            discussion="Relapse with an ALK mutation; the panel favours a targeted trial.",
            outcome="Recommend an ALK inhibitor trial.",
        )
        db.session.commit()
        assert case.status.value == "discussed"
        assert len(case.questions) == 3
        return case.reference


def test_draft_approve_send_family_code_and_family_letter(
    page, browser, live_server, artifacts_dir, backend
):
    shots = shots_dir(artifacts_dir)
    prepare(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ref = _discussed_case(live_server)
    base = live_server.url
    case_url = f"{base}/cases/{ref}"

    # 1. The coordinator starts the record from the case page and fills it in.
    sign_in(page, live_server, COORDINATOR)
    page.goto(case_url)
    expect(page.get_by_test_id("status")).to_have_text("Discussed")
    page.get_by_test_id("start-record").click()
    expect_flash(page, "Draft recommendation started")
    form = page.get_by_test_id("record-form")
    expect(form).to_be_visible()
    form.get_by_role("checkbox", name="Refer to a clinical trial", exact=True).check()
    form.get_by_label("Order of “Refer to a clinical trial”").fill("1")
    further = "Further investigations (e.g. re-biopsy, molecular profiling)"
    form.get_by_role("checkbox", name=further, exact=True).check()
    form.get_by_label(f"Order of “{further}”").fill("2")
    form.get_by_label("Majority").check()
    form.get_by_label("Rationale").fill(RATIONALE)
    trial = form.locator('input[name="trials"]').first
    expect(trial).to_be_visible()
    trial_code = trial.get_attribute("value")
    trial.check()
    form.get_by_label("Priority").first.fill("1")
    clinician = form.locator('textarea[name$="-clinician"]')
    family = form.locator('textarea[name$="-family"]')
    expect(clinician).to_have_count(3)
    for n in range(3):
        clinician.nth(n).fill(CLINICIAN_ANSWER.format(n=n + 1))
        family.nth(n).fill(FAMILY_ANSWER.format(n=n + 1))
    page.screenshot(path=str(shots / f"{backend}-feedback-record.png"), full_page=True)
    form.get_by_test_id("save").click()
    expect_flash(page, "Recommendation saved")
    expect(page.get_by_test_id("answer-progress").first).to_have_text("3 of 3 answered")
    expect(page.get_by_test_id("record-status")).to_have_text("Draft")

    # 2. The coordinator cannot approve: no button, and the approval URL refuses.
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Save and approve")).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(
        f"{case_url}/recommendation/approve",
        form={"csrf_token": token, "version": "1"},
        max_redirects=0,
    )
    assert refused.status == 403

    # 3. The chair approves (the prompt is accepted); the record locks.
    with other_person(browser, live_server, CHAIR) as helen:
        helen.goto(f"{case_url}/recommendation")
        helen.get_by_test_id("approve").click()
        expect_flash(helen, "approved and is now locked")
        expect(helen.get_by_test_id("record-status")).to_have_text("Approved")
        expect(helen.get_by_test_id("record-trial-" + trial_code)).to_be_visible()

    # 4. The coordinator sends the feedback.
    page.goto(case_url)
    page.get_by_role("button", name="Send feedback").click()
    expect_flash(page, "The feedback has been sent")
    expect(page.get_by_test_id("status")).to_have_text(re.compile("Feedback sent", re.I))

    # 5. The referrer reads both letters, downloads a PDF, makes a family code, marks informed.
    with other_person(browser, live_server, REFERRER) as aisha:
        aisha.goto(case_url)
        banner = aisha.get_by_test_id("feedback-banner")
        expect(banner).to_contain_text("The panel's feedback is ready")
        banner.get_by_role("link", name="Clinician letter").click()
        expect(aisha.locator(".letter-sheet")).to_contain_text(RATIONALE)
        expect(aisha.locator(".letter-sheet")).to_contain_text(trial_code)
        expect(aisha.locator(".letter-sheet")).to_contain_text(CLINICIAN_ANSWER.format(n=1))
        aisha.screenshot(
            path=str(shots / f"{backend}-feedback-clinician-letter.png"), full_page=True
        )
        pdf_url = aisha.get_by_test_id("download-pdf").get_attribute("href")
        pdf = aisha.request.get(base + pdf_url)
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")

        aisha.get_by_role("link", name="Family letter").click()
        for n in range(3):
            expect(aisha.locator(".letter-sheet")).to_contain_text(FAMILY_ANSWER.format(n=n + 1))
        family_pdf = aisha.request.get(
            base + aisha.get_by_test_id("download-pdf").get_attribute("href")
        )
        assert family_pdf.headers["content-type"] == "application/pdf"

        aisha.goto(case_url)
        aisha.get_by_test_id("family-code-create").click()
        sheet = aisha.get_by_test_id("family-code-sheet")
        expect(sheet).to_be_visible()
        label = aisha.get_by_test_id("family-code").get_attribute("aria-label")
        code = label.removeprefix("Access code ").strip()
        assert re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){4}", code), code
        expect(aisha.get_by_test_id("family-url")).to_have_text(
            re.compile(r"^https?://\S+/family$")
        )
        aisha.screenshot(path=str(shots / f"{backend}-feedback-family-code.png"), full_page=True)

        aisha.get_by_role("link", name=f"I have printed it: back to {ref}").click()
        expect(aisha.get_by_test_id("family-codes")).to_contain_text("Active")
        aisha.get_by_role("button", name="Mark the family as informed").click()
        expect_flash(aisha, "the family has been informed")
        expect(aisha.get_by_test_id("feedback-banner")).to_contain_text(
            "The family was informed on"
        )

    # 6. The family: no login, the code (typed loosely), the letter, one question.
    with other_person(browser, live_server, None) as family_page:
        family_page.goto(base + "/family")
        family_page.get_by_label("Your access code").fill(code.lower().replace("-", " "))
        family_page.get_by_role("button", name="Open the letter").click()
        letter = family_page.get_by_test_id("family-letter")
        expect(letter).to_contain_text(FAMILY_ANSWER.format(n=1))
        expect(letter).not_to_contain_text(CLINICIAN_ANSWER.format(n=1))
        family_page.screenshot(
            path=str(shots / f"{backend}-feedback-family-letter.png"), full_page=True
        )
        family_page.get_by_label("Your question").fill(FAMILY_QUESTION)
        family_page.get_by_role("button", name="Send my question").click()
        expect_flash(family_page, "Your question has been sent")
        expect(family_page.get_by_test_id("question-sent")).to_be_visible()
        expect(family_page.get_by_label("Your question")).to_have_count(0)

    # 7. A wrong code is refused, and shows nothing of the letter.
    with other_person(browser, live_server, None) as stranger:
        stranger.goto(base + "/family")
        wrong = "ABCDE-FGHJK-MNPQR-STUVW-XYZ23"
        assert wrong != code
        stranger.get_by_label("Your access code").fill(wrong)
        stranger.get_by_role("button", name="Open the letter").click()
        expect_flash(stranger, "This code did not work")
        expect(stranger.get_by_test_id("family-letter")).to_have_count(0)
        stranger.goto(base + "/family/letter")
        expect(stranger).to_have_url(base + "/family")

    # The family's question reached the case (coordinator's view).
    page.goto(case_url)
    expect(page.get_by_test_id("questions")).to_contain_text(FAMILY_QUESTION)
    assert not errors, errors

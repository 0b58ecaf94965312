"""Issue 16, plain language checked as it is written: the coordinator types a long, hard
sentence into a family answer and the warning appears under it without a save (htmx, after a
pause in typing), listing the sentence; shortening it turns the note into "Easy to read". The
live region is tied to the textarea, and the page passes axe with the notes showing.
Then a save keeps the hard text, flashes a gentle note and shows the notes under the fields
(server side). Screenshots: {backend}-readability-hint, -easy, -summary, -saved, -saved-family."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.accessibility import axe_violations
from tests.support.journeys import (
    COORDINATOR,
    REFERRER,
    demo_document,
    discuss,
    expect_flash,
    in_app,
    new_meeting,
    new_submitted_case,
    prepare,
    shots_dir,
    sign_in,
    user,
)

pytestmark = pytest.mark.browser

HARD = (
    "The multidisciplinary panel recommends consideration of participation in an experimental "
    "immunotherapeutic clinical investigation, subject to confirmation of eligibility by the "
    "coordinating investigators following comprehensive restaging evaluations."
)
EASY = "The panel looked at the scans. A new medicine may help. Your doctor will tell you more."


def _draft(live_server) -> tuple[str, int]:
    from panel.core.db import db
    from panel.feedback import operations

    with in_app(live_server):
        case = new_submitted_case(REFERRER, demo_document("alk"))
        meeting = new_meeting("NAP", 24, "Extra NAP meeting for the readability hint")
        discuss(meeting, case, discussion="ALK change at relapse.", outcome="A targeted trial.")
        operations.start_recommendation(case, by=user(COORDINATOR))
        db.session.commit()
        return case.reference, case.questions[0].id


def test_the_family_answer_is_scored_as_it_is_typed(page, live_server, artifacts_dir, backend):
    shots = shots_dir(artifacts_dir)
    prepare(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ref, qid = _draft(live_server)
    sign_in(page, live_server, COORDINATOR)
    posted: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: posted.append((r.url, r.post_data or "")) if r.method == "POST" else None,
    )
    page.goto(f"{live_server.url}/cases/{ref}/recommendation")

    answer = page.locator(f"#answer-{qid}-family")
    hint = page.get_by_test_id(f"readability-answer-{qid}-family")
    expect(answer).to_have_attribute("aria-describedby", f"answer-{qid}-family-readability")
    expect(hint).to_have_attribute("aria-live", "polite")
    expect(hint).to_be_empty()

    answer.click()
    answer.press_sequentially(HARD[:40], delay=5)
    answer.fill(HARD)  # the rest at once: one input event
    warning = hint.get_by_test_id("readability-warning")
    expect(warning).to_be_visible(timeout=10_000)
    expect(warning).to_contain_text(
        re.compile(r"hard for some families to read \(grade (\d+\.\d|above 16)\)")
    )
    expect(warning.locator("li")).to_have_text([HARD])
    # Only the hint was asked (no save), with the one text alone (no other field of the form).
    field = f"answer-{qid}-family"
    assert posted and all(u.endswith(f"/readability?field={field}") for u, _ in posted)
    assert all(body.startswith(f"{field}=") and "&" not in body for _, body in posted), posted
    answer.scroll_into_view_if_needed()
    page.locator("#questions").screenshot(path=str(shots / f"{backend}-readability-hint.png"))

    answer.fill(EASY)
    ok = hint.get_by_test_id("readability-ok")
    expect(ok).to_be_visible(timeout=10_000)
    expect(ok).to_have_text(re.compile(r"Easy to read \(grade (\d+\.\d|below 1)\)"))
    expect(warning).to_have_count(0)
    page.locator("#questions").screenshot(path=str(shots / f"{backend}-readability-easy.png"))

    # The family summary is wired the same way, next to its help text.
    summary = page.locator("#family_summary")
    expect(summary).to_have_attribute(
        "aria-describedby", "family_summary-help family_summary-readability"
    )
    summary.fill(HARD)
    expect(page.get_by_test_id("readability-family_summary")).to_contain_text(
        "Try shortening these sentences", timeout=10_000
    )
    page.locator("#family").screenshot(path=str(shots / f"{backend}-readability-summary.png"))
    # With a warning and an "Easy to read" note showing, the page still meets WCAG 2.2 AA.
    assert axe_violations(page) == []

    # On save (rendered by the server, no script needed): the save stands, with the flash and
    # the notes under the fields.
    page.locator("#cat-trial").check()
    page.get_by_test_id("save").click()
    expect_flash(
        page, "Saved. Some family text may be hard to read: see the notes under the fields."
    )
    expect(page.locator("#family_summary")).to_have_value(HARD)
    expect(answer).to_have_value(EASY)
    summary_hint = page.get_by_test_id("readability-family_summary")
    expect(summary_hint.get_by_test_id("readability-warning")).to_be_visible()
    expect(hint.get_by_test_id("readability-ok")).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-readability-saved.png"))
    page.locator("#family").screenshot(path=str(shots / f"{backend}-readability-saved-family.png"))
    assert not errors, errors

"""Issue #6, done when: the NAP coordinator takes the demo cases from submitted to discussed
through the UI (triage -> agenda -> reorder -> publish -> attendance -> presentation -> minutes
-> discussed), the referrer sees the bell notification, and every step is in the audit trail.
Screenshots: {backend}-meeting-triage, -meeting-agenda, -meeting-present, -meeting-minutes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.journeys import (
    COORDINATOR,
    MEMBERS,
    OTHER_REFERRER,
    REFERRER,
    demo_document,
    expect_flash,
    in_app,
    new_submitted_case,
    other_person,
    prepare,
    shots_dir,
    sign_in,
    user,
)

pytestmark = pytest.mark.browser


def _journey_cases(live_server) -> tuple[str, str, int]:
    """The references of Dr Rahman's ALK demo case and Dr Whitfield's refractory demo case
    (still submitted), and the id of the upcoming demo NAP meeting. Another browser test of
    the same session may have moved a demo case on (e.g. asked its referrer for information):
    then an identical case is submitted afresh by the same referrer."""
    from sqlalchemy import select

    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db
    from panel.meetings.models import Meeting, MeetingStatus

    with in_app(live_server):
        nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))

        def submitted(email: str, question_start: str, example: str) -> str:
            by = user(email)
            for case in db.session.scalars(
                select(Case)
                .where(
                    Case.panel_id == nap.id,
                    Case.created_by_id == by.id,
                    Case.status == CaseStatus.SUBMITTED,
                )
                .order_by(Case.id)
            ):
                if (case.data.get("clinical_question") or "").startswith(question_start):
                    return case.reference
            doc = demo_document(example)
            if example == "refractory":
                doc["referring_centre"] = "BIRMINGHAM"
            return new_submitted_case(email, doc).reference

        alk = submitted(REFERRER, "Metastatic relapse with an ALK", "alk")
        refractory = submitted(OTHER_REFERRER, "Poor metastatic response", "refractory")
        meeting = db.session.scalar(
            select(Meeting)
            .where(
                Meeting.panel_id == nap.id,
                Meeting.title == "National Advisory Panel",
                Meeting.status == MeetingStatus.PLANNED,
            )
            .order_by(Meeting.starts_at)
        )
        assert meeting is not None, "the demo data has an upcoming NAP meeting"
        db.session.commit()
        return alk, refractory, meeting.id


def _start_now(live_server, meeting_id: int) -> None:
    """The meeting has just started (moved to five minutes ago, as the clock would)."""
    from datetime import timedelta

    from panel.core.db import db, utcnow
    from panel.meetings.models import Meeting

    with in_app(live_server):
        meeting = db.session.get(Meeting, meeting_id)
        meeting.starts_at = utcnow() - timedelta(minutes=5)
        db.session.commit()


def _agenda_refs(page) -> list[str]:
    return page.get_by_test_id("agenda-ref").all_inner_texts()


def _write_minutes(page, ref: str, discussion: str, outcome: str) -> None:
    expect(page.get_by_role("heading", name=re.compile(f"Minutes · {ref}"))).to_be_visible()
    expect(page.get_by_test_id("quorum")).to_contain_text("met (3 of 3)")
    # Type only once minutes.js listens: text filled before it runs is its starting point, and
    # nothing would be autosaved.
    expect(page.locator("[data-minutes-form]")).to_have_attribute("data-autosave", "on")
    page.get_by_label("Discussion").fill(discussion)
    page.get_by_label("Outcome").fill(outcome)
    # Autosave about two seconds after typing stops.
    expect(page.locator("[data-minutes-status]")).to_contain_text("Saved", timeout=10_000)


def test_coordinator_takes_the_demo_cases_to_discussed(
    page, browser, live_server, artifacts_dir, backend
):
    shots = shots_dir(artifacts_dir)
    prepare(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    alk, refractory, meeting_id = _journey_cases(live_server)
    base = live_server.url

    # 1. Triage: put both cases on the upcoming NAP meeting with the queue's controls.
    sign_in(page, live_server, COORDINATOR)
    page.goto(base + "/triage")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-meeting-triage.png"), full_page=True)
    for ref in (alk, refractory):
        row = page.locator(f'[data-testid="triage-row"][data-ref="{ref}"]')
        expect(row).to_be_visible()
        row.get_by_test_id("schedule-select").select_option(str(meeting_id))
        row.get_by_role("button", name="Schedule").click()
        expect_flash(page, f"{ref} added to the agenda")
        expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()
        expect(page.locator(f'[data-testid="triage-row"][data-ref="{ref}"]')).to_have_count(0)

    # 2. The meeting page: both cases in the order scheduled; move the second one up.
    page.goto(f"{base}/meetings/{meeting_id}")
    expect(page.get_by_test_id("meeting-status")).to_have_text("Draft agenda")
    assert _agenda_refs(page) == [alk, refractory]
    page.get_by_role("button", name=f"Move {refractory} up").click()
    expect(page.get_by_test_id("agenda-ref").first).to_have_text(refractory)
    assert _agenda_refs(page) == [refractory, alk]

    # 3. Publish (the confirmation prompt is accepted).
    page.get_by_role("button", name="Publish the agenda").click()
    expect_flash(page, "Agenda published")
    expect(page.get_by_test_id("meeting-status")).to_have_text("Agenda published")

    # 4. The referrer sees it under the bell, naming her case.
    with other_person(browser, live_server, REFERRER) as aisha:
        expect(aisha.get_by_test_id("bell-count")).to_be_visible()
        aisha.get_by_test_id("bell").click()
        expect(aisha.get_by_test_id("notifications")).to_contain_text(
            f"{alk} is on the agenda of the NAP meeting"
        )
        expect(aisha.get_by_test_id("notifications")).not_to_contain_text(refractory)

    # 5. Attendance waits for the meeting's start (UK time): the form says so until then.
    expect(page.get_by_test_id("attendance-not-yet")).to_be_visible()
    _start_now(live_server, meeting_id)
    page.reload()
    expect(page.get_by_test_id("attendance-not-yet")).to_have_count(0)
    # The chair and two members attend, so the quorum of 3 is met.
    attendance = page.get_by_test_id("attendance")
    for name in MEMBERS:
        attendance.get_by_label(f"{name} attended").check()
    attendance.get_by_role("button", name="Save attendance").click()
    expect_flash(page, "Attendance saved: 3 attending, quorum reached")
    expect(page.get_by_test_id("quorum")).to_have_text("Quorum: 3 of 3")
    page.screenshot(path=str(shots / f"{backend}-meeting-agenda.png"), full_page=True)

    # 6. Presentation mode: next and previous.
    page.get_by_test_id("present-link").click()
    expect(page.get_by_test_id("present-position")).to_contain_text("Case 1 of 2")
    expect(page.get_by_test_id("present-question")).to_contain_text("Poor metastatic response")
    page.get_by_test_id("present-next").click()
    expect(page.get_by_test_id("present-position")).to_contain_text("Case 2 of 2")
    expect(page.get_by_test_id("present-question")).to_contain_text("ALK")
    expect(page.get_by_test_id("present-parents-questions")).to_contain_text(
        "targeted drug for the ALK change"
    )
    page.get_by_test_id("present-prev").click()
    expect(page.get_by_test_id("present-position")).to_contain_text("Case 1 of 2")
    page.screenshot(path=str(shots / f"{backend}-meeting-present.png"))

    # 7. The minutes of the first case, from the presentation's "Minutes" link (a new tab).
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Minutes").click()
    editor = prepare(opened.value)
    _write_minutes(
        editor,
        refractory,
        "Persistent bone disease after induction. The panel weighed further intensification against a trial.",
        "Refer for the early-phase trial; re-present with restaging scans after two cycles.",
    )
    editor.screenshot(path=str(shots / f"{backend}-meeting-minutes.png"), full_page=True)
    editor.get_by_role("button", name="Save and mark as discussed").click()
    expect_flash(editor, f"{refractory} marked as discussed")
    expect(editor.get_by_test_id("item-status")).to_have_text("Discussed")

    # ... then the next case on the agenda, from the editor's own navigation.
    editor.get_by_role("link", name=alk).click()
    _write_minutes(
        editor,
        alk,
        "Relapse with an ALK mutation. The panel agreed a targeted approach is the best option.",
        "Recommend an ALK inhibitor trial; salvage chemotherapy only if the trial cannot start soon.",
    )
    editor.get_by_role("button", name="Save and mark as discussed").click()
    expect_flash(editor, f"{alk} marked as discussed")
    expect(editor.get_by_test_id("item-status")).to_have_text("Discussed")
    editor.close()

    # 8. Both cases are discussed, on their own pages and on the agenda.
    for ref in (alk, refractory):
        page.goto(f"{base}/cases/{ref}")
        expect(page.get_by_test_id("status")).to_have_text("Discussed")
        expect(page.get_by_test_id("case-minutes")).to_contain_text("Discussed")
    page.goto(f"{base}/meetings/{meeting_id}")
    expect(page.get_by_test_id("agenda-item").filter(has_text="Discussed")).to_have_count(2)

    # 9. Every step is in the coordinator's audit trail.
    expected = [
        ("case.scheduled", f"case:{alk}"),
        ("case.scheduled", f"case:{refractory}"),
        ("meeting.agenda_reordered", f"meeting:{meeting_id}"),
        ("meeting.published", f"meeting:{meeting_id}"),
        ("meeting.attendance", f"meeting:{meeting_id}"),
        ("minutes.saved", f"case:{alk}"),
        ("minutes.saved", f"case:{refractory}"),
        ("case.discussed", f"case:{alk}"),
        ("case.discussed", f"case:{refractory}"),
    ]
    for action, obj in expected:
        page.goto(f"{base}/audit?action={action}&object={obj}")
        rows = page.locator("table.audit-table tbody tr").filter(
            has=page.locator("code", has_text=action)
        )
        expect(rows.first).to_be_visible()
        expect(rows.first).to_contain_text("rachel.moore")
    assert not errors, errors

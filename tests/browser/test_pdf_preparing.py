"""The "Preparing the PDF…" page (panel/core/pdf.py) in Chromium: while the agenda's
``pdf.render`` job waits, the page says so in a live region and polls; when the job has run,
the status swaps to the download link without a reload. The page is checked like every other
(axe, one h1, labels, no sideways scroll) in both states. Screenshots:
{backend}-pdf-preparing, {backend}-pdf-ready."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support.accessibility import check_page
from tests.support.journeys import COORDINATOR, in_app, prepare, shots_dir, sign_in

pytestmark = pytest.mark.browser


def test_the_preparing_page_polls_until_the_pdf_is_ready(
    page, live_server, artifacts_dir, backend, monkeypatch
):
    from panel.core import jobs
    from panel.core.db import db
    from panel.core.models import Job
    from panel.meetings.models import Meeting

    # The server runs in a thread of this process: hold its jobs until the test runs them.
    monkeypatch.setattr(jobs, "run_ready", lambda: 0)
    with in_app(live_server):
        meeting = next(
            m
            for m in db.session.scalars(select(Meeting).order_by(Meeting.starts_at))
            if m.panel.code == "NAP" and m.active_items
        )
        meeting_id = meeting.id
    prepare(page)
    sign_in(page, live_server, COORDINATOR)
    page.goto(f"{live_server.url}/meetings/{meeting_id}/agenda.pdf")
    status = page.locator("#pdf-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(page.get_by_test_id("pdf-preparing")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meeting agenda")
    page.screenshot(path=str(shots_dir(artifacts_dir) / f"{backend}-pdf-preparing.png"))
    findings, _ = check_page(page, "pdf preparing", "coordinator", (1366, 390))
    assert not findings, findings

    with in_app(live_server):
        job = db.session.scalar(select(Job).where(Job.kind == "pdf.render").order_by(Job.id.desc()))
        assert job.state == "queued" and job.payload["label"] == "agenda"
        assert jobs.run(job.id) == "ran"
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.get_by_test_id("pdf-download")).to_be_visible(timeout=10_000)  # htmx poll
    page.screenshot(path=str(shots_dir(artifacts_dir) / f"{backend}-pdf-ready.png"))
    findings, _ = check_page(page, "pdf ready", "coordinator", (1366, 390))
    assert not findings, findings
    href = page.get_by_test_id("pdf-download").get_attribute("href")
    resp = page.request.get(live_server.url + href)  # the session's cookies
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.body().startswith(b"%PDF")

"""Following an upload in Chromium (issue 18): a bar per file, updated without a reload.

The live server runs in a thread of this process and its queue is eager, so these tests hold
its jobs (``jobs.run_ready`` does nothing) and run them by hand, as a worker would, while the
pages are open. From the case page: the bytes' bar, then the server's progress block in the
card, each row moving from queued to its final state, and the card's list refreshed, with no
reload (a mark on ``window`` survives). The upload's own page follows the same files. Without
JavaScript the form lands on that page, which refreshes itself until the files are done.
Screenshots (1366 and 390 wide): {backend}-upload-*.png."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support.accessibility import check_page
from tests.support.journeys import REFERRER, VIEWPORT, in_app, prepare, shots_dir, sign_in

pytestmark = pytest.mark.browser

NHS_NAME = "echo_9434765919.png"  # a valid NHS number: refused by its name


def _png(path, colour, size=(64, 48)):
    Image.new("RGB", size, colour).save(path, format="PNG")
    return str(path)


def _nap_case(live_server) -> str:
    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db
    from tests.support.journeys import user

    with in_app(live_server):
        aisha = user(REFERRER)
        return db.session.scalar(
            select(Case.reference)
            .join(Panel, Panel.id == Case.panel_id)
            .where(
                Case.created_by_id == aisha.id,
                Case.status == CaseStatus.SUBMITTED,
                Panel.code == "NAP",
            )
            .order_by(Case.id)
            .limit(1)
        )


def _latest_upload_jobs(live_server) -> tuple[int, list[int]]:
    from panel.core.db import db
    from panel.core.models import Job
    from panel.imaging.models import Upload

    with in_app(live_server):
        up = db.session.scalar(select(Upload).order_by(Upload.id.desc()).limit(1))
        ids = db.session.scalars(
            select(Job.id).where(Job.parent_id == up.job_id).order_by(Job.id)
        ).all()
        return up.id, list(ids)


def _run(live_server, job_id: int, *, hold: bool = False, monkeypatch=None) -> None:
    """Run one job as a worker would (``hold``: its image's text step is unsure, so the file
    is held back for a coordinator's review)."""
    from panel.core import jobs
    from panel.imaging import pixelstep

    with in_app(live_server), monkeypatch.context() as m:
        if hold:

            def unsure(self, frames, *, header_values=()):
                self.images += 1
                out = pixelstep.PixelOutcome("held", [(2, 2, 12, 8)], ["Text at (2,2,12,8)"])
                return self._count(out)

            m.setattr(pixelstep.PixelStep, "check", unsure)
        assert jobs.run(job_id) == "ran"


def _set_running(live_server, job_id: int, running: bool) -> None:
    from panel.core.db import db, utcnow
    from panel.core.models import Job

    with in_app(live_server):
        job = db.session.get(Job, job_id)
        if running:
            job.state, job.attempts, job.heartbeat_at = "running", 1, utcnow()
        else:
            job.state, job.attempts = "queued", 0
        db.session.commit()


def _states(page) -> list[str]:
    rows = page.locator("[data-testid=upload-file]")
    return [rows.nth(i).get_attribute("data-state") for i in range(rows.count())]


def _shoot(page, target, path, widths=(1366, 390)):
    for w in widths:
        page.set_viewport_size({"width": w, "height": 900})
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path).format(w=w))
    page.set_viewport_size(VIEWPORT)


def test_the_card_and_the_page_follow_each_file_without_a_reload(
    page, live_server, artifacts_dir, backend, tmp_path, monkeypatch
):
    from panel.core import jobs

    monkeypatch.setattr(jobs, "run_ready", lambda: 0)  # hold the server's jobs
    shots = shots_dir(artifacts_dir)
    ref = _nap_case(live_server)
    files = [
        _png(tmp_path / "echo-1.png", (200, 40, 40)),
        _png(tmp_path / "echo-2.png", (40, 200, 40)),
        _png(tmp_path / "mri-brain-axial.png", (40, 40, 200)),
        _png(tmp_path / "echo-1-again.png", (200, 40, 40)),  # the same bytes as echo-1
        _png(tmp_path / NHS_NAME, (10, 10, 10)),
        _png(tmp_path / "ct-abdomen.png", (90, 90, 90)),
    ]
    prepare(page)
    sign_in(page, live_server, REFERRER)
    page.goto(f"{live_server.url}/cases/{ref}")
    card = page.locator("#images")
    expect(card.locator("#upload-files")).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")
    card.get_by_label("Label").fill("Echo and MRI")
    card.locator("#upload-files").set_input_files(files)
    card.get_by_role("button", name="Upload").click()

    block = card.get_by_test_id("upload-progress")
    expect(block).to_be_visible(timeout=20_000)
    expect(card.get_by_test_id("upload-file")).to_have_count(6)
    assert _states(page) == ["queued"] * 6
    expect(card.get_by_test_id("upload-done-count")).to_have_text("0 of 6 files done")
    expect(card.get_by_role("button", name="Upload")).to_be_disabled()
    upload_id, job_ids = _latest_upload_jobs(live_server)
    assert len(job_ids) == 6

    # The upload's own page, open at the same time in another tab.
    other = page.context.new_page()
    other.goto(f"{live_server.url}/cases/{ref}/images/uploads/{upload_id}")
    other.evaluate("window.__noReload = 'still here'")
    expect(other.get_by_test_id("upload-file")).to_have_count(6)

    # A worker takes the files one by one.
    _run(live_server, job_ids[0], monkeypatch=monkeypatch)
    _run(live_server, job_ids[1], hold=True, monkeypatch=monkeypatch)
    _run(live_server, job_ids[2], monkeypatch=monkeypatch)
    _run(live_server, job_ids[3], monkeypatch=monkeypatch)
    _set_running(live_server, job_ids[4], True)
    expected = ["stored", "held_back", "stored", "duplicate", "deidentifying", "queued"]
    for p in (page, other):
        expect(p.get_by_test_id("upload-done-count")).to_have_text("4 of 6 files done")
        assert _states(p) == expected
    row = card.get_by_test_id("upload-file").nth(1)
    expect(row).to_contain_text("Awaiting review")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuetext", "Awaiting review")
    expect(card.get_by_test_id("upload-counts")).to_contain_text("2 stored")
    _shoot(page, card, shots / f"{backend}-upload-card-running-{{w}}.png")
    _shoot(other, other.locator("main"), shots / f"{backend}-upload-page-running-{{w}}.png")
    findings, _ = check_page(other, "upload page (running)", "referrer", (1366, 390))
    assert not findings, findings

    _set_running(live_server, job_ids[4], False)
    _run(live_server, job_ids[4], monkeypatch=monkeypatch)
    _run(live_server, job_ids[5], monkeypatch=monkeypatch)
    for p in (page, other):
        expect(p.get_by_test_id("upload-done-count")).to_have_text("All 6 files done")
        assert _states(p) == ["stored", "held_back", "stored", "duplicate", "refused", "stored"]
        assert p.evaluate("window.__noReload") == "still here"
        expect(p.locator(".upload-progress [hx-trigger]")).to_have_count(0)  # the polling stopped
    expect(card.get_by_test_id("upload-counts")).to_contain_text("3 stored")
    expect(card.get_by_test_id("upload-counts")).to_contain_text("1 refused")
    expect(card.get_by_test_id("upload-card-done")).to_be_visible()
    # the card's list now has the new documents; the form is ready for the next upload
    expect(card.get_by_test_id("documents")).to_contain_text("mri-brain-axial.png")
    expect(card.get_by_role("button", name="Upload")).to_be_enabled()
    expect(card.get_by_label("Label")).to_have_value("")
    expect(page.locator(f"#upload-{upload_id}-live")).to_contain_text("All 6 files done")
    _shoot(page, card, shots / f"{backend}-upload-card-done-{{w}}.png")
    _shoot(other, other.locator("main"), shots / f"{backend}-upload-page-done-{{w}}.png")
    findings, _ = check_page(page, "case page (upload done)", "referrer", (1366, 390))
    assert not findings, findings

    # The images page lists the upload and links to its page.
    page.goto(f"{live_server.url}/cases/{ref}/images")
    recent = page.get_by_test_id("recent-upload").first
    expect(recent).to_contain_text("Echo and MRI")
    expect(recent).to_contain_text("3 stored · 1 awaiting review · 1 refused · 1 already uploaded")
    _shoot(
        page, page.get_by_test_id("recent-uploads"), shots / f"{backend}-upload-recent-{{w}}.png"
    )
    recent.get_by_role("link", name="Echo and MRI").click()
    expect(page).to_have_url(re.compile(rf"/uploads/{upload_id}$"))


def test_without_javascript_the_form_lands_on_the_page_that_refreshes_itself(
    browser, live_server, artifacts_dir, backend, tmp_path, monkeypatch
):
    from panel.core import jobs

    monkeypatch.setattr(jobs, "run_ready", lambda: 0)
    ref = _nap_case(live_server)
    files = [_png(tmp_path / f"scan-{n}.png", (n * 60, 80, 120)) for n in range(1, 4)]
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = prepare(context.new_page())
        sign_in(page, live_server, REFERRER)
        page.goto(f"{live_server.url}/cases/{ref}/images")
        page.get_by_label("Label").fill("Three scans")
        page.locator("#upload-files").set_input_files(files)
        page.get_by_role("button", name="Upload").click()
        expect(page).to_have_url(re.compile(r"/images/uploads/\d+$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Upload “Three scans”")
        expect(page.get_by_test_id("upload-done-count")).to_have_text("0 of 3 files done")
        _, job_ids = _latest_upload_jobs(live_server)
        for job_id in job_ids:
            _run(live_server, job_id, monkeypatch=monkeypatch)
        # the page refreshes itself every 3 s (a meta refresh inside <noscript>)
        expect(page.get_by_test_id("upload-done-count")).to_have_text(
            "All 3 files done", timeout=10_000
        )
        assert _states(page) == ["stored"] * 3
        page.screenshot(
            path=str(shots_dir(artifacts_dir) / f"{backend}-upload-page-nojs.png"), full_page=True
        )
    finally:
        context.close()


def test_an_upload_that_finishes_at_once_shows_its_results_in_the_card(page, live_server, tmp_path):
    """The eager queue (or a fast worker): the block comes back done; no polling at all."""
    ref = _nap_case(live_server)
    prepare(page)
    sign_in(page, live_server, REFERRER)
    page.goto(f"{live_server.url}/cases/{ref}/images")
    page.locator("#upload-files").set_input_files(
        [_png(tmp_path / "a.png", (1, 2, 3)), _png(tmp_path / "b.png", (4, 5, 6))]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload-done-count")).to_have_text("All 2 files done")
    assert _states(page) == ["stored", "stored"]
    expect(page.get_by_test_id("documents")).to_contain_text("b.png")
    expect(page.locator("[data-progress]")).to_be_hidden()

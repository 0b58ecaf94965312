"""Images in the browser: a referrer uploads a small series with progress and results; a panel
member scrolls through it in the viewer. Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support import synth
from tests.support.journeys import sign_in

pytestmark = pytest.mark.browser


def _aisha_nap_case(live_server) -> str:
    from panel.accounts.models import Panel, User
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db

    with live_server.app_.app_context():
        aisha = db.session.scalar(select(User).where(User.email == "aisha.rahman@demo.example.org"))
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


def test_upload_series_and_scroll_viewer(
    page, browser, live_server, artifacts_dir, backend, tmp_path
):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    ref = _aisha_nap_case(live_server)
    assert ref, "the demo data has a submitted NAP case of Dr Rahman's"
    series = synth.make_ct_series(tmp_path / "ct", 12, rows=128, cols=128)

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "aisha.rahman@demo.example.org")
    page.goto(f"{live_server.url}/cases/{ref}/images")
    page.get_by_label("Label").fill("CT chest")
    page.locator("#upload-files").set_input_files([str(p) for p in series.paths])
    page.get_by_role("button", name="Upload").click()
    results = page.get_by_test_id("upload-results")
    expect(results).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("upload-counts")).to_contain_text("12 stored")
    expect(page.get_by_test_id("upload-done-count")).to_have_text("All 12 files done")
    page.screenshot(path=str(shots / f"{backend}-images-upload-results.png"), full_page=True)
    page.goto(f"{live_server.url}/cases/{ref}/images")
    expect(page.get_by_test_id("series")).to_contain_text("12 slices")
    page.screenshot(path=str(shots / f"{backend}-images-case-list.png"), full_page=True)

    member = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(member, live_server, "james.okafor@demo.example.org")
    member.goto(f"{live_server.url}/cases/{ref}/images")
    member.get_by_role("link", name="Open viewer").click()
    viewer = member.locator("[data-viewer]")
    expect(viewer).to_be_visible()
    expect(member.locator("[data-position]")).to_have_text("1 / 12")
    # The position is in the page before viewer.js runs: wait for its listeners, then for each
    # wheel turn's step (under load, a turn sent before the last one landed can be lost).
    expect(viewer).to_have_attribute("data-ready", "true")
    stage = member.locator("[data-stage]")
    stage.hover()
    for n in (2, 3, 4):
        member.mouse.wheel(0, 120)
        expect(member.locator("[data-position]")).to_have_text(f"{n} / 12")
    stage.focus()
    member.keyboard.press("ArrowDown")
    expect(member.locator("[data-position]")).to_have_text("5 / 12")
    member.get_by_role("button", name="Lung").click()
    expect(member.locator("[data-frame]")).to_have_attribute(
        "src",
        "/cases/"
        + ref
        + "/images/series/"
        + member.url.rsplit("/", 1)[1]
        + "/frames/4.png?preset=lung",
    )
    _frame_loaded(member)
    member.screenshot(path=str(shots / f"{backend}-images-viewer-lung.png"), full_page=True)
    member.get_by_role("button", name="Soft").click()
    member.keyboard.press("End")
    expect(member.locator("[data-position]")).to_have_text("12 / 12")
    _frame_loaded(member)
    member.screenshot(path=str(shots / f"{backend}-images-viewer-soft.png"), full_page=True)
    member.get_by_role("button", name="200%").click()
    expect(member.locator("[data-frame]")).to_have_js_property("width", 256)
    member.get_by_role("button", name="Fit").click()
    assert member.locator("[data-frame]").evaluate("e => e.width") > 256


def _frame_loaded(page) -> None:
    frame = page.locator("[data-frame]")
    expect(frame).to_have_js_property("complete", True)
    expect(frame).to_have_js_property("naturalWidth", 128)

"""Images from the hospital in Chromium (issue 19): the referrer adds an image route on the
case page (a refused value shows its reason on the form; the value never appears on the page
again), a study sent by the hospital's PACS appears (rows made directly in the database, its
upload's jobs held and then run as a worker would) and the block follows it from
"De-identifying" to "Stored" without a reload, then stops polling. The admin's DICOM senders
page. Screenshots: {backend}-hospital-*.png."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support import synth
from tests.support.accessibility import check_page
from tests.support.journeys import DEMO, REFERRER, in_app, prepare, shots_dir, sign_in, user

pytestmark = pytest.mark.browser

ACCESSION = "RVI20261206A"
CENTRE = "Great North Children's Hospital (NEWCASTLE)"


def _nap_case(live_server) -> str:
    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db

    with in_app(live_server):
        return db.session.scalar(
            select(Case.reference)
            .join(Panel, Panel.id == Case.panel_id)
            .where(
                Case.created_by_id == user(REFERRER).id,
                Case.status == CaseStatus.SUBMITTED,
                Panel.code == "NAP",
            )
            .order_by(Case.id)
            .limit(1)
        )


def _studies_arrive(live_server, ref: str, tmp_path) -> list[int]:
    """A study of 4 CT slices released to the case (its jobs held: de-identifying) and an
    earlier one refused; the jobs' ids."""
    from panel.cases.models import Case
    from panel.core.db import db, utcnow
    from panel.core.models import Job
    from panel.imaging import ingest
    from panel.imaging.netmodels import DicomSender, IncomingStudy

    with in_app(live_server):
        case = db.session.scalar(select(Case).where(Case.reference == ref))
        sender = DicomSender(
            centre_id=case.referring_centre_id, label="RVI PACS", ae_title="RVI_PACS"
        )
        db.session.add(sender)
        db.session.flush()
        db.session.add(
            IncomingStudy(
                source="c-store",
                sender_id=sender.id,
                centre_id=sender.centre_id,
                study_hmac="refused-one",
                state="refused",
                case_id=case.id,
                reason="the association was aborted before the study was complete; "
                "nothing of it was kept",
                instance_count=2,
            )
        )
        series = synth.make_ct_series(tmp_path / "ct", 4, rows=64, cols=64)
        up = ingest.receive(
            case,
            user(REFERRER),
            "RVI PACS (DICOM)",
            [(f"instance-{n}.dcm", io.BytesIO(p.read_bytes())) for n, p in enumerate(series.paths)],
        )
        db.session.add(
            IncomingStudy(
                source="c-store",
                sender_id=sender.id,
                centre_id=sender.centre_id,
                study_hmac="released-one",
                state="released",
                case_id=case.id,
                upload_id=up.id,
                instance_count=4,
                released_at=utcnow(),
            )
        )
        db.session.commit()
        return list(
            db.session.scalars(select(Job.id).where(Job.parent_id == up.job_id).order_by(Job.id))
        )


def _shoot(page, target, name: str, shots, backend: str) -> None:
    for w in (1366, 390):
        page.set_viewport_size({"width": w, "height": 900})
        target.scroll_into_view_if_needed()
        path = shots / f"{backend}-hospital-{name}-{w}.png"
        target.screenshot(path=str(path))
    page.set_viewport_size({"width": 1366, "height": 860})


def test_a_route_is_added_and_a_study_arrives(
    page, live_server, artifacts_dir, backend, tmp_path, monkeypatch
):
    from panel.core import jobs

    monkeypatch.setattr(jobs, "run_ready", lambda: 0)  # hold the server's jobs
    shots = shots_dir(artifacts_dir)
    ref = _nap_case(live_server)
    prepare(page)
    sign_in(page, live_server, REFERRER)
    page.goto(f"{live_server.url}/cases/{ref}")
    block = page.get_by_test_id("hospital-images")
    expect(block).to_be_visible(timeout=20_000)
    expect(block.get_by_test_id("no-routes")).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")

    # A value too long for an Accession Number: the reason on the form, nothing kept.
    block.get_by_label("Accession Number").check()
    block.get_by_label("Value, exactly as your PACS will send it").fill("X" * 20)
    block.get_by_role("button", name="Add route").click()
    block = page.get_by_test_id("hospital-images")
    expect(block.get_by_test_id("route-error")).to_contain_text("at most 16 characters")
    expect(block.get_by_test_id("image-route")).to_have_count(0)

    block.get_by_label("Value, exactly as your PACS will send it").fill(ACCESSION)
    block.get_by_role("button", name="Add route").click()
    block = page.get_by_test_id("hospital-images")
    expect(block.get_by_test_id("image-route")).to_have_count(1)
    expect(block.get_by_test_id("image-route")).to_contain_text("Accession Number")
    expect(block.get_by_test_id("image-route")).to_contain_text("Active")
    expect(block.get_by_role("status")).to_contain_text("Image route added")
    assert page.evaluate("window.__noReload") == "still here"
    assert ACCESSION not in page.content()

    # The hospital's PACS sends a study: it is being de-identified (the block polls).
    job_ids = _studies_arrive(live_server, ref, tmp_path)
    assert len(job_ids) == 4
    page.reload()
    block = page.get_by_test_id("hospital-images")
    expect(block.get_by_test_id("incoming-study")).to_have_count(2, timeout=20_000)
    arriving = block.locator("[data-phase=deidentifying]")
    expect(arriving).to_contain_text("De-identifying: 0 of 4")
    expect(block.locator("[data-phase=refused]")).to_contain_text("The association was aborted")
    expect(block).to_have_attribute("data-polling", "1")
    for job_id in job_ids[:2]:
        with in_app(live_server):
            assert jobs.run(job_id) == "ran"
    expect(block.locator("[data-phase=deidentifying]")).to_contain_text(
        "De-identifying: 2 of 4", timeout=15_000
    )
    page.evaluate("window.__noReload = 'still here'")
    _shoot(page, block, "deidentifying", shots, backend)
    for job_id in job_ids[2:]:
        with in_app(live_server):
            assert jobs.run(job_id) == "ran"
    stored = page.get_by_test_id("hospital-images").locator("[data-phase=stored]")
    expect(stored).to_contain_text("4 stored · 0 held back for review · 0 refused", timeout=15_000)
    expect(page.get_by_test_id("hospital-images")).not_to_have_attribute("data-polling", "1")
    assert page.evaluate("window.__noReload") == "still here"
    _shoot(page, page.get_by_test_id("hospital-images"), "stored", shots, backend)
    findings, _ = check_page(page, "case page (hospital images)", "referrer", (1366, 390))
    assert not findings, findings
    assert ACCESSION not in page.content()

    # Removing the route (confirmed): it stays listed, expired.
    page.get_by_test_id("remove-route").click()
    expect(page.get_by_test_id("image-route")).to_have_attribute("data-active", "no")
    expect(page.get_by_test_id("image-route")).to_contain_text("removed")


def test_the_admin_records_a_sender(page, live_server, artifacts_dir, backend):
    shots = shots_dir(artifacts_dir)
    prepare(page)
    sign_in(page, live_server, f"sam.taylor@{DEMO}")
    page.get_by_role("button", name="Administration").click()
    page.get_by_role("link", name="DICOM senders").click()
    expect(page.get_by_role("heading", name="DICOM senders", level=1)).to_be_visible()
    expect(page.get_by_test_id("node-ae")).to_have_text("PANEL")
    form = page.get_by_test_id("add-sender")
    form.get_by_label("Centre").select_option(label=CENTRE)
    form.get_by_label("Calling AE title").fill("RVI\\PACS")
    form.get_by_role("button", name="Add sender").click()
    form = page.get_by_test_id("add-sender")
    expect(form.locator(".invalid-feedback")).to_contain_text("no \\")
    form.get_by_label("Calling AE title").fill("RVI_PACS")
    form.get_by_label("Network (optional)").fill("10.20.0.0/16")
    form.get_by_label("Label (optional)").fill("RVI PACS")
    form.get_by_role("button", name="Add sender").click()
    # the demo data's own sender (DEMO_PACS) is listed too
    expect(page.get_by_test_id("sender").filter(has_text="RVI_PACS")).to_have_count(1)
    web = page.get_by_test_id("add-dicomweb-sender")
    web.get_by_label("Centre").select_option(label=CENTRE)
    web.get_by_label("Label").fill("RVI DICOMweb")
    web.get_by_role("button", name="Make a token").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    _shoot(page, page.locator("main"), "admin-senders", shots, backend)
    findings, _ = check_page(page, "admin DICOM senders (token shown)", "admin", (1366, 390))
    assert not findings, findings

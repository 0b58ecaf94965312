"""Browser journey of the NAP coordinator through the trial registry: the list with its status
checks and new matches, a trial, its editor, the criteria editor (whose script swaps the
operator and value inputs when the field changes) and a case's trial suggestions.
Screenshots go to test-artifacts/screenshots/{backend}-trials-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.journeys import COORDINATOR, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def trials_server(live_server):
    """The journey's live server with the packaged trials loaded (CRISP closed and reopened,
    so the cases it suits show as new matches)."""
    from sqlalchemy import select

    from panel.core.db import db
    from panel.trials.models import Trial
    from panel.trials.registry import load_registry

    with live_server.app_.app_context():
        load_registry(new_only=True)
        _reopen_crisp()
        # The test registry's statuses are all "checked"; one never checked shows the warning.
        db.session.scalar(select(Trial).where(Trial.code == "VERITAS")).status_verified_on = None
        db.session.commit()
    yield live_server


def _reopen_crisp() -> None:
    """CRISP closes, then reopens: the open cases it suits become new matches."""
    from sqlalchemy import select

    from panel.accounts.models import User
    from panel.trials.models import Trial
    from panel.trials.registry import update_trial

    coordinator = User.by_email(COORDINATOR)
    crisp = db_session_scalar(select(Trial).where(Trial.code == "CRISP"))
    if crisp.version > 1:
        return
    for status in ("closed", "open"):
        update_trial(crisp, {"status": status}, by=coordinator, expected_version=crisp.version)


def db_session_scalar(stmt):
    from panel.core.db import db

    return db.session.scalar(stmt)


def _alk_case_reference(server) -> str:
    from sqlalchemy import select

    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db

    with server.app_.app_context():
        return db.session.scalar(
            select(Case.reference)
            .join(Panel, Case.panel_id == Panel.id)
            .where(
                Panel.code == "NAP",
                Case.status == CaseStatus.SUBMITTED,
                Case.data["referring_centre"].as_string() == "NEWCASTLE",
            )
            .order_by(Case.id)
        )


def test_coordinator_reviews_and_edits_the_registry(page, trials_server, artifacts_dir, backend):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, trials_server, COORDINATOR)

    # The registry: status badges, the 90-day warnings.
    page.goto(trials_server.url + "/trials/")
    expect(page.get_by_role("heading", name="Trial registry")).to_be_visible()
    expect(page.get_by_test_id("trial-row")).to_have_count(6)
    expect(page.get_by_test_id("verify-warning").first).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-trials-registry.png"), full_page=True)

    # A trial, then its editor.
    page.get_by_test_id("trials").get_by_role("link", name="NANT-LORLATINIB", exact=True).click()
    expect(
        page.get_by_test_id("criteria").get_by_text(
            "ALK mutation or other ALK aberration (incl. amplification)"
        )
    ).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-trials-trial.png"), full_page=True)
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_test_id("trial-form")).to_be_visible()
    page.get_by_label("I checked the status today (mark verified today)").check()
    page.get_by_label("Where the status comes from").fill("Trial office, by telephone")
    page.screenshot(path=str(shots / f"{backend}-trials-edit.png"), full_page=True)
    page.get_by_test_id("save-trial").click()
    expect(page.get_by_text("NANT-LORLATINIB saved (version 2).")).to_be_visible()

    # The criteria editor: the script offers the operators and value input of the field.
    page.get_by_role("link", name="Edit criteria").click()
    expect(page.get_by_test_id("criterion-row")).to_have_count(5)
    page.screenshot(path=str(shots / f"{backend}-trials-criteria.png"), full_page=True)
    page.get_by_test_id("add-criterion").click()
    expect(page.locator("form.js-enhanced")).to_have_count(1)  # the editor's script is running
    page.get_by_label("Label (what the panel reads)").fill("Aged 1 to 18 years")
    page.locator("#field").select_option("patient.age_now_months")
    expect(page.locator("#op option")).to_have_count(10)
    page.locator("#op").select_option("between")
    expect(page.locator("[data-widget=pair]")).to_be_visible()
    expect(page.locator("[data-widget=multi]")).to_be_hidden()
    page.get_by_label("From").fill("12")
    page.get_by_label("To (inclusive)").fill("216")
    page.screenshot(path=str(shots / f"{backend}-trials-criterion.png"), full_page=True)
    page.get_by_test_id("save-criterion").click()
    expect(page.get_by_test_id("criterion-row")).to_have_count(6)
    expect(
        page.get_by_text("Aged now (months) is between 12 and 216").or_(
            page.get_by_text("is between 12 and 216")
        )
    ).to_be_visible()

    # An enum field: the value list follows the field.
    page.get_by_test_id("add-criterion").click()
    expect(page.locator("form.js-enhanced")).to_have_count(1)  # the editor's script is running
    page.locator("#field").select_option("biology.mycn")
    expect(page.locator("#op option[value='in']")).to_have_count(1)
    page.locator("#op").select_option("in")
    expect(page.locator("[data-widget=multi]")).to_be_visible()
    expect(page.get_by_label("Amplified", exact=True)).to_be_visible()
    expect(page.get_by_label("Not tested")).to_have_count(0)
    page.get_by_role("link", name="Cancel").click()

    # A case's trial suggestions.
    ref = _alk_case_reference(trials_server)
    page.goto(trials_server.url + f"/trials/case/{ref}")
    expect(page.get_by_test_id("match-row")).to_have_count(6)
    page.locator("details.criteria-details").first.locator("summary").click()
    page.screenshot(path=str(shots / f"{backend}-trials-case-matches.png"), full_page=True)

    # On the case page itself, once cases/show.html includes trials/_case_slot.html (htmx).
    page.goto(trials_server.url + f"/cases/{ref}")
    if page.locator("#trial-suggestions").count():
        expect(page.locator("#trial-suggestions").get_by_test_id("match-row")).to_have_count(6)
        page.locator("#trial-suggestions").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{backend}-trials-case-page.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_coordinator_reviews_an_eligibility_proposal(page, live_server, artifacts_dir, backend):
    """The registry changed NAXITAMAB-201's eligibility text and maximum age since a coordinator
    last reviewed it: the registry page points to it, the trial page shows the diff beside the
    criteria (each with its source text), and "Mark reviewed" clears it."""
    from pathlib import Path

    from sqlalchemy import select

    from panel.accounts.models import User
    from panel.core.db import db, utcnow
    from panel.trials.eligibility import mark_reviewed
    from panel.trials.models import Trial
    from panel.trials.registry import load_registry
    from panel.trials.sync import FileSource, sync_trials

    recordings = Path(__file__).resolve().parents[1] / "trials" / "data" / "registry"
    with live_server.app_.app_context():
        # The packaged registry: its criteria carry the source text they were written from.
        load_registry(Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json")
        today = utcnow().date()
        sync_trials(FileSource(recordings / "NCT03363373-eligibility.json", today=today))
        nax = db.session.scalar(select(Trial).where(Trial.code == "NAXITAMAB-201"))
        mark_reviewed(nax, by=User.by_email(COORDINATOR))
        sync_trials(
            FileSource(recordings / "NCT03363373-eligibility-changed.json", today=today),
            codes=["NAXITAMAB-201"],
        )
        db.session.commit()

    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, COORDINATOR)
    page.goto(live_server.url + "/trials/")
    expect(page.get_by_test_id("eligibility-proposals")).to_contain_text("NAXITAMAB-201")
    page.get_by_test_id("proposal-waiting").first.click()
    proposal = page.get_by_test_id("eligibility-proposal")
    expect(proposal).to_contain_text("Registry eligibility changed")
    expect(proposal.locator("ins.diff-added", has_text="Life expectancy")).to_have_count(1)
    expect(proposal.get_by_test_id("age-limits")).to_contain_text("18 Years")
    expect(proposal.get_by_test_id("affected-criteria")).to_contain_text("Aged 1 year or over")
    expect(page.get_by_test_id("criterion-source").first).to_contain_text(
        "with bone or bone marrow disease"
    )
    proposal.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{backend}-trials-eligibility-proposal.png"), full_page=True)
    page.get_by_test_id("mark-eligibility-reviewed").click()
    expect(page.get_by_text("eligibility text and age limits marked reviewed")).to_be_visible()
    expect(page.get_by_test_id("eligibility-proposal")).to_have_count(0)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors

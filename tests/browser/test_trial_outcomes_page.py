"""The dashboard's "Trials after the panel" in the browser (issue 15): the coordinator reaches it
from the dashboard, reads the figures, switches period and panel, and downloads the CSV.
Screenshot: {backend}-trial-outcomes.png."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.support.journeys import COORDINATOR, in_app, prepare, shots_dir, sign_in

pytestmark = pytest.mark.browser


def _screening_log(live_server) -> dict[tuple[str, str], int]:
    """Twelve NAP and four ECMC-NORTH cases with approved records suggesting registry trials,
    what happened to them, and answered follow-up checks; the demo coordinator also
    coordinates ECMC-NORTH, so the page shows two panels. Returns the records approved before
    (the demo's own), by (panel, preset)."""
    from sqlalchemy import select

    from panel.accounts import operations as accounts
    from panel.accounts.models import Panel, PanelRoleKind, User
    from panel.cases.models import Case
    from panel.core.db import db, utcnow
    from panel.core.uktime import to_uk
    from panel.feedback.models import Recommendation, RecommendationStatus
    from panel.outcomes.models import OutcomeCheck, TrialReferral, TrialReferralStep
    from panel.reports import outcomes
    from panel.trials.models import Trial

    with in_app(live_server):
        now = utcnow()
        panels = {p.code: p for p in db.session.scalars(select(Panel))}
        today = to_uk(now).date()
        before = {
            (row.panel.code, preset): row.approved
            for preset in ("12m", "3m")
            for row in outcomes.trial_outcomes(
                [panels["NAP"], panels["ECMC-NORTH"]], outcomes.preset_period(preset, today)
            )
        }
        coordinator = User.by_email(COORDINATOR)
        accounts.add_panel_role(
            coordinator, panels["ECMC-NORTH"], PanelRoleKind.COORDINATOR, by=None
        )
        trials = list(db.session.scalars(select(Trial).where(Trial.is_study.is_(False))))[:4]
        assert len(trials) == 4
        paths = [
            ("enrolled", ["referred", "screened", "enrolled"], ""),
            ("screen_failed", ["referred", "screened", "screen_failed"], "organ_function"),
            ("declined", ["referred", "declined"], ""),
            ("screen_failed", ["referred", "screen_failed"], "progression"),
            ("referred", ["referred"], ""),
            ("not_pursued", ["not_pursued"], "travel"),
        ]
        advice = ["yes", "yes", "partly", "no", "yes", ""]
        made = 0
        for code, count in (("NAP", 12), ("ECMC-NORTH", 4)):
            ref = 0
            for i in range(200):
                if made >= count:
                    break
                case = db.session.scalar(
                    select(Case)
                    .where(
                        Case.panel_id == panels[code].id,
                        Case.submitted_at.is_not(None),
                        ~Case.id.in_(select(Recommendation.case_id)),
                    )
                    .order_by(Case.id)
                    .limit(1)
                )
                if case is None:
                    case = Case(
                        reference=f"NB-2026-9{code[:1]}{i:02d}",
                        panel_id=panels[code].id,
                        created_by_id=coordinator.id,
                        data={},
                        submitted_at=now - timedelta(days=60),
                    )
                    db.session.add(case)
                    db.session.flush()
                chosen = [trials[(ref + k) % 4] for k in range(1 + ref % 2)] if ref % 5 else []
                db.session.add(
                    Recommendation(
                        case_id=case.id,
                        status=RecommendationStatus.APPROVED,
                        categories=["trial"],
                        trials=[{"trial_id": t.code, "title": t.title} for t in chosen],
                        approved_at=now - timedelta(days=7 + 11 * ref),
                    )
                )
                db.session.flush()
                for k, trial in enumerate(chosen):
                    stage, steps, reason = paths[(ref + k) % len(paths)]
                    referral = TrialReferral(
                        case_id=case.id, trial_code=trial.code, trial_title=trial.title
                    )
                    referral.stage = stage
                    db.session.add(referral)
                    db.session.flush()
                    for n, step in enumerate(steps):
                        db.session.add(
                            TrialReferralStep(
                                referral_id=referral.id,
                                step=step,
                                occurred_on=date.today() - timedelta(days=20 - n),
                                reason=reason if step in ("screen_failed", "not_pursued") else "",
                                recorded_by_id=coordinator.id,
                            )
                        )
                if advice[ref % len(advice)]:
                    db.session.add(
                        OutcomeCheck(
                            case_id=case.id,
                            months=3,
                            due_at=now - timedelta(days=3),
                            answered_at=now - timedelta(days=1),
                            advice_followed=advice[ref % len(advice)],
                            disease_status="stable",
                        )
                    )
                ref += 1
                made += 1
            made = 0
        db.session.commit()
    return before


def test_trials_after_the_panel(page, live_server, artifacts_dir, backend):
    before = _screening_log(live_server)
    prepare(page)
    sign_in(page, live_server, COORDINATOR)
    page.goto(live_server.url + "/reports")
    page.get_by_test_id("trial-outcomes-tab").click()
    expect(page.get_by_role("heading", name="Trials after the panel")).to_be_visible()
    funnel = page.get_by_test_id("outcomes-funnel")
    expect(funnel.locator('[data-panel="NAP"][data-measure="approved"]')).to_have_text(
        str(12 + before[("NAP", "12m")])
    )
    expect(funnel.locator('[data-panel="ECMC-NORTH"][data-measure="approved"]')).to_have_text(
        str(4 + before[("ECMC-NORTH", "12m")])
    )
    expect(funnel.locator('[data-panel="NAP"][data-measure="with_trial"]')).to_contain_text(
        f"of {12 + before[('NAP', '12m')]},"
    )
    expect(page.get_by_test_id("screen-fail-reasons")).to_contain_text(
        "Organ function or blood counts"
    )
    expect(page.get_by_test_id("top-enrolled").locator("li").first).to_be_visible()
    page.screenshot(
        path=str(shots_dir(artifacts_dir) / f"{backend}-trial-outcomes.png"), full_page=True
    )

    # One panel, the last 3 months: the records approved more than 3 months ago drop out.
    page.get_by_label("Panel").select_option("NAP")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-preset="12m"]')).to_have_attribute("aria-current", "true")
    expect(funnel.locator('[data-panel="ECMC-NORTH"]')).to_have_count(0)
    page.locator('[data-preset="3m"]').click()
    expect(page.locator('[data-preset="3m"]')).to_have_attribute("aria-current", "true")
    expect(funnel.locator('[data-panel="ECMC-NORTH"]')).to_have_count(0)
    expect(funnel.locator('[data-panel="NAP"][data-measure="approved"]')).to_have_text(
        str(8 + before[("NAP", "3m")])
    )

    with page.expect_download() as info:
        page.get_by_test_id("outcomes-csv").click()
    download = info.value
    assert download.suggested_filename.startswith("panel-trial-outcomes-")
    text = open(download.path(), encoding="utf-8-sig").read()
    assert text.startswith("panel,period_from,period_to,measure") and "ECMC-NORTH" not in text

    # Dates the wrong way round: the form says so, no figures.
    page.goto(live_server.url + "/reports/trials?start=2026-06-01&end=2026-05-01")
    expect(page.get_by_test_id("filter-errors")).to_be_visible()
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    expect(page.get_by_test_id("outcomes-funnel")).to_have_count(0)
    page.screenshot(path=str(shots_dir(artifacts_dir) / f"{backend}-trial-outcomes-error.png"))

"""The dashboard's turnaround chart in the browser (issue 14): whole-hour ticks for feedback sent
within minutes, and no two labels of the chart overlapping. Screenshot:
{backend}-reports-chart.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.support.journeys import COORDINATOR, in_app, prepare, shots_dir, sign_in

pytestmark = pytest.mark.browser


def _feedback_sent_within_minutes(live_server) -> None:
    """Three NAP cases whose feedback went out 5, 7 and 9 minutes after submission."""
    from sqlalchemy import select

    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db, utcnow

    with in_app(live_server):
        nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))
        cases = db.session.scalars(
            select(Case).where(Case.panel_id == nap.id, Case.submitted_at.is_not(None)).limit(3)
        ).all()
        now = utcnow()
        for case, minutes in zip(cases, (5, 7, 9), strict=False):
            case.status = CaseStatus.FEEDBACK_SENT
            case.submitted_at = now - timedelta(minutes=minutes)
            case.feedback_sent_at = now
        db.session.commit()


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_turnaround_chart_ticks_and_labels(page, live_server, artifacts_dir, backend):
    _feedback_sent_within_minutes(live_server)
    prepare(page)
    sign_in(page, live_server, COORDINATOR)
    page.goto(live_server.url + "/reports")
    chart = page.get_by_test_id("turnaround-chart")
    expect(chart).to_be_visible()
    expect(page.get_by_test_id("chart-unit")).to_have_text("hours")
    ticks = chart.locator('text.chart-tick[text-anchor="end"]').all_text_contents()
    assert ticks and all(t.isdigit() for t in ticks), ticks
    labels = chart.locator("g.chart-grid text, g.chart-axis text")
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    texts = labels.all_text_contents()
    clashes = [
        (texts[i], texts[j])
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if _overlap(boxes[i], boxes[j])
    ]
    assert not clashes, clashes
    chart.screenshot(path=str(shots_dir(artifacts_dir) / f"{backend}-reports-chart.png"))

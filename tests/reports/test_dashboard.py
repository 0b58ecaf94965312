"""The coordinator dashboard and the CSV export: numbers, access, query counts, escaping."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import Case, CaseStatus
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.feedback.models import FollowUpAction, Recommendation, RecommendationStatus
from panel.reports import queries

_numbers = itertools.count(1)


@pytest.fixture
def rows(db_session, people):
    """Factory for bare case rows (the dashboard reads only columns, not the referral)."""
    panels = {p.code: p for p in db_session.scalars(select(Panel))}

    def make(
        panel="NAP",
        status=CaseStatus.SUBMITTED,
        submitted=None,
        sent=None,
        urgency="routine",
        **cols,
    ):
        case = Case(
            reference=f"NB-2099-{next(_numbers):04d}",
            panel_id=panels[panel].id,
            created_by_id=people["referrer"].id,
            status=status,
            urgency=urgency,
            data={"clinical_question": "CLINICAL-TEXT-MARKER"},
            submitted_at=submitted
            if submitted is not None
            else (None if status == CaseStatus.DRAFT else utcnow() - timedelta(days=3)),
            feedback_sent_at=sent,
            **cols,
        )
        db_session.add(case)
        db_session.flush()
        return case

    return make


def _rec(db_session, case, *, trials=(), status=RecommendationStatus.APPROVED):
    rec = Recommendation(
        case_id=case.id,
        status=status,
        categories=["trial"],
        trials=list(trials),
        approved_at=utcnow() if status == RecommendationStatus.APPROVED else None,
    )
    db_session.add(rec)
    db_session.flush()
    return rec


# --------------------------------------------------------------------------- pure arithmetic
def test_median_and_90th_percentile_of_a_known_set():
    assert queries.median([4, 1, 3, 2, 10]) == 3
    # Linear interpolation between closest ranks: position (5 - 1) * 0.9 = 3.6 -> 4 + 0.6 * (10 - 4)
    assert queries.percentile([4, 1, 3, 2, 10], 90) == pytest.approx(7.6)
    assert queries.median([1, 2, 3, 4]) == 2.5
    assert queries.percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert queries.percentile([7], 90) == 7 and queries.median([]) is None


def test_months_and_buckets():
    now = datetime(2026, 2, 10, 12, 0)
    months = queries.last_months(now)
    assert months[0] == (2025, 3) and months[-1] == (2026, 2) and len(months) == 12
    pairs = [
        (datetime(2026, 1, 1), datetime(2026, 2, 2)),  # 32 days, this month
        (datetime(2026, 1, 30), datetime(2026, 2, 1)),  # 2 days
        (datetime(2024, 1, 1), datetime(2025, 2, 27)),  # feedback 12 months ago: outside
    ]
    out = queries.turnaround_by_month(pairs, now)
    assert out[-1].count == 2 and out[-1].median == 17 and out[-1].p90 == pytest.approx(29)
    assert sum(m.count for m in out) == 2


def test_feedback_is_counted_in_its_uk_month():
    """Feedback sent at 23:30 UTC on 31 March (00:30 BST on 1 April) counts for April; at
    23:30 UTC on 31 January (GMT) it stays in January."""
    now = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
    assert queries.last_months(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))[-1] == (2026, 4)
    pairs = [
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), datetime(2026, 3, 31, 23, 30, tzinfo=UTC)),
        (datetime(2026, 1, 29, 23, 30, tzinfo=UTC), datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),
    ]
    out = {(m.year, m.month): m.count for m in queries.turnaround_by_month(pairs, now)}
    assert out[(2026, 4)] == 1 and out[(2026, 3)] == 0 and out[(2026, 1)] == 1


@pytest.mark.parametrize(
    ("max_days", "unit", "ticks"),
    [
        (0.005, "hours", [0, 1]),  # 7 minutes: the "0.00125 days" ticks of issue 14
        (0.03, "hours", [0, 1]),
        (0.3, "hours", [0, 2, 4, 6, 8]),  # 7.2 hours
        (0.99, "hours", [0, 6, 12, 18, 24]),
        (1.0, "days", [0, 1]),
        (1.5, "days", [0, 1, 2]),
        (4.2, "days", [0, 1, 2, 3, 4, 5]),
        (17.3, "days", [0, 5, 10, 15, 20]),
        (40, "days", [0, 10, 20, 30, 40]),
        (137, "days", [0, 50, 100, 150]),
        (0, "days", [0, 1]),
    ],
)
def test_axis_ticks_are_whole_days_or_hours(max_days, unit, ticks):
    got_unit, factor, got = queries.axis_scale(max_days)
    assert (got_unit, got) == (unit, ticks)
    assert factor == (24 if unit == "hours" else 1)


def test_chart_ticks_are_whole_evenly_spaced_and_apart():
    """Over a sweep of largest values: whole-number ticks from 0, evenly spaced, covering the
    largest value, at most 6 labels, at least 30 px apart (11 px labels), and the widest tick
    label clear of the rotated unit label at x = 12."""
    for i in range(1, 4000):
        max_days = i * i / 40000  # 0.000025 .. 400 days
        rows = [queries.MonthTurnaround(2026, 1, 3, max_days / 2, max_days)]
        chart = queries.turnaround_chart(rows)
        values = [v for v, _ in chart.y_ticks]
        ys = [y for _, y in chart.y_ticks]
        assert all(isinstance(v, int) for v in values) and values[0] == 0
        assert len(set(b - a for a, b in zip(values, values[1:], strict=False))) == 1
        assert values[-1] >= max_days * (24 if chart.unit == "hours" else 1) - 1e-9
        assert 2 <= len(values) <= 6
        assert min(a - b for a, b in zip(ys, ys[1:], strict=False)) >= 30
        widest = max(len(str(v)) for v in values) * 7  # 11 px digits are ~6.1 px wide
        assert chart.left - 6 - widest > 12 + 8, (max_days, values)


def test_small_turnaround_chart_reads_in_hours(app, client, people, login, rows, db_session):
    """Feedback sent within minutes: the chart's axis is in whole hours, not 0.00125 days."""
    import re

    now = utcnow()
    for minutes in (5, 7, 9):
        rows(status=CaseStatus.FEEDBACK_SENT, sent=now, submitted=now - timedelta(minutes=minutes))
    login(client, people["nap_coordinator"])
    html = client.get("/reports").get_data(as_text=True)
    svg = html[html.index('data-testid="turnaround-chart"') : html.index("</svg>")]
    ticks = re.findall(
        r'<text class="chart-tick" x="\d+" y="[\d.]+" text-anchor="end">([^<]*)</text>', svg
    )
    assert ticks == ["0", "1"]
    assert 'data-testid="chart-unit">hours</text>' in svg
    assert "Median 7 minutes" not in svg and "under an hour" in svg


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("NB-2026-0001", "NB-2026-0001"),
        ("a=b", "a=b"),
        (None, ""),
        (datetime(2026, 3, 1, 10, 0, tzinfo=None), "2026-03-01T10:00:00"),
    ],
)
def test_csv_cells_escape_spreadsheet_formulas(value, expected):
    assert queries.csv_cell(value) == expected


# --------------------------------------------------------------------------- the page
def test_dashboard_numbers(app, client, people, login, rows, db_session):
    """Are statuses per panel, turnaround per month, overdue actions and trial counts right
    for a constructed set of cases?"""
    now = utcnow()
    month_start = datetime(now.year, now.month, 1, tzinfo=now.tzinfo)
    last_month = month_start - timedelta(days=1)
    for days in (1, 2, 3, 4, 10):  # this month: median 3, p90 7.6
        rows(status=CaseStatus.FEEDBACK_SENT, sent=now, submitted=now - timedelta(days=days))
    rows(status=CaseStatus.CLOSED, sent=last_month, submitted=last_month - timedelta(days=5))
    rows(
        status=CaseStatus.FEEDBACK_SENT,
        sent=now - timedelta(days=400),
        submitted=now - timedelta(days=420),
    )
    rows(status=CaseStatus.SCHEDULED)
    rows(status=CaseStatus.DRAFT)  # never counted
    rows(
        panel="ECMC-NORTH",
        status=CaseStatus.FEEDBACK_SENT,
        sent=now,
        submitted=now - timedelta(days=90),
    )

    a = rows(
        status=CaseStatus.FEEDBACK_SENT,
        sent=now - timedelta(days=20),
        submitted=now - timedelta(days=30),
    )
    b = rows(
        status=CaseStatus.FEEDBACK_SENT,
        sent=now - timedelta(days=20),
        submitted=now - timedelta(days=30),
    )
    north = rows(panel="ECMC-NORTH", status=CaseStatus.FEEDBACK_SENT)
    crisp = {"trial_id": "CRISP", "code": "CRISP", "title": "Crizotinib study"}
    lorla = {"trial_id": "LORLA", "code": "LORLA", "title": "Lorlatinib study"}
    rec_a = _rec(db_session, a, trials=[crisp, lorla, crisp])  # a trial counts once per record
    _rec(db_session, b, trials=[crisp, "not an object", 5])
    _rec(
        db_session,
        rows(status=CaseStatus.RECOMMENDATION),
        trials=[lorla],
        status=RecommendationStatus.DRAFT,
    )
    rec_north = _rec(db_session, north, trials=[lorla])
    rec_north.trials = {
        "not": "a list"
    }  # another panel's, and not a list: neither counted nor an error
    db_session.add_all(
        [
            FollowUpAction(
                recommendation_id=rec_a.id,
                position=0,
                description="Repeat MIBG scan",
                owner_role="referrer",
                due_in_days=10,
                due_at=now - timedelta(days=3, hours=1),
            ),
            FollowUpAction(
                recommendation_id=rec_a.id,
                position=1,
                description="Done already",
                owner_role="coordinator",
                due_in_days=10,
                due_at=now - timedelta(days=5),
                done_at=now - timedelta(days=6),
            ),
            FollowUpAction(
                recommendation_id=rec_a.id,
                position=2,
                description="Not yet due",
                owner_role="chair",
                due_in_days=10,
                due_at=now + timedelta(days=5),
            ),
            FollowUpAction(
                recommendation_id=rec_north.id,
                position=0,
                description="North action",
                owner_role="referrer",
                due_in_days=1,
                due_at=now - timedelta(days=9),
            ),
        ]
    )
    db_session.commit()

    login(client, people["nap_coordinator"])
    resp = client.get("/reports")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)

    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    status_rows = queries.cases_by_status(queries.coordinator_panels([nap.id]))
    counts = status_rows[0].counts
    assert counts[CaseStatus.FEEDBACK_SENT] == 8 and counts[CaseStatus.CLOSED] == 1
    assert counts[CaseStatus.SCHEDULED] == 1 and counts[CaseStatus.RECOMMENDATION] == 1
    assert status_rows[0].total == 11 and len(status_rows) == 1
    assert 'data-panel="NAP"' in html and 'data-panel="ECMC-NORTH"' not in html
    assert 'data-status="feedback_sent">8<' in html and 'data-status="total">11<' in html

    months = queries.turnaround([nap.id], now)
    this = months[-1]
    assert this.count == 5 + (2 if (now - timedelta(days=20)).month == now.month else 0)
    only_five = queries.turnaround_by_month(
        [(now - timedelta(days=d), now) for d in (1, 2, 3, 4, 10)], now
    )[-1]
    assert only_five.median == pytest.approx(3) and only_five.p90 == pytest.approx(7.6)
    assert months[-2].count == (1 if (now - timedelta(days=20)).month == now.month else 3)
    assert sum(m.count for m in months) == 8  # the one 400 days ago is outside the window
    assert (
        'data-testid="turnaround-chart"' in html
        and "<polyline" in html
        and "90th percentile" in html
    )
    assert "style=" not in html

    overdue = queries.overdue_actions([nap.id], now)
    assert [(o.reference, o.description, o.owner_role, o.days_overdue) for o in overdue] == [
        (a.reference, "Repeat MIBG scan", "referrer", 3)
    ]
    assert "Repeat MIBG scan" in html and f'href="/cases/{a.reference}"' in html
    assert queries.overdue_count([nap.id], now) == 1 and 'data-testid="overdue-total">1<' in html
    assert (
        queries.overdue_actions([nap.id], now, limit=0) == []
    )  # the list is bounded; the badge counts all
    assert "North action" not in html and "Done already" not in html and "Not yet due" not in html

    trials = queries.trials_suggested([nap.id])
    assert [(t.code, t.title, t.count) for t in trials] == [
        ("CRISP", "Crizotinib study", 2),
        ("LORLA", "Lorlatinib study", 1),
    ]
    assert 'data-trial="CRISP"' in html


@pytest.mark.parametrize(
    "who, status",
    [
        ("nap_coordinator", 200),
        ("north_coordinator", 200),
        ("nap_member", 403),
        ("admin", 404),
        ("referrer", 404),
    ],
)
def test_dashboard_access(app, client, people, login, who, status):
    login(client, people[who])
    assert client.get("/reports").status_code == status
    assert client.get("/reports/cases.csv").status_code == status


def test_dashboard_is_in_the_nav_once(app, client, people, login):
    """Does the navigation bar on /reports list each item once, with Dashboard marked as the
    current page (it used to appear twice)?"""
    import re

    login(client, people["nap_coordinator"])
    html = client.get("/reports").get_data(as_text=True)
    nav = html[html.index('<ul class="navbar-nav me-auto">') :]
    nav = nav[: nav.index("</ul>")]
    items = re.findall(r'<a class="nav-link[^"]*"[^>]*>([^<]+)</a>', nav)
    assert items.count("Dashboard") == 1
    assert len(items) == len(set(items)), items
    assert re.search(r'class="nav-link active" aria-current="page" href="/reports">Dashboard<', nav)


def test_dashboard_needs_login(client):
    resp = client.get("/reports")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_dashboard_query_count_does_not_grow(
    app, client, people, login, rows, db_session, count_queries
):
    now = utcnow()

    def add(n):
        for i in range(n):
            case = rows(
                status=CaseStatus.FEEDBACK_SENT,
                sent=now - timedelta(days=i * 20),
                submitted=now - timedelta(days=i * 20 + 7),
            )
            rec = _rec(db_session, case, trials=[{"trial_id": f"T{i}", "title": f"Trial {i}"}])
            db_session.add(
                FollowUpAction(
                    recommendation_id=rec.id,
                    position=0,
                    description=f"Action {i}",
                    owner_role="referrer",
                    due_in_days=1,
                    due_at=now - timedelta(days=1),
                )
            )
        db_session.commit()

    add(1)
    login(client, people["nap_coordinator"])
    client.get("/reports")
    with count_queries() as few:
        assert client.get("/reports").status_code == 200
    add(12)
    client.get("/reports")
    with count_queries() as many:
        html = client.get("/reports").get_data(as_text=True)
    assert html.count("Action ") >= 13
    assert many.count == few.count
    with count_queries() as csv_q:
        client.get("/reports/cases.csv")
    assert csv_q.count <= few.count


# --------------------------------------------------------------------------- CSV
def test_cases_csv(app, client, people, login, rows, db_session):
    now = utcnow().replace(microsecond=0)
    sent = rows(
        status=CaseStatus.FEEDBACK_SENT,
        submitted=now - timedelta(days=10),
        sent=now,
        triaged_at=now - timedelta(days=9),
        urgency="urgent",
    )
    evil = rows(status=CaseStatus.SUBMITTED, urgency="=1+1")
    rows(status=CaseStatus.DRAFT)
    rows(panel="ECMC-NORTH")
    db_session.commit()
    login(client, people["nap_coordinator"])
    resp = client.get("/reports/cases.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="panel-cases-')
    text = resp.get_data(as_text=True).lstrip("\ufeff")
    assert "CLINICAL-TEXT-MARKER" not in text
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 2 and all(r["panel"] == "NAP" for r in table)
    by_ref = {r["reference"]: r for r in table}
    assert by_ref[evil.reference]["urgency"] == "'=1+1"
    row = by_ref[sent.reference]
    assert row["status"] == "feedback_sent" and row["urgency"] == "urgent"
    assert row["submitted"] == (now - timedelta(days=10)).isoformat().replace("+00:00", "Z")
    assert (
        row["feedback_sent"].endswith("Z") and row["triaged"].endswith("Z") and row["closed"] == ""
    )
    assert row["days_to_feedback"] == "10.0"
    assert list(table[0]) == [label for _, label in queries.CSV_COLUMNS] + ["days_to_feedback"]
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "report.cases_csv"))
    assert entry is not None and entry.details["rows"] == 2


def test_suggested_trials_are_kept_in_step_with_the_record(rows, db_session):
    """Does the narrow copy of a record's suggested trials follow every change of its list?"""
    from panel.feedback.models import RecommendationTrial

    def narrow(rec):
        db_session.flush()
        return sorted(
            db_session.execute(
                select(RecommendationTrial.code, RecommendationTrial.title).where(
                    RecommendationTrial.recommendation_id == rec.id
                )
            ).all()
        )

    crisp = {"trial_id": "CRISP", "title": "Crizotinib study"}
    rec = _rec(db_session, rows(status=CaseStatus.FEEDBACK_SENT), trials=[crisp, crisp, "junk"])
    assert narrow(rec) == [("CRISP", "Crizotinib study")]
    rec.trials = [{"code": "LORLA", "title": "Lorlatinib study"}, {"title": "Untitled code"}]
    assert narrow(rec) == [("LORLA", "Lorlatinib study"), ("Untitled code", "Untitled code")]
    rec.trials = {"not": "a list"}
    assert narrow(rec) == []
    rec.rationale = "A change that leaves the trials alone."
    rec.trials = [crisp]
    db_session.commit()
    assert narrow(rec) == [("CRISP", "Crizotinib study")]
    db_session.delete(rec)
    db_session.commit()
    assert (
        db_session.scalar(
            select(RecommendationTrial.id).where(RecommendationTrial.recommendation_id == rec.id)
        )
        is None
    )

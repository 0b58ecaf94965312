"""The dashboard's "Trials after the panel" (issue 15): the figures against hand-computed values,
the period and panel filters, who may see them, the CSV, and bad input.

The figures are read from rows made directly (bare cases, approved records, screening-log rows,
answered follow-up checks), as the screening log and the follow-up form would leave them; one
test goes through the real record operations (start, save, approve) as tests/feedback does."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import Case, CaseStatus
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.core.uktime import to_uk
from panel.feedback.models import Recommendation, RecommendationStatus
from panel.outcomes.models import OutcomeCheck, TrialReferral, TrialReferralStep
from panel.reports import outcomes
from panel.reports.outcomes import Period, Share

_numbers = itertools.count(1)

CRISP = {"trial_id": "CRISP", "title": "Crizotinib study"}
LORLA = {"trial_id": "LORLA", "title": "Lorlatinib study"}
NAXI = {"trial_id": "NAXI", "title": "Naxitamab study"}


# --------------------------------------------------------------------------- rows
@pytest.fixture
def world(db_session, people):
    """Helpers that make bare rows: ``case(panel)``, ``approve(case, trials, days_ago)``,
    ``refer(case, code, stage, *steps)`` with steps as ``"referred"`` or ``("screen_failed",
    "age")``, and ``check(case, months, advice, answered_days_ago)``."""
    panels = {p.code: p for p in db_session.scalars(select(Panel))}
    now = utcnow()

    class World:
        def case(self, panel="NAP"):
            c = Case(
                reference=f"NB-2098-{next(_numbers):04d}",
                panel_id=panels[panel].id,
                created_by_id=people["referrer"].id,
                status=CaseStatus.FEEDBACK_SENT,
                urgency="routine",
                data={"clinical_question": "CLINICAL-TEXT-MARKER"},
                submitted_at=now - timedelta(days=500),
            )
            db_session.add(c)
            db_session.flush()
            return c

        def approve(self, case, trials=(), days_ago=10.0, *, at=None, draft=False):
            rec = Recommendation(
                case_id=case.id,
                status=RecommendationStatus.DRAFT if draft else RecommendationStatus.APPROVED,
                categories=["trial"],
                trials=list(trials),
                approved_at=None if draft else (at or now - timedelta(days=days_ago)),
            )
            db_session.add(rec)
            db_session.flush()
            return rec

        def refer(self, case, code, stage, *steps):
            ref = TrialReferral(case_id=case.id, trial_code=code, trial_title=f"{code} title")
            ref.stage = stage
            db_session.add(ref)
            db_session.flush()
            for i, s in enumerate(steps):
                step, reason = (s, "") if isinstance(s, str) else s
                db_session.add(
                    TrialReferralStep(
                        referral_id=ref.id,
                        step=step,
                        reason=reason,
                        occurred_on=date(2026, 1, 1) + timedelta(days=i),
                        recorded_by_id=people["referrer"].id,
                    )
                )
            db_session.flush()
            return ref

        def check(self, case, months, advice="", answered_days_ago=None):
            db_session.add(
                OutcomeCheck(
                    case_id=case.id,
                    months=months,
                    due_at=now - timedelta(days=5),
                    answered_at=None
                    if answered_days_ago is None
                    else now - timedelta(days=answered_days_ago),
                    advice_followed=advice,
                    disease_status="stable" if answered_days_ago is not None else "",
                )
            )
            db_session.flush()

    return World()


@pytest.fixture
def scenario(world, db_session):
    """The constructed set whose figures are worked out by hand in the tests below.

    NAP, records approved (days ago) and what happened:
      A   10  CRISP, LORLA  CRISP referred > screened > enrolled; LORLA referred > declined
      B   20  CRISP         referred > screen-failed (organ function): screened all the same
      C   30  LORLA         declined by the family (never referred)
      D   40  LORLA, NAXI   LORLA referred > screen-failed (age); NAXI referred > screened >
                            screen-failed (organ function)
      E  120  no trial
      F   60  CRISP         back at "suggested" (its referred step withdrawn)
      I    5  NAXI          referred > not pursued
      G  400  CRISP         referred > screened > enrolled
      H   --  CRISP         a draft record: never counted
    ECMC-NORTH: N1 3 CRISP referred > screened > enrolled.
    Follow-up checks: A yes (3 m, 90 days ago) then partly (6 m, 2 days ago): partly; B yes;
    C no, then a later answer without yes/partly/no: no; D reminded, not answered; G yes;
    N1 no."""
    w = world
    cases = {name: w.case() for name in "ABCDEFGHI"}
    cases["N1"] = w.case("ECMC-NORTH")
    a, b, c, d, e, f, g, h, i = (cases[n] for n in "ABCDEFGHI")
    w.approve(a, [CRISP, LORLA], 10)
    w.refer(a, "CRISP", "enrolled", "referred", "screened", "enrolled")
    w.refer(a, "LORLA", "declined", "referred", "declined")
    w.approve(b, [CRISP], 20)
    w.refer(b, "CRISP", "screen_failed", "referred", ("screen_failed", "organ_function"))
    w.approve(c, [LORLA], 30)
    w.refer(c, "LORLA", "declined", "declined")
    w.approve(d, [LORLA, NAXI], 40)
    w.refer(d, "LORLA", "screen_failed", "referred", ("screen_failed", "age"))
    w.refer(d, "NAXI", "screen_failed", "referred", "screened", ("screen_failed", "organ_function"))
    w.approve(e, [], 120)
    w.approve(f, [CRISP], 60)
    w.refer(f, "CRISP", "suggested", "referred")
    w.approve(i, [NAXI], 5)
    w.refer(i, "NAXI", "not_pursued", "referred", ("not_pursued", "other_treatment"))
    w.approve(g, [CRISP], 400)
    w.refer(g, "CRISP", "enrolled", "referred", "screened", "enrolled")
    w.approve(h, [CRISP], draft=True)
    w.refer(h, "CRISP", "enrolled", "referred", "screened", "enrolled")
    w.approve(cases["N1"], [CRISP], 3)
    w.refer(cases["N1"], "CRISP", "enrolled", "referred", "screened", "enrolled")
    w.check(a, 3, "yes", 90)
    w.check(a, 6, "partly", 2)
    w.check(b, 3, "yes", 4)
    w.check(c, 3, "no", 10)
    w.check(c, 6, "", 1)
    w.check(d, 3)
    w.check(g, 3, "yes", 300)
    w.check(cases["N1"], 3, "no", 1)
    db_session.commit()
    return cases


def _panel(db_session, code):
    return db_session.scalar(select(Panel).where(Panel.code == code))


def _today():
    return to_uk(utcnow()).date()


def _figures(db_session, period, code="NAP"):
    (row,) = outcomes.trial_outcomes([_panel(db_session, code)], period)
    return row


def _funnel(row):
    return (row.approved, row.with_trial, row.referred, row.screened, row.enrolled)


def _cell(html, panel, measure):
    """The text of one figure's cell, tags dropped and spaces collapsed."""
    m = re.search(
        rf'<td[^>]*data-panel="{panel}" data-measure="{measure}">(.*?)</td>', html, re.DOTALL
    )
    assert m, (panel, measure)
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split()).replace(" ,", ",")


# --------------------------------------------------------------------------- shares and periods
def test_a_share_never_divides_by_zero_and_rounds_halves_up():
    assert Share(12, 40).text == "12 of 40, 30%"
    assert Share(0, 0).text == "0 of 0, n/a" and Share(0, 0).percent_1dp == ""
    assert Share(1, 8).percent == 13 and Share(1, 8).percent_1dp == "12.5"
    assert Share(2, 3).percent == 67 and Share(2, 3).percent_1dp == "66.7"
    assert Share(1, 6).text == "1 of 6, 17%"


def test_presets_and_month_arithmetic():
    today = date(2026, 5, 31)
    assert outcomes.months_before(today, 3) == date(2026, 2, 28)
    assert outcomes.months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert outcomes.months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert outcomes.preset_period("3m", today) == Period(date(2026, 2, 28), today, "3m")
    assert outcomes.preset_period("12m", today) == Period(date(2025, 5, 31), today, "12m")
    assert outcomes.preset_period("all", today) == Period(None, today, "all")
    assert Period(None, today).slug == "all-to-2026-05-31"


def test_the_period_is_in_uk_dates(world, db_session):
    """Does a period starting on 1 April (BST) take a record approved at 23:30 UTC on 31 March
    (00:30 on 1 April in the UK), and leave out one approved at 22:30 UTC? And does its last
    day run to UK midnight?"""
    inside = world.case()
    world.approve(inside, [CRISP], at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    before = world.case()
    world.approve(before, [CRISP], at=datetime(2026, 3, 31, 22, 30, tzinfo=UTC))
    last = world.case()
    world.approve(last, [CRISP], at=datetime(2026, 4, 30, 22, 59, tzinfo=UTC))
    after = world.case()
    world.approve(after, [CRISP], at=datetime(2026, 4, 30, 23, 0, tzinfo=UTC))
    db_session.commit()
    april = Period(date(2026, 4, 1), date(2026, 4, 30))
    assert _figures(db_session, april).approved == 2
    assert _figures(db_session, Period(date(2026, 3, 1), date(2026, 3, 31))).approved == 1


# --------------------------------------------------------------------------- the figures
def test_figures_over_the_last_twelve_months(scenario, db_session):
    """Are the figures for NAP over the last 12 months those worked out by hand?"""
    row = _figures(db_session, outcomes.preset_period("12m", _today()))
    # Cohort A B C D E F I (G too old, H a draft); with a trial: all but E.
    assert row.approved == 7
    assert row.with_trial == Share(6, 7)
    assert row.referred == Share(4, 6)  # A, B, D, I (not C: declined only; not F: withdrawn)
    assert row.screened == Share(3, 6)  # A, B, D (B screen-failed without a "screened" step)
    assert row.enrolled == Share(1, 6)  # A
    assert row.screen_failed == 3
    reasons = {r.key: r.share for r in row.reasons}
    assert reasons["organ_function"] == Share(2, 3) and reasons["age"] == Share(1, 3)
    assert reasons["other"] == Share(0, 3)
    assert list(reasons)[:2] == ["eligibility_disease", "eligibility_prior_treatment"]
    assert {r.key: r.share for r in row.advice} == {
        "yes": Share(1, 3),  # B
        "partly": Share(1, 3),  # A: its latest answer
        "no": Share(1, 3),  # C: the later answer says nothing on the advice
    }
    assert row.advice_unanswered == Share(4, 7)  # D E F I
    assert [(t.code, t.title, t.share) for t in row.suggested] == [
        ("CRISP", "Crizotinib study", Share(3, 6)),  # A B F
        ("LORLA", "Lorlatinib study", Share(3, 6)),  # A C D
        ("NAXI", "Naxitamab study", Share(2, 6)),  # D I
    ]
    assert [(t.code, t.title, t.share) for t in row.enrolled_trials] == [
        ("CRISP", "CRISP title", Share(1, 3))
    ]


def test_figures_over_other_periods(scenario, db_session):
    """All time adds G; the last 3 months drops E; a chosen fortnight holds B only; a period
    without records shows n/a, not 0%."""
    today = _today()
    everything = _figures(db_session, outcomes.preset_period("all", today))
    assert _funnel(everything) == (8, Share(7, 8), Share(5, 7), Share(4, 7), Share(2, 7))
    assert [(t.code, t.share) for t in everything.enrolled_trials] == [("CRISP", Share(2, 4))]
    assert {r.key: r.share for r in everything.advice}["yes"] == Share(2, 4)

    three = _figures(db_session, outcomes.preset_period("3m", today))
    assert _funnel(three) == (6, Share(6, 6), Share(4, 6), Share(3, 6), Share(1, 6))

    b_only = Period(today - timedelta(days=25), today - timedelta(days=15))
    assert _funnel(_figures(db_session, b_only)) == (
        1,
        Share(1, 1),
        Share(1, 1),
        Share(1, 1),
        Share(0, 1),
    )
    empty = _figures(db_session, Period(date(2001, 1, 1), date(2001, 1, 31)))
    assert empty.approved == 0 and empty.with_trial.text == "0 of 0, n/a"
    assert empty.suggested == [] and empty.screen_failed == 0
    assert all(r.share.text == "0 of 0, n/a" for r in empty.advice)


def test_each_panel_has_its_own_figures(scenario, db_session):
    nap, north = _panel(db_session, "NAP"), _panel(db_session, "ECMC-NORTH")
    rows = outcomes.trial_outcomes([north, nap], outcomes.preset_period("12m", _today()))
    assert [r.panel.code for r in rows] == ["ECMC-NORTH", "NAP"]
    assert _funnel(rows[0]) == (1, Share(1, 1), Share(1, 1), Share(1, 1), Share(1, 1))
    assert {r.key: r.share for r in rows[0].advice}["no"] == Share(1, 1)
    assert rows[1].approved == 7


def test_an_approval_through_the_record_operations_counts(db_session, people, make_user, make_case):
    """Does a record started, saved and approved through the operations (as tests/feedback
    does) count, with the trials it suggests?"""
    from panel.feedback import operations
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry
    from tests.support.data import answers_for, discussed_at_meeting, full_record_data

    load_registry()
    db_session.commit()
    clear_cache()
    chair = make_user(roles=[("NAP", "chair")])
    case = make_case(people["referrer"], submit=True)
    discussed_at_meeting(db_session, case)
    coordinator = people["nap_coordinator"]
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(rec, full_record_data(), by=coordinator, expected_version=rec.version)
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(case)),
        by=coordinator,
        expected_version=rec.version,
    )
    db_session.commit()
    period = outcomes.preset_period("3m", _today())
    assert _figures(db_session, period).approved == 0  # a draft does not count
    operations.approve(rec, by=chair, expected_version=rec.version)
    db_session.commit()
    row = _figures(db_session, period)
    assert row.approved == 1 and row.with_trial == Share(1, 1)
    assert {t.code for t in row.suggested} == {"CRISP", "NAXITAMAB-201"}
    assert row.referred == Share(0, 1)


# --------------------------------------------------------------------------- the page
def test_the_page_shows_the_figures(app, client, people, login, scenario, db_session):
    login(client, people["nap_coordinator"])
    resp = client.get("/reports/trials")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Trials after the panel" in html and "CLINICAL-TEXT-MARKER" not in html
    assert _cell(html, "NAP", "approved") == "7"
    assert _cell(html, "NAP", "with_trial") == "6 of 7, 86%"
    assert _cell(html, "NAP", "referred") == "4 of 6, 67%"
    assert _cell(html, "NAP", "screened") == "3 of 6, 50%"
    assert _cell(html, "NAP", "enrolled") == "1 of 6, 17%"
    assert _cell(html, "NAP", "reason-organ_function") == "2 of 3, 67%"
    assert "Organ function or blood counts" in html
    assert _cell(html, "NAP", "advice-partly") == "1 of 3, 33%"
    assert _cell(html, "NAP", "advice-unanswered") == "4 of 7, 57%"
    assert 'data-panel="NAP" data-trial="LORLA"' in html and "Naxitamab study" in html
    assert 'data-panel="ECMC-NORTH"' not in html
    assert 'aria-current="true" href="/reports/trials?period=12m"' in html
    assert "style=" not in html
    # The overview links here.
    assert 'href="/reports/trials"' in client.get("/reports").get_data(as_text=True)


def test_presets_dates_and_panel_on_the_page(app, client, make_user, login, scenario, db_session):
    """Does a coordinator of both panels see both, or the one chosen, over the period chosen?"""
    both = make_user(roles=[("NAP", "coordinator"), ("ECMC-NORTH", "coordinator")])
    login(client, both)
    html = client.get("/reports/trials").get_data(as_text=True)
    assert _cell(html, "NAP", "approved") == "7" and _cell(html, "ECMC-NORTH", "approved") == "1"
    html = client.get("/reports/trials?panel=ECMC-NORTH&period=all").get_data(as_text=True)
    assert (
        'data-panel="NAP"' not in html and _cell(html, "ECMC-NORTH", "enrolled") == "1 of 1, 100%"
    )
    html = client.get("/reports/trials?period=all&panel=NAP").get_data(as_text=True)
    assert _cell(html, "NAP", "enrolled") == "2 of 7, 29%"
    html = client.get("/reports/trials?period=3m&panel=NAP").get_data(as_text=True)
    assert _cell(html, "NAP", "approved") == "6"
    today = _today()
    start, end = today - timedelta(days=25), today - timedelta(days=15)
    resp = client.get(f"/reports/trials?start={start}&end={end}&panel=NAP&period=all")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and _cell(html, "NAP", "approved") == "1"  # dates win
    assert f'value="{start.isoformat()}"' in html
    html = client.get("/reports/trials?start=2001-01-01&end=2001-01-31").get_data(as_text=True)
    assert _cell(html, "NAP", "with_trial") == "0 of 0, n/a"
    assert "No approved record in this period suggests a trial." in html


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
def test_who_may_see_the_page(app, client, people, login, who, status):
    login(client, people[who])
    assert client.get("/reports/trials").status_code == status
    assert client.get("/reports/trials.csv").status_code == status


def test_the_page_needs_login(client):
    for url in ("/reports/trials", "/reports/trials.csv"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_another_panels_coordinator_cannot_see_its_figures(
    app, client, people, login, scenario, db_session
):
    """Does a coordinator of ECMC-NORTH asking for NAP get a form error, and never NAP's
    figures, on the page or in the CSV?"""
    login(client, people["north_coordinator"])
    html = client.get("/reports/trials").get_data(as_text=True)
    assert 'data-panel="NAP"' not in html and _cell(html, "ECMC-NORTH", "approved") == "1"
    for url in ("/reports/trials?panel=NAP", "/reports/trials.csv?panel=NAP"):
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400 and resp.mimetype == "text/html"
        assert "Choose one of the panels you coordinate." in html
        assert 'data-measure="approved"' not in html
    nap_id = _panel(db_session, "NAP").id
    assert client.get(f"/reports/trials?panel={nap_id}").status_code == 400


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=2026-13-45", "Enter a date as YYYY-MM-DD"),
        ("end=yesterday", "Enter a date as YYYY-MM-DD"),
        ("start=2026-06-01&end=2026-05-01", "The end date is before the start date."),
        ("start=0001-01-01", "Choose a date between 1 Jan 2000 and 31 Dec 2100."),
        ("end=9999-12-31", "Choose a date between 1 Jan 2000 and 31 Dec 2100."),
        ("period=5y", "Choose a period from the list."),
        ("panel=%3Cscript%3E", "Choose one of the panels you coordinate."),
        ("start=2026-01-01%00", "Enter a date as YYYY-MM-DD"),
    ],
)
def test_bad_input_is_a_form_error(app, client, people, login, query, message):
    login(client, people["nap_coordinator"])
    for url in (f"/reports/trials?{query}", f"/reports/trials.csv?{query}"):
        resp = client.get(url)
        assert resp.status_code == 400, url
        html = resp.get_data(as_text=True)
        assert message in html and 'data-testid="filter-errors"' in html
        assert "<script>" not in html


def test_the_export_link_repeats_only_the_filter(app, client, people, login):
    """Do unknown query arguments (url_for's "_external", "_scheme") stay out of the export
    link, and never turn into a 500?"""
    login(client, people["nap_coordinator"])
    resp = client.get("/reports/trials?period=3m&_scheme=javascript&_external=1&_anchor=x&other=1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'href="/reports/trials.csv?period=3m"' in html and "javascript" not in html
    resp = client.get("/reports/trials?_scheme=javascript")
    assert resp.status_code == 200


def test_query_count_does_not_grow(app, client, people, login, world, db_session, count_queries):
    def add(n):
        for k in range(n):
            c = world.case()
            world.approve(c, [CRISP, {"trial_id": f"T{k}", "title": f"Trial {k}"}], 5 + k)
            world.refer(c, "CRISP", "screen_failed", "referred", ("screen_failed", "age"))
            world.check(c, 3, "yes", 1)
        db_session.commit()

    add(1)
    login(client, people["nap_coordinator"])
    client.get("/reports/trials")
    with count_queries() as few:
        assert client.get("/reports/trials").status_code == 200
    add(15)
    with count_queries() as many:
        html = client.get("/reports/trials").get_data(as_text=True)
    assert _cell(html, "NAP", "approved") == "16"
    assert many.count == few.count
    with count_queries() as csv_q:
        client.get("/reports/trials.csv")
    assert csv_q.count <= few.count + 2  # the audit entry


# --------------------------------------------------------------------------- CSV
def test_the_csv(app, client, people, login, scenario, db_session):
    login(client, people["nap_coordinator"])
    today = _today()
    start = outcomes.months_before(today, 12)
    resp = client.get("/reports/trials.csv?period=12m")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="panel-trial-outcomes-{start}-to-{today}.csv"'
    )
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff") and "CLINICAL-TEXT-MARKER" not in text
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(table[0]) == outcomes.CSV_HEADER
    assert {r["panel"] for r in table} == {"NAP"}
    assert {(r["period_from"], r["period_to"]) for r in table} == {(str(start), str(today))}

    def row(measure, key=""):
        (found,) = [r for r in table if r["measure"] == measure and r["key"] == key]
        return (
            found["count"],
            found["denominator"],
            found["denominator_is"],
            found["share_percent"],
        )

    assert row("records_approved") == ("7", "", "", "")
    assert row("trial_suggested") == ("6", "7", "records_approved", "85.7")
    assert row("referred") == ("4", "6", "trial_suggested", "66.7")
    assert row("screened") == ("3", "6", "trial_suggested", "50.0")
    assert row("enrolled") == ("1", "6", "trial_suggested", "16.7")
    assert row("screen_fail_reason", "organ_function") == (
        "2",
        "3",
        "screen_failed_referrals",
        "66.7",
    )
    assert row("screen_fail_reason", "slot_unavailable") == (
        "0",
        "3",
        "screen_failed_referrals",
        "0.0",
    )
    assert row("advice_followed", "no") == ("1", "3", "cases_with_answer", "33.3")
    assert row("advice_not_answered") == ("4", "7", "records_approved", "57.1")
    assert row("trial_suggested_count", "NAXI") == ("2", "6", "trial_suggested", "33.3")
    assert row("trial_enrolled_count", "CRISP") == ("1", "3", "cases_trial_suggested_to", "33.3")
    assert len(table) == 5 + 8 + 3 + 1 + 3 + 1
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "report.trial_outcomes_csv")
    )
    assert entry.details["rows"] == len(table) and entry.details["to"] == str(today)


def test_the_csv_of_a_period_without_records_and_of_all_time(
    app, client, make_user, login, scenario, db_session
):
    both = make_user(roles=[("NAP", "coordinator"), ("ECMC-NORTH", "coordinator")])
    login(client, both)
    resp = client.get("/reports/trials.csv?start=2001-01-01&end=2001-01-31")
    assert (
        'filename="panel-trial-outcomes-2001-01-01-to-2001-01-31.csv"'
        in (resp.headers["Content-Disposition"])
    )
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["panel"] for r in table} == {"NAP", "ECMC-NORTH"}
    shares = {r["share_percent"] for r in table if r["measure"] != "records_approved"}
    assert shares == {""}  # no share of zero cases
    resp = client.get("/reports/trials.csv?period=all&panel=ECMC-NORTH")
    assert (
        f'filename="panel-trial-outcomes-all-to-{_today()}.csv"'
        in (resp.headers["Content-Disposition"])
    )
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["panel"] for r in table} == {"ECMC-NORTH"} and table[0]["period_from"] == ""


def test_csv_cells_are_escaped(world, db_session):
    """A trial code or title a spreadsheet would read as a formula is quoted."""
    c = world.case()
    world.approve(c, [{"trial_id": "=HYPERLINK(1)", "title": "+evil"}], 1)
    db_session.commit()
    period = Period(_today() - timedelta(days=5), _today())
    rows = outcomes.trial_outcomes([_panel(db_session, "NAP")], period)
    text, _ = outcomes.outcomes_csv(rows, period)
    assert "'=HYPERLINK(1)" in text and "'+evil" in text

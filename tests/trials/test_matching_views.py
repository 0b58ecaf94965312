"""The trial suggestions of a case (the partial for the case page): verdicts, distances, the
missing information, studies, closed trials, who may see them, the one-step request for the
missing information, and a registry cache that follows trial changes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.models import AuditEntry
from panel.trials.models import Trial
from tests.support.factories import example
from tests.support.web import post_form

HX = {"HX-Request": "true"}

#: Hand-worked for the ALK example case (referred from NEWCASTLE; see test_engine.py).
ALK_ROWS = [
    ("CRISP", "eligible", "131 km"),
    ("NAXITAMAB-201", "eligible", "131 km"),
    ("NANT-LORLATINIB", "eligible", "415 km"),
    ("MINIVAN", "eligible", "450 km"),
    ("ESMART", "ineligible", "0 km"),
    ("VERITAS", "ineligible", "173 km"),
]


def _rows(html: str) -> list[tuple[str, str, str]]:
    out = []
    for trial, verdict, body in re.findall(
        r'data-testid="match-row" data-trial="([^"]+)" data-verdict="([^"]+)">(.*?)</tr>',
        html,
        re.S,
    ):
        km = (
            re.search(r'data-testid="distance">\s*(?:<strong>)?([^<]+?)(?:</strong>|<)', body)
            .group(1)
            .strip()
        )
        out.append((trial, verdict, km))
    return out


def _results(html: str, trial: str) -> dict[str, str]:
    body = re.search(rf'data-trial="{re.escape(trial)}" data-verdict=".*?</tr>', html, re.S).group(
        0
    )
    return dict(re.findall(r'data-criterion="([^"]+)" data-result="([^"]+)"', body))


def test_case_partial_shows_the_hand_worked_verdicts(
    app, client, people, trials_loaded, make_case, login
):
    """Does the ALK example show CRISP, NAXITAMAB-201, NANT-LORLATINIB and MINIVAN eligible at
    131, 131, 415 and 450 km, ESMART and VERITAS ineligible, and SMPAEDS not proposed?"""
    case = make_case(people["referrer"])
    login(client, people["nap_coordinator"])
    resp = client.get(f"/trials/case/{case.reference}", headers=HX)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<html" not in html  # the partial alone, for htmx
    assert _rows(html) == ALK_ROWS
    assert _results(html, "VERITAS") == {
        "V1": "met",
        "V2": "not_met",
        "V3": "met",
        "V4": "met",
        "V5": "not_met",
        "V6": "met",
    }
    assert _results(html, "NANT-LORLATINIB")["L5"] == "not_met"  # info: shown, never decides
    assert "The matcher suggests; eligibility is confirmed by the trial site." in html
    assert "The Royal Marsden" in html and "Leeds" in html
    assert 'data-testid="beyond-travel"' not in html  # the family travels up to 500 km
    studies = re.search(r'data-testid="studies">(.*?)</div>', html, re.S).group(1)
    assert (
        "Included in the Neuroblastoma Epidemiological Study unless the family opts out." in studies
    )
    assert "SMPAEDS" not in studies and "consider molecular profiling" not in studies
    assert 'data-testid="not-recruiting"' not in html
    # The same page without htmx is a page of its own.
    page = client.get(f"/trials/case/{case.reference}").get_data(as_text=True)
    assert "<html" in page and _rows(page) == ALK_ROWS


def test_partial_says_when_a_site_is_beyond_the_travel_limit(
    app, client, people, trials_loaded, make_case, login
):
    doc = example()
    doc["family"]["max_travel_km"] = 200
    case = make_case(people["referrer"], doc)
    login(client, people["referrer"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    beyond = {
        t
        for t, body in re.findall(
            r'data-trial="([^"]+)" data-verdict="[^"]+">(.*?)</tr>', html, re.S
        )
        if 'data-testid="beyond-travel"' in body and "beyond the family's travel limit" in body
    }
    assert beyond == {"NANT-LORLATINIB", "MINIVAN"}  # 415 and 450 km; the others are within 200
    assert _rows(html)[:4] == ALK_ROWS[:4]  # the verdicts do not change


def test_possible_trials_list_the_missing_information_and_profiling_is_suggested(
    app, client, people, trials_loaded, make_case, login
):
    """When the current response and the profiling are unknown, do the trials that need them
    become 'possible' with what is missing, and is molecular profiling suggested?"""
    doc = example()
    del doc["response"]["current"]
    doc["biology"]["profiling_at_relapse"] = "not_done"
    case = make_case(people["referrer"], doc)
    login(client, people["nap_coordinator"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    rows = {t: v for t, v, _ in _rows(html)}
    assert rows["NAXITAMAB-201"] == "possible"
    assert _results(html, "NAXITAMAB-201")["N5"] == "unknown"
    body = re.search(r'data-trial="NAXITAMAB-201".*?</tr>', html, re.S).group(0)
    assert re.search(
        r"Needs:.*Current overall response.*N5: Not progressing at the moment", body, re.S
    )
    assert "Not yet profiled at relapse" not in html
    assert (
        "Profiling at relapse not recorded: consider molecular profiling (Stratified Medicine Paediatrics)."
        in html
    )


def test_profiling_is_suggested_when_not_yet_done(
    app, client, people, trials_loaded, make_case, login
):
    doc = example()
    doc["biology"]["profiling_at_relapse"] = "pending"
    case = make_case(people["referrer"], doc)
    login(client, people["referrer"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert (
        "Not yet profiled at relapse: consider molecular profiling (Stratified Medicine Paediatrics)."
        in html
    )


def test_opted_out_family_is_said_so(app, client, people, trials_loaded, make_case, login):
    doc = example()
    doc["family"]["epidemiology_study_opt_out"] = True
    case = make_case(people["referrer"], doc)
    login(client, people["referrer"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert "The family opted out of the Neuroblastoma Epidemiological Study." in html
    assert "unless the family opts out" not in html


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("referrer", 200),
        ("nap_coordinator", 200),
        ("nap_member", 200),
        ("other_referrer", 404),
        ("north_coordinator", 404),
        ("admin", 404),
    ],
)
def test_who_sees_a_cases_suggestions(
    app, client, people, trials_loaded, make_case, login, who, status
):
    """Are the suggestions shown exactly to those who may see the case (404 otherwise)?"""
    case = make_case(people["referrer"])
    login(client, people[who])
    assert client.get(f"/trials/case/{case.reference}", headers=HX).status_code == status
    assert client.get(f"/trials/case/{case.reference}").status_code == status


def test_unknown_case_is_404(app, client, people, trials_loaded, login):
    login(client, people["nap_coordinator"])
    assert client.get("/trials/case/NB-2026-9999", headers=HX).status_code == 404


def test_closed_and_suspended_trials_are_listed_as_such_and_the_cache_follows(
    app, client, people, trials_loaded, make_case, login, db_session
):
    """After CRISP closes, is it gone from the matches and listed as not recruiting, on the very
    next request (the compiled registry is refreshed)?"""
    from panel.trials.registry import update_trial

    case = make_case(people["referrer"])
    login(client, people["nap_coordinator"])
    assert (
        _rows(client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True))
        == ALK_ROWS
    )
    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    update_trial(
        crisp, {"status": "closed"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    veritas = db_session.scalar(select(Trial).where(Trial.code == "VERITAS"))
    update_trial(
        veritas,
        {"status": "suspended"},
        by=people["nap_coordinator"],
        expected_version=veritas.version,
    )
    db_session.commit()
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert [r[0] for r in _rows(html)] == ["NAXITAMAB-201", "NANT-LORLATINIB", "MINIVAN", "ESMART"]
    closed = re.search(r'data-testid="not-recruiting">(.*?)</div>', html, re.S).group(1)
    assert re.search(r"Closed</span> <span class=\"fw-semibold\">CRISP", closed)
    assert re.search(r"Suspended</span> <span class=\"fw-semibold\">VERITAS", closed)


def test_coordinator_asks_the_referrer_for_the_missing_information_in_one_step(
    app, client, people, trials_loaded, make_case, login, db_session
):
    """Does one button send one question per unknown criterion (worded from its label and the
    missing fields) and put the case in 'information requested'?"""
    doc = example()
    del doc["response"]["current"]
    doc["disease"]["bone_marrow_pct"] = None
    case = make_case(people["referrer"], doc)

    login(client, people["nap_member"])
    member_view = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert 'data-testid="ask-button"' not in member_view
    assert (
        post_form(app, client, f"/trials/case/{case.reference}/request-information").status_code
        == 403
    )

    coordinator = app.test_client()
    login(coordinator, people["nap_coordinator"])
    html = coordinator.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert "Ask the referrer for the missing information" in html
    resp = post_form(app, coordinator, f"/trials/case/{case.reference}/request-information")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case.reference}")
    db_session.expire_all()
    assert case.status == CaseStatus.INFO_REQUESTED
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "case.info_requested"))
    questions = entry.details["questions"]
    assert questions == [
        "For the trial NAXITAMAB-201, to check \u201cNot progressing at the moment\u201d, please give: Current overall response.",
    ]
    # Now the case is no longer "submitted": no button.
    again = coordinator.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert 'data-testid="ask-button"' not in again


def test_no_button_when_nothing_is_missing(app, client, people, trials_loaded, make_case, login):
    case = make_case(people["referrer"])
    login(client, people["nap_coordinator"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    assert 'data-testid="ask-button"' not in html


def test_case_matches_payload_is_the_cli_shape(app, db_session, people, trials_loaded, make_case):
    from panel.trials.matching import case_matches_payload

    case = make_case(people["referrer"])
    out = case_matches_payload(case)
    assert set(out) == {"case", "matches"}
    assert [(m["trial"], m["verdict"], m["distance_km"]) for m in out["matches"]] == [
        (t, v, int(km.split()[0])) for t, v, km in ALK_ROWS
    ]


def test_compiled_registry_is_reused_until_a_trial_changes(
    app, db_session, people, trials_loaded, count_queries, make_case
):
    """Is the registry compiled once and then only checked with one cheap query per call?"""
    from panel.trials import matching
    from panel.trials.registry import update_trial

    case = make_case(people["referrer"])
    first = matching.current_registry()
    with count_queries() as q:
        again = matching.current_registry()
    assert again is first and len(q) == 1
    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    update_trial(
        crisp,
        {"title": "CRISP renamed"},
        by=people["nap_coordinator"],
        expected_version=crisp.version,
    )
    db_session.flush()
    fresh = matching.current_registry()
    assert fresh is not first
    assert next(t for t in fresh.trials if t.id == "CRISP").title == "CRISP renamed"
    assert [m.trial_id for m in matching.matches_for_case(case)][0] == "CRISP"


def test_info_criterion_is_shown_as_information_on_the_page(
    app, client, people, trials_loaded, make_case, login
):
    """Does the case page show NANT-LORLATINIB's "prior ALK inhibitor (allowed)" with an info
    icon (not a red cross), and count "0 not met" for the eligible trial?"""
    case = make_case(people["referrer"])
    login(client, people["nap_coordinator"])
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    row = re.search(r'data-trial="NANT-LORLATINIB" data-verdict="eligible">(.*?)</tr>', html, re.S)
    body = row.group(1)
    l5 = re.search(r'<li class="([^"]+)"[^>]*data-criterion="L5"[^>]*>(.*?)</li>', body, re.S)
    assert l5.group(1) == "result-info"
    assert 'aria-label="for information"' in l5.group(2)
    assert "result-not-met" not in body
    tally = re.search(r'data-testid="criteria-tally">([^<]+)<', body).group(1)
    assert "4 met, 0 not met, 0 unknown, 1 for information" in tally

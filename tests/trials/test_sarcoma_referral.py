"""Issue 20, done when: a sarcoma case can be referred to an ECMC panel and matched against a
tumour-agnostic rule. End to end: the demo's relapsed alveolar rhabdomyosarcoma (an EML4::ALK
fusion found at relapse) is created and submitted through the operations as a panel-case/2
document, then matched by the registry the database holds (the packaged trials plus the
FICTIONAL tumour-agnostic test trials), on the web page and through the API."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

FICTIONAL = Path(__file__).parent / "data" / "trials-fictional-agnostic.json"
PACKAGED = Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json"


def _rhabdomyosarcoma() -> dict:
    text = resources.files("panel.data.demo_cases").joinpath("case-ecmc-rhabdomyosarcoma.json")
    return json.loads(text.read_text())


@pytest.fixture
def sarcoma_case(db_session, make_user):
    from panel.cases import operations as ops
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry(PACKAGED)  # the suite's own registry (trials-open.json) has no tumour scopes
    load_registry(FICTIONAL)
    referrer = make_user(referrer_at="NEWCASTLE")
    case = ops.create_case(_rhabdomyosarcoma(), by=referrer).case
    ops.submit_case(case, by=referrer)
    db_session.commit()
    clear_cache()
    return case, referrer


def test_the_sarcoma_is_referred_to_ecmc_and_matches_the_tumour_agnostic_rule(sarcoma_case):
    from panel.trials.engine import ELIGIBLE, INELIGIBLE
    from panel.trials.matching import case_matching

    case, _ = sarcoma_case
    assert case.panel.code == "ECMC-NORTH" and case.status.value == "submitted"
    assert case.tumour == {"morphology": "8920/3"} and case.iccc.subgroup == "IXa"
    matching = case_matching(case)
    by_id = {m.trial_id: m for m in matching.matches}
    alk = by_id["FICTIONAL-ALK"]
    assert alk.verdict == ELIGIBLE, [(c.criterion_id, c.result) for c in alk.criteria]
    # The neuroblastoma trials and studies say why the sarcoma is outside them (evaluated
    # whatever their status: most packaged trials are not known to be open).
    from panel.trials.engine import match_case
    from panel.trials.matching import case_data, centre_index

    everything = match_case(
        case_data(case),
        [*matching.registry.trials, *matching.registry.studies, *matching.not_recruiting],
        centre_index(),
    )
    scoped = [m for m in everything if m.out_of_scope]
    assert scoped and all(m.verdict == INELIGIBLE for m in scoped)
    assert "FICTIONAL-ALK" not in {m.trial_id for m in scoped}
    assert all("Alveolar rhabdomyosarcoma" in m.criteria[0].label for m in scoped)


def test_the_case_page_and_the_matches_payload_show_it(app, client, login, sarcoma_case):
    from panel.trials.matching import case_matches_payload

    case, referrer = sarcoma_case
    login(client, referrer)
    page = client.get(f"/cases/{case.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Alveolar rhabdomyosarcoma" in html
    # The neuroblastoma epidemiological study is not offered for a sarcoma.
    assert not case.is_neuroblastoma and not case.can_record_study_choice(referrer)
    assert "Epidemiological Study" not in html
    verdicts = {m["trial"]: m["verdict"] for m in case_matches_payload(case)["matches"]}
    assert verdicts["FICTIONAL-ALK"] == "eligible"


def test_the_nap_refuses_the_sarcoma_with_a_clear_message(db_session, make_user):
    """The same document sent to the national neuroblastoma panel is refused, naming the panel,
    the tumour and the panels that would take it; nothing is saved."""
    from sqlalchemy import func, select

    from panel.cases import operations as ops
    from panel.cases.models import Case

    referrer = make_user(referrer_at="NEWCASTLE")
    doc = {**_rhabdomyosarcoma(), "panel": "NAP"}
    before = db_session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(ops.InvalidCase) as refused:
        ops.create_case(doc, by=referrer)
    problem = refused.value.problems[0]
    assert problem.field == "panel"
    assert "takes neuroblastoma only" in problem.message
    assert "rhabdomyosarcoma (8920/3)" in problem.message
    assert "ECMC-NORTH" in problem.message
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Case)) == before

"""The packaged registry (panel/data/trials.json) says what public sources say
(../shared/domain/trials-status.md): no trial is open without a source, closed trials are
closed, unknown statuses are unknown, BEACON2 and LuDO-N are in, Naxitamab 201 has the criteria
the sources add."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from panel.trials.engine import evaluate_condition, load_centres, load_trials, match_case

DATA = Path(__file__).parent / "data"

EXPECTED_STATUS = {
    "NAXITAMAB-201": "unknown",
    "VERITAS": "closed",
    "ESMART": "closed",
    "NANT-LORLATINIB": "closed",
    "CRISP": "unknown",
    "MINIVAN": "closed",
    "BEACON2": "open",
    "LUDO-N": "unknown",  # recruiting in Feb 2025 (no day), not confirmed since
    # Tumour-agnostic (ALK fusion): recruiting in May 2023 (ClinicalTrials.gov), not since.
    "GO42286": "unknown",
}


@pytest.fixture(scope="module")
def packaged() -> dict:
    return {t["id"]: t for t in load_trials() if not t.get("is_study")}


def test_statuses_follow_the_public_sources(packaged):
    assert {k: t["status"] for k, t in packaged.items()} == EXPECTED_STATUS
    for t in packaged.values():
        assert t["status_source"] and "factsheet (open" not in t["status_source"]
    assert "2025-09-16" == packaged["ESMART"]["status_verified_on"]
    assert packaged["BEACON2"]["registry_ids"][0] == "ISRCTN12532102"
    assert packaged["LUDO-N"]["registry_ids"] == ["NCT04903899"]
    # Sites nobody confirmed are not guessed: LuDO-N's UK centres come from the sync.
    assert packaged["LUDO-N"]["sites"] == [] and packaged["BEACON2"]["sites"] == ["OXFORD"]


def test_studies_are_not_presented_as_open():
    """The epidemiological study is probably closed (unverified), SMPaeds unconfirmed: both
    unknown, with their sources; neither is matched."""
    studies = {t["id"]: t for t in load_trials() if t.get("is_study")}
    assert {k: t["status"] for k, t in studies.items()} == {
        "NB-EPIDEMIOLOGY": "unknown",
        "SMPAEDS": "unknown",
    }
    assert "probably closed" in studies["NB-EPIDEMIOLOGY"]["status_source"]
    import json

    doc = json.loads((DATA / "case-example-alk.json").read_text())
    assert match_case(doc, list(studies.values()), load_centres()) == []


def test_every_new_criterion_says_where_it_comes_from(packaged):
    for code in ("BEACON2", "LUDO-N"):
        trial = packaged[code]
        sources_note = next(n for n in trial["notes"] if n.startswith("Criteria sources"))
        for c in trial["criteria"]:
            assert c["source"] in ("registry", "assumed")
            assert c["id"] in sources_note or "-" in sources_note
    assert [c["id"] for c in packaged["BEACON2"]["criteria"] if c["source"] == "assumed"] == [
        "B3",
        "B4",
    ]


def _criterion(trial: dict, cid: str) -> dict:
    return next(c for c in trial["criteria"] if c["id"] == cid)


def test_naxitamab_relapse_needs_an_incomplete_response_to_salvage(packaged):
    n9 = _criterion(packaged["NAXITAMAB-201"], "N9")

    def case(category, phases, response):
        return {
            "status": {"category": category},
            "treatment": {"lines": [{"phase": p} for p in phases]},
            "response": {"current": {"overall": response}},
        }

    assert evaluate_condition(case("refractory", [], None), n9) is True
    assert evaluate_condition(case("relapsed", ["induction", "salvage"], "PR"), n9) is True
    assert evaluate_condition(case("relapsed", ["induction", "salvage"], "SD"), n9) is True
    assert evaluate_condition(case("relapsed", ["induction", "salvage"], "PD"), n9) is False
    assert evaluate_condition(case("relapsed", ["induction", "salvage"], "CR"), n9) is False
    assert evaluate_condition(case("relapsed", ["induction"], "PR"), n9) is False  # no salvage
    assert evaluate_condition(case("relapsed", ["induction", "salvage"], None), n9) is None
    n10 = _criterion(packaged["NAXITAMAB-201"], "N10")
    assert evaluate_condition({"fitness": {"life_expectancy_months": 6}}, n10) is True
    assert evaluate_condition({"fitness": {"life_expectancy_months": 5}}, n10) is False
    assert _criterion(packaged["NAXITAMAB-201"], "N7")["source"] == "registry"  # age >= 12 m


def test_only_open_trials_are_matched_from_the_packaged_registry(packaged):
    import json

    centres = load_centres()
    for name in ("case-example-alk.json", "case-example-refractory.json"):
        doc = json.loads((DATA / name).read_text())
        found = match_case(doc, list(packaged.values()), centres)
        assert {m.trial_id for m in found} <= {"BEACON2", "LUDO-N"}
        assert all(m.status == "open" for m in found)
    # A closed copy of an open trial is never matched.
    closed = copy.deepcopy(packaged["BEACON2"]) | {"status": "closed"}
    assert match_case(doc, [closed], centres) == []


def test_the_case_page_with_the_packaged_registry(
    app, client, db_session, people, make_case, login, monkeypatch
):
    """With the true registry, the ALK case is offered BEACON2 only, saying its status was not
    checked recently; every other trial (LuDO-N too: recruiting in Feb 2025, not confirmed
    since) and both studies are listed as not recruiting or unknown, with their sources."""
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    load_registry(Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json")
    db_session.commit()
    clear_cache()
    case = make_case(people["referrer"])
    login(client, people["nap_coordinator"])
    html = client.get(f"/trials/case/{case.reference}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    offered, left_out = html.split('data-testid="not-recruiting"')
    assert 'data-trial="BEACON2"' not in left_out and "BEACON2" in offered
    assert "Status not checked since 11 Mar 2025" in offered
    assert 'data-trial="LUDO-N"' not in offered  # its source gave only a month, long ago
    for code in EXPECTED_STATUS:
        if EXPECTED_STATUS[code] != "open":
            assert f'data-trial="{code}"' in left_out
    assert 'data-trial="NB-EPIDEMIOLOGY"' in left_out and "probably closed" in left_out
    assert "VERITAS" not in offered


def test_every_criterion_carries_its_source_and_source_text():
    """Every criterion of every trial and study says where it comes from and quotes (or closely
    paraphrases) the text it was written from; where no source read gave the words it says so
    ("assumed: not in the sources read"), never an invented quote."""
    prefixes = (
        "Factsheet",
        "Public records, read 2025-2026 (trials-status.md)",
        "Public records, read 7 December 2026 (the trial's notes)",
        "assumed: not in the sources read",
    )
    seen = 0
    for trial in load_trials():
        for c in trial["criteria"]:
            where = f"{trial['id']} {c['id']}"
            assert c.get("source") in ("factsheet", "registry", "assumed"), where
            text = c.get("source_text")
            assert isinstance(text, str) and text.strip(), where
            assert text.startswith(prefixes), where
            if c["source"] == "assumed":
                assert text.startswith("assumed: not in the sources read"), where
            if c["source"] == "factsheet":
                assert text.startswith("Factsheet"), where
            if not text.startswith("assumed"):
                assert '"' in text, f"{where}: a quote of the source"
            seen += 1
    assert seen == 62  # 50, 7 tumour scopes (neuroblastoma) and GO42286's 5

"""Tests of the trial-eligibility rules engine (``panel.trials.engine``) and its field table.

The expected verdicts of the two example cases were worked out by hand from ``trials.json``
(criterion by criterion) and are written literally below; distances were computed separately with
the spherical law of cosines (not haversine) and are checked against a third, chord-based
formula in the tests.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.caseformat import fields as F
from panel.trials.engine import (
    CentreIndex,
    CompiledTrial,
    TrialDefinitionError,
    TrialMatch,
    compile_condition,
    compile_trial,
    compile_trials,
    evaluate_condition,
    evaluate_trial,
    haversine_km,
    is_study,
    load_centres,
    load_trials,
    match_case,
    validate_trial,
    validate_trials,
)

DATA = Path(__file__).parent / "data"
PROP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


#: The six factsheet trials as first typed in, all open: the hand-worked expectations below
#: were written for them. The packaged registry (most trials now closed, BEACON2 and LuDO-N
#: added) is checked in test_packaged_registry.py.
FACTSHEET_REGISTRY = Path(__file__).parents[1] / "support" / "trials-open.json"


@pytest.fixture(scope="module")
def registry() -> list[dict[str, Any]]:
    return load_trials(FACTSHEET_REGISTRY)


@pytest.fixture(scope="module")
def centres() -> list[dict[str, Any]]:
    return load_centres()


@pytest.fixture(scope="module")
def codes(centres: list[dict[str, Any]]) -> frozenset[str]:
    return frozenset(c["code"] for c in centres)


@pytest.fixture()
def alk_case() -> dict[str, Any]:
    return _load("case-example-alk.json")


@pytest.fixture()
def refractory_case() -> dict[str, Any]:
    return _load("case-example-refractory.json")


def _trial(registry: list[dict[str, Any]], tid: str) -> dict[str, Any]:
    return next(t for t in registry if t["id"] == tid)


# =============================================================================================
# Hand-worked verdicts: every trial and study of trials.json, for both example cases
# =============================================================================================

# ALK case: NEWCASTLE, relapsed (metastatic), age 52 months, high risk, INRG M, sites bone + bone
# marrow, mIBG avid now (FDG-PET not_done = unknown), marrow 10 %, current response SD, ALK
# mutation F1174L, no prior ALK inhibitor ([]), prior HDC [BUMEL], profiling done,
# other_alterations [] (known: none), Lansky 80, max travel 500 km.
EXPECTED_ALK: dict[str, tuple[str, dict[str, str]]] = {
    "NAXITAMAB-201": (
        "eligible",
        {
            "N1": "met",  # relapsed is in [refractory, relapsed]
            "N2": "met",  # sites contain bone
            "N3": "met",  # any_of: mIBG avid is true (FDG-PET not_done is unknown, marrow 10 > 0)
            "N4": "met",
            "N5": "met",  # exclusion "current PD": current is SD -> condition false -> met
            "N6": "met",  # exclusion: no site outside bone/marrow -> condition false -> met
            "N7": "met",  # 52 >= 12
            "N8": "met",  # 80 >= 50
        },
    ),
    "VERITAS": (
        "ineligible",
        {
            "V1": "met",
            "V2": "not_met",  # relapsed, not refractory
            "V3": "met",
            "V4": "met",  # end-of-induction mIBG avid
            "V5": "not_met",  # exclusion "prior HDC exists": [BUMEL] is non-empty -> excluded
            "V6": "met",
        },
    ),
    "ESMART": (
        "ineligible",
        {
            "E1": "met",
            "E2": "met",  # profiling done
            "E3": "not_met",  # other_alterations [] is known "none" -> exists is false
            "E4": "met",  # 52 < 216
            "E5": "met",  # 80 >= 70
        },
    ),
    "NANT-LORLATINIB": (
        "eligible",
        {
            "L1": "met",
            "L2": "met",
            "L3": "met",
            "L4": "met",  # exclusion on CNS sites: none -> met
            "L5": "not_met",  # info: no prior ALK inhibitor ([]); info never decides the verdict
        },
    ),
    "CRISP": (
        "eligible",
        {
            "C1": "met",
            "C2": "met",
            "C3": "met",  # 12 <= 52 <= 263 (inclusive)
            "C4": "met",  # exclusion: [] contains no CRIZOTINIB -> condition false -> met
        },
    ),
    "MINIVAN": ("eligible", {"M1": "met", "M2": "met", "M3": "met", "M4": "met"}),
    "NB-EPIDEMIOLOGY": ("eligible", {"X1": "met", "X2": "met"}),  # 52 < 480
    "SMPAEDS": (
        "ineligible",
        {
            "S1": "met",
            "S2": "not_met",  # "profiling ne done": it is done -> false
        },
    ),
}

# Refractory case: BRISTOL, refractory, age 46 months, high risk, INRG M, sites bone + marrow,
# mIBG avid at diagnosis, end of induction and now, marrow 3 %, current response MR, ALK wild
# type, prior HDC [] (none), profiling not_done (an unknown word!), other_alterations [],
# Lansky 80, no travel limit.
EXPECTED_REFRACTORY: dict[str, tuple[str, dict[str, str]]] = {
    "NAXITAMAB-201": (
        "eligible",
        {
            "N1": "met",
            "N2": "met",
            "N3": "met",
            "N4": "met",
            "N5": "met",  # MR is not PD
            "N6": "met",
            "N7": "met",
            "N8": "met",
        },
    ),
    "VERITAS": (
        "eligible",
        {
            "V1": "met",
            "V2": "met",
            "V3": "met",
            "V4": "met",
            "V5": "met",  # prior_hdc [] is known "none": exists false -> not excluded
            "V6": "met",
        },
    ),
    "ESMART": (
        "ineligible",
        {
            "E1": "met",
            "E2": "unknown",  # profiling_at_relapse "not_done" means unknown to the matcher
            "E3": "not_met",  # [] -> no alteration -> decides ineligible despite E2
            "E4": "met",
            "E5": "met",
        },
    ),
    "NANT-LORLATINIB": (
        "ineligible",
        {
            "L1": "not_met",  # wild type
            "L2": "met",
            "L3": "met",
            "L4": "met",
            "L5": "not_met",  # info
        },
    ),
    "CRISP": ("ineligible", {"C1": "not_met", "C2": "met", "C3": "met", "C4": "met"}),
    "MINIVAN": ("eligible", {"M1": "met", "M2": "met", "M3": "met", "M4": "met"}),
    "NB-EPIDEMIOLOGY": ("eligible", {"X1": "met", "X2": "met"}),
    "SMPAEDS": (
        "possible",
        {
            "S1": "met",
            "S2": "unknown",  # "ne done" on "not_done" (unknown) -> unknown -> possible
        },
    ),
}

# (trial, verdict, distance_km) in match order. Distances were computed by hand with the
# spherical law of cosines from centres.json (see test_distance_literals).
ORDER_ALK = [
    ("CRISP", "eligible", 131),  # nearest site LEEDS 131; ties with NAXITAMAB by id
    ("NAXITAMAB-201", "eligible", 131),  # LEEDS 131
    ("NANT-LORLATINIB", "eligible", 415),  # ROYAL_MARSDEN 415
    ("MINIVAN", "eligible", 450),  # all: UCLH 397, SOUTHAMPTON 450 -> farthest 450
    ("NB-EPIDEMIOLOGY", "eligible", None),  # study: no sites, distance unknown -> last
    ("ESMART", "ineligible", 0),  # NEWCASTLE itself is a site
    ("VERITAS", "ineligible", 173),  # MANCHESTER 173
    ("SMPAEDS", "ineligible", None),
]
ORDER_REFRACTORY = [
    ("VERITAS", "eligible", 0),  # BRISTOL is a site
    ("NAXITAMAB-201", "eligible", 100),  # SOUTHAMPTON 99.9 -> 100
    ("MINIVAN", "eligible", 171),  # all: SOUTHAMPTON 100, UCLH 171 -> 171
    ("NB-EPIDEMIOLOGY", "eligible", None),
    ("SMPAEDS", "possible", None),
    ("ESMART", "ineligible", 124),  # BIRMINGHAM 124
    ("CRISP", "ineligible", 168),  # ROYAL_MARSDEN 168; ties by id with NANT-LORLATINIB
    ("NANT-LORLATINIB", "ineligible", 168),
]


def test_expectations_cover_the_whole_registry(registry: list[dict[str, Any]]) -> None:
    """Does every trial and study of the registry have a hand-worked expectation (and only them)?"""
    ids = {t["id"] for t in registry}
    assert ids == set(EXPECTED_ALK) == set(EXPECTED_REFRACTORY)
    for t in registry:
        crit_ids = [c["id"] for c in t["criteria"]]
        assert crit_ids == list(EXPECTED_ALK[t["id"]][1]) == list(EXPECTED_REFRACTORY[t["id"]][1])


@pytest.mark.parametrize(
    ("case_name", "expected"),
    [
        ("case-example-alk.json", EXPECTED_ALK),
        ("case-example-refractory.json", EXPECTED_REFRACTORY),
    ],
)
@pytest.mark.parametrize("trial_id", sorted(EXPECTED_ALK))
def test_hand_worked_verdicts(
    registry: list[dict[str, Any]],
    centres: list[dict[str, Any]],
    case_name: str,
    expected: dict[str, tuple[str, dict[str, str]]],
    trial_id: str,
) -> None:
    """Does each example case get the hand-worked verdict and criterion results for each trial?"""
    case = _load(case_name)
    match = evaluate_trial(case, _trial(registry, trial_id), centres)
    verdict, per_criterion = expected[trial_id]
    assert {c.id: c.result for c in match.criteria} == per_criterion
    assert match.verdict == verdict


@pytest.mark.parametrize(
    ("case_name", "order"),
    [("case-example-alk.json", ORDER_ALK), ("case-example-refractory.json", ORDER_REFRACTORY)],
)
def test_match_order(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], case_name: str, order: list
) -> None:
    """Are matches ordered eligible/possible/ineligible, nearest first, then by trial id?"""
    got = [
        (m.trial_id, m.verdict, m.distance_km)
        for m in match_case(_load(case_name), registry, centres)
    ]
    assert got == order


def test_refractory_missing_information(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], refractory_case: dict
) -> None:
    """Does a possible match list the unknown criterion with the case field it needs?"""
    m = evaluate_trial(refractory_case, _trial(registry, "SMPAEDS"), centres)
    assert [(x.criterion_id, x.fields) for x in m.missing] == [
        ("S2", ("biology.profiling_at_relapse",))
    ]
    shown = m.to_display_dict()
    assert shown["missing"][0]["fields"][0]["label"] == "Molecular profiling at relapse"
    assert shown["is_study"] is True


def test_info_criterion_is_not_missing(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Does an unknown info criterion stay out of `missing` and leave the verdict alone?"""
    del alk_case["treatment"]["prior_alk_inhibitor"]
    m = evaluate_trial(alk_case, _trial(registry, "NANT-LORLATINIB"), centres)
    assert {c.id: c.result for c in m.criteria}["L5"] == "unknown"
    assert m.missing == ()
    assert m.verdict == "eligible"


def test_info_criterion_is_information_not_a_failure(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Is an "allowed / for information" criterion shown as information (never ``not_met``)
    and left out of the met / not met / unknown tally, whatever its condition says?"""
    m = evaluate_trial(alk_case, _trial(registry, "NANT-LORLATINIB"), centres)
    l5 = next(c for c in m.criteria if c.id == "L5")
    assert l5.result == "not_met"  # the condition (a prior ALK inhibitor) is false
    assert l5.informational and l5.shown == "info"
    assert m.verdict == "eligible"
    assert m.tally() == {"met": 4, "not_met": 0, "unknown": 0, "info": 1}
    shown = {c["id"]: c["shown"] for c in m.to_display_dict()["criteria"]}
    assert shown["L5"] == "info" and shown["L1"] == "met"
    assert m.to_display_dict()["tally"]["not_met"] == 0


def test_deciding_site_is_the_one_whose_km_is_the_trial_distance(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Does every surface get one site with the trial's km: the farthest site for a trial the
    child attends at every site (MINIVAN), the nearest for the others?"""
    minivan = evaluate_trial(alk_case, _trial(registry, "MINIVAN"), centres)
    assert minivan.site_view()["centre"] == "SOUTHAMPTON"
    assert minivan.site_view()["distance_km"] == minivan.distance_km == 450
    crisp = evaluate_trial(alk_case, _trial(registry, "CRISP"), centres)
    assert crisp.site_view()["distance_km"] == crisp.distance_km
    assert crisp.site_view()["label"] == "Nearest site"


def test_to_dict_shape(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Is to_dict exactly the CLI/API shape?"""
    d = evaluate_trial(alk_case, _trial(registry, "MINIVAN"), centres).to_dict()
    assert d == {
        "trial": "MINIVAN",
        "verdict": "eligible",
        "distance_km": 450,
        "sites": [
            {"centre": "UCLH", "distance_km": 397},
            {"centre": "SOUTHAMPTON", "distance_km": 450},
        ],
        "criteria": [
            {"id": "M1", "result": "met", "label": "Relapsed or refractory neuroblastoma"},
            {"id": "M2", "result": "met", "label": "mIBG-avid disease (needed for mIBG therapy)"},
            {"id": "M3", "result": "met", "label": "High-risk neuroblastoma"},
            {"id": "M4", "result": "met", "label": "No central nervous system disease"},
        ],
    }
    json.dumps(d)
    json.dumps(evaluate_trial(alk_case, _trial(registry, "MINIVAN"), centres).to_display_dict())


# =============================================================================================
# Distance
# =============================================================================================


def _chord_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle km from the straight chord between two unit vectors (independent of haversine)."""

    def unit(p: tuple[float, float]) -> tuple[float, float, float]:
        lat, lon = map(math.radians, p)
        return (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))

    chord = math.dist(unit(a), unit(b))
    return 2 * 6371 * math.asin(chord / 2)


DISTANCE_LITERALS = [
    # (from, to, km by the spherical law of cosines, rounded)
    ("NEWCASTLE", "LEEDS", 131),
    ("NEWCASTLE", "GLASGOW", 198),
    ("NEWCASTLE", "ROYAL_MARSDEN", 415),
    ("NEWCASTLE", "SOUTHAMPTON", 450),
    ("NEWCASTLE", "UCLH", 397),
    ("NEWCASTLE", "MANCHESTER", 173),
    ("BRISTOL", "SOUTHAMPTON", 100),
    ("BRISTOL", "UCLH", 171),
    ("BRISTOL", "ROYAL_MARSDEN", 168),
    ("BRISTOL", "BIRMINGHAM", 124),
    ("BRISTOL", "ABERDEEN", 634),
    ("BRISTOL", "BRISTOL", 0),
]


@pytest.mark.parametrize(("a", "b", "km"), DISTANCE_LITERALS)
def test_distance_literals(centres: list[dict[str, Any]], a: str, b: str, km: int) -> None:
    """Do engine distances match hand-computed values and an independent chord formula?"""
    pos = {c["code"]: (c["lat"], c["lon"]) for c in centres}
    index = CentreIndex(centres)
    assert index.km(a, b) == km
    assert round(_chord_km(pos[a], pos[b])) == km
    assert haversine_km(*pos[a], *pos[b]) == pytest.approx(_chord_km(pos[a], pos[b]), abs=1e-6)


@given(st.floats(-89, 89), st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180))
@PROP
def test_haversine_agrees_with_chord(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    """Does haversine agree with the chord formula anywhere on the globe?"""
    assert haversine_km(lat1, lon1, lat2, lon2) == pytest.approx(
        _chord_km((lat1, lon1), (lat2, lon2)), abs=1e-3
    )


def test_unknown_referring_centre_has_no_distance(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Does an unknown referring centre give distance None (not an error) and sort last?"""
    alk_case["referring_centre"] = "ATLANTIS"
    matches = match_case(alk_case, registry, centres)
    assert all(m.distance_km is None for m in matches)
    assert all(s.distance_km is None for m in matches for s in m.sites)
    assert [m.trial_id for m in matches][:5] == [
        "CRISP",
        "MINIVAN",
        "NANT-LORLATINIB",
        "NAXITAMAB-201",
        "NB-EPIDEMIOLOGY",
    ]
    assert next(m for m in matches if m.trial_id == "MINIVAN").beyond_travel_limit is None
    del alk_case["referring_centre"]
    assert all(m.distance_km is None for m in match_case(alk_case, registry, centres))


def test_travel_limit(
    registry: list[dict[str, Any]], centres: list[dict[str, Any]], alk_case: dict
) -> None:
    """Is a trial farther than the family's limit flagged, without changing the verdict?"""
    alk_case["family"]["max_travel_km"] = 420
    by_id = {m.trial_id: m for m in match_case(alk_case, registry, centres)}
    assert by_id["MINIVAN"].beyond_travel_limit is True  # 450 > 420
    assert by_id["MINIVAN"].verdict == "eligible"
    assert by_id["NANT-LORLATINIB"].beyond_travel_limit is False  # 415 <= 420
    assert by_id["NB-EPIDEMIOLOGY"].beyond_travel_limit is False  # no sites to travel to
    alk_case["family"]["max_travel_km"] = None  # null = no limit
    assert all(m.beyond_travel_limit is False for m in match_case(alk_case, registry, centres))


# =============================================================================================
# Three-valued logic: specific cases
# =============================================================================================


def test_missing_sections_are_unknown_not_errors(
    registry: list[dict[str, Any]], centres: list
) -> None:
    """Does a case with missing or malformed sections give unknowns rather than exceptions?"""
    for case in ({}, {"biology": "x", "disease": None, "patient": []}, None, [], "case"):
        matches = match_case(case, registry, centres)
        assert len(matches) == len(registry)
        for m in matches:
            assert all(c.result == "unknown" for c in m.criteria)
            assert m.verdict == "possible" or not m.criteria
            assert m.distance_km is None


def test_unknown_words_and_null(
    registry: list[dict[str, Any]], centres: list, alk_case: dict
) -> None:
    """Are null, 'unknown', 'not_tested' and 'not_done' all unknown?"""
    for word in (None, "unknown", "not_tested", "not_done"):
        alk_case["biology"]["alk"]["status"] = word
        m = evaluate_trial(alk_case, _trial(registry, "CRISP"), centres)
        assert m.criteria[0].result == "unknown"
        assert m.verdict == "possible"
        assert m.missing[0].fields == ("biology.alk.status",)


def test_wrong_types_are_unknown() -> None:
    """Is a value of the wrong type (or outside the value set) unknown rather than matching?"""
    age = {"field": "patient.age_now_months", "op": "gte", "value": 12}
    for bad in ("52", True, [52], {"m": 52}, float("nan"), float("inf")):
        assert evaluate_condition({"patient": {"age_now_months": bad}}, age) is None
    assert evaluate_condition({"patient": {"age_now_months": 52.0}}, age) is True
    stage = {"field": "diagnosis.inrg_stage", "op": "ne", "value": "M"}
    assert evaluate_condition({"diagnosis": {"inrg_stage": "stage 4"}}, stage) is None
    assert evaluate_condition({"diagnosis": {"inrg_stage": 4}}, stage) is None
    measurable = {"field": "disease.measurable", "op": "eq", "value": False}
    assert evaluate_condition({"disease": {"measurable": 0}}, measurable) is None
    sites = {"field": "disease.sites", "op": "contains_any", "value": ["bone"]}
    assert evaluate_condition({"disease": {"sites": "bone"}}, sites) is None


def test_list_semantics() -> None:
    """Empty list = none; unknown elements make a negative answer unknown, not a positive one."""
    any_cns = {"field": "disease.sites", "op": "contains_any", "value": ["cns_parenchyma"]}
    none_cns = {**any_cns, "op": "contains_none"}
    both = {"field": "disease.sites", "op": "contains_all", "value": ["bone", "liver"]}

    def case(sites: Any) -> dict:
        return {"disease": {"sites": sites}}

    assert evaluate_condition(case([]), any_cns) is False
    assert evaluate_condition(case([]), none_cns) is True
    assert evaluate_condition(case(["bone"]), any_cns) is False
    assert evaluate_condition(case(["bone", "brain?"]), any_cns) is None
    assert evaluate_condition(case(["cns_parenchyma", "brain?"]), any_cns) is True
    assert evaluate_condition(case(["cns_parenchyma"]), none_cns) is False
    assert evaluate_condition(case(["bone", "liver", "lung"]), both) is True
    assert evaluate_condition(case(["bone"]), both) is False
    assert evaluate_condition(case(["bone", None]), both) is None
    assert evaluate_condition(case(None), any_cns) is None


def test_exists() -> None:
    """Does exists test non-empty lists and present values, and stay unknown when unknown?"""
    hdc = {"field": "treatment.prior_hdc", "op": "exists", "value": True}
    assert evaluate_condition({"treatment": {"prior_hdc": ["BUMEL"]}}, hdc) is True
    assert evaluate_condition({"treatment": {"prior_hdc": []}}, hdc) is False
    assert evaluate_condition({"treatment": {}}, hdc) is None
    no_hdc = {**hdc, "value": False}
    assert evaluate_condition({"treatment": {"prior_hdc": []}}, no_hdc) is True
    score = {"field": "disease.curie_score", "op": "exists", "value": True}
    assert evaluate_condition({"disease": {"curie_score": 0}}, score) is True
    assert evaluate_condition({"disease": {"curie_score": None}}, score) is None
    alts = {"field": "biology.other_alterations", "op": "exists", "value": True}
    assert evaluate_condition({"biology": {"other_alterations": [{"gene": "NRAS"}]}}, alts) is True


def test_projection_paths(alk_case: dict) -> None:
    """Can rules read a key of every item of a list of objects?"""
    f1174 = {
        "field": "biology.alk.variants[].protein_change",
        "op": "contains_any",
        "value": ["F1174L", "F1174C", "F1245C"],
    }
    assert evaluate_condition(alk_case, f1174) is True
    alk_case["biology"]["alk"]["variants"] = [{"protein_change": "R1275Q"}]
    assert evaluate_condition(alk_case, f1174) is False
    alk_case["biology"]["alk"]["variants"].append({"vaf_pct": 3})  # one variant of unknown change
    assert evaluate_condition(alk_case, f1174) is None
    del alk_case["biology"]["alk"]["variants"]
    assert evaluate_condition(alk_case, f1174) is None
    regimen = {"field": "treatment.lines[].regimen", "op": "contains_any", "value": ["BUMEL"]}
    assert evaluate_condition(alk_case, regimen) is True


def test_groups_nest() -> None:
    """Do nested any_of/all_of follow Kleene logic on a worked example?"""
    cond = {
        "all_of": [
            {"field": "patient.age_now_months", "op": "between", "value": [12, 263]},
            {
                "any_of": [
                    {"field": "disease.mibg", "op": "eq", "value": "avid"},
                    {"field": "disease.fdg_pet", "op": "eq", "value": "avid"},
                ]
            },
        ]
    }
    case = {"patient": {"age_now_months": 263}, "disease": {"mibg": "non_avid"}}
    assert evaluate_condition(case, cond) is None  # True AND (False OR unknown)
    case["disease"]["fdg_pet"] = "avid"
    assert evaluate_condition(case, cond) is True
    case["patient"]["age_now_months"] = 264
    assert evaluate_condition(case, cond) is False


def test_closed_trials_are_not_matched(
    registry: list[dict[str, Any]], centres: list, alk_case: dict
) -> None:
    """Are suspended/closed trials left out of match_case but still evaluable on their own?"""
    closed = {**_trial(registry, "CRISP"), "status": "closed"}
    ids = [m.trial_id for m in match_case(alk_case, [closed, _trial(registry, "MINIVAN")], centres)]
    assert ids == ["MINIVAN"]
    assert evaluate_trial(alk_case, closed, centres).verdict == "eligible"


def test_studies(registry: list[dict[str, Any]], centres: list, alk_case: dict) -> None:
    """Are the registry's studies loaded, flagged and matched, and is an opt-out reported?"""
    studies = [t["id"] for t in registry if is_study(t)]
    assert studies == ["NB-EPIDEMIOLOGY", "SMPAEDS"]
    assert [t["id"] for t in load_trials(FACTSHEET_REGISTRY, include_studies=False)] == [
        "NAXITAMAB-201",
        "VERITAS",
        "ESMART",
        "NANT-LORLATINIB",
        "CRISP",
        "MINIVAN",
    ]
    alk_case["family"]["epidemiology_study_opt_out"] = True
    m = evaluate_trial(alk_case, _trial(registry, "NB-EPIDEMIOLOGY"), centres)
    assert m.is_study and m.family_opted_out and m.verdict == "eligible"
    assert m.sites == () and m.distance_km is None
    assert not evaluate_trial(alk_case, _trial(registry, "SMPAEDS"), centres).family_opted_out


def test_load_bare_list(tmp_path: Path, registry: list[dict[str, Any]]) -> None:
    """Does load_trials accept a bare list, and refuse an invalid registry?"""
    p = tmp_path / "trials.json"
    p.write_text(json.dumps(registry[:2]))
    assert [t["id"] for t in load_trials(p)] == ["NAXITAMAB-201", "VERITAS"]
    p.write_text(json.dumps([{**registry[0], "sites": ["NOWHERE"]}]))
    with pytest.raises(TrialDefinitionError) as err:
        load_trials(p)
    assert "NAXITAMAB-201" in err.value.errors[0] and "NOWHERE" in err.value.errors[0]


# =============================================================================================
# Validation
# =============================================================================================


def _with_criterion(registry: list[dict[str, Any]], crit: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(_trial(registry, "CRISP"))
    t["criteria"].append({"kind": "inclusion", "label": "x", "source": "assumed", **crit})
    return t


def test_packaged_registry_is_valid(registry: list[dict[str, Any]], codes: frozenset[str]) -> None:
    """Does the shipped trials.json validate without a single message?"""
    assert validate_trials(registry, codes) == []


@pytest.mark.parametrize(
    ("crit", "words"),
    [
        (
            {"id": "Q1", "field": "patient.age_now_months", "op": "older_than", "value": 3},
            ["unknown operator", "older_than"],
        ),
        (
            {"id": "Q2", "field": "patient.shoe_size", "op": "eq", "value": 3},
            ["unknown field", "patient.shoe_size"],
        ),
        (
            {"id": "Q3", "field": "patient.age_now_months", "op": "between", "value": [12]},
            ["between", "two bounds"],
        ),
        (
            {"id": "Q4", "field": "patient.age_now_months", "op": "between", "value": [30, 12]},
            ["between", "out of order"],
        ),
        (
            {"id": "Q5", "field": "biology.alk.status", "op": "eq", "value": "mutated"},
            ["'mutated'", "alk_status"],
        ),
        (
            {"id": "Q6", "field": "disease.sites", "op": "contains_any", "value": ["brain"]},
            ["'brain'", "disease_site"],
        ),
        ({"id": "Q7", "field": "patient.age_now_months", "op": "gte", "value": "12"}, ["number"]),
        (
            {"id": "Q8", "field": "diagnosis.risk_group", "op": "gt", "value": "high"},
            ["does not apply", "enum"],
        ),
        (
            {"id": "Q9", "field": "diagnosis.risk_group", "op": "eq", "value": "unknown"},
            ["means unknown"],
        ),
        (
            {"id": "Q10", "field": "clinical_question", "op": "eq", "value": "x"},
            ["cannot be used in rules"],
        ),
        (
            {
                "id": "Q11",
                "kind": "maybe",
                "field": "disease.measurable",
                "op": "eq",
                "value": True,
            },
            ["bad kind"],
        ),
        (
            {"id": "Q12", "field": "disease.measurable", "op": "eq", "value": True, "weight": 2},
            ["unknown key", "weight"],
        ),
        (
            {"id": "Q13", "any_of": [{"field": "disease.mibg", "op": "eq", "value": "shiny"}]},
            ["any_of[0]", "'shiny'"],
        ),
        ({"id": "Q14", "all_of": []}, ["all_of", "non-empty"]),
        (
            {"id": "Q15", "field": "disease.measurable", "op": "exists", "value": "yes"},
            ["true or false"],
        ),
        (
            {"id": "Q16", "field": "diagnosis.risk_group", "op": "in", "value": []},
            ["non-empty list"],
        ),
        ({"id": "Q17", "field": "disease.measurable", "op": "eq"}, ["missing 'value'"]),
        (
            {
                "id": "Q18",
                "any_of": [
                    {"field": "disease.mibg", "op": "eq", "value": "avid", "label": "nested"}
                ],
            },
            ["unknown key", "label"],
        ),
    ],
)
def test_validation_errors_name_the_criterion(
    registry: list[dict[str, Any]], codes: frozenset[str], crit: dict[str, Any], words: list[str]
) -> None:
    """Is each kind of invalid criterion refused with a message naming the trial and criterion?"""
    errors = validate_trial(_with_criterion(registry, crit), codes)
    assert len(errors) >= 1
    msg = next((e for e in errors if f"criterion {crit['id']}" in e), None)
    assert msg is not None, errors
    assert "trial CRISP" in msg
    for w in words:
        assert w in msg, (w, msg)
    with pytest.raises(TrialDefinitionError) as err:
        compile_trial(_with_criterion(registry, crit), codes)
    assert err.value.errors == errors


def test_trial_level_validation(registry: list[dict[str, Any]], codes: frozenset[str]) -> None:
    """Are bad sites, modes, statuses, unknown keys and duplicate ids refused?"""
    base = _trial(registry, "CRISP")
    cases = [
        ({**base, "sites": ["ROYAL_MARSDEN", "HOGWARTS"]}, "site 'HOGWARTS' is not a centre"),
        ({**base, "sites": "LEEDS"}, "sites must be a list"),
        ({**base, "sites_mode": "some"}, "bad sites_mode"),
        ({**base, "status": "recruiting"}, "bad status"),
        ({**base, "colour": "blue"}, "unknown key 'colour'"),
        ({**base, "status_verified_on": "yesterday"}, "ISO date"),
        ({k: v for k, v in base.items() if k != "sites_mode"}, "missing 'sites_mode'"),
        (
            {**base, "criteria": [*base["criteria"], dict(base["criteria"][0])]},
            "criterion C1: duplicate criterion id",
        ),
    ]
    for trial, words in cases:
        errors = validate_trial(trial, codes)
        assert any(words in e and e.startswith("trial CRISP") for e in errors), (words, errors)
    assert "trial CRISP: duplicate trial id" in validate_trials([base, base], codes)
    with pytest.raises(TrialDefinitionError):
        compile_trials([base, base], codes)


def test_compile_condition_refuses_bad_rules() -> None:
    """Does evaluate_condition raise TrialDefinitionError for an invalid rule (not the case)?"""
    with pytest.raises(TrialDefinitionError):
        evaluate_condition({}, {"field": "nope", "op": "eq", "value": 1})
    with pytest.raises(TrialDefinitionError):
        compile_condition({"any_of": [{"field": "disease.mibg"}], "all_of": []})


# =============================================================================================
# fields.py
# =============================================================================================


def test_field_table_covers_the_format() -> None:
    """Does fields.py hold every value set of case-format.md with labels?"""
    sets = F.VALUE_SETS
    assert sets["histology"].label_of("NB_poorly_differentiated") == (
        "Neuroblastoma, poorly differentiated"
    )
    assert F.value_label("disease.sites", "bone_marrow") == "Bone marrow"
    assert len(sets["regimen"].codes) == 23
    assert sets["disease_site"].codes[-1] == "other" and len(sets["disease_site"].codes) == 13
    for name in (
        "sex",
        "urgency",
        "treatment_phase",
        "line_response",
        "hdc",
        "anti_gd2",
        "alk_inhibitor",
        "performance_scale",
        "relapse_pattern",
        "primary_site",
        "marrow_response",
    ):
        assert all(c.label for c in sets[name].choices)
    assert F.operators_for("disease.sites") == (
        "contains_any",
        "contains_all",
        "contains_none",
        "exists",
    )
    assert "between" in F.operators_for("patient.age_now_months")
    assert F.operators_for("clinical_question") == ()
    assert F.FIELDS["biology.alk.variants[].origin"].type == "enum_list"
    json.dumps(F.describe_fields())
    json.dumps(F.describe_value_sets())


def test_every_rule_in_registry_uses_known_fields(registry: list[dict[str, Any]]) -> None:
    """Do the registry's rules only name fields of the table?"""
    for t in registry:
        for c in compile_trial(t, None).criteria:
            assert all(F.is_rule_field(p) for p in c.condition.fields)


# =============================================================================================
# Property tests
# =============================================================================================

TEXT_POOL = ["F1174L", "F1245C", "R1275Q", "NRAS", "ALK", "TP53", "Q61K"]
CENTRES = load_centres()
REGISTRY = load_trials()
CENTRE_CODES = [c["code"] for c in CENTRES]


def _element(spec: F.FieldSpec) -> st.SearchStrategy[Any]:
    """A valid (known) scalar for a field or list-element type."""
    if spec.type in ("int", "number"):
        lo = int(spec.minimum if spec.minimum is not None else 0)
        hi = int(spec.maximum if spec.maximum is not None else lo + 400)
        ints = st.integers(lo, hi)
        return ints if spec.type == "int" else ints | st.floats(lo, hi, allow_nan=False)
    if spec.type == "bool":
        return st.booleans()
    if spec.type in ("enum", "enum_list"):
        return st.sampled_from(sorted(F.VALUE_SETS[spec.value_set].known_codes))
    return st.sampled_from(TEXT_POOL)


def _rule_value(spec: F.FieldSpec, op: str) -> st.SearchStrategy[Any]:
    shape = F.OPERATORS[op].value_shape
    if shape == "bool":
        return st.booleans()
    if shape == "pair":
        return st.lists(_element(spec), min_size=2, max_size=2).map(sorted)
    if shape == "list":
        return st.lists(_element(spec), min_size=1, max_size=3)
    return _element(spec)


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(sorted(F.RULE_FIELDS)))
    spec = F.RULE_FIELDS[path]
    op = draw(st.sampled_from(spec.operators))
    return {"field": path, "op": op, "value": draw(_rule_value(spec, op))}


conditions = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(lambda xs: {"any_of": xs}),
        st.lists(children, min_size=1, max_size=4).map(lambda xs: {"all_of": xs}),
    ),
    max_leaves=8,
)

ABSENT = object()  # a field left out of the case
UNKNOWNISH = st.sampled_from([None, "unknown", "not_tested", "not_done"])
GARBAGE = st.one_of(
    st.text(max_size=4),
    st.integers(-5, 5),
    st.booleans(),
    st.just({}),
    st.just([1]),
)


def _raw_value(spec: F.FieldSpec) -> st.SearchStrategy[Any]:
    """A case value for a field: usually valid, sometimes unknown or of the wrong type."""
    if spec.type == "object_list":
        item = st.fixed_dictionaries({i.path: _raw_value(i) for i in spec.item_fields}).map(
            lambda d: {k: v for k, v in d.items() if v is not ABSENT}
        )
        valid: st.SearchStrategy[Any] = st.lists(item, max_size=3)
    elif spec.is_list:
        valid = st.lists(st.one_of(_element(spec), _element(spec), UNKNOWNISH, GARBAGE), max_size=4)
    else:
        valid = _element(spec)
    # Weighted by hand: st.one_of would weight by its (flattened) branches, drowning valid values.
    kinds = [valid] * 7 + [st.just(ABSENT), UNKNOWNISH, GARBAGE]
    return st.integers(0, len(kinds) - 1).flatmap(lambda i: kinds[i])


CASE_FIELDS = {p: s for p, s in F.FIELDS.items() if s.rule and not s.is_projection}


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    for path, v in flat.items():
        if v is ABSENT:
            continue
        cur = case
        *heads, last = path.split(".")
        for h in heads:
            cur = cur.setdefault(h, {})
        cur[last] = v
    return case


cases = st.fixed_dictionaries({p: _raw_value(s) for p, s in CASE_FIELDS.items()}).map(_nest)


def _kleene(op: str, values: list[bool | None]) -> bool | None:
    """Strong Kleene logic via the order False < unknown < True: any_of = max, all_of = min."""
    rank = {False: 0, None: 1, True: 2}
    pick = max if op == "any_of" else min
    return {0: False, 1: None, 2: True}[pick(rank[v] for v in values)]


@given(cases, st.lists(conditions, min_size=1, max_size=5), st.sampled_from(["any_of", "all_of"]))
@PROP
def test_groups_are_kleene(case: dict, parts: list[dict], op: str) -> None:
    """Do any_of/all_of agree with Kleene logic computed from the parts' own results?"""
    expected = _kleene(op, [evaluate_condition(case, p) for p in parts])
    assert evaluate_condition(case, {op: parts}) is expected


def _forget(case: dict[str, Any], path: str, how: str) -> dict[str, Any]:
    """A copy of ``case`` in which ``path`` is made unknown (removed, null or an unknown word)."""
    out = copy.deepcopy(case)
    container = F.FIELDS[path].container
    if container is not None:
        path = container
    *heads, last = path.split(".")
    cur: Any = out
    for h in heads:
        if not isinstance(cur, dict) or h not in cur:
            return out
        cur = cur[h]
    if isinstance(cur, dict):
        if how == "remove":
            cur.pop(last, None)
        else:
            cur[last] = None if how == "null" else "unknown"
    return out


@given(cases, conditions, st.data())
@PROP
def test_learning_a_value_never_flips_a_decided_result(case: dict, cond: dict, data: Any) -> None:
    """If a condition is true/false while a field is unknown, does knowing the field keep it?"""
    compiled = compile_condition(cond)
    path = data.draw(st.sampled_from(compiled.fields))
    how = data.draw(st.sampled_from(["remove", "null", "word"]))
    less = _forget(case, path, how)
    before = evaluate_condition(less, compiled)
    if before is not None:
        assert evaluate_condition(case, compiled) is before


@given(conditions)
@PROP
def test_every_condition_is_unknown_on_an_empty_case(cond: dict) -> None:
    """With nothing known (not even empty lists), is every condition unknown?"""
    assert evaluate_condition({}, cond) is None


def _criterion(cid: str, kind: str, cond: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "kind": kind, "label": cid, "source": "assumed", **cond}


def _trial_of(criteria: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {
        "id": kw.pop("id", "T"),
        "title": "t",
        "status": kw.pop("status", "open"),
        "sites": kw.pop("sites", ["LEEDS"]),
        "sites_mode": kw.pop("sites_mode", "any"),
        "criteria": criteria,
        **kw,
    }


@given(cases, conditions)
@PROP
def test_exclusion_is_the_negated_inclusion(case: dict, cond: dict) -> None:
    """Is an exclusion met exactly when the same inclusion is not met (unknown staying unknown)?"""
    trial = _trial_of(
        [
            _criterion("I", "inclusion", cond),
            _criterion("E", "exclusion", cond),
            _criterion("N", "info", cond),
        ]
    )
    got = {c.id: c.result for c in evaluate_trial(case, trial, CENTRES).criteria}
    flip = {"met": "not_met", "not_met": "met", "unknown": "unknown"}
    assert got["E"] == flip[got["I"]]
    assert got["N"] == got["I"]
    truth = evaluate_condition(case, cond)
    assert got["I"] == {True: "met", False: "not_met", None: "unknown"}[truth]


@given(
    cases,
    st.lists(
        st.tuples(st.sampled_from(["inclusion", "exclusion", "info"]), conditions), max_size=6
    ),
)
@PROP
def test_verdict_follows_criteria(case: dict, specs: list[tuple[str, dict]]) -> None:
    """Is the verdict (and the missing list) exactly what the criterion results imply?"""
    trial = _trial_of([_criterion(f"C{i}", k, c) for i, (k, c) in enumerate(specs)])
    m = evaluate_trial(case, trial, CENTRES)
    deciding = [c for c in m.criteria if c.kind != "info"]
    if any(c.result == "not_met" for c in deciding):
        assert m.verdict == "ineligible"
    elif all(c.result == "met" for c in deciding):
        assert m.verdict == "eligible"
    else:
        assert m.verdict == "possible"
    assert [x.criterion_id for x in m.missing] == [c.id for c in deciding if c.result == "unknown"]
    for x in m.missing:
        assert x.fields, "an unknown criterion names at least one field it needs"


@st.composite
def registries(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 8))
    out = []
    for i in range(n):
        crits = draw(
            st.lists(
                st.tuples(st.sampled_from(["inclusion", "exclusion", "info"]), leaves()), max_size=3
            )
        )
        out.append(
            _trial_of(
                [_criterion(f"C{j}", k, c) for j, (k, c) in enumerate(crits)],
                id=f"T{draw(st.integers(0, 99)):02d}-{i}",
                status=draw(st.sampled_from(["open", "open", "open", "suspended", "closed"])),
                sites=draw(
                    st.lists(st.sampled_from(CENTRE_CODES), min_size=1, max_size=4, unique=True)
                ),
                sites_mode=draw(st.sampled_from(["any", "all"])),
            )
        )
    return out


@given(cases, registries(), st.sampled_from([*CENTRE_CODES, None, "ATLANTIS"]), st.randoms())
@PROP
def test_match_case_order_invariant(
    case: dict, trials: list[dict], origin: str | None, rnd: random.Random
) -> None:
    """Is match_case's output open-only, correctly ordered, and independent of input order?"""
    if origin is not None:
        case["referring_centre"] = origin
    centres = CENTRES
    pos = {c["code"]: (c["lat"], c["lon"]) for c in centres}
    got = match_case(case, trials, centres)
    assert {m.trial_id for m in got} == {t["id"] for t in trials if t["status"] == "open"}
    rank = {"eligible": 0, "possible": 1, "ineligible": 2}
    keys = [(rank[m.verdict], m.distance_km is None, m.distance_km or 0, m.trial_id) for m in got]
    assert keys == sorted(keys)
    for m in got:
        if origin in pos:
            kms = [round(_chord_km(pos[origin], pos[s.centre])) for s in m.sites]
            assert [s.distance_km for s in m.sites] == kms
            assert m.distance_km == (min(kms) if m.sites_mode == "any" else max(kms))
        else:
            assert m.distance_km is None
    shuffled = list(trials)
    rnd.shuffle(shuffled)
    assert [m.to_dict() for m in match_case(case, shuffled, centres)] == [m.to_dict() for m in got]
    compiled = compile_trials(trials, {c["code"] for c in centres})
    assert all(isinstance(t, CompiledTrial) for t in compiled)
    assert [m.to_dict() for m in match_case(case, compiled, CentreIndex(centres))] == [
        m.to_dict() for m in got
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=6,
)


@given(st.data())
@PROP
def test_engine_never_raises_on_garbage(data: Any) -> None:
    """Can any JSON value at any place of a case crash the matcher? (It must not.)"""
    case = _load("case-example-alk.json")
    for _ in range(data.draw(st.integers(1, 5))):
        path = data.draw(
            st.sampled_from(
                sorted(CASE_FIELDS) + ["biology", "disease", "family", "referring_centre"]
            )
        )
        _set(case, path, data.draw(JSON))
    matches = match_case(case, REGISTRY, CENTRES)
    for m in matches:
        assert isinstance(m, TrialMatch)
        json.dumps(m.to_dict())
        json.dumps(m.to_display_dict())


def _set(case: dict[str, Any], path: str, value: Any) -> None:
    *heads, last = path.split(".")
    cur = case
    for h in heads:
        if not isinstance(cur.get(h), dict):
            cur[h] = {}
        cur = cur[h]
    cur[last] = value


@given(cases)
@PROP
def test_random_cases_against_registry(case: dict) -> None:
    """Do random cases against the real registry give consistent, serialisable results?"""
    for m in match_case(case, REGISTRY, CENTRES):
        d = m.to_dict()
        assert set(d) == {"trial", "verdict", "distance_km", "sites", "criteria"}
        assert all(set(c) == {"id", "result", "label"} for c in d["criteria"])


# An independent, deliberately naive reading of trial-rules.md for single conditions: the engine
# reduces lists to sets; this folds Kleene logic over the raw elements instead.


def _ref_element(spec_type: str, value_set: str | None, x: Any) -> tuple[bool, Any]:
    """(known?, value) for one raw value, following the engine's documented wrong-type rule."""
    if x is None or (isinstance(x, str) and x.strip() in F.UNKNOWN_WORDS):
        return False, None
    if spec_type in ("int", "number"):
        ok = type(x) in (int, float) and math.isfinite(x)
    elif spec_type == "bool":
        ok = type(x) is bool
    elif spec_type in ("enum", "enum_list"):
        ok = isinstance(x, str) and x in F.VALUE_SETS[value_set].codes
    else:
        ok = isinstance(x, str) and x.strip() != ""
        x = x.strip() if ok else x
    return (True, x) if ok else (False, None)


def _dig(case: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(case, dict) or key not in case:
            return None
        case = case[key]
    return case


def _ref_leaf(case: Any, cond: dict[str, Any]) -> bool | None:
    spec = F.FIELDS[cond["field"]]
    op, want = cond["op"], cond["value"]
    if spec.is_list:
        raw = _dig(case, spec.container or spec.path)
        if not isinstance(raw, list):
            return None
        if spec.type == "object_list":
            elements = [(False, None)] * len(raw)
        elif spec.container:
            elements = [
                _ref_element(spec.type, spec.value_set, it.get(spec.item_key))
                if isinstance(it, dict)
                else (False, None)
                for it in raw
            ]
        else:
            elements = [_ref_element(spec.type, spec.value_set, x) for x in raw]

        def has(v: Any) -> bool | None:
            return _kleene(
                "any_of", [(x == v) if known else None for known, x in elements] or [False]
            )

        if op == "exists":
            if spec.container:
                e = _kleene("any_of", [True if known else None for known, _ in elements] or [False])
            else:
                e = bool(raw)
            return None if e is None else (e if want else not e)
        if op == "contains_all":
            return _kleene("all_of", [has(v) for v in want])
        anyv = _kleene("any_of", [has(v) for v in want])
        if op == "contains_any":
            return anyv
        return None if anyv is None else not anyv
    known, x = _ref_element(spec.type, spec.value_set, _dig(case, spec.path))
    if not known:
        return None
    if op == "exists":
        return want
    if op == "between":
        return want[0] <= x <= want[1]
    return {
        "eq": lambda: x == want,
        "ne": lambda: x != want,
        "in": lambda: x in want,
        "not_in": lambda: x not in want,
        "gt": lambda: x > want,
        "gte": lambda: x >= want,
        "lt": lambda: x < want,
        "lte": lambda: x <= want,
    }[op]()


def _ref(case: Any, cond: dict[str, Any]) -> bool | None:
    for g in ("any_of", "all_of"):
        if g in cond:
            return _kleene(g, [_ref(case, p) for p in cond[g]])
    return _ref_leaf(case, cond)


@given(cases, conditions)
@PROP
def test_engine_agrees_with_a_naive_reference(case: dict, cond: dict) -> None:
    """Does the compiled engine agree with a naive element-by-element reading of the rules?"""
    assert evaluate_condition(case, cond) is _ref(case, cond)


def test_property_generators_reach_every_outcome() -> None:
    """Do the random cases and rules above produce true, false and unknown (so they test things)?"""
    seen: dict[Any, int] = {True: 0, False: 0, None: 0}

    @given(cases, leaves())
    @settings(max_examples=300, deadline=None, database=None)
    def collect(case: dict, cond: dict) -> None:
        seen[evaluate_condition(case, cond)] += 1

    collect()
    assert all(n >= 10 for n in seen.values()), seen

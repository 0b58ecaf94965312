"""Trial rules over panel-case/2 (issue 20): the engine reads either version, rules name the
tumour type, its derived ICCC-3 group, module fields and the generic molecular alterations
(three-valued), the neuroblastoma trials carry a tumour scope, and validation names the trial
and the criterion. The neuroblastoma results are the same whichever version the case is in.

The tumour-agnostic trials of ``data/trials-fictional-agnostic.json`` are FICTIONAL test data.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.caseformat import convert
from panel.caseformat.v2 import validate_v2
from panel.trials import engine
from panel.trials.engine import (
    TrialDefinitionError,
    compile_trial,
    evaluate_condition,
    load_centres,
    load_trials,
    match_case,
)
from panel.trials.matching import case_data, missing_questions
from tests.support.case_documents import valid_v1_documents

EXAMPLES = Path(__file__).resolve().parents[1] / "data"
FICTIONAL = Path(__file__).parent / "data" / "trials-fictional-agnostic.json"
CENTRES = load_centres()
NB_TRIALS = (
    "NAXITAMAB-201",
    "VERITAS",
    "NANT-LORLATINIB",
    "MINIVAN",
    "BEACON2",
    "LUDO-N",
    "NB-EPIDEMIOLOGY",
)
ALK_FUSION = {"genes": ["ALK"], "types": ["fusion", "snv_indel"]}


def _v1(name: str = "case-example-alk.json") -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def _sarcoma(alterations: Any = None, profiling: str = "done") -> dict[str, Any]:
    """A relapsed alveolar rhabdomyosarcoma (8920/3, ICCC-3 IXa), PAX3::FOXO1, built from the
    ALK example: its core kept, the neuroblastoma module replaced by the sarcoma module."""
    doc = convert.v1_to_v2(_v1())
    doc["tumour"] = {"morphology": "8920/3"}
    doc["modules"] = {
        "sarcoma": {
            "subtype": "rms_alveolar",
            "foxo1_fusion": "pax3_foxo1",
            "risk_group": "high",
            "metastatic_at_diagnosis": False,
        }
    }
    doc["molecular"]["profiling_at_relapse"] = profiling
    if alterations is None:
        alterations = [
            {
                "gene": "ALK",
                "type": "fusion",
                "partner": "EML4",
                "test": "rna_seq",
                "at_relapse": True,
                "origin": "somatic",
            }
        ]
    doc["molecular"]["alterations"] = alterations
    for line in doc["treatment"]["lines"]:
        line["regimen"] = "VAC" if line["phase"] == "induction" else "OTHER"
    return doc


def _open(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**t, "status": "open"} for t in trials]


def _by_id(matches: list[engine.TrialMatch]) -> dict[str, engine.TrialMatch]:
    return {m.trial_id: m for m in matches}


def _has(value: dict[str, Any]) -> dict[str, Any]:
    return {"field": "molecular.alterations", "op": "has_alteration", "value": value}


@pytest.fixture(scope="module")
def packaged() -> list[dict[str, Any]]:
    """Every packaged trial and study, forced open (so each is evaluated)."""
    return _open(load_trials())


@pytest.fixture(scope="module")
def fictional() -> list[dict[str, Any]]:
    return load_trials(FICTIONAL)


# --------------------------------------------------------------------------- the documents
def test_the_sarcoma_documents_are_valid_panel_case_2():
    assert validate_v2(_sarcoma()) == []
    assert validate_v2(_sarcoma([], profiling="pending")) == []
    assert validate_v2(_sarcoma([{"gene": "ALK", "description": "ALK rearranged"}])) == []


# --------------------------------------------------------------------------- neuroblastoma unchanged
@pytest.mark.parametrize("name", ["case-example-alk.json", "case-example-refractory.json"])
def test_a_neuroblastoma_case_matches_the_same_in_either_version(packaged, name):
    """The held-out results: v1, and its v2 (with and without ``schema``, as stored), give the
    same verdicts, criteria, labels, fields and missing information; the scope is not listed."""
    v1 = _v1(name)
    v2 = convert.v1_to_v2(v1)
    stored_v2 = {k: v for k, v in v2.items() if k != "schema"}
    stored_v1 = {k: v for k, v in v1.items() if k != "schema"}
    want = [m.to_display_dict() for m in match_case(v1, packaged, CENTRES)]
    for doc in (v2, stored_v2, stored_v1):
        assert [m.to_display_dict() for m in match_case(doc, packaged, CENTRES)] == want
    for d in want:
        assert all(c["id"] != "TUMOUR" for c in d["criteria"])


_ALL_OPEN = _open(load_trials())


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.one_of(valid_v1_documents(), valid_v1_documents(complete=True)))
def test_any_v1_document_matches_the_same_as_its_v2(doc):
    """Drafts and complete documents from the v1 field table: every packaged trial (forced
    open) gives the same results for the v1 document and its v2, stored with or without
    ``schema`` (verdicts, criteria and their labels and fields, missing information)."""
    want = [m.to_display_dict() for m in match_case(doc, _ALL_OPEN, CENTRES)]
    v2 = convert.v1_to_v2(doc)
    stored = {k: v for k, v in v2.items() if k != "schema"}
    for other in (v2, stored):
        assert [m.to_display_dict() for m in match_case(other, _ALL_OPEN, CENTRES)] == want


# --------------------------------------------------------------------------- tumour scope
def test_a_sarcoma_is_out_of_scope_of_every_neuroblastoma_trial(packaged):
    matches = _by_id(match_case(_sarcoma(), packaged, CENTRES))
    for code in NB_TRIALS:
        m = matches[code]
        assert m.verdict == "ineligible" and m.out_of_scope, code
        assert [c.id for c in m.criteria] == ["TUMOUR"], code
        assert m.missing == ()
        label = m.criteria[0].label
        assert label.startswith("Neuroblastoma only (ICCC-3 IVa"), label
        assert label.endswith("(this case: Alveolar rhabdomyosarcoma, 8920/3)"), label
        assert m.to_dict()["criteria"] == [{"id": "TUMOUR", "result": "not_met", "label": label}]


def test_a_case_without_a_tumour_type_is_possible_for_a_scoped_trial(packaged):
    """A v2 draft with no tumour type yet: the scope is unknown and asked for."""
    doc = _sarcoma()
    del doc["tumour"]
    del doc["modules"]
    m = _by_id(match_case(doc, packaged, CENTRES))["BEACON2"]
    assert m.verdict in ("possible", "ineligible") and not m.out_of_scope
    scope = next(c for c in m.criteria if c.id == "TUMOUR")
    assert scope.result == "unknown"
    assert any(
        mi.criterion_id == "TUMOUR" and mi.fields == ("tumour.iccc_subgroup",) for mi in m.missing
    )


def test_trials_without_a_scope_take_any_tumour(packaged):
    """ESMART, CRISP and SMPAEDS declare no scope (their notes say why): a sarcoma is judged on
    their criteria. CRISP's C1 reads the neuroblastoma module's ALK status (unchanged), so it
    is unknown for a sarcoma."""
    matches = _by_id(match_case(_sarcoma(), packaged, CENTRES))
    for code in ("ESMART", "CRISP", "SMPAEDS"):
        assert not matches[code].out_of_scope
        raw = next(t for t in packaged if t["id"] == code)
        assert not any(c.get("scope") for c in raw["criteria"])
        assert any(n.startswith("Tumour scope: any tumour type") for n in raw["notes"])
    crisp = {c.id: c.result for c in matches["CRISP"].criteria}
    assert crisp["C1"] == "unknown"


# --------------------------------------------------------------------------- tumour-agnostic rules
def test_a_sarcoma_with_an_alk_fusion_matches_the_tumour_agnostic_rule(fictional):
    m = _by_id(match_case(_sarcoma(), fictional, CENTRES))["FICTIONAL-ALK"]
    assert m.verdict == "eligible"
    assert {c.id: c.result for c in m.criteria} == {"A1": "met", "A2": "met", "A3": "met"}
    assert m.criteria[0].label == "ALK fusion or activating mutation (an SNV/indel)"
    assert m.criteria[0].fields == ("molecular.alterations", "molecular.profiling_at_relapse")
    assert m.distance_km is not None  # from Newcastle, like the example it came from


def test_go42286_the_packaged_tumour_agnostic_trial(packaged):
    """GO42286 (alectinib, ALK fusion-positive solid or CNS tumours): eligible for the sarcoma
    with an ALK fusion; the neuroblastoma with an ALK F1174L mutation is not (a mutation is not
    a fusion); a lymphoma is out of its scope. Its status is unknown, so it is never offered."""
    raw = next(t for t in load_trials() if t["id"] == "GO42286")
    assert raw["status"] == "unknown" and raw["sites"] == []
    assert "NCT04774718" in raw["registry_ids"]
    go = [t for t in packaged if t["id"] == "GO42286"]
    sarcoma = match_case(_sarcoma(), go, CENTRES)[0]
    assert sarcoma.verdict == "eligible", [(c.id, c.result) for c in sarcoma.criteria]
    nb = match_case(_v1(), go, CENTRES)[0]
    assert {c.id: c.result for c in nb.criteria}["G2"] == "not_met"
    lymphoma = _sarcoma()
    lymphoma["tumour"] = {"morphology": "9687/3"}  # Burkitt lymphoma: ICCC-3 IIc
    del lymphoma["modules"]
    out = match_case(lymphoma, go, CENTRES)[0]
    assert out.out_of_scope and out.criteria[0].label.endswith(
        "(this case: Burkitt lymphoma, NOS, 9687/3)"
    )
    assert match_case(_sarcoma(), [raw], CENTRES) == []  # status unknown: not matched


def test_ntrk_fusion_and_mdm2_amplification(fictional):
    ntrk = _sarcoma([{"gene": "NTRK3", "type": "fusion", "partner": "ETV6"}])
    mdm2 = _sarcoma([{"gene": "mdm2", "type": "amplification", "copy_number": 20}])
    neither = _sarcoma([{"gene": "MDM2", "type": "snv_indel"}])
    for doc, verdict in ((ntrk, "eligible"), (mdm2, "eligible"), (neither, "ineligible")):
        m = _by_id(match_case(doc, fictional, CENTRES))["FICTIONAL-NTRK-MDM2"]
        assert m.verdict == verdict
        assert [c.id for c in m.criteria] == ["T1"]  # the scope is met: not listed


# --------------------------------------------------------------------------- three values
def test_has_alteration_is_three_valued():
    rule = _has(ALK_FUSION)
    # Known match: true, whatever profiling says.
    assert evaluate_condition(_sarcoma(profiling="pending"), rule) is True
    # Profiling done, nothing matching: false.
    assert evaluate_condition(_sarcoma([{"gene": "TP53", "type": "snv_indel"}]), rule) is False
    assert evaluate_condition(_sarcoma([]), rule) is False
    # Profiling pending / not done / not recorded, nothing matching: unknown.
    assert evaluate_condition(_sarcoma([], profiling="pending"), rule) is None
    assert evaluate_condition(_sarcoma([], profiling="not_done"), rule) is None
    missing = _sarcoma([])
    del missing["molecular"]["profiling_at_relapse"]
    assert evaluate_condition(missing, rule) is None
    # An ALK item of unknown type might match: unknown, even after profiling.
    assert (
        evaluate_condition(_sarcoma([{"gene": "ALK", "description": "rearranged"}]), rule) is None
    )
    # An ALK amplification is neither a fusion nor an SNV/indel.
    assert evaluate_condition(_sarcoma([{"gene": "ALK", "type": "amplification"}]), rule) is False
    # Garbage reads as unknown, never as "none".
    assert evaluate_condition(_sarcoma("ALK"), rule) is None
    assert evaluate_condition(_sarcoma([["ALK"]]), rule) is None


def test_the_neuroblastoma_module_answers_for_alk_and_mycn():
    """The module's ALK status and MYCN are implied alterations; a known status without the
    alteration asked for is a "no" even when profiling at relapse was not done."""
    v1 = _v1()
    v1["biology"]["profiling_at_relapse"] = "not_done"
    assert evaluate_condition(v1, _has({"genes": ["ALK"], "types": ["snv_indel"]})) is True
    assert evaluate_condition(v1, _has({"genes": ["ALK"], "types": ["fusion"]})) is False
    assert evaluate_condition(v1, _has({"genes": ["MYCN"], "types": ["amplification"]})) is True
    v1["biology"]["alk"] = {"status": "wild_type"}
    assert evaluate_condition(v1, _has(ALK_FUSION)) is False
    v1["biology"]["alk"] = {"status": "not_tested"}
    assert evaluate_condition(v1, _has(ALK_FUSION)) is None
    # ALK status says nothing about ALK expression; MYCN status nothing about other genes.
    v1["biology"]["alk"] = {"status": "wild_type"}
    assert evaluate_condition(v1, _has({"genes": ["ALK"], "types": ["expression"]})) is None
    v1["biology"]["mycn"] = "not_amplified"
    assert evaluate_condition(v1, _has({"genes": ["MYCN"], "types": ["amplification"]})) is False
    assert evaluate_condition(v1, _has({"genes": ["MYCN", "NTRK1"]})) is None
    v1["biology"]["mycn"] = "heterogeneous"  # not the whole tumour, nor its absence
    assert evaluate_condition(v1, _has({"genes": ["MYCN"], "types": ["amplification"]})) is None
    # The same in v2.
    assert evaluate_condition(convert.v1_to_v2(_v1()), _has(ALK_FUSION)) is True


def test_a_protein_change_narrows_an_activating_mutation():
    """ "Activating mutation" is an SNV/indel unless the rule names its protein changes; v1's
    short form and HGVS compare equal."""
    rule = _has({"genes": ["ALK"], "types": ["snv_indel"], "protein_changes": ["p.Phe1174Leu"]})
    assert evaluate_condition(_v1(), rule) is True  # F1174L
    other = _sarcoma([{"gene": "ALK", "type": "snv_indel", "protein_change": "p.(Arg1275Gln)"}])
    assert evaluate_condition(other, rule) is False
    unknown = _sarcoma([{"gene": "ALK", "type": "snv_indel"}])
    assert evaluate_condition(unknown, rule) is None
    assert engine.protein_change_key("p.Arg1275Gln") == engine.protein_change_key("R1275Q")


def test_unknown_alterations_ask_for_the_profiling(fictional):
    """Profiling not recorded: the tumour-agnostic trial is possible, and the question names
    the alterations and the profiling at relapse."""
    doc = _sarcoma([], profiling="pending")
    m = _by_id(match_case(doc, fictional, CENTRES))["FICTIONAL-ALK"]
    assert m.verdict == "possible"
    [mi] = m.missing
    assert mi.fields == ("molecular.alterations", "molecular.profiling_at_relapse")
    assert mi.explanation == (
        "ALK fusion or activating mutation (an SNV/indel): not known - needs Molecular "
        "alterations found (gene and type); Molecular profiling at relapse (done, pending or "
        "not done)"
    )
    assert [f["label"] for f in mi.to_dict()["fields"]] == [
        "Molecular alterations found (gene and type)",
        "Molecular profiling at relapse (done, pending or not done)",
    ]
    [q] = [q for q in missing_questions([m])]
    assert "please give: Molecular alterations found (gene and type); Molecular profiling" in q
    done = _by_id(match_case(_sarcoma([]), fictional, CENTRES))["FICTIONAL-ALK"]
    assert done.verdict == "ineligible"
    assert {c.id: c.result for c in done.criteria}["A1"] == "not_met"


# --------------------------------------------------------------------------- ICCC-3 and age
@pytest.mark.parametrize(
    ("morphology", "age", "expected"),
    [
        ("9440/3", 60, True),  # glioblastoma, IIIb
        ("9470/3", 12, True),  # medulloblastoma, IIIc, 12 months
        ("9470/3", 263, True),  # the day before 22 (21 years and 11 months)
        ("9470/3", 11, False),
        ("9470/3", 264, False),
        ("8920/3", 60, False),  # rhabdomyosarcoma, IXa
        ("9385/3", 60, None),  # diffuse midline glioma: no ICCC-3 group in the list
    ],
)
def test_iccc_group_iii_aged_12_months_to_21_years(fictional, morphology, age, expected):
    [trial] = [t for t in fictional if t["id"] == "FICTIONAL-CNS"]
    doc = _sarcoma()
    doc["tumour"] = {"morphology": morphology}
    del doc["modules"]
    doc["patient"]["age_now_months"] = age
    assert evaluate_condition(doc, trial["criteria"][0]) is expected


def test_module_and_tumour_fields_in_rules():
    doc = _sarcoma()
    assert evaluate_condition(
        doc, {"field": "modules.sarcoma.foxo1_fusion", "op": "in", "value": ["pax3_foxo1"]}
    )
    assert evaluate_condition(doc, {"field": "tumour.morphology", "op": "eq", "value": "8920/3"})
    assert evaluate_condition(doc, {"field": "tumour.iccc_subgroup", "op": "eq", "value": "IXa"})
    # A neuroblastoma module field is unknown for a sarcoma; the v1 path too.
    for path in ("modules.neuroblastoma.biology.mycn", "biology.mycn"):
        assert evaluate_condition(doc, {"field": path, "op": "eq", "value": "amplified"}) is None
    # A v1 case reads its module fields and tumour type through the conversion.
    v1 = _v1()
    assert evaluate_condition(
        v1, {"field": "modules.neuroblastoma.biology.mycn", "op": "eq", "value": "amplified"}
    )
    assert evaluate_condition(v1, {"field": "tumour.iccc_group", "op": "eq", "value": "IV"})


# --------------------------------------------------------------------------- validation
def _trial(criterion: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "BAD-TRIAL",
        "title": "A trial with one bad rule",
        "status": "open",
        "sites": [],
        "sites_mode": "any",
        "criteria": [
            {"id": "K1", "kind": "inclusion", "label": "L", "source": "assumed", **criterion}
        ],
    }


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        (_has({"genes": ["ALK"], "types": ["fusionn"]}), "unknown alteration type 'fusionn'"),
        (_has({"genes": []}), "needs genes"),
        (_has({"genes": ["AL K"]}), "'AL K' is not a gene symbol"),
        (_has({"genes": ["ALK"], "protein_changes": ["?"]}), "'?' is not a protein change"),
        (_has({"genes": ["ALK"], "partner": "EML4"}), "unknown key(s) partner"),
        (_has(["ALK"]), "takes an object"),
        ({"field": "tumour.iccc_group", "op": "eq", "value": "XIII"}, "'XIII' is not a value of iccc_group"),
        ({"field": "tumour.iccc_subgroup", "op": "in", "value": ["IXz"]}, "'IXz' is not a value of iccc_subgroup"),
        ({"field": "tumour.morphology", "op": "eq", "value": "8888/3"}, "not a tumour type of tumour_types.json"),
        ({"field": "modules.sarcoma.fusion", "op": "eq", "value": "x"}, "unknown field 'modules.sarcoma.fusion' (no such module field"),
        ({"field": "modules.sarcoma.foxo1_fusion", "op": "eq", "value": "pax9"}, "'pax9' is not a value of foxo1_fusion"),
        ({"field": "patient.age_now_months", "op": "has_alteration", "value": ALK_FUSION}, "operator 'has_alteration' does not apply"),
        ({"field": "molecular.alterations", "op": "contains_any", "value": ["ALK"]}, "(use has_alteration, exists)"),
        ({"field": "tumour.description", "op": "eq", "value": "x"}, "cannot be used in rules"),
        ({"scope": True, "field": "patient.age_now_months", "op": "lt", "value": 5}, "reads the tumour type only"),
        ({"scope": "yes", "field": "tumour.iccc_group", "op": "eq", "value": "III"}, "scope must be true or false"),
        ({"scope": True, "kind": "exclusion", "field": "tumour.iccc_group", "op": "eq", "value": "III"}, "must be an inclusion"),
    ],
)  # fmt: skip
def test_validation_names_the_trial_and_the_criterion(criterion, message):
    with pytest.raises(TrialDefinitionError) as exc:
        compile_trial(_trial(criterion), set())
    assert any(
        e.startswith("trial BAD-TRIAL, criterion K1") and message in e for e in exc.value.errors
    ), exc.value.errors


def test_the_packaged_and_fictional_registries_validate():
    for path in (None, FICTIONAL):
        engine.compile_trials(load_trials(path), {c["code"] for c in CENTRES})


# --------------------------------------------------------------------------- stored bodies
def test_case_data_says_which_version_a_stored_body_is():
    v2 = {k: v for k, v in _sarcoma().items() if k != "schema"}
    v1 = {k: v for k, v in _v1().items() if k != "schema"}
    assert case_data(SimpleNamespace(data=v2, referring_centre_id=None))["schema"] == "panel-case/2"
    assert case_data(SimpleNamespace(data=v1, referring_centre_id=None))["schema"] == "panel-case/1"
    assert engine.case_version(v2) == 2 and engine.case_version(v1) == 1
    assert engine.case_version({**v2, "schema": "panel-case/1"}) == 1


def test_the_engine_never_raises_on_a_malformed_v2_case(packaged, fictional):
    for bad in ("x", None, [1], {"morphology": 5}):
        doc = copy.deepcopy(_sarcoma())
        doc["tumour"] = bad
        doc["modules"] = bad
        doc["molecular"] = bad
        for m in match_case(doc, packaged + fictional, CENTRES):
            json.dumps(m.to_display_dict())


# --------------------------------------------------------------------------- the trial editor
@pytest.fixture
def packaged_loaded(db_session):
    """The packaged trials.json (with GO42286) loaded into the registry."""
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry(Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json")
    db_session.commit()
    clear_cache()


def _form(version: int, **fields: Any) -> dict[str, Any]:
    return {
        "version": str(version),
        "original_id": "",
        "cid": "Z1",
        "kind": "inclusion",
        "label": "A label",
        "source": "assumed",
        "source_text": "assumed: not in the sources read",
        "mode": "simple",
        **fields,
    }


def test_the_criteria_editor_takes_the_new_fields_and_operator(
    app, client, people, packaged_loaded, login, db_session
):
    """The editor offers the tumour, ICCC-3, module and alteration fields; it builds a
    has_alteration rule and a tumour scope, and shows them again when edited."""
    from sqlalchemy import select

    from panel.trials.models import Trial
    from tests.support.web import post_form

    def trial() -> Trial:
        db_session.expire_all()
        return db_session.scalar(select(Trial).where(Trial.code == "GO42286"))

    login(client, people["nap_coordinator"])
    page = client.get("/trials/GO42286/criteria/new").get_data(as_text=True)
    for path in ("tumour.iccc_group", "tumour.morphology", "modules.sarcoma.foxo1_fusion"):
        assert f'value="{path}"' in page
    assert "Molecular alterations (any tumour)" in page
    resp = post_form(
        app,
        client,
        "/trials/GO42286/criteria/new",
        _form(
            trial().version,
            field="molecular.alterations",
            op="has_alteration",
            value_genes="NTRK1, NTRK2,NTRK3",
            value_types=["fusion"],
        ),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert trial().criteria[-1]["value"] == {
        "genes": ["NTRK1", "NTRK2", "NTRK3"],
        "types": ["fusion"],
    }
    resp = post_form(
        app,
        client,
        "/trials/GO42286/criteria/new",
        _form(
            trial().version,
            cid="Z2",
            scope="y",
            field="tumour.iccc_group",
            op="in",
            value_multi=["III", "IX"],
        ),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    crit = trial().criteria[-1]
    assert crit["scope"] is True and crit["value"] == ["III", "IX"]
    # Editing shows them again: G1 (the scope) and G2 (ALK fusion).
    g1 = client.get("/trials/GO42286/criteria/0").get_data(as_text=True)
    [scope_input] = re.findall(r'<input[^>]*id="scope"[^>]*>', g1)
    assert "checked" in scope_input
    g2 = client.get("/trials/GO42286/criteria/1").get_data(as_text=True)
    assert 'value="ALK"' in g2 and 'value="fusion" id="vt-2" checked' in g2
    shown = client.get("/trials/GO42286/criteria").get_data(as_text=True)
    assert "include ALK fusion (any tumour type)" in shown
    assert "Tumour scope (checked first): ICCC-3 main group is none of I: Leukaemias" in shown


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (dict(field="molecular.alterations", op="has_alteration", value_genes=""), "give at least one gene"),
        (dict(field="molecular.alterations", op="has_alteration", value_genes="AL K"), "trial GO42286, criterion Z1: &#39;AL K&#39; is not a gene symbol"),
        (dict(field="molecular.alterations", op="has_alteration", value_genes="ALK", value_types=["fusionn"]), "trial GO42286, criterion Z1: unknown alteration type &#39;fusionn&#39;"),
        (dict(field="tumour.iccc_group", op="eq", value_enum="XIII"), "trial GO42286, criterion Z1: value for &#39;tumour.iccc_group&#39; &#39;XIII&#39; is not a value of iccc_group"),
        (dict(field="patient.age_now_months", op="lt", value_number="5", scope="y"), "trial GO42286, criterion Z1: a tumour scope criterion reads the tumour type only"),
        (dict(field="molecular.alterations", op="contains_any", value_list="ALK"), "criterion Z1: choose an operator that applies to Molecular alterations"),
        (dict(field="tumour.morphology", op="eq", value_list="8888/3"), "&#39;8888/3&#39; is not a tumour type of tumour_types.json"),
    ],
)  # fmt: skip
def test_a_bad_new_rule_is_a_form_error(
    app, client, people, packaged_loaded, login, db_session, fields, message
):
    from sqlalchemy import select

    from panel.trials.models import Trial
    from tests.support.web import post_form

    login(client, people["nap_coordinator"])
    trial = db_session.scalar(select(Trial).where(Trial.code == "GO42286"))
    resp = post_form(app, client, "/trials/GO42286/criteria/new", _form(trial.version, **fields))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)

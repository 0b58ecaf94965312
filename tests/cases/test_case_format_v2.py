"""panel-case/2 (issue 20, the foundation): the core and module tables, the validator generated
from them, the tumour types with their ICCC-3 groups, and the v1 <-> v2 conversion."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from panel.caseformat import fields as v1_fields
from panel.caseformat import schema
from panel.caseformat.convert import (
    SECTIONS,
    V1_TO_V2,
    NotConvertible,
    v1_losses,
    v1_to_v2,
    v2_to_v1,
)
from panel.caseformat.tumours import (
    DATA_FILE,
    get_tumour_type,
    iccc_for,
    search_tumour_types,
    tumour_types,
)
from panel.caseformat.v2 import (
    FIELDS_V2,
    MODULES,
    NB_PATHS,
    applicable_conditionals_v2,
    iccc_of,
    missing_for_submit_v2,
    modules_for,
    molecular_alterations,
    text_fields_v2,
    validate_v2,
)
from tests.support.case_documents import valid_v1_documents

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = ("alk", "refractory")

#: 300 documents per property (about 15 s each); derandomized so runs are repeatable.
PROP = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _example(name: str) -> dict:
    return json.loads((DATA / f"case-example-{name}.json").read_text())


def _sarcoma_case() -> dict:
    """A complete v2 case of relapsed alveolar rhabdomyosarcoma with an ALK-independent target."""
    return {
        "schema": "panel-case/2",
        "panel": "ECMC-NORTH",
        "referring_centre": "NEWCASTLE",
        "urgency": "routine",
        "clinical_question": "Second relapse of fusion-positive RMS: is there an early-phase trial?",
        "tumour": {"morphology": "8920/3", "topography": "C49.2"},
        "patient": {"age_at_diagnosis_months": 100, "age_now_months": 130, "sex": "male"},
        "status": {
            "category": "relapsed",
            "episode": 2,
            "months_diagnosis_to_event": 28,
            "months_since_last_treatment": 2,
            "relapse_pattern": "metastatic",
        },
        "disease": {"sites": ["lung", "bone"], "measurable": True, "bone_marrow_pct": None},
        "molecular": {
            "alterations": [
                {
                    "gene": "MDM2",
                    "type": "amplification",
                    "copy_number": 12,
                    "origin": "somatic",
                    "test": "ngs_panel",
                    "at_relapse": True,
                },
                {"gene": "PAX3", "type": "fusion", "partner": "FOXO1", "test": "rna_seq"},
            ],
            "profiling_at_relapse": "done",
        },
        "treatment": {
            "lines": [
                {
                    "phase": "induction",
                    "regimen": "IVA",
                    "cycles": 9,
                    "best_response": "PR",
                    "start_month": 0,
                    "end_month": 7,
                    "toxicities": ["renal"],
                },
                {"phase": "salvage", "regimen": "VIT", "cycles": 4, "best_response": "PD"},
            ]
        },
        "fitness": {"performance_scale": "lansky", "performance_score": 70},
        "organ_function": {"adequate": True, "gfr_ml_min_173m2": 85},
        "family": {"aware_of_referral": True, "questions": ["Is there anything new to try?"]},
        "local_mdt": {"discussed": True, "months_ago": 0, "outcome": "Refer for trials."},
        "modules": {
            "sarcoma": {
                "subtype": "rms_alveolar",
                "foxo1_fusion": "pax3_foxo1",
                "risk_group": "high",
                "irs_group": "III",
                "primary_site_prognosis": "unfavourable",
                "metastatic_at_diagnosis": False,
            }
        },
    }


# ---------------------------------------------------------------------------- tables


def test_every_v1_field_has_a_v2_home_with_the_same_spec():
    """Does every stored v1 field map to a v2 field of the same type, value set and range?"""
    stored = {p for p, s in v1_fields.FIELDS.items() if not s.is_projection and p != "schema"}
    assert set(V1_TO_V2) == stored
    for old, new in V1_TO_V2.items():
        a, b = v1_fields.FIELDS[old], FIELDS_V2[new]
        assert (a.type, a.minimum, a.maximum, a.step) == (b.type, b.minimum, b.maximum, b.step), old
        if a.value_set:
            assert set(a.values.codes) <= set(b.values.codes), old
    assert len(set(V1_TO_V2.values())) == len(V1_TO_V2)


def test_the_neuroblastoma_module_reuses_the_v1_specs():
    """Are the module's fields the v1 specs under new paths (labels and requirements kept)?"""
    nb = MODULES["neuroblastoma"]
    assert {f.path for f in nb.fields} == set(NB_PATHS.values())
    for spec in nb.fields:
        old = v1_fields.FIELDS[spec.v1_path]
        assert (spec.label, spec.requirement, spec.value_set) == (
            old.label,
            old.requirement,
            old.value_set,
        )


def test_modules_declare_tumours_that_are_listed():
    """Does every module name only morphology codes of tumour_types.json, and fit them?"""
    for module in MODULES.values():
        assert module.morphologies or module.iccc_subgroups
        for code in module.morphologies:
            assert get_tumour_type(code) is not None, code
    assert MODULES["neuroblastoma"].applies_to("9500/3")
    assert MODULES["neuroblastoma"].applies_to("9490/3")
    assert not MODULES["neuroblastoma"].applies_to("8920/3")
    assert MODULES["sarcoma"].applies_to("8910/3")
    assert MODULES["sarcoma"].applies_to("9260/3")
    assert not MODULES["sarcoma"].applies_to("9500/3")


def test_field_descriptions_are_json():
    """Can the form and the trial editor describe every v2 field and module as JSON?"""
    json.dumps([f.to_dict() for f in FIELDS_V2.values()])
    json.dumps([m.to_dict() for m in MODULES.values()])


# ---------------------------------------------------------------------------- tumour types


def test_tumour_types_file_carries_sources_and_licence():
    """Does the packaged list say where its facts come from, when, and the WHO licence?"""
    data = json.loads(DATA_FILE.read_text())
    about = data["_about"]
    assert about["checked"] and about["sources"]["iccc_3"] and about["sources"]["icd_o_3"]
    assert "World Health Organization" in about["licence"]
    codes = [t["morphology"] for t in data["types"]]
    assert len(codes) == len(set(codes)) >= 60
    for entry in data["types"]:
        for rule in entry["iccc"]:
            assert rule["subgroup"] in data["iccc_subgroups"]
        if not entry["iccc"]:
            assert "unknown" in entry.get("note", "")


@pytest.mark.parametrize(
    ("morphology", "topography", "subgroup"),
    [
        ("9500/3", None, "IVa"),
        ("9490/3", "C74.9", "IVa"),
        ("8910/3", None, "IXa"),
        ("8920/3", "C49.2", "IXa"),
        ("9260/3", "C41.4", "VIIIc"),
        ("9260/3", "C49.1", "IXd"),
        ("9364/3", "C64.9", "VIa"),
        ("9180/3", "C40.2", "VIIIa"),
        ("8960/3", None, "VIa"),
        ("8970/3", None, "VIIa"),
        ("9470/3", None, "IIIc"),
        ("9508/3", None, "IIIc"),
        ("9510/3", None, "V"),
        ("9380/3", "C72.3", "IIIb"),
        ("9380/3", "C71.7", "IIId"),
        ("9064/3", "C71.0", "Xa"),
        ("9064/3", "C62.9", "Xc"),
        ("9071/3", "C48.0", "Xb"),
        ("9836/3", None, "Ia"),
        ("9861/3", None, "Ib"),
    ],
)
def test_iccc_group_is_derived(morphology, topography, subgroup):
    """Is the ICCC-3 subgroup derived from the morphology, and the site where ICCC-3 needs it?"""
    assert iccc_for(morphology, topography).subgroup == subgroup


def test_iccc_group_unknown_stays_unknown():
    """Without the site a site-dependent code has no group; an unlisted code has none."""
    assert iccc_for("9260/3") is None
    assert iccc_for("9385/3", "C71.7") is None  # ICD-O-3.2 code: not assigned
    assert iccc_for("1234/5") is None
    assert iccc_for(None) is None


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("neuroblastoma", "9500/3"),
        ("9500", "9500/3"),
        ("9500/3", "9500/3"),
        ("Wilms", "8960/3"),
        ("ewing", "9260/3"),
        ("alveolar rhabdo", "8920/3"),
        ("medullo", "9470/3"),
        ("ATRT", "9508/3"),
        ("Hépatoblastoma", "8970/3"),
        ("DIPG", "9385/3"),
    ],
)
def test_search_tumour_types(query, first):
    """Does the picker find a tumour by name, synonym or code, best match first?"""
    found = search_tumour_types(query)
    assert found and found[0]["morphology"] == first


def test_search_matches_every_word_and_ignores_case_and_accents():
    """Do several words narrow the search, whatever their case and accents?"""
    assert [t["morphology"] for t in search_tumour_types("EMBRYONAL rhabdo")] == ["8910/3"]
    assert search_tumour_types("") == [] and search_tumour_types("   ") == []
    assert search_tumour_types("zzzz") == []
    assert search_tumour_types("Ewîng")[0]["morphology"] == "9260/3"
    assert len(search_tumour_types("a", limit=5)) == 5
    assert len(tumour_types()) >= 60


# ---------------------------------------------------------------------------- validation


def test_a_complete_sarcoma_case_validates_and_is_complete():
    """Does a v2 rhabdomyosarcoma case with generic alterations validate and submit?"""
    doc = _sarcoma_case()
    assert validate_v2(doc) == []
    assert missing_for_submit_v2(doc) == []
    assert [m.name for m in modules_for(doc)] == ["sarcoma"]
    assert iccc_of(doc)["group"] == "IX"
    genes = [(a["gene"], a["type"]) for a in molecular_alterations(doc)]
    assert genes == [("MDM2", "amplification"), ("PAX3", "fusion")]
    paths = dict(text_fields_v2(doc))
    assert paths["local_mdt.outcome"] == "Refer for trials."
    assert paths["molecular.alterations[1].partner"] == "FOXO1"


def test_module_required_and_conditional_fields():
    """Are a module's required fields and its conditions (on core fields too) asked for?"""
    doc = _sarcoma_case()
    del doc["modules"]
    missing = {p.field for p in missing_for_submit_v2(doc)}
    assert missing == {
        "modules.sarcoma.risk_group",
        "modules.sarcoma.metastatic_at_diagnosis",
        "modules.sarcoma.foxo1_fusion",
    }
    doc = _sarcoma_case()
    doc["modules"]["sarcoma"]["metastatic_at_diagnosis"] = True
    assert "modules.sarcoma.metastatic_sites_at_diagnosis" in applicable_conditionals_v2(doc)
    problems = missing_for_submit_v2(doc)
    assert [p.to_dict() for p in problems] == [
        {
            "field": "modules.sarcoma.metastatic_sites_at_diagnosis",
            "message": "is required because the tumour was metastatic at diagnosis",
        }
    ]
    ewing = _sarcoma_case()
    ewing["tumour"] = {"morphology": "9260/3", "topography": "C41.4"}
    assert "modules.sarcoma.ewing_fusion" in {p.field for p in missing_for_submit_v2(ewing)}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.update(schema="panel-case/1"), "schema", "panel-case/2"),
        (lambda d: d["tumour"].update(morphology="9500"), "tumour.morphology", "code"),
        (lambda d: d["tumour"].update(morphology="8000/3"), "tumour.morphology", "list"),
        (lambda d: d["tumour"].update(topography="C49"), "tumour.topography", "code"),
        (lambda d: d["tumour"].update(iccc_group="IX"), "tumour.iccc_group", "derived"),
        (lambda d: d["modules"].update(wilms={}), "modules.wilms", "not a module"),
        (lambda d: d["modules"].update(neuroblastoma={}), "modules.neuroblastoma", "apply"),
        (
            lambda d: d["molecular"]["alterations"][0].update(type="methylation"),
            "molecular.alterations[0].type",
            "not one of",
        ),
        (
            lambda d: d["molecular"]["alterations"][0].update(vaf_pct=120),
            "molecular.alterations[0].vaf_pct",
            "at most 100",
        ),
        (
            lambda d: d["treatment"]["lines"][0].update(end_month=-1),
            "treatment.lines[0].end_month",
            "at least 0",
        ),
        (
            lambda d: d["treatment"]["lines"][0].update(start_month=9),
            "treatment.lines[0].end_month",
            "before the start",
        ),
        (
            lambda d: d["treatment"]["lines"][0].update(toxicities=["renal", "renal"]),
            "treatment.lines[0].toxicities",
            "twice",
        ),
        (lambda d: d["local_mdt"].update(outcome="a\x00b"), "local_mdt.outcome", "control"),
        (lambda d: d["patient"].update(age_now_months=50), "patient.age_now_months", "less"),
    ],
)
def test_validation_names_the_field(change, field, words):
    """Does a bad value give a problem on its dotted path, with a sentence that says why?"""
    doc = _sarcoma_case()
    change(doc)
    problems = validate_v2(doc)
    assert any(p.field == field and words in p.message for p in problems), problems


def test_alteration_needs_a_type_or_words_to_submit():
    """Is an alteration with only a gene incomplete, and complete with a type or words?"""
    doc = _sarcoma_case()
    doc["molecular"]["alterations"].append({"gene": "NTRK1"})
    assert [p.field for p in missing_for_submit_v2(doc)] == ["molecular.alterations[2].type"]
    doc["molecular"]["alterations"][2]["description"] = "TPM3::NTRK1 fusion"
    assert missing_for_submit_v2(doc) == []


def test_not_an_object():
    """Is a non-object refused with a clear problem?"""
    assert validate_v2([]) == [schema.Problem("", "a case must be a JSON object")]


# ---------------------------------------------------------------------------- conversion


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_round_trip(name):
    """Does each example convert to a valid, complete v2 case and back to exactly itself?"""
    doc = _example(name)
    before = copy.deepcopy(doc)
    new = v1_to_v2(doc)
    assert doc == before  # the input is not changed
    assert validate_v2(new) == []
    assert missing_for_submit_v2(new) == []
    assert new["tumour"] == {"morphology": "9500/3", "topography": "C74.9"}
    assert v2_to_v1(new) == doc
    assert v1_losses(new) == []


def test_what_moved_where_in_the_alk_example():
    """Are MYCN and ALK in the module, the alterations generic, the question in the core?"""
    new = v1_to_v2(_example("alk"))
    nb = new["modules"]["neuroblastoma"]
    assert nb["biology"]["mycn"] == "amplified"
    assert nb["biology"]["alk"]["variants"][0]["protein_change"] == "F1174L"
    assert nb["diagnosis"]["inrg_stage"] == "M"
    assert new["molecular"] == {"profiling_at_relapse": "done", "alterations": []}
    assert new["organ_function"] == {"adequate": True}
    implied = molecular_alterations(new)
    assert {(a["gene"], a["type"]) for a in implied} == {
        ("MYCN", "amplification"),
        ("ALK", "snv_indel"),
    }
    assert implied[1]["protein_change"] == "F1174L" and implied[1]["origin"] == "somatic"


def test_ganglioneuroblastoma_histology_gives_its_own_code():
    """Does a v1 case with GNB histology become ganglioneuroblastoma 9490/3?"""
    doc = _example("refractory")
    doc["diagnosis"]["histology"] = "GNB_nodular"
    doc["diagnosis"]["primary_site"] = "thoracic"
    new = v1_to_v2(doc)
    assert new["tumour"] == {"morphology": "9490/3"}
    assert v2_to_v1(new) == doc


def test_other_alterations_keep_their_words():
    """Does a v1 other alteration become a generic one with its words, and come back?"""
    doc = _example("refractory")
    doc["biology"]["other_alterations"] = [{"gene": "TP53", "alteration": "R248Q", "vaf_pct": 40}]
    new = v1_to_v2(doc)
    assert new["molecular"]["alterations"] == [
        {"gene": "TP53", "description": "R248Q", "vaf_pct": 40}
    ]
    assert missing_for_submit_v2(new) == []
    assert v2_to_v1(new) == doc


def test_v2_to_v1_refuses_other_tumours():
    """Is a sarcoma case refused for panel-case/1 with a message that says why?"""
    with pytest.raises(NotConvertible, match="neuroblastoma cases only.*8920/3"):
        v2_to_v1(_sarcoma_case())
    no_tumour = v1_to_v2(_example("alk"))
    del no_tumour["tumour"]
    with pytest.raises(NotConvertible, match="not recorded"):
        v2_to_v1(no_tumour)
    with pytest.raises(NotConvertible):
        v1_to_v2(_sarcoma_case())
    with pytest.raises(NotConvertible):
        v2_to_v1(_example("alk"))


def test_v1_losses_lists_what_v1_cannot_carry():
    """Does an export as v1 say which v2-only values it would leave out?"""
    new = v1_to_v2(_example("alk"))
    new["local_mdt"] = {"outcome": "Refer."}
    new["treatment"]["lines"][0]["toxicities"] = ["hearing"]
    new["molecular"]["alterations"] = [
        {"gene": "NRAS", "type": "snv_indel", "protein_change": "Q61K"}
    ]
    assert v1_losses(new) == [
        "local_mdt.outcome",
        "molecular.alterations[0].protein_change",
        "molecular.alterations[0].type",
        "treatment.lines[0].toxicities",
    ]
    back = v2_to_v1(new)
    assert back["biology"]["other_alterations"] == [
        {"gene": "NRAS", "alteration": "snv_indel Q61K"}
    ]
    assert schema.validate(back) == []


def test_sections_map_to_v2_sections():
    """Is every v1 section given a v2 home (so null and empty sections survive)?"""
    v1_sections = {".".join(p.split(".")[: i + 1]) for p in V1_TO_V2 for i in range(p.count("."))}
    assert set(SECTIONS) == v1_sections


@given(valid_v1_documents() | valid_v1_documents(complete=True))
@PROP
def test_every_valid_v1_document_round_trips(doc):
    """Does every valid v1 document convert to a valid v2 that converts back to exactly it?"""
    assert schema.validate(doc) == []
    new = v1_to_v2(doc)
    assert validate_v2(new) == [], (doc, new)
    assert v2_to_v1(new) == doc


def _v2_path(v1_path: str) -> str:
    """Where a v1 problem's field lands in v2 (items keep their index)."""
    head, sep, rest = v1_path.partition("[")
    new = V1_TO_V2[head]
    if head == "biology.other_alterations" and rest.endswith("].alteration"):
        rest = rest.replace("].alteration", "].type")
    return new + sep + rest


@given(valid_v1_documents() | valid_v1_documents(complete=True))
@PROP
def test_conversion_keeps_what_is_missing(doc):
    """Does the v2 case miss exactly what the v1 case missed (at the new paths), and does the
    identifier guard see the same free texts?"""
    new = v1_to_v2(doc)
    expected = {_v2_path(p.field) for p in schema.missing_for_submit(doc)}
    assert expected == {p.field for p in missing_for_submit_v2(new)}
    assert sorted(v for _, v in schema.text_fields(doc)) == sorted(
        v for _, v in text_fields_v2(new)
    )

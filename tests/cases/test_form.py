"""The referral form over HTTP (panel-case/2: the core, and the modules of the tumour type):
drafts, the tumour type and its modules, the tumour picker's search, the missing list,
submission, conditional fields, bad input, the identifier guard, double posts, optimistic
locking, mass assignment and refusals. Runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import copy
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from panel.caseformat import convert, schema, v2
from panel.caseformat.tumours import tumour_types
from panel.cases import forms, operations
from panel.cases.models import Case, CaseStatus
from tests.support.web import csrf_token

DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLE = json.loads((DATA / "case-example-alk.json").read_text())
NB = "modules.neuroblastoma."
SA = "modules.sarcoma."

#: The ALK example as a doctor types it into the form (ages in years + months).
ALK_FORM: list[tuple[str, str]] = [
    ("panel", "NAP"),
    ("referring_centre", "NEWCASTLE"),
    ("urgency", "routine"),
    ("tumour.morphology", "9500/3"),
    ("tumour.topography", "c74.9"),  # typed in lower case: stored as C74.9
    ("clinical_question", EXAMPLE["clinical_question"]),
    ("patient.age_at_diagnosis_months__years", "2"),
    ("patient.age_at_diagnosis_months__months", "6"),
    ("patient.age_now_months__years", "4"),
    ("patient.age_now_months__months", "4"),
    ("patient.sex", "female"),
    (NB + "diagnosis.inrg_stage", "M"),
    (NB + "diagnosis.inss_stage", ""),
    (NB + "diagnosis.risk_group", "high"),
    (NB + "diagnosis.histology", ""),
    (NB + "diagnosis.primary_site", "adrenal"),
    (NB + "diagnosis.mibg", "avid"),
    (NB + "diagnosis.siopen_score", "24"),
    ("status.category", "relapsed"),
    ("status.episode", "1"),
    ("status.months_diagnosis_to_event", "22"),
    ("status.months_since_last_treatment", "3"),
    ("status.relapse_pattern", "metastatic"),
    ("disease.sites", "bone"),
    ("disease.sites", "bone_marrow"),
    ("disease.measurable", "no"),
    ("disease.bone_marrow_pct", "10"),
    (NB + "disease.mibg", "avid"),
    (NB + "disease.siopen_score", "12"),
    (NB + "disease.curie_score", ""),
    (NB + "disease.fdg_pet", "not_done"),  # hidden by the form: does not apply when mIBG is avid
    (NB + "biology.mycn", "amplified"),
    (NB + "biology.alk.status", "mutation"),
    (NB + "biology.alk.copy_number", ""),
    (NB + "biology.alk.variants[0].protein_change", "F1174L"),
    (NB + "biology.alk.variants[0].vaf_pct", "23"),
    (NB + "biology.alk.variants[0].origin", "somatic"),
    (NB + "biology.segmental.del_1p36", ""),
    ("molecular.profiling_at_relapse", "done"),
    ("molecular.alterations__none", "1"),
    ("treatment.lines[0].phase", "induction"),
    ("treatment.lines[0].regimen", "RAPID_COJEC"),
    ("treatment.lines[0].cycles", "8"),
    ("treatment.lines[0].best_response", "PR"),
    ("treatment.lines[1].phase", "consolidation"),
    ("treatment.lines[1].regimen", "BUMEL"),
    ("treatment.lines[1].cycles", "1"),
    ("treatment.lines[1].best_response", "CR"),
    ("treatment.lines[2].phase", "maintenance"),
    ("treatment.lines[2].regimen", "DINUTUXIMAB_BETA"),
    ("treatment.lines[2].cycles", "5"),
    ("treatment.lines[2].best_response", "CR"),
    ("treatment.lines[3].phase", ""),  # an empty row left at the end is dropped
    ("treatment.lines[3].cycles", ""),
    ("treatment.prior_hdc", "BUMEL"),
    ("treatment.prior_asct_count", "1"),
    (NB + "treatment.prior_mibg_therapy", "no"),
    (NB + "treatment.prior_anti_gd2", "DINUTUXIMAB_BETA"),
    ("treatment.prior_alk_inhibitor", "__none__"),
    ("treatment.stored_stem_cells_cd34_per_kg", ""),
    (NB + "response.end_induction.overall", "PR"),
    (NB + "response.end_induction.mibg", "avid"),
    (NB + "response.end_induction.siopen_score", "4"),
    (NB + "response.end_induction.bone_marrow", "CR"),
    (NB + "response.current.overall", "SD"),
    ("fitness.performance_scale", "lansky"),
    ("fitness.performance_score", "80"),
    ("fitness.life_expectancy_months", "12"),
    ("organ_function.adequate", "yes"),
    ("family.aware_of_referral", "yes"),
    ("family.treatment_abroad_interest", ""),
    ("family.max_travel_km", "500"),
    ("family.questions[0]", EXAMPLE["family"]["questions"][0]),
    ("family.questions[1]", EXAMPLE["family"]["questions"][1]),
    ("family.questions[2]", EXAMPLE["family"]["questions"][2]),
]

NHS = "943 476 5919"


def expected_alk() -> dict:
    """The ALK example as panel-case/2: exactly what the converter makes of it."""
    doc = copy.deepcopy(EXAMPLE)
    del doc["disease"]["fdg_pet"]  # a conditional field that does not apply is not kept
    return convert.v1_to_v2(doc)


def nb(data: dict) -> dict:
    """The neuroblastoma module of a stored body."""
    return data["modules"]["neuroblastoma"]


def with_values(pairs, **changes) -> list[tuple[str, str]]:
    """``pairs`` with some names replaced (a value of None drops the name)."""
    out = [(k, v) for k, v in pairs if k not in changes]
    out += [(k, v) for k, v in changes.items() if v is not None]
    return out


def changed(**kw) -> list[tuple[str, str]]:
    return with_values(ALK_FORM, **{k.replace("__dot__", "."): v for k, v in kw.items()})


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Dr Form Referrer")


@pytest.fixture
def ref_client(app, db_session, referrer, login):
    client = app.test_client()
    login(client, referrer)
    return client


def post(app, client, url, pairs, **extra):
    data = MultiDict(list(pairs))
    if "csrf_token" not in data:
        data["csrf_token"] = csrf_token(app, client)
    for k, v in extra.items():
        data[k] = v
    return client.post(url, data=data)


def new_token(client) -> str:
    html = client.get("/cases/new").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def create_draft(
    app, client, pairs=(("panel", "NAP"), ("clinical_question", "Which trial?"))
) -> str:
    resp = post(app, client, "/cases/new", pairs, form_token=new_token(client), action="save")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    m = re.fullmatch(r"/cases/(NB-\d{4}-\d{4})/edit", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return m.group(1)


def load(db_session, ref: str) -> Case:
    db_session.expire_all()
    return db_session.scalar(select(Case).where(Case.reference == ref))


def edit_version(client, ref: str) -> str:
    html = client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def save(app, client, ref, pairs, *, version=None, action="save"):
    version = version if version is not None else edit_version(client, ref)
    return post(app, client, f"/cases/{ref}/edit", pairs, version=version, action=action)


def case_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Case))


class _Names(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("name"):
            self.names.add(re.sub(r"\[\d+\]", "[]", a["name"]))


def form_names(html: str) -> set[str]:
    p = _Names()
    p.feed(html)
    return p.names


# --------------------------------------------------------------------------- the form and the format
def test_layout_covers_every_field_of_the_format_once():
    """Is every field of panel-case/2 (core and modules) placed in exactly one section of the
    form, a module's fields in that module's sections and the core's in the core's?"""
    placed = [p for s in forms.SECTIONS for p in s.paths]
    assert len(placed) == len(set(placed))
    assert set(placed) == set(v2.FIELDS_V2) - {"schema", "reference"}
    for section in forms.SECTIONS:
        for path in section.paths:
            assert forms.module_of(path) == section.module, path
    assert forms.SECTIONS[0].paths[0] == "tumour.morphology"  # the tumour type first
    assert {s.module for s in forms.SECTIONS} == {None, *v2.MODULES}


def _form_words(spec) -> list:
    if spec.type == "bool":
        return [True, False]
    return list(forms.VALUE_SETS[spec.value_set].codes)


@pytest.mark.parametrize("path", sorted(forms.CONDITIONS))
def test_conditions_shown_by_the_form_agree_with_the_format(path):
    """Does the form show each conditional field exactly when the format requires it (for
    every value of the field that decides, with a tumour whose module has the field)?"""
    ctrl, values = forms.CONDITIONS[path]
    module = forms.module_of(path)
    tumours = [
        code for code in tumour_types() if module is None or v2.MODULES[module].applies_to(code)
    ]
    if ctrl == "tumour.morphology":
        cases = [(code, code) for code in tumours]
    else:
        cases = [(tumours[0], w) for w in _form_words(v2.FIELDS_V2[ctrl])]
    for tumour, word in cases:
        doc: dict = {"tumour": {"morphology": tumour}}
        schema.set_path(doc, ctrl, word)
        shown = forms._form_value(word) in values
        assert (path in v2.applicable_conditionals_v2(doc)) == shown, (ctrl, word)
    conditional = {p for p, s in v2.FIELDS_V2.items() if s.requirement == "C"}
    assert set(forms.CONDITIONS) == conditional


def test_new_form_has_an_input_for_every_field(app, db_session, ref_client):
    """Does the new-case page render every field, and only names the form reads?"""
    resp = ref_client.get("/cases/new")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    names = form_names(html)
    for name, _ in ALK_FORM:
        assert re.sub(r"\[\d+\]", "[]", name) in names, name
    for path in set(v2.FIELDS_V2) - {"schema", "reference"}:
        assert any(
            n == path or n.startswith(path + "__") or n.startswith(path + "[") for n in names
        ), path
    # No tumour type yet: the modules' sections are hidden and their fields disabled.
    for key in ("nb-diagnosis", "nb-disease", "nb-response", "sarcoma"):
        section = re.search(rf'<section [^>]*data-section="{key}"[^>]*>', html).group(0)
        assert " hidden" in section, key
    assert html.count('<fieldset class="card-body section-fields" disabled>') == 4
    # The tumour list without JavaScript: every type, grouped by ICCC-3 group.
    assert html.count('data-modules="') == len(tumour_types()) == 70
    assert '<optgroup label="IX Soft tissue and other extraosseous sarcomas">' in html
    assert 'name="row_op" value="update"' in html  # "Update form"
    # Value sets are offered with their human labels, and an empty "not entered" choice.
    assert "L2: localised, with image-defined risk factors" in html
    assert "— not entered —" in html
    assert 'name="csrf_token"' in html and 'name="form_token"' in html
    # No inline scripts, handlers or styles (CSP).
    assert "<script>" not in html and " onclick=" not in html and " style=" not in html
    assert "case-form.js" in html and "case-form.css" in html


# --------------------------------------------------------------------------- drafts and submission
def test_create_draft_through_the_form(app, db_session, ref_client, referrer):
    """Does saving the new-case form create one draft owned by the referrer?"""
    before = case_count(db_session)
    ref = create_draft(app, ref_client)
    case = load(db_session, ref)
    assert case_count(db_session) == before + 1
    assert case.status == CaseStatus.DRAFT and case.created_by_id == referrer.id
    assert case.data["clinical_question"] == "Which trial?"
    assert case.referring_centre.code == "NEWCASTLE"
    page = ref_client.get(f"/cases/{ref}/edit")
    assert page.status_code == 200 and f"Draft {ref} saved." in page.get_data(as_text=True)


def test_incomplete_draft_saves_and_lists_what_is_missing(app, db_session, ref_client):
    """Can an incomplete draft be saved, and does the page say what is still missing?"""
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [
            ("panel", "NAP"),
            ("clinical_question", "Which trial?"),
            ("patient.sex", "male"),
            ("patient.age_now_months__years", "3"),
        ],
    )
    assert resp.status_code == 302
    case = load(db_session, ref)
    assert case.data["patient"] == {"sex": "male", "age_now_months": 36}
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert "What is still missing" in html
    for text in (
        "Age at diagnosis",
        "INRG stage",
        "Treatment lines (in order)",
        "Performance score",
    ):
        assert text in html
    assert 'href="#f-patient-age_at_diagnosis_months__years"' in html  # linked to the field
    assert (
        'href="#f-patient-sex"' not in html.split("What is still missing")[1].split("</section>")[0]
    )


def test_submit_is_refused_until_complete_and_names_each_missing_field(app, db_session, ref_client):
    """Is submission refused (422) with every missing field named, and the case left a draft?"""
    pairs = changed(
        **{
            NB + "biology.mycn": None,
            "fitness.performance_score": None,
            NB + "disease.siopen_score": None,
        }
    )
    ref = create_draft(app, ref_client, pairs)
    resp = post(app, ref_client, f"/cases/{ref}/submit", [])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    block = html.split('data-testid="submit-missing"')[1].split("</ul>")[0]
    for label in ("MYCN", "Performance score", "SIOPEN score now"):
        assert label in block
    assert "(mIBG now is avid)" in block
    assert 'href="#f-modules-neuroblastoma-biology-mycn"' in block
    assert load(db_session, ref).status == CaseStatus.DRAFT
    # "Save and submit" on the edit page: the draft is saved, the submission refused.
    resp = save(app, ref_client, ref, with_values(pairs, **{"urgency": "urgent"}), action="submit")
    assert resp.status_code == 422
    case = load(db_session, ref)
    assert case.status == CaseStatus.DRAFT and case.urgency == "urgent"
    # Once complete, it submits.
    resp = save(app, ref_client, ref, ALK_FORM, action="submit")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{ref}"
    assert load(db_session, ref).status == CaseStatus.SUBMITTED


def test_save_and_submit_of_an_incomplete_new_form_keeps_the_draft_and_lists_what_is_missing(
    app, db_session, ref_client
):
    before = case_count(db_session)
    resp = post(
        app,
        ref_client,
        "/cases/new",
        [("panel", "NAP"), ("clinical_question", "Which trial?")],
        form_token=new_token(ref_client),
        action="submit",
    )
    assert resp.status_code == 302
    ref = re.fullmatch(
        r"/cases/(NB-\d{4}-\d{4})/edit\?submit=refused", resp.headers["Location"]
    ).group(1)
    assert case_count(db_session) == before + 1 and load(db_session, ref).status == CaseStatus.DRAFT
    html = ref_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert (
        "Not submitted yet" in html
        and 'data-testid="submit-missing"' in html
        and 'href="#f-tumour-morphology">Tumour type</a>' in html
    )
    block = html.split('data-testid="submit-missing"')[1].split("</ul>")[0]
    assert "INRG stage" not in block  # no tumour type yet: no module asks anything


def test_the_alk_example_entered_through_the_form_submits_unchanged(app, db_session, ref_client):
    """Does the ALK example, typed field by field, store exactly the example converted to
    panel-case/2 (ages in months), and does the form read it back unchanged?"""
    resp = post(
        app, ref_client, "/cases/new", ALK_FORM, form_token=new_token(ref_client), action="submit"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    ref = resp.headers["Location"].rsplit("/", 1)[1]
    assert resp.headers["Location"] == f"/cases/{ref}"
    case = load(db_session, ref)
    assert case.status == CaseStatus.SUBMITTED
    doc = operations.to_document(case)
    assert doc.pop("reference") == ref
    assert doc == expected_alk()
    assert operations.to_document_v1(case) == {
        **{k: v for k, v in EXAMPLE.items() if k != "disease"},
        "disease": {k: v for k, v in EXAMPLE["disease"].items() if k != "fdg_pet"},
        "reference": ref,
    }
    # The edit form shows what was stored: ages split back into years and months.
    data = forms.CaseFormData.from_document(doc)
    assert data.value("patient.age_at_diagnosis_months__years") == "2"
    assert data.value("patient.age_at_diagnosis_months__months") == "6"
    assert data.checked("treatment.prior_alk_inhibitor", "__none__")
    assert data.to_document()[0] == {k: v for k, v in doc.items()}


def test_a_double_submit_submits_once(app, db_session, ref_client):
    ref = create_draft(app, ref_client, ALK_FORM)
    assert post(app, ref_client, f"/cases/{ref}/submit", []).status_code == 302
    assert post(app, ref_client, f"/cases/{ref}/submit", []).status_code == 302
    assert load(db_session, ref).status == CaseStatus.SUBMITTED


# --------------------------------------------------------------------------- conditional fields and types
def test_conditional_fields_that_do_not_apply_are_dropped(app, db_session, ref_client):
    """Are SIOPEN, relapse pattern, ALK variants and FDG-PET dropped when they do not apply?"""
    pairs = changed(
        **{
            NB + "diagnosis.mibg": "non_avid",
            NB + "disease.mibg": "avid",
            "status.category": "refractory",
            NB + "biology.alk.status": "wild_type",
            NB + "biology.alk.copy_number": "7",
        }
    )
    ref = create_draft(app, ref_client, pairs)
    data = load(db_session, ref).data
    assert "siopen_score" not in nb(data)["diagnosis"]
    assert "relapse_pattern" not in data["status"]
    assert nb(data)["biology"]["alk"] == {"status": "wild_type"}
    assert nb(data)["disease"]["siopen_score"] == 12 and "fdg_pet" not in nb(data)["disease"]
    # And kept when they do apply: FDG-PET when mIBG now is not avid, copy number for amplification.
    save(
        app,
        ref_client,
        ref,
        with_values(
            pairs, **{NB + "disease.mibg": "not_done", NB + "biology.alk.status": "amplification"}
        ),
    )
    data = load(db_session, ref).data
    assert nb(data)["disease"]["fdg_pet"] == "not_done"
    assert "siopen_score" not in nb(data)["disease"]
    assert nb(data)["biology"]["alk"] == {"status": "amplification", "copy_number": 7}


def test_an_invalid_value_in_a_field_that_does_not_apply_does_not_block_the_save(
    app, db_session, ref_client
):
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [
            ("panel", "NAP"),
            ("tumour.morphology", "9500/3"),
            (NB + "diagnosis.mibg", "non_avid"),
            (NB + "diagnosis.siopen_score", "lots"),
        ],
    )
    assert resp.status_code == 302
    assert nb(load(db_session, ref).data)["diagnosis"] == {"mibg": "non_avid"}


def test_ages_are_entered_in_years_and_months_and_stored_in_months(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    base = [("panel", "NAP")]
    resp = save(
        app,
        ref_client,
        ref,
        base
        + [
            ("patient.age_at_diagnosis_months__years", "1"),
            ("patient.age_at_diagnosis_months__months", "11"),
            ("patient.age_now_months__years", ""),
            ("patient.age_now_months__months", "30"),
        ],
    )
    assert resp.status_code == 422  # 30 months is not 0..11
    assert "Months must be 0 to 11" in resp.get_data(as_text=True)
    resp = save(
        app,
        ref_client,
        ref,
        base
        + [
            ("patient.age_at_diagnosis_months__years", "1"),
            ("patient.age_at_diagnosis_months__months", "11"),
            ("patient.age_now_months__years", "40"),
            ("patient.age_now_months__months", ""),
        ],
    )
    assert resp.status_code == 302
    assert load(db_session, ref).data["patient"] == {
        "age_at_diagnosis_months": 23,
        "age_now_months": 480,
    }


@pytest.mark.parametrize(
    ("years", "months", "message"),
    [
        ("41", "0", "Must be at most 40 years"),
        ("-1", "0", "Enter whole years and months"),
        ("2.5", "", "Enter whole years and months"),
        ("1", "12", "Months must be 0 to 11"),
    ],
)
def test_ages_out_of_range_are_refused(app, db_session, ref_client, years, months, message):
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [
            ("panel", "NAP"),
            ("patient.age_now_months__years", years),
            ("patient.age_now_months__months", months),
        ],
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert f'value="{years}"' in html  # what was typed is kept
    assert "patient" not in load(db_session, ref).data


def test_age_now_below_age_at_diagnosis_is_refused(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        changed(**{"patient.age_now_months__years": "2", "patient.age_now_months__months": "0"}),
    )
    assert resp.status_code == 422
    assert "Cannot be less than the age at diagnosis." in resp.get_data(as_text=True)
    assert "patient" not in load(db_session, ref).data


def test_a_siopen_score_of_90_is_refused(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = save(app, ref_client, ref, changed(**{NB + "disease.siopen_score": "90"}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Must be at most 72." in html
    assert 'value="90"' in html
    assert "modules" not in load(db_session, ref).data


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("patient.sex", "purple", "is not one of"),
        ("disease.sites", "kneecap", "is not one of"),
        ("treatment.lines[0].regimen", "MAGIC_BEANS", "is not one of"),
        ("status.episode", "first", "Must be a whole number"),
        ("disease.bone_marrow_pct", "ten", "Must be a number"),
        ("disease.measurable", "maybe", "Must be yes or no"),
        ("panel", "MARS", "is not a configured panel"),
        ("fitness.performance_score", "85", "Must be a multiple of 10"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_saved(
    app, db_session, ref_client, name, value, message
):
    ref = create_draft(app, ref_client)
    before = dict(load(db_session, ref).data)
    resp = save(app, ref_client, ref, changed(**{name: value}))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert load(db_session, ref).data == before


def test_none_in_a_list_is_an_empty_list_and_nothing_ticked_is_unknown(app, db_session, ref_client):
    ref = create_draft(
        app,
        ref_client,
        changed(**{NB + "treatment.prior_anti_gd2": "__none__", "treatment.prior_hdc": None}),
    )
    data = load(db_session, ref).data
    assert nb(data)["treatment"]["prior_anti_gd2"] == [] and "prior_hdc" not in data["treatment"]
    resp = save(
        app,
        ref_client,
        ref,
        changed(**{NB + "treatment.prior_anti_gd2": None})
        + [
            (NB + "treatment.prior_anti_gd2", "__none__"),
            (NB + "treatment.prior_anti_gd2", "NAXITAMAB"),
        ],
    )
    assert resp.status_code == 422 and "not both" in resp.get_data(as_text=True)


def test_null_choices(app, db_session, ref_client):
    """Bone marrow "not done" and travel "no limit" are stored as null."""
    ref = create_draft(
        app,
        ref_client,
        changed(
            **{
                "disease.bone_marrow_pct": "",
                "disease.bone_marrow_pct__null": "1",
                "family.max_travel_km": "",
                "family.max_travel_km__null": "1",
            }
        ),
    )
    data = load(db_session, ref).data
    assert data["disease"]["bone_marrow_pct"] is None and data["family"]["max_travel_km"] is None
    assert not v2.missing_for_submit_v2(operations.to_document(load(db_session, ref)))


# --------------------------------------------------------------------------- hostile text
def test_a_one_megabyte_clinical_question_is_refused(app, db_session, ref_client):
    before = case_count(db_session)
    resp = post(
        app,
        ref_client,
        "/cases/new",
        changed(clinical_question="x" * 1_000_000),
        form_token=new_token(ref_client),
    )
    assert resp.status_code in (413, 422)
    assert case_count(db_session) == before
    # Just over the format's limit: refused with the field named.
    resp = post(
        app,
        ref_client,
        "/cases/new",
        changed(clinical_question="y" * 4001),
        form_token=new_token(ref_client),
    )
    assert resp.status_code == 422
    assert "too long (4001 characters; at most 4000)" in resp.get_data(as_text=True)
    assert case_count(db_session) == before


def test_html_and_template_syntax_are_stored_verbatim_and_shown_inert(app, db_session, ref_client):
    text = '<script>alert("x")</script> {{ 7*7 }} {% if 1 %}yes{% endif %} <b>bold</b>'
    ref = create_draft(
        app,
        ref_client,
        changed(clinical_question=text, **{"family.questions[0]": "<img src=x onerror=alert(1)>"}),
    )
    case = load(db_session, ref)
    assert case.data["clinical_question"] == text
    assert case.questions[0].text == "<img src=x onerror=alert(1)>"
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; {{ 7*7 }} {% if 1 %}yes{% endif %} &lt;b&gt;bold&lt;/b&gt;"
        in html
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_an_nhs_number_is_refused_highlighted_and_never_saved_or_logged(
    app, db_session, ref_client, caplog
):
    caplog.set_level(logging.DEBUG)
    before = case_count(db_session)
    text = f"<b>Relapse</b> in a girl, NHS number {NHS}; which trial?"
    resp = post(
        app,
        ref_client,
        "/cases/new",
        changed(clinical_question=text),
        form_token=new_token(ref_client),
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert case_count(db_session) == before
    # Highlighted, labelled with its kind, and everything around it escaped.
    assert (
        f'<mark class="idf idf-hard">{NHS}<span class="idf-kind">NHS number</span></mark>' in html
    )
    assert "&lt;b&gt;Relapse&lt;/b&gt; in a girl, NHS number <mark" in html
    assert "<b>Relapse</b>" not in html
    # The user's text is kept in the form.
    assert (
        f"&lt;b&gt;Relapse&lt;/b&gt; in a girl, NHS number {NHS}; which trial?</textarea>" in html
    )
    # On the edit page of an existing draft too, and the stored draft is unchanged.
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [
            ("panel", "NAP"),
            ("clinical_question", "Which trial?"),
            ("family.questions[0]", f"Can you check {NHS}?"),
        ],
    )
    assert resp.status_code == 422
    assert 'data-field="family.questions[0]"' in resp.get_data(as_text=True)
    assert load(db_session, ref).questions == []
    assert NHS not in caplog.text and NHS.replace(" ", "") not in caplog.text


def test_the_summary_of_identifiers_has_single_punctuation(app, db_session, ref_client):
    """Two findings in one field: the alert's summary lists their sentences once punctuated
    ("... NHS number. Looks like a postcode."), never ".;" or ". ;"."""
    text = f"NHS number {NHS}, living near NR1 3AB; which trial?"
    resp = post(
        app,
        ref_client,
        "/cases/new",
        changed(clinical_question=text),
        form_token=new_token(ref_client),
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    summary = html[html.index('<ul class="mb-0 mt-2 small">') :]
    summary = summary[: summary.index("</ul>")]
    item = re.search(r"</a>: ([^<]*)</li>", summary).group(1)
    assert item == "Looks like an NHS number. Looks like a postcode."


def test_a_soft_finding_is_saved_with_a_warning(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [("panel", "NAP"), ("clinical_question", "Scan in March 2021 showed relapse.")],
    )
    assert resp.status_code == 302
    assert load(db_session, ref).data["clinical_question"] == "Scan in March 2021 showed relapse."
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert "1 possible identifier to check" in html
    assert '<mark class="idf idf-soft">March 2021<span class="idf-kind">Date</span></mark>' in html


# --------------------------------------------------------------------------- double posts, conflicts
def test_a_double_post_of_the_new_case_form_makes_one_case(app, db_session, ref_client):
    token = new_token(ref_client)
    before = case_count(db_session)
    first = post(app, ref_client, "/cases/new", ALK_FORM, form_token=token, action="save")
    second = post(app, ref_client, "/cases/new", ALK_FORM, form_token=token, action="save")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert case_count(db_session) == before + 1


def test_two_people_editing_one_draft_get_a_conflict_not_an_overwrite(
    app, db_session, referrer, make_user, login
):
    """Optimistic locking: the second save of the same version gets 409 and keeps its values."""
    colleague = make_user(referrer_at="NEWCASTLE", name="Dr Co Referrer")
    a, b = app.test_client(), app.test_client()
    login(a, referrer)
    login(b, colleague)
    ref = create_draft(app, a, ALK_FORM)
    operations.add_co_referrer(load(db_session, ref), colleague, by=referrer)
    db_session.commit()
    va, vb = edit_version(a, ref), edit_version(b, ref)
    assert va == vb
    assert (
        save(app, a, ref, changed(clinical_question="Question from A?"), version=va).status_code
        == 302
    )
    resp = save(
        app, b, ref, changed(clinical_question="Question from B?", urgency="urgent"), version=vb
    )
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "someone else saved this referral while you were editing it" in html
    assert "Question from B?</textarea>" in html
    assert '<option value="urgent" selected>' in html
    assert "Clinical question" in html.split('data-testid="conflict"')[1].split("</div>")[0]
    case = load(db_session, ref)
    assert case.data["clinical_question"] == "Question from A?" and case.urgency == "routine"
    # Saving again from the stale form is still a conflict; from a fresh form it works.
    assert save(app, b, ref, changed(clinical_question="Again B?"), version=vb).status_code == 409
    assert save(app, b, ref, changed(clinical_question="Fresh B?")).status_code == 302
    assert load(db_session, ref).data["clinical_question"] == "Fresh B?"


def test_a_save_without_a_version_is_a_conflict(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = post(
        app, ref_client, f"/cases/{ref}/edit", [("panel", "NAP"), ("clinical_question", "Other?")]
    )
    assert resp.status_code == 409
    assert load(db_session, ref).data["clinical_question"] == "Which trial?"


def test_workflow_status_and_creator_cannot_be_set_through_the_form(
    app, db_session, ref_client, referrer, make_user
):
    other = make_user(referrer_at="NEWCASTLE")
    token = new_token(ref_client)
    resp = post(
        app,
        ref_client,
        "/cases/new",
        [
            ("panel", "NAP"),
            ("status", "submitted"),
            ("created_by", str(other.id)),
            ("created_by_id", str(other.id)),
            ("reference", "NB-1999-0001"),
            ("version", "99"),
            ("submitted_at", "2020-01-01"),
        ],
        form_token=token,
        action="save",
    )
    assert resp.status_code == 302
    ref = resp.headers["Location"].split("/")[2]
    case = load(db_session, ref)
    assert (
        case.status == CaseStatus.DRAFT
        and case.created_by_id == referrer.id
        and ref != "NB-1999-0001"
    )
    assert case.submitted_at is None
    resp = save(
        app,
        ref_client,
        ref,
        [
            ("panel", "NAP"),
            ("status", "submitted"),
            ("created_by", str(other.id)),
            ("status.category", "relapsed"),
        ],
    )
    assert resp.status_code == 302
    case = load(db_session, ref)
    assert case.status == CaseStatus.DRAFT and case.created_by_id == referrer.id
    assert case.data["status"] == {"category": "relapsed"}


def test_a_post_without_the_csrf_token_is_refused(app, db_session, ref_client):
    before = case_count(db_session)
    resp = ref_client.post("/cases/new", data={"panel": "NAP", "form_token": "x" * 32})
    assert resp.status_code == 400
    assert case_count(db_session) == before


# --------------------------------------------------------------------------- lists without JavaScript
def test_list_rows_can_be_added_moved_and_removed_without_javascript(app, db_session, ref_client):
    token = new_token(ref_client)
    pairs = [
        ("panel", "NAP"),
        ("treatment.lines[0].regimen", "TVD"),
        ("treatment.lines[1].regimen", "ICE"),
        ("family.questions[0]", "First?"),
    ]
    resp = post(
        app, ref_client, "/cases/new", pairs, form_token=token, row_op="add:family.questions"
    )
    assert resp.status_code == 200
    assert 'name="family.questions[1]"' in resp.get_data(as_text=True)
    resp = post(
        app, ref_client, "/cases/new", pairs, form_token=token, row_op="up:treatment.lines:1"
    )
    html = resp.get_data(as_text=True)
    assert html.index('value="ICE" selected') < html.index('value="TVD" selected')
    resp = post(
        app, ref_client, "/cases/new", pairs, form_token=token, row_op="remove:treatment.lines:0"
    )
    html = re.sub(r"<template.*?</template>", "", resp.get_data(as_text=True), flags=re.S)
    assert 'value="TVD" selected' not in html and 'value="ICE" selected' in html
    assert (
        db_session.scalar(select(Case).where(Case.creation_key == token)) is None
    )  # nothing saved


def test_parents_questions_keep_their_identity_when_reordered_on_the_form(
    app, db_session, ref_client
):
    ref = create_draft(app, ref_client, ALK_FORM)
    ids = [q.id for q in load(db_session, ref).questions]
    qs = EXAMPLE["family"]["questions"]
    pairs = changed(
        **{"family.questions[0]": qs[2], "family.questions[1]": qs[0], "family.questions[2]": None}
    )
    assert save(app, ref_client, ref, pairs).status_code == 302
    case = load(db_session, ref)
    assert [q.text for q in case.questions] == [qs[2], qs[0]]
    assert [q.id for q in case.questions] == [ids[2], ids[0]]


# --------------------------------------------------------------------------- who may use the form
def test_only_referrers_may_start_a_referral(app, db_session, make_user, login):
    for user in (
        make_user(roles=[("NAP", "member")]),
        make_user(roles=[("NAP", "coordinator")]),
        make_user(admin=True),
    ):
        client = app.test_client()
        login(client, user)
        assert client.get("/cases/new").status_code == 403
        assert post(app, client, "/cases/new", ALK_FORM, form_token="t" * 32).status_code == 403


def test_who_may_open_the_edit_page(app, db_session, ref_client, referrer, make_user, login):
    """404 for those who may not see the case (another centre, the panel while it is a draft,
    admins); 403 for those who see it but may not edit it (the panel once submitted)."""
    ref = create_draft(app, ref_client, ALK_FORM)
    people = {
        "other_referrer": make_user(referrer_at="BIRMINGHAM"),
        "member": make_user(roles=[("NAP", "member")]),
        "chair": make_user(roles=[("NAP", "chair")]),
        "coordinator": make_user(roles=[("NAP", "coordinator")]),
        "admin": make_user(admin=True),
    }
    clients = {}
    for key, user in people.items():
        clients[key] = app.test_client()
        login(clients[key], user)
    for key, client in clients.items():
        assert client.get(f"/cases/{ref}/edit").status_code == 404, key
        assert post(app, client, f"/cases/{ref}/edit", ALK_FORM, version="1").status_code == 404, (
            key
        )
        assert post(app, client, f"/cases/{ref}/submit", []).status_code == 404, key
    assert post(app, ref_client, f"/cases/{ref}/submit", []).status_code == 302
    expected = {
        "other_referrer": 404,
        "member": 403,
        "chair": 403,
        "coordinator": 403,
        "admin": 404,
    }
    for key, client in clients.items():
        assert client.get(f"/cases/{ref}/edit").status_code == expected[key], key
        assert (
            post(app, client, f"/cases/{ref}/edit", ALK_FORM, version="1").status_code
            == expected[key]
        ), key
    # The referrer's own submitted case is no longer editable either.
    assert ref_client.get(f"/cases/{ref}/edit").status_code == 403
    assert ref_client.get("/cases/NB-2000-9999/edit").status_code == 404


def test_information_requested_can_be_edited_and_resubmitted_but_not_moved_to_another_panel(
    app, db_session, ref_client, referrer, make_user
):
    coordinator = make_user(roles=[("NAP", "coordinator")])
    ref = create_draft(app, ref_client, ALK_FORM)
    assert post(app, ref_client, f"/cases/{ref}/submit", []).status_code == 302
    operations.request_information(
        load(db_session, ref), by=coordinator, questions=["Curie score now?"]
    )
    db_session.commit()
    page = ref_client.get(f"/cases/{ref}/edit")
    assert page.status_code == 200 and "Save and resubmit" in page.get_data(as_text=True)
    resp = save(
        app,
        ref_client,
        ref,
        changed(panel="ECMC-NORTH", **{NB + "disease.curie_score": "9"}),
        action="submit",
    )
    assert resp.status_code == 302
    case = load(db_session, ref)
    assert case.status == CaseStatus.SUBMITTED and case.panel.code == "NAP"
    assert case.data["modules"]["neuroblastoma"]["disease"]["curie_score"] == 9


# --------------------------------------------------------------------------- urgency after submission
def test_editing_after_an_information_request_keeps_the_coordinators_urgency(
    app, db_session, ref_client, referrer, make_user
):
    """After submission, does the form show the urgency read-only (no input to post) and keep
    the coordinator's 'urgent' even when a posted form says 'routine'?"""
    from panel.meetings import triage

    coordinator = make_user(roles=[("NAP", "coordinator")])
    ref = create_draft(app, ref_client, ALK_FORM)
    assert "urgency" in form_names(ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True))
    assert post(app, ref_client, f"/cases/{ref}/submit", []).status_code == 302
    case = load(db_session, ref)
    triage.set_urgency(case, True, by=coordinator)
    operations.request_information(case, by=coordinator, questions=["What was the mIBG response?"])
    db_session.commit()
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert "urgency" not in form_names(html)
    assert (
        "the panel&#39;s coordinator sets the urgency" in html
        or "the panel's coordinator sets the urgency" in html
    )
    resp = save(
        app, ref_client, ref, changed(clinical_question="Which trial now?", urgency="routine")
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    case = load(db_session, ref)
    assert case.data["clinical_question"] == "Which trial now?"
    assert case.urgency == "urgent" and case.data["urgency"] == "urgent"


# --------------------------------------------------------------------------- tumour type and modules
#: A relapsed alveolar rhabdomyosarcoma, as a doctor types it (the sarcoma module's fields and
#: the new core fields: an alteration, a line's months and toxicities, organ function, local MDT).
RMS_FORM: list[tuple[str, str]] = [
    ("panel", "ECMC-NORTH"),
    ("referring_centre", "NEWCASTLE"),
    ("urgency", "routine"),
    ("tumour.morphology", "8920/3"),
    ("tumour.description", "Alveolar rhabdomyosarcoma of the forearm"),
    ("clinical_question", "Is there an early-phase trial for a second relapse?"),
    ("local_mdt.discussed", "yes"),
    ("local_mdt.months_ago", "1"),
    ("local_mdt.outcome", "Refer for early-phase trial options."),
    ("patient.age_at_diagnosis_months__years", "9"),
    ("patient.age_at_diagnosis_months__months", "0"),
    ("patient.age_now_months__years", "11"),
    ("patient.age_now_months__months", "3"),
    ("patient.sex", "male"),
    ("status.category", "relapsed"),
    ("status.episode", "2"),
    ("status.months_diagnosis_to_event", "26"),
    ("status.months_since_last_treatment", "4"),
    ("status.relapse_pattern", "combined"),
    ("disease.sites", "lung"),
    ("disease.measurable", "yes"),
    ("disease.bone_marrow_pct", ""),
    ("disease.bone_marrow_pct__null", "1"),
    ("molecular.profiling_at_relapse", "done"),
    ("molecular.alterations[0].gene", "FOXO1"),
    ("molecular.alterations[0].type", "fusion"),
    ("molecular.alterations[0].partner", "PAX3"),
    ("molecular.alterations[0].test", "rna_seq"),
    ("molecular.alterations[0].origin", "somatic"),
    ("molecular.alterations[0].at_relapse", "yes"),
    ("molecular.alterations[1].gene", "MYCN"),
    ("molecular.alterations[1].type", "amplification"),
    ("molecular.alterations[1].copy_number", "12"),
    ("treatment.lines[0].phase", "induction"),
    ("treatment.lines[0].regimen", "IVA"),
    ("treatment.lines[0].cycles", "9"),
    ("treatment.lines[0].best_response", "CR"),
    ("treatment.lines[0].start_month", "0"),
    ("treatment.lines[0].end_month", "7"),
    ("treatment.lines[0].toxicities", "hearing"),
    ("treatment.lines[0].toxicities", "renal"),
    ("treatment.lines[1].phase", "salvage"),
    ("treatment.lines[1].regimen", "VIT"),
    ("treatment.lines[1].cycles", "6"),
    ("treatment.lines[1].best_response", "PD"),
    ("fitness.performance_scale", "lansky"),
    ("fitness.performance_score", "70"),
    ("organ_function.adequate", "yes"),
    ("organ_function.gfr_ml_min_173m2", "88"),
    ("organ_function.platelets_x10e9_l", "140"),
    ("family.aware_of_referral", "yes"),
    (SA + "subtype", "rms_alveolar"),
    (SA + "foxo1_fusion", "pax3_foxo1"),
    (SA + "ewing_fusion", "ewsr1_fli1"),  # does not apply to a rhabdomyosarcoma: dropped
    (SA + "risk_group", "very_high"),
    (SA + "metastatic_at_diagnosis", "no"),
    (SA + "metastatic_sites_at_diagnosis", "lung"),  # only when metastatic: dropped
    (NB + "biology.mycn", "amplified"),  # another module's field: never read
]


def test_a_rhabdomyosarcoma_is_referred_to_an_ecmc_panel_through_the_form(
    app, db_session, ref_client
):
    """Can a sarcoma case be created and submitted through the form, with only the core and the
    sarcoma module stored (nothing of the neuroblastoma module, whatever was posted)?"""
    # Its module's required fields are asked for first.
    missing_rms = [
        (k, v) for k, v in RMS_FORM if k != SA + "risk_group" and k != SA + "foxo1_fusion"
    ]
    ref = create_draft(app, ref_client, missing_rms)
    resp = post(app, ref_client, f"/cases/{ref}/submit", [])
    assert resp.status_code == 422
    block = resp.get_data(as_text=True).split('data-testid="submit-missing"')[1].split("</ul>")[0]
    assert "<strong>Sarcoma:</strong>" in block
    assert 'href="#f-modules-sarcoma-risk_group">Risk group at diagnosis</a>' in block
    assert "FOXO1 fusion" in block and "(the tumour is a rhabdomyosarcoma)" in block
    assert "INRG" not in block and "Ewing sarcoma fusion" not in block
    # Complete: it submits to the ECMC panel.
    resp = save(app, ref_client, ref, RMS_FORM, action="submit")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    case = load(db_session, ref)
    assert case.status == CaseStatus.SUBMITTED and case.panel.code == "ECMC-NORTH"
    data = case.data
    assert data["tumour"] == {
        "morphology": "8920/3",
        "description": "Alveolar rhabdomyosarcoma of the forearm",
    }
    assert data["modules"] == {
        "sarcoma": {
            "subtype": "rms_alveolar",
            "foxo1_fusion": "pax3_foxo1",
            "risk_group": "very_high",
            "metastatic_at_diagnosis": False,
        }
    }
    assert data["molecular"]["alterations"] == [
        {
            "gene": "FOXO1",
            "type": "fusion",
            "partner": "PAX3",
            "origin": "somatic",
            "test": "rna_seq",
            "at_relapse": True,
        },
        {"gene": "MYCN", "type": "amplification", "copy_number": 12},
    ]
    assert data["treatment"]["lines"][0] == {
        "phase": "induction",
        "regimen": "IVA",
        "cycles": 9,
        "best_response": "CR",
        "start_month": 0,
        "end_month": 7,
        "toxicities": ["hearing", "renal"],
    }
    assert data["organ_function"] == {
        "adequate": True,
        "gfr_ml_min_173m2": 88,
        "platelets_x10e9_l": 140,
    }
    assert data["local_mdt"] == {
        "discussed": True,
        "months_ago": 1,
        "outcome": "Refer for early-phase trial options.",
    }
    assert data["disease"]["bone_marrow_pct"] is None
    assert v2.validate_v2(operations.to_document(case)) == []


def test_the_form_of_a_sarcoma_case_shows_its_module_and_not_the_others(
    app, db_session, ref_client
):
    ref = create_draft(app, ref_client, RMS_FORM)
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    sections = dict(re.findall(r'<section [^>]*data-section="([a-z-]+)"([^>]*)>', html))
    assert " hidden" not in sections["sarcoma"]
    for key in ("nb-diagnosis", "nb-disease", "nb-response"):
        assert " hidden" in sections[key], key
    # The derived ICCC-3 group, read-only; the rows of the new lists come back as entered.
    assert "IXa Rhabdomyosarcomas" in html
    assert '<option value="8920/3" data-modules="sarcoma"' in html
    assert (
        'id="f-treatment-lines-0-toxicities-hearing" data-key="toxicities" data-choice="hearing" checked'
        in html
    )
    assert (
        'name="molecular.alterations[0].partner" id="f-molecular-alterations-0-partner" value="PAX3"'
        in html
    )
    # Sections are numbered among those shown: the sarcoma section follows the core's seven.
    assert re.search(
        r'<span class="section-num" aria-hidden="true">8</span>\s*<div class="flex-grow-1">\s*<h2 class="h6 mb-0" id="s-sarcoma-title">',
        html,
    )


def test_an_existing_neuroblastoma_case_saved_without_changes_stays_the_same(
    app, db_session, ref_client, referrer
):
    """Does an existing case (stored as the converter made it) open in the form and save back
    without a change to its body, its questions or any field of its document?"""
    v1 = json.loads((DATA / "case-example-refractory.json").read_text())
    ref = operations.create_case(v1, by=referrer).case.reference  # as import-case stores it
    db_session.commit()
    case = load(db_session, ref)
    # The one thing the form does not keep, as before: FDG-PET now, which does not apply
    # when mIBG now is avid (the API may store it; the form drops it).
    assert nb(case.data)["disease"]["fdg_pet"] == "not_done"
    before, document = copy.deepcopy(case.data), operations.to_document(case)
    document["modules"]["neuroblastoma"]["disease"].pop("fdg_pet")
    questions = [(q.id, q.text) for q in case.questions]
    assert len(questions) == 2
    nb(before)["disease"].pop("fdg_pet")
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    # What the page posts, read back from its own inputs.
    pairs = forms_pairs(html)
    resp = save(app, ref_client, ref, pairs)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    case = load(db_session, ref)
    assert case.data == before and [(q.id, q.text) for q in case.questions] == questions
    assert operations.field_diff(document, operations.to_document(case)) == []


def forms_pairs(html: str) -> list[tuple[str, str]]:
    """What a browser posts from ``html``'s form: enabled inputs outside templates, checked
    boxes and radios, selected options."""

    class _Post(HTMLParser):
        def __init__(self):
            super().__init__()
            self.pairs: list[tuple[str, str]] = []
            self.disabled = 0
            self.template = 0
            self.select: str | None = None
            self.textarea: str | None = None
            self.text = ""

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "template":
                self.template += 1
            if tag == "fieldset" and "disabled" in a:
                self.disabled += 1
            if self.template or self.disabled:
                if tag == "fieldset" and "disabled" not in a:
                    self.disabled += 1 if self.disabled else 0
                return
            name = a.get("name")
            if tag == "input" and name and "disabled" not in a:
                kind = a.get("type", "text")
                if kind in ("checkbox", "radio") and "checked" not in a:
                    return
                if kind in ("submit", "button"):
                    return
                self.pairs.append((name, a.get("value", "")))
            elif tag == "select" and name:
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                self.pairs.append((self.select, a.get("value", "")))
            elif tag == "textarea" and name:
                self.textarea, self.text = name, ""

        def handle_endtag(self, tag):
            if tag == "template":
                self.template -= 1
            elif tag == "fieldset" and self.disabled:
                self.disabled -= 1
            elif tag == "select":
                self.select = None
            elif tag == "textarea" and self.textarea:
                self.pairs.append((self.textarea, self.text.lstrip("\n")))
                self.textarea = None

        def handle_data(self, data):
            if self.textarea:
                self.text += data

    start = html.rindex("<form", 0, html.index('id="case-form"'))
    form = html[start : html.index("</form>", start)]
    parser = _Post()
    parser.feed(form)
    return [(k, v) for k, v in parser.pairs if k not in ("csrf_token", "version", "form_token")]


def test_update_form_shows_the_modules_of_a_new_tumour_type_and_saves_nothing(
    app, db_session, ref_client
):
    """Without JavaScript: choosing another tumour type and pressing "Update form" re-renders
    the form with that tumour's sections (what was typed kept), and saves nothing."""
    token = new_token(ref_client)
    pairs = [("panel", "ECMC-NORTH"), ("tumour.morphology", "9260/3"), ("clinical_question", "Q?")]
    resp = post(app, ref_client, "/cases/new", pairs, form_token=token, row_op="update")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    sections = dict(re.findall(r'<section [^>]*data-section="([a-z-]+)"([^>]*)>', html))
    assert " hidden" not in sections["sarcoma"] and " hidden" in sections["nb-diagnosis"]
    assert "Depends on the primary site" in html  # Ewing sarcoma: ICCC-3 needs the site
    assert "Q?</textarea>" in html
    assert db_session.scalar(select(Case).where(Case.creation_key == token)) is None
    # With a bone site, the group is known.
    resp = post(
        app,
        ref_client,
        "/cases/new",
        [*pairs, ("tumour.topography", "C40.2")],
        form_token=token,
        row_op="update",
    )
    assert "VIIIc Ewing tumour and related sarcomas of bone" in resp.get_data(as_text=True)


def test_changing_the_tumour_type_drops_the_old_module_with_a_message(app, db_session, ref_client):
    ref = create_draft(app, ref_client, ALK_FORM)
    # The NAP takes neuroblastoma only: the same change keeping the NAP is refused, naming it.
    refused = save(
        app, ref_client, ref, changed(**{"tumour.morphology": "8910/3", "tumour.topography": None})
    )
    assert refused.status_code == 422 and "takes neuroblastoma only" in refused.get_data(
        as_text=True
    )
    resp = save(
        app,
        ref_client,
        ref,
        changed(
            **{"panel": "ECMC-NORTH", "tumour.morphology": "8910/3", "tumour.topography": None}
        ),
    )
    assert resp.status_code == 302
    data = load(db_session, ref).data
    assert "modules" not in data and data["tumour"] == {"morphology": "8910/3"}
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert "The Neuroblastoma section does not apply to the tumour type" in html


def test_an_unknown_tumour_code_is_refused(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = save(app, ref_client, ref, [("panel", "NAP"), ("tumour.morphology", "9999/3")])
    assert resp.status_code == 422
    assert "is not in the list of tumour types" in resp.get_data(as_text=True)
    resp = save(app, ref_client, ref, [("panel", "NAP"), ("tumour.topography", "C4")])
    assert resp.status_code == 422


# --------------------------------------------------------------------------- the tumour picker's search
def test_the_tumour_search_finds_names_synonyms_and_codes(app, db_session, ref_client):
    body = ref_client.get("/cases/tumour-types?q=rhabdo").get_json()
    codes = [r["code"] for r in body["results"]]
    assert "8920/3" in codes and "8910/3" in codes
    alveolar = next(r for r in body["results"] if r["code"] == "8920/3")
    assert alveolar["modules"] == ["sarcoma"] and alveolar["iccc"].startswith("IXa")
    assert alveolar["label"] == "Alveolar rhabdomyosarcoma (8920/3)"
    assert ref_client.get("/cases/tumour-types?q=9500").get_json()["results"][0]["code"] == "9500/3"
    assert ref_client.get("/cases/tumour-types?q=DIPG").get_json()["results"][0]["code"] == "9385/3"
    assert ref_client.get("/cases/tumour-types?q=").get_json()["results"] == []
    assert ref_client.get("/cases/tumour-types?q=" + "x" * 5000).status_code == 200
    one = ref_client.get("/cases/tumour-types?code=9260/3&topography=C40.2").get_json()
    assert [r["code"] for r in one["results"]] == ["9260/3"] and one["results"][0][
        "iccc"
    ].startswith("VIIIc")
    assert ref_client.get("/cases/tumour-types?code=nonsense").get_json()["results"] == []


def test_the_tumour_search_needs_a_sign_in(app, db_session):
    resp = app.test_client().get("/cases/tumour-types?q=rhabdo")
    assert resp.status_code in (302, 401)

"""The referral form over HTTP: drafts, the missing list, submission, conditional fields, bad
input, the identifier guard, double posts, optimistic locking, mass assignment and refusals.
Runs on SQLite and PostgreSQL (the ``app`` fixture)."""

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

from panel.caseformat import schema
from panel.caseformat.fields import FIELDS, VALUE_SETS
from panel.cases import forms, operations
from panel.cases.models import Case, CaseStatus
from tests.support.web import csrf_token

DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLE = json.loads((DATA / "case-example-alk.json").read_text())

#: The ALK example as a doctor types it into the form (ages in years + months).
ALK_FORM: list[tuple[str, str]] = [
    ("panel", "NAP"),
    ("referring_centre", "NEWCASTLE"),
    ("urgency", "routine"),
    ("clinical_question", EXAMPLE["clinical_question"]),
    ("patient.age_at_diagnosis_months__years", "2"),
    ("patient.age_at_diagnosis_months__months", "6"),
    ("patient.age_now_months__years", "4"),
    ("patient.age_now_months__months", "4"),
    ("patient.sex", "female"),
    ("diagnosis.inrg_stage", "M"),
    ("diagnosis.inss_stage", ""),
    ("diagnosis.risk_group", "high"),
    ("diagnosis.histology", ""),
    ("diagnosis.primary_site", "adrenal"),
    ("diagnosis.mibg", "avid"),
    ("diagnosis.siopen_score", "24"),
    ("status.category", "relapsed"),
    ("status.episode", "1"),
    ("status.months_diagnosis_to_event", "22"),
    ("status.months_since_last_treatment", "3"),
    ("status.relapse_pattern", "metastatic"),
    ("disease.sites", "bone"),
    ("disease.sites", "bone_marrow"),
    ("disease.measurable", "no"),
    ("disease.bone_marrow_pct", "10"),
    ("disease.mibg", "avid"),
    ("disease.siopen_score", "12"),
    ("disease.curie_score", ""),
    ("disease.fdg_pet", "not_done"),  # hidden by the form: does not apply when mIBG is avid
    ("biology.mycn", "amplified"),
    ("biology.alk.status", "mutation"),
    ("biology.alk.copy_number", ""),
    ("biology.alk.variants[0].protein_change", "F1174L"),
    ("biology.alk.variants[0].vaf_pct", "23"),
    ("biology.alk.variants[0].origin", "somatic"),
    ("biology.segmental.del_1p36", ""),
    ("biology.profiling_at_relapse", "done"),
    ("biology.other_alterations__none", "1"),
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
    ("treatment.prior_mibg_therapy", "no"),
    ("treatment.prior_anti_gd2", "DINUTUXIMAB_BETA"),
    ("treatment.prior_alk_inhibitor", "__none__"),
    ("treatment.stored_stem_cells_cd34_per_kg", ""),
    ("response.end_induction.overall", "PR"),
    ("response.end_induction.mibg", "avid"),
    ("response.end_induction.siopen_score", "4"),
    ("response.end_induction.bone_marrow", "CR"),
    ("response.current.overall", "SD"),
    ("fitness.performance_scale", "lansky"),
    ("fitness.performance_score", "80"),
    ("fitness.life_expectancy_months", "12"),
    ("fitness.organ_function_adequate", "yes"),
    ("family.aware_of_referral", "yes"),
    ("family.treatment_abroad_interest", ""),
    ("family.max_travel_km", "500"),
    ("family.questions[0]", EXAMPLE["family"]["questions"][0]),
    ("family.questions[1]", EXAMPLE["family"]["questions"][1]),
    ("family.questions[2]", EXAMPLE["family"]["questions"][2]),
]

NHS = "943 476 5919"


def v1_body(case):
    """The stored case as the (panel-case/1) form reads it: body without schema and reference."""
    doc = operations.to_document_v1(case)
    doc.pop("schema"), doc.pop("reference")
    if not (doc.get("family") or {}).get("questions") and "questions" not in (
        (case.data or {}).get("family") or {}
    ):
        (doc.get("family") or {}).pop("questions", None)
    return doc


def expected_alk() -> dict:
    doc = copy.deepcopy(EXAMPLE)
    del doc["disease"]["fdg_pet"]  # a conditional field that does not apply is not kept
    return doc


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
    """Is every field of panel-case/1 placed in exactly one section of the form?"""
    placed = [p for s in forms.SECTIONS for p in s.paths]
    assert len(placed) == len(set(placed))
    assert set(placed) == set(schema.BASE) - {"schema", "reference"}
    assert len(forms.SECTIONS) == 9


@pytest.mark.parametrize("path", sorted(forms.CONDITIONS))
def test_conditions_shown_by_the_form_agree_with_the_schema(path):
    """Does the form show each conditional field exactly when the schema requires it?"""
    ctrl, values = forms.CONDITIONS[path]
    for code in VALUE_SETS[FIELDS[ctrl].value_set].codes:
        doc: dict = {}
        schema.set_path(doc, ctrl, code)
        assert (path in schema.applicable_conditionals(doc)) == (code in values), (ctrl, code)
    assert set(forms.CONDITIONS) == set(schema.CONDITIONAL_FIELDS)


def test_new_form_has_an_input_for_every_field(app, db_session, ref_client):
    """Does the new-case page render every field, and only names the form reads?"""
    resp = ref_client.get("/cases/new")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    names = form_names(html)
    for name, _ in ALK_FORM:
        assert re.sub(r"\[\d+\]", "[]", name) in names, name
    for path in set(schema.BASE) - {"schema", "reference"}:
        assert any(
            n == path or n.startswith(path + "__") or n.startswith(path + "[") for n in names
        ), path
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
        **{"biology.mycn": None, "fitness.performance_score": None, "disease.siopen_score": None}
    )
    ref = create_draft(app, ref_client, pairs)
    resp = post(app, ref_client, f"/cases/{ref}/submit", [])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    block = html.split('data-testid="submit-missing"')[1].split("</ul>")[0]
    for label in ("MYCN", "Performance score", "SIOPEN score now"):
        assert label in block
    assert "(mIBG now is avid)" in block
    assert 'href="#f-biology-mycn"' in block
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
        and "INRG stage" in html
    )


def test_the_alk_example_entered_through_the_form_submits_unchanged(app, db_session, ref_client):
    """Does the ALK example, typed field by field, store exactly the example (ages in months)?"""
    resp = post(
        app, ref_client, "/cases/new", ALK_FORM, form_token=new_token(ref_client), action="submit"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    ref = resp.headers["Location"].rsplit("/", 1)[1]
    assert resp.headers["Location"] == f"/cases/{ref}"
    case = load(db_session, ref)
    assert case.status == CaseStatus.SUBMITTED
    doc = operations.to_document_v1(case)
    assert doc.pop("reference") == ref
    assert doc == expected_alk()
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
            "diagnosis.mibg": "non_avid",
            "disease.mibg": "avid",
            "status.category": "refractory",
            "biology.alk.status": "wild_type",
            "biology.alk.copy_number": "7",
        }
    )
    ref = create_draft(app, ref_client, pairs)
    data = v1_body(load(db_session, ref))
    assert "siopen_score" not in data["diagnosis"]
    assert "relapse_pattern" not in data["status"]
    assert data["biology"]["alk"] == {"status": "wild_type"}
    assert data["disease"]["siopen_score"] == 12 and "fdg_pet" not in data["disease"]
    # And kept when they do apply: FDG-PET when mIBG now is not avid, copy number for amplification.
    save(
        app,
        ref_client,
        ref,
        with_values(pairs, **{"disease.mibg": "not_done", "biology.alk.status": "amplification"}),
    )
    data = v1_body(load(db_session, ref))
    assert data["disease"]["fdg_pet"] == "not_done" and "siopen_score" not in data["disease"]
    assert data["biology"]["alk"] == {"status": "amplification", "copy_number": 7}


def test_an_invalid_value_in_a_field_that_does_not_apply_does_not_block_the_save(
    app, db_session, ref_client
):
    ref = create_draft(app, ref_client)
    resp = save(
        app,
        ref_client,
        ref,
        [("panel", "NAP"), ("diagnosis.mibg", "non_avid"), ("diagnosis.siopen_score", "lots")],
    )
    assert resp.status_code == 302
    assert v1_body(load(db_session, ref))["diagnosis"] == {"mibg": "non_avid"}


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
    assert v1_body(load(db_session, ref))["patient"] == {
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
    assert "patient" not in v1_body(load(db_session, ref))


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
    assert "patient" not in v1_body(load(db_session, ref))


def test_a_siopen_score_of_90_is_refused(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = save(app, ref_client, ref, changed(**{"disease.siopen_score": "90"}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Must be at most 72." in html
    assert 'value="90"' in html
    assert "disease" not in v1_body(load(db_session, ref))


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
    before = dict(v1_body(load(db_session, ref)))
    resp = save(app, ref_client, ref, changed(**{name: value}))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert v1_body(load(db_session, ref)) == before


def test_none_in_a_list_is_an_empty_list_and_nothing_ticked_is_unknown(app, db_session, ref_client):
    ref = create_draft(
        app,
        ref_client,
        changed(**{"treatment.prior_anti_gd2": "__none__", "treatment.prior_hdc": None}),
    )
    treatment = v1_body(load(db_session, ref))["treatment"]
    assert treatment["prior_anti_gd2"] == [] and "prior_hdc" not in treatment
    resp = save(
        app,
        ref_client,
        ref,
        changed(**{"treatment.prior_anti_gd2": None})
        + [("treatment.prior_anti_gd2", "__none__"), ("treatment.prior_anti_gd2", "NAXITAMAB")],
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
    data = v1_body(load(db_session, ref))
    assert data["disease"]["bone_marrow_pct"] is None and data["family"]["max_travel_km"] is None
    assert not schema.missing_for_submit(operations.to_document_v1(load(db_session, ref)))


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
    assert (
        v1_body(load(db_session, ref))["clinical_question"] == "Scan in March 2021 showed relapse."
    )
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
    assert v1_body(load(db_session, ref))["clinical_question"] == "Fresh B?"


def test_a_save_without_a_version_is_a_conflict(app, db_session, ref_client):
    ref = create_draft(app, ref_client)
    resp = post(
        app, ref_client, f"/cases/{ref}/edit", [("panel", "NAP"), ("clinical_question", "Other?")]
    )
    assert resp.status_code == 409
    assert v1_body(load(db_session, ref))["clinical_question"] == "Which trial?"


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
        changed(panel="ECMC-NORTH", **{"disease.curie_score": "9"}),
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

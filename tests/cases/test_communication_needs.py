"""The family's communication needs in the referral (issue 16): the optional
``family.communication`` fields of panel-case/1, entered through the referral form (a
"Communication needs" group of the family section), validated, guarded for identifiers like
every other free text, round-tripped by import-case/export-case, and flagged on the case page.
Runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from panel.caseformat import convert, schema
from panel.caseformat.fields import FIELDS, VALUE_SETS
from panel.cases import forms
from panel.cases.models import Case, CaseStatus
from tests.support.factories import example
from tests.support.web import csrf_token

NHS = "943 476 5919"
NEEDS = {
    "language": "polish",
    "interpreter": True,
    "large_print": True,
    "easy_read": False,
    "other_format": ["audio", "electronic"],
    "notes": "The family prefer phone calls in the afternoon.",
}


def _with_needs(**needs) -> dict:
    doc = example()
    doc["family"]["communication"] = needs
    return doc


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Dr Needs Referrer")


@pytest.fixture
def ref_client(app, db_session, referrer, login):
    client = app.test_client()
    login(client, referrer)
    return client


def _post(app, client, url, pairs, **extra):
    data = MultiDict(list(pairs))
    data["csrf_token"] = csrf_token(app, client)
    for k, v in extra.items():
        data[k] = v
    return client.post(url, data=data)


def _new_token(client) -> str:
    html = client.get("/cases/new").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form_pairs(doc: dict) -> list[tuple[str, str]]:
    """What the form posts for ``doc`` (a panel-case/1 document: the form's own reading of it
    as panel-case/2)."""
    data = forms.CaseFormData.from_document(convert.v1_to_v2(doc))
    pairs = [(k, v) for k, v in data.values.items() if v != ""]
    pairs += [(k, v) for k, vs in data.multi.items() for v in vs]
    for path, rows in data.rows.items():
        for i, row in enumerate(rows):
            for key, v in row.items():
                name = f"{path}[{i}]" + (f".{key}" if key else "")
                pairs += [(name, w) for w in v] if isinstance(v, list) else [(name, v)]
    return pairs


def _load(db_session, ref) -> Case:
    db_session.expire_all()
    return db_session.scalar(select(Case).where(Case.reference == ref))


# --------------------------------------------------------------------------- the format
def test_the_fields_are_optional_and_documents_without_them_stay_valid():
    for path in (
        "family.communication.language",
        "family.communication.language_other",
        "family.communication.interpreter",
        "family.communication.large_print",
        "family.communication.easy_read",
        "family.communication.other_format",
        "family.communication.notes",
    ):
        spec = FIELDS[path]
        assert spec.requirement in ("O", "C") and not spec.rule, path
    assert schema.validate(example()) == []
    assert schema.missing_for_submit(example()) == []
    assert schema.validate(_with_needs(**NEEDS)) == []
    assert schema.missing_for_submit(_with_needs(**NEEDS)) == []
    # The language list names its census source.
    assert "Census 2021" in VALUE_SETS["family_language"].note
    assert {"english", "other", "polish", "urdu", "arabic"} <= set(
        VALUE_SETS["family_language"].codes
    )


@pytest.mark.parametrize(
    ("needs", "field"),
    [
        ({"language": "klingon"}, "family.communication.language"),
        ({"interpreter": "yes"}, "family.communication.interpreter"),
        ({"other_format": ["fax"]}, "family.communication.other_format[0]"),
        ({"notes": 7}, "family.communication.notes"),
        ({"colour": "blue"}, "family.communication.colour"),
    ],
)
def test_bad_needs_are_refused_naming_the_field(needs, field):
    assert field in [p.field for p in schema.validate(_with_needs(**needs))]


def test_another_language_must_be_named_before_submitting():
    doc = _with_needs(language="other")
    assert schema.validate(doc) == []
    missing = schema.missing_for_submit(doc)
    assert [p.field for p in missing] == ["family.communication.language_other"]
    assert schema.missing_for_submit(_with_needs(language="other", language_other="Farsi")) == []


def test_free_text_of_the_needs_is_guarded_automatically():
    """The identifier guard reads every text field of the table: the new ones too."""
    doc = _with_needs(language="other", language_other="Tigrinya", notes="Ask for Mrs Smith")
    paths = dict(schema.text_fields(doc))
    assert paths["family.communication.notes"] == "Ask for Mrs Smith"
    assert paths["family.communication.language_other"] == "Tigrinya"


# --------------------------------------------------------------------------- the referral form
def test_the_form_shows_a_communication_needs_group_in_the_family_section(app, ref_client):
    html = ref_client.get("/cases/new").get_data(as_text=True)
    family = html.split('id="s-family"')[1]
    assert "Communication needs" in family
    for name in ("language", "interpreter", "large_print", "easy_read", "notes"):
        assert f'name="family.communication.{name}"' in family, name
    assert 'name="family.communication.other_format" value="braille"' in family
    # "Which language" only when "Another language" is chosen.
    wrapper = re.search(
        r'<div class="[^"]*"\s+id="w-family-communication-language_other"[^>]*>', family
    )
    assert wrapper and 'data-cond-field="family.communication.language"' in wrapper.group(0)
    assert 'data-cond-values="other"' in wrapper.group(0) and "cond-off" in wrapper.group(0)


def test_the_needs_round_trip_through_the_form(app, db_session, ref_client):
    doc = _with_needs(**NEEDS)
    resp = _post(app, ref_client, "/cases/new", _form_pairs(doc), form_token=_new_token(ref_client))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    ref = re.search(r"/cases/(NB-\d{4}-\d{4})", resp.headers["Location"]).group(1)
    case = _load(db_session, ref)
    assert case.data["family"]["communication"] == NEEDS
    # The form shows them back as entered.
    html = ref_client.get(f"/cases/{ref}/edit").get_data(as_text=True)
    assert '<option value="polish" selected>Polish</option>' in html
    assert 'value="audio" id="f-family-communication-other_format-audio" checked' in html
    assert "The family prefer phone calls in the afternoon.</textarea>" in html


def test_the_other_language_is_dropped_unless_other_is_chosen(app, db_session, ref_client):
    pairs = _form_pairs(_with_needs(language="urdu"))
    pairs.append(("family.communication.language_other", "Farsi"))
    resp = _post(app, ref_client, "/cases/new", pairs, form_token=_new_token(ref_client))
    assert resp.status_code == 302
    ref = re.search(r"/cases/(NB-\d{4}-\d{4})", resp.headers["Location"]).group(1)
    assert _load(db_session, ref).data["family"]["communication"] == {"language": "urdu"}


def test_a_name_or_nhs_number_in_the_notes_is_refused_and_nothing_is_lost(
    app, db_session, ref_client
):
    before = db_session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    notes = f"Call Mrs Jane Smith first, NHS number {NHS}."
    pairs = _form_pairs(_with_needs(**{**NEEDS, "notes": notes}))
    resp = _post(app, ref_client, "/cases/new", pairs, form_token=_new_token(ref_client))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'data-field="family.communication.notes"' in html
    assert db_session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == before
    # Everything typed is still in the form: the notes and the other needs.
    assert f"Call Mrs Jane Smith first, NHS number {NHS}.</textarea>" in html
    assert '<option value="polish" selected>Polish</option>' in html
    assert 'value="audio" id="f-family-communication-other_format-audio" checked' in html


# --------------------------------------------------------------------------- import and export
def test_import_and_export_round_trip_the_needs(app, db_session, make_user, tmp_path):
    owner = make_user(referrer_at="NEWCASTLE", name="Dr Import")
    doc = _with_needs(**NEEDS)
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(doc))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-case", str(path), "--referrer", owner.email])
    assert result.exit_code == 0, result.output
    ref = result.output.strip().splitlines()[-1]
    out = runner.invoke(args=["export-case", ref, "--format", "panel-case/1"])
    exported = json.loads(out.output)
    assert exported.pop("reference") == ref
    assert exported == doc
    exported = json.loads(runner.invoke(args=["export-case", ref]).output)
    assert exported["schema"] == "panel-case/2"
    assert exported["family"]["communication"] == doc["family"]["communication"]


def test_import_refuses_identifiers_in_the_needs_without_echoing_them(
    app, db_session, make_user, tmp_path
):
    owner = make_user(referrer_at="NEWCASTLE", name="Dr Import")
    path = tmp_path / "id.json"
    path.write_text(json.dumps(_with_needs(notes=f"NHS number {NHS}")))
    result = app.test_cli_runner().invoke(
        args=["import-case", str(path), "--referrer", owner.email]
    )
    assert result.exit_code != 0 and "family.communication.notes" in result.output
    assert NHS not in result.output


# --------------------------------------------------------------------------- the case page
def test_the_case_page_flags_the_needs(app, db_session, make_case, make_user, login, client):
    owner = make_user(referrer_at="NEWCASTLE", name="Dr Flag")
    case = make_case(owner, doc=_with_needs(language="arabic", easy_read=True), submit=True)
    assert case.status == CaseStatus.SUBMITTED
    login(client, owner)
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    flag = html.split('<div id="communication-needs">')[1].split("</aside>")[0]
    assert "The family's communication needs</p>" in flag
    assert "Language: Arabic" in flag and "Easy read" in flag
    assert "bi-chat-square-text" in flag
    plain = make_case(owner)
    html = client.get(f"/cases/{plain.reference}").get_data(as_text=True)
    assert '<div id="communication-needs">' not in html

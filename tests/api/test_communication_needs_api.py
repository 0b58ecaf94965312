"""The family's communication needs through the JSON API (issue 16): the OpenAPI schema
generated from the field table lists them, a case carries them in and out, bad values and
identifiers are refused, and the letters list names each family letter's layout."""

from __future__ import annotations

import copy

from sqlalchemy import select

from panel.cases.models import Case
from tests.support.data import answers_for, discussed_at_meeting, full_record_data
from tests.support.factories import example

CASES = "/api/v1/cases"
NEEDS = {
    "language": "arabic",
    "interpreter": True,
    "large_print": True,
    "easy_read": True,
    "other_format": ["braille"],
    "notes": "Reads best on paper.",
}


def _doc(**needs) -> dict:
    doc = example()
    doc["family"]["communication"] = needs
    return doc


def test_the_openapi_schema_lists_the_needs(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    family = doc["components"]["schemas"]["PanelCase"]["properties"]["family"]
    comm = family["properties"]["communication"]["properties"]
    assert set(comm) == {
        "language",
        "language_other",
        "interpreter",
        "large_print",
        "easy_read",
        "other_format",
        "notes",
    }
    assert "polish" in comm["language"]["enum"] and "other" in comm["language"]["enum"]
    assert "bsl" in comm["other_format"]["items"]["enum"]
    assert "boolean" in comm["large_print"]["type"]
    letter = doc["components"]["schemas"]["SentDocument"]["properties"]["layout"]
    assert letter["enum"] == ["standard", "large_print", "easy_read"]


def test_a_case_carries_the_needs_in_and_out(app, db_session, api_as, referrer):
    api = api_as(referrer)
    created = api.post(CASES, json=_doc(**NEEDS))
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["reference"]
    got = api.get(f"{CASES}/{ref}").get_json()
    assert got["case"]["family"]["communication"] == NEEDS


def test_bad_needs_and_identifiers_are_refused(app, db_session, api_as, referrer):
    api = api_as(referrer)
    resp = api.post(CASES, json=_doc(language="elvish"))
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "family.communication.language"
    resp = api.post(CASES, json=_doc(notes="Call the mother on 07700 900123, NHS 943 476 5919"))
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "family.communication.notes"
    assert "943" not in resp.get_data(as_text=True)
    assert db_session.scalar(select(Case).where(Case.created_by_id == referrer.id)) is None


def test_the_letters_list_names_each_layout(
    app, db_session, api_as, referrer, make_user, make_case
):
    from panel.feedback import operations, sending
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    clear_cache()
    coordinator = make_user(roles=[("NAP", "coordinator")], name="Api Needs Coordinator")
    chair = make_user(roles=[("NAP", "chair")], name="Api Needs Chair")
    needs = copy.deepcopy(NEEDS)
    needs.pop("language")  # English: no translation tick needed
    case = make_case(referrer, doc=_doc(**needs), submit=True)
    discussed_at_meeting(db_session, case)
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(case)),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=chair, expected_version=rec.version)
    sending.send_feedback(rec, by=coordinator)
    db_session.commit()
    body = api_as(referrer).get(f"{CASES}/{case.reference}/letters").get_json()
    got = sorted((d["kind"], d["layout"], d["format"]) for d in body["letters"])
    assert got == sorted(
        [("clinician_letter", "standard", f) for f in ("html", "pdf")]
        + [
            ("family_letter", lay, f)
            for lay in ("standard", "large_print", "easy_read")
            for f in ("html", "pdf")
        ]
    )

"""The case endpoints: happy paths, who sees what, and every refusal the issue lists."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from panel.cases import operations
from panel.cases.models import Case, CaseStatus
from panel.core.models import AuditEntry
from tests.support.factories import example

CASES = "/api/v1/cases"


def _case_url(ref: str, action: str = "") -> str:
    return f"{CASES}/{ref}" + (f"/{action}" if action else "")


def _error(resp, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    body = resp.get_json()
    assert isinstance(body["error"], str) and "field" in body, body
    return body


def _actions(db_session, ref: str) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "case", AuditEntry.object_id == ref)
            .order_by(AuditEntry.id)
        )
    )


# --------------------------------------------------------------------------- happy paths
def test_create_read_update_submit(app, db_session, api_as, referrer):
    """Can a referrer create a draft, read it, change it with If-Match, and submit it, with
    every change in the audit trail?"""
    api = api_as(referrer)
    created = api.post(CASES, json=example())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    ref = body["reference"]
    assert body["workflow_status"] == "draft" and body["version"] == 1
    assert created.headers["Location"] == _case_url(ref)
    assert created.headers["ETag"] == '"1"'
    assert isinstance(body["warnings"], list)

    got = api.get(_case_url(ref.lower()))
    assert got.status_code == 200
    envelope = got.get_json()
    assert envelope["workflow_status"] == "draft"
    assert envelope["case"]["status"]["category"] == "relapsed"  # the disease status section
    assert envelope["case"]["reference"] == ref
    assert envelope["created_by"] == referrer.email and envelope["panel"] == "NAP"
    assert envelope["updated_at"].endswith("Z")
    doc = envelope["case"]
    assert {k: v for k, v in doc.items() if k != "reference"} == example()

    doc["urgency"] = "urgent"
    doc["disease"]["curie_score"] = 7
    put = api.put(_case_url(ref), json=doc, headers={"If-Match": got.headers["ETag"]})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["version"] > 1 and put.get_json()["urgency"] == "urgent"
    assert put.headers["ETag"] == f'"{put.get_json()["version"]}"'
    assert put.get_json()["case"]["disease"]["curie_score"] == 7

    submitted = api.post(_case_url(ref, "submit"))
    assert submitted.status_code == 200
    assert submitted.get_json()["workflow_status"] == "submitted"
    assert submitted.get_json()["submitted_at"] is not None
    again = api.post(_case_url(ref, "submit"))  # a double click changes nothing
    assert (
        again.status_code == 200 and again.get_json()["version"] == submitted.get_json()["version"]
    )
    assert _actions(db_session, ref) == ["case.created", "case.updated", "case.submitted"]


def test_list_is_paginated_newest_first(app, db_session, api_as, referrer, make_case):
    cases = [make_case(referrer) for _ in range(3)]
    api = api_as(referrer)
    first = api.get(CASES, query_string={"per_page": 2})
    assert first.status_code == 200
    body = first.get_json()
    assert body["total"] == 3 and body["pages"] == 2 and body["page"] == 1 and body["per_page"] == 2
    assert [c["reference"] for c in body["cases"]] == [cases[2].reference, cases[1].reference]
    row = body["cases"][0]
    assert row["workflow_status"] == "draft" and row["panel"] == "NAP"
    assert row["referring_centre"] == "NEWCASTLE" and row["created_by"] == referrer.email
    assert row["updated_at"].endswith("Z") and "case" not in row
    second = api.get(CASES, query_string={"page": 2, "per_page": 2}).get_json()
    assert [c["reference"] for c in second["cases"]] == [cases[0].reference]
    beyond = api.get(CASES, query_string={"page": 9}).get_json()
    assert beyond["cases"] == [] and beyond["total"] == 3


@pytest.mark.parametrize(
    "query",
    [{"page": "0"}, {"page": "x"}, {"per_page": "201"}, {"per_page": "-1"}, {"page": "9" * 40}],
)
def test_bad_pagination_is_a_400_naming_the_parameter(app, api_as, referrer, query):
    body = _error(api_as(referrer).get(CASES, query_string=query), 400)
    assert body["field"] == next(iter(query))


def test_repeated_post_with_the_same_idempotency_key_makes_one_case(
    app, db_session, api_as, referrer
):
    api = api_as(referrer)
    headers = {"Idempotency-Key": "6f1c1f0e-3a4b-4c5d-9e8f-0a1b2c3d4e5f"}
    first = api.post(CASES, json=example(), headers=headers)
    second = api.post(CASES, json=example(), headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["reference"] == second.get_json()["reference"]
    assert (
        db_session.scalar(
            select(func.count()).select_from(Case).where(Case.created_by_id == referrer.id)
        )
        == 1
    )
    other = api.post(CASES, json=example(), headers={"Idempotency-Key": "another-key"})
    assert (
        other.status_code == 201 and other.get_json()["reference"] != first.get_json()["reference"]
    )


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "naïve"])
def test_bad_idempotency_keys_are_refused(app, api_as, referrer, key):
    resp = api_as(referrer).post(CASES, json=example(), headers={"Idempotency-Key": key})
    assert _error(resp, 400)["field"] == "Idempotency-Key"


# --------------------------------------------------------------------------- who sees what
def test_visibility_rules(app, db_session, make_user, api_as, referrer, make_case):
    """Do other centres' referrers, admins, other panels' members get 404, and panel members
    see submitted cases but never drafts?"""
    draft = make_case(referrer)
    submitted = make_case(referrer, submit=True)
    other_referrer = api_as(make_user(referrer_at="BIRMINGHAM"))
    admin = api_as(make_user(admin=True))
    north_member = api_as(make_user(roles=[("ECMC-NORTH", "member")]))
    nap_member = api_as(make_user(roles=[("NAP", "member")]))
    for outsider in (other_referrer, admin, north_member):
        for case in (draft, submitted):
            assert _error(outsider.get(_case_url(case.reference)), 404)["field"] is None
        assert outsider.get(CASES).get_json()["total"] == 0
    _error(nap_member.get(_case_url(draft.reference)), 404)
    assert nap_member.get(_case_url(submitted.reference)).status_code == 200
    assert [c["reference"] for c in nap_member.get(CASES).get_json()["cases"]] == [
        submitted.reference
    ]
    unknown = nap_member.get(_case_url("NB-1999-9999"))
    assert unknown.get_json() == nap_member.get(_case_url(draft.reference)).get_json()
    _error(nap_member.get(_case_url("not a%00reference")), 404)


def test_co_referrer_sees_and_edits_the_case(
    app, db_session, make_user, api_as, referrer, make_case
):
    colleague = make_user(referrer_at="BIRMINGHAM")
    case = make_case(referrer)
    operations.add_co_referrer(case, colleague, by=referrer)
    db_session.commit()
    api = api_as(colleague)
    got = api.get(_case_url(case.reference))
    assert got.status_code == 200
    doc = got.get_json()["case"]
    doc["urgency"] = "urgent"
    assert (
        api.put(
            _case_url(case.reference), json=doc, headers={"If-Match": got.headers["ETag"]}
        ).status_code
        == 200
    )


# --------------------------------------------------------------------------- refusals
def test_only_referrers_create_cases(app, make_user, api_as):
    member = api_as(make_user(roles=[("NAP", "member")]))
    assert _error(member.post(CASES, json=example()), 403)


def test_put_on_a_submitted_case_is_refused(
    app, db_session, make_user, api_as, referrer, make_case
):
    """Is a PUT on a submitted case a 409 for its referrer (the state forbids it) and a 403
    for a coordinator who can see it (never theirs to edit)?"""
    case = make_case(referrer, submit=True)
    doc = operations.to_document(case)
    headers = {"If-Match": str(case.version)}
    body = _error(api_as(referrer).put(_case_url(case.reference), json=doc, headers=headers), 409)
    assert "submitted" in body["error"]
    coordinator = api_as(make_user(roles=[("NAP", "coordinator")]))
    _error(coordinator.put(_case_url(case.reference), json=doc, headers=headers), 403)
    _error(coordinator.post(_case_url(case.reference, "submit")), 403)


def test_if_match_mismatch_is_a_409_and_nothing_is_saved(
    app, db_session, api_as, referrer, make_case
):
    case = make_case(referrer)
    api = api_as(referrer)
    doc = operations.to_document(case)
    doc["urgency"] = "urgent"
    assert (
        api.put(_case_url(case.reference), json=doc, headers={"If-Match": '"1"'}).status_code == 200
    )
    doc["clinical_question"] = "A different question entirely?"
    _error(api.put(_case_url(case.reference), json=doc, headers={"If-Match": "1"}), 409)
    assert (
        api.get(_case_url(case.reference)).get_json()["case"]["clinical_question"]
        == example()["clinical_question"]
    )
    # and an optional If-Match on submit is checked too
    _error(api.post(_case_url(case.reference, "submit"), headers={"If-Match": "1"}), 409)


def test_put_without_if_match_is_428_and_junk_if_match_400(app, api_as, referrer, make_case):
    case = make_case(referrer)
    api = api_as(referrer)
    doc = operations.to_document(case)
    assert _error(api.put(_case_url(case.reference), json=doc), 428)["field"] == "If-Match"
    assert (
        _error(api.put(_case_url(case.reference), json=doc, headers={"If-Match": "*"}), 400)[
            "field"
        ]
        == "If-Match"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("status", "submitted"), ("workflow_status", "submitted"), ("created_by", 1), ("version", 9)],
)
def test_mass_assignment_is_refused(app, db_session, api_as, referrer, make_case, key, value):
    """Can a client set the workflow state, creator or version through the document? No: 422
    naming the field, on create and on update."""
    case = make_case(referrer)
    api = api_as(referrer)
    doc = operations.to_document(case)
    doc[key] = value
    assert (
        _error(api.put(_case_url(case.reference), json=doc, headers={"If-Match": "1"}), 422)[
            "field"
        ]
        == key
    )
    assert _error(api.post(CASES, json=doc), 422)["field"] == key
    db_session.refresh(case)
    assert (
        case.status == CaseStatus.DRAFT and case.created_by_id == referrer.id and case.version == 1
    )


def test_sending_the_envelope_back_is_explained(app, api_as, referrer, make_case):
    case = make_case(referrer)
    api = api_as(referrer)
    got = api.get(_case_url(case.reference))
    body = _error(
        api.put(_case_url(case.reference), json=got.get_json(), headers={"If-Match": "1"}), 422
    )
    assert body["field"] == "case" and "document itself" in body["error"]


def test_reference_in_the_body_must_match_the_url(app, api_as, referrer, make_case):
    case = make_case(referrer)
    doc = operations.to_document(case)
    doc["reference"] = "NB-2000-0001"
    body = _error(
        api_as(referrer).put(_case_url(case.reference), json=doc, headers={"If-Match": "1"}), 422
    )
    assert body["field"] == "reference"


def test_identifiers_in_the_clinical_question_are_refused(app, db_session, api_as, referrer):
    """Is an NHS number in free text refused with its kind and position, without echoing it?"""
    doc = example()
    doc["clinical_question"] = "Relapse in a girl, NHS number 943 476 5919; which trial?"
    resp = api_as(referrer).post(CASES, json=doc)
    body = _error(resp, 422)
    assert body["field"] == "clinical_question"
    finding = body["findings"][0]
    assert finding["kind"] == "nhs_number" and finding["field"] == "clinical_question"
    assert (
        doc["clinical_question"][finding["start"] : finding["end"]].replace(" ", "") == "9434765919"
    )
    assert "943" not in resp.get_data(as_text=True)
    assert db_session.scalar(select(Case).where(Case.created_by_id == referrer.id)) is None


def test_unknown_key_is_refused_naming_it(app, api_as, referrer):
    doc = example()
    doc["patient"]["initials"] = "AB"
    body = _error(api_as(referrer).post(CASES, json=doc), 422)
    assert body["field"] == "patient.initials"
    assert {"field": "patient.initials", "message": "is not a field of the format"} in body[
        "problems"
    ]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("diagnosis", "siopen_score"), 90, "diagnosis.siopen_score"),
        (("patient", "age_now_months"), "52", "patient.age_now_months"),
        (("patient", "sex"), "girl", "patient.sex"),
        (("fitness", "performance_score"), 85, "fitness.performance_score"),
        (("disease", "sites"), ["bone", "bone"], "disease.sites"),
        (("clinical_question",), "x" * 4001, "clinical_question"),
    ],
)
def test_out_of_range_and_wrong_types_are_422(app, api_as, referrer, path, value, field):
    doc = example()
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert _error(api_as(referrer).post(CASES, json=doc), 422)["field"] == field


def test_a_megabyte_clinical_question_is_refused_unread(app, db_session, api_as, referrer):
    doc = example()
    doc["clinical_question"] = "x" * (1024 * 1024)
    _error(api_as(referrer).post(CASES, json=doc), 413)
    assert db_session.scalar(select(Case)) is None


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"schema": "panel-case/1", "schema": "x"}', "application/json"),
        ('{"schema": "panel-case/1", "family": {"max_travel_km": NaN}}', "application/json"),
        ("", "application/json"),
        (json.dumps(example()), "text/plain"),
        ("schema=panel-case/1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe{}", "application/json"),
    ],
)
def test_malformed_bodies_are_400(app, api_as, referrer, data, content_type):
    resp = api_as(referrer).post(CASES, data=data, content_type=content_type)
    assert _error(resp, 400)["field"] is None


def test_a_body_that_is_not_an_object_is_422(app, api_as, referrer):
    _error(api_as(referrer).post(CASES, json=["schema", "panel-case/1"]), 422)


def test_control_characters_are_refused(app, api_as, referrer):
    doc = example()
    doc["family"]["questions"][1] = "Would treatment\x00 mean staying away?"
    assert _error(api_as(referrer).post(CASES, json=doc), 422)["field"] == "family.questions[1]"


def test_submit_lists_every_missing_field(app, db_session, api_as, referrer, make_case):
    doc = example()
    del doc["biology"]["mycn"]
    doc["disease"].pop("siopen_score")
    case = make_case(referrer, doc)
    body = _error(api_as(referrer).post(_case_url(case.reference, "submit")), 422)
    fields = [p["field"] for p in body["problems"]]
    assert {
        "modules.neuroblastoma.biology.mycn",
        "modules.neuroblastoma.disease.siopen_score",
    } <= set(fields)
    assert body["field"] == fields[0]
    db_session.refresh(case)
    assert case.status == CaseStatus.DRAFT


def test_referrer_edits_again_after_an_information_request(
    app, db_session, make_user, api_as, referrer, make_case
):
    coordinator = make_user(roles=[("NAP", "coordinator")])
    case = make_case(referrer, submit=True)
    operations.request_information(case, by=coordinator, questions=["What was the mIBG response?"])
    db_session.commit()
    api = api_as(referrer)
    got = api.get(_case_url(case.reference))
    assert got.get_json()["workflow_status"] == "info_requested"
    doc = got.get_json()["case"]
    doc["response"]["current"]["overall"] = "PR"
    assert (
        api.put(
            _case_url(case.reference), json=doc, headers={"If-Match": got.headers["ETag"]}
        ).status_code
        == 200
    )
    assert (
        api.post(_case_url(case.reference, "submit")).get_json()["workflow_status"] == "submitted"
    )


def test_withdrawn_case_cannot_be_submitted(app, db_session, api_as, referrer, make_case):
    case = make_case(referrer)
    operations.withdraw_case(case, by=referrer)
    db_session.commit()
    _error(api_as(referrer).post(_case_url(case.reference, "submit")), 409)


def test_create_defaults_the_centre_to_the_referrers(app, api_as, referrer):
    doc = copy.deepcopy(example())
    del doc["referring_centre"]
    body = api_as(referrer).post(CASES, json=doc).get_json()
    assert body["referring_centre"] == "NEWCASTLE"


def test_unknown_api_routes_answer_json(app, api_as, referrer):
    api = api_as(referrer)
    resp = api.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["field"] is None
    resp = api.client.delete(CASES, headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status_code == 405 and "error" in resp.get_json()


def test_put_after_submission_cannot_undo_the_coordinators_urgency(
    app, db_session, make_user, api_as, referrer, make_case
):
    """Through PUT, can a referrer answering an information request reset the urgency the
    coordinator set (by sending 'routine', or by leaving urgency out)?"""
    from panel.meetings import triage

    coordinator = make_user(roles=[("NAP", "coordinator")])
    case = make_case(referrer, submit=True)
    triage.set_urgency(case, True, by=coordinator)
    operations.request_information(case, by=coordinator, questions=["What was the mIBG response?"])
    db_session.commit()
    api = api_as(referrer)
    got = api.get(_case_url(case.reference))
    doc = got.get_json()["case"]
    assert doc["urgency"] == "urgent"
    doc["urgency"] = "routine"
    body = _error(
        api.put(_case_url(case.reference), json=doc, headers={"If-Match": got.headers["ETag"]}), 422
    )
    assert body["field"] == "urgency" and "coordinator" in body["error"]
    del doc["urgency"]
    put = api.put(_case_url(case.reference), json=doc, headers={"If-Match": got.headers["ETag"]})
    assert put.status_code == 200, put.get_data(as_text=True)
    assert put.get_json()["case"]["urgency"] == "urgent"
    db_session.expire_all()
    assert db_session.get(Case, case.id).urgency == "urgent"

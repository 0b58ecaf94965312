"""/api/v2 (issue 20): the case-document routes in panel-case/2, the tumour-type search and the
case format; v1 and v2 take either version of the document, and v1 answers panel-case/1 for a
neuroblastoma case exactly as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.api.documents import _header
from panel.caseformat import convert, v2
from panel.cases import operations
from panel.cases.models import CaseStatus
from panel.core.models import AuditEntry
from tests.support.factories import example, sarcoma_v2

V1 = "/api/v1/cases"
V2 = "/api/v2/cases"


def _url(base: str, ref: str, action: str = "") -> str:
    return f"{base}/{ref}" + (f"/{action}" if action else "")


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


def _without_reference(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "reference"}


# --------------------------------------------------------------------------- a sarcoma case
def test_sarcoma_case_created_read_updated_and_submitted_on_v2(app, db_session, api_as, referrer):
    """Can a referrer create a panel-case/2 rhabdomyosarcoma case at an ECMC panel, read it on
    v2 (v2 document) and on v1 (v2 document too: v1 cannot carry it, and its schema member
    says so), replace it with If-Match and submit it, with every change audited?"""
    api = api_as(referrer)
    created = api.post(V2, json=sarcoma_v2())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    ref = body["reference"]
    assert created.headers["Location"] == _url(V2, ref)
    assert created.headers["ETag"] == '"1"'
    assert body["panel"] == "ECMC-NORTH" and body["workflow_status"] == "draft"
    assert _without_reference(body["case"]) == sarcoma_v2()

    got = api.get(_url(V2, ref.lower()))
    assert got.status_code == 200
    doc = got.get_json()["case"]
    assert doc["schema"] == "panel-case/2" and doc["reference"] == ref
    assert doc["tumour"]["morphology"] == "8920/3"
    assert doc["modules"] == {"sarcoma": sarcoma_v2()["modules"]["sarcoma"]}

    on_v1 = api.get(_url(V1, ref))
    assert on_v1.status_code == 200
    assert on_v1.get_json()["case"] == doc  # panel-case/2: nothing dropped
    assert on_v1.get_json()["case"]["schema"] == "panel-case/2"

    doc["urgency"] = "urgent"
    doc["modules"]["sarcoma"]["irs_group"] = "IV"
    stale = api.put(_url(V2, ref), json=doc, headers={"If-Match": '"7"'})
    _error(stale, 409)
    put = api.put(_url(V2, ref), json=doc, headers={"If-Match": got.headers["ETag"]})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["version"] == 2 and put.get_json()["urgency"] == "urgent"
    assert put.get_json()["case"]["modules"]["sarcoma"]["irs_group"] == "IV"
    assert put.headers["ETag"] == '"2"'
    _error(api.put(_url(V2, ref), json=doc), 428)

    submitted = api.post(_url(V2, ref, "submit"), headers={"If-Match": '"2"'})
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["workflow_status"] == "submitted"
    assert submitted.get_json()["case"]["schema"] == "panel-case/2"
    assert _actions(db_session, ref) == ["case.created", "case.updated", "case.submitted"]

    matches = api.get(_url(V2, ref, "matches"))
    assert matches.status_code == 200 and matches.get_json()["case"] == ref
    listed = api.get(V2).get_json()
    assert [c["reference"] for c in listed["cases"]] == [ref] and "case" not in listed["cases"][0]
    assert listed == api.get(V1).get_json()


def test_submit_lists_the_missing_module_fields(app, db_session, api_as, referrer):
    """Is an incomplete sarcoma case refused (422) naming every missing field, the module's
    required and conditional ones included, and left a draft?"""
    doc = sarcoma_v2()
    del doc["modules"]["sarcoma"]["risk_group"]
    del doc["modules"]["sarcoma"]["foxo1_fusion"]
    doc["modules"]["sarcoma"]["metastatic_at_diagnosis"] = True
    api = api_as(referrer)
    ref = api.post(V2, json=doc).get_json()["reference"]
    body = _error(api.post(_url(V2, ref, "submit")), 422)
    problems = {p["field"]: p["message"] for p in body["problems"]}
    assert set(problems) == {
        "modules.sarcoma.risk_group",
        "modules.sarcoma.foxo1_fusion",
        "modules.sarcoma.metastatic_sites_at_diagnosis",
    }
    assert "rhabdomyosarcoma" in problems["modules.sarcoma.foxo1_fusion"]
    assert body["field"] == body["problems"][0]["field"]
    assert api.get(_url(V2, ref)).get_json()["workflow_status"] == CaseStatus.DRAFT.value


def test_a_module_that_does_not_fit_the_tumour_is_422(app, api_as, referrer):
    doc = sarcoma_v2()
    doc["modules"]["neuroblastoma"] = {"biology": {"mycn": "amplified"}}
    body = _error(api_as(referrer).post(V2, json=doc), 422)
    assert body["field"] == "modules.neuroblastoma"
    doc = sarcoma_v2()
    doc["tumour"]["iccc_group"] = "IX"
    assert _error(api_as(referrer).post(V2, json=doc), 422)["field"] == "tumour.iccc_group"


# --------------------------------------------------------------------------- either version in
def test_v1_documents_are_accepted_on_v2(app, db_session, api_as, referrer):
    """Does v2 take a panel-case/1 document (converted) on POST and PUT, answering v2?"""
    api = api_as(referrer)
    created = api.post(V2, json=example())
    assert created.status_code == 201, created.get_json()
    doc = created.get_json()["case"]
    assert _without_reference(doc) == convert.v1_to_v2(example())
    ref = created.get_json()["reference"]
    v1_doc = example()
    v1_doc["disease"]["curie_score"] = 7
    put = api.put(_url(V2, ref), json=v1_doc, headers={"If-Match": "1"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["case"]["modules"]["neuroblastoma"]["disease"]["curie_score"] == 7
    assert put.get_json()["case"]["schema"] == "panel-case/2"


def test_v2_documents_are_accepted_on_v1(app, db_session, api_as, referrer):
    """Does v1 take panel-case/2 documents, answering panel-case/1 when the case is a
    neuroblastoma case and panel-case/2 otherwise?"""
    api = api_as(referrer)
    nb = api.post(V1, json=convert.v1_to_v2(example()))
    assert nb.status_code == 201, nb.get_json()
    assert nb.headers["Location"] == _url(V1, nb.get_json()["reference"])
    assert _without_reference(nb.get_json()["case"]) == example()
    sarcoma = api.post(V1, json=sarcoma_v2())
    assert sarcoma.status_code == 201, sarcoma.get_json()
    assert _without_reference(sarcoma.get_json()["case"]) == sarcoma_v2()
    ref = sarcoma.get_json()["reference"]
    doc = sarcoma.get_json()["case"]
    doc["modules"]["sarcoma"]["risk_group"] = "very_high"
    put = api.put(_url(V1, ref), json=doc, headers={"If-Match": "1"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["case"]["modules"]["sarcoma"]["risk_group"] == "very_high"


def test_neuroblastoma_case_on_v1_is_byte_identical_to_before(app, db_session, api_as, referrer):
    """Is a neuroblastoma case read on v1 the same bytes as the v1 answer always was: the
    envelope with the panel-case/1 document (the stored v2 body converted back exactly)?"""
    api = api_as(referrer)
    ref = api.post(V1, json=example()).get_json()["reference"]
    resp = api.get(_url(V1, ref))
    assert resp.status_code == 200
    from panel.cases.models import Case

    case = db_session.scalar(select(Case).where(Case.reference == ref))
    expected = {**_header(case), "case": {**example(), "reference": ref}}
    with app.test_request_context():
        assert resp.get_data() == app.json.response(expected).get_data()
    assert resp.get_json()["case"]["schema"] == "panel-case/1"
    assert api.get(_url(V2, ref)).get_json()["case"] == {
        **convert.v1_to_v2(example()),
        "reference": ref,
    }


def test_idempotent_create_replays_with_the_v2_location(app, db_session, api_as, referrer):
    api = api_as(referrer)
    headers = {"Idempotency-Key": "b3c1e2a4-v2"}
    first = api.post(V2, json=sarcoma_v2(), headers=headers)
    second = api.post(V2, json=sarcoma_v2(), headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == _url(V2, first.get_json()["reference"])
    assert second.get_json()["case"]["schema"] == "panel-case/2"


# --------------------------------------------------------------------------- refusals
def test_v2_refusals(app, db_session, make_user, api_as, referrer, make_case, client):
    """No token: 401 on every v2 route but the description. Another referrer, an admin and
    another panel's member: 404 (the same answer as for no case). The case's panel member sees
    it once submitted, but may neither edit nor submit it (403), nor create cases."""
    draft = make_case(referrer, sarcoma_v2())
    submitted = make_case(referrer, sarcoma_v2(), submit=True)
    for method, url in (
        ("GET", V2),
        ("POST", V2),
        ("GET", _url(V2, draft.reference)),
        ("PUT", _url(V2, draft.reference)),
        ("POST", _url(V2, draft.reference, "submit")),
        ("GET", _url(V2, draft.reference, "matches")),
        ("GET", "/api/v2/tumour-types?q=rhabdo"),
        ("GET", "/api/v2/case-format"),
    ):
        resp = client.open(url, method=method, json={})
        assert resp.status_code == 401, (method, url)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v2/openapi.json").status_code == 200

    outsiders = (
        api_as(make_user(referrer_at="BIRMINGHAM")),
        api_as(make_user(admin=True)),
        api_as(make_user(roles=[("NAP", "member")])),
    )
    doc = operations.to_document(draft)
    for outsider in outsiders:
        for case in (draft, submitted):
            _error(outsider.get(_url(V2, case.reference)), 404)
            _error(outsider.get(_url(V2, case.reference, "matches")), 404)
            _error(outsider.put(_url(V2, case.reference), json=doc, headers={"If-Match": "1"}), 404)
            _error(outsider.post(_url(V2, case.reference, "submit")), 404)
        assert outsider.get(V2).get_json()["total"] == 0
    member = api_as(make_user(roles=[("ECMC-NORTH", "member")]))
    _error(member.get(_url(V2, draft.reference)), 404)
    assert member.get(_url(V2, submitted.reference)).status_code == 200
    headers = {"If-Match": str(submitted.version)}
    _error(member.put(_url(V2, submitted.reference), json=doc, headers=headers), 403)
    _error(member.post(V2, json=sarcoma_v2()), 403)
    body = _error(
        api_as(referrer).put(_url(V2, submitted.reference), json=doc, headers=headers), 409
    )
    assert "submitted" in body["error"]
    assert db_session.get(type(draft), draft.id).version == draft.version


def test_v2_bad_input_is_4xx(app, api_as, referrer, make_case):
    api = api_as(referrer)
    case = make_case(referrer, sarcoma_v2())
    got = api.get(_url(V2, case.reference)).get_json()
    body = _error(api.put(_url(V2, case.reference), json=got, headers={"If-Match": "1"}), 422)
    assert body["field"] == "case"  # the envelope sent back
    other = {**got["case"], "reference": "NB-1999-0001"}
    assert (
        _error(api.put(_url(V2, case.reference), json=other, headers={"If-Match": "1"}), 422)[
            "field"
        ]
        == "reference"
    )
    _error(api.post(V2, data="{", content_type="application/json"), 400)
    _error(api.post(V2, data="", content_type="application/json"), 400)
    assert _error(api.post(V2, json={"schema": "panel-case/3"}), 422)["field"] == "schema"
    assert _error(api.get(V2, query_string={"per_page": "0"}), 400)["field"] == "per_page"
    assert api.get("/api/v2/letters").status_code == 404
    assert api.get("/api/v2/me").get_json()["field"] is None  # v1 only: a JSON 404


# --------------------------------------------------------------------------- format routes
def test_tumour_type_search(app, api_as, referrer):
    api = api_as(referrer)
    resp = api.get("/api/v2/tumour-types", query_string={"q": "rhabdomyo"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["q"] == "rhabdomyo"
    codes = [t["morphology"] for t in body["tumour_types"]]
    assert "8920/3" in codes
    assert body["tumour_types"][0]["matched"]
    by_code = api.get("/api/v2/tumour-types", query_string={"q": "9500/3"}).get_json()
    assert by_code["tumour_types"][0]["morphology"] == "9500/3"
    assert api.get("/api/v2/tumour-types").get_json()["tumour_types"] == []
    limited = api.get("/api/v2/tumour-types", query_string={"q": "sarcoma", "limit": "2"})
    assert len(limited.get_json()["tumour_types"]) <= 2
    assert _error(api.get("/api/v2/tumour-types", query_string={"q": "x" * 101}), 400)["field"] == (
        "q"
    )
    for bad in ("0", "51", "x", "-1"):
        resp = api.get("/api/v2/tumour-types", query_string={"q": "a", "limit": bad})
        assert _error(resp, 400)["field"] == "limit"


def test_case_format_lists_the_core_and_modules(app, api_as, referrer):
    resp = api_as(referrer).get("/api/v2/case-format")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["schema"] == "panel-case/2"
    assert [f["path"] for f in body["core"]] == [f.path for f in v2.CORE_FIELDS]
    assert [m["name"] for m in body["modules"]] == list(v2.MODULES)
    sarcoma = next(m for m in body["modules"] if m["name"] == "sarcoma")
    assert "8920/3" in sarcoma["morphologies"]
    assert {f["path"] for f in sarcoma["fields"]} == {f.path for f in v2.MODULES["sarcoma"].fields}
    assert {
        "field": "modules.sarcoma.foxo1_fusion",
        "when": "tumour.morphology",
        "values": sorted(v2.MODULES["sarcoma"].conditions[0].values),
        "why": "the tumour is a rhabdomyosarcoma",
    } in sarcoma["conditions"]
    risk = next(f for f in sarcoma["fields"] if f["path"] == "modules.sarcoma.risk_group")
    assert risk["requirement"] == "R" and {v["code"] for v in risk["values"]} >= {"high"}
    assert [f["path"] for f in body["derived"]] == ["tumour.iccc_group", "tumour.iccc_subgroup"]


@pytest.mark.parametrize("url", ["/api/v2/case-format", "/api/v2/tumour-types?q=ewing"])
def test_format_routes_hold_no_case_data(app, db_session, api_as, referrer, url):
    """The format routes read no case: nothing is recorded as read."""
    api = api_as(referrer)
    before = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert api.get(url).status_code == 200
    after = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert before == after


def test_one_rate_limit_budget_across_both_versions(app, monkeypatch, make_user, api_as):
    """Does a token's budget count its calls to v1 and v2 together (v2 is no way around it)?"""
    monkeypatch.setitem(app.config, "API_RATELIMIT", "3 per minute")
    api = api_as(make_user(referrer_at="LEEDS"))
    assert [api.get(V1).status_code, api.get(V2).status_code] == [200, 200]
    assert api.get("/api/v2/case-format").status_code == 200
    limited = api.get(V2)
    body = _error(limited, 429)
    assert body["error"].startswith("Too many requests")
    assert api.get(V1).status_code == 429


def test_a_v1_document_cannot_replace_a_case_of_another_tumour(app, db_session, api_as, referrer):
    """A v1 client's PUT of a panel-case/1 document over a rhabdomyosarcoma case would turn it
    into a neuroblastoma case: refused (422, field ``schema``), and the case is unchanged."""
    api = api_as(referrer)
    created = api.post(V2, json=sarcoma_v2())
    ref = created.get_json()["reference"]
    body = _error(api.put(_url(V1, ref), json=example(), headers={"If-Match": "1"}), 422)
    assert body["field"] == "schema" and "neuroblastoma cases only" in body["error"]
    again = api.get(_url(V2, ref)).get_json()
    assert again["version"] == 1 and _without_reference(again["case"]) == sarcoma_v2()

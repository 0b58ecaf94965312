"""The API's image routes and incoming studies (issue 19; panel/api/network_views.py): a route
is added with its value and never answered with it; bad bodies are clear 400/422 errors with
nothing kept; the case's other people get 403, outsiders 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.core.models import AuditEntry
from panel.imaging.netmodels import DicomSender, ImageRoute, IncomingStudy

ACCESSION = "QX5512Z08"


@pytest.fixture
def case(make_case, referrer):
    return make_case(referrer, submit=True)


def test_add_list_and_remove_a_route(db_session, api_as, referrer, case):
    api = api_as(referrer)
    url = f"/api/v1/cases/{case.reference}/image-routes"
    assert api.get(url).get_json() == {"routes": []}
    resp = api.post(url, json={"accession_number": ACCESSION})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == {
        "id",
        "kind",
        "created_at",
        "created_by",
        "active",
        "expired_at",
        "expired_reason",
    }
    assert body["kind"] == "accession_number" and body["active"] is True
    assert body["created_by"] == referrer.name and body["created_at"].endswith("Z")
    assert resp.headers["Location"].endswith(url)
    listed = api.get(url)
    assert listed.status_code == 200 and listed.get_json()["routes"] == [body]
    assert ACCESSION not in resp.get_data(as_text=True) + listed.get_data(as_text=True)

    gone = api.client.delete(f"{url}/{body['id']}", headers=api._headers(None))
    assert gone.status_code == 200
    assert gone.get_json()["active"] is False
    assert gone.get_json()["expired_reason"] == "removed"
    missing = api.client.delete(f"{url}/999999", headers=api._headers(None))
    assert missing.status_code == 404 and missing.get_json()["error"]
    audit = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("imaging.route_%"))
    ).all()
    assert len(audit) == 2 and all(ACCESSION not in str(a.details) for a in audit)


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"accession_number": "A1", "patient_id": "P1"}, 422, "not both"),
        ({}, 422, "exactly one"),
        ([], 422, "JSON object"),
        ({"nhs_number": "9434765919"}, 422, "unknown key"),
        ({"accession_number": 42}, 422, "must be a string"),
        ({"accession_number": "X" * 17}, 422, "at most 16"),
        ({"patient_id": "P" * 65}, 422, "at most 64"),
        ({"patient_id": "   "}, 422, "Enter the hospital patient ID"),
        ({"patient_id": "A\\B"}, 422, "does not allow"),
    ],
)
def test_bad_bodies_are_refused_clearly(db_session, api_as, referrer, case, body, status, words):
    api = api_as(referrer)
    resp = api.post(f"/api/v1/cases/{case.reference}/image-routes", json=body)
    assert resp.status_code == status
    out = resp.get_json()
    assert set(out) >= {"error", "field"} and words in out["error"], out
    assert "9434765919" not in resp.get_data(as_text=True)
    assert db_session.scalars(select(ImageRoute)).all() == []


def test_not_json_is_a_400(db_session, api_as, referrer, case):
    api = api_as(referrer)
    url = f"/api/v1/cases/{case.reference}/image-routes"
    resp = api.post(url, data="accession_number=1", content_type="text/plain")
    assert resp.status_code == 400 and resp.get_json()["error"]
    resp = api.post(url, data="{bad", content_type="application/json")
    assert resp.status_code == 400


def test_who_may_read_and_change_routes(db_session, api_as, make_user, referrer, case):
    urls = [
        f"/api/v1/cases/{case.reference}/image-routes",
        f"/api/v1/cases/{case.reference}/incoming-studies",
    ]
    coordinator = api_as(make_user(roles=[("NAP", "coordinator")], name="Nap Coord"))
    for url in urls:
        assert coordinator.get(url).status_code == 200
    resp = coordinator.post(urls[0], json={"patient_id": "HOSP1"})
    assert resp.status_code == 201
    route_id = resp.get_json()["id"]

    member = api_as(make_user(roles=[("NAP", "member")], name="Nap Member"))
    for url in urls:
        assert member.get(url).status_code == 403
    assert member.post(urls[0], json={"patient_id": "HOSP2"}).status_code == 403
    resp = member.client.delete(f"{urls[0]}/{route_id}", headers=member._headers(None))
    assert resp.status_code == 403

    for user in (
        make_user(referrer_at="BIRMINGHAM", name="Other Referrer"),
        make_user(roles=[("ECMC-NORTH", "member")], name="North Member"),
        make_user(admin=True, name="An Admin"),
    ):
        api = api_as(user)
        for url in urls:
            assert api.get(url).status_code == 404
        assert api.post(urls[0], json={"patient_id": "HOSP3"}).status_code == 404
        resp = api.client.delete(f"{urls[0]}/{route_id}", headers=api._headers(None))
        assert resp.status_code == 404
    assert len(db_session.scalars(select(ImageRoute)).all()) == 1


def test_a_case_no_longer_taking_images_answers_409(
    db_session, api_as, referrer, case, monkeypatch
):
    monkeypatch.setattr(type(case), "takes_images_from_network", lambda self: False)
    resp = api_as(referrer).post(
        f"/api/v1/cases/{case.reference}/image-routes", json={"patient_id": "HOSP1"}
    )
    assert resp.status_code == 409 and "no longer takes images" in resp.get_json()["error"]


def test_incoming_studies_with_states_and_reasons(db_session, api_as, referrer, case):
    sender = DicomSender(centre_id=case.referring_centre_id, label="RVI PACS", ae_title="RVI")
    db_session.add(sender)
    db_session.flush()
    for state, reason in (
        ("receiving", None),
        ("refused", "the association was aborted before the study was complete"),
    ):
        db_session.add(
            IncomingStudy(
                source="c-store",
                sender_id=sender.id,
                centre_id=sender.centre_id,
                study_hmac=state,
                state=state,
                reason=reason,
                case_id=case.id,
                instance_count=2,
            )
        )
    db_session.commit()
    resp = api_as(referrer).get(f"/api/v1/cases/{case.reference}/incoming-studies")
    assert resp.status_code == 200
    studies = resp.get_json()["studies"]
    assert {s["state"] for s in studies} == {"arriving", "refused"}
    refused = next(s for s in studies if s["state"] == "refused")
    assert refused["reason"].startswith("the association was aborted")
    assert refused["sender"] == "RVI PACS" and refused["source"] == "c-store"
    assert "hmac" not in resp.get_data(as_text=True)

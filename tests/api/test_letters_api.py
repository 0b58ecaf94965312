"""GET /api/v1/cases/<ref>/letters and /letters/<id>: the sent documents, byte for byte, for
the people who may read the letters in the browser."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.data import answers_for, discussed_at_meeting, full_record_data


@pytest.fixture
def approved(make_user, make_case, referrer, db_session):
    """A NAP case of ``referrer`` with an approved record (not sent); its coordinator."""
    from panel.feedback import operations
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    clear_cache()
    coordinator = make_user(roles=[("NAP", "coordinator")], name="Api Coordinator")
    chair = make_user(roles=[("NAP", "chair")], name="Api Chair")
    case = make_case(referrer, submit=True)
    discussed_at_meeting(db_session, case)
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(case)),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=chair, expected_version=rec.version)
    db_session.commit()
    return rec, coordinator


def test_letters_list_and_download_hash(app, api_as, referrer, approved, make_user, db_session):
    """Does the list give each sent document with kind, version, sent_at, sha256 and a URL
    whose bytes hash to sha256, with the right content type?"""
    from panel.feedback import documents, sending

    rec, coordinator = approved
    ref = rec.case.reference
    assert api_as(referrer).get(f"/api/v1/cases/{ref}/letters").status_code == 404  # not sent
    assert api_as(coordinator).get(f"/api/v1/cases/{ref}/letters").get_json() == {
        "case": ref,
        "letters": [],
    }
    sending.send_feedback(rec, by=coordinator)
    db_session.commit()
    api = api_as(referrer)
    resp = api.get(f"/api/v1/cases/{ref}/letters")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["case"] == ref
    assert sorted((d["kind"], d["format"], d["version"]) for d in body["letters"]) == [
        ("clinician_letter", "html", 1),
        ("clinician_letter", "pdf", 1),
        ("family_letter", "html", 1),
        ("family_letter", "pdf", 1),
    ]
    stored = {d.id: d for d in documents.documents_for(rec.case)}
    for item in body["letters"]:
        assert item["sent_at"].endswith("Z")
        got = api.get(item["url"])
        assert got.status_code == 200
        data = got.get_data()
        assert hashlib.sha256(data).hexdigest() == item["sha256"] == stored[item["id"]].sha256
        assert len(data) == item["size"]
        assert data == documents.read_bytes(stored[item["id"]])
        if item["format"] == "pdf":
            assert got.mimetype == "application/pdf" and data.startswith(b"%PDF-")
        else:
            assert got.mimetype == "text/html"
    member = api_as(make_user(roles=[("NAP", "member")], name="Api Member"))
    assert member.get(f"/api/v1/cases/{ref}/letters").status_code == 200


def test_letters_refusals(
    app, client, api_as, referrer, approved, make_user, make_case, db_session
):
    """Another referrer, a coordinator of another panel and an admin get 404 on the list and
    on a document; no token is 401; a document of another case is 404; the family without a
    code is sent to the code page."""
    from panel.feedback import documents, sending

    rec, coordinator = approved
    sending.send_feedback(rec, by=coordinator)
    db_session.commit()
    ref = rec.case.reference
    doc = documents.documents_for(rec.case)[0]
    outsiders = [
        make_user(referrer_at="BIRMINGHAM", name="Dr Other Referrer"),
        make_user(roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"),
        make_user(admin=True, name="Plain Admin"),
    ]
    for who in outsiders:
        api = api_as(who)
        assert api.get(f"/api/v1/cases/{ref}/letters").status_code == 404
        assert api.get(f"/api/v1/cases/{ref}/letters/{doc.id}").status_code == 404
    assert client.get(f"/api/v1/cases/{ref}/letters").status_code == 401
    assert client.get(f"/api/v1/cases/{ref}/letters/{doc.id}").status_code == 401
    api = api_as(referrer)
    assert api.get(f"/api/v1/cases/{ref}/letters/999999").status_code == 404
    other = make_case(referrer, submit=True)
    assert api.get(f"/api/v1/cases/{other.reference}/letters/{doc.id}").status_code == 404
    family = app.test_client()
    for url in ("/family/letter.pdf", f"/family/letter.pdf?document={doc.id}", "/family/letter"):
        resp = family.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")

"""The loop through the API: a case's timeline, information requests and their answers, and
the caller's notifications. Happy paths, who reads what, and every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.cases.models import Case, CaseStatus, InformationRequest
from panel.core.db import utcnow
from panel.core.models import AuditEntry, Notification
from tests.support.web import api_error

NHS = "943 476 5919"
REPLY = "Marrow 10% infiltrated at relapse; Lansky 70."


def _url(ref: str, tail: str = "") -> str:
    return f"/api/v1/cases/{ref}" + tail


@pytest.fixture
def team(make_user, referrer):
    return {
        "referrer": referrer,
        "other_referrer": make_user(referrer_at="BIRMINGHAM"),
        "coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "member": make_user(roles=[("NAP", "member")]),
        "chair": make_user(roles=[("NAP", "chair")]),
        "north_coordinator": make_user(roles=[("ECMC-NORTH", "coordinator")]),
        "admin": make_user(admin=True),
    }


@pytest.fixture
def submitted(team, make_case):
    return make_case(team["referrer"], submit=True)


def _ask(api_as, team, case, questions="Bone marrow result at relapse?\nCurrent Lansky score?"):
    resp = api_as(team["coordinator"]).post(
        _url(case.reference, "/information-requests"), json={"questions": questions}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --------------------------------------------------------------------------- happy path
def test_the_whole_loop(app, db_session, api_as, team, submitted):
    """Can the coordinator ask, the referrer answer and resubmit, and both read the questions
    and the answer in the timeline afterwards (the answer kept)?"""
    asked = _ask(api_as, team, submitted)
    assert asked["case"] == submitted.reference and isinstance(asked["id"], int)
    assert asked["questions"] == ["Bone marrow result at relapse?", "Current Lansky score?"]
    assert asked["open"] is True and asked["answer"] is None
    assert asked["workflow_status"] == "info_requested"

    referrer = api_as(team["referrer"])
    answer_url = _url(submitted.reference, f"/information-requests/{asked['id']}/answer")
    first = referrer.post(answer_url, json={"answer": "Marrow result to follow."})
    assert first.status_code == 200, first.get_json()
    second = referrer.post(answer_url, json={"answer": REPLY})
    assert second.status_code == 200
    assert second.get_json()["answer"] == REPLY and second.get_json()["open"] is True

    resubmitted = referrer.post(_url(submitted.reference, "/submit"))
    assert resubmitted.status_code == 200, resubmitted.get_json()
    db_session.expire_all()
    info = db_session.get(InformationRequest, asked["id"])
    assert info.answered_at is not None and info.response == REPLY

    for who in ("coordinator", "referrer"):
        resp = api_as(team[who]).get(_url(submitted.reference.lower(), "/timeline"))
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["case"] == submitted.reference
        events = body["events"]
        assert [e["kind"] for e in events] == [
            "submitted",
            "information_requested",
            "information_answered",
            "information_answered",
            "resubmitted",
        ]
        requested, answered = events[1], events[3]
        assert requested["text"] == "Bone marrow result at relapse?\nCurrent Lansky score?"
        assert requested["details"] == {"request": asked["id"], "questions": asked["questions"]}
        assert requested["by"] == "Nap Coordinator"
        assert requested["audience"] == ["coordinator", "referrer"]
        assert answered["text"] == REPLY and answered["by"] == "Dr Ref One"
        assert events[0]["details"] == {"revision": 1} and events[0]["text"] is None
        assert events[0]["at"].endswith("Z")
        assert events[-1]["audience"] == ["coordinator", "panel", "referrer"]


def test_questions_as_a_list(app, db_session, api_as, team, submitted):
    asked = _ask(api_as, team, submitted, questions=["  First?  ", "", "Second?"])
    assert asked["questions"] == ["First?", "Second?"]


def test_reading_the_timeline_is_audited(app, db_session, api_as, team, submitted):
    resp = api_as(team["member"]).get(_url(submitted.reference, "/timeline"))
    assert resp.status_code == 200
    resp.close()
    entry = db_session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case.timeline_viewed",
            AuditEntry.object_id == submitted.reference,
        )
    )
    assert entry is not None and entry.actor_id == team["member"].id
    assert entry.details == {"via": "api"}


# --------------------------------------------------------------------------- who reads what
def test_members_do_not_read_the_exchange_and_admins_read_nothing(
    app, db_session, api_as, team, submitted
):
    """Does a member or chair of the panel get the timeline without the referrer-coordinator
    exchange, and do an admin, another referrer and another panel's coordinator get 404?"""
    asked = _ask(api_as, team, submitted)
    api_as(team["referrer"]).post(
        _url(submitted.reference, f"/information-requests/{asked['id']}/answer"),
        json={"answer": REPLY},
    )
    for who in ("member", "chair"):
        resp = api_as(team[who]).get(_url(submitted.reference, "/timeline"))
        assert resp.status_code == 200
        events = resp.get_json()["events"]
        assert [e["kind"] for e in events] == ["submitted"], who
        assert "Lansky" not in resp.get_data(as_text=True)
    for who in ("admin", "other_referrer", "north_coordinator"):
        body = api_error(api_as(team[who]).get(_url(submitted.reference, "/timeline")), 404)
        assert "Lansky" not in str(body)


def test_a_draft_timeline_is_its_referrers_alone(app, db_session, api_as, team, make_case):
    draft = make_case(team["referrer"])
    resp = api_as(team["referrer"]).get(_url(draft.reference, "/timeline"))
    assert resp.status_code == 200 and resp.get_json()["events"] == []
    for who in ("coordinator", "member"):
        api_error(api_as(team[who]).get(_url(draft.reference, "/timeline")), 404)
    api_error(api_as(team["referrer"]).get(_url("NB-1999-9999", "/timeline")), 404)
    api_error(api_as(team["referrer"]).get(_url("not%20a%20ref", "/timeline")), 404)


# --------------------------------------------------------------------------- refusals: asking
def test_who_may_ask(app, db_session, api_as, team, submitted):
    """403 for people who see the case but may not ask (referrer, member, chair); 404 for those
    who may not see it; 409 for the coordinator when the case is not waiting for triage."""
    url = _url(submitted.reference, "/information-requests")
    body = {"questions": "Anything?"}
    for who in ("referrer", "member", "chair"):
        api_error(api_as(team[who]).post(url, json=body), 403)
    for who in ("other_referrer", "north_coordinator", "admin"):
        api_error(api_as(team[who]).post(url, json=body), 404)
    assert db_session.scalar(select(InformationRequest.id)) is None
    _ask(api_as, team, submitted)
    api_error(api_as(team["coordinator"]).post(url, json=body), 409)  # already waiting
    db_session.expire_all()
    assert len(db_session.get(Case, submitted.id).information_requests) == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"questions": ""}, "questions"),
        ({"questions": "  \n \n"}, "questions"),
        ({"questions": []}, "questions"),
        ({"questions": [1, 2]}, "questions"),
        ({"questions": None}, "questions"),
        ({}, "questions"),
        ({"questions": "Fine?", "urgent": True}, "urgent"),
        (["Fine?"], None),
        ({"questions": ["x" * 1001]}, "questions[0]"),
        ({"questions": [f"Q{i}?" for i in range(21)]}, "questions"),
    ],
)
def test_bad_questions_are_refused(app, db_session, api_as, team, submitted, body, field):
    resp = api_as(team["coordinator"]).post(
        _url(submitted.reference, "/information-requests"), json=body
    )
    api_error(resp, 422, field)
    db_session.expire_all()
    assert db_session.get(Case, submitted.id).status == CaseStatus.SUBMITTED


def test_malformed_bodies_are_400(app, db_session, api_as, team, submitted):
    api = api_as(team["coordinator"])
    url = _url(submitted.reference, "/information-requests")
    api_error(api.post(url, data="questions=x", content_type="text/plain"), 400)
    api_error(api.post(url, data="{", content_type="application/json"), 400)


def test_identifiers_in_questions_are_refused_without_echo(
    app, db_session, api_as, team, submitted
):
    resp = api_as(team["coordinator"]).post(
        _url(submitted.reference, "/information-requests"),
        json={"questions": f"Is this the child with NHS number {NHS}?"},
    )
    body = api_error(resp, 422, "questions[0]")
    assert NHS not in resp.get_data(as_text=True)
    assert {f["kind"] for f in body["findings"]} == {"nhs_number"}
    db_session.expire_all()
    assert db_session.get(Case, submitted.id).status == CaseStatus.SUBMITTED


# --------------------------------------------------------------------------- refusals: answering
def test_who_may_answer(app, db_session, api_as, team, submitted):
    """403 for the panel's people, 404 for outsiders, an unknown request and an id no column
    holds; 409 once the request is closed by resubmission."""
    asked = _ask(api_as, team, submitted)
    url = _url(submitted.reference, f"/information-requests/{asked['id']}/answer")
    body = {"answer": REPLY}
    for who in ("coordinator", "member", "chair"):
        api_error(api_as(team[who]).post(url, json=body), 403)
    for who in ("other_referrer", "north_coordinator", "admin"):
        api_error(api_as(team[who]).post(url, json=body), 404)
    referrer = api_as(team["referrer"])
    for bad in (asked["id"] + 1000, 2**31, 2**63):
        api_error(
            referrer.post(
                _url(submitted.reference, f"/information-requests/{bad}/answer"), json=body
            ),
            404,
        )
    db_session.expire_all()
    assert db_session.get(InformationRequest, asked["id"]).response is None

    assert referrer.post(_url(submitted.reference, "/submit")).status_code == 200
    api_error(referrer.post(url, json=body), 409)


def test_an_answer_for_another_case_is_not_found(app, db_session, api_as, team, make_case):
    """A request id of one case is unknown under another case of the same referrer."""
    first = make_case(team["referrer"], submit=True)
    second = make_case(team["referrer"], submit=True)
    asked = _ask(api_as, team, first)
    _ask(api_as, team, second)
    resp = api_as(team["referrer"]).post(
        _url(second.reference, f"/information-requests/{asked['id']}/answer"),
        json={"answer": REPLY},
    )
    api_error(resp, 404)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"answer": ""}, "answer"),
        ({"answer": "   "}, "answer"),
        ({"answer": 42}, "answer"),
        ({}, "answer"),
        ({"answer": "x" * 4001}, "answer"),
        ({"answer": "ok", "response": "ok"}, "response"),
        ("ok", None),
    ],
)
def test_bad_answers_are_refused(app, db_session, api_as, team, submitted, body, field):
    asked = _ask(api_as, team, submitted)
    resp = api_as(team["referrer"]).post(
        _url(submitted.reference, f"/information-requests/{asked['id']}/answer"), json=body
    )
    api_error(resp, 422, field)


def test_identifiers_in_an_answer_are_refused_without_echo(
    app, db_session, api_as, team, submitted
):
    asked = _ask(api_as, team, submitted)
    resp = api_as(team["referrer"]).post(
        _url(submitted.reference, f"/information-requests/{asked['id']}/answer"),
        json={"answer": f"Her NHS number is {NHS}."},
    )
    body = api_error(resp, 422, "answer")
    assert NHS not in resp.get_data(as_text=True)
    assert [(f["field"], f["kind"]) for f in body["findings"]] == [("answer", "nhs_number")]
    db_session.expire_all()
    assert db_session.get(InformationRequest, asked["id"]).response is None
    timeline = api_as(team["coordinator"]).get(_url(submitted.reference, "/timeline"))
    assert "information_answered" not in [e["kind"] for e in timeline.get_json()["events"]]


# --------------------------------------------------------------------------- notifications
def _note(db_session, user, n: int, *, read: bool = False, case_ref: str | None = "NB-2026-0001"):
    note = Notification(
        user_id=user.id,
        kind="info_requested",
        text=f"Notification {n}",
        link=f"/cases/{case_ref}" if case_ref else "",
        case_ref=case_ref,
        created_at=utcnow() - timedelta(minutes=100 - n),
        read_at=utcnow() if read else None,
    )
    db_session.add(note)
    return note


def test_notifications_newest_first_and_paginated(app, db_session, api_as, team):
    me, other = team["referrer"], team["coordinator"]
    for n in range(5):
        _note(db_session, me, n, read=n < 2, case_ref=None if n == 4 else "NB-2026-0001")
    _note(db_session, other, 99)
    db_session.commit()
    api = api_as(me)
    resp = api.get("/api/v1/notifications", query_string={"per_page": 2})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (5, 3, 1, 2)
    assert body["unread"] == 3
    assert [n["text"] for n in body["notifications"]] == ["Notification 4", "Notification 3"]
    newest = body["notifications"][0]
    assert set(newest) == {"id", "kind", "case", "at", "read", "text", "link"}
    assert newest["case"] is None and newest["read"] is False and newest["link"] == ""
    last = api.get("/api/v1/notifications", query_string={"page": 3, "per_page": 2}).get_json()
    assert [n["text"] for n in last["notifications"]] == ["Notification 0"]
    assert last["notifications"][0] | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "kind": "info_requested",
        "case": "NB-2026-0001",
        "read": True,
        "text": "Notification 0",
        "link": "/cases/NB-2026-0001",
    }
    assert (
        api.get("/api/v1/notifications", query_string={"page": 9}).get_json()["notifications"] == []
    )
    # Reading them through the API marks nothing read.
    db_session.expire_all()
    assert (
        db_session.scalar(select(Notification.read_at).where(Notification.text == "Notification 4"))
        is None
    )
    # Someone else's are not there; an admin's list is their own (empty).
    assert api_as(other).get("/api/v1/notifications").get_json()["total"] == 1
    assert api_as(team["admin"]).get("/api/v1/notifications").get_json()["total"] == 0
    for bad in ({"per_page": 0}, {"per_page": 201}, {"page": "x"}):
        api_error(api.get("/api/v1/notifications", query_string=bad), 400)


def test_notifications_need_a_token(app, client):
    assert client.get("/api/v1/notifications").status_code == 401


def test_timeline_query_count_does_not_grow(
    app, db_session, api_as, team, submitted, count_queries
):
    """Does the timeline cost the same number of queries for 3 entries as for 30?"""
    from panel.cases.timeline import record_event

    api = api_as(team["coordinator"])
    url = _url(submitted.reference, "/timeline")
    api.get(url)  # warm up (token last use)

    def add(n: int) -> None:
        for i in range(n):
            author = team["chair"] if i % 2 else team["referrer"]
            record_event(submitted, f"note_{i}", by=author, text=f"Note {i}")
        db_session.commit()

    add(2)
    with count_queries() as few:
        assert len(api.get(url).get_json()["events"]) == 3
    add(27)
    with count_queries() as many:
        assert len(api.get(url).get_json()["events"]) == 30
    assert many.count == few.count, "\n".join(many.statements)


def test_request_information_keeps_the_operation_rules(app, db_session, api_as, team, submitted):
    """The API uses the operation: the case is in info_requested and the audit trail has it."""
    asked = _ask(api_as, team, submitted)
    db_session.expire_all()
    case = db_session.get(Case, submitted.id)
    assert case.status == CaseStatus.INFO_REQUESTED
    assert case.open_information_request.id == asked["id"]
    assert (
        "case.info_requested"
        in db_session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == case.reference)
        ).all()
    )

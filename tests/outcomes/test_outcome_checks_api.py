"""The follow-up outcome checks through the API: ``GET /api/v1/cases/{ref}/outcome-checks``
and ``POST /api/v1/cases/{ref}/outcome-checks/{months}``. Happy paths, who reads and answers,
and every refusal (JSON errors in the API's one shape)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.models import AuditEntry
from tests.support.outcome_checks import answers, checks_of, mark_sent
from tests.support.web import Api, api_error


def _url(ref: str, tail: str = "") -> str:
    return f"/api/v1/cases/{ref}/outcome-checks" + tail


@pytest.fixture
def team(people, make_user):
    return {**people, "chair": make_user(roles=[("NAP", "chair")])}


@pytest.fixture
def api_as(client, db_session):
    """``api_as(user)``: an API client with a new token of ``user``."""
    from panel.api import tokens

    def factory(user) -> Api:
        secret = tokens.create_token(user, "outcomes", by=user).secret
        db_session.commit()
        return Api(client, secret)

    return factory


@pytest.fixture
def sent(team, make_case, db_session):
    """A NAP case of ``referrer`` sent 100 days ago (3-month check due, the others not)."""
    return mark_sent(db_session, make_case(team["referrer"], submit=True))


def test_list_before_sending_is_empty_and_after_has_three(team, make_case, api_as, db_session):
    """Are there no checks before the feedback was sent, and three after, the first due?"""
    case = make_case(team["referrer"], submit=True)
    api = api_as(team["referrer"])
    body = api.get(_url(case.reference)).get_json()
    assert body == {"case": case.reference, "checks": []}
    mark_sent(db_session, case)
    body = api.get(_url(case.reference)).get_json()
    assert [c["months"] for c in body["checks"]] == [3, 6, 12]
    first, second = body["checks"][:2]
    assert first["due"] and first["can_answer"] and first["answered_at"] is None
    assert first["disease_status"] is None and first["version"] == 1
    assert not second["due"] and not second["can_answer"]
    assert first["due_at"].endswith("Z")


def test_referrer_answers_then_corrects(team, sent, api_as, db_session):
    """201 for the first answer, 200 for a correction with the version read, 409 for a stale
    version; the answers are audited and the panel's member reads them."""
    api = api_as(team["referrer"])
    resp = api.post(_url(sent.reference, "/3"), json=answers())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["advice_followed"] == "partly" and body["answered_by"] == team["referrer"].name
    version = body["version"]
    resp = api.post(_url(sent.reference, "/3"), json=answers(response="CR", version=version))
    assert resp.status_code == 200 and resp.get_json()["response"] == "CR"
    api_error(
        api.post(_url(sent.reference, "/3"), json=answers(response="PD", version=version)), 409
    )
    assert checks_of(db_session, sent)[3].response == "CR"
    actions = db_session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.startswith("outcome_check."))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["outcome_check.answered", "outcome_check.corrected"]
    member = api_as(team["nap_member"]).get(_url(sent.reference)).get_json()
    assert member["checks"][0]["response"] == "CR" and not member["checks"][0]["can_answer"]


def test_coordinator_answers_on_behalf(team, sent, api_as, db_session):
    resp = api_as(team["nap_coordinator"]).post(_url(sent.reference, "/3"), json=answers())
    assert resp.status_code == 201
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "outcome_check.answered")
    )
    assert entry.actor_id == team["nap_coordinator"].id
    assert entry.details["on_behalf_of_referrer"] is True


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (answers(disease_status="cured"), 422, "disease_status"),
        (answers(disease_status=["stable"]), 422, "disease_status"),
        (answers(response={"CR": 1}), 422, "response"),
        ({k: v for k, v in answers().items() if k != "response"}, 422, "response"),
        (answers(advice_followed="no", advice_note=""), 422, "advice_note"),
        (answers(advice_note=5), 422, "advice_note"),
        (answers(advice_note="Jane Smith, NHS number 943 476 5919."), 422, "advice_note"),
        (answers(version="2"), 422, "version"),
        (answers(version=True), 422, "version"),
        ({**answers(), "colour": "red"}, 422, "colour"),
        ([1, 2], 422, None),
    ],
)
def test_bad_answers_are_refused(team, sent, api_as, db_session, body, status, field):
    resp = api_as(team["referrer"]).post(_url(sent.reference, "/3"), json=body)
    api_error(resp, status, field)
    assert not checks_of(db_session, sent)[3].is_answered


def test_refusals(team, sent, make_case, api_as, db_session, client):
    """Not JSON: 400; a month with no check: 404; not due: 409; a member or chair: 403;
    someone who may not see the case: 404; no token: 401; before sending: 403."""
    api = api_as(team["referrer"])
    api_error(api.post(_url(sent.reference, "/3"), data="x", content_type="text/plain"), 400)
    api_error(api.post(_url(sent.reference, "/5"), json=answers()), 404)
    api_error(api.post(_url(sent.reference, "/6"), json=answers()), 409)
    for who in ("nap_member", "chair"):
        api_error(api_as(team[who]).post(_url(sent.reference, "/3"), json=answers()), 403)
    for who in ("other_referrer", "north_coordinator", "admin"):
        caller = api_as(team[who])
        api_error(caller.get(_url(sent.reference)), 404)
        api_error(caller.post(_url(sent.reference, "/3"), json=answers()), 404)
    assert client.get(_url(sent.reference)).status_code == 401
    draft = make_case(team["referrer"], submit=True)
    api_error(api.post(_url(draft.reference, "/3"), json=answers()), 403)
    withdrawn = mark_sent(db_session, make_case(team["referrer"], submit=True))
    withdrawn.status = CaseStatus.WITHDRAWN
    db_session.commit()
    api_error(api.post(_url(withdrawn.reference, "/3"), json=answers()), 403)
    assert not any(c.is_answered for c in checks_of(db_session, sent).values())

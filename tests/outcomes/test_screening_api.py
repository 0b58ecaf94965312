"""The screening log through the API: ``GET/POST /api/v1/cases/{ref}/trial-referrals``, each
role, and the refusals (400, 403, 404, 409, 422) in the API's one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.core.uktime import uk_today
from panel.outcomes import operations as ops
from panel.outcomes.models import TrialReferral
from tests.support.screening import TRIALS, screening_world
from tests.support.web import Api, api_error


@pytest.fixture
def world(db_session, make_user, make_case):
    return screening_world(db_session, make_user, make_case)


@pytest.fixture
def api_as(client, db_session):
    from panel.api import tokens

    def factory(user) -> Api:
        new = tokens.create_token(user, "test token", by=user)
        db_session.commit()
        return Api(client, new.secret)

    return factory


def _url(case) -> str:
    return f"/api/v1/cases/{case.reference}/trial-referrals"


def _step(**extra):
    return {"trial": "CRISP", "step": "referred", "on": uk_today().isoformat(), **extra}


def _saved(db_session) -> int:
    db_session.expire_all()
    return len(list(db_session.scalars(select(TrialReferral))))


def test_get_lists_each_suggested_trial(world, db_session, api_as):
    case, u = world["case"], world["users"]
    ops.record_step(
        case, "CRISP", "referred", uk_today(), note="Emailed the team", by=u["nap_coordinator"]
    )
    db_session.commit()
    resp = api_as(u["referrer"]).get(_url(case))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["case"] == case.reference
    assert [t["trial"] for t in body["trials"]] == list(TRIALS)
    crisp, naxi = body["trials"]
    assert (crisp["stage"], crisp["version"], crisp["suggested"]) == ("referred", 1, True)
    assert crisp["allowed_next_steps"] == ["screened", "declined", "not_pursued"]
    assert crisp["can_withdraw_last_step"] is False  # the coordinator recorded it
    assert crisp["steps"] == [
        {
            "step": "referred",
            "label": "Referred to the trial team",
            "on": uk_today().isoformat(),
            "reason": None,
            "reason_label": None,
            "note": "Emailed the team",
            "recorded_by": "Nap Coordinator",
            "recorded_at": crisp["steps"][0]["recorded_at"],
        }
    ]
    assert (naxi["stage"], naxi["version"], naxi["steps"]) == ("suggested", 0, [])
    assert naxi["allowed_next_steps"] == ["referred", "declined", "not_pursued"]
    # A member reads it, with nothing to record.
    body = api_as(u["nap_member"]).get(_url(case)).get_json()
    assert all(t["allowed_next_steps"] == [] for t in body["trials"])


def test_the_answers_fit_the_openapi_document(world, db_session, api_as, client):
    """Do the GET and POST answers validate against the schemas the document publishes?"""
    import jsonschema_rs

    doc = client.get("/api/v1/openapi.json").get_json()

    def validator(name):
        return jsonschema_rs.Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        )

    api = api_as(world["users"]["nap_coordinator"])
    resp = api.post(_url(world["case"]), json=_step(note="Phoned"))
    assert resp.status_code == 201
    validator("TrialReferral").validate(resp.get_json())
    validator("TrialReferralList").validate(api.get(_url(world["case"])).get_json())
    validator("NewTrialReferralStep").validate(_step(note="Phoned", version=0, reason=""))


@pytest.mark.parametrize("who", ["referrer", "co_referrer", "nap_coordinator"])
def test_post_records_a_step(world, db_session, api_as, who):
    case = world["case"]
    api = api_as(world["users"][who])
    resp = api.post(_url(case), json=_step(version=0))
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["trial"], body["stage"], body["version"]) == ("CRISP", "referred", 1)
    assert body["can_withdraw_last_step"] is True
    resp = api.post(
        _url(case),
        json=_step(step="not_pursued", reason="other", note="Chose another treatment"),
    )
    assert resp.status_code == 201
    assert resp.get_json()["steps"][-1]["reason"] == "other"
    assert resp.get_json()["allowed_next_steps"] == []


@pytest.mark.parametrize(
    ("who", "get", "post"),
    [
        ("nap_member", 200, 403),
        ("chair", 200, 403),
        ("guest", 403, 403),
        ("other_referrer", 404, 404),
        ("north_coordinator", 404, 404),
        ("admin", 404, 404),
    ],
)
def test_everyone_else(world, db_session, api_as, who, get, post):
    """Do members and chairs read but not record (403), an invited expert neither (403), and
    a referrer of another case, another panel's coordinator and an admin find nothing (404)?"""
    api = api_as(world["users"][who])
    resp = api.get(_url(world["case"]))
    assert resp.status_code == get
    if get != 200:
        api_error(resp, get)
    api_error(api.post(_url(world["case"]), json=_step()), post)
    assert _saved(db_session) == 0


def test_the_referrer_before_the_letters_is_told_to_wait(db_session, make_user, make_case, api_as):
    world = screening_world(db_session, make_user, make_case, sent=False)
    api = api_as(world["users"]["referrer"])
    api_error(api.get(_url(world["case"])), 409)
    api_error(api.post(_url(world["case"]), json=_step()), 409)
    coordinator = api_as(world["users"]["nap_coordinator"])
    assert coordinator.post(_url(world["case"]), json=_step()).status_code == 201


def test_no_token_and_unknown_case(world, client, api_as):
    assert client.get(_url(world["case"])).status_code == 401
    api = api_as(world["users"]["nap_coordinator"])
    api_error(api.get("/api/v1/cases/NB-2099-9999/trial-referrals"), 404)
    api_error(api.post("/api/v1/cases/not a ref!/trial-referrals", json=_step()), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"step": "referred", "on": "2026-01-01"}, "trial"),
        (_step(trial="MINIVAN"), "trial"),
        (_step(step="enrolled"), "step"),
        (_step(step="suggested"), "step"),
        (_step(step=3), "step"),
        (_step(on="01/02/2026"), "on"),
        (_step(on="2026-02-30"), "on"),
        (_step(on=(uk_today() + timedelta(days=1)).isoformat()), "on"),
        (_step(on="2020-01-01"), "on"),
        (_step(reason="travel"), "reason"),
        (_step(step="not_pursued"), "reason"),
        (_step(step="not_pursued", reason="other"), "note"),
        (_step(note=7), "note"),
        (_step(note="x" * 1001), "note"),
        (_step(version="1"), "version"),
        (_step(version=True), "version"),
        (_step(colour="blue"), "colour"),
    ],
)
def test_bad_steps_are_422(world, db_session, api_as, body, field):
    api = api_as(world["users"]["nap_coordinator"])
    api_error(api.post(_url(world["case"]), json=body), 422, field)
    assert _saved(db_session) == 0


def test_malformed_bodies_are_400_or_422(world, db_session, api_as):
    api = api_as(world["users"]["nap_coordinator"])
    url = _url(world["case"])
    api_error(api.post(url, data="{not json", headers={"Content-Type": "application/json"}), 400)
    api_error(api.post(url, json=["CRISP"]), 422)
    assert _saved(db_session) == 0


def test_identifiers_are_refused_without_echo(world, db_session, api_as):
    api = api_as(world["users"]["nap_coordinator"])
    resp = api.post(_url(world["case"]), json=_step(note="Seen, NHS number 943 476 5919"))
    body = api_error(resp, 422, "note")
    assert "943" not in resp.get_data(as_text=True)
    assert body["findings"] and body["findings"][0]["field"] == "note"
    assert _saved(db_session) == 0


def test_conflicts_are_409(world, db_session, api_as):
    """A stale version, and a step after an outcome, are conflicts."""
    api = api_as(world["users"]["nap_coordinator"])
    url = _url(world["case"])
    assert api.post(url, json=_step(step="declined", version=0)).status_code == 201
    api_error(api.post(url, json=_step(step="declined", version=0)), 409)
    api_error(api.post(url, json=_step(step="referred")), 409, "step")

"""The screening log on the case page: the card each role sees, its form (errors shown on the
page, never a 500), withdrawal, and a query count that does not grow with the log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.core.uktime import uk_today
from panel.outcomes import operations as ops
from panel.outcomes.models import TrialReferral
from tests.support.screening import TRIALS, screening_world
from tests.support.web import post_form


@pytest.fixture
def world(db_session, make_user, make_case):
    return screening_world(db_session, make_user, make_case)


@pytest.fixture
def signed_in(app, login):
    def make(user):
        client = app.test_client()
        login(client, user)
        return client

    return make


def _page(client, case):
    resp = client.get(f"/cases/{case.reference}")
    return resp.status_code, resp.get_data(as_text=True)


def _card(html: str) -> str:
    start = html.find('id="screening-log"')
    assert start >= 0, "no screening log card"
    return html[start : html.index("</section>", start)]


def _post(app, client, case, **data):
    form = {"trial": "CRISP", "step": "referred", "on": uk_today().isoformat(), **data}
    return post_form(app, client, f"/cases/{case.reference}/trial-referrals", form)


def _steps(db_session, case):
    db_session.expire_all()
    referral = db_session.scalar(
        select(TrialReferral).where(
            TrialReferral.case_id == case.id, TrialReferral.trial_code == "CRISP"
        )
    )
    return [s.step for s in referral.steps] if referral else []


# --------------------------------------------------------------------------- the card
@pytest.mark.parametrize(
    ("who", "status", "card", "forms"),
    [
        ("referrer", 200, True, 2),
        ("co_referrer", 200, True, 2),
        ("nap_coordinator", 200, True, 2),
        ("nap_member", 200, True, 0),
        ("chair", 200, True, 0),
        ("guest", 200, False, 0),
        ("other_referrer", 404, False, 0),
        ("north_coordinator", 404, False, 0),
        ("admin", 404, False, 0),
    ],
)
def test_the_card_for_each_role(world, db_session, signed_in, who, status, card, forms):
    """Does each role see the log (with a form for each trial when they may record), or not
    at all?"""
    case = world["case"]
    ops.record_step(
        case,
        "CRISP",
        "referred",
        uk_today(),
        note="Emailed the CRISP team",
        by=world["users"]["nap_coordinator"],
    )
    db_session.commit()
    got, html = _page(signed_in(world["users"][who]), case)
    assert got == status
    assert ('id="screening-log"' in html) is card
    if card:
        part = _card(html)
        assert [m for m in re.findall(r'data-trial="([^"]+)"', part)] == list(TRIALS)
        assert part.count('data-testid="screening-form"') == forms
        assert 'data-stage="referred"' in part and "Emailed the CRISP team" in part
        assert "Recorded by Nap Coordinator" in part
        # Only the allowed next steps are offered, and the reasons of those steps.
        if forms:
            crisp = part[: part.index('data-trial="NAXITAMAB-201"')]
            offered = re.findall(r'<option value="([a-z_]+)"', crisp)
            assert offered == ["screened", "declined", "not_pursued"]
            assert "screen_failed:" not in crisp and "not_pursued:travel" in crisp


def test_no_card_for_the_referrer_before_the_letters(db_session, make_user, make_case, signed_in):
    world = screening_world(db_session, make_user, make_case, sent=False)
    _, html = _page(signed_in(world["users"]["referrer"]), world["case"])
    assert 'id="screening-log"' not in html
    _, html = _page(signed_in(world["users"]["nap_coordinator"]), world["case"])
    assert _card(html).count('data-testid="screening-form"') == 2


def test_an_outcome_offers_no_form_but_a_withdrawal(world, db_session, signed_in):
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "declined", uk_today(), by=u["referrer"])
    db_session.commit()
    part = _card(_page(signed_in(u["referrer"]), case)[1])
    crisp = part[: part.index('data-trial="NAXITAMAB-201"')]
    assert 'data-testid="screening-form"' not in crisp
    assert 'data-testid="screening-withdraw"' in crisp
    # The co-referrer did not record it: no withdrawal for them; the coordinator may.
    part = _card(_page(signed_in(u["co_referrer"]), case)[1])
    assert 'data-testid="screening-withdraw"' not in part
    part = _card(_page(signed_in(u["nap_coordinator"]), case)[1])
    assert 'data-testid="screening-withdraw"' in part


# --------------------------------------------------------------------------- the form
def test_recording_through_the_form(app, world, db_session, signed_in):
    case = world["case"]
    client = signed_in(world["users"]["referrer"])
    resp = _post(app, client, case, version="0", note="Phoned the team")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/cases/{case.reference}#screening-log")
    assert _steps(db_session, case) == ["referred"]
    # A reason posted for another step than the one chosen is not kept.
    resp = _post(app, client, case, step="screened", reason="not_pursued:travel", version="1")
    assert resp.status_code == 302
    assert _steps(db_session, case) == ["referred", "screened"]
    resp = _post(app, client, case, step="screen_failed", reason="screen_failed:age", version="2")
    assert resp.status_code == 302
    referral = db_session.scalar(select(TrialReferral).where(TrialReferral.trial_code == "CRISP"))
    assert (referral.stage, referral.steps[-1].reason) == ("screen_failed", "age")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"on": ""}, 422, "Give the day it happened"),
        ({"on": "31/02/2026"}, 422, "Give the day it happened"),
        ({"on": (uk_today() + timedelta(days=2)).isoformat()}, 422, "cannot be in the future"),
        ({"on": "2020-01-01"}, 422, "before the recommendation was approved"),
        ({"step": "enrolled"}, 422, "cannot follow"),
        ({"step": "bogus"}, 422, "Choose a step"),
        ({"step": "not_pursued"}, 422, "Choose a reason"),
        ({"step": "not_pursued", "reason": "not_pursued:other", "note": ""}, 422, "Say why"),
        ({"trial": "MINIVAN"}, 422, "not suggested"),
        ({"note": "Seen, NHS number 943 476 5919"}, 422, "Step not recorded"),
        ({"version": "7"}, 409, "Someone else changed"),
        ({"version": "junk"}, 409, "Someone else changed"),
    ],
)
def test_bad_input_is_shown_on_the_page(app, world, db_session, signed_in, data, status, message):
    """Is each refused step shown again on the case page (422, or 409 for a stale form) with
    its reason and what was typed, and nothing saved?"""
    case = world["case"]
    client = signed_in(world["users"]["nap_coordinator"])
    resp = _post(app, client, case, **{"note": "Typed note", **data})
    assert resp.status_code == status
    html = resp.get_data(as_text=True)
    part = _card(html)
    error = re.search(r'data-testid="screening-error">([^<]*)<', part)
    assert error and message in error.group(1).replace("&#34;", '"'), part[:3000]
    if "note" not in data and "trial" not in data:
        assert "Typed note" in part
    assert "943 476 5919" not in error.group(1)
    assert _steps(db_session, case) == []


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nap_member", 403),
        ("chair", 403),
        ("guest", 403),
        ("other_referrer", 404),
        ("north_coordinator", 404),
        ("admin", 404),
    ],
)
def test_the_form_refuses_everyone_else(app, world, db_session, signed_in, who, status):
    case = world["case"]
    client = signed_in(world["users"][who])
    resp = _post(app, client, case)
    assert resp.status_code == status
    withdraw = post_form(
        app,
        client,
        f"/cases/{case.reference}/trial-referrals/withdraw",
        {"trial": "CRISP"},
    )
    assert withdraw.status_code == status
    assert _steps(db_session, case) == []


def test_no_csrf_token_is_a_400(world, db_session, signed_in):
    case = world["case"]
    client = signed_in(world["users"]["nap_coordinator"])
    resp = client.post(
        f"/cases/{case.reference}/trial-referrals",
        data={"trial": "CRISP", "step": "referred", "on": uk_today().isoformat()},
    )
    assert resp.status_code == 400
    assert _steps(db_session, case) == []


def test_withdrawing_through_the_form(app, world, db_session, signed_in):
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["referrer"])
    db_session.commit()
    url = f"/cases/{case.reference}/trial-referrals/withdraw"
    # The co-referrer did not record it: 403; a stale version: a message, nothing withdrawn.
    assert post_form(app, signed_in(u["co_referrer"]), url, {"trial": "CRISP"}).status_code == 403
    client = signed_in(u["referrer"])
    resp = post_form(app, client, url, {"trial": "CRISP", "version": "5"})
    assert resp.status_code == 302 and _steps(db_session, case) == ["referred"]
    assert "Someone else changed" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = post_form(app, client, url, {"trial": "CRISP", "version": "1"})
    assert resp.status_code == 302 and _steps(db_session, case) == []


def test_a_family_session_reaches_no_log(app, world, db_session):
    """A family holding its code is sent to the sign-in page by the log's routes (and gets 401
    from the API): the log is for staff only."""
    from panel.feedback import family

    case = world["case"]
    _, plain = family.create_code(case, by=world["users"]["referrer"])
    db_session.commit()
    client = app.test_client()
    resp = post_form(app, client, "/family", {"code": plain})
    assert resp.status_code == 302
    for url in (
        f"/cases/{case.reference}/trial-referrals",
        f"/cases/{case.reference}/trial-referrals/withdraw",
    ):
        resp = post_form(
            app, client, url, {"trial": "CRISP", "step": "referred", "on": uk_today().isoformat()}
        )
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get(f"/api/v1/cases/{case.reference}/trial-referrals").status_code == 401
    assert _steps(db_session, case) == []


# --------------------------------------------------------------------------- queries
@pytest.mark.parametrize("who", ["nap_coordinator", "referrer"])
def test_the_page_costs_the_same_with_a_longer_log(
    world, db_session, signed_in, count_queries, who
):
    """Does the case page run as many queries with one step as with every trial's full road?"""
    case, u = world["case"], world["users"]
    coordinator = u["nap_coordinator"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=coordinator)
    db_session.commit()
    client = signed_in(u[who])
    url = f"/cases/{case.reference}"
    assert client.get(url).status_code == 200  # warm up
    with count_queries() as few:
        html_few = client.get(url).get_data(as_text=True)
    ops.record_step(case, "CRISP", "screened", uk_today(), by=coordinator)
    ops.record_step(case, "CRISP", "enrolled", uk_today(), by=coordinator)
    ops.record_step(case, "NAXITAMAB-201", "referred", uk_today(), by=u["referrer"])
    ops.record_step(case, "NAXITAMAB-201", "screened", uk_today(), by=u["co_referrer"])
    db_session.commit()
    with count_queries() as many:
        html_many = client.get(url).get_data(as_text=True)
    assert html_few.count('data-testid="screening-step"') == 1
    assert html_many.count('data-testid="screening-step"') == 5
    assert many.count == few.count, "\n".join(many.statements)

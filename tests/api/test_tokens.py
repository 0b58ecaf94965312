"""Personal API tokens: made on the command line or the account page, refused when they should be."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from panel.accounts import operations as account_ops
from panel.accounts.models import ApiToken
from panel.api import tokens
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from tests.support.web import Api, extract_csrf, post_form

ME = "/api/v1/me"


# --------------------------------------------------------------------------- making tokens
def test_cli_prints_a_token_once_and_stores_only_its_hash(app, db_session, make_user):
    """Does `create-token` print a working token while the database keeps only its hash?"""
    user = make_user(referrer_at="LEEDS", email="cli.user@nhs.example.org")
    result = app.test_cli_runner().invoke(
        args=["create-token", "CLI.User@nhs.example.org", "--name", "matcher"]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("pnl_") and len(secret) == 47
    row = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.name == "matcher"
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:12] and secret not in (row.token_hash, row.prefix, row.name)
    assert (
        db_session.scalar(
            select(AuditEntry.action).where(
                AuditEntry.object_type == "api_token", AuditEntry.object_id == str(row.id)
            )
        )
        == "api_token.created"
    )


def test_cli_refuses_unknown_and_deactivated_accounts(app, db_session, make_user):
    make_user(email="gone@nhs.example.org", active=False)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["create-token", "nobody@nhs.example.org"])
    assert unknown.exit_code != 0 and "No account" in unknown.output
    inactive = runner.invoke(args=["create-token", "gone@nhs.example.org"])
    assert inactive.exit_code != 0 and "deactivated" in inactive.output
    assert db_session.scalar(select(ApiToken)) is None


def test_account_page_makes_a_token_shown_once(app, client, db_session, make_user, login):
    """Can a signed-in user make a token from the account page, and is it shown exactly once
    (only the prefix afterwards)?"""
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    resp = post_form(app, client, "/account/api-tokens", {"name": "  My   laptop "})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    row = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.name == "My laptop"
    secret = next(w for w in html.replace('"', " ").split() if w.startswith(row.prefix))
    assert hashlib.sha256(secret.encode()).hexdigest() == row.token_hash
    assert resp.headers["Cache-Control"] == "no-store"
    # It works, and it is never shown again.
    assert Api(client, secret).get(ME).status_code == 200
    with app.test_request_context("/account"):
        login_user(user)
        section = render_template("accounts/_api_tokens.html")
    assert row.prefix in section and secret not in section and "My laptop" in section


def test_account_page_refuses_an_empty_name_and_a_missing_csrf_token(
    app, client, db_session, make_user, login
):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    assert post_form(app, client, "/account/api-tokens", {"name": "   "}).status_code == 302
    assert client.post("/account/api-tokens", data={"name": "x"}).status_code == 400
    assert db_session.scalar(select(ApiToken)) is None


def test_a_user_revokes_their_token_and_it_stops_working(
    app, client, db_session, make_user, login, make_token
):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    api = Api(app.test_client(), secret)
    assert api.get(ME).status_code == 200
    token = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    login(client, user)
    resp = post_form(app, client, f"/account/api-tokens/{token.id}/revoke")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account#api-tokens")
    assert api.get(ME).status_code == 401
    db_session.refresh(token)
    assert token.revoked_at is not None


def test_nobody_revokes_someone_elses_token(app, client, db_session, make_user, login, make_token):
    """Is another user's token id answered 404, and left alone?"""
    owner = make_user(referrer_at="LEEDS")
    secret = make_token(owner)
    token = db_session.scalar(select(ApiToken).where(ApiToken.user_id == owner.id))
    login(client, make_user(referrer_at="LEEDS"))
    page = client.get("/account")
    assert (
        post_form(
            app,
            client,
            f"/account/api-tokens/{token.id}/revoke",
            {"csrf_token": extract_csrf(page.get_data(as_text=True))},
        ).status_code
        == 404
    )
    assert Api(app.test_client(), secret).get(ME).status_code == 200


def test_anonymous_visitors_cannot_make_tokens(app, client):
    resp = client.post("/account/api-tokens", data={"name": "x"})
    assert resp.status_code in (302, 400)  # sign-in page (or CSRF first): never a token


def test_a_user_holds_a_bounded_number_of_live_tokens(app, db_session, make_user):
    user = make_user(referrer_at="LEEDS")
    for i in range(tokens.MAX_ACTIVE_TOKENS):
        tokens.create_token(user, f"t{i}", by=user)
    with pytest.raises(tokens.TokenError):
        tokens.create_token(user, "one too many", by=user)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\x00name"])
def test_token_names_are_checked(app, db_session, make_user, name):
    user = make_user(referrer_at="LEEDS")
    with pytest.raises(tokens.TokenError):
        tokens.create_token(user, name, by=user)


# --------------------------------------------------------------------------- refusals
def _error(resp) -> dict:
    body = resp.get_json()
    assert set(body) >= {"error", "field"}, body
    return body


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer pnl_not-a-real-token",
        "Bearer " + "x" * 5000,
    ],
)
def test_missing_or_bad_tokens_get_401_json(app, client, header):
    """Is every request without a valid token a 401 with the JSON error shape?"""
    headers = {"Authorization": header} if header is not None else {}
    resp = client.get(ME, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert _error(resp)["field"] is None


def test_revoked_token_is_refused(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    tokens.revoke_token(db_session.scalar(select(ApiToken)), by=user)
    db_session.commit()
    assert Api(client, secret).get(ME).status_code == 401


def test_tokens_of_deactivated_users_are_refused(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    admin = make_user(admin=True)
    secret = make_token(user)
    assert Api(client, secret).get(ME).status_code == 200
    account_ops.set_active(user, False, by=admin)
    db_session.commit()
    resp = Api(client, secret).get(ME)
    assert resp.status_code == 401
    assert resp.get_json()["error"] == Api(client, "pnl_unknown").get(ME).get_json()["error"]
    # Reactivating the account does not bring the token back (docs/api.md says so).
    account_ops.set_active(user, True, by=admin)
    db_session.commit()
    assert Api(client, secret).get(ME).status_code == 401
    token = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.revoked_at is not None
    assert (
        db_session.scalar(
            select(AuditEntry.details).where(
                AuditEntry.action == "api_token.revoked", AuditEntry.object_id == str(token.id)
            )
        )["reason"]
        == "deactivated"
    )


def test_a_signed_in_browser_session_is_not_enough(app, client, make_user, login):
    """Does the API ignore the cookie session (so CSRF cannot reach it)?"""
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    assert client.get(ME).status_code == 401
    assert client.post("/api/v1/cases", json={"schema": "panel-case/1"}).status_code == 401


def test_api_answers_set_no_cookie(app, client, make_user, make_token):
    secret = make_token(make_user(referrer_at="LEEDS"))
    resp = Api(client, secret).get(ME)
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_last_used_is_written_at_most_once_a_minute(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    api = Api(client, secret)
    token = db_session.scalar(select(ApiToken))
    assert token.last_used_at is None
    api.get(ME)
    db_session.refresh(token)
    first = token.last_used_at
    assert first is not None
    api.get(ME)
    db_session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = utcnow() - timedelta(minutes=2)
    db_session.commit()
    api.get(ME)
    db_session.refresh(token)
    assert token.last_used_at > first


def test_api_is_rate_limited_per_token(app, client, db_session, make_user, make_token, monkeypatch):
    """Does one token get a shared budget across every route, while another token has its own?"""
    monkeypatch.setitem(app.config, "API_RATELIMIT", "3 per minute")
    user = make_user(referrer_at="LEEDS")
    first, second = Api(client, make_token(user, "a")), Api(client, make_token(user, "b"))
    codes = [
        first.get(ME).status_code,
        first.get("/api/v1/cases").status_code,
        first.get(ME).status_code,
    ]
    assert codes == [200, 200, 200]
    limited = first.get("/api/v1/cases")
    assert limited.status_code == 429
    assert _error(limited)["error"].startswith("Too many requests")
    assert second.get(ME).status_code == 200


def test_me_describes_the_caller(app, client, make_user, make_token):
    user = make_user(
        referrer_at="LEEDS",
        email="dr.me@nhs.example.org",
        name="Dr Me",
        roles=[("NAP", "member"), ("NAP", "chair"), ("ECMC-NORTH", "coordinator")],
    )
    body = Api(client, make_token(user, "laptop")).get(ME).get_json()
    assert body["email"] == "dr.me@nhs.example.org" and body["name"] == "Dr Me"
    assert body["centre"] == "LEEDS" and body["is_referrer"] is True and body["is_admin"] is False
    assert body["roles"] == {"NAP": ["member", "chair"], "ECMC-NORTH": ["coordinator"]}
    assert body["token"]["name"] == "laptop" and body["token"]["prefix"].startswith("pnl_")

"""When API tokens stop working: expiry, the two-factor rule, password changes, new roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import select

from panel.accounts import operations as account_ops
from panel.accounts.models import ApiToken, Panel, PanelRoleKind, TokenRefusal
from panel.api import auth, tokens
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from tests.support.factories import TEST_PASSWORD
from tests.support.web import Api, post_form

ME = "/api/v1/me"


def _token_of(db_session, user) -> ApiToken:
    return db_session.scalar(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )


def _revocations(db_session, token: ApiToken) -> list[dict]:
    return [
        e.details
        for e in db_session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "api_token",
                AuditEntry.object_id == str(token.id),
                AuditEntry.action == "api_token.revoked",
            )
        )
    ]


def _nap(db_session) -> Panel:
    return db_session.scalar(select(Panel).where(Panel.code == "NAP"))


# --------------------------------------------------------------------------- two-factor rule
def test_token_of_an_account_that_must_enrol_in_two_factor_is_refused(
    app, client, db_session, make_user, make_token
):
    """Does a chair who has not enrolled in 2FA get a clear 401, and the token work once they enrol?"""
    user = make_user(roles=[("NAP", "chair")])
    secret = make_token(user)
    api = Api(client, secret)
    assert api.get(ME).status_code == 200
    # The second factor is gone (accounts made before 2FA was required, or a reset by the
    # database administrator): the token must not be a way round the rule.
    saved = user.totp_secret
    user.totp_secret, user.totp_enabled_at = None, None
    db_session.commit()
    resp = api.get(ME)
    assert resp.status_code == 401
    body = resp.get_json()
    assert body == {"error": auth.SECOND_FACTOR, "field": None}
    assert "two-factor" in body["error"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert _token_of(db_session, user).refusal(utcnow()) is TokenRefusal.SECOND_FACTOR_REQUIRED
    assert api.get("/api/v1/cases").status_code == 401
    user.totp_secret, user.totp_enabled_at = saved, utcnow()
    db_session.commit()
    assert api.get(ME).status_code == 200


@pytest.mark.parametrize("admin", [True, False])
def test_no_token_is_made_for_an_account_that_must_enrol_first(app, db_session, make_user, admin):
    """Are the command line and the operation refusing a token to an un-enrolled admin/coordinator?"""
    roles = [] if admin else [("NAP", "coordinator")]
    user = make_user(admin=admin, roles=roles, totp=False, email="needs.2fa@nhs.example.org")
    result = app.test_cli_runner().invoke(args=["create-token", user.email])
    assert result.exit_code != 0 and "two-factor" in result.output
    with pytest.raises(tokens.TokenError, match="two-factor"):
        tokens.create_token(user, "x", by=user)
    assert db_session.scalar(select(ApiToken)) is None


@pytest.mark.parametrize("role", ["coordinator", "chair"])
def test_admin_screen_giving_a_role_that_needs_two_factor_revokes_tokens(
    app, client, db_session, make_user, make_token, login, role
):
    """Made coordinator or chair: are the person's tokens revoked at once (audited, by whom)?"""
    admin = make_user(admin=True)
    user = make_user(referrer_at="LEEDS", totp=True)  # enrolled already: revoked all the same
    secret = make_token(user)
    assert Api(app.test_client(), secret).get(ME).status_code == 200
    login(client, admin)
    resp = post_form(
        app,
        client,
        f"/admin/users/{user.id}/roles",
        {"role-panel_id": _nap(db_session).id, "role-role": role},
    )
    assert resp.status_code == 302
    assert Api(app.test_client(), secret).get(ME).status_code == 401
    token = _token_of(db_session, user)
    db_session.refresh(token)
    assert token.revoked_at is not None
    (details,) = _revocations(db_session, token)
    assert details["reason"] == account_ops.GAINED_TWO_FACTOR_ROLE
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.revoked"))
    assert entry.actor_id == admin.id


def test_admin_screen_making_someone_admin_revokes_their_tokens(
    app, client, db_session, make_user, make_token, login
):
    admin = make_user(admin=True)
    user = make_user(centre="LEEDS", totp=True)
    secret = make_token(user)
    login(client, admin)
    leeds = user.centre_id
    resp = post_form(
        app,
        client,
        f"/admin/users/{user.id}",
        {
            "name": user.name,
            "email": user.email,
            "centre_id": leeds,
            "is_admin": "y",
        },
    )
    assert resp.status_code == 302
    assert Api(app.test_client(), secret).get(ME).status_code == 401
    (details,) = _revocations(db_session, _token_of(db_session, user))
    assert details["reason"] == account_ops.GAINED_TWO_FACTOR_ROLE


def test_a_member_role_or_other_edits_leave_tokens_alone(app, db_session, make_user, make_token):
    """Member (no 2FA needed) and ordinary edits do not revoke anything."""
    admin = make_user(admin=True)
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    account_ops.add_panel_role(user, _nap(db_session), PanelRoleKind.MEMBER, by=admin)
    account_ops.update_user(user, by=admin, name="Dr Renamed")
    db_session.commit()
    assert _token_of(db_session, user).revoked_at is None
    assert secret


# --------------------------------------------------------------------------- password change
def test_password_change_on_the_account_page_revokes_tokens(
    app, client, db_session, make_user, make_token, login
):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    assert Api(app.test_client(), secret).get(ME).status_code == 200
    login(client, user)
    new = "amber-quartz-meadow-917"
    resp = post_form(
        app,
        client,
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
    )
    assert resp.status_code == 302
    assert Api(app.test_client(), secret).get(ME).status_code == 401
    token = _token_of(db_session, user)
    (details,) = _revocations(db_session, token)
    assert details["reason"] == "password_changed"


def test_password_reset_revokes_tokens(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    with app.test_request_context():
        link = account_ops.issue_reset_link(user)
    db_session.commit()
    new = "saffron-glacier-compass-88"
    assert (
        post_form(app, client, f"/reset/{link}", {"new_password": new, "confirm": new}).status_code
        == 302
    )
    assert Api(app.test_client(), secret).get(ME).status_code == 401
    (details,) = _revocations(db_session, _token_of(db_session, user))
    assert details["reason"] == "password_changed"


# --------------------------------------------------------------------------- expiry
def test_tokens_expire_after_90_days_by_default(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    before = utcnow()
    secret = make_token(user)
    token = _token_of(db_session, user)
    assert timedelta(days=90) <= token.expires_at - before < timedelta(days=90, minutes=1)
    body = Api(client, secret).get(ME).get_json()
    assert body["token"]["expires_at"].startswith(token.expires_at.date().isoformat())


def test_an_expired_token_gets_a_clear_401(app, client, db_session, make_user, make_token):
    user = make_user(referrer_at="LEEDS")
    secret = make_token(user)
    token = _token_of(db_session, user)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    resp = Api(client, secret).get(ME)
    assert resp.status_code == 401
    assert resp.get_json() == {"error": auth.EXPIRED, "field": None}
    assert "expired" in auth.EXPIRED
    # A row without an expiry (never written by Panel) is not a token for ever.
    token.expires_at = None
    db_session.commit()
    assert Api(client, secret).get(ME).get_json()["error"] == auth.EXPIRED


def test_the_default_life_is_a_setting(app, db_session, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_DAYS", 30)
    user = make_user(referrer_at="LEEDS")
    new = tokens.create_token(user, "short", by=user)
    assert new.token.expires_at - new.token.created_at == timedelta(days=30)


@pytest.mark.parametrize("days", [0, 366, -1, "abc"])
def test_settings_outside_one_year_are_refused_at_startup(tmp_path, days, monkeypatch):
    from panel import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match="API_TOKEN_DAYS"):
        create_app(
            {
                "API_TOKEN_DAYS": days,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "STORAGE_DIR": str(tmp_path),
            }
        )


def test_cli_sets_the_life_and_refuses_more_than_a_year(app, db_session, make_user):
    user = make_user(referrer_at="LEEDS", email="cli.days@nhs.example.org")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["create-token", user.email, "--name", "nightly", "--days", "30"])
    assert ok.exit_code == 0, ok.output
    token = _token_of(db_session, user)
    assert token.expires_at - token.created_at == timedelta(days=30)
    assert "expires" in ok.stderr and token.expires_at.strftime("%Y-%m-%d") in ok.stderr
    for bad in ("0", "366", "-5"):
        result = runner.invoke(args=["create-token", user.email, "--days", bad])
        assert result.exit_code != 0 and "1 to 365 days" in result.output
    not_a_number = runner.invoke(args=["create-token", user.email, "--days", "soon"])
    assert not_a_number.exit_code != 0 and "soon" in not_a_number.output
    assert len(db_session.scalars(select(ApiToken)).all()) == 1


def test_account_page_chooses_the_life_and_shows_it(app, client, db_session, make_user, login):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="days"' in page and '<option value="90" selected>' in page and ">1 year<" in page
    resp = post_form(app, client, "/account/api-tokens", {"name": "yearly report", "days": "365"})
    assert resp.status_code == 200
    token = _token_of(db_session, user)
    assert token.expires_at - token.created_at == timedelta(days=365)
    assert token.expires_at.strftime("%d %b %Y") in resp.get_data(as_text=True)
    # The list shows when each token expires, and marks the expired ones.
    old = tokens.create_token(user, "old one", by=user, days=30).token
    old.expires_at = utcnow() - timedelta(days=1)
    db_session.commit()
    with app.test_request_context("/account"):
        login_user(user)
        from flask import render_template

        section = render_template("accounts/_api_tokens.html")
    assert "Expires" in section and token.expires_at.strftime("%d %b %Y") in section
    assert section.count("Expired</span>") == 1


@pytest.mark.parametrize("days", ["366", "0", "abc", "9999999"])
def test_account_page_refuses_a_bad_life_with_a_message(
    app, client, db_session, make_user, login, days
):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    resp = post_form(
        app, client, "/account/api-tokens", {"name": "x", "days": days}, follow_redirects=True
    )
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "No token made" in html or "days" in html
    assert db_session.scalar(select(ApiToken)) is None


def test_expired_tokens_do_not_count_against_the_limit(app, db_session, make_user):
    user = make_user(referrer_at="LEEDS")
    for i in range(tokens.MAX_ACTIVE_TOKENS):
        tokens.create_token(user, f"t{i}", by=user).token.expires_at = utcnow() - timedelta(
            seconds=1
        )
    db_session.flush()
    assert tokens.create_token(user, "fresh", by=user).token.is_usable(utcnow())

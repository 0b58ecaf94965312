"""Signing in and out: passwords, two-factor codes, lock-outs, sessions that really end."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select

from panel.accounts.models import LoginThrottle, UserSession
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from tests.support.factories import TEST_PASSWORD
from tests.support.web import post_form, totp_now


def _actions(db_session) -> list[str]:
    return list(db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_login_page_renders(client):
    """Does the sign-in page show a form with a CSRF token?"""
    resp = client.get("/login")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'name="password"' in html


def test_referrer_logs_in_without_second_factor(app, client, make_user, db_session):
    """Can a referrer (2FA optional, not enabled) sign in with a password alone?"""
    user = make_user(referrer_at="NEWCASTLE")
    resp = post_form(
        app, client, "/login", {"email": user.email.upper(), "password": TEST_PASSWORD}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "My cases" in home.get_data(as_text=True)
    assert "login.success" in _actions(db_session)


def test_wrong_password_and_unknown_user_get_the_same_answer(app, client, make_user):
    """Does a wrong password look exactly like an unknown account?"""
    user = make_user(referrer_at="LEEDS")
    a = post_form(app, client, "/login", {"email": user.email, "password": "wrong-password-123"})
    b = post_form(
        app, client, "/login", {"email": "nobody@nhs.example.org", "password": "wrong-password-123"}
    )
    assert a.status_code == b.status_code == 401
    text_a = a.get_data(as_text=True).replace(user.email, "X")
    text_b = b.get_data(as_text=True).replace("nobody@nhs.example.org", "X")
    assert "E-mail or password is incorrect." in text_a
    strip = lambda s: s.split('name="csrf_token"')[0] + s.split("</form>")[-1]  # noqa: E731
    assert strip(text_a) == strip(text_b)


def test_lockout_after_repeated_failures(app, client, make_user, db_session):
    """Is an account locked for a while after 5 failures, even with the right password?"""
    user = make_user(referrer_at="LEEDS")
    for _ in range(4):
        assert (
            post_form(
                app, client, "/login", {"email": user.email, "password": "nope-nope-nope"}
            ).status_code
            == 401
        )
    fifth = post_form(app, client, "/login", {"email": user.email, "password": "nope-nope-nope"})
    assert fifth.status_code == 429
    assert "Too many failed sign-in attempts" in fifth.get_data(as_text=True)
    right = post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert right.status_code == 429
    assert "login.lockout" in _actions(db_session)
    # When the lock-out has passed, the right password works again.
    for row in db_session.scalars(select(LoginThrottle)):
        row.locked_until = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert (
        post_form(
            app, client, "/login", {"email": user.email, "password": TEST_PASSWORD}
        ).status_code
        == 302
    )


def test_hundred_bad_logins_do_not_reveal_whether_an_account_exists(app, client, make_user):
    """Do 100 bad logins give identical answers for a real and a made-up account?"""
    user = make_user(referrer_at="LEEDS")
    real, fake = [], []
    for i in range(100):
        real.append(
            post_form(
                app, client, "/login", {"email": user.email, "password": f"bad-password-{i:04d}"}
            ).status_code
        )
        fake.append(
            post_form(
                app,
                client,
                "/login",
                {"email": "ghost@nhs.example.org", "password": f"bad-password-{i:04d}"},
            ).status_code
        )
    assert real == fake
    assert set(real) == {401, 429}


def test_deactivated_user_cannot_log_in(app, client, make_user):
    """Is a deactivated account refused with the ordinary message?"""
    user = make_user(referrer_at="LEEDS", active=False)
    resp = post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.status_code == 401
    assert "E-mail or password is incorrect." in resp.get_data(as_text=True)


def test_coordinator_must_give_a_totp_code(app, client, make_user, db_session):
    """Does a coordinator need a valid TOTP code, used only once?"""
    user = make_user(roles=[("NAP", "coordinator")])
    resp = post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.headers["Location"].endswith("/login/verify")
    assert client.get("/").status_code == 302  # not signed in yet
    bad = post_form(
        app, client, "/login/verify", {"code": "000000" if totp_now(user) != "000000" else "111111"}
    )
    assert bad.status_code == 401
    code = totp_now(user)
    ok = post_form(app, client, "/login/verify", {"code": code})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    # The same code cannot be replayed for another sign-in.
    other = app.test_client()
    post_form(app, other, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert post_form(app, other, "/login/verify", {"code": code}).status_code == 401


def test_chair_without_totp_is_taken_through_enrolment(app, client, make_user, db_session):
    """Does a chair who has no second factor yet get a QR code and have to confirm it?"""
    user = make_user(roles=[("NAP", "chair")], totp=False)
    resp = post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    assert "data:image/svg+xml;base64," in html
    db_session.refresh(user)
    secret = user.totp_pending_secret
    assert secret and secret in html
    assert (
        post_form(
            app,
            client,
            "/login/enrol",
            {"code": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"},
        ).status_code
        == 422
    )
    ok = post_form(app, client, "/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    db_session.refresh(user)
    assert user.totp_enabled and user.totp_secret == secret
    assert client.get("/").status_code == 200


def test_pending_second_factor_expires(app, client, make_user):
    """Is the half-way state between password and code refused after five minutes?"""
    user = make_user(roles=[("NAP", "coordinator")])
    post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    with client.session_transaction() as sess:
        sess["pending_at"] -= 301
    resp = post_form(app, client, "/login/verify", {"code": totp_now(user)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")


def test_logout_makes_a_replayed_cookie_useless(app, client, make_user, login):
    """After logout, does a copy of the old session cookie still work? (It must not.)"""
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    cookie = client.get_cookie("panel_session").value
    assert client.get("/").status_code == 200
    assert post_form(app, client, "/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("panel_session", cookie)
    resp = replay.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_deactivation_ends_a_live_session(app, client, make_user, login, db_session):
    """Does a deactivated user's live session end on the very next request?"""
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    assert client.get("/").status_code == 200
    admin = make_user(admin=True)
    from panel.accounts import operations

    operations.set_active(user, False, by=admin)
    db_session.commit()
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_password_change_ends_every_earlier_session(app, make_user, login, db_session):
    """Does changing a password end the other browsers' sessions and this browser's old cookie?"""
    user = make_user(referrer_at="LEEDS")
    a, b = app.test_client(), app.test_client()
    login(a, user)
    login(b, user)
    old_cookie_a = a.get_cookie("panel_session").value
    new_password = "amber-quartz-meadow-917"
    resp = post_form(
        app,
        a,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "new_password": new_password,
            "confirm": new_password,
        },
    )
    assert resp.status_code == 302
    assert a.get("/").status_code == 200  # this browser got a fresh session
    assert b.get("/").status_code == 302  # the other one is signed out
    replay = app.test_client()
    replay.set_cookie("panel_session", old_cookie_a)
    assert replay.get("/").status_code == 302
    assert "user.password_changed" in _actions(db_session)


def test_idle_and_absolute_timeouts(app, make_user, login, db_session):
    """Does a session end after 30 idle minutes, and 12 hours after sign-in in any case?"""
    user = make_user(referrer_at="LEEDS")
    c = app.test_client()
    login(c, user)
    row = db_session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db_session.commit()
    assert c.get("/").status_code == 302

    c2 = app.test_client()
    login(c2, user)
    row2 = db_session.scalar(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    row2.created_at = utcnow() - timedelta(hours=12, minutes=1)
    row2.last_seen_at = utcnow()
    db_session.commit()
    assert c2.get("/").status_code == 302


def test_next_parameter_never_leaves_the_site(app, client, make_user):
    """Is ``next=//evil.example`` ignored, while a local path is followed?"""
    user = make_user(referrer_at="LEEDS")
    for evil in (
        "//evil.example",
        "https://evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        c = app.test_client()
        c.get("/login", query_string={"next": evil})
        resp = post_form(app, c, "/login", {"email": user.email, "password": TEST_PASSWORD})
        assert resp.headers["Location"] == "/", evil
    c = app.test_client()
    c.get("/login", query_string={"next": "/account"})
    resp = post_form(app, c, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.headers["Location"] == "/account"


def test_login_requires_csrf_token(app, client, make_user):
    """Is a sign-in POST without a CSRF token refused?"""
    user = make_user(referrer_at="LEEDS")
    resp = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert resp.status_code == 400
    assert "The form had expired" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_rate_limit_on_login_by_address(app, client):
    """Does the per-address limiter answer 429 after too many sign-in POSTs?"""
    from panel.core.extensions import limiter

    limiter.reset()
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    try:
        codes = [
            post_form(
                app,
                client,
                "/login",
                {"email": f"x{i}@nhs.example.org", "password": "whatever-pass"},
            ).status_code
            for i in range(5)
        ]
    finally:
        app.config["RATELIMIT_LOGIN"] = "100000 per minute"
        limiter.reset()
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_reentering_the_password_does_not_reset_second_factor_failures(app, client, make_user):
    """Can someone with the password get unlimited TOTP guesses by signing in again? (No.)"""
    user = make_user(roles=[("NAP", "coordinator")])
    wrong = "000000" if totp_now(user) != "000000" else "111111"
    for _ in range(2):
        post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
        for _ in range(2):
            post_form(app, client, "/login/verify", {"code": wrong})
    post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    resp = post_form(app, client, "/login/verify", {"code": wrong})  # the fifth wrong code
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    locked = post_form(
        app, client, "/login/verify", {"code": totp_now(user)}, follow_redirects=True
    )
    assert "Too many failed sign-in attempts" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_role_needing_two_factor_given_mid_session_ends_the_session(
    app, client, make_user, login, db_session
):
    """A referrer made coordinator while signed in must sign in again (and enrol TOTP)."""
    from panel.accounts import operations
    from panel.accounts.models import Panel

    user = make_user(referrer_at="LEEDS")
    login(client, user)
    assert client.get("/").status_code == 200
    admin = make_user(admin=True)
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    operations.add_panel_role(user, nap, operations.PanelRoleKind.COORDINATOR, by=admin)
    db_session.commit()
    assert client.get("/audit").status_code == 302
    resp = post_form(app, client, "/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.headers["Location"].endswith("/login/enrol")


def test_turning_off_or_moving_two_factor_needs_the_password(
    app, client, make_user, login, db_session
):
    user = make_user(referrer_at="LEEDS", totp=True)
    login(client, user)
    assert (
        post_form(app, client, "/account/totp/disable", {"password": "not-my-password"}).status_code
        == 302
    )
    db_session.refresh(user)
    assert user.totp_enabled
    client.get("/account/totp")
    db_session.refresh(user)
    code = pyotp.TOTP(user.totp_pending_secret).now()
    assert post_form(app, client, "/account/totp", {"code": code}).status_code == 422
    db_session.refresh(user)
    assert user.totp_pending_secret and user.totp_secret != user.totp_pending_secret
    assert (
        post_form(app, client, "/account/totp/disable", {"password": TEST_PASSWORD}).status_code
        == 302
    )
    db_session.refresh(user)
    assert not user.totp_enabled

"""The account page's password checks (change password, turn 2FA on or off) share the sign-in
lock-out: a borrowed session gives no extra guesses at the password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts import throttle
from panel.accounts.models import LoginThrottle, User, UserSession
from panel.accounts.passwords import verify_password
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from tests.support.factories import TEST_PASSWORD
from tests.support.web import post_form

NEW = "saffron-glacier-compass-88"
WRONG = "not-my-password-at-all"


def _change(app, client, current):
    return post_form(
        app,
        client,
        "/account/password",
        {"current_password": current, "new_password": NEW, "confirm": NEW},
    )


def _disable(app, client, password):
    return post_form(app, client, "/account/totp/disable", {"password": password})


def _replace(app, client, password):
    client.get("/account/totp")  # a pending secret
    return post_form(app, client, "/account/totp", {"password": password, "code": "123456"})


ACTIONS = {"change_password": _change, "disable_totp": _disable, "replace_totp": _replace}


def _throttle_row(app, db_session, user) -> LoginThrottle | None:
    with app.test_request_context():
        key = throttle.throttle_key(user.email)
    db_session.expire_all()
    return db_session.get(LoginThrottle, key)


def _live_sessions(db_session, user) -> list[UserSession]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
            )
        )
    )


@pytest.mark.parametrize("action", list(ACTIONS))
def test_five_wrong_passwords_on_the_account_page_end_the_session(
    app, client, db_session, make_user, login, action
):
    """After 5 wrong current passwords, is the browser signed out, its server-side session
    revoked, the account locked like after 5 failed sign-ins, and all of it audited?"""
    user = make_user(referrer_at="LEEDS", totp=True)
    login(client, user)
    attempt = ACTIONS[action]
    for _ in range(4):
        resp = attempt(app, client, WRONG)
        assert resp.status_code in (302, 422)
        assert "/login" not in resp.headers.get("Location", "")
    assert _throttle_row(app, db_session, user).failures == 4
    fifth = attempt(app, client, WRONG)
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/login")
    assert "Too many wrong passwords" in client.get("/login").get_data(as_text=True)
    assert client.get("/account").status_code == 302  # signed out
    assert _live_sessions(db_session, user) == []
    ended = db_session.scalar(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    )
    assert ended.revoked_reason == "password_lockout"
    assert _throttle_row(app, db_session, user).locked_until > utcnow()
    # The sign-in form is locked too, even with the right password.
    assert (
        post_form(
            app, app.test_client(), "/login", {"email": user.email, "password": TEST_PASSWORD}
        ).status_code
        == 429
    )
    actions = list(
        db_session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == user.id))
    )
    assert actions.count("account.password_failure") == 5 and "login.lockout" in actions
    db_session.refresh(user)
    assert user.totp_enabled and verify_password(user.password_hash, TEST_PASSWORD)


def test_account_page_and_sign_in_failures_share_one_counter(
    app, client, db_session, make_user, login
):
    """Do failures on the three account actions and the sign-in form add up to one lock-out?"""
    user = make_user(referrer_at="LEEDS", totp=True)
    login(client, user)
    _change(app, client, WRONG)
    _disable(app, client, WRONG)
    _replace(app, client, WRONG)
    other = app.test_client()
    assert (
        post_form(app, other, "/login", {"email": user.email, "password": WRONG}).status_code == 401
    )
    fifth = _change(app, client, WRONG)
    assert fifth.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_a_right_password_does_not_lift_a_lockout_in_force(
    app, client, db_session, make_user, login
):
    """While the account is locked (here by failed sign-ins elsewhere), is the right current
    password refused without changing anything, the lock-out kept, and the session ended?"""
    user = make_user(referrer_at="LEEDS", totp=True)
    login(client, user)
    attacker = app.test_client()
    for _ in range(5):
        post_form(app, attacker, "/login", {"email": user.email, "password": WRONG})
    locked_until = _throttle_row(app, db_session, user).locked_until
    assert locked_until > utcnow()
    resp = _change(app, client, TEST_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    db_session.expire_all()
    user = db_session.get(User, user.id)
    assert verify_password(user.password_hash, TEST_PASSWORD) and not verify_password(
        user.password_hash, NEW
    )
    assert _throttle_row(app, db_session, user).locked_until == locked_until
    assert _live_sessions(db_session, user) == []
    assert "account.password_refused_locked" in db_session.scalars(select(AuditEntry.action)).all()


def test_a_right_password_clears_earlier_failures_when_not_locked(
    app, client, db_session, make_user, login
):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    for _ in range(3):
        assert _change(app, client, WRONG).status_code == 422
    assert _change(app, client, TEST_PASSWORD).status_code == 302
    assert _throttle_row(app, db_session, user) is None
    assert client.get("/account").status_code == 200


def test_lockout_expires_and_the_account_page_works_again(
    app, client, db_session, make_user, login
):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    for _ in range(5):
        _change(app, client, WRONG)
    row = _throttle_row(app, db_session, user)
    row.locked_until = utcnow() - timedelta(seconds=1)
    db_session.commit()
    fresh = app.test_client()
    login(fresh, user)
    assert _change(app, fresh, TEST_PASSWORD).status_code == 302

"""Password policy, reset links and the e-mail they travel in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import PasswordResetToken
from panel.core.db import utcnow
from panel.core.models import OutboxMail
from tests.support.factories import TEST_PASSWORD
from tests.support.web import post_form


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("abcdefghijk", False),  # 11 characters
        ("password1234", False),  # common
        ("qwertyuiop123", False),  # keyboard walk
        ("Password123!", False),
        ("violet-harbour-lantern-42", True),
        ("correct horse battery staple", True),
        ("x" * 3 + "Zq9!mL2#vB7@" * 80, True),  # 963 characters: long passwords are welcome
    ],
)
def test_password_policy(app, db_session, password, ok):
    """Is a password of under 12 characters, or a common one, refused; a long one accepted?"""
    from panel.accounts.passwords import password_problems

    with app.test_request_context():
        assert (password_problems(password) == []) is ok


def test_password_over_the_limit_is_refused(app, db_session):
    from panel.accounts.passwords import password_problems

    with app.test_request_context():
        assert password_problems("a" * 1025)


def _mail_link(message) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https://panel\.test\.example(/reset/[\w-]+)", body)
    assert match, body
    return match.group(1)


def test_password_reset_by_email_is_single_use(app, client, make_user, db_session, smtp_server):
    """Does the reset e-mail arrive, with a link on the configured host that works once?"""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    try:
        user = make_user(referrer_at="LEEDS")
        resp = post_form(app, client, "/reset", {"email": user.email})
        assert resp.status_code == 302
        assert len(smtp_server.messages) == 1
        msg = smtp_server.messages[0]
        assert msg["To"] == user.email
        path = _mail_link(msg)  # the host comes from PANEL_BASE_URL, not the request
        assert "localhost" not in msg.get_payload(decode=True).decode()

        assert client.get(path).status_code == 200
        weak = post_form(app, client, path, {"new_password": "short", "confirm": "short"})
        assert weak.status_code == 422
        new = "saffron-glacier-compass-88"
        assert (
            post_form(app, client, path, {"new_password": new, "confirm": new}).status_code == 302
        )
        # Used once: the link is dead now.
        assert client.get(path).status_code == 404
        assert (
            post_form(app, client, "/login", {"email": user.email, "password": new}).status_code
            == 302
        )
    finally:
        app.config.update(SMTP_HOST=None)


def test_reset_for_unknown_address_says_the_same(app, client, make_user, db_session):
    """Does asking a reset for an unknown address look the same, and send nothing?"""
    user = make_user(referrer_at="LEEDS")
    before = db_session.scalar(select(OutboxMail.id).order_by(OutboxMail.id.desc()).limit(1))
    a = post_form(app, client, "/reset", {"email": user.email}, follow_redirects=True)
    b = post_form(app, client, "/reset", {"email": "nobody@nhs.example.org"}, follow_redirects=True)
    assert a.status_code == b.status_code == 200
    assert "If that address belongs to an account" in a.get_data(as_text=True)
    assert "If that address belongs to an account" in b.get_data(as_text=True)
    queued = db_session.scalars(select(OutboxMail).where(OutboxMail.id > (before or 0))).all()
    assert [m.to_addr for m in queued] == [user.email]


def test_expired_reset_link_is_refused(app, client, make_user, db_session):
    user = make_user(referrer_at="LEEDS")
    from panel.accounts import operations

    with app.test_request_context():
        token = operations.issue_reset_link(user)
    db_session.commit()
    row = db_session.scalar(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert client.get(f"/reset/{token}").status_code == 404


def test_reset_ends_existing_sessions(app, make_user, login, db_session):
    """Does setting a password through a reset link sign out every earlier session?"""
    user = make_user(referrer_at="LEEDS")
    c = app.test_client()
    login(c, user)
    from panel.accounts import operations

    with app.test_request_context():
        token = operations.issue_reset_link(user)
    db_session.commit()
    other = app.test_client()
    new = "saffron-glacier-compass-88"
    assert (
        post_form(app, other, f"/reset/{token}", {"new_password": new, "confirm": new}).status_code
        == 302
    )
    assert c.get("/").status_code == 302


def test_smtp_down_does_not_break_the_action(app, client, make_user, db_session):
    """With the mail server down, does the reset still answer normally and keep the mail queued?"""
    from tests.support.mail import MailGuard

    MailGuard.allowed.add(("127.0.0.1", 9))  # discard port: nothing listens there
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9)
    try:
        user = make_user(referrer_at="LEEDS")
        resp = post_form(app, client, "/reset", {"email": user.email})
        assert resp.status_code == 302
        mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == user.email))
        db_session.refresh(mail)
        assert mail.sent_at is None and mail.attempts == 1 and mail.last_error
    finally:
        app.config.update(SMTP_HOST=None)
        MailGuard.allowed.discard(("127.0.0.1", 9))


def test_change_password_refuses_wrong_current_password(app, client, make_user, login):
    user = make_user(referrer_at="LEEDS")
    login(client, user)
    new = "saffron-glacier-compass-88"
    resp = post_form(
        app,
        client,
        "/account/password",
        {"current_password": "not-it-at-all", "new_password": new, "confirm": new},
    )
    assert resp.status_code == 422
    assert "not your current password" in resp.get_data(as_text=True)
    assert (
        post_form(
            app,
            client,
            "/account/password",
            {
                "current_password": TEST_PASSWORD,
                "new_password": "abcdefghijk",
                "confirm": "abcdefghijk",
            },
        ).status_code
        == 422
    )

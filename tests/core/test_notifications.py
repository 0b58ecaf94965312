"""The bell (in-app notifications) and the mail outbox for coordinators."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.core.db import utcnow
from panel.core.mail import MAX_ATTEMPTS
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.core.notification_views import is_local_link
from tests.support.web import post_form


def _note(
    db_session,
    user,
    text="Agenda published for Thu 3 Dec",
    link="/cases/NB-2026-0003#comments",
    read=False,
):
    note = Notification(
        user_id=user.id, kind="test", text=text, link=link, read_at=utcnow() if read else None
    )
    db_session.add(note)
    db_session.commit()
    return note


def _bell(html: str) -> str | None:
    m = re.search(r'data-testid="bell-count">([^<]+)<', html)
    return m.group(1) if m else None


def test_bell_counts_unread_and_opening_marks_read(app, client, people, login, db_session):
    """Does the bell show the unread count, and does opening one mark it read and follow its link?"""
    user = people["nap_member"]
    first = _note(db_session, user, text="You were mentioned on NB-2026-0003")
    _note(
        db_session,
        user,
        text="New comment from the panel on NB-2026-0004",
        link="/cases/NB-2026-0004#comments",
    )
    _note(db_session, user, text="Old news", read=True)
    _note(db_session, people["referrer"], text="Someone else's")
    login(client, user)
    assert _bell(client.get("/").get_data(as_text=True)) == "2"

    html = client.get("/notifications").get_data(as_text=True)
    assert html.count('data-testid="notification-unread"') == 2
    assert html.count('data-testid="notification"') == 1
    assert "You were mentioned on NB-2026-0003" in html and "Someone else's" not in html
    assert "Mark all as read" in html

    resp = post_form(app, client, f"/notifications/{first.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/NB-2026-0003#comments"
    db_session.refresh(first)
    assert first.read_at is not None
    assert _bell(client.get("/notifications").get_data(as_text=True)) == "1"

    assert post_form(app, client, "/notifications/read-all").status_code == 302
    html = client.get("/notifications").get_data(as_text=True)
    assert _bell(html) is None and 'data-testid="notification-unread"' not in html


def test_bell_is_one_count_query(app, client, people, login, db_session, count_queries):
    """Is the unread count one query per page, however many notifications there are?"""
    user = people["nap_member"]
    login(client, user)
    with count_queries() as none:
        client.get("/account")
    for i in range(30):
        _note(db_session, user, text=f"Note {i}")
    with count_queries() as many:
        html = client.get("/account").get_data(as_text=True)
    assert _bell(html) == "30"
    assert many.count == none.count
    assert sum("count(" in s.lower() and "notifications" in s for s in many.statements) == 1


def test_someone_elses_notification_is_404(app, client, people, login, db_session):
    other = _note(db_session, people["referrer"])
    login(client, people["nap_member"])
    assert post_form(app, client, f"/notifications/{other.id}/open").status_code == 404
    assert post_form(app, client, "/notifications/999999/open").status_code == 404
    db_session.refresh(other)
    assert other.read_at is None


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        "evil",
    ],
)
def test_open_never_redirects_off_site(app, client, people, login, db_session, link):
    """Is a notification link that does not stay inside Panel refused (back to the list)?"""
    note = _note(db_session, people["nap_member"], link=link)
    login(client, people["nap_member"])
    resp = post_form(app, client, f"/notifications/{note.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == "/notifications"


def test_local_links():
    assert is_local_link("/cases/NB-2026-0001#comments")
    assert not is_local_link("/\tevil.example") and not is_local_link("///evil.example")


def test_notifications_need_csrf(app, client, people, login, db_session):
    note = _note(db_session, people["nap_member"])
    login(client, people["nap_member"])
    assert client.post(f"/notifications/{note.id}/open").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400


# --------------------------------------------------------------------------- outbox
@pytest.fixture
def failing_mail(db_session):
    from panel.accounts.models import Panel

    nap = db_session.scalar(select(Panel.id).where(Panel.code == "NAP"))
    mail = OutboxMail(
        to_addr="someone@nhs.example",
        subject="[Panel] New comment from the panel on NB-2026-0009",
        body="x",
        attempts=2,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        next_attempt_at=utcnow() + timedelta(minutes=4),
        panel_id=nap,
    )
    gave_up = OutboxMail(
        to_addr="old@nhs.example",
        subject="[Panel] Old",
        body="x",
        attempts=MAX_ATTEMPTS,
        last_error="SMTPServerDisconnected: gone",
        next_attempt_at=utcnow() + timedelta(hours=4),
        panel_id=nap,
    )
    sent = OutboxMail(
        to_addr="done@nhs.example", subject="[Panel] Done", body="x", attempts=1, sent_at=utcnow()
    )
    db_session.add_all([mail, gave_up, sent])
    db_session.commit()
    return mail


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nap_coordinator", 200),
        ("north_coordinator", 200),
        ("admin", 200),
        ("nap_member", 403),
        ("referrer", 403),
    ],
)
def test_outbox_is_for_coordinators_and_admins(
    app, client, people, login, failing_mail, who, status
):
    """Do coordinators and admins see unsent e-mails with their errors, and others get 403?"""
    login(client, people[who])
    resp = client.get("/outbox")
    assert resp.status_code == status
    assert post_form(app, client, "/outbox/retry").status_code == (302 if status == 200 else 403)
    if who == "north_coordinator":
        # Another panel's coordinator sees the page but none of NAP's mail.
        html = resp.get_data(as_text=True)
        assert "someone@nhs.example" not in html and "NB-2026-0009" not in html
    elif status == 200:
        html = resp.get_data(as_text=True)
        assert "someone@nhs.example" in html and "Connection refused" in html
        assert "NB-2026-0009" in html and "Gave up" in html
        assert "done@nhs.example" not in html  # sent: not listed
    if status == 200:
        link = client.get("/notifications").get_data(as_text=True)
        assert 'data-testid="outbox-link"' in link
    else:
        assert 'data-testid="outbox-link"' not in client.get("/notifications").get_data(
            as_text=True
        )


def test_retry_sends_failed_mail_now(
    app, client, people, login, db_session, failing_mail, smtp_server
):
    """Does 'Send now' deliver failed e-mails at once (by their jobs), including one that had
    given up?"""
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    try:
        login(client, people["nap_coordinator"])
        resp = post_form(app, client, "/outbox/retry")
        assert resp.status_code == 302
        assert sorted(m["To"] for m in smtp_server.messages) == [
            "old@nhs.example",
            "someone@nhs.example",
        ]
        assert "2 e-mails are being sent now" in client.get("/outbox").get_data(as_text=True)
    finally:
        app.config.update(saved)
    db_session.expire_all()
    assert db_session.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None))).all() == []
    assert (
        db_session.scalar(select(AuditEntry).where(AuditEntry.action == "mail.retry_requested"))
        is not None
    )


def test_retry_without_a_mail_server_says_so(app, client, people, login, db_session, failing_mail):
    saved = app.config.get("SMTP_HOST")
    app.config["SMTP_HOST"] = ""
    try:
        login(client, people["admin"])
        post_form(app, client, "/outbox/retry")
        html = client.get("/outbox").get_data(as_text=True)
    finally:
        app.config["SMTP_HOST"] = saved
    assert "No mail server is configured" in html
    db_session.refresh(failing_mail)
    assert failing_mail.sent_at is None and failing_mail.next_attempt_at <= utcnow()

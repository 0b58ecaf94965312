"""``flask --app panel create-user``: accounts made on the command line."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from panel.accounts.models import User
from panel.core.models import AuditEntry, OutboxMail


def test_create_user_invite_queues_a_link_built_from_base_url(app, db_session):
    """Does `create-user --invite` (outside any request) make the account and queue an
    invitation whose link points at PANEL_BASE_URL, not at some request's host?"""
    original = app.config["BASE_URL"]
    app.config["BASE_URL"] = "https://panel.nhs.example/panel/"
    try:
        result = app.test_cli_runner().invoke(
            args=[
                "create-user",
                "--email",
                "new.coord@nhs.example.org",
                "--name",
                "Dr New Coordinator",
                "--role",
                "NAP:coordinator",
                "--invite",
            ]
        )
    finally:
        app.config["BASE_URL"] = original
    assert result.exit_code == 0, result.output
    assert "invitation e-mailed" in result.output
    user = db_session.scalar(select(User).where(User.email == "new.coord@nhs.example.org"))
    assert user is not None and user.password_hash is None
    mail = db_session.scalar(
        select(OutboxMail).where(OutboxMail.to_addr == "new.coord@nhs.example.org")
    )
    assert mail is not None and mail.subject == "Your Panel account"
    links = re.findall(r"https?://\S+", mail.body)
    assert len(links) == 1
    link = urlsplit(links[0])
    assert (link.scheme, link.netloc) == ("https", "panel.nhs.example")
    assert link.path.startswith("/panel/reset/")
    assert db_session.scalar(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "user",
            AuditEntry.object_id == str(user.id),
            AuditEntry.action == "user.invited",
        )
    )

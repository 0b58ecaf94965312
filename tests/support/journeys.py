"""Helpers of the browser journeys (Playwright): signing in through the real pages with a
fresh TOTP code, screenshots, extra browser contexts (a second person, or a family with no
login), and set-up done with the app's own operations inside the live server's process (the
server runs in a thread of this process)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import time, timedelta
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from panel.demo import DEMO_PASSWORD


def totp_secret(live_server, email: str) -> str | None:
    from panel.accounts.models import User

    with live_server.app_.app_context():
        user = User.by_email(email)
        return user.totp_secret if user.totp_enabled else None


def forget_last_totp(live_server, email: str) -> None:
    """Codes are single-use; earlier tests in the same 30 s step used this account's code."""
    from panel.accounts.models import User
    from panel.core.db import db

    with live_server.app_.app_context():
        User.by_email(email).totp_last_step = None
        db.session.commit()


def sign_in(page, live_server, email: str) -> None:
    """Sign in through the real pages, with a fresh TOTP code when the account has one."""
    forget_last_totp(live_server, email)
    page.goto(live_server.url + "/login")
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    secret = totp_secret(live_server, email)
    if secret:
        page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    # The menu is in the HTML before Bootstrap's script (at the end of the body) runs: a click
    # on a dropdown before then follows its href "#" and opens nothing. The page's scripts have
    # all run once it has loaded.
    page.wait_for_load_state("load")


VIEWPORT = {"width": 1366, "height": 860}
DEMO = "demo.example.org"
COORDINATOR = f"rachel.moore@{DEMO}"
CHAIR = f"helen.carter@{DEMO}"
REFERRER = f"aisha.rahman@{DEMO}"
OTHER_REFERRER = f"tom.whitfield@{DEMO}"
MEMBERS = ("Prof Helen Carter", "Dr James Okafor", "Dr Sophie Lindqvist")


def shots_dir(artifacts_dir: Path) -> Path:
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    return shots


def prepare(page: Page) -> Page:
    """Desktop size; accept the "are you sure?" prompts of data-confirm forms."""
    page.set_viewport_size(VIEWPORT)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@contextmanager
def other_person(browser, live_server, email: str | None):
    """A separate browser context (its own cookies), signed in as ``email`` (or anonymous)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = prepare(context.new_page())
        if email:
            sign_in(page, live_server, email)
        yield page
    finally:
        context.close()


def expect_flash(page: Page, text: str) -> None:
    expect(page.locator(".alert").filter(has_text=text).first).to_be_visible()


# --------------------------------------------------------------------------- server-side set-up
@contextmanager
def in_app(live_server):
    """An app and request context of the live server's app (operations build links with
    url_for and record the request's address); the caller commits."""
    app = live_server.app_
    with app.app_context(), app.test_request_context("/"):
        yield app


def user(email: str):
    from panel.accounts.models import User

    return User.by_email(email)


def demo_document(name: str, **changes) -> dict:
    """A demo case document (``alk`` or ``refractory``), optionally changed."""
    import copy

    from panel.demo import _example

    doc = copy.deepcopy(_example(name))
    doc.update(changes)
    return doc


def new_submitted_case(email: str, doc: dict):
    """A case created and submitted through the app's operations by ``email``."""
    from panel.cases import operations as case_ops

    by = user(email)
    case = case_ops.create_case(doc, by=by).case
    case_ops.submit_case(case, by=by)
    return case


def new_meeting(panel_code: str, days_ahead: int, title: str):
    """A meeting planned by the panel's demo coordinator ``days_ahead`` days from today (UK)."""
    from sqlalchemy import select

    from panel.accounts.models import Panel
    from panel.core.db import db
    from panel.core.uktime import uk_today
    from panel.meetings import operations

    panel = db.session.scalar(select(Panel).where(Panel.code == panel_code))
    return operations.create_meeting(
        panel,
        day=uk_today() + timedelta(days=days_ahead),
        at=time(10, 0),
        duration_minutes=90,
        video_link=f"https://video.example.org/{panel_code.lower()}-extra",
        title=title,
        by=user(COORDINATOR),
    )


def discuss(meeting, case, *, discussion: str, outcome: str) -> None:
    """Schedule ``case`` on ``meeting``, let the meeting start (moved to half an hour ago, so the
    letters carry a realistic date), record a quorate attendance, write the minutes and mark the
    case as discussed: all as the demo coordinator, through the operations."""
    from panel.accounts.queries import panel_people
    from panel.core.db import db, utcnow
    from panel.meetings import minutes, operations

    coordinator = user(COORDINATOR)
    meeting.starts_at = utcnow() - timedelta(minutes=30)
    db.session.flush()
    item = operations.add_case(meeting, case, by=coordinator)
    voting = [p.id for p in panel_people(meeting.panel_id) if p.name in MEMBERS]
    operations.set_attendance(meeting, voting, by=coordinator)
    minutes.save_minutes(
        item,
        discussion=discussion,
        outcome=outcome,
        expected_version=item.minutes_version or 0,
        by=coordinator,
    )
    minutes.record_outcome(item, by=coordinator)

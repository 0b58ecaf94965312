"""Browser journeys in headless Chromium: sign in (with a TOTP code where the role needs one),
see the role's home page, sign out. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from panel.demo import DEMO_PASSWORD
from tests.support.journeys import forget_last_totp, totp_secret

pytestmark = pytest.mark.browser

ROLES = [
    ("referrer", "aisha.rahman@demo.example.org", "home-referrer", "My cases"),
    ("member", "james.okafor@demo.example.org", "home-member", "Cases for review"),
    ("chair", "helen.carter@demo.example.org", "home-member", "Cases for review"),
    ("coordinator", "rachel.moore@demo.example.org", "home-coordinator", "Triage queue"),
    ("admin", "sam.taylor@demo.example.org", "home-admin", "Active people"),
]


@pytest.mark.parametrize(("role", "email", "testid", "heading"), ROLES)
def test_sign_in_see_home_and_sign_out(
    page, live_server, artifacts_dir, backend, role, email, testid, heading
):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 860})
    forget_last_totp(live_server, email)
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=%2F")
    if role == "referrer":
        page.screenshot(path=str(shots / f"{backend}-login.png"))
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    secret = totp_secret(live_server, email)
    if secret:
        expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
        if role == "coordinator":
            page.screenshot(path=str(shots / f"{backend}-totp.png"))
        page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Verify").click()

    expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_text(heading).first).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-home-{role}.png"), full_page=True)

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    # The back button does not bring the signed-in page back.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=%2F")


def test_admin_screens_look_right(page, live_server, artifacts_dir, backend):
    """Screenshots of the admin people list and a person's page for review."""
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 860})
    email = "sam.taylor@demo.example.org"
    forget_last_totp(live_server, email)
    page.goto(live_server.url + "/login")
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    secret = totp_secret(live_server, email)
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    page.goto(live_server.url + "/admin/users")
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-admin-people.png"), full_page=True)
    page.get_by_role("link", name="Prof Helen Carter").click()
    expect(page.get_by_test_id("roles")).to_contain_text("NAP")
    page.screenshot(path=str(shots / f"{backend}-admin-person.png"), full_page=True)
    page.goto(live_server.url + "/audit")
    page.screenshot(path=str(shots / f"{backend}-audit.png"), full_page=True)

"""Case pages in the browser: the coordinator's queue, a case page, versions; screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.journeys import sign_in

pytestmark = pytest.mark.browser


def test_coordinator_queue_case_page_and_information_request(
    page, live_server, artifacts_dir, backend
):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 860})
    sign_in(page, live_server, "rachel.moore@demo.example.org")
    queue = page.get_by_test_id("queue")
    expect(queue).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-queue.png"), full_page=True)
    first = queue.get_by_role("link").first
    ref = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=ref)).to_be_visible()
    expect(page.get_by_test_id("questions")).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-case-page.png"), full_page=True)
    page.get_by_placeholder("One question per line").fill("What is the current bone marrow result?")
    page.get_by_role("button", name="Send back to the referrer").click()
    expect(page.get_by_text("asked for more information")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Information requested")


def test_referrer_dashboard_and_questions(page, live_server, artifacts_dir, backend):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 860})
    sign_in(page, live_server, "aisha.rahman@demo.example.org")
    expect(page.get_by_test_id("my-cases")).to_be_visible()
    page.screenshot(path=str(shots / f"{backend}-referrer-dashboard.png"), full_page=True)
    # A submitted case (questions can still be added); the demo data also holds cases further
    # along the road, e.g. one whose feedback was sent, which may be listed first.
    submitted = page.get_by_test_id("my-cases").get_by_role("row").filter(has_text="Submitted")
    submitted.get_by_role("link").first.click()
    page.get_by_label("Add a question in the parents' words").fill(
        "How often would we need to travel?"
    )
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_test_id("questions")).to_contain_text("How often would we need to travel?")
    # The question was saved, not only shown: it is still there when the page is loaded again.
    page.reload()
    expect(page.get_by_test_id("questions")).to_contain_text("How often would we need to travel?")

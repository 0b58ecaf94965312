"""Presentation mode: one case at a time for the screen share; only the meeting's panel."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import CaseStatus
from panel.core.db import utcnow
from panel.meetings.minutes_views import short_age
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus
from tests.support.web import csrf_token

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def agenda(people, make_case, db_session):
    """A published NAP meeting at 16:00 UK with three cases (15, 20, 15 minutes); the second
    was taken off the agenda, so the listed agenda has two."""
    from panel.trials.registry import load_registry

    load_registry()
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    alk = make_case(people["referrer"], submit=True)
    refractory = make_case(
        people["referrer"],
        json.loads((DATA / "case-example-refractory.json").read_text()),
        submit=True,
    )
    removed = make_case(
        people["referrer"],
        copy.deepcopy(json.loads((DATA / "case-example-alk.json").read_text())),
        submit=True,
    )
    for c in (alk, refractory, removed):
        c.status = CaseStatus.SCHEDULED
    starts = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    meeting = Meeting(
        panel_id=nap.id, title="NAP", starts_at=starts, status=MeetingStatus.PUBLISHED
    )
    db_session.add(meeting)
    db_session.flush()
    items = [
        AgendaItem(meeting_id=meeting.id, case_id=alk.id, position=1, minutes_allotted=15),
        AgendaItem(
            meeting_id=meeting.id,
            case_id=removed.id,
            position=2,
            minutes_allotted=20,
            outcome_status=ItemOutcome.REMOVED,
        ),
        AgendaItem(meeting_id=meeting.id, case_id=refractory.id, position=3, minutes_allotted=15),
    ]
    db_session.add_all(items)
    db_session.commit()
    return {"meeting": meeting, "alk": alk, "refractory": refractory, "items": items, **people}


def _url(a, position=None):
    base = f"/meetings/{a['meeting'].id}/present"
    return base if position is None else f"{base}/{position}"


def test_short_age():
    assert short_age(50) == "4 y 2 m"
    assert short_age(7) == "7 m"
    assert short_age(24) == "2 y"
    assert short_age(None) == "—"


def test_member_sees_one_case_with_everything_needed(app, client, login, agenda):
    """Does a member of the panel see the case: reference, position, slot, age, status, sites,
    treatment lines, biology at a glance, the parents' questions and trial matches, and no
    navbar, no minutes, no inline script or style?"""
    login(client, agenda["nap_member"])
    resp = client.get(_url(agenda))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert agenda["alk"].reference in html
    assert "Case 1 of 2" in html
    assert re.search(r"\d\d:00–\d\d:15 (GMT|BST)", html)  # the slot, with the zone once
    assert "4 y 4 m" in html  # 52 months
    assert "Relapsed" in html and "Bone, Bone marrow" in html
    assert "Rapid COJEC" in html
    bio = html.split('data-testid="present-biology"')[1].split("</section>")[0]
    assert "MYCN" in bio and "Amplified" in bio and "F1174L" in bio
    assert "Is there a trial of a targeted drug for the ALK change?" in html
    trials = html.split('data-testid="present-trials"')[1].split("</section>")[0]
    assert "data-trial=" in trials and "km" in trials
    assert "navbar" not in html and "panel-footer" not in html
    assert "Discussion" not in html  # no minutes on screen
    assert "style=" not in html and "<script>" not in html and "onclick" not in html
    assert "js/present.js" in html
    assert "/minutes" not in html  # members get no minutes editor link
    assert f'href="{_url(agenda, 2)}"' in html  # next


def test_second_position_skips_removed_items(app, client, login, agenda):
    """Is position 2 the next listed case (the removed one skipped), with its slot after the
    first (15 minutes later)?"""
    login(client, agenda["nap_member"])
    html = client.get(_url(agenda, 2)).get_data(as_text=True)
    assert agenda["refractory"].reference in html and "Case 2 of 2" in html
    assert re.search(r"\d\d:15–\d\d:30 (GMT|BST)", html)
    assert f'href="{_url(agenda, 1)}"' in html


@pytest.mark.parametrize("position", [0, 3, 99])
def test_position_out_of_range_is_404(app, client, login, agenda, position):
    login(client, agenda["nap_member"])
    assert client.get(_url(agenda, position)).status_code == 404


@pytest.mark.parametrize("who", ["north_coordinator", "referrer", "other_referrer", "admin"])
def test_outsiders_get_404(app, client, login, agenda, who):
    """Do people not on the meeting's panel (another panel's coordinator, the referrer, an
    admin) get 404 for the presentation?"""
    login(client, agenda[who])
    assert client.get(_url(agenda)).status_code == 404
    assert client.get(_url(agenda, 1)).status_code == 404


def test_anonymous_redirected(app, client, agenda):
    resp = client.get(_url(agenda, 1))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_coordinator_gets_minutes_link(app, client, login, agenda):
    login(client, agenda["nap_coordinator"])
    html = client.get(_url(agenda, 1)).get_data(as_text=True)
    item = agenda["items"][0]
    assert f"/meetings/{agenda['meeting'].id}/items/{item.id}/minutes" in html


def test_empty_agenda(app, client, login, agenda, db_session):
    meeting = Meeting(panel_id=agenda["meeting"].panel_id, starts_at=utcnow() + timedelta(days=3))
    db_session.add(meeting)
    db_session.commit()
    login(client, agenda["nap_member"])
    resp = client.get(f"/meetings/{meeting.id}/present")
    assert resp.status_code == 200 and "no cases on this agenda" in resp.get_data(as_text=True)
    assert client.get(f"/meetings/{meeting.id}/present/1").status_code == 404


def test_images_in_presentation(app, login, agenda, tmp_path, db_session):
    """Does an uploaded CT series appear with a frame viewer (frames served by the imaging
    views) and a link to the full viewer?"""
    from tests.support import synth

    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32, noise=False)
    up = app.test_client()
    login(up, agenda["referrer"])
    resp = up.post(
        f"/cases/{agenda['alk'].reference}/images/upload",
        data={
            "label": "CT chest",
            "csrf_token": csrf_token(app, up),
            "files": [(io.BytesIO(p.read_bytes()), p.name) for p in ct.paths],
        },
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    client = app.test_client()
    login(client, agenda["nap_member"])
    html = client.get(_url(agenda, 1)).get_data(as_text=True)
    images = html.split('data-testid="present-images"')[1].split("</section>")[0]
    assert 'data-count="3"' in images and "CT chest" in images
    frame = re.search(r'src="([^"]+/frames/0\.png)"', images).group(1)
    r = client.get(frame)
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert "/series/" in images  # link to the full viewer


@pytest.mark.browser
def test_presentation_screenshot(live_server, page, artifacts_dir, backend):
    """The presentation in a real browser on the demo data: no console errors, the right arrow
    moves to the next case, screenshots for a human to look at."""
    from tests.support.journeys import sign_in

    app = live_server.app_
    with app.app_context():
        meeting_id = _demo_meeting()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1600, "height": 900})
    sign_in(page, live_server, "james.okafor@demo.example.org")
    page.goto(f"{live_server.url}/meetings/{meeting_id}/present/1")
    page.wait_for_selector("[data-testid=present-biology]")
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{backend}-presentation-1.png"), full_page=True)
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/meetings/{meeting_id}/present/2")
    expect(page.get_by_test_id("present-position")).to_contain_text("Case 2 of")
    page.screenshot(path=str(shots / f"{backend}-presentation-2.png"), full_page=True)
    assert not errors


@pytest.mark.browser
def test_minutes_autosave_in_browser(live_server, page, artifacts_dir, backend):
    """The coordinator types into the minutes editor: the page autosaves by itself and says so."""
    from panel.core.db import db
    from tests.support.journeys import sign_in

    with live_server.app_.app_context():
        meeting_id = _demo_meeting(ItemOutcome.PENDING)
        item_id = db.session.scalar(
            select(AgendaItem.id)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        )
    page.set_viewport_size({"width": 1366, "height": 860})
    sign_in(page, live_server, "rachel.moore@demo.example.org")
    page.goto(f"{live_server.url}/meetings/{meeting_id}/items/{item_id}/minutes")
    page.get_by_label("Discussion").fill("The panel discussed ALK inhibitor options.")
    expect(page.locator("[data-minutes-status]")).to_have_text(
        re.compile(r"^\s*Saved \d\d:\d\d"), timeout=10000
    )
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{backend}-minutes-editor.png"), full_page=True)
    page.reload()
    assert (
        page.get_by_label("Discussion").input_value()
        == "The panel discussed ALK inhibitor options."
    )


def _demo_meeting(outcome: ItemOutcome = ItemOutcome.NOT_DISCUSSED) -> int:
    """A NAP meeting on the demo data with two of its submitted cases (committed)."""
    from panel.cases.models import Case
    from panel.core.db import db

    nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))
    cases = db.session.scalars(
        select(Case)
        .where(Case.panel_id == nap.id, Case.submitted_at.is_not(None))
        .order_by(Case.id)
        .limit(2)
    ).all()
    assert len(cases) == 2
    meeting = Meeting(
        panel_id=nap.id,
        title="NAP presentation test",
        starts_at=utcnow() + timedelta(hours=2),
        status=MeetingStatus.PUBLISHED,
    )
    db.session.add(meeting)
    db.session.flush()
    for i, c in enumerate(cases):
        db.session.add(
            AgendaItem(meeting_id=meeting.id, case_id=c.id, position=i + 1, outcome_status=outcome)
        )
    db.session.commit()
    return meeting.id


def test_presenting_a_case_is_recorded_as_a_read(app, client, login, agenda, db_session):
    """Does showing a case in presentation mode write a ``case.viewed`` entry (via presentation,
    the meeting) once the response has been sent, and a position past the agenda none?"""
    from panel.core.models import AuditEntry

    login(client, agenda["nap_member"])
    missing = client.get(_url(agenda, 9))
    assert missing.status_code == 404
    missing.close()
    resp = client.get(_url(agenda, 2))
    assert resp.status_code == 200
    resp.close()
    db_session.expire_all()
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "case.viewed")).all()
    assert (
        entry.object_id == agenda["refractory"].reference
        and entry.actor_id == agenda["nap_member"].id
    )
    assert entry.details == {"via": "presentation", "meeting_id": agenda["meeting"].id}
    assert entry.panel_id == agenda["refractory"].panel_id


def test_a_trial_not_checked_recently_says_so(app, client, login, agenda, db_session, monkeypatch):
    """Presentation mode carries "Status not checked since DATE" (issue 15)."""
    from panel.trials.matching import clear_cache
    from panel.trials.models import Trial

    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    crisp.status_verified_on = utcnow().date() - timedelta(days=40)
    db_session.commit()
    clear_cache()
    login(client, agenda["nap_member"])
    html = client.get(_url(agenda)).get_data(as_text=True)
    trials = html.split('data-testid="present-trials"')[1].split("</section>")[0]
    row = trials.split('data-trial="CRISP"')[1].split("</tr>")[0]
    assert "Status not checked since" in row
    assert (
        "Status not checked" not in trials.split('data-trial="NAXITAMAB-201"')[1].split("</tr>")[0]
    )

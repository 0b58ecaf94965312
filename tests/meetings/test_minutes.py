"""Minutes while the meeting runs: autosave, two coordinators at once, identifiers, the outcome
(quorum), reopening, locking at close and amendments; the minutes card on the case page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import CaseStatus
from panel.core.db import db, utcnow
from panel.core.errors import IdentifiersFound, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification
from panel.meetings import minutes
from panel.meetings.models import (
    AgendaItem,
    Attendance,
    ItemOutcome,
    Meeting,
    MeetingStatus,
    MinutesAmendment,
)
from tests.support.web import post_form

JSON = {"Accept": "application/json"}


@pytest.fixture
def meeting_setup(people, make_case, db_session):
    """A published NAP meeting that started ten minutes ago, with one scheduled case (built with
    the models directly): a case is marked discussed only once its meeting has started."""
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    case = make_case(people["referrer"], submit=True)
    case.status = CaseStatus.SCHEDULED
    meeting = Meeting(
        panel_id=nap.id,
        title="NAP December",
        starts_at=utcnow() - timedelta(minutes=10),
        status=MeetingStatus.PUBLISHED,
    )
    db_session.add(meeting)
    db_session.flush()
    item = AgendaItem(meeting_id=meeting.id, case_id=case.id, position=1)
    db_session.add(item)
    db_session.commit()
    return {"meeting": meeting, "item": item, "case": case, "panel": nap, **people}


def _url(s, what="minutes"):
    return f"/meetings/{s['meeting'].id}/items/{s['item'].id}/{what}"


def _attend(db_session, meeting, users, role="member"):
    for u in users:
        db_session.add(Attendance(meeting_id=meeting.id, user_id=u.id, role=role))
    db_session.commit()


def _fresh(db_session, obj):
    db_session.expire_all()
    return db_session.get(type(obj), obj.id)


def _audits(db_session, action, case):
    return db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.object_id == case.reference)
        .order_by(AuditEntry.id)
    ).all()


# --------------------------------------------------------------------------- autosave
def test_autosave_json_round_trip(app, client, login, meeting_setup, db_session):
    """Does an autosave (JSON) store the text, bump the version and answer with the UK time;
    and are repeated autosaves by the same person coalesced in the audit trail?"""
    s = meeting_setup
    login(client, s["nap_coordinator"])
    resp = post_form(
        app,
        client,
        _url(s),
        {"discussion": "Relapse discussed.", "outcome": "", "version": "0"},
        headers=JSON,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["version"] == 1
    assert len(body["saved_at_uk"]) == 5 and body["saved_at_uk"][2] == ":"
    resp = post_form(
        app,
        client,
        _url(s),
        {"discussion": "Relapse discussed.", "outcome": "Trial A", "version": "1"},
        headers=JSON,
    )
    assert resp.get_json()["version"] == 2
    item = _fresh(db_session, s["item"])
    assert (item.discussion, item.outcome, item.minutes_version) == (
        "Relapse discussed.",
        "Trial A",
        2,
    )
    assert item.minutes_updated_by_id == s["nap_coordinator"].id
    entries = _audits(db_session, "minutes.saved", s["case"])
    assert (
        len(entries) == 1
    )  # the second autosave by the same person within 10 minutes is coalesced
    assert entries[0].details["item"] == item.id
    assert "Relapse" not in str(entries[0].details)  # no clinical text in the trail


def test_unchanged_save_makes_no_new_version(app, meeting_setup, db_session):
    """Does an autosave with nothing changed leave the version alone?"""
    s = meeting_setup
    item = s["item"]
    minutes.save_minutes(
        item, discussion="A", outcome="", expected_version=0, by=s["nap_coordinator"]
    )
    minutes.save_minutes(
        item, discussion="A", outcome="", expected_version=1, by=s["nap_coordinator"]
    )
    assert item.minutes_version == 1


def test_audit_rule_other_saver_and_ten_minutes(
    app, meeting_setup, make_user, db_session, monkeypatch
):
    """Is a save audited again when someone else saves, and when ten minutes have passed?"""
    s = meeting_setup
    other = make_user(roles=[("NAP", "coordinator")])
    item = s["item"]
    minutes.save_minutes(
        item, discussion="one", outcome="", expected_version=0, by=s["nap_coordinator"]
    )
    minutes.save_minutes(
        item, discussion="two", outcome="", expected_version=1, by=s["nap_coordinator"]
    )
    minutes.save_minutes(item, discussion="three", outcome="", expected_version=2, by=other)
    assert len(_audits(db_session, "minutes.saved", s["case"])) == 2
    later = utcnow() + timedelta(
        minutes=11
    )  # the audit trail is append-only: move the clock instead
    monkeypatch.setattr(minutes, "utcnow", lambda: later)
    minutes.save_minutes(item, discussion="four", outcome="", expected_version=3, by=other)
    entries = _audits(db_session, "minutes.saved", s["case"])
    assert len(entries) == 3
    assert entries[-1].details["from_version"] == 4 and entries[-1].details["version"] == 4


# --------------------------------------------------------------------------- conflicts
def test_two_coordinators_json_conflict_nothing_lost(
    app, login, meeting_setup, make_user, db_session
):
    """When two coordinators save from the same version, does the second get 409 with the
    current text (who, when) and its own text echoed back, and is the first text kept?"""
    s = meeting_setup
    second = make_user(roles=[("NAP", "coordinator")], name="Dr Second Coordinator")
    c1, c2 = app.test_client(), app.test_client()
    login(c1, s["nap_coordinator"])
    login(c2, second)
    r1 = post_form(
        app,
        c1,
        _url(s),
        {"discussion": "First text", "outcome": "Outcome one", "version": "0"},
        headers=JSON,
    )
    assert r1.status_code == 200
    r2 = post_form(
        app,
        c2,
        _url(s),
        {"discussion": "Second text", "outcome": "Outcome two", "version": "0"},
        headers=JSON,
    )
    assert r2.status_code == 409
    body = r2.get_json()
    assert body["conflict"] is True
    assert body["current"]["discussion"] == "First text"
    assert body["current"]["outcome"] == "Outcome one"
    assert body["current"]["version"] == 1
    assert body["current"]["by"] == "Nap Coordinator"
    assert body["current"]["at"]
    assert body["yours"] == {"discussion": "Second text", "outcome": "Outcome two"}
    item = _fresh(db_session, s["item"])
    assert item.discussion == "First text" and item.minutes_version == 1
    # After merging, the second coordinator saves on the current version: accepted.
    merged = "First text\nSecond text"
    r3 = post_form(
        app,
        c2,
        _url(s),
        {"discussion": merged, "outcome": "Outcome one", "version": "1"},
        headers=JSON,
    )
    assert r3.status_code == 200 and r3.get_json()["version"] == 2
    assert _fresh(db_session, s["item"]).discussion == merged


def test_conflict_form_fallback_shows_both_texts(app, login, meeting_setup, make_user, db_session):
    """Without JavaScript, does a conflicting form post show both texts side by side, keep the
    user's text in the editor and carry the current version for the merged save?"""
    s = meeting_setup
    minutes.save_minutes(
        s["item"],
        discussion="Stored by the first",
        outcome="",
        expected_version=0,
        by=s["nap_coordinator"],
    )
    db_session.commit()
    second = make_user(roles=[("NAP", "coordinator")])
    client = app.test_client()
    login(client, second)
    resp = post_form(
        app, client, _url(s), {"discussion": "Typed by the second", "outcome": "", "version": "0"}
    )
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert 'data-testid="conflict"' in html
    assert "Stored by the first" in html and "Typed by the second" in html
    assert 'name="version" value="1"' in html
    assert "Nap Coordinator" in html
    assert _fresh(db_session, s["item"]).discussion == "Stored by the first"


def test_form_save_redirects(app, client, login, meeting_setup, db_session):
    """Does a plain form save redirect back to the editor with the text stored?"""
    s = meeting_setup
    login(client, s["nap_coordinator"])
    resp = post_form(
        app, client, _url(s), {"discussion": "Plain form", "outcome": "", "version": "0"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_url(s))
    page = client.get(_url(s)).get_data(as_text=True)
    assert "Plain form" in page and "Minutes saved." in page
    assert 'name="version" value="1"' in page


def test_identifier_in_minutes_refused(app, client, login, meeting_setup, db_session):
    """Is an NHS number in the minutes refused with a clear message, nothing saved, and the
    typed text given back?"""
    s = meeting_setup
    login(client, s["nap_coordinator"])
    text = "Discussed with the family, NHS number 943 476 5919."
    resp = post_form(
        app, client, _url(s), {"discussion": text, "outcome": "", "version": "0"}, headers=JSON
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"] == (
        "Not saved: the text looks like it contains a patient identifier (NHS number) in "
        "discussion. Remove it and save again; your text is kept below."
    )
    resp = post_form(app, client, _url(s), {"discussion": text, "outcome": "", "version": "0"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "identifier" in html and "943 476 5919" in html  # given back to be corrected
    item = _fresh(db_session, s["item"])
    assert item.discussion == "" and item.minutes_version == 0
    with pytest.raises(IdentifiersFound):
        minutes.save_minutes(
            item, discussion="", outcome=text, expected_version=0, by=s["nap_coordinator"]
        )


def test_bad_version_is_400(app, client, login, meeting_setup):
    s = meeting_setup
    login(client, s["nap_coordinator"])
    assert (
        post_form(
            app, client, _url(s), {"discussion": "x", "outcome": "", "version": "abc"}
        ).status_code
        == 400
    )


def test_removed_item_cannot_take_minutes(app, meeting_setup, db_session):
    s = meeting_setup
    s["item"].outcome_status = ItemOutcome.REMOVED
    db_session.flush()
    with pytest.raises(Refused, match="no longer on the agenda"):
        minutes.save_minutes(
            s["item"], discussion="x", outcome="", expected_version=0, by=s["nap_coordinator"]
        )


def test_only_coordinators_save(app, meeting_setup):
    s = meeting_setup
    with pytest.raises(NotAllowed):
        minutes.save_minutes(
            s["item"], discussion="x", outcome="", expected_version=0, by=s["nap_member"]
        )


# --------------------------------------------------------------------------- outcome
def test_record_outcome_quorum_outcome_and_effects(app, meeting_setup, make_user, db_session):
    """Is "mark as discussed" refused without the quorum and without an outcome; then does it
    set the case to discussed, audit it and notify coordinators and referrers (no clinical text)?"""
    s = meeting_setup
    item, case, meeting = s["item"], s["case"], s["meeting"]
    coordinator = s["nap_coordinator"]
    other_coordinator = make_user(roles=[("NAP", "coordinator")])
    members = [make_user(roles=[("NAP", "member")]) for _ in range(2)]
    chair = make_user(roles=[("NAP", "chair")])
    _attend(db_session, meeting, members)
    _attend(db_session, meeting, [coordinator], role="coordinator")  # does not count
    with app.test_request_context():
        with pytest.raises(Refused) as exc:
            minutes.record_outcome(item, by=coordinator)
        assert exc.value.message.startswith(
            "The quorum is not met: 2 of 3 members or chairs recorded as attending"
        )
        _attend(db_session, meeting, [chair], role="chair")
        db_session.expire(meeting, ["attendance"])
        with pytest.raises(Refused, match="Write the outcome"):
            minutes.record_outcome(item, by=coordinator)
        minutes.save_minutes(
            item,
            discussion="Long talk",
            outcome="Recommend trial X",
            expected_version=0,
            by=coordinator,
        )
        with pytest.raises(NotAllowed):
            minutes.record_outcome(item, by=s["nap_member"])
        minutes.record_outcome(item, by=coordinator)
        db_session.commit()
    assert item.outcome_status == ItemOutcome.DISCUSSED and item.discussed_at is not None
    assert case.status == CaseStatus.DISCUSSED and case.discussed_at is not None
    entries = _audits(db_session, "case.discussed", case)
    assert len(entries) == 1 and entries[0].details["meeting"] == meeting.id
    notes = db_session.scalars(
        select(Notification).where(Notification.kind == "case.discussed")
    ).all()
    to = {n.user_id for n in notes}
    assert other_coordinator.id in to and s["referrer"].id in to
    assert coordinator.id not in to  # the one who did it
    assert s["north_coordinator"].id not in to
    assert all("Recommend" not in n.text and "Long talk" not in n.text for n in notes)
    assert all(case.reference in n.text for n in notes)
    with app.test_request_context(), pytest.raises(Refused, match="already"):
        minutes.record_outcome(item, by=coordinator)


def test_mark_discussed_views_and_reopen(app, client, login, meeting_setup, make_user, db_session):
    """Through the pages: "Save and mark as discussed" without quorum keeps the text and shows
    the quorum message; with quorum it marks; "undo" puts the case back to scheduled (audited)."""
    s = meeting_setup
    login(client, s["nap_coordinator"])
    resp = post_form(
        app,
        client,
        _url(s),
        {"discussion": "d", "outcome": "Advice", "version": "0", "action": "discussed"},
    )
    assert resp.status_code == 302
    page = client.get(_url(s)).get_data(as_text=True)
    assert "quorum is not met" in page
    item = _fresh(db_session, s["item"])
    assert (
        item.outcome == "Advice" and item.outcome_status == ItemOutcome.PENDING
    )  # the text was kept
    _attend(db_session, s["meeting"], [make_user(roles=[("NAP", "member")]) for _ in range(3)])
    resp = post_form(app, client, _url(s, "discussed"))
    assert resp.status_code == 302
    item = _fresh(db_session, s["item"])
    assert item.outcome_status == ItemOutcome.DISCUSSED and item.case.status == CaseStatus.DISCUSSED
    resp = post_form(app, client, _url(s, "reopen"))
    assert resp.status_code == 302
    item = _fresh(db_session, s["item"])
    assert item.outcome_status == ItemOutcome.PENDING and item.case.status == CaseStatus.SCHEDULED
    assert item.case.discussed_at is None
    assert len(_audits(db_session, "case.discussion_reopened", item.case)) == 1


# --------------------------------------------------------------------------- closed meeting
def test_closed_meeting_locks_minutes_and_amendments(
    app, client, login, meeting_setup, make_user, db_session
):
    """After the meeting is closed: is a save refused (with a pointer to amendments), does an
    amendment need a reason, and is each amendment numbered with before/after and who?"""
    s = meeting_setup
    coordinator = s["nap_coordinator"]
    item = s["item"]
    with pytest.raises(Refused, match="still open"):
        minutes.amend_minutes(item, discussion="x", outcome="", reason="r", by=coordinator)
    minutes.save_minutes(
        item, discussion="Original", outcome="Advice A", expected_version=0, by=coordinator
    )
    s["meeting"].status = MeetingStatus.CLOSED
    s["meeting"].closed_at = utcnow()
    db_session.commit()

    login(client, coordinator)
    resp = post_form(
        app,
        client,
        _url(s),
        {"discussion": "Late edit", "outcome": "Advice A", "version": "1"},
        headers=JSON,
    )
    assert resp.status_code == 422 and "amendment" in resp.get_json()["error"]
    assert "Amend" in client.get(_url(s)).get_data(as_text=True)  # read-only with the amend link

    resp = post_form(
        app,
        client,
        _url(s, "amend"),
        {"discussion": "Original", "outcome": "Advice B", "reason": "  "},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "reason" in html and "Advice B" in html  # the typed text is kept
    resp = post_form(
        app,
        client,
        _url(s, "amend"),
        {"discussion": "Original", "outcome": "Advice B", "reason": "Chair corrected the advice"},
    )
    assert resp.status_code == 302
    second = make_user(roles=[("NAP", "coordinator")], name="Dr Amender")
    client2 = app.test_client()
    login(client2, second)
    resp = post_form(
        app,
        client2,
        _url(s, "amend"),
        {
            "discussion": "Original, completed",
            "outcome": "Advice B",
            "reason": "Completed the notes",
        },
    )
    assert resp.status_code == 302

    amendments = db_session.scalars(
        select(MinutesAmendment)
        .where(MinutesAmendment.item_id == item.id)
        .order_by(MinutesAmendment.number)
    ).all()
    assert [a.number for a in amendments] == [1, 2]
    a1, a2 = amendments
    assert (a1.outcome_before, a1.outcome_after, a1.reason, a1.by_id) == (
        "Advice A",
        "Advice B",
        "Chair corrected the advice",
        coordinator.id,
    )
    assert (a2.discussion_before, a2.discussion_after, a2.by_id) == (
        "Original",
        "Original, completed",
        second.id,
    )
    item = _fresh(db_session, item)
    assert (item.discussion, item.outcome) == ("Original, completed", "Advice B")
    entries = _audits(db_session, "minutes.amended", item.case)
    assert [e.details["amendment"] for e in entries] == [1, 2]
    page = client.get(_url(s, "amend")).get_data(as_text=True)
    assert "Amendment 2" in page and "Dr Amender" in page and "Completed the notes" in page
    with pytest.raises(Refused, match="Nothing was changed"):
        minutes.amend_minutes(
            item, discussion=item.discussion, outcome=item.outcome, reason="again", by=coordinator
        )
    with pytest.raises(IdentifiersFound):
        minutes.amend_minutes(
            item, discussion="x", outcome="y", reason="NHS 943 476 5919", by=coordinator
        )


# --------------------------------------------------------------------------- access
ENDPOINTS = ["minutes", "discussed", "reopen", "amend"]


@pytest.mark.parametrize("what", ENDPOINTS)
def test_posts_refused_member_other_panel_anonymous(
    app, client, login, meeting_setup, what, db_session
):
    """Is every POST refused: 403 for a member of the panel, 404 for someone on another panel,
    a referrer or an admin, a redirect to login for anonymous users, and nothing changed?"""
    s = meeting_setup
    data = {"discussion": "hacked", "outcome": "hacked", "version": "0", "reason": "r"}
    resp = post_form(app, client, _url(s, what), data)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for who, code in (
        ("nap_member", 403),
        ("north_coordinator", 404),
        ("referrer", 404),
        ("admin", 404),
    ):
        c = app.test_client()
        login(c, s[who])
        assert post_form(app, c, _url(s, what), data).status_code == code, who
    item = _fresh(db_session, s["item"])
    assert item.discussion == "" and item.outcome_status == ItemOutcome.PENDING


def test_item_of_another_meeting_is_404(app, client, login, meeting_setup, db_session):
    s = meeting_setup
    other = Meeting(panel_id=s["panel"].id, starts_at=utcnow() + timedelta(days=7))
    db_session.add(other)
    db_session.commit()
    login(client, s["nap_coordinator"])
    assert client.get(f"/meetings/{other.id}/items/{s['item'].id}/minutes").status_code == 404
    assert client.get(f"/meetings/{s['meeting'].id}/items/999999/minutes").status_code == 404


def test_editor_get_access(app, client, login, meeting_setup):
    s = meeting_setup
    for who, code in (
        ("nap_coordinator", 200),
        ("nap_member", 403),
        ("north_coordinator", 404),
        ("referrer", 404),
    ):
        c = app.test_client()
        login(c, s[who])
        assert c.get(_url(s)).status_code == code, who


# --------------------------------------------------------------------------- the case page
def test_case_page_minutes_panel_only(app, login, meeting_setup, db_session):
    """Do panel people see the minutes on the case page (coordinators with an edit link), and
    do referrers and admins not?"""
    s = meeting_setup
    minutes.save_minutes(
        s["item"],
        discussion="Internal discussion text",
        outcome="Internal outcome",
        expected_version=0,
        by=s["nap_coordinator"],
    )
    db_session.commit()
    url = f"/cases/{s['case'].reference}"
    c = app.test_client()
    login(c, s["nap_coordinator"])
    html = c.get(url).get_data(as_text=True)
    assert 'data-testid="case-minutes"' in html and "Internal discussion text" in html
    assert _url(s) in html  # edit link while the meeting is open
    c = app.test_client()
    login(c, s["nap_member"])
    html = c.get(url).get_data(as_text=True)
    assert "Internal outcome" in html and _url(s) not in html
    c = app.test_client()
    login(c, s["referrer"])
    html = c.get(url).get_data(as_text=True)
    assert (
        s["case"].reference in html
        and "Internal discussion text" not in html
        and "case-minutes" not in html
    )

    s["meeting"].status = MeetingStatus.CLOSED
    db_session.commit()
    c = app.test_client()
    login(c, s["nap_coordinator"])
    assert _url(s, "amend") in c.get(url).get_data(as_text=True)


def test_case_minutes_is_query_light(app, meeting_setup, db_session, count_queries, make_case):
    """Does the minutes card cost the same few queries whatever the number of meetings?"""
    from panel.meetings.minutes_views import case_minutes

    s = meeting_setup
    case = s["case"]

    def run():
        with app.test_request_context():
            from flask_login import login_user

            login_user(s["nap_coordinator"])
            _ = case.reference, s["nap_coordinator"].panel_roles  # loaded by the case page anyway
            with count_queries() as n:
                items = case_minutes(case)
                for i in items:
                    _ = [a.by for a in i.amendments], i.minutes_updated_by, i.meeting.panel.name
                return n.count, len(items)

    minutes.save_minutes(
        s["item"], discussion="one", outcome="", expected_version=0, by=s["nap_coordinator"]
    )
    s["item"].outcome_status = ItemOutcome.NOT_DISCUSSED
    db_session.commit()
    one, n1 = run()
    for k in range(3):
        m = Meeting(
            panel_id=s["panel"].id,
            starts_at=utcnow() + timedelta(days=7 * (k + 1)),
            status=MeetingStatus.CLOSED,
        )
        db.session.add(m)
        db.session.flush()
        it = AgendaItem(
            meeting_id=m.id,
            case_id=case.id,
            position=1,
            discussion=f"m{k}",
            outcome_status=ItemOutcome.NOT_DISCUSSED,
            minutes_updated_by_id=s["nap_coordinator"].id,
        )
        db.session.add(it)
        db.session.flush()
        db.session.add(
            MinutesAmendment(item_id=it.id, number=1, reason="r", by_id=s["nap_coordinator"].id)
        )
    db_session.commit()
    many, n4 = run()
    assert (n1, n4) == (1, 4)
    # the items (with meetings and savers), the savers' roles, the amendments (with authors) and
    # their roles: a constant, whatever the number of meetings
    assert one <= 4 and many <= 4


def test_the_minutes_editor_says_when_discussion_becomes_possible(
    client, login, meeting_setup, db_session
):
    """Before the meeting starts the editor says that a case can be marked as discussed only
    once it has started (the workflow refuses it until then); once started, it says nothing."""
    s = meeting_setup
    login(client, s["nap_coordinator"])
    assert 'data-testid="not-started-note"' not in client.get(_url(s)).get_data(as_text=True)
    s["meeting"].starts_at = utcnow() + timedelta(days=3)
    db_session.commit()
    page = client.get(_url(s)).get_data(as_text=True)
    assert 'data-testid="not-started-note"' in page
    assert "once it has started" in page

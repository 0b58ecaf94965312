"""Triage: the coordinator's queue, urgency and referring a case on to another panel."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from panel.accounts.models import Panel
from panel.cases import operations as case_ops
from panel.cases.models import Case, CaseRevision, CaseStatus
from panel.core.db import utcnow
from panel.core.errors import Conflict, IdentifiersFound, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification
from panel.meetings import triage
from panel.meetings.models import AgendaItem, CaseTransfer, Meeting, MeetingStatus
from tests.support.web import post_form

DATA = Path(__file__).resolve().parent.parent / "data"


def example(name: str = "alk", **changes) -> dict:
    doc = json.loads((DATA / f"case-example-{name}.json").read_text())
    doc.update(changes)
    return doc


@pytest.fixture
def team(people, make_user):
    return {
        **people,
        "north_member": make_user(roles=[("ECMC-NORTH", "member")]),
        "both_coordinator": make_user(
            roles=[("NAP", "coordinator"), ("ECMC-NORTH", "coordinator")], name="Two Panels"
        ),
    }


@pytest.fixture
def client_for(app, login, db_session):
    """A signed-in client for ``user``, one per user (a client stays signed in as its first user)."""
    clients = {}

    def make(user):
        if user.id not in clients:
            db_session.refresh(user)  # the login fixture resets the TOTP step on this object
            clients[user.id] = app.test_client()
            login(clients[user.id], user)
        return clients[user.id]

    return make


def _panel(db_session, code: str) -> Panel:
    return db_session.scalar(select(Panel).where(Panel.code == code))


def _submitted(db_session, by, doc=None, *, days_ago: float = 0) -> Case:
    case = case_ops.create_case(copy.deepcopy(doc or example()), by=by).case
    case_ops.submit_case(case, by=by)
    case.submitted_at = utcnow() - timedelta(days=days_ago)
    db_session.commit()
    return case


def _audit(db_session, action: str, case: Case) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.object_id == case.reference)
            .order_by(AuditEntry.id)
        )
    )


def _meeting(db_session, panel_code: str, *, days: int = 7, by=None) -> Meeting:
    m = Meeting(
        panel_id=_panel(db_session, panel_code).id,
        title="Monthly panel",
        starts_at=utcnow() + timedelta(days=days),
        status=MeetingStatus.PLANNED,
        created_by_id=by.id if by else None,
    )
    db_session.add(m)
    db_session.commit()
    return m


# --------------------------------------------------------------------------- the queue
def test_queue_holds_own_panels_cases_urgent_first_then_longest_waiting(db_session, team):
    """Does the queue list only the submitted / info-requested cases of the coordinator's
    panels, urgent first, then the longest waiting, with the rolled-over and open-request flags?"""
    ref, coord = team["referrer"], team["nap_coordinator"]
    recent = _submitted(db_session, ref, days_ago=1)
    oldest = _submitted(db_session, ref, days_ago=10)
    middle = _submitted(db_session, ref, days_ago=4)
    urgent = _submitted(db_session, ref, days_ago=0.1)
    asked = _submitted(db_session, ref, days_ago=6)
    draft = case_ops.create_case(example(), by=ref).case
    north = _submitted(db_session, ref, example(panel="ECMC-NORTH"), days_ago=30)
    triage.set_urgency(urgent, True, by=coord)
    case_ops.request_information(asked, by=coord, questions=["Which ALK variant?"])
    middle.rolled_over = True
    db_session.commit()

    rows = triage.triage_rows(coord)
    refs = [r.case.reference for r in rows]
    assert refs == [
        urgent.reference,
        oldest.reference,
        asked.reference,
        middle.reference,
        recent.reference,
    ]
    assert draft.reference not in refs and north.reference not in refs
    by_ref = {r.case.reference: r for r in rows}
    assert by_ref[urgent.reference].urgent and not by_ref[oldest.reference].urgent
    assert by_ref[middle.reference].rolled_over and not by_ref[recent.reference].rolled_over
    assert (
        by_ref[asked.reference].info_open
        and by_ref[asked.reference].status == CaseStatus.INFO_REQUESTED
    )
    assert not by_ref[oldest.reference].info_open
    assert by_ref[oldest.reference].waited_label == "10 days"
    assert (
        by_ref[oldest.reference].questions == 3
    )  # the ALK example carries three parents' questions
    # The North coordinator sees only the North case.
    assert [r.case.reference for r in triage.triage_rows(team["north_coordinator"])] == [
        north.reference
    ]


def test_waiting_time_reads_like_a_person_would_say_it():
    assert triage.humanise_wait(timedelta(minutes=20)) == "under an hour"
    assert triage.humanise_wait(timedelta(hours=5)) == "5 hours"
    assert triage.humanise_wait(timedelta(days=1, hours=3)) == "1 day"
    assert triage.humanise_wait(timedelta(days=3)) == "3 days"
    assert triage.humanise_wait(timedelta(days=30)) == "4 weeks"


def test_completeness_counts_missing_fields_unknown_criteria_and_held_images(db_session, team):
    """Are missing recommended fields, unknown trial criteria and held-back images counted per case?"""
    from panel.imaging.models import FileKind, FileStatus, StoredFile, Upload
    from panel.trials.matching import case_matching
    from panel.trials.registry import load_registry

    ref = team["referrer"]
    full = _submitted(db_session, ref)
    thin_doc = example()
    del thin_doc["fitness"]["life_expectancy_months"]
    del thin_doc["response"]["current"]
    thin = _submitted(db_session, ref, thin_doc)

    rows = {r.case.reference: r for r in triage.triage_rows(team["nap_coordinator"])}
    base = {p for p, _ in rows[full.reference].missing}
    assert (
        "modules.neuroblastoma.diagnosis.inss_stage" in base
    )  # the example leaves this recommended field empty
    assert {p for p, _ in rows[thin.reference].missing} == base | {
        "fitness.life_expectancy_months",
        "modules.neuroblastoma.response.current.overall",
    }
    assert rows[thin.reference].missing_count == rows[full.reference].missing_count + 2
    assert all(label for _, label in rows[full.reference].missing)
    assert rows[full.reference].held_images == 0

    # Images held back for review are counted (released ones are not).
    upload = Upload(case_id=full.id, label="CT", held_count=2, stored_count=1)
    db_session.add(upload)
    db_session.flush()
    for i, status in enumerate([FileStatus.HELD_BACK, FileStatus.HELD_BACK, FileStatus.STORED]):
        db_session.add(
            StoredFile(
                case_id=full.id,
                upload_id=upload.id,
                kind=FileKind.PDF,
                storage_key=f"k{i}",
                sha256=f"{i:064d}",
                size=10,
                content_type="application/pdf",
                display_name=f"f{i}.pdf",
                status=status,
                hold_reason="burned-in text" if status == FileStatus.HELD_BACK else None,
            )
        )
    # Trial criteria that cannot be decided on what the referral says.
    load_registry()
    db_session.commit()
    rows = {r.case.reference: r for r in triage.triage_rows(team["nap_coordinator"])}
    assert rows[full.reference].held_images == 2 and rows[thin.reference].held_images == 0
    for case in (full, thin):
        expected = len(case_matching(case).missing)
        assert rows[case.reference].unknown_count == expected
    # Without the current response, "not progressing" cannot be decided for an open trial.
    assert rows[full.reference].unknown_count == 0 and rows[thin.reference].unknown_count >= 1
    assert any("progressing" in label for label in rows[thin.reference].unknown_criteria)
    assert not rows[full.reference].complete


def test_held_back_chip_says_files_not_images(app, client, db_session, team, login):
    """A PDF held back is not an "image": the queue's chip says "1 file held back"."""
    from panel.imaging.models import FileKind, FileStatus, StoredFile, Upload

    case = _submitted(db_session, team["referrer"])
    upload = Upload(case_id=case.id, label="Report", held_count=1, stored_count=0)
    db_session.add(upload)
    db_session.flush()
    db_session.add(
        StoredFile(
            case_id=case.id,
            upload_id=upload.id,
            kind=FileKind.PDF,
            storage_key="k-pdf",
            sha256="f" * 64,
            size=10,
            content_type="application/pdf",
            display_name="report.pdf",
            status=FileStatus.HELD_BACK,
            hold_reason="burned-in text",
        )
    )
    db_session.commit()
    login(client, team["nap_coordinator"])
    html = client.get("/triage").get_data(as_text=True)
    row = html[html.index(f'data-ref="{case.reference}"') :]
    chip = re.search(r'data-testid="held-images"[^>]*>(.*?)</span>', row).group(1)
    assert chip.endswith("</i>1 file held back")
    assert "image held back" not in html


def test_triage_page_runs_a_fixed_number_of_queries(
    app, client, db_session, team, login, count_queries
):
    """Does the queue page run as many SQL statements for 12 cases as for 2?"""
    from panel.trials.registry import load_registry

    load_registry()
    _meeting(db_session, "NAP")
    login(client, team["nap_coordinator"])
    for _ in range(2):
        _submitted(db_session, team["referrer"])
    client.get("/triage")  # warm up
    with count_queries() as few:
        assert client.get("/triage").status_code == 200
    for _ in range(10):
        _submitted(db_session, team["referrer"])
    with count_queries() as many:
        html = client.get("/triage").get_data(as_text=True)
    assert html.count('data-testid="triage-row"') == 12
    assert many.count == few.count, many.statements


def test_triage_page_shows_rows_actions_and_schedule_form(app, client, db_session, team, login):
    """Does the page show the row, its chips, the actions and a schedule form listing the
    panel's upcoming meetings (and not another panel's)?"""
    case = _submitted(db_session, team["referrer"], days_ago=3)
    nap_meeting = _meeting(db_session, "NAP", days=10)
    _meeting(db_session, "ECMC-NORTH", days=5)
    past = _meeting(db_session, "NAP", days=-3)
    login(client, team["nap_coordinator"])
    html = client.get("/triage").get_data(as_text=True)
    assert case.reference in html and "3 days" in html
    assert 'data-testid="schedule-form"' in html
    assert f'<option value="{nap_meeting.id}">' in html
    assert f'<option value="{past.id}">' not in html
    assert html.count("<option value=") == 1  # only NAP's upcoming meeting
    assert f"/cases/{case.reference}#request" in html
    assert f"/cases/{case.reference}/refer-on" in html
    assert "Mark urgent" in html and "missing field" in html
    # The schedule form hands the post on to the chosen meeting's agenda (307 keeps the body).
    resp = post_form(
        app,
        client,
        "/triage/schedule",
        {"meeting": nap_meeting.id, "case": case.reference, "next": "/triage"},
    )
    assert resp.status_code == 307 and resp.headers["Location"].endswith(
        f"/meetings/{nap_meeting.id}/agenda"
    )
    # The case page has the triage box with the same schedule form.
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="case-triage"' in page and f'<option value="{nap_meeting.id}">' in page


def test_panel_filter_for_a_coordinator_of_several_panels(client, db_session, team, login):
    nap = _submitted(db_session, team["referrer"])
    north = _submitted(db_session, team["referrer"], example(panel="ECMC-NORTH"))
    login(client, team["both_coordinator"])
    html = client.get("/triage").get_data(as_text=True)
    assert (
        nap.reference in html and north.reference in html and 'data-testid="panel-filter"' in html
    )
    html = client.get("/triage?panel=ECMC-NORTH").get_data(as_text=True)
    assert north.reference in html and nap.reference not in html


@pytest.mark.parametrize(
    "who,status",
    [("nap_member", 403), ("referrer", 403), ("admin", 403), ("north_coordinator", 200)],
)
def test_who_may_open_the_queue(client, db_session, team, login, who, status):
    """Is the queue for coordinators only (403 for other signed-in people), and does another
    panel's coordinator not see NAP's cases there or on the case page?"""
    case = _submitted(db_session, team["referrer"])
    login(client, team[who])
    resp = client.get("/triage")
    assert resp.status_code == status
    if who == "north_coordinator":
        assert case.reference not in resp.get_data(as_text=True)
        assert client.get(f"/cases/{case.reference}").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, db_session, team):
    case = _submitted(db_session, team["referrer"])
    for url in ("/triage", f"/cases/{case.reference}/refer-on", "/reviews"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- urgency
def test_coordinator_marks_a_case_urgent_and_it_is_audited(app, client, db_session, team, login):
    case = _submitted(db_session, team["referrer"])
    login(client, team["nap_coordinator"])
    resp = post_form(
        app, client, f"/cases/{case.reference}/urgency", {"urgent": "1", "next": "/triage"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/triage")
    db_session.refresh(case)
    assert (
        case.urgency == "urgent"
        and case.data["urgency"] == "urgent"
        and case.triaged_at is not None
    )
    entries = _audit(db_session, "case.urgency", case)
    assert len(entries) == 1 and entries[0].details["to"] == "urgent"
    assert (
        entries[0].panel_id == case.panel_id and entries[0].actor_id == team["nap_coordinator"].id
    )
    # Back to routine.
    post_form(app, client, f"/cases/{case.reference}/urgency", {"urgent": "0"})
    db_session.refresh(case)
    assert case.urgency == "routine" and len(_audit(db_session, "case.urgency", case)) == 2


@pytest.mark.parametrize(
    "who,status",
    [("nap_member", 403), ("referrer", 403), ("north_coordinator", 404), ("admin", 404)],
)
def test_only_the_panels_coordinator_changes_urgency(
    app, client, db_session, team, login, who, status
):
    case = _submitted(db_session, team["referrer"])
    login(client, team[who])
    assert (
        post_form(app, client, f"/cases/{case.reference}/urgency", {"urgent": "1"}).status_code
        == status
    )
    db_session.refresh(case)
    assert case.urgency == "routine" and not _audit(db_session, "case.urgency", case)


# --------------------------------------------------------------------------- refer on
def test_refer_on_keeps_one_record_and_moves_the_case(
    app, client, db_session, team, login, client_for
):
    """Does referring NAP -> ECMC-NORTH keep the reference and history, write a transfer row and
    an audit entry on each panel's trail, tell the North coordinators and the referrer, and take
    the case out of NAP's view?"""
    ref, coord = team["referrer"], team["nap_coordinator"]
    case = _submitted(db_session, ref)
    reference, case_id = case.reference, case.id
    revisions = db_session.scalar(
        select(func.count(CaseRevision.id)).where(CaseRevision.case_id == case_id)
    )
    nap, north = _panel(db_session, "NAP"), _panel(db_session, "ECMC-NORTH")
    login(client, coord)
    page = client.get(f"/cases/{reference}/refer-on")
    assert page.status_code == 200 and "ECMC-NORTH" in page.get_data(as_text=True)
    resp = post_form(
        app,
        client,
        f"/cases/{reference}/refer-on",
        {"panel": north.id, "reason": "Early-phase ALK inhibitor trial recruiting in the North."},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    db_session.expire_all()
    case = db_session.get(Case, case_id)
    assert (
        case.reference == reference
        and case.panel_id == north.id
        and case.status == CaseStatus.SUBMITTED
    )
    assert case.data["panel"] == "ECMC-NORTH" and case.triaged_at is not None
    assert (
        db_session.scalar(
            select(func.count(CaseRevision.id)).where(CaseRevision.case_id == case_id)
        )
        == revisions
    )
    transfer = db_session.scalar(select(CaseTransfer).where(CaseTransfer.case_id == case_id))
    assert (transfer.from_panel_id, transfer.to_panel_id, transfer.by_id) == (
        nap.id,
        north.id,
        coord.id,
    )
    assert "ALK" in transfer.reason
    assert [e.panel_id for e in _audit(db_session, "case.referred_on", case)] == [nap.id]
    assert [e.panel_id for e in _audit(db_session, "case.received", case)] == [north.id]
    notes = db_session.scalars(
        select(Notification).where(Notification.kind == "case.referred_on")
    ).all()
    told = {n.user_id for n in notes}
    assert {team["north_coordinator"].id, team["both_coordinator"].id, ref.id} <= told
    assert coord.id not in told and all(reference in n.text for n in notes)

    # NAP's people no longer see it; North's coordinator has it in the queue with the history.
    assert client.get(f"/cases/{reference}").status_code == 404
    assert reference not in client.get("/triage").get_data(as_text=True)
    assert client_for(team["nap_member"]).get(f"/cases/{reference}").status_code == 404
    north_client = client_for(team["north_coordinator"])
    assert reference in north_client.get("/triage").get_data(as_text=True)
    page = north_client.get(f"/cases/{reference}").get_data(as_text=True)
    assert (
        'data-testid="transfer-history"' in page
        and "Referred from <strong>NAP</strong> to <strong>ECMC-NORTH</strong>" in page
    )
    assert 'data-testid="refer-on-link"' in page  # now North's to triage
    # The referrer still sees the case and where it went.
    page = client_for(ref).get(f"/cases/{reference}").get_data(as_text=True)
    assert 'data-testid="transfer-history"' in page and "Mark urgent" not in page


def test_refer_on_refusals(app, client, db_session, team, login):
    """Same panel, no reason, an identifier in the reason, a case on an agenda: refused, with a
    clear message, nothing changed."""
    case = _submitted(db_session, team["referrer"])
    coord = team["nap_coordinator"]
    nap, north = _panel(db_session, "NAP"), _panel(db_session, "ECMC-NORTH")
    with pytest.raises(Refused, match="another panel"):
        triage.refer_on(case, nap, reason="Because", by=coord)
    with pytest.raises(Refused, match="reason"):
        triage.refer_on(case, north, reason="  ", by=coord)
    with pytest.raises(IdentifiersFound):
        triage.refer_on(case, north, reason="NHS number 943 476 5919", by=coord)
    with pytest.raises(NotAllowed):
        triage.refer_on(case, north, reason="Trial", by=team["nap_member"])
    db_session.rollback()

    login(client, coord)
    resp = post_form(
        app, client, f"/cases/{case.reference}/refer-on", {"panel": north.id, "reason": ""}
    )
    assert resp.status_code == 422 and "Give the reason" in resp.get_data(as_text=True)
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/refer-on",
        {"panel": north.id, "reason": "Her NHS number is 943 476 5919"},
    )
    assert resp.status_code == 422
    assert (
        "Not referred on: the text looks like it contains a patient identifier (NHS number). "
        "Remove it and try again." in resp.get_data(as_text=True)
    )
    assert "943 476 5919" in resp.get_data(as_text=True)  # what was typed is not lost
    resp = post_form(
        app, client, f"/cases/{case.reference}/refer-on", {"panel": nap.id, "reason": "Trial"}
    )
    assert resp.status_code == 422
    db_session.expire_all()
    assert db_session.get(Case, case.id).panel_id == nap.id
    assert not db_session.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id)).all()

    # A case waiting on an agenda must come off it first.
    meeting = _meeting(db_session, "NAP")
    db_session.add(AgendaItem(meeting_id=meeting.id, case_id=case.id, position=0))
    case = db_session.get(Case, case.id)
    case.status = CaseStatus.SCHEDULED
    db_session.commit()
    with pytest.raises(Conflict, match="agenda"):
        triage.refer_on(case, north, reason="Trial", by=coord)
    db_session.rollback()
    page = client.get(f"/cases/{case.reference}/refer-on").get_data(as_text=True)
    assert 'data-testid="refer-blocked"' in page


@pytest.mark.parametrize(
    "who,status",
    [("nap_member", 403), ("referrer", 403), ("north_coordinator", 404), ("admin", 404)],
)
def test_only_the_panels_coordinator_refers_on(app, client, db_session, team, login, who, status):
    case = _submitted(db_session, team["referrer"])
    login(client, team[who])
    assert client.get(f"/cases/{case.reference}/refer-on").status_code == status
    north = _panel(db_session, "ECMC-NORTH")
    assert (
        post_form(
            app, client, f"/cases/{case.reference}/refer-on", {"panel": north.id, "reason": "Trial"}
        ).status_code
        == status
    )
    db_session.expire_all()
    assert db_session.get(Case, case.id).panel.code == "NAP"


def test_referring_on_a_case_waiting_on_the_referrer_keeps_the_questions_open(db_session, team):
    case = _submitted(db_session, team["referrer"])
    case_ops.request_information(case, by=team["nap_coordinator"], questions=["Which ALK variant?"])
    triage.refer_on(
        case,
        _panel(db_session, "ECMC-NORTH"),
        reason="Early-phase trial",
        by=team["nap_coordinator"],
    )
    db_session.commit()
    assert case.status == CaseStatus.INFO_REQUESTED and case.open_information_request is not None
    assert [r.case.reference for r in triage.triage_rows(team["north_coordinator"])] == [
        case.reference
    ]


def test_scheduling_from_the_queue_puts_the_case_on_the_agenda(
    app, client, db_session, team, login
):
    """Does the queue's schedule form reach the meeting's agenda (through the 307 hand-over) and
    come back to the queue, after which the case cannot be referred on until taken off?"""
    case = _submitted(db_session, team["referrer"])
    meeting = _meeting(db_session, "NAP", days=9)
    login(client, team["nap_coordinator"])
    form = {"meeting": meeting.id, "case": case.reference, "minutes": "20", "next": "/triage"}
    hop = post_form(app, client, "/triage/schedule", form)
    assert hop.status_code == 307
    # A browser re-sends the same body to the new location (Werkzeug's test client cannot).
    resp = post_form(app, client, hop.headers["Location"], form, follow_redirects=True)
    assert resp.status_code == 200 and resp.request.path == "/triage"
    db_session.expire_all()
    case = db_session.get(Case, case.id)
    assert case.status == CaseStatus.SCHEDULED
    html = resp.get_data(as_text=True)
    assert "added to the agenda" in html and f'data-ref="{case.reference}"' not in html
    with pytest.raises(Conflict, match="agenda"):
        triage.refer_on(
            case, _panel(db_session, "ECMC-NORTH"), reason="Trial", by=team["nap_coordinator"]
        )

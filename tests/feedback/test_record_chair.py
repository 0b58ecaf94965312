"""A record people can trust (issue 14, faults 6 and 7): the draft starts from the minutes; the
chair may start it, has a link to it, is told when it is ready and finds it under "Awaiting my
approval"; a coordinator's change to an approved record's clinical content is a pending
amendment that a chair approves or rejects, the record showing the approved text meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification
from panel.feedback import letters
from panel.feedback import operations as ops
from panel.feedback.models import Recommendation
from panel.meetings.models import (
    AgendaItem,
    ItemOutcome,
    Meeting,
    MeetingStatus,
    VirtualReview,
    VirtualReviewStatus,
)
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form

OUTCOME = "Offer the NANT lorlatinib trial; re-biopsy first if it can be done safely."
DISCUSSION = "ALK F1174L at relapse. The panel weighed salvage chemotherapy before the trial."
PROPOSAL = "Agreed urgently: refer for the lorlatinib trial screening."


def url(case, tail: str = "") -> str:
    return f"/cases/{case.reference}/recommendation{tail}"


def reload(rec) -> Recommendation:
    db.session.expire_all()
    return db.session.get(Recommendation, rec.id)


def actions(ref: str) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == ref).order_by(AuditEntry.id)
        )
    )


def notes_of(user, kind: str) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def _minutes(db_session, case, *, outcome=OUTCOME, discussion=DISCUSSION) -> AgendaItem:
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    meeting = Meeting(
        panel_id=nap.id,
        title="NAP March",
        starts_at=utcnow() - timedelta(hours=3),
        status=MeetingStatus.CLOSED,
    )
    db_session.add(meeting)
    db_session.flush()
    item = AgendaItem(
        meeting_id=meeting.id,
        case_id=case.id,
        position=1,
        outcome_status=ItemOutcome.DISCUSSED,
        outcome=outcome,
        discussion=discussion,
        discussed_at=utcnow(),  # the latest discussion of the case
    )
    db_session.add(item)
    db_session.commit()
    return item


# --------------------------------------------------------------------------- from the minutes
def test_the_draft_starts_from_the_minutes(
    app, client, login, db_session, discussed_case, feedback_people
):
    """Does starting the draft prefill the rationale with the discussed outcome and the minutes
    notes of the case's agenda item, shown in the editor?"""
    case = discussed_case
    _minutes(db_session, case)
    login(client, feedback_people["nap_coordinator"])
    resp = post_form(app, client, url(case, "/start"))
    assert resp.status_code == 302
    rec = ops.recommendation_for(case)
    assert rec.rationale.startswith(OUTCOME)
    assert DISCUSSION in rec.rationale
    page = client.get(url(case)).get_data(as_text=True)
    assert "Offer the NANT lorlatinib trial" in page  # in the rationale box of the editor
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "recommendation.started")
    )
    assert entry.details["prefilled_from"] == ["minutes"]


def test_an_agreed_virtual_review_prefills_the_draft(db_session, discussed_case, feedback_people):
    """Does an agreed virtual review's outcome prefill the draft (and an open or cancelled one
    not)?"""
    case = discussed_case
    db_session.add_all(
        [
            VirtualReview(
                case_id=case.id, proposal="Cancelled idea", status=VirtualReviewStatus.CANCELLED
            ),
            VirtualReview(
                case_id=case.id,
                proposal=PROPOSAL,
                status=VirtualReviewStatus.AGREED,
                decided_at=utcnow(),
            ),
        ]
    )
    db_session.commit()
    rec = ops.start_recommendation(case, by=feedback_people["chair"])
    assert PROPOSAL in rec.rationale and "Cancelled idea" not in rec.rationale


def test_without_minutes_the_draft_starts_empty(discussed_case, feedback_people):
    rec = ops.start_recommendation(discussed_case, by=feedback_people["nap_coordinator"])
    assert rec.rationale == ""


# --------------------------------------------------------------------------- the chair
def test_the_chair_starts_the_draft_from_the_case_page(
    app, client, login, db_session, discussed_case, feedback_people
):
    """Does the chair of the case's panel get the start button on the case page, start the
    draft and then a link to edit it; a chair of another panel gets neither?"""
    case = discussed_case
    login(client, feedback_people["chair"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="start-record"' in page
    assert post_form(app, client, url(case, "/start")).status_code == 302
    rec = ops.recommendation_for(case)
    assert rec is not None and rec.drafted_by_id == feedback_people["chair"].id
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="record-link"' in page
    assert client.get(url(case)).status_code == 200
    other = app.test_client()
    login(other, feedback_people["north_chair"])
    assert post_form(app, other, url(case, "/start")).status_code == 404


def test_ready_for_approval_tells_the_chair_and_lists_it_on_their_home_page(
    app, client, login, db_session, draft_recommendation, feedback_people
):
    """Is an incomplete draft refused; a complete one marked ready (audited), its panel's chairs
    told, and listed under "Awaiting my approval" for them only, until approved?"""
    rec = draft_recommendation
    case = rec.case
    coordinator, chair = feedback_people["nap_coordinator"], feedback_people["chair"]
    with pytest.raises(Refused, match="parents' questions"):
        ops.mark_ready(rec, by=coordinator)
    db.session.rollback()
    rec = reload(rec)
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(case)),
        by=coordinator,
        expected_version=rec.version,
    )
    db.session.commit()
    with pytest.raises(NotAllowed):
        ops.mark_ready(rec, by=feedback_people["nap_member"])
    login(client, coordinator)
    assert post_form(app, client, url(case, "/ready")).status_code == 302
    rec = reload(rec)
    assert rec.ready_at is not None and rec.ready_by_id == coordinator.id
    assert "recommendation.ready" in actions(case.reference)
    assert len(notes_of(chair, "recommendation.ready")) == 1
    assert len(notes_of(feedback_people["nap_chair2"], "recommendation.ready")) == 1
    assert notes_of(feedback_people["north_chair"], "recommendation.ready") == []
    assert post_form(app, client, url(case, "/ready")).status_code == 302  # again: a message
    assert len(notes_of(chair, "recommendation.ready")) == 1

    chair_client = app.test_client()
    login(chair_client, chair)
    home = chair_client.get("/").get_data(as_text=True)
    section = home.split('data-testid="home-awaiting-approval"')[1].split("</section>")[0]
    assert case.reference in section and "Draft ready for approval" in section
    north = app.test_client()
    login(north, feedback_people["north_chair"])
    home = north.get("/").get_data(as_text=True)
    assert 'data-testid="home-awaiting-approval"' in home and case.reference not in home
    assert 'data-testid="home-awaiting-approval"' not in client.get("/").get_data(as_text=True)

    ops.approve(rec, by=chair, expected_version=rec.version)
    db.session.commit()
    assert ops.awaiting_approval(chair) == []


# --------------------------------------------------------------------------- amendments
def _coordinator_amends(app, client, login, rec, feedback_people, **changes):
    from tests.support.data import full_record_data as data_of

    data = data_of(answers=answers_for(rec.case), **changes)
    return ops.save_record(
        rec,
        data,
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
        reason="The trial team confirmed a slot after the meeting.",
    )


def test_a_coordinators_amendment_waits_for_the_chair(
    app, client, login, db_session, approved_recommendation, feedback_people
):
    """Does a coordinator's change to the advice become a pending amendment: the record and the
    letters keep the approved text, the chairs are told, no second amendment meanwhile; then a
    chair approves it, the record shows it, it is audited and the coordinators are told?"""
    rec = approved_recommendation
    case = rec.case
    approved_text = rec.rationale
    coordinator, chair = feedback_people["nap_coordinator"], feedback_people["chair"]
    new_text = "Revised: the lorlatinib trial has a slot at the Royal Marsden."
    _coordinator_amends(app, client, login, rec, feedback_people, rationale=new_text)
    db.session.commit()
    rec = reload(rec)
    [am] = rec.amendments
    assert am.is_pending and am.after == {"rationale": new_text}
    assert rec.rationale == approved_text and rec.is_approved
    assert "recommendation.amendment_proposed" in actions(case.reference)
    assert "recommendation.amended" not in actions(case.reference)
    assert len(notes_of(chair, "recommendation.amendment_proposed")) == 1
    assert notes_of(coordinator, "recommendation.amendment_proposed") == []
    assert letters.clinician_context(rec)["rationale"] == approved_text
    assert letters.clinician_context(rec)["latest_amendment"] is None
    with pytest.raises(Conflict, match="waiting for the chair"):
        _coordinator_amends(app, client, login, rec, feedback_people, re_present="Later.")
    db.session.rollback()
    rec = reload(rec)

    login(client, coordinator)
    page = client.get(url(case)).get_data(as_text=True)
    assert 'data-testid="pending-banner"' in page and approved_text in page
    assert 'data-testid="decide-amendment"' not in page  # the coordinator cannot decide
    assert 'data-testid="amend"' not in page  # nor amend again meanwhile
    resp = post_form(app, client, url(case, "/amendments/1"), {"action": "approve"})
    assert resp.status_code == 403, resp.headers.get("Location")
    member = app.test_client()
    login(member, feedback_people["nap_member"])
    assert (
        post_form(app, member, url(case, "/amendments/1"), {"action": "approve"}).status_code == 403
    )
    north = app.test_client()
    login(north, feedback_people["north_chair"])
    assert (
        post_form(app, north, url(case, "/amendments/1"), {"action": "approve"}).status_code == 404
    )
    assert reload(rec).amendments[0].is_pending

    chair_client = app.test_client()
    login(chair_client, chair)
    case_page = chair_client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Review the amendment" in case_page
    home = chair_client.get("/").get_data(as_text=True)
    assert "Amendment 1 to approve" in home
    page = chair_client.get(url(case)).get_data(as_text=True)
    assert 'data-testid="decide-amendment"' in page
    resp = post_form(app, chair_client, url(case, "/amendments/1"), {"action": "approve"})
    assert resp.status_code == 302
    rec = reload(rec)
    [am] = rec.amendments
    assert am.is_applied and am.decided_by_id == chair.id
    assert rec.rationale == new_text
    assert {"recommendation.amendment_approved", "recommendation.amended"} <= set(
        actions(case.reference)
    )
    assert len(notes_of(coordinator, "recommendation.amended")) == 1
    assert letters.clinician_context(rec)["latest_amendment"]["number"] == 1
    assert (
        post_form(app, chair_client, url(case, "/amendments/1"), {"action": "approve"}).status_code
        == 302
    )
    assert reload(rec).rationale == new_text  # deciding again: a message, nothing changes


def test_a_rejected_amendment_leaves_the_record_unchanged(
    app, client, login, db_session, approved_recommendation, feedback_people
):
    """Does a chair's rejection keep the approved answers, record the note, tell the proposer,
    and free the record for another amendment?"""
    rec = approved_recommendation
    case = rec.case
    before = {a.question_id: a.clinician_answer for a in rec.answers}
    question = case.questions[0]
    ops.save_answer(
        rec,
        question,
        clinician_answer="A different clinical answer.",
        family_answer="A different plain answer.",
        by=feedback_people["nap_coordinator"],
        reason="Clearer wording",
    )
    db.session.commit()
    rec = reload(rec)
    assert rec.pending_amendment is not None and "answers" in rec.pending_amendment.after
    chair_client = app.test_client()
    login(chair_client, feedback_people["chair"])
    resp = post_form(
        app,
        chair_client,
        url(case, "/amendments/1"),
        {"action": "reject", "note": "The panel's wording stands."},
    )
    assert resp.status_code == 302
    rec = reload(rec)
    [am] = rec.amendments
    assert am.status == "rejected" and am.decision_note == "The panel's wording stands."
    assert {a.question_id: a.clinician_answer for a in rec.answers} == before
    assert "recommendation.amendment_rejected" in actions(case.reference)
    assert (
        len(notes_of(feedback_people["nap_coordinator"], "recommendation.amendment_rejected")) == 1
    )
    assert case.can_amend_record(feedback_people["nap_coordinator"])


def test_a_chairs_own_amendment_and_a_follow_up_change_apply_at_once(
    db_session, approved_recommendation, feedback_people
):
    """Is a chair's amendment of the advice, and a coordinator's change to follow-up actions
    only (not clinical content), applied at once?"""
    rec = approved_recommendation
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case), re_present="In three months."),
        by=feedback_people["chair"],
        expected_version=rec.version,
        reason="Timing agreed",
    )
    db.session.commit()
    rec = reload(rec)
    assert rec.re_present == "In three months." and rec.amendments[0].is_applied
    follow_ups = full_record_data()["follow_ups"][:1]
    ops.save_record(
        rec,
        full_record_data(
            answers=answers_for(rec.case), re_present="In three months.", follow_ups=follow_ups
        ),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
        reason="One action is done elsewhere",
    )
    db.session.commit()
    rec = reload(rec)
    assert rec.amendments[1].is_applied and len(rec.follow_ups) == 1
    # The coordinator's trial change is clinical: it waits.
    ops.save_record(
        rec,
        full_record_data(
            answers=answers_for(rec.case),
            re_present="In three months.",
            follow_ups=follow_ups,
            trials=[{"trial_id": "MINIVAN", "priority": 1}],
        ),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
        reason="MINIVAN instead",
    )
    db.session.commit()
    rec = reload(rec)
    assert rec.amendments[2].is_pending
    assert [t["code"] for t in rec.trials] == ["CRISP", "NAXITAMAB-201"]
    ops.approve_amendment(rec, rec.amendments[2], by=feedback_people["nap_chair2"])
    db.session.commit()
    assert [t["code"] for t in reload(rec).trials] == ["MINIVAN"]

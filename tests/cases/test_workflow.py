"""The workflow table (``panel/cases/workflow.py``), walked: every transition, for every role,
in every state of a case.

For each attempt: allowed exactly when the transition's permission method says so and the case
is in one of its source states; on success the status, the audit entry, the timeline event and
the notifications (bell items and outbox mails, to the declared audiences, never the actor and
never with clinical text) are what the table declares; a refusal changes nothing. Then the
date rules (no discussion, approval or sending before the meeting starts, unless an urgent
virtual review was agreed), no approval before discussion, and the information request round
trip, through the operations.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from panel.cases import operations as case_ops
from panel.cases import workflow
from panel.cases.models import CaseEvent, CaseStatus, InformationRequest
from panel.core.db import utcnow
from panel.core.errors import NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from tests.support.data import discussed_at_meeting

CLINICAL = "Clinical detail: MYCN amplified relapse in the left femur"

ROLES = (
    "referrer",
    "co_referrer",
    "other_referrer",
    "member",
    "chair",
    "coordinator",
    "other_coordinator",
    "admin",
)

#: The audiences of the table's notices, spelt independently of the code, as roles.
AUDIENCE_ROLES = {
    "coordinators": {"coordinator"},
    "chairs": {"chair"},
    "reviewers": {"chair", "member"},
    "referrers": {"referrer", "co_referrer"},
    "voters": {"chair", "member"},  # the context below names these two as having voted
    "proposer": {"coordinator"},  # the context below names the coordinator as the proposer
}

#: The record each transition is walked with (an approved one unless named here).
RECORD_FOR = {
    "amendment_approved": "pending_amendment",  # one waits for a chair
    "amendment_rejected": "pending_amendment",
    "draft_ready": "draft_record",  # a draft, not yet marked ready
}


@pytest.fixture
def cast(make_user):
    return {
        "referrer": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "co_referrer": make_user(referrer_at="NEWCASTLE", name="Dr Colleague"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "member": make_user(roles=[("NAP", "member")], name="Dr Member"),
        "chair": make_user(roles=[("NAP", "chair")], name="Prof Chair"),
        "coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "other_coordinator": make_user(
            roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"
        ),
        "admin": make_user(admin=True, name="Admin"),
    }


@pytest.fixture
def walked(cast, make_case, db_session, request):
    """A submitted NAP case with a co-referrer, an open information request, an approved
    record, and the context every precondition of the table is satisfied by."""
    from panel.feedback.models import Recommendation, RecommendationStatus

    case = make_case(cast["referrer"], submit=True)
    case_ops.add_co_referrer(case, cast["co_referrer"], by=cast["referrer"])
    db_session.add(
        InformationRequest(case_id=case.id, questions=["Which line?"], requested_by_id=None)
    )
    draft = getattr(request, "param", None) == "draft_record"
    rec = Recommendation(
        case_id=case.id,
        status=RecommendationStatus.DRAFT if draft else RecommendationStatus.APPROVED,
        categories=["trial"],
        trials=[],
        approved_at=None if draft else utcnow(),
    )
    db_session.add(rec)
    if getattr(request, "param", None) == "pending_amendment":
        from panel.feedback.models import RecommendationAmendment

        db_session.flush()
        db_session.add(
            RecommendationAmendment(
                recommendation_id=rec.id,
                number=1,
                reason="The trial team answered.",
                before={"rationale": "old"},
                after={"rationale": "new"},
                by_id=cast["coordinator"].id,
                status="pending",
            )
        )
    case.urgency = "urgent"  # a virtual review may be opened
    meeting = discussed_at_meeting(db_session, case)
    db_session.expire_all()
    context = {
        "meeting": meeting,
        "meeting_label": "NAP meeting today",
        "next_meeting": meeting,
        "next_meeting_label": "NAP meeting next month",
        "published": True,
        "when": "today",
        "from_panel": "ECMC-NORTH",
        "number": 1,
        "sent": True,
        "voters": [cast["member"], cast["chair"]],
        "proposer": [cast["coordinator"]],
        "discussion": SimpleNamespace(meetings=[meeting], review_agreed=False),
    }
    return case, context


def _put_in(case, state: CaseStatus) -> None:
    case.status = state
    case.submitted_at = None if state == CaseStatus.DRAFT else (case.submitted_at or utcnow())
    sent = state in (CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED)
    case.feedback_sent_at = utcnow() if sent else None
    case.family_informed_at = None


def _last(db_session, model) -> int:
    return db_session.scalar(select(func.max(model.id))) or 0


@pytest.mark.parametrize(
    ("name", "walked"),
    [(n, RECORD_FOR.get(n)) for n in sorted(workflow.TRANSITIONS)],
    indirect=["walked"],
)
def test_every_transition_for_every_role_in_every_state(app, name, cast, walked, db_session):
    t = workflow.TRANSITIONS[name]
    case, context = walked
    actors = [("family", None)] if t.actor == "family" else [(r, cast[r]) for r in ROLES]
    role_of = {u.id: r for r, u in cast.items()}
    allowed_somewhere = False
    for state in CaseStatus:
        for role, user in actors:
            with app.test_request_context(), db_session.begin_nested() as attempt:
                _put_in(case, state)
                db_session.flush()
                permitted = bool(getattr(case, t.permission)(user))
                marks = {m: _last(db_session, m) for m in (AuditEntry, CaseEvent, Notification)}
                mails = _last(db_session, OutboxMail)
                where = f"{name} by {role} in {state.value}"
                if not (permitted and state in t.sources):
                    with pytest.raises(Refused) as refused:
                        workflow.apply(case, name, by=user, text=CLINICAL, **context)
                    assert isinstance(refused.value, NotAllowed) == (not permitted), where
                    assert case.status == state, where
                    for model, mark in marks.items():
                        assert _last(db_session, model) == mark, where
                    assert _last(db_session, OutboxMail) == mails, where
                    attempt.rollback()
                    continue
                allowed_somewhere = True
                workflow.apply(case, name, by=user, text=CLINICAL, **context)
                assert case.status == (t.target or state), where
                entries = db_session.scalars(
                    select(AuditEntry).where(AuditEntry.id > marks[AuditEntry])
                ).all()
                assert [e.action for e in entries] == [t.audit], where
                assert entries[0].actor_id == getattr(user, "id", None), where
                events = db_session.scalars(
                    select(CaseEvent).where(CaseEvent.id > marks[CaseEvent])
                ).all()
                assert [(e.kind, e.case_id, e.text) for e in events] == [
                    (t.event, case.id, CLINICAL)
                ], where
                assert events[0].audiences == set(t.event_audience), where
                assert events[0].by_id == getattr(user, "id", None), where
                expected = set()
                for notice in t.notices:
                    roles = AUDIENCE_ROLES[notice.audience] - {role}
                    if (
                        notice.audience not in ("referrers", "voters", "proposer")
                        and state == CaseStatus.DRAFT
                    ):
                        roles = set()  # the panel never hears of a draft
                    expected |= {(r, notice.kind) for r in roles}
                notes = db_session.scalars(
                    select(Notification).where(Notification.id > marks[Notification])
                ).all()
                assert {(role_of[n.user_id], n.kind) for n in notes} == expected, where
                for n in notes:
                    assert n.case_ref == case.reference and case.reference in n.text, where
                    assert n.link.startswith("/"), where
                    assert "MYCN" not in n.text and "femur" not in n.text, where
                outbox = db_session.scalars(select(OutboxMail).where(OutboxMail.id > mails)).all()
                assert sorted(m.to_addr for m in outbox) == sorted(
                    db_session.get(type(cast["admin"]), n.user_id).email for n in notes
                ), where
                for m in outbox:
                    assert "MYCN" not in m.subject + m.body and "femur" not in m.body, where
                attempt.rollback()
            db_session.expire_all()
    assert allowed_somewhere, f"{name}: nobody may ever do it"


def test_the_table_names_real_permissions_and_states():
    from panel.cases.models import Case

    for t in workflow.TRANSITIONS.values():
        assert callable(getattr(Case, t.permission, None)), t.name
        assert t.permission.startswith("can_"), t.name
        assert t.sources, t.name
        for notice in t.notices:
            assert notice.audience in AUDIENCE_ROLES, (t.name, notice.audience)
    # The hand-offs the issue names are declared (and change no state).
    for name in (
        "information_answered",
        "draft_ready",
        "amendment_submitted",
        "file_released",
        "file_deleted",
        "family_question",
    ):
        assert workflow.TRANSITIONS[name].target is None, name


# --------------------------------------------------------------------------- dates
def _meeting_in(db_session, case, hours: float):
    """A NAP meeting starting in ``hours`` (negative: started), with ``case`` scheduled on it."""
    from panel.meetings.models import AgendaItem, Attendance, Meeting, MeetingStatus

    meeting = Meeting(
        panel_id=case.panel_id,
        title="NAP",
        starts_at=utcnow() + timedelta(hours=hours),
        status=MeetingStatus.PUBLISHED,
    )
    db_session.add(meeting)
    db_session.flush()
    item = AgendaItem(meeting_id=meeting.id, case_id=case.id, position=0, outcome="Advice")
    db_session.add(item)
    case.status = CaseStatus.SCHEDULED
    db_session.commit()
    return meeting, item, Attendance


def test_no_discussion_before_the_meeting_starts(app, cast, make_case, make_user, db_session):
    """Is "mark as discussed" refused for a meeting that has not started (UK time), and allowed
    once it has?"""
    from panel.meetings import minutes

    case = make_case(cast["referrer"], submit=True)
    meeting, item, Attendance = _meeting_in(db_session, case, hours=2)
    voters = [cast["chair"], cast["member"], make_user(roles=[("NAP", "member")])]
    for u in voters:
        db_session.add(Attendance(meeting_id=meeting.id, user_id=u.id, role="member"))
    db_session.commit()
    with app.test_request_context():
        with pytest.raises(Refused, match="has not started yet"):
            minutes.record_outcome(item, by=cast["coordinator"])
        db_session.rollback()
        assert case.status == CaseStatus.SCHEDULED
        meeting.starts_at = utcnow() - timedelta(minutes=5)
        db_session.commit()
        minutes.record_outcome(item, by=cast["coordinator"])
        db_session.commit()
    assert case.status == CaseStatus.DISCUSSED
    kinds = db_session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert "discussed" in kinds


@pytest.fixture
def record_ready(cast, make_case, db_session, registry_trials_loaded):
    """A case whose record is complete (answers, category, rationale) and still a draft."""
    from panel.feedback import operations as fb
    from tests.support.data import answers_for, full_record_data

    case = make_case(cast["referrer"], submit=True)
    meeting = discussed_at_meeting(db_session, case)
    rec = fb.start_recommendation(case, by=cast["coordinator"])
    fb.save_record(
        rec,
        full_record_data(trials=[], answers=answers_for(case)),
        by=cast["coordinator"],
        expected_version=rec.version,
    )
    db_session.commit()
    return case, rec, meeting


@pytest.fixture
def registry_trials_loaded(db_session):
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    clear_cache()


def test_no_approval_or_sending_before_the_meeting_starts(app, cast, record_ready, db_session):
    """A case marked discussed at a meeting still to come (legacy data): approval and sending
    are refused with the meeting's date; once the meeting has started both go through."""
    from panel.feedback import operations as fb
    from panel.feedback import sending

    case, rec, meeting = record_ready
    meeting.starts_at = utcnow() + timedelta(days=2)
    db_session.commit()
    with app.test_request_context():
        with pytest.raises(Refused, match="has not started yet"):
            fb.approve(rec, by=cast["chair"], expected_version=rec.version)
        db_session.rollback()
        assert not rec.is_approved
        meeting.starts_at = utcnow() - timedelta(hours=1)
        db_session.commit()
        fb.approve(rec, by=cast["chair"], expected_version=rec.version)
        db_session.commit()
        meeting.starts_at = utcnow() + timedelta(days=2)  # sending checks again
        db_session.commit()
        with pytest.raises(Refused, match="has not started yet"):
            sending.send_feedback(rec, by=cast["coordinator"])
        db_session.rollback()
        assert case.status == CaseStatus.RECOMMENDATION
        meeting.starts_at = utcnow() - timedelta(hours=1)
        db_session.commit()
        sending.send_feedback(rec, by=cast["coordinator"])
        db_session.commit()
    assert case.status == CaseStatus.FEEDBACK_SENT


def test_no_approval_before_discussion_unless_an_urgent_review_was_agreed(
    app, cast, record_ready, db_session
):
    """Without a discussion at a meeting (the item not marked discussed) approval is refused;
    an agreed urgent virtual review counts as the discussion."""
    from panel.feedback import operations as fb
    from panel.meetings.models import AgendaItem, ItemOutcome, VirtualReview, VirtualReviewStatus

    case, rec, meeting = record_ready
    item = db_session.scalar(select(AgendaItem).where(AgendaItem.case_id == case.id))
    item.outcome_status = ItemOutcome.PENDING
    db_session.commit()
    with app.test_request_context():
        with pytest.raises(Refused, match="has not been discussed"):
            fb.approve(rec, by=cast["chair"], expected_version=rec.version)
        db_session.rollback()
        meeting.starts_at = utcnow() + timedelta(days=2)
        item.outcome_status = ItemOutcome.DISCUSSED
        db_session.add(
            VirtualReview(
                case_id=case.id,
                proposal="Agreed",
                opened_at=utcnow(),
                status=VirtualReviewStatus.AGREED,
            )
        )
        db_session.commit()
        fb.approve(rec, by=cast["chair"], expected_version=rec.version)  # urgent: allowed
        db_session.commit()
    assert rec.is_approved
    kinds = db_session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert "approved" in kinds


# --------------------------------------------------------------------------- information
def test_the_referrers_reply_is_kept_and_reaches_the_coordinator(app, cast, make_case, db_session):
    """The coordinator's questions reach the referrers (bell, event with the questions); the
    reply is kept on the request, written to the timeline and reaches the coordinator (bell
    and mail without its text); resubmission closes the request."""
    case = make_case(cast["referrer"], submit=True)
    with app.test_request_context():
        case_ops.request_information(case, by=cast["coordinator"], questions=["Which line?"])
        db_session.commit()
        notes = db_session.scalars(
            select(Notification).where(Notification.kind == "case.info_requested")
        ).all()
        assert {n.user_id for n in notes} == {cast["referrer"].id}
        assert notes[0].link == f"/cases/{case.reference}#information-request"
        case_ops.respond_to_information_request(
            case, "Second line, after relapse", by=cast["referrer"]
        )
        db_session.commit()
    request = case.information_requests[-1]
    assert request.response == "Second line, after relapse"
    events = db_session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    asked = next(e for e in events if e.kind == "information_requested")
    answered = next(e for e in events if e.kind == "information_answered")
    assert asked.text == "Which line?" and asked.audiences == {"referrer", "coordinator"}
    assert answered.text == "Second line, after relapse"
    assert answered.audiences == {"referrer", "coordinator"}
    note = db_session.scalar(
        select(Notification).where(
            Notification.kind == "case.info_answered",
            Notification.user_id == cast["coordinator"].id,
        )
    )
    assert note is not None and note.case_ref == case.reference
    assert "relapse" not in note.text
    mail = db_session.scalar(
        select(OutboxMail).where(OutboxMail.to_addr == cast["coordinator"].email)
    )
    assert mail is not None and "relapse" not in mail.body
    with app.test_request_context():
        case_ops.submit_case(case, by=cast["referrer"])
        db_session.commit()
    assert request.answered_at is not None and case.status == CaseStatus.SUBMITTED
    kinds = db_session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert kinds.count("information_answered") == 1 and kinds[-1] == "resubmitted"


def test_resubmission_without_a_reply_still_records_the_answer(app, cast, make_case, db_session):
    case = make_case(cast["referrer"], submit=True)
    with app.test_request_context():
        case_ops.request_information(case, by=cast["coordinator"], questions=["Which line?"])
        case_ops.submit_case(case, by=cast["referrer"])
        db_session.commit()
    kinds = db_session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert kinds[-2:] == ["information_answered", "resubmitted"]
    told = db_session.scalars(
        select(Notification.kind).where(Notification.user_id == cast["coordinator"].id)
    ).all()
    assert told == ["case.resubmitted"]


def test_submission_tells_the_panels_coordinators(app, cast, make_case, db_session):
    """Submission: the panel's coordinators (not another panel's) get a bell item and a mail
    pointing at the triage queue, with the reference and no clinical text."""
    case = make_case(cast["referrer"])
    with app.test_request_context():
        case_ops.submit_case(case, by=cast["referrer"])
        db_session.commit()
    notes = db_session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind, n.link) for n in notes] == [
        (cast["coordinator"].id, "case.submitted", "/triage")
    ]
    mails = db_session.scalars(select(OutboxMail)).all()
    assert [m.to_addr for m in mails] == [cast["coordinator"].email]
    assert case.reference in mails[0].subject


def test_draft_ready_tells_the_chairs_through_the_page(
    app, client, login, cast, record_ready, db_session
):
    """The coordinator's "Mark ready for the chair's approval" button: the panel's chairs get a bell item
    and a mail linking to the recommendation editor; a member may not press it."""
    from tests.support.web import post_form

    case, rec, _ = record_ready
    member = app.test_client()
    login(member, cast["member"])
    assert (
        post_form(app, member, f"/cases/{case.reference}/recommendation/ready", {}).status_code
        == 403
    )
    login(client, cast["coordinator"])
    page = client.get(f"/cases/{case.reference}/recommendation").get_data(as_text=True)
    assert 'data-testid="mark-ready"' in page
    resp = post_form(app, client, f"/cases/{case.reference}/recommendation/ready", {})
    assert resp.status_code == 302
    notes = db_session.scalars(
        select(Notification).where(Notification.kind == "recommendation.ready")
    ).all()
    assert [(n.user_id, n.link) for n in notes] == [
        (cast["chair"].id, f"/cases/{case.reference}/recommendation")
    ]
    kinds = db_session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert "draft_ready" in kinds


def test_nothing_but_the_workflow_sets_a_case_status():
    """Every assignment to a case's ``status`` under panel/ is in cases/workflow.py (other
    objects' statuses, meetings, files, records, are theirs)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "panel"
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "workflow.py" and path.parent.name == "cases":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"\b(case|c|item\.case|rec\.case|review\.case)\.status\s*=(?!=)", code):
                found.append(f"{path.relative_to(root.parent)}:{n}: {line.strip()}")
    assert not found, found


def test_the_documented_table_is_the_table():
    """docs/meetings-and-feedback.md prints the table the code runs (regenerate it with
    ``workflow.markdown_table()`` when a row changes)."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "meetings-and-feedback.md").read_text()
    assert workflow.markdown_table() in doc

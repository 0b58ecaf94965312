"""The screening log's operations on a real case (SQLite and PostgreSQL): who may record and
read, in which states; the audit entry, the timeline entry and who is told; versions and
withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.cases.models import CaseEvent, CaseStatus
from panel.core.errors import Conflict, IdentifiersFound, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.core.uktime import uk_today
from panel.outcomes import operations as ops
from panel.outcomes.models import TrialReferral, TrialReferralStep
from panel.outcomes.screening import screening_log
from tests.support.screening import TRIALS, screening_world

RECORDERS = ("referrer", "co_referrer", "nap_coordinator")
READERS_ONLY = ("nap_member", "chair")
OUTSIDERS = ("other_referrer", "north_coordinator", "admin", "guest")


@pytest.fixture
def world(db_session, make_user, make_case):
    return screening_world(db_session, make_user, make_case)


@pytest.fixture
def unsent(db_session, make_user, make_case):
    return screening_world(db_session, make_user, make_case, sent=False)


def _referrals(db_session, case):
    return list(db_session.scalars(select(TrialReferral).where(TrialReferral.case_id == case.id)))


def _notified(db_session, case):
    return sorted(
        n.user_id
        for n in db_session.scalars(
            select(Notification).where(Notification.case_ref == case.reference)
        )
        if n.kind.startswith("trial_referral.")
    )


# --------------------------------------------------------------------------- who
@pytest.mark.parametrize("who", RECORDERS)
def test_recorders_record_a_step(world, db_session, who):
    """Do the case's referrers (owner, co-referrer) and the panel's coordinator record a step,
    the referral row made at the first one?"""
    case, user = world["case"], world["users"][who]
    assert case.can_record_trial_referral(user) and case.can_view_trial_referrals(user)
    assert _referrals(db_session, case) == []
    referral = ops.record_step(case, "CRISP", "referred", uk_today(), by=user, expected_version=0)
    db_session.commit()
    assert (referral.stage, referral.version, len(referral.steps)) == ("referred", 1, 1)
    step = referral.steps[0]
    assert (step.step, step.occurred_on, step.recorded_by_id) == ("referred", uk_today(), user.id)
    assert [r.trial_code for r in _referrals(db_session, case)] == ["CRISP"]


@pytest.mark.parametrize("who", READERS_ONLY + OUTSIDERS)
def test_everyone_else_is_refused(world, db_session, who):
    """Are the panel's members and chairs (who read the log), a referrer of another case, a
    coordinator of another panel, an admin and an invited expert refused (403), with nothing
    saved?"""
    case, user = world["case"], world["users"][who]
    assert not case.can_record_trial_referral(user)
    with pytest.raises(NotAllowed):
        ops.record_step(case, "CRISP", "referred", uk_today(), by=user)
    db_session.rollback()
    assert _referrals(db_session, case) == []


@pytest.mark.parametrize(
    ("who", "reads"),
    [(w, True) for w in RECORDERS + READERS_ONLY] + [(w, False) for w in OUTSIDERS],
)
def test_who_reads_the_log(world, who, reads):
    """Do the referrers and the panel's people read the log, and nobody else (guests and
    admins included)?"""
    case, user = world["case"], world["users"][who]
    assert case.can_view_trial_referrals(user) is reads
    rows = screening_log(case, user)
    assert [r.code for r in rows] == (list(TRIALS) if reads else [])
    can_record = who in RECORDERS
    assert all(r.can_record is can_record for r in rows)


def test_before_the_letters_only_the_coordinator_records(unsent, db_session):
    """Before the letters are sent, the coordinator records (the panel reads), while the
    referrers neither read nor record (they learn the suggestions from the letters)."""
    case, u = unsent["case"], unsent["users"]
    assert case.status == CaseStatus.RECOMMENDATION
    assert not case.can_view_trial_referrals(u["referrer"])
    assert case.can_view_trial_referrals(u["nap_member"])
    with pytest.raises(Conflict, match="letters"):
        ops.record_step(case, "CRISP", "referred", uk_today(), by=u["referrer"])
    db_session.rollback()
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["nap_coordinator"])
    db_session.commit()
    # The referrers are not told yet, and the timeline entry is the panel's only.
    assert _notified(db_session, case) == []
    event = db_session.scalar(select(CaseEvent).where(CaseEvent.kind == "trial_referral_step"))
    assert event.audiences == {"panel", "coordinator"}


def test_no_log_before_approval(world, db_session):
    """Is a draft record's case refused (409), and the log empty for everyone?"""
    case, u = world["case"], world["users"]
    world["rec"].status = "draft"
    db_session.flush()
    assert not case.can_view_trial_referrals(u["nap_coordinator"])
    assert screening_log(case, u["nap_coordinator"]) == []
    with pytest.raises(Conflict, match="approved"):
        ops.record_step(case, "CRISP", "referred", uk_today(), by=u["nap_coordinator"])


def test_a_withdrawn_case_is_refused(world, db_session):
    case, u = world["case"], world["users"]
    case.status = CaseStatus.WITHDRAWN
    db_session.flush()
    assert not case.can_record_trial_referral(u["nap_coordinator"])
    with pytest.raises(Conflict, match="withdrawn"):
        ops.record_step(case, "CRISP", "referred", uk_today(), by=u["nap_coordinator"])


def test_only_trials_of_the_approved_record(world, db_session):
    """Is a trial the record does not suggest (even a registry trial) refused?"""
    case, coordinator = world["case"], world["users"]["nap_coordinator"]
    for code in ("MINIVAN", "", "crisp"):
        with pytest.raises(Refused) as refused:
            ops.record_step(case, code, "referred", uk_today(), by=coordinator)
        assert refused.value.field == "trial"
    db_session.rollback()
    assert _referrals(db_session, case) == []


# --------------------------------------------------------------------------- the road
def test_the_whole_road_and_the_final_outcome(world, db_session):
    """Referred, screened, screen-failed with a reason: then nothing more (409)."""
    case, coordinator = world["case"], world["users"]["nap_coordinator"]
    today = uk_today()
    ops.record_step(case, "CRISP", "referred", today, by=coordinator, expected_version=0)
    ops.record_step(case, "CRISP", "screened", today, by=coordinator, expected_version=1)
    referral = ops.record_step(
        case,
        "CRISP",
        "screen_failed",
        today,
        "other",
        "Needed a washout period that was too long",
        by=coordinator,
        expected_version=2,
    )
    db_session.commit()
    assert referral.stage == "screen_failed" and referral.is_finished
    assert [s.step for s in referral.steps] == ["referred", "screened", "screen_failed"]
    assert referral.steps[-1].reason == "other"
    with pytest.raises(Conflict, match="withdraw"):
        ops.record_step(case, "CRISP", "enrolled", today, by=coordinator)
    db_session.rollback()
    with pytest.raises(Refused, match="cannot follow"):
        ops.record_step(case, "NAXITAMAB-201", "enrolled", today, by=coordinator)


def test_dates_of_the_log(world, db_session):
    """Is a day in the future or before the approval day refused?"""
    case, coordinator = world["case"], world["users"]["nap_coordinator"]
    for day in (uk_today() + timedelta(days=1), uk_today() - timedelta(days=3)):
        with pytest.raises(Refused) as refused:
            ops.record_step(case, "CRISP", "referred", day, by=coordinator)
        assert refused.value.field == "on"
    db_session.rollback()
    assert _referrals(db_session, case) == []


def test_a_note_with_an_identifier_is_refused(world, db_session):
    case, coordinator = world["case"], world["users"]["nap_coordinator"]
    with pytest.raises(IdentifiersFound):
        ops.record_step(
            case,
            "CRISP",
            "referred",
            uk_today(),
            note="Referred, NHS number 943 476 5919.",
            by=coordinator,
        )
    db_session.rollback()
    assert _referrals(db_session, case) == []


def test_a_stale_version_is_a_conflict(world, db_session):
    """Two people looking at the same log: the second step sent from the old version is
    refused (409), whether or not the row existed when they looked."""
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["referrer"], expected_version=0)
    db_session.commit()
    with pytest.raises(Conflict):
        ops.record_step(
            case, "CRISP", "declined", uk_today(), by=u["nap_coordinator"], expected_version=0
        )
    db_session.rollback()
    referral = _referrals(db_session, case)[0]
    assert (referral.stage, len(referral.steps)) == ("referred", 1)


# --------------------------------------------------------------------------- effects
def test_audit_timeline_and_notification_of_a_coordinators_step(world, db_session):
    """A coordinator's step: an audit entry with no free text, a timeline entry for everyone on
    the case, and the referrers (not the coordinator) told, with no clinical text."""
    case, u = world["case"], world["users"]
    mails_before = db_session.query(OutboxMail).count()
    ops.record_step(
        case,
        "NAXITAMAB-201",
        "not_pursued",
        uk_today(),
        "other",
        "Chose local radiotherapy first",
        by=u["nap_coordinator"],
    )
    db_session.commit()
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "trial_referral.step_recorded")
    )
    assert (entry.object_type, entry.object_id, entry.actor_id, entry.panel_id) == (
        "trial_referral",
        case.reference,
        u["nap_coordinator"].id,
        case.panel_id,
    )
    assert entry.details == {
        "trial": "NAXITAMAB-201",
        "step": "not_pursued",
        "on": uk_today().isoformat(),
        "reason": "other",
        "note": True,
        "stage": ["suggested", "not_pursued"],
    }
    assert "radiotherapy" not in str(entry.details)
    event = db_session.scalar(select(CaseEvent).where(CaseEvent.kind == "trial_referral_step"))
    assert event.audiences == {"referrer", "panel", "coordinator"}
    assert event.by_id == u["nap_coordinator"].id
    assert event.text.startswith("NAXITAMAB-201: Not pursued (Other (say why))")
    assert "radiotherapy" not in event.text
    assert _notified(db_session, case) == sorted([u["referrer"].id, u["co_referrer"].id])
    note = db_session.scalar(select(Notification).where(Notification.user_id == u["referrer"].id))
    assert note.link == f"/cases/{case.reference}#screening-log"
    assert "NAXITAMAB" not in note.text and "pursued" not in note.text
    assert db_session.query(OutboxMail).count() == mails_before + 2


def test_a_referrers_step_tells_the_coordinators(world, db_session, make_user):
    case, u = world["case"], world["users"]
    second = make_user(roles=[("NAP", "coordinator")])
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["co_referrer"])
    db_session.commit()
    assert _notified(db_session, case) == sorted([u["nap_coordinator"].id, second.id])


# --------------------------------------------------------------------------- withdrawal
def test_the_recorder_withdraws_the_last_step(world, db_session):
    """A mistaken last step is withdrawn by who recorded it: the stage goes back, the step is
    gone, and the withdrawal is audited (with the step) and on the timeline."""
    case, referrer = world["case"], world["users"]["referrer"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=referrer)
    ops.record_step(case, "CRISP", "declined", uk_today(), by=referrer)
    db_session.commit()
    referral = ops.withdraw_last_step(case, "CRISP", by=referrer, expected_version=2)
    db_session.commit()
    assert (referral.stage, [s.step for s in referral.steps]) == ("referred", ["referred"])
    assert db_session.query(TrialReferralStep).count() == 1
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "trial_referral.step_withdrawn")
    )
    assert entry.details["step"] == "declined" and entry.details["stage"] == [
        "declined",
        "referred",
    ]
    assert entry.details["recorded_by"] == referrer.id
    assert db_session.scalar(
        select(CaseEvent).where(CaseEvent.kind == "trial_referral_step_withdrawn")
    )
    told = db_session.scalars(
        select(Notification.user_id).where(Notification.kind == "trial_referral.step_withdrawn")
    ).all()
    assert told == [world["users"]["nap_coordinator"].id]
    # The only step withdrawn too: back to suggested, the row stays.
    referral = ops.withdraw_last_step(case, "CRISP", by=referrer)
    db_session.commit()
    assert (referral.stage, referral.steps) == ("suggested", [])
    with pytest.raises(Refused):
        ops.withdraw_last_step(case, "CRISP", by=referrer)


def test_a_coordinator_withdraws_anyones_last_step(world, db_session):
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["referrer"])
    db_session.commit()
    referral = db_session.scalar(select(TrialReferral))
    assert referral.can_withdraw_last_step(u["nap_coordinator"])
    ops.withdraw_last_step(case, "CRISP", by=u["nap_coordinator"])
    db_session.commit()


@pytest.mark.parametrize("who", ["co_referrer", "nap_member", "chair", "north_coordinator"])
def test_others_may_not_withdraw(world, db_session, who):
    """Is the last step of a referrer refused to the other referrer (not theirs), to members,
    chairs and another panel's coordinator (403)?"""
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["referrer"])
    db_session.commit()
    with pytest.raises(NotAllowed):
        ops.withdraw_last_step(case, "CRISP", by=u[who])
    db_session.rollback()
    assert db_session.scalar(select(TrialReferral)).stage == "referred"


def test_withdrawing_from_an_old_version_is_a_conflict(world, db_session):
    case, u = world["case"], world["users"]
    ops.record_step(case, "CRISP", "referred", uk_today(), by=u["nap_coordinator"])
    ops.record_step(case, "CRISP", "screened", uk_today(), by=u["nap_coordinator"])
    db_session.commit()
    with pytest.raises(Conflict):
        ops.withdraw_last_step(case, "CRISP", by=u["nap_coordinator"], expected_version=1)


def test_a_trial_taken_out_by_an_amendment_keeps_its_log_read_only(world, db_session):
    """When a chair's amendment takes a trial out of the record, its log is still shown (marked
    no longer suggested) but no step can be added to it."""
    from panel.feedback import operations as feedback_ops
    from tests.support.data import answers_for, full_record_data

    case, u = world["case"], world["users"]
    ops.record_step(case, "NAXITAMAB-201", "referred", uk_today(), by=u["nap_coordinator"])
    db_session.commit()
    rec = world["rec"]
    feedback_ops.save_record(
        rec,
        full_record_data(answers=answers_for(case), trials=[{"trial_id": "CRISP", "priority": 1}]),
        by=u["chair"],
        expected_version=rec.version,
        reason="The trial team said there is no slot.",
    )
    db_session.commit()
    rows = {r.code: r for r in screening_log(case, u["nap_coordinator"])}
    assert list(rows) == ["CRISP", "NAXITAMAB-201"]
    assert rows["CRISP"].suggested and rows["CRISP"].can_record
    gone = rows["NAXITAMAB-201"]
    assert (gone.suggested, gone.can_record, gone.stage) == (False, False, "referred")
    assert gone.can_withdraw  # a mistake can still be taken back
    with pytest.raises(Refused) as refused:
        ops.record_step(case, "NAXITAMAB-201", "screened", uk_today(), by=u["nap_coordinator"])
    assert refused.value.field == "trial"

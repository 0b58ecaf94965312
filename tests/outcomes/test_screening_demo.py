"""The demo's sent case shows a screening log (``make run``): one suggested trial, referred by
the referrer and screened by the coordinator, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select


def test_the_demo_sent_case_has_a_log(app, db_session):
    from panel.demo import load_demo_data
    from panel.outcomes.models import TrialReferral, TrialReferralStep

    assert load_demo_data()
    referrals = db_session.scalars(select(TrialReferral)).all()
    assert len(referrals) == 1
    referral = referrals[0]
    assert referral.stage == "screened"
    assert [s.step for s in referral.steps] == ["referred", "screened"]
    case = referral.case
    assert case.status.value == "feedback_sent" and referral.trial_code in {
        t["code"] for t in case.recommendation.trials
    }
    who = [s.recorded_by for s in referral.steps]
    assert case.is_referrer(who[0]) and case.is_coordinated_by(who[1])
    assert load_demo_data() == []  # loads once
    assert db_session.scalar(select(func.count()).select_from(TrialReferralStep)) == 2

"""Synthetic volume (`demo-data --cases N`): valid referrals, every status, consistent rows."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from panel.caseformat import schema
from panel.cases.models import Case, CaseQuestion, CaseStatus
from panel.core import audit
from panel.core.db import db
from panel.demo import load_demo_data
from panel.feedback.models import QuestionAnswer, Recommendation, RecommendationStatus
from panel.volume import add_synthetic_cases


def test_synthetic_cases_are_valid_varied_and_consistent(app, db_session):
    """Do N synthetic cases cover the road of a case with valid documents and matching rows?"""
    load_demo_data()
    before = db.session.scalar(select(func.count()).select_from(Case))
    counts = add_synthetic_cases(400, seed=7)
    db_session.commit()
    assert counts["cases"] == 400
    cases = db.session.scalars(select(Case).order_by(Case.id).offset(before)).all()
    assert len(cases) == 400
    statuses = Counter(c.status for c in cases)
    assert {
        CaseStatus.SUBMITTED,
        CaseStatus.SCHEDULED,
        CaseStatus.FEEDBACK_SENT,
        CaseStatus.CLOSED,
    } <= set(statuses)
    assert len({c.reference for c in cases}) == 400
    assert len({c.panel_id for c in cases}) >= 2
    for case in cases[:60]:
        doc = {"schema": "panel-case/1", **case.data}
        assert schema.validate(doc) == [], case.reference
        if case.status not in (CaseStatus.DRAFT,):
            assert case.submitted_at is not None
        if case.status in (CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED):
            assert case.submitted_at <= case.feedback_sent_at
    approved = db.session.scalars(
        select(Recommendation).where(Recommendation.status == RecommendationStatus.APPROVED)
    ).all()
    assert approved
    for rec in approved[:20]:
        # An approved record answers every question its case had when it was approved (a
        # family's follow-up question, asked later, waits for the panel: issue 14).
        n_questions = db.session.scalar(
            select(func.count())
            .select_from(CaseQuestion)
            .where(CaseQuestion.case_id == rec.case_id, CaseQuestion.created_at <= rec.approved_at)
        )
        n_answers = db.session.scalar(
            select(func.count())
            .select_from(QuestionAnswer)
            .where(QuestionAnswer.recommendation_id == rec.id)
        )
        assert n_questions == n_answers > 0
    # The dashboard's narrow copy of the suggested trials matches the records' lists.
    from panel.feedback.models import RecommendationTrial, trial_rows

    expected = sum(len(trial_rows(r.trials)) for r in db.session.scalars(select(Recommendation)))
    assert db.session.scalar(select(func.count()).select_from(RecommendationTrial)) == expected > 0
    # A second run adds more without reusing a reference.
    add_synthetic_cases(50, seed=8)
    db_session.commit()
    refs = db.session.scalars(select(Case.reference)).all()
    assert len(refs) == len(set(refs))
    checked, problem = audit.verify_chain()
    assert problem is None and checked > 0

"""The demo data shows every stage (issue 14): an answered information request, a case whose
feedback was sent with its letters stored, and a family follow-up question waiting."""

from __future__ import annotations

from sqlalchemy import func, select


def test_demo_has_every_stage_once(app, db_session):
    from panel.cases.models import Case, CaseStatus, InformationRequest
    from panel.demo import load_demo_data
    from panel.feedback import documents
    from panel.feedback.models import SentDocument

    assert load_demo_data()
    answered = db_session.scalars(
        select(InformationRequest).where(InformationRequest.response.is_not(None))
    ).all()
    assert answered
    sent = db_session.scalars(select(Case).where(Case.status == CaseStatus.FEEDBACK_SENT)).all()
    assert len(sent) >= 2
    from panel.outcomes.checks import checks_for

    for case in sent:
        # The follow-up checks made at sending: due 3, 6 and 12 months on (none due yet).
        assert [(c.months, c.is_due()) for c in checks_for(case)] == [
            (3, False),
            (6, False),
            (12, False),
        ]
        kinds = {(d.kind, d.format) for d in documents.documents_for(case)}
        assert kinds == {
            ("clinician_letter", "html"),
            ("clinician_letter", "pdf"),
            ("family_letter", "html"),
            ("family_letter", "pdf"),
        }
    waiting = [
        q
        for case in sent
        for q, state in (
            (q, documents.question_states(case, case.recommendation).get(q.id))
            for q in case.questions
        )
        if q.source == "family" and state and not state["answered"]
    ]
    assert len(waiting) == 1
    # Issue 20: cases of three other tumour types at an ECMC panel, stored as panel-case/2 with
    # the sarcoma module where it applies.
    from panel.accounts.models import Panel

    ecmc = db_session.scalars(
        select(Case).join(Panel, Case.panel_id == Panel.id).where(Panel.code == "ECMC-NORTH")
    ).all()
    others = {c.tumour["morphology"]: c for c in ecmc if c.iccc and c.iccc.subgroup != "IVa"}
    assert set(others) >= {"8920/3", "9260/3", "9440/3"}
    assert {c.iccc.group for c in others.values()} >= {"III", "VIII", "IX"}
    assert "sarcoma" in others["8920/3"].data["modules"]
    assert all(c.status == CaseStatus.SUBMITTED for c in others.values())
    count = db_session.scalar(select(func.count()).select_from(SentDocument))
    assert load_demo_data() == []  # loads once
    assert db_session.scalar(select(func.count()).select_from(SentDocument)) == count

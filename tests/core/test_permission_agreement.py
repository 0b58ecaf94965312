"""Do the view, the operation and the page agree with each case rule (issue 13)?

Generated from two tables: ``PROBES`` (one row per rule ``Case.can_x``: the route that does it,
the operation behind it, and the control that offers it on a page) and ``STATES`` (a case built
with the models and operations in each state of its road). For every rule, role and state:

- the rule: ``case.can_x(user)``;
- the operation, inside a savepoint that is rolled back: did it act (no refusal, and an audit
  entry written)?
- the view: a POST by that person: did it act (not 403/404, and an audit entry written)? A
  refusal because of the moment is a message on the page; one because of the person is 403/404;
- the page: does the case page (or, for the record's rules, the record page) show the control?

The four answers must be equal. A rule whose view, operation or template drifts from the method
fails here. A few rules are about the person only (``can_approve``: a chair of the panel;
``can_manage_family_codes``: a referrer of the case) while the operation also waits for the
moment (a draft record; feedback sent) and says so in a message: their probes give that
``moment``, and then rule-and-moment is what the other three must equal.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from panel.accounts.models import Panel
from panel.cases import operations as case_ops
from panel.cases.models import Case, CaseStatus
from panel.core.errors import Refused
from panel.core.models import AuditEntry
from panel.feedback import family, sending
from panel.feedback import operations as feedback_ops
from panel.meetings import comments as comment_ops
from panel.meetings import review as review_ops
from panel.meetings import triage
from panel.meetings.models import Comment, CommentVisibility
from panel.outcomes import operations as screening_ops
from tests.support.data import answers_for, discussed_at_meeting, full_record_data, pdf_bytes
from tests.support.web import csrf_token

ROLES = (
    "referrer",
    "other_referrer",
    "coordinator",
    "north_coordinator",
    "member",
    "chair",
    "admin",
)
STATES = (
    "draft",
    "submitted",
    "info_requested",
    "scheduled",
    "discussed",
    "draft_record",  # a complete draft, not yet marked ready
    "approved",
    "amendment_pending",  # approved; a coordinator's amendment waits for a chair
    "feedback_sent",
)


@dataclass(frozen=True)
class Probe:
    rule: str
    path: str  # under /cases/<ref>
    #: The POST: "{north}", "{comment}" and "{version}" are filled in; a callable value
    #: ``(ctx) -> value`` is called (a ``(stream, name)`` file makes it a multipart upload).
    form: dict[str, Any]
    operation: Callable[[Any], object]  # (ctx) -> None; ctx has .case, .user, .north
    #: Where the control is offered: (page under /cases/<ref>, "" = the case page; what the
    #: page shows then, "{ref}" and "{comment}" filled in). Shown = shown on any of them.
    shown: tuple[tuple[str, str], ...]
    #: For a rule about the person only: the moment the operation also waits for (else None).
    moment: Callable[[Any], bool] | None = None


def _shared_comment(case: Case) -> Comment | None:
    """The panel's shared comment that ``build`` adds to every submitted case."""
    from panel.core.db import db

    return db.session.scalar(
        select(Comment).where(
            Comment.case_id == case.id,
            Comment.parent_id.is_(None),
            Comment.visibility == CommentVisibility.SHARED,
        )
    )


def _reply(ctx):
    return comment_ops.add_comment(
        ctx.case,
        body="The MYCN report is attached.",
        visibility="shared",
        by=ctx.user,
        parent=_shared_comment(ctx.case),
    )


def _upload(ctx):
    from panel.imaging import ingest

    received = ingest.receive(
        ctx.case,
        ctx.user,
        "Histology report",
        [("report.pdf", io.BytesIO(pdf_bytes("Histology report")))],
    )
    ingest.discard(received)  # rows only (rolled back, so no job runs); nothing kept on disk
    return received


def _today() -> str:
    from panel.core.uktime import uk_today

    return uk_today().isoformat()


def _draft_record(ctx) -> bool:
    """A draft to approve, whose suggested trials all have their words for families (the one
    rule: ``Recommendation.trials_without_plain_words``)."""
    rec = feedback_ops.recommendation_for(ctx.case)
    return rec is not None and not rec.is_approved and not rec.trials_without_plain_words()


def _approve(ctx):
    rec = feedback_ops.recommendation_for(ctx.case)
    if rec is None:  # nothing to approve (the view answers 404)
        raise Refused("No recommendation yet.")
    return feedback_ops.approve(rec, by=ctx.user, expected_version=rec.version)


def _send(ctx):
    rec = feedback_ops.recommendation_for(ctx.case)
    if rec is None:  # nothing to send (the view answers 404)
        raise Refused("No recommendation yet.")
    return sending.send_feedback(rec, by=ctx.user)


def _rec(ctx):
    rec = feedback_ops.recommendation_for(ctx.case)
    if rec is None:  # no record (the view answers 404)
        raise Refused("No recommendation yet.")
    return rec


def _approve_amendment(ctx):
    rec = _rec(ctx)
    if rec.pending_amendment is None:  # nothing waits (the view answers 404)
        raise Refused("No amendment waits.")
    return feedback_ops.approve_amendment(rec, rec.pending_amendment, by=ctx.user)


#: A complete follow-up outcome form (``can_answer_outcome_check``).
OUTCOME_ANSWERS = {
    "disease_status": "stable",
    "response": "SD",
    "advice_followed": "no",
    "advice_note": "The family chose treatment closer to home.",
}

PROBES = [
    Probe(
        "can_submit",
        "/submit",
        {},
        lambda c: case_ops.submit_case(c.case, by=c.user),
        (("/edit", 'data-testid="save-submit"'),),
    ),
    Probe(
        "can_withdraw",
        "/withdraw",
        {},
        lambda c: case_ops.withdraw_case(c.case, by=c.user),
        (("", 'action="/cases/{ref}/withdraw"'),),
    ),
    Probe(
        "can_request_information",
        "/request-information",
        {"questions": "Which MYCN result?"},
        lambda c: case_ops.request_information(c.case, by=c.user, questions=["Which MYCN result?"]),
        (("", 'action="/cases/{ref}/request-information"'),),
    ),
    Probe(
        "can_set_urgency",
        "/urgency",
        {"urgent": "0"},
        lambda c: triage.set_urgency(c.case, False, by=c.user),
        (("", 'data-testid="urgency-form"'), ("/edit", 'name="urgency"')),
    ),
    Probe(
        "can_refer_on",
        "/refer-on",
        {"panel": "{north}", "reason": "An early-phase trial"},
        lambda c: triage.refer_on(c.case, c.north, reason="An early-phase trial", by=c.user),
        (("", 'data-testid="refer-on-link"'),),
    ),
    Probe(
        "can_open_review",
        "/virtual-review",
        {"proposal": "Offer the ALK inhibitor trial."},
        lambda c: review_ops.open_review(
            c.case, proposal="Offer the ALK inhibitor trial.", by=c.user
        ),
        (("", 'data-testid="open-review-form"'),),
    ),
    Probe(
        "can_start_recommendation",
        "/recommendation/start",
        {},
        lambda c: feedback_ops.start_recommendation(c.case, by=c.user),
        (
            ("", 'data-testid="start-record"'),
            ("/recommendation", 'action="/cases/{ref}/recommendation/start"'),
        ),
    ),
    Probe(
        "can_mark_record_ready",
        "/recommendation/ready",
        {},
        lambda c: feedback_ops.mark_ready(_rec(c), by=c.user),
        (
            ("/recommendation", 'data-testid="mark-ready"'),
            ("/recommendation", 'data-testid="save-ready"'),
        ),
    ),
    Probe(
        "can_approve_amendment",
        "/recommendation/amendments/1",
        {"action": "approve"},
        _approve_amendment,
        (("/recommendation", 'data-testid="decide-amendment"'),),
    ),
    Probe(
        "can_record_study_choice",
        "/study-opt-out",
        {"opted_out": "1"},
        lambda c: feedback_ops.set_study_opt_out(c.case, True, by=c.user),
        (
            ("", 'action="/cases/{ref}/study-opt-out"'),
            ("/recommendation", 'action="/cases/{ref}/study-opt-out"'),
        ),
    ),
    Probe(
        "can_send_feedback",
        "/send-feedback",
        {},
        _send,
        (("", 'action="/cases/{ref}/send-feedback"'),),
    ),
    Probe(
        "can_mark_family_informed",
        "/family-informed",
        {},
        lambda c: sending.mark_family_informed(c.case, by=c.user),
        (("", 'action="/cases/{ref}/family-informed"'),),
    ),
    Probe(
        "can_post_comment",
        "/comments",
        {"body": "The MYCN report is attached.", "parent_id": "{comment}"},
        _reply,
        (("", 'id="reply-{comment}"'),),
    ),
    Probe(
        "can_upload",
        "/images/upload",
        {
            "label": "Histology report",
            "files": lambda c: (io.BytesIO(pdf_bytes("Histology report")), "report.pdf"),
        },
        _upload,
        (("", "data-uploader"), ("/images", "data-uploader")),
    ),
    Probe(
        "can_approve",
        "/recommendation/approve",
        {"version": "{version}"},
        _approve,
        (("/recommendation", 'data-testid="approve"'),),
        moment=_draft_record,
    ),
    Probe(
        "can_manage_family_codes",
        "/family-codes",
        {"days": "90"},
        lambda c: family.create_code(c.case, by=c.user, days=90),
        (("", 'data-testid="family-code-create"'),),
        moment=lambda c: sending.feedback_sent(c.case),
    ),
    Probe(
        "can_record_trial_referral",
        "/trial-referrals",
        {"trial": "CRISP", "step": "referred", "on": lambda c: _today()},
        lambda c: screening_ops.record_step(
            c.case, "CRISP", "referred", date.fromisoformat(_today()), by=c.user
        ),
        (("", 'data-testid="screening-form"'),),
    ),
    Probe(
        "can_close",
        "/close",
        {},
        lambda c: sending.close_case(c.case, by=c.user),
        (("", 'action="/cases/{ref}/close"'),),
    ),
    Probe(
        "can_answer_outcome_check",
        "/outcome/3",
        dict(OUTCOME_ANSWERS),
        lambda c: _answer_outcome_check(c),
        (("", 'href="/cases/{ref}/outcome/3"'),),
    ),
]


@dataclass
class Ctx:
    case: Case
    user: Any
    north: Panel


@pytest.fixture
def cast(make_user):
    return {
        "referrer": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "north_coordinator": make_user(
            roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"
        ),
        "member": make_user(roles=[("NAP", "member")], name="Nap Member"),
        "chair": make_user(roles=[("NAP", "chair")], name="Nap Chair"),
        "admin": make_user(admin=True, name="Plain Admin"),
    }


@pytest.fixture
def build(db_session, make_case, cast):
    """``build(state)``: a new NAP case of the referrer in ``state``, made with the operations
    (and the models where a meeting would be needed). Submitted cases are urgent."""
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    coordinator, chair, referrer = cast["coordinator"], cast["chair"], cast["referrer"]

    def make(state: str) -> Case:
        if state in WORDLESS_STATES:  # the state, then CRISP's words for families cleared
            load_registry()  # fills the words cleared for an earlier state (only where empty)
            case = make(WORDLESS_STATES[state])
            _clear_words("CRISP")
            db_session.commit()
            return case
        case = make_case(referrer, submit=state != "draft")
        case.urgency = "urgent"
        if state == "info_requested":
            case_ops.request_information(case, by=coordinator, questions=["Which MYCN result?"])
        elif state == "scheduled":
            case.status = CaseStatus.SCHEDULED
        elif state in (
            "discussed",
            "draft_record",
            "approved",
            "amendment_pending",
            "feedback_sent",
        ):
            discussed_at_meeting(db_session, case)
            if state != "discussed":
                rec = feedback_ops.start_recommendation(case, by=coordinator)
                # CRISP and NAXITAMAB-201 suggested: the screening log's probe records for CRISP.
                data = full_record_data(answers=answers_for(case))
                feedback_ops.save_record(rec, data, by=coordinator, expected_version=rec.version)
                if state != "draft_record":
                    feedback_ops.approve(rec, by=chair, expected_version=rec.version)
                if state == "feedback_sent":
                    sending.send_feedback(rec, by=coordinator)
                    _make_first_outcome_check_due(db_session, case)
                if state == "amendment_pending":
                    data["rationale"] = "Revised after the meeting."
                    feedback_ops.save_record(
                        rec,
                        data,
                        by=coordinator,
                        expected_version=rec.version,
                        reason="The trial team answered.",
                    )
        if state != "draft":  # a thread the panel shares with the referrers (to reply to)
            comment_ops.add_comment(
                case, body="Is there a recent MYCN result?", visibility="shared", by=coordinator
            )
        db_session.commit()
        return case

    return make


#: States where a suggested trial has lost its words for families: the state they are built
#: from (a draft to approve; an approved record to send).
WORDLESS_STATES = {
    "draft_record_without_words": "draft_record",
    "approved_without_words": "approved",
}


def _clear_words(code: str) -> None:
    from panel.core.db import db
    from panel.trials.models import Trial

    trial = db.session.scalar(select(Trial).where(Trial.code == code))
    trial.plain_title = trial.plain_summary = None


def _make_first_outcome_check_due(db_session, case: Case) -> None:
    """As if three months had passed since sending: the 3-month follow-up check is due."""
    from panel.core.db import utcnow
    from panel.outcomes.models import OutcomeCheck

    check = db_session.scalar(
        select(OutcomeCheck).where(OutcomeCheck.case_id == case.id, OutcomeCheck.months == 3)
    )
    check.due_at = utcnow()


def _answer_outcome_check(ctx):
    from panel.outcomes import checks

    check = checks.check_of(ctx.case, 3)
    if check is None:  # never sent: no check (the view answers 403)
        raise Refused("No follow-up check yet.")
    return checks.answer_check(check, OUTCOME_ANSWERS, by=ctx.user)


def _entries(db_session, case: Case) -> int:
    return db_session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.object_id == case.reference)
    )


def _operation_acts(db_session, probe: Probe, ctx: Ctx) -> bool:
    """Does the operation act (no refusal, an audit entry written)? Rolled back either way."""
    before = _entries(db_session, ctx.case)
    savepoint = db_session.begin_nested()
    try:
        probe.operation(ctx)
        db_session.flush()
        acted = _entries(db_session, ctx.case) > before
    except Refused:
        acted = False
    finally:
        savepoint.rollback()
        db_session.expire_all()
    return acted


def _fill(text: str, ctx: Ctx) -> str:
    comment = _shared_comment(ctx.case)
    rec = feedback_ops.recommendation_for(ctx.case)
    return (
        text.replace("{north}", str(ctx.north.id))
        .replace("{comment}", str(comment.id) if comment else "")
        .replace("{version}", str(rec.version) if rec else "")
        .replace("{ref}", ctx.case.reference)
    )


def _view_acts(app, db_session, client, probe: Probe, ctx: Ctx) -> tuple[bool, int]:
    """Does the POST act (not 403/404, an audit entry written)? Rolled back either way: the
    request's own commits are savepoints inside this one, so the next probes see the case as
    it was (as if it were built again)."""
    before = _entries(db_session, ctx.case)
    form = {k: v(ctx) if callable(v) else _fill(v, ctx) for k, v in probe.form.items()}
    form["csrf_token"] = csrf_token(app, client)
    savepoint = db_session.begin_nested()
    db_session.connection()  # emit the SAVEPOINT now, before the request's own ones
    try:
        status = client.post(f"/cases/{ctx.case.reference}{probe.path}", data=form).status_code
        db_session.expire_all()
        acted = status not in (403, 404) and _entries(db_session, ctx.case) > before
    finally:
        savepoint.rollback()
        db_session.expire_all()
    assert _entries(db_session, ctx.case) == before, "the view's changes were not rolled back"
    return acted, status


def _shown(client, probe: Probe, ctx: Ctx, pages: dict[str, str]) -> bool:
    """Does a page offer the control? Each page is fetched once per case and person."""
    for page, marker in probe.shown:
        url = f"/cases/{ctx.case.reference}{page}"
        if url not in pages:
            resp = client.get(url)
            pages[url] = resp.get_data(as_text=True) if resp.status_code == 200 else ""
        if _fill(marker, ctx) in pages[url]:
            return True
    return False


def _agreement(app, db_session, cast, build, login, states, probes):
    """Every rule x role x state of ``probes`` and ``states``: the mismatches, how many were
    checked, and the rules that allowed someone."""
    north = db_session.scalar(select(Panel).where(Panel.code == "ECMC-NORTH"))
    clients = {}
    for who in ROLES:
        clients[who] = app.test_client()
        login(clients[who], cast[who])
    wrong: list[tuple] = []
    checked, allowed = 0, set()
    for state in states:
        case = build(state)
        for who in ROLES:
            user, client, pages = cast[who], clients[who], {}
            for probe in probes:
                ctx = Ctx(case, user, north)
                rule = bool(getattr(case, probe.rule)(user))
                if probe.moment is not None:
                    rule = rule and probe.moment(ctx)
                operation = _operation_acts(db_session, probe, ctx)
                page = _shown(client, probe, ctx, pages)
                view, status = _view_acts(app, db_session, client, probe, ctx)
                checked += 1
                if rule:
                    allowed.add(probe.rule)
                if not rule == operation == view == page:
                    wrong.append(
                        (
                            probe.rule,
                            who,
                            state,
                            f"rule={rule}",
                            f"operation={operation}",
                            f"view={view} ({status})",
                            f"page={page}",
                        )
                    )
                if view:  # the view acted (and was rolled back): fetch the pages again
                    pages = {}
    return wrong, checked, allowed


def test_views_operations_and_pages_agree_with_the_case_rules(app, db_session, cast, build, login):
    """For every rule x role x state: rule == operation == view == control on the page."""
    wrong, checked, allowed = _agreement(app, db_session, cast, build, login, STATES, PROBES)
    assert checked == len(STATES) * len(ROLES) * len(PROBES)
    assert not wrong, "\n".join(map(str, wrong))
    # The table is not vacuous: every rule allows someone in some state.
    assert allowed == {p.rule for p in PROBES}


def test_the_words_for_families_rule_agrees(app, db_session, cast, build, login):
    """A suggested trial without words for families (issue 16): the chair cannot approve the
    draft and the coordinator cannot send the approved letters. The rule (the moment of
    ``can_approve``; ``can_send_feedback``), the operation, the view and the page agree: no one
    approves or sends, and no page offers it."""
    probes = [p for p in PROBES if p.rule in ("can_approve", "can_send_feedback")]
    wrong, checked, allowed = _agreement(
        app, db_session, cast, build, login, tuple(WORDLESS_STATES), probes
    )
    assert checked == len(WORDLESS_STATES) * len(ROLES) * len(probes)
    assert not wrong, "\n".join(map(str, wrong))
    assert allowed == set()

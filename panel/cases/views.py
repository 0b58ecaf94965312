"""Case pages: the case, its parents' questions, co-referrers, revisions and workflow actions."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.accounts.forms import ConfirmForm
from panel.accounts.models import User
from panel.cases import bp, operations
from panel.cases.models import CaseQuestion, CaseRevision
from panel.cases.page import render_case_page
from panel.cases.queries import load_case_or_404
from panel.core.audit import record_read
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import Refused
from panel.core.views import HOME_LIST, home_section
from panel.core.web import attempt

_user = signed_in_user


def _attempt(case, action, *, anchor: str | None = None, success: str | None = None):
    """:func:`attempt`, back to the case page."""
    return attempt(
        action, target=url_for("cases.show", ref=case.reference, _anchor=anchor), success=success
    )


@bp.route("/<ref>")
@login_required
def show(ref: str):
    case = load_case_or_404(ref, _user())
    return render_case_page(case, _user())


# --------------------------------------------------------------------------- workflow
@bp.route("/<ref>/withdraw", methods=["POST"])
@login_required
def withdraw(ref: str):
    case = load_case_or_404(ref, _user(), check="can_withdraw")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _attempt(
        case,
        lambda: operations.withdraw_case(case, by=_user(), reason=request.form.get("reason", "")),
        success=f"{case.reference} has been withdrawn.",
    )


@bp.route("/<ref>/request-information", methods=["POST"])
@login_required
def request_information(ref: str):
    case = load_case_or_404(ref, _user(), check="can_request_information")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    questions = [q for q in request.form.get("questions", "").splitlines() if q.strip()]
    return _attempt(
        case,
        lambda: operations.request_information(case, by=_user(), questions=questions),
        success="The referrer has been asked for more information.",
    )


@bp.route("/<ref>/information-response", methods=["POST"])
@login_required
def respond_information(ref: str):
    case = load_case_or_404(ref, _user())
    if not case.is_referrer(_user()):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _attempt(
        case,
        lambda: operations.respond_to_information_request(
            case, request.form.get("response", ""), by=_user()
        ),
        success="Reply saved. Update the referral if needed, then submit it again.",
    )


# --------------------------------------------------------------------------- questions
def _question(case, question_id: int) -> CaseQuestion:
    q = db.session.get(CaseQuestion, question_id)
    if q is None or q.case_id != case.id:
        abort(404)
    return q


@bp.route("/<ref>/questions", methods=["POST"])
@login_required
def add_question(ref: str):
    case = load_case_or_404(ref, _user(), check="can_edit_questions")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _attempt(
        case,
        lambda: operations.add_question(case, request.form.get("text", ""), by=_user()),
        anchor="questions",
    )


@bp.route("/<ref>/questions/<int:question_id>", methods=["POST"])
@login_required
def edit_question(ref: str, question_id: int):
    case = load_case_or_404(ref, _user(), check="can_edit_questions")
    q = _question(case, question_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "save")

    def change():
        if action == "up":
            operations.move_question(case, q, -1, by=_user())
        elif action == "down":
            operations.move_question(case, q, 1, by=_user())
        elif action == "delete":
            operations.delete_question(case, q, by=_user())
        else:
            operations.edit_question(case, q, request.form.get("text", ""), by=_user())

    return _attempt(case, change, anchor="questions")


# --------------------------------------------------------------------------- co-referrers
@bp.route("/<ref>/co-referrers", methods=["POST"])
@login_required
def add_co_referrer(ref: str):
    case = load_case_or_404(ref, _user())
    if not case.is_referrer(_user()):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    colleague = User.by_email(request.form.get("email", ""))

    def add():
        if colleague is None:
            raise Refused(operations.CO_REFERRER_REFUSED, "email")
        operations.add_co_referrer(case, colleague, by=_user())

    return _attempt(
        case,
        add,
        success=f"{colleague.name} can now see and edit {case.reference}." if colleague else None,
    )


# --------------------------------------------------------------------------- revisions
@bp.route("/<ref>/revisions")
@login_required
def revisions(ref: str):
    case = load_case_or_404(ref, _user(), check="can_see_revisions")
    revs = db.session.scalars(
        select(CaseRevision)
        .where(CaseRevision.case_id == case.id)
        .options(joinedload(CaseRevision.created_by))
        .order_by(CaseRevision.number)
    ).all()
    current = operations.to_document(case)
    changes = []
    previous = None
    for rev in revs:
        diff = operations.field_diff(previous, rev.document) if previous is not None else []
        changes.append((rev, diff))
        previous = rev.document
    pending = operations.field_diff(previous, current) if previous is not None else []
    record_read("case.revisions_viewed", obj=case)
    return render_template("cases/revisions.html", case=case, changes=changes, pending=pending)


@home_section
def home_lists(user) -> dict:
    """The case lists on the home page: a referrer's cases, a coordinator's queue, a member's
    cases to review (each the first ``HOME_LIST``)."""
    from panel.cases import queries as case_queries
    from panel.cases.models import CaseStatus

    ctx: dict = {}
    if user.is_referrer:
        ctx["my_cases"] = db.session.scalars(
            case_queries.referrer_cases_stmt(user).limit(HOME_LIST)
        ).all()
        ctx["waiting_on_me"] = {CaseStatus.DRAFT, CaseStatus.INFO_REQUESTED}
    if user.is_coordinator:
        ctx["queue"] = db.session.scalars(
            case_queries.coordinator_queue_stmt(user).limit(HOME_LIST)
        ).all()
    if user.is_panel_member:
        ctx["review"] = db.session.scalars(
            case_queries.review_cases_stmt(user).limit(HOME_LIST)
        ).all()
    return ctx

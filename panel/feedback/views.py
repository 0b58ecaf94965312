"""The recommendation record editor: drafting by the coordinator, answers to the parents'
questions, approval by the chair, amendments after approval, and the study opt-out.

Who sees what: coordinators and chairs of the case's panel edit; members read; anyone else
(referrers, other panels, admins) gets 404 (referrers read the panel's feedback through the
letters once sent).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from panel.accounts.forms import ConfirmForm
from panel.cases.models import Case
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import IdentifiersFound, NotAllowed, Refused
from panel.core.readability_hint import hint_response, scores_of
from panel.core.views import HOME_LIST, home_section
from panel.feedback import bp, operations, trial_watch
from panel.feedback.forms import (
    SPARE_FOLLOW_UP_ROWS,
    ApproveForm,
    RecordForm,
    StudyOptOutForm,
    data_from_record,
    record_data,
)
from panel.feedback.letters import study_status_line
from panel.feedback.models import CATEGORIES, CONSENSUS, Recommendation
from panel.meetings.access import on_panel
from panel.privacy.guard import identifiers_message
from panel.trials.models import Trial

_user = signed_in_user

#: The record's own family texts, as the page labels them.
FAMILY_LABELS = {
    "family_summary": "Summary for the family",
    "family_re_present": "When the panel would like to see the case again, for the family",
}


def _load(ref: str, check: str = "can_view") -> Case:
    """The case, for people on its panel only (404 for everyone else, referrers included);
    403 when the case's rule ``check`` refuses."""
    user = _user()
    case = load_case_or_404(ref, user)
    if not case.panel_roles(user):
        abort(404)
    if not getattr(case, check)(user):
        abort(403)
    return case


def _error_message(exc: Refused) -> str:
    if isinstance(exc, IdentifiersFound):
        return identifiers_message(exc.findings, where=_field_label)
    return exc.message


def _field_label(path: str) -> str:
    if path.endswith("].family"):
        return "an answer for the family"
    if path.startswith("answers["):
        return "an answer to a parents' question"
    if path in FAMILY_LABELS:
        return FAMILY_LABELS[path].lower()
    if path.startswith("follow_ups"):
        return "a follow-up action"
    return path.replace("_", " ")


def _trial_rows(
    case: Case, rec: Recommendation | None, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """The trials to choose from: the case's current eligible/possible matches, plus trials
    already in the record that no longer match (shown so they can be removed)."""
    live = operations.trial_choices(case)
    chosen = {str(t.get("trial_id")): t.get("priority") for t in values.get("trials", [])}
    rows = []
    seen = set()
    frozen = {t.get("code"): t for t in (rec.trials if rec is not None else [])}
    for t in live:
        use = (
            frozen[t["code"]] if rec is not None and rec.is_approved and t["code"] in frozen else t
        )
        rows.append(
            {
                "trial": use,
                "chosen": t["code"] in chosen,
                "priority": chosen.get(t["code"]),
                "live": True,
            }
        )
        seen.add(t["code"])
    for code, t in frozen.items():
        if code not in seen:
            rows.append(
                {"trial": t, "chosen": code in chosen, "priority": chosen.get(code), "live": False}
            )
    return rows


def _render(
    case: Case,
    rec: Recommendation | None,
    *,
    values: dict[str, Any] | None = None,
    mode: str = "view",
    reason: str = "",
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
):
    user = _user()
    if rec is not None and values is None:
        values = data_from_record(rec)
    values = values or {}
    editing = mode in ("edit", "amend")
    follow_ups = list(values.get("follow_ups", []))
    if editing:
        follow_ups += [
            {"description": "", "owner_role": "", "due_in_days": ""}
        ] * SPARE_FOLLOW_UP_ROWS
    answers = values.get("answers", {})
    questions = list(case.questions)
    unanswered = operations.unanswered_questions(rec) if rec is not None else questions
    counted, later = question_split(case, rec)
    order = {k: i + 1 for i, k in enumerate(values.get("categories", []))}
    can_edit = rec is not None and rec.can_edit(user)
    template = "feedback/amend.html" if mode == "amend" else "feedback/record.html"
    return render_template(
        template,
        case=case,
        rec=rec,
        mode=mode,
        values=values,
        category_order=order,
        categories=CATEGORIES,
        consensus_choices=CONSENSUS,
        profiling_choices=operations.PROFILING,
        owner_roles=operations.OWNER_ROLES,
        follow_ups=follow_ups,
        answers=answers,
        questions=questions,
        unanswered=unanswered,
        counted=counted,
        later=later,
        answered_count=sum(q not in unanswered for q in counted),
        trial_rows=_trial_rows(case, rec, values) if rec is not None else [],
        studies=operations.studies_status(case, rec),
        study_status_line=study_status_line,
        stopped_trials=trial_watch.stopped_trials(rec),
        can_edit=can_edit,
        readability=scores_of(family_texts(values)) if can_edit else {},
        family_labels=FAMILY_LABELS,
        can_approve=rec is not None and case.can_approve(user),
        # The words for families the family letter still needs (before sending only).
        plain_missing=(
            rec.trials_without_plain_words()
            if rec is not None and case.feedback_sent_at is None
            else []
        ),
        can_edit_trials=Trial.can_edit(user),
        can_start=case.can_start_recommendation(user),
        can_mark_ready=rec is not None and case.can_mark_record_ready(user),
        can_amend=rec is not None and case.can_amend_record(user),
        can_decide_amendment=rec is not None and case.can_approve_amendment(user),
        pending=rec.pending_amendment if rec is not None and rec.is_approved else None,
        can_opt_out=case.can_record_study_choice(user),
        form=RecordForm(formdata=None, version=rec.version if rec is not None else ""),
        approve_form=ApproveForm(formdata=None, version=rec.version if rec is not None else ""),
        confirm=ConfirmForm(),
        reason=reason,
        error=error,
        error_field=error_field,
    ), status


def family_texts(values: dict[str, Any]) -> dict[str, str]:
    """The family-facing texts of the editor's values, by the id of their field: the summary,
    the family's re-presentation sentence and the family half of each answer."""
    texts = {key: values.get(key) or "" for key in FAMILY_LABELS}
    for qid, answer in (values.get("answers") or {}).items():
        texts[f"answer-{qid}-family"] = (answer or {}).get("family") or ""
    return texts


def _hard_to_read(values: dict[str, Any]) -> bool:
    """Whether a family text the author saved reads above the target grade."""
    return any(s.above_target for s in scores_of(family_texts(values)).values())


HARD_TO_READ = "Saved. Some family text may be hard to read: see the notes under the fields."


def question_split(case: Case, rec: Recommendation | None) -> tuple[list, list]:
    """The questions an approved record had to answer (those that existed when it was
    approved: "N of M answered" counts these) and the follow-up questions asked since, which
    the panel has not yet had the chance to answer. Before approval: all of them, none."""
    questions = list(case.questions)
    if rec is None or rec.approved_at is None:
        return questions, []
    return (
        [q for q in questions if q.created_at <= rec.approved_at],
        [q for q in questions if q.created_at > rec.approved_at],
    )


# --------------------------------------------------------------------------- the record
@bp.route("/cases/<ref>/recommendation", methods=["GET", "POST"])
@login_required
def record(ref: str):
    """The record editor (coordinators and chairs), read-only for members."""
    case = _load(ref)
    rec = operations.recommendation_for(case)
    user = _user()
    editable = rec is not None and rec.can_edit(user)
    if request.method == "GET":
        mode = "edit" if editable and not rec.is_approved else "view"
        return _render(case, rec, mode=mode)
    if not editable:
        abort(403 if rec is not None else 404)
    form = RecordForm()
    if not form.validate_on_submit():
        abort(400)
    if rec.is_approved:
        # A locked record changes only through the amendment form (with its reason).
        reason = request.form.get("reason", "")
    else:
        reason = None
    values = record_data(request.form, case.questions)
    approve_too = request.form.get("action") == "approve"
    ready_too = request.form.get("action") == "ready" and not rec.is_approved
    try:
        operations.save_record(
            rec, values, by=user, expected_version=_version(form.version.data), reason=reason
        )
    except Refused as exc:
        db.session.rollback()
        rec = operations.recommendation_for(case)
        return _render(
            case,
            rec,
            values=values,
            mode="amend" if rec.is_approved else "edit",
            reason=reason or "",
            status=exc.status,
            error=_error_message(exc),
            error_field=exc.field,
        )
    if approve_too:
        # "Save and approve": the save stands even when the approval is refused.
        savepoint = db.session.begin_nested()
        try:
            operations.approve(rec, by=user, expected_version=rec.version)
        except Refused as exc:
            savepoint.rollback()
            db.session.commit()
            flash(f"Saved, but not approved: {_error_message(exc)}", "warning")
            return redirect(url_for("feedback.record", ref=case.reference))
    if ready_too:
        # "Save and mark ready": the save stands even when the record is not complete yet.
        savepoint = db.session.begin_nested()
        try:
            operations.mark_ready(rec, by=user)
        except Refused as exc:
            savepoint.rollback()
            db.session.commit()
            flash(f"Saved, but not marked ready: {_error_message(exc)}", "warning")
            return redirect(url_for("feedback.record", ref=case.reference))
    db.session.commit()
    if approve_too:
        message = "The recommendation has been approved and is now locked."
    elif ready_too:
        message = "Saved and marked ready: the chair has been told."
    elif rec.is_approved:
        message = _amendment_message(rec)
    else:
        message = "Recommendation saved."
    if not _hard_to_read(values):  # a note, never a refusal: the save stands
        flash(message, "success")
    elif message == "Recommendation saved.":
        flash(HARD_TO_READ, "info")
    else:
        flash(message, "success")
        flash(HARD_TO_READ, "info")
    return redirect(url_for("feedback.record", ref=case.reference))


def _amendment_message(rec: Recommendation) -> str:
    am = rec.amendments[-1]
    if am.is_pending:
        return (
            f"Amendment {am.number} proposed: it waits for the chair's approval, and the record "
            "shows the approved text until then."
        )
    return f"Amendment {am.number} recorded."


def _version(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/cases/<ref>/recommendation/readability", methods=["POST"])
@login_required
def record_readability(ref: str):
    """How easy one family text of the record editor reads (an htmx fragment, as the author
    types): for those who may edit the record (``Case.can_edit_recommendation``; the panel's
    other people 403, everyone else 404). Changes nothing, audits nothing, logs no text."""
    case = _load(ref, check="can_edit_recommendation")
    if getattr(case, "recommendation", None) is None:  # the backref: one small query
        abort(404)
    return hint_response()


@bp.route("/cases/<ref>/recommendation/start", methods=["POST"])
@login_required
def start(ref: str):
    """A coordinator opens the draft of a discussed case."""
    case = _load(ref)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:  # case.can_start_recommendation, asked by the operation
        operations.start_recommendation(case, by=_user())
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except Refused as exc:
        db.session.rollback()
        flash(_error_message(exc), "danger")
        return redirect(url_for("cases.show", ref=case.reference))
    db.session.commit()
    rec = operations.recommendation_for(case)
    flash(
        "Draft recommendation started from the minutes: check the rationale."
        if rec is not None and rec.rationale
        else "Draft recommendation started.",
        "success",
    )
    return redirect(url_for("feedback.record", ref=case.reference))


@bp.route("/cases/<ref>/recommendation/approve", methods=["POST"])
@login_required
def approve(ref: str):
    """The chair approves (and locks) the record."""
    case = _load(ref)
    rec = operations.recommendation_for(case)
    if rec is None:
        abort(404)
    if not case.can_approve(_user()):
        abort(403)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.approve(rec, by=_user(), expected_version=_version(form.version.data))
    except Refused as exc:
        db.session.rollback()
        flash(_error_message(exc), "danger")
        return redirect(url_for("feedback.record", ref=case.reference))
    db.session.commit()
    flash("The recommendation has been approved and is now locked.", "success")
    return redirect(url_for("feedback.record", ref=case.reference))


@bp.route("/cases/<ref>/recommendation/amend", methods=["GET", "POST"])
@login_required
def amend(ref: str):
    """Change an approved record: the same form plus a mandatory reason (a numbered amendment)."""
    case = _load(ref)
    rec = operations.recommendation_for(case)
    if rec is None:
        abort(404)
    if not rec.can_edit(_user()):
        abort(403)
    if not rec.is_approved:
        return redirect(url_for("feedback.record", ref=case.reference))
    if not case.can_amend_record(_user()):  # an amendment waits for the chair
        pending = rec.pending_amendment
        if pending is not None:
            flash(
                f"Amendment {pending.number} is waiting for the chair's approval: the record "
                "can be amended again once the chair has decided.",
                "warning",
            )
        return redirect(url_for("feedback.record", ref=case.reference, _anchor="amendments"))
    if request.method == "GET":
        return _render(case, rec, mode="amend")
    form = RecordForm()
    if not form.validate_on_submit():
        abort(400)
    values = record_data(request.form, case.questions)
    reason = request.form.get("reason", "")
    try:
        operations.save_record(
            rec, values, by=_user(), expected_version=_version(form.version.data), reason=reason
        )
    except Refused as exc:
        db.session.rollback()
        rec = operations.recommendation_for(case)
        return _render(
            case,
            rec,
            values=values,
            mode="amend",
            reason=reason,
            status=exc.status,
            error=_error_message(exc),
            error_field=exc.field,
        )
    db.session.commit()
    flash(_amendment_message(rec), "success")
    if _hard_to_read(values):
        flash(HARD_TO_READ, "info")
    return redirect(url_for("feedback.record", ref=case.reference, _anchor="amendments"))


@bp.route("/cases/<ref>/recommendation/ready", methods=["POST"])
@login_required
def ready(ref: str):
    """The drafter marks the draft ready for the chair's approval (``Case.can_mark_record_ready``)."""
    user = _user()
    case = _load(ref)
    rec = operations.recommendation_for(case)
    if rec is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:  # case.can_mark_record_ready, asked by the operation
        operations.mark_ready(rec, by=user)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except Refused as exc:
        db.session.rollback()
        flash(_error_message(exc), "danger")
        return redirect(url_for("feedback.record", ref=case.reference, _anchor="approval"))
    db.session.commit()
    flash("Marked ready for approval: the chair has been told.", "success")
    return redirect(url_for("feedback.record", ref=case.reference))


@bp.route("/cases/<ref>/recommendation/amendments/<int:number>", methods=["POST"])
@login_required
def decide_amendment(ref: str, number: int):
    """A chair of the panel approves (``action=approve``) or rejects (``action=reject``) the
    amendment that waits (``Case.can_approve_amendment``)."""
    user = _user()
    case = _load(ref)
    rec = operations.recommendation_for(case)
    amendment = (
        next((a for a in rec.amendments if a.number == number), None) if rec is not None else None
    )
    if amendment is None:
        abort(404)
    if not case.is_chaired_by(user):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("approve", "reject"):
        abort(400)
    note = request.form.get("note", "")
    decide = operations.approve_amendment if action == "approve" else operations.reject_amendment
    try:
        decide(rec, amendment, by=user, note=note)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except Refused as exc:
        db.session.rollback()
        flash(_error_message(exc), "danger")
        return redirect(url_for("feedback.record", ref=case.reference, _anchor="amendments"))
    db.session.commit()
    flash(
        f"Amendment {number} approved: the record now shows it."
        if action == "approve"
        else f"Amendment {number} rejected: the record is unchanged.",
        "success",
    )
    return redirect(url_for("feedback.record", ref=case.reference, _anchor="amendments"))


# --------------------------------------------------------------------------- studies
@bp.route("/cases/<ref>/study-opt-out", methods=["POST"])
@login_required
def study_opt_out(ref: str):
    """The family's choice about the epidemiological study (``opted_out`` 1 or 0)."""
    user = _user()
    case = load_case_or_404(ref, user, check="can_record_study_choice")
    form = StudyOptOutForm()
    if not form.validate_on_submit() or form.opted_out.data not in ("0", "1"):
        abort(400)
    opted_out = form.opted_out.data == "1"
    try:
        operations.set_study_opt_out(case, opted_out, by=user)
    except Refused as exc:
        db.session.rollback()
        flash(_error_message(exc), "danger")
    else:
        db.session.commit()
        flash(
            "The family's opt-out of the epidemiological study is recorded."
            if opted_out
            else "The family is included in the epidemiological study again.",
            "success",
        )
    if on_panel(user, case.panel_id) and operations.recommendation_for(case) is not None:
        return redirect(url_for("feedback.record", ref=case.reference, _anchor="studies"))
    return redirect(url_for("cases.show", ref=case.reference))


# --------------------------------------------------------------------------- case page
def case_study_choice(case: Case) -> dict[str, Any] | None:
    """For those who may record it (``Case.can_record_study_choice``: the case's referrers and
    its panel's coordinators): the family's epidemiological-study choice, with the button to
    record or withdraw the opt-out (else ``None``)."""
    user = _user()
    if not case.can_record_study_choice(user):
        return None
    opted_out = operations.is_opted_out(case)
    study = operations.study_status(operations.EPIDEMIOLOGY_STUDY)
    state = operations.epidemiology_state(opted_out, study, None)
    return {
        "opted_out": opted_out,
        "recorded": case.study_opt_out_at is not None,
        "at": case.study_opt_out_at,
        "state": state,
        "label": operations.EPI_LABELS[state],
        "status_line": study_status_line(study),
    }


def case_record(case: Case) -> dict[str, Any] | None:
    """The case-page summary of the record, for people on the case's panel (else ``None``)."""
    user = _user()
    if not on_panel(user, case.panel_id):
        return None
    rec = operations.recommendation_for(case)
    can_start = case.can_start_recommendation(user)
    if rec is None and not can_start:
        return None
    counted, later = question_split(case, rec)
    missing = operations.unanswered_questions(rec) if rec is not None else counted
    return {
        "rec": rec,
        "categories": operations.category_labels(rec.categories if rec is not None else []),
        "questions": len(counted),
        "unanswered": sum(q in missing for q in counted),
        "later": [(q, q in missing) for q in later],
        "can_start": can_start,
        "can_edit": rec is not None and rec.can_edit(user),
        "can_approve": rec is not None and not rec.is_approved and case.can_approve(user),
        "pending": rec.pending_amendment if rec is not None and rec.is_approved else None,
        "can_decide_amendment": rec is not None and case.can_approve_amendment(user),
        "stopped_trials": trial_watch.stopped_trials(rec),
        "confirm": ConfirmForm(),
    }


def record_panel(case: Case, user: Any, state: dict) -> dict[str, Any] | None:
    """The case page's recommendation card (panel people) and study choice (referrers), or
    None when this user gets neither."""
    record, study = case_record(case), case_study_choice(case)
    if record is None and study is None:
        return None
    return {"record": record, "study": study}


@home_section
def awaiting_my_approval(user) -> dict:
    """The home page's "Awaiting my approval" for chairs: drafts marked ready for approval and
    amendments waiting for a chair, on the panels they chair (the first ``HOME_LIST``)."""
    if not getattr(user, "is_chair", False):
        return {}
    return {"awaiting_approval": operations.awaiting_approval(user, limit=HOME_LIST)}

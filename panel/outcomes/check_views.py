"""The follow-up outcome form's page, the case page's "Follow-up outcomes" card and the home
page's "Outcome forms due" (thin: the rules are ``Case.can_answer_outcome_check`` and
``OutcomeCheck.refusal``; the work is :mod:`panel.outcomes.checks`)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from panel.cases.models import Case
from panel.cases.queries import load_case_or_404
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, IdentifiersFound, Refused
from panel.core.views import HOME_LIST, home_section
from panel.outcomes import bp, checks
from panel.outcomes.check_forms import OutcomeCheckForm
from panel.outcomes.models import OUTCOME_CHECK_MONTHS
from panel.privacy.guard import identifiers_message


@bp.route("/cases/<ref>/outcome/<int:months>", methods=["GET", "POST"])
@login_required
def answer_check(ref: str, months: int):
    """The outcome form of one check: its referrers (or a coordinator of the panel on their
    behalf) answer it once it is due, and may correct it later."""
    user = current_user._get_current_object()
    case = load_case_or_404(ref, user, check="can_answer_outcome_check")
    check = checks.check_of(case, months) if months in OUTCOME_CHECK_MONTHS else None
    if check is None:
        abort(404)
    now = utcnow()
    blocked = check.refusal(user, now)
    form = OutcomeCheckForm(obj=check if check.is_answered else None)
    if request.method == "GET":
        form.version.data = str(check.version)
    status = 200
    if blocked is not None:
        status = 409 if request.method == "POST" else 200  # not due yet: the page says so
    elif form.validate_on_submit():
        try:
            checks.answer_check(
                check, form.answers(), by=user, expected_version=_int(form.version.data), now=now
            )
            db.session.flush()
        except StaleDataError:
            db.session.rollback()
            return _refused(case, check, form, Conflict(_STALE), user)
        except Refused as exc:
            db.session.rollback()
            return _refused(case, check, form, exc, user)
        db.session.commit()
        flash(f"Thank you: the {check.label} for {case.reference} is recorded.", "success")
        return redirect(url_for("cases.show", ref=case.reference, _anchor="outcome-checks"))
    elif request.method == "POST":
        status = 422
    return _page(case, check, form, blocked, user, status)


_STALE = "Someone else saved this check at the same time. Reload to see their answers."


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _refused(case: Case, check, form: OutcomeCheckForm, exc: Refused, user):
    """Re-render what was typed with the refusal beside its field (or above the form)."""
    case = load_case_or_404(case.reference, user, check="can_answer_outcome_check")
    check = checks.check_of(case, check.months)
    if isinstance(exc, IdentifiersFound):
        form.advice_note.errors = [
            identifiers_message(exc.findings, what="Not saved", again="Remove it and try again")
        ]
    elif exc.field in ("disease_status", "response", "advice_followed", "advice_note"):
        getattr(form, exc.field).errors = [exc.message.split(": ", 1)[-1]]
    else:
        flash(exc.message, "danger")
    return _page(case, check, form, None, user, exc.status)


def _page(case: Case, check, form, blocked, user, status: int):
    return (
        render_template(
            "outcomes/checks/answer.html",
            case=case,
            check=check,
            form=form,
            blocked=blocked,
            on_behalf=not case.is_referrer(user),
        ),
        status,
    )


# --------------------------------------------------------------------------- case page
def checks_panel(case: Case, user: Any, state: dict) -> dict[str, Any] | None:
    """The case page's "Follow-up outcomes" card (side column): the checks of a sent case,
    due or answered, with the answers, for its referrers and its panel's people; a link to the form
    for those who may answer. No query for a case that was never sent. Not for an invited
    expert (a guest reads the referral, not what happened after it)."""
    if case.feedback_sent_at is None:
        return None
    if not (case.is_referrer(user) or case.is_panel_person(user)):
        return None
    rows = checks.checks_for(case)
    if not rows:
        return None
    now = utcnow()
    return {
        "checks": rows,
        "now": now,
        "can_answer": {c.months: c.can_answer(user, now) for c in rows},
    }


# --------------------------------------------------------------------------- home page
@home_section
def home_outcome_checks(user) -> dict:
    """The referrer's "Outcome forms due" on the home page (built before the template)."""
    if not getattr(user, "is_referrer", False):
        return {}
    return {"home_outcome_checks": checks.due_for(user, limit=HOME_LIST)}

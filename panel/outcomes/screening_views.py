"""The screening log on the case page: its card (context built before the page renders) and
the two small forms it posts (record the next step, withdraw the last one).

A refused step shows the case page again with what was typed and the reason beside the field
(422, or 409 when someone else changed the log first); a person who may not record gets 403,
one who may not see the case 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_login import login_required

from panel.cases.models import Case
from panel.cases.page import render_case_page
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import IdentifiersFound, NotAllowed, Refused
from panel.core.uktime import uk_today
from panel.core.web import MAX_ID, attempt, forbidding
from panel.outcomes import bp, operations
from panel.outcomes.models import MAX_NOTE, STAGE_LABELS, STEP_REASONS
from panel.outcomes.screening import screening_log
from panel.outcomes.screening_forms import TrialStepForm, WithdrawStepForm, reason_groups
from panel.privacy.guard import identifiers_message

_user = signed_in_user

EXPIRED = "The form had expired or was not sent by Panel. Reload the page and try again."
DAY_MISSING = "Give the day it happened (day, month and year)."


def screening_log_panel(case: Case, user: Any, state: dict) -> dict[str, Any] | None:
    """The case page's screening log card: for those who may read it, once the approved
    record suggests a trial (or a log exists). ``state["screening_draft"]`` is a refused
    step's form as typed, with its error."""
    rows = screening_log(case, user)
    if not rows:
        return None
    return {
        "rows": rows,
        "draft": state.get("screening_draft") or {},
        "today": uk_today(),
        "reason_groups": reason_groups(),
        "reason_steps": [s.value for s in STEP_REASONS],
        "max_note": MAX_NOTE,
        "labels": {s.value: label for s, label in STAGE_LABELS.items()},
    }


def _target(case: Case) -> str:
    return url_for("cases.show", ref=case.reference, _anchor=operations.ANCHOR)


def _version(text: str | None) -> int | None:
    """The version a form was made from: None when absent, -1 (never current) when junk."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and int(text) <= MAX_ID else -1


def _refusal(exc: Refused) -> str:
    if isinstance(exc, IdentifiersFound):
        return identifiers_message(
            exc.findings, what="Step not recorded", where=lambda path: "the note"
        )
    return exc.user_message


@bp.route("/cases/<ref>/trial-referrals", methods=["POST"])
@login_required
def record_trial_step(ref: str):
    """Record the next step of one trial of the approved record."""
    user = _user()
    case = load_case_or_404(ref, user, check="can_view_trial_referrals")
    form = TrialStepForm()
    draft = form.draft()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, EXPIRED)
        field = next((f.name for f in form if f.errors), None)
        error = DAY_MISSING if field == "on" else "Check the form."
        return render_case_page(
            case, user, status=422, screening_draft={**draft, "error": error, "field": field}
        )
    try:
        operations.record_step(
            case,
            form.trial.data,
            form.step.data,
            form.on.data,
            form.posted_reason(),
            form.note.data or "",
            by=user,
            expected_version=_version(form.version.data),
        )
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except Refused as exc:
        db.session.rollback()
        return render_case_page(
            case,
            user,
            status=exc.status,
            screening_draft={**draft, "error": _refusal(exc), "field": exc.field},
        )
    db.session.commit()
    flash("Step recorded in the screening log.", "success")
    return redirect(_target(case))


@bp.route("/cases/<ref>/trial-referrals/withdraw", methods=["POST"])
@login_required
def withdraw_trial_step(ref: str):
    """Withdraw the last step of one trial (a mistake)."""
    user = _user()
    case = load_case_or_404(ref, user, check="can_view_trial_referrals")
    form = WithdrawStepForm()
    if not form.validate_on_submit():
        abort(400, EXPIRED)
    version = _version(form.version.data)
    return attempt(
        forbidding(
            lambda: operations.withdraw_last_step(
                case, form.trial.data, by=user, expected_version=version
            )
        ),
        target=_target(case),
        success="The last step was withdrawn.",
    )

"""The API of the screening log: what happened to each trial suggested in a case's approved
record (``GET``), and recording its next step (``POST``).

Same shape as :mod:`panel.api.views`: load (404 for a case the caller may not see) ->
authorise (403 for those who may not read or record the log; 409 when they may, but not now)
-> parse (400/422) -> operate (``panel.outcomes.operations``, which refuses through
``Refused``) -> commit.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Response, jsonify

from panel.api import bp
from panel.api.auth import current_api_user
from panel.api.documents import iso
from panel.api.errors import ApiError
from panel.api.parsing import json_body
from panel.api.views import _load_visible_case
from panel.cases.models import Case
from panel.core.db import db
from panel.outcomes import operations
from panel.outcomes.models import MAX_NOTE, TrialReferralStep
from panel.outcomes.screening import LogRow, screening_log

#: The keys a step may carry.
KEYS = ("trial", "step", "on", "reason", "note", "version")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --------------------------------------------------------------------------- answers
def step_json(step: TrialReferralStep) -> dict[str, Any]:
    """One recorded step: what, on which day, why, who recorded it and when."""
    return {
        "step": step.step,
        "label": step.label,
        "on": step.occurred_on.isoformat(),
        "reason": step.reason or None,
        "reason_label": step.reason_label or None,
        "note": step.note or None,
        "recorded_by": step.recorded_by.name if step.recorded_by is not None else None,
        "recorded_at": iso(step.recorded_at),
    }


def referral_json(row: LogRow) -> dict[str, Any]:
    """One trial of the log: its stage, its steps, and what the caller may do next."""
    return {
        "trial": row.code,
        "title": row.title,
        "suggested": row.suggested,
        "stage": row.stage,
        "stage_label": row.stage_label,
        "version": row.version,
        "steps": [step_json(s) for s in row.steps],
        "allowed_next_steps": [s.value for s in row.allowed] if row.can_record else [],
        "can_withdraw_last_step": row.can_withdraw,
    }


def _may_read(case: Case, user: Any) -> None:
    if case.can_view_trial_referrals(user):
        return
    if case.is_referrer(user) or case.is_coordinated_by(user) or case.is_panel_person(user):
        raise ApiError(
            409,
            "The screening log opens once the chair has approved the recommendation (for the "
            "referrers: once the letters have been sent).",
        )
    raise ApiError(403, "You may not read this case's screening log.")


# --------------------------------------------------------------------------- parsing
def _step_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "Send a JSON object.")
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise ApiError(422, f"{unknown[0][:60]}: unknown key", unknown[0][:60])
    for key in ("trial", "step", "on"):
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ApiError(422, f"{key}: required, a string.", key)
    for key in ("reason", "note"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ApiError(422, f"{key}: a string.", key)
    if len(body.get("note") or "") > MAX_NOTE:
        raise ApiError(422, f"note: at most {MAX_NOTE} characters.", "note")
    version = body.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31
    ):
        raise ApiError(422, "version: a whole number (0 before the first step).", "version")
    try:
        if not DAY.fullmatch(body["on"]):
            raise ValueError
        body["on"] = date.fromisoformat(body["on"])
    except ValueError:
        raise ApiError(422, "on: a day as YYYY-MM-DD.", "on") from None
    return body


# --------------------------------------------------------------------------- routes
@bp.get("/cases/<ref>/trial-referrals")
def list_trial_referrals(ref: str) -> Response:
    """The screening log: each trial of the approved record (then any trial with a log that an
    amendment took out), its stage, its steps and the steps the caller may record next."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_read(case, user)
    rows = screening_log(case, user)
    return jsonify({"case": case.reference, "trials": [referral_json(r) for r in rows]})


@bp.post("/cases/<ref>/trial-referrals")
def record_trial_referral_step(ref: str) -> Response:
    """Record the next step of one trial (``{"trial", "step", "on", "reason", "note"}``, and
    ``version`` to refuse the step if the log changed since it was read)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_read(case, user)
    body = _step_body()
    operations.record_step(
        case,
        body["trial"].strip(),
        body["step"].strip(),
        body["on"],
        (body.get("reason") or "").strip(),
        body.get("note") or "",
        by=user,
        expected_version=body.get("version"),
    )
    code = body["trial"].strip()
    db.session.commit()
    row = next(r for r in screening_log(case, user) if r.code == code)
    response = jsonify(referral_json(row))
    response.status_code = 201
    return response

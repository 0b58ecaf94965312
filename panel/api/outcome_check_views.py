"""The API of the follow-up outcome checks (3, 6 and 12 months after feedback):
``GET /cases/{ref}/outcome-checks`` and ``POST /cases/{ref}/outcome-checks/{months}``.

Same shape as :mod:`panel.api.timeline_views`: load (404 for a case the caller may not see) ->
authorise (403) -> parse (400/422) -> operate (:func:`panel.outcomes.checks.answer_check`,
which refuses through ``Refused``: 409 not due yet or changed since ``version``) -> commit.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from panel.api import bp
from panel.api.auth import current_api_user
from panel.api.documents import iso
from panel.api.errors import ApiError
from panel.api.parsing import json_body
from panel.api.views import _load_visible_case
from panel.cases.models import Case
from panel.core.audit import record_read
from panel.core.db import db, utcnow
from panel.outcomes import checks
from panel.outcomes.models import (
    ADVICE_FOLLOWED,
    DISEASE_STATUSES,
    OUTCOME_CHECK_MONTHS,
    RESPONSES,
    OutcomeCheck,
)

ANSWER_KEYS = ("disease_status", "response", "advice_followed", "advice_note", "version")


def check_json(check: OutcomeCheck, case: Case, user: Any, now) -> dict[str, Any]:
    """One check: when it is due, whether it was reminded and answered, the answers (null
    until answered), its version (send it back to correct it) and whether the caller may
    answer it now."""
    answered = check.is_answered
    return {
        "months": check.months,
        "due_at": iso(check.due_at),
        "due": check.is_due(now),
        "reminded_at": iso(check.reminded_at),
        "answered_at": iso(check.answered_at),
        "answered_by": check.answered_by.name if answered and check.answered_by else None,
        "disease_status": check.disease_status if answered else None,
        "response": check.response if answered else None,
        "advice_followed": check.advice_followed if answered else None,
        "advice_note": check.advice_note if answered else None,
        "version": check.version,
        "can_answer": check.can_answer(user, now),
    }


def _may_read(case: Case, user: Any) -> None:
    """The referrers and the panel's people read the checks (an invited guest does not)."""
    if not (case.is_referrer(user) or case.is_panel_person(user)):
        raise ApiError(403, "Only the case's referrers and its panel's people see its follow-up.")


@bp.get("/cases/<ref>/outcome-checks")
def list_outcome_checks(ref: str) -> Response:
    """The case's follow-up outcome checks (none before the feedback was sent)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_read(case, user)
    now = utcnow()
    rows = checks.checks_for(case)
    record_read("case.viewed", obj=case, actor=user, details={"via": "api", "what": "outcomes"})
    return jsonify(
        {"case": case.reference, "checks": [check_json(c, case, user, now) for c in rows]}
    )


def _answers(body: Any) -> tuple[dict[str, Any], int | None]:
    if not isinstance(body, dict):
        raise ApiError(422, "Send a JSON object.")
    unknown = sorted(set(body) - set(ANSWER_KEYS))
    if unknown:
        raise ApiError(422, f"{unknown[0][:60]}: unknown key", unknown[0][:60])
    for name, allowed in (
        ("disease_status", DISEASE_STATUSES),
        ("response", RESPONSES),
        ("advice_followed", ADVICE_FOLLOWED),
    ):
        value = body.get(name)
        if not isinstance(value, str) or value not in allowed:
            raise ApiError(422, f"{name}: one of {', '.join(allowed)}.", name)
    note = body.get("advice_note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise ApiError(422, "advice_note: a string.", "advice_note")
    version = body.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 2**31
    ):
        raise ApiError(422, "version: the check's version, a whole number from 1.", "version")
    return {**{k: body.get(k) for k in ANSWER_KEYS[:3]}, "advice_note": note}, version


@bp.post("/cases/<ref>/outcome-checks/<int:months>")
def answer_outcome_check(ref: str, months: int) -> Response:
    """The case's referrers (or a coordinator of its panel on their behalf) answer a due
    check: 201 the first time, 200 for a correction (send the ``version`` you read)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    if not case.can_answer_outcome_check(user):
        raise ApiError(
            403,
            "Only the case's referrers, or a coordinator of its panel on their behalf, record "
            "its follow-up outcome, once the feedback was sent.",
        )
    check = checks.check_of(case, months) if months in OUTCOME_CHECK_MONTHS else None
    if check is None:
        raise ApiError(404, f"No {months}-month check on this case (checks: 3, 6 and 12 months).")
    data, version = _answers(json_body())
    first = not check.is_answered
    now = utcnow()
    checks.answer_check(check, data, by=user, expected_version=version, now=now)
    db.session.commit()
    response = jsonify(check_json(check, case, user, now))
    response.status_code = 201 if first else 200
    return response


def openapi_schemas() -> dict[str, Any]:
    """The OpenAPI schemas of the checks (merged into :mod:`panel.api.openapi`)."""
    from panel.api.openapi import _DATE_TIME, TEXT_PATTERN, _ref
    from panel.outcomes.checks import MAX_NOTE

    def nullable_enum(values) -> dict[str, Any]:
        return {"type": ["string", "null"], "enum": [*values, None]}

    return {
        "OutcomeCheck": {
            "type": "object",
            "required": [
                "months",
                "due_at",
                "due",
                "reminded_at",
                "answered_at",
                "answered_by",
                "disease_status",
                "response",
                "advice_followed",
                "advice_note",
                "version",
                "can_answer",
            ],  # fmt: skip
            "additionalProperties": False,
            "properties": {
                "months": {"type": "integer", "enum": list(OUTCOME_CHECK_MONTHS)},
                "due_at": _DATE_TIME,
                "due": {"type": "boolean", "description": "Due (or reminded): answerable."},
                "reminded_at": {"type": ["string", "null"], "format": "date-time"},
                "answered_at": {"type": ["string", "null"], "format": "date-time"},
                "answered_by": {"type": ["string", "null"]},
                "disease_status": nullable_enum(DISEASE_STATUSES),
                "response": nullable_enum(RESPONSES),
                "advice_followed": nullable_enum(ADVICE_FOLLOWED),
                "advice_note": {"type": ["string", "null"]},
                "version": {"type": "integer", "minimum": 1},
                "can_answer": {"type": "boolean"},
            },
        },
        "OutcomeCheckList": {
            "type": "object",
            "required": ["case", "checks"],
            "additionalProperties": False,
            "properties": {
                "case": {"type": "string"},
                "checks": {"type": "array", "items": _ref("OutcomeCheck")},
            },
        },
        "OutcomeCheckAnswer": {
            "type": "object",
            "required": ["disease_status", "response", "advice_followed"],
            "additionalProperties": False,
            "properties": {
                "disease_status": {"type": "string", "enum": list(DISEASE_STATUSES)},
                "response": {"type": "string", "enum": list(RESPONSES)},
                "advice_followed": {"type": "string", "enum": list(ADVICE_FOLLOWED)},
                "advice_note": {
                    "type": "string",
                    "maxLength": MAX_NOTE,
                    "pattern": TEXT_PATTERN,
                    "description": "Why: required when `advice_followed` is `partly` or `no`.",
                },
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 2**31,
                    "description": "To correct an answer: the version you read (409 if changed).",
                },
            },
        },
    }


def openapi_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI paths of the checks (merged into :mod:`panel.api.openapi`)."""
    from panel.api.openapi import _error, _json, _r, _ref

    months = {
        "name": "months",
        "in": "path",
        "required": True,
        "description": "Which check: 3, 6 or 12 (months after the feedback was sent).",
        "schema": {"type": "integer", "minimum": 0},
    }
    return {
        "/cases/{ref}/outcome-checks": {
            "parameters": [ref],
            "get": {
                "operationId": "listOutcomeChecks",
                "tags": ["outcomes"],
                "summary": "The follow-up outcome checks",
                "description": "3, 6 and 12 months after the feedback was sent, with the "
                "answers once given. The case's referrers and its panel's people.",
                "responses": {
                    "200": {"description": "The checks.", **_json(_ref("OutcomeCheckList"))},
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
        "/cases/{ref}/outcome-checks/{months}": {
            "parameters": [ref, months],
            "post": {
                "operationId": "answerOutcomeCheck",
                "tags": ["outcomes"],
                "summary": "Answer (or correct) a follow-up outcome check",
                "description": "The case's referrers, or a coordinator of its panel on their "
                "behalf, once the check is due. 201 the first time, 200 for a correction.",
                "requestBody": {"required": True, **_json(_ref("OutcomeCheckAnswer"))},
                "responses": {
                    "200": {"description": "Corrected.", **_json(_ref("OutcomeCheck"))},
                    "201": {"description": "Answered.", **_json(_ref("OutcomeCheck"))},
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _error("No such case or check (or a case you may not see)."),
                    "409": _error("Not due yet, or changed since the `version` you sent."),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
    }

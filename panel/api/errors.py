"""The API's error answers: always ``{"error": "...", "field": "..." or null}`` (plus details).

Refusals from the case operations (:class:`panel.cases.Refused`) carry their own
HTTP status; they are turned into this shape here, so views only call operations and commit.
Nothing a client sent is echoed back from free text: identifier findings give the kind and the
position, never the matched text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from panel.cases import operations
from panel.core.db import db
from panel.core.errors import IdentifiersFound, Refused
from panel.privacy.guard import GuardFinding

CONCURRENT_EDIT = (
    "Someone else saved this case at the same moment. Fetch it again and re-apply your change."
)


class ApiError(Exception):
    """A refusal the API answers with ``status`` and the standard error body."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.extra = extra


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A JSON error response in the API's one shape."""
    response = jsonify({"error": message, "field": field or None, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def finding_json(finding: GuardFinding) -> dict[str, Any]:
    """Where an identifier was found: field, kind and offsets; never the text itself."""
    return {
        "field": finding.field,
        "kind": finding.kind,
        "start": finding.start,
        "end": finding.end,
    }


def case_error_response(exc: Refused) -> Response:
    """A refused case operation as an API error (its status comes from the exception class)."""
    if isinstance(exc, IdentifiersFound):
        return error_response(
            exc.status, exc.message, exc.field, findings=[finding_json(f) for f in exc.findings]
        )
    if isinstance(exc, operations.InvalidCase):
        problems = [p.to_dict() for p in exc.problems]
        return error_response(exc.status, exc.message, exc.field or None, problems=problems)
    return error_response(exc.status, exc.message, exc.field)


def register_error_handlers(bp: Blueprint) -> None:
    """Answer every refusal inside the API blueprint as JSON (and undo what was not committed)."""

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        db.session.rollback()
        return error_response(exc.status, exc.message, exc.field, headers=exc.headers, **exc.extra)

    @bp.errorhandler(Refused)
    def case_error(exc: Refused) -> Response:
        db.session.rollback()
        return case_error_response(exc)

    @bp.errorhandler(StaleDataError)
    def stale(exc: StaleDataError) -> Response:
        # The version column moved between our read and our write: a concurrent save.
        db.session.rollback()
        return error_response(409, CONCURRENT_EDIT)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        db.session.rollback()
        code = exc.code or 500
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(code, _describe(exc), headers=headers)


def _describe(exc: HTTPException) -> str:
    if exc.code == 413:
        return "The request body is too large."
    if exc.code == 429:
        return f"Too many requests for this token ({exc.description}). Slow down and retry later."
    return exc.description or exc.name

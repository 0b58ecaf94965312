"""The API of the loop between referrer and panel: a case's timeline, information requests and
their answers, and the caller's notifications.

Same shape as :mod:`panel.api.views`: load (404 for a case the caller may not see) ->
authorise (403 for an action they may not take; 409 when it is theirs but not now) -> parse
(400/422) -> operate (the case operations, which refuse through ``Refused``) -> commit.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Response, jsonify
from sqlalchemy import func, select

from panel.api import bp
from panel.api.auth import current_api_user
from panel.api.documents import iso
from panel.api.errors import ApiError, error_response, finding_json
from panel.api.parsing import json_body, pagination
from panel.api.views import _load_visible_case
from panel.caseformat import schema as case_format
from panel.cases import operations
from panel.cases.models import Case, CaseEvent, CaseStatus, InformationRequest
from panel.cases.timeline import events_for
from panel.core.audit import record_read
from panel.core.db import db
from panel.core.errors import IdentifiersFound
from panel.core.models import Notification

#: At most this many questions in one request, each at most MAX_QUESTION characters.
MAX_QUESTIONS = 20
MAX_QUESTION = case_format.MAX_QUESTION
#: The longest answer (the reply form's limit).
MAX_ANSWER = case_format.MAX_TEXT["clinical_question"]


# --------------------------------------------------------------------------- answers
def event_json(event: CaseEvent) -> dict[str, Any]:
    """One timeline entry: when, what, who (their name, or null for the system), its text and
    details, and who may read it."""
    return {
        "id": event.id,
        "at": iso(event.at),
        "kind": event.kind,
        "by": event.by.name if event.by is not None else None,
        "text": event.text,
        "details": event.details if isinstance(event.details, dict) else None,
        "audience": sorted(event.audiences),
    }


def information_request_json(case: Case, info: InformationRequest) -> dict[str, Any]:
    """An information request: its questions, the referrer's answer so far, and whether it is
    still open (it closes when the referrer resubmits the case)."""
    return {
        "id": info.id,
        "case": case.reference,
        "questions": list(info.questions or []),
        "requested_at": iso(info.requested_at),
        "answer": info.response,
        "open": info.answered_at is None,
        "closed_at": iso(info.answered_at),
        "workflow_status": case.status.value,
    }


def notification_json(note: Notification) -> dict[str, Any]:
    """One notification (no clinical content: the text names a case reference or a meeting)."""
    return {
        "id": note.id,
        "kind": note.kind,
        "case": note.case_ref,
        "at": iso(note.created_at),
        "read": note.read_at is not None,
        "text": note.text,
        "link": note.link,
    }


# --------------------------------------------------------------------------- parsing
def _object_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "Send a JSON object.")
    return body


def _only_keys(body: dict[str, Any], *allowed: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(422, f"{unknown[0][:60]}: unknown key", unknown[0][:60])


def _questions(body: dict[str, Any]) -> list[str]:
    """``questions``: a string (one question per line) or a list of strings."""
    _only_keys(body, "questions")
    value = body.get("questions")
    if isinstance(value, str):
        questions = value.splitlines()
    elif isinstance(value, list) and all(isinstance(q, str) for q in value):
        questions = value
    else:
        raise ApiError(
            422,
            "questions: send the questions as a string (one per line) or a list of strings.",
            "questions",
        )
    questions = [q.strip() for q in questions if q.strip()]
    if not questions:
        raise ApiError(422, "questions: write at least one question for the referrer.", "questions")
    if len(questions) > MAX_QUESTIONS:
        raise ApiError(422, f"questions: at most {MAX_QUESTIONS} questions.", "questions")
    for i, q in enumerate(questions):
        if len(q) > MAX_QUESTION:
            raise ApiError(
                422, f"questions[{i}]: at most {MAX_QUESTION} characters.", f"questions[{i}]"
            )
    return questions


def _answer(body: dict[str, Any]) -> str:
    _only_keys(body, "answer")
    value = body.get("answer")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "answer: write your answer to the panel's questions.", "answer")
    if len(value.strip()) > MAX_ANSWER:
        raise ApiError(422, f"answer: at most {MAX_ANSWER} characters.", "answer")
    return value


# --------------------------------------------------------------------------- routes
@bp.get("/cases/<ref>/timeline")
def case_timeline(ref: str) -> Response:
    """The case's timeline as the caller may read it, oldest first."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    events = events_for(case, user)
    record_read("case.timeline_viewed", obj=case, actor=user, details={"via": "api"})
    return jsonify({"case": case.reference, "events": [event_json(e) for e in events]})


@bp.post("/cases/<ref>/information-requests")
def request_information(ref: str) -> Response:
    """The panel's coordinators send questions back to the referrer (the case goes to
    "information requested")."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    if not case.can_request_information(user):
        if case.is_coordinated_by(user):
            raise ApiError(
                409,
                f"This case is {case.status.label.lower()}: information can be requested only "
                "while it is submitted (not yet scheduled).",
            )
        raise ApiError(403, "Only the panel's coordinators may ask the referrer for information.")
    questions = _questions(_object_body())
    operations.request_information(case, by=user, questions=questions)
    info = case.information_requests[-1]
    db.session.commit()
    response = jsonify(information_request_json(case, info))
    response.status_code = 201
    return response


@bp.post("/cases/<ref>/information-requests/<int:request_id>/answer")
def answer_information_request(ref: str, request_id: int) -> Response:
    """The case's referrers answer an open information request (then update the referral if
    needed and resubmit it: that closes the request, and the answer is kept)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    if not case.is_referrer(user):
        raise ApiError(403, "Only the case's referrers may answer the panel's questions.")
    info = next((r for r in case.information_requests if r.id == request_id), None)
    if info is None:
        raise ApiError(404, "No information request with this id on this case.")
    if info.answered_at is not None or case.status != CaseStatus.INFO_REQUESTED:
        raise ApiError(
            409,
            "This information request is closed: the case was resubmitted (or moved on) since.",
        )
    if case.open_information_request is not info:  # pragma: no cover - one open request
        raise ApiError(409, "Answer the latest information request.")
    text = _answer(_object_body())
    try:
        operations.respond_to_information_request(case, text, by=user)
    except IdentifiersFound as exc:
        # The operation names its field "response": the API's field is "answer".
        db.session.rollback()
        first = exc.findings[0]
        return error_response(
            exc.status,
            f"answer: looks like it contains a patient identifier "
            f"({first.kind.replace('_', ' ')}); remove it before saving",
            "answer",
            findings=[{**finding_json(f), "field": "answer"} for f in exc.findings],
        )
    db.session.commit()
    return jsonify(information_request_json(case, info))


@bp.get("/notifications")
def list_notifications() -> Response:
    """The caller's notifications, newest first, a page at a time."""
    user = current_api_user()
    page = pagination()
    mine = Notification.user_id == user.id
    total = db.session.scalar(select(func.count()).select_from(Notification).where(mine)) or 0
    notes: list[Notification] = []
    if page.offset < total:
        notes = list(
            db.session.scalars(
                select(Notification)
                .where(mine)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(page.size)
                .offset(page.offset)
            )
        )
    return jsonify(
        {
            "notifications": [notification_json(n) for n in notes],
            "unread": db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(mine, Notification.read_at.is_(None))
            )
            or 0,
            "page": page.number,
            "per_page": page.size,
            "total": total,
            "pages": math.ceil(total / page.size),
        }
    )

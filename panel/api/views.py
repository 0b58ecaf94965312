"""The JSON API v1 routes: load -> authorise -> parse -> operate -> commit -> answer.

The rate limit (per token) runs before every route, authentication (bearer token) before
every route but the OpenAPI documents; refusals are raised as :class:`ApiError` or come from
the case operations and are answered by :mod:`panel.api.errors`. :func:`guard` sets this up for
a blueprint, so ``/api/v2`` (:mod:`panel.api.v2_views`) gets the same.

The case-document routes are written once, with the API ``version`` they answer in
(:func:`create_case_answer`, :func:`get_case_answer` and the rest): v1 and v2 differ only in
the document they serve (:func:`panel.api.documents.case_document`).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from panel.accounts.models import User
from panel.api import bp
from panel.api.auth import authenticate, current_api_token, current_api_user, rate_limit_key
from panel.api.documents import case_resource, case_summary, entity_tag, me
from panel.api.errors import ApiError, register_error_handlers
from panel.api.openapi import openapi_document
from panel.api.parsing import (
    idempotency_key,
    if_match_version,
    is_reference,
    json_body,
    pagination,
)
from panel.cases import operations
from panel.cases.models import Case, CaseStatus
from panel.cases.queries import visible_cases_stmt
from panel.core.audit import record_read
from panel.core.db import db
from panel.core.errors import Conflict
from panel.core.extensions import limiter
from panel.privacy.guard import GuardFinding

#: Routes anyone may call (no token).
PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api_v2.openapi"})
#: Routes that authenticate a hospital system's DICOMweb sender token themselves (STOW-RS).
SENDER_ENDPOINTS = frozenset({"api.dicomweb_store", "api.dicomweb_store_study"})
NOT_FOUND = "No case with this reference (or you may not see it)."


def _api_limit() -> str:
    return current_app.config["API_RATELIMIT"]


def _authenticate() -> None:
    request.max_content_length = current_app.config["API_MAX_CONTENT_LENGTH"]
    if request.method == "OPTIONS" and viewer_endpoint(request.endpoint):
        return  # a browser viewer's CORS preflight carries no token (see _cors)
    if request.endpoint not in PUBLIC_ENDPOINTS | SENDER_ENDPOINTS:
        authenticate()


def guard(blueprint: Blueprint) -> None:
    """What every API blueprint shares: one rate-limit budget per token across every API
    route (of either version), the JSON error answers, and bearer-token authentication."""
    limiter.shared_limit(_api_limit, scope="api-v1", key_func=rate_limit_key)(blueprint)
    register_error_handlers(blueprint)
    blueprint.before_request(_authenticate)


guard(bp)


def viewer_endpoint(endpoint: str | None) -> bool:
    """The DICOMweb reads a viewer in the browser makes (QIDO-RS, WADO-RS)."""
    return (
        bool(endpoint)
        and endpoint.startswith("api.dicomweb_")
        and (endpoint not in SENDER_ENDPOINTS)
    )


@bp.after_request
def _cors(response: Response) -> Response:
    """A DICOMweb viewer served from another origin (an OHIF deployment) may read a case's
    images when its origin is one of ``DICOMWEB_CORS_ORIGINS``: the answer names that origin
    alone, allows only the Authorization and Accept headers and sends no cookies (the API never
    reads them). Every other origin gets no CORS header, so its browser refuses the answer."""
    origin = request.headers.get("Origin")
    if not origin or not viewer_endpoint(request.endpoint):
        return response
    allowed = {
        o.strip().rstrip("/")
        for o in (current_app.config.get("DICOMWEB_CORS_ORIGINS") or "").split(",")
        if o.strip()
    }
    if origin.rstrip("/") not in allowed:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        response.headers["Access-Control-Expose-Headers"] = "Content-Type, Warning"
    return response


# --------------------------------------------------------------------------- helpers
def _load_visible_case(ref: str, user: User) -> Case:
    """The case if ``user`` may see it; 404 otherwise (the same answer whether it exists)."""
    case = None
    if is_reference(ref):
        case = db.session.scalar(select(Case).where(Case.reference == ref.upper()))
    if case is None or not case.can_view(user):
        raise ApiError(404, NOT_FOUND)
    return case


def _require(case: Case, user: User, check: str, verb: str, participle: str) -> None:
    """403 when ``user`` may not ``verb`` the case at all; 409 when they are its referrer but
    the case's state does not allow it now."""
    if getattr(case, check)(user):
        return
    if case.is_referrer(user):
        raise ApiError(
            409,
            f"This case is {case.status.label.lower()}: it can be {participle} only as a draft "
            "or while the panel is asking for more information.",
        )
    raise ApiError(403, f"You may not {verb} this case.")


def _case_url(case: Case, version: int) -> str:
    """Where the case is in API ``version``."""
    return url_for("api.get_case" if version == 1 else "api_v2.get_case", ref=case.reference)


def case_response(
    case: Case,
    status: int = 200,
    warnings: list[GuardFinding] | None = None,
    *,
    version: int,
) -> Response:
    """The case envelope with its document as API ``version`` serves it, and its ETag."""
    response = jsonify(case_resource(case, warnings, version=version))
    response.status_code = status
    response.headers["ETag"] = entity_tag(case)
    return response


def _reject_envelope(doc: Any) -> None:
    """A client that sends back GET's whole answer gets told what to send instead."""
    if isinstance(doc, dict) and isinstance(doc.get("case"), dict) and "workflow_status" in doc:
        raise ApiError(
            422,
            "case: send the case document itself (the 'case' member of the GET answer), "
            "not the whole answer.",
            "case",
        )


def _check_reference(doc: Any, case: Case) -> None:
    """A reference in a replacement document must be the case's own (it cannot be moved)."""
    given = doc.get("reference") if isinstance(doc, dict) else None
    if isinstance(given, str) and given.upper() != case.reference:
        raise ApiError(422, "reference: does not match the case in the URL", "reference")


def _case_created_with_key(user: User, key: str) -> Case | None:
    return db.session.scalar(
        select(Case).where(Case.created_by_id == user.id, Case.creation_key == key)
    )


def _replay(case: Case, version: int) -> Response:
    """The answer to a repeated create: the case made the first time, 200, not a second case."""
    response = case_response(case, 200, version=version)
    response.headers["Location"] = _case_url(case, version)
    response.headers["Idempotent-Replayed"] = "true"
    return response


# --------------------------------------------------------------------------- routes
@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    return jsonify(openapi_document())


@bp.get("/me")
def get_me() -> Response:
    """The caller's account, centre and roles per panel."""
    return jsonify(me(current_api_user(), current_api_token()))


# --------------------------------------------------------------------------- case routes
# The bodies of the case-document routes, for either API version (v1 routes below, v2 in
# panel.api.v2_views).
def list_cases_answer() -> Response:
    """The cases the caller may see, most recently changed first, a page at a time (the
    summaries carry no document, so both versions answer alike)."""
    user = current_api_user()
    page = pagination()
    stmt = visible_cases_stmt(user)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    cases: list[Case] = []
    if page.offset < total:
        cases = list(
            db.session.scalars(
                stmt.order_by(Case.updated_at.desc(), Case.id.desc())
                .limit(page.size)
                .offset(page.offset)
            )
        )
    return jsonify(
        {
            "cases": [case_summary(c) for c in cases],
            "page": page.number,
            "per_page": page.size,
            "total": total,
            "pages": math.ceil(total / page.size),
        }
    )


def create_case_answer(version: int) -> Response:
    """Create a draft from a panel-case/2 or panel-case/1 document (either version of the API
    takes both); ``Idempotency-Key`` makes retries safe."""
    user = current_api_user()
    key = idempotency_key()
    if key is not None:
        existing = _case_created_with_key(user, key)
        if existing is not None and existing.can_view(user):
            return _replay(existing, version)
    doc = json_body()
    _reject_envelope(doc)
    try:
        result = operations.create_case(doc, by=user, creation_key=key)
        db.session.commit()
    except IntegrityError:
        # The same key raced in from a parallel request: answer with the case it made.
        db.session.rollback()
        existing = _case_created_with_key(user, key) if key else None
        if existing is None:
            raise
        return _replay(existing, version)
    if result.replayed:  # the same key's first request committed between our two looks
        return _replay(result.case, version)
    response = case_response(result.case, 201, result.warnings, version=version)
    response.headers["Location"] = _case_url(result.case, version)
    return response


def get_case_answer(ref: str, version: int) -> Response:
    """One case: the envelope with its document in API ``version``."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    record_read("case.viewed", obj=case, actor=user, details={"via": "api"})
    return case_response(case, version=version)


def case_matches_answer(ref: str) -> Response:
    """The open trials matched against the case, as ``flask match`` prints them."""
    from panel.trials.matching import case_matches_payload

    user = current_api_user()
    case = _load_visible_case(ref, user)
    record_read("case.matches_viewed", obj=case, actor=user, details={"via": "api"})
    return jsonify(case_matches_payload(case))


def update_case_answer(ref: str, version: int) -> Response:
    """Replace the referral of a draft (or a case waiting for information) with a document of
    either version, guarded by ``If-Match: <version>``."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _require(case, user, "can_edit", "edit", "edited")
    expected = if_match_version(required=True)
    doc = json_body()
    _reject_envelope(doc)
    _check_reference(doc, case)
    result = operations.update_case(case, doc, by=user, expected_version=expected)
    db.session.commit()
    return case_response(case, 200, result.warnings, version=version)


def submit_case_answer(ref: str, version: int) -> Response:
    """Submit the case to its panel; 422 lists every field still missing."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    if not (case.status == CaseStatus.SUBMITTED and case.is_referrer(user)):
        _require(case, user, "can_submit", "submit", "submitted")
    expected = if_match_version(required=False)
    if expected is not None and expected != case.version:
        raise Conflict(
            "The case changed since you read it (its version is now "
            f"{case.version}). Fetch it again before submitting."
        )
    operations.submit_case(case, by=user)
    db.session.commit()
    return case_response(case, version=version)


# --------------------------------------------------------------------------- v1 case routes
@bp.get("/cases")
def list_cases() -> Response:
    """The cases the caller may see, most recently changed first, a page at a time."""
    return list_cases_answer()


@bp.post("/cases")
def create_case() -> Response:
    """Create a draft from a panel-case/2 or panel-case/1 document; ``Idempotency-Key`` makes
    retries safe."""
    return create_case_answer(1)


@bp.get("/cases/<ref>")
def get_case(ref: str) -> Response:
    """One case: the envelope with its document (panel-case/1 for a neuroblastoma case,
    panel-case/2 otherwise)."""
    return get_case_answer(ref, 1)


@bp.get("/cases/<ref>/matches")
def case_matches(ref: str) -> Response:
    """The open trials matched against the case, as ``flask match`` prints them."""
    return case_matches_answer(ref)


@bp.put("/cases/<ref>")
def update_case(ref: str) -> Response:
    """Replace the referral of a draft (or a case waiting for information), guarded by
    ``If-Match: <version>``."""
    return update_case_answer(ref, 1)


@bp.post("/cases/<ref>/submit")
def submit_case(ref: str) -> Response:
    """Submit the case to its panel; 422 lists every field still missing."""
    return submit_case_answer(ref, 1)


# --------------------------------------------------------------------------- letters
def _letters_case(ref: str, user: User) -> Case:
    """The case if ``user`` may read its letters (the staff letter view's rule: the panel's
    people once a record exists, the referrers once the feedback is sent); 404 otherwise."""
    from panel.feedback.letter_views import letters_visible

    case = _load_visible_case(ref, user)
    if not letters_visible(case, user):
        raise ApiError(404, "No letters for this case (or you may not read them).")
    return case


@bp.get("/cases/<ref>/letters")
def case_letters(ref: str) -> Response:
    """Every document sent for the case (letters, addenda, updated versions; HTML and PDF),
    oldest first, each with its SHA-256 and where to download its exact bytes."""
    from panel.api.documents import sent_document
    from panel.feedback.documents import documents_for

    user = current_api_user()
    case = _letters_case(ref, user)
    docs = documents_for(case)
    record_read("letters.listed", obj=case, actor=user, details={"via": "api", "count": len(docs)})
    return jsonify({"case": case.reference, "letters": [sent_document(case, d) for d in docs]})


@bp.get("/cases/<ref>/letters/<int:document_id>")
def case_letter(ref: str, document_id: int) -> Response:
    """One sent document, byte for byte as it was sent (PDF or the HTML letter sheet)."""
    from panel.feedback.documents import document_of, read_bytes

    user = current_api_user()
    case = _letters_case(ref, user)
    doc = document_of(case, document_id)
    if doc is None:
        raise ApiError(404, "No such letter for this case.")
    record_read(
        "letter.downloaded",
        obj=case,
        actor=user,
        details={"via": "api", "document_id": doc.id, "kind": doc.kind, "sha256": doc.sha256},
    )
    response = Response(read_bytes(doc), content_type=doc.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{doc.sha256}"'
    if doc.format == "pdf":
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{case.reference}-{doc.kind.replace("_", "-")}-{doc.version}.pdf"'
        )
    return response

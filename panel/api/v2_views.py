"""The JSON API v2 routes (``/api/v2``): the case-document routes in ``panel-case/2``.

They are v1's routes (:mod:`panel.api.views`) answering with ``version=2``: the same token
authentication, rate-limit budget, idempotency keys, ``If-Match``, error answers, audit and
read records; POST and PUT take either version of the document, and GET always answers
``panel-case/2``. Two routes are v2's own: the tumour-type search of the case form's picker
and the case format itself (the field table and the disease modules, as JSON).

Everything that carries no case document (letters, images, timeline, outcome checks, the
screening log, image routes, DICOMweb, ``/me``) stays in ``/api/v1`` only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Response, jsonify, request

from panel.api import bp_v2
from panel.api.errors import ApiError
from panel.api.openapi import openapi_document_v2
from panel.api.views import (
    case_matches_answer,
    create_case_answer,
    get_case_answer,
    guard,
    list_cases_answer,
    submit_case_answer,
    update_case_answer,
)
from panel.caseformat import v2
from panel.caseformat.tumours import search_tumour_types

VERSION = 2
#: The longest tumour-type search accepted (the picker sends what was typed).
MAX_QUERY = 100
DEFAULT_LIMIT = 20
MAX_LIMIT = 50

guard(bp_v2)


@bp_v2.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of ``/api/v2`` (public: it holds no data)."""
    return jsonify(openapi_document_v2())


@bp_v2.get("/cases")
def list_cases() -> Response:
    """The cases the caller may see (the same list as v1: summaries carry no document)."""
    return list_cases_answer()


@bp_v2.post("/cases")
def create_case() -> Response:
    """Create a draft from a panel-case/2 (or panel-case/1) document; answers panel-case/2."""
    return create_case_answer(VERSION)


@bp_v2.get("/cases/<ref>")
def get_case(ref: str) -> Response:
    """One case, its document in panel-case/2 whatever the tumour."""
    return get_case_answer(ref, VERSION)


@bp_v2.put("/cases/<ref>")
def update_case(ref: str) -> Response:
    """Replace a draft's document (either version), guarded by ``If-Match``."""
    return update_case_answer(ref, VERSION)


@bp_v2.post("/cases/<ref>/submit")
def submit_case(ref: str) -> Response:
    """Submit the case; 422 lists every field still missing (core, module, conditional)."""
    return submit_case_answer(ref, VERSION)


@bp_v2.get("/cases/<ref>/matches")
def case_matches(ref: str) -> Response:
    """The open trials matched against the case (the same object as v1's)."""
    return case_matches_answer(ref)


@bp_v2.get("/tumour-types")
def tumour_types() -> Response:
    """The case form's tumour-type picker: ``?q=`` searched in names, synonyms and ICD-O-3
    codes, best first; ``?limit=`` (1 to 50, default 20)."""
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        raise ApiError(400, f"q: at most {MAX_QUERY} characters.", "q")
    raw = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.", "limit")
        limit = int(raw)
    return jsonify({"q": query, "tumour_types": search_tumour_types(query, limit=limit)})


def _condition(cond: v2.Condition) -> dict[str, Any]:
    return {"field": cond.field, "when": cond.when, "values": list(cond.values), "why": cond.why}


@cache
def case_format() -> dict[str, Any]:
    """``panel-case/2`` as data: the core fields, the derived ones, the core's conditions, and
    each disease module (its fields, the tumours it applies to, its conditions)."""
    return {
        "schema": v2.SCHEMA_V2,
        "core": [f.to_dict() for f in v2.CORE_FIELDS],
        "core_conditions": [_condition(c) for c in v2.CORE_CONDITIONS],
        "derived": [f.to_dict() for f in v2.DERIVED_FIELDS],
        "modules": [
            {**m.to_dict(), "conditions": [_condition(c) for c in m.conditions]}
            for m in v2.MODULES.values()
        ],
    }


@bp_v2.get("/case-format")
def get_case_format() -> Response:
    """The ``panel-case/2`` field table and modules (what a client needs to build a form)."""
    return jsonify(case_format())

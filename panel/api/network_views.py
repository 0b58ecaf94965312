"""The API's image routes and incoming studies (issue 19).

``POST /api/v1/cases/{ref}/image-routes`` with ``{"accession_number": "..."}`` or
``{"patient_id": "..."}`` adds an image route (:func:`panel.imaging.routing.add_route`: only a
keyed HMAC of the value is kept) and answers 201 with the route, never its value. ``GET`` lists
the case's routes (kinds, dates, active or why not); ``DELETE .../image-routes/{id}`` stops one.
``GET /api/v1/cases/{ref}/incoming-studies`` lists the studies that arrived for the case from
hospital systems, with their states and reasons, as the case page shows them.

Who: routes are managed by ``Case.can_manage_image_routes`` (the case's referrers, the panel's
coordinators once submitted, while the case takes images: 409 once it no longer does); both
lists by ``Case.can_see_incoming``. Whoever may not see the case gets 404, others 403.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for

from panel.api import bp
from panel.api.auth import current_api_user
from panel.api.documents import iso
from panel.api.errors import ApiError
from panel.api.parsing import json_body
from panel.api.views import _load_visible_case
from panel.core.audit import record_read
from panel.core.db import db
from panel.core.errors import NotAllowed
from panel.imaging import netstatus, routing
from panel.imaging.netmodels import ROUTE_KINDS, ImageRoute

ROUTE_NOT_FOUND = "No image route with this id on this case."


def _route_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "created_at": iso(row["created_at"]),
        "created_by": row["created_by"],
        "active": row["active"],
        "expired_at": iso(row["expired_at"]),
        "expired_reason": row["expired_reason"],
    }


def _study_json(row: dict[str, Any]) -> dict[str, Any]:
    counts = row["counts"]
    return {
        "id": row["id"],
        "state": row["phase"],
        "source": "c-store" if row["source"] == "DICOM" else "stow-rs",
        "sender": row["sender"],
        "received_at": iso(row["received_at"]),
        "released_at": iso(row["released_at"]),
        "instances": row["instances"],
        "refused_instances": row["refused_instances"],
        "reason": row["reason"],
        "upload": row["upload"].id if row["upload"] is not None else None,
        "done": row["done"],
        "total": row["total"],
        "counts": dict(counts) if counts else None,
    }


def _may_manage(case, user) -> None:
    if case.can_manage_image_routes(user):
        return
    if case.can_see_incoming(user) and not case.takes_images_from_network():
        raise ApiError(
            409,
            f"This case is {case.status.label.lower()}: it no longer takes images from "
            "hospital systems, so its image routes cannot change.",
        )
    raise ApiError(403, "You may not change this case's image routes.")


def _may_see(case, user) -> None:
    if not case.can_see_incoming(user):
        raise ApiError(403, "You may not see this case's image routes and incoming studies.")


def _route_body() -> tuple[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "Send a JSON object with 'accession_number' or 'patient_id'.")
    unknown = sorted(set(body) - set(ROUTE_KINDS))
    if unknown:
        raise ApiError(422, f"{unknown[0][:60]}: unknown key", unknown[0][:60])
    if len(body) != 1:
        raise ApiError(
            422,
            "Send exactly one of 'accession_number' and 'patient_id'"
            + (" (not both)." if body else "."),
        )
    kind, value = next(iter(body.items()))
    if not isinstance(value, str):
        raise ApiError(422, f"{kind}: must be a string", kind)
    return kind, value


@bp.get("/cases/<ref>/image-routes")
def list_image_routes(ref: str) -> Response:
    """The case's image routes, newest first (kinds and dates, never values)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_see(case, user)
    return jsonify({"routes": [_route_json(r) for r in netstatus.route_rows(case)]})


@bp.post("/cases/<ref>/image-routes")
def add_image_route(ref: str) -> Response:
    """Add a route; 201 with it (never the value)."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_manage(case, user)
    kind, value = _route_body()
    try:
        route = routing.add_route(case, user, kind, value)
    except routing.RouteRefused as exc:
        raise ApiError(422, exc.message, kind) from None
    except NotAllowed:
        raise ApiError(403, "You may not change this case's image routes.") from None
    db.session.commit()
    by = getattr(user, "name", None)
    response = jsonify(_route_json(netstatus.route_row(route, case, by)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_image_routes", ref=case.reference)
    return response


@bp.delete("/cases/<ref>/image-routes/<int:route_id>")
def remove_image_route(ref: str, route_id: int) -> Response:
    """Stop a route (kept, expired, for the record); 200 with it."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    route = db.session.get(ImageRoute, route_id)
    _may_manage(case, user)
    if route is None or route.case_id != case.id:
        raise ApiError(404, ROUTE_NOT_FOUND)
    routing.remove_route(case, user, route)
    db.session.commit()
    rows = {r["id"]: r for r in netstatus.route_rows(case)}
    return jsonify(_route_json(rows[route.id]))


@bp.get("/cases/<ref>/incoming-studies")
def list_incoming_studies(ref: str) -> Response:
    """The studies that arrived for the case, newest first, with their states and reasons."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _may_see(case, user)
    rows = netstatus.study_rows(case)
    record_read(
        "case.viewed", obj=case, actor=user, details={"via": "api", "what": "incoming studies"}
    )
    return jsonify({"studies": [_study_json(r) for r in rows]})

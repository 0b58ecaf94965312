"""What people see of images from hospital networks (issue 19): a case's image routes and the
studies that arrived for it, in plain words, for the case page and the API.

Never a routing value (only kinds, dates and who added a route), never a study's identifiers
(only counts, states, reasons and the sender's label).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import current_app, request
from sqlalchemy import select

from panel.accounts.models import User
from panel.core.db import db
from panel.imaging import routing
from panel.imaging.models import FileStatus, StoredFile, Upload
from panel.imaging.netmodels import ImageRoute, IncomingStudy

#: An incoming study's state as people read it (``phase``) -> words and Bootstrap badge colour.
PHASES = {
    "arriving": ("Arriving", "info"),
    "waiting": ("Waiting for an image route", "secondary"),
    "deidentifying": ("De-identifying", "info"),
    "stored": ("Stored", "success"),
    "refused": ("Refused", "danger"),
    "deleted": ("Deleted unread", "secondary"),
}


def route_rows(case: Any) -> list[dict[str, Any]]:
    """The case's routes, newest first: kind, when and by whom added, active or why not."""
    routes = routing.case_routes(case)
    ids = {r.created_by_id for r in routes if r.created_by_id}
    names = (
        dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
        if ids
        else {}
    )
    return [route_row(r, case, names.get(r.created_by_id)) for r in routes]


def route_row(route: ImageRoute, case: Any, by: str | None = None) -> dict[str, Any]:
    active = route.is_active(case)
    if active:
        why = None
    elif route.expired_reason:
        why = route.expired_reason
    else:  # still unexpired, but the case no longer takes images (feedback sent, closed)
        why = f"the case is {case.status.label.lower()}"
    return {
        "route": route,
        "id": route.id,
        "kind": route.kind,
        "kind_label": route.kind_label,
        "created_at": route.created_at,
        "created_by": by,
        "active": active,
        "expired_at": route.expired_at,
        "expired_reason": why,
    }


def study_row(row: IncomingStudy) -> dict[str, Any]:
    """One incoming study in plain words: ``phase`` (see :data:`PHASES`), counts, reason."""
    upload = db.session.get(Upload, row.upload_id) if row.upload_id else None
    counts = None
    done = total = 0
    if row.state == "receiving":
        phase = "arriving"
    elif row.state == "quarantined":
        phase = "waiting"
    elif row.state == "refused":
        phase = "refused"
    elif row.state == "purged":
        phase = "deleted"
    elif upload is None:  # released, its upload since deleted
        phase = "stored"
    else:
        from panel.imaging import ingest

        state = ingest.progress(upload, files=False)
        counts, done, total = state["counts"], state["done"], state["total"]
        phase = "stored" if state["state"] == "done" else "deidentifying"
    words, colour = PHASES[phase]
    return {
        "study": row,
        "id": row.id,
        "phase": phase,
        "words": words,
        "colour": colour,
        "source": "DICOM" if row.source == "c-store" else "DICOMweb",
        "sender": row.sender.label if row.sender else "a removed sender",
        "received_at": row.received_at,
        "released_at": row.released_at,
        "instances": row.instance_count,
        "refused_instances": row.refused_count,
        "reason": row.reason,
        "upload": upload,
        "counts": counts,
        "done": done,
        "total": total,
        "in_progress": phase in ("arriving", "deidentifying"),
    }


def study_rows(case: Any) -> list[dict[str, Any]]:
    return [study_row(r) for r in routing.incoming_for_case(case)]


def stored_study_uids(upload_ids: list[int]) -> dict[int, list[str]]:
    """The de-identified Study Instance UIDs stored (released to the panel) from each upload."""
    if not upload_ids:
        return {}
    out: dict[int, list[str]] = {}
    for upload_id, uid in db.session.execute(
        select(StoredFile.upload_id, StoredFile.study_uid)
        .where(
            StoredFile.upload_id.in_(upload_ids),
            StoredFile.study_uid.is_not(None),
            StoredFile.status == FileStatus.STORED,
        )
        .distinct()
    ).all():
        out.setdefault(upload_id, []).append(uid)
    return {k: sorted(v) for k, v in out.items()}


def viewer_url(case: Any, study_uid: str) -> str | None:
    """``DICOMWEB_VIEWER_URL`` with ``{dicomweb}`` (the case's DICOMweb root, absolute) and
    ``{study}`` filled in; None when no viewer is configured."""
    template = (current_app.config.get("DICOMWEB_VIEWER_URL") or "").strip()
    if not template:
        return None
    root = request.url_root.rstrip("/")
    dicomweb = f"{root}/api/v1/cases/{case.reference}/dicomweb"
    return template.replace("{dicomweb}", quote(dicomweb, safe=":/")).replace(
        "{study}", quote(study_uid, safe="")
    )

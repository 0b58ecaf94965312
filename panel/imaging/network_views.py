"""Pages for images from hospital networks (issue 19).

* On the case page's images card, "Images from your hospital": the case's image routes (kinds
  and dates, never values) with a form to add one and a button to remove one
  (``Case.can_manage_image_routes``), and the studies that arrived for the case in plain words
  (``Case.can_see_incoming``). The block refreshes itself with htmx every 3 s while a study is
  arriving or being de-identified, and only then.
* ``/admin/dicom-senders``: the hospital systems allowed to send (AE titles, DICOMweb tokens),
  for admins; no clinical content.

Thin views: load (404) -> authorise (403) -> operate -> commit. The routing operations audit.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from panel.accounts.models import Centre
from panel.cases.queries import load_case_or_404
from panel.core.audit import record
from panel.core.auth import admin_required, signed_in_user
from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed
from panel.core.web import external_url
from panel.imaging import bp, netcli, netstatus, routing
from panel.imaging.netmodels import ROUTE_KINDS, DicomSender, ImageRoute

PREFIX = "/cases/<ref>/images"


def network_context(case: Any, user: Any, **extra: Any) -> dict[str, Any]:
    """What the "Images from your hospital" block needs (empty when the user sees none of it)."""
    may_manage = case.can_manage_image_routes(user)
    may_see = case.can_see_incoming(user)
    if not (may_manage or may_see):
        return {"network": None}
    studies = netstatus.study_rows(case) if may_see else []
    viewer = None
    if may_see and current_app.config.get("DICOMWEB_VIEWER_URL"):
        uids = netstatus.stored_study_uids([s["upload"].id for s in studies if s["upload"]])
        viewer = {}
        for s in studies:
            if s["upload"] is not None and s["phase"] == "stored":
                viewer[s["id"]] = [
                    netstatus.viewer_url(case, uid) for uid in uids.get(s["upload"].id, [])
                ]
    network = {
        "may_manage": may_manage,
        "may_see": may_see,
        "routes": netstatus.route_rows(case),
        "studies": studies,
        "viewer": viewer or {},
        "polling": any(s["in_progress"] for s in studies),
        "kinds": ROUTE_KINDS,
        "max_length": routing.MAX_LENGTH,
        "takes_images": case.takes_images_from_network(),
        "error": None,
        "kind": "accession_number",
    }
    network.update(extra)
    return {"network": network}


def _render_block(case, user, status: int = 200, **extra):
    return render_template(
        "imaging/_network.html", case=case, **network_context(case, user, **extra)
    ), status


@bp.route(PREFIX + "/network")
@login_required
def network(ref: str):
    """The "Images from your hospital" block alone (the htmx refresh)."""
    user = signed_in_user()
    case = load_case_or_404(ref, user)
    if not (case.can_see_incoming(user) or case.can_manage_image_routes(user)):
        abort(403)
    return _render_block(case, user)


def _after_change(case, user, message: str):
    if request.headers.get("HX-Request"):
        return _render_block(case, user, notice=message)
    flash(message, "success")
    return redirect(
        url_for("imaging.index", ref=case.reference, _anchor="hospital-images"), code=303
    )


@bp.route(PREFIX + "/routes", methods=["POST"])
@login_required
def add_route(ref: str):
    """Add an image route; a refused value comes back on the form (422), nothing kept."""
    user = signed_in_user()
    case = load_case_or_404(ref, user, check="can_manage_image_routes")
    kind = request.form.get("kind") or ""
    value = request.form.get("value") or ""
    try:
        routing.add_route(case, user, kind, value)
        db.session.commit()
    except routing.RouteRefused as exc:
        db.session.rollback()
        kept = kind if kind in ROUTE_KINDS else "accession_number"
        if request.headers.get("HX-Request"):
            return _render_block(case, user, 422, error=exc.message, kind=kept)
        from panel.imaging.models import case_files
        from panel.imaging.views import _listing, _recent_uploads

        ctx = _listing(case, case_files(case))
        ctx.update(network_context(case, user, error=exc.message, kind=kept))
        return render_template(
            "imaging/case_images.html", case=case, uploads=_recent_uploads(case), **ctx
        ), 422
    except NotAllowed:
        db.session.rollback()
        abort(403)
    label = ROUTE_KINDS[kind]
    return _after_change(
        case, user, f"Image route added: studies your PACS sends with this {label} come here."
    )


@bp.route(PREFIX + "/routes/<int:route_id>/remove", methods=["POST"])
@login_required
def remove_route(ref: str, route_id: int):
    user = signed_in_user()
    case = load_case_or_404(ref, user, check="can_manage_image_routes")
    route = db.session.get(ImageRoute, route_id)
    if route is None or route.case_id != case.id:
        abort(404)
    try:
        routing.remove_route(case, user, route)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    db.session.commit()
    return _after_change(case, user, "Image route removed: it no longer sends studies here.")


# --------------------------------------------------------------------------- admin: senders
def _centres() -> list[Centre]:
    return list(db.session.scalars(select(Centre).order_by(Centre.name)))


def _senders_page(status: int = 200, **extra):
    senders = db.session.scalars(
        select(DicomSender).order_by(DicomSender.revoked_at.is_not(None), DicomSender.id.desc())
    ).all()
    cfg = current_app.config
    ctx = {
        "senders": senders,
        "centres": _centres(),
        "ae_title": cfg.get("DICOM_AE_TITLE") or "PANEL",
        "port": cfg.get("DICOM_PORT", 11112),
        # From PANEL_BASE_URL, never the request's Host header (as e-mailed links are).
        "stow_url": external_url("/api/v1/dicomweb/studies"),
        "form": {},
        "errors": {},
        "web_form": {},
        "web_errors": {},
        "new_token": None,
    }
    ctx.update(extra)
    return render_template("admin/dicom_senders.html", **ctx), status


@bp.route("/admin/dicom-senders")
@admin_required
def dicom_senders():
    return _senders_page()


def _form_centre(errors: dict[str, str]) -> Centre | None:
    centre = db.session.get(Centre, request.form.get("centre_id", type=int) or 0)
    if centre is None:
        errors["centre_id"] = "Choose the centre whose studies this system sends."
    return centre


@bp.route("/admin/dicom-senders/ae", methods=["POST"])
@admin_required
def add_dicom_sender():
    """Record a calling AE title (``netcli.add_sender``'s checks); errors on the form (422)."""
    form = {
        k: (request.form.get(k) or "").strip()
        for k in ("centre_id", "ae_title", "network", "label")
    }
    errors: dict[str, str] = {}
    centre = _form_centre(errors)
    if len(form["label"]) > 120:
        errors["label"] = "A label has at most 120 characters."
    try:
        netcli.valid_ae_title(form["ae_title"])
    except ValueError as exc:
        errors["ae_title"] = _sentence(str(exc))
    try:
        netcli.valid_network(form["network"])
    except ValueError:
        errors["network"] = (
            "Enter an IP address or a network such as 10.1.0.0/16, or leave it empty."
        )
    if not errors:
        try:
            sender = netcli.add_sender(
                centre,
                form["ae_title"],
                network=form["network"] or None,
                label=form["label"] or None,
                by=current_user,
            )
        except ValueError as exc:
            errors["ae_title"] = _sentence(str(exc))
        else:
            db.session.commit()
            flash(f"{sender.label} (AE title {sender.ae_title}) may now send studies.", "success")
            return redirect(url_for("imaging.dicom_senders"), code=303)
    db.session.rollback()
    return _senders_page(422, form=form, errors=errors)


@bp.route("/admin/dicom-senders/dicomweb", methods=["POST"])
@admin_required
def add_dicomweb_sender():
    """A DICOMweb (STOW-RS) sender and its token, shown on this answer only (never stored,
    never put in the session)."""
    form = {k: (request.form.get(k) or "").strip() for k in ("centre_id", "label")}
    errors: dict[str, str] = {}
    centre = _form_centre(errors)
    if not form["label"]:
        errors["label"] = "Name the system, e.g. 'Alder Hey PACS (DICOMweb)'."
    elif len(form["label"]) > 120:
        errors["label"] = "A label has at most 120 characters."
    if errors:
        return _senders_page(422, web_form=form, web_errors=errors)
    sender = DicomSender(centre_id=centre.id, label=form["label"], created_by_id=current_user.id)
    db.session.add(sender)
    secret = routing.issue_token(sender)
    db.session.flush()
    record(
        "dicom.sender_added",
        obj=sender,
        actor=current_user,
        details={"centre": centre.code, "dicomweb": True, "label": sender.label},
    )
    db.session.commit()
    body, status = _senders_page(new_token={"sender": sender, "secret": secret})
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/dicom-senders/<int:sender_id>/revoke", methods=["POST"])
@admin_required
def revoke_dicom_sender(sender_id: int):
    sender = db.session.get(DicomSender, sender_id)
    if sender is None:
        abort(404)
    if sender.revoked_at is None:
        sender.revoked_at = utcnow()
        record(
            "dicom.sender_revoked", obj=sender, actor=current_user, details={"label": sender.label}
        )
        db.session.commit()
        flash(f"{sender.label} revoked: it can no longer send studies.", "success")
    return redirect(url_for("imaging.dicom_senders"), code=303)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")

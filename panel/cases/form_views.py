"""The multi-section referral form (new case, edit draft, submit) and its tumour picker.

Load -> authorise -> read the form -> operate -> commit -> redirect. The form posts the whole
``panel-case/2`` document (see :mod:`panel.cases.forms` for the input names): the core, and the
modules of the chosen tumour type; only the format's fields are read, so workflow status,
creator or version can never be set through it. Free text never goes to a log: errors are
logged by type only (``panel.core.web``).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from panel.accounts.models import Centre, Panel
from panel.caseformat import schema, v2
from panel.caseformat.tumours import search_tumour_types
from panel.cases import bp, forms, operations
from panel.cases.forms import CaseFormData
from panel.cases.models import Case, CaseStatus, tumour_of
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import Conflict, IdentifiersFound, NotAllowed, Refused
from panel.privacy import find_identifiers
from panel.privacy.guard import GuardFinding, guard_texts

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


_user = signed_in_user


def _show_url(ref: str) -> str:
    return url_for("cases.show", ref=ref)  # the case page (views.py)


def _code_choices(doc: dict[str, Any] | None = None) -> dict[str, list[tuple[str, str]]]:
    """The panels and centres to choose from. With ``doc``, only the panels that take its tumour
    type (``Panel.takes``), and the panel it names (so a refusal shows beside its choice)."""
    panels = db.session.scalars(select(Panel).order_by(Panel.scope, Panel.code)).all()
    if doc is not None:
        tumour = tumour_of(doc)
        panels = [p for p in panels if p.takes(tumour) or p.code == doc.get("panel")]
    centres = db.session.scalars(select(Centre).order_by(Centre.name)).all()
    return {
        "panel": [(p.code, f"{p.code} — {p.name}") for p in panels],
        "referring_centre": [(c.code, f"{c.name} ({c.city})") for c in centres],
    }


def _texts_notes(doc: dict[str, Any]) -> dict[str, forms.GuardNote]:
    """Findings of the identifier scanner in stored text (soft ones remain after a save)."""
    findings = []
    texts = dict(v2.text_fields_v2(doc))
    for path, text in texts.items():
        for f in find_identifiers(text):
            findings.append(GuardFinding(path, f.kind, f.severity, f.start, f.end, f.message))
    return forms.guard_notes(findings, texts)


def _render(
    data: CaseFormData,
    *,
    case: Case | None,
    status: int = 200,
    problems: list[schema.Problem] | None = None,
    notes: dict[str, forms.GuardNote] | None = None,
    doc: dict[str, Any] | None = None,
    version: int | None = None,
    form_token: str | None = None,
    alert: tuple[str, str] | None = None,
    submit_problems: list[schema.Problem] | None = None,
):
    if doc is None:
        doc, _ = data.copy().to_document()
    problems = problems or []
    notes = notes or {}
    errors = forms.errors_by_field(problems)
    missing = submit_problems if submit_problems is not None else v2.missing_for_submit_v2(doc)
    applicable = v2.applicable_conditionals_v2(doc)
    morphology = data.value("tumour.morphology")
    tumour = forms.tumour_item(morphology, data.value("tumour.topography")) if morphology else None
    panel_locked = case is not None and case.status != CaseStatus.DRAFT
    urgency_locked = case is not None and not case.can_set_urgency(_user())
    ctx = {
        "case": case,
        "data": data,
        "f": forms,
        "errors": errors,
        "notes": notes,
        "problems": problems,
        "missing": missing,
        "statuses": forms.section_statuses(missing, errors, notes),
        "applicable": applicable,
        "modules": forms.modules_in(doc),
        "tumour": tumour,
        "tumour_groups": forms.tumour_groups(),
        "gene_suggestions": forms.GENE_SUGGESTIONS,
        "codes": _code_choices(doc),
        "version": version if version is not None else (case.version if case else None),
        "form_token": form_token,
        "alert": alert,
        "submit_refused": submit_problems is not None,
        "panel_locked": panel_locked,
        "urgency_locked": urgency_locked,
        "show_url": _show_url(case.reference) if case else None,
        "action_url": url_for("cases.edit", ref=case.reference) if case else url_for("cases.new"),
        "schema_limits": v2.MAX_TEXT,
        "default_limit": schema.DEFAULT_MAX_TEXT,
        "max_question": schema.MAX_QUESTION,
    }
    return render_template("cases/form.html", **ctx), status


def _read_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _refused(exc: Refused, data: CaseFormData, case: Case | None, **kw):
    """Re-render after an operation refused the document (nothing was saved)."""
    db.session.rollback()
    if isinstance(exc, IdentifiersFound):
        notes = forms.guard_notes(exc.findings, exc.texts)
        n = len(exc.findings)
        message = (
            f"Not saved: {n} possible patient identifiers (highlighted below). Remove them and save again."
            if n != 1
            else "Not saved: a possible patient identifier (highlighted below). Remove it and save again."
        )
        return _render(data, case=case, status=422, notes=notes, alert=("danger", message), **kw)
    if isinstance(exc, operations.InvalidCase):
        return _render(
            data,
            case=case,
            status=422,
            problems=exc.problems,
            alert=("danger", "Not saved: check the fields marked below."),
            **kw,
        )
    if isinstance(exc, NotAllowed):
        abort(403)
    return _render(data, case=case, status=exc.status, alert=("danger", exc.message), **kw)


def _check_form(data: CaseFormData, case: Case | None, **kw):
    """Read and validate the posted document; on problems, the 422 response to return."""
    doc, problems = data.to_document()
    if not problems:
        return doc, None
    # Also the problems of what could be read, so every field to correct is marked at once.
    codes = _code_choices()
    panels = {code for code, _ in codes["panel"]}
    centres = {code for code, _ in codes["referring_centre"]}
    seen = {p.field for p in problems}
    problems += [
        p for p in v2.validate_v2(doc, panels=panels, centres=centres) if p.field not in seen
    ]
    notes: dict[str, forms.GuardNote] = {}
    try:
        guard_texts(v2.text_fields_v2(doc))
    except IdentifiersFound as exc:
        notes = forms.guard_notes(exc.findings, exc.texts)
    return doc, _render(
        data,
        case=case,
        status=422,
        problems=problems,
        notes=notes,
        doc=doc,
        alert=("danger", "Not saved: check the fields marked below."),
        **kw,
    )


def _saved_message(case: Case, warnings: list[GuardFinding]) -> None:
    flash(f"Draft {case.reference} saved.", "success")
    if len(warnings) == 1:
        flash(
            "1 possible identifier to check: highlighted under its field below. Remove it if it "
            "identifies the child or family.",
            "warning",
        )
    elif warnings:
        flash(
            f"{len(warnings)} possible identifiers to check: highlighted under their fields below. "
            "Remove any that identify the child or family.",
            "warning",
        )


def _refused_submission(case: Case, problems: list[schema.Problem], status: int):
    doc = operations.to_document(case)
    n = len(problems)
    return _render(
        CaseFormData.from_document(doc),
        case=case,
        status=status,
        doc=doc,
        submit_problems=problems,
        notes=_texts_notes(doc),
        alert=(
            "warning",
            f"Not submitted yet: {n} field{'s are' if n != 1 else ' is'} still missing "
            "(listed below). Your draft is saved.",
        ),
    )


def _submit_and_redirect(case: Case, *, just_created: bool = False):
    """Submit ``case``; on missing fields show the form with the list (422). A case created by
    this very request is shown at its own address instead (redirect, then the same list)."""
    try:
        operations.submit_case(case, by=_user())
    except operations.InvalidCase as exc:
        db.session.rollback()
        case = db.session.get(Case, case.id)
        if exc.field == "panel":  # the panel does not take the case: an error on its field
            doc = operations.to_document(case)
            return _render(
                CaseFormData.from_document(doc),
                case=case,
                status=422,
                doc=doc,
                problems=exc.problems,
                alert=("danger", "Not submitted: " + exc.problems[0].message),
            )
        if just_created:
            return redirect(url_for("cases.edit", ref=case.reference, submit="refused"))
        return _refused_submission(case, exc.problems, 422)
    except IdentifiersFound as exc:
        return _refused(exc, CaseFormData.from_document(operations.to_document(case)), case)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except StaleDataError:
        # A parallel request (a double click) changed the case first: show where it stands.
        db.session.rollback()
        case = db.session.get(Case, case.id)
        if case.status == CaseStatus.SUBMITTED:
            flash(f"{case.reference} has been submitted to {case.panel.code}.", "success")
        else:
            flash(
                "The case changed while it was being submitted. Check it and submit again if needed.",
                "warning",
            )
        return redirect(_show_url(case.reference))
    db.session.commit()
    flash(f"{case.reference} has been submitted to {case.panel.code}.", "success")
    return redirect(_show_url(case.reference))


# --------------------------------------------------------------------------- routes
@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A new referral. The first save creates the draft; ``form_token`` makes a repeated
    POST of the same form return the case it already created."""
    user = _user()
    if not user.is_referrer:
        abort(403)
    if request.method == "GET":
        data = CaseFormData.blank(referring_centre=user.centre.code if user.centre else None)
        return _render(data, case=None, form_token=secrets.token_urlsafe(24))

    token = request.form.get("form_token", "")
    token = token if _TOKEN.match(token) else secrets.token_urlsafe(24)
    data = CaseFormData.from_request(request.form)
    row_op = request.form.get("row_op")
    if row_op:
        data.apply_row_op(row_op)
        return _render(data, case=None, form_token=token)

    existing = db.session.scalar(
        select(Case).where(Case.created_by_id == user.id, Case.creation_key == token)
    )
    if existing is not None:
        flash(
            f"This form was already saved as {existing.reference}; you are editing it here.", "info"
        )
        return redirect(url_for("cases.edit", ref=existing.reference))

    doc, refused = _check_form(data, None, form_token=token)
    if refused is not None:
        return refused
    try:
        result = operations.create_case(doc, by=user, creation_key=token)
        db.session.commit()
    except Refused as exc:
        return _refused(exc, data, None, form_token=token)
    except IntegrityError:
        # The same form posted twice at the same moment: the other request made the case.
        db.session.rollback()
        existing = db.session.scalar(
            select(Case).where(Case.created_by_id == user.id, Case.creation_key == token)
        )
        if existing is None:
            raise
        return redirect(url_for("cases.edit", ref=existing.reference))
    case = result.case
    if request.form.get("action") == "submit":
        return _submit_and_redirect(case, just_created=True)
    _saved_message(case, result.warnings)
    return redirect(url_for("cases.edit", ref=case.reference))


@bp.route("/<ref>/edit", methods=["GET", "POST"])
@login_required
def edit(ref: str):
    """Edit a draft (or a case sent back for more information). The hidden ``version`` makes
    a save over someone else's newer save a conflict (409), never a silent overwrite."""
    case = load_case_or_404(ref, _user(), check="can_edit")
    if request.method == "GET":
        doc = operations.to_document(case)
        missing = v2.missing_for_submit_v2(doc)
        if request.args.get("submit") == "refused" and missing:
            return _refused_submission(case, missing, 200)
        return _render(CaseFormData.from_document(doc), case=case, doc=doc, notes=_texts_notes(doc))

    data = CaseFormData.from_request(request.form)
    if case.status != CaseStatus.DRAFT:
        data.values["panel"] = case.panel.code  # refers on only through the panel, not the form
    if not case.can_set_urgency(_user()):
        data.values["urgency"] = (
            case.urgency
        )  # the coordinator's since submission: shown, not posted
    version = _read_version()
    row_op = request.form.get("row_op")
    if row_op:
        data.apply_row_op(row_op)
        return _render(data, case=case, version=version)
    if version != case.version:
        return _conflict(data, case, version)

    doc, refused = _check_form(data, case, version=version)
    if refused is not None:
        return refused
    left = set((case.data or {}).get("modules") or {}) - forms.modules_in(doc)
    try:
        result = operations.update_case(case, doc, by=_user(), expected_version=version)
        db.session.commit()
    except Conflict:
        return _conflict(data, case, version)
    except StaleDataError:
        return _conflict(data, db.session.get(Case, case.id), version)
    except Refused as exc:
        return _refused(exc, data, case, version=version)
    morphology = (doc.get("tumour") or {}).get("morphology")
    tumour = f"the tumour type {forms.tumour_label(morphology)}" if morphology else "no tumour type"
    for name in sorted(left):
        flash(
            f"The {forms.MODULE_LABELS[name]} section does not apply to {tumour}: its fields "
            "were removed.",
            "info",
        )
    if request.form.get("action") == "submit":
        return _submit_and_redirect(case)
    _saved_message(case, result.warnings)
    return redirect(url_for("cases.edit", ref=case.reference))


def _conflict(data: CaseFormData, case: Case, version: int | None):
    """Someone saved a newer version: keep what this user typed, save nothing (409)."""
    db.session.rollback()
    case = db.session.get(Case, case.id)
    mine, _ = data.to_document()
    theirs = operations.to_document(case)
    theirs.pop("reference", None)
    changed = sorted(
        {
            forms.problem_label(forms.problem_key(f))
            for f, _, _ in operations.field_diff(theirs, mine)
        }
    )
    message = (
        "Not saved: someone else saved this referral while you were editing it. What you typed is "
        "still in the form below, but it was not saved. Open the latest version and enter your "
        "changes again."
    )
    if changed:
        message += (
            " Fields where your form differs from the saved version: " + "; ".join(changed) + "."
        )
    return _render(
        data, case=case, status=409, version=version, doc=mine, alert=("conflict", message)
    )


@bp.route("/<ref>/submit", methods=["POST"])
@login_required
def submit(ref: str):
    """Submit the saved referral to its panel (a double click submits once)."""
    case = load_case_or_404(ref, _user())
    if case.status == CaseStatus.SUBMITTED and case.is_referrer(_user()):
        return redirect(_show_url(case.reference))
    if not case.can_submit(_user()):
        abort(403)
    return _submit_and_redirect(case)


@bp.route("/tumour-types")
@login_required
def tumour_types():
    """The tumour picker's search (JSON): ``?q=rhabdo`` gives the best matches of names,
    synonyms and ICD-O-3 codes; ``?code=9260/3&topography=C40.2`` the one type, with the ICCC-3
    group and modules that site gives it. Reference data only: any signed-in user."""
    code = request.args.get("code", "")[:10]
    if code:
        item = forms.tumour_item(code, request.args.get("topography", "")[:10] or None)
        return jsonify({"results": [item] if item else []})
    query = request.args.get("q", "")[:100]
    results = [
        forms.tumour_item(r["morphology"], matched=r.get("matched", ""))
        for r in search_tumour_types(query, limit=15)
    ]
    return jsonify({"query": query, "results": [r for r in results if r]})

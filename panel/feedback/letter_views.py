"""The letters (HTML and PDF), sending the feedback, the family informed, closing the case,
the second-opinion pack, and the feedback banner on the case page.

Who reads the letters: the people of the case's panel (coordinators, chairs, members) as soon as
a record exists (marked DRAFT until approved); the case's referrers once the feedback has been
sent (404 before, as if there were no letters yet); everyone else 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from panel.accounts.forms import ConfirmForm
from panel.cases.models import Case
from panel.cases.needs import communication_needs
from panel.cases.queries import load_case_or_404
from panel.core import audit, pdf
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.web import attempt, forbidding
from panel.feedback import bp, documents, letters, sending
from panel.feedback.models import Recommendation, SentDocument

KIND = "<kind>"  # clinician | family (checked in the view: the security test fills every variable)


_user = signed_in_user


def _on_panel(case: Case, user) -> bool:
    return bool(case.panel_roles(user))


def letters_visible(case: Case, user) -> bool:
    """May ``user`` read this case's letters now (the API asks this too)?"""
    rec = db.session.scalar(select(Recommendation.id).where(Recommendation.case_id == case.id))
    return _letters_visible(case, rec, user)


def _letters_visible(case: Case, rec: Recommendation | int | None, user) -> bool:
    """May ``user`` read this case's letters now?"""
    if rec is None:
        return False
    if _on_panel(case, user):
        return True
    return case.is_referrer(user) and sending.feedback_sent(case)


def _load_letters(ref: str, kind: str = "clinician") -> tuple[Case, Recommendation]:
    if kind not in letters.KINDS:
        abort(404)
    user = _user()
    case = load_case_or_404(ref, user)
    rec = letters.recommendation_for(case)
    if not _letters_visible(case, rec, user):
        abort(404)
    return case, rec


def _attempt(case: Case, action, *, success: str):
    """Run an operation, commit and go back to the case page; a refusal because of the case's
    state rolls back and is shown as a message (nothing else changed). The operation asks the
    case's rule (``case.can_x``); when the person may not do this at all (``NotAllowed``) the
    answer is 403."""
    return attempt(
        forbidding(action),
        target=url_for("cases.show", ref=case.reference, _anchor="feedback"),
        success=success,
    )


# --------------------------------------------------------------------------- letters
def _layout(kind: str) -> str:
    """The family letter's layout asked for (``?layout=large_print``); anything unknown, or a
    layout for the clinician letter, is 404."""
    layout = request.args.get("layout", "standard")
    if layout not in letters.FAMILY_LAYOUTS or (kind != "family" and layout != "standard"):
        abort(404)
    return layout


def stored_letter(case: Case, kind: str, fmt: str, layout: str) -> SentDocument | None:
    """The newest stored letter in ``layout`` (sending stores the standard letter and each layout
    the family's communication needs ask for), or None: then the letter is rendered from the
    record, as it stands now."""
    return documents.latest(case, f"{kind}_letter", fmt, layout)


def _page(
    case: Case,
    kind: str,
    rec: Recommendation,
    doc: SentDocument | None,
    layout: str = "standard",
):
    """The letter page: a stored letter sheet byte for byte (once sent), else the draft
    rendered from the record (the family letter in ``layout``); with the list of the case's
    sent documents."""
    sent = documents.documents_for(case)
    if doc is not None:
        sheet = Markup(documents.read_bytes(doc).decode("utf-8"))  # noqa: S704 - rendered by us at sending
        letter = None
        title = documents.title(doc)
        doc_pdf = next(
            (
                d
                for d in sent
                if d.kind == doc.kind
                and d.version == doc.version
                and d.layout == doc.layout
                and d.format == "pdf"
            ),
            None,
        )
    else:
        doc_pdf = None
        sheet = None
        letter = letters.letter_context(rec, kind, layout)
        title = letter["title"]
    return render_template(
        "feedback/letters/page.html",
        case=case,
        kind=kind,
        layout=layout,
        layouts=LAYOUT_NAMES if kind == "family" else {},
        letter=letter,
        sheet=sheet,
        doc=doc,
        doc_pdf=doc_pdf,
        title=title,
        approved=doc is not None or rec.is_approved,
        documents=documents.grouped(sent, "clinician") + documents.grouped(sent, "family"),
        document_title=documents.title,
    )


PDF_TITLES = {"clinician": "Clinician letter", "family": "Letter for the family"}

#: The family letter's layouts as the staff letter page offers them.
LAYOUT_NAMES = {"standard": "Standard", "large_print": "Large print", "easy_read": "Easy read"}


def _read_details(
    kind: str, rec: Recommendation, doc: SentDocument | None, layout: str = "standard"
) -> dict:
    details = {"kind": kind, "approved": rec.is_approved}
    if layout != "standard":
        details["layout"] = layout
    if doc is not None:
        details.update(document_id=doc.id, version=doc.version, sha256=doc.sha256)
    return details


def _pdf_response(data: bytes, filename: str) -> Response:
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/cases/<ref>/letters/" + KIND)
@login_required
def letter(ref: str, kind: str):
    case, rec = _load_letters(ref, kind)
    layout = _layout(kind)
    doc = stored_letter(case, kind, "html", layout)
    audit.record_read("letter.viewed", obj=case, details=_read_details(kind, rec, doc, layout))
    return _page(case, kind, rec, doc, layout)


@bp.route("/cases/<ref>/letters/" + KIND + ".pdf", methods=["GET", "POST"])
@login_required
def letter_pdf(ref: str, kind: str):
    """The letter as PDF: once sent, the stored PDF byte for byte; before, the PDF of the
    record as it stands, laid out by a ``pdf.render`` job (the preparing page meanwhile; a POST
    tries a failed job again)."""
    case, rec = _load_letters(ref, kind)
    layout = _layout(kind)
    doc = stored_letter(case, kind, "pdf", layout)
    name = letters.pdf_filename(case, kind, layout)

    def stream(data: bytes) -> Response:
        audit.record("letter.downloaded", obj=case, details=_read_details(kind, rec, doc, layout))
        db.session.commit()
        return _pdf_response(data, name)

    extra = {"layout": layout} if layout != "standard" else {}
    if doc is not None:  # sent: stored, nothing to prepare
        if request.method == "POST":
            return redirect(url_for("feedback.letter_pdf", ref=case.reference, kind=kind, **extra))
        return stream(documents.read_bytes(doc))
    prepared = pdf.prepare(
        letters.render_letter_html(rec, kind, for_pdf=True, layout=layout),
        label=f"{kind}_letter",
        case_id=case.id,
        user_id=_user().id,
    )
    return pdf.respond(
        prepared,
        stream,
        title=PDF_TITLES[kind]
        + ("" if layout == "standard" else f" ({LAYOUT_NAMES[layout].lower()})"),
        back=url_for("feedback.letter", ref=case.reference, kind=kind, **extra),
    )


@bp.route("/cases/<ref>/documents/<int:document_id>")
@login_required
def sent_document(ref: str, document_id: int):
    """One sent document (any version, addenda too) exactly as stored: a PDF as a download,
    an HTML letter sheet in the letter page."""
    case, rec = _load_letters(ref)
    doc = documents.document_of(case, document_id)
    if doc is None:
        abort(404)
    details = _read_details(doc.audience, rec, doc)
    if doc.format == "pdf":
        audit.record("letter.downloaded", obj=case, details=details)
        db.session.commit()
        layout = "" if doc.layout == "standard" else "-" + doc.layout.replace("_", "-")
        name = f"{case.reference}-{doc.kind.replace('_', '-')}-{doc.version}{layout}.pdf"
        return _pdf_response(documents.read_bytes(doc), name)
    audit.record_read("letter.viewed", obj=case, details=details)
    return _page(case, doc.audience, rec, doc)


# --------------------------------------------------------------------------- workflow
@bp.route("/cases/<ref>/send-feedback", methods=["POST"])
@login_required
def send(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    rec = letters.recommendation_for(case)
    if rec is None:
        abort(404)
    arranged = request.form.get("translation_arranged") == "1"
    # case.can_send_feedback, asked by the operation: 403 for anyone but the panel's
    # coordinators, a message when it is too early or already sent, or when the family's
    # language is not English and "Translation arranged or not needed" is not ticked.
    return _attempt(
        case,
        lambda: sending.send_feedback(rec, by=user, translation_arranged=arranged),
        success="The feedback has been sent. The referring team has been told it is ready.",
    )


@bp.route("/cases/<ref>/family-informed", methods=["POST"])
@login_required
def family_informed(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # case.can_mark_family_informed, asked by the operation (403 for anyone but the referrers).
    return _attempt(
        case,
        lambda: sending.mark_family_informed(case, by=user),
        success="Recorded: the family has been informed.",
    )


@bp.route("/cases/<ref>/close", methods=["POST"])
@login_required
def close(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # case.can_close, asked by the operation (403 for anyone but the referrers and coordinators).
    return _attempt(
        case,
        lambda: sending.close_case(case, by=user),
        success=f"{case.reference} has been closed.",
    )


# --------------------------------------------------------------------------- second-opinion pack
@bp.route("/cases/<ref>/second-opinion-pack.zip", methods=["GET", "POST"])
@login_required
def pack(ref: str):
    """The clinician letter, the case summary and the de-identified images in one zip. Its
    two PDFs are printed by ``pdf.render`` jobs: until both are ready, the preparing page (a
    POST tries failed ones again)."""
    from panel.core.storage import get_storage
    from panel.feedback.pack import build_pack, pack_filename, prepare_pdfs

    user = _user()
    case, rec = _load_letters(ref)
    if not case.is_referrer_or_coordinator(user):
        abort(403)
    letter_pdf, summary_pdf = prepare_pdfs(rec, user_id=user.id)
    waiting = next((p for p in (letter_pdf, summary_pdf) if not p.ready), None)
    if waiting is not None or request.method == "POST":
        if request.method == "POST":
            for p in (letter_pdf, summary_pdf):
                pdf.retry(p)
        return pdf.respond(
            waiting or summary_pdf,
            lambda _data: redirect(url_for("feedback.pack", ref=case.reference)),
            title="Second-opinion pack",
            back=url_for("cases.show", ref=case.reference),
        )
    storage = get_storage()
    path = build_pack(rec, storage, (letter_pdf.data, summary_pdf.data))
    audit.record("case.second_opinion_pack", obj=case, details={"approved": rec.is_approved})
    db.session.commit()
    fh = open(path, "rb")  # noqa: SIM115 - closed with the response
    path.unlink()  # the open handle keeps the data until the response is sent
    resp = send_file(
        fh,
        mimetype="application/zip",
        as_attachment=True,
        download_name=pack_filename(case),
        max_age=0,
    )
    resp.call_on_close(fh.close)
    return resp


# --------------------------------------------------------------------------- case page banner
def _can_edit_trials(user: Any) -> bool:
    from panel.trials.models import Trial

    return Trial.can_edit(user)


def feedback_banner(case: Case) -> dict[str, Any] | None:
    """What the feedback banner on the case page shows this user (None: nothing). One query
    (the record), whatever the user."""
    user = _user()
    if not getattr(user, "is_authenticated", False):
        return None
    is_referrer = case.is_referrer(user)
    roles = case.panel_roles(user)
    if not (is_referrer or roles) or case.submitted_at is None:
        return None
    rec = db.session.scalar(
        select(Recommendation)
        .where(Recommendation.case_id == case.id)
        .options(
            lazyload(Recommendation.answers),
            lazyload(Recommendation.follow_ups),
            lazyload(Recommendation.amendments),
        )
    )
    sent = sending.feedback_sent(case)
    is_coordinator = case.is_coordinated_by(user)
    can_send = case.can_send_feedback(user)
    return {
        "rec": rec,
        "sent": sent,
        "is_referrer": is_referrer,
        "is_coordinator": is_coordinator,
        "on_panel": bool(roles),
        "letters": _letters_visible(case, rec, user),
        "can_send": can_send,
        # Approved, but a suggested trial has no words for families (cleared since approval):
        # the coordinator sees which, instead of the send button.
        "plain_missing": (
            rec.trials_without_plain_words()
            if not can_send and is_coordinator and rec is not None and rec.is_approved and not sent
            else []
        ),
        "can_edit_trials": _can_edit_trials(user),
        "needs": communication_needs(case),
        "can_mark_informed": case.can_mark_family_informed(user),
        "can_close": case.can_close(user),
        "can_pack": rec is not None and ((is_referrer and sent) or is_coordinator),
        "turnaround": sending.turnaround(case) if (is_referrer or is_coordinator) else [],
    }

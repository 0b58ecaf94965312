"""Family access pages (public: no account, no e-mail, no name) and the referrer's codes.

The family side never carries a case id or reference in a URL or in the Flask session: the
session holds only the random token of a server-side family session (``FamilySession``, its
SHA-256 stored), and every request checks that session and its code again in the database, so
leaving, a revoked or expired code and the 2-hour limit stop it at once, also for a saved copy
of the cookie. That session key is not a login: staff pages still need a signed-in user
(Flask-Login), and signing in clears it.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from panel.cases.queries import load_case_or_404
from panel.core import audit
from panel.core.auth import signed_in_user
from panel.core.db import db, utcnow
from panel.core.errors import IdentifiersFound, Refused
from panel.core.extensions import limiter
from panel.core.web import external_url
from panel.feedback import bp, documents, family, sending
from panel.feedback.forms import FamilyCodeForm, FamilyQuestionForm, NewCodeForm
from panel.feedback.letter_views import stored_letter
from panel.feedback.letters import FAMILY_LAYOUTS
from panel.feedback.models import (
    FamilyAccessCode,
    FamilySession,
    Recommendation,
    RecommendationStatus,
)

SESSION_KEY = "family_access"

BAD_CODE = (
    "This code did not work. Check it against the paper from your child's doctor and try again."
)
INACTIVE_CODE = "This code is no longer active. Please ask your child's doctor for a new one."
LOCKED = "Too many codes that did not work were tried from here. Please wait {minutes} minutes and try again."
CLOSED = {
    "timeout": "For your privacy the page closed after a while. Please type your code again.",
    "ended": "This page was closed. Please type your code again.",
}
IDENTIFIERS = (
    "Your question was not sent: it seems to contain a name, a date, a number or an address. "
    "Please leave those out (the panel does not need them) and send it again."
)


def _family_limit() -> str:
    return current_app.config["RATELIMIT_FAMILY"]


# --------------------------------------------------------------------------- the family session
def _start_family_session(token: str) -> None:
    session.pop(SESSION_KEY, None)
    session[SESSION_KEY] = {"token": token}


def _session_token() -> str | None:
    data = session.get(SESSION_KEY)
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) else None


def _end_family_session() -> None:
    session.pop(SESSION_KEY, None)


def _family_code(reasons: list[str] | None = None) -> FamilyAccessCode | None:
    """The live code of this browser's family session, or None (and the session key is
    dropped); ``reasons`` receives "inactive", "ended" or "timeout" when a session existed
    but is over."""
    if session.get(SESSION_KEY) is None:
        return None
    result = family.check_session(_session_token())
    if result.reason != "ok":
        _end_family_session()
        if reasons is not None and result.reason != "unknown":
            reasons.append(result.reason)
        return None
    return result.code


def _require_family():
    """The session's code, or a redirect to the entry page with a message."""
    reasons: list[str] = []
    code = _family_code(reasons)
    if code is None:
        if "inactive" in reasons:
            flash(INACTIVE_CODE, "warning")
        elif reasons:
            flash(CLOSED[reasons[0]], "info")
        return None, redirect(url_for("feedback.family_enter"))
    return code, None


def _recommendation(code: FamilyAccessCode) -> Recommendation | None:
    rec = db.session.scalar(select(Recommendation).where(Recommendation.case_id == code.case_id))
    return rec if rec is not None and rec.status == RecommendationStatus.APPROVED else None


def _family_read(code: FamilyAccessCode, action: str, details: dict) -> None:
    """The family read its letter: recorded with the code as the actor (no account)."""
    audit.record_read(action, obj=code.case, actor_label=family.actor_label(code), details=details)


def _letter_context(rec: Recommendation | None):
    """The family letter rendered from the record: only for a case whose letters were sent
    before they were stored (every letter sent since is served as stored)."""
    if rec is None:
        return None
    from panel.feedback.letters import family_context

    return family_context(rec)


def _previous_visit(code: FamilyAccessCode):
    """When this code's previous family session began (None: this is the first)."""
    starts = list(
        db.session.scalars(
            select(FamilySession.created_at)
            .where(FamilySession.code_id == code.id)
            .order_by(FamilySession.created_at.desc())
            .limit(2)
        )
    )
    return starts[1] if len(starts) > 1 else None


def _family_page(code: FamilyAccessCode, rec: Recommendation | None) -> dict:
    """What the family page shows: the chosen document (``?document=ID``, default the newest
    letter) byte for byte, the list of every document, a plain notice when a new answer is
    waiting, and the state of the family's question."""
    case = code.case
    sent = documents.documents_for(case)
    entries = documents.grouped(sent, "family")
    wanted = request.args.get("document", type=int)
    doc = next(
        (d for d in sent if d.id == wanted and d.audience == "family" and d.format == "html"),
        None,
    )
    if doc is None:
        doc = next((e["html"] for e in entries if e["kind"] == "family_letter" and e["html"]), None)
    previous = _previous_visit(code)
    for e in entries:
        e["new"] = previous is None or e["sent_at"] > previous
    waiting = [e for e in entries if e["is_addendum"] and e["new"]]
    states = documents.question_states(case, rec)
    family_questions = [
        {"text": q.text, **states[q.id]}
        for q in case.questions
        if q.source == "family" and q.id in states
    ]
    return {
        "doc": doc,
        "sheet": Markup(documents.read_bytes(doc).decode("utf-8")) if doc is not None else None,  # noqa: S704 - rendered by us at sending
        "letter": _letter_context(rec) if doc is None else None,
        "entries": entries,
        "waiting": waiting,
        "pending_questions": [q for q in family_questions if not q["answered"]],
        "answered_questions": [q for q in family_questions if q["answered"]],
    }


# --------------------------------------------------------------------------- public pages
@bp.route("/family", methods=["GET", "POST"])
@limiter.limit(_family_limit, methods=["POST"], key_func=family.limiter_key)
def family_enter():
    form = FamilyCodeForm()
    if request.method == "GET":
        if _family_code() is not None:
            return redirect(url_for("feedback.family_letter"))
        return render_template("feedback/family/enter.html", form=form)

    ip = request.remote_addr
    if family.locked_until(ip):
        family.record_locked_attempt()
        db.session.commit()
        flash(LOCKED.format(minutes=family.lockout_minutes()), "danger")
        return render_template("feedback/family/enter.html", form=form, locked=True), 429
    if not form.validate_on_submit():
        return render_template("feedback/family/enter.html", form=form), 422

    # Many failures everywhere: every attempt waits a little, right or wrong (never refused).
    delay = family.global_delay()
    db.session.commit()  # hold no transaction (SQLite's write lock) and no connection while waiting
    family.wait(delay)

    result = family.attempt(form.code.data, delay=delay)
    if result.reason != "ok":
        locked = family.register_failure(ip)
        db.session.commit()
        if locked:
            flash(LOCKED.format(minutes=family.lockout_minutes()), "danger")
            return render_template("feedback/family/enter.html", form=form, locked=True), 429
        flash(INACTIVE_CODE if result.reason in ("revoked", "expired") else BAD_CODE, "danger")
        form.code.data = ""
        return render_template("feedback/family/enter.html", form=form), 401

    token = family.start_session(result.code)
    db.session.commit()
    _start_family_session(token)
    return redirect(url_for("feedback.family_letter"))


@bp.route("/family/letter")
def family_letter():
    code, away = _require_family()
    if away:
        return away
    rec = _recommendation(code)
    page = _family_page(code, rec)
    if rec is not None:
        details = {"kind": "family", "code_id": code.id}
        if page["doc"] is not None:
            details.update(document_id=page["doc"].id, sha256=page["doc"].sha256)
        _family_read(code, "letter.viewed", details)
    return render_template(
        "feedback/family/letter.html",
        code=code,
        case=code.case,
        rec=rec,
        **page,
        document_title=documents.title,
        form=FamilyQuestionForm(),
        question_max=family.QUESTION_MAX,
        question_min=family.QUESTION_MIN,
    )


@bp.route("/family/letter.pdf", methods=["GET", "POST"])
def family_letter_pdf():
    code, away = _require_family()
    if away:
        return away
    rec = _recommendation(code)
    if rec is None:
        abort(404)
    details = {"kind": "family", "code_id": code.id}
    layout = request.args.get("layout", "standard")
    if layout not in FAMILY_LAYOUTS:
        abort(404)
    if layout != "standard":
        details["layout"] = layout
    wanted = request.args.get("document", type=int)
    if wanted is not None:
        doc = documents.document_of(code.case, wanted)
        if doc is None or doc.audience != "family" or doc.format != "pdf":
            abort(404)
    else:
        doc = stored_letter(code.case, "family", "pdf", layout)
    if doc is not None:
        details.update(document_id=doc.id, sha256=doc.sha256)
        name = (
            "letter-from-the-panel"
            if doc.kind == "family_letter" and doc.version == 1
            else f"{doc.kind.replace('_', '-')}-{doc.version}"
        )
        if doc.layout != "standard":
            name += "-" + doc.layout.replace("_", "-")
        name += ".pdf"
    else:
        name = (
            "letter-from-the-panel.pdf"
            if layout == "standard"
            else f"letter-from-the-panel-{layout.replace('_', '-')}.pdf"
        )

    def stream(data: bytes) -> Response:
        _family_read(code, "letter.downloaded", details)
        return Response(
            data,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    if doc is not None:  # stored when sent: byte for byte
        if request.method == "POST":
            return redirect(request.full_path.rstrip("?"))
        return stream(documents.read_bytes(doc))
    # Sent before letters were stored, or a layout not stored: from the record, printed by a
    # pdf.render job (the preparing page meanwhile).
    from panel.core import pdf
    from panel.feedback.letters import render_letter_html

    prepared = pdf.prepare(
        render_letter_html(rec, "family", for_pdf=True, layout=layout),
        label="family_letter",
        case_id=code.case_id,
    )
    return pdf.respond(
        prepared,
        stream,
        title="Your letter from the panel",
        base="feedback/family/base.html",
        back=url_for("feedback.family_letter"),
    )


@bp.route("/family/question", methods=["POST"])
@limiter.limit(_family_limit, key_func=family.limiter_key)
def family_question():
    code, away = _require_family()
    if away:
        return away
    form = FamilyQuestionForm()
    text = form.text.data or ""
    if form.validate_on_submit():
        try:
            family.send_question(code, text)
        except IdentifiersFound:
            db.session.rollback()
            flash(IDENTIFIERS, "danger")
        except Refused as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(
                "Thank you. Your question has been sent to your child's doctor and the panel.",
                "success",
            )
            return redirect(url_for("feedback.family_letter", _anchor="question"))
    else:
        flash("Please write your question.", "danger")
    # Keep what they wrote: re-render instead of redirecting.
    code = _family_code()
    if code is None:
        return redirect(url_for("feedback.family_enter"))
    rec = _recommendation(code)
    return render_template(
        "feedback/family/letter.html",
        code=code,
        case=code.case,
        rec=rec,
        **_family_page(code, rec),
        document_title=documents.title,
        form=form,
        question_max=family.QUESTION_MAX,
        question_min=family.QUESTION_MIN,
        draft=text,
    ), 422


@bp.route("/family/leave", methods=["POST"])
def family_leave():
    if family.end_session(_session_token(), reason="left"):
        db.session.commit()
    _end_family_session()
    flash("You have left the page. Use your code again to come back.", "info")
    return redirect(url_for("feedback.family_enter"))


# --------------------------------------------------------------------------- referrer side
_user = signed_in_user


@bp.route("/cases/<ref>/family-codes", methods=["POST"])
@login_required
def family_code_create(ref: str):
    case = load_case_or_404(ref, _user(), check="can_manage_family_codes")
    form = NewCodeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        code, plain = family.create_code(case, by=_user(), days=int(form.days.data))
    except Refused as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("cases.show", ref=case.reference, _anchor="family-access"))
    db.session.commit()
    # Rendered in the POST response, never stored or redirected to: it cannot be shown again.
    resp = Response(
        render_template(
            "feedback/family/code.html",
            case=case,
            code=code,
            plain=plain,
            groups=plain.split("-"),
            family_url=external_url("feedback.family_enter"),
        )
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/cases/<ref>/family-codes/<int:code_id>/revoke", methods=["POST"])
@login_required
def family_code_revoke(ref: str, code_id: int):
    case = load_case_or_404(ref, _user(), check="can_manage_family_codes")
    code = db.session.scalar(
        select(FamilyAccessCode).where(
            FamilyAccessCode.id == code_id, FamilyAccessCode.case_id == case.id
        )
    )
    if code is None:
        abort(404)
    try:
        family.revoke_code(code, by=_user())
    except Refused as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(f"The code ending {code.hint} no longer works.", "success")
    return redirect(url_for("cases.show", ref=case.reference, _anchor="family-access"))


def family_access(case):
    """What the case page's "Family access" card needs, or None for people who may not see it
    (only the case's referrers, once feedback has been sent)."""
    user = current_user._get_current_object() if current_user else None
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not case.can_manage_family_codes(user)
    ):
        return None
    if not sending.feedback_sent(case):
        return None
    codes, now = family.codes_for(case), utcnow()
    return {
        "codes": codes,
        "active": sum(family.is_usable(c, now) for c in codes),
        "form": NewCodeForm(),
        "now": now,
        "family_url": external_url("feedback.family_enter"),
    }

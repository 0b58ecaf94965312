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
from sqlalchemy import select

from panel.cases.queries import load_case_or_404
from panel.core import audit
from panel.core.auth import signed_in_user
from panel.core.db import db, utcnow
from panel.core.errors import IdentifiersFound, Refused
from panel.core.extensions import limiter
from panel.core.web import external_url
from panel.feedback import bp, family, sending
from panel.feedback.forms import FamilyCodeForm, FamilyQuestionForm, NewCodeForm
from panel.feedback.models import FamilyAccessCode, Recommendation, RecommendationStatus

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
    """E's ``family_context`` when it is available (imported lazily)."""
    if rec is None:
        return None
    try:
        from panel.feedback.letters import family_context
    except ImportError:  # pragma: no cover - the letters module is part of the app
        return None
    # Online the family reads it as it is: no "[treating consultant]" blanks to fill in.
    return {**family_context(rec), "online": True}


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
    if rec is not None:
        _family_read(code, "letter.viewed", {"kind": "family", "code_id": code.id})
    return render_template(
        "feedback/family/letter.html",
        code=code,
        case=code.case,
        rec=rec,
        letter=_letter_context(rec),
        form=FamilyQuestionForm(),
        question_max=family.QUESTION_MAX,
        question_min=family.QUESTION_MIN,
    )


@bp.route("/family/letter.pdf")
def family_letter_pdf():
    code, away = _require_family()
    if away:
        return away
    rec = _recommendation(code)
    if rec is None:
        abort(404)
    try:
        from panel.feedback.letters import render_letter_pdf
    except ImportError:  # pragma: no cover
        abort(404)
    pdf = render_letter_pdf(rec, "family")
    _family_read(code, "letter.downloaded", {"kind": "family", "code_id": code.id})
    if isinstance(pdf, Response):
        return pdf
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="letter-from-the-panel.pdf"'},
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
        letter=_letter_context(rec),
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

"""Sign-in, two-factor authentication, logout, password reset and the account page."""

from __future__ import annotations

import base64
import io
import time

import qrcode
import qrcode.image.svg
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select, update

from panel.accounts import bp, operations, throttle
from panel.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    LoginForm,
    ResetRequestForm,
    SetPasswordForm,
    TotpForm,
)
from panel.accounts.models import PasswordResetToken, User, UserSession
from panel.accounts.passwords import needs_rehash, verify_password
from panel.accounts.sessions import end_all_sessions, end_session, start_session
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.extensions import limiter
from panel.core.web import safe_next

PENDING_TTL = 300  # seconds between the password step and the second factor
BAD_LOGIN = "E-mail or password is incorrect."
LOCKED = "Too many failed sign-in attempts. Try again in {minutes} minutes, or reset your password."


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _reset_limit() -> str:
    return current_app.config["RATELIMIT_RESET"]


def _locked_message() -> str:
    minutes = int(current_app.config["LOGIN_LOCKOUT"].total_seconds() // 60)
    return LOCKED.format(minutes=minutes)


ACCOUNT_LOCKED = (
    "Too many wrong passwords for this account: you have been signed out. "
    "Sign in again in {minutes} minutes, or reset your password."
)


def _signed_out_after_lockout(user: User):
    """The account page's answer to a password lock-out: end this server-side session,
    sign the browser out and say why (the failures are already counted and audited)."""
    end_session(user.get_id(), "password_lockout")
    audit.record("logout", obj=user, actor=user, details={"reason": "password_lockout"})
    db.session.commit()
    logout_user()
    session.clear()
    minutes = int(current_app.config["LOGIN_LOCKOUT"].total_seconds() // 60)
    flash(ACCOUNT_LOCKED.format(minutes=minutes), "danger")
    return redirect(url_for("accounts.login"))


def _complete_login(user: User, how: str):
    next_url = safe_next(session.get("login_next"))
    session.clear()  # no state from before the login survives it (fixation)
    start_session(user)
    login_user(user)
    user.last_login_at = utcnow()
    audit.record("login.success", obj=user, actor=user, details={"second_factor": how})
    db.session.commit()
    return redirect(next_url or url_for("core.home"))


def _pending_user() -> User | None:
    uid, started = session.get("pending_uid"), session.get("pending_at", 0)
    if not uid or time.time() - started > PENDING_TTL:
        return None
    user = db.session.get(User, uid)
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if request.method == "GET":
        session["login_next"] = safe_next(request.args.get("next"))
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form), (
            422 if request.method == "POST" else 200
        )

    email = form.email.data
    if throttle.locked_until(email):
        audit.record("login.refused_locked", actor_label="(sign-in form)", details={})
        db.session.commit()
        flash(_locked_message(), "danger")
        return render_template("accounts/login.html", form=form), 429

    user = User.by_email(email)
    usable = user is not None and user.active
    ok = verify_password(user.password_hash if usable else None, form.password.data)
    if not ok:
        locked = throttle.register_failure(email)
        audit.record(
            "login.failure",
            actor=user if user is not None else None,
            actor_label=user.email if user is not None else "(unknown account)",
            details={"reason": "bad_credentials" if usable or user is None else "inactive"},
        )
        if locked:
            audit.record("login.lockout", actor_label=user.email if user else "(unknown account)")
        db.session.commit()
        flash(_locked_message() if locked else BAD_LOGIN, "danger")
        return render_template("accounts/login.html", form=form), (429 if locked else 401)

    throttle.clear(email)
    if needs_rehash(user.password_hash):
        from panel.accounts.passwords import hash_password

        user.password_hash = hash_password(form.password.data)
    db.session.commit()
    if user.totp_enabled or user.requires_totp:
        next_url = session.get("login_next")
        session.clear()
        session["login_next"] = next_url
        session["pending_uid"] = user.id
        session["pending_at"] = time.time()
        if user.totp_enabled:
            return redirect(url_for("accounts.login_totp"))
        return redirect(url_for("accounts.enrol_totp"))
    return _complete_login(user, "none")


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login_totp():
    user = _pending_user()
    if user is None or not user.totp_enabled:
        flash("Please sign in again.", "info")
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    # Second-factor failures count on their own key, which a correct password does not clear:
    # re-entering the password cannot buy more guesses at the code.
    factor_key = f"totp:{user.id}"
    if form.validate_on_submit():
        if throttle.locked_until(user.email) or throttle.locked_until(factor_key):
            session.clear()
            flash(_locked_message(), "danger")
            return redirect(url_for("accounts.login"))
        if operations.check_totp(user, form.code.data):
            throttle.clear(user.email)
            throttle.clear(factor_key)
            return _complete_login(user, "totp")
        locked = throttle.register_failure(factor_key)
        audit.record("login.totp_failure", obj=user, actor=user)
        if locked:
            audit.record("login.lockout", obj=user, actor=user)
        db.session.commit()
        if locked:
            session.clear()
            flash(_locked_message(), "danger")
            return redirect(url_for("accounts.login"))
        form.code.errors.append("That code is not right (or was already used). Try the next one.")
        return render_template("accounts/totp.html", form=form), 401
    return render_template("accounts/totp.html", form=form), (
        422 if request.method == "POST" else 200
    )


def _qr_data_uri(uri: str) -> str:
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def _enrolment_page(user: User, form: TotpForm, status: int = 200):
    uri = operations.totp_uri(user)
    return render_template(
        "accounts/enrol_totp.html",
        form=form,
        qr=_qr_data_uri(uri),
        secret=user.totp_pending_secret,
        required=user.requires_totp,
        needs_password=current_user.is_authenticated and user.totp_enabled,
    ), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def enrol_totp():
    """First sign-in of a user whose roles require two-factor authentication."""
    user = _pending_user()
    if user is None or user.totp_enabled:
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    if request.method == "GET" or not user.totp_pending_secret:
        operations.begin_totp_enrolment(user)
        db.session.commit()
        return _enrolment_page(user, form)
    if form.validate_on_submit() and operations.check_totp(user, form.code.data, pending=True):
        operations.confirm_totp_enrolment(user)
        return _complete_login(user, "totp_enrolled")
    form.code.errors.append("That code does not match. Check the time on your phone and try again.")
    return _enrolment_page(user, form, 422)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("core.home"))
    user = current_user._get_current_object()
    end_session(user.get_id(), "logout")
    audit.record("logout", obj=user, actor=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = User.by_email(form.email.data)
        if user is not None and user.active:
            operations.issue_reset_link(user)
            db.session.commit()
        # The same answer whether or not the account exists.
        flash(
            "If that address belongs to an account, a reset link is on its way. It works once, for one hour.",
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    row = operations.consume_reset_token(token)
    if row is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = SetPasswordForm(user=row.user)
    if form.validate_on_submit():
        # Claim the link atomically: two submissions racing with one link cannot both win.
        claimed = db.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            return render_template("accounts/reset_invalid.html"), 404
        operations.set_password(row.user, form.new_password.data, reason="reset link")
        db.session.commit()
        flash("Your password is set. Please sign in.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, user=row.user), (
        422 if request.method == "POST" else 200
    )


@bp.route("/account")
@login_required
def account():
    sessions = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == current_user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return render_template(
        "accounts/account.html",
        password_form=ChangePasswordForm(user=current_user),
        sessions=sessions,
        confirm=ConfirmForm(),
    )


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm(user=user)
    if form.validate_on_submit():
        check = operations.check_current_password(
            user, form.current_password.data, action="change_password"
        )
        if check is operations.PasswordCheck.LOCKED:
            return _signed_out_after_lockout(user)
        if check is operations.PasswordCheck.OK:
            old_token = user.get_id()
            operations.set_password(user, form.new_password.data, reason="account page")
            # Every earlier cookie, this browser's included, is now useless: start afresh.
            end_session(old_token, "password_changed")
            session.clear()
            start_session(user)
            login_user(user)
            db.session.commit()
            flash(
                "Password changed. Every other session has been signed out and any API tokens you had are revoked.",
                "success",
            )
            return redirect(url_for("accounts.account"))
        db.session.commit()  # the counted failure
        form.current_password.errors.append("This is not your current password.")
    sessions = []
    return render_template(
        "accounts/account.html", password_form=form, sessions=sessions, confirm=ConfirmForm()
    ), 422


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    if ConfirmForm().validate_on_submit():
        user = current_user._get_current_object()
        n = end_all_sessions(user, "ended_by_user", keep_token=user.get_id())
        audit.record("user.sessions_ended", obj=user, actor=user, details={"sessions_ended": n})
        db.session.commit()
        flash(f"Signed out {n} other session{'s' if n != 1 else ''}.", "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def account_totp():
    """Turn on (or renew) two-factor authentication from the account page."""
    user = current_user._get_current_object()
    form = TotpForm()
    if request.method == "GET" or not user.totp_pending_secret:
        operations.begin_totp_enrolment(user)
        db.session.commit()
        return _enrolment_page(user, form)
    if user.totp_enabled:
        # Replacing an active second factor needs the password: a borrowed session is not enough.
        check = operations.check_current_password(
            user, request.form.get("password"), action="replace_totp"
        )
        if check is operations.PasswordCheck.LOCKED:
            return _signed_out_after_lockout(user)
        if check is not operations.PasswordCheck.OK:
            db.session.commit()  # the counted failure
            form.validate_on_submit()
            form.code.errors.append(
                "Enter your current password to move two-factor authentication to a new phone."
            )
            return _enrolment_page(user, form, 422)
    if form.validate_on_submit() and operations.check_totp(user, form.code.data, pending=True):
        operations.confirm_totp_enrolment(user)
        db.session.commit()
        flash("Two-factor authentication is on.", "success")
        return redirect(url_for("accounts.account"))
    form.code.errors.append("That code does not match. Check the time on your phone and try again.")
    return _enrolment_page(user, form, 422)


@bp.route("/account/totp/disable", methods=["POST"])
@login_required
def disable_totp():
    user = current_user._get_current_object()
    if ConfirmForm().validate_on_submit():
        check = operations.check_current_password(
            user, request.form.get("password"), action="disable_totp"
        )
        if check is operations.PasswordCheck.LOCKED:
            return _signed_out_after_lockout(user)
        if check is not operations.PasswordCheck.OK:
            db.session.commit()  # the counted failure
            flash("Enter your current password to turn off two-factor authentication.", "danger")
            return redirect(url_for("accounts.account"))
        try:
            operations.disable_totp(user, by=user)
        except operations.AccountError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("accounts.account"))
        db.session.commit()
        flash("Two-factor authentication is off.", "info")
    return redirect(url_for("accounts.account"))

"""Every change to accounts: flush and audit, never commit (the caller commits once)."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import timedelta

import pyotp
from flask import current_app
from sqlalchemy import select, update

from panel.accounts import throttle
from panel.accounts.models import (
    ApiToken,
    Panel,
    PanelRole,
    PanelRoleKind,
    PasswordResetToken,
    User,
    normalise_email,
)
from panel.accounts.passwords import hash_password, verify_password
from panel.accounts.sessions import end_all_sessions
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.mail import queue_mail
from panel.core.web import external_url


class AccountError(ValueError):
    """An account change that is not allowed; the message is shown to the user."""


class PanelScopeError(AccountError):
    """A panel's scope or words that cannot be saved; ``field`` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def create_user(
    *,
    email: str,
    name: str,
    centre_id: int | None = None,
    is_referrer: bool = False,
    is_admin: bool = False,
    password: str | None = None,
    by: User | None = None,
    is_demo: bool = False,
) -> User:
    """Create a staff account. Without a password the user sets one through an invitation."""
    email = normalise_email(email)
    if User.by_email(email) is not None:
        raise AccountError("An account with this e-mail already exists.")
    user = User(
        email=email,
        name=name.strip(),
        centre_id=centre_id,
        is_referrer=is_referrer,
        is_admin=is_admin,
        is_demo=is_demo,
    )
    if password:
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created",
        obj=user,
        actor=by,
        details={
            "email": email,
            "centre_id": centre_id,
            "is_referrer": is_referrer,
            "is_admin": is_admin,
        },
    )
    return user


def update_user(user: User, *, by: User, **changes) -> dict:
    """Change a user's name, e-mail, centre or flags; returns the audited diff."""
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
        other = User.by_email(changes["email"])
        if other is not None and other.id != user.id:
            raise AccountError("An account with this e-mail already exists.")
    if changes.get("is_admin") is False and user.is_admin:
        _ensure_another_admin(user)
    before = {k: getattr(user, k) for k in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    delta = audit.diff(before, changes)
    if delta:
        db.session.flush()
        audit.record("user.updated", obj=user, actor=by, details={"changes": delta})
        if changes.get("is_admin") and not before.get("is_admin"):
            revoke_api_tokens(user, reason=GAINED_TWO_FACTOR_ROLE, by=by)
    return delta


def _ensure_another_admin(user: User) -> None:
    others = db.session.scalar(
        select(db.func.count())
        .select_from(User)
        .where(User.is_admin, User.active, User.id != user.id)
    )
    if not others:
        raise AccountError("Panel needs at least one active administrator.")


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate (every session ends at once) or reactivate an account."""
    if user.active == active:
        return
    if not active:
        if by.id == user.id:
            raise AccountError("You cannot deactivate your own account.")
        if user.is_admin:
            _ensure_another_admin(user)
    user.active = active
    if not active:
        end_all_sessions(user, "deactivated")
    db.session.flush()
    audit.record("user.deactivated" if not active else "user.reactivated", obj=user, actor=by)
    if not active:
        # API tokens end too: reactivating an account does not bring old tokens back.
        revoke_api_tokens(user, reason="deactivated", by=by)


def add_panel_role(user: User, panel: Panel, role: PanelRoleKind, *, by: User | None) -> PanelRole:
    """Give ``user`` a role on ``panel``. Chairs are members too."""
    if role in user.roles_on(panel.id):
        raise AccountError(f"{user.name} is already {role.value} of {panel.code}.")
    pr = PanelRole(user=user, panel=panel, role=role)
    db.session.add(pr)
    db.session.flush()
    audit.record(
        "user.role_added",
        obj=user,
        actor=by,
        panel_id=panel.id,
        details={"panel": panel.code, "role": role.value},
    )
    if role.needs_two_factor:
        revoke_api_tokens(user, reason=GAINED_TWO_FACTOR_ROLE, by=by)
    return pr


def remove_panel_role(role: PanelRole, *, by: User) -> None:
    user, panel = role.user, role.panel
    db.session.delete(role)
    db.session.flush()
    db.session.expire(user, ["panel_roles"])
    audit.record(
        "user.role_removed",
        obj=user,
        actor=by,
        panel_id=panel.id,
        details={"panel": panel.code, "role": role.role.value},
    )


def set_password(user: User, password: str, *, reason: str, keep_token: str | None = None) -> None:
    """Store a new password, end every earlier session of the user and revoke their API
    tokens (a token made by whoever knew the old password must not outlive it)."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = end_all_sessions(user, "password_changed", keep_token=keep_token)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    db.session.flush()
    audit.record(
        "user.password_changed",
        obj=user,
        actor=user,
        details={"how": reason, "sessions_ended": ended},
    )
    revoke_api_tokens(user, reason="password_changed", by=user)


#: Why tokens are revoked when someone is made admin, chair or coordinator: a token made for
#: lesser access must not silently gain the new powers (nor skip the two-factor enrolment).
GAINED_TWO_FACTOR_ROLE = "gained_role_needing_two_factor"


def revoke_api_token(token: ApiToken, *, by: User | None, reason: str) -> bool:
    """Revoke one API token (refused from the next request on, in every process), audited.
    Returns False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        "api_token.revoked",
        object_type="api_token",
        object_id=token.id,
        actor=by,
        details={
            "user_id": token.user_id,
            "name": token.name,
            "prefix": token.prefix,
            "reason": reason,
        },
    )
    return True


def lock_account(user: User) -> None:
    """Hold ``user``'s row until the transaction ends (PostgreSQL: a row lock; SQLite
    transactions already hold the write lock), so that making a token and revoking all of them
    cannot interleave: a token made while a password changes is either revoked or made after."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def revoke_api_tokens(user: User, *, reason: str, by: User | None) -> int:
    """Revoke every API token of ``user`` that is not yet revoked (each one audited, with
    ``reason``); returns how many."""
    lock_account(user)
    live = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    ).all()
    return sum(revoke_api_token(token, by=by, reason=reason) for token in live)


class PasswordCheck(enum.Enum):
    """The answer to a signed-in user's re-entered password."""

    OK = "ok"
    WRONG = "wrong"
    #: Locked out (by this failure or earlier ones): the caller ends the session.
    LOCKED = "locked"


def check_current_password(user: User, password: str | None, *, action: str) -> PasswordCheck:
    """Check the current password that a signed-in user typed to ``action`` (change the
    password, turn two-factor authentication on or off).

    Failures count on the sign-in lock-out of the account's e-mail (the same counter as the
    sign-in form), so a borrowed session gives no extra guesses. While a lock-out is in force
    the password is not even checked: a right one does not lift it. Audited.
    """
    if throttle.locked_until(user.email):
        audit.record(
            "account.password_refused_locked", obj=user, actor=user, details={"action": action}
        )
        return PasswordCheck.LOCKED
    if verify_password(user.password_hash, password or ""):
        throttle.clear(user.email)
        return PasswordCheck.OK
    locked = throttle.register_failure(user.email)
    audit.record("account.password_failure", obj=user, actor=user, details={"action": action})
    if locked:
        audit.record("login.lockout", obj=user, actor=user, details={"action": action})
        return PasswordCheck.LOCKED
    return PasswordCheck.WRONG


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_reset_link(user: User, *, invitation: bool = False, by: User | None = None) -> str:
    """Create a single-use link and queue the e-mail. The host comes from PANEL_BASE_URL."""
    token = secrets.token_urlsafe(32)
    ttl = current_app.config["PASSWORD_RESET_TTL"]
    if invitation:
        ttl = max(ttl, timedelta(days=3))
    db.session.add(
        PasswordResetToken(
            token_hash=_token_hash(token), user_id=user.id, expires_at=utcnow() + ttl
        )
    )
    link = external_url("accounts.reset_password", token=token)
    hours = int(ttl.total_seconds() // 3600)
    if invitation:
        subject = "Your Panel account"
        body = (
            f"Hello {user.name},\n\nAn account on Panel has been created for you.\n"
            f"Choose your password here (the link works once, for {hours} hours):\n\n{link}\n"
        )
    else:
        subject = "Reset your Panel password"
        body = (
            f"Hello {user.name},\n\nSomeone (hopefully you) asked to reset your Panel password.\n"
            f"The link below works once, for {hours} hour{'s' if hours != 1 else ''}:\n\n{link}\n\n"
            "If you did not ask for this, ignore this e-mail; your password stays as it is.\n"
        )
    queue_mail(user.email, subject, body)
    db.session.flush()
    audit.record("user.invited" if invitation else "user.reset_requested", obj=user, actor=by)
    return token


def consume_reset_token(token: str) -> PasswordResetToken | None:
    """The live reset token for ``token``, or None (unknown, used or expired)."""
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    if not row.user.active:
        return None
    return row


def begin_totp_enrolment(user: User) -> str:
    """A new pending secret; the active one (if any) stays in force until the user proves
    they have the new one."""
    user.totp_pending_secret = pyotp.random_base32()
    db.session.flush()
    return user.totp_pending_secret


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_pending_secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TOTP_ISSUER"]
    )


def check_totp(user: User, code: str, *, pending: bool = False) -> bool:
    """Verify a code (one step of clock drift allowed); a code is accepted only once."""
    secret = user.totp_pending_secret if pending else user.totp_secret
    if not secret:
        return False
    code = "".join(ch for ch in code if ch.isdigit())
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for drift in (0, -1, 1):
        at = now + timedelta(seconds=30 * drift)
        step = totp.timecode(at)
        if totp.verify(code, for_time=at, valid_window=0):
            # Claim the step atomically: two requests racing with one code cannot both win.
            claimed = db.session.execute(
                update(User)
                .where(User.id == user.id)
                .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                return False
            user.totp_last_step = step
            return True
    return False


def confirm_totp_enrolment(user: User) -> None:
    """Make the pending secret the active one."""
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_enabled_at = utcnow()
    db.session.flush()
    audit.record("user.totp_enabled", obj=user, actor=user)


def disable_totp(user: User, *, by: User) -> None:
    if user.requires_totp:
        raise AccountError("Two-factor authentication is required for your roles.")
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.flush()
    audit.record("user.totp_disabled", obj=user, actor=by)


# --------------------------------------------------------------------------- panels
def _codes(text: str) -> list[str]:
    return [c for c in (text or "").replace(",", " ").split() if c]


def update_panel_scope(
    panel: Panel,
    *,
    by: User,
    takes_iccc: str,
    takes_morphology: str,
    takes_words: str,
    takes_source: str,
    family_words: str,
    family_words_source: str,
) -> dict:
    """Change what a panel takes and its family words (issue 20); returns the audited diff.
    Raises :class:`PanelScopeError` naming the field: unknown ICCC-3 subgroups or ICD-O-3
    codes (the ones in ``tumour_types.json``), a scope without its words, a fact without its
    source."""
    from panel.caseformat import tumours

    subgroups = tumours._load()["iccc_subgroups"]
    iccc = _codes(takes_iccc)
    morphology = _codes(takes_morphology)
    unknown = [c for c in iccc if c not in subgroups]
    if unknown:
        raise PanelScopeError(
            "takes_iccc", f"Not an ICCC-3 subgroup Panel knows: {', '.join(unknown)} (e.g. IVa)."
        )
    unknown = [c for c in morphology if tumours.get_tumour_type(c) is None]
    if unknown:
        raise PanelScopeError(
            "takes_morphology",
            f"Not an ICD-O-3 code of Panel's tumour list: {', '.join(unknown)} (e.g. 9500/3).",
        )
    takes_words, family_words = (takes_words or "").strip(), (family_words or "").strip()
    takes_source, family_words_source = (
        (takes_source or "").strip(),
        (family_words_source or "").strip(),
    )
    if (iccc or morphology) and not takes_words:
        raise PanelScopeError(
            "takes_words", "Say what the panel takes in words (e.g. neuroblastoma)."
        )
    if (iccc or morphology or takes_words) and not takes_source:
        raise PanelScopeError(
            "takes_source", "Give the source of the scope and its date, or say it is unknown."
        )
    if family_words and not family_words_source:
        raise PanelScopeError("family_words_source", "Give the source of these words and its date.")
    changes = {
        "takes_iccc": sorted(set(iccc), key=iccc.index),
        "takes_morphology": sorted(set(morphology), key=morphology.index),
        "takes_words": takes_words,
        "takes_source": takes_source,
        "family_words": family_words,
        "family_words_source": family_words_source,
    }
    before = {k: getattr(panel, k) for k in changes}
    for key, value in changes.items():
        setattr(panel, key, value)
    delta = audit.diff(before, changes)
    if delta:
        db.session.flush()
        audit.record("panel.updated", obj=panel, actor=by, details={"changes": delta})
    return delta

"""Family access without identity: codes the referrer hands to the family.

A code is long and random (25 characters from an alphabet without look-alikes, about 124
bits), shown once and stored only as an HMAC keyed with the app's secret. It opens the family
letter of one case and lets the family send one follow-up question. Failed attempts are
counted per client address (and over all addresses) in the database, so every app process
sees the same lock-out; every attempt is audited without the code itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import select, update

from panel.accounts.models import LoginThrottle, PanelRoleKind, User
from panel.cases.models import Case, CaseQuestion, CaseStatus
from panel.cases.operations import CaseError, Conflict, NotAllowed, add_question
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.notify import case_referrers, notify, panel_people
from panel.feedback.models import FamilyAccessCode

#: No 0/O, 1/I/L: easy to read aloud and to type from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LEN = 5, 5
CODE_LEN = GROUPS * GROUP_LEN  # 25 characters: 25 * log2(31) ~ 124 bits
DEFAULT_DAYS = 90
MAX_DAYS = 365
QUESTION_MIN, QUESTION_MAX = 10, 1000  # the panel-case/1 format caps a question at 1000

#: Throttle defaults (overridable in the app config).
DEFAULTS = {
    "FAMILY_MAX_FAILURES": 5,
    "FAMILY_FAILURE_WINDOW": timedelta(minutes=15),
    "FAMILY_LOCKOUT": timedelta(minutes=15),
    # Over all addresses together: a distributed guesser is slowed down too.
    "FAMILY_GLOBAL_MAX_FAILURES": 200,
}


def _cfg(name: str):
    return current_app.config.get(name, DEFAULTS[name])


# --------------------------------------------------------------------------- codes
def normalise(plain: str) -> str:
    """Upper case without dashes, spaces or other separators."""
    return "".join(ch for ch in (plain or "").upper() if ch.isalnum())


def format_code(normalised: str) -> str:
    """``ABCDE-FGHJK-...`` for printing."""
    return "-".join(normalised[i : i + GROUP_LEN] for i in range(0, len(normalised), GROUP_LEN))


def code_hash(plain: str) -> str:
    """The keyed hash stored for a code (never the code itself)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"family-code:" + normalise(plain).encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))


def feedback_sent(case: Case) -> bool:
    return case.feedback_sent_at is not None or case.status in (CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED)


def can_manage_codes(case: Case, user: User) -> bool:
    """The case's referrers (creator and co-referrers) hand codes to the family."""
    return case.is_referrer(user)


def is_usable(code: FamilyAccessCode, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return code.revoked_at is None and code.expires_at > now


def create_code(case: Case, *, by: User, days: int = DEFAULT_DAYS) -> tuple[FamilyAccessCode, str]:
    """Make a new family access code for ``case``; returns the row and the plain code, which
    is never stored and must be shown to the referrer now. Only a referrer of the case, and
    only once feedback has been sent."""
    if not can_manage_codes(case, by):
        raise NotAllowed("Only the case's referrers can give the family an access code.")
    if not feedback_sent(case):
        raise Conflict("A family access code can be made once the panel's feedback has been sent.")
    if not 1 <= int(days) <= MAX_DAYS:
        raise CaseError(f"A code can be valid for 1 to {MAX_DAYS} days.", "days")
    plain = _new_code()
    now = utcnow()
    code = FamilyAccessCode(
        case_id=case.id,
        code_hash=code_hash(plain),
        hint=plain[-4:],
        created_by_id=by.id,
        created_at=now,
        expires_at=now + timedelta(days=int(days)),
        uses=0,
    )
    db.session.add(code)
    db.session.flush()
    audit.record(
        "family_code.created", obj=case, actor=by,
        details={"code_id": code.id, "hint": code.hint, "expires_at": code.expires_at.isoformat()},
    )
    return code, format_code(plain)


def revoke_code(code: FamilyAccessCode, *, by: User) -> FamilyAccessCode:
    """Stop a code from working (at once, for every browser that used it)."""
    if not can_manage_codes(code.case, by):
        raise NotAllowed("Only the case's referrers can revoke a family access code.")
    if code.revoked_at is not None:
        raise Conflict("This code has already been revoked.")
    code.revoked_at = utcnow()
    code.revoked_by_id = by.id
    db.session.flush()
    audit.record("family_code.revoked", obj=code.case, actor=by, details={"code_id": code.id, "hint": code.hint})
    return code


def codes_for(case: Case) -> list[FamilyAccessCode]:
    return list(db.session.scalars(
        select(FamilyAccessCode).where(FamilyAccessCode.case_id == case.id).order_by(FamilyAccessCode.created_at.desc())
    ))


def _family_label(code: FamilyAccessCode | None) -> str:
    return f"(family, code …{code.hint})" if code is not None else "(family access form)"


actor_label = _family_label  # the audit trail's actor for what a family (no account) does


@dataclass
class Attempt:
    code: FamilyAccessCode | None
    reason: str  # "ok", "malformed", "unknown", "expired", "revoked"


def check(plain: str) -> Attempt:
    """Look the code up (by its keyed hash: no comparison loop over codes) without side effects."""
    norm = normalise(plain)
    if len(norm) != CODE_LEN or any(ch not in ALPHABET for ch in norm):
        return Attempt(None, "malformed")
    code = db.session.scalar(select(FamilyAccessCode).where(FamilyAccessCode.code_hash == code_hash(norm)))
    if code is None:
        return Attempt(None, "unknown")
    if code.revoked_at is not None:
        return Attempt(code, "revoked")
    if code.expires_at <= utcnow():
        return Attempt(code, "expired")
    return Attempt(code, "ok")


def attempt(plain: str) -> Attempt:
    """Try a typed code: on success count the use; either way write the audit entry (the
    reason kind only, never the code)."""
    result = check(plain)
    code = result.code
    if result.reason == "ok":
        code.uses = (code.uses or 0) + 1
        code.last_used_at = utcnow()
        db.session.flush()
        audit.record("family_code.used", obj=code.case, actor_label=_family_label(code),
                     details={"code_id": code.id, "hint": code.hint})
    else:
        details = {"reason": result.reason}
        if code is not None:
            details["code_id"] = code.id
        audit.record("family_code.failed", obj=code.case if code is not None else None,
                     object_type=None if code is not None else "family_code",
                     actor_label=_family_label(None), details=details)
    return result


def redeem(plain: str) -> FamilyAccessCode | None:
    """The code's row if ``plain`` is a live code (use counted, audited), else None."""
    result = attempt(plain)
    return result.code if result.reason == "ok" else None


def live_code(code_id: int | None) -> FamilyAccessCode | None:
    """The code held by a family session, if it still works (not revoked, not expired)."""
    if not code_id:
        return None
    code = db.session.get(FamilyAccessCode, int(code_id))
    return code if code is not None and is_usable(code) else None


# --------------------------------------------------------------------------- throttle
def _ip_key(ip: str | None) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, b"family-ip:" + (ip or "unknown").encode(), hashlib.sha256).hexdigest()
    # Login keys are bare hex digests: the prefix keeps the two kinds apart (the column is 64).
    return "family:" + digest[:57]


GLOBAL_KEY = "family:all"


def locked_until(ip: str | None) -> datetime | None:
    """When the lock-out for this address (or for everyone) ends, or None."""
    now = utcnow()
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([_ip_key(ip), GLOBAL_KEY])))
    ends = [r.locked_until for r in rows if r.locked_until and r.locked_until > now]
    return max(ends) if ends else None


def _count(key: str, limit: int) -> bool:
    now = utcnow()
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        db.session.add(row)
    if now - row.window_started_at > _cfg("FAMILY_FAILURE_WINDOW"):
        row.failures = 0
        row.window_started_at = now
    row.failures = (row.failures or 0) + 1
    locked = row.failures >= limit
    if locked:
        row.locked_until = now + _cfg("FAMILY_LOCKOUT")
        row.failures = 0
        row.window_started_at = now
    db.session.flush()
    return locked


def register_failure(ip: str | None) -> bool:
    """Count a failed attempt from ``ip`` (and overall); True when it locked the address.

    A success does not clear the count: one good code must not buy unlimited guesses."""
    locked = _count(_ip_key(ip), int(_cfg("FAMILY_MAX_FAILURES")))
    if _count(GLOBAL_KEY, int(_cfg("FAMILY_GLOBAL_MAX_FAILURES"))):
        audit.record("family_code.global_lockout", object_type="family_code", actor_label=_family_label(None))
        locked = True
    return locked


def lockout_minutes() -> int:
    return max(1, int(_cfg("FAMILY_LOCKOUT").total_seconds() // 60))


# --------------------------------------------------------------------------- question
def send_question(code: FamilyAccessCode, text: str) -> CaseQuestion:
    """The family's one follow-up question: a new parents' question on the case (source
    "family"); the panel's coordinators and the referrers are told (no clinical text)."""
    text = (text or "").strip()
    if code.question_sent_at is not None:
        raise Conflict("A question has already been sent with this code. Please ask your child's doctor.")
    if len(text) < QUESTION_MIN:
        raise CaseError(f"Please write your question (at least {QUESTION_MIN} characters).", "question")
    if len(text) > QUESTION_MAX:
        raise CaseError(f"Please keep your question to {QUESTION_MAX} characters or fewer.", "question")
    # Claim the one question atomically: two tabs sending at once create one question.
    claimed = db.session.execute(
        update(FamilyAccessCode)
        .where(FamilyAccessCode.id == code.id, FamilyAccessCode.question_sent_at.is_(None))
        .values(question_sent_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict("A question has already been sent with this code. Please ask your child's doctor.")
    case = code.case
    question = add_question(case, text, by=None, source="family")  # scans for identifiers
    db.session.refresh(code)
    audit.record("question.added_by_family", obj=case, actor_label=_family_label(code),
                 details={"question_id": question.id, "code_id": code.id})
    coordinators = panel_people(case.panel_id, PanelRoleKind.COORDINATOR)
    notify(
        [*coordinators, *case_referrers(case)],
        kind="family_question",
        text=f"A family follow-up question arrived on {case.reference}.",
        link=url_for("cases.show", ref=case.reference, _anchor="questions"),
    )
    return question

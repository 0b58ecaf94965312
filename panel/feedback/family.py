"""Family access without identity: codes the referrer hands to the family.

A code is long and random (25 characters from an alphabet without look-alikes, about 124
bits), shown once and stored only as an HMAC keyed with the app's secret. It opens the family
letter of one case and lets the family send one follow-up question.

Guessing: failed attempts are counted in the database (so every app process sees the same
counts) per client address, an IPv6 address counted with its whole /64 (one household or
host usually holds a whole /64), and over all addresses together. Too many from one address
lock that address out for a while. Many over all addresses never lock anyone out (that would
let a guesser lock every family out): every attempt, right or wrong, then waits a short,
bounded delay before it is checked, so mass guessing is slowed and a right code still works.
Every attempt is audited without the code itself.

A typed code opens a family session: a server-side row (:class:`FamilySession`) whose random
token the browser holds in its signed Flask session; only the token's SHA-256 is stored. The
session ends when the family leaves, when the code is revoked, and after 2 hours, so a saved
cookie is refused after any of these.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from panel.accounts.models import LoginThrottle, User
from panel.cases import workflow
from panel.cases.models import Case, CaseQuestion
from panel.cases.operations import add_question
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.feedback.models import FamilyAccessCode, FamilySession
from panel.feedback.sending import feedback_sent

#: No 0/O, 1/I/L: easy to read aloud and to type from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LEN = 5, 5
CODE_LEN = GROUPS * GROUP_LEN  # 25 characters: 25 * log2(31) ~ 124 bits
DEFAULT_DAYS = 90
MAX_DAYS = 365
QUESTION_MIN, QUESTION_MAX = 10, 1000  # the panel-case/1 format caps a question at 1000

#: How the slow-down waits (tests replace it, so they never really sleep).
sleep = time.sleep


def _cfg(name: str):
    """A ``FAMILY_*`` throttle setting (defaults in config.py)."""
    return current_app.config[name]


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


def is_usable(code: FamilyAccessCode, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return code.revoked_at is None and code.expires_at > now


def create_code(case: Case, *, by: User, days: int = DEFAULT_DAYS) -> tuple[FamilyAccessCode, str]:
    """Make a new family access code for ``case``; returns the row and the plain code, which
    is never stored and must be shown to the referrer now. Only a referrer of the case, and
    only once feedback has been sent."""
    if not case.can_manage_family_codes(by):
        raise NotAllowed("Only the case's referrers can give the family an access code.")
    if not feedback_sent(case):
        raise Conflict("A family access code can be made once the panel's feedback has been sent.")
    if not 1 <= int(days) <= MAX_DAYS:
        raise Refused(f"A code can be valid for 1 to {MAX_DAYS} days.", "days")
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
        "family_code.created",
        obj=case,
        actor=by,
        details={"code_id": code.id, "hint": code.hint, "expires_at": code.expires_at.isoformat()},
    )
    return code, format_code(plain)


def revoke_code(code: FamilyAccessCode, *, by: User) -> FamilyAccessCode:
    """Stop a code from working (at once, for every browser that used it): its family
    sessions end too."""
    if not code.case.can_manage_family_codes(by):
        raise NotAllowed("Only the case's referrers can revoke a family access code.")
    if code.revoked_at is not None:
        raise Conflict("This code has already been revoked.")
    now = utcnow()
    code.revoked_at = now
    code.revoked_by_id = by.id
    db.session.flush()
    ended = db.session.execute(
        update(FamilySession)
        .where(
            FamilySession.code_id == code.id,
            FamilySession.ended_at.is_(None),
            FamilySession.expires_at > now,
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        "family_code.revoked",
        obj=code.case,
        actor=by,
        details={"code_id": code.id, "hint": code.hint, "sessions_ended": ended},
    )
    return code


def codes_for(case: Case) -> list[FamilyAccessCode]:
    return list(
        db.session.scalars(
            select(FamilyAccessCode)
            .where(FamilyAccessCode.case_id == case.id)
            .order_by(FamilyAccessCode.created_at.desc())
        )
    )


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
    code = db.session.scalar(
        select(FamilyAccessCode)
        .where(FamilyAccessCode.code_hash == code_hash(norm))
        .options(joinedload(FamilyAccessCode.case))
    )
    if code is None:
        return Attempt(None, "unknown")
    if code.revoked_at is not None:
        return Attempt(code, "revoked")
    if code.expires_at <= utcnow():
        return Attempt(code, "expired")
    return Attempt(code, "ok")


def attempt(plain: str, *, delay: float = 0.0) -> Attempt:
    """Try a typed code: on success count the use; either way write the audit entry (the
    reason kind only, never the code; ``delay``, the slow-down the attempt waited, if any)."""
    result = check(plain)
    code = result.code
    slowed = {"delay_ms": round(delay * 1000)} if delay > 0 else {}
    if result.reason == "ok":
        code.uses = (code.uses or 0) + 1
        code.last_used_at = utcnow()
        db.session.flush()
        audit.record(
            "family_code.used",
            obj=code.case,
            actor_label=_family_label(code),
            details={"code_id": code.id, "hint": code.hint, **slowed},
        )
    else:
        details = {"reason": result.reason, **slowed}
        if code is not None:
            details["code_id"] = code.id
        audit.record(
            "family_code.failed",
            obj=code.case if code is not None else None,
            object_type=None if code is not None else "family_code",
            actor_label=_family_label(None),
            details=details,
        )
    return result


def redeem(plain: str) -> FamilyAccessCode | None:
    """The code's row if ``plain`` is a live code (use counted, audited), else None."""
    result = attempt(plain)
    return result.code if result.reason == "ok" else None


# --------------------------------------------------------------------------- family sessions
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(code: FamilyAccessCode) -> str:
    """Open a family session on a code that was just typed; returns the random token for the
    browser's (signed) Flask session. Only its SHA-256 is stored, with the code and the expiry."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = FamilySession(
        token_hash=_token_hash(token),
        code_id=code.id,
        created_at=now,
        expires_at=now + _cfg("FAMILY_SESSION_TTL"),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "family_session.started",
        obj=code.case,
        actor_label=_family_label(code),
        details={
            "code_id": code.id,
            "session_id": row.id,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return token


@dataclass
class SessionCheck:
    session: FamilySession | None
    reason: str  # "ok", "unknown", "inactive" (code revoked or expired), "ended", "timeout"

    @property
    def code(self) -> FamilyAccessCode | None:
        return self.session.code if self.reason == "ok" else None


def check_session(token: str | None) -> SessionCheck:
    """The family session of ``token`` and whether it still opens the letter: its code still
    works, it was not ended (left, or the code revoked) and its 2 hours are not over. Reads only."""
    if not token or not isinstance(token, str):
        return SessionCheck(None, "unknown")
    row = db.session.scalar(
        select(FamilySession)
        .options(joinedload(FamilySession.code).joinedload(FamilyAccessCode.case))
        .where(FamilySession.token_hash == _token_hash(token))
    )
    if row is None:
        return SessionCheck(None, "unknown")
    if not is_usable(row.code):
        return SessionCheck(row, "inactive")
    if row.ended_at is not None:
        return SessionCheck(row, "ended")
    if row.expires_at <= utcnow():
        return SessionCheck(row, "timeout")
    return SessionCheck(row, "ok")


def end_session(token: str | None, *, reason: str = "left") -> bool:
    """End the family session of ``token`` on the server (the family left), so a saved copy of
    the cookie no longer works; True when it was open. Audited."""
    if not token or not isinstance(token, str):
        return False
    row = db.session.scalar(
        select(FamilySession).where(FamilySession.token_hash == _token_hash(token))
    )
    if row is None:
        return False
    now = utcnow()
    ended = db.session.execute(
        update(FamilySession)
        .where(FamilySession.id == row.id, FamilySession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended != 1:
        return False
    db.session.refresh(row)
    code = row.code
    audit.record(
        "family_session.ended",
        obj=code.case,
        actor_label=_family_label(code),
        details={"code_id": code.id, "session_id": row.id, "reason": reason},
    )
    return True


# --------------------------------------------------------------------------- throttle
def address_group(ip: str | None) -> str:
    """The unit the per-address limit counts: an IPv4 address itself (also when written as
    IPv4-mapped IPv6), an IPv6 address's /64 (a host or household can pick any address in
    it), anything unparsable as it is."""
    try:
        addr = ipaddress.ip_address((ip or "").split("%", 1)[0])
    except ValueError:
        return ip or "unknown"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(addr) >> 64 << 64, 64)))
    return str(addr)


def limiter_key() -> str:
    """Flask-Limiter's key for the family forms: the client's address group."""
    return "family:" + address_group(request.remote_addr)


def _ip_key(ip: str | None) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(
        secret, b"family-ip:" + address_group(ip).encode(), hashlib.sha256
    ).hexdigest()
    # Login keys are bare hex digests: the prefix keeps the two kinds apart (the column is 64).
    return "family:" + digest[:57]


GLOBAL_KEY = "family:all"


def locked_until(ip: str | None) -> datetime | None:
    """When the lock-out of this address (group) ends, or None. There is no lock-out for
    everyone: see :func:`global_delay`."""
    row = db.session.get(LoginThrottle, _ip_key(ip))
    now = utcnow()
    return (
        row.locked_until
        if row is not None and row.locked_until and row.locked_until > now
        else None
    )


def record_locked_attempt() -> None:
    """Audit an attempt refused because its address is locked out (the code is not checked)."""
    audit.record(
        "family_code.failed",
        object_type="family_code",
        actor_label=_family_label(None),
        details={"reason": "locked"},
    )


def delay_for(failures: int) -> float:
    """Seconds every attempt waits when ``failures`` codes failed over all addresses in the
    window: none below FAMILY_SLOWDOWN_AFTER, then FAMILY_SLOWDOWN_STEP more per failure, at
    most FAMILY_SLOWDOWN_MAX."""
    start = int(_cfg("FAMILY_SLOWDOWN_AFTER"))
    if failures < start:
        return 0.0
    return min(
        float(_cfg("FAMILY_SLOWDOWN_MAX")),
        float(_cfg("FAMILY_SLOWDOWN_STEP")) * (failures - start + 1),
    )


def global_failures() -> int:
    """Failed attempts over all addresses in the current window."""
    row = db.session.get(LoginThrottle, GLOBAL_KEY)
    if row is None or utcnow() - row.window_started_at > _cfg("FAMILY_FAILURE_WINDOW"):
        return 0
    return row.failures or 0


def global_delay() -> float:
    """The slow-down the next attempt waits (0 while few codes fail)."""
    return delay_for(global_failures())


def wait(seconds: float) -> None:
    """Wait out the slow-down (outside any database transaction: the view commits first)."""
    if seconds > 0:
        sleep(seconds)


def _count(key: str) -> LoginThrottle:
    now = utcnow()
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        db.session.add(row)
    if now - row.window_started_at > _cfg("FAMILY_FAILURE_WINDOW"):
        row.failures = 0
        row.window_started_at = now
    row.failures = (row.failures or 0) + 1
    return row


def register_failure(ip: str | None) -> bool:
    """Count a failed attempt from ``ip`` (its address group) and overall; True when it
    locked the address group. The overall count never locks anyone out; reaching the
    slow-down threshold is audited once per window.

    A success does not clear the count: one good code must not buy unlimited guesses."""
    row = _count(_ip_key(ip))
    locked = row.failures >= int(_cfg("FAMILY_MAX_FAILURES"))
    if locked:
        row.locked_until = utcnow() + _cfg("FAMILY_LOCKOUT")
        row.failures = 0
        row.window_started_at = utcnow()
    overall = _count(GLOBAL_KEY)
    overall.locked_until = None  # a lock-out for everyone from an older version no longer applies
    db.session.flush()
    if overall.failures == int(_cfg("FAMILY_SLOWDOWN_AFTER")):
        audit.record(
            "family_code.global_slowdown",
            object_type="family_code",
            actor_label=_family_label(None),
            details={
                "failures": overall.failures,
                "delay_ms": round(delay_for(overall.failures) * 1000),
            },
        )
    return locked


def lockout_minutes() -> int:
    return max(1, int(_cfg("FAMILY_LOCKOUT").total_seconds() // 60))


# --------------------------------------------------------------------------- question
def send_question(code: FamilyAccessCode, text: str) -> CaseQuestion:
    """The family's one follow-up question: a new parents' question on the case (source
    "family"); the panel's coordinators and the referrers are told (no clinical text)."""
    text = (text or "").strip()
    if code.question_sent_at is not None:
        raise Conflict(
            "A question has already been sent with this code. Please ask your child's doctor."
        )
    if len(text) < QUESTION_MIN:
        raise Refused(
            f"Please write your question (at least {QUESTION_MIN} characters).", "question"
        )
    if len(text) > QUESTION_MAX:
        raise Refused(
            f"Please keep your question to {QUESTION_MAX} characters or fewer.", "question"
        )
    # Claim the one question atomically: two tabs sending at once create one question.
    claimed = db.session.execute(
        update(FamilyAccessCode)
        .where(FamilyAccessCode.id == code.id, FamilyAccessCode.question_sent_at.is_(None))
        .values(question_sent_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict(
            "A question has already been sent with this code. Please ask your child's doctor."
        )
    case = code.case
    question = add_question(case, text, by=None, source="family")  # scans for identifiers
    db.session.refresh(code)
    workflow.apply(
        case,
        "family_question",
        by=None,
        text=text,
        details={"question_id": question.id, "code_id": code.id},
        actor_label=_family_label(code),
    )
    return question

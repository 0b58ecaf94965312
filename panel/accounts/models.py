"""People and organisations: centres, panels, users, their roles and their sessions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.core.db import UTCDateTime, db, utcnow


class PanelRoleKind(enum.StrEnum):
    MEMBER = "member"
    CHAIR = "chair"
    COORDINATOR = "coordinator"

    @property
    def needs_two_factor(self) -> bool:
        """Chairs and coordinators must use two-factor authentication (members need not)."""
        return self in (PanelRoleKind.CHAIR, PanelRoleKind.COORDINATOR)


class Centre(db.Model):
    """A children's cancer principal treatment centre (and possibly a trial site)."""

    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    ecmc_panel_code: Mapped[str | None] = mapped_column(String(32))

    def __repr__(self) -> str:
        return f"<Centre {self.code}>"


class Panel(db.Model):
    """An advisory panel: the national panel (NAP) or a regional ECMC panel."""

    __tablename__ = "panels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))
    remit: Mapped[str] = mapped_column(Text, default="")
    quorum: Mapped[int] = mapped_column(default=3)
    # What the panel takes (issue 20): ICCC-3 subgroups (``IVa``) and ICD-O-3 morphology codes
    # (``9500/3``); both empty = any tumour type. ``takes_words`` names them in a sentence
    # ("neuroblastoma", "any relapsed or refractory childhood cancer"); sources in panels.json.
    takes_iccc: Mapped[list[str]] = mapped_column(JSON, default=list)
    takes_morphology: Mapped[list[str]] = mapped_column(JSON, default=list)
    takes_words: Mapped[str] = mapped_column(String(200), default="")
    takes_source: Mapped[str] = mapped_column(Text, default="")
    # Who the panel is, in the family letter's own words (whole sentences, grade 6 or below).
    family_words: Mapped[str] = mapped_column(Text, default="")
    family_words_source: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint("scope IN ('national', 'regional')", name="scope"),)

    audit_type = "panel"

    def __repr__(self) -> str:
        return f"<Panel {self.code}>"

    @property
    def takes_any_tumour(self) -> bool:
        """No tumour scope: the panel takes any tumour type (the ECMC panels)."""
        return not (self.takes_iccc or self.takes_morphology)

    def refusal_for(self, case_or_tumour: Any) -> str | None:
        """Why this panel does not take a case (a :class:`~panel.cases.models.Case`, or its
        ``tumour`` dict with ICD-O-3 ``morphology`` and maybe ``topography``); ``None`` when it
        takes it.

        A panel without a scope takes any tumour. A tumour type not recorded yet is not refused
        (the form offers every panel until the tumour is known; the case format asks for it
        before submission). A morphology in the scope is taken; so is one whose ICCC-3 subgroup
        is (when ICCC-3 places it by site and the site is unknown, every subgroup it can fall
        in must be in the scope)."""
        from panel.caseformat import tumours

        if self.takes_any_tumour:
            return None
        tumour = getattr(case_or_tumour, "tumour", case_or_tumour) or {}
        morphology = tumour.get("morphology") if isinstance(tumour, dict) else None
        if not morphology:
            return None
        if morphology in (self.takes_morphology or []):
            return None
        scope = set(self.takes_iccc or [])
        group = tumours.iccc_for(morphology, tumour.get("topography"))
        if group is not None:
            possible = {group.subgroup}
        else:
            tt = tumours.get_tumour_type(morphology)
            possible = {sub for _, sub in tt.iccc_rules} if tt is not None else set()
        if possible and possible <= scope:
            return None
        tt = tumours.get_tumour_type(morphology)
        what = f"{tt.name.removesuffix(', NOS').lower()} ({morphology})" if tt else morphology
        others = [
            p.code
            for p in db.session.scalars(select(Panel).order_by(Panel.scope, Panel.code))
            if p.id != self.id and p.takes(tumour)
        ]
        where = (
            "refer it to a panel that takes it: " + _or_list(others)
            if others
            else "no panel here takes it"
        )
        return (
            f"The {self.name} takes {self.takes_words or 'a limited set of tumour types'} only; "
            f"this case is {what}: {where}."
        )

    def takes(self, case_or_tumour: Any) -> bool:
        """Does this panel take the case (or tumour)? See :meth:`refusal_for`."""
        return self.refusal_for(case_or_tumour) is None

    @property
    def letterhead_words(self) -> str:
        """The letters' sub-heading: "Advisory panel for relapsed and refractory ..."."""
        return "childhood cancer" if self.takes_any_tumour else self.takes_words


def _or_list(words: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class User(UserMixin, db.Model):
    """A staff account: a referring doctor, a panel member, a coordinator or an admin.

    Staff names and work e-mails are stored (they are users, not patients).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    is_referrer: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    centre: Mapped[Centre | None] = relationship()
    panel_roles: Mapped[list[PanelRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    audit_type = "user"

    # The session row this request was authenticated with (set by the user loader).
    current_session = None

    def __repr__(self) -> str:
        return f"<User {self.id}>"

    # Flask-Login: the id in the cookie is the *session* token, not the user id, so a session
    # can be ended on the server (see panel.accounts.sessions).
    def get_id(self) -> str | None:
        return getattr(self, "_session_token", None)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    def roles_on(self, panel_id: int) -> set[PanelRoleKind]:
        """The roles this user holds on one panel."""
        return {r.role for r in self.panel_roles if r.panel_id == panel_id}

    def panel_ids(self, *roles: PanelRoleKind) -> set[int]:
        """Panels on which the user holds any of ``roles`` (any role when none given)."""
        wanted = set(roles) or set(PanelRoleKind)
        return {r.panel_id for r in self.panel_roles if r.role in wanted}

    def coordinates(self, panel_id: int) -> bool:
        """Is this user a coordinator of panel ``panel_id``? The one meaning of "coordinator"
        wherever a panel, meeting or case is in question."""
        return PanelRoleKind.COORDINATOR in self.roles_on(panel_id)

    @property
    def is_coordinator(self) -> bool:
        """Coordinates some panel: the coarse role flag, for menus and role-only pages."""
        return any(r.role == PanelRoleKind.COORDINATOR for r in self.panel_roles)

    @property
    def is_chair(self) -> bool:
        return any(r.role == PanelRoleKind.CHAIR for r in self.panel_roles)

    @property
    def is_panel_member(self) -> bool:
        return any(r.role in (PanelRoleKind.MEMBER, PanelRoleKind.CHAIR) for r in self.panel_roles)

    @property
    def requires_totp(self) -> bool:
        """Admins, coordinators and chairs must use two-factor authentication."""
        return self.is_admin or any(r.role.needs_two_factor for r in self.panel_roles)

    @property
    def lacks_required_totp(self) -> bool:
        """Needs two-factor authentication and has not enrolled: no session and no API token
        is accepted until the user signs in and enrols."""
        return self.requires_totp and not self.totp_enabled

    @property
    def initials(self) -> str:
        """Initials for the avatar, without titles such as Dr or Prof."""
        words = [
            w
            for w in self.name.split()
            if w.rstrip(".").lower() not in {"dr", "prof", "mr", "mrs", "ms", "miss"}
        ]
        return (
            "".join(w[0] for w in (words[:1] + words[-1:] if len(words) > 1 else words)).upper()
            or "?"
        )

    @property
    def role_labels(self) -> list[str]:
        labels = []
        if self.is_admin:
            labels.append("Admin")
        if self.is_referrer:
            labels.append("Referrer")
        for role in sorted(self.panel_roles, key=lambda r: (r.panel.code, r.role.value)):
            labels.append(f"{role.role.value.capitalize()} · {role.panel.code}")
        return labels

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


class PanelRole(db.Model):
    """One role of one user on one panel (member, chair or coordinator)."""

    __tablename__ = "panel_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), index=True)
    role: Mapped[PanelRoleKind] = mapped_column(
        Enum(
            PanelRoleKind,
            name="panel_role_kind",
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )

    user: Mapped[User] = relationship(back_populates="panel_roles")
    panel: Mapped[Panel] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "panel_id", "role"),)


class UserSession(db.Model):
    """A server-side login session. The cookie carries only a random token whose hash is here.

    A session ends when it is revoked (logout, password change, deactivation), after 30 idle
    minutes, or 12 hours after login, whichever comes first, in every app process at once.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed logins per account name (a keyed hash of the submitted e-mail).

    Kept for names that have no account too, so lock-outs do not tell whether an account
    exists; kept in the database so every app process sees the same lock-out.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordResetToken(db.Model):
    """A single-use, expiring password reset (or account invitation) link."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A personal API token (``Authorization: Bearer ...``). Only its hash is stored; the token
    itself is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: After this the token no longer works (90 days by default; None only for rows made
    #: before expiry existed and not yet migrated).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_expired(self, now: datetime) -> bool:
        """Past its expiry (a row without one counts as expired: every token gets one)."""
        return self.expires_at is None or self.expires_at <= now

    def refusal(self, now: datetime) -> TokenRefusal | None:
        """Why this token may not be used at ``now``, or None when it may."""
        if self.revoked_at is not None:
            return TokenRefusal.REVOKED
        if not self.user.active:
            return TokenRefusal.ACCOUNT_INACTIVE
        if self.is_expired(now):
            return TokenRefusal.EXPIRED
        if self.user.lacks_required_totp:
            return TokenRefusal.SECOND_FACTOR_REQUIRED
        return None

    def is_usable(self, now: datetime) -> bool:
        """May this token authenticate a request at ``now``? (The one rule: API and pages.)"""
        return self.refusal(now) is None


class TokenRefusal(enum.StrEnum):
    """Why an API token is refused (the API words each one for the caller)."""

    REVOKED = "revoked"
    ACCOUNT_INACTIVE = "account_inactive"
    EXPIRED = "expired"
    SECOND_FACTOR_REQUIRED = "second_factor_required"

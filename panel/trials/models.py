"""The trial registry in the database: trials (and studies), their change history, the last
verdict of every open case for every trial, and the "newly matching" records for coordinators.

A trial row holds the same record as ``trials.json`` (``trial-rules.md``): :meth:`Trial.to_record`
gives it back in that format, so the pure engine (:mod:`panel.trials.engine`) validates and
evaluates exactly what is stored.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import User
from panel.cases.models import Case
from panel.core.db import UTCDateTime, db, utcnow

#: A status checked longer ago than this (or never) is flagged wherever the trial appears and
#: cannot be approved in a recommendation (``PANEL_TRIAL_STATUS_MAX_AGE_DAYS`` overrides it).
VERIFY_EVERY_DAYS = 30


def status_max_age_days() -> int:
    """``TRIAL_STATUS_MAX_AGE_DAYS`` of the running app (30 outside an app context)."""
    try:
        from flask import current_app

        return int(current_app.config.get("TRIAL_STATUS_MAX_AGE_DAYS", VERIFY_EVERY_DAYS))
    except RuntimeError:
        return VERIFY_EVERY_DAYS


class TrialStatus(enum.StrEnum):
    """Panel's status of a trial. Only ``open`` is matched and may be suggested; the registry's
    own words are kept beside it (:attr:`Trial.registry_status`)."""

    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.value]


STATUS_LABELS = {
    "open": "Open",
    "not_yet_open": "Not yet recruiting",
    "suspended": "Suspended",
    "closed": "Closed",
    "unknown": "Unknown",
}


class TrialChangeKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"


def _enum(cls, name):
    return Enum(
        cls, name=name, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
    )


class Trial(db.Model):
    """A trial (or an observational / profiling study) of the registry.

    ``criteria`` is the list of criteria of ``trial-rules.md``, validated by
    :func:`panel.trials.engine.validate_trial` before every save (see
    :mod:`panel.trials.registry`). ``version`` is the optimistic lock of the editor.
    """

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    phase: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    # For families: required before the trial can appear in a family letter.
    plain_title: Mapped[str | None] = mapped_column(String(200))
    plain_summary: Mapped[str | None] = mapped_column(Text)
    registry_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    sponsor: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[TrialStatus] = mapped_column(
        _enum(TrialStatus, "trial_status"), default=TrialStatus.OPEN, index=True
    )
    status_verified_on: Mapped[date | None] = mapped_column(Date)
    status_source: Mapped[str | None] = mapped_column(String(300))
    # What the last registry sync found (panel/trials/sync.py); None before the first sync.
    registry_status: Mapped[str | None] = mapped_column(String(64))
    registry_updated_on: Mapped[date | None] = mapped_column(Date)
    status_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_fetched_from: Mapped[str | None] = mapped_column(String(500))
    # [{"centre", "status", "registry_status", "facility", "city"}] of the UK sites mapped to
    # Panel's centres; a centre listed here with a status other than open is not matched.
    site_statuses: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # {"at", "from", "ok", "error", "changes", "unmapped_uk_sites"} of the last sync.
    last_sync: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Eligibility from the registries (panel/trials/eligibility.py): what the registry says now
    # ({"text", "minimum_age", "maximum_age", "minimum_age_months", "maximum_age_months"}), and
    # the baseline a coordinator last reviewed the criteria against (the same keys, plus
    # "reviewed_at", "reviewed_by"). When they differ, coordinators see a proposal.
    registry_eligibility: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    eligibility_reviewed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    eligibility_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eligibility_reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    sites_mode: Mapped[str] = mapped_column(String(8), default="any")
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_study: Mapped[bool] = mapped_column(Boolean, default=False)
    # Studies only (trials.json "studies"): e.g. "observational"; "opt_out" or "consent".
    study_kind: Mapped[str | None] = mapped_column(String(64))
    enrolment: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    eligibility_reviewed_by: Mapped[User | None] = relationship(
        foreign_keys=[eligibility_reviewed_by_id]
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("sites_mode IN ('any', 'all')", name="sites_mode"),
        CheckConstraint(
            "enrolment IS NULL OR enrolment IN ('opt_out', 'consent')", name="enrolment"
        ),
    )

    audit_type = "trial"

    @staticmethod
    def can_edit(user) -> bool:
        """Only coordinators (of any panel) change the registry; coordinators and admins read
        it (``@roles_required("is_coordinator", "is_admin")``): trials are not clinical."""
        return bool(getattr(user, "is_authenticated", False) and user.is_coordinator)

    @property
    def audit_id(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"<Trial {self.code}>"

    # ------------------------------------------------------------------ the registry record
    def to_record(self) -> dict[str, Any]:
        """The trial in the ``trials.json`` format (``id`` is the code), for the engine."""
        rec: dict[str, Any] = {
            "id": self.code,
            "title": self.title,
            "phase": self.phase,
            "summary": self.summary,
            "registry_ids": list(self.registry_ids or []),
            "sponsor": self.sponsor,
            "status": self.status.value if self.status else "open",
            "status_verified_on": self.status_verified_on.isoformat()
            if self.status_verified_on
            else None,
            "status_source": self.status_source,
            "sites": list(self.sites or []),
            "sites_mode": self.sites_mode or "any",
            "criteria": [dict(c) for c in (self.criteria or [])],
            "notes": list(self.notes or []),
            "plain_title": self.plain_title,
            "plain_summary": self.plain_summary,
        }
        if self.is_study:
            rec["is_study"] = True
            rec["kind"] = self.study_kind
            rec["enrolment"] = self.enrolment
        return rec

    def closed_sites(self) -> set[str]:
        """Centres the last sync found not recruiting (they are left out of matching)."""
        return {
            s["centre"]
            for s in self.site_statuses or []
            if isinstance(s, dict) and s.get("centre") and s.get("status") != "open"
        }

    def match_record(self) -> dict[str, Any]:
        """:meth:`to_record` as the matcher sees it: sites the registry reports not recruiting
        are left out, and a trial open nowhere among its sites reads ``closed``."""
        rec = self.to_record()
        if self.is_study:
            return rec
        if not rec["sites"]:  # no site confirmed by hand: the UK sites the registry lists open
            listed = [
                s for s in self.site_statuses or [] if isinstance(s, dict) and s.get("centre")
            ]
            rec["sites"] = [s["centre"] for s in listed if s.get("status") == "open"]
            if listed and not rec["sites"] and rec["status"] == "open":
                rec["status"] = "closed"  # UK sites listed, none recruiting
            return rec
        closed = self.closed_sites()
        if closed:
            rec["sites"] = [s for s in rec["sites"] if s not in closed]
            if rec["status"] == "open" and (
                not rec["sites"] or (rec["sites_mode"] == "all" and set(self.sites) & closed)
            ):
                rec["sites"] = list(self.sites or [])
                rec["status"] = "closed"
        return rec

    def eligibility_proposal(self):
        """The eligibility text / age limits proposal waiting for a coordinator, or None
        (:func:`panel.trials.eligibility.proposal_for`)."""
        from panel.trials.eligibility import proposal_for

        return proposal_for(self)

    # ------------------------------------------------------------------ words for families
    @property
    def has_plain_words(self) -> bool:
        """Whether the trial has both a title and a summary for families: required before it
        can appear in a family letter (``Recommendation.trials_without_plain_words``)."""
        return bool((self.plain_title or "").strip() and (self.plain_summary or "").strip())

    def plain_words_score(self):
        """How easy the title and summary for families are to read
        (:func:`panel.core.readability.score` of both; ``grade`` None when there are none)."""
        from panel.core.readability import score

        return score(plain_text(self.plain_title, self.plain_summary))

    # ------------------------------------------------------------------ display helpers
    @property
    def is_open(self) -> bool:
        return self.status == TrialStatus.OPEN

    def verification_overdue(self, today: date | None = None) -> bool:
        """Whether the status is unknown, was never checked, or was last checked more than
        ``TRIAL_STATUS_MAX_AGE_DAYS`` (30) days ago."""
        return status_unchecked(self.to_record(), today)

    def days_since_verified(self, today: date | None = None) -> int | None:
        if self.status_verified_on is None:
            return None
        return ((today or utcnow().date()) - self.status_verified_on).days


class TrialChange(db.Model):
    """One saved version of a trial: who, when, what changed, and the record as saved.

    The record snapshot lets anyone see what a trial said on a given day (a recommendation
    refers to the trial as it was, never as it is now).
    """

    __tablename__ = "trial_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TrialChangeKind] = mapped_column(_enum(TrialChangeKind, "trial_change_kind"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_label: Mapped[str] = mapped_column(String(320), default="system")
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)

    by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("trial_id", "version"),)


class CaseTrialMatch(db.Model):
    """The last verdict computed for one case and one trial by a re-match.

    Verdicts are ``eligible``, ``possible``, ``ineligible``, or ``not_open`` (the trial was not
    recruiting when the verdict was recorded).
    """

    __tablename__ = "case_trial_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    trial_code: Mapped[str] = mapped_column(String(64), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    trial_version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "trial_code"),)


class TrialNewMatch(db.Model):
    """A case that newly matches a trial after the trial opened or its criteria changed.

    Shown to the coordinators of the case's panel until one of them dismisses it.
    """

    __tablename__ = "trial_new_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    trial_code: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    previous_verdict: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    trial_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    trial: Mapped[Trial] = relationship()
    case: Mapped[Case] = relationship()

    __table_args__ = (Index("ix_trial_new_matches_open", "dismissed_at", "created_at"),)

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason, self.reason)


REASON_LABELS = {
    "added": "added to the registry",
    "opened": "opened",
    "criteria_changed": "criteria changed",
}


def plain_words(codes: list[str]) -> dict[str, tuple[str, str]]:
    """The registry's words for families of each trial, by code: ``{code: (plain_title,
    plain_summary)}`` ('' where unwritten), in one query. A code not in the registry is absent.
    Read by the family letter and by the rule that requires the words."""
    if not codes:
        return {}
    rows = db.session.execute(
        select(Trial.code, Trial.plain_title, Trial.plain_summary).where(Trial.code.in_(codes))
    )
    return {code: (title or "", summary or "") for code, title, summary in rows}


def plain_text(title: str | None, summary: str | None) -> str:
    """The title and summary for families as one text (the title ends as a sentence), as the
    readability score reads them."""
    title, summary = (title or "").strip(), (summary or "").strip()
    if title and title[-1] not in ".!?":
        title += "."
    return f"{title} {summary}".strip()


def status_unchecked(rec: Any, today: date | None = None) -> bool:
    """Whether a trial record (or a frozen recommendation entry) has an unknown status or one
    not checked within ``TRIAL_STATUS_MAX_AGE_DAYS``."""
    status = rec.get("status")
    checked = rec.get("status_verified_on")
    if status in (None, "unknown") or not checked:
        return True
    if isinstance(checked, str):
        try:
            checked = date.fromisoformat(checked[:10])
        except ValueError:
            return True
    today = today or utcnow().date()
    return (today - checked).days > status_max_age_days()


def status_note(rec: Any, today: date | None = None) -> str | None:
    """ "Status not checked since DATE" (or "never checked") for an unchecked record, else None."""
    if not status_unchecked(rec, today):
        return None
    checked = rec.get("status_verified_on")
    unknown = rec.get("status") in (None, "unknown")
    if not checked:
        return "Status unknown, never confirmed" if unknown else "Status never checked"
    if isinstance(checked, str):
        try:
            checked = date.fromisoformat(checked[:10])
        except ValueError:
            return "Status never checked"
    day = checked.strftime("%d %b %Y").lstrip("0")
    if unknown:
        return f"Status unknown, not confirmed since {day}"
    return f"Status not checked since {day}"

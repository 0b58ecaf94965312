"""The panel's recommendation for a discussed case, the answers to the parents' questions,
amendments after approval, follow-up actions and family access codes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
)
from sqlalchemy.orm import Mapped, Session, attributes, backref, mapped_column, relationship

from panel.accounts.models import User
from panel.cases.models import Case, CaseQuestion, _enum
from panel.core.db import UTCDateTime, db, utcnow


class RecommendationStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # locked: later changes are amendments with a reason


#: Recommendation categories, in the panel's usual vocabulary (value -> label).
CATEGORIES = {
    "trial": "Refer to a clinical trial",
    "standard_salvage": "Standard salvage treatment off-trial",
    "further_investigations": "Further investigations (e.g. re-biopsy, molecular profiling)",
    "molecular_radiotherapy": "Molecular radiotherapy (e.g. mIBG therapy)",
    "immunotherapy": "Immunotherapy",
    "local_control": "Local control (surgery or radiotherapy)",
    "second_opinion": "Second opinion",
    "palliative": "Palliative / symptom-focused care",
    "insufficient_information": "Insufficient information: resubmit",
}

CONSENSUS = {
    "unanimous": "Unanimous",
    "majority": "Majority",
    "no_consensus": "No consensus",
}


class Recommendation(db.Model):
    """One per discussed case. ``trials`` is frozen at drafting: each suggested trial with its
    priority, the matching facts, what still needs checking, nearest site and distance, the
    registry status and its verification date, so a letter never changes when the registry does."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    status: Mapped[RecommendationStatus] = mapped_column(
        _enum(RecommendationStatus, "recommendation_status"), default=RecommendationStatus.DRAFT
    )
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # ordered
    consensus: Mapped[str] = mapped_column(String(16), default="unanimous")
    options_considered: Mapped[str] = mapped_column(Text, default="")  # when no consensus
    rationale: Mapped[str] = mapped_column(Text, default="")
    trials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    trial_status_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    re_present: Mapped[str] = mapped_column(Text, default="")  # when to bring the case back
    # Written for the family, in plain words (the family letter never prints the two above).
    family_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    family_re_present: Mapped[str] = mapped_column(Text, default="", server_default="")
    molecular_profiling: Mapped[str] = mapped_column(String(32), default="")  # status note
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the drafter marks the draft ready for the chair's approval (the chair is told
    # and finds it under "Awaiting my approval"); cleared by nothing but approval.
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    # ``Case.recommendation`` (the backref) lets the case's own rules ask about its record
    # without the cases package importing feedback.
    case: Mapped[Case] = relationship(
        backref=backref("recommendation", uselist=False, lazy="select", passive_deletes=True),
    )
    drafted_by: Mapped[User | None] = relationship(foreign_keys=[drafted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    ready_by: Mapped[User | None] = relationship(foreign_keys=[ready_by_id])
    answers: Mapped[list[QuestionAnswer]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan", lazy="selectin"
    )
    follow_ups: Mapped[list[FollowUpAction]] = relationship(
        back_populates="recommendation",
        order_by="FollowUpAction.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    amendments: Mapped[list[RecommendationAmendment]] = relationship(
        back_populates="recommendation",
        order_by="RecommendationAmendment.number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    audit_type = "recommendation"

    def can_edit(self, user: User) -> bool:
        """Coordinators and chairs of the case's panel change the record (members read it);
        ``Case.can_edit_recommendation``. The operation also refuses once the case has left the
        record states (withdrawn)."""
        return self.case.can_edit_recommendation(user)

    @property
    def audit_id(self) -> str:
        return self.case.reference

    @property
    def audit_panel_id(self) -> int:
        return self.case.panel_id

    @property
    def is_approved(self) -> bool:
        return self.status == RecommendationStatus.APPROVED

    @property
    def is_ready(self) -> bool:
        """A draft marked ready for the chair's approval."""
        return not self.is_approved and self.ready_at is not None

    @property
    def pending_amendment(self) -> RecommendationAmendment | None:
        """The amendment waiting for a chair's approval, if any (at most one at a time)."""
        return next((a for a in self.amendments if a.is_pending), None)

    @property
    def applied_amendments(self) -> list[RecommendationAmendment]:
        """The amendments that changed the record (approved by a chair), in order."""
        return [a for a in self.amendments if a.is_applied]

    def trials_without_plain_words(self) -> list[dict[str, Any]]:
        """The suggested trials the family letter would print that have no title or summary
        for families in the registry (:func:`trials_without_plain_words`): while any is
        listed the record cannot be approved and the letters cannot be sent. Asked by the
        operations (``approve``, ``send_feedback``, amendments), the views and the pages."""
        return trials_without_plain_words(self.trials)


class RecommendationTrial(db.Model):
    """One suggested trial of a record, by code: a narrow copy of ``Recommendation.trials``
    kept in step on every flush, so the dashboard counts suggestions with a plain GROUP BY
    instead of parsing every record's frozen JSON."""

    __tablename__ = "recommendation_trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (UniqueConstraint("recommendation_id", "code"),)


def trials_without_plain_words(entries: Any) -> list[dict[str, Any]]:
    """Of a record's frozen ``trials``, those the family letter prints (every verdict but
    "ineligible", as ``letters.family_context``) whose registry entry lacks a title or a
    summary for families (``Trial.plain_title``, ``Trial.plain_summary``), in the record's
    order: ``[{"code", "title", "in_registry"}]`` (one query). A trial no longer in the
    registry has no words either."""
    from panel.trials.models import plain_words

    wanted: dict[str, str] = {}
    for t in entries if isinstance(entries, list) else []:
        if not isinstance(t, dict) or t.get("verdict") == "ineligible":
            continue
        code = str(t.get("trial_id") or t.get("id") or t.get("code") or "").strip()
        if code and code not in wanted:
            wanted[code] = str(t.get("title") or code)
    if not wanted:
        return []
    words = plain_words(list(wanted))
    worded = {code for code, (title, summary) in words.items() if title.strip() and summary.strip()}
    return [
        {"code": code, "title": title, "in_registry": code in words}
        for code, title in wanted.items()
        if code not in worded
    ]


def plain_words_message(missing: list[dict[str, Any]], user: Any, doing: str) -> str:
    """The refusal for :func:`trials_without_plain_words`: names the trials and says who
    writes the words (``user`` when they may edit the registry, else a coordinator).
    ``doing`` completes "The recommendation cannot be ...", e.g. "approved"."""
    from panel.trials.models import Trial

    names = ", ".join(t["code"] for t in missing)
    who = (
        "Write them in the trial registry (the trial's Edit details, \u201cFor families\u201d)"
        if Trial.can_edit(user)
        else "A coordinator writes them in the trial registry"
    )
    few = "this trial has" if len(missing) == 1 else "these trials have"
    return (
        f"The recommendation cannot be {doing} yet: the family letter describes each suggested "
        f"trial in plain words, and {few} no title or summary for families: {names}. "
        f"{who}, then try again."
    )


def trial_rows(trials: Any) -> list[tuple[str, str]]:
    """(code, title) of each suggested trial in a record's ``trials`` list, once each."""
    out: dict[str, str] = {}
    for t in trials if isinstance(trials, list) else []:
        if not isinstance(t, dict):
            continue
        code = str(t.get("trial_id") or t.get("code") or t.get("title") or "").strip()[:64]
        if code and code not in out:
            out[code] = str(t.get("title") or code)[:300]
    return list(out.items())


@event.listens_for(Session, "after_flush")
def _sync_recommendation_trials(session, _context) -> None:
    """Rewrite the narrow rows of every record whose ``trials`` changed in this flush (ids
    exist by now; the attribute history is still that of the flush)."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Recommendation):
            continue
        if obj not in session.new and not attributes.get_history(obj, "trials").has_changes():
            continue
        session.execute(
            delete(RecommendationTrial).where(RecommendationTrial.recommendation_id == obj.id)
        )
        rows = [
            {"recommendation_id": obj.id, "code": code, "title": title}
            for code, title in trial_rows(obj.trials)
        ]
        if rows:
            session.execute(insert(RecommendationTrial), rows)


class QuestionAnswer(db.Model):
    """The panel's answer to one parents' question: for the clinician and in plain language."""

    __tablename__ = "question_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("case_questions.id", ondelete="CASCADE"), unique=True
    )
    clinician_answer: Mapped[str] = mapped_column(Text, default="")
    family_answer: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recommendation: Mapped[Recommendation] = relationship(back_populates="answers")
    question: Mapped[CaseQuestion] = relationship()

    @property
    def is_complete(self) -> bool:
        return bool(self.clinician_answer.strip() and self.family_answer.strip())


class FollowUpAction(db.Model):
    __tablename__ = "follow_up_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text)
    owner_role: Mapped[str] = mapped_column(String(24))  # referrer / coordinator / chair / panel
    due_in_days: Mapped[int] = mapped_column(Integer)
    # Set when the letters are sent (the clock starts then); done when the owner ticks it off.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recommendation: Mapped[Recommendation] = relationship(back_populates="follow_ups")


class AmendmentStatus(enum.StrEnum):
    PENDING = "pending"  # proposed; the record still shows the approved text
    APPROVED = "approved"  # approved by a chair: applied to the record
    REJECTED = "rejected"  # turned down by a chair: the record never changed


class RecommendationAmendment(db.Model):
    """A change after approval: what changed (before/after snapshots), the reason, who, when.

    A change to the clinical content of an approved record (advice, answers, trials) by anyone
    but a chair of the panel is *pending* until a chair approves it (then applied) or rejects
    it; the record shows the approved text meanwhile. A chair's own amendment, or one that
    touches no clinical content, is approved at once. The letters print the latest applied
    amendment."""

    __tablename__ = "recommendation_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(
        String(16), default=AmendmentStatus.APPROVED.value, server_default="approved"
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    recommendation: Mapped[Recommendation] = relationship(back_populates="amendments")
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (UniqueConstraint("recommendation_id", "number"),)

    @property
    def is_pending(self) -> bool:
        return self.status == AmendmentStatus.PENDING

    @property
    def is_applied(self) -> bool:
        return self.status == AmendmentStatus.APPROVED


class FamilyAccessCode(db.Model):
    """A code the referrer hands to the family. Only its hash is stored; the code is shown once.
    It opens the family letter of this one case, and lets the family send one question."""

    __tablename__ = "family_access_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))  # last characters, to tell codes apart
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uses: Mapped[int] = mapped_column(Integer, default=0)
    question_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()


class FamilySession(db.Model):
    """A family's signed-in browser: the cookie carries a random token whose hash is here.
    "Leave" ends it on the server, so a saved cookie stops working at once."""

    __tablename__ = "family_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_id: Mapped[int] = mapped_column(
        ForeignKey("family_access_codes.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    code: Mapped[FamilyAccessCode] = relationship()


class SentDocument(db.Model):
    """A letter as it was sent: rendered once, its bytes in the content-addressed storage
    (``storage_key``) and their SHA-256 here, then served byte for byte. Never changed: a later
    answer or amendment adds new rows (an addendum, or the next version of the letters).

    ``kind`` is ``clinician_letter``, ``family_letter``, ``clinician_addendum`` or
    ``family_addendum``; ``format`` is ``html`` (the letter sheet, styled by
    ``static/css/letter.css``) or ``pdf``. ``version`` counts each kind's documents of the case
    (letters: 1 at sending, 2 for the first updated advice; addenda: 1, 2, ...). ``layout``
    tells the family letter's large-print and easy-read copies from the standard one (same
    kind and version)."""

    __tablename__ = "sent_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The ids of the questions whose answers the document carries.
    question_ids: Mapped[list[int] | None] = mapped_column(JSON)
    #: The amendment that made this document (None for the letters sent first).
    amendment_number: Mapped[int | None] = mapped_column(Integer)
    #: The family letter's layout (``standard``, ``large_print``, ``easy_read``: the family's
    #: recorded communication needs); every other document is ``standard``.
    layout: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")

    __table_args__ = (UniqueConstraint("case_id", "kind", "format", "version", "layout"),)

    @property
    def audience(self) -> str:
        """``clinician`` or ``family``."""
        return self.kind.split("_", 1)[0]

    @property
    def is_addendum(self) -> bool:
        return self.kind.endswith("_addendum")

    @property
    def content_type(self) -> str:
        return "application/pdf" if self.format == "pdf" else "text/html; charset=utf-8"

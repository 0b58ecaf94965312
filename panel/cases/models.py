"""The case: an anonymised referral in the ``panel-case/1`` format, its parents' questions,
co-referrers and revisions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import Centre, Panel, User
from panel.cases.permissions import CasePermissions
from panel.core.db import UTCDateTime, db, utcnow


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    SCHEDULED = "scheduled"
    DISCUSSED = "discussed"
    RECOMMENDATION = "recommendation"
    FEEDBACK_SENT = "feedback_sent"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    CaseStatus.DRAFT: "Draft",
    CaseStatus.SUBMITTED: "Submitted",
    CaseStatus.INFO_REQUESTED: "Information requested",
    CaseStatus.SCHEDULED: "Scheduled",
    CaseStatus.DISCUSSED: "Discussed",
    CaseStatus.RECOMMENDATION: "Recommendation",
    CaseStatus.FEEDBACK_SENT: "Feedback sent",
    CaseStatus.CLOSED: "Closed",
    CaseStatus.WITHDRAWN: "Withdrawn",
}

#: States in which the referrer may still edit the referral.
EDITABLE = {CaseStatus.DRAFT, CaseStatus.INFO_REQUESTED}
#: States before the panel has discussed the case: parents' questions may still change.
BEFORE_DISCUSSION = {
    CaseStatus.DRAFT,
    CaseStatus.SUBMITTED,
    CaseStatus.INFO_REQUESTED,
    CaseStatus.SCHEDULED,
}


def _enum(cls, name):
    return Enum(
        cls, name=name, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]
    )


class Case(CasePermissions, db.Model):
    """One referral. ``data`` holds the ``panel-case/1`` body without the system fields and
    without ``family.questions`` (those are :class:`CaseQuestion` rows, each with its own id)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    referring_centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(
        _enum(CaseStatus, "case_status"), default=CaseStatus.DRAFT, index=True
    )
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Turnaround: when the case first reached each step (kept once set, for the dashboard).
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discussed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    feedback_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    family_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the case returns to triage because its meeting closed without discussing it.
    rolled_over: Mapped[bool] = mapped_column(default=False)
    # The family's choice about the epidemiological study (included unless they opt out).
    study_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A key sent with the creating request, so a repeated POST creates one case, not two.
    creation_key: Mapped[str | None] = mapped_column(String(64))

    panel: Mapped[Panel] = relationship()
    referring_centre: Mapped[Centre | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    questions: Mapped[list[CaseQuestion]] = relationship(
        back_populates="case",
        order_by="CaseQuestion.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    co_referrers: Mapped[list[CaseReferrer]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )
    information_requests: Mapped[list[InformationRequest]] = relationship(
        order_by="InformationRequest.requested_at", cascade="all, delete-orphan", lazy="select"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("created_by_id", "creation_key"),
        # The queues (triage, home pages, dashboard): a panel's cases in some statuses.
        Index("ix_cases_panel_id_status", "panel_id", "status"),
    )

    audit_type = "case"

    @property
    def audit_id(self) -> str:
        return self.reference

    @property
    def audit_panel_id(self) -> int | None:
        """Entries about a case belong to its panel once it has been submitted; before that the
        draft is the referrer's business alone (coordinators do not see its trail)."""
        return self.panel_id if self.submitted_at is not None else None

    def __repr__(self) -> str:
        return f"<Case {self.reference}>"

    @property
    def status_label(self) -> str:
        return self.status.label

    @property
    def tumour(self) -> dict[str, Any]:
        """The case's tumour type, ``panel-case/2``'s ``tumour`` section (``morphology`` and
        maybe ``topography``, ICD-O-3 codes); ``{}`` when not recorded yet."""
        return tumour_of(self.data or {})

    @property
    def tumour_name(self) -> str:
        """The tumour type's name (``Alveolar rhabdomyosarcoma``), the referrer's words when the
        list has no exact code, or ``""`` when not recorded."""
        from panel.caseformat import tumours

        found = tumours.get_tumour_type(self.tumour.get("morphology"))
        return found.name if found else str(self.tumour.get("description") or "")

    @property
    def is_neuroblastoma(self) -> bool:
        """Whether the neuroblastoma module applies to the case's tumour type (neuroblastoma or
        ganglioneuroblastoma): what the neuroblastoma-only studies and wording ask."""
        from panel.caseformat.v2 import MODULES

        tumour = self.tumour
        return MODULES["neuroblastoma"].applies_to(
            tumour.get("morphology"), tumour.get("topography")
        )

    @property
    def iccc(self) -> Any:
        """The case's ICCC-3 group (:class:`panel.caseformat.tumours.IcccGroup`), derived from its
        tumour type; ``None`` when unknown."""
        from panel.caseformat import tumours

        return tumours.iccc_for(self.tumour.get("morphology"), self.tumour.get("topography"))

    def can_go_to(self, panel: Panel) -> bool:
        """Does ``panel`` take this case's tumour type? (:meth:`Panel.refusal_for` says why
        not.) Asked when a case is saved, submitted and referred on, and by the form's and
        refer-on's panel choices."""
        return panel.takes(self)

    @property
    def open_information_request(self) -> InformationRequest | None:
        """The coordinator's questions still waiting for the referrer, if any."""
        return next((r for r in reversed(self.information_requests) if r.answered_at is None), None)


def tumour_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The tumour type of a case body or document in either version: ``panel-case/2``'s
    ``tumour`` section, or the one a ``panel-case/1`` document converts to; ``{}`` when not
    recorded (or when a v1 document is too broken to convert)."""
    from panel.caseformat import convert, schema

    if not isinstance(doc, dict):
        return {}
    if "tumour" in doc or "modules" in doc:
        tumour = doc.get("tumour")
        return dict(tumour) if isinstance(tumour, dict) else {}
    try:
        return convert.as_v2({**doc, "schema": schema.SCHEMA})["tumour"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}


class CaseQuestion(db.Model):
    """One of the parents' own questions. Keeps its identity (and id) through edits and
    reordering, so the panel's answer can later be attached to it."""

    __tablename__ = "case_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="referral")  # or "family"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="questions")


class CaseReferrer(db.Model):
    """A colleague (another referrer account) named on the case as co-referrer."""

    __tablename__ = "case_referrers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="co_referrers")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("case_id", "user_id"),)


class CaseRevision(db.Model):
    """The referral as it was before a save of a submitted case (and at each submission)."""

    __tablename__ = "case_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("case_id", "number"),)


class ReferenceCounter(db.Model):
    """The last case number handed out per year; incremented atomically (``UPDATE ...
    RETURNING``), so two processes submitting at once never get the same reference."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class InformationRequest(db.Model):
    """Questions a coordinator sends back to the referrer; closed when the case is resubmitted."""

    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    questions: Mapped[list[str]] = mapped_column(JSON)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    response: Mapped[str | None] = mapped_column(Text)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])


class CaseEvent(db.Model):
    """One entry of the case timeline: a state change or a hand-off, as the people on the case
    read it. Written by :func:`panel.cases.workflow.apply` (and ``record_event``) in the same
    transaction as the change itself. ``audience`` says who may read it (comma-separated:
    ``referrer``, ``panel`` for members and chairs, ``coordinator``); the text is clinical and
    shown only on the case page and through the API, never in an e-mail."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(60), default="referrer,panel,coordinator")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    by: Mapped[User | None] = relationship(foreign_keys=[by_id], lazy="select")

    __table_args__ = (Index("ix_case_events_case_id_at", "case_id", "at"),)

    @property
    def audiences(self) -> set[str]:
        return {a for a in (self.audience or "").split(",") if a}

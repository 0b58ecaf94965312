"""Meetings, agendas, attendance, minutes (with amendments), comments, urgent virtual reviews
and the history of a case being referred on to another panel."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import Panel, User
from panel.cases.guests import CaseGuestAccess  # noqa: F401  (registered with the models)
from panel.cases.models import Case, _enum
from panel.core.db import UTCDateTime, db, utcnow


class MeetingStatus(enum.StrEnum):
    PLANNED = "planned"  # being prepared; the agenda is not visible to referrers
    PUBLISHED = "published"  # agenda sent to members and the referrers of listed cases
    CLOSED = "closed"  # minutes locked; later changes are amendments
    CANCELLED = "cancelled"


#: Attendance roles of guests: the referrer presenting a case, an invited external expert.
GUEST_ROLES = ("referrer", "expert")


class ItemOutcome(enum.StrEnum):
    PENDING = "pending"  # on the agenda, not yet discussed
    DISCUSSED = "discussed"
    NOT_DISCUSSED = "not_discussed"  # meeting closed without discussing it: rolled over
    REMOVED = "removed"  # taken off the agenda before the meeting
    CANCELLED = "cancelled"  # the meeting was cancelled: the case went back to triage


class Meeting(db.Model):
    """A panel's (video) meeting. ``starts_at`` is UTC; the screens show and take UK time."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    video_link: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[MeetingStatus] = mapped_column(
        _enum(MeetingStatus, "meeting_status"), default=MeetingStatus.PLANNED
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on every publish, so calendar clients see a changed event (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    panel: Mapped[Panel] = relationship()
    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        order_by="AgendaItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", lazy="selectin"
    )
    apologies: Mapped[list[Apology]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", lazy="select"
    )

    __mapper_args__ = {"version_id_col": version}

    audit_type = "meeting"

    def can_manage(self, user: User) -> bool:
        """The coordinators of the meeting's panel plan it, keep its agenda, attendance and
        minutes, publish and close it."""
        return bool(getattr(user, "is_authenticated", False) and user.coordinates(self.panel_id))

    def can_view(self, user: User) -> bool:
        """Anyone holding a role on the meeting's panel."""
        return bool(getattr(user, "is_authenticated", False) and user.roles_on(self.panel_id))

    @property
    def is_open(self) -> bool:
        """Planned or published: neither closed nor cancelled."""
        return self.status in (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED)

    @property
    def is_cancelled(self) -> bool:
        return self.status == MeetingStatus.CANCELLED

    def can_record_attendance(self, user: User, now: datetime | None = None) -> bool:
        """The panel's coordinators record who attended (members, chairs, coordinators and
        guests) once the meeting has started (UK time: ``has_started``), until it is closed or
        if it was cancelled. The view answers 403 to anyone else on the panel; a coordinator
        too early gets the operation's message."""
        return self.can_manage(user) and self.is_open and self.has_started(now)

    def can_record_apologies(self, user: User) -> bool:
        """The panel's coordinators record apologies before or during an open meeting."""
        return self.can_manage(user) and self.is_open

    def can_cancel(self, user: User) -> bool:
        """The panel's coordinators cancel an open meeting at which nothing has been discussed
        (a meeting with discussed items took place: close it instead)."""
        return (
            self.can_manage(user)
            and self.is_open
            and not any(i.outcome_status == ItemOutcome.DISCUSSED for i in self.items)
        )

    def can_invite_guests(self, user: User) -> bool:
        """The panel's coordinators invite external experts (to one case on the agenda) and
        revoke their access, while the meeting is open."""
        return self.can_manage(user) and self.is_open

    @property
    def audit_id(self) -> str:
        return str(self.id)

    @property
    def audit_panel_id(self) -> int:
        return self.panel_id

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def has_started(self, now: datetime | None = None) -> bool:
        """Whether the meeting's start (stored in UTC, entered in UK time) has passed: nothing
        that happens *at* a meeting (attendance, discussion, outcome) may be recorded before it."""
        return (now or utcnow()) >= self.starts_at

    @property
    def is_closed(self) -> bool:
        return self.status == MeetingStatus.CLOSED

    @property
    def active_items(self) -> list[AgendaItem]:
        """The agenda as listed: every item not taken off it, in order."""
        return [i for i in self.items if i.outcome_status != ItemOutcome.REMOVED]

    @property
    def guests(self) -> list[Attendance]:
        """Attending guests: presenting referrers and invited experts (never in the quorum)."""
        return [a for a in self.attendance if a.role in GUEST_ROLES]

    @property
    def panel_attendance(self) -> list[Attendance]:
        """Attending members, chairs and coordinators."""
        return [a for a in self.attendance if a.role not in GUEST_ROLES]

    @property
    def voting_attendance(self) -> int:
        """Attending members and chairs: what counts towards the quorum."""
        return sum(1 for a in self.attendance if a.role in ("member", "chair"))

    @property
    def quorum_met(self) -> bool:
        return self.voting_attendance >= self.panel.quorum

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.panel_id} {self.starts_at:%Y-%m-%d %H:%M}>"


class AgendaItem(db.Model):
    """One case on one meeting's agenda, with its minutes (discussion and outcome)."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    minutes_allotted: Mapped[int] = mapped_column(Integer, default=15)
    outcome_status: Mapped[ItemOutcome] = mapped_column(
        _enum(ItemOutcome, "item_outcome"), default=ItemOutcome.PENDING
    )
    # The item on an earlier meeting this one was rolled over from (shown as a flag).
    rolled_over_from_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Minutes, typed while the meeting runs. ``minutes_version`` detects two coordinators
    # saving over each other (the second save gets a conflict with both texts).
    discussion: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    minutes_version: Mapped[int] = mapped_column(Integer, default=0)
    minutes_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    minutes_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discussed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    case: Mapped[Case] = relationship(lazy="select")
    rolled_over_from: Mapped[AgendaItem | None] = relationship(remote_side=[id], lazy="select")
    minutes_updated_by: Mapped[User | None] = relationship(
        foreign_keys=[minutes_updated_by_id], lazy="select"
    )
    amendments: Mapped[list[MinutesAmendment]] = relationship(
        back_populates="item",
        order_by="MinutesAmendment.number",
        cascade="all, delete-orphan",
        lazy="select",
    )

    __table_args__ = (
        UniqueConstraint("meeting_id", "case_id"),
        # A case is waiting on at most one agenda at a time: scheduling it twice is refused
        # by the database as well as by the operation.
        Index(
            "uq_agenda_items_pending_case",
            "case_id",
            unique=True,
            sqlite_where=text("outcome_status = 'pending'"),
            postgresql_where=text("outcome_status = 'pending'"),
        ),
    )

    @property
    def is_rolled_over(self) -> bool:
        return self.rolled_over_from_id is not None


class MinutesAmendment(db.Model):
    """A change to locked minutes (after the meeting closed): before/after, reason, who, when."""

    __tablename__ = "minutes_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    discussion_before: Mapped[str] = mapped_column(Text, default="")
    discussion_after: Mapped[str] = mapped_column(Text, default="")
    outcome_before: Mapped[str] = mapped_column(Text, default="")
    outcome_after: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[AgendaItem] = relationship(back_populates="amendments")
    by: Mapped[User | None] = relationship(lazy="select")

    __table_args__ = (UniqueConstraint("item_id", "number"),)


class Attendance(db.Model):
    """Someone who attended a meeting, with the panel role they attended in."""

    __tablename__ = "meeting_attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(
        String(16)
    )  # chair / member / coordinator / referrer / expert
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="select")

    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)


class Apology(db.Model):
    """A member, chair or coordinator who sent apologies for a meeting: recorded apart from
    attendance, never counted towards the quorum."""

    __tablename__ = "meeting_apologies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="apologies")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)


class CommentVisibility(enum.StrEnum):
    INTERNAL = "internal"  # the panel only (members, chairs, coordinators)
    SHARED = "shared"  # also the referrers of the case, who may reply


class Comment(db.Model):
    """Discussion on a case between meetings."""

    __tablename__ = "case_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    visibility: Mapped[CommentVisibility] = mapped_column(
        _enum(CommentVisibility, "comment_visibility")
    )
    # A referrer's reply (or a reply to a reply) points at the shared comment it answers.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_comments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    author: Mapped[User] = relationship()
    case: Mapped[Case] = relationship(lazy="select")
    mentions: Mapped[list[CommentMention]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    def can_view(self, user: User, case: Case | None = None) -> bool:
        """The case's panel people read every comment; its referrers the shared ones (pass the
        already loaded ``case`` to spare a query)."""
        case = case if case is not None else self.case
        if self.case_id != case.id or not case.can_see_comments(user):
            return False
        return case.is_panel_person(user) or self.visibility == CommentVisibility.SHARED


class CommentMention(db.Model):
    __tablename__ = "comment_mentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("case_comments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("comment_id", "user_id"),)


class VirtualReviewStatus(enum.StrEnum):
    OPEN = "open"
    AGREED = "agreed"  # chair + at least two members agreed: the case is discussed
    CANCELLED = "cancelled"


class VirtualReview(db.Model):
    """An urgent case decided without a meeting: the coordinator proposes the outcome, the
    chair and at least two members record their agreement."""

    __tablename__ = "virtual_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    proposal: Mapped[str] = mapped_column(Text)
    status: Mapped[VirtualReviewStatus] = mapped_column(
        _enum(VirtualReviewStatus, "virtual_review_status"), default=VirtualReviewStatus.OPEN
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(lazy="select")
    votes: Mapped[list[VirtualReviewVote]] = relationship(
        back_populates="review",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="VirtualReviewVote.at",
    )

    def is_voter(self, user: User) -> bool:
        """Members and chairs of the case's panel take part (coordinators run the review)."""
        from panel.accounts.models import PanelRoleKind

        return bool(self.case.panel_roles(user) & {PanelRoleKind.MEMBER, PanelRoleKind.CHAIR})

    def can_vote(self, user: User) -> bool:
        """Members and chairs of the case's panel who have not voted yet, while the review is open."""
        if self.status != VirtualReviewStatus.OPEN or not self.is_voter(user):
            return False
        return not any(v.user_id == user.id for v in self.votes)

    def can_manage(self, user: User) -> bool:
        """The coordinators of the case's panel cancel the review."""
        return self.case.is_coordinated_by(user)

    __table_args__ = (
        Index(
            "uq_virtual_reviews_open_case",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class VirtualReviewVote(db.Model):
    __tablename__ = "virtual_review_votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("virtual_reviews.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    as_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    agrees: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[VirtualReview] = relationship(back_populates="votes")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("review_id", "user_id"),)


class CaseTransfer(db.Model):
    """A case referred on from one panel to another (e.g. NAP -> a regional ECMC panel). The
    case keeps its reference, record and history; this row says when and why it moved."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"))
    to_panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    from_panel: Mapped[Panel] = relationship(foreign_keys=[from_panel_id])
    to_panel: Mapped[Panel] = relationship(foreign_keys=[to_panel_id])
    by: Mapped[User | None] = relationship()

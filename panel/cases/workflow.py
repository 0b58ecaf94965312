"""The workflow of a case, declared in one place.

:data:`TRANSITIONS` names every state change of a case and every hand-off that changes no state
but tells someone it is their turn. For each: the states it starts from, the state it leads to
(if any), who may do it (the name of a ``Case.can_*`` method in ``cases/permissions.py``, the
single home of that rule), its preconditions (small functions returning a refusal or None) and
its effects: the audit action, the timeline event (kind and audience) and the notifications
(audience, kind, text without clinical content, and the link to the exact place to act).

Operations do their own domain work (rows, texts, checks with their own messages) and then call
:func:`apply`, which checks the permission and the preconditions again, sets the status, writes
the audit entry, the timeline event and the notifications in the caller's transaction. Nothing
else sets ``Case.status``.

This module imports nothing of meetings or feedback: what a precondition needs of them (the
meeting, the discussion) is handed in through ``**context`` and read duck-typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from panel.accounts.models import PanelRoleKind
from panel.accounts.queries import panel_people
from panel.cases.models import Case, CaseStatus
from panel.cases.timeline import EVERYONE, PANEL_ONLY, REFERRER_AND_COORDINATOR, record_event
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.web import path_for

S = CaseStatus
#: Every state: a transition open "from anywhere" (its permission narrows it down).
ANY = frozenset(CaseStatus)
BEFORE_DISCUSSION = frozenset({S.DRAFT, S.SUBMITTED, S.INFO_REQUESTED, S.SCHEDULED})
REFERABLE = frozenset({S.SUBMITTED, S.INFO_REQUESTED, S.DISCUSSED})
AFTER_APPROVAL = frozenset({S.RECOMMENDATION, S.FEEDBACK_SENT, S.CLOSED})
SENT = frozenset({S.FEEDBACK_SENT, S.CLOSED})

Context = dict[str, Any]
Precondition = Callable[[Case, Context], "str | None"]


# --------------------------------------------------------------------------- preconditions
def required_fields(case: Case, ctx: Context) -> str | None:
    """Submission needs every required field of the format (the operation names them all)."""
    from panel.caseformat import v2
    from panel.cases.operations import to_document

    problems = v2.missing_for_submit_v2(to_document(case))
    if problems:
        return f"{problems[0].field}: {problems[0].message}"
    return None


def open_information_request(case: Case, ctx: Context) -> str | None:
    """An answer needs the coordinator's open questions."""
    if case.open_information_request is None:
        return "There is no open information request on this case."
    return None


def meeting_has_started(case: Case, ctx: Context) -> str | None:
    """Nothing that happens *at* a meeting (discussion, outcome) is recorded before it starts
    (UK time; ``Meeting.has_started``). ``context["meeting"]``: the meeting."""
    meeting = ctx.get("meeting")
    if meeting is None:
        return "Name the meeting at which the case was discussed."
    if not meeting.has_started():
        return (
            f"The meeting has not started yet ({_uk(meeting.starts_at)}): {case.reference} can be "
            "marked as discussed once it has."
        )
    return None


def discussed(case: Case, ctx: Context) -> str | None:
    """No approval or sending before the panel discussed the case: at a meeting that has
    started, or in an agreed urgent virtual review. ``context["discussion"]`` has ``meetings``
    (those at which the case was marked discussed) and ``review_agreed``."""
    discussion = ctx.get("discussion")
    if discussion is not None and getattr(discussion, "review_agreed", False):
        return None
    meetings = list(getattr(discussion, "meetings", None) or [])
    if any(m.has_started() for m in meetings):
        return None
    if meetings:
        first = min(m.starts_at for m in meetings)
        return (
            f"The meeting at which {case.reference} is to be discussed has not started yet "
            f"({_uk(first)}): nothing can be approved or sent before it."
        )
    return (
        f"{case.reference} has not been discussed: the panel discusses it at a meeting that has "
        "started, or agrees an urgent virtual review, before the recommendation is approved "
        "or sent."
    )


def _uk(moment) -> str:
    from panel.core.uktime import uk_label

    return uk_label(moment)


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Notice:
    """Who is told, and what. ``audience``: ``coordinators``, ``chairs``, ``reviewers``
    (chairs and members), ``referrers`` or ``voters`` (``context["voters"]``), always of the
    case's current panel and without the actor. ``text`` is formatted with ``ref``, ``panel``
    and the context's strings; no clinical content. ``link``: ``case`` (with ``anchor``),
    ``triage``, ``record`` (the recommendation editor) or ``minutes``
    (``context["minutes_link"]``). ``when``: a context key that must be true."""

    audience: str
    kind: str
    text: str
    link: str = "case"
    anchor: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    permission: str
    audit: str
    event: str
    event_audience: tuple[str, ...] = EVERYONE
    preconditions: tuple[Precondition, ...] = ()
    notices: tuple[Notice, ...] = ()
    #: Who acts: a signed-in ``user``, or the ``family`` (no account: ``by`` is None).
    actor: str = "user"
    doc: str = ""
    #: The context keys the notices' texts need (``apply`` refuses to run without them).
    needs: tuple[str, ...] = field(default=())

    @property
    def changes_state(self) -> bool:
        return self.target is not None


def _t(*args, **kwargs) -> Transition:
    """A row: name, sources, target, permission, audit action, event kind, event audience,
    preconditions, notices (positional, in this order, to keep the table compact)."""
    return Transition(*args, **kwargs)


_TABLE: list[Transition] = [
    # ------------------------------------------------------------ the referral
    _t(
        "submit",
        frozenset({S.DRAFT}),
        S.SUBMITTED,
        "can_submit",
        "case.submitted",
        "submitted",
        EVERYONE,
        (required_fields,),
        (
            Notice(
                "coordinators",
                "case.submitted",
                "New referral {ref} submitted to {panel}: it is in your triage queue.",
                "triage",
            ),
        ),
        doc="The referrer submits a complete draft to the panel.",
    ),
    _t(
        "resubmit",
        frozenset({S.INFO_REQUESTED}),
        S.SUBMITTED,
        "can_submit",
        "case.resubmitted",
        "resubmitted",
        EVERYONE,
        (required_fields,),
        (
            Notice(
                "coordinators",
                "case.resubmitted",
                "{ref} was resubmitted after your information request: it is back in triage.",
                "case",
                "information-request",
            ),
        ),
        doc="The referrer resubmits after answering; the open request is closed.",
    ),
    _t(
        "withdraw",
        BEFORE_DISCUSSION,
        S.WITHDRAWN,
        "can_withdraw",
        "case.withdrawn",
        "withdrawn",
        EVERYONE,
        (),
        (Notice("coordinators", "case.withdrawn", "{ref} was withdrawn by the referring team."),),
        doc="The referrer withdraws the case before the panel has discussed it.",
    ),
    _t(
        "request_information",
        frozenset({S.SUBMITTED}),
        S.INFO_REQUESTED,
        "can_request_information",
        "case.info_requested",
        "information_requested",
        REFERRER_AND_COORDINATOR,
        (),
        (
            Notice(
                "referrers",
                "case.info_requested",
                "The panel's coordinator has questions about your referral {ref}.",
                "case",
                "information-request",
            ),
        ),
        doc="The coordinator sends questions back (the event's text is the questions).",
    ),
    _t(
        "information_answered",
        frozenset({S.INFO_REQUESTED}),
        None,
        "can_answer_information_request",
        "case.info_response",
        "information_answered",
        REFERRER_AND_COORDINATOR,
        (open_information_request,),
        (
            Notice(
                "coordinators",
                "case.info_answered",
                "The referring team replied to your questions about {ref}.",
                "case",
                "information-request",
            ),
        ),
        doc="Hand-off: the referrer's reply (the event's text) reaches the coordinator.",
    ),
    # ------------------------------------------------------------ triage
    _t(
        "schedule",
        frozenset({S.SUBMITTED}),
        S.SCHEDULED,
        "can_schedule",
        "case.scheduled",
        "scheduled",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "case.scheduled",
                "{ref} is on the agenda of the {meeting}",
                when="published",
            ),
        ),
        doc="The coordinator puts the case on a meeting's agenda (referrers told once published).",
        needs=("meeting",),
    ),
    _t(
        "unschedule",
        frozenset({S.SCHEDULED}),
        S.SUBMITTED,
        "can_unschedule",
        "case.unscheduled",
        "unscheduled",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "case.unscheduled",
                "{ref} has been taken off the agenda of the {meeting}",
                when="published",
            ),
        ),
        doc="The coordinator takes the case off the agenda: back to triage.",
        needs=("meeting",),
    ),
    _t(
        "meeting_cancelled",
        frozenset({S.SCHEDULED}),
        S.SUBMITTED,
        "can_unschedule",
        "case.unscheduled",
        "meeting_cancelled",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "meeting.cancelled",
                "The {meeting} has been cancelled; {ref} goes back to the panel's triage for a "
                "later meeting",
            ),
        ),
        doc="The meeting the case waited for is cancelled: back to triage, referrers told.",
        needs=("meeting",),
    ),
    _t(
        "rolled_over",
        frozenset({S.SCHEDULED}),
        None,
        "can_unschedule",
        "case.rolled_over",
        "rolled_over",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "case.rolled_over",
                "{ref} was not reached at the {meeting}; it moves to the {next_meeting}",
            ),
        ),
        doc="Hand-off: the meeting closed without reaching the case; it waits on the next one.",
        needs=("meeting", "next_meeting"),
    ),
    _t(
        "returned_to_triage",
        frozenset({S.SCHEDULED}),
        S.SUBMITTED,
        "can_unschedule",
        "case.returned_to_triage",
        "returned_to_triage",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "case.rolled_over",
                "{ref} was not reached at the {meeting}; it will be scheduled for a later meeting",
            ),
            Notice(
                "coordinators",
                "case.returned_to_triage",
                "{ref} was not reached at the {meeting}: it is back in your triage queue.",
                "triage",
            ),
        ),
        doc="The meeting closed without reaching the case and no later meeting is planned.",
        needs=("meeting",),
    ),
    _t(
        "refer_on",
        REFERABLE,
        S.SUBMITTED,
        "can_refer_on",
        "case.referred_on",
        "referred_on",
        EVERYONE,
        (),
        (
            Notice(
                "coordinators",
                "case.referred_on",
                "{ref} was referred on to {panel} by {from_panel}: it is in your triage queue.",
                "triage",
            ),
            Notice(
                "referrers",
                "case.referred_on",
                "Your referral {ref} has been referred on from {from_panel} to {panel}.",
            ),
        ),
        doc=(
            "Triage decision: the coordinator refers the case on to another panel (a case "
            "waiting for information stays so; the new panel's coordinators are told)."
        ),
        needs=("from_panel",),
    ),
    _t(
        "open_review",
        frozenset({S.SUBMITTED}),
        None,
        "can_open_review",
        "case.virtual_review_opened",
        "virtual_review_opened",
        PANEL_ONLY,
        (),
        (
            Notice(
                "reviewers",
                "review.opened",
                "Urgent virtual review of {ref}: your agreement is requested.",
                "case",
                "virtual-review",
            ),
        ),
        doc="Triage decision: an urgent case is put to the chairs and members without a meeting.",
    ),
    _t(
        "review_agreed",
        frozenset({S.SUBMITTED}),
        S.DISCUSSED,
        "can_take_part_in_review",
        "case.virtual_review_agreed",
        "discussed",
        EVERYONE,
        (),
        (
            Notice(
                "coordinators",
                "review.agreed",
                "The virtual review of {ref} is agreed: the recommendation can be drafted.",
                "case",
                "recommendation",
            ),
            Notice(
                "referrers",
                "review.agreed",
                "The panel has discussed your urgent referral {ref}.",
            ),
        ),
        doc="The last agreement needed (a chair and two members): the case counts as discussed.",
    ),
    _t(
        "cancel_review",
        ANY,
        None,
        "can_cancel_review",
        "case.virtual_review_cancelled",
        "virtual_review_cancelled",
        PANEL_ONLY,
        (),
        (
            Notice(
                "voters",
                "review.cancelled",
                "The virtual review of {ref} was cancelled.",
                "case",
                "virtual-review",
            ),
        ),
        doc="The coordinator withdraws an open virtual review (those who voted are told).",
    ),
    # ------------------------------------------------------------ discussion
    _t(
        "discuss",
        frozenset({S.SCHEDULED, S.DISCUSSED}),
        S.DISCUSSED,
        "can_record_outcome",
        "case.discussed",
        "discussed",
        EVERYONE,
        (meeting_has_started,),
        (
            Notice(
                "coordinators",
                "case.discussed",
                "{ref} was discussed at the panel meeting on {when}: the recommendation can be drafted.",
                "case",
                "recommendation",
            ),
            Notice(
                "referrers",
                "case.discussed",
                "The panel discussed {ref} at its meeting on {when}. The recommendation will follow.",
            ),
        ),
        doc="The coordinator records the outcome at the meeting (quorum met, outcome written).",
        needs=("meeting", "when"),
    ),
    _t(
        "reopen_discussion",
        frozenset({S.DISCUSSED}),
        S.SCHEDULED,
        "can_record_outcome",
        "case.discussion_reopened",
        "discussion_reopened",
        PANEL_ONLY,
        (),
        (),
        doc="The coordinator undoes 'Mark as discussed' while the meeting is open.",
    ),
    # ------------------------------------------------------------ the recommendation
    _t(
        "start_recommendation",
        frozenset({S.DISCUSSED}),
        S.RECOMMENDATION,
        "can_start_recommendation",
        "recommendation.started",
        "recommendation_started",
        PANEL_ONLY,
        (),
        (),
        doc="The coordinator opens the draft record.",
    ),
    _t(
        "draft_ready",
        frozenset({S.RECOMMENDATION}),
        None,
        "can_mark_record_ready",
        "recommendation.ready",
        "draft_ready",
        PANEL_ONLY,
        (),
        (
            Notice(
                "chairs",
                "recommendation.ready",
                "The draft recommendation for {ref} is ready for your approval.",
                "record",
            ),
        ),
        doc="Hand-off: the coordinator tells the chairs that the draft is ready.",
    ),
    _t(
        "approve",
        frozenset({S.RECOMMENDATION}),
        None,
        "can_approve",
        "recommendation.approved",
        "approved",
        PANEL_ONLY,
        (discussed,),
        (
            Notice(
                "coordinators",
                "recommendation.approved",
                "The recommendation for {ref} has been approved: the feedback can be sent.",
                "case",
                "feedback",
            ),
        ),
        doc="The chair approves and locks the record (only after the discussion).",
    ),
    _t(
        "amended",
        AFTER_APPROVAL,
        None,
        "can_amend_record",
        "recommendation.amended",
        "amended",
        PANEL_ONLY,
        (),
        (
            Notice(
                "coordinators",
                "recommendation.amended",
                "The approved recommendation for {ref} was amended (amendment {number}).",
                "record",
            ),
            Notice(
                "chairs",
                "recommendation.amended",
                "The approved recommendation for {ref} was amended (amendment {number}).",
                "record",
            ),
            Notice(
                "referrers",
                "recommendation.amended",
                "The panel amended its recommendation for {ref} after the letters were sent.",
                "case",
                "feedback",
                when="sent",
            ),
        ),
        doc="A coordinator or chair amends the approved record (numbered, with a reason).",
        needs=("number",),
    ),
    _t(
        "amendment_submitted",
        AFTER_APPROVAL,
        None,
        "can_amend_record",
        "recommendation.amendment_proposed",
        "amendment_submitted",
        PANEL_ONLY,
        (),
        (
            Notice(
                "chairs",
                "recommendation.amendment_proposed",
                "An amendment of the recommendation for {ref} awaits your approval.",
                "record",
            ),
        ),
        doc="Hand-off: an amendment awaits the chair.",
    ),
    _t(
        "amendment_approved",
        AFTER_APPROVAL,
        None,
        "can_approve_amendment",
        "recommendation.amendment_approved",
        "amendment_approved",
        PANEL_ONLY,
        (),
        (),
        doc="The chair approves a pending amendment; it then takes effect as `amended` (which tells people).",
    ),
    _t(
        "amendment_rejected",
        AFTER_APPROVAL,
        None,
        "can_approve_amendment",
        "recommendation.amendment_rejected",
        "amendment_rejected",
        PANEL_ONLY,
        (),
        (
            Notice(
                "proposer",
                "recommendation.amendment_rejected",
                "Amendment {number} to the recommendation for {ref} was not approved by the chair.",
                "record",
            ),
            Notice(
                "coordinators",
                "recommendation.amendment_rejected",
                "Amendment {number} to the recommendation for {ref} was not approved by the chair.",
                "record",
            ),
        ),
        doc="The chair rejects an amendment: the record never changed.",
    ),
    # ------------------------------------------------------------ feedback
    _t(
        "send_feedback",
        frozenset({S.RECOMMENDATION}),
        S.FEEDBACK_SENT,
        "can_send_feedback",
        "case.feedback_sent",
        "feedback_sent",
        EVERYONE,
        (discussed,),
        (
            Notice(
                "referrers",
                "feedback.sent",
                "The panel's feedback on case {ref} is ready to read in Panel.",
                "case",
                "feedback",
            ),
        ),
        doc="The coordinator sends the approved letters.",
    ),
    _t(
        "family_informed",
        frozenset({S.FEEDBACK_SENT}),
        None,
        "can_mark_family_informed",
        "case.family_informed",
        "family_informed",
        EVERYONE,
        (),
        (),
        doc="The referrer records that the family has been told.",
    ),
    _t(
        "close",
        frozenset({S.FEEDBACK_SENT}),
        S.CLOSED,
        "can_close",
        "case.closed",
        "closed",
        EVERYONE,
        (),
        (),
        doc="The referrer or the coordinator closes the case after sending.",
    ),
    _t(
        "family_question",
        SENT,
        None,
        "can_receive_family_question",
        "question.added_by_family",
        "family_question",
        EVERYONE,
        (),
        (
            Notice(
                "coordinators",
                "family_question",
                "A family follow-up question arrived on {ref}.",
                "case",
                "questions",
            ),
            Notice(
                "referrers",
                "family_question",
                "A family follow-up question arrived on {ref}.",
                "case",
                "questions",
            ),
        ),
        actor="family",
        doc="Hand-off: the family sends its one question with its access code.",
    ),
    # ------------------------------------------------------------ files held back
    _t(
        "file_released",
        ANY,
        None,
        "can_review_files",
        "imaging.release",
        "file_released",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "file.released",
                "A file of {ref} that was held back for review has been released to the panel.",
                "case",
                "images",
            ),
        ),
        doc="Hand-off: the coordinator releases a held-back file as it is.",
    ),
    _t(
        "file_masked",
        ANY,
        None,
        "can_review_files",
        "imaging.mask_release",
        "file_released",
        EVERYONE,
        (),
        (
            Notice(
                "referrers",
                "file.released",
                "A file of {ref} that was held back for review has been masked and released to the panel.",
                "case",
                "images",
            ),
        ),
        doc="Hand-off: the coordinator masks boxes of a held-back image and releases it.",
    ),
    _t(
        "file_deleted",
        ANY,
        None,
        "can_review_files",
        "imaging.delete",
        "file_deleted",
        REFERRER_AND_COORDINATOR,
        (),
        (
            Notice(
                "referrers",
                "file.deleted",
                "A file of {ref} that was held back for review was deleted: upload a clean copy if it is needed.",
                "case",
                "images",
            ),
        ),
        doc="Hand-off: the coordinator deletes a held-back file; the referrers may upload again.",
    ),
]

#: name -> transition.
TRANSITIONS: dict[str, Transition] = {t.name: t for t in _TABLE}


# --------------------------------------------------------------------------- applying
def refusal(case: Case, name: str, *, by: Any, **context: Any) -> Refused | None:
    """Why ``by`` may not do ``name`` to ``case`` now (the exception :func:`apply` would raise),
    or None."""
    t = TRANSITIONS[name]
    if not getattr(case, t.permission)(by):
        return NotAllowed("You may not do this to this case now.")
    if case.status not in t.sources:
        return Refused(f"This cannot be done while the case is {case.status.label.lower()}.")
    for check in t.preconditions:
        message = check(case, context)
        if message:
            return Refused(message)
    return None


def check(case: Case, name: str, *, by: Any, **context: Any) -> None:
    """Raise what :func:`apply` would refuse with, changing nothing."""
    problem = refusal(case, name, by=by, **context)
    if problem is not None:
        raise problem


def audience(case: Case, who: str, context: Context) -> list[Any]:
    """The people a notice goes to (before the actor is left out)."""
    if who == "referrers":
        return case_referrers(case)
    if who in ("voters", "proposer"):
        return list(context.get(who) or [])
    if case.submitted_at is None:  # the panel never hears of a draft
        return []
    roles = {
        "coordinators": (PanelRoleKind.COORDINATOR,),
        "chairs": (PanelRoleKind.CHAIR,),
        "reviewers": (PanelRoleKind.CHAIR, PanelRoleKind.MEMBER),
    }[who]
    return panel_people(case.panel_id, *roles)


def link_for(case: Case, notice: Notice, context: Context) -> str:
    """The exact place to act on a notice."""
    if notice.link == "triage":
        return path_for("meetings.triage")
    if notice.link == "record":
        return path_for("feedback.record", ref=case.reference)
    if notice.link == "minutes" and context.get("minutes_link"):
        return context["minutes_link"]
    if notice.anchor:
        return path_for("cases.show", ref=case.reference, _anchor=notice.anchor)
    return path_for("cases.show", ref=case.reference)


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def notice_text(case: Case, notice: Notice, context: Context) -> str:
    fields = _Fields(
        {k: str(v) for k, v in context.items() if isinstance(v, str | int) and k != "text"}
    )
    fields.update(ref=case.reference, panel=case.panel.code if case.panel else "")
    for key in ("meeting", "next_meeting"):
        value = context.get(key)
        if value is not None and not isinstance(value, str):
            fields[key] = context.get(f"{key}_label") or str(value)
    return notice.text.format_map(fields)


def apply(
    case: Case,
    name: str,
    *,
    by: Any,
    text: str | None = None,
    details: dict[str, Any] | None = None,
    checked: bool = False,
    **context: Any,
) -> Transition:
    """Do the transition ``name``: check, set the status, audit, timeline, notify.

    ``text`` is the timeline entry's text (clinical: never e-mailed). ``details`` go into the
    audit entry and the timeline entry. ``context`` feeds the preconditions (``meeting``,
    ``discussion`` ...) and the notices' texts; a few keys steer the audit entry:
    ``audit_obj`` (the object audited instead of the case), ``audit_panel_id``, ``clinical``,
    ``actor_label``; ``quiet=True`` writes the timeline entry alone (no audit entry, nobody
    told): for a hand-off that is part of another transition which is itself audited and told
    (an information request closed by the resubmission).
    ``checked=True``: the operation called :func:`check` earlier in this transaction (before
    domain work that changes what the check reads, e.g. the panel of a case referred on).
    """
    t = TRANSITIONS[name]
    missing = [key for key in t.needs if key not in context]
    if missing:  # a programming error, not a refusal
        raise TypeError(f"workflow.apply({name!r}) needs {', '.join(missing)} in its context")
    if not checked:
        check(case, name, by=by, **context)
    details = dict(details or {})
    previous = case.status
    now = utcnow()
    if t.target is not None:
        target = context.get("target", t.target)
        case.status = target
        details.setdefault("from", previous.value)
        details.setdefault("to", target.value)
        case.updated_at = now  # a hand-off leaves the case row (and its version) alone
    db.session.flush()
    quiet = bool(context.get("quiet"))
    if not quiet:
        audit.record(
            t.audit,
            obj=context.get("audit_obj", case),
            actor=by,
            actor_label=context.get("actor_label"),
            panel_id=context.get("audit_panel_id"),
            details=details,
            clinical=bool(context.get("clinical", False)),
        )
    record_event(
        case,
        t.event,
        by=by,
        text=text,
        audience=t.event_audience,
        # The timeline shows the status itself; from/to stay in the audit entry.
        details=_jsonable({k: v for k, v in details.items() if k not in ("from", "to")}),
    )
    if not quiet:
        told: set[int] = set()  # one notice per person, even if two rows name them
        for notice in t.notices:
            if notice.when and not context.get(notice.when):
                continue
            people = [u for u in audience(case, notice.audience, context) if u.id not in told]
            told |= {u.id for u in people}
            notify(
                people,
                panel_id=case.panel_id,
                kind=notice.kind,
                text=notice_text(case, notice, context),
                link=link_for(case, notice, context),
                exclude=by,
                case_ref=case.reference,
            )
    return t


def _jsonable(details: dict[str, Any]) -> dict[str, Any] | None:
    if not details:
        return None
    return {k: v for k, v in details.items() if isinstance(v, str | int | float | bool | list)}


def transitions_from(state: CaseStatus) -> Iterable[Transition]:
    """The transitions that may start in ``state``."""
    return (t for t in _TABLE if state in t.sources)


def markdown_table() -> str:
    """The table as ``docs/meetings-and-feedback.md`` prints it (a test keeps them equal)."""
    every = frozenset(CaseStatus)
    lines = [
        "| transition | from | to | who (`Case.` method) | preconditions | audit "
        "| timeline (audience) | told → link |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in _TABLE:
        sources = (
            "any"
            if t.sources == every
            else ", ".join(s.value for s in CaseStatus if s in t.sources)
        )
        told = "; ".join(
            f"{n.audience}{f' (if {n.when})' if n.when else ''} → "
            f"{n.link}{f'#{n.anchor}' if n.anchor else ''}"
            for n in t.notices
        )
        lines.append(
            f"| `{t.name}` | {sources} | {t.target.value if t.target else '(no change)'} "
            f"| `{t.permission}` | {', '.join(f'`{p.__name__}`' for p in t.preconditions)} "
            f"| `{t.audit}` | `{t.event}` ({'+'.join(t.event_audience)}) | {told or 'nobody'} |"
        )
    return "\n".join(lines) + "\n"

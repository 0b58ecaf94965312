"""Who may do what to a case: every case-level rule, defined once, as a method of :class:`Case`.

Each ``can_*`` method answers "may ``user`` do this to this case *now*" (who and in which
state). The view loads with ``load_case_or_404(ref, user, check="can_x")`` (or lets the
operation refuse), the operation raises ``NotAllowed`` (or ``Conflict``/``Refused`` when the
person is right but the moment is not) through the same method, and the template asks the same
method. Rules of other objects live on them and ask these: ``Recommendation.can_edit``,
``Comment.can_view``, ``StoredFile.can_view``, ``VirtualReview.can_vote``, ``Meeting.can_manage``.

"Coordinator" has one meaning: a coordinator *of the panel in question*
(``User.coordinates(panel_id)``, ``Case.is_coordinated_by(user)``). ``User.is_coordinator``
is the coarse role flag (coordinates some panel), for menus and role-only pages.

This module imports nothing from other domains at module level; rules that need a row of
another domain import it inside the method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from panel.accounts.models import PanelRoleKind

if TYPE_CHECKING:
    from panel.accounts.models import User

# The states are spelt as strings here (the enum lives in models.py, which imports this module).
_DRAFT, _SUBMITTED, _INFO, _SCHEDULED = "draft", "submitted", "info_requested", "scheduled"
_DISCUSSED, _RECOMMENDATION, _SENT, _CLOSED, _WITHDRAWN = (
    "discussed",
    "recommendation",
    "feedback_sent",
    "closed",
    "withdrawn",
)

#: States in which the referrer may still edit the referral.
EDITABLE_STATES = frozenset({_DRAFT, _INFO})
#: States before the panel has discussed the case.
BEFORE_DISCUSSION_STATES = frozenset({_DRAFT, _SUBMITTED, _INFO, _SCHEDULED})
#: States from which a case may be referred on to another panel.
REFERABLE_STATES = frozenset({_SUBMITTED, _INFO, _DISCUSSED})
#: States in which the referrers may upload scans and documents.
REFERRER_UPLOAD_STATES = frozenset({_DRAFT, _INFO, _SUBMITTED, _SCHEDULED})
#: After sending, the referrers may read the letters.
SENT_STATES = frozenset({_SENT, _CLOSED})


class CasePermissions:
    """Mixed into :class:`panel.cases.models.Case` (which provides ``status``, ``panel_id``,
    ``submitted_at``, ``created_by_id``, ``co_referrers``, ``urgency`` ...)."""

    # ------------------------------------------------------------------ who is who
    def is_referrer(self, user: User) -> bool:
        """The creator or a named co-referrer."""
        if not getattr(user, "is_authenticated", False) or not user.is_referrer:
            return False
        return user.id == self.created_by_id or any(r.user_id == user.id for r in self.co_referrers)

    def panel_roles(self, user: User) -> set[PanelRoleKind]:
        """The roles ``user`` holds on the case's (current) panel."""
        if not getattr(user, "is_authenticated", False):
            return set()
        return user.roles_on(self.panel_id)

    def is_coordinated_by(self, user: User) -> bool:
        """Is ``user`` a coordinator of the case's panel?"""
        return getattr(user, "is_authenticated", False) and user.coordinates(self.panel_id)

    def is_referrer_or_coordinator(self, user: User) -> bool:
        """The case's referrers and its panel's coordinators (letters pack, revisions ...)."""
        return self.is_referrer(user) or self.is_coordinated_by(user)

    def is_chaired_by(self, user: User) -> bool:
        """Is ``user`` a chair of the case's panel?"""
        return PanelRoleKind.CHAIR in self.panel_roles(user)

    def is_panel_person(self, user: User) -> bool:
        """A member, chair or coordinator of the case's panel, on a submitted case."""
        return self.submitted_at is not None and bool(self.panel_roles(user))

    @property
    def _state(self) -> str:
        return self.status.value

    # ------------------------------------------------------------------ the referral
    def can_view(self, user: User) -> bool:
        """Referrers see their own cases; the panel's members, chairs and coordinators see the
        panel's cases once submitted (never drafts); an invited expert (``is_guest``) sees this
        one submitted case, read only, until the access expires or is revoked. Admins manage
        people, not cases."""
        if self.is_referrer(user):
            return True
        if self.submitted_at is None:  # never submitted: a draft, or a withdrawn draft
            return False
        return bool(self.panel_roles(user)) or self.is_guest(user)

    def is_guest(self, user: User) -> bool:
        """An external expert with current guest access to this case (``CaseGuestAccess``: not
        revoked, not expired). Guests read the referral and its files; they see no comments
        and may do nothing else (every other ``can_*`` rule leaves them out)."""
        if not getattr(user, "is_authenticated", False) or self.submitted_at is None:
            return False
        from panel.cases.guests import current_guest_access

        return current_guest_access(self.id, user.id) is not None

    def can_edit(self, user: User) -> bool:
        """Only the referrers edit the referral, and only as a draft or while information is
        requested."""
        return self._state in EDITABLE_STATES and self.is_referrer(user)

    def can_edit_questions(self, user: User) -> bool:
        """The referrers may add to, edit and reorder the parents' questions until discussion."""
        return self._state in BEFORE_DISCUSSION_STATES and self.is_referrer(user)

    def can_submit(self, user: User) -> bool:
        """The referrers submit a draft, or resubmit while information is requested."""
        return self._state in EDITABLE_STATES and self.is_referrer(user)

    def can_set_urgency(self, user: User) -> bool:
        """Before the first submission the referrers choose the urgency with the referral; from
        then on it is the panel coordinators' decision (until the panel has discussed the case).
        A referrer's later edits keep the stored urgency."""
        if self.submitted_at is None:
            return self._state == _DRAFT and self.is_referrer(user)
        return self._state in BEFORE_DISCUSSION_STATES and self.is_coordinated_by(user)

    def can_withdraw(self, user: User) -> bool:
        """The referrers withdraw the case before the panel has discussed it."""
        return self._state in BEFORE_DISCUSSION_STATES and self.is_referrer(user)

    def can_request_information(self, user: User) -> bool:
        """The panel's coordinators send questions back while the case is submitted."""
        return self._state == _SUBMITTED and self.is_coordinated_by(user)

    def can_answer_information_request(self, user: User) -> bool:
        """The referrers reply to the coordinator's questions while information is requested."""
        return self._state == _INFO and self.is_referrer(user)

    def can_see_revisions(self, user: User) -> bool:
        """The referrers and the panel's coordinators see earlier versions of the referral."""
        return self.is_coordinated_by(user) or self.is_referrer(user)

    # ------------------------------------------------------------------ triage
    def can_refer_on(self, user: User) -> bool:
        """The panel's coordinators refer a submitted case on to another panel while it is
        submitted, waiting for information or discussed (not while it waits on an agenda: the
        operation refuses that with a message)."""
        return (
            self.submitted_at is not None
            and self._state in REFERABLE_STATES
            and self.is_coordinated_by(user)
        )

    def can_open_review(self, user: User) -> bool:
        """The panel's coordinators open an urgent virtual review of an urgent, submitted case."""
        return (
            self.is_coordinated_by(user) and self.urgency == "urgent" and self._state == _SUBMITTED
        )

    def can_schedule(self, user: User) -> bool:
        """The panel's coordinators put a submitted case on a meeting's agenda."""
        return self._state == _SUBMITTED and self.is_coordinated_by(user)

    def can_unschedule(self, user: User) -> bool:
        """The panel's coordinators take a scheduled case off the agenda (back to triage), or
        move it on when its meeting closes without reaching it."""
        return self._state == _SCHEDULED and self.is_coordinated_by(user)

    def can_take_part_in_review(self, user: User) -> bool:
        """The panel's chairs and members take part in an urgent virtual review of a submitted
        case (the review's own rule, ``VirtualReview.can_vote``, adds: open, not yet voted)."""
        return (
            self._state == _SUBMITTED
            and self.submitted_at is not None
            and bool(self.panel_roles(user) & {PanelRoleKind.CHAIR, PanelRoleKind.MEMBER})
        )

    def can_cancel_review(self, user: User) -> bool:
        """The panel's coordinators withdraw an open virtual review (in any state)."""
        return self.submitted_at is not None and self.is_coordinated_by(user)

    # ------------------------------------------------------------------ discussion
    def can_record_outcome(self, user: User) -> bool:
        """The panel's coordinators mark a scheduled case as discussed at its meeting (or undo
        that while the meeting is open); a case discussed before may be discussed again."""
        return self._state in (_SCHEDULED, _DISCUSSED) and self.is_coordinated_by(user)

    def can_see_comments(self, user: User) -> bool:
        """Panel people see every comment and the referrers the shared ones, once the case was
        submitted. Drafts have no discussion."""
        if self.submitted_at is None or self._state == _DRAFT:
            return False
        return self.is_panel_person(user) or self.is_referrer(user)

    def is_open_for_comments(self) -> bool:
        return self.submitted_at is not None and self._state not in (_DRAFT, _WITHDRAWN)

    def can_post_comment(self, user: User) -> bool:
        """Panel people write comments and the referrers reply, on a submitted case that is
        not withdrawn."""
        return self.is_open_for_comments() and (
            self.is_panel_person(user) or self.is_referrer(user)
        )

    # ------------------------------------------------------------------ files
    def can_upload(self, user: User) -> bool:
        """Its referrers while it is a draft, waiting for information, submitted or scheduled;
        the coordinators of its panel while it is open (submitted, neither withdrawn nor closed)."""
        if self.is_referrer(user) and self._state in REFERRER_UPLOAD_STATES:
            return True
        return (
            self.submitted_at is not None
            and self._state not in (_WITHDRAWN, _CLOSED)
            and self.is_coordinated_by(user)
        )

    def can_see_upload(self, user: User, upload) -> bool:
        """An upload's page and progress (file names, each file's result, held-back files
        included): the case's referrers, the panel's coordinators once submitted, and whoever
        sent it while they may still see the case."""
        if upload is None or upload.case_id != getattr(self, "id", None):
            return False
        if self.is_referrer(user) or self.can_review_files(user):
            return True
        return (
            getattr(user, "is_authenticated", False)
            and upload.uploaded_by_id == user.id
            and self.can_view(user)
        )

    # ------------------------------------------------------------------ images from networks
    def takes_images_from_network(self) -> bool:
        """Do its image routes still send incoming studies here (issue 19)? Until the panel's
        feedback is sent; never once closed or withdrawn."""
        return self._state not in (_SENT, _CLOSED, _WITHDRAWN)

    def can_manage_image_routes(self, user: User) -> bool:
        """Add or remove the keys (Accession Number, hospital patient ID) that route studies
        sent by the referring centre's systems to this case: its referrers, and the panel's
        coordinators once submitted, while it takes images."""
        if not self.takes_images_from_network():
            return False
        if self.is_referrer(user):
            return True
        return self.submitted_at is not None and self.is_coordinated_by(user)

    def can_see_incoming(self, user: User) -> bool:
        """The studies that arrived over a network for this case, with their states and
        reasons, and its image routes (kinds and dates, never values): whoever sees its
        uploads as a whole (its referrers, the panel's coordinators once submitted)."""
        return self.is_referrer(user) or self.can_review_files(user)

    def can_review_files(self, user: User) -> bool:
        """The panel's coordinators look at, release, mask or delete held-back files, once the
        case was submitted."""
        return self.submitted_at is not None and self.is_coordinated_by(user)

    # ------------------------------------------------------------------ the recommendation
    def is_record_writer(self, user: User) -> bool:
        """A coordinator or a chair of the case's panel: those who write the record."""
        return bool(self.panel_roles(user) & {PanelRoleKind.COORDINATOR, PanelRoleKind.CHAIR})

    def _record(self):
        return getattr(self, "recommendation", None)  # the feedback package's backref

    def can_start_recommendation(self, user: User) -> bool:
        """The panel's coordinators and chairs, once the case has been discussed and before the
        record is started (starting moves the case on to ``recommendation``; a double click
        opens the record already started)."""
        return self._state == _DISCUSSED and self.is_record_writer(user)

    def can_edit_recommendation(self, user: User) -> bool:
        """The panel's coordinators and chairs write the record (members read it)."""
        return self.is_record_writer(user)

    def can_mark_record_ready(self, user: User) -> bool:
        """The panel's coordinators mark a draft ready for the chair's approval, once (the
        chairs are told, and find it under "Awaiting my approval"; a chair simply approves)."""
        rec = self._record()
        return (
            rec is not None
            and not rec.is_approved
            and rec.ready_at is None
            and self._state == _RECOMMENDATION
            and self.is_coordinated_by(user)
        )

    def can_approve(self, user: User) -> bool:
        """Only a chair of the case's panel approves the recommendation. The operation also
        waits for the moment (a complete draft whose suggested trials are recruiting, checked,
        and have their words for families: ``Recommendation.trials_without_plain_words``), and
        says so in a message; the record page asks the same rule before offering approval."""
        return self.is_chaired_by(user)

    def can_amend_record(self, user: User) -> bool:
        """The record's writers change an approved record through an amendment with a reason,
        while no other amendment waits for a chair. A change to its clinical content (advice,
        answers, trials) by a coordinator waits for a chair's approval."""
        rec = self._record()
        return (
            rec is not None
            and rec.is_approved
            and rec.pending_amendment is None
            and self._state in (_RECOMMENDATION, _SENT, _CLOSED)
            and self.is_record_writer(user)
        )

    def can_approve_amendment(self, user: User) -> bool:
        """A chair of the case's panel approves (or rejects) the amendment that waits."""
        rec = self._record()
        return (
            rec is not None
            and rec.pending_amendment is not None
            and self._state in (_RECOMMENDATION, _SENT, _CLOSED)
            and self.is_chaired_by(user)
        )

    def can_record_study_choice(self, user: User) -> bool:
        """The referrers and the panel's coordinators record (or withdraw) the family's opt-out
        of the (neuroblastoma) epidemiological study, on a submitted neuroblastoma case that is
        neither withdrawn nor closed."""
        if self.submitted_at is None or self._state in (_WITHDRAWN, _CLOSED):
            return False
        if not self.is_neuroblastoma:
            return False
        return self.is_referrer(user) or self.is_coordinated_by(user)

    # ------------------------------------------------------------------ the screening log
    def _has_approved_record(self) -> bool:
        rec = self._record()
        return rec is not None and rec.is_approved

    def can_view_trial_referrals(self, user: User) -> bool:
        """The screening log (what happened to each trial of the approved record) is read by
        the panel's members, chairs and coordinators once the record is approved, and by the
        case's referrers once the letters have been sent (they learn the suggestions from
        them). Guests, admins and the family never read it."""
        if not self._has_approved_record():
            return False
        if self.is_panel_person(user):
            return True
        return self.feedback_sent_at is not None and self.is_referrer(user)

    def can_record_trial_referral(self, user: User) -> bool:
        """The panel's coordinators (once the record is approved) and the case's referrers
        (once the letters have been sent) record the steps of the screening log, for the
        trials of the approved record, while the case is not withdrawn. Chairs and members
        read it. Which step may follow which: ``TrialReferral.allowed_next_steps``."""
        if self._state == _WITHDRAWN or not self._has_approved_record():
            return False
        if self.is_coordinated_by(user):
            return True
        return self.feedback_sent_at is not None and self.is_referrer(user)

    # ------------------------------------------------------------------ feedback
    def can_send_feedback(self, user: User) -> bool:
        """The panel's coordinators send the letters once the chair has approved the record,
        and only once, when every suggested trial the family letter prints has its words for
        families (``Recommendation.trials_without_plain_words``; re-asked at sending, as a
        trial's words may have been cleared since approval)."""
        if not (
            self._state == _RECOMMENDATION
            and self.feedback_sent_at is None
            and self.is_coordinated_by(user)
        ):
            return False
        rec = getattr(self, "recommendation", None)  # the feedback package's backref
        return rec is not None and rec.is_approved and not rec.trials_without_plain_words()

    def can_mark_family_informed(self, user: User) -> bool:
        """The referrers record, once, that the family has been told, after sending."""
        return self.is_referrer(user) and self._state == _SENT and self.family_informed_at is None

    def can_close(self, user: User) -> bool:
        """The referrers or the panel's coordinators close the case after sending."""
        return self._state == _SENT and (self.is_referrer(user) or self.is_coordinated_by(user))

    def can_answer_outcome_check(self, user: User) -> bool:
        """The follow-up outcome form (3, 6 and 12 months after feedback): the case's referrers
        answer it, and the panel's coordinators may record it on their behalf (audited as
        themselves), once the feedback was sent and unless the case was withdrawn. Whether a
        given check is due is the check's own rule (``OutcomeCheck.refusal``)."""
        if self.feedback_sent_at is None or self._state not in SENT_STATES:
            return False
        return self.is_referrer(user) or self.is_coordinated_by(user)

    def can_receive_family_question(self, user: User | None = None) -> bool:
        """A family with a valid access code sends one question once the feedback was sent (the
        family has no account: ``user`` is ignored; the code's own checks are in feedback)."""
        return self._state in SENT_STATES

    def can_manage_family_codes(self, user: User) -> bool:
        """The case's referrers (creator and co-referrers) hand access codes to the family
        (the operation also waits for the feedback to be sent)."""
        return self.is_referrer(user)

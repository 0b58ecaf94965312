"""The recommendation record: drafting, answers to the parents' questions, approval by the
chair, amendments after approval, and the family's study opt-out.

Every function checks who may act, validates, guards free text against patient identifiers,
changes rows, flushes and writes an audit entry; none commits (the view does).

The frozen trial entries in ``Recommendation.trials`` (what the letters print) are plain dicts::

    {
      "trial_id": "CRISP",            # the registry code (also under "code")
      "code": "CRISP",
      "title": "...", "phase": "1/2" | None,
      "priority": 1,                  # 1 = first choice
      "verdict": "eligible" | "possible",
      "facts": ["ALK mutation or other ALK abnormality", ...],     # criteria met
      "to_check": [{"criterion": "L3", "label": "...", "fields": ["..."]}],  # unknown criteria
      "nearest_site": {"centre": "LEEDS", "name": "Leeds ...", "distance_km": 131} | None,
      "distance_km": 131 | None,
      "beyond_travel_limit": False | True | None,
      "status": "open", "status_verified_on": "2026-01-15" | None,
      "registry_ids": ["NCT..."], "version": 3,   # the trial's registry version when frozen
      "frozen_at": "2026-03-01T10:00:00+00:00",
    }

A draft re-freezes its trials from the live registry on every save; an approved record keeps
the entries it has (an amendment only changes their priority, or freezes newly added trials).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from panel.accounts.models import PanelRoleKind, User
from panel.cases import workflow
from panel.cases.models import Case, CaseQuestion, CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.feedback.models import (
    CATEGORIES,
    CONSENSUS,
    AmendmentStatus,
    FollowUpAction,
    QuestionAnswer,
    Recommendation,
    RecommendationAmendment,
    RecommendationStatus,
    plain_words_message,
    trials_without_plain_words,
)
from panel.meetings.discussion import discussion_of
from panel.privacy.guard import guard_texts

__all__ = [
    "Refused",
    "Conflict",
    "NotAllowed",
    "PROFILING",
    "OWNER_ROLES",
    "start_recommendation",
    "minutes_prefill",
    "unanswered_questions",
    "save_record",
    "save_answer",
    "mark_ready",
    "approve",
    "approve_amendment",
    "reject_amendment",
    "awaiting_approval",
    "set_study_opt_out",
    "record_snapshot",
    "recommendation_for",
    "trial_choices",
    "studies_status",
    "is_opted_out",
]

#: Molecular profiling status (value -> label).
PROFILING = {
    "": "Not recorded",
    "not_needed": "Not needed",
    "requested": "Requested",
    "in_progress": "In progress",
    "done": "Done",
}

#: Who owns a follow-up action (value -> label).
OWNER_ROLES = {
    "referrer": "Referring doctor",
    "coordinator": "Coordinator",
    "chair": "Chair",
    "panel": "The panel",
}

VERDICT_LABELS = {
    "eligible": "eligible",
    "possible": "possibly eligible",
    "ineligible": "not eligible",
}

MAX_TEXT = 10_000
MAX_SHORT = 1_000
MAX_TRIALS = 12
MAX_FOLLOW_UPS = 20
EPIDEMIOLOGY_STUDY = "NB-EPIDEMIOLOGY"
PROFILING_STUDY = "SMPAEDS"

#: Case states in which a record may be started, changed or approved.
RECORD_STATES = {
    CaseStatus.DISCUSSED,
    CaseStatus.RECOMMENDATION,
    CaseStatus.FEEDBACK_SENT,
    CaseStatus.CLOSED,
}


def recommendation_for(case: Case) -> Recommendation | None:
    """The case's record, if one has been started."""
    return db.session.scalar(
        select(Recommendation)
        .where(Recommendation.case_id == case.id)
        .options(
            joinedload(Recommendation.drafted_by),
            joinedload(Recommendation.approved_by),
            selectinload(Recommendation.answers).joinedload(QuestionAnswer.question),
            selectinload(Recommendation.amendments).joinedload(RecommendationAmendment.by),
        )
    )


# --------------------------------------------------------------------------- start
def minutes_prefill(case: Case) -> dict[str, Any]:
    """What the panel said, to start the draft from: the outcome and the discussion notes of
    the case's latest discussed agenda item, and the proposal of an agreed virtual review.
    ``{"rationale": str, "sources": [{"kind", "label"}]}`` (empty when there is nothing)."""
    from panel.core.uktime import uk_date
    from panel.meetings.models import (
        AgendaItem,
        ItemOutcome,
        Meeting,
        VirtualReview,
        VirtualReviewStatus,
    )

    parts: list[str] = []
    sources: list[dict[str, str]] = []
    item = db.session.execute(
        select(AgendaItem.outcome, AgendaItem.discussion, Meeting.title, Meeting.starts_at)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id == case.id,
            AgendaItem.outcome_status == ItemOutcome.DISCUSSED,
        )
        .order_by(AgendaItem.discussed_at.desc().nulls_last(), AgendaItem.id.desc())
        .limit(1)
    ).first()
    if item is not None and ((item.outcome or "").strip() or (item.discussion or "").strip()):
        if (item.outcome or "").strip():
            parts.append(item.outcome.strip())
        if (item.discussion or "").strip():
            parts.append("Discussion: " + item.discussion.strip())
        when = uk_date(item.starts_at, "%-d %B %Y") if item.starts_at else ""
        sources.append(
            {
                "kind": "minutes",
                "label": f"the minutes of {item.title or 'the meeting'} {when}".strip(),
            }
        )
    review = db.session.scalar(
        select(VirtualReview.proposal)
        .where(VirtualReview.case_id == case.id, VirtualReview.status == VirtualReviewStatus.AGREED)
        .order_by(VirtualReview.decided_at.desc().nulls_last(), VirtualReview.id.desc())
        .limit(1)
    )
    if review and review.strip():
        parts.append("Agreed in the virtual review: " + review.strip())
        sources.append({"kind": "virtual_review", "label": "the agreed virtual review"})
    return {"rationale": "\n\n".join(parts)[:MAX_TEXT], "sources": sources}


def start_recommendation(case: Case, *, by: User) -> Recommendation:
    """Open the draft record of a discussed case (one answer row per parents' question) and
    move the case to ``recommendation``. The draft starts from what the panel said: the outcome
    and the discussion notes of its agenda item, and an agreed virtual review's proposal,
    prefill the rationale (:func:`minutes_prefill`). Starting an already started record
    returns it. The panel's coordinators and chairs start it (``Case.can_start_recommendation``)."""
    if not case.can_start_recommendation(by):
        if not case.is_record_writer(by):
            raise NotAllowed("Only the panel's coordinator or chair drafts the recommendation.")
        existing = recommendation_for(case)
        if existing is not None:
            return existing  # a double click opens the record already started
        raise Refused("The recommendation is drafted once the panel has discussed the case.")
    prefill = minutes_prefill(case)
    rec = Recommendation(
        case=case,
        case_id=case.id,
        drafted_by_id=by.id,
        categories=[],
        trials=[],
        rationale=prefill["rationale"],
    )
    db.session.add(rec)
    for q in case.questions:
        rec.answers.append(QuestionAnswer(question_id=q.id, question=q, updated_by_id=by.id))
    db.session.flush()
    workflow.apply(
        case,
        "start_recommendation",
        by=by,
        details={
            "questions": len(case.questions),
            "prefilled_from": [src["kind"] for src in prefill["sources"]],
        },
        audit_obj=rec,
    )
    return rec


# --------------------------------------------------------------------------- answers
def _answer_for(rec: Recommendation, question: CaseQuestion) -> QuestionAnswer | None:
    return next((a for a in rec.answers if a.question_id == question.id), None)


def unanswered_questions(rec: Recommendation) -> list[CaseQuestion]:
    """The case's questions (including those the family added later) without both a clinician
    answer and a plain-language answer, in the question order."""
    done = {a.question_id for a in rec.answers if a.is_complete}
    return [q for q in rec.case.questions if q.id not in done]


# --------------------------------------------------------------------------- snapshots
def _follow_up_dict(f: FollowUpAction) -> dict[str, Any]:
    return {"description": f.description, "owner_role": f.owner_role, "due_in_days": f.due_in_days}


def record_snapshot(rec: Recommendation) -> dict[str, Any]:
    """Every field of the record as plain JSON (the before/after of an amendment)."""
    questions = {q.id: q for q in rec.case.questions}
    answers = {}
    for a in sorted(
        rec.answers,
        key=lambda a: questions[a.question_id].position if a.question_id in questions else 1e9,
    ):
        q = questions.get(a.question_id)
        answers[str(a.question_id)] = {
            "question": q.text if q is not None else "",
            "clinician": a.clinician_answer or "",
            "family": a.family_answer or "",
        }
    return {
        "categories": list(rec.categories or []),
        "consensus": rec.consensus,
        "options_considered": rec.options_considered or "",
        "rationale": rec.rationale or "",
        "trials": [dict(t) for t in (rec.trials or [])],
        "follow_ups": [_follow_up_dict(f) for f in rec.follow_ups],
        "re_present": rec.re_present or "",
        "family_summary": rec.family_summary or "",
        "family_re_present": rec.family_re_present or "",
        "molecular_profiling": rec.molecular_profiling or "",
        "answers": answers,
    }


def _changes(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed; for ``answers`` only the questions whose answers changed."""
    b: dict[str, Any] = {}
    a: dict[str, Any] = {}
    for key in after:
        if key == "answers":
            keys = set(before.get("answers", {})) | set(after["answers"])
            old = {
                k: before["answers"].get(k)
                for k in keys
                if before["answers"].get(k) != after["answers"].get(k)
            }
            if old:
                b["answers"] = old
                a["answers"] = {k: after["answers"].get(k) for k in old}
        elif before.get(key) != after.get(key):
            b[key], a[key] = before.get(key), after.get(key)
    return b, a


# --------------------------------------------------------------------------- trials
def _freeze(match: Any, registry: Any, priority: int | None = None) -> dict[str, Any]:
    """One match of the live registry as the record keeps it (see the module docstring)."""
    from panel.trials.matching import snapshot, thaw

    snap = thaw(snapshot(match, registry))
    raw: Mapping[str, Any] = match.trial.raw if match.trial is not None else {}
    facts = [
        c["label"]
        for c in snap["criteria"]
        if c["result"] == "met" and c["kind"] in ("inclusion", "exclusion")
    ]
    to_check = [
        {
            "criterion": m["criterion"],
            "label": m["label"],
            "fields": [f["label"] for f in m.get("fields", [])],
        }
        for m in snap["missing"]
    ]
    return {
        "trial_id": snap["code"],
        "code": snap["code"],
        "title": snap["title"],
        "phase": raw.get("phase"),
        "priority": priority,
        "verdict": snap["verdict"],
        "facts": facts,
        "to_check": to_check,
        "nearest_site": snap["nearest_site"],
        "distance_km": snap["distance_km"],
        "sites_mode": snap["sites_mode"],  # "all": the site is the farthest the child attends
        "beyond_travel_limit": snap["beyond_travel_limit"],
        "status": snap["status"],
        "status_verified_on": snap["status_verified_on"],
        "status_source": raw.get("status_source"),
        "registry_ids": list(raw.get("registry_ids", []) or []),
        "version": snap["version"],
        "frozen_at": snap["taken_at"],
    }


def trial_choices(case: Case) -> list[dict[str, Any]]:
    """The case's current eligible and possible matches (open trials), frozen as the record
    would keep them (priority unset), in matching order."""
    from panel.trials import engine
    from panel.trials.matching import case_matching

    cm = case_matching(case)
    return [
        _freeze(m, cm.registry)
        for m in cm.matches
        if m.verdict in (engine.ELIGIBLE, engine.POSSIBLE) and not m.is_study
    ]


def _trial_code(item: Mapping[str, Any]) -> str:
    """The registry code of a chosen trial: ``trial_id`` (code or numeric id), or ``code``."""
    from panel.trials.models import Trial

    key = item.get("trial_id", item.get("code"))
    if isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
        code = db.session.scalar(select(Trial.code).where(Trial.id == int(key)))
        return code or str(key)
    return str(key or "").strip()


def _chosen_trials(rec: Recommendation, items: Any) -> tuple[list[dict[str, Any]], bool]:
    """Validate the chosen trials and freeze them; also whether any entry was (re)frozen from
    the live registry (a draft always; an approved record only for newly added trials)."""
    if items is None:
        items = []
    if not isinstance(items, list):
        raise Refused("Choose the trials as a list.", "trials")
    if len(items) > MAX_TRIALS:
        raise Refused(f"Suggest at most {MAX_TRIALS} trials.", "trials")
    chosen: list[tuple[str, int]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise Refused("Each suggested trial needs its registry code and a priority.", "trials")
        code = _trial_code(item)
        if not code:
            raise Refused("Each suggested trial needs its registry code.", "trials")
        try:
            priority = int(
                item.get("priority") if item.get("priority") not in (None, "") else len(chosen) + 1
            )
        except (TypeError, ValueError):
            raise Refused(f"The priority of {code} must be a whole number.", "trials") from None
        if not 1 <= priority <= 99:
            raise Refused(f"The priority of {code} must be between 1 and 99.", "trials")
        if any(c == code for c, _ in chosen):
            raise Refused(f"{code} is chosen twice.", "trials")
        chosen.append((code, priority))
    chosen.sort(key=lambda cp: cp[1])
    kept = {t.get("code"): t for t in (rec.trials or [])}
    need_live = [c for c, _ in chosen if not (rec.is_approved and c in kept)]
    live: dict[str, dict[str, Any]] = {}
    if need_live:
        live = {t["code"]: t for t in trial_choices(rec.case)}
    out = []
    for code, priority in chosen:
        if rec.is_approved and code in kept:
            entry = dict(kept[code])
        elif code in live:
            entry = dict(live[code])
            if rec.is_approved:  # an amendment adds it: no approval step follows to refuse it
                _refuse_unchecked_trial(entry)
        else:
            _refuse_not_recruiting(code)
            raise Refused(
                f"{code} is not among the trials this case currently matches (eligible or possible); "
                "only matching, open trials can be suggested.",
                "trials",
            )
        entry["priority"] = priority
        out.append(entry)
    return out, bool(need_live)


_NOT_OPEN = {
    "closed": "closed",
    "suspended": "suspended",
    "not_yet_open": "not yet recruiting",
    "unknown": "of unknown status",
}


def _refuse_not_recruiting(code: str) -> None:
    """Refuse a trial of the registry that is not recruiting, saying so and where from."""
    from panel.trials.models import Trial

    trial = db.session.scalar(select(Trial).where(Trial.code == code))
    if trial is None or trial.is_study:
        return
    rec = trial.match_record()
    if rec["status"] != "open":
        why = _NOT_OPEN.get(rec["status"], rec["status"])
        if trial.status.value == "open":
            why = "not recruiting at any of its sites"
        source = f" ({trial.status_source})" if trial.status_source else ""
        raise Refused(
            f"{code} is {why}{source}: a trial that is not recruiting cannot be suggested.",
            "trials",
        )


def _refuse_unchecked_trial(entry: Mapping[str, Any]) -> None:
    from panel.trials.models import status_note

    note = status_note(entry)
    if note:
        raise Refused(
            f"{entry.get('code')}: {note}. A coordinator must check its status (trial registry: "
            "Mark checked) before it is added.",
            "trials",
        )


def _checked_trials(rec: Recommendation) -> list[dict[str, Any]]:
    """The record's trials with their live status, source and check date; :class:`Refused`
    naming every trial that is not recruiting, or whose status is unknown or not checked
    within ``TRIAL_STATUS_MAX_AGE_DAYS``."""
    from panel.trials.matching import nearest_site
    from panel.trials.models import Trial, status_note

    entries = [dict(t) for t in rec.trials or []]
    codes = [str(t.get("code") or t.get("trial_id") or "") for t in entries]
    if not codes:
        return entries
    live = {t.code: t for t in db.session.scalars(select(Trial).where(Trial.code.in_(codes)))}
    problems: list[str] = []
    out = []
    for code, entry in zip(codes, entries, strict=True):
        trial = live.get(code)
        if trial is None:
            problems.append(f"{code} is no longer in the trial registry")
            continue
        now = trial.match_record()
        if now["status"] != "open":
            why = _NOT_OPEN.get(now["status"], now["status"])
            if trial.status.value == "open":
                why = "not recruiting at any of its sites"
            problems.append(f"{code} is {why} ({trial.status_source or 'no source'}): remove it")
            continue
        note = status_note(now)
        if note:
            problems.append(f"{code}: {note}")
            continue
        site = nearest_site(rec.case, code)
        out.append(
            {
                **entry,
                "status": now["status"],
                "status_verified_on": now["status_verified_on"],
                "status_source": now["status_source"],
                # The nearest site still recruiting at approval (a site the sync found closed
                # since the draft was saved is not printed as "recruiting at").
                "nearest_site": (
                    {
                        "centre": site["centre"],
                        "name": site["name"],
                        "distance_km": site["distance_km"],
                    }
                    if site is not None
                    else None
                ),
                "distance_km": site["distance_km"] if site is not None else None,
            }
        )
    if problems:
        raise Refused(
            "The recommendation cannot be approved until every suggested trial is recruiting and "
            "its status checked within the last "
            f"{_max_age()} days (a coordinator checks it in the trial registry: Mark checked): "
            + "; ".join(problems)
            + ".",
            "trials",
        )
    return out


def _refuse_without_plain_words(entries: Any, by: User, doing: str) -> None:
    """:class:`Refused` naming the trials of ``entries`` the family letter would print without
    words for families (``Recommendation.trials_without_plain_words``, the one rule)."""
    missing = trials_without_plain_words(entries)
    if missing:
        raise Refused(plain_words_message(missing, by, doing), "trials")


def _added_trials(before: Any, after: Any) -> list[dict[str, Any]]:
    """The entries of ``after`` (a record's trials) whose code ``before`` did not have."""
    had = {
        str(t.get("code") or t.get("trial_id") or "") for t in before or [] if isinstance(t, dict)
    }
    return [
        t
        for t in after or []
        if isinstance(t, dict) and str(t.get("code") or t.get("trial_id") or "") not in had
    ]


def _max_age() -> int:
    from panel.trials.models import status_max_age_days

    return status_max_age_days()


# --------------------------------------------------------------------------- validation
def _text(data: Mapping[str, Any], key: str, limit: int = MAX_TEXT) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(f"{key.replace('_', ' ').capitalize()} must be text.", key)
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise Refused(
            f"{key.replace('_', ' ').capitalize()} can be at most {limit} characters.", key
        )
    return value


def _categories(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise Refused("Choose at least one recommendation category.", "categories")
    out: list[str] = []
    for key in value:
        if key not in CATEGORIES:
            raise Refused(f"Unknown recommendation category: {str(key)[:40]}.", "categories")
        if key in out:
            raise Refused(
                f"The category \u201c{CATEGORIES[key]}\u201d is chosen twice.", "categories"
            )
        out.append(key)
    if not out:
        raise Refused("Choose at least one recommendation category.", "categories")
    return out


def _follow_ups(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused("Follow-up actions must be a list.", "follow_ups")
    out = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, Mapping):
            raise Refused(f"Follow-up action {i} is not valid.", "follow_ups")
        description = _text(item, "description", MAX_SHORT)
        if not description:
            raise Refused(f"Follow-up action {i}: describe the action.", "follow_ups")
        role = item.get("owner_role")
        if role not in OWNER_ROLES:
            raise Refused(f"Follow-up action {i}: choose who owns it.", "follow_ups")
        try:
            days = int(item.get("due_in_days"))
        except (TypeError, ValueError):
            raise Refused(
                f"Follow-up action {i}: give the number of days it is due in.", "follow_ups"
            ) from None
        if not 1 <= days <= 365:
            raise Refused(f"Follow-up action {i}: due in 1 to 365 days.", "follow_ups")
        out.append({"description": description, "owner_role": role, "due_in_days": days})
    if len(out) > MAX_FOLLOW_UPS:
        raise Refused(f"At most {MAX_FOLLOW_UPS} follow-up actions.", "follow_ups")
    return out


def _answers(rec: Recommendation, value: Any) -> dict[int, tuple[str, str]]:
    """``{question_id: {"clinician": ..., "family": ...}}`` -> validated texts by question id."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Refused("Answers must be given per question.", "answers")
    ids = {q.id for q in rec.case.questions}
    out = {}
    for key, item in value.items():
        try:
            qid = int(key)
        except (TypeError, ValueError):
            raise Refused("Unknown question.", "answers") from None
        if qid not in ids:
            raise Refused("That question is not one of this case's questions.", "answers")
        if not isinstance(item, Mapping):
            raise Refused(
                "Each answer needs a clinician answer and a plain-language answer.", "answers"
            )
        out[qid] = (_text(item, "clinician"), _text(item, "family"))
    return out


#: The record's own texts written for the family (the answers' family halves are the others):
#: field -> longest length. Both are printed in the family letter, never in the clinician's.
FAMILY_FIELDS = {"family_summary": MAX_TEXT, "family_re_present": MAX_SHORT}


def _family_texts(rec: Recommendation, data: Mapping[str, Any]) -> dict[str, str]:
    """The family summary and the family's re-presentation sentence from ``data``; a key that
    is absent keeps the record's text (a caller that predates them does not blank them)."""
    return {
        key: _text(data, key, limit) if key in data else (getattr(rec, key) or "")
        for key, limit in FAMILY_FIELDS.items()
    }


# --------------------------------------------------------------------------- saving
def _check_can_change(rec: Recommendation, by: User) -> None:
    if not rec.can_edit(by):
        raise NotAllowed("Only the panel's coordinator or chair can change the recommendation.")
    if rec.case.status not in RECORD_STATES:
        raise Refused("The recommendation of this case can no longer be changed.")
    pending = rec.pending_amendment if rec.is_approved else None
    if pending is not None:
        raise Conflict(
            f"Amendment {pending.number} is waiting for the chair's approval. The record can be "
            "amended again once the chair has approved or rejected it."
        )


def _check_version(rec: Recommendation, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != rec.version:
        raise Conflict(
            "Someone else saved this recommendation while you were editing it. Reload to see "
            "their changes; your version was not saved."
        )


def _check_reason(rec: Recommendation, reason: str | None) -> str | None:
    if not rec.is_approved:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise Refused(
            "The recommendation is approved and locked: give a reason for the amendment.", "reason"
        )
    if len(reason) > MAX_SHORT:
        raise Refused(f"The reason can be at most {MAX_SHORT} characters.", "reason")
    return reason


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            "Someone else saved this recommendation at the same time. Reload to see their "
            "changes; your version was not saved."
        ) from None


def _apply_answer(
    rec: Recommendation, question: CaseQuestion, clinician: str, family: str, by: User
) -> bool:
    answer = _answer_for(rec, question)
    if answer is None:
        if not clinician and not family:
            return False
        answer = QuestionAnswer(question_id=question.id, question=question)
        rec.answers.append(answer)
    if answer.clinician_answer == clinician and answer.family_answer == family:
        return False
    answer.clinician_answer = clinician
    answer.family_answer = family
    answer.updated_by_id = by.id
    answer.updated_at = utcnow()
    return True


def _replace_follow_ups(rec: Recommendation, rows: list[dict[str, Any]]) -> None:
    """Keep the rows that stay (their due dates and ticks survive), add new ones, drop the rest."""
    existing = list(rec.follow_ups)
    keep: list[FollowUpAction] = []
    for i, row in enumerate(rows):
        match = next(
            (
                f
                for f in existing
                if f not in keep
                and f.description == row["description"]
                and f.owner_role == row["owner_role"]
            ),
            None,
        )
        if match is None:
            match = FollowUpAction(
                description=row["description"],
                owner_role=row["owner_role"],
                due_in_days=row["due_in_days"],
            )
            rec.follow_ups.append(match)
        elif match.due_in_days != row["due_in_days"]:
            match.due_in_days = row["due_in_days"]
            if match.due_at is not None and rec.case.feedback_sent_at is not None:
                from datetime import timedelta

                match.due_at = rec.case.feedback_sent_at + timedelta(days=row["due_in_days"])
        match.position = i
        keep.append(match)
    for f in existing:
        if f not in keep:
            rec.follow_ups.remove(f)
    rec.follow_ups.sort(key=lambda f: f.position)


#: The clinical content of a record: advice, answers to the parents' questions and trials.
#: After approval, a change to any of these by anyone but a chair of the panel waits for a
#: chair's approval (a pending amendment); follow-up actions are not clinical content.
CLINICAL_FIELDS = frozenset(
    {
        "categories",
        "consensus",
        "options_considered",
        "rationale",
        "re_present",
        "family_summary",
        "family_re_present",
        "molecular_profiling",
        "trials",
        "answers",
    }
)


def _proposed_snapshot(
    rec: Recommendation, fields: Mapping[str, Any], answers: Mapping[int, tuple[str, str]]
) -> dict[str, Any]:
    """The record as it would be with ``fields`` (snapshot keys) and ``answers`` changed,
    without touching the record (what an amendment proposes)."""
    snap = record_snapshot(rec)
    snap.update({k: v for k, v in fields.items() if k != "answers"})
    texts = {q.id: q.text for q in rec.case.questions}
    for qid, (clinician, family) in answers.items():
        key = str(qid)
        if key not in snap["answers"] and not clinician and not family:
            continue
        snap["answers"][key] = {
            "question": texts.get(qid, ""),
            "clinician": clinician,
            "family": family,
        }
    return snap


def _apply_changes(rec: Recommendation, changes: Mapping[str, Any], by: User) -> None:
    """Write an amendment's ``after`` (only the fields that change) into the record."""
    with db.session.no_autoflush:
        for key in ("categories", "trials"):
            if key in changes:
                setattr(rec, key, [dict(t) if isinstance(t, dict) else t for t in changes[key]])
        for key in (
            "consensus",
            "options_considered",
            "rationale",
            "re_present",
            *FAMILY_FIELDS,
        ):
            if key in changes:
                setattr(rec, key, changes[key] or "")
        if "molecular_profiling" in changes:
            rec.molecular_profiling = changes["molecular_profiling"] or ""
        if "trials" in changes:
            rec.trial_status_as_of = utcnow()
        if "follow_ups" in changes:
            _replace_follow_ups(rec, list(changes["follow_ups"] or []))
        questions = {q.id: q for q in rec.case.questions}
        for key, answer in (changes.get("answers") or {}).items():
            question = questions.get(int(key))
            if question is None:
                continue
            answer = answer or {}
            _apply_answer(rec, question, answer.get("clinician", ""), answer.get("family", ""), by)


def _amend(
    rec: Recommendation, proposed: dict[str, Any], *, by: User, reason: str | None
) -> RecommendationAmendment:
    """Record a change to an approved record as amendment n. A change to its clinical content
    by anyone but a chair of the panel waits for a chair (pending; the record is untouched);
    otherwise it is applied at once (:func:`_amendment_applied`)."""
    before = record_snapshot(rec)
    old, new = _changes(before, proposed)
    if not new:
        raise Refused("Nothing was changed, so no amendment was recorded.")
    if "trials" in new:  # a trial added after approval needs its words for families too
        _refuse_without_plain_words(
            _added_trials(old.get("trials"), new["trials"]), by, "amended with that trial"
        )
    clinical = sorted(set(new) & CLINICAL_FIELDS)
    needs_chair = bool(clinical) and not rec.case.is_chaired_by(by)
    workflow.check(rec.case, "amendment_submitted" if needs_chair else "amended", by=by)
    now = utcnow()
    amendment = RecommendationAmendment(
        number=len(rec.amendments) + 1,
        reason=reason,
        before=old,
        after=new,
        by_id=by.id,
        at=now,
        status=(AmendmentStatus.PENDING if needs_chair else AmendmentStatus.APPROVED).value,
        decided_by_id=None if needs_chair else by.id,
        decided_at=None if needs_chair else now,
    )
    rec.amendments.append(amendment)
    if not needs_chair:
        _apply_changes(rec, new, by)
    rec.updated_at = now  # bumps the record's version: two amendments at once -> Conflict
    _flush()
    if needs_chair:
        workflow.apply(
            rec.case,
            "amendment_submitted",
            by=by,
            details={"number": amendment.number, "fields": sorted(new), "reason": reason},
            checked=True,
            audit_obj=rec,
            clinical=True,
            number=amendment.number,
        )
    else:
        _amendment_applied(rec, amendment, by=by)
    return amendment


def _amendment_applied(
    rec: Recommendation,
    amendment: RecommendationAmendment,
    *,
    by: User,
) -> None:
    """The one event of an amendment taking effect (a chair's own amendment, a non-clinical
    one, or :func:`approve_amendment`): its workflow transition (audit, timeline, who is told).
    The record now shows it; whoever keeps sent letters ("updated advice, version n") hooks
    here. The permission was checked before the change (``checked=True``)."""
    case = rec.case
    workflow.apply(
        case,
        "amended",
        by=by,
        details={
            "number": amendment.number,
            "fields": sorted(amendment.after or {}),
            "reason": amendment.reason,
            "proposed_by": amendment.by_id,
            "approved_by": amendment.decided_by_id,
        },
        checked=True,
        audit_obj=rec,
        clinical=True,
        number=amendment.number,
        sent=case.feedback_sent_at is not None,
    )
    # After sending, an amendment never rewrites a sent letter: it issues a new document (an
    # answer addendum, or the updated advice).
    from panel.feedback.documents import after_amendment

    after_amendment(rec, amendment, by=by)


def save_record(
    rec: Recommendation,
    data: Mapping[str, Any],
    *,
    by: User,
    expected_version: int | None,
    reason: str | None = None,
) -> Recommendation:
    """Save the record (see the module docstring for ``data``). On an approved record a
    non-blank ``reason`` is required and the change is recorded as a numbered amendment."""
    _check_can_change(rec, by)
    _check_version(rec, expected_version)
    reason = _check_reason(rec, reason)
    categories = _categories(data.get("categories"))
    consensus = data.get("consensus") or "unanimous"
    if consensus not in CONSENSUS:
        raise Refused("Choose how the panel agreed.", "consensus")
    options = _text(data, "options_considered")
    if consensus == "no_consensus" and not options:
        raise Refused(
            "Without a consensus, describe the options the panel considered.", "options_considered"
        )
    rationale = _text(data, "rationale")
    if not rationale:
        raise Refused("Write the rationale for the recommendation.", "rationale")
    re_present = _text(data, "re_present", MAX_SHORT)
    family_texts = _family_texts(rec, data)
    profiling = data.get("molecular_profiling") or ""
    if profiling not in PROFILING:
        raise Refused("Choose the molecular profiling status.", "molecular_profiling")
    follow_ups = _follow_ups(data.get("follow_ups"))
    answers = _answers(rec, data.get("answers"))
    texts = [("options_considered", options), ("rationale", rationale), ("re_present", re_present)]
    texts += list(family_texts.items())
    texts += [(f"follow_ups[{i}].description", f["description"]) for i, f in enumerate(follow_ups)]
    for qid, (clinician, family) in answers.items():
        texts += [(f"answers[{qid}].clinician", clinician), (f"answers[{qid}].family", family)]
    if reason:
        texts.append(("reason", reason))
    guard_texts(texts)
    trials, refrozen = _chosen_trials(rec, data.get("trials"))

    if rec.is_approved:
        fields = {
            "categories": categories,
            "consensus": consensus,
            "options_considered": options,
            "rationale": rationale,
            "re_present": re_present,
            **family_texts,
            "molecular_profiling": profiling,
            "trials": trials,
            "follow_ups": follow_ups,
        }
        _amend(rec, _proposed_snapshot(rec, fields, answers), by=by, reason=reason)
        return rec

    before = record_snapshot(rec)
    with db.session.no_autoflush:
        rec.categories = categories
        rec.consensus = consensus
        rec.options_considered = options
        rec.rationale = rationale
        rec.re_present = re_present
        rec.family_summary = family_texts["family_summary"]
        rec.family_re_present = family_texts["family_re_present"]
        rec.molecular_profiling = profiling
        if [dict(t) for t in rec.trials or []] != trials:
            rec.trials = trials
        if refrozen or (not rec.is_approved and rec.trial_status_as_of is None):
            rec.trial_status_as_of = utcnow()
        _replace_follow_ups(rec, follow_ups)
        questions = {q.id: q for q in rec.case.questions}
        for qid, (clinician, family) in answers.items():
            _apply_answer(rec, questions[qid], clinician, family, by)
    after = record_snapshot(rec)
    rec.updated_at = utcnow()
    _flush()
    audit.record(
        "recommendation.saved",
        obj=rec,
        actor=by,
        details={"fields": sorted(_changes(before, after)[1]), "version": rec.version},
    )
    return rec


def save_answer(
    rec: Recommendation,
    question: CaseQuestion,
    *,
    clinician_answer: str,
    family_answer: str,
    by: User,
    reason: str | None = None,
    expected_version: int | None = None,
) -> QuestionAnswer:
    """Answer one parents' question, for the clinician and in plain language. After approval
    only with a reason (an amendment)."""
    _check_can_change(rec, by)
    _check_version(rec, expected_version)
    if question.case_id != rec.case_id:
        raise Refused("That question is not one of this case's questions.", "answers")
    reason = _check_reason(rec, reason)
    texts = _answers(rec, {question.id: {"clinician": clinician_answer, "family": family_answer}})[
        question.id
    ]
    guard = [("clinician_answer", texts[0]), ("family_answer", texts[1])]
    if reason:
        guard.append(("reason", reason))
    guard_texts(guard)
    if rec.is_approved:
        _amend(rec, _proposed_snapshot(rec, {}, {question.id: texts}), by=by, reason=reason)
        # The answer as it stands (a pending amendment leaves it unchanged until approved).
        return _answer_for(rec, question) or QuestionAnswer(
            question_id=question.id, clinician_answer="", family_answer=""
        )
    _apply_answer(rec, question, texts[0], texts[1], by)
    rec.updated_at = utcnow()
    _flush()
    audit.record(
        "recommendation.answer_saved",
        obj=rec,
        actor=by,
        details={"question_id": question.id, "complete": bool(texts[0] and texts[1])},
    )
    answer = _answer_for(rec, question)
    assert answer is not None
    return answer


# --------------------------------------------------------------------------- approval
def _check_complete(rec: Recommendation, doing: str) -> None:
    """Refuse (naming what is missing) a record that cannot be approved yet."""
    case = rec.case
    missing = unanswered_questions(rec)
    if missing:
        listed = "; ".join(
            f"{i}. {q.text[:80]}" for i, q in ((case.questions.index(q) + 1, q) for q in missing)
        )
        raise Refused(
            f"{len(missing)} of the parents' questions still need a clinician answer and a "
            f"plain-language answer: {listed}",
            "answers",
        )
    if not rec.categories:
        raise Refused(f"Choose at least one recommendation category before {doing}.", "categories")
    if not (rec.rationale or "").strip():
        raise Refused(f"Write the rationale before {doing}.", "rationale")
    if rec.consensus == "no_consensus" and not (rec.options_considered or "").strip():
        raise Refused(
            f"Without a consensus, describe the options considered before {doing}.",
            "options_considered",
        )


def mark_ready(
    rec: Recommendation, *, by: User, expected_version: int | None = None
) -> Recommendation:
    """The drafter marks the draft ready for the chair's approval: refused while it could not
    be approved (unanswered questions, no category or rationale); the panel's chairs are told
    and find it under "Awaiting my approval"."""
    case = rec.case
    if not case.is_coordinated_by(by):
        raise NotAllowed("Only the panel's coordinator marks the record ready for the chair.")
    if not case.can_mark_record_ready(by):
        if rec.is_approved:
            raise Conflict("This recommendation has already been approved.")
        if rec.ready_at is not None:
            raise Conflict("This recommendation is already marked ready for the chair.")
        raise Refused("The recommendation of this case can no longer be changed.")
    _check_version(rec, expected_version)
    _check_complete(rec, "marking it ready for the chair")
    workflow.check(case, "draft_ready", by=by)
    rec.ready_at = utcnow()
    rec.ready_by_id = by.id
    _flush()
    workflow.apply(
        case, "draft_ready", by=by, details={"version": rec.version}, checked=True, audit_obj=rec
    )
    return rec


def approve(rec: Recommendation, *, by: User, expected_version: int | None) -> Recommendation:
    """The chair approves and locks the record. Refused while a parents' question is
    unanswered or the record has no category or rationale. Of two approvals sent with the
    same version, exactly one succeeds; the other gets :class:`Conflict`."""
    case = rec.case
    if not case.can_approve(by):
        raise NotAllowed("Only the panel's chair can approve the recommendation.")
    if rec.is_approved:
        raise Conflict("This recommendation has already been approved.")
    if case.status not in RECORD_STATES:
        raise Refused("The recommendation of this case can no longer be approved.")
    _check_version(rec, expected_version)
    _check_complete(rec, "approving")
    workflow.check(case, "approve", by=by, discussion=discussion_of(case))
    checked = _checked_trials(rec)
    _refuse_without_plain_words(rec.trials, by, "approved")
    refreshed = checked != [dict(t) for t in rec.trials or []]
    if refreshed:
        # The status, source and check date the approval relied on. The flush bumps the
        # version (checked against expected_version above; a concurrent change: Conflict).
        rec.trials = checked
    _flush()
    now = utcnow()
    version = rec.version if expected_version is None or refreshed else int(expected_version)
    result = db.session.execute(
        update(Recommendation)
        .where(
            Recommendation.id == rec.id,
            Recommendation.status == RecommendationStatus.DRAFT,
            Recommendation.version == version,
        )
        .values(
            status=RecommendationStatus.APPROVED,
            approved_by_id=by.id,
            approved_at=now,
            updated_at=now,
            version=Recommendation.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(rec)
        raise Conflict(
            "Someone else approved or changed this recommendation at the same time. Reload to see it."
        )
    db.session.refresh(rec)
    if case.approved_at is None:
        case.approved_at = now
    case.updated_at = now
    db.session.flush()
    workflow.apply(
        case,
        "approve",
        by=by,
        details={"version": rec.version},
        checked=True,
        audit_obj=rec,
        sent=case.feedback_sent_at is not None,
    )
    if case.feedback_sent_at is None:
        from panel.feedback.documents import prerender_letters

        prerender_letters(rec)  # printed by the queue once this commits
    return rec


# --------------------------------------------------------------------------- amendments
def _decide(
    rec: Recommendation, amendment: RecommendationAmendment, status: str, by: User, note: str
):
    """One chair decides a pending amendment: a conditional UPDATE, so of two decisions at the
    same moment exactly one wins (the other gets :class:`Conflict`)."""
    case = rec.case
    if amendment.recommendation_id != rec.id:
        raise Refused("That amendment is not one of this recommendation's.")
    if not case.is_chaired_by(by):
        raise NotAllowed("Only a chair of the panel approves or rejects an amendment.")
    if not amendment.is_pending:
        raise Conflict(f"Amendment {amendment.number} has already been decided.")
    if case.status not in RECORD_STATES:
        raise Refused("The recommendation of this case can no longer be changed.")
    workflow.check(
        case,
        "amendment_approved" if status == AmendmentStatus.APPROVED.value else "amendment_rejected",
        by=by,
    )
    note = (note or "").replace("\r\n", "\n").strip()
    if len(note) > MAX_SHORT:
        raise Refused(f"The note can be at most {MAX_SHORT} characters.", "note")
    if note:
        guard_texts([("note", note)])
    now = utcnow()
    result = db.session.execute(
        update(RecommendationAmendment)
        .where(
            RecommendationAmendment.id == amendment.id,
            RecommendationAmendment.status == AmendmentStatus.PENDING.value,
        )
        .values(status=status, decided_by_id=by.id, decided_at=now, decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(amendment)
        raise Conflict(
            f"Someone else decided amendment {amendment.number} at the same time. Reload to see it."
        )
    db.session.refresh(amendment)
    return note


def approve_amendment(
    rec: Recommendation, amendment: RecommendationAmendment, *, by: User, note: str = ""
) -> RecommendationAmendment:
    """A chair of the panel approves a pending amendment: its changes are written into the
    record (which showed the approved text until now). The explicit event of an approved
    amendment; it ends in :func:`_amendment_applied`."""
    current = record_snapshot(rec)
    for key, old in (amendment.before or {}).items():
        now_value = current.get(key)
        if key == "answers":
            stale = any((now_value or {}).get(k) != v for k, v in (old or {}).items())
        else:
            stale = now_value != old
        if stale:
            raise Conflict(
                f"The record changed since amendment {amendment.number} was proposed; reject it "
                "and propose the change again."
            )
    if "trials" in (amendment.after or {}):  # words cleared since it was proposed
        _refuse_without_plain_words(
            _added_trials((amendment.before or {}).get("trials"), amendment.after["trials"]),
            by,
            "amended with that trial",
        )
    _decide(rec, amendment, AmendmentStatus.APPROVED.value, by, note)
    _apply_changes(rec, amendment.after or {}, by)
    rec.updated_at = utcnow()
    _flush()
    workflow.apply(
        rec.case,
        "amendment_approved",
        by=by,
        details={"number": amendment.number, "fields": sorted(amendment.after or {})},
        checked=True,
        audit_obj=rec,
        clinical=True,
    )
    _amendment_applied(rec, amendment, by=by)
    return amendment


def reject_amendment(
    rec: Recommendation, amendment: RecommendationAmendment, *, by: User, note: str = ""
) -> RecommendationAmendment:
    """A chair of the panel rejects a pending amendment: the record never changed; the person
    who proposed it and the coordinators are told."""
    note = _decide(rec, amendment, AmendmentStatus.REJECTED.value, by, note)
    rec.updated_at = utcnow()
    _flush()
    workflow.apply(
        rec.case,
        "amendment_rejected",
        by=by,
        details={"number": amendment.number, "note": note},
        checked=True,
        audit_obj=rec,
        clinical=True,
        number=amendment.number,
        proposer=[amendment.by] if amendment.by is not None else [],
    )
    return amendment


def awaiting_approval(user: User, limit: int = 50) -> list[dict[str, Any]]:
    """For a chair: the drafts marked ready for approval and the pending amendments of the
    panels they chair, oldest first (``{"case", "rec", "what", "since", "amendment"}``)."""
    panels = list(user.panel_ids(PanelRoleKind.CHAIR)) if hasattr(user, "panel_ids") else []
    if not panels:
        return []
    ready = db.session.execute(
        select(Recommendation, Case)
        .join(Case, Case.id == Recommendation.case_id)
        .where(
            Case.panel_id.in_(panels),
            Case.status == CaseStatus.RECOMMENDATION,
            Recommendation.status == RecommendationStatus.DRAFT,
            Recommendation.ready_at.is_not(None),
        )
        .options(joinedload(Case.panel))
        .order_by(Recommendation.ready_at)
        .limit(limit)
    ).all()
    pending = db.session.execute(
        select(RecommendationAmendment, Recommendation, Case)
        .join(Recommendation, Recommendation.id == RecommendationAmendment.recommendation_id)
        .join(Case, Case.id == Recommendation.case_id)
        .where(
            Case.panel_id.in_(panels),
            RecommendationAmendment.status == AmendmentStatus.PENDING.value,
        )
        .options(joinedload(Case.panel))
        .order_by(RecommendationAmendment.at)
        .limit(limit)
    ).all()
    out = [
        {
            "case": c,
            "rec": r,
            "what": "Draft ready for approval",
            "since": r.ready_at,
            "amendment": None,
        }
        for r, c in ready
    ] + [
        {
            "case": c,
            "rec": r,
            "what": f"Amendment {a.number} to approve",
            "since": a.at,
            "amendment": a,
        }
        for a, r, c in pending
    ]
    out.sort(key=lambda row: row["since"])
    return out[:limit]


# --------------------------------------------------------------------------- studies
def is_opted_out(case: Case) -> bool:
    """Whether the family opted out of the epidemiological study (recorded on the case, or
    ticked in the referral)."""
    module = ((case.data or {}).get("modules") or {}).get("neuroblastoma") or {}
    return case.study_opt_out_at is not None or module.get("epidemiology_study_opt_out") is True


def set_study_opt_out(case: Case, opted_out: bool, *, by: User) -> Case:
    """Record (or withdraw) the family's opt-out of the epidemiological study."""
    if not case.can_record_study_choice(by):
        if not case.is_referrer_or_coordinator(by):
            raise NotAllowed(
                "Only the case's referrers or the panel's coordinator record the study opt-out."
            )
        raise Refused(
            "The study opt-out is recorded on a submitted case that is neither withdrawn nor closed."
        )
    previous = case.study_opt_out_at is not None
    if previous == bool(opted_out):
        return case
    case.study_opt_out_at = utcnow() if opted_out else None
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "case.study_opt_out" if opted_out else "case.study_opt_in",
        obj=case,
        actor=by,
        details={"study": EPIDEMIOLOGY_STUDY, "opted_out": bool(opted_out)},
    )
    return case


def study_status(code: str) -> dict[str, Any]:
    """A study's status as the registry holds it now (studies are not synced: a coordinator
    checks them): ``status``, ``checked_on`` (a date or None), ``source``, and ``confirmed``
    (open *and* checked within ``TRIAL_STATUS_MAX_AGE_DAYS``: only then do Panel's pages and
    letters say that a child is included). A study missing from the registry is unknown."""
    from panel.trials.models import STATUS_LABELS, Trial, status_note, status_unchecked

    trial = db.session.scalar(select(Trial).where(Trial.code == code))
    if trial is None:
        return {
            "code": code,
            "status": "unknown",
            "label": "Not in the registry",
            "checked_on": None,
            "source": None,
            "confirmed": False,
            "note": "Not in the trial registry",
        }
    record = trial.to_record()
    return {
        "code": code,
        "status": trial.status.value,
        "label": STATUS_LABELS[trial.status.value],
        "checked_on": trial.status_verified_on,
        "source": trial.status_source,
        "confirmed": trial.status.value == "open" and not status_unchecked(record),
        "note": status_note(record),
    }


#: What the pages say of the epidemiological study, by state.
EPI_LABELS = {
    "opted_out": "Opted out by the family",
    "not_eligible": "Not eligible",
    "included": "Included (the family can opt out)",
    "closed": "Study closed: not included",
    "unconfirmed": "Study not confirmed open: do not tell the family the child is included",
}


def epidemiology_state(opted_out: bool, study: Mapping[str, Any], verdict: str | None) -> str:
    """``opted_out``, ``closed``, ``unconfirmed`` (unknown, suspended, not yet open, or open
    but not checked recently), ``not_eligible`` or ``included``: a family is told "your child
    is included" only for ``included``."""
    if opted_out:
        return "opted_out"
    if not study["confirmed"]:
        return "closed" if study["status"] == "closed" else "unconfirmed"
    if verdict == "ineligible":
        return "not_eligible"
    return "included"


def studies_status(case: Case, rec: Recommendation | None = None) -> dict[str, Any]:
    """The epidemiological study (included unless the family opted out, the case does not
    qualify, or the study is not confirmed open) and molecular profiling (the record's status,
    and the profiling study's verdict), each with the study's status, source and check date."""
    from panel.trials.matching import case_matching

    by_code = {m.trial_id: m for m in case_matching(case).studies}
    epi = by_code.get(EPIDEMIOLOGY_STUDY)
    prof = by_code.get(PROFILING_STUDY)
    epi_study = study_status(EPIDEMIOLOGY_STUDY)
    prof_study = study_status(PROFILING_STUDY)
    opted_out = is_opted_out(case)
    verdict = epi.verdict if epi is not None else None
    state = epidemiology_state(opted_out, epi_study, verdict)
    profiling = (rec.molecular_profiling if rec is not None else "") or ""
    return {
        "epidemiology": {
            "code": EPIDEMIOLOGY_STUDY,
            "title": epi.title if epi is not None else "Neuroblastoma Epidemiological Study",
            "verdict": verdict,
            "state": state,
            "label": EPI_LABELS[state],
            "included": state == "included",
            "opted_out": opted_out,
            "opted_out_at": case.study_opt_out_at,
            "study": epi_study,
        },
        "profiling": {
            "code": PROFILING_STUDY,
            "title": prof.title if prof is not None else "Molecular profiling",
            "verdict": prof.verdict if prof is not None else None,
            "verdict_label": VERDICT_LABELS.get(prof.verdict, "")
            if prof is not None
            else _study_absent_label(PROFILING_STUDY).lower(),
            "status": profiling,
            "label": PROFILING.get(profiling, profiling),
            "study": prof_study,
        },
    }


def _study_absent_label(code: str) -> str:
    """Why a study is not among the case's studies: not in the registry, or not open."""
    from panel.trials.models import STATUS_LABELS, Trial

    status = db.session.scalar(select(Trial.status).where(Trial.code == code))
    if status is None:
        return "Not in the registry"
    return f"Study status: {STATUS_LABELS[status.value].lower()} (not suggested)"


def category_labels(keys: Iterable[str]) -> list[str]:
    return [CATEGORIES.get(k, k) for k in keys]

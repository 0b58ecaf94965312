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
from panel.accounts.queries import panel_people
from panel.cases.models import Case, CaseQuestion, CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.web import path_for
from panel.feedback.models import (
    CATEGORIES,
    CONSENSUS,
    FollowUpAction,
    QuestionAnswer,
    Recommendation,
    RecommendationAmendment,
    RecommendationStatus,
)
from panel.privacy.guard import guard_texts

__all__ = [
    "Refused",
    "Conflict",
    "NotAllowed",
    "PROFILING",
    "OWNER_ROLES",
    "start_recommendation",
    "unanswered_questions",
    "save_record",
    "save_answer",
    "approve",
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
def start_recommendation(case: Case, *, by: User) -> Recommendation:
    """Open the draft record of a discussed case (one answer row per parents' question) and
    move the case to ``recommendation``. Starting an already started record returns it."""
    if not case.can_start_recommendation(by):
        if not case.is_coordinated_by(by):
            raise NotAllowed("Only the panel's coordinator drafts the recommendation.")
        existing = recommendation_for(case)
        if existing is not None:
            return existing  # a double click opens the record already started
        raise Refused("The recommendation is drafted once the panel has discussed the case.")
    rec = Recommendation(case=case, case_id=case.id, drafted_by_id=by.id, categories=[], trials=[])
    db.session.add(rec)
    for q in case.questions:
        rec.answers.append(QuestionAnswer(question_id=q.id, question=q, updated_by_id=by.id))
    previous = case.status
    case.status = CaseStatus.RECOMMENDATION
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "recommendation.started",
        obj=rec,
        actor=by,
        details={"from": previous.value, "to": case.status.value, "questions": len(case.questions)},
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
        out.append(
            {
                **entry,
                "status": now["status"],
                "status_verified_on": now["status_verified_on"],
                "status_source": now["status_source"],
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


# --------------------------------------------------------------------------- saving
def _check_can_change(rec: Recommendation, by: User) -> None:
    if not rec.can_edit(by):
        raise NotAllowed("Only the panel's coordinator or chair can change the recommendation.")
    if rec.case.status not in RECORD_STATES:
        raise Refused("The recommendation of this case can no longer be changed.")


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


def _finish_change(
    rec: Recommendation, before: dict[str, Any], *, by: User, reason: str | None, action: str
) -> RecommendationAmendment | None:
    """Bump the record, and for an approved record write the amendment (or refuse a no-op)."""
    after = record_snapshot(rec)
    old, new = _changes(before, after)
    amendment = None
    if rec.is_approved:
        if not new:
            raise Refused("Nothing was changed, so no amendment was recorded.")
        number = len(rec.amendments) + 1
        amendment = RecommendationAmendment(
            number=number, reason=reason, before=old, after=new, by_id=by.id
        )
        rec.amendments.append(amendment)
    rec.updated_at = utcnow()
    _flush()
    fields = sorted(new)
    if amendment is not None:
        audit.record(
            "recommendation.amended",
            obj=rec,
            actor=by,
            details={"number": amendment.number, "fields": fields, "reason": reason},
            clinical=True,
        )
        _notify_amended(rec, amendment, by)
    else:
        audit.record(action, obj=rec, actor=by, details={"fields": fields, "version": rec.version})
    return amendment


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
    profiling = data.get("molecular_profiling") or ""
    if profiling not in PROFILING:
        raise Refused("Choose the molecular profiling status.", "molecular_profiling")
    follow_ups = _follow_ups(data.get("follow_ups"))
    answers = _answers(rec, data.get("answers"))
    texts = [("options_considered", options), ("rationale", rationale), ("re_present", re_present)]
    texts += [(f"follow_ups[{i}].description", f["description"]) for i, f in enumerate(follow_ups)]
    for qid, (clinician, family) in answers.items():
        texts += [(f"answers[{qid}].clinician", clinician), (f"answers[{qid}].family", family)]
    if reason:
        texts.append(("reason", reason))
    guard_texts(texts)
    trials, refrozen = _chosen_trials(rec, data.get("trials"))

    before = record_snapshot(rec)
    with db.session.no_autoflush:
        rec.categories = categories
        rec.consensus = consensus
        rec.options_considered = options
        rec.rationale = rationale
        rec.re_present = re_present
        rec.molecular_profiling = profiling
        if [dict(t) for t in rec.trials or []] != trials:
            rec.trials = trials
        if refrozen or (not rec.is_approved and rec.trial_status_as_of is None):
            rec.trial_status_as_of = utcnow()
        _replace_follow_ups(rec, follow_ups)
        questions = {q.id: q for q in rec.case.questions}
        for qid, (clinician, family) in answers.items():
            _apply_answer(rec, questions[qid], clinician, family, by)
    _finish_change(rec, before, by=by, reason=reason, action="recommendation.saved")
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
    before = record_snapshot(rec)
    _apply_answer(rec, question, texts[0], texts[1], by)
    if rec.is_approved:
        _finish_change(rec, before, by=by, reason=reason, action="recommendation.answer_saved")
    else:
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
        raise Refused("Choose at least one recommendation category before approving.", "categories")
    if not (rec.rationale or "").strip():
        raise Refused("Write the rationale before approving.", "rationale")
    if rec.consensus == "no_consensus" and not (rec.options_considered or "").strip():
        raise Refused(
            "Without a consensus, describe the options considered before approving.",
            "options_considered",
        )
    checked = _checked_trials(rec)
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
    audit.record("recommendation.approved", obj=rec, actor=by, details={"version": rec.version})
    notify(
        panel_people(case.panel_id, PanelRoleKind.COORDINATOR),
        panel_id=case.panel_id,
        kind="recommendation.approved",
        text=f"The recommendation for {case.reference} has been approved.",
        link=path_for("feedback.record", ref=case.reference),
        exclude=by,
    )
    return rec


def _notify_amended(rec: Recommendation, amendment: RecommendationAmendment, by: User) -> None:
    case = rec.case
    people = panel_people(case.panel_id, PanelRoleKind.COORDINATOR, PanelRoleKind.CHAIR)
    notify(
        people,
        panel_id=case.panel_id,
        kind="recommendation.amended",
        text=f"The approved recommendation for {case.reference} was amended (amendment {amendment.number}).",
        link=path_for("feedback.record", ref=case.reference),
        exclude=by,
    )
    if case.feedback_sent_at is not None:
        notify(
            case_referrers(case),
            panel_id=case.panel_id,
            kind="recommendation.amended",
            text=f"The panel amended its recommendation for {case.reference} after the letters were sent.",
            link=path_for("cases.show", ref=case.reference),
            exclude=by,
        )


# --------------------------------------------------------------------------- studies
def is_opted_out(case: Case) -> bool:
    """Whether the family opted out of the epidemiological study (recorded on the case, or
    ticked in the referral)."""
    family = (case.data or {}).get("family") or {}
    return case.study_opt_out_at is not None or family.get("epidemiology_study_opt_out") is True


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


def studies_status(case: Case, rec: Recommendation | None = None) -> dict[str, Any]:
    """The epidemiological study (included unless the family opted out or the case does not
    qualify) and molecular profiling (the record's status, and the profiling study's verdict)."""
    from panel.trials.matching import case_matching

    by_code = {m.trial_id: m for m in case_matching(case).studies}
    epi = by_code.get(EPIDEMIOLOGY_STUDY)
    prof = by_code.get(PROFILING_STUDY)
    opted_out = is_opted_out(case)
    verdict = epi.verdict if epi is not None else None
    if opted_out:
        state, label = "opted_out", "Opted out by the family"
    elif verdict == "ineligible":
        state, label = "not_eligible", "Not eligible"
    elif epi is None:
        state, label = "unknown", _study_absent_label(EPIDEMIOLOGY_STUDY)
    else:
        state, label = "included", "Included (the family can opt out)"
    profiling = (rec.molecular_profiling if rec is not None else "") or ""
    return {
        "epidemiology": {
            "code": EPIDEMIOLOGY_STUDY,
            "title": epi.title if epi is not None else "Neuroblastoma Epidemiological Study",
            "verdict": verdict,
            "state": state,
            "label": label,
            "included": state == "included",
            "opted_out": opted_out,
            "opted_out_at": case.study_opt_out_at,
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

"""Every change to the trial registry: validate with the engine, flush, record the history,
audit with a diff, ask for the open cases to be re-matched (a job). Never commit.

The registry is edited by coordinators (of any panel) in the editor, and loaded from a
``trials.json`` file by ``flask --app panel load-trials``; both go through :func:`save_trial`,
so a file and a form are held to the same rules (:func:`panel.trials.engine.validate_trial`).

Re-matching
-----------
When a trial opens (or is added open) or its criteria change while it is open, every open case
(submitted, information requested, scheduled; of every panel) is evaluated against the trial as
it was and as it is now, on the same case data. A case whose verdict improves into ``possible``
or ``eligible`` (from not open / ineligible, or from possible to eligible) gets a
:class:`TrialNewMatch` for the coordinators of its panel. The last verdict of every (case, trial)
pair is kept in :class:`CaseTrialMatch`. Studies are not re-matched (they are not trials).

The evaluation runs in a ``trials.rematch`` job (:mod:`panel.trials.jobs`), asked for in the
saving transaction (:func:`ask_for_rematch`) and keyed by the trial and its version, so a save
returns at once and the lists and case pages show the verdicts when the job has run. A trial
that closes is withdrawn at once, in the saving transaction (two UPDATEs, no evaluation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from panel.accounts.models import Centre, User
from panel.cases.models import Case, CaseStatus
from panel.core import audit
from panel.core.db import db, utcnow
from panel.trials import engine
from panel.trials.matching import centre_index, rule_body
from panel.trials.models import (
    CaseTrialMatch,
    Trial,
    TrialChange,
    TrialChangeKind,
    TrialNewMatch,
    TrialStatus,
)

#: Case states re-matched when a trial opens or changes.
OPEN_CASE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.INFO_REQUESTED, CaseStatus.SCHEDULED)
NOT_OPEN = "not_open"
_RANK = {engine.ELIGIBLE: 0, engine.POSSIBLE: 1, engine.INELIGIBLE: 2, NOT_OPEN: 3, None: 3}
_FIELDS = (
    "id",
    "title",
    "phase",
    "summary",
    "registry_ids",
    "sponsor",
    "status",
    "status_verified_on",
    "status_source",
    "sites",
    "sites_mode",
    "criteria",
    "notes",
    "plain_title",
    "plain_summary",
)
#: The words for families: a file fills them only where the registry has none.
PLAIN_FIELDS = ("plain_title", "plain_summary")
_STUDY_FIELDS = ("is_study", "kind", "enrolment")


# --------------------------------------------------------------------------- errors
class TrialError(Exception):
    """A refused registry change; ``errors`` lists every problem (each names the trial and,
    where it applies, the criterion)."""

    status = 422

    def __init__(self, errors: str | Iterable[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


class TrialConflict(TrialError):
    status = 409


class TrialNotAllowed(TrialError):
    status = 403


# --------------------------------------------------------------------------- centres
def centre_codes() -> frozenset[str]:
    """The centre codes trial sites may name (the database's; the packaged list if it has none)."""
    codes = frozenset(db.session.scalars(select(Centre.code)))
    return codes or frozenset(c["code"] for c in engine.load_centres())


# --------------------------------------------------------------------------- records
def normalise_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A trial record with every field present (defaults filled), as the database stores it."""
    out = {
        "id": rec.get("id"),
        "title": rec.get("title"),
        "phase": rec.get("phase"),
        "summary": rec.get("summary"),
        "registry_ids": list(rec.get("registry_ids") or []),
        "sponsor": rec.get("sponsor"),
        "status": rec.get("status") or "open",
        "status_verified_on": rec.get("status_verified_on"),
        "status_source": rec.get("status_source"),
        "sites": list(rec.get("sites") or []),
        "sites_mode": rec.get("sites_mode") or "any",
        "criteria": [dict(c) for c in rec.get("criteria") or []],
        "notes": list(rec.get("notes") or []),
        "plain_title": _plain(rec.get("plain_title")),
        "plain_summary": _plain(rec.get("plain_summary")),
    }
    if rec.get("is_study") is True:
        out.update(is_study=True, kind=rec.get("kind"), enrolment=rec.get("enrolment"))
    return out


def _plain(text: Any) -> str | None:
    """Words for families as stored: trimmed, None when blank."""
    text = text.strip() if isinstance(text, str) else None
    return text or None


def _apply(trial: Trial, rec: Mapping[str, Any]) -> None:
    trial.code = rec["id"]
    trial.title = rec["title"].strip()
    trial.phase = rec["phase"]
    trial.summary = rec["summary"]
    trial.registry_ids = list(rec["registry_ids"])
    trial.sponsor = rec["sponsor"]
    trial.status = TrialStatus(rec["status"])
    verified = rec["status_verified_on"]
    trial.status_verified_on = date.fromisoformat(verified) if verified else None
    trial.status_source = rec["status_source"]
    trial.sites = list(rec["sites"])
    trial.sites_mode = rec["sites_mode"]
    trial.criteria = [dict(c) for c in rec["criteria"]]
    trial.notes = list(rec["notes"])
    trial.plain_title = rec["plain_title"]
    trial.plain_summary = rec["plain_summary"]
    trial.is_study = rec.get("is_study") is True
    trial.study_kind = rec.get("kind") if trial.is_study else None
    trial.enrolment = rec.get("enrolment") if trial.is_study else None


def record_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed, for the audit trail and the history: ``{field: [old, new]}``; criteria
    by id: ``{"criteria": {"added": [...], "removed": [...], "changed": {id: [old, new]},
    "order": [old ids, new ids]}}``."""
    if before is None:
        return {"created": True}
    plain = audit.diff(
        {k: v for k, v in before.items() if k != "criteria"},
        {k: v for k, v in after.items() if k != "criteria"},
    )
    old = {c.get("id"): c for c in before.get("criteria", [])}
    new = {c.get("id"): c for c in after.get("criteria", [])}
    crit: dict[str, Any] = {}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = {k: [old[k], new[k]] for k in new if k in old and old[k] != new[k]}
    if added:
        crit["added"] = added
    if removed:
        crit["removed"] = removed
    if changed:
        crit["changed"] = changed
    if not crit and list(old) != list(new):
        crit["order"] = [list(old), list(new)]
    if crit:
        plain["criteria"] = crit
    return plain


def validate_record(rec: Mapping[str, Any], codes: Iterable[str] | None = None) -> list[str]:
    """Every problem of one record (:func:`engine.validate_trial` against the centres)."""
    return engine.validate_trial(rec, frozenset(codes) if codes is not None else centre_codes())


# --------------------------------------------------------------------------- saving
def _actor_label(by: User | None, actor_label: str | None) -> str:
    if actor_label:
        return actor_label
    return by.email if by is not None else "system"


def save_trial(
    rec: Mapping[str, Any],
    *,
    by: User | None,
    trial: Trial | None = None,
    expected_version: int | None = None,
    actor_label: str | None = None,
    codes: Iterable[str] | None = None,
    announce: bool = True,
) -> tuple[Trial, bool]:
    """Create (``trial`` None) or replace a trial with the record ``rec``.

    Validates with the engine (:class:`TrialError` naming trial and criterion), checks the
    optimistic lock (:class:`TrialConflict`), writes a :class:`TrialChange` and an audit entry
    with the diff, and re-matches the open cases when the trial opened or its criteria changed.
    Returns ``(trial, changed)``; an identical record changes nothing. With ``announce``
    false the verdicts are recorded but no case is shown as newly matching (the first load of
    an empty registry is a baseline, not news).
    """
    if by is not None and not Trial.can_edit(by):
        raise TrialNotAllowed("Only coordinators change the trial registry.")
    if trial is not None and expected_version is not None and expected_version != trial.version:
        raise TrialConflict(
            f"trial {trial.code}: someone else saved this trial while you were editing it "
            f"(version {trial.version}, yours {expected_version}). Reload to see their changes; "
            "yours were not saved."
        )
    errors = validate_record(rec, codes)
    if errors:
        raise TrialError(errors)
    after = normalise_record(rec)
    before = normalise_record(trial.to_record()) if trial is not None else None
    if trial is not None and after["id"] != trial.code:
        raise TrialError(f"trial {trial.code}: the code of a trial cannot change")
    if trial is None:
        existing = db.session.scalar(select(Trial.id).where(Trial.code == after["id"]))
        if existing is not None:
            raise TrialConflict(f"trial {after['id']}: a trial with this code already exists")
    if before is not None and before == after:
        return trial, False
    if by is not None:  # a person wrote the words for families: no identifier may be in them
        written = [
            (k, after[k])
            for k in PLAIN_FIELDS
            if after[k] and (before is None or before[k] != after[k])
        ]
        if written:
            from panel.privacy.guard import guard_texts

            guard_texts(written)

    now = utcnow()
    recruiting_before = _recruiting(trial)
    if trial is None:
        trial = Trial(created_at=now)
        db.session.add(trial)
    _apply(trial, after)
    trial.updated_at = now
    trial.updated_by_id = by.id if by is not None else None
    db.session.flush()  # assigns the id and bumps the version (the optimistic lock)
    diff = record_diff(before, after)
    label = _actor_label(by, actor_label)
    db.session.add(
        TrialChange(
            trial_id=trial.id,
            version=trial.version,
            kind=TrialChangeKind.CREATED if before is None else TrialChangeKind.UPDATED,
            at=now,
            by_id=by.id if by is not None else None,
            by_label=label,
            diff=diff,
            record=after,
        )
    )
    audit.record(
        "trial.created" if before is None else "trial.updated",
        obj=trial,
        actor=by,
        actor_label=label if by is None else None,
        details={"version": trial.version, "changes": diff},
    )
    ask_for_rematch(trial, before, after, announce=announce)
    db.session.flush()
    announce_if_stopped(trial, recruiting_before, by=by, actor_label=label)
    return trial, True


def _recruiting(trial: Trial | None) -> str | None:
    """The status the matcher sees (``Trial.match_record``: a trial whose every site the
    registry reports closed reads ``closed``); None for no trial or a study."""
    if trial is None or trial.is_study:
        return None
    return trial.match_record()["status"]


def announce_if_stopped(
    trial: Trial, previous: str | None, *, by: User | None, actor_label: str | None
) -> bool:
    """Send ``core.signals.trial_stopped_recruiting`` when ``trial`` was recruiting
    (``previous`` == "open", as the matcher saw it) and no longer is. The receivers (feedback:
    the open recommendations that suggest it) run in this transaction. Returns whether it
    was sent."""
    from panel.core import signals

    status = _recruiting(trial)
    if previous != "open" or status in (None, "open"):
        return False
    signals.send(
        signals.trial_stopped_recruiting,
        trial=trial,
        previous=previous,
        status=status,
        by=by,
        actor_label=actor_label,
    )
    return True


def update_trial(
    trial: Trial, changes: Mapping[str, Any], *, by: User | None, expected_version: int | None
) -> tuple[Trial, bool]:
    """Apply ``changes`` (record keys) to ``trial``; see :func:`save_trial`."""
    rec = {**normalise_record(trial.to_record()), **changes, "id": trial.code}
    return save_trial(rec, by=by, trial=trial, expected_version=expected_version)


def create_trial(rec: Mapping[str, Any], *, by: User | None) -> Trial:
    """Add a trial to the registry; see :func:`save_trial`."""
    return save_trial(normalise_record(rec), by=by)[0]


def save_criterion(
    trial: Trial,
    index: int | None,
    criterion: Mapping[str, Any],
    *,
    by: User | None,
    expected_version: int | None,
) -> Trial:
    """Replace the criterion at ``index`` (or append one when ``index`` is None)."""
    criteria = [dict(c) for c in trial.criteria or []]
    if index is None:
        criteria.append(dict(criterion))
    else:
        if not 0 <= index < len(criteria):
            raise TrialConflict(
                f"trial {trial.code}: that criterion no longer exists; reload the page"
            )
        criteria[index] = dict(criterion)
    return update_trial(trial, {"criteria": criteria}, by=by, expected_version=expected_version)[0]


def delete_criterion(
    trial: Trial, index: int, *, by: User | None, expected_version: int | None
) -> Trial:
    """Remove the criterion at ``index``."""
    criteria = [dict(c) for c in trial.criteria or []]
    if not 0 <= index < len(criteria):
        raise TrialConflict(f"trial {trial.code}: that criterion no longer exists; reload the page")
    del criteria[index]
    return update_trial(trial, {"criteria": criteria}, by=by, expected_version=expected_version)[0]


def move_criterion(
    trial: Trial, index: int, delta: int, *, by: User | None, expected_version: int | None
) -> Trial:
    """Move the criterion at ``index`` up (-1) or down (+1)."""
    criteria = [dict(c) for c in trial.criteria or []]
    if not 0 <= index < len(criteria):
        raise TrialConflict(f"trial {trial.code}: that criterion no longer exists; reload the page")
    j = max(0, min(len(criteria) - 1, index + delta))
    criteria.insert(j, criteria.pop(index))
    return update_trial(trial, {"criteria": criteria}, by=by, expected_version=expected_version)[0]


# --------------------------------------------------------------------------- loading a file
@dataclass
class LoadSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    new_matches: int = 0

    def __str__(self) -> str:
        n = len(self.created) + len(self.updated) + len(self.unchanged) + len(self.skipped)
        parts = [
            f"{len(self.created)} created",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} already in the registry (left as they are)")
        text = f"{n} trials and studies: " + ", ".join(parts) + "."
        if self.new_matches:
            text += f" {self.new_matches} open cases newly match."
        return text


def load_registry(
    path: str | Path | None = None,
    *,
    by: User | None = None,
    new_only: bool = False,
    actor_label: str = "load-trials",
) -> LoadSummary:
    """Upsert every trial and study of a ``trials.json`` file (the packaged one by default) by
    code. The whole file is refused (:class:`TrialError`, every problem named) when any record
    is invalid; nothing is changed then. With ``new_only`` (``make run``, the demo data), a trial
    a coordinator has edited keeps its edits, except that the file's "not open" status replaces
    an "open" status nobody has checked within ``TRIAL_STATUS_MAX_AGE_DAYS`` (a closed trial
    must never stay suggestible because of an old edit); trials only ever loaded from a file
    or synced are brought up to date, keeping a status checked on or after the file's date
    (a sync is never undone by an older file). Loading into an empty
    registry records the open cases' verdicts without announcing them as new matches. The
    words for families (``plain_title``, ``plain_summary``) come from the file only where the
    registry has none: words a coordinator wrote or edited are never overwritten by a reload."""
    if path is None:
        from flask import current_app

        path = current_app.config.get("TRIALS_FILE") or None
    codes = centre_codes()
    try:
        records = engine.load_trials(path, centres=[{"code": c, "lat": 0, "lon": 0} for c in codes])
    except engine.TrialDefinitionError as exc:
        raise TrialError(exc.errors) from exc
    existing = {t.code: t for t in db.session.scalars(select(Trial))}
    announce = bool(existing)
    summary = LoadSummary()
    before_count = _new_match_count()
    for rec in records:
        trial = existing.get(rec["id"])
        if trial is not None and new_only:
            if _edited_by_person(trial):
                safer = _safety_update(trial, rec)
                filled = _keep_plain_words(trial, safer or normalise_record(trial.to_record()), rec)
                if safer is None and filled == normalise_record(trial.to_record()):
                    summary.skipped.append(rec["id"])
                    continue
                rec = filled
            else:
                rec = _keep_newer_status(trial, rec)
        if trial is not None:
            rec = _keep_plain_words(trial, rec, rec)
        _, changed = save_trial(
            rec, by=by, trial=trial, actor_label=actor_label, codes=codes, announce=announce
        )
        bucket = (
            summary.created if trial is None else summary.updated if changed else summary.unchanged
        )
        bucket.append(rec["id"])
    summary.new_matches = _new_match_count() - before_count
    return summary


def _keep_plain_words(
    trial: Trial, rec: Mapping[str, Any], file_rec: Mapping[str, Any]
) -> dict[str, Any]:
    """``rec`` with the registry's words for families where it has them, and the file's
    (``file_rec``) only where the registry has none: a file never overwrites words someone
    wrote or edited."""
    out = normalise_record(rec)
    for key in PLAIN_FIELDS:
        out[key] = getattr(trial, key) or _plain(file_rec.get(key))
    return out


def packaged_plain_words(trial: Trial) -> dict[str, Any] | None:
    """Where the trial's words for families come from while they are still a registry file's
    (the configured ``TRIALS_FILE``, or the packaged one): ``{"plain_title", "plain_summary",
    "plain_source", "plain_written_on", "plain_reviewed_by_clinician"}``; None once someone
    has changed them, or when no file has them."""
    from flask import current_app

    configured = current_app.config.get("TRIALS_FILE") or None
    for path in dict.fromkeys([str(configured) if configured else None, None]):
        rec = _file_plain_words(path).get(trial.code)
        if rec and (rec["plain_title"], rec["plain_summary"]) == (
            trial.plain_title,
            trial.plain_summary,
        ):
            return dict(rec)
    return None


@lru_cache(maxsize=4)
def _file_plain_words(path: str | None) -> dict[str, dict[str, Any]]:
    try:
        records = engine.load_trials(path, validate=False)
    except (OSError, ValueError, engine.TrialDefinitionError):
        return {}
    keys = ("plain_title", "plain_summary", "plain_source", "plain_written_on")
    return {
        r["id"]: {
            **{k: r.get(k) for k in keys},
            "plain_reviewed_by_clinician": r.get("plain_reviewed_by_clinician") is True,
        }
        for r in records
        if isinstance(r, Mapping) and r.get("plain_title") and r.get("plain_summary")
    }


def _edited_by_person(trial: Trial) -> bool:
    return (
        db.session.scalar(
            select(TrialChange.id)
            .where(TrialChange.trial_id == trial.id, TrialChange.by_id.is_not(None))
            .limit(1)
        )
        is not None
    )


def _safety_update(trial: Trial, rec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored record with the file's status when the file says "not open" and the stored
    "open" has not been checked recently; None when nothing needs to change."""
    from panel.trials.models import status_unchecked

    stored = normalise_record(trial.to_record())
    if rec.get("status", "open") == "open" or stored["status"] != "open":
        return None
    if not status_unchecked(stored):
        return None
    return {
        **stored,
        "status": rec["status"],
        "status_verified_on": rec.get("status_verified_on"),
        "status_source": rec.get("status_source"),
    }


def _keep_newer_status(trial: Trial, rec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The file's record, but with the stored status when it was checked (by the sync) on or
    after the file's date: a sync is never undone by loading an older file."""
    stored = trial.status_verified_on
    if stored is None:
        return rec
    theirs = rec.get("status_verified_on")
    if theirs and date.fromisoformat(str(theirs)[:10]) > stored:
        return rec
    return {
        **rec,
        "status": trial.status.value,
        "status_verified_on": stored.isoformat(),
        "status_source": trial.status_source,
    }


def _new_match_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count(TrialNewMatch.id))) or 0


# --------------------------------------------------------------------------- re-matching
def _is_open(rec: Mapping[str, Any] | None) -> bool:
    return rec is not None and (rec.get("status") or "open") == "open"


def is_newly_matching(previous: str | None, verdict: str) -> bool:
    """Whether ``verdict`` is a match (eligible / possible) that is better than ``previous``."""
    return verdict in (engine.ELIGIBLE, engine.POSSIBLE) and _RANK[verdict] < _RANK.get(previous, 3)


def needs_rematch(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Whether saving ``before`` as ``after`` asks for the open cases to be evaluated: the
    trial (not a study) is open now, and was not, or its criteria changed."""
    if after.get("is_study") is True or not _is_open(after):
        return False
    return not (
        _is_open(before) and before is not None and before.get("criteria") == after.get("criteria")
    )


def ask_for_rematch(
    trial: Trial,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    announce: bool = True,
) -> None:
    """The saving transaction's part of re-matching: a trial that stopped recruiting is
    withdrawn at once; one that opened or whose criteria changed gets a ``trials.rematch`` job
    (keyed by trial and version: asking twice is one job), run after the commit."""
    if after.get("is_study") is True:
        return
    if not _is_open(after):
        if _is_open(before):
            _trial_stopped(trial)
        return
    if needs_rematch(before, after):
        from panel.core import jobs

        jobs.enqueue(
            "trials.rematch",
            f"trials.rematch:{trial.id}:v{trial.version}",
            {"trial_id": trial.id, "version": trial.version, "announce": announce},
        )


def rematch_after_change(
    trial: Trial,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    announce: bool = True,
) -> list[TrialNewMatch]:
    """Re-match the open cases when ``trial`` opened or its criteria changed (see the module
    docstring); record the verdicts and (with ``announce``) the newly matching cases. Returns
    the new records."""
    if after.get("is_study") is True:
        return []
    was_open, now_open = _is_open(before), _is_open(after)
    if not now_open:
        if was_open:
            _trial_stopped(trial)
        return []
    if was_open and before is not None and before.get("criteria") == after.get("criteria"):
        return []
    reason = "added" if before is None else ("opened" if not was_open else "criteria_changed")

    index = centre_index()
    new_def = engine.compile_trial(after, None)
    old_def = engine.compile_trial(before, None) if was_open and before is not None else None
    cases = db.session.execute(
        select(Case.id, Case.data).where(Case.status.in_(OPEN_CASE_STATUSES)).order_by(Case.id)
    ).all()
    if not cases:
        return []
    stored = {
        m.case_id: m
        for m in db.session.scalars(
            select(CaseTrialMatch).where(CaseTrialMatch.trial_code == trial.code)
        )
    }
    pending = {
        m.case_id: m
        for m in db.session.scalars(
            select(TrialNewMatch).where(
                TrialNewMatch.trial_id == trial.id, TrialNewMatch.dismissed_at.is_(None)
            )
        )
    }
    now = utcnow()
    created: list[TrialNewMatch] = []
    for case_id, data in cases:
        view = engine.CaseView(rule_body(data))
        verdict = new_def.evaluate(view, index).verdict
        previous = old_def.evaluate(view, index).verdict if old_def is not None else NOT_OPEN
        row = stored.get(case_id)
        if row is None:
            db.session.add(
                CaseTrialMatch(
                    case_id=case_id,
                    trial_code=trial.code,
                    verdict=verdict,
                    trial_version=trial.version,
                    computed_at=now,
                )
            )
        else:
            row.verdict, row.trial_version, row.computed_at = verdict, trial.version, now
        waiting = pending.get(case_id)
        if not announce:
            continue
        if is_newly_matching(previous, verdict):
            if waiting is not None:  # one waiting record per case and trial: bring it up to date
                waiting.verdict, waiting.reason, waiting.trial_version = (
                    verdict,
                    reason,
                    trial.version,
                )
                waiting.created_at = now
                continue
            nm = TrialNewMatch(
                case_id=case_id,
                trial_id=trial.id,
                trial_code=trial.code,
                verdict=verdict,
                previous_verdict=previous,
                reason=reason,
                trial_version=trial.version,
                created_at=now,
            )
            db.session.add(nm)
            created.append(nm)
        elif waiting is not None and verdict not in (engine.ELIGIBLE, engine.POSSIBLE):
            waiting.dismissed_at = now  # no longer a match: withdrawn from the coordinators' list
    db.session.flush()
    if created:
        audit.record(
            "trial.rematched",
            obj=trial,
            details={
                "version": trial.version,
                "reason": reason,
                "cases": len(cases),
                "newly_matching": len(created),
            },
        )
    return created


def _trial_stopped(trial: Trial) -> None:
    """A trial closed or was suspended: its verdicts read ``not_open``; waiting records go."""
    now = utcnow()
    db.session.execute(
        update(CaseTrialMatch)
        .where(CaseTrialMatch.trial_code == trial.code)
        .values(verdict=NOT_OPEN, trial_version=trial.version, computed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(TrialNewMatch)
        .where(TrialNewMatch.trial_id == trial.id, TrialNewMatch.dismissed_at.is_(None))
        .values(dismissed_at=now)
        .execution_options(synchronize_session=False)
    )


def dismiss_new_match(nm: TrialNewMatch, *, by: User) -> None:
    """A coordinator of the case's panel has seen a newly matching case."""
    from panel.accounts.models import PanelRoleKind

    if nm.case.panel_id not in by.panel_ids(PanelRoleKind.COORDINATOR):
        raise TrialNotAllowed("Only the coordinators of the case's panel dismiss it.")
    if nm.dismissed_at is None:
        nm.dismissed_at = utcnow()
        nm.dismissed_by_id = by.id
        db.session.flush()
        audit.record(
            "trial.new_match_dismissed",
            obj=nm.trial,
            actor=by,
            panel_id=nm.case.panel_id,
            details={"case": nm.case.reference, "verdict": nm.verdict},
        )

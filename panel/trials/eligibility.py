"""Eligibility text and age limits from the registries, shown to coordinators as a proposal.

The sync (:mod:`panel.trials.sync`) reads each record's eligibility text and age limits
(ClinicalTrials.gov ``eligibilityModule``; ISRCTN ``participants``) and keeps what the registry
says now (``Trial.registry_eligibility``). The *reviewed* baseline (``Trial.eligibility_reviewed``)
is what a coordinator last compared the structured criteria against. When the two differ, the
trial page shows a proposal beside the criteria (old and new text as a diff, old and new age
limits, the age criteria the change may affect); the registry page lists the trials with one
waiting. A coordinator marks it reviewed (:func:`mark_reviewed`): baseline = current, audited.

Nothing here changes the structured criteria: they stay human-curated, and each carries the
source text it was written from (``source_text``).

A first sync has no baseline: nobody has compared the registry's words with the criteria yet,
so the whole text is a proposal to review (the packaged ``trials.json`` carries no reviewed
registry text: its criteria were written from the factsheet and summaries, not from the
registries' eligibility sections).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from panel.core import audit
from panel.core.db import db, utcnow
from panel.trials.models import Trial, TrialChange, TrialChangeKind

#: Longest eligibility text kept (a registry's whole section is rarely over 10 000 characters).
MAX_TEXT = 20_000
#: Days in a month, for ages given in weeks or days.
_DAYS_PER_MONTH = 365.25 / 12
_UNITS = {
    "year": 12.0,
    "years": 12.0,
    "yr": 12.0,
    "yrs": 12.0,
    "month": 1.0,
    "months": 1.0,
    "mo": 1.0,
    "week": 7 / _DAYS_PER_MONTH,
    "weeks": 7 / _DAYS_PER_MONTH,
    "day": 1 / _DAYS_PER_MONTH,
    "days": 1 / _DAYS_PER_MONTH,
}
_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")
#: Fields of the case format that hold an age: criteria on them are the ones an age change hits.
AGE_FIELD_PREFIX = "patient.age_"


# --------------------------------------------------------------------------- reading
def age_in_months(words: Any, unit: Any = None) -> float | int | None:
    """Months for a registry age (``"12 Months"``, ``"18 Years"``, ``"6 Weeks"``; or a value
    and a unit, as ISRCTN gives them). None when it cannot be told (``"N/A"``, empty, odd)."""
    if words is None:
        return None
    if unit is not None:
        text = f"{words} {unit}"
    else:
        text = str(words)
    m = _AGE_RE.match(text)
    if not m:
        return None
    factor = _UNITS.get(m.group(2).lower())
    if factor is None:
        return None
    months = float(m.group(1)) * factor
    months = round(months, 1)
    return int(months) if months == int(months) else months


def age_words(value: Any, unit: Any = None) -> str | None:
    """The registry's words for an age (kept beside the months)."""
    if value is None or str(value).strip() == "":
        return None
    if unit:
        number = str(value).strip()
        if re.fullmatch(r"\d+\.0+", number):
            number = number.split(".")[0]
        return f"{number} {str(unit).strip()}"
    return str(value).strip()


def eligibility(text: Any, minimum: Any, maximum: Any) -> dict[str, Any] | None:
    """What a registry says about eligibility, in the form stored on the trial:
    ``{"text", "minimum_age", "maximum_age", "minimum_age_months", "maximum_age_months"}``
    (ages as the registry wrote them, and in months where they can be converted). None when
    the record says nothing at all."""
    text = normalise_text(text) if isinstance(text, str) else None
    minimum = minimum if isinstance(minimum, str) and minimum.strip() else None
    maximum = maximum if isinstance(maximum, str) and maximum.strip() else None
    if not text and minimum is None and maximum is None:
        return None
    return {
        "text": (text or "")[:MAX_TEXT],
        "minimum_age": minimum.strip()[:64] if minimum else None,
        "maximum_age": maximum.strip()[:64] if maximum else None,
        "minimum_age_months": age_in_months(minimum),
        "maximum_age_months": age_in_months(maximum),
    }


def normalise_text(text: str) -> str:
    """Line endings unified, trailing spaces and runs of blank lines removed: a registry
    re-publishing the same words with other whitespace is not a change."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def age_label(rec: Mapping[str, Any] | None) -> str:
    """``"12 Months to 21 Years"``, ``"12 Months or over"``, ``"no age limits given"``."""
    if not rec:
        return "not reviewed"
    lo, hi = rec.get("minimum_age"), rec.get("maximum_age")
    if lo and hi:
        return f"{lo} to {hi}"
    if lo:
        return f"{lo} or over"
    if hi:
        return f"up to {hi}"
    return "no age limits given"


# --------------------------------------------------------------------------- the proposal
@dataclass(frozen=True)
class Proposal:
    """What changed between the reviewed baseline and what the registry says now."""

    trial: Trial
    current: Mapping[str, Any]
    reviewed: Mapping[str, Any] | None
    text_changed: bool
    ages_changed: bool

    @property
    def first_reading(self) -> bool:
        return self.reviewed is None

    def diff_lines(self) -> list[tuple[str, str]]:
        """The old and new text as ``(kind, line)`` rows: ``same``, ``removed``, ``added``
        (``difflib``, line by line; the whole text when there is no baseline)."""
        old = (self.reviewed or {}).get("text") or ""
        new = self.current.get("text") or ""
        rows: list[tuple[str, str]] = []
        matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
        a, b = old.splitlines(), new.splitlines()
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                rows.extend(("same", line) for line in a[i1:i2])
                continue
            rows.extend(("removed", line) for line in a[i1:i2])
            rows.extend(("added", line) for line in b[j1:j2])
        return rows

    def affected_criteria(self) -> list[tuple[int, dict[str, Any]]]:
        """The structured criteria on an age field (``patient.age_*``), with their index (for
        the editor's link): the ones a change of age limits may affect."""
        return [
            (i, c)
            for i, c in enumerate(self.trial.criteria or [])
            if any(f.startswith(AGE_FIELD_PREFIX) for f in condition_fields(c))
        ]

    @property
    def what(self) -> list[str]:
        out = []
        if self.text_changed:
            out.append(
                "eligibility text read, not reviewed"
                if self.first_reading
                else "eligibility text changed"
            )
        if self.ages_changed:
            out.append(
                "age limits read, not reviewed" if self.first_reading else "age limits changed"
            )
        return out


def condition_fields(cond: Any) -> Iterable[str]:
    """Every field a criterion's condition (leaf or nested group) reads."""
    if not isinstance(cond, Mapping):
        return
    if isinstance(cond.get("field"), str):
        yield cond["field"]
    for group in ("any_of", "all_of"):
        for part in cond.get(group) or []:
            yield from condition_fields(part)


def _ages(rec: Mapping[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    rec = rec or {}
    return (
        rec.get("minimum_age"),
        rec.get("maximum_age"),
        rec.get("minimum_age_months"),
        rec.get("maximum_age_months"),
    )


def _text(rec: Mapping[str, Any] | None) -> str:
    return normalise_text((rec or {}).get("text") or "")


def proposal_for(trial: Trial) -> Proposal | None:
    """The proposal waiting on ``trial`` (None: nothing read from a registry, or nothing new
    since the last review). Compares words and months: "12 Months" -> "1 Year" is a change
    of words only and is still shown (the registry rewrote it)."""
    current = trial.registry_eligibility
    if not isinstance(current, Mapping) or trial.is_study:
        return None
    reviewed = (
        trial.eligibility_reviewed if isinstance(trial.eligibility_reviewed, Mapping) else None
    )
    text_changed = _text(current) != _text(reviewed) if (reviewed or _text(current)) else False
    ages_changed = _ages(current) != _ages(reviewed) if (reviewed or any(_ages(current))) else False
    if not text_changed and not ages_changed:
        return None
    return Proposal(trial, current, reviewed, text_changed, ages_changed)


def sync_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """What the last sync changed in the registry's eligibility (for ``Trial.last_sync``):
    ``eligibility_text`` ("changed" / "read": first time) and ``age_limits`` ([old, new])."""
    out: dict[str, Any] = {}
    if _text(before) != _text(after):
        out["eligibility_text"] = "changed" if before else "read"
    if _ages(before) != _ages(after):
        out["age_limits"] = [age_label(before) if before else None, age_label(after)]
    return out


# --------------------------------------------------------------------------- reviewing
def mark_reviewed(trial: Trial, *, by: Any, expected_version: int | None = None) -> Trial:
    """A coordinator compared the registry's current eligibility text and age limits with the
    structured criteria (and edited them in the editor if needed): the baseline becomes what
    the registry says now. Audited (``trial.eligibility_reviewed``) with a history row."""
    from panel.trials.registry import TrialConflict, TrialError, TrialNotAllowed

    if not Trial.can_edit(by):
        raise TrialNotAllowed("Only coordinators review a trial's eligibility text.")
    if expected_version is not None and expected_version != trial.version:
        raise TrialConflict(
            f"trial {trial.code}: the trial changed since you opened the page (version "
            f"{trial.version}, yours {expected_version}); reload it and review again"
        )
    proposal = proposal_for(trial)
    if proposal is None:
        raise TrialError(f"trial {trial.code}: no eligibility proposal is waiting")
    now = utcnow()
    before = dict(proposal.reviewed) if proposal.reviewed else None
    baseline = {
        **{k: proposal.current.get(k) for k in _KEYS},
        "reviewed_at": now.isoformat(timespec="seconds"),
        "reviewed_by": by.email,
        "registry_source": trial.status_source if trial.last_sync else None,
    }
    trial.eligibility_reviewed = baseline
    trial.eligibility_reviewed_at = now
    trial.eligibility_reviewed_by_id = by.id
    trial.updated_at = now
    trial.updated_by_id = by.id
    db.session.flush()  # bumps the version (the optimistic lock)
    diff = {
        "eligibility_reviewed": {
            "what": proposal.what,
            "age_limits": [age_label(before) if before else None, age_label(baseline)],
        }
    }
    from panel.trials.registry import normalise_record

    db.session.add(
        TrialChange(
            trial_id=trial.id,
            version=trial.version,
            kind=TrialChangeKind.UPDATED,
            at=now,
            by_id=by.id,
            by_label=by.email,
            diff=diff,
            record=normalise_record(trial.to_record()),
        )
    )
    audit.record(
        "trial.eligibility_reviewed",
        obj=trial,
        actor=by,
        details={
            "version": trial.version,
            "what": proposal.what,
            "age_limits": [age_label(before) if before else None, age_label(baseline)],
            "text_changed": proposal.text_changed,
        },
    )
    db.session.flush()
    return trial


_KEYS = ("text", "minimum_age", "maximum_age", "minimum_age_months", "maximum_age_months")

"""Score the identifier guard on a labelled corpus of identifiers (issue 17's format).

Each row is ``{"text", "identifiers": [{"kind", "value"}], "category", "source"}``: ``value`` is
the exact substring to catch; a clean row has ``"identifiers": []``.  The rules:

* an identifier is **caught** when the guard's *hard* findings together cover every word
  character of its ``value`` (a partial catch of "Ciarán Ó Briain" does not count);
* **names recall** = caught ``person_name`` identifiers / all of them; **structured recall** =
  the same for every other kind;
* **false positives** = clean rows with any hard finding / clean rows (soft findings on clean
  rows are counted separately: they warn, they do not refuse).

Used by ``bench/privacy_corpus.py --corpus`` and ``tests/privacy/test_names_corpus.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from panel.privacy.scanner import Finding, find_identifiers


def load(path: Path) -> list[dict]:
    """The rows of a JSON-lines corpus."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def caught(text: str, value: str, findings: Iterable[Finding]) -> bool:
    """Do the hard ``findings`` cover every word character of ``value`` (its first place in
    ``text``)?"""
    start = text.find(value)
    if start < 0:
        raise ValueError("the value is not in the text")
    covered = [False] * len(text)
    for f in findings:
        if f.severity == "hard":
            for i in range(f.start, f.end):
                covered[i] = True
    return all(
        covered[i] for i in range(start, start + len(value)) if text[i].isalnum() or text[i] == "_"
    )


#: Titles of the care team. identifiers.md asks for the names of the child, parents and siblings
#: (``Dr`` only "when it refers to family"); the guard warns (soft) on clinicians' names. Round
#: 4's writer was asked to label staff names too, so its corpus is also scored without them.
STAFF_TITLE = re.compile(
    r"(?:\b(?:Dr|Doctor|Prof|Professor|Nurse|Consultant|Mr|Miss|Ms|Mrs)\.?\s+)$", re.IGNORECASE
)
#: Words that make a preceding ``Mr``/``Ms``... a surgeon's or consultant's title, not a parent's.
_STAFF_CONTEXT = re.compile(r"\b(?:surgeon|consultant|registrar|oncologist|radiologist)\b", re.I)


def is_staff_name(text: str, value: str) -> bool:
    """Is this person name written after a clinician's title (its first place in ``text``)?
    ``Dr``, ``Prof``, ``Nurse`` and ``Consultant`` always; ``Mr``/``Ms``/``Miss``/``Mrs`` only
    with a clinical role word in the 40 characters before (a surgeon), else a parent."""
    start = text.find(value)
    before = text[max(0, start - 60) : start]
    m = STAFF_TITLE.search(before)
    if not m:
        return False
    title = m.group(0).strip().rstrip(".").lower()
    if title in ("mr", "miss", "ms", "mrs"):
        return bool(_STAFF_CONTEXT.search(before[max(0, m.start() - 40) : m.start()]))
    return True


def without_staff_names(rows: Iterable[dict]) -> list[dict]:
    """The rows with person names written after a clinician's title left out (rows that had
    only those become neither positive nor clean: they are dropped)."""
    out = []
    for row in rows:
        kept = [
            i
            for i in row["identifiers"]
            if not (i["kind"] == "person_name" and is_staff_name(row["text"], i["value"]))
        ]
        if row["identifiers"] and not kept:
            continue
        out.append({**row, "identifiers": kept})
    return out


@dataclass
class Score:
    names: int = 0
    names_caught: int = 0
    structured: int = 0
    structured_caught: int = 0
    clean: int = 0
    clean_hard: int = 0
    clean_soft_only: int = 0
    per_category: Counter = field(default_factory=Counter)
    per_category_caught: Counter = field(default_factory=Counter)
    per_kind: Counter = field(default_factory=Counter)
    per_kind_caught: Counter = field(default_factory=Counter)
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # (category, kind, text)
    false_positives: list[str] = field(default_factory=list)

    @property
    def names_recall(self) -> float:
        return self.names_caught / self.names if self.names else 1.0

    @property
    def structured_recall(self) -> float:
        return self.structured_caught / self.structured if self.structured else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.clean_hard / self.clean if self.clean else 0.0


def score(rows: Iterable[dict], scan: Callable[[str], list[Finding]] = find_identifiers) -> Score:
    """Score ``scan`` on ``rows`` (see the module docstring for the rules)."""
    result = Score()
    for row in rows:
        text = row["text"]
        findings = scan(text)
        category = row.get("category", "")
        if not row["identifiers"]:
            result.clean += 1
            if any(f.severity == "hard" for f in findings):
                result.clean_hard += 1
                result.false_positives.append(text)
            elif findings:
                result.clean_soft_only += 1
            continue
        for ident in row["identifiers"]:
            kind = ident["kind"]
            ok = caught(text, ident["value"], findings)
            if kind == "person_name":
                result.names += 1
                result.names_caught += ok
            else:
                result.structured += 1
                result.structured_caught += ok
            result.per_category[category] += 1
            result.per_category_caught[category] += ok
            result.per_kind[kind] += 1
            result.per_kind_caught[kind] += ok
            if not ok:
                result.missed.append((category, kind, text))
    return result

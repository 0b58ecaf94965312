"""The identifier guard for free text that is about to be saved, and its one user message.

``guard_texts`` scans ``(field, text)`` pairs: hard findings refuse the save
(:class:`~panel.core.errors.IdentifiersFound`), soft findings come back as warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from panel.core.errors import IdentifiersFound
from panel.privacy.scanner import find_identifiers, kind_label

__all__ = ["GuardFinding", "IdentifiersFound", "guard_texts", "identifiers_message"]


@dataclass
class GuardFinding:
    field: str
    kind: str
    severity: str
    start: int
    end: int
    message: str


def _kind_name(kind: str) -> str:
    """A kind as it reads inside a sentence: "NHS number", "date of birth", "phone number"."""
    label = kind_label(kind)
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[0].lower() + label[1:]


def _clause(text: str) -> str:
    """``text`` without the end punctuation a caller may have given it (so none is doubled)."""
    return text.strip().rstrip(".;:,").rstrip()


def identifiers_message(
    findings: Iterable[GuardFinding],
    *,
    what: str = "Not saved",
    where: Callable[[str], str] | None = None,
    again: str = "Remove it and try again.",
) -> str:
    """The one sentence that tells a person their text was refused for identifiers: the kinds
    found and, when ``where`` labels the fields, where. ``what`` says what did not happen;
    ``again`` what to do. Each part is given without its end punctuation and the message
    punctuates them once, e.g. "Not saved: the text looks like it contains a patient identifier
    (NHS number, postcode) in discussion. Remove it and try again." """
    findings = list(findings)
    kinds = sorted({_kind_name(f.kind) for f in findings}, key=str.lower)
    place = ""
    if where is not None:
        places = sorted({_clause(where(f.field)) for f in findings})
        place = " in " + ", ".join(p for p in places if p)
    return (
        f"{_clause(what)}: the text looks like it contains a patient identifier "
        f"({', '.join(kinds)}){place}. {_clause(again)}."
    )


def guard_texts(texts: list[tuple[str, str]]) -> list[GuardFinding]:
    """Scan free text; raise :class:`IdentifiersFound` for hard findings, return soft ones."""
    hard: list[GuardFinding] = []
    soft: list[GuardFinding] = []
    for path, text in texts:
        for f in find_identifiers(text):
            g = GuardFinding(
                path, f.kind, f.severity, f.start, f.end, getattr(f, "message", f.kind)
            )
            (hard if f.severity == "hard" else soft).append(g)
    if hard:
        raise IdentifiersFound(hard, dict(texts), user_message=identifiers_message(hard))
    return soft

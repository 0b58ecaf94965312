"""The identifier guard for free text that is about to be saved, and its one user message.

``guard_texts`` scans ``(field, text)`` pairs: hard findings refuse the save
(:class:`~panel.core.errors.IdentifiersFound`), soft findings come back as warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from panel.core.errors import IdentifiersFound
from panel.privacy.scanner import find_identifiers

__all__ = ["GuardFinding", "IdentifiersFound", "guard_texts", "identifiers_message"]


@dataclass
class GuardFinding:
    field: str
    kind: str
    severity: str
    start: int
    end: int
    message: str


def identifiers_message(
    findings: Iterable[GuardFinding],
    *,
    what: str = "Not saved",
    where: Callable[[str], str] | None = None,
    again: str = "Remove it and try again.",
) -> str:
    """The one sentence that tells a person their text was refused for identifiers: the kinds
    found and, when ``where`` labels the fields, where. ``what`` says what did not happen."""
    findings = list(findings)
    kinds = sorted({f.kind.replace("_", " ") for f in findings})
    place = ""
    if where is not None:
        place = " in " + ", ".join(sorted({where(f.field) for f in findings}))
    return f"{what}: the text looks like it contains a patient identifier ({', '.join(kinds)}){place}. {again}"


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

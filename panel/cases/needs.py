"""The family's communication needs (NHS Accessible Information Standard, DAPB1605): what the
referral records under ``family.communication``, read in ONE place for every page that
prepares or sends the family's letter, the case page, the letters themselves and the sending.

``communication_needs(case)`` (or :func:`needs_of` for a bare ``panel-case/1`` document)
returns a :class:`Needs`:

* ``summary``: the needs as short phrases ("Polish", "interpreter", "large print"...);
* ``letter_layouts``: the family letter's layouts to store at sending ("standard" first, then
  "large_print" and "easy_read" when recorded);
* ``translation_language``: the recorded language when it is not English (a code of the
  ``family_language`` value set, or "other"), else None; ``translation_needed`` says so;
* ``translation_notice``: what the family letter prints at its top, in the language's own
  script ("A copy of this letter in <language> can be asked for...") from
  ``panel/data/translations.json``; None for English, for no language and for "other" (the
  letter never prints a sentence whose language is unknown: "other" gets the reminder only).

Pure but for reading the case document: no query, no Flask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from panel.caseformat.fields import VALUE_SETS

#: The family letter's layouts in the order they are stored (``feedback.letters.FAMILY_LAYOUTS``).
LAYOUT_LABELS = {"standard": "Standard", "large_print": "Large print", "easy_read": "Easy read"}


@lru_cache(maxsize=1)
def translations() -> dict[str, Any]:
    """``panel/data/translations.json``: the sentence in each common language, marked for
    checking by a native speaker."""
    return json.loads(
        resources.files("panel.data").joinpath("translations.json").read_text(encoding="utf-8")
    )


@dataclass(frozen=True)
class Needs:
    """A family's recorded communication needs (all optional)."""

    language: str | None = None
    language_other: str = ""
    interpreter: bool = False
    large_print: bool = False
    easy_read: bool = False
    other_formats: tuple[str, ...] = ()
    notes: str = ""

    # ------------------------------------------------------------------ what was recorded
    @property
    def recorded(self) -> bool:
        """Whether anything beyond "English, no special format" was recorded."""
        return bool(
            self.translation_needed
            or self.interpreter
            or self.large_print
            or self.easy_read
            or self.other_formats
            or self.notes
        )

    @property
    def language_label(self) -> str:
        """The language as a person reads it ("Polish"; the typed name for "other")."""
        if self.language is None:
            return ""
        if self.language == "other":
            return self.language_other.strip() or "another language (not named)"
        return VALUE_SETS["family_language"].label_of(self.language)

    @property
    def other_format_labels(self) -> list[str]:
        vs = VALUE_SETS["other_format"]
        return [vs.label_of(c) for c in self.other_formats]

    @property
    def summary(self) -> list[str]:
        """Short phrases, in the order a coordinator needs them."""
        out = []
        if self.translation_needed:
            out.append(f"Language: {self.language_label}")
        if self.interpreter:
            out.append("Interpreter needed")
        if self.large_print:
            out.append("Large print")
        if self.easy_read:
            out.append("Easy read")
        out += self.other_format_labels
        return out

    @property
    def summary_text(self) -> str:
        return "; ".join(self.summary)

    # ------------------------------------------------------------------ the letter
    @property
    def letter_layouts(self) -> tuple[str, ...]:
        """The family letter's layouts to store at sending: standard, then each recorded one."""
        out = ["standard"]
        if self.large_print:
            out.append("large_print")
        if self.easy_read:
            out.append("easy_read")
        return tuple(out)

    @property
    def translation_language(self) -> str | None:
        """The recorded language when it is not English (a code, or "other"), else None."""
        if self.language in (None, "english"):
            return None
        return self.language

    @property
    def translation_needed(self) -> bool:
        return self.translation_language is not None

    @property
    def translation(self) -> dict[str, Any] | None:
        """The row of ``translations.json`` for the language (None: none, English, other)."""
        code = self.translation_language
        if code is None or code == "other":
            return None
        return translations()["languages"].get(code)

    @property
    def translation_notice(self) -> dict[str, str] | None:
        """``{"language", "text", "dir", "name", "checked"}`` for the family letter's top, or
        None. ``language`` is the BCP 47 tag the template puts in ``lang``."""
        row = self.translation
        if row is None or not row.get("sentence"):
            return None
        return {
            "language": row["lang"],
            "text": row["sentence"],
            "dir": row["dir"],
            "name": row["language"],
            "checked": bool(row.get("native_speaker_checked")),
        }

    @property
    def reminder(self) -> str:
        """The coordinator's reminder when the language is not English ("" otherwise)."""
        if not self.translation_needed:
            return ""
        return (
            f"The family's language is {self.language_label}: arrange a translated copy of the "
            "family letter and an interpreter to talk it through."
        )


def needs_of(doc: dict[str, Any] | None) -> Needs:
    """The needs recorded in a ``panel-case/1`` document (all absent: no needs)."""
    family = (doc or {}).get("family") if isinstance(doc, dict) else None
    raw = family.get("communication") if isinstance(family, dict) else None
    if not isinstance(raw, dict):
        return Needs()
    language = raw.get("language")
    others = raw.get("other_format")
    return Needs(
        language=language if isinstance(language, str) and language else None,
        language_other=str(raw.get("language_other") or ""),
        interpreter=raw.get("interpreter") is True,
        large_print=raw.get("large_print") is True,
        easy_read=raw.get("easy_read") is True,
        other_formats=tuple(o for o in others if isinstance(o, str))
        if isinstance(others, list)
        else (),
        notes=str(raw.get("notes") or "").strip(),
    )


def communication_needs(case: Any) -> Needs:
    """The needs recorded in ``case``'s referral (``Case.data``)."""
    return needs_of(getattr(case, "data", None))


def needs_panel(case: Any, user: Any, state: Any) -> Needs | None:
    """The case page's flag (``core.casepage``, side slot beside the family access card):
    the needs when any is recorded, for everyone who sees the case. No query."""
    needs = communication_needs(case)
    return needs if needs.recorded else None

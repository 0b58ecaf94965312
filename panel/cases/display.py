"""Human-readable views of a ``panel-case/1`` document (labels from the format's table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from panel.caseformat.fields import VALUE_SETS, FieldSpec
from panel.caseformat.schema import BASE, get_path

SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "referral",
        "Panel and question",
        ("panel", "referring_centre", "urgency", "clinical_question"),
    ),
    ("patient", "Patient", ("patient.",)),
    ("diagnosis", "Diagnosis", ("diagnosis.",)),
    ("disease", "Current disease", ("status.", "disease.")),
    ("biology", "Tumour biology", ("biology.",)),
    ("treatment", "Treatment history", ("treatment.",)),
    ("response", "Response", ("response.",)),
    ("fitness", "Fitness", ("fitness.",)),
    ("family", "Family", ("family.",)),
]


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
        return VALUE_SETS[spec.value_set].label_of(value)
    if spec.type == "enum_list":
        if not value:
            return "None"
        return ", ".join(VALUE_SETS[spec.value_set].label_of(v) for v in value)
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


def case_sections(doc: dict[str, Any], *, include_empty: bool = False) -> list[Section]:
    """The document grouped into the form's sections, each field with its label."""
    sections = []
    for key, title, prefixes in SECTIONS:
        rows = []
        for path, spec in BASE.items():
            if path in ("schema", "reference", "family.questions"):
                continue
            if not any(path == p or (p.endswith(".") and path.startswith(p)) for p in prefixes):
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
        sections.append(Section(key, title, rows))
    return sections

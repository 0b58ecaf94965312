"""Validation of the ``panel-case/1`` format (pure Python, no Flask).

Two levels: :func:`validate` checks that what is there is well-formed (known keys, types,
value sets, ranges, consistency): a draft must pass it to be saved. :func:`missing_for_submit`
lists what is still missing before the case may be submitted (required fields and the
conditional ones that apply). Every problem names its field by dotted path, e.g.
``biology.alk.variants[0].vaf_pct``.

The field table is :data:`panel.caseformat.fields.FIELDS`, the single source of the format.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

from panel.caseformat.fields import FIELDS, VALUE_SETS, FieldSpec

SCHEMA = "panel-case/1"
SYSTEM_KEYS = ("reference",)
MAX_TEXT = {"clinical_question": 4000, "family.communication.language_other": 100}
DEFAULT_MAX_TEXT = 2000
MAX_QUESTION = 1000
MAX_LIST_ITEMS = 50

# The base (non-projection) fields, and the tree of object keys they imply.
BASE: dict[str, FieldSpec] = {p: f for p, f in FIELDS.items() if not f.is_projection}


def _tree() -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, spec in BASE.items():
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = spec
    return root


TREE = _tree()


@dataclass(frozen=True)
class Problem:
    """One problem with a case document: the field (dotted path) and a sentence."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


# --------------------------------------------------------------------------- path helpers
def get_path(doc: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def delete_path(doc: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    node: Any = doc
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def prune_empty(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop empty sections (``{}``) left behind by forms; lists and falsy values stay."""
    out = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            value = prune_empty(value)
            if not value:
                continue
        out[key] = value
    return out


# --------------------------------------------------------------------------- value checks
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) and math.isfinite(v)


def _check_value(
    spec: FieldSpec,
    path: str,
    value: Any,
    out: list[Problem],
    *,
    value_sets: Any = None,
    max_text: dict[str, int] | None = None,
) -> None:
    """Check one value against its spec (``None`` = unknown, always allowed here).
    ``value_sets`` and ``max_text`` are the format's (``panel-case/1``'s unless given); a spec
    with a ``pattern`` (``panel-case/2``'s codes) is also checked against it."""
    if value is None:
        return
    value_sets = VALUE_SETS if value_sets is None else value_sets
    max_text = MAX_TEXT if max_text is None else max_text
    t = spec.type
    if t == "int":
        if not _is_int(value):
            out.append(Problem(path, "must be a whole number"))
            return
        _check_range(spec, path, value, out)
    elif t == "number":
        if not _is_number(value):
            out.append(Problem(path, "must be a number"))
            return
        _check_range(spec, path, value, out)
    elif t == "bool":
        if not isinstance(value, bool):
            out.append(Problem(path, "must be true or false"))
    elif t == "enum":
        vs = value_sets[spec.value_set]
        if value not in vs:
            out.append(Problem(path, f"{_show(value)} is not one of: {', '.join(vs.codes)}"))
    elif t == "enum_list":
        vs = value_sets[spec.value_set]
        if not isinstance(value, list):
            out.append(Problem(path, "must be a list"))
            return
        for i, item in enumerate(value):
            if item not in vs:
                out.append(
                    Problem(f"{path}[{i}]", f"{_show(item)} is not one of: {', '.join(vs.codes)}")
                )
        if len(set(map(str, value))) != len(value):
            out.append(Problem(path, "lists a value twice"))
    elif t == "text":
        if not isinstance(value, str):
            out.append(Problem(path, "must be text"))
            return
        limit = max_text.get(path, DEFAULT_MAX_TEXT)
        if not _check_text_chars(path, value, out):
            return
        if len(value) > limit:
            out.append(Problem(path, f"is too long ({len(value)} characters; at most {limit})"))
    elif t == "text_list":
        if not isinstance(value, list):
            out.append(Problem(path, "must be a list of text"))
            return
        if spec.max_items is not None and len(value) > spec.max_items:
            out.append(Problem(path, f"has {len(value)} items; at most {spec.max_items}"))
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                out.append(Problem(f"{path}[{i}]", "must be non-empty text"))
            elif not _check_text_chars(f"{path}[{i}]", item, out):
                continue
            elif len(item) > MAX_QUESTION:
                out.append(
                    Problem(
                        f"{path}[{i}]",
                        f"is too long ({len(item)} characters; at most {MAX_QUESTION})",
                    )
                )
    elif t == "object_list":
        if not isinstance(value, list):
            out.append(Problem(path, "must be a list"))
            return
        if len(value) > MAX_LIST_ITEMS:
            out.append(Problem(path, f"has {len(value)} items; at most {MAX_LIST_ITEMS}"))
            return
        items = {f.path: f for f in spec.item_fields}
        for i, item in enumerate(value):
            ipath = f"{path}[{i}]"
            if not isinstance(item, dict):
                out.append(Problem(ipath, "must be an object"))
                continue
            for key in item:
                if key not in items:
                    out.append(Problem(f"{ipath}.{key}", "is not a field of the format"))
            for key, ispec in items.items():
                _check_value(
                    ispec,
                    f"{ipath}.{key}",
                    item.get(key),
                    out,
                    value_sets=value_sets,
                    max_text=max_text,
                )
    elif t == "code":
        pattern = getattr(spec, "pattern", None)
        if not isinstance(value, str):
            out.append(Problem(path, "must be a code"))
        elif pattern and not re.match(pattern, value):
            out.append(
                Problem(path, f"{_show(value)} is not a code of the form {spec.note.split(';')[0]}")
            )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text_chars(path: str, value: str, out: list[Problem]) -> bool:
    """Refuse control characters (NUL and the like); tabs and line breaks are fine."""
    if _CONTROL.search(value):
        out.append(Problem(path, "contains control characters"))
        return False
    return True


def _check_range(spec: FieldSpec, path: str, value: float, out: list[Problem]) -> None:
    if spec.minimum is not None and value < spec.minimum:
        out.append(Problem(path, f"must be at least {_num(spec.minimum)}"))
    elif spec.maximum is not None and value > spec.maximum:
        out.append(Problem(path, f"must be at most {_num(spec.maximum)}"))
    elif spec.step and value % spec.step:
        out.append(Problem(path, f"must be a multiple of {_num(spec.step)}"))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _walk(node: dict[str, Any], tree: dict[str, Any], prefix: str, out: list[Problem]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        sub = tree.get(key)
        if sub is None:
            if not (prefix == "" and key in SYSTEM_KEYS):
                out.append(Problem(path, "is not a field of the format"))
            continue
        if isinstance(sub, dict):
            if value is None:
                continue
            if not isinstance(value, dict):
                out.append(Problem(path, "must be an object"))
                continue
            _walk(value, sub, path + ".", out)
        else:
            _check_value(sub, path, value, out)


# --------------------------------------------------------------------------- public API
def validate(
    doc: Any, *, panels: set[str] | None = None, centres: set[str] | None = None
) -> list[Problem]:
    """Problems that make ``doc`` unacceptable even as a draft (an empty list when it is fine)."""
    if not isinstance(doc, dict):
        return [Problem("", "a case must be a JSON object")]
    out: list[Problem] = []
    schema = doc.get("schema")
    if schema != SCHEMA:
        out.append(Problem("schema", f'must be "{SCHEMA}"'))
    _walk(doc, TREE, "", out)
    if out:
        return out
    panel, centre = doc.get("panel"), doc.get("referring_centre")
    if panels is not None and panel is not None and panel not in panels:
        out.append(Problem("panel", f"{_show(panel)} is not a configured panel"))
    if centres is not None and centre is not None and centre not in centres:
        out.append(Problem("referring_centre", f"{_show(centre)} is not a known centre"))
    at_dx = get_path(doc, "patient.age_at_diagnosis_months")
    now = get_path(doc, "patient.age_now_months")
    if _is_int(at_dx) and _is_int(now) and now < at_dx:
        out.append(Problem("patient.age_now_months", "cannot be less than the age at diagnosis"))
    to_event = get_path(doc, "status.months_diagnosis_to_event")
    if _is_int(at_dx) and _is_int(now) and _is_int(to_event) and to_event > now - at_dx:
        out.append(
            Problem("status.months_diagnosis_to_event", "is longer than the time since diagnosis")
        )
    return out


def _conditional_requirements(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for the C fields that apply to ``doc``."""
    out = []
    if get_path(doc, "diagnosis.mibg") == "avid":
        out.append(("diagnosis.siopen_score", "mIBG at diagnosis was avid"))
    if get_path(doc, "disease.mibg") == "avid":
        out.append(("disease.siopen_score", "mIBG now is avid"))
    if get_path(doc, "disease.mibg") in ("non_avid", "not_done"):
        out.append(("disease.fdg_pet", "mIBG now is not avid"))
    if get_path(doc, "status.category") in ("relapsed", "progressive"):
        out.append(("status.relapse_pattern", "the disease relapsed or progressed"))
    if get_path(doc, "biology.alk.status") == "mutation":
        out.append(("biology.alk.variants", "ALK status is mutation"))
    if get_path(doc, "biology.alk.status") == "amplification":
        out.append(("biology.alk.copy_number", "ALK status is amplification"))
    if get_path(doc, "family.communication.language") == "other":
        out.append(("family.communication.language_other", "the family's language is another"))
    return out


def applicable_conditionals(doc: dict[str, Any]) -> set[str]:
    """The conditional fields that apply to ``doc`` (for showing and hiding form sections)."""
    return {f for f, _ in _conditional_requirements(doc)}


CONDITIONAL_FIELDS = (
    "diagnosis.siopen_score",
    "disease.siopen_score",
    "disease.fdg_pet",
    "status.relapse_pattern",
    "biology.alk.variants",
    "biology.alk.copy_number",
    "family.communication.language_other",
)


def missing_for_submit(doc: dict[str, Any]) -> list[Problem]:
    """What must still be filled in before the case can be submitted."""
    out: list[Problem] = []
    for path, spec in BASE.items():
        if spec.requirement != "R" or path in SYSTEM_KEYS:
            continue
        value = get_path(doc, path)
        if path == "disease.bone_marrow_pct":
            # Required, but null means "not done": the key must be there.
            section = get_path(doc, "disease") or {}
            if "bone_marrow_pct" not in section:
                out.append(Problem(path, "is required (leave it empty only if not done)"))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(Problem(path, "is required"))
        elif (
            spec.type in ("object_list", "enum_list")
            and path in ("treatment.lines", "disease.sites")
            and not value
        ):
            out.append(Problem(path, "needs at least one entry"))
    for path, spec in BASE.items():
        if spec.type != "object_list":
            continue
        items = get_path(doc, path)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for ispec in spec.item_fields:
                value = item.get(ispec.path)
                if ispec.requirement == "R" and (
                    value is None or (isinstance(value, str) and not value.strip())
                ):
                    out.append(Problem(f"{path}[{i}].{ispec.path}", "is required"))
    for path, why in _conditional_requirements(doc):
        value = get_path(doc, path)
        if value is None or value == []:
            out.append(Problem(path, f"is required because {why}"))
    return out


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without system keys, ready to store."""
    out = copy.deepcopy(doc)
    for key in SYSTEM_KEYS:
        out.pop(key, None)
    return out


def text_fields(
    doc: dict[str, Any], fields: dict[str, FieldSpec] | None = None
) -> list[tuple[str, str]]:
    """Every free-text value of ``doc`` with its path, for the identifier guard (``fields``: the
    field table, ``panel-case/1``'s unless given, e.g. ``panel-case/2``'s)."""
    out: list[tuple[str, str]] = []
    for path, spec in (BASE if fields is None else fields).items():
        value = get_path(doc, path)
        if value is None:
            continue
        if spec.type == "text" and isinstance(value, str) and path != "schema":
            out.append((path, value))
        elif spec.type == "text_list" and isinstance(value, list):
            out.extend((f"{path}[{i}]", v) for i, v in enumerate(value) if isinstance(v, str))
        elif spec.type == "object_list" and isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                for ispec in spec.item_fields:
                    v = item.get(ispec.path)
                    if ispec.type == "text" and isinstance(v, str):
                        out.append((f"{path}[{i}].{ispec.path}", v))
    return out

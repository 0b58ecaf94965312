"""Hypothesis strategies for case documents, built from the ``panel-case/1`` field table.

:func:`valid_v1_documents` draws documents that pass :func:`panel.caseformat.schema.validate`:
every field is absent, ``null`` or a valid value; every section may be absent, ``null`` or
``{}``; object-list items may miss keys (drafts). The three cross-field rules of the validator
(age now >= age at diagnosis, the event inside the time since diagnosis) are respected by
construction.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from panel.caseformat import schema
from panel.caseformat.fields import VALUE_SETS, FieldSpec

ABSENT = object()

# Printable text without control characters (the validator refuses them).
_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))
TEXT = st.text(_TEXT_CHARS, max_size=30)
NON_BLANK = TEXT.filter(lambda s: s.strip() != "")


def _value(spec: FieldSpec, complete: bool = False) -> st.SearchStrategy[Any]:
    """A valid, known value for ``spec`` (never ``None``); with ``complete``, required texts are
    not blank and required lists not empty."""
    t = spec.type
    required = complete and spec.requirement == "R"
    if t in ("int", "number"):
        lo = int(spec.minimum) if spec.minimum is not None else -1000
        hi = int(spec.maximum) if spec.maximum is not None else 10_000
        if spec.step:
            step = int(spec.step)
            return st.integers(lo // step, hi // step).map(lambda n: n * step)
        ints = st.integers(lo, hi)
        if t == "int":
            return ints
        return ints | st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if t == "bool":
        return st.booleans()
    if t == "enum":
        return st.sampled_from(VALUE_SETS[spec.value_set].codes)
    if t == "enum_list":
        codes = st.sampled_from(VALUE_SETS[spec.value_set].codes)
        return st.lists(codes, unique=True, min_size=int(required), max_size=4)
    if t == "text":
        return NON_BLANK if required else TEXT
    if t == "text_list":
        return st.lists(NON_BLANK, max_size=min(spec.max_items or 5, 5))
    if t == "code":
        codes = st.sampled_from(["NAP", "ECMC-NORTH", "NEWCASTLE", "BRISTOL", "X"])
        return codes if required else codes | TEXT
    if t == "object_list":
        item = st.fixed_dictionaries({i.path: _field(i, complete) for i in spec.item_fields}).map(
            lambda d: {k: v for k, v in d.items() if v is not ABSENT}
        )
        return st.lists(item, min_size=int(required), max_size=3)
    raise AssertionError(f"no strategy for {t}")  # pragma: no cover


def _field(spec: FieldSpec, complete: bool = False) -> st.SearchStrategy[Any]:
    """Absent, ``null`` or a value (mostly a value; always one for a required field of a
    ``complete`` document, but ``null`` for the bone marrow, which means not done)."""
    if complete and spec.requirement == "R":
        if spec.path == "disease.bone_marrow_pct":
            return st.none() | _value(spec)
        return _value(spec, complete)
    return st.integers(0, 9).flatmap(
        lambda i: st.just(ABSENT) if i == 0 else st.none() if i == 1 else _value(spec)
    )


def _section(tree: dict[str, Any], complete: bool = False) -> st.SearchStrategy[Any]:
    """A section of the tree: mostly its fields, sometimes ``null``, ``{}`` or absent (always
    its fields in a ``complete`` document)."""
    children = {
        key: (_section(sub, complete) if isinstance(sub, dict) else _field(sub, complete))
        for key, sub in tree.items()
    }
    full = st.fixed_dictionaries(children).map(
        lambda d: {k: v for k, v in d.items() if v is not ABSENT}
    )
    if complete:
        return full
    return st.integers(0, 11).flatmap(
        lambda i: (
            st.just(ABSENT) if i == 0 else st.none() if i == 1 else st.just({}) if i == 2 else full
        )
    )


def _fix_cross_field_rules(doc: dict[str, Any]) -> dict[str, Any]:
    patient, status = doc.get("patient"), doc.get("status")
    if isinstance(patient, dict):
        at_dx, now = patient.get("age_at_diagnosis_months"), patient.get("age_now_months")
        if isinstance(at_dx, int) and isinstance(now, int) and now < at_dx:
            patient["age_at_diagnosis_months"], patient["age_now_months"] = now, at_dx
            at_dx, now = now, at_dx
        if isinstance(status, dict) and isinstance(at_dx, int) and isinstance(now, int):
            to_event = status.get("months_diagnosis_to_event")
            if isinstance(to_event, int) and to_event > now - at_dx:
                status["months_diagnosis_to_event"] = now - at_dx
    return doc


@st.composite
def valid_v1_documents(draw: st.DrawFn, *, complete: bool = False) -> dict[str, Any]:
    """A ``panel-case/1`` document that :func:`schema.validate` accepts. With ``complete``,
    every required field is filled (the conditional ones may still be missing)."""
    doc: dict[str, Any] = {"schema": schema.SCHEMA}
    for key, sub in schema.TREE.items():
        if key == "schema":
            continue
        value = draw(_section(sub, complete) if isinstance(sub, dict) else _field(sub, complete))
        if value is not ABSENT:
            doc[key] = value
    return _fix_cross_field_rules(doc)

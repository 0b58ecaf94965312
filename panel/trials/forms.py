"""Forms of the trial editor, and the translation between a criterion's condition and the
"simple condition" inputs (field, operator, a value typed by the field).

The rule language (``trial-rules.md``) is validated by the engine, not here: the forms only
turn inputs into a condition, and :func:`panel.trials.engine.validate_trial` says what is wrong,
naming the criterion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from panel.caseformat.fields import value_label, value_set_choices
from panel.trials.engine import (
    ALL_RULE_FIELDS as RULE_FIELDS,
)
from panel.trials.engine import (
    ALTERATION_TYPES,
    HAS_ALTERATION,
    PLAIN_SUMMARY_MAX,
    PLAIN_TITLE_MAX,
    RULE_VALUE_SETS,
    describe_alteration,
    operators_for,
    value_choices,
)
from panel.trials.engine import (
    RULE_OPERATORS as OPERATORS,
)

# --------------------------------------------------------------------------- field picker
#: Sections of the field picker, by the first part of the path.
SECTIONS = {
    "family": "Family",
    "patient": "Patient",
    "diagnosis": "Diagnosis",
    "status": "Disease status",
    "disease": "Disease now",
    "biology": "Biology",
    "treatment": "Treatment",
    "response": "Response",
    "fitness": "Fitness",
    # panel-case/2 only (read from the v2 document; a v1 case is converted first)
    "tumour": "Tumour type (any tumour)",
    "molecular": "Molecular alterations (any tumour)",
    "organ_function": "Organ function",
    "modules.neuroblastoma": "Neuroblastoma module",
    "modules.sarcoma": "Sarcoma module",
}


def _section_of(path: str) -> str:
    parts = path.split(".")
    key = ".".join(parts[:2]) if parts[0] == "modules" else parts[0]
    return SECTIONS.get(key, "Other")


def field_choices() -> dict[str, list[tuple[str, str]]]:
    """``{section: [(path, label)]}`` for a ``<select>`` with ``<optgroup>``s."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for path, spec in RULE_FIELDS.items():
        groups.setdefault(_section_of(path), []).append((path, spec.label))
    return groups


def _value_choices(spec: Any) -> list[dict[str, str]]:
    if spec.value_set is None:
        return []
    return [{"code": c, "label": lbl} for c, lbl in value_choices(spec)]


def _fields_value_label(path: str, code: Any) -> str:
    spec = RULE_FIELDS.get(path)
    vs = RULE_VALUE_SETS.get(spec.value_set or "") if spec is not None else None
    if vs is not None and isinstance(code, str):
        return vs.label_of(code)
    return value_label(path, code)


def widget_for(path: str | None, op: str | None) -> str:
    """Which value input a (field, operator) takes: ``exists`` (yes/no), ``pair`` (two numbers),
    ``bool`` (yes/no), ``number``, ``enum`` (one choice), ``multi`` (several choices) or
    ``list`` (comma-separated words or numbers), or ``alteration`` (genes, types and protein
    changes of ``has_alteration``)."""
    spec = RULE_FIELDS.get(path or "")
    shape = OPERATORS[op].value_shape if op in OPERATORS else "scalar"
    if op == "exists":
        return "exists"
    if op == HAS_ALTERATION:
        return "alteration"
    if shape == "pair":
        return "pair"
    if spec is None:
        return "number"
    if shape == "list":
        return "multi" if spec.value_set else "list"
    if spec.type == "bool":
        return "bool"
    if spec.type in ("int", "number"):
        return "number"
    if spec.value_set:
        return "enum"
    return "list"


def editor_metadata() -> dict[str, Any]:
    """What ``static/js/trial-editor.js`` needs to swap operators and value inputs."""
    return {
        "fields": {
            path: {
                "label": spec.label,
                "type": spec.type,
                "operators": list(operators_for(path)),
                "values": _value_choices(spec),
                "widgets": {op: widget_for(path, op) for op in operators_for(path)},
            }
            for path, spec in RULE_FIELDS.items()
        },
        "operators": {name: op.label for name, op in OPERATORS.items()},
    }


# --------------------------------------------------------------------------- describing rules
def _fmt_value(path: str, v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return _fields_value_label(path, v)


def describe_condition(cond: Mapping[str, Any]) -> str:
    """A condition in words: ``Disease status is one of Refractory, Relapsed``; a tumour scope
    criterion says so first."""
    if cond.get("scope") is True:
        rest = {k: v for k, v in cond.items() if k != "scope"}
        return f"Tumour scope (checked first): {describe_condition(rest)}"
    for group, word in (("any_of", "any of"), ("all_of", "all of")):
        if group in cond:
            parts = cond.get(group) or []
            return f"{word}: (" + "; ".join(describe_condition(p) for p in parts) + ")"
    path, op, value = cond.get("field"), cond.get("op"), cond.get("value")
    spec = RULE_FIELDS.get(path or "")
    label = spec.label if spec else str(path)
    if op == "exists":
        return f"{label} is recorded" if value else f"{label} is not recorded"
    if op == HAS_ALTERATION:
        return f"{label} include {describe_alteration(value)} (any tumour type)"
    op_label = OPERATORS[op].label if op in OPERATORS else str(op)
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{label} is between {_fmt_value(path, value[0])} and {_fmt_value(path, value[1])}"
    if isinstance(value, list):
        shown = ", ".join(_fmt_value(path, v) for v in value)
    else:
        shown = _fmt_value(path, value)
    return f"{label} {op_label} {shown}"


def condition_of(criterion: Mapping[str, Any]) -> dict[str, Any]:
    """The condition part of a criterion (leaf or group)."""
    return {k: v for k, v in criterion.items() if k in ("field", "op", "value", "any_of", "all_of")}


def is_simple(criterion: Mapping[str, Any]) -> bool:
    return "field" in criterion and "any_of" not in criterion and "all_of" not in criterion


# --------------------------------------------------------------------------- forms
def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _none_if_blank(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


class TrialForm(FlaskForm):
    """A trial's description, status and sites (the criteria have their own editor)."""

    version = HiddenField()
    code = StringField(
        "Code",
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", message="Letters, digits, _ . - only."),
        ],
        render_kw={"placeholder": "e.g. NANT-LORLATINIB", "autocomplete": "off"},
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    phase = StringField(
        "Phase",
        validators=[Optional(), Length(max=32)],
        render_kw={"placeholder": "e.g. 1, 1/2, 2"},
    )
    summary = TextAreaField(
        "Summary", validators=[Optional(), Length(max=4000)], render_kw={"rows": 3}
    )
    plain_title = StringField(
        "Title for families",
        validators=[Optional(), Length(max=PLAIN_TITLE_MAX)],
        render_kw={
            "maxlength": PLAIN_TITLE_MAX,
            "placeholder": "e.g. A trial of a new medicine for neuroblastoma that has come back",
        },
    )
    plain_summary = TextAreaField(
        "Summary for families",
        validators=[Optional(), Length(max=PLAIN_SUMMARY_MAX)],
        render_kw={"rows": 4, "maxlength": PLAIN_SUMMARY_MAX},
    )
    registry_ids = TextAreaField(
        "Registry identifiers",
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 2, "placeholder": "One per line, e.g. NCT03107988"},
    )
    sponsor = StringField("Sponsor", validators=[Optional(), Length(max=200)])
    status = SelectField("Status", choices=value_set_choices("trial_status"))
    status_source = StringField(
        "Where the status comes from", validators=[Optional(), Length(max=300)]
    )
    mark_verified = BooleanField("I checked the status today (mark verified today)")
    sites = SelectMultipleField("Sites", choices=[], validate_choice=False, render_kw={"size": 10})
    sites_mode = SelectField("Sites mode", choices=value_set_choices("sites_mode"))
    notes = TextAreaField(
        "Notes for the panel",
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 3, "placeholder": "One note per line"},
    )
    study_kind = StringField("Kind of study", validators=[Optional(), Length(max=64)])
    enrolment = SelectField("Enrolment", choices=value_set_choices("study_enrolment"))

    def __init__(
        self,
        *args: Any,
        centres: list[tuple[str, str]] | None = None,
        is_study: bool = False,
        creating: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sites.choices = centres or []
        self.is_study = is_study
        if not creating:
            del self.code
        if not is_study:
            del self.study_kind
            del self.enrolment

    @classmethod
    def from_trial(cls, trial: Any, centres: list[tuple[str, str]]) -> TrialForm:
        form = cls(
            centres=centres,
            is_study=trial.is_study,
            data={
                "version": trial.version,
                "title": trial.title,
                "phase": trial.phase or "",
                "summary": trial.summary or "",
                "plain_title": trial.plain_title or "",
                "plain_summary": trial.plain_summary or "",
                "registry_ids": "\n".join(trial.registry_ids or []),
                "sponsor": trial.sponsor or "",
                "status": trial.status.value,
                "status_source": trial.status_source or "",
                "sites": list(trial.sites or []),
                "sites_mode": trial.sites_mode,
                "notes": "\n".join(trial.notes or []),
                "study_kind": trial.study_kind or "",
                "enrolment": trial.enrolment or "opt_out",
            },
        )
        return form

    def changes(self, today_iso: str) -> dict[str, Any]:
        """The record keys this form sets."""
        out: dict[str, Any] = {
            "title": (self.title.data or "").strip(),
            "phase": _none_if_blank(self.phase.data),
            "summary": _none_if_blank(self.summary.data),
            "plain_title": _none_if_blank(self.plain_title.data),
            "plain_summary": _none_if_blank(self.plain_summary.data),
            "registry_ids": _lines(self.registry_ids.data),
            "sponsor": _none_if_blank(self.sponsor.data),
            "status": self.status.data,
            "status_source": _none_if_blank(self.status_source.data),
            "sites": [s for s in dict.fromkeys(self.sites.data or []) if s],
            "sites_mode": self.sites_mode.data,
            "notes": _lines(self.notes.data),
        }
        if self.mark_verified.data:
            out["status_verified_on"] = today_iso
        if self.is_study:
            out["kind"] = _none_if_blank(self.study_kind.data)
            out["enrolment"] = self.enrolment.data
        return out

    @property
    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class CriterionForm(FlaskForm):
    """One criterion: a simple condition (field, operator, value) or an advanced JSON group."""

    version = HiddenField()
    original_id = HiddenField()
    cid = StringField(
        "Criterion id",
        validators=[DataRequired(), Length(max=32)],
        render_kw={"placeholder": "e.g. L1", "autocomplete": "off"},
    )
    kind = SelectField("Kind", choices=value_set_choices("criterion_kind"))
    label = StringField(
        "Label (what the panel reads)", validators=[DataRequired(), Length(max=300)]
    )
    source = SelectField("Source", choices=value_set_choices("criterion_source"))
    source_text = TextAreaField(
        "Source text (the record's own words)",
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 3},
    )
    mode = RadioField(
        "Condition",
        choices=[
            ("simple", "Simple condition"),
            ("advanced", "Advanced (any of / all of, as JSON)"),
        ],
        default="simple",
    )
    field = SelectField("Field", choices=[], validate_choice=False)
    op = SelectField(
        "Operator", choices=[(k, v.label) for k, v in OPERATORS.items()], validate_choice=False
    )
    value_enum = SelectField("Value", choices=[], validate_choice=False)
    value_multi = SelectMultipleField(
        "Values", choices=[], validate_choice=False, render_kw={"size": 6}
    )
    value_number = StringField("Value", render_kw={"inputmode": "decimal"})
    value_lo = StringField("From", render_kw={"inputmode": "decimal"})
    value_hi = StringField("To (inclusive)", render_kw={"inputmode": "decimal"})
    value_bool = SelectField(
        "Value", choices=[("true", "Yes"), ("false", "No")], validate_choice=False
    )
    value_exists = SelectField(
        "Value",
        choices=[("true", "is recorded (not empty)"), ("false", "is not recorded (or empty)")],
        validate_choice=False,
    )
    value_list = StringField("Values (separated by commas)")
    value_genes = StringField(
        "Genes (HGNC symbols, separated by commas)", render_kw={"placeholder": "e.g. ALK"}
    )
    value_types = SelectMultipleField(
        "Alteration types (none ticked: any type)",
        choices=[(c.code, c.label) for c in ALTERATION_TYPES.choices],
        validate_choice=False,
    )
    value_protein = StringField(
        "Protein changes (optional, separated by commas)",
        render_kw={"placeholder": "e.g. F1174L, p.Arg1275Gln"},
    )
    scope = BooleanField("Tumour scope: checked first; a case outside it is ineligible")
    condition_json = TextAreaField(
        "Condition (JSON)", render_kw={"rows": 10, "spellcheck": "false"}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field.choices = field_choices()
        self.refresh_value_choices()

    # ---------------------------------------------------------------- state for the template
    @property
    def current_path(self) -> str | None:
        return self.field.data if self.field.data in RULE_FIELDS else None

    @property
    def current_widget(self) -> str:
        return widget_for(self.current_path, self.op.data)

    def operator_choices(self) -> list[tuple[str, str]]:
        path = self.current_path
        names = operators_for(path) if path else tuple(OPERATORS)
        return [(n, OPERATORS[n].label) for n in names]

    def refresh_value_choices(self) -> None:
        spec = RULE_FIELDS.get(self.field.data or "")
        choices = [(c["code"], c["label"]) for c in _value_choices(spec)] if spec else []
        self.value_enum.choices = choices
        self.value_multi.choices = choices

    # ---------------------------------------------------------------- criterion <-> form
    @classmethod
    def from_criterion(
        cls, criterion: Mapping[str, Any], version: int, **kwargs: Any
    ) -> CriterionForm:
        data: dict[str, Any] = {
            "version": version,
            "original_id": criterion.get("id", ""),
            "cid": criterion.get("id", ""),
            "kind": criterion.get("kind", "inclusion"),
            "label": criterion.get("label", ""),
            "source": criterion.get("source", "factsheet"),
            "source_text": criterion.get("source_text") or "",
            "scope": criterion.get("scope") is True,
            "condition_json": json.dumps(condition_of(criterion), indent=2, ensure_ascii=False),
        }
        if is_simple(criterion):
            path, op, value = criterion.get("field"), criterion.get("op"), criterion.get("value")
            data.update(mode="simple", field=path, op=op)
            widget = widget_for(path, op)
            if widget == "exists":
                data["value_exists"] = "true" if value else "false"
            elif widget == "bool":
                data["value_bool"] = "true" if value else "false"
            elif widget == "pair" and isinstance(value, list) and len(value) == 2:
                data["value_lo"], data["value_hi"] = _num_text(value[0]), _num_text(value[1])
            elif widget == "multi":
                data["value_multi"] = list(value) if isinstance(value, list) else []
            elif widget == "enum":
                data["value_enum"] = value
            elif widget == "alteration" and isinstance(value, Mapping):
                data["value_genes"] = ", ".join(map(str, value.get("genes") or []))
                data["value_types"] = list(value.get("types") or [])
                data["value_protein"] = ", ".join(map(str, value.get("protein_changes") or []))
            elif widget == "list" and not isinstance(value, list):
                data["value_list"] = _num_text(value)
            elif widget == "list":
                data["value_list"] = (
                    ", ".join(_num_text(v) for v in value) if isinstance(value, list) else ""
                )
            else:
                data["value_number"] = _num_text(value)
        else:
            data["mode"] = "advanced"
        return cls(data=data, **kwargs)

    def to_criterion(self) -> tuple[dict[str, Any] | None, list[str]]:
        """The criterion the inputs describe, or the problems that prevent building it.

        The criterion may still be invalid: the engine checks it with the whole trial."""
        cid = (self.cid.data or "").strip()
        where = f"criterion {cid or '(new)'}"
        crit: dict[str, Any] = {
            "id": cid,
            "kind": self.kind.data,
            "label": (self.label.data or "").strip(),
            "source": self.source.data,
        }
        source_text = (self.source_text.data or "").strip()
        if source_text:  # optional in the record format: absent rather than empty
            crit["source_text"] = source_text
        if self.scope.data:  # absent unless true (the record format's default)
            crit["scope"] = True
        if self.mode.data == "advanced":
            try:
                cond = json.loads(self.condition_json.data or "")
            except json.JSONDecodeError as exc:
                return None, [
                    f"{where}: the condition is not valid JSON ({exc.msg}, line {exc.lineno})"
                ]
            if not isinstance(cond, dict):
                return None, [f"{where}: the condition must be a JSON object"]
            stray = sorted(set(cond) - {"field", "op", "value", "any_of", "all_of"})
            if stray:
                return None, [f"{where}: unknown key(s) {', '.join(stray)} in the condition"]
            crit.update(cond)
            return crit, []
        path, op = self.field.data, self.op.data
        if path not in RULE_FIELDS:
            return None, [f"{where}: choose a field"]
        if op not in operators_for(path):
            allowed = ", ".join(OPERATORS[o].label for o in operators_for(path))
            return None, [
                f"{where}: choose an operator that applies to {RULE_FIELDS[path].label} ({allowed})"
            ]
        value, problem = self._value(path, op)
        if problem:
            return None, [f"{where}: {problem}"]
        crit.update(field=path, op=op, value=value)
        return crit, []

    def _value(self, path: str, op: str) -> tuple[Any, str | None]:
        widget = widget_for(path, op)
        spec = RULE_FIELDS[path]
        if widget == "exists":
            return self.value_exists.data != "false", None
        if widget == "bool":
            if self.value_bool.data not in ("true", "false"):
                return None, "choose yes or no"
            return self.value_bool.data == "true", None
        if widget == "pair":
            lo, hi = _number(self.value_lo.data), _number(self.value_hi.data)
            if lo is None or hi is None:
                return None, "'between' needs two numbers (from and to)"
            return [lo, hi], None
        if widget == "number":
            n = _number(self.value_number.data)
            if n is None:
                return None, f"give a number for {spec.label}"
            return n, None
        if widget == "enum":
            if not self.value_enum.data:
                return None, f"choose a value of {spec.label}"
            return self.value_enum.data, None
        if widget == "multi":
            values = [v for v in dict.fromkeys(self.value_multi.data or []) if v]
            if not values:
                return None, f"choose at least one value of {spec.label}"
            return values, None
        if widget == "alteration":
            genes = [g.strip() for g in (self.value_genes.data or "").split(",") if g.strip()]
            if not genes:
                return None, "give at least one gene (an HGNC symbol, e.g. ALK)"
            value: dict[str, Any] = {"genes": genes}
            types = [t for t in dict.fromkeys(self.value_types.data or []) if t]
            if types:
                value["types"] = types
            changes = [c.strip() for c in (self.value_protein.data or "").split(",") if c.strip()]
            if changes:
                value["protein_changes"] = changes
            return value, None
        words = [w.strip() for w in (self.value_list.data or "").split(",") if w.strip()]
        if not words:
            return None, f"give at least one value for {spec.label} (separated by commas)"
        if OPERATORS[op].value_shape == "scalar":  # eq / ne on a text or code field
            if len(words) > 1:
                return None, f"give one value for {spec.label} (or use 'is one of')"
            return words[0], None
        if spec.type in ("int", "number"):
            numbers = [_number(w) for w in words]
            if any(n is None for n in numbers):
                return None, f"the values of {spec.label} must be numbers"
            return numbers, None
        return words, None

    @property
    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _number(text: str | None) -> int | float | None:
    text = (text or "").strip()
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _num_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


__all__ = [
    "CriterionForm",
    "TrialForm",
    "describe_condition",
    "editor_metadata",
    "field_choices",
    "widget_for",
]

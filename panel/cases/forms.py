"""The referral form: its layout, and the mapping between posted form fields and a
``panel-case/1`` document.

The form is not a set of hand-written WTForms classes: it is built from the format's field
table (:data:`panel.caseformat.fields.FIELDS`) and value sets, so it cannot drift from the format.
This module only adds what a field table cannot say: which section a field sits in, which
fields share a row, a human help text where the format's note is written for developers, and
units. CSRF is enforced globally (``CSRFProtect``), the templates send ``csrf_token()``.

Names of the form inputs (only these are ever read from a request, so unknown keys such as
``status`` or ``created_by`` are ignored):

* a scalar field posts under its dotted path: ``patient.sex``, ``disease.curie_score``;
* a yes/no field posts ``yes`` / ``no`` (empty = not known, the key is left out);
* an age posts ``<path>__years`` and ``<path>__months`` and is stored in months;
* a number that may be ``null`` (bone marrow not done, no travel limit) has a ``<path>__null``
  check box;
* a list of value-set words posts each ticked word under its path; optional lists also offer
  ``__none__`` ("none": stored as ``[]``; nothing ticked means not known, the key is absent);
* lists of objects post ``<path>[<i>].<key>``; the parents' questions post
  ``family.questions[<i>]``. Rows are read in index order; wholly empty rows are dropped.
  Optional lists of objects have a ``<path>__none`` check box (``[]``).

Conditional fields that do not apply (e.g. a SIOPEN score when mIBG is not avid) are dropped,
whatever was posted for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from panel.caseformat import schema
from panel.caseformat.convert import V1_TO_V2
from panel.caseformat.fields import FIELDS, VALUE_SETS, FieldSpec, value_set_choices
from panel.privacy import KIND_LABELS, kind_label  # noqa: F401  (re-exported for the case pages)

NONE_WORD = "__none__"
YES, NO = "yes", "no"


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Section:
    """One card of the form (and one entry of the section navigation)."""

    key: str
    title: str
    icon: str
    rows: tuple[tuple[str, ...], ...]  # field paths; a row starting with "#" is a sub-heading
    intro: str = ""

    @property
    def anchor(self) -> str:
        return f"s-{self.key}"

    @property
    def paths(self) -> list[str]:
        return [p for row in self.rows for p in row if not p.startswith("#")]


SECTIONS: tuple[Section, ...] = (
    Section(
        "referral",
        "Panel & question",
        "send",
        (("panel", "referring_centre", "urgency"), ("clinical_question",)),
        intro="Which panel should discuss the case, and what you ask it.",
    ),
    Section(
        "patient",
        "Patient",
        "person",
        (("patient.age_at_diagnosis_months", "patient.age_now_months", "patient.sex"),),
        intro="Ages only: never a name, date of birth or hospital number.",
    ),
    Section(
        "diagnosis",
        "Diagnosis",
        "clipboard2-pulse",
        (
            ("diagnosis.inrg_stage", "diagnosis.inss_stage", "diagnosis.risk_group"),
            ("diagnosis.histology", "diagnosis.primary_site"),
            ("diagnosis.mibg", "diagnosis.siopen_score"),
        ),
    ),
    Section(
        "disease",
        "Current disease",
        "activity",
        (
            ("#Disease status",),
            ("status.category", "status.episode", "status.relapse_pattern"),
            ("status.months_diagnosis_to_event", "status.months_since_last_treatment"),
            ("#Extent of disease now",),
            ("disease.sites",),
            ("disease.measurable", "disease.bone_marrow_pct"),
            ("disease.mibg", "disease.siopen_score", "disease.fdg_pet", "disease.curie_score"),
        ),
    ),
    Section(
        "biology",
        "Tumour biology",
        "diagram-2",
        (
            ("biology.mycn", "biology.profiling_at_relapse"),
            ("biology.alk.status", "biology.alk.copy_number"),
            ("biology.alk.variants",),
            (
                "biology.segmental.del_1p36",
                "biology.segmental.del_11q",
                "biology.segmental.gain_17q",
            ),
            ("biology.other_alterations",),
        ),
    ),
    Section(
        "treatment",
        "Treatment history",
        "capsule",
        (
            ("treatment.lines",),
            ("treatment.prior_hdc", "treatment.prior_anti_gd2", "treatment.prior_alk_inhibitor"),
            (
                "treatment.prior_asct_count",
                "treatment.prior_mibg_therapy",
                "treatment.stored_stem_cells_cd34_per_kg",
            ),
        ),
        intro="Every line of treatment so far, in order.",
    ),
    Section(
        "response",
        "Response",
        "graph-up",
        (
            ("#At the end of induction",),
            ("response.end_induction.overall", "response.end_induction.bone_marrow"),
            ("response.end_induction.mibg", "response.end_induction.siopen_score"),
            ("#Now",),
            ("response.current.overall",),
        ),
        intro="INRC 2017 response criteria. Optional, but it helps the panel.",
    ),
    Section(
        "fitness",
        "Fitness",
        "heart-pulse",
        (
            ("fitness.performance_scale", "fitness.performance_score"),
            ("fitness.life_expectancy_months", "fitness.organ_function_adequate"),
        ),
    ),
    Section(
        "family",
        "Family",
        "people",
        (
            (
                "family.aware_of_referral",
                "family.treatment_abroad_interest",
                "family.epidemiology_study_opt_out",
            ),
            ("family.max_travel_km",),
            ("family.questions",),
            ("#Communication needs",),
            (
                "family.communication.language",
                "family.communication.language_other",
                "family.communication.interpreter",
            ),
            ("family.communication.large_print", "family.communication.easy_read"),
            ("family.communication.other_format",),
            ("family.communication.notes",),
        ),
        intro="What the family knows and wants. The panel answers each of their questions. "
        "Record how the family needs information: the letter is made in that format.",
    ),
)

SECTION_OF: dict[str, Section] = {p: s for s in SECTIONS for p in s.paths}

#: Fields entered as years + months and stored in months.
AGE_FIELDS = frozenset({"patient.age_at_diagnosis_months", "patient.age_now_months"})
#: Numbers whose ``null`` has a meaning, with the label of the check box that sets it.
NULL_CHOICES = {"disease.bone_marrow_pct": "Not done", "family.max_travel_km": "No limit"}
UNITS = {
    "status.months_diagnosis_to_event": "months",
    "status.months_since_last_treatment": "months",
    "disease.bone_marrow_pct": "%",
    "fitness.life_expectancy_months": "months",
    "family.max_travel_km": "km",
    "treatment.stored_stem_cells_cd34_per_kg": "×10⁶/kg",
    "biology.alk.copy_number": "copies",
}
#: Shorter labels where the format's label carries the unit the form shows beside the input.
LABELS = {
    "patient.age_at_diagnosis_months": "Age at diagnosis",
    "patient.age_now_months": "Age now",
    "disease.bone_marrow_pct": "Bone marrow infiltration",
    "fitness.life_expectancy_months": "Life expectancy",
    "family.max_travel_km": "Furthest the family can travel",
    "treatment.stored_stem_cells_cd34_per_kg": "Stored stem cells (CD34+)",
    "response.end_induction.overall": "Overall response",
    "response.end_induction.mibg": "mIBG",
    "response.end_induction.siopen_score": "SIOPEN score",
    "response.end_induction.bone_marrow": "Bone marrow response",
    "response.current.overall": "Current overall response",
    "status.episode": "Episode",
}
#: Help for people, where the format's note is written for developers.
HELP = {
    "panel": "The national panel (NAP) or your regional ECMC panel for early-phase trials.",
    "referring_centre": "Trial distances are measured from this centre.",
    "clinical_question": "What the referring team asks the panel. No names, dates or hospital numbers.",
    "patient.age_now_months": "Not less than the age at diagnosis.",
    "status.episode": "1 for the first relapse or progression.",
    "disease.measurable": "A lesion ≥ 10 mm, or a node ≥ 15 mm short axis.",
    "disease.bone_marrow_pct": "Tick “Not done” if the marrow was not examined.",
    "family.max_travel_km": "Compared with the distance to each trial site.",
    "family.questions": "The parents' own questions, in their words (at most 20).",
    "biology.alk.variants": "One row per variant.",
    "treatment.lines": "Phase, regimen, number of cycles and best response of each line.",
    "fitness.performance_score": "Lansky under 16 years, Karnofsky from 16.",
    "fitness.performance_scale": "",
    "family.treatment_abroad_interest": "",
    "family.epidemiology_study_opt_out": "Families are included unless they opt out.",
    "family.communication.language": "If it is not English, the coordinator is reminded to "
    "arrange a translated copy, and the letter says in that language that one can be asked for.",
    "family.communication.interpreter": "For the talk with the family about the panel's advice.",
    "family.communication.large_print": "A large-print copy of the family letter is made too.",
    "family.communication.easy_read": "An easy-read copy of the family letter is made too.",
    "family.communication.other_format": "Tick each format the family needs.",
    "family.communication.notes": "Anything else that helps. No names or hospital numbers.",
}
#: Free text entered on one line (a name, not a paragraph), and textareas shorter than 4 rows.
SHORT_TEXT = frozenset({"family.communication.language_other"})
TEXT_ROWS = {"family.communication.notes": 2}
LIST_NOUNS = {
    "treatment.lines": ("line", "Add a treatment line"),
    "biology.alk.variants": ("variant", "Add a variant"),
    "biology.other_alterations": ("alteration", "Add an alteration"),
    "family.questions": ("question", "Add a question"),
}
#: For optional lists of objects: the label of the "none" check box.
LIST_NONE = {"biology.other_alterations": "No other alterations found"}

# When each conditional field applies: the field that decides, and the values that make it
# apply. ``schema.applicable_conditionals`` decides on save; a test checks the two agree.
CONDITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "diagnosis.siopen_score": ("diagnosis.mibg", ("avid",)),
    "disease.siopen_score": ("disease.mibg", ("avid",)),
    "disease.fdg_pet": ("disease.mibg", ("non_avid", "not_done")),
    "status.relapse_pattern": ("status.category", ("relapsed", "progressive")),
    "biology.alk.variants": ("biology.alk.status", ("mutation",)),
    "biology.alk.copy_number": ("biology.alk.status", ("amplification",)),
    "family.communication.language_other": ("family.communication.language", ("other",)),
}

# KIND_LABELS and kind_label live in panel.privacy (one list for every page and the imaging).


# --------------------------------------------------------------------------- helpers
def spec(path: str) -> FieldSpec:
    return FIELDS[path]


def label(path: str) -> str:
    return LABELS.get(path) or FIELDS[path].label


def help_text(path: str) -> str:
    if path in HELP:
        return HELP[path]
    if path in CONDITIONS:
        ctrl, values = CONDITIONS[path]
        words = " or ".join(VALUE_SETS[FIELDS[ctrl].value_set].label_of(v).lower() for v in values)
        return f"Only when {label(ctrl)} is {words}."
    note = FIELDS[path].note
    return note.replace(">=", "≥").replace("<=", "≤")


def field_id(name: str) -> str:
    """The HTML id of the input posting ``name``."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def widget(path: str) -> str:
    """How ``path`` is entered: age, select, int_select, number, bool, checks, text, rows, lines."""
    s = FIELDS[path]
    if path in AGE_FIELDS:
        return "age"
    if s.type in ("enum", "code"):
        return "select"
    if s.type == "int" and s.step:
        return "int_select"
    if s.type in ("int", "number"):
        return "number"
    if s.type == "bool":
        return "bool"
    if s.type == "enum_list":
        return "checks"
    if s.type == "text":
        return "text"
    if s.type == "text_list":
        return "lines"
    return "rows"


def choices(
    path: str, codes: Mapping[str, list[tuple[str, str]]] | None = None
) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a select or a check-box group."""
    s = FIELDS.get(path)
    if s is not None and s.type == "code":
        return list((codes or {}).get(path, []))
    if s is not None and s.type == "int" and s.step:
        lo, hi, step = int(s.minimum or 0), int(s.maximum or 0), int(s.step)
        return [(str(v), str(v)) for v in range(hi, lo - 1, -step)]
    return value_set_choices(s.value_set)


def item_choices(item: FieldSpec) -> list[tuple[str, str]]:
    return value_set_choices(item.value_set) if item.value_set else []


def is_optional_list(path: str) -> bool:
    s = FIELDS[path]
    return s.type == "enum_list" and s.requirement == "O"


def required(path: str) -> bool:
    return FIELDS[path].requirement == "R"


def conditional(path: str) -> tuple[str, tuple[str, ...]] | None:
    return CONDITIONS.get(path)


_ITEM_PATH = re.compile(r"^(?P<list>[a-z_.]+)\[(?P<i>\d+)\](?:\.(?P<key>[a-z_]+))?")


_V2_TO_V1 = sorted(
    ((new, old) for old, new in V1_TO_V2.items() if new != old), key=lambda p: -len(p[0])
)


def form_path(path: str) -> str:
    """The form's (``panel-case/1``) path for a problem's field path of either version."""
    for new, old in _V2_TO_V1:
        if path == new or path.startswith((new + ".", new + "[")):
            return old + path[len(new) :]
    return path


def problem_label(path: str) -> str:
    """A person's name for a problem's field: ``treatment.lines[1].cycles`` -> "Treatment
    lines (in order), line 2: Cycles"."""
    path = form_path(path)
    m = _ITEM_PATH.match(path)
    if m and m["list"] in FIELDS:
        base = label(m["list"])
        if m["list"] in LIST_NOUNS:
            noun = LIST_NOUNS[m["list"]][0]
            text = f"{base}, {noun} {int(m['i']) + 1}"
            if m["key"]:
                item = next((f for f in FIELDS[m["list"]].item_fields if f.path == m["key"]), None)
                text += f": {item.label if item else m['key']}"
            return text
        return base
    return label(path) if path in FIELDS else path


def problem_anchor(path: str) -> str:
    """The id of the input a problem's link should jump to."""
    path = form_path(path)
    m = _ITEM_PATH.match(path)
    if m and m["list"] in FIELDS:
        if m["list"] in LIST_NOUNS:
            name = f"{m['list']}[{m['i']}]" + (f".{m['key']}" if m["key"] else "")
            return field_id(name)
        return field_id(m["list"])
    if path in AGE_FIELDS:
        return field_id(path + "__years")
    return field_id(path)  # an input, or the fieldset of a group


def problem_key(path: str) -> str:
    """The field a problem is shown under: list-of-words items go under the list."""
    m = _ITEM_PATH.match(path)
    if m and m["list"] in FIELDS and m["list"] not in LIST_NOUNS:
        return m["list"]
    return path


def sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


# --------------------------------------------------------------------------- form state
@dataclass
class CaseFormData:
    """What the form shows: the values as text (as typed, or from the stored document)."""

    values: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    # ---------------------------------------------------------------- reading
    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, code: str) -> bool:
        return code in self.multi.get(name, ())

    def list_rows(self, path: str) -> list[dict[str, str]]:
        return self.rows.get(path, [])

    # ---------------------------------------------------------------- building
    @classmethod
    def from_request(cls, form: Any) -> CaseFormData:
        """Read only the format's inputs from a posted form (a MultiDict)."""
        data = cls()
        for path, s in schema.BASE.items():
            if path in ("schema", "reference"):
                continue
            w = widget(path)
            if w == "age":
                for part in ("__years", "__months"):
                    data.values[path + part] = form.get(path + part, "")
            elif w == "checks":
                data.multi[path] = [v for v in form.getlist(path) if v]
            elif w in ("rows", "lines"):
                data.rows[path] = _read_rows(form, path, s)
                if form.get(path + "__none"):
                    data.values[path + "__none"] = "1"
            else:
                data.values[path] = form.get(path, "")
                if path in NULL_CHOICES and form.get(path + "__null"):
                    data.values[path + "__null"] = "1"
        return data

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> CaseFormData:
        """The form's text values for a stored ``panel-case/1`` document."""
        data = cls()
        for path, s in schema.BASE.items():
            if path in ("schema", "reference"):
                continue
            section = schema.get_path(dict(doc), path.rsplit(".", 1)[0]) if "." in path else doc
            present = isinstance(section, Mapping) and path.rsplit(".", 1)[-1] in section
            value = schema.get_path(dict(doc), path)
            w = widget(path)
            if w == "age":
                if isinstance(value, int) and not isinstance(value, bool):
                    data.values[path + "__years"] = str(value // 12)
                    data.values[path + "__months"] = str(value % 12)
            elif w == "checks":
                if isinstance(value, list):
                    data.multi[path] = [str(v) for v in value] or (
                        [NONE_WORD] if is_optional_list(path) else []
                    )
            elif w == "lines":
                data.rows[path] = [{"": str(v)} for v in value] if isinstance(value, list) else []
            elif w == "rows":
                rows = []
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, Mapping):
                            rows.append({k: _text(v) for k, v in item.items()})
                    if not value and path in LIST_NONE:
                        data.values[path + "__none"] = "1"
                if not rows and s.requirement == "R":
                    rows.append({})  # an empty row to start from (dropped if left empty)
                data.rows[path] = rows
            elif w == "bool":
                data.values[path] = YES if value is True else NO if value is False else ""
            else:
                if value is None and present and path in NULL_CHOICES:
                    data.values[path + "__null"] = "1"
                data.values[path] = _text(value)
        return data

    @classmethod
    def blank(cls, *, referring_centre: str | None = None) -> CaseFormData:
        data = cls.from_document({})
        if referring_centre:
            data.values["referring_centre"] = referring_centre
        data.values["urgency"] = "routine"
        return data

    # ---------------------------------------------------------------- row operations
    def apply_row_op(self, op: str) -> str | None:
        """``add:<list>``, ``remove:<list>:<i>``, ``up:<list>:<i>``, ``down:<list>:<i>`` (the
        buttons of the form when JavaScript is off). Returns the anchor to show, or None."""
        parts = op.split(":")
        if len(parts) < 2 or parts[1] not in LIST_NOUNS:
            return None
        verb, path = parts[0], parts[1]
        rows = self.rows.setdefault(path, [])
        try:
            i = int(parts[2]) if len(parts) > 2 else -1
        except ValueError:
            return None
        limit = FIELDS[path].max_items or schema.MAX_LIST_ITEMS
        if verb == "add" and len(rows) < limit:
            rows.append({})
            i = len(rows) - 1
        elif verb == "remove" and 0 <= i < len(rows):
            rows.pop(i)
            i = max(0, i - 1)
        elif verb in ("up", "down") and 0 <= i < len(rows):
            j = i - 1 if verb == "up" else i + 1
            if 0 <= j < len(rows):
                rows[i], rows[j] = rows[j], rows[i]
                i = j
        return field_id(path)

    # ---------------------------------------------------------------- to the document
    def to_document(self) -> tuple[dict[str, Any], list[schema.Problem]]:
        """The ``panel-case/1`` document the form describes, and the problems found while
        reading it (text that is not a number, months over 11 ...). Empty rows are dropped
        (so row numbers in problems match the document); conditional fields that do not
        apply are dropped."""
        doc: dict[str, Any] = {"schema": schema.SCHEMA}
        problems: list[schema.Problem] = []
        for path, s in schema.BASE.items():
            if path in ("schema", "reference"):
                continue
            w = widget(path)
            if w == "age":
                value = _read_age(
                    self.value(path + "__years"), self.value(path + "__months"), path, problems
                )
                if value is not None:
                    schema.set_path(doc, path, value)
            elif w == "checks":
                ticked = list(dict.fromkeys(self.multi.get(path, [])))
                if NONE_WORD in ticked:
                    if len(ticked) > 1:
                        problems.append(
                            schema.Problem(
                                path, "tick either “None” or the items that apply, not both"
                            )
                        )
                        continue
                    schema.set_path(doc, path, [])
                elif ticked:
                    schema.set_path(doc, path, ticked)
            elif w == "lines":
                texts = [_clean_text(r.get("", "")) for r in self.rows.get(path, [])]
                texts = [t for t in texts if t]
                self.rows[path] = [{"": t} for t in texts]
                schema.set_path(doc, path, texts)
            elif w == "rows":
                items = self._read_objects(path, s, problems)
                if items:
                    if self.value(path + "__none"):
                        problems.append(
                            schema.Problem(
                                path, f"untick “{LIST_NONE.get(path, 'None')}” or remove the rows"
                            )
                        )
                    schema.set_path(doc, path, items)
                elif self.value(path + "__none") and path in LIST_NONE:
                    schema.set_path(doc, path, [])
            elif path in NULL_CHOICES and self.value(path + "__null"):
                if self.value(path).strip():
                    problems.append(
                        schema.Problem(
                            path, f"leave the number empty when “{NULL_CHOICES[path]}” is ticked"
                        )
                    )
                else:
                    schema.set_path(doc, path, None)
            else:
                value = _read_scalar(s, self.value(path), path, problems)
                if value is not None:
                    schema.set_path(doc, path, value)
        # Conditional fields that do not apply are not kept, nor are problems with them.
        applicable = schema.applicable_conditionals(doc)
        dropped = [p for p in schema.CONDITIONAL_FIELDS if p not in applicable]
        for p in dropped:
            schema.delete_path(doc, p)
        problems = [
            pr
            for pr in problems
            if not any(pr.field == p or pr.field.startswith(p + "[") for p in dropped)
        ]
        return schema.prune_empty(doc), problems

    def _read_objects(
        self, path: str, s: FieldSpec, problems: list[schema.Problem]
    ) -> list[dict[str, Any]]:
        kept_rows: list[dict[str, str]] = []
        items: list[dict[str, Any]] = []
        for row in self.rows.get(path, []):
            if not any((row.get(f.path) or "").strip() for f in s.item_fields):
                continue
            i = len(items)
            item: dict[str, Any] = {}
            for f in s.item_fields:
                value = _read_scalar(f, row.get(f.path, ""), f"{path}[{i}].{f.path}", problems)
                if value is not None:
                    item[f.path] = value
            kept_rows.append(row)
            items.append(item)
        self.rows[path] = kept_rows
        return items


def _read_rows(form: Any, path: str, s: FieldSpec) -> list[dict[str, str]]:
    prefix = path + "["
    found: dict[int, dict[str, str]] = {}
    keys = {f.path for f in s.item_fields}
    for name in form.keys():
        if not name.startswith(prefix):
            continue
        m = re.fullmatch(r"\[(\d{1,3})\](?:\.([a-z_]+))?", name[len(path) :])
        if not m:
            continue
        key = m.group(2) or ""
        if s.type == "text_list" and key:
            continue
        if s.type == "object_list" and key not in keys:
            continue
        found.setdefault(int(m.group(1)), {})[key] = form.get(name, "")
    return [found[i] for i in sorted(found)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clean_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


_INT = re.compile(r"^[+-]?\d{1,9}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,9}([.,]\d{0,6})?|[.,]\d{1,6})$")


def _read_scalar(s: FieldSpec, raw: str, path: str, problems: list[schema.Problem]) -> Any:
    raw = raw or ""
    if s.type == "text":
        text = _clean_text(raw)
        return text or None
    raw = raw.strip()
    if not raw:
        return None
    if s.type == "int":
        if not _INT.match(raw):
            problems.append(schema.Problem(path, "must be a whole number"))
            return None
        return int(raw)
    if s.type == "number":
        if not _NUMBER.match(raw):
            problems.append(schema.Problem(path, "must be a number"))
            return None
        number = float(raw.replace(",", "."))
        if not math.isfinite(number):  # pragma: no cover - the pattern allows finite numbers only
            problems.append(schema.Problem(path, "must be a number"))
            return None
        return int(number) if number.is_integer() else number
    if s.type == "bool":
        if raw not in (YES, NO):
            problems.append(schema.Problem(path, "must be yes or no"))
            return None
        return raw == YES
    return raw  # enum / code: the schema checks the word


def _read_age(years: str, months: str, path: str, problems: list[schema.Problem]) -> int | None:
    years, months = (years or "").strip(), (months or "").strip()
    if not years and not months:
        return None
    if (
        (years and not years.isdigit())
        or (months and not months.isdigit())
        or len(years + months) > 6
    ):
        problems.append(schema.Problem(path, "enter whole years and months"))
        return None
    y, m = int(years or 0), int(months or 0)
    if m > 11:
        problems.append(
            schema.Problem(path, "months must be 0 to 11 (add whole years to the years box)")
        )
        return None
    total = y * 12 + m
    if total > 480:
        problems.append(schema.Problem(path, "must be at most 40 years"))
        return None
    return total


# --------------------------------------------------------------------------- display helpers
def errors_by_field(problems: Iterable[schema.Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        message = p.message
        if p.field in AGE_FIELDS:
            message = message.replace("must be at most 480", "must be at most 40 years")
        out.setdefault(problem_key(p.field), []).append(sentence(message))
    return out


def highlight(text: str, spans: Iterable[tuple[int, int, str, str]]) -> Markup:
    """``text`` escaped, with each ``(start, end, kind, severity)`` span wrapped in ``<mark>``
    and labelled with its kind. Every piece of user text goes through :func:`escape`."""
    out: list[str] = []
    pos = 0
    for start, end, kind, severity in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(escape(text[pos:start]))
        cls = "idf idf-hard" if severity == "hard" else "idf idf-soft"
        out.append(
            Markup('<mark class="{}">{}<span class="idf-kind">{}</span></mark>').format(
                cls, text[start:end], kind_label(kind)
            )
        )
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


@dataclass
class GuardNote:
    """Identifier findings in one field, ready to show under it."""

    field: str
    severity: str
    marked: Markup
    messages: list[str]

    @property
    def label(self) -> str:
        return problem_label(self.field)

    @property
    def anchor(self) -> str:
        return problem_anchor(self.field)


def guard_notes(findings: Iterable[Any], texts: Mapping[str, str]) -> dict[str, GuardNote]:
    """Group guard findings (``.field .kind .start .end .severity .message``) by field."""
    by_field: dict[str, list[Any]] = {}
    for f in findings:
        by_field.setdefault(f.field, []).append(f)
    notes: dict[str, GuardNote] = {}
    for path, fs in by_field.items():
        text = texts.get(path)
        if text is None:
            continue
        severity = "hard" if any(f.severity == "hard" for f in fs) else "soft"
        messages = list(dict.fromkeys(sentence(f.message) for f in fs))
        notes[path] = GuardNote(
            path,
            severity,
            highlight(text, [(f.start, f.end, f.kind, f.severity) for f in fs]),
            messages,
        )
    return notes


@dataclass
class SectionStatus:
    section: Section
    missing: int
    errors: int

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors


def section_statuses(
    missing: Iterable[schema.Problem], errors: Mapping[str, Any], notes: Mapping[str, Any]
) -> list[SectionStatus]:
    counts = {s.key: [0, 0] for s in SECTIONS}
    for p in missing:
        s = section_for(p.field)
        if s is not None:
            counts[s.key][0] += 1
    for path in list(errors) + [n for n, note in notes.items() if note.severity == "hard"]:
        s = section_for(path)
        if s is not None:
            counts[s.key][1] += 1
    return [SectionStatus(s, *counts[s.key]) for s in SECTIONS]


@dataclass
class MissingItem:
    field: str
    label: str
    anchor: str
    note: str


def group_missing(problems: Iterable[schema.Problem]) -> list[tuple[Section, list[MissingItem]]]:
    """What is still missing, by section in the form's order, each with a short reason where
    "required" is not the whole story ("because mIBG now is avid")."""
    groups: dict[str, list[MissingItem]] = {}
    for p in problems:
        section = section_for(p.field)
        if section is None:
            continue
        message = p.message
        if "because" in message:
            note = message.split("because", 1)[1].strip()
        elif "(" in message:
            note = message.split("(", 1)[1].rstrip(")")
        elif message.startswith("needs"):
            note = message
        else:
            note = ""
        groups.setdefault(section.key, []).append(
            MissingItem(p.field, problem_label(p.field), problem_anchor(p.field), note)
        )
    return [(s, groups[s.key]) for s in SECTIONS if s.key in groups]


#: Column classes for fields that need more room than an equal share of their row.
COLS = {
    "panel": "col-md-6 col-lg-5",
    "referring_centre": "col-md-6 col-lg-4",
    "urgency": "col-md-4 col-lg-3",
}


def section_for(path: str) -> Section | None:
    m = _ITEM_PATH.match(path)
    base = m["list"] if m else path
    return SECTION_OF.get(base)

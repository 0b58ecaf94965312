"""The referral form: its layout, and the mapping between posted form fields and a
``panel-case/2`` document (a core every case has, plus the disease modules of its tumour).

The form is not a set of hand-written WTForms classes: it is built from the format's field
tables (:data:`panel.caseformat.v2.FIELDS_V2`: the core and every module) and value sets, so it
cannot drift from the format. This module only adds what a field table cannot say: which
section a field sits in (a module's fields sit in that module's sections), which fields share a
row, a human help text where the format's note is written for developers, and units. CSRF is
enforced globally (``CSRFProtect``), the templates send ``csrf_token()``.

Names of the form inputs are the format's dotted paths (only these are ever read from a
request, so unknown keys such as ``status`` or ``created_by`` are ignored):

* a scalar field posts under its path: ``patient.sex``, ``tumour.morphology``,
  ``modules.neuroblastoma.biology.mycn``;
* a yes/no field posts ``yes`` / ``no`` (empty = not known, the key is left out);
* an age posts ``<path>__years`` and ``<path>__months`` and is stored in months;
* a number that may be ``null`` (bone marrow not done, no travel limit) has a ``<path>__null``
  check box;
* a list of value-set words posts each ticked word under its path; optional lists also offer
  ``__none__`` ("none": stored as ``[]``; nothing ticked means not known, the key is absent);
* lists of objects post ``<path>[<i>].<key>`` (a list of words inside a row, such as a treatment
  line's toxicities, posts each ticked word under ``<path>[<i>].<key>``); the parents' questions
  post ``family.questions[<i>]``. Rows are read in index order; wholly empty rows are dropped.
  Optional lists of objects have a ``<path>__none`` check box (``[]``).

The tumour type decides which modules apply (:func:`panel.caseformat.v2.modules_for`): the
fields of the other modules are neither shown nor read, whatever was posted for them.
Conditional fields that do not apply (e.g. a SIOPEN score when mIBG is not avid, a FOXO1 fusion
for a Ewing sarcoma) are dropped too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from panel.caseformat import schema, v2
from panel.caseformat.fields import FieldSpec
from panel.caseformat.tumours import (
    TOPOGRAPHY_RE,
    get_tumour_type,
    iccc_for,
    iccc_group_name,
    tumour_types,
)
from panel.privacy import KIND_LABELS, kind_label  # noqa: F401  (re-exported for the case pages)

NONE_WORD = "__none__"
YES, NO = "yes", "no"

#: Every field of panel-case/2 by path (core, then each module), and its value sets.
FIELDS: Mapping[str, FieldSpec] = v2.FIELDS_V2
VALUE_SETS = v2.V2_VALUE_SETS
#: The fields the form reads and writes (the system's own keys are never taken from a form).
FORM_FIELDS: dict[str, FieldSpec] = {
    p: s for p, s in FIELDS.items() if p not in ("schema", *v2.SYSTEM_KEYS)
}

NB = v2.MODULES["neuroblastoma"].prefix
SA = v2.MODULES["sarcoma"].prefix


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Section:
    """One card of the form (and one entry of the section navigation). A module's sections
    carry its name and are shown only when the module applies to the tumour."""

    key: str
    title: str
    icon: str
    rows: tuple[tuple[str, ...], ...]  # field paths; a row starting with "#" is a sub-heading
    intro: str = ""
    module: str | None = None

    @property
    def anchor(self) -> str:
        return f"s-{self.key}"

    @property
    def paths(self) -> list[str]:
        return [p for row in self.rows for p in row if not p.startswith("#")]


SECTIONS: tuple[Section, ...] = (
    Section(
        "tumour",
        "Tumour type",
        "search",
        (("tumour.morphology",), ("tumour.topography", "tumour.description")),
        intro="Choose the tumour type first: the form then shows the sections for that tumour.",
    ),
    Section(
        "referral",
        "Panel & question",
        "send",
        (
            ("panel", "referring_centre", "urgency"),
            ("clinical_question",),
            ("#Local MDT",),
            ("local_mdt.discussed", "local_mdt.months_ago"),
            ("local_mdt.outcome",),
        ),
        intro="Which panel should discuss the case, what you ask it, and what your MDT said.",
    ),
    Section(
        "patient",
        "Patient",
        "person",
        (("patient.age_at_diagnosis_months", "patient.age_now_months", "patient.sex"),),
        intro="Ages only: never a name, date of birth or hospital number.",
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
        ),
    ),
    Section(
        "molecular",
        "Molecular findings",
        "diagram-2",
        (("molecular.profiling_at_relapse",), ("molecular.alterations",)),
        intro="Every alteration found, whatever the tumour: trials increasingly enrol by "
        "molecular target.",
    ),
    Section(
        "treatment",
        "Treatment history",
        "capsule",
        (
            ("treatment.lines",),
            ("treatment.prior_hdc", "treatment.prior_alk_inhibitor"),
            ("treatment.prior_asct_count", "treatment.stored_stem_cells_cd34_per_kg"),
        ),
        intro="Every line of treatment so far, in order. Times are months after diagnosis.",
    ),
    Section(
        "fitness",
        "Fitness & organ function",
        "heart-pulse",
        (
            ("fitness.performance_scale", "fitness.performance_score"),
            ("fitness.life_expectancy_months",),
            ("#Organ function",),
            ("organ_function.adequate",),
            (
                "organ_function.gfr_ml_min_173m2",
                "organ_function.bilirubin_x_uln",
                "organ_function.alt_x_uln",
            ),
            (
                "organ_function.shortening_fraction_pct",
                "organ_function.anc_x10e9_l",
                "organ_function.platelets_x10e9_l",
            ),
        ),
    ),
    Section(
        "nb-diagnosis",
        "Neuroblastoma: diagnosis",
        "clipboard2-pulse",
        (
            (NB + "diagnosis.inrg_stage", NB + "diagnosis.inss_stage", NB + "diagnosis.risk_group"),
            (NB + "diagnosis.histology", NB + "diagnosis.primary_site"),
            (NB + "diagnosis.mibg", NB + "diagnosis.siopen_score"),
        ),
        module="neuroblastoma",
    ),
    Section(
        "nb-disease",
        "Neuroblastoma: disease & biology",
        "radioactive",
        (
            ("#Extent of disease now",),
            (
                NB + "disease.mibg",
                NB + "disease.siopen_score",
                NB + "disease.fdg_pet",
                NB + "disease.curie_score",
            ),
            ("#Tumour biology",),
            (NB + "biology.mycn",),
            (NB + "biology.alk.status", NB + "biology.alk.copy_number"),
            (NB + "biology.alk.variants",),
            (
                NB + "biology.segmental.del_1p36",
                NB + "biology.segmental.del_11q",
                NB + "biology.segmental.gain_17q",
            ),
        ),
        module="neuroblastoma",
    ),
    Section(
        "nb-response",
        "Neuroblastoma: treatment & response",
        "graph-up",
        (
            (NB + "treatment.prior_mibg_therapy", NB + "treatment.prior_anti_gd2"),
            ("#Response at the end of induction (INRC 2017)",),
            (NB + "response.end_induction.overall", NB + "response.end_induction.bone_marrow"),
            (NB + "response.end_induction.mibg", NB + "response.end_induction.siopen_score"),
            ("#Response now",),
            (NB + "response.current.overall",),
            ("#Studies",),
            (NB + "epidemiology_study_opt_out",),
        ),
        intro="Response is optional, but it helps the panel.",
        module="neuroblastoma",
    ),
    Section(
        "sarcoma",
        "Sarcoma",
        "bandaid",
        (
            (SA + "subtype", SA + "risk_group"),
            (SA + "foxo1_fusion", SA + "ewing_fusion"),
            (SA + "irs_group", SA + "primary_site_prognosis"),
            (SA + "metastatic_at_diagnosis",),
            (SA + "metastatic_sites_at_diagnosis",),
        ),
        intro="Rhabdomyosarcoma and Ewing sarcoma: what the sarcoma protocols stratify by.",
        module="sarcoma",
    ),
    Section(
        "family",
        "Family",
        "people",
        (
            ("family.aware_of_referral", "family.treatment_abroad_interest"),
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
MODULE_LABELS: dict[str, str] = {name: m.label for name, m in v2.MODULES.items()}

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
    NB + "biology.alk.copy_number": "copies",
    "local_mdt.months_ago": "months ago",
    "organ_function.gfr_ml_min_173m2": "ml/min/1.73 m²",
    "organ_function.bilirubin_x_uln": "× ULN",
    "organ_function.alt_x_uln": "× ULN",
    "organ_function.shortening_fraction_pct": "%",
    "organ_function.anc_x10e9_l": "×10⁹/l",
    "organ_function.platelets_x10e9_l": "×10⁹/l",
}
#: Shorter labels where the format's label carries the unit the form shows beside the input.
LABELS = {
    "tumour.morphology": "Tumour type",
    "tumour.topography": "Topography (ICD-O-3 site code)",
    "patient.age_at_diagnosis_months": "Age at diagnosis",
    "patient.age_now_months": "Age now",
    "disease.bone_marrow_pct": "Bone marrow infiltration",
    "fitness.life_expectancy_months": "Life expectancy",
    "family.max_travel_km": "Furthest the family can travel",
    "treatment.stored_stem_cells_cd34_per_kg": "Stored stem cells (CD34+)",
    "organ_function.gfr_ml_min_173m2": "GFR",
    "organ_function.bilirubin_x_uln": "Bilirubin",
    "organ_function.alt_x_uln": "ALT",
    "organ_function.shortening_fraction_pct": "Shortening fraction",
    "organ_function.anc_x10e9_l": "Neutrophils",
    "organ_function.platelets_x10e9_l": "Platelets",
    "local_mdt.months_ago": "When",
    NB + "response.end_induction.overall": "Overall response",
    NB + "response.end_induction.mibg": "mIBG",
    NB + "response.end_induction.siopen_score": "SIOPEN score",
    NB + "response.end_induction.bone_marrow": "Bone marrow response",
    NB + "response.current.overall": "Current overall response",
    "status.episode": "Episode",
}
#: Help for people, where the format's note is written for developers.
HELP = {
    "tumour.morphology": "Type a name, a synonym or an ICD-O-3 code (e.g. rhabdomyosarcoma, "
    "Ewing, 9500).",
    "tumour.topography": "Optional, e.g. C40.2 (long bones of the leg). ICCC-3 needs it for a "
    "few tumours, such as Ewing sarcoma.",
    "tumour.description": "Only when the list has no exact match (e.g. a newer WHO entity).",
    "panel": "The national panel (NAP) or your regional ECMC panel for early-phase trials.",
    "referring_centre": "Trial distances are measured from this centre.",
    "clinical_question": "What the referring team asks the panel. No names, dates or hospital numbers.",
    "patient.age_now_months": "Not less than the age at diagnosis.",
    "status.episode": "1 for the first relapse or progression.",
    "disease.measurable": "A lesion ≥ 10 mm, or a node ≥ 15 mm short axis.",
    "disease.bone_marrow_pct": "Tick “Not done” if the marrow was not examined.",
    "family.max_travel_km": "Compared with the distance to each trial site.",
    "family.questions": "The parents' own questions, in their words (at most 20).",
    NB + "biology.alk.variants": "One row per variant.",
    "molecular.alterations": "One row per alteration: gene, type and what was found. MYCN and "
    "ALK of a neuroblastoma are entered in its own section and counted here automatically.",
    "treatment.lines": "Phase, regimen, cycles, best response, when (months after diagnosis) "
    "and the toxicities that matter for trials.",
    "fitness.performance_score": "Lansky under 16 years, Karnofsky from 16.",
    "fitness.performance_scale": "",
    "organ_function.adequate": "Adequate for early-phase trials overall.",
    "local_mdt.months_ago": "How many months before this referral (never a date).",
    "local_mdt.outcome": "What the local MDT concluded. No names or dates.",
    "family.treatment_abroad_interest": "",
    NB + "epidemiology_study_opt_out": "Families are included unless they opt out.",
    "family.communication.language": "If it is not English, the coordinator is reminded to "
    "arrange a translated copy, and the letter says in that language that one can be asked for.",
    "family.communication.interpreter": "For the talk with the family about the panel's advice.",
    "family.communication.large_print": "A large-print copy of the family letter is made too.",
    "family.communication.easy_read": "An easy-read copy of the family letter is made too.",
    "family.communication.other_format": "Tick each format the family needs.",
    "family.communication.notes": "Anything else that helps. No names or hospital numbers.",
}
#: Free text entered on one line (a name, not a paragraph), and textareas shorter than 4 rows.
SHORT_TEXT = frozenset({"family.communication.language_other", "tumour.description"})
TEXT_ROWS = {"family.communication.notes": 2, "local_mdt.outcome": 2}
LIST_NOUNS = {
    "treatment.lines": ("line", "Add a treatment line"),
    NB + "biology.alk.variants": ("variant", "Add a variant"),
    "molecular.alterations": ("alteration", "Add an alteration"),
    "family.questions": ("question", "Add a question"),
}
#: For optional lists of objects: the label of the "none" check box.
LIST_NONE = {"molecular.alterations": "No alterations found"}
#: Item labels shorter than the format's (the row shows its own number).
ITEM_LABELS = {
    "gene": "Gene",
    "partner": "Fusion partner",
    "protein_change": "Protein change (HGVS)",
    "vaf_pct": "VAF (%)",
    "origin": "Origin",
    "at_relapse": "At relapse",
    "description": "As written in the report",
    "regimen_other": "Regimen in words",
    "start_month": "Start (month)",
    "end_month": "End (month)",
    "toxicities": "Toxicities that matter for trials",
}
#: Gene symbols offered while typing a gene (HGNC symbols; any other symbol may be typed).
GENE_SUGGESTIONS = (
    "ALK", "BRAF", "CDK4", "EGFR", "ERBB2", "EWSR1", "FGFR1", "FGFR2", "FGFR3", "FOXO1",
    "H3-3A", "IDH1", "KIT", "KRAS", "MDM2", "MET", "MYC", "MYCN", "NF1", "NRAS", "NTRK1",
    "NTRK2", "NTRK3", "PDGFRA", "PIK3CA", "PTEN", "RET", "ROS1", "SMARCB1", "TP53",
)  # fmt: skip


def _form_value(value: Any) -> str:
    return YES if value is True else NO if value is False else str(value)


_ALL_CONDITIONS = (*v2.CORE_CONDITIONS, *(c for m in v2.MODULES.values() for c in m.conditions))
# When each conditional field applies: the field that decides, and the (form) values that make it
# apply; taken from the format's own condition tables (v2.applicable_conditionals_v2 decides on
# save; the form's JavaScript mirrors these).
CONDITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    c.field: (c.when, tuple(_form_value(v) for v in c.values)) for c in _ALL_CONDITIONS
}
CONDITION_WHY: dict[str, str] = {c.field: c.why for c in _ALL_CONDITIONS}


# --------------------------------------------------------------------------- helpers
def spec(path: str) -> FieldSpec:
    return FIELDS[path]


def module_of(path: str) -> str | None:
    """The module a field belongs to (``None`` for the core)."""
    if path.startswith("modules."):
        return path.split(".", 2)[1]
    return None


def label(path: str) -> str:
    return LABELS.get(path) or FIELDS[path].label


def item_label(item: FieldSpec) -> str:
    return ITEM_LABELS.get(item.path) or item.label


def help_text(path: str) -> str:
    if path in HELP:
        return HELP[path]
    if path in CONDITION_WHY:
        return f"Only when {CONDITION_WHY[path]}."
    note = FIELDS[path].note
    return note.replace(">=", "≥").replace("<=", "≤")


def field_id(name: str) -> str:
    """The HTML id of the input posting ``name``."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def widget(path: str) -> str:
    """How ``path`` is entered: tumour, code_text, age, select, int_select, number, bool,
    checks, text, rows, lines."""
    s = FIELDS[path]
    if path == "tumour.morphology":
        return "tumour"
    if path in AGE_FIELDS:
        return "age"
    if s.type == "code" and getattr(s, "pattern", None):
        return "code_text"
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


def value_set_choices(name: str | None) -> list[tuple[str, str]]:
    if not name:
        return []
    return [(c.code, c.label) for c in VALUE_SETS[name].choices]


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
    return value_set_choices(s.value_set if s else None)


def item_choices(item: FieldSpec) -> list[tuple[str, str]]:
    return value_set_choices(item.value_set)


def item_col(item: FieldSpec) -> str:
    """The column classes of one field of a row (a list of objects)."""
    if item.type == "enum_list":
        return "col-12"
    if item.path in ("description", "regimen_other"):
        return "col-md-6"
    if item.type == "enum":
        return "col-sm-6 col-lg-3"
    return (
        "col-6 col-sm-4 col-lg-2" if item.type in ("int", "number", "bool") else "col-sm-6 col-lg-3"
    )


def is_optional_list(path: str) -> bool:
    s = FIELDS[path]
    return s.type == "enum_list" and s.requirement == "O"


def required(path: str) -> bool:
    return FIELDS[path].requirement == "R"


def conditional(path: str) -> tuple[str, tuple[str, ...]] | None:
    return CONDITIONS.get(path)


# --------------------------------------------------------------------------- tumour types
def _iccc_text(group: Any) -> str:
    return f"{group.subgroup} {group.subgroup_name} (group {group.group}: {group.group_name})"


def tumour_label(code: str) -> str:
    tt = get_tumour_type(code)
    return f"{tt.name} ({code})" if tt else code


def modules_of_tumour(code: str | None, topography: str | None = None) -> list[str]:
    """The modules that apply to a tumour type (the names, in the format's order)."""
    return [
        m.name for m in v2.modules_for({"tumour": {"morphology": code, "topography": topography}})
    ]


def tumour_item(
    code: str, topography: str | None = None, *, matched: str = ""
) -> dict[str, Any] | None:
    """What the picker shows and does for one tumour type: its label, its derived ICCC-3 group
    (or why it is unknown) and the modules it opens."""
    tt = get_tumour_type(code)
    if tt is None:
        return None
    topo = topography if isinstance(topography, str) and TOPOGRAPHY_RE.match(topography) else None
    group = iccc_for(code, topo)
    if group is not None:
        iccc = _iccc_text(group)
    elif tt.site_dependent:
        iccc = "Depends on the primary site: enter the topography code."
    else:
        iccc = "Not placed in ICCC-3."
    mods = modules_of_tumour(code, topo)
    return {
        "code": code,
        "name": tt.name,
        "label": tumour_label(code),
        "matched": matched if matched not in ("", tt.name, code) else "",
        "iccc": iccc,
        "modules": mods,
        "module_labels": [MODULE_LABELS[m] for m in mods],
    }


def tumour_groups() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every tumour type for the picker's list without JavaScript, grouped by ICCC-3 main
    group (a site-dependent code under the group of its first site rule)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for code, tt in tumour_types().items():
        subgroup = tt.iccc_rules[0][1] if tt.iccc_rules else ""
        main = iccc_for(code, None)
        group = main.group if main else _main_of(subgroup)
        item = tumour_item(code)
        if item is not None:
            groups.setdefault(group, []).append(item)
    order = list(_GROUP_ORDER)
    out = []
    for group in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        items = sorted(groups[group], key=lambda i: i["name"])
        out.append((f"{group} {iccc_group_name(group)}" if group else "Other", items))
    return out


_GROUP_ORDER = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def _main_of(subgroup: str) -> str:
    return subgroup.rstrip("abcdefghijklmnopqrstuvwxyz")


_ITEM_PATH = re.compile(r"^(?P<list>[a-z0-9_.]+)\[(?P<i>\d+)\](?:\.(?P<key>[a-z0-9_]+))?")


def problem_label(path: str) -> str:
    """A person's name for a problem's field: ``treatment.lines[1].cycles`` -> "Treatment
    lines (in order), line 2: Cycles"; a module's field is prefixed by the module."""
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
    if path in FIELDS:
        return label(path)
    return v2.label_v2(path)


def problem_anchor(path: str) -> str:
    """The id of the input a problem's link should jump to."""
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
    """The field a problem is shown under: list-of-words items go under the list (inside a row
    too: ``treatment.lines[0].toxicities[1]`` goes under ``treatment.lines[0].toxicities``)."""
    m = re.match(r"^(.*\]\.[a-z0-9_]+)\[\d+\]$", path)
    if m:
        return m.group(1)
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


def modules_in(doc: Mapping[str, Any]) -> set[str]:
    """The names of the modules that apply to ``doc``'s tumour."""
    return {m.name for m in v2.modules_for(doc)}


def shown(section: Section, modules: Iterable[str]) -> bool:
    """Whether ``section`` is shown for a tumour whose modules are ``modules``."""
    return section.module is None or section.module in set(modules)


# --------------------------------------------------------------------------- form state
RowValue = str | list[str]


@dataclass
class CaseFormData:
    """What the form shows: the values as text (as typed, or from the stored document)."""

    values: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[dict[str, RowValue]]] = field(default_factory=dict)

    # ---------------------------------------------------------------- reading
    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, code: str) -> bool:
        return code in self.multi.get(name, ())

    def list_rows(self, path: str) -> list[dict[str, RowValue]]:
        return self.rows.get(path, [])

    def copy(self) -> CaseFormData:
        return CaseFormData(
            dict(self.values),
            {k: list(v) for k, v in self.multi.items()},
            {k: [dict(r) for r in v] for k, v in self.rows.items()},
        )

    # ---------------------------------------------------------------- building
    @classmethod
    def from_request(cls, form: Any) -> CaseFormData:
        """Read only the format's inputs from a posted form (a MultiDict)."""
        data = cls()
        for path, s in FORM_FIELDS.items():
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
        """The form's text values for a stored ``panel-case/2`` document."""
        data = cls()
        for path, s in FORM_FIELDS.items():
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
                rows: list[dict[str, RowValue]] = []
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, Mapping):
                            rows.append(
                                {
                                    k: [str(x) for x in v] if isinstance(v, list) else _text(v)
                                    for k, v in item.items()
                                }
                            )
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
        buttons of the form when JavaScript is off). Returns the anchor to show, or None (also
        for ``update``: the "Update form" button after a new tumour type, a re-render only)."""
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
        """The ``panel-case/2`` document the form describes, and the problems found while
        reading it (text that is not a number, months over 11 ...). The core is read first;
        then the fields of the modules its tumour type opens (never another module's). Empty
        rows are dropped (so row numbers in problems match the document); conditional fields
        that do not apply are dropped."""
        doc: dict[str, Any] = {"schema": v2.SCHEMA_V2}
        problems: list[schema.Problem] = []
        for path, s in FORM_FIELDS.items():
            if module_of(path) is None:
                self._read_field(doc, path, s, problems)
        modules = modules_in(doc)
        for path, s in FORM_FIELDS.items():
            if module_of(path) in modules:
                self._read_field(doc, path, s, problems)
        # Conditional fields that do not apply are not kept, nor are problems with them.
        applicable = v2.applicable_conditionals_v2(doc)
        dropped = [p for p in CONDITIONS if p not in applicable]
        for p in dropped:
            schema.delete_path(doc, p)
        problems = [
            pr
            for pr in problems
            if not any(pr.field == p or pr.field.startswith(p + "[") for p in dropped)
        ]
        return schema.prune_empty(doc), problems

    def _read_field(
        self, doc: dict[str, Any], path: str, s: FieldSpec, problems: list[schema.Problem]
    ) -> None:
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
                        schema.Problem(path, "tick either “None” or the items that apply, not both")
                    )
                    return
                schema.set_path(doc, path, [])
            elif ticked:
                schema.set_path(doc, path, ticked)
        elif w == "lines":
            texts = [_clean_text(str(r.get("", ""))) for r in self.rows.get(path, [])]
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

    def _read_objects(
        self, path: str, s: FieldSpec, problems: list[schema.Problem]
    ) -> list[dict[str, Any]]:
        kept_rows: list[dict[str, RowValue]] = []
        items: list[dict[str, Any]] = []
        for row in self.rows.get(path, []):
            if not any(_filled(row.get(f.path)) for f in s.item_fields):
                continue
            i = len(items)
            item: dict[str, Any] = {}
            for f in s.item_fields:
                raw = row.get(f.path, "")
                if f.type == "enum_list":
                    words = [w for w in (raw if isinstance(raw, list) else [raw]) if w]
                    if words:
                        item[f.path] = list(dict.fromkeys(words))
                    continue
                value = _read_scalar(
                    f, raw if isinstance(raw, str) else "", f"{path}[{i}].{f.path}", problems
                )
                if value is not None:
                    item[f.path] = value
            kept_rows.append(row)
            items.append(item)
        self.rows[path] = kept_rows
        return items


def _filled(value: Any) -> bool:
    if isinstance(value, list):
        return any(v for v in value)
    return bool((value or "").strip())


def _read_rows(form: Any, path: str, s: FieldSpec) -> list[dict[str, RowValue]]:
    prefix = path + "["
    found: dict[int, dict[str, RowValue]] = {}
    items = {f.path: f for f in s.item_fields}
    for name in form.keys():
        if not name.startswith(prefix):
            continue
        m = re.fullmatch(r"\[(\d{1,3})\](?:\.([a-z0-9_]+))?", name[len(path) :])
        if not m:
            continue
        key = m.group(2) or ""
        if s.type == "text_list" and key:
            continue
        if s.type == "object_list" and key not in items:
            continue
        row = found.setdefault(int(m.group(1)), {})
        if key and items[key].type == "enum_list":
            row[key] = [v for v in form.getlist(name) if v]
        else:
            row[key] = form.get(name, "")
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
    if s.type == "code" and getattr(s, "pattern", None):
        return raw.upper()  # an ICD-O-3 site code: c40.2 is C40.2
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
    """Per section (every one: the template hides the sections of modules that do not apply),
    how many required fields are missing and how many fields must be corrected."""
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
    "tumour.topography": "col-md-5 col-lg-4",
    "tumour.description": "col-md-7 col-lg-8",
    "local_mdt.discussed": "col-md-5 col-lg-4",
    "local_mdt.months_ago": "col-md-5 col-lg-4",
    "panel": "col-md-6 col-lg-5",
    "referring_centre": "col-md-6 col-lg-4",
    "urgency": "col-md-4 col-lg-3",
}


def section_for(path: str) -> Section | None:
    m = _ITEM_PATH.match(path)
    base = m["list"] if m else path
    return SECTION_OF.get(base)

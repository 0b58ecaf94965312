"""The ``panel-case/1`` fields, their value sets and the rule operators that apply to them.

This module is the single source of truth for:

* the **value sets** of ``case-format.md`` (every enumerated word, in the order the format
  lists it, with a human label), reused by the case form for its choices;
* the **field paths** of a case (dotted, e.g. ``biology.alk.status``), their type, range,
  requirement (R/C/O) and label, reused by the case form and by the trial editor's field picker;
* which fields a trial **rule** may name, and which **operators** make sense for each.

It is plain data and plain Python: no Flask, no I/O.

Field types
-----------
``int``, ``number``
    A JSON number (``bool`` is not a number). ``int`` fields are whole numbers in the format, but
    the matcher compares any finite number.
``bool``
    ``true`` / ``false``.
``enum``
    One word of a value set (``value_set`` names it in :data:`VALUE_SETS`).
``enum_list``
    A list of words of a value set (``[]`` means *none*).
``text``, ``text_list``
    Free text / a list of free text. Free text is never usable in rules, except the short codes
    projected out of lists of objects (below).
``object_list``
    A list of objects whose keys are described by ``item_fields`` (e.g. ALK variants). Rules may
    only ask whether such a list ``exists`` (is non-empty).
``code``
    A code configured elsewhere (``source`` says where: ``centres.json`` or ``panels.json``).

List-of-object projections
--------------------------
A path such as ``biology.alk.variants[].protein_change`` is the list of the ``protein_change``
values of every variant; it is typed ``text_list`` / ``enum_list`` and takes the list operators
(``contains_any``, ``contains_all``, ``contains_none``, ``exists``). Only text and enum keys are
projected (``vaf_pct`` and ``cycles`` are not: "any variant with VAF > x" is not expressible in the
rule language, which has no per-element quantifier). An element whose key is absent, ``null`` or an
unknown word counts as an *unknown element*. The projection of an absent list is unknown; the
projection of an empty list is the empty list (known: *none*).

Unknown
-------
A value that is absent, ``null`` or one of :data:`UNKNOWN_WORDS` is *unknown* to the matcher
(``trial-rules.md``). Those words stay in the value sets (the case form offers them) but a rule
may not compare with them: a condition on an unknown value is always unknown, so ``eq "unknown"``
could never be true (use ``exists: false`` to ask for missing information instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

__all__ = [
    "UNKNOWN_WORDS",
    "FIELD_TYPES",
    "OPERATORS",
    "OPERATORS_BY_TYPE",
    "LIST_TYPES",
    "NUMERIC_TYPES",
    "Choice",
    "ValueSet",
    "FieldSpec",
    "OperatorSpec",
    "VALUE_SETS",
    "TRIAL_VALUE_SETS",
    "FIELDS",
    "RULE_FIELDS",
    "get_field",
    "is_rule_field",
    "operators_for",
    "value_label",
    "value_set_choices",
    "describe_fields",
    "describe_operators",
    "describe_value_sets",
]

FieldType = Literal[
    "int", "number", "bool", "enum", "enum_list", "text", "text_list", "object_list", "code"
]
Requirement = Literal["R", "C", "O", "-"]

#: Words that mean *unknown* to the matcher, wherever they appear.
UNKNOWN_WORDS: Final[frozenset[str]] = frozenset({"unknown", "not_tested", "not_done"})

FIELD_TYPES: Final[tuple[str, ...]] = (
    "int",
    "number",
    "bool",
    "enum",
    "enum_list",
    "text",
    "text_list",
    "object_list",
    "code",
)
NUMERIC_TYPES: Final[frozenset[str]] = frozenset({"int", "number"})
LIST_TYPES: Final[frozenset[str]] = frozenset({"enum_list", "text_list", "object_list"})


# --------------------------------------------------------------------------------------------
# Value sets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """One word of a value set and the label a person reads."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class ValueSet:
    """An ordered value set (the order of ``case-format.md``)."""

    name: str
    label: str
    choices: tuple[Choice, ...]
    #: Where the set comes from, when it is not the format's own words (e.g. a census).
    note: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        """All codes, including the words that mean unknown."""
        return tuple(c.code for c in self.choices)

    @property
    def known_codes(self) -> frozenset[str]:
        """The codes a rule may compare with (the set minus :data:`UNKNOWN_WORDS`)."""
        return frozenset(c.code for c in self.choices if c.code not in UNKNOWN_WORDS)

    @property
    def unknown_codes(self) -> frozenset[str]:
        """The codes of this set that the matcher reads as unknown."""
        return frozenset(c.code for c in self.choices if c.code in UNKNOWN_WORDS)

    def label_of(self, code: str) -> str:
        """The label of ``code``; the code itself when it is not in the set."""
        for c in self.choices:
            if c.code == code:
                return c.label
        return code

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and any(c.code == code for c in self.choices)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description: ``{"name", "label", "choices": [{"code", "label", "unknown"}]}``."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "choices": [
                {"code": c.code, "label": c.label, "unknown": c.code in UNKNOWN_WORDS}
                for c in self.choices
            ],
        }
        if self.note:
            out["note"] = self.note
        return out


def _vs(name: str, label: str, *pairs: tuple[str, str], note: str = "") -> ValueSet:
    codes = [p[0] for p in pairs]
    if len(set(codes)) != len(codes):  # pragma: no cover - guards the table below
        raise ValueError(f"duplicate code in value set {name}")
    return ValueSet(name, label, tuple(Choice(c, lbl) for c, lbl in pairs), note)


#: Where the list of languages comes from (panel/data/translations.json repeats it, with the
#: figures). Checked on 6 December 2026.
LANGUAGE_SOURCE: Final[str] = (
    "The most common main languages other than English in the Census 2021 of England and Wales "
    "(ONS, table TS024 'Main language (detailed)', Census Day 21 March 2021; ONS bulletin "
    "'Language, England and Wales: Census 2021', 29 November 2022: Polish 611,845, Romanian "
    "471,954, Panjabi about 291,000, Urdu about 270,000, Portuguese 224,719, Spanish 215,062, "
    "Italian 160,010, French 120,259, Lithuanian 119,656, Turkish 112,971, Bulgarian 111,431), "
    "with the languages of the 2011 top twenty whose 2021 figures were not confirmed here "
    "(Arabic, Bengali, Gujarati, Tamil, Chinese, Somali: CoDE, 'What languages are spoken in "
    "England and Wales?', 2013, from the 2011 Census). Scotland's 2011 Census (languages used "
    "at home: Polish, Urdu, Punjabi, Chinese, French) adds none; its 2022 figures were not "
    "confirmed. Checked 6 December 2026."
)

_UNKNOWN = ("unknown", "Unknown")
_NOT_TESTED = ("not_tested", "Not tested")
_NOT_DONE = ("not_done", "Not done")

_VALUE_SET_LIST: tuple[ValueSet, ...] = (
    _vs("urgency", "Urgency", ("routine", "Routine"), ("urgent", "Urgent")),
    _vs(
        "sex",
        "Sex",
        ("female", "Female"),
        ("male", "Male"),
        ("indeterminate", "Indeterminate"),
        ("not_known", "Not known"),
    ),
    _vs(
        "inrg_stage",
        "INRG stage",
        ("L1", "L1: localised, no image-defined risk factors"),
        ("L2", "L2: localised, with image-defined risk factors"),
        ("M", "M: distant metastatic disease"),
        ("MS", "MS: metastatic, under 18 months, skin/liver/marrow only"),
        _UNKNOWN,
    ),
    _vs(
        "inss_stage",
        "INSS stage",
        ("1", "Stage 1"),
        ("2A", "Stage 2A"),
        ("2B", "Stage 2B"),
        ("3", "Stage 3"),
        ("4", "Stage 4"),
        ("4S", "Stage 4S"),
        _UNKNOWN,
    ),
    _vs(
        "risk_group",
        "Risk group",
        ("very_low", "Very low risk"),
        ("low", "Low risk"),
        ("intermediate", "Intermediate risk"),
        ("high", "High risk"),
        _UNKNOWN,
    ),
    _vs(
        "histology",
        "Histology (INPC)",
        ("NB_undifferentiated", "Neuroblastoma, undifferentiated"),
        ("NB_poorly_differentiated", "Neuroblastoma, poorly differentiated"),
        ("NB_differentiating", "Neuroblastoma, differentiating"),
        ("GNB_nodular", "Ganglioneuroblastoma, nodular"),
        ("GNB_intermixed", "Ganglioneuroblastoma, intermixed"),
        _UNKNOWN,
    ),
    _vs(
        "primary_site",
        "Primary site",
        ("adrenal", "Adrenal"),
        ("abdominal_non_adrenal", "Abdominal, non-adrenal"),
        ("thoracic", "Thoracic"),
        ("cervical", "Cervical (neck)"),
        ("pelvic", "Pelvic"),
        ("multifocal", "Multifocal"),
        ("other", "Other"),
        _UNKNOWN,
    ),
    _vs("avidity", "Scan avidity", ("avid", "Avid"), ("non_avid", "Not avid"), _NOT_DONE),
    _vs(
        "status_category",
        "Disease status",
        ("refractory", "Refractory"),
        ("relapsed", "Relapsed"),
        ("progressive", "Progressive"),
    ),
    _vs(
        "relapse_pattern",
        "Relapse pattern",
        ("local", "Local"),
        ("metastatic", "Metastatic"),
        ("combined", "Combined (local and metastatic)"),
        ("isolated_cns", "Isolated CNS"),
    ),
    _vs(
        "disease_site",
        "Disease site",
        ("primary_soft_tissue", "Primary tumour / soft tissue"),
        ("locoregional_nodes", "Locoregional lymph nodes"),
        ("distant_nodes", "Distant lymph nodes"),
        ("bone", "Bone"),
        ("bone_marrow", "Bone marrow"),
        ("liver", "Liver"),
        ("lung", "Lung"),
        ("pleura", "Pleura"),
        ("skin_subcut", "Skin / subcutaneous"),
        ("skull_dura_orbit", "Skull, dura or orbit"),
        ("cns_parenchyma", "Brain or spinal cord (CNS parenchyma)"),
        ("leptomeningeal", "Leptomeninges"),
        ("other", "Other"),
    ),
    _vs(
        "mycn",
        "MYCN",
        ("amplified", "Amplified"),
        ("gain", "Gain"),
        ("not_amplified", "Not amplified"),
        ("heterogeneous", "Heterogeneous amplification"),
        _NOT_TESTED,
    ),
    _vs(
        "alk_status",
        "ALK status",
        ("mutation", "Mutation"),
        ("amplification", "Amplification"),
        ("fusion", "Fusion"),
        ("wild_type", "Wild type"),
        _NOT_TESTED,
    ),
    _vs(
        "variant_origin",
        "Variant origin",
        ("somatic", "Somatic"),
        ("germline", "Germline"),
        _UNKNOWN,
    ),
    _vs(
        "segmental",
        "Segmental alteration",
        ("present", "Present"),
        ("absent", "Absent"),
        _NOT_TESTED,
    ),
    _vs(
        "profiling",
        "Molecular profiling at relapse",
        ("done", "Done"),
        ("pending", "Pending"),
        _NOT_DONE,
    ),
    _vs(
        "treatment_phase",
        "Treatment phase",
        ("induction", "Induction"),
        ("local_control", "Local control"),
        ("consolidation", "Consolidation"),
        ("maintenance", "Maintenance"),
        ("salvage", "Salvage"),
        ("palliative", "Palliative"),
    ),
    _vs(
        "regimen",
        "Regimen",
        ("RAPID_COJEC", "Rapid COJEC"),
        ("GPOH_N5N6", "GPOH N5/N6"),
        ("MSKCC_N7", "MSKCC N7"),
        ("COG_INDUCTION", "COG induction"),
        ("TVD", "TVD (topotecan, vincristine, doxorubicin)"),
        ("TEMIRI", "TEMIRI (temozolomide, irinotecan)"),
        ("TEMIRI_DINUTUXIMAB_BETA", "TEMIRI with dinutuximab beta"),
        ("TOPO_TEMO", "Topotecan and temozolomide"),
        ("TOPO_CYCLO", "Topotecan and cyclophosphamide"),
        ("ICE", "ICE (ifosfamide, carboplatin, etoposide)"),
        ("BUMEL", "BuMel (busulfan, melphalan)"),
        ("CEM", "CEM (carboplatin, etoposide, melphalan)"),
        ("THIOTEPA_HD", "High-dose thiotepa"),
        ("MIBG_THERAPY", "131I-mIBG therapy"),
        ("DINUTUXIMAB_BETA", "Dinutuximab beta"),
        ("NAXITAMAB", "Naxitamab"),
        ("ISOTRETINOIN", "Isotretinoin"),
        ("DFMO", "DFMO (eflornithine)"),
        ("CRIZOTINIB", "Crizotinib"),
        ("LORLATINIB", "Lorlatinib"),
        ("SURGERY", "Surgery"),
        ("RADIOTHERAPY", "Radiotherapy"),
        ("OTHER", "Other"),
    ),
    _vs(
        "line_response",
        "Best response",
        ("CR", "Complete response (CR)"),
        ("PR", "Partial response (PR)"),
        ("MR", "Minor response (MR)"),
        ("SD", "Stable disease (SD)"),
        ("PD", "Progressive disease (PD)"),
        ("not_assessed", "Not assessed"),
    ),
    _vs(
        "overall_response",
        "Overall response (INRC)",
        ("CR", "Complete response (CR)"),
        ("PR", "Partial response (PR)"),
        ("MR", "Minor response (MR)"),
        ("SD", "Stable disease (SD)"),
        ("PD", "Progressive disease (PD)"),
    ),
    _vs(
        "marrow_response",
        "Bone marrow response (INRC)",
        ("CR", "Complete response (CR)"),
        ("MD", "Minimal disease (MD)"),
        ("SD", "Stable disease (SD)"),
        ("PD", "Progressive disease (PD)"),
        ("not_involved", "Not involved"),
    ),
    _vs(
        "hdc",
        "High-dose chemotherapy",
        ("BUMEL", "BuMel (busulfan, melphalan)"),
        ("CEM", "CEM (carboplatin, etoposide, melphalan)"),
        ("THIOTEPA_HD", "High-dose thiotepa"),
        ("OTHER_HDC", "Other high-dose chemotherapy"),
    ),
    _vs(
        "anti_gd2",
        "Anti-GD2 antibody",
        ("DINUTUXIMAB_BETA", "Dinutuximab beta"),
        ("DINUTUXIMAB", "Dinutuximab"),
        ("NAXITAMAB", "Naxitamab"),
    ),
    _vs(
        "alk_inhibitor",
        "ALK inhibitor",
        ("CRIZOTINIB", "Crizotinib"),
        ("CERITINIB", "Ceritinib"),
        ("LORLATINIB", "Lorlatinib"),
        ("ALECTINIB", "Alectinib"),
        ("BRIGATINIB", "Brigatinib"),
    ),
    _vs(
        "performance_scale",
        "Performance scale",
        ("lansky", "Lansky play-performance scale"),
        ("karnofsky", "Karnofsky scale"),
    ),
    # The family's communication needs (NHS Accessible Information Standard, DAPB1605).
    _vs(
        "family_language",
        "Family's main language",
        ("english", "English"),
        ("polish", "Polish"),
        ("romanian", "Romanian"),
        ("panjabi", "Panjabi"),
        ("urdu", "Urdu"),
        ("portuguese", "Portuguese"),
        ("spanish", "Spanish"),
        ("arabic", "Arabic"),
        ("bengali", "Bengali (with Sylheti and Chatgaya)"),
        ("gujarati", "Gujarati"),
        ("italian", "Italian"),
        ("french", "French"),
        ("lithuanian", "Lithuanian"),
        ("turkish", "Turkish"),
        ("bulgarian", "Bulgarian"),
        ("tamil", "Tamil"),
        ("chinese", "Chinese (Mandarin or Cantonese)"),
        ("somali", "Somali"),
        ("other", "Another language"),
        note=LANGUAGE_SOURCE,
    ),
    _vs(
        "other_format",
        "Another format",
        ("braille", "Braille"),
        ("audio", "Audio (spoken recording)"),
        ("bsl", "British Sign Language interpreter"),
        ("electronic", "Electronic (e-mail or an accessible document for a screen reader)"),
        ("other", "Another format (say which in the notes)"),
    ),
)

#: Every value set of ``case-format.md``, by name.
VALUE_SETS: Final[Mapping[str, ValueSet]] = MappingProxyType({v.name: v for v in _VALUE_SET_LIST})

#: Value sets of the trial registry itself (trial editor choices; ``trial-rules.md``).
TRIAL_VALUE_SETS: Final[Mapping[str, ValueSet]] = MappingProxyType(
    {
        v.name: v
        for v in (
            _vs(
                "trial_status",
                "Trial status",
                ("open", "Open (recruiting)"),
                ("not_yet_open", "Not yet recruiting"),
                ("suspended", "Suspended"),
                ("closed", "Closed (not recruiting)"),
                ("unknown", "Unknown"),
            ),
            _vs(
                "sites_mode",
                "Sites",
                ("any", "Treatment at one of the sites"),
                ("all", "The child attends every site"),
            ),
            _vs(
                "criterion_kind",
                "Criterion kind",
                ("inclusion", "Inclusion"),
                ("exclusion", "Exclusion"),
                ("info", "For information (never decides)"),
            ),
            _vs(
                "criterion_source",
                "Criterion source",
                ("factsheet", "Factsheet"),
                ("registry", "Trial registry"),
                ("assumed", "Assumed (typical of such trials, not from a protocol)"),
            ),
            _vs(
                "study_enrolment",
                "Study enrolment",
                ("opt_out", "Included unless the family opts out"),
                ("consent", "By consent"),
            ),
        )
    }
)


# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------

ValueShape = Literal["scalar", "list", "pair", "bool"]


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """A rule operator: its name, a label for the editor and the shape of its ``value``.

    ``value_shape``: ``scalar`` (one value of the field's type), ``list`` (a non-empty list of such
    values), ``pair`` (``[lo, hi]`` numbers, inclusive) or ``bool`` (``exists``).
    """

    name: str
    label: str
    value_shape: ValueShape

    def to_dict(self) -> dict[str, str]:
        """JSON-able description."""
        return {"name": self.name, "label": self.label, "value_shape": self.value_shape}


#: Every operator of ``trial-rules.md``.
OPERATORS: Final[Mapping[str, OperatorSpec]] = MappingProxyType(
    {
        o.name: o
        for o in (
            OperatorSpec("eq", "is", "scalar"),
            OperatorSpec("ne", "is not", "scalar"),
            OperatorSpec("in", "is one of", "list"),
            OperatorSpec("not_in", "is none of", "list"),
            OperatorSpec("gt", "is more than", "scalar"),
            OperatorSpec("gte", "is at least", "scalar"),
            OperatorSpec("lt", "is less than", "scalar"),
            OperatorSpec("lte", "is at most", "scalar"),
            OperatorSpec("between", "is between (inclusive)", "pair"),
            OperatorSpec("contains_any", "includes any of", "list"),
            OperatorSpec("contains_all", "includes all of", "list"),
            OperatorSpec("contains_none", "includes none of", "list"),
            OperatorSpec("exists", "is recorded / is not empty", "bool"),
        )
    }
)

_SCALAR_EQ = ("eq", "ne", "in", "not_in")
_ORDER = ("gt", "gte", "lt", "lte", "between")
_LIST_OPS = ("contains_any", "contains_all", "contains_none")

#: The operators that make sense for each field type (``exists`` applies to every type).
OPERATORS_BY_TYPE: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "int": (*_SCALAR_EQ, *_ORDER, "exists"),
        "number": (*_SCALAR_EQ, *_ORDER, "exists"),
        "bool": ("eq", "ne", "exists"),
        "enum": (*_SCALAR_EQ, "exists"),
        "text": (*_SCALAR_EQ, "exists"),
        "code": (*_SCALAR_EQ, "exists"),
        "enum_list": (*_LIST_OPS, "exists"),
        "text_list": (*_LIST_OPS, "exists"),
        "object_list": ("exists",),
    }
)


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field path of ``panel-case/1``.

    ``path`` is dotted from the case root (``biology.alk.status``); a projection out of a list of
    objects is written ``container[].key`` (``biology.alk.variants[].protein_change``). For the
    ``item_fields`` of an ``object_list`` the path is relative to one item (``protein_change``).
    ``minimum``/``maximum`` are inclusive bounds from the format (``None`` = unbounded);
    ``rule`` says whether trial rules may name the field; ``nullable_means`` documents a ``null``
    that is not "unknown" (``family.max_travel_km``: no limit).
    """

    path: str
    type: FieldType
    label: str
    requirement: Requirement = "O"
    value_set: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    rule: bool = True
    note: str = ""
    source: str | None = None
    nullable_means: str | None = None
    item_fields: tuple[FieldSpec, ...] = ()
    max_items: int | None = None
    container: str | None = None
    item_key: str | None = None

    @property
    def is_list(self) -> bool:
        """Whether the value is a list (``enum_list``, ``text_list``, ``object_list``)."""
        return self.type in LIST_TYPES

    @property
    def is_projection(self) -> bool:
        """Whether the path projects a key out of a list of objects (``a[].b``)."""
        return self.container is not None

    @property
    def values(self) -> ValueSet | None:
        """The value set of an ``enum``/``enum_list`` field."""
        return VALUE_SETS[self.value_set] if self.value_set else None

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators a rule may use on this field (empty when ``rule`` is false)."""
        return OPERATORS_BY_TYPE[self.type] if self.rule else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description for the case form and the trial editor's field picker."""
        out: dict[str, Any] = {
            "path": self.path,
            "type": self.type,
            "label": self.label,
            "requirement": self.requirement,
            "rule": self.rule,
            "operators": list(self.operators),
        }
        if self.value_set:
            vs = VALUE_SETS[self.value_set]
            out["value_set"] = self.value_set
            out["values"] = [
                {"code": c.code, "label": c.label, "unknown": c.code in UNKNOWN_WORDS}
                for c in vs.choices
            ]
        for key in ("minimum", "maximum", "step", "note", "source", "nullable_means", "max_items"):
            val = getattr(self, key)
            if val not in (None, ""):
                out[key] = val
        if self.item_fields:
            out["item_fields"] = [f.to_dict() for f in self.item_fields]
        return out


def _f(path: str, type_: FieldType, label: str, req: Requirement = "O", **kw: Any) -> FieldSpec:
    return FieldSpec(path=path, type=type_, label=label, requirement=req, **kw)


_VARIANT_ITEMS = (
    _f("protein_change", "text", "Protein change (e.g. F1174L)", "R"),
    _f("vaf_pct", "number", "Variant allele fraction (%)", "O", minimum=0, maximum=100),
    _f("origin", "enum", "Origin", "O", value_set="variant_origin"),
)
_ALTERATION_ITEMS = (
    _f("gene", "text", "Gene", "R"),
    _f("alteration", "text", "Alteration", "R"),
    _f("vaf_pct", "number", "Variant allele fraction (%)", "O", minimum=0, maximum=100),
)
_LINE_ITEMS = (
    _f("phase", "enum", "Phase", "R", value_set="treatment_phase"),
    _f("regimen", "enum", "Regimen", "R", value_set="regimen"),
    _f("cycles", "int", "Cycles", "R", minimum=0),
    _f("best_response", "enum", "Best response", "R", value_set="line_response"),
)

_BASE_FIELDS: tuple[FieldSpec, ...] = (
    # Administrative fields: described for the case form, not usable in rules.
    _f("schema", "text", "Format", "R", rule=False, note='always "panel-case/1"'),
    _f("reference", "text", "Reference", "-", rule=False, note="assigned by the system"),
    _f("panel", "code", "Panel", "R", rule=False, source="panels.json"),
    _f(
        "referring_centre",
        "code",
        "Referring centre",
        "R",
        rule=False,
        source="centres.json",
        note="the matcher measures trial distances from it",
    ),
    _f("urgency", "enum", "Urgency", "R", value_set="urgency", rule=False),
    _f("clinical_question", "text", "Clinical question", "R", rule=False),
    # Family
    _f("family.aware_of_referral", "bool", "Family aware of the referral", "R", rule=False),
    _f("family.questions", "text_list", "Family's questions", "O", rule=False, max_items=20),
    _f(
        "family.max_travel_km",
        "int",
        "Furthest the family can travel (km)",
        "O",
        minimum=0,
        rule=False,
        nullable_means="no limit",
        note="compared with trial distances by the matcher; null means no limit, not unknown",
    ),
    _f("family.treatment_abroad_interest", "bool", "Family interested in treatment abroad", "O"),
    _f(
        "family.epidemiology_study_opt_out",
        "bool",
        "Family opted out of the Neuroblastoma Epidemiological Study",
        "O",
    ),
    # The family's communication needs (all optional; NHS Accessible Information Standard).
    _f(
        "family.communication.language",
        "enum",
        "Family's main language",
        "O",
        value_set="family_language",
        rule=False,
        note="the language the family reads and speaks best",
    ),
    _f(
        "family.communication.language_other",
        "text",
        "Which language",
        "C",
        rule=False,
        note="required when family.communication.language is other",
    ),
    _f(
        "family.communication.interpreter",
        "bool",
        "Interpreter needed",
        "O",
        rule=False,
    ),
    _f("family.communication.large_print", "bool", "Large print", "O", rule=False),
    _f("family.communication.easy_read", "bool", "Easy read", "O", rule=False),
    _f(
        "family.communication.other_format",
        "enum_list",
        "Another format",
        "O",
        value_set="other_format",
        rule=False,
    ),
    _f(
        "family.communication.notes",
        "text",
        "Other communication needs",
        "O",
        rule=False,
        note="free text, checked for identifiers like every other text of the case",
    ),
    # Patient
    _f(
        "patient.age_at_diagnosis_months",
        "int",
        "Age at diagnosis (months)",
        "R",
        minimum=0,
        maximum=480,
    ),
    _f(
        "patient.age_now_months",
        "int",
        "Age now (months)",
        "R",
        minimum=0,
        maximum=480,
        note=">= age at diagnosis",
    ),
    _f("patient.sex", "enum", "Sex", "R", value_set="sex"),
    # Diagnosis
    _f("diagnosis.inrg_stage", "enum", "INRG stage", "R", value_set="inrg_stage"),
    _f("diagnosis.inss_stage", "enum", "INSS stage", "O", value_set="inss_stage"),
    _f("diagnosis.risk_group", "enum", "Risk group", "R", value_set="risk_group"),
    _f("diagnosis.histology", "enum", "Histology", "O", value_set="histology"),
    _f("diagnosis.primary_site", "enum", "Primary site", "R", value_set="primary_site"),
    _f("diagnosis.mibg", "enum", "mIBG at diagnosis", "R", value_set="avidity"),
    _f(
        "diagnosis.siopen_score",
        "int",
        "SIOPEN score at diagnosis",
        "C",
        minimum=0,
        maximum=72,
        note="required when diagnosis.mibg is avid",
    ),
    # Status
    _f("status.category", "enum", "Disease status", "R", value_set="status_category"),
    _f("status.episode", "int", "Episode (1 = first relapse/progression)", "R", minimum=1),
    _f(
        "status.months_diagnosis_to_event",
        "int",
        "Months from diagnosis to this event",
        "R",
        minimum=0,
    ),
    _f("status.months_since_last_treatment", "int", "Months since last treatment", "R", minimum=0),
    _f(
        "status.relapse_pattern",
        "enum",
        "Relapse pattern",
        "C",
        value_set="relapse_pattern",
        note="required when status.category is relapsed or progressive",
    ),
    # Disease now
    _f("disease.sites", "enum_list", "Disease sites", "R", value_set="disease_site"),
    _f(
        "disease.measurable",
        "bool",
        "Measurable disease",
        "R",
        note="a lesion >= 10 mm, or a node >= 15 mm short axis",
    ),
    _f(
        "disease.bone_marrow_pct",
        "number",
        "Bone marrow infiltration (%)",
        "R",
        minimum=0,
        maximum=100,
        note="null if not done",
    ),
    _f("disease.mibg", "enum", "mIBG now", "R", value_set="avidity"),
    _f(
        "disease.siopen_score",
        "int",
        "SIOPEN score now",
        "C",
        minimum=0,
        maximum=72,
        note="required when disease.mibg is avid",
    ),
    _f("disease.curie_score", "int", "Curie score now", "O", minimum=0, maximum=30),
    _f(
        "disease.fdg_pet",
        "enum",
        "FDG-PET now",
        "C",
        value_set="avidity",
        note="required when disease.mibg is not avid",
    ),
    # Biology
    _f("biology.mycn", "enum", "MYCN", "R", value_set="mycn"),
    _f("biology.alk.status", "enum", "ALK status", "R", value_set="alk_status"),
    _f(
        "biology.alk.variants",
        "object_list",
        "ALK variants",
        "C",
        item_fields=_VARIANT_ITEMS,
        note="required when biology.alk.status is mutation",
    ),
    _f(
        "biology.alk.copy_number",
        "number",
        "ALK copy number",
        "C",
        minimum=0,
        note="required when biology.alk.status is amplification",
    ),
    _f("biology.segmental.del_1p36", "enum", "1p36 deletion", "O", value_set="segmental"),
    _f("biology.segmental.del_11q", "enum", "11q deletion", "O", value_set="segmental"),
    _f("biology.segmental.gain_17q", "enum", "17q gain", "O", value_set="segmental"),
    _f(
        "biology.profiling_at_relapse",
        "enum",
        "Molecular profiling at relapse",
        "R",
        value_set="profiling",
    ),
    _f(
        "biology.other_alterations",
        "object_list",
        "Other alterations",
        "O",
        item_fields=_ALTERATION_ITEMS,
    ),
    # Treatment
    _f(
        "treatment.lines", "object_list", "Treatment lines (in order)", "R", item_fields=_LINE_ITEMS
    ),
    _f("treatment.prior_hdc", "enum_list", "Prior high-dose chemotherapy", "O", value_set="hdc"),
    _f(
        "treatment.prior_asct_count",
        "int",
        "Prior autologous stem cell transplants",
        "O",
        minimum=0,
        maximum=3,
    ),
    _f("treatment.prior_mibg_therapy", "bool", "Prior mIBG therapy", "O"),
    _f(
        "treatment.prior_anti_gd2",
        "enum_list",
        "Prior anti-GD2 antibodies",
        "O",
        value_set="anti_gd2",
    ),
    _f(
        "treatment.prior_alk_inhibitor",
        "enum_list",
        "Prior ALK inhibitors",
        "O",
        value_set="alk_inhibitor",
    ),
    _f(
        "treatment.stored_stem_cells_cd34_per_kg",
        "number",
        "Stored stem cells (CD34+ x10^6/kg)",
        "O",
        minimum=0,
    ),
    # Response
    _f(
        "response.end_induction.overall",
        "enum",
        "End of induction: overall response",
        "O",
        value_set="overall_response",
    ),
    _f("response.end_induction.mibg", "enum", "End of induction: mIBG", "O", value_set="avidity"),
    _f(
        "response.end_induction.siopen_score",
        "int",
        "End of induction: SIOPEN score",
        "O",
        minimum=0,
        maximum=72,
    ),
    _f(
        "response.end_induction.bone_marrow",
        "enum",
        "End of induction: bone marrow response",
        "O",
        value_set="marrow_response",
    ),
    _f(
        "response.current.overall",
        "enum",
        "Current overall response",
        "O",
        value_set="overall_response",
    ),
    # Fitness
    _f(
        "fitness.performance_scale", "enum", "Performance scale", "R", value_set="performance_scale"
    ),
    _f(
        "fitness.performance_score",
        "int",
        "Performance score",
        "R",
        minimum=0,
        maximum=100,
        step=10,
    ),
    _f("fitness.life_expectancy_months", "int", "Life expectancy (months)", "O", minimum=0),
    _f("fitness.organ_function_adequate", "bool", "Adequate organ function", "O"),
)


def _projections(specs: Iterable[FieldSpec]) -> list[FieldSpec]:
    """Derive ``container[].key`` fields for the text and enum keys of every object list."""
    out: list[FieldSpec] = []
    for spec in specs:
        if spec.type != "object_list":
            continue
        for item in spec.item_fields:
            if item.type not in ("text", "enum"):
                continue
            out.append(
                FieldSpec(
                    path=f"{spec.path}[].{item.path}",
                    type="enum_list" if item.type == "enum" else "text_list",
                    label=f"{spec.label}: {item.label.lower()}",
                    requirement="-",
                    value_set=item.value_set,
                    rule=spec.rule,
                    note=f"the {item.path} of every item of {spec.path}",
                    container=spec.path,
                    item_key=item.path,
                )
            )
    return out


def _build_fields() -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for spec in (*_BASE_FIELDS, *_projections(_BASE_FIELDS)):
        if spec.path in out:  # pragma: no cover - guards the table above
            raise ValueError(f"duplicate field {spec.path}")
        if spec.value_set is not None and spec.value_set not in VALUE_SETS:  # pragma: no cover
            raise ValueError(f"{spec.path}: unknown value set {spec.value_set}")
        out[spec.path] = spec
    return out


#: Every field path of ``panel-case/1`` (in the order of the format, projections last).
FIELDS: Final[Mapping[str, FieldSpec]] = MappingProxyType(_build_fields())

#: The fields trial rules may name.
RULE_FIELDS: Final[Mapping[str, FieldSpec]] = MappingProxyType(
    {p: f for p, f in FIELDS.items() if f.rule}
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def get_field(path: str) -> FieldSpec | None:
    """The spec of ``path``, or ``None`` when the format has no such field."""
    return FIELDS.get(path)


def is_rule_field(path: str) -> bool:
    """Whether trial rules may name ``path``."""
    return path in RULE_FIELDS


def operators_for(path: str) -> tuple[str, ...]:
    """The operators a rule may use on ``path`` (empty for unknown / non-rule fields)."""
    spec = RULE_FIELDS.get(path)
    return spec.operators if spec else ()


def value_label(path_or_set: str, code: Any) -> str:
    """The human label of ``code`` for a field path or a value-set name.

    Falls back to ``str(code)`` for free values and codes outside the set.
    """
    vs_name = path_or_set if path_or_set in VALUE_SETS else None
    if vs_name is None:
        spec = FIELDS.get(path_or_set)
        vs_name = spec.value_set if spec else None
    if vs_name is None or not isinstance(code, str):
        return str(code)
    return VALUE_SETS[vs_name].label_of(code)


def value_set_choices(name: str, *, include_unknown: bool = True) -> list[tuple[str, str]]:
    """``(code, label)`` pairs of a value set, e.g. for a WTForms ``SelectField``."""
    vs = VALUE_SETS.get(name) or TRIAL_VALUE_SETS[name]
    return [(c.code, c.label) for c in vs.choices if include_unknown or c.code not in UNKNOWN_WORDS]


def describe_fields(*, rule_only: bool = False) -> list[dict[str, Any]]:
    """JSON-able list of field descriptions (the trial editor's field picker)."""
    source = RULE_FIELDS if rule_only else FIELDS
    return [spec.to_dict() for spec in source.values()]


def describe_operators() -> list[dict[str, str]]:
    """JSON-able list of operators."""
    return [op.to_dict() for op in OPERATORS.values()]


def describe_value_sets() -> dict[str, dict[str, Any]]:
    """JSON-able value sets of the case format and the trial registry, by name."""
    out = {name: vs.to_dict() for name, vs in VALUE_SETS.items()}
    out.update({name: vs.to_dict() for name, vs in TRIAL_VALUE_SETS.items()})
    return out


# Sanity checks run at import: every enum field names a value set, every value set is used.
def _check_tables() -> None:
    used: set[str] = set()
    for spec in (*_BASE_FIELDS, *(i for s in _BASE_FIELDS for i in s.item_fields)):
        if spec.type in ("enum", "enum_list"):
            if spec.value_set is None:  # pragma: no cover
                raise ValueError(f"{spec.path}: enum without a value set")
            used.add(spec.value_set)
    unused = set(VALUE_SETS) - used
    if unused:  # pragma: no cover
        raise ValueError(f"value sets not used by any field: {sorted(unused)}")


_check_tables()
del _check_tables

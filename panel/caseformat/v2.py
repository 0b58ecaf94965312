"""The ``panel-case/2`` format: a core every case has, plus disease modules.

Data first, as in :mod:`panel.caseformat.fields`: the **core** field table
(:data:`CORE_FIELDS`), the **modules** (:data:`MODULES`: ``neuroblastoma`` and ``sarcoma``),
each a field table under ``modules.<name>.`` that declares which tumours it applies to, and
the **conditions** that make a ``C`` field required (:class:`Condition`, data too). The
validator (:func:`validate_v2`, :func:`missing_for_submit_v2`) is generated from them and
reports :class:`~panel.caseformat.schema.Problem` objects with dotted paths, as ``schema.py``
does for ``panel-case/1``.

The neuroblastoma module reuses the ``panel-case/1`` field specs: each of its fields is a v1
spec under a new path (:data:`NB_PATHS` maps v1 path -> v2 path; :mod:`.convert` uses the same
map). Tumour types and their ICCC-3 groups come from :mod:`.tumours`.

Panel stores ``panel-case/2`` (``Case.data``); ``docs/case-format.md`` says where each part is
wired.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, Final

from panel.caseformat import fields as v1
from panel.caseformat.fields import UNKNOWN_WORDS, Choice, FieldSpec, ValueSet
from panel.caseformat.schema import Problem, _is_int, _show, get_path, text_fields
from panel.caseformat.schema import _check_value as check_value
from panel.caseformat.tumours import (
    MORPHOLOGY_RE,
    TOPOGRAPHY_RE,
    get_tumour_type,
    iccc_for,
)

__all__ = [
    "SCHEMA_V2",
    "V2_VALUE_SETS",
    "FieldSpecV2",
    "Condition",
    "Module",
    "CORE_FIELDS",
    "CORE_CONDITIONS",
    "DERIVED_FIELDS",
    "MODULES",
    "NB_PATHS",
    "FIELDS_V2",
    "modules_for",
    "iccc_of",
    "implied_alterations",
    "molecular_alterations",
    "validate_v2",
    "missing_for_submit_v2",
    "applicable_conditionals_v2",
    "text_fields_v2",
    "label_v2",
    "value_label_v2",
]

SCHEMA_V2: Final = "panel-case/2"
SYSTEM_KEYS: Final = ("reference",)
MAX_TEXT: Final = {
    "clinical_question": 4000,
    "family.communication.language_other": 100,
    "local_mdt.outcome": 4000,
}


# --------------------------------------------------------------------------------------------
# Value sets: every v1 set (same words, so v1 documents stay valid) plus the new ones
# --------------------------------------------------------------------------------------------


def _vs(name: str, label: str, *pairs: tuple[str, str], note: str = "") -> ValueSet:
    return ValueSet(name, label, tuple(Choice(c, lbl) for c, lbl in pairs), note)


_NOT_TESTED = ("not_tested", "Not tested")

_NEW_VALUE_SETS: tuple[ValueSet, ...] = (
    _vs(
        "regimen_v2",
        "Regimen",
        *((c.code, c.label) for c in v1.VALUE_SETS["regimen"].choices if c.code != "OTHER"),
        ("VAC", "VAC (vincristine, dactinomycin, cyclophosphamide)"),
        ("IVA", "IVA (ifosfamide, vincristine, dactinomycin)"),
        ("VDC_IE", "VDC/IE (vincristine, doxorubicin, cyclophosphamide / ifosfamide, etoposide)"),
        ("VIDE", "VIDE (vincristine, ifosfamide, doxorubicin, etoposide)"),
        ("VAI", "VAI (vincristine, dactinomycin, ifosfamide)"),
        ("VIT", "VIT (vincristine, irinotecan, temozolomide)"),
        ("VINORELBINE_CYCLO", "Vinorelbine and oral cyclophosphamide"),
        ("MAP", "MAP (methotrexate, doxorubicin, cisplatin)"),
        ("TARGETED", "Targeted agent (say which in the notes)"),
        ("EARLY_PHASE_TRIAL", "Early-phase trial"),
        ("OTHER", "Other"),
        note=(
            "The panel-case/1 words, then sarcoma regimens named in the EpSSG and Euro Ewing "
            "protocols (VAC, IVA, VDC/IE, VIDE, VAI, VIT, vinorelbine and cyclophosphamide) "
            "and MAP (osteosarcoma, EURAMOS-1). Checked 6 December 2026."
        ),
    ),
    _vs(
        "trial_toxicity",
        "Toxicity that matters for trials",
        ("cardiac", "Cardiac (e.g. reduced shortening fraction after anthracyclines)"),
        ("renal", "Renal (reduced GFR, tubulopathy)"),
        ("hepatic", "Hepatic (including sinusoidal obstruction syndrome)"),
        ("hearing", "Hearing loss"),
        ("neuropathy", "Peripheral neuropathy"),
        ("pulmonary", "Pulmonary"),
        ("haematological", "Prolonged cytopenias"),
        ("allergy", "Severe allergy to an agent"),
        ("other", "Other"),
    ),
    _vs(
        "alteration_type",
        "Alteration type",
        ("snv_indel", "Single nucleotide variant or small insertion/deletion"),
        ("fusion", "Fusion / rearrangement"),
        ("amplification", "Amplification"),
        ("deletion", "Deletion (copy loss)"),
        ("expression", "Expression (e.g. by immunohistochemistry)"),
    ),
    _vs(
        "molecular_test",
        "Test",
        ("ngs_panel", "Gene panel (NGS)"),
        ("wes", "Whole exome sequencing"),
        ("wgs", "Whole genome sequencing"),
        ("rna_seq", "RNA sequencing / fusion panel"),
        ("fish", "FISH"),
        ("pcr", "PCR / RT-PCR"),
        ("ihc", "Immunohistochemistry"),
        ("copy_number_array", "Copy-number array / MLPA"),
        ("other", "Other"),
    ),
    _vs(
        "sarcoma_subtype",
        "Histological subtype",
        ("rms_embryonal", "Rhabdomyosarcoma, embryonal"),
        ("rms_alveolar", "Rhabdomyosarcoma, alveolar"),
        ("rms_spindle_sclerosing", "Rhabdomyosarcoma, spindle cell/sclerosing"),
        ("rms_other", "Rhabdomyosarcoma, other or not specified"),
        ("ewing", "Ewing sarcoma"),
        ("unknown", "Unknown"),
        note="WHO Classification of Tumours, Soft Tissue and Bone Tumours, 5th edition (2020).",
    ),
    _vs(
        "foxo1_fusion",
        "FOXO1 fusion (rhabdomyosarcoma)",
        ("pax3_foxo1", "PAX3::FOXO1"),
        ("pax7_foxo1", "PAX7::FOXO1"),
        ("foxo1_other", "FOXO1 fusion, other or unknown partner"),
        ("negative", "Fusion negative"),
        _NOT_TESTED,
        note=(
            "FOXO1 fusion status replaces alveolar histology in the risk grouping of the "
            "FaR-RMS study (EpSSG, NCT04625907). Checked 6 December 2026."
        ),
    ),
    _vs(
        "ewing_fusion",
        "Ewing sarcoma fusion",
        ("ewsr1_fli1", "EWSR1::FLI1"),
        ("ewsr1_erg", "EWSR1::ERG"),
        ("ewsr1_other", "EWSR1 with another partner"),
        ("fus_ets", "FUS with an ETS partner"),
        ("negative", "No FET::ETS fusion found"),
        _NOT_TESTED,
        note=(
            "FET::ETS fusions define Ewing sarcoma (WHO 2020); EWSR1::FLI1 in about 85% and "
            "EWSR1::ERG in about 10% (Grünewald et al., Nat Rev Dis Primers 2018;4:5). "
            "Checked 6 December 2026."
        ),
    ),
    _vs(
        "irs_group",
        "IRS clinical group",
        ("I", "Group I: completely resected"),
        ("II", "Group II: microscopic residue or resected nodes"),
        ("III", "Group III: macroscopic residue (biopsy only or incomplete resection)"),
        ("IV", "Group IV: distant metastases"),
        ("unknown", "Unknown"),
        note="Intergroup Rhabdomyosarcoma Study post-surgical grouping (Maurer et al., Cancer 1988;61:209-20).",
    ),
    _vs(
        "sarcoma_risk_group",
        "Risk group at diagnosis",
        ("low", "Low risk"),
        ("standard", "Standard risk"),
        ("high", "High risk"),
        ("very_high", "Very high risk"),
        ("unknown", "Unknown"),
        note="The EpSSG RMS 2005 / FaR-RMS risk groups; for Ewing sarcoma the protocol's own groups map onto standard/high.",
    ),
    _vs(
        "site_prognosis",
        "Primary site (rhabdomyosarcoma)",
        (
            "favourable",
            "Favourable (orbit, non-parameningeal head and neck, GU non-bladder/prostate, biliary)",
        ),
        ("unfavourable", "Unfavourable (parameningeal, extremities, bladder/prostate, other)"),
        ("unknown", "Unknown"),
        note="Favourable and unfavourable sites of the IRS/EpSSG staging (Crist et al., J Clin Oncol 2001;19:3091-102).",
    ),
)

#: Every value set of ``panel-case/2``: the v1 sets (unchanged) and the new ones.
V2_VALUE_SETS: Final[Mapping[str, ValueSet]] = MappingProxyType(
    {**v1.VALUE_SETS, **{v.name: v for v in _NEW_VALUE_SETS}}
)


# --------------------------------------------------------------------------------------------
# Field specs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpecV2(FieldSpec):
    """A :class:`~panel.caseformat.fields.FieldSpec` whose value set is looked up in
    :data:`V2_VALUE_SETS`, with an optional ``pattern`` for text codes and, for module fields,
    the ``v1_path`` it was taken from."""

    pattern: str | None = None
    v1_path: str | None = None

    @property
    def values(self) -> ValueSet | None:
        return V2_VALUE_SETS[self.value_set] if self.value_set else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "type": self.type,
            "label": self.label,
            "requirement": self.requirement,
            "rule": self.rule,
            "operators": list(self.operators),
        }
        if self.value_set:
            out["value_set"] = self.value_set
            out["values"] = [
                {"code": c.code, "label": c.label, "unknown": c.code in UNKNOWN_WORDS}
                for c in V2_VALUE_SETS[self.value_set].choices
            ]
        for key in (
            "minimum",
            "maximum",
            "step",
            "note",
            "source",
            "nullable_means",
            "max_items",
            "pattern",
            "v1_path",
        ):
            val = getattr(self, key)
            if val not in (None, ""):
                out[key] = val
        if self.item_fields:
            out["item_fields"] = [f.to_dict() for f in self.item_fields]
        return out


def _f(path: str, type_: Any, label: str, req: Any = "O", **kw: Any) -> FieldSpecV2:
    return FieldSpecV2(path=path, type=type_, label=label, requirement=req, **kw)


def _from_v1(spec: FieldSpec, path: str, **changes: Any) -> FieldSpecV2:
    """A v1 spec under a v2 path (its type, label, range, value set and requirement kept)."""
    base = {f.name: getattr(spec, f.name) for f in fields(FieldSpec)}
    base["item_fields"] = tuple(_from_v1(i, i.path) for i in spec.item_fields)
    out = FieldSpecV2(**base, v1_path=spec.path)
    return replace(out, path=path, **changes)


def _v1(path: str) -> FieldSpec:
    return v1.FIELDS[path]


@dataclass(frozen=True, slots=True)
class Condition:
    """``field`` is required when the value at ``when`` is one of ``values`` (``why`` says so)."""

    field: str
    when: str
    values: tuple[Any, ...]
    why: str

    def applies(self, doc: Mapping[str, Any]) -> bool:
        return get_path(dict(doc), self.when) in self.values


# ---- the core --------------------------------------------------------------------------------

_ALTERATION_ITEMS = (
    _f("gene", "text", "Gene (HGNC symbol, e.g. ALK)", "R"),
    _f("type", "enum", "Alteration type", "O", value_set="alteration_type"),
    _f("partner", "text", "Fusion partner (HGNC symbol)", "O", note="for a fusion"),
    _f("protein_change", "text", "Protein change (HGVS, e.g. p.Phe1174Leu or F1174L)", "O"),
    _f("vaf_pct", "number", "Variant allele fraction (%)", "O", minimum=0, maximum=100),
    _f("copy_number", "number", "Copy number", "O", minimum=0),
    _f("origin", "enum", "Somatic or germline", "O", value_set="variant_origin"),
    _f("test", "enum", "Test", "O", value_set="molecular_test"),
    _f("at_relapse", "bool", "Found on tissue taken at relapse", "O"),
    _f(
        "description",
        "text",
        "Alteration as written",
        "O",
        note="free text; panel-case/1's other_alterations[].alteration lands here",
    ),
)

_LINE_ITEMS = (
    *(
        _from_v1(i, i.path, value_set="regimen_v2") if i.path == "regimen" else _from_v1(i, i.path)
        for i in _v1("treatment.lines").item_fields
    ),
    _f(
        "regimen_other",
        "text",
        "Regimen, in words",
        "O",
        note="when the regimen is OTHER or TARGETED",
    ),
    _f(
        "start_month",
        "int",
        "Started (months after diagnosis)",
        "O",
        minimum=0,
        note="an interval from diagnosis, never a date",
    ),
    _f("end_month", "int", "Ended (months after diagnosis)", "O", minimum=0),
    _f(
        "toxicities",
        "enum_list",
        "Toxicities that matter for trials",
        "O",
        value_set="trial_toxicity",
    ),
)

#: The core: every case has these, whatever the tumour.
CORE_FIELDS: tuple[FieldSpecV2, ...] = (
    _f("schema", "text", "Format", "R", rule=False, note='always "panel-case/2"'),
    _from_v1(_v1("reference"), "reference"),
    _from_v1(_v1("panel"), "panel"),
    _from_v1(_v1("referring_centre"), "referring_centre"),
    _from_v1(_v1("urgency"), "urgency"),
    _from_v1(_v1("clinical_question"), "clinical_question"),
    # Tumour type (ICD-O-3); the ICCC-3 group is derived (DERIVED_FIELDS), never stored.
    _f(
        "tumour.morphology",
        "code",
        "Tumour type (ICD-O-3 morphology)",
        "R",
        source="tumour_types.json",
        pattern=MORPHOLOGY_RE.pattern,
        note="e.g. 9500/3; the picker searches names and synonyms",
    ),
    _f(
        "tumour.topography",
        "code",
        "Primary site (ICD-O-3 topography)",
        "O",
        pattern=TOPOGRAPHY_RE.pattern,
        note="e.g. C74.9; ICCC-3 needs it for some tumours (Ewing sarcoma, germ cell tumours)",
    ),
    _f(
        "tumour.description",
        "text",
        "Diagnosis in words",
        "O",
        rule=False,
        note="when the list has no exact code (e.g. a newer WHO entity)",
    ),
    # Patient
    *(_from_v1(_v1(p), p) for p in ("patient.age_at_diagnosis_months", "patient.age_now_months")),
    _from_v1(_v1("patient.sex"), "patient.sex"),
    # Status and episode
    *(
        _from_v1(_v1(p), p)
        for p in (
            "status.category",
            "status.episode",
            "status.months_diagnosis_to_event",
            "status.months_since_last_treatment",
            "status.relapse_pattern",
        )
    ),
    # Sites of disease now
    *(
        _from_v1(_v1(p), p)
        for p in ("disease.sites", "disease.measurable", "disease.bone_marrow_pct")
    ),
    # Molecular alterations (generic)
    _f(
        "molecular.alterations",
        "object_list",
        "Molecular alterations",
        "O",
        item_fields=_ALTERATION_ITEMS,
        note="what is found; a module's own markers (MYCN, ALK status) are added on read",
    ),
    _from_v1(_v1("biology.profiling_at_relapse"), "molecular.profiling_at_relapse"),
    # Prior treatment
    _f(
        "treatment.lines",
        "object_list",
        "Treatment lines (in order)",
        "R",
        item_fields=_LINE_ITEMS,
    ),
    *(
        _from_v1(_v1(p), p)
        for p in (
            "treatment.prior_hdc",
            "treatment.prior_asct_count",
            "treatment.prior_alk_inhibitor",
            "treatment.stored_stem_cells_cd34_per_kg",
        )
    ),
    # Performance status
    *(
        _from_v1(_v1(p), p)
        for p in (
            "fitness.performance_scale",
            "fitness.performance_score",
            "fitness.life_expectancy_months",
        )
    ),
    # Organ function
    _from_v1(_v1("fitness.organ_function_adequate"), "organ_function.adequate"),
    _f(
        "organ_function.gfr_ml_min_173m2",
        "number",
        "GFR (ml/min/1.73 m²)",
        "O",
        minimum=0,
        maximum=300,
    ),
    _f(
        "organ_function.bilirubin_x_uln",
        "number",
        "Bilirubin (× upper limit of normal)",
        "O",
        minimum=0,
        maximum=100,
    ),
    _f(
        "organ_function.alt_x_uln",
        "number",
        "ALT (× upper limit of normal)",
        "O",
        minimum=0,
        maximum=100,
    ),
    _f(
        "organ_function.shortening_fraction_pct",
        "number",
        "Cardiac shortening fraction (%)",
        "O",
        minimum=0,
        maximum=100,
    ),
    _f("organ_function.anc_x10e9_l", "number", "Neutrophils (×10⁹/l)", "O", minimum=0, maximum=100),
    _f(
        "organ_function.platelets_x10e9_l",
        "number",
        "Platelets (×10⁹/l)",
        "O",
        minimum=0,
        maximum=2000,
    ),
    # The clinical question is above; the family (parents' questions, communication needs)
    *(
        _from_v1(_v1(p), p)
        for p in v1.FIELDS
        if p.startswith("family.")
        and p != "family.epidemiology_study_opt_out"
        and not v1.FIELDS[p].is_projection
    ),
    # Local MDT
    _f("local_mdt.discussed", "bool", "Discussed at the local MDT", "O", rule=False),
    _f(
        "local_mdt.months_ago",
        "int",
        "Local MDT (months before referral)",
        "O",
        minimum=0,
        rule=False,
        note="an interval, never a date",
    ),
    _f("local_mdt.outcome", "text", "Local MDT outcome", "O", rule=False),
)

CORE_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "status.relapse_pattern",
        "status.category",
        ("relapsed", "progressive"),
        "the disease relapsed or progressed",
    ),
    Condition(
        "family.communication.language_other",
        "family.communication.language",
        ("other",),
        "the family's language is another",
    ),
)

#: Fields computed from the document (rules may name them; a document may not carry them).
DERIVED_FIELDS: tuple[FieldSpecV2, ...] = (
    _f(
        "tumour.iccc_group",
        "text",
        "ICCC-3 main group",
        "-",
        note="derived from tumour.morphology (and topography) by tumour_types.json",
    ),
    _f("tumour.iccc_subgroup", "text", "ICCC-3 subgroup", "-", note="derived, as the group"),
)


# ---- modules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Module:
    """A disease module: its fields (paths under ``modules.<name>.``), the tumours it applies to
    (morphology codes, and/or ICCC-3 subgroups) and its conditions."""

    name: str
    label: str
    fields: tuple[FieldSpecV2, ...]
    morphologies: frozenset[str] = frozenset()
    iccc_subgroups: frozenset[str] = frozenset()
    conditions: tuple[Condition, ...] = ()
    note: str = ""

    @property
    def prefix(self) -> str:
        return f"modules.{self.name}."

    def applies_to(self, morphology: str | None, topography: str | None = None) -> bool:
        """Whether this module belongs to a tumour of ``morphology`` (at ``topography``)."""
        if not isinstance(morphology, str):
            return False
        if morphology in self.morphologies:
            return True
        group = iccc_for(morphology, topography)
        return group is not None and group.subgroup in self.iccc_subgroups

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "morphologies": sorted(self.morphologies),
            "iccc_subgroups": sorted(self.iccc_subgroups),
            "fields": [f.to_dict() for f in self.fields],
            "note": self.note,
        }


_NB = "modules.neuroblastoma."

#: Every panel-case/1 path that moves into the neuroblastoma module, and where to.
NB_PATHS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{
            p: _NB + p
            for p, s in v1.FIELDS.items()
            if not s.is_projection
            and (
                p.startswith(("diagnosis.", "response."))
                or p
                in (
                    "disease.mibg",
                    "disease.siopen_score",
                    "disease.curie_score",
                    "disease.fdg_pet",
                    "biology.mycn",
                    "biology.alk.status",
                    "biology.alk.variants",
                    "biology.alk.copy_number",
                    "biology.segmental.del_1p36",
                    "biology.segmental.del_11q",
                    "biology.segmental.gain_17q",
                    "treatment.prior_mibg_therapy",
                    "treatment.prior_anti_gd2",
                )
            )
        },
        "family.epidemiology_study_opt_out": _NB + "epidemiology_study_opt_out",
    }
)

_NB_CONDITIONS = (
    Condition(
        _NB + "diagnosis.siopen_score",
        _NB + "diagnosis.mibg",
        ("avid",),
        "mIBG at diagnosis was avid",
    ),
    Condition(_NB + "disease.siopen_score", _NB + "disease.mibg", ("avid",), "mIBG now is avid"),
    Condition(
        _NB + "disease.fdg_pet",
        _NB + "disease.mibg",
        ("non_avid", "not_done"),
        "mIBG now is not avid",
    ),
    Condition(
        _NB + "biology.alk.variants",
        _NB + "biology.alk.status",
        ("mutation",),
        "ALK status is mutation",
    ),
    Condition(
        _NB + "biology.alk.copy_number",
        _NB + "biology.alk.status",
        ("amplification",),
        "ALK status is amplification",
    ),
)

_S = "modules.sarcoma."
_RMS = frozenset({"8900/3", "8901/3", "8902/3", "8910/3", "8912/3", "8920/3"})
_EWING = frozenset({"9260/3", "9364/3", "9365/3"})

MODULES: Final[Mapping[str, Module]] = MappingProxyType(
    {
        m.name: m
        for m in (
            Module(
                name="neuroblastoma",
                label="Neuroblastoma",
                fields=tuple(_from_v1(_v1(old), new) for old, new in NB_PATHS.items()),
                morphologies=frozenset({"9500/3", "9490/3"}),
                iccc_subgroups=frozenset({"IVa"}),
                conditions=_NB_CONDITIONS,
                note="panel-case/1's neuroblastoma fields, unchanged, under modules.neuroblastoma.",
            ),
            Module(
                name="sarcoma",
                label="Rhabdomyosarcoma and Ewing sarcoma",
                fields=(
                    _f(
                        _S + "subtype",
                        "enum",
                        "Histological subtype",
                        "O",
                        value_set="sarcoma_subtype",
                    ),
                    _f(
                        _S + "foxo1_fusion",
                        "enum",
                        "FOXO1 fusion",
                        "C",
                        value_set="foxo1_fusion",
                        note="required for rhabdomyosarcoma",
                    ),
                    _f(
                        _S + "ewing_fusion",
                        "enum",
                        "Ewing sarcoma fusion",
                        "C",
                        value_set="ewing_fusion",
                        note="required for Ewing sarcoma",
                    ),
                    _f(_S + "irs_group", "enum", "IRS clinical group", "O", value_set="irs_group"),
                    _f(
                        _S + "risk_group",
                        "enum",
                        "Risk group at diagnosis",
                        "R",
                        value_set="sarcoma_risk_group",
                    ),
                    _f(
                        _S + "primary_site_prognosis",
                        "enum",
                        "Primary site (favourable or not)",
                        "O",
                        value_set="site_prognosis",
                    ),
                    _f(_S + "metastatic_at_diagnosis", "bool", "Metastatic at diagnosis", "R"),
                    _f(
                        _S + "metastatic_sites_at_diagnosis",
                        "enum_list",
                        "Metastatic sites at diagnosis",
                        "C",
                        value_set="disease_site",
                        note="required when metastatic at diagnosis",
                    ),
                ),
                morphologies=_RMS | _EWING,
                iccc_subgroups=frozenset({"IXa"}),
                conditions=(
                    Condition(
                        _S + "foxo1_fusion",
                        "tumour.morphology",
                        tuple(sorted(_RMS)),
                        "the tumour is a rhabdomyosarcoma",
                    ),
                    Condition(
                        _S + "ewing_fusion",
                        "tumour.morphology",
                        tuple(sorted(_EWING)),
                        "the tumour is a Ewing sarcoma",
                    ),
                    Condition(
                        _S + "metastatic_sites_at_diagnosis",
                        _S + "metastatic_at_diagnosis",
                        (True,),
                        "the tumour was metastatic at diagnosis",
                    ),
                ),
                note="A modest module showing the pattern; extend it with its sources.",
            ),
        )
    }
)


def _all_fields() -> dict[str, FieldSpecV2]:
    out: dict[str, FieldSpecV2] = {}
    specs = [*CORE_FIELDS, *(f for m in MODULES.values() for f in m.fields)]
    for spec in specs:
        if spec.path in out:  # pragma: no cover - guards the tables above
            raise ValueError(f"duplicate field {spec.path}")
        if spec.value_set is not None and spec.value_set not in V2_VALUE_SETS:  # pragma: no cover
            raise ValueError(f"{spec.path}: unknown value set {spec.value_set}")
        out[spec.path] = spec
    for m in MODULES.values():  # pragma: no cover - guards the tables above
        for spec in m.fields:
            if not spec.path.startswith(m.prefix):
                raise ValueError(f"{spec.path} is outside module {m.name}")
        for cond in m.conditions:
            if cond.field not in out:
                raise ValueError(f"condition on unknown field {cond.field}")
    return out


#: Every stored field of ``panel-case/2`` (core, then each module), by path.
FIELDS_V2: Final[Mapping[str, FieldSpecV2]] = MappingProxyType(_all_fields())


def _tree(specs: Mapping[str, FieldSpecV2]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, spec in specs.items():
        node = root
        *heads, last = path.split(".")
        for part in heads:
            node = node.setdefault(part, {})
        node[last] = spec
    return root


TREE_V2: Final = _tree(FIELDS_V2)


# --------------------------------------------------------------------------------------------
# Derived values
# --------------------------------------------------------------------------------------------


def modules_for(doc: Mapping[str, Any]) -> list[Module]:
    """The modules that apply to the document's tumour (none while it has no tumour type)."""
    morph = get_path(dict(doc), "tumour.morphology")
    topo = get_path(dict(doc), "tumour.topography")
    return [m for m in MODULES.values() if m.applies_to(morph, topo)]


def iccc_of(doc: Mapping[str, Any]) -> dict[str, str] | None:
    """The derived ICCC-3 group of the document's tumour (``None`` when unknown)."""
    group = iccc_for(
        get_path(dict(doc), "tumour.morphology"), get_path(dict(doc), "tumour.topography")
    )
    return group.to_dict() if group else None


def implied_alterations(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The generic alterations a module's own fields imply (MYCN amplification, ALK variants,
    amplification or fusion), each with ``implied_by`` (the module path). They are derived on
    read, never stored, so they can never disagree with the module."""
    d = dict(doc)
    out: list[dict[str, Any]] = []
    mycn_path = _NB + "biology.mycn"
    if get_path(d, mycn_path) == "amplified":
        out.append({"gene": "MYCN", "type": "amplification", "implied_by": mycn_path})
    alk_path = _NB + "biology.alk.status"
    alk = get_path(d, alk_path)
    if alk == "mutation":
        variants = get_path(d, _NB + "biology.alk.variants")
        items = [v for v in variants if isinstance(v, dict)] if isinstance(variants, list) else []
        for var in items or [{}]:
            item: dict[str, Any] = {"gene": "ALK", "type": "snv_indel"}
            for key in ("protein_change", "vaf_pct", "origin"):
                if var.get(key) is not None:
                    item[key] = var[key]
            out.append({**item, "implied_by": alk_path})
    elif alk == "amplification":
        item = {"gene": "ALK", "type": "amplification"}
        copies = get_path(d, _NB + "biology.alk.copy_number")
        if copies is not None:
            item["copy_number"] = copies
        out.append({**item, "implied_by": alk_path})
    elif alk == "fusion":
        out.append({"gene": "ALK", "type": "fusion", "implied_by": alk_path})
    return out


def molecular_alterations(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every alteration of the case: the recorded ones, then those its modules imply."""
    recorded = get_path(dict(doc), "molecular.alterations")
    items = [dict(a) for a in recorded if isinstance(a, dict)] if isinstance(recorded, list) else []
    return [*items, *implied_alterations(doc)]


# --------------------------------------------------------------------------------------------
# Validation (generated from the tables)
# --------------------------------------------------------------------------------------------


def _check_value(spec: FieldSpecV2, path: str, value: Any, out: list[Problem]) -> None:
    """Check one value against its spec: ``panel-case/1``'s check with this format's value sets
    and text limits."""
    check_value(spec, path, value, out, value_sets=V2_VALUE_SETS, max_text=MAX_TEXT)


def _walk(node: dict[str, Any], tree: dict[str, Any], prefix: str, out: list[Problem]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        sub = tree.get(key)
        if sub is None:
            if prefix == "" and key in SYSTEM_KEYS:
                continue
            if prefix == "modules.":
                out.append(Problem(path, f"is not a module (modules: {', '.join(MODULES)})"))
            elif any(path == d.path for d in DERIVED_FIELDS):
                out.append(Problem(path, "is derived from tumour.morphology; leave it out"))
            else:
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


def validate_v2(
    doc: Any, *, panels: set[str] | None = None, centres: set[str] | None = None
) -> list[Problem]:
    """Problems that make a ``panel-case/2`` document unacceptable even as a draft."""
    if not isinstance(doc, dict):
        return [Problem("", "a case must be a JSON object")]
    out: list[Problem] = []
    if doc.get("schema") != SCHEMA_V2:
        out.append(Problem("schema", f'must be "{SCHEMA_V2}"'))
    _walk(doc, TREE_V2, "", out)
    if out:
        return out
    panel, centre = doc.get("panel"), doc.get("referring_centre")
    if panels is not None and panel is not None and panel not in panels:
        out.append(Problem("panel", f"{_show(panel)} is not a configured panel"))
    if centres is not None and centre is not None and centre not in centres:
        out.append(Problem("referring_centre", f"{_show(centre)} is not a known centre"))
    morph = get_path(doc, "tumour.morphology")
    if morph is not None and get_tumour_type(morph) is None:
        out.append(
            Problem("tumour.morphology", f"{_show(morph)} is not in the list of tumour types")
        )
    present = get_path(doc, "modules")
    if isinstance(present, dict) and isinstance(morph, str):
        topo = get_path(doc, "tumour.topography")
        for name in present:
            if not MODULES[name].applies_to(morph, topo):
                out.append(Problem(f"modules.{name}", f"does not apply to tumour type {morph}"))
    at_dx = get_path(doc, "patient.age_at_diagnosis_months")
    now = get_path(doc, "patient.age_now_months")
    if _is_int(at_dx) and _is_int(now) and now < at_dx:
        out.append(Problem("patient.age_now_months", "cannot be less than the age at diagnosis"))
    to_event = get_path(doc, "status.months_diagnosis_to_event")
    if _is_int(at_dx) and _is_int(now) and _is_int(to_event) and to_event > now - at_dx:
        out.append(
            Problem("status.months_diagnosis_to_event", "is longer than the time since diagnosis")
        )
    lines = get_path(doc, "treatment.lines")
    for i, line in enumerate(lines if isinstance(lines, list) else []):
        start, end = line.get("start_month"), line.get("end_month")
        if _is_int(start) and _is_int(end) and end < start:
            out.append(Problem(f"treatment.lines[{i}].end_month", "cannot be before the start"))
    return out


def _conditions(doc: dict[str, Any]) -> list[Condition]:
    conds = [c for c in CORE_CONDITIONS if c.applies(doc)]
    for m in modules_for(doc):
        conds.extend(c for c in m.conditions if c.applies(doc))
    return conds


def applicable_conditionals_v2(doc: dict[str, Any]) -> set[str]:
    """The conditional fields that apply to ``doc`` (for showing and hiding form sections)."""
    return {c.field for c in _conditions(doc)}


#: Required, but ``null`` means "not done": the key must be there.
_KEY_MUST_BE_PRESENT = frozenset({"disease.bone_marrow_pct"})
#: Required lists that need at least one entry.
_NON_EMPTY = frozenset({"treatment.lines", "disease.sites"})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_for_submit_v2(doc: dict[str, Any]) -> list[Problem]:
    """What must still be filled in before the case can be submitted: the core's required fields,
    those of every module that applies to the tumour, and the conditional ones that apply."""
    out: list[Problem] = []
    specs = [*CORE_FIELDS, *(f for m in modules_for(doc) for f in m.fields)]
    for spec in specs:
        path = spec.path
        if spec.requirement != "R" or path in SYSTEM_KEYS:
            continue
        if path in _KEY_MUST_BE_PRESENT:
            head, _, last = path.rpartition(".")
            section = get_path(doc, head)
            if not isinstance(section, dict) or last not in section:
                out.append(Problem(path, "is required (leave it empty only if not done)"))
            continue
        value = get_path(doc, path)
        if _blank(value):
            out.append(Problem(path, "is required"))
        elif path in _NON_EMPTY and value == []:
            out.append(Problem(path, "needs at least one entry"))
    for spec in specs:
        if spec.type != "object_list":
            continue
        items = get_path(doc, spec.path)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            for ispec in spec.item_fields:
                if ispec.requirement == "R" and _blank(item.get(ispec.path)):
                    out.append(Problem(f"{spec.path}[{i}].{ispec.path}", "is required"))
            if (
                spec.path == "molecular.alterations"
                and _blank(item.get("type"))
                and _blank(item.get("description"))
            ):
                out.append(
                    Problem(
                        f"{spec.path}[{i}].type",
                        "is required (or describe the alteration in words)",
                    )
                )
    for cond in _conditions(doc):
        value = get_path(doc, cond.field)
        if value is None or value == []:
            out.append(Problem(cond.field, f"is required because {cond.why}"))
    return out


_ITEM = re.compile(r"^(?P<list>[a-z0-9_.]+)\[(?P<i>\d+)\](?:\.(?P<key>[a-z0-9_]+))?$")


def label_v2(path: str) -> str:
    """A person's name for a field path of either version: ``treatment.lines[1].cycles`` ->
    "Treatment lines (in order), line 2: Cycles"; the path itself when unknown."""
    m = _ITEM.match(path)
    if m:
        spec = FIELDS_V2.get(m["list"]) or v1.FIELDS.get(m["list"])
        if spec is None:
            return path
        text = f"{spec.label}, item {int(m['i']) + 1}"
        if m["key"]:
            item = next((f for f in spec.item_fields if f.path == m["key"]), None)
            text += f": {item.label if item else m['key']}"
        return text
    spec = FIELDS_V2.get(path) or v1.FIELDS.get(path)
    if spec is None:
        derived = next((d for d in DERIVED_FIELDS if d.path == path), None)
        return derived.label if derived else path
    return spec.label


def value_label_v2(path: str, value: Any) -> str:
    """The label of a coded value at ``path`` (either version); the value as text otherwise."""
    spec = FIELDS_V2.get(path) or v1.FIELDS.get(path)
    if spec is not None and spec.value_set and isinstance(value, str):
        try:
            return V2_VALUE_SETS[spec.value_set].label_of(value)
        except (KeyError, AttributeError):
            pass
    return "—" if value in (None, "") else str(value).replace("_", " ")


def text_fields_v2(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every free-text value of ``doc`` with its path, for the identifier guard."""
    return text_fields(doc, FIELDS_V2)


# Sanity checks run at import: every enum names a known value set.
def _check_tables() -> None:
    for spec in FIELDS_V2.values():
        for s in (spec, *spec.item_fields):
            if (
                s.type in ("enum", "enum_list") and s.value_set not in V2_VALUE_SETS
            ):  # pragma: no cover
                raise ValueError(f"{s.path}: enum without a known value set")


_check_tables()
del _check_tables

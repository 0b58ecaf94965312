"""The OpenAPI 3.1 documents of the JSON API: v1 at ``/api/v1/openapi.json``, v2 at
``/api/v2/openapi.json``.

The ``panel-case/1`` JSON Schema in them is generated from :data:`panel.caseformat.fields.FIELDS`
(through the key tree :data:`panel.caseformat.schema.TREE` that the validator walks), and the
``panel-case/2`` one from :data:`panel.caseformat.v2.FIELDS_V2` and its modules (through
:data:`panel.caseformat.v2.TREE_V2`, which :func:`~panel.caseformat.v2.validate_v2` walks), so a
document and its validator cannot disagree about keys, types, value sets or ranges. v1 serves
``panel-case/1`` for a neuroblastoma case and ``panel-case/2`` for any other (its case schema
is a ``oneOf`` of the two); v2 serves ``panel-case/2`` always. What a
JSON Schema cannot say (cross-field checks such as "age now >= age at diagnosis", configured
panel and centre codes, and what is required *to submit*) is written in the descriptions and
in the ``x-requirement`` extension (R, C, O as in ``case-format.md``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

from panel.accounts.models import PanelRoleKind
from panel.api import parsing, tokens
from panel.caseformat import schema as case_format
from panel.caseformat import v2
from panel.caseformat.fields import VALUE_SETS, FieldSpec
from panel.cases.models import CaseStatus

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
API_VERSION_2 = "2.0.0"
#: Free text may not hold C0 control characters other than tab, newline and return.
_ALLOWED = r"[^\x00-\x08\x0B\x0C\x0E-\x1F]"
TEXT_PATTERN = rf"^{_ALLOWED}*$"
#: The same, and not blank (at least one character that is not white space).
NON_BLANK_TEXT_PATTERN = rf"^{_ALLOWED}*[^\s\x00-\x08\x0B\x0C\x0E-\x1F]{_ALLOWED}*$"
CODE_MAX = 32

_REQUIREMENT = {
    "R": "Required to submit (a draft may leave it out).",
    "C": "Required to submit in some cases.",
    "O": "Optional.",
    "-": "Set by the system.",
}
_SECTIONS = {
    "family": "What the family knows, asks and can do.",
    "patient": "Ages in months; no identifiers, ever.",
    "diagnosis": "The disease at diagnosis.",
    "status": "The disease status now (refractory, relapsed or progressive): not the workflow "
    "state of the referral, which is the envelope's `workflow_status`.",
    "disease": "The extent of the disease now.",
    "biology": "Tumour biology.",
    "alk": "ALK status and, when mutated, its variants.",
    "segmental": "Segmental chromosomal alterations.",
    "treatment": "Treatment so far, in order.",
    "response": "Response assessments (INRC 2017).",
    "end_induction": "Response at the end of induction.",
    "current": "The current response.",
    "fitness": "Performance status and organ function.",
    "tumour": "The tumour type (ICD-O-3); its ICCC-3 group is derived, never sent.",
    "molecular": "Molecular alterations, whatever the tumour.",
    "organ_function": "Organ function and blood counts.",
    "local_mdt": "The local multidisciplinary team's discussion.",
    "modules": "Disease modules: only those that apply to the tumour type may be present "
    "(422 otherwise); a module's required fields are required to submit.",
}

#: A complete referral (it can be submitted as it is), shown in the document as an example.
EXAMPLE_CASE: dict[str, Any] = {
    "schema": "panel-case/1",
    "panel": "NAP",
    "referring_centre": "BRISTOL",
    "urgency": "routine",
    "clinical_question": "Poor metastatic response after rapid COJEC: persistent mIBG-avid bone "
    "disease. Is a trial an option, or another intensification?",
    "family": {
        "aware_of_referral": True,
        "questions": ["Why has the treatment not worked as well as hoped?"],
        "max_travel_km": None,
    },
    "patient": {"age_at_diagnosis_months": 40, "age_now_months": 46, "sex": "male"},
    "diagnosis": {
        "inrg_stage": "M",
        "risk_group": "high",
        "primary_site": "adrenal",
        "mibg": "avid",
        "siopen_score": 24,
    },
    "status": {
        "category": "refractory",
        "episode": 1,
        "months_diagnosis_to_event": 5,
        "months_since_last_treatment": 1,
    },
    "disease": {
        "sites": ["bone", "bone_marrow"],
        "measurable": False,
        "bone_marrow_pct": 3,
        "mibg": "avid",
        "siopen_score": 9,
        "fdg_pet": "not_done",
    },
    "biology": {
        "mycn": "amplified",
        "alk": {"status": "wild_type"},
        "profiling_at_relapse": "not_done",
    },
    "treatment": {
        "lines": [
            {"phase": "induction", "regimen": "RAPID_COJEC", "cycles": 8, "best_response": "MR"}
        ]
    },
    "fitness": {"performance_scale": "lansky", "performance_score": 80},
}

#: A complete ``panel-case/2`` sarcoma referral (an ECMC panel), the v2 document's example.
EXAMPLE_CASE_V2: dict[str, Any] = {
    "schema": "panel-case/2",
    "panel": "ECMC-NORTH",
    "referring_centre": "LEEDS",
    "urgency": "routine",
    "clinical_question": "Second relapse of alveolar rhabdomyosarcoma with lung and bone "
    "disease after IVA and VIT. Is there an early-phase trial suitable now?",
    "tumour": {"morphology": "8920/3", "topography": "C49.2"},
    "family": {
        "aware_of_referral": True,
        "questions": ["Is there a trial close to home?"],
    },
    "patient": {"age_at_diagnosis_months": 110, "age_now_months": 140, "sex": "male"},
    "status": {
        "category": "relapsed",
        "episode": 2,
        "months_diagnosis_to_event": 28,
        "months_since_last_treatment": 1,
        "relapse_pattern": "metastatic",
    },
    "disease": {"sites": ["lung", "bone"], "measurable": True, "bone_marrow_pct": None},
    "molecular": {
        "alterations": [{"gene": "PAX3", "type": "fusion", "partner": "FOXO1", "test": "rna_seq"}],
        "profiling_at_relapse": "done",
    },
    "treatment": {
        "lines": [
            {"phase": "induction", "regimen": "IVA", "cycles": 9, "best_response": "CR"},
            {
                "phase": "maintenance",
                "regimen": "VINORELBINE_CYCLO",
                "cycles": 6,
                "best_response": "CR",
            },
            {"phase": "salvage", "regimen": "VIT", "cycles": 4, "best_response": "PD"},
        ]
    },
    "fitness": {"performance_scale": "lansky", "performance_score": 80},
    "modules": {
        "sarcoma": {
            "subtype": "rms_alveolar",
            "foxo1_fusion": "pax3_foxo1",
            "risk_group": "high",
            "metastatic_at_diagnosis": False,
        }
    },
}


# --------------------------------------------------------------------------- panel-case/1
def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts ``null`` (null means *unknown* in the format)."""
    schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _number(n: float) -> int | float:
    return int(n) if float(n).is_integer() else n


def _describe(spec: FieldSpec, value_sets: Any = VALUE_SETS) -> dict[str, Any]:
    note = spec.note
    if spec.requirement == "C" and note.startswith("required when "):
        parts = [f"Required to submit {note.removeprefix('required ')}."]
        note = ""
    else:
        parts = [_REQUIREMENT[spec.requirement]]
    if note:
        parts.append(note[0].upper() + note[1:] + ".")
    if spec.nullable_means and "null means" not in note:
        parts.append(f"null means {spec.nullable_means}.")
    if spec.source:
        parts.append(f"A code from {spec.source}.")
    out: dict[str, Any] = {
        "title": spec.label,
        "description": " ".join(parts),
        "x-requirement": spec.requirement,
    }
    if spec.value_set:
        out["x-enum-labels"] = {c.code: c.label for c in value_sets[spec.value_set].choices}
    return out


@dataclass(frozen=True)
class _Format:
    """What a format's field schemas depend on: its value sets and text limits."""

    value_sets: Any
    max_text: Any


_V1 = _Format(VALUE_SETS, case_format.MAX_TEXT)
_V2 = _Format(v2.V2_VALUE_SETS, v2.MAX_TEXT)


def _value_schema(spec: FieldSpec, path: str, fmt: _Format = _V1) -> dict[str, Any]:
    """The JSON Schema of one field (``path`` is where it sits, for text length limits)."""
    t = spec.type
    schema: dict[str, Any]
    if t in ("int", "number"):
        schema = {"type": "integer" if t == "int" else "number"}
        if spec.minimum is not None:
            schema["minimum"] = _number(spec.minimum)
        if spec.maximum is not None:
            schema["maximum"] = _number(spec.maximum)
        if spec.step:
            schema["multipleOf"] = _number(spec.step)
    elif t == "bool":
        schema = {"type": "boolean"}
    elif t == "enum":
        schema = {"type": "string", "enum": list(fmt.value_sets[spec.value_set].codes)}
    elif t == "enum_list":
        schema = {
            "type": "array",
            "items": {"type": "string", "enum": list(fmt.value_sets[spec.value_set].codes)},
            "uniqueItems": True,
        }
    elif t == "text":
        limit = fmt.max_text.get(path, case_format.DEFAULT_MAX_TEXT)
        schema = {"type": "string", "maxLength": limit, "pattern": TEXT_PATTERN}
    elif t == "text_list":
        schema = {
            "type": "array",
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": case_format.MAX_QUESTION,
                "pattern": NON_BLANK_TEXT_PATTERN,
                "description": "Not blank.",
            },
        }
        if spec.max_items is not None:
            schema["maxItems"] = spec.max_items
    elif t == "object_list":
        schema = {
            "type": "array",
            "maxItems": case_format.MAX_LIST_ITEMS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    item.path: _value_schema(item, f"{path}[].{item.path}", fmt)
                    for item in spec.item_fields
                },
            },
        }
    elif t == "code":
        pattern = getattr(spec, "pattern", None)
        schema = {"type": "string", "maxLength": CODE_MAX, "pattern": pattern or TEXT_PATTERN}
    else:  # pragma: no cover - FIELD_TYPES is closed
        raise ValueError(f"{path}: no JSON Schema for field type {t!r}")
    return {**_describe(spec, fmt.value_sets), **_nullable(schema)}


def _section_description(path: str, key: str) -> str:
    if path.startswith("modules.") and path.count(".") == 1:
        module = v2.MODULES[key]
        applies = ", ".join(sorted(module.morphologies))
        groups = ", ".join(sorted(module.iccc_subgroups))
        return (
            f"The {module.label.lower()} module: present only for tumour types {applies}"
            + (f" (or ICCC-3 subgroup {groups})" if groups else "")
            + "."
        )
    return _SECTIONS.get(key, "")


def _object_schema(tree: dict[str, Any], prefix: str, fmt: _Format = _V1) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, node in tree.items():
        path = f"{prefix}{key}"
        if isinstance(node, dict):
            sub = _object_schema(node, path + ".", fmt)
            sub["type"] = ["object", "null"]
            sub["description"] = _section_description(path, key) + " null or absent: unknown."
            properties[key] = sub
        else:
            properties[key] = _value_schema(node, path, fmt)
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _document_schema(root: dict[str, Any], schema_name: str, description: str) -> dict[str, Any]:
    """A case document's root schema: its ``schema`` member the constant ``schema_name``, the
    system's ``reference``, and the description of what a schema cannot say."""
    root["properties"]["schema"] = {
        "title": "Format",
        "description": f'Always "{schema_name}".',
        "type": "string",
        "const": schema_name,
    }
    root["properties"]["reference"].update(
        description="Assigned by the system (e.g. NB-2026-0007). Ignored when creating a case; "
        "when replacing one it must be absent, null or the case's own reference.",
    )
    root["required"] = ["schema"]
    root["title"] = schema_name
    root["description"] = description
    return root


@cache
def _case_schema() -> dict[str, Any]:
    return _document_schema(
        _object_schema(case_format.TREE, ""),
        case_format.SCHEMA,
        "One anonymised referral. Absent or null means unknown; an empty list means none. "
        "Unknown keys are refused (422, naming the field). Checks a schema cannot express are "
        "also made: panel and referring_centre must be configured codes, "
        "patient.age_now_months >= patient.age_at_diagnosis_months, and "
        "status.months_diagnosis_to_event fits between them. Free text is scanned for patient "
        "identifiers before it is saved.",
    )


def case_schema() -> dict[str, Any]:
    """The JSON Schema of a ``panel-case/1`` document (a fresh copy, safe to change)."""
    return copy.deepcopy(_case_schema())


@cache
def _case_schema_v2() -> dict[str, Any]:
    return _document_schema(
        _object_schema(v2.TREE_V2, "", _V2),
        v2.SCHEMA_V2,
        "One anonymised referral of any relapsed or refractory childhood cancer: a core every "
        "case has (tumour type as an ICD-O-3 morphology code, ages, disease status, sites, "
        "molecular alterations, treatment, fitness, organ function, family) and the disease "
        "modules that apply to its tumour type (`modules.neuroblastoma`, `modules.sarcoma`; "
        "GET /case-format lists them). Absent or null means unknown; an empty list means none. "
        "Unknown keys are refused (422, naming the field), and so are the derived "
        "tumour.iccc_group and tumour.iccc_subgroup. Checks a schema cannot express are also "
        "made: tumour.morphology must be in the list of tumour types (GET /tumour-types), a "
        "module must apply to the tumour type, panel and referring_centre must be configured "
        "codes, patient.age_now_months >= patient.age_at_diagnosis_months, "
        "status.months_diagnosis_to_event fits between them, and a treatment line cannot end "
        "before it starts. Free text is scanned for patient identifiers before it is saved.",
    )


def case_schema_v2() -> dict[str, Any]:
    """The JSON Schema of a ``panel-case/2`` document (a fresh copy, safe to change)."""
    return copy.deepcopy(_case_schema_v2())


# --------------------------------------------------------------------------- document
def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema, **extra}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


_DATE_TIME = {"type": "string", "format": "date-time"}
_CASE_HEADER: dict[str, Any] = {
    "reference": {"type": "string", "examples": ["NB-2026-0007"]},
    "workflow_status": _ref("WorkflowStatus"),
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "Goes up at every change; send it as If-Match when replacing the case.",
    },
    "panel": {"type": "string", "description": "Code of the panel the case is referred to."},
    "referring_centre": {"type": ["string", "null"]},
    "urgency": {"type": "string", "enum": ["routine", "urgent"]},
    "created_by": {"type": "string", "description": "E-mail of the referrer who created it."},
    "created_at": _DATE_TIME,
    "updated_at": _DATE_TIME,
    "submitted_at": {"type": ["string", "null"], "format": "date-time"},
}


def _schemas() -> dict[str, Any]:
    finding = {
        "type": "object",
        "description": "Where a possible patient identifier was found (the text is never "
        "echoed back). `start`/`end` are character offsets into the field's text.",
        "required": ["field", "kind", "start", "end"],
        "additionalProperties": False,
        "properties": {
            "field": {"type": "string", "examples": ["clinical_question"]},
            "kind": {"type": "string", "examples": ["nhs_number"]},
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
        },
    }
    return {
        "PanelCase": case_schema(),
        "PanelCaseV2": case_schema_v2(),
        "WorkflowStatus": {
            "type": "string",
            "enum": [s.value for s in CaseStatus],
            "description": "Where the referral is in the panel's workflow.",
        },
        "CaseMatches": {
            "type": "object",
            "additionalProperties": False,
            "required": ["case", "matches"],
            "properties": {
                "case": {"type": "string", "description": "The case reference."},
                "matches": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [
                            "trial",
                            "verdict",
                            "distance_km",
                            "sites",
                            "criteria",
                            "status",
                            "status_checked_on",
                            "status_source",
                            "plain_title",
                            "plain_summary",
                        ],
                        "properties": {
                            "trial": {"type": "string"},
                            "plain_title": {
                                "type": ["string", "null"],
                                "maxLength": 90,
                                "description": "The trial's title for families, in plain "
                                "language (the family letter prints it, not the registry "
                                "title); null: not written yet.",
                            },
                            "plain_summary": {
                                "type": ["string", "null"],
                                "maxLength": 600,
                                "description": "2-3 short sentences for families: what the "
                                "trial tests, who it is for, what taking part involves; null: "
                                "not written yet. A recommendation suggesting a trial without "
                                "both cannot be approved or sent.",
                            },
                            "status": {
                                "type": "string",
                                "enum": ["open"],
                                "description": "The registry status: only trials open at one "
                                "of their sites or more are listed.",
                            },
                            "status_checked_on": {
                                "type": ["string", "null"],
                                "format": "date",
                                "description": "When the status was last checked (by the "
                                "registry sync or a coordinator), YYYY-MM-DD; null: never.",
                            },
                            "status_source": {
                                "type": ["string", "null"],
                                "description": "Where the status came from, e.g. "
                                '"ClinicalTrials.gov NCT03363373".',
                            },
                            "verdict": {
                                "type": "string",
                                "enum": ["eligible", "possible", "ineligible"],
                            },
                            "distance_km": {"type": ["integer", "null"]},
                            "sites": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["centre", "distance_km"],
                                    "properties": {
                                        "centre": {"type": "string"},
                                        "distance_km": {"type": ["integer", "null"]},
                                    },
                                },
                            },
                            "criteria": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["id", "result", "label"],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "result": {
                                            "type": "string",
                                            "enum": ["met", "not_met", "unknown"],
                                        },
                                        "label": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "SentDocument": {
            "type": "object",
            "description": "A letter as it was sent: rendered once, stored, never changed. A "
            "later answer or amendment adds a new document (an addendum or the next version).",
            "required": [
                "id",
                "kind",
                "format",
                "version",
                "layout",
                "sent_at",
                "sha256",
                "size",
                "content_type",
                "url",
            ],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "kind": {
                    "type": "string",
                    "enum": [
                        "clinician_letter",
                        "family_letter",
                        "clinician_addendum",
                        "family_addendum",
                    ],
                    "description": "Letters: version 1 is what was sent first, later versions "
                    "are updated advice. Addenda answer the family's follow-up questions.",
                },
                "format": {
                    "type": "string",
                    "enum": ["html", "pdf"],
                    "description": "`html` is the letter sheet (a fragment styled by "
                    "/static/css/letter.css); `pdf` the printable A4 letter.",
                },
                "version": {"type": "integer", "minimum": 1},
                "layout": {
                    "type": "string",
                    "enum": ["standard", "large_print", "easy_read"],
                    "description": "The family letter is also stored in large print and in "
                    "easy read when the family's communication needs ask for it (same kind and "
                    "version); every other document is `standard`.",
                },
                "sent_at": _DATE_TIME,
                "sha256": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{64}$",
                    "description": "SHA-256 of the bytes that `url` answers with.",
                },
                "size": {"type": "integer", "minimum": 0, "description": "Bytes."},
                "content_type": {"type": "string"},
                "url": {"type": "string", "description": "Where to download the exact bytes."},
            },
        },
        "LetterList": {
            "type": "object",
            "required": ["case", "letters"],
            "additionalProperties": False,
            "properties": {
                "case": {"type": "string", "description": "The case reference."},
                "letters": {
                    "type": "array",
                    "items": _ref("SentDocument"),
                    "description": "Oldest first.",
                },
            },
        },
        "Error": {
            "type": "object",
            "required": ["error", "field"],
            "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "description": "A sentence for a person."},
                "field": {
                    "type": ["string", "null"],
                    "description": "The field (dotted path), header or parameter at fault.",
                },
                "problems": {
                    "type": "array",
                    "items": _ref("Problem"),
                    "description": "Every problem found (invalid document; fields missing "
                    "for submission).",
                },
                "findings": {
                    "type": "array",
                    "items": _ref("Finding"),
                    "description": "Patient identifiers found in free text (nothing was saved).",
                },
            },
        },
        "Problem": {
            "type": "object",
            "required": ["field", "message"],
            "additionalProperties": False,
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        },
        "Finding": finding,
        "Me": {
            "type": "object",
            "required": ["email", "name", "centre", "is_referrer", "is_admin", "roles", "token"],
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string"},
                "name": {"type": "string"},
                "centre": {"type": ["string", "null"], "description": "Centre code."},
                "is_referrer": {"type": "boolean"},
                "is_admin": {"type": "boolean"},
                "roles": {
                    "type": "object",
                    "description": 'Roles by panel code, e.g. {"NAP": ["member", "chair"]}.',
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "string", "enum": [r.value for r in PanelRoleKind]},
                    },
                },
                "token": {
                    "type": "object",
                    "required": ["name", "prefix", "created_at", "expires_at"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "prefix": {"type": "string"},
                        "created_at": _DATE_TIME,
                        "expires_at": _DATE_TIME,
                    },
                    "description": "The token this request was made with.",
                },
            },
        },
        "CaseSummary": {
            "type": "object",
            "required": list(_CASE_HEADER),
            "additionalProperties": False,
            "properties": copy.deepcopy(_CASE_HEADER),
        },
        "CaseList": {
            "type": "object",
            "required": ["cases", "page", "per_page", "total", "pages"],
            "additionalProperties": False,
            "properties": {
                "cases": {"type": "array", "items": _ref("CaseSummary")},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": parsing.MAX_PER_PAGE},
                "total": {"type": "integer", "minimum": 0},
                "pages": {"type": "integer", "minimum": 0},
            },
        },
        "Case": {
            "type": "object",
            "description": "A case: its workflow state and version around its document: "
            "panel-case/1 for a neuroblastoma case, panel-case/2 for any other tumour (its "
            "`schema` member says which; /api/v2 answers panel-case/2 for every case). The "
            "document's own `status` member is the disease status section.",
            "required": [*_CASE_HEADER, "case"],
            "additionalProperties": False,
            "properties": {
                **copy.deepcopy(_CASE_HEADER),
                "case": {
                    "oneOf": [_ref("PanelCase"), _ref("PanelCaseV2")],
                    "description": "panel-case/1 when the case is a neuroblastoma case (the "
                    "only tumour panel-case/1 can carry); panel-case/2 otherwise.",
                },
                "warnings": {
                    "type": "array",
                    "items": _ref("Finding"),
                    "description": "After a save: possible identifiers that did not block it. "
                    "Check them.",
                },
            },
        },
        **_loop_schemas(),
        **_outcome_checks().openapi_schemas(),
        **_screening_schemas(),
        **_files_schemas(),
        **_network_schemas(),
        **_dicomweb_schemas(),
    }


def _parameters() -> dict[str, Any]:
    return {
        "Reference": {
            "name": "ref",
            "in": "path",
            "required": True,
            "description": "The case reference (letters are not case-sensitive).",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,16}$"},
            "examples": {"reference": {"value": "NB-2026-0007"}},
        },
        "IfMatchRequired": {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": 'The version you read (ETag of GET), e.g. `3` or `"3"`. A '
            "different current version answers 409 and nothing is saved.",
            "schema": {"type": "string", "pattern": '^"?[0-9]{1,18}"?$'},
        },
        "IfMatchOptional": {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": "Optional: submit only if the case is still at this version.",
            "schema": {"type": "string", "pattern": '^"?[0-9]{1,18}"?$'},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "A key of your choosing (a UUID) so that a retried POST makes one "
            "case: a repeat with the same key answers 200 with the case made the first time.",
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7E]{1,64}$"},
        },
        "Page": {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": parsing.MAX_PAGE, "default": 1},
        },
        "RequestId": {
            "name": "request_id",
            "in": "path",
            "required": True,
            "description": "The information request's `id` (from its POST or the timeline).",
            "schema": {"type": "integer", "minimum": 0},
        },
        "PerPage": {
            "name": "per_page",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": parsing.MAX_PER_PAGE,
                "default": parsing.DEFAULT_PER_PAGE,
            },
        },
    }


def _responses() -> dict[str, Any]:
    return {
        "BadRequest": _error(
            "Malformed request: not JSON, wrong content type, bad header or "
            "parameter (`field` names it)."
        ),
        "Unauthorized": {
            **_error(
                "No token, or a token that is unknown, revoked, expired, or whose account is "
                "deactivated or must enrol in two-factor authentication first."
            ),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
        "Forbidden": _error(
            "You may see the case but not do this (e.g. you are not its "
            "referrer; only referrers create cases)."
        ),
        "NotFound": _error("No such case, or one you may not see (the same answer)."),
        "Conflict": _error(
            "The case's state or version does not allow this now: it was "
            "changed since you read it (If-Match), or it is no longer a draft."
        ),
        "TooLarge": _error("The request body is larger than the API accepts."),
        "Unprocessable": _error(
            "The document is not a valid panel-case/1 or panel-case/2 document (unknown key, "
            "wrong type, value out of set or range, a module that does not apply to the tumour "
            "type: `field` and `problems` name them), or free text holds a patient identifier "
            "(`findings`). On submit: `problems` lists every field still missing."
        ),
        "PreconditionRequired": _error("If-Match is missing."),
        "UnsupportedMediaType": _error("The body is not of the media type this route takes."),
        "NotAcceptable": _error(
            "The Accept header asks for a media type (or transfer syntax) this route does not "
            "answer with."
        ),
        "TooManyRequests": _error(
            "Rate limit for this token exceeded; retry after the time in the Retry-After header."
        ),
    }


def _r(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _case_answer(description: str, *, location: bool = False, replayed: bool = False) -> dict:
    headers: dict[str, Any] = {
        "ETag": {
            "description": "The case's version, quoted: send it back as If-Match.",
            "required": True,
            "schema": {"type": "string"},
        }
    }
    if location:
        headers["Location"] = {
            "description": "Where the case is.",
            "required": True,
            "schema": {"type": "string"},
        }
    if replayed:
        headers["Idempotent-Replayed"] = {
            "description": "`true`: this answers a repeated POST with the same Idempotency-Key.",
            "schema": {"type": "string"},
        }
    return {"description": description, "headers": headers, **_json(_ref("Case"))}


def _case_body(version: int) -> dict[str, Any]:
    """The request body of POST and PUT: either version of the document, in either API."""
    if version == 1:
        examples = {
            "complete": {"value": EXAMPLE_CASE},
            "complete-panel-case-2": {"value": EXAMPLE_CASE_V2},
        }
    else:
        examples = {
            "complete": {"value": EXAMPLE_CASE_V2},
            "complete-panel-case-1": {"value": EXAMPLE_CASE},
        }
    return {
        "required": True,
        "description": "A panel-case/2 document, or a panel-case/1 document (neuroblastoma "
        "only; converted, and on PUT what it cannot carry is kept). A draft may be incomplete.",
        **_json({"oneOf": [_ref("PanelCaseV2"), _ref("PanelCase")]}, examples=examples),
    }


def _paths() -> dict[str, Any]:
    body = _case_body(1)
    common = {"401": _r("Unauthorized"), "429": _r("TooManyRequests")}
    ref = {"$ref": "#/components/parameters/Reference"}
    return {
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["meta"],
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        **_json({"type": "object"}),
                    }
                },
            }
        },
        "/me": {
            "get": {
                "operationId": "getMe",
                "tags": ["account"],
                "summary": "Who the token belongs to",
                "responses": {"200": {"description": "The caller.", **_json(_ref("Me"))}, **common},
            }
        },
        "/cases": {
            "get": {
                "operationId": "listCases",
                "tags": ["cases"],
                "summary": "The cases you may see",
                "description": "Referrers see the cases they created or are co-referrer on; "
                "panel members, chairs and coordinators see their panels' submitted cases "
                "(never drafts); administrators see none. Most recently changed first.",
                "parameters": [
                    {"$ref": "#/components/parameters/Page"},
                    {"$ref": "#/components/parameters/PerPage"},
                ],
                "responses": {
                    "200": {"description": "A page of cases.", **_json(_ref("CaseList"))},
                    "400": _r("BadRequest"),
                    **common,
                },
            },
            "post": {
                "operationId": "createCase",
                "tags": ["cases"],
                "summary": "Create a draft",
                "description": "Referrers only. `panel` is needed to create a case; "
                "`referring_centre` defaults to your centre. The new case is a draft: submit "
                "it when complete.",
                "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                "requestBody": body,
                "responses": {
                    "201": _case_answer("The draft was created.", location=True),
                    "200": _case_answer(
                        "A repeated POST with the same Idempotency-Key: the case made the "
                        "first time (no second case).",
                        location=True,
                        replayed=True,
                    ),
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        "/cases/{ref}": {
            "parameters": [ref],
            "get": {
                "operationId": "getCase",
                "tags": ["cases"],
                "summary": "One case",
                "responses": {
                    "200": _case_answer("The case."),
                    "404": _r("NotFound"),
                    **common,
                },
            },
            "put": {
                "operationId": "updateCase",
                "tags": ["cases"],
                "summary": "Replace a draft's document",
                "description": "The case's referrers only, while it is a draft or the panel "
                "has asked for more information. The body is the document alone (the `case` "
                "member of GET), never the envelope; workflow state, creator and version "
                "cannot be set through it.",
                "parameters": [{"$ref": "#/components/parameters/IfMatchRequired"}],
                "requestBody": body,
                "responses": {
                    "200": _case_answer("Saved."),
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    "428": _r("PreconditionRequired"),
                    **common,
                },
            },
        },
        "/cases/{ref}/matches": {
            "parameters": [ref],
            "get": {
                "operationId": "getCaseMatches",
                "tags": ["cases"],
                "summary": "Open trials matched against the case",
                "description": "The same object as `flask --app panel match FILE.json` prints: "
                "each trial open at one of its sites or more (closed, suspended, not yet "
                "recruiting and unknown-status trials are left out) with its verdict (eligible, "
                "possible, ineligible), the distance from the referring centre, the sites, every "
                "criterion's result, and its status with the date it was last checked and the "
                "source, and its title and summary for families (null until a coordinator "
                "writes them). The matcher suggests; eligibility is confirmed by the trial site.",
                "responses": {
                    "200": {
                        "description": "The matches.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CaseMatches"}
                            }
                        },
                    },
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
        "/cases/{ref}/letters": {
            "parameters": [ref],
            "get": {
                "operationId": "listCaseLetters",
                "tags": ["letters"],
                "summary": "The letters sent for the case",
                "description": "Every document sent: the clinician and family letters (HTML "
                "and PDF), answer addenda and updated versions, each with its SHA-256 and a "
                "download URL. The panel's people may read them once a record exists (the list "
                "is empty until the feedback is sent); the case's referrers once the feedback "
                "is sent (404 before, as if there were no letters).",
                "responses": {
                    "200": {"description": "The sent documents.", **_json(_ref("LetterList"))},
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
        "/cases/{ref}/letters/{document_id}": {
            "parameters": [
                ref,
                {
                    "name": "document_id",
                    "in": "path",
                    "required": True,
                    "description": "The `id` of a document in the letters list.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                },
            ],
            "get": {
                "operationId": "getCaseLetter",
                "tags": ["letters"],
                "summary": "One sent document, byte for byte",
                "description": "The exact bytes that were sent; they hash to the document's "
                "`sha256` (also the ETag). Who may read it: as for the list.",
                "responses": {
                    "200": {
                        "description": "The document.",
                        "headers": {
                            "ETag": {
                                "description": "The SHA-256 of the body, quoted.",
                                "schema": {"type": "string"},
                            }
                        },
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
        "/cases/{ref}/submit": {
            "parameters": [ref],
            "post": {
                "operationId": "submitCase",
                "tags": ["cases"],
                "summary": "Submit to the panel",
                "description": "The case's referrers only. Every required field must be there: "
                "422 lists each missing one in `problems`. Submitting a submitted case again "
                "changes nothing.",
                "parameters": [{"$ref": "#/components/parameters/IfMatchOptional"}],
                "responses": {
                    "200": _case_answer("Submitted."),
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        **_loop_paths(common, ref),
        **_outcome_checks().openapi_paths(common, ref),
        **_screening_paths(common, ref),
        **_files_paths(common, ref),
        **_network_paths(common, ref),
        **_dicomweb_paths(common, ref),
    }


# --------------------------------------------------------------------------- the loop
def _loop_schemas() -> dict[str, Any]:
    """The timeline, information requests and notifications."""
    from panel.api.timeline_views import MAX_ANSWER, MAX_QUESTION, MAX_QUESTIONS

    audience = {"type": "string", "enum": ["referrer", "panel", "coordinator"]}
    question = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_QUESTION,
        "pattern": NON_BLANK_TEXT_PATTERN,
    }
    return {
        "TimelineEvent": {
            "type": "object",
            "required": ["id", "at", "kind", "by", "text", "details", "audience"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "at": _DATE_TIME,
                "kind": {
                    "type": "string",
                    "description": "What happened, e.g. `submitted`, `resubmitted`, "
                    "`information_requested`, `information_answered`, `triaged`, `scheduled`, "
                    "`discussed`, `outcome_recorded`, `approved`, `amended`, `letter_sent`, "
                    "`family_question`, `closed`. New kinds may appear: show unknown ones by "
                    "their name.",
                },
                "by": {
                    "type": ["string", "null"],
                    "description": "The name of who did it; null for the system.",
                },
                "text": {
                    "type": ["string", "null"],
                    "description": "What was said, where there is something: the questions "
                    "(one per line) of `information_requested`, the reply of "
                    "`information_answered`.",
                },
                "details": {
                    "type": ["object", "null"],
                    "description": "More, by kind: `revision` (the version number) of "
                    "`submitted`/`resubmitted`; `request` (the information request's id) and "
                    "`questions` of `information_requested`; `request` of "
                    "`information_answered`; `version` of a letter.",
                },
                "audience": {
                    "type": "array",
                    "items": audience,
                    "description": "Who may read the entry: the case's referrers, the panel's "
                    "members and chairs, its coordinators.",
                },
            },
        },
        "Timeline": {
            "type": "object",
            "required": ["case", "events"],
            "additionalProperties": False,
            "properties": {
                "case": {"type": "string", "description": "The case reference."},
                "events": {"type": "array", "items": _ref("TimelineEvent")},
            },
        },
        "NewInformationRequest": {
            "type": "object",
            "required": ["questions"],
            "additionalProperties": False,
            "properties": {
                "questions": {
                    "oneOf": [
                        {
                            "type": "string",
                            "minLength": 1,
                            "pattern": NON_BLANK_TEXT_PATTERN,
                            "description": "One question per line (blank lines are ignored).",
                        },
                        {"type": "array", "minItems": 1, "items": question},
                    ],
                    "description": f"At most {MAX_QUESTIONS} questions of at most "
                    f"{MAX_QUESTION} characters each. Scanned for patient identifiers.",
                }
            },
            "examples": [{"questions": "Bone marrow result at relapse?\nCurrent Lansky score?"}],
        },
        "InformationRequestAnswer": {
            "type": "object",
            "required": ["answer"],
            "additionalProperties": False,
            "properties": {
                "answer": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_ANSWER,
                    "pattern": NON_BLANK_TEXT_PATTERN,
                    "description": "Your answer to the questions. Scanned for patient identifiers.",
                }
            },
            "examples": [{"answer": "Marrow 10% infiltrated at relapse; Lansky 70."}],
        },
        "InformationRequest": {
            "type": "object",
            "required": [
                "id",
                "case",
                "questions",
                "requested_at",
                "answer",
                "open",
                "closed_at",
                "workflow_status",
            ],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "case": {"type": "string", "description": "The case reference."},
                "questions": {"type": "array", "items": {"type": "string"}},
                "requested_at": _DATE_TIME,
                "answer": {
                    "type": ["string", "null"],
                    "description": "The referrer's answer so far (kept after resubmission).",
                },
                "open": {
                    "type": "boolean",
                    "description": "True until the referrer resubmits the case.",
                },
                "closed_at": {"type": ["string", "null"], "format": "date-time"},
                "workflow_status": _ref("WorkflowStatus"),
            },
        },
        "Notification": {
            "type": "object",
            "required": ["id", "kind", "case", "at", "read", "text", "link"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string"},
                "case": {
                    "type": ["string", "null"],
                    "description": "The reference of the case it is about, if any.",
                },
                "at": _DATE_TIME,
                "read": {"type": "boolean"},
                "text": {
                    "type": "string",
                    "description": "A short sentence with no clinical content.",
                },
                "link": {"type": "string", "description": "A path inside Panel (may be empty)."},
            },
        },
        "NotificationList": {
            "type": "object",
            "required": ["notifications", "unread", "page", "per_page", "total", "pages"],
            "additionalProperties": False,
            "properties": {
                "notifications": {"type": "array", "items": _ref("Notification")},
                "unread": {"type": "integer", "minimum": 0, "description": "All unread ones."},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": parsing.MAX_PER_PAGE},
                "total": {"type": "integer", "minimum": 0},
                "pages": {"type": "integer", "minimum": 0},
            },
        },
    }


def _loop_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    request_id = {"$ref": "#/components/parameters/RequestId"}
    return {
        "/cases/{ref}/timeline": {
            "parameters": [ref],
            "get": {
                "operationId": "getCaseTimeline",
                "tags": ["timeline"],
                "summary": "What happened to the case",
                "description": "The case's timeline, oldest first, as you may read it: the "
                "referrers and the panel's coordinators read the information requests and "
                "their answers; the panel's members and chairs do not. Administrators see no "
                "case.",
                "responses": {
                    "200": {"description": "The timeline.", **_json(_ref("Timeline"))},
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
        "/cases/{ref}/information-requests": {
            "parameters": [ref],
            "post": {
                "operationId": "requestInformation",
                "tags": ["timeline"],
                "summary": "Ask the referrer for information",
                "description": "The panel's coordinators, while the case is submitted: the "
                "case goes back to the referrer (`info_requested`).",
                "requestBody": {"required": True, **_json(_ref("NewInformationRequest"))},
                "responses": {
                    "201": {
                        "description": "Sent; the request's `id` is for its answer.",
                        **_json(_ref("InformationRequest")),
                    },
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        "/cases/{ref}/information-requests/{request_id}/answer": {
            "parameters": [ref, request_id],
            "post": {
                "operationId": "answerInformationRequest",
                "tags": ["timeline"],
                "summary": "Answer the panel's questions",
                "description": "The case's referrers, while the request is open. Answering "
                "again replaces the answer. Then update the referral if needed (`PUT`) and "
                "resubmit it (`submit`): that closes the request; the answer is kept in the "
                "timeline.",
                "requestBody": {"required": True, **_json(_ref("InformationRequestAnswer"))},
                "responses": {
                    "200": {"description": "Saved.", **_json(_ref("InformationRequest"))},
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _error("No such case or information request (or one you may not see)."),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        "/notifications": {
            "get": {
                "operationId": "listNotifications",
                "tags": ["notifications"],
                "summary": "Your notifications",
                "description": "Newest first. Reading them here does not mark them read.",
                "parameters": [
                    {"$ref": "#/components/parameters/Page"},
                    {"$ref": "#/components/parameters/PerPage"},
                ],
                "responses": {
                    "200": {
                        "description": "A page of notifications.",
                        **_json(_ref("NotificationList")),
                    },
                    "400": _r("BadRequest"),
                    **common,
                },
            },
        },
    }


def _outcome_checks():
    """The follow-up outcome checks' part of the document (kept beside their views)."""
    from panel.api import outcome_check_views

    return outcome_check_views


# --------------------------------------------------------------------------- screening log
def _screening_schemas() -> dict[str, Any]:
    """The screening log: each suggested trial's stage and steps, and a new step."""
    from panel.outcomes.models import (
        MAX_NOTE,
        NOT_PURSUED_REASONS,
        SCREEN_FAIL_REASONS,
        STEPS,
        ReferralStage,
    )

    reasons = sorted(set(SCREEN_FAIL_REASONS) | set(NOT_PURSUED_REASONS))
    step = {"type": "string", "enum": [s.value for s in STEPS]}
    nullable = {"type": ["string", "null"]}
    return {
        "TrialReferralStep": {
            "type": "object",
            "required": [
                "step",
                "label",
                "on",
                "reason",
                "reason_label",
                "note",
                "recorded_by",
                "recorded_at",
            ],
            "additionalProperties": False,
            "properties": {
                "step": step,
                "label": {"type": "string"},
                "on": {"type": "string", "format": "date", "description": "The day it happened."},
                "reason": {
                    **nullable,
                    "description": "The reason's key (screen-failed, not pursued).",
                },
                "reason_label": nullable,
                "note": nullable,
                "recorded_by": {**nullable, "description": "The name of who recorded it."},
                "recorded_at": _DATE_TIME,
            },
        },
        "TrialReferral": {
            "type": "object",
            "required": [
                "trial",
                "title",
                "suggested",
                "stage",
                "stage_label",
                "version",
                "steps",
                "allowed_next_steps",
                "can_withdraw_last_step",
            ],
            "additionalProperties": False,
            "properties": {
                "trial": {"type": "string", "description": "The trial's registry code."},
                "title": {"type": "string"},
                "suggested": {
                    "type": "boolean",
                    "description": "False for a trial an amendment took out of the record "
                    "(its log is kept, read only).",
                },
                "stage": {"type": "string", "enum": [s.value for s in ReferralStage]},
                "stage_label": {"type": "string"},
                "version": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Send it back as `version` to refuse a step if the log "
                    "changed since (0 before the first step).",
                },
                "steps": {"type": "array", "items": _ref("TrialReferralStep")},
                "allowed_next_steps": {
                    "type": "array",
                    "items": step,
                    "description": "The steps you may record next (empty if you may not "
                    "record, or after an outcome).",
                },
                "can_withdraw_last_step": {"type": "boolean"},
            },
        },
        "TrialReferralList": {
            "type": "object",
            "required": ["case", "trials"],
            "additionalProperties": False,
            "properties": {
                "case": {"type": "string", "description": "The case reference."},
                "trials": {"type": "array", "items": _ref("TrialReferral")},
            },
        },
        "NewTrialReferralStep": {
            "type": "object",
            "required": ["trial", "step", "on"],
            "additionalProperties": False,
            "properties": {
                "trial": {"type": "string", "minLength": 1, "pattern": NON_BLANK_TEXT_PATTERN},
                "step": step,
                "on": {
                    "type": "string",
                    "format": "date",
                    "description": "YYYY-MM-DD: not in the future, not before the record's "
                    "approval day or the previous step.",
                },
                "reason": {
                    "type": "string",
                    "enum": ["", *reasons],
                    "description": "Required for `screen_failed` and `not_pursued` (from "
                    "their lists; `other` needs a note); none for the other steps.",
                },
                "note": {
                    "type": "string",
                    "maxLength": MAX_NOTE,
                    "description": "Scanned for patient identifiers.",
                },
                "version": {"type": "integer", "minimum": 0},
            },
            "examples": [{"trial": "CRISP", "step": "referred", "on": "2026-03-02"}],
        },
    }


def _screening_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "/cases/{ref}/trial-referrals": {
            "parameters": [ref],
            "get": {
                "operationId": "getTrialReferrals",
                "tags": ["screening"],
                "summary": "The screening log",
                "description": "What happened to each trial suggested in the approved record: "
                "referred, screened, then enrolled, screen-failed, declined by the family or "
                "not pursued. Read by the panel's members, chairs and coordinators once the "
                "record is approved, and by the referrers once the letters are sent.",
                "responses": {
                    "200": {"description": "The log.", **_json(_ref("TrialReferralList"))},
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    **common,
                },
            },
            "post": {
                "operationId": "recordTrialReferralStep",
                "tags": ["screening"],
                "summary": "Record the next step of a suggested trial",
                "description": "The panel's coordinators (once the record is approved) and the "
                "case's referrers (once the letters are sent), while the case is not "
                "withdrawn. Only the `allowed_next_steps` of the trial; outcomes are final.",
                "requestBody": {"required": True, **_json(_ref("NewTrialReferralStep"))},
                "responses": {
                    "201": {"description": "Recorded.", **_json(_ref("TrialReferral"))},
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Panel API",
            "version": API_VERSION,
            "description": (
                "Cases of the paediatric oncology advisory panels, in the panel-case/1 format. "
                "Authenticate with a personal API token (`Authorization: Bearer "
                f"{tokens.TOKEN_PREFIX}...`), made on your account page or with "
                "`flask --app panel create-token EMAIL`. Every error answers "
                '`{"error": "...", "field": ... or null}`. Refusals: 404 for cases you may not '
                "see, 403 for actions you may not take on cases you can see."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "account", "description": "The caller."},
            {"name": "cases", "description": "Referrals."},
            {
                "name": "timeline",
                "description": "What happened to a case, and the questions between the "
                "panel's coordinator and the referrer.",
            },
            {"name": "notifications", "description": "Your notifications (the bell)."},
            {"name": "letters", "description": "The letters sent, exactly as sent."},
            {"name": "outcomes", "description": "Follow-up after the panel's advice."},
            {
                "name": "screening",
                "description": "What happened to the trials the panel suggested.",
            },
            {
                "name": "files",
                "description": "Scans and documents, de-identified on arrival, each file by "
                "its own background job.",
            },
            {
                "name": "image routes",
                "description": "Studies sent by hospital systems (DICOM, DICOMweb) to a case, "
                "routed by a keyed fingerprint of their Accession Number or patient ID.",
            },
            {
                "name": "dicomweb",
                "description": "DICOMweb (PS3.18): STOW-RS for hospital systems holding a "
                "DICOMweb sender token; QIDO-RS and WADO-RS of a case's de-identified images "
                "for viewers, with your personal token.",
            },
            {"name": "meta", "description": "About the API."},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{tokens.TOKEN_PREFIX} and 43 URL-safe characters",
                    "description": "A personal API token. It acts as you: keep it secret.",
                },
                "dicomwebSender": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "pdw_ and 43 URL-safe characters",
                    "description": "A hospital system's DICOMweb sender token (STOW-RS only), "
                    "made by an admin with `flask --app panel dicom-ae token`.",
                },
            },
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _responses(),
        },
    }


# --------------------------------------------------------------------------- files and jobs
_FILE_STATES = ["queued", "deidentifying", "stored", "held_back", "refused", "duplicate"]


def _files_schemas() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return {
        "FilesAccepted": {
            "type": "object",
            "required": ["job", "upload", "state", "done", "total"],
            "additionalProperties": False,
            "properties": {
                "job": {"type": "integer", "description": "Follow it at `/jobs/{job}`."},
                "upload": {"type": "integer"},
                "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "done": count,
                "total": {**count, "description": "Files received (a zip counts its entries)."},
            },
        },
        "JobFile": {
            "type": "object",
            "required": ["index", "name", "state", "reason"],
            "properties": {
                "index": {"type": "integer"},
                "name": {"type": "string", "description": "The file's safe display name."},
                "state": {"type": "string", "enum": _FILE_STATES},
                "reason": {"type": "string"},
                "kind": {"type": ["string", "null"], "enum": ["dicom", "pdf", "image", None]},
                "file_id": {"type": ["integer", "null"]},
                "pixel_text": {"type": ["string", "null"]},
                "boxes": {"type": ["integer", "null"]},
            },
        },
        "FileSeries": {
            "type": "object",
            "required": ["uid", "modality", "description", "instances", "state"],
            "additionalProperties": False,
            "properties": {
                "uid": {
                    "type": "string",
                    "description": "The series' new (de-identified) Series Instance UID.",
                },
                "modality": {"type": "string", "description": "`CT`, `MR`, `PT` ...; `?`."},
                "description": {
                    "type": "string",
                    "description": "The label(s) of the upload(s) it came in, joined by `; ` "
                    "(the series' own description is not kept).",
                },
                "instances": {**count, "description": "Its files you may see."},
                "state": {
                    "type": "string",
                    "enum": ["stored", "held_back", "partly_held_back"],
                    "description": "`held_back`: every file awaits a coordinator's review.",
                },
            },
        },
        "FileDocument": {
            "type": "object",
            "required": ["id", "name", "kind", "content_type", "state", "size", "label"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string", "description": "The file's safe display name."},
                "kind": {"type": "string", "enum": ["pdf", "image"]},
                "content_type": {"type": "string"},
                "state": {"type": "string", "enum": ["stored", "held_back"]},
                "size": {**count, "description": "Bytes."},
                "label": {"type": "string", "description": "The label of its upload."},
            },
        },
        "FileUpload": {
            "type": "object",
            "required": ["id", "job", "state", "done", "total", "label", "created_at"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "job": {
                    "type": ["integer", "null"],
                    "description": "Its job (`/jobs/{job}`); null once finished jobs are purged.",
                },
                "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "done": count,
                "total": count,
                "label": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "CaseFiles": {
            "type": "object",
            "required": ["series", "documents", "held_back", "refused", "uploads"],
            "additionalProperties": False,
            "properties": {
                "series": {"type": "array", "items": _ref("FileSeries")},
                "documents": {"type": "array", "items": _ref("FileDocument")},
                "held_back": {
                    **count,
                    "description": "Held-back files among those listed (the panel's members "
                    "are shown none until a coordinator releases them).",
                },
                "refused": {
                    **count,
                    "description": "Files refused in the uploads you may follow.",
                },
                "uploads": {
                    "type": "array",
                    "items": _ref("FileUpload"),
                    "description": "The uploads you may follow (the case's referrers, the "
                    "panel's coordinators, whoever sent it), oldest first.",
                },
            },
        },
        "Job": {
            "type": "object",
            "required": ["id", "state", "done", "total"],
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string"},
                "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "done": count,
                "failed": count,
                "total": count,
                "upload": {"type": "integer"},
                "counts": {
                    "type": "object",
                    "additionalProperties": count,
                    "description": "An upload's files by result: `stored`, `held_back`, "
                    "`refused`, `duplicate`.",
                },
                "files": {"type": "array", "items": _ref("JobFile")},
                "error": {"type": ["string", "null"]},
            },
        },
    }


def _files_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "/cases/{ref}/files": {
            "parameters": [ref],
            "get": {
                "operationId": "listFiles",
                "tags": ["files"],
                "summary": "The case's series and documents",
                "description": "DICOM files grouped by series, and documents, as the case's "
                "images page lists them to you: released files to whoever may see the case; "
                "held-back files (awaiting a coordinator's review) also to its referrers and "
                "the panel's coordinators, never to the panel's members. `held_back` and "
                "`refused` count what you are shown; `uploads` follow files still being "
                "de-identified.",
                "responses": {
                    "200": {"description": "The files.", **_json(_ref("CaseFiles"))},
                    "404": _r("NotFound"),
                    **common,
                },
            },
            "post": {
                "operationId": "uploadFiles",
                "tags": ["files"],
                "summary": "Upload scans and documents",
                "description": "One or many files, or a zip of a series, in the multipart "
                "field `files` (DICOM, PDF, PNG, JPEG). Answers at once with the job that "
                "counts them: each file is then checked, de-identified and stored (or held "
                "back for a coordinator, or refused with its reason) by its own job. The "
                "case's referrers while it is a draft, submitted, scheduled or waiting for "
                "information; the panel's coordinators while it is open.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["files"],
                                "properties": {
                                    "files": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                    "label": {
                                        "type": "string",
                                        "maxLength": 120,
                                        "pattern": r"^[^\x00-\x1F\x7F]*$",
                                        "description": "Shown with the files (e.g. `CT at "
                                        "relapse`): one line, no patient identifier.",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": {
                        "description": "Received; follow the job.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        **_json(_ref("FilesAccepted")),
                    },
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "415": _r("UnsupportedMediaType"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        "/jobs/{job_id}": {
            "parameters": [
                {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "get": {
                "operationId": "getJob",
                "tags": ["files"],
                "summary": "A background job's progress",
                "description": "`state` is `queued`, `running`, `done` or `failed`; `done` "
                "of `total`. An upload's job also lists each file's state, as the upload "
                "page's progress bars show it. Only those who may see the upload (its "
                "case's referrers, the panel's coordinators) may read it.",
                "responses": {
                    "200": {"description": "The job.", **_json(_ref("Job"))},
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
    }


# --------------------------------------------------------------------------- image routes
_ROUTE_VALUE = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[^\x00-\x1F\\]*$",
}


def _network_schemas() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    when = {"type": ["string", "null"], "format": "date-time"}
    return {
        "NewImageRoute": {
            "type": "object",
            "description": "Exactly one of the two keys: the value exactly as the hospital's "
            "PACS will send it. Panel keeps only a keyed HMAC of it and never shows it again.",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
            "properties": {
                "accession_number": {**_ROUTE_VALUE, "maxLength": 16},
                "patient_id": {**_ROUTE_VALUE, "maxLength": 64},
            },
        },
        "ImageRoute": {
            "type": "object",
            "required": ["id", "kind", "created_at", "active"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string", "enum": ["accession_number", "patient_id"]},
                "created_at": _DATE_TIME,
                "created_by": {"type": ["string", "null"]},
                "active": {"type": "boolean"},
                "expired_at": when,
                "expired_reason": {
                    "type": ["string", "null"],
                    "description": "Why it stopped routing (`removed`, `feedback sent`, ...).",
                },
            },
        },
        "ImageRoutes": {
            "type": "object",
            "required": ["routes"],
            "properties": {"routes": {"type": "array", "items": _ref("ImageRoute")}},
        },
        "IncomingStudy": {
            "type": "object",
            "required": ["id", "state", "source", "received_at"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer"},
                "state": {
                    "type": "string",
                    "enum": [
                        "arriving",
                        "waiting",
                        "deidentifying",
                        "stored",
                        "refused",
                        "deleted",
                    ],
                    "description": "`arriving` (being received), `deidentifying` (its files' "
                    "jobs are running: `done` of `total`), `stored` (see `counts`: stored, "
                    "held back for review, refused), `refused` or `deleted` (see `reason`).",
                },
                "source": {"type": "string", "enum": ["c-store", "stow-rs"]},
                "sender": {"type": "string"},
                "received_at": _DATE_TIME,
                "released_at": when,
                "instances": count,
                "refused_instances": count,
                "reason": {"type": ["string", "null"]},
                "upload": {"type": ["integer", "null"]},
                "done": count,
                "total": count,
                "counts": {"type": ["object", "null"], "additionalProperties": count},
            },
        },
        "IncomingStudies": {
            "type": "object",
            "required": ["studies"],
            "properties": {"studies": {"type": "array", "items": _ref("IncomingStudy")}},
        },
    }


def _network_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    who = (
        " The case's referrers, and the panel's coordinators once it was submitted, while "
        "the case takes images (until the panel's feedback is sent: then 409)."
    )
    return {
        "/cases/{ref}/image-routes": {
            "parameters": [ref],
            "get": {
                "operationId": "listImageRoutes",
                "tags": ["image routes"],
                "summary": "The case's image routes",
                "description": "Newest first: kind, when and by whom added, active or why "
                "not. Never the value.",
                "responses": {
                    "200": {"description": "The routes.", **_json(_ref("ImageRoutes"))},
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    **common,
                },
            },
            "post": {
                "operationId": "addImageRoute",
                "tags": ["image routes"],
                "summary": "Route studies from your hospital's systems to this case",
                "description": "Studies the case's referring centre's DICOM senders send "
                "with this Accession Number (or hospital patient ID) come to this case and "
                "are de-identified on arrival; a study already waiting in quarantine is "
                "released at once." + who,
                "requestBody": {"required": True, **_json(_ref("NewImageRoute"))},
                "responses": {
                    "201": {
                        "description": "Added (the answer never holds the value).",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        **_json(_ref("ImageRoute")),
                    },
                    "400": _r("BadRequest"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "413": _r("TooLarge"),
                    "422": _r("Unprocessable"),
                    **common,
                },
            },
        },
        "/cases/{ref}/image-routes/{route_id}": {
            "parameters": [
                ref,
                {"name": "route_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            ],
            "delete": {
                "operationId": "removeImageRoute",
                "tags": ["image routes"],
                "summary": "Stop an image route",
                "description": "It stays listed, expired (`removed`)." + who,
                "responses": {
                    "200": {"description": "The route, expired.", **_json(_ref("ImageRoute"))},
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    **common,
                },
            },
        },
        "/cases/{ref}/incoming-studies": {
            "parameters": [ref],
            "get": {
                "operationId": "listIncomingStudies",
                "tags": ["image routes"],
                "summary": "Studies that arrived from hospital systems",
                "description": "Newest first, with their states and reasons, as the case "
                "page shows them: the case's referrers and the panel's coordinators.",
                "responses": {
                    "200": {"description": "The studies.", **_json(_ref("IncomingStudies"))},
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                    **common,
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document of ``/api/v1`` (a fresh copy)."""
    return copy.deepcopy(_document())


# --------------------------------------------------------------------------- /api/v2
#: The v1 paths that /api/v2 serves too (those that carry a case document, and the list).
V2_SHARED_PATHS = (
    "/openapi.json",
    "/cases",
    "/cases/{ref}",
    "/cases/{ref}/submit",
    "/cases/{ref}/matches",
)


def _refs(node: Any) -> set[str]:
    """Every ``#/components/...`` reference under ``node``, as (kind, name) strings."""
    if isinstance(node, dict):
        out = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            out |= _refs(value)
        return out
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _prune(components: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """The components that ``paths`` reach (transitively), and no others."""
    kept: dict[str, dict[str, Any]] = {}
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in kept.setdefault(kind, {}):
            continue
        kept[kind][name] = components[kind][name]
        todo.extend(_refs(components[kind][name]))
    return {kind: dict(sorted(items.items())) for kind, items in kept.items()}


def _v2_own_schemas() -> dict[str, Any]:
    spec = {
        "type": "object",
        "description": "One field of the format (FieldSpecV2.to_dict): its dotted path, type, "
        "label, requirement (R, C, O, -), whether rules may name it, and for coded fields the "
        "value set with each code's label.",
        "required": ["path", "type", "label", "requirement", "rule", "operators"],
        "properties": {
            "path": {"type": "string"},
            "type": {"type": "string"},
            "label": {"type": "string"},
            "requirement": {"type": "string", "enum": ["R", "C", "O", "-"]},
            "rule": {"type": "boolean"},
            "operators": {"type": "array", "items": {"type": "string"}},
            "value_set": {"type": "string"},
            "values": {"type": "array", "items": {"type": "object"}},
            "item_fields": {"type": "array", "items": {"$ref": "#/components/schemas/FieldSpec"}},
        },
    }
    condition = {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "when", "values", "why"],
        "description": "`field` is required to submit when the value at `when` is one of `values`.",
        "properties": {
            "field": {"type": "string"},
            "when": {"type": "string"},
            "values": {"type": "array"},
            "why": {"type": "string"},
        },
    }
    fields = {"type": "array", "items": _ref("FieldSpec")}
    conditions = {"type": "array", "items": _ref("Condition")}
    return {
        "FieldSpec": spec,
        "Condition": condition,
        "CaseFormat": {
            "type": "object",
            "additionalProperties": False,
            "required": ["schema", "core", "core_conditions", "derived", "modules"],
            "properties": {
                "schema": {"const": v2.SCHEMA_V2},
                "core": {**fields, "description": "Every case has these."},
                "core_conditions": conditions,
                "derived": {
                    **fields,
                    "description": "Computed from the document (rules may name them; a "
                    "document may not carry them).",
                },
                "modules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [
                            "name",
                            "label",
                            "morphologies",
                            "iccc_subgroups",
                            "fields",
                            "note",
                            "conditions",
                        ],
                        "properties": {
                            "name": {"type": "string"},
                            "label": {"type": "string"},
                            "morphologies": {"type": "array", "items": {"type": "string"}},
                            "iccc_subgroups": {"type": "array", "items": {"type": "string"}},
                            "fields": fields,
                            "note": {"type": "string"},
                            "conditions": conditions,
                        },
                    },
                },
            },
        },
        "TumourTypes": {
            "type": "object",
            "additionalProperties": False,
            "required": ["q", "tumour_types"],
            "properties": {
                "q": {"type": "string"},
                "tumour_types": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["morphology", "name", "synonyms", "site_dependent", "matched"],
                        "properties": {
                            "morphology": {"type": "string", "examples": ["8920/3"]},
                            "name": {"type": "string"},
                            "synonyms": {"type": "array", "items": {"type": "string"}},
                            "site_dependent": {
                                "type": "boolean",
                                "description": "The ICCC-3 group depends on the primary site "
                                "(send tumour.topography).",
                            },
                            "iccc": {"type": "object", "description": "Its ICCC-3 group."},
                            "note": {"type": "string"},
                            "matched": {"type": "string", "description": "What matched."},
                        },
                    },
                },
            },
        },
    }


def _v2_paths(v1_paths: dict[str, Any]) -> dict[str, Any]:
    common = {"401": _r("Unauthorized"), "429": _r("TooManyRequests")}
    paths = {p: copy.deepcopy(v1_paths[p]) for p in V2_SHARED_PATHS}
    body = _case_body(2)
    paths["/cases"]["post"]["requestBody"] = body
    paths["/cases/{ref}"]["put"]["requestBody"] = copy.deepcopy(body)
    paths["/tumour-types"] = {
        "get": {
            "operationId": "searchTumourTypes",
            "tags": ["case format"],
            "summary": "Search the tumour types (the case form's picker)",
            "description": "ICD-O-3 morphology codes matched by name, synonym or code, best "
            "first: the values tumour.morphology takes. An empty `q` finds nothing.",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 100},
                    "examples": {"name": {"value": "rhabdo"}, "code": {"value": "8920"}},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
                },
            ],
            "responses": {
                "200": {"description": "The tumour types found.", **_json(_ref("TumourTypes"))},
                "400": _r("BadRequest"),
                **common,
            },
        }
    }
    paths["/case-format"] = {
        "get": {
            "operationId": "getCaseFormat",
            "tags": ["case format"],
            "summary": "The panel-case/2 field table and disease modules",
            "description": "Every field of the core and of each disease module (path, type, "
            "label, requirement, value set with labels, range, note), the conditions that make "
            "a field required to submit, and which tumour types each module applies to.",
            "responses": {
                "200": {"description": "The case format.", **_json(_ref("CaseFormat"))},
                **common,
            },
        }
    }
    return paths


@cache
def _document_v2() -> dict[str, Any]:
    v1 = _document()
    paths = _v2_paths(v1["paths"])
    schemas = {**copy.deepcopy(v1["components"]["schemas"]), **_v2_own_schemas()}
    schemas["Case"]["properties"]["case"] = _ref("PanelCaseV2")
    schemas["Case"]["description"] = (
        "A case: its workflow state and version around its panel-case/2 document. The "
        "document's own `status` member is the disease status section."
    )
    components = _prune(
        {
            "schemas": schemas,
            "parameters": v1["components"]["parameters"],
            "responses": v1["components"]["responses"],
        },
        paths,
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Panel API v2",
            "version": API_VERSION_2,
            "description": (
                "Cases of the paediatric oncology advisory panels, in the panel-case/2 format "
                "(any relapsed or refractory childhood cancer: a core and disease modules). "
                "GET answers panel-case/2 for every case; POST and PUT take panel-case/2, or "
                "panel-case/1 (neuroblastoma only, converted). The case list, matches, "
                "authentication, rate limits, idempotency keys, If-Match and errors are as in "
                "/api/v1: authenticate with a personal API token (`Authorization: Bearer "
                f"{tokens.TOKEN_PREFIX}...`); every error answers "
                '`{"error": "...", "field": ... or null}`; 404 for cases you may not see, 403 '
                "for actions you may not take on cases you can see. Everything that carries no "
                "case document (`/me`, letters, the timeline and information requests, "
                "notifications, outcome checks, the screening log, files and jobs, image "
                "routes, DICOMweb) is in /api/v1 only (/api/v1/openapi.json)."
            ),
        },
        "servers": [{"url": "/api/v2"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "cases", "description": "Referrals, in panel-case/2."},
            {
                "name": "case format",
                "description": "The format itself: its fields and modules, and the tumour "
                "types a case may have.",
            },
            {"name": "meta", "description": "About the API."},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": copy.deepcopy(v1["components"]["securitySchemes"]["bearerAuth"])
            },
            **components,
        },
    }


def openapi_document_v2() -> dict[str, Any]:
    """The whole OpenAPI document of ``/api/v2`` (a fresh copy)."""
    return copy.deepcopy(_document_v2())


# --------------------------------------------------------------------------- DICOMweb
_DICOM_JSON = "application/dicom+json"


def _dicomweb_schemas() -> dict[str, Any]:
    return {
        "DicomJsonDataset": {
            "type": "object",
            "description": "A DICOM JSON data set (PS3.18 F.2): tags (8 hex digits) to "
            '`{"vr": ..., "Value": [...]}` (or `BulkDataURI`).',
            "propertyNames": {"pattern": "^[0-9A-F]{8}$"},
            "additionalProperties": {
                "type": "object",
                "required": ["vr"],
                "properties": {"vr": {"type": "string", "pattern": "^[A-Z]{2}$"}},
            },
        },
        "DicomJsonList": {"type": "array", "items": _ref("DicomJsonDataset")},
    }


def _dicom_json(description: str, schema: str = "DicomJsonList") -> dict[str, Any]:
    return {"description": description, "content": {_DICOM_JSON: {"schema": _ref(schema)}}}


def _multipart(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"multipart/related": {"schema": {"type": "string", "format": "binary"}}},
    }


def _uid_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "maxLength": 64},
    }


def _dicomweb_paths(common: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    study = _uid_param("study", "A Study Instance UID (the de-identified one, as QIDO gives).")
    series = _uid_param("series", "A Series Instance UID (de-identified).")
    sop = _uid_param("sop", "A SOP Instance UID (de-identified).")
    frames = {
        "name": "frames",
        "in": "path",
        "required": True,
        "description": "Frame numbers from 1, separated by commas (`1` or `1,2,3`).",
        "schema": {"type": "string", "pattern": "^[0-9]{1,6}(,[0-9]{1,6})*$"},
    }
    query = [
        {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
        for name, text, schema in (
            (
                "StudyInstanceUID",
                "Match these studies (UIDs, comma-separated).",
                {"type": "string"},
            ),
            ("SeriesInstanceUID", "Match these series.", {"type": "string"}),
            ("SOPInstanceUID", "Match these instances.", {"type": "string"}),
            ("Modality", "Match a modality (`CT`, `MR` ...).", {"type": "string"}),
            ("limit", "At most this many results.", {"type": "integer", "minimum": 0}),
            ("offset", "Skip this many results first.", {"type": "integer", "minimum": 0}),
            (
                "includefield",
                "`all`: every attribute of the level, not only the default ones.",
                {"type": "string"},
            ),
        )
    ]
    reads = {"404": _r("NotFound"), "406": _r("NotAcceptable"), **common}
    who = (
        " Whoever may see the case (its referrers, its panel's people once submitted); "
        "others get 404. Only released files (not those held back for review). Each request "
        "is one entry in the audit trail."
    )

    def search(op: str, what: str, *params: dict[str, Any]) -> dict[str, Any]:
        return {
            "parameters": [ref, *params],
            "get": {
                "operationId": op,
                "tags": ["dicomweb"],
                "summary": f"QIDO-RS: search for {what}",
                "description": f"The case's {what} as DICOM JSON (an empty array: none)." + who,
                "parameters": query,
                "responses": {
                    "200": _dicom_json(f"The {what}."),
                    "400": _r("BadRequest"),
                    **reads,
                },
            },
        }

    def metadata(op: str, what: str, *params: dict[str, Any]) -> dict[str, Any]:
        return {
            "parameters": [ref, *params],
            "get": {
                "operationId": op,
                "tags": ["dicomweb"],
                "summary": f"WADO-RS: the metadata of {what}",
                "description": "Every instance's header as DICOM JSON; pixel data as a "
                "`BulkDataURI` to its frames." + who,
                "responses": {"200": _dicom_json("The metadata."), **reads},
            },
        }

    def retrieve(op: str, what: str, *params: dict[str, Any]) -> dict[str, Any]:
        return {
            "parameters": [ref, *params],
            "get": {
                "operationId": op,
                "tags": ["dicomweb"],
                "summary": f"WADO-RS: retrieve {what}",
                "description": 'multipart/related; type="application/dicom": one DICOM file '
                "per part, in Explicit VR Little Endian by default (decompressed if stored "
                "compressed), or as stored with `transfer-syntax=*` in the Accept header." + who,
                "responses": {"200": _multipart("The instances."), **reads},
            },
        }

    stow_responses = {
        "200": _dicom_json("Every instance was stored.", "DicomJsonDataset"),
        "202": _dicom_json(
            "Some instances were refused: the Failed SOP Sequence (0008,1198) lists them with "
            "their Failure Reason (0008,1197); the Referenced SOP Sequence (0008,1199) those "
            "stored.",
            "DicomJsonDataset",
        ),
        "409": _dicom_json("No instance was stored (reasons as for 202).", "DicomJsonDataset"),
        "400": _r("BadRequest"),
        "401": _r("Unauthorized"),
        "403": _error("A personal API token: STOW-RS takes a DICOMweb sender token."),
        "413": _r("TooLarge"),
        "415": _r("UnsupportedMediaType"),
        "429": _r("TooManyRequests"),
    }

    def stow(op: str, *params: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "operationId": op,
                "tags": ["dicomweb"],
                "summary": "STOW-RS: store instances" + (" of one study" if params else ""),
                "description": "For hospital systems: a DICOMweb sender token, never a personal "
                'one. The body is multipart/related; type="application/dicom", one DICOM file '
                "(PS3.10) per part, read as a stream. Each study is routed to the case whose "
                "image route matches its Accession Number or patient ID (of the sender's "
                "centre), de-identified there as uploads are, or waits in quarantine for a "
                "route. Refusal reasons: 0xC000 not readable, 0x0122 not an image, 0x0111 "
                "duplicate, 0xA900 not matching (its SOP class, or not the study of the URL), "
                "0xA700 out of resources (too large). A body cut off before its end keeps "
                "nothing (400).",
                "security": [{"dicomwebSender": []}],
                **({"parameters": list(params)} if params else {}),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/related": {"schema": {"type": "string", "format": "binary"}}
                    },
                },
                "responses": stow_responses,
            }
        }

    base = "/cases/{ref}/dicomweb"
    return {
        "/dicomweb/studies": stow("storeInstances"),
        "/dicomweb/studies/{study}": stow("storeStudyInstances", study),
        f"{base}/studies": search("searchStudies", "studies"),
        f"{base}/series": search("searchAllSeries", "series"),
        f"{base}/instances": search("searchAllInstances", "instances"),
        f"{base}/studies/{{study}}/series": search("searchSeries", "series of a study", study),
        f"{base}/studies/{{study}}/instances": search(
            "searchStudyInstances", "instances of a study", study
        ),
        f"{base}/studies/{{study}}/series/{{series}}/instances": search(
            "searchInstances", "instances of a series", study, series
        ),
        f"{base}/studies/{{study}}": retrieve("retrieveStudy", "a study", study),
        f"{base}/studies/{{study}}/metadata": metadata("retrieveStudyMetadata", "a study", study),
        f"{base}/studies/{{study}}/series/{{series}}": retrieve(
            "retrieveSeries", "a series", study, series
        ),
        f"{base}/studies/{{study}}/series/{{series}}/metadata": metadata(
            "retrieveSeriesMetadata", "a series", study, series
        ),
        f"{base}/studies/{{study}}/series/{{series}}/instances/{{sop}}": retrieve(
            "retrieveInstance", "an instance", study, series, sop
        ),
        f"{base}/studies/{{study}}/series/{{series}}/instances/{{sop}}/metadata": metadata(
            "retrieveInstanceMetadata", "an instance", study, series, sop
        ),
        f"{base}/studies/{{study}}/series/{{series}}/instances/{{sop}}/frames/{{frames}}": {
            "parameters": [ref, study, series, sop, frames],
            "get": {
                "operationId": "retrieveFrames",
                "tags": ["dicomweb"],
                "summary": "WADO-RS: retrieve frames",
                "description": 'multipart/related; type="application/octet-stream": each '
                "frame's pixels uncompressed, little endian, one part per frame." + who,
                "responses": {
                    "200": _multipart("The frames."),
                    "400": _r("BadRequest"),
                    **reads,
                },
            },
        },
    }

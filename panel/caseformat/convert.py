"""Conversion between ``panel-case/1`` (neuroblastoma only) and ``panel-case/2``.

Both directions are one table, :data:`V1_TO_V2` (every v1 field path -> its v2 path) and
:data:`SECTIONS` (every v1 section -> the v2 section that stands for it), so nothing is lost:

* a value that is there (``null`` included) lands at its new path, an absent one stays absent;
* a v1 section that is ``null`` or ``{}`` becomes the same at its v2 home, and back;
* ``biology.other_alterations`` becomes ``molecular.alterations``, each item's ``alteration``
  text becoming ``description`` (``gene`` and ``vaf_pct`` keep their names);
* the tumour type is neuroblastoma ``9500/3``, or ganglioneuroblastoma ``9490/3`` when the v1
  histology says so (GNB); an adrenal primary gives the topography ``C74.9``.

``v2_to_v1(v1_to_v2(doc)) == doc`` for every valid v1 document (the property test in
``tests/cases/test_case_format_v2.py``). ``v2_to_v1`` takes neuroblastoma documents only; what a
v2 document holds that v1 cannot carry is listed by :func:`v1_losses`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from panel.caseformat import fields as v1
from panel.caseformat.schema import SCHEMA, get_path, set_path
from panel.caseformat.v2 import MODULES, NB_PATHS, SCHEMA_V2

__all__ = [
    "NotConvertible",
    "V1_TO_V2",
    "SECTIONS",
    "as_v2",
    "v1_to_v2",
    "v2_to_v1",
    "v1_view",
    "v1_losses",
    "merge_v1",
]


class NotConvertible(ValueError):
    """A document that cannot be written in the other version (the message says why)."""


_RENAMED: Final = {
    "biology.profiling_at_relapse": "molecular.profiling_at_relapse",
    "biology.other_alterations": "molecular.alterations",
    "fitness.organ_function_adequate": "organ_function.adequate",
}

#: Every stored v1 field path -> its v2 path (identity for the core fields that kept theirs).
V1_TO_V2: Final[Mapping[str, str]] = MappingProxyType(
    {
        p: NB_PATHS.get(p) or _RENAMED.get(p) or p
        for p, spec in v1.FIELDS.items()
        if not spec.is_projection and p != "schema"
    }
)

#: Every v1 section -> the v2 section that stands for it (for ``null`` and ``{}`` sections).
SECTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "family": "family",
        "family.communication": "family.communication",
        "patient": "patient",
        "diagnosis": "modules.neuroblastoma.diagnosis",
        "status": "status",
        "disease": "disease",
        "biology": "modules.neuroblastoma.biology",
        "biology.alk": "modules.neuroblastoma.biology.alk",
        "biology.segmental": "modules.neuroblastoma.biology.segmental",
        "treatment": "treatment",
        "response": "modules.neuroblastoma.response",
        "response.end_induction": "modules.neuroblastoma.response.end_induction",
        "response.current": "modules.neuroblastoma.response.current",
        "fitness": "fitness",
    }
)

_ITEM_RENAME: Final = {"alteration": "description"}
_ITEM_RENAME_BACK: Final = {v: k for k, v in _ITEM_RENAME.items()}
_GNB = ("GNB_nodular", "GNB_intermixed")


def _has(doc: Any, path: str) -> tuple[bool, Any]:
    """Whether ``path`` is there (its value may be ``null``), and its value."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set_section(doc: dict[str, Any], path: str, value: Any) -> None:
    """Put a ``null`` or an (empty) dict section at ``path`` unless something is there."""
    present, _ = _has(doc, path)
    if present:
        return
    head, _, last = path.rpartition(".")
    parent = get_path(doc, head) if head else doc
    if head and parent is None:
        set_path(doc, path, value)
    elif isinstance(parent, dict):
        parent[last] = value


def _alterations_to_v2(items: Any) -> Any:
    if not isinstance(items, list):
        return copy.deepcopy(items)
    return [
        {_ITEM_RENAME.get(k, k): copy.deepcopy(v) for k, v in item.items()}
        if isinstance(item, dict)
        else copy.deepcopy(item)
        for item in items
    ]


def _alterations_to_v1(items: Any) -> Any:
    if not isinstance(items, list):
        return copy.deepcopy(items)
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(copy.deepcopy(item))
            continue
        new = {
            _ITEM_RENAME_BACK.get(k, k): copy.deepcopy(v)
            for k, v in item.items()
            if k in ("gene", "vaf_pct", "description")
        }
        if "description" not in item:
            words = [
                str(item[k])
                for k in ("type", "partner", "protein_change")
                if item.get(k) not in (None, "")
            ]
            if words:
                new["alteration"] = " ".join(words)
        out.append(new)
    return out


def v1_to_v2(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A ``panel-case/2`` document holding everything of a ``panel-case/1`` one.

    Raises :class:`NotConvertible` when ``doc`` is not a ``panel-case/1`` object.
    """
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise NotConvertible(f'only a "{SCHEMA}" document can be converted to {SCHEMA_V2}')
    src = dict(doc)
    histology = get_path(src, "diagnosis.histology")
    tumour: dict[str, Any] = {"morphology": "9490/3" if histology in _GNB else "9500/3"}
    if get_path(src, "diagnosis.primary_site") == "adrenal":
        tumour["topography"] = "C74.9"
    out: dict[str, Any] = {"schema": SCHEMA_V2, "tumour": tumour, "modules": {"neuroblastoma": {}}}
    for old in sorted(SECTIONS, key=lambda p: p.count(".")):
        present, value = _has(src, old)
        if present and value is None:
            _set_section(out, SECTIONS[old], None)
        elif isinstance(value, dict):
            _set_section(out, SECTIONS[old], {})
    for key in ("reference",):
        if key in src:
            out[key] = copy.deepcopy(src[key])
    for old, new in V1_TO_V2.items():
        present, value = _has(src, old)
        if not present:
            continue
        if old == "biology.other_alterations":
            value = _alterations_to_v2(value)
        set_path(out, new, copy.deepcopy(value))
    return out


def is_neuroblastoma(doc: Mapping[str, Any]) -> bool:
    """Whether a v2 document is a neuroblastoma case that v1 can carry (its tumour type is one
    of the neuroblastoma module's and it holds no other module)."""
    morph = get_path(dict(doc), "tumour.morphology")
    topo = get_path(dict(doc), "tumour.topography")
    modules = get_path(dict(doc), "modules") or {}
    others = [m for m in modules if m != "neuroblastoma"] if isinstance(modules, dict) else []
    return MODULES["neuroblastoma"].applies_to(morph, topo) and not others


def v2_to_v1(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The ``panel-case/1`` document of a neuroblastoma ``panel-case/2`` document.

    Raises :class:`NotConvertible` for any other tumour type (``panel-case/1`` is
    neuroblastoma only). Fields v1 has no place for are left out: :func:`v1_losses` lists them.
    """
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA_V2:
        raise NotConvertible(f'only a "{SCHEMA_V2}" document can be converted to {SCHEMA}')
    if not is_neuroblastoma(doc):
        morph = get_path(dict(doc), "tumour.morphology")
        raise NotConvertible(
            f"{SCHEMA} holds neuroblastoma cases only; this case's tumour type is "
            f"{morph or 'not recorded'}: export it as {SCHEMA_V2}"
        )
    return _to_v1(doc)


def v1_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The v1 paths of any ``panel-case/2`` document, whatever its tumour (never raises on a
    v2 document): what rules written over v1 paths read. A case without the neuroblastoma
    module has none of its fields, so they are unknown; the result is a view, not a valid
    ``panel-case/1`` document."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA_V2:
        raise NotConvertible(f'only a "{SCHEMA_V2}" document has a v1 view')
    return _to_v1(doc)


def as_v2(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A ``panel-case/2`` document from a document of either version (a copy: converted from
    ``panel-case/1``, or the v2 document itself). Raises :class:`NotConvertible` for anything
    else."""
    if isinstance(doc, Mapping) and doc.get("schema") == SCHEMA_V2:
        return copy.deepcopy(dict(doc))
    if isinstance(doc, Mapping) and doc.get("schema") == SCHEMA:
        return v1_to_v2(doc)
    raise NotConvertible(f'"schema" must be "{SCHEMA}" or "{SCHEMA_V2}"')


def _to_v1(doc: Mapping[str, Any]) -> dict[str, Any]:
    src = dict(doc)
    out: dict[str, Any] = {"schema": SCHEMA}
    for old in sorted(SECTIONS, key=lambda p: p.count(".")):
        present, value = _has(src, SECTIONS[old])
        if present and value is None:
            _set_section(out, old, None)
        elif isinstance(value, dict):
            _set_section(out, old, {})
    if "reference" in src:
        out["reference"] = copy.deepcopy(src["reference"])
    for old, new in V1_TO_V2.items():
        present, value = _has(src, new)
        if not present:
            continue
        if old == "biology.other_alterations":
            value = _alterations_to_v1(value)
        elif old == "treatment.lines":
            value = _lines_to_v1(value)
        set_path(out, old, copy.deepcopy(value))
    return out


_V1_LINE_KEYS: Final = tuple(i.path for i in v1.FIELDS["treatment.lines"].item_fields)
_V1_REGIMENS: Final = v1.VALUE_SETS["regimen"]


def _lines_to_v1(lines: Any) -> Any:
    """v1 line items: the v1 keys only; a regimen word v1 does not know becomes ``OTHER``."""
    if not isinstance(lines, list):
        return lines
    out = []
    for line in lines:
        if not isinstance(line, dict):
            out.append(line)
            continue
        new = {k: v for k, v in line.items() if k in _V1_LINE_KEYS}
        regimen = new.get("regimen")
        if regimen is not None and regimen not in _V1_REGIMENS:
            new["regimen"] = "OTHER"
        out.append(new)
    return out


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    if isinstance(node, list) and node and all(isinstance(i, dict) for i in node):
        out = {}
        for i, item in enumerate(node):
            out.update(_leaves(item, f"{prefix[:-1]}[{i}]."))
        return out
    return {prefix[:-1]: node}


def v1_losses(doc: Mapping[str, Any]) -> list[str]:
    """The paths of a neuroblastoma v2 document whose values ``panel-case/1`` cannot carry (what
    an export as v1 would leave out), e.g. ``local_mdt.outcome`` or a line's ``toxicities``."""
    back = v1_to_v2(v2_to_v1(doc))
    before, after = _leaves(dict(doc)), _leaves(back)
    derived = {"tumour.morphology", "tumour.topography"}
    return sorted(
        p
        for p, v in before.items()
        if p not in derived and v not in (None, {}, []) and after.get(p, object()) != v
    )


_NB_MORPHOLOGIES: Final = MODULES["neuroblastoma"].morphologies
#: v2-only keys of a treatment line / an alteration item (what v1 has no place for).
_LINE_EXTRAS: Final = ("regimen_other", "start_month", "end_month", "toxicities")
_ALTERATION_V1_KEYS: Final = ("gene", "description", "vaf_pct")


def merge_v1(stored: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 document for a ``panel-case/1`` document ``doc`` that replaces the neuroblastoma
    v2 document ``stored`` (a v1 client's or v1 form's save): ``doc`` converted, keeping what
    ``stored`` holds that v1 cannot carry (:func:`v1_losses`) where ``doc`` left it as it was.

    * the tumour's topography and description, and the morphology when ``doc``'s histology
      does not decide between neuroblastoma and ganglioneuroblastoma;
    * the local MDT and the organ-function values;
    * a treatment line's dates, toxicities and v2 regimen word, and an alteration's type,
      partner, protein change, test and the like, for the item at the same place whose v1 part
      is unchanged.

    ``merge_v1(s, v2_to_v1(s)) == s`` for every neuroblastoma v2 document ``s``.
    """
    new = v1_to_v2(doc)
    old = copy.deepcopy(dict(stored)) if isinstance(stored, Mapping) else {}
    if old.get("schema") != SCHEMA_V2 or not is_neuroblastoma(old):
        return new
    old_tumour = old.get("tumour") if isinstance(old.get("tumour"), dict) else {}
    tumour = new["tumour"]
    histology = get_path(dict(doc), "diagnosis.histology")
    decided = isinstance(histology, str) and histology.startswith(("NB_", "GNB_"))
    if old_tumour.get("morphology") in _NB_MORPHOLOGIES and not decided:
        tumour["morphology"] = old_tumour["morphology"]
    for key in ("topography", "description"):
        if key in old_tumour and key not in tumour:
            tumour[key] = old_tumour[key]
    if "local_mdt" in old and "local_mdt" not in new:
        new["local_mdt"] = old["local_mdt"]
    old_organ = old.get("organ_function")
    if isinstance(old_organ, dict):
        organ = new.get("organ_function")
        if not isinstance(organ, dict):
            organ = {}
        for key, value in old_organ.items():
            if key != "adequate" and key not in organ:
                organ[key] = value
        if organ:
            new["organ_function"] = organ
    _merge_items(
        get_path(old, "treatment.lines"),
        get_path(new, "treatment.lines"),
        same=lambda o, n: _lines_to_v1([o]) == _lines_to_v1([n]),
        extras=_LINE_EXTRAS,
        regimen=True,
    )
    _merge_items(
        get_path(old, "molecular.alterations"),
        get_path(new, "molecular.alterations"),
        same=lambda o, n: _alterations_to_v1([o]) == _alterations_to_v1([n]),
        extras=None,
    )
    return new


def _merge_items(
    old: Any, new: Any, *, same: Any, extras: tuple[str, ...] | None, regimen: bool = False
) -> None:
    if not isinstance(old, list) or not isinstance(new, list):
        return
    for o, n in zip(old, new, strict=False):
        if not isinstance(o, dict) or not isinstance(n, dict) or not same(o, n):
            continue
        keys = extras if extras is not None else [k for k in o if k not in _ALTERATION_V1_KEYS]
        for key in keys:
            if key in o and key not in n:
                n[key] = copy.deepcopy(o[key])
        if extras is None and "description" not in o:
            n.pop("description", None)  # v2_to_v1 wrote it from the item's type and partner
        if regimen and n.get("regimen") == "OTHER" and o.get("regimen") not in (None, "OTHER"):
            n["regimen"] = o["regimen"]

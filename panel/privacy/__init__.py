"""Privacy: find patient identifiers in free text before it is saved.

Pure Python (no Flask).  See ``shared/domain/identifiers.md`` for the rules and
:mod:`panel.privacy.scanner` for how they are applied.
"""

from __future__ import annotations

from panel.privacy.known import (
    PATIENT_NAME,
    identifier_kinds,
    mentions_name,
    name_parts,
)
from panel.privacy.scanner import (
    KIND_LABELS,
    KINDS,
    Finding,
    find_identifiers,
    has_hard_findings,
    kind_label,
    mod11_valid,
    scan_fields,
    scan_filename,
)

__all__ = [
    "KIND_LABELS",
    "KINDS",
    "PATIENT_NAME",
    "Finding",
    "find_identifiers",
    "has_hard_findings",
    "identifier_kinds",
    "kind_label",
    "mentions_name",
    "name_parts",
    "mod11_valid",
    "scan_fields",
    "scan_filename",
]

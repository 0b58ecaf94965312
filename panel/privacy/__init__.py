"""Privacy: find patient identifiers in free text before it is saved.

Pure Python (no Flask).  See ``shared/domain/identifiers.md`` for the rules and
:mod:`panel.privacy.scanner` for how they are applied.
"""

from __future__ import annotations

from panel.privacy.scanner import (
    KINDS,
    Finding,
    find_identifiers,
    has_hard_findings,
    mod11_valid,
    scan_fields,
    scan_filename,
)

__all__ = [
    "KINDS",
    "Finding",
    "find_identifiers",
    "has_hard_findings",
    "mod11_valid",
    "scan_fields",
    "scan_filename",
]

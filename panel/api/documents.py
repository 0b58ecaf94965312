"""What the API answers with: plain dicts built from models (no queries of their own).

A case travels in an envelope, so that the workflow state never mixes with the case document
(``panel-case/1`` in ``/api/v1`` where the case is neuroblastoma, ``panel-case/2`` otherwise and
in ``/api/v2``; its ``status`` member is the *disease* status section)::

    {"reference": "NB-2026-0007", "workflow_status": "draft", "version": 3,
     "updated_at": "2026-02-01T10:00:00Z", ..., "case": {<panel-case/1 document>}}

PUT takes the document alone (the ``case`` member), never the envelope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from panel.accounts.models import ApiToken, PanelRoleKind, User
from panel.api.errors import finding_json
from panel.caseformat import convert
from panel.cases import operations
from panel.cases.models import Case
from panel.privacy.guard import GuardFinding

_ROLE_ORDER = {role: i for i, role in enumerate(PanelRoleKind)}


def iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC with a ``Z`` (``2026-02-01T10:00:00Z``)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def me(user: User, token: ApiToken) -> dict[str, Any]:
    """The caller: who they are, their centre and their roles per panel."""
    roles: dict[str, list[str]] = {}
    for role in sorted(user.panel_roles, key=lambda r: (r.panel.code, _ROLE_ORDER[r.role])):
        roles.setdefault(role.panel.code, []).append(role.role.value)
    return {
        "email": user.email,
        "name": user.name,
        "centre": user.centre.code if user.centre is not None else None,
        "is_referrer": user.is_referrer,
        "is_admin": user.is_admin,
        "roles": roles,
        "token": {
            "name": token.name,
            "prefix": token.prefix,
            "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at),
        },
    }


def _header(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "workflow_status": case.status.value,
        "version": case.version,
        "panel": case.panel.code,
        "referring_centre": case.referring_centre.code if case.referring_centre else None,
        "urgency": case.urgency,
        "created_by": case.created_by.email,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "submitted_at": iso(case.submitted_at),
    }


def case_summary(case: Case) -> dict[str, Any]:
    """One row of the case list (no clinical content beyond the header)."""
    return _header(case)


def case_document(case: Case, version: int = 1) -> dict[str, Any]:
    """The case's document as API ``version`` serves it: ``panel-case/2`` for version 2; for
    version 1, ``panel-case/1`` when the case is a neuroblastoma case (the only tumour v1 can
    carry), otherwise ``panel-case/2`` (its ``schema`` member says so: nothing is dropped)."""
    if version == 1:
        try:
            return operations.to_document_v1(case)
        except convert.NotConvertible:
            pass
    return operations.to_document(case)


def case_resource(
    case: Case, warnings: list[GuardFinding] | None = None, *, version: int = 1
) -> dict[str, Any]:
    """The case envelope with its document (:func:`case_document`); ``warnings`` are soft
    identifier findings of the save just made (possible identifiers that did not block it)."""
    out = {**_header(case), "case": case_document(case, version)}
    if warnings is not None:
        out["warnings"] = [finding_json(w) for w in warnings]
    return out


def entity_tag(case: Case) -> str:
    """The ``ETag`` of a case: its version, quoted (send it back as ``If-Match``)."""
    return f'"{case.version}"'


def sent_document(case: Case, doc: Any) -> dict[str, Any]:
    """One sent letter (a :class:`panel.feedback.models.SentDocument`) in the letters list."""
    from flask import url_for

    return {
        "id": doc.id,
        "kind": doc.kind,
        "format": doc.format,
        "version": doc.version,
        "layout": doc.layout,
        "sent_at": iso(doc.sent_at),
        "sha256": doc.sha256,
        "size": doc.size,
        "content_type": doc.content_type,
        "url": url_for("api.case_letter", ref=case.reference, document_id=doc.id),
    }

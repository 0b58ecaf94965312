"""The case page, built from the panels the domains register (:mod:`panel.core.casepage`).

Used by ``cases.show`` and by any view that shows the case page again with a refused form
(e.g. a comment with an identifier: ``render_case_page(case, user, status=422,
comment_draft={...})``).
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from panel.accounts.forms import ConfirmForm
from panel.cases import operations
from panel.cases.display import case_sections
from panel.cases.forms import problem_anchor, problem_label
from panel.cases.models import Case
from panel.core.audit import record_read
from panel.core.casepage import build_panels


def render_case_page(case: Case, user: Any, *, status: int = 200, **state: Any):
    """The case page for ``user``: every registered panel's context is built here, before the
    template renders. ``state`` goes to the panels' context functions (a refused form's text)."""
    doc = operations.to_document(case)
    record_read("case.viewed", obj=case, details={"via": "page"})
    html = render_template(
        "cases/show.html",
        case=case,
        doc=doc,
        sections=case_sections(doc),
        missing=operations.v2.missing_for_submit_v2(doc) if case.can_submit(user) else [],
        confirm=ConfirmForm(),
        problem_anchor=problem_anchor,
        problem_label=problem_label,
        case_panels=build_panels(case, user, **state),
    )
    return html, status

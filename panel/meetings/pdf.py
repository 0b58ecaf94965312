"""The agenda as an A4 PDF (WeasyPrint), for the panel's people to print or read offline."""

from __future__ import annotations

from typing import Any

from flask import render_template

from panel.accounts.models import User
from panel.caseformat import tumours
from panel.caseformat.v2 import value_label_v2
from panel.core.pdf import html_to_pdf
from panel.core.uktime import to_uk, uk_label
from panel.meetings.models import Meeting
from panel.meetings.operations import presenting_centres, slot_times


def _label(path: str, value: Any) -> str:
    return value_label_v2(path, value)


def age_text(months: Any) -> str:
    """``52`` -> ``4 y 4 m``; under two years in months only."""
    if not isinstance(months, int) or isinstance(months, bool):
        return "—"
    if months < 24:
        return f"{months} m"
    years, rest = divmod(months, 12)
    return f"{years} y {rest} m" if rest else f"{years} y"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def case_summary(case) -> dict[str, Any]:
    """The few facts the agenda shows for a case: age, disease status and key biology."""
    data = case.data or {}
    patient, status = data.get("patient") or {}, data.get("status") or {}
    biology = ((data.get("modules") or {}).get("neuroblastoma") or {}).get("biology") or {}
    found = tumours.get_tumour_type(case.tumour.get("morphology"))
    disease = _label("status.category", status.get("category"))
    episode = status.get("episode")
    if (
        isinstance(episode, int)
        and episode > 0
        and status.get("category") in ("relapsed", "refractory", "progressive")
    ):
        disease = f"{disease} ({_ordinal(episode)})"
    alk = biology.get("alk") or {}
    alk_text = _label("biology.alk.status", alk.get("status")) if biology else "—"
    variants = [
        v.get("protein_change") for v in alk.get("variants") or [] if v.get("protein_change")
    ]
    if variants:
        alk_text += " " + ", ".join(variants)
    return {
        "age": age_text(patient.get("age_now_months")),
        "disease": disease,
        "tumour": found.name if found else "—",
        "neuroblastoma": "neuroblastoma" in (data.get("modules") or {}),
        "alterations": ", ".join(
            " ".join(x for x in (a.get("gene"), (a.get("type") or "").replace("_", " ")) if x)
            for a in (data.get("molecular") or {}).get("alterations") or []
            if isinstance(a, dict)
        ),
        "mycn": _label("biology.mycn", biology.get("mycn")),
        "alk": alk_text,
        "questions": str(len(case.questions)),
    }


def agenda_summaries(items, viewer) -> dict[int, dict[str, Any]]:
    """The agenda's case summaries by item id, only for the cases ``viewer`` may see
    (``Case.can_view``): a case referred on to another panel stays on the old agenda as its
    reference alone. The templates ask the same method before showing anything else."""
    return {i.id: case_summary(i.case) for i in items if i.case.can_view(viewer)}


def render_agenda_pdf(meeting: Meeting, viewer: User) -> bytes:
    """The agenda as ``viewer`` may see it, as an A4 PDF (laid out here: jobs and scripts only;
    the agenda route asks a ``pdf.render`` job for :func:`agenda_html`)."""
    return html_to_pdf(agenda_html(meeting, viewer))


def agenda_html(meeting: Meeting, viewer: User) -> str:
    """The agenda as ``viewer`` may see it: the whole HTML document its PDF prints."""
    slots = slot_times(meeting)
    return render_template(
        "meetings/agenda_pdf.html",
        meeting=meeting,
        items=meeting.active_items,
        slots=slots,
        summaries=agenda_summaries(meeting.active_items, viewer),
        centres=presenting_centres(meeting.active_items),
        viewer=viewer,
        to_uk=to_uk,
        uk_label=uk_label,
    )

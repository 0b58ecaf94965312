"""Small builders and read helpers shared by several test modules."""

from __future__ import annotations

import io
import zipfile
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any


# --------------------------------------------------------------------------- files
def pdf_bytes(text: str = "Panel letter about imaging", *, author: str | None = None) -> bytes:
    """A small valid one-page PDF with some text; with ``author``, also an /Info dictionary
    (author and title) that uploads must strip."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(300, 200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = w._add_object(stream)
    if author is not None:
        w.add_metadata({"/Author": author, "/Title": "Letter about the child"})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def pdf_with_info(text: str, author: str = "Dr Secret Author") -> bytes:
    """A small valid PDF with one page of text and an /Info dictionary."""
    return pdf_bytes(text, author=author)


def small_pdf(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "letter.pdf"
    path.write_bytes(pdf_bytes())
    return path


def zip_bytes(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def stored_files(case) -> list:
    """The case's stored files (rows)."""
    from sqlalchemy import select

    from panel.core.db import db
    from panel.imaging.models import StoredFile

    return list(db.session.scalars(select(StoredFile).where(StoredFile.case_id == case.id)))


def objects_in(storage_dir: Path) -> list[Path]:
    return sorted(p for p in (storage_dir / "objects").rglob("*") if p.is_file())


def temps_in(storage_dir: Path) -> list[Path]:
    """Temporary files: the storage's ``tmp/`` and the uploads' spool (``incoming/``)."""
    return sorted(
        p for sub in ("tmp", "incoming") for p in (storage_dir / sub).rglob("*") if p.is_file()
    )


# --------------------------------------------------------------------------- feedback records
TRIAL_CHOICES = [{"trial_id": "CRISP", "priority": 1}, {"trial_id": "NAXITAMAB-201", "priority": 2}]


def full_record_data(**overrides: Any) -> dict[str, Any]:
    """A complete ``save_record`` data dict for the ALK example (no answers)."""
    data: dict[str, Any] = {
        "categories": ["trial", "further_investigations"],
        "consensus": "unanimous",
        "options_considered": "",
        "rationale": "ALK F1174L mutation with progressive disease after induction: an ALK inhibitor "
        "trial is the preferred option. Re-biopsy for molecular profiling is advised.",
        "re_present": "After two cycles, with restaging scans.",
        "molecular_profiling": "requested",
        "trials": [dict(t) for t in TRIAL_CHOICES],
        "follow_ups": [
            {
                "description": "Contact the CRISP trial team about a slot",
                "owner_role": "referrer",
                "due_in_days": 14,
            },
            {
                "description": "Check the biopsy sample is suitable",
                "owner_role": "coordinator",
                "due_in_days": 7,
            },
        ],
    }
    data.update(overrides)
    return data


def answers_for(case) -> dict[int, dict[str, str]]:
    """A complete answer (clinician + plain language) to each of the case's questions."""
    return {
        q.id: {
            "clinician": f"Clinical answer to question {i}: discussed by the panel with the evidence.",
            "family": f"Plain answer to question {i}: your doctor will explain what this means.",
        }
        for i, q in enumerate(case.questions, 1)
    }


# --------------------------------------------------------------------------- meetings
def last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _future_year() -> int:
    from panel.core.uktime import uk_today

    return uk_today().year + 2


FUTURE_YEAR = _future_year()
WINTER_DAY = date(FUTURE_YEAR, 12, 3)
SUMMER_DAY = date(FUTURE_YEAR, 6, 11)
MARCH_CHANGE = last_sunday(FUTURE_YEAR, 3)
OCTOBER_CHANGE = last_sunday(FUTURE_YEAR, 10)


def panel(db_session, code: str = "NAP"):
    from sqlalchemy import select

    from panel.accounts.models import Panel

    return db_session.scalar(select(Panel).where(Panel.code == code))


def audit_actions(
    db_session, object_type: str | None = None, object_id: str | None = None
) -> list[str]:
    from sqlalchemy import select

    from panel.core.models import AuditEntry

    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(object_id))
    return list(db_session.scalars(stmt))


def plan(
    db_session,
    by,
    *,
    code: str = "NAP",
    day: date | None = None,
    at: time = time(16, 0),
    minutes: int = 120,
    link: str = "https://meet.example.org/nap",
):
    """A meeting planned through the operations (committed)."""
    from panel.core.uktime import uk_today
    from panel.meetings import operations as ops

    meeting = ops.create_meeting(
        panel(db_session, code),
        day=day or (uk_today() + timedelta(days=14)),
        at=at,
        duration_minutes=minutes,
        video_link=link,
        title="",
        by=by,
    )
    db_session.commit()
    return meeting


def move_to_past(db_session, meeting, hours: int = 3) -> None:
    """Meetings cannot be planned in the past; tests that need a meeting that took place move
    one there directly."""
    from panel.core.db import utcnow

    meeting.starts_at = utcnow() - timedelta(hours=hours)
    db_session.commit()


def discussed_at_meeting(db_session, case, *, hours_ago: float = 1.0):
    """Mark ``case`` discussed at a NAP-style meeting of its panel that started ``hours_ago``
    (negative: a meeting still to come), built with the models directly: the workflow approves
    and sends only after a discussion at a meeting that has started. Returns the meeting."""
    from panel.cases.models import CaseStatus
    from panel.core.db import utcnow
    from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus

    now = utcnow()
    meeting = Meeting(
        panel_id=case.panel_id,
        title="Discussion",
        starts_at=now - timedelta(hours=hours_ago),
        status=MeetingStatus.PUBLISHED,
    )
    db_session.add(meeting)
    db_session.flush()
    db_session.add(
        AgendaItem(
            meeting_id=meeting.id,
            case_id=case.id,
            position=0,
            outcome_status=ItemOutcome.DISCUSSED,
            outcome="",  # no minutes written: a draft started from it starts empty
            discussed_at=now,
        )
    )
    case.status = CaseStatus.DISCUSSED
    case.discussed_at = now
    db_session.commit()
    return meeting


# --------------------------------------------------------------------------- routes
#: Endpoints anyone may reach without signing in.
PUBLIC = {
    "static",
    "core.healthz",
    "accounts.login",
    "accounts.login_totp",
    "accounts.enrol_totp",
    "accounts.reset_request",
    "accounts.reset_password",
    "api.openapi",  # the API description is public by design
    "api_v2.openapi",
    # Family access: no account; the access code (held in the session) is the key.
    "feedback.family_enter",
    "feedback.family_letter",
    "feedback.family_letter_pdf",
    "feedback.family_question",
    "feedback.family_leave",
}

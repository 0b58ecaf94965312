"""Sent documents: every letter is rendered once, when it is sent, stored as a file and served
byte for byte from then on (DESIGN.md: "What was sent is stored").

When the coordinator sends the feedback, :func:`issue_letters` renders the clinician letter and
the family letter, each as HTML (the letter sheet) and PDF, stores the files through
``core/storage.py`` (content-addressed: the key is the SHA-256) and writes one
:class:`SentDocument` row per file. The family letter is stored in the standard layout and in
each layout the family's recorded communication needs ask for (``cases/needs.py``: large
print, easy read), each its own row of the same kind and version told apart by ``layout``.
Nothing rewrites them afterwards:

* a family's follow-up question changes no document (the question waits, "sent to the panel
  on DATE", until the panel answers it);
* an amendment recorded after sending (:func:`after_amendment`, called by
  ``operations._amendment_applied``) issues a new, numbered document: an **answer addendum** when
  the amendment only answers questions asked after the letters were sent, otherwise the
  **updated advice, version N** (both letters again, in full).

:func:`documents_for` lists a case's documents, oldest first (the case timeline can link to
them). Operations flush and never commit; a file written by a transaction that is then rolled
back stays in the storage unreferenced (content-addressed, so harmless).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, render_template
from sqlalchemy import func, select

from panel.cases.models import Case, CaseQuestion
from panel.cases.needs import LAYOUT_LABELS, communication_needs
from panel.core import audit, pdf
from panel.core.db import db, utcnow
from panel.core.storage import get_storage
from panel.feedback.models import Recommendation, RecommendationAmendment, SentDocument

LETTER_KINDS = ("clinician_letter", "family_letter")
ADDENDUM_KINDS = ("clinician_addendum", "family_addendum")
KINDS = LETTER_KINDS + ADDENDUM_KINDS
FORMATS = ("html", "pdf")


# --------------------------------------------------------------------------- reading
def documents_for(case: Case) -> list[SentDocument]:
    """Every document sent for ``case``, oldest first (one query)."""
    return list(
        db.session.scalars(
            select(SentDocument)
            .where(SentDocument.case_id == case.id)
            .order_by(SentDocument.sent_at, SentDocument.id)
        )
    )


def document_of(case: Case, document_id: int) -> SentDocument | None:
    """The document ``document_id`` if it belongs to ``case``."""
    return db.session.scalar(
        select(SentDocument).where(SentDocument.id == document_id, SentDocument.case_id == case.id)
    )


def latest(case: Case, kind: str, fmt: str, layout: str = "standard") -> SentDocument | None:
    """The newest document of this kind, format and layout (the letter people open), or None."""
    return db.session.scalar(
        select(SentDocument)
        .where(
            SentDocument.case_id == case.id,
            SentDocument.kind == kind,
            SentDocument.format == fmt,
            SentDocument.layout == layout,
        )
        .order_by(SentDocument.version.desc())
        .limit(1)
    )


def read_bytes(doc: SentDocument) -> bytes:
    """The stored bytes of ``doc``, exactly as they were sent."""
    with get_storage().open(doc.storage_key) as fh:
        return fh.read()


def title(doc: SentDocument) -> str:
    """What a person calls the document ("Letter from the panel (large print)")."""
    layout = getattr(doc, "layout", None) or "standard"
    if layout != "standard":
        return f"{_title(doc)} ({LAYOUT_LABELS.get(layout, layout).lower()})"
    return _title(doc)


def _title(doc: SentDocument) -> str:
    if doc.kind == "clinician_letter":
        return (
            "Clinician letter"
            if doc.version == 1
            else f"Updated advice, version {doc.version} (clinician letter)"
        )
    if doc.kind == "family_letter":
        return (
            "Letter from the panel"
            if doc.version == 1
            else f"Updated advice, version {doc.version}"
        )
    if doc.kind == "family_addendum":
        return f"The panel's answer to your question (addendum {doc.version})"
    return f"Answer to the family's follow-up question (addendum {doc.version})"


def grouped(docs: Iterable[SentDocument], audience: str) -> list[dict[str, Any]]:
    """One entry per document of ``audience`` (``clinician`` or ``family``) with its HTML and
    PDF rows, newest first (the standard layout of a letter before its large-print and
    easy-read copies): what the document lists show."""
    out: dict[tuple[str, int, str], dict[str, Any]] = {}
    for d in docs:
        if d.audience != audience:
            continue
        layout = d.layout or "standard"
        entry = out.setdefault(
            (d.kind, d.version, layout),
            {
                "kind": d.kind,
                "version": d.version,
                "layout": layout,
                "layout_label": LAYOUT_LABELS.get(layout, layout),
                "title": title(d),
                "sent_at": d.sent_at,
                "is_addendum": d.is_addendum,
                "html": None,
                "pdf": None,
            },
        )
        entry[d.format] = d
    order = list(LAYOUT_LABELS)
    return sorted(
        out.values(),
        key=lambda e: (
            e["sent_at"],
            e["version"],
            -order.index(e["layout"]) if e["layout"] in order else -len(order),
        ),
        reverse=True,
    )


# --------------------------------------------------------------------------- writing
@contextlib.contextmanager
def _rendering() -> Iterator[None]:
    """Templates use ``url_for``: outside a request (CLI, jobs, tests) render in a request
    context of the configured base URL."""
    if has_request_context():
        yield
        return
    base = current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context("/", base_url=base):
        yield


def _store(data: bytes) -> tuple[str, str, int]:
    """Store ``data``; returns (storage key, sha256, size)."""
    key = get_storage().put_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    if key != sha:  # the storage is content-addressed: anything else is a fault
        raise RuntimeError("stored document does not hash to its key")
    return key, sha, len(data)


def _next_version(case: Case, kind: str) -> int:
    current = db.session.scalar(
        select(func.max(SentDocument.version)).where(
            SentDocument.case_id == case.id, SentDocument.kind == kind
        )
    )
    return (current or 0) + 1


def _add(
    case: Case,
    kind: str,
    version: int,
    rendered: dict[str, bytes],
    *,
    by: Any,
    at: datetime,
    question_ids: list[int] | None = None,
    amendment_number: int | None = None,
    layout: str = "standard",
) -> list[SentDocument]:
    rows = []
    for fmt in FORMATS:
        key, sha, size = _store(rendered[fmt])
        row = SentDocument(
            case_id=case.id,
            kind=kind,
            format=fmt,
            version=version,
            sent_at=at,
            sha256=sha,
            size=size,
            storage_key=key,
            created_by_id=getattr(by, "id", None),
            question_ids=question_ids,
            amendment_number=amendment_number,
            layout=layout,
        )
        db.session.add(row)
        rows.append(row)
    return rows


def _printed(whole: str) -> bytes:
    """The PDF of the whole-page HTML ``whole``: the one a ``pdf.render`` job already laid out
    for exactly this HTML (approving asks for them, opening a draft letter too), else laid out
    now (the send action waits for it rather than store letters without their PDF)."""
    return pdf.ready_pdf(whole) or pdf.html_to_pdf(whole)


def _letter_copies(case: Case) -> list[tuple[str, str]]:
    """The letters sending stores: the clinician letter, and the family letter in the standard
    layout and each layout of the family's recorded communication needs."""
    needs = communication_needs(case)
    return [("clinician", "standard")] + [("family", lay) for lay in needs.letter_layouts]


def _letter_files(rec: Recommendation, audience: str, layout: str = "standard") -> dict[str, bytes]:
    from panel.feedback.letters import render_letter_html

    with _rendering():
        sheet = render_letter_html(rec, audience, layout=layout)
        whole = render_letter_html(rec, audience, for_pdf=True, layout=layout)
    return {"html": sheet.encode("utf-8"), "pdf": _printed(whole)}


def prerender_letters(rec: Recommendation) -> list:
    """The record was approved: ask the queue to print the letters as they will be sent
    (published when the approval commits), so sending finds their PDFs laid out. A letter
    whose HTML changes before sending (sent on a later day, so other dates; an amendment) is
    laid out again when sent.
    Off with ``PDF_PRERENDER`` (the tests' default)."""
    if not current_app.config.get("PDF_PRERENDER", True):
        return []
    from panel.feedback.letters import render_letter_html
    from panel.feedback.sending import stamp_sent

    pages = []
    db.session.flush()
    savepoint = db.session.begin_nested()
    try:
        stamp_sent(rec, utcnow())  # as if sent today: the dates the letters will print
        db.session.flush()
        with _rendering():
            for audience, layout in _letter_copies(rec.case):
                html = render_letter_html(rec, audience, for_pdf=True, layout=layout)
                pages.append((f"{audience}_letter", html))
    finally:
        savepoint.rollback()
    return [pdf.ask(html, label=label, case_id=rec.case_id) for label, html in pages]


def issue_letters(
    rec: Recommendation,
    *,
    by: Any,
    amendment: RecommendationAmendment | None = None,
    late: bool = False,
) -> list[SentDocument]:
    """Render and store both letters (HTML and PDF) as the case's next letter version: version
    1 when the feedback is sent, later versions for updated advice. The family letter is
    stored in the standard layout and in each layout of the family's recorded communication
    needs (large print, easy read). Audited, with the needs the letters were made for."""
    case = rec.case
    at = utcnow()
    rows: list[SentDocument] = []
    version = _next_version(case, "clinician_letter")
    answered = sorted(a.question_id for a in rec.answers if a.is_complete)
    needs = communication_needs(case)
    for audience, layout in _letter_copies(case):
        rows += _add(
            case,
            f"{audience}_letter",
            version,
            _letter_files(rec, audience, layout),
            by=by,
            at=at,
            question_ids=answered,
            amendment_number=amendment.number if amendment is not None else None,
            layout=layout,
        )
    db.session.flush()
    audit.record(
        "letters.stored",
        obj=case,
        actor=by,
        details={
            "version": version,
            "studies": _study_statuses(),
            "amendment": amendment.number if amendment is not None else None,
            "late": late,
            "family_layouts": list(needs.letter_layouts),
            "translation_notice": (needs.translation_notice or {}).get("language"),
            "documents": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "format": r.format,
                    "layout": r.layout,
                    "sha256": r.sha256,
                }
                for r in rows
            ],
        },
    )
    return rows


def _study_statuses() -> dict[str, Any]:
    """The statuses of the studies the letters speak of, as read when they were rendered (the
    letters print them; the audit entry keeps what they relied on)."""
    from panel.feedback.operations import EPIDEMIOLOGY_STUDY, PROFILING_STUDY, study_status

    out = {}
    for code in (EPIDEMIOLOGY_STUDY, PROFILING_STUDY):
        st = study_status(code)
        out[code] = {
            "status": st["status"],
            "checked_on": st["checked_on"].isoformat() if st["checked_on"] else None,
            "source": st["source"],
            "confirmed": st["confirmed"],
        }
    return out


def store_missing_letters() -> list[str]:
    """Cases whose feedback was sent before letters were stored (before migration 0009): store
    their letters now, from the record as it stands (audited with ``"late": true``), so that
    from now on they too are served as stored and never change. Returns the references."""
    from panel.cases.models import CaseStatus
    from panel.feedback.letters import recommendation_for
    from panel.feedback.models import RecommendationStatus

    stored = select(SentDocument.id).where(SentDocument.case_id == Case.id).exists()
    cases = db.session.scalars(
        select(Case)
        .join(Recommendation, Recommendation.case_id == Case.id)
        .where(
            Case.feedback_sent_at.is_not(None),
            Case.status.in_((CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED)),
            Recommendation.status == RecommendationStatus.APPROVED,
            ~stored,
        )
        .order_by(Case.id)
    ).all()
    done = []
    for case in cases:
        issue_letters(recommendation_for(case), by=None, late=True)
        done.append(case.reference)
    return done


def _addendum_files(
    rec: Recommendation, questions: list[CaseQuestion], audience: str, number: int, at: datetime
) -> dict[str, bytes]:
    from panel.feedback.letters import addendum_context

    with _rendering():
        letter = addendum_context(rec, questions, audience, number=number, at=at)
        sheet = render_template("feedback/letters/addendum.html", letter=letter, for_pdf=False)
        whole = render_template("feedback/letters/addendum.html", letter=letter, for_pdf=True)
    return {"html": sheet.encode("utf-8"), "pdf": _printed(whole)}


def issue_addendum(
    rec: Recommendation,
    questions: list[CaseQuestion],
    *,
    by: Any,
    amendment: RecommendationAmendment | None = None,
) -> list[SentDocument]:
    """Render and store the answer addendum for ``questions`` (clinician and family, HTML and
    PDF) as the case's next addendum. Audited."""
    case = rec.case
    at = utcnow()
    number = _next_version(case, "clinician_addendum")
    ids = [q.id for q in questions]
    rows: list[SentDocument] = []
    for audience in ("clinician", "family"):
        rows += _add(
            case,
            f"{audience}_addendum",
            number,
            _addendum_files(rec, questions, audience, number, at),
            by=by,
            at=at,
            question_ids=ids,
            amendment_number=amendment.number if amendment is not None else None,
        )
    db.session.flush()
    audit.record(
        "letters.addendum_stored",
        obj=case,
        actor=by,
        details={
            "addendum": number,
            "questions": ids,
            "amendment": amendment.number if amendment is not None else None,
            "documents": [
                {"id": r.id, "kind": r.kind, "format": r.format, "sha256": r.sha256} for r in rows
            ],
        },
    )
    return rows


# --------------------------------------------------------------------------- questions
def letters_sent_at(case: Case) -> datetime | None:
    """When the first letters were stored (None: never)."""
    return db.session.scalar(
        select(func.min(SentDocument.sent_at)).where(
            SentDocument.case_id == case.id, SentDocument.kind == "clinician_letter"
        )
    )


def answered_in_documents(case: Case) -> set[int]:
    """Ids of the questions whose answers a sent document carries."""
    out: set[int] = set()
    for ids in db.session.scalars(
        select(SentDocument.question_ids).where(
            SentDocument.case_id == case.id,
            SentDocument.kind.in_(("clinician_letter", "clinician_addendum")),
            SentDocument.format == "pdf",
        )
    ):
        out.update(int(i) for i in ids or [])
    return out


def after_amendment(
    rec: Recommendation, amendment: RecommendationAmendment, *, by: Any
) -> list[SentDocument]:
    """An amendment was recorded: once the letters have been sent it issues a new document.
    Only answers to questions asked after the letters (follow-up questions) changed: an
    answer addendum with those that now have both answers (nothing while an answer is half
    written). Anything else: the updated advice, the letters' next version."""
    case = rec.case
    first = letters_sent_at(case)
    if first is None:
        return []  # not sent yet (or sent before letters were stored): the letters will say it
    changed = set(amendment.after)
    questions = {q.id: q for q in case.questions}
    if changed == {"answers"}:
        ids = [int(k) for k in amendment.after["answers"]]
        follow_ups = [
            questions[i] for i in ids if i in questions and questions[i].created_at > first
        ]
        if len(follow_ups) == len(ids):
            complete = {a.question_id for a in rec.answers if a.is_complete}
            done = answered_in_documents(case)
            ready = [q for q in follow_ups if q.id in complete and q.id not in done]
            ready.sort(key=lambda q: q.position)
            return issue_addendum(rec, ready, by=by, amendment=amendment) if ready else []
    return issue_letters(rec, by=by, amendment=amendment)


def question_states(case: Case, rec: Recommendation | None) -> dict[int, dict[str, Any]]:
    """For each question asked after the letters were sent: ``answered`` (an addendum holds
    its answer) and when it was asked; the pages say "sent to the panel on DATE" until then."""
    first = letters_sent_at(case)
    if first is None:
        return {}
    done = answered_in_documents(case)
    return {
        q.id: {"asked_at": q.created_at, "answered": q.id in done}
        for q in case.questions
        if q.created_at > first
    }

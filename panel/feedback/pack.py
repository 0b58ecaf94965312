"""The second-opinion pack: the clinician letter, the case summary and the de-identified images
in one zip for the referrer, to send to another team.

It reuses the imaging export (released de-identified images and checked documents plus
``case.json`` in the ``panel-case/2`` format) and adds the two PDFs and a README. Nothing in it
identifies the patient: the referral never held identifiers, images were de-identified on upload,
files held back for review are left out, and the family letter (with its placeholders) is not
included.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from flask import current_app, render_template

from panel.cases.models import Case
from panel.core.pdf import html_to_pdf
from panel.core.storage import LocalStorage
from panel.feedback.letters import render_letter_pdf, uk_date
from panel.feedback.models import Recommendation

README = """Second-opinion pack: case {reference}
{panel}
Prepared {date}{draft}

Contents
  clinician-letter.pdf   the panel's recommendation for the referring team
  case-summary.pdf       the anonymised referral as the panel saw it
  case.json              the same referral in the panel-case/2 format (machine readable)
  images/                de-identified DICOM images (PS3.15 basic profile, dates shifted)
  documents/             checked reports and documents

The referral holds no patient identifiers: ages are in months and clinical times are
intervals. Images were de-identified when they were uploaded; files held back for review
are not included. Add the patient's details for the receiving team through your own
hospital's secure channels.

The panel's advice supports, and does not replace, the treating team's clinical judgement.
Trial availability as of {as_of}.
"""


def render_case_summary_pdf(case: Case) -> bytes:
    """The anonymised referral (every field with its label) as an A4 PDF (laid out here)."""
    return html_to_pdf(case_summary_html(case))


def case_summary_html(case: Case) -> str:
    """The anonymised referral (every field with its label): the HTML its PDF prints."""
    from panel.cases.display import case_sections
    from panel.cases.operations import to_document

    doc = to_document(case)
    return render_template(
        "feedback/letters/case_summary.html",
        case=case,
        doc=doc,
        sections=[s for s in case_sections(doc) if s.rows],
        date=uk_date(case.feedback_sent_at or case.submitted_at),
    )


def _clinician_pdf(rec: Recommendation) -> bytes:
    """The clinician letter as sent (its newest stored version), or the draft before sending."""
    from panel.feedback.documents import latest, read_bytes

    doc = latest(rec.case, "clinician_letter", "pdf")
    return read_bytes(doc) if doc is not None else render_letter_pdf(rec, "clinician")


def prepare_pdfs(rec: Recommendation, *, user_id: int | None = None) -> list:
    """The pack's PDFs as :class:`panel.core.pdf.Prepared` (clinician letter, case summary),
    asked of the queue when not printed yet: the pack route waits for both (the preparing
    page) and never lays one out itself. A sent clinician letter is its stored PDF."""
    from panel.core import pdf
    from panel.core.models import Job
    from panel.feedback.documents import latest, read_bytes
    from panel.feedback.letters import render_letter_html

    case = rec.case
    doc = latest(case, "clinician_letter", "pdf")
    if doc is not None:
        letter = pdf.Prepared(Job(state="done"), read_bytes(doc))
    else:
        letter = pdf.prepare(
            render_letter_html(rec, "clinician", for_pdf=True),
            label="clinician_letter",
            case_id=case.id,
            user_id=user_id,
        )
    summary = pdf.prepare(
        case_summary_html(case), label="case_summary", case_id=case.id, user_id=user_id
    )
    return [letter, summary]


def build_pack(
    rec: Recommendation, storage: LocalStorage, pdfs: tuple[bytes, bytes] | None = None
) -> Path:
    """Write the pack to a temporary file in the storage's temp folder; the caller removes it.
    ``pdfs``: the clinician letter and case summary already printed (else laid out here)."""
    from panel.imaging.export import build_export

    case = rec.case
    letter_pdf, summary_pdf = pdfs or (_clinician_pdf(rec), render_case_summary_pdf(case))
    images = build_export(case, storage)
    out = storage.temp_file(".zip")
    try:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("clinician-letter.pdf", letter_pdf)
            zf.writestr("case-summary.pdf", summary_pdf)
            with zipfile.ZipFile(images) as src:
                for info in src.infolist():
                    if info.filename == "README.txt" or info.is_dir():
                        continue
                    with src.open(info) as fh, zf.open(info.filename, "w") as dst:
                        while chunk := fh.read(1 << 20):
                            dst.write(chunk)
            zf.writestr(
                "README.txt",
                README.format(
                    reference=case.reference,
                    panel=case.panel.name,
                    date=uk_date(case.feedback_sent_at or rec.approved_at or rec.updated_at) or "",
                    draft=""
                    if rec.is_approved
                    else " (DRAFT: the recommendation is not approved yet)",
                    as_of=uk_date(rec.trial_status_as_of or rec.approved_at or rec.updated_at)
                    or "the meeting",
                ),
            )
    except Exception:
        out.unlink(missing_ok=True)
        raise
    finally:
        images.unlink(missing_ok=True)
    current_app.logger.debug(
        "second-opinion pack for %s: %s bytes", case.reference, out.stat().st_size
    )
    return out


def pack_filename(case: Case) -> str:
    return f"{case.reference}-second-opinion-pack.zip"

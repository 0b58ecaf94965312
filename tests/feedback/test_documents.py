"""Sent documents are immutable (issue 14): each letter is rendered once at sending, stored with
its SHA-256 and served byte for byte; a follow-up question or an amendment adds a numbered
document and never rewrites a sent one."""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess

import pytest
from sqlalchemy import select

from panel.cases import operations as case_ops
from panel.core.models import AuditEntry
from panel.feedback import documents, family, operations, sending
from panel.feedback.models import SentDocument
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form

FOLLOW_UP = "Could the trial medicine make our child more tired than now?"


@pytest.fixture(autouse=True)
def generous_limiter(app):
    from panel.core.extensions import limiter

    old = app.config.get("RATELIMIT_FAMILY")
    app.config["RATELIMIT_FAMILY"] = "100000 per minute"
    limiter.reset()
    yield
    if old is None:
        app.config.pop("RATELIMIT_FAMILY", None)
    else:
        app.config["RATELIMIT_FAMILY"] = old
    limiter.reset()


@pytest.fixture
def sent(approved_recommendation, feedback_people, db_session):
    """The approved ALK record, its feedback sent by the NAP coordinator (letters stored)."""
    rec = approved_recommendation
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    return rec


def pdftotext(data: bytes, tmp_path) -> str:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (poppler-utils) is needed"
    src = tmp_path / "doc.pdf"
    src.write_bytes(data)
    out = subprocess.run([exe, "-layout", str(src), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _fingerprints(db_session, case) -> dict[int, tuple[str, str, int, str]]:
    """Every stored document: (kind, format, version) -> the SHA-256 of the bytes in storage."""
    db_session.expire_all()
    out = {}
    for d in documents.documents_for(case):
        data = documents.read_bytes(d)
        assert hashlib.sha256(data).hexdigest() == d.sha256 == d.storage_key
        assert len(data) == d.size
        out[d.id] = (d.kind, d.format, d.version, d.sha256)
    return out


def _family_client(app, case, by, db_session):
    code, plain = family.create_code(case, by=by)
    db_session.commit()
    client = app.test_client()
    resp = post_form(app, client, "/family", {"code": plain})
    assert resp.status_code == 302
    return client, code


def _ask(app, fam, db_session, case, text=FOLLOW_UP):
    """The family sends its follow-up question through its page."""
    resp = post_form(app, fam, "/family/question", {"text": text})
    assert resp.status_code == 302, resp.status_code
    db_session.expire_all()
    return next(q for q in case.questions if q.text == text)


def _chair_approves(rec, chair, db_session) -> None:
    """A coordinator's change to an approved record waits for a chair: nothing is issued until
    the chair approves it (then the amendment takes effect and its document is issued)."""
    db_session.refresh(rec)
    pending = rec.pending_amendment
    assert pending is not None
    operations.approve_amendment(rec, pending, by=chair)
    db_session.commit()


def _answer(rec, question, by, db_session, chair=None):
    before = len(documents.documents_for(rec.case))
    operations.save_answer(
        rec,
        question,
        clinician_answer="Fatigue is common in the first cycle; check blood counts weekly.",
        family_answer="Your child may feel more tired in the first weeks. Your doctor will check.",
        by=by,
        reason="Answer to the family's follow-up question",
    )
    db_session.commit()
    if chair is not None:  # the coordinator's answer waits for the chair's approval
        assert len(documents.documents_for(rec.case)) == before
        _chair_approves(rec, chair, db_session)


# --------------------------------------------------------------------------- storing
def test_sending_stores_each_letter_once(app, sent, db_session):
    """Does sending store the clinician and family letters, HTML and PDF, as version 1, each
    with the SHA-256 of the stored bytes, audited?"""
    docs = documents.documents_for(sent.case)
    assert sorted((d.kind, d.format, d.version) for d in docs) == [
        ("clinician_letter", "html", 1),
        ("clinician_letter", "pdf", 1),
        ("family_letter", "html", 1),
        ("family_letter", "pdf", 1),
    ]
    _fingerprints(db_session, sent.case)
    for d in docs:
        data = documents.read_bytes(d)
        assert data.startswith(b"%PDF-") if d.format == "pdf" else b"<article" in data
        assert d.sent_at is not None and d.created_by_id is not None
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "letters.stored"))
    assert entry is not None and len(entry.details["documents"]) == 4


def test_served_bytes_equal_stored_bytes(app, client, login, sent, feedback_people, db_session):
    """Do the staff letter pages, the staff PDFs, the family page and the family PDF serve the
    stored bytes exactly, even after the record changes underneath?"""
    case = sent.case
    stored = {(d.kind, d.format): d for d in documents.documents_for(case)}
    # The live record changes (as a careless edit would): the sent letters must not follow it.
    sent.rationale = "CHANGED-AFTER-SENDING"
    db_session.commit()
    login(client, feedback_people["referrer"])
    for kind in ("clinician", "family"):
        pdf = client.get(f"/cases/{case.reference}/letters/{kind}.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert pdf.get_data() == documents.read_bytes(stored[(f"{kind}_letter", "pdf")])
        page = client.get(f"/cases/{case.reference}/letters/{kind}")
        assert page.status_code == 200
        sheet = documents.read_bytes(stored[(f"{kind}_letter", "html")])
        assert sheet in page.get_data()
        assert b"CHANGED-AFTER-SENDING" not in page.get_data()
        one = stored[(f"{kind}_letter", "pdf")]
        got = client.get(f"/cases/{case.reference}/documents/{one.id}")
        assert got.status_code == 200 and got.get_data() == documents.read_bytes(one)
    fam, _ = _family_client(app, case, feedback_people["referrer"], db_session)
    pdf = fam.get("/family/letter.pdf")
    assert pdf.status_code == 200
    assert pdf.get_data() == documents.read_bytes(stored[("family_letter", "pdf")])
    page = fam.get("/family/letter")
    assert documents.read_bytes(stored[("family_letter", "html")]) in page.get_data()


# --------------------------------------------------------------------------- follow-up questions
def test_follow_up_question_changes_no_sent_letter(
    app, client, login, sent, feedback_people, db_session
):
    """Fault 4: after a family's follow-up question, do the stored letters keep their SHA-256,
    do the pages say "sent to the panel on DATE" (never "did not answer"), and does the
    approved record still count 3 of 3 answered?"""
    case = sent.case
    before = _fingerprints(db_session, case)
    fam, _ = _family_client(app, case, feedback_people["referrer"], db_session)
    pdf_before = fam.get("/family/letter.pdf").get_data()
    _ask(app, fam, db_session, case)
    assert _fingerprints(db_session, case) == before
    assert fam.get("/family/letter.pdf").get_data() == pdf_before
    page = html.unescape(fam.get("/family/letter").get_data(as_text=True))
    assert "sent to the panel on" in page
    assert "did not answer" not in page
    login(client, feedback_people["nap_coordinator"])
    for kind in ("clinician", "family"):
        text = html.unescape(
            client.get(f"/cases/{case.reference}/letters/{kind}").get_data(as_text=True)
        )
        assert FOLLOW_UP not in text and "did not answer" not in text
    record = html.unescape(
        client.get(f"/cases/{case.reference}/recommendation").get_data(as_text=True)
    )
    assert "3 of 3 answered" in record and "3 of 4" not in record
    assert "sent to the panel on" in record
    card = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "3 of 3 parents' questions answered" in card


def test_answering_the_follow_up_issues_an_addendum(
    app, client, login, sent, feedback_people, db_session, tmp_path
):
    """Does the panel's answer to the follow-up question become answer addendum 1 (clinician and
    family, HTML and PDF), leave the letters' hashes alone, and show on the family page as a
    new answer waiting?"""
    case = sent.case
    before = _fingerprints(db_session, case)
    fam, _ = _family_client(app, case, feedback_people["referrer"], db_session)
    question = _ask(app, fam, db_session, case)
    _answer(
        sent,
        question,
        feedback_people["nap_coordinator"],
        db_session,
        chair=feedback_people["chair"],
    )
    after = _fingerprints(db_session, case)
    assert {k: v for k, v in after.items() if k in before} == before
    added = sorted(v[:3] for k, v in after.items() if k not in before)
    assert added == [
        ("clinician_addendum", "html", 1),
        ("clinician_addendum", "pdf", 1),
        ("family_addendum", "html", 1),
        ("family_addendum", "pdf", 1),
    ]
    by_kind = {(d.kind, d.format): d for d in documents.documents_for(case)}
    family_text = pdftotext(documents.read_bytes(by_kind[("family_addendum", "pdf")]), tmp_path)
    assert "[" not in family_text and "Dear parent or carer" in family_text
    assert "more tired" in family_text
    clinician_text = pdftotext(
        documents.read_bytes(by_kind[("clinician_addendum", "pdf")]), tmp_path
    )
    assert "[child's name]" in clinician_text and "blood counts" in clinician_text
    # The family comes back: the answer is listed with its date and announced as waiting.
    page = html.unescape(fam.get("/family/letter").get_data(as_text=True))
    assert 'data-testid="new-answer"' in page
    assert "The panel's answer to your question" in page
    assert "sent to the panel on" not in page.split('id="question"')[1]
    doc = by_kind[("family_addendum", "pdf")]
    got = fam.get(f"/family/letter.pdf?document={doc.id}")
    assert got.get_data() == documents.read_bytes(doc)
    # Without a code, a document id opens nothing: back to the code page.
    assert app.test_client().get(f"/family/letter.pdf?document={doc.id}").status_code == 302
    # A staff-only document (the clinician's addendum) is not the family's to download.
    clinician = by_kind[("clinician_addendum", "pdf")]
    assert fam.get(f"/family/letter.pdf?document={clinician.id}").status_code == 404


def test_an_amendment_issues_updated_advice_version_2(
    app, client, login, sent, feedback_people, db_session, tmp_path
):
    """Does an amendment after sending leave version 1 as it was and issue version 2 of both
    letters, served from then on, with version 1 still there byte for byte?"""
    case = sent.case
    before = _fingerprints(db_session, case)
    v1 = {(d.kind, d.format): d for d in documents.documents_for(case)}
    coordinator = feedback_people["nap_coordinator"]
    operations.save_record(
        sent,
        full_record_data(
            answers=answers_for(case),
            rationale="Updated after the restaging scan: an ALK inhibitor trial remains first.",
        ),
        by=coordinator,
        expected_version=sent.version,
        reason="Restaging scan reviewed",
    )
    db_session.commit()
    assert len(documents.documents_for(case)) == len(before)  # waits for the chair
    _chair_approves(sent, feedback_people["chair"], db_session)
    after = _fingerprints(db_session, case)
    assert {k: v for k, v in after.items() if k in before} == before
    added = sorted(v[:3] for k, v in after.items() if k not in before)
    assert added == [
        ("clinician_letter", "html", 2),
        ("clinician_letter", "pdf", 2),
        ("family_letter", "html", 2),
        ("family_letter", "pdf", 2),
    ]
    login(client, feedback_people["referrer"])
    latest = documents.latest(case, "clinician_letter", "pdf")
    assert latest.version == 2
    pdf = client.get(f"/cases/{case.reference}/letters/clinician.pdf").get_data()
    assert pdf == documents.read_bytes(latest)
    assert "restaging scan" in pdftotext(pdf, tmp_path)
    old = v1[("clinician_letter", "pdf")]
    assert client.get(f"/cases/{case.reference}/documents/{old.id}").get_data() == (
        documents.read_bytes(old)
    )
    page = client.get(f"/cases/{case.reference}/letters/family").get_data(as_text=True)
    assert "Updated advice, version 2" in page


# --------------------------------------------------------------------------- placeholders
def test_family_copies_have_no_placeholders_clinician_copy_keeps_them(
    app, sent, feedback_people, db_session, tmp_path
):
    """Fault 5: does the family's own PDF and page address the family ("Dear parent or carer",
    "your child's doctor") without any "[...]" placeholder, while the clinician letter keeps
    "[child's name]" and "[hospital]" for the treating team?"""
    by_kind = {(d.kind, d.format): d for d in documents.documents_for(sent.case)}
    family_text = pdftotext(documents.read_bytes(by_kind[("family_letter", "pdf")]), tmp_path)
    assert "[" not in family_text and "]" not in family_text
    assert "Dear parent or carer" in family_text
    assert "your child's doctor" in family_text.lower()
    family_html = html.unescape(documents.read_bytes(by_kind[("family_letter", "html")]).decode())
    assert "[child's name]" not in family_html and "[hospital]" not in family_html
    clinician_text = pdftotext(documents.read_bytes(by_kind[("clinician_letter", "pdf")]), tmp_path)
    assert "[child's name]" in clinician_text and "[hospital]" in clinician_text


def test_documents_for_lists_oldest_first(app, sent, feedback_people, db_session):
    """``documents_for`` (for the case timeline) lists every document, oldest first."""
    case = sent.case
    q = case_ops.add_question(case, "Can we stay together on the ward?", by=None, source="family")
    db_session.commit()
    _answer(sent, q, feedback_people["chair"], db_session)
    docs = documents.documents_for(case)
    assert [d.kind for d in docs][:4] == [
        "clinician_letter",
        "clinician_letter",
        "family_letter",
        "family_letter",
    ]
    assert {d.kind for d in docs[4:]} == {"clinician_addendum", "family_addendum"}
    assert all(a.sent_at <= b.sent_at for a, b in zip(docs, docs[1:], strict=False))
    assert db_session.scalar(select(SentDocument.id).where(SentDocument.case_id == case.id))


def test_letters_of_cases_sent_before_storing_are_stored_once(
    app, approved_recommendation, db_session
):
    """A case sent before letters were stored (its state set directly, as migration 0009 finds
    it) is served live until ``flask store-sent-letters`` stores its letters; a second run
    stores nothing more."""
    from panel.cases.models import CaseStatus
    from panel.core.db import utcnow

    case = approved_recommendation.case
    case.status, case.feedback_sent_at = CaseStatus.FEEDBACK_SENT, utcnow()
    db_session.commit()
    assert documents.documents_for(case) == []
    result = app.test_cli_runner().invoke(args=["store-sent-letters"])
    assert result.exit_code == 0, result.output
    assert case.reference in result.output
    db_session.expire_all()
    assert len(documents.documents_for(case)) == 4
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "letters.stored"))
    assert entry.details["late"] is True and entry.actor_id is None
    again = app.test_cli_runner().invoke(args=["store-sent-letters"])
    assert "of 0 case(s)" in again.output
    assert len(documents.documents_for(case)) == 4

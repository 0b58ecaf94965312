"""The clinician and family letters: content, escaping, PDF, amendments, DRAFT, access."""

from __future__ import annotations

import html
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from panel.feedback import letters, operations
from panel.feedback.models import CATEGORIES
from tests.support.data import answers_for, full_record_data
from tests.support.db import ARTIFACTS

INJECTED = "<script>alert(1)</script><b>x</b>"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def flat(text: str) -> str:
    """Text with runs of whitespace as one space (PDF extraction breaks lines)."""
    return " ".join(text.split())


@pytest.fixture
def rec(approved_recommendation):
    return approved_recommendation


@pytest.fixture
def injected_rec(draft_recommendation, feedback_people, db_session):
    """An approved record whose first answers (both versions) carry HTML."""
    rec = draft_recommendation
    answers = answers_for(rec.case)
    first = next(iter(answers))
    answers[first] = {"clinician": f"Clinician {INJECTED}", "family": f"Family {INJECTED}"}
    coordinator = feedback_people["nap_coordinator"]
    operations.save_record(
        rec,
        full_record_data(answers=answers, rationale=f"Rationale {INJECTED}"),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db_session.commit()
    return rec


def _amend(
    rec,
    feedback_people,
    db_session,
    reason="Restaging showed new bone disease; trial order changed.",
):
    data = full_record_data(
        answers=answers_for(rec.case), rationale="Updated rationale after restaging."
    )
    operations.save_record(
        rec,
        data,
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
        reason=reason,
    )
    # A coordinator's change to the advice waits for a chair's approval (issue 14).
    operations.approve_amendment(rec, rec.pending_amendment, by=feedback_people["chair"])
    db_session.commit()
    return reason


# --------------------------------------------------------------------------- content
def test_clinician_letter_html_has_the_record(app, rec):
    """Does the clinician letter print the categories, answers, trials with the 'as of' date,
    the disclaimer and the placeholders?"""
    with app.test_request_context():
        page = letters.render_letter_html(rec, "clinician")
        ctx = letters.clinician_context(rec)
    text = html.unescape(page)
    for code in rec.categories:
        assert CATEGORIES[code] in text
    for a in rec.answers:
        assert a.clinician_answer in text
        assert a.question.text in text
    assert "CRISP" in text and "NAXITAMAB-201" in text
    assert f"Trial availability as of {ctx['trial_status_as_of']}" in text
    assert ctx["trial_status_as_of"]  # a real date
    assert "supports, and does not replace" in text
    assert "[child's name]" in page and "[hospital]" in page
    assert rec.case.reference in text
    assert "Contact the CRISP trial team about a slot" in text  # follow-up
    assert "After two cycles, with restaging scans." in text  # re-present
    assert "DRAFT" not in page


def test_trials_are_in_priority_order_with_facts_and_checks(app, rec):
    """Are the frozen trials printed first choice first, with site, distance and status?"""
    with app.test_request_context():
        ctx = letters.clinician_context(rec)
    assert [t["id"] for t in ctx["trials"]] == ["CRISP", "NAXITAMAB-201"]
    crisp = ctx["trials"][0]
    assert crisp["facts"] and crisp["site"] and crisp["status_label"]
    assert crisp["phase"].startswith("Phase")


def test_family_letter_plain_language_glossary_and_no_staff(app, rec, feedback_people):
    """Does the family letter carry the plain answers, no placeholders, a glossary of the words it
    uses, second opinion, treatment abroad and support organisations, and no staff e-mail?"""
    with app.test_request_context():
        page = letters.render_letter_html(rec, "family")
        pdf_page = letters.render_letter_html(rec, "family", for_pdf=True)
        ctx = letters.family_context(rec)
    text = html.unescape(page)
    for a in rec.answers:
        assert a.family_answer in text
        assert a.clinician_answer not in text
    assert rec.rationale not in text  # the clinical rationale stays in the clinician letter
    # The family's own copy addresses the family: no blanks for the treating team (issue 14).
    for placeholder in ("[child's name]", "[treating consultant]", "[hospital]"):
        assert placeholder not in page and placeholder not in pdf_page
    assert "Dear parent or carer," in text
    terms = {g["term"] for g in ctx["glossary"]}
    assert {
        "Clinical trial",
        "Molecular profiling",
        "Biopsy and re-biopsy",
        "Second opinion",
    } <= terms
    assert "Palliative care" not in terms  # not used in this letter: not explained
    assert "Words used in this letter" in text
    assert "second opinion" in text.lower()
    assert "treatment abroad" in text
    for org in (
        "Neuroblastoma UK",
        "Solving Kids' Cancer",
        "CCLG",
        "Children with Cancer UK",
        "Young Lives vs Cancer",
        "Macmillan",
    ):
        assert org in text
    assert "It does not take their place." in text  # the disclaimer, in plain words
    assert f"We checked the trials on {ctx['trial_status_as_of']}" in text
    for person in feedback_people.values():
        assert person.email not in page and person.email not in pdf_page
        assert person.name not in page
    assert "@" not in text.replace("@page", "")


def test_glossary_explains_each_word_once(app, rec):
    """Is each glossary term listed once even when the letter uses the word many times?"""
    with app.test_request_context():
        ctx = letters.family_context(rec)
    terms = [g["term"] for g in ctx["glossary"]]
    assert len(terms) == len(set(terms))
    assert letters.glossary_for("We suggest palliative care.")[0]["term"] == "Palliative care"
    assert letters.glossary_for("nothing medical here") == []


def test_family_body_renders_on_its_own(app, rec):
    """Can the family page include _family_body.html with only `letter`?"""
    from flask import render_template

    with app.test_request_context():
        body = render_template(
            "feedback/letters/_family_body.html", letter=letters.family_context(rec)
        )
    assert "What the panel advises" in body and "Words used in this letter" in body


def test_injected_html_is_inert_in_html_and_pdf(app, injected_rec):
    """Does HTML typed into an answer show as literal text, never as markup, in both letters?"""
    with app.test_request_context():
        for kind in ("clinician", "family"):
            page = letters.render_letter_html(injected_rec, kind)
            assert "<script>alert(1)</script>" not in page
            assert "<b>x</b>" not in page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in page
            text = flat(pdf_text(letters.render_letter_pdf(injected_rec, kind)))
            assert INJECTED in text, kind


# --------------------------------------------------------------------------- PDF
def test_pdfs_are_valid_a4_letters(app, rec):
    """Are both PDFs valid, A4, with the reference, page numbers and the disclaimer?"""
    with app.test_request_context():
        for kind in ("clinician", "family"):
            data = letters.render_letter_pdf(rec, kind)
            assert data.startswith(b"%PDF")
            reader = PdfReader(io.BytesIO(data))
            n = len(reader.pages)
            assert n >= 1
            box = reader.pages[0].mediabox
            assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2  # A4
            text = flat(pdf_text(data))
            assert rec.case.reference in text
            assert f"Page 1 of {n}" in text
            if kind == "clinician":
                assert "supports, and does not replace" in text
                assert "Trial availability as of" in text
            else:  # in plain words
                assert "It does not take their place." in text
                assert "We checked the trials on" in text
            assert "DRAFT" not in text


def test_amendments_are_shown_in_both_letters(app, rec, feedback_people, db_session):
    """After an amendment, do both letters show its number, date and reason?"""
    reason = _amend(rec, feedback_people, db_session)
    with app.test_request_context():
        for kind in ("clinician", "family"):
            text = html.unescape(letters.render_letter_html(rec, kind))
            assert reason in text, kind
            assert "Amended" in text or "updated" in text
            assert reason in flat(pdf_text(letters.render_letter_pdf(rec, kind)))
        assert "Updated rationale after restaging." in html.unescape(
            letters.render_letter_html(rec, "clinician")
        )


def test_draft_watermark_before_approval(app, draft_recommendation):
    """Is a letter of a draft record marked DRAFT (page and PDF)?"""
    with app.test_request_context():
        for kind in ("clinician", "family"):
            page = letters.render_letter_html(draft_recommendation, kind)
            assert "draft-watermark" in page and "not been approved" in page
            assert "DRAFT" in pdf_text(letters.render_letter_pdf(draft_recommendation, kind))


# --------------------------------------------------------------------------- access
def _url(rec, kind="clinician", pdf=False):
    return f"/cases/{rec.case.reference}/letters/{kind}{'.pdf' if pdf else ''}"


def test_panel_people_read_letters_any_time(
    app, client, login, draft_recommendation, feedback_people
):
    """Do the panel's coordinator, chair and members read the (draft) letters?"""
    for who in ("nap_coordinator", "chair", "nap_member"):
        c = app.test_client()
        login(c, feedback_people[who])
        resp = c.get(_url(draft_recommendation, "family"))
        assert resp.status_code == 200, who
        assert "Download PDF" in resp.get_data(as_text=True)


def test_referrer_reads_letters_only_after_sending(
    app, client, login, rec, feedback_people, db_session
):
    """Does the referrer get 404 before the feedback is sent and the letters after?"""
    from panel.feedback import sending

    login(client, feedback_people["referrer"])
    for kind in ("clinician", "family"):
        assert client.get(_url(rec, kind)).status_code == 404
        assert client.get(_url(rec, kind, pdf=True)).status_code == 404
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    for kind in ("clinician", "family"):
        assert client.get(_url(rec, kind)).status_code == 200
        resp = client.get(_url(rec, kind, pdf=True))
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert (
            f'filename="{rec.case.reference}-{kind}-letter.pdf"'
            in resp.headers["Content-Disposition"]
        )
        assert resp.data.startswith(b"%PDF")


@pytest.mark.parametrize("who", ["other_referrer", "north_coordinator", "north_chair", "admin"])
def test_outsiders_get_404(app, client, login, rec, feedback_people, db_session, who):
    """Do other referrers, other panels and admins get 404, even after sending?"""
    from panel.feedback import sending

    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    login(client, feedback_people[who])
    for kind in ("clinician", "family"):
        assert client.get(_url(rec, kind)).status_code == 404
        assert client.get(_url(rec, kind, pdf=True)).status_code == 404


def test_no_record_no_letters(app, client, login, discussed_case, feedback_people):
    """Without a recommendation record there are no letters (404), even for the coordinator."""
    login(client, feedback_people["nap_coordinator"])
    assert client.get(f"/cases/{discussed_case.reference}/letters/clinician").status_code == 404
    assert client.get(f"/cases/{discussed_case.reference}/letters/other").status_code == 404


def test_anonymous_is_sent_to_login(app, client, rec):
    resp = client.get(_url(rec))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- the rendered pages
def _need_pdftoppm() -> None:
    """pdftoppm comes from poppler-utils, which ``make test`` installs as root: as root its
    absence is a failure; elsewhere the test skips and says why."""
    if shutil.which("pdftoppm"):
        return
    if os.geteuid() == 0:
        pytest.fail("pdftoppm (poppler-utils) is missing although we are root: run `make test`")
    pytest.skip("pdftoppm (poppler-utils) is not installed")


def _render(pdf: Path, prefix: Path, first: int, last: int) -> list[Path]:
    """Pages ``first``..``last`` of ``pdf`` as PNGs named ``prefix-N.png`` (old ones removed)."""
    for old in prefix.parent.glob(prefix.name + "-*.png"):
        old.unlink()
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            os.environ.get("LETTER_DPI", "70"),
            "-f",
            str(first),
            "-l",
            str(last),
            str(pdf),
            str(prefix),
        ],
        check=True,
    )
    return sorted(prefix.parent.glob(prefix.name + "-*.png"))


def _assert_real_pages(pdf: Path, pngs: list[Path], first: int, last: int) -> None:
    """One PNG per rendered page, each the page's size at the DPI and with ink on it."""
    from PIL import Image

    reader = PdfReader(str(pdf))
    expected = min(last, len(reader.pages)) - first + 1
    assert len(pngs) == expected, (pngs, len(reader.pages))
    dpi = int(os.environ.get("LETTER_DPI", "70"))
    for index, png in enumerate(pngs, start=first - 1):
        box = reader.pages[index].mediabox
        width, height = float(box.width) * dpi / 72, float(box.height) * dpi / 72
        with Image.open(png) as img:
            assert img.format == "PNG"
            assert abs(img.width - width) <= 2 and abs(img.height - height) <= 2, (
                img.size,
                width,
                height,
            )
            grey = img.convert("L")
            dark = sum(grey.histogram()[:200])  # pixels clearly darker than paper white
            assert dark > 0.005 * img.width * img.height, f"{png.name} is (nearly) blank"
            assert grey.getextrema()[0] < 100, f"{png.name} has no text-dark pixel"


def test_render_pages_as_images(app, rec, feedback_people, db_session):
    """Render page 1 and 2 of each PDF to PNG in test-artifacts/letters (for a person to look
    at); each image is a whole page at the DPI, with content on it."""
    _need_pdftoppm()
    from panel.feedback import sending

    _amend(rec, feedback_people, db_session)
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    out = ARTIFACTS / "letters"
    out.mkdir(parents=True, exist_ok=True)
    backend = db_session.get_bind().dialect.name
    with app.test_request_context():
        for kind in ("clinician", "family"):
            pdf = out / f"{kind}-{backend}.pdf"
            pdf.write_bytes(letters.render_letter_pdf(rec, kind))
            pngs = _render(pdf, out / f"{kind}-{backend}", 1, 2)
            _assert_real_pages(pdf, pngs, 1, 2)
    assert list(Path(out).glob("*.png"))


def test_render_draft_page_as_image(app, draft_recommendation, db_session):
    """Render page 1 of the draft clinician letter (DRAFT watermark) to PNG: one whole page
    with content on it."""
    _need_pdftoppm()
    out = ARTIFACTS / "letters"
    out.mkdir(parents=True, exist_ok=True)
    backend = db_session.get_bind().dialect.name
    with app.test_request_context():
        pdf = out / f"draft-clinician-{backend}.pdf"
        pdf.write_bytes(letters.render_letter_pdf(draft_recommendation, "clinician"))
    pngs = _render(pdf, out / f"draft-clinician-{backend}", 1, 1)
    _assert_real_pages(pdf, pngs, 1, 1)

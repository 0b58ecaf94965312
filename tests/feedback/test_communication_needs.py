"""The family's communication needs (issue 16, NHS Accessible Information Standard): read in
one place (``cases/needs.py``), flagged wherever the family's letter is prepared and sent, the
letter stored in each recorded layout, and the translation notice and reminder.
Runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import copy
import hashlib
import io
import re

import pytest
from sqlalchemy import select

from panel.caseformat.fields import VALUE_SETS
from panel.cases.needs import communication_needs, needs_of, translations
from panel.core.errors import Refused
from panel.core.models import AuditEntry
from panel.feedback import documents, family, sending
from panel.feedback.models import SentDocument
from tests.support.web import csrf_token, post_form

POLISH = "Można poprosić o kopię tego listu w języku polskim."


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


def _record_needs(db_session, case, **needs) -> None:
    data = copy.deepcopy(case.data)
    data.setdefault("family", {})["communication"] = needs
    case.data = data
    db_session.commit()


def _audit(db_session, case, action):
    return db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.object_id == case.reference)
        .order_by(AuditEntry.id)
    ).all()


# --------------------------------------------------------------------------- one reader
def test_needs_read_from_the_document():
    assert not needs_of({}).recorded and needs_of({}).letter_layouts == ("standard",)
    assert needs_of({"family": {"aware_of_referral": True}}).translation_notice is None
    english = needs_of({"family": {"communication": {"language": "english"}}})
    assert not english.recorded and english.translation_language is None
    needs = needs_of(
        {
            "family": {
                "communication": {
                    "language": "polish",
                    "interpreter": True,
                    "large_print": True,
                    "easy_read": True,
                    "other_format": ["audio"],
                    "notes": "Prefers phone calls in the afternoon.",
                }
            }
        }
    )
    assert needs.recorded
    assert needs.summary == [
        "Language: Polish",
        "Interpreter needed",
        "Large print",
        "Easy read",
        "Audio (spoken recording)",
    ]
    assert needs.letter_layouts == ("standard", "large_print", "easy_read")
    assert needs.translation_language == "polish" and needs.translation_needed
    assert needs.translation_notice["language"] == "pl"
    assert needs.translation_notice["text"].startswith(POLISH)
    assert needs.translation_notice["dir"] == "ltr"
    assert needs.reminder.startswith("The family's language is Polish: arrange a translated copy")
    for code in ("arabic", "urdu"):
        assert needs_of({"family": {"communication": {"language": code}}}).translation_notice[
            "dir"
        ] == ("rtl")
    # "Other": the reminder, never a sentence in a language Panel does not know.
    other = needs_of(
        {"family": {"communication": {"language": "other", "language_other": "Farsi"}}}
    )
    assert other.translation_needed and other.translation_notice is None
    assert "Farsi" in other.reminder


def test_translations_table_covers_every_language_and_is_marked_for_checking():
    table = translations()
    assert table["date"] and table["languages_source"]["census_2021"]
    assert "TS024" in table["languages_source"]["census_2021"]
    codes = set(VALUE_SETS["family_language"].codes) - {"english", "other"}
    assert set(table["languages"]) == codes
    required = {"polish", "romanian", "panjabi", "urdu", "bengali", "gujarati", "arabic"}
    required |= {"portuguese", "spanish", "lithuanian", "chinese", "italian", "tamil"}
    required |= {"somali", "turkish"}
    assert required <= codes
    for code, row in table["languages"].items():
        assert row["sentence"] and row["lang"] and row["script"], code
        assert row["dir"] == ("rtl" if code in ("arabic", "urdu") else "ltr"), code
        assert row["native_speaker_checked"] is False, code
        assert "native speaker" in row["check_note"], code
    assert table["languages"]["panjabi"]["script"] == "Gurmukhi"
    assert table["languages"]["chinese"]["lang"] == "zh-Hans"
    assert "Census 2021" in VALUE_SETS["family_language"].note


# --------------------------------------------------------------------------- the letter
def test_family_letter_prints_the_notice_in_the_language_and_script(
    app, approved_recommendation, db_session
):
    from panel.feedback.letters import family_context, render_letter_html

    rec = approved_recommendation
    ctx = app.test_request_context("/")
    ctx.push()
    assert family_context(rec)["translation_notice"] is None
    assert 'data-testid="translation-notice"' not in render_letter_html(rec, "family")
    _record_needs(db_session, rec.case, language="arabic")
    html = render_letter_html(rec, "family")
    notice = re.search(r'<p class="translation-notice"[^>]*>([^<]*)</p>', html)
    assert notice and 'lang="ar" dir="rtl"' in notice.group(0)
    assert notice.group(1) == translations()["languages"]["arabic"]["sentence"]
    # The clinician letter has no notice; "other" gets none either.
    assert "translation-notice" not in render_letter_html(rec, "clinician")
    _record_needs(db_session, rec.case, language="other", language_other="Farsi")
    assert "translation-notice" not in render_letter_html(rec, "family")
    ctx.pop()


def _pdf_fonts(data: bytes) -> set[str]:
    from pypdf import PdfReader

    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        res = page.get("/Resources") or {}
        for font in (res.get("/Font") or {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    return fonts


@pytest.mark.parametrize(
    ("language", "font"), [("arabic", "NotoSansArabic"), ("bengali", "NotoSansBengali")]
)
def test_family_pdf_embeds_a_font_for_the_script(
    app, approved_recommendation, db_session, language, font
):
    """WeasyPrint draws empty boxes for a script it has no font for: the notice must be set in
    a Noto font of its script (fonts-noto-core, installed by the Makefile's `fonts` step)."""
    from pypdf import PdfReader

    from panel.feedback.letters import render_letter_pdf

    rec = approved_recommendation
    _record_needs(db_session, rec.case, language=language)
    with app.test_request_context("/"):
        data = render_letter_pdf(rec, "family")
    fonts = _pdf_fonts(data)
    assert any(font in f.replace("-", "") for f in fonts), fonts
    # Bengali comes back out as text (Arabic's shaped forms do not extract one to one).
    if language == "bengali":
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert "বাংলা" in text


# --------------------------------------------------------------------------- sending
def test_sending_stores_each_recorded_layout_byte_for_byte(
    app, client, approved_recommendation, feedback_people, db_session, login
):
    rec = approved_recommendation
    case = rec.case
    _record_needs(db_session, case, large_print=True, easy_read=True)
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()

    fam = db_session.scalars(
        select(SentDocument).where(
            SentDocument.case_id == case.id, SentDocument.kind == "family_letter"
        )
    ).all()
    assert sorted((d.layout, d.format) for d in fam) == sorted(
        (lay, fmt) for lay in ("standard", "large_print", "easy_read") for fmt in ("html", "pdf")
    )
    # Each HTML copy is its own layout (the PDFs differ once the layouts' print styles
    # differ: another part of issue 16 builds them; identical bytes share one stored file).
    for d in fam:
        if d.format == "html":
            assert f"layout-{d.layout}" in documents.read_bytes(d).decode("utf-8")
    for d in fam:
        data = documents.read_bytes(d)
        assert hashlib.sha256(data).hexdigest() == d.sha256 and len(data) == d.size
    clin = [d for d in documents.documents_for(case) if d.kind == "clinician_letter"]
    assert sorted(d.layout for d in clin) == ["standard", "standard"]
    assert documents.latest(case, "family_letter", "pdf").layout == "standard"
    assert documents.latest(case, "family_letter", "pdf", "easy_read").layout == "easy_read"

    # The audit entry of the letters names the layouts.
    stored = _audit(db_session, case, "letters.stored")[-1]
    assert stored.details["family_layouts"] == ["standard", "large_print", "easy_read"]

    # The staff list and the staff download: each copy, unchanged.
    login(client, feedback_people["nap_coordinator"])
    page = client.get(f"/cases/{case.reference}/letters/family").get_data(as_text=True)
    assert "Letter from the panel (large print)" in page
    assert "Letter from the panel (easy read)" in page
    for d in fam:
        resp = client.get(f"/cases/{case.reference}/documents/{d.id}")
        assert resp.status_code == 200
        if d.format == "pdf":
            assert resp.data == documents.read_bytes(d)
            assert (
                d.layout == "standard"
                or d.layout.replace("_", "-") in (resp.headers["Content-Disposition"])
            )
        else:
            assert documents.read_bytes(d).decode("utf-8") in resp.get_data(as_text=True)

    # The family's page lists them, and serves each unchanged.
    code, plain = family.create_code(case, by=feedback_people["referrer"])
    db_session.commit()
    fam_client = app.test_client()
    assert post_form(app, fam_client, "/family", {"code": plain}).status_code == 302
    page = fam_client.get("/family/letter").get_data(as_text=True)
    assert "Letter from the panel (large print)" in page
    assert "Letter from the panel (easy read)" in page
    for d in fam:
        if d.format == "pdf":
            resp = fam_client.get(f"/family/letter.pdf?document={d.id}")
            assert resp.status_code == 200 and resp.data == documents.read_bytes(d)
        else:
            resp = fam_client.get(f"/family/letter?document={d.id}")
            assert documents.read_bytes(d).decode("utf-8") in resp.get_data(as_text=True)


def test_sending_without_needs_stores_one_family_letter(
    app, approved_recommendation, feedback_people, db_session
):
    rec = approved_recommendation
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    fam = [d for d in documents.documents_for(rec.case) if d.kind == "family_letter"]
    assert sorted((d.layout, d.format) for d in fam) == [("standard", "html"), ("standard", "pdf")]


def test_a_language_other_than_english_needs_the_translation_tick(
    app, approved_recommendation, feedback_people, db_session
):
    rec = approved_recommendation
    case = rec.case
    _record_needs(db_session, case, language="polish", interpreter=True)
    with pytest.raises(Refused, match="Polish"):
        sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.rollback()
    assert documents.documents_for(case) == []
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"], translation_arranged=True)
    db_session.commit()
    sent = _audit(db_session, case, "case.feedback_sent")
    assert sent and sent[-1].details["translation_arranged"] is True
    assert sent[-1].details["communication_needs"] == ["Language: Polish", "Interpreter needed"]
    # The family letter says, in Polish, that a translated copy can be asked for.
    doc = documents.latest(case, "family_letter", "html")
    assert POLISH in documents.read_bytes(doc).decode("utf-8")


def test_send_step_asks_for_the_tick_over_http(
    app, client, approved_recommendation, feedback_people, db_session, login
):
    rec = approved_recommendation
    case = rec.case
    _record_needs(db_session, case, language="urdu")
    login(client, feedback_people["nap_coordinator"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="send-with-translation"' in page
    assert "Translation arranged or not needed" in page
    assert "The family&#39;s language is Urdu: arrange a translated copy" in page
    url = f"/cases/{case.reference}/send-feedback"
    resp = client.post(url, data={"csrf_token": csrf_token(app, client)})
    assert resp.status_code == 302
    db_session.expire_all()
    assert case.feedback_sent_at is None and documents.documents_for(case) == []
    resp = client.post(
        url, data={"csrf_token": csrf_token(app, client), "translation_arranged": "1"}
    )
    assert resp.status_code == 302
    db_session.expire_all()
    assert case.feedback_sent_at is not None


# --------------------------------------------------------------------------- shown where the letter is made
def test_needs_show_where_the_letter_is_prepared_and_sent(
    app, client, approved_recommendation, feedback_people, db_session, login
):
    rec = approved_recommendation
    case = rec.case
    ref = case.reference
    login(client, feedback_people["nap_coordinator"])
    # Nothing recorded: no callout anywhere.
    for url in (f"/cases/{ref}", f"/cases/{ref}/recommendation", f"/cases/{ref}/letters/family"):
        assert 'data-testid="communication-needs"' not in client.get(url).get_data(as_text=True)

    _record_needs(
        db_session,
        case,
        language="polish",
        interpreter=True,
        large_print=True,
        notes="Grandmother reads the letters to the family.",
    )
    for url in (f"/cases/{ref}", f"/cases/{ref}/recommendation", f"/cases/{ref}/letters/family"):
        html = client.get(url).get_data(as_text=True)
        assert html.count('data-testid="communication-needs"') >= 1, url
        assert "Language: Polish" in html and "Interpreter needed" in html, url
        assert "Large print" in html and "Grandmother reads the letters" in html, url
        assert 'data-testid="translation-reminder"' in html, url
        assert "bi-chat-square-text" in html, url  # an icon beside words, not colour alone
    # Not on the clinician letter's page.
    html = client.get(f"/cases/{ref}/letters/clinician").get_data(as_text=True)
    assert 'data-testid="communication-needs"' not in html

    # The family access-code page (where the code is given), once sent.
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"], translation_arranged=True)
    db_session.commit()
    referrer = app.test_client()
    login(referrer, feedback_people["referrer"])
    resp = post_form(app, referrer, f"/cases/{ref}/family-codes", {"days": "90"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-testid="communication-needs"' in html and "Language: Polish" in html
    # Shown on screen only: the callout does not print on the family's code sheet.
    assert re.search(
        r'class="alert alert-info[^"]*no-print[^"]*communication-needs|'
        r'communication-needs[^"]*no-print',
        html,
    )


def test_the_case_page_flag_runs_no_query(app, make_case, feedback_people, db_session):
    """The case page's panel reads the document it already has."""
    from panel.cases.needs import needs_panel
    from tests.support.queries import count_queries

    case = make_case(feedback_people["referrer"])
    _record_needs(db_session, case, easy_read=True)
    assert case.data["family"]["communication"]  # loaded, as the case page has it
    with count_queries() as counted:
        needs = needs_panel(case, feedback_people["referrer"], {})
    assert needs is not None and needs.summary == ["Easy read"]
    assert counted.count == 0
    assert communication_needs(case).letter_layouts == ("standard", "easy_read")

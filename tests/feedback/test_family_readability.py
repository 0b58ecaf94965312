"""The family letter, rewritten (issue 16): its own prose reads at grade 6 or below, the advice
is ordered (first, next, if that does not work), trials in plain words with miles, the family's
own re-presentation sentence, a two-page core at 12 pt with the rest as an appendix, clickable
links, and the large-print and easy-read layouts.

``full_letter`` is a full letter: three trials, five parents' questions answered, no amendment."""

from __future__ import annotations

import html as html_lib
import io
import re
from pathlib import Path

import pytest

from tests.support.data import full_record_data

PLAIN = {
    "CRISP": (
        "A trial of a medicine called lorlatinib",
        "It tests a tablet that targets the ALK change in the tumour.",
    ),
    "NAXITAMAB-201": (
        "A trial of an antibody medicine called naxitamab",
        "It tests a drip medicine that helps the immune system attack the tumour.",
    ),
    "MINIVAN": (
        "A trial of chemotherapy with an antibody medicine",
        "It tests a mix of chemotherapy and a drip medicine given in short stays.",
    ),
}

EXTRA_QUESTIONS = (
    "How long would each treatment take?",
    "Can our child keep going to school?",
)

FAMILY_ANSWERS = (
    "Yes. The panel thinks a trial of a tablet called lorlatinib could suit your child. "
    "It targets the ALK change found in the tumour. Your child's doctor will ask the trial "
    "team if there is a place.",
    "Some treatment may mean short stays in London. Most of it can be given closer to home. "
    "The trial team will plan this with you.",
    "The panel does not advise treatment abroad at the moment. The trials in this letter are "
    "open in the UK. You can still ask your child's doctor about it.",
    "Each block of treatment takes about four weeks. Your child's doctor will give you a plan "
    "with dates.",
    "Many children keep going to school between treatments. Your child's team will tell you "
    "when it is safe.",
)


@pytest.fixture
def full_letter(discussed_case, feedback_people, db_session):
    """The ALK example with five parents' questions, three trials with plain words, every
    question answered in plain words, no amendment; approved."""
    from sqlalchemy import select

    from panel.cases.operations import add_question
    from panel.feedback import operations
    from panel.trials.models import Trial

    case = discussed_case
    for text in EXTRA_QUESTIONS:
        add_question(case, text, by=None)
    for trial in db_session.scalars(select(Trial).where(Trial.code.in_(PLAIN))):
        trial.plain_title, trial.plain_summary = PLAIN[trial.code]
    db_session.flush()
    coordinator = feedback_people["nap_coordinator"]
    rec = operations.start_recommendation(case, by=coordinator)
    answers = {
        q.id: {"clinician": f"Clinical answer {i}.", "family": FAMILY_ANSWERS[i - 1]}
        for i, q in enumerate(case.questions, 1)
    }
    data = full_record_data(
        categories=["trial", "further_investigations", "palliative"],
        trials=[
            {"trial_id": "CRISP", "priority": 1},
            {"trial_id": "NAXITAMAB-201", "priority": 2},
            {"trial_id": "MINIVAN", "priority": 3},
        ],
        answers=answers,
    )
    operations.save_record(rec, data, by=coordinator, expected_version=rec.version)
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db_session.commit()
    return rec


def _pages(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


_BLOCK = re.compile(
    r"<(?:/?(?:p|li|dt|dd|h[1-6]|div|tr|th|td|section|aside|address|header|footer|ol|ul|dl|table)\b[^>]*|br\s*/?)>",
    re.IGNORECASE,
)


def visible_blocks(html: str) -> list[str]:
    """The text a reader sees, one line per block (paragraph, list item, heading, cell)."""
    text = _BLOCK.sub("\n", html)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def template_prose(rec, layout: str = "standard", kind: str = "family") -> str:
    """The family letter's own words: rendered with empty panel-written text (answers,
    questions, summaries, trial titles, amendment reasons) and without the lists that come from
    panel/data (trial finders, support organisations, glossary)."""
    from flask import render_template

    from panel.feedback import letters

    ctx = letters.family_context(rec, layout)
    for a in ctx["answers"]:
        a["question"], a["answer"] = "", ""
    for t in ctx["trials"]:
        t["title"] = t["name"] = t["plain_title"] = t["plain_summary"] = ""
    for key in ("family_summary", "family_re_present", "re_present"):
        ctx[key] = ""
    for key in ("organisations", "trial_finders", "glossary", "amendments"):
        ctx[key] = []
    # Names that come from data are names, not prose: one short word each.
    ctx["panel_name"] = "Panel"
    for study in ctx["studies"].values():
        study["title"] = "Study"
        study["status_line"] = "open"
    for t in ctx["trials"]:
        t["site"] = "Leeds"
        t["status_source"] = "the registry"
        t["availability"] = letters.availability(
            t["status"], "Leeds", t["verified_on"], "the registry"
        )
        t["family_availability"] = letters.family_availability(
            t["status"], "Leeds", t["verified_on"], "the registry", t["distance"], t["every_site"]
        )
    html = render_template(f"feedback/letters/{kind}.html", letter=ctx, for_pdf=False)
    return "\n".join(visible_blocks(prose_part(html)))


_NOT_PROSE = re.compile(r"<(h[1-6]|dt)\b[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


def prose_part(html: str) -> str:
    """The letter from its salutation on, without headings (and without the ``dt`` labels of a
    list, which hold only the questions' numbers here): the sentences the letter writes."""
    start = html.index('class="salutation"')
    return _NOT_PROSE.sub("\n", html[html.rindex("<", 0, start) :])


def hard_sentences(score, limit: float = 9.0) -> list[tuple[float, str]]:
    """The sentences of four words or more above grade ``limit``, each scored with the medical
    words that the letter's glossary explains (neuroblastoma, radiotherapy...) counted as one
    short word: a family needs those words to talk with the doctor, and the glossary explains
    them. The grade of the whole text counts them as they are."""
    from panel.core import readability
    from panel.feedback import letters

    out = []
    for s in score.sentences:
        plain = s.text
        for _, rx in letters._compiled_terms():
            plain = rx.sub("word", plain)
        if s.words >= 4 and readability.grade_of(plain) > limit:
            out.append((s.grade, s.text))
    return out


def _sizes(page, after: str | None = None) -> list[tuple[float, str]]:
    """(font size in pt, text) of each piece of text on a PDF page (pypdf), from the first piece
    that contains ``after`` on (all of them when None)."""
    out: list[tuple[float, str]] = []
    seen = [after is None]

    def visit(text, cm, tm, font, size):
        if not text.strip():
            return
        if not seen[0] and after in text:
            seen[0] = True
        if seen[0]:
            out.append((round(size * tm[3] * cm[3], 1), text.strip()))

    page.extract_text(visitor_text=visit)
    return out


def _render(app, rec, layout: str = "standard") -> tuple[str, bytes]:
    from panel.feedback import letters

    with app.test_request_context():
        html = letters.render_letter_html(rec, "family", layout=layout)
        pdf = letters.render_letter_pdf(rec, "family", layout=layout)
    return html, pdf


def _reader(pdf: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf))


def _is_running(text: str, reference: str) -> bool:
    """The page header and footer (the reference, "Page 1 of 5"): not the letter's body."""
    return reference in text or re.fullmatch(r"Page \d+ of \d+", text) is not None


# --------------------------------------------------------------------------- plain words
@pytest.mark.parametrize(
    "layout,target", [("standard", 6.0), ("large_print", 6.0), ("easy_read", 6.0)]
)
def test_family_template_prose_reads_at_grade_6_or_below(app, full_letter, layout, target):
    """Does the letter's own prose (every sentence the template writes, with the panel's words
    left out) read at Flesch-Kincaid grade 6 or below, with no sentence of four words or more
    above grade 9?"""
    from panel.core import readability

    with app.test_request_context():
        prose = template_prose(full_letter, layout)
    score = readability.score(prose)
    assert score.words > (250 if layout == "easy_read" else 500)  # the whole letter was measured
    assert score.grade is not None and score.grade <= target, score.as_dict()
    assert not hard_sentences(score), hard_sentences(score)


def test_family_strings_in_letters_py_read_at_grade_6(app):
    """Are the family strings of letters.py (advice, consensus, profiling, disclaimer,
    re-presentation, trial status) plain: grade 6 or below taken together, no sentence above
    grade 9?"""
    from panel.core import readability
    from panel.feedback import letters

    strings = [
        *letters.FAMILY_CATEGORIES.values(),
        *letters.FAMILY_CONSENSUS.values(),
        *letters.FAMILY_PROFILING.values(),
        letters.FAMILY_PROFILING_NO_STUDY,
        *letters.FAMILY_STATUS.values(),
        letters.DISCLAIMER_FAMILY,
        letters.FAMILY_RE_PRESENT_GENERIC,
        letters.family_availability(
            "open", "Leeds", "1 May 2026", "the registry", "about 5 miles (8 km)"
        ),
        letters.family_availability("open", "", "", ""),
        letters.family_availability("closed", "Leeds", "1 May 2026", ""),
    ]
    score = readability.score("\n".join(strings))
    assert score.grade <= 6.0, score.as_dict()
    assert not hard_sentences(score), hard_sentences(score)


def test_the_meaning_is_kept(app, full_letter):
    """Clinical honesty: a trial is a choice and the doctor checks eligibility; the
    epidemiology study includes the child unless the family says no; the disclaimer says the
    child's own team decides with the family."""
    from panel.feedback import letters

    text = " ".join(visible_blocks(_render(app, full_letter)[0]))
    assert "Taking part is always your choice." in text
    assert "Your child's doctor will check if your child can join." in text
    assert "Your child is included in the Neuroblastoma Epidemiological Study" in text
    assert "If you do not want your child to be in it, tell your child's doctor." in text
    assert "They will decide with you what is right for your child." in letters.DISCLAIMER_FAMILY
    easy = " ".join(visible_blocks(_render(app, full_letter, "easy_read")[0]))
    assert "Taking part is your choice." in easy
    assert "If you do not want your child in it, tell your child's doctor." in easy


# --------------------------------------------------------------------------- ordered advice
def test_every_category_has_a_stage_and_plain_words():
    from panel.feedback import letters
    from panel.feedback.models import CATEGORIES

    assert set(letters.CATEGORY_STAGE) == set(CATEGORIES)
    assert set(letters.FAMILY_CATEGORIES) == set(CATEGORIES)
    assert set(letters.CATEGORY_STAGE.values()) <= set(letters.FAMILY_STAGES)


def test_advice_is_ordered_first_next_if_not():
    """Stages in order, the panel's order inside a stage; the first stage shown is always
    "What happens first"."""
    from panel.feedback.letters import family_advice

    advice = family_advice(["palliative", "trial", "local_control", "further_investigations"])
    assert [(a["stage"], a["heading"]) for a in advice] == [
        ("first", "What happens first"),
        ("next", "What happens next"),
        ("if_not", "If that does not work"),
    ]
    assert [c["code"] for c in advice[0]["categories"]] == ["trial", "further_investigations"]
    assert [c["code"] for c in advice[2]["categories"]] == ["palliative"]
    alone = family_advice(["palliative"])
    assert [(a["stage"], a["heading"]) for a in alone] == [("if_not", "What happens first")]
    assert family_advice([]) == []


def test_the_letter_shows_the_stages_and_the_family_summary(app, full_letter, db_session):
    full_letter.family_summary = "The panel hopes the trial will suit your child."
    db_session.commit()
    html = _render(app, full_letter)[0]
    body = html[html.index('data-testid="family-categories"') :]
    first, if_not = body.index("What happens first"), body.index("If that does not work")
    assert first < body.index('data-category="trial"') < if_not
    assert if_not < body.index('data-category="palliative"')
    assert '<ul class="advice-list"' not in html
    summary = html.index('data-testid="family-summary"')
    assert html.index('data-testid="family-categories"') < summary
    assert "The panel hopes the trial will suit your child." in html


# --------------------------------------------------------------------------- trials
@pytest.mark.parametrize(
    "km,text",
    [
        (64, "about 40 miles (64 km)"),
        (131, "about 81 miles (131 km)"),
        (450, "about 280 miles (450 km)"),
        (1.7, "about 1 mile (2 km)"),
        (0.4, "less than 1 mile (under 1 km)"),
        (None, ""),
    ],
)
def test_miles_text(km, text):
    from panel.feedback.letters import miles_text

    assert miles_text(km) == text


def test_trials_print_plain_words_and_miles(app, full_letter):
    """Plain title and summary, never the registry title when plain words exist; distances
    in miles with km in brackets; the availability in plain words with its date and source."""
    html = html_lib.unescape(_render(app, full_letter)[0])
    for title, summary in PLAIN.values():
        assert title in html and summary in html
    assert "CRISP" not in " ".join(
        visible_blocks(html.split('data-testid="family-trials"')[1].split("</ul>")[0])
    )
    assert "NANT" not in html and "anti-GD2" not in html
    assert "about 81 miles (131 km) from your child's hospital" in html
    assert "about 280 miles (450 km) from your child's hospital" in html
    assert re.search(r"\d\s*km from", html) is None  # no bare km
    assert "Checked on 1 December 2026 with" in html


def test_a_draft_without_plain_words_falls_back_to_the_registry_title(app, full_letter, db_session):
    from sqlalchemy import select

    from panel.trials.models import Trial

    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    crisp.plain_title = crisp.plain_summary = None
    db_session.commit()
    html = html_lib.unescape(_render(app, full_letter)[0])
    assert crisp.title in html


# --------------------------------------------------------------------------- re-presentation
def test_the_clinician_re_presentation_text_never_reaches_the_family(app, full_letter, db_session):
    from panel.feedback.letters import FAMILY_RE_PRESENT_GENERIC

    clinician = full_letter.re_present
    assert clinician
    for layout in ("standard", "easy_read"):
        html = html_lib.unescape(_render(app, full_letter, layout)[0])
        assert clinician not in html
        assert FAMILY_RE_PRESENT_GENERIC in html
    full_letter.family_re_present = "The panel will look at the new scans in about two months."
    db_session.commit()
    html = html_lib.unescape(_render(app, full_letter)[0])
    assert full_letter.family_re_present in html and FAMILY_RE_PRESENT_GENERIC not in html
    assert clinician not in html
    full_letter.family_re_present = full_letter.re_present = ""
    db_session.commit()
    assert 'data-testid="family-re-present"' not in _render(app, full_letter)[0]


# --------------------------------------------------------------------------- the PDF
def test_core_fits_two_pages_at_12pt_and_the_appendix_starts_a_new_page(app, full_letter):
    """The full letter (3 trials, 5 answers): everything a family must read first is on pages
    1-2 in type of 12 pt or more (the letterhead's labels and the page footer aside); "More
    information for you" opens page 3; the glossary is 12 pt too."""
    html, pdf = _render(app, full_letter)
    pages = _reader(pdf).pages
    ref = full_letter.case.reference
    starts = [i for i, p in enumerate(pages) if "More information for you" in p.extract_text()]
    assert starts == [2], starts
    core = pages[0].extract_text() + pages[1].extract_text()
    for must in (
        "Why you are getting this letter",
        "What happens first",
        "Trials the panel suggests",
        "Your questions and the panel's answers",
        "What you can do now",
        "Please remember",
        "With best wishes",
    ):
        assert must in core, must
    # The appendix heading is the first text of its page, after the running header.
    first = [t for _, t in _sizes(pages[2]) if not _is_running(t, ref)][0]
    assert first.startswith("More information for you")
    body = _sizes(pages[0], after="Dear parent or carer") + _sizes(pages[1])
    small = {(size, t) for size, t in body if size < 12 and not _is_running(t, ref)}
    assert not small, small
    glossary = [p for p in pages if "Words used in this letter" in p.extract_text()]
    assert glossary
    after = _sizes(glossary[0], after="Words used in this letter")
    assert min(size for size, t in after if not _is_running(t, ref)) >= 12
    # The rules that make it so.
    css = (Path(app.static_folder) / "css" / "letter.css").read_text()
    assert re.search(r"\.letter-family \{ font-size: 12pt;", css)
    assert ".letter-pdf .more-info { break-before: page;" in css
    assert ".letter-family .glossary { font-size: 12pt; }" in css


def test_links_are_clickable_in_the_pdf_and_on_the_page(app, full_letter):
    from panel.feedback.letters import support_organisations

    html, pdf = _render(app, full_letter)
    uris = {
        a.get_object()["/A"].get("/URI")
        for page in _reader(pdf).pages
        for a in page.get("/Annots") or []
        if a.get_object().get("/Subtype") == "/Link"
    }
    for org in support_organisations():
        assert org["url"] in uris, org["url"]
        assert f'href="{org["url"]}"' in html
    easy_html, easy_pdf = _render(app, full_letter, "easy_read")
    easy_uris = {
        a.get_object()["/A"].get("/URI")
        for page in _reader(easy_pdf).pages
        for a in page.get("/Annots") or []
    }
    assert {o["url"] for o in support_organisations()} <= easy_uris


# --------------------------------------------------------------------------- layouts
def test_large_print_is_16pt_one_column_no_italics(app, full_letter):
    html, pdf = _render(app, full_letter, "large_print")
    assert "layout-large_print" in html
    reader = _reader(pdf)
    ref = full_letter.case.reference
    body = [
        (size, t)
        for page in reader.pages
        for size, t in _sizes(page, after="Dear parent or carer" if page.page_number == 0 else None)
        if not _is_running(t, ref)
    ]
    assert body and min(size for size, _ in body) >= 16, sorted(body)[:5]
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert not [f for f in fonts if "Italic" in f or "Oblique" in f], fonts
    assert len(reader.pages) > 5  # the same content as the standard letter, larger
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "More information for you" in text and "Words used in this letter" in text
    css = (Path(app.static_folder) / "css" / "letter.css").read_text()
    assert ".letter-family.layout-large_print { font-size: 16pt;" in css


def test_easy_read_has_a_picture_beside_each_point(app, full_letter):
    html, pdf = _render(app, full_letter, "easy_read")
    assert "layout-easy_read" in html and 'data-testid="family-easy-read"' in html
    points = html.count('class="easy-point"')
    assert points >= 12 and html.count('class="easy-icon"') == points
    for name in set(re.findall(r"img/easy-read/([a-z_]+)\.svg", html)):
        assert (Path(app.static_folder) / "img" / "easy-read" / f"{name}.svg").is_file()
    reader = _reader(pdf)
    # WeasyPrint draws each SVG picture as vector paths: every page carries many curves (the
    # standard letter has only the logo's few, on page 1).
    curves = [len(re.findall(rb" [cvy]\n", p.get_contents().get_data())) for p in reader.pages]
    assert sum(c > 50 for c in curves) >= len(curves) - 1 and sum(curves) > 600, curves
    texts = [p.extract_text() for p in reader.pages]
    help_page = [i for i, t in enumerate(texts) if "Who can help" in t]
    # "Who can help" closes the letter: nothing else follows it (the list of organisations
    # may run onto one more page).
    assert help_page and help_page[0] >= len(texts) - 2
    assert not any("What happens" in t for t in texts[help_page[0] + 1 :])
    for must in ("What happens first", "If that does not work", "Taking part is your choice."):
        assert must in " ".join(texts), must
    ref = full_letter.case.reference
    body = [
        size
        for page in reader.pages
        for size, t in _sizes(page, after="Dear parent or carer" if page.page_number == 0 else None)
        if not _is_running(t, ref)
    ]
    assert min(body) >= 14


def test_unknown_layout_is_refused(full_letter):
    from panel.feedback import letters

    with pytest.raises(ValueError):
        letters.family_context(full_letter, "tiny_print")


# --------------------------------------------------------------------------- previews
def test_staff_letter_page_offers_the_three_layouts(
    app, client, login, full_letter, feedback_people
):
    login(client, feedback_people["nap_coordinator"])
    ref = full_letter.case.reference
    page = client.get(f"/cases/{ref}/letters/family").get_data(as_text=True)
    assert 'data-testid="letter-layouts"' in page
    assert f"/cases/{ref}/letters/family?layout=large_print" in page
    assert f"/cases/{ref}/letters/family?layout=easy_read" in page
    for layout in ("large_print", "easy_read"):
        resp = client.get(f"/cases/{ref}/letters/family?layout={layout}")
        assert resp.status_code == 200 and f"layout-{layout}" in resp.get_data(as_text=True)
        assert f"/cases/{ref}/letters/family.pdf?layout={layout}" in resp.get_data(as_text=True)
        pdf = client.get(f"/cases/{ref}/letters/family.pdf?layout={layout}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        assert layout.replace("_", "-") in pdf.headers["Content-Disposition"]
    for bad in (
        f"/cases/{ref}/letters/family?layout=tiny",
        f"/cases/{ref}/letters/family.pdf?layout=tiny",
        f"/cases/{ref}/letters/clinician?layout=large_print",
        f"/cases/{ref}/letters/clinician.pdf?layout=easy_read",
    ):
        assert client.get(bad).status_code == 404, bad
    assert 'data-testid="letter-layouts"' not in client.get(
        f"/cases/{ref}/letters/clinician"
    ).get_data(as_text=True)


def test_family_page_offers_large_print_and_easy_read_pdfs(
    app, client, login, full_letter, feedback_people, db_session
):
    from panel.feedback import family, sending
    from tests.support.web import post_form

    case = full_letter.case
    sending.send_feedback(full_letter, by=feedback_people["nap_coordinator"])
    db_session.commit()
    _, secret = family.create_code(case, by=feedback_people["referrer"])
    db_session.commit()
    assert post_form(app, client, "/family", {"code": secret}).status_code == 302
    page = client.get("/family/letter").get_data(as_text=True)
    assert 'data-testid="family-pdf-large-print"' in page
    assert 'data-testid="family-pdf-easy-read"' in page
    for layout in ("large_print", "easy_read"):
        pdf = client.get(f"/family/letter.pdf?layout={layout}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        text = " ".join(p.extract_text() for p in _reader(pdf.data).pages)
        assert ("Easy read letter" if layout == "easy_read" else "Large print letter") in text
    assert client.get("/family/letter.pdf?layout=tiny").status_code == 404
    standard = client.get("/family/letter.pdf")
    assert standard.status_code == 200 and "Letter for the family" in " ".join(
        p.extract_text() for p in _reader(standard.data).pages
    )


def test_weasyprint_reads_the_letter_stylesheet_without_a_warning(app, caplog):
    """The PDFs' stylesheet holds nothing WeasyPrint drops (a media feature such as max-width
    made it warn "Invalid media type" on every letter, and at every `make run`); the phone rule
    lives in letter-phone.css, which only the app's pages load."""
    import logging

    import weasyprint

    css = Path(app.static_folder) / "css"
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        weasyprint.CSS(filename=str(css / "letter.css"))
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    assert "max-width: 720px" in (css / "letter-phone.css").read_text()

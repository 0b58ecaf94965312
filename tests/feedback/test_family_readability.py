"""The family letter, rewritten (issue 16): its own prose reads at grade 6 or below, the advice
is ordered (first, next, if that does not work), trials in plain words with miles, the family's
own re-presentation sentence, a two-page core at 12 pt with the rest as an appendix, clickable
links, and the large-print and easy-read layouts.

``full_letter`` is a full letter: three trials, five parents' questions answered, no amendment."""

from __future__ import annotations

import html as html_lib
import io
import re

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


def test_measure(full_letter, app):
    """Temporary: the figures."""
    from panel.core import readability
    from panel.feedback import letters

    for layout in letters.FAMILY_LAYOUTS:
        with app.test_request_context():
            prose = template_prose(full_letter, layout)
            pdf = letters.render_letter_pdf(full_letter, "family", layout=layout)
        open(f"/tmp/letter-{layout}.pdf", "wb").write(pdf)
        sc = readability.score(prose)
        pages = _pages(pdf)
        print(
            layout,
            "PROSE GRADE",
            sc.grade,
            sc.words,
            "PAGES",
            len(pages),
            [
                i
                for i, p in enumerate(pages, 1)
                if "More information for you" in p or "Who can help" in p
            ],
        )
        for s in sorted(sc.sentences, key=lambda s: -s.grade)[:8]:
            print("   ", s.grade, s.text)

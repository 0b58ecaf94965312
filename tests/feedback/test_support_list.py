"""The family letter's support list and glossary (issue 16): every organisation complete, linked,
saying where it helps families and citing the page its description was checked against;
Together for Short Lives (children's palliative care) and organisations for families in
Ireland and Northern Ireland; every description and glossary explanation in short, everyday
words; and a glossary that agrees with what the letter says of the epidemiological study
(included unless the family says no: opt-out, never "with permission").

The data tests read ``panel/data/glossary.json``; the letter tests render the family letter,
so they hold whatever the letter's template prose becomes (they look at the study's item by
its ``data-testid`` and at the letter's own glossary, not at exact wording)."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from panel.core.db import db, utcnow
from panel.core.readability import score
from panel.feedback import letters

#: Descriptions that families read: at or below this Flesch-Kincaid grade (UK reading age 11).
GRADE = 6.0
#: A glossary explanation names a medical word (neuroblastoma, immunotherapy...), which weighs on
#: the grade of a short text: none above this, and the glossary as a whole at GRADE or below.
GLOSSARY_ENTRY_MAX = 7.0

#: What a text says when taking part needs a yes (opt-in): never said of the study.
OPT_IN = re.compile(
    r"with (?:your |their |the family's )?(?:permission|consent|agreement)"
    r"|if you (?:agree|say yes|give permission)|only if you|ask(?:s|ed)? (?:for )?your (?:permission|consent)",
    re.IGNORECASE,
)
#: What a text says when a child is in unless the family says no (opt-out).
OPT_OUT = re.compile(
    r"unless (?:you|the family|their family|they) says? no|you can say no|do not want"
    r"|don't want|opt(?:ed)? out|chosen not to",
    re.IGNORECASE,
)
EPI_STUDY = "NB-EPIDEMIOLOGY"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "meetings-and-feedback.md"


def _data() -> dict:
    return letters._glossary_data()


def _organisations() -> list[dict]:
    return _data()["support_organisations"]


def _terms() -> list[dict]:
    return _data()["terms"]


# --------------------------------------------------------------------------- the data
def test_every_organisation_is_complete_linked_and_sourced():
    """Has every organisation a name, the address as printed, an https link, a description,
    where it helps families, and either the page its description was checked against (title,
    address, date read) or an explicit "unknown"?"""
    problems = []
    for o in _organisations():
        name = o.get("name") or "?"
        for key in ("name", "web", "url", "about"):
            if not str(o.get(key) or "").strip():
                problems.append(f"{name}: no {key}")
        if not str(o.get("url", "")).startswith("https://"):
            problems.append(f"{name}: the link is not https: {o.get('url')!r}")
        web_host = str(o.get("web", "")).removeprefix("www.").split("/")[0]
        if web_host and web_host not in str(o.get("url", "")):
            problems.append(f"{name}: the link {o.get('url')!r} is not the address {o['web']!r}")
        covers = o.get("covers")
        if not covers or not set(covers) <= set(letters.COVERS_WORDS):
            problems.append(
                f"{name}: covers {covers!r} (one or more of {set(letters.COVERS_WORDS)})"
            )
        source = o.get("source", "missing")
        if source is None:
            if o.get("source_status") != "unknown":
                problems.append(f'{name}: no source and no "source_status": "unknown"')
        elif not isinstance(source, dict):
            problems.append(f"{name}: source {source!r}")
        else:
            if not str(source.get("title") or "").strip():
                problems.append(f"{name}: the source has no title")
            if not re.match(r"https?://\S+$", str(source.get("url") or "")):
                problems.append(f"{name}: the source's address {source.get('url')!r}")
            try:
                read = date.fromisoformat(str(source.get("retrieved")))
            except ValueError:
                problems.append(f"{name}: retrieved {source.get('retrieved')!r} is not a date")
            else:
                if read > utcnow().date():
                    problems.append(f"{name}: retrieved {read} is in the future")
    names = [o.get("name") for o in _organisations()]
    assert len(names) == len(set(names)), "an organisation is listed twice"
    assert not problems, "\n".join(problems)


def test_palliative_care_and_families_in_ireland_are_covered():
    """Is Together for Short Lives (the UK charity for children's palliative care: "palliative"
    is one of the panel's advice categories) on the list, and does at least one organisation
    serve families in the Republic of Ireland and one in Northern Ireland?"""
    by_name = {o["name"]: o for o in _organisations()}
    assert "Together for Short Lives" in by_name
    assert "UK" in by_name["Together for Short Lives"]["covers"]
    ireland = [o["name"] for o in _organisations() if "Ireland" in o["covers"]]
    northern = [
        o["name"] for o in _organisations() if {"Northern Ireland", "UK"} & set(o["covers"])
    ]
    assert len(ireland) >= 3, ireland
    assert any("Northern Ireland" in o["covers"] for o in _organisations())
    assert northern


def test_descriptions_read_at_grade_6_or_below():
    """Is every one-line description a family reads (support organisations, trial finders)
    at Flesch-Kincaid grade 6 or below?"""
    hard = {
        o["name"]: score(o["about"]).grade
        for o in _organisations() + _data()["trial_finders"]
        if score(o["about"]).grade > GRADE
    }
    assert not hard, f"descriptions above grade {GRADE}: {hard}"


def test_glossary_explanations_read_easily():
    """Lists every glossary explanation above grade 7 (there must be none), and holds the
    glossary as a whole at grade 6 or below."""
    above = {t["term"]: score(t["plain"]).grade for t in _terms()}
    above = {term: grade for term, grade in above.items() if grade > GLOSSARY_ENTRY_MAX}
    assert not above, f"glossary explanations above grade {GLOSSARY_ENTRY_MAX}: {above}"
    whole = score("\n".join(t["plain"] for t in _terms())).grade
    assert whole <= GRADE, f"the glossary reads at grade {whole}"


def test_the_glossary_says_opt_out_for_the_study():
    """Does the glossary's study entry say what the letter says (included unless the family says
    no), and does no entry say "with permission" (or consent, or "if you agree")?"""
    study = next(t for t in _terms() if t["term"] == "Epidemiological study")
    assert re.search(r"unless you say no|you can say no", study["plain"], re.IGNORECASE)
    said = {t["term"]: m.group(0) for t in _terms() if (m := OPT_IN.search(t["plain"]))}
    assert not said, f"glossary entries that say the study needs a yes: {said}"
    assert OPT_IN.search("It collects information with permission and without names.")


def test_the_docs_list_every_source():
    """Does the documentation of the family letter list each organisation with its source, so
    staff can check them (the letter does not print sources)?"""
    docs = DOCS.read_text(encoding="utf-8")
    missing = [
        o["name"]
        for o in _organisations()
        if o["name"] not in docs or (o.get("source") and o["source"]["url"] not in docs)
    ]
    assert not missing, f"not in {DOCS.name}: {missing}"


# --------------------------------------------------------------------------- the letter
def _set_study(**values) -> None:
    from panel.trials.matching import clear_cache
    from panel.trials.models import Trial
    from panel.trials.registry import update_trial

    trial = db.session.scalar(select(Trial).where(Trial.code == EPI_STUDY))
    update_trial(trial, values, by=None, expected_version=None)
    db.session.commit()
    clear_cache()


def _study_item(page: str) -> str:
    """The text of the letter's item on the epidemiological study (by its data-testid)."""
    found = re.search(r'<(\w+)[^>]*data-testid="family-epi-study"[^>]*>(.*?)</\1>', page, re.DOTALL)
    assert found, "the family letter has no item data-testid=family-epi-study"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


@pytest.mark.parametrize("status", ["open", "unknown"])
def test_the_letter_and_its_glossary_agree_on_the_study(app, approved_recommendation, status):
    """Whatever the study's status, does the letter describe it as opt-out (the child is in
    unless the family says no) and never as needing a yes, and does the letter's own glossary
    explain the study the same way?"""
    rec = approved_recommendation
    _set_study(
        status=status,
        status_verified_on=utcnow().date().isoformat() if status == "open" else None,
        status_source="the study team",
    )
    with app.test_request_context():
        ctx = letters.family_context(rec)
        page = letters.render_letter_html(rec, "family")
    state = ctx["studies"]["epidemiology"]["state"]
    assert state == ("included" if status == "open" else "unconfirmed")
    item = _study_item(page)
    assert OPT_OUT.search(item), f"the letter's study item is not opt-out: {item!r}"
    assert not OPT_IN.search(item), f"the letter's study item asks for a yes: {item!r}"
    glossary = {g["term"]: g["plain"] for g in ctx["glossary"]}
    assert "Epidemiological study" in glossary  # the letter names the study: it is explained
    for term, plain in glossary.items():
        assert not OPT_IN.search(plain), f"{term}: {plain!r}"
    assert OPT_OUT.search(glossary["Epidemiological study"])


def test_the_letter_links_every_organisation_and_says_where_it_helps(app, approved_recommendation):
    """Does the family letter (page and PDF) print every organisation as a clickable link with
    its description and where it helps families, and no source (those are for staff)?"""
    rec = approved_recommendation
    with app.test_request_context():
        page = letters.render_letter_html(rec, "family")
        pdf = letters.render_letter_pdf(rec, "family")
    text = html.unescape(page)
    for o in letters.support_organisations():
        assert f'<a href="{o["url"]}">' in page, o["name"]
        assert html.unescape(o["about"]) in text, o["name"]
        assert f"(for families in {o['covers_text']})" in text, o["name"]
        if o.get("source"):
            assert o["source"]["url"] not in page
    assert "(for families in Ireland)" in text
    assert "(for families in Northern Ireland and Ireland)" in text
    assert "Together for Short Lives" in text
    links = set()
    for p in PdfReader(io.BytesIO(pdf)).pages:
        for annot in p.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and action.get("/URI"):
                links.add(str(action["/URI"]))
    assert {o["url"] for o in letters.support_organisations()} <= links


def test_the_support_section_reads_at_grade_6(app, approved_recommendation):
    """Does the support section as the letter prints it (its sentences, each organisation's
    line) read at grade 6 or below?"""
    from flask import render_template

    with app.test_request_context():
        ctx = letters.family_context(approved_recommendation)
        part = render_template("feedback/letters/_family_support.html", letter=ctx)
    # Not scored: the web addresses and the organisations' names (proper names, on a line of
    # their own in the letter).
    part = re.sub(r"<(a|strong)\b[^>]*>.*?</\1>", " ", part, flags=re.DOTALL)
    lines = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", chunk)).split())
        for chunk in re.split(r"</?(?:p|li|h3)\b[^>]*>|<br\s*/?>", part)
    ]
    prose = "\n".join(line for line in lines if line)
    assert score(prose).grade <= GRADE, score(prose).as_dict()


def test_covers_words():
    assert letters.covers_text(["UK"]) == "the UK"
    assert letters.covers_text(["Ireland", "UK"]) == "Ireland and the UK"
    assert letters.covers_text(["UK", "Ireland", "Northern Ireland"]) == (
        "the UK, Ireland and Northern Ireland"
    )

"""The letters say who the panel is in the panel's own words (``Panel.family_words``,
``Panel.takes_words``; issue 20), not in words written for the neuroblastoma panel alone.

The case is the ALK example (stored as panel-case/1; the letters read only its panel), moved
to an ECMC panel by setting its panel: the letters read the panel, not the tumour."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.core import readability
from panel.feedback import letters

NAP_WORDS = (
    "The panel is a group of expert doctors from around the UK. They treat children with "
    "neuroblastoma."
)
ECMC_WORDS = (
    "The panel looks at the type of tumour and at the changes in its genes. It looks for new "
    "medicines being tested in trials that may help."
)


def _text(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _letters(app, rec) -> tuple[str, str]:
    with app.test_request_context():
        return (
            _text(letters.render_letter_html(rec, "family")),
            _text(letters.render_letter_html(rec, "clinician")),
        )


def _move(db_session, rec, code: str) -> Panel:
    panel = db_session.scalar(select(Panel).where(Panel.code == code))
    rec.case.panel_id, rec.case.panel = panel.id, panel
    db_session.flush()
    return panel


def test_the_nap_letters_keep_their_neuroblastoma_words(app, approved_recommendation):
    family, clinician = _letters(app, approved_recommendation)
    assert NAP_WORDS in family
    assert "Do tests in the lab show that the treatment works on neuroblastoma?" in family
    assert "Advisory panel for relapsed and refractory neuroblastoma" in clinician


@pytest.mark.parametrize("code", ["ECMC-NORTH", "ECMC-LONDON-SOUTH"])
def test_an_ecmc_panel_letter_uses_its_own_words(app, db_session, approved_recommendation, code):
    _move(db_session, approved_recommendation, code)
    family, clinician = _letters(app, approved_recommendation)
    assert ECMC_WORDS in family
    assert "They treat children with neuroblastoma" not in family
    assert "works on your child's type of cancer?" in family
    assert "tried in children with the same type of cancer?" in family
    assert "works on neuroblastoma" not in family
    assert "Advisory panel for relapsed and refractory childhood cancer" in clinician
    assert "relapsed and refractory neuroblastoma" not in clinician
    db_session.rollback()


def test_a_panel_without_words_gets_a_neutral_sentence(app, db_session, approved_recommendation):
    panel = _move(db_session, approved_recommendation, "ECMC-NORTH")
    panel.family_words = ""
    db_session.flush()
    family, _ = _letters(app, approved_recommendation)
    assert letters.FAMILY_PANEL_GENERIC in family
    db_session.rollback()


def test_the_panels_words_read_at_grade_6_or_below():
    """Every packaged panel's family words, the neutral sentence and the letter's new
    questions read at the family letter's target grade (a medical word the glossary explains,
    such as neuroblastoma, counts as one short word, as the letter's own test counts it)."""
    data = json.loads((Path(__file__).resolve().parents[2] / "panel/data/panels.json").read_text())
    texts = [p["family_words"]["text"] for p in data["panels"]] + [
        letters.FAMILY_PANEL_GENERIC,
        "Do tests in the lab show that the treatment works on your child's type of cancer?",
        "Have medicines like it been tried in children with the same type of cancer?",
    ]
    for text in texts:
        plain = text
        for _, rx in letters._compiled_terms():
            plain = rx.sub("word", plain)
        assert readability.score(plain).grade <= readability.TARGET_GRADE, text

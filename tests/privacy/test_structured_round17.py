"""Round 17 of issue 17: dates by policy (``docs/privacy.md``, "Round 17"): a day with a month
name from CLDR in the UK's languages and its largest immigrant languages, whatever other numbers
the text holds; day/month figures dated by a test word or a time; "Nth of the Mth YYYY"; the
article of an ordinal-word date; impossible full dates; the hospital cue in Welsh, Irish and
Gaelic. Examples are written for these tests (none is taken from a corpus), with clean
counter-examples for every rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers

DATA = Path(__file__).resolve().parents[2] / "panel" / "data" / "month_names.json"


def test_month_data_records_its_source() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert "CLDR" in data["source"]["names"] and data["source"]["cldr"]
    assert data["source"]["built"]
    for loc in "cy gd ga kw gv pl ro lt lv pt es it fr de nl bg cs sk hu tr so sq uk ru".split():
        assert loc in data["locales"], loc
    assert {"kwietnia", "mehefin", "giblean", "lapkričio", "октября"} <= set(data["words"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # a phone or an NHS number beside the date no longer turns the rule off
        ("Ganwyd 23 Gorffennaf 2015, rhif GIG 943 476 5919.", "23 Gorffennaf 2015"),
        ("Wizyta 7 kwietnia, telefon 07700 900 123.", "7 kwietnia"),
        ("Chaidh e dhan ospadal air 12 Dùbhlachd. Fòn 0141 496 0000", "12 Dùbhlachd"),
        ("CHI 0101234562; bloods 19 Feabhra", "19 Feabhra"),
        ("nació el 4 de noviembre de 2016, tel 0161 496 0000", "4 de noviembre de 2016"),
        ("rođen 3 listopada 2014, NHS 943 476 5919", "3 listopada 2014"),
        ("gimė 2 lapkričio 2017, tel 07700 900 456", "2 lapkričio 2017"),
        ("родился 8 октября 2016, тел 07700 900 321", "8 октября 2016"),
        ("dh'fhalbh e 5 dhen Ghearran 2020", "5 dhen Ghearran 2020"),
        ("seen 17 Deireadh Fómhair, H&C 333 501 6726", "17 Deireadh Fómhair"),
        ("narodila se 9 června 2018", "9 června 2018"),
        ("született 11 március 2019", "11 március 2019"),
        # a month word that is also a name, after an event word
        ("sample received 6 Márta", "6 Márta"),
    ],
)
def test_day_with_month_word(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "give 10 mai per kg",  # a measure, not a day
        "Marta 3 is the bed she was in",
        "3 mars bars a day",
        "we need 2 Márta forms",  # a name or word after a number, no event word, no year
    ],
)
def test_month_word_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "date"], find_identifiers(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[03/11, 21:40] Dad: temp is 38.4", "03/11"),
        ("message 7/2 at 09:15 from the ward", "7/2"),
        ("Echo 21/6: normal function.", "21/6"),
        ("bloods 3/9 (taken at home) fine", "3/9"),
        ("MRI 12/10, no new disease", "12/10"),
        ("Born: 5th of the 11th 2015", "5th of the 11th 2015"),
        ("DOB: the twelfth of March 2017", "the twelfth of March 2017"),
        ("DOB 30/02/2018 on the form", "30/02/2018"),
        ("born 31.09.2016 per mum", "31.09.2016"),
        ("rhif ysbyty: 7781 2290", "7781 2290"),
        ("uimhir ospidéil 4401 7723", "4401 7723"),
    ],
)
def test_dated_figures_and_cues(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "vincristine 1.5 mg/m2, review in 3/52",  # an interval
        "Apgar 9/10 at five minutes",  # a score
        "CT 3/4 lesions smaller",  # a count, no colon or bracket
        "ratio 2/3, 10:1 dilution",  # a ratio, then a ratio
        "Grade 3/4 toxicity: none",  # a grade
        "the 2nd of the 3 cycles",  # no year, and not two ordinals
        "trial 2019/31/04 version",  # not a day/month/year shape
        "Hb 12.3, plt 31.4.2",  # lab values
    ],
)
def test_dated_figures_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "date"], find_identifiers(text)

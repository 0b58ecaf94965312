"""Round 10 of issue 17: the kinds of structured failure of round 9's held-out set (now
in-sample), on examples written for these tests (none is taken from a corpus), with clean
counter-examples for every rule.
"""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # month names with two neighbouring letters swapped, or a common misspelling
        ("born 3rd jnue 2018", "3rd jnue 2018"),
        ("d.o.b. 12 arpil 2016", "12 arpil 2016"),
        ("his op is on 9 marhc", "9 marhc"),
        ("we went home on the 2nd of febuary 2024", "2nd of febuary 2024"),
        ("review 14 ocotber", "14 ocotber"),
        # a weekday (any case, abbreviated) before an ordinal day joins the date
        ("can we swap to thurs 12th june please", "thurs 12th june"),
        ("her party is on fri 3rd may", "fri 3rd may"),
        ("see you Weds, 19th Nov", "Weds, 19th Nov"),
        # "the" before an ordinal day alone
        ("is his echo on the 17th?", "the 17th"),
        # a lower-case abbreviated month after an ordinal, in a question
        ("was it the 2nd or 9th oct?", "9th oct"),
        # a day and month dated by a clinical event word; a second one after "then"
        ("echo 3/5 and then gfr 10/5", "3/5"),
        ("echo 3/5 and then gfr 10/5", "10/5"),
        ("MRI 22/4, then clinic 29/4", "22/4"),
        ("MRI 22/4, then clinic 29/4", "29/4"),
        ("cycle start 8/6", "8/6"),
        ("bloods: 2/10", "2/10"),
        # a d/m/yy with one-digit day and month after a word that dates it
        ("Scan date 3/2/25", "3/2/25"),
        ("Clinic 7/9/24  Ward 4", "7/9/24"),
        # a CHI or NHS number in any grouping that passes Modulus 11, also starting with 0
        ("CHI 0101 1012 36", "0101 1012 36"),
        ("CHI: 02 03 15 45 68", "02 03 15 45 68"),
        ("NHS no 1102 0877 18", "1102 0877 18"),
        # every digit of a mobile spaced out
        ("mum's mobile 0 7 7 0 0 9 0 0 1 2 3", "0 7 7 0 0 9 0 0 1 2 3"),
        ("ring 0 1 1 3 4 9 6 0 7 7 1", "0 1 1 3 4 9 6 0 7 7 1"),
        # a hospital number with its cue after it
        ("ABC 123456 is her Royal Marsden number", "ABC 123456"),
        ("7712093 is his hospital number", "7712093"),
        ("Pt ID: XYZ01234567", "XYZ01234567"),
        ("pt id 44120988", "44120988"),
    ],
)
def test_round10_structured_forms_are_hard(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "days 1/8/15 of the cycle",
        "grade 3/4 neutropenia after cycle 2",
        "scan 3/12 after end of treatment",
        "bloods 2/7 after discharge",
        "clinic in 6/52",
        "power 4/5 in the left leg",
        "cycle 3/6 given on time",
        "results 3/4 nodes positive",
        "version 2/1/25 of the leaflet",
        "NCT01234567 is the trial number",
        "20000 is the number of cells counted",
        "scores 0 1 2 1 0 0 1 2 3 1 0 over the week",
        "dose 0 5 mg twice daily",
        "it was a cot bed",
        "the 3rd cycle went well",
        "ratio 1/3 to 2/3",
        "at 14:30 on the ward",
    ],
)
def test_round10_counter_examples_stay_clean(text: str):
    assert hard(text) == [], hard(text)


def test_a_phone_before_is_her_number_is_a_phone_not_a_hospital_number():
    kinds = {f.kind for f in hard("07700 900123 is her mobile number")}
    assert kinds == {"phone"}


def test_ten_digits_starting_with_0_in_an_odd_grouping_need_a_cue():
    assert hard("counts 0101 1012 36 over four days") == []
    assert hard_covers("CHI 0101 1012 36", "0101 1012 36")


# --------------------------------------------------------------------------------------------
# False positives: a "presented by" line; a name-word as a verb before an article
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Case presented by Dr Abernethy; Prof Lindqvist went through the histology.",
        "Summary presented by the registrar at MDT.",
        "Jack the cot side up before she sleeps.",
        "Bill the trust for the taxi, not the family.",
    ],
)
def test_round10_false_positives_stay_clean(text: str):
    assert hard(text) == [], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Mia presented with a limp in March.", "Mia"),
        ("Oliver has a fever tonight.", "Oliver"),
    ],
)
def test_round10_names_beside_those_rules_stay_hard(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


# --------------------------------------------------------------------------------------------
# Names: word-names with a surname, lower-case surnames, capitals before a given name,
# a nickname in quotes in brackets, Gaelic lenited surnames
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Hope Abernathy's scan was stable.", "Hope Abernathy"),
        ("Willow Strang – family want a call back.", "Willow Strang"),
        ("Daisy-Rose Pettigrew-Lane – listed for theatre.", "Daisy-Rose Pettigrew-Lane"),
        ("Eilidh Dhòmhnallach seen in clinic today.", "Eilidh Dhòmhnallach"),
        ("freya ollerenshaw has been off her food", "freya ollerenshaw"),
        ("MacLENNAN, Isla  ward 2", "MacLENNAN, Isla"),
        ("Bartholomew ('Barty') Quinn – NHS number to follow", "Bartholomew ('Barty') Quinn"),
    ],
)
def test_round10_names_are_hard(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sister Crawley will do the dressing.",
        "Grace Kelly Ladybird Trust have offered a grant.",
        "the Anthony Nolan register is open",
        "Summer Camp – great fun for siblings.",
    ],
)
def test_round10_name_rules_leave_these_clean(text: str):
    assert hard(text) == [], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Their home Tigh an Uillt, Lochcarron until March.", "Tigh an Uillt, Lochcarron"),
        ("Nan's home is Dun Aros, Portree.", "Dun Aros, Portree"),
    ],
)
def test_round10_a_home_named_after_home_or_lives_is_hard(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    ["home Tuesday, then clinic on Wednesday", "home Tuesday, Wednesday at the latest"],
)
def test_round10_home_cue_counter_examples(text: str):
    assert hard(text) == [], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # ten digits in any grouping, one-digit groups too, after a national cue
        ("NHS 110 208 771 8", "110 208 771 8"),
        ("CHI 1 1 0 2 0 8 7 7 1 8", "1 1 0 2 0 8 7 7 1 8"),
        # a one-digit day and month with dots after a word that dates it
        ("Date of echo: 4.2.25", "4.2.25"),
    ],
)
def test_round10_more_groupings_and_separators(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    ["NHS 110 208 771 9 is not valid", "protocol v2.1.10 on file", "cycle 1.8.15 schedule"],
)
def test_round10_more_counter_examples(text: str):
    assert hard(text) == [], hard(text)


def test_round10_untitled_staff_before_a_role_is_hard():
    text = "Tunde Olatunji, research nurse, will take consent."
    assert hard_covers(text, "Tunde Olatunji"), find_identifiers(text)
    assert hard("Speech Therapy, specialist nurse input requested.") == []


# "<Town> upon <River>": Newcastle upon Tyne is a referring centre's city; its words are no names.
@pytest.mark.parametrize(
    "text",
    [
        "Referred from Newcastle upon Tyne for a second opinion.",
        "Burton upon Trent is where the family is from.",
        "Seen at the Newcastle upon Tyne Hospitals trust.",
    ],
)
def test_a_town_upon_a_river_is_no_name(text):
    assert not [f for f in find_identifiers(text) if f.kind == "person_name"]


def test_a_name_after_upon_is_still_a_name():
    text = "Depending upon Mia and her response we will decide."
    assert any(f.kind == "person_name" and f.text == "Mia" for f in find_identifiers(text))

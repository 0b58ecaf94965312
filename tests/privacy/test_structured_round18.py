"""Round 18 of issue 17: dates by default, not by cue (``docs/privacy.md``, "Round 18"): a day and
month in figures with "/" is a hard date unless its context shows another reading (interval
shorthand, a score or grade, visual acuity, numbering, a counted noun or unit, a fraction word);
compact YYYYMMDD/DDMMYYYY dates; month-first ordinals; "the Nth of the Mth"; dates in file
names; handles after a cue word and e-mails with "at"; kin words, compounds, clinicians and role
words that are not names. Examples are invented for these tests (none is taken from a corpus),
with clean counter-examples for every rule.
"""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers


def _hard_dates(text: str) -> list[str]:
    return [f.text for f in hard(text) if f.kind == "date"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # verbs no cue list had: the day and month is a date by default
        ("Reviewed by the GP 04/02, then again 11/02.", "04/02"),
        ("Reviewed by the GP 04/02, then again 11/02.", "11/02"),
        ("Echo repeated 5/3 looked fine", "5/3"),
        ("Platelets from 2/3 were low", "2/3"),
        ("Commenced ondansetron 06/10, course 2 of 4", "06/10"),
        ("Away 9/7 till 21/7 at the caravan", "9/7"),
        ("Away 9/7 till 21/7 at the caravan", "21/7"),
        ("Phoned the ward 17/12 about the line", "17/12"),
        ("Letters sent 03/01 and 10/01 with no reply", "10/01"),
        ("Temp spike 28/9 at 02:00", "28/9"),
        ("Inpatient 28/9-2/10 with fever", "28/9-2/10"),
        ("Obs fine 12/5 – 14/5 on the ward", "12/5 – 14/5"),
        # compact dates
        ("Date of relapse 20190312 (from the lab system)", "20190312"),
        ("Sample ref date 12032019 on the tube", "12032019"),
        # month-first ordinals and ordinal pairs
        ("clinic moved from April 2nd to April 9th", "April 2nd"),
        ("clinic moved from April 2nd to April 9th", "April 9th"),
        ("Her scan on Sept 3rd was stable", "Sept 3rd"),
        ("The LP from the 6th of the 10th was clear", "6th of the 10th"),
        # a date in a file name
        ("Saved as 'Amy_Test_CT_2023-05-17.pdf'", "2023-05-17"),
        ("upload scan_17_05_2023_final.png", "17_05_2023"),
        # handles and e-mails without "@"
        ("my username is dragonfly_77 on there", "dragonfly_77"),
        ("Dad's insta is jo.bloggs.99 if easier", "jo.bloggs.99"),
        ("mail me at sam.jones at example.org please", "sam.jones at example.org"),
        ("her snap is kez_x.21 now", "kez_x.21"),
        ("handle @ is robyn.r.12 on there", "robyn.r.12"),
    ],
)
def test_round18_finds(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        # interval shorthand
        "3/7 history of fever and limp",
        "Cough for 5/7, no rash",
        "Diarrhoea over 2/12, weight loss",
        "Well within 6/52 of surgery",
        "Symptoms 2/12 ago",
        "Treated x 5/7 with antibiotics",
        # scores and grades
        "Power 4/5 in the left leg",
        "Pain score 7/10 overnight",
        "GCS 14/15 on arrival",
        "Lansky 6/10, Apgar 9/10",
        "Grade 3/4 neutropenia",
        "Power improved 3/5-4/5 over the week",
        "Hearing Brock 2/4 on the audiogram",
        "Rated her nausea 8/10 on the scale",
        # visual acuity
        "VA 6/9 right eye, 6/12 left",
        "Snellen 6/6 both eyes",
        # numbering
        "Now on cycle 2/6 of vincristine",
        "Dose 3/4 given today",
        "Slide 4/9 shows the tumour",
        # counted nouns and units
        "2/3 nodes positive",
        "11/12 lymph nodes clear",
        "Gave 1/2 tablet at night",
        "3/4 doses given before the reaction",
        "Bone marrow: 2/4 trephines involved; aspirates 1/2 positive.",
        "Fluid restrict to 2/3 maintenance",
        # fractions and idioms
        "About 2/3 of the tumour has gone",
        "roughly 1/3 of her feeds",
        "Support is 24/7 on the ward",
        "Tumour 3/4 resected at surgery",
        "Sats fine in 2/3 readings",
        "Motor 5/5, sensation intact",
        "PS 1/2 on the last visit",
        "Ki-67 index 1/5",
        "Mum is 9/10 sure it was the same rash",
        "Review 3/12 in clinic",
        "Repeat echo in 6/12",
        "1/2",  # a field holding only a trial's phase
        "Phase 1/2 trial of the new agent",
        # BP and ratios
        "BP 110/70, HR 98",
        # dots and dashes stay as they are
        "Hb 9.2 and plt 3.4",
        "Give 2-3 tablets",
    ],
)
def test_round18_clean_day_month_contexts(text: str) -> None:
    assert _hard_dates(text) == [], find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Phone number 01632960123 is the ward",  # not a valid date
        "Batch 99991231 expired",
        "Lot 20240105 of the reagent",
        "Sample no 13052020 received",
        "the may 3rd cycle was delayed",
        "the 2nd of the 3 cycles",
    ],
)
def test_round18_clean_other_dates(text: str) -> None:
    assert _hard_dates(text) == [], find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "the handle is loose on the door",
        "username and password are on the card",
        "She is at school at the moment",
        "donate at www.example.org/runforjo please",
    ],
)
def test_round18_clean_handles(text: str) -> None:
    assert [f for f in hard(text) if f.kind in ("url", "email")] == [] or "www" in text


@pytest.mark.parametrize(
    "text",
    [
        "My Taid drives her to clinic on Mondays",
        "Mamgu and Bampi are staying with us",
        "Granny said she ate well",
        "Jack-knife position for the procedure",
        "Mr Chairman, may I add an item?",
        "Thank you, Madam Chair.",
        "Ms Okonjo (surgeon) will operate on Friday",
        "Mr Adebayo, consultant surgeon, agreed the plan",
        "Ms Lindqvist agreed; Ms Lindqvist's registrar will book theatre",
    ],
)
def test_round18_not_family_names(text: str) -> None:
    assert [f for f in hard(text) if f.kind == "person_name"] == [], find_identifiers(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Jack Hollis came with his nain", "Jack Hollis"),
        ("Mr Tobias Renner (father) called", "Mr Tobias Renner"),
        ("Dr Hana Iwu, anaesthetist and mum, asked about the MIBG", "Dr Hana Iwu"),
    ],
)
def test_round18_names_still_found(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)

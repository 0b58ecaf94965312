"""Round 9 of issue 17: the kinds of failure of round 8's held-out set (now in-sample), on
examples written for these tests (none is taken from a corpus), with clean counter-examples
for every rule.

Owner's decisions kept (docs/privacy.md, "Round 8" and "Round 9"): a clinician named after a
title is staff (a warning), also a surgeon by "Mr"/"Ms" with the clinical role after the name in
the same clause; staff named without a title stay hard; any ten digits that pass Modulus 11 are
hard, whatever their grouping.
"""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers

# --------------------------------------------------------------------------------------------
# False positives: titled clinicians and staff roles
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Mr Haverford, consultant urological surgeon, will list him for theatre.",
        "Ms Okonjo, consultant neurosurgeon, has reviewed the MRI.",
        "Miss Tallis, locum consultant paediatric surgeon, agreed to biopsy.",
        "Authorised by Dr K. Lindqvist, consultant radiologist; double read by Prof R. Amadi.",
        "Physiotherapist has started chest physio twice daily.",
        "Pharmacist has checked the doses against the protocol.",
    ],
)
def test_titled_clinicians_and_roles_are_not_hard(text: str) -> None:
    assert hard(text) == [], hard(text)


def test_titled_parent_stays_hard() -> None:
    # a title with a family word, not a clinical role, is a parent
    assert hard_covers("Mr Haverford, her father, will bring her in.", "Haverford")


def test_untitled_staff_stays_hard() -> None:
    assert hard_covers("Our play specialist Bex has made a picture book for him.", "Bex")
    assert hard_covers("Sonographer: R. Achterberg   Report to follow", "R. Achterberg")


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("d o b 14/02 (the rest was smudged)", "14/02"),
        ("she was b o r n  9/11 in the end", "9/11"),
        ("born on the 3rd of Janaury 2018 at home", "3rd of Janaury 2018"),
        ("Date seen 21 Novmber 2023 in clinic", "21 Novmber 2023"),
        ("DOB: 2O/1O/2015 per the old form", "2O/1O/2015"),
        ("Stamped 7 .11. 23 by the lab", "7 .11. 23"),
        ("Received 12 / 5 / 2022 from the GP", "12 / 5 / 2022"),
        ("the clinic letter says 14/08 but can it be 21/8 instead?", "21/8"),
    ],
)
def test_oddly_typed_dates(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Motor power 4/5 in the left leg, 5/5 on the right.",
        "Grade 3/4 neutropenia after cycle 2; platelets 45.",
        "Dose 5 mg on day 1 and 2 . 5 mg later.",
        "Version 2.1. 20 patients were enrolled in the pilot.",
        "It was a marvellous 2019 for the whole unit.",
        "Scores 3/4 and 2/4 on the two scales.",
    ],
)
def test_date_rules_leave_clinical_figures_alone(text: str) -> None:
    assert [f for f in hard(text) if f.kind == "date"] == [], hard(text)


# --------------------------------------------------------------------------------------------
# Hospital numbers, CHI, phones, e-mails
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("Case no. for St Elsewhere's: 5521873K", "5521873K"),
        ("his Birchwood number is B8830217 and the Norwich one is N66120", "B8830217"),
        ("his Birchwood number is B8830217 and the Norwich one is N66120", "N66120"),
        ("Coastal General no. CGH40912 on the old notes", "CGH40912"),
        ("The hospital number on the path form (RVI 4410 382) is an old one.", "RVI 4410 382"),
    ],
)
def test_hospital_numbers_cued_by_a_hospital(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


def test_numbers_after_other_named_things_are_not_hospital_numbers() -> None:
    for text in (
        "Trial number 20331 is closed to recruitment.",
        "Phone number changed last week.",
        "Bed number 12 on the ward.",
    ):
        assert [f for f in hard(text) if f.kind == "hospital_number"] == [], hard(text)


def test_chi_number_in_dashed_pairs() -> None:
    # 0802118461 passes Modulus 11 (check digit 1); 08/02/11 is a valid date of birth
    text = "CHI 08-02-11-8461 on the Scottish referral"
    assert hard_covers(text, "08-02-11-8461")
    assert not hard("Ratios 08-02-11-8462 in the sequence run")  # fails the check


def test_phone_with_a_space_after_the_leading_zero() -> None:
    assert hard_covers("ring me on 0 7700 900 377 after 6", "0 7700 900 377")
    assert hard_covers("landline 0 113 496 0321", "0 113 496 0321")


def test_email_with_spaces_around_the_at() -> None:
    assert hard_covers("write to morwenna.tre @ gmail.com please", "morwenna.tre @ gmail.com")
    assert hard_covers("or jo.ellis@ outlook.com", "jo.ellis@ outlook.com")
    assert not hard("Ferritin @ 300 with CRP @ 12 today")


# --------------------------------------------------------------------------------------------
# Addresses and schools
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("Address: 9 Druim na Coille, Tobermory", "9 Druim na Coille, Tobermory"),
        ("Letters to Windrush, Lower Slaughter, GL54 2HT please", "Windrush, Lower Slaughter"),
        ("He is in S2 at Lochwinnoch Community High now.", "Lochwinnoch Community High"),
        ("pls post it to 12 hawthorn close from now on", "12 hawthorn close"),
    ],
)
def test_addresses_and_schools(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


def test_address_rules_leave_clinic_text_alone() -> None:
    for text in (
        "Community High-dose chemotherapy was discussed.",
        "Send to 3 more centres for review.",
        "Address the fever first, then the line.",
    ):
        assert [f for f in hard(text) if f.kind == "address"] == [], hard(text)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("hiya its freyas mum, freya was sick twice in the night", "freyas"),
        ("hello this is bronagh, eliass mum", "bronagh"),
        ("mabel has been refusing her tablets again", "mabel"),
        ("Dad says Honey is eating better since the weekend.", "Honey"),
        ("Blessing coped well with the MIBG scan.", "Blessing"),
        ("Precious, his older sister, came to clinic too.", "Precious"),
        ("Can Robin start the next cycle on Monday?", "Robin"),
        ("thanks for seeing Duke today, he was so brave", "Duke"),
        ("PATIENT: PARK Seo-yeon", "PARK Seo-yeon"),
        ("Myfanwy Lloyd-Pritchard, grandmother, is his carer.", "Myfanwy Lloyd-Pritchard"),
        ("Adebayo Oyelaran-Smith had a line infection after cycle 3.", "Adebayo Oyelaran-Smith"),
        ("we're the o'donoghue family from cork", "o'donoghue"),
        ("Presented: De'Andre McLaughlin, 9, relapsed disease.", "De'Andre McLaughlin"),
        ("All the best,\nPip x", "Pip"),
        ("From: Shannon K <shannon.k@example.com>", "Shannon K"),
        ("Subject: lily-rose appointment", "lily-rose"),
        ("Dad Owen Price, 4 Mill Row, asked about parking.", "Owen Price"),
        ("Signed: C. Van der Merwe, registrar", "C. Van der Merwe"),
    ],
)
def test_names(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Summer holidays start soon; the clinic will close for a week.",
        "Faith in the new protocol is high among the team.",
        "It is five o'clock and the ward round is over.",
        "A follow-up scan is booked; the day-case list is full.",
        "Seeing the consultant today, he said the scan was stable.",
        "Hope is that the mass shrinks with two more cycles.",
    ],
)
def test_name_rules_leave_word_uses_alone(text: str) -> None:
    assert [f for f in hard(text) if f.kind == "person_name"] == [], hard(text)


def test_a_name_does_not_cross_a_doubled_space() -> None:
    text = "PRITCHARD, Isla  Paediatric Surgery Clinic"
    found = [f for f in find_identifiers(text) if f.kind == "person_name"]
    assert all("  " not in f.text for f in found), found
    assert hard_covers(text, "PRITCHARD, Isla")

"""Round 14 of issue 17: each kind made robust by policy (``docs/privacy.md``, "Round 14"),
on examples written for these tests (none is taken from a corpus), with clean
counter-examples for every rule.
"""

from __future__ import annotations

import time

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers, soft_names

# --------------------------------------------------------------------------------------------
# Web addresses: a page on any host off the safe-list is hard
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("The clip is here: youtu.be/Qw3rTy9zX1", "youtu.be/Qw3rTy9zX1"),
        ("Watch vimeo.com/556677889 when you can.", "vimeo.com/556677889"),
        ("It made the local paper: www.examplegazette.co.uk/news/brave-girl-123", "examplegazette"),
        ("https://dailyecho.example.com/2024/03/fundraiser", "dailyecho.example.com"),
        ("Our diary: http://littlelionheart.example.net/day-42", "littlelionheart"),
        ("see rumble.com/v4abc-our-boy.html", "rumble.com/v4abc-our-boy.html"),
        ("Story at itv.com/news/2024-01-01/local-boy", "itv.com/news/2024-01-01/local-boy"),
        ("short link: bit.ly/3xYzAbc", "bit.ly/3xYzAbc"),
    ],
)
def test_pages_on_unknown_hosts_are_hard(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Guidance at https://www.nice.org.uk/guidance/ng12 applies.",
        "Trial listed at https://clinicaltrials.gov/study/NCT01234567.",
        "See https://pubmed.ncbi.nlm.nih.gov/12345678/ for the paper.",
        "https://doi.org/10.1000/xyz123 is the reference.",
        "The CCLG leaflet: https://www.cclg.org.uk/publications/nb",
        "Our charity's guide: https://www.exampleneuroblastoma-support.org.uk/guides/diet",
        "The hospital page https://www.example-childrens-hospital.nhs.uk/oncology/ward",
        "Dose 1.5mg/kg and 10mg/m2 twice daily.",
        "ANC 1.2 x10^9/L; Hb 98 g/L.",
        "www.example.org has the details.",
    ],
)
def test_safe_pages_and_measurements_are_not_hard_urls(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "url"], hard(text)


# --------------------------------------------------------------------------------------------
# Handles: after "follow/find/search ... on <platform>", and after a platform's name
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("please follow brave.bella.b on insta", "brave.bella.b"),
        ("follow littlewarriorleo on tiktok!", "littlewarriorleo"),
        ("search for oscarsmountain on facebook", "oscarsmountain"),
        ("find us at teamrubyroo on instagram", "teamrubyroo"),
        ("the group is on facebook (search hopeforhattie)", "hopeforhattie"),
        ("tiktok @ mollysmission24", "mollysmission24"),
        ("youtube channel is poppysstorytime", "poppysstorytime"),
    ],
)
def test_handles_are_hard(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "follow the advice on facebook groups with care",
        "please follow guidance on twitter from the trust",
        "search online on facebook for support groups",
        "she likes instagram lately",
        "Search Leeds on facebook for the support group.",
        "follow up on youtube videos with the play team",
    ],
)
def test_not_handles(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "url"], hard(text)


# --------------------------------------------------------------------------------------------
# Hospital numbers in a cue's scope (its sentence and the next)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("MRN 448 912 on the sticker.", "448 912"),
        ("Patient ID 3301 7789 - from the Bristol system.", "3301 7789"),
        ("case ref: ab-2019-3321", "ab-2019-3321"),
        ("Unit no. is wrong. It should be 55 20 19.", "55 20 19"),
        ("Ignore PAS 44102, it was a typo; use 44120 instead.", "44120"),
        ("hospital no: gh-88120", "gh-88120"),
    ],
)
def test_cued_numbers_are_hard(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "The MRN is on the band. Platelets 4500 after the transfusion were fine.",
        "MRN checked. Dose 1200 mg given.",
        "Hospital number 1234 of 5000 in the audit.",
        "MRN confirmed in 2021. Review in 2024.",
        "Case NB-2026-0007 was deferred; case number NB-2026-0007.",
        "PAS staining positive. Ferritin 1450 at diagnosis.",
        "MRN to follow. Protocol version 2024 amendment.",
        "MRN checked. EudraCT 2019-001122-33 and ISRCTN 11223344 for the study.",
    ],
)
def test_cue_scope_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "hospital_number"], hard(text)


def test_cue_scope_ends_after_the_next_sentence() -> None:
    text = "MRN on file. Scan booked. Ferritin result 5512 pending."
    assert not [f for f in hard(text) if f.kind == "hospital_number"], hard(text)


# --------------------------------------------------------------------------------------------
# Dates: month names of the UK's languages with a day and year; d.m.yy; ordinal lists
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ganed hi ar 3 Hydref 2018.", "3 Hydref 2018"),
        ("Rugadh é 14 Márta 2017.", "14 Márta 2017"),
        ("Rugadh i 2 an t-Sultain 2016.", "2 an t-Sultain 2016"),
        ("Urodzona 7 października 2019 r.", "7 października 2019"),
        ("Născută pe 21 septembrie 2020.", "21 septembrie 2020"),
        ("Nasceu a 5 de março de 2018.", "5 de março de 2018"),
        ("Nació el 9 de julio de 2017.", "9 de julio de 2017"),
        ("Nato il 30 giugno 2019.", "30 giugno 2019"),
        ("Né le 1er février 2016.", "1er février 2016"),
        ("Geboren am 12. Dezember 2015.", "12. Dezember 2015"),
        ("Paida hua 4 Aktubar 2018.", "4 Aktubar 2018"),
        ("Ganwyd 19 Medi", "19 Medi"),
        ("Fe'i ganed ar 3ydd o Fawrth 2018.", "3ydd o Fawrth 2018"),
        ("Urodził się 3 maja 2018 r.", "3 maja 2018"),
    ],
)
def test_dates_in_other_languages(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Gave 3 mai tablets in error",
        "The 12 Mars bars were a treat.",
        "2 medi pots of yoghurt.",
        "Dose of 10 mai per kg.",
    ],
)
def test_foreign_month_words_without_year_are_not_hard(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "date"], hard(text)


def test_measure_after_a_foreign_month_word_is_no_date() -> None:
    assert not [f for f in find_identifiers("Dose of 10 mai per kg.") if f.kind == "date"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("The discharge letter says 4.3.21.", "4.3.21"),
        ("Bloods on 12.11.22 were normal.", "12.11.22"),
        ("scan report dated 7.6.19", "7.6.19"),
    ],
)
def test_short_dotted_dates(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Protocol version 3.1.10 applies.",
        "See section 4.2.13 of the guideline.",
        "Rule 2.1.15 in the appendix.",
        "Grade 3.4.12 in CTCAE.",
        "IP 10.0.12 is the printer.",
    ],
)
def test_dotted_numbers_that_are_not_dates(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "date"], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Harvest: Wed 3rd & Thu 4th March", "3rd"),
        ("Harvest: Wed 3rd & Thu 4th March", "4th March"),
        ("Clinic Fri 1st, Mon 4th and Tue 5th Dec", "1st"),
    ],
)
def test_ordinal_lists_with_a_month(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


def test_ordinal_list_needs_a_month() -> None:
    assert not [f for f in hard("Cycle 2nd and 3rd courses were delayed.") if f.kind == "date"]


# --------------------------------------------------------------------------------------------
# Addresses by span
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Sea Breeze, 7 Harbour Road, Whitby YO21 3AB", "Sea Breeze, 7 Harbour Road, Whitby"),
        ("14 Elm Grove\nNorwich\nNR2 3DD", "14 Elm Grove\nNorwich"),
        ("now at 3/2 41 Dalmally St, G20 6LA", "3/2 41 Dalmally St"),
        ("c/o her aunt, Glenview, 8 Mill Road, Fort William", "Glenview, 8 Mill Road"),
        ("Cheers, Ann\n07700 900 555\n9 Larch Way, Corby NN17 1AA", "9 Larch Way, Corby"),
        ("They live at 22 brook st, leeds", "22 brook st"),
        ("she lives at 5 high st, ely", "5 high st, ely"),
        ("the family lives on a croft, Druim Croft, Applecross.", "Druim Croft, Applecross"),
        ("They live at Tigh na Mara, Plockton.", "Tigh na Mara"),
        ("Ivy goes to Larkhill Junior.", "Larkhill Junior"),
        ("Both twins are at Fernbrook Infants.", "Fernbrook Infants"),
        ("He started at Oakmere Academy in September.", "Oakmere Academy"),
    ],
)
def test_addresses_by_span(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Dose reduced as the Sheffield High dose protocol allows.",
        "Primary tumour in the left adrenal.",
        "The Junior doctor reviewed him.",
        "They stay at Ronald McDonald House during treatment.",
        "Given 2 doses at 3 hourly st intervals.",
        "gave 2 high dose st",
        "Thanks,\nThe team\nWard 4",
        "Royal Academy of Medical Sciences guidance.",
    ],
)
def test_address_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "address"], hard(text)


# --------------------------------------------------------------------------------------------
# Phones, postcodes, NI numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Call 0161 496 0123 / 0161 496 0124", "0161 496 0124"),
        ("Mob 07700 900321 or 07700 900322", "07700 900322"),
        ("Numbers: 020 7946 0011, 020 7946 0012 & 020 7946 0013", "020 7946 0013"),
    ],
)
def test_every_phone_of_a_list(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("moved to m13 9pl last month", "m13 9pl"),
        ("postcode is ls2 1th", "ls2 1th"),
        ("posted from eh3 9ex", "eh3 9ex"),
    ],
)
def test_lower_case_postcodes(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    ["INRG stage L2 3rd course", "n7 1st cycle", "l1 2nd line therapy", "b7 4th"],
)
def test_lower_case_postcode_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "postcode"], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("NI JK 123 456 A", "JK 123 456 A"),
        ("NINO: PR 1234 56 B", "PR 1234 56 B"),
        ("nat ins TW 12 3456 D", "TW 12 3456 D"),
    ],
)
def test_ni_numbers_in_any_grouping(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text", ["Lansky 70 and SIOPEN score 12", "GB 123 456 A is not valid", "CD 123 456 7"]
)
def test_ni_counter_examples(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "ni_number"], hard(text)


# --------------------------------------------------------------------------------------------
# False positives: word-names joined to a word; Irish and Gaelic staff names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "A Pearl-sized lesion in the liver.",
        "Ruby-coloured urine after the dose.",
        "A Holly-shaped rash on the arm.",
    ],
)
def test_word_names_joined_to_a_word(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "person_name"], hard(text)


def test_names_joined_still_found_with_a_cue() -> None:
    assert hard_covers("Her daughter Pearl is 4.", "Pearl")


@pytest.mark.parametrize(
    "text",
    [
        "Seen by Staff Nurse Ní Bhriain on the ward.",
        "Sister Mac Aoidh confirmed the plan.",
        "Nurse Ó Súilleabháin gave the dose.",
    ],
)
def test_staff_with_particles(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "person_name"], hard(text)


def test_staff_with_particle_is_a_warning() -> None:
    assert soft_names("Seen by Staff Nurse Ní Bhriain on the ward.") or not hard(
        "Seen by Staff Nurse Ní Bhriain on the ward."
    )


# --------------------------------------------------------------------------------------------
# Names: a name found goes on over a family-name particle
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Referral for Master Yusuf bin Rahman, 3.", "Yusuf bin Rahman"),
        ("Her mum Nurul binti Ismail called.", "Nurul binti Ismail"),
        ("Dad, Gethin ap Rhys, signed it.", "Gethin ap Rhys"),
        ("Mrs Anouk van der Berg phoned.", "Anouk van der Berg"),
    ],
)
def test_names_over_particles(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    ["Treated with van der Waals forces in mind.", "The bin was emptied.", "Given de novo."],
)
def test_particles_without_a_name(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "person_name"], hard(text)


# --------------------------------------------------------------------------------------------
# Long inputs stay linear
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunk",
    [
        "follow ",
        "MRN 12 ",
        "a.b/",
        "Mon 1st & ",
        "1.1.",
        "12 ",
        "Ab Cd, ",
        "0113 496 0389 / ",
        "\n1 ",
        "lives at ",
        "Aa Bb ",
        "Xx ",
    ],
)
def test_long_inputs_stay_fast(chunk: str) -> None:
    text = chunk * (300_000 // len(chunk))
    t0 = time.perf_counter()
    find_identifiers(text)
    assert time.perf_counter() - t0 < 20


# --------------------------------------------------------------------------------------------
# After round 14's merge (the coordinator's own sentences, before round 14's held-out scoring):
# a paper or a guideline is a reference, not a family's page; a lone four-digit count in the
# sentence after a hospital cue is a count.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Background: https://academic.oup.com/jnci/article/115/2/140/6761234 for the trial.",
        "See https://www.accc.org.au/guidelines on late effects.",
        "journals.lww.com/jpho/fulltext/2020/01000/late_effects.aspx is the review.",
        "The group's protocol: https://www.example-coop.eu/protocols/hr-nbl-2 (v3).",
        "Preprint at https://www.medrxiv.org/content/10.1101/2024.01.01.24300001v1",
    ],
)
def test_round14_references_are_not_a_familys_page(text: str):
    assert not [f for f in hard(text) if f.kind == "url"], hard(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "Dad's video: https://vimeo.com/804417723 (please do not share).",
            "https://vimeo.com/804417723",
        ),
        (
            "Her blog https://brave-ruby.example.net/2024/05/scan-day",
            "https://brave-ruby.example.net/2024/05/scan-day",
        ),
        (
            "The local paper ran it: www.example-gazette.co.uk/news/local-girl-appeal",
            "www.example-gazette.co.uk/news/local-girl-appeal",
        ),
    ],
)
def test_round14_a_familys_page_stays_hard(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


def test_round14_a_lone_count_in_the_next_sentence_is_not_a_hospital_number():
    for text in (
        "Medical record review done; 2300 in total were read.",
        "Medical record audit done. The total read was 2300.",
    ):
        assert not [f for f in hard(text) if f.kind == "hospital_number"], hard(text)
    # in the cue's own sentence, and in groups in the next one, numbers are still hard
    assert hard_covers("MRN 7104 5520 on file.", "7104 5520")
    assert hard_covers("Hospital number changed. The new one is 4471 2093.", "4471 2093")


# A day with a month in words is a hard date with or without a year (the owner's rule, issue 17),
# in the languages round 14 reads as in English; a month word that is also an English word or a
# name needs a year or a birth word.
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Apwyntiad dydd Llun 14 Ebrill yn y clinig.", "14 Ebrill"),
        ("Wizyta 12 marca w szpitalu.", "12 marca"),
        ("Rendez-vous le 3 juin pour le scanner.", "3 juin"),
        ("Termin am 5 Oktober, bitte.", "5 Oktober"),
    ],
)
def test_round14_a_day_and_a_foreign_month_word_is_hard_without_a_year(text: str, value: str):
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize("text", ["He ate 3 mars bars after the scan.", "Rhoddwyd 10 mai o hylif."])
def test_round14_an_ambiguous_month_word_alone_only_warns(text: str):
    assert not [f for f in hard(text) if f.kind == "date"], hard(text)

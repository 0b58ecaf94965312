"""Round 21, names (issue 17): rules by kind in ``_round21_names``, with invented examples and
clean counter-examples (no corpus string)."""

from __future__ import annotations

import time

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # a quoted span a reviewer asks to remove or check
        ("Please remove 'Tilly Brackwater' from the case title.", "Tilly Brackwater"),
        ("Flag: 'Harvey, Isla i tata Marek' in the note.", "Marek"),
        ("It was minuted as 'Reuben T., 4' last time.", "Reuben T."),
        ("I think 'Pudding' is the child's nickname - remove.", "Pudding"),
        ("Still there: 'brackwater, tilly' typed on the form.", "brackwater, tilly"),
        # a quoted name beside another quoted name
        ("She is 'Tils' in one place and 'Matilda Brackwater' in another.", "Matilda Brackwater"),
        # a nickname in brackets after a name, the name the other way round, a quoted nickname
        ("Case 4: Fenella (Fenny), 3, relapse.", "Fenny"),
        ("Patient Emiko Tsurugaya (Tsurugaya Emiko), MRN pending.", "Tsurugaya Emiko"),
        ("Case 7: 'Ros' (Rosalind Quillfeather, 6) - family prefer it.", "Ros"),
        ("Tilly (aka 'Tils') Brackwater, 5, for review.", "Tils"),
        ("now with her gran ('Tiggy' to her friends) in Hull.", "Tiggy"),
        # initials standing for a name in the same sentence
        ("Case 2: Rosa-May Quillfeather (RMQ), for follow-up.", "RMQ"),
        ("I removed 'Rosa-May' but the box still says 'R-M'.", "R-M"),
        # a chat export's speaker
        ("[03/09/2025, 21:14] Marek Zielonka: dobry wieczór", "Marek Zielonka"),
        # after née, after "full name", "the <Surname> boy", a DICOM caret name
        ("Mum Orla Quillfeather (née Ní Bhraoin) rang.", "Ní Bhraoin"),
        ("Re little Pip (full name Philippa J. Arkwright), aged 4.", "Philippa J. Arkwright"),
        ("Case 6 - 'the Zielonka girl' again.", "Zielonka"),
        ("PatientName=FENWICK^ORLA^MAY; PatientID=X1", "FENWICK^ORLA^MAY"),
        # kin words of other languages in lower case
        ("Jestem tu z synem i mama Halina.", "Halina"),
        ("Je suis la maman d'Eloïse Brunetière.", "Eloïse Brunetière"),
        # a lower-case given name before "'s" and an identifier's word
        ("oliver's nhs no is on the form", "oliver"),
        # a first name beside a staff role without a title
        ("spoke to HCA Bethany on ward 3", "Bethany"),
        ("Comment by Marcus (data manager): fine.", "Marcus"),
        # a name in capitals between a header's separators
        ("CT CHEST - TILLY BRACKWATER - 12/01/24 - clear.", "TILLY BRACKWATER"),
        ("Tube label 'BRZĘCZEK HALINA 120318' (DOB as DDMMYY).", "BRZĘCZEK HALINA"),
    ],
)
def test_round21_names_are_hard(text: str, value: str):
    assert hard_covers(text, value), [(f.kind, f.text) for f in find_identifiers(text)]


@pytest.mark.parametrize(
    "text",
    [
        # quoted spans that are no names: a clinician, a place, the mother's label, a region
        "Please remove 'Dr Tresillian' from the title.",
        "Check the quote 'from Tresillian' in the press cutting.",
        "Suggest rewording it to 'lives in North West England'.",
        "Please check 'Hodgkin lymphoma' in the title.",
        "Remove 'neuroblastoma' from the file name.",
        # a chat export's speaker who is a family word or a team
        "[03/09/2025, 21:14] Mum: he's been sick",
        "[03/09/2025, 21:14] Oncology Team: see you Monday",
        # after née nothing capitalised; "full name" before a lower-case word
        "Please give the full name and date of birth.",
        "the Leeds boy from the trial",
        "the Oncology twins clinic",
        # a kin word in capitals before a hospital
        "referred from Tata Memorial Centre",
        "mama bear stickers",
        # a lower-case possessive that is no name; a titled clinician beside a role
        "the patient's nhs number is missing",
        "Sister Tresillian, data manager, sent it.",
        # capitals between separators that are no name
        "CT CHEST - NO CHANGE - clear.",
    ],
)
def test_round21_names_counter_examples(text: str):
    assert not [f for f in hard(text) if f.kind == "person_name"], [
        (f.kind, f.text) for f in hard(text)
    ]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        # brackets after a name that hold no nickname: a nationality, an abbreviation
        ("Patient: Emiko Tsurugaya (Ainu, interpreter booked).", "Ainu"),
        ("Seen by Emiko Tsurugaya (HCP) today.", "HCP"),
        ("Seen with Emiko Tsurugaya (Haematology) today.", "Haematology"),
    ],
)
def test_round21_brackets_after_a_name_that_are_no_name(text: str, word: str):
    assert not hard_covers(text, word)


@pytest.mark.parametrize(
    "text",
    [
        "Please remove 'Tilly Brackwater' and " * 5_000,
        "'Tilly' 'Tilly Brackwater' " * 5_000,
        "Tilly Brackwater (TB) " * 5_000,
        "TB TB Tilly Brackwater " * 5_000,
        "Fenella (Fenny) " * 10_000,
        "Tilly (aka 'Tils') " * 10_000,
        "[03/09/2025, 21:14] Marek Zielonka: hi\n" * 5_000,
        "née Quillfeather " * 10_000,
        "full name Philippa Arkwright " * 10_000,
        "the Zielonka girl " * 10_000,
        "Name=A^" * 20_000,
        "mama Halina " * 10_000,
        "oliver's nhs " * 10_000,
        "HCA Bethany " * 10_000,
        "Marcus (data manager) " * 10_000,
        "X - TILLY BRACKWATER - " * 10_000,
        "'" * 100_000,
    ],
)
def test_round21_names_long_inputs_complete(text: str):
    t0 = time.perf_counter()
    find_identifiers(text)
    assert time.perf_counter() - t0 < 5

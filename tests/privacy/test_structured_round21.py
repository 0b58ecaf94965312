"""Round 21 of issue 17 (``docs/privacy.md``, "Round 21"): values broken over lines are scanned
joined; a generic number cue (a label word that names a number, before or after the value);
address forms (a flat in brackets, a flat with a letter, a town in capitals before a postcode,
another country's street, a quoted house name and town); a letter O in a date, a date glued to
the next label, an apostrophe in an e-mail's local part, a month with a suffix; a decimal
beside a glued unit is no date. Examples are invented for these tests (none is taken from a
corpus), with clean counter-examples for every rule.
"""

from __future__ import annotations

import time

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # broken over lines
        ("ring me on 07700\n900431 after six", "07700\n900431"),
        ("Unit no\n0052\n6618\nSeen today", "0052\n6618"),
        ("DOB 2015-07-\n22, seen in clinic", "2015-07-\n22"),
        ("Hospital number:\nQKX\n-0033417\nFor review", "QKX\n-0033417"),
        ("Noor's fundraiser: www.raiseit.example.org/\nteam-noor thanks", "team-noor"),
        ("write to sam.okoro@\nexample.net today", "sam.okoro@\nexample.net"),
        # a generic number cue
        ("Accession SPX-8830214 | cores x3", "SPX-8830214"),
        ("Lab ref MOL/23/00412 sent on", "MOL/23/00412"),
        ("their lab no KCH-23-55021; local", "KCH-23-55021"),
        ("Case 4 numbers: old BT7-661204, new 4471120 (MRN).", "BT7-661204"),
        ("Case 4 numbers: old BT7-661204, new 4471120 (MRN).", "4471120"),
        ("Reg. no. 0091-22-417 (PAS)", "0091-22-417"),
        ("Local no QRT 7021 448 / NHS to follow", "QRT 7021 448"),
        # a phone after a bleep and a slash
        ("Contact: bleep 3307 / 0113 496 0781.", "0113 496 0781"),
        # addresses
        ("Address: 7 Linnet Road (flat 0/1), Paisley PA1 2XX.", "7 Linnet Road (flat 0/1)"),
        ("On PAS: Flat 3/L, 9 Peel Wynd, Perth PH1 5XX", "Flat 3/L, 9 Peel Wynd, Perth"),
        ("[LABEL] 21 Heron Drive KEIGHLEY BD20 6XX", "21 Heron Drive KEIGHLEY"),
        ("she lives abroad: 8 rue des Saules, Rennes - thanks", "8 rue des Saules, Rennes"),
        ("home address 'Bryn Hafod, Bala' for transport", "Bryn Hafod, Bala"),
        ("is 'The Laurels, Settle' a house name?", "The Laurels, Settle"),
        # dates and an e-mail
        ("it should read 23/O4/2016 on the form", "23/O4/2016"),
        ("DOB:04/11/2013NHS:", "04/11/2013"),
        ("Randevu 9 Nisan'da mı?", "9 Nisan"),
        ("write to k.o'hara@example.com please", "k.o'hara@example.com"),
    ],
)
def test_round21_values_are_hard(text: str, value: str):
    assert hard_covers(text, value)


@pytest.mark.parametrize(
    "text",
    [
        # line breaks between unrelated lines
        "Plan\nReview in clinic.\nBloods next week.",
        # number cues that name no person's number
        "REC ref 22/NW/0311 approved; IRAS project ID 311042.",
        "CPMS ID 55120 for the study.",
        "Our ref: KB/2023/58 in the letter.",
        "Re: fast-track referral (ref. 3WW/ONC/204).",
        "Trial no NCT04411220 and EudraCT 2019-004512-33.",
        "Lot no 7CD2210 of the vaccine; version no 12044.",
        "See Table 3 and page 12; score 14.",
        "ALK exon 23; no K1062M found.",
        "The registry number is 55102233 for the trial.",
        "Case QX-2025-0012 was deferred.",
        "PMID 30112233 describes it; a number of 2400000 people.",
        # a short number and a slash before a number that is no phone
        "ratio 2210 / 0123 4567 89 in the table",
        # a time before "via", an English street word
        "Meeting held 10:00-12:30 via Zoom; 7 cases.",
        # a decimal beside a glued unit
        "weight 18.4kg today (was 18.1 in June)",
        # quoted "X, Y" near an address's word that is no house name: a label's value, people
        # by their titles, a PAS label in capitals; or far from the address's word
        "Address check: 'Present: PICU, NICU' is a minute line.",
        "The address field held 'Dr Amis, Sister Vale' by mistake.",
        "Address label reads 'SURNAME, FORENAME' on the template.",
        "Address: see the letter. " + "x" * 80 + " We agreed 'Stage M, MYCN' as the heading.",
    ],
)
def test_round21_counter_examples_have_no_hard_finding(text: str):
    assert hard(text) == []


def test_round21_two_dates_with_a_slash_are_no_phone():
    assert [f.kind for f in hard("Seen 12/03/2019 / 01/04/2019 in clinic.")] == ["date", "date"]


@pytest.mark.parametrize(
    "text",
    [
        "07700\n" * 20_000,
        "MRN\n" * 20_000 + "1",
        "lab no " * 20_000 + "AB-1234567",
        "'A b, C' address " * 10_000,
        "1 rue " * 20_000,
        "1/O1/2O" * 20_000,
        "bleep 2231 / 0" * 20_000,
        "RIS " + "1234 " * 30_000,
        "ab/\ncd-" * 20_000,
        "x@\n" * 20_000,
        "a'" * 50_000 + "@example.com",
        # a short dotted number in one long sentence of glued units (each was compared with
        # every glued decimal: 14 s at 20,000)
        "seen 3.4 weighed 1.2kg " * 20_000,
    ],
)
def test_round21_long_inputs_complete(text: str):
    t0 = time.perf_counter()
    find_identifiers(text)
    assert time.perf_counter() - t0 < 5

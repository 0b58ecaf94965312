"""Round 19 of issue 17: defaults flipped by kind (``docs/privacy.md``, "Round 19"): a dotted
day.month without a year is a hard date unless it reads as a decimal; letters and digits inside a
file name or a quoted token are a hospital number, and a hospital number found once is one
wherever it repeats; a handle in quotes after a handle's or a platform's word, or with a hyphen
after a platform's word; a bare www page with an id in its path; false positives by kind
(eponym pairs before "score", a noun after a determiner, a charity's house, a ward sister's title
at the edge of the window read after "Dr X"). Examples are invented for these tests (none is
taken from a corpus), with clean counter-examples for every rule.
"""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers


def _hard(text: str, kind: str) -> list[str]:
    return [f.text for f in hard(text) if f.kind == kind]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # dotted day.month: a date by default
        ("Her echo is planned 14.03 if the ward agrees", "14.03"),
        ("Clinic letters went out 27.11, nothing back", "27.11"),
        ("Port flush pencilled in for 12.6 and 26.6.", "12.6"),
        ("Port flush pencilled in for 12.6 and 26.6.", "26.6"),
        ("MIBG moved to 03.11 or 04.11?", "04.11"),
        ("Admission 21.2 with neutropenic sepsis", "21.2"),
        # letters and digits in a file name or a quoted token
        ("Please rename 'ct_chest_QX448201_v2.pdf' before upload", "QX448201"),
        ("The attachment HB55120437.docx has the number in its name", "HB55120437"),
        ("Label on the slide reads 'W7761023' in pencil", "W7761023"),
        # a hospital number found once, again elsewhere
        ("Path no 31C77421; report filed as 31C77421 too.", "31C77421"),
        # handles
        ("Could you take out the account 'sunnydays4noah' from the note", "sunnydays4noah"),
        ("please remove the handle 'teamjosie' from his story", "teamjosie"),
        ("TikTok: milo-b.warrior - her page", "milo-b.warrior"),
        # a www page with an id in its path
        (
            "Viewer: www.example.org/share/case/55102 for the images",
            "www.example.org/share/case/55102",
        ),
        # a house's name before its street; a stair flat
        ("Caption shows 'Rowan Cottage, 9 Mill Brae, Kelso' - please crop", "Rowan Cottage"),
        ("They live at 21/4 Harbour View Road, Leith", "21/4 Harbour View Road"),
        # a declined month word in lower case that is also a name
        ("Termin był 12 maja, ale odwołany", "12 maja"),
    ],
)
def test_round19_finds(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        # units, dimensions, lab values, versions, times
        "Weight 14.2 kg today, up from 13.9",
        "Radiotherapy 21.6 Gy in 12 fractions",
        "Residual 2.1 x 1.4 cm on MRI",
        "Hb 10.5, plt 150, neut 1.2",
        "Potassium 4.12 this morning",
        "K 3.4, urea 5.6, creat 38",
        "SUVmax 7.2 in the primary, 3.1 in the femur",
        "ANC 0.4 on day 8, 1.1 on day 12, 2.1 on day 15",
        "Protocol version 4.10 replaces 3.2",
        "See section 12.3 of the SOP",
        "NSE 21 (ref < 16.3)",
        "Clinic starts at 10.05 in room 4",
        "Line flushed 13.05 then locked",  # a time of day (the risk: 13 May)
        "The letter is set at 1.06 rem",
        "Drank about 1.5 litres; weighed 18.4",
        "| run | 10 | 19.9 | 10 masked |",
        "MYCN ratio 14.6, amplified",
        "Karyotype 46,XY; 2p24.3 gain",
        "Temp 37.9, sats 97%",
        # two single digits stay decimals unless a temporal word dates them
        "Lactate 2.4, glucose 5.1",
    ],
)
def test_round19_dotted_decimals_stay_clean(text: str) -> None:
    assert _hard(text, "date") == [], find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Trial code 'GO42286 - Alectinib in children' on the registry page",
        "Registry NCT01234567 in 'NCT01234567.pdf'",
        "Camera file 'DSC01234.jpg' attached",
        "Series IM00012.dcm masked",
        "Saved as 'results_20240214.pdf'",
        "the parents' note about 'ALK' is fine",
    ],
)
def test_round19_clean_codes(text: str) -> None:
    assert _hard(text, "hospital_number") == [], find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "the handle 'loose' on the door",  # an English word
        "www.example.org is the charity's home page",  # no id in the path: a warning
    ],
)
def test_round19_clean_handles_and_pages(text: str) -> None:
    assert _hard(text, "url") == [], find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Case 4: Hughes-Dunn score 9 at diagnosis.",
        "Started the Parker-Lowe scale for pain.",
        "Can he go to his friend's party on Sunday?",
        "Is it fine for her to visit the neighbour's dog?",
        "Supported by a children's cancer charity; they are staying at Marlow House this week.",
        "Actions: audit (Dr Imrie), discharge leaflet (Sister Hale).",
    ],
)
def test_round19_false_positives_removed(text: str) -> None:
    assert [f for f in hard(text) if f.kind in ("person_name", "address")] == [], find_identifiers(
        text
    )


def test_round19_family_doctor_stays_hard() -> None:
    # the family word still makes a doctor hard when it is close
    assert _hard("Her mum (Dr Imrie) is a GP", "person_name")
    # a name's possessive after "our" is still a name
    assert hard_covers("our becca's school rang", "becca")
    # a house by a street address still counts without a charity
    assert hard_covers("They are staying at Marlow House, 4 Kiln Road, Leek", "4 Kiln Road")

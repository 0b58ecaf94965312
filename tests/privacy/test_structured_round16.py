"""Round 16 of issue 17: structured kinds made robust to the forms unseen text brings
(``docs/privacy.md``, "Round 16"), on examples written for these tests (none is taken from a
corpus), with clean counter-examples for every rule.
"""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from tests.support.guard import hard, hard_covers

# --------------------------------------------------------------------------------------------
# Separators: any dash, dot, bullet or underscore between the groups of a value
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("NHS 943·476·5919", "943·476·5919", "nhs_number"),
        ("NHS no: 943•476•5919", "943•476•5919", "nhs_number"),
        ("nhs 943_476_5919", "943_476_5919", "nhs_number"),
        ("N.H.S. 943‐476‐5919", "943‐476‐5919", "nhs_number"),
        ("C.H.I. 010123 4562", "010123 4562", "chi_number"),
        ("chi no 0101 2345 62", "0101 2345 62", "chi_number"),
        ("mob: 07700·900·123", "07700·900·123", "phone"),
        ("tel 0161•496•0000", "0161•496•0000", "phone"),
        ("ring 0113–496–0940", "0113–496–0940", "phone"),
        ("landline 01632_960_000", "01632_960_000", "phone"),
        ("date of birth: 03·04·2019", "03·04·2019", "date"),
        ("DOB 03–04–2019", "03–04–2019", "date"),
        ("Born 3•4•2019", "3•4•2019", "date"),
        ("NI JT·12·34·56·C", "JT·12·34·56·C", "ni_number"),
        ("ni no: j t 1 2 3 4 5 6 c", "j t 1 2 3 4 5 6 c", "ni_number"),
        ("NI number QQ 12 34 56 C", "QQ 12 34 56 C", "ni_number"),
        ("Post code: ls6-2ab", "ls6-2ab", "postcode"),
        ("postcode LS6·2AB", "LS6·2AB", "postcode"),
        ("send the form to LS6-2AB", "LS6-2AB", "postcode"),
    ],
)
def test_any_separator_between_groups(text: str, value: str, kind: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)
    assert any(f.kind == kind for f in hard(text)), find_identifiers(text)


# --------------------------------------------------------------------------------------------
# Cued values: any mark between cue and value, spaced digits, laboratory numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Hospital number - 0 771 204", "0 771 204"),
        ("hosp no = 12 34 567", "12 34 567"),
        ("MRN —> 77 1 2044", "77 1 2044"),
        ("case no: 4 4 1 2 9 0 7", "4 4 1 2 9 0 7"),
        ("record number is 5 1 2 9 9 0", "5 1 2 9 9 0"),
        ("Path lab no 31K007215 is the relapse sample.", "31K007215"),
        ("specimen # 24K001234", "24K001234"),
        ("Histology no. H24-01234", "H24-01234"),
        ("lab id 12345678", "12345678"),
    ],
)
def test_cued_local_numbers(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "ref 12 patients in 2024",
        "Case no. 3 of 12",
        "Unit no 2 3",
        "block #2 stained",
        "lab no 3 pending",
        "biopsy no. 2 showed clear margins",
        "Lab ref range 3.5-5.0",
        "ISRCTN 12345678",
        "EudraCT 2019-001234-56",
        "NCT01234567",
        "c.1799T>A BRAF V600E",
        "stage 4S, MYCN 12 copies",
        "pT2 N1 M0",
        "vincristine 1.5 mg/m2",
        "plt 45 x10^9/L",
        "3/52 post op",
        "NI 12 weeks after relapse",
        "our NI 2024 figures",
        "grade 3-4 in L1-2ND",
        "S1-2HR",
        "ratio 1.5/2ab",
        "doses 10–12–15 mg",
        "grades 1–2–3",
        "contact us about dose 0.5 mg/kg 0.25",
        "text me when the result 0.0123 is back",
    ],
)
def test_clean_counter_examples(text: str) -> None:
    assert not hard(text), find_identifiers(text)


# --------------------------------------------------------------------------------------------
# Dates: "Was d/m when", events of an illness, apostrophe years
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Was 9/5 when the scan was repeated.", "9/5"),
        ("was 21.3 when she had the line in", "21.3"),
        ("Relapsed 21/3", "21/3"),
        ("Diagnosed 14/2, after a month of limping", "14/2"),
        ("dx 21/3", "21/3"),
        ("born Apr '19", "Apr '19"),
        ("DOB Sept ’18", "Sept ’18"),
    ],
)
def test_dates(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Was 3/12 when diagnosed",  # three months old
        "was 2/7 when it started",  # two days
        "dx 2/7 ago",
        "Relapse 1/2 of cases",
        "diagnosed 5/6 patients",
        "diagnosis 3/12 ago",
        "Pain was 6/10 when seen",
    ],
)
def test_dates_clean(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "date"], find_identifiers(text)


# --------------------------------------------------------------------------------------------
# Web: short links on a bare host
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("qk.example/7Hd2pQ is our page", "qk.example/7Hd2pQ"),
        ("link: rb.gy/k3p9x", "rb.gy/k3p9x"),
        ("see zz.io/a1b2c3 for updates", "zz.io/a1b2c3"),
    ],
)
def test_short_links(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "dose 2 mg/kg/day",
        "e.g./i.e. both fine",
        "creatinine 45 umol/L",
        "see nice.org.uk/guidance/ng12 for the pathway",
        "the cclg.org.uk/trial1 page",
        "and/or 3/52",
    ],
)
def test_short_links_clean(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "url"], find_identifiers(text)


# --------------------------------------------------------------------------------------------
# Addresses: a named dwelling after "we're at", lower-case flats, a lower-case town
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("we're at Ashgrove Farm, near Bala, so travel is hard", "Ashgrove Farm"),
        ("They are now at Bryn Celyn Cottage", "Bryn Celyn Cottage"),
        ("we've moved to Lower Heath Barn", "Lower Heath Barn"),
        ("flat 2, 40 tannery wharf, hull", "flat 2, 40 tannery wharf, hull"),
        ("apt 3c / 12 mill quay, derry", "apt 3c / 12 mill quay, derry"),
        ("address 27a Lisburn Rd armagh", "27a Lisburn Rd armagh"),
        ("we're at 7 sandpiper wharf", "7 sandpiper wharf"),
    ],
)
def test_addresses(text: str, value: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "we are staying at Ronald McDonald House this week",
        "we're at the ward till Friday",
        "they're at Grandma's House for the weekend",
        "flat 2, 3 times a day",
    ],
)
def test_addresses_clean(text: str) -> None:
    assert not [f for f in hard(text) if f.kind == "address"], find_identifiers(text)


@pytest.mark.parametrize("after", ["then", "today", "please", "and"])
def test_a_lower_case_word_after_a_street_is_no_town(after: str) -> None:
    text = f"address 12 Castle Rd {after} we can talk"
    assert [f.text for f in hard(text) if f.kind == "address"] == ["12 Castle Rd"]


# --------------------------------------------------------------------------------------------
# Round 16, second part: HTML entities and odd spaces, commas between a ten-digit number's
# groups, spelt-out hosts, partial e-mails, spaced postcodes, lower-case street addresses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("NHS 943&nbsp;476&nbsp;5919", "943&nbsp;476&nbsp;5919", "nhs_number"),
        ("nhs no 943&#160;476&#160;5919", "943&#160;476&#160;5919", "nhs_number"),
        ("NHS 943\u00a0476\u202f5919", "943\u00a0476\u202f5919", "nhs_number"),
        ("DOB 03&ndash;04&ndash;2019", "03&ndash;04&ndash;2019", "date"),
        ("post code LS6&nbsp;2AB", "LS6&nbsp;2AB", "postcode"),
        ("tel 0161&#x2022;496&#x2022;0000", "0161&#x2022;496&#x2022;0000", "phone"),
        ("mail jo.bloggs&#64;example.com today", "jo.bloggs&#64;example.com", "email"),
        ("NHS 943, 476, 5919", "943, 476, 5919", "nhs_number"),
        ("his number is 943,476,5919", "943,476,5919", "nhs_number"),
        ("CHI 010, 123, 4562", "010, 123, 4562", "chi_number"),
        ("see www . bloggsfamily . co . uk for news", "www . bloggsfamily . co . uk", "url"),
        ("go to teamjoe dot co dot uk/news", "teamjoe dot co dot uk/news", "url"),
        ("fundraiser at teamjoe(dot)com", "teamjoe(dot)com", "url"),
        ("page: runforjo [dot] org", "runforjo [dot] org", "url"),
        ("email jbloggs77 at gmail", "jbloggs77 at gmail", "email"),
        ("write to jo.bloggs at hotmail dot com", "jo.bloggs at hotmail dot com", "email"),
        ("she is jbloggs @ outlook", "jbloggs @ outlook", "email"),
        ("postcode L S 6  2 A B", "L S 6  2 A B", "postcode"),
        ("send it to L S 6 2 A B please", "L S 6 2 A B", "postcode"),
        ("post code l.s.6 2.a.b", "l.s.6 2.a.b", "postcode"),
        ("they live at 14 beech grove, harrogate", "14 beech grove, harrogate", "address"),
        ("new address 7 mill lane.", "7 mill lane", "address"),
    ],
)
def test_round16_more_forms(text: str, value: str, kind: str) -> None:
    assert hard_covers(text, value), find_identifiers(text)
    assert any(f.kind == kind for f in hard(text)), find_identifiers(text)


def test_entity_spans_are_the_written_text() -> None:
    text = "NHS 943&nbsp;476&nbsp;5919 seen"
    (f,) = hard(text)
    assert text[f.start : f.end] == f.text == "943&nbsp;476&nbsp;5919"


@pytest.mark.parametrize(
    "text",
    [
        "Fish &amp; chips, 3&nbsp;mg twice daily",
        "Hb 120&nbsp;g/L, plt 345 &times; 10^9/L",
        "counts 120, 345, 6789 cells",
        "doses 100, 250, 5000 units",
        "see e.g. NICE guidance. Com- pliance was good",
        "It ended . Com on",
        "I emailed her at gmail and she replied",
        "look at me, said the child",
        "we met at outlook point",
        "A 1 2 B C is the order of the blocks",
        "2 close contacts were traced",
        "3 way tap, leeds supplied it",
        "gave 2 doses, drive home after",
        "took 10 mg road.",
        "The 3 stage lane.",
    ],
)
def test_round16_more_clean(text: str) -> None:
    assert not hard(text), find_identifiers(text)

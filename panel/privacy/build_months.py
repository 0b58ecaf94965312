"""Build ``panel/data/month_names.json``: month names in the UK's languages and its largest
immigrant languages, for the identifier guard's date rule (round 17, see ``docs/privacy.md``).

Run once, by hand, when Babel (CLDR) changes; the output is committed with its source (the guard
reads only the JSON, so Babel is not needed at run time, nor a dependency of the project)::

    python3 -m venv /tmp/babelvenv && /tmp/babelvenv/bin/pip install babel
    /tmp/babelvenv/bin/python panel/privacy/build_months.py   # a plain script: imports no panel

Source
------
The Unicode CLDR month names, as the `Babel <https://babel.pocoo.org/>`_ library ships them
(BSD licence; CLDR data under the Unicode licence), for every locale in ``LOCALES``: wide and
abbreviated widths, in the *format* and *stand-alone* contexts (so declined forms, such as the
Polish genitive "maja" or the Gaelic lenited "dhen Ghiblean", are there as well as the plain
ones).  Each name is lower-cased and also kept without its accents ("márta" -> "marta", Latin
script only), as
names are often typed; a trailing full stop of an abbreviation is dropped.

The output holds, per locale, the raw CLDR names, and the derived ``words`` (single words) and
``phrases`` (names of two or more words once a leading particle such as "dhen", "mis" or "an" is
dropped, e.g. Irish "deireadh fómhair") the guard reads, with the Babel and CLDR versions and
the build date.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "month_names.json"

#: The UK's own languages first (Welsh, Scottish Gaelic, Irish, Cornish, Manx), then the
#: languages of its largest groups born abroad (Latin script first, then other scripts).
LOCALES = (
    "cy gd ga kw gv "
    "pl ro lt lv pt es it fr de nl cs sk hu tr so sq hr sl et fi sv da nb ca gl af sw fil id ms "
    "ha yo "
    "bg uk ru el ar ur pa bn gu hi ta fa"
).split()
#: Words dropped from the front of a CLDR name: particles and "month" words ("dhen Ghiblean",
#: "mis Genver", "An Giblean").
LEADING = frozenset("dhen de di del mis am an bisha".split())
#: An abbreviation shorter than this is not kept (too many are English words or noise: "pro",
#: "led", "set"); full names of any length are.
MIN_ABBREVIATION = 4
_FOLD = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ı": "i"})


def _plain(word: str) -> str:
    if any(ord(ch) > 0x24F for ch in word):
        return word  # accents are folded in Latin script only (not Greek, Cyrillic, Indic ...)
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _forms(name: str) -> list[str]:
    """The lower-cased name's forms the guard reads (leading particles dropped, "t-" too)."""
    words = name.lower().rstrip(".").split()
    while len(words) > 1 and words[0] in LEADING:
        words = words[1:]
    if words and words[0].startswith("t-"):
        words[0] = words[0][2:]
    joined = " ".join(words)
    if not joined or any(ch.isdigit() for ch in joined):
        return []
    return sorted({joined, _plain(joined)})


def build() -> dict:
    import babel
    from babel.core import get_cldr_version
    from babel.dates import get_month_names

    locales: dict[str, dict[str, list[str]]] = {}
    words: set[str] = set()
    phrases: set[str] = set()
    for loc in LOCALES:
        raw: dict[str, list[str]] = {}
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                names = [get_month_names(width, context, loc)[i] for i in range(1, 13)]
                raw[f"{width}/{context}"] = names
                for name in names:
                    for form in _forms(name):
                        if width == "abbreviated" and len(form) < MIN_ABBREVIATION:
                            continue
                        (phrases if " " in form else words).add(form)
        locales[loc] = raw
    return {
        "about": (
            "Month names (CLDR) for the identifier guard's date rule (panel/privacy/scanner.py, "
            "round 17): 'words' and 'phrases' are lower-cased, with and without accents; "
            "'locales' holds the raw CLDR names per locale, width and context."
        ),
        "source": {
            "names": "Unicode CLDR month names via the Babel library (BSD; CLDR data: Unicode "
            "licence)",
            "babel": babel.__version__ if hasattr(babel, "__version__") else "",
            "babel_dist": importlib.metadata.version("babel"),
            "cldr": str(get_cldr_version()),
            "locales": " ".join(LOCALES),
            "built": _dt.date.today().isoformat(),
            "script": "panel/privacy/build_months.py",
        },
        "words": sorted(words),
        "phrases": sorted(phrases),
        "locales": locales,
    }


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(data['words'])} words, {len(data['phrases'])} phrases")


if __name__ == "__main__":
    main()

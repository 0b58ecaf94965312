"""Benchmark the identifier scanner on the labelled corpus.

Usage (from anywhere):
    python bench/privacy_corpus.py [--repeat N]
    python bench/privacy_corpus.py --corpus tests/privacy/names_corpus.jsonl [--show-missed]

Without ``--corpus``: per-kind recall (hard and soft) on ``tests/privacy/corpus.jsonl``, overall
recall, the snippet-level false-positive rate on clean snippets, the number of snippets, and the
time to scan a typical paragraph.

With ``--corpus PATH`` (issue 17's format, rows with ``"identifiers": [{"kind", "value"}]``):
names recall, structured recall, the false-positive rate on clean rows and recall per category
and kind, scored by :mod:`panel.privacy.corpus` (an identifier counts as caught only when hard
findings cover every word character of it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from panel.privacy import KINDS, find_identifiers  # noqa: E402
from panel.privacy import corpus as identifier_corpus  # noqa: E402

CORPUS = ROOT / "tests" / "privacy" / "corpus.jsonl"


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(rows: list[dict]) -> dict:
    """Count expected and matched findings per (kind, severity), and clean snippets flagged."""
    expected: Counter[tuple[str, str]] = Counter()
    matched: Counter[tuple[str, str]] = Counter()
    extra = 0
    clean = clean_flagged = 0
    for row in rows:
        got = Counter((f.kind, f.severity) for f in find_identifiers(row["text"]))
        want = Counter((e["kind"], e["severity"]) for e in row["expect"])
        if not want:
            clean += 1
            clean_flagged += bool(got)
            continue
        expected.update(want)
        for key, n in want.items():
            matched[key] += min(n, got[key])
        extra += sum(max(0, n - want[key]) for key, n in got.items())
    return {
        "expected": expected,
        "matched": matched,
        "extra": extra,
        "clean": clean,
        "clean_flagged": clean_flagged,
    }


def recall(result: dict, severity: str) -> tuple[int, int]:
    total = sum(n for (_, s), n in result["expected"].items() if s == severity)
    hit = sum(n for (_, s), n in result["matched"].items() if s == severity)
    return hit, total


def time_paragraphs(paragraphs: list[str], repeat: int) -> list[float]:
    """Seconds per scan, one sample per (paragraph, repetition)."""
    for p in paragraphs:  # warm up
        find_identifiers(p)
    samples = []
    for _ in range(repeat):
        for p in paragraphs:
            t0 = time.perf_counter()
            find_identifiers(p)
            samples.append(time.perf_counter() - t0)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="timing repetitions per paragraph")
    parser.add_argument("--corpus", type=Path, help="an identifier corpus in issue 17's format")
    parser.add_argument("--show-missed", action="store_true", help="print missed and flagged rows")
    parser.add_argument(
        "--without-staff-names",
        action="store_true",
        help="leave out person names written after a clinician's title (Dr, Prof, Nurse ...)",
    )
    args = parser.parse_args()
    if args.corpus:
        return report_identifier_corpus(args.corpus, args.show_missed, args.without_staff_names)

    rows = load_corpus()
    result = evaluate(rows)
    positive = len(rows) - result["clean"]

    print(f"Corpus: {CORPUS.relative_to(ROOT)}")
    print(f"Snippets: {len(rows)} ({positive} with identifiers, {result['clean']} clean)\n")
    print(f"{'kind':<16} {'severity':<8} {'expected':>8} {'found':>6} {'recall':>7}")
    print("-" * 49)
    for kind in KINDS:
        for severity in ("hard", "soft"):
            n = result["expected"][(kind, severity)]
            if n:
                hit = result["matched"][(kind, severity)]
                print(f"{kind:<16} {severity:<8} {n:>8} {hit:>6} {hit / n:>7.1%}")
    print("-" * 49)
    for severity in ("hard", "soft"):
        hit, total = recall(result, severity)
        print(
            f"{'overall':<16} {severity:<8} {total:>8} {hit:>6} {hit / total if total else 1:>7.1%}"
        )
    fp = result["clean_flagged"] / result["clean"] if result["clean"] else 0.0
    print(
        f"\nClean snippets with any finding: {result['clean_flagged']}/{result['clean']} = {fp:.1%} (false-positive rate)"
    )
    print(f"Unexpected extra findings in snippets with identifiers: {result['extra']}")

    paragraphs = [r["text"] for r in rows if not r["expect"] and 300 <= len(r["text"]) <= 700]
    samples = time_paragraphs(paragraphs, args.repeat)
    us = sorted(s * 1e6 for s in samples)
    p95 = us[int(0.95 * (len(us) - 1))]
    mean_len = statistics.mean(len(p) for p in paragraphs)
    print(
        f"\nTypical paragraph ({len(paragraphs)} clean paragraphs, mean {mean_len:.0f} chars, "
        f"{len(samples)} scans): mean {statistics.mean(us):.0f} us, median {statistics.median(us):.0f} us, "
        f"p95 {p95:.0f} us"
    )
    big = "\n".join(paragraphs) * (1_000_000 // (sum(len(p) + 1 for p in paragraphs)) + 1)
    big = big[:1_000_000]
    t0 = time.perf_counter()
    find_identifiers(big)
    print(f"1 MB of clinical text: {time.perf_counter() - t0:.2f} s")
    return 0


def report_identifier_corpus(path: Path, show_missed: bool, without_staff: bool = False) -> int:
    rows = identifier_corpus.load(path)
    if without_staff:
        before = sum(len(r["identifiers"]) for r in rows)
        rows = identifier_corpus.without_staff_names(rows)
        after = sum(len(r["identifiers"]) for r in rows)
        print(
            f"Without staff names: {before - after} person names after a clinician's title left out"
        )
    sc = identifier_corpus.score(rows)
    print(f"Corpus: {path}")
    print(f"Rows: {len(rows)} ({len(rows) - sc.clean} with identifiers, {sc.clean} clean)\n")
    print(f"Names recall:      {sc.names_caught}/{sc.names} = {sc.names_recall:.1%}")
    print(f"Structured recall: {sc.structured_caught}/{sc.structured} = {sc.structured_recall:.1%}")
    print(
        f"False positives:   {sc.clean_hard}/{sc.clean} clean rows with a hard finding = "
        f"{sc.false_positive_rate:.1%} (soft only: {sc.clean_soft_only})\n"
    )
    print(f"{'category':<28} {'found':>6} {'of':>4} {'recall':>7}")
    for cat in sorted(sc.per_category):
        n, hit = sc.per_category[cat], sc.per_category_caught[cat]
        print(f"{cat:<28} {hit:>6} {n:>4} {hit / n:>7.1%}")
    print(f"\n{'kind':<28} {'found':>6} {'of':>4} {'recall':>7}")
    for kind in sorted(sc.per_kind):
        n, hit = sc.per_kind[kind], sc.per_kind_caught[kind]
        print(f"{kind:<28} {hit:>6} {n:>4} {hit / n:>7.1%}")
    if show_missed:
        for cat, kind, text in sc.missed:
            print(f"MISSED {cat} {kind}: {text}")
        for text in sc.false_positives:
            print(f"FLAGGED: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A held-out check of the identifier scanner: 60 snippets written by someone other than the
scanner's author, after the scanner was written (tests/privacy/heldout.jsonl). In-sample figures
(the main corpus) flatter any scanner; these keep it honest."""

from __future__ import annotations

import json
from pathlib import Path

from panel.privacy import find_identifiers

HELDOUT = Path(__file__).with_name("heldout.jsonl")


def test_heldout_recall_and_false_positives():
    rows = [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()]
    positives = [r for r in rows if r["expect_kind"]]
    negatives = [r for r in rows if not r["expect_kind"]]
    assert len(positives) >= 30 and len(negatives) >= 30
    missed = [
        r["text"]
        for r in positives
        if not any(f.severity == "hard" for f in find_identifiers(r["text"]))
    ]
    flagged = [
        r["text"]
        for r in negatives
        if any(f.severity == "hard" for f in find_identifiers(r["text"]))
    ]
    recall = 1 - len(missed) / len(positives)
    print(f"held-out recall {recall:.1%}, false positives {len(flagged)}/{len(negatives)}")
    assert recall >= 0.95, missed
    assert len(flagged) <= 1, flagged

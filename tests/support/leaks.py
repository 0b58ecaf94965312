"""The planted-identifier leak check that uploads pass, for files that arrive any other way.

A series written by ``synth.make_ct_series(..., plant=True)`` carries a marker in every Table
E.1-1 attribute (top level, nested, private, overlay, curve, file meta, preamble). After
de-identification none of them, and none of the series' original UIDs, may appear anywhere in
the bytes Panel kept."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tests.support.synth import MARKER_PREFIX, SynthSeries


def forbidden(series: SynthSeries) -> set[str]:
    """Every value that must not survive: the markers and the original UIDs."""
    assert series.markers is not None, "the series was not planted"
    return series.markers.forbidden() | {
        *series.sop_uids,
        series.study_uid,
        series.series_uid,
        series.frame_of_reference_uid,
    }


def leaks(paths: Iterable[Path], series: SynthSeries) -> list[str]:
    """``name: value`` for each forbidden value found in the files (empty: no leak)."""
    values = sorted(forbidden(series))
    found = []
    for path in paths:
        data = path.read_bytes()
        if MARKER_PREFIX.encode() in data:
            found.append(f"{path.name}: {MARKER_PREFIX}...")
        found.extend(f"{path.name}: {v}" for v in values if v.encode() in data)
    return found


def leaks_in_text(texts: Iterable[str], series: SynthSeries) -> list[str]:
    """The forbidden values found in text (audit details, log lines, rows)."""
    values = forbidden(series) | {MARKER_PREFIX}
    return sorted({v for text in texts for v in values if v in text})

"""Fuzz targets: one function per target, taking bytes, raising AssertionError on a finding.

Used by the atheris runner (``python -m fuzz.run TARGET``, coverage-guided, for long runs) and
by the short run in the test suite (``tests/fuzz``). Each target states what must hold for
*any* input: the identifier scanner never crashes and reports spans inside the text; the DICOM
de-identifier refuses or de-identifies (never raises, never writes a planted identifier into a
Table E.1-1 attribute, leaves nothing behind when it refuses); the trial-rule validator answers
a list of messages for any JSON and accepted rules compile and evaluate; upload names never
escape into paths or keep an identifier.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

SECRET = b"fuzzing-secret-0123456789abcdef"
CASE = "NB-2026-0001"


# --------------------------------------------------------------------------- scanner
def scanner(data: bytes) -> None:
    from panel.privacy import find_identifiers

    text = data.decode("utf-8", "replace")
    for f in find_identifiers(text):
        assert 0 <= f.start < f.end <= len(text), (f.start, f.end, len(text))
        assert f.severity in ("hard", "soft"), f.severity
        assert isinstance(f.kind, str) and f.kind


# --------------------------------------------------------------------------- DICOM
@lru_cache(maxsize=1)
def dicom_seed() -> tuple[bytes, frozenset[bytes]]:
    """A small planted CT slice (every table attribute holds a marker) and its markers."""
    from tests.support import synth

    with tempfile.TemporaryDirectory() as tmp:
        series = synth.make_ct_series(Path(tmp), 1, 16, 16, plant=True, noise=False)
        data = series.paths[0].read_bytes()
        markers = frozenset(m.encode() for m in series.markers.strings if len(m) >= 6)
    return data, markers


def mutate(seed: bytes, data: bytes) -> bytes:
    """Apply the fuzzer's bytes to the seed as a list of (position, operation, bytes) edits."""
    out = bytearray(seed)
    i = 0
    while i + 3 <= len(data) and len(out) > 0:
        pos = int.from_bytes(data[i : i + 2], "little") % len(out)
        op = data[i + 2] % 4
        chunk = data[i + 3 : i + 3 + (1 + data[i + 2] % 8)]
        i += 3 + len(chunk)
        if op == 0:
            out[pos : pos + len(chunk)] = chunk
        elif op == 1:
            out[pos:pos] = chunk
        elif op == 2:
            del out[pos : pos + max(1, len(chunk))]
        else:
            del out[pos:]
    return bytes(out)


def dicom(data: bytes) -> None:
    import pydicom

    from panel.imaging import deid

    seed, markers = dicom_seed()
    mutated = mutate(seed, data)
    cfg = deid.DeidConfig.for_case(SECRET, CASE)
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out" / "x.dcm"
        result = deid.deidentify_file(io.BytesIO(mutated), dst, cfg)  # must never raise
        assert result.status in ("stored", "held_back", "refused"), result.status
        assert not any(m in result.reason.encode() for m in markers)
        if result.status == "refused":
            assert not dst.exists()
            leftovers = (
                [p for p in (Path(tmp) / "out").glob("*")] if (Path(tmp) / "out").exists() else []
            )
            assert not leftovers, leftovers
            return
        out = dst.read_bytes()
        assert out[:128] == b"\x00" * 128
        ds = pydicom.dcmread(io.BytesIO(out), force=True)
        for elem in ds.iterall():
            if elem.tag in deid.TABLE_TAGS and elem.VR not in ("SQ",):
                value = (
                    elem.value
                    if isinstance(elem.value, bytes)
                    else str(elem.value).encode("utf-8", "replace")
                )
                assert not any(m in value for m in markers), f"marker kept in {elem.tag}"


# --------------------------------------------------------------------------- trial rules
@lru_cache(maxsize=1)
def _centres() -> tuple[list[str], object]:
    from panel.trials import engine

    centres = engine.load_centres()
    return [c["code"] for c in centres], centres


@lru_cache(maxsize=1)
def _example_case() -> dict:
    from importlib import resources

    return json.loads(
        resources.files("panel.data.demo_cases").joinpath("case-example-alk.json").read_text()
    )


def trial_rules(data: bytes) -> None:
    from panel.trials import engine

    try:
        trial = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        # Not JSON: build a rule from the bytes instead, so the validator sees structure.
        fields = [
            "biology.mycn",
            "patient.age_now_months",
            "status.category",
            "disease.sites",
            "nope",
        ]
        ops = ["eq", "in", "lt", "gte", "contains", "exists", "bogus"]
        trial = {
            "id": "FUZZ",
            "title": "Fuzz",
            "status": "open",
            "sites": ["NEWCASTLE"],
            "criteria": [
                {
                    "id": f"c{i}",
                    "kind": ["inclusion", "exclusion", "x"][b % 3],
                    "text": "t",
                    "condition": {
                        "field": fields[b % len(fields)],
                        "op": ops[b % len(ops)],
                        "value": [b, str(b)][b % 2],
                    },
                }
                for i, b in enumerate(data[:6])
            ],
        }
    codes, centres = _centres()
    errors = (
        engine.validate_trial(trial, codes)
        if isinstance(trial, dict)
        else engine.validate_trial({}, codes)
    )
    assert isinstance(errors, list) and all(isinstance(e, str) for e in errors)
    if not errors:
        compiled = engine.compile_trial(trial, codes)
        match = engine.evaluate_trial(_example_case(), compiled, centres)
        assert match is not None


# --------------------------------------------------------------------------- upload names
def upload_names(data: bytes) -> None:
    from panel.imaging.uploads import safe_display_name
    from panel.privacy import scan_filename

    name = data.decode("utf-8", "replace")
    safe, reason = safe_display_name(name, 3)
    if safe is None:
        assert reason
        return
    assert safe and len(safe) <= 100
    assert "/" not in safe and "\\" not in safe and os.sep not in safe
    assert safe not in (".", "..") and not safe.startswith(".")
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in safe), safe
    assert not [f for f in scan_filename(safe) if f.severity == "hard"], safe


TARGETS = {
    "scanner": scanner,
    "dicom": dicom,
    "trial_rules": trial_rules,
    "upload_names": upload_names,
}

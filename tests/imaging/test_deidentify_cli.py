"""The ``deidentify`` command: a folder tree as one case, one line per refused or held-back file."""

from __future__ import annotations

from pathlib import Path

import pydicom

from panel.imaging import synth


def test_deidentify_tree_cli(app, tmp_path):
    src = tmp_path / "in"
    (src / "series").mkdir(parents=True)
    synth.make_ct_series(src / "series", 3, rows=32, cols=32)
    synth.make_secondary_capture(src / "sc.dcm")
    (src / "notes.pdf").write_bytes(b"%PDF-1.4\n%fake\n")
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(dst), "--case", "NB-2026-0042"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("refused: notes.pdf:") for line in lines)
    assert any(line.startswith("held back for review: sc.dcm:") for line in lines)
    outputs = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert len([o for o in outputs if o.startswith("series/")]) == 3
    assert "notes.pdf" not in outputs
    ds = pydicom.dcmread(next((dst / "series").iterdir()))
    assert str(ds.PatientID) == "NB-2026-0042" and ds.PatientIdentityRemoved == "YES"
    assert not list(Path(dst).rglob("*.tmp"))


def test_deidentify_single_file_cli(app, tmp_path):
    synth.make_ct_series(tmp_path / "in", 1, rows=16, cols=16)
    src = next((tmp_path / "in").iterdir())
    out = tmp_path / "one.dcm"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(out)])
    assert result.exit_code == 0 and out.exists()
    assert result.stdout == ""


def test_identifying_file_names_are_refused_and_not_repeated(app, tmp_path):
    src = tmp_path / "in"
    series = synth.make_ct_series(src / "ok", 1, rows=16, cols=16)
    first = next((src / "ok").iterdir())
    named = src / "NHS_9434765919_CT.dcm"
    named.write_bytes(first.read_bytes())
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(dst)])
    assert result.exit_code == 0
    assert "9434765919" not in result.stdout
    assert "refused: NHS_**********_CT.dcm: the file name looks like it contains a patient identifier" in result.stdout
    assert not (dst / "NHS_9434765919_CT.dcm").exists()
    assert series is not None

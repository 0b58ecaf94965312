"""The ``deidentify`` command: a folder tree as one case, one line per refused or held-back file."""

from __future__ import annotations

from pathlib import Path

import pydicom

from tests.support import synth


def test_deidentify_tree_cli(app, tmp_path, pixel_text_unsure):
    src = tmp_path / "in"
    (src / "series").mkdir(parents=True)
    synth.make_ct_series(src / "series", 3, rows=32, cols=32)
    synth.make_secondary_capture(src / "sc.dcm")
    (src / "notes.pdf").write_bytes(b"%PDF-1.4\n%fake\n")
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(
        args=["deidentify", str(src), str(dst), "--case", "NB-2026-0042"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("refused: notes.pdf:") for line in lines)
    assert any(line.startswith("held back for review: sc.dcm:") for line in lines)
    outputs = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert len([o for o in outputs if o.startswith("series/")]) == 3
    assert "notes.pdf" not in outputs
    # held-back files are never under DST (whoever shares DST would share them)
    assert "sc.dcm" not in outputs
    held = tmp_path / "out.held"
    assert [p.name for p in held.iterdir()] == ["sc.dcm"]
    assert f"1 held back (in {held})" in result.stderr
    ds = pydicom.dcmread(next((dst / "series").iterdir()))
    assert str(ds.PatientID) == "NB-2026-0042" and ds.PatientIdentityRemoved == "YES"
    assert not list(Path(dst).rglob("*.tmp"))


def test_deidentify_single_file_cli(app, tmp_path):
    synth.make_ct_series(tmp_path / "in", 1, rows=16, cols=16)
    src = next((tmp_path / "in").iterdir())
    out = tmp_path / "one.dcm"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(out)])
    assert result.exit_code == 0 and out.exists()
    assert result.stdout == f"stored: {src.name}\n"  # a CT slice: not read, stored


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
    assert (
        "refused: NHS_**********_CT.dcm: the file name looks like it contains a patient identifier"
        in result.stdout
    )
    assert not (dst / "NHS_9434765919_CT.dcm").exists()
    assert series is not None


def test_held_back_files_go_to_the_held_folder(app, tmp_path, pixel_text_unsure):
    src = tmp_path / "in"
    synth.make_ct_series(src / "ct", 1, rows=16, cols=16)
    synth.make_ultrasound(src / "us" / "one.dcm")
    dst, held = tmp_path / "share", tmp_path / "review"
    result = app.test_cli_runner().invoke(
        args=["deidentify", str(src), str(dst), "--held", str(held)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())[
        0
    ].startswith("ct/")
    assert not (dst / "us").exists() and (held / "us" / "one.dcm").exists()
    assert "held back for review: us/one.dcm:" in result.stdout
    assert f"(in {held})" in result.stderr
    # a single file goes to DST.held beside its destination folder too
    out = tmp_path / "single"
    out.mkdir()
    one = app.test_cli_runner().invoke(args=["deidentify", str(src / "us" / "one.dcm"), str(out)])
    assert one.exit_code == 0 and not list(out.iterdir())
    assert (tmp_path / "single.held" / "one.dcm").exists()


def test_held_folder_inside_dst_is_refused(app, tmp_path):
    synth.make_ct_series(tmp_path / "in", 1, rows=16, cols=16)
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(
        args=["deidentify", str(tmp_path / "in"), str(dst), "--held", str(dst / "held")]
    )
    assert result.exit_code == 1
    assert "--held must be a folder outside DST" in result.output
    assert "Traceback" not in result.output and not dst.exists()


def test_identifiers_in_kept_text_are_emptied_as_on_upload(app, tmp_path):
    """The command shares deidentify_file with uploads: kept text naming the patient is emptied."""
    src = tmp_path / "in"
    path = synth.make_ct_series(src, 1, rows=16, cols=16).paths[0]
    ds = pydicom.dcmread(path)
    ds.PatientName = "SMITH^OLIVER^^"
    ds.Manufacturer = "Oliver Smith"
    ds.SoftwareVersions = "NHS 943 476 5919"
    ds.ManufacturerModelName = "Biograph mCT"
    ds.save_as(path)
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(dst)])
    assert result.exit_code == 0, result.output
    assert f"stored with text emptied: {path.name}:" in result.stdout
    assert "patient name" in result.stdout and "NHS number" in result.stdout
    assert "Oliver" not in result.output and "943" not in result.output
    out = pydicom.dcmread(dst / path.name)
    assert not out.Manufacturer and not out.SoftwareVersions
    assert out.ManufacturerModelName == "Biograph mCT"
    data = (dst / path.name).read_bytes().upper()
    assert b"OLIVER" not in data and b"SMITH" not in data and b"943 476" not in data

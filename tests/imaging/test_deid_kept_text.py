"""Identifiers in text the de-identification table keeps (issue 12).

Table E.1-1 keeps Manufacturer, ManufacturerModelName, SoftwareVersions and every attribute it
does not list.  The patient's name in any case or order, or any identifier the free-text
scanner finds (an NHS number, a parent's name), must not survive there at any depth: the
attribute is emptied, and the verification pass refuses a file that still has one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from panel.imaging import deid
from panel.imaging.deid import DeidConfig, deidentify_file, deidentify_tree, verify_file
from tests.support import synth

SECRET = b"test-secret-0123456789abcdef-panel"
CASE = "NB-2026-0042"
NAME = "SMITH^OLIVER"

#: Ordinary kept values that must survive, whatever the patient is called.
ORDINARY = {
    "Manufacturer": "SIEMENS",
    "ManufacturerModelName": "Biograph mCT",
    "SoftwareVersions": "syngo MI.PET/CT 2012A",
    "BodyPartExamined": "CHEST",
    "ConvolutionKernel": "B30f",
    "PatientPosition": "HFS",
}
ORDINARY_OTHERS = [
    ("Manufacturer", "GE MEDICAL SYSTEMS"),
    ("Manufacturer", "Philips Medical Systems"),
    ("Manufacturer", "TOSHIBA_MEC"),
    ("ManufacturerModelName", "Discovery MI"),
    ("ManufacturerModelName", "Aquilion ONE"),
    ("ManufacturerModelName", "Ingenuity TF PET/CT"),
    ("SoftwareVersions", "VE11C"),
    ("SoftwareVersions", "4.5.5"),
    ("ConvolutionKernel", "FC08"),
    ("BodyPartExamined", "WHOLEBODY"),
]


def config() -> DeidConfig:
    return DeidConfig.for_case(SECRET, CASE)


def one_ct(folder: Path, patient_name: str = NAME, **attrs: object) -> Path:
    """One small synthetic CT slice with the given patient name and kept attributes."""
    path = synth.make_ct_series(folder, 1, 16, 16).paths[0]
    ds = pydicom.dcmread(path)
    ds.PatientName = patient_name
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path


def run(tmp_path: Path, **kwargs: object):
    src = one_ct(tmp_path / "src", **kwargs)  # type: ignore[arg-type]
    dst = tmp_path / "out.dcm"
    return deidentify_file(src, dst, config()), dst


# --------------------------------------------------------------------------- the patient's name
@pytest.mark.parametrize(
    ("patient_name", "keyword", "kept"),
    [
        (NAME, "Manufacturer", "Oliver Smith"),  # other case and order
        (NAME, "ManufacturerModelName", "scanned for OLIVER"),  # one part on its own
        (NAME, "SoftwareVersions", "smith, oliver"),
        ("SMITH^OLIVER^^", "SoftwareVersions", "SMITH^OLIVER"),  # empty trailing components
        ("SMITH^OLIVER^^^", "Manufacturer", "SMITH OLIVER"),
        ("O'BRIEN^ZOË", "Manufacturer", "Zoe OBrien"),  # accents, apostrophe
        ("SMITH-JONES^AVA", "Manufacturer", "Jones lab"),  # part of a double-barrelled name
    ],
)
def test_patient_name_in_kept_text_is_emptied(tmp_path, patient_name, keyword, kept):
    result, dst = run(tmp_path, patient_name=patient_name, **{keyword: kept})
    assert result.status == "stored", result.reason
    ds = pydicom.dcmread(dst)
    assert keyword in ds and not str(ds[keyword].value or "")
    assert keyword in result.blanked and keyword in result.reason
    assert "patient name" in result.reason
    for part in ("SMITH", "OLIVER", "BRIEN", "JONES", "ZO"):
        assert part.lower() not in result.reason.lower()
        assert part.encode() not in dst.read_bytes().upper()


def test_name_parts_are_whole_words_of_three_letters_or_more(tmp_path):
    """ "SMITH" does not empty "SMITHFIELD"; a two-letter part ("LI") is not looked for."""
    result, dst = run(
        tmp_path,
        patient_name="SMITH^LI",
        Manufacturer="SMITHFIELD IMAGING",
        ManufacturerModelName="LI 64",
    )
    assert result.status == "stored" and result.blanked == ()
    ds = pydicom.dcmread(dst)
    assert ds.Manufacturer == "SMITHFIELD IMAGING" and ds.ManufacturerModelName == "LI 64"


# --------------------------------------------------------------------------- other identifiers
def test_nhs_number_in_kept_text_is_emptied(tmp_path):
    result, dst = run(tmp_path, SoftwareVersions="VE11C 943 476 5919")
    assert result.status == "stored" and result.blanked == ("SoftwareVersions",)
    assert "NHS number" in result.reason and "943" not in result.reason
    assert pydicom.dcmread(dst).SoftwareVersions in ("", None)
    assert b"943 476 5919" not in dst.read_bytes()


def test_identifiers_in_kept_sequences_are_emptied_at_any_depth(tmp_path):
    """A parent's name two sequences deep, and the patient's name one deep."""
    inner = Dataset()
    inner.CodeValue = "C-B1031"
    inner.CodingSchemeDesignator = "SRT"
    inner.CodeMeaning = "Mother Sarah Jones"  # a parent's name (hard finding of the scanner)
    item = Dataset()
    item.Radiopharmaceutical = "MIBG for Oliver"
    item.RadionuclideCodeSequence = Sequence([inner])
    src = one_ct(tmp_path / "src", RadiopharmaceuticalInformationSequence=Sequence([item]))
    dst = tmp_path / "out.dcm"
    result = deidentify_file(src, dst, config())
    assert result.status == "stored", result.reason
    assert set(result.blanked) == {"Radiopharmaceutical", "CodeMeaning"}
    out = pydicom.dcmread(dst).RadiopharmaceuticalInformationSequence[0]
    assert not out.Radiopharmaceutical and not out.RadionuclideCodeSequence[0].CodeMeaning
    assert out.RadionuclideCodeSequence[0].CodeValue == "C-B1031"  # the rest is kept
    assert b"Sarah" not in dst.read_bytes() and b"Oliver" not in dst.read_bytes()


def test_patient_id_copied_into_kept_text_is_emptied(tmp_path):
    src = one_ct(tmp_path / "src")
    ds = pydicom.dcmread(src)
    ds.Manufacturer = f"VENDOR for {ds.PatientID}"
    ds.save_as(src)
    result = deidentify_file(src, tmp_path / "out.dcm", config())
    assert result.status == "stored" and result.blanked == ("Manufacturer",)
    assert "patient identifier" in result.reason


# --------------------------------------------------------------------------- no false positives
def test_ordinary_kept_values_survive(tmp_path):
    result, dst = run(tmp_path, **ORDINARY)
    assert result.status == "stored" and result.blanked == () and result.reason == "de-identified"
    ds = pydicom.dcmread(dst)
    for keyword, value in ORDINARY.items():
        assert str(ds[keyword].value) == value
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]


@pytest.mark.parametrize(("keyword", "value"), ORDINARY_OTHERS)
def test_other_ordinary_kept_values_survive(tmp_path, keyword, value):
    result, dst = run(tmp_path, **{keyword: value})
    assert result.blanked == ()
    assert str(pydicom.dcmread(dst)[keyword].value) == value


# --------------------------------------------------------------------------- verification
def test_verification_applies_the_same_rule(tmp_path, monkeypatch):
    """With the emptying switched off, the file is refused, never stored with a hit."""
    monkeypatch.setattr(deid, "_blank_kept_text", lambda ctx, names, identifiers: [])
    for kept in ("Oliver Smith", "943 476 5919"):
        result, dst = run(tmp_path / kept.replace(" ", ""), Manufacturer=kept)
        assert result.status == "refused" and not dst.exists()
        assert "verification failed" in result.reason and "Manufacturer" in result.reason
        assert "Oliver" not in result.reason and "943" not in result.reason


def test_verify_file_reports_names_in_any_form(tmp_path):
    src = one_ct(tmp_path, Manufacturer="Oliver Smith", SoftwareVersions="NHS 943 476 5919")
    problems = verify_file(src, (), (), (), patient_names=["SMITH^OLIVER^^"])
    assert "Manufacturer: holds an identifier (patient name, name)" in problems
    assert "SoftwareVersions: holds an identifier (NHS number)" in problems
    assert not any("Oliver" in p or "943" in p for p in problems)


def test_no_identifier_in_logs(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        result, _ = run(tmp_path, Manufacturer="Oliver Smith", SoftwareVersions="943 476 5919")
    assert result.status == "stored"
    assert "Manufacturer (patient name" in caplog.text
    assert "Oliver" not in caplog.text and "943" not in caplog.text


def test_tree_puts_held_back_files_in_their_own_folder(tmp_path, pixel_text_unsure):
    src = tmp_path / "in"
    synth.make_ct_series(src / "ct", 2, rows=16, cols=16)
    synth.make_secondary_capture(src / "sc.dcm")
    results = dict(deidentify_tree(src, tmp_path / "out", config(), held_dir=tmp_path / "held"))
    assert results["sc.dcm"].status == "held_back"
    assert (tmp_path / "held" / "sc.dcm").exists() and not (tmp_path / "out" / "sc.dcm").exists()
    assert len(list((tmp_path / "out" / "ct").iterdir())) == 2
    assert not list((tmp_path / "held").rglob(".deid-*"))

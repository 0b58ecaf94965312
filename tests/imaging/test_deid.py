"""Tests for panel.imaging.deid (DICOM de-identification, PS3.15 E.1-1 + modified dates).

Identifying markers are planted by tests.support.synth into every Table E.1-1 attribute
with a plantable VR (top level, depth 1 and depth 2 of kept sequences, and inside removed
sequences), private blocks (including a private sequence and a block after the pixel
data), an overlay, a curve, the file meta and an executable preamble.  The outputs are
checked attribute by attribute and as raw bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.imaging import deid
from panel.imaging.deid import (
    Action,
    DeidConfig,
    DeidResult,
    date_shift_for_case,
    deidentify_file,
    deidentify_tree,
    verify_file,
)
from tests.support import synth

SECRET = b"test-secret-0123456789abcdef-panel"
CASE = "PNL-2024-0042"
N_SLICES = 3


# ---------------------------------------------------------------------------
# helpers and fixtures
# ---------------------------------------------------------------------------


def config(case: str = CASE, **kwargs) -> DeidConfig:
    return DeidConfig.for_case(SECRET, case, **kwargs)


def assert_no_leftovers(directory: Path) -> None:
    """No temporary files anywhere under ``directory``."""
    if not directory.exists():
        return
    leftovers = [
        p for p in directory.rglob("*") if p.name.startswith(".deid-") or p.suffix == ".tmp"
    ]
    assert leftovers == []


def assert_refused(result: DeidResult, dst: Path, *words: str) -> None:
    assert result.status == "refused", result
    assert not dst.exists()
    assert_no_leftovers(dst.parent)
    assert "ZQX" not in result.reason
    for word in words:
        assert word in result.reason.lower(), result.reason


def pixel_bytes(path: Path) -> bytes:
    return pydicom.dcmread(path)._dict[0x7FE00010].value


def all_elements(ds: pydicom.Dataset):
    """Every element at every depth (decoding sequences)."""
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from all_elements(item)


def shifted(text: str, days: int) -> str:
    d = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    return f"{d:%Y%m%d}"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A planted 3-slice series and its de-identified outputs."""
    root = tmp_path_factory.mktemp("planted")
    series = synth.make_ct_series(root / "src", N_SLICES, 64, 64, plant=True)
    cfg = config()
    results = [deidentify_file(p, root / "out" / p.name, cfg) for p in series.paths]
    outputs = [root / "out" / p.name for p in series.paths]
    return series, results, outputs, cfg


# ---------------------------------------------------------------------------
# table, configuration, keyed values
# ---------------------------------------------------------------------------


def test_profile_table_loaded_from_package_data():
    assert len(deid.PROFILE_ROWS) == 621
    assert len(deid.TABLE_TAGS) == 617  # four pattern rows (50xx, 60xx, private) excluded
    assert "shared" not in str(Path(deid.__file__).parent.parent / "data")


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("StudyDate", Action.SHIFT),
        ("AcquisitionDateTime", Action.SHIFT),
        ("StudyTime", Action.KEEP_TIME),
        ("PatientName", Action.EMPTY),
        ("PatientBirthDate", Action.EMPTY),
        ("PatientAge", Action.REMOVE),
        ("AccessionNumber", Action.EMPTY),
        ("StudyDescription", Action.REMOVE),
        ("InstitutionName", Action.DUMMY),
        ("ReferencedImageSequence", Action.RECURSE),
        ("SourceImageSequence", Action.RECURSE),
        ("ReferencedStudySequence", Action.EMPTY),
        ("RequestAttributesSequence", Action.REMOVE),
        ("SOPInstanceUID", Action.UID),
        ("ReferencedSOPInstanceUID", Action.UID),
        ("FrameOfReferenceUID", Action.UID),
        ("TimezoneOffsetFromUTC", Action.REMOVE),
        ("SOPClassUID", Action.KEEP),
        ("Modality", Action.KEEP),
        ("PixelSpacing", Action.KEEP),
    ],
)
def test_actions_resolved_from_table(keyword, action):
    tag = pydicom.datadict.tag_for_keyword(keyword)
    assert deid._RULES_RETAIN_TIMES[tag] is action


def test_times_follow_basic_profile_when_not_retained():
    tag = pydicom.datadict.tag_for_keyword("StudyTime")
    assert deid._RULES_EMPTY_TIMES[tag] is Action.EMPTY


def test_date_shift_is_keyed_deterministic_and_in_range():
    shifts = {date_shift_for_case(SECRET, f"PNL-{i}") for i in range(200)}
    assert all(-3650 <= s <= -365 for s in shifts)
    assert len(shifts) > 150
    assert date_shift_for_case(SECRET, CASE) == date_shift_for_case(SECRET, CASE)
    assert date_shift_for_case(SECRET, CASE) != date_shift_for_case(
        b"another-secret-0123456789", CASE
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": b"short", "case_reference": CASE, "date_shift_days": -400},
        {"secret": SECRET, "case_reference": "Jane Doe", "date_shift_days": -400},
        {"secret": SECRET, "case_reference": "", "date_shift_days": -400},
        {"secret": SECRET, "case_reference": CASE, "date_shift_days": 0},
    ],
)
def test_config_rejects_unsafe_values(kwargs):
    with pytest.raises(ValueError):
        DeidConfig(**kwargs)


# ---------------------------------------------------------------------------
# planted series: nothing identifying survives
# ---------------------------------------------------------------------------


def test_planted_series_is_stored(planted):
    _series, results, outputs, _cfg = planted
    assert [r.status for r in results] == ["stored"] * N_SLICES
    assert all(p.exists() for p in outputs)
    assert_no_leftovers(outputs[0].parent)


def test_plant_covers_every_plantable_table_attribute(planted):
    series, *_ = planted
    markers = series.markers
    # every table row with a dictionary VR we can plant, minus the carriers/core UIDs
    assert len(markers.planted_tags) > 560
    assert len(markers.strings) > 400 and len(markers.dates) > 100 and len(markers.uids) > 100


def test_no_planted_marker_survives_anywhere_in_the_bytes(planted):
    series, _results, outputs, _cfg = planted
    forbidden = series.markers.forbidden()
    for out in outputs:
        data = out.read_bytes()
        assert b"ZQX" not in data
        leaked = sorted(m for m in forbidden if m.encode() in data)
        assert leaked == [], f"{out.name}: {leaked[:10]}"
        for original in (
            *series.sop_uids,
            series.study_uid,
            series.series_uid,
            series.frame_of_reference_uid,
        ):
            assert original.encode() not in data


def test_planted_table_attributes_hold_no_original_value(planted):
    series, _results, outputs, _cfg = planted
    markers = series.markers
    ds = pydicom.dcmread(outputs[0])
    forbidden = markers.forbidden()
    for tag in markers.planted_tags:
        if tag not in ds:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            continue
        text = str(elem.value)
        assert not any(m in text for m in forbidden), pydicom.datadict.keyword_for_tag(tag)
        if tag in markers.value_tags:
            assert elem.value in (None, "", 0, "000D"), pydicom.datadict.keyword_for_tag(tag)


def test_private_overlay_curve_and_padding_removed_at_every_depth(planted):
    _series, _results, outputs, _cfg = planted
    ds = pydicom.dcmread(outputs[0])
    groups = {elem.tag.group for elem in all_elements(ds)}
    assert not any(g & 1 for g in groups)
    assert not any(0x5000 <= g <= 0x50FF or 0x6000 <= g <= 0x60FF for g in groups)
    assert 0xFFFCFFFC not in ds
    assert 0x00880200 not in ds  # icon image sequence (X)


def test_preamble_zeroed_and_file_meta_rebuilt(planted):
    _series, _results, outputs, _cfg = planted
    data = outputs[0].read_bytes()
    assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM"
    ds = pydicom.dcmread(outputs[0])
    meta = ds.file_meta
    assert set(meta.keys()) <= {
        0x00020000,
        0x00020001,
        0x00020002,
        0x00020003,
        0x00020010,
        0x00020012,
        0x00020013,
    }
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == ds.SOPClassUID == synth.CT_IMAGE_STORAGE
    assert meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert meta.ImplementationClassUID == deid._IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == "PANEL_DEID_1"


@pytest.mark.parametrize("ts", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", synth.JPEG2000_TS])
@pytest.mark.parametrize("sop", ["2.25.1", "2.25." + "3" * 39])
def test_file_meta_group_length_matches_pydicom(ts, sop):
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    ours, reference = DicomBytesIO(), DicomBytesIO()
    write_file_meta_info(
        ours, deid._build_file_meta(synth.CT_IMAGE_STORAGE, sop, ts), enforce_standard=False
    )
    meta = deid._build_file_meta(synth.CT_IMAGE_STORAGE, sop, ts)
    del meta.FileMetaInformationGroupLength
    write_file_meta_info(reference, meta, enforce_standard=True)
    assert ours.getvalue() == reference.getvalue()


def test_identity_replaced_and_deidentification_recorded(planted):
    _series, _results, outputs, cfg = planted
    ds = pydicom.dcmread(outputs[0])
    assert str(ds.PatientName) == cfg.case_reference
    assert ds.PatientID == cfg.case_reference
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert len(ds.DeidentificationMethod) >= 1
    codes = {(i.CodeValue, i.CodingSchemeDesignator) for i in ds.DeidentificationMethodCodeSequence}
    assert codes == {("113100", "DCM"), ("113107", "DCM")}
    assert ds.PatientBirthDate == ""
    assert "PatientAge" not in ds and "StudyDescription" not in ds and "SeriesDescription" not in ds


def test_image_attributes_and_pixels_untouched(planted):
    series, results, outputs, _cfg = planted
    for src, out, result in zip(series.paths, outputs, results, strict=True):
        assert pixel_bytes(src) == pixel_bytes(out)
        a, b = pydicom.dcmread(src), pydicom.dcmread(out)
        for keyword in (
            "Modality",
            "Rows",
            "Columns",
            "PixelSpacing",
            "SliceThickness",
            "ImagePositionPatient",
            "ImageOrientationPatient",
            "WindowCenter",
            "WindowWidth",
            "PhotometricInterpretation",
            "RescaleIntercept",
            "RescaleSlope",
            "BitsAllocated",
            "BitsStored",
            "BodyPartExamined",
        ):
            assert a.get(keyword) == b.get(keyword), keyword
        assert result.modality == "CT" and result.rows == 64 and result.columns == 64
        assert result.body_part == "CHEST"
        assert result.image_position == tuple(float(v) for v in a.ImagePositionPatient)
        assert result.slice_location == float(a.SliceLocation)
        assert result.instance_number == int(a.InstanceNumber)
        assert result.number_of_frames == 1
        assert result.transfer_syntax == pydicom.uid.ExplicitVRLittleEndian
        data = out.read_bytes()
        assert result.bytes_written == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# UIDs and dates
# ---------------------------------------------------------------------------


def test_uids_consistent_across_series_and_references_remapped(planted):
    _series, results, outputs, _cfg = planted
    dss = [pydicom.dcmread(p) for p in outputs]
    assert len({ds.StudyInstanceUID for ds in dss}) == 1
    assert len({ds.SeriesInstanceUID for ds in dss}) == 1
    assert len({ds.FrameOfReferenceUID for ds in dss}) == 1
    assert len({ds.SOPInstanceUID for ds in dss}) == N_SLICES
    for ds, result in zip(dss, results, strict=True):
        for uid in (
            ds.StudyInstanceUID,
            ds.SeriesInstanceUID,
            ds.SOPInstanceUID,
            ds.FrameOfReferenceUID,
        ):
            assert uid.startswith("2.25.") and len(uid) <= 64
        assert ds.SOPClassUID == synth.CT_IMAGE_STORAGE
        assert result.sop_instance_uid == ds.SOPInstanceUID
        assert result.study_uid == ds.StudyInstanceUID
        assert result.series_uid == ds.SeriesInstanceUID
        assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == ds.SeriesInstanceUID
        ref = ds.ReferencedImageSequence[0]
        assert ref.ReferencedSOPClassUID == synth.CT_IMAGE_STORAGE
        # depth 2: Source Image Sequence in the item references slice 0
        assert ref.SourceImageSequence[0].ReferencedSOPInstanceUID == dss[0].SOPInstanceUID
    # slice i references slice i-1 (slice 0 references slice 1)
    assert dss[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == dss[1].SOPInstanceUID
    for i in range(1, N_SLICES):
        assert (
            dss[i].ReferencedImageSequence[0].ReferencedSOPInstanceUID == dss[i - 1].SOPInstanceUID
        )


def test_uids_keyed_by_case_and_deterministic(planted, tmp_path):
    series, results, _outputs, _cfg = planted
    again = deidentify_file(series.paths[0], tmp_path / "again.dcm", config())
    other = deidentify_file(series.paths[0], tmp_path / "other.dcm", config("PNL-2024-0043"))
    assert again.sop_instance_uid == results[0].sop_instance_uid
    assert again.study_uid == results[0].study_uid
    assert other.status == "stored"
    assert other.sop_instance_uid != results[0].sop_instance_uid
    assert other.study_uid != results[0].study_uid


def test_dates_shifted_by_case_offset_preserving_intervals(planted):
    series, _results, outputs, cfg = planted
    markers = series.markers
    ds = pydicom.dcmread(outputs[0])
    checked = 0
    for tag, planted_date in markers.dates_by_tag.items():
        if tag in ds and ds[tag].value:
            assert ds[tag].value == shifted(planted_date, cfg.date_shift_days), hex(tag)
            checked += 1
    for tag, planted_dt in markers.datetimes_by_tag.items():
        if tag in ds and ds[tag].value:
            value = str(ds[tag].value)
            assert value[:8] == shifted(planted_dt[:8], cfg.date_shift_days), hex(tag)
            assert value[8:] == planted_dt[8:]  # time of day kept
            checked += 1
    assert checked > 100
    # intervals between any two shifted dates equal the original intervals
    a = pydicom.datadict.tag_for_keyword("StudyDate")
    b = pydicom.datadict.tag_for_keyword("AcquisitionDate")
    d = lambda s: date(int(s[:4]), int(s[4:6]), int(s[6:8]))  # noqa: E731
    assert d(ds[b].value) - d(ds[a].value) == d(markers.dates_by_tag[b]) - d(
        markers.dates_by_tag[a]
    )
    # nested dates are shifted with the same offset
    nested = ds.ReferencedSeriesSequence[0]
    assert nested.StudyDate == shifted("20160402", cfg.date_shift_days)


def test_times_retained_by_the_modified_dates_option(planted):
    series, _results, outputs, _cfg = planted
    ds = pydicom.dcmread(outputs[0])
    kept = {tag: t for tag, t in series.markers.times.items() if tag in deid.RETAINED_TIME_TAGS}
    assert len(kept) > 40
    for tag, planted_time in kept.items():
        assert ds[tag].value == planted_time


def test_times_removed_when_not_retained(tmp_path):
    series = synth.make_ct_series(tmp_path / "src", 1, 32, 32, plant=True)
    out = tmp_path / "out.dcm"
    result = deidentify_file(series.paths[0], out, config(retain_times=False))
    assert result.status == "stored"
    ds = pydicom.dcmread(out)
    for tag, planted_time in series.markers.times.items():
        if tag in ds:
            assert ds[tag].value != planted_time


def test_implicit_vr_series(tmp_path):
    series = synth.make_ct_series(
        tmp_path / "src", 2, 32, 32, plant=True, transfer_syntax=pydicom.uid.ImplicitVRLittleEndian
    )
    for p in series.paths:
        out = tmp_path / "out" / p.name
        result = deidentify_file(p, out, config())
        assert result.status == "stored", result.reason
        assert result.transfer_syntax == pydicom.uid.ImplicitVRLittleEndian
        data = out.read_bytes()
        assert b"ZQX" not in data
        assert not [m for m in series.markers.forbidden() if m.encode() in data]
        assert pixel_bytes(p) == pixel_bytes(out)


def test_file_object_input(tmp_path):
    series = synth.make_ct_series(tmp_path / "src", 1, 32, 32, plant=True)
    with open(series.paths[0], "rb") as fh:
        result = deidentify_file(fh, tmp_path / "from-fh.dcm", config())
    assert result.status == "stored"
    result = deidentify_file(
        io.BytesIO(series.paths[0].read_bytes()), tmp_path / "from-bytes.dcm", config()
    )
    assert result.status == "stored"
    assert b"ZQX" not in (tmp_path / "from-bytes.dcm").read_bytes()


def test_jpeg2000_pixel_data_kept_encapsulated(tmp_path):
    src = synth.make_jpeg2000_ct(tmp_path / "j2k.dcm")
    out = tmp_path / "out" / "j2k.dcm"
    result = deidentify_file(src, out, config())
    assert result.status == "stored", result.reason
    assert result.transfer_syntax == synth.JPEG2000_TS
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == synth.JPEG2000_TS
    assert pixel_bytes(src) == pixel_bytes(out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20160301", "20150302"),  # 2016 is a leap year: 365 days back
        ("2016.03.01", "20150302"),  # ACR-NEMA style accepted, written as DA
        ("20160230", None),  # not a date: dropped, never kept
        ("ZQX0001", None),
    ],
)
def test_date_shift_values(text, expected):
    assert deid._shift_date_text(text, -365) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20160301101530.123456+0100", "20150302101530.123456+0100"),
        ("2016030110", "2015030210"),
        ("201603", "201503"),
        ("2016", "2015"),
        ("2016-0100", "2015-0100"),
        ("2016+1570", None),
        ("2016030199", None),
        ("ZQX", None),
    ],
)
def test_datetime_shift_keeps_precision_time_and_offset(text, expected):
    assert deid._shift_datetime_text(text, -365) == expected


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("101530", True),
        ("101530.123", True),
        ("10:15", True),
        ("1015", True),
        ("2500", False),
        ("ZQX", False),
    ],
)
def test_retained_times_are_validated(text, kept):
    assert (deid._valid_time(text) == text) is kept


def _retag(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))


def test_element_with_impossible_vr_is_removed(tmp_path):
    """A corrupted tag moving a patient name into a kept attribute is caught by its VR."""
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16)
    # Patient Name (0010,0010) PN re-tagged as Compression Code (0028,0060), a CS the
    # profile keeps: the explicit VR still says PN.
    _retag(series.paths[0], b"\x10\x00\x10\x00PN", b"\x28\x00\x60\x00PN")
    out = tmp_path / "out.dcm"
    result = deidentify_file(series.paths[0], out, config())
    assert result.status == "stored"
    assert "CompressionCode" not in pydicom.dcmread(out)
    assert b"Example^Child" not in out.read_bytes()


def test_essential_element_with_impossible_vr_refuses(tmp_path):
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16)
    _retag(series.paths[0], b"\x28\x00\x10\x00US", b"\x28\x00\x10\x00SS")  # Rows as SS
    dst = tmp_path / "out.dcm"
    assert_refused(deidentify_file(series.paths[0], dst, config()), dst, "value representation")


def test_large_kept_sequence_is_walked_and_verified(tmp_path):
    """Values larger than the verifier's defer size are still decoded and checked."""
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16)
    ds = pydicom.dcmread(series.paths[0])
    refs = []
    for i in range(3000):
        item = pydicom.Dataset()
        item.ReferencedSOPClassUID = synth.CT_IMAGE_STORAGE
        item.ReferencedSOPInstanceUID = f"{synth.PLANT_UID_ROOT}.9{i}"
        refs.append(item)
    ds.ReferencedImageSequence = pydicom.Sequence(refs)
    ds.save_as(series.paths[0])
    out = tmp_path / "out.dcm"
    result = deidentify_file(series.paths[0], out, config())
    assert result.status == "stored", result.reason
    data = out.read_bytes()
    assert synth.PLANT_UID_ROOT.encode() not in data
    assert len(pydicom.dcmread(out).ReferencedImageSequence) == 3000


def test_concurrent_use_is_consistent(tmp_path):
    """Threads share nothing but restore pydicom's settings and warning filters."""
    series = synth.make_ct_series(tmp_path / "src", 8, 32, 32, plant=True)
    mode = pydicom.config.settings.reading_validation_mode
    filters = list(warnings.filters)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda p: deidentify_file(p, tmp_path / "out" / p.name, config()), series.paths
            )
        )
    assert [r.status for r in results] == ["stored"] * 8
    assert len({r.study_uid for r in results}) == 1
    assert pydicom.config.settings.reading_validation_mode == mode
    assert list(warnings.filters) == filters
    for p in series.paths:
        assert b"ZQX" not in (tmp_path / "out" / p.name).read_bytes()


# ---------------------------------------------------------------------------
# verification is independent and fails closed
# ---------------------------------------------------------------------------


def _broken_run(tmp_path: Path) -> tuple[DeidResult, Path]:
    series = synth.make_ct_series(tmp_path / "src", 1, 32, 32, plant=True)
    dst = tmp_path / "out" / "slice.dcm"
    return deidentify_file(series.paths[0], dst, config()), dst


def test_verification_catches_a_skipped_table_action(tmp_path, monkeypatch):
    tag = pydicom.datadict.tag_for_keyword("StudyDescription")
    monkeypatch.setitem(deid._RULES_RETAIN_TIMES, tag, Action.KEEP)
    result, dst = _broken_run(tmp_path)
    assert_refused(result, dst, "verification failed")
    assert "StudyDescription" in result.reason


def test_verification_catches_unreplaced_uids(tmp_path, monkeypatch):
    monkeypatch.setattr(deid._UidMapper, "__call__", lambda self, uid: uid)
    result, dst = _broken_run(tmp_path)
    assert_refused(result, dst, "verification failed")
    assert "SOPInstanceUID" in result.reason or "UID" in result.reason


def test_verification_catches_unshifted_dates(tmp_path, monkeypatch):
    monkeypatch.setattr(deid, "_shift_date_text", lambda text, days: text)
    result, dst = _broken_run(tmp_path)
    assert_refused(result, dst, "verification failed")
    assert "Date" in result.reason


def test_private_tags_removed_even_if_the_group_rule_fails(tmp_path, monkeypatch):
    """Unknown tags (all private ones) default to removal: a second line of defence."""
    monkeypatch.setattr(deid, "_is_structurally_removed", lambda tag: (tag >> 16) <= 2)
    result, dst = _broken_run(tmp_path)
    assert result.status == "stored"
    assert b"ZQX" not in dst.read_bytes()


def test_verification_catches_private_and_overlay_left_in(tmp_path, monkeypatch):
    class KeepUnknown(dict):
        def get(self, key, default=None):
            return super().get(key, Action.KEEP)

    monkeypatch.setattr(deid, "_is_structurally_removed", lambda tag: (tag >> 16) <= 2)
    monkeypatch.setattr(deid, "_RULES_RETAIN_TIMES", KeepUnknown(deid._RULES_RETAIN_TIMES))
    result, dst = _broken_run(tmp_path)
    assert_refused(result, dst, "verification failed")
    assert "(0009," in result.reason or "(5000," in result.reason or "(6000," in result.reason


def test_verification_catches_identifier_copied_into_a_kept_attribute(tmp_path, monkeypatch):
    # the kept-text rule empties such an attribute; switched off, verification still refuses
    monkeypatch.setattr(deid, "_blank_kept_text", lambda ctx, names, identifiers: [])
    series = synth.make_ct_series(tmp_path / "src", 1, 32, 32)
    ds = pydicom.dcmread(series.paths[0])
    ds.ImageComments = "x"  # table attribute: removed, fine
    ds.Manufacturer = f"VENDOR for {ds.PatientID}"  # not in the table: kept, but identifying
    ds.save_as(series.paths[0])
    dst = tmp_path / "out.dcm"
    result = deidentify_file(series.paths[0], dst, config())
    assert_refused(result, dst, "verification failed")
    assert "Manufacturer" in result.reason


def test_verify_file_reports_problems_without_values(planted, tmp_path):
    series, _results, outputs, _cfg = planted
    assert verify_file(outputs[0], set(), set(), set()) == []
    ds = pydicom.dcmread(outputs[0])
    problems = verify_file(outputs[0], {"ANYTHING"}, {ds.SOPInstanceUID}, {ds.StudyDate})
    assert any(p.startswith("SOPInstanceUID") for p in problems)
    assert any(p.startswith("StudyDate") for p in problems)
    assert not any(ds.SOPInstanceUID in p or ds.StudyDate in p for p in problems)
    # a non-zero preamble is reported
    bad = tmp_path / "bad-preamble.dcm"
    data = bytearray(outputs[0].read_bytes())
    data[:2] = b"MZ"
    bad.write_bytes(bytes(data))
    assert "preamble: not zeroed" in verify_file(bad, set(), set(), set())
    # and so is the original file (private tags, original UIDs)
    problems = verify_file(series.paths[0], set(), set(series.sop_uids), set())
    assert any("private" in p for p in problems) and any("original UID" in p for p in problems)


def test_no_identifying_values_in_warnings_or_logs(tmp_path, caplog):
    """pydicom's validation warnings quote values; they must not fire on uploads."""
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16, plant=True)
    ds = pydicom.dcmread(series.paths[0])
    ds.file_meta.ImplementationClassUID = "1.2.3.4.5.6"
    ds.save_as(series.paths[0])
    data = series.paths[0].read_bytes().replace(b"1.2.3.4.5.6", b"ZQX9.8.7.65")
    series.paths[0].write_bytes(data)
    mode = pydicom.config.settings.reading_validation_mode
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        result = deidentify_file(series.paths[0], tmp_path / "out.dcm", config())
        verify_file(tmp_path / "out.dcm", set(), set(), set())
    assert result.status == "stored"
    assert not [w for w in caught if "ZQX" in str(w.message)]
    assert "ZQX" not in caplog.text
    assert pydicom.config.settings.reading_validation_mode == mode  # restored


# ---------------------------------------------------------------------------
# burned-in text, non-images, non-DICOM, truncation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "kwargs"),
    [
        (synth.make_secondary_capture, {}),
        (synth.make_secondary_capture, {"burned_in": "YES"}),
        (synth.make_secondary_capture, {"burned_in": "NO"}),
        (synth.make_ultrasound, {}),
        (synth.make_ultrasound, {"burned_in": "NO"}),
        (synth.make_ultrasound, {"burned_in": "MAYBE"}),
    ],
)
def test_images_that_may_carry_text_are_read_and_stored_when_they_carry_none(
    tmp_path, maker, kwargs
):
    """Issue 17: the pixel text step replaces the header-flag hold. Whatever the flag says,
    a secondary capture or ultrasound whose pixels hold no text is stored untouched, and its
    BurnedInAnnotation now says NO."""
    src = maker(tmp_path / "in.dcm", **kwargs)
    dst = tmp_path / "out" / "in.dcm"
    result = deidentify_file(src, dst, config())
    assert result.status == "stored", result.reason
    assert result.pixel_text == "clean" and result.boxes == ()
    assert pydicom.dcmread(dst).BurnedInAnnotation == "NO"
    assert pixel_bytes(src) == pixel_bytes(dst)
    assert_no_leftovers(dst.parent)


@pytest.mark.parametrize(
    "maker", [synth.make_secondary_capture, synth.make_ultrasound], ids=["sc", "us"]
)
def test_images_the_step_is_unsure_of_are_held_back(tmp_path, maker, pixel_text_unsure):
    src = maker(tmp_path / "in.dcm")
    dst = tmp_path / "out" / "in.dcm"
    result = deidentify_file(src, dst, config())
    assert result.status == "held_back" and result.pixel_text == "held"
    assert result.reason.startswith("held back") and "(2,2,12,8)" in result.reason
    assert result.boxes == ((2, 2, 12, 8),)
    assert dst.exists()  # held back images are stored, just not shown
    assert pixel_bytes(src) == pixel_bytes(dst)
    assert_no_leftovers(dst.parent)


def test_ct_declaring_burned_in_annotation_is_read(tmp_path):
    """A CT slice is skipped unless its header hints at text: BurnedInAnnotation YES does."""
    series = synth.make_ct_series(tmp_path / "src", 2, 32, 32)
    ds = pydicom.dcmread(series.paths[0])
    ds.BurnedInAnnotation = "YES"
    ds.save_as(series.paths[0])
    result = deidentify_file(series.paths[0], tmp_path / "out.dcm", config())
    assert result.status == "stored" and result.pixel_text in ("clean", "innocent")
    plain = deidentify_file(series.paths[1], tmp_path / "out2.dcm", config())
    assert plain.status == "stored" and plain.pixel_text == "skipped"


def test_recognizable_visual_features_are_still_held_back(tmp_path):
    src = synth.make_secondary_capture(tmp_path / "in.dcm")
    ds = pydicom.dcmread(src)
    ds.RecognizableVisualFeatures = "YES"
    ds.save_as(src)
    result = deidentify_file(src, tmp_path / "out.dcm", config())
    assert result.status == "held_back" and "recognizable visual features" in result.reason


@pytest.mark.parametrize(
    ("maker", "word"),
    [
        (synth.make_encapsulated_pdf, "encapsulated document"),
        (synth.make_structured_report, "structured report"),
        (synth.make_rt_structure_set, "rt structure set"),
    ],
)
def test_non_image_objects_refused(tmp_path, maker, word):
    src = maker(tmp_path / "in.dcm")
    dst = tmp_path / "out" / "in.dcm"
    assert_refused(deidentify_file(src, dst, config()), dst, "not an image", word)


def test_object_without_pixel_data_refused(tmp_path):
    ds = pydicom.dcmread(synth.make_secondary_capture(tmp_path / "sc.dcm"))
    del ds.PixelData
    del ds.Rows
    ds.save_as(tmp_path / "nopix.dcm")
    dst = tmp_path / "out" / "nopix.dcm"
    assert_refused(deidentify_file(tmp_path / "nopix.dcm", dst, config()), dst, "no pixel data")


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        b"",
        b"<!DOCTYPE html><html><body>Patient Jane Doe</body></html>",
        bytes(range(256)) * 4,
        b"\x00" * 128 + b"DICX" + b"\x00" * 64,
    ],
    ids=["pdf", "empty", "html", "binary", "bad-prefix"],
)
def test_not_dicom_refused(tmp_path, content):
    src = tmp_path / "upload.dcm"
    src.write_bytes(content)
    dst = tmp_path / "out" / "upload.dcm"
    assert_refused(deidentify_file(src, dst, config()), dst, "not a dicom file")


def test_dataset_without_part10_header_refused(tmp_path):
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16)
    ds = pydicom.dcmread(series.paths[0])
    raw = tmp_path / "raw.dcm"
    ds.save_as(raw, enforce_file_format=False)
    data = raw.read_bytes()
    raw.write_bytes(data[data.index(b"\x08\x00\x05\x00") :])  # data set only, no preamble/meta
    dst = tmp_path / "out" / "raw.dcm"
    assert_refused(deidentify_file(raw, dst, config()), dst, "not a dicom file")


@pytest.mark.parametrize("cut", [-1000, -2, 140, 400, 1500, 0.5])
def test_truncated_files_refused(tmp_path, cut):
    series = synth.make_ct_series(tmp_path / "src", 1, 64, 64, plant=True)
    size = series.paths[0].stat().st_size
    keep = int(size * cut) if isinstance(cut, float) else (size + cut if cut < 0 else cut)
    src = synth.truncate_file(series.paths[0], tmp_path / "cut.dcm", keep)
    dst = tmp_path / "out" / "cut.dcm"
    result = deidentify_file(src, dst, config())
    assert result.status == "refused"
    assert any(w in result.reason for w in ("truncated", "damaged", "not a DICOM file")), (
        result.reason
    )
    assert_refused(result, dst)


def test_truncated_before_pixel_data_refused(tmp_path):
    series = synth.make_ct_series(tmp_path / "src", 1, 32, 32)
    data = series.paths[0].read_bytes()
    cut = data.rindex(b"\xe0\x7f\x10\x00")  # exactly at the Pixel Data tag
    src = tmp_path / "cut.dcm"
    src.write_bytes(data[:cut])
    dst = tmp_path / "out" / "cut.dcm"
    assert_refused(deidentify_file(src, dst, config()), dst, "truncated")


def test_truncated_jpeg2000_refused(tmp_path):
    src = synth.make_jpeg2000_ct(tmp_path / "j2k.dcm")
    cut = synth.truncate_file(src, tmp_path / "cut.dcm", src.stat().st_size - 100)
    dst = tmp_path / "out" / "cut.dcm"
    assert_refused(deidentify_file(cut, dst, config()), dst)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    series = synth.make_ct_series(tmp_path / "src", 1, 16, 16)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(deid.os, "replace", boom)
    dst = tmp_path / "out" / "x.dcm"
    result = deidentify_file(series.paths[0], dst, config())
    assert_refused(result, dst, "internal error")


def test_existing_destination_untouched_on_refusal(tmp_path):
    dst = tmp_path / "out" / "x.dcm"
    dst.parent.mkdir()
    dst.write_bytes(b"previous")
    src = tmp_path / "notdicom.dcm"
    src.write_bytes(b"hello")
    result = deidentify_file(src, dst, config())
    assert result.status == "refused"
    assert dst.read_bytes() == b"previous"
    assert_no_leftovers(dst.parent)


# ---------------------------------------------------------------------------
# whole folders
# ---------------------------------------------------------------------------


def test_deidentify_tree_keeps_relative_paths(tmp_path):
    src = tmp_path / "upload"
    synth.make_ct_series(src / "CT" / "series1", 2, 32, 32, plant=True)
    synth.make_structured_report(src / "CT" / "report.dcm")
    synth.make_ultrasound(src / "US" / "us1.dcm")
    (src / "notes.txt").write_text("Jane Doe, 12 Example Road")
    (src / "DICOMDIR").write_bytes(b"")
    results = dict(deidentify_tree(src, tmp_path / "out", config()))
    assert set(results) == {
        "CT/series1/IM00001.dcm",
        "CT/series1/IM00002.dcm",
        "CT/report.dcm",
        "US/us1.dcm",
        "notes.txt",
        "DICOMDIR",
    }
    assert results["CT/series1/IM00001.dcm"].status == "stored"
    assert results["US/us1.dcm"].status == "stored"  # read: no text in its pixels
    assert results["US/us1.dcm"].pixel_text == "clean"
    # its planted overlay planes hint at annotations: read, though a CT slice
    assert results["CT/series1/IM00001.dcm"].pixel_text == "clean"
    assert results["CT/report.dcm"].status == "refused"
    assert results["notes.txt"].status == "refused"
    out = tmp_path / "out"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["CT/series1/IM00001.dcm", "CT/series1/IM00002.dcm", "US/us1.dcm"]
    studies = {pydicom.dcmread(out / r).StudyInstanceUID for r in written if r.startswith("CT")}
    assert len(studies) == 1


# ---------------------------------------------------------------------------
# fuzzing: damaged input never raises and never leaks
# ---------------------------------------------------------------------------

_BASE, _BASE_MARKERS = synth.ct_slice_bytes(16, 16, plant=True)
_FORBIDDEN = tuple(m.encode() for m in _BASE_MARKERS.forbidden())


def _elements_with_paths(ds: pydicom.Dataset, prefix: tuple[int, ...] = ()):
    """(tag path, raw bytes or None) for every element at every depth."""
    for tag in list(ds.keys()):
        path = (*prefix, int(tag))
        elem = ds.get_item(tag)
        if elem.VR == "SQ" or not getattr(elem, "is_raw", False):
            decoded = ds[tag]
            if decoded.VR == "SQ":
                yield path, None
                for item in decoded.value:
                    yield from _elements_with_paths(item, path)
                continue
            yield path, str(decoded.value).encode("utf-8", "replace")
        else:
            yield path, elem.value or b""


_BASE_PATHS = frozenset(
    path for path, _ in _elements_with_paths(pydicom.dcmread(io.BytesIO(_BASE)))
)


@st.composite
def damaged(draw) -> bytes:
    data = bytearray(_BASE)
    kind = draw(st.sampled_from(["truncate", "overwrite", "flip", "insert", "delete"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(chunk)] = chunk
        elif kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[pos : pos + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_input_is_refused_or_clean(data):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.dcm"
        src.write_bytes(data)
        dst = Path(tmp) / "out" / "in.dcm"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = deidentify_file(src, dst, config())  # must not raise
        assert not [w for w in caught if "ZQX" in str(w.message)]
        assert result.status in ("stored", "held_back", "refused")
        assert b"ZQX" not in result.reason.encode()
        if result.status == "refused":
            assert not dst.exists()
        else:
            out = dst.read_bytes()
            meta_end = 144 + int.from_bytes(out[140:144], "little")
            assert b"ZQX" not in out[:meta_end]  # preamble and file meta
            assert verify_file(dst, set(), set(), set()) == []
            # A marker may only survive where the damage itself re-tagged an element (or a
            # sequence above it) into an attribute outside Table E.1-1 that does not exist
            # at that place in the undamaged file -- the basic profile keeps attributes it
            # does not list.  Never in a table attribute, never at its original place.
            for path, value in _elements_with_paths(pydicom.dcmread(dst)):
                if value is not None and any(m in value for m in _FORBIDDEN):
                    assert path[-1] not in deid.TABLE_TAGS, path
                    assert path not in _BASE_PATHS, path
        assert_no_leftovers(Path(tmp))
        assert sorted(os.listdir(tmp)) in (["in.dcm"], ["in.dcm", "out"])

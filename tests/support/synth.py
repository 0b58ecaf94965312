"""Synthetic DICOM files for tests and benchmarks (pydicom + numpy, no patient data).

The main generator, :func:`make_ct_series`, writes a realistic 16-bit CT series
(Explicit VR Little Endian by default).  With ``plant=True`` every file also carries an
identifying *marker* in every attribute of Table E.1-1 that has a sensible VR -- at the top
level and again inside sequences at depth 1 and 2 -- plus private elements (creator, text,
binary, a private sequence, a private block after the pixel data), an overlay, a curve,
identifying file meta elements and an executable ("MZ") preamble.  The markers are
recorded in a :class:`PlantedMarkers` so tests can assert that none survive.

Text markers look like ``ZQX0042`` (the number is unique per attribute and depth), planted
dates lie in a 200-day window starting 2016-03-01 (so a shifted date can never equal a
planted one), planted UIDs live under :data:`PLANT_UID_ROOT`.

Other generators write the awkward inputs the de-identifier must handle: secondary capture
and ultrasound images (burned-in text rules), an encapsulated PDF, a structured report, an
RT structure set without pixels, a JPEG 2000 encapsulated image and truncated files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from panel.imaging.deid import PROFILE_ROWS, row_tag

__all__ = [
    "CT_IMAGE_STORAGE",
    "PLANT_UID_ROOT",
    "PlantedMarkers",
    "SynthSeries",
    "ct_slice_bytes",
    "make_ct_series",
    "make_encapsulated_pdf",
    "make_jpeg2000_ct",
    "make_rt_structure_set",
    "make_secondary_capture",
    "make_structured_report",
    "make_ultrasound",
    "truncate_file",
]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.11"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
JPEG2000_TS = "1.2.840.10008.1.2.4.90"

#: Root of synthetic "original" UIDs (pydicom's example root + a private arc).
SYNTH_UID_ROOT = "1.2.826.0.1.3680043.8.498.424242"
#: Root of UIDs planted as identifying markers.
PLANT_UID_ROOT = "1.2.826.0.1.3680043.8.498.777777"
MARKER_PREFIX = "ZQX"
PLANT_DATE_BASE = date(2016, 3, 1)
_PLANT_DATE_WINDOW = 200

#: Tags that must keep their real value at the top level for the series to be coherent.
_TOP_LEVEL_SKIP = frozenset({0x0020000D, 0x0020000E, 0x00080018, 0x00200052})
#: The X/Z/U* sequences are used as carriers for the nested plant; Encapsulated Document
#: would turn the image into a document (refused as a whole, so nothing left to test).
_CARRIER_SEQUENCES = frozenset({0x00081140, 0x00082112, 0x00420011})


@dataclass
class PlantedMarkers:
    """Everything planted into a file, for leak assertions.

    ``strings``/``dates``/``uids`` must not appear anywhere in a de-identified output.
    ``times`` maps a retained TM tag to the planted time (kept by the modified-dates option).
    ``dates_by_tag`` maps each top-level DA tag to its planted date (for the shift test).
    ``value_tags`` are table tags planted with a non-text value (numbers, ages) whose
    original value must not survive.
    """

    strings: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)
    times: dict[int, str] = field(default_factory=dict)
    dates_by_tag: dict[int, str] = field(default_factory=dict)
    datetimes_by_tag: dict[int, str] = field(default_factory=dict)
    value_tags: dict[int, Any] = field(default_factory=dict)
    planted_tags: set[int] = field(default_factory=set)

    def forbidden(self) -> set[str]:
        """Every marker that must not survive de-identification."""
        return self.strings | self.dates | self.uids


@dataclass
class SynthSeries:
    """A generated series: paths in slice order and its (original) UIDs."""

    paths: list[Path]
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    sop_uids: list[str]
    markers: PlantedMarkers | None = None


# ---------------------------------------------------------------------------
# Planting markers in Table E.1-1 attributes
# ---------------------------------------------------------------------------


def _planted_value(tag: int, vr: str, index: int, markers: PlantedMarkers, top: bool) -> Any:
    """A marker value of the right VR for ``tag``; None if the VR is not plantable."""
    marker = f"{MARKER_PREFIX}{index:04d}"
    if vr in ("AE", "CS", "SH"):
        markers.strings.add(marker)
        return marker
    if vr in ("LO", "LT", "ST", "UT", "UC"):
        markers.strings.add(marker)
        return f"{marker} identifying text"
    if vr == "PN":
        markers.strings.add(marker)
        return f"{marker}^PATIENT"
    if vr in ("DA", "DT"):
        d = PLANT_DATE_BASE + timedelta(days=index % _PLANT_DATE_WINDOW)
        text = f"{d:%Y%m%d}"
        markers.dates.add(text)
        if vr == "DA":
            if top:
                markers.dates_by_tag[tag] = text
            return text
        if top:
            markers.datetimes_by_tag[tag] = text + "101530"
        return text + "101530"
    if vr == "TM":
        text = f"{8 + index % 10:02d}{index % 60:02d}{(index * 7) % 60:02d}"
        if top:
            markers.times[tag] = text
        return text
    if vr == "DS":  # long enough not to occur by chance in generated UID digits
        text = f"97979{index:04d}.25"
        markers.strings.add(text)
        return text
    if vr == "IS":
        text = f"8686{index:04d}8"
        markers.strings.add(text)
        return text
    if vr == "UI":
        uid = f"{PLANT_UID_ROOT}.{index}"
        markers.uids.add(uid)
        return uid
    if vr == "AS":
        if top:
            markers.value_tags[tag] = "011Y"
        return "011Y"
    if vr in ("US", "SS", "UL", "SL"):
        if top:
            markers.value_tags[tag] = 7
        return 7
    if vr in ("FL", "FD"):
        if top:
            markers.value_tags[tag] = 7.5
        return 7.5
    if vr in ("OB", "OW", "UN"):
        markers.strings.add(marker)
        return (marker + " binary").encode("ascii")
    if vr == "UR":
        markers.strings.add(marker)
        return f"https://example.org/{marker}"
    return None


def _marker_item(index: int, markers: PlantedMarkers) -> Dataset:
    """A sequence item carrying a code, a name, a date and a UID as markers."""
    marker = f"{MARKER_PREFIX}{index:04d}"
    markers.strings.add(marker)
    item = Dataset()
    item.CodeValue = marker
    item.CodingSchemeDesignator = "99ZQX"
    item.CodeMeaning = f"{marker} meaning"
    item.PatientName = f"{marker}^NESTED"
    d = PLANT_DATE_BASE + timedelta(days=(index + 3) % _PLANT_DATE_WINDOW)
    item.StudyDate = f"{d:%Y%m%d}"
    markers.dates.add(item.StudyDate)
    item.ReferencedSOPInstanceUID = f"{PLANT_UID_ROOT}.{index}"
    markers.uids.add(item.ReferencedSOPInstanceUID)
    return item


def plant_table_attributes(
    ds: Dataset, markers: PlantedMarkers, base_index: int, *, top: bool, skip: Iterable[int] = ()
) -> None:
    """Put a marker into every Table E.1-1 attribute with a plantable VR."""
    skip_set = set(skip) | _CARRIER_SEQUENCES
    for offset, row in enumerate(PROFILE_ROWS):
        tag = row_tag(row)
        if tag is None or tag in skip_set or (tag >> 16) in (0x0000, 0x0002):
            continue
        entry = DicomDictionary.get(tag)
        if entry is None:
            continue
        vr = entry[0]
        index = base_index + offset
        if vr == "SQ":
            ds.add_new(tag, "SQ", Sequence([_marker_item(index, markers)]))
        else:
            value = _planted_value(tag, vr, index, markers, top)
            if value is None:
                continue
            ds.add_new(tag, vr, value)
        if top:
            markers.planted_tags.add(tag)


def _plant_private(ds: Dataset, group: int, index: int, markers: PlantedMarkers) -> None:
    """A private block: creator, text, binary, UN and a private sequence."""
    marker = f"{MARKER_PREFIX}{index:04d}"
    markers.strings.update({marker, f"{MARKER_PREFIX}PRIV{group:04X}"})
    ds.add_new((group << 16) | 0x0010, "LO", f"{MARKER_PREFIX}PRIV{group:04X} CREATOR")
    ds.add_new((group << 16) | 0x1001, "LO", f"{marker} private text")
    ds.add_new((group << 16) | 0x1002, "OB", (marker + " private binary").encode())
    ds.add_new((group << 16) | 0x1004, "UN", (marker + " private UN").encode())
    item = Dataset()
    item.PatientName = f"{marker}^PRIVSEQ"
    item.add_new(0x00110010, "LO", f"{MARKER_PREFIX}PRIVNESTED")
    item.add_new(0x00111001, "LO", f"{marker} nested private")
    markers.strings.add(f"{MARKER_PREFIX}PRIVNESTED")
    ds.add_new((group << 16) | 0x1003, "SQ", Sequence([item]))


def _plant_overlay_and_curve(
    ds: Dataset, rows: int, cols: int, index: int, markers: PlantedMarkers
) -> None:
    marker = f"{MARKER_PREFIX}{index:04d}"
    markers.strings.add(marker)
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000022, "LO", f"{marker} overlay description")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60001500, "LO", f"{marker} overlay label")
    overlay = bytearray((rows * cols + 7) // 8 + ((rows * cols + 7) // 8) % 2)
    tag_bytes = (marker + " burned overlay").encode()
    overlay[: len(tag_bytes)] = tag_bytes
    ds.add_new(0x60003000, "OW", bytes(overlay))
    ds.add_new(0x60004000, "LT", f"{marker} overlay comments")
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50000010, "US", 2)
    ds.add_new(0x50000020, "CS", "TAC")
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50002500, "LO", f"{marker} curve label")
    ds.add_new(0x50003000, "OB", (marker + " curve data!").encode())


def _plant_file_meta(meta: FileMetaDataset, index: int, markers: PlantedMarkers) -> None:
    marker = f"{MARKER_PREFIX}{index:04d}"
    markers.strings.add(marker)
    meta.SourceApplicationEntityTitle = marker + "SRC"
    meta.SendingApplicationEntityTitle = marker + "SND"
    meta.ReceivingApplicationEntityTitle = marker + "RCV"
    meta.ImplementationVersionName = marker + "IMPL"
    uid = f"{PLANT_UID_ROOT}.{index}"
    markers.uids.add(uid)
    meta.PrivateInformationCreatorUID = uid
    meta.PrivateInformation = (marker + " meta private").encode()


def _executable_preamble(markers: PlantedMarkers) -> bytes:
    marker = f"{MARKER_PREFIX}PREAMBLE"
    markers.strings.add(marker)
    body = (
        b"MZ\x90\x00\x03\x00\x00\x00"
        + marker.encode()
        + b" This program cannot be run in DOS mode."
    )
    return body.ljust(128, b"\x00")


# ---------------------------------------------------------------------------
# CT series
# ---------------------------------------------------------------------------


def _phantom(rows: int, cols: int) -> np.ndarray:
    """A body-like phantom in stored values (HU + 1024): soft tissue, lungs, spine, ribs."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy, cx = rows / 2, cols / 2
    img = np.zeros((rows, cols), dtype=np.float32)  # air: -1024 HU
    body = ((x - cx) / (0.42 * cols)) ** 2 + ((y - cy) / (0.32 * rows)) ** 2 <= 1
    img[body] = 1024 + 40
    for side in (-1, 1):
        lung = ((x - cx - side * 0.17 * cols) / (0.12 * cols)) ** 2 + (
            (y - cy + 0.02 * rows) / (0.2 * rows)
        ) ** 2 <= 1
        img[lung] = 1024 - 820
    spine = ((x - cx) / (0.05 * cols)) ** 2 + ((y - cy - 0.2 * rows) / (0.05 * rows)) ** 2 <= 1
    img[spine] = 1024 + 700
    ring = ((x - cx) / (0.4 * cols)) ** 2 + ((y - cy) / (0.3 * rows)) ** 2
    img[(ring > 0.9) & (ring < 0.95)] = 1024 + 450
    return img


def _ct_dataset(
    *,
    index: int,
    rows: int,
    cols: int,
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    sop_uid: str,
    z: float,
    pixels: bytes,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = "20160315"
    ds.SeriesDate = "20160315"
    ds.AcquisitionDate = "20160315"
    ds.ContentDate = "20160315"
    ds.StudyTime = "101500"
    ds.SeriesTime = "101700"
    ds.AcquisitionTime = f"1018{index % 60:02d}"
    ds.ContentTime = f"1018{index % 60:02d}"
    ds.AccessionNumber = "ACC20160315"
    ds.Modality = "CT"
    ds.Manufacturer = "SYNTHETIC MEDICAL"
    ds.InstitutionName = "St Example Children's Hospital"
    ds.ReferringPhysicianName = "Example^Referrer"
    ds.StationName = "CTSTATION01"
    ds.StudyDescription = "CT CHEST ABDOMEN PELVIS"
    ds.SeriesDescription = "AXIAL 1.25 STANDARD"
    ds.ManufacturerModelName = "Synth CT 64"
    ds.PatientName = "Example^Child"
    ds.PatientID = "MRN00012345"
    ds.PatientBirthDate = "20100704"
    ds.PatientSex = "F"
    ds.PatientAge = "005Y"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = "1.25"
    ds.KVP = "100"
    ds.ConvolutionKernel = "STANDARD"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "4711"
    ds.SeriesNumber = "3"
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = str(index + 1)
    ds.ImagePositionPatient = ["-250.0", "-250.0", f"{z:.2f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = f"{z:.2f}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [f"{500 / rows:.4f}", f"{500 / cols:.4f}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.PixelData = pixels
    ds["PixelData"].VR = "OW"
    return ds


def _file_meta(sop_class: str, sop_uid: str, transfer_syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = f"{SYNTH_UID_ROOT}.1"
    meta.ImplementationVersionName = "SYNTH_1"
    return meta


def _save(ds: Dataset, path: Path, preamble: bytes | None = None) -> None:
    ds.preamble = preamble if preamble is not None else b"\x00" * 128
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _build_ct_slice(
    *,
    index: int,
    n_slices: int,
    rows: int,
    cols: int,
    uids: tuple[str, str, str],
    sop_uids: list[str],
    pixels: bytes,
    plant: bool,
    markers: PlantedMarkers | None,
    transfer_syntax: str,
) -> tuple[Dataset, bytes | None]:
    study_uid, series_uid, frame_uid = uids
    ds = _ct_dataset(
        index=index,
        rows=rows,
        cols=cols,
        study_uid=study_uid,
        series_uid=series_uid,
        frame_uid=frame_uid,
        sop_uid=sop_uids[index],
        z=-1.25 * index,
        pixels=pixels,
    )
    # A real reference to the neighbouring slice (kept sequence, UIDs to be remapped).
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT_IMAGE_STORAGE
    ref.ReferencedSOPInstanceUID = sop_uids[index - 1 if index else min(1, n_slices - 1)]
    ds.ReferencedImageSequence = Sequence([ref])
    series_ref = Dataset()
    series_ref.SeriesInstanceUID = series_uid
    ds.ReferencedSeriesSequence = Sequence([series_ref])
    ds.file_meta = _file_meta(CT_IMAGE_STORAGE, sop_uids[index], transfer_syntax)
    preamble = None
    if plant and markers is not None:
        plant_table_attributes(ds, markers, 0, top=True, skip=_TOP_LEVEL_SKIP)
        # depth 1: inside the kept Referenced Image Sequence item
        plant_table_attributes(
            ref, markers, 2000, top=False, skip={0x00081155, 0x00081150, 0x00080016}
        )
        # depth 2: Source Image Sequence inside that item
        deep = Dataset()
        deep.ReferencedSOPClassUID = CT_IMAGE_STORAGE
        deep.ReferencedSOPInstanceUID = sop_uids[0]
        plant_table_attributes(deep, markers, 4000, top=False, skip={0x00081155, 0x00081150})
        ref.SourceImageSequence = Sequence([deep])
        # a non-table sequence (kept) with a few identifying attributes inside
        series_ref.PatientName = f"{MARKER_PREFIX}6001^SERIESREF"
        series_ref.InstitutionName = f"{MARKER_PREFIX}6002 hospital"
        series_ref.StudyDate = "20160402"
        markers.strings.update({f"{MARKER_PREFIX}6001", f"{MARKER_PREFIX}6002"})
        markers.dates.add("20160402")
        _plant_private(ds, 0x0009, 6100, markers)
        _plant_private(ref, 0x0013, 6200, markers)
        _plant_overlay_and_curve(ds, rows, cols, 6300, markers)
        # private block *after* the pixel data
        ds.add_new(0x7FE10010, "LO", f"{MARKER_PREFIX}AFTERPIXELS")
        ds.add_new(0x7FE11001, "OB", f"{MARKER_PREFIX}6400 after pixels".encode().ljust(24))
        markers.strings.update({f"{MARKER_PREFIX}AFTERPIXELS", f"{MARKER_PREFIX}6400"})
        # data set trailing padding with leftover bytes (Table E.1-1: X)
        ds.add_new(0xFFFCFFFC, "OB", f"{MARKER_PREFIX}6500 padding".encode().ljust(20))
        markers.strings.add(f"{MARKER_PREFIX}6500")
        _plant_file_meta(ds.file_meta, 6600, markers)
        preamble = _executable_preamble(markers)
    return ds, preamble


def make_ct_series(
    directory: str | os.PathLike[str],
    n_slices: int,
    rows: int = 512,
    cols: int = 512,
    *,
    plant: bool = False,
    seed: int = 0,
    transfer_syntax: str = ExplicitVRLittleEndian,
    noise: bool = True,
) -> SynthSeries:
    """Write an axial CT series of ``n_slices`` files (``IM00001.dcm`` ...) to ``directory``.

    Realistic CT attributes (16-bit allocated, 12 stored, rescale to HU, geometry, window);
    pixel data is a body phantom with noise.  ``plant=True`` plants identifying markers
    everywhere described in the module docstring (same marker per attribute on every slice,
    as a real series would repeat the patient's details).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = _phantom(rows, cols)
    study_uid = f"{SYNTH_UID_ROOT}.{seed}.1"
    series_uid = f"{SYNTH_UID_ROOT}.{seed}.2"
    frame_uid = f"{SYNTH_UID_ROOT}.{seed}.3"
    sop_uids = [f"{SYNTH_UID_ROOT}.{seed}.100.{i + 1}" for i in range(n_slices)]
    markers = PlantedMarkers() if plant else None
    noise_bank = rng.normal(0, 12, size=(4, rows, cols)).astype(np.float32) if noise else None
    paths = []
    for i in range(n_slices):
        img = base * (1.0 + 0.02 * np.sin(i / 7.0))
        if noise_bank is not None:
            img = img + np.roll(noise_bank[i % 4], shift=i * 3, axis=1)
        pixels = np.clip(img, 0, 4095).astype("<u2").tobytes()
        ds, preamble = _build_ct_slice(
            index=i,
            n_slices=n_slices,
            rows=rows,
            cols=cols,
            uids=(study_uid, series_uid, frame_uid),
            sop_uids=sop_uids,
            pixels=pixels,
            plant=plant,
            markers=markers,
            transfer_syntax=transfer_syntax,
        )
        path = out / f"IM{i + 1:05d}.dcm"
        _save(ds, path, preamble)
        paths.append(path)
    return SynthSeries(paths, study_uid, series_uid, frame_uid, sop_uids, markers)


def ct_slice_bytes(
    rows: int = 32, cols: int = 32, *, plant: bool = True
) -> tuple[bytes, PlantedMarkers]:
    """One (small) planted CT slice as bytes, for fuzzing and quick tests."""
    import io

    markers = PlantedMarkers()
    sop_uids = [f"{SYNTH_UID_ROOT}.9.100.1", f"{SYNTH_UID_ROOT}.9.100.2"]
    pixels = (np.arange(rows * cols, dtype="<u2") % 4096).tobytes()
    ds, preamble = _build_ct_slice(
        index=0,
        n_slices=2,
        rows=rows,
        cols=cols,
        uids=(f"{SYNTH_UID_ROOT}.9.1", f"{SYNTH_UID_ROOT}.9.2", f"{SYNTH_UID_ROOT}.9.3"),
        sop_uids=sop_uids,
        pixels=pixels,
        plant=plant,
        markers=markers,
        transfer_syntax=ExplicitVRLittleEndian,
    )
    ds.preamble = preamble if preamble is not None else b"\x00" * 128
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue(), markers


# ---------------------------------------------------------------------------
# Other objects
# ---------------------------------------------------------------------------


def _common_patient(ds: Dataset, sop_class: str, sop_uid: str, modality: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = "20160315"
    ds.StudyTime = "101500"
    ds.ContentDate = "20160315"
    ds.ContentTime = "101600"
    ds.AccessionNumber = "ACC20160315"
    ds.Modality = modality
    ds.Manufacturer = "SYNTHETIC MEDICAL"
    ds.ReferringPhysicianName = "Example^Referrer"
    ds.PatientName = "Example^Child"
    ds.PatientID = "MRN00012345"
    ds.PatientBirthDate = "20100704"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = f"{SYNTH_UID_ROOT}.50.1"
    ds.SeriesInstanceUID = f"{SYNTH_UID_ROOT}.50.{abs(hash(sop_class)) % 1000}"
    ds.StudyID = "4711"
    ds.SeriesNumber = "9"
    ds.InstanceNumber = "1"


def _gray8_image(ds: Dataset, rows: int, cols: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    img = (np.add.outer(np.arange(rows), np.arange(cols)) % 256).astype(np.uint8)
    ds.PixelData = img.tobytes()
    ds["PixelData"].VR = "OB"


def make_secondary_capture(
    path: str | os.PathLike[str], *, burned_in: str | None = None, modality: str = "OT"
) -> Path:
    """A secondary capture image (screen grab style); BurnedInAnnotation absent by default."""
    ds = Dataset()
    sop_uid = f"{SYNTH_UID_ROOT}.51.1"
    _common_patient(ds, SECONDARY_CAPTURE_STORAGE, sop_uid, modality)
    ds.ConversionType = "WSD"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    _gray8_image(ds, 64, 64)
    ds.file_meta = _file_meta(SECONDARY_CAPTURE_STORAGE, sop_uid, ExplicitVRLittleEndian)
    p = Path(path)
    _save(ds, p)
    return p


def make_ultrasound(path: str | os.PathLike[str], *, burned_in: str | None = None) -> Path:
    """A small ultrasound image; BurnedInAnnotation absent unless given."""
    ds = Dataset()
    sop_uid = f"{SYNTH_UID_ROOT}.52.1"
    _common_patient(ds, US_IMAGE_STORAGE, sop_uid, "US")
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    _gray8_image(ds, 48, 64)
    ds.file_meta = _file_meta(US_IMAGE_STORAGE, sop_uid, ExplicitVRLittleEndian)
    p = Path(path)
    _save(ds, p)
    return p


def make_encapsulated_pdf(path: str | os.PathLike[str]) -> Path:
    """An Encapsulated PDF object (non-image: must be refused)."""
    ds = Dataset()
    sop_uid = f"{SYNTH_UID_ROOT}.53.1"
    _common_patient(ds, ENCAPSULATED_PDF_STORAGE, sop_uid, "DOC")
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "Referral letter"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ds.EncapsulatedDocument = pdf + b"\x00" * (len(pdf) % 2)
    ds.file_meta = _file_meta(ENCAPSULATED_PDF_STORAGE, sop_uid, ExplicitVRLittleEndian)
    p = Path(path)
    _save(ds, p)
    return p


def make_structured_report(path: str | os.PathLike[str]) -> Path:
    """A Basic Text SR (non-image: must be refused)."""
    ds = Dataset()
    sop_uid = f"{SYNTH_UID_ROOT}.54.1"
    _common_patient(ds, BASIC_TEXT_SR_STORAGE, sop_uid, "SR")
    ds.ValueType = "CONTAINER"
    concept = Dataset()
    concept.CodeValue = "18748-4"
    concept.CodingSchemeDesignator = "LN"
    concept.CodeMeaning = "Diagnostic Imaging Report"
    ds.ConceptNameCodeSequence = Sequence([concept])
    ds.ContinuityOfContent = "SEPARATE"
    text = Dataset()
    text.RelationshipType = "CONTAINS"
    text.ValueType = "TEXT"
    text.TextValue = "Findings for Example Child: no abnormality."
    ds.ContentSequence = Sequence([text])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.file_meta = _file_meta(BASIC_TEXT_SR_STORAGE, sop_uid, ExplicitVRLittleEndian)
    p = Path(path)
    _save(ds, p)
    return p


def make_rt_structure_set(path: str | os.PathLike[str]) -> Path:
    """An RT Structure Set without pixel data (non-image: must be refused)."""
    ds = Dataset()
    sop_uid = f"{SYNTH_UID_ROOT}.55.1"
    _common_patient(ds, RT_STRUCTURE_SET_STORAGE, sop_uid, "RTSTRUCT")
    ds.StructureSetLabel = "GTV"
    ds.StructureSetDate = "20160316"
    ds.StructureSetTime = "120000"
    roi = Dataset()
    roi.ROINumber = 1
    roi.ROIName = "GTV"
    ds.StructureSetROISequence = Sequence([roi])
    ds.file_meta = _file_meta(RT_STRUCTURE_SET_STORAGE, sop_uid, ExplicitVRLittleEndian)
    p = Path(path)
    _save(ds, p)
    return p


def make_jpeg2000_ct(path: str | os.PathLike[str], rows: int = 64, cols: int = 64) -> Path:
    """A CT image with encapsulated JPEG 2000 pixel data (the codestream is not decodable)."""
    sop_uid = f"{SYNTH_UID_ROOT}.56.1"
    ds = _ct_dataset(
        index=0,
        rows=rows,
        cols=cols,
        study_uid=f"{SYNTH_UID_ROOT}.56.2",
        series_uid=f"{SYNTH_UID_ROOT}.56.3",
        frame_uid=f"{SYNTH_UID_ROOT}.56.4",
        sop_uid=sop_uid,
        z=0.0,
        pixels=b"",
    )
    rng = np.random.default_rng(56)
    codestream = (
        b"\xff\x4f\xff\x51" + rng.integers(0, 256, 1000, dtype=np.uint8).tobytes() + b"\xff\xd9"
    )
    ds.PixelData = encapsulate([codestream])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta = _file_meta(CT_IMAGE_STORAGE, sop_uid, JPEG2000_TS)
    p = Path(path)
    _save(ds, p)
    return p


def truncate_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], keep: int) -> Path:
    """Copy the first ``keep`` bytes of ``src`` to ``dst`` (negative: drop that many)."""
    data = Path(src).read_bytes()
    cut = data[:keep]
    p = Path(dst)
    p.write_bytes(cut)
    return p


def make_multiframe(tmp_path: Path, frames: int = 3) -> Path:
    """A secondary capture with ``frames`` frames (each a little brighter than the last)."""
    import pydicom

    ds = pydicom.dcmread(make_secondary_capture(tmp_path / "one.dcm"))
    stack = np.stack([ds.pixel_array + k for k in range(frames)]).astype(ds.pixel_array.dtype)
    ds.NumberOfFrames = frames
    ds.PixelData = stack.tobytes()
    ds.save_as(tmp_path / "multi.dcm")
    return tmp_path / "multi.dcm"

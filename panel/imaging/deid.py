"""DICOM de-identification for scans uploaded to a case (pure module, no Flask).

Implements DICOM PS3.15 Annex E, the *Basic Application Level Confidentiality Profile*
(Table E.1-1, shipped as ``panel/data/dicom-basic-profile.json``), with the *Retain
Longitudinal Temporal Information with Modified Dates* option, as required by the domain
note "De-identifying scans on upload" (points 1-11 are referenced below).

Entry points
------------
* :func:`deidentify_file` de-identifies one file and returns a :class:`DeidResult`.
* :func:`deidentify_tree` de-identifies a folder as one case.
* :func:`verify_file` is the independent check run on every output before it is stored.
* :func:`date_shift_for_case` derives the per-case date offset from the deployment secret.

How the table is read (documented choices)
------------------------------------------
Table E.1-1 gives compound actions whose meaning depends on the attribute's *type* in the
IOD (1, 2 or 3).  The IOD module tables are not available here, so every compound action is
resolved to the strictest reading that is still valid whatever the type, i.e. that never
keeps any part of the original value and never breaks a Type 1/2 requirement:

=========  ====================================================================
``X``      removed.
``Z``      kept with a zero-length value (sequences: zero items).
``D``      replaced with a fixed dummy of the element's VR (``ANONYMOUS``, ``0``,
           ``19000101`` ...); for a sequence, zero items (a generic dummy item cannot be
           synthesised); for a UID, the keyed replacement UID.
``X/Z``    emptied (Z): X is only allowed when Type 3, Z is valid for Type 2 and 3.
``X/D``    dummy (D), valid for Type 1; sequences are removed.
``Z/D``    dummy (D).
``X/Z/D``  dummy (D); sequences get zero items.
``X/Z/U*`` (Referenced/Source Image Sequence) kept, and every item is de-identified
           recursively with the full table, so UIDs inside are replaced and any other
           identifying attribute inside is handled.  This keeps links between images.
``U``      replaced by the keyed UID (below).
``C``      only claimed for dates/times by the option: ``DA`` and the date part of ``DT``
           are shifted by the case's whole-day offset; ``TM`` is retained unchanged when
           :attr:`DeidConfig.retain_times` is true (the default: a whole-day shift keeps
           times of day meaningful and intervals within a day intact) or else falls back to
           the basic action.  ``C`` on a non-temporal VR (Timezone Offset From UTC, binary
           timestamps) falls back to the basic action, which removes them.
=========  ====================================================================

Outside the table: every private attribute (odd group, including private creators and
private sequences), curves (50xx), overlays and every other 60xx element, group lengths,
command/file-meta elements found inside the data set, and *any public tag unknown to the
pydicom data dictionary* are removed.  Every ``DA``/``DT`` attribute anywhere is shifted;
every ``UI`` value is replaced unless it is a well-known DICOM UID (``1.2.840.10008.``) or
the attribute names a class, transfer syntax or coding resource (``*ClassUID``,
``*SyntaxUID``, ``CodingSchemeUID`` ...).  Unparsable dates and times are emptied.  Patient
age (``AS``) follows the table (removed).  An explicit-VR element whose VR the dictionary
does not allow for its tag is treated as damaged (typically a corrupted tag that would move
a value into a kept attribute) and removed -- or the file is refused when the element is
needed to read the image.

Kept text: after the table has been applied, every kept text element (CS, LO, LT, PN, SH,
ST, UC, UR, UT) at any depth is checked by one rule (:func:`_kept_text_kinds`): a part of
the patient's own name in any case or order (:func:`panel.privacy.name_parts`), a hard
finding of the free-text scanner (NHS number, a parent's name ...), or a direct identifier
(Patient ID, address ...).  Such an element is emptied and the file stored; the reason names
the attributes and the kinds, never the value.  Verification applies the same rule.

Refusals and hold-backs (points 1, 8, 9): anything pydicom cannot parse as a Part 10 file
without ``force`` is "not a DICOM file"; truncation that pydicom tolerates silently is
detected (short values, pixel data shorter than the image, incomplete encapsulation, image
attributes without pixel data); objects without pixel data and known non-image SOP classes
are refused.  Text burned into the pixels goes through the pixel text step
(:mod:`panel.imaging.pixelstep`, issue 17): every image but CT/MR/PT slices without a hint of
text is read, with the file's own header values (read before the profile removes them);
identifying text is masked in every frame (the pixel data rewritten, uncompressed), an image
the step is unsure of is stored but *held back* for a coordinator, and images without text or
with innocent annotations are stored untouched; BurnedInAnnotation becomes NO when nothing
identifying is left.  Recognizable visual features declared also hold an image back.  Reasons are fixed strings and never quote a
value from the file.  While a file is processed, pydicom's value validation, Python
warnings and ``pydicom`` log records of the working thread are suppressed, because pydicom
quotes offending values in them (see :func:`_quiet_pydicom`).

Verification (point 10): the de-identified file is written, then re-read from disk and
checked independently of the action table (:func:`verify_file`), kept text included; on any problem nothing
is stored and the reason names the attribute, never the value.

UIDs
----
New UID = ``"2.25." + decimal(first 128 bits of HMAC-SHA256(k_case, original_uid))`` where
``k_case = HMAC-SHA256(secret, case_reference)``.  The same input UID gives the same output
within a case, different cases give unrelated UIDs, and the mapping cannot be reversed by a
dictionary attack without the secret.

Memory and speed
----------------
One file is processed at a time and nothing is kept between files, so memory is bounded by
a small multiple of the largest single file regardless of series length.  The tag -> action
table is built once at import.  Elements are handled as pydicom's raw (undecoded) elements:
those needing no action are never decoded and are written back byte-for-byte (which is
also what keeps pixel data identical); those needing an action get a new raw value built
from their bytes.  Only sequences are decoded, to walk their items.  The output is written
by pydicom straight into a hidden temporary file (``.deid-*.tmp``, mode 0600) in the
destination folder, re-parsed from that file for verification without loading its pixel
data, hashed in streaming fashion, and atomically renamed to the destination only after
verification passed; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import io
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal

import pydicom
from pydicom import config as pydicom_config
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO, DicomFileLike
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

from panel.privacy import identifier_kinds, kind_label, name_parts

__all__ = [
    "DeidConfig",
    "DeidResult",
    "date_shift_for_case",
    "deidentify_file",
    "deidentify_tree",
    "verify_file",
    "PROFILE_ROWS",
    "TABLE_TAGS",
    "row_tag",
]

logger = logging.getLogger(__name__)

Status = Literal["stored", "held_back", "refused"]

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: Root of the UIDs that DICOM itself defines (SOP classes, transfer syntaxes, ...).
DICOM_STANDARD_UID_ROOT = "1.2.840.10008."

_ZERO_PREAMBLE = b"\x00" * 128
_UNDEFINED_LENGTH = 0xFFFFFFFF
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_MIN_SHIFT_DAYS = 365
_MAX_SHIFT_DAYS = 3650

_IMPLEMENTATION_CLASS_UID = "2.25." + str(
    int.from_bytes(hashlib.sha256(b"panel/imaging/deid implementation").digest()[:16], "big")
)
_IMPLEMENTATION_VERSION_NAME = "PANEL_DEID_1"
DEIDENTIFICATION_METHOD = [
    "DICOM PS3.15 E.1-1 Basic Profile",
    "Retain Longitudinal Modified Dates",
    "Panel deid 1",
]
_METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)

#: Dummy value written for action D, by VR.  None means "zero-length value".
_DUMMY_BY_VR: dict[str, Any] = {
    "AE": "ANONYMOUS",
    "AS": "000D",
    "CS": "ANONYMOUS",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMOUS",
    "LT": "ANONYMOUS",
    "PN": "ANONYMOUS",
    "SH": "ANONYMOUS",
    "ST": "ANONYMOUS",
    "TM": "000000",
    "UC": "ANONYMOUS",
    "UT": "ANONYMOUS",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
}
#: Values the de-identifier itself writes; an original equal to one of them reveals nothing.
_DUMMY_STRINGS = frozenset(str(v) for v in _DUMMY_BY_VR.values()) | {"YES", "MODIFIED"}


#: SOP class UID prefixes of non-image objects, with the name used in refusal messages.
_NON_IMAGE_CLASSES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report"),
    ("1.2.840.10008.5.1.4.1.1.104.", "encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT structure set"),
    ("1.2.840.10008.5.1.4.1.1.481.5", "RT plan"),
    ("1.2.840.10008.5.1.4.1.1.9.", "waveform"),
    ("1.2.840.10008.5.1.4.1.1.66", "raw data / spatial object"),
    ("1.2.840.10008.1.3.10", "DICOMDIR"),
)

#: Attributes whose original values are direct identifiers.  After de-identification no
#: element anywhere in the output may *contain* one of them (checked on raw bytes).
_IDENTIFIER_KEYWORDS = (
    "PatientID",
    "OtherPatientIDs",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "MedicalRecordLocator",
    "AccessionNumber",
    "AdmissionID",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ReferringPhysicianAddress",
    "InstitutionAddress",
)
_MIN_IDENTIFIER_LENGTH = 5
_MIN_NUMERIC_IDENTIFIER_LENGTH = 8

_ALLOWED_META_TAGS = frozenset(
    {0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013}
)

_CASE_REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_CS_RE = re.compile(r"^[A-Z0-9_ ]{1,16}$")
_DA_RE = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")
_DT_RE = re.compile(
    r"^(\d{4})(?:(\d{2})(?:(\d{2})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$"
)
_TM_RE = re.compile(
    r"^(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?|\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)$"
)


class Action(IntEnum):
    """What the de-identifier does with one data element."""

    KEEP = 0  #: leave the raw bytes untouched
    REMOVE = 1  #: X
    EMPTY = 2  #: Z (zero-length value / empty sequence)
    DUMMY = 3  #: D
    UID = 4  #: U (keyed replacement of every value)
    SHIFT = 5  #: DA/DT shifted by the case offset (option C)
    KEEP_TIME = 6  #: TM retained after format validation (option C)
    RECURSE = 7  #: sequence kept, every item de-identified


# ---------------------------------------------------------------------------
# Table E.1-1, loaded once at import
# ---------------------------------------------------------------------------


def _load_profile() -> list[dict[str, str]]:
    """Read Table E.1-1 from the package data (never from outside the project)."""
    text = (
        resources.files("panel")
        .joinpath("data")
        .joinpath("dicom-basic-profile.json")
        .read_text(encoding="utf-8")
    )
    rows = json.loads(text)["attributes"]
    if not isinstance(rows, list) or len(rows) < 500:
        raise RuntimeError("dicom-basic-profile.json does not look like Table E.1-1")
    return rows


PROFILE_ROWS: list[dict[str, str]] = _load_profile()
_TAG_RE = re.compile(r"^\(([0-9A-F]{4}),([0-9A-F]{4})\)$")


def row_tag(row: dict[str, str]) -> int | None:
    """Return the tag of a row, or None for the pattern rows (50xx, 60xx, private)."""
    m = _TAG_RE.match(row["tag"])
    return int(m.group(1) + m.group(2), 16) if m else None


def _dictionary_vr(tag: int) -> str | None:
    entry = DicomDictionary.get(tag)
    return entry[0] if entry else None


def _keyword(tag: int) -> str:
    """Keyword for messages: never a value, only the attribute's name or tag number."""
    entry = DicomDictionary.get(tag)
    if entry and entry[4]:
        return entry[4]
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _resolve_row(row: dict[str, str], vr: str | None, retain_times: bool) -> Action:
    """Turn one table row into an :class:`Action` (see the module docstring)."""
    basic = row["basic"]
    if row.get("retain_long_modified_dates") == "C":
        if vr in ("DA", "DT"):
            return Action.SHIFT
        if vr == "TM" and retain_times:
            return Action.KEEP_TIME
    if basic == "X/Z/U*":
        return Action.RECURSE
    if basic == "U" or (vr == "UI" and basic != "X"):
        return Action.UID
    if vr == "SQ":
        return Action.REMOVE if basic in ("X", "X/D") else Action.EMPTY
    resolved = {
        "X": Action.REMOVE,
        "Z": Action.EMPTY,
        "D": Action.DUMMY,
        "X/Z": Action.EMPTY,
        "X/D": Action.DUMMY,
        "Z/D": Action.DUMMY,
        "X/Z/D": Action.DUMMY,
    }.get(basic)
    if resolved is None:  # an action code this module does not know: be strict
        return Action.REMOVE
    return resolved


def _uid_is_preserved_attribute(keyword: str) -> bool:
    """UI attributes naming a class, transfer syntax or coding resource, never an instance."""
    return (
        keyword.endswith("ClassUID")
        or keyword.endswith("SyntaxUID")
        or keyword.endswith("ClassUIDInFile")
        or keyword.endswith("SyntaxUIDInFile")
        or "SOPClasses" in keyword
        or keyword in ("CodingSchemeUID", "ContextUID", "MappingResourceUID")
    )


def _build_rules(retain_times: bool) -> dict[int, Action]:
    """Tag -> action for every dictionary tag; tags absent from the result are removed."""
    rules: dict[int, Action] = {}
    for tag, entry in DicomDictionary.items():
        vr, keyword = entry[0], entry[4]
        if vr == "SQ":
            rules[tag] = Action.RECURSE
        elif vr in ("DA", "DT"):
            rules[tag] = Action.SHIFT
        elif vr == "UI":
            rules[tag] = Action.KEEP if _uid_is_preserved_attribute(keyword) else Action.UID
        else:
            rules[tag] = Action.KEEP
    for row in PROFILE_ROWS:
        tag = row_tag(row)
        if tag is not None:
            rules[tag] = _resolve_row(row, _dictionary_vr(tag), retain_times)
    return rules


#: Every tag listed in Table E.1-1 (independent of how its action is resolved).
TABLE_TAGS: frozenset[int] = frozenset(t for t in map(row_tag, PROFILE_ROWS) if t is not None)
#: Table TM attributes the modified-dates option lets us retain.
RETAINED_TIME_TAGS: frozenset[int] = frozenset(
    t
    for row in PROFILE_ROWS
    if (t := row_tag(row)) is not None
    and row.get("retain_long_modified_dates") == "C"
    and _dictionary_vr(t) == "TM"
)
_RULES_RETAIN_TIMES: dict[int, Action] = _build_rules(retain_times=True)
_RULES_EMPTY_TIMES: dict[int, Action] = _build_rules(retain_times=False)
_PRESERVED_UID_TAGS: frozenset[int] = frozenset(
    tag
    for tag, entry in DicomDictionary.items()
    if entry[0] == "UI" and tag not in TABLE_TAGS and _uid_is_preserved_attribute(entry[4])
)
_IDENTIFIER_TAGS: frozenset[int] = frozenset(
    {tag for tag, e in DicomDictionary.items() if e[4] in _IDENTIFIER_KEYWORDS}
    | {t for t in TABLE_TAGS if _dictionary_vr(t) == "PN"}
)


#: VRs an explicit-VR element may legitimately carry, by tag ("UN" is always allowed).
_ALLOWED_VRS: dict[int, frozenset[str]] = {
    tag: frozenset(entry[0].split(" or ")) | {"UN"} for tag, entry in DicomDictionary.items()
}
#: Attributes needed to read the image: a damaged one refuses the file instead of being
#: dropped.
_ESSENTIAL_TAGS = frozenset(
    {
        0x00080005,  # SpecificCharacterSet
        0x00080016,  # SOPClassUID
        0x00080018,  # SOPInstanceUID
        0x00280002,  # SamplesPerPixel
        0x00280004,  # PhotometricInterpretation
        0x00280006,  # PlanarConfiguration
        0x00280008,  # NumberOfFrames
        0x00280010,  # Rows
        0x00280011,  # Columns
        0x00280100,  # BitsAllocated
        0x00280101,  # BitsStored
        0x00280102,  # HighBit
        0x00280103,  # PixelRepresentation
        *_PIXEL_TAGS,
    }
)


def _is_structurally_removed(tag: int) -> bool:
    """Private, curve, overlay, group-length, command and misplaced file-meta elements."""
    group = tag >> 16
    return bool(
        group & 1
        or 0x5000 <= group <= 0x50FF
        or 0x6000 <= group <= 0x60FF
        or group <= 0x0002
        or (tag & 0xFFFF) == 0
    )


# ---------------------------------------------------------------------------
# Public configuration and result types
# ---------------------------------------------------------------------------


def date_shift_for_case(secret: bytes, case_reference: str) -> int:
    """Deterministic, keyed whole-day date offset for a case, in [-3650, -365] (never 0).

    The offset depends only on the deployment secret and the case reference, so every upload
    to the same case gets the same offset and intervals between scans are preserved, while
    the offset cannot be guessed without the secret.
    """
    if not secret:
        raise ValueError("secret must not be empty")
    digest = hmac.new(
        secret, b"panel/deid/date-shift/v1\x00" + case_reference.encode("utf-8"), hashlib.sha256
    ).digest()
    span = _MAX_SHIFT_DAYS - _MIN_SHIFT_DAYS + 1
    return -(_MIN_SHIFT_DAYS + int.from_bytes(digest[:8], "big") % span)


@dataclass(frozen=True)
class DeidConfig:
    """Per-case de-identification settings.

    ``secret`` is the per-deployment key (at least 16 bytes), ``case_reference`` the panel's
    case reference written as Patient Name/ID (letters, digits, ``._-``; at most 64), and
    ``date_shift_days`` the whole-day offset applied to every date (non-zero; normally
    :func:`date_shift_for_case`).  ``retain_times`` keeps TM values, as the modified-dates
    option allows; set it to False to empty/remove them per the basic profile instead.
    ``fsync`` flushes each output to disk before the atomic rename.
    """

    secret: bytes
    case_reference: str
    date_shift_days: int
    retain_times: bool = True
    fsync: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise ValueError("secret must be at least 16 bytes")
        if not _CASE_REFERENCE_RE.match(self.case_reference or ""):
            raise ValueError("case_reference must be 1-64 characters of A-Z a-z 0-9 . _ -")
        if not isinstance(self.date_shift_days, int) or self.date_shift_days == 0:
            raise ValueError("date_shift_days must be a non-zero whole number of days")
        if abs(self.date_shift_days) > 36500:
            raise ValueError("date_shift_days is implausibly large")

    @classmethod
    def for_case(cls, secret: bytes, case_reference: str, **kwargs: Any) -> DeidConfig:
        """Config with the keyed date shift of :func:`date_shift_for_case`."""
        return cls(secret, case_reference, date_shift_for_case(secret, case_reference), **kwargs)


@dataclass
class DeidResult:
    """Outcome of de-identifying one file.

    ``reason`` is a fixed human-readable message; it never contains a value from the file.
    The other fields are filled for ``stored`` and ``held_back`` results and describe the
    *de-identified* output (new UIDs, non-identifying geometry for ordering).
    """

    status: Status
    reason: str = ""
    modality: str | None = None
    sop_class_uid: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_instance_uid: str | None = None
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int | None = None
    transfer_syntax: str | None = None
    body_part: str | None = None
    instance_number: int | None = None
    slice_location: float | None = None
    image_position: tuple[float, float, float] | None = None
    bytes_written: int = 0
    sha256: str | None = None
    #: Kept text attributes emptied because they held an identifier (keywords, no values).
    blanked: tuple[str, ...] = ()
    #: What the pixel text step found (:mod:`panel.imaging.pixelstep`): clean, innocent,
    #: masked, held or skipped; None for a refused file.
    pixel_text: str | None = None
    #: The boxes filled (masked) or proposed (held), ``(x, y, width, height)`` in pixels.
    boxes: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def written(self) -> bool:
        """True when an output file exists (stored, or stored but held back)."""
        return self.status in ("stored", "held_back")

    @classmethod
    def refused(cls, reason: str) -> DeidResult:
        return cls(status="refused", reason=reason)


class _Refusal(Exception):
    """Internal: stop processing and refuse with a fixed, value-free message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------
# Byte-level helpers.  Values are handled as the raw bytes pydicom read, so nothing that
# needs no action is ever decoded and comparisons do not depend on the character set
# (input and output share the same Specific Character Set).
# ---------------------------------------------------------------------------

_PAD_STRIP = b" \x00"
#: VRs whose value is a single text that may legitimately contain a backslash.
_UNSPLIT_VRS = frozenset({"LT", "ST", "UT", "UR", "OB", "OW", "OD", "OF", "OL", "OV", "UN"})
_BINARY_DUMMY_SIZE = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "UV": 8, "SV": 8}


def _pad(value: bytes, vr: str) -> bytes:
    """Pad to even length as PS3.5 requires (NUL for UI, space for other text)."""
    if len(value) & 1:
        return value + (b"\x00" if vr == "UI" else b" ")
    return value


def _dummy_bytes(vr: str) -> bytes:
    """Encoded dummy value (action D) for a VR; empty when no dummy makes sense."""
    if vr in _BINARY_DUMMY_SIZE:
        return b"\x00" * _BINARY_DUMMY_SIZE[vr]
    dummy = _DUMMY_BY_VR.get(vr)
    if isinstance(dummy, str):
        return _pad(dummy.encode("ascii"), vr)
    return b""


def _parts(value: bytes, vr: str) -> list[bytes]:
    """The forms of a raw value that are compared: the whole value and each of its values."""
    whole = value.strip(_PAD_STRIP)
    if not whole:
        return []
    if vr in _UNSPLIT_VRS or b"\\" not in whole:
        return [whole]
    return [whole, *(p for p in (q.strip(_PAD_STRIP) for q in whole.split(b"\\")) if p)]


def _date_forms(value: bytes) -> list[bytes]:
    """The forms under which a DA/DT value is remembered: whole value and date part."""
    forms = [value]
    if len(value) >= 10 and value[4:5] == b"." and value[7:8] == b".":
        forms.append(value[0:4] + value[5:7] + value[8:10])
    elif len(value) > 8 and value[:8].isdigit():
        forms.append(value[:8])
    return forms


def _as_bytes_set(items: Iterable[str | bytes]) -> set[bytes]:
    """Normalise originals given as text or bytes to stripped byte strings."""
    out: set[bytes] = set()
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            out.add(bytes(item).strip(_PAD_STRIP))
            continue
        for codec in ("utf-8", "latin-1"):
            try:
                out.add(item.encode(codec).strip(_PAD_STRIP))
            except UnicodeEncodeError:
                continue
    out.discard(b"")
    return out


_DUMMY_BYTES_SET = _as_bytes_set(_DUMMY_STRINGS)


def _transform_ascii(value: bytes, fn: Any, vr: str) -> bytes | None:
    """Apply ``fn`` to each value of an ASCII-only VR (UI, DA, DT, TM).

    Returns the re-encoded, padded value, or None if any value cannot be understood: a
    value that cannot be parsed cannot be de-identified, so it is dropped, never kept.
    """
    try:
        text = value.decode("ascii").strip(" \x00")
    except UnicodeDecodeError:
        return None
    if not text:
        return b""
    out = []
    for item in text.split("\\"):
        item = item.strip(" \x00")
        if not item:
            out.append("")
            continue
        new = fn(item)
        if new is None:
            return None
        out.append(new)
    return _pad("\\".join(out).encode("ascii"), vr)


# ---------------------------------------------------------------------------
# Value transformations
# ---------------------------------------------------------------------------


def _shift_date_text(text: str, days: int) -> str | None:
    """Shift a DA value by whole days; None if it is not a valid date."""
    m = _DA_RE.match(text)
    if not m:
        return None
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _shift_datetime_text(text: str, days: int) -> str | None:
    """Shift the date part of a DT value, keeping its precision, time and UTC offset."""
    m = _DT_RE.match(text)
    if not m:
        return None
    year, month, day, rest, offset = m.groups()
    if (rest and not _valid_clock(rest)) or (offset and not _valid_utc_offset(offset)):
        return None
    try:
        if day is not None:
            d = date(int(year), int(month), int(day)) + timedelta(days=days)
            out = f"{d.year:04d}{d.month:02d}{d.day:02d}{rest or ''}"
        elif month is not None:
            d = date(int(year), int(month), 15) + timedelta(days=days)
            out = f"{d.year:04d}{d.month:02d}"
        else:
            years = round(days / 365.2425) or (1 if days > 0 else -1)
            new_year = int(year) + years
            if not 1 <= new_year <= 9999:
                return None
            out = f"{new_year:04d}"
    except (ValueError, OverflowError):
        return None
    return out + (offset or "")


def _valid_clock(text: str) -> bool:
    """HH[MM[SS[.F]]] (colons tolerated) within 00:00:00-23:59:60."""
    digits = text.split(".", 1)[0].replace(":", "")
    limits = (23, 59, 60)
    return all(int(digits[i : i + 2]) <= limits[i // 2] for i in range(0, len(digits), 2))


def _valid_utc_offset(text: str) -> bool:
    return int(text[1:3]) <= 14 and int(text[3:5]) <= 59


def _valid_time(text: str) -> str | None:
    """A TM value kept as it is if well formed, else None (dropped)."""
    return text if _TM_RE.match(text) and _valid_clock(text) else None


class _UidMapper:
    """Keyed, deterministic replacement UIDs under the 2.25 root (per-file cache only)."""

    __slots__ = ("_key", "_cache")

    def __init__(self, secret: bytes, case_reference: str) -> None:
        self._key = hmac.new(
            secret, b"panel/deid/uid/v1\x00" + case_reference.encode("utf-8"), hashlib.sha256
        ).digest()
        self._cache: dict[str, str] = {}

    def __call__(self, uid: str) -> str | None:
        if uid.startswith(DICOM_STANDARD_UID_ROOT):
            return uid
        new = self._cache.get(uid)
        if new is None:
            digest = hmac.new(self._key, uid.encode("ascii"), hashlib.sha256).digest()
            new = "2.25." + str(int.from_bytes(digest[:16], "big"))
            self._cache[uid] = new
        return new


# ---------------------------------------------------------------------------
# Originals collected while de-identifying (fed to the independent verification)
# ---------------------------------------------------------------------------


@dataclass
class _Originals:
    values: set[bytes] = field(default_factory=set)
    uids: set[bytes] = field(default_factory=set)
    dates: set[bytes] = field(default_factory=set)
    identifiers: set[bytes] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  #: the patient's names, as text


class _Context:
    """State for one file: config, rules, UID mapper and the originals seen."""

    __slots__ = (
        "config",
        "rules",
        "map_uid",
        "originals",
        "shift_date",
        "shift_datetime",
        "kept_texts",
    )

    def __init__(self, config: DeidConfig) -> None:
        shift = config.date_shift_days
        self.config = config
        self.rules = _RULES_RETAIN_TIMES if config.retain_times else _RULES_EMPTY_TIMES
        self.map_uid = _UidMapper(config.secret, config.case_reference)
        self.originals = _Originals()
        #: (data set, tag) of every kept text element, checked once the walk is done
        self.kept_texts: list[tuple[Dataset, int]] = []
        self.shift_date = lambda text: _shift_date_text(text, shift)
        self.shift_datetime = lambda text: _shift_datetime_text(text, shift)


def _element_bytes(elem: DataElement) -> bytes:
    """Bytes of an already-decoded (non-sequence) element, as text (for comparisons)."""
    value = elem.value
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    items = value if isinstance(value, (MultiValue, list, tuple)) else (value,)
    texts = []
    for item in items:
        text = getattr(item, "original_string", None)
        texts.append(str(item) if text is None else str(text))
    return "\\".join(texts).encode("utf-8", "replace")


def _collect(tag: int, vr: str, value: bytes, ctx: _Context) -> None:
    """Remember the original values of one element for the verification pass.

    Deliberately independent of the action chosen for the element: table attributes,
    UIDs, dates and direct identifiers are always collected, so a wrong action is caught.
    """
    if vr == "SQ" or not value:
        return
    parts = _parts(value, vr)
    if not parts:
        return
    originals = ctx.originals
    if tag in TABLE_TAGS and not (ctx.config.retain_times and tag in RETAINED_TIME_TAGS):
        originals.values.update(parts)
    if vr == "UI":
        if tag not in _PRESERVED_UID_TAGS:
            originals.uids.update(p for p in parts if not p.startswith(_STANDARD_ROOT_BYTES))
    elif vr in ("DA", "DT"):
        for p in parts:
            originals.dates.update(_date_forms(p))
    if tag in _PATIENT_NAME_TAGS:
        originals.names.add(_free_text(value))
    if tag in _IDENTIFIER_TAGS:
        for p in parts:
            originals.identifiers.add(p)
            if vr == "PN":  # components separated by spaces instead of carets
                originals.identifiers.add(p.replace(b"^", b" ").strip())


def _scannable_identifiers(identifiers: set[bytes], case_reference: str) -> set[bytes]:
    """Identifiers worth a substring scan of the whole output.

    Short or purely numeric strings would match unrelated values by chance (a 4-digit
    patient number occurs in random UID digits), and anything contained in text the
    de-identifier writes itself (dummies, method names, the case reference) would always
    match; both are left to the exact, per-attribute checks instead.
    """
    own = b"\n".join(
        [case_reference.encode("ascii"), *_DUMMY_BYTES_SET, _IMPLEMENTATION_VERSION_NAME.encode()]
        + [m.encode() for m in DEIDENTIFICATION_METHOD]
        + [m.encode() for _, m in _METHOD_CODES]
    ).upper()
    out = set()
    for ident in identifiers:
        has_letter = any(65 <= c <= 90 or 97 <= c <= 122 for c in ident)
        if len(ident) < (_MIN_IDENTIFIER_LENGTH if has_letter else _MIN_NUMERIC_IDENTIFIER_LENGTH):
            continue
        if ident.upper() in own:
            continue
        out.add(ident)
    return out


_STANDARD_ROOT_BYTES = DICOM_STANDARD_UID_ROOT.encode("ascii")


# ---------------------------------------------------------------------------
# Kept free text: identifiers in attributes the table keeps
# ---------------------------------------------------------------------------

#: VRs of text that is checked for identifiers wherever the table keeps it (any depth).
#: Coded strings (CS) are included: they are short, repeat across a series (so the check is
#: cached) and some devices put free text in them.  AE titles, numbers (DS, IS), UIDs, dates
#: and times are not free text.
_FREE_TEXT_VRS = frozenset({"CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
_FREE_TEXT_TAGS: frozenset[int] = frozenset(
    tag
    for tag, entry in DicomDictionary.items()
    if _FREE_TEXT_VRS.intersection(entry[0].split(" or "))
)
#: Attributes holding the patient's own names; their parts are looked for in kept text.
_PATIENT_NAME_KEYWORDS = (
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ResponsiblePerson",
)
_PATIENT_NAME_TAGS: frozenset[int] = frozenset(
    tag for tag, entry in DicomDictionary.items() if entry[4] in _PATIENT_NAME_KEYWORDS
)
#: Kind reported for a patient ID, address, accession number ... copied into kept text.
_DIRECT_IDENTIFIER = "patient_identifier"
#: Text this module writes itself: never taken for part of a patient's name.
_OWN_TEXTS: tuple[str, ...] = (
    *sorted(_DUMMY_STRINGS),
    _IMPLEMENTATION_VERSION_NAME,
    *DEIDENTIFICATION_METHOD,
    *(meaning for _, meaning in _METHOD_CODES),
)


def _free_text(value: bytes) -> str:
    """A raw text value as the scanner reads it: ``^`` (between the components of a person
    name) becomes a space and ``\\`` (between values) a semicolon."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    return text.strip(" \x00").replace("^", " ").replace("\\", "; ")


def _patient_name_parts(names: Iterable[str], case_reference: str) -> frozenset[str]:
    """Parts of the patient's names looked for in kept text (see :mod:`panel.privacy.known`)."""
    return _name_parts_cached(frozenset(names), case_reference)


@functools.lru_cache(maxsize=64)
def _name_parts_cached(names: frozenset[str], case_reference: str) -> frozenset[str]:
    return name_parts(sorted(names), ignore=(*_OWN_TEXTS, case_reference))


#: Kept values up to this size have their verdict cached (they repeat across a series).
_KEPT_TEXT_CACHE_SIZE = 1024


def _kept_text_kinds(
    value: bytes, names: frozenset[str], identifiers: tuple[bytes, ...] = ()
) -> tuple[str, ...]:
    """The rule for kept text, applied when de-identifying and again when verifying.

    Kinds of identifier in one raw text value: a part of the patient's name (any case or
    order), whatever the free-text scanner reports as a hard finding (NHS number, a parent's
    name ...), and any of the direct ``identifiers`` (patient ID, address ...) as bytes.
    """
    if len(value) <= _KEPT_TEXT_CACHE_SIZE:
        return _kept_text_kinds_cached(value, names, identifiers)
    return _kept_text_kinds_uncached(value, names, identifiers)


def _kept_text_kinds_uncached(
    value: bytes, names: frozenset[str], identifiers: tuple[bytes, ...]
) -> tuple[str, ...]:
    if not value.strip(_PAD_STRIP):
        return ()
    kinds = identifier_kinds(_free_text(value), names)
    if any(i in value for i in identifiers):
        kinds = (*kinds, _DIRECT_IDENTIFIER)
    return kinds


_kept_text_kinds_cached = functools.lru_cache(maxsize=8192)(_kept_text_kinds_uncached)


def _kinds_text(kinds: Iterable[str]) -> str:
    """``patient name, NHS number``: the kinds, never the values."""
    labels = []
    for kind in dict.fromkeys(kinds):
        label = kind_label(kind)
        labels.append(label if label[:2].isupper() else label[0].lower() + label[1:])
    return ", ".join(labels)


def _blank_kept_text(
    ctx: _Context, names: frozenset[str], identifiers: Iterable[bytes]
) -> list[tuple[str, tuple[str, ...]]]:
    """Empty every kept text element holding an identifier; return (keyword, kinds) of each.

    The whole value is emptied (zero length, valid for Type 2 and 3 attributes): a partial
    redaction could leave the rest of a name or number behind.  An element needed to read
    the image that holds an identifier refuses the file.
    """
    identifiers = tuple(sorted(identifiers))
    blanked: list[tuple[str, tuple[str, ...]]] = []
    for ds, key in ctx.kept_texts:
        elem = ds._dict.get(key)
        if elem is None:
            continue
        if isinstance(elem, RawDataElement):
            value = elem.value
            if not isinstance(value, (bytes, bytearray)):
                continue
        elif elem.VR == "SQ":
            continue
        else:
            value = _element_bytes(elem)
        kinds = _kept_text_kinds(bytes(value), names, identifiers)
        if not kinds:
            continue
        tag = int(key)
        if tag in _ESSENTIAL_TAGS:
            raise _Refusal("an attribute needed to read the image holds a patient identifier")
        if isinstance(elem, RawDataElement):
            ds._dict[key] = elem._replace(value=b"", length=0)
        else:
            elem.value = None
        blanked.append((_keyword(tag), kinds))
    return blanked


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------


def _apply_profile(ds: Dataset, ctx: _Context) -> None:
    """De-identify ``ds`` in place, recursing into every kept sequence.

    Works on pydicom's element dictionary directly (``Dataset._dict``, pydicom 3.x): raw,
    undecoded elements are replaced by new raw elements, so no value is decoded unless an
    action needs it and untouched elements (pixel data included) are written back
    byte-for-byte.
    """
    elements = ds._dict
    rules = ctx.rules
    for key in list(elements):
        tag = int(key)  # plain int: pydicom's BaseTag compares in Python, slowly
        if _is_structurally_removed(tag):
            del elements[key]
            continue
        elem = elements[key]
        explicit_vr = elem.VR
        if explicit_vr is not None and explicit_vr not in _ALLOWED_VRS.get(tag, (explicit_vr,)):
            # A VR the dictionary does not allow for this tag: the element is damaged or
            # re-tagged (for example a flipped bit turning a patient name into a kept
            # attribute), so its content cannot be trusted.
            if tag in _ESSENTIAL_TAGS:
                raise _Refusal("damaged DICOM file (unexpected value representation)")
            del elements[key]
            continue
        action = rules.get(tag, Action.REMOVE)
        if action is Action.KEEP:
            if tag in _FREE_TEXT_TAGS:
                ctx.kept_texts.append((ds, key))
            if tag not in TABLE_TAGS:
                continue
        entry = DicomDictionary.get(tag)
        vr = entry[0] if entry else (elem.VR or "UN")
        if isinstance(elem, RawDataElement) and action is not Action.RECURSE and elem.VR != "SQ":
            value = elem.value or b""
            _collect(tag, vr, value, ctx)
            new = _transform_raw(value, vr, action, ctx)
            if new is None:
                del elements[key]
            elif new is not value:
                elements[key] = elem._replace(value=new, length=len(new))
        else:
            _apply_decoded(ds, key, vr, action, ctx)


def _transform_raw(value: bytes, vr: str, action: Action, ctx: _Context) -> bytes | None:
    """New raw value for an element (None = remove; the same object = unchanged)."""
    if action is Action.REMOVE:
        return None
    if action is Action.EMPTY:
        return b""
    if action is Action.DUMMY:
        if vr == "UI":
            return _transform_ascii(value, ctx.map_uid, vr) or b""
        return b"" if vr == "SQ" else _dummy_bytes(vr)
    if action is Action.UID:
        return (_transform_ascii(value, ctx.map_uid, vr) or b"") if vr == "UI" else None
    if action is Action.SHIFT:
        if vr == "DA":
            return _transform_ascii(value, ctx.shift_date, vr) or b""
        if vr == "DT":
            return _transform_ascii(value, ctx.shift_datetime, vr) or b""
        return None
    if action is Action.KEEP_TIME:
        return (_transform_ascii(value, _valid_time, vr) or b"") if vr == "TM" else None
    if action is Action.KEEP:
        return value
    return None  # RECURSE on a non-sequence value: cannot be walked, so removed


def _apply_decoded(ds: Dataset, tag: int, vr: str, action: Action, ctx: _Context) -> None:
    """Handle sequences and elements pydicom has already decoded."""
    try:
        elem = ds[tag]  # decodes a raw sequence into items (whose elements stay raw)
    except Exception as exc:
        logger.info("DICOM element decode failed: %s", type(exc).__name__)
        raise _Refusal("damaged DICOM file (an element could not be decoded)") from None
    if elem.VR == "SQ":
        if action in (Action.RECURSE, Action.KEEP):
            for item in elem.value:
                _apply_profile(item, ctx)
        elif action is Action.REMOVE:
            del ds[tag]
        else:  # EMPTY, DUMMY, and anything else: zero items
            elem.value = Sequence()
        return
    value = _element_bytes(elem)
    _collect(int(tag), vr, value, ctx)
    new = _transform_raw(value, vr, action, ctx)
    if new is None:
        del ds[tag]
    elif new is value:
        return
    elif not new:
        elem.value = None
    elif elem.VR in _BINARY_DUMMY_SIZE:
        elem.value = 0
    else:
        elem.value = new.decode("latin-1").rstrip(" \x00")


@functools.lru_cache(maxsize=256)
def _deidentification_elements(
    case_reference: str, implicit_vr: bool, little_endian: bool
) -> tuple[RawDataElement, ...]:
    """The elements recording identity removal (PS3.15 E.1.1, CID 7050), encoded once.

    Patient Name and ID become the case reference.  The elements are built with pydicom,
    encoded with pydicom's writer in the data set's encoding and read back as raw
    elements, so every file can reuse the bytes (raw elements are immutable).
    """
    ds = Dataset()
    ds.PatientName = case_reference
    ds.PatientID = case_reference
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = list(DEIDENTIFICATION_METHOD)
    items = []
    for code, meaning in _METHOD_CODES:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = implicit_vr, little_endian
    write_dataset(fp, ds)
    encoded = read_dataset(io.BytesIO(fp.getvalue()), implicit_vr, little_endian)
    return tuple(encoded.get_item(tag) for tag in encoded.keys())


_METHOD_CODE_SEQUENCE_TAG = 0x00120064
#: The encoded De-identification Method Code Sequence values this module writes.
_METHOD_CODE_SEQUENCE_BYTES = frozenset(
    elem.value
    for implicit, little in ((False, True), (True, True), (False, False))
    for elem in _deidentification_elements("X", implicit, little)
    if elem.tag == _METHOD_CODE_SEQUENCE_TAG
)


def _set_deidentification_attributes(ds: Dataset, config: DeidConfig, ts: str) -> None:
    """Patient identity = case reference; record what was done."""
    _, _, implicit, little = _transfer_syntax_info(ts)
    elements = ds._dict
    for elem in _deidentification_elements(config.case_reference, implicit, little):
        elements[elem.tag] = elem


# ---------------------------------------------------------------------------
# Reading and checking the input
# ---------------------------------------------------------------------------

_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved_mode: int | None = None
_quiet_filter: tuple[Any, ...] | None = None
_quiet_local = threading.local()


class _DropWhileDeidentifying(logging.Filter):
    """Drop ``pydicom`` log records emitted by a thread that is de-identifying.

    Several pydicom messages quote values from the file (e.g. an unknown Specific
    Character Set); none of them may reach the server logs.  Thread-local, so logging
    from other threads is untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet_local, "active", False)


logging.getLogger("pydicom").addFilter(_DropWhileDeidentifying())


@contextlib.contextmanager
def _quiet_pydicom() -> Any:
    """Keep values from untrusted files out of warnings and logs while handling them.

    * pydicom's value validation is switched off (its warnings quote the offending value);
    * Python warnings are ignored (pydicom's charset warnings quote the value even when
      validation is off);
    * ``pydicom`` log records from this thread are dropped (see the filter above).

    pydicom's validation setting and the warnings filters are process-wide, so they are
    switched by the first concurrent user and restored by the last one; other threads
    simply see no pydicom validation warnings in that window.
    """
    global _quiet_depth, _quiet_saved_mode, _quiet_filter
    settings = pydicom_config.settings
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved_mode = settings.reading_validation_mode
            settings.reading_validation_mode = pydicom_config.IGNORE
            warnings.filterwarnings("ignore")
            _quiet_filter = warnings.filters[0]
        _quiet_depth += 1
    was_active = getattr(_quiet_local, "active", False)
    _quiet_local.active = True
    try:
        yield
    finally:
        _quiet_local.active = was_active
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                if _quiet_saved_mode is not None:
                    settings.reading_validation_mode = _quiet_saved_mode
                with contextlib.suppress(ValueError):
                    warnings.filters.remove(_quiet_filter)
                    getattr(warnings, "_filters_mutated", lambda: None)()
                _quiet_filter = None


def _read(src: str | os.PathLike[str] | IO[bytes]) -> Dataset:
    """Parse a DICOM Part 10 file without ``force``; refuse anything else."""
    try:
        if isinstance(src, (str, os.PathLike)) and os.path.getsize(src) == 0:
            raise _Refusal("not a DICOM file (empty file)")
        return pydicom.dcmread(src)
    except _Refusal:
        raise
    except InvalidDicomError:
        raise _Refusal("not a DICOM file") from None
    except Exception as exc:  # pydicom raises many types on damaged input
        logger.info("DICOM parse failed: %s", type(exc).__name__)
        raise _Refusal("damaged DICOM file (could not be parsed)") from None


def _text(ds: Dataset, tag: int) -> str:
    """An element's value as stripped text without decoding it into the dataset."""
    elem = ds._dict.get(tag)
    if elem is None:
        return ""
    if isinstance(elem, RawDataElement):
        value = elem.value
        if not isinstance(value, (bytes, bytearray)):
            return ""
        return bytes(value).decode("latin-1").strip(" \x00")
    return _element_bytes(elem).decode("utf-8", "replace").strip(" \x00")


def _int(text: Any) -> int | None:
    try:
        return int(float(str(text).split("\\")[0]))
    except (TypeError, ValueError, OverflowError):
        return None


def _us(ds: Dataset, tag: int) -> int | None:
    """An unsigned short attribute (Rows, Columns, ...) without decoding the dataset."""
    elem = ds._dict.get(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement):
        value = elem.value
        if not isinstance(value, (bytes, bytearray)) or len(value) < 2:
            return None
        return int.from_bytes(value[:2], "little" if elem.is_little_endian else "big")
    try:
        return int(elem.value)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _transfer_syntax_info(ts: str) -> tuple[bool, bool, bool, bool]:
    """(is a transfer syntax, encapsulated, implicit VR, little endian) for a TS UID."""
    uid = UID(ts)
    if not uid.is_transfer_syntax:
        return False, False, False, False
    return True, uid.is_encapsulated, uid.is_implicit_VR, uid.is_little_endian


def _check_complete(ds: Dataset) -> str:
    """Detect truncation/damage that pydicom tolerates silently; return the transfer syntax."""
    meta = getattr(ds, "file_meta", None)
    ts = _text(meta, 0x00020010) if meta is not None else ""
    if not ts or not _UID_RE.match(ts):
        raise _Refusal("damaged DICOM file (no transfer syntax in the file meta information)")
    if not _transfer_syntax_info(ts)[0]:
        raise _Refusal("unsupported transfer syntax")
    if len(ds._dict) == 0:
        raise _Refusal("truncated or damaged DICOM file (no data set could be read)")
    for elem in ds._dict.values():
        if (
            isinstance(elem, RawDataElement)
            and elem.length != _UNDEFINED_LENGTH
            and isinstance(elem.value, (bytes, bytearray))
            and len(elem.value) != elem.length
        ):
            raise _Refusal("truncated DICOM file (a value ends before its declared length)")
    return ts


def _check_is_image(ds: Dataset) -> str:
    """Refuse non-image objects (point 9); return the SOP Class UID."""
    sop_class = _text(ds, 0x00080016)
    for prefix, name in _NON_IMAGE_CLASSES:
        if sop_class.startswith(prefix):
            raise _Refusal(f"not an image ({name}); only images are accepted as scans")
    if 0x00420011 in ds._dict:
        raise _Refusal("not an image (encapsulated document); only images are accepted as scans")
    if not any(tag in ds._dict for tag in _PIXEL_TAGS):
        if 0x00280010 in ds._dict:
            raise _Refusal("truncated DICOM file (image attributes present but no pixel data)")
        raise _Refusal("not an image (no pixel data); only images are accepted as scans")
    if not sop_class or not _UID_RE.match(sop_class):
        raise _Refusal("damaged DICOM file (SOP Class UID missing or invalid)")
    if not _text(ds, 0x00080018):
        raise _Refusal("damaged DICOM file (SOP Instance UID missing)")
    return sop_class


def _check_pixel_data(ds: Dataset, ts: str) -> None:
    """Refuse pixel data that is shorter than its image attributes need (truncation)."""
    raw = ds._dict.get(0x7FE00010)
    if raw is None:
        return
    value = raw.value
    if not isinstance(value, (bytes, bytearray)):
        raise _Refusal("damaged DICOM file (pixel data could not be read)")
    _, encapsulated, _, little_endian = _transfer_syntax_info(ts)
    if encapsulated:
        _check_encapsulated(value, little_endian=little_endian)
        return
    rows, cols = _us(ds, 0x00280010), _us(ds, 0x00280011)
    bits = _us(ds, 0x00280100)
    spp = _us(ds, 0x00280002) or 1
    frames = _int(_text(ds, 0x00280008)) or 1
    if not rows or not cols or not bits:
        raise _Refusal("damaged DICOM image (Rows, Columns or Bits Allocated missing)")
    pixels = rows * cols * frames
    if _text(ds, 0x00280004) == "YBR_FULL_422":
        expected = pixels * 2 * bits // 8
    elif bits == 1:
        expected = (pixels * spp + 7) // 8
    else:
        expected = pixels * spp * bits // 8
    if len(value) < expected:
        raise _Refusal("truncated DICOM file (pixel data shorter than the image size)")


def _check_encapsulated(value: bytes, little_endian: bool) -> None:
    """Encapsulated pixel data must be a clean run of items (offset table + fragments)."""
    item = b"\xfe\xff\x00\xe0" if little_endian else b"\xff\xfe\xe0\x00"
    order: Literal["little", "big"] = "little" if little_endian else "big"
    pos, count, end = 0, 0, len(value)
    while pos < end:
        if value[pos : pos + 4] != item or pos + 8 > end:
            raise _Refusal("damaged DICOM file (encapsulated pixel data is malformed)")
        length = int.from_bytes(value[pos + 4 : pos + 8], order)
        pos += 8 + length
        count += 1
    if pos != end or count < 2:
        raise _Refusal("truncated or damaged DICOM file (encapsulated pixel data incomplete)")


#: Header values the pixel text step compares each word read with (name parts, IDs, dates,
#: the institution), read before the profile removes them; never stored or logged.
_PIXEL_HEADER_TAGS = (
    0x00100010,  # PatientName
    0x00101001,  # OtherPatientNames
    0x00101005,  # PatientBirthName
    0x00101060,  # PatientMotherBirthName
    0x00102297,  # ResponsiblePerson
    0x00100020,  # PatientID
    0x00101000,  # OtherPatientIDs
    0x00080050,  # AccessionNumber
    0x00380010,  # AdmissionID
    0x00101090,  # MedicalRecordLocator
    0x00100030,  # PatientBirthDate
    0x00080020,  # StudyDate
    0x00080021,  # SeriesDate
    0x00080022,  # AcquisitionDate
    0x00080023,  # ContentDate
    0x00080080,  # InstitutionName
    0x00080081,  # InstitutionAddress
    0x00101040,  # PatientAddress
)
#: Decoded values (rows x columns x frames x samples) above which pixels are not decoded to be
#: read: such an image is held back for a person to look at.
_MAX_OCR_VALUES = 160 * 1024 * 1024


HOLD_NOT_MASKED = "held back: text found in the image could not be masked automatically"


def _visual_hold_reason(ds: Dataset) -> str | None:
    """Point 8: a declaration no text reading can clear (a face, a tattoo ...)."""
    if _text(ds, 0x00280302).upper() == "YES":
        return "held back: recognizable visual features declared"
    return None


def _needs_ocr(ds: Dataset, sop_class: str) -> bool:
    """Point 8, by what the header says or hints (see :func:`pixelstep.dicom_needs_ocr`)."""
    from panel.imaging.pixelstep import dicom_needs_ocr

    has_overlay = any(0x6000 <= (int(tag) >> 16) <= 0x60FF for tag in ds._dict)
    return dicom_needs_ocr(
        modality=_text(ds, 0x00080060),
        sop_class=sop_class,
        image_type=_text(ds, 0x00080008),
        burned_in=_text(ds, 0x00280301),
        has_overlay=has_overlay,
        conversion_type=_text(ds, 0x00080064),
    )


def _pixel_header_values(ds: Dataset) -> list[str]:
    """The identifying header values as text (person names with their ``^`` as spaces)."""
    out: list[str] = []
    for tag in _PIXEL_HEADER_TAGS:
        text = _text(ds, tag)
        if not text:
            continue
        for value in text.split("\\"):
            value = value.replace("^", " ").replace("=", " ").strip()
            if value:
                out.append(value)
    return out


def _pixel_dataset(ds: Dataset, ts: str) -> Dataset:
    """A data set holding only the image pixel module of ``ds`` (shared, immutable raw
    elements) and its own file meta, for pydicom's decoders: decoding it converts nothing
    in ``ds``."""
    tmp = Dataset()
    tmp.file_meta = FileMetaDataset()
    tmp.file_meta.TransferSyntaxUID = ts
    for key, elem in ds._dict.items():
        if (int(key) >> 16) in (0x0028, 0x7FE0):
            tmp._dict[key] = elem
    return tmp


def _frame_count(ds: Dataset) -> int:
    return max(_int(_text(ds, 0x00280008)) or 1, 1)


def _ocr_view(frame: Any, meta: dict[str, Any], tmp: Dataset) -> Any:
    """A decoded frame as a person would see it (palette colour through its table)."""
    if str(meta.get("photometric_interpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        return apply_color_lut(frame, tmp)
    return frame


def _read_pixel_text(ds: Dataset, ts: str, step: Any, header_values: list[str]) -> Any:
    """Decode the sampled frames of ``ds`` and run the pixel text step over them."""
    from pydicom.pixels import get_decoder

    from panel.imaging.pixelstep import sample_frames

    rows, cols = _us(ds, 0x00280010) or 0, _us(ds, 0x00280011) or 0
    frames = _frame_count(ds)
    spp = _us(ds, 0x00280002) or 1
    if 0x7FE00010 not in ds._dict or rows * cols * frames * spp > _MAX_OCR_VALUES:
        return step.unreadable()
    tmp = _pixel_dataset(ds, ts)
    views = []
    try:
        decoder = get_decoder(ts)
        for index in sample_frames(frames):
            frame, meta = decoder.as_array(tmp, index=index if frames > 1 else None, as_rgb=True)
            views.append(_ocr_view(frame, meta, tmp))
    except Exception as exc:  # noqa: BLE001 - any decoding failure: a person must look
        logger.info("pixels not decoded for the pixel text step: %s", type(exc).__name__)
        return step.unreadable()
    return step.check(views, header_values=header_values)


def _write_masked(ds: Dataset, ts: str, boxes: list[tuple[int, int, int, int]]) -> str:
    """Fill ``boxes`` in every frame of ``ds``'s pixels and put the result back uncompressed
    (Explicit VR Little Endian when the original was compressed; the same transfer syntax
    otherwise). Returns the new transfer syntax; raises :class:`_Refusal` if it cannot."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import ExplicitVRLittleEndian

    from panel.imaging.pixelstep import mask_frames

    tmp = _pixel_dataset(ds, ts)
    try:
        pixels, meta = get_decoder(ts).as_array(tmp, as_rgb=True)
    except Exception as exc:  # noqa: BLE001
        logger.info("pixels not decoded for masking: %s", type(exc).__name__)
        raise _Refusal("the pixels could not be decoded to mask the text found in them") from None
    bits = int(meta.get("bits_allocated", _us(ds, 0x00280100) or 0))
    if bits not in (8, 16, 32) or pixels.dtype.kind not in "iu":
        raise _Refusal("the text found in the pixels cannot be masked in this pixel format")
    photometric = str(meta.get("photometric_interpretation", _text(ds, 0x00280004)))
    if photometric == "MONOCHROME1":
        fill: Any = pixels.max()
    elif photometric == "MONOCHROME2":
        fill = pixels.min()
    else:
        fill = 0
    multi = _frame_count(ds) > 1
    masked = mask_frames(pixels, boxes, frames=multi, fill=fill)
    _, encapsulated, _, little = _transfer_syntax_info(ts)
    new_ts = ExplicitVRLittleEndian if encapsulated else ts
    data = masked.astype(masked.dtype.newbyteorder("<" if little else ">"), copy=False).tobytes()
    if len(data) & 1:
        data += b"\x00"
    elements = ds._dict
    for tag in (0x7FE00001, 0x7FE00002, 0x7FE00008, 0x7FE00009):  # offset tables, float pixels
        elements.pop(tag, None)
    ds.add_new(0x7FE00010, "OB" if bits == 8 else "OW", data)
    if photometric != _text(ds, 0x00280004):
        ds.PhotometricInterpretation = photometric  # YBR decoded to RGB
    if (_us(ds, 0x00280002) or 1) > 1:
        ds.PlanarConfiguration = 0  # decoded pixels are colour-by-pixel
    return str(new_ts)


# ---------------------------------------------------------------------------
# Verification (independent second pass over the written bytes)
# ---------------------------------------------------------------------------


#: VRs whose elements are always checked (sequences are walked).
_CHECKED_VRS = frozenset({"UI", "DA", "DT", "SQ"})
#: VRs not scanned for identifiers: their values are digits we generate (UIDs, dates, times).
_NO_SCAN_VRS = frozenset({"UI", "DA", "DT", "TM"})


@dataclass
class _VerifyState:
    values: set[bytes]
    uids: set[bytes]
    dates: set[bytes]
    id_bytes: tuple[bytes, ...]
    retained_tags: frozenset[int]
    problems: list[str]
    fh: IO[bytes] | None = None  # the file, for deferred top-level values
    names: frozenset[str] = frozenset()  # parts of the patient's names


def verify_file(
    path: str | os.PathLike[str],
    original_values: Iterable[str | bytes],
    original_uids: Iterable[str | bytes],
    original_dates: Iterable[str | bytes],
    *,
    identifiers: Iterable[str | bytes] = (),
    retained_tags: frozenset[int] = RETAINED_TIME_TAGS,
    patient_names: Iterable[str] = (),
    case_reference: str = "",
) -> list[str]:
    """Re-read a de-identified file and list every problem found (empty list = clean).

    Checks: zeroed preamble and DICM prefix; the file meta holds only the expected
    elements and MediaStorageSOPInstanceUID == SOPInstanceUID; at every depth, no private,
    curve or overlay element, no Table E.1-1 attribute holding an original value (TM
    attributes in ``retained_tags`` excepted), no UI value equal to an original UID, no
    DA/DT value equal to an original date, no element whose bytes contain a direct
    identifier, no text element holding an identifier by the kept-text rule (a part of one of
    ``patient_names`` in any case or order, or a hard finding of the free-text scanner);
    PatientIdentityRemoved is YES.  ``case_reference`` is what the file was de-identified for
    (its words are never taken for a name part).

    Originals may be given as text or bytes.  Problems name the attribute (keyword or tag)
    and never include a value.
    """
    with open(path, "rb") as fh, _quiet_pydicom():
        return _verify_open(
            fh,
            _as_bytes_set(original_values),
            _as_bytes_set(original_uids),
            _as_bytes_set(original_dates),
            _as_bytes_set(identifiers),
            retained_tags,
            _patient_name_parts(patient_names, case_reference),
        )


#: Values larger than this are skipped when the output is re-parsed for verification and
#: read from the file only if a check needs them (pixel data never does).
_VERIFY_DEFER_SIZE = 64 * 1024


def _verify_open(
    fh: IO[bytes],
    values: set[bytes],
    uids: set[bytes],
    dates: set[bytes],
    identifiers: set[bytes],
    retained_tags: frozenset[int],
    names: frozenset[str] = frozenset(),
) -> list[str]:
    """The checks of :func:`verify_file` on an open file (read from its start)."""
    problems: list[str] = []
    fh.seek(0)
    head = fh.read(132)
    if len(head) < 132 or head[:128] != _ZERO_PREAMBLE:
        problems.append("preamble: not zeroed")
    if head[128:132] != b"DICM":
        problems.append("file: no DICM prefix")
        return problems
    fh.seek(0)
    try:
        ds = pydicom.dcmread(fh, defer_size=_VERIFY_DEFER_SIZE)
    except Exception as exc:
        return [f"file: cannot be re-read ({type(exc).__name__})"]
    meta = ds.file_meta
    for tag in meta.keys():
        if int(tag) not in _ALLOWED_META_TAGS:
            problems.append(f"{_keyword(int(tag))}: unexpected file meta element")
    meta_uid = _text(meta, 0x00020003)
    if meta_uid != _text(ds, 0x00080018):
        problems.append("MediaStorageSOPInstanceUID: differs from SOPInstanceUID")
    if meta_uid.encode("latin-1") in uids:
        problems.append("MediaStorageSOPInstanceUID: original UID")
    if _text(ds, 0x00120062) != "YES":
        problems.append("PatientIdentityRemoved: not YES")
    # Direct identifiers: one fast scan of everything but the pixel data; only on a hit
    # are elements scanned one by one to name the attribute.
    header = _without_pixel_data(ds, fh)
    suspects = tuple(i for i in identifiers if i in header)
    state = _VerifyState(values, uids, dates, suspects, retained_tags, problems, fh, names)
    _verify_dataset(ds, state)
    return list(dict.fromkeys(problems))


def _raw_value(raw: RawDataElement, fh: IO[bytes] | None) -> bytes:
    """A top-level raw element's value, reading a deferred value from the file."""
    if raw.value is not None:
        return raw.value
    if raw.length == _UNDEFINED_LENGTH or fh is None:
        return b""
    fh.seek(raw.value_tell)
    return fh.read(raw.length)


def _without_pixel_data(ds: Dataset, fh: IO[bytes]) -> bytes:
    """The whole file except the values of the top-level pixel data elements."""
    spans = []
    for tag in _PIXEL_TAGS:
        raw = ds._dict.get(tag)
        if isinstance(raw, RawDataElement):
            size = raw.length if raw.value is None else len(raw.value)
            spans.append((raw.value_tell, raw.value_tell + size))
    pieces, pos = [], 0
    for start, end in sorted(spans):
        fh.seek(pos)
        pieces.append(fh.read(start - pos))
        pos = end
    fh.seek(pos)
    pieces.append(fh.read())
    return b"".join(pieces)


def _verify_dataset(ds: Dataset, st: _VerifyState) -> None:
    problems = st.problems
    elements = ds._dict
    for key in list(elements):
        elem = elements[key]
        tag = int(key)  # plain int: pydicom's BaseTag compares in Python, slowly
        group = tag >> 16
        if group & 1:
            problems.append(f"({group:04X},{tag & 0xFFFF:04X}): private attribute present")
            continue
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:
            problems.append(f"({group:04X},{tag & 0xFFFF:04X}): curve/overlay present")
            continue
        if tag in _PIXEL_TAGS:
            continue
        if isinstance(elem, RawDataElement) and elem.value is None and elem.length:
            # deferred while parsing (large value): take it from the encoded bytes
            elem = elements[key] = elem._replace(value=_raw_value(elem, st.fh))
        if tag == _METHOD_CODE_SEQUENCE_TAG and isinstance(elem, RawDataElement):
            if elem.value in _METHOD_CODE_SEQUENCE_BYTES:
                continue  # exactly the constant this module writes: nothing to check
        entry = DicomDictionary.get(tag)
        vr = entry[0] if entry else (elem.VR or "UN")
        raw = isinstance(elem, RawDataElement)
        if (
            raw
            and not st.id_bytes
            and vr not in _CHECKED_VRS
            and elem.VR not in _CHECKED_VRS
            and tag not in TABLE_TAGS
            and tag not in _FREE_TEXT_TAGS
            and elem.VR not in _FREE_TEXT_VRS
        ):
            continue  # nothing to check on this element
        if vr == "SQ" or elem.VR == "SQ" or not raw:
            try:
                decoded = ds[key]
            except Exception:
                problems.append(f"{_keyword(tag)}: cannot be decoded")
                continue
            if decoded.VR == "SQ":
                for item in decoded.value:
                    _verify_dataset(item, st)
                continue
            value = _element_bytes(decoded)
        else:
            value = elem.value or b""
        if not value:
            continue
        if st.id_bytes and vr not in _NO_SCAN_VRS and any(i in value for i in st.id_bytes):
            problems.append(f"{_keyword(tag)}: contains a direct identifier")
        if vr in _FREE_TEXT_VRS or elem.VR in _FREE_TEXT_VRS:
            kinds = _kept_text_kinds(value, st.names)
            if kinds:
                problems.append(f"{_keyword(tag)}: holds an identifier ({_kinds_text(kinds)})")
        parts = _parts(value, vr)
        if tag in TABLE_TAGS and not (vr == "TM" and tag in st.retained_tags):
            if any(p in st.values for p in parts):
                problems.append(f"{_keyword(tag)}: original value")
        if vr == "UI":
            if any(p in st.uids for p in parts):
                problems.append(f"{_keyword(tag)}: original UID")
        elif vr in ("DA", "DT"):
            if any(form in st.dates for p in parts for form in _date_forms(p)):
                problems.append(f"{_keyword(tag)}: original date")


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _build_file_meta(sop_class: str, sop_instance: str, ts: str) -> FileMetaDataset:
    """New File Meta Information: nothing of the original meta is carried over.

    The group length is computed here (the meta group is always Explicit VR Little Endian:
    8 header bytes per element, 12 for OB, values padded to even length) so that pydicom
    can write the group without encoding it twice; a wrong length would make the output
    unreadable and be caught by verification.
    """
    meta = FileMetaDataset()
    meta.FileMetaInformationGroupLength = 0
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = _IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = _IMPLEMENTATION_VERSION_NAME
    texts = (sop_class, sop_instance, ts, _IMPLEMENTATION_CLASS_UID, _IMPLEMENTATION_VERSION_NAME)
    meta.FileMetaInformationGroupLength = (12 + 2) + sum(8 + len(t) + (len(t) & 1) for t in texts)
    return meta


def _encode(ds: Dataset, ts: str, fh: IO[bytes]) -> None:
    """Write ``ds`` to ``fh`` as a DICOM Part 10 file with pydicom's writer.

    Zeroed preamble, ``DICM``, the rebuilt file meta (see :func:`_build_file_meta`), then
    the data set in the original transfer syntax.  Deflated data sets go through
    ``dcmwrite``; otherwise pydicom's two writer steps are called directly, which avoids
    ``dcmwrite``'s defensive copy of the file meta.
    """
    if ts == "1.2.840.10008.1.2.1.99":
        pydicom.dcmwrite(fh, ds, enforce_file_format=True)
        return
    _, _, implicit, little = _transfer_syntax_info(ts)
    fp = DicomFileLike(fh)
    fp.write(_ZERO_PREAMBLE)
    fp.write(b"DICM")
    write_file_meta_info(fp, ds.file_meta, enforce_standard=False)
    fp.is_implicit_VR, fp.is_little_endian = implicit, little
    write_dataset(fp, ds)


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


def _result_fields(ds: Dataset) -> dict[str, Any]:
    """Non-identifying descriptors of the de-identified image, for listing and ordering."""

    def cs(tag: int) -> str | None:
        text = _text(ds, tag).upper()
        return text if _CS_RE.match(text) else None

    def uid(tag: int) -> str | None:
        text = _text(ds, tag)
        return text if _UID_RE.match(text) else None

    def floats(tag: int) -> list[float] | None:
        try:
            return [float(v) for v in _text(ds, tag).split("\\")]
        except ValueError:
            return None

    ipp = floats(0x00200032)
    location = floats(0x00201041)
    return {
        "modality": cs(0x00080060),
        "sop_class_uid": uid(0x00080016),
        "study_uid": uid(0x0020000D),
        "series_uid": uid(0x0020000E),
        "sop_instance_uid": uid(0x00080018),
        "rows": _us(ds, 0x00280010),
        "columns": _us(ds, 0x00280011),
        "number_of_frames": _int(_text(ds, 0x00280008)) or 1,
        "body_part": cs(0x00180015),
        "instance_number": _int(_text(ds, 0x00200013)),
        "slice_location": location[0] if location and len(location) == 1 else None,
        "image_position": (ipp[0], ipp[1], ipp[2]) if ipp and len(ipp) == 3 else None,
    }


def deidentify_file(
    src: str | os.PathLike[str] | IO[bytes],
    dst_path: str | os.PathLike[str],
    config: DeidConfig,
    *,
    held_path: str | os.PathLike[str] | None = None,
    pixel_step: Any = None,
) -> DeidResult:
    """De-identify one DICOM file to ``dst_path`` (to ``held_path`` instead, when given, if
    the file is held back, so a held-back file never appears next to the clean ones).

    Returns ``stored`` (safe to show), ``held_back`` (written, but possibly burned-in text:
    a coordinator must release it) or ``refused`` (nothing written).  Never raises for bad
    input.  The de-identified file is written to a hidden temporary file in the destination
    folder, re-read and checked as :func:`verify_file` does, and atomically renamed to
    ``dst_path`` only if verification passed.  On any failure nothing is left at
    ``dst_path`` (an existing file there is untouched) and the temporary file is removed.
    """
    dst = Path(dst_path)
    held = Path(held_path) if held_path is not None else None
    try:
        with _quiet_pydicom():
            return _deidentify(src, dst, config, held, pixel_step)
    except _Refusal as refusal:
        return DeidResult.refused(refusal.reason)
    except Exception as exc:  # never leak values through exception text
        logger.error("de-identification failed with %s", type(exc).__name__)
        return DeidResult.refused(f"internal error while de-identifying ({type(exc).__name__})")


def _deidentify(
    src: str | os.PathLike[str] | IO[bytes],
    dst: Path,
    config: DeidConfig,
    held: Path | None,
    pixel_step: Any = None,
) -> DeidResult:
    """The body of :func:`deidentify_file`; raises :class:`_Refusal` to refuse."""
    from panel.imaging.pixelstep import PixelStep

    ds = _read(src)
    ts = _check_complete(ds)
    sop_class = _check_is_image(ds)
    _check_pixel_data(ds, ts)
    step = pixel_step if pixel_step is not None else PixelStep()
    # The pixel text step: the header values it compares with are read before the profile
    # removes them (kept in this frame only, never stored or logged).
    if _needs_ocr(ds, sop_class):
        pixel = _read_pixel_text(ds, ts, step, _pixel_header_values(ds))
    else:
        pixel = step.skip()
    hold_reason = _visual_hold_reason(ds)
    if pixel.verdict == "masked" and not hold_reason:
        try:
            ts = _write_masked(ds, ts, pixel.boxes)
        except _Refusal:  # cannot be masked here: a person decides, with the proposed boxes
            pixel.verdict, pixel.fixed_reason = "held", HOLD_NOT_MASKED
    if pixel.verdict == "held":
        hold_reason = hold_reason or pixel.hold_reason
    if hold_reason and held is not None:
        dst = held

    ctx = _Context(config)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:  # remember the meta's instance UIDs (raw: the meta may be damaged)
        for tag in (0x00020003, 0x00020100):
            value = _text(meta, tag)
            if value:
                _collect(0x00080018, "UI", value.encode("latin-1"), ctx)
    _apply_profile(ds, ctx)
    originals = ctx.originals
    names = _patient_name_parts(originals.names, config.case_reference)
    identifiers = _scannable_identifiers(originals.identifiers, config.case_reference)
    blanked = _blank_kept_text(ctx, names, identifiers)
    if blanked:
        logger.info(
            "kept text emptied: %s",
            "; ".join(f"{kw} ({_kinds_text(kinds)})" for kw, kinds in blanked),
        )
    if pixel.verdict in ("clean", "innocent", "masked") and not hold_reason:
        ds.BurnedInAnnotation = "NO"  # nothing identifying is left in the pixels
    _set_deidentification_attributes(ds, config, ts)
    sop_instance = _text(ds, 0x00080018)
    if not sop_instance:
        raise _Refusal("damaged DICOM file (SOP Instance UID missing)")
    ds.file_meta = _build_file_meta(sop_class, sop_instance, ts)
    ds.preamble = _ZERO_PREAMBLE
    fields = _result_fields(ds)

    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=dst.parent, prefix=".deid-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as fh:
            try:
                _encode(ds, ts, fh)
                fh.flush()
            except Exception as exc:
                logger.info("DICOM write failed: %s", type(exc).__name__)
                raise _Refusal("could not rewrite the DICOM file") from None
            del ds  # nothing of the original is needed any more
            problems = _verify_open(
                fh,
                originals.values - _DUMMY_BYTES_SET - {config.case_reference.encode("ascii")},
                originals.uids,
                originals.dates,
                identifiers,
                RETAINED_TIME_TAGS if config.retain_times else frozenset(),
                names,
            )
            if problems:
                names = sorted({p.split(":", 1)[0] for p in problems})
                logger.warning("de-identification verification failed: %s", ", ".join(names))
                raise _Refusal("verification failed: " + ", ".join(names[:8]))
            fh.seek(0)
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            size = os.fstat(fh.fileno()).st_size
            if config.fsync:
                os.fsync(fh.fileno())
        os.replace(tmp_path, dst)
        tmp_path = ""
    finally:
        if tmp_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
    verdict = pixel.verdict
    if hold_reason and verdict != "held":
        verdict = "held"  # held for recognizable features: the reviewer sees what OCR found
    return DeidResult(
        status="held_back" if hold_reason else "stored",
        reason=hold_reason or _stored_reason(blanked, pixel),
        transfer_syntax=ts,
        bytes_written=size,
        sha256=digest,
        blanked=tuple(kw for kw, _ in blanked),
        pixel_text=verdict,
        boxes=tuple(tuple(int(v) for v in b) for b in pixel.boxes),  # type: ignore[misc]
        **fields,
    )


def _stored_reason(blanked: list[tuple[str, tuple[str, ...]]], pixel: Any = None) -> str:
    """The reason of a stored file: says which kept attributes were emptied, and why, and how
    many boxes of text were masked in the pixels."""
    reason = "de-identified"
    if blanked:
        keywords = ", ".join(kw for kw, _ in blanked)
        kinds = _kinds_text(k for _, ks in blanked for k in ks)
        reason += f"; emptied {keywords} (identifier found: {kinds})"
    if pixel is not None and pixel.verdict == "masked":
        reason += f"; {pixel.masked_text}"
    return reason


def deidentify_tree(
    src_dir: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    config: DeidConfig,
    *,
    held_dir: str | os.PathLike[str] | None = None,
    pixel_step: Any = None,
) -> list[tuple[str, DeidResult]]:
    """De-identify every regular file under ``src_dir`` as one case.

    Each output goes to the same relative path under ``dst_dir`` -- or under ``held_dir``,
    when given, if it is held back; refused files (including anything that is not DICOM)
    are not copied.  Symbolic links are skipped.  Files are
    processed one at a time in sorted order, so memory does not grow with the series.
    """
    src_root = Path(src_dir)
    dst_root = Path(dst_dir)
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(src_root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            files.append(path)
    from panel.imaging.pixelstep import PixelStep

    step = pixel_step if pixel_step is not None else PixelStep()  # one per run: its reuse
    results: list[tuple[str, DeidResult]] = []
    for path in files:
        rel = path.relative_to(src_root).as_posix()
        held = Path(held_dir) / rel if held_dir is not None else None
        results.append(
            (rel, deidentify_file(path, dst_root / rel, config, held_path=held, pixel_step=step))
        )
    return results

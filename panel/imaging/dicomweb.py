"""DICOMweb (issue 19): STOW-RS in, QIDO-RS and WADO-RS out (the routes: panel/api/dicomweb_views.py).

**STOW-RS in.** A hospital system holding a DICOMweb sender token posts a study as
``multipart/related; type="application/dicom"``. :func:`store` reads the body as a stream
(:func:`iter_parts`, a small streaming multipart parser: no part is ever held in memory), writes
each part to a temporary file, reads its header fields with pydicom (``stop_before_pixels``)
and hands it to an :class:`~panel.imaging.routing.Inbox` (quarantine, then routing to the
case's upload pipeline on close, exactly as the DICOM node does). A part that cannot be read or
is not accepted is listed in the answer's Failed SOP Sequence with its PS3.18 failure reason;
a broken or cut-off body keeps nothing (:meth:`Inbox.abort`). Nothing is logged but counts.

**QIDO-RS and WADO-RS out.** The released (``FileStatus.STORED``) de-identified DICOM files of
one case: the attributes QIDO answers come from the stored files' own headers (already
de-identified), the UIDs are the new ones.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from panel.imaging import routing

log = logging.getLogger("panel.imaging.dicomweb")

CHUNK = 64 * 1024
MAX_PART_HEADER = 16 * 1024

#: Failure reasons of the Store Instances response (PS3.18 Table I.2-1, from PS3.4's C-STORE
#: statuses): refused for lack of resources, not matching (its SOP class, or the study of the
#: URL), cannot understand, SOP class not supported, duplicate SOP instance, processing failure.
OUT_OF_RESOURCES = 0xA700
NOT_MATCHING = 0xA900
CANNOT_UNDERSTAND = 0xC000
SOP_CLASS_NOT_SUPPORTED = 0x0122
DUPLICATE_INSTANCE = 0x0111
PROCESSING_FAILURE = 0x0110

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"


class MultipartError(ValueError):
    """The body is not a well-formed multipart message (the text says why; no content)."""


class Truncated(MultipartError):
    """The body ended before its closing boundary (a client that gave up, a cut connection)."""


# --------------------------------------------------------------------------- media types
def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``'multipart/related; type="application/dicom"; boundary=x'`` ->
    ``("multipart/related", {"type": "application/dicom", "boundary": "x"})``."""
    parts = _split_params(value or "")
    mime = parts[0].strip().lower() if parts else ""
    params: dict[str, str] = {}
    for item in parts[1:]:
        name, sep, val = item.partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        params[name.strip().lower()] = val
    return mime, params


def _split_params(value: str) -> list[str]:
    """Split on ``;`` outside quoted strings."""
    out, cur, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _split_accept(value: str) -> list[str]:
    out, cur, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out if p.strip()]


def multipart_choice(accept: str | None, part_type: str) -> str | None:
    """What a ``multipart/related; type=<part_type>`` answer may use, by the Accept header:
    the transfer syntax asked for (``"*"``: any; ``""``: the default), or None when the header
    accepts no such answer. No header, ``*/*`` and ``multipart/*`` accept the default."""
    if not accept or not accept.strip():
        return ""
    for item in _split_accept(accept):
        mime, params = parse_media_type(item)
        try:
            if float(params.get("q", "1")) <= 0:
                continue
        except ValueError:
            continue
        if mime in ("*/*", "multipart/*"):
            return ""
        if mime != "multipart/related":
            continue
        wanted = params.get("type", part_type).lower()
        if wanted not in (part_type, "*/*", part_type.split("/")[0] + "/*"):
            continue
        return params.get("transfer-syntax", "")
    return None


# --------------------------------------------------------------------------- streaming parser
MAX_BOUNDARY = 200


def iter_parts(
    stream: IO[bytes], boundary: str, *, chunk: int = CHUNK
) -> Iterator[tuple[str, Any]]:
    """Read a multipart body from ``stream`` and yield events: ``("part", headers)`` (a dict
    of lower-case names), ``("data", bytes)`` (any number, at most about ``chunk`` bytes each),
    ``("end", None)`` after each part. Raises :class:`Truncated` when the stream ends before
    the closing boundary and :class:`MultipartError` for a malformed body."""
    # RFC 2046 allows 70 characters; Orthanc's DICOMweb plugin sends 73 (two UUIDs), so be
    # liberal up to a bound that still keeps the parser's look-behind small.
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise MultipartError(
            f"the multipart boundary is missing or longer than {MAX_BOUNDARY} characters"
        )
    delim = b"\r\n--" + boundary.encode("latin-1")
    keep = len(delim) + 4
    buf = bytearray(b"\r\n")  # the first boundary may start the body (no CRLF before it)
    eof = False
    state = "preamble"

    def more() -> None:
        nonlocal eof
        if eof:
            raise Truncated("the body ended before the closing multipart boundary")
        data = stream.read(chunk)
        if not data:
            eof = True
            raise Truncated("the body ended before the closing multipart boundary")
        buf.extend(data)

    while True:
        if state == "preamble":
            i = buf.find(delim)
            if i < 0:
                if len(buf) > keep:
                    del buf[: len(buf) - keep]
                more()
                continue
            del buf[: i + len(delim)]
            state = "after-boundary"
        elif state == "after-boundary":
            while len(buf) < 2:
                more()
            if buf[:2] == b"--":
                return  # the closing boundary; the epilogue is not read
            j = buf.find(b"\r\n")
            while j < 0:
                if len(buf) > 256:
                    raise MultipartError("a multipart boundary line is malformed")
                more()
                j = buf.find(b"\r\n")
            if buf[:j].strip(b" \t"):
                raise MultipartError("a multipart boundary line is malformed")
            del buf[: j + 2]
            state = "headers"
        elif state == "headers":
            if buf[:2] == b"\r\n":
                head, rest = b"", 2
            else:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(buf) > MAX_PART_HEADER:
                        raise MultipartError("a part's header is too long")
                    more()
                    continue
                head, rest = bytes(buf[:i]), i + 4
            del buf[:rest]
            headers: dict[str, str] = {}
            for line in head.decode("latin-1").split("\r\n"):
                name, sep, value = line.partition(":")
                if not sep:
                    raise MultipartError("a part's header line is malformed")
                headers[name.strip().lower()] = value.strip()
            yield "part", headers
            state = "body"
        else:  # body
            i = buf.find(delim)
            if i >= 0:
                if i:
                    yield "data", bytes(buf[:i])
                del buf[: i + len(delim)]
                yield "end", None
                state = "after-boundary"
                continue
            safe = len(buf) - len(delim) + 1
            if safe > 0:
                yield "data", bytes(buf[:safe])
                del buf[:safe]
            more()


# --------------------------------------------------------------------------- STOW-RS
@dataclass
class StowResult:
    """What happened to each part: ``stored`` (SOP Class UID, SOP Instance UID), ``failed``
    (SOP Class UID or "", SOP Instance UID or "", failure reason). The UIDs are the sender's
    own, returned to it in the answer only: never logged or stored."""

    stored: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def status(self) -> int:
        if not self.failed:
            return 200
        return 202 if self.stored else 409

    def dataset(self) -> Dataset:
        ds = Dataset()
        if self.failed:
            items = []
            for sop_class, sop_uid, reason in self.failed:
                item = Dataset()
                item.ReferencedSOPClassUID = sop_class or ""
                item.ReferencedSOPInstanceUID = sop_uid or ""
                item.FailureReason = reason
                items.append(item)
            ds.FailedSOPSequence = items
        if self.stored:
            items = []
            for sop_class, sop_uid in self.stored:
                item = Dataset()
                item.ReferencedSOPClassUID = sop_class
                item.ReferencedSOPInstanceUID = sop_uid
                items.append(item)
            ds.ReferencedSOPSequence = items
        return ds

    def json(self) -> dict[str, Any]:
        return self.dataset().to_json_dict()


def _uid(value: Any) -> str:
    text = str(value or "").strip().rstrip("\x00")
    return text if len(text) <= 64 and re.fullmatch(r"[0-9.]+", text or "x") else ""


def _reason_code(why: str) -> int:
    if why == routing.DUPLICATE:
        return DUPLICATE_INSTANCE
    if why.startswith("not an image"):
        return SOP_CLASS_NOT_SUPPORTED
    return OUT_OF_RESOURCES


def store(
    stream: IO[bytes],
    boundary: str,
    inbox: routing.Inbox,
    *,
    temp_file: Callable[[], Path],
    study_uid: str | None = None,
) -> StowResult:
    """Read every part of a STOW-RS body into ``inbox`` (not closed: the caller closes it, or
    aborts it when this raises :class:`MultipartError` or anything else)."""
    result = StowResult()
    tmp: Path | None = None
    out = None
    part_type = DICOM
    try:
        for event, value in iter_parts(stream, boundary):
            if event == "part":
                part_type = parse_media_type(value.get("content-type", DICOM))[0]
                tmp = temp_file()
                out = open(tmp, "wb")  # noqa: SIM115 - closed at the part's end (or below)
            elif event == "data":
                out.write(value)
            else:  # end of a part
                out.close()
                out = None
                try:
                    _store_part(tmp, part_type, inbox, result, study_uid)
                finally:
                    tmp.unlink(missing_ok=True)
                    tmp = None
    finally:
        if out is not None:
            out.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return result


def _store_part(
    tmp: Path, part_type: str, inbox: routing.Inbox, result: StowResult, study_uid: str | None
) -> None:
    if part_type != DICOM:
        inbox.refuse(None, "a part that is not application/dicom")
        result.failed.append(("", "", CANNOT_UNDERSTAND))
        return
    try:
        ds = pydicom.dcmread(tmp, stop_before_pixels=True)
        meta = ds.file_meta
        sop_class = _uid(ds.SOPClassUID)
        sop_uid = _uid(ds.SOPInstanceUID)
        study = _uid(ds.StudyInstanceUID)
        if not (sop_class and sop_uid and study):
            raise ValueError("no SOP class, SOP instance or study UID")
        if routing.is_image_storage(sop_class):
            _check_complete(tmp)
    except Exception:  # noqa: BLE001 - anything pydicom cannot read: not understood
        log.info("STOW-RS part from sender %s refused: not readable", inbox.sender_id)
        inbox.refuse(None, "not a readable DICOM data set")
        result.failed.append(("", "", CANNOT_UNDERSTAND))
        return
    accession, patient_id = ds.get("AccessionNumber"), ds.get("PatientID")
    meta_class = _uid(meta.get("MediaStorageSOPClassUID"))
    if meta_class and meta_class != sop_class:
        inbox.refuse(study, "the data set's SOP class is not its file's", accession, patient_id)
        result.failed.append((sop_class, sop_uid, NOT_MATCHING))
        return
    if study_uid is not None and study != study_uid:
        log.info(
            "STOW-RS part from sender %s refused: another study than the URL's", inbox.sender_id
        )
        result.failed.append((sop_class, sop_uid, NOT_MATCHING))
        return
    try:
        why = inbox.accept(
            study_uid=study,
            sop_instance_uid=sop_uid,
            sop_class_uid=sop_class,
            accession=accession,
            patient_id=patient_id,
            size=tmp.stat().st_size,
            write=lambda path: os.replace(tmp, path),
        )
    except OSError:
        log.exception("STOW-RS part from sender %s: storage failed", inbox.sender_id)
        result.failed.append((sop_class, sop_uid, OUT_OF_RESOURCES))
        return
    if why is None:
        result.stored.append((sop_class, sop_uid))
    else:
        log.info("STOW-RS part from sender %s refused: %s", inbox.sender_id, why)
        result.failed.append((sop_class, sop_uid, _reason_code(why)))


def _check_complete(path: Path) -> None:
    """Refuse an image cut off inside (or before) its pixel data: pydicom reads a short value
    without complaint, so the length of uncompressed pixel data is checked here."""
    full = pydicom.dcmread(path)
    if "PixelData" not in full:
        raise ValueError("an image without pixel data")
    ts = UID(str(full.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
    if ts.is_compressed:
        return
    expected = (
        int(full.Rows)
        * int(full.Columns)
        * int(full.get("SamplesPerPixel", 1) or 1)
        * int(full.get("NumberOfFrames", 1) or 1)
        * int(full.BitsAllocated)
        + 7
    ) // 8
    if len(full.PixelData) < expected:
        raise ValueError("pixel data shorter than the image")


# --------------------------------------------------------------------------- QIDO / WADO
#: Study- and series-level attributes QIDO-RS answers by default (PS3.18 Table 6.7.1-2).
STUDY_TAGS = (
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
)
SERIES_TAGS = (
    "Modality",
    "SeriesDescription",
    "SeriesNumber",
    "SeriesInstanceUID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
)
INSTANCE_TAGS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
)
BULK_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
BULK_THRESHOLD = 1024


def read_header(path: Path) -> Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def copy_tags(src: Dataset, dst: Dataset, keywords: Iterable[str]) -> None:
    for keyword in keywords:
        elem = src.data_element(keyword) if keyword in src else None
        if elem is not None:
            dst.add(elem)


def copy_all(src: Dataset, dst: Dataset) -> None:
    """``includefield=all``: every top-level element but file meta, private tags and bulk
    binary values."""
    for elem in src:
        if elem.tag.group <= 0x0002 or elem.tag.is_private or elem.VR in BULK_VRS:
            continue
        if elem.tag == 0x7FE00010:
            continue
        dst.add(elem)


def metadata_json(path: Path, pixel_uri: str, bulk_uri: str) -> dict[str, Any]:
    """An instance's DICOM JSON (PS3.18 F.2): its header, pixel data as a BulkDataURI (its
    frames), other large binary values dropped (top level) or pointing to the instance."""
    ds = read_header(path)
    for elem in list(ds):
        if elem.tag.group > 0x0002 and elem.VR in BULK_VRS and _length(elem) > BULK_THRESHOLD:
            del ds[elem.tag]
    out = ds.to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=lambda _e: bulk_uri
    )
    ts = UID(str(ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
    out["7FE00010"] = {
        "vr": "OB" if ts.is_compressed or int(ds.get("BitsAllocated", 16) or 16) <= 8 else "OW",
        "BulkDataURI": pixel_uri,
    }
    return out


def _length(elem) -> int:
    try:
        return len(elem.value or b"")
    except TypeError:
        return 0


def new_boundary() -> str:
    return "panel-" + secrets.token_hex(16)


def multipart_body(boundary: str, parts: Iterable[tuple[str, Callable[[], Iterable[bytes]]]]):
    """A multipart/related body, streamed: ``parts`` are (Content-Type, a function giving the
    part's bytes in chunks)."""
    b = boundary.encode("ascii")
    for content_type, chunks in parts:
        yield b"--" + b + b"\r\nContent-Type: " + content_type.encode("ascii") + b"\r\n\r\n"
        yield from chunks()
        yield b"\r\n"
    yield b"--" + b + b"--\r\n"


def file_chunks(path: Path) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while data := fh.read(CHUNK):
                yield data

    return read


def stored_transfer_syntax(path: Path) -> str:
    meta = pydicom.filereader.read_file_meta_info(path)
    return str(meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))


def explicit_little_endian(path: Path) -> bytes:
    """The instance re-encoded in Explicit VR Little Endian (decompressed when it is stored
    compressed); raises when its pixel data cannot be decoded."""
    ds = pydicom.dcmread(path)
    ts = UID(str(ds.file_meta.TransferSyntaxUID))
    if ts.is_compressed:
        ds.decompress()
    buf = io.BytesIO()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(buf, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return buf.getvalue()


def frame_bytes(path: Path, index: int) -> bytes:
    """Frame ``index`` (0-based) of an instance, uncompressed, little endian (application/
    octet-stream in Explicit VR Little Endian)."""
    ds = pydicom.dcmread(path)
    ts = UID(str(ds.file_meta.TransferSyntaxUID))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 0 <= index < frames:
        raise IndexError(index)
    bits = int(ds.BitsAllocated)
    if not ts.is_compressed and ts.is_little_endian and bits % 8 == 0:
        size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
        return bytes(ds.PixelData[index * size : (index + 1) * size])
    from pydicom.pixels import pixel_array

    arr = pixel_array(ds, index=index, raw=True)
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()

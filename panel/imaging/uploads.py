"""One uploaded file: its name checked, its real type sniffed, de-identified or cleaned, stored.

:func:`process_one` is what each ``imaging.ingest`` job does (:mod:`panel.imaging.ingest`
receives the request's files and asks for those jobs); :func:`safe_display_name` and
:func:`zip_problem` are the checks made while receiving, before anything of a file is kept.

Original names are never stored or logged when they look like they carry an identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from panel.core.db import db
from panel.core.storage import LocalStorage, sha256_file
from panel.imaging import documents
from panel.imaging.models import FileKind, FileStatus, StoredFile, Upload
from panel.privacy import has_hard_findings, scan_filename

logger = logging.getLogger(__name__)

NAME_REFUSED = "the file name looks like it contains a patient identifier (rename it)"
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def deid_secret() -> bytes:
    """The per-deployment de-identification key, derived from the app's secret key (so UID
    replacements and date shifts cannot be reversed without it)."""
    return hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"panel/deid/v1", hashlib.sha256
    ).digest()


def setting(config: dict[str, Any], name: str) -> Any:
    """An ``IMAGING_*`` limit from ``config`` (the app's config; its defaults are in config.py)."""
    return config[name]


@dataclass
class FileOutcome:
    """One line of the result list. ``name`` is the safe display name, never an unsafe one."""

    name: str
    status: str  # stored / held_back / refused / duplicate
    reason: str = ""
    kind: str | None = None
    file_id: int | None = None
    series_uid: str | None = None
    #: The pixel text step's verdict (clean / innocent / masked / held / skipped), if it ran.
    pixel_text: str | None = None
    #: Boxes of text filled (``masked``) or proposed to a reviewer (``held``).
    boxes: int | None = None

    @property
    def masked(self) -> bool:
        return self.status == "stored" and self.pixel_text == "masked"

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class UploadRefused(Exception):
    """The whole request is refused (too many files ...)."""


#: Control characters a label may not hold (PostgreSQL refuses NUL in text; the others are
#: never typed by a person). Tabs and line breaks are refused too: a label is one line.
_LABEL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LABEL_MAX = 120


def label_problem(label: str) -> str | None:
    """Why an upload's label (already stripped) is refused, or None: control characters, or
    what looks like a patient identifier."""
    from panel.privacy import find_identifiers

    if _LABEL_CONTROL.search(label):
        return "the label contains control characters"
    if has_hard_findings(find_identifiers(label)):
        return "the label looks like it contains a patient identifier"
    return None


def safe_display_name(name: str, index: int) -> tuple[str | None, str]:
    """(None, reason) when ``name`` looks like it has an identifier, else (safe name, "")."""
    parts = [p for p in (name or "").replace("\\", "/").split("/") if p]
    base = parts[-1] if parts else ""
    # Every folder of the path counts too: "Smith_Oliver/IM0001.dcm" names the child.
    if any(has_hard_findings(scan_filename(part)) for part in parts):
        return None, NAME_REFUSED
    clean = _SAFE_CHARS.sub("_", base).strip("._")[:100]
    if scan_filename(clean):  # soft findings: keep nothing of the name
        clean = ""
    return (clean or f"file-{index}"), ""


def _unsafe_zip_entry(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "the zip has an entry with an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "the zip has an entry that points outside the folder (..)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "the zip has a link entry"
    return None


def zip_problem(infos: list[zipfile.ZipInfo], config: dict[str, Any]) -> str | None:
    """Why the whole zip is refused before anything is extracted, or None.

    Declared sizes can be trusted as upper bounds: extraction stops at an entry's declared size.
    The compression ratio is checked per entry *and* over the whole zip: many entries that each
    stay under the floor (1 MiB of zeros is about 1000:1) must not add up to a bomb.
    """
    max_ratio = setting(config, "IMAGING_ZIP_MAX_RATIO")
    floor = setting(config, "IMAGING_ZIP_RATIO_FLOOR")
    if len(infos) > setting(config, "IMAGING_ZIP_MAX_ENTRIES"):
        return "the zip has too many entries"
    total = sum(i.file_size for i in infos)
    if total > setting(config, "IMAGING_ZIP_MAX_UNCOMPRESSED"):
        return "the zip would expand to more than the upload limit"
    for info in infos:
        problem = _unsafe_zip_entry(info)
        if problem:
            return problem
        if info.file_size > floor and info.file_size / max(info.compress_size, 1) > max_ratio:
            return "the zip looks like a decompression bomb"
    compressed = sum(i.compress_size for i in infos)
    if total > floor and total / max(compressed, 1) > max_ratio:
        return (
            f"the zip looks like a decompression bomb (as a whole it would expand to more than "
            f"{max_ratio} times its compressed size)"
        )
    return None


def process_one(
    case: Any,
    upload: Upload,
    path: Path,
    display: str,
    *,
    storage: LocalStorage,
    work: Path,
    config: dict[str, Any],
    deid_secret: bytes,
    pixel_step: Any = None,
) -> FileOutcome:
    """Check, de-identify or clean one received file and store it with its row (flushed, not
    committed): the outcome for the results list.

    ``work`` is the caller's scratch folder (the output waits there). The output goes into the
    content-addressed store before its row is added, so a row never names a missing object;
    storing the same bytes again is a no-op, and the case's unique (case, SHA-256) makes a
    second copy, even one de-identified by another worker at the same moment, a duplicate."""
    from panel.imaging.deid import DeidConfig

    if path.stat().st_size == 0:
        return FileOutcome(display, "refused", "the file is empty")
    out = work / "out"
    kind = documents.sniff(path)
    row_fields: dict[str, Any] = {}
    if kind == "dicom":
        from panel.imaging.deid import deidentify_file
        from panel.imaging.render import MAX_DECODED_VALUES, can_decode

        result = deidentify_file(
            path, out, DeidConfig.for_case(deid_secret, case.reference), pixel_step=pixel_step
        )
        if not result.written:
            return FileOutcome(display, "refused", result.reason, kind="dicom")
        frames = result.number_of_frames or 1
        if (result.rows or 0) * (result.columns or 0) * frames > MAX_DECODED_VALUES:
            return FileOutcome(
                display,
                "refused",
                "the image is larger than Panel can show (too many pixels)",
                kind="dicom",
            )
        row_fields = {
            "kind": FileKind.DICOM,
            "content_type": "application/dicom",
            "status": FileStatus(result.status),
            "hold_reason": result.reason or None if result.status == "held_back" else None,
            "modality": result.modality,
            "series_uid": result.series_uid,
            "study_uid": result.study_uid,
            "sop_instance_uid": result.sop_instance_uid,
            "instance_number": result.instance_number,
            "slice_location": result.slice_location,
            "rows": result.rows,
            "columns": result.columns,
            "frames": result.number_of_frames,
            "transfer_syntax": result.transfer_syntax,
            "decodable": can_decode(out),
            "pixel_text": result.pixel_text,
            "proposed_boxes": [list(b) for b in result.boxes] or None,
        }
        if not display.lower().endswith((".dcm", ".dicom")):
            display = display + ".dcm"
        status, reason = result.status, result.reason
    elif kind in ("pdf", "png", "jpeg"):
        out.touch()
        if kind == "pdf":
            doc = documents.clean_pdf(path, out, pixel_step=pixel_step)
        else:
            doc = documents.clean_image(
                path,
                out,
                kind,
                max_pixels=setting(config, "IMAGING_MAX_PIXELS"),
                pixel_step=pixel_step,
            )
        status, reason = doc.status, doc.reason
        if status == "refused":
            return FileOutcome(display, "refused", reason, kind=doc.kind)
        stem = display.rsplit(".", 1)[0] if "." in display else display
        display = stem + doc.extension
        row_fields = {
            "kind": FileKind(doc.kind),
            "content_type": doc.content_type,
            "status": FileStatus(status),
            "hold_reason": reason if status == "held_back" else None,
            "rows": doc.height,  # images: pixel size for the review queue's mask rectangle
            "columns": doc.width,
            "pixel_text": doc.pixel_text,
            "proposed_boxes": doc.boxes or None,
        }
    else:
        reason = (
            "not a DICOM file, PDF, PNG or JPEG (checked from its content, not its name)"
            if kind != "zip"
            else "not accepted here"
        )
        return FileOutcome(display, "refused", reason)
    if row_fields["status"] == FileStatus.HELD_BACK and not row_fields["hold_reason"]:
        row_fields["hold_reason"] = "held back for review"
    sha = sha256_file(out)
    kind_value = row_fields["kind"].value
    duplicate = FileOutcome(display, "duplicate", "already uploaded to this case", kind=kind_value)
    if db.session.scalar(
        select(StoredFile.id).where(StoredFile.case_id == case.id, StoredFile.sha256 == sha)
    ):
        return duplicate
    size = out.stat().st_size
    key = storage.put_file(out, move=True)  # no temporary file in the store (a killed job)
    row = StoredFile(
        case_id=case.id,
        upload_id=upload.id,
        storage_key=key,
        sha256=sha,
        size=size,
        display_name=display[:200],
        **row_fields,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same bytes, stored for this case by another job just now
        return duplicate
    boxes = len(row.proposed_boxes or []) or None
    if status == "stored" and row.pixel_text == "masked":
        n = boxes or 0
        reason = f"stored, {n} box{'es' if n != 1 else ''} of text masked"
    return FileOutcome(
        display,
        status,
        reason,
        kind=row.kind.value,
        file_id=row.id,
        series_uid=row.series_uid,
        pixel_text=row.pixel_text,
        boxes=boxes,
    )

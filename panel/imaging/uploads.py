"""The upload pipeline: many files and zips in, per-file results out, nothing left behind.

:func:`process_upload` takes the parts of one request (name + readable stream), expands zips
one entry at a time, checks each file's name and real type, de-identifies DICOM, cleans
documents, and adds the rows for one :class:`Upload`. Outputs wait in the storage's temp folder;
:meth:`UploadBatch.store` copies them into the content-addressed store only when every file has
been processed; :meth:`UploadBatch.discard` removes every object written by this request (called
when the commit or anything else fails). Temporary files are always removed by
:meth:`UploadBatch.cleanup`.

Original names are never stored or logged when they look like they carry an identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import shutil
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from panel.core.audit import record
from panel.core.db import db
from panel.core.errors import NotAllowed
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


@dataclass
class _Pending:
    path: Path
    row: StoredFile


@dataclass
class UploadBatch:
    storage: LocalStorage
    upload: Upload | None = None
    outcomes: list[FileOutcome] = field(default_factory=list)
    temps: list[Path] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def temp(self, suffix: str = "") -> Path:
        path = self.storage.temp_file(suffix)
        self.temps.append(path)
        return path

    def store(self) -> None:
        """Copy every pending output into the store (after all files were processed)."""
        for item in self.pending:
            existed = self.storage.exists(item.row.sha256)
            key = self.storage.put_file(item.path)
            if not existed:
                self.written.append(key)
            item.row.storage_key = key

    def discard(self) -> None:
        """Remove every object this request wrote (the transaction failed)."""
        for key in self.written:
            self.storage.delete(key)
        self.written.clear()

    def drop(self, path: Path) -> None:
        """Remove one temporary file now (an entry once it is processed, an unused output)."""
        path.unlink(missing_ok=True)
        try:
            self.temps.remove(path)
        except ValueError:
            pass

    def cleanup(self) -> None:
        for path in self.temps:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        self.temps.clear()

    @property
    def counts(self) -> dict[str, int]:
        c = {"stored": 0, "held_back": 0, "refused": 0, "duplicate": 0}
        for o in self.outcomes:
            c[o.status] += 1
        return c

    @property
    def masked_count(self) -> int:
        """Stored files whose identifying burned-in text was masked (counted as stored too)."""
        return sum(o.masked for o in self.outcomes)

    @property
    def pixel_counts(self) -> dict[str, int]:
        """Files per pixel text verdict (counts only: what was read is never kept)."""
        c: dict[str, int] = {}
        for o in self.outcomes:
            if o.pixel_text and o.status in ("stored", "held_back"):
                c[o.pixel_text] = c.get(o.pixel_text, 0) + 1
        return c


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


class _Processor:
    def __init__(
        self, batch: UploadBatch, case: Any, config: dict[str, Any], deid_config: Any
    ) -> None:
        self.batch = batch
        self.case = case
        self.config = config
        self.deid_config = deid_config
        from panel.imaging.pixelstep import PixelStep

        #: One pixel text step for the whole upload: frames of a series reuse what was read.
        self.pixel_step = PixelStep()
        self.count = 0
        self.seen: set[str] = {
            sha
            for sha in db.session.scalars(
                select(StoredFile.sha256).where(StoredFile.case_id == case.id)
            )
        }

    def _next_index(self) -> int:
        self.count += 1
        if self.count > setting(self.config, "IMAGING_MAX_FILES"):
            raise UploadRefused(
                f"too many files in one upload (at most {setting(self.config, 'IMAGING_MAX_FILES')})"
            )
        return self.count

    def add_stream(self, name: str, stream: IO[bytes]) -> None:
        index = self._next_index()
        display, reason = safe_display_name(name, index)
        if display is None:
            self.batch.outcomes.append(FileOutcome(f"file-{index}", "refused", reason))
            return
        tmp = self.batch.temp()
        try:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
            if documents.sniff(tmp) == "zip":
                self.count -= 1  # the zip itself is not a file of the case
                self.add_zip(tmp, display)
            else:
                process_file(self, tmp, display)
        finally:
            self.batch.drop(tmp)

    def add_zip(self, path: Path, display: str) -> None:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError):
            self.batch.outcomes.append(FileOutcome(display, "refused", "not a readable zip file"))
            return
        with zf:
            infos = zf.infolist()
            problem = zip_problem(infos, self.config)
            if problem:  # refuse the whole zip: nothing of it is processed
                self.batch.outcomes.append(FileOutcome(display, "refused", problem))
                return
            for info in infos:
                if info.is_dir():
                    continue
                index = self._next_index()
                shown, reason = safe_display_name(info.filename, index)
                if shown is None:
                    self.batch.outcomes.append(FileOutcome(f"file-{index}", "refused", reason))
                    continue
                tmp = self.batch.temp()
                try:
                    self._add_entry(zf, info, tmp, shown)
                finally:
                    # One extracted entry on disk at a time, whatever the size of the zip.
                    self.batch.drop(tmp)

    def _add_entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, tmp: Path, shown: str) -> None:
        try:
            with zf.open(info) as src, open(tmp, "wb") as out:
                left = info.file_size
                while chunk := src.read(1024 * 1024):
                    left -= len(chunk)
                    if left < 0:
                        raise zipfile.BadZipFile("entry larger than declared")
                    out.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
            self.batch.outcomes.append(
                FileOutcome(shown, "refused", "the zip entry cannot be read")
            )
            return
        if documents.sniff(tmp) == "zip":
            self.batch.outcomes.append(
                FileOutcome(shown, "refused", "zips inside zips are not accepted")
            )
            return
        process_file(self, tmp, shown)


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


def process_file(proc: _Processor, path: Path, display: str) -> None:
    """Check, de-identify or clean one file; record its outcome (and a pending row).

    The output waits in the temp folder only when it became a pending row; the output of a
    refused or duplicate file is removed at once."""
    batch = proc.batch
    if path.stat().st_size == 0:
        batch.outcomes.append(FileOutcome(display, "refused", "the file is empty"))
        return
    out = batch.temp()
    try:
        _check_file(proc, path, out, display)
    finally:
        if not (batch.pending and batch.pending[-1].path == out):
            batch.drop(out)


def _check_file(proc: _Processor, path: Path, out: Path, display: str) -> None:
    batch = proc.batch
    kind = documents.sniff(path)
    row_fields: dict[str, Any] = {}
    if kind == "dicom":
        from panel.imaging.deid import deidentify_file

        out.unlink()  # deidentify_file writes it atomically itself
        result = deidentify_file(path, out, proc.deid_config, pixel_step=proc.pixel_step)
        if not result.written:
            batch.outcomes.append(FileOutcome(display, "refused", result.reason, kind="dicom"))
            return
        from panel.imaging.render import MAX_DECODED_VALUES, can_decode

        frames = result.number_of_frames or 1
        if (result.rows or 0) * (result.columns or 0) * frames > MAX_DECODED_VALUES:
            out.unlink(missing_ok=True)
            batch.outcomes.append(
                FileOutcome(
                    display,
                    "refused",
                    "the image is larger than Panel can show (too many pixels)",
                    kind="dicom",
                )
            )
            return
        decodable = can_decode(out)
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
            "decodable": decodable,
            "pixel_text": result.pixel_text,
            "proposed_boxes": [list(b) for b in result.boxes] or None,
        }
        if not display.lower().endswith((".dcm", ".dicom")):
            display = display + ".dcm"
        status, reason = result.status, result.reason
    elif kind == "pdf":
        doc = documents.clean_pdf(path, out, pixel_step=proc.pixel_step)
        status, reason = doc.status, doc.reason
    elif kind in ("png", "jpeg"):
        doc = documents.clean_image(
            path,
            out,
            kind,
            max_pixels=setting(proc.config, "IMAGING_MAX_PIXELS"),
            pixel_step=proc.pixel_step,
        )
        status, reason = doc.status, doc.reason
    else:
        reason = (
            "not a DICOM file, PDF, PNG or JPEG (checked from its content, not its name)"
            if kind != "zip"
            else "not accepted here"
        )
        batch.outcomes.append(FileOutcome(display, "refused", reason))
        return
    if kind != "dicom":
        if status == "refused":
            batch.outcomes.append(FileOutcome(display, "refused", reason, kind=doc.kind))
            return
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
    if row_fields["status"] == FileStatus.HELD_BACK and not row_fields["hold_reason"]:
        row_fields["hold_reason"] = "held back for review"
    sha = sha256_file(out)
    if sha in proc.seen:
        batch.outcomes.append(
            FileOutcome(
                display, "duplicate", "already uploaded to this case", kind=row_fields["kind"].value
            )
        )
        return
    proc.seen.add(sha)
    row = StoredFile(
        case_id=proc.case.id,
        upload=batch.upload,
        storage_key=sha,
        sha256=sha,
        size=out.stat().st_size,
        display_name=display[:200],
        **row_fields,
    )
    db.session.add(row)
    batch.pending.append(_Pending(out, row))
    boxes = len(row.proposed_boxes or []) or None
    if status == "stored" and row.pixel_text == "masked":
        n = boxes or 0
        reason = f"stored, {n} box{'es' if n != 1 else ''} of text masked"
    batch.outcomes.append(
        FileOutcome(
            display,
            status,
            reason,
            kind=row.kind.value,
            series_uid=row.series_uid,
            pixel_text=row.pixel_text,
            boxes=boxes,
        )
    )
    batch._rows = getattr(batch, "_rows", [])  # type: ignore[attr-defined]
    batch._rows.append((len(batch.outcomes) - 1, row))  # type: ignore[attr-defined]


def process_upload(
    case: Any,
    user: Any,
    label: str,
    parts: Iterable[tuple[str, IO[bytes]]],
    *,
    storage: LocalStorage,
    config: dict[str, Any],
    deid_secret: bytes,
) -> UploadBatch:
    """Process every part and add the rows (flushed, not committed; audited).

    The caller must then call :meth:`UploadBatch.store`, commit, and on any failure roll back
    and call :meth:`UploadBatch.discard`; :meth:`UploadBatch.cleanup` always.
    """
    from panel.imaging.deid import DeidConfig

    if not case.can_upload(user):  # the rule the view asks first (Case.can_upload)
        raise NotAllowed("You cannot add files to this case now.")
    batch = UploadBatch(storage)
    upload = Upload(
        case_id=case.id, label=label.strip()[:120], uploaded_by_id=getattr(user, "id", None)
    )
    db.session.add(upload)
    batch.upload = upload
    proc = _Processor(batch, case, config, DeidConfig.for_case(deid_secret, case.reference))
    try:
        for name, stream in parts:
            proc.add_stream(name, stream)
    except BaseException:
        batch.cleanup()  # nothing was stored yet; the caller rolls the rows back
        raise
    counts = batch.counts
    upload.stored_count = counts["stored"]
    upload.held_count = counts["held_back"]
    upload.refused_count = counts["refused"]
    try:
        db.session.flush()  # a parallel upload of the same files to the case fails here
    except BaseException:
        batch.cleanup()
        raise
    for index, row in getattr(batch, "_rows", []):
        batch.outcomes[index].file_id = row.id
    record(
        "imaging.upload",
        obj=case,
        object_type="case",
        # counts only: what the pixel text step read is never recorded
        details={
            "upload_id": upload.id,
            "label": upload.label,
            **counts,
            "masked": batch.masked_count,
            "pixel_text": batch.pixel_counts,
        },
        clinical=True,
    )
    return batch

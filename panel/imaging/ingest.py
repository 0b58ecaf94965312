"""Uploads on the job queue: the request receives, one job per file de-identifies.

An upload has two halves (issue 18):

* **Receiving** (:func:`receive`, in the request): each part is streamed to the upload's spool
  folder in the shared storage (``incoming/upload-<id>/<n>``, named by number only), zips are
  checked whole (bombs, escaping paths, links) and expanded one entry at a time, and file names
  that carry an identifier are refused at once, before anything of them is written. Then one
  ``imaging.ingest`` job per file joins a group job that counts them, all in the request's
  transaction: nothing runs unless the upload's rows commit.
* **De-identifying** (:func:`ingest_job`, on any worker): checks, de-identifies or cleans one
  file (:func:`panel.imaging.uploads.process_one`), puts the result in the content-addressed
  store and adds its :class:`~panel.imaging.models.StoredFile` row in the job's own
  transaction. A retried job (a worker killed mid-file) starts again from the spooled original;
  the store is keyed by content and the row is written with the job's ``done``, so a file is
  never stored twice. The spooled original is removed once its result has committed.
* **Finishing** (:func:`upload_done`): the job that finishes the last file writes the upload's
  counts and its one ``imaging.upload`` audit entry, and removes the spool folder.

The per-file states (:func:`progress`) are what the upload page's progress bars and
``GET /api/v1/jobs/{id}`` show: ``queued``, ``deidentifying``, then ``stored``, ``held_back``,
``refused`` or ``duplicate``.
"""

from __future__ import annotations

import errno
import lzma
import shutil
import threading
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from panel.core import jobs
from panel.core.audit import record
from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed
from panel.core.models import Job
from panel.core.purge import purger, temp_age
from panel.core.storage import LocalStorage, get_storage
from panel.imaging import documents
from panel.imaging.models import Upload
from panel.imaging.uploads import (
    FileOutcome,
    UploadRefused,
    deid_secret,
    process_one,
    safe_display_name,
    setting,
    zip_problem,
)

INGEST = "imaging.ingest"
UPLOAD_DONE = "imaging.upload_done"
LOST = "the file was lost before it could be checked (upload it again)"
FAILED = (
    "the file could not be checked (an error, shown to admins on the jobs page); upload it again"
)
#: A job's error when the storage is full (retried with back-off: space may come back).
STORAGE_FULL = "the file storage is full"
FAILED_FULL = "the file storage was full, so the file was not stored; upload it again"

UPLOAD_TOO_BIG = (
    "with the zips before it, the zip would expand to more than the upload limit "
    "(send it in another upload)"
)

#: Per-file states, in the order a file goes through them.
STATES = ("queued", "deidentifying", "stored", "held_back", "refused", "duplicate")


def spool_dir(storage: LocalStorage, upload_id: int) -> Path:
    """Where an upload's received files wait for their jobs (in the shared storage)."""
    return storage.root / "incoming" / f"upload-{int(upload_id)}"


def _work_dir(storage: LocalStorage, job_id: int) -> Path:
    """A job's own scratch folder: removed before and after each attempt, so a worker killed
    mid-file leaves nothing its retry does not remove."""
    return storage.tmp / f"ingest-{int(job_id)}"


# --------------------------------------------------------------------------- receiving
#: What reading a malformed zip or entry raises: bad input, refused, never a 500.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,  # UnicodeDecodeError of a name flagged UTF-8
    zlib.error,
    lzma.LZMAError,
)


def _full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class _Receiver:
    def __init__(self, upload: Upload, storage: LocalStorage, config: dict[str, Any]) -> None:
        self.upload = upload
        self.config = config
        self.spool = spool_dir(storage, upload.id)
        # The id was just given to this upload: a folder already there is a leftover (a request
        # killed while receiving, whose id SQLite gives again). Its files are originals as
        # received: none may stay beside this upload's, nor be taken for them.
        shutil.rmtree(self.spool, ignore_errors=True)
        self.spool.mkdir(parents=True)
        #: One entry per file: {"name": safe display name} or with "refused": reason.
        self.items: list[dict[str, Any]] = []
        #: What this upload's zips expand to so far (declared sizes). Every entry waits in the
        #: spool for its job, so the zip limit holds over the whole upload, not per zip: many
        #: zips of one request, each under it, must not fill the storage.
        self.expanded = 0

    def _next(self) -> int:
        limit = setting(self.config, "IMAGING_MAX_FILES")
        if len(self.items) >= limit:
            raise UploadRefused(f"too many files in one upload (at most {limit})")
        return len(self.items) + 1

    def _refuse(self, name: str, reason: str) -> None:
        self.items.append({"name": name, "refused": reason})

    def add(self, name: str, stream: IO[bytes]) -> None:
        index = self._next()
        display, reason = safe_display_name(name, index)
        if display is None:  # never written: the name itself is the identifier
            self._refuse(f"file-{index}", reason)
            return
        path = self.spool / str(index)
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        if documents.sniff(path) != "zip":
            self.items.append({"name": display})
            return
        part = self.spool / f"zip-{index}"
        path.rename(part)
        try:
            self.add_zip(part, display)
        finally:
            part.unlink(missing_ok=True)

    def add_zip(self, path: Path, display: str) -> None:
        try:
            zf = zipfile.ZipFile(path)
        except _ZIP_ERRORS as exc:  # e.g. names flagged UTF-8 that are not (UnicodeDecodeError)
            if _full(exc):
                raise
            self._refuse(display, "not a readable zip file")
            return
        with zf:
            infos = zf.infolist()
            problem = zip_problem(infos, self.config)
            if problem:  # refuse the whole zip: nothing of it is kept
                self._refuse(display, problem)
                return
            declared = sum(i.file_size for i in infos)
            if self.expanded + declared > setting(self.config, "IMAGING_ZIP_MAX_UNCOMPRESSED"):
                self._refuse(display, UPLOAD_TOO_BIG)
                return
            self.expanded += declared
            for info in infos:
                if info.is_dir():
                    continue
                index = self._next()
                shown, reason = safe_display_name(info.filename, index)
                if shown is None:
                    self._refuse(f"file-{index}", reason)
                    continue
                self._add_entry(zf, info, index, shown)

    def _add_entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, index: int, shown: str):
        target = self.spool / str(index)
        try:
            with zf.open(info) as src, open(target, "wb") as out:
                left = info.file_size
                while chunk := src.read(1024 * 1024):
                    left -= len(chunk)
                    if left < 0:
                        raise zipfile.BadZipFile("entry larger than declared")
                    out.write(chunk)
        except _ZIP_ERRORS as exc:  # corrupt data (zlib.error, ...), encrypted, unknown method
            target.unlink(missing_ok=True)
            if _full(exc):
                raise  # the storage is full: the request's 507, not this entry's fault
            self._refuse(shown, "the zip entry cannot be read")
            return
        if documents.sniff(target) == "zip":
            target.unlink(missing_ok=True)
            self._refuse(shown, "zips inside zips are not accepted")
            return
        self.items.append({"name": shown})


def receive(
    case: Any,
    user: Any,
    label: str,
    parts: Iterable[tuple[str, IO[bytes]]],
    *,
    storage: LocalStorage | None = None,
    config: dict[str, Any] | None = None,
) -> Upload:
    """Receive an upload's files and ask for one job per file (flushed, not committed).

    The caller commits (the jobs start then) or, on any failure, rolls back and calls
    :func:`discard` so no spooled file is left. Raises :class:`UploadRefused` for a request
    refused as a whole (too many files) and :class:`NotAllowed` (``Case.can_upload``)."""
    if not case.can_upload(user):  # the rule the view asks first
        raise NotAllowed("You cannot add files to this case now.")
    storage = storage or get_storage()
    config = config if config is not None else current_app.config
    upload = Upload(
        case_id=case.id, label=label.strip()[:120], uploaded_by_id=getattr(user, "id", None)
    )
    db.session.add(upload)
    db.session.flush()
    receiver = _Receiver(upload, storage, config)
    try:
        for name, stream in parts:
            receiver.add(name, stream)
    except BaseException:
        discard(upload, storage)
        raise
    enqueue_files(upload, case, receiver.items, user_id=getattr(user, "id", None))
    return upload


def enqueue_files(
    upload: Upload,
    case: Any,
    items: list[dict[str, Any]],
    *,
    user_id: int | None,
    actor_label: str | None = None,
) -> None:
    """Ask for one ``imaging.ingest`` job per spooled file of ``upload`` (``items[n-1]`` is
    ``spool/<n>``: ``{"name": ...}`` or ``{"name": ..., "refused": reason}``), in a group job that
    finishes the upload, with the ``imaging.upload_received`` audit entry (flushed, not
    committed). Uploads from a browser or the API and studies from a DICOM network (issue 19)
    all come this way (``actor_label`` names a sending system in the audit entry)."""
    group = jobs.group(
        f"upload:{upload.id}",
        total=len(items),
        case_id=case.id,
        user_id=user_id,
        payload={"on_done": UPLOAD_DONE, "upload": upload.id},
    )
    upload.job_id = group.id
    upload.total_count = len(items)
    jobs.enqueue_many(
        INGEST,
        [
            (
                f"ingest:upload:{upload.id}:file:{n}",
                {"upload": upload.id, "index": n, **item},
            )
            for n, item in enumerate(items, 1)
        ],
        parent=group,
        user_id=user_id,
    )
    record(
        "imaging.upload_received",
        obj=case,
        object_type="case",
        actor_label=actor_label,
        details={"upload_id": upload.id, "label": upload.label, "files": len(items)},
        clinical=True,
    )
    if not items:  # e.g. a zip of empty folders: nothing to wait for
        _finish(upload, group)
    db.session.flush()


def discard(upload: Upload | None, storage: LocalStorage | None = None) -> None:
    """Remove what :func:`receive` spooled (its transaction did not commit)."""
    if upload is None or upload.id is None:
        return
    shutil.rmtree(spool_dir(storage or get_storage(), upload.id), ignore_errors=True)


# --------------------------------------------------------------------------- the file's job
_STEPS = threading.local()


def _pixel_step(upload_id: int):
    """One pixel text step per upload and worker thread: frames of a series that this worker
    de-identifies reuse what it read (as one upload in one process did)."""
    from panel.imaging.pixelstep import PixelStep

    held = getattr(_STEPS, "held", None)
    if held is None or held[0] != upload_id:
        held = (upload_id, PixelStep())
        _STEPS.held = held
    return held[1]


@jobs.handler(INGEST, max_attempts=3)
def ingest_job(job: Job) -> dict[str, Any]:
    """Check and de-identify one received file of an upload (see the module's docstring)."""
    p = job.payload or {}
    upload = db.session.get(Upload, p.get("upload"))
    name = str(p.get("name") or f"file-{p.get('index')}")
    if upload is None:  # the case (and its uploads) was deleted meanwhile
        return FileOutcome(name, "refused", "the case was removed").as_json()
    storage = get_storage()
    src = spool_dir(storage, upload.id) / str(int(p.get("index", 0)))
    if p.get("refused"):
        outcome = FileOutcome(name, "refused", str(p["refused"]))
    elif not src.is_file():
        outcome = FileOutcome(name, "refused", LOST)
    else:
        from panel.cases.models import Case

        case = db.session.get(Case, upload.case_id)
        # The file is checked with only what it needs, and no transaction open: on SQLite a
        # transaction holds the whole file's write lock (begin IMMEDIATE), and de-identifying
        # and reading the pixels takes seconds, which every sign-in would wait for. Nothing was
        # written yet, so ending the read here changes nothing of the job's one commit.
        case_ref = SimpleNamespace(id=case.id, reference=case.reference)
        upload_ref = SimpleNamespace(id=upload.id)
        upload_id = upload.id
        db.session.commit()
        work = _work_dir(storage, job.id)
        shutil.rmtree(work, ignore_errors=True)  # what a killed attempt left
        work.mkdir(parents=True)
        try:
            outcome = _process(
                case_ref,
                upload_ref,
                src,
                name,
                storage=storage,
                work=work,
                config=current_app.config,
                deid_secret=deid_secret(),
                pixel_step=_pixel_step(upload_id),
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    jobs.after_commit(lambda: src.unlink(missing_ok=True))
    return outcome.as_json()


def _process(*args: Any, **kwargs: Any) -> FileOutcome:
    try:
        return process_one(*args, **kwargs)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # Panel's own words for the jobs page; the job is tried again after a back-off.
            raise jobs.JobError(STORAGE_FULL) from None
        raise


# --------------------------------------------------------------------------- finishing
def _summary(
    upload: Upload, group: Job | None, children: Iterable[Any] | None = None
) -> dict[str, Any]:
    """The upload's counts from its file jobs' states and results (``children``: rows with
    ``state`` and ``result`` already read, else read here)."""
    counts = {"stored": 0, "held_back": 0, "refused": 0, "duplicate": 0}
    masked, pixel, failed = 0, {}, 0
    if children is None and group is not None:
        children = db.session.execute(
            select(Job.state, Job.result).where(Job.parent_id == group.id)
        )
    if children is not None:
        for state, result in ((c.state, c.result) for c in children):
            if state == "failed":
                counts["refused"] += 1
                failed += 1
                continue
            r = result or {}
            status = r.get("status")
            if status in counts:
                counts[status] += 1
            if status == "stored" and r.get("pixel_text") == "masked":
                masked += 1
            if r.get("pixel_text") and status in ("stored", "held_back"):
                pixel[r["pixel_text"]] = pixel.get(r["pixel_text"], 0) + 1
    return {"counts": counts, "masked": masked, "pixel_text": pixel, "failed": failed}


def _finish(upload: Upload, group: Job | None) -> None:
    from panel.accounts.models import User
    from panel.cases.models import Case

    s = _summary(upload, group)
    counts = s["counts"]
    first = upload.finished_at is None
    upload.stored_count = counts["stored"]
    upload.held_count = counts["held_back"]
    upload.refused_count = counts["refused"]
    upload.duplicate_count = counts["duplicate"]
    upload.finished_at = utcnow()
    case = db.session.get(Case, upload.case_id)
    user = db.session.get(User, upload.uploaded_by_id) if upload.uploaded_by_id else None
    record(
        "imaging.upload" if first else "imaging.upload_updated",
        obj=case,
        object_type="case",
        actor=user,
        # counts only: what the pixel text step read is never recorded
        details={
            "upload_id": upload.id,
            "label": upload.label,
            **counts,
            "masked": s["masked"],
            "pixel_text": s["pixel_text"],
            "failed": s["failed"],
        },
        clinical=True,
    )
    storage = get_storage()
    jobs.after_commit(lambda: shutil.rmtree(spool_dir(storage, upload.id), ignore_errors=True))


@jobs.on_group_done(UPLOAD_DONE)
def upload_done(group: Job) -> None:
    """The last file of an upload is done (or failed for good): its summary and audit entry."""
    upload = db.session.get(Upload, (group.payload or {}).get("upload"))
    if upload is not None:
        _finish(upload, group)


# --------------------------------------------------------------------------- purging
@purger("upload_spool")
def purge_upload_spool(now) -> int:
    """Received files no job will read any more: the spool folder of an upload that finished
    (its last job died between its commit and its clean-up), that no job will finish (its group
    closed without finishing it, or its job rows are gone) or whose rows are gone (the request
    died before it committed), and scratch folders of killed attempts, once untouched for
    ``PURGE_TEMP_HOURS``. An unfinished upload's files wait for their jobs."""
    storage = get_storage()
    cutoff = (now - temp_age()).timestamp()
    removed = 0
    incoming = storage.root / "incoming"
    folders = sorted(incoming.glob("upload-*")) if incoming.is_dir() else []
    for folder in folders:
        try:
            upload_id = int(folder.name.split("-", 1)[1])
        except ValueError:
            continue
        upload = db.session.get(Upload, upload_id)
        if upload is not None and not upload.finished and not _abandoned(upload):
            continue  # its files wait for their jobs
        if (upload is None or not upload.finished) and _mtime(folder) >= cutoff:
            continue  # perhaps a request still receiving it
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    for folder in storage.tmp.glob("ingest-*"):
        if folder.is_dir() and _mtime(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _abandoned(upload: Upload) -> bool:
    """An unfinished upload no job will finish: its group closed without finishing it (the
    closing hook failed for good) or its job rows are gone. Its spooled originals (not
    de-identified) must not stay for ever."""
    if upload.job_id is None:
        return True
    state = db.session.scalar(select(Job.state).where(Job.id == upload.job_id))
    return state in (None, "done", "failed")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


# --------------------------------------------------------------------------- progress
def _file_state(job: Any) -> dict[str, Any]:
    """One file's line from its job (a Job, or a row with the same column names)."""
    p = job.payload or {}
    row: dict[str, Any] = {"index": p.get("index"), "name": p.get("name")}
    if job.state == "done":
        r = job.result or {}
        row.update(
            name=r.get("name") or row["name"],  # as stored: "scan" became "scan.dcm"
            state=r.get("status", "refused"),
            reason=r.get("reason") or "",
            kind=r.get("kind"),
            file_id=r.get("file_id"),
            pixel_text=r.get("pixel_text"),
            boxes=r.get("boxes"),
        )
    elif job.state == "failed":
        row.update(
            state="refused", reason=FAILED_FULL if job.last_error == STORAGE_FULL else FAILED
        )
    elif job.state == "running" or job.attempts:
        row.update(state="deidentifying", reason="")
    else:
        row.update(state="queued", reason="")
    return row


def progress(upload: Upload, *, files: bool = True) -> dict[str, Any]:
    """An upload's state as the progress page and the API show it: the group job's
    ``id/state/done/total``, the counts so far and (``files``) each file's state."""
    group = db.session.get(Job, upload.job_id) if upload.job_id else None
    rows: list[dict[str, Any]] = []
    children = None
    if group is not None and files:
        # The columns a file's state needs, not whole Job objects: the page polls this every
        # 2 s, and an upload may have 2,000 files (about half the time on SQLite).
        children = db.session.execute(
            select(Job.state, Job.attempts, Job.payload, Job.result, Job.last_error)
            .where(Job.parent_id == group.id)
            .order_by(Job.id)
        ).all()
        rows = [_file_state(j) for j in children]
    if upload.finished:
        counts = {
            "stored": upload.stored_count,
            "held_back": upload.held_count,
            "refused": upload.refused_count,
            "duplicate": upload.duplicate_count,
        }
        masked = sum(
            1 for r in rows if r.get("state") == "stored" and r.get("pixel_text") == "masked"
        )
    else:
        s = _summary(upload, group, children)  # the rows just read, when there are some
        counts, masked = s["counts"], s["masked"]
    total = upload.total_count
    done = sum(counts.values())
    state = "done" if upload.finished else ("running" if done or _any_running(rows) else "queued")
    return {
        "id": group.id if group is not None else None,
        "upload": upload.id,
        "state": state,
        "done": min(done, total),
        "total": total,
        "counts": counts,
        "masked": masked,
        "files": rows,
    }


def _any_running(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("state") == "deidentifying" for r in rows)


@jobs.access_rule
def may_follow(group: Job, user: Any) -> bool | None:
    """``Job.can_view`` for an upload's jobs: those who may see the upload
    (``Case.can_see_upload``); None for jobs that are not an upload's."""
    upload = upload_for_job(group)
    if upload is None:
        return None
    from panel.cases.models import Case

    case = db.session.get(Case, upload.case_id)
    return case is not None and case.can_see_upload(user, upload)


def upload_for_job(job: Job) -> Upload | None:
    """The upload a group job counts the files of (None for other jobs)."""
    if job.kind != "group" or (job.payload or {}).get("on_done") != UPLOAD_DONE:
        return None
    return db.session.get(Upload, (job.payload or {}).get("upload"))


__all__ = [
    "INGEST",
    "STATES",
    "discard",
    "ingest_job",
    "progress",
    "receive",
    "spool_dir",
    "upload_done",
    "upload_for_job",
]

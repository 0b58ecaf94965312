"""Uploads and stored files (de-identified scans and checked documents) of a case.

File bytes never live in the database: a :class:`StoredFile` row holds the storage key (the
SHA-256 of the stored bytes), size, type, a safe display name and what the viewer needs. A
series is not a table: files are grouped by their (new, keyed) Series Instance UID.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from panel.core.db import UTCDateTime, db, utcnow


class FileKind(enum.StrEnum):
    DICOM = "dicom"
    PDF = "pdf"
    IMAGE = "image"


class FileStatus(enum.StrEnum):
    STORED = "stored"
    HELD_BACK = "held_back"


def _enum(cls, name):
    return Enum(
        cls, name=name, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
    )


class Upload(db.Model):
    """One upload request: the files the referrer sent together, under one label."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stored_count: Mapped[int] = mapped_column(Integer, default=0)
    held_count: Mapped[int] = mapped_column(Integer, default=0)
    refused_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Files already in the case (not stored again).
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Every file received (a zip counts as its entries).
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The group job that counts this upload's files (one ``imaging.ingest`` job per file);
    #: None once finished job rows have been purged.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    #: When the last file was done (None while files are still being de-identified).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    audit_type = "upload"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class StoredFile(db.Model):
    """One de-identified DICOM instance, or one checked PDF/PNG/JPEG document."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FileKind] = mapped_column(_enum(FileKind, "stored_file_kind"))
    storage_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[FileStatus] = mapped_column(_enum(FileStatus, "stored_file_status"), index=True)
    hold_reason: Mapped[str | None] = mapped_column(String(300))
    modality: Mapped[str | None] = mapped_column(String(16))
    series_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    study_uid: Mapped[str | None] = mapped_column(String(64))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer)
    slice_location: Mapped[float | None] = mapped_column(Float)
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax: Mapped[str | None] = mapped_column(String(64))
    decodable: Mapped[bool] = mapped_column(Boolean, default=True)
    #: What the pixel text step (``panel.imaging.pixeltext``) found: ``clean`` (no text),
    #: ``innocent`` (annotations only), ``masked`` (identifying text filled), ``held``
    #: (unsure: a coordinator decides), ``skipped`` (a modality without burned-in text, e.g.
    #: CT/MR slices without overlays); None for files stored before the step or documents
    #: with text layers.
    pixel_text: Mapped[str | None] = mapped_column(String(16))
    #: The boxes ``[[x, y, width, height], ...]`` the step proposes to fill on a held-back
    #: image (image coordinates), shown in the review queue's box editor; or those it filled.
    proposed_boxes: Mapped[list[list[int]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    upload: Mapped[Upload] = relationship()

    __table_args__ = (
        UniqueConstraint("case_id", "sha256"),
        CheckConstraint("status != 'held_back' OR hold_reason IS NOT NULL", name="held_has_reason"),
    )

    audit_type = "stored_file"

    @property
    def label(self) -> str:
        return self.upload.label if self.upload else ""

    def can_view(self, user, case=None) -> bool:
        """Whoever may see the case sees its released files; held-back files only those who
        review them (``Case.can_review_files``). Pass the already loaded ``case`` to spare a
        query."""
        if case is None:
            from panel.cases.models import Case

            case = db.session.get(Case, self.case_id)
        if case is None or case.id != self.case_id or not case.can_view(user):
            return False
        return self.status == FileStatus.STORED or case.can_review_files(user)

    @property
    def maskable(self) -> bool:
        """Is it a kind a reviewer can black out a rectangle of? DICOM and PNG/JPEG images;
        PDFs cannot (their text is not pixels: delete them instead). Masking still needs pixels
        that can be decoded (``decodable``)."""
        return self.kind in (FileKind.DICOM, FileKind.IMAGE)


# --------------------------------------------------------------------------- queries
def case_files(case) -> list[StoredFile]:
    """Every stored file of the case (with its upload), series in slice order."""
    stmt = (
        db.select(StoredFile)
        .options(joinedload(StoredFile.upload))
        .where(StoredFile.case_id == case.id)
        .order_by(
            StoredFile.series_uid,
            StoredFile.instance_number,
            StoredFile.slice_location,
            StoredFile.id,
        )
    )
    return list(db.session.scalars(stmt))


def visible_files(case, user, files: list[StoredFile] | None = None) -> list[StoredFile]:
    """The case's files as its images card lists them to ``user`` (who may see the case):
    everyone sees released files; held-back files only those who review them
    (``Case.can_review_files``) and the case's referrers (who sent them: they see that they
    await review). The panel's other people do not see held-back files until released."""
    files = case_files(case) if files is None else files
    if case.can_review_files(user) or case.is_referrer(user):
        return files
    return [f for f in files if f.can_view(user, case)]


def series_files(case, series_uid: str) -> list[StoredFile]:
    """The files of one series of the case, in slice order."""
    stmt = (
        db.select(StoredFile)
        .where(StoredFile.case_id == case.id, StoredFile.series_uid == series_uid)
        .order_by(StoredFile.instance_number, StoredFile.slice_location, StoredFile.id)
    )
    return list(db.session.scalars(stmt))


class SeriesView:
    """A series as the list shows it (files grouped by their de-identified Series UID)."""

    def __init__(self, series_uid: str, files: list[StoredFile]) -> None:
        self.series_uid = series_uid
        self.files = files
        self.first = files[0]
        self.modality = files[0].modality or "?"
        self.labels = sorted({f.label for f in files if f.label})
        self.count = len(files)
        self.held = sum(1 for f in files if f.status == FileStatus.HELD_BACK)
        self.undecodable = sum(1 for f in files if not f.decodable)


def group_series(files: list[StoredFile]) -> list[SeriesView]:
    groups: dict[str, list[StoredFile]] = {}
    for f in files:
        groups.setdefault(f.series_uid or f"file-{f.id}", []).append(f)
    return [SeriesView(uid, fs) for uid, fs in groups.items()]


def series_frames(files: list[StoredFile]) -> list[tuple[StoredFile, int]]:
    """Every frame of the series in viewing order: (file, frame index); multi-frame files
    (nuclear medicine, cine) contribute each of their frames."""
    return [(f, k) for f in files for k in range(max(f.frames or 1, 1))]

"""The coordinators' review of held-back files: release, mask a rectangle and release, delete.

Operations flush and audit; the view commits. Storage objects are removed only when no other
row (of any case) still points at the same content.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from panel.accounts.models import PanelRoleKind
from panel.cases import workflow
from panel.cases.models import Case
from panel.core.db import db
from panel.core.storage import LocalStorage, sha256_file
from panel.imaging.models import FileKind, FileStatus, StoredFile


class ReviewError(Exception):
    """The review action cannot be done (e.g. the pixels cannot be decoded to mask them)."""


def held_files_for(user) -> list[tuple[Case, StoredFile]]:
    """Held-back files of submitted cases on the panels ``user`` coordinates, oldest first."""
    panel_ids = user.panel_ids(PanelRoleKind.COORDINATOR)
    if not panel_ids:
        return []
    stmt = (
        select(Case, StoredFile)
        .join(StoredFile, StoredFile.case_id == Case.id)
        .where(
            Case.panel_id.in_(panel_ids),
            Case.submitted_at.is_not(None),
            StoredFile.status == FileStatus.HELD_BACK,
        )
        .order_by(StoredFile.created_at, StoredFile.id)
    )
    return [(c, f) for c, f in db.session.execute(stmt)]


def _audit(action: str, case: Case, f: StoredFile, **details) -> None:
    """The review's effects through the workflow: ``file_released`` or ``file_deleted`` (audit
    entry on the file, timeline entry on the case, the referrers told)."""
    workflow.apply(
        case,
        {"imaging.delete": "file_deleted", "imaging.mask_release": "file_masked"}.get(
            action, "file_released"
        ),
        by=_actor(),
        details={"case": case.reference, "kind": f.kind.value, "action": action, **details},
        audit_obj=f,
        audit_panel_id=case.panel_id,
        clinical=True,
    )


def _actor():
    from flask import has_request_context
    from flask_login import current_user

    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if getattr(user, "is_authenticated", False) else None


def release(case: Case, f: StoredFile) -> list[str]:
    """Show the held-back file to the panel as it is (nothing to remove from storage)."""
    reason = f.hold_reason
    f.status = FileStatus.STORED
    f.hold_reason = None
    db.session.flush()
    _audit("imaging.release", case, f, hold_reason=reason)
    return []


def _unreferenced(key: str, excluding: int) -> bool:
    n = db.session.scalar(
        select(func.count())
        .select_from(StoredFile)
        .where(StoredFile.storage_key == key, StoredFile.id != excluding)
    )
    return not n


def delete(case: Case, f: StoredFile, storage: LocalStorage) -> list[str]:
    """Delete the file's row; return the storage keys to remove *after* the commit (bytes no
    other row points at)."""
    key, fid = f.storage_key, f.id
    _audit("imaging.delete", case, f, hold_reason=f.hold_reason)
    db.session.delete(f)
    db.session.flush()
    return [key] if _unreferenced(key, fid) else []


def mask_and_release(
    case: Case, f: StoredFile, storage: LocalStorage, x: int, y: int, w: int, h: int
) -> list[str]:
    """Black out a rectangle (every frame of a DICOM file; a PNG/JPEG's pixels), check the
    result, store it under its new hash and release it.

    DICOM files are checked again with the de-identifier's structural check; PNG/JPEG files are
    re-encoded from the masked pixels only (no metadata). Returns the storage keys to remove
    after the commit (the unmasked file). The masked file is already stored; if the commit fails
    the caller removes it (``f.storage_key``)."""
    from panel.imaging import documents, render
    from panel.imaging.deid import verify_file

    if not f.maskable:
        raise ReviewError("Only images can be masked here; delete the document instead.")
    if not f.decodable:
        raise ReviewError("This image's pixels cannot be decoded, so it cannot be masked.")
    if f.rows and f.columns and (x >= f.columns or y >= f.rows):
        raise ReviewError("The rectangle lies outside the image.")
    is_dicom = f.kind == FileKind.DICOM
    tmp = storage.temp_file(".dcm" if is_dicom else "")
    try:
        try:
            if is_dicom:
                render.mask_rectangle(storage.path(f.storage_key), tmp, x, y, w, h)
            else:
                kind = "png" if f.content_type == "image/png" else "jpeg"
                documents.mask_image(storage.path(f.storage_key), tmp, kind, x, y, w, h)
        except documents.MaskOutside as exc:
            raise ReviewError("The rectangle lies outside the image.") from exc
        except Exception as exc:  # noqa: BLE001
            raise ReviewError(f"The image could not be masked ({type(exc).__name__}).") from exc
        if is_dicom and _verify(verify_file, tmp):
            raise ReviewError(
                "The masked file failed the de-identification check; nothing was changed."
            )
        old_key = f.storage_key
        sha = sha256_file(tmp)
        if db.session.scalar(
            select(StoredFile.id)
            .where(StoredFile.case_id == f.case_id, StoredFile.sha256 == sha, StoredFile.id != f.id)
            .limit(1)
        ):
            raise ReviewError(
                "The masked image is identical to another file of this case; delete this one instead."
            )
        existed = storage.exists(sha)
        new_key = storage.put_file(tmp)
        try:
            f.storage_key = new_key
            f.sha256 = sha
            f.size = Path(tmp).stat().st_size
            f.status = FileStatus.STORED
            f.hold_reason = None
            if is_dicom and render.is_compressed(f.transfer_syntax):
                f.transfer_syntax = "1.2.840.10008.1.2.1"
            db.session.flush()
            _audit("imaging.mask_release", case, f, rectangle=[x, y, w, h])
        except BaseException:
            if not existed:
                storage.delete(new_key)
            raise
        return [old_key] if _unreferenced(old_key, f.id) else []
    finally:
        Path(tmp).unlink(missing_ok=True)


def _verify(verify_file, path) -> list[str]:
    """The de-identifier's structural check (no private tags, preamble zeroed, identity removed);
    the original values were checked when the file was uploaded, and masking changes pixels only."""
    return list(verify_file(path, (), (), ()))

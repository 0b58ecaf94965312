"""The coordinators' review of held-back files: release, mask boxes and release, delete; the
box editor's boxes saved to come back to later.

Boxes are ``[x, y, width, height]`` in the image's own pixels (column, row of the top-left
corner), as the pixel text step proposes them (``StoredFile.proposed_boxes``).

Operations flush and audit; the view commits. Storage objects are removed only when no other
row (of any case) still points at the same content.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import func, select

from panel.accounts.models import PanelRoleKind
from panel.cases import workflow
from panel.cases.models import Case
from panel.core.audit import record
from panel.core.db import db
from panel.core.storage import LocalStorage, sha256_file
from panel.imaging.models import FileKind, FileStatus, StoredFile


class ReviewError(Exception):
    """The review action cannot be done (e.g. the pixels cannot be decoded to mask them)."""


#: At most this many boxes on one image: more is not a mask but a deletion.
MAX_BOXES = 50


def parse_boxes(text: str | None) -> list[list[int]]:
    """The editor's boxes from their JSON text (``[[x, y, w, h], ...]``, whole pixels; numbers
    are rounded); :class:`ReviewError` with a readable message when it is not that shape. The
    boxes are not checked against an image here (:func:`check_boxes`)."""
    if len(text or "") > 50 * MAX_BOXES:  # far more than 50 boxes of whole numbers can need
        raise ReviewError(
            f"At most {MAX_BOXES} boxes can be masked on one image; delete it instead."
        )
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError) as exc:
        raise ReviewError("The boxes could not be read; reload the page and try again.") from exc
    if not isinstance(data, list):
        raise ReviewError("The boxes could not be read; reload the page and try again.")
    if len(data) > MAX_BOXES:
        raise ReviewError(
            f"At most {MAX_BOXES} boxes can be masked on one image; delete it instead."
        )
    boxes = []
    for n, box in enumerate(data, 1):
        if not (
            isinstance(box, list)
            and len(box) == 4
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in box
            )
        ):
            raise ReviewError(f"Box {n} is not four numbers (x, y, width and height).")
        boxes.append([round(v) for v in box])
    return boxes


def check_boxes(boxes: list[list[int]], width: int, height: int) -> list[list[int]]:
    """The boxes clipped to a ``width`` x ``height`` image; :class:`ReviewError` naming the box
    when one has no size, lies outside the image, or when they cover the whole image together
    (that is a deletion, not a mask) or are too many."""
    if len(boxes) > MAX_BOXES:
        raise ReviewError(
            f"At most {MAX_BOXES} boxes can be masked on one image; delete it instead."
        )
    out = []
    for n, (x, y, w, h) in enumerate(boxes, 1):
        if w <= 0 or h <= 0:
            raise ReviewError(f"Box {n} has no width or height.")
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 <= x0 or y1 <= y0:
            raise ReviewError(f"Box {n} lies outside the image ({width} by {height} pixels).")
        out.append([x0, y0, x1 - x0, y1 - y0])
    if out and _covers_all(out, width, height):
        raise ReviewError(
            "The boxes cover the whole image: nothing would be left to see; delete the file instead."
        )
    return out


def _covers_all(boxes: list[list[int]], width: int, height: int) -> bool:
    """Do the (clipped) boxes together cover every pixel? Checked on the grid of their edges,
    so a large image costs no more than its boxes."""
    xs = sorted({0, width, *(b[0] for b in boxes), *(b[0] + b[2] for b in boxes)})
    ys = sorted({0, height, *(b[1] for b in boxes), *(b[1] + b[3] for b in boxes)})
    for xa, xb in zip(xs, xs[1:], strict=False):
        for ya, yb in zip(ys, ys[1:], strict=False):
            if not any(
                b[0] <= xa and xb <= b[0] + b[2] and b[1] <= ya and yb <= b[1] + b[3] for b in boxes
            ):
                return False
    return True


def image_size(f: StoredFile, storage: LocalStorage) -> tuple[int, int] | None:
    """The image's (width, height) in pixels: the row's ``columns`` x ``rows``, or read from a
    PNG/JPEG's header; None when unknown (not an image, or its pixels cannot be decoded)."""
    if f.columns and f.rows:
        return f.columns, f.rows
    if f.kind == FileKind.IMAGE:
        from PIL import Image

        try:
            with Image.open(storage.path(f.storage_key)) as img:
                return img.size
        except Exception:  # noqa: BLE001 - an image we cannot read has no size to offer
            return None
    return None


def editor_boxes(f: StoredFile, size: tuple[int, int] | None = None) -> list[list[int]]:
    """The boxes the editor starts from: those saved or proposed, else none; with the image's
    ``size``, clipped to it (a box that lies outside is left out), at most ``MAX_BOXES``."""
    boxes = [
        [int(v) for v in b]
        for b in (f.proposed_boxes or [])
        if isinstance(b, list | tuple) and len(b) == 4
    ]
    return boxes if size is None else clip_boxes(boxes, size)


def clip_boxes(boxes: list[list[int]], size: tuple[int, int]) -> list[list[int]]:
    """``boxes`` clipped to an image of ``size`` (width, height); those outside it left out;
    at most ``MAX_BOXES``. For showing boxes in the editor, not for checking them."""
    width, height = size
    out = []
    for x, y, w, h in boxes:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 > x0 and y1 > y0:
            out.append([x0, y0, x1 - x0, y1 - y0])
    return out[:MAX_BOXES]


def save_boxes(case: Case, f: StoredFile, storage: LocalStorage, boxes: list[list[int]]) -> None:
    """Keep the editor's boxes on the held-back file (``proposed_boxes``) without masking, so a
    coordinator can come back to them; audited (``imaging.boxes_saved``, coordinates only)."""
    size = image_size(f, storage) if f.maskable and f.decodable else None
    if size is None:
        raise ReviewError("Only images whose pixels can be decoded have boxes to save.")
    boxes = check_boxes(boxes, *size)
    before = editor_boxes(f)
    f.proposed_boxes = boxes
    db.session.flush()
    record(
        "imaging.boxes_saved",
        obj=f,
        panel_id=case.audit_panel_id,
        details={"case": case.reference, "boxes": boxes, "before": before},
        clinical=True,
    )


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
    case: Case, f: StoredFile, storage: LocalStorage, boxes: list[list[int]]
) -> list[str]:
    """Black out the boxes (every frame of a DICOM file; a PNG/JPEG's pixels) in one pass,
    check the result, store it under its new hash and release it. The boxes are checked and
    clipped to the image (:func:`check_boxes`); at least one is needed. Afterwards the file's
    ``pixel_text`` is ``masked`` and ``proposed_boxes`` the boxes filled.

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
    if not boxes:
        raise ReviewError("Draw at least one box to mask, or release the file as it is.")
    size = image_size(f, storage)
    if size is None:
        raise ReviewError("This image's size is unknown, so it cannot be masked.")
    boxes = check_boxes(boxes, *size)
    is_dicom = f.kind == FileKind.DICOM
    tmp = storage.temp_file(".dcm" if is_dicom else "")
    try:
        try:
            if is_dicom:
                render.mask_boxes(storage.path(f.storage_key), tmp, boxes)
            else:
                kind = "png" if f.content_type == "image/png" else "jpeg"
                documents.mask_image_boxes(storage.path(f.storage_key), tmp, kind, boxes)
        except documents.MaskOutside as exc:
            raise ReviewError("A box lies outside the image.") from exc
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
            f.pixel_text = "masked"
            f.proposed_boxes = boxes
            if is_dicom and render.is_compressed(f.transfer_syntax):
                f.transfer_syntax = "1.2.840.10008.1.2.1"
            db.session.flush()
            _audit("imaging.mask_release", case, f, boxes=boxes)
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

"""Export for a second opinion: the case's released de-identified images and documents plus the
case summary (``panel-case/1`` JSON) in one zip, written to a temporary file and streamed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from panel.core.storage import LocalStorage
from panel.imaging.models import FileKind, FileStatus, StoredFile, case_files


def export_name(f: StoredFile) -> str:
    if f.kind == FileKind.DICOM:
        series = (f.series_uid or "series").rsplit(".", 1)[-1][-8:]
        return f"images/{f.modality or 'OT'}-{series}/{(f.instance_number or 0):05d}-{f.id}.dcm"
    return f"documents/{f.id}-{f.display_name}"


def build_export(case, storage: LocalStorage) -> Path:
    """Write the zip to a temporary file in the storage's temp folder; the caller removes it."""
    from panel.cases.operations import to_document

    out = storage.temp_file(".zip")
    files = [f for f in case_files(case) if f.status == FileStatus.STORED]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("case.json", json.dumps(to_document(case), indent=2, ensure_ascii=False))
        for f in files:
            zf.write(storage.path(f.storage_key), export_name(f))
        zf.writestr(
            "README.txt",
            (
                f"Case {case.reference}: de-identified images (DICOM PS3.15 basic profile, dates shifted)\n"
                "and checked documents, with the case summary in case.json (panel-case/2).\n"
                "Files held back for review are not included.\n"
            ),
        )
    return out

"""The API's files and jobs: hospital systems upload scans without a browser (issue 18).

``POST /api/v1/cases/{ref}/files`` receives one or many files or a zip (multipart, field
``files``) exactly as the upload page does (:func:`panel.imaging.ingest.receive`) and answers
``202 {"job": id}`` at once: each file is de-identified by its own job. ``GET
/api/v1/jobs/{id}`` follows it (``Job.can_view``): the same state the upload page's progress
bars show (:func:`panel.imaging.ingest.progress`). ``GET /api/v1/cases/{ref}/files`` lists the
case's series and documents as its images card does (:func:`panel.imaging.models.visible_files`).

Who sees what in the listing: whoever may see the case sees its released files; held-back
files (names included) only the case's referrers and the coordinators who review them, as on
the web page. The counts agree with what the caller is shown: ``held_back`` counts the
held-back files listed (so 0 for a panel member, who is not told that files await review),
``refused`` and ``uploads`` cover the uploads the caller may follow (``Case.can_see_upload``:
the referrers, the panel's coordinators and whoever sent them), never others'.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from panel.api import bp
from panel.api.auth import current_api_user
from panel.api.documents import iso
from panel.api.errors import ApiError
from panel.api.views import _load_visible_case, _require
from panel.core.audit import record_read
from panel.core.db import db
from panel.core.models import Job
from panel.imaging import ingest, uploads
from panel.imaging.models import FileKind, FileStatus, Upload, group_series, visible_files

JOB_NOT_FOUND = "No job with this id (or you may not see it)."


def _series_json(series) -> dict:
    held, count = series.held, series.count
    return {
        "uid": series.series_uid,
        "modality": series.modality,
        # the upload label(s): the de-identified series description is not stored
        "description": "; ".join(series.labels),
        "instances": count,
        "state": "stored" if not held else ("held_back" if held == count else "partly_held_back"),
    }


def _document_json(f) -> dict:
    return {
        "id": f.id,
        "name": f.display_name,
        "kind": f.kind.value,
        "content_type": f.content_type,
        "state": f.status.value,
        "size": f.size,
        "label": f.label,
    }


def _upload_json(upload: Upload) -> tuple[dict, int]:
    state = ingest.progress(upload, files=False)
    return {
        "id": upload.id,
        "job": state["id"],
        "state": state["state"],
        "done": state["done"],
        "total": state["total"],
        "label": upload.label,
        "created_at": iso(upload.created_at),
    }, state["counts"]["refused"]


@bp.get("/cases/<ref>/files")
def list_files(ref: str) -> Response:
    """The case's series and documents as the caller may see them (see the module's
    docstring), the held-back and refused counts and the uploads they may follow."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    files = visible_files(case, user)
    series = group_series([f for f in files if f.kind == FileKind.DICOM])
    documents = [f for f in files if f.kind != FileKind.DICOM]
    ups = db.session.scalars(
        select(Upload).where(Upload.case_id == case.id).order_by(Upload.id)
    ).all()
    listed, refused = [], 0
    for up in ups:
        if case.can_see_upload(user, up):
            row, n = _upload_json(up)
            listed.append(row)
            refused += n
    record_read("case.viewed", obj=case, actor=user, details={"via": "api", "what": "files"})
    return jsonify(
        {
            "series": [_series_json(s) for s in series],
            "documents": [_document_json(f) for f in documents],
            "held_back": sum(1 for f in files if f.status == FileStatus.HELD_BACK),
            "refused": refused,
            "uploads": listed,
        }
    )


@bp.post("/cases/<ref>/files")
def upload_files(ref: str) -> Response:
    """Receive files for the case; 202 with the job that counts them."""
    user = current_api_user()
    case = _load_visible_case(ref, user)
    _require(case, user, "can_upload", "add files to", "given files")
    cfg = current_app.config
    request.max_content_length = cfg["IMAGING_MAX_REQUEST"]
    request.max_form_parts = cfg["IMAGING_MAX_FILES"] + 10
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(415, "Send the files as multipart/form-data, in the field 'files'.")
    try:
        form, files = request.form, request.files.getlist("files")
    except RequestEntityTooLarge:
        raise ApiError(413, "The upload is too large.") from None
    except ClientDisconnected:
        raise ApiError(400, "The upload was cut off before its end.") from None
    label = (form.get("label") or "").strip()
    problem = uploads.label_problem(label)
    if problem:
        raise ApiError(422, "label: " + problem.removeprefix("the label "), "label")
    if len(label) > uploads.LABEL_MAX:
        raise ApiError(422, f"label: at most {uploads.LABEL_MAX} characters", "label")
    files = [f for f in files if f.filename or f.content_length]
    if not files:
        raise ApiError(422, "files: send at least one file", "files")
    if len(files) > cfg["IMAGING_MAX_FILES"]:
        raise ApiError(413, f"Too many files in one upload (at most {cfg['IMAGING_MAX_FILES']}).")
    received = None
    try:
        received = ingest.receive(case, user, label, ((f.filename or "", f.stream) for f in files))
        db.session.commit()  # the files' jobs start now
    except uploads.UploadRefused as exc:
        db.session.rollback()
        ingest.discard(received)
        raise ApiError(413, str(exc)[:1].upper() + str(exc)[1:] + ".") from None
    except BaseException:
        db.session.rollback()
        ingest.discard(received)
        raise
    finally:
        for f in files:
            f.close()
    state = ingest.progress(received, files=False)
    response = jsonify(
        {
            "job": state["id"],
            "upload": received.id,
            "state": state["state"],
            "done": state["done"],
            "total": state["total"],
        }
    )
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=state["id"])
    return response


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int) -> Response:
    """A job's state: ``{"id", "state", "done", "total"}``; an upload's also lists its files."""
    user = current_api_user()
    job = db.session.get(Job, job_id)
    if job is None or not job.can_view(user):
        raise ApiError(404, JOB_NOT_FOUND)
    upload = ingest.upload_for_job(job)
    if upload is not None:
        state = ingest.progress(upload)
        body = {
            "id": job.id,
            "kind": "upload",
            "state": state["state"],
            "done": state["done"],
            "total": state["total"],
            "failed": job.failed,
            "upload": upload.id,
            "counts": state["counts"],
            "files": state["files"],
        }
    else:
        body = job.as_json()
        body.pop("result", None)  # a handler's own result is for admins' eyes
    return jsonify(body)

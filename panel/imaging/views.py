"""Imaging pages: upload, the case's images, downloads, frames, the viewer and the review queue.

Thin views: load (404 when the case cannot be seen) -> authorise (403) -> operate -> commit.
"""

from __future__ import annotations

import io

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from wtforms import ValidationError

from panel.cases.queries import load_case_or_404
from panel.core.audit import record, record_read
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.extensions import csrf
from panel.core.storage import get_storage
from panel.imaging import bp, render, uploads
from panel.imaging.models import (
    FileKind,
    FileStatus,
    StoredFile,
    case_files,
    group_series,
    series_files,
    series_frames,
    visible_files,
)

PREFIX = "/cases/<ref>/images"


_user = signed_in_user


def _wants_json() -> bool:
    """JSON only for a client that asks for it (the uploader, scripts): htmx and anything
    sending ``Accept: */*`` get the HTML page."""
    if request.headers.get("HX-Request"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


# --------------------------------------------------------------------------- the case's images
@bp.route(PREFIX)
@login_required
def index(ref: str):
    case = load_case_or_404(ref, _user())
    files = case_files(case)
    return render_template(
        "imaging/case_images.html",
        case=case,
        uploads=_recent_uploads(case),
        **_listing(case, files),
    )


def _recent_uploads(case, limit: int = 10) -> list[dict]:
    """The case's latest uploads that the user may follow (``Case.can_see_upload``), newest
    first, each with its progress counts (no file rows)."""
    from sqlalchemy import select

    from panel.imaging import ingest
    from panel.imaging.models import Upload

    user = _user()
    ups = db.session.scalars(
        select(Upload)
        .where(Upload.case_id == case.id)
        .order_by(Upload.created_at.desc(), Upload.id.desc())
        .limit(limit * 5)
    ).all()
    seen = [u for u in ups if case.can_see_upload(user, u)][:limit]
    return [{"upload": u, "state": ingest.progress(u, files=False)} for u in seen]


def _listing(case, files):
    user = _user()
    # Held-back files are not shown to the panel until a coordinator has released them.
    files = visible_files(case, user, files)
    series = group_series([f for f in files if f.kind == FileKind.DICOM])
    documents = [f for f in files if f.kind != FileKind.DICOM]
    from panel.imaging.network_views import network_context

    return {
        "series": series,
        "documents": documents,
        "may_upload": case.can_upload(user),
        "may_review": case.can_review_files(user),
        **network_context(case, user),
    }


@bp.route(PREFIX + "/_partial")
@login_required
def partial(ref: str):
    """The case-page card (for ``{% include %}``-free embedding with htmx)."""
    case = load_case_or_404(ref, _user())
    return render_template(
        "imaging/_case_images.html", case=case, **_listing(case, case_files(case))
    )


# --------------------------------------------------------------------------- upload
@bp.route(PREFIX + "/upload", methods=["POST"])
@csrf.exempt  # checked below, after the request limits are set and before anything is processed
@login_required
def upload(ref: str):
    user = _user()
    case = load_case_or_404(ref, user, check="can_upload")
    cfg = current_app.config
    request.max_content_length = cfg["IMAGING_MAX_REQUEST"]
    request.max_form_parts = cfg["IMAGING_MAX_FILES"] + 10
    try:
        form, files = request.form, request.files.getlist("files")
    except RequestEntityTooLarge:
        return _refuse_request("the upload is too large", 413)
    except ClientDisconnected:
        abort(400)
    try:
        validate_csrf(form.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(str(exc)) from exc
    label = (form.get("label") or "").strip()
    problem = uploads.label_problem(label)
    if problem:
        return _refuse_request(problem, 422)
    files = [f for f in files if f.filename or f.content_length]
    if not files:
        return _refuse_request("choose at least one file", 422)
    max_files = cfg["IMAGING_MAX_FILES"]
    if len(files) > max_files:
        return _refuse_request(f"too many files in one upload (at most {max_files})", 413)

    from panel.imaging import ingest

    storage = get_storage()
    received = None
    try:
        received = ingest.receive(
            case, user, label, ((f.filename or "", f.stream) for f in files), storage=storage
        )
        db.session.commit()  # the files' jobs start now (in tests: run before this returns)
    except uploads.UploadRefused as exc:
        db.session.rollback()
        ingest.discard(received, storage)
        return _refuse_request(str(exc), 413)
    except BaseException:
        db.session.rollback()
        ingest.discard(received, storage)
        raise
    finally:
        for f in files:
            f.close()
    progress_url = url_for("imaging.upload_progress", ref=case.reference, upload_id=received.id)
    if _wants_json():
        state = ingest.progress(received)
        return jsonify(
            upload_id=received.id,
            job=state["id"],
            state=state["state"],
            done=state["done"],
            total=state["total"],
            counts=state["counts"],
            masked=state["masked"],
            files=[_file_json(r) for r in state["files"]],
            progress=progress_url,
            next=url_for("imaging.index", ref=case.reference),
        ), (200 if state["state"] == "done" else 202)
    return redirect(progress_url, code=303)


def _file_json(row: dict) -> dict:
    """One file's line as the uploader shows it (``status`` is its state)."""
    out = {k: v for k, v in row.items() if v is not None and k != "state"}
    out["status"] = row["state"]
    return out


def _load_upload(ref: str, upload_id: int):
    user = _user()
    case = load_case_or_404(ref, user)
    from panel.imaging.models import Upload

    up = db.session.get(Upload, upload_id)
    if up is None or up.case_id != case.id or not case.can_see_upload(user, up):
        abort(404)
    return case, up


@bp.route(PREFIX + "/uploads/<int:upload_id>")
@login_required
def upload_progress(ref: str, upload_id: int):
    """One upload: a progress bar per file while its jobs run, then its results.

    The page, or with htmx the progress block (``_upload_progress.html``, which the case
    page's uploader loads into its form with ``?in=card``), whose body polls itself
    (``?part=body``) every 2 s until the upload is done. ``seen`` is the state the poll last
    showed: the live region is only rewritten (and announced) when the counts moved."""
    from panel.imaging import ingest

    case, up = _load_upload(ref, upload_id)
    state = ingest.progress(up)
    if _wants_json():
        return jsonify(state)
    card = request.args.get("in") == "card"
    now = f"{state['state']}-{state['done']}"
    ctx = {
        "case": case,
        "upload": up,
        "state": state,
        "card": card,
        "seen": now,
        "announce": request.args.get("seen") != now,
        "page_url": url_for("imaging.upload_progress", ref=case.reference, upload_id=up.id),
        "poll_url": url_for(
            "imaging.upload_progress",
            ref=case.reference,
            upload_id=up.id,
            part="body",
            seen=now,
            **({"in": "card"} if card else {}),
        ),
    }
    if not request.headers.get("HX-Request"):
        template = "imaging/upload_progress.html"
    elif request.args.get("part") == "body":
        template = "imaging/_upload_progress_body.html"
    else:
        template = "imaging/_upload_progress.html"
    return render_template(template, **ctx)


def _refuse_request(message: str, status: int):
    if _wants_json():
        return jsonify(error=message), status
    return render_template(
        "errors/error.html",
        code=status,
        title="Nothing was uploaded",
        description=message[:1].upper() + message[1:] + ".",
    ), status


# --------------------------------------------------------------------------- files
def _load_file(ref: str, file_id: int) -> tuple[object, StoredFile]:
    user = _user()
    case = load_case_or_404(ref, user)
    f = db.session.get(StoredFile, file_id)
    if f is None or f.case_id != case.id or not f.can_view(user, case):
        abort(404)
    return case, f


@bp.route(PREFIX + "/files/<int:file_id>/download")
@login_required
def download(ref: str, file_id: int):
    case, f = _load_file(ref, file_id)
    record(
        "imaging.download",
        obj=f,
        panel_id=case.audit_panel_id,
        details={"case": case.reference},
        clinical=True,
    )
    db.session.commit()
    storage = get_storage()
    return send_file(
        storage.path(f.storage_key),
        mimetype=f.content_type,
        as_attachment=True,
        download_name=f"{case.reference}-{f.id}-{f.display_name}",
        max_age=0,
    )


@bp.route(PREFIX + "/files/<int:file_id>/preview.png")
@login_required
def preview(ref: str, file_id: int):
    """A PNG preview (inline) of a DICOM file or an image document; thumbnails with ?size=."""
    case, f = _load_file(ref, file_id)
    size = request.args.get("size", type=int)
    size = min(max(size, 32), 512) if size else None
    _viewed(case, f.series_uid if f.kind == FileKind.DICOM and f.series_uid else None, f)
    storage = get_storage()
    if f.kind == FileKind.DICOM:
        data = render.cached_render(
            storage.cache, f.storage_key, storage.path(f.storage_key), 0, _preset(), thumb=size
        )
    elif f.kind == FileKind.IMAGE:
        from PIL import Image

        with Image.open(storage.path(f.storage_key)) as img:
            img.thumbnail((size or 1024, size or 1024))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
        data = buf.getvalue()
    else:
        data = render.placeholder_png(
            "PDF document: download it to read it.", (size or 256, size or 256)
        )
    return _png(data)


def _preset() -> str:
    preset = request.args.get("preset", "auto")
    return preset if preset in render.PRESET_NAMES else "auto"


def _png(data: bytes):
    resp = current_app.response_class(data, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["Content-Disposition"] = "inline"
    return resp


# --------------------------------------------------------------------------- series and viewer
def _viewed(case, series_uid: str | None, document: StoredFile | None = None) -> None:
    """Record that the user saw a series (viewer, frames, thumbnails) or a document's preview:
    once per series (or document) per sign-in session, however many frames are loaded."""
    key = f"series:{series_uid}" if series_uid else f"file:{document.id}"
    details = {"series": series_uid} if series_uid else {"file": document.id}
    record_read("images.viewed", obj=case, details=details, clinical=True, once_per_session=key)


@bp.route(PREFIX + "/series/<series_uid>")
@login_required
def viewer(ref: str, series_uid: str):
    user = _user()
    case = load_case_or_404(ref, user)
    files = [f for f in series_files(case, series_uid) if f.can_view(user, case)]
    if not files:
        abort(404)
    _viewed(case, series_uid)
    return render_template(
        "imaging/viewer.html",
        case=case,
        files=files,
        series_uid=series_uid,
        count=len(series_frames(files)),
        presets=render.PRESET_NAMES,
        first=files[0],
    )


@bp.route(PREFIX + "/series/<series_uid>/frames/<int:n>.png")
@login_required
def frame(ref: str, series_uid: str, n: int):
    user = _user()
    case = load_case_or_404(ref, user)
    frames = series_frames([f for f in series_files(case, series_uid) if f.can_view(user, case)])
    if not 0 <= n < len(frames):
        abort(404)
    f, k = frames[n]
    _viewed(case, series_uid)
    storage = get_storage()
    return _png(
        render.cached_render(
            storage.cache, f.storage_key, storage.path(f.storage_key), k, _preset()
        )
    )


# --------------------------------------------------------------------------- review queue
@bp.route("/imaging/review")
@login_required
def review_queue():
    from panel.imaging.review import held_files_for

    user = _user()
    if not user.is_coordinator:
        abort(403)
    return render_template("imaging/review.html", files=held_files_for(user))


def _review_editor(case, f, boxes=None, error: str | None = None, status: int = 200):
    """The box editor page of one held-back file (``error``: the form error, with ``status``)."""
    from panel.imaging import review

    storage = get_storage()
    size = review.image_size(f, storage) if f.maskable and f.decodable else None
    frame_urls = []
    if size and f.kind == FileKind.DICOM and (f.frames or 1) > 1 and f.series_uid:
        # The viewer's frame route, at this file's frames within its series.
        user = _user()
        files = [x for x in series_files(case, f.series_uid) if x.can_view(user, case)]
        frame_urls = [
            url_for("imaging.frame", ref=case.reference, series_uid=f.series_uid, n=n)
            for n, (x, _) in enumerate(series_frames(files))
            if x.id == f.id
        ]
    if boxes is None:
        boxes = review.editor_boxes(f, size)
    elif size:
        boxes = review.clip_boxes(boxes, size)
    return render_template(
        "imaging/review_file.html",
        case=case,
        f=f,
        size=size,
        frame_urls=frame_urls,
        boxes=boxes,
        max_boxes=review.MAX_BOXES,
        error=error,
    ), status


def _held_for_review(ref: str, file_id: int):
    """The case and the held-back file a coordinator reviews; 404 when the case or file cannot be
    seen, 403 when the user may not review it or it is not held back."""
    case, f = _load_file(ref, file_id)
    if not case.can_review_files(_user()) or f.status != FileStatus.HELD_BACK:
        abort(403)
    return case, f


@bp.route(PREFIX + "/files/<int:file_id>/review")
@login_required
def review_file(ref: str, file_id: int):
    """One held-back file's review page: the image with the box editor, Release, Delete."""
    case, f = _held_for_review(ref, file_id)
    return _review_editor(case, f)


@bp.route(PREFIX + "/files/<int:file_id>/review", methods=["POST"])
@login_required
def review_action(ref: str, file_id: int):
    """Release, delete, mask the boxes and release, or save the boxes (the editor's JSON in the
    ``boxes`` field). Bad boxes: the editor again with the form error (422), nothing changed."""
    from panel.imaging import review

    case, f = _held_for_review(ref, file_id)
    action = request.form.get("action")
    storage = get_storage()
    new_key = None
    try:
        if action == "release":
            garbage = review.release(case, f)
        elif action == "delete":
            garbage = review.delete(case, f, storage)
        elif action in ("mask", "save"):
            try:
                boxes = review.parse_boxes(request.form.get("boxes"))
                if action == "save":
                    review.save_boxes(case, f, storage, boxes)
                    garbage = []
                else:
                    old_key = f.storage_key
                    garbage = review.mask_and_release(case, f, storage, boxes)
                    new_key = f.storage_key if f.storage_key != old_key else None
            except review.ReviewError as exc:
                db.session.rollback()
                try:  # the coordinator's boxes stay on the page when they can be read
                    kept = review.parse_boxes(request.form.get("boxes"))
                except review.ReviewError:
                    kept = None
                return _review_editor(case, f, boxes=kept, error=str(exc), status=422)
        else:
            abort(400)
        db.session.commit()
    except review.ReviewError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("imaging.review_queue"))
    except BaseException:
        db.session.rollback()
        if new_key and not db.session.scalar(
            db.select(StoredFile.id).where(StoredFile.storage_key == new_key).limit(1)
        ):
            storage.delete(new_key)
        raise
    for key in garbage:  # only after the commit: a failed commit keeps the old bytes
        storage.delete(key)
    if action == "save":
        flash(
            "Boxes saved. The file stays held back until you release, mask or delete it.", "success"
        )
        return redirect(url_for("imaging.review_file", ref=case.reference, file_id=f.id))
    flash(
        {
            "release": "Released to the panel.",
            "delete": "Deleted.",
            "mask": "Masked and released to the panel.",
        }[action],
        "success",
    )
    return redirect(url_for("imaging.review_queue"))


# --------------------------------------------------------------------------- export
@bp.route(PREFIX + "/export.zip")
@login_required
def export(ref: str):
    """The referrer's (or the panel coordinator's) zip for a second opinion."""
    from panel.imaging.export import build_export

    user = _user()
    case = load_case_or_404(ref, user)
    if not (case.is_referrer(user) or case.can_review_files(user)):
        abort(403)
    storage = get_storage()
    path = build_export(case, storage)
    record("imaging.export", obj=case, clinical=True)
    db.session.commit()
    fh = open(path, "rb")  # noqa: SIM115 - closed with the response
    path.unlink()  # the open handle keeps the data until the response is sent
    resp = send_file(
        fh,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{case.reference}-images.zip",
        max_age=0,
    )
    resp.call_on_close(fh.close)
    return resp

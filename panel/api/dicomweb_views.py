"""DICOMweb routes (issue 19): STOW-RS in for hospital systems, QIDO-RS and WADO-RS out for viewers.

* ``POST /api/v1/dicomweb/studies`` (and ``/studies/{study}``, PS3.18 10.5): STOW-RS with a
  DICOMweb *sender* token (``Bearer pdw_...``, :func:`panel.imaging.routing.sender_for_token`);
  a person's API token is refused (403). The body is read as a stream into an
  :class:`~panel.imaging.routing.Inbox` (:func:`panel.imaging.dicomweb.store`); the answer is
  the Store Instances Response in DICOM JSON: 200 all stored, 202 some refused, 409 none.
* ``/api/v1/cases/{ref}/dicomweb/...``: QIDO-RS (studies, series, instances) and WADO-RS
  (study, series, instance, frames, metadata) of the case's released de-identified DICOM files,
  with a person's API token and the case page's rule (``Case.can_view``; others 404). Each
  request is one audit entry (``images.viewed``, ``via: dicomweb``), written once it succeeded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from flask import Response, current_app, g, request, url_for
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from panel.api import bp, tokens
from panel.api.auth import bearer_secret, current_api_user
from panel.api.errors import ApiError
from panel.api.views import _load_visible_case
from panel.core.audit import record_read
from panel.core.db import db
from panel.core.storage import get_storage
from panel.imaging import dicomweb, routing
from panel.imaging.models import FileKind, FileStatus, StoredFile

STOW_TOKEN = (
    "Storing studies (STOW-RS) needs a DICOMweb sender token: send it as 'Authorization: "
    f"Bearer {routing.TOKEN_PREFIX}...' (an admin makes one with 'flask dicom-ae token')."
)
STOW_INVALID = "The DICOMweb sender token is not valid: it is unknown, or its sender was removed."
STOW_PERSONAL = (
    "A personal API token cannot store studies: STOW-RS takes a DICOMweb sender token of a "
    "hospital system (ask an admin). Personal tokens read a case's images (QIDO-RS, WADO-RS)."
)
STOW_MEDIA = (
    'Send the study as multipart/related; type="application/dicom", one DICOM file (PS3.10) '
    "per part."
)
NO_SUCH = "No such {what} in this case (or you may not see it)."
NOT_JSON = "This resource answers application/dicom+json only: ask for it in the Accept header."


# --------------------------------------------------------------------------- STOW-RS
def _sender():
    secret = bearer_secret()
    if secret is None:
        raise ApiError(401, STOW_TOKEN, headers={"WWW-Authenticate": 'Bearer realm="panel"'})
    sender = routing.sender_for_token(secret)
    if sender is not None:
        return sender
    if secret.startswith(tokens.TOKEN_PREFIX) and tokens.find_usable_token(secret)[0]:
        raise ApiError(403, STOW_PERSONAL)
    raise ApiError(
        401,
        STOW_INVALID,
        headers={"WWW-Authenticate": 'Bearer realm="panel", error="invalid_token"'},
    )


def _stow(study: str | None) -> Response:
    sender = _sender()
    mime, params = dicomweb.parse_media_type(request.headers.get("Content-Type", ""))
    if mime != "multipart/related" or params.get("type", "").lower() != dicomweb.DICOM:
        raise ApiError(415, STOW_MEDIA)
    boundary = params.get("boundary", "")
    if not boundary:
        raise ApiError(400, "The Content-Type has no multipart boundary.")
    request.max_content_length = current_app.config["IMAGING_MAX_REQUEST"]
    storage = get_storage()
    inbox = routing.Inbox(sender, "stow-rs", storage=storage)
    try:
        result = dicomweb.store(
            request.stream,
            boundary,
            inbox,
            temp_file=lambda: storage.temp_file(".stow"),
            study_uid=study,
        )
        if not result.stored and not result.failed:
            raise dicomweb.MultipartError("the body has no part")
        inbox.close()
    except (RequestEntityTooLarge, dicomweb.MultipartError, ClientDisconnected) as exc:
        db.session.rollback()
        if isinstance(exc, RequestEntityTooLarge):
            reason, status = "the request was larger than Panel accepts; nothing was kept", 413
        elif isinstance(exc, dicomweb.Truncated | ClientDisconnected):
            reason, status = "the request was cut off before its end; nothing was kept", 400
        else:
            reason, status = f"the request was not a readable multipart body ({exc})", 400
        inbox.abort(reason)
        raise ApiError(status, reason[:1].upper() + reason[1:] + ".") from None
    except BaseException:
        db.session.rollback()
        inbox.abort("Panel could not store the request; nothing of it was kept")
        raise
    response = current_app.response_class(
        _dumps(result.json()), status=result.status, mimetype=dicomweb.DICOM_JSON
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/dicomweb/studies")
def dicomweb_store() -> Response:
    """STOW-RS: store instances of any studies (sender token)."""
    return _stow(None)


@bp.post("/dicomweb/studies/<study>")
def dicomweb_store_study(study: str) -> Response:
    """STOW-RS: store instances of one study (others are refused, 0xA900)."""
    return _stow(study)


# --------------------------------------------------------------------------- helpers (out)
def _dumps(doc: Any) -> str:
    import json

    return json.dumps(doc, separators=(",", ":"))


def _json(doc: Any) -> Response:
    response = current_app.response_class(_dumps(doc), mimetype=dicomweb.DICOM_JSON)
    response.headers["Cache-Control"] = "private, no-store"
    if g.get("dicomweb_ignored"):  # PS3.18 8.3.4.3 (the keys are not echoed)
        response.headers["Warning"] = (
            '299 panel "Some query keys are not supported for matching and were ignored: '
            'Panel matches on StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID and Modality."'
        )
    return response


def _want_json() -> None:
    accept = request.headers.get("Accept")
    if not accept or not accept.strip():
        return
    if request.accept_mimetypes.best_match([dicomweb.DICOM_JSON, "application/json"]) is None:
        raise ApiError(406, NOT_JSON)


def _files(case, study=None, series=None, sop=None) -> list[StoredFile]:
    stmt = select(StoredFile).where(
        StoredFile.case_id == case.id,
        StoredFile.kind == FileKind.DICOM,
        StoredFile.status == FileStatus.STORED,
    )
    if study is not None:
        stmt = stmt.where(StoredFile.study_uid == study)
    if series is not None:
        stmt = stmt.where(StoredFile.series_uid == series)
    if sop is not None:
        stmt = stmt.where(StoredFile.sop_instance_uid == sop)
    stmt = stmt.order_by(
        StoredFile.study_uid,
        StoredFile.series_uid,
        StoredFile.instance_number,
        StoredFile.slice_location,
        StoredFile.id,
    )
    return list(db.session.scalars(stmt))


def _case(ref: str):
    user = current_api_user()
    return user, _load_visible_case(ref, user)


def _audit(case, user, what: str, **details: Any) -> None:
    record_read(
        "images.viewed",
        obj=case,
        actor=user,
        details={"via": "dicomweb", "what": what, **details},
        clinical=True,
    )


def _path(f: StoredFile):
    return get_storage().path(f.storage_key)


def _require(files: list[StoredFile], what: str) -> list[StoredFile]:
    if not files:
        raise ApiError(404, NO_SUCH.format(what=what))
    return files


# --------------------------------------------------------------------------- QIDO-RS
_KEYWORDS = {
    "studyinstanceuid": "StudyInstanceUID",
    "0020000d": "StudyInstanceUID",
    "seriesinstanceuid": "SeriesInstanceUID",
    "0020000e": "SeriesInstanceUID",
    "sopinstanceuid": "SOPInstanceUID",
    "00080018": "SOPInstanceUID",
    "modality": "Modality",
    "00080060": "Modality",
    "modalitiesinstudy": "Modality",
    "00080061": "Modality",
}


def _query() -> tuple[dict[str, set[str]], int, int | None, bool]:
    """The QIDO query: matches on UIDs and modality, ``offset``, ``limit``, ``includefield``."""
    matches: dict[str, set[str]] = {}
    include_all = False
    offset, limit = 0, None
    for name, value in request.args.items(multi=True):
        key = name.lower()
        if key in ("offset", "limit"):
            if not value.isdigit() or len(value) > 9:
                raise ApiError(400, f"{name}: a whole number of 0 or more", name)
            if key == "offset":
                offset = int(value)
            else:
                limit = int(value)
        elif key == "includefield":
            include_all = include_all or "all" in [v.strip().lower() for v in value.split(",")]
        elif key in _KEYWORDS:
            values = {v.strip() for v in value.split(",") if v.strip()}
            matches.setdefault(_KEYWORDS[key], set()).update(values)
        elif key != "fuzzymatching":
            g.dicomweb_ignored = True
    return matches, offset, limit, include_all


def _filter(files: list[StoredFile], matches: dict[str, set[str]]) -> list[StoredFile]:
    columns = {
        "StudyInstanceUID": "study_uid",
        "SeriesInstanceUID": "series_uid",
        "SOPInstanceUID": "sop_instance_uid",
    }
    out = files
    for keyword, values in matches.items():
        if keyword == "Modality":
            wanted = {v.upper() for v in values}
            studies = {f.study_uid for f in out if (f.modality or "").upper() in wanted}
            out = [f for f in out if f.study_uid in studies]
            continue
        out = [f for f in out if getattr(f, columns[keyword]) in values]
    return out


def _groups(files: list[StoredFile], key: str) -> OrderedDict[str, list[StoredFile]]:
    groups: OrderedDict[str, list[StoredFile]] = OrderedDict()
    for f in files:
        groups.setdefault(getattr(f, key) or "", []).append(f)
    return groups


def _page(items: list, offset: int, limit: int | None) -> list:
    return items[offset : offset + limit] if limit is not None else items[offset:]


def _study_json(case, study: str, files: list[StoredFile], include_all: bool) -> dict:
    header = dicomweb.read_header(_path(files[0]))
    ds = Dataset()
    if include_all:
        dicomweb.copy_all(header, ds)
    dicomweb.copy_tags(header, ds, dicomweb.STUDY_TAGS)
    ds.StudyInstanceUID = study
    ds.ModalitiesInStudy = sorted({f.modality for f in files if f.modality})
    ds.NumberOfStudyRelatedSeries = len({f.series_uid for f in files})
    ds.NumberOfStudyRelatedInstances = len(files)
    ds.InstanceAvailability = "ONLINE"
    ds.RetrieveURL = url_for(
        "api.dicomweb_retrieve_study", ref=case.reference, study=study, _external=True
    )
    return ds.to_json_dict()


def _series_json(case, series: str, files: list[StoredFile], include_all: bool) -> dict:
    header = dicomweb.read_header(_path(files[0]))
    ds = Dataset()
    if include_all:
        dicomweb.copy_all(header, ds)
    dicomweb.copy_tags(header, ds, dicomweb.SERIES_TAGS)
    ds.StudyInstanceUID = files[0].study_uid
    ds.SeriesInstanceUID = series
    if files[0].modality and "Modality" not in ds:
        ds.Modality = files[0].modality
    ds.NumberOfSeriesRelatedInstances = len(files)
    ds.InstanceAvailability = "ONLINE"
    ds.RetrieveURL = url_for(
        "api.dicomweb_retrieve_series",
        ref=case.reference,
        study=files[0].study_uid,
        series=series,
        _external=True,
    )
    return ds.to_json_dict()


def _instance_json(case, f: StoredFile, include_all: bool) -> dict:
    header = dicomweb.read_header(_path(f))
    ds = Dataset()
    if include_all:
        dicomweb.copy_all(header, ds)
    dicomweb.copy_tags(header, ds, dicomweb.INSTANCE_TAGS)
    ds.StudyInstanceUID = f.study_uid
    ds.SeriesInstanceUID = f.series_uid
    ds.SOPInstanceUID = f.sop_instance_uid
    ds.InstanceAvailability = "ONLINE"
    ds.RetrieveURL = _instance_url(case, f)
    return ds.to_json_dict()


def _instance_url(case, f: StoredFile, endpoint: str = "api.dicomweb_retrieve_instance") -> str:
    return url_for(
        endpoint,
        ref=case.reference,
        study=f.study_uid,
        series=f.series_uid,
        sop=f.sop_instance_uid,
        _external=True,
    )


@bp.get("/cases/<ref>/dicomweb/studies")
def dicomweb_search_studies(ref: str) -> Response:
    """QIDO-RS: the case's studies."""
    user, case = _case(ref)
    _want_json()
    matches, offset, limit, include_all = _query()
    groups = _groups(_filter(_files(case), matches), "study_uid")
    page = _page(list(groups.items()), offset, limit)
    _audit(case, user, "studies")
    return _json([_study_json(case, uid, fs, include_all) for uid, fs in page])


def _search_series(ref: str, study: str | None) -> Response:
    user, case = _case(ref)
    _want_json()
    matches, offset, limit, include_all = _query()
    files = _filter(_files(case, study=study), matches)
    if "Modality" in matches:  # series match on their own modality
        wanted = {v.upper() for v in matches["Modality"]}
        files = [f for f in files if (f.modality or "").upper() in wanted]
    page = _page(list(_groups(files, "series_uid").items()), offset, limit)
    _audit(case, user, "series")
    return _json([_series_json(case, uid, fs, include_all) for uid, fs in page])


@bp.get("/cases/<ref>/dicomweb/series")
def dicomweb_search_all_series(ref: str) -> Response:
    """QIDO-RS: every series of the case."""
    return _search_series(ref, None)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series")
def dicomweb_search_series(ref: str, study: str) -> Response:
    """QIDO-RS: the series of one study."""
    return _search_series(ref, study)


def _search_instances(ref: str, study: str | None, series: str | None) -> Response:
    user, case = _case(ref)
    _want_json()
    matches, offset, limit, include_all = _query()
    files = _filter(_files(case, study=study, series=series), matches)
    if "Modality" in matches:
        wanted = {v.upper() for v in matches["Modality"]}
        files = [f for f in files if (f.modality or "").upper() in wanted]
    page = _page(files, offset, limit)
    _audit(case, user, "instances", **({"series": series} if series else {}))
    return _json([_instance_json(case, f, include_all) for f in page])


@bp.get("/cases/<ref>/dicomweb/instances")
def dicomweb_search_all_instances(ref: str) -> Response:
    """QIDO-RS: every instance of the case."""
    return _search_instances(ref, None, None)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/instances")
def dicomweb_search_study_instances(ref: str, study: str) -> Response:
    """QIDO-RS: the instances of one study."""
    return _search_instances(ref, study, None)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>/instances")
def dicomweb_search_instances(ref: str, study: str, series: str) -> Response:
    """QIDO-RS: the instances of one series."""
    return _search_instances(ref, study, series)


# --------------------------------------------------------------------------- WADO-RS metadata
def _metadata(ref: str, what: str, **where: str) -> Response:
    user, case = _case(ref)
    _want_json()
    files = _require(_files(case, **where), what)
    out = []
    for f in files:
        base = _instance_url(case, f)
        frames = ",".join(str(n) for n in range(1, max(f.frames or 1, 1) + 1))
        out.append(dicomweb.metadata_json(_path(f), f"{base}/frames/{frames}", base))
    _audit(case, user, "metadata", **({"series": where["series"]} if "series" in where else {}))
    return _json(out)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/metadata")
def dicomweb_study_metadata(ref: str, study: str) -> Response:
    """WADO-RS: the metadata of every instance of a study (DICOM JSON)."""
    return _metadata(ref, "study", study=study)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>/metadata")
def dicomweb_series_metadata(ref: str, study: str, series: str) -> Response:
    """WADO-RS: the metadata of every instance of a series."""
    return _metadata(ref, "series", study=study, series=series)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>/instances/<sop>/metadata")
def dicomweb_instance_metadata(ref: str, study: str, series: str, sop: str) -> Response:
    """WADO-RS: the metadata of one instance."""
    return _metadata(ref, "instance", study=study, series=series, sop=sop)


# --------------------------------------------------------------------------- WADO-RS retrieve
def _multipart(parts, part_type: str) -> Response:
    boundary = dicomweb.new_boundary()
    response = current_app.response_class(
        dicomweb.multipart_body(boundary, parts),
        mimetype="multipart/related",
    )
    response.headers["Content-Type"] = f'multipart/related; type="{part_type}"; boundary={boundary}'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _not_acceptable(part_type: str) -> ApiError:
    return ApiError(
        406,
        f'This resource answers multipart/related; type="{part_type}" only (transfer syntax: '
        "as stored with transfer-syntax=*, or Explicit VR Little Endian).",
    )


def _retrieve(ref: str, what: str, **where: str) -> Response:
    user, case = _case(ref)
    wanted = dicomweb.multipart_choice(request.headers.get("Accept"), dicomweb.DICOM)
    if wanted is None:
        raise _not_acceptable(dicomweb.DICOM)
    files = _require(_files(case, **where), what)
    parts = []
    for f in files:
        path = _path(f)
        stored = f.transfer_syntax or dicomweb.stored_transfer_syntax(path)
        if wanted in ("*", stored) or (wanted == "" and stored == ExplicitVRLittleEndian):
            parts.append(
                (f"{dicomweb.DICOM}; transfer-syntax={stored}", dicomweb.file_chunks(path))
            )
        elif wanted in ("", ExplicitVRLittleEndian):
            if not f.decodable:
                raise _not_acceptable(dicomweb.DICOM)
            parts.append(
                (
                    f"{dicomweb.DICOM}; transfer-syntax={ExplicitVRLittleEndian}",
                    lambda path=path: [dicomweb.explicit_little_endian(path)],
                )
            )
        else:
            raise _not_acceptable(dicomweb.DICOM)
    _audit(case, user, what, **({"series": where["series"]} if "series" in where else {}))
    return _multipart(parts, dicomweb.DICOM)


@bp.get("/cases/<ref>/dicomweb/studies/<study>")
def dicomweb_retrieve_study(ref: str, study: str) -> Response:
    """WADO-RS: every instance of a study (multipart/related; type="application/dicom")."""
    return _retrieve(ref, "study", study=study)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>")
def dicomweb_retrieve_series(ref: str, study: str, series: str) -> Response:
    """WADO-RS: every instance of a series."""
    return _retrieve(ref, "series", study=study, series=series)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>/instances/<sop>")
def dicomweb_retrieve_instance(ref: str, study: str, series: str, sop: str) -> Response:
    """WADO-RS: one instance."""
    return _retrieve(ref, "instance", study=study, series=series, sop=sop)


@bp.get("/cases/<ref>/dicomweb/studies/<study>/series/<series>/instances/<sop>/frames/<frames>")
def dicomweb_retrieve_frames(ref: str, study: str, series: str, sop: str, frames: str) -> Response:
    """WADO-RS: frames of one instance (1-based, comma-separated), uncompressed
    (multipart/related; type="application/octet-stream")."""
    user, case = _case(ref)
    wanted = dicomweb.multipart_choice(request.headers.get("Accept"), dicomweb.OCTET_STREAM)
    if wanted not in ("", "*", ExplicitVRLittleEndian):
        raise _not_acceptable(dicomweb.OCTET_STREAM)
    numbers = []
    for item in frames.split(","):
        item = item.strip()
        if not item.isdigit() or len(item) > 6 or int(item) < 1:
            raise ApiError(400, "frames: frame numbers from 1, separated by commas", "frames")
        numbers.append(int(item))
    [f] = _require(_files(case, study=study, series=series, sop=sop), "instance")
    count = max(f.frames or 1, 1)
    if any(n > count for n in numbers):
        raise ApiError(404, NO_SUCH.format(what="frame"))
    if not f.decodable:
        raise ApiError(406, "The frames of this instance cannot be decoded by Panel.")
    path = _path(f)
    part_type = f"{dicomweb.OCTET_STREAM}; transfer-syntax={ExplicitVRLittleEndian}"
    try:
        data = [dicomweb.frame_bytes(path, n - 1) for n in numbers]
    except Exception:  # noqa: BLE001 - pixel data Panel cannot decode: not acceptable
        raise ApiError(406, "The frames of this instance cannot be decoded by Panel.") from None
    parts = [(part_type, lambda d=d: [d]) for d in data]
    _audit(case, user, "frames", series=series)
    return _multipart(parts, dicomweb.OCTET_STREAM)

"""DICOMweb (issue 19): STOW-RS in with a sender token, QIDO-RS and WADO-RS out of a case.

``dicomweb-client`` talks to the app through the Flask test client (tests/support/dicomweb.py):
a hospital system stores a study, the image route sends it to the case, the upload pipeline
de-identifies it (jobs run eagerly in tests), then the case's people read it back and
everyone else is refused. Bad STOW-RS input is refused with its reason and keeps nothing."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pydicom
import pytest
import requests
from sqlalchemy import func, select

from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.imaging import routing
from panel.imaging.models import StoredFile
from panel.imaging.netmodels import DicomSender, IncomingStudy
from tests.support import synth
from tests.support.dicomweb import dicomweb_client, plant_released_file, stow_body, stow_type

ACCESSION = "ACC7730021"
PATIENT_ID = "RX7654321"
STOW = "/api/v1/dicomweb/studies"


@pytest.fixture(autouse=True)
def _no_quarantine_left(app):
    """The test's rows are rolled back: so are its quarantine folders (a study left waiting
    would otherwise be an orphan folder that another test's purge counts)."""
    yield
    shutil.rmtree(Path(app.config["STORAGE_DIR"]) / "quarantine", ignore_errors=True)


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Web Referrer")


@pytest.fixture
def case(make_case, referrer):
    return make_case(referrer, submit=True)


@pytest.fixture
def sender(db_session, case):
    row = DicomSender(centre_id=case.referring_centre_id, label="RVI DICOMweb")
    db_session.add(row)
    db_session.flush()
    secret = routing.issue_token(row)
    db_session.commit()
    row.secret = secret
    return row


@pytest.fixture
def ct(tmp_path):
    """Three CT slices with planted identifiers, the Accession Number and patient ID."""
    series = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32, plant=True, seed=19)
    for p in series.paths:
        ds = pydicom.dcmread(p)
        ds.AccessionNumber = ACCESSION
        ds.PatientID = PATIENT_ID
        ds.save_as(p)
    return series


def _stow(client, token, body, content_type=None, url=STOW, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        url, data=body, headers=headers, content_type=content_type or stow_type(), **kw
    )


def _forbidden(ct) -> list[bytes]:
    return [m.encode() for m in ct.markers.forbidden() | {ACCESSION, PATIENT_ID}]


def _nothing_kept(db_session, case, rows, storage_root: Path) -> None:
    assert (
        db_session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case.id)
        )
        == 0
    )
    for row in rows:
        assert not (storage_root / "quarantine" / f"study-{row.id}").exists()
    tmp = storage_root / "tmp"
    assert not any(p.name.endswith(".stow") for p in tmp.rglob("*"))


# --------------------------------------------------------------------------- the whole way
def test_stored_by_stow_read_back_by_the_cases_people_only(
    app, db_session, client, case, referrer, sender, ct, make_user, make_token, caplog
):
    """dicomweb-client stores a study with a sender token; the route sends it to the case,
    de-identified; its referrer and the panel's member search and retrieve it (instance,
    frames, metadata); another referrer, another panel's member and an admin are refused
    (404), the sender token reads nothing, and each read is one audit entry without
    identifiers."""
    caplog.set_level(logging.INFO)
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    db_session.commit()
    stow = dicomweb_client(client, "/api/v1/dicomweb", sender.secret)
    answer = stow.store_instances([pydicom.dcmread(p) for p in ct.paths])
    assert len(answer.ReferencedSOPSequence) == 3 and "FailedSOPSequence" not in answer
    assert {i.ReferencedSOPInstanceUID for i in answer.ReferencedSOPSequence} == set(ct.sop_uids)
    row = db_session.scalars(select(IncomingStudy)).one()
    assert row.state == "released" and row.case_id == case.id and row.source == "stow-rs"
    files = db_session.scalars(select(StoredFile).where(StoredFile.case_id == case.id)).all()
    assert len(files) == 3 and {f.study_uid for f in files} != {ct.study_uid}

    base = f"/api/v1/cases/{case.reference}/dicomweb"
    forbidden = _forbidden(ct)
    member = make_user(roles=[("NAP", "member")], name="Web Member")
    for who in (referrer, member):
        web = dicomweb_client(client, base, make_token(who))
        before = db_session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "images.viewed")
        )
        studies = web.search_for_studies()
        assert len(studies) == 1
        study = studies[0]["0020000D"]["Value"][0]
        assert study == files[0].study_uid
        assert studies[0]["00201208"]["Value"] == [3]  # NumberOfStudyRelatedInstances
        series = web.search_for_series(study)
        assert len(series) == 1 and series[0]["00080060"]["Value"] == ["CT"]
        series_uid = series[0]["0020000E"]["Value"][0]
        instances = web.search_for_instances(study, series_uid)
        assert len(instances) == 3
        sop = instances[0]["00080018"]["Value"][0]
        assert sop in {f.sop_instance_uid for f in files}
        ds = web.retrieve_instance(study, series_uid, sop)
        assert ds.SOPInstanceUID == sop and ds.get("AccessionNumber", "") != ACCESSION
        assert ds.get("PatientID", "") != PATIENT_ID
        [frame] = web.retrieve_instance_frames(study, series_uid, sop, frame_numbers=[1])
        assert len(frame) == 32 * 32 * 2
        assert frame == ds.PixelData
        meta = web.retrieve_series_metadata(study, series_uid)
        assert len(meta) == 3
        assert meta[0]["7FE00010"]["BulkDataURI"].endswith("/frames/1")
        assert web.search_for_studies(search_filters={"Modality": "MR"}) == []
        assert len(web.search_for_instances(study, series_uid, limit=2, offset=1)) == 2
        whole = list(web.retrieve_series(study, series_uid))
        assert len(whole) == 3
        raw = io.BytesIO()
        for part in whole:
            pydicom.dcmwrite(raw, part)
        text = repr(studies) + repr(series) + repr(instances) + repr(meta)
        for marker in forbidden:
            assert marker not in raw.getvalue() and marker.decode() not in text, marker
        after = db_session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "images.viewed")
        )
        assert after - before == 9  # one per request
    entries = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "images.viewed")
    ).all()
    assert all(e.details["via"] == "dicomweb" for e in entries)
    for marker in forbidden:
        assert all(marker.decode() not in str(e.details) for e in entries)
        assert marker.decode() not in caplog.text

    outsiders = [
        make_user(referrer_at="BIRMINGHAM", name="Other Referrer"),
        make_user(roles=[("ECMC-NORTH", "member")], name="North Member"),
        make_user(admin=True, name="Web Admin"),
    ]
    study, series_uid = files[0].study_uid, files[0].series_uid
    for who in outsiders:
        web = dicomweb_client(client, base, make_token(who))
        for call in (
            web.search_for_studies,
            lambda web=web: web.retrieve_series_metadata(study, series_uid),
            lambda web=web: web.retrieve_instance(study, series_uid, files[0].sop_instance_uid),
        ):
            with pytest.raises(requests.HTTPError) as err:
                call()
            assert err.value.response.status_code == 404
    web = dicomweb_client(client, base, sender.secret)
    with pytest.raises(requests.HTTPError) as err:
        web.search_for_studies()
    assert err.value.response.status_code == 401


def test_a_draft_is_not_seen_by_the_panel(
    app, db_session, client, make_case, referrer, make_user, make_token, tmp_path
):
    """Case.can_view decides: a draft's images are the referrer's alone (members: 404)."""
    draft = make_case(referrer, submit=False)
    [path] = synth.make_ct_series(tmp_path / "d", 1, rows=16, cols=16, seed=3).paths
    plant_released_file(db_session, draft, path)
    db_session.commit()
    base = f"/api/v1/cases/{draft.reference}/dicomweb"
    member = make_user(roles=[("NAP", "coordinator")], name="Draft Coordinator")
    assert len(dicomweb_client(client, base, make_token(referrer)).search_for_studies()) == 1
    with pytest.raises(requests.HTTPError) as err:
        dicomweb_client(client, base, make_token(member)).search_for_studies()
    assert err.value.response.status_code == 404


def test_accept_and_query_refusals(app, db_session, client, case, referrer, make_token, tmp_path):
    """Another media type than the route answers is 406; a bad limit is 400; an unknown
    series 404; a frame beyond the instance's 404; a transfer syntax Panel does not make 406."""
    [path] = synth.make_ct_series(tmp_path / "a", 1, rows=16, cols=16, seed=4).paths
    f = plant_released_file(db_session, case, path)
    db_session.commit()
    auth = {"Authorization": f"Bearer {make_token(referrer)}"}
    base = f"/api/v1/cases/{case.reference}/dicomweb"
    inst = f"{base}/studies/{f.study_uid}/series/{f.series_uid}/instances/{f.sop_instance_uid}"
    assert client.get(f"{base}/studies", headers={**auth, "Accept": "text/html"}).status_code == 406
    assert client.get(f"{base}/studies?limit=x", headers=auth).status_code == 400
    assert client.get(f"{base}/studies", headers={**auth, "Accept": "*/*"}).status_code == 200
    resp = client.get(f"{base}/studies?PatientName=SMITH*&fuzzymatching=false", headers=auth)
    assert resp.status_code == 200 and len(resp.get_json()) == 1
    assert resp.headers["Warning"].startswith("299 ") and "SMITH" not in resp.headers["Warning"]
    assert "Warning" not in client.get(f"{base}/studies?limit=5", headers=auth).headers
    assert (
        client.get(f"{base}/studies/{f.study_uid}/series/9.9/metadata", headers=auth).status_code
        == 404
    )
    assert client.get(inst + "/frames/2", headers=auth).status_code == 404
    assert client.get(inst + "/frames/0", headers=auth).status_code == 400
    resp = client.get(inst, headers={**auth, "Accept": "application/json"})
    assert resp.status_code == 406 and resp.get_json()["error"]
    jpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert client.get(inst, headers={**auth, "Accept": jpeg}).status_code == 406
    anything = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    resp = client.get(inst, headers={**auth, "Accept": anything})
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("multipart/related")
    assert path.read_bytes() in resp.get_data()


# --------------------------------------------------------------------------- bad STOW-RS input
def test_stow_refuses_without_a_sender_token(
    app, db_session, client, referrer, make_token, sender, ct
):
    body = stow_body([ct.paths[0].read_bytes()])
    resp = _stow(client, None, body)
    assert resp.status_code == 401 and "sender token" in resp.get_json()["error"]
    resp = _stow(client, make_token(referrer), body)
    assert resp.status_code == 403 and "personal API token" in resp.get_json()["error"]
    resp = _stow(client, routing.TOKEN_PREFIX + "x" * 43, body)
    assert resp.status_code == 401
    sender.revoked_at = utcnow()
    db_session.commit()
    assert _stow(client, sender.secret, body).status_code == 401
    assert db_session.scalar(select(func.count()).select_from(IncomingStudy)) == 0


def test_stow_refuses_other_content_types(app, db_session, client, sender, ct):
    data = ct.paths[0].read_bytes()
    for content_type in (
        "application/dicom",
        "application/json",
        'multipart/related; type="application/dicom+json"; boundary=x',
        "multipart/form-data; boundary=x",
    ):
        resp = _stow(client, sender.secret, data, content_type)
        assert resp.status_code == 415, content_type
        assert resp.get_json()["error"].startswith("Send the study as multipart/related")
    resp = _stow(client, sender.secret, data, 'multipart/related; type="application/dicom"')
    assert resp.status_code == 400


def test_stow_corrupt_non_image_and_duplicate_parts(
    app, db_session, client, case, referrer, sender, ct, tmp_path, caplog
):
    """A corrupt part (0xC000), a structured report (0x0122), a duplicate (0x0111) and an
    image cut off in its pixel data (0xC000) are refused in the Failed SOP Sequence; the
    good instance is stored: 202. No identifier in the answer or the log."""
    caplog.set_level(logging.INFO)
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    db_session.commit()
    good = ct.paths[0].read_bytes()
    sr = synth.make_structured_report(tmp_path / "sr.dcm").read_bytes()
    second = ct.paths[1].read_bytes()
    cut = second[: second.rindex(b"\xe0\x7f\x10\x00") + 200]  # inside its pixel data
    body = stow_body([good, b"not a DICOM file at all" * 20, sr, good, cut])
    resp = _stow(client, sender.secret, body)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.mimetype == "application/dicom+json"
    answer = pydicom.Dataset.from_json(resp.get_json())
    assert [i.FailureReason for i in answer.FailedSOPSequence] == [0xC000, 0x0122, 0x0111, 0xC000]
    assert len(answer.ReferencedSOPSequence) == 1
    text = resp.get_data(as_text=True)
    for marker in _forbidden(ct):
        assert marker.decode() not in text and marker.decode() not in caplog.text
    assert (
        db_session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case.id)
        )
        == 1
    )


def test_stow_none_stored_is_409(app, db_session, client, sender, tmp_path):
    sr = synth.make_structured_report(tmp_path / "sr.dcm").read_bytes()
    resp = _stow(client, sender.secret, stow_body([sr]))
    assert resp.status_code == 409
    answer = pydicom.Dataset.from_json(resp.get_json())
    assert [i.FailureReason for i in answer.FailedSOPSequence] == [0x0122]
    assert "ReferencedSOPSequence" not in answer


def test_stow_to_a_study_refuses_instances_of_another(
    app, db_session, client, sender, ct, tmp_path
):
    other = synth.make_ct_series(tmp_path / "o", 1, rows=16, cols=16, seed=77)
    body = stow_body([ct.paths[0].read_bytes(), other.paths[0].read_bytes()])
    resp = _stow(client, sender.secret, body, url=f"{STOW}/{ct.study_uid}")
    assert resp.status_code == 202
    answer = pydicom.Dataset.from_json(resp.get_json())
    assert [i.FailureReason for i in answer.FailedSOPSequence] == [0xA900]
    assert answer.FailedSOPSequence[0].ReferencedSOPInstanceUID == other.sop_uids[0]


@pytest.mark.parametrize("how", ["no closing boundary", "client disconnected"])
def test_a_truncated_stow_keeps_nothing(app, db_session, client, case, referrer, sender, ct, how):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    db_session.commit()
    full = stow_body([p.read_bytes() for p in ct.paths])
    if how == "no closing boundary":
        body = stow_body([p.read_bytes() for p in ct.paths], close=False)[:-500]
        resp = _stow(client, sender.secret, body)
    else:
        # The request promises the whole body; the connection ends two thirds in.
        resp = client.post(
            STOW,
            input_stream=io.BytesIO(full[: len(full) * 2 // 3]),
            headers={
                "Authorization": f"Bearer {sender.secret}",
                "Content-Type": stow_type(),
                "Content-Length": str(len(full)),
            },
        )
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "cut off" in resp.get_json()["error"]
    rows = db_session.scalars(select(IncomingStudy)).all()
    assert rows and all(r.state == "refused" for r in rows)
    _nothing_kept(db_session, case, rows, Path(app.config["STORAGE_DIR"]))


def test_stow_larger_than_the_request_limit_is_413(
    app, db_session, client, sender, ct, monkeypatch
):
    monkeypatch.setitem(app.config, "IMAGING_MAX_REQUEST", 1000)
    resp = _stow(client, sender.secret, stow_body([ct.paths[0].read_bytes()]))
    assert resp.status_code == 413


def test_retrieve_converts_to_explicit_vr_little_endian_by_default(
    app, db_session, client, case, referrer, make_token, tmp_path
):
    """An instance stored in Implicit VR Little Endian is sent in the default transfer syntax
    (Explicit VR Little Endian) unless the Accept header asks for it as stored (``*``, what
    dicomweb-client asks by default)."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    [path] = synth.make_ct_series(
        tmp_path / "i", 1, rows=16, cols=16, seed=9, transfer_syntax=ImplicitVRLittleEndian
    ).paths
    f = plant_released_file(db_session, case, path)
    db_session.commit()
    web = dicomweb_client(client, f"/api/v1/cases/{case.reference}/dicomweb", make_token(referrer))
    ds = web.retrieve_instance(  # no transfer-syntax parameter: the default
        f.study_uid, f.series_uid, f.sop_instance_uid, media_types=("application/dicom",)
    )
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    original = pydicom.dcmread(path)
    assert ds.PixelData == original.PixelData and ds.Rows == 16
    ds = web.retrieve_instance(
        f.study_uid, f.series_uid, f.sop_instance_uid, media_types=(("application/dicom", "*"),)
    )
    assert ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian


def test_cors_only_for_configured_viewer_origins(app, client):
    """A viewer on another origin (OHIF) gets CORS headers on QIDO/WADO when its origin is
    configured; its preflight needs no token; other origins and STOW-RS get none."""
    viewer = "https://viewer.example.nhs.uk"
    app.config["DICOMWEB_CORS_ORIGINS"] = f"{viewer}, https://other.example"
    try:
        pre = client.options(
            "/api/v1/cases/NB-2026-0001/dicomweb/studies",
            headers={
                "Origin": viewer,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code in (200, 204)
        assert pre.headers["Access-Control-Allow-Origin"] == viewer
        assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in pre.headers
        # The read itself still needs a token: 401, with the header so the viewer can see why.
        get = client.get("/api/v1/cases/NB-2026-0001/dicomweb/studies", headers={"Origin": viewer})
        assert get.status_code == 401
        assert get.headers["Access-Control-Allow-Origin"] == viewer
        evil = client.options(
            "/api/v1/cases/NB-2026-0001/dicomweb/studies",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "Access-Control-Allow-Origin" not in evil.headers
        stow = client.options("/api/v1/dicomweb/studies", headers={"Origin": viewer})
        assert "Access-Control-Allow-Origin" not in stow.headers
        other_api = client.options("/api/v1/cases", headers={"Origin": viewer})
        assert "Access-Control-Allow-Origin" not in other_api.headers
    finally:
        app.config["DICOMWEB_CORS_ORIGINS"] = ""

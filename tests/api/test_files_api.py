"""The API's files and jobs (issue 18): upload without a browser, follow the job.

``POST /api/v1/cases/{ref}/files`` answers 202 with the job at once; ``GET /api/v1/jobs/{id}``
gives the same per-file state as the upload page (in tests the jobs run as the request's
commit returns, so the job is done when it is first read).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from panel.core.db import db
from panel.core.models import AuditEntry, Job
from panel.imaging.models import FileStatus, StoredFile, Upload
from tests.support import synth
from tests.support.data import pdf_bytes, stored_files, temps_in, zip_bytes


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"])


def _files(paths):
    return {"files": [(io.BytesIO(p.read_bytes()), p.name) for p in paths]}


def _post(api, case, data):
    return api.post(
        f"/api/v1/cases/{case.reference}/files", data=data, content_type="multipart/form-data"
    )


def test_upload_answers_202_with_a_job_that_ends_done(
    app, db_session, api_as, people, case, tmp_path
):
    """Several files and a zip: 202 and a job; the job then reads done with every file."""
    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32, plant=True)
    more = synth.make_ct_series(tmp_path / "more", 2, rows=32, cols=32, seed=5)
    archive = zip_bytes({f"s/{p.name}": p.read_bytes() for p in more.paths})
    api = api_as(people["referrer"])
    data = _files(ct.paths)
    data["files"].append((io.BytesIO(archive), "series.zip"))
    data["label"] = "CT at relapse"
    resp = _post(api, case, data)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert isinstance(body["job"], int) and body["total"] == 5
    assert resp.headers["Location"].endswith(f"/api/v1/jobs/{body['job']}")
    job = api.get(f"/api/v1/jobs/{body['job']}")
    assert job.status_code == 200
    j = job.get_json()
    assert {"id", "state", "done", "total"} <= set(j)
    assert j["id"] == body["job"] and j["state"] == "done" and j["done"] == j["total"] == 5
    assert j["counts"]["stored"] == 5
    assert [f["state"] for f in j["files"]] == ["stored"] * 5
    n = db.session.scalar(
        select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case.id)
    )
    assert n == 5
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "imaging.upload")
        )
        == 1
    )


@pytest.mark.parametrize(
    "who,status", [("other_referrer", 404), ("admin", 404), ("nap_member", 404)]
)
def test_who_may_not_upload_through_the_api(
    app, db_session, api_as, people, case, tmp_path, who, status
):
    ct = synth.make_ct_series(tmp_path / "ct", 1, rows=32, cols=32)
    resp = _post(api_as(people[who]), case, _files(ct.paths))
    assert resp.status_code == status
    assert "error" in resp.get_json()


def test_jobs_are_private(app, db_session, api_as, people, case, tmp_path):
    """Another referrer, a panel member and an admin cannot follow the referrer's upload."""
    ct = synth.make_ct_series(tmp_path / "ct", 1, rows=32, cols=32)
    job = _post(api_as(people["referrer"]), case, _files(ct.paths)).get_json()["job"]
    for who in ("other_referrer", "nap_member", "admin"):
        assert api_as(people[who]).get(f"/api/v1/jobs/{job}").status_code == 404, who
    assert api_as(people["nap_coordinator"]).get(f"/api/v1/jobs/{job}").status_code in (200, 404)
    assert api_as(people["referrer"]).get("/api/v1/jobs/999999").status_code == 404


def test_bad_requests(app, db_session, api_as, people, case):
    api = api_as(people["referrer"])
    assert _post(api, case, {}).status_code == 422
    resp = api.post(f"/api/v1/cases/{case.reference}/files", json={"files": []})
    assert resp.status_code == 415
    resp = _post(
        api, case, {"label": "Oliver Smith 943 476 5919", "files": [(io.BytesIO(b"x"), "a.png")]}
    )
    assert resp.status_code == 422 and resp.get_json()["field"] == "label"
    assert "5919" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("label", ["CT\x00", "CT\x1b[31m", "CT\nMR", "x" * 121])
def test_labels_with_control_characters_or_too_long_are_refused(
    app, db_session, api_as, people, case, label
):
    """A NUL in the label was a server error on PostgreSQL: 422."""
    resp = _post(
        api_as(people["referrer"]), case, {"label": label, "files": [(io.BytesIO(b"x"), "a.png")]}
    )
    assert resp.status_code == 422 and resp.get_json()["field"] == "label"
    assert db_session.scalar(select(func.count()).select_from(Upload)) == 0


# --------------------------------------------------------------------------- the case's files
def _listing(api, case):
    resp = api.get(f"/api/v1/cases/{case.reference}/files")
    resp.close()  # the read's audit entry is written once the answer has been sent
    return resp


@pytest.fixture
def filled(app, db_session, api_as, people, make_case, tmp_path):
    """A submitted case the referrer sent two CT series (3 and 2 slices, one slice of the
    second then held back by hand), a PDF whose text has an NHS number (held back), a PNG-less
    text file (refused) and a file whose name is an identifier (refused, name never kept)."""
    case = make_case(people["referrer"], submit=True)
    first = synth.make_ct_series(tmp_path / "a", 3, rows=32, cols=32, seed=11)
    second = synth.make_ct_series(tmp_path / "b", 2, rows=32, cols=32, seed=12)
    data = _files(first.paths + second.paths)
    data["files"] += [
        (io.BytesIO(pdf_bytes("NHS number 943 476 5919")), "clinic-letter.pdf"),
        (io.BytesIO(b"just some words\n"), "notes.txt"),
        (io.BytesIO(second.paths[0].read_bytes() + b"x"), "scan_9434765919.dcm"),
    ]
    data["label"] = "CT at diagnosis"
    resp = _post(api_as(people["referrer"]), case, data)
    assert resp.status_code == 202, resp.get_json()
    rows = stored_files(case)
    dicom = [f for f in rows if f.series_uid]
    b_uid = next(
        u for u in {f.series_uid for f in dicom} if sum(f.series_uid == u for f in dicom) == 2
    )
    held = next(f for f in dicom if f.series_uid == b_uid)
    held.status, held.hold_reason = FileStatus.HELD_BACK, "Text on the image"
    db_session.commit()
    return case


def test_listing_groups_series_and_lists_documents_for_the_referrer(
    app, db_session, api_as, people, filled
):
    resp = _listing(api_as(people["referrer"]), filled)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"series", "documents", "held_back", "refused", "uploads"}
    series = sorted(body["series"], key=lambda s: s["instances"])
    assert [(s["instances"], s["state"]) for s in series] == [
        (2, "partly_held_back"),
        (3, "stored"),
    ]
    for s in series:
        assert set(s) == {"uid", "modality", "description", "instances", "state"}
        assert s["modality"] == "CT" and s["description"] == "CT at diagnosis"
        assert s["uid"] and not s["uid"].startswith(synth.SYNTH_UID_ROOT)  # the new UID
    [doc] = body["documents"]
    assert set(doc) == {"id", "name", "kind", "content_type", "state", "size", "label"}
    assert doc["name"] == "clinic-letter.pdf" and doc["kind"] == "pdf"
    assert doc["state"] == "held_back" and doc["content_type"] == "application/pdf"
    assert doc["size"] > 0 and doc["label"] == "CT at diagnosis"
    assert body["held_back"] == 2
    assert body["refused"] == 2
    [up] = body["uploads"]
    assert up["state"] == "done" and up["done"] == up["total"] == 8
    assert up["label"] == "CT at diagnosis" and up["created_at"].endswith("Z")
    job = api_as(people["referrer"]).get(f"/api/v1/jobs/{up['job']}").get_json()
    assert job["upload"] == up["id"]
    text = resp.get_data(as_text=True)
    assert "9434765919" not in text and "943 476" not in text
    entry = db_session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case.viewed", AuditEntry.object_id == filled.reference
        )
    )
    assert entry is not None and entry.actor_id == people["referrer"].id
    assert entry.details == {"via": "api", "what": "files"}


def test_held_back_files_are_the_coordinators_and_not_the_members(
    app, db_session, api_as, people, filled
):
    """The panel's coordinator sees what the referrer sees; a member sees only released
    files, counts that agree with them, no uploads and no held-back name."""
    as_referrer = _listing(api_as(people["referrer"]), filled).get_json()
    as_coordinator = _listing(api_as(people["nap_coordinator"]), filled).get_json()
    assert as_coordinator == as_referrer
    resp = _listing(api_as(people["nap_member"]), filled)
    assert resp.status_code == 200
    member = resp.get_json()
    assert sorted((s["instances"], s["state"]) for s in member["series"]) == [
        (1, "stored"),
        (3, "stored"),
    ]
    assert member["documents"] == []
    assert member["held_back"] == 0 and member["refused"] == 0 and member["uploads"] == []
    assert "clinic-letter" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_referrer", "admin", "north_coordinator"])
def test_who_may_not_list_a_submitted_cases_files(app, db_session, api_as, people, filled, who):
    resp = _listing(api_as(people[who]), filled)
    assert resp.status_code == 404 and "error" in resp.get_json()
    assert "clinic-letter" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_referrer", "admin", "nap_member", "nap_coordinator"])
def test_nobody_but_its_referrers_lists_a_drafts_files(app, db_session, api_as, people, case, who):
    assert _listing(api_as(people[who]), case).status_code == 404
    assert _listing(api_as(people["referrer"]), case).get_json() == {
        "series": [],
        "documents": [],
        "held_back": 0,
        "refused": 0,
        "uploads": [],
    }


def test_an_upload_in_progress_is_listed(
    app, db_session, api_as, people, case, tmp_path, monkeypatch
):
    """Jobs that have not run yet (no worker has taken them): the upload shows queued, 0 of
    n, and no file yet."""
    from panel.core import jobs
    from panel.imaging import ingest

    monkeypatch.setattr(jobs, "run_ready", lambda: 0)
    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
    api = api_as(people["referrer"])
    accepted = _post(api, case, {**_files(ct.paths), "label": "MR spine"}).get_json()
    assert accepted["state"] == "queued" and accepted["done"] == 0
    try:
        body = _listing(api, case).get_json()
        assert body["series"] == [] and body["refused"] == 0
        assert body["uploads"] == [
            {
                "id": accepted["upload"],
                "job": accepted["job"],
                "state": "queued",
                "done": 0,
                "total": 2,
                "label": "MR spine",
                "created_at": body["uploads"][0]["created_at"],
            }
        ]
        job = api.get(f"/api/v1/jobs/{accepted['job']}").get_json()
        assert job["state"] == "queued" and [f["state"] for f in job["files"]] == ["queued"] * 2
    finally:
        ingest.discard(db_session.get(Upload, accepted["upload"]))


# --------------------------------------------------------------------------- who may upload
def test_a_coordinator_uploads_to_a_submitted_case(
    app, db_session, api_as, people, make_case, tmp_path
):
    case = make_case(people["referrer"], submit=True)
    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
    api = api_as(people["nap_coordinator"])
    resp = _post(api, case, {**_files(ct.paths), "label": "Outside review"})
    assert resp.status_code == 202, resp.get_json()
    job = api.get(f"/api/v1/jobs/{resp.get_json()['job']}").get_json()
    assert job["state"] == "done" and job["counts"]["stored"] == 2
    up = db_session.get(Upload, resp.get_json()["upload"])
    assert up.uploaded_by_id == people["nap_coordinator"].id
    # the referrer sees the coordinator's upload too; the member neither it nor its job
    assert len(_listing(api_as(people["referrer"]), case).get_json()["uploads"]) == 1
    assert _listing(api_as(people["nap_member"]), case).get_json()["uploads"] == []
    assert api_as(people["nap_member"]).get(f"/api/v1/jobs/{up.job_id}").status_code == 404


def test_a_panel_member_may_not_upload_to_a_submitted_case(
    app, db_session, api_as, people, make_case, tmp_path
):
    case = make_case(people["referrer"], submit=True)
    ct = synth.make_ct_series(tmp_path / "ct", 1, rows=32, cols=32)
    resp = _post(api_as(people["nap_member"]), case, _files(ct.paths))
    assert resp.status_code == 403 and "error" in resp.get_json()
    assert db_session.scalar(select(func.count()).select_from(Upload)) == 0


def test_the_panels_coordinator_follows_a_submitted_cases_upload(
    app, db_session, api_as, people, make_case, tmp_path
):
    """The coordinator of the case's panel reads the referrer's upload job (and its files'
    jobs); a coordinator of another panel gets 404, as for a job that does not exist."""
    case = make_case(people["referrer"], submit=True)
    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
    job_id = _post(api_as(people["referrer"]), case, _files(ct.paths)).get_json()["job"]
    child = db_session.scalar(select(Job.id).where(Job.parent_id == job_id))
    coordinator = api_as(people["nap_coordinator"])
    resp = coordinator.get(f"/api/v1/jobs/{job_id}")
    assert resp.status_code == 200 and resp.get_json()["done"] == 2
    assert coordinator.get(f"/api/v1/jobs/{child}").status_code == 200
    other = api_as(people["north_coordinator"])
    for jid in (job_id, child):
        resp = other.get(f"/api/v1/jobs/{jid}")
        assert resp.status_code == 404
        assert resp.get_json()["error"] == other.get("/api/v1/jobs/999999").get_json()["error"]


# --------------------------------------------------------------------------- zips and limits
def test_a_zip_bomb_and_an_identifying_folder_are_refused_file_by_file(
    app, db_session, api_as, people, case, tmp_path
):
    """Each refusal is the file's own state in the job; the good file is stored; the
    identifying folder's name appears nowhere."""
    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32, seed=21)
    bomb = zip_bytes({"series/IM1.dcm": b"\x00" * (8 * 1024 * 1024)})
    named = zip_bytes(
        {
            "Oliver_Smith_9434765919/IM1.dcm": ct.paths[0].read_bytes(),
            "ok/IM2.dcm": ct.paths[1].read_bytes(),
        }
    )
    data = {"files": [(io.BytesIO(bomb), "bomb.zip"), (io.BytesIO(named), "named.zip")]}
    api = api_as(people["referrer"])
    resp = _post(api, case, data)
    assert resp.status_code == 202, resp.get_json()
    raw = api.get(f"/api/v1/jobs/{resp.get_json()['job']}")
    job = raw.get_json()
    assert job["state"] == "done" and job["total"] == 3
    states = {f["name"]: (f["state"], f["reason"]) for f in job["files"]}
    assert states["bomb.zip"][0] == "refused" and "bomb" in states["bomb.zip"][1]
    refused_name = [n for n, (s, _r) in states.items() if n.startswith("file-")]
    assert len(refused_name) == 1 and states[refused_name[0]][0] == "refused"
    assert states["IM2.dcm"][0] == "stored"
    assert job["counts"] == {"stored": 1, "held_back": 0, "refused": 2, "duplicate": 0}
    assert "9434765919" not in raw.get_data(as_text=True)
    assert "Oliver" not in raw.get_data(as_text=True)
    listing = _listing(api, case).get_json()
    assert listing["refused"] == 2 and sum(s["instances"] for s in listing["series"]) == 1


def _leftovers(app) -> set:
    """Files in the storage's tmp/ and incoming/, and the uploads' spool folders."""
    root = Path(app.config["STORAGE_DIR"])
    return set(temps_in(root)) | set((root / "incoming").glob("upload-*"))


def _no_upload_left(db_session, app, before: set) -> None:
    assert db_session.scalar(select(func.count()).select_from(Upload)) == 0
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0
    assert _leftovers(app) <= before


def test_a_request_too_large_is_refused_whole(
    app, db_session, api_as, people, case, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "IMAGING_MAX_REQUEST", 64 * 1024)
    before = _leftovers(app)
    data = {"files": [(io.BytesIO(b"\x01" * (100 * 1024)), "big.png")]}
    resp = _post(api_as(people["referrer"]), case, data)
    assert resp.status_code == 413 and "too large" in resp.get_json()["error"]
    _no_upload_left(db_session, app, before)


@pytest.mark.parametrize("as_zip", [False, True], ids=["files", "zip"])
def test_too_many_files_leave_nothing_behind(
    app, db_session, api_as, people, case, tmp_path, monkeypatch, as_zip
):
    """More files than IMAGING_MAX_FILES, sent as parts (counted before anything is read) or
    in a zip (found while receiving): 413, no upload row, no job, no spooled file."""
    monkeypatch.setitem(app.config, "IMAGING_MAX_FILES", 2)
    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32)
    if as_zip:
        archive = zip_bytes({f"s/{p.name}": p.read_bytes() for p in ct.paths})
        data = {"files": [(io.BytesIO(archive), "series.zip")]}
    else:
        data = _files(ct.paths)
    before = _leftovers(app)
    resp = _post(api_as(people["referrer"]), case, data)
    assert resp.status_code == 413, resp.get_json()
    assert "too many files" in resp.get_json()["error"].lower()
    _no_upload_left(db_session, app, before)
    assert not stored_files(case)


def test_an_uploads_file_jobs_are_as_private_as_the_upload(
    app, db_session, api_as, people, case, client, login
):
    """Review 18: each file's own job id (``imaging.ingest``, a child of the upload's group) is
    followed only by those who may follow the upload, and never shows its payload or result
    (the file's name). A failed file job on the admin jobs page shows its kind and Panel's own
    error words, never the file's name: a safe display name ("MRI_brain_T2.pdf") still says
    what the investigation was, clinical content that admins must not see."""
    api = api_as(people["referrer"])
    body = _post(
        api, case, {"files": [(io.BytesIO(pdf_bytes("report")), "MRI_brain_T2_relapse.pdf")]}
    ).get_json()
    child = db.session.scalar(select(Job).where(Job.parent_id == body["job"]))
    assert child is not None and child.payload["name"] == "MRI_brain_T2_relapse.pdf"
    for who in ("other_referrer", "nap_member", "admin", "north_coordinator"):
        assert api_as(people[who]).get(f"/api/v1/jobs/{child.id}").status_code == 404, who
    mine = api.get(f"/api/v1/jobs/{child.id}")
    assert mine.status_code == 200
    assert "MRI_brain" not in mine.get_data(as_text=True)
    assert "result" not in mine.get_json() and "payload" not in mine.get_json()

    child.state, child.last_error = "failed", "RuntimeError (details are in the worker's log)"
    db.session.commit()
    login(client, people["admin"])
    html = client.get("/admin/jobs/").get_data(as_text=True)
    assert f"#{child.id}" in html and "imaging.ingest" in html
    assert "MRI_brain" not in html and case.reference not in html


@pytest.mark.parametrize("number", ["99999999999999999999", str(2**31), "-1", "abc"])
def test_huge_or_odd_job_ids_are_not_found(app, db_session, api_as, people, number):
    """Review 18: ``GET /api/v1/jobs/{id}`` with an id no column holds, or not a number: a
    JSON 404, never a 500 (PostgreSQL: integer out of range)."""
    resp = api_as(people["referrer"]).get(f"/api/v1/jobs/{number}")
    assert resp.status_code == 404
    assert "error" in resp.get_json()

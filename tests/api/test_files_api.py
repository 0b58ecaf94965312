"""The API's files and jobs (issue 18): upload without a browser, follow the job.

``POST /api/v1/cases/{ref}/files`` answers 202 with the job at once; ``GET /api/v1/jobs/{id}``
gives the same per-file state as the upload page (in tests the jobs run as the request's
commit returns, so the job is done when it is first read).
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging.models import StoredFile
from tests.support import synth
from tests.support.data import zip_bytes


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

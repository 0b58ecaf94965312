"""Uploads as ``make run`` runs them: no broker, the files' jobs on the web process's own
job thread (two threads), on SQLite and PostgreSQL. The request answers before the files are
done; the job thread then de-identifies each and the upload finishes with one audit entry."""

from __future__ import annotations

import io
import time
import uuid

import pytest
from sqlalchemy import func, select

from panel.core import jobs
from panel.core.db import db
from tests.support import synth
from tests.support.data import zip_bytes
from tests.support.db import database_url, dispose, drop_database, make_app, migrate_and_seed
from tests.support.factories import CaseFactory, UserFactory


@pytest.fixture
def inprocess_app(backend, tmp_path):
    url = database_url(backend, tmp_path, f"panel_test_upinproc_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage", JOBS_MODE="inprocess", JOBS_INPROCESS_THREADS=2)
    migrate_and_seed(app)
    yield app
    jobs.queue(app).stop()
    dispose(app)
    drop_database(url)


def test_upload_runs_on_the_job_thread(inprocess_app, tmp_path):
    from panel.api.tokens import create_token
    from panel.core.models import AuditEntry
    from panel.imaging.models import StoredFile, Upload

    app = inprocess_app
    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="Thread Referrer")
        case = CaseFactory(db.session)(referrer)
        secret = create_token(referrer, "uploads", by=referrer).secret
        db.session.commit()
        ref, case_id = case.reference, case.id
    ct = synth.make_ct_series(tmp_path / "ct", 24, rows=48, cols=48)
    archive = zip_bytes({f"ct/{p.name}": p.read_bytes() for p in ct.paths})
    client = app.test_client()
    resp = client.post(
        f"/api/v1/cases/{ref}/files",
        data={"files": [(io.BytesIO(archive), "ct.zip")], "label": "CT"},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()["job"]
    assert resp.get_json()["total"] == 24
    deadline = time.monotonic() + 90
    while True:
        state = client.get(f"/api/v1/jobs/{job}", headers={"Authorization": f"Bearer {secret}"})
        body = state.get_json()
        if body["state"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["state"] == "done" and body["done"] == body["total"] == 24, body
    assert body["counts"]["stored"] == 24
    with app.app_context():
        n = db.session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case_id)
        )
        assert n == 24
        up = db.session.scalar(select(Upload).where(Upload.case_id == case_id))
        assert up.finished and up.stored_count == 24
        audits = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "imaging.upload")
        )
        assert audits == 1
    storage = tmp_path / "storage"
    left = [p for sub in ("tmp", "incoming") for p in (storage / sub).rglob("*") if p.is_file()]
    assert not left, left

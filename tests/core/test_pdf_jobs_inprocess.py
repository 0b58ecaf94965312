"""``pdf.render`` on a real worker (in-process mode: Dramatiq's in-memory broker and a worker
thread), on its own database since the worker commits on connections of its own: the asking
thread never lays out the PDF, the worker does, and asking again streams what it stored."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from panel.core import jobs
from panel.core import pdf as core_pdf
from panel.core.db import db
from panel.core.models import Job
from tests.support.db import database_url, dispose, drop_database, make_app, migrate_and_seed

HTML = "<!doctype html><html><body><h1>Agenda</h1><p>Test {n}</p></body></html>"


@pytest.fixture
def fresh_db(backend, tmp_path):
    url = database_url(backend, tmp_path, f"panel_test_pdfjobs_{uuid.uuid4().hex[:8]}")
    yield url
    drop_database(url)


def test_the_worker_thread_prints_and_the_asking_thread_never_does(fresh_db, tmp_path, monkeypatch):
    app = make_app(fresh_db, tmp_path / "storage", JOBS_MODE="inprocess")
    migrate_and_seed(app)
    real = core_pdf.html_to_pdf
    threads: list[int] = []

    def spy(html: str) -> bytes:
        threads.append(threading.get_ident())
        return real(html)

    monkeypatch.setattr(core_pdf, "html_to_pdf", spy)
    html = HTML.format(n=uuid.uuid4().hex)
    try:
        with app.app_context():
            first = core_pdf.prepare(html, label="agenda")
            job_id = first.job.id
            assert first.job.key == core_pdf.job_key(html)
        jobs.queue(app).join()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.get(Job, job_id).state in ("done", "failed"):
                    break
            time.sleep(0.05)
        with app.app_context():
            job = db.session.get(Job, job_id)
            assert job.state == "done", job.last_error
            again = core_pdf.prepare(html, label="agenda")
            assert again.ready and again.job.id == job_id and again.data.startswith(b"%PDF")
        assert len(threads) == 1 and threading.get_ident() not in threads
    finally:
        jobs.queue(app).stop()
        dispose(app)

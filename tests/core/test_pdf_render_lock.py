"""A ``pdf.render`` job lays its PDF out holding no write: on SQLite every transaction takes the
whole file's write lock, and a letter takes seconds to lay out, during which every sign-in (a
write: the session, the audit) would wait and, past the busy timeout, answer 503."""

from __future__ import annotations

import uuid

from sqlalchemy import select


def test_no_write_is_held_while_a_pdf_is_laid_out(backend, tmp_path, monkeypatch):
    """(Its own database: the usual fixtures hold one transaction open around the whole test.)"""
    from panel.core import jobs
    from panel.core import pdf as core_pdf
    from panel.core.db import db
    from panel.core.models import Job
    from panel.core.storage import get_storage
    from tests.support.db import own_app, write_held

    held: list[bool] = []
    real = core_pdf.html_to_pdf

    def laying_out(html: str) -> bytes:
        held.append(write_held())
        return real(html)

    monkeypatch.setattr(core_pdf, "html_to_pdf", laying_out)
    html = f"<html><body><h1>Lock check {uuid.uuid4().hex}</h1></body></html>"
    with own_app(backend, tmp_path, "panel_test_pdflock") as app, app.app_context():
        job = core_pdf.ask(html, label="lock_check")
        job_id = job.id
        db.session.commit()
        if jobs.mode() != "eager":  # eager mode ran it when the commit returned
            assert jobs.run(job_id) == "ran"
        job = db.session.scalar(select(Job).where(Job.id == job_id))
        assert job.state == "done", job.last_error
        assert held == [False]
        stored = core_pdf.stored_pdf(job)
        assert stored is not None and stored.startswith(b"%PDF")
        assert get_storage().exists(job.result["pdf"])

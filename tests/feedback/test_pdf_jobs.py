"""Letter PDFs are printed by ``pdf.render`` jobs (panel/core/pdf.py), never in a request.

The queue's eager mode (the suite's default) runs a job when the commit that asked for it
returns. To see a request answer while the PDF is not ready, these tests stop the eager run
(``jobs.run_ready`` does nothing) so the job stays queued, then run it themselves. A spy on
``panel.core.pdf.html_to_pdf`` (the one place WeasyPrint lays out a document) counts layouts.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.core import jobs
from panel.core import pdf as core_pdf
from panel.core.models import Job
from panel.feedback import documents, family, operations, sending
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form


@pytest.fixture
def layouts(monkeypatch):
    """Counts every WeasyPrint layout (and can make them fail)."""
    real = core_pdf.html_to_pdf
    state = {"calls": 0, "fail": False}

    def spy(html: str) -> bytes:
        state["calls"] += 1
        if state["fail"]:
            raise ValueError("layout refused: Ellie Smith 943 476 5919")  # data in the text
        return real(html)

    monkeypatch.setattr(core_pdf, "html_to_pdf", spy)
    return state


@pytest.fixture
def held(monkeypatch):
    """Jobs are asked for and committed, but not run until the test runs them."""
    monkeypatch.setattr(jobs, "run_ready", lambda: 0)


def _pdf_jobs(db_session) -> list[Job]:
    db_session.expire_all()
    return list(db_session.scalars(select(Job).where(Job.kind == "pdf.render").order_by(Job.id)))


def test_a_letter_not_printed_yet_answers_the_preparing_page_without_any_layout(
    app, client, login, approved_recommendation, feedback_people, db_session, layouts, held
):
    case = approved_recommendation.case
    url = f"/cases/{case.reference}/letters/clinician.pdf"
    login(client, feedback_people["chair"])

    resp = client.get(url)
    assert resp.status_code == 202 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "Preparing the PDF" in page
    assert 'role="status"' in page and 'aria-live="polite"' in page
    assert 'hx-trigger="every 2s"' in page and 'http-equiv="refresh"' in page
    assert layouts["calls"] == 0  # no WeasyPrint in the request
    [job] = _pdf_jobs(db_session)
    assert job.state == "queued" and job.case_id == case.id
    assert job.key == core_pdf.job_key(job.key and _html(app, approved_recommendation))
    assert set(job.payload) == {"html", "label"} and job.payload["label"] == "clinician_letter"

    # Asking again (a reload, the poll, an API client) is the same job.
    assert client.get(url).status_code == 202
    api = client.get(url, headers={"Accept": "application/json"})
    assert api.status_code == 202 and api.json["job"] == job.id and api.json["state"] == "queued"
    status = client.get(url + "?pdf_status=1", headers={"HX-Request": "true"})
    assert status.status_code == 202 and 'data-testid="pdf-preparing"' in status.get_data(True)
    assert "<html" not in status.get_data(True)  # the fragment only
    assert len(_pdf_jobs(db_session)) == 1 and layouts["calls"] == 0

    assert jobs.run(job.id) == "ran"  # the worker
    assert layouts["calls"] == 1
    ready = client.get(url + "?pdf_status=1", headers={"HX-Request": "true"})
    assert ready.status_code == 200 and 'data-testid="pdf-download"' in ready.get_data(True)
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert client.get(url).data == resp.data
    assert layouts["calls"] == 1  # printed once, streamed since


def _html(app, rec) -> str:
    from panel.feedback.letters import render_letter_html

    with app.test_request_context("/", base_url=app.config["BASE_URL"]):
        return render_letter_html(rec, "clinician", for_pdf=True)


def test_a_failing_layout_lands_in_failed_and_the_page_offers_to_try_again(
    app, client, login, approved_recommendation, feedback_people, db_session, layouts
):
    case = approved_recommendation.case
    url = f"/cases/{case.reference}/letters/clinician.pdf"
    login(client, feedback_people["nap_coordinator"])
    layouts["fail"] = True
    resp = client.get(url)  # eager: the job runs (and retries) when the request commits
    [job] = _pdf_jobs(db_session)
    assert job.state == "failed" and job.attempts == job.max_attempts
    assert job.last_error == "The document could not be laid out as a PDF."
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="pdf-failed"' in page
    assert "could not be prepared" in page and "Try again" in page
    assert "Ellie" not in page and "943" not in page and "Ellie" not in (job.last_error or "")

    layouts["fail"] = False
    again = post_form(app, client, url)
    assert again.status_code == 303 and "pdf_status=1" in again.headers["Location"]
    db_session.expire_all()
    assert db_session.get(Job, job.id).state == "done"
    resp = client.get(url)
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")


def test_retry_without_a_csrf_token_is_refused(
    app, client, login, approved_recommendation, feedback_people, db_session
):
    login(client, feedback_people["nap_coordinator"])
    url = f"/cases/{approved_recommendation.case.reference}/letters/clinician.pdf"
    assert client.post(url).status_code == 400


def test_sending_stores_the_pdf_the_queue_printed_at_approval_and_it_never_changes(
    app, client, login, draft_recommendation, feedback_people, db_session, layouts, monkeypatch
):
    """Approving asks the queue to print the letters; sending stores those very PDFs (no
    layout in the send request), and what was sent is served byte for byte afterwards, even
    when the draft preview of a later version is printed."""
    monkeypatch.setitem(app.config, "PDF_PRERENDER", True)
    rec = draft_recommendation
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db_session.commit()  # eager: the letters are printed now
    printed = {j.payload["label"]: j for j in _pdf_jobs(db_session)}
    assert set(printed) >= {"clinician_letter", "family_letter"}
    assert all(j.state == "done" for j in printed.values())
    before = layouts["calls"]

    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    assert layouts["calls"] == before  # the send laid nothing out
    stored = documents.latest(rec.case, "clinician_letter", "pdf")
    sent_bytes = documents.read_bytes(stored)
    assert sent_bytes == core_pdf.stored_pdf(printed["clinician_letter"])

    login(client, feedback_people["referrer"])
    url = f"/cases/{rec.case.reference}/letters/clinician.pdf"
    assert client.get(url).data == sent_bytes
    assert client.get(f"/cases/{rec.case.reference}/documents/{stored.id}").data == sent_bytes
    db_session.expire_all()
    assert documents.read_bytes(documents.latest(rec.case, "clinician_letter", "pdf")) == (
        sent_bytes
    )


def test_the_family_letter_in_a_layout_not_stored_waits_for_its_job(
    app, client, approved_recommendation, feedback_people, db_session, layouts, held
):
    """The family's own download of a layout sending did not store (printed from the record)
    also waits on the family's preparing page, then streams."""
    rec = approved_recommendation
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    _code, plain = family.create_code(rec.case, by=feedback_people["referrer"])
    db_session.commit()
    assert post_form(app, client, "/family", {"code": plain}).status_code == 302
    calls = layouts["calls"]
    url = "/family/letter.pdf?layout=large_print"
    resp = client.get(url)
    assert resp.status_code == 202 and "Preparing the PDF" in resp.get_data(as_text=True)
    assert "family.js" in resp.get_data(as_text=True)  # the family's page, not staff's
    assert layouts["calls"] == calls
    [job] = [j for j in _pdf_jobs(db_session) if j.payload["label"] == "family_letter"]
    jobs.run(job.id)
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"


def test_one_job_per_document_however_many_ask(
    app, client, login, approved_recommendation, feedback_people, db_session, held
):
    """Two people opening the same draft letter share one job; the family layouts are each
    their own document."""
    case = approved_recommendation.case
    for who in ("chair", "nap_coordinator"):
        c = app.test_client()
        login(c, feedback_people[who])
        assert c.get(f"/cases/{case.reference}/letters/clinician.pdf").status_code == 202
        assert (
            c.get(f"/cases/{case.reference}/letters/family.pdf?layout=easy_read").status_code == 202
        )
    assert (
        db_session.scalar(select(func.count()).select_from(Job).where(Job.kind == "pdf.render"))
        == 2
    )


def test_the_pdf_routes_refuse_as_before_and_ask_for_no_job(
    app, login, approved_recommendation, feedback_people, db_session, layouts, held
):
    """The letter routes' refusals hold for GET and for the retry POST, before any job is
    asked for: another panel's people 404, the referrer 404 before the feedback is sent."""
    ref = approved_recommendation.case.reference
    for who in ("north_coordinator", "north_chair", "referrer", "other_referrer"):
        c = app.test_client()
        login(c, feedback_people[who])
        for kind in ("clinician", "family"):
            url = f"/cases/{ref}/letters/{kind}.pdf"
            assert c.get(url).status_code == 404, (who, kind)
            assert post_form(app, c, url).status_code == 404, (who, kind)
    assert _pdf_jobs(db_session) == [] and layouts["calls"] == 0


def test_the_agenda_waits_for_its_job_with_no_layout_in_the_request(
    app, client, login, discussed_case, feedback_people, db_session, layouts, held
):
    """The agenda PDF: the preparing page first (no layout), the PDF once its job ran."""
    from panel.meetings.models import Meeting

    meeting = db_session.scalar(select(Meeting).order_by(Meeting.id))
    login(client, feedback_people["nap_coordinator"])
    url = f"/meetings/{meeting.id}/agenda.pdf"
    resp = client.get(url)
    assert resp.status_code == 202 and "Preparing the PDF" in resp.get_data(as_text=True)
    assert layouts["calls"] == 0
    [job] = _pdf_jobs(db_session)
    assert job.payload["label"] == "agenda" and job.case_id is None
    jobs.run(job.id)
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert layouts["calls"] == 1

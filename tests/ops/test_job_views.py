"""``/admin/jobs`` (panel/ops/job_views.py): the queue's counts and its failed list, for admins
(every job) and coordinators (their panels' case jobs), with an audited Retry; no exception
text. Eager, on both backends. Refusals of other roles: tests/core/test_access_matrix.py."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from panel.core import jobs
from panel.core.models import AuditEntry, Job
from tests.support.web import post_form

BROKEN: set[str] = set()


@jobs.handler("test.ops.flaky", max_attempts=1)
def _flaky(job: Job):
    if job.key in BROKEN:
        raise RuntimeError("text that could quote data: Ellie Smith 943 476 5919")
    return {"ok": 1}


@pytest.fixture
def failed(db_session, people, make_case):
    """A failed job of a NAP case and a failed job of no case."""
    case = make_case(people["referrer"])
    BROKEN.update({"t:case", "t:nocase"})
    case_job = jobs.enqueue("test.ops.flaky", "t:case", case_id=case.id)
    other = jobs.enqueue("test.ops.flaky", "t:nocase")
    db_session.commit()
    yield {"case": case, "case_job": case_job, "other": other}
    BROKEN.clear()
    db_session.query(Job).filter(Job.kind == "test.ops.flaky").delete()
    db_session.commit()


def _failed_table(html: str) -> str:
    return re.search(r'data-testid="failed-jobs">(.*?)</table>', html, re.S).group(1)


def test_admins_see_every_failed_job_without_case_or_exception_text(
    app, client, login, people, failed, db_session
):
    assert failed["case_job"].state == "failed" and failed["other"].state == "failed"
    login(client, people["admin"])
    html = client.get("/admin/jobs/").get_data(as_text=True)
    table = _failed_table(html)
    assert f"#{failed['case_job'].id}" in table and f"#{failed['other'].id}" in table
    assert "RuntimeError (details are in the worker&#39;s log)" in table
    assert "Ellie" not in html and "943" not in html
    assert failed["case"].reference not in html  # admins see the panel, not the case
    assert "a NAP case" in table
    assert int(re.search(r'data-testid="count-failed">(\d+)', html).group(1)) >= 2
    home = client.get("/").get_data(as_text=True)
    assert "/admin/jobs/" in home and "Failed background jobs" in home


def test_coordinators_see_their_panels_case_jobs_only(
    app, client, login, people, failed, db_session
):
    login(client, people["nap_coordinator"])
    html = client.get("/admin/jobs/").get_data(as_text=True)
    table = _failed_table(html)
    assert failed["case"].reference in table and f"#{failed['case_job'].id}" in table
    assert f"#{failed['other'].id}" not in table  # no case: admins only
    assert 'data-testid="jobs-failing"' in client.get("/").get_data(as_text=True)

    other = app.test_client()
    login(other, people["north_coordinator"])
    html = other.get("/admin/jobs/").get_data(as_text=True)
    assert failed["case"].reference not in html and f"#{failed['case_job'].id}" not in html
    resp = post_form(app, other, "/admin/jobs/retry", {"job_id": failed["case_job"].id})
    assert resp.status_code == 404
    resp = post_form(app, other, "/admin/jobs/retry", {"job_id": "x"})
    assert resp.status_code == 400


def test_retry_queues_a_failed_job_again_audited(app, client, login, people, failed, db_session):
    job = failed["case_job"]
    BROKEN.discard(job.key)  # whatever broke is mended
    login(client, people["nap_coordinator"])
    resp = post_form(app, client, "/admin/jobs/retry", {"job_id": job.id})
    assert resp.status_code == 302
    db_session.refresh(job)
    assert job.state == "done" and job.attempts == 1 and job.last_error is None
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "job.retried").order_by(AuditEntry.id.desc())
    )
    assert entry.object_id == str(job.id) and entry.details == {"kind": "test.ops.flaky"}
    assert entry.actor_id == people["nap_coordinator"].id
    # A job that is no longer failed is not retried again.
    resp = post_form(app, client, "/admin/jobs/retry", {"job_id": job.id}, follow_redirects=True)
    assert "no longer failed" in resp.get_data(as_text=True)
    # Without the CSRF token: refused.
    assert client.post("/admin/jobs/retry", data={"job_id": job.id}).status_code == 400

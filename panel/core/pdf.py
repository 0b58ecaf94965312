"""HTML to PDF (WeasyPrint) for every document Panel prints: letters, the second-opinion
case summary, the agenda. One fetcher for all of them: a PDF never makes WeasyPrint reach
the network or any file outside the static folder.

A web request never lays out a PDF (one to three seconds of WeasyPrint): it renders the
document's HTML (milliseconds) and calls :func:`prepare`, which streams the stored PDF when a
``pdf.render`` job has already printed exactly that HTML, and otherwise asks for the job (keyed
by the HTML's SHA-256, so asking twice, or from two people, is one job) and answers with
:func:`preparing`: a page that polls until the PDF is ready (API clients: 202 ``{"job": id}``).
The HTML and the PDF are both kept in the content-addressed storage, so a PDF is laid out
once per distinct document. Sent letters are stored when the feedback is sent
(``panel/feedback/documents.py``); they reuse a PDF the queue has already printed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from panel.core import jobs
from panel.core.db import db
from panel.core.models import Job
from panel.core.storage import get_storage


def static_root() -> Path:
    return Path(current_app.static_folder).resolve()


def static_only_fetcher(root: Path):
    """A URL fetcher that reads only files under ``root`` (the static folder)."""
    from weasyprint.urls import URLFetcher

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            from urllib.parse import unquote, urlsplit

            parts = urlsplit(url)
            if parts.scheme != "file":
                raise ValueError(f"PDFs load local files only: {url}")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(root):
                raise ValueError(f"PDFs load static files only: {url}")
            return super().fetch(url, headers)

    return StaticOnly()


def html_to_pdf(html: str) -> bytes:
    """``html`` as PDF bytes; relative URLs resolve against the static folder, and only files
    there are read."""
    from weasyprint import HTML

    root = static_root()
    return HTML(
        string=html, base_url=root.as_uri() + "/", url_fetcher=static_only_fetcher(root)
    ).write_pdf()


# --------------------------------------------------------------------------- PDFs as jobs
#: The job that lays out one PDF (``panel.core.jobs``); its key names the HTML it prints.
RENDER_KIND = "pdf.render"


def html_sha(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def job_key(html: str) -> str:
    """The one job that prints exactly this HTML: ``pdf:<sha256 of the HTML>``. A letter whose
    record changes prints different HTML, so a new job; the same HTML is laid out once."""
    return f"pdf:{html_sha(html)}"


@dataclass
class Prepared:
    """A PDF asked for: its job and, once the job is done, the PDF's bytes."""

    job: Job
    data: bytes | None = None

    @property
    def ready(self) -> bool:
        return self.data is not None

    @property
    def failed(self) -> bool:
        return self.data is None and self.job.state == "failed"


def stored_pdf(job: Job | None) -> bytes | None:
    """The PDF a done ``pdf.render`` job stored, or None (not done, or its file is gone)."""
    if job is None or job.state != "done":
        return None
    key = (job.result or {}).get("pdf")
    storage = get_storage()
    if not key or not storage.exists(key):
        return None
    with storage.open(key) as fh:
        return fh.read()


def ready_pdf(html: str) -> bytes | None:
    """The PDF of ``html`` if a job has already laid it out, else None (never renders)."""
    return stored_pdf(db.session.scalar(select(Job).where(Job.key == job_key(html))))


def ask(html: str, *, label: str, case_id: int | None = None, user_id: int | None = None) -> Job:
    """Ask for the PDF of ``html`` in the current transaction (published when it commits);
    the HTML is stored first, so the job prints exactly it. Idempotent (keyed by the hash)."""
    storage = get_storage()
    sha = html_sha(html)
    if not storage.exists(sha):
        storage.put_bytes(html.encode("utf-8"))
    return jobs.enqueue(
        RENDER_KIND, job_key(html), {"html": sha, "label": label}, case_id=case_id, user_id=user_id
    )


def prepare(
    html: str, *, label: str, case_id: int | None = None, user_id: int | None = None
) -> Prepared:
    """The PDF of ``html`` if it is ready; else ask for it (once: the job is keyed by the
    HTML's hash) and commit, so the job is published. Never lays out a PDF itself (in the
    tests' eager mode the job runs when the commit returns, so it may be ready at once).

    The HTML is stored first (content-addressed), so the job prints exactly these bytes and
    its payload holds only the hash and a label such as ``clinician_letter``."""
    key = job_key(html)
    job = db.session.scalar(select(Job).where(Job.key == key))
    data = stored_pdf(job)
    if data is not None:
        return Prepared(job, data)
    if job is None:
        job = ask(html, label=label, case_id=case_id, user_id=user_id)
    elif job.state == "done":  # done, but its file is gone (a restored storage): again
        job.state, job.attempts, job.finished_at = "failed", 0, None
        jobs.retry_failed(job)
    job_id = job.id
    db.session.commit()
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    return Prepared(job, stored_pdf(job))


def retry(prepared: Prepared) -> bool:
    """Someone asks again for a PDF whose job failed: queue it afresh (committed)."""
    if prepared.job.state != "failed":
        return False
    jobs.retry_failed(prepared.job)
    db.session.commit()
    return True


@jobs.handler(RENDER_KIND, max_attempts=3)
def render_job(job: Job) -> dict:
    """Lay out the stored HTML ``payload["html"]`` and store the PDF (content-addressed)."""
    sha = job.payload.get("html", "")
    storage = get_storage()
    if not storage.exists(sha):
        raise jobs.JobError("The document to print is no longer stored.")
    with storage.open(sha) as fh:
        html = fh.read().decode("utf-8")
    # Laid out with no transaction open: on SQLite every transaction holds the whole file's
    # write lock (begin IMMEDIATE), and a letter takes seconds to lay out, which every sign-in
    # would wait for. Nothing was written yet, so ending the read here changes nothing of the
    # job's one commit (which records the result).
    db.session.commit()
    try:
        data = html_to_pdf(html)
    except ValueError as exc:  # WeasyPrint refused the document (our fetcher's refusals too)
        raise jobs.JobError("The document could not be laid out as a PDF.") from exc
    key = storage.put_bytes(data)
    return {"pdf": key, "size": len(data)}


def wants_json() -> bool:
    """An API client (asked for JSON only, or under ``/api/``); a browser or htmx (whose
    ``Accept`` is ``*/*``) gets HTML."""
    if request.headers.get("HX-Request"):
        return False
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


STATUS_ARG = "pdf_status"


def _urls() -> tuple[str, str]:
    """(the download's own URL, its status URL): the same route and arguments, the status one
    with ``pdf_status=1`` (which answers a page, never the PDF)."""
    args = request.args.to_dict(flat=False)
    args.pop(STATUS_ARG, None)
    view_args = dict(request.view_args or {})
    own = url_for(request.endpoint, **view_args, **args)
    return own, url_for(request.endpoint, **view_args, **args, **{STATUS_ARG: 1})


def respond(
    prepared: Prepared,
    stream: Callable[[bytes], Response],
    *,
    title: str,
    base: str = "base.html",
    back: str | None = None,
):
    """What a PDF route answers: ``stream(bytes)`` when the PDF is ready; else the
    "Preparing the PDF…" answer (:func:`preparing`). A POST (the page's "Try again" button,
    under the route's own access rules) queues a failed job again and goes back to waiting."""
    if request.method == "POST":
        retry(prepared)
        return redirect(_urls()[1], 303)
    if (
        prepared.ready
        and not request.args.get(STATUS_ARG)
        and not request.headers.get("HX-Request")
    ):
        return stream(prepared.data)
    return preparing(prepared, title=title, base=base, back=back)


def preparing(prepared: Prepared, *, title: str, base: str = "base.html", back: str | None = None):
    """The answer while the PDF is not ready: for API clients 202 ``{"job": id}``; for htmx's
    polling the status fragment; for a browser the "Preparing the PDF…" page, which polls
    (and, without JavaScript, refreshes itself) until the PDF can be downloaded, or says the
    job failed and offers to try again."""
    job = prepared.job
    if wants_json():
        return (
            jsonify({"job": job.id, "state": job.state, "error": job.as_json()["error"]}),
            200 if prepared.ready else 202,
            {"Retry-After": "2", "Cache-Control": "no-store"},
        )
    own, status = _urls()
    context = {
        "job": job,
        "ready": prepared.ready,
        "failed": prepared.failed,
        "title": title,
        "base": base,
        "back": back,
        "own_url": own,
        "status_url": status,
    }
    template = (
        "core/_pdf_status.html" if request.headers.get("HX-Request") else "core/pdf_preparing.html"
    )
    body = render_template(template, **context)
    return body, 200 if prepared.ready or prepared.failed else 202, {"Cache-Control": "no-store"}

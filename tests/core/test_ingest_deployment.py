"""A worker killed with ``kill -9`` in the middle of a 500-file upload (issue 18, "Done when").

The real pieces, as docs/operations.md lays them out: gunicorn with two processes, two
``flask --app panel worker`` processes, PostgreSQL, Redis and one storage folder. A hospital
system uploads a zip of 500 small CT slices through ``POST /api/v1/cases/{ref}/files`` with a
bearer token and follows ``GET /api/v1/jobs/{id}``. While the files are being de-identified, the
worker process that holds a running file job is killed (``SIGKILL``: no clean-up of any kind).
The other worker takes the interrupted jobs over once their heartbeat is stale
(``PANEL_JOBS_STALE_SECONDS=5``, housekeeping every half second) and the upload finishes:

* every file is stored exactly once (500 rows, 500 distinct contents, 500 objects) or reported;
* no temporary file is left (the storage's ``tmp/`` and ``incoming/`` are empty; no ``.put-*``
  or ``.deid-*`` file anywhere);
* no audit entry is duplicated (one ``imaging.upload`` for the upload; no two entries alike);
* the job shows ``done`` with ``done == total == 500``.

PostgreSQL only, like tests/core/test_jobs_deployment.py (SQLite is the one-machine database).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from tests.support import workers
from tests.support.db import database_url, make_app, migrate_and_seed
from tests.support.factories import CaseFactory, UserFactory
from tests.support.synth import make_ct_series

pytestmark = pytest.mark.multiprocess

FILES = 500
FINAL = {"stored", "held_back", "refused", "duplicate"}


def _series_zip(tmp_path: Path) -> bytes:
    make_ct_series(tmp_path / "series", FILES, 64, 64, seed=18)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted((tmp_path / "series").iterdir()):
            zf.write(path, f"CT/{path.name}")
    return buf.getvalue()


@pytest.fixture
def stack(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the worker layout is PostgreSQL only (see the module docstring)")
    if not workers.redis_up():
        pytest.skip("Redis is not running")
    url = database_url(backend, tmp_path, f"panel_test_ingest_{uuid.uuid4().hex[:8]}")
    storage = tmp_path / "storage"
    app = make_app(url, storage)
    migrate_and_seed(app)
    from panel.api.tokens import create_token
    from panel.core.db import db

    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="Ingest Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        token = create_token(referrer, "hospital PACS", by=referrer).secret
        db.session.commit()
        facts = {"case_id": case.id, "case_ref": case.reference, "token": token}
        db.engine.dispose()
    with workers.web_stack(url, storage, tmp_path) as stack:
        yield {
            "base": stack["base"],
            "engine": stack["engine"],
            "procs": stack["procs"],
            "storage": storage,
            **facts,
        }


def _running_on(engine, group_id: int, pids: dict[str, subprocess.Popen]) -> list[tuple]:
    """The group's running file jobs, as ``(job id, pid)``, held by one of ``pids``."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, worker FROM jobs WHERE parent_id = :g AND state = 'running'"),
            {"g": group_id},
        ).all()
    return [(jid, w.split(":")[1]) for jid, w in rows if w and w.split(":")[1] in pids]


def _leftovers(storage: Path) -> list[str]:
    found = []
    for path in storage.rglob("*"):
        rel = path.relative_to(storage).as_posix()
        if path.name.startswith((".put-", ".deid-")):
            found.append(rel)
        elif rel.startswith(("tmp/", "incoming/")):
            found.append(rel)
    return sorted(found)


def test_a_worker_killed_mid_upload_loses_nothing_and_leaves_nothing(stack, tmp_path):
    base, engine = stack["base"], stack["engine"]
    auth = {"Authorization": f"Bearer {stack['token']}"}
    body = _series_zip(tmp_path)
    started = time.monotonic()
    resp = requests.post(
        f"{base}/api/v1/cases/{stack['case_ref']}/files",
        headers=auth,
        files={"files": ("series.zip", body, "application/zip")},
        data={"label": "CT chest"},
        timeout=120,
    )
    assert resp.status_code == 202, resp.text[:500]
    job_id = resp.json()["job"]
    assert resp.json()["total"] == FILES

    # Follow the job; once 50-300 files are done, kill -9 the worker holding a running job.
    pids = {str(p.pid): p for p in stack["procs"]}
    killed, interrupted = None, []
    deadline = time.monotonic() + 150
    state = {}
    while time.monotonic() < deadline:
        state = requests.get(f"{base}/api/v1/jobs/{job_id}", headers=auth, timeout=30).json()
        if killed is None and 50 <= state["done"] <= 300:
            running = _running_on(engine, job_id, pids)
            if running:
                pid = running[0][1]
                # Frozen first (SIGSTOP), so the jobs read as running there cannot finish
                # between the read and the kill: a fast worker once finished its job in that
                # gap, and nothing was interrupted.
                os.kill(pids[pid].pid, signal.SIGSTOP)
                # The jobs that were running there when it died (still "running", never done).
                interrupted = [jid for jid, p in _running_on(engine, job_id, pids) if p == pid]
                if interrupted:
                    workers.kill_worker(pids[pid])
                    killed = pid
                else:  # it was between two jobs: let it go on, and try again
                    os.kill(pids[pid].pid, signal.SIGCONT)
        if state["state"] == "done":
            break
        time.sleep(0.1 if killed is None else 0.5)
    took = time.monotonic() - started
    assert killed is not None, f"no worker was killed (done went {state.get('done')})"
    assert state["state"] == "done", {k: v for k, v in state.items() if k != "files"}
    assert state["done"] == state["total"] == FILES
    assert interrupted, "the killed worker had finished its jobs: nothing was interrupted"

    # Every file has a final state; every file is stored exactly once.
    files = state["files"]
    assert len(files) == FILES
    states = Counter(f["state"] for f in files)
    assert set(states) <= FINAL, states
    assert states["stored"] + states["held_back"] == FILES, states
    with engine.connect() as conn:
        upload_id = conn.execute(
            text("SELECT id FROM uploads WHERE job_id = :g"), {"g": job_id}
        ).scalar_one()
        rows = conn.execute(
            text(
                "SELECT sha256, sop_instance_uid, storage_key FROM stored_files"
                " WHERE upload_id = :u"
            ),
            {"u": upload_id},
        ).all()
        counts = conn.execute(
            text(
                "SELECT stored_count, held_count, refused_count, duplicate_count, finished_at"
                " FROM uploads WHERE id = :u"
            ),
            {"u": upload_id},
        ).one()
        jobs = conn.execute(
            text("SELECT id, state, attempts, worker FROM jobs WHERE parent_id = :g"),
            {"g": job_id},
        ).all()
        audit = conn.execute(
            text("SELECT action, object_type, object_id, actor_id, details FROM audit_entries")
        ).all()
    assert len(rows) == FILES
    assert len({r.sha256 for r in rows}) == FILES
    assert len({r.sop_instance_uid for r in rows}) == FILES
    assert counts.stored_count + counts.held_count == FILES and counts.finished_at is not None
    assert all(j.state == "done" for j in jobs)
    retried = {j.id: j for j in jobs if j.id in interrupted}
    assert all(j.attempts >= 2 and j.worker.split(":")[1] != killed for j in retried.values())
    objects = [p for p in (stack["storage"] / "objects").rglob("*") if p.is_file()]
    assert len(objects) == FILES  # nothing stored twice, no object without its row

    # One audit entry for the upload; no entry written twice.
    uploads = [a for a in audit if a.action == "imaging.upload"]
    assert len(uploads) == 1 and uploads[0].details["upload_id"] == upload_id
    assert uploads[0].details["stored"] + uploads[0].details["held_back"] == FILES
    alike = Counter(
        (a.action, a.object_type, a.object_id, a.actor_id, json.dumps(a.details, sort_keys=True))
        for a in audit
    )
    assert [k for k, n in alike.items() if n > 1] == []

    # No temporary file left: the spool folder goes just after the last job's commit.
    deadline = time.monotonic() + 10
    while _leftovers(stack["storage"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leftovers(stack["storage"]) == []
    # The surviving worker is still there; the killed one is gone.
    alive = [p for pid, p in pids.items() if pid != killed]
    assert all(p.poll() is None for p in alive)
    assert pids[killed].poll() == -signal.SIGKILL
    print(  # noqa: T201 - the figure for the report
        f"{FILES} files in {took:.1f}s; interrupted jobs {sorted(interrupted)} "
        f"(pid {killed}, {os.cpu_count()} cores)"
    )
